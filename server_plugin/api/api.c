/* The admin API's plumbing (api.h): JSON in and out in Fleet's shapes, so
 * every handler reads a body, answers and fails the same way. */
#include "server_plugin/api/api.h"

#include "server_plugin/server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const api_roots[] = {"/api/latest/fleet", "/api/v1/fleet"};

const char *orchard_api_subpath(const orchard_http_request *req)
{
    const char *path = orchard_server_host->http_path(req);
    for (size_t i = 0; path && i < G_N_ELEMENTS(api_roots); i++) {
        size_t n = strlen(api_roots[i]);
        if (strncmp(path, api_roots[i], n) == 0 && (path[n] == '/' || path[n] == '\0'))
            return path + n;
    }
    return NULL;
}

int orchard_api_error(orchard_http_response *resp, int status, const char *field,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    orchard_server_host->http_error(resp, status, msg, field, NULL);
    return 0;
}

int orchard_api_read_json(const orchard_http_request *req, orchard_http_response *resp,
                          json_t **out)
{
    size_t len = 0;
    const unsigned char *body = orchard_server_host->http_body(req, &len);
    *out = NULL;
    if (len > ORCHARD_API_BODY_MAX) {
        orchard_api_error(resp, 413, NULL, "request body is %zu bytes; the limit is %d", len,
                          ORCHARD_API_BODY_MAX);
        return ORCHARD_EINVAL;
    }
    if (!body || len == 0) {
        orchard_api_error(resp, 400, NULL, "the request needs a JSON body");
        return ORCHARD_EINVAL;
    }
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        orchard_api_error(resp, 400, NULL, "bad JSON at line %d, column %d (byte %d): %s",
                          jerr.line, jerr.column, jerr.position, jerr.text);
        return ORCHARD_EINVAL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        orchard_api_error(resp, 400, NULL, "the JSON body must be an object");
        return ORCHARD_EINVAL;
    }
    *out = doc;
    return 0;
}

int orchard_api_reply(orchard_http_response *resp, int status, json_t *body)
{
    if (!body)
        body = json_object();
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    if (!text)
        return ORCHARD_ENOMEM;
    orchard_server_host->http_respond(resp, status, "application/json", text, strlen(text));
    free(text);
    return 0;
}

static int parse_count(const char *text, gint64 max, gint64 *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < 0 || v > max)
        return ORCHARD_EINVAL;
    *out = v;
    return 0;
}

int orchard_api_paging(const orchard_http_request *req, orchard_http_response *resp, gint64 def,
                       gint64 *page, gint64 *per_page)
{
    const char *p = orchard_server_host->http_query(req, "page");
    const char *pp = orchard_server_host->http_query(req, "per_page");
    *page = 0;
    *per_page = def;
    if (p && parse_count(p, G_MAXINT32, page)) {
        orchard_api_error(resp, 400, "page", "page must be a whole number from 0");
        return ORCHARD_EINVAL;
    }
    if (pp && (parse_count(pp, 10000, per_page) || *per_page == 0)) {
        orchard_api_error(resp, 400, "per_page", "per_page must be a whole number from 1 to 10000");
        return ORCHARD_EINVAL;
    }
    return 0;
}

char *orchard_api_time(gint64 unix_seconds)
{
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(unix_seconds);
    return t ? g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ") : g_strdup("");
}

const char *orchard_api_actor(const orchard_http_request *req, int *role)
{
    return orchard_server_host->http_principal(req, role);
}

GBytes *orchard_api_base64(const char *text, size_t n)
{
    g_autoptr(GString) clean = g_string_sized_new(n + 3);
    size_t pad = 0;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            if (++pad > 2)
                return NULL;
        } else if (pad || !(g_ascii_isalnum(c) || c == '+' || c == '/')) {
            return NULL; /* data after padding, or not base64 */
        } else {
            g_string_append_c(clean, c);
        }
    }
    if (clean->len == 0 || clean->len % 4 == 1 || (pad && (clean->len + pad) % 4))
        return NULL;
    while (clean->len % 4)
        g_string_append_c(clean, '=');
    gsize len = 0;
    guchar *bytes = g_base64_decode(clean->str, &len);
    return g_bytes_new_take(bytes, len);
}
