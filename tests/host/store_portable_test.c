/* The store_portable suite: what a plugin's SQL reads the same on every
 * backend of store_fixture.c, where the dialects would differ by default:
 * comparisons read as 1 and 0, a cached statement still works after its
 * table changed (another instance's migration), integers at the edges, and
 * text the database may not take. */
#include "host/store/store.h"
#include "tests/host/store_fixture.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

/* PostgreSQL answers a comparison with a boolean ('t'/'f' as text): a
 * plugin's `SELECT count(*) > 0` must still read 1 or 0. */
STORE_TEST(test_store_portable__comparisons_read_as_integers)
{
    (void)f;
    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (1, 10)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(read_int("SELECT 1 = 1", 0, 0), 1);
    CU_ASSERT_EQUAL(read_int("SELECT 1 = 0", 0, 0), 0);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) > 0 FROM kv", 0, 0), 1);
    CU_ASSERT_EQUAL(read_int("SELECT v > ? FROM kv WHERE k = 1", 1, 9), 1);
    CU_ASSERT_EQUAL(read_int("SELECT v > ? FROM kv WHERE k = 1", 1, 10), 0);
    CU_ASSERT_EQUAL(read_int("SELECT EXISTS (SELECT 1 FROM kv WHERE v = ?)", 1, 10), 1);
    CU_ASSERT_EQUAL(read_int("SELECT EXISTS (SELECT 1 FROM kv WHERE v = ?)", 1, 11), 0);
    CU_ASSERT_EQUAL(read_int("SELECT v IS NULL FROM kv WHERE k = 1", 0, 0), 0);
    /* Aggregates come back as the number they are. */
    CU_ASSERT_EQUAL(read_int("SELECT sum(v) FROM kv", 0, 0), 10);
    CU_ASSERT_EQUAL(read_int("SELECT max(v) - min(v) FROM kv", 0, 0), 0);
}

/* Prepare, step and finish `sql` in tx: the first column of the first row
 * (NO_ROW when none or on failure, *rc says which). */
static int64_t step_once(orchard_store_tx *tx, const char *sql, int col, int *rc)
{
    orchard_stmt *st = NULL;
    int64_t v = NO_ROW;
    *rc = orchard_stmt_prepare(tx, sql, &st);
    if (*rc == 0 && (*rc = orchard_stmt_step(st)) == 1) {
        v = orchard_stmt_column_is_null(st, col) ? -1 : orchard_stmt_column_int(st, col);
        *rc = 0;
    }
    orchard_stmt_finish(st);
    return v;
}

/* A statement cached before a migration changed its table's shape works
 * after, on the first try: SQLite prepares it again by itself; PostgreSQL
 * refuses a kept plan whose result changed ("cached plan must not change
 * result type", and the transaction with it) unless the backend prepares
 * it afresh first. The migration may come from another instance at any
 * time (a rolling upgrade), while the pool's connections keep their caches. */
STORE_TEST(test_store_portable__cached_statement_after_migration)
{
    (void)f;
    static const char star[] = "SELECT * FROM shape WHERE id = 1";
    const char *const steps[] = {
        "CREATE TABLE shape (id INTEGER PRIMARY KEY, a INTEGER); "
        "INSERT INTO shape (id, a) VALUES (1, 5)",
        "ALTER TABLE shape ADD COLUMN c INTEGER; UPDATE shape SET c = 7",
    };
    orchard_store_tx *r[3] = {NULL, NULL, NULL}, *w = NULL;
    int rc;

    CU_ASSERT_EQUAL_FATAL(orchard_store_migrate("shape", steps, 1), 0);
    /* Cached on several connections, readers' and the writer's. */
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(orchard_store_begin(&r[i], 0), 0);
        if (r[i])
            CU_ASSERT_EQUAL(step_once(r[i], star, 1, &rc), 5);
    }
    for (int i = 0; i < 3; i++)
        if (r[i])
            orchard_store_rollback(r[i]);
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&w, 1), 0);
    CU_ASSERT_EQUAL(step_once(w, star, 1, &rc), 5);
    CU_ASSERT_EQUAL(orchard_store_commit(w), 0);

    CU_ASSERT_EQUAL_FATAL(orchard_store_migrate("shape", steps, 2), 0);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(orchard_store_begin(&r[i], 0), 0);
        if (r[i]) {
            CU_ASSERT_EQUAL(step_once(r[i], star, 2, &rc), 7);
            CU_ASSERT_EQUAL(rc, 0);
        }
    }
    for (int i = 0; i < 3; i++)
        if (r[i])
            orchard_store_rollback(r[i]);
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&w, 1), 0);
    CU_ASSERT_EQUAL(step_once(w, star, 2, &rc), 7);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(orchard_store_commit(w), 0);
}

/* Text that is not UTF-8 (a device's name from a hostile check-in): both
 * backends either keep it byte for byte or refuse it with ORCHARD_EINVAL,
 * never store something else, never crash; a refusal dooms only its own
 * transaction. */
STORE_TEST(test_store_portable__text_not_utf8)
{
    (void)f;
    static const char *const bad[] = {
        "caf\xe9",           /* Latin-1 */
        "\xc3",              /* truncated sequence */
        "\xed\xa0\x80",      /* a UTF-16 surrogate */
        "\xf8\x88\x80\x80\x80", /* five bytes */
        "ok\xff\xfe",
    };
    CU_ASSERT_EQUAL(write_sql("CREATE TABLE names (id INTEGER PRIMARY KEY, t TEXT)", 0, 0, 0), 0);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        orchard_store_tx *tx = NULL;
        orchard_stmt *st = NULL;
        CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
        int rc = orchard_stmt_prepare(tx, "INSERT INTO names (id, t) VALUES (?, ?)", &st);
        if (rc == 0)
            rc = orchard_stmt_bind_int(st, 1, (int64_t)i);
        if (rc == 0)
            rc = orchard_stmt_bind_text(st, 2, bad[i]);
        if (rc == 0)
            rc = orchard_stmt_step(st);
        rc = rc == 0 ? orchard_store_commit(tx) : (orchard_store_rollback(tx), rc);
        CU_ASSERT(rc == 0 || rc == ORCHARD_EINVAL);

        /* Kept as it was, or not kept at all. */
        CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
        CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT t FROM names WHERE id = ?", &st), 0);
        CU_ASSERT_EQUAL(orchard_stmt_bind_int(st, 1, (int64_t)i), 0);
        int row = orchard_stmt_step(st);
        if (rc == 0) {
            CU_ASSERT_EQUAL(row, 1);
            CU_ASSERT_STRING_EQUAL(orchard_stmt_column_text(st, 0), bad[i]);
        } else {
            CU_ASSERT_EQUAL(row, 0);
        }
        orchard_store_rollback(tx);
    }
    /* The store goes on. */
    CU_ASSERT_EQUAL(write_sql("INSERT INTO names (id, t) VALUES (100, 'fine')", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM names WHERE id = 100", 0, 0), 1);
}

/* Integers at the edges, bound and read back (the PostgreSQL backend sends
 * and reads them as text), compared and used in arithmetic. */
STORE_TEST(test_store_portable__integer_edges)
{
    (void)f;
    static const int64_t edges[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT32_MAX,
                                    (int64_t)INT32_MAX + 1, INT64_MAX};
    CU_ASSERT_EQUAL(write_sql("CREATE TABLE n (id INTEGER PRIMARY KEY, v BIGINT)", 0, 0, 0), 0);
    for (size_t i = 0; i < G_N_ELEMENTS(edges); i++) {
        CU_ASSERT_EQUAL(write_sql("INSERT INTO n (id, v) VALUES (?, ?)", 2, (int64_t)i, edges[i]), 0);
        CU_ASSERT_EQUAL(read_int("SELECT v FROM n WHERE id = ?", 1, (int64_t)i), edges[i]);
    }
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM n WHERE v < 0", 0, 0), 3);
    /* A bound integer compared with a BIGINT column and used in arithmetic. */
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM n WHERE v >= ?", 1, (int64_t)INT32_MAX + 1), 2);
    CU_ASSERT_EQUAL(read_int("SELECT v - ? FROM n WHERE id = 7", 1, 1), INT64_MAX - 1);
}

void store_portable_suite(void)
{
    ORCHARD_ADD_SUITE("store_portable", NULL, NULL,
        {"test_store_portable__comparisons_read_as_integers",
         test_store_portable__comparisons_read_as_integers},
        {"test_store_portable__cached_statement_after_migration",
         test_store_portable__cached_statement_after_migration},
        {"test_store_portable__text_not_utf8", test_store_portable__text_not_utf8},
        {"test_store_portable__integer_edges", test_store_portable__integer_edges});
}
