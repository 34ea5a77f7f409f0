/* Fuzz target: a multipart/form-data upload (server_plugin/api/multipart.c).
 * The input is the request's Content-Type, a newline, then the body. What
 * the parser accepts must be parts whose data lie inside the body, with
 * names, within the caps; every refusal says why in UTF-8. */
#include "tests/fuzz/fuzz.h"

#include "server_plugin/api/multipart.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl)
        return 0;
    char *ct = g_strndup((const char *)data, (gsize)(nl - data));
    const uint8_t *body = nl + 1;
    size_t len = size - (size_t)(body - data);
    /* The body in a buffer of its own size, so ASan sees any read past it. */
    uint8_t *copy = len ? g_memdup2(body, len) : g_malloc0(1);
    orchard_multipart m;
    char *reason = NULL;
    if (orchard_multipart_parse(ct, copy, len, &m, &reason) == 0) {
        if (m.n == 0 || m.n > ORCHARD_MULTIPART_MAX_PARTS || reason)
            abort();
        for (size_t i = 0; i < m.n; i++) {
            const orchard_multipart_part *p = &m.parts[i];
            if (!p->name || !*p->name || p->data < copy || p->data + p->len > copy + len)
                abort();
            if (orchard_multipart_get(&m, p->name) != p)
                abort(); /* names are unique */
        }
        orchard_multipart_clear(&m);
    } else if (!reason || !g_utf8_validate(reason, -1, NULL) || m.n != 0) {
        abort();
    }
    g_free(reason);
    g_free(copy);
    g_free(ct);
    return 0;
}
