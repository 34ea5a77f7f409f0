/* osquery context JSON decoding: current and old forms, and hostile input. */
#include "host/query/context.h"
#include "tests/suites.h"
#include "tests/host/test_table.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <string.h>

static orchard_query_ctx *decode(const char *json, int *rc, char **err)
{
    orchard_query_ctx *ctx = NULL;
    *err = NULL;
    *rc = orchard_query_ctx_from_json(&test_table, json, json ? strlen(json) : 0, &ctx, err);
    return ctx;
}

static void test_context__current_form(void)
{
    int rc, op;
    char *err;
    const char *col, *expr;
    orchard_query_ctx *ctx = decode(
        "{\"constraints\":[{\"name\":\"id\",\"list\":[{\"op\":2,\"expr\":\"7\"},"
        "{\"op\":4,\"expr\":\"1\"}],\"affinity\":\"INTEGER\"}],"
        "\"colsUsed\":[\"id\"],\"colsUsedBitset\":1}", &rc, &err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(orchard_query_ctx_count(ctx), 2);
    CU_ASSERT_EQUAL(orchard_query_ctx_get(ctx, 0, &col, &op, &expr), 0);
    CU_ASSERT_STRING_EQUAL(col, "id");
    CU_ASSERT_EQUAL(op, ORCHARD_OP_EQ);
    CU_ASSERT_STRING_EQUAL(expr, "7");
    CU_ASSERT_EQUAL(orchard_query_ctx_get(ctx, 1, &col, &op, &expr), 0);
    CU_ASSERT_EQUAL(op, ORCHARD_OP_GT);
    CU_ASSERT_EQUAL(orchard_query_ctx_get(ctx, 2, &col, &op, &expr), ORCHARD_ENOTFOUND);
    CU_ASSERT_TRUE(orchard_query_ctx_column_used(ctx, "id"));
    CU_ASSERT_FALSE(orchard_query_ctx_column_used(ctx, "name"));
    orchard_query_ctx_free(ctx);
}

static void test_context__old_and_empty_forms(void)
{
    int rc, op;
    char *err;
    const char *col, *expr;
    /* old osquery: op as a string, empty lists as "" */
    orchard_query_ctx *ctx = decode(
        "{\"constraints\":[{\"name\":\"id\",\"list\":[{\"op\":\"2\",\"expr\":\"3\"}]},"
        "{\"name\":\"name\",\"list\":\"\"}]}", &rc, &err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(orchard_query_ctx_count(ctx), 1);
    orchard_query_ctx_get(ctx, 0, &col, &op, &expr);
    CU_ASSERT_EQUAL(op, 2);
    CU_ASSERT_TRUE(orchard_query_ctx_column_used(ctx, "name")); /* no colsUsed: all used */
    orchard_query_ctx_free(ctx);
    static const char *empty[] = {"", "{}", "{\"constraints\":[]}", "{\"constraints\":\"\"}"};
    for (size_t i = 0; i < 4; i++) {
        ctx = decode(empty[i], &rc, &err);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_EQUAL(orchard_query_ctx_count(ctx), 0);
        orchard_query_ctx_free(ctx);
    }
    ctx = NULL;
    CU_ASSERT_EQUAL(orchard_query_ctx_from_json(&test_table, NULL, 0, &ctx, &err), 0);
    orchard_query_ctx_free(ctx);
}

static void test_context__constraints_only_where_osquery_sends_them(void)
{
    int rc;
    char *err;
    /* name takes no constraints (no INDEX/REQUIRED/ADDITIONAL); nope is no column */
    orchard_query_ctx *ctx = decode(
        "{\"constraints\":[{\"name\":\"name\",\"list\":[{\"op\":2,\"expr\":\"x\"}]},"
        "{\"name\":\"nope\",\"list\":[{\"op\":2,\"expr\":\"x\"}]}]}", &rc, &err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(orchard_query_ctx_count(ctx), 0);
    orchard_query_ctx_free(ctx);
}

static void test_context__malformed(void)
{
    static const char *bad[] = {
        "{",                                              /* truncated */
        "[1,2]",                                          /* not an object */
        "\"text\"",
        "{\"constraints\":5}",
        "{\"constraints\":[5]}",
        "{\"constraints\":[{\"list\":[]}]}",              /* no name */
        "{\"constraints\":[{\"name\":\"id\",\"list\":{}}]}",
        "{\"constraints\":[{\"name\":\"id\",\"list\":[{\"expr\":\"1\"}]}]}",   /* no op */
        "{\"constraints\":[{\"name\":\"id\",\"list\":[{\"op\":\"x\",\"expr\":\"1\"}]}]}",
        "{\"constraints\":[{\"name\":\"id\",\"list\":[{\"op\":2,\"expr\":[1]}]}]}",
        "{\"constraints\":[{\"name\":\"id\",\"list\":[7]}]}",
        "\xff\xfe{}",                                     /* not UTF-8 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc;
        char *err;
        orchard_query_ctx *ctx = decode(bad[i], &rc, &err);
        CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
        CU_ASSERT_PTR_NULL(ctx);
        CU_ASSERT_PTR_NOT_NULL(err);
        if (err)
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "context"));
        g_free(err);
    }
}

static void test_context__hostile_sizes(void)
{
    int rc;
    char *err;
    GString *deep = g_string_new("{\"a\":");
    for (int i = 0; i < 100000; i++)
        g_string_append_c(deep, '[');
    orchard_query_ctx *ctx = decode(deep->str, &rc, &err);
    CU_ASSERT_EQUAL(rc, ORCHARD_ETOOBIG);
    CU_ASSERT_PTR_NULL(ctx);
    g_free(err);
    g_string_free(deep, TRUE);

    /* brackets inside strings are not nesting */
    GString *s = g_string_new("{\"x\":\"");
    for (int i = 0; i < 100; i++)
        g_string_append(s, "[[{{");
    g_string_append(s, "\\\"]\"}");
    ctx = decode(s->str, &rc, &err);
    CU_ASSERT_EQUAL(rc, 0);
    orchard_query_ctx_free(ctx);
    g_string_free(s, TRUE);

    size_t big = (1u << 20) + 10;
    char *huge = g_malloc(big);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    ctx = NULL;
    CU_ASSERT_EQUAL(orchard_query_ctx_from_json(&test_table, huge, big, &ctx, &err), ORCHARD_ETOOBIG);
    g_free(err);
    g_free(huge);
}

static void test_context__required(void)
{
    orchard_query_ctx *ctx = orchard_query_ctx_new();
    CU_ASSERT_STRING_EQUAL(orchard_query_ctx_missing_required(ctx, &test_required_table), "key");
    orchard_query_ctx_add(ctx, "key", ORCHARD_OP_GT, "a");
    CU_ASSERT_PTR_NOT_NULL(orchard_query_ctx_missing_required(ctx, &test_required_table));
    orchard_query_ctx_add(ctx, "key", ORCHARD_OP_EQ, "a");
    CU_ASSERT_PTR_NULL(orchard_query_ctx_missing_required(ctx, &test_required_table));
    CU_ASSERT_PTR_NULL(orchard_query_ctx_missing_required(ctx, &test_table));
    orchard_query_ctx_free(ctx);
}

void context_suite(void)
{
    ORCHARD_ADD_SUITE("context", NULL, NULL,
                      {"current_form", test_context__current_form},
                      {"old_and_empty_forms", test_context__old_and_empty_forms},
                      {"constraints_only_where_osquery_sends_them",
                       test_context__constraints_only_where_osquery_sends_them},
                      {"malformed", test_context__malformed},
                      {"hostile_sizes", test_context__hostile_sizes},
                      {"required", test_context__required});
}
