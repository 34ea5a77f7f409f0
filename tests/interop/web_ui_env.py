"""The browser tests' world (tests/interop/web_ui_test.py): a dev/ made by
scripts/dev_setup.sh, three users (admin, maintainer, observer) made with
`orchard user create`, `orchard serve` with the APNs stand-in in Apple's
place, simulated Macs, and what a test needs besides the browser: the admin
API, raw HTTP(S) requests that keep their headers, throwaway certificates."""

import datetime
import http.client
import json
import os
import signal
import ssl
import subprocess
import urllib.parse

from serve_harness import DEV_TOPIC, Server, dev_setup, free_port, orchard_cli, start_apns_standin

# Passwords follow the policy (12 to 48 characters, a digit and a symbol).
USERS = {
    "admin": ("ada.admin@example.com", "Ada Admin", "Admin-browser-pass-1"),
    "maintainer": ("max.maint@example.com", "Max Maint", "Maint-browser-pass-22"),
    "observer": ("olga.obs@example.com", "Olga Obs", "Obs-browser-pass-333"),
}


def openssl(*argv):
    out = subprocess.run(["openssl", *argv], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("openssl %s failed: %s" % (" ".join(argv), out.stderr))
    return out.stdout


def not_after(cert):
    """The certificate's notAfter as an aware UTC datetime (openssl's reading)."""
    line = openssl("x509", "-in", cert, "-noout", "-enddate").strip()
    stamp = line.split("=", 1)[1]     # "Dec  6 13:00:00 2027 GMT"
    return datetime.datetime.strptime(stamp, "%b %d %H:%M:%S %Y %Z").replace(
        tzinfo=datetime.timezone.utc)


class Env:
    """Everything the scenarios share; the browser is `b`."""

    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.b = None
        self.dev = os.path.join(tmp, "dev")
        self.config = dev_setup(args.dev_setup, args.orchard, self.dev)
        self.port = free_port()
        self.apns_port = free_port()
        self.scheme = "http"
        # Settings of the developer's shell must not reach the test's serve.
        self.base_env = {k: v for k, v in os.environ.items()
                         if not k.startswith(("ORCHARD_", "FLEET_"))}
        self.env = dict(self.base_env,
                        ORCHARD_SERVER_ADDRESS="127.0.0.1:%d" % self.port,
                        ORCHARD_MDM_APPLE_APNS_URL="https://127.0.0.1:%d" % self.apns_port)
        self.server = None
        self.starts = 0
        self.standin = None
        self.standin_log = None
        self.tokens = {}
        self.tls_cert = None
        self.macs = os.path.join(tmp, "macs")

    @property
    def base(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    # ---- processes ---------------------------------------------------------------------------

    def start(self):
        if self.standin is None:
            self.standin, self.standin_log = start_apns_standin(
                self.args.standin, self.dev, self.apns_port, os.path.join(self.tmp, "pushes.jsonl"),
                os.path.join(self.tmp, "standin.log"))
        self.starts += 1
        self.server = Server(self.args.orchard, self.config, self.env,
                             os.path.join(self.tmp, "serve-%d.log" % self.starts))
        if not self.server.wait_listening():
            raise AssertionError("serve did not start:\n" + self.server.output()[-3000:])

    def restart(self, **overrides):
        """Stop serve (SIGTERM) and start it again with `overrides` added to
        its environment (the store, users and sessions stay)."""
        rc = self.server.stop(signal.SIGTERM)
        assert rc == 0, (rc, self.server.output()[-3000:])
        self.env.update(overrides)
        self.start()

    def stop(self):
        if self.server:
            self.server.stop()
        if self.standin:
            self.standin.terminate()
            self.standin.wait(timeout=10)
            self.standin_log.close()

    def output(self):
        return self.server.output() if self.server else ""

    # ---- the command line and the API ----------------------------------------------------------

    def cli(self, *argv, stdin=None, check=True):
        return orchard_cli(self.args.orchard, self.config, self.env, *argv, stdin=stdin,
                           check=check)

    def create_users(self):
        for role, (email, name, password) in USERS.items():
            self.cli("user", "create", "--email", email, "--name", name, "--role", role,
                     stdin=password + "\n")

    def api(self, method, path, body=None, role="admin"):
        """The admin API (/api/latest/fleet + path) as `role`'s session
        (None: no token): (status, JSON body)."""
        if role and role not in self.tokens:
            email, _, password = USERS[role]
            status, got = self.api("POST", "/login", {"email": email, "password": password},
                                   role=None)
            assert status == 200, (status, got)
            self.tokens[role] = got["token"]
        headers = {"Authorization": "Bearer " + self.tokens[role]} if role else {}
        status, _, text = self.raw(method, "/api/latest/fleet" + path, headers, json_body=body)
        try:
            return status, json.loads(text or "{}")
        except ValueError:
            return status, {"raw": text}

    def raw(self, method, path, headers=None, fields=None, json_body=None):
        """One request over http or https (trusting the test's certificate)
        that follows no redirect: (status, headers as a list of (name,
        value), body text). `fields` are sent as a form, `json_body` as JSON."""
        if self.scheme == "https":
            ctx = ssl.create_default_context(cafile=self.tls_cert)
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30, context=ctx)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = None
        headers = dict(headers or {})
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json.dumps(json_body)
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.getheaders(), r.read().decode(errors="replace")
        finally:
            conn.close()

    def macos_updates(self, team_id=None):
        """{minimum_version, deadline} as the API reads it back (global or a team's)."""
        if team_id is None:
            status, got = self.api("GET", "/config")
            assert status == 200, (status, got)
            return got["mdm"]["macos_updates"]
        status, got = self.api("GET", "/teams/%d" % team_id)
        assert status == 200, (status, got)
        return got["team"]["mdm"]["macos_updates"]

    # ---- Macs --------------------------------------------------------------------------------

    def mac_sim(self, *argv):
        out = subprocess.run([self.args.mac_sim, *argv], capture_output=True, text=True,
                             timeout=120)
        if out.returncode != 0:
            raise AssertionError("mac_sim %s failed (%d): %s%s" % (
                " ".join(argv), out.returncode, out.stdout, out.stderr))
        return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]

    def enroll(self, first, *extra):
        """Enroll one simulated Mac (index `first`); its UDID."""
        token = self.cli("enroll-token", "create", "--name", "web_ui").stdout.strip()
        url = "%s/api/mdm/apple/enroll?token=%s" % (self.base, token.splitlines()[-1])
        events = self.mac_sim("enroll", "--url", url, "--state", self.macs, "--first", str(first),
                              "--count", "1", *extra)
        assert [e["event"] for e in events] == ["enrolled"], events
        shown = self.mac_sim("show", "--state", os.path.join(self.macs, "mac-%05d" % first))
        return [m["udid"] for m in shown if m["event"] == "mac"][0]

    # ---- certificates --------------------------------------------------------------------------

    def apns_cert(self, days):
        """A stand-in APNs certificate on dev/'s APNs key with the dev
        topic, valid from now for `days` days; its path."""
        path = os.path.join(self.tmp, "apns-%dd.crt" % days)
        openssl("req", "-new", "-x509", "-key", os.path.join(self.dev, "apns.key"),
                "-days", str(days), "-sha256",
                "-subj", "/UID=%s/CN=web_ui %d-day APNs stand-in/O=orchard development"
                % (DEV_TOPIC, days), "-out", path)
        return path

    def tls_pair(self):
        """A throwaway server certificate and key for 127.0.0.1."""
        cert = os.path.join(self.tmp, "tls.crt")
        key = os.path.join(self.tmp, "tls.key")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-days", "2", "-sha256", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert)
        return cert, key
