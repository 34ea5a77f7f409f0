/* The PostgreSQL backend's connections: connect options, the session set-up
 * every connection gets, reconnecting after the server went away, error
 * codes from SQLSTATEs, and the pool of at most store.max_connections that
 * store_pg.c lends to transactions. */
#include "host/store/postgres/store_pg.h"

#include <errno.h>
#include <orchard/plugin.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>

int pg_sqlstate_code(const char *st)
{
    if (!st || strlen(st) != 5)
        return ORCHARD_EIO; /* no answer from the server: the connection */
    if (strcmp(st, "23505") == 0)
        return ORCHARD_EEXIST;
    /* Serialization failures, deadlocks, lock_timeout, statement_timeout:
     * another transaction was in the way, as SQLITE_BUSY says. */
    if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 || strcmp(st, "55P03") == 0 ||
        strcmp(st, "57014") == 0)
        return ORCHARD_EBUSY;
    if (strcmp(st, "3D000") == 0)
        return ORCHARD_ENOTFOUND; /* the database is gone */
    if (strncmp(st, "53", 2) == 0)
        return ORCHARD_ENOMEM;
    if (strncmp(st, "54", 2) == 0)
        return ORCHARD_ETOOBIG; /* program limits: too many columns, too complex */
    /* The connection, the server shutting down or failing, the disk. */
    if (strncmp(st, "08", 2) == 0 || strncmp(st, "57", 2) == 0 || strncmp(st, "58", 2) == 0 ||
        strncmp(st, "XX", 2) == 0)
        return ORCHARD_EIO;
    /* 22 data, 23 other constraints, 25 read-only transaction, 42 syntax
     * and names, 0A unsupported, P0 raised by a function: the caller's SQL. */
    return ORCHARD_EINVAL;
}

int pg_conn_failf(pg_conn *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_free(c->msg);
    c->msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    c->sqlstate[0] = '\0';
    return code;
}

/* libpq's messages end in a newline and may span lines: one line for logs. */
static char *one_line(const char *msg)
{
    char *s = g_strstrip(g_strdup(msg ? msg : ""));
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    return s;
}

int pg_conn_fail_result(pg_conn *c, const PGresult *res)
{
    if (!res && c->lost)
        return pg_conn_failf(c, ORCHARD_EIO, "%s", c->lost);
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    g_autofree char *conn_msg = NULL;
    int code = pg_sqlstate_code(st);

    if (!primary) {
        conn_msg = one_line(PQerrorMessage(c->pg));
        primary = *conn_msg ? conn_msg : "no answer from the server";
    }
    g_free(c->msg);
    c->msg = detail ? g_strdup_printf("%s (%s)", primary, detail) : g_strdup(primary);
    g_strlcpy(c->sqlstate, st ? st : "", sizeof c->sqlstate);
    if (st && strcmp(st, "25006") == 0) {
        /* The words callers and tests look for, as the SQLite backend's. */
        char *m = g_strdup_printf("a read transaction cannot write: %s", c->msg);
        g_free(c->msg);
        c->msg = m;
    }
    return code;
}

/* How long the server may stay silent: the longest lock wait, then time to
 * run. Past it the server is frozen or unreachable (SIGSTOP, a partition on
 * a unix socket or before TCP notices), and the connection is given up.
 * Migrations (long_run) may build an index for minutes: no limit. */
static int silence_ms(const pg_conn *c)
{
    if (c->long_run)
        return -1;
    return (int)MIN((gint64)c->store->opts.busy_timeout_ms + PG_ANSWER_GRACE_MS, G_MAXINT);
}

PGresult *pg_conn_result(pg_conn *c, int sent)
{
    PGresult *res, *keep = NULL;

    if (!sent)
        return NULL; /* PQerrorMessage says why */
    while (PQisBusy(c->pg)) {
        /* Each arrival restarts the wait: a long result that keeps coming
         * is no frozen server. */
        struct pollfd p = {.fd = PQsocket(c->pg), .events = POLLIN};
        int r = poll(&p, 1, silence_ms(c));
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            /* A half-read answer: the connection cannot be used again. */
            c->lost = "PostgreSQL did not answer within store.busy_timeout_ms + 10 s: "
                      "connection given up";
            return NULL;
        }
        if (r < 0) {
            c->lost = "cannot wait for PostgreSQL's answer: connection given up";
            return NULL;
        }
        if (!PQconsumeInput(c->pg))
            break; /* the connection failed: PQgetResult reports it at once */
    }
    /* A script gives a result per statement: keep the first error, else the
     * last, as PQexec does. */
    while ((res = PQgetResult(c->pg)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            /* PQgetResult would hand back the COPY for ever. */
            PQclear(res);
            PQclear(keep);
            c->lost = "COPY is not for the store: connection given up";
            return NULL;
        }
        if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
            PQclear(res);
            continue;
        }
        PQclear(keep);
        keep = res;
    }
    return keep;
}

int pg_conn_run(pg_conn *c, const char *sql)
{
    PGresult *res = pg_conn_result(c, PQsendQuery(c->pg, sql));
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
        rc = pg_conn_fail_result(c, res);
    PQclear(res);
    return rc;
}

/* Notices ("relation already exists, skipping") would go to stderr. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* What every session needs, whatever the connection string or the server's
 * defaults say: the lexer of store_pg_sql.c reads '' strings as standard
 * ones, column_blob decodes bytea's hex form, `orchard query` writes nothing. */
static int setup_session(pg_conn *c)
{
    GString *sql = g_string_new("SET bytea_output = hex;");
    const char *scs = PQparameterStatus(c->pg, "standard_conforming_strings");
    int rc;

    PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
    if (!scs || strcmp(scs, "on") != 0)
        g_string_append(sql, "SET standard_conforming_strings = on;");
    if (c->store->opts.read_only)
        g_string_append(sql, "SET default_transaction_read_only = on;");
    else
        g_string_append(sql, "LISTEN " PG_SCHEMA_CHANNEL ";");
    rc = pg_conn_run(c, sql->str);
    g_string_free(sql, TRUE);
    return rc;
}

/* Host and database for messages: never the connection string itself, which
 * may carry a password. */
static char *where_of(PGconn *pg)
{
    const char *db = pg ? PQdb(pg) : NULL;
    const char *host = pg ? PQhost(pg) : NULL;
    const char *port = pg ? PQport(pg) : NULL;

    return g_strdup_printf("database %s on %s%s%s", db && *db ? db : "(default)",
                           host && *host ? host : "(default host)",
                           port && *port ? ":" : "", port && *port ? port : "");
}

/* A refused connection: ENOTFOUND when nothing is there (no server, no such
 * database), else EIO (authentication, a full server, ...). libpq gives no
 * SQLSTATE for a failed connection, so this reads its (English) text. */
static int connect_code(const char *msg)
{
    static const char *const absent[] = {"Connection refused", "No such file or directory",
                                         "could not translate host name"};
    const char *db = strstr(msg, "database \"");
    if (db && strstr(db, "\" does not exist"))
        return ORCHARD_ENOTFOUND; /* not a role that does not exist: that is EIO */
    for (size_t i = 0; i < G_N_ELEMENTS(absent); i++)
        if (strstr(msg, absent[i]))
            return ORCHARD_ENOTFOUND;
    return ORCHARD_EIO;
}

int pg_conn_open(pg_store *s, pg_conn **out, char **error_msg)
{
    /* Before dbname, so the connection string may override them; after it,
     * what the backend depends on (libpq takes the last value of a key). */
    const char *const keys[] = {"fallback_application_name", "connect_timeout", "keepalives",
                                "keepalives_idle", "keepalives_interval", "keepalives_count",
                                "tcp_user_timeout", "dbname", "client_encoding", NULL};
    /* Keepalives find a dead peer on an idle connection; tcp_user_timeout
     * one that stopped acknowledging a query, which would otherwise wait
     * for the kernel's retransmissions (a quarter of an hour). */
    const char *const values[] = {"orchard", "10", "1", "30", "10", "3", "30000", s->target,
                                  "UTF8", NULL};
    PGconn *pg = PQconnectdbParams(keys, values, 1);
    pg_conn *c;
    int rc;

    *out = NULL;
    if (!pg) {
        *error_msg = g_strdup("PostgreSQL: out of memory for a connection");
        return ORCHARD_ENOMEM;
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        g_autofree char *where = where_of(pg);
        g_autofree char *msg = one_line(PQerrorMessage(pg));
        *error_msg = g_strdup_printf("cannot connect to PostgreSQL (%s): %s", where, msg);
        rc = connect_code(msg);
        PQfinish(pg);
        return rc;
    }
    c = g_new0(pg_conn, 1);
    c->pg = pg;
    c->store = s;
    c->cache = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, pg_stmt_free);
    c->dealloc = g_string_new(NULL);
    if ((rc = setup_session(c)) != 0) {
        *error_msg = g_strdup_printf("PostgreSQL session set-up failed: %s", c->msg);
        pg_conn_close(c);
        return rc;
    }
    if (!s->where) {
        g_mutex_lock(&s->lock);
        if (!s->where)
            s->where = where_of(pg);
        g_mutex_unlock(&s->lock);
    }
    *out = c;
    return 0;
}

int pg_conn_broken(const pg_conn *c)
{
    return c->lost || PQstatus(c->pg) == CONNECTION_BAD;
}

int pg_conn_reconnect(pg_conn *c)
{
    /* The old session's prepared statements died with it. */
    g_hash_table_remove_all(c->cache);
    g_string_truncate(c->dealloc, 0);
    c->lost = NULL;
    c->end_pending = 0;
    PQreset(c->pg);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        g_autofree char *msg = one_line(PQerrorMessage(c->pg));
        return pg_conn_failf(c, ORCHARD_EIO, "cannot reconnect to PostgreSQL: %s", msg);
    }
    return setup_session(c);
}

void pg_conn_close(pg_conn *c)
{
    if (!c)
        return;
    g_hash_table_destroy(c->cache);
    g_string_free(c->dealloc, TRUE);
    PQfinish(c->pg);
    g_free(c->msg);
    g_free(c);
}

int pg_conn_schema_changed(pg_conn *c)
{
    PGnotify *n;
    int changed = 0;

    PQconsumeInput(c->pg); /* what arrived since the last round trip, too */
    while ((n = PQnotifies(c->pg)) != NULL) {
        changed |= strcmp(n->relname, PG_SCHEMA_CHANNEL) == 0;
        PQfreemem(n);
    }
    if (!changed)
        return 0;
    /* Plans of SELECT * would fail once each ("cached plan must not change
     * result type"): forget them all rather than meet that mid-request. */
    g_hash_table_remove_all(c->cache);
    g_string_truncate(c->dealloc, 0);
    return pg_conn_run(c, "DEALLOCATE ALL");
}

void pg_conn_settle(pg_conn *c)
{
    if (!c->end_pending)
        return;
    c->end_pending = 0;
    /* Long arrived, as a rule. A failure shows at the begin that follows:
     * a dead connection is reconnected there. */
    PQclear(pg_conn_result(c, 1));
}

/* --- the pool */

int pg_pool_take(pg_store *s, gint64 deadline, pg_conn **out, char **error_msg)
{
    unsigned max = s->opts.max_connections ? s->opts.max_connections : 1;
    int rc;

    g_mutex_lock(&s->lock);
    while (s->idle->len == 0 && s->n_open >= max)
        if (!g_cond_wait_until(&s->conn_free, &s->lock, deadline) && s->idle->len == 0 &&
            s->n_open >= max) {
            g_mutex_unlock(&s->lock);
            *error_msg = g_strdup_printf("all %u PostgreSQL connections (store.max_connections) "
                                         "stayed in use past store.busy_timeout_ms (%u ms)",
                                         max, s->opts.busy_timeout_ms);
            return ORCHARD_EBUSY;
        }
    if (s->idle->len > 0) {
        *out = g_ptr_array_steal_index_fast(s->idle, s->idle->len - 1);
        g_mutex_unlock(&s->lock);
        return 0;
    }
    s->n_open++;
    g_mutex_unlock(&s->lock);
    /* Connecting takes a round trip or more: not under the lock. */
    if ((rc = pg_conn_open(s, out, error_msg)) != 0) {
        if (rc == ORCHARD_ENOTFOUND)
            rc = ORCHARD_EIO; /* it was there at open: the server is away now */
        g_mutex_lock(&s->lock);
        s->n_open--;
        g_cond_signal(&s->conn_free);
        g_mutex_unlock(&s->lock);
    }
    return rc;
}

void pg_pool_give(pg_store *s, pg_conn *c)
{
    int keep = !pg_conn_broken(c) &&
               (c->end_pending || PQtransactionStatus(c->pg) == PQTRANS_IDLE);

    g_mutex_lock(&s->lock);
    if (keep) {
        g_ptr_array_add(s->idle, c);
    } else {
        s->n_open--;
    }
    g_cond_signal(&s->conn_free);
    g_mutex_unlock(&s->lock);
    if (!keep)
        pg_conn_close(c);
}
