/* STUB (lead, issue 13 contract): the "dep.sync" job and `orchard dep sync`,
 * registered so the plugin links; the sync's engineer replaces this file. */
#include "server_plugin/server.h"

#include <stdio.h>

static int dep_sync_job(orchard_ctx *ctx, void *payload)
{
    (void)ctx, (void)payload;
    return 0;
}

const orchard_job orchard_job_dep_sync = {
    ORCHARD_STRUCT_HEADER(orchard_job),
    .name = "dep.sync",
    .interval_seconds = 5,
    .run2 = dep_sync_job,
    .flags = ORCHARD_JOB_ONE_INSTANCE,
};

static int dep_sync_cmd(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    (void)ctx, (void)argc, (void)payload;
    fprintf(stderr, "orchard %s: not built yet\n", argv[0]);
    return 1;
}

const orchard_command orchard_cmd_dep_sync = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "dep sync",
    .summary = "Sync devices from Apple Business Manager once, in the foreground",
    .usage = "orchard dep sync [--config F]",
    .run2 = dep_sync_cmd,
};
