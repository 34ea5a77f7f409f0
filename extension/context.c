/* Query context decoding: osquery's JSON and SQLite's constraints end in the
 * same struct, so a table's generate sees one thing whatever asked. */
#include "context.h"

#include "columns.h"

#include <glib.h>
#include <json-glib/json-glib.h>
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

orchard_query_ctx *orchard_ctx_new(void)
{
    orchard_query_ctx *ctx = g_new0(orchard_query_ctx, 1);
    ctx->constraints = g_array_new(FALSE, TRUE, sizeof(constraint));
    g_array_set_clear_func(ctx->constraints, constraint_clear);
    return ctx;
}

void orchard_ctx_free(orchard_query_ctx *ctx)
{
    if (!ctx)
        return;
    g_array_unref(ctx->constraints);
    if (ctx->used)
        g_hash_table_destroy(ctx->used);
    g_free(ctx);
}

void orchard_ctx_add(orchard_query_ctx *ctx, const char *column, int op, const char *expr)
{
    constraint c = {g_strdup(column), op, g_strdup(expr)};
    g_array_append_val(ctx->constraints, c);
}

void orchard_ctx_mark_used(orchard_query_ctx *ctx, const char *column)
{
    if (!ctx->used)
        ctx->used = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_add(ctx->used, g_strdup(column));
}

size_t orchard_ctx_count(const orchard_query_ctx *ctx)
{
    return ctx ? ctx->constraints->len : 0;
}

int orchard_ctx_get(const orchard_query_ctx *ctx, size_t i, const char **column,
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

int orchard_ctx_column_used(const orchard_query_ctx *ctx, const char *column)
{
    if (!ctx || !ctx->used)
        return 1;
    return g_hash_table_contains(ctx->used, column) ? 1 : 0;
}

const char *orchard_ctx_missing_required(const orchard_query_ctx *ctx,
                                         const orchard_table *table)
{
    for (size_t i = 0; i < table->n_columns; i++) {
        const orchard_column *col = table->columns[i];
        int found = 0;
        if (!(col->options & ORCHARD_COLUMN_REQUIRED))
            continue;
        for (size_t j = 0; j < orchard_ctx_count(ctx) && !found; j++) {
            const constraint *c = &g_array_index(ctx->constraints, constraint, j);
            found = c->op == ORCHARD_OP_EQ && strcmp(c->column, col->name) == 0;
        }
        if (!found)
            return col->name;
    }
    return NULL;
}

/* json-glib's parser recurses per nesting level; refuse deep input before it
 * sees it. Counts brackets outside strings. */
static int json_depth_ok(const char *s, size_t len, int max)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == '[' || ch == '{') {
            if (++depth > max)
                return 0;
        } else if (ch == ']' || ch == '}') {
            depth--;
        }
    }
    return 1;
}

static int parse_op(JsonNode *node, int *op)
{
    if (JSON_NODE_HOLDS_VALUE(node)) {
        GType t = json_node_get_value_type(node);
        if (t == G_TYPE_INT64) {
            *op = (int)json_node_get_int(node);
            return 0;
        }
        if (t == G_TYPE_STRING) {
            char *end = NULL;
            const char *s = json_node_get_string(node);
            long v = strtol(s, &end, 10);
            if (end != s && *end == '\0' && v >= 0 && v < 256) {
                *op = (int)v;
                return 0;
            }
        }
    }
    return -1;
}

/* expr: osquery sends strings; tolerate numbers and null. */
static int parse_expr(JsonNode *node, char **expr)
{
    if (!node || JSON_NODE_HOLDS_NULL(node)) {
        *expr = NULL;
        return 0;
    }
    if (!JSON_NODE_HOLDS_VALUE(node))
        return -1;
    GType t = json_node_get_value_type(node);
    if (t == G_TYPE_STRING)
        *expr = g_strdup(json_node_get_string(node));
    else if (t == G_TYPE_INT64)
        *expr = g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(node));
    else if (t == G_TYPE_DOUBLE)
        *expr = g_strdup_printf("%.17g", json_node_get_double(node));
    else if (t == G_TYPE_BOOLEAN)
        *expr = g_strdup(json_node_get_boolean(node) ? "1" : "0");
    else
        return -1;
    return 0;
}

static int parse_constraint(const orchard_table *t, orchard_query_ctx *ctx,
                            JsonNode *node, char **error_msg)
{
    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        *error_msg = g_strdup("context: a constraint is not an object");
        return ORCHARD_EINVAL;
    }
    JsonObject *obj = json_node_get_object(node);
    JsonNode *name = json_object_get_member(obj, "name");
    JsonNode *list = json_object_get_member(obj, "list");
    if (!name || !JSON_NODE_HOLDS_VALUE(name) ||
        json_node_get_value_type(name) != G_TYPE_STRING) {
        *error_msg = g_strdup("context: a constraint has no string \"name\"");
        return ORCHARD_EINVAL;
    }
    const char *column = json_node_get_string(name);
    const orchard_column *col = orchard_table_column(t, column);
    if (!list || (JSON_NODE_HOLDS_VALUE(list) &&
                  json_node_get_value_type(list) == G_TYPE_STRING &&
                  *json_node_get_string(list) == '\0'))
        return 0; /* old osquery: "list": "" means none */
    if (!JSON_NODE_HOLDS_ARRAY(list)) {
        *error_msg = g_strdup_printf("context: constraint list of %s is not an array", column);
        return ORCHARD_EINVAL;
    }
    JsonArray *arr = json_node_get_array(list);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *item = json_array_get_element(arr, i);
        int op;
        char *expr = NULL;
        if (!JSON_NODE_HOLDS_OBJECT(item)) {
            *error_msg = g_strdup_printf("context: constraint %u on %s is not an object", i, column);
            return ORCHARD_EINVAL;
        }
        JsonObject *o = json_node_get_object(item);
        JsonNode *opn = json_object_get_member(o, "op");
        if (!opn || parse_op(opn, &op) != 0) {
            *error_msg = g_strdup_printf("context: constraint %u on %s has no valid \"op\"", i, column);
            return ORCHARD_EINVAL;
        }
        if (parse_expr(json_object_get_member(o, "expr"), &expr) != 0) {
            *error_msg = g_strdup_printf("context: constraint %u on %s has an invalid \"expr\"", i, column);
            return ORCHARD_EINVAL;
        }
        if (col && orchard_column_takes_constraints(col))
            orchard_ctx_add(ctx, column, op, expr);
        g_free(expr);
    }
    return 0;
}

static int parse_cols_used(orchard_query_ctx *ctx, JsonNode *node)
{
    if (!node || !JSON_NODE_HOLDS_ARRAY(node))
        return 0; /* absent or odd: treat every column as used */
    JsonArray *arr = json_node_get_array(node);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *n = json_array_get_element(arr, i);
        if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
            orchard_ctx_mark_used(ctx, json_node_get_string(n));
    }
    return 0;
}

int orchard_ctx_from_json(const orchard_table *table, const char *json, size_t len,
                          orchard_query_ctx **out, char **error_msg)
{
    g_autoptr(JsonParser) parser = NULL;
    g_autoptr(GError) err = NULL;
    orchard_query_ctx *ctx = orchard_ctx_new();
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
        goto fail;
    }
    if (!json_depth_ok(json, len, ORCHARD_CTX_MAX_DEPTH)) {
        *error_msg = g_strdup_printf("context: nested deeper than %d", ORCHARD_CTX_MAX_DEPTH);
        rc = ORCHARD_ETOOBIG;
        goto fail;
    }
    parser = json_parser_new_immutable();
    if (!json_parser_load_from_data(parser, json, (gssize)len, &err)) {
        *error_msg = g_strdup_printf("context: not JSON: %s", err->message);
        rc = ORCHARD_EINVAL;
        goto fail;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        *error_msg = g_strdup("context: not a JSON object");
        rc = ORCHARD_EINVAL;
        goto fail;
    }
    JsonObject *obj = json_node_get_object(root);
    JsonNode *cons = json_object_get_member(obj, "constraints");
    if (cons && JSON_NODE_HOLDS_ARRAY(cons)) {
        JsonArray *arr = json_node_get_array(cons);
        for (guint i = 0; i < json_array_get_length(arr) && rc == 0; i++)
            rc = parse_constraint(table, ctx, json_array_get_element(arr, i), error_msg);
        if (rc)
            goto fail;
    } else if (cons && !(JSON_NODE_HOLDS_VALUE(cons) &&
                         json_node_get_value_type(cons) == G_TYPE_STRING)) {
        *error_msg = g_strdup("context: \"constraints\" is not an array");
        rc = ORCHARD_EINVAL;
        goto fail;
    }
    parse_cols_used(ctx, json_object_get_member(obj, "colsUsed"));
    *out = ctx;
    return 0;

fail:
    orchard_ctx_free(ctx);
    return rc;
}
