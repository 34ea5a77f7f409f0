/* What every server-state table says when its store read fails, so the
 * tables read alike: no store yet (no store.sqlite or store.postgres, or
 * `orchard serve` has not created it) or a store failure. */
#ifndef ORCHARD_SERVER_TABLE_STORE_H
#define ORCHARD_SERVER_TABLE_STORE_H

#include <orchard/plugin.h>

/**
 * The generate callback's return for a store read that ended with `rc`:
 * 0 for 0; else host->fail's code with the message for table `table`.
 * ORCHARD_ENOTFOUND and ORCHARD_ENOTCONFIGURED mean there is no store.
 */
int orchard_table_store_result(orchard_ctx *ctx, const char *table, int rc);

/**
 * The value of a `column = X` constraint of the query (borrowed from it),
 * or NULL: the tables that read one row by key when asked to.
 */
const char *orchard_table_eq(const orchard_query_ctx *query, const char *column);

#endif
