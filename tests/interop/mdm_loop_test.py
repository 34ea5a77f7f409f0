#!/usr/bin/python3
"""End to end: the management loop through the real binaries.

scripts/dev_setup.sh makes the CAs and the config; the APNs stand-in
(tests/support/apns_standin) plays Apple's push service; `orchard serve` runs
on SQLite; mac_sim (tests/support/mac_sim) enrolls simulated Macs through the
enrollment profile and SCEP and signs its check-ins. Then: an admin logs in,
queues a command through the API, the stand-in receives a push with the Mac's
token and PushMagic, the Mac polls, gets the command and acknowledges it, and
the API and the tables show the result. Refusals and a kill -9 during a burst
of reports follow. Prints "N passed, M failed" last.
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
import threading
import urllib.error
import urllib.request

from serve_harness import (run_scenarios, loop_main, Server, DEV_TOPIC, dev_setup, free_port,
                           start_apns_standin, wait_for)

TOPIC = DEV_TOPIC
ADMIN = ("admin@example.com", "correct horse battery staple 4!")
OBSERVER = ("observer@example.com", "observer password 12?")


class Env:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.dev = os.path.join(tmp, "dev")
        self.config = dev_setup(args.dev_setup, args.orchard, self.dev)
        self.port = free_port()
        self.apns_port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.env = dict(os.environ,
                        ORCHARD_SERVER_ADDRESS="127.0.0.1:%d" % self.port,
                        ORCHARD_MDM_APPLE_APNS_URL="https://127.0.0.1:%d" % self.apns_port)
        self.state = os.path.join(tmp, "macs")
        self.record = os.path.join(tmp, "pushes.jsonl")
        self.servers = 0
        self.standin = None

    def start_standin(self):
        self.standin, self.standin_log = start_apns_standin(
            self.args.standin, self.dev, self.apns_port, self.record,
            os.path.join(self.tmp, "standin.log"))

    def serve(self):
        self.servers += 1
        return Server(self.args.orchard, self.config, self.env,
                      os.path.join(self.tmp, "serve%d.log" % self.servers))

    def orchard(self, *argv, stdin=None, check=True):
        out = subprocess.run([self.args.orchard, *argv, "--config", self.config], env=self.env,
                             input=stdin, capture_output=True, text=True, timeout=60)
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

    def api(self, method, path, token=None, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + "/api/latest/fleet" + path, data=data,
                                     method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, {"raw": raw.decode(errors="replace")}

    def login(self, who):
        status, body = self.api("POST", "/login", body={"email": who[0], "password": who[1]})
        assert status == 200, "login %s: %d %s" % (who[0], status, body)
        return body["token"]

    def pushes(self):
        if not os.path.exists(self.record):
            return []
        with open(self.record) as f:
            return [json.loads(line) for line in f if line.strip()]


def command_plist(request_type, **extra):
    return base64.b64encode(plistlib.dumps({"Command": {"RequestType": request_type, **extra}})
                            ).decode()


def macs(env):
    return {m["udid"]: m for m in env.mac_sim("show", "--state", env.state) if m["event"] == "mac"}


# ---- the scenarios ---------------------------------------------------------------------------

def test_enroll(env):
    token = env.orchard("enroll-token", "create", "--name", "e2e").stdout.strip().splitlines()[-1]
    url = "%s/api/mdm/apple/enroll?token=%s" % (env.base, token)
    events = env.mac_sim("enroll", "--url", url, "--state", env.state, "--count", "3")
    assert sum(e["event"] == "enrolled" for e in events) == 3, events
    rows = env.query("select udid, enabled, push_token_valid from mdm_enrollments")
    assert len(rows) == 3 and all(str(r["enabled"]) == "1" for r in rows), rows
    assert all(str(r["push_token_valid"]) == "1" for r in rows), rows
    # orchard asks each new Mac for its DeviceInformation (macOS updates need
    # its OS version): answer those first, so that the scenarios below see
    # only the commands they queue.
    own = "select udid, status from mdm_commands where command_uuid like 'ORCHARD-UPDATES-%'"
    wait_for("orchard's DeviceInformation for each Mac", lambda: len(env.query(own)) >= 3)
    env.mac_sim("poll", "--state", env.state, "--answer", "ack", "--until-empty")
    rows = env.query(own)
    assert len(rows) == 3 and all(r["status"] == "Acknowledged" for r in rows), rows


def test_users(env):
    env.orchard("user", "create", "--email", ADMIN[0], "--name", "Ada Admin", "--role", "admin",
                stdin=ADMIN[1] + "\n")
    env.orchard("user", "create", "--email", OBSERVER[0], "--name", "Otto Observer", "--role",
                "observer", stdin=OBSERVER[1] + "\n")
    status, body = env.api("POST", "/login", body={"email": ADMIN[0], "password": "wrong one!!"})
    assert status == 401, (status, body)
    assert "message" in body and "errors" in body, body


def test_command_round_trip(env):
    admin = env.login(ADMIN)
    mac = sorted(macs(env).values(), key=lambda m: m["index"])[0]
    # The Mac was updated since it enrolled: the admin's DeviceInformation
    # answer refreshes what the server knows (the macOS updates view).
    env.mac_sim("set", "--state", mac["dir"], "--os-version", "14.6.1")
    status, body = env.api("POST", "/commands/run", admin, {
        "command": command_plist("DeviceInformation", Queries=["OSVersion", "SerialNumber"]),
        "host_uuids": [mac["udid"]]})
    assert status == 200, (status, body)
    uuid = body["command_uuid"]
    assert body["request_type"] == "DeviceInformation", body

    # The push reaches the stand-in with the Mac's token and PushMagic.
    push = wait_for("the push", lambda: [p for p in env.pushes() if p.get("token") == mac["token"]])
    assert push[0]["status"] == 200, push
    assert push[0]["mdm"] == mac["push_magic"], (push, mac)
    assert push[0]["topic"] == TOPIC and push[0]["push_type"] == "mdm", push

    status, body = env.api("GET", "/commands/results?command_uuid=" + uuid, admin)
    assert status == 200 and body["results"][0]["status"] == "Pending", body

    # The Mac polls, gets the command, acknowledges.
    events = env.mac_sim("poll", "--state", env.state, "--count", "1", "--answer", "ack",
                         "--until-empty")
    got = [e for e in events if e["event"] == "command"]
    assert [e["command_uuid"] for e in got] == [uuid], events

    status, body = env.api("GET", "/commands/results?command_uuid=" + uuid, admin)
    assert status == 200, (status, body)
    (res,) = body["results"]
    assert res["host_uuid"] == mac["udid"] and res["status"] == "Acknowledged", res
    report = plistlib.loads(base64.b64decode(res["result"]))
    assert report["CommandUUID"] == uuid and report["Status"] == "Acknowledged", report
    assert "QueryResponses" in report, report

    rows = env.query("select udid, status from mdm_commands where command_uuid = '%s'" % uuid)
    assert rows == [{"udid": mac["udid"], "status": "Acknowledged"}], rows
    rows = env.query("select os_version from mdm_enrollments where udid = '%s'" % mac["udid"])
    assert rows == [{"os_version": "14.6.1"}], rows
    rows = env.query("select status_code from apns_pushes where udid = '%s'" % mac["udid"])
    assert rows and str(rows[0]["status_code"]) == "200", rows
    rows = env.query("select type from activities where type = 'ran_mdm_command'")
    assert rows, "no activity recorded for the command"


def test_error_and_notnow(env):
    admin = env.login(ADMIN)
    mac = sorted(macs(env).values(), key=lambda m: m["index"])[1]
    status, body = env.api("POST", "/commands/run", admin, {
        "command": command_plist("ProfileList"), "host_uuids": [mac["udid"]]})
    assert status == 200, body
    uuid = body["command_uuid"]
    # One polling session: the command once, then an empty reply.
    ev = env.mac_sim("poll", "--state", env.state, "--count", "2", "--answer", "notnow")
    assert [e["command_uuid"] for e in ev if e["event"] == "command"] == [uuid], ev
    _, body = env.api("GET", "/commands/results?command_uuid=" + uuid, admin)
    assert body["results"][0]["status"] == "NotNow", body
    # A new session: the command comes again; this time the Mac fails it.
    ev = env.mac_sim("poll", "--state", env.state, "--count", "2", "--answer", "error",
                     "--until-empty")
    assert [e["command_uuid"] for e in ev if e["event"] == "command"] == [uuid], ev
    _, body = env.api("GET", "/commands/results?command_uuid=" + uuid, admin)
    assert body["results"][0]["status"] == "Error", body
    report = plistlib.loads(base64.b64decode(body["results"][0]["result"]))
    assert report.get("ErrorChain"), report


def test_refusals(env):
    all_macs = sorted(macs(env).values(), key=lambda m: m["index"])
    first, second = all_macs[0], all_macs[1]
    # A second Mac that speaks for the first: its own certificate, the first's UDID.
    ev = env.mac_sim("checkin", "--state", first["dir"], "--message", "TokenUpdate",
                     "--sign-as", second["dir"], "--expect", "400")
    assert any(e["event"] == "refused" and e.get("status") == 400 for e in ev), ev
    ev = env.mac_sim("checkin", "--state", first["dir"], "--message", "TokenUpdate",
                     "--no-signature", "--expect", "400")
    assert any(e["event"] == "refused" for e in ev), ev
    ev = env.mac_sim("checkin", "--state", first["dir"], "--message", "TokenUpdate",
                     "--bad-signature", "--expect", "400")
    assert any(e["event"] == "refused" for e in ev), ev

    cmd = {"command": command_plist("DeviceLock"), "host_uuids": [first["udid"]]}
    status, body = env.api("POST", "/commands/run", None, cmd)
    assert status == 401 and "message" in body, (status, body)
    observer = env.login(OBSERVER)
    status, body = env.api("POST", "/commands/run", observer, cmd)
    assert status == 403 and "message" in body, (status, body)
    admin = env.login(ADMIN)
    status, body = env.api("POST", "/commands/run", admin,
                           {"command": command_plist("DeviceLock"), "host_uuids": ["NO-SUCH-MAC"]})
    assert status == 400 and "NO-SUCH-MAC" in json.dumps(body), (status, body)
    # Nothing was queued by any refusal.
    rows = env.query("select count(*) as n from mdm_commands where request_type = 'DeviceLock'")
    assert str(rows[0]["n"]) == "0", rows


def test_kill9_keeps_acknowledged_reports(env, box):
    """Queue 30 commands for each Mac, let all three poll and acknowledge, and
    kill -9 the server mid-burst. Every report the server answered must be in
    the store after the restart."""
    admin = env.login(ADMIN)
    udids = list(macs(env))
    for i in range(30):
        status, body = env.api("POST", "/commands/run", admin, {
            "command": command_plist("DeviceInformation", Queries=["OSVersion"]),
            "host_uuids": udids})
        assert status == 200, body
    proc = subprocess.Popen([env.args.mac_sim, "poll", "--state", env.state, "--count", "3",
                             "--concurrency", "3", "--answer", "ack", "--until-empty"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    wait_for("10 answers", lambda: sum('"answered"' in ln for ln in lines) >= 10, timeout=60)
    box[0].stop(signal.SIGKILL)
    proc.wait(timeout=60)
    reader.join(timeout=10)
    events = [json.loads(ln) for ln in lines if ln.startswith("{")]
    # A report is confirmed when the server answered it: the same Mac's next
    # event is another command (the reply) or the end of its session.
    confirmed, pending = set(), {}
    for e in events:
        udid = e.get("udid")
        if e["event"] == "answered":
            pending[udid] = e["command_uuid"]
        elif e["event"] in ("command", "polled") and udid in pending:
            confirmed.add((udid, pending.pop(udid)))
    cut = len(pending)
    assert confirmed, "no report was confirmed before the kill"
    box[0] = env.serve()
    assert box[0].wait_listening(), box[0].output()
    rows = env.query("select udid, command_uuid, status from mdm_commands")
    status_of = {(r["udid"], r["command_uuid"]): r["status"] for r in rows}
    lost = [k for k in confirmed if status_of.get(k) != "Acknowledged"]
    assert not lost, "acknowledged reports lost after kill -9: %s" % lost[:5]
    print("  (kill -9 after %d confirmed reports, %d in flight; none lost)" % (len(confirmed), cut))


def run(args):
    tmp = tempfile.mkdtemp(prefix="orchard-mdm-loop-")
    passed = failed = 0
    box = [None]
    env = None
    try:
        env = Env(args, tmp)
        env.start_standin()
        box[0] = env.serve()
        if not box[0].wait_listening():
            print("FAIL serve did not start\n" + box[0].output())
            return 1
        tests = [
            ("three Macs enroll through the profile, SCEP and signed check-ins", test_enroll),
            ("users: an admin and an observer from the CLI; a wrong password 401", test_users),
            ("admin queues a command, APNs push, the Mac acknowledges, API and tables show it",
             test_command_round_trip),
            ("NotNow stays queued until the next session; Error keeps the ErrorChain",
             test_error_and_notnow),
            ("refusals: a Mac speaking for another, unsigned and badly signed check-ins, "
             "no token, an observer, an unknown host", test_refusals),
            ("kill -9 during a burst of reports loses no acknowledged report",
             lambda e: test_kill9_keeps_acknowledged_reports(e, box)),
        ]
        passed, failed = run_scenarios(env, tests, box)
    finally:
        if box[0]:
            box[0].stop()
        if env and env.standin:
            env.standin.terminate()
            env.standin.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(loop_main(__doc__, run))
