/* Schema migrations, versioned per owner (a plugin's name): a plugin hands
 * its ordered list of scripts to store_migrate at start, and table
 * orchard_migrations remembers which versions this database has. Written on
 * the store's public functions only, so every backend gets it unchanged.
 * A read-only store (`orchard query`) is only checked, never migrated. */
#include "host/store/store.h"

#include "host/log.h"

#include <glib.h>

#define COMPONENT "store"

/* Portable SQL: the same table on every backend. applied_at is Unix seconds. */
static const char bookkeeping_sql[] =
    "CREATE TABLE IF NOT EXISTS orchard_migrations ("
    " owner TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " applied_at INTEGER NOT NULL,"
    " PRIMARY KEY (owner, version))";

static int ensure_bookkeeping(void)
{
    orchard_store_tx *tx;
    int rc = orchard_store_begin(&tx, 1);

    if (rc != 0)
        return rc;
    if ((rc = orchard_store_exec(tx, bookkeeping_sql)) != 0) {
        orchard_error(COMPONENT, "cannot create orchard_migrations: %s",
                      orchard_store_errmsg(tx));
        orchard_store_rollback(tx);
        return rc;
    }
    return orchard_store_commit(tx);
}

/* Which of versions 1..n `owner` already has (done[v - 1]), and its newest.
 * `loud`: log a failure of the query (the first try fails quietly on a new
 * database); *began: the transaction began, so a failure is the query's. */
static int read_applied(const char *owner, size_t n, gboolean *done, int64_t *newest,
                        int loud, int *began)
{
    orchard_store_tx *tx;
    orchard_stmt *st;
    int rc;

    *newest = 0;
    *began = 0;
    if ((rc = orchard_store_begin(&tx, 0)) != 0)
        return rc;
    *began = 1;
    rc = orchard_stmt_prepare(tx, "SELECT version FROM orchard_migrations WHERE owner = ?", &st);
    if (rc == 0)
        rc = orchard_stmt_bind_text(st, 1, owner);
    if (rc == 0)
        while ((rc = orchard_stmt_step(st)) == 1) {
            int64_t v = orchard_stmt_column_int(st, 0);
            if (v >= 1 && (uint64_t)v <= n)
                done[v - 1] = TRUE;
            *newest = MAX(*newest, v);
        }
    if (rc < 0 && loud)
        orchard_error(COMPONENT, "migrations of %s: cannot read orchard_migrations: %s",
                      owner, orchard_store_errmsg(tx));
    orchard_store_rollback(tx);
    return rc < 0 ? rc : 0;
}

/* Run one statement with (owner, version) bound, and `now` third unless it
 * is 0; *row (may be NULL): the statement gave a row. */
static int run(orchard_store_tx *tx, const char *sql, const char *owner, int64_t version,
               int64_t now, int *row)
{
    orchard_stmt *st;
    int rc = orchard_stmt_prepare(tx, sql, &st);

    if (rc == 0)
        rc = orchard_stmt_bind_text(st, 1, owner);
    if (rc == 0)
        rc = orchard_stmt_bind_int(st, 2, version);
    if (rc == 0 && now)
        rc = orchard_stmt_bind_int(st, 3, now);
    if (rc == 0 && (rc = orchard_stmt_step(st)) >= 0) {
        if (row)
            *row = rc;
        rc = 0;
    }
    orchard_stmt_finish(st);
    return rc;
}

/* Version `v` in its own write transaction, with its bookkeeping row. The
 * check is repeated under the write lock: another process may have applied
 * it since read_applied looked. */
static int apply_one(const char *owner, size_t v, const char *script)
{
    orchard_store_tx *tx;
    int already = 0;
    int rc;

    if ((rc = orchard_store_begin(&tx, 1)) != 0) {
        orchard_error(COMPONENT, "migration %s version %zu: cannot begin: %s", owner, v,
                      orchard_strerror(rc));
        return rc;
    }
    rc = run(tx, "SELECT 1 FROM orchard_migrations WHERE owner = ? AND version = ?",
             owner, (int64_t)v, 0, &already);
    if (rc == 0 && already) {
        orchard_store_rollback(tx);
        return 0;
    }
    if (rc == 0)
        rc = orchard_store_exec(tx, script);
    if (rc == 0)
        rc = run(tx, "INSERT INTO orchard_migrations (owner, version, applied_at) "
                 "VALUES (?, ?, ?)", owner, (int64_t)v, g_get_real_time() / G_USEC_PER_SEC,
                 NULL);
    if (rc != 0) {
        orchard_error(COMPONENT, "migration %s version %zu failed, rolled back: %s",
                      owner, v, orchard_store_errmsg(tx));
        orchard_store_rollback(tx);
        return rc;
    }
    if ((rc = orchard_store_commit(tx)) != 0)
        orchard_error(COMPONENT, "migration %s version %zu failed at commit: %s", owner, v,
                      orchard_strerror(rc));
    else
        orchard_info(COMPONENT, "migration %s version %zu applied", owner, v);
    return rc;
}

/* Read-only: the versions `owner` still lacks can't be applied. Says so
 * (naming the store) and returns ORCHARD_ENOTFOUND, or 0 when none is missing. */
static int check_only(const char *owner, const gboolean *done, size_t n)
{
    size_t missing = 0;
    for (size_t v = 1; v <= n; v++)
        missing += !done[v - 1];
    if (missing == 0)
        return 0;
    g_autofree char *target = orchard_store_target();
    orchard_error(COMPONENT, "the store %s does not have %s's tables yet (%zu of %zu "
                  "migrations to run): `orchard serve` sets them up; a read-only open "
                  "changes nothing", target ? target : "", owner, missing, n);
    return ORCHARD_ENOTFOUND;
}

int orchard_store_migrate(const char *owner, const char *const *migrations, size_t n)
{
    g_autofree gboolean *done = NULL;
    int64_t newest;
    int began;
    int rc;

    if (!owner || !*owner || (n > 0 && !migrations)) {
        orchard_error(COMPONENT, "store_migrate: no owner or no migrations");
        return ORCHARD_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if (!migrations[i]) {
            orchard_error(COMPONENT, "store_migrate: %s version %zu is NULL", owner, i + 1);
            return ORCHARD_EINVAL;
        }
    /* Read first, in a read transaction: a process that starts on an
     * up-to-date database never takes the write lock. Creating the table is
     * the rare case; "no such table" has no portable code, so any failure
     * of the first read leads there, and a second failure is real. */
    done = g_new0(gboolean, n + 1);
    if ((rc = read_applied(owner, n, done, &newest, 0, &began)) != 0) {
        if (!began) /* no store at all: nothing to create */
            return rc;
        if (orchard_store_is_read_only()) /* no orchard_migrations: nothing applied */
            return check_only(owner, done, n);
        if ((rc = ensure_bookkeeping()) != 0)
            return rc;
        if ((rc = read_applied(owner, n, done, &newest, 1, &began)) != 0)
            return rc;
    }
    if (newest > 0 && (uint64_t)newest > n)
        /* A newer orchard ran on this database: its schema may not be ours. */
        orchard_warn(COMPONENT, "the store has %s at version %lld, newer than the %zu "
                     "this build knows", owner, (long long)newest, n);
    if (orchard_store_is_read_only())
        return check_only(owner, done, n);
    for (size_t v = 1; v <= n; v++)
        if (!done[v - 1] && (rc = apply_one(owner, v, migrations[v - 1])) != 0)
            return rc; /* later versions depend on this one: stop */
    return 0;
}
