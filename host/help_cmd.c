/* `orchard help`, `orchard version`, and what a wrong command line is told:
 * the subcommands of a group (`orchard generate` -> mdm-apple, mdm-apple-bm)
 * and the closest name to a typo. */
#include "host/args.h"
#include "host/commands.h"
#include "host/plugins/registry.h"
#include "host/suggest.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

void orchard_print_commands(FILE *out)
{
    const orchard_registry *reg = orchard_registry_global();
    fprintf(out, "usage: orchard [GLOBAL OPTIONS] <command> [args]\n\ncommands:\n");
    for (size_t i = 0; reg && i < orchard_registry_command_count(reg); i++) {
        const orchard_command *c = orchard_registry_command(reg, i);
        fprintf(out, "  %-22s %s\n", c->name, c->summary ? c->summary : "");
    }
    fprintf(out, "\nglobal options (anywhere on the line):\n");
    orchard_args_print_global(out);
    fprintf(out, "\nRun `orchard help <command>` for a command's options.\n");
}

static const char *aliases_of(const orchard_command *c)
{
    return ORCHARD_HAS_FIELD(c, orchard_command, aliases) ? c->aliases : NULL;
}

/* Does `name` ("generate mdm-apple") start with the k words of argv and go
 * on? Returns the next word's start (in name), or NULL. */
static const char *continues(const char *name, int k, char **words)
{
    const char *p = name;
    for (int i = 0; i < k; i++) {
        size_t n = strlen(words[i]);
        if (strncmp(p, words[i], n) != 0 || p[n] != ' ')
            return NULL;
        p += n + 1;
    }
    return p;
}

/* Every full name of a command: its name, then its aliases. g_strfreev. */
static char **names_of(const orchard_command *c)
{
    g_autofree char *all = aliases_of(c) ? g_strdup_printf("%s|%s", c->name, aliases_of(c))
                                         : g_strdup(c->name);
    return g_strsplit(all, "|", -1);
}

/* The number of leading words of argv that name a group (a prefix of some
 * command's name that is not the whole name). */
static int group_words(const orchard_registry *reg, int argc, char **argv)
{
    int best = 0;
    for (size_t i = 0; i < orchard_registry_command_count(reg); i++) {
        g_auto(GStrv) names = names_of(orchard_registry_command(reg, i));
        for (char **n = names; *n; n++)
            for (int k = argc; k > best; k--)
                if (continues(*n, k, argv)) {
                    best = k;
                    break;
                }
    }
    return best;
}

/* The word after the first k of argv in every command of that group,
 * aliases included, each once. Borrowed from `keep`. */
static GPtrArray *next_words(const orchard_registry *reg, int k, char **argv, GPtrArray *keep)
{
    GPtrArray *words = g_ptr_array_new();
    for (size_t i = 0; i < orchard_registry_command_count(reg); i++) {
        g_auto(GStrv) names = names_of(orchard_registry_command(reg, i));
        for (char **n = names; *n; n++) {
            const char *rest = continues(*n, k, argv);
            if (!rest)
                continue;
            char *w = g_strndup(rest, strcspn(rest, " "));
            g_ptr_array_add(keep, w);
            gboolean seen = FALSE;
            for (guint j = 0; j < words->len && !seen; j++)
                seen = strcmp(g_ptr_array_index(words, j), w) == 0;
            if (!seen)
                g_ptr_array_add(words, w);
        }
    }
    return words;
}

/* The commands of the group argv[0..k-1], one line each. */
static void print_group(FILE *out, const orchard_registry *reg, int k, char **argv)
{
    for (size_t i = 0; i < orchard_registry_command_count(reg); i++) {
        const orchard_command *c = orchard_registry_command(reg, i);
        const char *rest = continues(c->name, k, argv);
        if (!rest)
            continue;
        fprintf(out, "  %-22s %s\n", rest, c->summary ? c->summary : "");
        if (aliases_of(c))
            fprintf(out, "  %-22s (also: %s)\n", "", aliases_of(c));
    }
}

int orchard_command_not_found(FILE *out, const char *who, int argc, char **argv)
{
    const orchard_registry *reg = orchard_registry_global();
    g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func(g_free);
    int k = reg ? group_words(reg, argc, argv) : 0;
    GPtrArray *words = reg ? next_words(reg, k, argv, keep) : g_ptr_array_new();
    const char *close = k < argc ? orchard_suggest(argv[k], (const char *const *)words->pdata,
                                                   words->len) : NULL;
    GString *g = g_string_new(NULL);
    for (int i = 0; i < k; i++)
        g_string_append_printf(g, "%s%s", i ? " " : "", argv[i]);
    if (k == 0)
        fprintf(out, "%s: unknown command '%s'", who, argc ? argv[0] : "");
    else if (k == argc)
        fprintf(out, "%s %s: missing subcommand", who, g->str);
    else
        fprintf(out, "%s %s: unknown subcommand '%s'", who, g->str, argv[k]);
    if (close)
        fprintf(out, "; did you mean '%s%s%s'?", g->str, k ? " " : "", close);
    fprintf(out, "\n\n");
    if (k > 0 && reg) {
        fprintf(out, "%s %s has these subcommands:\n", who, g->str);
        print_group(out, reg, k, argv);
        fprintf(out, "\nRun `orchard help %s <subcommand>` for its options.\n", g->str);
    } else {
        orchard_print_commands(out);
    }
    g_string_free(g, TRUE);
    g_ptr_array_unref(words);
    return 2;
}

static void print_usage(const orchard_command *c)
{
    printf("%s\n\nusage: ", c->summary ? c->summary : c->name);
    if (c->usage && !g_str_has_prefix(c->usage, "orchard "))
        printf("orchard %s ", c->name);
    printf("%s\n", c->usage ? c->usage : c->name);
    if (aliases_of(c))
        printf("\nAlso spelled: %s\n", aliases_of(c));
    printf("\nglobal options (anywhere on the line):\n");
    orchard_args_print_global(stdout);
}

int orchard_cmd_help(int argc, char **argv, void *payload)
{
    const orchard_registry *reg = orchard_registry_global();
    (void)payload;
    if (argc <= 1 || !reg) {
        orchard_print_commands(stdout);
        return 0;
    }
    int n = 0;
    const orchard_command *c = orchard_registry_find_command(reg, argc - 1, argv + 1, &n);
    if (c && n == argc - 1) {
        print_usage(c);
        return 0;
    }
    /* A group named whole (`help generate`) is a question, not a mistake. */
    if (group_words(reg, argc - 1, argv + 1) == argc - 1) {
        GString *g = g_string_new(NULL);
        for (int i = 1; i < argc; i++)
            g_string_append_printf(g, "%s%s", i > 1 ? " " : "", argv[i]);
        printf("orchard %s <subcommand>\n\nsubcommands:\n", g->str);
        print_group(stdout, reg, argc - 1, argv + 1);
        printf("\nRun `orchard help %s <subcommand>` for its options.\n", g->str);
        g_string_free(g, TRUE);
        return 0;
    }
    return orchard_command_not_found(stderr, "orchard help", argc - 1, argv + 1);
}

int orchard_cmd_version(int argc, char **argv, void *payload)
{
    (void)argc;
    (void)argv;
    (void)payload;
    printf("orchard %s (plugin ABI %u.%u)\n", ORCHARD_VERSION, ORCHARD_ABI_VERSION,
           ORCHARD_ABI_MINOR);
    return 0;
}
