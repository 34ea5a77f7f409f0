/* STUB until route guards land: every route serves. */
#include "host/http/http_guard.h"

int orchard_http_guard_check(const orchard_route *route, const orchard_http_request *req,
                             orchard_http_response *resp)
{
    (void)route;
    (void)req;
    (void)resp;
    return 0;
}

void orchard_http_guard_reset(void) {}

int orchard_http_auth_register(orchard_ctx *ctx, orchard_auth_fn fn, void *payload)
{
    (void)ctx;
    (void)fn;
    (void)payload;
    return 0;
}

const char *orchard_http_principal(const orchard_http_request *req, int *role)
{
    (void)req;
    if (role)
        *role = 0;
    return NULL;
}

const unsigned char *orchard_http_client_cert(const orchard_http_request *req, size_t *len)
{
    (void)req;
    *len = 0;
    return NULL;
}

int orchard_http_gate_set(orchard_ctx *ctx, const char *gate, int open, const char *reason)
{
    (void)ctx;
    (void)gate;
    (void)open;
    (void)reason;
    return 0;
}

int orchard_http_error(orchard_http_response *resp, int status, const char *message,
                       const char *field, const char *reason)
{
    (void)resp;
    (void)status;
    (void)message;
    (void)field;
    (void)reason;
    return 0;
}
