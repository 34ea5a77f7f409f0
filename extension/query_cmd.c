/* `orchard query [--json] "SQL"`: every registered table as an SQLite
 * virtual table in an in-memory database; rows printed as an aligned table
 * (like osqueryi) or as one JSON array of objects. */
#include "args.h"
#include "commands.h"
#include "log.h"
#include "registry.h"
#include "vtab.h"

#include <glib.h>
#include <json-glib/json-glib.h>
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

static void json_add_value(JsonBuilder *b, sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: json_builder_add_int_value(b, sqlite3_column_int64(st, i)); break;
    case SQLITE_FLOAT: json_builder_add_double_value(b, sqlite3_column_double(st, i)); break;
    case SQLITE_NULL: json_builder_add_null_value(b); break;
    default: json_builder_add_string_value(b, (const char *)sqlite3_column_text(st, i)); break;
    }
}

/* Run every statement of `sql`; rows of all of them go to one output. */
static int run_sql(sqlite3 *db, const char *sql, int as_json)
{
    const char *tail = sql;
    JsonBuilder *b = as_json ? json_builder_new() : NULL;
    int rc = 0;

    if (b)
        json_builder_begin_array(b);
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
            if (b) {
                json_builder_begin_object(b);
                for (int i = 0; i < rs.ncol; i++) {
                    json_builder_set_member_name(b, rs.names[i]);
                    json_add_value(b, st, i);
                }
                json_builder_end_object(b);
                continue;
            }
            /* One block: the pointer array, then the strings. */
            size_t bytes = (size_t)rs.ncol * sizeof(char *);
            for (int i = 0; i < rs.ncol; i++)
                bytes += sqlite3_column_text(st, i) ? strlen((const char *)sqlite3_column_text(st, i)) + 1 : 0;
            char **row = g_malloc(bytes ? bytes : 1);
            char *p = (char *)(row + rs.ncol);
            for (int i = 0; i < rs.ncol; i++) {
                const char *v = (const char *)sqlite3_column_text(st, i);
                row[i] = v ? strcpy(p, v) : NULL;
                p += v ? strlen(v) + 1 : 0;
            }
            g_ptr_array_add(rs.rows, row);
        }
        if (step != SQLITE_DONE) {
            fprintf(stderr, "orchard query: %s\n", sqlite3_errmsg(db));
            rc = 1;
        } else if (!b && rs.ncol > 0) {
            print_table(&rs);
        }
        result_clear(&rs);
        sqlite3_finalize(st);
    }
    if (b) {
        json_builder_end_array(b);
        if (rc == 0) {
            g_autoptr(JsonGenerator) gen = json_generator_new();
            g_autoptr(JsonNode) root = json_builder_get_root(b);
            json_generator_set_root(gen, root);
            json_generator_set_pretty(gen, TRUE);
            g_autofree char *text = json_generator_to_data(gen, NULL);
            puts(text);
        }
        g_object_unref(b);
    }
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
