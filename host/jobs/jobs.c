/* The scheduler (jobs.h): the jobs the registry added, a timer thread that
 * queues periodic runs when due, and a few worker threads that take queued
 * jobs and run them (job_run.c), recording each run (job_record.h).
 * One lock guards everything here; runs and store writes happen outside
 * it, so host->job_queue from a request thread never waits on a plugin or
 * the store. */
#include "host/jobs/jobs.h"

#include "host/jobs/job_record.h"
#include "host/jobs/job_run.h"
#include "host/log.h"
#include "host/plugins/plugin_ctx.h"

#include <glib.h>
#include <string.h>

#define COMPONENT "jobs"
/* A run that ignores its deadline holds a worker; a few keep the other
 * jobs going meanwhile. Runs of one job never overlap whatever the count. */
#define N_WORKERS 4
#define DEFAULT_STOP_GRACE_MS 5000u
/* The timer rescans at least this often; any change wakes it sooner. */
#define IDLE_WAKE_US (60 * G_USEC_PER_SEC)
/* While orchard_jobs_clear waits for a run that ignores stopping. */
#define CLEAR_NAG_US (5 * G_USEC_PER_SEC)

typedef struct {
    orchard_ctx *ctx;
    const orchard_job *job;  /* borrowed from the plugin until clear */
    int queued;              /* in S.ready */
    int running;
    int again;               /* queued while running */
    gint64 next_due;         /* monotonic microseconds of the next periodic run; 0 none */
    /* The last run in this process. */
    int64_t last_start, last_duration_ms, runs;
    char *last_outcome;
} job_entry;

static struct {
    GMutex lock;
    GCond changed;           /* any of the below changed: everyone rechecks */
    GPtrArray *entries;      /* job_entry*, registration order */
    GQueue ready;            /* job_entry* with queued set, oldest first */
    GThread *timer;
    GThread *workers[N_WORKERS];
    int started;             /* between start and stop */
    int stopping;
    int abandoned;           /* stop gave up on runs: workers still to join */
    unsigned in_flight;
    orchard_job_lease_fn lease;
    void *lease_ud;
    unsigned stop_grace_ms;
} S;

/* Store writes: a stop that gave up on a run forbids them, since the store
 * closes after the stop returns; the lock lets it wait for a write begun. */
static GMutex persist_lock;
static int persist_off;

/* ------------------------------------------------------------------------ */
/* Entries */

static void entry_free(gpointer p)
{
    job_entry *e = p;
    g_free(e->last_outcome);
    g_free(e);
}

static job_entry *find_locked(const char *name)
{
    for (guint i = 0; S.entries && i < S.entries->len; i++) {
        job_entry *e = g_ptr_array_index(S.entries, i);
        if (strcmp(e->job->name, name) == 0)
            return e;
    }
    return NULL;
}

int64_t orchard_jobs_wait_ms(uint32_t seconds, uint32_t jitter_seconds)
{
    int64_t ms = (int64_t)seconds * 1000;
    if (jitter_seconds)
        ms += g_random_int_range(0, (gint32)MIN((int64_t)jitter_seconds * 1000 + 1, G_MAXINT32));
    return ms;
}

static void schedule_first_locked(job_entry *e, gint64 now)
{
    if (e->job->interval_seconds == 0)
        return;
    e->next_due = now + 1000 * orchard_jobs_wait_ms(orchard_job_first_run_of(e->job),
                                                    orchard_job_jitter_of(e->job));
}

int orchard_jobs_add(orchard_ctx *ctx, const orchard_job *job, char **error_msg)
{
    int rc = 0;

    g_mutex_lock(&S.lock);
    job_entry *dup = find_locked(job->name);
    if (dup) {
        *error_msg = g_strdup_printf("job %s is already registered by %s", job->name,
                                     orchard_ctx_name(dup->ctx));
        rc = ORCHARD_EEXIST;
        goto out;
    }
    if (!S.entries)
        S.entries = g_ptr_array_new_with_free_func(entry_free);
    job_entry *e = g_new0(job_entry, 1);
    e->ctx = ctx;
    e->job = job;
    e->last_start = e->last_duration_ms = -1;
    if (S.started)
        schedule_first_locked(e, g_get_monotonic_time());
    g_ptr_array_add(S.entries, e);
    g_cond_broadcast(&S.changed);
out:
    g_mutex_unlock(&S.lock);
    return rc;
}

/* Ask for one run of e; coalesced as host->job_queue promises. */
static void request_locked(job_entry *e)
{
    if (e->running) {
        e->again = 1;
    } else if (!e->queued) {
        e->queued = 1;
        g_queue_push_tail(&S.ready, e);
        g_cond_broadcast(&S.changed);
    }
}

int orchard_jobs_queue(orchard_ctx *ctx, const char *name)
{
    (void)ctx; /* any plugin may queue any job */
    if (!name)
        return ORCHARD_EINVAL;
    g_mutex_lock(&S.lock);
    job_entry *e = find_locked(name);
    if (e)
        request_locked(e);
    g_mutex_unlock(&S.lock);
    return e ? 0 : ORCHARD_ENOTFOUND;
}

int orchard_jobs_state(const char *name)
{
    g_mutex_lock(&S.lock);
    job_entry *e = find_locked(name);
    int bits = !e ? ORCHARD_ENOTFOUND
                  : (e->queued ? ORCHARD_JOB_QUEUED : 0) | (e->running ? ORCHARD_JOB_RUNNING : 0) |
                        (e->again ? ORCHARD_JOB_AGAIN : 0);
    g_mutex_unlock(&S.lock);
    return bits;
}

void orchard_jobs_set_lease(orchard_job_lease_fn fn, void *ud)
{
    g_mutex_lock(&S.lock);
    S.lease = fn;
    S.lease_ud = fn ? ud : NULL;
    g_mutex_unlock(&S.lock);
}

void orchard_jobs_set_stop_grace_ms(unsigned ms)
{
    g_mutex_lock(&S.lock);
    S.stop_grace_ms = ms;
    g_mutex_unlock(&S.lock);
}

/* ------------------------------------------------------------------------ */
/* Records */

/* The next run in Unix seconds: now when one is asked for, -1 when none. */
static int64_t next_run_locked(const job_entry *e)
{
    gint64 real = g_get_real_time(), mono = g_get_monotonic_time();

    if (e->queued || e->again)
        return real / G_USEC_PER_SEC;
    if (!S.started || S.stopping || !e->next_due)
        return -1;
    return (real + MAX(e->next_due - mono, 0) + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
}

static orchard_job_record *record_locked(const job_entry *e)
{
    orchard_job_record *rec = orchard_job_record_new(e->job->name, orchard_ctx_name(e->ctx));
    rec->interval_seconds = e->job->interval_seconds;
    rec->last_start = e->last_start;
    rec->last_duration_ms = e->last_duration_ms;
    rec->last_outcome = g_strdup(e->last_outcome);
    rec->runs = e->runs;
    rec->next_run = next_run_locked(e);
    return rec;
}

GPtrArray *orchard_jobs_records(void)
{
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_job_record_free);

    g_mutex_lock(&S.lock);
    for (guint i = 0; S.entries && i < S.entries->len; i++)
        g_ptr_array_add(out, record_locked(g_ptr_array_index(S.entries, i)));
    g_mutex_unlock(&S.lock);
    return out;
}

static void persist(const orchard_job_record *rec, int ran)
{
    g_mutex_lock(&persist_lock);
    if (!persist_off)
        orchard_job_store_save(rec, ran);
    g_mutex_unlock(&persist_lock);
}

/* Record r in e and the store. A skip is this instance's news only: the
 * store's row belongs to the instance that held the lease and ran it; it
 * is logged at debug level, since it repeats on every run of every
 * instance but one (the lease hook logs when the lease changes hands).
 * A foreground run's caller shows the outcome: only debug lines then. */
static void record_result(job_entry *e, const orchard_job_result *r, int foreground)
{
    g_mutex_lock(&S.lock);
    e->last_start = r->start_unix;
    e->last_duration_ms = r->duration_ms;
    g_free(e->last_outcome);
    e->last_outcome = g_strdup(r->outcome);
    e->runs += r->ran;
    orchard_job_record *rec = r->ran ? record_locked(e) : NULL;
    g_mutex_unlock(&S.lock);
    if (rec)
        persist(rec, 1);
    orchard_job_record_free(rec);
    if (!r->ran)
        orchard_debug(COMPONENT, "job %s: %s", e->job->name, r->outcome);
    else
        orchard_log(r->rc && !foreground ? ORCHARD_LOG_WARNING : ORCHARD_LOG_DEBUG, COMPONENT,
                    "job %s: %s (%lld ms)", e->job->name, r->outcome, (long long)r->duration_ms);
}

/* ------------------------------------------------------------------------ */
/* Runs */

static void begin_run_locked(job_entry *e)
{
    e->running = 1;
    S.in_flight++;
    if (e->job->interval_seconds)
        e->next_due = g_get_monotonic_time() +
                      1000 * orchard_jobs_wait_ms(e->job->interval_seconds,
                                                  orchard_job_jitter_of(e->job));
    g_cond_broadcast(&S.changed);
}

static void end_run_locked(job_entry *e)
{
    e->running = 0;
    S.in_flight--;
    if (e->again) {
        e->again = 0;
        request_locked(e);
    }
    g_cond_broadcast(&S.changed);
}

/* Run e on this thread (it is marked running); the lock is not held. The
 * scheduler's runs ask the lease; a foreground one (run_now) does not. */
static void run_entry(job_entry *e, int foreground, orchard_job_result *r)
{
    orchard_job_lease_fn lease = NULL;
    void *ud = NULL;

    if (!foreground) {
        g_mutex_lock(&S.lock);
        lease = S.lease;
        ud = S.lease_ud;
        g_mutex_unlock(&S.lock);
    }
    orchard_job_execute(e->ctx, e->job, lease, ud, r);
    record_result(e, r, foreground);
}

static gpointer worker_main(gpointer unused)
{
    (void)unused;
    g_mutex_lock(&S.lock);
    for (;;) {
        while (!S.stopping && g_queue_is_empty(&S.ready))
            g_cond_wait(&S.changed, &S.lock);
        if (S.stopping)
            break;
        job_entry *e = g_queue_pop_head(&S.ready);
        e->queued = 0;
        if (e->running) { /* a foreground run took it meanwhile: run after it */
            e->again = 1;
            continue;
        }
        begin_run_locked(e);
        g_mutex_unlock(&S.lock);
        orchard_job_result r;
        run_entry(e, 0, &r);
        orchard_job_result_clear(&r);
        g_mutex_lock(&S.lock);
        end_run_locked(e);
    }
    g_mutex_unlock(&S.lock);
    return NULL;
}

int orchard_jobs_run_now(const char *name, char **outcome, int64_t *duration_ms)
{
    orchard_job_result r;

    *outcome = NULL;
    g_mutex_lock(&S.lock);
    job_entry *e = find_locked(name);
    if (!e) {
        g_mutex_unlock(&S.lock);
        return ORCHARD_ENOTFOUND;
    }
    while (e->running)
        g_cond_wait(&S.changed, &S.lock);
    begin_run_locked(e);
    g_mutex_unlock(&S.lock);
    run_entry(e, 1, &r);
    g_mutex_lock(&S.lock);
    end_run_locked(e);
    g_mutex_unlock(&S.lock);
    *outcome = g_steal_pointer(&r.outcome);
    if (duration_ms)
        *duration_ms = r.duration_ms;
    return r.rc;
}

/* ------------------------------------------------------------------------ */
/* The timer, start and stop */

/* Write every job and its first run to the store, so that another process
 * reading it sees the schedule before the first run. */
static void persist_schedule(void)
{
    g_mutex_lock(&S.lock);
    GPtrArray *recs = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_job_record_free);
    for (guint i = 0; S.entries && i < S.entries->len; i++)
        g_ptr_array_add(recs, record_locked(g_ptr_array_index(S.entries, i)));
    g_mutex_unlock(&S.lock);
    for (guint i = 0; i < recs->len; i++)
        persist(g_ptr_array_index(recs, i), 0);
    g_ptr_array_unref(recs);
}

/* The schedule goes to the store before any run can: a run's record
 * written first would be overwritten by the older schedule. */
static gpointer timer_main(gpointer unused)
{
    (void)unused;
    persist_schedule();
    for (int i = 0; i < N_WORKERS; i++)
        S.workers[i] = g_thread_new("orchard-job", worker_main, NULL);
    g_mutex_lock(&S.lock);
    while (!S.stopping) {
        gint64 now = g_get_monotonic_time(), wake = now + IDLE_WAKE_US;
        for (guint i = 0; S.entries && i < S.entries->len; i++) {
            job_entry *e = g_ptr_array_index(S.entries, i);
            if (!e->next_due)
                continue;
            if (e->next_due <= now) {
                e->next_due = 0; /* the run's start schedules the next */
                request_locked(e);
            } else {
                wake = MIN(wake, e->next_due);
            }
        }
        g_cond_wait_until(&S.changed, &S.lock, wake);
    }
    g_mutex_unlock(&S.lock);
    return NULL;
}

int orchard_jobs_start(void)
{
    g_mutex_lock(&S.lock);
    if (S.started || S.stopping || S.abandoned) {
        int rc = S.started ? ORCHARD_EEXIST : ORCHARD_EBUSY;
        g_mutex_unlock(&S.lock);
        return rc;
    }
    S.started = 1;
    S.stopping = 0;
    orchard_job_set_stopping(0);
    gint64 now = g_get_monotonic_time();
    for (guint i = 0; S.entries && i < S.entries->len; i++)
        schedule_first_locked(g_ptr_array_index(S.entries, i), now);
    orchard_debug(COMPONENT, "scheduler started: %u jobs, %d workers",
                  S.entries ? S.entries->len : 0, N_WORKERS);
    g_mutex_unlock(&S.lock);
    g_mutex_lock(&persist_lock);
    persist_off = 0;
    g_mutex_unlock(&persist_lock);
    S.timer = g_thread_new("orchard-jobs", timer_main, NULL);
    return 0;
}

/* Names of the runs in flight, for a warning (g_free). */
static char *running_names_locked(void)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; S.entries && i < S.entries->len; i++) {
        const job_entry *e = g_ptr_array_index(S.entries, i);
        if (e->running)
            g_string_append_printf(s, "%s%s", s->len ? ", " : "", e->job->name);
    }
    return g_string_free(s, FALSE);
}

/* Join the workers, then let later runs (orchard job run, a new start)
 * see an unexpired clock again. */
static void join_workers(void)
{
    for (int i = 0; i < N_WORKERS; i++)
        if (S.workers[i])
            g_thread_join(g_steal_pointer(&S.workers[i]));
    g_mutex_lock(&S.lock);
    S.stopping = 0;
    orchard_job_set_stopping(0);
    g_mutex_unlock(&S.lock);
}

void orchard_jobs_begin_stop(void)
{
    g_mutex_lock(&S.lock);
    if (S.started) {
        S.stopping = 1;
        orchard_job_set_stopping(1);
        g_cond_broadcast(&S.changed);
    }
    g_mutex_unlock(&S.lock);
}

void orchard_jobs_stop(void)
{
    g_autofree char *stuck = NULL;

    g_mutex_lock(&S.lock);
    if (!S.started) {
        g_mutex_unlock(&S.lock);
        return;
    }
    S.started = 0;
    S.stopping = 1;
    orchard_job_set_stopping(1);
    g_cond_broadcast(&S.changed);
    unsigned grace = S.stop_grace_ms ? S.stop_grace_ms : DEFAULT_STOP_GRACE_MS;
    gint64 until = g_get_monotonic_time() + (gint64)grace * 1000;
    while (S.in_flight > 0 && g_cond_wait_until(&S.changed, &S.lock, until))
        ;
    if (S.in_flight > 0) {
        stuck = running_names_locked();
        S.abandoned = 1;
    }
    g_mutex_unlock(&S.lock);
    g_thread_join(g_steal_pointer(&S.timer));
    if (!stuck) {
        join_workers();
        orchard_debug(COMPONENT, "scheduler stopped");
        return;
    }
    g_mutex_lock(&persist_lock);
    persist_off = 1;
    g_mutex_unlock(&persist_lock);
    orchard_warn(COMPONENT, "stopped waiting for job(s) %s after %u ms: their runs go on "
                 "until they return, and are not recorded in the store", stuck, grace);
}

/* After a stop that gave up: wait for those runs, however long. */
static void wait_abandoned(void)
{
    g_mutex_lock(&S.lock);
    while (S.abandoned && S.in_flight > 0)
        if (!g_cond_wait_until(&S.changed, &S.lock, g_get_monotonic_time() + CLEAR_NAG_US)) {
            g_autofree char *names = running_names_locked();
            orchard_warn(COMPONENT, "still waiting for job(s) %s to return before their "
                         "plugins unload", names);
        }
    int abandoned = S.abandoned;
    S.abandoned = 0;
    g_mutex_unlock(&S.lock);
    if (abandoned)
        join_workers();
}

void orchard_jobs_clear(void)
{
    orchard_jobs_stop();
    wait_abandoned();
    g_mutex_lock(&S.lock);
    g_queue_clear(&S.ready);
    g_clear_pointer(&S.entries, g_ptr_array_unref);
    S.lease = NULL;
    S.lease_ud = NULL;
    g_mutex_unlock(&S.lock);
}
