/* macOS update settings (updates.h): Fleet's validation, word for word, and
 * the write that keeps a scope's setting and its Nudge profile together
 * (store_updates.c), so the profile reconciler delivers the Nudge
 * configuration to the Macs below the minimum. Team 0 is the global scope. */
#include "server_plugin/updates/updates.h"

#include "server_plugin/profiles/profiles.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_sql.h"
#include "server_plugin/store/store_updates.h"
#include "server_plugin/users/activity.h"

#include <stdlib.h>
#include <string.h>

/* Fleet's messages (its admin API's validation, docs/macos-updates.md). */
#define MSG_DEADLINE_REQUIRED "deadline is required when minimum_version is provided"
#define MSG_MINIMUM_REQUIRED "minimum_version is required when deadline is provided"
#define MSG_VERSION_FORMAT                                                                     \
    "minimum_version accepts version numbers only. (E.g., \"13.0.1.\") NOT \"Ventura 13\" or " \
    "\"13.0.1 (22A400)\""
#define MSG_DEADLINE_FORMAT "deadline accepts YYYY-MM-DD format only (E.g., \"2023-06-01.\")"

/* ^\d+(\.\d+)?(\.\d+)?$ with ASCII digits, each part at most 6 digits (no
 * macOS version part is longer, and nudge_version_compare takes no more). */
static int version_ok(const char *v)
{
    int parts = 0;
    const char *p = v;
    for (;;) {
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits > 6)
            return 0;
        p += digits;
        parts++;
        if (*p == '\0')
            return 1;
        if (*p != '.' || parts == 3)
            return 0;
        p++;
    }
}

int orchard_macos_updates_day(const char *d, gint64 *utc_midnight)
{
    if (!d || strlen(d) != 10 || d[4] != '-' || d[7] != '-')
        return ORCHARD_EINVAL;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !g_ascii_isdigit(d[i]))
            return ORCHARD_EINVAL;
    int y = atoi(d), m = atoi(d + 5), day = atoi(d + 8);
    if (y < 1 || m < 1 || m > 12 || day < 1 ||
        !g_date_valid_dmy((GDateDay)day, (GDateMonth)m, (GDateYear)y))
        return ORCHARD_EINVAL;
    if (utc_midnight) {
        g_autoptr(GDateTime) dt = g_date_time_new_utc(y, m, day, 0, 0, 0);
        if (!dt)
            return ORCHARD_EINVAL;
        *utc_midnight = g_date_time_to_unix(dt);
    }
    return 0;
}

int orchard_macos_updates_validate(const char *minimum_version, const char *deadline,
                                   const char **field, char **reason)
{
    int has_min = minimum_version && *minimum_version, has_dl = deadline && *deadline;
    *field = NULL;
    *reason = NULL;
    if (!has_min && !has_dl)
        return 0;
    if (has_min && !has_dl) {
        *field = "deadline";
        *reason = g_strdup(MSG_DEADLINE_REQUIRED);
    } else if (has_dl && !has_min) {
        *field = "minimum_version";
        *reason = g_strdup(MSG_MINIMUM_REQUIRED);
    } else if (!version_ok(minimum_version)) {
        *field = "minimum_version";
        *reason = g_strdup(MSG_VERSION_FORMAT);
    } else if (orchard_macos_updates_day(deadline, NULL) != 0) {
        *field = "deadline";
        *reason = g_strdup(MSG_DEADLINE_FORMAT);
    }
    return *reason ? ORCHARD_EINVAL : 0;
}

int orchard_macos_updates_get(gint64 team_id, char **minimum_version, char **deadline)
{
    return orchard_store_macos_updates_get(team_id, minimum_version, deadline);
}

json_t *orchard_macos_updates_json(const char *minimum_version, const char *deadline)
{
    return json_pack("{s:s?, s:s?}", "minimum_version",
                     minimum_version && *minimum_version ? minimum_version : NULL, "deadline",
                     deadline && *deadline ? deadline : NULL);
}

/* A member that must be a string or null: 0 and *out (borrowed, NULL for
 * null or ""), 1 when absent, or -1 for another type. */
static int member(json_t *obj, const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v)
        return 1;
    if (json_is_null(v))
        return 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return -1;
    *out = *json_string_value(v) ? json_string_value(v) : NULL;
    return 0;
}

int orchard_macos_updates_from_json(gint64 team_id, json_t *macos_updates,
                                    char **minimum_version, char **deadline, const char **field,
                                    char **reason)
{
    static const char *const keys[] = {"minimum_version", "deadline"};
    static const char *const fields[] = {"macos_updates.minimum_version",
                                         "macos_updates.deadline"};
    char *cur[2] = {NULL, NULL};
    *minimum_version = *deadline = NULL;
    *field = NULL;
    *reason = NULL;
    int rc = orchard_store_macos_updates_get(team_id, &cur[0], &cur[1]);
    for (int i = 0; rc == 0 && macos_updates && i < 2; i++) {
        const char *v = NULL;
        int m = member(macos_updates, keys[i], &v);
        if (m < 0) {
            *field = fields[i];
            *reason = g_strdup_printf("%s must be a string (or null to turn macOS updates off)",
                                      keys[i]);
            rc = ORCHARD_EINVAL;
        } else if (m == 0) {
            g_free(cur[i]);
            cur[i] = g_strdup(v);
        }
    }
    const char *f = NULL;
    if (rc == 0 && (rc = orchard_macos_updates_validate(cur[0], cur[1], &f, reason)))
        *field = strcmp(f, "deadline") == 0 ? fields[1] : fields[0];
    if (rc) {
        g_free(cur[0]);
        g_free(cur[1]);
        return rc;
    }
    *minimum_version = cur[0];
    *deadline = cur[1];
    return 0;
}

int orchard_macos_updates_set(orchard_ctx *ctx, gint64 team_id, const char *minimum_version,
                              const char *deadline, const char *actor, const char **field,
                              char **reason)
{
    g_autoptr(GBytes) profile = NULL;
    g_autofree char *payload_uuid = NULL, *checksum = NULL, *team_name = NULL;
    int rc = orchard_macos_updates_validate(minimum_version, deadline, field, reason);
    if (rc)
        return rc;
    int on = minimum_version && *minimum_version;
    orchard_nudge_row row = {.identifier = ORCHARD_NUDGE_PROFILE_IDENTIFIER,
                             .name = ORCHARD_NUDGE_PROFILE_NAME};
    if (on) {
        if ((rc = orchard_nudge_profile(team_id, minimum_version, deadline, &profile,
                                        &payload_uuid)))
            return rc;
        gsize len = 0;
        row.content = g_bytes_get_data(profile, &len);
        row.len = len;
        row.payload_uuid = payload_uuid;
        checksum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, row.content, len);
        row.checksum = checksum;
    }
    if ((rc = orchard_store_team_name(team_id, &team_name)))
        return rc;
    rc = orchard_store_macos_updates_set(team_id, on ? minimum_version : NULL,
                                         on ? deadline : NULL, on ? &row : NULL,
                                         g_get_real_time() / G_USEC_PER_SEC);
    if (rc)
        return rc;
    orchard_activity_record(ctx, NULL, actor, "edited_macos_min_version",
                            json_pack("{s:o, s:s?, s:s?, s:s?}", "team_id",
                                      team_id ? json_integer(team_id) : json_null(), "team_name",
                                      team_id ? team_name : NULL, "minimum_version",
                                      on ? minimum_version : NULL, "deadline",
                                      on ? deadline : NULL));
    if (ctx)
        orchard_server_host->job_queue(ctx, ORCHARD_PROFILES_JOB);
    return 0;
}

int orchard_macos_updates_patch(orchard_ctx *ctx, gint64 team_id, json_t *macos_updates,
                                const char *actor, const char **field, char **reason)
{
    g_autofree char *min = NULL, *deadline = NULL;
    int rc = orchard_macos_updates_from_json(team_id, macos_updates, &min, &deadline, field,
                                             reason);
    if (rc)
        return rc;
    const char *f = NULL;
    rc = orchard_macos_updates_set(ctx, team_id, min, deadline, actor, &f, reason);
    /* from_json validated the same values, so this is a race at most; name
     * the field the way the API's callers expect either way. */
    if (rc == ORCHARD_EINVAL)
        *field = f && strcmp(f, "deadline") == 0 ? "macos_updates.deadline"
                                                 : "macos_updates.minimum_version";
    return rc;
}
