/* STUB until the scheduler lands: jobs are recorded and run only by
 * orchard_jobs_run_now. */
#include "host/jobs/jobs.h"

#include "host/plugins/plugin_ctx.h"

#include <glib.h>
#include <string.h>

typedef struct {
    orchard_ctx *ctx;
    const orchard_job *job;
} job_entry;

static GPtrArray *jobs;

int orchard_jobs_add(orchard_ctx *ctx, const orchard_job *job, char **error_msg)
{
    if (!jobs)
        jobs = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < jobs->len; i++) {
        job_entry *e = g_ptr_array_index(jobs, i);
        if (strcmp(e->job->name, job->name) == 0) {
            *error_msg = g_strdup_printf("job %s is already registered by %s", job->name,
                                         orchard_ctx_name(e->ctx));
            return ORCHARD_EEXIST;
        }
    }
    job_entry *e = g_new0(job_entry, 1);
    e->ctx = ctx;
    e->job = job;
    g_ptr_array_add(jobs, e);
    return 0;
}

void orchard_jobs_clear(void)
{
    if (jobs)
        g_ptr_array_unref(jobs);
    jobs = NULL;
}

int orchard_jobs_start(void) { return 0; }
void orchard_jobs_stop(void) {}

int orchard_jobs_run_now(const char *name, char **message)
{
    *message = NULL;
    for (guint i = 0; jobs && i < jobs->len; i++) {
        job_entry *e = g_ptr_array_index(jobs, i);
        if (strcmp(e->job->name, name) == 0) {
            int rc = orchard_call_job(e->ctx, e->job);
            *message = g_strdup(orchard_ctx_failure());
            return rc;
        }
    }
    return ORCHARD_ENOTFOUND;
}

void orchard_jobs_set_lease(orchard_job_lease_fn fn, void *ud)
{
    (void)fn;
    (void)ud;
}

int orchard_jobs_queue(orchard_ctx *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return ORCHARD_ENOTFOUND;
}

int orchard_jobs_expired(orchard_ctx *ctx)
{
    (void)ctx;
    return 0;
}
