"""Headless Chromium for the tests of orchard's web pages: Debian's chromium
driven through chromedriver with python3-selenium (scripts/deps.sh installs
all three). A test opens pages of a local server, fills and submits forms,
reads text, the HTTP status of each page load and screenshots, posts a form
from another origin, and always ends with every process it started gone.

    from browser import Browser
    with Browser() as b:
        assert b.open(base + "/login") == 200
        status = b.submit_form("form#login", {"email": e, "password": p})
        b.screenshot(os.path.join(build, "login.png"))
"""

import html
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
except ImportError as e:  # say what to install rather than a bare traceback
    raise ImportError("tests/support/browser needs Debian's python3-selenium for /usr/bin/python3 "
                      "(run scripts/deps.sh): %s" % e) from e

# The browser itself rather than Debian's /usr/bin/chromium launcher, which
# adds flags of its own (extensions, remote extensions) and shell checks that
# vary with the machine; every flag the tests run with is listed here.
CHROMIUM = "/usr/lib/chromium/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

DESKTOP = (1280, 800)
PHONE = (390, 844)

STOP_WAIT_S = 10
POLL_S = 0.05

FLAGS = (
    "--headless=new",
    # Root (CI runs as root) cannot use Chromium's sandbox at all, and
    # containers often lack the user namespaces it needs otherwise; the
    # browser only ever loads pages of servers the test started.
    "--no-sandbox",
    # Containers give /dev/shm 64 MiB, which Chromium outgrows mid-page.
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    # A CI's http_proxy must not carry the tests' requests to local servers.
    "--no-proxy-server",
    "--window-size=%d,%d" % DESKTOP,
)


class BrowserError(Exception):
    """Chromium or chromedriver failed to start, navigate or stop."""


def png_size(path):
    """(width, height) of the PNG at path, read from its IHDR chunk;
    BrowserError when the file is not a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise BrowserError("%s is not a PNG" % path)
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


class Browser:
    """One headless Chromium with one tab, its profile and HOME in a fresh
    temporary folder. Use it as a context manager (or call close()): close()
    quits the browser, kills whatever is left of the process group
    chromedriver was started in and of the processes naming the temporary
    folder (Chromium's crash handlers leave the group), and waits until none
    remain. phone=True starts at PHONE's viewport instead of DESKTOP's."""

    def __init__(self, phone=False, timeout=15):
        self.timeout = timeout
        self.status = None          # HTTP status of the last page load, or None
        self.error = None           # open()'s network error, e.g. net::ERR_CONNECTION_REFUSED
        self.driver = None
        self._service = None
        self._pgid = None
        self._closed = False
        self._tmp = tempfile.mkdtemp(prefix="orchard-browser-")
        try:
            self._start()
            if phone:
                self.phone()
            else:
                self.desktop()
        except BaseException:
            try:
                self.close()
            except BrowserError:    # the start's failure is the one to report
                pass
            raise

    # ---- lifecycle -------------------------------------------------------------------------

    def _start(self):
        for path in (CHROMIUM, CHROMEDRIVER):
            if not os.access(path, os.X_OK):
                raise BrowserError("%s is missing: install chromium and chromium-driver "
                                   "(scripts/deps.sh)" % path)
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        opts.ignore_local_proxy_environment_variables()  # Selenium to chromedriver: local too
        for flag in FLAGS + ("--user-data-dir=" + os.path.join(self._tmp, "profile"),):
            opts.add_argument(flag)
        # Selenium has no HTTP status; chromedriver's performance log carries
        # the DevTools Network events, whose responseReceived has it.
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        opts.add_experimental_option("perfLoggingPrefs",
                                     {"enableNetwork": True, "enablePage": False})
        # HOME in the temporary folder keeps Chromium's caches and the crash
        # handler's database out of the real HOME, and names the folder in
        # the crash handlers' command lines, which is how close() finds them.
        env = dict(os.environ, HOME=self._tmp, XDG_CONFIG_HOME=os.path.join(self._tmp, ".config"),
                   XDG_CACHE_HOME=os.path.join(self._tmp, ".cache"))
        self._service = Service(CHROMEDRIVER, env=env, log_path=self.log_path,
                                popen_kw={"start_new_session": True})
        try:
            self.driver = webdriver.Chrome(service=self._service, options=opts)
        except WebDriverException as e:
            raise BrowserError("chromium did not start: %s\n--- chromedriver log (tail) ---\n%s"
                               "\n--- %s alone ---\n%s" % (e.msg, self.log_tail(1500), CHROMIUM,
                                                         self._alone(opts.arguments))) from e
        finally:
            if self._service.process is not None:
                self._pgid = self._service.process.pid
        self.driver.set_page_load_timeout(self.timeout)
        self.driver.set_script_timeout(self.timeout)

    def _alone(self, flags):
        """What Chromium itself says when started without chromedriver on
        the same flags: chromedriver's error names no cause."""
        try:
            out = subprocess.run([CHROMIUM, *flags, "--dump-dom", "about:blank"],
                                 capture_output=True, timeout=30,
                                 env=dict(os.environ, HOME=self._tmp), start_new_session=True)
            return "exit status %d\n%s" % (out.returncode, out.stderr[-2000:].decode(errors="replace"))
        except (OSError, subprocess.TimeoutExpired) as e:
            return str(e)

    @property
    def log_path(self):
        return os.path.join(self._tmp, "chromedriver.log")

    def log_tail(self, size=3000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-size:].decode(errors="replace")
        except OSError:
            return ""

    def leftovers(self):
        """Live (not zombie) processes this browser started: in chromedriver's
        process group, or naming the temporary folder. [(pid, command)]."""
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == os.getpid():
                continue
            try:
                with open("/proc/%s/stat" % name, "rb") as f:
                    stat = f.read()
                with open("/proc/%s/cmdline" % name, "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:         # gone meanwhile
                continue
            # After the command's closing parenthesis: state ppid pgrp ...
            fields = stat[stat.rfind(b")") + 2:].split()
            if fields[0] == b"Z":
                continue
            if int(fields[2]) == self._pgid or self._tmp in cmd:
                found.append((int(name), cmd[:200]))
        return found

    def close(self):
        """Stop the browser and everything it started, remove its temporary
        folder. Idempotent. BrowserError when a process outlives SIGKILL
        for STOP_WAIT_S."""
        if self._closed:
            return
        self._closed = True
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception:   # a dead driver still has processes to kill below
                pass
        elif self._service is not None and self._service.process is not None:
            self._service.stop()
        deadline = time.monotonic() + STOP_WAIT_S
        left = self.leftovers()
        while left and time.monotonic() < deadline:
            for pid, _ in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(POLL_S)
            left = self.leftovers()
        if self._service is not None and self._service.process is not None:
            try:
                self._service.process.wait(timeout=STOP_WAIT_S)
            except Exception:
                pass
        shutil.rmtree(self._tmp, ignore_errors=True)
        if left:
            raise BrowserError("processes outlived SIGKILL: %r" % left)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- viewport --------------------------------------------------------------------------

    def viewport(self, width, height, mobile=False):
        """The page's viewport (and so a screenshot's size) in CSS pixels at
        scale 1; mobile honours the page's <meta name=viewport>. A window
        size would not do: the window's frame takes part of it."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})

    def desktop(self):
        self.viewport(*DESKTOP)

    def phone(self):
        self.viewport(*PHONE, mobile=True)

    # ---- the HTTP status of page loads -------------------------------------------------------

    def _drain(self):
        """The performance log's entries since the last call (reading it
        empties chromedriver's buffer)."""
        return [json.loads(e["message"])["message"] for e in self.driver.get_log("performance")]

    def _main_frame(self):
        return self.driver.execute_cdp_cmd("Page.getFrameTree", {})["frameTree"]["frame"]["id"]

    def _settle(self, events):
        """Set self.status from the last document response of the top frame
        among events (None: no HTTP response, e.g. connection refused)."""
        frame = self._main_frame()
        self.status = None
        for m in events:
            p = m.get("params", {})
            if (m.get("method") == "Network.responseReceived" and p.get("type") == "Document"
                    and p.get("frameId") == frame):
                self.status = p["response"]["status"]
        return self.status

    def _wait(self, what, fn):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if fn():
                return
            time.sleep(POLL_S)
        raise BrowserError("timed out after %gs waiting for %s (at %s)"
                           % (self.timeout, what, self.driver.current_url))

    def _loaded(self):
        return self.driver.execute_script("return document.readyState") == "complete"

    # ---- pages -------------------------------------------------------------------------------

    def open(self, url):
        """Load url in the tab; its HTTP status (also in self.status), or
        None when no HTTP answer came (self.error names the network error,
        e.g. net::ERR_CONNECTION_REFUSED)."""
        self._drain()
        self.error = None
        try:
            self.driver.get(url)
        except WebDriverException as e:
            # chromedriver fails the navigation itself on a network error.
            m = re.search(r"net::ERR_[A-Z_]+", e.msg or "")
            if not m:
                raise
            self.error, self.status = m.group(0), None
            return None
        return self._settle(self._drain())

    def fill(self, form, fields):
        """Set the controls of the form matching CSS selector `form` by name:
        text-like inputs and textareas are cleared and typed into, a select
        picks the option with that value, a checkbox is set to bool(value),
        a radio group picks the button with that value."""
        f = self.driver.find_element(By.CSS_SELECTOR, form)
        for name, value in fields.items():
            els = f.find_elements(By.NAME, name)
            if not els:
                raise BrowserError("form %s has no control named %r" % (form, name))
            el = els[0]
            kind = (el.get_attribute("type") or "").lower()
            if el.tag_name == "select":
                Select(el).select_by_value(str(value))
            elif kind == "checkbox":
                if el.is_selected() != bool(value):
                    el.click()
            elif kind == "radio":
                match = [e for e in els if e.get_attribute("value") == str(value)]
                if not match:
                    raise BrowserError("radio %r has no value %r" % (name, value))
                match[0].click()
            else:
                el.clear()
                el.send_keys(str(value))
        return f

    def submit_form(self, form="form", fields=None, button=None):
        """Fill (see fill) and submit the form matching `form` by clicking its
        submit button (CSS selector `button` inside the form, else its first
        [type=submit], else requestSubmit()), wait for the next page to load;
        its HTTP status."""
        f = self.fill(form, fields or {})
        self._drain()
        old = self.driver.find_element(By.TAG_NAME, "html")
        buttons = f.find_elements(By.CSS_SELECTOR, button or "[type=submit]")
        if button and not buttons:
            raise BrowserError("form %s has no %s" % (form, button))
        if buttons:
            buttons[0].click()
        else:
            self.driver.execute_script("arguments[0].requestSubmit()", f)
        self._wait("the page after submitting %s" % form, lambda: self._stale(old))
        self._wait("the page to load", self._loaded)
        return self._settle(self._drain())

    def _stale(self, el):
        try:
            el.tag_name
            return False
        except WebDriverException:     # StaleElementReference: a new document
            return True

    def post_from_other_origin(self, url, fields, host="127.0.0.1"):
        """Load a page of a second local server, http://HOST:<its port>/, whose
        form posts `fields` to url as soon as it loads; wait for the answer
        to load; its HTTP status. With host 127.0.0.1 and url on 127.0.0.1
        the post is cross-origin but same-site (SameSite=Strict cookies are
        still sent, so only an Origin check can refuse it); with "localhost"
        it is cross-site as well (the browser withholds such cookies)."""
        with OtherOrigin(url, fields, host) as other:
            self._drain()
            self.driver.get(other.url)
            self._wait("the cross-origin post to %s" % url,
                       lambda: self.driver.current_url != other.url and self._loaded())
            return self._settle(self._drain())

    def text(self, css="body"):
        """The rendered text of the first element matching css."""
        return self.driver.find_element(By.CSS_SELECTOR, css).text

    def texts(self, css):
        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, css)]

    def count(self, css):
        return len(self.driver.find_elements(By.CSS_SELECTOR, css))

    @property
    def title(self):
        return self.driver.title

    @property
    def url(self):
        return self.driver.current_url

    def source(self):
        """The document as the browser serialises it now."""
        return self.driver.page_source

    def cookies(self):
        """The tab's cookies as WebDriver sees them (name, value, httpOnly,
        secure, sameSite, ...), HttpOnly ones included."""
        return self.driver.get_cookies()

    def clear_cookies(self):
        """Forget every cookie of every site (signing in as someone else
        without starting another browser)."""
        self.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})

    def screenshot(self, path):
        """The viewport as a PNG at path; its (width, height)."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if not self.driver.save_screenshot(path):
            raise BrowserError("no screenshot written to %s" % path)
        return png_size(path)


class OtherOrigin:
    """A second local server for one cross-origin post: GET / answers a page
    whose form posts fields to target the moment it loads."""

    def __init__(self, target, fields, host="127.0.0.1"):
        inputs = "".join('<input type="hidden" name="%s" value="%s">'
                         % (html.escape(k), html.escape(str(v))) for k, v in fields.items())
        body = ('<!doctype html><title>other origin</title>'
                '<form method="post" action="%s">%s</form>'
                '<script>document.forms[0].submit()</script>'
                % (html.escape(target), inputs)).encode()

        class Page(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.url = "http://%s:%d/" % (host, self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
        return False
