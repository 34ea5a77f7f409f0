/* Row storage: each row is one allocation (pointer array, then the string
 * bytes), so a large result costs one malloc per row, not per value. */
#include "host/query/rows.h"

#include "host/plugins/plugin_ctx.h"
#include "host/plugins/registry.h"

#include "host/log.h"

#include <glib.h>
#include <stdarg.h>
#include <string.h>

struct orchard_rows {
    const orchard_table *table;
    GPtrArray *rows;
    size_t bytes;
    size_t max_bytes;
    int overflowed; /* row_add refused a row for size */
    char *error;
};

orchard_rows *orchard_rows_new(const orchard_table *table, size_t max_bytes)
{
    orchard_rows *r = g_new0(orchard_rows, 1);
    r->table = table;
    r->rows = g_ptr_array_new_with_free_func(g_free);
    r->max_bytes = max_bytes ? max_bytes : ORCHARD_ROWS_MAX_BYTES;
    return r;
}

void orchard_rows_free(orchard_rows *rows)
{
    if (!rows)
        return;
    g_ptr_array_unref(rows->rows);
    g_free(rows->error);
    g_free(rows);
}

size_t orchard_rows_count(const orchard_rows *rows) { return rows->rows->len; }

const char *const *orchard_rows_get(const orchard_rows *rows, size_t i)
{
    return i < rows->rows->len ? g_ptr_array_index(rows->rows, i) : NULL;
}

const char *orchard_rows_error(const orchard_rows *rows) { return rows->error; }

void orchard_rows_clear(orchard_rows *rows)
{
    g_ptr_array_set_size(rows->rows, 0);
    rows->bytes = 0;
}

int orchard_rows_add(orchard_rows *rows, const char *const *values, size_t n_values)
{
    size_t n = rows ? rows->table->n_columns : 0;
    size_t data = 0;

    if (!rows || !values || n_values != n)
        return ORCHARD_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (values[i])
            data += strlen(values[i]) + 1;
    size_t total = n * sizeof(char *) + data;
    if (rows->bytes + total > rows->max_bytes) {
        rows->overflowed = 1;
        if (!rows->error)
            rows->error = g_strdup_printf("result of %s is over %zu bytes", rows->table->name,
                                          rows->max_bytes);
        return ORCHARD_ETOOBIG;
    }
    char **row = g_try_malloc(total ? total : 1);
    if (!row)
        return ORCHARD_ENOMEM;
    char *p = (char *)(row + n);
    for (size_t i = 0; i < n; i++) {
        if (!values[i]) {
            row[i] = NULL;
            continue;
        }
        size_t len = strlen(values[i]) + 1;
        memcpy(p, values[i], len);
        row[i] = p;
        p += len;
    }
    g_ptr_array_add(rows->rows, row);
    rows->bytes += total;
    return 0;
}

void orchard_rows_fail(orchard_rows *rows, const char *fmt, ...)
{
    va_list ap;
    if (!rows)
        return;
    va_start(ap, fmt);
    g_free(rows->error);
    rows->error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

int orchard_table_generate(const orchard_table *table, const orchard_query_ctx *ctx,
                           orchard_rows **out)
{
    orchard_rows *rows = orchard_rows_new(table, 0);
    orchard_ctx *pctx = orchard_registry_ctx_of(orchard_registry_global(), table);
    int rc = orchard_call_generate(pctx, table, ctx, rows);
    if (rc == 0 && rows->overflowed)
        rc = ORCHARD_ETOOBIG; /* a truncated result would be a wrong answer */
    if (rc != 0) {
        orchard_rows_clear(rows);
        if (!rows->error)
            rows->error = g_strdup_printf("%s: %s", table->name, orchard_strerror(rc));
    }
    *out = rows;
    return rc;
}
