/* Teams on the store (store_teams.h): create, read, rename, delete, and the
 * host transfers that decide which profiles and which macOS update setting
 * each host gets. Deletions and transfers touch the desired-state marker in
 * their own transaction, so the profile reconciler follows them. */
#include "server_plugin/store/store_teams.h"

#include "server_plugin/store/store_sql.h"

#include <string.h>

void orchard_team_free(orchard_team *t)
{
    if (!t)
        return;
    g_free(t->name);
    g_free(t->description);
    g_free(t->minimum_version);
    g_free(t->deadline);
    g_free(t);
}

/* The id of the team named `name` (ASCII case ignored), other than
 * `except`: 0 and *id, ORCHARD_ENOTFOUND, or a store code. lower() is
 * ASCII-only on SQLite; names differing only in other letters' case count
 * as different on both backends alike because both sides go through it. */
static int name_taken(orchard_store_tx *tx, const char *name, gint64 except, gint64 *id)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    int rc = orchard_sstore_prepare(tx, "SELECT id FROM teams WHERE lower(name) = lower(?) "
                                        "AND id <> ?",
                                    SQL_PARAMS(SQL_TEXT(name), SQL_INT(except)), &st);
    if (rc)
        return rc;
    rc = h->stmt_step(st);
    if (rc == 1) {
        *id = h->stmt_column_int(st, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = ORCHARD_ENOTFOUND;
    }
    h->stmt_finish(st);
    return rc;
}

int orchard_store_team_create(const char *name, const char *description, gint64 now,
                              gint64 *id)
{
    const char *what = "creating a team";
    orchard_store_tx *tx = NULL;
    gint64 other = 0;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    rc = name_taken(tx, name, 0, &other);
    if (rc == 0) {
        rc = ORCHARD_EEXIST;
    } else if (rc == ORCHARD_ENOTFOUND) {
        gint64 n = orchard_sstore_exec(tx,
                                       "INSERT INTO teams (name, description, created_at, "
                                       "updated_at) VALUES (?, ?, ?, ?)",
                                       SQL_PARAMS(SQL_TEXT(name),
                                                  SQL_TEXT(description ? description : ""),
                                                  SQL_INT(now), SQL_INT(now)));
        rc = n < 0 ? (int)n : name_taken(tx, name, 0, id);
    }
    return orchard_sstore_end(tx, rc, what, ORCHARD_EEXIST);
}

#define TEAM_SELECT                                                                           \
    "SELECT t.id, t.name, t.description, t.created_at, s.minimum_version, s.deadline, "       \
    "(SELECT count(*) FROM mdm_enrollments e WHERE e.team_id = t.id AND e.enabled = 1) "      \
    "FROM teams t LEFT JOIN macos_update_settings s ON s.team_id = t.id "

static void *team_of_row(const orchard_host_api *h, orchard_stmt *st)
{
    orchard_team *t = g_new0(orchard_team, 1);
    t->id = h->stmt_column_int(st, 0);
    t->name = g_strdup(h->stmt_column_text(st, 1));
    t->description = g_strdup(h->stmt_column_text(st, 2));
    t->created_at = h->stmt_column_int(st, 3);
    t->minimum_version = g_strdup(h->stmt_column_text(st, 4));
    t->deadline = g_strdup(h->stmt_column_text(st, 5));
    t->host_count = h->stmt_column_int(st, 6);
    if (!t->description)
        t->description = g_strdup("");
    return t;
}

static int team_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    *(orchard_team **)out = team_of_row(h, st);
    return 0;
}

int orchard_store_team_get(gint64 id, orchard_team **out)
{
    *out = NULL;
    return orchard_sstore_read_one("reading a team", TEAM_SELECT "WHERE t.id = ?",
                                   SQL_PARAMS(SQL_INT(id)), team_row, out);
}

static int id_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    *(gint64 *)out = h->stmt_column_int(st, 0);
    return 0;
}

int orchard_store_team_find(const char *name, gint64 *id)
{
    return orchard_sstore_read_one("finding a team",
                                   "SELECT id FROM teams WHERE lower(name) = lower(?)",
                                   SQL_PARAMS(SQL_TEXT(name)), id_row, id);
}

/* By name, bytewise: the backends' collations differ (PostgreSQL's follows
 * the locale), and the order must not depend on the store. */
static gint by_name(gconstpointer a, gconstpointer b)
{
    const orchard_team *x = *(orchard_team *const *)a, *y = *(orchard_team *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

int orchard_store_team_list(GPtrArray **out)
{
    int rc = orchard_sstore_read_list("listing teams", TEAM_SELECT "ORDER BY t.id", NULL, 0,
                                      team_of_row, (GDestroyNotify)orchard_team_free, out);
    if (rc == 0)
        g_ptr_array_sort(*out, by_name);
    return rc;
}

int orchard_store_team_profile_count(gint64 id, gint64 *count)
{
    *count = 0;
    return orchard_sstore_read_one("counting a team's profiles",
                                   "SELECT count(*) FROM mdm_profiles WHERE team_id = ? "
                                   "AND kind = 'custom'",
                                   SQL_PARAMS(SQL_INT(id)), id_row, count);
}

/* Does team `id` exist in tx? 0, ORCHARD_ENOTFOUND or a store code. */
static int team_exists(orchard_store_tx *tx, gint64 id)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    int rc = orchard_sstore_prepare(tx, "SELECT 1 FROM teams WHERE id = ?",
                                    SQL_PARAMS(SQL_INT(id)), &st);
    if (rc)
        return rc;
    rc = h->stmt_step(st);
    h->stmt_finish(st);
    return rc == 1 ? 0 : rc == 0 ? ORCHARD_ENOTFOUND : rc;
}

int orchard_store_team_update(gint64 id, const char *name, const char *description, gint64 now)
{
    const char *what = "updating a team";
    orchard_store_tx *tx = NULL;
    gint64 other = 0, n = 0;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    rc = team_exists(tx, id);
    if (rc == 0 && name) {
        rc = name_taken(tx, name, id, &other);
        rc = rc == 0 ? ORCHARD_EEXIST : rc == ORCHARD_ENOTFOUND ? 0 : rc;
        if (rc == 0)
            n = orchard_sstore_exec(tx, "UPDATE teams SET name = ?, updated_at = ? WHERE id = ?",
                                    SQL_PARAMS(SQL_TEXT(name), SQL_INT(now), SQL_INT(id)));
    }
    if (rc == 0 && n >= 0 && description)
        n = orchard_sstore_exec(tx,
                                "UPDATE teams SET description = ?, updated_at = ? WHERE id = ?",
                                SQL_PARAMS(SQL_TEXT(description), SQL_INT(now), SQL_INT(id)));
    if (rc == 0 && n < 0)
        rc = (int)n;
    return orchard_sstore_end(tx, rc, what, rc == ORCHARD_EEXIST ? rc : ORCHARD_ENOTFOUND);
}

int orchard_store_team_delete(gint64 id)
{
    /* mdm_host_profiles is the reconciler's: it turns the rows of
     * profiles gone with the team into removals itself. */
    static const char *const steps[] = {
        "UPDATE mdm_enrollments SET team_id = 0 WHERE team_id = ?",
        "DELETE FROM mdm_profiles WHERE team_id = ?",
        "DELETE FROM macos_update_settings WHERE team_id = ?",
        "DELETE FROM teams WHERE id = ?",
    };
    const char *what = "deleting a team";
    orchard_store_tx *tx = NULL;
    if (id <= 0)
        return ORCHARD_ENOTFOUND;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    rc = team_exists(tx, id);
    for (size_t i = 0; rc == 0 && i < G_N_ELEMENTS(steps); i++) {
        gint64 n = orchard_sstore_exec(tx, steps[i], SQL_PARAMS(SQL_INT(id)));
        rc = n < 0 ? (int)n : 0;
    }
    if (rc == 0)
        rc = orchard_sstore_desired_touch(tx);
    return orchard_sstore_end(tx, rc, what, ORCHARD_ENOTFOUND);
}

int orchard_store_team_transfer(gint64 team_id, const char *const *udids, size_t n,
                                char **bad_udid)
{
    const char *what = "moving hosts to a team";
    orchard_store_tx *tx = NULL;
    *bad_udid = NULL;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    if (team_id != 0)
        rc = team_exists(tx, team_id);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        gint64 c = orchard_sstore_exec(tx,
                                       "UPDATE mdm_enrollments SET team_id = ? WHERE udid = ?",
                                       SQL_PARAMS(SQL_INT(team_id), SQL_TEXT(udids[i])));
        if (c == 0) {
            *bad_udid = g_strdup(udids[i]);
            rc = ORCHARD_ENOTFOUND;
        } else if (c < 0) {
            rc = (int)c;
        }
    }
    if (rc == 0)
        rc = orchard_sstore_desired_touch(tx);
    return orchard_sstore_end(tx, rc, what, ORCHARD_ENOTFOUND);
}

/* Added for GET /hosts and the hosts page (api/hosts_api.c): a host's team
 * name needs neither the counts nor the update setting, and counting every
 * team's hosts on each page read cost most of its time with 10,000 Macs. */
static void *team_name_row(const orchard_host_api *h, orchard_stmt *st)
{
    orchard_team *t = g_new0(orchard_team, 1);
    t->id = h->stmt_column_int(st, 0);
    t->name = g_strdup(h->stmt_column_text(st, 1));
    return t;
}

int orchard_store_team_names(GPtrArray **out)
{
    *out = NULL;
    return orchard_sstore_read_list("listing team names", "SELECT id, name FROM teams ORDER BY id",
                                    NULL, 0, team_name_row, (GDestroyNotify)orchard_team_free,
                                    out);
}
