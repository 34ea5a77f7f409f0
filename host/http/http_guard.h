/* Route guards and identities (ABI 1.2): the host enforces what a route
 * declares (a gate such as "mdm" that must be open, a device certificate, or
 * a user role answered by the registered authenticator) before its handler
 * runs, and answers 401/403/404/503 as Fleet-style JSON errors. */
#ifndef ORCHARD_HTTP_GUARD_H
#define ORCHARD_HTTP_GUARD_H

#include <orchard/plugin.h>

/** A proxy's client-certificate header longer than this is ignored. */
#define ORCHARD_CLIENT_CERT_HEADER_MAX ((size_t)16 * 1024)
/** The longest user id an authenticator may give (with its NUL). */
#define ORCHARD_PRINCIPAL_MAX 256u

/**
 * server.client_cert_header, owned by the host (its core plugin lists it):
 * the request header in which a TLS-terminating proxy passes the client's
 * certificate. Unset or "" (the default): no header is trusted.
 */
extern const orchard_setting orchard_setting_server_client_cert_header;

/**
 * Check `route`'s gate and guard for `req`, on the thread that will run the
 * handler. Returns 0 when the handler may run (the request then knows its
 * principal until orchard_http_guard_end), or the HTTP status already
 * written to `resp` as a JSON error: 404 (gate closed), 503 (gate held), 401 (no or invalid
 * credentials), 403 (role too low), 503 (the authenticator could not tell)
 * or 500 (the route declares a guard this host does not know).
 */
int orchard_http_guard_check(const orchard_route *route, const orchard_http_request *req,
                             orchard_http_response *resp);

/** The request this thread dispatched is answered: forget its principal and certificate. */
void orchard_http_guard_end(void);

/** Forget the authenticator and every gate (the registry is being freed). */
void orchard_http_guard_reset(void);

/** Forget the authenticator when `ctx` registered it (its plugin is unloading). */
void orchard_http_guard_forget(orchard_ctx *ctx);

/**
 * Decode a proxy's client-certificate header: RFC 9440's structured-field
 * byte sequence (":<base64 DER>:") or nginx's $ssl_client_escaped_cert
 * (URL-escaped PEM). Returns 0 with *der (g_free) and *len, or
 * ORCHARD_EINVAL (malformed, truncated, not a certificate's DER) or
 * ORCHARD_ETOOBIG (over ORCHARD_CLIENT_CERT_HEADER_MAX), with *der NULL
 * and *why a static reason.
 */
int orchard_client_cert_decode(const char *value, unsigned char **der, size_t *len,
                               const char **why);

/**
 * 1 when `der` is shaped like an X.509 certificate: one DER SEQUENCE whose
 * definite length covers exactly `len` bytes, holding a SEQUENCE (the
 * to-be-signed part), a SEQUENCE (the algorithm) and a BIT STRING (the
 * signature), nothing else. Not a verification: that is the plugin's job.
 */
int orchard_der_is_certificate(const unsigned char *der, size_t len);

/* The orchard_host_api functions (plugin.h). */
int orchard_http_auth_register(orchard_ctx *ctx, orchard_auth_fn fn, void *payload);
const char *orchard_http_principal(const orchard_http_request *req, int *role);
const unsigned char *orchard_http_client_cert(const orchard_http_request *req, size_t *len);
int orchard_http_gate_set(orchard_ctx *ctx, const char *gate, int open, const char *reason);
/**
 * Hold gate `gate` (message set) or release it (NULL): while it is open and
 * held, its routes answer 503 with `message` as a Fleet-style JSON error
 * (instances whose settings differ, host/instances/). A closed gate still
 * answers 404. Returns 0 or ORCHARD_EINVAL (a bad gate name).
 */
int orchard_http_gate_hold(const char *gate, const char *message);
int orchard_http_error(orchard_http_response *resp, int status, const char *message,
                       const char *field, const char *reason);

#endif
