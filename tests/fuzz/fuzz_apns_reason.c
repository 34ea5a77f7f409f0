/* Fuzz target: an APNs error body (what the push service, or whatever
 * answers at mdm.apple_apns_url, sends back) through orchard_apns_reason;
 * what it accepts goes into logs and the apns_pushes table, so it must be a
 * short word of letters and digits, and a refusal leaves "" behind. */
#include "tests/fuzz/fuzz.h"

#include "server_plugin/apns/apns.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[96];
    memset(out, 'x', sizeof out);
    int rc = orchard_apns_reason(data, size, out, sizeof out);
    size_t n = strnlen(out, sizeof out);
    if (n == sizeof out)
        abort(); /* always terminated */
    if (rc != 0 && n != 0)
        abort(); /* a refusal leaves nothing */
    if (rc == 0) {
        if (n == 0 || n > 64)
            abort();
        for (size_t i = 0; i < n; i++)
            if (!g_ascii_isalnum(out[i]))
                abort();
    }
    /* Every answer also gets a verdict; none may crash on what was read. */
    (void)orchard_apns_classify(0, (int)(size % 600), rc == 0 ? out : NULL);
    return 0;
}
