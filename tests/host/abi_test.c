/* abi: plugins of every 1.x minor version load into this host. A 1.0 and a
 * 1.1 build (struct sizes that end where their layout ended, v1 callbacks)
 * serve their table, command, route and job; a 1.2 plugin gets its context
 * in every callback, its state through it, its failure messages shown, its
 * aliases and settings honoured, and deinit2 at the end. */
#include "tests/suites.h"

#include "host/commands.h"
#include "host/jobs/jobs.h"
#include "host/plugins/plugin_ctx.h"
#include "host/plugins/registry.h"
#include "host/query/context.h"
#include "host/query/rows.h"
#include "host/settings.h"

#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <glib.h>
#include <gmodule.h>
#include <string.h>
#include <unistd.h>

/* Our own handle on a fixture .so, for its counters (GModule refcounts). */
static gpointer fixture_symbol(const char *path, const char *name, GModule **keep)
{
    gpointer sym = NULL;
    *keep = g_module_open(path, G_MODULE_BIND_LOCAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*keep);
    CU_ASSERT_FATAL(g_module_symbol(*keep, name, &sym) && sym);
    return sym;
}

static orchard_registry *registry_with(const char *path)
{
    g_autofree char *err = NULL;
    orchard_registry *reg = orchard_registry_new();
    CU_ASSERT_EQUAL_FATAL(orchard_registry_add_builtin(reg, orchard_core_plugin_entry, &err), 0);
    int rc = orchard_registry_load(reg, path, &err);
    if (rc)
        fprintf(stderr, "\n  load %s: %s\n", path, err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    orchard_registry_set_global(reg);
    return reg;
}

/* Generate `table` with no constraints; the rows (orchard_rows_free). */
static orchard_rows *generate(orchard_registry *reg, const char *table, int *rc)
{
    const orchard_table *t = orchard_registry_find_table(reg, table);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    orchard_query_ctx *q = orchard_query_ctx_new();
    orchard_rows *rows = NULL;
    *rc = orchard_table_generate(t, q, &rows);
    orchard_query_ctx_free(q);
    return rows;
}

/* Run the command argv names through the registry, as main does. */
static int run_command(orchard_registry *reg, int argc, char **argv)
{
    int n = 0;
    const orchard_command *cmd = orchard_registry_find_command(reg, argc, argv, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cmd);
    char **cargv = g_new0(char *, argc - n + 2);
    cargv[0] = (char *)cmd->name;
    for (int i = n; i < argc; i++)
        cargv[i - n + 1] = argv[i];
    int rc = orchard_call_command(orchard_registry_ctx_of(reg, cmd), cmd, argc - n + 1, cargv);
    g_free(cargv);
    return rc;
}

static void check_legacy(const char *path, int minor)
{
    GModule *keep = NULL;
    unsigned (*host_minor)(void) = fixture_symbol(path, "legacy_host_minor", &keep);
    int (*job_runs)(void) = NULL;
    g_module_symbol(keep, "legacy_job_runs", (gpointer *)&job_runs);
    orchard_registry *reg = registry_with(path);
    char table[32], word[16], job[32], prefix[16];
    g_snprintf(table, sizeof table, "legacy1%d_items", minor);
    g_snprintf(word, sizeof word, "legacy1%d", minor);
    g_snprintf(job, sizeof job, "legacy1%d_job", minor);
    g_snprintf(prefix, sizeof prefix, "/legacy1%d", minor);

    /* The plugin saw this host's minor version through the macro it would use. */
    CU_ASSERT_EQUAL(host_minor(), ORCHARD_ABI_MINOR);

    int rc = 0;
    orchard_rows *rows = generate(reg, table, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(orchard_rows_count(rows), 1);
    CU_ASSERT_STRING_EQUAL(orchard_rows_get(rows, 0)[0], "legacy");
    CU_ASSERT_STRING_EQUAL(orchard_rows_get(rows, 0)[1], minor ? "1.1" : "1.0");
    orchard_rows_free(rows);

    char *argv[] = {word, "hello", NULL};
    CU_ASSERT_EQUAL(run_command(reg, 2, argv), 7);

    const orchard_route *r = orchard_registry_find_route(reg, "GET", prefix, NULL);
    if (minor) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        /* A route older than 1.2 is unguarded and behind no gate. */
        CU_ASSERT_EQUAL(orchard_route_guard_of(r), ORCHARD_GUARD_NONE);
        CU_ASSERT_PTR_NULL(orchard_route_gate_of(r));
    } else {
        CU_ASSERT_PTR_NULL(r);
    }

    int before = job_runs();
    g_autofree char *msg = NULL;
    CU_ASSERT_EQUAL(orchard_jobs_run_now(job, &msg, NULL), 0);
    CU_ASSERT_STRING_EQUAL(msg, "ok");
    CU_ASSERT_EQUAL(job_runs(), before + 1);
    const orchard_job *j = orchard_registry_job(reg, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    /* Fields the old plugin never wrote read as their defaults. */
    CU_ASSERT_EQUAL(orchard_job_deadline_of(j), 300);
    CU_ASSERT_EQUAL(orchard_job_flags_of(j), 0);
    CU_ASSERT_EQUAL(orchard_job_first_run_of(j), 0);

    orchard_registry_set_global(NULL);
    orchard_registry_free(reg);
    g_module_close(keep);
}

static void test_abi__loads_1_0_plugin(void) { check_legacy(LEGACY10_PLUGIN, 0); }
static void test_abi__loads_1_1_plugin(void) { check_legacy(LEGACY11_PLUGIN, 1); }

static void test_abi__context_in_every_callback(void)
{
    GModule *keep = NULL;
    int (*count)(const char *) = fixture_symbol(ABI12_PLUGIN, "abi12_count", &keep);
    int inits = count("init"), gens = count("generate2"), runs = count("run2");
    orchard_registry *reg = registry_with(ABI12_PLUGIN);
    CU_ASSERT_EQUAL(count("init"), inits + 1);

    int rc = 0;
    orchard_rows *rows = generate(reg, "abi12_greet", &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(count("generate2"), gens + 1);
    CU_ASSERT_EQUAL_FATAL(orchard_rows_count(rows), 1);
    CU_ASSERT_STRING_EQUAL(orchard_rows_get(rows, 0)[0], "abi12");
    /* The declared default, read through the typed settings. */
    CU_ASSERT_STRING_EQUAL(orchard_rows_get(rows, 0)[1], "hello");
    orchard_rows_free(rows);

    /* Aliases reach the same command; run2 sees the state too. */
    char *a[] = {"abi12", "hi", NULL}, *b[] = {"abi12", "hello", NULL}, *c[] = {"abi12_hi", NULL};
    CU_ASSERT_EQUAL(run_command(reg, 2, a), 0);
    CU_ASSERT_EQUAL(run_command(reg, 2, b), 0);
    CU_ASSERT_EQUAL(run_command(reg, 1, c), 0);
    CU_ASSERT_EQUAL(count("run2"), runs + 3);

    /* The setting has one owner: its declaration is found under it. */
    const char *owner = NULL;
    const orchard_setting *s = orchard_settings_find("abi12.greeting", &owner);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(owner, "abi12");

    int deinits = count("deinit2");
    orchard_registry_set_global(NULL);
    orchard_registry_free(reg);
    CU_ASSERT_EQUAL(count("deinit2"), deinits + 1);
    /* ... and is forgotten with its plugin. */
    CU_ASSERT_PTR_NULL(orchard_settings_find("abi12.greeting", NULL));
    g_module_close(keep);
}

/* host->fail's message is what the caller shows: a query's error, a
 * command's stderr line. */
static void test_abi__fail_message_reaches_the_caller(void)
{
    orchard_registry *reg = registry_with(ABI12_PLUGIN);
    int rc = 0;
    orchard_rows *rows = generate(reg, "abi12_refuse", &rc);
    CU_ASSERT_EQUAL(rc, ORCHARD_ENOTCONFIGURED);
    CU_ASSERT_STRING_EQUAL(orchard_rows_error(rows), "abi12_refuse needs abi12.limit");
    orchard_rows_free(rows);

    /* The command's message goes to stderr as "orchard <command>: ...". */
    char path[] = "/tmp/orchard-abi-stderr-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    char *argv[] = {"abi12", "hi", "fail", NULL};
    rc = run_command(reg, 3, argv);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    CU_ASSERT_EQUAL(rc, 3);
    g_autofree char *text = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(path, &text, NULL, NULL));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "orchard abi12 hi: asked to fail (abi12 hi)\n"));
    unlink(path);
    orchard_registry_set_global(NULL);
    orchard_registry_free(reg);
}

/* ---- refusals of 1.2 plugins (built in, so each case is one struct) ---- */

static const orchard_host_api *seen_host;
static int refusing_deinit2s;

static int refusing_init(orchard_ctx *ctx)
{
    return seen_host->fail(ctx, ORCHARD_ENOTCONFIGURED, "needs %s", "a license");
}

static void refusing_deinit2(orchard_ctx *ctx)
{
    (void)ctx;
    refusing_deinit2s++;
}

static const orchard_setting clash_setting = {ORCHARD_STRUCT_HEADER(orchard_setting),
                                              .key = "abi12.greeting",
                                              .type = ORCHARD_SETTING_STRING};
static const orchard_setting *const clash_settings[] = {&clash_setting};

static orchard_plugin candidate;

static int candidate_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    seen_host = host;
    *out = &candidate;
    return 0;
}

static void test_abi__init_refusal(void)
{
    candidate = (orchard_plugin){ORCHARD_STRUCT_HEADER(orchard_plugin), .name = "refuser",
                                 .version = "1", .init = refusing_init,
                                 .deinit2 = refusing_deinit2};
    orchard_registry *reg = orchard_registry_new();
    g_autofree char *err = NULL;
    int before = refusing_deinit2s;
    CU_ASSERT_EQUAL(orchard_registry_add_builtin(reg, candidate_entry, &err),
                    ORCHARD_ENOTCONFIGURED);
    CU_ASSERT_STRING_EQUAL(err, "plugin 'refuser' (built-in) refused to start: needs a license");
    CU_ASSERT_EQUAL(refusing_deinit2s, before + 1);
    CU_ASSERT_EQUAL(orchard_registry_plugin_count(reg), 0);
    orchard_registry_free(reg);
}

static void test_abi__setting_owned_twice(void)
{
    orchard_registry *reg = registry_with(ABI12_PLUGIN);
    candidate = (orchard_plugin){ORCHARD_STRUCT_HEADER(orchard_plugin), .name = "thief",
                                 .version = "1", .settings = clash_settings, .n_settings = 1};
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(orchard_registry_add_builtin(reg, candidate_entry, &err), ORCHARD_EEXIST);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "abi12.greeting"));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "abi12"));
    /* The owner keeps it. */
    const char *owner = NULL;
    CU_ASSERT_PTR_NOT_NULL(orchard_settings_find("abi12.greeting", &owner));
    CU_ASSERT_STRING_EQUAL(owner, "abi12");
    orchard_registry_set_global(NULL);
    orchard_registry_free(reg);
}

/* A setting declared by a struct smaller than 1.2's is refused by name. */
static void test_abi__short_setting_struct(void)
{
    static orchard_setting small;
    small = (orchard_setting){ORCHARD_ABI_VERSION, (uint32_t)offsetof(orchard_setting, type),
                              .key = "x.y"};
    static const orchard_setting *const smalls[] = {&small};
    candidate = (orchard_plugin){ORCHARD_STRUCT_HEADER(orchard_plugin), .name = "small",
                                 .version = "1", .settings = smalls, .n_settings = 1};
    orchard_registry *reg = orchard_registry_new();
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(orchard_registry_add_builtin(reg, candidate_entry, &err), ORCHARD_EABI);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "setting struct"));
    orchard_registry_free(reg);
}

void abi_suite(void)
{
    ORCHARD_ADD_SUITE("abi", NULL, NULL,
                      {"test_abi__loads_1_0_plugin", test_abi__loads_1_0_plugin},
                      {"test_abi__loads_1_1_plugin", test_abi__loads_1_1_plugin},
                      {"test_abi__context_in_every_callback", test_abi__context_in_every_callback},
                      {"test_abi__fail_message_reaches_the_caller",
                       test_abi__fail_message_reaches_the_caller},
                      {"test_abi__init_refusal", test_abi__init_refusal},
                      {"test_abi__setting_owned_twice", test_abi__setting_owned_twice},
                      {"test_abi__short_setting_struct", test_abi__short_setting_struct});
}
