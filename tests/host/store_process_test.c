/* The store_process suite: the store with other processes and on disk, on
 * every backend of store_fixture.c. Migrations racing in several processes,
 * a writer held in another process, writers of several processes taking
 * turns, commits surviving kill -9, a writer killed mid-transaction; then
 * the file itself (junk, corrupt pages, a missing directory, its mode),
 * which a backend without files skips (store_restart_test.c has the server
 * restarting under a PostgreSQL store). Fork-based tests close the store before fork(): a child must
 * never use a connection its parent opened. */
#include "host/store/store.h"
#include "tests/host/store_fixture.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int wait_child(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

/* ------------------------------------------------------------------------ */
/* Migrations from several processes */

/* Several processes migrating one owner at once: each version once. They
 * start together (a pipe closed by the parent), and each version takes a
 * few milliseconds of counting, so they do overlap: all of them see a
 * version missing and queue for the write lock to apply it. */
#define RACERS 4
#define RACE_VERSIONS 20

/* Fork RACERS processes that open the store, wait for the start together,
 * and migrate owner "race" to `n` versions; asserts each exited 0. */
static void race(fixture *f, const char *const *m, int n)
{
    pid_t pids[RACERS];
    int go[2];

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
                rc = orchard_store_migrate("race", m, n);
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
}

STORE_TEST(test_store__migrate_concurrent_processes)
{
    const char *m[RACE_VERSIONS];
    char *sqls[RACE_VERSIONS] = {0};
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
    race(f, m, RACE_VERSIONS);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM race_log", 0, 0), RACE_VERSIONS - 1);
    CU_ASSERT_EQUAL(read_int("SELECT count(DISTINCT v) FROM race_log", 0, 0), RACE_VERSIONS - 1);
    CU_ASSERT_EQUAL(versions_of("race", &max), RACE_VERSIONS);
    for (int v = 0; v < RACE_VERSIONS; v++)
        g_free(sqls[v]);
}

/* The same on a store nobody migrated yet: the bookkeeping table itself is
 * made by whichever racer comes first, once (PostgreSQL refuses a second
 * CREATE TABLE IF NOT EXISTS that runs beside the first, unless both take
 * turns). */
STORE_TEST(test_store__migrate_concurrent_fresh)
{
    const char *const m[] = {
        "CREATE TABLE fresh_log (v INTEGER NOT NULL)",
        "INSERT INTO fresh_log (v) VALUES (2)",
        "INSERT INTO fresh_log (v) SELECT max(v) + 1 FROM fresh_log",
    };
    int64_t max;

    race(f, m, 3);
    CU_ASSERT_EQUAL(read_int("SELECT count(*) FROM fresh_log", 0, 0), 2);
    CU_ASSERT_EQUAL(read_int("SELECT sum(v) FROM fresh_log", 0, 0), 5);
    CU_ASSERT_EQUAL(versions_of("race", &max), 3);
    CU_ASSERT_EQUAL(max, 3);
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

/* Writers in several processes (instances) take turns: each reads a
 * counter and writes it back plus one, so any two writers inside the same
 * window would lose an increment. */
#define PROC_WRITERS 3
#define PROC_INCREMENTS 60

static int increment_many(const char *target)
{
    g_autofree char *err = NULL;
    if (orchard_store_open(target, &err) != 0)
        return 2;
    for (int i = 0; i < PROC_INCREMENTS; i++) {
        orchard_store_tx *tx = NULL;
        orchard_stmt *st = NULL;
        int64_t n = -1;
        int rc = orchard_store_begin(&tx, 1);
        if (rc == 0 && (rc = orchard_stmt_prepare(tx, "SELECT n FROM counter WHERE id = 1", &st)) == 0 &&
            (rc = orchard_stmt_step(st)) == 1) {
            n = orchard_stmt_column_int(st, 0);
            rc = 0;
        }
        if (st)
            orchard_stmt_finish(st);
        st = NULL;
        if (rc == 0)
            rc = orchard_stmt_prepare(tx, "UPDATE counter SET n = ? WHERE id = 1", &st);
        if (rc == 0)
            rc = orchard_stmt_bind_int(st, 1, n + 1);
        if (rc == 0)
            rc = orchard_stmt_step(st);
        rc = rc == 0 ? orchard_store_commit(tx) : (tx ? (orchard_store_rollback(tx), rc) : rc);
        if (rc != 0)
            return 3;
    }
    orchard_store_close();
    return 0;
}

STORE_TEST(test_store__writers_serialised_across_processes)
{
    pid_t pids[PROC_WRITERS];

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(write_sql("INSERT INTO counter (id, n) VALUES (1, 0)", 0, 0, 0), 0);
    orchard_store_close();
    config_set("store.busy_timeout_ms", "20000");
    for (int i = 0; i < PROC_WRITERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(increment_many(f->target));
        CU_ASSERT(pids[i] > 0);
    }
    for (int i = 0; i < PROC_WRITERS; i++)
        if (pids[i] > 0) {
            int status = wait_child(pids[i]);
            CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
    CU_ASSERT_EQUAL_FATAL(open_target(f->target), 0);
    CU_ASSERT_EQUAL(read_int("SELECT n FROM counter WHERE id = 1", 0, 0),
                    PROC_WRITERS * PROC_INCREMENTS);
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

/* kill -9 of a process in the middle of its write transaction: the writer
 * path is free again at once (SQLite: its file locks die with it;
 * PostgreSQL: the server ends the session, its advisory lock with it), a
 * writer already waiting gets it well within busy_timeout, and nothing of
 * the dead transaction is left. */
typedef struct {
    int64_t got_at; /* now_ms() when begin returned */
    int rc;
    int64_t rows;   /* kv's rows as the new writer saw them */
} waiting_writer;

static gpointer wait_for_writer(gpointer p)
{
    waiting_writer *w = p;
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    w->rc = orchard_store_begin(&tx, 1);
    w->got_at = now_ms();
    w->rows = NO_ROW;
    if (w->rc != 0)
        return NULL;
    if (orchard_stmt_prepare(tx, "SELECT count(*) FROM kv", &st) == 0 && orchard_stmt_step(st) == 1)
        w->rows = orchard_stmt_column_int(st, 0);
    orchard_store_rollback(tx);
    return NULL;
}

STORE_TEST(test_store__kill9_mid_transaction)
{
    int up[2];
    char c = 0;

    CU_ASSERT_EQUAL(write_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)", 0, 0, 0), 0);
    orchard_store_close();
    config_set("store.busy_timeout_ms", "8000");
    CU_ASSERT_EQUAL_FATAL(pipe(up), 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        /* Write 100 rows in one transaction, say so, and wait to be killed. */
        g_autofree char *err = NULL;
        orchard_store_tx *tx = NULL;
        orchard_stmt *st = NULL;
        close(up[0]);
        if (orchard_store_open(f->target, &err) != 0 || orchard_store_begin(&tx, 1) != 0)
            _exit(2);
        for (int k = 1; k <= 100; k++)
            if (orchard_stmt_prepare(tx, "INSERT INTO kv (k, v) VALUES (?, 1)", &st) != 0 ||
                orchard_stmt_bind_int(st, 1, k) != 0 || orchard_stmt_step(st) != 0)
                _exit(3);
            else
                orchard_stmt_finish(st);
        if (write(up[1], "W", 1) != 1)
            _exit(4);
        for (;;)
            pause();
    }
    close(up[1]);
    CU_ASSERT_EQUAL(read(up[0], &c, 1), 1);
    close(up[0]);
    if (open_target(f->target) != 0) { /* never leave the child waiting */
        CU_FAIL("cannot open the store beside the child");
        kill(pid, SIGKILL);
        wait_child(pid);
        return;
    }

    /* A writer queues behind the child, which then dies mid-transaction. */
    waiting_writer w = {0};
    GThread *t = g_thread_new("waiting-writer", wait_for_writer, &w);
    g_usleep(300 * 1000);
    int64_t killed_at = now_ms();
    kill(pid, SIGKILL);
    int status = wait_child(pid);
    g_thread_join(t);
    CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CU_ASSERT_EQUAL(w.rc, 0);
    CU_ASSERT(w.got_at >= killed_at && w.got_at - killed_at < 8000);
    CU_ASSERT_EQUAL(w.rows, 0);
    /* And the store goes on as usual. */
    CU_ASSERT_EQUAL(write_sql("INSERT INTO kv (k, v) VALUES (1, 2)", 0, 0, 0), 0);
    CU_ASSERT_EQUAL(read_int("SELECT sum(v) FROM kv", 0, 0), 2);
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

void store_process_suite(void)
{
    ORCHARD_ADD_SUITE("store_process", NULL, NULL,
        {"test_store__migrate_concurrent_processes", test_store__migrate_concurrent_processes},
        {"test_store__migrate_concurrent_fresh", test_store__migrate_concurrent_fresh},
        {"test_store__busy_from_other_process", test_store__busy_from_other_process},
        {"test_store__writers_serialised_across_processes",
         test_store__writers_serialised_across_processes},
        {"test_store__kill9_keeps_commits", test_store__kill9_keeps_commits},
        {"test_store__kill9_mid_transaction", test_store__kill9_mid_transaction},
        {"test_store__not_a_database", test_store__not_a_database},
        {"test_store__corrupt_pages", test_store__corrupt_pages},
        {"test_store__missing_directory", test_store__missing_directory},
        {"test_store__file_mode_0600", test_store__file_mode_0600});
}
