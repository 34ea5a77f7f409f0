/* Extension.call answers, without sockets: what osqueryd gets back for each
 * action, and for bad requests. */
#include "extension/ext_call.h"
#include "host/plugins/registry.h"
#include "tests/suites.h"
#include "tests/host/test_table.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <string.h>

static orchard_registry *reg;

static int setup(void)
{
    char *err = NULL;
    reg = orchard_registry_new();
    return orchard_registry_add_builtin(reg, test_plugin_entry, &err) == 0 ? 0 : 1;
}

static int teardown(void)
{
    orchard_registry_free(reg);
    return 0;
}

/* call("table", item, {action, context}) -> response (caller unrefs). */
static osqueryExtensionResponse *call(const char *registry, const char *item, const char *action,
                                      const char *context)
{
    GHashTable *req = g_hash_table_new(g_str_hash, g_str_equal);
    if (action)
        g_hash_table_insert(req, "action", (gpointer)action);
    if (context)
        g_hash_table_insert(req, "context", (gpointer)context);
    osqueryExtensionResponse *resp = g_object_new(OSQUERY_TYPE_EXTENSION_RESPONSE, NULL);
    orchard_ext_call(reg, registry, item, req, resp);
    g_hash_table_destroy(req);
    return resp;
}

static const char *cell(osqueryExtensionResponse *r, guint row, const char *key)
{
    return g_hash_table_lookup(g_ptr_array_index(r->response, row), key);
}

static void test_ext_call__columns(void)
{
    osqueryExtensionResponse *r = call("table", "test_table", "columns", NULL);
    CU_ASSERT_EQUAL(r->status->code, 0);
    CU_ASSERT_EQUAL_FATAL(r->response->len, 3);
    CU_ASSERT_STRING_EQUAL(cell(r, 0, "id"), "column");
    CU_ASSERT_STRING_EQUAL(cell(r, 0, "name"), "id");
    CU_ASSERT_STRING_EQUAL(cell(r, 0, "type"), "INTEGER");
    CU_ASSERT_STRING_EQUAL(cell(r, 0, "op"), "1");
    CU_ASSERT_STRING_EQUAL(cell(r, 2, "op"), "16");
    g_object_unref(r);
}

static void test_ext_call__generate(void)
{
    test_table_reset(4);
    osqueryExtensionResponse *r = call("table", "test_table", "generate",
        "{\"constraints\":[{\"name\":\"id\",\"list\":[{\"op\":2,\"expr\":\"3\"}],"
        "\"affinity\":\"INTEGER\"}]}");
    CU_ASSERT_EQUAL(r->status->code, 0);
    CU_ASSERT_STRING_EQUAL(r->status->message, "OK");
    /* the table may ignore constraints; osqueryd's SQLite filters again */
    CU_ASSERT_EQUAL_FATAL(r->response->len, 4);
    CU_ASSERT_STRING_EQUAL(test_table_seen.last_constraint, "id 2 3");
    CU_ASSERT_STRING_EQUAL(cell(r, 0, "name"), "row 1");
    CU_ASSERT_STRING_EQUAL(cell(r, 0, "secret"), "s");
    /* NULL travels as a missing key */
    CU_ASSERT_FALSE(g_hash_table_contains(g_ptr_array_index(r->response, 1), "secret"));
    g_object_unref(r);

    test_table_reset(1);
    r = call("table", "test_table", "generate", NULL);
    CU_ASSERT_EQUAL(r->status->code, 0);
    CU_ASSERT_EQUAL(r->response->len, 1);
    g_object_unref(r);
}

static void test_ext_call__readonly(void)
{
    static const char *writes[] = {"insert", "update", "delete"};
    for (int i = 0; i < 3; i++) {
        osqueryExtensionResponse *r = call("table", "test_table", writes[i], NULL);
        CU_ASSERT_EQUAL(r->status->code, 0);
        CU_ASSERT_EQUAL_FATAL(r->response->len, 1);
        CU_ASSERT_STRING_EQUAL(cell(r, 0, "status"), "readonly");
        g_object_unref(r);
    }
}

static void expect_failure(const char *registry, const char *item, const char *action,
                           const char *context, const char *needle)
{
    osqueryExtensionResponse *r = call(registry, item, action, context);
    CU_ASSERT_EQUAL(r->status->code, 1);
    CU_ASSERT_PTR_NOT_NULL(r->status->message);
    if (r->status->message && !strstr(r->status->message, needle)) {
        fprintf(stderr, "\n  status '%s' lacks '%s'\n", r->status->message, needle);
        CU_FAIL("status message");
    }
    CU_ASSERT_EQUAL(r->response->len, 0);
    g_object_unref(r);
}

static void test_ext_call__errors(void)
{
    expect_failure("config", "x", "genConfig", NULL, "Unknown registry: config");
    expect_failure(NULL, "x", "generate", NULL, "Unknown registry");
    expect_failure("table", "no_such_table", "generate", NULL, "Unknown table: no_such_table");
    expect_failure("table", NULL, "generate", NULL, "Unknown table");
    expect_failure("table", "test_table", "explode", NULL, "Unknown action: explode");
    expect_failure("table", "test_table", NULL, NULL, "request action");
    expect_failure("table", "test_table", "generate", "{\"constraints\":[{", "context");
    expect_failure("table", "test_required", "generate", "{}", "requires an equality "
                                                              "constraint on key");
    test_table_reset(1);
    test_table_seen.fail = 1;
    expect_failure("table", "test_table", "generate", "{}", "failed on purpose");
}

static void test_ext_call__registry_routes(void)
{
    GHashTable *exclude = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_add(exclude, "test_required");
    GHashTable *routes = orchard_ext_registry(reg, exclude);
    GHashTable *tables = g_hash_table_lookup(routes, "table");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tables);
    CU_ASSERT_EQUAL(g_hash_table_size(tables), 1);
    GPtrArray *cols = g_hash_table_lookup(tables, "test_table");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cols);
    CU_ASSERT_EQUAL(cols->len, 3);
    g_hash_table_unref(routes);
    g_hash_table_destroy(exclude);
}

void ext_call_suite(void)
{
    ORCHARD_ADD_SUITE("ext_call", setup, teardown,
                      {"columns", test_ext_call__columns},
                      {"generate", test_ext_call__generate},
                      {"readonly", test_ext_call__readonly},
                      {"errors", test_ext_call__errors},
                      {"registry_routes", test_ext_call__registry_routes});
}
