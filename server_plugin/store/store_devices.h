/* Devices on the store: one enrollment per UDID (mdm_enrollments), written
 * by the check-in flow (server_plugin/checkin/) and read by the admin API,
 * the pusher and the tables. Implemented in store_devices.c. All functions
 * return 0 or a negative orchard_error_code and log the store's message on
 * failure; out-parameters are owned by the caller. Times are unix seconds
 * unless named _us (microseconds). */
#ifndef ORCHARD_SERVER_STORE_DEVICES_H
#define ORCHARD_SERVER_STORE_DEVICES_H

#include <glib.h>
#include <stddef.h>

/** One enrollment as the admin API, the tables and the pusher read it. */
typedef struct orchard_device {
    char *udid;
    char *serial_number;  /* NULL when the device did not say */
    char *model;
    char *product_name;
    char *os_version;
    char *build_version;
    char *device_name;
    char *topic;
    char *cert_sha256;    /* hex of the bound identity certificate's DER */
    int enabled;
    int push_token_valid;
    char *push_invalid_reason; /* why the token is invalid (an APNs reason), or NULL */
    char *push_token_hex; /* lower-case hex of the push token, NULL before TokenUpdate */
    char *push_magic;
    int awaiting_configuration;
    int dep_enrolled;     /* enrolled through the DEP enrollment URL (Apple Business Manager) */
    gint64 token_update_tally;
    gint64 last_seen_at;  /* 0: never */
    gint64 created_at;
    gint64 updated_at;
} orchard_device;

void orchard_device_free(orchard_device *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(orchard_device, orchard_device_free)

/** What an Authenticate check-in says about the device. */
typedef struct orchard_device_auth {
    const char *udid;
    const char *cert_sha256;
    const char *serial_number; /* may be NULL */
    const char *model;
    const char *product_name;
    const char *os_version;
    const char *build_version;
    const char *device_name;
    const char *topic;
} orchard_device_auth;

/**
 * Authenticate: insert or replace the UDID's enrollment in one write
 * transaction: record the device, bind cert_sha256 to it, disable it
 * (enabled = 0, push token invalid), delete its queued commands and its
 * mdm_host_profiles rows (its profiles left with the old enrollment, so the
 * reconciler installs them again). Returns 0, or ORCHARD_EEXIST when cert_sha256 is already bound to another
 * UDID (nothing written; *other_udid, when not NULL, names it, g_free).
 */
int orchard_store_device_authenticate(const orchard_device_auth *a, gint64 now, char **other_udid);

/**
 * The UDID bound to a certificate: 0 and *udid (g_free), or ORCHARD_ENOTFOUND.
 */
int orchard_store_device_by_cert(const char *cert_sha256, char **udid);

/** TokenUpdate: store the push token, PushMagic, unlock token (may be NULL/0),
 * AwaitingConfiguration, enable the enrollment, mark the token valid, count
 * the update. ORCHARD_ENOTFOUND when the UDID never authenticated. */
int orchard_store_device_token_update(const char *udid, const unsigned char *token,
                                      size_t token_len, const char *push_magic,
                                      const unsigned char *unlock, size_t unlock_len,
                                      int awaiting_configuration, gint64 now);

/** CheckOut: disable the enrollment. ORCHARD_ENOTFOUND for an unknown UDID. */
int orchard_store_device_checkout(const char *udid, gint64 now);

/** Record that the device spoke (last_seen_at); an Idle report also starts a
 * new polling session at now_us (session_started_at). */
int orchard_store_device_seen(const char *udid, gint64 now, int idle, gint64 now_us);

/** Store / fetch the sealed bootstrap token (the sealing is the check-in
 * flow's; the store only keeps bytes). get: ORCHARD_ENOTFOUND when none. */
int orchard_store_device_bootstrap_set(const char *udid, const void *sealed, size_t len);
int orchard_store_device_bootstrap_get(const char *udid, GBytes **sealed);

/** One device by UDID: 0 and *out, or ORCHARD_ENOTFOUND. */
int orchard_store_device_get(const char *udid, orchard_device **out);

/**
 * Devices ordered by UDID, `per_page` from page `page` (0-based);
 * per_page 0 means all. *out holds orchard_device * (free func set).
 */
int orchard_store_device_list(gint64 page, gint64 per_page, GPtrArray **out);

/** APNs said the token is dead (a permanent error): mark it invalid with
 * the reason until the next TokenUpdate. */
int orchard_store_device_push_invalid(const char *udid, const char *reason, gint64 now);

/** How many enrollments there are, enabled or not, as orchard_store_device_list
 * pages them (added for the hosts page). */
int orchard_store_device_count(gint64 *count);

#endif
