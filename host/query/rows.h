/* A table's result: rows of nullable strings in the table's column order,
 * filled by generate through orchard_host_api.row_add and read by the
 * SQLite virtual table or the Thrift response. */
#ifndef ORCHARD_ROWS_H
#define ORCHARD_ROWS_H

#include <orchard/plugin.h>
#include <stddef.h>

/* Cap on one result, below Thrift's 100 MiB message limit. */
#define ORCHARD_ROWS_MAX_BYTES (64u << 20)

/** Empty rows for `table` (borrowed; must outlive the rows). max_bytes 0: default. */
orchard_rows *orchard_rows_new(const orchard_table *table, size_t max_bytes);
void orchard_rows_free(orchard_rows *rows);

size_t orchard_rows_count(const orchard_rows *rows);
/** Row i: n_columns values, NULL for SQL NULL. Borrowed from rows. */
const char *const *orchard_rows_get(const orchard_rows *rows, size_t i);
/** Why generate failed, or NULL. */
const char *orchard_rows_error(const orchard_rows *rows);
/** Drop every row (after a failed generate). */
void orchard_rows_clear(orchard_rows *rows);

/**
 * Run table->generate into a fresh rows object. Returns 0 and *out, or the
 * generate's negative code with *out still set so the caller can read
 * orchard_rows_error() (rows are cleared). Caller frees *out.
 */
int orchard_table_generate(const orchard_table *table, const orchard_query_ctx *ctx,
                           orchard_rows **out);

/* The orchard_host_api functions. */
int orchard_rows_add(orchard_rows *rows, const char *const *values, size_t n_values);
void orchard_rows_fail(orchard_rows *rows, const char *fmt, ...) ORCHARD_PRINTF(2, 3);

#endif
