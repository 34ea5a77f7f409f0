#!/usr/bin/env python3
"""`orchard dep sync` against the DEP simulator, killed with SIGKILL mid-fetch.

The simulator (tests/support/dep_sim) plays Apple Business Manager for an
account of 20,000 Macs and answers each fetch page 150 ms late (2 s once
three pages are stored). The first
`orchard dep sync` is killed once a few pages are stored; the second resumes
from the cursor the store kept (the simulator's call list shows the cursor it
sent) and ends with exactly the simulator's devices, none twice, none lost,
while the killed run shows without finished_at. Then: the progress line and
summary, the job "dep.sync" keeping mdm.apple_dep_sync_periodicity,
THROTTLED (no call before the wait is over, and the command says how long),
T_C_NOT_SIGNED (the command says what to do), and no ABM configured. SQLite store, read with
Python's sqlite3 beside orchard."""

import argparse
import os
import pty
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support", "dep_sim"))
sys.path.insert(0, HERE)
from dep_sim import DepSim  # noqa: E402
from serve_harness import run_scenarios, wait_for  # noqa: E402

DEVICES = 20000
SEED = 5
PAGE_DELAY_MS = 150
SLOW_DELAY_MS = 2000


class Env:
    def __init__(self, orchard, work, sim):
        self.orchard, self.work, self.sim = orchard, work, sim
        self.db = os.path.join(work, "store.db")
        self.config = os.path.join(work, "orchard.yml")
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith(("ORCHARD_", "FLEET_")):
                del self.env[k]

    def sync(self, *extra, env=None):
        return subprocess.run([self.orchard, "dep", "sync", "--config", self.config, *extra],
                              env=env or self.env, capture_output=True, text=True, timeout=120)

    def rows(self, sql, *args):
        con = sqlite3.connect(self.db, timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def state(self, key):
        r = self.rows("SELECT value FROM server_state WHERE key = ?", key)
        return r[0][0] if r else None

    def runs(self):
        return self.rows("SELECT id, kind, finished_at, pages, fetched, added, error_code "
                         "FROM dep_sync_runs ORDER BY id")

    def idle_calls(self):
        """The simulator's page calls once it has answered what is in flight
        (one thread serves requests in order, so a control call waits for them)."""
        self.sim.state(devices=False)
        return self.sim.page_calls()


def setup(orchard, work, sim):
    e = Env(orchard, work, sim)
    subprocess.run([orchard, "generate", "mdm-apple-bm", "--public-key",
                    os.path.join(work, "abm.crt"), "--private-key",
                    os.path.join(work, "abm.key"), "--force"],
                   check=True, capture_output=True, env=e.env)
    sim.token(os.path.join(work, "abm.crt"), os.path.join(work, "abm.p7m"))
    with open(e.config, "w") as f:
        f.write("server:\n  url: https://mdm.example.com\n"
                "store:\n  sqlite: %s\n"
                "mdm:\n  apple_bm_server_token: %s\n  apple_bm_cert: %s\n"
                "  apple_bm_key: %s\n  apple_dep_url: %s\n"
                % (e.db, os.path.join(work, "abm.p7m"), os.path.join(work, "abm.crt"),
                   os.path.join(work, "abm.key"), sim.url))
    return e


def sim_serials(sim):
    return {d["serial_number"] for d in sim.state()["devices"] if not d["deleted"]}


def kill_mid_fetch(e):
    e.sim.control("delay", {"endpoint": "fetch", "ms": PAGE_DELAY_MS})
    log = open(os.path.join(e.work, "killed.err"), "w")
    proc = subprocess.Popen([e.orchard, "dep", "sync", "--config", e.config], env=e.env,
                            stdout=subprocess.DEVNULL, stderr=log)

    def pages_stored(n):
        def check():
            if proc.poll() is not None:
                raise AssertionError("orchard dep sync ended before the kill: %d"
                                     % proc.returncode)
            if not os.path.exists(e.db):
                return None
            try:
                r = e.rows("SELECT pages FROM dep_sync_runs WHERE finished_at IS NULL")
            except sqlite3.OperationalError:  # not migrated yet
                return None
            return r and r[0][0] >= n
        return check
    wait_for("3 pages stored", pages_stored(3), timeout=60)
    # Slower from here, so a busy machine cannot let the fetch finish
    # before the kill lands.
    e.sim.control("delay", {"endpoint": "fetch", "ms": SLOW_DELAY_MS})
    wait_for("4 pages stored", pages_stored(4), timeout=60)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    log.close()
    stored = e.rows("SELECT count(*) FROM dep_devices")[0][0]
    cursor = e.state("dep.cursor")
    runs = e.runs()
    assert len(runs) == 1 and runs[0][2] is None and runs[0][1] == "fetch", \
        "the killed run stays without finished_at: %r" % runs
    pages = runs[0][3]
    assert 4 <= pages < DEVICES // 1000 and stored == pages * 1000 == runs[0][4], \
        "every stored page is whole, with its counts: %d rows, run %r" % (stored, runs[0])
    assert e.state("dep.phase") == "fetch" and cursor, "a fetch cursor is stored"
    calls = e.idle_calls()
    # Issued, not necessarily sent: the kill may land before the next page's
    # request leaves (a slow sanitizer build showed it).
    assert any(c.get("issued") == cursor for c in calls), "the stored cursor is one Apple issued"

    # The second run: from the stored cursor, to the end.
    e.sim.control("clear")
    before = len(calls)
    out = e.sync("--quiet")
    assert out.returncode == 0, "the resumed sync: %s %s" % (out.stdout, out.stderr)
    calls = e.idle_calls()
    resumed = calls[before]
    assert resumed["endpoint"] == "fetch" and resumed["cursor"] == cursor, \
        "resumed from the stored cursor %s..., not %r" % (cursor[:16], resumed)
    assert all(c["cursor"] is not None for c in calls[before:] if c["endpoint"] == "fetch"), \
        "no fetch from the start again"
    runs = e.runs()
    assert len(runs) == 2 and runs[0][2] is None and runs[1][2] is not None, runs
    assert runs[1][5] == DEVICES - stored and runs[1][6] is None, \
        "the resumed run adds what the killed one had not: %r" % (runs[1],)
    rows = e.rows("SELECT serial_number FROM dep_devices WHERE deleted = 0")
    got = [r[0] for r in rows]
    assert len(got) == len(set(got)) == DEVICES, "no duplicates: %d rows" % len(got)
    assert set(got) == sim_serials(e.sim), "exactly the simulator's devices"
    uuid = e.state("dep.profile_uuid")
    assert e.rows("SELECT count(*) FROM dep_devices WHERE profile_uuid = ? AND "
                  "assign_status = 'SUCCESS'", uuid)[0][0] == DEVICES, "every device assigned"
    assert e.state("dep.phase") == "sync"


def progress_and_summary(e):
    e.sim.control("devices/add", {"count": 1500})
    e.sim.control("delay", {"endpoint": "sync", "ms": 20})
    out = e.sync()
    e.sim.control("clear")
    assert out.returncode == 0, out.stderr
    # Not a terminal: whole lines, the first page's at least.
    lines = [x for x in out.stderr.splitlines() if x.startswith("sync: ")]
    assert lines and "\r" not in out.stderr, "progress lines: %r" % out.stderr
    assert re.match(r"^sync: \d+ pages, [\d,]+ devices \(\+[\d,]+ ~[\d,]+ -[\d,]+\), "
                    r"[\d,]+ devices/s", lines[0]), lines[0]
    summary = out.stdout.strip()
    assert re.match(r"^sync: \d+ pages, [\d,]+ devices \(\+1,500 ~20,000 -0\), [\d,]+ "
                    r"devices/s, 1,500 assigned; done in [\d.]+ s$", summary), summary
    # On a terminal the line rewrites itself.
    e.sim.control("devices/add", {"count": 10})
    master, slave = pty.openpty()
    proc = subprocess.Popen([e.orchard, "dep", "sync", "--config", e.config], env=e.env,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    tty = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        tty += chunk
    os.close(master)
    proc.wait(60)
    assert proc.returncode == 0 and b"\rsync: " in tty and b"\x1b[K" in tty, tty[-300:]
    quiet = e.sync("--quiet")
    assert quiet.returncode == 0 and not re.search(r"^sync: ", quiet.stderr, re.M), \
        "--quiet: %r" % quiet.stderr
    bad = e.sync("--bogus")
    assert bad.returncode == 2, "an unknown option: %d" % bad.returncode


def job_keeps_period(e):
    n = len(e.runs())
    job = [e.orchard, "job", "run", "dep.sync", "--config", e.config]
    out = subprocess.run(job, env=e.env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and len(e.runs()) == n, \
        "within the period the job does nothing: %s %s" % (out.stdout, out.stderr)
    env = dict(e.env, ORCHARD_MDM_APPLE_DEP_SYNC_PERIODICITY="1s")
    last = int(e.state("dep.last_run_at"))
    wait_for("a second to pass", lambda: time.time() * 1000 - last > 1100, timeout=5)
    out = subprocess.run(job, env=env, capture_output=True, text=True, timeout=60)
    runs = e.runs()
    assert out.returncode == 0 and len(runs) == n + 1 and runs[-1][1] == "sync", \
        "past the period the job syncs: %r %s" % (runs[-1:], out.stderr)


def throttled(e):
    e.sim.control("fail", {"endpoint": "sync", "error": "THROTTLED", "retry_after": 40})
    out = e.sync("--quiet")
    assert out.returncode == 1 and "THROTTLED" in out.stderr, out.stderr
    calls = e.sim.state(devices=False)["calls"]
    out = e.sync("--quiet")
    m = re.search(r"try again in (\d+) s", out.stderr)
    assert out.returncode == 1 and m and 30 <= int(m.group(1)) <= 40, out.stderr
    assert e.sim.state(devices=False)["calls"] == calls, "nothing called before retry_after"
    runs = e.runs()
    assert runs[-1][6] == "THROTTLED", runs[-1]
    # The job waits too.
    job = [e.orchard, "job", "run", "dep.sync", "--config", e.config]
    subprocess.run(job, env=dict(e.env, ORCHARD_MDM_APPLE_DEP_SYNC_PERIODICITY="1s"),
                   capture_output=True, timeout=60)
    assert e.sim.state(devices=False)["calls"] == calls and len(e.runs()) == len(runs)
    e.sim.control("clear")
    con = sqlite3.connect(e.db)
    con.execute("DELETE FROM server_state WHERE key = 'dep.not_before'")
    con.commit()
    con.close()


def terms_not_signed(e):
    e.sim.control("fail", {"endpoint": "*", "error": "T_C_NOT_SIGNED", "count": 3})
    con = sqlite3.connect(e.db)
    con.execute("DELETE FROM server_state WHERE key = 'dep.account'")  # ask Apple again
    con.commit()
    con.close()
    out = e.sync("--quiet")
    e.sim.control("clear")
    assert out.returncode == 1 and "T_C_NOT_SIGNED" not in out.stdout, out.stdout
    assert "accept" in out.stderr and "Apple Business Manager" in out.stderr, out.stderr
    assert e.runs()[-1][6] == "T_C_NOT_SIGNED"
    assert e.sync("--quiet").returncode == 0, "accepted: syncing again"


def not_configured(e):
    """Without ABM the command says what to set; the job does nothing, quietly."""
    bare = os.path.join(e.work, "bare.yml")
    with open(bare, "w") as f:
        f.write("store:\n  sqlite: %s\n" % os.path.join(e.work, "bare.db"))
    out = subprocess.run([e.orchard, "dep", "sync", "--config", bare], env=e.env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "mdm.apple_bm_server_token" in out.stderr, out.stderr
    calls = e.sim.state(devices=False)["calls"]
    out = subprocess.run([e.orchard, "job", "run", "dep.sync", "--config", bare], env=e.env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "not configured" in out.stdout + out.stderr, out
    assert e.sim.state(devices=False)["calls"] == calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orchard", required=True)
    ap.add_argument("--dep-sim", required=True)
    a = ap.parse_args()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    with tempfile.TemporaryDirectory(prefix="dep_sync_test.") as work:
        with DepSim(a.dep_sim, os.path.join(work, "sim"), devices=DEVICES, seed=SEED,
                    session_ttl="1h") as sim:
            e = setup(a.orchard, work, sim)
            passed, failed = run_scenarios(e, [
                ("kill -9 mid-fetch, then resume", kill_mid_fetch),
                ("progress line and summary", progress_and_summary),
                ("the job keeps the period", job_keeps_period),
                ("THROTTLED", throttled),
                ("T_C_NOT_SIGNED", terms_not_signed),
                ("ABM not configured", not_configured),
            ])
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
