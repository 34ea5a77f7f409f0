/* What is wrong with a snapshot-to-be (settings_internal.h): a list or a
 * section where a value belongs, a value that does not read as its type, a
 * key nobody declared (with the closest declared one), a Fleet key orchard
 * ignores, a key given twice, a secret in a file everyone can read. A
 * reload with any error keeps the snapshot in force; `config check` prints
 * them all; every command logs the warnings. */
#include "host/settings_internal.h"

#include "host/settings_parse.h"
#include "host/suggest.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

/* Fleet's configuration that orchard reads nothing from: whole sections,
 * then single keys of sections orchard shares with Fleet. A Fleet config
 * file loads as it is; these are named once each, as notes. */
static const struct {
    const char *key; /* a section ("mysql") or a key ("server.tls") */
    const char *hint;
} fleet_ignored[] = {
    {"mysql", "orchard keeps its state in store.sqlite"},
    {"mysql_read_replica", "orchard keeps its state in store.sqlite"},
    {"redis", "orchard needs no cache or queue server"},
    {"auth", NULL},
    {"app", NULL},
    {"session", NULL},
    {"osquery", "osqueryd talks to Fleet; orchard is an extension of osqueryd"},
    {"activity", NULL},
    {"activity_audit", NULL},
    {"logging", "orchard logs to stderr, and --verbose logs more"},
    {"filesystem", NULL},
    {"s3", NULL},
    {"packaging", NULL},
    {"license", NULL},
    {"vulnerabilities", NULL},
    {"sentry", NULL},
    {"geoip", NULL},
    {"prometheus", NULL},
    {"email", NULL},
    {"ses", NULL},
    {"firehose", NULL},
    {"kinesis", NULL},
    {"lambda", NULL},
    {"pubsub", NULL},
    {"kafkarest", NULL},
    {"upgrades", NULL},
    {"calendar", NULL},
    {"partnerships", NULL},
    {"server.tls", "orchard serves HTTPS when server.tls_cert and server.tls_key are set"},
    {"server.tls_compatibility", NULL},
    {"server.keepalive", NULL},
    {"server.invite_token_validity_period", NULL},
    {"server.websockets_allow_unsafe_origin", NULL},
    {"server.sandbox_enabled", NULL},
    {"server.frequent_cleanups_enabled", NULL},
    {"server.private_key", NULL},
    {"mdm.windows_wstep_identity_cert", NULL},
    {"mdm.windows_wstep_identity_key", NULL},
    {"mdm.windows_wstep_identity_cert_bytes", NULL},
    {"mdm.windows_wstep_identity_key_bytes", NULL},
};

void orchard_settings_problem_free(gpointer p)
{
    orchard_settings_problem *pr = p;
    if (!pr)
        return;
    g_free(pr->key);
    g_free(pr->message);
    g_free(pr);
}

static void add(GPtrArray *out, orchard_problem_level level, const char *key, const char *fmt,
                ...) G_GNUC_PRINTF(4, 5);
static void add(GPtrArray *out, orchard_problem_level level, const char *key, const char *fmt,
                ...)
{
    orchard_settings_problem *p = g_new0(orchard_settings_problem, 1);
    va_list ap;
    va_start(ap, fmt);
    p->level = level;
    p->key = g_strdup(key);
    p->message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(out, p);
}

/* "the file, line 4" for messages. g_free. */
static char *where(const orchard_settings_view *v, const char *key)
{
    unsigned line = 0;
    orchard_config_shape_of(v->file, key, &line);
    return g_strdup_printf("%s, line %u", v->path ? v->path : "the file", line);
}

/* The entry of fleet_ignored covering `key`, or -1. */
static int fleet_entry(const char *key)
{
    for (size_t i = 0; i < G_N_ELEMENTS(fleet_ignored); i++) {
        size_t n = strlen(fleet_ignored[i].key);
        if (strncmp(key, fleet_ignored[i].key, n) == 0 && (key[n] == '\0' || key[n] == '.'))
            return (int)i;
    }
    return -1;
}

/* The declared key that `key` sits under ("server.tls_cert" for
 * "server.tls_cert.path"), or NULL. */
static const orchard_decl *declared_parent(const orchard_settings_view *v, const char *key)
{
    g_autofree char *k = g_strdup(key);
    for (char *dot = strrchr(k, '.'); dot; dot = strrchr(k, '.')) {
        *dot = '\0';
        const orchard_decl *d = g_hash_table_lookup(v->by_name, k);
        if (d)
            return d;
    }
    return NULL;
}

static void unknown_key(const orchard_settings_view *v, const char *key, GPtrArray *out)
{
    GPtrArray *names = g_ptr_array_new();
    for (guint i = 0; i < v->decls->len; i++) {
        const orchard_decl *d = g_ptr_array_index(v->decls, i);
        for (size_t k = 0; d->names[k]; k++)
            g_ptr_array_add(names, d->names[k]);
    }
    const char *close = orchard_suggest(key, (const char *const *)names->pdata, names->len);
    g_autofree char *at = where(v, key);
    if (close)
        add(out, ORCHARD_PROBLEM_WARNING, key, "unknown key %s (%s): did you mean %s?", key, at,
            close);
    else
        add(out, ORCHARD_PROBLEM_WARNING, key, "unknown key %s (%s): no plugin reads it", key,
            at);
    ((orchard_settings_problem *)g_ptr_array_index(out, out->len - 1))->unknown = 1;
    g_ptr_array_unref(names);
}

/* A declared key that the file spells twice (as itself and an alias). */
static void alias_clash(const orchard_settings_view *v, const orchard_decl *d, const char *key,
                        GPtrArray *out)
{
    for (size_t k = 0; d->names[k]; k++) {
        const char *other = d->names[k];
        if (strcmp(other, key) == 0 ||
            orchard_config_shape_of(v->file, other, NULL) != ORCHARD_CONFIG_VALUE)
            continue;
        if (g_strcmp0(orchard_config_file_value(v->file, other),
                      orchard_config_file_value(v->file, key)) != 0 &&
            strcmp(key, d->s->key) == 0)
            add(out, ORCHARD_PROBLEM_ERROR, key, "%s and %s (Fleet's name for it) are both set, "
                "to different values: keep one", key, other);
    }
}

/* One key of the file. `reported` holds the fleet entries and parents
 * already named. */
static void check_file_key(const orchard_settings_view *v, const char *key,
                           GHashTable *reported, GPtrArray *out)
{
    const orchard_decl *d = g_hash_table_lookup(v->by_name, key);
    orchard_config_shape shape = orchard_config_shape_of(v->file, key, NULL);
    g_autofree char *at = where(v, key);

    if (d) {
        int is_list = (d->s->flags & ORCHARD_SETTING_HOST_LIST) != 0;
        if (shape == ORCHARD_CONFIG_LIST && !is_list)
            add(out, ORCHARD_PROBLEM_ERROR, key, "%s (%s): a list where %s belongs", key, at,
                orchard_setting_type_noun(d->s->type));
        else if (shape == ORCHARD_CONFIG_VALUE && is_list &&
                 *orchard_config_file_value(v->file, key))
            add(out, ORCHARD_PROBLEM_ERROR, key, "%s (%s): one value where a list belongs: "
                "write it as [%s]", key, at, orchard_config_file_value(v->file, key));
        else if (shape == ORCHARD_CONFIG_SECTION)
            add(out, ORCHARD_PROBLEM_ERROR, key, "%s (%s): an empty section where %s belongs",
                key, at, is_list ? "a list" : orchard_setting_type_noun(d->s->type));
        alias_clash(v, d, key, out);
        return;
    }
    if ((d = declared_parent(v, key))) {
        if (g_hash_table_add(reported, (gpointer)d->s->key))
            add(out, ORCHARD_PROBLEM_ERROR, d->s->key, "%s (%s): a section where %s belongs",
                d->s->key, at, orchard_setting_type_noun(d->s->type));
        return;
    }
    int f = fleet_entry(key);
    if (f >= 0) {
        const char *hint = fleet_ignored[f].hint;
        if (g_hash_table_add(reported, (gpointer)fleet_ignored[f].key))
            add(out, ORCHARD_PROBLEM_NOTE, fleet_ignored[f].key,
                "%s (%s): a Fleet setting orchard does not use; ignored%s%s",
                fleet_ignored[f].key, at, hint ? ": " : "", hint ? hint : "");
        return;
    }
    unknown_key(v, key, out);
}

static void check_file(const orchard_settings_view *v, GPtrArray *out)
{
    GPtrArray *keys = orchard_config_keys(v->file);
    g_autoptr(GHashTable) reported = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < keys->len; i++)
        check_file_key(v, g_ptr_array_index(keys, i), reported, out);
    g_ptr_array_unref(keys);
    const GPtrArray *dups = orchard_config_duplicates(v->file);
    for (guint i = 0; i < dups->len; i++) {
        const char *key = g_ptr_array_index(dups, i);
        g_autofree char *at = where(v, key);
        add(out, ORCHARD_PROBLEM_WARNING, key, "%s is set more than once; the last one (%s) "
            "wins", key, at);
    }
}

/* Every declared key's value against its type. */
static void check_types(const orchard_settings_view *v, GPtrArray *out)
{
    for (guint i = 0; i < v->decls->len; i++) {
        const orchard_decl *d = g_ptr_array_index(v->decls, i);
        const orchard_resolved *r = g_hash_table_lookup(v->values, d->s->key);
        g_autofree char *why = NULL;
        if (!r || !r->value || !orchard_setting_check_value(d->s->type, r->value, &why))
            continue;
        if (d->s->flags & ORCHARD_SETTING_SECRET)
            add(out, ORCHARD_PROBLEM_ERROR, d->s->key, "%s (from %s): its value %s", d->s->key,
                r->origin, why);
        else
            add(out, ORCHARD_PROBLEM_ERROR, d->s->key, "%s: \"%s\" (from %s) %s", d->s->key,
                r->value, r->origin, why);
    }
}

/* The first secret the file itself holds, or NULL. */
static const char *secret_in_file(const orchard_settings_view *v)
{
    for (guint i = 0; i < v->decls->len; i++) {
        const orchard_decl *d = g_ptr_array_index(v->decls, i);
        if (!(d->s->flags & ORCHARD_SETTING_SECRET))
            continue;
        for (size_t k = 0; d->names[k]; k++) {
            const char *val = orchard_config_file_value(v->file, d->names[k]);
            if (val && *val)
                return d->s->key;
        }
    }
    return NULL;
}

static void check_file_mode(const orchard_settings_view *v, GPtrArray *out)
{
    GStatBuf sb;
    const char *secret = secret_in_file(v);
    if (!v->path || g_stat(v->path, &sb) != 0)
        return;
    if (sb.st_mode & S_IWOTH)
        add(out, ORCHARD_PROBLEM_WARNING, NULL, "%s is writable by every user (mode %04o): "
            "anyone can change orchard's settings; chmod o-w %s", v->path,
            (unsigned)(sb.st_mode & 07777), v->path);
    if (secret && (sb.st_mode & S_IROTH))
        add(out, ORCHARD_PROBLEM_WARNING, secret, "%s is readable by every user (mode %04o) "
            "and holds the secret %s: chmod 600 %s, or set it in the environment "
            "(ORCHARD_* or FLEET_*) instead", v->path, (unsigned)(sb.st_mode & 07777), secret,
            v->path);
}

GPtrArray *orchard_settings_validate(const orchard_settings_view *v)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(orchard_settings_problem_free);
    if (v->file) {
        check_file(v, out);
        check_file_mode(v, out);
    }
    check_types(v, out);
    return out;
}
