/* Job run records (host/jobs/): what the jobs table shows, records written
 * to a temporary SQLite store and read back (also as another process would,
 * with the plugin gone), a store that fails, `orchard serve` starting and
 * stopping the scheduler, and `orchard job run` through the built binary.
 * The jobs come from tests/fixtures/plugins/jobs_plugin.c, a real .so. */
#include "tests/suites.h"
#include "tests/host/http_fixture.h"

#include "host/commands.h"
#include "host/config.h"
#include "host/http/http_api.h"
#include "host/jobs/job_record.h"
#include "host/jobs/jobs.h"
#include "host/log.h"
#include "host/plugins/registry.h"
#include "host/query/rows.h"
#include "host/store/store.h"
#include "jobs.gen.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <gmodule.h>
#include <jansson.h>
#include <string.h>
#include <sys/wait.h>

#define MODULE_PATH BUILD_DIR "/modules/orchard_http.so"
#define WAIT_MS 10000

/* Poll `cond` every 10 ms for at most `ms`; true when it held. */
#define WAIT_FOR(cond, ms)                                                          \
    ({                                                                              \
        gint64 until_ = g_get_monotonic_time() + (gint64)(ms) * 1000;               \
        while (!(cond) && g_get_monotonic_time() < until_)                          \
            g_usleep(10 * 1000);                                                    \
        (cond) ? 1 : 0;                                                             \
    })

static orchard_registry *reg;
static orchard_registry *saved_global;
static int saved_level;
static char *dir;                              /* this test's temporary directory */
static GModule *fixture;                       /* JOBS_PLUGIN, for its counters */
static unsigned (*fixture_runs)(const char *job);

static void config(const char *key, const char *value)
{
    orchard_config_set(orchard_config_global(), key, value);
}

/* A registry with the core plugin (the jobs table) and, when `with_fixture`,
 * the fixture plugin; the global one until teardown. */
static int setup(int with_fixture)
{
    char *err = NULL;
    reg = orchard_registry_new();
    int rc = orchard_registry_add_builtin(reg, orchard_core_plugin_entry, &err);
    if (rc == 0 && with_fixture)
        rc = orchard_registry_load(reg, JOBS_PLUGIN, &err);
    if (rc)
        fprintf(stderr, "\n  setup: %s\n", err);
    g_free(err);
    orchard_registry_set_global(reg);
    return rc;
}

static void teardown(void)
{
    orchard_registry_free(reg);
    reg = NULL;
    orchard_registry_set_global(saved_global);
}

/* A fresh temporary directory whose store.db is the configured store. */
static void store_in_dir(void)
{
    dir = g_dir_make_tmp("orchard-jobs-XXXXXX", NULL);
    g_autofree char *db = g_build_filename(dir, "store.db", NULL);
    config(orchard_test_store_key(), orchard_test_store(db));
}

static void remove_dir(void)
{
    orchard_store_close();
    config(orchard_test_store_key(), NULL);
    GDir *d = dir ? g_dir_open(dir, 0, NULL) : NULL;
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_unlink(path);
    }
    if (d)
        g_dir_close(d);
    if (dir)
        CU_ASSERT_EQUAL(g_rmdir(dir), 0);
    g_clear_pointer(&dir, g_free);
}

static int suite_init(void)
{
    saved_global = orchard_registry_global();
    saved_level = orchard_log_get_level();
    orchard_log_set_level(-1); /* failing runs and stores are logged on purpose */
    fixture = g_module_open(JOBS_PLUGIN, G_MODULE_BIND_LOCAL);
    if (!fixture || !g_module_symbol(fixture, "jobs_fixture_runs", (gpointer *)&fixture_runs)) {
        fprintf(stderr, "\n  cannot open %s: %s\n", JOBS_PLUGIN, g_module_error());
        return 1;
    }
    return 0;
}

static int suite_cleanup(void)
{
    if (fixture)
        g_module_close(fixture);
    orchard_log_set_level(saved_level);
    return 0;
}

/* ---- the table */

/* The jobs table's rows, through the same call a query makes. */
static orchard_rows *jobs_rows(void)
{
    orchard_rows *rows = NULL;
    int rc = orchard_table_generate(&orchard_table_jobs, NULL, &rows);
    CU_ASSERT_EQUAL(rc, 0);
    return rows;
}

/* Row of job `name`, or NULL. */
static const char *const *row_of(const orchard_rows *rows, const char *name)
{
    for (size_t i = 0; i < orchard_rows_count(rows); i++) {
        const char *const *r = orchard_rows_get(rows, i);
        if (strcmp(r[JOBS_COL_NAME], name) == 0)
            return r;
    }
    return NULL;
}

static int is(const char *got, const char *want)
{
    if (got && want ? strcmp(got, want) == 0 : got == want)
        return 1;
    fprintf(stderr, "\n  got '%s', expected '%s'\n", got ? got : "NULL", want ? want : "NULL");
    return 0;
}

static void test_job_records__table_shows_runs(void)
{
    char *outcome = NULL;
    CU_ASSERT_FATAL(setup(1) == 0);
    CU_ASSERT_EQUAL(orchard_jobs_run_now("fixture.ok", &outcome, NULL), 0);
    g_free(outcome);
    CU_ASSERT_EQUAL(orchard_jobs_run_now("fixture.fail", &outcome, NULL), ORCHARD_EIO);
    g_free(outcome);
    orchard_rows *rows = jobs_rows();
    CU_ASSERT_EQUAL(orchard_rows_count(rows), 4);
    const char *const *ok = row_of(rows, "fixture.ok");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ok);
    CU_ASSERT(is(ok[JOBS_COL_PLUGIN], "jobs-fixture"));
    CU_ASSERT(is(ok[JOBS_COL_INTERVAL_SECONDS], "3600"));
    CU_ASSERT(is(ok[JOBS_COL_LAST_OUTCOME], "ok"));
    CU_ASSERT(is(ok[JOBS_COL_RUNS], "1"));
    CU_ASSERT_PTR_NOT_NULL(ok[JOBS_COL_LAST_START]);
    CU_ASSERT_PTR_NOT_NULL(ok[JOBS_COL_LAST_DURATION_MS]);
    CU_ASSERT(is(ok[JOBS_COL_NEXT_RUN], NULL)); /* no scheduler in this process */
    const char *const *fail = row_of(rows, "fixture.fail");
    CU_ASSERT(fail && is(fail[JOBS_COL_LAST_OUTCOME], "failed: boom from the fixture"));
    const char *const *slow = row_of(rows, "fixture.slow");
    CU_ASSERT(slow && is(slow[JOBS_COL_RUNS], "0") && is(slow[JOBS_COL_LAST_START], NULL) &&
              is(slow[JOBS_COL_LAST_OUTCOME], NULL));
    orchard_rows_free(rows);
    teardown();
}

/* ---- the store */

static const orchard_job_record *find(GPtrArray *recs, const char *name)
{
    for (guint i = 0; i < recs->len; i++) {
        const orchard_job_record *r = g_ptr_array_index(recs, i);
        if (strcmp(r->name, name) == 0)
            return r;
    }
    return NULL;
}

static void test_job_records__persisted_in_the_store(void)
{
    char *outcome = NULL;
    store_in_dir();
    CU_ASSERT_FATAL(setup(1) == 0);
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(orchard_jobs_run_now("fixture.ok", &outcome, NULL), 0);
        g_free(outcome);
    }
    CU_ASSERT_EQUAL(orchard_jobs_run_now("fixture.fail", &outcome, NULL), ORCHARD_EIO);
    g_free(outcome);
    orchard_store_close(); /* read back from the file, not a connection's cache */
    g_autoptr(GPtrArray) recs = NULL;
    CU_ASSERT_EQUAL(orchard_job_store_read(&recs), 0);
    const orchard_job_record *ok = find(recs, "fixture.ok");
    CU_ASSERT(ok && ok->runs == 2 && is(ok->last_outcome, "ok") && is(ok->plugin, "jobs-fixture"));
    CU_ASSERT(ok && ok->last_start > 0 && ok->last_duration_ms >= 0 && ok->interval_seconds == 3600);
    const orchard_job_record *fail = find(recs, "fixture.fail");
    CU_ASSERT(fail && fail->runs == 1 && is(fail->last_outcome, "failed: boom from the fixture"));
    CU_ASSERT_PTR_NULL(find(recs, "fixture.slow")); /* never ran, no scheduler wrote it */

    /* The scheduler writes each job's schedule at start. */
    unsigned before = fixture_runs("fixture.ok");
    CU_ASSERT_EQUAL(orchard_jobs_start(), 0);
    CU_ASSERT(WAIT_FOR(fixture_runs("fixture.ok") > before &&
                       orchard_jobs_state("fixture.ok") == 0, WAIT_MS));
    orchard_jobs_stop();
    teardown();

    /* With the plugin gone, as in another process: the store's rows only. */
    CU_ASSERT_FATAL(setup(0) == 0);
    orchard_rows *rows = jobs_rows();
    CU_ASSERT_EQUAL(orchard_rows_count(rows), 4);
    const char *const *r = row_of(rows, "fixture.ok");
    CU_ASSERT(r && is(r[JOBS_COL_RUNS], "3") && is(r[JOBS_COL_PLUGIN], "jobs-fixture"));
    CU_ASSERT(r && r[JOBS_COL_NEXT_RUN] &&
              g_ascii_strtoll(r[JOBS_COL_NEXT_RUN], NULL, 10) > g_get_real_time() / G_USEC_PER_SEC);
    r = row_of(rows, "fixture.slow");
    CU_ASSERT(r && is(r[JOBS_COL_RUNS], "0") && is(r[JOBS_COL_NEXT_RUN], NULL));
    orchard_rows_free(rows);
    teardown();
    remove_dir();
}

static void test_job_records__a_failing_store_is_not_fatal(void)
{
    char *outcome = NULL;
    dir = g_dir_make_tmp("orchard-jobs-XXXXXX", NULL);
    g_autofree char *db = g_build_filename(dir, "no-such-dir", "store.db", NULL);
    /* PostgreSQL: a server that is not there. */
    config(orchard_test_store_key(),
           strcmp(orchard_test_store_key(), "store.sqlite") ? orchard_test_store_unreachable() : db);
    CU_ASSERT_FATAL(setup(1) == 0);
    for (int i = 0; i < 2; i++) { /* the second failure to record is quieter */
        CU_ASSERT_EQUAL(orchard_jobs_run_now("fixture.ok", &outcome, NULL), 0);
        CU_ASSERT(is(outcome, "ok"));
        g_free(outcome);
    }
    orchard_rows *rows = jobs_rows();
    const char *const *r = row_of(rows, "fixture.ok");
    CU_ASSERT(r && is(r[JOBS_COL_RUNS], "2") && is(r[JOBS_COL_LAST_OUTCOME], "ok"));
    orchard_rows_free(rows);
    CU_ASSERT_FALSE(g_file_test(db, G_FILE_TEST_EXISTS));
    teardown();
    remove_dir();
}

static void test_job_records__v1_job_of_a_plugin_runs(void)
{
    char *outcome = NULL;
    CU_ASSERT_FATAL(setup(1) == 0);
    unsigned before = fixture_runs("fixture.v1");
    CU_ASSERT_EQUAL(orchard_jobs_run_now("fixture.v1", &outcome, NULL), 0);
    CU_ASSERT(is(outcome, "ok"));
    g_free(outcome);
    CU_ASSERT_EQUAL(fixture_runs("fixture.v1"), before + 1);
    CU_ASSERT_EQUAL(orchard_jobs_queue(NULL, "fixture.v1"), 0);
    CU_ASSERT_EQUAL(orchard_jobs_start(), 0);
    CU_ASSERT(WAIT_FOR(fixture_runs("fixture.v1") == before + 2, WAIT_MS));
    orchard_jobs_stop();
    teardown();
}

/* ---- orchard serve */

static void test_job_records__serve_runs_the_scheduler(void)
{
    store_in_dir();
    config("http_module", MODULE_PATH);
    config("server.address", "127.0.0.1:0");
    CU_ASSERT_FATAL(setup(1) == 0);
    unsigned before = fixture_runs("fixture.ok");
    http_server *s = http_server_start();
    CU_ASSERT_PTR_NOT_NULL(s->url);
    /* fixture.ok is due at once: serve's scheduler runs it. */
    CU_ASSERT(WAIT_FOR(fixture_runs("fixture.ok") > before &&
                       orchard_jobs_state("fixture.ok") == 0, WAIT_MS));
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
    CU_ASSERT_EQUAL(orchard_jobs_start(), 0); /* serve stopped its scheduler */
    orchard_jobs_stop();
    /* The run went to the store before serve closed it. */
    g_autoptr(GPtrArray) recs = NULL;
    CU_ASSERT_EQUAL(orchard_job_store_read(&recs), 0);
    const orchard_job_record *ok = find(recs, "fixture.ok");
    CU_ASSERT(ok && ok->runs >= 1 && is(ok->last_outcome, "ok"));
    teardown();
    config("http_module", NULL);
    config("server.address", NULL);
    remove_dir();
}

/* ---- orchard job run, and orchard query in another process */

/* Run the orchard binary with --config F and the fixture plugin (when
 * `plugin`); returns its exit status, or -1. */
static int run_orchard(const char *config_file, int plugin, const char *const *args, char **out,
                       char **err)
{
    GPtrArray *argv = g_ptr_array_new();
    GError *error = NULL;
    int status = 0;

    g_ptr_array_add(argv, ORCHARD_BIN);
    g_ptr_array_add(argv, "--config");
    g_ptr_array_add(argv, (gpointer)config_file);
    if (plugin) {
        g_ptr_array_add(argv, "--plugin");
        g_ptr_array_add(argv, JOBS_PLUGIN);
    }
    for (; *args; args++)
        g_ptr_array_add(argv, (gpointer)*args);
    g_ptr_array_add(argv, NULL);
    gboolean ran = g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                out, err, &status, &error);
    g_ptr_array_unref(argv);
    if (!ran) {
        fprintf(stderr, "\n  spawn %s: %s\n", ORCHARD_BIN, error->message);
        g_clear_error(&error);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* `job run NAME`: its exit status; *err (g_free) its stderr, *out stdout. */
static int job_run(const char *config_file, const char *name, char **out, char **err)
{
    const char *args[] = {"job", "run", name, NULL};
    return run_orchard(config_file, 1, args, out, err);
}

static int contains(const char *text, const char *needle)
{
    if (text && strstr(text, needle))
        return 1;
    fprintf(stderr, "\n  '%s' lacks '%s'\n", text ? text : "(null)", needle);
    return 0;
}

/* Column `key` of the row named `name` as text (an integer printed into a
 * static buffer), or NULL. */
static const char *member(json_t *rows, const char *name, const char *key)
{
    static char num[32];
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        if (g_strcmp0(json_string_value(json_object_get(row, "name")), name) != 0)
            continue;
        json_t *v = json_object_get(row, key);
        if (!json_is_integer(v))
            return json_string_value(v);
        g_snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return num;
    }
    return NULL;
}

static void test_job_records__job_run_command(void)
{
    char *out = NULL, *err = NULL;
    dir = g_dir_make_tmp("orchard-jobs-XXXXXX", NULL);
    g_autofree char *cfg = g_build_filename(dir, "orchard.yml", NULL);
    g_autofree char *db = g_build_filename(dir, "store.db", NULL);
    g_autofree char *yaml = g_strdup_printf("store:\n  %s: %s\n", orchard_test_store_key() + 6,
                                            orchard_test_store(db));
    CU_ASSERT_FATAL(g_file_set_contents(cfg, yaml, -1, NULL));

    /* A query before any run creates no store. */
    const char *query[] = {"query", "--json", "select name, plugin, runs, last_outcome from jobs",
                           NULL};
    run_orchard(cfg, 0, query, &out, &err);
    CU_ASSERT_FALSE(g_file_test(db, G_FILE_TEST_EXISTS));
    g_free(out), g_free(err);

    CU_ASSERT_EQUAL(job_run(cfg, "fixture.ok", &out, &err), 0);
    CU_ASSERT(contains(out, "fixture.ok: ok"));
    g_free(out), g_free(err);
    CU_ASSERT_EQUAL(job_run(cfg, "fixture.fail", &out, &err), 1);
    CU_ASSERT(contains(err, "orchard job run: fixture.fail: failed: boom from the fixture"));
    g_free(out), g_free(err);
    CU_ASSERT_EQUAL(job_run(cfg, "fixture.slow", &out, &err), 1);
    CU_ASSERT(contains(err, "fixture.slow: timeout"));
    g_free(out), g_free(err);
    CU_ASSERT_EQUAL(job_run(cfg, "fixture.v1", &out, &err), 0);
    g_free(out), g_free(err);
    CU_ASSERT_EQUAL(job_run(cfg, "fixture.nope", &out, &err), 2);
    CU_ASSERT(contains(err, "no job named 'fixture.nope'") && contains(err, "fixture.ok"));
    g_free(out), g_free(err);

    /* Another process, without the plugin, sees every run in the store. */
    CU_ASSERT_EQUAL(run_orchard(cfg, 0, query, &out, &err), 0);
    json_t *rows = json_loads(out ? out : "", 0, NULL);
    CU_ASSERT_FATAL(json_is_array(rows));
    /* The installed plugins' jobs may be there too: count the fixture's. */
    size_t fixture_rows = 0;
    for (size_t i = 0; i < json_array_size(rows); i++)
        fixture_rows += g_str_has_prefix(
            json_string_value(json_object_get(json_array_get(rows, i), "name")), "fixture.");
    CU_ASSERT_EQUAL(fixture_rows, 4);
    CU_ASSERT(is(member(rows, "fixture.ok", "last_outcome"), "ok"));
    CU_ASSERT(is(member(rows, "fixture.ok", "runs"), "1"));
    CU_ASSERT(is(member(rows, "fixture.ok", "plugin"), "jobs-fixture"));
    CU_ASSERT(is(member(rows, "fixture.fail", "last_outcome"), "failed: boom from the fixture"));
    CU_ASSERT(is(member(rows, "fixture.slow", "last_outcome"), "timeout"));
    CU_ASSERT(is(member(rows, "fixture.v1", "last_outcome"), "ok"));
    json_decref(rows);
    g_free(out), g_free(err);
    remove_dir();
}

void job_records_suite(void)
{
    ORCHARD_ADD_SUITE("job_records", suite_init, suite_cleanup,
                      {"test_job_records__table_shows_runs", test_job_records__table_shows_runs},
                      {"test_job_records__persisted_in_the_store",
                       test_job_records__persisted_in_the_store},
                      {"test_job_records__a_failing_store_is_not_fatal",
                       test_job_records__a_failing_store_is_not_fatal},
                      {"test_job_records__v1_job_of_a_plugin_runs",
                       test_job_records__v1_job_of_a_plugin_runs},
                      {"test_job_records__serve_runs_the_scheduler",
                       test_job_records__serve_runs_the_scheduler},
                      {"test_job_records__job_run_command", test_job_records__job_run_command});
}
