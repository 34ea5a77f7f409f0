/* The store suites' fixture (see store_fixture.h): a fresh store per test
 * and backend, and the helpers both suites use. The temporary directory is
 * removed after each test, so a backend's files never outlive it. */
#include "tests/host/store_fixture.h"

#include "host/config.h"
#include "host/store/store.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>

static char *sqlite_target(const char *dir) { return g_build_filename(dir, "store.db", NULL); }

static const test_backend backends[] = {
    {"sqlite", "store.sqlite", sqlite_target, 1, "PRAGMA integrity_check"},
    /* PostgreSQL comes here: a target making a fresh database per test from
     * a server named by the environment, file_based 0, no integrity SQL. */
};

static const char *const config_keys[] = {"store.sqlite", "store.postgres",
                                          "store.busy_timeout_ms", "store.read_connections"};

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

void on_every_backend(store_case body)
{
    for (size_t i = 0; i < G_N_ELEMENTS(backends); i++) {
        fixture f = {&backends[i], g_dir_make_tmp("orchard-store-XXXXXX", NULL), NULL};
        CU_ASSERT_PTR_NOT_NULL_FATAL(f.dir);
        f.target = backends[i].target(f.dir);
        orchard_store_close(); /* in case a test before stopped at a FATAL assert */
        config_clear();
        int rc = open_target(f.target);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc == 0)
            body(&f);
        orchard_store_close();
        config_clear();
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
