/* The store_pg_backend suite: what only the PostgreSQL backend has, on the
 * pg_cluster fixture's server (tests/support/pg_cluster/), through the
 * host's store API: `?` beside quotes that hold `?`, booleans and bytea,
 * SQLSTATEs to codes, the writers' advisory lock held by another session,
 * reconnecting after the server dropped every connection, a server that
 * stops answering, the statement cache past its bound and across
 * migrations, read-only opens, and no password in messages.
 * What both backends share is the store suite's (store_test.c). */
#include "tests/suites.h"

#include "host/store/store.h"
#include "host/store/store_backend.h"
#include "tests/host/store_fixture.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <glib.h>
#include <orchard/plugin.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ORCHARD_TEST_HAVE_LIBPQ
#include <libpq-fe.h>

static char *db_uri; /* this case's fresh database; NULL: skipped */

/* A fresh database and the store open on it; 0 when the case runs. */
static int pg_setup(void)
{
    g_autofree char *reason = NULL;

    orchard_store_close();
    orchard_store_set_read_only(0);
    int rc = orchard_pg_test_create_db(&db_uri, &reason);
    if (rc == ORCHARD_ENOTFOUND) {
        if (orchard_pg_test_skip(reason))
            CU_FAIL("PostgreSQL is needed here (CI=true)");
        return rc;
    }
    if (rc != 0) {
        fprintf(stderr, "store_pg_backend: %s\n", reason);
        CU_FAIL("no fresh database");
        return rc;
    }
    return 0;
}

static void pg_teardown(void)
{
    orchard_store_close();
    orchard_store_set_read_only(0);
    config_set("store.busy_timeout_ms", NULL);
    config_set("store.max_connections", NULL);
    if (db_uri)
        CU_ASSERT_EQUAL(orchard_pg_test_drop_db(db_uri), 0);
    g_clear_pointer(&db_uri, g_free);
}

#define PG_CASE(name)                                 \
    static void name##_body(void);                    \
    static void name(void)                            \
    {                                                 \
        if (pg_setup() == 0) {                        \
            if (open_target(db_uri) == 0)             \
                name##_body();                        \
            else                                      \
                CU_FAIL("cannot open the store");     \
        }                                             \
        pg_teardown();                                \
    }                                                 \
    static void name##_body(void)

/* A libpq session of our own: "another instance". */
static PGconn *other_session(void)
{
    PGconn *c = PQconnectdb(db_uri);
    CU_ASSERT_EQUAL(PQstatus(c), CONNECTION_OK);
    return c;
}

static int run_other(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "\nother session: %s: %s\n", sql, PQerrorMessage(c));
    PQclear(r);
    return ok;
}

static int exec_script(const char *script)
{
    orchard_store_tx *tx = NULL;
    int rc = orchard_store_begin(&tx, 1);
    if (rc != 0)
        return rc;
    if ((rc = orchard_store_exec(tx, script)) != 0) {
        orchard_store_rollback(tx);
        return rc;
    }
    return orchard_store_commit(tx);
}

PG_CASE(test_store_pg__placeholders_beside_quotes)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;

    CU_ASSERT_EQUAL_FATAL(exec_script("CREATE TABLE t (k BIGINT PRIMARY KEY, s TEXT)"), 0);
    /* Every ? inside quotes, comments and dollar quotes stays text. */
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "INSERT INTO t (k, s) VALUES (?, 'what? it''s ' "
                                         "|| ? || E' \\'?\\' ' || $$?$$ /* ? */) -- ?\n "
                                         "RETURNING k", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_bind_int(st, 1, 7), 0);
    CU_ASSERT_EQUAL(orchard_stmt_bind_text(st, 2, "x?"), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_int(st, 0), 7);
    CU_ASSERT_EQUAL(orchard_stmt_changes(st), 1); /* RETURNING: a write with rows */
    orchard_stmt_finish(st);
    CU_ASSERT_EQUAL(orchard_store_commit(tx), 0);

    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT s FROM t WHERE k = ?", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_bind_int(st, 1, 7), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    CU_ASSERT_STRING_EQUAL(orchard_stmt_column_text(st, 0), "what? it's x? '?' ?");
    CU_ASSERT_EQUAL(orchard_stmt_changes(st), 0);
    orchard_stmt_finish(st);
    orchard_store_rollback(tx);
}

PG_CASE(test_store_pg__booleans_and_bytea)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    unsigned char all[256];
    size_t len = 99;

    for (size_t i = 0; i < sizeof all; i++)
        all[i] = (unsigned char)i;
    CU_ASSERT_EQUAL_FATAL(exec_script("CREATE TABLE b (k BIGINT PRIMARY KEY, f BOOLEAN, "
                                      "v BYTEA)"), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
    for (int k = 1; k <= 3; k++) {
        CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "INSERT INTO b VALUES (?, ?, ?)", &st), 0);
        CU_ASSERT_EQUAL(orchard_stmt_bind_int(st, 1, k), 0);
        CU_ASSERT_EQUAL(orchard_stmt_bind_int(st, 2, k == 1), 0); /* 1/0 into BOOLEAN */
        CU_ASSERT_EQUAL(orchard_stmt_bind_blob(st, 3, k == 3 ? NULL : all, k == 1 ? 256 : 0), 0);
        CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
        orchard_stmt_finish(st);
    }
    CU_ASSERT_EQUAL(orchard_store_commit(tx), 0);

    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT f, v, v FROM b ORDER BY k", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_int(st, 0), 1);
    const unsigned char *v = orchard_stmt_column_blob(st, 1, &len);
    CU_ASSERT_EQUAL(len, 256);
    CU_ASSERT(v && memcmp(v, all, sizeof all) == 0);
    const char *hex = orchard_stmt_column_text(st, 2);
    CU_ASSERT(hex && g_str_has_prefix(hex, "\\x000102") && strlen(hex) == 2 + 512);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_int(st, 0), 0);
    v = orchard_stmt_column_blob(st, 1, &len);
    CU_ASSERT_PTR_NOT_NULL(v); /* empty, not NULL */
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(st, 1), 1);
    CU_ASSERT_PTR_NULL(orchard_stmt_column_blob(st, 1, &len));
    /* Out of range columns read as NULL, never past the result. */
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(st, 3), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(st, -1), 1);
    CU_ASSERT_PTR_NULL(orchard_stmt_column_text(st, 3));
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    orchard_stmt_finish(st);
    orchard_store_rollback(tx);
}

/* `sql` in a write transaction fails at prepare or step with `code` and a
 * message holding `says`. */
static void check_fails(const char *sql, int code, const char *says)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;

    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
    int rc = orchard_stmt_prepare(tx, sql, &st);
    if (rc == 0)
        rc = orchard_stmt_step(st);
    const char *msg = orchard_store_errmsg(tx);
    if (rc != code || !strstr(msg, says))
        fprintf(stderr, "\n\"%s\": %d, \"%s\"\n", sql, rc, msg);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, says));
    orchard_store_rollback(tx);
}

PG_CASE(test_store_pg__sqlstates)
{
    CU_ASSERT_EQUAL_FATAL(exec_script("CREATE TABLE e (k BIGINT PRIMARY KEY, v TEXT NOT NULL, "
                                      "n BIGINT CHECK (n > 0)); INSERT INTO e VALUES (1, 'a', 1)"), 0);
    check_fails("INSERT INTO e VALUES (1, 'b', 1)", ORCHARD_EEXIST, "duplicate key");
    check_fails("INSERT INTO e VALUES (2, NULL, 1)", ORCHARD_EINVAL, "not-null");
    check_fails("INSERT INTO e VALUES (3, 'c', -1)", ORCHARD_EINVAL, "check constraint");
    check_fails("SELECT 1 / 0", ORCHARD_EINVAL, "division by zero");
    check_fails("SELECT * FROM nosuch", ORCHARD_EINVAL, "nosuch");
    check_fails("SELECT 'unterminated", ORCHARD_EINVAL, "unterminated");
    check_fails("SELECT ?1", ORCHARD_EINVAL, "numbered placeholder");
    check_fails("SELECT CAST('x' AS BIGINT)", ORCHARD_EINVAL, "invalid input syntax");
    check_fails("SELECT nosuch_fn()", ORCHARD_EINVAL, "nosuch_fn");
    /* A bad parameter index says so, without reaching the server. */
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_stmt_prepare(tx, "SELECT CAST(? AS BIGINT)", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_bind_int(st, 2, 1), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), "out of range"));
    orchard_store_rollback(tx);
    /* A write kept in the statement cache by a write transaction is refused
     * at prepare in a read transaction on the same connection, too. */
    orchard_store_close();
    config_set("store.max_connections", "1");
    CU_ASSERT_EQUAL_FATAL(open_target(db_uri), 0);
    CU_ASSERT_EQUAL(write_sql("DELETE FROM e WHERE k = ?", 1, 99, 0), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "DELETE FROM e WHERE k = ?", &st), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), "a read transaction cannot write: \""));
    orchard_store_rollback(tx);
    /* A write the server finds in a read transaction (prepare let it by). */
    CU_ASSERT_EQUAL(exec_script("CREATE SEQUENCE seq"), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_stmt_prepare(tx, "SELECT nextval('seq')", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), "read transaction"));
    orchard_store_rollback(tx);
}

PG_CASE(test_store_pg__scripts)
{
    /* A function body in dollar quotes keeps its ; and ? */
    CU_ASSERT_EQUAL(exec_script("CREATE TABLE s (k BIGINT); -- one;\n"
                                "CREATE FUNCTION f(x BIGINT) RETURNS BIGINT AS $body$ "
                                "SELECT x + 1; -- ? ;\n $body$ LANGUAGE sql;;"
                                "INSERT INTO s VALUES (f(41)); /* ; */"), 0);
    CU_ASSERT_EQUAL(read_int("SELECT k FROM s", 0, 0), 42);
    CU_ASSERT_EQUAL(exec_script("INSERT INTO s VALUES (1); COMMIT"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(exec_script("INSERT INTO s VALUES (1); SAVEPOINT x"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(exec_script("INSERT INTO s VALUES (1); SELECT $$never"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(exec_script("INSERT INTO s VALUES (1); /* a /* b */ */ COMMIT"),
                    ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(exec_script("INSERT INTO s VALUES (1); DISCARD ALL"), ORCHARD_EINVAL);
    /* A COMMIT behind a nested comment passes the host's check, not ours:
     * the writer's transaction, and its lock, stay whole. */
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "INSERT INTO s VALUES (2)", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    orchard_stmt_finish(st);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "/* a /* b */ */ COMMIT", &st), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), "belong to the store"));
    orchard_store_rollback(tx);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM s", 0, 0), 1); /* nothing of those */
}

PG_CASE(test_store_pg__writer_lock_across_sessions)
{
    orchard_store_tx *tx = NULL;
    g_autofree char *lock = g_strdup_printf("SELECT pg_advisory_lock(%lld)",
                                            (long long)ORCHARD_STORE_PG_WRITER_LOCK);
    g_autofree char *unlock = g_strdup_printf("SELECT pg_advisory_unlock(%lld)",
                                              (long long)ORCHARD_STORE_PG_WRITER_LOCK);

    orchard_store_close();
    config_set("store.busy_timeout_ms", "200");
    CU_ASSERT_EQUAL_FATAL(open_target(db_uri), 0);
    PGconn *other = other_session();
    CU_ASSERT_FATAL(run_other(other, lock));
    int64_t t0 = now_ms();
    CU_ASSERT_EQUAL(orchard_store_begin(&tx, 1), ORCHARD_EBUSY);
    int64_t waited = now_ms() - t0;
    CU_ASSERT(waited >= 150 && waited < 3000);
    /* Readers do not wait for the writers' lock. */
    CU_ASSERT_EQUAL(orchard_store_begin(&tx, 0), 0);
    orchard_store_rollback(tx);
    CU_ASSERT(run_other(other, unlock));
    CU_ASSERT_EQUAL(write_sql("CREATE TABLE w (k BIGINT)", 0, 0, 0), 0);
    PQfinish(other);
}

PG_CASE(test_store_pg__reconnect_after_connections_dropped)
{
    CU_ASSERT_EQUAL_FATAL(write_sql("CREATE TABLE r (k BIGINT)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM r", 0, 0), 0);
    /* What a server restart does to idle connections; the pool does not
     * know until it uses them. Our connections say application_name. */
    PGconn *other = other_session();
    CU_ASSERT(run_other(other, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE application_name = 'orchard' AND "
                               "datname = current_database() AND pid <> pg_backend_pid()"));
    /* Terminating is a signal: wait (5 s at most) until they are gone. */
    int left = -1;
    for (int i = 0; i < 100 && left != 0; i++) {
        PGresult *res = PQexec(other, "SELECT count(*) FROM pg_stat_activity WHERE "
                                      "application_name = 'orchard' AND "
                                      "datname = current_database()");
        left = PQresultStatus(res) == PGRES_TUPLES_OK ? atoi(PQgetvalue(res, 0, 0)) : -1;
        PQclear(res);
        if (left != 0)
            g_usleep(50 * 1000);
    }
    CU_ASSERT_EQUAL(left, 0);
    /* The next transactions begin, each on a reconnected connection. */
    CU_ASSERT_EQUAL(write_sql("INSERT INTO r VALUES (1)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM r", 0, 0), 1);
    CU_ASSERT_EQUAL(read_int("SELECT k FROM r WHERE k = ?", 1, 1), 1); /* prepared anew */
    PQfinish(other);
}

/* A reader ends without waiting for the server's answer, yet the server
 * ends it at once: its snapshot and locks do not outlive it on the pooled
 * connection, and the connection's next begin reads the answer. */
PG_CASE(test_store_pg__reader_end_releases_at_once)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;

    orchard_store_close();
    config_set("store.max_connections", "1");
    CU_ASSERT_EQUAL_FATAL(open_target(db_uri), 0);
    CU_ASSERT_EQUAL_FATAL(write_sql("CREATE TABLE x (k BIGINT)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM x", 0, 0), 0); /* ends with commit */
    PGconn *other = other_session();
    /* An exclusive lock waits for any reader still holding the table. */
    CU_ASSERT(run_other(other, "SET lock_timeout = '3s'; BEGIN; "
                               "LOCK TABLE x IN ACCESS EXCLUSIVE MODE; COMMIT"));
    /* The same after a rollback, and after a failed statement. */
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT k FROM x", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    orchard_store_rollback(tx);
    CU_ASSERT(run_other(other, "BEGIN; LOCK TABLE x IN ACCESS EXCLUSIVE MODE; COMMIT"));
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT k FROM x", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    orchard_stmt_finish(st);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT CAST(? AS BIGINT)", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_bind_text(st, 1, "y"), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_store_commit(tx), ORCHARD_EINVAL);
    CU_ASSERT(run_other(other, "BEGIN; LOCK TABLE x IN ACCESS EXCLUSIVE MODE; COMMIT"));
    /* Each next begin on the one connection works. */
    CU_ASSERT_EQUAL(write_sql("INSERT INTO x VALUES (1)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM x", 0, 0), 1);
    PQfinish(other);
}

/* A server that stops answering (SIGSTOP of our backend: what a frozen
 * host or a partition looks like on a unix socket) costs a request
 * busy_timeout_ms + 10 s, not for ever; the connection is given up and the
 * next request gets a fresh one. A migration is not held to that. */
PG_CASE(test_store_pg__frozen_server_bounded)
{
    orchard_store_close();
    config_set("store.busy_timeout_ms", "100");
    config_set("store.max_connections", "1");
    CU_ASSERT_EQUAL_FATAL(open_target(db_uri), 0);
    CU_ASSERT_EQUAL_FATAL(write_sql("CREATE TABLE z (k BIGINT)", 0, 0, 0), 0);
    /* A migration may stay silent longer (an index on a big table). */
    CU_ASSERT_EQUAL(exec_script("SELECT pg_sleep(10.3); INSERT INTO z VALUES (1)"), 0);
    CU_ASSERT_EQUAL(write_sql("DELETE FROM z", 0, 0, 0), 0);
    PGconn *other = other_session();
    PGresult *res = PQexec(other, "SELECT pid FROM pg_stat_activity WHERE application_name = "
                                  "'orchard' AND datname = current_database()");
    CU_ASSERT_EQUAL_FATAL(PQntuples(res), 1);
    pid_t pid = (pid_t)g_ascii_strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (kill(pid, SIGSTOP) != 0) {
        fprintf(stderr, "\nSKIP: cannot stop the server's process %d: %s\n", (int)pid,
                g_strerror(errno));
        PQfinish(other);
        return;
    }
    int64_t t0 = now_ms();
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM z", 0, 0), NO_ROW);
    int64_t waited = now_ms() - t0;
    kill(pid, SIGCONT);
    CU_ASSERT(waited >= 10000 && waited < 20000);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM z", 0, 0), 0);
    PQfinish(other);
}

PG_CASE(test_store_pg__statement_cache_past_its_bound)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *a = NULL, *b = NULL;

    CU_ASSERT_EQUAL_FATAL(write_sql("CREATE TABLE c (k BIGINT)", 0, 0, 0), 0);
    /* 300 texts on one connection (max_connections 1): the cache keeps
     * 256, the rest are deallocated at later begins, which must not fail. */
    orchard_store_close();
    config_set("store.max_connections", "1");
    CU_ASSERT_EQUAL_FATAL(open_target(db_uri), 0);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 300; i++) {
            g_autofree char *sql = g_strdup_printf("SELECT CAST(? AS BIGINT) + %d", i);
            CU_ASSERT_EQUAL(read_int(sql, 1, 1), i + 1);
        }
    /* One text twice at once: the second is a statement of its own. */
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT 1", &a), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT 1", &b), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(a), 1);
    CU_ASSERT_EQUAL(orchard_stmt_step(b), 1);
    orchard_stmt_finish(a);
    orchard_stmt_finish(b);
    orchard_store_rollback(tx);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM c", 0, 0), 0);
    CU_ASSERT_EQUAL(read_int("SELECT 1", 0, 0), 1);
}

/* Three read transactions at once, so three connections cache `sql`. */
static void read_on_three(const char *sql, int want_rc)
{
    orchard_store_tx *tx[3] = {NULL};
    for (int i = 0; i < 3; i++) {
        orchard_stmt *st = NULL;
        CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx[i], 0), 0);
        int rc = orchard_stmt_prepare(tx[i], sql, &st);
        if (rc == 0)
            rc = orchard_stmt_step(st);
        if (rc != want_rc)
            fprintf(stderr, "\nconnection %d: %d %s\n", i, rc, orchard_store_errmsg(tx[i]));
        CU_ASSERT_EQUAL(rc, want_rc);
    }
    for (int i = 0; i < 3; i++)
        orchard_store_rollback(tx[i]);
}

/* A migration (here, or another instance's) changes a table under
 * statements kept on every connection: none fails for it, on any. */
PG_CASE(test_store_pg__cached_statements_after_migration)
{
    CU_ASSERT_EQUAL_FATAL(exec_script("CREATE TABLE m (id BIGINT, a BIGINT); "
                                      "INSERT INTO m VALUES (1, 2)"), 0);
    read_on_three("SELECT * FROM m WHERE id = 1", 1);
    CU_ASSERT_EQUAL(exec_script("ALTER TABLE m ADD COLUMN b BIGINT"), 0);
    read_on_three("SELECT * FROM m WHERE id = 1", 1);
    /* Another instance's migration: its exec notifies as ours does. */
    PGconn *other = other_session();
    CU_ASSERT(run_other(other, "BEGIN; ALTER TABLE m ADD COLUMN c BIGINT; "
                               "NOTIFY orchard_schema; COMMIT"));
    read_on_three("SELECT * FROM m WHERE id = 1", 1);
    PQfinish(other);
}

PG_CASE(test_store_pg__read_only)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    g_autofree char *err = NULL;

    CU_ASSERT_EQUAL_FATAL(write_sql("CREATE TABLE q (k BIGINT)", 0, 0, 0), 0);
    orchard_store_close();
    orchard_store_set_read_only(1);
    CU_ASSERT_EQUAL_FATAL(open_target(db_uri), 0);
    CU_ASSERT_EQUAL(orchard_store_begin(&tx, 1), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "INSERT INTO q VALUES (1)", &st), ORCHARD_EINVAL);
    orchard_store_rollback(tx);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM q", 0, 0), 0);
    orchard_store_close();

    /* No such database: ENOTFOUND, and the database is not created. */
    g_autofree char *missing = g_strdup(db_uri);
    char *name = strstr(missing, "orchard_t_");
    CU_ASSERT_PTR_NOT_NULL_FATAL(name);
    name[0] = 'X'; /* a database name nobody made */
    CU_ASSERT_EQUAL(orchard_store_open(missing, &err), ORCHARD_ENOTFOUND);
    CU_ASSERT(err && strstr(err, "does not exist"));
}

/* A password in the connection string never reaches a message. */
static void test_store_pg__password_never_shown(void)
{
    const char *const targets[] = {
        "postgresql://orchard:Sekrit-pw1@/orchard?host=/nonexistent-orchard-dir",
        "postgresql://orchard:Sekrit-pw1@127.0.0.1:1/orchard?connect_timeout=2",
        "postgresql:///orchard?host=/nonexistent-orchard-dir&password=Sekrit-pw1",
    };
    orchard_store_close();
    for (size_t i = 0; i < G_N_ELEMENTS(targets); i++) {
        g_autofree char *err = NULL;
        int rc = orchard_store_open(targets[i], &err);
        CU_ASSERT_EQUAL(rc, ORCHARD_ENOTFOUND);
        CU_ASSERT_PTR_NOT_NULL(err);
        CU_ASSERT_PTR_NULL(err ? strstr(err, "Sekrit") : NULL);
        CU_ASSERT(err && strstr(err, "cannot connect to PostgreSQL"));
        if (rc == 0)
            orchard_store_close();
    }
}

void store_pg_backend_suite(void)
{
    ORCHARD_ADD_SUITE("store_pg_backend", NULL, NULL,
        {"test_store_pg__placeholders_beside_quotes", test_store_pg__placeholders_beside_quotes},
        {"test_store_pg__booleans_and_bytea", test_store_pg__booleans_and_bytea},
        {"test_store_pg__sqlstates", test_store_pg__sqlstates},
        {"test_store_pg__scripts", test_store_pg__scripts},
        {"test_store_pg__writer_lock_across_sessions", test_store_pg__writer_lock_across_sessions},
        {"test_store_pg__reconnect_after_connections_dropped", test_store_pg__reconnect_after_connections_dropped},
        {"test_store_pg__reader_end_releases_at_once", test_store_pg__reader_end_releases_at_once},
        {"test_store_pg__frozen_server_bounded", test_store_pg__frozen_server_bounded},
        {"test_store_pg__statement_cache_past_its_bound", test_store_pg__statement_cache_past_its_bound},
        {"test_store_pg__cached_statements_after_migration", test_store_pg__cached_statements_after_migration},
        {"test_store_pg__read_only", test_store_pg__read_only},
        {"test_store_pg__password_never_shown", test_store_pg__password_never_shown});
}

#else /* no libpq: no PostgreSQL backend in this build, nothing to test */

static void test_store_pg__built_without_libpq(void)
{
    if (orchard_pg_test_skip("this build has no libpq, so no PostgreSQL backend"))
        CU_FAIL("PostgreSQL is needed here (CI=true)");
}

void store_pg_backend_suite(void)
{
    ORCHARD_ADD_SUITE("store_pg_backend", NULL, NULL,
        {"test_store_pg__built_without_libpq", test_store_pg__built_without_libpq});
}

#endif
