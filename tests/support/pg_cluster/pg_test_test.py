#!/usr/bin/python3
"""pg_test.py, the Python tests' PostgreSQL helper, tested: where it finds
the cluster and why not, skip() as a line and an exit status (a failure
under CI=true), databases made and dropped on the ctest cluster, and a drop
that refuses any database it did not make. Prints "N passed, M failed"."""

import os
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pg_test  # noqa: E402


def with_env(changes, fn):
    saved = {k: os.environ.get(k) for k in changes}
    try:
        for k, v in changes.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        return fn()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_reasons():
    uri, reason = with_env({"ORCHARD_TEST_PG_DIR": None, "ORCHARD_TEST_PG_URI": None},
                           pg_test.server)
    assert uri is None and "ORCHARD_TEST_PG_DIR is not set" in reason, reason
    with tempfile.TemporaryDirectory() as d:
        uri, reason = with_env({"ORCHARD_TEST_PG_DIR": d, "ORCHARD_TEST_PG_URI": None},
                               pg_test.server)
        assert uri is None and "no cluster in" in reason, reason
        with open(os.path.join(d, "skip"), "w") as f:
            f.write("no binaries here\n")
        uri, reason = with_env({"ORCHARD_TEST_PG_DIR": d, "ORCHARD_TEST_PG_URI": None},
                               pg_test.server)
        assert uri is None and reason.endswith("could not start PostgreSQL: no binaries here"), \
            reason
    uri, _ = with_env({"ORCHARD_TEST_PG_URI": "postgresql:///elsewhere"}, pg_test.server)
    assert uri == "postgresql:///elsewhere", uri


def run_skip(ci):
    env = dict(os.environ, PYTHONPATH=HERE, CI="true" if ci else "")
    return subprocess.run([sys.executable, "-c", "import pg_test; pg_test.skip('no server')"],
                          env=env, capture_output=True, text=True, timeout=30)


def test_skip_exit_status():
    r = run_skip(False)
    assert r.returncode == 0 and r.stdout.strip() == "SKIP (PostgreSQL): no server", r
    r = run_skip(True)
    assert r.returncode == 1 and "CI=true" in r.stdout, r


def test_drop_refuses_others():
    for uri in ["postgresql:///postgres", "postgresql:///template1?host=/tmp",
                'postgresql:///orchard_t_x"y', "postgresql:///ORCHARD_T_upper", "postgresql://"]:
        try:
            pg_test.drop_db(uri)
        except ValueError:
            continue
        raise AssertionError("drop_db accepted " + uri)


def test_create_and_drop():
    uri, reason = pg_test.server()
    if uri is None:
        # The line and the CI rule, as every PostgreSQL test has them.
        print("SKIP (PostgreSQL): %s" % reason)
        if os.environ.get("CI") == "true":
            raise AssertionError("CI=true and no cluster: " + reason)
        return
    a, b = pg_test.create_db(), pg_test.create_db()
    assert a != b and a.startswith("postgresql://"), (a, b)
    assert "/" + pg_test.DB_PREFIX in a and ("host=" in a or "@" in a), a
    psql = pg_test._psql()
    r = subprocess.run([psql, "-X", "-A", "-t", "-d", a, "-c", "select current_database()"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.strip().startswith(pg_test.DB_PREFIX), r
    pg_test.drop_db(a)
    pg_test.drop_db(a)  # again: no error
    r = subprocess.run([psql, "-X", "-A", "-t", "-d", a, "-c", "select 1"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "does not exist" in r.stderr, r
    pg_test.drop_db(b)


def main():
    passed = failed = 0
    for fn in (test_reasons, test_skip_exit_status, test_drop_refuses_others,
               test_create_and_drop):
        try:
            fn()
            passed += 1
            print("PASS " + fn.__name__)
        except Exception:
            failed += 1
            print("FAIL " + fn.__name__)
            traceback.print_exc(file=sys.stdout)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
