/* The test table's generate: exercises the host API as a plugin would. */
#include "tests/host/test_table.h"

#include "host/plugins/registry.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

test_table_state test_table_seen;

void test_table_reset(int rows)
{
    memset(&test_table_seen, 0, sizeof test_table_seen);
    test_table_seen.rows = rows;
}

static int test_generate(const orchard_query_ctx *ctx, orchard_rows *rows, void *payload)
{
    (void)payload;
    const orchard_host_api *host = orchard_host_api_get();
    test_table_state *s = &test_table_seen;
    s->calls++;
    s->n_constraints = host->ctx_count(ctx);
    for (size_t i = 0; i < s->n_constraints; i++) {
        const char *col, *expr;
        int op;
        host->ctx_get(ctx, i, &col, &op, &expr);
        snprintf(s->last_constraint, sizeof s->last_constraint, "%s %d %s", col, op,
                 expr ? expr : "NULL");
    }
    s->name_used = host->ctx_column_used(ctx, "name");
    if (s->fail) {
        host->rows_fail(rows, "test table failed on purpose");
        return ORCHARD_EIO;
    }
    for (int r = 0; r < s->rows; r++) {
        char id[16], name[32];
        snprintf(id, sizeof id, "%d", r + 1);
        snprintf(name, sizeof name, "row %d", r + 1);
        const char *values[3] = {id, name, r % 2 ? NULL : "s"};
        int rc = host->row_add(rows, values, 3);
        if (rc && !s->ignore_errors)
            return rc;
    }
    return 0;
}

static const orchard_column col_id = {
    ORCHARD_STRUCT_HEADER(orchard_column), .name = "id", .type = ORCHARD_TYPE_INTEGER, .options = ORCHARD_COLUMN_INDEX,
    .description = "id"};
static const orchard_column col_name = {
    ORCHARD_STRUCT_HEADER(orchard_column), .name = "name", .type = ORCHARD_TYPE_TEXT, .options = 0,
    .description = "name"};
static const orchard_column col_secret = {
    ORCHARD_STRUCT_HEADER(orchard_column), .name = "secret", .type = ORCHARD_TYPE_TEXT, .options = ORCHARD_COLUMN_HIDDEN,
    .description = "hidden"};
static const orchard_column *const cols[] = {&col_id, &col_name, &col_secret};

/* A v1 table: generate without the plugin context. */
const orchard_table test_table = {ORCHARD_STRUCT_HEADER(orchard_table), .name = "test_table",
                                  .description = "test", .columns = cols, .n_columns = 3,
                                  .generate = test_generate};

static int required_generate(const orchard_query_ctx *ctx, orchard_rows *rows, void *payload)
{
    (void)payload;
    const orchard_host_api *host = orchard_host_api_get();
    for (size_t i = 0; i < host->ctx_count(ctx); i++) {
        const char *col, *expr;
        int op;
        host->ctx_get(ctx, i, &col, &op, &expr);
        if (op == ORCHARD_OP_EQ && strcmp(col, "key") == 0) {
            const char *values[2] = {expr, "v"};
            host->row_add(rows, values, 2);
        }
    }
    return 0;
}

static const orchard_column col_key = {
    ORCHARD_STRUCT_HEADER(orchard_column), .name = "key", .type = ORCHARD_TYPE_TEXT, .options = ORCHARD_COLUMN_REQUIRED,
    .description = "key"};
static const orchard_column col_value = {
    ORCHARD_STRUCT_HEADER(orchard_column), .name = "value", .type = ORCHARD_TYPE_TEXT, .options = 0,
    .description = "value"};
static const orchard_column *const req_cols[] = {&col_key, &col_value};

const orchard_table test_required_table = {
    ORCHARD_STRUCT_HEADER(orchard_table), .name = "test_required", .description = "test",
    .columns = req_cols, .n_columns = 2, .generate = required_generate};

static const orchard_table *const test_tables[] = {&test_table, &test_required_table};
static const orchard_plugin test_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin), .name = "test-plugin", .version = "9.9.9",
    .description = "tables for unit tests", .tables = test_tables, .n_tables = 2};

int test_plugin_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    (void)host;
    *out = &test_plugin;
    return 0;
}
