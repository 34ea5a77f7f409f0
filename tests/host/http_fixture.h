/* The http suites' test plugin (http_test.c, http_routes_test.c): routes
 * whose handlers echo what they were given, registered in a registry of our
 * own that is the global one while a suite runs. Handlers run on the
 * server's threads, so they only record. */
#ifndef ORCHARD_TEST_HTTP_FIXTURE_H
#define ORCHARD_TEST_HTTP_FIXTURE_H

#include "host/plugins/registry.h"

#include <orchard/plugin.h>
#include <stdatomic.h>

/* The plugin's routes, in registration order:
 *  0 GET /mdm/apple/scep  echoes method, path, operation, message, remote
 *  1 POST /mdm/apple/scep echoes the body (X-Body-Len: its length)
 *  2 GET /mdm/apple, 3 GET /api/: "apple <path>", "api <path>"
 *  4 * /any: the method;  5 GET /headers: what http_header/set_header did
 *  6 GET /fail (EIO), 7 GET /fail-after (418 then EIO), 8 GET /silent (no
 *    respond), 9 GET /slow (1.5 s; sets slow_started first) */
#define HTTP_FIXTURE_N_ROUTES 10
extern const orchard_route routes[HTTP_FIXTURE_N_ROUTES];

/* Set to 1 by /slow's handler when it starts. */
extern atomic_int slow_started;

/* The registry holding the plugin, from http_fixture_init to _cleanup. */
extern orchard_registry *reg;

/* A second plugin's entry point; it claims GET /mdm/apple/scep again. */
int dup_plugin_entry(const orchard_host_api *host, const orchard_plugin **out);

/* CUnit suite init and cleanup: make reg with the plugin and make it the
 * global registry (log level WARNING meanwhile); then put both back.
 * Init returns 0, or 1 when the plugin is refused (said on stderr). */
int http_fixture_init(void);
int http_fixture_cleanup(void);

#endif
