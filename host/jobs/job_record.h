/* Job run records: what the last run of each job did, kept in memory by the
 * scheduler (jobs.c) and, when a store is configured, in the store's
 * orchard_jobs table (jobs_store.c), so that `orchard query` in another
 * process sees what `orchard serve` ran. The jobs table (jobs_table.c)
 * shows both. */
#ifndef ORCHARD_JOB_RECORD_H
#define ORCHARD_JOB_RECORD_H

#include <orchard/plugin.h>

#include <glib.h>
#include <stdint.h>

/* Unknown or never: -1 for the numbers, NULL for the outcome. */
typedef struct orchard_job_record {
    char *name;
    char *plugin;
    int64_t interval_seconds;
    int64_t last_start;       /* Unix seconds */
    int64_t last_duration_ms;
    char *last_outcome;       /* "ok", "failed: ...", "timeout", "skipped: ..." */
    int64_t runs;
    int64_t next_run;         /* Unix seconds */
} orchard_job_record;

/** A record with every field unknown (name and plugin copied). */
orchard_job_record *orchard_job_record_new(const char *name, const char *plugin);
void orchard_job_record_free(orchard_job_record *rec);

/**
 * The scheduler's records, one per registered job in registration order
 * (runs and outcomes of this process only). Returns a GPtrArray that frees
 * its records; never NULL.
 */
GPtrArray *orchard_jobs_records(void);

/**
 * Write `rec` to the store, migrating its table first. ran: 1 counts a run
 * (runs + 1, last_* from rec); 0 only records the job and its next run.
 * Returns 0, ORCHARD_ENOTCONFIGURED (no store: nothing done, silently), or
 * a store code; the first failure is logged as a warning, later ones at
 * debug level until a write succeeds again. Never call it in a process
 * whose store is read-only (`orchard query`).
 */
int orchard_job_store_save(const orchard_job_record *rec, int ran);

/**
 * Every record in the store, by name (a GPtrArray that frees them; never
 * NULL). Reads only: never creates, opens a missing database or migrates.
 * Returns 0, ORCHARD_ENOTCONFIGURED (no store, or its file does not exist
 * yet), or a store code (e.g. no serve has recorded a run there yet); *out
 * is empty then.
 */
int orchard_job_store_read(GPtrArray **out);

#endif
