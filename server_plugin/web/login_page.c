/* /login and /logout for people: the sign-in form, the session cookie, and
 * signing out; and "/", which sends people on to them. The check itself is users/login.c's, the one the API's
 * POST /login runs, limits and activity included. */
#include "server_plugin/server.h"
#include "server_plugin/web/web_pages.h"

#include <openssl/crypto.h>
#include <string.h>

/* Where a user lands after signing in when no page asked for it. */
static const char *landing(int role)
{
    return role >= ORCHARD_ROLE_ADMIN ? "/settings/integrations/mdm" : "/hosts";
}

static int show_form(orchard_ctx *ctx, orchard_http_response *resp, const orchard_web_visit *v,
                     int status, const char *email, const char *next, const char *message,
                     int signed_out)
{
    json_t *login = json_pack("{s:s, s:s}", "email", email ? email : "", "next",
                              next && orchard_web_local_path(next) ? next : "");
    if (!login)
        return ORCHARD_ENOMEM;
    if (message)
        json_object_set_new(login, "message", json_string(message));
    if (signed_out)
        json_object_set_new(login, "signed_out", json_true());
    return orchard_web_respond(ctx, resp, v, status, "login", "Sign in",
                               json_pack("{s:o}", "login", login));
}

static int login_get(orchard_ctx *ctx, const orchard_http_request *req,
                     orchard_http_response *resp, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    orchard_web_visit v;
    (void)payload;
    if (orchard_web_begin(ctx, req, resp, ORCHARD_ROLE_NONE, &v))
        return 0;
    const char *next = h->http_query(req, "next");
    if (v.role != ORCHARD_ROLE_NONE)
        return orchard_web_redirect(resp, next && orchard_web_local_path(next) ? next
                                                                             : landing(v.role));
    return show_form(ctx, resp, &v, 200, NULL, next, NULL, h->http_query(req, "signed_out") != NULL);
}

/* The server's address alone ("/"; an exact route, so no catch-all): the
 * role's landing page, or sign-in. */
static int root_get(orchard_ctx *ctx, const orchard_http_request *req,
                    orchard_http_response *resp, void *payload)
{
    orchard_web_visit v;
    (void)payload;
    if (orchard_web_begin(ctx, req, resp, ORCHARD_ROLE_NONE, &v))
        return 0;
    return orchard_web_redirect(resp, v.role != ORCHARD_ROLE_NONE ? landing(v.role) : "/login");
}

static int login_post(orchard_ctx *ctx, const orchard_http_request *req,
                      orchard_http_response *resp, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    g_autoptr(GHashTable) form = NULL;
    g_autoptr(orchard_user) user = NULL;
    g_autofree char *token = NULL;
    const char *why = NULL;
    orchard_web_visit v;
    int wait = 0;
    (void)payload;
    if (orchard_web_begin(ctx, req, resp, ORCHARD_ROLE_NONE, &v))
        return 0;
    int rc = orchard_web_form(req, &form, &why);
    if (rc)
        return orchard_web_error(ctx, resp, &v, rc == ORCHARD_ETOOBIG ? 413 : 400,
                                 "The sign-in form was refused: %s.", why);
    const char *email = g_hash_table_lookup(form, "email");
    const char *password = g_hash_table_lookup(form, "password");
    const char *next = g_hash_table_lookup(form, "next");
    if (!email || !*email || !password || !*password)
        return show_form(ctx, resp, &v, 400, email, next, "Enter your email and password.", 0);
    rc = orchard_login_attempt(ctx, email, password, strlen(password), h->http_remote_addr(req),
                               &token, &user, &wait);
    if (rc == ORCHARD_EBUSY) {
        char secs[16];
        g_snprintf(secs, sizeof secs, "%d", wait);
        h->http_set_header(resp, "Retry-After", secs);
        g_autofree char *msg = g_strdup_printf("Too many failed sign-ins. Try again in %d "
                                               "second%s.", wait, wait == 1 ? "" : "s");
        return show_form(ctx, resp, &v, 429, email, next, msg, 0);
    }
    if (rc == ORCHARD_EDENIED)
        return show_form(ctx, resp, &v, 401, email, next,
                         "Wrong email or password. Check both and try again.", 0);
    if (rc)
        return show_form(ctx, resp, &v, 503, email, next,
                         "Signing in does not work right now; try again in a moment.", 0);
    int role = orchard_role_parse(user->role);
    rc = orchard_web_session_cookie(resp, &v, token, orchard_session_seconds(ctx));
    OPENSSL_cleanse(token, strlen(token));
    if (rc)
        return rc;
    return orchard_web_redirect(resp, next && orchard_web_local_path(next) ? next : landing(role));
}

static int logout_post(orchard_ctx *ctx, const orchard_http_request *req,
                       orchard_http_response *resp, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    orchard_web_visit v;
    (void)payload;
    if (orchard_web_begin(ctx, req, resp, ORCHARD_ROLE_NONE, &v))
        return 0;
    g_autofree char *token = orchard_web_session_token(req);
    int rc = token ? orchard_session_end(token) : ORCHARD_ENOTFOUND;
    if (rc && rc != ORCHARD_ENOTFOUND) {
        h->ctx_log(ctx, ORCHARD_LOG_WARNING, "pages: sign out: %s", h->strerror(rc));
        return orchard_web_error(ctx, resp, &v, 503, "Signing out does not work right now; "
                                                     "try again in a moment.");
    }
    orchard_web_session_cookie(resp, &v, NULL, 0);
    return orchard_web_redirect(resp, "/login?signed_out=1");
}

const orchard_route orchard_route_web_login_get = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "GET",
    .path_prefix = "/login",
    .handle2 = login_get,
    .guard = ORCHARD_GUARD_NONE,
};

const orchard_route orchard_route_web_root = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "GET",
    .path_prefix = "/",
    .handle2 = root_get,
    .guard = ORCHARD_GUARD_NONE,
    .flags = ORCHARD_ROUTE_EXACT,
};

const orchard_route orchard_route_web_login_post = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "POST",
    .path_prefix = "/login",
    .handle2 = login_post,
    .guard = ORCHARD_GUARD_NONE,
    .max_body = ORCHARD_WEB_FORM_MAX,
};

const orchard_route orchard_route_web_logout = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "POST",
    .path_prefix = "/logout",
    .handle2 = logout_post,
    .guard = ORCHARD_GUARD_NONE,
    .max_body = ORCHARD_WEB_FORM_MAX,
};
