#!/usr/bin/env python3
"""The dep_sim ctest: drives tests/support/dep_sim (the Apple Business Manager
simulator) with Python's own HTTP client and an OAuth 1.0a signer written from
RFC 5849 (dep_sim/dep_sim.py): signatures accepted and refused, sessions that
expire and rotate, paging to the end, sync after changes, cursors that expire
or are forged, profiles defined and assigned, every control, hostile bodies,
the speed of a 1000-device page, and the token decrypting with orchard's own
abm_token code.

    dep_sim_test.py --dep-sim PATH --token-check PATH
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "dep_sim"))
from dep_sim import CREDENTIALS, DepSim, oauth_header, request  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, flush=True)
    return cond


def serial(seed, index):
    return "SIM%03X%06u" % (seed & 0xFFF, index % 1000000)


def raw_http(port, data):
    """Send bytes as they are; the status line's code, or 0 when none."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        # The server may answer and close before it read everything (a 431
        # for a huge header): sending then fails, and the answer still
        # counts (2026-12-06: ENOTCONN from shutdown failed a CI run).
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        reply = b""
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            reply += chunk
    m = re.match(rb"HTTP/1\.[01] (\d{3})", reply)
    return int(m.group(1)) if m else 0


# ---- OAuth ----------------------------------------------------------------


def test_oauth(sim):
    url = sim.url + "/session"

    def session_with(auth):
        return request(url, headers={"Authorization": auth} if auth is not None else {})

    r = session_with(oauth_header(url, CREDENTIALS))
    check(r.status == 200 and re.fullmatch(r"[0-9A-Za-z]{20,}", r.json()["auth_session_token"]),
          "a correct signature gets a session: %r" % r)
    for field in ("consumer_secret", "access_secret", "consumer_key", "access_token"):
        wrong = dict(CREDENTIALS, **{field: CREDENTIALS[field] + "x"})
        r = session_with(oauth_header(url, wrong))
        check(r.status == 401 and r.body == "UNAUTHORIZED", "wrong %s: 401 %r" % (field, r))
    now = int(time.time())
    for ts, what in ((now - 1000, "old"), (now + 1000, "future")):
        r = session_with(oauth_header(url, CREDENTIALS, timestamp=ts))
        check(r.status == 401, "an %s timestamp is refused: %r" % (what, r))
    r = session_with(oauth_header(url, CREDENTIALS, timestamp="12x"))
    check(r.status == 401, "a timestamp that is no number is refused")
    hdr = oauth_header(url, CREDENTIALS, nonce="nonce-once")
    check(session_with(hdr).status == 200, "a fresh nonce passes")
    check(session_with(hdr).status == 401, "the same nonce again is refused (replay)")
    other = sim.url + "/account"
    check(session_with(oauth_header(other, CREDENTIALS)).status == 401,
          "a signature for another URL is refused")
    wrong_host = "http://localhost:%d/session" % sim.port
    check(session_with(oauth_header(wrong_host, CREDENTIALS)).status == 401,
          "a signature for another host is refused")
    good = oauth_header(url, CREDENTIALS)
    hostile = [
        None, "", "Basic dXNlcjpwYXNz", "OAuth", "OAuth oauth_consumer_key=",
        'OAuth oauth_consumer_key="unterminated', 'OAuth a="%zz"', 'OAuth a="%4"',
        'OAuth a="%00"', "OAuth " + ", ".join('p%d="v"' % i for i in range(40)),
        good.replace("HMAC-SHA1", "PLAINTEXT"), good.replace('oauth_version="1.0"',
                                                             'oauth_version="2.0"'),
        good + ', oauth_token="' + CREDENTIALS["access_token"] + '"',  # repeated
        good + "x" * 5000,
        re.sub(r'oauth_signature="[^"]*"', 'oauth_signature=""', good),
        re.sub(r'oauth_nonce="[^"]*"', 'oauth_nonce=""', good),
        re.sub(r', oauth_timestamp="[^"]*"', "", good),
        good[:len(good) // 2], good[:-1], "OAuth " + "\xff" * 20,
    ]
    for h in hostile:
        r = session_with(h)
        check(r.status == 401, "hostile Authorization %r -> 401, got %d" % ((h or "")[:60], r.status))
    # Query parameters are part of the signature (RFC 5849 3.4.1.3).
    qurl = url + "?a=b%20c"
    r = request(qurl, headers={"Authorization": oauth_header(qurl, CREDENTIALS)})
    check(r.status == 200, "a signature covering the query passes: %r" % r)
    r = request(qurl, headers={"Authorization": oauth_header(url, CREDENTIALS)})
    check(r.status == 401, "a signature leaving out the query is refused")
    # An injected failure on /session comes before the signature check.
    sim.control("fail", {"endpoint": "session", "error": "T_C_NOT_SIGNED"})
    r = session_with(oauth_header(url, CREDENTIALS))
    check(r.status == 403 and r.body == "T_C_NOT_SIGNED", "T_C_NOT_SIGNED on /session: %r" % r)
    check(session_with(oauth_header(url, CREDENTIALS)).status == 200, "then a session again")


# ---- sessions -------------------------------------------------------------


def test_sessions(sim):
    s = sim.client()
    s.login()
    check(s.call("GET", "/account").status == 200, "a live session is served")
    acct = s.call("GET", "/account").json()
    check(acct.get("org_name") and acct.get("server_uuid") and acct.get("admin_id"),
          "/account has Apple's fields: %r" % acct)
    r = request(sim.url + "/account", headers={"X-Server-Protocol-Version": "3"})
    check(r.status == 401 and r.body == "UNAUTHORIZED", "no session: 401 UNAUTHORIZED")
    r = request(sim.url + "/account", headers={"X-Server-Protocol-Version": "3",
                                               "X-ADM-Auth-Session": "AAAAnot-a-session"})
    check(r.status == 401, "an unknown session: 401")
    r = s.call("GET", "/account", protocol=None)
    check(r.status == 400, "no X-Server-Protocol-Version: 400 (%r)" % r)
    # Expiry by the clock: the session lives --session-ttl (60 s here).
    sim.control("clock", {"advance": 61})
    check(s.call("GET", "/account").status == 401, "a session past its ttl: 401")
    sim.control("clock", {"offset": 0})
    s.login()
    check(s.call("GET", "/account").status == 200, "a new session after expiry works")
    sim.control("expire_sessions")
    check(s.call("GET", "/account").status == 401, "expire_sessions ends every session")
    # Rotation: the reply carries a new session and the old one ends.
    s.login()
    sim.control("rotate_session", {"count": 1})
    old = s.token
    r = s.call("GET", "/account")
    new = r.headers.get("X-ADM-Auth-Session")
    check(r.status == 200 and new and new != old, "a rotated reply carries a new session")
    r = request(sim.url + "/account", headers={"X-Server-Protocol-Version": "3",
                                               "X-ADM-Auth-Session": old})
    check(r.status == 401, "the replaced session is refused")
    r = s.call("GET", "/account")
    check(r.status == 200 and not r.headers.get("X-ADM-Auth-Session"),
          "the new session works; rotation was for one reply")


# ---- paging ---------------------------------------------------------------


def fetch_all(s, limit=1000, cursor=None):
    pages, devices = [], []
    while True:
        body = {"limit": limit}
        if cursor:
            body["cursor"] = cursor
        r = s.call("POST", "/server/devices", body)
        if not check(r.status == 200, "fetch page: %r" % r):
            return pages, devices, cursor
        j = r.json()
        pages.append(j)
        devices += j["devices"]
        cursor = j["cursor"]
        if not j["more_to_follow"]:
            return pages, devices, cursor


def test_paging(sim, seed, n):
    s = sim.client()
    pages, devices, cursor = fetch_all(s)
    sizes = [len(p["devices"]) for p in pages]
    check(sizes == [1000, 1000, 500], "2500 devices in pages of 1000: %r" % sizes)
    check([p["more_to_follow"] for p in pages] == [True, True, False], "more_to_follow flags")
    serials = [d["serial_number"] for d in devices]
    check(serials == [serial(seed, i) for i in range(n)], "mac_sim's serials, in order")
    d = devices[0]
    for k in ("serial_number", "model", "description", "color", "os", "device_family",
              "profile_status", "device_assigned_date", "device_assigned_by", "op_type",
              "op_date"):
        check(k in d, "a device has %s" % k)
    check(d["os"] == "OSX" and d["device_family"] == "Mac" and d["profile_status"] == "empty",
          "a Mac without a profile: %r" % d)
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", d["op_date"]), "Apple's date format")
    check(all(re.fullmatch(r"[0-9a-f]+", p["cursor"]) and len(p["cursor"]) <= 1000
              for p in pages), "cursors are hex of at most 1000 characters")
    r = s.call("POST", "/server/devices", {"cursor": cursor})
    check(r.status == 400 and r.body == "EXHAUSTED_CURSOR", "a done fetch: EXHAUSTED_CURSOR")
    r = s.call("POST", "/server/devices", {})
    check(r.status == 200 and len(r.json()["devices"]) == 100, "the default limit is 100")
    r = s.call("POST", "/server/devices", {"limit": 5000})
    check(r.status == 200 and len(r.json()["devices"]) == 1000, "a limit over 1000 is capped")
    r = s.call("POST", "/server/devices", {"limit": 3, "cursor": None})
    check(r.status == 200 and len(r.json()["devices"]) == 3, "a null cursor starts a fetch")
    for body in ({"limit": 0}, {"limit": -1}, {"limit": "10"}, {"limit": 1.5}, {"cursor": 7},
                 {"cursor": ["a"]}):
        r = s.call("POST", "/server/devices", body)
        check(r.status == 400 and r.body == "MALFORMED_REQUEST_BODY", "%r -> 400: %r" % (body, r))
    first = s.call("POST", "/server/devices", {"limit": 2}).json()["cursor"]
    tampered = first[:-1] + ("0" if first[-1] != "0" else "1")
    forged = first[:10] + ("3" if first[10] != "3" else "4") + first[11:]
    for c, what in ((tampered, "a tampered MAC"), (forged, "a forged payload"),
                    ("zz" * 20, "non-hex"), ("ab", "too short"), ("a" * 1002, "too long"),
                    ("abc", "odd length"), (first + "00", "extended"),
                    (first[:-2], "truncated"), (first[:len(first) // 2], "cut in half")):
        r = s.call("POST", "/server/devices", {"cursor": c})
        check(r.status == 400 and r.body == "INVALID_CURSOR", "%s cursor: %r" % (what, r))
    r = s.call("POST", "/devices/sync", {"cursor": "00" * 30})
    check(r.status == 400 and r.body == "INVALID_CURSOR", "garbage on sync: INVALID_CURSOR")
    r = s.call("POST", "/devices/sync", {})
    check(r.status == 400 and r.body == "INVALID_CURSOR", "sync without a cursor: INVALID_CURSOR")
    # Expiry: --cursor-ttl (7 days by default), and expire_cursors. The
    # session lives 30 days here (--session-ttl 30d), so it outlives the jump.
    sim.control("clock", {"advance": 7 * 86400 + 10})
    r = s.call("POST", "/devices/sync", {"cursor": cursor})
    check(r.status == 400 and r.body == "EXPIRED_CURSOR", "an 8-day-old cursor: EXPIRED_CURSOR")
    sim.control("clock", {"offset": 0})
    check(s.call("POST", "/devices/sync", {"cursor": cursor}).status == 200,
          "the same cursor within its ttl syncs")
    sim.control("expire_cursors")
    r = s.call("POST", "/devices/sync", {"cursor": cursor})
    check(r.status == 400 and r.body == "EXPIRED_CURSOR", "expire_cursors: EXPIRED_CURSOR")


def test_speed(binary, work):
    """bench/dep syncs 100,000 devices in 100 pages: time the simulator's pages."""
    with DepSim(binary, os.path.join(work, "speed"), devices=100000, seed=5) as sim:
        s = sim.client()
        times, cursor, count = [], None, 0
        for _ in range(100):
            body = {"limit": 1000}
            if cursor:
                body["cursor"] = cursor
            t0 = time.perf_counter()
            r = s.call("POST", "/server/devices", body)
            times.append(time.perf_counter() - t0)
            j = r.json()
            count += len(j["devices"])
            cursor = j["cursor"]
        times.sort()
        median = times[len(times) // 2]
        print("100 pages of 1000 devices: median %.1f ms, max %.1f ms, total %.2f s" %
              (median * 1000, times[-1] * 1000, sum(times)), flush=True)
        check(count == 100000 and not j["more_to_follow"], "100,000 devices in 100 pages")
        # Generous for a shared 2-core machine; a page is a few ms when idle.
        check(median < 0.1, "a page of 1000 devices in under 100 ms (median %.3f s)" % median)


# ---- sync -----------------------------------------------------------------


def test_sync(sim, seed):
    s = sim.client()
    _, devices, cursor = fetch_all(s, limit=1000)
    r = s.call("POST", "/devices/sync", {"cursor": cursor})
    check(r.status == 200 and r.json()["devices"] == [] and not r.json()["more_to_follow"],
          "nothing changed: an empty sync")
    added = sim.control("devices/add", {"count": 3})["added"]
    check(added == [serial(seed, i) for i in range(10, 13)], "added devices continue the index")
    explicit = sim.control("devices/add", {"devices": [{"serial_number": "C02XYZ123ABC",
                                                        "model": "Mac Pro"}]})
    check(explicit["added"] == ["C02XYZ123ABC"], "an explicit serial is added")
    dup = sim.control("devices/add", {"devices": [{"serial_number": "C02XYZ123ABC"}]})
    check(dup["added"] == [], "a serial already there is not added twice")
    sim.control("devices/modify", {"serials": [devices[0]["serial_number"]],
                                   "set": {"color": "GOLD"}})
    sim.control("devices/modify", {"serials": [devices[0]["serial_number"]]})
    sim.control("devices/delete", {"serials": [devices[1]["serial_number"], "NO-SUCH"]})
    ops, c = [], cursor
    while True:
        r = s.call("POST", "/devices/sync", {"cursor": c, "limit": 2})
        j = r.json()
        check(len(j["devices"]) <= 2, "sync honours limit")
        ops += j["devices"]
        c = j["cursor"]
        if not j["more_to_follow"]:
            break
    kinds = [(d["serial_number"], d["op_type"]) for d in ops]
    want = [(a, "added") for a in added] + [("C02XYZ123ABC", "added"),
                                             (devices[0]["serial_number"], "modified"),
                                             (devices[0]["serial_number"], "modified"),
                                             (devices[1]["serial_number"], "deleted")]
    check(kinds == want, "sync gives the ops in order: %r" % kinds)
    dates = [d["op_date"] for d in ops]
    check(dates == sorted(dates), "op_date order")
    keys = {(d["serial_number"], d["op_type"], d["op_date"]) for d in ops}
    check(len(keys) == len(ops), "serial + op_type + op_date is unique")
    check(ops[4]["color"] == "GOLD", "a modify op shows the new value")
    check(next(d for d in ops if d["serial_number"] == "C02XYZ123ABC")["model"] == "Mac Pro",
          "an explicit model is kept")
    r = s.call("POST", "/devices/sync", {"cursor": c})
    check(r.json()["devices"] == [], "a sync cursor continues after the last op")
    _, now, _ = fetch_all(s)
    serials = {d["serial_number"] for d in now}
    check(devices[1]["serial_number"] not in serials and "C02XYZ123ABC" in serials,
          "a fresh fetch leaves the deleted device out and has the new ones")
    r = s.call("POST", "/server/devices", {"cursor": c})
    check(r.status == 400 and r.body == "EXHAUSTED_CURSOR", "fetch with a sync cursor: done")


# ---- profiles and details -------------------------------------------------


def test_profiles(sim, seed):
    s = sim.client()
    good = {"profile_name": "orchard", "url": "https://mdm.example.com/api/mdm/apple/enroll",
            "is_supervised": True, "await_device_configured": True, "is_mdm_removable": False,
            "skip_setup_items": ["Location", "Privacy"], "department": "IT"}
    r = s.call("POST", "/profile", good)
    check(r.status == 200 and re.fullmatch(r"[0-9A-F]{32}", r.json().get("profile_uuid", "")),
          "define: a profile_uuid: %r" % r)
    uuid = r.json()["profile_uuid"]
    check(r.json()["devices"] == {}, "define without devices: no results")
    bad_bodies = [
        {"url": good["url"]}, {"profile_name": "x"}, dict(good, profile_name=""),
        dict(good, url="ftp://x"), dict(good, url=7), dict(good, is_supervised="yes"),
        dict(good, skip_setup_items="Location"), dict(good, skip_setup_items=[1]),
        dict(good, devices=["A"] * 1001), dict(good, anchor_certs=[{}]),
    ]
    for b in bad_bodies:
        r = s.call("POST", "/profile", b)
        check(r.status == 400 and r.body == "MALFORMED_REQUEST_BODY", "bad profile %r -> 400"
              % {k: b[k] for k in b if k not in good or b[k] != good[k]})
    for raw in ("not json", "[1,2]", '{"profile_name":"a","profile_name":"b"}', "{" * 5000,
                '"a string"'):
        r = s.call("POST", "/profile", raw)
        check(r.status == 400 and r.body == "MALFORMED_REQUEST_BODY", "%r -> 400" % raw[:20])
    one, two, gone = serial(seed, 3), serial(seed, 4), serial(seed, 5)
    sim.control("devices/delete", {"serials": [gone]})
    sim.control("fail_assign", {"serials": [two]})
    r = s.call("PUT", "/profile/devices", {"profile_uuid": uuid,
                                           "devices": [one, two, gone, "NOPE"]})
    check(r.status == 200 and r.json() == {"profile_uuid": uuid, "devices": {
        one: "SUCCESS", two: "FAILED", gone: "NOT_ACCESSIBLE", "NOPE": "NOT_ACCESSIBLE"}},
        "assign: per-serial results: %r" % r)
    st = {d["serial_number"]: d for d in sim.state()["devices"]}
    check(st[one]["profile_uuid"] == uuid and st[one]["profile_status"] == "assigned"
          and st[one].get("profile_assign_time"), "the state shows the assignment")
    check("profile_uuid" not in st[two], "a FAILED serial keeps no profile")
    check(uuid in sim.state(False)["profiles"], "the state lists the profile as defined")
    r = s.call("POST", "/profile", dict(good, devices=[two]))
    check(r.json()["devices"] == {two: "FAILED"}, "define with devices assigns them too")
    sim.control("clear")
    r = s.call("PUT", "/profile/devices", {"profile_uuid": uuid, "devices": [two]})
    check(r.json()["devices"] == {two: "SUCCESS"}, "clear ends fail_assign")
    for body in ({"profile_uuid": uuid, "devices": ["A"] * 1001},
                 {"profile_uuid": uuid, "devices": []}, {"profile_uuid": uuid},
                 {"devices": [one]}, {"profile_uuid": uuid, "devices": [1]},
                 {"profile_uuid": 5, "devices": [one]}):
        r = s.call("PUT", "/profile/devices", body)
        check(r.status == 400, "bad assign %r -> 400" % str(body)[:60])
    r = s.call("PUT", "/profile/devices", {"profile_uuid": "F" * 32, "devices": [one]})
    check(r.status == 400 and r.body == "PROFILE_NOT_FOUND", "an unknown profile: %r" % r)
    r = s.call("POST", "/devices", {"devices": [one, gone, "NOPE"]})
    j = r.json()["devices"]
    check(j[one]["response_status"] == "SUCCESS" and j[one]["profile_uuid"] == uuid,
          "details of a device")
    check(j[gone] == {"response_status": "NOT_ACCESSIBLE"} and
          j["NOPE"] == {"response_status": "NOT_ACCESSIBLE"}, "details of unknown or deleted")
    r = s.call("POST", "/devices", {"devices": []})
    check(r.status == 400, "details of nothing: 400")


# ---- controls and failures ------------------------------------------------


def test_failures(sim):
    s = sim.client()
    s.login()
    sim.control("fail", {"endpoint": "fetch", "error": "THROTTLED", "retry_after": 7})
    r = s.call("POST", "/server/devices", {})
    check(r.status == 429 and r.headers.get("Retry-After") == "7"
          and r.json() == {"code": "THROTTLED", "message": r.json().get("message"),
                           "retry_after_seconds": 7}, "THROTTLED as 429: %r" % r)
    sim.control("fail", {"endpoint": "fetch", "error": "THROTTLED", "retry_after": 3,
                         "status": 400})
    r = s.call("POST", "/server/devices", {})
    check(r.status == 400 and not r.headers.get("Retry-After")
          and r.json()["retry_after_seconds"] == 3, "THROTTLED as 400 + JSON: %r" % r)
    cases = [("T_C_NOT_SIGNED", 403, "T_C_NOT_SIGNED"), ("500", 500, None),
             ("503", 503, None), ("401", 401, "UNAUTHORIZED"), ("403", 403, "FORBIDDEN"),
             ("EXPIRED_CURSOR", 400, "EXPIRED_CURSOR"), ("INVALID_CURSOR", 400, "INVALID_CURSOR"),
             ("EXHAUSTED_CURSOR", 400, "EXHAUSTED_CURSOR")]
    for err, status, body in cases:
        sim.control("fail", {"endpoint": "sync", "error": err, "count": 2})
        r1 = s.call("POST", "/devices/sync", {"cursor": "x"})
        r2 = s.call("POST", "/devices/sync", {"cursor": "x"})
        r3 = s.call("POST", "/devices/sync", {"cursor": "x"})
        check(r1.status == status and r2.status == status and (body is None or r1.body == body),
              "fail %s twice: %r %r" % (err, r1, r2))
        check(r3.status == 400 and r3.body == "INVALID_CURSOR", "then the real answer: %r" % r3)
    # The other shapes an error body comes in: a JSON string, a JSON object.
    sim.control("fail", {"endpoint": "sync", "error": "EXPIRED_CURSOR", "body": "string"})
    r = s.call("POST", "/devices/sync", {"cursor": "x"})
    check(r.status == 400 and r.body == '"EXPIRED_CURSOR"', "a JSON-string body: %r" % r)
    sim.control("fail", {"endpoint": "sync", "error": "T_C_NOT_SIGNED", "body": "object"})
    r = s.call("POST", "/devices/sync", {"cursor": "x"})
    check(r.status == 403 and r.json()["code"] == "T_C_NOT_SIGNED" and r.json()["message"],
          "a JSON-object body: %r" % r)
    sim.control("fail", {"endpoint": "*", "error": "500"})
    check(s.call("GET", "/account").status == 500, "endpoint * fails any call")
    check(s.call("GET", "/account").status == 200, "once")
    sim.control("fail", {"endpoint": "account", "error": "T_C_NOT_SIGNED", "count": 5})
    sim.control("clear")
    check(s.call("GET", "/account").status == 200, "clear drops the rules")
    for body in ({"endpoint": "nope", "error": "500"}, {"endpoint": "fetch", "error": "BOGUS"},
                 {"endpoint": "fetch"}, {"endpoint": "fetch", "error": "500", "count": 0},
                 {"endpoint": "fetch", "error": "THROTTLED", "status": 418},
                 {"endpoint": "fetch", "error": "THROTTLED", "retry_after": -1},
                 {"endpoint": "fetch", "error": "500", "body": "xml"},
                 {"endpoint": "fetch", "error": "500", "body": 1}):
        r = request(sim.url + "/_sim/fail", "POST", body)
        check(r.status == 400 and "error" in r.json(), "fail control refuses %r" % body)
    for name, body in (("devices/add", {"count": 0}), ("devices/add", {"devices": "x"}),
                       ("devices/add", {"devices": [{"serial_number": ""}]}),
                       ("devices/modify", {}), ("devices/delete", {"serials": "x"}),
                       ("clock", {}), ("clock", {"offset": "1"}),
                       ("clock", {"offset": 1, "advance": 1}), ("fail_assign", {})):
        r = request(sim.url + "/_sim/" + name, "POST", body)
        check(r.status == 400, "control %s refuses %r" % (name, body))
    check(request(sim.url + "/_sim/nope", "POST", {}).status == 404, "unknown control: 404")
    check(request(sim.url + "/_sim/state", "POST", "[]").status == 400, "a non-object body")
    check(request(sim.url + "/_sim/reset", "DELETE").status == 400, "controls are POST")
    st = sim.state(False)
    check(st["calls"]["account"] >= 4 and st["calls"]["sync"] >= 24 and st["sessions_made"] >= 1,
          "state counts calls per endpoint and sessions: %r" % st["calls"])
    off = sim.control("clock", {"offset": 3600})["clock_offset"]
    check(off == 3600 and sim.state(False)["clock_offset"] == 3600, "clock offset set")
    sim.control("clock", {"offset": 0})


def test_http_hostile(sim):
    s = sim.client()
    s.login()
    big = '{"limit": 1, "pad": "' + "x" * (1 << 20) + '"}'
    r = s.call("POST", "/server/devices", big)
    check(r.status == 413, "a body over 1 MiB: 413 (%d)" % r.status)
    check(s.call("GET", "/server/devices").status == 404, "a wrong method: 404")
    check(s.call("GET", "/nowhere").status == 404, "an unknown path: 404")
    for raw in ("nope", "[]", "{", '{"limit": 1, "limit": 2}', "\x00\x01"):
        r = s.call("POST", "/server/devices", raw)
        check(r.status == 400 and r.body == "MALFORMED_REQUEST_BODY", "body %r -> 400" % raw)
    code = raw_http(sim.port, b"GARBAGE\r\n\r\n")
    check(code in (0, 400, 501), "a garbage request line is refused (%d)" % code)
    code = raw_http(sim.port, b"GET /session HTTP/1.1\r\nHost: x\r\nAuthorization: " +
                    b"A" * 100000 + b"\r\n\r\n")
    check(code in (0, 400, 401, 413, 431), "a 100 KB header is refused (%d)" % code)
    check(s.call("GET", "/account").status == 200, "the simulator still serves")


def test_reset_and_seed(binary, work):
    with DepSim(binary, os.path.join(work, "seed1"), devices=3, seed=0x1ABC) as a:
        s = a.client()
        page = s.call("POST", "/server/devices", {}).json()
        first = page["devices"]
        p1 = s.call("POST", "/profile", {"profile_name": "p", "url": "https://x"}).json()
        a.control("devices/add", {"count": 2})
        a.control("reset")
        st = a.state()
        check(st["device_count"] == 3 and st["calls"]["fetch"] == 0 and st["profiles"] == {},
              "reset: the starting fleet, no calls, no profiles")
        check(s.call("GET", "/account").status == 401, "reset ends the sessions")
        s.login()
        r = s.call("POST", "/devices/sync", {"cursor": page["cursor"]})
        check(r.status == 400 and r.body == "EXPIRED_CURSOR", "a cursor from before reset: %r" % r)
    with DepSim(binary, os.path.join(work, "seed2"), devices=3, seed=0x1ABC) as b:
        s = b.client()
        again = s.call("POST", "/server/devices", {}).json()["devices"]
        p2 = s.call("POST", "/profile", {"profile_name": "p", "url": "https://x"}).json()
        check([d["serial_number"] for d in first] == [d["serial_number"] for d in again]
              == ["SIMABC000000", "SIMABC000001", "SIMABC000002"],
              "the same seed gives the same serials (mac_sim's)")
        check(p1["profile_uuid"] == p2["profile_uuid"], "and the same profile UUIDs")
        check(b.stop() == 0, "SIGTERM: exit 0")


def test_command_line(binary, work):
    cred = os.path.join(work, "cred.json")
    with open(cred, "w") as f:
        json.dump(CREDENTIALS, f)
    bad = [["serve"], ["serve", "--credentials", "/nonexistent"],
           ["serve", "--credentials", cred, "--devices", "x"],
           ["serve", "--credentials", cred, "--session-ttl", "5y"],
           ["serve", "--credentials", cred, "--cursor-ttl", "-1"],
           ["serve", "--credentials", cred, "--listen", "localhost"],
           ["serve", "--credentials", cred, "--listen", "not-an-ip:0"],
           ["serve", "--credentials", cred, "extra"], ["nope"], []]
    whole = json.dumps(CREDENTIALS)
    for i, partial in enumerate((json.dumps({"consumer_key": "a"}), "[1]",
                                 json.dumps(dict(CREDENTIALS, access_secret="")),
                                 json.dumps(dict(CREDENTIALS, consumer_key=5)),
                                 whole[:len(whole) // 2], "",
                                 json.dumps(dict(CREDENTIALS, consumer_secret="s" * 5000)),
                                 json.dumps(dict(CREDENTIALS, pad="x" * 70000)),
                                 whole[:-1] + ', "consumer_key": "again"}')):
        p = os.path.join(work, "bad_cred%d.json" % i)
        with open(p, "w") as f:
            f.write(partial)
        bad.append(["serve", "--credentials", p])
    for argv in bad:
        r = subprocess.run([binary] + argv, capture_output=True, timeout=10)
        check(r.returncode != 0 and r.stderr, "dep_sim %s fails with a message" % argv)


# ---- the token ------------------------------------------------------------


def test_token(binary, token_check, work):
    p = lambda n: os.path.join(work, n)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    p("bm.key"), "-out", p("bm.crt"), "-days", "2", "-subj",
                    "/CN=orchard ABM test"], check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    p("other.key"), "-out", p("other.crt"), "-days", "2", "-subj",
                    "/CN=someone else"], check=True, capture_output=True)
    cred = p("cred.json")
    with open(cred, "w") as f:
        json.dump(CREDENTIALS, f)
    run = lambda *a: subprocess.run([binary, "token", *a], capture_output=True, timeout=30)
    r = run("--cert", p("bm.crt"), "--credentials", cred, "--out", p("token.p7m"),
            "--expiry", "2031-03-04T05:06:07Z")
    check(r.returncode == 0, "dep_sim token: %r" % r.stderr)
    text = open(p("token.p7m")).read()
    check("application/pkcs7-mime" in text and "enveloped-data" in text, "an S/MIME .p7m")
    check(CREDENTIALS["consumer_secret"] not in text, "no secret in clear")
    r = subprocess.run([token_check, p("token.p7m"), p("bm.crt"), p("bm.key")],
                       capture_output=True, text=True)
    if check(r.returncode == 0, "orchard's abm_token decrypts it: %s" % r.stderr):
        got = json.loads(r.stdout)
        check(all(got[k] == v for k, v in CREDENTIALS.items()), "the four values come back")
        check(got["access_token_expiry"] == "2031-03-04T05:06:07Z" and got["expiry"] == 1930367167,
              "the expiry comes back: %r" % got)
    r = subprocess.run(["openssl", "smime", "-decrypt", "-in", p("token.p7m"), "-recip",
                        p("bm.crt"), "-inkey", p("bm.key")], capture_output=True, text=True)
    check(r.returncode == 0 and "-----BEGIN MESSAGE-----" in r.stdout
          and "-----END MESSAGE-----" in r.stdout, "openssl smime reads it too")
    r = subprocess.run([token_check, p("token.p7m"), p("other.crt"), p("other.key")],
                       capture_output=True, text=True)
    check(r.returncode == 1 and r.stderr, "another key cannot open it")
    r = run("--cert", p("bm.crt"), "--credentials", cred, "--out", p("default.p7m"))
    got = subprocess.run([token_check, p("default.p7m"), p("bm.crt"), p("bm.key")],
                         capture_output=True, text=True)
    if check(got.returncode == 0, "a token with the default expiry decrypts"):
        days = (json.loads(got.stdout)["expiry"] - time.time()) / 86400
        check(364 < days < 366, "the default expiry is a year away (%.1f days)" % days)
    for argv in (["--cert", p("bm.crt"), "--credentials", cred, "--out", p("x.p7m"),
                  "--expiry", "next summer"],
                 ["--cert", p("bm.key") + ".none", "--credentials", cred, "--out", p("x.p7m")],
                 ["--cert", p("cred.json"), "--credentials", cred, "--out", p("x.p7m")],
                 ["--cert", p("bm.crt"), "--credentials", p("bm.crt"), "--out", p("x.p7m")],
                 ["--cert", p("bm.crt"), "--credentials", cred, "--out", "/nonexistent/x"],
                 ["--cert", p("bm.crt"), "--credentials", cred]):
        r = run(*argv)
        check(r.returncode != 0 and r.stderr, "token refuses %r" % argv[-2:])


def test_delay_and_calls(sim):
    """/_sim/delay slows an endpoint; /_sim/calls lists the cursor of every page call."""
    sim.control("reset")
    s = sim.client()
    s.login()
    first = s.call("POST", "/server/devices", {"limit": 4}).json()
    sim.control("delay", {"endpoint": "fetch", "ms": 300})
    t = time.time()
    r = s.call("POST", "/server/devices", {"cursor": first["cursor"], "limit": 4})
    slow = time.time() - t
    check(r.status == 200 and slow >= 0.3, "a delayed fetch takes the delay: %.3f s" % slow)
    t = time.time()
    s.call("GET", "/account")
    check(time.time() - t < 0.3, "other endpoints are not delayed")
    r2 = s.call("POST", "/devices/sync", {"cursor": "00"})
    calls = sim.page_calls()
    check([c["endpoint"] for c in calls] == ["fetch", "fetch", "sync"]
          and calls[0]["cursor"] is None and calls[1]["cursor"] == first["cursor"]
          and calls[0]["status"] == 200 and calls[0]["devices"] == 4
          and calls[2]["status"] == r2.status == 400 and calls[2]["devices"] is None,
          "calls list each page call's cursor and answer: %r" % calls)
    sim.control("clear")
    t = time.time()
    s.call("POST", "/server/devices", {"limit": 1})
    check(time.time() - t < 0.3, "clear drops the delay")
    sim.control("delay", {"endpoint": "*", "ms": 0})
    for body in ({"endpoint": "fetch"}, {"endpoint": "fetch", "ms": -1},
                 {"endpoint": "fetch", "ms": 10001}, {"endpoint": "nope", "ms": 1},
                 {"endpoint": "fetch", "ms": "1"}):
        r = request(sim.url + "/_sim/delay", "POST", body)
        check(r.status == 400 and "error" in r.json(), "delay refuses %r" % body)
    sim.control("reset")
    check(sim.page_calls() == [], "reset empties the call list")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dep-sim", required=True)
    ap.add_argument("--token-check", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dep_sim_test.") as work:
        with DepSim(a.dep_sim, os.path.join(work, "main"), devices=10, seed=42) as sim:
            test_oauth(sim)
            test_sessions(sim)
            test_sync(sim, 42)
            test_profiles(sim, 42)
            test_failures(sim)
            test_delay_and_calls(sim)
            test_http_hostile(sim)
        with DepSim(a.dep_sim, os.path.join(work, "paging"), devices=2500, seed=9,
                    session_ttl="30d") as sim:
            test_paging(sim, 9, 2500)
        test_speed(a.dep_sim, work)
        test_reset_and_seed(a.dep_sim, work)
        test_command_line(a.dep_sim, work)
        test_token(a.dep_sim, a.token_check, work)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("dep_sim: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
