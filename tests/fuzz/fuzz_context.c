/* Fuzz target: osquery's query-context JSON (Extension.call's
 * request["context"], sent by whoever reaches the extension socket) decoded
 * by orchard_query_ctx_from_json for the orchard_plugins table, then read back
 * through the accessors tables use. */
#include "tests/fuzz/fuzz.h"

#include "host/query/context.h"
#include "orchard_plugins.gen.h"

#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const orchard_table *t = &orchard_table_orchard_plugins;
    orchard_query_ctx *ctx = NULL;
    char *err = NULL;

    if (orchard_query_ctx_from_json(t, (const char *)data, size, &ctx, &err) == 0) {
        const char *column, *expr;
        int op;
        (void)orchard_query_ctx_missing_required(ctx, t);
        for (size_t i = 0; i < orchard_query_ctx_count(ctx); i++)
            if (orchard_query_ctx_get(ctx, i, &column, &op, &expr) == 0)
                (void)orchard_query_ctx_column_used(ctx, column);
        for (size_t i = 0; i < t->n_columns; i++)
            (void)orchard_query_ctx_column_used(ctx, t->columns[i]->name);
        orchard_query_ctx_free(ctx);
    }
    g_free(err);
    return 0;
}
