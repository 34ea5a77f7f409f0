/* The host's store: one database per process (config store.sqlite), shared
 * by every plugin through orchard_host_api's store_* and stmt_* functions
 * (since ABI 1.1). The functions below are those host-API entries; a backend
 * (store_sqlite.c; PostgreSQL later) sits behind store_backend.h. */
#ifndef ORCHARD_STORE_H
#define ORCHARD_STORE_H

#include <orchard/plugin.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Open the process's store on `target` (for SQLite: a file path, created
 * with mode 0600 when missing; its directory must exist). Options come from
 * config (store.busy_timeout_ms, store.read_connections). Returns 0, or a
 * negative code with *error_msg (g_free): ORCHARD_EEXIST (already open),
 * ORCHARD_ENOTFOUND (no such directory), ORCHARD_EIO (not a database,
 * corrupt, unreadable), ORCHARD_EINVAL (a bad option). Store calls made
 * before any open open the store named by config store.sqlite
 * (ORCHARD_ENOTCONFIGURED, logged, when unset; ORCHARD_EINVAL when
 * store.postgres is set too).
 */
int orchard_store_open(const char *target, char **error_msg);
/**
 * Wait for open transactions to end, then close (SQLite: checkpoint the WAL
 * into the file first). Safe when not open. Never call it from a thread that
 * holds a transaction: it would wait for itself. A later store call opens
 * the store from config again.
 */
void orchard_store_close(void);
/** 1 when the store is open. */
int orchard_store_is_open(void);
/**
 * 1 when there is a store to read without creating one: it is open,
 * store.postgres is set, or store.sqlite names a file that exists (opening
 * a missing one would make it; `orchard query` and the host's tables on a
 * fresh machine must not).
 */
int orchard_store_readable(void);

/**
 * Host only: open the store read-only from now on (`orchard query`), before
 * the first store call. Such an open creates nothing: a missing database is
 * ORCHARD_ENOTFOUND with a message naming it; write transactions fail with
 * ORCHARD_EINVAL; store_migrate applies nothing and fails with
 * ORCHARD_ENOTFOUND, logging which owner's schema is missing, when a
 * migration is still to run. A store already open stays as it is.
 */
void orchard_store_set_read_only(int read_only);
/** 1 after orchard_store_set_read_only(1). */
int orchard_store_is_read_only(void);
/**
 * The open store's SQL dialect, its backend's name: "sqlite" or "postgres"
 * (static text); NULL when no store is open. The host API's store_dialect.
 */
const char *orchard_store_dialect(void);
/** What the open store was opened on (a file path for SQLite), or NULL. g_free. */
char *orchard_store_target(void);

/*
 * The host-API entries (include/orchard/plugin.h documents them). What the
 * store adds to that contract:
 *
 * Errors: ORCHARD_EINVAL (bad SQL, bad parameter index, misuse such as a
 * write statement in a read transaction, BEGIN/COMMIT through
 * stmt_prepare, step after done, bind after step, a NOT NULL, CHECK or
 * foreign key constraint), ORCHARD_EEXIST (a unique or primary key
 * constraint), ORCHARD_EBUSY (the writer path stayed taken past
 * store.busy_timeout_ms, in this process or another), ORCHARD_EIO (disk,
 * I/O, a corrupt or non-database file), ORCHARD_ENOMEM, ORCHARD_ETOOBIG.
 *
 * A failed call dooms its transaction, on every backend: later calls in it
 * fail with ORCHARD_EINVAL, and commit rolls back and returns the first
 * failure's code. store_errmsg() is the last failure's message, valid until
 * the transaction's next call. Statements still open at commit or rollback
 * are finished then. A transaction is used by one thread at a time; do not
 * begin a second write transaction in a thread that holds one (it waits for
 * itself, then fails with ORCHARD_EBUSY). A child of fork() must not use a
 * store its parent had open (SQLite's rule): close it before forking, or
 * open the store in the child only.
 */
int orchard_store_migrate(const char *owner, const char *const *migrations, size_t n);
/** store_migrate2 (ABI 1.4): a text per dialect; a newer schema is refused (ORCHARD_EINVAL). */
int orchard_store_migrate2(const char *owner, const orchard_migration *steps, size_t n);
int orchard_store_begin(orchard_store_tx **tx, int write);
int orchard_store_commit(orchard_store_tx *tx);
void orchard_store_rollback(orchard_store_tx *tx);
const char *orchard_store_errmsg(const orchard_store_tx *tx);
int orchard_stmt_prepare(orchard_store_tx *tx, const char *sql, orchard_stmt **stmt);
int orchard_stmt_bind_int(orchard_stmt *stmt, int i, int64_t value);
int orchard_stmt_bind_text(orchard_stmt *stmt, int i, const char *value);
int orchard_stmt_bind_blob(orchard_stmt *stmt, int i, const void *value, size_t len);
int orchard_stmt_step(orchard_stmt *stmt);
int orchard_stmt_column_is_null(orchard_stmt *stmt, int i);
int64_t orchard_stmt_column_int(orchard_stmt *stmt, int i);
const char *orchard_stmt_column_text(orchard_stmt *stmt, int i);
const void *orchard_stmt_column_blob(orchard_stmt *stmt, int i, size_t *len);
int64_t orchard_stmt_changes(orchard_stmt *stmt);
void orchard_stmt_finish(orchard_stmt *stmt);

/**
 * Host only (not in the host API): run a script of one or more statements in
 * write transaction `tx`, as migrations do. Returns 0, or the codes above
 * (ORCHARD_EINVAL also for a read transaction or a statement that would end
 * the transaction); the failure dooms tx like any other.
 */
int orchard_store_exec(orchard_store_tx *tx, const char *script);

#endif
