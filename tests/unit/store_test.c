/* The store suite, written once for every backend: each test runs on each
 * entry of `backends` with a fresh store, through the host API's functions
 * only (store.h), so a PostgreSQL entry gets the same proof as SQLite.
 * Tests that are about a file (its mode, a corrupt one) say so and skip a
 * backend without files. Fork-based tests close the store before fork():
 * a child must never use a connection its parent opened. */
#include "config.h"
#include "log.h"
#include "store/store.h"
#include "suites.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    const char *name;
    const char *config_key;           /* the key that selects it at lazy open */
    char *(*target)(const char *dir); /* a fresh, empty store (g_free) */
    int file_based;                   /* tests of the file itself apply */
    const char *integrity_sql;        /* one row "ok" when sound; NULL: none */
} test_backend;

static char *sqlite_target(const char *dir) { return g_build_filename(dir, "store.db", NULL); }

static const test_backend backends[] = {
    {"sqlite", "store.sqlite", sqlite_target, 1, "PRAGMA integrity_check"},
    /* PostgreSQL comes here: a target making a fresh database per test from
     * a server named by the environment, file_based 0, no integrity SQL. */
};

static const char *const config_keys[] = {"store.sqlite", "store.postgres",
                                          "store.busy_timeout_ms", "store.read_connections"};

typedef struct {
    const test_backend *b;
    char *dir;
    char *target;
} fixture;

static void config_set(const char *key, const char *value)
{
    orchard_config_set(orchard_config_global(), key, value);
}

static void config_clear(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(config_keys); i++)
        config_set(config_keys[i], NULL);
}

static int open_target(const char *target)
{
    g_autofree char *err = NULL;
    int rc = orchard_store_open(target, &err);
    if (rc != 0)
        fprintf(stderr, "store_test: open %s: %s\n", target, err);
    return rc;
}

typedef void (*store_case)(fixture *f);

/* The temporary directory holds files only. */
static void remove_dir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_unlink(path);
    }
    if (d)
        g_dir_close(d);
    CU_ASSERT_EQUAL(g_rmdir(dir), 0);
}

static void on_every_backend(store_case body)
{
    for (size_t i = 0; i < G_N_ELEMENTS(backends); i++) {
        fixture f = {&backends[i], g_dir_make_tmp("orchard-store-XXXXXX", NULL), NULL};
        CU_ASSERT_PTR_NOT_NULL_FATAL(f.dir);
        f.target = backends[i].target(f.dir);
        orchard_store_close(); /* in case a test before stopped at a FATAL assert */
        config_clear();
        int rc = open_target(f.target);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc == 0)
            body(&f);
        orchard_store_close();
        config_clear();
        remove_dir(f.dir);
        g_free(f.target);
        g_free(f.dir);
    }
}

/* STORE_TEST(x) { body using f } defines test x, run on every backend. */
#define STORE_TEST(name)                                     \
    static void name##_on(fixture *f);                       \
    static void name(void) { on_every_backend(name##_on); }  \
    static void name##_on(fixture *f)

/* --- helpers: one statement in its own transaction */

/* Run `sql` with up to two integer parameters in a write transaction. */
static int write_sql(const char *sql, int nargs, int64_t a, int64_t b)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int rc = orchard_store_begin(&tx, 1);
    if (rc != 0)
        return rc;
    rc = orchard_stmt_prepare(tx, sql, &st);
    if (rc == 0 && nargs > 0)
        rc = orchard_stmt_bind_int(st, 1, a);
    if (rc == 0 && nargs > 1)
        rc = orchard_stmt_bind_int(st, 2, b);
    if (rc == 0)
        while ((rc = orchard_stmt_step(st)) == 1)
            ;
    if (rc != 0)
        fprintf(stderr, "store_test: %s: %s\n", sql, orchard_store_errmsg(tx));
    orchard_stmt_finish(st);
    if (rc != 0) {
        orchard_store_rollback(tx);
        return rc;
    }
    return orchard_store_commit(tx);
}

#define NO_ROW INT64_MIN

/* The first column of the first row, in a read transaction; NO_ROW when
 * there is none or the query failed. `nargs` integers bind `?`s. */
static int64_t read_int(const char *sql, int nargs, int64_t a)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int64_t v = NO_ROW;
    if (orchard_store_begin(&tx, 0) != 0)
        return NO_ROW;
    int rc = orchard_stmt_prepare(tx, sql, &st);
    if (rc == 0 && nargs > 0)
        rc = orchard_stmt_bind_int(st, 1, a);
    if (rc == 0 && orchard_stmt_step(st) == 1)
        v = orchard_stmt_column_int(st, 0);
    orchard_store_rollback(tx);
    return v;
}

/* 1 when `sql` prepares and runs in a read transaction (the table exists). */
static int read_ok(const char *sql)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    if (orchard_store_begin(&tx, 0) != 0)
        return 0;
    int ok = orchard_stmt_prepare(tx, sql, &st) == 0 && orchard_stmt_step(st) >= 0;
    orchard_store_rollback(tx);
    return ok;
}

/* --- helpers: stderr, time, children */

typedef struct {
    int saved;
    char *path;
} capture;

static void capture_start(capture *c, const char *dir)
{
    fflush(stderr);
    c->path = g_build_filename(dir, "stderr.txt", NULL);
    int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    c->saved = dup(2);
    dup2(fd, 2);
    close(fd);
}

static char *capture_end(capture *c)
{
    char *text = NULL;
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    if (!g_file_get_contents(c->path, &text, NULL, NULL))
        text = g_strdup("");
    fputs(text, stderr); /* still shown, for whoever reads the test log */
    g_free(c->path);
    return text;
}

static int64_t now_ms(void) { return g_get_monotonic_time() / 1000; }

/* Reopen with store.busy_timeout_ms set to `ms`. */
static int reopen_with_timeout(fixture *f, const char *ms)
{
    orchard_store_close();
    config_set("store.busy_timeout_ms", ms);
    return open_target(f->target);
}

static int wait_child(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle */

STORE_TEST(test_store__open_close_reopen)
{
    CU_ASSERT_EQUAL(orchard_store_is_open(), 1);
    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (?, ?)", 2, 1, 42), 0);

    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(orchard_store_open(f->target, &err), ORCHARD_EEXIST);
    CU_ASSERT_PTR_NOT_NULL(err);

    orchard_store_close();
    CU_ASSERT_EQUAL(orchard_store_is_open(), 0);
    orchard_store_close(); /* closing a closed store is fine */
    CU_ASSERT_EQUAL(open_target(f->target), 0);
    CU_ASSERT_EQUAL(read_int("SELECT v FROM kv WHERE k = ?", 1, 1), 42);
}

STORE_TEST(test_store__lazy_open_from_config)
{
    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (?, ?)", 2, 7, 70), 0);
    orchard_store_close();

    config_set(f->b->config_key, f->target);
    CU_ASSERT_EQUAL(read_int("SELECT v FROM kv WHERE k = ?", 1, 7), 70);
    CU_ASSERT_EQUAL(orchard_store_is_open(), 1);
}

STORE_TEST(test_store__lazy_open_unset_config)
{
    orchard_store_tx *tx = (orchard_store_tx *)&tx; /* must come back NULL */
    capture cap;

    orchard_store_close();
    capture_start(&cap, f->dir);
    int rc = orchard_store_begin(&tx, 0);
    int mrc = orchard_store_migrate("nobody", (const char *const[]){"CREATE TABLE x (a INTEGER)"}, 1);
    g_autofree char *log = capture_end(&cap);
    CU_ASSERT_EQUAL(rc, ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NULL(tx);
    CU_ASSERT_EQUAL(mrc, ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "store.sqlite is not set: "));
    CU_ASSERT_EQUAL(orchard_store_is_open(), 0);

    /* Two stores named at once is a mistake, not a choice to guess. */
    config_set("store.sqlite", f->target);
    config_set("store.postgres", "postgres://localhost/orchard");
    capture_start(&cap, f->dir);
    rc = orchard_store_begin(&tx, 0);
    g_autofree char *log2 = capture_end(&cap);
    CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(log2, "both set"));
    CU_ASSERT_EQUAL(orchard_store_is_open(), 0);
}

/* close() waits for a transaction another thread holds, and keeps its work. */
typedef struct {
    GMutex lock;
    GCond cond;
    int began;
    int rc;
} late_writer;

static gpointer late_writer_run(gpointer p)
{
    late_writer *w = p;
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int rc = orchard_store_begin(&tx, 1);
    g_mutex_lock(&w->lock);
    w->began = 1;
    g_cond_signal(&w->cond);
    g_mutex_unlock(&w->lock);
    if (rc != 0) {
        w->rc = rc;
        return NULL;
    }
    g_usleep(200 * 1000);
    rc = orchard_stmt_prepare(tx, "INSERT INTO kv (k, v) VALUES (1, 1)", &st);
    if (rc == 0)
        rc = orchard_stmt_step(st);
    w->rc = rc == 0 ? orchard_store_commit(tx) : (orchard_store_rollback(tx), rc);
    return NULL;
}

STORE_TEST(test_store__close_waits_for_transactions)
{
    late_writer w = {0};
    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    GThread *t = g_thread_new("late-writer", late_writer_run, &w);
    g_mutex_lock(&w.lock);
    while (!w.began)
        g_cond_wait(&w.cond, &w.lock);
    g_mutex_unlock(&w.lock);
    orchard_store_close();
    g_thread_join(t);
    CU_ASSERT_EQUAL(w.rc, 0);
    CU_ASSERT_EQUAL(open_target(f->target), 0);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM kv", 0, 0), 1);
}

/* ------------------------------------------------------------------------ */
/* Migrations */

static int64_t versions_of(const char *owner, int64_t *max)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int64_t n = NO_ROW;
    *max = NO_ROW;
    if (orchard_store_begin(&tx, 0) != 0)
        return NO_ROW;
    if (orchard_stmt_prepare(tx, "SELECT count(*), max(version), min(applied_at) "
                             "FROM orchard_migrations WHERE owner = ?", &st) == 0 &&
        orchard_stmt_bind_text(st, 1, owner) == 0 && orchard_stmt_step(st) == 1) {
        n = orchard_stmt_column_int(st, 0);
        *max = orchard_stmt_column_is_null(st, 1) ? 0 : orchard_stmt_column_int(st, 1);
        /* applied_at is a plausible Unix time (after 2020) */
        if (n > 0)
            CU_ASSERT(orchard_stmt_column_int(st, 2) > 1577836800);
    }
    orchard_store_rollback(tx);
    return n;
}

STORE_TEST(test_store__migrate_once_in_order)
{
    (void)f;
    const char *const m[] = {
        "CREATE TABLE mig (n INTEGER NOT NULL); CREATE INDEX mig_n ON mig (n)",
        "INSERT INTO mig (n) VALUES (1)",
        "INSERT INTO mig (n) SELECT max(n) * 10 FROM mig", /* needs version 2 first */
        "INSERT INTO mig (n) SELECT max(n) + 5 FROM mig",
    };
    int64_t max;

    CU_ASSERT_EQUAL(orchard_store_migrate("alpha", m, 3), 0);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM mig", 0, 0), 2);
    CU_ASSERT_EQUAL(read_int("SELECT sum(n) FROM mig", 0, 0), 11);
    CU_ASSERT_EQUAL(versions_of("alpha", &max), 3);
    CU_ASSERT_EQUAL(max, 3);

    /* Again: nothing runs twice. */
    CU_ASSERT_EQUAL(orchard_store_migrate("alpha", m, 3), 0);
    CU_ASSERT_EQUAL(read_int("SELECT sum(n) FROM mig", 0, 0), 11);
    CU_ASSERT_EQUAL(versions_of("alpha", &max), 3);

    /* A new version: only it runs. */
    CU_ASSERT_EQUAL(orchard_store_migrate("alpha", m, 4), 0);
    CU_ASSERT_EQUAL(read_int("SELECT sum(n) FROM mig", 0, 0), 26);
    CU_ASSERT_EQUAL(versions_of("alpha", &max), 4);
    CU_ASSERT_EQUAL(max, 4);

    /* An older build with fewer versions changes nothing. */
    CU_ASSERT_EQUAL(orchard_store_migrate("alpha", m, 2), 0);
    CU_ASSERT_EQUAL(read_int("SELECT sum(n) FROM mig", 0, 0), 26);
}

STORE_TEST(test_store__migrate_failure_rolls_back_and_stops)
{
    const char *const bad[] = {
        "CREATE TABLE f1 (a INTEGER)",
        "CREATE TABLE f2 (a INTEGER); INSERT INTO nosuch (a) VALUES (1)",
        "CREATE TABLE f3 (a INTEGER)",
    };
    const char *const fixed[] = {bad[0], "CREATE TABLE f2 (a INTEGER)", bad[2]};
    int64_t max;
    capture cap;

    capture_start(&cap, f->dir);
    int rc = orchard_store_migrate("failer", bad, 3);
    g_autofree char *log = capture_end(&cap);
    CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
    /* The log names owner, version and the database's own words. */
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "failer"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "version 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "nosuch"));
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM f1", 0, 0), 0); /* v1 stays */
    CU_ASSERT_FALSE(read_ok("SELECT count(*) FROM f2"));          /* v2 rolled back whole */
    CU_ASSERT_FALSE(read_ok("SELECT count(*) FROM f3"));          /* v3 never ran */
    CU_ASSERT_EQUAL(versions_of("failer", &max), 1);

    CU_ASSERT_EQUAL(orchard_store_migrate("failer", fixed, 3), 0);
    CU_ASSERT_TRUE(read_ok("SELECT count(*) FROM f3"));
    CU_ASSERT_EQUAL(versions_of("failer", &max), 3);

    /* Transactions belong to the store, in migrations too. */
    const char *const sneaky[] = {"CREATE TABLE s1 (a INTEGER); COMMIT; CREATE TABLE s2 (a INTEGER)"};
    capture_start(&cap, f->dir);
    rc = orchard_store_migrate("sneaky", sneaky, 1);
    g_free(capture_end(&cap));
    CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
    CU_ASSERT_FALSE(read_ok("SELECT count(*) FROM s1"));
    CU_ASSERT_EQUAL(versions_of("sneaky", &max), 0);
}

STORE_TEST(test_store__migrate_owners_independent)
{
    (void)f;
    const char *const a[] = {"CREATE TABLE a1 (x INTEGER)", "CREATE TABLE a2 (x INTEGER)"};
    const char *const b[] = {"CREATE TABLE b1 (x INTEGER)", "CREATE TABLE b2 (x INTEGER)",
                             "CREATE TABLE b3 (x INTEGER)"};
    int64_t max;

    CU_ASSERT_EQUAL(orchard_store_migrate("plugin-a", a, 1), 0);
    CU_ASSERT_EQUAL(orchard_store_migrate("plugin-b", b, 3), 0);
    CU_ASSERT_EQUAL(versions_of("plugin-a", &max), 1);
    CU_ASSERT_EQUAL(versions_of("plugin-b", &max), 3);
    /* b's version 2 does not count as a's */
    CU_ASSERT_EQUAL(orchard_store_migrate("plugin-a", a, 2), 0);
    CU_ASSERT_TRUE(read_ok("SELECT count(*) FROM a2"));
    CU_ASSERT_EQUAL(versions_of("plugin-a", &max), 2);
    CU_ASSERT_EQUAL(max, 2);
    CU_ASSERT_EQUAL(orchard_store_migrate("plugin-a", NULL, 1), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_store_migrate("", a, 1), ORCHARD_EINVAL);
}

/* Several processes migrating one owner at once: each version once. They
 * start together (a pipe closed by the parent), and each version takes a
 * few milliseconds of counting, so they do overlap: all of them see a
 * version missing and queue for the write lock to apply it. */
#define RACERS 4
#define RACE_VERSIONS 20

STORE_TEST(test_store__migrate_concurrent_processes)
{
    const char *m[RACE_VERSIONS];
    char *sqls[RACE_VERSIONS] = {0};
    pid_t pids[RACERS];
    int go[2];
    int64_t max;

    /* orchard_migrations exists before they start, as after a first run. */
    CU_ASSERT_EQUAL(orchard_store_migrate("setup", (const char *const[]){
        "CREATE TABLE race_log (v INTEGER NOT NULL)"}, 1), 0);
    m[0] = "CREATE TABLE race_table (v INTEGER NOT NULL)";
    for (int v = 1; v < RACE_VERSIONS; v++)
        m[v] = sqls[v] = g_strdup_printf(
            "INSERT INTO race_log (v) SELECT %d FROM (WITH RECURSIVE c(x) AS (SELECT 1 "
            "UNION ALL SELECT x + 1 FROM c WHERE x < 30000) SELECT count(*) AS n FROM c) AS t",
            v + 1);
    orchard_store_close();
    CU_ASSERT_EQUAL_FATAL(pipe(go), 0);
    for (int i = 0; i < RACERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            g_autofree char *err = NULL;
            char c;
            close(go[1]);
            int rc = orchard_store_open(f->target, &err);
            if (read(go[0], &c, 1) != 0) /* EOF: the start */
                _exit(2);
            if (rc == 0)
                rc = orchard_store_migrate("race", m, RACE_VERSIONS);
            orchard_store_close();
            _exit(rc == 0 ? 0 : 1);
        }
        CU_ASSERT(pids[i] > 0);
    }
    close(go[0]);
    close(go[1]);
    for (int i = 0; i < RACERS; i++)
        if (pids[i] > 0) {
            int status = wait_child(pids[i]);
            CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
    CU_ASSERT_EQUAL(open_target(f->target), 0);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM race_log", 0, 0), RACE_VERSIONS - 1);
    CU_ASSERT_EQUAL(read_int("SELECT count(DISTINCT v) FROM race_log", 0, 0), RACE_VERSIONS - 1);
    CU_ASSERT_EQUAL(versions_of("race", &max), RACE_VERSIONS);
    for (int v = 0; v < RACE_VERSIONS; v++)
        g_free(sqls[v]);
}

/* ------------------------------------------------------------------------ */
/* Statements */

static const char vals_table[] =
    "CREATE TABLE vals (id INTEGER PRIMARY KEY, i INTEGER, t TEXT, b BLOB)";

static int insert_vals(int64_t id, int64_t i, const char *t, const void *b, size_t blen)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int rc = orchard_store_begin(&tx, 1);
    if (rc != 0)
        return rc;
    rc = orchard_stmt_prepare(tx, "INSERT INTO vals (id, i, t, b) VALUES (?, ?, ?, ?)", &st);
    if (rc == 0)
        rc = orchard_stmt_bind_int(st, 1, id);
    if (rc == 0)
        rc = orchard_stmt_bind_int(st, 2, i);
    if (rc == 0)
        rc = orchard_stmt_bind_text(st, 3, t);
    if (rc == 0)
        rc = orchard_stmt_bind_blob(st, 4, b, blen);
    if (rc == 0)
        rc = orchard_stmt_step(st);
    if (rc == 0)
        CU_ASSERT_EQUAL(orchard_stmt_changes(st), 1);
    if (rc != 0) {
        orchard_store_rollback(tx);
        return rc;
    }
    return orchard_store_commit(tx);
}

STORE_TEST(test_store__bind_and_columns)
{
    (void)f;
    static const unsigned char nuls[] = {'a', 0, 'b', 0, 0, 'c'};
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    size_t len = 99;

    CU_ASSERT_EQUAL(write_sql(vals_table, 0, 0, 0), 0);
    CU_ASSERT_EQUAL(insert_vals(1, INT64_MIN, "h\xc3\xa9llo", nuls, sizeof nuls), 0);
    CU_ASSERT_EQUAL(insert_vals(2, INT64_MAX, NULL, NULL, 0), 0);
    CU_ASSERT_EQUAL(insert_vals(3, 0, "", "", 0), 0); /* empty, not NULL */

    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT i, t, b FROM vals ORDER BY id", &st), 0);

    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_int(st, 0), INT64_MIN);
    CU_ASSERT_STRING_EQUAL(orchard_stmt_column_text(st, 1), "h\xc3\xa9llo");
    const void *b = orchard_stmt_column_blob(st, 2, &len);
    CU_ASSERT_EQUAL(len, sizeof nuls);
    CU_ASSERT(b && memcmp(b, nuls, sizeof nuls) == 0);
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(st, 1), 0);

    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_int(st, 0), INT64_MAX);
    CU_ASSERT_PTR_NULL(orchard_stmt_column_text(st, 1));
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(st, 1), 1);
    CU_ASSERT_PTR_NULL(orchard_stmt_column_blob(st, 2, &len));
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(st, 2), 1);

    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_int(st, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(st, 1), 0);
    CU_ASSERT_STRING_EQUAL(orchard_stmt_column_text(st, 1), "");
    len = 99;
    CU_ASSERT_PTR_NOT_NULL(orchard_stmt_column_blob(st, 2, &len));
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(st, 2), 0);

    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    /* No current row: columns read as NULL rather than stale data. */
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(st, 0), 1);
    CU_ASSERT_PTR_NULL(orchard_stmt_column_text(st, 1));
    CU_ASSERT_EQUAL(orchard_stmt_changes(st), 0);
    orchard_store_rollback(tx); /* finishes st */
}

STORE_TEST(test_store__big_blob)
{
    (void)f;
    const size_t n = 1u << 20;
    g_autofree unsigned char *big = g_malloc(n);
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    size_t len = 0;

    for (size_t i = 0; i < n; i++)
        big[i] = (unsigned char)(i * 131 + (i >> 11)); /* NULs included, no period of 256 */
    CU_ASSERT_EQUAL(write_sql(vals_table, 0, 0, 0), 0);
    CU_ASSERT_EQUAL(insert_vals(1, 1, "big", big, n), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT b FROM vals WHERE id = 1", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    const void *b = orchard_stmt_column_blob(st, 0, &len);
    CU_ASSERT_EQUAL(len, n);
    CU_ASSERT(b && len == n && memcmp(b, big, n) == 0);
    orchard_store_rollback(tx);
}

STORE_TEST(test_store__bad_sql)
{
    (void)f;
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = (orchard_stmt *)&st;

    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
    CU_ASSERT_STRING_EQUAL(orchard_store_errmsg(tx), "");
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELEC 1", &st), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(st);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), "syntax error"));
    /* The transaction is doomed: more work is refused, the cause kept. */
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT 1", &st), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), "already failed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), "syntax error"));
    orchard_store_rollback(tx);

    static const struct {
        const char *sql, *says;
    } cases[] = {
        {"SELECT * FROM nosuch", "nosuch"},
        {"BEGIN", "transactions belong to the store"},
        {"  -- note\n commit", "transactions belong to the store"},
        {"SELECT 1; SELECT 2", "one statement"},
        {"", "no SQL statement"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
        CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, cases[i].sql, &st), ORCHARD_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), cases[i].says));
        orchard_store_rollback(tx);
    }
    CU_ASSERT_EQUAL(orchard_stmt_prepare(NULL, "SELECT 1", &st), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_store_begin(NULL, 1), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_store_commit(NULL), ORCHARD_EINVAL);
    orchard_store_rollback(NULL);
    orchard_stmt_finish(NULL);
}

STORE_TEST(test_store__bad_parameter_index)
{
    (void)f;
    const int bad[] = {0, 2, -1};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        orchard_store_tx *tx = NULL;
        orchard_stmt *st = NULL;
        CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
        CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT ?", &st), 0);
        CU_ASSERT_EQUAL(orchard_stmt_bind_int(st, bad[i], 5), ORCHARD_EINVAL);
        CU_ASSERT_STRING_NOT_EQUAL(orchard_store_errmsg(tx), "");
        CU_ASSERT_EQUAL(orchard_stmt_bind_text(st, 1, "x"), ORCHARD_EINVAL); /* doomed */
        CU_ASSERT_EQUAL(orchard_store_commit(tx), ORCHARD_EINVAL);
    }
}

STORE_TEST(test_store__step_after_done)
{
    (void)f;
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "SELECT 1", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    CU_ASSERT_EQUAL(orchard_stmt_bind_int(st, 1, 1), ORCHARD_EINVAL); /* bind after step */
    orchard_store_rollback(tx);

    /* A second step of a finished INSERT must not insert again. */
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "INSERT INTO kv (k, v) SELECT count(*), 0 FROM kv", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), "finish it"));
    orchard_stmt_finish(st);
    CU_ASSERT_EQUAL(orchard_store_commit(tx), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM kv", 0, 0), 0);
}

STORE_TEST(test_store__stmt_cache_reuse)
{
    (void)f;
    static const char sql[] = "SELECT ? + 1";
    orchard_store_tx *tx = NULL;
    orchard_stmt *s1 = NULL, *s2 = NULL, *s3 = NULL;

    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, sql, &s1), 0);
    CU_ASSERT_EQUAL(orchard_stmt_bind_int(s1, 1, 1), 0);
    /* The same SQL while s1 is open: a statement of its own. */
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, sql, &s2), 0);
    CU_ASSERT(s1 != s2);
    CU_ASSERT_EQUAL(orchard_stmt_bind_int(s2, 1, 10), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(s1), 1);
    CU_ASSERT_EQUAL(orchard_stmt_step(s2), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_int(s1, 0), 2);
    CU_ASSERT_EQUAL(orchard_stmt_column_int(s2, 0), 11);
    orchard_stmt_finish(s1);
    orchard_stmt_finish(s2);

    /* From the cache: fresh state, old bindings gone (NULL + 1 is NULL). */
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, sql, &s3), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(s3), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_is_null(s3, 0), 1);
    orchard_stmt_finish(s3);
    for (int i = 0; i < 300; i++) {
        CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, sql, &s3), 0);
        CU_ASSERT_EQUAL(orchard_stmt_bind_int(s3, 1, i), 0);
        CU_ASSERT_EQUAL(orchard_stmt_step(s3), 1);
        if (orchard_stmt_column_int(s3, 0) != i + 1)
            CU_FAIL("cached statement gave a wrong answer");
        orchard_stmt_finish(s3);
    }
    /* Left open mid-row: commit finishes it, and it is reusable after. */
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, sql, &s3), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(s3), 1);
    CU_ASSERT_EQUAL(orchard_store_commit(tx), 0);
    CU_ASSERT_EQUAL(read_int(sql, 1, 41), 42);
}

STORE_TEST(test_store__rollback_discards_and_changes)
{
    (void)f;
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    for (int k = 1; k <= 3; k++)
        CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (?, ?)", 2, k, 0), 0);

    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "UPDATE kv SET v = v + 1", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_changes(st), 3);
    orchard_stmt_finish(st);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "DELETE FROM kv WHERE k = 99", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_changes(st), 0);
    orchard_stmt_finish(st);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "INSERT INTO kv (k, v) VALUES (4, 4)", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    orchard_stmt_finish(st);
    orchard_store_rollback(tx);

    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM kv", 0, 0), 3);
    CU_ASSERT_EQUAL(read_int("SELECT sum(v) FROM kv", 0, 0), 0);
}

STORE_TEST(test_store__commit_after_failed_statement)
{
    (void)f;
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (1, 1)", 0, 0, 0), 0);

    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 1), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "INSERT INTO kv (k, v) VALUES (2, 2)", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    orchard_stmt_finish(st);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "INSERT INTO kv (k, v) VALUES (1, 9)", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), ORCHARD_EEXIST); /* primary key taken */
    CU_ASSERT_STRING_NOT_EQUAL(orchard_store_errmsg(tx), "");
    /* Commit refuses: the good row 2 goes with the failed statement. */
    CU_ASSERT_EQUAL(orchard_store_commit(tx), ORCHARD_EEXIST);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM kv", 0, 0), 1);
    CU_ASSERT_EQUAL(read_int("SELECT v FROM kv WHERE k = 1", 0, 0), 1);

    /* Other constraints are EINVAL. */
    CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (5, NULL)", 0, 0, 0), ORCHARD_EINVAL);
    /* A write transaction works after all that. */
    CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (3, 3)", 0, 0, 0), 0);
}

STORE_TEST(test_store__read_transaction_cannot_write)
{
    (void)f;
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, "INSERT INTO kv (k, v) VALUES (1, 1)", &st), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), "read transaction"));
    CU_ASSERT_EQUAL(orchard_store_exec(tx, "DELETE FROM kv"), ORCHARD_EINVAL);
    orchard_store_rollback(tx);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM kv", 0, 0), 0);
}

/* ------------------------------------------------------------------------ */
/* Concurrency within the process */

#define WRITERS 4
#define INCREMENTS 100

static gpointer incrementer(gpointer p)
{
    int *failures = p;
    for (int i = 0; i < INCREMENTS; i++) {
        orchard_store_tx *tx = NULL;
        orchard_stmt *st = NULL;
        int64_t n = -1;
        /* Read, then write what was read plus one: without one writer at a
         * time, two threads would read the same n and lose an increment. */
        int rc = orchard_store_begin(&tx, 1);
        if (rc == 0)
            rc = orchard_stmt_prepare(tx, "SELECT n FROM counter WHERE id = 1", &st);
        if (rc == 0 && (rc = orchard_stmt_step(st)) == 1) {
            n = orchard_stmt_column_int(st, 0);
            rc = 0;
        }
        orchard_stmt_finish(st);
        g_thread_yield();
        if (rc == 0)
            rc = orchard_stmt_prepare(tx, "UPDATE counter SET n = ? WHERE id = 1", &st);
        if (rc == 0)
            rc = orchard_stmt_bind_int(st, 1, n + 1);
        if (rc == 0)
            rc = orchard_stmt_step(st);
        rc = rc == 0 ? orchard_store_commit(tx) : (orchard_store_rollback(tx), rc);
        if (rc != 0)
            g_atomic_int_inc(failures);
    }
    return NULL;
}

STORE_TEST(test_store__writers_serialised)
{
    (void)f;
    GThread *threads[WRITERS];
    int failures = 0;

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(write_sql("INSERT INTO counter (id, n) VALUES (1, 0)", 0, 0, 0), 0);
    for (int i = 0; i < WRITERS; i++)
        threads[i] = g_thread_new("incrementer", incrementer, &failures);
    for (int i = 0; i < WRITERS; i++)
        g_thread_join(threads[i]);
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT_EQUAL(read_int("SELECT n FROM counter WHERE id = 1", 0, 0), WRITERS * INCREMENTS);
}

static gpointer reader_in_thread(gpointer p)
{
    (void)p;
    return GINT_TO_POINTER((int)read_int("SELECT v FROM kv WHERE k = 1", 0, 0));
}

STORE_TEST(test_store__readers_beside_writer_see_snapshot)
{
    (void)f;
    orchard_store_tx *r1 = NULL, *w = NULL;
    orchard_stmt *st = NULL;

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (1, 1)", 0, 0, 0), 0);

    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&r1, 0), 0); /* snapshot taken here */
    CU_ASSERT_EQUAL(orchard_store_begin(&w, 1), 0);
    if (!w) {
        orchard_store_rollback(r1);
        return;
    }
    CU_ASSERT_EQUAL(orchard_stmt_prepare(w, "UPDATE kv SET v = 2 WHERE k = 1", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 0);
    orchard_stmt_finish(st);

    /* While the writer holds its transaction, a reader on another thread
     * runs to its end and sees the committed value. */
    GThread *t = g_thread_new("reader", reader_in_thread, NULL);
    CU_ASSERT_EQUAL(GPOINTER_TO_INT(g_thread_join(t)), 1);
    CU_ASSERT_EQUAL(orchard_store_commit(w), 0);

    /* r1 began before the commit and still sees 1; a new reader sees 2. */
    CU_ASSERT_EQUAL(orchard_stmt_prepare(r1, "SELECT v FROM kv WHERE k = 1", &st), 0);
    CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
    CU_ASSERT_EQUAL(orchard_stmt_column_int(st, 0), 1);
    orchard_store_rollback(r1);
    CU_ASSERT_EQUAL(read_int("SELECT v FROM kv WHERE k = 1", 0, 0), 2);
}

typedef struct {
    GAsyncQueue *began;   /* holder -> test: 1 when it holds the writer */
    GAsyncQueue *release; /* test -> holder: let go */
} holder;

static gpointer hold_writer(gpointer p)
{
    holder *h = p;
    orchard_store_tx *tx = NULL;
    int rc = orchard_store_begin(&tx, 1);
    g_async_queue_push(h->began, GINT_TO_POINTER(rc == 0 ? 1 : 2));
    g_async_queue_pop(h->release);
    orchard_store_rollback(tx);
    return NULL;
}

STORE_TEST(test_store__busy_in_process)
{
    orchard_store_tx *tx = (orchard_store_tx *)&tx;

    CU_ASSERT_EQUAL_FATAL(reopen_with_timeout(f, "300"), 0);
    holder h = {g_async_queue_new(), g_async_queue_new()};
    GThread *t = g_thread_new("holder", hold_writer, &h);
    CU_ASSERT_EQUAL(GPOINTER_TO_INT(g_async_queue_pop(h.began)), 1);

    int64_t t0 = now_ms();
    CU_ASSERT_EQUAL(orchard_store_begin(&tx, 1), ORCHARD_EBUSY);
    int64_t waited = now_ms() - t0;
    CU_ASSERT_PTR_NULL(tx);
    CU_ASSERT(waited >= 250 && waited < 10000);
    /* Readers are not held up by the writer. */
    CU_ASSERT_EQUAL(read_int("SELECT 5", 0, 0), 5);

    g_async_queue_push(h.release, GINT_TO_POINTER(1));
    g_thread_join(t);
    CU_ASSERT_EQUAL(orchard_store_begin(&tx, 1), 0);
    orchard_store_rollback(tx);
    g_async_queue_unref(h.began);
    g_async_queue_unref(h.release);
}

STORE_TEST(test_store__reader_pool_bounded)
{
    orchard_store_tx *r[3] = {NULL, NULL, NULL};

    orchard_store_close();
    config_set("store.read_connections", "2");
    config_set("store.busy_timeout_ms", "200");
    CU_ASSERT_EQUAL_FATAL(open_target(f->target), 0);
    CU_ASSERT_EQUAL(orchard_store_begin(&r[0], 0), 0);
    CU_ASSERT_EQUAL(orchard_store_begin(&r[1], 0), 0);
    CU_ASSERT_EQUAL(orchard_store_begin(&r[2], 0), ORCHARD_EBUSY);
    orchard_store_rollback(r[0]);
    CU_ASSERT_EQUAL(orchard_store_begin(&r[2], 0), 0); /* r[0]'s connection, reused */
    orchard_store_rollback(r[1]);
    orchard_store_rollback(r[2]);

    /* A bad option is refused at open, with its name. */
    orchard_store_close();
    config_set("store.busy_timeout_ms", "soon");
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(orchard_store_open(f->target, &err), ORCHARD_EINVAL);
    CU_ASSERT(err && strstr(err, "store.busy_timeout_ms"));
}

/* ------------------------------------------------------------------------ */
/* Other processes */

STORE_TEST(test_store__busy_from_other_process)
{
    int up[2], down[2];
    char c = 0;
    orchard_store_tx *tx = NULL;

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    orchard_store_close();
    config_set("store.busy_timeout_ms", "400");
    CU_ASSERT_EQUAL_FATAL(pipe(up), 0);
    CU_ASSERT_EQUAL_FATAL(pipe(down), 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        /* The child takes the write lock and holds it until told. */
        g_autofree char *err = NULL;
        orchard_stmt *st = NULL;
        close(up[0]);
        close(down[1]);
        if (orchard_store_open(f->target, &err) != 0 || orchard_store_begin(&tx, 1) != 0 ||
            orchard_stmt_prepare(tx, "INSERT INTO kv (k, v) VALUES (1, 1)", &st) != 0 ||
            orchard_stmt_step(st) != 0)
            _exit(2);
        if (write(up[1], "L", 1) != 1 || read(down[0], &c, 1) != 1)
            _exit(3);
        _exit(orchard_store_commit(tx) == 0 ? 0 : 4);
    }
    close(up[1]);
    close(down[0]);
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN); /* a dead child must fail, not kill us */
    CU_ASSERT_EQUAL(read(up[0], &c, 1), 1);
    CU_ASSERT_EQUAL(open_target(f->target), 0);

    int64_t t0 = now_ms();
    CU_ASSERT_EQUAL(orchard_store_begin(&tx, 1), ORCHARD_EBUSY);
    int64_t waited = now_ms() - t0;
    CU_ASSERT(waited >= 300 && waited < 10000);
    CU_ASSERT_PTR_NULL(tx);
    /* Reading goes on meanwhile, without the child's uncommitted row. */
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM kv", 0, 0), 0);

    CU_ASSERT_EQUAL(write(down[1], "R", 1), 1);
    int status = wait_child(pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT_EQUAL(orchard_store_begin(&tx, 1), 0);
    CU_ASSERT_EQUAL(orchard_store_commit(tx), 0);
    CU_ASSERT_EQUAL(read_int("SELECT v FROM kv WHERE k = 1", 0, 0), 1);
    close(up[0]);
    close(down[1]);
    signal(SIGPIPE, old_pipe);
}

/* Read whole int64 ids from fd until EOF, or until `kill_after` of them
 * have arrived, when `pid` gets SIGKILL (then read on to EOF). */
static GArray *read_ids(int fd, pid_t pid, guint kill_after)
{
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
    unsigned char buf[4096];
    size_t have = 0;
    int killed = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        size_t whole = have / sizeof(int64_t) * sizeof(int64_t);
        g_array_append_vals(ids, buf, (guint)(whole / sizeof(int64_t)));
        memmove(buf, buf + whole, have - whole);
        have -= whole;
        if (!killed && ids->len >= kill_after) {
            kill(pid, SIGKILL);
            killed = 1;
        }
    }
    return ids;
}

STORE_TEST(test_store__kill9_keeps_commits)
{
    int p[2];
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE durable (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)", 0, 0, 0), 0);
    orchard_store_close();
    CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        /* Commit one row per transaction and report it only once committed. */
        g_autofree char *err = NULL;
        close(p[0]);
        if (orchard_store_open(f->target, &err) != 0)
            _exit(2);
        for (int64_t id = 1; id < 100000000; id++) {
            char payload[32];
            snprintf(payload, sizeof payload, "row %" G_GINT64_FORMAT, id);
            if (orchard_store_begin(&tx, 1) != 0 ||
                orchard_stmt_prepare(tx, "INSERT INTO durable (id, payload) VALUES (?, ?)", &st) != 0 ||
                orchard_stmt_bind_int(st, 1, id) != 0 || orchard_stmt_bind_text(st, 2, payload) != 0 ||
                orchard_stmt_step(st) != 0 || orchard_store_commit(tx) != 0)
                _exit(3);
            if (write(p[1], &id, sizeof id) != sizeof id)
                _exit(4);
        }
        _exit(0);
    }
    close(p[1]);
    g_autoptr(GArray) ids = read_ids(p[0], pid, 300);
    close(p[0]);
    int status = wait_child(pid);
    CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL); /* killed mid-run */
    CU_ASSERT(ids->len >= 300);

    CU_ASSERT_EQUAL_FATAL(open_target(f->target), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    guint missing = 0;
    for (guint i = 0; i < ids->len; i++) {
        int64_t id = g_array_index(ids, int64_t, i);
        if (orchard_stmt_prepare(tx, "SELECT payload FROM durable WHERE id = ?", &st) != 0 ||
            orchard_stmt_bind_int(st, 1, id) != 0 || orchard_stmt_step(st) != 1) {
            missing++;
        } else {
            char want[32];
            snprintf(want, sizeof want, "row %" G_GINT64_FORMAT, id);
            if (g_strcmp0(orchard_stmt_column_text(st, 0), want) != 0)
                missing++;
        }
        orchard_stmt_finish(st);
    }
    CU_ASSERT_EQUAL(missing, 0);
    if (f->b->integrity_sql) {
        CU_ASSERT_EQUAL(orchard_stmt_prepare(tx, f->b->integrity_sql, &st), 0);
        CU_ASSERT_EQUAL(orchard_stmt_step(st), 1);
        CU_ASSERT_STRING_EQUAL(orchard_stmt_column_text(st, 0), "ok");
    }
    orchard_store_rollback(tx);
}

/* ------------------------------------------------------------------------ */
/* The file (file-based backends) */

STORE_TEST(test_store__not_a_database)
{
    if (!f->b->file_based)
        return;
    g_autofree char *junk = g_build_filename(f->dir, "junk.db", NULL);
    GString *text = g_string_new(NULL);
    while (text->len < 16384)
        g_string_append(text, "this is a text file, not a database. ");
    CU_ASSERT_TRUE(g_file_set_contents(junk, text->str, (gssize)text->len, NULL));
    g_string_free(text, TRUE);

    orchard_store_close();
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(orchard_store_open(junk, &err), ORCHARD_EIO);
    CU_ASSERT(err && strstr(err, junk) && strstr(err, "not a database"));
    CU_ASSERT_EQUAL(orchard_store_is_open(), 0);
}

STORE_TEST(test_store__corrupt_pages)
{
    if (!f->b->file_based)
        return;
    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)", 0, 0, 0), 0);
    for (int k = 0; k < 50; k++)
        CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (?, printf('%0500d', ?))", 2, k, k), 0);
    orchard_store_close(); /* everything in the main file now */

    /* Keep page 1 (header and schema), scribble over every page after it. */
    g_autofree char *data = NULL;
    gsize len = 0;
    CU_ASSERT_FATAL(g_file_get_contents(f->target, &data, &len, NULL));
    unsigned page = ((unsigned char)data[16] << 8) | (unsigned char)data[17];
    if (page == 1)
        page = 65536;
    CU_ASSERT_FATAL(len > 2 * (gsize)page);
    memset(data + page, 0xA5, len - page);
    CU_ASSERT_TRUE(g_file_set_contents(f->target, data, (gssize)len, NULL));

    g_autofree char *err = NULL;
    int rc = orchard_store_open(f->target, &err);
    if (rc != 0) {
        CU_ASSERT_EQUAL(rc, ORCHARD_EIO);
        return;
    }
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_begin(&tx, 0), 0);
    rc = orchard_stmt_prepare(tx, "SELECT count(*), max(v) FROM kv", &st);
    if (rc == 0)
        rc = orchard_stmt_step(st);
    CU_ASSERT_EQUAL(rc, ORCHARD_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_store_errmsg(tx), "malformed"));
    orchard_store_rollback(tx);
}

STORE_TEST(test_store__missing_directory)
{
    if (!f->b->file_based)
        return;
    g_autofree char *dir = g_build_filename(f->dir, "no", "such", NULL);
    g_autofree char *path = g_build_filename(dir, "store.db", NULL);
    g_autofree char *err = NULL;

    orchard_store_close();
    CU_ASSERT_EQUAL(orchard_store_open(path, &err), ORCHARD_ENOTFOUND);
    CU_ASSERT(err && strstr(err, dir) && strstr(err, "does not exist"));
    CU_ASSERT_FALSE(g_file_test(dir, G_FILE_TEST_EXISTS)); /* not created for us */
}

static unsigned mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;
}

STORE_TEST(test_store__file_mode_0600)
{
    if (!f->b->file_based)
        return;
    g_autofree char *path = g_build_filename(f->dir, "private.db", NULL);
    g_autofree char *wal = g_strconcat(path, "-wal", NULL);

    orchard_store_close();
    mode_t old = umask(022); /* SQLite alone would make it 0644 */
    int rc = open_target(path);
    umask(old);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(mode_of(path), 0600);
    CU_ASSERT_TRUE(g_file_test(wal, G_FILE_TEST_EXISTS));
    CU_ASSERT_EQUAL(mode_of(wal), 0600);
}

void store_suite(void)
{
    ORCHARD_ADD_SUITE("store", NULL, NULL,
        {"test_store__open_close_reopen", test_store__open_close_reopen},
        {"test_store__lazy_open_from_config", test_store__lazy_open_from_config},
        {"test_store__lazy_open_unset_config", test_store__lazy_open_unset_config},
        {"test_store__close_waits_for_transactions", test_store__close_waits_for_transactions},
        {"test_store__migrate_once_in_order", test_store__migrate_once_in_order},
        {"test_store__migrate_failure_rolls_back_and_stops", test_store__migrate_failure_rolls_back_and_stops},
        {"test_store__migrate_owners_independent", test_store__migrate_owners_independent},
        {"test_store__migrate_concurrent_processes", test_store__migrate_concurrent_processes},
        {"test_store__bind_and_columns", test_store__bind_and_columns},
        {"test_store__big_blob", test_store__big_blob},
        {"test_store__bad_sql", test_store__bad_sql},
        {"test_store__bad_parameter_index", test_store__bad_parameter_index},
        {"test_store__step_after_done", test_store__step_after_done},
        {"test_store__stmt_cache_reuse", test_store__stmt_cache_reuse},
        {"test_store__rollback_discards_and_changes", test_store__rollback_discards_and_changes},
        {"test_store__commit_after_failed_statement", test_store__commit_after_failed_statement},
        {"test_store__read_transaction_cannot_write", test_store__read_transaction_cannot_write},
        {"test_store__writers_serialised", test_store__writers_serialised},
        {"test_store__readers_beside_writer_see_snapshot", test_store__readers_beside_writer_see_snapshot},
        {"test_store__busy_in_process", test_store__busy_in_process},
        {"test_store__reader_pool_bounded", test_store__reader_pool_bounded},
        {"test_store__busy_from_other_process", test_store__busy_from_other_process},
        {"test_store__kill9_keeps_commits", test_store__kill9_keeps_commits},
        {"test_store__not_a_database", test_store__not_a_database},
        {"test_store__corrupt_pages", test_store__corrupt_pages},
        {"test_store__missing_directory", test_store__missing_directory},
        {"test_store__file_mode_0600", test_store__file_mode_0600});
}
