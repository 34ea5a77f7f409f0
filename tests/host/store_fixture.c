/* The store suites' fixture (see store_fixture.h): a fresh store per test
 * and backend, and the helpers both suites use. The temporary directory is
 * removed after each test, so a backend's files never outlive it; a
 * PostgreSQL case's database is dropped after it. */
#include "tests/host/store_fixture.h"

#include "host/config.h"
#include "host/store/store.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

static int sqlite_make(const char *dir, char **target, char **reason)
{
    *reason = NULL;
    *target = g_build_filename(dir, "store.db", NULL);
    return 0;
}

/* A database of its own per case, on the cluster ctest started: CREATE
 * DATABASE from template0 costs about 20 ms, and unlike a schema per case
 * it keeps the writer's advisory lock (per database) to the case. */
static int postgres_make(const char *dir, char **target, char **reason)
{
    (void)dir;
    return orchard_pg_test_create_db(target, reason);
}

static void postgres_drop(const char *target) { CU_ASSERT_EQUAL(orchard_pg_test_drop_db(target), 0); }

static const test_backend backends[] = {
    {.name = "sqlite", .config_key = "store.sqlite", .make = sqlite_make, .drop = NULL,
     .file_based = 1, .integrity_sql = "PRAGMA integrity_check", .blob_type = "BLOB",
     .pool_key = "store.read_connections"},
    {.name = "postgres", .config_key = "store.postgres", .make = postgres_make,
     .drop = postgres_drop, .file_based = 0, .integrity_sql = NULL, .blob_type = "BYTEA",
     .pool_key = "store.max_connections"},
};

static const char *const config_keys[] = {"store.sqlite", "store.postgres",
                                          "store.busy_timeout_ms", "store.read_connections",
                                          "store.max_connections"};

void config_set(const char *key, const char *value)
{
    orchard_config_set(orchard_config_global(), key, value);
}

static void config_clear(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(config_keys); i++)
        config_set(config_keys[i], NULL);
}

int open_target(const char *target)
{
    g_autofree char *err = NULL;
    int rc = orchard_store_open(target, &err);
    if (rc != 0)
        fprintf(stderr, "store_test: open %s: %s\n", target, err);
    return rc;
}

/* The temporary directory holds files only. */
static void remove_dir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_unlink(path);
    }
    if (d)
        g_dir_close(d);
    CU_ASSERT_EQUAL(g_rmdir(dir), 0);
}

/* Make the case's store; 0 when the case should run on it. A backend that
 * is not here skips (or fails under CI=true, pg_test.h). */
static int make_store(fixture *f)
{
    g_autofree char *reason = NULL;
    int rc = f->b->make(f->dir, &f->target, &reason);
    if (rc == ORCHARD_ENOTFOUND) {
        if (orchard_pg_test_skip(reason))
            CU_FAIL("PostgreSQL is needed here (CI=true)");
        return rc;
    }
    if (rc != 0) {
        fprintf(stderr, "store_test: %s: %s\n", f->b->name, reason);
        CU_FAIL("the backend could not make a fresh store");
    }
    return rc;
}

void on_every_backend(store_case body)
{
    const char *only = orchard_pg_test_wanted();
    for (size_t i = 0; i < G_N_ELEMENTS(backends); i++) {
        if (only && strcmp(only, backends[i].name) != 0)
            continue;
        fixture f = {&backends[i], g_dir_make_tmp("orchard-store-XXXXXX", NULL), NULL};
        CU_ASSERT_PTR_NOT_NULL_FATAL(f.dir);
        orchard_store_close(); /* in case a test before stopped at a FATAL assert */
        config_clear();
        if (make_store(&f) == 0) {
            int rc = open_target(f.target);
            CU_ASSERT_EQUAL(rc, 0);
            if (rc == 0)
                body(&f);
        }
        orchard_store_close();
        config_clear();
        if (f.target && f.b->drop)
            f.b->drop(f.target);
        remove_dir(f.dir);
        g_free(f.target);
        g_free(f.dir);
    }
}

int write_sql(const char *sql, int nargs, int64_t a, int64_t b)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int rc = orchard_store_begin(&tx, 1);
    if (rc != 0)
        return rc;
    rc = orchard_stmt_prepare(tx, sql, &st);
    if (rc == 0 && nargs > 0)
        rc = orchard_stmt_bind_int(st, 1, a);
    if (rc == 0 && nargs > 1)
        rc = orchard_stmt_bind_int(st, 2, b);
    if (rc == 0)
        while ((rc = orchard_stmt_step(st)) == 1)
            ;
    if (rc != 0)
        fprintf(stderr, "store_test: %s: %s\n", sql, orchard_store_errmsg(tx));
    orchard_stmt_finish(st);
    if (rc != 0) {
        orchard_store_rollback(tx);
        return rc;
    }
    return orchard_store_commit(tx);
}

int64_t read_int(const char *sql, int nargs, int64_t a)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int64_t v = NO_ROW;
    if (orchard_store_begin(&tx, 0) != 0)
        return NO_ROW;
    int rc = orchard_stmt_prepare(tx, sql, &st);
    if (rc == 0 && nargs > 0)
        rc = orchard_stmt_bind_int(st, 1, a);
    if (rc == 0 && orchard_stmt_step(st) == 1)
        v = orchard_stmt_column_int(st, 0);
    orchard_store_rollback(tx);
    return v;
}

int64_t now_ms(void) { return g_get_monotonic_time() / 1000; }

int64_t versions_of(const char *owner, int64_t *max)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int64_t n = NO_ROW;
    *max = NO_ROW;
    if (orchard_store_begin(&tx, 0) != 0)
        return NO_ROW;
    if (orchard_stmt_prepare(tx, "SELECT count(*), max(version), min(applied_at) "
                             "FROM orchard_migrations WHERE owner = ?", &st) == 0 &&
        orchard_stmt_bind_text(st, 1, owner) == 0 && orchard_stmt_step(st) == 1) {
        n = orchard_stmt_column_int(st, 0);
        *max = orchard_stmt_column_is_null(st, 1) ? 0 : orchard_stmt_column_int(st, 1);
        /* applied_at is a plausible Unix time (after 2020) */
        if (n > 0)
            CU_ASSERT(orchard_stmt_column_int(st, 2) > 1577836800);
    }
    orchard_store_rollback(tx);
    return n;
}
