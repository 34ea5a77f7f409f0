#!/usr/bin/python3
"""Several `orchard serve` instances on one store act as one server.

Two instances, A and B, share one config and one store (a fresh PostgreSQL
database on the tests' cluster with --store postgres, one SQLite file with
--store sqlite), each on its own port, with the APNs stand-in in Apple's
place. A simulated Mac enrolls through A; an admin logs in on A and queues a
command through B with that session; the Mac checks in on A and gets it; the
result reads through B. A profile's one-time SCEP challenge spent on one
instance is refused on the other. kill -9 of the apns.push lease holder: the
other instance takes the lease within the lease time and pushes. A third
instance with another SCEP challenge answers 503 on the MDM routes and says
which key differs, while A and B keep serving. Prints "N passed, M failed"
last; with --store postgres and no cluster, prints "SKIP (PostgreSQL): why"
and exits 0 (1 under CI=true), as tests/support/pg_cluster/pg_test.py does.
"""

import base64
import json
import os
import plistlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from serve_harness import (DEV_TOPIC, Instance, Store, dev_setup, free_port, loop_main, query,
                           run_scenarios, start_apns_standin, wait_for)

TOPIC = DEV_TOPIC
ADMIN = ("admin@example.com", "correct horse battery staple 4!")
# A short lease, so failover fits in the test: the holder renews it at every
# run (apns.push runs every second) and another instance takes it once it
# has not been renewed for this long.
LEASE_S = 3
LEASE_ENV = {"ORCHARD_SERVER_LEASE_DURATION": "%ds" % LEASE_S}
OTHER_CHALLENGE = "a-different-challenge-on-the-third-instance"
MDM_GATE_KEY = "mdm.apple_scep_challenge"
CLIENT_TIMEOUT_S = 60


class Env:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.store = Store.postgres() if args.store == "postgres" else Store.sqlite()
        self.dev = os.path.join(tmp, "dev")
        self.config = dev_setup(args.dev_setup, args.orchard, self.dev, store=self.store)
        with open(self.config) as f:
            self.challenge = [ln.split(":", 1)[1].strip() for ln in f
                              if ln.strip().startswith("apple_scep_challenge:")][0]
        self.apns_port = free_port()
        self.record = os.path.join(tmp, "pushes.jsonl")
        self.state = os.path.join(tmp, "macs")
        self.base_env = dict(os.environ,
                             ORCHARD_MDM_APPLE_APNS_URL="https://127.0.0.1:%d" % self.apns_port,
                             **LEASE_ENV)
        self.a = Instance("a", args.orchard, self.config, self.base_env, tmp)
        self.b = Instance("b", args.orchard, self.config, self.base_env, tmp)
        self.extra = []  # instances started by a scenario, stopped at the end
        self.standin = None
        self.n = 0

    def instances(self):
        return [i for i in (self.a, self.b, *self.extra) if i.server]

    def start_standin(self):
        self.standin, self.standin_log = start_apns_standin(
            self.args.standin, self.dev, self.apns_port, self.record,
            os.path.join(self.tmp, "standin.log"))

    def query(self, sql):
        return query(self.args.orchard, self.config, self.base_env, sql)

    def mac_sim(self, *argv, check=True):
        out = subprocess.run([self.args.mac_sim, *argv], capture_output=True, text=True,
                             timeout=120)
        if check and out.returncode != 0:
            raise AssertionError("mac_sim %s failed (%d): %s%s" % (
                " ".join(argv), out.returncode, out.stdout, out.stderr))
        return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]

    def macs(self):
        return sorted((m for m in self.mac_sim("show", "--state", self.state)
                       if m["event"] == "mac"), key=lambda m: m["index"])

    def pushes(self):
        if not os.path.exists(self.record):
            return []
        with open(self.record) as f:
            return [json.loads(line) for line in f if line.strip()]

    def login(self, inst, who=ADMIN):
        status, body = inst.api("POST", "/api/latest/fleet/login",
                                body={"email": who[0], "password": who[1]})
        assert status == 200, "login on %s: %d %s" % (inst.name, status, body)
        return body["token"]

    def token(self, inst):
        out = inst.cli("enroll-token", "create", "--name", "multi-%s" % inst.name)
        return out.stdout.strip().splitlines()[-1]

    def scepclient(self, url, challenge):
        """micromdm's scepclient against `url`; (exit status, certificate or None, output)."""
        self.n += 1
        cdir = os.path.join(self.tmp, "scepclient%d" % self.n)
        os.mkdir(cdir)
        key, cert = os.path.join(cdir, "client.key"), os.path.join(cdir, "client.crt")
        out = subprocess.run([self.args.scepclient, "-server-url", url, "-private-key", key,
                              "-certificate", cert, "-cn", "multi-%d" % self.n,
                              "-organization", "orchard multi", "-challenge", challenge],
                             capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S)
        ok = out.returncode == 0 and os.path.exists(cert)
        return out.returncode, cert if ok else None, out.stdout + out.stderr



def command_plist(request_type, **extra):
    return base64.b64encode(plistlib.dumps({"Command": {"RequestType": request_type, **extra}})
                            ).decode()


def instance_rows(env):
    """The instances table, through `orchard query` on the shared store."""
    return env.query("select * from instances")


def row_of(rows, inst):
    """inst's row: the live one whose address names its port."""
    mine = [r for r in rows if str(r.get("address", "")).endswith(":%d" % inst.port)]
    return mine[-1] if mine else None


def holds(row, lease):
    return row is not None and lease in str(row.get("leases", "")).replace(" ", "").split(",")


def profile_challenge(inst, token):
    status, raw = inst.api("GET", "/api/mdm/apple/enroll?token=" + token, raw=True)
    assert status == 200, "profile from %s: %d %r" % (inst.name, status, raw[:200])
    profile = plistlib.loads(raw)
    (scep,) = [p for p in profile["PayloadContent"]
               if p["PayloadType"] == "com.apple.security.scep"]
    return scep["PayloadContent"]["Challenge"]


# ---- the scenarios ---------------------------------------------------------------------------

def test_enroll_through_a(env):
    url = "%s/api/mdm/apple/enroll?token=%s" % (env.a.base, env.token(env.a))
    events = env.mac_sim("enroll", "--url", url, "--state", env.state, "--count", "2")
    assert sum(e["event"] == "enrolled" for e in events) == 2, events
    macs = env.macs()
    assert all(m["server_url"].startswith(env.a.base) for m in macs), macs
    # B sees what A wrote: the enrollments through B's API surface, and the store.
    rows = env.query("select udid, enabled from mdm_enrollments")
    assert sorted(r["udid"] for r in rows) == sorted(m["udid"] for m in macs), rows
    # Both instances are registered on the store.
    rows = instance_rows(env)
    assert row_of(rows, env.a) and row_of(rows, env.b), rows
    # B knows the Mac's certificate from the store: the same Mac checking in
    # through B (a copy of its state pointed there) is accepted, and a Mac
    # speaking for another is refused there as on A.
    via_b = os.path.join(env.tmp, "mac-via-b")
    shutil.copytree(macs[0]["dir"], via_b)
    with open(os.path.join(via_b, "server_url"), "w") as f:
        f.write(macs[0]["server_url"].replace(env.a.base, env.b.base, 1) + "\n")
    events = env.mac_sim("checkin", "--state", via_b, "--message", "TokenUpdate")
    assert any(e["event"] == "checkin" and e.get("status") == 200 for e in events), events
    events = env.mac_sim("checkin", "--state", via_b, "--message", "TokenUpdate",
                         "--sign-as", macs[1]["dir"], "--expect", "400")
    assert any(e["event"] == "refused" and e.get("status") == 400 for e in events), events


def test_command_across_instances(env):
    env.a.cli("user", "create", "--email", ADMIN[0], "--name", "Ada Admin", "--role", "admin",
              stdin=ADMIN[1] + "\n")
    token = env.login(env.a)  # a session from A...
    mac = env.macs()[0]
    status, body = env.b.api("POST", "/api/latest/fleet/commands/run", token, {  # ...used on B
        "command": command_plist("DeviceInformation", Queries=["OSVersion"]),
        "host_uuids": [mac["udid"]]})
    assert status == 200, "queue through B with A's session: %d %s" % (status, body)
    uuid = body["command_uuid"]
    push = wait_for("the push for the command",
                    lambda: [p for p in env.pushes() if p.get("token") == mac["token"]])
    assert push[0]["status"] == 200 and push[0]["mdm"] == mac["push_magic"], push
    # The Mac checks in on A (its profile's server URL) and gets the command.
    events = env.mac_sim("poll", "--state", mac["dir"], "--answer", "ack", "--until-empty")
    # (orchard's own DeviceInformation for a new Mac may come along: not ours)
    got = [e["command_uuid"] for e in events if e["event"] == "command"
           and not e["command_uuid"].startswith("ORCHARD-")]
    assert got == [uuid], events
    # The result reads through B.
    status, body = env.b.api("GET", "/api/latest/fleet/commands/results?command_uuid=" + uuid,
                             token)
    assert status == 200, (status, body)
    (res,) = body["results"]
    assert res["host_uuid"] == mac["udid"] and res["status"] == "Acknowledged", res
    report = plistlib.loads(base64.b64decode(res["result"]))
    assert report["CommandUUID"] == uuid and "QueryResponses" in report, report
    # A session from B works on A too, and a logout on one ends it on both.
    token_b = env.login(env.b)
    status, body = env.a.api("GET", "/api/latest/fleet/commands/results?command_uuid=" + uuid,
                             token_b)
    assert status == 200, (status, body)
    status, _ = env.a.api("POST", "/api/latest/fleet/logout", token_b)
    assert status == 200, status
    status, body = env.b.api("GET", "/api/latest/fleet/commands/results?command_uuid=" + uuid,
                             token_b)
    assert status == 401, "a session ended on A still works on B: %d %s" % (status, body)
    # A made-up token, and one cut short, work nowhere.
    for bad in ("A" * len(token), token[:-1]):
        for inst in (env.a, env.b):
            status, _ = inst.api("GET", "/api/latest/fleet/commands/results?command_uuid=" + uuid,
                                 bad)
            assert status == 401, "a forged token got %d on %s" % (status, inst.name)


def test_one_time_challenge(env):
    for first, second in ((env.a, env.b), (env.b, env.a)):
        challenge = profile_challenge(first, env.token(first))
        assert challenge != env.challenge
        rc, cert, out = env.scepclient(first.base + "/mdm/apple/scep", challenge)
        assert cert, "the profile's challenge on %s failed (%d): %s" % (first.name, rc, out)
        rc, cert, out = env.scepclient(second.base + "/mdm/apple/scep", challenge)
        assert rc != 0 and cert is None, \
            "a challenge spent on %s worked again on %s: %s" % (first.name, second.name, out)
    # The static challenge still works on both.
    for inst in (env.a, env.b):
        rc, cert, out = env.scepclient(inst.base + "/mdm/apple/scep", env.challenge)
        assert cert, "the static challenge on %s failed (%d): %s" % (inst.name, rc, out)


def test_lease_failover(env):
    rows = wait_for("one instance holding apns.push",
                    lambda: [r for r in instance_rows(env) if holds(r, "apns.push")])
    assert len(rows) == 1, "apns.push held by several instances: %s" % rows
    holder = next(i for i in (env.a, env.b) if holds(row_of(rows, i), "apns.push"))
    other = env.b if holder is env.a else env.a
    holder.stop(signal.SIGKILL)
    t0 = time.monotonic()
    wait_for("%s to take apns.push after kill -9 of %s" % (other.name, holder.name),
             lambda: holds(row_of(instance_rows(env), other), "apns.push"),
             timeout=LEASE_S + 10, step=0.2)
    took = time.monotonic() - t0
    # Taken once the lease ran out: within the lease time and the next runs.
    assert took <= LEASE_S + 3, "failover took %.1fs with a %ds lease" % (took, LEASE_S)
    # And the survivor pushes: a command queued through it reaches the stand-in.
    token = env.login(other)
    mac = env.macs()[1]
    before = len([p for p in env.pushes() if p.get("token") == mac["token"]])
    status, body = other.api("POST", "/api/latest/fleet/commands/run", token, {
        "command": command_plist("ProfileList"), "host_uuids": [mac["udid"]]})
    assert status == 200, (status, body)
    wait_for("a push from %s" % other.name,
             lambda: len([p for p in env.pushes() if p.get("token") == mac["token"]]) > before)
    print("  (%s killed; %s held apns.push %.1fs later, lease %ds)" % (
        holder.name, other.name, took, LEASE_S))
    # The dead instance leaves the live set once silent for twice the lease.
    wait_for("the killed instance's row to go", lambda: row_of(instance_rows(env), holder) is None,
             timeout=2 * LEASE_S + 5, step=0.25)
    holder.start()  # A and B again for what follows
    # Back to two live instances, and still exactly one holder.
    rows = wait_for("both instances live again",
                    lambda: (lambda r: r if row_of(r, env.a) and row_of(r, env.b) else None)(
                        instance_rows(env)), step=0.25)
    holders = [r["id"] for r in rows if holds(r, "apns.push")]
    assert len(holders) == 1 and holds(row_of(rows, other), "apns.push"), rows


def no_secret(where, text, env):
    """The fingerprints and what shows them carry digests, never a secret."""
    for secret in (env.challenge, OTHER_CHALLENGE):
        assert secret not in text, "%s shows an SCEP challenge itself: %s" % (where, text[-500:])


def test_mixed_settings(env):
    c = Instance("c", env.args.orchard, env.config, env.base_env, env.tmp,
                 {"ORCHARD_MDM_APPLE_SCEP_CHALLENGE": OTHER_CHALLENGE})
    env.extra.append(c)
    c.start()
    caps = "/mdm/apple/scep?operation=GetCACaps"
    # Held from its first comparison, at start; allow a heartbeat for it.
    wait_for("C's SCEP route to answer 503", lambda: c.api("GET", caps, raw=True)[0] == 503,
             timeout=10, step=0.25)
    status, _ = c.api("GET", "/api/mdm/apple/enroll?token=" + env.token(c), raw=True)
    assert status == 503, "C served an enrollment profile: %d" % status
    # Only the MDM routes: C's admin API serves (a login works).
    env.login(c)
    wait_for("C's log naming the key that differs", lambda: MDM_GATE_KEY in c.output(), timeout=10)
    no_secret("C's log", c.output(), env)
    # A and B keep serving MDM: SCEP, and a Mac's check-in on A.
    for inst in (env.a, env.b):
        status, _ = inst.api("GET", caps, raw=True)
        assert status == 200, "%s stopped serving SCEP when C came: %d" % (inst.name, status)
    env.mac_sim("checkin", "--state", env.macs()[0]["dir"], "--message", "TokenUpdate")
    # The instances table: C differs in exactly that key, A and B agree.
    rows = instance_rows(env)
    no_secret("the instances table", str(rows), env)
    rc, ra, rb = row_of(rows, c), row_of(rows, env.a), row_of(rows, env.b)
    assert rc and str(rc["settings_agree"]) == "0", rows
    assert rc["differing_keys"] == MDM_GATE_KEY, "C differs in %r" % rc["differing_keys"]
    assert str(ra["settings_agree"]) == "1" and str(rb["settings_agree"]) == "1", rows
    # Through A's API: three instances, not all agreeing, and which key.
    token = env.login(env.a)
    status, body = env.a.api("GET", "/api/latest/fleet/mdm/apple", token)
    assert status == 200, (status, body)
    inst = body.get("instances")
    assert inst and inst["count"] == 3 and inst["settings_agree"] is False, body
    assert inst["differing_keys"] == [MDM_GATE_KEY], inst
    # `config check` with C's settings against the live store: they would be
    # held, and it says why (exit 1); with A's it passes.
    out = c.cli("config", "check", check=False)
    text = out.stdout + out.stderr
    assert out.returncode == 1 and MDM_GATE_KEY in text, "config check as C (%d): %s" % (
        out.returncode, text)
    no_secret("config check", text, env)
    out = env.a.cli("config", "check", check=False)
    assert out.returncode == 0, "config check as A (%d): %s%s" % (out.returncode, out.stdout,
                                                                 out.stderr)
    # `get mdm-apple` shows the count and the difference.
    out = c.cli("get", "mdm-apple", check=False)
    text = out.stdout + out.stderr
    assert "3 live" in text and MDM_GATE_KEY in text, "get mdm-apple: " + text
    # mdm.allow_mixed_settings: an instance that differs but is let serve.
    d = Instance("d", env.args.orchard, env.config, env.base_env, env.tmp,
                 {"ORCHARD_MDM_APPLE_SCEP_CHALLENGE": OTHER_CHALLENGE,
                  "ORCHARD_MDM_ALLOW_MIXED_SETTINGS": "true"})
    env.extra.append(d)
    d.start()
    wait_for("D's log naming the key that differs", lambda: MDM_GATE_KEY in d.output(), timeout=10)
    status, _ = d.api("GET", caps, raw=True)
    assert status == 200, "D (mixed settings allowed) answered SCEP with %d" % status
    for extra in (c, d):
        extra.stop()
        env.extra.remove(extra)
    # With C and D gone (stopped: their rows deleted), A and B agree again.
    status, body = env.a.api("GET", "/api/latest/fleet/mdm/apple", token)
    assert status == 200 and body["instances"]["count"] == 2, body
    assert body["instances"]["settings_agree"] is True, body


def run(args):
    tmp = tempfile.mkdtemp(prefix="orchard-multi-")
    passed = failed = 0
    env = None
    try:
        env = Env(args, tmp)
        env.start_standin()
        env.a.start()
        env.b.start()
        tests = [
            ("a Mac enrolls through A; B sees it; both instances registered",
             test_enroll_through_a),
            ("login on A, command queued through B, pushed, fetched on A, result read on B",
             test_command_across_instances),
            ("a profile's one-time challenge spent on one instance is refused on the other",
             test_one_time_challenge),
            ("kill -9 of the apns.push lease holder: the other takes the lease and pushes",
             test_lease_failover),
            ("a third instance with another SCEP challenge: 503 on MDM routes, names the key; "
             "A and B keep serving", test_mixed_settings),
        ]
        passed, failed = run_scenarios(env, tests, servers=env.instances)
    finally:
        if env:
            for inst in env.instances():
                inst.stop()
            if env.standin:
                env.standin.terminate()
                env.standin.wait(timeout=10)
                env.standin_log.close()
            env.store.drop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def more_args(p):
    p.add_argument("--scepclient", default=shutil.which("scepclient") or "scepclient")
    p.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")


if __name__ == "__main__":
    sys.exit(loop_main(__doc__, run, more_args))
