/* Option parsing shared by every command: the global options through
 * GOptionContext, and the small helpers commands use for their own flags. */
#include "host/args.h"

#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

/* The global options that set a configuration key (and win over it). */
static const struct {
    const char *option;
    const char *key;
} config_options[] = {
    {"root", "agent.root"},
    {"profiles_bin", "agent.profiles_bin"},
    {"nudge_json", "agent.nudge_json"},
};

const char *orchard_args_config_key(const char *option)
{
    for (size_t i = 0; i < G_N_ELEMENTS(config_options); i++)
        if (strcmp(config_options[i].option, option) == 0)
            return config_options[i].key;
    return NULL;
}

/* The table GLib parses with; also what `orchard help` prints. */
static void entries_for(orchard_global_args *g, GOptionEntry *e)
{
    GOptionEntry all[] = {
        {"config", 0, 0, G_OPTION_ARG_FILENAME, &g->config,
         "YAML configuration (Fleet's key names; see docs/configuration.md)", "F"},
        {"plugin", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &g->plugins,
         "load a plugin .so (repeatable; also the config's plugins: list)", "PATH"},
        {"verbose", 0, 0, G_OPTION_ARG_NONE, &g->verbose, "debug logging", NULL},
        {"root", 0, 0, G_OPTION_ARG_FILENAME, &g->root,
         "where the Mac tables read the Mac's files (agent.root, default /)", "DIR"},
        {"profiles_bin", 0, 0, G_OPTION_ARG_FILENAME, &g->profiles_bin,
         "the `profiles` command the Mac tables run (agent.profiles_bin)", "PATH"},
        {"nudge_json", 0, 0, G_OPTION_ARG_FILENAME, &g->nudge_json,
         "a Nudge JSON configuration for the nudge table (agent.nudge_json)", "PATH"},
        {"help", 0, 0, G_OPTION_ARG_NONE, &g->help, "the same as `orchard help [COMMAND]`",
         NULL},
        {"version", 0, 0, G_OPTION_ARG_NONE, &g->version, "the same as `orchard version`",
         NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    memcpy(e, all, sizeof all);
}

#define N_ENTRIES 9

/* gflags (osqueryd) accepts `-config F`; GLib wants two dashes. Rewrites
 * argv[i] to a string kept in `keep`. */
static void double_dash(int argc, char **argv, const GOptionEntry *e, GPtrArray *keep)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '-' || a[1] == '\0')
            continue;
        for (const GOptionEntry *o = e; o->long_name; o++) {
            size_t n = strlen(o->long_name);
            if (strncmp(a + 1, o->long_name, n) == 0 && (a[n + 1] == '\0' || a[n + 1] == '=')) {
                char *fixed = g_strconcat("-", a, NULL);
                g_ptr_array_add(keep, fixed);
                argv[i] = fixed;
                break;
            }
        }
    }
}

static GPtrArray *rewritten; /* strings double_dash put into argv: live until exit */

int orchard_args_parse_global(int *argc, char **argv, orchard_global_args *out,
                              char **error_msg)
{
    GOptionEntry e[N_ENTRIES];
    g_autoptr(GError) err = NULL;
    char **v = argv;

    memset(out, 0, sizeof *out);
    entries_for(out, e);
    if (!rewritten)
        rewritten = g_ptr_array_new_with_free_func(g_free);
    double_dash(*argc, argv, e, rewritten);
    GOptionContext *ctx = g_option_context_new(NULL);
    /* `--help` means `orchard help`, and a command's own options pass
     * through untouched: the command names what it does not know. */
    g_option_context_set_help_enabled(ctx, FALSE);
    g_option_context_set_ignore_unknown_options(ctx, TRUE);
    g_option_context_add_main_entries(ctx, e, NULL);
    gboolean ok = g_option_context_parse(ctx, argc, &v, &err);
    g_option_context_free(ctx);
    if (!ok) {
        *error_msg = g_strdup(err->message);
        return 2;
    }
    if (v != argv) /* GLib parses in place; never expected to move it */
        memmove(argv, v, sizeof *argv * (size_t)(*argc + 1));
    argv[*argc] = NULL;
    return 0;
}

/* Store a value taken from argv in the field a global option sets. */
static void take_value(orchard_global_args *g, const char *option, const char *value)
{
    char **field = strcmp(option, "config") == 0         ? &g->config
                   : strcmp(option, "root") == 0         ? &g->root
                   : strcmp(option, "profiles_bin") == 0 ? &g->profiles_bin
                                                         : &g->nudge_json;
    g_free(*field);
    *field = g_strdup(value);
}

int orchard_args_take_ext(int *argc, char **argv, orchard_global_args *out, char **error_msg)
{
    static const char *const valued[] = {"config", "root", "profiles_bin", "nudge_json"};
    GPtrArray *plugins = g_ptr_array_new();
    int kept = 1;

    memset(out, 0, sizeof *out);
    for (int i = 1; i < *argc;) {
        const char *v = NULL;
        int r = orchard_arg_value(&i, *argc, argv, "plugin", &v);
        if (r > 0) {
            g_ptr_array_add(plugins, g_strdup(v));
            continue;
        }
        for (size_t k = 0; r == 0 && k < G_N_ELEMENTS(valued); k++)
            if ((r = orchard_arg_value(&i, *argc, argv, valued[k], &v)) > 0)
                take_value(out, valued[k], v);
        if (r < 0) {
            *error_msg = g_strdup_printf("%s needs a value", argv[i]);
            g_ptr_array_free(plugins, TRUE);
            return 2;
        }
        if (r > 0)
            continue;
        /* Extension mode reads --verbose itself, with osqueryd's flags. */
        out->verbose |= orchard_arg_flag(argv[i], "verbose");
        argv[kept++] = argv[i++];
    }
    *argc = kept;
    argv[kept] = NULL;
    g_ptr_array_add(plugins, NULL);
    out->plugins = (char **)g_ptr_array_free(plugins, FALSE);
    return 0;
}

void orchard_global_args_clear(orchard_global_args *g)
{
    g_free(g->config);
    g_strfreev(g->plugins);
    g_free(g->root);
    g_free(g->profiles_bin);
    g_free(g->nudge_json);
    memset(g, 0, sizeof *g);
    g_clear_pointer(&rewritten, g_ptr_array_unref);
}

void orchard_args_print_global(FILE *out)
{
    orchard_global_args unused;
    GOptionEntry e[N_ENTRIES];
    entries_for(&unused, e);
    for (const GOptionEntry *o = e; o->long_name; o++) {
        g_autofree char *flag = g_strdup_printf("--%s%s%s", o->long_name,
                                                o->arg_description ? " " : "",
                                                o->arg_description ? o->arg_description : "");
        fprintf(out, "  %-22s %s\n", flag, o->description);
    }
}

/* Skip "--" or "-" and return the rest, or NULL when arg is not a flag. */
static const char *flag_body(const char *arg)
{
    if (arg[0] != '-')
        return NULL;
    return arg[1] == '-' ? arg + 2 : arg + 1;
}

int orchard_arg_value(int *i, int argc, char **argv, const char *name, const char **value)
{
    const char *body = flag_body(argv[*i]);
    size_t n = strlen(name);
    if (!body || strncmp(body, name, n) != 0)
        return 0;
    if (body[n] == '=') {
        *value = body + n + 1;
        (*i)++;
        return 1;
    }
    if (body[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[*i + 1];
    *i += 2;
    return 1;
}

int orchard_arg_flag(const char *arg, const char *name)
{
    const char *body = flag_body(arg);
    size_t n = strlen(name);
    if (!body || strncmp(body, name, n) != 0)
        return 0;
    return body[n] == '\0' || strcmp(body + n, "=true") == 0 || strcmp(body + n, "=1") == 0;
}

long orchard_arg_uint(const char *s, long max)
{
    char *end = NULL;
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v > max)
        return -1;
    return v;
}
