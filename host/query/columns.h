/* Facts about columns shared by the SQLite and osquery faces of a table. */
#ifndef ORCHARD_COLUMNS_H
#define ORCHARD_COLUMNS_H

#include <orchard/plugin.h>

/** osquery's wire name of a type: "TEXT", "UNSIGNED BIGINT", ... */
const char *orchard_column_type_name(orchard_column_type type);

/** True when `col` may receive constraints (INDEX, REQUIRED or ADDITIONAL). */
int orchard_column_takes_constraints(const orchard_column *col);

/** The column of `table` called `name`, or NULL. */
const orchard_column *orchard_table_column(const orchard_table *table, const char *name);

#endif
