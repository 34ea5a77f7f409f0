/* Sessions and the authenticator: a login or an API-only user gets a bearer
 * token whose SHA-256 is all the store keeps; the host asks
 * orchard_users_authenticate for every role-guarded route and this answers
 * with the token's user and role (or 0: the host says 401). */
#include "server_plugin/users/users.h"

#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_sql.h"

#include <openssl/crypto.h>
#include <string.h>

/* Our tokens are 43 characters; anything much longer is not one of ours
 * and is not worth hashing. */
#define TOKEN_MAX 512
#define DEFAULT_SESSION_SECONDS (5 * 24 * 3600)

const orchard_setting orchard_setting_session_duration = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = ORCHARD_SESSION_DURATION_KEY,
    .type = ORCHARD_SETTING_DURATION,
    .default_value = "120h",
    .description = "How long a login's session token stays valid (Go duration: \"120h\" is 5 "
                   "days); API-only users' tokens never expire",
    .flags = 0,
    .aliases = NULL,
};

gint64 orchard_session_seconds(orchard_ctx *ctx)
{
    const orchard_host_api *h = orchard_server_host;
    int64_t ms = 0;
    if (!ORCHARD_HAS_FIELD(h, orchard_host_api, setting_duration) ||
        h->setting_duration(ctx, ORCHARD_SESSION_DURATION_KEY, &ms) != 0 || ms <= 0)
        return DEFAULT_SESSION_SECONDS;
    /* Under a second rounds up: a session always lasts at least one. */
    return ms < 1000 ? 1 : ms / 1000;
}

int orchard_session_start(orchard_ctx *ctx, const char *email, int no_expiry, char **token)
{
    *token = NULL;
    g_autofree char *t = orchard_sstore_random_secret();
    if (!t)
        return ORCHARD_EIO;
    g_autofree char *hash = orchard_sstore_sha256_hex(t);
    if (!hash) {
        OPENSSL_cleanse(t, strlen(t));
        return ORCHARD_EIO;
    }
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    gint64 expires = no_expiry ? 0 : now + orchard_session_seconds(ctx);
    int rc = orchard_store_session_create(hash, email, now, expires);
    if (rc) {
        OPENSSL_cleanse(t, strlen(t));
        return rc;
    }
    *token = g_steal_pointer(&t);
    return 0;
}

const char *orchard_session_token_of(const orchard_http_request *req)
{
    const char *auth = orchard_server_host->http_header(req, "Authorization");
    if (!auth || g_ascii_strncasecmp(auth, "Bearer ", 7) != 0)
        return NULL;
    const char *t = auth + 7;
    while (*t == ' ')
        t++;
    size_t n = strnlen(t, TOKEN_MAX + 1);
    if (n == 0 || n > TOKEN_MAX)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(t[i]) && t[i] != '-' && t[i] != '_')
            return NULL;
    return t;
}

int orchard_session_lookup(orchard_ctx *ctx, const char *token, char *who, size_t who_size,
                           int *role)
{
    const orchard_host_api *h = orchard_server_host;
    *role = ORCHARD_ROLE_NONE;
    g_autofree char *hash = orchard_sstore_sha256_hex(token);
    if (!hash)
        return ORCHARD_EIO;
    g_autoptr(orchard_user) u = NULL;
    int rc = orchard_store_session_user(hash, g_get_real_time() / G_USEC_PER_SEC, &u);
    if (rc)
        return rc;
    int r = orchard_role_parse(u->role);
    if (r == ORCHARD_ROLE_NONE) {
        /* A row edited by hand: no role is no access, and the log says why. */
        h->ctx_log(ctx, ORCHARD_LOG_WARNING, "user %s has an unknown role; refused", u->email);
        return ORCHARD_ENOTFOUND;
    }
    g_strlcpy(who, u->email, who_size);
    *role = r;
    return 0;
}

int orchard_session_end(const char *token)
{
    g_autofree char *hash = orchard_sstore_sha256_hex(token);
    if (!hash)
        return ORCHARD_EIO;
    return orchard_store_session_delete(hash);
}

int orchard_users_authenticate(orchard_ctx *ctx, const orchard_http_request *req, char *who,
                               size_t who_size, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    int role = ORCHARD_ROLE_NONE;
    (void)payload;
    const char *token = orchard_session_token_of(req);
    if (!token)
        return ORCHARD_ROLE_NONE;
    int rc = orchard_session_lookup(ctx, token, who, who_size, &role);
    if (rc == ORCHARD_ENOTFOUND)
        return ORCHARD_ROLE_NONE;
    if (rc)
        return h->fail(ctx, rc, "cannot read sessions from the store: %s", h->strerror(rc));
    return role;
}

int orchard_users_init(orchard_ctx *ctx)
{
    const orchard_host_api *h = orchard_server_host;
    if (!ORCHARD_HAS_FIELD(h, orchard_host_api, auth_register))
        return 0;
    int rc = h->auth_register(ctx, orchard_users_authenticate, NULL);
    if (rc == ORCHARD_EEXIST) /* the host already logged whose it is */
        return 0;
    if (rc)
        h->ctx_log(ctx, ORCHARD_LOG_WARNING, "cannot register the users' authenticator: %s",
                   h->strerror(rc));
    return 0;
}

void orchard_users_cleanup(void)
{
    orchard_login_limit_reset();
}

/* Expired sessions are refused on sight; the sweep only keeps the table
 * from growing with every login that never logged out. */
static int sessions_expire(orchard_ctx *ctx, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    gint64 deleted = 0;
    (void)payload;
    int rc = orchard_server_store_migrate();
    if (rc == 0)
        rc = orchard_store_sessions_expire(g_get_real_time() / G_USEC_PER_SEC, &deleted);
    if (rc)
        return h->fail(ctx, rc, "cannot delete expired sessions: %s", h->strerror(rc));
    if (deleted)
        h->ctx_log(ctx, ORCHARD_LOG_INFO, "deleted %" G_GINT64_FORMAT " expired sessions",
                   deleted);
    return 0;
}

const orchard_job orchard_job_sessions_expire = {
    ORCHARD_STRUCT_HEADER(orchard_job),
    .name = "users.sessions_expire",
    .interval_seconds = 3600,
    .run2 = sessions_expire,
    .first_run_seconds = 300,
    .jitter_seconds = 300,
    .deadline_seconds = 60,
    .flags = ORCHARD_JOB_ONE_INSTANCE,
};
