/* mdm_host_profiles on the store (store_host_profiles.h): the reconciler's
 * batched writes, the row changes device reports cause
 * (server_plugin/profiles/), and the reads behind the mdm_host_profiles
 * table and GET /hosts. The pass's snapshot is store_hp_snapshot.c. */
#include "server_plugin/store/store_host_profiles.h"
#include "server_plugin/store/store_sql.h"

#include <string.h>

/* ---- transactions and batched writes */

static gint64 col_time(const orchard_host_api *h, orchard_stmt *st, int i)
{
    return h->stmt_column_is_null(st, i) ? -1 : h->stmt_column_int(st, i);
}

int orchard_store_hp_begin(int write, const char *what, orchard_store_tx **tx)
{
    return orchard_sstore_begin(write, what, tx);
}

int orchard_store_hp_end(orchard_store_tx *tx, int rc, const char *what)
{
    return orchard_sstore_end(tx, rc, what, 0);
}

static int content_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    size_t len = 0;
    const void *b = h->stmt_column_blob(st, 0, &len);
    *(GBytes **)out = g_bytes_new(b, len);
    return 0;
}

int orchard_store_hp_content(orchard_store_tx *tx, gint64 id, const char *checksum, GBytes **out)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    *out = NULL;
    int rc = orchard_sstore_prepare(tx, "SELECT content FROM mdm_profiles WHERE id = ? AND "
                                    "checksum = ?",
                                    SQL_PARAMS(SQL_INT(id), SQL_TEXT(checksum)), &st);
    if (rc == 0) {
        rc = h->stmt_step(st);
        rc = rc == 1 ? content_row(h, st, out) : rc == 0 ? ORCHARD_ENOTFOUND : rc;
    }
    h->stmt_finish(st);
    return rc;
}

typedef struct {
    const char *const *udids;
    const char *command_uuid;
    gint64 now_us;
} queue_ud;

static void fill_queue(const orchard_sql_batch *b, size_t i, orchard_sql_param *out)
{
    const queue_ud *q = b->ud;
    out[0] = SQL_TEXT(q->udids[i]);
    out[1] = SQL_TEXT(q->command_uuid);
    out[2] = SQL_INT(q->now_us);
    out[3] = SQL_INT(q->now_us / G_USEC_PER_SEC);
}

int orchard_store_hp_enqueue(orchard_store_tx *tx, const char *command_uuid,
                             const char *request_type, const void *plist, size_t plist_len,
                             const char *const *udids, size_t n, gint64 now_us)
{
    if (plist) {
        gint64 w = orchard_sstore_exec(tx,
                                       "INSERT INTO mdm_commands (command_uuid, request_type, "
                                       "command, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
                                       SQL_PARAMS(SQL_TEXT(command_uuid), SQL_TEXT(request_type),
                                                  SQL_BLOB(plist, plist_len),
                                                  SQL_TEXT("orchard (profiles)"),
                                                  SQL_INT(now_us)));
        if (w < 0)
            return (int)w;
    }
    queue_ud q = {udids, command_uuid, now_us};
    orchard_sql_batch b = {.head = "INSERT INTO mdm_command_queue (udid, command_uuid, status, queued_at, "
                       "updated_at) VALUES ",
               .row = "(?, ?, 'Pending', ?, ?)", .tail = "", .per_row = 4, .fill = fill_queue,
               .ud = &q};
    return orchard_sstore_exec_batch(tx, &b, n);
}

typedef struct {
    const char *const *udids;
    const orchard_hp_profile *p;
    const char *command_uuid;
    gint64 now;
} install_ud;

static void fill_install(const orchard_sql_batch *b, size_t i, orchard_sql_param *out)
{
    const install_ud *u = b->ud;
    out[0] = SQL_TEXT(u->udids[i]);
    out[1] = SQL_TEXT(u->p->identifier);
    out[2] = SQL_INT(u->p->id);
    out[3] = SQL_TEXT(u->p->name);
    out[4] = SQL_TEXT(u->p->checksum);
    out[5] = SQL_TEXT(u->p->payload_uuid);
    out[6] = SQL_TEXT(u->command_uuid);
    out[7] = SQL_INT(u->now);
}

int orchard_store_hp_set_install(orchard_store_tx *tx, const orchard_hp_profile *p,
                                 const char *const *udids, size_t n, const char *command_uuid,
                                 gint64 now)
{
    install_ud u = {udids, p, command_uuid, now};
    orchard_sql_batch b = {
        .head = "INSERT INTO mdm_host_profiles (udid, identifier, profile_id, name, checksum, "
                "payload_uuid, operation, status, detail, command_uuid, retries, updated_at) "
                "VALUES ",
        .row = "(?, ?, ?, ?, ?, ?, 'install', 'pending', '', ?, 0, ?)",
        .tail = " ON CONFLICT (udid, identifier) DO UPDATE SET profile_id = excluded.profile_id, "
                "name = excluded.name, checksum = excluded.checksum, "
                "payload_uuid = excluded.payload_uuid, operation = excluded.operation, "
                "status = excluded.status, detail = excluded.detail, "
                "command_uuid = excluded.command_uuid, retries = excluded.retries, "
                "updated_at = excluded.updated_at",
        .per_row = 8, .fill = fill_install, .ud = &u};
    return orchard_sstore_exec_batch(tx, &b, n);
}

static void fill_udid(const orchard_sql_batch *b, size_t i, orchard_sql_param *out)
{
    out[0] = SQL_TEXT(((const char *const *)b->ud)[i]);
}

int orchard_store_hp_set_remove(orchard_store_tx *tx, const char *identifier,
                                const char *const *udids, size_t n, const char *command_uuid,
                                gint64 now)
{
    const orchard_sql_param lead[] = {SQL_TEXT(command_uuid), SQL_INT(now), SQL_TEXT(identifier)};
    orchard_sql_batch b = {.head = "UPDATE mdm_host_profiles SET operation = 'remove', status = 'pending', "
                       "profile_id = NULL, detail = '', retries = 0, command_uuid = ?, "
                       "updated_at = ? WHERE identifier = ? AND udid IN (",
               .row = "?", .tail = ")", .lead = lead, .n_lead = G_N_ELEMENTS(lead),
               .per_row = 1, .fill = fill_udid, .ud = udids};
    return orchard_sstore_exec_batch(tx, &b, n);
}

int orchard_store_hp_list_asked(orchard_store_tx *tx, const char *const *udids, size_t n,
                                gint64 now)
{
    const orchard_sql_param lead[] = {SQL_INT(now)};
    orchard_sql_batch b = {.head = "UPDATE mdm_enrollments SET profile_list_asked_at = ? WHERE udid IN (",
               .row = "?", .tail = ")", .lead = lead, .n_lead = 1, .per_row = 1,
               .fill = fill_udid, .ud = udids};
    return orchard_sstore_exec_batch(tx, &b, n);
}

int orchard_store_hp_delete(orchard_store_tx *tx, const char *udid, const char *identifier)
{
    gint64 w = orchard_sstore_exec(tx, "DELETE FROM mdm_host_profiles WHERE udid = ? AND "
                                   "identifier = ?",
                                   SQL_PARAMS(SQL_TEXT(udid), SQL_TEXT(identifier)));
    return w < 0 ? (int)w : 0;
}

int orchard_store_hp_relink(orchard_store_tx *tx, const char *udid, const char *identifier,
                            gint64 profile_id, const char *name)
{
    gint64 w = orchard_sstore_exec(tx, "UPDATE mdm_host_profiles SET profile_id = ?, name = ? "
                                   "WHERE udid = ? AND identifier = ?",
                                   SQL_PARAMS(SQL_INT(profile_id), SQL_TEXT(name),
                                              SQL_TEXT(udid), SQL_TEXT(identifier)));
    return w < 0 ? (int)w : 0;
}

/* ---- single rows, for the reports */

void orchard_hp_state_free(orchard_hp_state *s)
{
    if (!s)
        return;
    g_free(s->udid);
    g_free(s->identifier);
    g_free(s->name);
    g_free(s->checksum);
    g_free(s->payload_uuid);
    g_free(s->operation);
    g_free(s->status);
    g_free(s->detail);
    g_free(s->command_uuid);
    g_free(s);
}

#define STATE_COLUMNS                                                                         \
    "p.udid, p.identifier, p.profile_id, p.name, p.checksum, p.payload_uuid, p.operation, "  \
    "p.status, p.detail, p.command_uuid, p.retries, p.updated_at"

static void state_of_row(const orchard_host_api *h, orchard_stmt *st, orchard_hp_state *s)
{
    s->udid = g_strdup(h->stmt_column_text(st, 0));
    s->identifier = g_strdup(h->stmt_column_text(st, 1));
    s->profile_id = h->stmt_column_is_null(st, 2) ? 0 : h->stmt_column_int(st, 2);
    s->name = g_strdup(h->stmt_column_text(st, 3));
    s->checksum = g_strdup(h->stmt_column_text(st, 4));
    s->payload_uuid = g_strdup(h->stmt_column_text(st, 5));
    s->operation = g_strdup(h->stmt_column_text(st, 6));
    s->status = g_strdup(h->stmt_column_text(st, 7));
    s->detail = g_strdup(h->stmt_column_text(st, 8));
    s->command_uuid = g_strdup(h->stmt_column_text(st, 9));
    s->retries = h->stmt_column_int(st, 10);
    s->updated_at = h->stmt_column_int(st, 11);
}

static int states_in_tx(orchard_store_tx *tx, const char *sql, const orchard_sql_param *params,
                        size_t n, GPtrArray **out)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_hp_state_free);
    int rc = orchard_sstore_prepare(tx, sql, params, n, &st);
    while (rc == 0 && (rc = h->stmt_step(st)) == 1) {
        orchard_hp_state *s = g_new0(orchard_hp_state, 1);
        state_of_row(h, st, s);
        g_ptr_array_add(list, s);
        rc = 0;
    }
    h->stmt_finish(st);
    if (rc) {
        g_ptr_array_unref(list);
        list = NULL;
    }
    *out = list;
    return rc;
}

int orchard_store_hp_by_command(orchard_store_tx *tx, const char *udid,
                                const char *command_uuid, GPtrArray **out)
{
    return states_in_tx(tx,
                        "SELECT " STATE_COLUMNS " FROM mdm_host_profiles p "
                        "WHERE p.command_uuid = ? AND p.udid = ? ORDER BY p.identifier",
                        SQL_PARAMS(SQL_TEXT(command_uuid), SQL_TEXT(udid)), out);
}

int orchard_store_hp_installed(orchard_store_tx *tx, const char *udid, GPtrArray **out)
{
    return states_in_tx(tx,
                        "SELECT " STATE_COLUMNS " FROM mdm_host_profiles p "
                        "WHERE p.udid = ? AND p.operation = 'install' AND "
                        "p.status IN ('verifying', 'verified') ORDER BY p.identifier",
                        SQL_PARAMS(SQL_TEXT(udid)), out);
}

int orchard_store_hp_update(orchard_store_tx *tx, const char *udid, const char *identifier,
                            const char *status, const char *detail, gint64 retries,
                            const char *command_uuid, gint64 now)
{
    gint64 w = orchard_sstore_exec(tx,
                                   "UPDATE mdm_host_profiles SET status = ?, detail = ?, "
                                   "retries = ?, command_uuid = ?, updated_at = ? "
                                   "WHERE udid = ? AND identifier = ?",
                                   SQL_PARAMS(SQL_TEXT(status), SQL_TEXT(detail ? detail : ""),
                                              SQL_INT(retries), SQL_TEXT(command_uuid),
                                              SQL_INT(now), SQL_TEXT(udid),
                                              SQL_TEXT(identifier)));
    return w < 0 ? (int)w : 0;
}

int orchard_store_hp_list_answered(orchard_store_tx *tx, const char *udid, gint64 now,
                                   gint64 *asked_at)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    gint64 asked = -1;
    int rc = orchard_sstore_prepare(tx, "SELECT profile_list_asked_at FROM mdm_enrollments "
                                    "WHERE udid = ?",
                                    SQL_PARAMS(SQL_TEXT(udid)), &st);
    if (rc == 0) {
        rc = h->stmt_step(st);
        if (rc == 1)
            asked = col_time(h, st, 0);
        rc = rc == 1 ? 0 : rc == 0 ? ORCHARD_ENOTFOUND : rc;
    }
    h->stmt_finish(st);
    if (rc == 0) {
        gint64 w = orchard_sstore_exec(tx, "UPDATE mdm_enrollments SET profile_list_at = ? "
                                       "WHERE udid = ?",
                                       SQL_PARAMS(SQL_INT(now), SQL_TEXT(udid)));
        rc = w < 0 ? (int)w : 0;
    }
    if (asked_at)
        *asked_at = asked;
    return rc;
}

/* ---- the table's and the API's reads */

void orchard_host_profile_free(orchard_host_profile *p)
{
    if (!p)
        return;
    g_free(p->s.udid);
    g_free(p->s.identifier);
    g_free(p->s.name);
    g_free(p->s.checksum);
    g_free(p->s.payload_uuid);
    g_free(p->s.operation);
    g_free(p->s.status);
    g_free(p->s.detail);
    g_free(p->s.command_uuid);
    g_free(p->team);
    g_free(p);
}

static void *host_profile_row(const orchard_host_api *h, orchard_stmt *st)
{
    orchard_host_profile *p = g_new0(orchard_host_profile, 1);
    state_of_row(h, st, &p->s);
    p->team_id = h->stmt_column_is_null(st, 12) ? 0 : h->stmt_column_int(st, 12);
    p->team = g_strdup(h->stmt_column_is_null(st, 13) ? "" : h->stmt_column_text(st, 13));
    return p;
}

#define HOST_PROFILES_SQL                                                                     \
    "SELECT " STATE_COLUMNS ", e.team_id, t.name FROM mdm_host_profiles p "                  \
    "LEFT JOIN mdm_enrollments e ON e.udid = p.udid LEFT JOIN teams t ON t.id = e.team_id "

int orchard_store_host_profiles(const char *udid, GPtrArray **out)
{
    if (udid)
        return orchard_sstore_read_list("reading a host's profiles",
                                        HOST_PROFILES_SQL "WHERE p.udid = ? ORDER BY p.identifier",
                                        SQL_PARAMS(SQL_TEXT(udid)), host_profile_row,
                                        (GDestroyNotify)orchard_host_profile_free, out);
    return orchard_sstore_read_list("reading the hosts' profiles",
                                    HOST_PROFILES_SQL "ORDER BY p.udid, p.identifier", NULL, 0,
                                    host_profile_row, (GDestroyNotify)orchard_host_profile_free,
                                    out);
}

typedef struct {
    gint64 *team_id;
    char **name;
} team_out;

static int team_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    team_out *t = out;
    *t->team_id = h->stmt_column_int(st, 0);
    *t->name = g_strdup(h->stmt_column_is_null(st, 1) ? "" : h->stmt_column_text(st, 1));
    return 0;
}

int orchard_store_host_team(const char *udid, gint64 *team_id, char **team_name)
{
    team_out t = {team_id, team_name};
    *team_id = 0;
    *team_name = NULL;
    return orchard_sstore_read_one("reading a host's team",
                                   "SELECT e.team_id, t.name FROM mdm_enrollments e "
                                   "LEFT JOIN teams t ON t.id = e.team_id WHERE e.udid = ?",
                                   SQL_PARAMS(SQL_TEXT(udid)), team_row, &t);
}

int orchard_store_host_teams(gint64 page, gint64 per_page, GHashTable **out)
{
    const char *what = "reading the hosts' teams";
    const orchard_host_api *h = orchard_sstore_host();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    gint64 limit, offset;
    *out = NULL;
    if (orchard_sstore_page(page, per_page, &limit, &offset))
        return ORCHARD_EINVAL;
    int rc = orchard_sstore_begin(0, what, &tx);
    if (rc)
        return rc;
    GHashTable *map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    rc = orchard_sstore_prepare(tx, "SELECT udid, team_id FROM mdm_enrollments ORDER BY udid "
                                "LIMIT ? OFFSET ?",
                                SQL_PARAMS(SQL_INT(limit), SQL_INT(offset)), &st);
    while (rc == 0 && (rc = h->stmt_step(st)) == 1) {
        gint64 *team = g_new(gint64, 1);
        *team = h->stmt_column_int(st, 1);
        g_hash_table_replace(map, g_strdup(h->stmt_column_text(st, 0)), team);
        rc = 0;
    }
    if (rc)
        orchard_sstore_log_fail(tx, what, rc);
    h->stmt_finish(st);
    h->store_rollback(tx);
    if (rc) {
        g_hash_table_unref(map);
        return rc;
    }
    *out = map;
    return 0;
}
