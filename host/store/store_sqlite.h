/* Private to the SQLite backend: one connection and its statements
 * (store_sqlite_conn.c), used by the backend proper (store_sqlite.c), which
 * decides which thread holds which connection. */
#ifndef ORCHARD_STORE_SQLITE_H
#define ORCHARD_STORE_SQLITE_H

#include <glib.h>
#include <sqlite3.h>
#include <stdint.h>

typedef struct sqlite_conn {
    sqlite3 *db;
    int write;           /* the writer connection; readers refuse write statements */
    GHashTable *cache;   /* SQL text -> idle sqlite_stmt (the stmt owns the key) */
    char *msg;           /* the last failure's reason */
} sqlite_conn;

typedef struct sqlite_stmt {
    sqlite3_stmt *s;
    sqlite_conn *conn;
    char *sql;           /* as the plugin wrote it: the cache key */
    int64_t total_before;/* the connection's total changes when this run began */
    int64_t changes;     /* rows the last complete run changed */
} sqlite_stmt;

/**
 * Open a connection to the existing file `path` and set it up (WAL for the
 * writer, query_only for readers). Returns 0, or a negative code with
 * *error_msg naming the file: ORCHARD_EIO for a file that is not a database.
 */
int sqlite_conn_open(const char *path, int write, unsigned busy_timeout_ms,
                     sqlite_conn **out, char **error_msg);
/** Finalize cached statements and close. The caller finished every statement. */
void sqlite_conn_close(sqlite_conn *c);

/** Record SQLite's failure `rc` on c; returns its orchard code. */
int sqlite_conn_fail(sqlite_conn *c, int rc);
/** Record a failure of ours on c; returns `code`. */
int sqlite_conn_failf(sqlite_conn *c, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/** Run one fixed statement to its end through the cache (BEGIN, COMMIT...). */
int sqlite_conn_run(sqlite_conn *c, const char *sql);

int sqlite_conn_exec(sqlite_conn *c, const char *script);
int sqlite_conn_prepare(sqlite_conn *c, const char *sql, sqlite_stmt **out);
void sqlite_conn_finish(sqlite_conn *c, sqlite_stmt *st);
int sqlite_stmt_step(sqlite_stmt *st);

/** The orchard_error_code for an SQLite result code (extended or primary). */
int sqlite_code(int rc);

#endif
