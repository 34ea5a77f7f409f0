/* Users and their sessions on the store (store_users.h): the rows behind
 * `orchard user`, logins and the authenticator. Only hashes are ever
 * written: the KDF's encoded password hash and the SHA-256 of a token. */
#include "server_plugin/store/store_users.h"

#include "server_plugin/store/store_sql.h"

#include <openssl/crypto.h>
#include <string.h>

/* Sessions' last_used_at is rewritten at most this often, so each API
 * request does not take the store's single writer path. */
#define LAST_USED_GRANULARITY 60

void orchard_user_free(orchard_user *u)
{
    if (!u)
        return;
    g_free(u->email);
    g_free(u->name);
    g_free(u->role);
    if (u->password_hash) {
        OPENSSL_cleanse(u->password_hash, strlen(u->password_hash));
        g_free(u->password_hash);
    }
    g_free(u);
}

int orchard_store_user_create(const orchard_user *u)
{
    g_autofree char *email = g_ascii_strdown(u->email, -1);
    const char *what = "creating a user";
    orchard_store_tx *tx = NULL;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    /* Checked first rather than read from a constraint failure, which a
     * backend reports in words of its own. */
    if ((rc = orchard_sstore_prepare(tx, "SELECT 1 FROM users WHERE email = ?",
                                     SQL_PARAMS(SQL_TEXT(email)), &st)) == 0) {
        rc = h->stmt_step(st);
        rc = rc == 1 ? ORCHARD_EEXIST : rc;
        h->stmt_finish(st);
    }
    if (rc == 0) {
        gint64 n = orchard_sstore_exec(tx,
                                "INSERT INTO users (email, name, role, api_only, password_hash, "
                                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                SQL_PARAMS(SQL_TEXT(email), SQL_TEXT(u->name), SQL_TEXT(u->role),
                                           SQL_INT(u->api_only != 0),
                                           SQL_TEXT(u->password_hash), SQL_INT(u->created_at),
                                           SQL_INT(u->updated_at ? u->updated_at
                                                                 : u->created_at)));
        rc = n < 0 ? (int)n : 0;
    }
    return orchard_sstore_end(tx, rc, what, ORCHARD_EEXIST);
}

#define USER_COLUMNS                                                                          \
    "u.email, u.name, u.role, u.api_only, u.password_hash, u.created_at, u.updated_at, u.id"

static orchard_user *user_of_row(const orchard_host_api *h, orchard_stmt *st)
{
    orchard_user *u = g_new0(orchard_user, 1);
    u->email = g_strdup(h->stmt_column_text(st, 0));
    u->name = g_strdup(h->stmt_column_text(st, 1));
    u->role = g_strdup(h->stmt_column_text(st, 2));
    u->api_only = h->stmt_column_int(st, 3) != 0;
    u->password_hash = g_strdup(h->stmt_column_text(st, 4));
    u->created_at = h->stmt_column_int(st, 5);
    u->updated_at = h->stmt_column_int(st, 6);
    u->id = h->stmt_column_int(st, 7);
    return u;
}

static int user_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    *(orchard_user **)out = user_of_row(h, st);
    return 0;
}

int orchard_store_user_get(const char *email, orchard_user **out)
{
    *out = NULL;
    if (!email)
        return ORCHARD_ENOTFOUND;
    g_autofree char *lower = g_ascii_strdown(email, -1);
    return orchard_sstore_read_one("reading a user",
                                   "SELECT " USER_COLUMNS " FROM users u WHERE u.email = ?",
                                   SQL_PARAMS(SQL_TEXT(lower)), user_row, out);
}

static void *user_list_row(const orchard_host_api *h, orchard_stmt *st)
{
    return user_of_row(h, st);
}

int orchard_store_user_list(GPtrArray **out)
{
    return orchard_sstore_read_list("listing users",
                                    "SELECT " USER_COLUMNS " FROM users u ORDER BY u.email", NULL,
                                    0, user_list_row, (GDestroyNotify)orchard_user_free, out);
}

int orchard_store_user_delete(const char *email)
{
    g_autofree char *lower = g_ascii_strdown(email, -1);
    const char *what = "deleting a user";
    orchard_store_tx *tx = NULL;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    gint64 n = orchard_sstore_exec(tx, "DELETE FROM user_sessions WHERE email = ?",
                                   SQL_PARAMS(SQL_TEXT(lower)));
    if (n >= 0)
        n = orchard_sstore_exec(tx, "DELETE FROM users WHERE email = ?",
                                SQL_PARAMS(SQL_TEXT(lower)));
    rc = n < 0 ? (int)n : n == 0 ? ORCHARD_ENOTFOUND : 0;
    return orchard_sstore_end(tx, rc, what, ORCHARD_ENOTFOUND);
}

/* ---- sessions ---- */

int orchard_store_session_create(const char *token_hash, const char *email, gint64 now,
                                 gint64 expires_at)
{
    g_autofree char *lower = g_ascii_strdown(email, -1);
    /* expires_at 0 is "never", which the schema spells NULL. */
    orchard_sql_param expiry = expires_at ? SQL_INT(expires_at) : SQL_TEXT(NULL);
    gint64 n = orchard_sstore_write(
        "creating a session",
        "INSERT INTO user_sessions (token_hash, email, created_at, expires_at, last_used_at) "
        "VALUES (?, ?, ?, ?, ?)",
        SQL_PARAMS(SQL_TEXT(token_hash), SQL_TEXT(lower), SQL_INT(now), expiry, SQL_INT(now)));
    return n < 0 ? (int)n : 0;
}

typedef struct {
    orchard_user *user;
    gint64 last_used;
} session_row_out;

static int session_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    session_row_out *o = out;
    o->user = user_of_row(h, st);
    o->last_used = h->stmt_column_is_null(st, 8) ? 0 : h->stmt_column_int(st, 8);
    return 0;
}

int orchard_store_session_user(const char *token_hash, gint64 now, orchard_user **out)
{
    session_row_out o = {0};
    *out = NULL;
    int rc = orchard_sstore_read_one(
        "reading a session",
        "SELECT " USER_COLUMNS ", s.last_used_at FROM user_sessions s "
        "JOIN users u ON u.email = s.email "
        "WHERE s.token_hash = ? AND (s.expires_at IS NULL OR s.expires_at > ?)",
        SQL_PARAMS(SQL_TEXT(token_hash), SQL_INT(now)), session_row, &o);
    if (rc)
        return rc;
    if (now - o.last_used >= LAST_USED_GRANULARITY) {
        /* A failure here only loses a timestamp: the session stands. */
        orchard_sstore_write("recording a session's use",
                             "UPDATE user_sessions SET last_used_at = ? WHERE token_hash = ?",
                             SQL_PARAMS(SQL_INT(now), SQL_TEXT(token_hash)));
    }
    *out = o.user;
    return 0;
}

int orchard_store_session_delete(const char *token_hash)
{
    gint64 n = orchard_sstore_write("ending a session",
                                    "DELETE FROM user_sessions WHERE token_hash = ?",
                                    SQL_PARAMS(SQL_TEXT(token_hash)));
    return n < 0 ? (int)n : n == 0 ? ORCHARD_ENOTFOUND : 0;
}

int orchard_store_sessions_expire(gint64 now, gint64 *deleted)
{
    gint64 n = orchard_sstore_write(
        "expiring sessions",
        "DELETE FROM user_sessions WHERE expires_at IS NOT NULL AND expires_at <= ?",
        SQL_PARAMS(SQL_INT(now)));
    if (deleted)
        *deleted = n < 0 ? 0 : n;
    return n < 0 ? (int)n : 0;
}
