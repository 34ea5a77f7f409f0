/* What each host was sent of its configuration profiles (mdm_host_profiles)
 * and the reconciler's reads and writes around it: one read snapshot of
 * hosts, profiles and host rows for a pass; batched writes (commands queued
 * for many hosts, host rows in bulk) inside the reconciler's transactions;
 * the single-row changes the device reports cause; and the reads of the
 * mdm_host_profiles table and the host API. Implemented in
 * store_host_profiles.c; functions return 0 or a negative orchard_error_code
 * and log the store's message on failure. */
#ifndef ORCHARD_SERVER_STORE_HOST_PROFILES_H
#define ORCHARD_SERVER_STORE_HOST_PROFILES_H

#include <orchard/plugin.h>

#include <glib.h>
#include <stddef.h>

/* ---- the reconciler's snapshot (strings live in the snapshot's chunk;
 * identifiers, checksums and UDIDs are interned: two equal strings of one
 * snapshot are one pointer) */

/** A host row's state, as planning reads it. */
typedef enum orchard_hp_status {
    ORCHARD_HP_PENDING = 0,
    ORCHARD_HP_VERIFYING = 1,
    ORCHARD_HP_VERIFIED = 2,
    ORCHARD_HP_FAILED = 3,
    ORCHARD_HP_OTHER = 4
} orchard_hp_status;

/** An mdm_host_profiles row, as far as planning needs it. */
typedef struct orchard_hp_row {
    const char *identifier;
    const char *checksum;
    gint64 profile_id;     /* 0: NULL (the profile is gone) */
    gint64 updated_at;
    int install;           /* operation: 1 install, 0 remove */
    orchard_hp_status status;
} orchard_hp_row;

/** An enabled enrollment and its rows. Times are unix seconds, -1 for never. */
typedef struct orchard_hp_host {
    const char *udid;
    gint64 team_id;
    const char *os_version;  /* NULL when unknown */
    gint64 profile_list_at;  /* the last ProfileList answer */
    gint64 profile_list_asked_at;
    guint rows_start;        /* its rows: snapshot rows [start, start + count) */
    guint rows_count;
} orchard_hp_host;

/** An mdm_profiles row without its content. */
typedef struct orchard_hp_profile {
    gint64 id;
    gint64 team_id;
    const char *kind;
    const char *identifier;
    const char *name;
    const char *payload_uuid;
    const char *checksum;
    const char *applies_below; /* NULL: every host of the team */
} orchard_hp_profile;

typedef struct orchard_hp_snapshot {
    char *desired_version; /* the desired-state marker the snapshot saw (g_free) */
    GArray *hosts;         /* orchard_hp_host */
    GArray *profiles;      /* orchard_hp_profile */
    GArray *rows;          /* orchard_hp_row, grouped by host (rows of disabled hosts left out) */
    GStringChunk *strings;
} orchard_hp_snapshot;

/**
 * Read the marker, every enabled enrollment, every profile (no content) and
 * every host row in one read transaction, so they agree. Returns 0 and
 * fills *out (orchard_hp_snapshot_clear), or a store code (*out empty).
 */
int orchard_store_hp_snapshot(orchard_hp_snapshot *out);
void orchard_hp_snapshot_clear(orchard_hp_snapshot *s);

/* ---- transactions for the reconciler and the reports */

/** Begin a transaction (write 1) for the calls below; failures logged as `what`. */
int orchard_store_hp_begin(int write, const char *what, orchard_store_tx **tx);
/** Commit when rc is 0, else roll back; returns rc or the commit's failure. */
int orchard_store_hp_end(orchard_store_tx *tx, int rc, const char *what);

/**
 * The content of profile `id` if its checksum is still `checksum` (read in
 * tx, so it matches what the transaction writes). 0 and *out
 * (g_bytes_unref), or ORCHARD_ENOTFOUND (deleted or changed since).
 */
int orchard_store_hp_content(orchard_store_tx *tx, gint64 id, const char *checksum,
                             GBytes **out);

/**
 * Queue a command for `n` hosts inside `tx`: the mdm_commands row when
 * `plist` is not NULL (the first batch of a command), and one Pending
 * mdm_command_queue row per UDID, queued_at = now_us. Unlike
 * orchard_store_command_enqueue, nothing checks the UDIDs: the caller read
 * the enrolled hosts in its snapshot and names each once. Rows go in
 * multi-row statements (a round trip per statement on PostgreSQL).
 */
int orchard_store_hp_enqueue(orchard_store_tx *tx, const char *command_uuid,
                             const char *request_type, const void *plist, size_t plist_len,
                             const char *const *udids, size_t n, gint64 now_us);

/**
 * Install rows: each UDID gets (or has replaced) its row for the profile's
 * identifier with the profile's fields, operation install, status pending,
 * no detail, command_uuid, retries 0, updated_at now. Batched like
 * orchard_store_hp_enqueue.
 */
int orchard_store_hp_set_install(orchard_store_tx *tx, const orchard_hp_profile *p,
                                 const char *const *udids, size_t n, const char *command_uuid,
                                 gint64 now);

/** Removal rows: each UDID's row for `identifier` becomes operation remove,
 * status pending, profile_id NULL, carried by command_uuid. */
int orchard_store_hp_set_remove(orchard_store_tx *tx, const char *identifier,
                                const char *const *udids, size_t n, const char *command_uuid,
                                gint64 now);

/** Delete one host row. */
int orchard_store_hp_delete(orchard_store_tx *tx, const char *udid, const char *identifier);

/** Point a host row at another profile with the same identifier and content
 * (a host that moved between teams sharing a profile): no command. */
int orchard_store_hp_relink(orchard_store_tx *tx, const char *udid, const char *identifier,
                            gint64 profile_id, const char *name);

/** Record that ProfileList was queued for these hosts at `now`. */
int orchard_store_hp_list_asked(orchard_store_tx *tx, const char *const *udids, size_t n,
                                gint64 now);

/* ---- what the device reports change (profile_reports.c) */

/** One host row in full. */
typedef struct orchard_hp_state {
    char *udid;
    char *identifier;
    gint64 profile_id; /* 0: NULL */
    char *name;
    char *checksum;
    char *payload_uuid;
    char *operation;
    char *status;
    char *detail;
    char *command_uuid;
    gint64 retries;
    gint64 updated_at;
} orchard_hp_state;

void orchard_hp_state_free(orchard_hp_state *s);

/** The host's rows carried by `command_uuid` (usually one), in tx; free func set. */
int orchard_store_hp_by_command(orchard_store_tx *tx, const char *udid,
                                const char *command_uuid, GPtrArray **out);

/** The host's install rows in verifying or verified, in tx; free func set. */
int orchard_store_hp_installed(orchard_store_tx *tx, const char *udid, GPtrArray **out);

/** Set a row's status, detail, retries, command and updated_at. */
int orchard_store_hp_update(orchard_store_tx *tx, const char *udid, const char *identifier,
                            const char *status, const char *detail, gint64 retries,
                            const char *command_uuid, gint64 now);

/** A ProfileList answer arrived at `now`: profile_list_at = now; *asked_at
 * (may be NULL) gets when the answered list was asked (-1: never). */
int orchard_store_hp_list_answered(orchard_store_tx *tx, const char *udid, gint64 now,
                                   gint64 *asked_at);

/* ---- reads for the mdm_host_profiles table and the host API */

/** A host row with its host's team. */
typedef struct orchard_host_profile {
    orchard_hp_state s;
    gint64 team_id; /* 0: no team */
    char *team;     /* "" for no team */
} orchard_host_profile;

void orchard_host_profile_free(orchard_host_profile *p);

/** Every row (udid NULL) or one host's, ordered by udid and identifier; free func set. */
int orchard_store_host_profiles(const char *udid, GPtrArray **out);

/** A host's team: 0 and *team_id, *team_name (g_free; "" for no team), or ORCHARD_ENOTFOUND. */
int orchard_store_host_team(const char *udid, gint64 *team_id, char **team_name);

/** The team ids of the enrollments on page `page` of `per_page` (0: all),
 * ordered by UDID as orchard_store_device_list pages them: UDID -> gint64 *
 * (g_hash_table_unref). */
int orchard_store_host_teams(gint64 page, gint64 per_page, GHashTable **out);

#endif
