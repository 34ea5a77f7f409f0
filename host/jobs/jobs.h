/* The host's job scheduler (ABI 1.2): runs every plugin's jobs while
 * `orchard serve` runs (periodic with first run and jitter, and on demand
 * through host->job_queue), one run at a time per job, with a deadline per
 * run, a clean stop, and a lease hook that holds a job to one instance of
 * several. `orchard job run NAME` runs one in the foreground. */
#ifndef ORCHARD_JOBS_H
#define ORCHARD_JOBS_H

#include <orchard/plugin.h>

#include <stdint.h>

/**
 * Add a plugin's job (the registry calls it for each job of an accepted
 * plugin). Returns 0, or ORCHARD_EEXIST (another job has the name) with
 * *error_msg (g_free). `ctx` and `job` are borrowed until orchard_jobs_clear.
 */
int orchard_jobs_add(orchard_ctx *ctx, const orchard_job *job, char **error_msg);

/**
 * Forget every job (the registry is being freed); stops the scheduler first.
 * A run still in flight after the stop's grace is waited for here, however
 * long it takes: its plugin is about to be unloaded under it.
 */
void orchard_jobs_clear(void);

/**
 * Start the timer and worker threads: periodic jobs are scheduled from now,
 * runs queued before start run at once. Returns 0, ORCHARD_EEXIST when
 * running, or ORCHARD_EBUSY while a stop is under way or a run the last
 * stop gave up on still runs.
 */
int orchard_jobs_start(void);

/**
 * Stop: no new runs; wait for runs in flight (they see job_expired() == 1)
 * for at most the stop grace (5 s), then return, saying which still run.
 * Their records then stay in memory only. Safe when not started.
 */
void orchard_jobs_stop(void);

/**
 * Tell runs in flight to finish (job_expired turns 1) and start no new
 * ones, without waiting: serve calls it when a stop is asked for, so runs
 * wind down while HTTP requests drain; orchard_jobs_stop then waits.
 */
void orchard_jobs_begin_stop(void);

/** The stop grace in milliseconds (tests shorten it); 0 restores 5 s. */
void orchard_jobs_set_stop_grace_ms(unsigned ms);

/**
 * Run job `name` now on this thread (`orchard job run`), after a run of it
 * in flight ends; the lease hook is not asked (an operator asked for it).
 * Returns the run's code (ORCHARD_ETIMEOUT when it ran past its deadline)
 * or ORCHARD_ENOTFOUND; *outcome (g_free; NULL for ENOTFOUND) is the
 * recorded outcome ("ok", "failed: ...", "timeout") and *duration_ms (may
 * be NULL) how long it took.
 */
int orchard_jobs_run_now(const char *name, char **outcome, int64_t *duration_ms);

/**
 * Whether this instance may run `job` now, for a job flagged
 * ORCHARD_JOB_ONE_INSTANCE: 1 yes (it holds the job's lease), 0 no.
 * ttl_seconds is the run's deadline; the hook of `orchard serve` on a store
 * (host/instances/) keeps a lease for the lease time and renews it on each
 * heartbeat while the instance lives, whatever the job's schedule.
 * Called on a worker thread before each run, with no scheduler lock held.
 * The default hook always says yes; a shared store installs its own. NULL
 * restores the default; orchard_jobs_clear does too.
 */
typedef int (*orchard_job_lease_fn)(const char *job, unsigned ttl_seconds, void *ud);
void orchard_jobs_set_lease(orchard_job_lease_fn fn, void *ud);

/** What the scheduler is doing with a job (orchard_jobs_state's bits). */
enum {
    ORCHARD_JOB_QUEUED = 1,  /* waiting for a worker */
    ORCHARD_JOB_RUNNING = 2, /* a run is in flight */
    ORCHARD_JOB_AGAIN = 4    /* queued while running: one more run after */
};
/** The bits for job `name`, or ORCHARD_ENOTFOUND. */
int orchard_jobs_state(const char *name);

/**
 * A wait of `seconds` plus a random 0..jitter_seconds, in milliseconds:
 * what the scheduler waits before each periodic run.
 */
int64_t orchard_jobs_wait_ms(uint32_t seconds, uint32_t jitter_seconds);

/* The orchard_host_api functions. job_expired knows the run by its thread:
 * a job's run is one call on one thread. */
int orchard_jobs_queue(orchard_ctx *ctx, const char *name);
int orchard_jobs_expired(orchard_ctx *ctx);

/** `orchard job run NAME`, listed by the core plugin. */
extern const orchard_command orchard_cmd_job_run;

#endif
