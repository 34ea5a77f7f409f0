/* One run of one job (job_run.h): lease, deadline, call, outcome. The run
 * in flight is known by its thread, because a job's context is its
 * plugin's and several of a plugin's jobs may run at once on other workers;
 * host->job_expired reads the thread's run. */
#include "host/jobs/job_run.h"

#include "host/log.h"
#include "host/plugins/plugin_ctx.h"

#include <glib.h>

#define COMPONENT "jobs"

typedef struct {
    gint64 deadline; /* monotonic microseconds */
} run_state;

/* The run on this thread, or NULL; points into orchard_job_execute's frame. */
static GPrivate current_run;
static gint stopping;

void orchard_job_set_stopping(int value) { g_atomic_int_set(&stopping, value ? 1 : 0); }

int orchard_jobs_expired(orchard_ctx *ctx)
{
    const run_state *run = g_private_get(&current_run);

    (void)ctx;
    if (g_atomic_int_get(&stopping))
        return 1;
    return run && g_get_monotonic_time() >= run->deadline;
}

/* What the lease hook is told: the run's deadline, how long the run may
 * take. It does not size the lease: leases are sticky, renewed on every
 * heartbeat while their holder lives (host/instances/), so the instances'
 * lease time (server.lease_duration), not this job's interval or deadline,
 * bounds how long a dead holder keeps the job from the others. */
static unsigned lease_ttl(const orchard_job *job)
{
    return orchard_job_deadline_of(job);
}

static char *outcome_of(int rc, const char *message, int late)
{
    if (late)
        return g_strdup("timeout");
    if (rc == 0)
        return g_strdup("ok");
    if (message && *message)
        return g_strdup_printf("failed: %s", message);
    if (rc == ORCHARD_ETIMEOUT && g_atomic_int_get(&stopping))
        return g_strdup("failed: stopped with the host");
    return g_strdup_printf("failed: %s", orchard_strerror(rc));
}

void orchard_job_execute(orchard_ctx *ctx, const orchard_job *job, orchard_job_lease_fn lease,
                         void *lease_ud, orchard_job_result *out)
{
    gint64 deadline_us = (gint64)orchard_job_deadline_of(job) * G_USEC_PER_SEC;
    run_state run;
    gint64 t0;

    *out = (orchard_job_result){0};
    out->start_unix = g_get_real_time() / G_USEC_PER_SEC;
    if (lease && (orchard_job_flags_of(job) & ORCHARD_JOB_ONE_INSTANCE) &&
        !lease(job->name, lease_ttl(job), lease_ud)) {
        out->outcome = g_strdup(ORCHARD_JOB_SKIPPED_OUTCOME);
        return;
    }
    out->ran = 1;
    t0 = g_get_monotonic_time();
    run.deadline = t0 + deadline_us;
    g_private_set(&current_run, &run);
    out->rc = orchard_call_job(ctx, job);
    g_private_set(&current_run, NULL);
    gint64 took = g_get_monotonic_time() - t0;
    out->duration_ms = took / 1000;
    out->outcome = outcome_of(out->rc, orchard_ctx_failure(), took > deadline_us);
    /* The message is the record's now; the thread's caller (a command,
     * say) must not take it for its own failure. */
    orchard_ctx_clear_failure();
    if (took > deadline_us && out->rc == 0)
        out->rc = ORCHARD_ETIMEOUT;
}

void orchard_job_result_clear(orchard_job_result *r)
{
    g_clear_pointer(&r->outcome, g_free);
}
