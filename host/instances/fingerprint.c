/* Settings fingerprints (fingerprint.h): parsing with jansson under hard
 * limits, the per-key difference of two, and the comparison of one with
 * the live instances' that fills an orchard_instances_view. */
#include "host/instances/fingerprint.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int key_ok(const char *key)
{
    size_t len = strnlen(key, ORCHARD_FINGERPRINT_KEY_MAX + 1);
    if (len == 0 || len > ORCHARD_FINGERPRINT_KEY_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!g_ascii_isalnum(key[i]) && !strchr("_.-", key[i]))
            return 0;
    return 1;
}

/* Copy the checked members of obj into a fresh table; NULL and *why on the first bad one. */
static GHashTable *table_of(json_t *obj, const char **why)
{
    GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    const char *key;
    json_t *value;

    if (json_object_size(obj) > ORCHARD_FINGERPRINT_MAX_KEYS) {
        *why = "more than 256 keys";
        goto fail;
    }
    json_object_foreach(obj, key, value) {
        if (!key_ok(key)) {
            *why = "a key is empty, too long, or not made of letters, digits, '_', '.' and '-'";
            goto fail;
        }
        if (!json_is_string(value)) {
            *why = "a value is not a string";
            goto fail;
        }
        if (json_string_length(value) > ORCHARD_FINGERPRINT_VALUE_MAX) {
            *why = "a value is longer than 512 bytes";
            goto fail;
        }
        g_hash_table_insert(t, g_strdup(key), g_strdup(json_string_value(value)));
    }
    return t;
fail:
    g_hash_table_unref(t);
    return NULL;
}

int orchard_fingerprint_parse(const char *json, GHashTable **out, char **canonical,
                              const char **why)
{
    json_error_t err;
    json_t *doc = NULL;
    int rc = ORCHARD_EINVAL;

    *out = NULL;
    if (canonical)
        *canonical = NULL;
    *why = NULL;
    if (!json) {
        *why = "no fingerprint";
        return rc;
    }
    /* Measured before parsing: a huge text is refused without reading it all. */
    if (strnlen(json, ORCHARD_FINGERPRINT_MAX_BYTES + 1) > ORCHARD_FINGERPRINT_MAX_BYTES) {
        *why = "longer than 64 KiB";
        return rc;
    }
    /* Duplicate keys would let two instances read one text two ways. */
    doc = json_loads(json, JSON_REJECT_DUPLICATES, &err);
    if (!doc) {
        *why = "not valid JSON (or a key appears twice)";
        return rc;
    }
    if (!json_is_object(doc)) {
        *why = "not a JSON object";
        goto out;
    }
    if (!(*out = table_of(doc, why)))
        goto out;
    if (canonical) {
        char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text) {
            g_clear_pointer(out, g_hash_table_unref);
            rc = ORCHARD_ENOMEM;
            *why = "out of memory";
            goto out;
        }
        *canonical = g_strdup(text);
        free(text);
    }
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

guint orchard_fingerprint_diff(GHashTable *a, GHashTable *b, GHashTable *keys)
{
    GHashTableIter it;
    gpointer k, v;
    guint n = 0;

    for (int pass = 0; pass < 2; pass++) {
        GHashTable *x = pass ? b : a, *y = pass ? a : b;
        g_hash_table_iter_init(&it, x);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            const char *other = g_hash_table_lookup(y, k);
            if (other && strcmp(other, v) == 0)
                continue;
            if (pass && other) /* both have it: counted on the first pass */
                continue;
            n++;
            if (keys && !g_hash_table_contains(keys, k)) {
                char *copy = g_strdup(k);
                g_hash_table_insert(keys, copy, copy);
            }
        }
    }
    return n;
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void orchard_fingerprint_join(GHashTable *keys, char *out, size_t size)
{
    static const char more[] = ",...";
    g_autoptr(GPtrArray) sorted = g_ptr_array_new();
    GHashTableIter it;
    gpointer k;
    size_t len = 0;

    if (size == 0)
        return;
    out[0] = '\0';
    g_hash_table_iter_init(&it, keys);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_ptr_array_add(sorted, k);
    g_ptr_array_sort(sorted, cmp_str);
    for (guint i = 0; i < sorted->len; i++) {
        const char *key = g_ptr_array_index(sorted, i);
        size_t need = strlen(key) + (len ? 1 : 0);
        /* Keep room for ",..." unless this is the last key. */
        size_t reserve = i + 1 < sorted->len ? sizeof more - 1 : 0;
        if (len + need + reserve + 1 > size) {
            if (len + sizeof more <= size)
                g_strlcpy(out + len, len ? more : more + 1, size - len);
            return;
        }
        g_snprintf(out + len, size - len, "%s%s", len ? "," : "", key);
        len += need;
    }
}

orchard_fingerprint_entry *orchard_fingerprint_entry_new(const char *id, GHashTable *fp)
{
    orchard_fingerprint_entry *e = g_new0(orchard_fingerprint_entry, 1);
    e->id = g_strdup(id ? id : "");
    e->fp = fp;
    return e;
}

void orchard_fingerprint_entry_free(gpointer entry)
{
    orchard_fingerprint_entry *e = entry;
    if (!e)
        return;
    g_free((char *)e->id);
    if (e->fp)
        g_hash_table_unref(e->fp);
    g_free(e);
}

static const orchard_fingerprint_entry *entry_of(const GPtrArray *entries, const char *id)
{
    for (guint i = 0; id && entries && i < entries->len; i++) {
        const orchard_fingerprint_entry *e = g_ptr_array_index(entries, i);
        if (strcmp(e->id, id) == 0)
            return e;
    }
    return NULL;
}

void orchard_fingerprint_compare(const GPtrArray *entries, const char *self_id,
                                 GHashTable *compared, orchard_instances_view *out,
                                 char *differs_from_reference, size_t size)
{
    g_autoptr(GHashTable) all = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) ref_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    const orchard_fingerprint_entry *ref = entries && entries->len ? entries->pdata[0] : NULL;
    const orchard_fingerprint_entry *self = entry_of(entries, self_id);

    out->published = entries ? entries->len : 0;
    out->agree = 1;
    out->differing_keys[0] = '\0';
    out->reference_id[0] = '\0';
    if (differs_from_reference && size)
        differs_from_reference[0] = '\0';
    if (!ref)
        return;
    g_strlcpy(out->reference_id, ref->id, sizeof out->reference_id);
    if (!compared)
        compared = self ? self->fp : ref->fp;
    for (guint i = 0; i < entries->len; i++) {
        const orchard_fingerprint_entry *e = g_ptr_array_index(entries, i);
        orchard_fingerprint_diff(compared, e->fp, all);
    }
    out->agree = g_hash_table_size(all) == 0;
    /* The reference always serves: it is what the others are held to. */
    if (!(self && self == ref && compared == self->fp))
        orchard_fingerprint_diff(compared, ref->fp, ref_keys);
    if (differs_from_reference)
        orchard_fingerprint_join(ref_keys, differs_from_reference, size);
    /* What matters first is the difference from the reference; when there
     * is none, which keys the others differ in. */
    orchard_fingerprint_join(g_hash_table_size(ref_keys) ? ref_keys : all, out->differing_keys,
                             sizeof out->differing_keys);
}
