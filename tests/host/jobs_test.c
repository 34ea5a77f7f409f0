/* The job scheduler (host/jobs/): periodic runs, first-run delay, jitter,
 * queueing from other threads and its coalescing, one run at a time,
 * deadlines, stopping, the lease hook, recorded outcomes, 1.0 jobs. Jobs
 * run on the scheduler's threads, so they only record; assertions stay
 * here. Every wait is bounded. Records, the table, the store, serve and
 * `orchard job run` are in job_records_test.c. */
#include "tests/suites.h"

#include "host/commands.h"
#include "host/jobs/job_record.h"
#include "host/jobs/jobs.h"
#include "host/log.h"
#include "host/plugins/plugin_ctx.h"
#include "host/plugins/registry.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <stdatomic.h>
#include <string.h>

#define N_JOBS 3
#define MAX_STARTS 64
#define WAIT_MS 10000

/* Poll `cond` every 10 ms for at most `ms`; true when it held. */
#define WAIT_FOR(cond, ms)                                                          \
    ({                                                                              \
        gint64 until_ = g_get_monotonic_time() + (gint64)(ms) * 1000;               \
        while (!(cond) && g_get_monotonic_time() < until_)                          \
            g_usleep(10 * 1000);                                                    \
        (cond) ? 1 : 0;                                                             \
    })

/* ---- the test plugin: N_JOBS jobs whose behaviour each test picks */

enum mode {
    COUNT,         /* sleep sleep_ms, succeed */
    GATE,          /* wait until the test releases this run (ignores job_expired) */
    UNTIL_EXPIRED, /* step until job_expired, then after_ms more, then fail */
    FAIL           /* host->fail with a message */
};

typedef struct {
    enum mode mode;
    int sleep_ms, after_ms;
    atomic_int started, finished, inside, max_inside;
    atomic_int expired_at_start, saw_expired;
    int released;              /* GATE: runs allowed to finish (under lock[i]) */
    gint64 starts[MAX_STARTS]; /* monotonic microseconds (under lock[i]) */
} job_state;

static const orchard_host_api *host;
static orchard_job tj[N_JOBS];
static const orchard_job *tj_ptrs[N_JOBS];
static job_state st[N_JOBS];
/* Static, so never initialised or cleared; outside job_state, which each
 * test zeroes. */
static GMutex lock[N_JOBS];
static GCond cond[N_JOBS];
static orchard_plugin test_plugin;
static orchard_registry *reg;
static orchard_registry *saved_global;
static int saved_level;

static void sleep_ms(int ms) { g_usleep((gulong)ms * 1000); }

static void gate_wait(int i, int run)
{
    gint64 until = g_get_monotonic_time() + WAIT_MS * 1000;
    g_mutex_lock(&lock[i]);
    while (st[i].released < run && g_cond_wait_until(&cond[i], &lock[i], until))
        ;
    g_mutex_unlock(&lock[i]);
}

static void gate_release(int i)
{
    g_mutex_lock(&lock[i]);
    st[i].released++;
    g_cond_broadcast(&cond[i]);
    g_mutex_unlock(&lock[i]);
}

static int test_run(orchard_ctx *ctx, void *payload)
{
    job_state *s = payload;
    int i = (int)(s - st);
    int run = atomic_fetch_add(&s->started, 1) + 1;
    int inside = atomic_fetch_add(&s->inside, 1) + 1;
    int rc = 0;

    if (inside > atomic_load(&s->max_inside))
        atomic_store(&s->max_inside, inside);
    g_mutex_lock(&lock[i]);
    if (run <= MAX_STARTS)
        s->starts[run - 1] = g_get_monotonic_time();
    g_mutex_unlock(&lock[i]);
    atomic_store(&s->expired_at_start, host->job_expired(ctx));
    switch (s->mode) {
    case COUNT:
        sleep_ms(s->sleep_ms);
        break;
    case GATE:
        gate_wait(i, run);
        break;
    case UNTIL_EXPIRED:
        for (int waited = 0; waited < WAIT_MS && !host->job_expired(ctx); waited += 10)
            sleep_ms(10);
        atomic_store(&s->saw_expired, host->job_expired(ctx));
        sleep_ms(s->after_ms);
        rc = host->fail(ctx, ORCHARD_ETIMEOUT, "stopped stepping");
        break;
    case FAIL:
        rc = host->fail(ctx, ORCHARD_EIO, "boom %d", 7);
        break;
    }
    atomic_fetch_sub(&s->inside, 1);
    atomic_fetch_add(&s->finished, 1);
    return rc;
}

static int test_entry(const orchard_host_api *api, const orchard_plugin **out)
{
    host = api;
    *out = &test_plugin;
    return 0;
}

/* Job i: `name`, `mode`, every `interval` s; other 1.2 fields 0. */
static void job_init(int i, const char *name, enum mode mode, uint32_t interval)
{
    tj[i] = (orchard_job){ORCHARD_STRUCT_HEADER(orchard_job), .name = name,
                          .interval_seconds = interval, .run2 = test_run, .payload = &st[i]};
    st[i].mode = mode;
}

static void reset_states(void)
{
    memset(st, 0, sizeof st);
    for (int i = 0; i < N_JOBS; i++)
        tj_ptrs[i] = &tj[i];
}

/* A registry with the core plugin (the jobs table) and the test plugin's
 * first n jobs, as job_init left them; the global one until teardown. */
static int setup(size_t n)
{
    char *err = NULL;
    test_plugin = (orchard_plugin){ORCHARD_STRUCT_HEADER(orchard_plugin), .name = "jobs-test",
                                   .version = "1", .description = "d", .jobs = tj_ptrs,
                                   .n_jobs = n};
    reg = orchard_registry_new();
    int rc = orchard_registry_add_builtin(reg, orchard_core_plugin_entry, &err);
    if (rc == 0)
        rc = orchard_registry_add_builtin(reg, test_entry, &err);
    if (rc)
        fprintf(stderr, "\n  setup: %s\n", err);
    g_free(err);
    orchard_registry_set_global(reg);
    return rc;
}

static void teardown(void)
{
    orchard_registry_free(reg); /* clears the jobs: stops the scheduler */
    reg = NULL;
    orchard_registry_set_global(saved_global);
    orchard_jobs_set_stop_grace_ms(0);
}

static orchard_ctx *test_ctx(void) { return orchard_registry_ctx_of(reg, &tj[0]); }

/* The scheduler's record of job `name` (orchard_job_record_free), or NULL. */
static orchard_job_record *record_of(const char *name)
{
    g_autoptr(GPtrArray) recs = orchard_jobs_records();
    for (guint i = 0; i < recs->len; i++) {
        orchard_job_record *r = g_ptr_array_index(recs, i);
        if (strcmp(r->name, name) == 0)
            return g_ptr_array_steal_index(recs, i);
    }
    return NULL;
}

static int outcome_is(const char *name, const char *want)
{
    orchard_job_record *r = record_of(name);
    int ok = r && r->last_outcome && strcmp(r->last_outcome, want) == 0;
    if (!ok)
        fprintf(stderr, "\n  %s: outcome '%s', expected '%s'\n", name,
                r && r->last_outcome ? r->last_outcome : "(none)", want);
    orchard_job_record_free(r);
    return ok;
}

static int suite_init(void)
{
    saved_global = orchard_registry_global();
    saved_level = orchard_log_get_level();
    orchard_log_set_level(-1); /* failing and skipped runs are logged on purpose */
    return 0;
}

static int suite_cleanup(void)
{
    orchard_log_set_level(saved_level);
    return 0;
}

/* ---- scheduling */

static void test_jobs__periodic_runs_on_schedule(void)
{
    reset_states();
    job_init(0, "t.tick", COUNT, 1);
    CU_ASSERT_FATAL(setup(1) == 0);
    CU_ASSERT_EQUAL(orchard_jobs_start(), 0);
    CU_ASSERT_EQUAL(orchard_jobs_start(), ORCHARD_EEXIST);
    CU_ASSERT(WAIT_FOR(atomic_load(&st[0].finished) >= 3, WAIT_MS));
    orchard_jobs_stop();
    int runs = atomic_load(&st[0].finished);
    /* Never sooner than the interval (the scheduler may be later). */
    for (int i = 1; i < MIN(runs, MAX_STARTS); i++)
        CU_ASSERT(st[0].starts[i] - st[0].starts[i - 1] >= 990 * 1000);
    orchard_job_record *r = record_of("t.tick");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->runs, runs);
    CU_ASSERT_EQUAL(r->interval_seconds, 1);
    CU_ASSERT_STRING_EQUAL(r->plugin, "jobs-test");
    orchard_job_record_free(r);
    teardown();
}

static void test_jobs__first_run_delay(void)
{
    reset_states();
    job_init(0, "t.later", COUNT, 1);
    tj[0].first_run_seconds = 2;
    job_init(1, "t.queue_only", COUNT, 0);
    CU_ASSERT_FATAL(setup(2) == 0);
    gint64 t0 = g_get_monotonic_time();
    int64_t t0_unix = g_get_real_time() / G_USEC_PER_SEC;
    CU_ASSERT_EQUAL(orchard_jobs_start(), 0);
    orchard_job_record *r = record_of("t.later");
    CU_ASSERT(r && r->next_run >= t0_unix + 2 && r->next_run <= t0_unix + 4);
    orchard_job_record_free(r);
    r = record_of("t.queue_only");
    CU_ASSERT(r && r->next_run == -1);
    orchard_job_record_free(r);
    CU_ASSERT(WAIT_FOR(atomic_load(&st[0].finished) >= 1, WAIT_MS));
    CU_ASSERT(st[0].starts[0] - t0 >= 2 * G_USEC_PER_SEC);
    orchard_jobs_stop();
    CU_ASSERT_EQUAL(atomic_load(&st[1].started), 0); /* interval 0: only when queued */
    teardown();
}

static void test_jobs__jitter_adds_up_to_its_seconds(void)
{
    int64_t lo = G_MAXINT64, hi = 0;
    CU_ASSERT_EQUAL(orchard_jobs_wait_ms(0, 0), 0);
    CU_ASSERT_EQUAL(orchard_jobs_wait_ms(5, 0), 5000);
    for (int i = 0; i < 500; i++) {
        int64_t w = orchard_jobs_wait_ms(1, 2);
        lo = MIN(lo, w);
        hi = MAX(hi, w);
    }
    CU_ASSERT(lo >= 1000);
    CU_ASSERT(hi <= 3000);
    CU_ASSERT(hi > lo); /* 500 equal draws out of 2001 values: a broken random */
}

static gpointer queue_thread(gpointer name)
{
    return GINT_TO_POINTER(host->job_queue(test_ctx(), name));
}

static void test_jobs__queue_from_another_thread(void)
{
    reset_states();
    job_init(0, "t.on_demand", COUNT, 0);
    CU_ASSERT_FATAL(setup(1) == 0);
    CU_ASSERT_EQUAL(orchard_jobs_start(), 0);
    GThread *t = g_thread_new("queuer", queue_thread, (gpointer) "t.on_demand");
    CU_ASSERT_EQUAL(GPOINTER_TO_INT(g_thread_join(t)), 0);
    CU_ASSERT(WAIT_FOR(atomic_load(&st[0].finished) == 1 &&
                       orchard_jobs_state("t.on_demand") == 0, WAIT_MS));
    CU_ASSERT_EQUAL(host->job_queue(test_ctx(), "t.nope"), ORCHARD_ENOTFOUND);
    CU_ASSERT(outcome_is("t.on_demand", "ok"));
    orchard_jobs_stop();
    teardown();
}

static void test_jobs__queue_coalesces(void)
{
    reset_states();
    job_init(0, "t.gate", GATE, 0);
    CU_ASSERT_FATAL(setup(1) == 0);
    /* Twice before the scheduler runs: one run. */
    CU_ASSERT_EQUAL(orchard_jobs_queue(test_ctx(), "t.gate"), 0);
    CU_ASSERT_EQUAL(orchard_jobs_queue(test_ctx(), "t.gate"), 0);
    CU_ASSERT_EQUAL(orchard_jobs_state("t.gate"), ORCHARD_JOB_QUEUED);
    CU_ASSERT_EQUAL(orchard_jobs_start(), 0);
    CU_ASSERT(WAIT_FOR(atomic_load(&st[0].started) == 1, WAIT_MS));
    CU_ASSERT_EQUAL(orchard_jobs_state("t.gate"), ORCHARD_JOB_RUNNING);
    /* Three times while it runs: one more run after. */
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(orchard_jobs_queue(test_ctx(), "t.gate"), 0);
    CU_ASSERT_EQUAL(orchard_jobs_state("t.gate"), ORCHARD_JOB_RUNNING | ORCHARD_JOB_AGAIN);
    gate_release(0);
    CU_ASSERT(WAIT_FOR(atomic_load(&st[0].started) == 2, WAIT_MS));
    CU_ASSERT_EQUAL(orchard_jobs_state("t.gate"), ORCHARD_JOB_RUNNING);
    gate_release(0);
    CU_ASSERT(WAIT_FOR(orchard_jobs_state("t.gate") == 0, WAIT_MS));
    CU_ASSERT_EQUAL(atomic_load(&st[0].started), 2);
    orchard_jobs_stop();
    teardown();
}

static gpointer hammer_thread(gpointer unused)
{
    (void)unused;
    for (int i = 0; i < 40; i++) {
        host->job_queue(test_ctx(), "t.busy");
        sleep_ms(5);
    }
    return NULL;
}

static void test_jobs__never_two_runs_of_one_job(void)
{
    reset_states();
    job_init(0, "t.busy", COUNT, 1);
    st[0].sleep_ms = 50;
    CU_ASSERT_FATAL(setup(1) == 0);
    CU_ASSERT_EQUAL(orchard_jobs_start(), 0);
    GThread *a = g_thread_new("hammer-a", hammer_thread, NULL);
    GThread *b = g_thread_new("hammer-b", hammer_thread, NULL);
    g_thread_join(a);
    g_thread_join(b);
    orchard_jobs_stop();
    CU_ASSERT(atomic_load(&st[0].finished) >= 2);
    CU_ASSERT_EQUAL(atomic_load(&st[0].max_inside), 1);
    teardown();
}

/* ---- deadline and stop */

static void test_jobs__deadline_expires_the_run(void)
{
    reset_states();
    job_init(0, "t.long", UNTIL_EXPIRED, 0);
    tj[0].deadline_seconds = 1;
    CU_ASSERT_FATAL(setup(1) == 0);
    CU_ASSERT_EQUAL(host->job_expired(test_ctx()), 0); /* outside any run */
    CU_ASSERT_EQUAL(orchard_jobs_start(), 0);
    CU_ASSERT_EQUAL(orchard_jobs_queue(test_ctx(), "t.long"), 0);
    CU_ASSERT(WAIT_FOR(atomic_load(&st[0].finished) == 1 && orchard_jobs_state("t.long") == 0,
                       WAIT_MS));
    CU_ASSERT_EQUAL(atomic_load(&st[0].expired_at_start), 0);
    CU_ASSERT_EQUAL(atomic_load(&st[0].saw_expired), 1);
    CU_ASSERT(outcome_is("t.long", "timeout"));
    orchard_job_record *r = record_of("t.long");
    CU_ASSERT(r && r->last_duration_ms >= 1000 && r->runs == 1);
    orchard_job_record_free(r);
    orchard_jobs_stop();
    teardown();
}

static void test_jobs__stop_waits_for_the_run_in_flight(void)
{
    reset_states();
    job_init(0, "t.stepper", UNTIL_EXPIRED, 0);
    st[0].after_ms = 300; /* cleaning up after it saw the stop */
    job_init(1, "t.tick", COUNT, 1);
    CU_ASSERT_FATAL(setup(2) == 0);
    CU_ASSERT_EQUAL(orchard_jobs_start(), 0);
    CU_ASSERT_EQUAL(orchard_jobs_queue(test_ctx(), "t.stepper"), 0);
    CU_ASSERT(WAIT_FOR(atomic_load(&st[0].started) == 1, WAIT_MS));
    orchard_jobs_stop();
    CU_ASSERT_EQUAL(atomic_load(&st[0].finished), 1);
    CU_ASSERT_EQUAL(atomic_load(&st[0].saw_expired), 1);
    CU_ASSERT(outcome_is("t.stepper", "failed: stopped stepping"));
    /* Nothing starts after the stop, queued or due. */
    int ticks = atomic_load(&st[1].started);
    CU_ASSERT_EQUAL(orchard_jobs_queue(test_ctx(), "t.stepper"), 0);
    sleep_ms(1500);
    CU_ASSERT_EQUAL(atomic_load(&st[0].started), 1);
    CU_ASSERT_EQUAL(atomic_load(&st[1].started), ticks);
    teardown();
}

/* serve tells the jobs to stop as soon as it is asked to, so a run winds
 * down while HTTP requests drain instead of after them. */
static void test_jobs__begin_stop_expires_runs_at_once(void)
{
    reset_states();
    job_init(0, "t.stepper", UNTIL_EXPIRED, 0);
    job_init(1, "t.tick", COUNT, 1);
    CU_ASSERT_FATAL(setup(2) == 0);
    CU_ASSERT_EQUAL(orchard_jobs_start(), 0);
    CU_ASSERT_EQUAL(orchard_jobs_queue(test_ctx(), "t.stepper"), 0);
    CU_ASSERT(WAIT_FOR(atomic_load(&st[0].started) == 1, WAIT_MS));
    orchard_jobs_begin_stop();
    /* The run sees job_expired and returns before anyone waits for it. */
    CU_ASSERT(WAIT_FOR(atomic_load(&st[0].finished) == 1, WAIT_MS));
    CU_ASSERT_EQUAL(atomic_load(&st[0].saw_expired), 1);
    int ticks = atomic_load(&st[1].started);
    sleep_ms(1500);
    CU_ASSERT_EQUAL(atomic_load(&st[1].started), ticks);
    orchard_jobs_stop();
    teardown();
}

static void test_jobs__stop_gives_up_after_its_grace(void)
{
    reset_states();
    job_init(0, "t.stuck", GATE, 0);
    CU_ASSERT_FATAL(setup(1) == 0);
    orchard_jobs_set_stop_grace_ms(200);
    CU_ASSERT_EQUAL(orchard_jobs_start(), 0);
    CU_ASSERT_EQUAL(orchard_jobs_queue(test_ctx(), "t.stuck"), 0);
    CU_ASSERT(WAIT_FOR(atomic_load(&st[0].started) == 1, WAIT_MS));
    orchard_jobs_stop(); /* the run ignores job_expired: stop returns without it */
    CU_ASSERT_EQUAL(orchard_jobs_state("t.stuck"), ORCHARD_JOB_RUNNING);
    CU_ASSERT_EQUAL(orchard_jobs_start(), ORCHARD_EBUSY);
    gate_release(0);
    teardown(); /* waits for the run before the jobs go */
    CU_ASSERT_EQUAL(atomic_load(&st[0].finished), 1);
}

/* ---- lease, failures, old plugins */

static atomic_int lease_calls;
static char lease_job[64];
static unsigned lease_ttl;

static int lease_no(const char *job, unsigned ttl, void *ud)
{
    g_strlcpy(lease_job, job, sizeof lease_job);
    lease_ttl = ttl;
    atomic_fetch_add(&lease_calls, 1);
    return GPOINTER_TO_INT(ud);
}

static void test_jobs__lease_hook_decides_one_instance_jobs(void)
{
    reset_states();
    atomic_store(&lease_calls, 0);
    job_init(0, "t.single", COUNT, 60);
    tj[0].flags = ORCHARD_JOB_ONE_INSTANCE;
    tj[0].first_run_seconds = 3600;
    tj[0].jitter_seconds = 5;
    job_init(1, "t.anywhere", COUNT, 0);
    CU_ASSERT_FATAL(setup(2) == 0);
    orchard_jobs_set_lease(lease_no, GINT_TO_POINTER(0));
    CU_ASSERT_EQUAL(orchard_jobs_start(), 0);
    orchard_jobs_queue(test_ctx(), "t.single");
    orchard_jobs_queue(test_ctx(), "t.anywhere");
    CU_ASSERT(WAIT_FOR(atomic_load(&st[1].finished) == 1 && atomic_load(&lease_calls) == 1 &&
                       orchard_jobs_state("t.single") == 0, WAIT_MS));
    CU_ASSERT_EQUAL(atomic_load(&st[0].started), 0);
    CU_ASSERT_STRING_EQUAL(lease_job, "t.single");
    CU_ASSERT_EQUAL(lease_ttl, 300); /* the deadline outlasts interval + jitter */
    CU_ASSERT(outcome_is("t.single", "skipped: lease held elsewhere"));
    orchard_job_record *r = record_of("t.single");
    CU_ASSERT(r && r->runs == 0);
    orchard_job_record_free(r);
    /* A hook that says yes, then the default one. */
    orchard_jobs_set_lease(lease_no, GINT_TO_POINTER(1));
    orchard_jobs_queue(test_ctx(), "t.single");
    CU_ASSERT(WAIT_FOR(atomic_load(&st[0].finished) == 1, WAIT_MS));
    orchard_jobs_set_lease(NULL, NULL);
    orchard_jobs_queue(test_ctx(), "t.single");
    CU_ASSERT(WAIT_FOR(atomic_load(&st[0].finished) == 2 && orchard_jobs_state("t.single") == 0,
                       WAIT_MS));
    CU_ASSERT_EQUAL(atomic_load(&lease_calls), 2);
    CU_ASSERT(outcome_is("t.single", "ok"));
    orchard_jobs_stop();
    teardown();
}

static atomic_int v1_runs, wrong_calls;
static int run_v1(void *payload)
{
    (void)payload;
    atomic_fetch_add(&v1_runs, 1);
    return ORCHARD_EIO;
}
static int run_wrong(orchard_ctx *ctx, void *payload)
{
    (void)ctx;
    (void)payload;
    atomic_fetch_add(&wrong_calls, 1);
    return 0;
}

static void test_jobs__failure_message_is_the_outcome(void)
{
    g_autofree char *outcome = NULL;
    int64_t ms = -1;
    reset_states();
    job_init(0, "t.fail", FAIL, 0);
    CU_ASSERT_FATAL(setup(1) == 0);
    CU_ASSERT_EQUAL(orchard_jobs_run_now("t.fail", &outcome, &ms), ORCHARD_EIO);
    CU_ASSERT_STRING_EQUAL(outcome, "failed: boom 7");
    CU_ASSERT(ms >= 0);
    CU_ASSERT_PTR_NULL(orchard_ctx_failure()); /* the record's, not this thread's */
    CU_ASSERT(outcome_is("t.fail", "failed: boom 7"));
    g_free(outcome);
    CU_ASSERT_EQUAL(orchard_jobs_run_now("t.nope", &outcome, NULL), ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NULL(outcome);
    teardown();
}

/* A 1.0 job: its struct ends at payload. What follows it in memory is junk
 * a host that ignored struct_size would take for run2, deadline and flags. */
static void test_jobs__v1_job_still_runs(void)
{
    static struct {
        uint32_t abi_version, struct_size;
        const char *name;
        uint32_t interval_seconds;
        orchard_job_fn run;
        void *payload;
        orchard_job2_fn junk_run2;
        uint32_t junk[4];
    } old = {ORCHARD_ABI_VERSION, 0, "t.old", 0, run_v1, NULL, run_wrong, {1, 1, 1, 1}};
    g_autofree char *outcome = NULL;

    old.struct_size = (uint32_t)offsetof(orchard_job, run2);
    reset_states();
    tj_ptrs[0] = (const orchard_job *)&old;
    atomic_store(&v1_runs, 0);
    atomic_store(&wrong_calls, 0);
    CU_ASSERT_FATAL(setup(1) == 0);
    CU_ASSERT_EQUAL(orchard_job_deadline_of(tj_ptrs[0]), 300);
    CU_ASSERT_EQUAL(orchard_jobs_run_now("t.old", &outcome, NULL), ORCHARD_EIO);
    CU_ASSERT_STRING_EQUAL(outcome, "failed: input/output error");
    /* Not flagged one-instance: the lease is not asked. */
    orchard_jobs_set_lease(lease_no, GINT_TO_POINTER(0));
    CU_ASSERT_EQUAL(orchard_jobs_start(), 0);
    CU_ASSERT_EQUAL(orchard_jobs_queue(test_ctx(), "t.old"), 0);
    CU_ASSERT(WAIT_FOR(atomic_load(&v1_runs) == 2 && orchard_jobs_state("t.old") == 0, WAIT_MS));
    orchard_jobs_stop();
    CU_ASSERT_EQUAL(atomic_load(&wrong_calls), 0);
    teardown();
}

void jobs_suite(void)
{
    ORCHARD_ADD_SUITE("jobs", suite_init, suite_cleanup,
                      {"test_jobs__periodic_runs_on_schedule", test_jobs__periodic_runs_on_schedule},
                      {"test_jobs__first_run_delay", test_jobs__first_run_delay},
                      {"test_jobs__jitter_adds_up_to_its_seconds",
                       test_jobs__jitter_adds_up_to_its_seconds},
                      {"test_jobs__queue_from_another_thread", test_jobs__queue_from_another_thread},
                      {"test_jobs__queue_coalesces", test_jobs__queue_coalesces},
                      {"test_jobs__never_two_runs_of_one_job", test_jobs__never_two_runs_of_one_job},
                      {"test_jobs__deadline_expires_the_run", test_jobs__deadline_expires_the_run},
                      {"test_jobs__stop_waits_for_the_run_in_flight",
                       test_jobs__stop_waits_for_the_run_in_flight},
                      {"test_jobs__begin_stop_expires_runs_at_once",
                       test_jobs__begin_stop_expires_runs_at_once},
                      {"test_jobs__stop_gives_up_after_its_grace",
                       test_jobs__stop_gives_up_after_its_grace},
                      {"test_jobs__lease_hook_decides_one_instance_jobs",
                       test_jobs__lease_hook_decides_one_instance_jobs},
                      {"test_jobs__failure_message_is_the_outcome",
                       test_jobs__failure_message_is_the_outcome},
                      {"test_jobs__v1_job_still_runs", test_jobs__v1_job_still_runs});
}
