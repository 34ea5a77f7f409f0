/*
 * SQLite virtual-table module over an orchard_table, in the order SQLite
 * calls its methods. Example:
 *
 *   sqlite> select name, tables from orchard_plugins where name = 'orchard-core';
 *
 * xBestIndex passes constraints on columns that take them (INDEX, REQUIRED,
 * ADDITIONAL) to xFilter; xFilter turns them into an orchard_query_ctx and
 * runs generate once; SQLite re-applies every WHERE clause to the rows.
 */
#include "host/query/vtab.h"

#include "host/query/columns.h"
#include "host/query/context.h"
#include "host/log.h"
#include "host/query/rows.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sqlite3_vtab base;
    const orchard_table *table;
} orchard_vtab;

typedef struct {
    sqlite3_vtab_cursor base;
    orchard_rows *rows;
    size_t row;
} orchard_cursor;

char *orchard_vtab_schema(const orchard_table *table)
{
    GString *s = g_string_new("CREATE TABLE x(");
    for (size_t i = 0; i < table->n_columns; i++) {
        const orchard_column *c = table->columns[i];
        g_string_append_printf(s, "%s\"%s\" %s%s", i ? ", " : "", c->name, orchard_column_type_name(c->type),
                               (c->options & ORCHARD_COLUMN_HIDDEN) ? " HIDDEN" : "");
    }
    g_string_append_c(s, ')');
    return g_string_free(s, FALSE);
}

static int vtab_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                        sqlite3_vtab **out, char **err)
{
    (void)argc;
    (void)argv;
    const orchard_table *table = aux;
    g_autofree char *schema = orchard_vtab_schema(table);
    int rc = sqlite3_declare_vtab(db, schema);
    if (rc != SQLITE_OK) {
        *err = sqlite3_mprintf("%s: cannot declare columns: %s", table->name, sqlite3_errmsg(db));
        return rc;
    }
    orchard_vtab *v = sqlite3_malloc(sizeof *v);
    if (!v)
        return SQLITE_NOMEM;
    memset(v, 0, sizeof *v);
    v->table = table;
    *out = &v->base;
    return SQLITE_OK;
}

static int op_has_value(int op)
{
    return op != ORCHARD_OP_ISNULL && op != ORCHARD_OP_ISNOTNULL && op >= ORCHARD_OP_EQ &&
           op <= ORCHARD_OP_IS;
}

/* idxStr carries the plan to xFilter: "<colUsed hex>;<col>:<op>,..." with
 * one entry per argv value in argv order. */
static int vtab_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
    const orchard_table *t = ((orchard_vtab *)vt)->table;
    GString *plan = g_string_new(NULL);
    double cost = 1e6;
    int argv_index = 0;

    g_string_printf(plan, "%llx;", (unsigned long long)info->colUsed);
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (!c->usable || c->iColumn < 0 || (size_t)c->iColumn >= t->n_columns)
            continue;
        const orchard_column *col = t->columns[c->iColumn];
        if (!orchard_column_takes_constraints(col) || !op_has_value(c->op))
            continue;
        info->aConstraintUsage[i].argvIndex = ++argv_index;
        info->aConstraintUsage[i].omit = 0; /* SQLite re-checks every row */
        g_string_append_printf(plan, "%s%d:%d", argv_index > 1 ? "," : "", c->iColumn, c->op);
        if (c->op == SQLITE_INDEX_CONSTRAINT_EQ)
            cost /= (col->options & ORCHARD_COLUMN_INDEX) ? 1000 : 10;
    }
    /* A REQUIRED column with no usable EQ: make this plan impossible. */
    for (size_t k = 0; k < t->n_columns; k++) {
        if (!(t->columns[k]->options & ORCHARD_COLUMN_REQUIRED))
            continue;
        int found = 0;
        for (int i = 0; i < info->nConstraint && !found; i++)
            found = info->aConstraint[i].usable && info->aConstraint[i].iColumn == (int)k &&
                    info->aConstraint[i].op == SQLITE_INDEX_CONSTRAINT_EQ;
        if (!found) {
            g_string_free(plan, TRUE);
            return SQLITE_CONSTRAINT;
        }
    }
    info->idxStr = sqlite3_mprintf("%s", plan->str);
    info->needToFreeIdxStr = 1;
    info->estimatedCost = cost;
    g_string_free(plan, TRUE);
    return info->idxStr ? SQLITE_OK : SQLITE_NOMEM;
}

static int vtab_disconnect(sqlite3_vtab *vt)
{
    sqlite3_free(vt);
    return SQLITE_OK;
}

static int vtab_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
    (void)vt;
    orchard_cursor *cur = sqlite3_malloc(sizeof *cur);
    if (!cur)
        return SQLITE_NOMEM;
    memset(cur, 0, sizeof *cur);
    *out = &cur->base;
    return SQLITE_OK;
}

static int vtab_close(sqlite3_vtab_cursor *c)
{
    orchard_cursor *cur = (orchard_cursor *)c;
    orchard_rows_free(cur->rows);
    sqlite3_free(cur);
    return SQLITE_OK;
}

static orchard_query_ctx *ctx_from_plan(const orchard_table *t, const char *plan, int argc,
                                        sqlite3_value **argv)
{
    orchard_query_ctx *ctx = orchard_query_ctx_new();
    char *end = NULL;
    unsigned long long used = plan ? strtoull(plan, &end, 16) : ~0ull;

    for (size_t k = 0; k < t->n_columns; k++)
        if (used & (1ull << (k < 63 ? k : 63)))
            orchard_query_ctx_mark_used(ctx, t->columns[k]->name);
    const char *p = end && *end == ';' ? end + 1 : "";
    for (int i = 0; i < argc && *p; i++) {
        int col = (int)strtol(p, &end, 10);
        int op = (*end == ':') ? (int)strtol(end + 1, &end, 10) : 0;
        p = (*end == ',') ? end + 1 : end;
        if (col < 0 || (size_t)col >= t->n_columns)
            continue;
        const unsigned char *text = sqlite3_value_text(argv[i]);
        orchard_query_ctx_add(ctx, t->columns[col]->name, op, (const char *)text);
    }
    return ctx;
}

static int vtab_filter(sqlite3_vtab_cursor *c, int idx_num, const char *idx_str, int argc,
                       sqlite3_value **argv)
{
    (void)idx_num;
    orchard_cursor *cur = (orchard_cursor *)c;
    orchard_vtab *vt = (orchard_vtab *)c->pVtab;
    orchard_query_ctx *ctx = ctx_from_plan(vt->table, idx_str, argc, argv);

    orchard_rows_free(cur->rows);
    cur->rows = NULL;
    cur->row = 0;
    int rc = orchard_table_generate(vt->table, ctx, &cur->rows);
    orchard_query_ctx_free(ctx);
    if (rc != 0) {
        sqlite3_free(vt->base.zErrMsg);
        vt->base.zErrMsg = sqlite3_mprintf("%s", orchard_rows_error(cur->rows));
        return SQLITE_ERROR;
    }
    return SQLITE_OK;
}

static int vtab_next(sqlite3_vtab_cursor *c)
{
    ((orchard_cursor *)c)->row++;
    return SQLITE_OK;
}

static int vtab_eof(sqlite3_vtab_cursor *c)
{
    orchard_cursor *cur = (orchard_cursor *)c;
    return !cur->rows || cur->row >= orchard_rows_count(cur->rows);
}

/* Values travel as text (as on osquery's wire); typed columns are given to
 * SQLite as numbers when the whole text parses, else as the text itself. */
static int vtab_column(sqlite3_vtab_cursor *c, sqlite3_context *sctx, int i)
{
    orchard_cursor *cur = (orchard_cursor *)c;
    const orchard_table *t = ((orchard_vtab *)c->pVtab)->table;
    const char *v = orchard_rows_get(cur->rows, cur->row)[i];
    char *end = NULL;

    if (!v) {
        sqlite3_result_null(sctx);
        return SQLITE_OK;
    }
    switch (t->columns[i]->type) {
    case ORCHARD_TYPE_INTEGER:
    case ORCHARD_TYPE_BIGINT:
    case ORCHARD_TYPE_UNSIGNED_BIGINT: {
        long long n = strtoll(v, &end, 10);
        if (*v && end && *end == '\0') {
            sqlite3_result_int64(sctx, n);
            return SQLITE_OK;
        }
        break;
    }
    case ORCHARD_TYPE_DOUBLE: {
        double d = strtod(v, &end);
        if (*v && end && *end == '\0') {
            sqlite3_result_double(sctx, d);
            return SQLITE_OK;
        }
        break;
    }
    default:
        break;
    }
    sqlite3_result_text(sctx, v, -1, SQLITE_TRANSIENT);
    return SQLITE_OK;
}

static int vtab_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *rowid)
{
    *rowid = (sqlite3_int64)((orchard_cursor *)c)->row;
    return SQLITE_OK;
}

static const sqlite3_module orchard_module = {
    /* iVersion    */ 0,
    /* xCreate     */ NULL, /* eponymous-only: usable by name, never CREATEd */
    /* xConnect    */ vtab_connect,
    /* xBestIndex  */ vtab_best_index,
    /* xDisconnect */ vtab_disconnect,
    /* xDestroy    */ NULL,
    /* xOpen       */ vtab_open,
    /* xClose      */ vtab_close,
    /* xFilter     */ vtab_filter,
    /* xNext       */ vtab_next,
    /* xEof        */ vtab_eof,
    /* xColumn     */ vtab_column,
    /* xRowid      */ vtab_rowid,
    /* xUpdate     */ NULL, /* read-only */
    /* xBegin      */ NULL,
    /* xSync       */ NULL,
    /* xCommit     */ NULL,
    /* xRollback   */ NULL,
    /* xFindMethod */ NULL,
    /* xRename     */ NULL,
    /* xSavepoint  */ NULL,
    /* xRelease    */ NULL,
    /* xRollbackTo */ NULL,
    /* xShadowName */ NULL,
};

int orchard_vtab_attach(sqlite3 *db, const orchard_registry *reg, char **error_msg)
{
    for (size_t i = 0; i < orchard_registry_table_count(reg); i++) {
        const orchard_table *t = orchard_registry_table(reg, i);
        if (sqlite3_create_module_v2(db, t->name, &orchard_module, (void *)t, NULL) !=
            SQLITE_OK) {
            *error_msg = g_strdup_printf("cannot register table %s: %s", t->name,
                                         sqlite3_errmsg(db));
            return ORCHARD_EIO;
        }
    }
    return 0;
}
