/* Plugin loading through the real path: a fake plugin .so opened with
 * GModule, its ABI checked, its tables generated and its command found; the
 * plugin counts the host's calls, read here through our own handle on the
 * same .so (GModule refcounts it, so the counters outlive the registry). */
#include "tests/suites.h"

#include "host/commands.h"
#include "host/query/context.h"
#include "host/plugins/registry.h"
#include "host/query/rows.h"

#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <glib.h>
#include <gmodule.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef unsigned (*count_fn)(const char *what);

static GModule *fake_module; /* our own reference: keeps the counters alive */
static count_fn fake_count;

static int suite_init(void)
{
    gpointer sym = NULL;
    fake_module = g_module_open(FAKE_PLUGIN, G_MODULE_BIND_LOCAL);
    if (!fake_module || !g_module_symbol(fake_module, "fake_plugin_count", &sym) || !sym) {
        fprintf(stderr, "plugin_load: cannot open %s: %s\n", FAKE_PLUGIN, g_module_error());
        return 1;
    }
    fake_count = (count_fn)sym;
    return 0;
}

static int suite_cleanup(void)
{
    if (fake_module)
        g_module_close(fake_module);
    fake_module = NULL;
    return 0;
}

/* A registry with the core plugin and the fake plugin loaded. */
static orchard_registry *registry_with_fake(void)
{
    g_autofree char *err = NULL;
    orchard_registry *reg = orchard_registry_new();
    CU_ASSERT_EQUAL_FATAL(orchard_registry_add_builtin(reg, orchard_core_plugin_entry, &err), 0);
    int rc = orchard_registry_load(reg, FAKE_PLUGIN, &err);
    if (rc != 0)
        fprintf(stderr, "load %s: %s\n", FAKE_PLUGIN, err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return reg;
}

static void test_load_counts_entry_and_lists_tables(void)
{
    unsigned entries = fake_count("entry");
    orchard_registry *reg = registry_with_fake();

    CU_ASSERT_EQUAL(fake_count("entry"), entries + 1);
    CU_ASSERT_PTR_NOT_NULL(orchard_registry_find_table(reg, "fake_items"));
    CU_ASSERT_PTR_NOT_NULL(orchard_registry_find_table(reg, "fake_slow"));
    CU_ASSERT_PTR_NOT_NULL(orchard_registry_find_table(reg, "orchard_plugins"));
    CU_ASSERT_PTR_NULL(orchard_registry_find_table(reg, "fake_nothing"));
    CU_ASSERT_EQUAL(orchard_registry_table_count(reg), 5); /* with the core plugin's three */
    CU_ASSERT_EQUAL_FATAL(orchard_registry_plugin_count(reg), 2);
    const orchard_loaded_plugin *lp = orchard_registry_plugin(reg, 1);
    CU_ASSERT_STRING_EQUAL(lp->plugin->name, "fake");
    CU_ASSERT_STRING_EQUAL(lp->path, FAKE_PLUGIN);
    CU_ASSERT_PTR_NULL(orchard_registry_plugin(reg, 0)->path); /* built-in */
    const orchard_table *t = orchard_registry_find_table(reg, "fake_items");
    CU_ASSERT_EQUAL_FATAL(t->n_columns, 3);
    CU_ASSERT_STRING_EQUAL(t->columns[0]->name, "id");
    CU_ASSERT_EQUAL(t->columns[0]->type, ORCHARD_TYPE_INTEGER);
    CU_ASSERT_EQUAL(t->columns[0]->options, ORCHARD_COLUMN_INDEX);
    orchard_registry_free(reg);
}

static void test_generate_honors_constraint(void)
{
    orchard_registry *reg = registry_with_fake();
    const orchard_table *t = orchard_registry_find_table(reg, "fake_items");
    orchard_query_ctx *ctx = orchard_query_ctx_new();
    orchard_rows *rows = NULL;
    unsigned gens = fake_count("generate");

    orchard_query_ctx_add(ctx, "id", ORCHARD_OP_EQ, "2");
    CU_ASSERT_EQUAL(orchard_table_generate(t, ctx, &rows), 0);
    CU_ASSERT_EQUAL(fake_count("generate"), gens + 1);
    CU_ASSERT_EQUAL_FATAL(orchard_rows_count(rows), 1);
    const char *const *row = orchard_rows_get(rows, 0);
    CU_ASSERT_STRING_EQUAL(row[0], "2");
    CU_ASSERT_STRING_EQUAL(row[1], "pear");
    CU_ASSERT_STRING_EQUAL(row[2], "green");
    orchard_rows_free(rows);
    orchard_query_ctx_free(ctx);

    /* No constraint: every row, and item 3's note is SQL NULL. */
    ctx = orchard_query_ctx_new();
    CU_ASSERT_EQUAL(orchard_table_generate(t, ctx, &rows), 0);
    CU_ASSERT_EQUAL(fake_count("generate"), gens + 2);
    CU_ASSERT_EQUAL_FATAL(orchard_rows_count(rows), 3);
    CU_ASSERT_STRING_EQUAL(orchard_rows_get(rows, 2)[1], "plum");
    CU_ASSERT_PTR_NULL(orchard_rows_get(rows, 2)[2]);
    orchard_rows_free(rows);
    orchard_query_ctx_free(ctx);
    orchard_registry_free(reg);
}

/* Run a command with stdout sent to /dev/null, so its greeting stays out of
 * the test report. Returns its exit status. */
static int run_quietly(const orchard_command *cmd, int argc, char **argv)
{
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved < 0 || null_fd < 0)
        return -1;
    dup2(null_fd, STDOUT_FILENO);
    int rc = cmd->run(argc, argv, cmd->payload);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(null_fd);
    return rc;
}

static void test_multi_word_command(void)
{
    orchard_registry *reg = registry_with_fake();
    char *argv[] = {"fake", "hello", "--loud", NULL};
    char *only_first[] = {"fake", NULL};
    char *wrong_second[] = {"fake", "hellox", NULL};
    int n = -1;

    const orchard_command *c = orchard_registry_find_command(reg, 3, argv, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(c->name, "fake hello");
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_PTR_NULL(orchard_registry_find_command(reg, 1, only_first, &n));
    CU_ASSERT_PTR_NULL(orchard_registry_find_command(reg, 2, wrong_second, &n));
    unsigned runs = fake_count("command");
    char *cargv[] = {(char *)c->name, "--loud", NULL};
    CU_ASSERT_EQUAL(run_quietly(c, 2, cargv), 0);
    CU_ASSERT_EQUAL(fake_count("command"), runs + 1);
    orchard_registry_free(reg);
}

static void test_free_calls_deinit_once(void)
{
    unsigned deinits = fake_count("deinit");
    orchard_registry *reg = registry_with_fake();
    CU_ASSERT_EQUAL(fake_count("deinit"), deinits);
    orchard_registry_free(reg);
    CU_ASSERT_EQUAL(fake_count("deinit"), deinits + 1);
}

static void test_abi_mismatch_refused(void)
{
    orchard_registry *reg = orchard_registry_new();
    g_autofree char *err = NULL;

    CU_ASSERT_EQUAL(orchard_registry_load(reg, ABI_MISMATCH_PLUGIN, &err), ORCHARD_EABI);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "future-plugin"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ABI 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ABI 1"));
    CU_ASSERT_EQUAL(orchard_registry_plugin_count(reg), 0);
    orchard_registry_free(reg);
}

static void test_load_twice_is_eexist(void)
{
    orchard_registry *reg = registry_with_fake();
    g_autofree char *err = NULL;

    CU_ASSERT_EQUAL(orchard_registry_load(reg, FAKE_PLUGIN, &err), ORCHARD_EEXIST);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "fake"));
    CU_ASSERT_EQUAL(orchard_registry_plugin_count(reg), 2);
    CU_ASSERT_EQUAL(orchard_registry_table_count(reg), 5); /* with the core plugin's three */
    orchard_registry_free(reg);
}

/* The refused second load shares the first one's module (GModule refcounts
 * one dlopen handle), so it must not run deinit on the plugin still in use:
 * deinit runs once, when the registry lets the plugin go. */
static void test_load_twice_keeps_first_alive(void)
{
    unsigned deinits = fake_count("deinit");
    orchard_registry *reg = registry_with_fake();
    g_autofree char *err = NULL;

    CU_ASSERT_EQUAL(orchard_registry_load(reg, FAKE_PLUGIN, &err), ORCHARD_EEXIST);
    CU_ASSERT_EQUAL(fake_count("deinit"), deinits);
    orchard_registry_free(reg);
    CU_ASSERT_EQUAL(fake_count("deinit"), deinits + 1);
}

static void test_not_a_plugin(void)
{
    orchard_registry *reg = orchard_registry_new();
    const char *missing = BUILD_DIR "/no-such-plugin.so";
    char *err = NULL;

    CU_ASSERT_EQUAL(orchard_registry_load(reg, "/etc/hostname", &err), ORCHARD_EIO);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "/etc/hostname"));
    g_free(err);
    err = NULL;
    CU_ASSERT_EQUAL(orchard_registry_load(reg, missing, &err), ORCHARD_EIO);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "no-such-plugin.so"));
    g_free(err);
    err = NULL;
    /* A real shared object without our entry point. */
    CU_ASSERT_EQUAL(orchard_registry_load(reg, "libm.so.6", &err), ORCHARD_EIO);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, ORCHARD_PLUGIN_ENTRY_SYMBOL));
    g_free(err);
    CU_ASSERT_EQUAL(orchard_registry_plugin_count(reg), 0);
    orchard_registry_free(reg);
}

/* Run the orchard binary; returns its exit status, or -1 if it didn't run. */
static int run_orchard(char **argv, char **out, char **err)
{
    GError *error = NULL;
    int status = 0;
    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status,
                      &error)) {
        fprintf(stderr, "spawn %s: %s\n", argv[0], error->message);
        g_clear_error(&error);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The JSON array `orchard query --json` printed, or NULL (json_decref it). */
static json_t *parse_rows(const char *text)
{
    json_t *root = text ? json_loads(text, 0, NULL) : NULL;
    if (root && !json_is_array(root)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static const char *member_string(json_t *rows, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(rows, i), key));
}

static void test_binary_query_with_plugin(void)
{
    char *argv[] = {ORCHARD_BIN, "query", "--json", "--plugin", FAKE_PLUGIN,
                    "select id, name, note from fake_items order by id", NULL};
    g_autofree char *out = NULL, *err = NULL;

    CU_ASSERT_EQUAL(run_orchard(argv, &out, &err), 0);
    json_t *rows = parse_rows(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    CU_ASSERT_EQUAL(json_array_size(rows), 3);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(rows, 1), "id")), 2);
    CU_ASSERT_STRING_EQUAL(member_string(rows, 1, "name"), "pear");
    CU_ASSERT_TRUE(json_is_null(json_object_get(json_array_get(rows, 2), "note")));
    json_decref(rows);

    char *argv2[] = {ORCHARD_BIN, "--plugin", FAKE_PLUGIN, "query", "--json",
                     "select name, path, routes, jobs from orchard_plugins where name = 'fake'",
                     NULL};
    g_autofree char *out2 = NULL, *err2 = NULL;
    CU_ASSERT_EQUAL(run_orchard(argv2, &out2, &err2), 0);
    rows = parse_rows(out2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    CU_ASSERT_EQUAL(json_array_size(rows), 1);
    CU_ASSERT_STRING_EQUAL(member_string(rows, 0, "path"), FAKE_PLUGIN);
    CU_ASSERT_STRING_EQUAL(member_string(rows, 0, "routes"), "GET /fake");
    CU_ASSERT_STRING_EQUAL(member_string(rows, 0, "jobs"), "fake_job");
    json_decref(rows);

    /* no rows: still one valid JSON array */
    char *argv3[] = {ORCHARD_BIN, "query", "--json", "select 1 where 0", NULL};
    g_autofree char *out3 = NULL, *err3 = NULL;
    CU_ASSERT_EQUAL(run_orchard(argv3, &out3, &err3), 0);
    rows = parse_rows(out3);
    CU_ASSERT_PTR_NOT_NULL(rows);
    CU_ASSERT_EQUAL(json_array_size(rows), 0);
    json_decref(rows);
}

/* Plugins named by the configuration's `plugins:` list load like --plugin. */
static void test_binary_plugins_from_config(void)
{
    g_autofree char *dir = g_dir_make_tmp("orchard-cfg-XXXXXX", NULL);
    g_autofree char *cfg = g_build_filename(dir, "orchard.yml", NULL);
    g_autofree char *yaml = g_strdup_printf("plugins:\n  - %s\n", FAKE_PLUGIN);
    g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL;
    CU_ASSERT_TRUE_FATAL(g_file_set_contents(cfg, yaml, -1, NULL));

    char *argv[] = {ORCHARD_BIN, "query", "--config", cfg,
                    "select path from orchard_plugins where name = 'fake'", NULL};
    CU_ASSERT_EQUAL(run_orchard(argv, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, FAKE_PLUGIN));

    /* a config naming a missing plugin fails the command, naming the path */
    g_autofree char *bad = g_strdup_printf("plugins: [%s/missing.so]\n", dir);
    CU_ASSERT_TRUE_FATAL(g_file_set_contents(cfg, bad, -1, NULL));
    CU_ASSERT_EQUAL(run_orchard(argv, &out2, &err2), 1);
    CU_ASSERT_PTR_NOT_NULL(err2 && strstr(err2, "missing.so"));
    g_unlink(cfg);
    g_rmdir(dir);
}

static void test_binary_command_and_refusal(void)
{
    char *hello[] = {ORCHARD_BIN, "--plugin", FAKE_PLUGIN, "fake", "hello", NULL};
    char *abi[] = {ORCHARD_BIN, "--plugin", ABI_MISMATCH_PLUGIN, "version", NULL};
    g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL;

    CU_ASSERT_EQUAL(run_orchard(hello, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "hello from fake"));
    CU_ASSERT_EQUAL(run_orchard(abi, &out2, &err2), 1);
    CU_ASSERT_PTR_NOT_NULL(err2 && strstr(err2, "future-plugin"));
    CU_ASSERT_PTR_NOT_NULL(err2 && strstr(err2, "ABI 2"));
}

void plugin_load_suite(void)
{
    ORCHARD_ADD_SUITE("plugin_load", suite_init, suite_cleanup,
                      {"load_counts_entry_and_lists_tables", test_load_counts_entry_and_lists_tables},
                      {"generate_honors_constraint", test_generate_honors_constraint},
                      {"multi_word_command", test_multi_word_command},
                      {"free_calls_deinit_once", test_free_calls_deinit_once},
                      {"abi_mismatch_refused", test_abi_mismatch_refused},
                      {"load_twice_is_eexist", test_load_twice_is_eexist},
                      {"load_twice_keeps_first_alive", test_load_twice_keeps_first_alive},
                      {"not_a_plugin", test_not_a_plugin},
                      {"binary_query_with_plugin", test_binary_query_with_plugin},
                      {"binary_plugins_from_config", test_binary_plugins_from_config},
                      {"binary_command_and_refusal", test_binary_command_and_refusal});
}
