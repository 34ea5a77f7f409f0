/* The jobs table: each registered job with this process's record of it,
 * merged with the store's record (what `orchard serve` ran, seen from
 * `orchard query`), plus the jobs only the store knows. Reads only.
 *
 *   select name, last_outcome, runs, next_run from jobs;
 */
#include "jobs.gen.h"

#include "host/jobs/job_record.h"
#include "host/query/rows.h"

#include <glib.h>

/* Which of the two records of one job to show. The later last run wins;
 * on a tie the store's, whose runs count every process's runs. The next
 * run is this process's when its scheduler has one. */
static orchard_job_record *merge(const orchard_job_record *mem, const orchard_job_record *st)
{
    const orchard_job_record *last = mem->last_start > st->last_start ? mem : st;
    orchard_job_record *out = orchard_job_record_new(mem->name, mem->plugin);

    out->interval_seconds = mem->interval_seconds;
    out->last_start = last->last_start;
    out->last_duration_ms = last->last_duration_ms;
    out->last_outcome = g_strdup(last->last_outcome);
    out->runs = MAX(mem->runs, st->runs);
    out->next_run = mem->next_run >= 0 ? mem->next_run : st->next_run;
    return out;
}

static char *opt_int(int64_t v)
{
    return v < 0 ? NULL : g_strdup_printf("%" G_GINT64_FORMAT, v);
}

static int add_row(orchard_rows *rows, const orchard_job_record *rec)
{
    char *nums[] = {opt_int(rec->interval_seconds), opt_int(rec->last_start),
                    opt_int(rec->last_duration_ms), opt_int(MAX(rec->runs, 0)),
                    opt_int(rec->next_run)};
    const char *values[JOBS_N_COLUMNS] = {
        [JOBS_COL_NAME] = rec->name,
        [JOBS_COL_PLUGIN] = rec->plugin,
        [JOBS_COL_INTERVAL_SECONDS] = nums[0],
        [JOBS_COL_LAST_START] = nums[1],
        [JOBS_COL_LAST_DURATION_MS] = nums[2],
        [JOBS_COL_LAST_OUTCOME] = rec->last_outcome,
        [JOBS_COL_RUNS] = nums[3],
        [JOBS_COL_NEXT_RUN] = nums[4],
    };
    int rc = orchard_rows_add(rows, values, JOBS_N_COLUMNS);
    for (size_t i = 0; i < G_N_ELEMENTS(nums); i++)
        g_free(nums[i]);
    return rc;
}

int jobs_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                  void *payload)
{
    g_autoptr(GPtrArray) mem = orchard_jobs_records();
    g_autoptr(GPtrArray) stored = NULL;
    g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash, g_str_equal);
    int rc = 0;

    (void)ctx;
    (void)query;
    (void)payload;
    orchard_job_store_read(&stored); /* none, or none yet: this process's records alone */
    for (guint i = 0; i < stored->len; i++) {
        orchard_job_record *st = g_ptr_array_index(stored, i);
        g_hash_table_insert(by_name, st->name, st);
    }
    for (guint i = 0; rc == 0 && i < mem->len; i++) {
        const orchard_job_record *m = g_ptr_array_index(mem, i);
        const orchard_job_record *st = g_hash_table_lookup(by_name, m->name);
        if (!st) {
            rc = add_row(rows, m);
            continue;
        }
        orchard_job_record *both = merge(m, st);
        rc = add_row(rows, both);
        orchard_job_record_free(both);
        g_hash_table_remove(by_name, m->name);
    }
    /* Jobs of plugins this process did not load, in the store's order. */
    for (guint i = 0; rc == 0 && i < stored->len; i++) {
        const orchard_job_record *st = g_ptr_array_index(stored, i);
        if (g_hash_table_contains(by_name, st->name))
            rc = add_row(rows, st);
    }
    return rc;
}
