/* One SQLite connection of the store: its setup, its error text, and its
 * cache of prepared statements. store_sqlite.c lends connections to
 * transactions; only the thread holding a transaction touches its
 * connection, which is why connections are opened SQLITE_OPEN_NOMUTEX. */
#include "host/store/store_sqlite.h"

#include "host/store/store_backend.h"

#include <orchard/plugin.h>
#include <stdarg.h>
#include <string.h>

/* Statements kept per connection. Plugins use a fixed set of SQL strings; a
 * plugin that builds SQL text on the fly would otherwise grow it forever. */
#define CACHE_MAX 128

int sqlite_code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return ORCHARD_EBUSY;
    case SQLITE_NOMEM:
        return ORCHARD_ENOMEM;
    case SQLITE_TOOBIG:
        return ORCHARD_ETOOBIG;
    case SQLITE_CONSTRAINT:
        /* Uniqueness is what callers act on ("already enrolled"); PostgreSQL
         * reports it apart too (SQLSTATE 23505). */
        return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY
                   ? ORCHARD_EEXIST : ORCHARD_EINVAL;
    case SQLITE_ERROR:   /* bad SQL, no such table */
    case SQLITE_RANGE:   /* bad parameter index */
    case SQLITE_MISUSE:
    case SQLITE_MISMATCH:
        return ORCHARD_EINVAL;
    default:             /* IOERR, CORRUPT, NOTADB, FULL, CANTOPEN, READONLY, ... */
        return ORCHARD_EIO;
    }
}

int sqlite_conn_failf(sqlite_conn *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_free(c->msg);
    c->msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return code;
}

int sqlite_conn_fail(sqlite_conn *c, int rc)
{
    return sqlite_conn_failf(c, sqlite_code(rc), "%s", sqlite3_errmsg(c->db));
}

/* Run a PRAGMA; *value (g_free, may be NULL) is its first column. */
static int pragma(sqlite3 *db, const char *sql, char **value)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

    if (rc != SQLITE_OK)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (value && !*value)
            *value = g_strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The writer sets the file up; WAL and the header are persistent, so a
 * reader only adds query_only. synchronous=NORMAL in WAL mode fsyncs at
 * checkpoints, not at each commit: a commit survives the process being
 * killed (kill -9, a crash), because the WAL is in the OS's hands when
 * COMMIT returns; only a power loss or kernel crash may lose the last ones. */
static int configure(sqlite3 *db, int write, char **error)
{
    static const char *const writer[] = {"PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"};
    static const char *const reader[] = {"PRAGMA foreign_keys=ON", "PRAGMA query_only=ON"};
    const char *const *list = write ? writer : reader;
    g_autofree char *mode = NULL;
    int rc;

    /* The first statement that reads the file: a non-database fails here. */
    rc = pragma(db, write ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode", &mode);
    if (rc != SQLITE_OK)
        return rc;
    if (!mode || g_ascii_strcasecmp(mode, "wal") != 0) {
        *error = g_strdup_printf("journal mode is %s, not WAL (WAL needs shared "
                                 "memory: is the file on a network file system?)",
                                 mode ? mode : "unknown");
        return SQLITE_CANTOPEN;
    }
    for (size_t i = 0; i < 2; i++)
        if ((rc = pragma(db, list[i], NULL)) != SQLITE_OK)
            return rc;
    return SQLITE_OK;
}

static void stmt_free(gpointer p)
{
    sqlite_stmt *st = p;
    sqlite3_finalize(st->s);
    g_free(st->sql);
    g_free(st);
}

int sqlite_conn_open(const char *path, int write, unsigned busy_timeout_ms,
                     sqlite_conn **out, char **error_msg)
{
    /* No SQLITE_OPEN_CREATE: store_sqlite.c creates the file with mode 0600.
     * NOMUTEX: our own locking gives a connection to one thread at a time,
     * so SQLite's per-call connection mutex would be pure cost. */
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
    g_autofree char *why = NULL;
    sqlite3 *db = NULL;
    int rc;

    *out = NULL;
    rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(db, 1);
        sqlite3_busy_timeout(db, (int)MIN(busy_timeout_ms, (unsigned)G_MAXINT));
        rc = configure(db, write, &why);
    }
    if (rc != SQLITE_OK) {
        int code = sqlite_code(rc);
        const char *msg = why ? why : db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        int primary = rc & 0xff;
        *error_msg = g_strdup_printf("%s: %s%s", path, msg,
                                     primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT
                                         ? " (corrupt, or not an orchard store)" : "");
        sqlite3_close(db);
        /* A lock we could not get is EBUSY; anything else about the file is I/O. */
        return code == ORCHARD_EBUSY || code == ORCHARD_ENOMEM ? code : ORCHARD_EIO;
    }
    sqlite_conn *c = g_new0(sqlite_conn, 1);
    c->db = db;
    c->write = write;
    c->cache = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, stmt_free);
    *out = c;
    return 0;
}

void sqlite_conn_close(sqlite_conn *c)
{
    if (!c)
        return;
    g_hash_table_destroy(c->cache);
    sqlite3_close(c->db);
    g_free(c->msg);
    g_free(c);
}

/* Past white space, comments and empty statements: what follows a statement. */
static const char *skip_separators(const char *p)
{
    for (p = orchard_store_sql_skip_space(p); *p == ';'; p = orchard_store_sql_skip_space(p + 1))
        ;
    return p;
}

int sqlite_conn_prepare(sqlite_conn *c, const char *sql, sqlite_stmt **out)
{
    sqlite_stmt *st = g_hash_table_lookup(c->cache, sql);
    sqlite3_stmt *s = NULL;
    const char *tail = NULL;
    int rc;

    *out = NULL;
    if (st) {
        /* Taken out while in use: the same SQL prepared again meanwhile gets
         * a statement of its own. */
        g_hash_table_steal(c->cache, sql);
        *out = st;
        return 0;
    }
    rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, &tail);
    if (rc != SQLITE_OK)
        return sqlite_conn_fail(c, rc);
    if (!s)
        return sqlite_conn_failf(c, ORCHARD_EINVAL, "no SQL statement in \"%.60s\"", sql);
    if (*skip_separators(tail)) {
        sqlite3_finalize(s);
        return sqlite_conn_failf(c, ORCHARD_EINVAL, "one statement per prepare: "
                                 "\"%.40s\" follows the first", skip_separators(tail));
    }
    if (!c->write && !sqlite3_stmt_readonly(s)) {
        sqlite3_finalize(s);
        return sqlite_conn_failf(c, ORCHARD_EINVAL, "a read transaction cannot write: "
                                 "\"%.60s\"", sql);
    }
    st = g_new0(sqlite_stmt, 1);
    st->s = s;
    st->conn = c;
    st->sql = g_strdup(sql);
    *out = st;
    return 0;
}

void sqlite_conn_finish(sqlite_conn *c, sqlite_stmt *st)
{
    sqlite3_reset(st->s);
    sqlite3_clear_bindings(st->s);
    st->changes = 0;
    if (g_hash_table_size(c->cache) >= CACHE_MAX || g_hash_table_contains(c->cache, st->sql))
        stmt_free(st);
    else
        g_hash_table_insert(c->cache, st->sql, st);
}

int sqlite_stmt_step(sqlite_stmt *st)
{
    sqlite3 *db = st->conn->db;
    int rc;

    if (!sqlite3_stmt_busy(st->s))
        st->total_before = sqlite3_total_changes64(db);
    rc = sqlite3_step(st->s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc != SQLITE_DONE)
        return sqlite_conn_fail(st->conn, rc);
    /* sqlite3_changes64() keeps the last INSERT/UPDATE/DELETE of the
     * connection, which is not this statement's when this one changed
     * nothing (a SELECT, DDL). */
    st->changes = sqlite3_total_changes64(db) != st->total_before ? sqlite3_changes64(db) : 0;
    return 0;
}

int sqlite_conn_run(sqlite_conn *c, const char *sql)
{
    sqlite_stmt *st;
    int rc = sqlite_conn_prepare(c, sql, &st);

    if (rc != 0)
        return rc;
    while ((rc = sqlite_stmt_step(st)) == 1)
        ;
    sqlite_conn_finish(c, st);
    return rc;
}

int sqlite_conn_exec(sqlite_conn *c, const char *script)
{
    const char *p = skip_separators(script);

    while (*p) {
        sqlite3_stmt *s = NULL;
        const char *tail = NULL;
        int rc;

        /* Checked before it runs: a COMMIT would already have committed. */
        if (orchard_store_sql_is_tx_control(p))
            return sqlite_conn_failf(c, ORCHARD_EINVAL, "a migration cannot control "
                                     "transactions: \"%.40s\"", p);
        if ((rc = sqlite3_prepare_v2(c->db, p, -1, &s, &tail)) != SQLITE_OK)
            return sqlite_conn_fail(c, rc);
        while (s && (rc = sqlite3_step(s)) == SQLITE_ROW)
            ;
        if (s && rc != SQLITE_DONE) {
            rc = sqlite_conn_fail(c, rc);
            sqlite3_finalize(s);
            return rc;
        }
        sqlite3_finalize(s);
        p = skip_separators(tail);
    }
    return 0;
}
