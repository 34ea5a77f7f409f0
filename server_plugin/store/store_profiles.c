/* mdm_profiles on the store (store_profiles.h): the profiles each team's
 * hosts should have, written by the profiles API and `orchard apply`, read
 * by the reconciler. Each write runs in one transaction with the
 * desired-state marker, so whichever instance reconciles sees the change. */
#include "server_plugin/store/store_profiles.h"

#include "server_plugin/store/store_sql.h"

#include <string.h>

#define PROFILE_COLUMNS                                                                     \
    "id, team_id, kind, identifier, name, payload_uuid, checksum, created_at, updated_at"

void orchard_profile_free(orchard_profile *p)
{
    if (!p)
        return;
    g_free(p->kind);
    g_free(p->identifier);
    g_free(p->name);
    g_free(p->payload_uuid);
    g_free(p->checksum);
    if (p->content)
        g_bytes_unref(p->content);
    g_free(p);
}

void orchard_profile_changes_clear(orchard_profile_changes *c)
{
    if (!c)
        return;
    if (c->added)
        g_ptr_array_unref(c->added);
    if (c->replaced)
        g_ptr_array_unref(c->replaced);
    if (c->deleted)
        g_ptr_array_unref(c->deleted);
    memset(c, 0, sizeof *c);
}

char *orchard_profile_checksum(const void *data, size_t len)
{
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
}

static orchard_profile *profile_of_row(const orchard_host_api *h, orchard_stmt *st)
{
    orchard_profile *p = g_new0(orchard_profile, 1);
    p->id = h->stmt_column_int(st, 0);
    p->team_id = h->stmt_column_int(st, 1);
    p->kind = g_strdup(h->stmt_column_text(st, 2));
    p->identifier = g_strdup(h->stmt_column_text(st, 3));
    p->name = g_strdup(h->stmt_column_text(st, 4));
    p->payload_uuid = g_strdup(h->stmt_column_text(st, 5));
    p->checksum = g_strdup(h->stmt_column_text(st, 6));
    p->created_at = h->stmt_column_int(st, 7);
    p->updated_at = h->stmt_column_int(st, 8);
    return p;
}

/* ---- teams, read inside a transaction */

/* The team exists (0 always does): 0 and *name (may be NULL), else ENOTFOUND. */
static int team_in_tx(orchard_store_tx *tx, gint64 team_id, char **name)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    if (name)
        *name = NULL;
    if (team_id == 0)
        return 0;
    if (team_id < 0)
        return ORCHARD_ENOTFOUND;
    int rc = orchard_sstore_prepare(tx, "SELECT name FROM teams WHERE id = ?",
                                    SQL_PARAMS(SQL_INT(team_id)), &st);
    if (rc)
        return rc;
    rc = h->stmt_step(st);
    if (rc == 1 && name)
        *name = g_strdup(h->stmt_column_text(st, 0));
    h->stmt_finish(st);
    return rc == 1 ? 0 : rc == 0 ? ORCHARD_ENOTFOUND : rc;
}

int orchard_store_profile_team(gint64 team_id, char **name)
{
    orchard_store_tx *tx = NULL;
    int rc = orchard_sstore_begin(0, "reading a team", &tx);
    if (rc)
        return rc == ORCHARD_ENOTFOUND ? ORCHARD_EIO : rc;
    rc = team_in_tx(tx, team_id, name);
    orchard_sstore_host()->store_rollback(tx);
    return rc;
}

/* ---- add */

/* Which of the team's profiles holds the identifier or the name: 0 when
 * none, EEXIST with *conflict, or a store code. */
static int find_conflict(orchard_store_tx *tx, gint64 team_id, const char *identifier,
                         const char *name, const char **conflict)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    int rc = orchard_sstore_prepare(tx,
                                    "SELECT identifier FROM mdm_profiles WHERE team_id = ? "
                                    "AND (identifier = ? OR name = ?)",
                                    SQL_PARAMS(SQL_INT(team_id), SQL_TEXT(identifier),
                                               SQL_TEXT(name)), &st);
    if (rc)
        return rc;
    while ((rc = h->stmt_step(st)) == 1) {
        /* The identifier is the stronger clash: report it when both are. */
        const char *got = h->stmt_column_text(st, 0);
        if (got && strcmp(got, identifier) == 0) {
            *conflict = "identifier";
            break;
        }
        *conflict = "name";
    }
    h->stmt_finish(st);
    if (rc < 0)
        return rc;
    return *conflict ? ORCHARD_EEXIST : 0;
}

/* Insert one custom profile and read its id back (no RETURNING: the same
 * statement then runs on every backend). */
static int insert_profile(orchard_store_tx *tx, gint64 team_id, const orchard_profile_new *p,
                          gint64 now, gint64 *id)
{
    const orchard_host_api *h = orchard_sstore_host();
    g_autofree char *sum = orchard_profile_checksum(p->content, p->len);
    gint64 n = orchard_sstore_exec(
        tx,
        "INSERT INTO mdm_profiles (team_id, kind, identifier, name, payload_uuid, content, "
        "checksum, applies_below, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
        SQL_PARAMS(SQL_INT(team_id), SQL_TEXT(ORCHARD_PROFILE_KIND_CUSTOM),
                   SQL_TEXT(p->identifier), SQL_TEXT(p->name), SQL_TEXT(p->payload_uuid),
                   SQL_BLOB(p->content, p->len), SQL_TEXT(sum), SQL_INT(now), SQL_INT(now)));
    if (n < 0)
        return (int)n;
    if (!id)
        return 0;
    orchard_stmt *st = NULL;
    int rc = orchard_sstore_prepare(tx,
                                    "SELECT id FROM mdm_profiles WHERE team_id = ? AND "
                                    "identifier = ?",
                                    SQL_PARAMS(SQL_INT(team_id), SQL_TEXT(p->identifier)), &st);
    if (rc)
        return rc;
    rc = h->stmt_step(st);
    if (rc == 1)
        *id = h->stmt_column_int(st, 0);
    h->stmt_finish(st);
    return rc == 1 ? 0 : rc == 0 ? ORCHARD_EIO : rc;
}

int orchard_store_profile_add(gint64 team_id, const orchard_profile_new *p, gint64 now,
                              gint64 *id, const char **conflict, char **team_name)
{
    const char *what = "adding a configuration profile";
    orchard_store_tx *tx = NULL;
    *conflict = NULL;
    if (team_name)
        *team_name = NULL;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    if ((rc = team_in_tx(tx, team_id, team_name)) == 0 &&
        (rc = find_conflict(tx, team_id, p->identifier, p->name, conflict)) == 0 &&
        (rc = insert_profile(tx, team_id, p, now, id)) == 0)
        rc = orchard_sstore_desired_touch(tx);
    rc = orchard_sstore_end(tx, rc, what, rc == ORCHARD_ENOTFOUND ? rc : ORCHARD_EEXIST);
    if (rc && team_name) {
        g_free(*team_name);
        *team_name = NULL;
    }
    return rc;
}

/* ---- read */

static void *profile_list_row(const orchard_host_api *h, orchard_stmt *st)
{
    return profile_of_row(h, st);
}

int orchard_store_profile_list(gint64 team_id, GPtrArray **out)
{
    return orchard_sstore_read_list("listing configuration profiles",
                                    "SELECT " PROFILE_COLUMNS " FROM mdm_profiles "
                                    "WHERE team_id = ? AND kind = ? ORDER BY id",
                                    SQL_PARAMS(SQL_INT(team_id),
                                               SQL_TEXT(ORCHARD_PROFILE_KIND_CUSTOM)),
                                    profile_list_row, (GDestroyNotify)orchard_profile_free, out);
}

static int profile_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    orchard_profile *p = profile_of_row(h, st);
    size_t len = 0;
    const void *blob = h->stmt_column_blob(st, 9, &len);
    p->content = g_bytes_new(blob, blob ? len : 0);
    *(orchard_profile **)out = p;
    return 0;
}

int orchard_store_profile_get(gint64 id, orchard_profile **out)
{
    *out = NULL;
    return orchard_sstore_read_one("reading a configuration profile",
                                   "SELECT " PROFILE_COLUMNS ", content FROM mdm_profiles "
                                   "WHERE id = ?",
                                   SQL_PARAMS(SQL_INT(id)), profile_row, out);
}

/* ---- delete */

int orchard_store_profile_delete(gint64 id, orchard_profile **deleted, char **team_name)
{
    const char *what = "deleting a configuration profile";
    const orchard_host_api *h = orchard_sstore_host();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    orchard_profile *p = NULL;
    if (deleted)
        *deleted = NULL;
    if (team_name)
        *team_name = NULL;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    if ((rc = orchard_sstore_prepare(tx, "SELECT " PROFILE_COLUMNS " FROM mdm_profiles "
                                     "WHERE id = ?", SQL_PARAMS(SQL_INT(id)), &st)) == 0) {
        rc = h->stmt_step(st);
        if (rc == 1)
            p = profile_of_row(h, st);
        rc = rc == 1 ? 0 : rc == 0 ? ORCHARD_ENOTFOUND : rc;
        h->stmt_finish(st);
    }
    if (rc == 0 && strcmp(p->kind, ORCHARD_PROFILE_KIND_CUSTOM) != 0)
        rc = ORCHARD_EINVAL; /* orchard's own: its flow removes it */
    if (rc == 0)
        rc = team_in_tx(tx, p->team_id, team_name);
    if (rc == ORCHARD_ENOTFOUND && p)
        rc = 0; /* a profile left by a deleted team still goes */
    if (rc == 0) {
        gint64 n = orchard_sstore_exec(tx, "DELETE FROM mdm_profiles WHERE id = ?",
                                       SQL_PARAMS(SQL_INT(id)));
        rc = n < 0 ? (int)n : 0;
    }
    if (rc == 0)
        rc = orchard_sstore_desired_touch(tx);
    rc = orchard_sstore_end(tx, rc, what, rc == ORCHARD_EINVAL ? rc : ORCHARD_ENOTFOUND);
    if (rc == 0 && deleted)
        *deleted = g_steal_pointer(&p);
    if (rc && team_name) {
        g_free(*team_name);
        *team_name = NULL;
    }
    orchard_profile_free(p);
    return rc;
}

/* ---- batch */

/* Every profile of the team (both kinds) into *out, read inside `tx`. */
static int team_profiles(orchard_store_tx *tx, gint64 team_id, GPtrArray **out)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    *out = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_profile_free);
    int rc = orchard_sstore_prepare(tx, "SELECT " PROFILE_COLUMNS " FROM mdm_profiles "
                                    "WHERE team_id = ? ORDER BY id",
                                    SQL_PARAMS(SQL_INT(team_id)), &st);
    while (rc == 0 && (rc = h->stmt_step(st)) == 1) {
        g_ptr_array_add(*out, profile_of_row(h, st));
        rc = 0;
    }
    h->stmt_finish(st);
    return rc < 0 ? rc : 0;
}

static orchard_profile *by_identifier(GPtrArray *have, const char *identifier)
{
    for (guint i = 0; i < have->len; i++) {
        orchard_profile *p = have->pdata[i];
        if (strcmp(p->identifier, identifier) == 0)
            return p;
    }
    return NULL;
}

/* An entry of orchard_profile_changes. */
static orchard_profile *changed(gint64 id, const char *identifier, const char *name)
{
    orchard_profile *p = g_new0(orchard_profile, 1);
    p->id = id;
    p->identifier = g_strdup(identifier);
    p->name = g_strdup(name);
    return p;
}

/* Update one listed profile whose content, name or PayloadUUID changed. */
static int replace_profile(orchard_store_tx *tx, gint64 id, const orchard_profile_new *p,
                           const char *sum, gint64 now)
{
    gint64 n = orchard_sstore_exec(tx,
                                   "UPDATE mdm_profiles SET content = ?, checksum = ?, name = ?, "
                                   "payload_uuid = ?, updated_at = ? WHERE id = ?",
                                   SQL_PARAMS(SQL_BLOB(p->content, p->len), SQL_TEXT(sum),
                                              SQL_TEXT(p->name), SQL_TEXT(p->payload_uuid),
                                              SQL_INT(now), SQL_INT(id)));
    return n < 0 ? (int)n : 0;
}

/* The batch's writes, once `have` (the team's rows) is known. */
static int batch_apply(orchard_store_tx *tx, gint64 team_id, GPtrArray *have,
                       const orchard_profile_new *p, size_t n, gint64 now,
                       orchard_profile_changes *c, size_t *conflict_index)
{
    int rc = 0;
    /* A name or identifier held by orchard's own profile is not the
     * batch's to take. */
    for (size_t i = 0; i < n; i++)
        for (guint j = 0; j < have->len; j++) {
            const orchard_profile *o = have->pdata[j];
            if (strcmp(o->kind, ORCHARD_PROFILE_KIND_CUSTOM) != 0 &&
                (strcmp(o->name, p[i].name) == 0 || strcmp(o->identifier, p[i].identifier) == 0)) {
                *conflict_index = i;
                return ORCHARD_EEXIST;
            }
        }
    /* Deletes first, so a new profile may take a deleted one's name. */
    for (guint j = 0; rc == 0 && j < have->len; j++) {
        const orchard_profile *o = have->pdata[j];
        size_t i = 0;
        while (i < n && strcmp(p[i].identifier, o->identifier) != 0)
            i++;
        if (i < n || strcmp(o->kind, ORCHARD_PROFILE_KIND_CUSTOM) != 0)
            continue;
        gint64 d = orchard_sstore_exec(tx, "DELETE FROM mdm_profiles WHERE id = ?",
                                       SQL_PARAMS(SQL_INT(o->id)));
        rc = d < 0 ? (int)d : 0;
        g_ptr_array_add(c->deleted, changed(o->id, o->identifier, o->name));
    }
    /* Renamed profiles park on a name no profile can have (validation
     * refuses control characters), so two that swap names never collide
     * on the unique index half-way. */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const orchard_profile *o = by_identifier(have, p[i].identifier);
        if (!o || strcmp(o->name, p[i].name) == 0)
            continue;
        g_autofree char *parked = g_strdup_printf("\x01renaming-%" G_GINT64_FORMAT, o->id);
        gint64 u = orchard_sstore_exec(tx, "UPDATE mdm_profiles SET name = ? WHERE id = ?",
                                       SQL_PARAMS(SQL_TEXT(parked), SQL_INT(o->id)));
        rc = u < 0 ? (int)u : 0;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const orchard_profile *o = by_identifier(have, p[i].identifier);
        g_autofree char *sum = orchard_profile_checksum(p[i].content, p[i].len);
        if (!o) {
            gint64 id = 0;
            if ((rc = insert_profile(tx, team_id, &p[i], now, &id)) == 0)
                g_ptr_array_add(c->added, changed(id, p[i].identifier, p[i].name));
        } else if (strcmp(o->checksum, sum) != 0 || strcmp(o->name, p[i].name) != 0 ||
                   strcmp(o->payload_uuid, p[i].payload_uuid) != 0) {
            if ((rc = replace_profile(tx, o->id, &p[i], sum, now)) == 0)
                g_ptr_array_add(c->replaced, changed(o->id, p[i].identifier, p[i].name));
        }
    }
    if (rc == 0 && c->added->len + c->replaced->len + c->deleted->len > 0)
        rc = orchard_sstore_desired_touch(tx);
    return rc;
}

int orchard_store_profiles_batch(gint64 team_id, const orchard_profile_new *p, size_t n,
                                 gint64 now, orchard_profile_changes *changes,
                                 size_t *conflict_index, char **team_name)
{
    const char *what = "setting a team's configuration profiles";
    orchard_store_tx *tx = NULL;
    GPtrArray *have = NULL;
    memset(changes, 0, sizeof *changes);
    *conflict_index = (size_t)-1; /* an EEXIST without it: the unique index, in a race */
    if (team_name)
        *team_name = NULL;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    changes->added = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_profile_free);
    changes->replaced = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_profile_free);
    changes->deleted = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_profile_free);
    if ((rc = team_in_tx(tx, team_id, team_name)) == 0 &&
        (rc = team_profiles(tx, team_id, &have)) == 0)
        rc = batch_apply(tx, team_id, have, p, n, now, changes, conflict_index);
    if (have)
        g_ptr_array_unref(have);
    rc = orchard_sstore_end(tx, rc, what, rc == ORCHARD_ENOTFOUND ? rc : ORCHARD_EEXIST);
    if (rc) {
        orchard_profile_changes_clear(changes);
        if (team_name) {
            g_free(*team_name);
            *team_name = NULL;
        }
    }
    return rc;
}

/* ---- summary */

/* Each host once, by its worst row: failed 4 > pending 3 > verifying 2 > verified 1. */
static const char summary_sql[] =
    "SELECT w.worst, count(*) FROM ("
    " SELECT e.udid AS udid, max(CASE hp.status WHEN 'failed' THEN 4 WHEN 'pending' THEN 3"
    " WHEN 'verifying' THEN 2 WHEN 'verified' THEN 1 ELSE 0 END) AS worst"
    " FROM mdm_enrollments e JOIN mdm_host_profiles hp ON hp.udid = e.udid"
    " WHERE e.team_id = ? AND e.enabled = 1 GROUP BY e.udid) w"
    " GROUP BY w.worst";

int orchard_store_profiles_summary(gint64 team_id, orchard_profiles_summary *out)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    memset(out, 0, sizeof *out);
    int rc = orchard_sstore_begin(0, "summarizing configuration profiles", &tx);
    if (rc)
        return rc == ORCHARD_ENOTFOUND ? ORCHARD_EIO : rc;
    if ((rc = team_in_tx(tx, team_id, NULL)) == 0 &&
        (rc = orchard_sstore_prepare(tx, summary_sql, SQL_PARAMS(SQL_INT(team_id)), &st)) == 0) {
        while ((rc = h->stmt_step(st)) == 1) {
            gint64 worst = h->stmt_column_int(st, 0), count = h->stmt_column_int(st, 1);
            gint64 *slot = worst == 4 ? &out->failed : worst == 3 ? &out->pending
                         : worst == 2 ? &out->verifying : worst == 1 ? &out->verified : NULL;
            if (slot)
                *slot += count;
        }
        h->stmt_finish(st);
    }
    if (rc < 0 && rc != ORCHARD_ENOTFOUND)
        orchard_sstore_log_fail(tx, "summarizing configuration profiles", rc);
    h->store_rollback(tx);
    return rc < 0 ? rc : 0;
}
