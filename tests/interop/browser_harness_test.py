#!/usr/bin/env python3
"""The headless-browser harness (tests/support/browser) proven in CI: Debian's
Chromium loads pages of a local http.server, reads text and HTTP statuses,
submits a form whose request arrives with its Cookie and Origin, takes
screenshots at 1280x800 and phone width, posts a form from another origin,
loads `orchard serve`'s GET /healthz, and leaves no process behind."""

import argparse
import html
import http.server
import os
import signal
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support", "browser"))
sys.path.insert(0, HERE)
import browser as browser_mod  # noqa: E402
from browser import Browser, BrowserError, png_size  # noqa: E402
from serve_harness import Instance, dev_setup, run_scenarios  # noqa: E402

SID = "s3cr3t-session"
# Shown escaped on /escaped and raw on /raw: the raw one runs and renames the
# page, which is what proves that /escaped's check could fail.
SCRIPT = '<script>document.title="ran"</script>'

FORM = """<!doctype html><title>form</title>
<form id="f" method="post" action="/guarded">
<input name="name"><select name="team"><option value="a">A</option><option value="b">B</option>
</select><input type="checkbox" name="agree"><button type="submit" name="go" value="1">Go</button>
</form>"""


# A phone lays a page out 980 px wide unless the page asks for its width.
PHONE_PAGE = ('<!doctype html><meta name="viewport" content="width=device-width">'
              '<title>phone</title><p>narrow</p>')


class Site:
    """The test's own web server on 127.0.0.1:0; records every POST as
    (path, headers, fields)."""

    def __init__(self):
        site = self
        self.posts = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def reply(self, status, body, headers=()):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/form":
                    self.reply(200, FORM, [("Set-Cookie", "sid=%s; Path=/; HttpOnly; "
                                            "SameSite=Strict" % SID)])
                elif self.path == "/forbidden":
                    self.reply(403, "<!doctype html><title>refused</title><p>no access</p>")
                elif self.path == "/redirect":
                    self.reply(303, "", [("Location", "/forbidden")])
                elif self.path == "/escaped":
                    self.reply(200, '<!doctype html><title>escaped</title><p id="v">%s</p>'
                               % html.escape(SCRIPT))
                elif self.path == "/phone":
                    self.reply(200, PHONE_PAGE)
                elif self.path == "/raw":
                    self.reply(200, '<!doctype html><title>raw</title><p id="v">%s</p>' % SCRIPT)
                else:
                    self.reply(404, "<!doctype html><p>not found</p>")

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                fields = urllib.parse.parse_qs(self.rfile.read(n).decode(), keep_blank_values=True)
                site.posts.append((self.path, dict(self.headers), fields))
                # An Origin check as a page's form handler would make one.
                if self.path == "/guarded" and self.headers.get("Origin") != site.base:
                    self.reply(403, '<!doctype html><p id="got">refused</p>')
                    return
                self.reply(200, '<!doctype html><title>received</title><p id="got">received %s</p>'
                           % html.escape(",".join(fields.get("name", []))))

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Env:
    def __init__(self, args, tmp, site, browser):
        self.args, self.tmp, self.site, self.b = args, tmp, site, browser


def test_text_and_escaping(env):
    b, base = env.b, env.site.base
    assert b.open(base + "/escaped") == 200, b.status
    assert b.text("#v") == SCRIPT, b.text("#v")
    assert b.count("script") == 0 and b.title == "escaped", (b.count("script"), b.title)
    # The control: the same value unescaped runs.
    assert b.open(base + "/raw") == 200
    assert b.count("#v script") == 1 and b.title == "ran", (b.count("#v script"), b.title)


def test_status(env):
    b, base = env.b, env.site.base
    assert b.open(base + "/forbidden") == 403, b.status
    assert b.text() == "no access", b.text()
    assert b.open(base + "/escaped") == 200, b.status
    assert b.open(base + "/nowhere") == 404, b.status
    # A redirect's status is the page's it ends on.
    assert b.open(base + "/redirect") == 403 and b.url == base + "/forbidden", (b.status, b.url)


def test_form_cookie_origin(env):
    b, site = env.b, env.site
    assert b.open(site.base + "/form") == 200, b.status
    sid = [c for c in b.cookies() if c["name"] == "sid"]
    assert sid and sid[0]["value"] == SID and sid[0]["httpOnly"] and sid[0]["sameSite"] == "Strict", \
        b.cookies()
    try:
        b.fill("#f", {"nonesuch": "x"})
    except BrowserError:
        pass
    else:
        raise AssertionError("fill accepted a control the form lacks")
    before = len(site.posts)
    status = b.submit_form("#f", {"name": "Ada <b>", "team": "b", "agree": True})
    assert status == 200 and b.text("#got") == "received Ada <b>", (status, b.source())
    assert len(site.posts) == before + 1, site.posts
    path, headers, fields = site.posts[-1]
    assert path == "/guarded", path     # from its own origin: past the check
    assert headers.get("Cookie") == "sid=" + SID, headers
    assert headers.get("Origin") == site.base, headers
    assert fields == {"name": ["Ada <b>"], "team": ["b"], "agree": ["on"], "go": ["1"]}, fields
    # Cookies forgotten: the next post carries none.
    assert b.open(site.base + "/form") == 200 and b.cookies()
    b.clear_cookies()
    assert b.cookies() == [], b.cookies()
    assert b.submit_form("#f", {"name": "anon"}) == 200
    assert "Cookie" not in site.posts[-1][1], site.posts[-1][1]


def test_cross_origin_post(env):
    b, site = env.b, env.site
    assert b.open(site.base + "/form") == 200     # the cookie is set
    status = b.post_from_other_origin(site.base + "/guarded", {"name": "evil"})
    assert status == 403 and b.url == site.base + "/guarded", (status, b.url)
    assert b.text("#got") == "refused", b.source()
    path, headers, fields = site.posts[-1]
    assert path == "/guarded", path
    origin = headers.get("Origin", "")
    assert origin.startswith("http://127.0.0.1:") and origin != site.base, headers
    assert fields == {"name": ["evil"]}, fields
    # Same site (the host alone counts), so SameSite=Strict still sends it.
    assert headers.get("Cookie") == "sid=" + SID, headers
    # Hostile values arrive exactly as given: the other origin's page escapes them.
    hostile = {"name": '"><script>alert(1)</script>', "q": "a'b&c=d\u00e9\n"}
    assert b.post_from_other_origin(site.base + "/guarded", hostile) == 403
    _, _, fields = site.posts[-1]
    assert fields == {k: [v.replace("\n", "\r\n")] for k, v in hostile.items()}, fields
    # From another site, the browser withholds it.
    status = b.post_from_other_origin(site.base + "/guarded", {"name": "evil2"}, host="localhost")
    _, headers, fields = site.posts[-1]
    assert status == 403 and fields == {"name": ["evil2"]}, (status, fields)
    assert headers.get("Origin", "").startswith("http://localhost:"), headers
    assert "Cookie" not in headers, headers


def test_screenshots(env):
    b, base = env.b, env.site.base
    assert b.open(base + "/form") == 200
    path = os.path.join(env.args.shots, "browser_harness_desktop.png")
    assert b.screenshot(path) == (1280, 800) == png_size(path), png_size(path)
    assert os.path.getsize(path) > 1000, os.path.getsize(path)
    b.phone()
    try:
        assert b.open(base + "/phone") == 200
        assert b.driver.execute_script("return innerWidth + 'x' + innerHeight") == "390x844"
        path = os.path.join(env.args.shots, "browser_harness_phone.png")
        assert b.screenshot(path) == (390, 844), png_size(path)
    finally:
        b.desktop()


def test_orchard_healthz(env):
    dev = os.path.join(env.tmp, "dev")
    config = dev_setup(env.args.dev_setup, env.args.orchard, dev)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHARD_", "FLEET_"))}
    serve = Instance("ui", env.args.orchard, config, base_env, env.tmp).start()
    b = env.b
    try:
        assert b.open(serve.base + "/healthz") == 200, (b.status, serve.output()[-2000:])
        assert '"status"' in b.text() and '"ok"' in b.text(), b.text()
        assert b.open(serve.base + "/healthz/nonesuch") == 404, b.status
    finally:
        rc = serve.server.stop()
    # SIGTERM's clean exit (under ASan, also no report on the way out).
    assert rc == 0, (rc, serve.output()[-3000:])
    # Nothing listens there now: no HTTP status at all.
    assert b.open(serve.base + "/healthz") is None, b.status
    assert b.error == "net::ERR_CONNECTION_REFUSED", b.error


def test_cleanup_after_dead_driver(env):
    """A browser whose chromedriver was killed outright still leaves no process
    and no folder behind once closed."""
    b = Browser(phone=True)
    try:
        assert b.open(env.site.base + "/phone") == 200, b.status
        assert b.driver.execute_script("return innerWidth + 'x' + innerHeight") == "390x844"
        assert b.leftovers(), "no processes seen for a running browser"
        tmp = b._tmp
        os.kill(b._pgid, signal.SIGKILL)
    finally:
        b.close()
    assert b.leftovers() == [] and not os.path.exists(tmp), (b.leftovers(), tmp)


def test_png_size(env):
    """png_size on a real screenshot and on files that are not PNGs."""
    good = os.path.join(env.tmp, "good.png")
    assert env.b.screenshot(good) == (1280, 800)
    with open(good, "rb") as f:
        head = f.read(64)
    big = head[:16] + (0xFFFFFFFF).to_bytes(4, "big") + (1).to_bytes(4, "big") + head[24:]
    cases = {"empty": b"", "truncated": head[:23], "jpeg": b"\xff\xd8\xff\xe0" + head[4:],
             "not IHDR first": head[:12] + b"IDAT" + head[16:], "text": b"<html>" * 10}
    for name, data in cases.items():
        path = os.path.join(env.tmp, "bad.png")
        with open(path, "wb") as f:
            f.write(data)
        try:
            png_size(path)
        except BrowserError:
            continue
        raise AssertionError("png_size accepted %s" % name)
    path = os.path.join(env.tmp, "big.png")
    with open(path, "wb") as f:
        f.write(big)
    assert png_size(path) == (0xFFFFFFFF, 1), png_size(path)   # read, never allocated


def test_start_failure(env):
    """A Chromium that cannot start: BrowserError with what Chromium itself
    said, and nothing left behind."""
    fake = os.path.join(env.tmp, "fake-chromium")
    with open(fake, "w") as f:
        f.write('#!/bin/sh\necho "fake chromium: libnss3.so: cannot open shared object" >&2\n'
                'exit 127\n')
    os.chmod(fake, 0o755)
    before = set(os.listdir(tempfile.gettempdir()))
    saved, browser_mod.CHROMIUM = browser_mod.CHROMIUM, fake
    try:
        Browser()
    except BrowserError as e:
        assert "libnss3.so: cannot open shared object" in str(e), str(e)
        assert "exit status 127" in str(e), str(e)
    else:
        raise AssertionError("a Chromium that exits at once started")
    finally:
        browser_mod.CHROMIUM = saved
    new = [d for d in set(os.listdir(tempfile.gettempdir())) - before
           if d.startswith("orchard-browser-")]
    assert new == [], new


SCENARIOS = [
    ("text and escaping", test_text_and_escaping),
    ("HTTP status of page loads", test_status),
    ("form submitted with its cookie and origin", test_form_cookie_origin),
    ("form posted from another origin", test_cross_origin_post),
    ("screenshots at 1280x800 and 390x844", test_screenshots),
    ("orchard serve's GET /healthz", test_orchard_healthz),
    ("cleanup after a dead driver", test_cleanup_after_dead_driver),
    ("png_size on hostile files", test_png_size),
    ("a Chromium that cannot start", test_start_failure),
]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orchard", required=True)
    p.add_argument("--dev-setup", required=True)
    p.add_argument("--shots", required=True, help="folder for the screenshots")
    args = p.parse_args()
    # A signal ends the test as an exception would, so finally: blocks stop
    # the browser and the servers.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    t0 = time.monotonic()
    site = Site()
    try:
        with tempfile.TemporaryDirectory(prefix="browser-harness-") as tmp:
            with Browser() as b:
                print("chromium started in %.1f s" % (time.monotonic() - t0), flush=True)
                passed, failed = run_scenarios(Env(args, tmp, site, b), SCENARIOS)
            left = b.leftovers()
            if left:
                failed += 1
                print("FAIL processes left after close: %r" % left)
    finally:
        site.stop()
    print("%d passed, %d failed in %.1f s" % (passed, failed, time.monotonic() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
