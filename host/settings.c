/* The settings snapshot (see settings.h): declarations with one owner per
 * key, the layers a value can come from, and the snapshot built from them.
 * A snapshot is never changed once readers can see it: every change (a
 * reload, an override, a command-line value, a new declaration) builds a new
 * one and swaps the pointer under a write lock. Values are interned in a
 * pool that lives until exit, so a string a reader borrowed stays valid
 * after its snapshot is gone, and old snapshots' indexes can be freed. */
#include "host/settings.h"

#include "host/events/events.h"
#include "host/log.h"
#include "host/plugins/plugin_ctx.h"
#include "host/settings_internal.h"
#include "host/settings_parse.h"

#include <jansson.h>
#include <stdatomic.h>
#include <string.h>

#define COMPONENT "settings"

typedef struct {
    GHashTable *values;  /* key -> orchard_resolved* (declared keys by their own name) */
    GHashTable *lists;   /* key -> const GPtrArray* (borrowed from a kept file) */
    GPtrArray *problems; /* orchard_settings_problem* */
} snapshot;

static struct {
    GMutex lock;          /* writers: declarations, layers, builds and swaps, one at a time */
    GRWLock rw;           /* `current` and `by_name` against readers */
    GPtrArray *decls;     /* orchard_decl*, declaration order */
    GHashTable *by_name;  /* key or alias -> orchard_decl* */
    orchard_config *file; /* the file in force, or NULL */
    char *path;
    GPtrArray *files;     /* every file ever in force: snapshots borrow their lists */
    GHashTable *cli;      /* key -> interned value ("" unsets) */
    GHashTable *runtime;  /* key -> interned value: run-time overrides */
    snapshot *current;
    GMutex pool_lock;
    GHashTable *pool;     /* interned strings */
    GHashTable *noted;    /* undeclared keys already logged */
    atomic_uint_fast64_t generation;
} S;

/* --- the pool */

static const char *intern(const char *s)
{
    if (!s)
        return NULL;
    g_mutex_lock(&S.pool_lock);
    if (!S.pool)
        S.pool = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    const char *v = g_hash_table_lookup(S.pool, s);
    if (!v) {
        char *copy = g_strdup(s);
        g_hash_table_add(S.pool, copy);
        v = copy;
    }
    g_mutex_unlock(&S.pool_lock);
    return v;
}

static const char *intern_printf(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static const char *intern_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return intern(s);
}

/* Called with S.lock held. */
static void ensure_tables(void)
{
    if (S.decls)
        return;
    S.decls = g_ptr_array_new();
    S.by_name = g_hash_table_new(g_str_hash, g_str_equal);
    S.files = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_config_free);
    S.cli = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    S.runtime = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

static void snapshot_free(snapshot *snap)
{
    if (!snap)
        return;
    g_hash_table_destroy(snap->values);
    g_hash_table_destroy(snap->lists);
    g_ptr_array_unref(snap->problems);
    g_free(snap);
}

/* --- resolving one key through the layers */

static void put(GHashTable *values, const char *key, const char *value, const char *origin)
{
    orchard_resolved *r = g_new(orchard_resolved, 1);
    r->value = value && *value ? intern(value) : NULL;
    r->origin = origin;
    g_hash_table_replace(values, g_strdup(key), r);
}

/* The first environment variable set for `names`, ORCHARD_ before FLEET_. */
static int from_env(char *const *names, const char **value, const char **origin)
{
    static const char *const prefixes[] = {"ORCHARD_", "FLEET_"};
    for (size_t p = 0; p < G_N_ELEMENTS(prefixes); p++) {
        for (size_t i = 0; names[i]; i++) {
            g_autofree char *var = orchard_config_env_name_with(prefixes[p], names[i]);
            const char *v = g_getenv(var);
            if (v) {
                *value = v;
                *origin = intern(var);
                return 1;
            }
        }
    }
    return 0;
}

static int from_file(const orchard_config *file, const char *path, char *const *names,
                     const char **value, const char **origin)
{
    for (size_t i = 0; file && names[i]; i++) {
        unsigned line = 0;
        if (orchard_config_shape_of(file, names[i], &line) != ORCHARD_CONFIG_VALUE)
            continue;
        *value = orchard_config_file_value(file, names[i]);
        *origin = intern_printf("%s:%u", path ? path : "the file", line);
        return 1;
    }
    return 0;
}

/* Put the value of `names` (a key and its aliases) into `values`, from the
 * highest layer that has it; nothing when no layer does. */
static void resolve(GHashTable *values, const char *key, char *const *names,
                    const orchard_config *file, const char *path, GHashTable *runtime)
{
    const char *v = g_hash_table_lookup(runtime, key);
    const char *origin = NULL;

    if (v) {
        put(values, key, v, intern("a run-time override"));
        return;
    }
    for (size_t i = 0; names[i]; i++) {
        if (g_hash_table_lookup_extended(S.cli, names[i], NULL, (gpointer *)&v)) {
            put(values, key, v, intern("the command line"));
            return;
        }
    }
    if (from_env(names, &v, &origin) || from_file(file, path, names, &v, &origin))
        put(values, key, v, origin);
}

/* --- building and swapping (S.lock held) */

static snapshot *build(const orchard_config *file, const char *path, GHashTable *runtime)
{
    snapshot *snap = g_new0(snapshot, 1);
    snap->values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    snap->lists = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (guint i = 0; i < S.decls->len; i++) {
        const orchard_decl *d = g_ptr_array_index(S.decls, i);
        resolve(snap->values, d->s->key, d->names, file, path, runtime);
        for (size_t k = 0; file && d->names[k]; k++) {
            if (orchard_config_shape_of(file, d->names[k], NULL) == ORCHARD_CONFIG_LIST) {
                g_hash_table_replace(snap->lists, g_strdup(d->s->key),
                                     (gpointer)orchard_config_get_list(file, d->names[k]));
                break;
            }
        }
    }
    /* Keys nobody declared (yet): served as text while plugins move to
     * declarations, and named by validation. */
    GPtrArray *keys = file ? orchard_config_keys(file) : g_ptr_array_new();
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, S.cli);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_ptr_array_add(keys, k);
    for (guint i = 0; i < keys->len; i++) {
        const char *key = g_ptr_array_index(keys, i);
        if (g_hash_table_contains(S.by_name, key) || g_hash_table_contains(snap->values, key))
            continue;
        char *names[] = {(char *)key, NULL};
        resolve(snap->values, key, names, file, path, runtime);
        if (file && orchard_config_shape_of(file, key, NULL) == ORCHARD_CONFIG_LIST)
            g_hash_table_replace(snap->lists, g_strdup(key),
                                 (gpointer)orchard_config_get_list(file, key));
    }
    g_ptr_array_unref(keys);
    orchard_settings_view view = {file, path, S.decls, S.by_name, snap->values};
    snap->problems = orchard_settings_validate(&view);
    return snap;
}

static void swap(snapshot *snap)
{
    atomic_fetch_add(&S.generation, 1);
    g_rw_lock_writer_lock(&S.rw);
    snapshot *old = S.current;
    S.current = snap;
    g_rw_lock_writer_unlock(&S.rw);
    snapshot_free(old);
}

static void rebuild(void)
{
    swap(build(S.file, S.path, S.runtime));
}

/* The value a reader of `d` sees in `snap`: set, or the default. */
static const char *effective_value(const snapshot *snap, const orchard_decl *d)
{
    const orchard_resolved *r = snap ? g_hash_table_lookup(snap->values, d->s->key) : NULL;
    return r && r->value ? r->value : d->s->default_value;
}

/* Declared keys whose value differs between two snapshots (char*, borrowed). */
static GPtrArray *changed_keys(const snapshot *a, const snapshot *b)
{
    GPtrArray *keys = g_ptr_array_new();
    for (guint i = 0; i < S.decls->len; i++) {
        const orchard_decl *d = g_ptr_array_index(S.decls, i);
        const char *x = effective_value(a, d), *y = effective_value(b, d);
        if (g_strcmp0(x, y) != 0 ||
            g_hash_table_lookup(a->lists, d->s->key) != g_hash_table_lookup(b->lists, d->s->key))
            g_ptr_array_add(keys, (gpointer)d->s->key);
    }
    return keys;
}

/* After a swap (S.lock released): say what needs a restart, tell subscribers. */
static void announce(GPtrArray *changed)
{
    json_t *list = json_array();
    for (guint i = 0; i < changed->len; i++) {
        const char *key = g_ptr_array_index(changed, i);
        const orchard_setting *s = orchard_settings_find(key, NULL);
        if (s && (s->flags & ORCHARD_SETTING_RESTART))
            orchard_warn(COMPONENT, "%s changed, but takes effect only when orchard restarts",
                         key);
        json_array_append_new(list, json_string(key));
    }
    char *text = json_dumps(list, JSON_COMPACT);
    if (changed->len && text)
        orchard_events_publish(orchard_ctx_host(), "settings.changed", text);
    free(text);
    json_decref(list);
}

/* --- declarations */

static int valid_key(const char *k)
{
    if (!k || !g_ascii_islower(*k))
        return 0;
    for (; *k; k++)
        if (!g_ascii_islower(*k) && !g_ascii_isdigit(*k) && !strchr("._-", *k))
            return 0;
    return k[-1] != '.';
}

/* Is one declaration well formed? *why (g_free) when not. */
static int check_decl(const orchard_setting *s, char **why)
{
    g_autofree char *bad = NULL;
    if (!s || !valid_key(s->key)) {
        *why = g_strdup_printf("setting key '%s' is not lower case letters, digits, '.', '_' "
                               "and '-'", s && s->key ? s->key : "(null)");
        return ORCHARD_EINVAL;
    }
    if ((unsigned)s->type > ORCHARD_SETTING_BYTES) {
        *why = g_strdup_printf("setting %s has an unknown type %d", s->key, (int)s->type);
        return ORCHARD_EINVAL;
    }
    if (s->default_value && orchard_setting_check_value(s->type, s->default_value, &bad)) {
        *why = g_strdup_printf("setting %s: its default \"%s\" %s", s->key, s->default_value,
                               bad);
        return ORCHARD_EINVAL;
    }
    return 0;
}

/* The owner of `name` among the declared and `batch` (this call's so far). */
static const char *taken_by(const char *name, GHashTable *batch, orchard_ctx *ctx)
{
    const orchard_decl *d = g_hash_table_lookup(S.by_name, name);
    if (d)
        return orchard_ctx_name(d->owner);
    return g_hash_table_contains(batch, name) ? orchard_ctx_name(ctx) : NULL;
}

static orchard_decl *decl_new(orchard_ctx *ctx, const orchard_setting *s)
{
    orchard_decl *d = g_new0(orchard_decl, 1);
    GStrvBuilder *b = g_strv_builder_new();
    d->s = s;
    d->owner = ctx;
    g_strv_builder_add(b, s->key);
    if (s->aliases) {
        g_auto(GStrv) aliases = g_strsplit(s->aliases, "|", -1);
        for (char **a = aliases; *a; a++)
            if (**a)
                g_strv_builder_add(b, *a);
    }
    d->names = g_strv_builder_end(b);
    g_strv_builder_unref(b);
    return d;
}

static void decl_free(gpointer p)
{
    orchard_decl *d = p;
    g_strfreev(d->names);
    g_free(d);
}

/* Check a whole batch; the new decls come back in `out`. S.lock held. */
static int check_batch(orchard_ctx *ctx, const orchard_setting *const *settings, size_t n,
                       GPtrArray *out, char **error_msg)
{
    g_autoptr(GHashTable) batch = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t i = 0; i < n; i++) {
        int rc = check_decl(settings ? settings[i] : NULL, error_msg);
        if (rc)
            return rc;
        orchard_decl *d = decl_new(ctx, settings[i]);
        g_ptr_array_add(out, d);
        for (size_t k = 0; d->names[k]; k++) {
            const char *owner = taken_by(d->names[k], batch, ctx);
            if (owner) {
                *error_msg = g_strdup_printf("setting %s%s%s is already declared by %s",
                                             d->names[k], k ? ", an alias of " : "",
                                             k ? d->s->key : "", owner);
                return ORCHARD_EEXIST;
            }
            if (k && !valid_key(d->names[k])) {
                *error_msg = g_strdup_printf("setting %s: alias '%s' is not a key",
                                             d->s->key, d->names[k]);
                return ORCHARD_EINVAL;
            }
            g_hash_table_add(batch, d->names[k]);
        }
    }
    return 0;
}

int orchard_settings_add_owner(orchard_ctx *ctx, const orchard_setting *const *settings,
                               size_t n, char **error_msg)
{
    GPtrArray *fresh = g_ptr_array_new();
    g_mutex_lock(&S.lock);
    ensure_tables();
    int rc = check_batch(ctx, settings, n, fresh, error_msg);
    if (rc == 0) {
        g_rw_lock_writer_lock(&S.rw);
        for (guint i = 0; i < fresh->len; i++) {
            orchard_decl *d = g_ptr_array_index(fresh, i);
            g_ptr_array_add(S.decls, d);
            for (size_t k = 0; d->names[k]; k++)
                g_hash_table_insert(S.by_name, d->names[k], d);
        }
        g_rw_lock_writer_unlock(&S.rw);
        rebuild(); /* the new keys' environment and defaults */
    } else {
        g_ptr_array_foreach(fresh, (GFunc)(void (*)(void))decl_free, NULL);
    }
    g_mutex_unlock(&S.lock);
    g_ptr_array_unref(fresh);
    return rc;
}

void orchard_settings_forget_owner(orchard_ctx *ctx)
{
    g_mutex_lock(&S.lock);
    g_rw_lock_writer_lock(&S.rw);
    for (guint i = S.decls ? S.decls->len : 0; i > 0; i--) {
        orchard_decl *d = g_ptr_array_index(S.decls, i - 1);
        if (d->owner != ctx)
            continue;
        for (size_t k = 0; d->names[k]; k++)
            g_hash_table_remove(S.by_name, d->names[k]);
        g_ptr_array_remove_index(S.decls, i - 1);
        decl_free(d);
    }
    g_rw_lock_writer_unlock(&S.rw);
    g_mutex_unlock(&S.lock);
}

const orchard_setting *orchard_settings_find(const char *key, const char **owner)
{
    const orchard_setting *s = NULL;
    g_rw_lock_reader_lock(&S.rw);
    const orchard_decl *d = S.by_name && key ? g_hash_table_lookup(S.by_name, key) : NULL;
    if (d) {
        s = d->s;
        if (owner)
            *owner = orchard_ctx_name(d->owner);
    }
    g_rw_lock_reader_unlock(&S.rw);
    return s;
}

/* --- the file */

static int read_file(const char *path, orchard_config **out, char **error_msg)
{
    *out = NULL;
    if (!path)
        return 0;
    orchard_config *cfg = orchard_config_new();
    int rc = orchard_config_load_file(cfg, path, error_msg);
    if (rc) {
        orchard_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

/* Make `file` (may be NULL) the one in force. S.lock held. */
static void adopt_file(orchard_config *file, const char *path)
{
    if (file)
        g_ptr_array_add(S.files, file);
    S.file = file;
    /* Readers borrow S.path (orchard_settings_file): keep it when the same. */
    if (g_strcmp0(path, S.path) != 0) {
        g_free(S.path);
        S.path = g_strdup(path);
    }
}

int orchard_settings_load(const char *path, char **error_msg)
{
    orchard_config *file = NULL;
    int rc = read_file(path, &file, error_msg);
    if (rc)
        return rc;
    g_mutex_lock(&S.lock);
    ensure_tables();
    adopt_file(file, path);
    rebuild();
    g_mutex_unlock(&S.lock);
    return 0;
}

/* "F: <first error> (and 2 more errors)". g_free. */
static char *errors_summary(const GPtrArray *problems)
{
    guint n = orchard_settings_count(problems, ORCHARD_PROBLEM_ERROR);
    for (guint i = 0; i < problems->len; i++) {
        const orchard_settings_problem *p = g_ptr_array_index(problems, i);
        if (p->level == ORCHARD_PROBLEM_ERROR)
            return n > 1 ? g_strdup_printf("%s (and %u more errors)", p->message, n - 1)
                         : g_strdup(p->message);
    }
    return g_strdup("invalid settings");
}

static void log_warnings(const GPtrArray *problems)
{
    for (guint i = 0; i < problems->len; i++) {
        const orchard_settings_problem *p = g_ptr_array_index(problems, i);
        if (p->level == ORCHARD_PROBLEM_WARNING)
            orchard_warn(COMPONENT, "%s", p->message);
    }
}

/* Build from `path` and swap when nothing is wrong; *changed gets the keys
 * that changed. S.lock held. */
static int try_reload(const char *path, GPtrArray **changed, char **error_msg)
{
    orchard_config *file = NULL;
    int rc = read_file(path, &file, error_msg);
    if (rc)
        return rc;
    /* A reload starts from the file: run-time overrides end here. */
    GHashTable *runtime = g_hash_table_new(g_str_hash, g_str_equal);
    snapshot *snap = build(file, path, runtime);
    g_hash_table_destroy(runtime);
    if (orchard_settings_count(snap->problems, ORCHARD_PROBLEM_ERROR)) {
        *error_msg = errors_summary(snap->problems);
        snapshot_free(snap);
        orchard_config_free(file);
        return ORCHARD_EINVAL;
    }
    g_hash_table_remove_all(S.runtime);
    adopt_file(file, path);
    *changed = changed_keys(S.current, snap);
    log_warnings(snap->problems);
    swap(snap);
    return 0;
}

int orchard_settings_reload(char **error_msg)
{
    GPtrArray *changed = NULL;
    g_mutex_lock(&S.lock);
    ensure_tables();
    g_autofree char *path = g_strdup(S.path);
    int rc = try_reload(path, &changed, error_msg);
    g_mutex_unlock(&S.lock);
    if (rc) {
        orchard_warn(COMPONENT, "reload refused, the settings in force stay: %s", *error_msg);
        return rc;
    }
    GString *list = g_string_new(NULL);
    for (guint i = 0; i < changed->len; i++)
        g_string_append_printf(list, "%s%s", i ? ", " : "changed ",
                               (const char *)g_ptr_array_index(changed, i));
    orchard_info(COMPONENT, "reloaded %s: %s", path ? path : "the environment",
                 changed->len ? list->str : "nothing changed");
    g_string_free(list, TRUE);
    announce(changed);
    g_ptr_array_unref(changed);
    return 0;
}

void orchard_settings_set_cli(const char *key, const char *value)
{
    g_mutex_lock(&S.lock);
    ensure_tables();
    if (value)
        g_hash_table_replace(S.cli, g_strdup(key), (gpointer)intern(value));
    else
        g_hash_table_remove(S.cli, key);
    rebuild();
    g_mutex_unlock(&S.lock);
}

const char *orchard_settings_file(void) { return S.path; }

const GPtrArray *orchard_settings_list(const char *key)
{
    g_rw_lock_reader_lock(&S.rw);
    const orchard_decl *d = S.by_name ? g_hash_table_lookup(S.by_name, key) : NULL;
    const GPtrArray *list =
        S.current ? g_hash_table_lookup(S.current->lists, d ? d->s->key : key) : NULL;
    g_rw_lock_reader_unlock(&S.rw);
    return list;
}

void orchard_settings_shutdown(void)
{
    g_mutex_lock(&S.lock);
    g_rw_lock_writer_lock(&S.rw);
    snapshot_free(S.current);
    S.current = NULL;
    if (S.decls) {
        g_ptr_array_foreach(S.decls, (GFunc)(void (*)(void))decl_free, NULL);
        g_clear_pointer(&S.decls, g_ptr_array_unref);
        g_clear_pointer(&S.by_name, g_hash_table_destroy);
        g_clear_pointer(&S.files, g_ptr_array_unref);
        g_clear_pointer(&S.cli, g_hash_table_destroy);
        g_clear_pointer(&S.runtime, g_hash_table_destroy);
    }
    S.file = NULL;
    g_clear_pointer(&S.path, g_free);
    g_rw_lock_writer_unlock(&S.rw);
    g_mutex_unlock(&S.lock);
    g_mutex_lock(&S.pool_lock);
    g_clear_pointer(&S.pool, g_hash_table_destroy);
    g_clear_pointer(&S.noted, g_hash_table_destroy);
    g_mutex_unlock(&S.pool_lock);
}

/* --- readers */

/* Log once that `key` was read without a declaration: other helpers are
 * still moving their keys to declarations, and a typo'd key looks the same. */
static void note_undeclared(orchard_ctx *ctx, const char *key)
{
    g_mutex_lock(&S.pool_lock);
    if (!S.noted)
        S.noted = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int first = g_hash_table_add(S.noted, g_strdup(key));
    g_mutex_unlock(&S.pool_lock);
    if (first)
        orchard_debug(COMPONENT, "%s reads %s, which no plugin declares", orchard_ctx_name(ctx),
                      key);
}

/* The value of `key` in the snapshot in force: *decl (NULL when undeclared)
 * and the set value or NULL; *present says whether a layer named the key
 * at all (an empty value is present and unset). */
static const char *lookup(const char *key, const orchard_setting **decl, int *present)
{
    const char *v = NULL;
    *decl = NULL;
    *present = 0;
    if (!key)
        return NULL;
    g_rw_lock_reader_lock(&S.rw);
    const orchard_decl *d = S.by_name ? g_hash_table_lookup(S.by_name, key) : NULL;
    const orchard_resolved *r =
        S.current ? g_hash_table_lookup(S.current->values, d ? d->s->key : key) : NULL;
    if (r) {
        v = r->value;
        *present = 1;
    }
    if (d)
        *decl = d->s;
    g_rw_lock_reader_unlock(&S.rw);
    return v;
}

/* The set value of `key` (declared or not), no default. */
static const char *raw(orchard_ctx *ctx, const char *key, const orchard_setting **decl)
{
    int present;
    const char *v = lookup(key, decl, &present);
    if (*decl || !key)
        return v;
    note_undeclared(ctx, key);
    if (!v && !present) {
        /* Undeclared keys set only in the environment are not in the snapshot. */
        char *names[] = {(char *)key, NULL};
        const char *origin;
        if (from_env(names, &v, &origin))
            v = *v ? intern(v) : NULL;
    }
    return v;
}

const char *orchard_settings_raw(const char *key)
{
    const orchard_setting *s;
    return raw(NULL, key, &s);
}

const char *orchard_settings_string(orchard_ctx *ctx, const char *key)
{
    const orchard_setting *s;
    const char *v = raw(ctx, key, &s);
    return v || !s ? v : s->default_value;
}

/* The text of a declared key for a typed getter. */
static int typed_text(orchard_ctx *ctx, const char *key, const char **text)
{
    const orchard_setting *s;
    int present;
    const char *v = lookup(key, &s, &present);
    if (!s) {
        if (key)
            note_undeclared(ctx, key);
        return ORCHARD_ENOTFOUND;
    }
    *text = v ? v : s->default_value;
    return *text ? 0 : ORCHARD_ENOTCONFIGURED;
}

int orchard_settings_bool(orchard_ctx *ctx, const char *key, int *out)
{
    const char *t;
    int rc = typed_text(ctx, key, &t);
    return rc ? rc : orchard_parse_bool(t, out);
}

int orchard_settings_int(orchard_ctx *ctx, const char *key, int64_t *out)
{
    const char *t;
    int rc = typed_text(ctx, key, &t);
    return rc ? rc : orchard_parse_int(t, out);
}

int orchard_settings_duration(orchard_ctx *ctx, const char *key, int64_t *out_ms)
{
    const char *t;
    int rc = typed_text(ctx, key, &t);
    return rc ? rc : orchard_parse_duration_ms(t, out_ms);
}

int orchard_settings_bytes(orchard_ctx *ctx, const char *key, uint64_t *out)
{
    const char *t;
    int rc = typed_text(ctx, key, &t);
    return rc ? rc : orchard_parse_bytes(t, out);
}

const char *orchard_settings_path(orchard_ctx *ctx, const char *key)
{
    const char *t;
    if (typed_text(ctx, key, &t) || orchard_setting_check_value(ORCHARD_SETTING_PATH, t, NULL))
        return NULL;
    return t;
}

int orchard_settings_override(orchard_ctx *ctx, const char *key, const char *value)
{
    const orchard_setting *s = orchard_settings_find(key, NULL);
    g_autofree char *why = NULL;
    if (!s)
        return ORCHARD_ENOTFOUND;
    if (value && *value && orchard_setting_check_value(s->type, value, &why)) {
        orchard_ctx_log(ctx, ORCHARD_LOG_WARNING, "override of %s refused: \"%s\" %s", s->key,
                        (s->flags & ORCHARD_SETTING_SECRET) ? "(secret)" : value, why);
        return ORCHARD_EINVAL;
    }
    g_mutex_lock(&S.lock);
    if (value)
        g_hash_table_replace(S.runtime, g_strdup(s->key), (gpointer)intern(value));
    else
        g_hash_table_remove(S.runtime, s->key);
    snapshot *snap = build(S.file, S.path, S.runtime);
    GPtrArray *changed = changed_keys(S.current, snap);
    swap(snap);
    g_mutex_unlock(&S.lock);
    orchard_info(COMPONENT, "%s set %s at run time", orchard_ctx_name(ctx), s->key);
    announce(changed);
    g_ptr_array_unref(changed);
    return 0;
}

uint64_t orchard_settings_generation(orchard_ctx *ctx)
{
    (void)ctx;
    return (uint64_t)atomic_load(&S.generation);
}

/* --- for `config check` */

static gpointer problem_copy(gconstpointer src, gpointer unused)
{
    const orchard_settings_problem *p = src;
    orchard_settings_problem *c = g_new(orchard_settings_problem, 1);
    (void)unused;
    c->level = p->level;
    c->key = g_strdup(p->key);
    c->message = g_strdup(p->message);
    c->unknown = p->unknown;
    return c;
}

GPtrArray *orchard_settings_problems(void)
{
    GPtrArray *out;
    g_rw_lock_reader_lock(&S.rw);
    if (S.current) {
        out = g_ptr_array_copy(S.current->problems, problem_copy, NULL);
        g_ptr_array_set_free_func(out, orchard_settings_problem_free);
    } else {
        out = g_ptr_array_new_with_free_func(orchard_settings_problem_free);
    }
    g_rw_lock_reader_unlock(&S.rw);
    return out;
}

guint orchard_settings_count(const GPtrArray *problems, orchard_problem_level level)
{
    guint n = 0;
    for (guint i = 0; problems && i < problems->len; i++)
        n += ((const orchard_settings_problem *)g_ptr_array_index(problems, i))->level == level;
    return n;
}

static gint by_key(gconstpointer a, gconstpointer b)
{
    const orchard_setting_effective *x = *(orchard_setting_effective *const *)a;
    const orchard_setting_effective *y = *(orchard_setting_effective *const *)b;
    return strcmp(x->decl->key, y->decl->key);
}

GPtrArray *orchard_settings_effective(void)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    g_rw_lock_reader_lock(&S.rw);
    for (guint i = 0; S.decls && S.current && i < S.decls->len; i++) {
        const orchard_decl *d = g_ptr_array_index(S.decls, i);
        const orchard_resolved *r = g_hash_table_lookup(S.current->values, d->s->key);
        orchard_setting_effective *e = g_new0(orchard_setting_effective, 1);
        e->decl = d->s;
        e->owner = orchard_ctx_name(d->owner);
        e->value = r && r->value ? r->value : d->s->default_value;
        e->is_default = !(r && r->value);
        e->origin = r && r->value ? r->origin : "the default";
        if (d->s->flags & ORCHARD_SETTING_HOST_LIST) {
            e->list = g_hash_table_lookup(S.current->lists, d->s->key);
            e->is_default = e->is_default && !e->list;
        }
        g_ptr_array_add(out, e);
    }
    g_rw_lock_reader_unlock(&S.rw);
    g_ptr_array_sort(out, by_key);
    return out;
}
