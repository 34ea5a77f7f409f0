/* The host's job scheduler (ABI 1.2): runs every plugin's jobs while
 * `orchard serve` runs (periodic with first run and jitter, and on demand
 * through host->job_queue), one run at a time per job, with a deadline per
 * run, a clean stop, and a lease hook that holds a job to one instance of
 * several. `orchard job run NAME` runs one in the foreground. */
#ifndef ORCHARD_JOBS_H
#define ORCHARD_JOBS_H

#include <orchard/plugin.h>

/**
 * Add a plugin's job (the registry calls it for each job of an accepted
 * plugin). Returns 0, or ORCHARD_EEXIST (another job has the name) with
 * *error_msg (g_free).
 */
int orchard_jobs_add(orchard_ctx *ctx, const orchard_job *job, char **error_msg);

/** Forget every job (the registry is being freed); stops the scheduler first. */
void orchard_jobs_clear(void);

/** Start the scheduler thread(s). Returns 0, or ORCHARD_EEXIST when running. */
int orchard_jobs_start(void);

/** Stop: no new runs; wait for runs in flight (they see job_expired() == 1). */
void orchard_jobs_stop(void);

/**
 * Run job `name` now on this thread (`orchard job run`). Returns the run's
 * code, or ORCHARD_ENOTFOUND; *message (g_free, may be NULL) is the run's
 * failure message.
 */
int orchard_jobs_run_now(const char *name, char **message);

/**
 * Whether this instance may run `job` now, for a job flagged
 * ORCHARD_JOB_ONE_INSTANCE: 1 yes (it holds the lease for ttl_seconds), 0 no.
 * The default hook always says yes; a shared store installs its own.
 */
typedef int (*orchard_job_lease_fn)(const char *job, unsigned ttl_seconds, void *ud);
void orchard_jobs_set_lease(orchard_job_lease_fn fn, void *ud);

/* The orchard_host_api functions. */
int orchard_jobs_queue(orchard_ctx *ctx, const char *name);
int orchard_jobs_expired(orchard_ctx *ctx);

#endif
