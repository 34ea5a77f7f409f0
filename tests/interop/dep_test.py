#!/usr/bin/python3
"""End to end: automatic enrollment through Apple Business Manager (DEP).

The DEP simulator (tests/support/dep_sim) plays Apple's Device Assignment
service for one MDM server account with 50 Macs whose serials are the Mac
simulator's (mac_sim --seed SEED); scripts/dev_setup.sh --dep makes the ABM
key pair and a server token for the simulator's account; `orchard serve`
runs with the APNs stand-in, MDM and ABM configured, syncing every 2 s, on
SQLite or, with ORCHARD_TEST_STORE=postgres, on the test cluster. Then: the
first sync fetches every device and assigns orchard's DEP profile to each;
`get mdm-apple-bm` and the API show Apple's account; devices added, modified and deleted in ABM reach the store on the next sync
and the new ones get the profile; a Mac listed in ABM enrolls through the
DEP enrollment URL (waiting in Setup Assistant, so it gets DeviceConfigured)
and shows as DEP-enrolled in the default team, one that is not listed is
refused; T_C_NOT_SIGNED shows in `get mdm-apple-bm` and
the API and clears on the next good sync; THROTTLED keeps orchard away from
Apple until retry_after; an expired token makes `get mdm-apple-bm` say so
and exit 1; with a second serve on the same store only the dep.sync lease
holder syncs, and the other takes over after a kill -9. Prints "N passed,
M failed" last.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from serve_harness import (run_scenarios, loop_main, Server, free_port, start_apns_standin,
                           store_from_env, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support", "dep_sim"))
from dep_sim import DepSim  # noqa: E402

SEED = 5                  # dep_sim's and mac_sim's: the serials SIM005000000...
OTHER_SEED = 6            # a Mac Apple never assigned to this server
DEVICES = 50
DEFAULT_TEAM = "Automatic Macs"
ADMIN_EMAIL = "admin@example.com"
PERIOD_S = 2              # mdm.apple_dep_sync_periodicity
SYNC_WAIT_S = 30          # a sync's effects, a few job ticks at most
THROTTLE_S = 12           # retry_after: well past a tick and the periodicity
DEP_ENROLL_PATH = "/api/mdm/apple/dep/enroll"


def serial(index, seed=SEED):
    """orchard_macsim_serial / dep_sim: SIM + seed (3 hex digits) + index (6 digits)."""
    return "SIM%03X%06u" % (seed & 0xFFF, index)


class Env:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.dev = os.path.join(tmp, "dev")
        subprocess.run(["sh", args.dev_setup, args.orchard, self.dev, "--dep", args.dep_sim],
                       check=True, stdout=subprocess.DEVNULL)
        self.config = os.path.join(self.dev, "orchard.yml")
        self.store = store_from_env()
        self.store.apply(self.config)
        print("store: %s" % self.store, flush=True)
        with open(os.path.join(self.dev, "dep-credentials.json")) as f:
            creds = json.load(f)
        self.sim = DepSim(args.dep_sim, os.path.join(tmp, "dep_sim"), creds=creds,
                          devices=DEVICES, seed=SEED, session_ttl="10m")
        self.port = free_port()
        self.apns_port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.env = None
        self.state = os.path.join(tmp, "macs")
        self.standin = None
        self.server = None
        self.token = None
        self.profile_uuid = None
        self.others = []      # more serves on the same store

    def start(self):
        self.sim.start()
        # The sync every 2 s, so each scenario sees a sync within seconds.
        self.env = dict(os.environ,
                        ORCHARD_SERVER_ADDRESS="127.0.0.1:%d" % self.port,
                        ORCHARD_MDM_APPLE_APNS_URL="https://127.0.0.1:%d" % self.apns_port,
                        ORCHARD_MDM_APPLE_DEP_URL=self.sim.url,
                        ORCHARD_MDM_APPLE_DEP_SYNC_PERIODICITY="%ds" % PERIOD_S,
                        ORCHARD_MDM_APPLE_BM_DEFAULT_TEAM=DEFAULT_TEAM)
        self.standin, self.standin_log = start_apns_standin(
            self.args.standin, self.dev, self.apns_port, os.path.join(self.tmp, "pushes.jsonl"),
            os.path.join(self.tmp, "standin.log"))
        self.server = Server(self.args.orchard, self.config, self.env,
                             os.path.join(self.tmp, "serve.log"))
        if not self.server.wait_listening():
            raise AssertionError("serve did not start:\n" + self.server.output()[-3000:])

    def stop(self):
        for s in [self.server] + self.others:
            if s:
                s.stop()
        if self.standin:
            self.standin.terminate()
            self.standin.wait(timeout=10)
        self.sim.stop()

    def orchard(self, *argv, stdin=None, check=True, config=None):
        out = subprocess.run([self.args.orchard, *argv, "--config", config or self.config],
                             env=self.env, input=stdin, capture_output=True, text=True,
                             timeout=60)
        if check and out.returncode != 0:
            raise AssertionError("orchard %s failed (%d): %s%s" % (
                " ".join(argv), out.returncode, out.stdout, out.stderr))
        return out

    def query(self, sql):
        return json.loads(self.orchard("query", "--json", sql).stdout)

    def mac_sim(self, *argv, check=True):
        out = subprocess.run([self.args.mac_sim, *argv], capture_output=True, text=True,
                             timeout=120)
        if check and out.returncode != 0:
            raise AssertionError("mac_sim %s failed (%d): %s%s" % (
                " ".join(argv), out.returncode, out.stdout, out.stderr))
        return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]

    def api(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + "/api/latest/fleet" + path, data=data,
                                     method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw or b"{}")
        except ValueError:
            return status, {"raw": raw.decode(errors="replace")}

    # ---- what each side has --------------------------------------------------------------

    def devices(self):
        """{serial: row} of the dep_devices table."""
        return {r["serial_number"]: r for r in self.query("select * from dep_devices")}

    def runs(self):
        """dep_sync_runs, oldest first."""
        return self.query("select * from dep_sync_runs order by id")

    def sim_devices(self):
        """{serial: device} as the simulator shows them (deleted ones too)."""
        return {d["serial_number"]: d for d in self.sim.state()["devices"]}

    def sim_calls(self):
        """Every call the simulator answered so far (its controls are not calls)."""
        return sum(self.sim.state(devices=False)["calls"].values())

    def runs_after(self, run_id):
        return [r for r in self.runs() if int(r["id"]) > run_id and r["finished_at"]]

    def last_run_id(self):
        runs = self.runs()
        return int(runs[-1]["id"]) if runs else 0


def assigned_everywhere(env, serials):
    """Every serial has orchard's profile, in the simulator and in the store."""
    sim, ours = env.sim_devices(), env.devices()
    for s in serials:
        d, r = sim.get(s), ours.get(s)
        if not d or not r or d.get("profile_uuid") != env.profile_uuid:
            return False
        if r["assign_status"] != "SUCCESS" or r["profile_uuid"] != env.profile_uuid:
            return False
    return True


# ---- the scenarios ---------------------------------------------------------------------------

def test_setup(env):
    out = env.orchard("user", "create", "--email", ADMIN_EMAIL, "--name", "Ada Admin",
                      "--role", "admin", "--api-only")
    env.token = out.stdout.strip().splitlines()[-1]
    env.orchard("team", "create", "--name", DEFAULT_TEAM)


def test_first_sync(env):
    expected = {serial(i) for i in range(DEVICES)}

    def fetched():
        runs = [r for r in env.runs() if r["kind"] == "fetch" and r["finished_at"]
                and not r["error_code"]]
        return runs and set(env.devices()) == expected and runs
    runs = wait_for("the first sync to fetch every device", fetched, timeout=SYNC_WAIT_S,
                    step=0.3)
    assert int(runs[0]["fetched"]) >= DEVICES and int(runs[0]["added"]) == DEVICES, runs
    rows = env.devices()
    sim = env.sim_devices()
    for s in expected:
        r, d = rows[s], sim[s]
        assert (r["model"], r["os"], r["device_family"], r["deleted"]) == (
            d["model"], "OSX", "Mac", 0), (r, d)
        assert r["op_type"] == "added", r
    # orchard defined one profile, with its own DEP enrollment URL and defaults.
    profiles = env.sim.state(devices=False)["profiles"]
    assert len(profiles) == 1, profiles
    env.profile_uuid, profile = next(iter(profiles.items()))
    assert profile["url"] == env.base + DEP_ENROLL_PATH, profile
    assert profile["is_mdm_removable"] is False and profile["await_device_configured"] is True, \
        profile
    wait_for("the profile assigned to every device (simulator and store)",
             lambda: assigned_everywhere(env, expected), timeout=SYNC_WAIT_S, step=0.3)
    assert all(d["profile_status"] == "assigned" for d in env.sim_devices().values())


def test_changes_reach_the_store(env):
    added = env.sim.control("devices/add", {"count": 3})["added"]
    assert added == [serial(i) for i in range(DEVICES, DEVICES + 3)], added
    modified = [serial(1), serial(2)]
    env.sim.control("devices/modify", {"serials": modified,
                                       "set": {"model": "MacBook Air (M9)",
                                               "color": "STARLIGHT"}})
    gone = [serial(3), serial(4)]
    env.sim.control("devices/delete", {"serials": gone})

    def applied():
        rows = env.devices()
        return (all(s in rows for s in added)
                and all(rows[s]["model"] == "MacBook Air (M9)" for s in modified)
                and all(int(rows[s]["deleted"]) == 1 for s in gone) and rows)
    rows = wait_for("the added, modified and deleted devices in dep_devices", applied,
                    timeout=SYNC_WAIT_S, step=0.3)
    assert len(rows) == DEVICES + 3, len(rows)   # deleted rows are kept, marked
    assert all(rows[s]["op_type"] == "deleted" for s in gone), [rows[s] for s in gone]
    assert all(rows[s]["color"] == "STARLIGHT" for s in modified), [rows[s] for s in modified]
    wait_for("the profile assigned to the new devices", lambda: assigned_everywhere(env, added),
             timeout=SYNC_WAIT_S, step=0.3)
    # A sync, not another fetch, brought them.
    syncs = [r for r in env.runs() if r["kind"] == "sync" and not r["error_code"]
             and int(r["added"]) + int(r["modified"]) + int(r["deleted"]) > 0]
    assert syncs, env.runs()


def dep_enroll(env, index, seed=SEED, check=True, state=None, *extra):
    return env.mac_sim("dep-enroll", "--server", env.base, "--state", state or env.state,
                       "--seed", str(seed), "--first", str(index), "--count", "1", *extra,
                       check=check)


def test_account_shown(env):
    """What Apple says of the account, and the last sync, for admins."""
    account = env.sim.client().call("GET", "/account").json()
    rc, out, err = apple_bm(env)
    assert rc == 0, (rc, out, err)
    assert "Apple ID: %s\n" % account["admin_id"] in out, out
    assert "Organization name: %s\n" % account["org_name"] in out, out
    assert "Default team: %s\n" % DEFAULT_TEAM in out, out
    status, body = env.api("GET", "/mdm/apple_bm")
    assert status == 200, (status, body)
    assert (body["apple_id"], body["org_name"], body["default_team"]) == (
        account["admin_id"], account["org_name"], DEFAULT_TEAM), body
    assert body["renew_date"] and not body.get("terms_not_signed"), body


def test_listed_mac_enrolls(env):
    # As a Mac in Setup Assistant does under orchard's profile (await_device_configured).
    events = dep_enroll(env, 0, SEED, True, None, "--awaiting-configuration")
    assert [e["event"] for e in events] == ["enrolled"], events
    udid = events[0]["udid"]
    # It waits for DeviceConfigured, which orchard queued: it gets and acknowledges it.
    mac_dir = events[0]["dir"]

    def configured():
        env.mac_sim("poll", "--state", mac_dir, "--until-empty", "--answer", "ack")
        return env.query("select status from mdm_commands where udid = '%s' and "
                         "request_type = 'DeviceConfigured'" % udid)
    rows = wait_for("DeviceConfigured acknowledged", configured, timeout=SYNC_WAIT_S, step=0.3)
    assert [r["status"] for r in rows] == ["Acknowledged"], rows
    assert events[0].get("serial") == serial(0) and events[0].get("via") == "dep", events
    rows = env.query("select udid, serial_number, dep_enrolled from mdm_enrollments "
                     "where udid = '%s'" % udid)
    assert len(rows) == 1, rows
    assert rows[0]["serial_number"] == serial(0) and int(rows[0]["dep_enrolled"]) == 1, rows
    status, body = env.api("GET", "/hosts/" + udid)
    assert status == 200, (status, body)
    host = body.get("host", body)
    assert host["mdm"]["enrollment_status"] == "On (automatic)", host["mdm"]
    assert host.get("team_name") == DEFAULT_TEAM, host
    rows = env.devices()
    assert int(rows[serial(0)]["enrolled"]) == 1, rows[serial(0)]
    assert all(int(r["enrolled"]) == 0 for s, r in rows.items() if s != serial(0))


def test_unlisted_mac_refused(env):
    """A serial Apple never assigned us, and one it took away, get no profile."""
    for seed, index, what in ((OTHER_SEED, 0, "never listed"), (SEED, 3, "deleted in ABM")):
        # A folder of their own: an existing Mac folder is that Mac enrolling again.
        events = dep_enroll(env, index, seed=seed, check=False,
                            state=os.path.join(env.tmp, "refused-%d-%d" % (seed, index)))
        assert [e["event"] for e in events] == ["refused", "error"], (what, events)
        assert events[0]["status"] == 403 and "HTTP 403" in events[1]["message"], (what, events)
    rows = env.query("select serial_number from mdm_enrollments")
    assert {r["serial_number"] for r in rows} == {serial(0)}, rows


def apple_bm(env, config=None):
    out = env.orchard("get", "mdm-apple-bm", check=False, config=config)
    return out.returncode, out.stdout, out.stderr


def test_terms_not_signed(env):
    before = env.last_run_id()
    env.sim.control("fail", {"endpoint": "*", "error": "T_C_NOT_SIGNED", "count": 1000})

    def failed():
        return [r for r in env.runs_after(before) if r["error_code"] == "T_C_NOT_SIGNED"]
    wait_for("a sync that Apple refused with T_C_NOT_SIGNED", failed, timeout=SYNC_WAIT_S,
             step=0.3)
    rc, out, err = apple_bm(env)
    assert rc == 0, (rc, out, err)
    assert "terms and conditions" in err and "business.apple.com" in err, (out, err)
    status, body = env.api("GET", "/mdm/apple_bm")
    assert status == 200, (status, body)
    assert body.get("terms_not_signed") is True, body
    assert body.get("last_sync", {}).get("error_code") == "T_C_NOT_SIGNED", body
    # Accepted in ABM: the next sync succeeds and the warning is gone.
    env.sim.control("clear")
    failed_id = int(failed()[-1]["id"])

    def recovered():
        return [r for r in env.runs_after(failed_id) if not r["error_code"]]
    wait_for("a good sync after the terms were accepted", recovered, timeout=SYNC_WAIT_S,
             step=0.3)
    rc, out, err = apple_bm(env)
    assert rc == 0 and "terms and conditions" not in err, (rc, out, err)
    status, body = env.api("GET", "/mdm/apple_bm")
    assert status == 200 and not body.get("terms_not_signed"), (status, body)


def test_throttled(env):
    """After THROTTLED with retry_after N, nothing reaches Apple for N seconds."""
    env.sim.control("fail", {"endpoint": "*", "error": "THROTTLED", "count": 1,
                             "retry_after": THROTTLE_S})
    calls0 = env.sim_calls()
    # The throttled call: seen within 0.1 s of being answered.
    wait_for("orchard's next call (answered THROTTLED)", lambda: env.sim_calls() > calls0,
             timeout=SYNC_WAIT_S, step=0.1)
    throttled_at = time.monotonic()
    calls1 = env.sim_calls()
    wait_for("a call after retry_after", lambda: env.sim_calls() > calls1,
             timeout=THROTTLE_S + SYNC_WAIT_S, step=0.1)
    waited = time.monotonic() - throttled_at
    assert waited >= THROTTLE_S - 0.5, "called again %.1f s after THROTTLED (retry_after %d s)" % (
        waited, THROTTLE_S)
    runs = [r for r in env.runs() if r["error_code"] == "THROTTLED"]
    assert runs, env.runs()
    wait_for("a good sync after the wait", lambda: env.runs_after(int(runs[-1]["id"])),
             timeout=SYNC_WAIT_S, step=0.3)
    assert not env.runs_after(int(runs[-1]["id"]))[-1]["error_code"], env.runs()


def test_expired_token(env):
    """A token past its expiry: `get mdm-apple-bm` says so and exits 1."""
    token = os.path.join(env.dev, "abm-token-expired.p7m")
    env.sim.token(os.path.join(env.dev, "abm.crt"), token, expiry="2026-01-02T03:04:05Z")
    config = os.path.join(env.tmp, "expired.yml")
    with open(env.config) as f:
        text = f.read()
    # 0600: the PostgreSQL variant's store line is a secret orchard warns about.
    with os.fdopen(os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(text.replace(os.path.join(env.dev, "abm-token.p7m"), token))
    rc, out, err = apple_bm(env, config=config)
    assert rc == 1, (rc, out, err)
    assert "expired on January 2, 2026" in err, (out, err)


LEASE_LINE = "job dep.sync: this instance holds its lease"


def test_one_instance_syncs(env):
    """Two serves on one store: only the dep.sync lease holder calls Apple; when it
    dies (kill -9), the other takes the lease and the syncs go on."""
    port = free_port()
    env_b = dict(env.env, ORCHARD_SERVER_ADDRESS="127.0.0.1:%d" % port)
    b = Server(env.args.orchard, env.config, env_b, os.path.join(env.tmp, "serve-b.log"))
    env.others.append(b)
    if not b.wait_listening():
        raise AssertionError("the second serve did not start:\n" + b.output()[-3000:])
    assert LEASE_LINE in env.server.output()
    first = env.last_run_id()
    wait_for("three more syncs with both serves up",
             lambda: len(env.runs_after(first)) >= 3, timeout=SYNC_WAIT_S, step=0.3)
    assert LEASE_LINE not in b.output(), b.output()[-3000:]
    env.server.stop(signal.SIGKILL)
    wait_for("the second serve taking the dep.sync lease", lambda: LEASE_LINE in b.output(),
             timeout=60, step=0.3)
    taken = env.last_run_id()
    runs = wait_for("a sync by the second serve", lambda: env.runs_after(taken),
                    timeout=SYNC_WAIT_S, step=0.3)
    assert not runs[-1]["error_code"], runs


def run(args):
    tmp = tempfile.mkdtemp(prefix="orchard-dep-")
    passed = failed = 0
    env = None
    try:
        env = Env(args, tmp)
        env.start()
        tests = [
            ("an admin and the default team", test_setup),
            ("the first sync fetches all 50 devices (dep_devices, a fetch in dep_sync_runs) "
             "and assigns orchard's profile to each", test_first_sync),
            ("get mdm-apple-bm and GET /mdm/apple_bm show Apple's account and the default team",
             test_account_shown),
            ("devices added, modified and deleted in ABM reach dep_devices on the next sync; "
             "the new ones get the profile", test_changes_reach_the_store),
            ("a Mac listed in ABM enrolls through the DEP URL: dep_enrolled, the default team, "
             "On (automatic), DeviceConfigured acknowledged", test_listed_mac_enrolls),
            ("a Mac not listed, or deleted in ABM, is refused (403)", test_unlisted_mac_refused),
            ("T_C_NOT_SIGNED shows in get mdm-apple-bm and GET /mdm/apple_bm, and clears on "
             "the next good sync", test_terms_not_signed),
            ("THROTTLED: no call to Apple before retry_after", test_throttled),
            ("an expired token: get mdm-apple-bm says so and exits 1", test_expired_token),
            ("two serves on one store: only the lease holder syncs; after its kill -9 the "
             "other one does", test_one_instance_syncs),
        ]
        passed, failed = run_scenarios(env, tests, servers=lambda: [env.server] + env.others)
        if failed:
            kept = os.path.join(os.getcwd(), "dep_test_%s_serve.log"
                                % os.environ.get("ORCHARD_TEST_STORE", "sqlite"))
            shutil.copy(os.path.join(tmp, "serve.log"), kept)
            print("serve's whole log: " + kept)
    finally:
        if env:
            env.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(loop_main(__doc__, run,
                       lambda p: p.add_argument("--dep-sim", required=True)))
