/* Statements of the PostgreSQL backend: prepared once per connection with
 * `?` rewritten to $n and parameter types left to the server, kept in a
 * bounded cache by their SQL text, bound as text (integers, text) or binary
 * (blobs), run on the first step, and read as text with bytea decoded from
 * its hex form. Migration scripts (exec) run statement by statement. */
#include "host/store/postgres/store_pg.h"
#include "host/store/postgres/store_pg_sql.h"

#include <orchard/plugin.h>
#include <stdlib.h>
#include <string.h>

/* Statements kept per connection. Plugins use a fixed set of SQL strings; a
 * plugin that builds SQL text on the fly would otherwise grow the server's
 * memory for the session forever. */
#define CACHE_MAX 256
#define BYTEA_OID 17

static void forget_row(pg_stmt *st)
{
    if (!st->decoded)
        return;
    int n = st->res ? PQnfields(st->res) : 0;
    for (int i = 0; i < n; i++)
        g_clear_pointer(&st->decoded[i], g_free);
}

/* Back to "prepared, nothing bound, not run". */
static void reset(pg_stmt *st)
{
    forget_row(st);
    g_clear_pointer(&st->decoded, g_free);
    g_clear_pointer(&st->decoded_len, g_free);
    PQclear(st->res);
    st->res = NULL;
    st->row = -1;
    st->changes = 0;
    for (int i = 0; i < st->n_params; i++) {
        g_clear_pointer(&st->values[i], g_free);
        st->lengths[i] = 0;
        st->formats[i] = 0;
    }
}

void pg_stmt_free(gpointer p)
{
    pg_stmt *st = p;
    reset(st);
    g_free(st->values);
    g_free(st->lengths);
    g_free(st->formats);
    g_free(st->sql);
    g_free(st);
}

int pg_conn_exec(pg_conn *c, const char *script)
{
    g_autofree char *why = NULL;
    GPtrArray *list = NULL;
    int rc = orchard_pg_sql_split(script, &list, &why);

    if (rc != 0)
        return pg_conn_failf(c, rc, "%s", why);
    for (guint i = 0; i < list->len && rc == 0; i++) {
        const char *sql = g_ptr_array_index(list, i);
        /* Checked before it runs: a COMMIT would already have committed. */
        if (orchard_pg_sql_is_session_control(sql))
            rc = pg_conn_failf(c, ORCHARD_EINVAL, "a migration cannot control "
                               "transactions: \"%.40s\"", sql);
        else {
            c->long_run = 1; /* CREATE INDEX on a big table takes its time */
            rc = pg_conn_run(c, sql);
            c->long_run = 0;
        }
    }
    g_ptr_array_unref(list);
    /* Delivered at commit to every session of every instance, this one's
     * too: their cached statements may describe tables that changed. */
    if (rc == 0)
        rc = pg_conn_run(c, "NOTIFY " PG_SCHEMA_CHANNEL);
    return rc;
}

/* prepare takes exactly one statement, said as the SQLite backend says it
 * (the server's own refusal of two names neither). */
static int one_statement(pg_conn *c, const char *sql)
{
    g_autofree char *why = NULL;
    GPtrArray *list = NULL;
    int rc = orchard_pg_sql_split(sql, &list, &why);

    if (rc != 0)
        return pg_conn_failf(c, rc, "%s", why);
    if (list->len == 0)
        rc = pg_conn_failf(c, ORCHARD_EINVAL, "no SQL statement in \"%.60s\"", sql);
    else if (list->len > 1)
        rc = pg_conn_failf(c, ORCHARD_EINVAL, "one statement per prepare: \"%.40s\" "
                           "follows the first", (const char *)g_ptr_array_index(list, 1));
    g_ptr_array_unref(list);
    return rc;
}

int pg_conn_prepare(pg_conn *c, const char *sql, pg_stmt **out)
{
    pg_stmt *st = g_hash_table_lookup(c->cache, sql);
    g_autofree char *text = NULL;
    g_autofree char *why = NULL;
    char name[24];
    int n = 0, rc;

    *out = NULL;
    /* Before the cache: a write kept from a write transaction is no less one. */
    if (!c->write && !orchard_pg_sql_reads_only(sql))
        return pg_conn_failf(c, ORCHARD_EINVAL, "a read transaction cannot write: \"%.60s\"",
                             sql);
    if (st) {
        /* Taken out while in use: the same SQL prepared again meanwhile gets
         * a statement of its own. */
        g_hash_table_steal(c->cache, sql);
        *out = st;
        return 0;
    }
    if ((rc = one_statement(c, sql)) != 0)
        return rc;
    if (orchard_pg_sql_is_session_control(sql))
        return pg_conn_failf(c, ORCHARD_EINVAL, "transactions and prepared statements belong "
                             "to the store: use store_begin and store_commit, not \"%.40s\"",
                             sql);
    if ((rc = orchard_pg_sql_rewrite(sql, &text, &n, &why)) != 0)
        return pg_conn_failf(c, rc, "%s", why);
    g_snprintf(name, sizeof name, "orchard_%u", ++c->next_name);
    PGresult *res = pg_conn_result(c, PQsendPrepare(c->pg, name, text, 0, NULL));
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = pg_conn_fail_result(c, res);
        PQclear(res);
        return rc;
    }
    PQclear(res);
    st = g_new0(pg_stmt, 1);
    st->conn = c;
    st->sql = g_strdup(sql);
    memcpy(st->name, name, sizeof name);
    st->n_params = n;
    st->values = g_new0(char *, n ? n : 1);
    st->lengths = g_new0(int, n ? n : 1);
    st->formats = g_new0(int, n ? n : 1);
    st->row = -1;
    *out = st;
    return 0;
}

void pg_conn_finish(pg_conn *c, pg_stmt *st)
{
    reset(st);
    if (!st->stale && g_hash_table_size(c->cache) < CACHE_MAX &&
        !g_hash_table_contains(c->cache, st->sql)) {
        g_hash_table_insert(c->cache, st->sql, st);
        return;
    }
    /* Not kept: the server forgets it at the next begin, which may be in a
     * failed transaction now, where DEALLOCATE would fail. */
    g_string_append_printf(c->dealloc, "DEALLOCATE %s;", st->name);
    pg_stmt_free(st);
}

/* Takes `value` (g_free). */
int pg_stmt_bind(pg_stmt *st, int i, char *value, int len, int format)
{
    if (i < 1 || i > st->n_params) {
        g_free(value);
        return pg_conn_failf(st->conn, ORCHARD_EINVAL, "parameter %d is out of range: the "
                             "statement has %d", i, st->n_params);
    }
    g_free(st->values[i - 1]);
    st->values[i - 1] = value;
    st->lengths[i - 1] = len;
    st->formats[i - 1] = format;
    return 0;
}

/* Rows a completed command changed; a read changed none, whatever
 * PQcmdTuples counts for it. */
static int64_t changed_rows(const PGresult *res)
{
    static const char *const writes[] = {"INSERT ", "UPDATE ", "DELETE ", "MERGE "};
    const char *status = PQcmdStatus((PGresult *)res);

    for (size_t i = 0; i < G_N_ELEMENTS(writes); i++)
        if (g_str_has_prefix(status, writes[i]))
            return g_ascii_strtoll(PQcmdTuples((PGresult *)res), NULL, 10);
    return 0;
}

int pg_stmt_step(pg_stmt *st)
{
    if (!st->res) {
        PGresult *res = pg_conn_result(st->conn,
            PQsendQueryPrepared(st->conn->pg, st->name, st->n_params,
                                (const char *const *)st->values, st->lengths, st->formats, 0));
        ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
            int rc = pg_conn_fail_result(st->conn, res);
            /* "cached plan must not change result type": a migration
             * changed a table under a kept SELECT *; prepare it afresh. */
            if (strcmp(st->conn->sqlstate, "0A000") == 0)
                st->stale = 1;
            PQclear(res);
            return rc;
        }
        st->res = res;
        st->row = -1;
        st->changes = changed_rows(res);
        int nf = PQnfields(res);
        if (nf > 0) {
            st->decoded = g_new0(guchar *, nf);
            st->decoded_len = g_new0(size_t, nf);
        }
    }
    forget_row(st);
    if (st->row + 1 < PQntuples(st->res)) {
        st->row++;
        return 1;
    }
    st->row = PQntuples(st->res); /* past the end: columns read as NULL */
    return 0;
}

static int has_column(const pg_stmt *st, int i)
{
    return st->res && st->row >= 0 && st->row < PQntuples(st->res) && i >= 0 &&
           i < PQnfields(st->res);
}

int pg_stmt_column_is_null(pg_stmt *st, int i)
{
    return !has_column(st, i) || PQgetisnull(st->res, st->row, i);
}

int64_t pg_stmt_column_int(pg_stmt *st, int i)
{
    if (pg_stmt_column_is_null(st, i))
        return 0;
    const char *v = PQgetvalue(st->res, st->row, i);
    /* booleans come as "t"/"f"; SQLite has no such type and stores 1/0 */
    if (v[0] == 't' && !v[1])
        return 1;
    if (v[0] == 'f' && !v[1])
        return 0;
    return g_ascii_strtoll(v, NULL, 10);
}

const char *pg_stmt_column_text(pg_stmt *st, int i)
{
    return pg_stmt_column_is_null(st, i) ? NULL : PQgetvalue(st->res, st->row, i);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)g_ascii_tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* bytea's hex output, "\x" then two digits a byte (bytea_output=hex is set
 * on every session). NULL when it is not that form. */
static guchar *decode_hex(const char *v, size_t len, size_t *out_len)
{
    guchar *out;

    if (len < 2 || v[0] != '\\' || v[1] != 'x' || (len - 2) % 2 != 0)
        return NULL;
    out = g_malloc((len - 2) / 2 + 1);
    for (size_t i = 2, o = 0; i < len; i += 2, o++) {
        int hi = hex_value(v[i]), lo = hex_value(v[i + 1]);
        if (hi < 0 || lo < 0) {
            g_free(out);
            return NULL;
        }
        out[o] = (guchar)(hi << 4 | lo);
    }
    *out_len = (len - 2) / 2;
    return out;
}

const void *pg_stmt_column_blob(pg_stmt *st, int i, size_t *len)
{
    *len = 0;
    if (pg_stmt_column_is_null(st, i))
        return NULL;
    const char *v = PQgetvalue(st->res, st->row, i);
    size_t n = (size_t)PQgetlength(st->res, st->row, i);
    if (PQftype(st->res, i) != BYTEA_OID) {
        *len = n; /* text and numbers: their bytes, as SQLite gives them */
        return v;
    }
    if (!st->decoded[i]) {
        st->decoded[i] = decode_hex(v, n, &st->decoded_len[i]);
        if (!st->decoded[i]) {
            *len = n; /* not hex after all: better the bytes than nothing */
            return v;
        }
    }
    *len = st->decoded_len[i];
    return st->decoded[i];
}
