/* The look at a plist's shape before libplist parses it (command.h):
 * libplist 2.2 recurses once per nesting level without a limit and, for a
 * binary plist, copies an object at every reference to it, so a small hostile
 * body can exhaust the stack or memory. Both forms are walked here without
 * recursion. */
#include "server_plugin/commands/command.h"

#include <orchard/plugin.h>

#include <stdint.h>
#include <string.h>

/* Objects a binary plist may expand to once libplist copies shared ones. */
#define MAX_BPLIST_NODES (1u << 20)

/* ---- XML: count <dict>/<array> nesting outside comments and CDATA */

static const char *find_lit(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    for (; (size_t)(end - p) >= n; p++)
        if (memcmp(p, lit, n) == 0)
            return p + n;
    return NULL;
}

static int tag_is(const char *p, const char *end, const char *name)
{
    size_t n = strlen(name);
    if ((size_t)(end - p) <= n || memcmp(p, name, n) != 0)
        return 0;
    char c = p[n];
    return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int xml_scan(const char *p, const char *end, int max_depth, char **reason)
{
    const char *start = p;
    int depth = 0;
    while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
        const char *skip_to = NULL;
        p++;
        if (end - p >= 3 && memcmp(p, "!--", 3) == 0)
            skip_to = "-->";
        else if (end - p >= 8 && memcmp(p, "![CDATA[", 8) == 0)
            skip_to = "]]>";
        else if (p < end && (*p == '?' || *p == '!'))
            skip_to = ">";
        if (skip_to) {
            p = find_lit(p, end, skip_to);
            if (!p)
                return 0; /* truncated: libplist refuses it */
            continue;
        }
        int closing = p < end && *p == '/';
        const char *name = p + closing;
        if (!tag_is(name, end, "dict") && !tag_is(name, end, "array"))
            continue;
        const char *gt = memchr(name, '>', (size_t)(end - name));
        if (!gt)
            return 0;
        if (closing) {
            if (depth > 0)
                depth--;
        } else if (gt[-1] != '/' && ++depth > max_depth) {
            *reason = g_strdup_printf("the plist nests deeper than %d levels (at byte %td)",
                                      max_depth, name - start);
            return ORCHARD_ETOOBIG;
        }
        p = gt + 1;
    }
    return 0;
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

static int bad(char **reason, const char *what)
{
    *reason = g_strdup_printf("not a valid binary plist: %s", what);
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

static int bplist_scan(const unsigned char *d, size_t len, int max_depth, char **reason)
{
    if (len < 8 + 32)
        return bad(reason, "shorter than its header and trailer");
    const unsigned char *t = d + len - 32;
    bplist b = {.d = d, .len = len, .offset_size = t[6], .ref_size = t[7],
                .n_objects = be_uint(t + 8, 8), .top = be_uint(t + 16, 8),
                .table = be_uint(t + 24, 8)};
    if (b.offset_size < 1 || b.offset_size > 8 || b.ref_size < 1 || b.ref_size > 8)
        return bad(reason, "bad offset or reference size");
    if (b.n_objects == 0 || b.top >= b.n_objects || b.table < 8 || b.table > len - 32 ||
        b.n_objects > (len - 32 - b.table) / b.offset_size)
        return bad(reason, "bad trailer");

    frame *stack = g_new0(frame, (gsize)max_depth + 1);
    uint64_t nodes = 0, off;
    int depth = 0, rc = 0;
    uint64_t ref = b.top;
    for (;;) {
        /* visit `ref` */
        if (++nodes > MAX_BPLIST_NODES) {
            *reason = g_strdup_printf("the plist expands to more than %u objects",
                                      MAX_BPLIST_NODES);
            rc = ORCHARD_ETOOBIG;
            break;
        }
        uint64_t refs = 0, n = 0;
        int c = object_offset(&b, ref, &off) ? ORCHARD_EINVAL : container(&b, off, &refs, &n);
        if (c < 0) {
            rc = bad(reason, "an object or reference out of range");
            break;
        }
        if (c == 1) {
            if (depth == max_depth) {
                *reason = g_strdup_printf("the plist nests deeper than %d levels", max_depth);
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

int orchard_plist_precheck(const void *data, size_t len, int max_depth, char **reason)
{
    const char *p = data;
    *reason = NULL;
    if (len >= 8 && memcmp(p, "bplist00", 8) == 0)
        return bplist_scan(data, len, max_depth, reason);
    return xml_scan(p, p + len, max_depth, reason);
}
