/* Plugin loading and the ABI checks that protect the host from a plugin
 * built for another version. Every struct a plugin hands over is checked for
 * abi_version and a struct_size that covers the v1 fields before use. */
#include "host/plugins/registry.h"

#include "host/config.h"
#include "host/events/events.h"
#include "host/http/http_api.h"
#include "host/http/http_guard.h"
#include "host/http_client/http_client.h"
#include "host/jobs/jobs.h"
#include "host/log.h"
#include "host/plugins/plugin_ctx.h"
#include "host/query/context.h"
#include "host/query/rows.h"
#include "host/settings.h"
#include "host/instances/instances.h"
#include "host/store/store.h"

#include <glib.h>
#include <gmodule.h>
#include <string.h>

#define V1_SIZE(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))

typedef struct {
    orchard_loaded_plugin pub;
    char *path;
    GModule *module;
    orchard_ctx *ctx;
} plugin_entry;

struct orchard_registry {
    GPtrArray *plugins;   /* plugin_entry*, load order */
    GPtrArray *tables;    /* const orchard_table* */
    GPtrArray *commands;  /* const orchard_command* */
    GPtrArray *routes;    /* const orchard_route* */
    GPtrArray *jobs;      /* const orchard_job* */
    GHashTable *owner;    /* table, command, route or job -> its plugin's orchard_ctx */
};

static orchard_registry *global_registry;

orchard_registry *orchard_registry_global(void) { return global_registry; }
void orchard_registry_set_global(orchard_registry *reg) { global_registry = reg; }

static void host_log(int level, const char *plugin, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    orchard_logv(level, plugin, fmt, ap);
    va_end(ap);
}

static const char *host_config_get(const char *key);

static const orchard_host_api host_api = {
    ORCHARD_STRUCT_HEADER(orchard_host_api),
    .host_version = ORCHARD_VERSION,
    .log = host_log,
    .strerror = orchard_strerror,
    .config_get = host_config_get,
    .ctx_count = orchard_query_ctx_count,
    .ctx_get = orchard_query_ctx_get,
    .ctx_column_used = orchard_query_ctx_column_used,
    .row_add = orchard_rows_add,
    .rows_fail = orchard_rows_fail,
    /* since 1.1: HTTP */
    .http_method = orchard_http_method,
    .http_path = orchard_http_path,
    .http_query = orchard_http_query,
    .http_header = orchard_http_header,
    .http_body = orchard_http_body,
    .http_remote_addr = orchard_http_remote_addr,
    .http_set_header = orchard_http_set_header,
    .http_respond = orchard_http_respond,
    .http_serve = orchard_http_serve,
    /* since 1.1: the store */
    .store_migrate = orchard_store_migrate,
    .store_begin = orchard_store_begin,
    .store_commit = orchard_store_commit,
    .store_rollback = orchard_store_rollback,
    .store_errmsg = orchard_store_errmsg,
    .stmt_prepare = orchard_stmt_prepare,
    .stmt_bind_int = orchard_stmt_bind_int,
    .stmt_bind_text = orchard_stmt_bind_text,
    .stmt_bind_blob = orchard_stmt_bind_blob,
    .stmt_step = orchard_stmt_step,
    .stmt_column_is_null = orchard_stmt_column_is_null,
    .stmt_column_int = orchard_stmt_column_int,
    .stmt_column_text = orchard_stmt_column_text,
    .stmt_column_blob = orchard_stmt_column_blob,
    .stmt_changes = orchard_stmt_changes,
    .stmt_finish = orchard_stmt_finish,
    /* since 1.2 */
    .abi_minor = ORCHARD_ABI_MINOR,
    .ctx_name = orchard_ctx_name,
    .ctx_set_data = orchard_ctx_set_data,
    .ctx_data = orchard_ctx_data,
    .ctx_log = orchard_ctx_log,
    .fail = orchard_ctx_fail,
    .setting_string = orchard_settings_string,
    .setting_bool = orchard_settings_bool,
    .setting_int = orchard_settings_int,
    .setting_duration = orchard_settings_duration,
    .setting_path = orchard_settings_path,
    .setting_bytes = orchard_settings_bytes,
    .setting_override = orchard_settings_override,
    .settings_generation = orchard_settings_generation,
    .job_queue = orchard_jobs_queue,
    .job_expired = orchard_jobs_expired,
    .event_subscribe = orchard_events_subscribe,
    .event_publish = orchard_events_publish,
    .auth_register = orchard_http_auth_register,
    .http_principal = orchard_http_principal,
    .http_client_cert = orchard_http_client_cert,
    .gate_set = orchard_http_gate_set,
    .http_error = orchard_http_error,
    /* since 1.3: outbound HTTP */
    .http_client_open = orchard_http_client_open,
    .http_client_run = orchard_http_client_run,
    .http_call_header = orchard_http_call_header,
    .http_call_reset = orchard_http_call_reset,
    .http_client_close = orchard_http_client_close,
    /* since 1.4: dialects and instances */
    .store_migrate2 = orchard_store_migrate2,
    .store_dialect = orchard_store_dialect,
    .instance_settings = orchard_instance_settings,
    .instances_view = orchard_instances_get,
    /* since 1.5 */
    .http_query_at = orchard_http_query_at,
};

const orchard_host_api *orchard_host_api_get(void) { return &host_api; }

/* A 1.2 plugin's deinit2 gets its context; otherwise the v1 deinit. */
static void plugin_deinit(const orchard_plugin *p, orchard_ctx *ctx)
{
    const orchard_plugin *x = p;
    if (ORCHARD_HAS_FIELD(x, orchard_plugin, deinit2) && p->deinit2)
        p->deinit2(ctx);
    else if (p->deinit)
        p->deinit();
}

orchard_registry *orchard_registry_new(void)
{
    orchard_registry *reg = g_new0(orchard_registry, 1);
    reg->plugins = g_ptr_array_new();
    reg->tables = g_ptr_array_new();
    reg->commands = g_ptr_array_new();
    reg->routes = g_ptr_array_new();
    reg->jobs = g_ptr_array_new();
    reg->owner = g_hash_table_new(g_direct_hash, g_direct_equal);
    return reg;
}

void orchard_registry_free(orchard_registry *reg)
{
    if (!reg)
        return;
    /* Nothing may call into a plugin while it goes: stop what runs on
     * threads of its own first. */
    orchard_jobs_clear();
    orchard_events_flush_stop();
    orchard_http_guard_reset();
    for (guint i = reg->plugins->len; i > 0; i--) {
        plugin_entry *e = g_ptr_array_index(reg->plugins, i - 1);
        plugin_deinit(e->pub.plugin, e->ctx);
        /* A deinit may publish, which starts the event thread again. */
        orchard_events_flush_stop();
        orchard_ctx_free(e->ctx);
        if (e->module)
            g_module_close(e->module);
        g_free(e->path);
        g_free(e);
    }
    g_ptr_array_unref(reg->plugins);
    g_ptr_array_unref(reg->tables);
    g_ptr_array_unref(reg->commands);
    g_ptr_array_unref(reg->routes);
    g_ptr_array_unref(reg->jobs);
    g_hash_table_destroy(reg->owner);
    if (global_registry == reg)
        global_registry = NULL;
    g_free(reg);
}

/* The first three fields (abi_version, struct_size, name) of orchard_plugin
 * are frozen across every ABI version, so a refusal can always name it. */
static const char *plugin_label(const orchard_plugin *p)
{
    if (p && p->struct_size >= V1_SIZE(orchard_plugin, name) && p->name)
        return p->name;
    return "(unnamed)";
}

static int check_header(uint32_t abi, uint32_t size, size_t v1_size, const char *what,
                        const char *plugin, const char *origin, char **error_msg)
{
    if (abi != ORCHARD_ABI_VERSION) {
        *error_msg = g_strdup_printf(
            "plugin '%s' (%s) is built for orchard plugin ABI %u; this host speaks ABI %u: "
            "rebuild the plugin against this orchard's include/orchard/plugin.h",
            plugin, origin, abi, ORCHARD_ABI_VERSION);
        return ORCHARD_EABI;
    }
    if (size < v1_size) {
        *error_msg = g_strdup_printf(
            "plugin '%s' (%s): its %s struct is %u bytes, smaller than ABI %u's %zu",
            plugin, origin, what, size, ORCHARD_ABI_VERSION, v1_size);
        return ORCHARD_EABI;
    }
    return 0;
}

static int valid_name(const char *s)
{
    if (!s || !*s || !g_ascii_islower(*s))
        return 0;
    for (; *s; s++)
        if (!g_ascii_islower(*s) && !g_ascii_isdigit(*s) && *s != '_')
            return 0;
    return 1;
}

static int check_table(const orchard_table *t, const char *plugin, const char *origin,
                       char **error_msg)
{
    int rc = check_header(t->abi_version, t->struct_size, V1_SIZE(orchard_table, payload),
                          "table", plugin, origin, error_msg);
    if (rc)
        return rc;
    int has_generate = t->generate != NULL ||
                       (ORCHARD_HAS_FIELD(t, orchard_table, generate2) && t->generate2);
    if (!valid_name(t->name) || !t->columns || t->n_columns == 0 || !has_generate) {
        *error_msg = g_strdup_printf("plugin '%s' (%s): table '%s' needs a lower-case name, "
                                     "at least one column and a generate function",
                                     plugin, origin, t->name ? t->name : "");
        return ORCHARD_EINVAL;
    }
    for (size_t i = 0; i < t->n_columns; i++) {
        const orchard_column *c = t->columns[i];
        if (!c) {
            *error_msg = g_strdup_printf("plugin '%s' (%s): table %s column %zu is NULL",
                                         plugin, origin, t->name, i);
            return ORCHARD_EINVAL;
        }
        rc = check_header(c->abi_version, c->struct_size, V1_SIZE(orchard_column, description),
                          "column", plugin, origin, error_msg);
        if (rc)
            return rc;
        if (!valid_name(c->name) || (unsigned)c->type > ORCHARD_TYPE_BLOB) {
            *error_msg = g_strdup_printf("plugin '%s' (%s): table %s column %zu has an invalid "
                                         "name or type", plugin, origin, t->name, i);
            return ORCHARD_EINVAL;
        }
    }
    return 0;
}

static int same_route(const orchard_route *a, const orchard_route *b)
{
    return strcmp(a->method, b->method) == 0 && strcmp(a->path_prefix, b->path_prefix) == 0;
}

/* Is p's route i (already checked) registered, or earlier in p itself? */
static int route_taken(const orchard_registry *reg, const orchard_plugin *p, size_t i)
{
    for (guint j = 0; j < reg->routes->len; j++)
        if (same_route(g_ptr_array_index(reg->routes, j), p->routes[i]))
            return 1;
    for (size_t j = 0; j < i; j++)
        if (same_route(p->routes[j], p->routes[i]))
            return 1;
    return 0;
}

/* Job names: lower case, digits, '_' and '.', as "scep.challenges_expire". */
static int valid_job_name(const char *s)
{
    if (!s || !*s || !g_ascii_islower(*s))
        return 0;
    for (; *s; s++)
        if (!g_ascii_islower(*s) && !g_ascii_isdigit(*s) && *s != '_' && *s != '.')
            return 0;
    return 1;
}

/* Is p's job i registered already, or earlier in p itself? */
static int job_taken(const orchard_registry *reg, const orchard_plugin *p, size_t i)
{
    for (guint j = 0; j < reg->jobs->len; j++)
        if (strcmp(((const orchard_job *)g_ptr_array_index(reg->jobs, j))->name,
                   p->jobs[i]->name) == 0)
            return 1;
    for (size_t j = 0; j < i; j++)
        if (strcmp(p->jobs[j]->name, p->jobs[i]->name) == 0)
            return 1;
    return 0;
}

static int check_plugin(orchard_registry *reg, const orchard_plugin *p, const char *origin,
                        char **error_msg)
{
    const char *label = plugin_label(p);
    int rc = check_header(p->abi_version, p->struct_size, V1_SIZE(orchard_plugin, deinit),
                          "plugin", label, origin, error_msg);
    if (rc)
        return rc;
    if (!p->name || !*p->name || !p->version) {
        *error_msg = g_strdup_printf("plugin from %s has no name or version", origin);
        return ORCHARD_EINVAL;
    }
    for (guint i = 0; i < reg->plugins->len; i++) {
        const plugin_entry *e = g_ptr_array_index(reg->plugins, i);
        if (strcmp(e->pub.plugin->name, p->name) == 0) {
            *error_msg = g_strdup_printf("plugin '%s' (%s) is already loaded", p->name, origin);
            return ORCHARD_EEXIST;
        }
    }
    for (size_t i = 0; i < p->n_tables; i++) {
        const orchard_table *t = p->tables[i];
        if (!t) {
            *error_msg = g_strdup_printf("plugin '%s' (%s): table %zu is NULL", label, origin, i);
            return ORCHARD_EINVAL;
        }
        if ((rc = check_table(t, label, origin, error_msg)))
            return rc;
        if (orchard_registry_find_table(reg, t->name)) {
            *error_msg = g_strdup_printf("plugin '%s' (%s): table %s is already registered",
                                         label, origin, t->name);
            return ORCHARD_EEXIST;
        }
    }
    for (size_t i = 0; i < p->n_commands; i++) {
        const orchard_command *c = p->commands[i];
        if (!c) {
            *error_msg = g_strdup_printf("plugin '%s' (%s): command %zu is NULL", label, origin, i);
            return ORCHARD_EINVAL;
        }
        if ((rc = check_header(c->abi_version, c->struct_size, V1_SIZE(orchard_command, payload),
                               "command", label, origin, error_msg)))
            return rc;
        int has_run = c->run != NULL || (ORCHARD_HAS_FIELD(c, orchard_command, run2) && c->run2);
        if (!c->name || !*c->name || !has_run) {
            *error_msg = g_strdup_printf("plugin '%s' (%s): command %zu has no name or run",
                                         label, origin, i);
            return ORCHARD_EINVAL;
        }
        for (guint j = 0; j < reg->commands->len; j++) {
            const orchard_command *o = g_ptr_array_index(reg->commands, j);
            if (strcmp(o->name, c->name) == 0) {
                *error_msg = g_strdup_printf("plugin '%s' (%s): command '%s' is already "
                                             "registered", label, origin, c->name);
                return ORCHARD_EEXIST;
            }
        }
    }
    for (size_t i = 0; i < p->n_routes; i++) {
        const orchard_route *r = p->routes[i];
        if (!r || (rc = check_header(r->abi_version, r->struct_size,
                                     V1_SIZE(orchard_route, payload), "route", label, origin,
                                     error_msg)))
            return r ? rc : ORCHARD_EINVAL;
        int has_handle = r->handle != NULL ||
                         (ORCHARD_HAS_FIELD(r, orchard_route, handle2) && r->handle2);
        if (!r->method || !*r->method || !r->path_prefix || r->path_prefix[0] != '/' ||
            !has_handle) {
            *error_msg = g_strdup_printf("plugin '%s' (%s): route %zu needs a method, a path "
                                         "starting with / and a handler", label, origin, i);
            return ORCHARD_EINVAL;
        }
        /* Two handlers for one method and prefix: which would win is an
         * accident of load order, so refuse like a clashing table name. */
        if (orchard_route_guard_of(r) > ORCHARD_GUARD_ADMIN) {
            *error_msg = g_strdup_printf("plugin '%s' (%s): route %s %s has an unknown guard %u",
                                         label, origin, r->method, r->path_prefix,
                                         orchard_route_guard_of(r));
            return ORCHARD_EINVAL;
        }
        if (orchard_route_flags_of(r) & ~(uint32_t)ORCHARD_ROUTE_EXACT) {
            *error_msg = g_strdup_printf("plugin '%s' (%s): route %s %s has unknown flags 0x%x",
                                         label, origin, r->method, r->path_prefix,
                                         orchard_route_flags_of(r));
            return ORCHARD_EINVAL;
        }
        if (route_taken(reg, p, i)) {
            *error_msg = g_strdup_printf("plugin '%s' (%s): route %s %s is already registered",
                                         label, origin, r->method, r->path_prefix);
            return ORCHARD_EEXIST;
        }
    }
    for (size_t i = 0; i < p->n_jobs; i++) {
        const orchard_job *j = p->jobs[i];
        if (!j || (rc = check_header(j->abi_version, j->struct_size, V1_SIZE(orchard_job, payload),
                                     "job", label, origin, error_msg)))
            return j ? rc : ORCHARD_EINVAL;
        int has_run = j->run != NULL || (ORCHARD_HAS_FIELD(j, orchard_job, run2) && j->run2);
        if (!valid_job_name(j->name) || !has_run) {
            *error_msg = g_strdup_printf("plugin '%s' (%s): job %zu needs a lower-case name "
                                         "and a run function", label, origin, i);
            return ORCHARD_EINVAL;
        }
        if (job_taken(reg, p, i)) {
            *error_msg = g_strdup_printf("plugin '%s' (%s): job %s is already registered",
                                         label, origin, j->name);
            return ORCHARD_EEXIST;
        }
    }
    if (ORCHARD_HAS_FIELD(p, orchard_plugin, n_settings) && p->n_settings) {
        for (size_t i = 0; i < p->n_settings; i++) {
            const orchard_setting *st = p->settings ? p->settings[i] : NULL;
            if (!st || (rc = check_header(st->abi_version, st->struct_size,
                                          V1_SIZE(orchard_setting, aliases), "setting", label,
                                          origin, error_msg)))
                return st ? rc : ORCHARD_EINVAL;
        }
    }
    return 0;
}

static void index_item(orchard_registry *reg, GPtrArray *list, const void *item, orchard_ctx *ctx)
{
    g_ptr_array_add(list, (gpointer)item);
    g_hash_table_insert(reg->owner, (gpointer)item, ctx);
}

/* A checked plugin's settings and init (1.2). On failure nothing of it stays
 * and it has been deinit'ed. */
static int accept_plugin(const orchard_plugin *p, orchard_ctx *ctx, const char *origin,
                         char **error_msg)
{
    int rc = 0;
    if (ORCHARD_HAS_FIELD(p, orchard_plugin, n_settings) && p->n_settings) {
        g_autofree char *why = NULL;
        if ((rc = orchard_settings_add_owner(ctx, p->settings, p->n_settings, &why))) {
            *error_msg = g_strdup_printf("plugin '%s' (%s): %s", p->name, origin, why);
            plugin_deinit(p, ctx);
            return rc;
        }
    }
    if (ORCHARD_HAS_FIELD(p, orchard_plugin, init) && p->init) {
        orchard_ctx_clear_failure();
        if ((rc = p->init(ctx)) != 0) {
            const char *why = orchard_ctx_failure();
            *error_msg = g_strdup_printf("plugin '%s' (%s) refused to start: %s", p->name,
                                         origin, why ? why : orchard_strerror(rc));
            orchard_settings_forget_owner(ctx);
            orchard_events_forget(ctx);
            orchard_http_guard_forget(ctx);
            plugin_deinit(p, ctx);
            return rc < 0 ? rc : ORCHARD_EINVAL;
        }
    }
    return 0;
}

static int add_plugin(orchard_registry *reg, orchard_plugin_entry_fn entry, const char *path,
                      GModule *module, char **error_msg)
{
    const orchard_plugin *p = NULL;
    const char *origin = path ? path : "built-in";
    int rc = entry(&host_api, &p);

    if (rc != 0 || !p) {
        *error_msg = g_strdup_printf("plugin %s refused to load: %s", origin,
                                     orchard_strerror(rc ? rc : ORCHARD_EINVAL));
        return rc ? rc : ORCHARD_EINVAL;
    }
    if ((rc = check_plugin(reg, p, origin, error_msg))) {
        /* Only a plugin that speaks our ABI may be asked to clean up. */
        if (p->abi_version == ORCHARD_ABI_VERSION &&
            p->struct_size >= V1_SIZE(orchard_plugin, deinit)) {
            orchard_ctx *tmp = orchard_ctx_new(p);
            plugin_deinit(p, tmp);
            orchard_ctx_free(tmp);
        }
        return rc;
    }
    orchard_ctx *ctx = orchard_ctx_new(p);
    if ((rc = accept_plugin(p, ctx, origin, error_msg))) {
        orchard_ctx_free(ctx);
        return rc;
    }
    plugin_entry *e = g_new0(plugin_entry, 1);
    e->path = g_strdup(path);
    e->pub.plugin = p;
    e->pub.path = e->path;
    e->module = module;
    e->ctx = ctx;
    g_ptr_array_add(reg->plugins, e);
    for (size_t i = 0; i < p->n_tables; i++)
        index_item(reg, reg->tables, p->tables[i], ctx);
    for (size_t i = 0; i < p->n_commands; i++)
        index_item(reg, reg->commands, p->commands[i], ctx);
    for (size_t i = 0; i < p->n_routes; i++)
        index_item(reg, reg->routes, p->routes[i], ctx);
    for (size_t i = 0; i < p->n_jobs; i++) {
        g_autofree char *ignored = NULL;
        index_item(reg, reg->jobs, p->jobs[i], ctx);
        orchard_jobs_add(ctx, p->jobs[i], &ignored); /* names were checked above */
    }
    orchard_debug("plugins", "loaded %s %s from %s: %zu tables, %zu commands, %zu routes, "
                  "%zu jobs", p->name, p->version, origin, p->n_tables, p->n_commands,
                  p->n_routes, p->n_jobs);
    return 0;
}

int orchard_registry_add_builtin(orchard_registry *reg, orchard_plugin_entry_fn entry,
                                 char **error_msg)
{
    return add_plugin(reg, entry, NULL, NULL, error_msg);
}

int orchard_registry_load(orchard_registry *reg, const char *path, char **error_msg)
{
    gpointer sym = NULL;
    GModule *module = g_module_open(path, G_MODULE_BIND_LOCAL);

    if (!module) {
        *error_msg = g_strdup_printf("cannot load plugin %s: %s", path, g_module_error());
        return ORCHARD_EIO;
    }
    /* GModule hands back the same handle for a file already open: its plugin
     * is live, so refuse before calling into it again (entry or deinit). */
    for (guint i = 0; i < reg->plugins->len; i++) {
        const plugin_entry *e = g_ptr_array_index(reg->plugins, i);
        if (e->module == module) {
            *error_msg = g_strdup_printf("plugin '%s' (%s) is already loaded from %s",
                                         e->pub.plugin->name, path, e->path);
            g_module_close(module);
            return ORCHARD_EEXIST;
        }
    }
    if (!g_module_symbol(module, ORCHARD_PLUGIN_ENTRY_SYMBOL, &sym) || !sym) {
        *error_msg = g_strdup_printf("%s is not an orchard plugin: no %s symbol", path,
                                     ORCHARD_PLUGIN_ENTRY_SYMBOL);
        g_module_close(module);
        return ORCHARD_EIO;
    }
    int rc = add_plugin(reg, (orchard_plugin_entry_fn)sym, path, module, error_msg);
    if (rc)
        g_module_close(module);
    return rc;
}

size_t orchard_registry_plugin_count(const orchard_registry *reg) { return reg->plugins->len; }

const orchard_loaded_plugin *orchard_registry_plugin(const orchard_registry *reg, size_t i)
{
    if (i >= reg->plugins->len)
        return NULL;
    return &((const plugin_entry *)g_ptr_array_index(reg->plugins, i))->pub;
}

size_t orchard_registry_table_count(const orchard_registry *reg) { return reg->tables->len; }

const orchard_table *orchard_registry_table(const orchard_registry *reg, size_t i)
{
    return i < reg->tables->len ? g_ptr_array_index(reg->tables, i) : NULL;
}

const orchard_table *orchard_registry_find_table(const orchard_registry *reg, const char *name)
{
    for (guint i = 0; i < reg->tables->len; i++) {
        const orchard_table *t = g_ptr_array_index(reg->tables, i);
        if (strcmp(t->name, name) == 0)
            return t;
    }
    return NULL;
}

size_t orchard_registry_command_count(const orchard_registry *reg) { return reg->commands->len; }

const orchard_command *orchard_registry_command(const orchard_registry *reg, size_t i)
{
    return i < reg->commands->len ? g_ptr_array_index(reg->commands, i) : NULL;
}

/* Does the space-separated `name` equal argv[0..k-1]? Returns k or 0. */
static int match_words(const char *name, int argc, char **argv)
{
    int k = 0;
    const char *p = name;
    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t len = sp ? (size_t)(sp - p) : strlen(p);
        if (k >= argc || strlen(argv[k]) != len || strncmp(argv[k], p, len) != 0)
            return 0;
        k++;
        p += len;
        while (*p == ' ')
            p++;
    }
    return k;
}

const orchard_command *orchard_registry_find_command(const orchard_registry *reg, int argc,
                                                     char **argv, int *n_words)
{
    const orchard_command *best = NULL;
    int best_k = 0;
    for (guint i = 0; i < reg->commands->len; i++) {
        const orchard_command *c = g_ptr_array_index(reg->commands, i);
        int k = match_words(c->name, argc, argv);
        if (ORCHARD_HAS_FIELD(c, orchard_command, aliases) && c->aliases) {
            g_auto(GStrv) names = g_strsplit(c->aliases, "|", -1);
            for (char **a = names; *a; a++) {
                int ka = match_words(*a, argc, argv);
                k = ka > k ? ka : k;
            }
        }
        if (k > best_k) {
            best = c;
            best_k = k;
        }
    }
    if (n_words)
        *n_words = best_k;
    return best;
}

size_t orchard_registry_route_count(const orchard_registry *reg) { return reg->routes->len; }

const orchard_route *orchard_registry_route(const orchard_registry *reg, size_t i)
{
    return i < reg->routes->len ? g_ptr_array_index(reg->routes, i) : NULL;
}

/* Does route `r` cover `path`? Only at a segment boundary: "/mdm/apple/scep"
 * covers "/mdm/apple/scep" and "/mdm/apple/scep/x", never "/mdm/apple/scepX".
 * A prefix that ends in '/' carries its boundary and covers all below it.
 * An exact route (1.5) covers its own path alone. */
static int route_covers(const orchard_route *r, const char *path)
{
    const char *prefix = r->path_prefix;
    if (orchard_route_flags_of(r) & ORCHARD_ROUTE_EXACT)
        return strcmp(prefix, path) == 0;
    size_t len = strlen(prefix);
    if (strncmp(prefix, path, len) != 0)
        return 0;
    return path[len] == '\0' || path[len] == '/' || (len > 0 && prefix[len - 1] == '/');
}

/* HEAD is GET without the body (libmicrohttpd drops it), so GET routes take it. */
static int method_matches(const char *route_method, const char *method)
{
    return strcmp(route_method, "*") == 0 || strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* Add `method` to the Allow list unless it is there. */
static void allow_add(GPtrArray **methods, const char *method)
{
    if (!*methods)
        *methods = g_ptr_array_new();
    for (guint i = 0; i < (*methods)->len; i++)
        if (strcmp(g_ptr_array_index(*methods, i), method) == 0)
            return;
    g_ptr_array_add(*methods, (gpointer)method);
}

const orchard_route *orchard_registry_find_route(const orchard_registry *reg, const char *method,
                                                 const char *path, char **allow)
{
    const orchard_route *best = NULL;
    size_t best_len = 0;
    GPtrArray *others = NULL; /* methods of covering routes that don't take `method` */

    for (guint i = 0; i < reg->routes->len; i++) {
        const orchard_route *r = g_ptr_array_index(reg->routes, i);
        size_t len = strlen(r->path_prefix);
        if (!route_covers(r, path))
            continue;
        if (!method_matches(r->method, method))
            allow_add(&others, r->method);
        else if (!best || len > best_len) {
            best = r;
            best_len = len;
        }
    }
    if (allow) {
        *allow = NULL;
        if (!best && others) {
            g_ptr_array_add(others, NULL);
            *allow = g_strjoinv(", ", (char **)others->pdata);
        }
    }
    if (others)
        g_ptr_array_unref(others);
    return best;
}

orchard_ctx *orchard_registry_ctx_of(const orchard_registry *reg, const void *item)
{
    return reg ? g_hash_table_lookup(reg->owner, item) : NULL;
}

size_t orchard_registry_job_count(const orchard_registry *reg) { return reg->jobs->len; }

const orchard_job *orchard_registry_job(const orchard_registry *reg, size_t i)
{
    return i < reg->jobs->len ? g_ptr_array_index(reg->jobs, i) : NULL;
}

static const char *host_config_get(const char *key)
{
    return key ? orchard_config_get(orchard_config_global(), key) : NULL;
}
