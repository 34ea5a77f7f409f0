/* The writes of configuration profiles (add, delete, batch set) that the
 * API (profiles_api.c) and `orchard apply` share (profiles.h): validate,
 * store with the desired-state marker (store_profiles.c), record the
 * activities in Fleet's types, and ask the reconciler for a pass. */
#include "server_plugin/profiles/profiles.h"

#include "server_plugin/server.h"
#include "server_plugin/store/store_profiles.h"
#include "server_plugin/users/activity.h"

#include <jansson.h>
#include <string.h>

/* Fleet's details: team_id and team_name null for "No team". */
static json_t *activity_details(const char *name, const char *identifier, gint64 team_id,
                                const char *team_name)
{
    json_t *d = json_object();
    json_object_set_new(d, "profile_name", json_string(name));
    json_object_set_new(d, "profile_identifier", json_string(identifier));
    json_object_set_new(d, "team_id", team_id ? json_integer(team_id) : json_null());
    json_object_set_new(d, "team_name", team_name ? json_string(team_name) : json_null());
    return d;
}

/* The reconciler runs on the marker anyway (every instance polls it);
 * queueing it here only saves the wait on this instance. */
static void wake_reconciler(orchard_ctx *ctx)
{
    const orchard_host_api *h = orchard_server_host;
    if (!ctx || !h || !ORCHARD_HAS_FIELD(h, orchard_host_api, job_queue) || !h->job_queue)
        return;
    int rc = h->job_queue(ctx, ORCHARD_PROFILES_JOB);
    if (rc)
        h->ctx_log(ctx, ORCHARD_LOG_DEBUG, "profiles: queueing %s: %s", ORCHARD_PROFILES_JOB,
                   h->strerror(rc));
}

static char *team_missing(gint64 team_id)
{
    return g_strdup_printf("There is no team with id %" G_GINT64_FORMAT ". Create the team "
                           "first, or use team_id 0 for hosts with no team.", team_id);
}

int orchard_profiles_add(orchard_ctx *ctx, gint64 team_id, const void *data, size_t len,
                         const char *actor, gint64 *profile_id, char **reason)
{
    orchard_profile_info info = {0};
    g_autofree char *team_name = NULL;
    const char *conflict = NULL;
    *reason = NULL;
    *profile_id = 0;
    int rc = orchard_profile_validate(data, len, &info, reason);
    if (rc)
        return rc;
    orchard_profile_new p = {.identifier = info.identifier, .name = info.name,
                             .payload_uuid = info.payload_uuid, .content = data, .len = len};
    rc = orchard_store_profile_add(team_id, &p, g_get_real_time() / G_USEC_PER_SEC, profile_id,
                                   &conflict, &team_name);
    if (rc == ORCHARD_ENOTFOUND) {
        *reason = team_missing(team_id);
    } else if (rc == ORCHARD_EEXIST && !conflict) {
        /* The unique index caught an upload that raced this one. */
        *reason = g_strdup("A configuration profile with this identifier or name was just "
                           "added to this team.");
    } else if (rc == ORCHARD_EEXIST) {
        int ident = strcmp(conflict, "identifier") == 0;
        *reason = g_strdup_printf("A configuration profile with this %s (%s \"%s\") already "
                                  "exists in this team.", ident ? "identifier" : "name",
                                  ident ? "PayloadIdentifier" : "PayloadDisplayName",
                                  ident ? info.identifier : info.name);
    } else if (rc) {
        *reason = g_strdup_printf("The store failed while saving the profile (%s).",
                                  orchard_server_host->strerror(rc));
    } else {
        orchard_activity_record(ctx, NULL, actor, "created_macos_profile",
                                activity_details(info.name, info.identifier, team_id,
                                                 team_name));
        wake_reconciler(ctx);
    }
    orchard_profile_info_clear(&info);
    return rc;
}

int orchard_profiles_delete(orchard_ctx *ctx, gint64 id, const char *actor, char **reason)
{
    g_autoptr(orchard_profile) gone = NULL;
    g_autofree char *team_name = NULL;
    *reason = NULL;
    int rc = orchard_store_profile_delete(id, &gone, &team_name);
    if (rc == ORCHARD_ENOTFOUND) {
        *reason = g_strdup_printf("There is no profile with id %" G_GINT64_FORMAT ".", id);
    } else if (rc == ORCHARD_EINVAL) {
        *reason = g_strdup("This is orchard's own Nudge profile: clear or change the macOS "
                           "updates setting (minimum_version and deadline) instead.");
    } else if (rc) {
        *reason = g_strdup_printf("The store failed while deleting the profile (%s).",
                                  orchard_server_host->strerror(rc));
    } else {
        orchard_activity_record(ctx, NULL, actor, "deleted_macos_profile",
                                activity_details(gone->name, gone->identifier, gone->team_id,
                                                 team_name));
        wake_reconciler(ctx);
    }
    return rc;
}

/* Two listed profiles with one identifier or name: EEXIST naming both. */
static int batch_duplicates(const orchard_profile_info *info, size_t n, char **reason)
{
    g_autoptr(GHashTable) ids = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t i = 0; i < n; i++) {
        gpointer first;
        if (g_hash_table_lookup_extended(ids, info[i].identifier, NULL, &first)) {
            *reason = g_strdup_printf("Profiles %zu and %zu have the same PayloadIdentifier "
                                      "(\"%s\"): each profile of a team needs its own.",
                                      GPOINTER_TO_SIZE(first), i + 1, info[i].identifier);
            return ORCHARD_EEXIST;
        }
        if (g_hash_table_lookup_extended(names, info[i].name, NULL, &first)) {
            *reason = g_strdup_printf("Profiles %zu and %zu have the same PayloadDisplayName "
                                      "(\"%s\"): each profile of a team needs its own.",
                                      GPOINTER_TO_SIZE(first), i + 1, info[i].name);
            return ORCHARD_EEXIST;
        }
        g_hash_table_insert(ids, info[i].identifier, GSIZE_TO_POINTER(i + 1));
        g_hash_table_insert(names, info[i].name, GSIZE_TO_POINTER(i + 1));
    }
    return 0;
}

static void record_changes(orchard_ctx *ctx, const char *actor, const char *type,
                           GPtrArray *list, gint64 team_id, const char *team_name)
{
    for (guint i = 0; i < list->len; i++) {
        const orchard_profile *p = list->pdata[i];
        orchard_activity_record(ctx, NULL, actor, type,
                                activity_details(p->name, p->identifier, team_id, team_name));
    }
}

/* Validate every listed profile and check that no two share an identifier
 * or a name: 0 with info[] and p[] filled (p borrows from info and the
 * GBytes), else the refusal with *reason naming the profile. */
static int batch_validate(GBytes *const *profiles, size_t n, orchard_profile_info *info,
                          orchard_profile_new *p, char **reason)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        gsize len = 0;
        const void *data = profiles[i] ? g_bytes_get_data(profiles[i], &len) : NULL;
        g_autofree char *why = NULL;
        if ((rc = orchard_profile_validate(data, len, &info[i], &why)))
            *reason = g_strdup_printf("Profile %zu: %s", i + 1, why);
        p[i] = (orchard_profile_new){.identifier = info[i].identifier, .name = info[i].name,
                                     .payload_uuid = info[i].payload_uuid, .content = data,
                                     .len = len};
    }
    return rc ? rc : batch_duplicates(info, n, reason);
}

static void batch_free(orchard_profile_info *info, orchard_profile_new *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        orchard_profile_info_clear(&info[i]);
    g_free(info);
    g_free(p);
}

int orchard_profiles_batch_check(gint64 team_id, GBytes *const *profiles, size_t n,
                                 char **reason)
{
    orchard_profile_info *info = g_new0(orchard_profile_info, n ? n : 1);
    orchard_profile_new *p = g_new0(orchard_profile_new, n ? n : 1);
    *reason = NULL;
    int rc = batch_validate(profiles, n, info, p, reason);
    if (rc == 0) {
        rc = orchard_store_profile_team(team_id, NULL);
        if (rc == ORCHARD_ENOTFOUND)
            *reason = team_missing(team_id);
        else if (rc)
            *reason = g_strdup_printf("The store failed while reading the team (%s).",
                                      orchard_server_host->strerror(rc));
    }
    batch_free(info, p, n);
    return rc;
}

int orchard_profiles_batch_set(orchard_ctx *ctx, gint64 team_id, GBytes *const *profiles,
                               size_t n, const char *actor, char **reason)
{
    orchard_profile_info *info = g_new0(orchard_profile_info, n ? n : 1);
    orchard_profile_new *p = g_new0(orchard_profile_new, n ? n : 1);
    orchard_profile_changes changes = {0};
    g_autofree char *team_name = NULL;
    size_t bad = 0;
    *reason = NULL;

    int rc = batch_validate(profiles, n, info, p, reason);
    if (rc == 0) {
        rc = orchard_store_profiles_batch(team_id, p, n, g_get_real_time() / G_USEC_PER_SEC,
                                          &changes, &bad, &team_name);
        if (rc == ORCHARD_ENOTFOUND)
            *reason = team_missing(team_id);
        else if (rc == ORCHARD_EEXIST && bad < n)
            *reason = g_strdup_printf("Profile %zu (\"%s\"): its PayloadIdentifier or "
                                      "PayloadDisplayName is taken by orchard's own profile in "
                                      "this team.", bad + 1, info[bad].name);
        else if (rc == ORCHARD_EEXIST) /* the unique index caught a concurrent change */
            *reason = g_strdup("The team's profiles changed at the same time; apply again.");
        else if (rc)
            *reason = g_strdup_printf("The store failed while saving the profiles (%s).",
                                      orchard_server_host->strerror(rc));
    }
    if (rc == 0) {
        record_changes(ctx, actor, "created_macos_profile", changes.added, team_id, team_name);
        record_changes(ctx, actor, "edited_macos_profile", changes.replaced, team_id, team_name);
        record_changes(ctx, actor, "deleted_macos_profile", changes.deleted, team_id, team_name);
        if (changes.added->len + changes.replaced->len + changes.deleted->len)
            wake_reconciler(ctx);
    }
    orchard_profile_changes_clear(&changes);
    batch_free(info, p, n);
    return rc;
}
