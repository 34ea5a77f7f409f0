/* PostgreSQL for the C tests: the address of the private cluster ctest
 * started (pg_cluster.sh, ORCHARD_TEST_PG_DIR), a fresh database per test,
 * and the one skip line when there is no cluster. The store suites use it
 * through tests/host/store_fixture.c; the server suites through
 * orchard_test_store() when ORCHARD_TEST_STORE=postgres. */
#ifndef ORCHARD_TEST_PG_TEST_H
#define ORCHARD_TEST_PG_TEST_H

/**
 * The server's libpq URI (its `postgres` database) in *uri (g_free):
 * ORCHARD_TEST_PG_URI when set, else DIR/uri of the cluster in
 * ORCHARD_TEST_PG_DIR. Returns 0, or ORCHARD_ENOTFOUND with *reason
 * (g_free) saying why there is none (not run through ctest, the cluster
 * could not start: DIR/skip's text). *uri is NULL on failure.
 */
int orchard_pg_test_server(char **uri, char **reason);

/**
 * Make an empty database with a name of its own (orchard_t_<pid>_<n>) on
 * that server and return its URI in *uri (g_free). Returns 0,
 * ORCHARD_ENOTFOUND (no server, *reason as above) or ORCHARD_EIO (the
 * server refused; *reason has its message).
 */
int orchard_pg_test_create_db(char **uri, char **reason);

/**
 * Drop the database `uri` names (one orchard_pg_test_create_db made), even
 * while a killed process's connections linger. Returns 0, ORCHARD_EINVAL
 * (not a test database's URI) or ORCHARD_EIO.
 */
int orchard_pg_test_drop_db(const char *uri);

/**
 * Say that a test runs without PostgreSQL: prints "SKIP (PostgreSQL):
 * <reason>" once per process and returns 0, except under CI=true, where
 * PostgreSQL tests must run: it prints why and returns 1 (the caller fails).
 */
int orchard_pg_test_skip(const char *reason);

/** The backend ORCHARD_TEST_STORE names ("sqlite", "postgres"), or NULL. */
const char *orchard_pg_test_wanted(void);

/**
 * The store a server test opens. With ORCHARD_TEST_STORE=postgres: a fresh
 * database made on first use for `sqlite_path` (the same one again for the
 * same path in this process), dropped when the process exits; otherwise
 * `sqlite_path` itself. Borrowed until exit. When PostgreSQL is wanted and
 * missing, it prints the skip line and ends the process (exit 0; 1 under
 * CI=true): every test of such a run needs it.
 */
const char *orchard_test_store(const char *sqlite_path);

/** The config key that names orchard_test_store()'s stores. */
const char *orchard_test_store_key(void);

/** A store of orchard_test_store()'s kind that cannot be reached: a file in
 * a directory that does not exist, or a server socket that does not. */
const char *orchard_test_store_unreachable(void);

#endif
