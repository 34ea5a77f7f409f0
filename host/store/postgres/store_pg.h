/* Private to the PostgreSQL store backend: the store and its pool
 * (store_pg.c, store_pg_pool.c), one connection and its statements
 * (store_pg_stmt.c). store_pg.c decides which thread holds which
 * connection; a connection is used by one thread at a time. */
#ifndef ORCHARD_STORE_PG_H
#define ORCHARD_STORE_PG_H

#include "host/store/store_backend.h"

#include <glib.h>
#include <libpq-fe.h>
#include <stdint.h>

typedef struct pg_store pg_store;

typedef struct pg_conn {
    PGconn *pg;
    pg_store *store;
    int write;              /* the current transaction is the writer's */
    GHashTable *cache;      /* SQL text -> idle pg_stmt (the stmt owns the key) */
    unsigned next_name;     /* prepared statements are "orchard_<n>" */
    GString *dealloc;       /* "DEALLOCATE ...;" owed to the server, sent at the next begin */
    char *msg;              /* the last failure's reason */
    char sqlstate[6];       /* the last failure's SQLSTATE; "" when none came */
    const char *lost;       /* why c can't be used again (no answer in time, a COPY); static */
    int long_run;           /* a migration runs: no limit on the server's silence */
    int end_pending;        /* a reader's ROLLBACK was sent, its answer not read yet */
} pg_conn;

typedef struct pg_stmt {
    pg_conn *conn;
    char *sql;              /* as the plugin wrote it: the cache key */
    char name[24];          /* the server's name for it */
    int n_params;
    char **values;          /* bound values, text or binary (n_params; g_free) */
    int *lengths;
    int *formats;           /* 0 text, 1 binary */
    PGresult *res;          /* the last run's result; NULL before the first step */
    int row;                /* the current row of res, -1 before the first */
    int64_t changes;
    int stale;              /* the server's plan no longer fits: not cached again */
    guchar **decoded;       /* bytea columns of the current row, decoded on demand */
    size_t *decoded_len;
} pg_stmt;

struct pg_store {
    orchard_store_backend base; /* first: base.self points at this struct */
    char *target;               /* as configured: may hold a password, never shown */
    char *where;                /* "database D on H" for messages */
    orchard_store_options opts;
    GMutex lock;                /* guards what follows, not the connections */
    GPtrArray *idle;            /* pg_conn* ready to lend */
    unsigned n_open;            /* open connections, idle or lent */
    GCond conn_free;
    /* The writer path in this process: a flag, not a mutex held across the
     * transaction, because the wait must time out and a transaction may
     * end on another thread than the one that began it. */
    int writer_taken;
    GCond writer_free;
};

/* --- store_pg_pool.c: connections */

/** Migrations NOTIFY it; every writing session LISTENs (store_pg_pool.c). */
#define PG_SCHEMA_CHANNEL "orchard_schema"

/** The server may stay silent busy_timeout_ms plus this during a round
 * trip (not a migration's) before it is taken for frozen and the
 * connection given up. */
#define PG_ANSWER_GRACE_MS 10000

/**
 * The answer to what was just sent (`sent`: the PQsend* call's result),
 * while the server is not silent for busy_timeout_ms + PG_ANSWER_GRACE_MS
 * (no limit while c->long_run); NULL with c->lost set when it was (or a
 * COPY began), NULL when the connection failed.
 * PQclear it.
 */
PGresult *pg_conn_result(pg_conn *c, int sent);
/** The orchard_error_code for a SQLSTATE (NULL or "": no answer, EIO). */
int pg_sqlstate_code(const char *sqlstate);
/** Record a failed result (NULL: the connection's error) on c; its code. */
int pg_conn_fail_result(pg_conn *c, const PGresult *res);
/** Record a failure of ours on c; returns `code`. */
int pg_conn_failf(pg_conn *c, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/** Run `sql` (one or more statements, no parameters); 0 or its code. */
int pg_conn_run(pg_conn *c, const char *sql);

/** Connect a new connection for s; *error_msg (g_free) says why not. */
int pg_conn_open(pg_store *s, pg_conn **out, char **error_msg);
/** Reconnect c after its server went away; its statements are forgotten. */
int pg_conn_reconnect(pg_conn *c);
/**
 * After a migration of any instance (a notification on PG_SCHEMA_CHANNEL
 * seen), forget c's prepared statements. 0, or the code of a failed
 * DEALLOCATE ALL.
 */
int pg_conn_schema_changed(pg_conn *c);
/** Read the answer to a reader's ROLLBACK sent at its end, if one is owed. */
void pg_conn_settle(pg_conn *c);
/** 1 when c's connection is gone (the server restarted or closed it). */
int pg_conn_broken(const pg_conn *c);
void pg_conn_close(pg_conn *c);

/** A connection of the pool, waiting until `deadline` (monotonic µs). */
int pg_pool_take(pg_store *s, gint64 deadline, pg_conn **out, char **error_msg);
/** Give c back; a broken one, or one still in a transaction, is closed. */
void pg_pool_give(pg_store *s, pg_conn *c);

/* --- store_pg_stmt.c: statements */

void pg_stmt_free(gpointer stmt);
int pg_conn_exec(pg_conn *c, const char *script);
int pg_conn_prepare(pg_conn *c, const char *sql, pg_stmt **out);
void pg_conn_finish(pg_conn *c, pg_stmt *st);
int pg_stmt_bind(pg_stmt *st, int i, char *value, int len, int format);
int pg_stmt_step(pg_stmt *st);
int pg_stmt_column_is_null(pg_stmt *st, int i);
int64_t pg_stmt_column_int(pg_stmt *st, int i);
const char *pg_stmt_column_text(pg_stmt *st, int i);
const void *pg_stmt_column_blob(pg_stmt *st, int i, size_t *len);

#endif
