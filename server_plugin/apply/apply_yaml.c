/* Spec files as `orchard apply` reads them: YAML documents in Fleet's shapes
 * (apiVersion v1; kind config or team) turned into orchard_apply_doc, every
 * refusal naming the file and line. A first pass over libyaml's events
 * refuses aliases and caps nesting and size before any tree is built, so a
 * few hostile bytes never become millions of nodes (apply_spec.h). */
#include "server_plugin/apply/apply_spec.h"

#include <orchard/plugin.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

void orchard_apply_doc_free(orchard_apply_doc *d)
{
    if (!d)
        return;
    g_free(d->file);
    g_free(d->team_name);
    g_free(d->minimum_version);
    g_free(d->deadline);
    if (d->paths)
        g_ptr_array_unref(d->paths);
    if (d->path_lines)
        g_array_unref(d->path_lines);
    if (d->profiles)
        g_ptr_array_unref(d->profiles);
    if (d->names)
        g_ptr_array_unref(d->names);
    g_free(d);
}

/* What one parse carries: the file for messages, the first refusal. */
typedef struct {
    const char *file, *base_dir;
    yaml_document_t *doc;
    char *reason;
} walk;

static int refuse(walk *w, const yaml_node_t *n, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int refuse(walk *w, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!w->reason)
        w->reason = g_strdup_printf("%s:%zu: %s", w->file, n ? n->start_mark.line + 1 : 0, msg);
    return ORCHARD_EINVAL;
}

/* ---- pass 1: the events ------------------------------------------------------- */

static int prescan(walk *w, const char *yaml, size_t len)
{
    yaml_parser_t p;
    yaml_event_t e;
    int depth = 0, rc = 0;
    long events = 0;
    if (!yaml_parser_initialize(&p))
        return ORCHARD_ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
    for (;;) {
        if (!yaml_parser_parse(&p, &e)) {
            w->reason = g_strdup_printf("%s:%zu: not YAML: %s", w->file, p.problem_mark.line + 1,
                                        p.problem ? p.problem : "syntax error");
            rc = ORCHARD_EINVAL;
            break;
        }
        yaml_event_type_t t = e.type;
        size_t line = e.start_mark.line + 1;
        yaml_event_delete(&e);
        if (t == YAML_STREAM_END_EVENT)
            break;
        if (++events > ORCHARD_APPLY_EVENTS_MAX) {
            w->reason = g_strdup_printf("%s:%zu: more than %d YAML nodes", w->file, line,
                                        ORCHARD_APPLY_EVENTS_MAX);
            rc = ORCHARD_ETOOBIG;
            break;
        }
        if (t == YAML_ALIAS_EVENT) {
            w->reason = g_strdup_printf("%s:%zu: YAML aliases (*name) are not accepted in "
                                        "spec files", w->file, line);
            rc = ORCHARD_EINVAL;
            break;
        }
        if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT) {
            if (++depth > ORCHARD_APPLY_DEPTH_MAX) {
                w->reason = g_strdup_printf("%s:%zu: nested deeper than %d levels", w->file, line,
                                            ORCHARD_APPLY_DEPTH_MAX);
                rc = ORCHARD_ETOOBIG;
                break;
            }
        } else if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT) {
            depth--;
        }
    }
    yaml_parser_delete(&p);
    return rc;
}

/* ---- pass 2: the documents ------------------------------------------------------ */

/* A scalar's text, NULL for YAML's null (a plain empty, ~ or null). */
static const char *scalar(const yaml_node_t *n)
{
    const char *v = (const char *)n->data.scalar.value;
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
         !strcmp(v, "NULL")))
        return NULL;
    return v;
}

static int is_null(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && !scalar(n);
}

/* A string value (NUL bytes refused: they would cut it short). */
static int string_value(walk *w, const yaml_node_t *n, const char *key, char **out)
{
    if (n->type != YAML_SCALAR_NODE)
        return refuse(w, n, "%s must be a string", key);
    if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
        return refuse(w, n, "%s holds a NUL character", key);
    const char *v = scalar(n);
    *out = v ? g_strdup(v) : NULL;
    return 0;
}

typedef int (*key_fn)(walk *w, orchard_apply_doc *d, const yaml_node_t *value);
typedef struct {
    const char *key;
    key_fn fn;
} key_rule;

/* Walk a mapping: each key known, none twice; null is an empty mapping. */
static int mapping(walk *w, orchard_apply_doc *d, const yaml_node_t *n, const char *what,
                   const key_rule *rules, size_t n_rules)
{
    if (is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return refuse(w, n, "%s must be a mapping", what);
    guint seen = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE)
            return refuse(w, k, "%s: keys must be strings", what);
        const char *name = (const char *)k->data.scalar.value;
        size_t i = 0;
        while (i < n_rules && strcmp(rules[i].key, name) != 0)
            i++;
        if (i == n_rules) {
            GString *known = g_string_new(NULL);
            for (size_t j = 0; j < n_rules; j++)
                g_string_append_printf(known, "%s%s", j ? ", " : "", rules[j].key);
            int rc = refuse(w, k, "unknown key \"%.64s\" in %s (orchard applies: %s)", name, what,
                            known->str);
            g_string_free(known, TRUE);
            return rc;
        }
        if (seen & (1u << i))
            return refuse(w, k, "\"%s\" is given twice in %s", name, what);
        seen |= 1u << i;
        int rc = rules[i].fn(w, d, v);
        if (rc)
            return rc;
    }
    return 0;
}

static int k_minimum_version(walk *w, orchard_apply_doc *d, const yaml_node_t *v)
{
    return string_value(w, v, "minimum_version", &d->minimum_version);
}

static int k_deadline(walk *w, orchard_apply_doc *d, const yaml_node_t *v)
{
    return string_value(w, v, "deadline", &d->deadline);
}

static int k_macos_updates(walk *w, orchard_apply_doc *d, const yaml_node_t *v)
{
    static const key_rule rules[] = {{"minimum_version", k_minimum_version},
                                     {"deadline", k_deadline}};
    d->has_updates = 1;
    d->updates_line = (int)v->start_mark.line + 1;
    return mapping(w, d, v, "mdm.macos_updates", rules, G_N_ELEMENTS(rules));
}

static int add_path(walk *w, orchard_apply_doc *d, const yaml_node_t *n)
{
    char *path = NULL;
    int rc = string_value(w, n, "a custom_settings path", &path);
    if (rc)
        return rc;
    if (!path || !*path) {
        g_free(path);
        return refuse(w, n, "a custom_settings path is empty");
    }
    if (d->paths->len >= ORCHARD_APPLY_PROFILES_MAX) {
        g_free(path);
        return refuse(w, n, "more than %d profiles in one document", ORCHARD_APPLY_PROFILES_MAX);
    }
    char *full = g_path_is_absolute(path) ? g_strdup(path)
                                          : g_build_filename(w->base_dir, path, NULL);
    g_free(path);
    g_ptr_array_add(d->paths, full);
    int line = (int)n->start_mark.line + 1;
    g_array_append_val(d->path_lines, line);
    return 0;
}

/* Fleet's newer form of an entry: {path: FILE} (labels are not applied here). */
static int k_entry_path(walk *w, orchard_apply_doc *d, const yaml_node_t *v)
{
    return add_path(w, d, v);
}

static int k_custom_settings(walk *w, orchard_apply_doc *d, const yaml_node_t *v)
{
    static const key_rule entry[] = {{"path", k_entry_path}};
    if (is_null(v))
        return 0; /* `custom_settings:` with nothing: as if absent (docs/apply.md) */
    if (v->type != YAML_SEQUENCE_NODE)
        return refuse(w, v, "mdm.macos_settings.custom_settings must be a list of paths");
    d->has_profiles = 1;
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
         i++) {
        yaml_node_t *n = yaml_document_get_node(w->doc, *i);
        guint before = d->paths->len;
        int rc = n->type == YAML_MAPPING_NODE
                     ? mapping(w, d, n, "a custom_settings entry", entry, G_N_ELEMENTS(entry))
                     : add_path(w, d, n);
        if (rc)
            return rc;
        if (d->paths->len == before)
            return refuse(w, n, "a custom_settings entry has no path");
    }
    return 0;
}

static int k_macos_settings(walk *w, orchard_apply_doc *d, const yaml_node_t *v)
{
    static const key_rule rules[] = {{"custom_settings", k_custom_settings}};
    return mapping(w, d, v, "mdm.macos_settings", rules, G_N_ELEMENTS(rules));
}

static int k_mdm(walk *w, orchard_apply_doc *d, const yaml_node_t *v)
{
    static const key_rule rules[] = {{"macos_updates", k_macos_updates},
                                     {"macos_settings", k_macos_settings}};
    return mapping(w, d, v, "mdm", rules, G_N_ELEMENTS(rules));
}

static int k_team_name(walk *w, orchard_apply_doc *d, const yaml_node_t *v)
{
    int rc = string_value(w, v, "team.name", &d->team_name);
    if (!rc && (!d->team_name || !*d->team_name))
        return refuse(w, v, "team.name is empty");
    return rc;
}

static int k_team(walk *w, orchard_apply_doc *d, const yaml_node_t *v)
{
    static const key_rule rules[] = {{"name", k_team_name}, {"mdm", k_mdm}};
    int rc = mapping(w, d, v, "spec.team", rules, G_N_ELEMENTS(rules));
    if (!rc && !d->team_name)
        return refuse(w, v, "spec.team has no name");
    return rc;
}

/* The top of a document: apiVersion, kind and spec, whatever their order. */
static int read_document(walk *w, orchard_apply_doc *d, const yaml_node_t *root)
{
    static const key_rule config_spec[] = {{"mdm", k_mdm}};
    static const key_rule team_spec[] = {{"team", k_team}};
    const yaml_node_t *api = NULL, *kind = NULL, *spec = NULL;
    if (root->type != YAML_MAPPING_NODE)
        return refuse(w, root, "a spec document must be a mapping (apiVersion, kind, spec)");
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        const char *name = k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value
                                                            : "";
        const yaml_node_t **slot = !strcmp(name, "apiVersion") ? &api
                                   : !strcmp(name, "kind")     ? &kind
                                   : !strcmp(name, "spec")     ? &spec
                                                               : NULL;
        if (!slot)
            return refuse(w, k, "unknown key \"%.64s\" in a spec document (apiVersion, kind, "
                          "spec)", name);
        if (*slot)
            return refuse(w, k, "\"%s\" is given twice", name);
        *slot = v;
    }
    if (!api || !kind || !spec)
        return refuse(w, root, "a spec document needs apiVersion, kind and spec");
    if (api->type != YAML_SCALAR_NODE || !scalar(api) || strcmp(scalar(api), "v1") != 0)
        return refuse(w, api, "apiVersion must be v1");
    const char *k = kind->type == YAML_SCALAR_NODE ? scalar(kind) : NULL;
    if (k && strcmp(k, "config") == 0) {
        d->kind = ORCHARD_APPLY_CONFIG;
        return mapping(w, d, spec, "spec (kind config)", config_spec, G_N_ELEMENTS(config_spec));
    }
    if (k && strcmp(k, "team") == 0) {
        d->kind = ORCHARD_APPLY_TEAM;
        int rc = mapping(w, d, spec, "spec (kind team)", team_spec, G_N_ELEMENTS(team_spec));
        if (!rc && !d->team_name)
            return refuse(w, spec, "a team document needs spec.team.name");
        return rc;
    }
    return refuse(w, kind, "unknown kind \"%.64s\" (orchard applies config and team)",
                  k ? k : "");
}

int orchard_apply_parse(const char *file, const char *base_dir, const char *yaml, size_t len,
                        GPtrArray *docs, char **reason)
{
    walk w = {.file = file, .base_dir = base_dir};
    g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_apply_doc_free);
    yaml_parser_t p;
    int rc = 0;
    *reason = NULL;
    if (len > ORCHARD_APPLY_FILE_MAX) {
        *reason = g_strdup_printf("%s: over %zu bytes", file, ORCHARD_APPLY_FILE_MAX);
        return ORCHARD_ETOOBIG;
    }
    if (memchr(yaml, '\0', len)) {
        *reason = g_strdup_printf("%s: holds a NUL byte (not a YAML text file)", file);
        return ORCHARD_EINVAL;
    }
    if ((rc = prescan(&w, yaml, len))) {
        *reason = w.reason;
        return rc;
    }
    if (!yaml_parser_initialize(&p))
        return ORCHARD_ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
    while (!rc) {
        yaml_document_t doc;
        if (!yaml_parser_load(&p, &doc)) {
            w.reason = g_strdup_printf("%s:%zu: not YAML: %s", file, p.problem_mark.line + 1,
                                       p.problem ? p.problem : "syntax error");
            rc = ORCHARD_EINVAL;
            break;
        }
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (!root) { /* the end of the stream */
            yaml_document_delete(&doc);
            break;
        }
        w.doc = &doc;
        if (got->len >= ORCHARD_APPLY_DOCS_MAX) {
            rc = refuse(&w, root, "more than %d documents", ORCHARD_APPLY_DOCS_MAX);
        } else if (!is_null(root)) { /* an empty document (a stray ---) is nothing */
            orchard_apply_doc *d = g_new0(orchard_apply_doc, 1);
            d->file = g_strdup(file);
            d->line = (int)root->start_mark.line + 1;
            d->paths = g_ptr_array_new_with_free_func(g_free);
            d->path_lines = g_array_new(FALSE, FALSE, sizeof(int));
            g_ptr_array_add(got, d);
            rc = read_document(&w, d, root);
        }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&p);
    if (rc) {
        *reason = w.reason ? w.reason : g_strdup_printf("%s: cannot be read", file);
        return rc;
    }
    while (got->len)
        g_ptr_array_add(docs, g_ptr_array_steal_index(got, 0));
    return 0;
}

int orchard_apply_parse_file(const char *path, GPtrArray *docs, char **reason)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        *reason = g_strdup_printf("%s: %s", path, g_strerror(e));
        return e == ENOENT ? ORCHARD_ENOTFOUND : ORCHARD_EIO;
    }
    g_autofree char *buf = g_malloc(ORCHARD_APPLY_FILE_MAX + 1);
    size_t n = fread(buf, 1, ORCHARD_APPLY_FILE_MAX + 1, f);
    int err = ferror(f);
    fclose(f);
    if (err) {
        *reason = g_strdup_printf("%s: cannot be read", path);
        return ORCHARD_EIO;
    }
    if (n > ORCHARD_APPLY_FILE_MAX) {
        *reason = g_strdup_printf("%s: over %zu bytes", path, ORCHARD_APPLY_FILE_MAX);
        return ORCHARD_ETOOBIG;
    }
    g_autofree char *dir = g_path_get_dirname(path);
    return orchard_apply_parse(path, dir, buf, n, docs, reason);
}
