/* The http suites' test plugin (http_test.c, http_routes_test.c,
 * http_limits_test.c, http_tls_test.c): routes whose handlers echo what they
 * were given, registered in a registry of our own that is the global one
 * while a suite runs; and the suites' tools: orchard_http_serve in a thread,
 * a libcurl client, openssl for throwaway certificates. Handlers run on the
 * server's threads, so they only record. */
#ifndef ORCHARD_TEST_HTTP_FIXTURE_H
#define ORCHARD_TEST_HTTP_FIXTURE_H

#include "host/plugins/registry.h"

#include <orchard/plugin.h>
#include <curl/curl.h>
#include <glib.h>
#include <stdatomic.h>

/* The plugin's routes, in registration order:
 *  0 GET /mdm/apple/scep  echoes method, path, operation, message, remote
 *  1 POST /mdm/apple/scep echoes the body (X-Body-Len: its length)
 *  2 GET /mdm/apple, 3 GET /api/: "apple <path>", "api <path>"
 *  4 * /any: the method;  5 GET /headers: what http_header/set_header did
 *  6 GET /fail (EIO), 7 GET /fail-after (418 then EIO), 8 GET /silent (no
 *    respond), 9 GET /slow (1.5 s; sets slow_started first)
 * 10 GET /cert: "cert <length> <sha256 hex>" of the request's client
 *    certificate ("cert 0 -" without one)
 * 11 GET / (ORCHARD_ROUTE_EXACT): "/" alone, answered like /any */
#define HTTP_FIXTURE_N_ROUTES 12
extern const orchard_route routes[HTTP_FIXTURE_N_ROUTES];

/* Set to 1 by /slow's handler when it starts. */
extern atomic_int slow_started;

/* The registry holding the plugin, from http_fixture_init to _cleanup. */
extern orchard_registry *http_reg;

/* A second plugin's entry point; it claims GET /mdm/apple/scep again. */
int dup_plugin_entry(const orchard_host_api *host, const orchard_plugin **out);

/* CUnit suite init and cleanup: make http_reg with the plugin and make it the
 * global registry (log level WARNING meanwhile); then put both back.
 * Init returns 0, or 1 when the plugin is refused (said on stderr). */
int http_fixture_init(void);
int http_fixture_cleanup(void);

/* ---- tools */

/* Set (or with NULL, unset) a key of the process configuration. */
void http_config(const char *key, const char *value);

/* orchard_http_serve in a thread, with the process configuration. */
typedef struct {
    GThread *thread;
    GMutex lock;
    GCond cond;
    char *url; /* the base URL ready() gave; NULL when serve did not start */
    int done;
    int rc;
    int ready_calls;
} http_server;

/* Start serving; returns when ready was called or serve gave up (10 s at most). */
http_server *http_server_start(void);
/* Stop (or wait for a failed start), join, free; returns serve's result and
 * how long the stop took in *seconds (may be NULL). */
int http_server_finish(http_server *s, double *seconds);

/* One libcurl exchange: its status, body and header block. */
typedef struct {
    long status;
    GString *body;
    GString *headers;
    CURLcode code;
} http_response;

/* While set, clients trust this CA file (PEM). */
extern const char *http_ca_file;

/* An easy handle for url that fills r (20 s timeout); give it to http_perform. */
CURL *http_client(const char *url, http_response *r, struct curl_slist *headers);
/* Run and clean up c; fills r->code and r->status. */
void http_perform(CURL *c, http_response *r);
void http_response_clear(http_response *r);
/* A body-less request (GET, HEAD, or another method) to base + path. */
void http_fetch_url(const char *base, const char *method, const char *path, http_response *r,
                    struct curl_slist *headers);
/* 1 when the response's header block holds `line` (case-insensitive). */
int http_has_header(const http_response *r, const char *line);

/* Run `openssl` with argv (NULL-terminated, argv[0] "openssl"); 1 on success,
 * else 0 with the reason on stderr. */
int http_openssl(const char *const *argv);

/* ---- raw sockets, for what libcurl would not send */

/** The port of a base URL ("http://127.0.0.1:8080" -> 8080); 0 without one. */
unsigned url_port(const char *url);

/** A TCP connection to 127.0.0.1:port from address `from` (NULL: any); -1 on failure. */
int raw_connect(const char *from, unsigned port);

/** Send all n bytes of s (raw_send: all of the string); 0 when the peer is gone. */
int raw_send_n(int fd, const char *s, size_t n);
int raw_send(int fd, const char *s);

/**
 * Read for up to `ms` (or until the peer closes, or `until` shows up in what
 * was read). Returns 1 closed (or reset), 0 still open; what came is appended.
 */
int raw_read(int fd, int ms, GString *got, const char *until);

#endif
