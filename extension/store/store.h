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
 * Open the process's store on `target` (for SQLite: a file path). Returns 0,
 * or a negative code with *error_msg (g_free). Opening again while open
 * fails with ORCHARD_EEXIST. Store calls made before any open open the store
 * named by config store.sqlite (ORCHARD_ENOTFOUND, logged, when unset).
 */
int orchard_store_open(const char *target, char **error_msg);
/** Wait for open transactions to end, then close. Safe when not open. */
void orchard_store_close(void);
/** 1 when the store is open. */
int orchard_store_is_open(void);

int orchard_store_migrate(const char *owner, const char *const *migrations, size_t n);
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

#endif
