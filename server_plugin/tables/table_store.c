/* The server-state tables' one message for a failed store read
 * (table_store.h). */
#include "server_plugin/tables/table_store.h"

#include "server_plugin/server.h"

int orchard_table_store_result(orchard_ctx *ctx, const char *table, int rc)
{
    const orchard_host_api *host = orchard_server_host;
    if (rc == ORCHARD_ENOTFOUND || rc == ORCHARD_ENOTCONFIGURED)
        return host->fail(ctx, rc, "%s: there is no store to read: store.sqlite and "
                                   "store.postgres are unset, or orchard serve has not set "
                                   "the store up yet",
                          table);
    if (rc)
        return host->fail(ctx, rc, "%s: reading the store failed (%s); see the log", table,
                          host->strerror(rc));
    return 0;
}
