/* Who is looking at a page: the session cookie (the same sessions the API's
 * bearer tokens use, users/auth.c), whether the request came over https,
 * and the order a page's handler checks things in (orchard_web_begin). */
#include "server_plugin/server.h"
#include "server_plugin/web/web_pages.h"

#include <string.h>

/* Our tokens are 43 characters; a longer cookie value is not one of ours. */
#define TOKEN_MAX 512

int orchard_web_cookie_value(const char *header, const char *name, char *out, size_t n)
{
    size_t name_len = strlen(name);
    const char *p = header;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
            size_t vlen = len - name_len - 1;
            while (vlen > 0 && (p[name_len + 1 + vlen - 1] == ' '))
                vlen--;
            if (vlen == 0 || vlen >= n)
                return 0;
            memcpy(out, p + name_len + 1, vlen);
            out[vlen] = '\0';
            return 1;
        }
        p = end;
    }
    return 0;
}

char *orchard_web_session_token(const orchard_http_request *req)
{
    char token[TOKEN_MAX + 1];
    const char *header = orchard_server_host->http_header(req, "Cookie");
    if (!header || !orchard_web_cookie_value(header, ORCHARD_WEB_COOKIE, token, sizeof token))
        return NULL;
    for (const char *c = token; *c; c++)
        if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_')
            return NULL;
    return g_strdup(token);
}

/* Over https: the server's own TLS, or a TLS-terminating proxy that says
 * so. A forged X-Forwarded-Proto only makes the forger's own cookie Secure. */
static int request_https(const orchard_http_request *req)
{
    const orchard_host_api *h = orchard_server_host;
    const char *cert = h->config_get("server.tls_cert");
    const char *proto = h->http_header(req, "X-Forwarded-Proto");
    return (cert && *cert) || (proto && g_ascii_strcasecmp(proto, "https") == 0);
}

int orchard_web_session_cookie(orchard_http_response *resp, const orchard_web_visit *v,
                               const char *token, gint64 max_age)
{
    const char *secure = v->https ? "; Secure" : "";
    g_autofree char *cookie =
        token ? g_strdup_printf("%s=%s; Path=/; Max-Age=%" G_GINT64_FORMAT
                                "; HttpOnly; SameSite=Strict%s",
                                ORCHARD_WEB_COOKIE, token, max_age, secure)
              : g_strdup_printf("%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
                                ORCHARD_WEB_COOKIE, secure);
    return orchard_server_host->http_set_header(resp, "Set-Cookie", cookie);
}

/* The request's path with its query ("/hosts?page=2"), each part escaped
 * again, as the client may send it back (g_free). */
static char *path_and_query(const orchard_http_request *req)
{
    const orchard_host_api *h = orchard_server_host;
    g_autoptr(GString) s = g_string_new(h->http_path(req));
    const char *name, *value;
    for (size_t i = 0; h->http_query_at(req, i, &name, &value) == 0; i++) {
        g_string_append_c(s, i ? '&' : '?');
        g_string_append_uri_escaped(s, name, NULL, FALSE);
        if (*value) {
            g_string_append_c(s, '=');
            g_string_append_uri_escaped(s, value, NULL, FALSE);
        }
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* Where to sign in and come back to this page, query included (a page
 * address too long to carry comes back to the page without it). */
static int to_login(orchard_http_response *resp, const orchard_http_request *req)
{
    g_autofree char *full = path_and_query(req);
    const char *path = orchard_web_local_path(full) ? full : orchard_server_host->http_path(req);
    if (!orchard_web_local_path(path))
        return orchard_web_redirect(resp, "/login");
    g_autofree char *escaped = g_uri_escape_string(path, "/", FALSE);
    g_autofree char *location = g_strconcat("/login?next=", escaped, NULL);
    return orchard_web_redirect(resp, location);
}

int orchard_web_begin(orchard_ctx *ctx, const orchard_http_request *req,
                      orchard_http_response *resp, int min_role, orchard_web_visit *v)
{
    const orchard_host_api *h = orchard_server_host;
    const char *why = NULL;
    memset(v, 0, sizeof *v);
    v->role = ORCHARD_ROLE_NONE;
    v->https = request_https(req);

    g_autofree char *token = orchard_web_session_token(req);
    int rc = token ? orchard_session_lookup(ctx, token, v->email, sizeof v->email, &v->role)
                   : ORCHARD_ENOTFOUND;
    if (rc && rc != ORCHARD_ENOTFOUND) {
        h->ctx_log(ctx, ORCHARD_LOG_WARNING, "pages: cannot read the session: %s",
                   h->strerror(rc));
        v->email[0] = '\0';
        v->role = ORCHARD_ROLE_NONE;
        orchard_web_error(ctx, resp, v, 503, "The server cannot read sessions right now. "
                                             "Try again in a moment.");
        return ORCHARD_EDENIED;
    }
    if (rc == ORCHARD_ENOTFOUND) {
        v->email[0] = '\0';
        v->role = ORCHARD_ROLE_NONE;
    }
    if (strcmp(h->http_method(req), "POST") == 0 && orchard_web_origin_check(req, &why)) {
        h->ctx_log(ctx, ORCHARD_LOG_INFO, "pages: refused a form post to %s from %s: %s",
                   h->http_path(req), h->http_remote_addr(req), why);
        orchard_web_error(ctx, resp, v, 403, "This form was refused: %s", why);
        return ORCHARD_EDENIED;
    }
    if (min_role == ORCHARD_ROLE_NONE)
        return 0;
    if (v->role == ORCHARD_ROLE_NONE) {
        to_login(resp, req);
        return ORCHARD_EDENIED;
    }
    if (v->role < min_role) {
        orchard_web_error(ctx, resp, v, 403, "You do not have access to this page: it is for "
                          "%s. Ask an admin if you need it.",
                          min_role == ORCHARD_ROLE_ADMIN ? "admins" : "admins and maintainers");
        return ORCHARD_EDENIED;
    }
    return 0;
}
