#!/usr/bin/python3
"""bench/dep: the DEP sync of 100,000 devices, end to end (the bench_dep_run
target runs it; `bench` too). dep_sim (tests/support/dep_sim) plays Apple
Business Manager with N devices; on a fresh SQLite store, and on a fresh
database of a private durable PostgreSQL cluster when one starts here:

  - `orchard dep sync` (token from `dep_sim token`, the profile defined, every
    page fetched and stored, the profile assigned to every device), timed as a
    whole process, RUNS times (the simulator reset and a fresh store each
    time), with orchard's CPU (getrusage of the child), dep_sim's CPU
    (/proc/PID/stat) and, on PostgreSQL, the cluster's CPU;
  - one more run under `perf record --call-graph dwarf`: the share of
    orchard's CPU samples inside the JSON readers and writers, the HTTP
    client, the store calls and the rest (inclusive time of the functions
    named in SPLIT), turned into milliseconds of that run's CPU; the wall time
    orchard spent off the CPU is waiting, almost all for dep_sim's answers;
  - the peer, in the same run: a Python client (tests/support/dep_sim/dep_sim.py)
    fetching the same pages without storing anything: dep_sim's raw page rate,
    so the reader sees what the sync adds.

Prints the markdown section and, with --results FILE, rewrites the dep
section of FILE (bench/results_section.sh).

  run.py --orchard BIN --dep-sim BIN --source-dir DIR [--build-type T] [--results FILE]

BENCH_DEP_DEVICES (100000), BENCH_DEP_RUNS (3, SQLite), BENCH_DEP_PG_RUNS (1),
BENCH_PERF=0 skips perf.
"""

import argparse
import datetime
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

GOAL_S = 10.0
DEVICES = int(os.environ.get("BENCH_DEP_DEVICES", "100000"))
RUNS = int(os.environ.get("BENCH_DEP_RUNS", "3"))
PG_RUNS = int(os.environ.get("BENCH_DEP_PG_RUNS", "1"))   # each takes tens of seconds
SERVER_URL = "https://mdm.bench.invalid"   # the profile's url (no Mac comes)

# perf buckets: inclusive samples of these functions (disjoint call trees).
SPLIT = {
    "json": ["orchard_dep_parse_reply", "page_records", "serial_array", "json_dumps"],
    "http": ["send_once", "authenticate"],
    "store": ["orchard_store_dep_page_apply", "orchard_store_dep_assign_due",
              "orchard_store_dep_assign_record", "orchard_store_dep_run_begin",
              "orchard_store_dep_run_finish", "orchard_store_dep_state_set",
              "orchard_store_dep_state_get", "orchard_store_dep_runs_prune"],
}


def say(*words):
    print("bench dep:", *words, file=sys.stderr, flush=True)


def proc_cpu_s(pid, children=False):
    """utime + stime of a live process (and its reaped children), seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


class Pg:
    """A private durable cluster (tests/support/pg_cluster/pg_cluster.sh)."""

    def __init__(self, src, work):
        self.sh = os.path.join(src, "tests/support/pg_cluster/pg_cluster.sh")
        self.dir = os.path.join(work, "pg")
        self.ok, self.note, self.version = False, "", ""
        out = subprocess.run(["sh", self.sh, "start", self.dir], capture_output=True, text=True)
        skip = os.path.join(self.dir, "skip")
        if out.returncode != 0 or os.path.exists(skip):
            reason = open(skip).read().strip() if os.path.exists(skip) else \
                (out.stderr.strip().splitlines() or ["?"])[-1]
            self.note = "PostgreSQL could not start here: " + reason
            return
        self.uri = open(os.path.join(self.dir, "uri")).read().strip()
        self.psql_bin = os.path.join(open(os.path.join(self.dir, "bin")).read().strip(), "psql")
        self.psql("-c", "alter system set fsync = on", "-c",
                  "alter system set synchronous_commit = on", "-c",
                  "alter system set full_page_writes = on")
        subprocess.run(["sh", self.sh, "pause", self.dir], check=True)
        subprocess.run(["sh", self.sh, "resume", self.dir], check=True)
        self.version = self.psql("-A", "-t", "-c", "show server_version").strip()
        self.data = self.find_data()
        self.ok = True

    def psql(self, *argv, db=None):
        return subprocess.run([self.psql_bin, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                               db or self.uri, *argv], check=True, capture_output=True,
                              text=True).stdout

    def find_data(self):
        """The data folder (its postmaster.pid names the postmaster)."""
        server_dir = os.path.join(self.dir, "server_dir")
        base = open(server_dir).read().strip() if os.path.exists(server_dir) else self.dir
        return os.path.join(base, "data")

    def db_uri(self, name):
        self.psql("-c", "drop database if exists %s" % name, "-c", "create database %s" % name)
        return self.uri.replace("/postgres?", "/%s?" % name)

    def commits(self, uri):
        """Transactions committed in the database of `uri` so far (every backend that
        ended has flushed its counts)."""
        db = uri.split("?")[0].rsplit("/", 1)[-1]
        return int(self.psql("-A", "-t", "-c", "select pg_stat_clear_snapshot(); select "
                             "xact_commit from pg_stat_database where datname = '%s'" % db)
                   .split()[-1])

    def commit_ms(self, n=50):
        """What one durable commit costs here: n one-row INSERTs (each its own
        transaction) against n SELECTs, in one psql session each."""
        uri = self.db_uri("probe")
        self.psql("-c", "create table t (i int)", db=uri)

        def timed(sql):
            t = time.monotonic()
            self.psql(*sum((["-c", sql] for _ in range(n)), []), db=uri)
            return time.monotonic() - t
        return max(0.0, (timed("insert into t values (1)") - timed("select 1")) / n * 1000)

    def cpu_s(self, db=None):
        """The whole cluster's CPU: the postmaster, its live children, the reaped ones.
        With db, first wait (up to 5 s) until no backend of that database is left, so
        the one that served the client is reaped into the postmaster's children's time
        rather than lost between reading the postmaster and listing its children."""
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            pm = int(f.readline())

        def kids():
            return subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pm)],
                                  capture_output=True, text=True).stdout.splitlines()
        deadline = time.monotonic() + 5
        while db and time.monotonic() < deadline and any(
                (" %s [local]" % db) in k for k in kids()):
            time.sleep(0.02)
        total = proc_cpu_s(pm, children=True)
        for k in kids():
            try:
                total += proc_cpu_s(int(k.split()[0]))
            except (OSError, IndexError, ValueError):
                pass
        return total

    def stop(self):
        subprocess.run(["sh", self.sh, "stop", self.dir], capture_output=True)


class Bench:
    def __init__(self, args, work):
        self.args, self.work = args, work
        sys.path.insert(0, os.path.join(args.source_dir, "tests/support/dep_sim"))
        from dep_sim import DepSim
        self.dev = os.path.join(work, "dev")
        subprocess.run(["sh", os.path.join(args.source_dir, "scripts/dev_setup.sh"),
                        args.orchard, self.dev, "--dep", args.dep_sim], check=True,
                       stdout=subprocess.DEVNULL)
        with open(os.path.join(self.dev, "dep-credentials.json")) as f:
            creds = json.load(f)
        self.sim = DepSim(args.dep_sim, os.path.join(work, "sim"), creds=creds, devices=DEVICES,
                          seed=1, session_ttl="10m")
        self.env = None
        self.n = 0

    def start(self):
        t0 = time.monotonic()
        self.sim.start(timeout=120)
        self.sim_start_s = time.monotonic() - t0
        self.env = dict(os.environ, ORCHARD_MDM_APPLE_DEP_URL=self.sim.url,
                        ORCHARD_SERVER_URL=SERVER_URL)

    def config(self, store_line):
        """dev_setup's config on a fresh store."""
        self.n += 1
        path = os.path.join(self.work, "orchard-%d.yml" % self.n)
        self.last_config = path
        with open(os.path.join(self.dev, "orchard.yml")) as f:
            text = f.read()
        text = re.sub(r"(?m)^  sqlite: .*$", lambda m: store_line, text)
        with open(path, "w") as f:
            f.write(text)
        return path

    def sqlite_config(self):
        return self.config("  sqlite: %s" % os.path.join(self.work, "dep-%d.db" % (self.n + 1)))

    def sync(self, config, pg=None, perf_data=None, again=False):
        """One `orchard dep sync` on a reset simulator: its figures. again: the next
        sync on the same store and simulator (Apple's records of the assignment)."""
        if not again:
            self.sim.control("reset")
        argv = [self.args.orchard, "dep", "sync", "--quiet", "--config", config]
        if perf_data:
            argv = ["perf", "record", "-F", "999", "--call-graph", "dwarf,16384", "-o",
                    perf_data, "--"] + argv
        sim_cpu0 = proc_cpu_s(self.sim.proc.pid)
        uri = pg_uri_of(config) if pg else None
        db = uri.split("?")[0].rsplit("/", 1)[-1] if pg else None
        pg_cpu0 = pg.cpu_s(db) if pg else 0.0
        commits0 = pg.commits(uri) if pg else 0
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        out = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=600)
        wall = time.monotonic() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if out.returncode != 0:
            raise RuntimeError("orchard dep sync failed (%d): %s%s" % (
                out.returncode, out.stdout, out.stderr[-2000:]))
        stats = self.sim.state(devices=False)
        summary = [l for l in out.stdout.splitlines() if "pages" in l]
        r = {
            "wall_s": wall,
            "cpu_s": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
            "sim_cpu_s": proc_cpu_s(self.sim.proc.pid) - sim_cpu0,
            "pg_cpu_s": (pg.cpu_s(db) - pg_cpu0) if pg else None,
            "commits": (pg.commits(uri) - commits0) if pg else None,
            "summary": summary[-1] if summary else out.stdout.strip(),
            "calls": stats["calls"],
        }
        m = re.search(r"([\d,]+) pages, ([\d,]+) devices(?: .*?([\d,]+) assigned)?",
                      r["summary"])
        if not m:
            raise RuntimeError("no summary line in: %r" % out.stdout)
        r["pages"], r["devices"], r["assigned"] = (int((g or "0").replace(",", ""))
                                                   for g in m.groups())
        if again:
            if r["assigned"] != 0:
                raise RuntimeError("the next sync assigned again: %s" % r["summary"])
        elif r["devices"] != DEVICES or r["assigned"] != DEVICES:
            raise RuntimeError("the sync stored %d and assigned %d of %d devices: %s" % (
                r["devices"], r["assigned"], DEVICES, r["summary"]))
        if perf_data:   # perf's own process is in the rusage: leave CPU to the timed runs
            r["cpu_s"] = None
        return r

    def peer(self):
        """dep_sim's pages fetched by a Python client, nothing stored."""
        self.sim.control("reset")
        s = self.sim.client()
        s.login()
        cpu0 = proc_cpu_s(self.sim.proc.pid)
        fetch_s = parse_s = 0.0
        cursor, pages, devices, nbytes = None, 0, 0, 0
        t0 = time.monotonic()
        while True:
            body = {"limit": 1000}
            if cursor:
                body["cursor"] = cursor
            t = time.monotonic()
            r = s.call("POST", "/server/devices", body)
            t2 = time.monotonic()
            fetch_s += t2 - t
            if r.status != 200:
                raise RuntimeError("peer: page %d: %r" % (pages + 1, r))
            page = json.loads(r.body)
            parse_s += time.monotonic() - t2
            pages += 1
            devices += len(page["devices"])
            nbytes += len(r.body)
            cursor = page["cursor"]
            if not page["more_to_follow"]:
                break
        wall = time.monotonic() - t0
        return {"wall_s": wall, "fetch_s": fetch_s, "parse_s": parse_s, "pages": pages,
                "devices": devices, "bytes": nbytes,
                "sim_cpu_s": proc_cpu_s(self.sim.proc.pid) - cpu0}


def pg_uri_of(config):
    with open(config) as f:
        return re.search(r'(?m)^  postgres: "([^"]+)"', f.read()).group(1)


def perf_split(perf_data):
    """{bucket: share of orchard's samples} from perf's inclusive (children) report."""
    out = subprocess.run(["perf", "report", "-i", perf_data, "--children", "--stdio",
                          "--sort", "symbol"], capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr.strip().splitlines()[-1:] or ["perf report failed"]
    incl = {}
    for line in out.stdout.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+[\d.]+%\s+\[[.k]\]\s+(\S+)", line)
        if m:
            name = m.group(2)
            incl[name] = max(incl.get(name, 0.0), float(m.group(1)))
    split = {k: sum(incl.get(f, 0.0) for f in fs) / 100.0 for k, fs in SPLIT.items()}
    split["other"] = max(0.0, 1.0 - sum(split.values()))
    hot = sorted(((v, k) for k, v in incl.items()
                  if k.startswith("orchard_store_dep") or k in ("orchard_dep_parse_reply",
                                                                  "send_once", "json_loadb")),
                 reverse=True)
    return split, hot


def measure(bench, label, make_config, pg=None, n_runs=RUNS):
    runs = []
    for i in range(n_runs):
        r = bench.sync(make_config(), pg=pg)
        say("%s run %d: %.2f s wall, orchard CPU %.2f s, dep_sim CPU %.2f s%s" % (
            label, i + 1, r["wall_s"], r["cpu_s"], r["sim_cpu_s"],
            "" if r["pg_cpu_s"] is None else ", PostgreSQL CPU %.2f s" % r["pg_cpu_s"]))
        runs.append(r)
    res = {"runs": runs}
    med = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]
    res["median"] = med
    # The next sync on the last run's store: Apple lists every assigned device again
    # as modified (its profile changed), and nothing needs assigning.
    res["again"] = bench.sync(bench.last_config, pg=pg, again=True)
    say("%s next sync: %.2f s, %s" % (label, res["again"]["wall_s"], res["again"]["summary"]))
    if os.environ.get("BENCH_PERF", "1") != "0" and shutil.which("perf"):
        data = os.path.join(bench.work, "perf-%s.data" % label)
        try:
            p = bench.sync(make_config(), pg=pg, perf_data=data)
            split, hot = perf_split(data)
            res["perf"] = {"run": p, "split": split, "hot": hot}
            say("%s perf: %s" % (label, split))
        except (RuntimeError, subprocess.SubprocessError) as e:
            res["perf_note"] = str(e)[:300]
        finally:
            if os.path.exists(data):
                os.unlink(data)
    else:
        res["perf_note"] = "perf is not installed" if not shutil.which("perf") else "BENCH_PERF=0"
    return res


# ---- the section -----------------------------------------------------------------------------

def ms(v):
    return "n/a" if v is None else "%d" % round(v * 1000)


def secs(v):
    return "n/a" if v is None else "%.2f" % v


def split_ms(res):
    """The median run's time, split: JSON, HTTP client, store, other (orchard's CPU by
    the perf shares), and orchard waiting off the CPU (wall - CPU)."""
    med, perf = res["median"], res.get("perf")
    if not perf or not perf["split"]:
        return None
    cpu = med["cpu_s"]
    parts = {k: cpu * v for k, v in perf["split"].items()}
    parts["wait"] = max(0.0, med["wall_s"] - cpu)
    return parts


def section(args, bench, results, peer, pg, load0):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load1 = open("/proc/loadavg").read().split()[:3]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    L = []
    w = L.append
    w("<!-- dep:begin --> (bench/dep/run.py rewrites this section)")
    w("### The DEP sync: %s devices from the simulator, stored and assigned" % "{:,}".format(DEVICES))
    w("")
    w("`bench/dep/run.py`: `dep_sim` (tests/support/dep_sim) plays Apple Business Manager "
      "with %s Macs (%d pages of 1000; it starts in %.1f s). Each run resets the simulator "
      "and starts `orchard dep sync` on a fresh store: the token opened, the account read, "
      "orchard's DEP profile defined, every page fetched (POST /server/devices) and stored "
      "(one transaction per page with its cursor), then the profile assigned to every "
      "device (PUT /profile/devices, 1000 serials a call) and each result recorded. The "
      "time is the whole `orchard dep sync` process (start-up, plugin load, store "
      "migrations included), the median of %d runs on SQLite and %d on PostgreSQL; the run checks that it stored and "
      "assigned all %s devices (its summary line). CPU: orchard's from getrusage of the "
      "child, dep_sim's from /proc, PostgreSQL's the whole cluster's." % (
          "{:,}".format(DEVICES), (DEVICES + 999) // 1000, bench.sim_start_s, RUNS, PG_RUNS,
          "{:,}".format(DEVICES)))
    w("")
    w("Where the time goes: one more run under `perf record -F 999 --call-graph dwarf` "
      "(not timed for the goal); the share of orchard's samples inside each group of "
      "functions (inclusive time) times the median run's CPU: **JSON** (`orchard_dep_parse_reply`: "
      "jansson parsing and checking Apple's replies; the page turned into records; request "
      "bodies), **HTTP client** (`send_once`, `authenticate`: libcurl sending and receiving, "
      "the OAuth signature), **store** (`orchard_store_dep_*`: pages written, the devices "
      "to assign read, results written; on SQLite the database runs inside orchard), "
      "**other** (start-up, configuration, the token, the rest). **Waiting** is the wall "
      "time orchard was off the CPU: the simulator answering (its CPU is beside it) and, "
      "on PostgreSQL, the server's work and durable commits.")
    w("SQLite: `store.sqlite` (WAL, synchronous=NORMAL). PostgreSQL %s: a private "
      "cluster on a unix socket, durable (fsync, synchronous_commit, full_page_writes on)." %
      (pg.version if pg and pg.ok else "(not started)"))
    w("Measured %s on %d CPU(s), %s; build type %s; load average %s at the start and %s at "
      "the end." % (now, os.cpu_count(), cpu, args.build_type, " ".join(load0), " ".join(load1)))
    w("")
    labels = [l for l in ("sqlite", "postgres") if l in results]
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    w("| figure | " + " | ".join(names[l] for l in labels) + " | goal |")
    w("|---|" + "---:|" * len(labels) + "---|")

    def row(title, fn, goal=""):
        w("| %s | %s | %s |" % (title, " | ".join(fn(results[l]) for l in labels), goal))
    row("`orchard dep sync`, %s devices stored and assigned, s (median)" % "{:,}".format(DEVICES),
        lambda r: secs(r["median"]["wall_s"]), "< %d s on SQLite" % GOAL_S)
    row("meets the goal", lambda r: "yes" if r["median"]["wall_s"] < GOAL_S else "no")
    row("every run, s", lambda r: ", ".join(secs(x["wall_s"]) for x in r["runs"]))
    row("devices/s (stored and assigned)", lambda r: "{:,}".format(
        round(DEVICES / r["median"]["wall_s"])))
    row("orchard's CPU (user + system), ms", lambda r: ms(r["median"]["cpu_s"]))
    row("the next sync: Apple's %s records of the assignment (modified), nothing to "
        "assign, s" % "{:,}".format(DEVICES), lambda r: secs(r["again"]["wall_s"]))
    row("the next sync: orchard's CPU, ms", lambda r: ms(r["again"]["cpu_s"]))
    row("dep_sim's CPU, ms", lambda r: ms(r["median"]["sim_cpu_s"]))
    row("PostgreSQL's CPU, ms", lambda r: ms(r["median"]["pg_cpu_s"]))
    row("PostgreSQL: transactions committed by the sync",
        lambda r: "n/a" if r["median"].get("commits") is None else str(r["median"]["commits"]))
    row("calls to the simulator (session, account, profile, fetch pages, assign)",
        lambda r: "%d, %d, %d, %d, %d" % tuple(r["median"]["calls"].get(k, 0) for k in (
            "session", "account", "profile", "fetch", "assign")))
    for key, title in (("json", "JSON (parse and check replies, records, bodies)"),
                       ("http", "HTTP client (libcurl, OAuth)"),
                       ("store", "store (pages, assignment reads and results)"),
                       ("other", "other (start-up, configuration, token)"),
                       ("wait", "waiting off the CPU (dep_sim answering, PostgreSQL)")):
        def cell(r, key=key):
            p = split_ms(r)
            if not p:
                return "n/a"
            total = sum(p.values())
            return "%s (%d%%)" % (ms(p[key]), round(100 * p[key] / total)) if total else "n/a"
        row("split: " + title + ", ms", cell)
    w("")
    w("**The peer**: a Python client (`dep_sim.py`, urllib, one connection per request) "
      "fetched the same %d pages (%s devices, %.1f MB of JSON) from the reset simulator "
      "without storing anything: %.2f s in all, %.2f s of it waiting for the pages "
      "(%.1f ms a page, %s devices/s) and %.2f s in Python's json.loads; dep_sim used "
      "%s ms of CPU. So the simulator alone serves the whole fetch in about %.1f s; what "
      "`orchard dep sync` adds beyond that is the assignment (%d more calls), parsing "
      "and checking, and the store." % (
          peer["pages"], "{:,}".format(peer["devices"]), peer["bytes"] / 1e6, peer["wall_s"],
          peer["fetch_s"], 1000 * peer["fetch_s"] / peer["pages"],
          "{:,}".format(round(peer["devices"] / peer["fetch_s"])), peer["parse_s"],
          ms(peer["sim_cpu_s"]), peer["fetch_s"], (DEVICES + 999) // 1000))
    w("")
    for l in labels:
        p, med = split_ms(results[l]), results[l]["median"]
        if not p:
            continue
        big = max(("json", "http", "store"), key=lambda k: p[k])
        w("- **%s**: %.2f s end to end, %.2f s of it orchard on the CPU (JSON %.2f s, store "
          "%.2f s, HTTP client %.2f s, the rest %.2f s; the largest of the three: %s) and "
          "%.2f s off it, against %.2f s of CPU in dep_sim%s. The simulator alone answers "
          "the %d fetch pages in about %.1f s (the peer), so the assignment's calls, "
          "orchard's parsing and checking and the store make up the rest." % (
              names[l], med["wall_s"], med["cpu_s"], p["json"],
              p["store"], p["http"], p["other"],
              {"json": "JSON", "http": "the HTTP client", "store": "the store"}[big],
              p["wait"], med["sim_cpu_s"],
              "" if med["pg_cpu_s"] is None else " and %.2f s in PostgreSQL" % med["pg_cpu_s"],
              peer["pages"], peer["fetch_s"]))
    for l in labels:
        r = results[l]
        if r.get("perf") and r["perf"]["hot"]:
            w("- %s, perf (inclusive share of orchard's samples; `json_loadb` is inside "
              "`orchard_dep_parse_reply`): %s." % (names[l], ", ".join(
                "`%s` %.1f%%" % (k, v) for v, k in r["perf"]["hot"][:6])))
        elif r.get("perf_note"):
            w("- %s: perf not used: %s." % (names[l], r["perf_note"]))
    if pg and pg.ok and "postgres" in results:
        med = results["postgres"]["median"]
        w("- PostgreSQL's waiting: one durable commit costs %.1f ms on this cluster (%d "
          "one-row INSERTs, each its own transaction, against as many SELECTs); the sync "
          "committed %s transactions, so about %.1f s of its wall time is commits (fsync) "
          "alone." % (pg.commit_ms_v, 50, med.get("commits"),
                      (med.get("commits") or 0) * pg.commit_ms_v / 1000))
    if not (pg and pg.ok):
        w("- **PostgreSQL was not measured**: %s." % (pg.note if pg else "not tried"))
    w("")
    w("Reproduce: `cmake --build build --target bench_dep_run` (BENCH_DEP_DEVICES, "
      "BENCH_DEP_RUNS, BENCH_DEP_PG_RUNS, BENCH_PERF=0).")
    w("<!-- dep:end -->")
    return "\n".join(L) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orchard", required=True)
    p.add_argument("--dep-sim", required=True)
    p.add_argument("--source-dir", required=True)
    p.add_argument("--build-type", default="unknown")
    p.add_argument("--results")
    args = p.parse_args()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    load0 = open("/proc/loadavg").read().split()[:3]
    work = tempfile.mkdtemp(prefix="orchard-bench-dep-")
    bench = pg = None
    try:
        bench = Bench(args, work)
        bench.start()
        results = {}
        say("SQLite: %d runs of %d devices" % (RUNS, DEVICES))
        results["sqlite"] = measure(bench, "sqlite", bench.sqlite_config)
        peer = bench.peer()
        say("peer: %d pages in %.2f s" % (peer["pages"], peer["wall_s"]))
        pg = Pg(args.source_dir, work)
        if pg.ok:
            pg.commit_ms_v = pg.commit_ms()
            say("PostgreSQL: a durable commit costs %.1f ms; %d runs" % (pg.commit_ms_v, PG_RUNS))
            results["postgres"] = measure(
                bench, "postgres",
                lambda: bench.config('  postgres: "%s"' % pg.db_uri("dep%d" % (bench.n + 1))),
                pg=pg, n_runs=PG_RUNS)
        else:
            say(pg.note)
        text = section(args, bench, results, peer, pg, load0)
        sys.stdout.write(text)
        if args.results:
            subprocess.run(["sh", os.path.join(args.source_dir, "bench/results_section.sh"),
                            "dep", args.results], input=text, text=True, check=True)
        return 0
    finally:
        if bench:
            bench.sim.stop()
        if pg:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
