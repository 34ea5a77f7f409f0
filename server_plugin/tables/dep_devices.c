/* STUB (lead, issue 13 contract): the dep_devices table, registered so the
 * plugin links; the views' engineer replaces this file. */
#include "dep_devices.gen.h"

int dep_devices_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                  void *payload)
{
    (void)ctx, (void)query, (void)rows, (void)payload;
    return 0;
}
