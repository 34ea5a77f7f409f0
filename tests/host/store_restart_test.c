/* The store_restart suite: the PostgreSQL server stopped, restarted and
 * down under an open store, on a cluster of the test's own (pg_cluster.sh
 * in the case's temporary directory): in-flight and new transactions fail
 * with ORCHARD_EIO in bounded time, and the first ones after it work
 * without reopening the store. A backend without a server skips it. */
#include "host/store/store.h"
#include "tests/host/store_fixture.h"
#include "tests/suites.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <stdio.h>

/* Run pg_cluster.sh `cmd` on `dir`; 0 when it succeeded. */
static int pg_cluster(const char *cmd, const char *dir)
{
    const char *argv[] = {"/bin/sh", SOURCE_DIR "/tests/support/pg_cluster/pg_cluster.sh", cmd,
                          dir, NULL};
    g_autofree char *out = NULL, *err = NULL;
    int status = -1;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL, &out, &err, &status, NULL) ||
        !g_spawn_check_wait_status(status, NULL)) {
        fprintf(stderr, "store_process: pg_cluster.sh %s: %s%s\n", cmd, out ? out : "",
                err ? err : "");
        return -1;
    }
    return 0;
}

/* One statement in a transaction of its own: its code, and how long it
 * took in *ms. */
static int timed_tx(int write, const char *sql, int64_t *ms)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int64_t t0 = now_ms();
    int rc = orchard_store_begin(&tx, write);
    if (rc == 0 && (rc = orchard_stmt_prepare(tx, sql, &st)) == 0 && (rc = orchard_stmt_step(st)) >= 0)
        rc = orchard_store_commit(tx);
    else if (tx)
        orchard_store_rollback(tx);
    *ms = now_ms() - t0;
    return rc;
}

/* Phase 1: a restart while the pool's connections are idle. The first
 * transactions after it work: broken connections are replaced at begin.
 * No FATAL asserts in the phases: the test's cluster must be stopped
 * whatever happens. 0 when the server is up at the end. */
static int restart_idle(const char *dir)
{
    orchard_store_tx *r[3] = {NULL, NULL, NULL};
    int64_t ms;

    for (int i = 0; i < 3; i++) /* three connections in the pool */
        CU_ASSERT_EQUAL(orchard_store_begin(&r[i], 0), 0);
    for (int i = 0; i < 3; i++)
        if (r[i])
            orchard_store_rollback(r[i]);
    if (pg_cluster("pause", dir) != 0 || pg_cluster("resume", dir) != 0) {
        CU_FAIL("pg_cluster.sh pause/resume failed");
        return -1;
    }
    CU_ASSERT_EQUAL(read_int("SELECT sum(v) FROM kv", 0, 0), 1);
    CU_ASSERT_EQUAL(timed_tx(1, "INSERT INTO kv (k, v) VALUES (2, 2)", &ms), 0);
    for (int i = 0; i < 3; i++) /* every pooled connection, not just the first */
        CU_ASSERT_EQUAL(orchard_store_begin(&r[i], 0), 0);
    for (int i = 0; i < 3; i++)
        if (r[i]) {
            orchard_stmt *st = NULL;
            CU_ASSERT_EQUAL(orchard_stmt_prepare(r[i], "SELECT sum(v) FROM kv", &st), 0);
            CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
            CU_ASSERT_EQUAL(orchard_stmt_column_int(st, 0), 3);
            orchard_store_rollback(r[i]);
        }
    return 0;
}

/* Phase 2: an outage with transactions in flight. They fail with
 * ORCHARD_EIO, so do new ones while the server is down, each in bounded
 * time; after it comes back, the first ones work and the in-flight write
 * is gone. */
static void outage_in_flight(const char *dir)
{
    orchard_store_tx *w = NULL, *r = NULL;
    orchard_stmt *st = NULL;
    int64_t ms;

    CU_ASSERT_EQUAL(orchard_store_begin(&w, 1), 0);
    if (!w)
        return;
    CU_ASSERT_EQUAL(orchard_stmt_prepare(w, "INSERT INTO kv (k, v) VALUES (3, 100)", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    CU_ASSERT_EQUAL(orchard_store_begin(&r, 0), 0);
    if (pg_cluster("pause", dir) != 0) {
        CU_FAIL("pg_cluster.sh pause failed");
        orchard_store_rollback(w);
        if (r)
            orchard_store_rollback(r);
        return;
    }

    CU_ASSERT_EQUAL(orchard_store_commit(w), ORCHARD_EIO);
    if (r) {
        int rc = orchard_stmt_prepare(r, "SELECT sum(v) FROM kv", &st);
        if (rc == 0)
            rc = orchard_stmt_step(st);
        CU_ASSERT_EQUAL(rc, ORCHARD_EIO);
        CU_ASSERT_STRING_NOT_EQUAL(orchard_store_errmsg(r), "");
        orchard_store_rollback(r);
    }
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(timed_tx(0, "SELECT 1", &ms), ORCHARD_EIO);
        CU_ASSERT(ms < 4000); /* busy_timeout_ms: 2000 */
        CU_ASSERT_EQUAL(timed_tx(1, "INSERT INTO kv (k, v) VALUES (4, 4)", &ms), ORCHARD_EIO);
        CU_ASSERT(ms < 4000);
    }

    if (pg_cluster("resume", dir) != 0) {
        CU_FAIL("pg_cluster.sh resume failed");
        return;
    }
    CU_ASSERT_EQUAL(timed_tx(1, "INSERT INTO kv (k, v) VALUES (5, 5)", &ms), 0);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM kv WHERE k IN (3, 4)", 0, 0), 0);
    CU_ASSERT_EQUAL(read_int("SELECT sum(v) FROM kv", 0, 0), 8);
}

STORE_TEST(test_store__server_restart)
{
    if (f->b->file_based)
        return;
    /* A cluster of its own: restarting the one ctest shares would cut the
     * suites running beside this one. */
    g_autofree char *dir = g_build_filename(f->dir, "pg", NULL);
    g_autofree char *uri_path = g_build_filename(dir, "uri", NULL);
    g_autofree char *skip_path = g_build_filename(dir, "skip", NULL);
    g_autofree char *uri = NULL, *skip = NULL;

    if (pg_cluster("start", dir) != 0) {
        CU_FAIL("pg_cluster.sh start failed");
        goto cleanup;
    }
    if (g_file_get_contents(skip_path, &skip, NULL, NULL)) {
        if (orchard_pg_test_skip(g_strstrip(skip)))
            CU_FAIL("a cluster of the test's own could not start (CI=true)");
        goto cleanup;
    }
    if (!g_file_get_contents(uri_path, &uri, NULL, NULL)) {
        CU_FAIL("pg_cluster.sh start wrote no uri");
        goto cleanup;
    }
    orchard_store_close();
    config_set("store.busy_timeout_ms", "2000");
    if (open_target(g_strstrip(uri)) != 0) {
        CU_FAIL("cannot open the store on the test's own cluster");
        goto cleanup;
    }
    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (1, 1)", 0, 0, 0), 0);
    if (restart_idle(dir) == 0)
        outage_in_flight(dir);
cleanup:
    orchard_store_close();
    CU_ASSERT_EQUAL(pg_cluster("stop", dir), 0);
    CU_ASSERT_FALSE(g_file_test(dir, G_FILE_TEST_EXISTS)); /* nothing left behind */
}

void store_restart_suite(void)
{
    ORCHARD_ADD_SUITE("store_restart", NULL, NULL,
        {"test_store__server_restart", test_store__server_restart});
}
