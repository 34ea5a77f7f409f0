/* The admin pages' plumbing (docs/ui.md): who is signed in (the session
 * cookie), who may see a page, the cross-site check on every form, the
 * layout every page shares and the answer's security headers. The pages
 * live beside it (login_page.c, mdm_settings_page.c, macos_updates_page.c,
 * hosts_page.c), each with its template in templates/. */
#ifndef ORCHARD_SERVER_WEB_PAGES_H
#define ORCHARD_SERVER_WEB_PAGES_H

#include "server_plugin/users/users.h"
#include "server_plugin/web/web_template.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <jansson.h>

/** The session cookie's name; its value is a session token (users/auth.c). */
#define ORCHARD_WEB_COOKIE "orchard_session"
/** The largest form body a page reads (larger: 413 before the handler). */
#define ORCHARD_WEB_FORM_MAX (64 * 1024)
/** The most fields a form may have. */
#define ORCHARD_WEB_FORM_FIELDS 64

/** Who is looking at a page. */
typedef struct orchard_web_visit {
    char email[ORCHARD_EMAIL_MAX + 1]; /* the signed-in user; "" when nobody */
    int role;                          /* ORCHARD_ROLE_*; ORCHARD_ROLE_NONE when nobody */
    int https;                         /* reached over https (TLS, or a proxy's X-Forwarded-Proto) */
} orchard_web_visit;

/**
 * Start a page's handler. Reads the session cookie into *v; then, in order:
 *   - a POST whose Origin is not this server's: the error page, 403, with
 *     why (orchard_web_origin_check);
 *   - nobody signed in (no cookie, an unknown or expired session): 303 to
 *     /login?next=<this path>, unless `min_role` is ORCHARD_ROLE_NONE;
 *   - a role below `min_role`: the error page, 403, "you do not have
 *     access", and nothing of the page;
 *   - the store failing: the error page, 503.
 * Returns 0 when the page may go on, else ORCHARD_EDENIED with the answer
 * given: the handler returns 0.
 */
int orchard_web_begin(orchard_ctx *ctx, const orchard_http_request *req,
                      orchard_http_response *resp, int min_role, orchard_web_visit *v);

/**
 * The cross-site check every form POST passes (SameSite=Strict cookies plus
 * this): the Origin header must be present and name this server, that is
 * the scheme and the Host header the request came with, or the origin of
 * server.url (behind a proxy that rewrites Host). Returns 0, or
 * ORCHARD_EDENIED with *why (static text for the user).
 */
int orchard_web_origin_check(const orchard_http_request *req, const char **why);

/**
 * The body of a form POST (application/x-www-form-urlencoded) as
 * name -> value (both UTF-8 without NUL; a repeated name keeps its first
 * value). Returns 0 and *out (g_hash_table_unref), or ORCHARD_EINVAL with
 * *why (static) for another content type, bad percent-encoding, invalid
 * UTF-8 or a NUL byte, more than ORCHARD_WEB_FORM_FIELDS fields;
 * ORCHARD_ETOOBIG over ORCHARD_WEB_FORM_MAX.
 */
int orchard_web_form(const orchard_http_request *req, GHashTable **out, const char **why);

/** orchard_web_form's parse of `len` bytes of a body (the fuzz target's way in). */
int orchard_web_form_parse(const char *body, size_t len, GHashTable **out, const char **why);

/**
 * Answer `status` with the template `name` rendered as text/html. `data`
 * (stolen; NULL for {}) gets the layout's members under "layout": title,
 * the signed-in user (email, role), which navigation links this role sees
 * (settings: admins only), `current` (the page's name, for the menu).
 * Templates open with {{> page_head}} and end with {{> page_foot}}. Sets
 * the security headers (Content-Security-Policy without scripts,
 * frame-ancestors 'none', nosniff, no-store, no referrer). A render failure
 * is logged and answered 500. Returns 0 or ORCHARD_ENOMEM.
 */
int orchard_web_respond(orchard_ctx *ctx, orchard_http_response *resp,
                        const orchard_web_visit *v, int status, const char *name,
                        const char *title, json_t *data);

/** The error page (template "error") with `status` and a message for people. */
int orchard_web_error(orchard_ctx *ctx, orchard_http_response *resp, const orchard_web_visit *v,
                      int status, const char *fmt, ...) ORCHARD_PRINTF(5, 6);

/** 303 See Other to `location`, a path on this server ("/hosts"). */
int orchard_web_redirect(orchard_http_response *resp, const char *location);

/**
 * A number from a query or form value (a page, a team): decimal digits
 * only, 1 to `max_digits` of them (at most 18, so it fits a gint64). Returns
 * 0 and *out, or ORCHARD_EINVAL (empty, a sign, a space, an exponent, too
 * long); *out is 0 then.
 */
int orchard_web_number(const char *s, size_t max_digits, gint64 *out);

/**
 * Whether `path` is safe to send a browser to after sign-in: a local path
 * ("/x"), not "//host" nor "/\\host", no control characters, at most 2 KiB.
 */
int orchard_web_local_path(const char *path);

/**
 * Set the session cookie to `token` for `max_age` seconds (HttpOnly,
 * SameSite=Strict, Path=/, Secure when v->https), or clear it when token
 * is NULL. Returns 0 or the host's code.
 */
int orchard_web_session_cookie(orchard_http_response *resp, const orchard_web_visit *v,
                               const char *token, gint64 max_age);

/**
 * The value of cookie `name` in a Cookie header ("a=1; b=2") copied into
 * `out` (size n): 1, or 0 when absent, empty or not shorter than n.
 */
int orchard_web_cookie_value(const char *header, const char *name, char *out, size_t n);

/** The session token in `req`'s cookie (g_free), or NULL when there is none
 * or it is not a plausible token (over 512 bytes, not base64url). */
char *orchard_web_session_token(const orchard_http_request *req);

/**
 * The templates, compiled once on first use from the embedded files; NULL
 * (logged) when one does not compile, which tests catch at build time.
 */
const orchard_web_templates *orchard_web_templates_get(orchard_ctx *ctx);

/** Free the compiled templates (the plugin's deinit). */
void orchard_web_cleanup(void);

/* ---- the routes (GUARD_NONE: the pages check the cookie themselves; no
 * gate: the settings page says when MDM is off) ---- */
extern const orchard_route orchard_route_web_login_get, orchard_route_web_login_post;
extern const orchard_route orchard_route_web_logout, orchard_route_web_root;
extern const orchard_route orchard_route_web_assets;
extern const orchard_route orchard_route_web_mdm_settings;
extern const orchard_route orchard_route_web_macos_updates_get,
    orchard_route_web_macos_updates_post;
extern const orchard_route orchard_route_web_hosts;

#endif
