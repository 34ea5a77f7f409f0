/* Plist parsing with caps, for mac_source: libplist 2.2 recurses without a
 * limit and copies shared objects at every reference, so XML nesting is
 * scanned and a binary plist's whole structure is checked before libplist
 * sees either. See orchard_mac_parse_plist in mac_source.h. */
#include "tables/mac/mac_source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A binary plist may share one object among many parents; libplist copies it
 * at every reference, so a small file can expand enormously. Cap the nodes. */
#define MAX_BPLIST_NODES (1u << 20)

/* ------------------------------------------------------------------------ */
/* Plists */

static int starts(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

static const char *find(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    for (; (size_t)(end - p) >= n; p++)
        if (memcmp(p, lit, n) == 0)
            return p + n;
    return NULL;
}

/* Nesting of <dict>/<array> in XML, counted before libplist recurses into it. */
static int xml_depth_scan(const char *data, size_t len, const char *origin, char **error_msg)
{
    const char *p = data, *end = data + len;
    int depth = 0;
    while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
        static const char *const skipped[][2] = {
            {"<!--", "-->"}, {"<![CDATA[", "]]>"}, {"<?", "?>"}};
        size_t k = 0;
        while (k < G_N_ELEMENTS(skipped) && !starts(p, end, skipped[k][0]))
            k++;
        if (k < G_N_ELEMENTS(skipped)) {
            p = find(p + strlen(skipped[k][0]), end, skipped[k][1]);
            if (!p) {
                *error_msg = g_strdup_printf("%s: not a valid plist (unterminated markup)", origin);
                return ORCHARD_EINVAL;
            }
            continue;
        }
        int closing = p + 1 < end && p[1] == '/';
        const char *name = p + 1 + closing, *q = name;
        while (q < end && (g_ascii_isalnum(*q) || *q == '_' || *q == '-' || *q == ':'))
            q++;
        size_t n = (size_t)(q - name);
        int container = (n == 4 && memcmp(name, "dict", 4) == 0) ||
                        (n == 5 && memcmp(name, "array", 5) == 0);
        const char *gt = memchr(q, '>', (size_t)(end - q));
        if (!gt)
            break; /* truncated: libplist will refuse it */
        if (container && closing) {
            if (depth > 0)
                depth--;
        } else if (container && gt[-1] != '/' && ++depth > ORCHARD_MAC_MAX_DEPTH) {
            *error_msg = g_strdup_printf("%s: nested deeper than %d at byte %td", origin,
                                         ORCHARD_MAC_MAX_DEPTH, p - data);
            return ORCHARD_ETOOBIG;
        }
        p = gt + 1;
    }
    return 0;
}

/* --- Binary plists: check the structure before libplist walks it. --- */

typedef struct bplist {
    const uint8_t *data;
    uint64_t len, n_objects, table_off, refs_end;
    unsigned offset_size, ref_size;
    uint8_t *state;   /* 0 unseen, 1 on the current path, 2 done */
    uint8_t *height;  /* containers below and including it */
    uint32_t *nodes;  /* nodes libplist will create for it, saturating */
    const char *origin;
    char **error_msg;
} bplist;

static uint64_t be_uint(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static int bp_fail(bplist *bp, int rc, const char *what)
{
    if (!*bp->error_msg)
        *bp->error_msg = g_strdup_printf("%s: %s binary plist: %s", bp->origin,
                                         rc == ORCHARD_ETOOBIG ? "oversized" : "not a valid", what);
    return rc;
}

/* The object count after a marker's low nibble (0xF: an int object follows). */
static int bp_count(bplist *bp, uint64_t *pos, unsigned info, uint64_t *count)
{
    if (info != 0xF) {
        *count = info;
        return 0;
    }
    if (*pos >= bp->refs_end || (bp->data[*pos] & 0xF0) != 0x10 || (bp->data[*pos] & 0x0F) > 3)
        return bp_fail(bp, ORCHARD_EINVAL, "bad length");
    unsigned n = 1u << (bp->data[*pos] & 0x0F);
    if (bp->refs_end - *pos - 1 < n)
        return bp_fail(bp, ORCHARD_EINVAL, "truncated length");
    *count = be_uint(bp->data + *pos + 1, n);
    *pos += 1 + n;
    return 0;
}

static int bp_visit(bplist *bp, uint64_t idx, int depth);

/* Visit the children (refs) of a container at depth `depth`. */
static int bp_children(bplist *bp, uint64_t idx, uint64_t pos, uint64_t n_refs, int depth)
{
    uint32_t nodes = 1;
    unsigned height = 0;
    if (n_refs > (bp->refs_end - pos) / bp->ref_size)
        return bp_fail(bp, ORCHARD_EINVAL, "container runs past its end");
    for (uint64_t i = 0; i < n_refs; i++) {
        uint64_t ref = be_uint(bp->data + pos + i * bp->ref_size, bp->ref_size);
        if (ref >= bp->n_objects)
            return bp_fail(bp, ORCHARD_EINVAL, "reference out of range");
        int rc = bp_visit(bp, ref, depth);
        if (rc)
            return rc;
        height = MAX(height, bp->height[ref]);
        nodes = (uint32_t)MIN((uint64_t)nodes + bp->nodes[ref], (uint64_t)UINT32_MAX);
    }
    bp->height[idx] = (uint8_t)(height + 1);
    bp->nodes[idx] = nodes;
    return 0;
}

/* A key object's text as UTF-8 (g_free), or NULL when it is not a string,
 * holds a NUL, or is not valid text. */
static char *bp_key_text(bplist *bp, uint64_t ref)
{
    uint64_t off = be_uint(bp->data + bp->table_off + ref * bp->offset_size, bp->offset_size);
    if (off < 8 || off >= bp->table_off)
        return NULL;
    unsigned type = bp->data[off] >> 4, info = bp->data[off] & 0x0F;
    uint64_t pos = off + 1, count = 0;
    if ((type != 0x5 && type != 0x6) || bp_count(bp, &pos, info, &count) != 0)
        return NULL;
    uint64_t bytes = type == 0x6 ? count * 2 : count;
    if (count > bp->len || bytes > bp->table_off - pos)
        return NULL;
    if (type == 0x5)
        return memchr(bp->data + pos, 0, bytes) ? NULL
                                                : g_strndup((const char *)bp->data + pos, bytes);
    gunichar2 *units = g_new(gunichar2, count + 1);
    char *text = NULL;
    uint64_t i;
    for (i = 0; i < count; i++)
        if ((units[i] = (gunichar2)be_uint(bp->data + pos + 2 * i, 2)) == 0)
            break;
    if (i == count) /* no NUL; NULL for broken surrogates */
        text = g_utf16_to_utf8(units, (glong)count, NULL, NULL, NULL);
    g_free(units);
    return text;
}

/* The keys of the dict whose key refs start at `pos` must be strings, without
 * NULs, and distinct as text. libplist 2.2 trusts all three; a dict with
 * duplicate keys (in any spelling: ASCII or UTF-16) parsed, then aborted on an
 * assert when it was walked (tests/fuzz/fuzz_plist, 2026-11-27). */
static int bp_keys_are_strings(bplist *bp, uint64_t pos, uint64_t n_keys)
{
    if (n_keys > (bp->refs_end - pos) / bp->ref_size)
        return bp_fail(bp, ORCHARD_EINVAL, "container runs past its end");
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int rc = 0;
    for (uint64_t i = 0; i < n_keys && rc == 0; i++) {
        uint64_t ref = be_uint(bp->data + pos + i * bp->ref_size, bp->ref_size);
        char *key = ref < bp->n_objects ? bp_key_text(bp, ref) : NULL;
        if (!key)
            rc = bp_fail(bp, ORCHARD_EINVAL, "a dictionary key is not a plain string");
        else if (!g_hash_table_add(seen, key))
            rc = bp_fail(bp, ORCHARD_EINVAL, "a dictionary key appears twice");
    }
    g_hash_table_destroy(seen);
    return rc;
}

/* A UTF-16BE string of `units` code units at pos must pair its surrogates:
 * libplist 2.2 turns a broken one into a node that later trips an assert
 * (found by tests/fuzz/fuzz_plist, 2026-11-27). */
static int bp_utf16_ok(const bplist *bp, uint64_t pos, uint64_t units)
{
    for (uint64_t i = 0; i < units; i++) {
        unsigned u = (unsigned)be_uint(bp->data + pos + 2 * i, 2);
        if (u >= 0xDC00 && u <= 0xDFFF)
            return 0; /* a low surrogate with no high one before it */
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (i + 1 >= units)
                return 0;
            unsigned lo = (unsigned)be_uint(bp->data + pos + 2 * (i + 1), 2);
            if (lo < 0xDC00 || lo > 0xDFFF)
                return 0;
            i++;
        }
    }
    return 1;
}

/* Check object idx, reached with `depth` containers above it. */
static int bp_visit(bplist *bp, uint64_t idx, int depth)
{
    if (bp->state[idx] == 1)
        return bp_fail(bp, ORCHARD_EINVAL, "reference cycle");
    if (bp->state[idx] == 2) {
        if (depth + bp->height[idx] > ORCHARD_MAC_MAX_DEPTH)
            return bp_fail(bp, ORCHARD_ETOOBIG, "nested too deep");
        return 0;
    }
    uint64_t off = be_uint(bp->data + bp->table_off + idx * bp->offset_size, bp->offset_size);
    if (off < 8 || off >= bp->table_off)
        return bp_fail(bp, ORCHARD_EINVAL, "object offset out of range");
    unsigned type = bp->data[off] >> 4, info = bp->data[off] & 0x0F;
    uint64_t pos = off + 1, count = 0, need = 0;
    int rc = 0;
    bp->state[idx] = 1;
    bp->height[idx] = 0;
    bp->nodes[idx] = 1;
    switch (type) {
    case 0x0: need = 0; break;                      /* null, bool, fill */
    case 0x1: case 0x2:                             /* int, real */
        if (info > 4)
            rc = bp_fail(bp, ORCHARD_EINVAL, "bad number size");
        need = 1u << (info & 7);
        break;
    case 0x3: need = 8; break;                      /* date */
    case 0x4: case 0x5: case 0x6: case 0x7:         /* data, strings */
        rc = bp_count(bp, &pos, info, &count);
        need = type == 0x6 ? count * 2 : count;
        if (!rc && count > bp->len)
            rc = bp_fail(bp, ORCHARD_EINVAL, "length out of range");
        if (!rc && type == 0x6 && need <= bp->table_off - pos && !bp_utf16_ok(bp, pos, count))
            rc = bp_fail(bp, ORCHARD_EINVAL, "broken UTF-16 string");
        /* Writers use the ASCII form only for ASCII text (else UTF-16). */
        if (!rc && type == 0x5 && need <= bp->table_off - pos)
            for (uint64_t i = 0; i < count && !rc; i++)
                if (bp->data[pos + i] >= 0x80)
                    rc = bp_fail(bp, ORCHARD_EINVAL, "non-ASCII byte in an ASCII string");
        break;
    case 0x8: need = info + 1; break;               /* UID */
    case 0xA: case 0xB: case 0xC: case 0xD:         /* array, ordset, set, dict */
        if (depth + 1 > ORCHARD_MAC_MAX_DEPTH) {
            rc = bp_fail(bp, ORCHARD_ETOOBIG, "nested too deep");
            break;
        }
        rc = bp_count(bp, &pos, info, &count);
        if (!rc && type == 0xD && count > UINT64_MAX / 2)
            rc = bp_fail(bp, ORCHARD_EINVAL, "length out of range");
        if (!rc && type == 0xD)
            rc = bp_keys_are_strings(bp, pos, count);
        if (!rc)
            rc = bp_children(bp, idx, pos, type == 0xD ? count * 2 : count, depth + 1);
        break;
    default:
        rc = bp_fail(bp, ORCHARD_EINVAL, "unknown object type");
    }
    if (!rc && need > bp->table_off - pos)
        rc = bp_fail(bp, ORCHARD_EINVAL, "object runs past its end");
    bp->state[idx] = 2;
    return rc;
}

static int bplist_check(const char *data, size_t len, const char *origin, char **error_msg)
{
    bplist bp = {.data = (const uint8_t *)data, .len = len, .origin = origin,
                 .error_msg = error_msg};
    if (len < 8 + 1 + 1 + 32)
        return bp_fail(&bp, ORCHARD_EINVAL, "truncated");
    const uint8_t *t = bp.data + len - 32;
    bp.offset_size = t[6];
    bp.ref_size = t[7];
    bp.n_objects = be_uint(t + 8, 8);
    uint64_t top = be_uint(t + 16, 8);
    bp.table_off = be_uint(t + 24, 8);
    uint64_t body_end = len - 32;
    if (bp.offset_size < 1 || bp.offset_size > 8 || bp.ref_size < 1 || bp.ref_size > 8)
        return bp_fail(&bp, ORCHARD_EINVAL, "bad trailer sizes");
    /* Every object takes a byte and an offset-table entry: more objects than
     * that is the absurd count libplist's recursion used to trip over. */
    if (bp.n_objects == 0 || bp.table_off < 9 || bp.table_off > body_end ||
        bp.n_objects > bp.table_off - 8 ||
        bp.n_objects > (body_end - bp.table_off) / bp.offset_size || top >= bp.n_objects)
        return bp_fail(&bp, ORCHARD_EINVAL, "inconsistent trailer");
    bp.refs_end = bp.table_off;
    bp.state = g_try_malloc0(bp.n_objects);
    bp.height = g_try_malloc0(bp.n_objects);
    bp.nodes = g_try_malloc0_n(bp.n_objects, sizeof *bp.nodes);
    int rc;
    if (!bp.state || !bp.height || !bp.nodes) {
        *error_msg = g_strdup_printf("%s: out of memory", origin);
        rc = ORCHARD_ENOMEM;
    } else {
        rc = bp_visit(&bp, top, 0);
        if (!rc && bp.nodes[top] > MAX_BPLIST_NODES)
            rc = bp_fail(&bp, ORCHARD_ETOOBIG, "expands to too many nodes");
    }
    g_free(bp.state);
    g_free(bp.height);
    g_free(bp.nodes);
    return rc;
}

/* Containers on the deepest path; stops counting past the cap. */
static int plist_depth(plist_t node, int depth)
{
    plist_type type = plist_get_node_type(node);
    if (type != PLIST_ARRAY && type != PLIST_DICT)
        return depth;
    if (++depth > ORCHARD_MAC_MAX_DEPTH)
        return depth;
    int max = depth;
    plist_t child = NULL;
    if (type == PLIST_ARRAY) {
        plist_array_iter it = NULL;
        plist_array_new_iter(node, &it);
        for (plist_array_next_item(node, it, &child); child && max <= ORCHARD_MAC_MAX_DEPTH;
             plist_array_next_item(node, it, &child)) {
            int d = plist_depth(child, depth); /* not inside MAX(): it evaluates twice */
            max = MAX(max, d);
        }
        free(it);
    } else {
        plist_dict_iter it = NULL;
        char *key = NULL;
        plist_dict_new_iter(node, &it);
        for (plist_dict_next_item(node, it, &key, &child); child && max <= ORCHARD_MAC_MAX_DEPTH;
             plist_dict_next_item(node, it, &key, &child)) {
            free(key);
            key = NULL;
            int d = plist_depth(child, depth);
            max = MAX(max, d);
        }
        free(key);
        free(it);
    }
    return max;
}

int orchard_mac_parse_plist(const char *data, size_t len, const char *origin, plist_t *out,
                            char **error_msg)
{
    *out = NULL;
    *error_msg = NULL;
    if (!origin)
        origin = "plist";
    if (len > ORCHARD_MAC_MAX_FILE) {
        *error_msg = g_strdup_printf("%s: %zu bytes, over the %u byte cap", origin, len,
                                     ORCHARD_MAC_MAX_FILE);
        return ORCHARD_ETOOBIG;
    }
    if (!data || len == 0) {
        *error_msg = g_strdup_printf("%s: empty, not a plist", origin);
        return ORCHARD_EINVAL;
    }
    int binary = len >= 8 && memcmp(data, "bplist00", 8) == 0;
    int rc = binary ? bplist_check(data, len, origin, error_msg)
                    : xml_depth_scan(data, len, origin, error_msg);
    if (rc)
        return rc;
    /* libplist gets its own NUL-terminated copy: it must not read past len. */
    char *copy = g_malloc(len + 1);
    memcpy(copy, data, len);
    copy[len] = '\0';
    plist_t root = NULL;
    plist_from_memory(copy, (uint32_t)len, &root);
    g_free(copy);
    if (!root) {
        *error_msg = g_strdup_printf("%s: not a valid %s plist", origin, binary ? "binary" : "XML");
        return ORCHARD_EINVAL;
    }
    if (plist_depth(root, 0) > ORCHARD_MAC_MAX_DEPTH) {
        plist_free(root);
        *error_msg = g_strdup_printf("%s: nested deeper than %d", origin, ORCHARD_MAC_MAX_DEPTH);
        return ORCHARD_ETOOBIG;
    }
    *out = root;
    return 0;
}
