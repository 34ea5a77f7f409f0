/* The host's half of `orchard config check`. Only the host knows every
 * declared key, the file's shape and the keys nobody declared, and ABI 1.2
 * gives a plugin no way to list them; the plugin that registers `config
 * check` (the server plugin) knows its own rules (PEM pairs, topics, the ABM
 * token). So the host prints what is wrong with the settings and the
 * effective settings as YAML, runs the plugin's check, and gives the
 * verdict. stdout is one YAML document: status lines are comments. */
#include "host/commands.h"
#include "host/http/http_internal.h"

#include "host/plugins/plugin_ctx.h"
#include "host/settings.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#define USAGE "usage: orchard config check [--config F] [--show-secrets]\n"

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
    g_string_append_len(data, (const char *)buffer, (gssize)size);
    return 1;
}

static int scalar(yaml_emitter_t *em, const char *text)
{
    yaml_event_t ev;
    /* One line per key: a value with a line break goes double-quoted
     * (escaped) rather than as a block. */
    yaml_scalar_style_t style = strpbrk(text, "\r\n") ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                       : YAML_ANY_SCALAR_STYLE;
    return yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, -1, 1, 1, style) &&
           yaml_emitter_emit(em, &ev);
}

static int emit_value(yaml_emitter_t *em, const char *value, const GPtrArray *list)
{
    yaml_event_t ev;
    if (!list)
        return scalar(em, value);
    if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE) ||
        !yaml_emitter_emit(em, &ev))
        return 0;
    for (guint i = 0; i < list->len; i++)
        if (!scalar(em, g_ptr_array_index(list, i)))
            return 0;
    return yaml_sequence_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
}

/* `key: value` (or a block list) as libyaml writes it, quoting as YAML
 * needs. g_free; NULL when libyaml refuses (not UTF-8, say). */
static char *emit_pair(const char *key, const char *value, const GPtrArray *list)
{
    yaml_emitter_t em;
    yaml_event_t ev;
    GString *out = g_string_new(NULL);
    int ok = yaml_emitter_initialize(&em);
    if (ok) {
        yaml_emitter_set_output(&em, write_handler, out);
        yaml_emitter_set_width(&em, -1);
        yaml_emitter_set_unicode(&em, 1);
        ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
             yaml_emitter_emit(&em, &ev) &&
             yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
             yaml_emitter_emit(&em, &ev) &&
             yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) &&
             yaml_emitter_emit(&em, &ev) && scalar(&em, key) && emit_value(&em, value, list) &&
             yaml_mapping_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev) &&
             yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&em, &ev) &&
             yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev);
        yaml_emitter_delete(&em);
    }
    return g_string_free(out, !ok);
}

/* What config check shows for one value: secrets and PEM blocks summed up
 * unless --show-secrets. g_free. */
static char *shown(const orchard_setting_effective *e, int show_secrets)
{
    if (!show_secrets && (e->decl->flags & ORCHARD_SETTING_SECRET))
        return g_strdup("REDACTED");
    if (!show_secrets && g_str_has_prefix(e->value, "-----BEGIN "))
        return g_strdup_printf("(PEM, %zu bytes)", strlen(e->value));
    return g_strdup(e->value);
}

/* Append one setting under its section (indented), with "# default". */
static void append_setting(GString *y, const orchard_setting_effective *e, const char *name,
                           int indent, int show_secrets)
{
    g_autofree char *value = e->list ? NULL : shown(e, show_secrets);
    g_autofree char *pair = emit_pair(name, value, e->list);
    if (!pair) {
        g_string_append_printf(y, "%*s# %s: (not shown: not valid UTF-8)\n", indent, "", name);
        return;
    }
    g_auto(GStrv) lines = g_strsplit(pair, "\n", -1);
    for (size_t i = 0; lines[i] && *lines[i]; i++) {
        g_string_append_printf(y, "%*s%s", indent, "", lines[i]);
        if (i == 0 && e->is_default && (!lines[1] || !lines[1][0]))
            g_string_append(y, "  # default");
        g_string_append_c(y, '\n');
    }
}

/* Every declared key with a value, top-level keys first, then by section. */
static void print_effective(int show_secrets)
{
    g_autoptr(GPtrArray) all = orchard_settings_effective();
    GString *y = g_string_new(NULL);
    const char *file = orchard_settings_file();

    g_string_append_printf(y, "# orchard config check: the settings in force (%s%s, then the "
                           "environment and the command line)%s\n", file ? "file " : "no file",
                           file ? file : "", show_secrets ? "" : "; secrets show as REDACTED");
    for (int pass = 0; pass < 2; pass++) {
        char section[128] = "";
        for (guint i = 0; i < all->len; i++) {
            const orchard_setting_effective *e = g_ptr_array_index(all, i);
            const char *dot = strchr(e->decl->key, '.');
            if ((pass == 0) != (dot == NULL) || (!e->value && !e->list))
                continue;
            if (dot && (strlen(section) != (size_t)(dot - e->decl->key) ||
                        strncmp(section, e->decl->key, strlen(section)) != 0)) {
                g_strlcpy(section, e->decl->key,
                          MIN(sizeof section, (size_t)(dot - e->decl->key) + 1));
                g_string_append_printf(y, "%s:\n", section);
            }
            append_setting(y, e, dot ? dot + 1 : e->decl->key, dot ? 2 : 0, show_secrets);
        }
    }
    fputs(y->str, stdout);
    g_string_free(y, TRUE);
}

/* Problems to stderr; the number of errors. An unknown key is one here
 * (other commands only warn): a misspelt key is a setting that silently
 * does not apply, which is what config check is run to catch. */
static guint print_problems(void)
{
    static const char *const labels[] = {"error", "warning", "note"};
    g_autoptr(GPtrArray) problems = orchard_settings_problems();
    guint errors = 0;
    for (guint i = 0; i < problems->len; i++) {
        const orchard_settings_problem *p = g_ptr_array_index(problems, i);
        int error = p->level == ORCHARD_PROBLEM_ERROR || p->unknown;
        fprintf(stderr, "orchard config check: %s: %s\n", error ? "error" : labels[p->level],
                p->message);
        errors += error;
    }
    return errors;
}

/* The HTTP service's settings as `serve` will read them (an address that
 * is not host:port or does not resolve, a TLS file that can't be read):
 * their owner's parser says, so config check and serve agree. 1 on error. */
static guint check_transport(void)
{
    orchard_http_settings st = {0};
    g_autofree char *err = NULL;
    int rc = orchard_http_settings_load(&st, &err);
    orchard_http_settings_clear(&st);
    if (rc == 0)
        return 0;
    fprintf(stderr, "orchard config check: error: %s\n", err ? err : "server settings");
    return 1;
}

int orchard_config_check(orchard_ctx *ctx, const orchard_command *cmd, int argc, char **argv)
{
    int show_secrets = 0, rc = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--show-secrets") == 0) {
            show_secrets = 1;
            continue;
        }
        fprintf(stderr, "orchard config check: unknown argument %s\n" USAGE, argv[i]);
        return 2;
    }
    guint errors = print_problems() + check_transport();
    print_effective(show_secrets);
    fflush(stdout);
    if (cmd)
        rc = orchard_call_command(ctx, cmd, argc, argv);
    if (rc)
        return rc;
    if (errors) {
        fprintf(stderr, "orchard config check: the configuration is not valid: %u error%s "
                "above\n", errors, errors == 1 ? "" : "s");
        return 1;
    }
    printf("# The configuration is valid.\n");
    return 0;
}
