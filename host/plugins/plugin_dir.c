/* The plugins every command starts with: the built-ins (core, agent tables)
 * and each *.so in the plugin directory (config `plugin_dir`, env
 * ORCHARD_PLUGIN_DIR; else `plugins/` beside the binary, as in the build
 * tree; else the installed lib/orchard), so `orchard generate mdm-apple`
 * works without naming orchard_server.so. Extension mode scans only an
 * explicit plugin_dir: on a Mac the agent tables are the job, and the server
 * plugin would bring OpenSSL into osqueryd's extension (~1.5 MiB resident). */
#include "tables/agent.h"
#include "host/commands.h"
#include "host/config.h"
#include "host/log.h"
#include "host/plugins/registry.h"

#include <glib.h>
#include <string.h>

#ifndef ORCHARD_PLUGIN_DIR_DEFAULT
#define ORCHARD_PLUGIN_DIR_DEFAULT "/usr/local/lib/orchard"
#endif

/* The directory to scan, or NULL when there is none. g_free. */
static char *plugin_dir(void)
{
    const char *configured = orchard_config_get(orchard_config_global(), "plugin_dir");
    if (configured)
        return g_strdup(configured);
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    if (exe) {
        g_autofree char *dir = g_path_get_dirname(exe);
        char *beside = g_build_filename(dir, "plugins", NULL);
        if (g_file_test(beside, G_FILE_TEST_IS_DIR))
            return beside;
        g_free(beside);
    }
    return g_file_test(ORCHARD_PLUGIN_DIR_DEFAULT, G_FILE_TEST_IS_DIR)
               ? g_strdup(ORCHARD_PLUGIN_DIR_DEFAULT) : NULL;
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Load each *.so of `dir` in name order. A plugin there that can't load is
 * reported and skipped: one stale file must not stop every command. */
static void load_dir(orchard_registry *reg, const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    if (!d)
        return;
    while ((name = g_dir_read_name(d)))
        if (g_str_has_suffix(name, ".so"))
            g_ptr_array_add(names, g_build_filename(dir, name, NULL));
    g_dir_close(d);
    g_ptr_array_sort(names, cmp_names);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *err = NULL;
        if (orchard_registry_load(reg, g_ptr_array_index(names, i), &err) != 0)
            orchard_warn("plugins", "skipping %s", err);
    }
    g_ptr_array_unref(names);
}

int orchard_registry_load_defaults(orchard_registry *reg, int scan_dir, char **error_msg)
{
    int rc = orchard_registry_add_builtin(reg, orchard_core_plugin_entry, error_msg);
    if (rc == 0)
        rc = orchard_registry_add_builtin(reg, orchard_agent_plugin_entry, error_msg);
    if (rc)
        return rc;
    /* An explicit plugin_dir is always scanned; the implicit ones only when asked. */
    if (!scan_dir && !orchard_config_get(orchard_config_global(), "plugin_dir"))
        return 0;
    g_autofree char *dir = plugin_dir();
    if (dir)
        load_dir(reg, dir);
    return 0;
}
