/* The plugin registry: loads built-in and shared-object plugins, checks their
 * ABI, and indexes what they contribute (tables, commands, routes, jobs) for
 * the query shell, extension mode and `orchard serve`. */
#ifndef ORCHARD_REGISTRY_H
#define ORCHARD_REGISTRY_H

#include <orchard/plugin.h>
#include <stddef.h>

typedef struct orchard_registry orchard_registry;

typedef struct orchard_loaded_plugin {
    const orchard_plugin *plugin;
    const char *path; /* NULL for a built-in plugin */
} orchard_loaded_plugin;

orchard_registry *orchard_registry_new(void);
/** Call every plugin's deinit (newest first), unload .so files, free. */
void orchard_registry_free(orchard_registry *reg);

/**
 * Add a plugin compiled into the host. Returns 0, ORCHARD_EABI (the plugin's
 * structs are not ABI v1) or ORCHARD_EEXIST (a table or command name, or a
 * route's method and prefix, already registered); *error_msg (g_free) names
 * the plugin and the problem. A refused plugin contributes nothing.
 */
int orchard_registry_add_builtin(orchard_registry *reg, orchard_plugin_entry_fn entry,
                                 char **error_msg);

/**
 * Load a plugin from a shared object with GModule. Returns 0, ORCHARD_EIO
 * (cannot open, no entry symbol), ORCHARD_EABI (built for another ABI: the
 * message names the plugin, its ABI version and ours), ORCHARD_EEXIST or the
 * plugin's own refusal code. On failure the object is unloaded.
 */
int orchard_registry_load(orchard_registry *reg, const char *path, char **error_msg);

/**
 * What every command starts with: the built-in plugins, then each *.so of the
 * plugin directory (config plugin_dir / ORCHARD_PLUGIN_DIR, else plugins/
 * beside the binary, else the installed lib/orchard; the last two only when
 * `scan_dir`). A plugin there that fails to load is warned about and skipped.
 * Returns 0, or a built-in's refusal (a bug) with *error_msg.
 */
int orchard_registry_load_defaults(orchard_registry *reg, int scan_dir, char **error_msg);

size_t orchard_registry_plugin_count(const orchard_registry *reg);
const orchard_loaded_plugin *orchard_registry_plugin(const orchard_registry *reg, size_t i);

size_t orchard_registry_table_count(const orchard_registry *reg);
const orchard_table *orchard_registry_table(const orchard_registry *reg, size_t i);
const orchard_table *orchard_registry_find_table(const orchard_registry *reg, const char *name);

size_t orchard_registry_command_count(const orchard_registry *reg);
const orchard_command *orchard_registry_command(const orchard_registry *reg, size_t i);
/**
 * The command whose (possibly multi-word) name is the longest match for the
 * start of argv; *n_words says how many argv entries the name took.
 */
const orchard_command *orchard_registry_find_command(const orchard_registry *reg, int argc,
                                                     char **argv, int *n_words);

size_t orchard_registry_route_count(const orchard_registry *reg);
const orchard_route *orchard_registry_route(const orchard_registry *reg, size_t i);
/**
 * The route that serves `method` on the decoded `path`: among the routes
 * whose method is `method` or "*" (a GET route also takes HEAD), the one with
 * the longest path_prefix that equals `path` or is followed in it by '/' (a
 * prefix ending in '/' covers everything below it). NULL when none; then,
 * when `allow` is given, *allow (g_free) lists the methods of the routes whose
 * prefix did cover the path ("GET, POST": answer 405), or is NULL (404).
 * Registration refuses a second route with the same method and prefix.
 */
const orchard_route *orchard_registry_find_route(const orchard_registry *reg, const char *method,
                                                 const char *path, char **allow);

size_t orchard_registry_job_count(const orchard_registry *reg);
const orchard_job *orchard_registry_job(const orchard_registry *reg, size_t i);

/**
 * The context of the plugin that contributed `item` (a table, command, route
 * or job of this registry); NULL for anything else or a NULL registry.
 */
orchard_ctx *orchard_registry_ctx_of(const orchard_registry *reg, const void *item);

/** The host API handed to every plugin (static; never NULL). */
const orchard_host_api *orchard_host_api_get(void);

/** The registry of this process, set by main; NULL before. */
orchard_registry *orchard_registry_global(void);
void orchard_registry_set_global(orchard_registry *reg);

#endif
