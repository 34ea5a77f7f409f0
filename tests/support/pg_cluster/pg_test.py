"""PostgreSQL for the Python tests: the private cluster ctest started.

ctest's fixture (pg_cluster.sh start) writes the cluster's libpq URI to
$ORCHARD_TEST_PG_DIR/uri; tests registered with orchard_test_uses_postgres()
get that variable and this folder on PYTHONPATH. Usage:

    import pg_test
    uri = pg_test.require()          # the server, or skip (exit 0; 1 under CI=true)
    db = pg_test.create_db()         # a fresh database's URI
    ...
    pg_test.drop_db(db)

The C tests have the same in pg_test.h.
"""

import os
import random
import shutil
import subprocess
import sys
import urllib.parse

DB_PREFIX = "orchard_t_"
_counter = 0


def server():
    """(uri, None) for the cluster's `postgres` database, or (None, reason)."""
    direct = os.environ.get("ORCHARD_TEST_PG_URI")
    if direct:
        return direct, None
    d = os.environ.get("ORCHARD_TEST_PG_DIR")
    if not d:
        return None, ("ORCHARD_TEST_PG_DIR is not set: run the test through ctest, whose "
                      "fixture pg_cluster_start starts a private cluster")
    try:
        with open(os.path.join(d, "skip")) as f:
            return None, "pg_cluster.sh could not start PostgreSQL: " + f.read().strip()
    except FileNotFoundError:
        pass
    try:
        with open(os.path.join(d, "uri")) as f:
            uri = f.read().strip()
    except FileNotFoundError:
        uri = ""
    if not uri:
        return None, "no cluster in %s (did ctest's pg_cluster_start run?)" % d
    return uri, None


def skip(reason):
    """Print the skip line and end the test: exit 0, or 1 under CI=true."""
    if os.environ.get("CI") == "true":
        print("FAIL (PostgreSQL): %s; CI=true, where PostgreSQL tests must run" % reason,
              flush=True)
        sys.exit(1)
    print("SKIP (PostgreSQL): %s" % reason, flush=True)
    sys.exit(0)


def require():
    """The server's URI, or skip() the whole test."""
    uri, reason = server()
    if uri is None:
        skip(reason)
    return uri


def _psql():
    d = os.environ.get("ORCHARD_TEST_PG_DIR")
    if d:
        try:
            with open(os.path.join(d, "bin")) as f:
                p = os.path.join(f.read().strip(), "psql")
            if os.access(p, os.X_OK):
                return p
        except FileNotFoundError:
            pass
    return shutil.which("psql") or "psql"


def _sql(uri, statement):
    r = subprocess.run([_psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", uri,
                        "-c", statement], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (statement, r.stderr.strip()))


def _with_db(uri, name):
    """`uri` naming database `name` instead, every other option kept."""
    u = urllib.parse.urlsplit(uri)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))


def create_db():
    """A fresh, empty database on the server (skips when there is none): its URI."""
    global _counter
    uri = require()
    _counter += 1
    name = "%s%d_%d_%08x" % (DB_PREFIX, os.getpid(), _counter, random.getrandbits(32))
    # template0 and FILE_COPY, as pg_test.c does (nobody is connected to it; fast).
    _sql(uri, 'CREATE DATABASE "%s" TEMPLATE template0 STRATEGY FILE_COPY' % name)
    return _with_db(uri, name)


def drop_db(db_uri):
    """Drop a database create_db made, even with connections left open."""
    name = urllib.parse.urlsplit(db_uri).path.lstrip("/")
    if not name.startswith(DB_PREFIX) or '"' in name:
        raise ValueError("not a test database: %s" % db_uri)
    uri, _ = server()
    if uri:
        _sql(uri, 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
