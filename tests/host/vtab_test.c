/* The SQLite face of tables: constraints reach generate as osquery's would,
 * types, hidden and required columns, and failures as SQL errors. */
#include "host/plugins/registry.h"
#include "tests/suites.h"
#include "tests/host/test_table.h"
#include "host/query/vtab.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <sqlite3.h>
#include <string.h>

static orchard_registry *reg;
static sqlite3 *db;

static int setup(void)
{
    char *err = NULL;
    reg = orchard_registry_new();
    if (orchard_registry_add_builtin(reg, test_plugin_entry, &err) != 0)
        return 1;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        return 1;
    return orchard_vtab_attach(db, reg, &err) == 0 ? 0 : 1;
}

static int teardown(void)
{
    sqlite3_close(db);
    orchard_registry_free(reg);
    return 0;
}

/* First column of the first row as text, or the error message. */
static char *scalar(const char *sql)
{
    sqlite3_stmt *st = NULL;
    char *out;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return g_strdup_printf("error: %s", sqlite3_errmsg(db));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        out = g_strdup(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0)
                                                  : "NULL");
    else if (rc == SQLITE_DONE)
        out = g_strdup("no rows");
    else
        out = g_strdup_printf("error: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return out;
}

#define ASSERT_SCALAR(sql, want)                     \
    do {                                             \
        g_autofree char *got_ = scalar(sql);         \
        CU_ASSERT_STRING_EQUAL(got_, want);          \
    } while (0)

static void test_vtab__select_and_types(void)
{
    test_table_reset(5);
    ASSERT_SCALAR("select count(*) from test_table", "5");
    CU_ASSERT_EQUAL(test_table_seen.calls, 1);
    ASSERT_SCALAR("select typeof(id) from test_table", "integer");
    ASSERT_SCALAR("select group_concat(coalesce(secret, 'null')) from test_table",
                  "s,null,s,null,s");
}

static void test_vtab__hidden_column_not_in_star(void)
{
    sqlite3_stmt *st = NULL;
    CU_ASSERT_EQUAL(sqlite3_prepare_v2(db, "select * from test_table", -1, &st, NULL), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_column_count(st), 2);
    sqlite3_finalize(st);
}

static void test_vtab__constraints_reach_generate(void)
{
    test_table_reset(5);
    ASSERT_SCALAR("select name from test_table where id = 2", "row 2");
    CU_ASSERT_EQUAL(test_table_seen.n_constraints, 1);
    CU_ASSERT_STRING_EQUAL(test_table_seen.last_constraint, "id 2 2");

    test_table_reset(5);
    ASSERT_SCALAR("select count(*) from test_table where id > 3", "2");
    CU_ASSERT_STRING_EQUAL(test_table_seen.last_constraint, "id 4 3");

    /* name takes no constraints, as in osquery; SQLite still filters */
    test_table_reset(5);
    ASSERT_SCALAR("select id from test_table where name = 'row 4'", "4");
    CU_ASSERT_EQUAL(test_table_seen.n_constraints, 0);
    CU_ASSERT_TRUE(test_table_seen.name_used); /* the WHERE reads it */

    /* colsUsed: a query that never reads name says so */
    test_table_reset(5);
    ASSERT_SCALAR("select max(id) from test_table", "5");
    CU_ASSERT_FALSE(test_table_seen.name_used);
}

static void test_vtab__required_column(void)
{
    g_autofree char *err = scalar("select * from test_required");
    CU_ASSERT_TRUE(g_str_has_prefix(err, "error:"));
    ASSERT_SCALAR("select value from test_required where key = 'k'", "v");
    ASSERT_SCALAR("select key from test_required where key = 'k'", "k");
}

static void test_vtab__generate_failure_is_sql_error(void)
{
    test_table_reset(2);
    test_table_seen.fail = 1;
    ASSERT_SCALAR("select * from test_table", "error: test table failed on purpose");
}

static void test_vtab__schema(void)
{
    g_autofree char *schema = orchard_vtab_schema(&test_table);
    CU_ASSERT_STRING_EQUAL(schema,
                           "CREATE TABLE x(\"id\" INTEGER, \"name\" TEXT, \"secret\" TEXT HIDDEN)");
}

void vtab_suite(void)
{
    ORCHARD_ADD_SUITE("vtab", setup, teardown,
                      {"select_and_types", test_vtab__select_and_types},
                      {"hidden_column_not_in_star", test_vtab__hidden_column_not_in_star},
                      {"constraints_reach_generate", test_vtab__constraints_reach_generate},
                      {"required_column", test_vtab__required_column},
                      {"generate_failure_is_sql_error", test_vtab__generate_failure_is_sql_error},
                      {"schema", test_vtab__schema});
}
