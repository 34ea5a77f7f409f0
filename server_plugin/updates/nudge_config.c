/* Nudge's configuration for a macOS update setting (updates.h): the JSON
 * Fleet generates (docs/macos-updates.md), and the same keys as a
 * .mobileconfig with one com.github.macadmins.Nudge managed-preferences
 * payload, which the profile reconciler installs on Macs below the minimum.
 * Built with jansson and libplist, never by pasting text into XML. */
#include "server_plugin/updates/updates.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Nudge's deadline is 20:00 UTC on the deadline's day, as Fleet sets it. */
#define DEADLINE_TIME "T20:00:00Z"

json_t *orchard_nudge_config_json(const char *minimum_version, const char *deadline)
{
    if (!minimum_version || !*minimum_version || !deadline || !*deadline)
        return NULL;
    g_autofree char *when = g_strconcat(deadline, DEADLINE_TIME, NULL);
    return json_pack(
        "{s:[{s:s, s:s, s:[{s:s, s:s}]}], s:{s:b, s:b, s:[{s:s, s:s, s:s}]}, "
        "s:{s:i, s:i, s:i, s:i}}",
        "osVersionRequirements", "requiredInstallationDate", when, "requiredMinimumOSVersion",
        minimum_version, "aboutUpdateURLs", "_language", "en", "aboutUpdateURL",
        ORCHARD_NUDGE_ABOUT_URL,
        "userInterface", "simpleMode", 1, "showDeferralCount", 0, "updateElements", "_language",
        "en", "actionButtonText", "Update", "mainHeader", "Your device requires an update",
        "userExperience", "initialRefreshCycle", 86400, "approachingRefreshCycle", 86400,
        "imminentRefreshCycle", 7200, "elapsedRefreshCycle", 3600);
}

/* JSON as plist values: objects, arrays, strings, booleans and
 * non-negative integers are all Nudge's configuration holds. NULL for
 * anything else. */
static plist_t plist_of_json(json_t *v)
{
    plist_t out = NULL;
    if (json_is_object(v)) {
        const char *k;
        json_t *e;
        out = plist_new_dict();
        json_object_foreach(v, k, e) {
            plist_t c = plist_of_json(e);
            if (!c)
                goto fail;
            plist_dict_set_item(out, k, c);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        out = plist_new_array();
        json_array_foreach(v, i, e) {
            plist_t c = plist_of_json(e);
            if (!c)
                goto fail;
            plist_array_append_item(out, c);
        }
    } else if (json_is_string(v)) {
        out = plist_new_string(json_string_value(v));
    } else if (json_is_boolean(v)) {
        out = plist_new_bool(json_is_true(v));
    } else if (json_is_integer(v) && json_integer_value(v) >= 0) {
        out = plist_new_uint((uint64_t)json_integer_value(v));
    }
    return out;
fail:
    plist_free(out);
    return NULL;
}

/* A UUID (upper case, version 5 style) from the SHA-256 of `what` and the
 * setting: the same setting always gives the same profile bytes. */
static char *derived_uuid(const char *what, gint64 team_id, const char *min, const char *dl)
{
    g_autofree char *seed = g_strdup_printf("orchard-nudge\n%s\n%" G_GINT64_FORMAT "\n%s\n%s",
                                            what, team_id, min, dl);
    guint8 d[32];
    gsize n = sizeof d;
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(c, (const guchar *)seed, -1);
    g_checksum_get_digest(c, d, &n);
    g_checksum_free(c);
    d[6] = (guint8)((d[6] & 0x0f) | 0x50);
    d[8] = (guint8)((d[8] & 0x3f) | 0x80);
    return g_strdup_printf("%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
                           d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10],
                           d[11], d[12], d[13], d[14], d[15]);
}

static void set_string(plist_t dict, const char *key, const char *value)
{
    plist_dict_set_item(dict, key, plist_new_string(value));
}

int orchard_nudge_profile(gint64 team_id, const char *minimum_version, const char *deadline,
                          GBytes **out, char **payload_uuid)
{
    json_t *config = orchard_nudge_config_json(minimum_version, deadline);
    plist_t payload = config ? plist_of_json(config) : NULL;
    *out = NULL;
    *payload_uuid = NULL;
    json_decref(config);
    if (!payload)
        return ORCHARD_EINVAL;
    g_autofree char *inner_uuid = derived_uuid("payload", team_id, minimum_version, deadline);
    g_autofree char *top_uuid = derived_uuid("profile", team_id, minimum_version, deadline);
    set_string(payload, "PayloadType", ORCHARD_NUDGE_DOMAIN);
    set_string(payload, "PayloadIdentifier", ORCHARD_NUDGE_PROFILE_IDENTIFIER ".nudge");
    set_string(payload, "PayloadUUID", inner_uuid);
    set_string(payload, "PayloadDisplayName", "Nudge");
    plist_dict_set_item(payload, "PayloadVersion", plist_new_uint(1));

    plist_t top = plist_new_dict();
    plist_t content = plist_new_array();
    plist_array_append_item(content, payload);
    plist_dict_set_item(top, "PayloadContent", content);
    set_string(top, "PayloadDescription",
               "Nudge's configuration for the macOS minimum version and deadline, set by "
               "orchard (Fleet's macOS updates).");
    set_string(top, "PayloadDisplayName", ORCHARD_NUDGE_PROFILE_NAME);
    set_string(top, "PayloadIdentifier", ORCHARD_NUDGE_PROFILE_IDENTIFIER);
    set_string(top, "PayloadOrganization", "orchard");
    set_string(top, "PayloadScope", "System");
    set_string(top, "PayloadType", "Configuration");
    set_string(top, "PayloadUUID", top_uuid);
    plist_dict_set_item(top, "PayloadVersion", plist_new_uint(1));

    char *xml = NULL;
    uint32_t len = 0;
    plist_to_xml(top, &xml, &len);
    plist_free(top);
    if (!xml)
        return ORCHARD_ENOMEM;
    *out = g_bytes_new(xml, len);
    free(xml);
    *payload_uuid = g_steal_pointer(&top_uuid);
    return 0;
}
