/* The store's PostgreSQL backend (store_backend.h), the entry point of the
 * module orchard_store_postgres.so: open and close, and transactions. A
 * write transaction takes this process's writer flag, then a pooled
 * connection, then the advisory lock every instance's writers share, so
 * writers take turns across instances as SQLite's do on one machine;
 * readers get a REPEATABLE READ snapshot beside them. */
#include "host/store/postgres/store_pg.h"

#include <orchard/plugin.h>
#include <string.h>

/* Begins that met a serialization failure or a deadlock are tried again
 * this many times in all, while busy_timeout_ms lasts. */
#define BEGIN_ATTEMPTS 3

/* The symbol is ORCHARD_STORE_MODULE_SYMBOL, "orchard_store_module", which
 * in C is already the struct's type name: the object gets it by label. */
ORCHARD_EXPORT extern const orchard_store_module pg_module __asm__("orchard_store_module");

static gint64 deadline_of(const pg_store *s)
{
    return g_get_monotonic_time() + (gint64)s->opts.busy_timeout_ms * G_TIME_SPAN_MILLISECOND;
}

static gint64 ms_left(gint64 deadline)
{
    return MAX(0, (deadline - g_get_monotonic_time()) / G_TIME_SPAN_MILLISECOND);
}

/* --- the writer path of this process */

static int take_writer(pg_store *s, gint64 deadline, char **error_msg)
{
    g_mutex_lock(&s->lock);
    while (s->writer_taken)
        if (!g_cond_wait_until(&s->writer_free, &s->lock, deadline) && s->writer_taken) {
            g_mutex_unlock(&s->lock);
            *error_msg = g_strdup_printf("another write transaction of this process held "
                                         "the store past store.busy_timeout_ms (%u ms)",
                                         s->opts.busy_timeout_ms);
            return ORCHARD_EBUSY;
        }
    s->writer_taken = 1;
    g_mutex_unlock(&s->lock);
    return 0;
}

static void give_writer(pg_store *s)
{
    g_mutex_lock(&s->lock);
    s->writer_taken = 0;
    g_cond_signal(&s->writer_free);
    g_mutex_unlock(&s->lock);
}

/* --- transactions */

/* End whatever transaction c is in; the caller's error text survives. */
static void end_tx(pg_conn *c)
{
    if (pg_conn_broken(c) || PQtransactionStatus(c->pg) == PQTRANS_IDLE)
        return;
    /* A reader's ROLLBACK is sent, and its answer read at the connection's
     * next begin: the server ends the snapshot and drops its locks at once,
     * and nobody waits a round trip to hear it did. */
    if (!c->write && PQsendQuery(c->pg, "ROLLBACK")) {
        c->end_pending = 1;
        return;
    }
    char *keep = c->msg;
    char state[sizeof c->sqlstate];
    memcpy(state, c->sqlstate, sizeof state);
    c->msg = NULL;
    pg_conn_run(c, "ROLLBACK");
    g_free(c->msg);
    c->msg = keep;
    memcpy(c->sqlstate, state, sizeof state);
}

static void give_back(pg_store *s, pg_conn *c)
{
    int write = c->write;
    end_tx(c);
    c->write = 0;
    pg_pool_give(s, c);
    if (write)
        give_writer(s);
}

/* One round trip: BEGIN, the lock timeout for what is left of
 * busy_timeout_ms (at least 1 ms: 0 means "no limit" to PostgreSQL),
 * statements owed DEALLOCATE (not transactional, allowed in a read-only
 * transaction; before BEGIN they would run first and forbid its isolation
 * level), then the writers' advisory lock, or a first read that takes the
 * reader's snapshot now rather than at its first query. */
static int start_tx(pg_conn *c, int write, gint64 deadline)
{
    GString *sql = g_string_new(NULL);
    int rc;

    g_string_append_printf(sql, "BEGIN ISOLATION LEVEL %s;SET LOCAL lock_timeout = %" G_GINT64_FORMAT
                           ";%s", write ? "READ COMMITTED" : "REPEATABLE READ READ ONLY",
                           MAX(1, ms_left(deadline)), c->dealloc->str);
    /* Owed once: were they refused, begin must not fail for ever after. */
    g_string_truncate(c->dealloc, 0);
    if (write)
        g_string_append_printf(sql, "SELECT pg_advisory_xact_lock(%lld)",
                               (long long)ORCHARD_STORE_PG_WRITER_LOCK);
    else
        g_string_append(sql, "SELECT 1");
    rc = pg_conn_run(c, sql->str);
    g_string_free(sql, TRUE);
    return rc;
}

static int retryable(const pg_conn *c)
{
    return strcmp(c->sqlstate, "40001") == 0 || strcmp(c->sqlstate, "40P01") == 0;
}

static int pg_begin(void *self, int write, void **conn, char **error_msg)
{
    pg_store *s = self;
    gint64 deadline = deadline_of(s);
    pg_conn *c = NULL;
    int rc, reconnected = 0;

    *conn = NULL;
    if (write && s->opts.read_only) {
        *error_msg = g_strdup_printf("the PostgreSQL store (%s) is open read-only here: no "
                                     "write transactions", s->where ? s->where : "");
        return ORCHARD_EINVAL;
    }
    if (write && (rc = take_writer(s, deadline, error_msg)) != 0)
        return rc;
    if ((rc = pg_pool_take(s, deadline, &c, error_msg)) != 0) {
        if (write)
            give_writer(s);
        return rc;
    }
    c->write = write;
    pg_conn_settle(c);
    for (int attempt = 1;; attempt++) {
        if ((rc = start_tx(c, write, deadline)) == 0 && (rc = pg_conn_schema_changed(c)) == 0)
            break;
        end_tx(c);
        if (pg_conn_broken(c) && !reconnected && !c->lost) {
            /* An idle connection learns only now that the server restarted:
             * a fresh session, and begin once more. Not after no answer came:
             * a frozen server would only keep the caller waiting again. */
            reconnected = 1;
            if ((rc = pg_conn_reconnect(c)) == 0)
                continue;
        } else if (retryable(c) && attempt < BEGIN_ATTEMPTS && ms_left(deadline) > 0) {
            continue;
        }
        if (rc == ORCHARD_EBUSY && write && strcmp(c->sqlstate, "55P03") == 0)
            *error_msg = g_strdup_printf("%s: the writers' lock stayed taken past "
                                         "store.busy_timeout_ms (%u ms)", c->msg,
                                         s->opts.busy_timeout_ms);
        else
            *error_msg = g_strdup_printf("%s (%s)", c->msg, s->where ? s->where : "");
        give_back(s, c);
        return rc;
    }
    *conn = c;
    return 0;
}

static int pg_commit(void *self, void *conn, char **error_msg)
{
    pg_conn *c = conn;
    PGresult *res;
    int rc = 0;

    if (!c->write) {
        /* READ ONLY: nothing to make durable; ending it is a rollback,
         * which a reader does without waiting (end_tx). store.c never
         * commits a transaction that failed. */
        give_back(self, c);
        return 0;
    }
    res = pg_conn_result(c, PQsendQuery(c->pg, "COMMIT"));

    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = pg_conn_fail_result(c, res);
        *error_msg = g_strdup(c->msg);
    } else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        /* COMMIT of a failed transaction answers ROLLBACK, not an error. */
        rc = ORCHARD_EINVAL;
        *error_msg = g_strdup("the transaction had failed: PostgreSQL rolled it back");
    }
    PQclear(res);
    give_back(self, c);
    return rc;
}

static void pg_rollback(void *self, void *conn)
{
    give_back(self, conn);
}

static const char *pg_errmsg(void *self, void *conn)
{
    (void)self;
    const pg_conn *c = conn;
    return c && c->msg ? c->msg : "";
}

/* --- statements: store_pg_stmt.c on the transaction's connection */

static int pg_exec(void *self, void *conn, const char *script)
{
    (void)self;
    return pg_conn_exec(conn, script);
}

static int pg_prepare(void *self, void *conn, const char *sql, void **stmt)
{
    (void)self;
    pg_stmt *st = NULL;
    int rc = pg_conn_prepare(conn, sql, &st);
    *stmt = st;
    return rc;
}

static int pg_bind_int(void *stmt, int i, int64_t value)
{
    return pg_stmt_bind(stmt, i, g_strdup_printf("%" G_GINT64_FORMAT, value), 0, 0);
}

static int pg_bind_text(void *stmt, int i, const char *value)
{
    return pg_stmt_bind(stmt, i, g_strdup(value), 0, 0);
}

static int pg_bind_blob(void *stmt, int i, const void *value, size_t len)
{
    if (len > G_MAXINT)
        return pg_conn_failf(((pg_stmt *)stmt)->conn, ORCHARD_ETOOBIG,
                             "a blob of %zu bytes is over PostgreSQL's limit", len);
    /* A non-NULL pointer of length 0 is an empty blob, not NULL. */
    char *copy = value ? g_memdup2(value, len ? len : 1) : NULL;
    return pg_stmt_bind(stmt, i, copy, (int)len, 1);
}

static int pg_step(void *stmt) { return pg_stmt_step(stmt); }
static int pg_column_is_null(void *stmt, int i) { return pg_stmt_column_is_null(stmt, i); }
static int64_t pg_column_int(void *stmt, int i) { return pg_stmt_column_int(stmt, i); }
static const char *pg_column_text(void *stmt, int i) { return pg_stmt_column_text(stmt, i); }

static const void *pg_column_blob(void *stmt, int i, size_t *len)
{
    return pg_stmt_column_blob(stmt, i, len);
}

static int64_t pg_changes(void *stmt) { return ((pg_stmt *)stmt)->changes; }

static void pg_finish(void *self, void *conn, void *stmt)
{
    (void)self;
    pg_conn_finish(conn, stmt);
}

/* --- open and close */

static void pg_close(void *self)
{
    pg_store *s = self;

    for (guint i = 0; i < s->idle->len; i++)
        pg_conn_close(g_ptr_array_index(s->idle, i));
    g_ptr_array_unref(s->idle);
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->conn_free);
    g_cond_clear(&s->writer_free);
    g_free(s->target);
    g_free(s->where);
    g_free(s);
}

static int pg_open(const char *target, const orchard_store_options *opts,
                   orchard_store_backend **out, char **error_msg)
{
    static const orchard_store_backend ops = {
        .version = ORCHARD_STORE_BACKEND_VERSION,
        .name = "postgres",
        .close = pg_close,
        .begin = pg_begin,
        .commit = pg_commit,
        .rollback = pg_rollback,
        .errmsg = pg_errmsg,
        .exec = pg_exec,
        .prepare = pg_prepare,
        .bind_int = pg_bind_int,
        .bind_text = pg_bind_text,
        .bind_blob = pg_bind_blob,
        .step = pg_step,
        .column_is_null = pg_column_is_null,
        .column_int = pg_column_int,
        .column_text = pg_column_text,
        .column_blob = pg_column_blob,
        .changes = pg_changes,
        .finish = pg_finish,
    };
    pg_store *s;
    pg_conn *first = NULL;
    int rc;

    *out = NULL;
    if (!target || !*target) {
        *error_msg = g_strdup("store.postgres is empty: give a connection string or URL");
        return ORCHARD_EINVAL;
    }
    if (!PQisthreadsafe()) {
        *error_msg = g_strdup("this libpq was built without thread support");
        return ORCHARD_EIO;
    }
    s = g_new0(pg_store, 1);
    s->base = ops;
    s->base.self = s;
    s->target = g_strdup(target);
    s->opts = *opts;
    if (s->opts.max_connections == 0)
        s->opts.max_connections = 1;
    g_mutex_init(&s->lock);
    g_cond_init(&s->conn_free);
    g_cond_init(&s->writer_free);
    s->idle = g_ptr_array_new();
    /* One connection now: a wrong address, database or password is said at
     * start-up, not at the first request. It stays in the pool. */
    if ((rc = pg_conn_open(s, &first, error_msg)) != 0) {
        pg_close(s);
        return rc;
    }
    s->n_open = 1;
    g_ptr_array_add(s->idle, first);
    *out = &s->base;
    return 0;
}

const orchard_store_module pg_module = {
    .version = ORCHARD_STORE_BACKEND_VERSION,
    .dialect = "postgres",
    .open = pg_open,
};
