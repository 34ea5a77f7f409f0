/* `orchard query [--json] "SQL"`: every registered table as an SQLite
 * virtual table in an in-memory database; rows printed as an aligned table
 * (like osqueryi) or as one JSON array of objects. */
#include "host/args.h"
#include "host/commands.h"
#include "host/log.h"
#include "host/plugins/registry.h"
#include "host/query/vtab.h"

#include <glib.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    int ncol;
    char **names;
    GPtrArray *rows; /* char** of ncol, NULL for SQL NULL */
} result_set;

static void result_clear(result_set *rs)
{
    if (rs->rows)
        g_ptr_array_unref(rs->rows);
    g_strfreev(rs->names);
    memset(rs, 0, sizeof *rs);
}

/* Print as osqueryi does: +---+ rules around a header and the rows. */
static void print_rule(const int *w, int n)
{
    for (int i = 0; i < n; i++) {
        putchar('+');
        for (int k = 0; k < w[i] + 2; k++)
            putchar('-');
    }
    puts("+");
}

static void print_cells(char **cells, const int *w, int n)
{
    for (int i = 0; i < n; i++) {
        const char *v = cells[i] ? cells[i] : "";
        long len = g_utf8_strlen(v, -1);
        printf("| %s%*s ", v, (int)(w[i] - len), "");
    }
    puts("|");
}

static void print_table(const result_set *rs)
{
    int *w = g_new0(int, rs->ncol);
    for (int i = 0; i < rs->ncol; i++)
        w[i] = (int)g_utf8_strlen(rs->names[i], -1);
    for (guint r = 0; r < rs->rows->len; r++) {
        char **row = g_ptr_array_index(rs->rows, r);
        for (int i = 0; i < rs->ncol; i++)
            if (row[i] && (int)g_utf8_strlen(row[i], -1) > w[i])
                w[i] = (int)g_utf8_strlen(row[i], -1);
    }
    print_rule(w, rs->ncol);
    print_cells(rs->names, w, rs->ncol);
    print_rule(w, rs->ncol);
    for (guint r = 0; r < rs->rows->len; r++)
        print_cells(g_ptr_array_index(rs->rows, r), w, rs->ncol);
    if (rs->rows->len)
        print_rule(w, rs->ncol);
    g_free(w);
}

static json_t *json_value(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT: return json_real(sqlite3_column_double(st, i));
    case SQLITE_NULL: return json_null();
    default: {
        const char *text = (const char *)sqlite3_column_text(st, i);
        if (g_utf8_validate(text, -1, NULL))
            return json_string(text);
        g_autofree char *valid = g_utf8_make_valid(text, -1); /* JSON is UTF-8 */
        return json_string(valid);
    }
    }
}

/* One row as a JSON object, printed as part of the array `orchard query
 * --json` streams (rows are never all held in memory). */
static void print_json_row(sqlite3_stmt *st, int ncol, int first)
{
    json_t *obj = json_object();
    for (int i = 0; i < ncol; i++)
        json_object_set_new(obj, sqlite3_column_name(st, i), json_value(st, i));
    char *text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputs(first ? "  " : ",\n  ", stdout);
    for (const char *p = text ? text : "{}"; *p; p++) { /* nest it one level */
        putchar(*p);
        if (*p == '\n')
            fputs("  ", stdout);
    }
    free(text);
    json_decref(obj);
}

/* Collect a statement's rows for the aligned table (widths need them all). */
static void collect_row(result_set *rs, sqlite3_stmt *st)
{
    size_t bytes = (size_t)rs->ncol * sizeof(char *);
    for (int i = 0; i < rs->ncol; i++) {
        const char *v = (const char *)sqlite3_column_text(st, i);
        bytes += v ? strlen(v) + 1 : 0;
    }
    char **row = g_malloc(bytes ? bytes : 1);
    char *p = (char *)(row + rs->ncol);
    for (int i = 0; i < rs->ncol; i++) {
        const char *v = (const char *)sqlite3_column_text(st, i);
        row[i] = v ? strcpy(p, v) : NULL;
        p += v ? strlen(v) + 1 : 0;
    }
    g_ptr_array_add(rs->rows, row);
}

/* Run every statement of `sql`; rows of all of them go to one output. */
static int run_sql(sqlite3 *db, const char *sql, int as_json)
{
    const char *tail = sql;
    int rc = 0, json_rows = 0;

    if (as_json)
        printf("[\n");
    while (tail && *tail && rc == 0) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, tail, -1, &st, &tail) != SQLITE_OK) {
            fprintf(stderr, "orchard query: %s\n", sqlite3_errmsg(db));
            rc = 1;
            break;
        }
        if (!st)
            continue; /* whitespace or a comment */
        result_set rs = {0};
        rs.ncol = sqlite3_column_count(st);
        rs.names = g_new0(char *, rs.ncol + 1);
        for (int i = 0; i < rs.ncol; i++)
            rs.names[i] = g_strdup(sqlite3_column_name(st, i));
        rs.rows = g_ptr_array_new_with_free_func(g_free);
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (as_json)
                print_json_row(st, rs.ncol, json_rows++ == 0);
            else
                collect_row(&rs, st);
        }
        if (step != SQLITE_DONE) {
            fprintf(stderr, "orchard query: %s\n", sqlite3_errmsg(db));
            rc = 1;
        } else if (!as_json && rs.ncol > 0) {
            print_table(&rs);
        }
        result_clear(&rs);
        sqlite3_finalize(st);
    }
    if (as_json)
        printf("%s]\n", json_rows ? "\n" : "");
    return rc;
}

int orchard_cmd_query(int argc, char **argv, void *payload)
{
    (void)payload;
    const char *sql = NULL;
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (orchard_arg_flag(argv[i], "json"))
            as_json = 1;
        else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "orchard query: unknown option %s\nusage: orchard query [--json] \"SQL\"\n",
                    argv[i]);
            return 2;
        } else if (!sql)
            sql = argv[i];
        else {
            fprintf(stderr, "orchard query: give the SQL as one argument (quote it)\n");
            return 2;
        }
    }
    if (!sql) {
        fprintf(stderr, "usage: orchard query [--json] \"SQL\"\n"
                        "example: orchard query \"select * from orchard_plugins\"\n");
        return 2;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        fprintf(stderr, "orchard query: cannot open SQLite: %s\n", sqlite3_errmsg(db));
        sqlite3_close(db);
        return 1;
    }
    g_autofree char *err = NULL;
    if (orchard_vtab_attach(db, orchard_registry_global(), &err) != 0) {
        fprintf(stderr, "orchard query: %s\n", err);
        sqlite3_close(db);
        return 1;
    }
    int rc = run_sql(db, sql, as_json);
    sqlite3_close(db);
    return rc;
}
