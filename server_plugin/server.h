/* The MDM server plugin (orchard_server.so): what its parts contribute, and
 * the host API it was given. Each flow lives in its own folder:
 * setup/ (generate commands), config/ (the mdm: configuration and its
 * rules, `config check`, `get`), crypto/, dep/ (the ABM token), tables/,
 * store/ (the plugin's schema and queries), scep/ (the SCEP server),
 * serve/ (`orchard serve` and what its routes share), enroll/ (profiles). */
#ifndef ORCHARD_SERVER_H
#define ORCHARD_SERVER_H

#include <orchard/plugin.h>

extern const orchard_host_api *orchard_server_host;

/**
 * The plugin's init and deinit2: its state (serve/serve_state.h) hangs off
 * its context. Tests that call handlers directly make a context and call
 * these too.
 */
int orchard_server_init(orchard_ctx *ctx);
void orchard_server_deinit(orchard_ctx *ctx);

/* setup/ */
extern const orchard_command orchard_cmd_generate_mdm_apple;
extern const orchard_command orchard_cmd_generate_mdm_apple_bm;

/* config/ */
extern const orchard_command orchard_cmd_get_mdm_apple;
extern const orchard_command orchard_cmd_get_mdm_apple_bm;
extern const orchard_command orchard_cmd_config_check;

/* enroll/ */
extern const orchard_route orchard_route_enroll;
extern const orchard_command orchard_cmd_enroll_token_create;
/** Deletes expired one-time SCEP challenges (challenge_expiry.c). */
extern const orchard_job orchard_job_challenges_expire;

/* serve/ */
extern const orchard_command orchard_cmd_serve;
extern const orchard_route orchard_route_mdm_apple;

/* scep/ */
extern const orchard_route orchard_route_scep;
/** What the SCEP route keeps for the process; the plugin's deinit frees it. */
void orchard_scep_route_cleanup(void);

#endif
