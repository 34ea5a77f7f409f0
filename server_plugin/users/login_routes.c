/* POST /login, POST /logout and GET /me under /api/latest/fleet and
 * /api/v1/fleet: a password for a session token, the token's end, and who
 * the token is. Served without the "mdm" gate: users work while MDM is off. */
#include "server_plugin/api/api.h"
#include "server_plugin/server.h"
#include "server_plugin/users/users.h"

#include <openssl/crypto.h>
#include <string.h>

/* Fleet's words for every failed login, whatever failed. */
#define AUTH_FAILED "Authentication failed"

/* A member that must be a string without NUL bytes: 0 and *out, or
 * answers 400 naming the field. */
static int string_member(json_t *body, const char *key, orchard_http_response *resp,
                         const char **out, size_t *len)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return orchard_api_error(resp, 400, key, "%s is missing", key), ORCHARD_EINVAL;
    if (!json_is_string(v))
        return orchard_api_error(resp, 400, key, "%s must be a string", key), ORCHARD_EINVAL;
    *out = json_string_value(v);
    *len = json_string_length(v);
    if (strlen(*out) != *len)
        return orchard_api_error(resp, 400, key, "%s holds a NUL byte", key), ORCHARD_EINVAL;
    return 0;
}

static int too_many(orchard_http_response *resp, int retry_after)
{
    char secs[16];
    g_snprintf(secs, sizeof secs, "%d", retry_after);
    orchard_server_host->http_set_header(resp, "Retry-After", secs);
    return orchard_api_error(resp, 429, NULL,
                             "too many failed logins; try again in %d seconds", retry_after);
}

/* After the body parsed: one attempt (login.c), answered in Fleet's shape. */
static int login_with(orchard_ctx *ctx, const orchard_http_request *req,
                      orchard_http_response *resp, json_t *body)
{
    g_autoptr(orchard_user) user = NULL;
    g_autofree char *token = NULL;
    const char *email = NULL, *password = NULL;
    size_t email_len = 0, pw_len = 0;
    int wait = 0;

    if (string_member(body, "email", resp, &email, &email_len) ||
        string_member(body, "password", resp, &password, &pw_len))
        return 0;
    int rc = orchard_login_attempt(ctx, email, password, pw_len,
                                   orchard_server_host->http_remote_addr(req), &token, &user,
                                   &wait);
    if (rc == ORCHARD_EBUSY)
        return too_many(resp, wait);
    if (rc == ORCHARD_EDENIED)
        return orchard_api_error(resp, 401, NULL, AUTH_FAILED);
    if (rc)
        return orchard_api_error(resp, 503, NULL, "cannot log in now; try again later");
    rc = orchard_api_reply(resp, 200,
                           json_pack("{s:o, s:s, s:[]}", "user", orchard_user_to_json(user),
                                     "token", token, "available_teams"));
    OPENSSL_cleanse(token, strlen(token));
    return rc;
}

static int login(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp,
                 void *payload)
{
    json_t *body = NULL;
    (void)payload;
    if (orchard_api_read_json(req, resp, &body))
        return 0;
    int rc = login_with(ctx, req, resp, body);
    json_decref(body);
    return rc;
}

static int logout(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp,
                  void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    (void)payload;
    /* The host's guard already found the session; end exactly that one. */
    const char *token = orchard_session_token_of(req);
    int rc = token ? orchard_session_end(token) : ORCHARD_ENOTFOUND;
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_api_error(resp, 401, NULL, "Authentication required");
    if (rc) {
        h->ctx_log(ctx, ORCHARD_LOG_WARNING, "logout: %s", h->strerror(rc));
        return orchard_api_error(resp, 503, NULL, "cannot log out now; try again later");
    }
    /* An object of our own: api.c's NULL case leaks the one it makes. */
    return orchard_api_reply(resp, 200, json_object());
}

static int me(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp,
              void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    g_autoptr(orchard_user) u = NULL;
    (void)payload;
    int rc = orchard_store_user_get(orchard_api_actor(req, NULL), &u);
    if (rc == ORCHARD_ENOTFOUND) /* deleted since the guard looked */
        return orchard_api_error(resp, 401, NULL, "Authentication required");
    if (rc) {
        h->ctx_log(ctx, ORCHARD_LOG_WARNING, "me: %s", h->strerror(rc));
        return orchard_api_error(resp, 503, NULL, "cannot read the user now");
    }
    return orchard_api_reply(resp, 200, json_pack("{s:o}", "user", orchard_user_to_json(u)));
}

ORCHARD_API_ROUTES(orchard_route_login, "POST", "/login", login, ORCHARD_GUARD_NONE, NULL);
ORCHARD_API_ROUTES(orchard_route_logout, "POST", "/logout", logout, ORCHARD_GUARD_OBSERVER, NULL);
ORCHARD_API_ROUTES(orchard_route_me, "GET", "/me", me, ORCHARD_GUARD_OBSERVER, NULL);
