/* Fuzz target: SQL text through the PostgreSQL backend's rewriter and
 * splitter (host/store/postgres/store_pg_sql.c), which see every statement
 * a plugin prepares and every migration script. Beyond not crashing: the
 * rewrite keeps the text outside placeholders, numbers them 1..n, and the
 * splitter agrees with it on what is unterminated. */
#include "tests/fuzz/fuzz.h"

#include "host/store/postgres/store_pg_sql.h"

#include <glib.h>
#include <orchard/plugin.h>
#include <stdlib.h>
#include <string.h>

/* The decimal digits of n: each `?` grows by its number's digits. */
static size_t digits_of(int n)
{
    size_t d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *sql = g_strndup((const char *)data, size); /* stops at a NUL, as C callers do */
    size_t len = strlen(sql);
    char *out = NULL, *err = NULL;
    GPtrArray *list = NULL;
    int n = -1;

    int rc = orchard_pg_sql_rewrite(sql, &out, &n, &err);
    if (rc == 0) {
        size_t want = len;
        for (int i = 1; i <= n; i++)
            want += digits_of(i); /* "?" -> "$" and the number */
        if (!out || err || strlen(out) != want || n < 0 || n > ORCHARD_PG_SQL_MAX_PARAMS)
            abort();
    } else if (out || !err || n != 0 ||
               (rc != ORCHARD_EINVAL && rc != ORCHARD_ETOOBIG)) {
        abort();
    }
    char *split_err = NULL;
    int src = orchard_pg_sql_split(sql, &list, &split_err);
    /* Both read the same lexer: an unterminated construct fails both. */
    if (rc == 0 && src != 0)
        abort();
    if (rc != 0 && strstr(err, "unterminated") && src == 0)
        abort();
    if ((src != 0) != (split_err != NULL) || (src != 0) != (list == NULL))
        abort();
    g_free(split_err);
    if (src == 0) {
        for (guint i = 0; i < list->len; i++) {
            const char *s = g_ptr_array_index(list, i);
            if (!*s || g_ascii_isspace(s[0]) || strlen(s) > len)
                abort();
        }
        g_ptr_array_unref(list);
    }
    (void)orchard_pg_sql_reads_only(sql);
    (void)orchard_pg_sql_is_session_control(sql);
    g_free(out);
    g_free(err);
    g_free(sql);
    return 0;
}
