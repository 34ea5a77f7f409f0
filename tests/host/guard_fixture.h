/* The http_guard suite's test plugin and server: a 1.2 plugin whose routes
 * declare gates and guards and echo what the host told them (principal,
 * client certificate), a test authenticator, orchard_http_serve on
 * 127.0.0.1:0 in a thread, and a libcurl GET. Handlers and the
 * authenticator run on the server's threads, so they only answer. */
#ifndef ORCHARD_TEST_GUARD_FIXTURE_H
#define ORCHARD_TEST_GUARD_FIXTURE_H

#include "tests/host/http_fixture.h"

#include <curl/curl.h>
#include <glib.h>
#include <orchard/plugin.h>
#include <stdatomic.h>

/*
 * The routes (all GET):
 *  /gated         gate "mdm", no guard: "gated ok"
 *  /device        guard DEVICE: "device <DER length> <SHA-256 of the DER>"
 *  /observer, /maintainer, /admin   role guards: "who=<id> role=<n>"
 *  /gated-admin   gate "mdm" and guard ADMIN: "gated admin ok"
 *  /open          no guard: "principal=<id or (none)> cert=<length>"
 *  /old           a 1.1 route struct (no 1.2 fields; its memory past them
 *                 says gate "mdm" and ADMIN, which the host must not read)
 *  /failing       a 1.2 handler that fails through host->fail
 *  /unknown-guard guard 9
 *
 * The authenticator reads "Authorization: Bearer <what>:<id>": <what> is
 * observer, maintainer or admin (that role), "fail" (host->fail and EIO),
 * "bogus" (role 7) or "anonymous" (role 1, empty id). No header: 0.
 */
extern const orchard_host_api *guard_host;
extern orchard_ctx *guard_ctx; /* the plugin's context, from its init */
extern atomic_int guard_auth_calls;
extern const char *const guard_failing_message;

/** The test authenticator (register it with guard_host->auth_register). */
int guard_authenticate(orchard_ctx *ctx, const orchard_http_request *req, char *who,
                       size_t who_size, void *payload);

/** Suite init/cleanup: the plugin in a registry of our own made global, the
 * server's configuration, libcurl. Init returns 0, or 1 (said on stderr). */
int guard_fixture_init(void);
int guard_fixture_cleanup(void);

/** Start serving; NULL when the server did not come up within 10 s. */
typedef http_server guard_server;
guard_server *guard_server_start(void);
const char *guard_server_url(const guard_server *s);
/** Stop and join; returns serve's result. */
int guard_server_stop(guard_server *s);

/* The client is http_fixture's. */
typedef http_response guard_response;

/** GET base + path with the given header lines (NULL-terminated, or NULL). */
void guard_get(const char *base, const char *path, const char *const *headers,
               guard_response *r);
void guard_response_clear(guard_response *r);

#endif
