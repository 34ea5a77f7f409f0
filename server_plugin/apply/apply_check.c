/* `orchard apply`'s checks, all made before anything is written: the
 * documents together (one config, one document per team), each macOS update
 * setting and each profile file through the validators the API uses
 * (orchard_macos_updates_validate, orchard_profile_validate), so a spec that
 * the API would refuse in part is refused whole (apply_spec.h). */
#include "server_plugin/apply/apply_spec.h"

#include "server_plugin/profiles/profiles.h"
#include "server_plugin/updates/updates.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void problem(GPtrArray *problems, const orchard_apply_doc *d, int line, const char *fmt,
                    ...) G_GNUC_PRINTF(4, 5);
static void problem(GPtrArray *problems, const orchard_apply_doc *d, int line, const char *fmt,
                    ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(problems, g_strdup_printf("%s:%d: %s", d->file, line, msg));
}

static const char *scope(const orchard_apply_doc *d)
{
    return d->kind == ORCHARD_APPLY_CONFIG ? "the config (no team)" : d->team_name;
}

/* One profile file, at most the profile cap + 1 bytes (the validator says
 * "too big" for the one over): 0 and *out, or a problem added. */
static int read_profile(GPtrArray *problems, const orchard_apply_doc *d, guint i, GBytes **out)
{
    const char *path = g_ptr_array_index(d->paths, i);
    int line = g_array_index(d->path_lines, int, i);
    FILE *f = fopen(path, "rb");
    if (!f) {
        problem(problems, d, line, "profile %s: %s", path, g_strerror(errno));
        return -1;
    }
    size_t cap = ORCHARD_PROFILE_MAX_BYTES + 1;
    char *buf = g_malloc(cap);
    size_t n = fread(buf, 1, cap, f);
    int err = ferror(f);
    fclose(f);
    if (err) {
        g_free(buf);
        problem(problems, d, line, "profile %s: cannot be read", path);
        return -1;
    }
    *out = g_bytes_new_take(buf, n);
    return 0;
}

/* Every profile of one document: read, validated, no identifier or name twice. */
static void check_profiles(orchard_apply_doc *d, GPtrArray *problems)
{
    g_autoptr(GHashTable) ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    d->profiles = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    d->names = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < d->paths->len; i++) {
        const char *path = g_ptr_array_index(d->paths, i);
        int line = g_array_index(d->path_lines, int, i);
        GBytes *b = NULL;
        if (read_profile(problems, d, i, &b))
            continue;
        gsize len = 0;
        const void *data = g_bytes_get_data(b, &len);
        orchard_profile_info info = {0};
        g_autofree char *why = NULL;
        if (orchard_profile_validate(data, len, &info, &why)) {
            problem(problems, d, line, "profile %s: %s", path, why ? why : "refused");
            g_bytes_unref(b);
            continue;
        }
        if (g_hash_table_contains(ids, info.identifier))
            problem(problems, d, line, "profile %s: PayloadIdentifier %s is already used in %s",
                    path, info.identifier, scope(d));
        else if (g_hash_table_contains(names, info.name))
            problem(problems, d, line, "profile %s: the name \"%s\" is already used in %s", path,
                    info.name, scope(d));
        g_hash_table_add(ids, g_strdup(info.identifier));
        g_hash_table_add(names, g_strdup(info.name));
        g_ptr_array_add(d->profiles, b);
        g_ptr_array_add(d->names, g_strdup(info.name));
        orchard_profile_info_clear(&info);
    }
}

int orchard_apply_check(GPtrArray *docs, GPtrArray *problems)
{
    guint before = problems->len;
    g_autoptr(GHashTable) teams = g_hash_table_new(g_str_hash, g_str_equal);
    const orchard_apply_doc *config = NULL;
    for (guint i = 0; i < docs->len; i++) {
        orchard_apply_doc *d = g_ptr_array_index(docs, i);
        if (d->kind == ORCHARD_APPLY_CONFIG) {
            if (config)
                problem(problems, d, d->line, "a second config document (the first is at %s:%d)",
                        config->file, config->line);
            config = d;
        } else {
            const orchard_apply_doc *other = g_hash_table_lookup(teams, d->team_name);
            if (other)
                problem(problems, d, d->line,
                        "team %s is in a second document (the first is at %s:%d)", d->team_name,
                        other->file, other->line);
            else
                g_hash_table_insert(teams, d->team_name, d);
        }
        if (d->has_updates) {
            const char *field = NULL;
            g_autofree char *why = NULL;
            if (orchard_macos_updates_validate(d->minimum_version, d->deadline, &field, &why))
                problem(problems, d, d->updates_line, "%s: mdm.macos_updates.%s: %s", scope(d),
                        field ? field : "minimum_version", why ? why : "refused");
        }
        check_profiles(d, problems);
    }
    return problems->len > before ? ORCHARD_EINVAL : 0;
}
