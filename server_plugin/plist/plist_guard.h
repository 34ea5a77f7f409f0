/* A look at a plist's shape before libplist parses it. libplist 2.2
 * recurses once per nesting level without a limit and, for a binary plist,
 * copies an object at every reference to it, so a small hostile body could
 * exhaust the stack or memory. Every plist a device or an admin sends
 * (check-ins and reports, MDM commands) passes here first; both forms are
 * walked without recursion. */
#ifndef ORCHARD_SERVER_PLIST_GUARD_H
#define ORCHARD_SERVER_PLIST_GUARD_H

#include <stddef.h>

typedef struct orchard_plist_limits {
    int max_depth;       /* deepest <dict>/<array> nesting (>= 1) */
    long max_nodes;      /* most elements (XML) or objects after expansion (binary) */
    int allow_binary;    /* 0: a "bplist00" body is refused */
} orchard_plist_limits;

/**
 * Check `data` against `lim`: XML (comments, CDATA and processing
 * instructions skipped; a DOCTYPE with an internal subset refused, so no
 * entity is ever declared) or, when allowed, a binary plist's trailer,
 * offset table, references, nesting and expansion. Returns 0, or
 * ORCHARD_ETOOBIG (too deep, too many nodes) or ORCHARD_EINVAL (truncated,
 * broken, refused form), with *why a static English reason.
 */
int orchard_plist_guard(const void *data, size_t len, const orchard_plist_limits *lim,
                        const char **why);

#endif
