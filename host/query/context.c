/* Query context decoding: osquery's JSON and SQLite's constraints end in the
 * same struct, so a table's generate sees one thing whatever asked. */
#include "host/query/context.h"

#include "host/query/columns.h"

#include <glib.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *column;
    int op;
    char *expr;
} constraint;

struct orchard_query_ctx {
    GArray *constraints;  /* of constraint */
    GHashTable *used;     /* column name set; NULL: all columns used */
};

static void constraint_clear(gpointer p)
{
    constraint *c = p;
    g_free(c->column);
    g_free(c->expr);
}

orchard_query_ctx *orchard_query_ctx_new(void)
{
    orchard_query_ctx *ctx = g_new0(orchard_query_ctx, 1);
    ctx->constraints = g_array_new(FALSE, TRUE, sizeof(constraint));
    g_array_set_clear_func(ctx->constraints, constraint_clear);
    return ctx;
}

void orchard_query_ctx_free(orchard_query_ctx *ctx)
{
    if (!ctx)
        return;
    g_array_unref(ctx->constraints);
    if (ctx->used)
        g_hash_table_destroy(ctx->used);
    g_free(ctx);
}

void orchard_query_ctx_add(orchard_query_ctx *ctx, const char *column, int op, const char *expr)
{
    constraint c = {g_strdup(column), op, g_strdup(expr)};
    g_array_append_val(ctx->constraints, c);
}

void orchard_query_ctx_mark_used(orchard_query_ctx *ctx, const char *column)
{
    if (!ctx->used)
        ctx->used = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_add(ctx->used, g_strdup(column));
}

size_t orchard_query_ctx_count(const orchard_query_ctx *ctx)
{
    return ctx ? ctx->constraints->len : 0;
}

int orchard_query_ctx_get(const orchard_query_ctx *ctx, size_t i, const char **column,
                    int *op, const char **expr)
{
    if (!ctx || i >= ctx->constraints->len)
        return ORCHARD_ENOTFOUND;
    const constraint *c = &g_array_index(ctx->constraints, constraint, i);
    if (column)
        *column = c->column;
    if (op)
        *op = c->op;
    if (expr)
        *expr = c->expr;
    return 0;
}

int orchard_query_ctx_column_used(const orchard_query_ctx *ctx, const char *column)
{
    if (!ctx || !ctx->used)
        return 1;
    return g_hash_table_contains(ctx->used, column) ? 1 : 0;
}

const char *orchard_query_ctx_missing_required(const orchard_query_ctx *ctx,
                                         const orchard_table *table)
{
    for (size_t i = 0; i < table->n_columns; i++) {
        const orchard_column *col = table->columns[i];
        int found = 0;
        if (!(col->options & ORCHARD_COLUMN_REQUIRED))
            continue;
        for (size_t j = 0; j < orchard_query_ctx_count(ctx) && !found; j++) {
            const constraint *c = &g_array_index(ctx->constraints, constraint, j);
            found = c->op == ORCHARD_OP_EQ && strcmp(c->column, col->name) == 0;
        }
        if (!found)
            return col->name;
    }
    return NULL;
}

static int parse_op(const json_t *node, int *op)
{
    if (json_is_integer(node)) {
        json_int_t v = json_integer_value(node);
        if (v < 0 || v > 255)
            return -1;
        *op = (int)v;
        return 0;
    }
    if (json_is_string(node)) { /* old osquery sent the op as a string */
        char *end = NULL;
        const char *s = json_string_value(node);
        long v = strtol(s, &end, 10);
        if (end != s && *end == '\0' && v >= 0 && v < 256) {
            *op = (int)v;
            return 0;
        }
    }
    return -1;
}

/* expr: osquery sends strings; tolerate numbers, booleans and null. */
static int parse_expr(const json_t *node, char **expr)
{
    *expr = NULL;
    if (!node || json_is_null(node))
        return 0;
    if (json_is_string(node))
        *expr = g_strdup(json_string_value(node));
    else if (json_is_integer(node))
        *expr = g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(node));
    else if (json_is_real(node))
        *expr = g_strdup_printf("%.17g", json_real_value(node));
    else if (json_is_boolean(node))
        *expr = g_strdup(json_is_true(node) ? "1" : "0");
    else
        return -1;
    return 0;
}

static int parse_constraint(const orchard_table *t, orchard_query_ctx *ctx, const json_t *node,
                            char **error_msg)
{
    if (!json_is_object(node)) {
        *error_msg = g_strdup("context: a constraint is not an object");
        return ORCHARD_EINVAL;
    }
    const json_t *name = json_object_get(node, "name");
    const json_t *list = json_object_get(node, "list");
    if (!json_is_string(name)) {
        *error_msg = g_strdup("context: a constraint has no string \"name\"");
        return ORCHARD_EINVAL;
    }
    const char *column = json_string_value(name);
    const orchard_column *col = orchard_table_column(t, column);
    if (!list || (json_is_string(list) && json_string_length(list) == 0))
        return 0; /* old osquery: "list": "" means none */
    if (!json_is_array(list)) {
        *error_msg = g_strdup_printf("context: constraint list of %s is not an array", column);
        return ORCHARD_EINVAL;
    }
    size_t i;
    const json_t *item;
    json_array_foreach(list, i, item) {
        int op;
        char *expr = NULL;
        if (!json_is_object(item)) {
            *error_msg = g_strdup_printf("context: constraint %zu on %s is not an object", i,
                                         column);
            return ORCHARD_EINVAL;
        }
        const json_t *opn = json_object_get(item, "op");
        if (!opn || parse_op(opn, &op) != 0) {
            *error_msg = g_strdup_printf("context: constraint %zu on %s has no valid \"op\"", i,
                                         column);
            return ORCHARD_EINVAL;
        }
        if (parse_expr(json_object_get(item, "expr"), &expr) != 0) {
            *error_msg = g_strdup_printf("context: constraint %zu on %s has an invalid \"expr\"",
                                         i, column);
            return ORCHARD_EINVAL;
        }
        if (col && orchard_column_takes_constraints(col))
            orchard_query_ctx_add(ctx, column, op, expr);
        g_free(expr);
    }
    return 0;
}

static void parse_cols_used(orchard_query_ctx *ctx, const json_t *node)
{
    size_t i;
    const json_t *n;
    if (!json_is_array(node))
        return; /* absent or odd: treat every column as used */
    json_array_foreach(node, i, n)
        if (json_is_string(n))
            orchard_query_ctx_mark_used(ctx, json_string_value(n));
}

static int parse_context(const orchard_table *table, orchard_query_ctx *ctx, const json_t *root,
                         char **error_msg)
{
    const json_t *cons = json_object_get(root, "constraints");
    if (json_is_array(cons)) {
        size_t i;
        const json_t *c;
        json_array_foreach(cons, i, c) {
            int rc = parse_constraint(table, ctx, c, error_msg);
            if (rc)
                return rc;
        }
    } else if (cons && !json_is_string(cons)) {
        *error_msg = g_strdup("context: \"constraints\" is not an array");
        return ORCHARD_EINVAL;
    }
    parse_cols_used(ctx, json_object_get(root, "colsUsed"));
    return 0;
}

int orchard_query_ctx_from_json(const orchard_table *table, const char *json, size_t len,
                          orchard_query_ctx **out, char **error_msg)
{
    json_error_t jerr;
    json_t *root = NULL;
    orchard_query_ctx *ctx = orchard_query_ctx_new();
    int rc = 0;

    *out = NULL;
    if (!json || len == 0 || (len == 2 && memcmp(json, "{}", 2) == 0)) {
        *out = ctx;
        return 0;
    }
    if (len > ORCHARD_CTX_MAX_BYTES) {
        *error_msg = g_strdup_printf("context: %zu bytes, over the %u byte cap", len,
                                     ORCHARD_CTX_MAX_BYTES);
        rc = ORCHARD_ETOOBIG;
        goto out;
    }
    /* jansson bounds its own recursion (2048 levels): deeper is refused. */
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        int deep = json_error_code(&jerr) == json_error_stack_overflow;
        *error_msg = g_strdup_printf("context: %s: %s (at byte %d)",
                                     deep ? "nested too deep" : "not JSON", jerr.text,
                                     jerr.position);
        rc = deep ? ORCHARD_ETOOBIG : ORCHARD_EINVAL;
        goto out;
    }
    if (!json_is_object(root)) {
        *error_msg = g_strdup("context: not a JSON object");
        rc = ORCHARD_EINVAL;
        goto out;
    }
    rc = parse_context(table, ctx, root, error_msg);
out:
    json_decref(root);
    if (rc) {
        orchard_query_ctx_free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}
