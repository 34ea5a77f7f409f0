/* Configuration profiles on the store (mdm_profiles): what the hosts of a
 * team SHOULD have. The API and `orchard apply` write here through
 * server_plugin/profiles/ (profiles_api.c); the reconciler reads it and
 * keeps mdm_host_profiles (what hosts were sent). Every write marks the
 * desired state changed in its own transaction (orchard_sstore_desired_touch). */
#ifndef ORCHARD_SERVER_STORE_PROFILES_H
#define ORCHARD_SERVER_STORE_PROFILES_H

#include <orchard/plugin.h>

#include <glib.h>
#include <stddef.h>

/** mdm_profiles.kind of an admin's upload, and of orchard's own Nudge profile. */
#define ORCHARD_PROFILE_KIND_CUSTOM "custom"
#define ORCHARD_PROFILE_KIND_NUDGE "nudge"

/** A stored profile (orchard_profile_free). */
typedef struct orchard_profile {
    gint64 id;
    gint64 team_id;
    char *kind;
    char *identifier;
    char *name;
    char *payload_uuid;
    char *checksum;   /* lower-case hex SHA-256 of content */
    GBytes *content;  /* as uploaded; only orchard_store_profile_get fills it */
    gint64 created_at;
    gint64 updated_at;
} orchard_profile;

void orchard_profile_free(orchard_profile *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(orchard_profile, orchard_profile_free)

/** A validated profile to store (all borrowed). */
typedef struct orchard_profile_new {
    const char *identifier;
    const char *name;
    const char *payload_uuid;
    const void *content;
    size_t len;
} orchard_profile_new;

/**
 * Store a custom profile of `team_id` (0: no team) at `now`. Returns 0 and
 * *id; ORCHARD_ENOTFOUND (no such team); ORCHARD_EEXIST with *conflict
 * "identifier" or "name" (static) when the team has a profile with that
 * PayloadIdentifier or PayloadDisplayName (NULL when the unique index
 * caught an insert that raced another). *team_name (g_free; NULL for
 * team 0, may be NULL) names the team for the activity.
 */
int orchard_store_profile_add(gint64 team_id, const orchard_profile_new *p, gint64 now,
                              gint64 *id, const char **conflict, char **team_name);

/** `team_id`'s custom profiles by id (orchard_profile *, no content). 0 or a store code. */
int orchard_store_profile_list(gint64 team_id, GPtrArray **out);

/** A profile by id with its content: 0 and *out, or ORCHARD_ENOTFOUND. */
int orchard_store_profile_get(gint64 id, orchard_profile **out);

/**
 * Delete a custom profile by id (the reconciler then removes it from
 * hosts). Returns 0 and, when not NULL, *deleted (what it was, no content)
 * and *team_name (g_free; NULL for team 0); ORCHARD_ENOTFOUND; ORCHARD_EINVAL
 * when the profile is orchard's own (kind nudge).
 */
int orchard_store_profile_delete(gint64 id, orchard_profile **deleted, char **team_name);

/** What orchard_store_profiles_batch changed: orchard_profile * (owned; id,
 * identifier and name set; a deleted one as it was). */
typedef struct orchard_profile_changes {
    GPtrArray *added;
    GPtrArray *replaced;
    GPtrArray *deleted;
} orchard_profile_changes;

void orchard_profile_changes_clear(orchard_profile_changes *c);

/**
 * Make `team_id`'s custom profiles exactly `p` (n, identifiers and names
 * distinct: the caller checked) in one write transaction at `now`: new
 * identifiers are added, a listed identifier whose content, name or
 * PayloadUUID changed is replaced (updated_at = now), unlisted custom
 * profiles are deleted. Returns 0 and fills *changes (the desired-state
 * marker is touched only when something changed) and *team_name (g_free;
 * NULL for team 0); ORCHARD_ENOTFOUND (no such team); ORCHARD_EEXIST with
 * *conflict_index (the position in p) when a name is taken by a profile
 * outside the batch (orchard's own Nudge profile); *conflict_index is
 * (size_t)-1 when the unique index refused a write that raced another.
 * Nothing is written on failure.
 */
int orchard_store_profiles_batch(gint64 team_id, const orchard_profile_new *p, size_t n,
                                 gint64 now, orchard_profile_changes *changes,
                                 size_t *conflict_index, char **team_name);

/** Hosts of a team by their worst profile status (Fleet's summary). */
typedef struct orchard_profiles_summary {
    gint64 verified;
    gint64 verifying;
    gint64 pending;
    gint64 failed;
} orchard_profiles_summary;

/**
 * Count `team_id`'s enabled enrollments by the worst status of their
 * mdm_host_profiles rows (failed > pending > verifying > verified); hosts
 * without rows are not counted. ORCHARD_ENOTFOUND for no such team.
 */
int orchard_store_profiles_summary(gint64 team_id, orchard_profiles_summary *out);

/** 0 when `team_id` is 0 or a row of teams, with *name (g_free; NULL for 0,
 * `name` may be NULL); ORCHARD_ENOTFOUND otherwise. */
int orchard_store_profile_team(gint64 team_id, char **name);

/** The lower-case hex SHA-256 of `len` bytes (g_free): mdm_profiles.checksum. */
char *orchard_profile_checksum(const void *data, size_t len);

#endif
