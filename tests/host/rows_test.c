/* Row storage and the generate wrapper: NULLs, caps, failures. */
#include "host/query/context.h"
#include "host/query/rows.h"
#include "tests/suites.h"
#include "tests/host/test_table.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <string.h>

static void test_rows__add_and_read(void)
{
    orchard_rows *rows = orchard_rows_new(&test_table, 0);
    const char *v[3] = {"1", "a", NULL};
    CU_ASSERT_EQUAL(orchard_rows_add(rows, v, 3), 0);
    v[0] = "2";
    v[1] = "";
    CU_ASSERT_EQUAL(orchard_rows_add(rows, v, 3), 0);
    CU_ASSERT_EQUAL(orchard_rows_count(rows), 2);
    const char *const *r = orchard_rows_get(rows, 1);
    CU_ASSERT_STRING_EQUAL(r[0], "2");
    CU_ASSERT_STRING_EQUAL(r[1], "");
    CU_ASSERT_PTR_NULL(r[2]);
    CU_ASSERT_PTR_NULL(orchard_rows_get(rows, 2));
    /* wrong arity or NULL array: refused, nothing added */
    CU_ASSERT_EQUAL(orchard_rows_add(rows, v, 2), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_rows_add(rows, NULL, 3), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_rows_add(NULL, v, 3), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_rows_count(rows), 2);
    orchard_rows_free(rows);
}

static void test_rows__size_cap(void)
{
    orchard_rows *rows = orchard_rows_new(&test_table, 200);
    char big[150];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const char *v[3] = {"1", big, NULL};
    CU_ASSERT_EQUAL(orchard_rows_add(rows, v, 3), 0);
    CU_ASSERT_EQUAL(orchard_rows_add(rows, v, 3), ORCHARD_ETOOBIG);
    CU_ASSERT_EQUAL(orchard_rows_count(rows), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_rows_error(rows), "test_table"));
    orchard_rows_free(rows);
}

static void test_rows__generate_failure_discards_rows(void)
{
    orchard_rows *rows = NULL;
    test_table_reset(3);
    test_table_seen.fail = 1;
    CU_ASSERT_EQUAL(orchard_table_generate(&test_table, NULL, &rows), ORCHARD_EIO);
    CU_ASSERT_EQUAL(orchard_rows_count(rows), 0);
    CU_ASSERT_STRING_EQUAL(orchard_rows_error(rows), "test table failed on purpose");
    orchard_rows_free(rows);
}

/* A generate that ignores row_add's refusal must not return a truncated
 * result as if it were whole. */
static void test_rows__overflow_ignored_by_generate_is_an_error(void)
{
    orchard_rows *rows = NULL;
    test_table_reset(3 * 1000 * 1000); /* ~90 MiB of rows: over the 64 MiB cap */
    test_table_seen.ignore_errors = 1;
    CU_ASSERT_EQUAL(orchard_table_generate(&test_table, NULL, &rows), ORCHARD_ETOOBIG);
    CU_ASSERT_EQUAL(orchard_rows_count(rows), 0);
    orchard_rows_free(rows);
}

void rows_suite(void)
{
    ORCHARD_ADD_SUITE("rows", NULL, NULL,
                      {"add_and_read", test_rows__add_and_read},
                      {"size_cap", test_rows__size_cap},
                      {"generate_failure_discards_rows", test_rows__generate_failure_discards_rows},
                      {"overflow_ignored_by_generate_is_an_error",
                       test_rows__overflow_ignored_by_generate_is_an_error});
}
