/* What a page reads from a browser's POST: the form body, the Origin that
 * proves the form came from this server's own pages (the cross-site check,
 * with SameSite=Strict cookies), and the path to return to after sign-in. */
#include "server_plugin/server.h"
#include "server_plugin/web/web_pages.h"

#include <string.h>

#define FORM_TYPE "application/x-www-form-urlencoded"
#define LOCAL_PATH_MAX 2048

/* Every value must be UTF-8 without control characters other than tab and
 * line breaks (a textarea's). */
static int form_text_ok(const char *s)
{
    if (!g_utf8_validate(s, -1, NULL))
        return 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if ((*c < 0x20 && *c != '\t' && *c != '\n' && *c != '\r') || *c == 0x7f)
            return 0;
    return 1;
}

int orchard_web_form_parse(const char *body, size_t len, GHashTable **out, const char **why)
{
    *out = NULL;
    *why = NULL;
    if (len > ORCHARD_WEB_FORM_MAX) {
        *why = "the form is too large";
        return ORCHARD_ETOOBIG;
    }
    if (memchr(body, '\0', len)) {
        *why = "the form holds a NUL byte";
        return ORCHARD_EINVAL;
    }
    /* Fields are counted before GLib decodes them: a form of a million
     * empty fields costs nothing to refuse. */
    size_t fields = len ? 1 : 0;
    for (size_t i = 0; i < len; i++)
        fields += body[i] == '&';
    if (fields > ORCHARD_WEB_FORM_FIELDS) {
        *why = "the form has too many fields";
        return ORCHARD_EINVAL;
    }
    g_autoptr(GHashTable) form = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autofree char *text = g_strndup(body, len);
    /* %00 decodes to a NUL inside a value, which every C string after this
     * would cut short: refuse it rather than read less than was sent. */
    if (strstr(text, "%00")) {
        *why = "the form holds a NUL byte";
        return ORCHARD_EINVAL;
    }
    if (len > 0) {
        GHashTable *params = g_uri_parse_params(text, -1, "&", G_URI_PARAMS_WWW_FORM, NULL);
        if (!params) {
            *why = "the form's encoding is not valid (a bad %-escape or invalid UTF-8)";
            return ORCHARD_EINVAL;
        }
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, params);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            if (!form_text_ok(k) || !form_text_ok(v)) {
                g_hash_table_unref(params);
                *why = "the form holds invalid UTF-8 or control characters";
                return ORCHARD_EINVAL;
            }
            g_hash_table_insert(form, g_strdup(k), g_strdup(v));
        }
        g_hash_table_unref(params);
    }
    *out = g_steal_pointer(&form);
    return 0;
}

int orchard_web_form(const orchard_http_request *req, GHashTable **out, const char **why)
{
    const orchard_host_api *h = orchard_server_host;
    size_t len = 0;
    *out = NULL;
    *why = NULL;
    const char *type = h->http_header(req, "Content-Type");
    size_t tl = strlen(FORM_TYPE);
    if (!type || g_ascii_strncasecmp(type, FORM_TYPE, tl) != 0 ||
        (type[tl] != '\0' && type[tl] != ';' && type[tl] != ' ')) {
        *why = "the form must be sent as " FORM_TYPE;
        return ORCHARD_EINVAL;
    }
    const unsigned char *body = h->http_body(req, &len);
    return orchard_web_form_parse((const char *)body, len, out, why);
}

/* "scheme://host[:port]" of an absolute URL, the default port left out as
 * browsers serialize an Origin; NULL when it is not one. */
static char *origin_of_url(const char *url)
{
    g_autoptr(GUri) uri = url ? g_uri_parse(url, G_URI_FLAGS_NONE, NULL) : NULL;
    if (!uri || !g_uri_get_host(uri) || !g_uri_get_scheme(uri))
        return NULL;
    const char *scheme = g_uri_get_scheme(uri);
    int port = g_uri_get_port(uri);
    int def = g_ascii_strcasecmp(scheme, "https") == 0 ? 443 : 80;
    g_autofree char *host = g_ascii_strdown(g_uri_get_host(uri), -1);
    if (port > 0 && port != def)
        return g_strdup_printf("%s://%s:%d", scheme, host, port);
    return g_strdup_printf("%s://%s", scheme, host);
}

int orchard_web_origin_check(const orchard_http_request *req, const char **why)
{
    const orchard_host_api *h = orchard_server_host;
    const char *origin = h->http_header(req, "Origin");
    const char *host = h->http_header(req, "Host");
    *why = NULL;
    if (!origin || !*origin) {
        *why = "it carries no Origin header, so it cannot be told from a cross-site request";
        return ORCHARD_EDENIED;
    }
    if (strcmp(origin, "null") == 0) {
        *why = "it comes from an opaque origin (Origin: null)";
        return ORCHARD_EDENIED;
    }
    if (host && *host && strlen(host) < 512) {
        /* The browser names the server in Host as the user typed it, and
         * the page that sent the form in Origin: the same when it is ours. */
        g_autofree char *as_http = g_strconcat("http://", host, NULL);
        g_autofree char *as_https = g_strconcat("https://", host, NULL);
        const char *cert = h->config_get("server.tls_cert");
        int tls = cert && *cert;
        if ((!tls && g_ascii_strcasecmp(origin, as_http) == 0) ||
            g_ascii_strcasecmp(origin, as_https) == 0)
            return 0;
    }
    g_autofree char *configured = origin_of_url(h->config_get("server.url"));
    if (configured && g_ascii_strcasecmp(origin, configured) == 0)
        return 0;
    *why = "it was sent from another site or origin than this server";
    return ORCHARD_EDENIED;
}

int orchard_web_number(const char *s, size_t max_digits, gint64 *out)
{
    guint64 v = 0;
    size_t n = s ? strnlen(s, 20) : 0;
    *out = 0;
    if (max_digits > 18)
        max_digits = 18;
    if (n == 0 || n > max_digits || strspn(s, "0123456789") != n ||
        !g_ascii_string_to_unsigned(s, 10, 0, G_MAXINT64, &v, NULL))
        return ORCHARD_EINVAL;
    *out = (gint64)v;
    return 0;
}

int orchard_web_local_path(const char *path)
{
    if (!path || path[0] != '/' || path[1] == '/' || path[1] == '\\')
        return 0;
    size_t n = strnlen(path, LOCAL_PATH_MAX + 1);
    if (n > LOCAL_PATH_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f || path[i] == '\\')
            return 0;
    return 1;
}
