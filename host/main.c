/* `orchard`: the multi-call host binary. Started as `orchard.ext` (osquery's
 * autoloader) it runs extension mode; otherwise argv[1..] names a command
 * contributed by a plugin (the host's own come from the built-in core plugin).
 * Global options, accepted anywhere on the line:
 *   --config F       YAML configuration (Fleet key names; env ORCHARD_* overrides)
 *   --plugin PATH    load a plugin .so (repeatable; also the config's `plugins:` list)
 *   --verbose        debug logging
 *   --root DIR, --profiles_bin PATH, --nudge_json PATH
 *                    the agent tables' sources (config agent.root, ...) */
#include "host/args.h"
#include "host/commands.h"
#include "host/config.h"
#include "host/log.h"
#include "host/plugins/plugin_ctx.h"
#include "host/plugins/registry.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

/* Command-line flags that set a configuration key (and win over it). */
static const struct {
    const char *flag;
    const char *key;
} config_flags[] = {
    {"root", "agent.root"},
    {"profiles_bin", "agent.profiles_bin"},
    {"nudge_json", "agent.nudge_json"},
};

typedef struct {
    const char *config;
    GPtrArray *plugins; /* const char* into argv */
    int verbose;
} global_opts;

/* Take the global options out of argv (in place); the rest keeps its order.
 * Returns 0, or 2 after printing a usage error. */
static int take_global_opts(int *argc, char **argv, global_opts *g)
{
    int out = 1;
    for (int i = 1; i < *argc;) {
        const char *v = NULL;
        int r;
        if ((r = orchard_arg_value(&i, *argc, argv, "config", &v)) != 0) {
            if (r < 0)
                goto missing_value;
            g->config = v;
            continue;
        }
        if ((r = orchard_arg_value(&i, *argc, argv, "plugin", &v)) != 0) {
            if (r < 0)
                goto missing_value;
            g_ptr_array_add(g->plugins, (gpointer)v);
            continue;
        }
        for (size_t k = 0; k < G_N_ELEMENTS(config_flags) && r == 0; k++) {
            if ((r = orchard_arg_value(&i, *argc, argv, config_flags[k].flag, &v)) > 0)
                orchard_config_set(orchard_config_global(), config_flags[k].key, v);
        }
        if (r < 0)
            goto missing_value;
        if (r > 0)
            continue;
        if (orchard_arg_flag(argv[i], "verbose"))
            g->verbose = 1; /* extension mode reads it too: keep it in argv */
        argv[out++] = argv[i++];
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
missing_value:
    fprintf(stderr, "orchard: %s needs a value\n", argv[*argc - 1]);
    return 2;
}

/* Started as orchard.ext or `orchard extension`? */
static int extension_mode(int argc, char **argv)
{
    g_autofree char *base = g_path_get_basename(argv[0]);
    return g_str_has_suffix(base, ".ext") || (argc > 1 && strcmp(argv[1], "extension") == 0);
}

static int load_plugins(orchard_registry *reg, const global_opts *g, int scan_dir)
{
    g_autofree char *err = NULL;
    if (orchard_registry_load_defaults(reg, scan_dir, &err) != 0) {
        fprintf(stderr, "orchard: %s\n", err);
        return 1;
    }
    const GPtrArray *from_config = orchard_config_get_list(orchard_config_global(), "plugins");
    for (int pass = 0; pass < 2; pass++) {
        const GPtrArray *list = pass == 0 ? from_config : g->plugins;
        for (guint i = 0; i < list->len; i++) {
            g_free(err);
            err = NULL;
            if (orchard_registry_load(reg, g_ptr_array_index(list, i), &err) != 0) {
                fprintf(stderr, "orchard: %s\n", err);
                return 1;
            }
        }
    }
    return 0;
}

/* Run the command argv names (after the global options are gone). */
static int dispatch(orchard_registry *reg, int argc, char **argv)
{
    /* Multi-call: the name we were started under picks extension mode. */
    g_autofree char *base = g_path_get_basename(argv[0]);
    if (g_str_has_suffix(base, ".ext")) {
        argv[0] = "extension";
        return orchard_cmd_extension(argc, argv, NULL);
    }
    if (argc < 2) {
        orchard_print_commands(stderr);
        return 2;
    }
    int n = 0;
    const orchard_command *cmd = orchard_registry_find_command(reg, argc - 1, argv + 1, &n);
    if (!cmd) {
        fprintf(stderr, "orchard: unknown command '%s'\n\n", argv[1]);
        orchard_print_commands(stderr);
        return 2;
    }
    /* The command sees argv[0] = its full name, then its own arguments. */
    char **cargv = g_new0(char *, argc - n + 1);
    cargv[0] = (char *)cmd->name;
    for (int i = 1 + n; i < argc; i++)
        cargv[i - n] = argv[i];
    int rc = orchard_call_command(orchard_registry_ctx_of(reg, cmd), cmd, argc - n, cargv);
    g_free(cargv);
    return rc;
}

int main(int argc, char **argv)
{
    global_opts g = {.plugins = g_ptr_array_new()};
    orchard_registry *reg = NULL;
    int rc = take_global_opts(&argc, argv, &g);

    if (rc)
        goto out;
    if (g.verbose)
        orchard_log_set_level(ORCHARD_LOG_DEBUG);
    if (g.config) {
        g_autofree char *err = NULL;
        if (orchard_config_load_file(orchard_config_global(), g.config, &err) != 0) {
            fprintf(stderr, "orchard: config: %s\n", err);
            rc = 1;
            goto out;
        }
    }
    reg = orchard_registry_new();
    orchard_registry_set_global(reg);
    rc = load_plugins(reg, &g, !extension_mode(argc, argv));
    if (rc == 0)
        rc = dispatch(reg, argc, argv);
out:
    orchard_registry_free(reg);
    g_ptr_array_unref(g.plugins);
    return rc;
}
