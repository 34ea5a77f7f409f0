/* Fuzz target: an admin's configuration profile (POST
 * .../mdm/apple/profiles, the batch, `orchard apply`) through
 * orchard_profile_validate: size cap, CMS SignedData opened with OpenSSL,
 * the plist guard, libplist, the profile's shape. What it accepts must
 * carry the three fields as non-empty UTF-8 text; every refusal says why. */
#include "tests/fuzz/fuzz.h"

#include "server_plugin/profiles/profiles.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

static void check_text(const char *s)
{
    if (!s || !*s || strlen(s) > 255 || !g_utf8_validate(s, -1, NULL))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    orchard_profile_info info;
    char *reason = NULL;
    if (orchard_profile_validate(data, size, &info, &reason) == 0) {
        check_text(info.identifier);
        check_text(info.name);
        check_text(info.payload_uuid);
        if (reason)
            abort(); /* an acceptance has no reason */
        orchard_profile_info_clear(&info);
    } else if (!reason || !g_utf8_validate(reason, -1, NULL) || info.identifier) {
        abort(); /* every refusal says why, as JSON can carry it, and fills nothing */
    }
    g_free(reason);
    return 0;
}
