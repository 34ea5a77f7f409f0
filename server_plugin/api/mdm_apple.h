/* The APNs certificate as admins see it: one description shared by
 * `orchard get mdm-apple` (config/mdm_commands.c, local or --server) and
 * GET /api/latest/fleet/mdm/apple (mdm_apple_api.c), so both say the same. */
#ifndef ORCHARD_SERVER_MDM_APPLE_H
#define ORCHARD_SERVER_MDM_APPLE_H

#include "server_plugin/config/mdm_config.h"

#include <glib.h>
#include <jansson.h>

/**
 * The configured APNs certificate (cfg->apns_cert must be set) as
 * {"common_name", "serial_number", "issuer", "renew_date", "topic",
 * "not_before", "not_after", "days_left", "status"}: Fleet's four fields,
 * orchard's topic, and the validity as the apns_certificate table shows
 * it. Dates are RFC 3339 UTC; status is "ok", "expiring" or "expired" at
 * `now`. A new object (json_decref).
 */
json_t *orchard_mdm_apple_json(const orchard_mdm_config *cfg, gint64 now);

/**
 * Read a server's description (the same object) through its admin API:
 * GET <server>/api/latest/fleet/mdm/apple with `token` as the bearer token,
 * over the host's outbound HTTP client (ABI 1.3). `ca_file` (may be NULL) is
 * a PEM bundle to trust instead of the system's. Returns 0 and *out
 * (json_decref), or with *error (g_free) in an admin's words:
 *   ORCHARD_EINVAL    no token, a URL that is not http(s)://, a bad answer;
 *   ORCHARD_EDENIED   the server refused the token (401) or the role (403);
 *   ORCHARD_ENOTFOUND the server has no APNs certificate (its 404);
 *   ORCHARD_EIO       the server could not be reached, or the client is missing.
 */
int orchard_mdm_apple_fetch(orchard_ctx *ctx, const char *server, const char *ca_file,
                            const char *token, json_t **out, char **error);

/** GET /api/{latest,v1}/fleet/mdm/apple (mdm_apple_api.c). */
extern const orchard_route orchard_route_mdm_apple_api_latest;
extern const orchard_route orchard_route_mdm_apple_api_v1;

#endif
