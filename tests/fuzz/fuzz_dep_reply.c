/* Fuzz target: what Apple's DEP service (or whatever answers at
 * mdm.apple_dep_url) sends back, through the client's readers
 * (server_plugin/dep/dep_errors.c). Byte 0 picks the reader: 0-5 a success
 * body of that orchard_dep_reply_kind; otherwise an error answer whose
 * status is 400 + byte 1 (400-655) and whose first line, when there is one
 * in the first 64 bytes, is the Retry-After header. What comes out goes to
 * logs, the admin and the sync: it must be bounded printable text. */
#include "tests/fuzz/fuzz.h"

#include "server_plugin/dep/dep_client.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

static void check_text(const char *s, size_t max)
{
    if (!s)
        abort();
    size_t n = strlen(s);
    if (n == 0 || n > max)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            abort();
}

static void check_code(const char *c)
{
    if (!c)
        return;
    size_t n = strlen(c);
    if (n == 0 || n > ORCHARD_DEP_CODE_MAX)
        abort();
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(c[i]) && c[i] != '_')
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    orchard_dep_result r = {0};
    if (data[0] <= ORCHARD_DEP_REPLY_DETAILS) {
        json_t *out = NULL;
        int rc = orchard_dep_parse_reply((orchard_dep_reply_kind)data[0], data + 1, size - 1,
                                         &out, &r);
        if (rc == 0) {
            if (!json_is_object(out) || r.status != ORCHARD_DEP_OK || r.message)
                abort();
            if (data[0] == ORCHARD_DEP_REPLY_PAGE &&
                !json_is_array(json_object_get(out, "devices")))
                abort();
        } else if (rc != ORCHARD_EPROTO || out || r.status != ORCHARD_DEP_BAD_REPLY) {
            abort();
        } else {
            check_text(r.message, 1024);
        }
        json_decref(out);
    } else {
        const uint8_t *body = data + 2;
        size_t len = size - 2;
        char header[65];
        const char *ra = NULL;
        const uint8_t *nl = memchr(body, '\n', MIN(len, sizeof header));
        if (nl) {
            size_t hl = (size_t)(nl - body);
            memcpy(header, body, hl);
            header[hl] = '\0';
            ra = header;
            body = nl + 1;
            len -= hl + 1;
        }
        orchard_dep_parse_error(400 + data[1], body, len, ra, 1765008000, &r);
        check_text(r.message, 403);
        check_code(r.apple_code);
        if (r.status == ORCHARD_DEP_OK || r.status > ORCHARD_DEP_REFUSED ||
            r.http_status != 400 + data[1])
            abort();
        if (r.retry_after < 0 || r.retry_after > ORCHARD_DEP_RETRY_AFTER_MAX)
            abort();
    }
    orchard_dep_result_clear(&r);
    return 0;
}
