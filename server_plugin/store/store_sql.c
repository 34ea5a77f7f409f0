/* The shared plumbing of the server plugin's store files (store_sql.h). */
#include "server_plugin/store/store_sql.h"

#include "server_plugin/server.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

const orchard_host_api *orchard_sstore_host(void)
{
    const orchard_host_api *h = orchard_server_host;
    return ORCHARD_HAS_FIELD(h, orchard_host_api, stmt_finish) ? h : NULL;
}

void orchard_sstore_log_fail(orchard_store_tx *tx, const char *what, int rc)
{
    const orchard_host_api *h = orchard_sstore_host();
    const char *msg = tx ? h->store_errmsg(tx) : "";
    h->log(ORCHARD_LOG_ERROR, ORCHARD_SERVER_STORE_OWNER, "store: %s failed: %s%s%s", what,
           h->strerror(rc), *msg ? ": " : "", msg);
}

int orchard_sstore_begin(int write, const char *what, orchard_store_tx **tx)
{
    const orchard_host_api *h = orchard_sstore_host();
    if (!h)
        return ORCHARD_EABI;
    int rc = h->store_begin(tx, write);
    if (rc)
        orchard_sstore_log_fail(NULL, what, rc);
    return rc;
}

int orchard_sstore_prepare(orchard_store_tx *tx, const char *sql, const orchard_sql_param *params,
                           size_t n, orchard_stmt **stmt)
{
    const orchard_host_api *h = orchard_sstore_host();
    int rc = h->stmt_prepare(tx, sql, stmt);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const orchard_sql_param *p = &params[i];
        int col = (int)i + 1;
        switch (p->kind) {
        case ORCHARD_SQL_INT: rc = h->stmt_bind_int(*stmt, col, p->i); break;
        case ORCHARD_SQL_BLOB: rc = h->stmt_bind_blob(*stmt, col, p->blob, p->len); break;
        case ORCHARD_SQL_TEXT: rc = h->stmt_bind_text(*stmt, col, p->text); break;
        }
    }
    if (rc) {
        h->stmt_finish(*stmt);
        *stmt = NULL;
    }
    return rc;
}

gint64 orchard_sstore_exec(orchard_store_tx *tx, const char *sql, const orchard_sql_param *params,
                           size_t n)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    int rc = orchard_sstore_prepare(tx, sql, params, n, &st);
    while (rc == 0 && (rc = h->stmt_step(st)) == 1)
        rc = 0;
    gint64 changes = rc == 0 ? h->stmt_changes(st) : rc;
    h->stmt_finish(st);
    return changes;
}

gint64 orchard_sstore_write(const char *what, const char *sql, const orchard_sql_param *params,
                            size_t n)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_store_tx *tx = NULL;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    gint64 changes = orchard_sstore_exec(tx, sql, params, n);
    if (changes < 0) {
        orchard_sstore_log_fail(tx, what, (int)changes);
        h->store_rollback(tx);
        return changes;
    }
    if ((rc = h->store_commit(tx))) {
        orchard_sstore_log_fail(NULL, what, rc);
        return rc;
    }
    return changes;
}

int orchard_sstore_read_one(const char *what, const char *sql, const orchard_sql_param *params,
                            size_t n, int (*row)(const orchard_host_api *, orchard_stmt *, void *),
                            void *out)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int rc = orchard_sstore_begin(0, what, &tx);
    if (rc) /* A store file that isn't there (a read-only query) is not "no such row". */
        return rc == ORCHARD_ENOTFOUND ? ORCHARD_EIO : rc;
    if ((rc = orchard_sstore_prepare(tx, sql, params, n, &st)) == 0) {
        rc = h->stmt_step(st);
        rc = rc == 1 ? row(h, st, out) : rc == 0 ? ORCHARD_ENOTFOUND : rc;
    }
    if (rc && rc != ORCHARD_ENOTFOUND)
        orchard_sstore_log_fail(tx, what, rc);
    h->stmt_finish(st);
    h->store_rollback(tx);
    return rc;
}

int orchard_sstore_end(orchard_store_tx *tx, int rc, const char *what, int expected)
{
    const orchard_host_api *h = orchard_sstore_host();
    if (rc) {
        if (rc != expected)
            orchard_sstore_log_fail(tx, what, rc);
        h->store_rollback(tx);
        return rc;
    }
    if ((rc = h->store_commit(tx)))
        orchard_sstore_log_fail(NULL, what, rc);
    return rc;
}

int orchard_sstore_read_list(const char *what, const char *sql, const orchard_sql_param *params,
                             size_t n, orchard_sstore_row_fn row, GDestroyNotify free_fn,
                             GPtrArray **out)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    *out = NULL;
    int rc = orchard_sstore_begin(0, what, &tx);
    if (rc)
        return rc;
    GPtrArray *list = g_ptr_array_new_with_free_func(free_fn);
    rc = orchard_sstore_prepare(tx, sql, params, n, &st);
    while (rc == 0 && (rc = h->stmt_step(st)) == 1) {
        rc = 0;
        g_ptr_array_add(list, row(h, st));
    }
    if (rc)
        orchard_sstore_log_fail(tx, what, rc);
    h->stmt_finish(st);
    h->store_rollback(tx);
    if (rc) {
        g_ptr_array_unref(list);
        return rc;
    }
    *out = list;
    return 0;
}

int orchard_sstore_page(gint64 page, gint64 per_page, gint64 *limit, gint64 *offset)
{
    if (page < 0 || per_page < 0 || (per_page && page > G_MAXINT64 / per_page))
        return ORCHARD_EINVAL;
    *limit = per_page ? per_page : G_MAXINT64;
    *offset = per_page ? page * per_page : 0;
    return 0;
}

char *orchard_sstore_sha256_hex(const char *s)
{
    unsigned char md[32];
    unsigned int n = 0;
    if (!EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL))
        return NULL;
    char *hex = g_malloc(2 * n + 1);
    for (unsigned int i = 0; i < n; i++)
        g_snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return hex;
}

char *orchard_sstore_random_secret(void)
{
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return NULL;
    char *b64 = g_base64_encode(raw, sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);
    for (char *p = b64; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
        else if (*p == '=')
            *p = '\0';
    }
    return b64;
}

int orchard_sstore_exec_batch(orchard_store_tx *tx, const orchard_sql_batch *b, size_t n)
{
    g_autofree orchard_sql_param *params =
        g_new(orchard_sql_param, b->n_lead + ORCHARD_SQL_BATCH_ROWS * b->per_row);
    for (size_t i = 0; i < b->n_lead; i++)
        params[i] = b->lead[i];
    for (size_t done = 0; done < n;) {
        size_t k = MIN(n - done, (size_t)ORCHARD_SQL_BATCH_ROWS);
        g_autoptr(GString) sql = g_string_new(b->head);
        for (size_t i = 0; i < k; i++) {
            if (i)
                g_string_append(sql, ", ");
            g_string_append(sql, b->row);
            b->fill(b, done + i, params + b->n_lead + i * b->per_row);
        }
        g_string_append(sql, b->tail);
        gint64 w = orchard_sstore_exec(tx, sql->str, params, b->n_lead + k * b->per_row);
        if (w < 0)
            return (int)w;
        done += k;
    }
    return 0;
}
