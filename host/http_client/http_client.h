/* The host's outbound HTTP/2 client service (orchard_host_api's
 * http_client_* and http_call_* functions, ABI 1.3). The work happens in
 * orchard_http_client.so, loaded on the first http_client_open so that
 * orchard.ext never maps libcurl; this side checks what plugins hand over. */
#ifndef ORCHARD_HTTP_CLIENT_H
#define ORCHARD_HTTP_CLIENT_H

#include <orchard/plugin.h>

#include <stddef.h>

/**
 * orchard_host_api.http_client_open. Returns 0 and *out; ORCHARD_EINVAL (no
 * config, a struct this host cannot read, a certificate without its key,
 * more than 64 connections, TLS material the module refuses) or
 * ORCHARD_EIO (the module cannot load), with the reason through
 * host->fail on ctx (NULL is fine). *out is NULL on failure.
 */
int orchard_http_client_open(orchard_ctx *ctx, const orchard_http_client_config *cfg,
                             orchard_http_client **out);

/**
 * orchard_http_client_run. Returns 0, or ORCHARD_EINVAL before any call
 * starts: no client, calls NULL with n > 0, a call whose abi_version or
 * struct_size is not readable (or differs from the first call's), no method
 * or url, a CR or LF in the method or a header, a header without ':',
 * headers or body NULL with a count, or a call still holding an answer
 * (http_call_reset it first). The offending call's error says which.
 */
int orchard_http_client_run(orchard_http_client *client, orchard_http_call *calls, size_t n);

/** orchard_host_api.http_call_header: 0, ORCHARD_ENOTFOUND, ORCHARD_ETOOBIG
 *  (truncated, still NUL-terminated) or ORCHARD_EINVAL (NULL arguments). */
int orchard_http_call_header(const orchard_http_call *call, const char *name, char *out,
                             size_t out_size);

/** orchard_host_api.http_call_reset: frees the answer, zeroes it, keeps the request. */
void orchard_http_call_reset(orchard_http_call *call);

/** orchard_host_api.http_client_close (NULL is fine). */
void orchard_http_client_close(orchard_http_client *client);

/* ---- private to host/http_client (http_client_loader.c) */

/**
 * The module, loaded once per process on the first call and kept until exit
 * (clients may outlive any one caller): config http_client_module, else
 * modules/ beside the binary (or beside its directory: the test runner in
 * <build>/tests/), else the installed one. Returns 0 and *api, or
 * ORCHARD_EIO with *error_msg (g_free) saying which file and why. A failure
 * is not remembered: the next call tries again.
 */
struct orchard_http_client_module;
int orchard_http_client_module_get(const struct orchard_http_client_module **api,
                                   char **error_msg);
/** 1 once the module is loaded (for tests of the loader), else 0. */
int orchard_http_client_module_loaded(void);

#endif
