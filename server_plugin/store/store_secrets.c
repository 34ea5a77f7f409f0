/* The secrets the server hands out: one-time SCEP challenges and
 * enrollment tokens. Only their SHA-256 is stored, so a copy of the
 * database mints nothing, and a lookup by hash keeps comparisons off the
 * secret itself. Expired challenges are deleted by a job. */
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_sql.h"

/* Store the hash of a fresh secret with `insert` and hand the secret out. */
static int create_secret(const char *what, const char *insert, const orchard_sql_param *tail,
                         size_t n_tail, char **secret_out)
{
    g_autofree char *secret = orchard_sstore_random_secret();
    g_autofree char *hash = secret ? orchard_sstore_sha256_hex(secret) : NULL;
    orchard_sql_param params[4];
    if (!hash || n_tail + 1 > G_N_ELEMENTS(params))
        return ORCHARD_ENOMEM;
    params[0] = SQL_TEXT(hash);
    for (size_t i = 0; i < n_tail; i++)
        params[i + 1] = tail[i];
    gint64 rc = orchard_sstore_write(what, insert, params, n_tail + 1);
    if (rc < 0)
        return (int)rc;
    *secret_out = g_steal_pointer(&secret);
    return 0;
}

int orchard_server_store_challenge_create(gint64 ttl_seconds, char **challenge)
{
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    return create_secret("creating a SCEP challenge",
                         "INSERT INTO scep_challenges (hash, created_at, expires_at) "
                         "VALUES (?, ?, ?)",
                         SQL_PARAMS(SQL_INT(now), SQL_INT(now + ttl_seconds)), challenge);
}

static int challenge_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    gint64 now = *(gint64 *)out;
    int used = !h->stmt_column_is_null(st, 1);
    return !used && h->stmt_column_int(st, 0) > now ? 0 : ORCHARD_ENOTFOUND;
}

int orchard_server_store_challenge_check(const char *challenge, gint64 now)
{
    g_autofree char *hash = orchard_sstore_sha256_hex(challenge);
    if (!hash)
        return ORCHARD_ENOMEM;
    return orchard_sstore_read_one("checking a SCEP challenge",
                                   "SELECT expires_at, used_at FROM scep_challenges "
                                   "WHERE hash = ?",
                                   SQL_PARAMS(SQL_TEXT(hash)), challenge_row, &now);
}

int orchard_server_store_challenges_expire(gint64 now, gint64 batch, gint64 *deleted)
{
    /* A batch at a time: one huge DELETE would hold the single writer path
     * while enrollments wait. An expired row, used or not, refuses exactly
     * as an absent one does, so deleting it changes no answer. */
    gint64 n = orchard_sstore_write("deleting expired SCEP challenges",
                                    "DELETE FROM scep_challenges WHERE hash IN (SELECT hash "
                                    "FROM scep_challenges WHERE expires_at <= ? LIMIT ?)",
                                    SQL_PARAMS(SQL_INT(now), SQL_INT(batch)));
    if (n < 0)
        return (int)n;
    *deleted = n;
    return 0;
}

int orchard_server_store_token_create(const char *name, char **token)
{
    return create_secret("creating an enrollment token",
                         "INSERT INTO enroll_tokens (hash, name, created_at) VALUES (?, ?, ?)",
                         SQL_PARAMS(SQL_TEXT(name),
                                    SQL_INT(g_get_real_time() / G_USEC_PER_SEC)),
                         token);
}

static int text_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    if (out)
        *(char **)out = g_strdup(h->stmt_column_text(st, 0));
    return 0;
}

int orchard_server_store_token_check(const char *token, char **name)
{
    g_autofree char *hash = orchard_sstore_sha256_hex(token);
    if (name)
        *name = NULL;
    if (!hash)
        return ORCHARD_ENOMEM;
    return orchard_sstore_read_one("checking an enrollment token",
                                   "SELECT name FROM enroll_tokens WHERE hash = ?",
                                   SQL_PARAMS(SQL_TEXT(hash)), text_row, name);
}
