/* Job leases (leases.h) in table orchard_leases (name, holder, expires_at
 * in Unix milliseconds by the writer's clock: instances need synchronized
 * clocks). Portable SQL only: `?` placeholders, no time functions. */
#include "host/instances/leases.h"

#include "host/store/store.h"

#include <string.h>

static const char take_sql[] =
    "UPDATE orchard_leases SET holder = ?, expires_at = ?"
    " WHERE name = ? AND (holder = ? OR expires_at < ?)";
static const char insert_sql[] =
    "INSERT INTO orchard_leases (name, holder, expires_at) VALUES (?, ?, ?)";
static const char renew_sql[] = "UPDATE orchard_leases SET expires_at = ? WHERE holder = ?";
static const char release_sql[] = "DELETE FROM orchard_leases WHERE holder = ?";
static const char names_sql[] =
    "SELECT name FROM orchard_leases WHERE holder = ? AND expires_at >= ? ORDER BY name";
static const char holder_sql[] =
    "SELECT holder FROM orchard_leases WHERE name = ? AND expires_at >= ?";
static const char peek_sql[] = "SELECT holder, expires_at FROM orchard_leases WHERE name = ?";

/* Most asks have an answer without writing: another live holder (every
 * run of every other instance), or ours with half the time still to go
 * (the heartbeat renews it). Readers never wait for the writer, so this
 * keeps the lease off the one writer path of all instances. 1 or 0 when
 * that decides, -1 when the write must decide. */
static int peek(const char *name, const char *holder, int64_t now_ms, int64_t ttl_ms)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int answer = -1;

    if (orchard_store_begin(&tx, 0) != 0)
        return -1;
    if (orchard_stmt_prepare(tx, peek_sql, &st) == 0 &&
        orchard_stmt_bind_text(st, 1, name) == 0 && orchard_stmt_step(st) == 1) {
        const char *who = orchard_stmt_column_text(st, 0);
        int64_t expires = orchard_stmt_column_int(st, 1);
        int ours = who && strcmp(who, holder) == 0;
        if (!ours && expires >= now_ms)
            answer = 0;
        else if (ours && expires - now_ms >= ttl_ms / 2)
            answer = 1;
    }
    orchard_stmt_finish(st);
    orchard_store_rollback(tx);
    return answer;
}

/* Take it when ours, expired, or (no row) free. The write transaction holds
 * the one writer path of every instance, so nobody slips in between the
 * UPDATE and the INSERT; a row that is there and not ours makes the INSERT
 * fail with ORCHARD_EEXIST: someone else holds it. */
static int take(orchard_store_tx *tx, const char *name, const char *holder, int64_t now_ms,
                int64_t ttl_ms)
{
    orchard_stmt *st = NULL;
    int64_t changed = 0;
    int rc = orchard_stmt_prepare(tx, take_sql, &st);

    if (rc == 0 && (rc = orchard_stmt_bind_text(st, 1, holder)) == 0 &&
        (rc = orchard_stmt_bind_int(st, 2, now_ms + ttl_ms)) == 0 &&
        (rc = orchard_stmt_bind_text(st, 3, name)) == 0 &&
        (rc = orchard_stmt_bind_text(st, 4, holder)) == 0 &&
        (rc = orchard_stmt_bind_int(st, 5, now_ms)) == 0 && (rc = orchard_stmt_step(st)) >= 0) {
        changed = orchard_stmt_changes(st);
        rc = 0;
    }
    orchard_stmt_finish(st);
    if (rc != 0 || changed > 0)
        return rc ? rc : 1;
    st = NULL;
    rc = orchard_stmt_prepare(tx, insert_sql, &st);
    if (rc == 0 && (rc = orchard_stmt_bind_text(st, 1, name)) == 0 &&
        (rc = orchard_stmt_bind_text(st, 2, holder)) == 0 &&
        (rc = orchard_stmt_bind_int(st, 3, now_ms + ttl_ms)) == 0 &&
        (rc = orchard_stmt_step(st)) >= 0)
        rc = 1;
    orchard_stmt_finish(st);
    return rc;
}

int orchard_lease_acquire(const char *name, const char *holder, int64_t now_ms, int64_t ttl_ms)
{
    orchard_store_tx *tx = NULL;
    int rc;

    if (!name || !holder || ttl_ms <= 0)
        return ORCHARD_EINVAL;
    if ((rc = peek(name, holder, now_ms, ttl_ms)) >= 0)
        return rc;
    if ((rc = orchard_store_begin(&tx, 1)) != 0)
        return rc;
    rc = take(tx, name, holder, now_ms, ttl_ms);
    if (rc == ORCHARD_EEXIST) {
        orchard_store_rollback(tx);
        return 0;
    }
    if (rc < 0) {
        orchard_store_rollback(tx);
        return rc;
    }
    int crc = orchard_store_commit(tx);
    /* Another instance's INSERT committed first (a backend that does not
     * serialize writers would report it here). */
    if (crc == ORCHARD_EEXIST)
        return 0;
    return crc ? crc : 1;
}

/* Run one statement with a text and, when int_first, an integer before it. */
static int exec_holder(orchard_store_tx *tx, const char *sql, const char *holder, int with_int,
                       int64_t value, int64_t *changes)
{
    orchard_stmt *st = NULL;
    int i = 1, rc = orchard_stmt_prepare(tx, sql, &st);

    if (rc == 0 && with_int)
        rc = orchard_stmt_bind_int(st, i++, value);
    if (rc == 0)
        rc = orchard_stmt_bind_text(st, i, holder);
    if (rc == 0 && (rc = orchard_stmt_step(st)) >= 0) {
        rc = 0;
        if (changes)
            *changes = orchard_stmt_changes(st);
    }
    orchard_stmt_finish(st);
    return rc;
}

int orchard_lease_renew_all(orchard_store_tx *tx, const char *holder, int64_t now_ms,
                            int64_t ttl_ms)
{
    int64_t n = 0;
    int rc = exec_holder(tx, renew_sql, holder, 1, now_ms + ttl_ms, &n);
    return rc ? rc : (int)MIN(n, G_MAXINT);
}

int orchard_lease_release_all(orchard_store_tx *tx, const char *holder)
{
    return exec_holder(tx, release_sql, holder, 0, 0, NULL);
}

int orchard_lease_names(orchard_store_tx *tx, const char *holder, int64_t now_ms, char **names)
{
    orchard_stmt *st = NULL;
    GString *s = g_string_new(NULL);
    int rc = orchard_stmt_prepare(tx, names_sql, &st);

    *names = NULL;
    if (rc == 0 && (rc = orchard_stmt_bind_text(st, 1, holder)) == 0 &&
        (rc = orchard_stmt_bind_int(st, 2, now_ms)) == 0)
        while ((rc = orchard_stmt_step(st)) == 1) {
            const char *name = orchard_stmt_column_text(st, 0);
            g_string_append_printf(s, "%s%s", s->len ? "," : "", name ? name : "");
        }
    orchard_stmt_finish(st);
    if (rc < 0) {
        g_string_free(s, TRUE);
        return rc;
    }
    *names = g_string_free(s, FALSE);
    return 0;
}

char *orchard_lease_holder(const char *name, int64_t now_ms)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    char *holder = NULL;

    if (orchard_store_begin(&tx, 0) != 0)
        return NULL;
    if (orchard_stmt_prepare(tx, holder_sql, &st) == 0 &&
        orchard_stmt_bind_text(st, 1, name) == 0 && orchard_stmt_bind_int(st, 2, now_ms) == 0 &&
        orchard_stmt_step(st) == 1)
        holder = g_strdup(orchard_stmt_column_text(st, 0));
    orchard_stmt_finish(st);
    orchard_store_rollback(tx);
    return holder;
}
