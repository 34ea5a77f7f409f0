/* `orchard job run NAME`: one run of one job in the foreground, recorded
 * like the scheduler's runs (in the config's store when there is one), so
 * an operator can try a job, or run it now, without `orchard serve`. */
#include "host/jobs/jobs.h"

#include "host/jobs/job_record.h"
#include "host/plugins/plugin_ctx.h"
#include "host/store/store.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#define USAGE "orchard job run [--config F] [--plugin PATH]... NAME"

/* "a, b, c" of the registered jobs, or NULL when there are none (g_free). */
static char *known_jobs(void)
{
    g_autoptr(GPtrArray) recs = orchard_jobs_records();
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < recs->len; i++) {
        const orchard_job_record *rec = g_ptr_array_index(recs, i);
        g_string_append_printf(s, "%s%s", i ? ", " : "", rec->name);
    }
    return recs->len ? g_string_free(s, FALSE) : (g_string_free(s, TRUE), NULL);
}

static int job_run(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    g_autofree char *outcome = NULL;
    int64_t ms = 0;
    int rc;

    (void)payload;
    if (argc != 2 || argv[1][0] == '-')
        return orchard_ctx_fail(ctx, 2, "give one job name\nusage: " USAGE);
    rc = orchard_jobs_run_now(argv[1], &outcome, &ms);
    if (!outcome) {
        g_autofree char *known = known_jobs();
        if (!known)
            return orchard_ctx_fail(ctx, 2, "no job named '%s': no plugin loaded has jobs "
                                    "(load one with --plugin or the config's plugins list)",
                                    argv[1]);
        return orchard_ctx_fail(ctx, 2, "no job named '%s'; the jobs are: %s", argv[1], known);
    }
    /* Its record is in the store: write the WAL back into the file now. */
    orchard_store_close();
    if (rc != 0)
        return orchard_ctx_fail(ctx, 1, "%s: %s (%lld ms)", argv[1], outcome, (long long)ms);
    printf("%s: %s (%lld ms)\n", argv[1], outcome, (long long)ms);
    return 0;
}

const orchard_command orchard_cmd_job_run = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "job run",
    .summary = "Run one job in the foreground and print its outcome",
    .usage = USAGE "\n"
             "  Runs the job once now, as `orchard serve` would (its deadline applies;\n"
             "  the one-instance lease is not asked), and records the run in the\n"
             "  config's store when there is one (see the jobs table).\n"
             "Exit status 0 when the run succeeded, 1 when it failed or timed out,\n"
             "2 when there is no such job (the known ones are listed).",
    .run = NULL,
    .payload = NULL,
    .run2 = job_run,
    .aliases = NULL,
};
