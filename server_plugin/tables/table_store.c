/* What the server-state tables share (table_store.h): one message for a
 * failed store read, and reading a key constraint. */
#include "server_plugin/tables/table_store.h"

#include "server_plugin/server.h"

#include <string.h>

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

const char *orchard_table_eq(const orchard_query_ctx *query, const char *column)
{
    const orchard_host_api *host = orchard_server_host;
    for (size_t i = 0; i < host->ctx_count(query); i++) {
        const char *col = NULL, *expr = NULL;
        int op = 0;
        if (host->ctx_get(query, i, &col, &op, &expr) == 0 && op == ORCHARD_OP_EQ && expr &&
            strcmp(col, column) == 0)
            return expr;
    }
    return NULL;
}
