/* macOS updates (Fleet's "OS updates" for macOS): a minimum version and a
 * deadline per team and globally (team 0), validated as Fleet does
 * (macos_updates.c); the Nudge configuration they imply (nudge_config.c),
 * kept as orchard's own profile in mdm_profiles so the profile reconciler
 * delivers it to the Macs below the minimum; the Macs' OS versions from
 * DeviceInformation (device_info.c); the Nudge package and its manifest
 * (nudge_pkg.c); the os_versions summary. docs/macos-updates.md. */
#ifndef ORCHARD_SERVER_UPDATES_H
#define ORCHARD_SERVER_UPDATES_H

#include <orchard/plugin.h>

#include "tables/nudge_logic.h"

#include <glib.h>
#include <jansson.h>
#include <plist/plist.h>

/** CommandUUIDs of the commands this flow queues (DeviceInformation,
 * InstallEnterpriseApplication) start with this. */
#define ORCHARD_UPDATES_UUID_PREFIX "ORCHARD-UPDATES-"

/** The Nudge managed-preferences domain, and the identifier of the profile
 * that carries it. */
#define ORCHARD_NUDGE_DOMAIN "com.github.macadmins.Nudge"
#define ORCHARD_NUDGE_PROFILE_IDENTIFIER "com.orchard.mdm.nudge"
/** The Nudge profile's PayloadDisplayName (mdm_profiles.name). */
#define ORCHARD_NUDGE_PROFILE_NAME "macOS updates (Nudge, managed by orchard)"
/** The page Nudge's "More info" button opens (Apple's "Update macOS" article). */
#define ORCHARD_NUDGE_ABOUT_URL "https://support.apple.com/en-us/HT201541"

/**
 * Check a macOS update setting as Fleet does: both empty (off) or both set;
 * minimum_version matches ^\d+(\.\d+)?(\.\d+)?$, deadline is YYYY-MM-DD (a
 * real date). NULL counts as empty. Returns 0, or ORCHARD_EINVAL with *field
 * ("minimum_version" / "deadline", static) and *reason (g_free) in Fleet's
 * words ("deadline is required when minimum_version is provided").
 */
int orchard_macos_updates_validate(const char *minimum_version, const char *deadline,
                                   const char **field, char **reason);

/**
 * Whether `yyyy_mm_dd` is a deadline as Fleet takes it: YYYY-MM-DD naming a
 * real day of the Gregorian calendar. Returns 0 and, when utc_midnight is
 * not NULL, the unix time of that day's 00:00 UTC; else ORCHARD_EINVAL.
 */
int orchard_macos_updates_day(const char *yyyy_mm_dd, gint64 *utc_midnight);

/**
 * Set team `team_id`'s macOS update setting (0: global; both empty: off)
 * after validating it, in one write transaction with its Nudge profile
 * (created, replaced when the setting changed, deleted when off) and the
 * desired-state marker, and record the activity as `actor`. Returns 0,
 * ORCHARD_EINVAL (*field, *reason as orchard_macos_updates_validate),
 * ORCHARD_ENOTFOUND (no such team), or a store code.
 */
int orchard_macos_updates_set(orchard_ctx *ctx, gint64 team_id, const char *minimum_version,
                              const char *deadline, const char *actor, const char **field,
                              char **reason);

/** A scope's setting: 0 and *minimum_version, *deadline (g_free; both NULL when off). */
int orchard_macos_updates_get(gint64 team_id, char **minimum_version, char **deadline);

/** Nudge's JSON for a setting (json_decref): Fleet's keys and values, docs/macos-updates.md. */
json_t *orchard_nudge_config_json(const char *minimum_version, const char *deadline);

/**
 * The .mobileconfig (XML) that carries that configuration as one
 * com.github.macadmins.Nudge managed-preferences payload, identifier
 * ORCHARD_NUDGE_PROFILE_IDENTIFIER; the same setting gives the same bytes
 * (UUIDs derived from the content), so an unchanged setting never
 * reinstalls. Returns 0 and *out (g_bytes_unref), *payload_uuid (g_free).
 */
int orchard_nudge_profile(gint64 team_id, const char *minimum_version, const char *deadline,
                          GBytes **out, char **payload_uuid);

/**
 * A device's report on a command whose CommandUUID starts with
 * ORCHARD_UPDATES_UUID_PREFIX: a DeviceInformation answer's QueryResponses
 * update the host's facts (os_version, ...; a changed OS version marks the
 * desired state changed, so the Nudge profile follows). Returns 0 or a
 * store code (logged).
 */
int orchard_updates_report(orchard_ctx *ctx, const char *udid, const char *command_uuid,
                           const char *status, plist_t root, gint64 now);

/**
 * The setting a PATCH asks for: `macos_updates` is the request's
 * {"minimum_version", "deadline"} object (NULL: no change); a key left out
 * keeps team `team_id`'s current value, null or "" clears it. Validated as
 * orchard_macos_updates_validate (also a value that is not a string or
 * null). Returns 0 and *minimum_version, *deadline (g_free; NULL when off),
 * or ORCHARD_EINVAL with *field (static, "macos_updates.deadline") and
 * *reason (g_free), or a store code.
 */
int orchard_macos_updates_from_json(gint64 team_id, json_t *macos_updates,
                                    char **minimum_version, char **deadline, const char **field,
                                    char **reason);

/** {"minimum_version": ..., "deadline": ...} with null for off (json_decref). */
json_t *orchard_macos_updates_json(const char *minimum_version, const char *deadline);

/**
 * Store what an Acknowledged DeviceInformation answer says (QueryResponses:
 * OSVersion, BuildVersion, ...) as the host's facts; a changed OS version
 * moves the desired-state marker. Also called for DeviceInformation an
 * admin queued (POST /commands/run): the facts are as good. A malformed
 * answer is logged and ignored (0). Returns 0 or a store code (logged).
 */
int orchard_updates_save_facts(orchard_ctx *ctx, const char *udid, plist_t root, gint64 now);

/* ---- the shared save path and the page's preview (orchard_macos_updates_patch in
 * macos_updates.c; the rest in nudge_preview.c) ---- */

/**
 * Apply what a PATCH or the macOS updates page asks for: `macos_updates` is
 * the API's {"minimum_version", "deadline"} object (merged with the stored
 * setting as orchard_macos_updates_from_json does), validated in Fleet's
 * words, then written with its Nudge profile, the desired-state marker and
 * the activity (orchard_macos_updates_set). PATCH /config, PATCH
 * /teams/{id} and the page all call this. Returns 0; ORCHARD_EINVAL with
 * *field ("macos_updates.minimum_version" / "macos_updates.deadline",
 * static) and *reason (g_free); ORCHARD_ENOTFOUND (no such team);
 * ORCHARD_EEXIST (a custom profile holds the Nudge identifier); a store code.
 * Nothing is written on failure.
 */
int orchard_macos_updates_patch(orchard_ctx *ctx, gint64 team_id, json_t *macos_updates,
                                const char *actor, const char **field, char **reason);

/** The most times a previewed day's window opens (one per minute at most). */
#define ORCHARD_NUDGE_PREVIEW_OPENS_MAX 1440

/**
 * One UTC day of Nudge's schedule on a Mac below the minimum that is on all
 * day, its window shown at 00:00: the phase and refresh cycle in force at
 * the start of each hour, whether the window can be closed then, and the
 * minutes (after 00:00) at which the window opens.
 */
typedef struct orchard_nudge_day {
    gint64 start; /* 00:00 UTC of the day, Unix seconds */
    nudge_phase phase[24];
    gint64 cycle[24];    /* seconds */
    int dismissible[24]; /* nudge_dismissible with no deferrals */
    int opens[ORCHARD_NUDGE_PREVIEW_OPENS_MAX];
    int n_opens;
} orchard_nudge_day;

/**
 * Simulate `day` ("YYYY-MM-DD", UTC) under a Nudge configuration as
 * orchard_nudge_config_json makes it: the deadline is its first
 * requiredInstallationDate, the refresh cycles its userExperience (Nudge's
 * defaults for a missing key), the windows Nudge's defaults (approaching
 * 72 h, imminent 24 h) unless the configuration sets them. Minute by
 * minute, as Nudge's timer does, the window opens when the time since it
 * last opened reaches the cycle in force. Pure: no clock, no store.
 * Returns 0 and *out, or ORCHARD_EINVAL for a day that is not a real
 * YYYY-MM-DD or a configuration without a readable deadline.
 */
int orchard_nudge_preview_day(json_t *nudge_config, const char *day, orchard_nudge_day *out);

/**
 * The page's preview of a setting seen on `today` (YYYY-MM-DD, UTC): today,
 * the deadline's eve and the deadline day (those not before today, each
 * once), as {"deadline_at": "YYYY-MM-DD HH:MM UTC", "past": bool, "days":
 * [{"date", "label", "today", "past", "hours": [{"time", "phase", "opens",
 * "locked"}], "opens": "HH:MM, ...", "segments": [{"from", "first",
 * "once_a_day", "every_hours", "hourly", "every_minutes", "locked"}]}]}
 * (json_decref), where a segment is a run of the same refresh cycle.
 * NULL when the setting is off or `today` is no date.
 */
json_t *orchard_nudge_preview_json(const char *minimum_version, const char *deadline,
                                   const char *today);

#endif
