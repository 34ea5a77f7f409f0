/* Fuzz target: plists from a Mac (files under the root, `profiles` output),
 * XML or binary: orchard_mac_parse_plist with its caps, then what the
 * tables do with a tree: the JSON conversion, the canonical hash and the
 * typed lookups. */
#include "tests/fuzz/fuzz.h"

#include "tables/mac/mac_source.h"
#include "tables/mac/plist_util.h"

#include <glib.h>

/* Keys the agent tables look up (any type: the readers must check). */
static const char *const keys[] = {"PayloadIdentifier", "PayloadUUID", "InstallDate",
                                   "PayloadVersion", "PayloadRemovalDisallowed",
                                   "requiredInstallationDate"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    plist_t root = NULL;
    char *err = NULL;

    if (orchard_mac_parse_plist((const char *)data, size, "fuzz.plist", &root, &err) == 0) {
        json_t *json = orchard_plist_to_json(root);
        char *sum = orchard_plist_canonical_sha256(root);
        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
            gint64 v;
            (void)orchard_plist_string(root, keys[i]);
            (void)orchard_plist_int(root, keys[i], &v);
            (void)orchard_plist_bool(root, keys[i]);
            if (orchard_plist_date(root, keys[i], &v) == 0)
                g_free(orchard_format_utc(v));
        }
        g_free(sum);
        json_decref(json);
        plist_free(root);
    }
    g_free(err);
    return 0;
}
