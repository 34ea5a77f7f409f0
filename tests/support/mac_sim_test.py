#!/usr/bin/python3
"""The Mac simulator against a real `orchard serve`: enroll three Macs through
the enrollment profile and SCEP, check what they keep and what the server
recorded, poll, answer commands queued through the admin API (Acknowledged,
Error, NotNow), and the hostile signing helpers (another Mac's identity, no
signature, a bad one) are refused. Prints "N passed, M failed" last.
"""

import argparse
import base64
import json
import os
import plistlib
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
import uuid

START_WAIT_S = 15
SEED = 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udid(index, seed=SEED):
    """What mac_sim.h promises for Mac `index` under `seed`."""
    return "%08X-4D41-4353-494D-%012X" % (seed, index)


def serial(index, seed=SEED):
    return "SIM%03X%06d" % (seed & 0xFFF, index % 1000000)


class Env:
    def __init__(self, args, tmp):
        self.orchard, self.mac_sim, self.tmp = args.orchard, args.mac_sim, tmp
        self.dev = os.path.join(tmp, "dev")
        subprocess.run(["sh", args.dev_setup, self.orchard, self.dev], check=True,
                       stdout=subprocess.DEVNULL)
        self.config = os.path.join(self.dev, "orchard.yml")
        self.port = free_port()
        self.env = dict(os.environ, ORCHARD_SERVER_ADDRESS="127.0.0.1:%d" % self.port)
        self.base = "http://127.0.0.1:%d" % self.port
        self.state = os.path.join(tmp, "state")
        self.log_path = os.path.join(tmp, "serve.log")
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.orchard, "serve", "--config", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + START_WAIT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("orchard serve exited:\n" + self.server_log())
            if re.search(r"listening on http", self.server_log()):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("orchard serve did not start:\n" + self.server_log())
        self.token = self.orchard_cmd("enroll-token", "create", "--name", "mac_sim test")
        self.token = self.token.strip().splitlines()[-1]
        self.enroll_url = self.base + "/api/mdm/apple/enroll?token=" + self.token
        self.api_token = None

    def server_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def orchard_cmd(self, *args, stdin=None):
        out = subprocess.run([self.orchard, *args, "--config", self.config], env=self.env,
                             input=stdin, capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise AssertionError("orchard %s failed: %s" % (" ".join(args), out.stderr))
        return out.stdout

    def query(self, sql):
        return json.loads(self.orchard_cmd("query", "--json", sql))

    def sim(self, *args):
        """Run mac_sim; (exit status, events, stderr)."""
        out = subprocess.run([self.mac_sim, *args], capture_output=True, text=True, timeout=120)
        events = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
        return out.returncode, events, out.stderr

    def mac_dir(self, index):
        return os.path.join(self.state, "mac-%05d" % index)

    def api(self, method, path, body=None):
        """(status, JSON) of an admin API call with the test's API-only admin."""
        if self.api_token is None:
            out = self.orchard_cmd("user", "create", "--email", "sim@orchard.invalid",
                                   "--name", "mac_sim test", "--role", "admin", "--api-only")
            self.api_token = out.strip().splitlines()[-1]
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + "/api/latest/fleet" + path, data=data,
                                     method=method)
        req.add_header("Authorization", "Bearer " + self.api_token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def run_command(self, request_type, udids):
        plist = plistlib.dumps({"CommandUUID": str(uuid.uuid4()).upper(),
                                "Command": {"RequestType": request_type}})
        status, body = self.api("POST", "/commands/run", {
            "command": base64.b64encode(plist).decode(), "host_uuids": udids})
        assert status == 200, "commands/run answered %d: %s" % (status, body)
        return body["command_uuid"]

    def results(self, command_uuid):
        status, body = self.api("GET", "/commands/results?command_uuid=" + command_uuid)
        assert status == 200, "commands/results answered %d: %s" % (status, body)
        return {r["host_uuid"]: r for r in body["results"]}


def of(events, kind):
    return [e for e in events if e.get("event") == kind]


# ---- the cases, in order: later ones use the Macs the first one enrolled ------

def test_enroll_three(env):
    rc, ev, err = env.sim("enroll", "--url", env.enroll_url, "--state", env.state,
                          "--count", "3", "--concurrency", "3")
    assert rc == 0, "mac_sim enroll exited %d: %s" % (rc, err)
    enrolled = of(ev, "enrolled")
    assert sorted(e["udid"] for e in enrolled) == [udid(i) for i in range(3)], ev
    assert sorted(e["serial"] for e in enrolled) == [serial(i) for i in range(3)], ev
    for i in range(3):
        for name in ("key.pem", "cert.pem", "udid", "serial", "token", "push_magic"):
            assert os.path.exists(os.path.join(env.mac_dir(i), name)), (i, name)
        v = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(env.dev, "scep-ca.crt"),
                            os.path.join(env.mac_dir(i), "cert.pem")],
                           capture_output=True, text=True)
        assert v.returncode == 0, "the SCEP identity does not chain to the CA: " + v.stderr


def test_show_is_what_was_kept(env):
    rc, ev, err = env.sim("show", "--state", env.state)
    assert rc == 0, err
    macs = of(ev, "mac")
    assert [m["udid"] for m in macs] == [udid(i) for i in range(3)], macs
    for i, m in enumerate(macs):
        assert m["serial"] == serial(i)
        assert re.fullmatch(r"[0-9a-f]{64}", m["token"]), m
        assert re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}",
                            m["push_magic"]), m
        assert m["server_url"] == env.base + "/mdm/apple/mdm", m
        assert m["topic"] == "com.apple.mgmt.dev.orchard", m
        fp = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
                             os.path.join(env.mac_dir(i), "cert.pem")],
                            capture_output=True, text=True, check=True).stdout
        assert fp.split("=", 1)[1].strip().replace(":", "").lower() == m["cert_sha256"]
    with open(os.path.join(env.mac_dir(1), "token")) as f:
        assert f.read().strip() == macs[1]["token"]


def test_server_recorded_them(env):
    rows = env.query("select udid, serial_number, enabled from mdm_enrollments order by udid")
    assert [(r["udid"], r["serial_number"], str(r["enabled"])) for r in rows] == \
        [(udid(i), serial(i), "1") for i in range(3)], rows


def test_enroll_again_is_the_same_mac(env):
    with open(os.path.join(env.mac_dir(0), "cert.pem")) as f:
        old_cert = f.read()
    rc, ev, err = env.sim("enroll", "--url", env.enroll_url, "--state", env.state)
    assert rc == 0, err
    assert [e["udid"] for e in of(ev, "enrolled")] == [udid(0)], ev
    with open(os.path.join(env.mac_dir(0), "cert.pem")) as f:
        assert f.read() != old_cert, "a new enrollment gets a new identity"


def test_poll_nothing_queued(env):
    # Since issue 12 the server asks each new Mac for its DeviceInformation
    # itself (a job, soon after the first TokenUpdate): such commands may
    # come first, and nothing else; then a session brings nothing.
    import time
    deadline = time.monotonic() + 20
    while True:
        rc, ev, err = env.sim("poll", "--state", env.state)
        assert rc == 0, err
        polled = of(ev, "polled")
        assert sorted(e["udid"] for e in polled) == [udid(i) for i in range(3)], ev
        got = of(ev, "command")
        assert all(e["request_type"] == "DeviceInformation" and
                   e["command_uuid"].startswith("ORCHARD-UPDATES-") for e in got), ev
        if all(e["commands"] == 0 for e in polled):
            return
        assert time.monotonic() < deadline, "commands kept coming: %s" % ev
        time.sleep(0.2)


def test_another_macs_identity_is_refused(env):
    rc, ev, err = env.sim("checkin", "--state", env.mac_dir(1), "--message", "TokenUpdate",
                          "--sign-as", env.mac_dir(0))
    assert rc == 1, "an unexpected 400 must fail the run"
    assert [(e["event"], e["status"], e["signed_by"]) for e in ev] == \
        [("refused", 400, udid(0))], ev
    assert "expected 200" in err, err


def test_no_and_bad_signatures_are_refused(env):
    for flag, name in (("--no-signature", "none"), ("--bad-signature", "bad")):
        rc, ev, err = env.sim("checkin", "--state", env.mac_dir(2), "--message", "TokenUpdate",
                              flag, "--expect", "400")
        assert rc == 0, (flag, err)
        assert [(e["event"], e["status"], e["signed_by"]) for e in ev] == \
            [("refused", 400, name)], (flag, ev)
    # The Mac itself still gets through afterwards.
    rc, ev, err = env.sim("checkin", "--state", env.mac_dir(2), "--message", "TokenUpdate")
    assert rc == 0 and of(ev, "checkin")[0]["status"] == 200, (ev, err)


def test_bad_enrollment_token(env):
    rc, ev, err = env.sim("enroll", "--url", env.base + "/api/mdm/apple/enroll?token=nope",
                          "--state", os.path.join(env.tmp, "state-bad"), "--first", "7")
    assert rc != 0, "a refused profile download must fail the run"
    refused = of(ev, "refused")
    assert len(refused) == 1 and refused[0]["message"] == "profile", ev
    assert refused[0]["status"] in (401, 403, 404), ev


def test_commands_acknowledged(env):
    cmd = env.run_command("DeviceInformation", [udid(i) for i in range(3)])
    rc, ev, err = env.sim("poll", "--state", env.state)
    assert rc == 0, err
    got = of(ev, "command")
    assert sorted((e["udid"], e["command_uuid"], e["request_type"]) for e in got) == \
        [(udid(i), cmd, "DeviceInformation") for i in range(3)], ev
    assert all(e["status"] == "Acknowledged" for e in of(ev, "answered")), ev
    res = env.results(cmd)
    assert sorted(res) == [udid(i) for i in range(3)], res
    for r in res.values():
        assert r["status"] == "Acknowledged", r
        report = plistlib.loads(base64.b64decode(r["result"]))
        assert report["QueryResponses"]["SerialNumber"] in [serial(i) for i in range(3)], report


def test_commands_error_and_notnow(env):
    target = [udid(1)]
    failing = env.run_command("ProfileList", target)
    later = env.run_command("SecurityInfo", target)
    rc, ev, err = env.sim("poll", "--state", env.mac_dir(1), "--answer", "ack",
                          "--answer-for", "ProfileList=error", "--answer-for", "SecurityInfo=notnow")
    assert rc == 0, err
    assert [(e["request_type"], e["status"]) for e in of(ev, "answered")] == \
        [("ProfileList", "Error"), ("SecurityInfo", "NotNow")], ev
    r = env.results(failing)[udid(1)]
    assert r["status"] == "Error", r
    chain = plistlib.loads(base64.b64decode(r["result"]))["ErrorChain"]
    assert chain[0]["ErrorDomain"] == "MCMDMErrorDomain" and chain[0]["ErrorCode"] == 12021
    assert env.results(later)[udid(1)]["status"] in ("NotNow", "Pending")
    # NotNow keeps it queued: the next session gets it again, even within
    # the same second.
    rc, ev, err = env.sim("poll", "--state", env.mac_dir(1), "--until-empty")
    assert rc == 0, err
    assert [(e["command_uuid"], e["status"]) for e in of(ev, "answered")] == \
        [(later, "Acknowledged")], ev
    report = plistlib.loads(base64.b64decode(env.results(later)[udid(1)]["result"]))
    assert report["SecurityInfo"]["SystemIntegrityProtectionEnabled"] is True, report


def test_until_empty_is_bounded(env):
    cmd = env.run_command("ProfileList", [udid(0)])
    rc, ev, err = env.sim("poll", "--state", env.mac_dir(0), "--answer", "notnow",
                          "--until-empty", "--max-sessions", "3")
    assert rc == 1, "a command still due after --max-sessions must fail the run"
    assert [(e["command_uuid"], e["status"]) for e in of(ev, "answered")] == \
        [(cmd, "NotNow")] * 3, ev
    assert [e["during"] for e in of(ev, "error")] == ["poll"], ev
    rc, ev, err = env.sim("poll", "--state", env.mac_dir(0), "--until-empty")
    assert rc == 0, err
    assert [(e["command_uuid"], e["status"]) for e in of(ev, "answered")] == \
        [(cmd, "Acknowledged")], ev
    assert [e["commands"] for e in of(ev, "polled")] == [1, 0], ev


def test_shared_keys(env):
    state = os.path.join(env.tmp, "state-keys")
    rc, ev, err = env.sim("enroll", "--url", env.enroll_url, "--state", state, "--first", "10",
                          "--count", "4", "--keys", "2")
    assert rc == 0, err
    assert sorted(e["udid"] for e in of(ev, "enrolled")) == [udid(i) for i in range(10, 14)], ev

    def read(i, name):
        with open(os.path.join(state, "mac-%05d" % i, name)) as f:
            return f.read()
    assert read(10, "key.pem") == read(12, "key.pem") != read(11, "key.pem")
    assert len({read(i, "cert.pem") for i in range(10, 14)}) == 4, "a certificate each"
    rc, ev, err = env.sim("poll", "--state", state)
    assert rc == 0 and len(of(ev, "polled")) == 4, (ev, err)


def test_wake_on_push(env):
    macs = {m["index"]: m for m in of(env.sim("show", "--state", env.state)[1], "mac")}
    cmd = env.run_command("DeviceInformation", [udid(1)])
    record = os.path.join(env.tmp, "pushes.jsonl")

    def push(token, magic, status=200):
        return json.dumps({"token": token, "topic": "com.apple.mgmt.dev.orchard",
                           "push_type": "mdm", "mdm": magic, "status": status,
                           "apns_id": "A-%d" % status}, separators=(",", ":"))
    with open(record, "w") as f:  # as the APNs stand-in records pushes
        f.write("not json\n{}\n" + "x" * 20000 + "\n")                 # hostile lines
        f.write('{"token": 5, "mdm": null, "status": "200"}\n')
        f.write(push("ab" * 32, macs[1]["push_magic"]) + "\n")        # nobody's token
        f.write(push(macs[0]["token"], macs[1]["push_magic"]) + "\n")  # another PushMagic
        f.write(push(macs[1]["token"], macs[1]["push_magic"], 410) + "\n")  # APNs refused it
        f.write(push(macs[1]["token"].upper(), macs[1]["push_magic"]) + "\n")
    rc, ev, err = env.sim("wake", "--state", env.state, "--pushes", record, "--seconds", "2")
    assert rc == 0, err
    assert [(e["event"], e["udid"]) for e in ev if e["event"] in ("ignored", "pushed")] == \
        [("ignored", udid(0)), ("pushed", udid(1))], ev
    assert [(e["udid"], e["command_uuid"], e["status"]) for e in of(ev, "answered")] == \
        [(udid(1), cmd, "Acknowledged")], ev
    assert env.results(cmd)[udid(1)]["status"] == "Acknowledged"


def test_checkout(env):
    rc, ev, err = env.sim("checkin", "--state", env.mac_dir(2), "--message", "CheckOut")
    assert rc == 0, err
    rows = env.query("select enabled from mdm_enrollments where udid = '%s'" % udid(2))
    assert [str(r["enabled"]) for r in rows] == ["0"], rows


CASES = [test_enroll_three, test_show_is_what_was_kept, test_server_recorded_them,
         test_enroll_again_is_the_same_mac, test_poll_nothing_queued,
         test_another_macs_identity_is_refused, test_no_and_bad_signatures_are_refused,
         test_bad_enrollment_token, test_commands_acknowledged, test_commands_error_and_notnow,
         test_until_empty_is_bounded, test_shared_keys, test_wake_on_push, test_checkout]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orchard", required=True)
    ap.add_argument("--mac-sim", required=True)
    ap.add_argument("--dev-setup", required=True)
    args = ap.parse_args()
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="mac_sim_test.") as tmp:
        env = Env(args, tmp)
        try:
            for case in CASES:
                try:
                    case(env)
                    passed += 1
                    print("PASS", case.__name__, flush=True)
                except Exception:
                    failed += 1
                    print("FAIL", case.__name__, flush=True)
                    traceback.print_exc()
        finally:
            env.stop()
            if failed:
                print("---- serve log (last 40 lines)\n" +
                      "\n".join(env.server_log().splitlines()[-40:]))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
