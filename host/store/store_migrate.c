/* Schema migrations, versioned per owner (a plugin's name): a plugin hands
 * its ordered list of scripts to store_migrate at start, and table
 * orchard_migrations remembers which versions this database has. Written on
 * the store's public functions only, so every backend gets it unchanged.
 * A read-only store (`orchard query`) is only checked, never migrated. */
#include "host/store/store.h"

#include "host/log.h"

#include <glib.h>
#include <stddef.h>
#include <string.h>

#define COMPONENT "store"

/* Portable SQL: the same table on every backend (BIGINT is a 64-bit
 * integer on both). applied_at is Unix seconds. */
static const char bookkeeping_sql[] =
    "CREATE TABLE IF NOT EXISTS orchard_migrations ("
    " owner TEXT NOT NULL,"
    " version BIGINT NOT NULL,"
    " applied_at BIGINT NOT NULL,"
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

/* The steps as given: plain texts (store_migrate) or a text per dialect
 * (store_migrate2), read once the store is open and its dialect known. */
typedef struct {
    const char *const *plain;
    const orchard_migration *steps;
    size_t n;
} step_list;

/* orchard_migration fields past struct_size read as NULL. */
#define STEP_FIELD(m, f)                                                              \
    ((m)->struct_size >= offsetof(orchard_migration, f) + sizeof((m)->f) ? (m)->f : NULL)

static const char *step_text(const step_list *l, size_t v)
{
    if (l->plain)
        return l->plain[v - 1];
    const orchard_migration *m = &l->steps[v - 1];
    const char *dialect = orchard_store_dialect();
    const char *pg = STEP_FIELD(m, postgres);
    if (dialect && strcmp(dialect, "postgres") == 0 && pg)
        return pg;
    return STEP_FIELD(m, sql);
}

static int check_steps(const char *owner, const step_list *l)
{
    if (!owner || !*owner || (l->n > 0 && !l->plain && !l->steps)) {
        orchard_error(COMPONENT, "store_migrate: no owner or no migrations");
        return ORCHARD_EINVAL;
    }
    for (size_t v = 1; v <= l->n; v++) {
        if (l->steps && (l->steps[v - 1].abi_version != ORCHARD_ABI_VERSION ||
                         l->steps[v - 1].struct_size < offsetof(orchard_migration, postgres))) {
            orchard_error(COMPONENT, "store_migrate: %s version %zu is not an "
                          "orchard_migration of this ABI", owner, v);
            return ORCHARD_EINVAL;
        }
        /* sql is every step's base text, even where PostgreSQL has its own. */
        if (!step_text(l, v) || (l->steps && !STEP_FIELD(&l->steps[v - 1], sql))) {
            orchard_error(COMPONENT, "store_migrate: %s version %zu is NULL", owner, v);
            return ORCHARD_EINVAL;
        }
    }
    return 0;
}

static int migrate(const char *owner, const step_list *l)
{
    g_autofree gboolean *done = NULL;
    size_t n = l->n;
    int64_t newest;
    int began;
    int rc;

    if ((rc = check_steps(owner, l)) != 0)
        return rc;
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
    if (newest > 0 && (uint64_t)newest > n) {
        /* A newer orchard ran on this database: its schema is not ours to
         * write, and reading it would guess. */
        g_autofree char *target = orchard_store_target();
        orchard_error(COMPONENT, "the store %s has %s at schema version %lld, newer than "
                      "version %zu that this build of orchard knows: run a build at least "
                      "as new as the one that set it up", target ? target : "", owner,
                      (long long)newest, n);
        return ORCHARD_EINVAL;
    }
    if (orchard_store_is_read_only())
        return check_only(owner, done, n);
    for (size_t v = 1; v <= n; v++)
        if (!done[v - 1] && (rc = apply_one(owner, v, step_text(l, v))) != 0)
            return rc; /* later versions depend on this one: stop */
    return 0;
}

int orchard_store_migrate(const char *owner, const char *const *migrations, size_t n)
{
    const step_list l = {.plain = migrations, .n = n};
    if (n > 0 && !migrations)
        return check_steps(NULL, &l);
    return migrate(owner, &l);
}

int orchard_store_migrate2(const char *owner, const orchard_migration *steps, size_t n)
{
    const step_list l = {.steps = steps, .n = n};
    if (n > 0 && !steps)
        return check_steps(NULL, &l);
    return migrate(owner, &l);
}
