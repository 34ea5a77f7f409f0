/* query_cmd: what `orchard query` must not do, tried on the real binary (and
 * the store's read-only mode in process): create or migrate a store, attach
 * another database file, run past its --timeout; and the warning for a
 * --nudge_json file that is not there. */
#include "host/store/store.h"
#include "tests/suites.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

/* ---- helpers ------------------------------------------------------------------ */

/* Run the orchard binary with `args` (NULL-terminated); the exit status, or -1. */
static int run_query(const char *const *args, char **out, char **err)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)ORCHARD_BIN);
    for (size_t i = 0; args[i]; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);
    int status = 0, rc = -1;
    g_autofree char *out_ignored = NULL, *err_ignored = NULL;
    if (g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                     out ? out : &out_ignored, err ? err : &err_ignored, &status, NULL) &&
        WIFEXITED(status))
        rc = WEXITSTATUS(status);
    g_ptr_array_free(argv, TRUE);
    return rc;
}

#define QUERY(out, err, ...) run_query((const char *const[]){__VA_ARGS__, NULL}, out, err)

/* 1 when `needle` is in `hay`; says what was missing otherwise. */
static int contains(const char *hay, const char *needle)
{
    if (hay && strstr(hay, needle))
        return 1;
    fprintf(stderr, "\n  expected \"%s\" in:\n%s\n", needle, hay ? hay : "(null)");
    return 0;
}

/* A temporary folder with a config naming store `db_name` in it. */
typedef struct {
    char *dir;
    char *config;
    char *db;
} qfx;

static void qfx_init(qfx *f, const char *db_name)
{
    f->dir = g_dir_make_tmp("orchard-query-XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->dir);
    f->db = g_build_filename(f->dir, db_name, NULL);
    f->config = g_build_filename(f->dir, "orchard.yml", NULL);
    g_autofree char *yaml = g_strdup_printf("store:\n  sqlite: %s\n", f->db);
    CU_ASSERT_FATAL(g_file_set_contents(f->config, yaml, -1, NULL));
}

static void qfx_clear(qfx *f)
{
    GDir *d = g_dir_open(f->dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *p = g_build_filename(f->dir, name, NULL);
        g_unlink(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(f->dir);
    g_free(f->dir);
    g_free(f->config);
    g_free(f->db);
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folder's file names, sorted, one per line. g_free. */
static char *listing(const char *dir)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d)) != NULL)
        g_ptr_array_add(names, g_strdup(name));
    if (d)
        g_dir_close(d);
    g_ptr_array_sort(names, cmp_names);
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < names->len; i++)
        g_string_append_printf(s, "%s\n", (char *)names->pdata[i]);
    return g_string_free(s, FALSE);
}

/* SHA-256 of a file, "" when unreadable. g_free. */
static char *file_sum(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &data, &len, NULL))
        return g_strdup("");
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
}

/* A WAL database at `path` made with SQLite directly (`sql` run in it), closed
 * so that no -wal or -shm file is left. */
static void make_db(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    CU_ASSERT_FATAL(sqlite3_open(path, &db) == SQLITE_OK);
    CU_ASSERT(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) == SQLITE_OK);
    if (sql)
        CU_ASSERT(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
}

/* How many rows `sql` returns from the existing database at `path` (-1:
 * failed). Not SQLITE_OPEN_READONLY: such a connection leaves the -wal and
 * -shm files behind. */
static int count_rows(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK)
        for (n = 0; sqlite3_step(st) == SQLITE_ROW; n++)
            ;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* ---- the store: never created, never migrated --------------------------------- */

static void test_no_store_is_not_created(void)
{
    qfx f;
    qfx_init(&f, "orchard.db");
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(QUERY(&out, &err, "query", "--config", f.config,
                          "select * from scep_certificates"),
                    1);
    g_autofree char *expect = g_strdup_printf("there is no store at %s yet", f.db);
    CU_ASSERT(contains(err, expect));
    CU_ASSERT(contains(err, "scep_certificates"));
    CU_ASSERT_FALSE(g_file_test(f.db, G_FILE_TEST_EXISTS));
    g_autofree char *files = listing(f.dir);
    CU_ASSERT_STRING_EQUAL(files, "orchard.yml\n");

    /* An empty file is no store either, and stays empty. */
    CU_ASSERT_FATAL(g_file_set_contents(f.db, "", 0, NULL));
    g_autofree char *err2 = NULL;
    CU_ASSERT_EQUAL(QUERY(NULL, &err2, "query", "--config", f.config,
                          "select * from scep_certificates"),
                    1);
    CU_ASSERT(contains(err2, expect));
    g_autofree char *sum = file_sum(f.db);
    g_autofree char *empty = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
                                                         (const guchar *)"", 0);
    CU_ASSERT_STRING_EQUAL(sum, empty);

    /* A file that is no database says so. */
    CU_ASSERT_FATAL(g_file_set_contents(f.db, "not a database at all\n", -1, NULL));
    g_autofree char *err3 = NULL;
    CU_ASSERT_EQUAL(QUERY(NULL, &err3, "query", "--config", f.config,
                          "select * from scep_certificates"),
                    1);
    CU_ASSERT(contains(err3, "not a database"));
    qfx_clear(&f);
}

static void test_store_is_not_migrated(void)
{
    qfx f;
    qfx_init(&f, "orchard.db");
    make_db(f.db, "CREATE TABLE other (x); INSERT INTO other VALUES (1)");
    g_autofree char *before = file_sum(f.db);
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(QUERY(NULL, &err, "query", "--config", f.config,
                          "select * from scep_certificates"),
                    1);
    CU_ASSERT(contains(err, "does not have orchard-server's tables yet"));
    CU_ASSERT(contains(err, f.db));
    g_autofree char *after = file_sum(f.db);
    CU_ASSERT_STRING_EQUAL(before, after);
    CU_ASSERT_EQUAL(count_rows(f.db, "SELECT name FROM sqlite_master WHERE name = "
                                     "'orchard_migrations'"),
                    0);
    g_autofree char *files = listing(f.dir);
    CU_ASSERT_STRING_EQUAL(files, "orchard.db\norchard.yml\n");
    qfx_clear(&f);
}

static void test_migrated_store_is_read(void)
{
    qfx f;
    qfx_init(&f, "orchard.db");
    /* A store the server set up: enroll-token create migrates it. */
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(QUERY(&out, &err, "enroll-token", "create", "--config", f.config), 0);
    make_db(f.db, NULL); /* checkpoint and close: no -wal or -shm left */
    g_autofree char *files = listing(f.dir);
    CU_ASSERT_STRING_EQUAL(files, "orchard.db\norchard.yml\n");

    g_autofree char *out2 = NULL, *err2 = NULL;
    CU_ASSERT_EQUAL(QUERY(&out2, &err2, "query", "--json", "--config", f.config,
                          "select count(*) as n from scep_certificates"),
                    0);
    CU_ASSERT(contains(out2, "\"n\": 0"));
    /* The readers' -wal and -shm files go away with them. */
    g_autofree char *files2 = listing(f.dir);
    CU_ASSERT_STRING_EQUAL(files2, files);
    qfx_clear(&f);
}

/* The store's read-only mode through its own API, in this process. */
static void test_read_only_api(void)
{
    qfx f;
    qfx_init(&f, "ro.db");
    g_autofree char *missing = g_build_filename(f.dir, "missing.db", NULL);
    g_autofree char *msg = NULL, *msg2 = NULL;
    orchard_store_tx *tx = NULL;
    static const char *const schema[] = {"CREATE TABLE t (x INTEGER)"};

    /* Set up the store read-write first, with owner "ro-test" at version 1. */
    CU_ASSERT_EQUAL_FATAL(orchard_store_open(f.db, &msg), 0);
    CU_ASSERT_EQUAL(orchard_store_migrate("ro-test", schema, 1), 0);
    orchard_store_close();
    make_db(f.db, NULL);
    g_autofree char *before = file_sum(f.db);

    orchard_store_set_read_only(1);
    CU_ASSERT_TRUE(orchard_store_is_read_only());
    CU_ASSERT_EQUAL(orchard_store_open(missing, &msg2), ORCHARD_ENOTFOUND);
    CU_ASSERT(contains(msg2, "there is no store at"));
    CU_ASSERT_FALSE(g_file_test(missing, G_FILE_TEST_EXISTS));

    CU_ASSERT_EQUAL_FATAL(orchard_store_open(f.db, &msg), 0);
    g_autofree char *target = orchard_store_target();
    CU_ASSERT_STRING_EQUAL(target, f.db);
    CU_ASSERT_EQUAL(orchard_store_begin(&tx, 1), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(tx);
    CU_ASSERT_EQUAL(orchard_store_begin(&tx, 0), 0);
    orchard_store_rollback(tx);
    /* Applied migrations pass; a missing one is reported, not run. */
    CU_ASSERT_EQUAL(orchard_store_migrate("ro-test", schema, 1), 0);
    static const char *const more[] = {"CREATE TABLE t (x INTEGER)", "CREATE TABLE u (y)"};
    CU_ASSERT_EQUAL(orchard_store_migrate("ro-test", more, 2), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_store_migrate("ro-other", schema, 1), ORCHARD_ENOTFOUND);
    orchard_store_close();
    orchard_store_set_read_only(0);
    CU_ASSERT_FALSE(orchard_store_is_read_only());
    g_autofree char *after = file_sum(f.db);
    CU_ASSERT_STRING_EQUAL(before, after);
    CU_ASSERT_EQUAL(count_rows(f.db, "SELECT name FROM sqlite_master WHERE name = 'u'"), 0);
    g_free(msg);
    qfx_clear(&f);
}

/* ---- no other database file ----------------------------------------------------- */

static void test_attach_refused(void)
{
    qfx f;
    qfx_init(&f, "unused.db");
    g_autofree char *attached = g_build_filename(f.dir, "attached.db", NULL);
    g_autofree char *vacuumed = g_build_filename(f.dir, "vacuumed.db", NULL);
    g_autofree char *attach = g_strdup_printf("attach database '%s' as a", attached);
    g_autofree char *sneaky = g_strdup_printf("select 1;\n  AtTaCh '%s' AS b; select 2", attached);
    g_autofree char *vacuum = g_strdup_printf("vacuum into '%s'", vacuumed);
    const char *const cases[][2] = {
        {attach, "ATTACH is not allowed"},
        {sneaky, "ATTACH is not allowed"},
        {vacuum, "ATTACH is not allowed"},
        {"detach database main", "DETACH is not allowed"},
        {"detach a", "DETACH is not allowed"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *err = NULL;
        int rc = QUERY(NULL, &err, "query", cases[i][0]);
        CU_ASSERT_EQUAL(rc, 1);
        CU_ASSERT(contains(err, cases[i][1]));
        if (rc != 1)
            fprintf(stderr, "\n  attach case %zu: exit %d\n", i, rc);
    }
    CU_ASSERT_FALSE(g_file_test(attached, G_FILE_TEST_EXISTS));
    CU_ASSERT_FALSE(g_file_test(vacuumed, G_FILE_TEST_EXISTS));
    /* Everything else still runs. */
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(QUERY(&out, NULL, "query", "--json", "select 40 + 2 as answer"), 0);
    CU_ASSERT(contains(out, "\"answer\": 42"));
    qfx_clear(&f);
}

/* ---- --timeout ------------------------------------------------------------------ */

#define ENDLESS "with recursive c(x) as (select 1 union all select x + 1 from c) " \
                "select count(*) from c"

static void test_timeout(void)
{
    g_autofree char *err = NULL, *err2 = NULL;
    gint64 t0 = g_get_monotonic_time();
    CU_ASSERT_EQUAL(QUERY(NULL, &err, "query", "--timeout", "1", ENDLESS), 1);
    gint64 ms = (g_get_monotonic_time() - t0) / 1000;
    CU_ASSERT(ms >= 900 && ms < 10000);
    CU_ASSERT(contains(err, "ran past --timeout 1 s"));
    CU_ASSERT_EQUAL(QUERY(NULL, &err2, "query", "--json", "--timeout=1", ENDLESS), 1);
    CU_ASSERT(contains(err2, "--timeout 1 s"));

    /* A query within its limit is not disturbed. */
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(QUERY(&out, NULL, "query", "--timeout", "5", "--json",
                          "with recursive c(x) as (select 1 union all select x + 1 from c "
                          "where x < 100000) select count(*) as n from c"),
                    0);
    CU_ASSERT(contains(out, "\"n\": 100000"));

    static const char *const bad[] = {"x", "-1", "1.5", "86401", ""};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *e = NULL;
        CU_ASSERT_EQUAL(QUERY(NULL, &e, "query", "--timeout", bad[i], "select 1"), 2);
        CU_ASSERT(contains(e, "--timeout takes whole seconds"));
    }
    g_autofree char *e2 = NULL;
    CU_ASSERT_EQUAL(QUERY(NULL, &e2, "query", "select 1", "--timeout"), 2);
}

/* ---- --nudge_json ---------------------------------------------------------------- */

static void test_nudge_json_missing_warns(void)
{
    qfx f;
    qfx_init(&f, "unused.db");
    g_autofree char *missing = g_build_filename(f.dir, "nudge.json", NULL);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(QUERY(&out, &err, "query", "--nudge_json", missing, "select 1 as one"), 0);
    CU_ASSERT(contains(err, "warning: --nudge_json"));
    CU_ASSERT(contains(err, missing));
    CU_ASSERT(contains(err, "no such file"));
    CU_ASSERT(contains(out, "one"));

    /* A file that is there: no warning. */
    CU_ASSERT_FATAL(g_file_set_contents(missing, "{}", -1, NULL));
    g_autofree char *err2 = NULL;
    CU_ASSERT_EQUAL(QUERY(NULL, &err2, "query", "--nudge_json", missing, "select 1"), 0);
    CU_ASSERT(err2 && !strstr(err2, "warning"));
    qfx_clear(&f);
}

void query_cmd_suite(void)
{
    ORCHARD_ADD_SUITE("query_cmd", NULL, NULL,
                      {"no_store_is_not_created", test_no_store_is_not_created},
                      {"store_is_not_migrated", test_store_is_not_migrated},
                      {"migrated_store_is_read", test_migrated_store_is_read},
                      {"read_only_api", test_read_only_api},
                      {"attach_refused", test_attach_refused},
                      {"timeout", test_timeout},
                      {"nudge_json_missing_warns", test_nudge_json_missing_warns});
}
