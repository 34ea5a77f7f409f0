/* Query context: the constraints a query puts on a table, decoded from
 * osquery's context JSON (extension mode) or from SQLite's xBestIndex/xFilter
 * (orchard query). Tables read it through orchard_host_api.ctx_*. */
#ifndef ORCHARD_CONTEXT_H
#define ORCHARD_CONTEXT_H

#include <orchard/plugin.h>
#include <stddef.h>

/* Cap on a context JSON; larger is refused, never parsed. */
#define ORCHARD_CTX_MAX_BYTES (1u << 20)

/** An empty context: no constraints, every column used. Never NULL. */
orchard_query_ctx *orchard_query_ctx_new(void);
void orchard_query_ctx_free(orchard_query_ctx *ctx);

/** Append a constraint (strings copied; expr may be NULL). */
void orchard_query_ctx_add(orchard_query_ctx *ctx, const char *column, int op, const char *expr);

/** Mark `column` used; once any column is marked, unmarked ones are unused. */
void orchard_query_ctx_mark_used(orchard_query_ctx *ctx, const char *column);

/** True when `column` may receive constraints (INDEX, REQUIRED or ADDITIONAL). */
int orchard_column_takes_constraints(const orchard_column *col);

/**
 * Decode osquery's context JSON for `table`:
 *   {"constraints":[{"name":C,"list":[{"op":2,"expr":"x"}],"affinity":"TEXT"}],
 *    "colsUsed":[...]}
 * Accepts the old forms too (op as a string, "list":"" for none); "" / "{}"
 * means no constraints. Constraints on columns the table lacks, or that take
 * no constraints, are dropped. Returns 0 and *out, or ORCHARD_EINVAL /
 * ORCHARD_ETOOBIG with *error_msg (g_free) saying what is wrong.
 */
int orchard_query_ctx_from_json(const orchard_table *table, const char *json, size_t len,
                          orchard_query_ctx **out, char **error_msg);

/** The column constrained with REQUIRED that has no EQ constraint, or NULL. */
const char *orchard_query_ctx_missing_required(const orchard_query_ctx *ctx,
                                         const orchard_table *table);

/* The orchard_host_api accessors. */
size_t orchard_query_ctx_count(const orchard_query_ctx *ctx);
int orchard_query_ctx_get(const orchard_query_ctx *ctx, size_t i, const char **column,
                    int *op, const char **expr);
int orchard_query_ctx_column_used(const orchard_query_ctx *ctx, const char *column);

#endif
