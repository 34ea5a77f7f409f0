/* Every registered table as an SQLite virtual table, for `orchard query`
 * (and the server's own SQL views later). Constraints SQLite offers on
 * INDEX/REQUIRED/ADDITIONAL columns reach generate as an orchard_query_ctx,
 * just as osquery's context does in extension mode. */
#ifndef ORCHARD_VTAB_H
#define ORCHARD_VTAB_H

#include "host/plugins/registry.h"

#include <sqlite3.h>

/**
 * Make each table of `reg` usable by name in `db` (eponymous virtual tables).
 * `reg` must outlive `db`. Returns 0 or ORCHARD_EIO with *error_msg (g_free).
 */
int orchard_vtab_attach(sqlite3 *db, const orchard_registry *reg, char **error_msg);

/** The CREATE TABLE statement that declares `table`'s columns (g_free). */
char *orchard_vtab_schema(const orchard_table *table);

#endif
