/* The command queue on the store (store_queue.h): commands queued by the
 * admin API, handed out oldest first to the device that polls, and the
 * devices' reports. Units: mdm_command_queue.queued_at and
 * mdm_commands.created_at are microseconds (so that order is exact within a
 * second), updated_at columns are seconds, as store_queue.h's fields say. */
#include "server_plugin/store/store_queue.h"
#include "server_plugin/store/store_sql.h"

#include <string.h>

void orchard_command_result_free(orchard_command_result *r)
{
    if (!r)
        return;
    g_free(r->udid);
    g_free(r->command_uuid);
    g_free(r->request_type);
    g_free(r->status);
    if (r->result)
        g_bytes_unref(r->result);
    g_free(r->error_chain);
    g_free(r);
}

void orchard_command_info_free(orchard_command_info *c)
{
    if (!c)
        return;
    g_free(c->command_uuid);
    g_free(c->request_type);
    g_free(c->created_by);
    g_free(c);
}

/* 1 when `sql` (one parameter) has a row in tx, 0 when not, or a negative code. */
static int row_exists(orchard_store_tx *tx, const char *sql, const char *param)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    int rc = orchard_sstore_prepare(tx, sql, SQL_PARAMS(SQL_TEXT(param)), &st);
    if (rc == 0)
        rc = h->stmt_step(st);
    h->stmt_finish(st);
    return rc;
}

int orchard_store_command_enqueue(const char *command_uuid, const char *request_type,
                                  const void *plist, size_t plist_len, const char *created_by,
                                  const char *const *udids, size_t n, gint64 now_us,
                                  char **bad_udid)
{
    const char *what = "queueing a command";
    orchard_store_tx *tx = NULL;
    g_autoptr(GHashTable) seen = NULL;
    gint64 w;
    int rc;

    if (bad_udid)
        *bad_udid = NULL;
    if (!command_uuid || !request_type || !plist || !plist_len || !udids || n == 0)
        return ORCHARD_EINVAL;
    if ((rc = orchard_sstore_begin(1, what, &tx)))
        return rc;
    rc = row_exists(tx, "SELECT 1 FROM mdm_commands WHERE command_uuid = ?", command_uuid);
    if (rc != 0)
        return orchard_sstore_end(tx, rc == 1 ? ORCHARD_EEXIST : rc, what, ORCHARD_EEXIST);
    w = orchard_sstore_exec(tx,
                            "INSERT INTO mdm_commands (command_uuid, request_type, command, "
                            "created_by, created_at) VALUES (?, ?, ?, ?, ?)",
                            SQL_PARAMS(SQL_TEXT(command_uuid), SQL_TEXT(request_type),
                                       SQL_BLOB(plist, plist_len), SQL_TEXT(created_by),
                                       SQL_INT(now_us)));
    if (w < 0)
        return orchard_sstore_end(tx, (int)w, what, 0);
    /* A UDID named twice is queued once. */
    seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t i = 0; i < n; i++) {
        if (!udids[i] || g_hash_table_contains(seen, udids[i]))
            continue;
        g_hash_table_add(seen, (gpointer)udids[i]);
        rc = row_exists(tx, "SELECT 1 FROM mdm_enrollments WHERE udid = ? AND enabled = 1",
                        udids[i]);
        if (rc == 0) {
            if (bad_udid)
                *bad_udid = g_strdup(udids[i]);
            return orchard_sstore_end(tx, ORCHARD_ENOTFOUND, what, ORCHARD_ENOTFOUND);
        }
        if (rc < 0)
            return orchard_sstore_end(tx, rc, what, 0);
        w = orchard_sstore_exec(tx,
                                "INSERT INTO mdm_command_queue (udid, command_uuid, status, "
                                "queued_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                                SQL_PARAMS(SQL_TEXT(udids[i]), SQL_TEXT(command_uuid),
                                           SQL_TEXT(ORCHARD_CMD_PENDING), SQL_INT(now_us),
                                           SQL_INT(now_us / G_USEC_PER_SEC)));
        if (w < 0)
            return orchard_sstore_end(tx, (int)w, what, 0);
    }
    if (g_hash_table_size(seen) == 0)
        return orchard_sstore_end(tx, ORCHARD_EINVAL, what, ORCHARD_EINVAL);
    return orchard_sstore_end(tx, 0, what, 0);
}

typedef struct {
    char **uuid;
    GBytes **plist;
} next_out;

static int next_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    next_out *o = out;
    size_t len = 0;
    const void *b = h->stmt_column_blob(st, 1, &len);
    *o->uuid = g_strdup(h->stmt_column_text(st, 0));
    *o->plist = g_bytes_new(b, len);
    return 0;
}

/* A NotNow is due again once the device has started a new polling session
 * (an Idle report moves session_started_at): the report remembers the
 * session it was given in (notnow_session), so no clock's resolution
 * decides, and a Mac polling again a moment later gets it back. */
int orchard_store_command_next(const char *udid, char **command_uuid, GBytes **plist)
{
    next_out o = {command_uuid, plist};
    *command_uuid = NULL;
    *plist = NULL;
    return orchard_sstore_read_one(
        "finding a device's next command",
        "SELECT q.command_uuid, c.command FROM mdm_command_queue q "
        "JOIN mdm_commands c ON c.command_uuid = q.command_uuid "
        "JOIN mdm_enrollments e ON e.udid = q.udid "
        "WHERE q.udid = ? AND (q.status = 'Pending' OR (q.status = 'NotNow' AND "
        "q.notnow_session < e.session_started_at)) "
        "ORDER BY q.queued_at, q.command_uuid LIMIT 1",
        SQL_PARAMS(SQL_TEXT(udid)), next_row, &o);
}

int orchard_store_command_report(const char *udid, const char *command_uuid, const char *status,
                                 const void *report, size_t report_len,
                                 const char *error_chain_json, gint64 now)
{
    const char *what = "recording a command report";
    orchard_store_tx *tx = NULL;
    gint64 n;
    int rc;

    if (!udid || !command_uuid || !status || strcmp(status, ORCHARD_CMD_PENDING) == 0)
        return ORCHARD_EINVAL;
    if ((rc = orchard_sstore_begin(1, what, &tx)))
        return rc;
    n = orchard_sstore_exec(tx,
                            "UPDATE mdm_command_queue SET status = ?, result = ?, "
                            "error_chain = ?, updated_at = ?, notnow_session = (SELECT "
                            "session_started_at FROM mdm_enrollments WHERE udid = ?) "
                            "WHERE udid = ? AND command_uuid = ?",
                            SQL_PARAMS(SQL_TEXT(status),
                                       report && report_len ? SQL_BLOB(report, report_len)
                                                            : SQL_TEXT(NULL),
                                       SQL_TEXT(error_chain_json), SQL_INT(now),
                                       SQL_TEXT(udid), SQL_TEXT(udid), SQL_TEXT(command_uuid)));
    if (n == 0)
        return orchard_sstore_end(tx, ORCHARD_ENOTFOUND, what, ORCHARD_ENOTFOUND);
    /* The device spoke: last seen goes in the same write, not a second one. */
    if (n > 0)
        n = orchard_sstore_exec(tx, "UPDATE mdm_enrollments SET last_seen_at = ? WHERE udid = ?",
                                SQL_PARAMS(SQL_INT(now), SQL_TEXT(udid)));
    return orchard_sstore_end(tx, n < 0 ? (int)n : 0, what, 0);
}

#define RESULT_COLUMNS                                                                        \
    "q.udid, q.command_uuid, c.request_type, q.status, q.error_chain, q.queued_at, "         \
    "q.updated_at, q.result"

static orchard_command_result *result_of_row(const orchard_host_api *h, orchard_stmt *st,
                                             int with_result)
{
    orchard_command_result *r = g_new0(orchard_command_result, 1);
    r->udid = g_strdup(h->stmt_column_text(st, 0));
    r->command_uuid = g_strdup(h->stmt_column_text(st, 1));
    r->request_type = g_strdup(h->stmt_column_text(st, 2));
    r->status = g_strdup(h->stmt_column_text(st, 3));
    r->error_chain = g_strdup(h->stmt_column_text(st, 4));
    r->queued_at_us = h->stmt_column_int(st, 5);
    r->updated_at = h->stmt_column_int(st, 6);
    if (with_result && !h->stmt_column_is_null(st, 7)) {
        size_t len = 0;
        const void *b = h->stmt_column_blob(st, 7, &len);
        r->result = g_bytes_new(b, len);
    }
    return r;
}

int orchard_store_command_results(const char *command_uuid, GPtrArray **out)
{
    const char *what = "reading a command's results";
    const orchard_host_api *h = orchard_sstore_host();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int rc;

    *out = NULL;
    if ((rc = orchard_sstore_begin(0, what, &tx)))
        return rc;
    /* A command whose devices re-enrolled since (their rows went) still exists. */
    rc = row_exists(tx, "SELECT 1 FROM mdm_commands WHERE command_uuid = ?", command_uuid);
    rc = rc == 1 ? 0 : rc == 0 ? ORCHARD_ENOTFOUND : rc;
    if (rc == 0)
        rc = orchard_sstore_prepare(tx,
                                    "SELECT " RESULT_COLUMNS " FROM mdm_command_queue q "
                                    "JOIN mdm_commands c ON c.command_uuid = q.command_uuid "
                                    "WHERE q.command_uuid = ? ORDER BY q.udid",
                                    SQL_PARAMS(SQL_TEXT(command_uuid)), &st);
    GPtrArray *list =
        g_ptr_array_new_with_free_func((GDestroyNotify)orchard_command_result_free);
    while (rc == 0 && (rc = h->stmt_step(st)) == 1) {
        rc = 0;
        g_ptr_array_add(list, result_of_row(h, st, 1));
    }
    if (rc) {
        if (rc != ORCHARD_ENOTFOUND)
            orchard_sstore_log_fail(tx, what, rc);
        g_ptr_array_unref(list);
    } else {
        *out = list;
    }
    h->stmt_finish(st);
    h->store_rollback(tx);
    return rc;
}

static void *info_of_row(const orchard_host_api *h, orchard_stmt *st)
{
    orchard_command_info *c = g_new0(orchard_command_info, 1);
    c->command_uuid = g_strdup(h->stmt_column_text(st, 0));
    c->request_type = g_strdup(h->stmt_column_text(st, 1));
    c->created_by = g_strdup(h->stmt_column_text(st, 2));
    c->created_at = h->stmt_column_int(st, 3) / G_USEC_PER_SEC;
    c->devices = h->stmt_column_int(st, 4);
    return c;
}

int orchard_store_command_list(gint64 page, gint64 per_page, GPtrArray **out)
{
    gint64 limit, offset;
    *out = NULL;
    if (orchard_sstore_page(page, per_page, &limit, &offset))
        return ORCHARD_EINVAL;
    return orchard_sstore_read_list(
        "listing commands",
        "SELECT c.command_uuid, c.request_type, c.created_by, c.created_at, "
        "(SELECT COUNT(*) FROM mdm_command_queue q WHERE q.command_uuid = c.command_uuid) "
        "FROM mdm_commands c ORDER BY c.created_at DESC, c.command_uuid DESC LIMIT ? OFFSET ?",
        SQL_PARAMS(SQL_INT(limit), SQL_INT(offset)), info_of_row,
        (GDestroyNotify)orchard_command_info_free, out);
}

int orchard_store_command_each(int (*fn)(const orchard_command_result *r, void *payload),
                               void *payload)
{
    const char *what = "listing queued commands";
    const orchard_host_api *h = orchard_sstore_host();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int rc;

    if ((rc = orchard_sstore_begin(0, what, &tx)))
        return rc;
    rc = orchard_sstore_prepare(tx,
                                "SELECT " RESULT_COLUMNS " FROM mdm_command_queue q "
                                "JOIN mdm_commands c ON c.command_uuid = q.command_uuid "
                                "ORDER BY q.queued_at, q.udid",
                                NULL, 0, &st);
    while (rc == 0 && (rc = h->stmt_step(st)) == 1) {
        orchard_command_result *r = result_of_row(h, st, 0);
        rc = 0;
        int stop = fn(r, payload);
        orchard_command_result_free(r);
        if (stop)
            break;
    }
    if (rc)
        orchard_sstore_log_fail(tx, what, rc);
    h->stmt_finish(st);
    h->store_rollback(tx);
    return rc;
}

/* Added for the host page (web/hosts_page.c, api/hosts.h): one device's rows
 * only, through mdm_command_queue_next's (udid, ...) prefix, rather than
 * orchard_store_command_each's walk over every device. */
static void *device_cmd_row(const orchard_host_api *h, orchard_stmt *st)
{
    return result_of_row(h, st, 0);
}

int orchard_store_command_for_device(const char *udid, int unanswered, gint64 limit,
                                     GPtrArray **out)
{
    *out = NULL;
    if (!udid || limit <= 0)
        return ORCHARD_EINVAL;
    const char *sql =
        unanswered ? "SELECT " RESULT_COLUMNS " FROM mdm_command_queue q "
                     "JOIN mdm_commands c ON c.command_uuid = q.command_uuid "
                     "WHERE q.udid = ? AND q.status IN ('Pending', 'NotNow') "
                     "ORDER BY q.queued_at, q.command_uuid LIMIT ?"
                   : "SELECT " RESULT_COLUMNS " FROM mdm_command_queue q "
                     "JOIN mdm_commands c ON c.command_uuid = q.command_uuid "
                     "WHERE q.udid = ? AND q.status NOT IN ('Pending', 'NotNow') "
                     "ORDER BY q.updated_at DESC, q.queued_at DESC, q.command_uuid LIMIT ?";
    return orchard_sstore_read_list("reading a device's commands", sql,
                                    SQL_PARAMS(SQL_TEXT(udid), SQL_INT(limit)), device_cmd_row,
                                    (GDestroyNotify)orchard_command_result_free, out);
}
