/* What `orchard serve` started with, shared by every route handler: the
 * loaded configuration and the base URL devices reach us at. Set once by the
 * serve command before the HTTP server starts (tests set it themselves). */
#ifndef ORCHARD_SERVE_STATE_H
#define ORCHARD_SERVE_STATE_H

#include "server_plugin/config/mdm_config.h"

#include <orchard/plugin.h>

/** Install the configuration (owned from now on; NULL frees the old one). */
void orchard_serve_state_set(orchard_mdm_config *cfg);
/** The configuration in force, or NULL when not serving. */
const orchard_mdm_config *orchard_serve_config(void);
/** Remember the listening URL ("http://127.0.0.1:8080"); copied. */
void orchard_serve_set_listen_url(const char *url);
/**
 * The URL devices use: server.url when configured, else the listening URL,
 * without a trailing '/'. Borrowed; "" before serving.
 */
const char *orchard_serve_base_url(void);

/**
 * For MDM routes: when MDM is off (APNs and SCEP not both configured),
 * answer 404 with a body saying so and why, and return 1; else return 0.
 */
int orchard_serve_mdm_gate(orchard_http_response *resp);

#endif
