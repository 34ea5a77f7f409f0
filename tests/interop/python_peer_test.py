#!/usr/bin/python3
"""Interop test: a Python stand-in for osqueryd drives orchard.ext over the wire.

The peer is python3-thrift's stock server and client classes plus code that
`thrift --gen py` made from specs/osquery.thrift, so orchard's Thrift is
checked against a stack nobody here wrote. Prints "N passed, M failed" last.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

IO_TIMEOUT_MS = 5000    # bound on every Thrift read/write the peer makes
EXT_TIMEOUT_S = 3       # orchard.ext --timeout
EXT_INTERVAL_S = 1      # orchard.ext --interval
REGISTER_WAIT_S = 10    # start -> registered, generous for slow CI machines
EXIT_WAIT_S = 4 * EXT_INTERVAL_S + 3

TABLE = "orchard_plugins"
# (name, type, op) as orchard must register them: op 1 is INDEX.
EXPECTED_COLUMNS = [
    ("name", "TEXT", "1"), ("version", "TEXT", "0"), ("abi_version", "INTEGER", "0"),
    ("path", "TEXT", "0"), ("tables", "TEXT", "0"), ("commands", "TEXT", "0"),
    ("routes", "TEXT", "0"), ("jobs", "TEXT", "0"),
]
CORE_PLUGIN = "orchard-core"
REGISTRY_SQL = "select name from osquery_registry where registry = 'table'"

# Filled in by load_thrift() once --gen-py is known.
Extension = ExtensionManager = ttypes = None
TSocket = TTransport = TBinaryProtocol = TServer = None


class Failure(Exception):
    """A scenario's expectation did not hold."""


def check(cond, message):
    if not cond:
        raise Failure(message)


def load_thrift(gen_py):
    global Extension, ExtensionManager, ttypes, TSocket, TTransport, TBinaryProtocol, TServer
    sys.path.insert(0, gen_py)
    from osquery import Extension, ExtensionManager, ttypes  # noqa: F811 (generated)
    from thrift.protocol import TBinaryProtocol
    from thrift.server import TServer
    from thrift.transport import TSocket, TTransport


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise Failure("timed out after %.1fs waiting for %s" % (timeout, what))


class FakeOsqueryd:
    """The manager side of osqueryd: answers ExtensionManager calls on a unix
    socket with TThreadedServer, and records what the extension sent."""

    BUILTIN_TABLES = ("osquery_info", "processes", "time")

    def __init__(self, path, extra_tables=()):
        self.path = path
        self.tables = set(self.BUILTIN_TABLES) | set(extra_tables)
        self.lock = threading.Lock()
        self.registered = {}       # uuid -> InternalExtensionInfo
        self.registrations = []    # (uuid, info, registry), in arrival order
        self.deregistered = []     # uuids
        self.queries = []

    # --- ExtensionManager (and Extension) methods, called by the processor
    def ping(self):
        return ttypes.ExtensionStatus(code=0, message="OK")

    def call(self, registry, item, request):
        status = ttypes.ExtensionStatus(code=1, message="no plugins in the fake manager")
        return ttypes.ExtensionResponse(status=status, response=[])

    def shutdown(self):
        pass

    def extensions(self):
        with self.lock:
            return dict(self.registered)

    def options(self):
        return {}

    def registerExtension(self, info, registry):
        with self.lock:
            clash = sorted(self.tables & set(registry.get("table", {})))
            if clash:
                # osqueryd refuses the whole registration for one clash.
                return ttypes.ExtensionStatus(
                    code=1, message="Duplicate registry item: %s" % clash[0])
            uuid = random.randint(10**9, 10**12)  # exercise i64, not just i32
            self.registered[uuid] = info
            self.registrations.append((uuid, info, registry))
            return ttypes.ExtensionStatus(code=0, message="OK", uuid=uuid)

    def deregisterExtension(self, uuid):
        with self.lock:
            self.deregistered.append(uuid)
            self.registered.pop(uuid, None)
        return ttypes.ExtensionStatus(code=0, message="OK", uuid=uuid)

    def query(self, sql):
        with self.lock:
            self.queries.append(sql)
            rows = [{"name": t} for t in sorted(self.tables)] if "osquery_registry" in sql else []
        return ttypes.ExtensionResponse(status=ttypes.ExtensionStatus(code=0, message="OK"),
                                        response=rows)

    def getQueryColumns(self, sql):
        return self.query("")

    # --- lifecycle
    def start(self):
        server = TServer.TThreadedServer(
            ExtensionManager.Processor(self), TSocket.TServerSocket(unix_socket=self.path),
            TTransport.TBufferedTransportFactory(), TBinaryProtocol.TBinaryProtocolFactory(),
            daemon=True)
        # The serve thread is never joined: when a scenario ends its socket
        # file is removed and the thread idles in accept() until we exit.
        threading.Thread(target=server.serve, daemon=True).start()
        wait_until(lambda: os.path.exists(self.path), 5, "the fake manager socket")

    def forget_all(self):
        """What an osqueryd worker restart does: registrations and extension
        sockets are gone."""
        with self.lock:
            gone = list(self.registered)
            self.registered.clear()
        for uuid in gone:
            try:
                os.unlink("%s.%d" % (self.path, uuid))
            except FileNotFoundError:
                pass

    def registration_count(self):
        with self.lock:
            return len(self.registrations)

    def last_registration(self):
        with self.lock:
            return self.registrations[-1] if self.registrations else None


def ext_client_call(path, method, *args):
    """One call on a new connection, as osqueryd makes them."""
    sock = TSocket.TSocket(unix_socket=path)
    sock.setTimeout(IO_TIMEOUT_MS)
    transport = TTransport.TBufferedTransport(sock)
    client = Extension.Client(TBinaryProtocol.TBinaryProtocol(transport))
    transport.open()
    try:
        return getattr(client, method)(*args)
    finally:
        transport.close()


class OrchardExt:
    """One orchard.ext child; stderr kept in a file for failure messages."""

    children = []

    def __init__(self, binary, socket_path, workdir, label):
        self.stderr_path = os.path.join(workdir, label + ".stderr")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "--socket", socket_path, "--timeout", str(EXT_TIMEOUT_S),
             "--interval", str(EXT_INTERVAL_S), "--verbose"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr)
        OrchardExt.children.append(self)

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_exit(self, timeout, what):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure("orchard.ext did not exit within %ds after %s; stderr:\n%s"
                          % (timeout, what, self.stderr()))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()

    @classmethod
    def kill_all(cls):
        for child in cls.children:
            child.kill()


def wait_registered(manager, ext, after=0):
    """Wait for registration number after+1 and for its socket to answer."""
    def registered():
        if ext.proc.poll() is not None:
            raise Failure("orchard.ext exited with %d before registering; stderr:\n%s"
                          % (ext.proc.returncode, ext.stderr()))
        return manager.registration_count() > after
    wait_until(registered, REGISTER_WAIT_S, "registerExtension")
    uuid, info, registry = manager.last_registration()
    path = "%s.%d" % (manager.path, uuid)

    def serving():
        try:
            return ext_client_call(path, "ping").code == 0
        except Exception:
            return False
    wait_until(serving, 5, "orchard.ext to answer ping on " + path)
    return uuid, info, registry, path


# --- scenarios on one long-lived orchard.ext (state carried in ctx)

def expected_column_maps():
    return [{"id": "column", "name": n, "type": t, "op": op} for n, t, op in EXPECTED_COLUMNS]


def sc_registration(ctx):
    uuid, info, registry, path = wait_registered(ctx["manager"], ctx["ext"])
    ctx.update(uuid=uuid, path=path)
    check(info.name == "orchard", "extension name is %r, want 'orchard'" % info.name)
    check(info.version, "extension version is empty")
    check(list(registry) == ["table"], "registry kinds %r, want ['table']" % list(registry))
    tables = registry["table"]
    check(TABLE in tables, "%s not registered; tables: %r" % (TABLE, sorted(tables)))
    check(tables[TABLE] == expected_column_maps(),
          "registered columns differ:\n got  %r\n want %r" % (tables[TABLE], expected_column_maps()))
    check(REGISTRY_SQL in ctx["manager"].queries,
          "orchard.ext never asked osquery_registry for existing tables")


def sc_ping(ctx):
    status = ext_client_call(ctx["path"], "ping")
    check(status.code == 0, "ping: code %d (%s)" % (status.code, status.message))


def call_table(ctx, request, table=TABLE):
    return ext_client_call(ctx["path"], "call", "table", table, request)


def sc_columns(ctx):
    resp = call_table(ctx, {"action": "columns"})
    check(resp.status.code == 0, "columns: code %d (%s)" % (resp.status.code, resp.status.message))
    check(resp.response == expected_column_maps(),
          "columns differ from the registered list:\n got %r" % resp.response)


def check_core_row(resp, what):
    check(resp.status is not None and resp.status.code == 0,
          "%s: status %r" % (what, resp.status))
    names = [row.get("name") for row in resp.response]
    check(CORE_PLUGIN in names, "%s: no %s row in %r" % (what, CORE_PLUGIN, resp.response))
    known = {n for n, _, _ in EXPECTED_COLUMNS}
    for row in resp.response:
        check(set(row) <= known, "%s: unknown keys %r" % (what, sorted(set(row) - known)))
        check(all(isinstance(v, str) for v in row.values()), "%s: non-string value" % what)
        check(row.get("abi_version", "0").isdigit(), "%s: abi_version %r" % (what, row))


def sc_generate_empty(ctx):
    check_core_row(call_table(ctx, {"action": "generate", "context": "{}"}), "context {}")
    check_core_row(call_table(ctx, {"action": "generate"}), "no context key")


def sc_generate_constraint(ctx):
    context = {"constraints": [{"name": "name", "list": [{"op": 2, "expr": CORE_PLUGIN}],
                                "affinity": "TEXT"}], "colsUsed": ["name"]}
    resp = call_table(ctx, {"action": "generate", "context": json.dumps(context)})
    check_core_row(resp, "name = '%s'" % CORE_PLUGIN)


def sc_generate_old_context(ctx):
    # Older osqueryd: op as a string, and "" for an empty constraint list.
    old_op = {"constraints": [{"name": "name", "list": [{"op": "2", "expr": CORE_PLUGIN}],
                               "affinity": "TEXT"}]}
    empty_list = {"constraints": [{"name": "name", "list": "", "affinity": "TEXT"}]}
    check_core_row(call_table(ctx, {"action": "generate", "context": json.dumps(old_op)}),
                   "op as string")
    check_core_row(call_table(ctx, {"action": "generate", "context": json.dumps(empty_list)}),
                   "list as \"\"")


def sc_readonly(ctx):
    for action in ("insert", "update", "delete"):
        resp = call_table(ctx, {"action": action, "json_value_array": "[\"x\"]", "id": "1"})
        check(resp.response == [{"status": "readonly"}],
              "%s: got %r, want [{'status': 'readonly'}]" % (action, resp.response))


def sc_unknown_table(ctx):
    resp = call_table(ctx, {"action": "generate", "context": "{}"}, table="no_such_table")
    check(resp.status.code == 1, "unknown table: code %d, want 1" % resp.status.code)


def sc_restart_reregisters(ctx):
    manager, old_uuid = ctx["manager"], ctx["uuid"]
    before = manager.registration_count()
    manager.forget_all()
    uuid, info, registry, path = wait_registered(manager, ctx["ext"], after=before)
    check(uuid != old_uuid, "re-registered on the old uuid")
    check(TABLE in registry.get("table", {}), "re-registration lacks %s" % TABLE)
    ctx.update(uuid=uuid, path=path)
    check_core_row(call_table(ctx, {"action": "generate", "context": "{}"}),
                   "generate after re-registration")


def sc_sigterm(ctx):
    ext, manager = ctx["ext"], ctx["manager"]
    ext.proc.send_signal(signal.SIGTERM)
    rc = ext.wait_exit(EXIT_WAIT_S, "SIGTERM")
    check(rc == 0, "exit code %d after SIGTERM, want 0; stderr:\n%s" % (rc, ext.stderr()))
    check(ctx["uuid"] in manager.deregistered,
          "no deregisterExtension(%d); got %r" % (ctx["uuid"], manager.deregistered))


# --- scenarios that each need their own manager and orchard.ext

def fresh(ctx, label, extra_tables=()):
    workdir = os.path.join(ctx["tmp"], label)
    os.mkdir(workdir)
    manager = FakeOsqueryd(os.path.join(workdir, "osquery.em"), extra_tables)
    manager.start()
    return manager, OrchardExt(ctx["binary"], manager.path, workdir, label)


def orchard_tables(binary):
    """Every table the binary registers, asked of the binary itself."""
    out = subprocess.run([binary.replace(".ext", ""), "query", "--json",
                          "select tables from orchard_plugins"],
                         capture_output=True, check=True, timeout=30).stdout
    return sorted(t for row in json.loads(out) for t in row["tables"].split(",") if t)


def sc_clash_leaves_out(ctx):
    # fleetd registers mdm and macos_profiles: one clash would reject everything.
    taken = ("mdm", "macos_profiles")
    manager, ext = fresh(ctx, "fleetd", extra_tables=taken)
    _, _, registry, _ = wait_registered(manager, ext)
    tables = sorted(registry["table"])
    for t in taken:
        check(t not in tables, "%s registered although osqueryd already has it" % t)
    check(TABLE in tables, "%s left out too: %r" % (TABLE, tables))
    err = ext.stderr()
    check(all(t in err for t in taken), "stderr does not name %s:\n%s" % (taken, err))


def sc_clash_exits(ctx):
    taken = orchard_tables(ctx["binary"])
    manager, ext = fresh(ctx, "clash", extra_tables=taken)
    rc = ext.wait_exit(EXT_TIMEOUT_S + 5, "finding every table taken")
    err = ext.stderr()
    check(rc > 0, "exit code %d with nothing to register, want a non-zero exit (not a signal);"
          " stderr:\n%s" % (rc, err))
    check(TABLE in err, "stderr does not name %s:\n%s" % (TABLE, err))
    check(manager.registration_count() == 0, "registered although every table clashes")


def sc_manager_socket_removed(ctx):
    manager, ext = fresh(ctx, "gone")
    wait_registered(manager, ext)
    os.unlink(manager.path)
    rc = ext.wait_exit(EXIT_WAIT_S, "the manager socket was removed")
    check(rc == 0, "exit code %d, want 0; stderr:\n%s" % (rc, ext.stderr()))


def sc_shutdown_rpc(ctx):
    manager, ext = fresh(ctx, "shutdown")
    _, _, _, path = wait_registered(manager, ext)
    ext_client_call(path, "shutdown")
    rc = ext.wait_exit(EXIT_WAIT_S, "shutdown()")
    check(rc == 0, "exit code %d, want 0; stderr:\n%s" % (rc, ext.stderr()))


SCENARIOS = [
    ("registration: name orchard, orchard_plugins columns", sc_registration),
    ("extension answers ping", sc_ping),
    ("call columns equals the registered list", sc_columns),
    ("generate with an empty context", sc_generate_empty),
    ("generate with name = 'orchard-core'", sc_generate_constraint),
    ("generate with the old context form", sc_generate_old_context),
    ("insert/update/delete answer readonly", sc_readonly),
    ("unknown table gives code 1", sc_unknown_table),
    ("osqueryd restart: re-registers on a new uuid", sc_restart_reregisters),
    ("SIGTERM: deregisters, exits 0", sc_sigterm),
    ("mdm and macos_profiles taken (fleetd): the rest registers", sc_clash_leaves_out),
    ("every table taken: exits non-zero", sc_clash_exits),
    ("manager socket removed: exits 0", sc_manager_socket_removed),
    ("shutdown(): exits 0", sc_shutdown_rpc),
]


def run(args):
    tmp = tempfile.mkdtemp(prefix="orchard-interop-")
    passed = failed = 0
    try:
        ctx = {"tmp": tmp, "binary": args.ext}
        main_dir = os.path.join(tmp, "main")
        os.mkdir(main_dir)
        ctx["manager"] = FakeOsqueryd(os.path.join(main_dir, "osquery.em"))
        ctx["manager"].start()
        ctx["ext"] = OrchardExt(args.ext, ctx["manager"].path, main_dir, "main")
        for title, scenario in SCENARIOS:
            started = time.monotonic()
            try:
                scenario(ctx)
                passed += 1
                print("PASS %s (%.2fs)" % (title, time.monotonic() - started), flush=True)
            except Failure as e:
                failed += 1
                print("FAIL %s: %s" % (title, e), flush=True)
            except Exception:
                failed += 1
                print("FAIL %s: unexpected error\n%s" % (title, traceback.format_exc()),
                      flush=True)
    finally:
        OrchardExt.kill_all()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ext", required=True, help="path to orchard.ext")
    parser.add_argument("--gen-py", required=True, help="directory of thrift --gen py output")
    args = parser.parse_args()
    if not os.access(args.ext, os.X_OK):
        print("cannot execute %s" % args.ext, file=sys.stderr)
        return 2
    load_thrift(args.gen_py)
    # A ctest timeout or ^C still runs run()'s cleanup (children, temp dir).
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
