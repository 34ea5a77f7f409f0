"""What the interop tests share: a free port, `orchard serve` children with
their output in files, a dev/ made by scripts/dev_setup.sh, and the store
those serves share: a SQLite file (the default) or a fresh database on the
tests' private PostgreSQL cluster (ORCHARD_TEST_STORE=postgres; the
pg_cluster ctest fixture names the cluster's folder in ORCHARD_TEST_PG_DIR).
Several Server objects on one store, each on its own port, are several
instances of one orchard."""

import atexit
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

START_WAIT_S = 15
STOP_WAIT_S = 5      # a graceful stop's bound
STORE_ENV = "ORCHARD_TEST_STORE"    # "sqlite" (default) or "postgres"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `orchard serve` child with its output collected in a file."""

    def __init__(self, orchard, config, env, log_path, extra=()):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen([orchard, "serve", "--config", config, *extra],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait_listening(self):
        deadline = time.monotonic() + START_WAIT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            with open(self.log_path, "rb") as f:
                if re.search(rb"listening on http", f.read()):
                    return True
            time.sleep(0.05)
        return False

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.log.close()


class Instance:
    """One of several `orchard serve` processes on one config and store: the
    same settings but its own port (ORCHARD_SERVER_ADDRESS) and log, plus
    whatever `overrides` (environment) sets for it alone."""

    def __init__(self, name, orchard, config, base_env, tmp, overrides=None):
        self.name = name
        self.orchard = orchard
        self.config = config
        self.tmp = tmp
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.env = dict(base_env, ORCHARD_SERVER_ADDRESS="127.0.0.1:%d" % self.port,
                        **(overrides or {}))
        self.server = None
        self.starts = 0

    def start(self, wait=True):
        """Start (or restart) the serve; with wait, until it listens."""
        self.starts += 1
        log = os.path.join(self.tmp, "serve-%s-%d.log" % (self.name, self.starts))
        self.server = Server(self.orchard, self.config, self.env, log)
        if wait and not self.server.wait_listening():
            raise AssertionError("instance %s did not start:\n%s" % (self.name,
                                                                      self.server.output()[-3000:]))
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.server:
            self.server.stop(sig)

    def alive(self):
        return self.server is not None and self.server.alive()

    def output(self):
        return self.server.output() if self.server else ""

    def api(self, method, path, token=None, body=None, raw=False):
        return api(self.base, method, path, token, body, raw)

    def cli(self, *argv, stdin=None, check=True):
        """An orchard command with this instance's settings (its environment)."""
        return orchard_cli(self.orchard, self.config, self.env, *argv, stdin=stdin, check=check)


def dev_setup(script, orchard, dev, store=None):
    """Run scripts/dev_setup.sh into `dev`; returns the config's path. The
    config's store is `store` (a Store), else the one ORCHARD_TEST_STORE
    asks for: with "postgres", a fresh database on the test cluster (or a
    skip, see Store.postgres)."""
    subprocess.run(["sh", script, orchard, dev], check=True, stdout=subprocess.DEVNULL)
    config = os.path.join(dev, "orchard.yml")
    store = store or store_from_env()
    store.apply(config)
    print("store: %s" % store, flush=True)
    return config


# ---- the store the serves share ------------------------------------------------------------

def _pg_test():
    """tests/support/pg_cluster/pg_test.py: the cluster ctest's pg_cluster
    fixture started (on PYTHONPATH under ctest; found beside us otherwise)."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.append(os.path.join(here, "..", "support", "pg_cluster"))
    import pg_test
    return pg_test


class Store:
    """One database the serves of a test share. kind "sqlite": the file
    dev_setup.sh writes into the config (apply leaves it). kind "postgres":
    a database made for this test on the cluster, dropped at exit."""

    def __init__(self, kind, uri=None, dropper=None, dbname=None):
        self.kind = kind
        self.uri = uri
        self.dropper = dropper
        self.dbname = dbname

    @classmethod
    def sqlite(cls):
        return cls("sqlite")

    @classmethod
    def postgres(cls):
        """A fresh database on the test cluster; skips the test (a visible
        line, a failure under CI=true) when there is no cluster."""
        pg_test = _pg_test()
        pg_test.require()
        try:
            uri = pg_test.create_db()
        except RuntimeError as e:
            pg_test.skip("the test cluster refused a new database: %s" % e)
        store = cls("postgres", uri, pg_test.drop_db, uri.split("?")[0].rsplit("/", 1)[-1])
        atexit.register(store.drop)
        return store

    def apply(self, config):
        """Point `config`'s store at this database (SQLite: as written)."""
        if self.kind != "postgres":
            return
        with open(config) as f:
            text = f.read()
        new, n = re.subn(r"(?m)^store:\n  (sqlite|postgres): .*$",
                         lambda m: 'store:\n  postgres: "%s"' % self.uri, text)
        if n != 1:
            raise AssertionError("no store line to replace in " + config)
        with open(config, "w") as f:
            f.write(new)

    def drop(self):
        if self.kind == "postgres" and self.dropper:
            self.dropper(self.uri)
            self.dropper = None

    def __str__(self):
        return "PostgreSQL database %s" % self.dbname if self.kind == "postgres" else "SQLite"


def store_from_env():
    """The store ORCHARD_TEST_STORE asks for ("sqlite" when unset)."""
    kind = os.environ.get(STORE_ENV, "sqlite") or "sqlite"
    if kind == "sqlite":
        return Store.sqlite()
    if kind == "postgres":
        return Store.postgres()
    raise AssertionError("%s=%s: expected sqlite or postgres" % (STORE_ENV, kind))


# ---- talking to a serve ----------------------------------------------------------------------

def api(base, method, path, token=None, body=None, raw=False):
    """One HTTP request to `base` + `path`; returns (status, JSON body), or
    (status, bytes) with raw. An HTTP error status is returned, not raised;
    a non-JSON body comes back as {"raw": text}."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, payload = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, payload = e.code, e.read()
    if raw:
        return status, payload
    try:
        return status, json.loads(payload or b"{}")
    except ValueError:
        return status, {"raw": payload.decode(errors="replace")}


def orchard_cli(orchard, config, env, *argv, stdin=None, check=True):
    """`orchard ARGV --config CONFIG` with `env`; the CompletedProcess."""
    out = subprocess.run([orchard, *argv, "--config", config], env=env, input=stdin,
                         capture_output=True, text=True, timeout=60)
    if check and out.returncode != 0:
        raise AssertionError("orchard %s failed (%d): %s%s" % (
            " ".join(argv), out.returncode, out.stdout, out.stderr))
    return out


def query(orchard, config, env, sql):
    """Rows of `orchard query --json SQL` (the tables, over whichever store)."""
    return json.loads(orchard_cli(orchard, config, env, "query", "--json", sql).stdout)


def wait_for(what, fn, timeout=20, step=0.05):
    """fn() until it returns something true (returned), else AssertionError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(step)
    raise AssertionError("timed out after %gs waiting for %s" % (timeout, what))


def run_scenarios(env, scenarios, box=None, servers=None):
    """Run (name, fn) pairs in order, each fn(env); print PASS/FAIL lines and,
    on a failure, the traceback and the tail of each server: the one in
    box[0], or every one that servers() returns (objects with .output() and,
    when there are several, .name). Returns (passed, failed)."""
    import sys
    import traceback
    passed = failed = 0
    for name, fn in scenarios:
        try:
            fn(env)
            passed += 1
            print("PASS " + name)
        except Exception:
            failed += 1
            print("FAIL " + name)
            traceback.print_exc(file=sys.stdout)
            shown = servers() if servers else ([box[0]] if box and box[0] else [])
            for s in shown:
                label = getattr(s, "name", "serve") if servers else "serve"
                print("--- %s output (tail) ---\n%s" % (label, s.output()[-3000:]))
    return passed, failed


def loop_main(doc, run, extra=None):
    """main() of the end-to-end tests that drive serve, the APNs stand-in
    and the Mac simulator: their common arguments (plus what extra(parser)
    adds), exit on a signal as a shell would (so finally: blocks stop what
    the test started), then run(args)'s exit status."""
    import argparse
    import signal
    import sys
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--orchard", required=True)
    p.add_argument("--dev-setup", required=True)
    p.add_argument("--standin", required=True)
    p.add_argument("--mac-sim", required=True)
    if extra:
        extra(p)
    args = p.parse_args()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    return run(args)


DEV_TOPIC = "com.apple.mgmt.dev.orchard"  # the topic scripts/dev_setup.sh gives dev/


def start_apns_standin(standin, dev, port, record, log_path):
    """The APNs stand-in on 127.0.0.1:port with dev_setup's certificates,
    recording pushes as JSON lines in `record`. Returns (process, log file
    open for reading and writing) once it listens; AssertionError otherwise."""
    import subprocess
    log = open(log_path, "w+")
    proc = subprocess.Popen(
        [standin, "--cert", dev + "/apns-standin.crt", "--key", dev + "/apns-standin.key",
         "--client-ca", dev + "/apns-dev-standin.crt", "--topic", DEV_TOPIC,
         "--listen", "127.0.0.1:%d" % port, "--record", record],
        stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, text=True)

    def listening():
        with open(log_path) as f:
            return "listening" in f.read()
    try:
        wait_for("the APNs stand-in", listening, timeout=10)
    except AssertionError:
        proc.kill()
        proc.wait(timeout=10)
        raise
    return proc, log

