/* Route guards and identities (ABI 1.2): the host enforces what a route
 * declares (a gate such as "mdm" that must be open, a device certificate, or
 * a user role answered by the registered authenticator) before its handler
 * runs, and answers 401/403/404 as Fleet-style JSON errors. */
#ifndef ORCHARD_HTTP_GUARD_H
#define ORCHARD_HTTP_GUARD_H

#include <orchard/plugin.h>

/**
 * Check `route`'s gate and guard for `req`. Returns 0 when the handler may
 * run (the request then knows its principal), or the HTTP status already
 * written to `resp` (401, 403, 404, 503).
 */
int orchard_http_guard_check(const orchard_route *route, const orchard_http_request *req,
                             orchard_http_response *resp);

/** Forget the authenticator and every gate (the registry is being freed). */
void orchard_http_guard_reset(void);

/* The orchard_host_api functions. */
int orchard_http_auth_register(orchard_ctx *ctx, orchard_auth_fn fn, void *payload);
const char *orchard_http_principal(const orchard_http_request *req, int *role);
const unsigned char *orchard_http_client_cert(const orchard_http_request *req, size_t *len);
int orchard_http_gate_set(orchard_ctx *ctx, const char *gate, int open, const char *reason);
int orchard_http_error(orchard_http_response *resp, int status, const char *message,
                       const char *field, const char *reason);

#endif
