/* YAML configuration files, flattened (see config.h). Read at start by every
 * command and again on reload; host/settings.c turns the file, the
 * environment and the command line into the snapshot plugins read. */
#include "host/config.h"

#include "host/settings.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <orchard/plugin.h>
#include <string.h>
#include <yaml.h>

#define CONFIG_MAX_BYTES (1u << 20)
#define CONFIG_MAX_DEPTH 16

struct orchard_config {
    GHashTable *values; /* char* key -> char* value */
    GHashTable *lists;  /* char* key -> GPtrArray of char* */
    GHashTable *shapes; /* char* key -> shape | line << 2 */
    GPtrArray *order;   /* char* keys of values, lists and empty sections, file order */
    GPtrArray *dups;    /* char* keys given twice */
    GHashTable *env;    /* char* key -> char* value, cached env lookups */
    GHashTable *cli;    /* char* key -> char* value, command-line overrides */
    GPtrArray *retired; /* replaced command-line values, kept for borrowers */
    GMutex lock;
    char *path;
    int global; /* the process-wide view of the settings snapshot */
};

static GHashTable *str_table(GDestroyNotify value_free)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, value_free);
}

orchard_config *orchard_config_new(void)
{
    orchard_config *cfg = g_new0(orchard_config, 1);
    cfg->values = str_table(g_free);
    cfg->lists = str_table((GDestroyNotify)g_ptr_array_unref);
    cfg->shapes = str_table(NULL);
    cfg->order = g_ptr_array_new_with_free_func(g_free);
    cfg->dups = g_ptr_array_new_with_free_func(g_free);
    cfg->env = str_table(g_free);
    cfg->cli = str_table(NULL);
    cfg->retired = g_ptr_array_new_with_free_func(g_free);
    g_mutex_init(&cfg->lock);
    return cfg;
}

void orchard_config_free(orchard_config *cfg)
{
    if (!cfg || cfg->global)
        return;
    g_hash_table_destroy(cfg->values);
    g_hash_table_destroy(cfg->lists);
    g_hash_table_destroy(cfg->shapes);
    g_ptr_array_unref(cfg->order);
    g_ptr_array_unref(cfg->dups);
    g_hash_table_destroy(cfg->env);
    g_hash_table_destroy(cfg->cli); /* its values are all in retired */
    g_ptr_array_unref(cfg->retired);
    g_mutex_clear(&cfg->lock);
    g_free(cfg->path);
    g_free(cfg);
}

char *orchard_config_env_name_with(const char *prefix, const char *key)
{
    GString *s = g_string_new(prefix);
    for (const char *p = key; *p; p++)
        g_string_append_c(s, (*p == '.' || *p == '-') ? '_' : g_ascii_toupper(*p));
    return g_string_free(s, FALSE);
}

char *orchard_config_env_name(const char *key)
{
    return orchard_config_env_name_with("ORCHARD_", key);
}

void orchard_config_set(orchard_config *cfg, const char *key, const char *value)
{
    if (cfg->global) {
        orchard_settings_set_cli(key, value);
        return;
    }
    char *copy = g_strdup(value);
    g_mutex_lock(&cfg->lock);
    if (copy)
        g_ptr_array_add(cfg->retired, copy);
    g_hash_table_replace(cfg->cli, g_strdup(key), copy);
    g_mutex_unlock(&cfg->lock);
}

const char *orchard_config_get(orchard_config *cfg, const char *key)
{
    const char *value;

    if (cfg->global)
        return orchard_settings_raw(key);
    g_mutex_lock(&cfg->lock);
    value = g_hash_table_lookup(cfg->cli, key);
    if (!value)
        value = g_hash_table_lookup(cfg->env, key);
    if (!value) {
        g_autofree char *name = orchard_config_env_name(key);
        const char *env = g_getenv(name);
        if (env) {
            /* Cached so the returned pointer stays valid for the process. */
            value = g_strdup(env);
            g_hash_table_insert(cfg->env, g_strdup(key), (char *)value);
        }
    }
    if (!value)
        value = g_hash_table_lookup(cfg->values, key);
    g_mutex_unlock(&cfg->lock);
    return value;
}

static const GPtrArray *empty_list(void)
{
    static GPtrArray *empty;
    if (g_once_init_enter(&empty))
        g_once_init_leave(&empty, g_ptr_array_new());
    return empty;
}

const GPtrArray *orchard_config_get_list(const orchard_config *cfg, const char *key)
{
    const GPtrArray *list = cfg->global ? orchard_settings_list(key)
                                        : g_hash_table_lookup(cfg->lists, key);
    return list ? list : empty_list();
}

const char *orchard_config_file_value(const orchard_config *cfg, const char *key)
{
    return cfg->global ? NULL : g_hash_table_lookup(cfg->values, key);
}

orchard_config_shape orchard_config_shape_of(const orchard_config *cfg, const char *key,
                                             unsigned *line)
{
    gpointer packed = NULL;
    if (!cfg->global)
        g_hash_table_lookup_extended(cfg->shapes, key, NULL, &packed);
    guint v = GPOINTER_TO_UINT(packed);
    if (line)
        *line = v >> 2;
    return (orchard_config_shape)(v & 3);
}

GPtrArray *orchard_config_keys(const orchard_config *cfg)
{
    GPtrArray *keys = g_ptr_array_new();
    for (guint i = 0; !cfg->global && i < cfg->order->len; i++)
        g_ptr_array_add(keys, g_ptr_array_index(cfg->order, i));
    return keys;
}

const GPtrArray *orchard_config_duplicates(const orchard_config *cfg)
{
    return cfg->global ? empty_list() : cfg->dups;
}

const char *orchard_config_path(const orchard_config *cfg)
{
    return cfg->global ? orchard_settings_file() : cfg->path;
}

/* --- parsing: a recursive walk over libyaml's document tree into a fresh
 * orchard_config, merged into the target only when the whole file is good */

typedef struct {
    yaml_document_t *doc;
    orchard_config *into;
    char *error;
} walk_state;

static int walk(walk_state *st, yaml_node_t *node, const char *prefix, int depth);

/* Remember what `key` holds and where; a key seen before is a duplicate. */
static void record(walk_state *st, const char *key, orchard_config_shape shape,
                   const yaml_node_t *node, int leaf)
{
    guint packed = (guint)shape | ((guint)node->start_mark.line + 1) << 2;
    if (g_hash_table_contains(st->into->shapes, key))
        g_ptr_array_add(st->into->dups, g_strdup(key));
    else if (leaf)
        g_ptr_array_add(st->into->order, g_strdup(key));
    g_hash_table_replace(st->into->shapes, g_strdup(key), GUINT_TO_POINTER(packed));
}

static int walk_mapping(walk_state *st, yaml_node_t *node, const char *prefix, int depth)
{
    int empty = node->data.mapping.pairs.start == node->data.mapping.pairs.top;
    if (prefix)
        record(st, prefix, ORCHARD_CONFIG_SECTION, node, empty);
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(st->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(st->doc, p->value);
        if (!k || k->type != YAML_SCALAR_NODE) {
            st->error = g_strdup_printf("line %lu: a key must be a plain string",
                                        k ? (unsigned long)k->start_mark.line + 1 : 0ul);
            return ORCHARD_EINVAL;
        }
        g_autofree char *key = prefix
            ? g_strdup_printf("%s.%s", prefix, (const char *)k->data.scalar.value)
            : g_strdup((const char *)k->data.scalar.value);
        int rc = walk(st, v, key, depth + 1);
        if (rc)
            return rc;
    }
    return 0;
}

static int walk_sequence(walk_state *st, yaml_node_t *node, const char *key)
{
    GPtrArray *list = g_ptr_array_new_with_free_func(g_free);
    for (yaml_node_item_t *it = node->data.sequence.items.start;
         it < node->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node(st->doc, *it);
        if (!item || item->type != YAML_SCALAR_NODE) {
            st->error = g_strdup_printf("%s: list items must be plain values", key);
            g_ptr_array_unref(list);
            return ORCHARD_EINVAL;
        }
        g_ptr_array_add(list, g_strndup((const char *)item->data.scalar.value,
                                        item->data.scalar.length));
    }
    record(st, key, ORCHARD_CONFIG_LIST, node, 1);
    g_hash_table_remove(st->into->values, key);
    g_hash_table_replace(st->into->lists, g_strdup(key), list);
    return 0;
}

static int walk(walk_state *st, yaml_node_t *node, const char *prefix, int depth)
{
    if (!node)
        return 0;
    if (depth > CONFIG_MAX_DEPTH) {
        st->error = g_strdup_printf("%s: nested deeper than %d levels", prefix, CONFIG_MAX_DEPTH);
        return ORCHARD_ETOOBIG;
    }
    if (!prefix && node->type != YAML_MAPPING_NODE) {
        st->error = g_strdup("the top level must be a mapping of sections");
        return ORCHARD_EINVAL;
    }
    switch (node->type) {
    case YAML_MAPPING_NODE:
        return walk_mapping(st, node, prefix, depth);
    case YAML_SEQUENCE_NODE:
        return walk_sequence(st, node, prefix);
    case YAML_SCALAR_NODE:
        record(st, prefix, ORCHARD_CONFIG_VALUE, node, 1);
        g_hash_table_remove(st->into->lists, prefix);
        g_hash_table_replace(st->into->values, g_strdup(prefix),
                             g_strndup((const char *)node->data.scalar.value,
                                       node->data.scalar.length));
        return 0;
    default:
        return 0;
    }
}

/* Move every entry of `from` into `into`; `other` loses the keys that moved
 * (a key is a value or a list, never both). */
static void merge(GHashTable *into, GHashTable *from, GHashTable *other)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, from);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_hash_table_iter_steal(&it);
        if (other)
            g_hash_table_remove(other, k);
        g_hash_table_replace(into, k, v);
    }
}

static void merge_keys(GPtrArray *into, GPtrArray *from, GHashTable *known)
{
    for (guint i = 0; i < from->len; i++) {
        const char *k = g_ptr_array_index(from, i);
        if (!known || !g_hash_table_contains(known, k))
            g_ptr_array_add(into, g_strdup(k));
    }
}

static void merge_into(orchard_config *cfg, orchard_config *parsed)
{
    merge_keys(cfg->order, parsed->order, cfg->shapes);
    merge_keys(cfg->dups, parsed->dups, NULL);
    merge(cfg->values, parsed->values, cfg->lists);
    merge(cfg->lists, parsed->lists, cfg->values);
    merge(cfg->shapes, parsed->shapes, NULL);
}

static int parse_document(yaml_document_t *doc, orchard_config *into, char **error)
{
    walk_state st = {doc, into, NULL};
    yaml_node_t *root = yaml_document_get_root_node(doc);
    int rc = root ? walk(&st, root, NULL, 0) : 0;
    *error = st.error;
    return rc;
}

int orchard_config_load_string(orchard_config *cfg, const char *yaml, size_t len,
                               const char *origin, char **error_msg)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    char *why = NULL;

    if (cfg->global)
        return ORCHARD_EINVAL; /* the process-wide view loads through settings */
    if (len > CONFIG_MAX_BYTES) {
        *error_msg = g_strdup_printf("%s: larger than %u bytes", origin, CONFIG_MAX_BYTES);
        return ORCHARD_ETOOBIG;
    }
    if (!yaml_parser_initialize(&parser))
        return ORCHARD_ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        *error_msg = g_strdup_printf("%s:%lu:%lu: %s", origin,
                                     (unsigned long)parser.problem_mark.line + 1,
                                     (unsigned long)parser.problem_mark.column + 1,
                                     parser.problem ? parser.problem : "invalid YAML");
        yaml_parser_delete(&parser);
        return ORCHARD_EINVAL;
    }
    orchard_config *parsed = orchard_config_new();
    int rc = parse_document(&doc, parsed, &why);
    if (rc == 0)
        merge_into(cfg, parsed);
    else
        *error_msg = g_strdup_printf("%s: %s", origin, why ? why : "invalid");
    g_free(why);
    orchard_config_free(parsed);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

int orchard_config_load_file(orchard_config *cfg, const char *path, char **error_msg)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    g_autoptr(GError) err = NULL;
    GStatBuf sb;

    if (cfg->global)
        return orchard_settings_load(path, error_msg);
    if (g_stat(path, &sb) != 0) {
        int e = errno;
        *error_msg = g_strdup_printf("%s: %s", path, g_strerror(e));
        return e == ENOENT ? ORCHARD_ENOTFOUND : ORCHARD_EIO;
    }
    if (!S_ISREG(sb.st_mode)) {
        *error_msg = g_strdup_printf("%s: not a file", path);
        return ORCHARD_EINVAL;
    }
    if (sb.st_size > (goffset)CONFIG_MAX_BYTES) {
        *error_msg = g_strdup_printf("%s: larger than %u bytes", path, CONFIG_MAX_BYTES);
        return ORCHARD_ETOOBIG;
    }
    if (!g_file_get_contents(path, &text, &len, &err)) {
        /* GLib's message quotes the path in curly quotes; lead with the
         * path like every other message, and keep the cause. */
        *error_msg = g_strdup_printf("%s: cannot read it: %s", path,
                                     err->code == G_FILE_ERROR_ACCES ? g_strerror(EACCES)
                                                                      : err->message);
        return ORCHARD_EIO;
    }
    int rc = orchard_config_load_string(cfg, text, len, path, error_msg);
    if (rc == 0) {
        g_free(cfg->path);
        cfg->path = g_strdup(path);
    }
    return rc;
}

orchard_config *orchard_config_global(void)
{
    static orchard_config *global;
    if (g_once_init_enter(&global)) {
        orchard_config *g = g_new0(orchard_config, 1);
        g->global = 1;
        g_once_init_leave(&global, g);
    }
    return global;
}
