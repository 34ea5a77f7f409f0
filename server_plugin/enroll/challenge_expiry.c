/* The job that keeps scep_challenges from growing without end: every
 * profile download stores a one-time challenge, and those that expire
 * unused (or were spent) are deleted here in batches, between which the
 * job yields the writer path and checks its deadline. */
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"

#include <glib.h>

#define BATCH 5000

static int expire_run(orchard_ctx *ctx, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC, deleted = 0, total = 0;
    int rc;

    (void)payload;
    do {
        if (h->job_expired(ctx))
            return h->fail(ctx, ORCHARD_ETIMEOUT, "stopped after deleting %" G_GINT64_FORMAT
                           " expired challenges; the rest go next run", total);
        if ((rc = orchard_server_store_challenges_expire(now, BATCH, &deleted)))
            return h->fail(ctx, rc, "deleting expired SCEP challenges: %s", h->strerror(rc));
        total += deleted;
    } while (deleted == BATCH);
    if (total)
        h->ctx_log(ctx, ORCHARD_LOG_INFO, "deleted %" G_GINT64_FORMAT " expired SCEP challenges",
                   total);
    return 0;
}

const orchard_job orchard_job_challenges_expire = {
    ORCHARD_STRUCT_HEADER(orchard_job),
    .name = "scep.challenges_expire",
    .interval_seconds = 600,
    .run2 = expire_run,
    .first_run_seconds = 30,
    .jitter_seconds = 60,
    .deadline_seconds = 120,
    .flags = ORCHARD_JOB_ONE_INSTANCE,
};
