/* store_migrate2 (ABI 1.4) on every backend: each dialect gets its own text
 * of a step, versions carry over from store_migrate, and a store set up by
 * a newer orchard is refused with a message naming both versions. */
#include "host/store/store.h"
#include "tests/host/log_capture.h"
#include "tests/host/store_fixture.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <string.h>

/* Versions of `owner` recorded; 0 also when nothing was ever recorded. */
static int64_t applied(const char *owner)
{
    int64_t max;
    int64_t n = versions_of(owner, &max);
    return n == NO_ROW ? 0 : n;
}

#define STEP(s, pg) {ORCHARD_STRUCT_HEADER(orchard_migration), .sql = (s), .postgres = (pg)}

/* The step creates column `sqlite_col` on SQLite and `pg_col` on PostgreSQL:
 * reading the dialect's own column proves which text ran. */
STORE_TEST(each_dialect_runs_its_own_text)
{
    const orchard_migration steps[] = {
        STEP("CREATE TABLE m (sqlite_col INTEGER)", "CREATE TABLE m (pg_col BIGINT)"),
        STEP("INSERT INTO m VALUES (7)", NULL), /* one text for both */
    };
    CU_ASSERT_EQUAL(orchard_store_migrate2("t", steps, 2), 0);
    const char *dialect = orchard_store_dialect();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dialect);
    CU_ASSERT_STRING_EQUAL(dialect, f->b->name);
    int pg = strcmp(dialect, "postgres") == 0;
    CU_ASSERT_EQUAL(read_int(pg ? "SELECT pg_col FROM m" : "SELECT sqlite_col FROM m", 0, 0), 7);
    CU_ASSERT_EQUAL(read_int(pg ? "SELECT sqlite_col FROM m" : "SELECT pg_col FROM m", 0, 0),
                    NO_ROW);
    CU_ASSERT_EQUAL(applied("t"), 2);
    /* Run again: nothing applied twice (the INSERT would add a row). */
    CU_ASSERT_EQUAL(orchard_store_migrate2("t", steps, 2), 0);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM m", 0, 0), 1);
}

STORE_TEST(versions_carry_over_from_store_migrate)
{
    (void)f;
    const char *const plain[] = {"CREATE TABLE c (a INTEGER)"};
    const orchard_migration steps[] = {
        STEP("CREATE TABLE never (a INTEGER)", NULL), /* version 1: already applied */
        STEP("INSERT INTO c VALUES (1)", NULL),
    };
    CU_ASSERT_EQUAL(orchard_store_migrate("c", plain, 1), 0);
    CU_ASSERT_EQUAL(orchard_store_migrate2("c", steps, 2), 0);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM c", 0, 0), 1);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM never", 0, 0), NO_ROW);
}

STORE_TEST(a_newer_schema_is_refused)
{
    const orchard_migration steps[] = {
        STEP("CREATE TABLE n (a INTEGER)", NULL),
        STEP("INSERT INTO n VALUES (1)", NULL),
        STEP("INSERT INTO n VALUES (2)", NULL),
    };
    CU_ASSERT_EQUAL(orchard_store_migrate2("n", steps, 3), 0);
    log_capture cap;
    log_capture_start(&cap, f->dir);
    int rc = orchard_store_migrate2("n", steps, 2); /* an older build */
    int rc_plain = orchard_store_migrate("n", (const char *const[]){"SELECT 1"}, 1);
    g_autofree char *log = log_capture_end(&cap);
    CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(rc_plain, ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "has n at schema version 3, newer than version 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "newer than version 1"));
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM n", 0, 0), 2); /* nothing touched */
}

STORE_TEST(malformed_steps_are_refused)
{
    (void)f;
    orchard_migration bad_abi[] = {STEP("CREATE TABLE x (a INTEGER)", NULL)};
    bad_abi[0].abi_version = 99;
    orchard_migration short_struct[] = {STEP("CREATE TABLE x (a INTEGER)", NULL)};
    short_struct[0].struct_size = 4;
    const orchard_migration no_sql[] = {STEP(NULL, "CREATE TABLE x (a BIGINT)")};
    const orchard_migration ok[] = {STEP("CREATE TABLE x (a INTEGER)", NULL)};

    CU_ASSERT_EQUAL(orchard_store_migrate2("x", bad_abi, 1), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_store_migrate2("x", short_struct, 1), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_store_migrate2("x", no_sql, 1), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_store_migrate2("x", NULL, 1), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_store_migrate2(NULL, ok, 1), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_store_migrate2("", ok, 1), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(applied("x"), 0); /* none of them applied anything */
    /* A failing step is rolled back whole, bookkeeping included. */
    const orchard_migration failing[] = {
        STEP("CREATE TABLE y (a INTEGER); INSERT INTO no_such_table VALUES (1)", NULL)};
    CU_ASSERT_NOT_EQUAL(orchard_store_migrate2("y", failing, 1), 0);
    CU_ASSERT_EQUAL(applied("y"), 0);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM y", 0, 0), NO_ROW);
}

void store_migrate_suite(void)
{
    ORCHARD_ADD_SUITE("store_migrate", NULL, NULL,
        {"each_dialect_runs_its_own_text", each_dialect_runs_its_own_text},
        {"versions_carry_over_from_store_migrate", versions_carry_over_from_store_migrate},
        {"a_newer_schema_is_refused", a_newer_schema_is_refused},
        {"malformed_steps_are_refused", malformed_steps_are_refused});
}
