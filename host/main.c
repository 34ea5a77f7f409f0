/* `orchard`: the multi-call host binary. Started as `orchard.ext` (osquery's
 * autoloader) it runs extension mode; otherwise argv[1..] names a command
 * contributed by a plugin (the host's own come from the built-in core plugin).
 * Global options (host/args.c) are accepted anywhere on the line; the
 * settings are read once the plugins that declare them are loaded. */
#include "host/args.h"
#include "host/commands.h"
#include "host/config.h"
#include "host/log.h"
#include "host/plugins/plugin_ctx.h"
#include "host/plugins/registry.h"
#include "host/settings.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

/* Started as orchard.ext or `orchard extension`? */
static int extension_mode(int argc, char **argv)
{
    g_autofree char *base = g_path_get_basename(argv[0]);
    return g_str_has_suffix(base, ".ext") || (argc > 1 && strcmp(argv[1], "extension") == 0);
}

static int started_as_ext(char **argv)
{
    g_autofree char *base = g_path_get_basename(argv[0]);
    return g_str_has_suffix(base, ".ext");
}

/* The file, then the options that set a key (they win over it). */
static int read_settings(const orchard_global_args *g)
{
    g_autofree char *err = NULL;
    const struct {
        const char *option, *value;
    } flags[] = {{"root", g->root}, {"profiles_bin", g->profiles_bin},
                 {"nudge_json", g->nudge_json}};

    if (orchard_settings_load(g->config, &err) != 0) {
        fprintf(stderr, "orchard: config: %s\n", err);
        return 1;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(flags); i++)
        if (flags[i].value)
            orchard_settings_set_cli(orchard_args_config_key(flags[i].option), flags[i].value);
    return 0;
}

static int load_plugins(orchard_registry *reg, const orchard_global_args *g, int scan_dir)
{
    g_autofree char *err = NULL;
    if (orchard_registry_load_defaults(reg, scan_dir, &err) != 0) {
        fprintf(stderr, "orchard: %s\n", err);
        return 1;
    }
    const GPtrArray *from_config = orchard_config_get_list(orchard_config_global(), "plugins");
    for (guint i = 0; i < from_config->len; i++) {
        g_clear_pointer(&err, g_free);
        if (orchard_registry_load(reg, g_ptr_array_index(from_config, i), &err) != 0) {
            fprintf(stderr, "orchard: %s\n", err);
            return 1;
        }
    }
    for (char **p = g->plugins; p && *p; p++) {
        g_clear_pointer(&err, g_free);
        if (orchard_registry_load(reg, *p, &err) != 0) {
            fprintf(stderr, "orchard: %s\n", err);
            return 1;
        }
    }
    return 0;
}

/* With every key declared: warnings are logged; an error (a value that does
 * not read as its type, a list where a path belongs) stops the command, as
 * it would stop a reload. `config check` reports them itself. */
static int check_settings(void)
{
    g_autoptr(GPtrArray) problems = orchard_settings_problems();
    for (guint i = 0; i < problems->len; i++) {
        const orchard_settings_problem *p = g_ptr_array_index(problems, i);
        if (p->level == ORCHARD_PROBLEM_ERROR)
            fprintf(stderr, "orchard: %s\n", p->message);
        else if (p->level == ORCHARD_PROBLEM_WARNING)
            orchard_warn("config", "%s", p->message);
        else
            orchard_debug("config", "%s", p->message);
    }
    if (!orchard_settings_count(problems, ORCHARD_PROBLEM_ERROR))
        return 0;
    fprintf(stderr, "orchard: fix the configuration first (`orchard config check` lists every "
                    "problem)\n");
    return 1;
}

static int is_config_check(int argc, char **argv)
{
    return argc >= 3 && strcmp(argv[1], "config") == 0 && strcmp(argv[2], "check") == 0;
}

/* Run the command argv names (after the global options are gone). */
static int dispatch(orchard_registry *reg, int argc, char **argv)
{
    int n = 0;
    const orchard_command *cmd = orchard_registry_find_command(reg, argc - 1, argv + 1, &n);
    if (!cmd && !is_config_check(argc, argv))
        return orchard_command_not_found(stderr, "orchard", argc - 1, argv + 1);
    if (!cmd)
        n = 2;
    /* The command sees argv[0] = its full name, then its own arguments. */
    char **cargv = g_new0(char *, argc - n + 1);
    cargv[0] = cmd ? (char *)cmd->name : "config check";
    for (int i = 1 + n; i < argc; i++)
        cargv[i - n] = argv[i];
    orchard_ctx *ctx = cmd ? orchard_registry_ctx_of(reg, cmd) : NULL;
    int rc;
    /* Help must work with a broken configuration: it says how to fix it. */
    int needs_settings = strcmp(cargv[0], "help") != 0 && strcmp(cargv[0], "version") != 0;
    if (strcmp(cargv[0], "config check") == 0)
        rc = orchard_config_check(ctx, cmd, argc - n, cargv);
    else if (needs_settings && check_settings())
        rc = 1;
    else
        rc = orchard_call_command(ctx, cmd, argc - n, cargv);
    g_free(cargv);
    return rc;
}

/* `--help`, `-h`, `--version`, or no command at all. -1: none of these. */
static int help_or_version(const orchard_global_args *g, int argc, char **argv)
{
    if (g->help || (argc > 1 && strcmp(argv[1], "-h") == 0)) {
        int skip = argc > 1 && strcmp(argv[1], "-h") == 0;
        /* `orchard query --help` is `orchard help query`. */
        char **hargv = g_new0(char *, argc + 1);
        int hargc = 0;
        hargv[hargc++] = "help";
        for (int i = 1 + skip; i < argc; i++)
            if (argv[i][0] != '-')
                hargv[hargc++] = argv[i];
        int rc = orchard_cmd_help(hargc, hargv, NULL);
        g_free(hargv);
        return rc;
    }
    if (g->version)
        return orchard_cmd_version(argc, argv, NULL);
    if (argc < 2) {
        orchard_print_commands(stderr);
        return 2;
    }
    if (argv[1][0] == '-' && argv[1][1] != '\0') {
        fprintf(stderr, "orchard: unknown option %s (global options come from this list; a "
                        "command's own go after its name)\n\n", argv[1]);
        orchard_print_commands(stderr);
        return 2;
    }
    return -1;
}

int main(int argc, char **argv)
{
    orchard_global_args g;
    orchard_registry *reg = NULL;
    g_autofree char *err = NULL;
    int rc;
    /* Started by osqueryd: extension mode reads osqueryd's flags itself, and
     * GLib's option parser stays out of orchard.ext's memory. */
    if (started_as_ext(argv))
        rc = orchard_args_take_ext(&argc, argv, &g, &err);
    else
        rc = orchard_args_parse_global(&argc, argv, &g, &err);

    if (rc) {
        fprintf(stderr, "orchard: %s\n", err);
        goto out;
    }
    if (g.verbose)
        orchard_log_set_level(ORCHARD_LOG_DEBUG);
    if ((rc = read_settings(&g)))
        goto out;
    reg = orchard_registry_new();
    orchard_registry_set_global(reg);
    if ((rc = load_plugins(reg, &g, !extension_mode(argc, argv))))
        goto out;
    if (started_as_ext(argv)) {
        /* Multi-call: the name we were started under picks extension mode,
         * and every argument is osqueryd's. */
        rc = check_settings();
        argv[0] = "extension";
        if (rc == 0)
            rc = orchard_cmd_extension(argc, argv, NULL);
        goto out;
    }
    if ((rc = help_or_version(&g, argc, argv)) < 0)
        rc = dispatch(reg, argc, argv);
out:
    orchard_registry_free(reg);
    orchard_settings_shutdown();
    orchard_global_args_clear(&g);
    return rc;
}
