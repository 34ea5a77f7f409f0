/* `orchard query [--json] [--timeout S] "SQL"`: every registered table as an
 * SQLite virtual table in an in-memory database; rows printed as an aligned
 * table (like osqueryi) or as one JSON array of objects. A query looks and
 * does not touch: the store is opened read-only (never created or migrated),
 * no other database file can be attached, and a time limit stops runaways. */
#include "host/args.h"
#include "host/commands.h"
#include "host/config.h"
#include "host/log.h"
#include "host/plugins/registry.h"
#include "host/query/vtab.h"
#include "host/store/store.h"

#include <glib.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define USAGE "usage: orchard query [--json] [--timeout SECONDS] \"SQL\"\n"
#define DEFAULT_TIMEOUT_S 60
#define MAX_TIMEOUT_S 86400
/* Virtual machine steps between two looks at the clock. */
#define PROGRESS_STEPS 10000

/* What the authorizer and the progress handler saw, for the messages. */
typedef struct {
    int denied;        /* SQLITE_ATTACH or SQLITE_DETACH refused at prepare; 0: none */
    gint64 deadline;   /* monotonic microseconds; 0: no limit */
    long timeout_s;
    int timed_out;
} query_guard;

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

/* ATTACH would open (VACUUM INTO: create) any file the user can reach,
 * and DETACH has nothing of ours to detach: both are refused at prepare. */
static int authorize(void *payload, int action, const char *a, const char *b, const char *c,
                     const char *d)
{
    query_guard *g = payload;
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    if (action == SQLITE_ATTACH || action == SQLITE_DETACH) {
        g->denied = action;
        return SQLITE_DENY;
    }
    return SQLITE_OK;
}

/* Nonzero interrupts the statement (SQLITE_INTERRUPT). */
static int on_progress(void *payload)
{
    query_guard *g = payload;
    if (g->deadline && g_get_monotonic_time() >= g->deadline)
        g->timed_out = 1;
    return g->timed_out;
}

/* Why a statement failed, in the user's terms where we know them better. */
static void print_failure(sqlite3 *db, const query_guard *g)
{
    if (g->denied == SQLITE_ATTACH)
        fprintf(stderr, "orchard query: ATTACH is not allowed: a query reads orchard's tables "
                        "and opens no other database file (VACUUM INTO is refused too)\n");
    else if (g->denied == SQLITE_DETACH)
        fprintf(stderr, "orchard query: DETACH is not allowed: a query has no other database "
                        "to detach\n");
    else if (g->timed_out)
        fprintf(stderr, "orchard query: the query ran past --timeout %ld s and was stopped "
                        "(the default is %d; --timeout 0: no limit)\n", g->timeout_s,
                DEFAULT_TIMEOUT_S);
    else
        fprintf(stderr, "orchard query: %s\n", sqlite3_errmsg(db));
}

/* Run every statement of `sql`; rows of all of them go to one output. */
static int run_sql(sqlite3 *db, const char *sql, int as_json, query_guard *g)
{
    const char *tail = sql;
    int rc = 0, json_rows = 0;

    if (as_json)
        printf("[\n");
    while (tail && *tail && rc == 0) {
        sqlite3_stmt *st = NULL;
        g->denied = 0;
        if (sqlite3_prepare_v2(db, tail, -1, &st, &tail) != SQLITE_OK) {
            print_failure(db, g);
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
            print_failure(db, g);
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

/* The nudge table skips a configured JSON file that is not there and reads
 * the Mac's own: say so, or a typo in --nudge_json looks like a result. */
static void warn_missing_nudge_json(void)
{
    const char *path = orchard_config_get(orchard_config_global(), "agent.nudge_json");
    if (path && *path && !g_file_test(path, G_FILE_TEST_EXISTS))
        fprintf(stderr, "orchard query: warning: --nudge_json (agent.nudge_json) %s: no such "
                        "file; the nudge table reads the Nudge files under the root instead\n",
                path);
}

typedef struct {
    const char *sql;
    int as_json;
    long timeout_s;
} query_args;

/* Returns 0, or 2 after printing a usage error. */
static int parse_args(int argc, char **argv, query_args *q)
{
    q->timeout_s = DEFAULT_TIMEOUT_S;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r = orchard_arg_value(&i, argc, argv, "timeout", &v);
        if (r != 0) {
            if (r < 0 || (q->timeout_s = orchard_arg_uint(v, MAX_TIMEOUT_S)) < 0) {
                fprintf(stderr, "orchard query: --timeout takes whole seconds from 0 (no "
                                "limit) to %d\n" USAGE, MAX_TIMEOUT_S);
                return 2;
            }
            i--; /* orchard_arg_value stepped past the value; the loop steps once more */
        } else if (orchard_arg_flag(argv[i], "json")) {
            q->as_json = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "orchard query: unknown option %s\n" USAGE, argv[i]);
            return 2;
        } else if (!q->sql) {
            q->sql = argv[i];
        } else {
            fprintf(stderr, "orchard query: give the SQL as one argument (quote it)\n");
            return 2;
        }
    }
    if (!q->sql) {
        fprintf(stderr, USAGE "example: orchard query \"select * from orchard_plugins\"\n");
        return 2;
    }
    return 0;
}

int orchard_cmd_query(int argc, char **argv, void *payload)
{
    (void)payload;
    query_args q = {0};
    query_guard guard = {0};
    int rc = parse_args(argc, argv, &q);
    if (rc)
        return rc;
    /* Before any table runs: a table that needs the store finds it read-only. */
    orchard_store_set_read_only(1);
    warn_missing_nudge_json();
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
        orchard_store_close();
        return 1;
    }
    /* After the tables are declared. The limit backs the authorizer up. */
    sqlite3_set_authorizer(db, authorize, &guard);
    sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
    guard.timeout_s = q.timeout_s;
    if (q.timeout_s > 0) {
        guard.deadline = g_get_monotonic_time() + (gint64)q.timeout_s * G_TIME_SPAN_SECOND;
        sqlite3_progress_handler(db, PROGRESS_STEPS, on_progress, &guard);
    }
    rc = run_sql(db, q.sql, q.as_json, &guard);
    sqlite3_close(db);
    /* Closing the last connection removes the -wal and -shm files it may
     * have made; left behind, they would belong to whoever ran the query. */
    orchard_store_close();
    return rc;
}
