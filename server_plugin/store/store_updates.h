/* macOS updates on the store (macos_update_settings, orchard's Nudge rows in
 * mdm_profiles, and the device facts on mdm_enrollments that
 * DeviceInformation refreshes): the rows behind server_plugin/updates/ and
 * the macos_updates table. Implemented in store_updates.c; functions return
 * 0 or a negative code and own nothing they are given. */
#ifndef ORCHARD_SERVER_STORE_UPDATES_H
#define ORCHARD_SERVER_STORE_UPDATES_H

#include <glib.h>
#include <stddef.h>

/** A scope's setting: 0 and both (g_free) or both NULL when off. */
int orchard_store_macos_updates_get(gint64 team_id, char **minimum_version, char **deadline);

/** orchard's Nudge profile for a scope, as store_updates writes it. */
typedef struct orchard_nudge_row {
    const char *identifier;
    const char *name;
    const char *payload_uuid;
    const void *content;
    size_t len;
    const char *checksum;
} orchard_nudge_row;

/**
 * In one write transaction with the desired-state marker: set the scope's
 * row (minimum_version NULL: delete it) and its Nudge profile (`nudge`
 * NULL: delete it; applies_below = minimum_version). Team 0 always exists;
 * another missing team is ORCHARD_ENOTFOUND. A custom profile that took
 * the Nudge identifier is ORCHARD_EEXIST (nothing written).
 */
int orchard_store_macos_updates_set(gint64 team_id, const char *minimum_version,
                                    const char *deadline, const orchard_nudge_row *nudge,
                                    gint64 now);

/** A team's name ("" for team 0): 0 and *name (g_free), or ORCHARD_ENOTFOUND. */
int orchard_store_team_name(gint64 team_id, char **name);

/**
 * Enabled hosts due for DeviceInformation at `now`: never asked, or asked
 * at or before now - interval (so never twice while an answer may still
 * come). At most `limit` UDIDs (char *, g_free) in *out.
 */
int orchard_store_device_info_due(gint64 now, gint64 interval, gint64 limit, GPtrArray **out);

/** Record that DeviceInformation was queued for these hosts at `now`. */
int orchard_store_device_info_asked(const char *const *udids, size_t n, gint64 now);

/** What a DeviceInformation answer said (NULL: not in the answer). */
typedef struct orchard_device_facts {
    const char *os_version, *build_version, *product_name, *serial_number, *device_name, *model;
} orchard_device_facts;

/**
 * Store the facts on the host, device_info_at = now; when os_version
 * changed, the desired-state marker in the same transaction (*os_changed
 * 1). ORCHARD_ENOTFOUND for an unknown host.
 */
int orchard_store_device_info_save(const char *udid, const orchard_device_facts *f, gint64 now,
                                   int *os_changed);

/** One enabled host as macOS updates sees it (orchard_update_host_free). */
typedef struct orchard_update_host {
    char *udid, *serial_number, *team_name, *os_version, *minimum_version, *deadline;
    char *nudge_status; /* the Nudge profile's status on the host, NULL: none */
    char *nudge_pkg_sha256;
    gint64 team_id;
} orchard_update_host;

void orchard_update_host_free(orchard_update_host *h);

/** Every enabled host, by UDID, with its scope's setting (free func set). */
int orchard_store_update_hosts(GPtrArray **out);

/** Record that the Nudge package with `sha256` was queued for these hosts. */
int orchard_store_nudge_pkg_queued(const char *const *udids, size_t n, const char *sha256);

/** os_version and its enabled hosts' count (team_id < 0: every team). */
typedef struct orchard_os_count {
    char *os_version;
    gint64 hosts;
} orchard_os_count;

void orchard_os_count_free(orchard_os_count *c);
int orchard_store_os_versions(gint64 team_id, GPtrArray **out);

/** The enabled hosts of team `team_id` (0: no team) per os_version, one row
 * with os_version NULL for those whose version is not known yet; read from
 * the index alone (schema step 6). */
int orchard_store_team_os_counts(gint64 team_id, GPtrArray **out);

#endif
