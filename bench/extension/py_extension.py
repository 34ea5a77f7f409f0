#!/usr/bin/python3
"""The benchmark's peer: an osquery extension written the way the
osquery-python SDK writes one, on Debian's python3-thrift, serving the same
small table (same columns, same one row) as orchard.ext's orchard_plugins.

Serving mirrors osquery-python's start_extension() (osquery/management.py):
TSocket.TServerSocket(unix_socket=<socket>.<uuid>) with a
TTransport.TBufferedTransportFactory, a TBinaryProtocol.TBinaryProtocolFactory
and TServer.TSimpleServer (one connection at a time); a daemon thread pings
the manager every --interval over the client connection and exits when that
fails. Usage: py_extension.py --gen-py DIR --socket PATH [--timeout S] [--interval S]
"""

import argparse
import json
import os
import sys
import threading
import time

TABLE = "py_plugins"
COLUMNS = [("name", "TEXT", "1"), ("version", "TEXT", "0"), ("abi_version", "INTEGER", "0"),
           ("path", "TEXT", "0"), ("tables", "TEXT", "0"), ("commands", "TEXT", "0"),
           ("routes", "TEXT", "0"), ("jobs", "TEXT", "0")]
ROW = {"name": "orchard-core", "version": "0.1.0", "abi_version": "1", "path": "",
       "tables": "orchard_plugins", "commands": "query,extension,help,version",
       "routes": "", "jobs": ""}


def parse_args():
    parser = argparse.ArgumentParser(description="python extension for the benchmark")
    parser.add_argument("--gen-py", required=True, help="thrift --gen py output directory")
    parser.add_argument("--socket", default="/var/osquery/osquery.em")
    parser.add_argument("--timeout", type=int, default=1)
    parser.add_argument("--interval", type=int, default=1)
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args()


ARGS = parse_args()
sys.path.insert(0, ARGS.gen_py)

from osquery import Extension, ExtensionManager  # noqa: E402 (generated code)
from osquery.ttypes import (ExtensionResponse, ExtensionStatus,  # noqa: E402
                            InternalExtensionInfo)
from thrift.protocol import TBinaryProtocol  # noqa: E402
from thrift.server import TServer  # noqa: E402
from thrift.transport import TSocket, TTransport  # noqa: E402


class TablePlugin:
    """Extension.Iface for one read-only table, as the SDK's TablePlugin
    answers osqueryd's call()s."""

    def ping(self):
        return ExtensionStatus(code=0, message="OK")

    def shutdown(self):
        os._exit(0)

    def columns(self):
        return [{"id": "column", "name": n, "type": t, "op": op} for n, t, op in COLUMNS]

    def call(self, registry, item, request):
        if registry != "table" or item != TABLE:
            return ExtensionResponse(status=ExtensionStatus(code=1, message="Unknown table"),
                                     response=[])
        action = request.get("action")
        if action == "columns":
            rows = self.columns()
        elif action == "generate":
            json.loads(request.get("context") or "{}")  # the SDK parses it, too
            rows = [dict(ROW)]
        elif action in ("insert", "update", "delete"):
            rows = [{"status": "readonly"}]
        else:
            return ExtensionResponse(status=ExtensionStatus(code=1, message="Unknown action"),
                                     response=[])
        return ExtensionResponse(status=ExtensionStatus(code=0, message="OK"), response=rows)


def open_manager(path, timeout):
    """A client to the manager, retried until --timeout (the SDK's ExtensionClient)."""
    deadline = time.monotonic() + max(timeout, 1)
    while True:
        transport = TTransport.TBufferedTransport(TSocket.TSocket(unix_socket=path))
        try:
            transport.open()
            return ExtensionManager.Client(TBinaryProtocol.TBinaryProtocol(transport))
        except TTransport.TTransportException:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def watch_manager(client, interval):
    try:
        while client.ping().code == 0:
            time.sleep(interval)
    except Exception:
        pass
    os._exit(0)


def main():
    plugin = TablePlugin()
    client = open_manager(ARGS.socket, ARGS.timeout)
    info = InternalExtensionInfo(name="py_bench", version="1.0.0", sdk_version="1.8.0",
                                 min_sdk_version="1.8.0")
    status = client.registerExtension(info, {"table": {TABLE: plugin.columns()}})
    if status.code != 0:
        print("registration refused: %s" % status.message, file=sys.stderr)
        return 1
    threading.Thread(target=watch_manager, args=(client, ARGS.interval), daemon=True).start()
    server = TServer.TSimpleServer(
        Extension.Processor(plugin),
        TSocket.TServerSocket(unix_socket="%s.%d" % (ARGS.socket, status.uuid)),
        TTransport.TBufferedTransportFactory(), TBinaryProtocol.TBinaryProtocolFactory())
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
