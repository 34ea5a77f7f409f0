#!/usr/bin/python3
"""bench/pages: the admin pages served by `orchard serve` with 10,000 enrolled Macs
(the bench_pages_run target runs it; `bench` too). On a fresh SQLite store that
bench_reconcile_seed fills with N Macs in two teams (K of them on an old macOS):

  - set up: an admin (`orchard user create`, password on stdin), a macOS update
    setting on the first team (PATCH /api/latest/fleet/teams/{id} with a bearer
    token from POST /api/latest/fleet/login), and a sign-in through the page's
    form (POST /login, form-encoded, with this server's Origin) for the
    orchard_session cookie;
  - each page checked once (status, a value it must show), then loaded with
    h2load over HTTP/1.1 (`h2load --h1 -c 2 -n N`, N sized from a short warm-up
    run so each page takes about SECONDS): requests per second, latency (mean
    and max from h2load, p50 and p99 from its per-request log), the body's size,
    and orchard serve's CPU per request (/proc/PID/stat around the run);
  - the baseline in the same run: the JSON API's GET /hosts?per_page=100 and
    GET /hosts/{uuid} with a bearer token, same tool and settings;
  - a page whose p99 misses the goal (50 ms) is run once more under
    `perf record -p <serve>`: the functions holding most of serve's samples.

Prints the markdown section and, with --results FILE, rewrites the pages section
of FILE (bench/results_section.sh).

  run.py --orchard BIN --seed BIN --source-dir DIR [--build-type T] [--results FILE]

BENCH_PAGES_HOSTS (10000), BENCH_PAGES_BELOW (hosts * 12 %), BENCH_PAGES_SECONDS
(3, per page), BENCH_PERF=0 skips perf.
"""

import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

GOAL_MS = 50.0
HOSTS = int(os.environ.get("BENCH_PAGES_HOSTS", "10000"))
BELOW = int(os.environ.get("BENCH_PAGES_BELOW", str(HOSTS * 12 // 100)))
SECONDS = float(os.environ.get("BENCH_PAGES_SECONDS", "3"))
CONNS = 2
PASSWORD = "Bench-pages-42!"   # the password rules: 12 to 48 characters, a digit, a symbol
EMAIL = "admin@bench.invalid"
# The seed's Macs run 14.4 or, the first K of them, 13.6 (bench/reconcile/seed.c).
MINIMUM = "14.4"


def say(*words):
    print("bench pages:", *words, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    """utime + stime of a live process, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def seed_udid(i):
    return "0000BE00-0000-4000-8000-%012d" % i   # bench/reconcile/seed.c's names


class Serve:
    """orchard serve on dev_setup's configuration, a seeded store and a free port."""

    def __init__(self, args, work):
        self.args, self.work = args, work
        self.dev = os.path.join(work, "dev")
        subprocess.run(["sh", os.path.join(args.source_dir, "scripts/dev_setup.sh"),
                        args.orchard, self.dev], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.config = os.path.join(self.dev, "orchard.yml")
        with open(self.config) as f:
            text = f.read()
        # Pushes go to a port nobody listens on (not to `make run`'s stand-in on
        # 2197); full profile passes wait an hour, so none runs during a page's load.
        text = re.sub(r"(?m)^  apple_apns_url: .*$",
                      lambda m: "  apple_apns_url: https://127.0.0.1:%d\n"
                                "  apple_profile_reconcile_interval: 1h" % free_port(), text)
        with open(self.config, "w") as f:
            f.write(text)
        self.env = dict(os.environ, ORCHARD_SERVER_ADDRESS="127.0.0.1:%d" % self.port)
        self.proc = None

    def seed(self):
        t0 = time.monotonic()
        out = subprocess.run([self.args.seed, "--config", self.config, "hosts", "--hosts",
                              str(HOSTS), "--below", str(BELOW)], check=True,
                             capture_output=True, text=True)
        m = re.search(r"hosts (\d+) below (\d+) teams (\d+) (\d+)", out.stdout)
        if not m or int(m.group(1)) != HOSTS:
            raise RuntimeError("bench_reconcile_seed: %r" % out.stdout)
        self.teams = (int(m.group(3)), int(m.group(4)))
        self.seed_s = time.monotonic() - t0

    def start(self):
        self.log_path = os.path.join(self.work, "serve.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([self.args.orchard, "serve", "--config", self.config],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            with open(self.log_path) as f:
                if "listening on http" in f.read():
                    return
            time.sleep(0.05)
        raise RuntimeError("orchard serve did not start: %s" % self.tail())

    def tail(self):
        with open(self.log_path) as f:
            return "".join(f.readlines()[-15:])

    def settle(self, quiet_ticks=2, window=0.5, limit=20.0):
        """Wait (at most `limit` s) until serve uses fewer than quiet_ticks of CPU in
        `window` s: the reconcile pass after the setting's change has ended."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            t = cpu_ticks(self.proc.pid)
            time.sleep(window)
            if cpu_ticks(self.proc.pid) - t < quiet_ticks:
                return True
        return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def request(self, method, path, body=None, headers=None):
        """One request (no redirect followed): (status, headers, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.getheaders(), r.read()
        finally:
            c.close()


def set_up(serve):
    """The admin, the API token, the team's setting, the page's cookie."""
    subprocess.run([serve.args.orchard, "--config", serve.config, "user", "create", "--email",
                    EMAIL, "--name", "Bench admin", "--role", "admin"],
                   input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    st, _, body = serve.request("POST", "/api/latest/fleet/login",
                                json.dumps({"email": EMAIL, "password": PASSWORD}),
                                {"content-type": "application/json"})
    if st != 200:
        raise RuntimeError("POST /api/latest/fleet/login: %d %r" % (st, body[:300]))
    token = json.loads(body)["token"]
    deadline = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    team = serve.teams[0]
    st, _, body = serve.request(
        "PATCH", "/api/latest/fleet/teams/%d" % team,
        json.dumps({"mdm": {"macos_updates": {"minimum_version": MINIMUM,
                                              "deadline": deadline}}}),
        {"authorization": "Bearer " + token, "content-type": "application/json"})
    if st != 200:
        raise RuntimeError("PATCH /teams/%d: %d %r" % (team, st, body[:300]))
    form = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "next": "/hosts"})
    st, hdrs, body = serve.request("POST", "/login", form, {
        "origin": serve.base, "content-type": "application/x-www-form-urlencoded"})
    cookie = None
    for name, value in hdrs:
        m = re.match(r"orchard_session=([^;]+)", value) if name.lower() == "set-cookie" else None
        if m:
            cookie = m.group(1)
    if st != 303 or not cookie:
        raise RuntimeError("POST /login: %d without the session cookie %r" % (st, body[:300]))
    return token, cookie, deadline


def targets(serve, token, cookie):
    """(label, path, headers, what the answer must hold, kind) for every measured URL.
    The Macs below the minimum: the seed's first K alternate between the two teams."""
    udid = seed_udid(1)
    below = (BELOW + 1) // 2
    page = {"cookie": "orchard_session=" + cookie}
    api = {"authorization": "Bearer " + token}
    return [
        ("/hosts", "/hosts", page, ["bench-mac-"], "page"),
        ("/hosts/{uuid}", "/hosts/" + udid, page, [udid], "page"),
        ("/controls/macos-updates?team=ID", "/controls/macos-updates?team=%d" % serve.teams[0],
         page, [MINIMUM, 'id="macs-below">%d<' % below], "page"),
        ("/settings/integrations/mdm", "/settings/integrations/mdm", page,
         ["com.apple.mgmt.dev.orchard"], "page"),
        ("/login (signed out)", "/login", {}, ['name="password"'], "page"),
        ("/assets/orchard.css", "/assets/orchard.css", page, ["{"], "asset"),
        ("GET /api/latest/fleet/hosts?per_page=100", "/api/latest/fleet/hosts?per_page=100",
         api, ["bench-mac-"], "api"),
        ("GET /api/latest/fleet/hosts/{uuid}", "/api/latest/fleet/hosts/" + udid, api, [udid],
         "api"),
    ]


def check(serve, path, headers, marks):
    """The answer once: its size, and the marks it lacks. A status other than 200
    stops the run (a redirect to /login would measure the wrong page)."""
    st, _, body = serve.request("GET", path, headers=headers)
    if st != 200:
        raise RuntimeError("GET %s: %d %r" % (path, st, body[:300]))
    text = body.decode("utf-8", "replace")
    return len(body), [m for m in marks if m not in text]


def h2load(serve, path, headers, n, log=None):
    argv = ["h2load", "--h1", "-c", str(CONNS), "-n", str(n)]
    for k, v in headers.items():
        argv += ["-H", "%s: %s" % (k, v)]
    if log:
        argv.append("--log-file=" + log)
    argv.append(serve.base + path)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError("h2load %s: %s" % (path, out.stderr.strip()[-500:]))
    text = out.stdout
    m = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", text)
    codes = re.search(r"status codes: (\d+) 2xx", text)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", text)
    t = re.search(r"time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+"
                  r"([\d.]+)(us|ms|s)", text)
    if not (m and codes and done and t):
        raise RuntimeError("h2load's output not understood: %r" % text[-800:])
    if int(codes.group(1)) != n or int(done.group(2)) != n:
        raise RuntimeError("h2load %s: %s of %d answered 2xx: %s" % (
            path, codes.group(1), n, text[-600:]))

    def to_ms(v, unit):
        return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    r = {"n": n, "rps": float(m.group(3)), "max_ms": to_ms(t.group(3), t.group(4)),
         "mean_ms": to_ms(t.group(5), t.group(6))}
    if log:
        with open(log) as f:   # start (us since the epoch), status, duration (us)
            lat = sorted(int(line.split()[2]) / 1000.0 for line in f if line.strip())
        if len(lat) != n:
            raise RuntimeError("h2load's log of %s has %d of %d requests" % (path, len(lat), n))
        r["p50_ms"] = rank(lat, 0.50)
        r["p99_ms"] = rank(lat, 0.99)
    return r


def rank(sorted_values, q):
    """The nearest-rank percentile."""
    i = max(0, min(len(sorted_values) - 1, int(-(-q * len(sorted_values) // 1)) - 1))
    return sorted_values[i]


def measure(serve, path, headers):
    """A warm-up run sizes N for about SECONDS; then the timed run, with serve's CPU."""
    warm = h2load(serve, path, headers, 20)
    n = int(max(50, min(100000, warm["rps"] * SECONDS)))
    log = os.path.join(serve.work, "h2load.log")
    hz = os.sysconf("SC_CLK_TCK")
    c0 = cpu_ticks(serve.proc.pid)
    r = h2load(serve, path, headers, n, log=log)
    r["cpu_ms"] = (cpu_ticks(serve.proc.pid) - c0) * 1000.0 / hz / n
    os.unlink(log)
    return r


# perf: inclusive shares of these groups of functions (disjoint call trees).
GROUPS = {
    "template rendering": ["orchard_web_templates_render"],
    "SQLite (statements prepared and stepped)": ["sqlite3_step", "sqlite3_prepare_v2",
                                                 "sqlite3_prepare_v3"],
}


# Every request passes these (the HTTP server, the route table, the store's
# statement helpers): left out of the list of orchard's functions.
GENERIC = ("orchard_mhd_", "orchard_http_", "orchard_sstore_", "orchard_stmt_")


def profile(serve, path, headers, rps):
    """serve's samples during a further run of `path`: (top self-time symbols,
    inclusive shares of GROUPS), or a note saying why not."""
    if os.environ.get("BENCH_PERF", "1") == "0":
        return None, "BENCH_PERF=0"
    if not shutil.which("perf"):
        return None, "perf is not installed"
    data = os.path.join(serve.work, "perf.data")
    perf = subprocess.Popen(["perf", "record", "-F", "499", "--call-graph", "dwarf,16384",
                             "-o", data, "-p",
                             str(serve.proc.pid)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)   # perf attaches asynchronously; nothing to poll for it
        h2load(serve, path, headers, int(max(50, min(100000, rps * SECONDS))))
    finally:
        perf.send_signal(signal.SIGINT)
        err = perf.communicate(timeout=60)[1]
    if perf.returncode not in (0, -signal.SIGINT) or not os.path.exists(data):
        return None, "perf record failed: %s" % err.strip()[-200:]
    self_out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio",
                               "--sort", "symbol", "-g", "none"], capture_output=True, text=True)
    incl_out = subprocess.run(["perf", "report", "-i", data, "--children", "--stdio",
                               "--sort", "symbol", "-g", "none"], capture_output=True, text=True)
    os.unlink(data)
    top = []
    for line in self_out.stdout.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+\[[.k]\]\s+(\S+)", line)
        if m and len(top) < 6:
            top.append((float(m.group(1)), m.group(2)))
    incl = {}
    for line in incl_out.stdout.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+[\d.]+%\s+\[[.k]\]\s+(\S+)", line)
        if m:
            incl[m.group(2)] = max(incl.get(m.group(2), 0.0), float(m.group(1)))
    groups = {k: sum(incl.get(f, 0.0) for f in fs) for k, fs in GROUPS.items()}
    page_fns = sorted(((v, k) for k, v in incl.items()
                       if k.startswith("orchard_") and v >= 5.0 and not k.startswith(GENERIC)),
                      reverse=True)[:6]
    if not top:
        return None, "perf report gave no samples: %s" % self_out.stderr.strip()[-200:]
    return {"top": top, "groups": groups, "fns": page_fns}, None


# ---- the section ------------------------------------------------------------------------

def f1(v):
    return "n/a" if v is None else "%.1f" % v


def source_state(src):
    """The commit measured and how many files of the server's code differ from it
    (the build takes the working tree as it is)."""
    head = subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True)
    if head.returncode != 0:
        return "an unknown commit", 0
    status = subprocess.run(["git", "-C", src, "status", "--porcelain", "--", "server_plugin",
                             "host"], capture_output=True, text=True).stdout
    return "commit " + head.stdout.strip(), len(status.splitlines())


def section(args, serve, rows, load0, deadline, settled):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load1 = open("/proc/loadavg").read().split()[:3]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    version = subprocess.run(["h2load", "--version"], capture_output=True,
                             text=True).stdout.strip()
    pages = [r for r in rows if r["kind"] != "api"]
    commit, dirty = source_state(args.source_dir)
    missed = [r for r in pages if r["p99_ms"] >= GOAL_MS]
    L = []
    w = L.append
    w("<!-- pages:begin --> (bench/pages/run.py rewrites this section)")
    w("### The admin pages with %s enrolled Macs" % "{:,}".format(HOSTS))
    w("")
    w("`bench/pages/run.py`: `orchard serve` on a fresh SQLite store that "
      "`bench_reconcile_seed` filled with %s enrolled Macs in two teams (%s of them on "
      "macOS 13.6, the rest on 14.4); the first team's macOS update setting is %s by %s "
      "(PATCH /teams/{id}), so its %d Macs on 13.6 are below the minimum. An admin signs "
      "in through the page's form (POST /login with this server's Origin) and every page "
      "is loaded with the orchard_session cookie by `%s` over HTTP/1.1 (`h2load --h1 -c %d "
      "-n N`, N sized by a 20-request warm-up so each page runs about %g s). Latency: mean "
      "and max from h2load, p50 and p99 from its per-request log (`--log-file`); size: the "
      "answer's body; server CPU: `orchard serve`'s utime + stime from /proc over the run, "
      "divided by the requests. Each page is first fetched once and checked (status 200 "
      "and a value it must show). The baseline, in the same run: the JSON API's "
      "GET /hosts?per_page=100 and GET /hosts/{uuid} with a bearer token, same tool and "
      "settings." % (
          "{:,}".format(HOSTS), "{:,}".format(BELOW), MINIMUM, deadline, (BELOW + 1) // 2,
          version, CONNS, SECONDS))
    w("Measured %s at %s%s on %d CPU(s), %s, shared with other work; build type %s; "
      "load average %s at the start and %s at the end%s." % (
          now, commit, " with uncommitted changes in %d file(s) of the server's code" % dirty
          if dirty else "", os.cpu_count(), cpu, args.build_type, " ".join(load0),
          " ".join(load1),
          "" if settled else " (serve was still busy with the setting's reconcile pass "
          "when the pages began)"))
    w("")
    w("| URL | requests | req/s | mean ms | p50 ms | p99 ms | max ms | size, bytes "
      "| server CPU ms / request | p99 < %d ms |" % GOAL_MS)
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        w("| %s%s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            "baseline: " if r["kind"] == "api" else "", r["label"].replace("|", "\\|"),
            r["n"], "{:,}".format(round(r["rps"])), f1(r["mean_ms"]), f1(r["p50_ms"]),
            f1(r["p99_ms"]), f1(r["max_ms"]), "{:,}".format(r["size"]),
            "%.2f" % r["cpu_ms"], ("yes" if r["p99_ms"] < GOAL_MS else "**no**")
            if r["kind"] != "api" else "(API)"))
    w("")
    if missed:
        w("**Goal (every page under %d ms at p99 with %s Macs): not met** on this run: %s." % (
            GOAL_MS, "{:,}".format(HOSTS), ", ".join(
                "%s (p99 %.1f ms)" % (r["label"], r["p99_ms"]) for r in missed)))
    else:
        w("**Goal (every page under %d ms at p99 with %s Macs): met** on this run (the "
          "slowest p99: %s, %.1f ms)." % (GOAL_MS, "{:,}".format(HOSTS), *max(
              ((r["label"], r["p99_ms"]) for r in pages), key=lambda x: x[1])))
    by = {r["label"]: r for r in rows}
    for page, api in (("/hosts", "GET /api/latest/fleet/hosts?per_page=100"),
                      ("/hosts/{uuid}", "GET /api/latest/fleet/hosts/{uuid}")):
        p, a = by[page], by[api]
        w("- %s over the API's JSON of the same data: %+.1f ms mean (%.1f against %.1f), "
          "%+.2f ms of server CPU a request (%.2f against %.2f), %s bytes of HTML against "
          "%s of JSON." % (page, p["mean_ms"] - a["mean_ms"], p["mean_ms"], a["mean_ms"],
                           p["cpu_ms"] - a["cpu_ms"], p["cpu_ms"], a["cpu_ms"],
                           "{:,}".format(p["size"]), "{:,}".format(a["size"])))
    for r in rows:
        if r.get("missing"):
            w("- %s did not show %s (the check's value): the page may have changed." % (
                r["label"], ", ".join("`%s`" % m for m in r["missing"])))
    for r in rows:
        prof, note = r.get("perf"), r.get("perf_note")
        if prof:
            w("- Where %s's time goes (`perf record -F 499 --call-graph dwarf -p <serve>` "
              "over a further run; share of serve's samples): self time %s; inclusive: "
              "%s%s." % (
                  r["label"], ", ".join("`%s` %.1f%%" % (s, v) for v, s in prof["top"]),
                  ", ".join("%s %.1f%%" % (k, v) for k, v in prof["groups"].items()),
                  "; orchard's functions: " + ", ".join(
                      "`%s` %.1f%%" % (k, v) for v, k in prof["fns"]) if prof["fns"] else ""))
        elif note:
            w("- %s: perf not used: %s." % (r["label"], note))
    w("- Latency with %d connections on a shared %d-core machine moves with the other "
      "work; server CPU per request moves much less (it includes serve's background jobs "
      "over the run, such as retrying pushes to the absent APNs service: a few ms a "
      "second)." % (CONNS, os.cpu_count()))
    w("")
    w("Reproduce: `cmake --build build --target bench_pages_run` (BENCH_PAGES_HOSTS, "
      "BENCH_PAGES_BELOW, BENCH_PAGES_SECONDS, BENCH_PERF=0).")
    w("<!-- pages:end -->")
    return "\n".join(L) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orchard", required=True)
    p.add_argument("--seed", required=True)
    p.add_argument("--source-dir", required=True)
    p.add_argument("--build-type", default="unknown")
    p.add_argument("--results")
    args = p.parse_args()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    if not shutil.which("h2load"):
        say("h2load is not installed (Debian nghttp2-client; scripts/deps.sh installs it)")
        return 1
    load0 = open("/proc/loadavg").read().split()[:3]
    work = tempfile.mkdtemp(prefix="orchard-bench-pages-")
    serve = None
    try:
        serve = Serve(args, work)
        serve.seed()
        say("%d Macs seeded in %.1f s (teams %d and %d)" % (HOSTS, serve.seed_s, *serve.teams))
        serve.start()
        token, cookie, deadline = set_up(serve)
        settled = serve.settle()
        rows = []
        for label, path, headers, marks, kind in targets(serve, token, cookie):
            size, missing = check(serve, path, headers, marks)
            r = measure(serve, path, headers)
            r.update(label=label, kind=kind, size=size, missing=missing)
            say("%s: %d requests, %.0f/s, mean %.1f ms, p99 %.1f ms, %d bytes, CPU %.2f ms" % (
                label, r["n"], r["rps"], r["mean_ms"], r["p99_ms"], size, r["cpu_ms"]))
            if kind != "api" and r["p99_ms"] >= GOAL_MS:
                r["perf"], r["perf_note"] = profile(serve, path, headers, r["rps"])
            rows.append(r)
        text = section(args, serve, rows, load0, deadline, settled)
        sys.stdout.write(text)
        if args.results:
            subprocess.run(["sh", os.path.join(args.source_dir, "bench/results_section.sh"),
                            "pages", args.results], input=text, text=True, check=True)
        return 0
    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
        say("failed: %s" % e)
        if serve and serve.proc:
            say("serve's log ends:\n" + serve.tail())
        return 1
    finally:
        if serve:
            serve.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
