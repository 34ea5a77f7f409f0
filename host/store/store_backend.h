/* The store's backend interface, for whoever adds a database to the host.
 * store.c serves plugins (orchard_host_api's store_* and stmt_*) on top of one
 * backend: SQLite (store_sqlite.c) today, PostgreSQL later, without a change
 * to plugins or to store.c's callers.
 *
 * Split of work. store.c keeps what every backend would otherwise repeat:
 * lazy open from config, counting open transactions so close can wait,
 * a transaction's failed state (a failed statement dooms the transaction on
 * every backend, as PostgreSQL does), statement states (bind before step,
 * no step after done), finishing statements left open at commit, copying
 * error text, and migrations. A backend keeps connections, the one writer
 * path, snapshots for readers, and a statement cache per connection.
 *
 * Handles: a backend's connection (`conn`) and statement (`stmt`) are its own
 * types behind void pointers; store.c never looks inside them. A conn is used
 * by one thread at a time (store.c's caller holds the transaction), so a
 * backend needs no locking on it, only on what its connections share.
 *
 * The PostgreSQL backend (host/store/postgres/, libpq, in the module
 * orchard_store_postgres.so that the host loads only when store.postgres
 * is set, so neither orchard.ext nor a SQLite-only serve maps libpq):
 *  - rewrites `?` placeholders to $1..$n once at prepare (outside quotes,
 *    quoted identifiers and comments) and keeps the prepared statement per
 *    connection, keyed by the SQL text as written;
 *  - binds integers and text as text and blobs in binary; reads results as
 *    text, a bytea column decoded from its hex form (column_blob);
 *  - the one writer path: a process-wide mutex, then the transaction-level
 *    advisory lock ORCHARD_STORE_PG_WRITER_LOCK in READ COMMITTED, so writers
 *    of every instance take turns as SQLite's do, and a migration run by
 *    several instances at once is applied once; lock_timeout is
 *    busy_timeout_ms (55P03 -> ORCHARD_EBUSY);
 *  - readers: REPEATABLE READ READ ONLY (one snapshot per transaction);
 *  - errors: SQLSTATE 23505 -> ORCHARD_EEXIST; 40001 and 40P01
 *    (serialization, deadlock) -> ORCHARD_EBUSY, after retrying the
 *    transaction's begin a bounded number of times when it is what failed;
 *    class 08 and a lost connection -> ORCHARD_EIO; 22/23/42 -> ORCHARD_EINVAL;
 *    53 (insufficient resources) -> ORCHARD_ENOMEM;
 *  - a pool of at most max_connections connections, opened on demand; a
 *    connection found broken at begin is reset (the server restarted) and
 *    begin tried again once, so a restart costs the transactions in flight
 *    and nothing after. */
#ifndef ORCHARD_STORE_BACKEND_H
#define ORCHARD_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

/** Bumped when the struct below changes; store.c refuses any other value. */
#define ORCHARD_STORE_BACKEND_VERSION 2u

/** The advisory lock key of the PostgreSQL writer path ("orchard" in ASCII). */
#define ORCHARD_STORE_PG_WRITER_LOCK 0x6f72636861726400LL

/** Tuning read from config by store.c and handed to the backend's open. */
typedef struct orchard_store_options {
    unsigned busy_timeout_ms;  /* store.busy_timeout_ms: wait for a lock at most this long */
    unsigned read_connections; /* store.read_connections: at most this many readers at once (SQLite) */
    unsigned max_connections;  /* store.max_connections: the whole pool (PostgreSQL) */
    int read_only;             /* create nothing, no writer: a missing database is
                                * ORCHARD_ENOTFOUND, begin(write=1) ORCHARD_EINVAL */
} orchard_store_options;

typedef struct orchard_store_backend orchard_store_backend;

/**
 * Open the database named by `target` (SQLite: a file path) and return the
 * backend in *out, which stays valid until its close. Returns 0, or a
 * negative code with *error_msg (g_free): ORCHARD_ENOTFOUND (no such
 * directory or server; read-only: no such database), ORCHARD_EIO (not a
 * database, corrupt, unreadable), ORCHARD_EINVAL. *out is NULL on failure.
 */
typedef int (*orchard_store_backend_open_fn)(const char *target,
                                             const orchard_store_options *opts,
                                             orchard_store_backend **out,
                                             char **error_msg);

/*
 * Every function returning int returns 0 (or 1 where said) on success and a
 * negative orchard_error_code on failure, having left the reason for
 * errmsg(self, conn). Codes: ORCHARD_EINVAL (bad SQL, bad index, misuse,
 * constraint other than uniqueness), ORCHARD_EEXIST (a unique or primary key
 * constraint), ORCHARD_EBUSY (a lock not obtained within busy_timeout_ms),
 * ORCHARD_EIO (disk, I/O, corrupt database), ORCHARD_ENOMEM, ORCHARD_ETOOBIG.
 */
struct orchard_store_backend {
    unsigned version;  /* ORCHARD_STORE_BACKEND_VERSION */
    const char *name;  /* the dialect: "sqlite" or "postgres" (store_dialect) */
    void *self;        /* the backend's state; first argument of what follows */

    /* Lifecycle. close is called with no transaction open; it frees self and
     * this struct. */
    void (*close)(void *self);

    /* Transactions. begin(write=1) takes the single writer path, waiting at
     * most busy_timeout_ms for it (in this process and in others) and
     * failing with ORCHARD_EBUSY; begin(write=0) starts a snapshot that
     * writers do not block. *error_msg (g_free) says why begin failed.
     * commit and rollback end the transaction and release conn whatever
     * happens; store.c has finished every statement of conn before. */
    int (*begin)(void *self, int write, void **conn, char **error_msg);
    /** *error_msg (g_free) says why commit failed: conn is gone by then. */
    int (*commit)(void *self, void *conn, char **error_msg);
    void (*rollback)(void *self, void *conn);
    /** The reason of conn's last failure; borrowed until conn's next call. */
    const char *(*errmsg)(void *self, void *conn);

    /* Migrations: run a script of one or more statements, none of them
     * ending the transaction, inside a write transaction. */
    int (*exec)(void *self, void *conn, const char *script);

    /* Statements. prepare takes exactly one statement (`?` placeholders)
     * and may hand back a cached one; a write statement in a read
     * transaction fails with ORCHARD_EINVAL. step returns 1 for a row, 0
     * when done. finish resets the statement, clears its bindings and keeps
     * it for the next prepare of the same SQL on conn. */
    int (*prepare)(void *self, void *conn, const char *sql, void **stmt);
    int (*bind_int)(void *stmt, int i, int64_t value);
    int (*bind_text)(void *stmt, int i, const char *value);          /* NULL binds NULL */
    int (*bind_blob)(void *stmt, int i, const void *value, size_t len); /* NULL binds NULL */
    int (*step)(void *stmt);
    int (*column_is_null)(void *stmt, int i);
    int64_t (*column_int)(void *stmt, int i);
    const char *(*column_text)(void *stmt, int i);
    /** A zero-length value is a non-NULL pointer with *len 0; SQL NULL is NULL. */
    const void *(*column_blob)(void *stmt, int i, size_t *len);
    /** Rows the statement's last run changed (0 for reads and DDL). */
    int64_t (*changes)(void *stmt);
    void (*finish)(void *self, void *conn, void *stmt);
};

/** The SQLite backend (store_sqlite.c); `target` is the database file's path. */
int orchard_store_sqlite_open(const char *target, const orchard_store_options *opts,
                              orchard_store_backend **out, char **error_msg);

/**
 * A backend in a module: the module exports ORCHARD_STORE_MODULE_SYMBOL, a
 * const orchard_store_module. The host checks version before calling open.
 */
#define ORCHARD_STORE_MODULE_SYMBOL "orchard_store_module"
typedef struct orchard_store_module {
    unsigned version;                   /* ORCHARD_STORE_BACKEND_VERSION */
    const char *dialect;                /* "postgres" */
    orchard_store_backend_open_fn open; /* `target`: a libpq connection string or URL */
} orchard_store_module;

/**
 * The PostgreSQL backend's open, from its module (store_pg_loader.c):
 * loads orchard_store_postgres.so (setting store.postgres_module, else
 * modules/ beside the binary, else the installed one) on first use, then
 * calls the module's open. ORCHARD_EIO with a message naming the module
 * when it cannot load.
 */
int orchard_store_postgres_open(const char *target, const orchard_store_options *opts,
                                orchard_store_backend **out, char **error_msg);

/**
 * `target` (a libpq URL or key=value string) for messages: a URL's
 * user:password and any password=... become "***" (store_pg_loader.c).
 * Never NULL; g_free.
 */
char *orchard_store_postgres_redact(const char *target);

/* SQL text helpers every backend may use (store_sql.c). */

/** `sql` past leading white space and SQL comments ("--" and C-style). */
const char *orchard_store_sql_skip_space(const char *sql);
/**
 * 1 when the statement starts a, ends or nests a transaction (BEGIN, COMMIT,
 * END, ROLLBACK, SAVEPOINT, RELEASE): transactions belong to the store.
 */
int orchard_store_sql_is_tx_control(const char *sql);

#endif
