/* Configuration profiles (Fleet's "macOS settings"): validated uploads
 * scoped to a team (profile_validate.c, profiles_api.c), and the
 * reconciler (reconcile.c), a job that compares what each enrolled Mac
 * should have (its team's profiles plus orchard's own, such as the Nudge
 * profile server_plugin/updates/ keeps in mdm_profiles) with what it was
 * sent, queues InstallProfile / RemoveProfile / ProfileList and records
 * each host's state (mdm_host_profiles). Reports on those commands come
 * back through orchard_profiles_report (profile_reports.c). docs/profiles.md. */
#ifndef ORCHARD_SERVER_PROFILES_H
#define ORCHARD_SERVER_PROFILES_H

#include <orchard/plugin.h>

#include <glib.h>
#include <plist/plist.h>
#include <stddef.h>

/** The largest profile taken (bytes): larger is a 400 (API) or an error (apply). */
#define ORCHARD_PROFILE_MAX_BYTES ((size_t)1024 * 1024)

/** Every command the reconciler queues has a CommandUUID starting with this,
 * so a report is routed to orchard_profiles_report without a store read. */
#define ORCHARD_PROFILES_UUID_PREFIX "ORCHARD-PROFILE-"

/** The reconciler's job name (host->job_queue(ctx, ...) asks for a pass). */
#define ORCHARD_PROFILES_JOB "profiles.reconcile"

/** Host-profile states, as Fleet names them. */
#define ORCHARD_PROFILE_PENDING "pending"
#define ORCHARD_PROFILE_VERIFYING "verifying"
#define ORCHARD_PROFILE_VERIFIED "verified"
#define ORCHARD_PROFILE_FAILED "failed"

/** What validation read from a profile (orchard_profile_info_clear). */
typedef struct orchard_profile_info {
    char *identifier;   /* top-level PayloadIdentifier */
    char *name;         /* PayloadDisplayName */
    char *payload_uuid; /* PayloadUUID */
    int signed_cms;     /* 1: the upload is a CMS SignedData around the plist */
} orchard_profile_info;

void orchard_profile_info_clear(orchard_profile_info *info);

/**
 * Validate an uploaded profile (.mobileconfig: an XML or binary plist, or a
 * CMS SignedData whose content is one). Returns 0 and fills *out, or, with
 * *reason (g_free) in the words the API answers with (400):
 *   ORCHARD_ETOOBIG  over ORCHARD_PROFILE_MAX_BYTES (or the nesting cap);
 *   ORCHARD_EINVAL   not a plist; PayloadType is not "Configuration";
 *                    PayloadIdentifier / PayloadDisplayName / PayloadUUID
 *                    missing; a payload orchard manages itself
 *                    (com.apple.security.scep, com.apple.mdm,
 *                    com.github.macadmins.Nudge).
 * Uniqueness in a team is the store's check (orchard_profiles_add).
 */
int orchard_profile_validate(const void *data, size_t len, orchard_profile_info *out,
                             char **reason);

/**
 * Validate and store a custom profile for `team_id` (0: no team), record
 * the activity ("created_macos_profile") as `actor` (NULL: none) and mark
 * the desired state changed. Returns 0 and *profile_id, or with *reason
 * (g_free): ORCHARD_EINVAL / ORCHARD_ETOOBIG as orchard_profile_validate,
 * ORCHARD_EEXIST (the identifier or the name is already used in the team),
 * ORCHARD_ENOTFOUND (no such team).
 */
int orchard_profiles_add(orchard_ctx *ctx, gint64 team_id, const void *data, size_t len,
                         const char *actor, gint64 *profile_id, char **reason);

/**
 * Make `team_id`'s custom profiles exactly `profiles` (n GBytes, each a
 * .mobileconfig) in one write transaction: new identifiers are added,
 * changed content replaces the old (and is reinstalled), profiles not
 * listed are deleted (and removed from hosts). Every profile is validated
 * first and nothing is written when one fails: ORCHARD_EINVAL /
 * ORCHARD_ETOOBIG / ORCHARD_EEXIST (two with one identifier or name) with
 * *reason naming the profile by its position and name. The same call
 * serves `orchard apply` and POST .../profiles/batch.
 */
int orchard_profiles_batch_set(orchard_ctx *ctx, gint64 team_id, GBytes *const *profiles,
                               size_t n, const char *actor, char **reason);

/**
 * What orchard_profiles_batch_set would refuse, without writing anything
 * (Fleet's dry_run, `orchard apply --dry-run`): every profile validated, no
 * two with one identifier or name, the team exists. Returns 0, or
 * ORCHARD_EINVAL / ORCHARD_ETOOBIG / ORCHARD_EEXIST / ORCHARD_ENOTFOUND with
 * *reason (g_free) as orchard_profiles_batch_set words it.
 */
int orchard_profiles_batch_check(gint64 team_id, GBytes *const *profiles, size_t n,
                                 char **reason);

/**
 * Delete custom profile `id` (the reconciler then removes it from the
 * team's hosts), record "deleted_macos_profile" as `actor` and mark the
 * desired state changed. Returns 0, or with *reason (g_free):
 * ORCHARD_ENOTFOUND (no such profile), ORCHARD_EINVAL (orchard's own Nudge
 * profile: clear the macOS updates setting instead), a store code.
 */
int orchard_profiles_delete(orchard_ctx *ctx, gint64 id, const char *actor, char **reason);

/**
 * A device's report on a command whose CommandUUID starts with
 * ORCHARD_PROFILES_UUID_PREFIX (the check-in flow calls it after the queue
 * recorded the report): Acknowledged moves the host's profile to
 * verifying (or deletes a removed one), Error to pending for one retry
 * and then failed with the ErrorChain text, a ProfileList answer verifies.
 * `root` is the report's plist. Returns 0 or a store code (logged).
 */
int orchard_profiles_report(orchard_ctx *ctx, const char *udid, const char *command_uuid,
                            const char *status, plist_t root, const char *error_chain_json,
                            gint64 now);

#endif
