/* Private to host/http: the pieces of the host's HTTP service that the
 * serve loop (http_serve.c) assembles: responses (http_api.c), dispatch and
 * the access log (http_dispatch.c), server.* settings (http_settings.c) and
 * the transport module loader (http_loader.c). */
#ifndef ORCHARD_HTTP_INTERNAL_H
#define ORCHARD_HTTP_INTERNAL_H

#include "host/http/http_module.h"

#include <gmodule.h>
#include <netinet/in.h>
#include <sys/socket.h>

/** Request bodies over this get 413 and never reach a handler, unless the
 * route sets its own orchard_route.max_body. */
#define ORCHARD_HTTP_BODY_CAP ((size_t)2 * 1024 * 1024)

/* ---- responses (http_api.c) */

orchard_http_response *orchard_http_response_new(void);
void orchard_http_response_free(orchard_http_response *resp);
/** Before the module sees it: a content type given to respond() drops any
 * Content-Type header set with set_header(), so exactly one is sent. */
void orchard_http_response_finish(orchard_http_response *resp);
/** Replace whatever the response holds with a text/plain `status` answer. */
void orchard_http_response_text(orchard_http_response *resp, int status, const char *text);

/* ---- the module's callbacks (http_dispatch.c); `ud` is unused */

/** Route one request to its plugin handler; 404/405/500/204 as plugin.h says. */
orchard_http_response *orchard_http_dispatch(const orchard_http_request *req, void *ud);
void orchard_http_release(orchard_http_response *resp, void *ud);
/** The body cap of a request to method + path: its route's max_body (ABI
 * 1.3) when it sets one, else ORCHARD_HTTP_BODY_CAP. */
size_t orchard_http_body_cap(const char *method, const char *path, void *ud);
/** One INFO line per request; the path is logged without its query string. */
void orchard_http_access_log(const orchard_http_access *rec, void *ud);
void orchard_http_transport_log(int level, const char *msg, void *ud);

/* ---- settings (http_settings.c) */

typedef struct orchard_http_settings {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char url_host[INET6_ADDRSTRLEN + 2]; /* "127.0.0.1" or "[::1]" */
    char *address;                       /* server.address as configured */
    char *tls_cert_pem;                  /* NULL, or both set */
    char *tls_key_pem;
    char *tls_client_ca_pem;             /* NULL: clients are not asked for certificates */
    unsigned threads;
    unsigned timeout_seconds;    /* server.connection_timeout: idle connections */
    unsigned request_timeout_ms; /* server.request_timeout: headers and body */
    unsigned max_connections;
    unsigned max_per_address;    /* 0: no limit */
    size_t max_buffered;         /* server.max_buffered_bytes */
} orchard_http_settings;

/**
 * Read every server.* key (http_settings.h declares them; the TLS ones as
 * the PEM files' bytes). Returns 0, ORCHARD_EINVAL (a malformed value) or
 * ORCHARD_ENOTFOUND (a TLS file can't be read), with *error_msg (g_free)
 * naming the key; st holds nothing to clear then.
 */
int orchard_http_settings_load(orchard_http_settings *st, char **error_msg);
void orchard_http_settings_clear(orchard_http_settings *st);

/* ---- the transport module (http_loader.c) */

/**
 * Open orchard_http.so: config http_module, else modules/ beside the binary,
 * else the installed one. Returns 0 with *module (g_module_close) and *api;
 * ORCHARD_ENOTFOUND (no module anywhere, or it won't load) or ORCHARD_EABI
 * (a module from another orchard) with *error_msg (g_free).
 */
int orchard_http_module_open(GModule **module, const orchard_http_module **api,
                             char **error_msg);

#endif
