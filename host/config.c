/* YAML configuration, flattened. Read once at start by every command; plugins
 * see it through orchard_host_api.config_get. */
#include "host/config.h"

#include "host/log.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <yaml.h>

#define CONFIG_MAX_BYTES (1u << 20)
#define CONFIG_MAX_DEPTH 16

struct orchard_config {
    GHashTable *values; /* char* key -> char* value */
    GHashTable *lists;  /* char* key -> GPtrArray of char* */
    GHashTable *env;    /* char* key -> char* value, cached env lookups */
    GHashTable *cli;    /* char* key -> char* value, command-line overrides */
    GPtrArray *retired; /* replaced command-line values, kept for borrowers */
    GMutex lock;
    char *path;
};

orchard_config *orchard_config_new(void)
{
    orchard_config *cfg = g_new0(orchard_config, 1);
    cfg->values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    cfg->lists = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify)g_ptr_array_unref);
    cfg->env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    cfg->cli = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    cfg->retired = g_ptr_array_new_with_free_func(g_free);
    g_mutex_init(&cfg->lock);
    return cfg;
}

void orchard_config_free(orchard_config *cfg)
{
    if (!cfg)
        return;
    g_hash_table_destroy(cfg->values);
    g_hash_table_destroy(cfg->lists);
    g_hash_table_destroy(cfg->env);
    g_hash_table_destroy(cfg->cli); /* its values are all in retired */
    g_ptr_array_unref(cfg->retired);
    g_mutex_clear(&cfg->lock);
    g_free(cfg->path);
    g_free(cfg);
}

char *orchard_config_env_name(const char *key)
{
    GString *s = g_string_new("ORCHARD_");
    for (const char *p = key; *p; p++)
        g_string_append_c(s, (*p == '.' || *p == '-') ? '_' : g_ascii_toupper(*p));
    return g_string_free(s, FALSE);
}

void orchard_config_set(orchard_config *cfg, const char *key, const char *value)
{
    char *copy = g_strdup(value);
    g_mutex_lock(&cfg->lock);
    g_ptr_array_add(cfg->retired, copy);
    g_hash_table_replace(cfg->cli, g_strdup(key), copy);
    g_mutex_unlock(&cfg->lock);
}

const char *orchard_config_get(orchard_config *cfg, const char *key)
{
    const char *value;

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

const GPtrArray *orchard_config_get_list(const orchard_config *cfg, const char *key)
{
    static GPtrArray *empty;
    const GPtrArray *list = g_hash_table_lookup(cfg->lists, key);
    if (list)
        return list;
    if (g_once_init_enter(&empty))
        g_once_init_leave(&empty, g_ptr_array_new());
    return empty;
}

const char *orchard_config_path(const orchard_config *cfg) { return cfg->path; }

/* --- parsing: a recursive walk over libyaml's document tree */

typedef struct {
    yaml_document_t *doc;
    GHashTable *values;
    GHashTable *lists;
    char *error;
} walk_state;

static int walk(walk_state *st, yaml_node_t *node, const char *prefix, int depth);

static int walk_mapping(walk_state *st, yaml_node_t *node, const char *prefix, int depth)
{
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
        g_ptr_array_add(list, g_strdup((const char *)item->data.scalar.value));
    }
    g_hash_table_replace(st->lists, g_strdup(key), list);
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
    switch (node->type) {
    case YAML_MAPPING_NODE:
        return walk_mapping(st, node, prefix, depth);
    case YAML_SEQUENCE_NODE:
        if (!prefix) {
            st->error = g_strdup("the top level must be a mapping of sections");
            return ORCHARD_EINVAL;
        }
        return walk_sequence(st, node, prefix);
    case YAML_SCALAR_NODE:
        if (!prefix) {
            st->error = g_strdup("the top level must be a mapping of sections");
            return ORCHARD_EINVAL;
        }
        g_hash_table_replace(st->values, g_strdup(prefix),
                             g_strndup((const char *)node->data.scalar.value,
                                       node->data.scalar.length));
        return 0;
    default:
        return 0;
    }
}

static void merge(GHashTable *into, GHashTable *from)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, from);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_hash_table_iter_steal(&it);
        g_hash_table_replace(into, k, v);
    }
}

int orchard_config_load_string(orchard_config *cfg, const char *yaml, size_t len,
                               const char *origin, char **error_msg)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = 0;
    walk_state st = {0};

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
    st.doc = &doc;
    st.values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    st.lists = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify)g_ptr_array_unref);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && root->type != YAML_MAPPING_NODE) {
        st.error = g_strdup("the top level must be a mapping of sections");
        rc = ORCHARD_EINVAL;
    } else if (root) {
        rc = walk(&st, root, NULL, 0);
    }
    if (rc == 0) {
        merge(cfg->values, st.values);
        merge(cfg->lists, st.lists);
    } else {
        *error_msg = g_strdup_printf("%s: %s", origin, st.error ? st.error : "invalid");
    }
    g_free(st.error);
    g_hash_table_destroy(st.values);
    g_hash_table_destroy(st.lists);
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

    if (g_stat(path, &sb) != 0) {
        *error_msg = g_strdup_printf("%s: %s", path, g_strerror(errno));
        return errno == ENOENT ? ORCHARD_ENOTFOUND : ORCHARD_EIO;
    }
    if (sb.st_size > (goffset)CONFIG_MAX_BYTES) {
        *error_msg = g_strdup_printf("%s: larger than %u bytes", path, CONFIG_MAX_BYTES);
        return ORCHARD_ETOOBIG;
    }
    if (!g_file_get_contents(path, &text, &len, &err)) {
        *error_msg = g_strdup_printf("%s", err->message);
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
    if (g_once_init_enter(&global))
        g_once_init_leave(&global, orchard_config_new());
    return global;
}
