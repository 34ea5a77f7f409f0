/* The host's HTTP service (since ABI 1.1): the request/response accessors
 * plugins call through orchard_host_api, and `http_serve`, which loads the
 * libmicrohttpd module (orchard_http.so) only when a server starts, so that
 * orchard.ext never maps libmicrohttpd and GnuTLS (bench/RESULTS.md). */
#ifndef ORCHARD_HTTP_API_H
#define ORCHARD_HTTP_API_H

#include <orchard/plugin.h>
#include <stddef.h>

const char *orchard_http_method(const orchard_http_request *req);
const char *orchard_http_path(const orchard_http_request *req);
const char *orchard_http_query(const orchard_http_request *req, const char *key);
int orchard_http_query_at(const orchard_http_request *req, size_t i, const char **name,
                          const char **value);
const char *orchard_http_header(const orchard_http_request *req, const char *name);
const unsigned char *orchard_http_body(const orchard_http_request *req, size_t *len);
const char *orchard_http_remote_addr(const orchard_http_request *req);
int orchard_http_set_header(orchard_http_response *resp, const char *name, const char *value);
int orchard_http_respond(orchard_http_response *resp, int status, const char *content_type,
                         const void *body, size_t len);
/**
 * orchard_host_api.http_serve (plugin.h has the contract). One server per
 * process. Returns 0 after a stop; ORCHARD_EEXIST (already serving),
 * ORCHARD_EINVAL (a malformed server.* value), ORCHARD_ENOTFOUND (a TLS file
 * or the module is missing), ORCHARD_EABI (a module from another build) or
 * ORCHARD_EIO (libmicrohttpd would not start: the address is in use, or it
 * refused the certificate or key); each failure is logged with the key to fix.
 */
int orchard_http_serve(void (*ready)(const char *base_url, void *ud), void *ud);
/**
 * Ask a running orchard_http_serve to stop, as SIGTERM does; from any thread,
 * including `ready`. Does nothing when no server is running.
 */
void orchard_http_stop(void);

#endif
