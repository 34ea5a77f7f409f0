/* Pushes on the store (store_pushes.h): the queue of devices waiting for an
 * APNs push, one row per device so wants coalesce, joined with the
 * enrollment for what a push needs, and the record of every outcome. */
#include "server_plugin/store/store_pushes.h"
#include "server_plugin/store/store_sql.h"

#include <string.h>

void orchard_push_due_free(orchard_push_due *p)
{
    if (!p)
        return;
    g_free(p->udid);
    g_free(p->token_hex);
    g_free(p->push_magic);
    g_free(p->topic);
    g_free(p);
}

void orchard_push_record_free(orchard_push_record *p)
{
    if (!p)
        return;
    g_free(p->udid);
    g_free(p->apns_id);
    g_free(p->reason);
    g_free(p);
}

typedef struct {
    const char *const *udids;
    gint64 now_ms;
} want_ud;

static void fill_want(const orchard_sql_batch *b, size_t i, orchard_sql_param *out)
{
    const want_ud *w = b->ud;
    out[0] = SQL_TEXT(w->udids[i]);
    out[1] = SQL_INT(w->now_ms);
    out[2] = SQL_INT(w->now_ms / 1000);
}

int orchard_store_push_want(const char *const *udids, size_t n, gint64 now_ms)
{
    const char *what = "queueing pushes";
    orchard_store_tx *tx = NULL;
    g_autoptr(GPtrArray) once = g_ptr_array_sized_new(n);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

    /* One statement may not name a row twice in PostgreSQL's ON CONFLICT
     * DO UPDATE: a UDID named twice is wanted once. */
    for (size_t i = 0; i < n; i++)
        if (udids[i] && g_hash_table_add(seen, (gpointer)udids[i]))
            g_ptr_array_add(once, (gpointer)udids[i]);
    if (once->len == 0)
        return 0;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    /* A device already waiting keeps its one row: it is due now and starts
     * its attempts over, since this want is news the last one was not. Rows
     * travel in batches (one round trip each on PostgreSQL: a reconciler
     * pass wants 10,000 devices at once). */
    want_ud w = {(const char *const *)once->pdata, now_ms};
    orchard_sql_batch b = {
        .head = "INSERT INTO apns_push_queue (udid, attempts, next_attempt_at, last_reason, "
                "queued_at) VALUES ",
        .row = "(?, 0, ?, NULL, ?)",
        .tail = " ON CONFLICT (udid) DO UPDATE SET attempts = 0, "
                "next_attempt_at = excluded.next_attempt_at",
        .per_row = 3, .fill = fill_want, .ud = &w};
    rc = orchard_sstore_exec_batch(tx, &b, once->len);
    return orchard_sstore_end(tx, rc, what, 0);
}

/* Lower-case hex of a token; NULL for an empty or absent one. */
static char *token_hex(const unsigned char *b, size_t len)
{
    if (!b || len == 0)
        return NULL;
    static const char digits[] = "0123456789abcdef";
    char *hex = g_malloc(2 * len + 1);
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[b[i] >> 4];
        hex[2 * i + 1] = digits[b[i] & 0x0f];
    }
    hex[2 * len] = '\0';
    return hex;
}

static void *due_row(const orchard_host_api *h, orchard_stmt *st)
{
    orchard_push_due *p = g_new0(orchard_push_due, 1);
    p->udid = g_strdup(h->stmt_column_text(st, 0));
    /* Only an enabled enrollment with a valid token and its PushMagic can be
     * pushed; anything else leaves token_hex NULL and the pusher drops it. */
    int usable = h->stmt_column_int(st, 4) == 1 && h->stmt_column_int(st, 5) == 1 &&
                 !h->stmt_column_is_null(st, 2);
    if (usable) {
        size_t len = 0;
        const void *tok = h->stmt_column_blob(st, 1, &len);
        p->token_hex = token_hex(tok, len);
        p->push_magic = g_strdup(h->stmt_column_text(st, 2));
    }
    p->topic = g_strdup(h->stmt_column_text(st, 3));
    p->attempts = h->stmt_column_int(st, 6);
    p->due_ms = h->stmt_column_int(st, 7);
    return p;
}

int orchard_store_push_due(gint64 now_ms, gint64 limit, GPtrArray **out)
{
    return orchard_sstore_read_list(
        "reading due pushes",
        "SELECT q.udid, e.push_token, e.push_magic, e.topic, e.enabled, e.push_token_valid, "
        "q.attempts, q.next_attempt_at FROM apns_push_queue q "
        "LEFT JOIN mdm_enrollments e ON e.udid = q.udid WHERE q.next_attempt_at <= ? "
        "ORDER BY q.next_attempt_at, q.queued_at, q.udid LIMIT ?",
        SQL_PARAMS(SQL_INT(now_ms), SQL_INT(limit)), due_row,
        (GDestroyNotify)orchard_push_due_free, out);
}

int orchard_store_push_done(const char *udid)
{
    gint64 n = orchard_sstore_write("finishing a push", "DELETE FROM apns_push_queue WHERE udid = ?",
                                    SQL_PARAMS(SQL_TEXT(udid)));
    return n < 0 ? (int)n : 0;
}

int orchard_store_push_retry(const char *udid, gint64 next_ms, const char *reason)
{
    gint64 n = orchard_sstore_write(
        "rescheduling a push",
        "UPDATE apns_push_queue SET attempts = attempts + 1, next_attempt_at = ?, "
        "last_reason = ? WHERE udid = ?",
        SQL_PARAMS(SQL_INT(next_ms), SQL_TEXT(reason), SQL_TEXT(udid)));
    return n < 0 ? (int)n : 0;
}

static gint64 insert_record(orchard_store_tx *tx, const char *udid, const char *apns_id,
                            int status, const char *reason, gint64 sent_ms)
{
    return orchard_sstore_exec(tx,
                               "INSERT INTO apns_pushes (udid, apns_id, status_code, reason, "
                               "sent_at) VALUES (?, ?, ?, ?, ?)",
                               SQL_PARAMS(SQL_TEXT(udid), SQL_TEXT(apns_id), SQL_INT(status),
                                          SQL_TEXT(reason), SQL_INT(sent_ms)));
}

int orchard_store_push_record(const char *udid, const char *apns_id, int status,
                              const char *reason, gint64 sent_ms)
{
    const char *what = "recording a push";
    orchard_store_tx *tx = NULL;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    gint64 r = insert_record(tx, udid, apns_id, status, reason, sent_ms);
    return orchard_sstore_end(tx, r < 0 ? (int)r : 0, what, 0);
}

static gint64 settle_one(orchard_store_tx *tx, const orchard_push_outcome *o)
{
    gint64 r = o->next == ORCHARD_PUSH_DROP
                   ? 0
                   : insert_record(tx, o->udid, o->apns_id, o->status, o->reason, o->sent_ms);
    if (r < 0)
        return r;
    if (o->next == ORCHARD_PUSH_RETRY)
        return orchard_sstore_exec(tx,
                                   "UPDATE apns_push_queue SET attempts = attempts + 1, "
                                   "next_attempt_at = ?, last_reason = ? "
                                   "WHERE udid = ? AND next_attempt_at = ?",
                                   SQL_PARAMS(SQL_INT(o->next_ms), SQL_TEXT(o->reason),
                                              SQL_TEXT(o->udid), SQL_INT(o->due_ms)));
    return orchard_sstore_exec(tx,
                               "DELETE FROM apns_push_queue WHERE udid = ? AND next_attempt_at = ?",
                               SQL_PARAMS(SQL_TEXT(o->udid), SQL_INT(o->due_ms)));
}

int orchard_store_push_settle(const orchard_push_outcome *o, size_t n)
{
    const char *what = "recording pushes";
    orchard_store_tx *tx = NULL;
    if (n == 0)
        return 0;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        gint64 r = settle_one(tx, &o[i]);
        rc = r < 0 ? (int)r : 0;
    }
    return orchard_sstore_end(tx, rc, what, 0);
}

static void *record_row(const orchard_host_api *h, orchard_stmt *st)
{
    orchard_push_record *p = g_new0(orchard_push_record, 1);
    p->udid = g_strdup(h->stmt_column_text(st, 0));
    p->apns_id = g_strdup(h->stmt_column_text(st, 1));
    p->status_code = (int)h->stmt_column_int(st, 2);
    p->reason = g_strdup(h->stmt_column_text(st, 3));
    p->sent_ms = h->stmt_column_int(st, 4);
    return p;
}

int orchard_store_push_list(gint64 limit, GPtrArray **out)
{
    gint64 bound, offset;
    orchard_sstore_page(0, limit > 0 ? limit : 0, &bound, &offset);
    return orchard_sstore_read_list("listing pushes",
                                    "SELECT udid, apns_id, status_code, reason, sent_at "
                                    "FROM apns_pushes ORDER BY sent_at DESC, id DESC LIMIT ?",
                                    SQL_PARAMS(SQL_INT(bound)), record_row,
                                    (GDestroyNotify)orchard_push_record_free, out);
}
