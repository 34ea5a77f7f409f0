/* The built-in "orchard-core" plugin: the host's own table (orchard_plugins)
 * and commands, registered through the same ABI as every other plugin so
 * that `orchard_plugins` and `orchard help` list them like the rest. */
#include "host/commands.h"
#include "host/jobs/jobs.h"
#include "jobs.gen.h"
#include "instances.gen.h"
#include "orchard_plugins.gen.h"
#include "host/plugins/registry.h"
#include "host/http/http_guard.h"
#include "host/http/http_settings.h"
#include "host/instances/instances.h"
#include "host/settings.h"
#include "host/store/store_settings.h"

#include <glib.h>
#include <string.h>

static const orchard_host_api *host;

static const orchard_command cmd_query = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "query",
    .summary = "Run SQL over every table in an in-memory SQLite database",
    .usage = "orchard query [--json] [--timeout SECONDS] [--config F] [--root DIR]\n"
             "              [--profiles_bin PATH] [--nudge_json PATH] [--plugin PATH]... \"SQL\"\n"
             "  --json                print one JSON array of objects (NULL as null)\n"
             "  --timeout SECONDS     stop the statement after this long (default 60, 0: no "
             "limit)\n"
             "  --config F            the configuration (store.sqlite for the server's tables)\n"
             "  --root DIR            read the Mac's files under DIR (agent.root, default /)\n"
             "  --profiles_bin PATH   run this instead of /usr/bin/profiles "
             "(agent.profiles_bin)\n"
             "  --nudge_json PATH     the Nudge JSON configuration the nudge table reads "
             "(agent.nudge_json)\n"
             "The store is opened read-only; ATTACH and DETACH are refused.\n"
             "Exit status 1 when the statement fails.",
    .run = orchard_cmd_query,
    .payload = NULL,
};

static const orchard_command cmd_extension = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "extension",
    .summary = "Serve the tables to osqueryd as an osquery extension (also: run as orchard.ext)",
    .usage = "orchard extension --socket PATH [--timeout S] [--interval S] [--verbose]\n"
                "  --socket    osqueryd's extension manager socket (default /var/osquery/osquery.em)\n"
                "  --timeout   seconds to wait for the manager (default 3)\n"
                "  --interval  seconds between registration checks (default 3)\n"
                "Flags take `--x v` or `--x=v`, as osqueryd passes them.",
    .run = orchard_cmd_extension,
    .payload = NULL,
};

static const orchard_command cmd_help = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "help",
    .summary = "List commands, or show one command's usage",
    .usage = "orchard help [COMMAND...]",
    .run = orchard_cmd_help,
    .payload = NULL,
};

static const orchard_command cmd_version = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "version",
    .summary = "Print orchard's version and plugin ABI version",
    .usage = "orchard version",
    .run = orchard_cmd_version,
    .payload = NULL,
};

static const orchard_table *const tables[] = {&orchard_table_orchard_plugins,
                                              &orchard_table_jobs,
                                              &orchard_table_instances};
static const orchard_command *const commands[] = {&cmd_query, &cmd_extension, &cmd_help,
                                                  &cmd_version, &orchard_cmd_job_run};

/* The host's own keys: read once at start, before or while plugins load. */
static const orchard_setting setting_plugins = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = "plugins",
    .type = ORCHARD_SETTING_PATH,
    .description = "Plugin .so files to load on every command (a list)",
    .flags = ORCHARD_SETTING_RESTART | ORCHARD_SETTING_HOST_LIST,
};

static const orchard_setting setting_plugin_dir = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = "plugin_dir",
    .type = ORCHARD_SETTING_PATH,
    .description = "A directory whose *.so plugins are loaded (default: plugins/ beside the "
                   "binary, else the installed lib/orchard)",
    .flags = ORCHARD_SETTING_RESTART,
};

static const orchard_setting setting_http_module = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = "http_module",
    .type = ORCHARD_SETTING_PATH,
    .description = "The HTTP transport module orchard_http.so (default: modules/ beside the "
                   "binary, else the installed one)",
    .flags = ORCHARD_SETTING_RESTART,
};

static const orchard_setting setting_http_client_module = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = "http_client_module",
    .type = ORCHARD_SETTING_PATH,
    .description = "The outbound HTTP/2 client module orchard_http_client.so (default: "
                   "modules/ beside the binary, else the installed one)",
    .flags = ORCHARD_SETTING_RESTART,
};

static const orchard_setting *const own_settings[] = {
    &setting_plugins,
    &setting_plugin_dir,
    &setting_http_module,
    &setting_http_client_module,
    &orchard_setting_store_sqlite,
    &orchard_setting_store_postgres,
    &orchard_setting_store_busy_timeout_ms,
    &orchard_setting_store_read_connections,
    &orchard_setting_store_max_connections,
    &orchard_setting_store_postgres_module,
    &orchard_setting_server_client_cert_header,
    &orchard_setting_server_lease_duration,
};

/* The host's keys: its own above and the HTTP service's server.* list
 * (http_settings.c exports it as a function), joined once at entry. */
#define MAX_SETTINGS 64
static const orchard_setting *settings[MAX_SETTINGS];
static size_t n_settings;

static void collect_settings(void)
{
    size_t n_http = 0;
    const orchard_setting *const *http = orchard_http_settings_decl(&n_http);
    n_settings = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(own_settings) && n_settings < MAX_SETTINGS; i++)
        settings[n_settings++] = own_settings[i];
    for (size_t i = 0; i < n_http && n_settings < MAX_SETTINGS; i++)
        settings[n_settings++] = http[i];
}

static orchard_plugin core_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin),
    .name = "orchard-core",
    .version = ORCHARD_VERSION,
    .description = "The host's own table and commands",
    .tables = tables,
    .n_tables = G_N_ELEMENTS(tables),
    .commands = commands,
    .n_commands = G_N_ELEMENTS(commands),
    .routes = NULL,
    .n_routes = 0,
    .jobs = NULL,
    .n_jobs = 0,
    .deinit = NULL,
    .settings = settings,
    .n_settings = 0, /* collect_settings() */
};

int orchard_core_plugin_entry(const orchard_host_api *api, const orchard_plugin **out)
{
    host = api;
    collect_settings();
    core_plugin.n_settings = n_settings;
    *out = &core_plugin;
    return 0;
}

/* --- orchard_plugins */

/* Is `name` allowed by the query's EQ constraints on the name column? */
static int name_wanted(const orchard_query_ctx *query, const char *name)
{
    int constrained = 0;
    for (size_t i = 0; i < host->ctx_count(query); i++) {
        const char *col, *expr;
        int op;
        host->ctx_get(query, i, &col, &op, &expr);
        if (op != ORCHARD_OP_EQ || strcmp(col, "name") != 0)
            continue;
        constrained = 1;
        if (expr && strcmp(expr, name) == 0)
            return 1;
    }
    return !constrained;
}

int orchard_plugins_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                             void *payload)
{
    (void)ctx;
    (void)payload;
    const orchard_registry *reg = orchard_registry_global();
    if (!reg)
        return 0;
    for (size_t i = 0; i < orchard_registry_plugin_count(reg); i++) {
        const orchard_loaded_plugin *lp = orchard_registry_plugin(reg, i);
        const orchard_plugin *p = lp->plugin;
        if (!name_wanted(query, p->name))
            continue;
        GString *tbl = g_string_new(NULL), *cmd = g_string_new(NULL);
        GString *rts = g_string_new(NULL), *jobs = g_string_new(NULL);
        for (size_t k = 0; k < p->n_tables; k++)
            g_string_append_printf(tbl, "%s%s", k ? "," : "", p->tables[k]->name);
        for (size_t k = 0; k < p->n_commands; k++)
            g_string_append_printf(cmd, "%s%s", k ? "," : "", p->commands[k]->name);
        for (size_t k = 0; k < p->n_routes; k++)
            g_string_append_printf(rts, "%s%s %s", k ? "," : "", p->routes[k]->method,
                                   p->routes[k]->path_prefix);
        for (size_t k = 0; k < p->n_jobs; k++)
            g_string_append_printf(jobs, "%s%s", k ? "," : "", p->jobs[k]->name);
        char abi[16];
        g_snprintf(abi, sizeof abi, "%u", p->abi_version);
        const char *values[ORCHARD_PLUGINS_N_COLUMNS] = {
            [ORCHARD_PLUGINS_COL_NAME] = p->name,
            [ORCHARD_PLUGINS_COL_VERSION] = p->version,
            [ORCHARD_PLUGINS_COL_ABI_VERSION] = abi,
            [ORCHARD_PLUGINS_COL_PATH] = lp->path ? lp->path : "",
            [ORCHARD_PLUGINS_COL_TABLES] = tbl->str,
            [ORCHARD_PLUGINS_COL_COMMANDS] = cmd->str,
            [ORCHARD_PLUGINS_COL_ROUTES] = rts->str,
            [ORCHARD_PLUGINS_COL_JOBS] = jobs->str,
        };
        int rc = host->row_add(rows, values, ORCHARD_PLUGINS_N_COLUMNS);
        g_string_free(tbl, TRUE);
        g_string_free(cmd, TRUE);
        g_string_free(rts, TRUE);
        g_string_free(jobs, TRUE);
        if (rc)
            return rc;
    }
    return 0;
}
