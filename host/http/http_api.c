/* The request and response accessors plugins reach through orchard_host_api
 * (since ABI 1.1). Requests are the transport module's, borrowed for one
 * handler call; responses are the host's, and everything a handler gives
 * them is copied and checked here so that the module can write it verbatim. */
#include "host/http/http_api.h"
#include "host/http/http_internal.h"

#include <glib.h>
#include <string.h>

const char *orchard_http_method(const orchard_http_request *req)
{
    return req ? req->method : NULL;
}

const char *orchard_http_path(const orchard_http_request *req) { return req ? req->path : NULL; }

const char *orchard_http_query(const orchard_http_request *req, const char *key)
{
    if (!req || !key)
        return NULL;
    for (size_t i = 0; i < req->n_query; i++)
        if (strcmp(req->query[i].name, key) == 0)
            return req->query[i].value;
    return NULL;
}

int orchard_http_query_at(const orchard_http_request *req, size_t i, const char **name,
                          const char **value)
{
    if (name)
        *name = NULL;
    if (value)
        *value = NULL;
    if (!req || i >= req->n_query)
        return ORCHARD_ENOTFOUND;
    if (name)
        *name = req->query[i].name;
    if (value)
        *value = req->query[i].value;
    return 0;
}

const char *orchard_http_header(const orchard_http_request *req, const char *name)
{
    if (!req || !name)
        return NULL;
    for (size_t i = 0; i < req->n_headers; i++)
        if (g_ascii_strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

const unsigned char *orchard_http_body(const orchard_http_request *req, size_t *len)
{
    if (len)
        *len = req ? req->body_len : 0;
    return req ? req->body : NULL;
}

const char *orchard_http_remote_addr(const orchard_http_request *req)
{
    return req ? req->remote_addr : NULL;
}

/* ---- responses */

orchard_http_response *orchard_http_response_new(void) { return g_new0(orchard_http_response, 1); }

static void clear_headers(orchard_http_response *resp)
{
    for (size_t i = 0; i < resp->n_headers; i++) {
        g_free((char *)resp->headers[i].name);
        g_free((char *)resp->headers[i].value);
    }
    g_free(resp->headers);
    resp->headers = NULL;
    resp->n_headers = resp->cap_headers = 0;
}

void orchard_http_response_free(orchard_http_response *resp)
{
    if (!resp)
        return;
    clear_headers(resp);
    g_free(resp->content_type);
    g_free(resp->body);
    g_free(resp);
}

/* RFC 9110 token characters: what a header name may be made of. */
static int is_token(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!g_ascii_isalnum(*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return 0;
    return 1;
}

/* A value may not break the header block: no CR or LF, nor other controls
 * (a tab is allowed). */
static int is_field_value(const char *s)
{
    if (!s)
        return 0;
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return 0;
    return 1;
}

int orchard_http_set_header(orchard_http_response *resp, const char *name, const char *value)
{
    if (!resp || !is_token(name) || !is_field_value(value))
        return ORCHARD_EINVAL;
    /* libmicrohttpd frames the body itself; a handler's own framing would
     * contradict it. */
    if (g_ascii_strcasecmp(name, "Content-Length") == 0 ||
        g_ascii_strcasecmp(name, "Transfer-Encoding") == 0)
        return ORCHARD_EINVAL;
    if (resp->n_headers == resp->cap_headers) {
        resp->cap_headers = resp->cap_headers ? resp->cap_headers * 2 : 8;
        resp->headers = g_renew(orchard_http_pair, resp->headers, resp->cap_headers);
    }
    resp->headers[resp->n_headers].name = g_strdup(name);
    resp->headers[resp->n_headers].value = g_strdup(value);
    resp->n_headers++;
    return 0;
}

int orchard_http_respond(orchard_http_response *resp, int status, const char *content_type,
                         const void *body, size_t len)
{
    unsigned char *copy = NULL;

    if (!resp || status < 100 || status > 599 || (!body && len) ||
        (content_type && !is_field_value(content_type)))
        return ORCHARD_EINVAL;
    if (len && !(copy = g_try_malloc(len)))
        return ORCHARD_ENOMEM;
    if (len)
        memcpy(copy, body, len);
    g_free(resp->body);
    resp->body = copy;
    resp->body_len = len;
    g_free(resp->content_type);
    resp->content_type = g_strdup(content_type);
    resp->status = status;
    return 0;
}

void orchard_http_response_finish(orchard_http_response *resp)
{
    size_t kept = 0;

    if (!resp->content_type)
        return;
    /* respond()'s type wins over a Content-Type set as a header: one only. */
    for (size_t i = 0; i < resp->n_headers; i++) {
        if (g_ascii_strcasecmp(resp->headers[i].name, "Content-Type") == 0) {
            g_free((char *)resp->headers[i].name);
            g_free((char *)resp->headers[i].value);
        } else {
            resp->headers[kept++] = resp->headers[i];
        }
    }
    resp->n_headers = kept;
}

void orchard_http_response_text(orchard_http_response *resp, int status, const char *text)
{
    clear_headers(resp);
    orchard_http_respond(resp, status, "text/plain; charset=utf-8", text, strlen(text));
}
