/* libplist helpers for the agent tables (see plist_util.h). */
#include "tables/mac/plist_util.h"

#include <stdlib.h>
#include <string.h>

static plist_t dict_item(plist_t dict, const char *key)
{
    if (!dict || plist_get_node_type(dict) != PLIST_DICT)
        return NULL;
    return plist_dict_get_item(dict, key);
}

const char *orchard_plist_string(plist_t dict, const char *key)
{
    plist_t v = dict_item(dict, key);
    if (!v || plist_get_node_type(v) != PLIST_STRING)
        return NULL;
    return plist_get_string_ptr(v, NULL);
}

int orchard_plist_int(plist_t dict, const char *key, gint64 *out)
{
    plist_t v = dict_item(dict, key);
    uint64_t u = 0;
    if (!v || plist_get_node_type(v) != PLIST_UINT)
        return -1;
    plist_get_uint_val(v, &u); /* libplist 2.2 keeps signed values in a uint64 */
    *out = (gint64)u;
    return 0;
}

int orchard_plist_bool(plist_t dict, const char *key)
{
    plist_t v = dict_item(dict, key);
    uint8_t b = 0;
    if (!v || plist_get_node_type(v) != PLIST_BOOLEAN)
        return -1;
    plist_get_bool_val(v, &b);
    return b ? 1 : 0;
}

int orchard_plist_date(plist_t dict, const char *key, gint64 *out)
{
    plist_t v = dict_item(dict, key);
    int32_t sec = 0, usec = 0;
    if (!v || plist_get_node_type(v) != PLIST_DATE)
        return -1;
    plist_get_date_val(v, &sec, &usec);
    *out = (gint64)sec + ORCHARD_PLIST_EPOCH;
    return 0;
}

char *orchard_format_utc(gint64 unix_seconds)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(unix_seconds);
    return dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : NULL;
}

/* The keys of a dictionary, in its order (g_ptr_array_unref). */
static GPtrArray *dict_keys(plist_t node)
{
    GPtrArray *keys = g_ptr_array_new_with_free_func(free);
    plist_dict_iter it = NULL;
    plist_dict_new_iter(node, &it);
    for (;;) {
        char *key = NULL;
        plist_t val = NULL;
        plist_dict_next_item(node, it, &key, &val);
        if (!val) {
            free(key);
            break;
        }
        if (key)
            g_ptr_array_add(keys, key);
    }
    free(it);
    return keys;
}

static json_t *dict_to_json(plist_t node)
{
    json_t *obj = json_object();
    GPtrArray *keys = dict_keys(node);
    for (guint i = 0; i < keys->len; i++) {
        const char *k = g_ptr_array_index(keys, i);
        json_t *j = orchard_plist_to_json(plist_dict_get_item(node, k));
        if (j)
            json_object_set_new(obj, k, j);
    }
    g_ptr_array_unref(keys);
    return obj;
}

json_t *orchard_plist_to_json(plist_t node)
{
    if (!node)
        return NULL;
    switch (plist_get_node_type(node)) {
    case PLIST_DICT:
        return dict_to_json(node);
    case PLIST_ARRAY: {
        json_t *arr = json_array();
        for (uint32_t i = 0; i < plist_array_get_size(node); i++)
            json_array_append_new(arr, orchard_plist_to_json(plist_array_get_item(node, i)));
        return arr;
    }
    case PLIST_STRING: {
        const char *s = plist_get_string_ptr(node, NULL);
        json_t *j = s ? json_string(s) : NULL;
        return j ? j : json_null(); /* not UTF-8: unusable, not fatal */
    }
    case PLIST_UINT: {
        uint64_t u = 0;
        plist_get_uint_val(node, &u);
        return json_integer((json_int_t)u);
    }
    case PLIST_REAL: {
        double d = 0;
        plist_get_real_val(node, &d);
        return json_real(d);
    }
    case PLIST_BOOLEAN: {
        uint8_t b = 0;
        plist_get_bool_val(node, &b);
        return json_boolean(b);
    }
    case PLIST_DATE: {
        int32_t sec = 0, usec = 0;
        plist_get_date_val(node, &sec, &usec);
        g_autofree char *s = orchard_format_utc((gint64)sec + ORCHARD_PLIST_EPOCH);
        return s ? json_string(s) : json_null();
    }
    default:
        return json_null();
    }
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A copy of node whose dictionaries insert their keys in sorted order. */
static plist_t sorted_copy(plist_t node)
{
    plist_type t = plist_get_node_type(node);
    if (t == PLIST_ARRAY) {
        plist_t arr = plist_new_array();
        for (uint32_t i = 0; i < plist_array_get_size(node); i++)
            plist_array_append_item(arr, sorted_copy(plist_array_get_item(node, i)));
        return arr;
    }
    if (t == PLIST_STRING) {
        /* A binary plist's string may hold a NUL before its stated length;
         * libplist 2.2's XML writer then copies past the end of its buffer
         * (found by tests/fuzz/fuzz_plist, 2026-11-27). Rebuild it as C text. */
        const char *str = plist_get_string_ptr(node, NULL);
        return plist_new_string(str ? str : "");
    }
    if (t != PLIST_DICT)
        return plist_copy(node);
    GPtrArray *keys = dict_keys(node);
    if (keys->len > 1) /* an empty GPtrArray's pdata is NULL: not for qsort */
        qsort(keys->pdata, keys->len, sizeof(char *), compare_keys);
    plist_t dict = plist_new_dict();
    for (guint i = 0; i < keys->len; i++) {
        const char *k = g_ptr_array_index(keys, i);
        plist_dict_set_item(dict, k, sorted_copy(plist_dict_get_item(node, k)));
    }
    g_ptr_array_unref(keys);
    return dict;
}

char *orchard_plist_canonical_sha256(plist_t node)
{
    char *xml = NULL;
    uint32_t len = 0;
    plist_t copy = sorted_copy(node);
    plist_to_xml(copy, &xml, &len);
    plist_free(copy);
    char *sum = xml ? g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)xml, len)
                    : NULL;
    plist_to_xml_free(xml);
    return sum;
}
