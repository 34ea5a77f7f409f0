/* One run of one job, on the calling thread: the lease question, the
 * deadline host->job_expired answers by, the call into the plugin, and the
 * outcome text the records keep. The scheduler (jobs.c) decides when;
 * this file only runs. */
#ifndef ORCHARD_JOB_RUN_H
#define ORCHARD_JOB_RUN_H

#include "host/jobs/jobs.h"

#include <orchard/plugin.h>

#include <stdint.h>

typedef struct orchard_job_result {
    int ran;             /* 0: the lease hook said no, nothing was called */
    int rc;              /* the run's code; ORCHARD_ETIMEOUT when past its deadline */
    int64_t start_unix;  /* when the run (or the skip) began */
    int64_t duration_ms;
    char *outcome;       /* g_free: "ok", "failed: ...", "timeout", "skipped: ..." */
} orchard_job_result;

#define ORCHARD_JOB_SKIPPED_OUTCOME "skipped: lease held elsewhere"

/**
 * Run `job` of the plugin `ctx` once. `lease` (NULL: no question) is asked
 * first, for ORCHARD_JOB_ONE_INSTANCE jobs only. Fills *out (clear it with
 * orchard_job_result_clear). Leaves no failure message on the thread.
 */
void orchard_job_execute(orchard_ctx *ctx, const orchard_job *job, orchard_job_lease_fn lease,
                         void *lease_ud, orchard_job_result *out);
void orchard_job_result_clear(orchard_job_result *r);

/** The host is stopping (1) or not (0): every run in flight sees it expire. */
void orchard_job_set_stopping(int stopping);

#endif
