/* The shape check every plist from a device or an admin passes before
 * libplist sees it (plist_guard.h): XML by a forward scan, binary by an
 * explicit stack over the offset table, neither recursive. */
#include "server_plugin/plist/plist_guard.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <stdint.h>
#include <string.h>

/* ---- XML: count elements and <dict>/<array> nesting outside comments, CDATA
 * and processing instructions */

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

static int scan_xml(const char *data, size_t len, const orchard_plist_limits *lim,
                    const char **why)
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
        if (++nodes > lim->max_nodes) {
            *why = "too many plist elements";
            return ORCHARD_ETOOBIG;
        }
        if (container && !self_closing && ++depth > lim->max_depth) {
            *why = "the plist nests deeper than the limit";
            return ORCHARD_ETOOBIG;
        }
    }
    return 0;
truncated:
    *why = "truncated plist";
    return ORCHARD_EINVAL;
}

/* ---- binary: the trailer, the offset table and every container's references */

typedef struct {
    const unsigned char *d;
    size_t len;
    unsigned offset_size, ref_size;
    uint64_t n_objects, top, table;
} bplist;

static uint64_t be_uint(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static int bad(const char **why, const char *what)
{
    *why = what;
    return ORCHARD_EINVAL;
}

/* Where object `ref` starts: 0 and *off, or ORCHARD_EINVAL. */
static int object_offset(const bplist *b, uint64_t ref, uint64_t *off)
{
    if (ref >= b->n_objects)
        return ORCHARD_EINVAL;
    *off = be_uint(b->d + b->table + ref * b->offset_size, b->offset_size);
    return *off >= 8 && *off < b->table ? 0 : ORCHARD_EINVAL;
}

/* A container at `off`: 1 with its first reference and count of references,
 * 0 for anything else, negative when broken. */
static int container(const bplist *b, uint64_t off, uint64_t *refs, uint64_t *n)
{
    unsigned marker = b->d[off], type = marker >> 4;
    if (type != 0xA && type != 0xC && type != 0xD)
        return 0;
    uint64_t count = marker & 0xF, pos = off + 1;
    if (count == 0xF) {
        if (pos >= b->table || (b->d[pos] & 0xF0) != 0x10 || (b->d[pos] & 0x0F) > 3)
            return ORCHARD_EINVAL;
        unsigned width = 1u << (b->d[pos] & 0x0F);
        if (pos + 1 + width > b->table)
            return ORCHARD_EINVAL;
        count = be_uint(b->d + pos + 1, width);
        pos += 1 + width;
    }
    if (type == 0xD) {
        if (count > UINT64_MAX / 2)
            return ORCHARD_EINVAL;
        count *= 2; /* keys, then values */
    }
    if (count > (b->table - pos) / b->ref_size)
        return ORCHARD_EINVAL;
    *refs = pos;
    *n = count;
    return 1;
}

typedef struct {
    uint64_t refs, n, next;
} frame;

static int bplist_scan(const unsigned char *d, size_t len, const orchard_plist_limits *lim,
                       const char **why)
{
    if (len < 8 + 32)
        return bad(why, "not a valid binary plist: shorter than its header and trailer");
    const unsigned char *t = d + len - 32;
    bplist b = {.d = d, .len = len, .offset_size = t[6], .ref_size = t[7],
                .n_objects = be_uint(t + 8, 8), .top = be_uint(t + 16, 8),
                .table = be_uint(t + 24, 8)};
    if (b.offset_size < 1 || b.offset_size > 8 || b.ref_size < 1 || b.ref_size > 8)
        return bad(why, "not a valid binary plist: bad offset or reference size");
    if (b.n_objects == 0 || b.top >= b.n_objects || b.table < 8 || b.table > len - 32 ||
        b.n_objects > (len - 32 - b.table) / b.offset_size)
        return bad(why, "not a valid binary plist: bad trailer");

    frame *stack = g_new0(frame, (gsize)lim->max_depth + 1);
    uint64_t nodes = 0, off;
    int depth = 0, rc = 0;
    uint64_t ref = b.top;
    for (;;) {
        /* visit `ref` */
        if (++nodes > (uint64_t)lim->max_nodes) {
            *why = "the plist expands to too many objects";
            rc = ORCHARD_ETOOBIG;
            break;
        }
        uint64_t refs = 0, n = 0;
        int c = object_offset(&b, ref, &off) ? ORCHARD_EINVAL : container(&b, off, &refs, &n);
        if (c < 0) {
            rc = bad(why, "not a valid binary plist: an object or reference out of range");
            break;
        }
        if (c == 1) {
            if (depth == lim->max_depth) {
                *why = "the plist nests deeper than the limit";
                rc = ORCHARD_ETOOBIG;
                break;
            }
            stack[depth++] = (frame){.refs = refs, .n = n, .next = 0};
        }
        /* the next reference to visit: climb out of finished containers */
        while (depth > 0 && stack[depth - 1].next == stack[depth - 1].n)
            depth--;
        if (depth == 0)
            break;
        frame *f = &stack[depth - 1];
        ref = be_uint(d + f->refs + f->next * b.ref_size, b.ref_size);
        f->next++;
    }
    g_free(stack);
    return rc;
}

int orchard_plist_guard(const void *data, size_t len, const orchard_plist_limits *lim,
                        const char **why)
{
    const char *p = data;
    *why = NULL;
    if (len >= 8 && memcmp(p, "bplist00", 8) == 0) {
        if (!lim->allow_binary) {
            *why = "binary plists are not accepted";
            return ORCHARD_EINVAL;
        }
        return bplist_scan(data, len, lim, why);
    }
    return scan_xml(p, len, lim, why);
}
