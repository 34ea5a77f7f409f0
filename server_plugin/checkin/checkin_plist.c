/* The check-in route's plist reader: a device's body is hostile until
 * proven otherwise, and libplist 2.2 recurses once per nesting level and
 * makes a node per element, so the XML is scanned first (nesting, element
 * count, no entities) and only then parsed. Devices send XML; a binary plist
 * is refused rather than given to libplist's binary reader. Also the small
 * readers the service uses, and ErrorChain's conversion to JSON. */
#include "server_plugin/checkin/checkin.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p, *end;
} cursor;

static int starts(const cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(c->end - c->p) >= n && memcmp(c->p, lit, n) == 0;
}

/* Move past the next `lit`; 0 when there is none (a truncated body). */
static int skip_past(cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    for (const char *q = c->p; (size_t)(c->end - q) >= n; q++)
        if (memcmp(q, lit, n) == 0) {
            c->p = q + n;
            return 1;
        }
    return 0;
}

/* Past one tag's '>' (quotes respected); *self_closing when it ends "/>". */
static int skip_tag(cursor *c, int *self_closing)
{
    char quote = 0, prev = 0;
    for (; c->p < c->end; c->p++) {
        char ch = *c->p;
        if (quote) {
            if (ch == quote)
                quote = 0;
        } else if (ch == '"' || ch == '\'') {
            quote = ch;
        } else if (ch == '>') {
            *self_closing = prev == '/';
            c->p++;
            return 1;
        }
        prev = ch;
    }
    return 0;
}

static int is_container(const cursor *c)
{
    static const char *const names[] = {"dict", "array"};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        size_t n = strlen(names[i]);
        if ((size_t)(c->end - c->p) > n && memcmp(c->p, names[i], n) == 0 &&
            strchr(" \t\r\n/>", c->p[n]))
            return 1;
    }
    return 0;
}

/* A DOCTYPE may name Apple's DTD; an internal subset could declare entities. */
static int doctype_ok(cursor *c)
{
    const char *gt = memchr(c->p, '>', (size_t)(c->end - c->p));
    if (!gt || memchr(c->p, '[', (size_t)(gt - c->p)))
        return 0;
    c->p = gt + 1;
    return 1;
}

static int scan_xml(const char *data, size_t len, const char **why)
{
    cursor c = {data, data + len};
    int depth = 0;
    long nodes = 0;

    while ((c.p = memchr(c.p, '<', (size_t)(c.end - c.p))) != NULL) {
        int self_closing = 0, closing;
        c.p++;
        if (starts(&c, "!--")) {
            if (!skip_past(&c, "-->"))
                goto truncated;
            continue;
        }
        if (starts(&c, "![CDATA[")) {
            if (!skip_past(&c, "]]>"))
                goto truncated;
            continue;
        }
        if (starts(&c, "?")) {
            if (!skip_past(&c, "?>"))
                goto truncated;
            continue;
        }
        if (starts(&c, "!")) {
            if (!doctype_ok(&c)) {
                *why = "a DOCTYPE with an internal subset (entities are not accepted)";
                return ORCHARD_EINVAL;
            }
            continue;
        }
        closing = starts(&c, "/");
        if (closing)
            c.p++;
        int container = is_container(&c);
        if (!skip_tag(&c, &self_closing))
            goto truncated;
        if (closing) {
            if (container && depth > 0)
                depth--;
            continue;
        }
        if (++nodes > ORCHARD_CHECKIN_MAX_NODES) {
            *why = "too many plist elements";
            return ORCHARD_ETOOBIG;
        }
        if (container && !self_closing && ++depth > ORCHARD_CHECKIN_MAX_DEPTH) {
            *why = "plist nested too deep";
            return ORCHARD_ETOOBIG;
        }
    }
    return 0;
truncated:
    *why = "truncated plist";
    return ORCHARD_EINVAL;
}

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
    if ((rc = scan_xml(s, len, why)))
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
    char *copy = g_strdup(v);
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
