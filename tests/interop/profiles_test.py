#!/usr/bin/python3
"""End to end: macOS settings (configuration profiles) and macOS updates (Nudge).

`orchard serve` with the APNs stand-in and simulated Macs (mac_sim), on
SQLite or, with ORCHARD_TEST_STORE=postgres, on the test cluster. Two teams
(one from the CLI, one from the API), a profile for each (one uploaded
through the API, one through `orchard apply`), three Macs enrolled and
transferred into the teams. Then, polling until the Macs have nothing left
to do: each Mac has exactly its team's profiles; the Mac told to fail one
shows it failed with its ErrorChain text; ProfileList verifies; moving a Mac
swaps its profiles; deleting a profile removes it. macOS updates: a Mac on
13.6 in a team whose minimum is 14.4 gets the Nudge profile whose payload is
Fleet's Nudge JSON (docs/macos-updates.md) for the deadline, the agent `nudge` table reads it from
the managed preferences the Mac wrote, and once the Mac reports 14.4 through
DeviceInformation the profile and the file are gone. The API's refusals are
spot-checked (400 each). Prints "N passed, M failed" last.
"""

import datetime
import json
import os
import plistlib
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid

from serve_harness import (run_scenarios, loop_main, Server, dev_setup, free_port,
                           start_apns_standin, wait_for)

ADMIN = ("admin@example.com", "correct horse battery staple 4!")
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures", "profiles")
PASSCODE = "com.example.orchard.passcode"   # team Alpha's profile (API upload)
FIREWALL = "com.example.orchard.firewall"   # team Beta's profile (orchard apply)
NUDGE = "com.orchard.mdm.nudge"
NUDGE_DOMAIN = "com.github.macadmins.Nudge"
# A deadline a month away: Nudge's "initial" phase, a window once a day.
DEADLINE = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
SETTLE_S = 30


class Env:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.dev = os.path.join(tmp, "dev")
        self.config = dev_setup(args.dev_setup, args.orchard, self.dev)
        self.port = free_port()
        self.apns_port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        # Short intervals so the test sees a reconcile pass and a
        # DeviceInformation round in seconds, not in 30 s and a day.
        self.env = dict(os.environ,
                        ORCHARD_SERVER_ADDRESS="127.0.0.1:%d" % self.port,
                        ORCHARD_MDM_APPLE_APNS_URL="https://127.0.0.1:%d" % self.apns_port,
                        ORCHARD_MDM_APPLE_PROFILE_RECONCILE_INTERVAL="1s",
                        ORCHARD_MDM_APPLE_DEVICE_INFO_INTERVAL="2s")
        self.state = os.path.join(tmp, "macs")
        self.root = os.path.join(tmp, "mac0-root")   # mac 0's file system for the agent
        self.record = os.path.join(tmp, "pushes.jsonl")
        self.standin = None
        self.server = None
        self.token = None
        self.teams = {}
        self.udids = []
        self.profile_ids = {}

    def start(self):
        self.standin, self.standin_log = start_apns_standin(
            self.args.standin, self.dev, self.apns_port, self.record,
            os.path.join(self.tmp, "standin.log"))
        self.server = Server(self.args.orchard, self.config, self.env,
                             os.path.join(self.tmp, "serve.log"))
        if not self.server.wait_listening():
            raise AssertionError("serve did not start:\n" + self.server.output()[-3000:])

    def orchard(self, *argv, stdin=None, check=True):
        out = subprocess.run([self.args.orchard, *argv, "--config", self.config], env=self.env,
                             input=stdin, capture_output=True, text=True, timeout=60)
        if check and out.returncode != 0:
            raise AssertionError("orchard %s failed (%d): %s%s" % (
                " ".join(argv), out.returncode, out.stdout, out.stderr))
        return out

    def query(self, sql, *extra):
        return json.loads(self.orchard("query", "--json", *extra, sql).stdout)

    def mac_sim(self, *argv, check=True):
        out = subprocess.run([self.args.mac_sim, *argv], capture_output=True, text=True,
                             timeout=120)
        if check and out.returncode != 0:
            raise AssertionError("mac_sim %s failed (%d): %s%s" % (
                " ".join(argv), out.returncode, out.stdout, out.stderr))
        return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]

    def api(self, method, path, body=None, token=True, data=None, content_type=None):
        if body is not None:
            data, content_type = json.dumps(body).encode(), "application/json"
        req = urllib.request.Request(self.base + "/api/latest/fleet" + path, data=data,
                                     method=method)
        if content_type:
            req.add_header("Content-Type", content_type)
        if token:
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

    def upload(self, data, team_id, filename="profile.mobileconfig"):
        """POST /mdm/apple/profiles as multipart/form-data (profile, team_id)."""
        boundary = "orchard-" + uuid.uuid4().hex
        body = b"".join([
            b"--%s\r\n" % boundary.encode(),
            b'Content-Disposition: form-data; name="team_id"\r\n\r\n',
            str(team_id).encode(), b"\r\n",
            b"--%s\r\n" % boundary.encode(),
            b'Content-Disposition: form-data; name="profile"; filename="%s"\r\n'
            % filename.encode(),
            b"Content-Type: application/x-apple-aspen-config\r\n\r\n",
            data, b"\r\n--%s--\r\n" % boundary.encode()])
        return self.api("POST", "/mdm/apple/profiles", data=body,
                        content_type="multipart/form-data; boundary=" + boundary)

    # ---- what the Macs have and what the server says --------------------------------------

    def installed(self):
        """{udid: set of installed profile identifiers} from the Macs' own state."""
        return {m["udid"]: set(filter(None, m["profiles"].split(",")))
                for m in self.mac_sim("show", "--state", self.state) if m["event"] == "mac"}

    def host_profiles(self):
        """{(udid, identifier): row} of mdm_host_profiles."""
        rows = self.query("select udid, identifier, operation, status, detail "
                          "from mdm_host_profiles")
        return {(r["udid"], r["identifier"]): r for r in rows}

    def settle(self, what, done, timeout=SETTLE_S):
        """Let every Mac poll until it has nothing left, again and again, until done()."""
        def step():
            self.mac_sim("poll", "--state", self.state, "--until-empty", "--max-sessions", "50")
            return done()
        try:
            return wait_for(what, step, timeout=timeout, step=0.2)
        except AssertionError as e:
            raise AssertionError("%s\n  the Macs have: %s\n  mdm_host_profiles: %s" % (
                e, self.installed(), sorted(self.host_profiles().values(),
                                            key=lambda r: (r["udid"], r["identifier"]))))


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def expected_nudge(minimum, deadline):
    """docs/macos-updates.md: the Nudge configuration for a minimum version and deadline."""
    return {
        "osVersionRequirements": [{
            "requiredInstallationDate": deadline + "T20:00:00Z",
            "requiredMinimumOSVersion": minimum,
            "aboutUpdateURLs": [{"_language": "en",
                                 "aboutUpdateURL": "https://support.apple.com/en-us/HT201541"}],
        }],
        "userInterface": {
            "simpleMode": True, "showDeferralCount": False,
            "updateElements": [{"_language": "en", "actionButtonText": "Update",
                                "mainHeader": "Your device requires an update"}],
        },
        "userExperience": {"initialRefreshCycle": 86400, "approachingRefreshCycle": 86400,
                           "imminentRefreshCycle": 7200, "elapsedRefreshCycle": 3600},
    }


# ---- the scenarios ---------------------------------------------------------------------------

def test_setup(env):
    env.orchard("user", "create", "--email", ADMIN[0], "--name", "Ada Admin", "--role", "admin",
                stdin=ADMIN[1] + "\n")
    status, body = env.api("POST", "/login", {"email": ADMIN[0], "password": ADMIN[1]},
                           token=False)
    assert status == 200, (status, body)
    env.token = body["token"]
    env.orchard("team", "create", "--name", "Alpha")
    status, body = env.api("POST", "/teams", {"name": "Beta"})
    assert status == 200, (status, body)
    teams = {t["name"]: int(t["id"]) for t in env.query("select id, name from teams")}
    assert set(teams) == {"Alpha", "Beta"}, teams
    env.teams = teams


def test_profiles_uploaded(env):
    status, body = env.upload(fixture("passcode.mobileconfig"), env.teams["Alpha"])
    assert status == 200 and body.get("profile_id"), (status, body)
    env.profile_ids[PASSCODE] = body["profile_id"]
    spec = os.path.join(env.tmp, "beta.yml")
    with open(spec, "w") as f:
        f.write("apiVersion: v1\nkind: team\nspec:\n  team:\n    name: Beta\n    mdm:\n"
                "      macos_settings:\n        custom_settings:\n          - %s\n"
                % os.path.join(os.path.abspath(FIXTURES), "firewall.mobileconfig"))
    out = env.orchard("apply", "-f", spec)
    assert "[+] applied team Beta: 1 profile" in out.stdout, out.stdout
    for team, ident in (("Alpha", PASSCODE), ("Beta", FIREWALL)):
        status, body = env.api("GET", "/mdm/apple/profiles?team_id=%d" % env.teams[team])
        assert status == 200, (status, body)
        assert [p["identifier"] for p in body["profiles"]] == [ident], body
        env.profile_ids[ident] = body["profiles"][0]["profile_id"]


def test_enroll_and_transfer(env):
    token = env.orchard("enroll-token", "create", "--name", "e2e").stdout.strip().splitlines()[-1]
    url = "%s/api/mdm/apple/enroll?token=%s" % (env.base, token)
    # Mac 0: macOS 13.6, its managed preferences under a root the agent reads;
    # Mac 1: the default 14.4.1; Mac 2: fails to install the firewall profile.
    for first, extra in ((0, ["--os-version", "13.6", "--managed-prefs", env.root]),
                         (1, []), (2, ["--fail-profile", FIREWALL])):
        events = env.mac_sim("enroll", "--url", url, "--state", env.state, "--first", str(first),
                             "--count", "1", *extra)
        assert [e["event"] for e in events] == ["enrolled"], events
    env.udids = sorted(env.installed())
    assert len(env.udids) == 3, env.udids
    mac0, mac1, mac2 = env.udids
    for team, hosts in (("Alpha", [mac0, mac1]), ("Beta", [mac2])):
        status, body = env.api("POST", "/hosts/transfer",
                               {"team_id": env.teams[team], "hosts": hosts})
        assert status == 200, (status, body)
    rows = env.query("select udid, team from macos_updates")
    assert {r["udid"]: r["team"] for r in rows} == {mac0: "Alpha", mac1: "Alpha", mac2: "Beta"}, rows


def test_each_mac_has_its_teams_profiles(env):
    mac0, mac1, mac2 = env.udids

    # First the Macs put ProfileList off (NotNow): installed and acknowledged,
    # the profiles wait in `verifying`; the answer to ProfileList verifies them.
    def acknowledged():
        env.mac_sim("poll", "--state", env.state, "--answer-for", "ProfileList=notnow")
        hp = env.host_profiles()
        return all(hp.get((m, PASSCODE), {}).get("status") == "verifying" for m in (mac0, mac1))
    wait_for("the passcode profile acknowledged (verifying) on Macs 0 and 1", acknowledged,
             timeout=SETTLE_S, step=0.2)
    assert env.installed()[mac0] == {PASSCODE}, env.installed()

    def done():
        hp = env.host_profiles()
        return (env.installed() == {mac0: {PASSCODE}, mac1: {PASSCODE}, mac2: set()}
                and hp.get((mac0, PASSCODE), {}).get("status") == "verified"
                and hp.get((mac1, PASSCODE), {}).get("status") == "verified"
                and hp.get((mac2, FIREWALL), {}).get("status") == "failed")
    env.settle("each Mac with exactly its team's profiles, verified or failed", done)
    hp = env.host_profiles()
    assert set(hp) == {(mac0, PASSCODE), (mac1, PASSCODE), (mac2, FIREWALL)}, hp
    assert "told to fail installing the profile" in hp[(mac2, FIREWALL)]["detail"], hp
    assert FIREWALL in hp[(mac2, FIREWALL)]["detail"], hp
    # The host API shows the same.
    status, body = env.api("GET", "/hosts/" + mac2)
    assert status == 200, (status, body)
    host = body.get("host", body)
    profiles = {p["identifier"]: p for p in host["mdm"]["profiles"]}
    assert profiles[FIREWALL]["status"] == "failed", profiles
    assert "told to fail installing" in profiles[FIREWALL]["detail"], profiles
    status, body = env.api("GET", "/mdm/apple/profiles/summary?team_id=%d" % env.teams["Alpha"])
    assert status == 200 and body.get("verified") == 2, (status, body)


def test_moving_a_host_swaps_its_profiles(env):
    mac0, mac1, mac2 = env.udids
    status, body = env.api("POST", "/hosts/transfer", {"team_id": env.teams["Beta"],
                                                       "hosts": [mac1]})
    assert status == 200, (status, body)

    def done():
        hp = env.host_profiles()
        return (env.installed()[mac1] == {FIREWALL}
                and hp.get((mac1, FIREWALL), {}).get("status") == "verified"
                and (mac1, PASSCODE) not in hp)
    env.settle("Mac 1 with Beta's profile instead of Alpha's", done)


def test_deleting_a_profile_removes_it(env):
    mac0, mac1, mac2 = env.udids
    status, body = env.api("DELETE", "/mdm/apple/profiles/%d" % env.profile_ids[PASSCODE])
    assert status == 200, (status, body)
    env.settle("the passcode profile gone from Mac 0",
               lambda: env.installed()[mac0] == set()
               and (mac0, PASSCODE) not in env.host_profiles())
    rows = env.query("select type from activities where type = 'deleted_macos_profile'")
    assert rows, "no activity for the deletion"


def nudge_rows(env):
    return env.query("select required_minimum_os_version, required_installation_date, "
                     "os_version, compliant, phase, refresh_cycle from nudge", "--root", env.root)


def test_nudge_delivered(env):
    mac0 = env.udids[0]
    status, body = env.api("PATCH", "/teams/%d" % env.teams["Alpha"],
                           {"mdm": {"macos_updates": {"minimum_version": "14.4",
                                                      "deadline": DEADLINE}}})
    assert status == 200, (status, body)
    env.settle("the Nudge profile verified on Mac 0",
               lambda: NUDGE in env.installed()[mac0]
               and env.host_profiles().get((mac0, NUDGE), {}).get("status") == "verified")
    # Only the Mac below the minimum in that team has it.
    assert all(NUDGE not in p for u, p in env.installed().items() if u != mac0)
    with open(os.path.join(env.state, "mac-00000", "profiles", NUDGE + ".mobileconfig"),
              "rb") as f:
        profile = plistlib.load(f)
    payloads = [p for p in profile["PayloadContent"] if p["PayloadType"] == NUDGE_DOMAIN]
    assert len(payloads) == 1, profile
    keys = {k: v for k, v in payloads[0].items() if not k.startswith("Payload")}
    assert keys == expected_nudge("14.4", DEADLINE), json.dumps(keys, indent=1)
    # What the Mac wrote where macOS keeps managed preferences, read by the agent.
    rows = nudge_rows(env)
    assert len(rows) == 1, rows
    r = rows[0]
    assert r["required_minimum_os_version"] == "14.4", r
    assert r["required_installation_date"] == DEADLINE + "T20:00:00Z", r
    assert r["os_version"] == "13.6" and str(r["compliant"]) == "0", r
    assert r["phase"] == "initial" and str(r["refresh_cycle"]) == "86400", r
    rows = env.query("select udid, minimum_version, compliant, phase, refresh_cycle, "
                     "nudge_profile_status from macos_updates where udid = '%s'" % mac0)
    assert rows and rows[0]["phase"] == "initial" and str(rows[0]["compliant"]) == "0", rows
    assert rows[0]["nudge_profile_status"] == "verified", rows


def test_nudge_removed_at_the_minimum(env):
    mac0 = env.udids[0]
    env.mac_sim("set", "--state", os.path.join(env.state, "mac-00000"), "--os-version", "14.4")
    prefs = os.path.join(env.root, "Library", "Managed Preferences", NUDGE_DOMAIN + ".plist")
    assert os.path.exists(prefs)
    env.settle("the Nudge profile removed once Mac 0 reports 14.4",
               lambda: NUDGE not in env.installed()[mac0]
               and (mac0, NUDGE) not in env.host_profiles())
    assert not os.path.exists(prefs), "the managed preferences outlived the profile"
    rows = env.query("select os_version, compliant from macos_updates where udid = '%s'" % mac0)
    assert rows == [{"os_version": "14.4", "compliant": 1}], rows
    rows = nudge_rows(env)
    assert all(r["required_minimum_os_version"] in (None, "") for r in rows), rows


def test_api_refusals(env):
    alpha = env.teams["Alpha"]
    # (what, call, statuses accepted, words the message must have). Profile
    # refusals are 400s; Fleet answers a bad setting with 422, which is kept.
    cases = [
        ("not a plist", lambda: env.upload(b"this is not a plist", alpha), {400}, "plist"),
        ("orchard's own Nudge payload",
         lambda: env.upload(fixture("nudge-payload.mobileconfig"), alpha), {400}, NUDGE_DOMAIN),
        ("a second profile with the same identifier in the team",
         lambda: env.upload(fixture("passcode-again.mobileconfig"), alpha), {400, 409},
         "already"),
        ("over 1 MiB", lambda: env.upload(b"<?xml version=\"1.0\"?>" + b" " * (1024 * 1024 + 1),
                                          alpha), {400, 413}, ""),
        ("minimum_version words", lambda: env.api(
            "PATCH", "/teams/%d" % alpha,
            {"mdm": {"macos_updates": {"minimum_version": "Ventura 13", "deadline": DEADLINE}}}),
         {400, 422}, "minimum_version accepts version numbers only"),
        ("deadline without minimum_version", lambda: env.api(
            "PATCH", "/config", {"mdm": {"macos_updates": {"deadline": "2027-01-01"}}}),
         {400, 422}, "minimum_version is required when deadline is provided"),
        ("a numeric host id", lambda: env.api("POST", "/hosts/transfer",
                                              {"team_id": alpha, "hosts": [1]}), {400}, "UDID"),
        ("an empty team name", lambda: env.api("POST", "/teams", {"name": ""}), {400, 422},
         "name"),
    ]
    status, body = env.upload(fixture("passcode.mobileconfig"), alpha)
    assert status == 200, (status, body)
    bad = []
    for what, call, statuses, words in cases:
        status, body = call()
        if status not in statuses or words not in body.get("message", ""):
            bad.append((what, status, body))
    assert not bad, bad
    # None of them changed the team's profiles.
    status, body = env.api("GET", "/mdm/apple/profiles?team_id=%d" % alpha)
    assert status == 200, (status, body)
    assert [p["identifier"] for p in body["profiles"]] == [PASSCODE], body


def run(args):
    tmp = tempfile.mkdtemp(prefix="orchard-profiles-")
    passed = failed = 0
    env = None
    try:
        env = Env(args, tmp)
        env.start()
        tests = [
            ("two teams (CLI and API), an admin", test_setup),
            ("a profile per team: API upload and orchard apply", test_profiles_uploaded),
            ("three Macs enroll and are transferred into the teams", test_enroll_and_transfer),
            ("each Mac gets exactly its team's profiles; ProfileList moves verifying to "
             "verified; a Mac's Error shows failed with its ErrorChain (table and host API)",
             test_each_mac_has_its_teams_profiles),
            ("moving a host to the other team swaps its profiles",
             test_moving_a_host_swaps_its_profiles),
            ("deleting a profile removes it from the Macs", test_deleting_a_profile_removes_it),
            ("a Mac on 13.6 under a 14.4 minimum gets Fleet's Nudge profile; the agent "
             "nudge table reads it from managed preferences", test_nudge_delivered),
            ("at 14.4 (DeviceInformation) the Nudge profile and its preferences are removed",
             test_nudge_removed_at_the_minimum),
            ("the API's validation refusals are 400s", test_api_refusals),
        ]
        passed, failed = run_scenarios(env, tests, [env.server])
        if failed:  # the whole serve log, for the reconciler's story (the tail is above)
            kept = os.path.join(os.getcwd(), "profiles_test_%s_serve.log"
                                % os.environ.get("ORCHARD_TEST_STORE", "sqlite"))
            shutil.copy(os.path.join(tmp, "serve.log"), kept)
            print("serve's whole log: " + kept)
    finally:
        if env and env.server:
            env.server.stop()
        if env and env.standin:
            env.standin.terminate()
            env.standin.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(loop_main(__doc__, run))
