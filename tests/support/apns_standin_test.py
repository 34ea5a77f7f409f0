#!/usr/bin/env python3
"""The apns_standin ctest: drives tests/support/apns_standin with peers we did
not write (Debian's curl --http2 and nghttp) and with hostile raw clients
(Python's ssl and socket): success, Apple's request checks, each error of
Apple's push errors (docs/protocols.md) on demand, the client-certificate requirement, the
record file, the control lines and SIGTERM's summary.

    apns_standin_test.py --standin PATH
"""
import argparse
import json
import os
import re
import resource
import select
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

TOPIC = "com.apple.mgmt.External.0f3c2a1e-6b7d-4c59-9a8e-1d2e3f405162"
TOKEN = "a1" * 32
OTHER = "b2" * 32
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, flush=True)
    return cond


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_pki(d):
    """Server cert for 127.0.0.1; a client CA and a client cert it signs; a
    self-signed client cert; an unrelated one."""
    p = lambda n: os.path.join(d, n)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", p("server.key"), "-out", p("server.pem"),
            "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
    openssl("req", "-x509", *ec, "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "2",
            "-subj", "/CN=stand-in client CA")
    openssl("req", *ec, "-keyout", p("client.key"), "-out", p("client.csr"),
            "-subj", "/UID=" + TOPIC + "/CN=APSP:stand-in test")
    with open(p("ext.cnf"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", p("client.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
            "-CAcreateserial", "-out", p("client.pem"), "-days", "2", "-extfile", p("ext.cnf"))
    for name in ("selfsigned", "stranger"):
        openssl("req", "-x509", *ec, "-keyout", p(name + ".key"), "-out", p(name + ".pem"),
                "-days", "2", "-subj", "/CN=" + name)
    return p


class Standin:
    def __init__(self, binary, *args, nofile=None):
        # stderr to a file: a pipe nobody reads could fill and stall the stand-in
        self.log = tempfile.TemporaryFile(mode="w+")
        limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))) \
            if nofile else None
        self.proc = subprocess.Popen([binary, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     preexec_fn=limit)
        line = self.readline(10)
        m = re.match(r"^listening (https://127\.0\.0\.1:(\d+))$", line or "")
        if not m:
            self.proc.kill()
            raise RuntimeError("stand-in did not start: %r %s" % (line, self.stderr()))
        self.url, self.port = m.group(1), int(m.group(2))

    def readline(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().rstrip("\n") if ready else None

    def control(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stats(self):
        """Also a barrier: every control line before it has been applied."""
        self.control("stats")
        line = self.readline(10)
        m = re.match(r"^pushes (\d+) connections (\d+)$", line or "")
        check(m is not None, "stats answers 'pushes N connections M', got %r" % line)
        return (int(m.group(1)), int(m.group(2))) if m else (-1, -1)

    def stderr(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=10)
        return self.proc.returncode, out, self.stderr()


def curl(base, path, pki, cert="client", headers=None, body=b'{"mdm":"magic-1"}',
         method="POST", extra=()):
    """One request with curl --http2; returns (status or None, headers, body)."""
    with tempfile.NamedTemporaryFile() as bf, tempfile.NamedTemporaryFile() as hf, \
            tempfile.NamedTemporaryFile() as of:
        bf.write(body or b"")
        bf.flush()
        cmd = ["curl", "-s", "--http2", "--max-time", "10", "--cacert", pki("server.pem"),
               "-X", method, "-D", hf.name, "-o", of.name, "-w", "%{http_code}"]
        if cert:
            cmd += ["--cert", pki(cert + ".pem"), "--key", pki(cert + ".key")]
        if body is not None:
            cmd += ["--data-binary", "@" + bf.name]
        for h in headers if headers is not None else default_headers():
            cmd += ["-H", h]
        cmd += list(extra) + [base + path]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            return None, {}, b""
        hdrs = {}
        for line in open(hf.name, encoding="latin-1"):
            if ":" in line and not line.startswith("HTTP/"):
                k, v = line.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        return int(r.stdout), hdrs, open(of.name, "rb").read()


def default_headers(**over):
    h = {"apns-topic": TOPIC, "apns-push-type": "mdm", "apns-expiration": "1767225600"}
    h.update(over)
    return ["%s: %s" % (k, v) for k, v in h.items() if v is not None]


def reason(body):
    try:
        return json.loads(body).get("reason")
    except ValueError:
        return None


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


# ---- the scenarios ---------------------------------------------------------------

def test_success(s, pki, rec):
    st, h, body = curl(s.url, "/3/device/" + TOKEN, pki)
    check(st == 200, "a good push answers 200, got %s" % st)
    check(UUID_RE.match(h.get("apns-id", "")), "200 carries an apns-id UUID: %r" % h)
    check(body == b"", "200 has no body")
    last = records(rec)[-1]
    want = {"token": TOKEN, "topic": TOPIC, "push_type": "mdm", "expiration": "1767225600",
            "mdm": "magic-1", "status": 200, "reason": None, "apns_id": h.get("apns-id")}
    for k, v in want.items():
        check(last.get(k) == v, "record %s is %r, want %r" % (k, last.get(k), v))
    check(isinstance(last.get("connection"), int) and last["connection"] >= 1,
          "record names the connection")
    uid = "0A1B2C3D-4E5F-4a6b-8c7d-0123456789ab"
    st, h, _ = curl(s.url, "/3/device/" + TOKEN, pki,
                    headers=default_headers(**{"apns-id": uid}))
    check(st == 200 and h.get("apns-id") == uid, "the request's apns-id comes back: %r" % h)
    # exactly the limit is fine
    pad = b'{"mdm":"' + b"x" * (4096 - 10) + b'"}'
    st, _, _ = curl(s.url, "/3/device/" + TOKEN.upper(), pki, body=pad)
    check(len(pad) == 4096 and st == 200, "a 4096-byte payload and an upper-case token pass")


def test_refusals(s, pki):
    long_body = b'{"mdm":"' + b"x" * 4090 + b'"}'
    cases = [
        ("GET", "/3/device/" + TOKEN, default_headers(), None, 405, "MethodNotAllowed"),
        ("PUT", "/3/device/" + TOKEN, default_headers(), b'{"mdm":"m"}', 405, "MethodNotAllowed"),
        ("POST", "/3/devices/" + TOKEN, default_headers(), b'{"mdm":"m"}', 404, "BadPath"),
        ("POST", "/", default_headers(), b'{"mdm":"m"}', 404, "BadPath"),
        ("POST", "/3/device/", default_headers(), b'{"mdm":"m"}', 400, "MissingDeviceToken"),
        ("POST", "/3/device/" + "zz" * 32, default_headers(), b'{"mdm":"m"}', 400, "BadDeviceToken"),
        ("POST", "/3/device/" + TOKEN[:-2], default_headers(), b'{"mdm":"m"}', 400, "BadDeviceToken"),
        ("POST", "/3/device/" + TOKEN + "00", default_headers(), b'{"mdm":"m"}', 400, "BadDeviceToken"),
        ("POST", "/3/device/" + TOKEN + "?x=1", default_headers(), b'{"mdm":"m"}', 400, "BadDeviceToken"),
        ("POST", "/3/device/" + TOKEN, default_headers(**{"apns-topic": None}), b'{"mdm":"m"}', 400, "MissingTopic"),
        ("POST", "/3/device/" + TOKEN, default_headers(**{"apns-topic": TOPIC + ".other"}), b'{"mdm":"m"}', 400, "DeviceTokenNotForTopic"),
        ("POST", "/3/device/" + TOKEN, default_headers(**{"apns-push-type": None}), b'{"mdm":"m"}', 400, "InvalidPushType"),
        ("POST", "/3/device/" + TOKEN, default_headers(**{"apns-push-type": "alert"}), b'{"mdm":"m"}', 400, "InvalidPushType"),
        ("POST", "/3/device/" + TOKEN, default_headers(**{"apns-expiration": "soon"}), b'{"mdm":"m"}', 400, "BadExpirationDate"),
        ("POST", "/3/device/" + TOKEN, default_headers(**{"apns-expiration": "-1"}), b'{"mdm":"m"}', 400, "BadExpirationDate"),
        ("POST", "/3/device/" + TOKEN, default_headers(**{"apns-expiration": "9" * 20}), b'{"mdm":"m"}', 400, "BadExpirationDate"),
        ("POST", "/3/device/" + TOKEN, default_headers(**{"apns-id": "not-a-uuid"}), b'{"mdm":"m"}', 400, "BadMessageId"),
        ("POST", "/3/device/" + TOKEN, default_headers(**{"apns-priority": "7"}), b'{"mdm":"m"}', 400, "BadPriority"),
        ("POST", "/3/device/" + TOKEN, default_headers(**{"apns-collapse-id": "c" * 65}), b'{"mdm":"m"}', 400, "BadCollapseId"),
        ("POST", "/3/device/" + TOKEN, default_headers(), b"", 400, "PayloadEmpty"),
        ("POST", "/3/device/" + TOKEN, default_headers(), b'{"mdm":', 400, "BadPayload"),
        ("POST", "/3/device/" + TOKEN, default_headers(), b'["mdm"]', 400, "BadPayload"),
        ("POST", "/3/device/" + TOKEN, default_headers(), b'{"mdm":42}', 400, "BadPayload"),
        ("POST", "/3/device/" + TOKEN, default_headers(), b'{"aps":{}}', 400, "BadPayload"),
        ("POST", "/3/device/" + TOKEN, default_headers(), b'{"mdm":"a","mdm":"b"}', 400, "BadPayload"),
        ("POST", "/3/device/" + TOKEN, default_headers(), b'{"mdm":"a\\u0000b"}', 400, "BadPayload"),
        ("POST", "/3/device/" + TOKEN, default_headers(), b'{"mdm":"\xff\xfe"}', 400, "BadPayload"),
        ("POST", "/3/device/" + TOKEN, default_headers(), long_body + b"  ", 413, "PayloadTooLarge"),
        ("POST", "/3/device/" + TOKEN, default_headers(), b"x" * (1 << 20), 413, "PayloadTooLarge"),
        ("POST", "/3/device/" + TOKEN, default_headers() + ["apns-topic: " + TOPIC], b'{"mdm":"m"}', 400, "DuplicateHeaders"),
    ]
    for method, path, headers, body, want_st, want_reason in cases:
        st, h, b = curl(s.url, path, pki, headers=headers, body=body, method=method)
        what = "%s %s (%s)" % (method, path[:40], want_reason)
        check(st == want_st, "%s answers %s, got %s" % (what, want_st, st))
        check(reason(b) == want_reason, "%s reason %r, got %r" % (what, want_reason, b[:80]))
        check(UUID_RE.match(h.get("apns-id", "")), "%s carries an apns-id" % what)


ON_DEMAND = [(400, "BadDeviceToken"), (403, "BadCertificate"), (410, "Unregistered"),
             (413, "PayloadTooLarge"), (429, "TooManyRequests"), (500, "InternalServerError"),
             (503, "ServiceUnavailable")]


def test_on_demand(s, pki, rec):
    for status, why in ON_DEMAND:
        s.control("fail %s %d %s 1" % (TOKEN, status, why))
        s.stats()
        st, _, b = curl(s.url, "/3/device/" + TOKEN, pki)
        check(st == status and reason(b) == why, "on demand %d %s, got %s %r" % (status, why, st, b))
        if status == 410:
            ts = json.loads(b).get("timestamp")
            check(isinstance(ts, int) and abs(ts / 1000 - time.time()) < 60,
                  "410 carries a timestamp in ms: %r" % b)
        last = records(rec)[-1]
        check(last["status"] == status and last["reason"] == why, "the record shows %d %s" % (status, why))
        st, _, _ = curl(s.url, "/3/device/" + TOKEN, pki)
        check(st == 200, "a count of 1 is spent after one answer (%s), got %s" % (why, st))
    # A rule for one token leaves another alone; "*" forever until clear.
    s.control("fail %s 410 Unregistered" % OTHER)
    s.stats()
    for _ in range(3):
        st, _, _ = curl(s.url, "/3/device/" + OTHER, pki)
        check(st == 410, "a rule without count stays, got %s" % st)
    st, _, _ = curl(s.url, "/3/device/" + TOKEN, pki)
    check(st == 200, "another token's rule does not touch this one, got %s" % st)
    s.control("fail * 503 ServiceUnavailable 2")
    s.stats()
    st1 = curl(s.url, "/3/device/" + TOKEN, pki)[0]
    st2 = curl(s.url, "/3/device/" + OTHER, pki)[0]  # its own rule comes first
    st3 = curl(s.url, "/3/device/" + TOKEN, pki)[0]
    st4 = curl(s.url, "/3/device/" + TOKEN, pki)[0]
    check((st1, st2, st3, st4) == (503, 410, 503, 200), "'*' counts down, a token's own rule first: %r"
          % ((st1, st2, st3, st4),))
    # A request that is wrong is judged before any rule.
    s.control("fail * 500 InternalServerError")
    s.stats()
    st, _, b = curl(s.url, "/3/device/" + TOKEN, pki, headers=default_headers(**{"apns-push-type": "x"}))
    check(st == 400 and reason(b) == "InvalidPushType", "a bad request's own error comes first")
    s.control("clear")
    s.stats()
    st, _, _ = curl(s.url, "/3/device/" + OTHER, pki)
    check(st == 200, "clear drops every rule, got %s" % st)
    # Control lines it cannot read change nothing and do not stop it.
    for junk in ("fail", "fail %s 200 Fine" % TOKEN, "fail %s 410 Un\"registered" % TOKEN,
                 "fail %s 410 Unregistered 0" % TOKEN, "fail %s 410 Unregistered x" % TOKEN,
                 "fail %s 410 Unregistered 1 2" % TOKEN, "bogus", "x" * 3000):
        s.control(junk)
    s.stats()
    st, _, _ = curl(s.url, "/3/device/" + TOKEN, pki)
    check(st == 200, "unreadable control lines add no rule, got %s" % st)


def test_client_certificates(s, pki, binary, d):
    for cert, what in ((None, "no client certificate"), ("stranger", "an unrelated certificate"),
                       ("selfsigned", "a self-signed certificate not given as the CA")):
        st, _, _ = curl(s.url, "/3/device/" + TOKEN, pki, cert=cert)
        check(st is None, "%s fails the handshake, got %s" % (what, st))
    # A self-signed certificate given as --client-ca verifies (partial chain).
    b = Standin(binary, "--cert", pki("server.pem"), "--key", pki("server.key"),
                "--client-ca", pki("selfsigned.pem"))
    st, _, _ = curl(b.url, "/3/device/" + TOKEN, pki, cert="selfsigned")
    check(st == 200, "a self-signed --client-ca verifies its own certificate, got %s" % st)
    st, _, _ = curl(b.url, "/3/device/" + TOKEN, pki, cert="client")
    check(st is None, "... and only it, got %s" % st)
    rc, out, _ = b.stop()
    check(rc == 0 and out.strip().endswith("pushes 1 connections 1"), "B's summary: %r" % out)
    # --client-cert-optional: asks, does not require; no --topic: any topic.
    c = Standin(binary, "--cert", pki("server.pem"), "--key", pki("server.key"),
                "--client-ca", pki("ca.pem"), "--client-cert-optional")
    st, _, _ = curl(c.url, "/3/device/" + TOKEN, pki, cert=None,
                    headers=default_headers(**{"apns-topic": "com.example.any"}))
    check(st == 200, "--client-cert-optional serves a client without one, got %s" % st)
    st, _, _ = curl(c.url, "/3/device/" + TOKEN, pki, cert="stranger")
    check(st is None, "... but still refuses a certificate that does not verify, got %s" % st)
    c.stop()


def test_nghttp(s, pki, rec):
    """nghttp multiplexes several POSTs on one connection."""
    body = os.path.join(os.path.dirname(rec), "nghttp-body.json")
    with open(body, "w") as f:
        f.write('{"mdm":"from-nghttp"}')
    before = len(records(rec))
    urls = [s.url + "/3/device/" + ("%02x" % i) * 32 for i in range(20)]
    cmd = ["nghttp", "-n", "--stat", "-d", body, "--cert", pki("client.pem"), "--key", pki("client.key"),
           "-H", "apns-topic: " + TOPIC, "-H", "apns-push-type: mdm", *urls]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "nghttp ran: %s" % r.stderr[-300:])
    new = records(rec)[before:]
    check(len(new) == 20, "nghttp's 20 pushes are recorded, got %d" % len(new))
    check(all(n["status"] == 200 and n["mdm"] == "from-nghttp" for n in new), "all 200 with the payload")
    check(len({n["connection"] for n in new}) == 1, "on one connection")
    check(sorted(n["token"] for n in new) == sorted(u.rsplit("/", 1)[1] for u in urls), "every token once")


def tls_socket(port, pki, alpn):
    ctx = ssl.create_default_context(cafile=pki("server.pem"))
    ctx.load_cert_chain(pki("client.pem"), pki("client.key"))
    if alpn:
        ctx.set_alpn_protocols(alpn)
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def read_until_closed(sock, limit=5.0):
    end = time.time() + limit
    data = b""
    try:
        while time.time() < end:
            chunk = sock.recv(65536)
            if not chunk:
                return data, True
            data += chunk
    except socket.timeout:  # still open: the peer said nothing more
        return data, False
    except (ssl.SSLError, ConnectionError, OSError):
        return data, True
    return data, False


def test_hostile(s, pki):
    alive = lambda what: check(curl(s.url, "/3/device/" + TOKEN, pki)[0] == 200,
                               "the stand-in still serves after %s" % what)
    # Garbage instead of a TLS handshake.
    g = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    g.sendall(os.urandom(4096))
    _, closed = read_until_closed(g)
    check(closed, "garbage bytes get the connection closed")
    g.close()
    alive("garbage bytes")
    # HTTP/1.1 over TLS: offered only http/1.1 the handshake fails...
    try:
        tls_socket(s.port, pki, ["http/1.1"]).close()
        check(False, "ALPN http/1.1 alone is refused")
    except ssl.SSLError:
        pass
    # ... and without ALPN the HTTP/1.1 request is not an HTTP/2 preface.
    t = tls_socket(s.port, pki, None)
    t.sendall(b"POST /3/device/" + TOKEN.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
    data, closed = read_until_closed(t)
    check(closed and b"HTTP/1.1 200" not in data, "HTTP/1.1 over TLS is refused: %r" % data[:60])
    t.close()
    alive("an HTTP/1.1 client")
    # Half a frame, then leave: a preface, and a HEADERS frame cut short.
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
    half = b"\x00\x01\x00\x01\x05\x00\x00\x00\x01" + b"\x82" * 10  # claims 256 bytes
    for leave in ("close", "stay"):
        h = tls_socket(s.port, pki, ["h2"])
        h.sendall(preface + half)
        if leave == "close":
            h.close()
        alive("half a frame (%s)" % leave)
        if leave == "stay":
            h.close()
    # A frame far over the peer's max frame size, and a flood of random frames.
    h = tls_socket(s.port, pki, ["h2"])
    h.sendall(preface + b"\xff\xff\xff\x00\x00\x00\x00\x00\x01" + os.urandom(8192))
    _, closed = read_until_closed(h)
    check(closed, "an oversized frame ends the connection")
    h.close()
    h = tls_socket(s.port, pki, ["h2"])
    try:
        h.sendall(preface + os.urandom(65536))
    except (ssl.SSLError, OSError):
        pass
    read_until_closed(h, 2)
    h.close()
    alive("random frames")
    # Many connections at once that never finish their handshake.
    idle = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(50)]
    alive("50 idle connections")
    for i in idle:
        i.close()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_out_of_descriptors(binary, pki):
    """More connections than descriptors: no busy loop, and service resumes."""
    s = Standin(binary, "--cert", pki("server.pem"), "--key", pki("server.key"), nofile=24)
    held = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(40)]
    time.sleep(0.3)
    before = cpu_seconds(s.proc.pid)
    time.sleep(1.0)
    spent = cpu_seconds(s.proc.pid) - before
    check(spent < 0.05, "out of descriptors, the stand-in idles (%.2f s CPU in 1 s)" % spent)
    check("out of file descriptors" in s.stderr(), "it says it ran out of descriptors")
    for h in held:
        h.close()
    time.sleep(0.3)
    st = curl(s.url, "/3/device/" + TOKEN, pki, cert=None)[0]
    check(st == 200, "it accepts again once connections close, got %s" % st)
    rc, _, _ = s.stop()
    check(rc == 0, "and exits 0")


def test_handshake_timeout(binary, pki):
    """A client that connects and never speaks TLS is closed after the timeout."""
    s = Standin(binary, "--cert", pki("server.pem"), "--key", pki("server.key"),
                "--handshake-timeout", "1")
    quiet = socket.create_connection(("127.0.0.1", s.port), timeout=6)
    started = time.time()
    data, closed = read_until_closed(quiet, 6)
    waited = time.time() - started
    check(closed and data == b"" and 0.9 <= waited < 4,
          "a silent client is closed after about 1 s (closed=%s after %.1f s)" % (closed, waited))
    quiet.close()
    st = curl(s.url, "/3/device/" + TOKEN, pki, cert=None)[0]
    check(st == 200, "a client that does finish its handshake is served, got %s" % st)
    s.stop()
    for bad in ("0", "-1", "x", "4000"):
        r = subprocess.run([binary, "--cert", pki("server.pem"), "--key", pki("server.key"),
                            "--handshake-timeout", bad], capture_output=True, timeout=10)
        check(r.returncode == 2, "--handshake-timeout %s is refused (exit %s)" % (bad, r.returncode))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--standin", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="apns-standin-") as d:
        pki = make_pki(d)
        rec = os.path.join(d, "record.jsonl")
        s = Standin(args.standin, "--cert", pki("server.pem"), "--key", pki("server.key"),
                    "--client-ca", pki("ca.pem"), "--topic", TOPIC, "--record", rec,
                    "--max-streams", "100")
        try:
            for name, fn in (("success", lambda: test_success(s, pki, rec)),
                             ("refusals", lambda: test_refusals(s, pki)),
                             ("on_demand", lambda: test_on_demand(s, pki, rec)),
                             ("client_certificates", lambda: test_client_certificates(s, pki, args.standin, d)),
                             ("nghttp", lambda: test_nghttp(s, pki, rec)),
                             ("hostile", lambda: test_hostile(s, pki)),
                             ("out_of_descriptors", lambda: test_out_of_descriptors(args.standin, pki)),
                             ("handshake_timeout", lambda: test_handshake_timeout(args.standin, pki))):
                before = len(failures)
                fn()
                print("%s: %s" % (name, "ok" if len(failures) == before else "FAILED"), flush=True)
            pushes, conns = s.stats()
            lines = records(rec)
            check(pushes == len(lines), "stats' pushes (%d) = record lines (%d)" % (pushes, len(lines)))
            check(conns >= 2, "stats counts connections (%d)" % conns)
        finally:
            rc, out, err = s.stop()
        check(rc == 0, "SIGTERM exits 0, got %s: %s" % (rc, err[-400:]))
        check(re.search(r"^pushes %d connections %d$" % (pushes, conns), out, re.M) is not None,
              "SIGTERM prints the summary: %r" % out[-200:])
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("apns_standin: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
