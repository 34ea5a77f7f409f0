/* What `orchard serve` started with, shared by every route handler: the
 * loaded configuration and the base URL devices reach us at. It hangs off
 * the server plugin's context (ABI 1.2), made by the plugin's init; the
 * serve command installs the configuration before the HTTP server starts
 * (tests install their own), which also opens or closes the host's "mdm"
 * gate that every MDM route declares. */
#ifndef ORCHARD_SERVE_STATE_H
#define ORCHARD_SERVE_STATE_H

#include "server_plugin/config/mdm_config.h"

#include <orchard/plugin.h>

/** Hang a fresh, empty state off `ctx` (the plugin's init). Returns 0 or ORCHARD_ENOMEM. */
int orchard_serve_state_attach(orchard_ctx *ctx);
/** Free the state hung off `ctx` (the plugin's deinit2). */
void orchard_serve_state_detach(orchard_ctx *ctx);

/**
 * Install the configuration (owned from now on; NULL frees the old one) and
 * open the "mdm" gate when it turns MDM on, or close it with the reason.
 */
void orchard_serve_state_set(orchard_ctx *ctx, orchard_mdm_config *cfg);
/** The configuration in force, or NULL when not serving. */
const orchard_mdm_config *orchard_serve_config(orchard_ctx *ctx);
/** Remember the listening URL ("http://127.0.0.1:8080"); copied. */
void orchard_serve_set_listen_url(orchard_ctx *ctx, const char *url);
/**
 * The URL devices use: server.url when configured, else the listening URL,
 * without a trailing '/'. Borrowed; "" before serving.
 */
const char *orchard_serve_base_url(orchard_ctx *ctx);

#endif
