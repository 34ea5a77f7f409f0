#!/usr/bin/python3
"""The admin pages in a real browser (issue 14): headless Chromium from
Debian drives `orchard serve` (tests/support/browser). Sign-in through the
/login form, a wrong password, the login limit, sign-out; the session
cookie's attributes over http and https; the security headers; who may see
which page (403 without the page's data); forms posted from another origin
refused without effect; every page without horizontal overflow at phone
width; screenshots of each page at 1280x800 and 390x844 in BUILD/screenshots
(docs/ui.md shows them). Prints "N passed, M failed" last."""

import datetime
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support", "browser"))
sys.path.insert(0, HERE)
from browser import Browser  # noqa: E402
from serve_harness import DEV_TOPIC, loop_main, run_scenarios  # noqa: E402
from web_ui_env import USERS, Env, not_after, openssl  # noqa: E402

COOKIE = "orchard_session"
LOGIN_FORM = 'form[action="/login"]'
SETTINGS = "/settings/integrations/mdm"
UPDATES = "/controls/macos-updates"
PAGES = ("/hosts", UPDATES, SETTINGS)
UPDATES_FORM = 'form[method="post"][action="%s"]' % UPDATES
HOSTILE = "<script>alert(1)</script>"
# A deadline a month away: Nudge's window once a day until its last day.
DEADLINE = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()


# ---- helpers ------------------------------------------------------------------------------------

def sign_in(env, role, next_path=None):
    """Forget every cookie, sign in as `role` through the /login form; the
    status of the page it lands on."""
    b = env.b
    email, _, password = USERS[role]
    b.clear_cookies()
    url = env.base + "/login" + ("?next=" + next_path if next_path else "")
    assert b.open(url) == 200, (b.status, b.url)
    return b.submit_form(LOGIN_FORM, {"email": email, "password": password})


def session(env):
    """The session cookie WebDriver sees (HttpOnly included), or None."""
    got = [c for c in env.b.cookies() if c["name"] == COOKIE]
    return got[0] if got else None


def header(headers, name):
    values = [v for k, v in headers if k.lower() == name.lower()]
    return values[0] if values else None


def login_count(env):
    """How many sign-ins the activity log holds (every one is recorded)."""
    status, got = env.api("GET", "/activities?per_page=10000")
    assert status == 200, (status, got)
    return sum(1 for a in got["activities"] if a["type"] == "user_logged_in")


def no_overflow(b):
    """The page is no wider than the viewport (no sideways scrolling)."""
    widths = b.driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], (b.url, widths)


def shoot(env, name):
    """Screenshots of the page now open: NAME.png at 1280x800 and
    NAME-phone.png at 390x844, each checked for horizontal overflow. The
    viewport changes under the same document (laid out again, not loaded
    again), so a page a form post led to is shot as it is."""
    b = env.b
    assert b.screenshot(os.path.join(env.args.shots, name + ".png")) == (1280, 800)
    no_overflow(b)
    b.phone()
    try:
        assert b.driver.execute_script("return innerWidth") == 390
        no_overflow(b)
        assert b.screenshot(os.path.join(env.args.shots, name + "-phone.png")) == (390, 844)
    finally:
        b.desktop()


# ---- the scenarios ------------------------------------------------------------------------------

def test_setup(env):
    env.create_users()
    env.start()


def test_nobody_signed_in(env):
    b = env.b
    b.clear_cookies()
    for path in PAGES + ("/hosts/0000FE00-0000-0000-0000-000000000000",):
        assert b.open(env.base + path) == 200, (path, b.status)
        assert b.url.startswith(env.base + "/login?next="), (path, b.url)
        assert b.count(LOGIN_FORM) == 1, b.source()
    assert b.title.startswith("Sign in"), b.title
    # The bare address leads to the form too.
    assert b.open(env.base + "/") == 200 and b.url == env.base + "/login", b.url
    assert b.open(env.base + "/login") == 200
    shoot(env, "login")


def test_wrong_password(env):
    b = env.b
    email = USERS["admin"][0]
    b.clear_cookies()
    assert b.open(env.base + "/login") == 200
    status = b.submit_form(LOGIN_FORM, {"email": email, "password": "not-the-password-1!"})
    assert status == 401, status
    assert b.url == env.base + "/login", b.url
    assert "Wrong email or password" in b.text("#login-message"), b.text()
    # The email stays in the form; no session was made.
    assert b.driver.find_element("css selector", "#email").get_attribute("value") == email
    assert session(env) is None, b.cookies()
    shoot(env, "login-wrong-password")


def test_admin_signs_in(env):
    b = env.b
    assert sign_in(env, "admin") == 200, b.status
    # An admin lands on the MDM settings; the header names who is signed in.
    assert b.url == env.base + SETTINGS, b.url
    assert USERS["admin"][0] in b.text("header") and "admin" in b.text("header"), b.text("header")
    assert b.count('header a[href="%s"]' % SETTINGS) == 1, b.source()
    # A page asked for before signing in is where the form leads.
    assert sign_in(env, "admin", next_path="/hosts") == 200 and b.url == env.base + "/hosts", b.url
    # Signed in, /login itself moves on, and so does the bare address.
    assert b.open(env.base + "/login") == 200 and b.url == env.base + SETTINGS, b.url
    assert b.open(env.base + "/") == 200 and b.url == env.base + SETTINGS, b.url
    # A page's query survives the trip through the sign-in form.
    b.clear_cookies()
    assert b.open(env.base + "/hosts?page=1") == 200, b.status
    assert b.submit_form(LOGIN_FORM, {"email": USERS["admin"][0],
                                      "password": USERS["admin"][2]}) == 200, b.status
    assert b.url == env.base + "/hosts?page=1", b.url


def test_cookie_and_headers(env):
    b = env.b
    assert sign_in(env, "observer") == 200
    c = session(env)
    assert c, b.cookies()
    assert c["httpOnly"] is True and c["sameSite"] == "Strict" and c["secure"] is False, c
    assert c["path"] == "/", c
    # The page's own headers: no script may run, no frame may hold it.
    status, headers, _ = env.raw("GET", "/hosts", {"Cookie": "%s=%s" % (COOKIE, c["value"])})
    assert status == 200, status
    csp = header(headers, "Content-Security-Policy") or ""
    assert "default-src 'none'" in csp and "script-src" not in csp, csp
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp, csp
    assert header(headers, "X-Content-Type-Options") == "nosniff", headers
    assert header(headers, "Cache-Control") == "no-store", headers
    assert header(headers, "Referrer-Policy") == "same-origin", headers
    assert header(headers, "X-Frame-Options") == "DENY", headers


def test_login_limit(env):
    b = env.b
    b.clear_cookies()
    assert b.open(env.base + "/login") == 200
    email = "nobody.here@example.com"    # the per-email limit: 5 failures a minute
    statuses = [b.submit_form(LOGIN_FORM, {"email": email, "password": "Wrong-pass-%d!" % i})
                for i in range(6)]
    assert statuses == [401] * 5 + [429], statuses
    msg = b.text("#login-message")
    assert msg.startswith("Too many failed sign-ins. Try again in ") and "second" in msg, msg
    assert b.count(LOGIN_FORM) == 1, b.source()   # the form again, not an error page
    shoot(env, "login-limit")


def test_roles_refused_settings(env):
    b = env.b
    serial = openssl("x509", "-in", os.path.join(env.dev, "apns-dev-standin.crt"), "-noout",
                     "-serial").strip().split("=", 1)[1]
    for role in ("maintainer", "observer"):
        assert sign_in(env, role) == 200, (role, b.status)
        assert b.url == env.base + "/hosts", (role, b.url)
        assert b.count('a[href="%s"]' % SETTINGS) == 0, (role, b.source())
        assert b.open(env.base + SETTINGS) == 403, (role, b.status)
        assert "do not have access" in b.text(), (role, b.text())
        page = b.source()
        for secret in (DEV_TOPIC, serial, serial.lower(), "orchard development"):
            assert secret not in page, (role, secret)
        if role == "observer":
            shoot(env, "settings-403")


def test_other_origin_refused(env):
    b = env.b
    assert sign_in(env, "admin") == 200
    before = env.macos_updates()
    logins = login_count(env)
    for path, fields in ((UPDATES, {"minimum_version": "15.1", "deadline": "2031-01-31"}),
                         ("/logout", {}),
                         ("/login", {"email": USERS["admin"][0], "password": USERS["admin"][2]})):
        status = b.post_from_other_origin(env.base + path, fields)
        assert status == 403, (path, status, b.text())
        assert "another site or origin" in b.text(), (path, b.text())
    assert env.macos_updates() == before, (env.macos_updates(), before)
    assert login_count(env) == logins, "a sign-in from another origin was accepted"
    # The admin is still signed in: /logout from there did nothing.
    assert b.open(env.base + "/hosts") == 200 and b.url == env.base + "/hosts", b.url
    # A post without any Origin (not a browser's) is refused as well.
    cookie = {"Cookie": "%s=%s" % (COOKIE, session(env)["value"])}
    status, _, _ = env.raw("POST", "/logout", cookie, fields={})
    assert status == 403, status
    assert b.open(env.base + "/hosts") == 200 and b.url == env.base + "/hosts", b.url


def test_hostile_values(env):
    b = env.b
    b.clear_cookies()
    hostile = "<script>alert(1)</script>"
    # The next path is shown back in the form: as text, never as markup.
    assert b.open(env.base + "/login?next=/hosts%22%3E" + hostile.replace("<", "%3C")) == 200
    assert b.count("script") == 0, b.source()
    # A next that leaves the site is ignored: by the sign-in form, and by
    # /login when someone is signed in already.
    assert sign_in(env, "admin", next_path="//evil.example/x") == 200, b.status
    assert b.url == env.base + SETTINGS, b.url
    for bad in ("https://evil.example/", "/\\evil.example", "javascript:x", "/%0d%0aX:y"):
        assert b.open(env.base + "/login?next=" + bad) == 200, (bad, b.status)
        assert b.url == env.base + SETTINGS, (bad, b.url)
    # Unknown and hostile host paths: an answer, no markup from the path.
    for path in ("/hosts/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "/hosts/" + "A" * 5000,
                 "/hosts/..%2F..%2Fetc%2Fpasswd"):
        status = b.open(env.base + path)
        assert status in (400, 404, 414), (path[:60], status)
        assert b.count("script") == 0, b.source()


def test_sign_out(env):
    b = env.b
    assert sign_in(env, "maintainer") == 200
    old = session(env)["value"]
    status = b.submit_form("form.who")
    assert status == 200 and b.url == env.base + "/login?signed_out=1", (status, b.url)
    assert "You are signed out" in b.text(), b.text()
    assert session(env) is None, b.cookies()
    assert b.open(env.base + "/hosts") == 200 and b.url.startswith(env.base + "/login"), b.url
    # The old session is over on the server too, not only forgotten.
    status, headers, _ = env.raw("GET", "/hosts", {"Cookie": "%s=%s" % (COOKIE, old)})
    assert status == 303 and header(headers, "Location").startswith("/login"), (status, headers)


def test_https_restart(env):
    """serve again over https (a throwaway certificate) with an APNs
    certificate that expires in 10 days."""
    cert, key = env.tls_pair()
    env.tls_cert = cert
    env.apns_10d = env.apns_cert(10)
    env.restart(ORCHARD_SERVER_TLS_CERT=cert, ORCHARD_SERVER_TLS_KEY=key,
                ORCHARD_MDM_APPLE_APNS_CERT=env.apns_10d)
    env.scheme = "https"
    # The certificate is the test's own: the browser takes it as it is.
    env.b.driver.execute_cdp_cmd("Security.setIgnoreCertificateErrors", {"ignore": True})
    status, got = env.api("GET", "/mdm/apple")
    assert status == 200 and got["status"] == "expiring" and got["days_left"] in (9, 10), got


def test_https_cookie_secure(env):
    b = env.b
    assert sign_in(env, "admin") == 200 and b.url == env.base + SETTINGS, (b.status, b.url)
    c = session(env)
    assert c and c["secure"] is True and c["httpOnly"] is True and c["sameSite"] == "Strict", c
    # The header itself, as any client reads it (and the sign-out's too).
    email, _, password = USERS["observer"]
    status, headers, _ = env.raw("POST", "/login", {"Origin": env.base},
                                 fields={"email": email, "password": password})
    cookie = header(headers, "Set-Cookie") or ""
    assert status == 303, (status, headers)
    for part in ("HttpOnly", "SameSite=Strict", "Secure", "Path=/"):
        assert "; " + part in cookie, (part, cookie)
    # Over https the Origin must be https: the same host over http is another origin.
    status, _, _ = env.raw("POST", "/login", {"Origin": "http://127.0.0.1:%d" % env.port},
                           fields={"email": email, "password": password})
    assert status == 403, status


def test_data(env):
    """A team whose name is markup, two Macs: Mac 0 on macOS 13.6 in that
    team, Mac 1 on the simulator's default version in no team."""
    status, got = env.api("POST", "/teams", {"name": HOSTILE})
    assert status == 200, (status, got)
    env.team = got["team"]["id"]
    env.udids = [env.enroll(0, "--os-version", "13.6"), env.enroll(1)]
    status, got = env.api("POST", "/hosts/transfer", {"team_id": env.team,
                                                      "hosts": [env.udids[0]]})
    assert status == 200, (status, got)
    # The Macs answer what the server queued at enrollment (DeviceInformation).
    env.mac_sim("poll", "--state", env.macs, "--until-empty", "--max-sessions", "20")


def test_apns_section(env):
    b = env.b
    cert = os.path.join(env.dev, "apns-dev-standin.crt")
    assert sign_in(env, "admin") == 200 and b.url == env.base + SETTINGS, b.url
    check_apns(env, cert)
    assert b.count("#apns-expiring") == 0 and b.count("#apns-expired") == 0, b.text("#apns")
    assert b.text("#apns-status").startswith("On"), b.text("#apns-status")
    # The renewal steps: the same email and organization as dev/'s CSR.
    command = b.text("#apns-renew-command")
    assert command.startswith("orchard generate mdm-apple"), command
    assert "dev@orchard.invalid" in command and "orchard development" in command, command
    assert DEV_TOPIC in b.text("#apns-renew-steps"), b.text("#apns-renew-steps")


def check_apns(env, cert):
    """The APNs section names `cert`: its serial, topic and renew date (its
    notAfter as openssl reads it), the same as the API's description."""
    b = env.b
    end = not_after(cert)
    serial = openssl("x509", "-in", cert, "-noout", "-serial").strip().split("=", 1)[1]
    status, desc = env.api("GET", "/mdm/apple")
    assert status == 200, (status, desc)
    assert b.text("#apns-topic") == DEV_TOPIC, b.text("#apns-topic")
    shown = b.text("#apns-serial")
    assert shown == desc["serial_number"], (shown, desc)
    assert int(shown) == int(serial, 16), (shown, serial)     # decimal, as Fleet shows it
    when = b.driver.find_element("css selector", "#apns-renew time")
    assert when.get_attribute("datetime") == desc["renew_date"], (when.get_attribute("datetime"),
                                                                 desc)
    assert desc["renew_date"].startswith(end.strftime("%Y-%m-%dT%H:%M:%S")), (desc, end)
    words = "%s %d, %d" % (end.strftime("%B"), end.day, end.year)
    assert when.text == words, (when.text, words)
    return end


def test_updates_admin_saves(env):
    b = env.b
    assert sign_in(env, "admin") == 200
    assert b.open(env.base + UPDATES) == 200, b.status
    # The team picker shows the team's name as text.
    assert HOSTILE in b.texts("#team option"), b.texts("#team option")
    assert b.count("script") == 0, b.source()
    status = b.submit_form(UPDATES_FORM, {"minimum_version": "14.4", "deadline": DEADLINE})
    assert status == 200 and b.url.startswith(env.base + UPDATES), (status, b.url)
    assert b.count("#saved") == 1, b.text()
    assert env.macos_updates() == {"minimum_version": "14.4", "deadline": DEADLINE}, \
        env.macos_updates()
    assert value(b, "#minimum_version") == "14.4" and value(b, "#deadline") == DEADLINE
    shoot(env, "macos-updates-saved")
    # Fleet's validation messages beside the fields; nothing saved.
    status = b.submit_form(UPDATES_FORM, {"minimum_version": HOSTILE, "deadline": DEADLINE})
    assert status in (400, 422), status
    assert "version numbers only" in b.text("#minimum_version-error"), b.text()
    assert value(b, "#minimum_version") == HOSTILE and b.count("script") == 0, b.source()
    status = b.submit_form(UPDATES_FORM, {"minimum_version": "14.4", "deadline": "31/12/2030"})
    assert status in (400, 422) and b.text("#deadline-error"), (status, b.text())
    shoot(env, "macos-updates-invalid")
    assert env.macos_updates() == {"minimum_version": "14.4", "deadline": DEADLINE}
    # Over the form limit: refused before any field is read.
    cookie = {"Cookie": "%s=%s" % (COOKIE, session(env)["value"]), "Origin": env.base}
    status, _, _ = env.raw("POST", UPDATES, cookie,
                           fields={"minimum_version": "1" * 70000, "deadline": DEADLINE})
    assert status == 413, status
    assert env.macos_updates() == {"minimum_version": "14.4", "deadline": DEADLINE}


def value(b, css):
    return b.driver.find_element("css selector", css).get_attribute("value")


def test_updates_maintainer_saves_team(env):
    b = env.b
    assert sign_in(env, "maintainer") == 200
    assert b.open(env.base + UPDATES) == 200, b.status
    # The team picker is a GET form: pick the team whose name is markup.
    assert b.submit_form('form[method="get"]', {"team": env.team}) == 200, b.status
    assert HOSTILE in b.text("main"), b.text("main")
    assert b.count("script") == 0, b.source()
    status = b.submit_form(UPDATES_FORM, {"minimum_version": "14.2", "deadline": DEADLINE})
    assert status == 200 and b.count("#saved") == 1, (status, b.text())
    assert env.macos_updates(env.team) == {"minimum_version": "14.2", "deadline": DEADLINE}
    # The global setting is the admin's, untouched.
    assert env.macos_updates() == {"minimum_version": "14.4", "deadline": DEADLINE}
    # The team's one Mac is on 13.6: below the minimum (or its version not known yet).
    assert b.text("#macs-total") == "1", b.text("main")
    assert b.text("#macs-below") == "1", b.text("main")
    # The preview: a timeline of 24 hours for each day it describes.
    days = b.count("#preview .day-words")
    assert days >= 1 and b.count("#preview .timeline .hour") == 24 * days, b.text("#preview")
    assert "once a day" in b.text("#preview"), b.text("#preview")
    shoot(env, "macos-updates-team")


def test_updates_observer_read_only(env):
    b = env.b
    assert sign_in(env, "observer") == 200
    assert b.open(env.base + UPDATES) == 200, b.status
    assert value(b, "#minimum_version") == "14.4", value(b, "#minimum_version")
    for css in ("#minimum_version", "#deadline"):
        assert b.driver.find_element("css selector", css).get_attribute("disabled"), css
    assert b.count(UPDATES_FORM + " button[type=submit]") == 0, b.source()
    assert b.count("#read-only") == 1, b.text()
    shoot(env, "macos-updates-observer")
    # Even from this origin, an observer's post is refused and changes nothing.
    headers = {"Cookie": "%s=%s" % (COOKIE, session(env)["value"]), "Origin": env.base}
    status, _, _ = env.raw("POST", UPDATES, headers,
                           fields={"minimum_version": "15.0", "deadline": DEADLINE})
    assert status == 403, status
    assert env.macos_updates() == {"minimum_version": "14.4", "deadline": DEADLINE}


def test_hosts(env):
    b = env.b
    assert sign_in(env, "observer") == 200 and b.url == env.base + "/hosts", b.url
    assert b.count("#hosts tbody tr") == 2, b.text("main")
    teams = b.texts('#hosts td[data-label="Team"]')
    assert sorted(teams) == sorted([HOSTILE, "No team"]), teams
    assert b.count("script") == 0, b.source()
    # The Mac in the team: its page from the list's link.
    link = b.driver.find_element("css selector", 'a[href="/hosts/%s"]' % env.udids[0])
    link.click()
    b._wait("the host's page", lambda: b.url == env.base + "/hosts/" + env.udids[0])
    assert "13.6" in b.text("main") and HOSTILE in b.text("main"), b.text("main")
    assert b.count("script") == 0, b.source()
    assert b.open(env.base + "/hosts/0000FE00-0000-0000-0000-000000000000") == 404, b.status


def test_pages_screenshots(env):
    """Every page an admin sees, at 1280x800 and at phone width."""
    assert sign_in(env, "admin") == 200
    for path, name in ((SETTINGS, "mdm-settings"), (UPDATES, "macos-updates"),
                       ("/hosts", "hosts"), ("/hosts/" + env.udids[0], "host")):
        assert env.b.open(env.base + path) == 200, (path, env.b.status)
        shoot(env, name)


def test_apns_expiring(env):
    b = env.b
    assert sign_in(env, "admin") == 200 and b.url == env.base + SETTINGS, b.url
    end = check_apns(env, env.apns_10d)
    banner = b.text("#apns-expiring")
    words = "%s %d, %d" % (end.strftime("%B"), end.day, end.year)
    assert "expires on " + words in banner, banner
    assert "9 days left" in banner or "10 days left" in banner, banner
    assert "web_ui 10-day APNs stand-in" in b.text("#apns-cn"), b.text("#apns-cn")
    shoot(env, "mdm-settings-expiring")


SCENARIOS = [
    ("three users; serve with the APNs stand-in", test_setup),
    ("a team named with markup; two Macs, one on 13.6 in that team", test_data),
    ("nobody signed in: every page leads to the /login form", test_nobody_signed_in),
    ("a wrong password: the message on the login page, no session", test_wrong_password),
    ("an admin signs in through the form and lands on a page", test_admin_signs_in),
    ("the session cookie is HttpOnly, SameSite=Strict; the security headers",
     test_cookie_and_headers),
    ("the login limit is a message on the login page (429)", test_login_limit),
    ("a maintainer and an observer get 403 on the MDM settings, without its data",
     test_roles_refused_settings),
    ("the admin sees the APNs section: its renew date is the certificate's notAfter",
     test_apns_section),
    ("the admin saves the global macOS update setting; the API reads it back; Fleet's "
     "messages beside the fields", test_updates_admin_saves),
    ("a maintainer saves a team's setting, picked by a name shown as text",
     test_updates_maintainer_saves_team),
    ("an observer sees the setting read-only; its post is refused",
     test_updates_observer_read_only),
    ("observers see the hosts and a host's page; the team name is text", test_hosts),
    ("forms posted from another origin are refused (403) and change nothing",
     test_other_origin_refused),
    ("hostile next and host path values are shown as text or refused", test_hostile_values),
    ("sign out: the cookie is gone, the session ended, pages lead to /login", test_sign_out),
    ("every page at 1280x800 and phone width, no horizontal overflow", test_pages_screenshots),
    ("serve again over https, with an APNs certificate that expires in 10 days",
     test_https_restart),
    ("over https the session cookie is Secure as well", test_https_cookie_secure),
    ("the certificate that expires in 10 days shows the warning banner", test_apns_expiring),
]


def timed(fn):
    """fn, saying how long it took (the whole test should stay well under 2 minutes)."""
    def run(env):
        t0 = time.monotonic()
        try:
            fn(env)
        finally:
            print("  %.1f s" % (time.monotonic() - t0), flush=True)
    return run


def run(args):
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="orchard-web-ui-")
    passed = failed = 0
    env = None
    try:
        env = Env(args, tmp)
        with Browser() as b:
            env.b = b
            print("chromium started in %.1f s" % (time.monotonic() - t0), flush=True)
            passed, failed = run_scenarios(env, [(name, timed(fn)) for name, fn in SCENARIOS],
                                           [env])
        left = b.leftovers()
        if left:
            failed += 1
            print("FAIL processes left after the browser closed: %r" % left)
        # SIGTERM's clean exit after all of it (under ASan: no report either).
        if env.server and env.server.alive():
            rc = env.server.stop()
            if rc != 0:
                failed += 1
                print("FAIL serve exited %r on SIGTERM:\n%s" % (rc, env.output()[-3000:]))
    finally:
        if env:
            env.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed in %.1f s" % (passed, failed, time.monotonic() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(loop_main(__doc__, run, lambda p: p.add_argument("--shots", required=True)))
