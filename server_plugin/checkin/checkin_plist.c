/* The check-in route's plist reader: a device's body is hostile until
 * proven otherwise, and libplist 2.2 recurses once per nesting level and
 * makes a node per element, so the XML is scanned first
 * (server_plugin/plist/plist_guard.h: nesting, element count, no entities)
 * and only then parsed. Devices send XML; a binary plist
 * is refused rather than given to libplist's binary reader. Also the small
 * readers the service uses, and ErrorChain's conversion to JSON. */
#include "server_plugin/checkin/checkin.h"
#include "server_plugin/plist/plist_guard.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int orchard_checkin_plist_parse(const unsigned char *body, size_t len, plist_t *root,
                                const char **why)
{
    const char *s = (const char *)body;
    size_t off = 0;
    int rc;

    *root = NULL;
    *why = NULL;
    if (!body || len == 0) {
        *why = "empty body";
        return ORCHARD_EINVAL;
    }
    if (len > ORCHARD_CHECKIN_MAX_REPORT || len > UINT32_MAX) {
        *why = "body too large";
        return ORCHARD_ETOOBIG;
    }
    if (memchr(s, '\0', len)) {
        *why = "a NUL byte in the body";
        return ORCHARD_EINVAL;
    }
    if (len >= 6 && memcmp(s, "bplist", 6) == 0) {
        *why = "binary plists are not accepted";
        return ORCHARD_EINVAL;
    }
    if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
        off = 3;
    while (off < len && strchr(" \t\r\n", s[off]))
        off++;
    if (off == len || s[off] != '<') {
        *why = "not an XML plist";
        return ORCHARD_EINVAL;
    }
    static const orchard_plist_limits limits = {
        .max_depth = ORCHARD_CHECKIN_MAX_DEPTH,
        .max_nodes = ORCHARD_CHECKIN_MAX_NODES,
        .allow_binary = 0,
    };
    if ((rc = orchard_plist_guard(s, len, &limits, why)))
        return rc;
    plist_from_xml(s, (uint32_t)len, root);
    if (!*root) {
        *why = "not a valid plist";
        return ORCHARD_EINVAL;
    }
    if (plist_get_node_type(*root) != PLIST_DICT) {
        plist_free(*root);
        *root = NULL;
        *why = "the plist's root is not a dict";
        return ORCHARD_EINVAL;
    }
    return 0;
}

char *orchard_checkin_plist_string(plist_t dict, const char *key)
{
    plist_t n = plist_dict_get_item(dict, key);
    char *v = NULL;
    if (!n || plist_get_node_type(n) != PLIST_STRING)
        return NULL;
    plist_get_string_val(n, &v);
    /* Text that is not UTF-8 is no string: it would reach TEXT columns,
     * which PostgreSQL refuses and SQLite would keep as garbage. A missing
     * required field is then refused by name (400); an optional one is
     * left unset. */
    char *copy = v && g_utf8_validate(v, -1, NULL) ? g_strdup(v) : NULL;
    free(v);
    return copy;
}

unsigned char *orchard_checkin_plist_data(plist_t dict, const char *key, size_t *len)
{
    plist_t n = plist_dict_get_item(dict, key);
    char *v = NULL;
    uint64_t n_len = 0;
    *len = 0;
    if (!n || plist_get_node_type(n) != PLIST_DATA)
        return NULL;
    plist_get_data_val(n, &v, &n_len);
    unsigned char *copy = g_malloc(n_len + 1);
    if (n_len)
        memcpy(copy, v, n_len);
    copy[n_len] = 0;
    free(v);
    *len = (size_t)n_len;
    return copy;
}

/* Depth is bounded by the parse's cap, so recursion is too. */
static json_t *to_json(plist_t n)
{
    switch (plist_get_node_type(n)) {
    case PLIST_BOOLEAN: {
        uint8_t b = 0;
        plist_get_bool_val(n, &b);
        return json_boolean(b);
    }
    case PLIST_UINT: {
        uint64_t u = 0;
        plist_get_uint_val(n, &u);
        return json_integer((json_int_t)u);
    }
    case PLIST_REAL: {
        double d = 0;
        plist_get_real_val(n, &d);
        return json_real(d);
    }
    case PLIST_STRING:
    case PLIST_KEY: {
        char *s = NULL;
        plist_get_string_val(n, &s);
        json_t *j = json_string(s ? s : "");
        free(s);
        return j ? j : json_string("");
    }
    case PLIST_DATA: {
        char *d = NULL;
        uint64_t len = 0;
        plist_get_data_val(n, &d, &len);
        g_autofree char *b64 = g_base64_encode((const guchar *)d, (gsize)len);
        free(d);
        return json_string(b64);
    }
    case PLIST_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; i < plist_array_get_size(n); i++)
            json_array_append_new(a, to_json(plist_array_get_item(n, i)));
        return a;
    }
    case PLIST_DICT: {
        json_t *o = json_object();
        plist_dict_iter it = NULL;
        plist_dict_new_iter(n, &it);
        for (;;) {
            char *k = NULL;
            plist_t v = NULL;
            plist_dict_next_item(n, it, &k, &v);
            if (!v) {
                free(k);
                break;
            }
            json_object_set_new(o, k ? k : "", to_json(v));
            free(k);
        }
        free(it);
        return o;
    }
    default:
        return json_null();
    }
}

char *orchard_checkin_plist_json(plist_t node)
{
    json_t *j = to_json(node);
    char *text = json_dumps(j, JSON_COMPACT);
    char *copy = g_strdup(text ? text : "null");
    free(text);
    json_decref(j);
    return copy;
}
