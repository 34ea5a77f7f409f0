/* A stand-in authenticator for API suites that test routes, not users:
 * three fixed bearer tokens, one per role, registered with
 * host->auth_register. The users flow has its own suites. */
#ifndef ORCHARD_TEST_TOKEN_AUTH_FIXTURE_H
#define ORCHARD_TEST_TOKEN_AUTH_FIXTURE_H

#include <orchard/plugin.h>

#include <stddef.h>

#define TFX_OBSERVER "Bearer observer-tok"     /* obs@example.com */
#define TFX_MAINTAINER "Bearer maintainer-tok" /* maint@example.com */
#define TFX_ADMIN "Bearer admin-tok"           /* admin@example.com */

/** orchard_auth_fn: the role of the request's token (0 for any other). */
int tfx_token_auth(orchard_ctx *ctx, const orchard_http_request *req, char *who,
                   size_t who_size, void *payload);

#endif
