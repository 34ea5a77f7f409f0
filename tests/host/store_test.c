/* The store suite, written once for every backend: each test runs on each
 * entry of the fixture's backends (store_fixture.c) with a fresh store,
 * through the host API's functions only (store.h), so a PostgreSQL entry
 * gets the same proof as SQLite. This file is the API within one process:
 * lifecycle, migrations, statements, threads; store_process_test.c has the
 * tests with other processes and the file itself. */
#include "host/store/store.h"
#include "tests/host/log_capture.h"
#include "tests/host/store_fixture.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* --- helpers: one statement, stderr, timeouts */

/* 1 when `sql` prepares and runs in a read transaction (the table exists). */
static int read_ok(const char *sql)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    if (orchard_store_begin(&tx, 0) != 0)
        return 0;
    int ok = orchard_stmt_prepare(tx, sql, &st) == 0 && orchard_stmt_step(st) >= 0;
    orchard_store_rollback(tx);
    return ok;
}

/* Reopen with store.busy_timeout_ms set to `ms`. */
static int reopen_with_timeout(fixture *f, const char *ms)
{
    orchard_store_close();
    config_set("store.busy_timeout_ms", ms);
    return open_target(f->target);
}

/* ------------------------------------------------------------------------ */
/* Lifecycle */

STORE_TEST(test_store__open_close_reopen)
{
    CU_ASSERT_EQUAL(orchard_store_is_open(), 1);
    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (?, ?)", 2, 1, 42), 0);

    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(orchard_store_open(f->target, &err), ORCHARD_EEXIST);
    CU_ASSERT_PTR_NOT_NULL(err);

    orchard_store_close();
    CU_ASSERT_EQUAL(orchard_store_is_open(), 0);
    orchard_store_close(); /* closing a closed store is fine */
    CU_ASSERT_EQUAL(open_target(f->target), 0);
    CU_ASSERT_EQUAL(read_int("SELECT v FROM kv WHERE k = ?", 1, 1), 42);
}

STORE_TEST(test_store__lazy_open_from_config)
{
    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (?, ?)", 2, 7, 70), 0);
    orchard_store_close();

    config_set(f->b->config_key, f->target);
    CU_ASSERT_EQUAL(read_int("SELECT v FROM kv WHERE k = ?", 1, 7), 70);
    CU_ASSERT_EQUAL(orchard_store_is_open(), 1);
}

STORE_TEST(test_store__lazy_open_unset_config)
{
    orchard_store_tx *tx = (orchard_store_tx *)&tx; /* must come back NULL */
    log_capture cap;

    orchard_store_close();
    log_capture_start(&cap, f->dir);
    int rc = orchard_store_begin(&tx, 0);
    int mrc = orchard_store_migrate("nobody", (const char *const[]){"CREATE TABLE x (a INTEGER)"}, 1);
    g_autofree char *log = log_capture_end(&cap);
    /* 2026-12-05: "not configured" is its own code (ABI 1.2), no longer
     * ENOTFOUND, which callers read as "no such row". */
    CU_ASSERT_EQUAL(rc, ORCHARD_ENOTCONFIGURED);
    CU_ASSERT_PTR_NULL(tx);
    CU_ASSERT_EQUAL(mrc, ORCHARD_ENOTCONFIGURED);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "store.sqlite is not set: "));
    CU_ASSERT_EQUAL(orchard_store_is_open(), 0);

    /* Two stores named at once is a mistake, not a choice to guess. */
    config_set("store.sqlite", f->target);
    config_set("store.postgres", "postgres://localhost/orchard");
    log_capture_start(&cap, f->dir);
    rc = orchard_store_begin(&tx, 0);
    g_autofree char *log2 = log_capture_end(&cap);
    CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(log2, "both set"));
    CU_ASSERT_EQUAL(orchard_store_is_open(), 0);
}

/* close() waits for a transaction another thread holds, and keeps its work. */
typedef struct {
    GMutex lock;
    GCond cond;
    int began;
    int rc;
} late_writer;

static gpointer late_writer_run(gpointer p)
{
    late_writer *w = p;
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int rc = orchard_store_begin(&tx, 1);
    g_mutex_lock(&w->lock);
    w->began = 1;
    g_cond_signal(&w->cond);
    g_mutex_unlock(&w->lock);
    if (rc != 0) {
        w->rc = rc;
        return NULL;
    }
    g_usleep(200 * 1000);
    rc = orchard_stmt_prepare(tx, "INSERT INTO kv (k, v) VALUES (1, 1)", &st);
    if (rc == 0)
        rc = orchard_stmt_step(st);
    w->rc = rc == 0 ? orchard_store_commit(tx) : (orchard_store_rollback(tx), rc);
    return NULL;
}

STORE_TEST(test_store__close_waits_for_transactions)
{
    late_writer w = {0};
    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    GThread *t = g_thread_new("late-writer", late_writer_run, &w);
    g_mutex_lock(&w.lock);
    while (!w.began)
        g_cond_wait(&w.cond, &w.lock);
    g_mutex_unlock(&w.lock);
    orchard_store_close();
    g_thread_join(t);
    CU_ASSERT_EQUAL(w.rc, 0);
    CU_ASSERT_EQUAL(open_target(f->target), 0);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM kv", 0, 0), 1);
}

/* ------------------------------------------------------------------------ */
/* Migrations */

STORE_TEST(test_store__migrate_once_in_order)
{
    (void)f;
    const char *const m[] = {
        "CREATE TABLE mig (n INTEGER NOT NULL); CREATE INDEX mig_n ON mig (n)",
        "INSERT INTO mig (n) VALUES (1)",
        "INSERT INTO mig (n) SELECT max(n) * 10 FROM mig", /* needs version 2 first */
        "INSERT INTO mig (n) SELECT max(n) + 5 FROM mig",
    };
    int64_t max;

    CU_ASSERT_EQUAL(orchard_store_migrate("alpha", m, 3), 0);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM mig", 0, 0), 2);
    CU_ASSERT_EQUAL(read_int("SELECT sum(n) FROM mig", 0, 0), 11);
    CU_ASSERT_EQUAL(versions_of("alpha", &max), 3);
    CU_ASSERT_EQUAL(max, 3);

    /* Again: nothing runs twice. */
    CU_ASSERT_EQUAL(orchard_store_migrate("alpha", m, 3), 0);
    CU_ASSERT_EQUAL(read_int("SELECT sum(n) FROM mig", 0, 0), 11);
    CU_ASSERT_EQUAL(versions_of("alpha", &max), 3);

    /* A new version: only it runs. */
    CU_ASSERT_EQUAL(orchard_store_migrate("alpha", m, 4), 0);
    CU_ASSERT_EQUAL(read_int("SELECT sum(n) FROM mig", 0, 0), 26);
    CU_ASSERT_EQUAL(versions_of("alpha", &max), 4);
    CU_ASSERT_EQUAL(max, 4);

    /* An older build with fewer versions is refused and changes nothing
     * (store_migrate_test.c checks the message). */
    CU_ASSERT_EQUAL(orchard_store_migrate("alpha", m, 2), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(read_int("SELECT sum(n) FROM mig", 0, 0), 26);
}

STORE_TEST(test_store__migrate_failure_rolls_back_and_stops)
{
    const char *const bad[] = {
        "CREATE TABLE f1 (a INTEGER)",
        "CREATE TABLE f2 (a INTEGER); INSERT INTO nosuch (a) VALUES (1)",
        "CREATE TABLE f3 (a INTEGER)",
    };
    const char *const fixed[] = {bad[0], "CREATE TABLE f2 (a INTEGER)", bad[2]};
    int64_t max;
    log_capture cap;

    log_capture_start(&cap, f->dir);
    int rc = orchard_store_migrate("failer", bad, 3);
    g_autofree char *log = log_capture_end(&cap);
    CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
    /* The log names owner, version and the database's own words. */
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "failer"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "version 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "nosuch"));
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM f1", 0, 0), 0); /* v1 stays */
    CU_ASSERT_FALSE(read_ok("SELECT count(*) FROM f2"));          /* v2 rolled back whole */
    CU_ASSERT_FALSE(read_ok("SELECT count(*) FROM f3"));          /* v3 never ran */
    CU_ASSERT_EQUAL(versions_of("failer", &max), 1);

    CU_ASSERT_EQUAL(orchard_store_migrate("failer", fixed, 3), 0);
    CU_ASSERT_TRUE(read_ok("SELECT count(*) FROM f3"));
    CU_ASSERT_EQUAL(versions_of("failer", &max), 3);

    /* Transactions belong to the store, in migrations too. */
    const char *const sneaky[] = {"CREATE TABLE s1 (a INTEGER); COMMIT; CREATE TABLE s2 (a INTEGER)"};
    log_capture_start(&cap, f->dir);
    rc = orchard_store_migrate("sneaky", sneaky, 1);
    g_free(log_capture_end(&cap));
    CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
    CU_ASSERT_FALSE(read_ok("SELECT count(*) FROM s1"));
    CU_ASSERT_EQUAL(versions_of("sneaky", &max), 0);
}

STORE_TEST(test_store__migrate_owners_independent)
{
    (void)f;
    const char *const a[] = {"CREATE TABLE a1 (x INTEGER)", "CREATE TABLE a2 (x INTEGER)"};
    const char *const b[] = {"CREATE TABLE b1 (x INTEGER)", "CREATE TABLE b2 (x INTEGER)",
                             "CREATE TABLE b3 (x INTEGER)"};
    int64_t max;

    CU_ASSERT_EQUAL(orchard_store_migrate("plugin-a", a, 1), 0);
    CU_ASSERT_EQUAL(orchard_store_migrate("plugin-b", b, 3), 0);
    CU_ASSERT_EQUAL(versions_of("plugin-a", &max), 1);
    CU_ASSERT_EQUAL(versions_of("plugin-b", &max), 3);
    /* b's version 2 does not count as a's */
    CU_ASSERT_EQUAL(orchard_store_migrate("plugin-a", a, 2), 0);
    CU_ASSERT_TRUE(read_ok("SELECT count(*) FROM a2"));
    CU_ASSERT_EQUAL(versions_of("plugin-a", &max), 2);
    CU_ASSERT_EQUAL(max, 2);
    CU_ASSERT_EQUAL(orchard_store_migrate("plugin-a", NULL, 1), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_store_migrate("", a, 1), ORCHARD_EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Statements */

/* i holds all of int64 (PostgreSQL's INTEGER is 32 bits); bytes are BLOB
 * or BYTEA, as a migration names them per dialect. */
static int make_vals(fixture *f)
{
    g_autofree char *sql = g_strdup_printf(
        "CREATE TABLE vals (id INTEGER PRIMARY KEY, i BIGINT, t TEXT, b %s)", f->b->blob_type);
    return write_sql(sql, 0, 0, 0);
}

static int insert_vals(int64_t id, int64_t i, const char *t, const void *b, size_t blen)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int rc = orchard_store_begin(&tx, 1);
    if (rc != 0)
        return rc;
    rc = orchard_stmt_prepare(tx, "INSERT INTO vals (id, i, t, b) VALUES (?, ?, ?, ?)", &st);
    if (rc == 0)
        rc = orchard_stmt_bind_int(st, 1, id);
    if (rc == 0)
        rc = orchard_stmt_bind_int(st, 2, i);
    if (rc == 0)
        rc = orchard_stmt_bind_text(st, 3, t);
    if (rc == 0)
        rc = orchard_stmt_bind_blob(st, 4, b, blen);
    if (rc == 0)
        rc = orchard_stmt_step(st);
    if (rc == 0)
        CU_ASSERT_EQUAL(orchard_stmt_changes(st), 1);
    if (rc != 0) {
        orchard_store_rollback(tx);
        return rc;
    }
    return orchard_store_commit(tx);
}

STORE_TEST(test_store__bind_and_columns)
{
    static const unsigned char nuls[] = {'a', 0, 'b', 0, 0, 'c'};
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    size_t len = 99;

    CU_ASSERT_EQUAL(make_vals(f), 0);
    CU_ASSERT_EQUAL(insert_vals(1, INT64_MIN, "h\xc3\xa9llo", nuls, sizeof nuls), 0);
    CU_ASSERT_EQUAL(insert_vals(2, INT64_MAX, NULL, NULL, 0), 0);
    CU_ASSERT_EQUAL(insert_vals(3, 0, "", "", 0), 0); /* empty, not NULL */

    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT i, t, b FROM vals ORDER BY id", &st), 0);

    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_int(st, 0), INT64_MIN);
    CU_ASSERT_STRING_EQUAL(orchard_stmt_column_text(st, 1), "h\xc3\xa9llo");
    const void *b = orchard_stmt_column_blob(st, 2, &len);
    CU_ASSERT_EQUAL(len, sizeof nuls);
    CU_ASSERT(b && memcmp(b, nuls, sizeof nuls) == 0);
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(st, 1), 0);

    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_int(st, 0), INT64_MAX);
    CU_ASSERT_PTR_NULL(orchard_stmt_column_text(st, 1));
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(st, 1), 1);
    CU_ASSERT_PTR_NULL(orchard_stmt_column_blob(st, 2, &len));
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(st, 2), 1);

    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_int(st, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(st, 1), 0);
    CU_ASSERT_STRING_EQUAL(orchard_stmt_column_text(st, 1), "");
    len = 99;
    CU_ASSERT_PTR_NOT_NULL(orchard_stmt_column_blob(st, 2, &len));
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(st, 2), 0);

    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    /* No current row: columns read as NULL rather than stale data. */
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(st, 0), 1);
    CU_ASSERT_PTR_NULL(orchard_stmt_column_text(st, 1));
    CU_ASSERT_EQUAL(orchard_stmt_changes(st), 0);
    orchard_store_rollback(tx); /* finishes st */
}

STORE_TEST(test_store__big_blob)
{
    const size_t n = 1u << 20;
    g_autofree unsigned char *big = g_malloc(n);
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    size_t len = 0;

    for (size_t i = 0; i < n; i++)
        big[i] = (unsigned char)(i * 131 + (i >> 11)); /* NULs included, no period of 256 */
    CU_ASSERT_EQUAL(make_vals(f), 0);
    CU_ASSERT_EQUAL(insert_vals(1, 1, "big", big, n), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT b FROM vals WHERE id = 1", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    const void *b = orchard_stmt_column_blob(st, 0, &len);
    CU_ASSERT_EQUAL(len, n);
    CU_ASSERT(b && len == n && memcmp(b, big, n) == 0);
    orchard_store_rollback(tx);
}

STORE_TEST(test_store__bad_sql)
{
    (void)f;
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = (orchard_stmt *)&st;

    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
    CU_ASSERT_STRING_EQUAL(orchard_store_errmsg(tx), "");
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELEC 1", &st), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(st);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), "syntax error"));
    /* The transaction is doomed: more work is refused, the cause kept. */
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT 1", &st), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), "already failed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), "syntax error"));
    orchard_store_rollback(tx);

    static const struct {
        const char *sql, *says;
    } cases[] = {
        {"SELECT * FROM nosuch", "nosuch"},
        {"BEGIN", "transactions belong to the store"},
        {"  -- note\n commit", "transactions belong to the store"},
        {"SELECT 1; SELECT 2", "one statement"},
        {"", "no SQL statement"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
        int rc = orchard_stmt_prepare(tx, cases[i].sql, &st);
        const char *msg = orchard_store_errmsg(tx);
        if (rc != ORCHARD_EINVAL || !strstr(msg, cases[i].says))
            fprintf(stderr, "bad_sql: \"%s\": %d, \"%s\"\n", cases[i].sql, rc, msg);
        CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, cases[i].says));
        orchard_store_rollback(tx);
    }
    CU_ASSERT_EQUAL(orchard_stmt_prepare(NULL, "SELECT 1", &st), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_store_begin(NULL, 1), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_store_commit(NULL), ORCHARD_EINVAL);
    orchard_store_rollback(NULL);
    orchard_stmt_finish(NULL);
}

STORE_TEST(test_store__bad_parameter_index)
{
    (void)f;
    const int bad[] = {0, 2, -1};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        orchard_store_tx *tx = NULL;
        orchard_stmt *st = NULL;
        CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
        CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT ?", &st), 0);
        CU_ASSERT_EQUAL(orchard_stmt_bind_int(st, bad[i], 5), ORCHARD_EINVAL);
        CU_ASSERT_STRING_NOT_EQUAL(orchard_store_errmsg(tx), "");
        CU_ASSERT_EQUAL(orchard_stmt_bind_text(st, 1, "x"), ORCHARD_EINVAL); /* doomed */
        CU_ASSERT_EQUAL(orchard_store_commit(tx), ORCHARD_EINVAL);
    }
}

STORE_TEST(test_store__step_after_done)
{
    (void)f;
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT 1", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    CU_ASSERT_EQUAL(orchard_stmt_bind_int(st, 1, 1), ORCHARD_EINVAL); /* bind after step */
    orchard_store_rollback(tx);

    /* A second step of a finished INSERT must not insert again. */
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "INSERT INTO kv (k, v) SELECT count(*), 0 FROM kv", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), "finish it"));
    orchard_stmt_finish(st);
    CU_ASSERT_EQUAL(orchard_store_commit(tx), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM kv", 0, 0), 0);
}

STORE_TEST(test_store__stmt_cache_reuse)
{
    (void)f;
    static const char sql[] = "SELECT ? + 1";
    orchard_store_tx *tx = NULL;
    orchard_stmt *s1 = NULL, *s2 = NULL, *s3 = NULL;

    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, sql, &s1), 0);
    CU_ASSERT_EQUAL(orchard_stmt_bind_int(s1, 1, 1), 0);
    /* The same SQL while s1 is open: a statement of its own. */
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, sql, &s2), 0);
    CU_ASSERT(s1 != s2);
    CU_ASSERT_EQUAL(orchard_stmt_bind_int(s2, 1, 10), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(s1), 1);
    CU_ASSERT_EQUAL(orchard_stmt_step(s2), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_int(s1, 0), 2);
    CU_ASSERT_EQUAL(orchard_stmt_column_int(s2, 0), 11);
    orchard_stmt_finish(s1);
    orchard_stmt_finish(s2);

    /* From the cache: fresh state, old bindings gone (NULL + 1 is NULL). */
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, sql, &s3), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(s3), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(s3, 0), 1);
    orchard_stmt_finish(s3);
    for (int i = 0; i < 300; i++) {
        CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, sql, &s3), 0);
        CU_ASSERT_EQUAL(orchard_stmt_bind_int(s3, 1, i), 0);
        CU_ASSERT_EQUAL(orchard_stmt_step(s3), 1);
        if (orchard_stmt_column_int(s3, 0) != i + 1)
            CU_FAIL("cached statement gave a wrong answer");
        orchard_stmt_finish(s3);
    }
    /* Left open mid-row: commit finishes it, and it is reusable after. */
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, sql, &s3), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(s3), 1);
    CU_ASSERT_EQUAL(orchard_store_commit(tx), 0);
    CU_ASSERT_EQUAL(read_int(sql, 1, 41), 42);
}

STORE_TEST(test_store__rollback_discards_and_changes)
{
    (void)f;
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    for (int k = 1; k <= 3; k++)
        CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (?, ?)", 2, k, 0), 0);

    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "UPDATE kv SET v = v + 1", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_changes(st), 3);
    orchard_stmt_finish(st);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "DELETE FROM kv WHERE k = 99", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_changes(st), 0);
    orchard_stmt_finish(st);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "INSERT INTO kv (k, v) VALUES (4, 4)", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    orchard_stmt_finish(st);
    orchard_store_rollback(tx);

    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM kv", 0, 0), 3);
    CU_ASSERT_EQUAL(read_int("SELECT sum(v) FROM kv", 0, 0), 0);
}

STORE_TEST(test_store__commit_after_failed_statement)
{
    (void)f;
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (1, 1)", 0, 0, 0), 0);

    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "INSERT INTO kv (k, v) VALUES (2, 2)", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    orchard_stmt_finish(st);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "INSERT INTO kv (k, v) VALUES (1, 9)", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), ORCHARD_EEXIST); /* primary key taken */
    CU_ASSERT_STRING_NOT_EQUAL(orchard_store_errmsg(tx), "");
    /* Commit refuses: the good row 2 goes with the failed statement. */
    CU_ASSERT_EQUAL(orchard_store_commit(tx), ORCHARD_EEXIST);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM kv", 0, 0), 1);
    CU_ASSERT_EQUAL(read_int("SELECT v FROM kv WHERE k = 1", 0, 0), 1);

    /* Other constraints are EINVAL. */
    CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (5, NULL)", 0, 0, 0), ORCHARD_EINVAL);
    /* A write transaction works after all that. */
    CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (3, 3)", 0, 0, 0), 0);
}

STORE_TEST(test_store__read_transaction_cannot_write)
{
    (void)f;
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "INSERT INTO kv (k, v) VALUES (1, 1)", &st), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), "read transaction"));
    CU_ASSERT_EQUAL(orchard_store_exec(tx, "DELETE FROM kv"), ORCHARD_EINVAL);
    orchard_store_rollback(tx);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM kv", 0, 0), 0);
}

/* ------------------------------------------------------------------------ */
/* Concurrency within the process */

#define WRITERS 4
#define INCREMENTS 100

static gpointer incrementer(gpointer p)
{
    int *failures = p;
    for (int i = 0; i < INCREMENTS; i++) {
        orchard_store_tx *tx = NULL;
        orchard_stmt *st = NULL;
        int64_t n = -1;
        /* Read, then write what was read plus one: without one writer at a
         * time, two threads would read the same n and lose an increment. */
        int rc = orchard_store_begin(&tx, 1);
        if (rc == 0)
            rc = orchard_stmt_prepare(tx, "SELECT n FROM counter WHERE id = 1", &st);
        if (rc == 0 && (rc = orchard_stmt_step(st)) == 1) {
            n = orchard_stmt_column_int(st, 0);
            rc = 0;
        }
        orchard_stmt_finish(st);
        g_thread_yield();
        if (rc == 0)
            rc = orchard_stmt_prepare(tx, "UPDATE counter SET n = ? WHERE id = 1", &st);
        if (rc == 0)
            rc = orchard_stmt_bind_int(st, 1, n + 1);
        if (rc == 0)
            rc = orchard_stmt_step(st);
        rc = rc == 0 ? orchard_store_commit(tx) : (orchard_store_rollback(tx), rc);
        if (rc != 0)
            g_atomic_int_inc(failures);
    }
    return NULL;
}

STORE_TEST(test_store__writers_serialised)
{
    (void)f;
    GThread *threads[WRITERS];
    int failures = 0;

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(write_sql("INSERT INTO counter (id, n) VALUES (1, 0)", 0, 0, 0), 0);
    for (int i = 0; i < WRITERS; i++)
        threads[i] = g_thread_new("incrementer", incrementer, &failures);
    for (int i = 0; i < WRITERS; i++)
        g_thread_join(threads[i]);
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT_EQUAL(read_int("SELECT n FROM counter WHERE id = 1", 0, 0), WRITERS * INCREMENTS);
}

static gpointer reader_in_thread(gpointer p)
{
    (void)p;
    return GINT_TO_POINTER((int)read_int("SELECT v FROM kv WHERE k = 1", 0, 0));
}

STORE_TEST(test_store__readers_beside_writer_see_snapshot)
{
    (void)f;
    orchard_store_tx *r1 = NULL, *w = NULL;
    orchard_stmt *st = NULL;

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (1, 1)", 0, 0, 0), 0);

    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&r1, 0), 0); /* snapshot taken here */
    CU_ASSERT_EQUAL(orchard_store_begin(&w, 1), 0);
    if (!w) {
        orchard_store_rollback(r1);
        return;
    }
    CU_ASSERT_EQUAL(orchard_stmt_prepare(w, "UPDATE kv SET v = 2 WHERE k = 1", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    orchard_stmt_finish(st);

    /* While the writer holds its transaction, a reader on another thread
     * runs to its end and sees the committed value. */
    GThread *t = g_thread_new("reader", reader_in_thread, NULL);
    CU_ASSERT_EQUAL(GPOINTER_TO_INT(g_thread_join(t)), 1);
    CU_ASSERT_EQUAL(orchard_store_commit(w), 0);

    /* r1 began before the commit and still sees 1; a new reader sees 2. */
    CU_ASSERT_EQUAL(orchard_stmt_prepare(r1, "SELECT v FROM kv WHERE k = 1", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_int(st, 0), 1);
    orchard_store_rollback(r1);
    CU_ASSERT_EQUAL(read_int("SELECT v FROM kv WHERE k = 1", 0, 0), 2);
}

typedef struct {
    GAsyncQueue *began;   /* holder -> test: 1 when it holds the writer */
    GAsyncQueue *release; /* test -> holder: let go */
} holder;

static gpointer hold_writer(gpointer p)
{
    holder *h = p;
    orchard_store_tx *tx = NULL;
    int rc = orchard_store_begin(&tx, 1);
    g_async_queue_push(h->began, GINT_TO_POINTER(rc == 0 ? 1 : 2));
    g_async_queue_pop(h->release);
    orchard_store_rollback(tx);
    return NULL;
}

STORE_TEST(test_store__busy_in_process)
{
    orchard_store_tx *tx = (orchard_store_tx *)&tx;

    CU_ASSERT_EQUAL_FATAL(reopen_with_timeout(f, "300"), 0);
    holder h = {g_async_queue_new(), g_async_queue_new()};
    GThread *t = g_thread_new("holder", hold_writer, &h);
    CU_ASSERT_EQUAL(GPOINTER_TO_INT(g_async_queue_pop(h.began)), 1);

    int64_t t0 = now_ms();
    CU_ASSERT_EQUAL(orchard_store_begin(&tx, 1), ORCHARD_EBUSY);
    int64_t waited = now_ms() - t0;
    CU_ASSERT_PTR_NULL(tx);
    CU_ASSERT(waited >= 250 && waited < 10000);
    /* Readers are not held up by the writer. */
    CU_ASSERT_EQUAL(read_int("SELECT 5", 0, 0), 5);

    g_async_queue_push(h.release, GINT_TO_POINTER(1));
    g_thread_join(t);
    CU_ASSERT_EQUAL(orchard_store_begin(&tx, 1), 0);
    orchard_store_rollback(tx);
    g_async_queue_unref(h.began);
    g_async_queue_unref(h.release);
}

STORE_TEST(test_store__reader_pool_bounded)
{
    orchard_store_tx *r[3] = {NULL, NULL, NULL};

    orchard_store_close();
    config_set(f->b->pool_key, "2"); /* SQLite: readers; PostgreSQL: the whole pool */
    config_set("store.busy_timeout_ms", "200");
    CU_ASSERT_EQUAL_FATAL(open_target(f->target), 0);
    CU_ASSERT_EQUAL(orchard_store_begin(&r[0], 0), 0);
    CU_ASSERT_EQUAL(orchard_store_begin(&r[1], 0), 0);
    CU_ASSERT_EQUAL(orchard_store_begin(&r[2], 0), ORCHARD_EBUSY);
    orchard_store_rollback(r[0]);
    CU_ASSERT_EQUAL(orchard_store_begin(&r[2], 0), 0); /* r[0]'s connection, reused */
    orchard_store_rollback(r[1]);
    orchard_store_rollback(r[2]);

    /* A bad option is refused at open, with its name. */
    orchard_store_close();
    config_set("store.busy_timeout_ms", "soon");
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(orchard_store_open(f->target, &err), ORCHARD_EINVAL);
    CU_ASSERT(err && strstr(err, "store.busy_timeout_ms"));
}

void store_suite(void)
{
    ORCHARD_ADD_SUITE("store", NULL, NULL,
        {"test_store__open_close_reopen", test_store__open_close_reopen},
        {"test_store__lazy_open_from_config", test_store__lazy_open_from_config},
        {"test_store__lazy_open_unset_config", test_store__lazy_open_unset_config},
        {"test_store__close_waits_for_transactions", test_store__close_waits_for_transactions},
        {"test_store__migrate_once_in_order", test_store__migrate_once_in_order},
        {"test_store__migrate_failure_rolls_back_and_stops", test_store__migrate_failure_rolls_back_and_stops},
        {"test_store__migrate_owners_independent", test_store__migrate_owners_independent},
        {"test_store__bind_and_columns", test_store__bind_and_columns},
        {"test_store__big_blob", test_store__big_blob},
        {"test_store__bad_sql", test_store__bad_sql},
        {"test_store__bad_parameter_index", test_store__bad_parameter_index},
        {"test_store__step_after_done", test_store__step_after_done},
        {"test_store__stmt_cache_reuse", test_store__stmt_cache_reuse},
        {"test_store__rollback_discards_and_changes", test_store__rollback_discards_and_changes},
        {"test_store__commit_after_failed_statement", test_store__commit_after_failed_statement},
        {"test_store__read_transaction_cannot_write", test_store__read_transaction_cannot_write},
        {"test_store__writers_serialised", test_store__writers_serialised},
        {"test_store__readers_beside_writer_see_snapshot", test_store__readers_beside_writer_see_snapshot},
        {"test_store__busy_in_process", test_store__busy_in_process},
        {"test_store__reader_pool_bounded", test_store__reader_pool_bounded});
}
