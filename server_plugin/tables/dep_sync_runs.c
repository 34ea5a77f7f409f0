/* STUB (lead, issue 13 contract): the dep_sync_runs table, registered so the
 * plugin links; the views' engineer replaces this file. */
#include "dep_sync_runs.gen.h"

int dep_sync_runs_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                  void *payload)
{
    (void)ctx, (void)query, (void)rows, (void)payload;
    return 0;
}
