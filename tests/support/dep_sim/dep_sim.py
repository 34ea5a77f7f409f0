"""Start, drive and stop tests/support/dep_sim (the Apple Business Manager /
DEP simulator) from Python tests. Standard library only; the OAuth 1.0a
signer here is written from RFC 5849, apart from the C code it checks.

    from dep_sim import DepSim
    with DepSim(binary, workdir, devices=10, seed=7) as sim:
        s = sim.client()                    # an OAuth-signed session
        page = s.call("POST", "/server/devices", {"limit": 1000})
        sim.control("devices/add", {"count": 3})
        print(sim.state()["calls"])
"""
import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

CREDENTIALS = {
    "consumer_key": "CK_depsim_0a1b2c",
    "consumer_secret": "CS_depsim_secret_3d4e",
    "access_token": "AT_depsim_5f6a7b",
    "access_secret": "AS_depsim_secret_8c9d",
}


def oauth_encode(s):
    return urllib.parse.quote(s, safe="-._~")


def oauth_header(url, creds, timestamp=None, nonce=None, method="GET"):
    """The Authorization header for `method url` signed with HMAC-SHA1. The
    URL's query parameters are signed too (RFC 5849 section 3.4.1.3)."""
    base_url, _, query = url.partition("?")
    signed = urllib.parse.parse_qsl(query, keep_blank_values=True)
    params = {
        "oauth_consumer_key": creds["consumer_key"],
        "oauth_token": creds["access_token"],
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "oauth_nonce": nonce or secrets.token_hex(16),
        "oauth_version": "1.0",
    }
    pairs = sorted((oauth_encode(k), oauth_encode(v)) for k, v in list(params.items()) + signed)
    norm = "&".join("%s=%s" % kv for kv in pairs)
    base = "&".join([method, oauth_encode(base_url), oauth_encode(norm)])
    key = oauth_encode(creds["consumer_secret"]) + "&" + oauth_encode(creds["access_secret"])
    sig = base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()
    params["oauth_signature"] = sig
    return "OAuth realm=\"ADM\", " + ", ".join(
        '%s="%s"' % (k, oauth_encode(v)) for k, v in params.items())


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Reply(%d, %r)" % (self.status, self.body[:200])


def request(url, method="GET", body=None, headers=None, timeout=30):
    """One HTTP request; any status comes back as a Reply (no exception)."""
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        data = data.encode() if isinstance(data, str) else data
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json;charset=UTF8")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Reply(r.status, r.headers, r.read().decode())
    except urllib.error.HTTPError as e:
        return Reply(e.code, e.headers, e.read().decode())


class Session:
    """A DEP client in a few lines: a session from GET /session, sent on
    every call, replaced when a reply carries a new X-ADM-Auth-Session."""

    def __init__(self, base, creds):
        self.base, self.creds, self.token = base, creds, None

    def login(self):
        url = self.base + "/session"
        r = request(url, headers={"Authorization": oauth_header(url, self.creds)})
        if r.status == 200:
            self.token = r.json()["auth_session_token"]
        return r

    def call(self, method, path, body=None, protocol="3"):
        if not self.token:
            self.login()
        headers = {"X-ADM-Auth-Session": self.token or ""}
        if protocol:
            headers["X-Server-Protocol-Version"] = protocol
        r = request(self.base + path, method, body, headers)
        if r.headers.get("X-ADM-Auth-Session"):
            self.token = r.headers["X-ADM-Auth-Session"]
        return r


class DepSim:
    """One dep_sim serve process. Keyword options map to its flags
    (devices, seed, session_ttl, cursor_ttl); creds defaults to CREDENTIALS."""

    def __init__(self, binary, workdir, creds=None, **opts):
        self.binary, self.workdir = binary, workdir
        self.creds = dict(creds or CREDENTIALS)
        self.opts, self.proc, self.port = opts, None, None

    def start(self, timeout=20):
        os.makedirs(self.workdir, exist_ok=True)
        cred_file = os.path.join(self.workdir, "dep_credentials.json")
        with open(cred_file, "w") as f:
            json.dump(self.creds, f)
        port_file = os.path.join(self.workdir, "dep_sim.port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        argv = [self.binary, "serve", "--credentials", cred_file, "--port-file", port_file,
                "--log", os.path.join(self.workdir, "dep_sim.log")]
        for k, v in self.opts.items():
            argv += ["--" + k.replace("_", "-"), str(v)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("dep_sim did not start: %r" % argv)
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read())
        return self

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def client(self):
        return Session(self.url, self.creds)

    def control(self, name, body=None):
        """POST /_sim/<name>; returns the reply's JSON (raises on a refusal)."""
        r = request(self.url + "/_sim/" + name, "POST", body if body is not None else {})
        if r.status != 200:
            raise RuntimeError("dep_sim control %s: %d %s" % (name, r.status, r.body))
        return r.json()

    def state(self, devices=True):
        return request(self.url + "/_sim/" + ("state" if devices else "stats")).json()

    def page_calls(self):
        """Every fetch and sync call, oldest first: {endpoint, cursor (sent), status,
        devices, issued (the answer's cursor)}."""
        return request(self.url + "/_sim/calls").json()["calls"]

    def token(self, cert, out, expiry=None):
        """`dep_sim token` for this account's credentials."""
        cred_file = os.path.join(self.workdir, "dep_credentials.json")
        with open(cred_file, "w") as f:
            json.dump(self.creds, f)
        argv = [self.binary, "token", "--cert", cert, "--credentials", cred_file, "--out", out]
        if expiry:
            argv += ["--expiry", expiry]
        subprocess.run(argv, check=True)
        return out
