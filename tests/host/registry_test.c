/* Plugin registration: the ABI checks that protect the host, name clashes,
 * and command lookup. Plugins here are built-in doubles with one defect each;
 * tests/host/plugin_load_test.c covers real .so files. */
#include "host/commands.h"
#include "host/plugins/registry.h"
#include "tests/suites.h"
#include "tests/host/test_table.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <string.h>

static int noop_generate(const orchard_query_ctx *c, orchard_rows *r, void *p)
{
    (void)c;
    (void)r;
    (void)p;
    return 0;
}
static int noop_run(int argc, char **argv, void *p)
{
    (void)argc;
    (void)argv;
    (void)p;
    return 0;
}
static int noop_route(const orchard_http_request *q, orchard_http_response *s, void *p)
{
    (void)q;
    (void)s;
    (void)p;
    return 0;
}

static const orchard_column good_col = {ORCHARD_STRUCT_HEADER(orchard_column), .name = "c",
                                        .type = ORCHARD_TYPE_TEXT, .description = "c"};
static const orchard_column bad_type_col = {ORCHARD_STRUCT_HEADER(orchard_column), .name = "c",
                                            .type = (orchard_column_type)42, .description = "c"};
static const orchard_column *const good_cols[] = {&good_col};
static const orchard_column *const bad_cols[] = {&bad_type_col};

/* The plugin the next entry call returns, so one entry function serves all. */
static orchard_plugin candidate;
static orchard_table cand_table;
static orchard_command cand_cmds[2];
static const orchard_table *cand_tables[1];
static const orchard_command *cand_cmd_ptrs[2];
static orchard_route cand_route;
static const orchard_route *cand_routes[1];
static int entry_rc;
static int deinit_calls;

static void cand_deinit(void) { deinit_calls++; }

static int candidate_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    CU_ASSERT_EQUAL(host->abi_version, ORCHARD_ABI_VERSION);
    CU_ASSERT_TRUE(ORCHARD_HAS_FIELD(host, orchard_host_api, rows_fail));
    *out = &candidate;
    return entry_rc;
}

static int noop_run2(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    (void)payload;
    return 0;
}

static void reset_candidate(const char *name, const char *table)
{
    entry_rc = 0;
    deinit_calls = 0;
    cand_table = (orchard_table){ORCHARD_STRUCT_HEADER(orchard_table), .name = table,
                                 .description = "t", .columns = good_cols, .n_columns = 1,
                                 .generate = noop_generate};
    cand_tables[0] = &cand_table;
    cand_cmds[0] = (orchard_command){ORCHARD_STRUCT_HEADER(orchard_command), .name = "generate",
                                     .summary = "s", .usage = "u", .run = noop_run};
    cand_cmds[1] = (orchard_command){ORCHARD_STRUCT_HEADER(orchard_command),
                                     .name = "generate mdm-apple", .summary = "s", .usage = "u",
                                     .run = noop_run};
    cand_cmd_ptrs[0] = &cand_cmds[0];
    cand_cmd_ptrs[1] = &cand_cmds[1];
    cand_route = (orchard_route){ORCHARD_STRUCT_HEADER(orchard_route), .method = "GET",
                                 .path_prefix = "/x", .handle = noop_route};
    cand_routes[0] = &cand_route;
    candidate = (orchard_plugin){ORCHARD_STRUCT_HEADER(orchard_plugin), .name = name,
                                 .version = "1.0", .description = "d", .tables = cand_tables,
                                 .n_tables = 1, .commands = cand_cmd_ptrs, .n_commands = 2,
                                 .routes = cand_routes, .n_routes = 1, .deinit = cand_deinit};
}

/* Register the candidate into a registry holding the core plugin; expect rc
 * and, on failure, that the message contains `needle` and nothing was added. */
static void expect(int want_rc, const char *needle)
{
    orchard_registry *reg = orchard_registry_new();
    char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_registry_add_builtin(reg, orchard_core_plugin_entry, &err), 0);
    size_t tables = orchard_registry_table_count(reg);
    int rc = orchard_registry_add_builtin(reg, candidate_entry, &err);
    CU_ASSERT_EQUAL(rc, want_rc);
    if (want_rc) {
        CU_ASSERT_PTR_NOT_NULL(err);
        if (err && needle && !strstr(err, needle)) {
            fprintf(stderr, "\n  message '%s' lacks '%s'\n", err, needle);
            CU_FAIL("message lacks the expected words");
        }
        CU_ASSERT_EQUAL(orchard_registry_table_count(reg), tables);
        CU_ASSERT_EQUAL(orchard_registry_plugin_count(reg), 1);
    }
    g_free(err);
    orchard_registry_free(reg);
}

static void test_registry__good_plugin_and_commands(void)
{
    reset_candidate("cand", "cand_table");
    orchard_registry *reg = orchard_registry_new();
    char *err = NULL;
    CU_ASSERT_EQUAL(orchard_registry_add_builtin(reg, orchard_core_plugin_entry, &err), 0);
    CU_ASSERT_EQUAL(orchard_registry_add_builtin(reg, candidate_entry, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(orchard_registry_find_table(reg, "orchard_plugins"));
    CU_ASSERT_PTR_EQUAL(orchard_registry_find_table(reg, "cand_table"), &cand_table);
    CU_ASSERT_PTR_NULL(orchard_registry_find_table(reg, "nope"));
    int n = 0;
    char *argv1[] = {"generate", "mdm-apple", "--email", "x"};
    CU_ASSERT_PTR_EQUAL(orchard_registry_find_command(reg, 4, argv1, &n), &cand_cmds[1]);
    CU_ASSERT_EQUAL(n, 2);
    char *argv2[] = {"generate", "mdm-apple-bm"};
    CU_ASSERT_PTR_EQUAL(orchard_registry_find_command(reg, 2, argv2, &n), &cand_cmds[0]);
    CU_ASSERT_EQUAL(n, 1);
    char *argv3[] = {"gen"};
    CU_ASSERT_PTR_NULL(orchard_registry_find_command(reg, 1, argv3, &n));
    orchard_registry_free(reg);
    CU_ASSERT_EQUAL(deinit_calls, 1);
}

static void test_registry__abi_version_mismatch(void)
{
    reset_candidate("future", "t1");
    candidate.abi_version = 2;
    expect(ORCHARD_EABI, "plugin 'future' (built-in) is built for orchard plugin ABI 2; "
                         "this host speaks ABI 1");
    CU_ASSERT_EQUAL(deinit_calls, 0); /* never call into a plugin of another ABI */
}

static void test_registry__struct_too_small(void)
{
    reset_candidate("small", "t1");
    candidate.struct_size = 12;
    expect(ORCHARD_EABI, "smaller than ABI 1");
    reset_candidate("small", "t1");
    cand_table.struct_size = 8;
    expect(ORCHARD_EABI, "table struct");
    reset_candidate("small", "t1");
    cand_cmds[1].abi_version = 0;
    expect(ORCHARD_EABI, "ABI 0");
    reset_candidate("small", "t1");
    cand_route.struct_size = 4;
    expect(ORCHARD_EABI, "route struct");
}

static void test_registry__invalid_contents(void)
{
    reset_candidate("bad", "t1");
    cand_table.n_columns = 0;
    expect(ORCHARD_EINVAL, "at least one column");
    reset_candidate("bad", "Bad-Name");
    expect(ORCHARD_EINVAL, "lower-case name");
    reset_candidate("bad", "t1");
    cand_table.columns = bad_cols;
    expect(ORCHARD_EINVAL, "invalid name or type");
    reset_candidate("bad", "t1");
    cand_table.generate = NULL;
    expect(ORCHARD_EINVAL, "generate");
    reset_candidate("bad", "t1");
    cand_tables[0] = NULL;
    expect(ORCHARD_EINVAL, "NULL");
    reset_candidate("bad", "t1");
    cand_route.path_prefix = "x";
    expect(ORCHARD_EINVAL, "starting with /");
    reset_candidate("bad", "t1");
    cand_cmds[0].run = NULL;
    expect(ORCHARD_EINVAL, "no name or run");
    reset_candidate(NULL, "t1");
    expect(ORCHARD_EINVAL, "no name");
    /* 1.2: a guard the host doesn't know would answer 500 on every request. */
    reset_candidate("bad", "t1");
    cand_route.guard = ORCHARD_GUARD_ADMIN + 1;
    expect(ORCHARD_EINVAL, "unknown guard 5");
    /* 1.2: a 2-form callback stands in for the v1 one. */
    reset_candidate("ok", "t1");
    cand_cmds[0].run = NULL;
    cand_cmds[0].run2 = noop_run2;
    expect(0, NULL);
}

static void test_registry__name_clashes(void)
{
    reset_candidate("clash", "orchard_plugins");
    expect(ORCHARD_EEXIST, "table orchard_plugins is already registered");
    reset_candidate("orchard-core", "t1");
    expect(ORCHARD_EEXIST, "already loaded");
    reset_candidate("clash", "t1");
    cand_cmds[0].name = "query";
    expect(ORCHARD_EEXIST, "command 'query'");
    CU_ASSERT_EQUAL(deinit_calls, 1); /* a refused v1 plugin may clean up */
}

static void test_registry__entry_refuses(void)
{
    reset_candidate("refuser", "t1");
    entry_rc = ORCHARD_EABI;
    expect(ORCHARD_EABI, "refused to load");
}

void registry_suite(void)
{
    ORCHARD_ADD_SUITE("registry", NULL, NULL,
                      {"good_plugin_and_commands", test_registry__good_plugin_and_commands},
                      {"abi_version_mismatch", test_registry__abi_version_mismatch},
                      {"struct_too_small", test_registry__struct_too_small},
                      {"invalid_contents", test_registry__invalid_contents},
                      {"name_clashes", test_registry__name_clashes},
                      {"entry_refuses", test_registry__entry_refuses});
}
