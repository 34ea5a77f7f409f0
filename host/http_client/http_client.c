/* The host half of the outbound HTTP service (ABI 1.3): what a plugin hands
 * over is checked here (struct versions, defaults, header injection) before
 * the libcurl module sees it, and the answer helpers (http_call_header,
 * http_call_reset) need no module at all. */
#include "host/http_client/http_client.h"

#include "host/http_client/http_client_module.h"
#include "host/plugins/plugin_ctx.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CONNECTIONS 2u
#define MAX_CONNECTIONS 64u
#define DEFAULT_TIMEOUT_MS 30000u
#define DEFAULT_CONNECT_TIMEOUT_MS 10000u

/* The 1.3 fields: the oldest config and call this host can read. */
#define CONFIG_MIN_SIZE                                                     \
    (offsetof(orchard_http_client_config, connect_timeout_ms) +            \
     sizeof(((orchard_http_client_config *)0)->connect_timeout_ms))
#define CALL_MIN_SIZE sizeof(orchard_http_call)

/* Set once a module loaded; a client can only exist after that. */
static const orchard_http_client_module *module;

int orchard_http_client_open(orchard_ctx *ctx, const orchard_http_client_config *cfg,
                             orchard_http_client **out)
{
    orchard_http_client_config c;
    const orchard_http_client_module *m = NULL;
    g_autofree char *load_err = NULL;
    char err[256] = "";
    int rc;

    if (!out)
        return orchard_ctx_fail(ctx, ORCHARD_EINVAL, "http_client_open: no place for the client");
    *out = NULL;
    if (!cfg || cfg->abi_version != ORCHARD_ABI_VERSION || cfg->struct_size < CONFIG_MIN_SIZE)
        return orchard_ctx_fail(ctx, ORCHARD_EINVAL,
                                "http_client_open: no configuration, or one this host cannot "
                                "read (abi_version %u, struct_size %u)",
                                cfg ? cfg->abi_version : 0u, cfg ? cfg->struct_size : 0u);
    if (!cfg->cert_pem != !cfg->key_pem)
        return orchard_ctx_fail(ctx, ORCHARD_EINVAL, "http_client_open: a TLS client "
                                "certificate needs its key, and a key its certificate");
    if (cfg->connections > MAX_CONNECTIONS)
        return orchard_ctx_fail(ctx, ORCHARD_EINVAL,
                                "http_client_open: %u connections per origin (at most %u)",
                                cfg->connections, MAX_CONNECTIONS);
    /* Only the 1.3 fields, whatever a newer writer appended. */
    c = (orchard_http_client_config){
        ORCHARD_STRUCT_HEADER(orchard_http_client_config),
        .cert_pem = cfg->cert_pem,
        .key_pem = cfg->key_pem,
        .ca_pem = cfg->ca_pem,
        .connections = cfg->connections ? cfg->connections : DEFAULT_CONNECTIONS,
        .timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS,
        .connect_timeout_ms =
            cfg->connect_timeout_ms ? cfg->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS,
    };
    if ((rc = orchard_http_client_module_get(&m, &load_err)) != 0)
        return orchard_ctx_fail(ctx, rc, "%s", load_err);
    module = m;
    if ((rc = m->open(&c, out, err, sizeof err)) != 0) {
        *out = NULL;
        return orchard_ctx_fail(ctx, rc, "http_client_open: %s", err[0] ? err : "failed");
    }
    return 0;
}

static orchard_http_call *call_at(orchard_http_call *calls, size_t i, size_t stride)
{
    return (orchard_http_call *)((char *)calls + i * stride);
}

/* Why `call` cannot run, or NULL. A header's CR or LF would let a caller
 * forge headers (or a request) on an HTTP/1.1 fallback. */
static const char *call_problem(const orchard_http_call *call)
{
    if (!call->method || !*call->method || strpbrk(call->method, "\r\n :"))
        return "no method, or one with a space, ':', CR or LF";
    if (!call->url || !*call->url)
        return "no url";
    if (call->n_headers && !call->headers)
        return "n_headers without headers";
    if (call->body_len && !call->body)
        return "body_len without a body";
    if (call->response_headers || call->response_body)
        return "the call still holds an answer: http_call_reset it first";
    for (size_t h = 0; h < call->n_headers; h++) {
        const char *line = call->headers[h];
        if (!line || strpbrk(line, "\r\n") || !strchr(line, ':') || line[0] == ':')
            return "a header that is NULL, holds CR or LF, or is not 'Name: value'";
    }
    return NULL;
}

int orchard_http_client_run(orchard_http_client *client, orchard_http_call *calls, size_t n)
{
    size_t stride;

    if (n == 0)
        return client ? 0 : ORCHARD_EINVAL;
    if (!client || !calls || !module)
        return ORCHARD_EINVAL;
    /* A newer caller's calls are larger: step by the size it wrote. */
    stride = calls[0].struct_size;
    if (calls[0].abi_version != ORCHARD_ABI_VERSION || stride < CALL_MIN_SIZE ||
        stride % _Alignof(orchard_http_call) != 0)
        return ORCHARD_EINVAL;
    for (size_t i = 0; i < n; i++) {
        orchard_http_call *call = call_at(calls, i, stride);
        const char *why;
        if (call->abi_version != ORCHARD_ABI_VERSION || call->struct_size != stride)
            return ORCHARD_EINVAL;
        if ((why = call_problem(call)) != NULL) {
            snprintf(call->error, sizeof call->error, "call %zu: %s", i, why);
            return ORCHARD_EINVAL;
        }
    }
    return module->run(client, calls, n, stride);
}

/* Header names compare in any case; the block's names are lower case. */
int orchard_http_call_header(const orchard_http_call *call, const char *name, char *out,
                             size_t out_size)
{
    size_t name_len;
    const char *line;

    if (!call || !name || !out || out_size == 0)
        return ORCHARD_EINVAL;
    out[0] = '\0';
    if (!call->response_headers || !(name_len = strlen(name)))
        return ORCHARD_ENOTFOUND;
    for (line = call->response_headers; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len >= name_len + 1 && line[name_len] == ':' &&
            g_ascii_strncasecmp(line, name, name_len) == 0) {
            const char *v = line + name_len + 1;
            size_t vlen = len - name_len - 1;
            while (vlen && *v == ' ') {
                v++;
                vlen--;
            }
            if (vlen >= out_size) {
                memcpy(out, v, out_size - 1);
                out[out_size - 1] = '\0';
                return ORCHARD_ETOOBIG;
            }
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 0;
        }
        if (!end)
            break;
        line = end + 1;
    }
    return ORCHARD_ENOTFOUND;
}

void orchard_http_call_reset(orchard_http_call *call)
{
    if (!call)
        return;
    /* The module allocates answers with the process's malloc. */
    free(call->response_headers);
    free(call->response_body);
    call->result = 0;
    call->status = 0;
    call->response_headers = NULL;
    call->response_body = NULL;
    call->response_len = 0;
    memset(call->error, 0, sizeof call->error);
}

void orchard_http_client_close(orchard_http_client *client)
{
    if (client && module)
        module->close(client);
}
