#!/usr/bin/python3
"""`orchard serve` on PostgreSQL while PostgreSQL restarts under it.

A cluster of the test's own (pg_cluster.sh in a temporary folder: stopping
the one ctest shares would cut the suites beside this one), one `orchard
serve` on it (the interop harness, tests/interop/serve_harness.py). While
the server is down, requests that need the store fail cleanly (5xx, within
the store's timeouts, the process alive); once it is back, the first
requests work again, sessions made before still hold, and it is the same
process: orchard was not restarted. Then a restart with nothing in flight.
Prints PASS/FAIL per scenario and "N passed, M failed" last; skips (exit 0,
one line) without PostgreSQL, fails under CI=true.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "interop"))

import pg_test  # noqa: E402
from serve_harness import Instance, Store, dev_setup, run_scenarios, wait_for  # noqa: E402

SCRIPT = os.path.join(HERE, "pg_cluster.sh")
ADMIN = ("admin@example.com", "restart-proof password 7!")
# store.busy_timeout_ms for the serve: a request during the outage must be
# answered well within this plus the connect time.
BUSY_MS = 2000
OUTAGE_BOUND_S = 10


def cluster(cmd, d):
    r = subprocess.run(["sh", SCRIPT, cmd, d], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("pg_cluster.sh %s: %s%s" % (cmd, r.stdout, r.stderr))
    return r


class Env:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.pg = os.path.join(tmp, "pg")
        cluster("start", self.pg)
        skip = os.path.join(self.pg, "skip")
        if os.path.exists(skip):
            with open(skip) as f:
                pg_test.skip(f.read().strip())
        with open(os.path.join(self.pg, "uri")) as f:
            uri = f.read().strip()
        # The cluster's own database: the whole cluster goes at the end.
        store = Store("postgres", uri, None, "postgres")
        self.config = dev_setup(args.dev_setup, args.orchard, os.path.join(tmp, "dev"), store=store)
        env = dict(os.environ, ORCHARD_STORE_BUSY_TIMEOUT_MS=str(BUSY_MS))
        self.serve = Instance("a", args.orchard, self.config, env, tmp)
        self.token = None

    def close(self):
        self.serve.stop()
        cluster("stop", self.pg)

    def login(self):
        return self.serve.api("POST", "/api/latest/fleet/login",
                              body={"email": ADMIN[0], "password": ADMIN[1]})


def timed(fn):
    t0 = time.monotonic()
    out = fn()
    return out, time.monotonic() - t0


def test_serving(env):
    env.serve.start()
    env.serve.cli("user", "create", "--email", ADMIN[0], "--name", "Ada", "--role", "admin",
                  stdin=ADMIN[1] + "\n")
    status, body = env.login()
    assert status == 200, (status, body)
    env.token = body["token"]
    status, _ = env.serve.api("GET", "/healthz")
    assert status == 200, status
    status, body = env.serve.api("GET", "/api/latest/fleet/me", env.token)
    assert status == 200, (status, body)


def test_outage_fails_cleanly(env):
    pid = env.serve.server.pid
    cluster("pause", env.pg)
    try:
        for _ in range(3):
            (status, body), took = timed(lambda: env.serve.api("GET", "/healthz"))
            assert status == 503, (status, body)
            assert took < OUTAGE_BOUND_S, took
            (status, body), took = timed(env.login)
            assert 500 <= status < 600, ("login while the store is down", status, body)
            assert took < OUTAGE_BOUND_S, took
            (status, body), took = timed(
                lambda: env.serve.api("GET", "/api/latest/fleet/me", env.token))
            # The session cannot be checked: a server error, never a 200 and
            # never "your token is bad" (401) for a token that is fine.
            assert 500 <= status < 600, ("a session check while the store is down", status, body)
            assert took < OUTAGE_BOUND_S, took
        assert env.serve.alive(), "serve died during the outage"
    finally:
        cluster("resume", env.pg)
    # The first requests after it work: no restart of orchard.
    status, body = env.serve.api("GET", "/healthz")
    assert status == 200, ("the first /healthz after the restart", status, body)
    status, body = env.serve.api("GET", "/api/latest/fleet/me", env.token)
    assert status == 200, ("the session from before the outage", status, body)
    status, body = env.login()
    assert status == 200, (status, body)
    assert env.serve.server.pid == pid and env.serve.alive()


def test_restart_idle(env):
    pid = env.serve.server.pid
    cluster("pause", env.pg)
    cluster("resume", env.pg)
    status, body = env.serve.api("GET", "/api/latest/fleet/me", env.token)
    assert status == 200, ("the first request after a restart", status, body)
    status, body = env.login()
    assert status == 200, (status, body)
    assert env.serve.server.pid == pid and env.serve.alive()
    out = env.serve.output()
    assert "AddressSanitizer" not in out and "runtime error" not in out, out[-3000:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orchard", required=True)
    ap.add_argument("--dev-setup", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="orchard-pg-restart-")
    env = None
    try:
        env = Env(args, tmp)
        box = [env.serve]
        passed, failed = run_scenarios(env, [
            ("serving on PostgreSQL", test_serving),
            ("PostgreSQL down: 5xx in bounded time, then back without restarting orchard",
             test_outage_fails_cleanly),
            ("PostgreSQL restarted with nothing in flight: the first request works",
             test_restart_idle),
        ], box)
    finally:
        if env:
            env.close()
        else:
            subprocess.run(["sh", SCRIPT, "stop", os.path.join(tmp, "pg")])
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
