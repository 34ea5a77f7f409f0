/* Answering with a page: the templates compiled once, the layout's members
 * every page shows (who is signed in, which links their role sees), the
 * security headers, the error page and redirects. */
#include "server_plugin/server.h"
#include "server_plugin/web/web_pages.h"

#include <stdarg.h>
#include <string.h>

/* No script runs on any page: forms, links and the stylesheet only. */
#define CSP                                                                                  \
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "             \
    "frame-ancestors 'none'; base-uri 'none'"

static GMutex templates_lock;
static orchard_web_templates *templates;
static int templates_failed;

const orchard_web_templates *orchard_web_templates_get(orchard_ctx *ctx)
{
    g_mutex_lock(&templates_lock);
    if (!templates && !templates_failed) {
        g_autofree char *reason = NULL;
        orchard_web_templates *set = orchard_web_templates_new();
        if (orchard_web_templates_add_embedded(set, &reason)) {
            /* A build that embeds a template the engine refuses: tests
             * catch it (web_pages), so this is only ever logged once. */
            orchard_server_host->ctx_log(ctx, ORCHARD_LOG_ERROR,
                                         "pages: a template does not compile: %s", reason);
            orchard_web_templates_free(set);
            templates_failed = 1;
        } else {
            templates = set;
        }
    }
    const orchard_web_templates *t = templates;
    g_mutex_unlock(&templates_lock);
    return t;
}

void orchard_web_cleanup(void)
{
    g_mutex_lock(&templates_lock);
    g_clear_pointer(&templates, orchard_web_templates_free);
    templates_failed = 0;
    g_mutex_unlock(&templates_lock);
}

/* The layout's members: the title, who is signed in, the menu. */
static json_t *layout_json(const orchard_web_visit *v, const char *name, const char *title)
{
    json_t *layout = json_pack("{s:s, s:s}", "title", title ? title : "orchard", "current",
                               name);
    if (v && v->role != ORCHARD_ROLE_NONE) {
        json_object_set_new(layout, "user",
                            json_pack("{s:s, s:s}", "email", v->email, "role",
                                      orchard_role_name(v->role)));
        json_object_set_new(layout, "nav",
                            json_pack("{s:b, s:b, s:b}", "settings",
                                      v->role >= ORCHARD_ROLE_ADMIN, "updates", 1, "hosts", 1));
    }
    /* One flag per page, so the template marks the current menu entry. */
    g_autofree char *flag = g_strconcat("is_", name, NULL);
    json_object_set_new(layout, flag, json_true());
    return layout;
}

static void security_headers(orchard_http_response *resp)
{
    const orchard_host_api *h = orchard_server_host;
    h->http_set_header(resp, "Content-Security-Policy", CSP);
    h->http_set_header(resp, "X-Content-Type-Options", "nosniff");
    h->http_set_header(resp, "X-Frame-Options", "DENY");
    h->http_set_header(resp, "Cache-Control", "no-store");
    /* Not no-referrer: under it a browser sends "Origin: null" with a form,
     * and the cross-site check could no longer tell our own forms. */
    h->http_set_header(resp, "Referrer-Policy", "same-origin");
}

int orchard_web_respond(orchard_ctx *ctx, orchard_http_response *resp,
                        const orchard_web_visit *v, int status, const char *name,
                        const char *title, json_t *data)
{
    const orchard_host_api *h = orchard_server_host;
    g_autofree char *reason = NULL;
    if (!data)
        data = json_object();
    if (!data)
        return ORCHARD_ENOMEM;
    json_object_set_new(data, "layout", layout_json(v, name, title));
    const orchard_web_templates *set = orchard_web_templates_get(ctx);
    g_autoptr(GString) html = g_string_sized_new(8192);
    int rc = set ? orchard_web_templates_render(set, name, data, html, &reason) : ORCHARD_EINVAL;
    json_decref(data);
    security_headers(resp);
    if (rc) {
        h->ctx_log(ctx, ORCHARD_LOG_ERROR, "pages: cannot render %s: %s", name,
                   reason ? reason : "the templates did not compile");
        static const char fallback[] = "The page could not be shown; the server's log says "
                                       "why.\n";
        return h->http_respond(resp, 500, "text/plain; charset=utf-8", fallback,
                               sizeof fallback - 1);
    }
    return h->http_respond(resp, status, "text/html; charset=utf-8", html->str, html->len);
}

/* The words people read at the top of the error page. */
static const char *status_title(int status)
{
    switch (status) {
    case 400: return "The request was not understood";
    case 403: return "Access denied";
    case 404: return "Not found";
    case 413: return "Too large";
    case 429: return "Too many attempts";
    case 503: return "Try again in a moment";
    default: return status >= 500 ? "Something went wrong" : "The request was refused";
    }
}

int orchard_web_error(orchard_ctx *ctx, orchard_http_response *resp, const orchard_web_visit *v,
                      int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_t *data = json_pack("{s:{s:i, s:s, s:s}}", "error", "status", status, "title",
                             status_title(status), "message", message);
    return orchard_web_respond(ctx, resp, v, status, "error", status_title(status), data);
}

int orchard_web_redirect(orchard_http_response *resp, const char *location)
{
    const orchard_host_api *h = orchard_server_host;
    int rc = h->http_set_header(resp, "Location", location);
    if (rc)
        return rc;
    h->http_set_header(resp, "Cache-Control", "no-store");
    return h->http_respond(resp, 303, NULL, NULL, 0);
}
