/* Apple Business Manager as admins see it: one description shared by
 * `orchard get mdm-apple-bm` (config/mdm_commands.c, local or --server) and
 * GET /api/latest/fleet/mdm/apple_bm (mdm_apple_bm_api.c), so both say the
 * same: the token, Apple's account and the DEP sync's last word. */
#ifndef ORCHARD_SERVER_MDM_APPLE_BM_H
#define ORCHARD_SERVER_MDM_APPLE_BM_H

#include "server_plugin/config/mdm_config.h"
#include "server_plugin/store/store_dep.h"

#include <glib.h>
#include <jansson.h>

/* What the admin is told while Apple refuses the sync for unsigned terms. */
#define ORCHARD_BM_TERMS_MESSAGE                                                         \
    "Apple Business Manager's terms and conditions changed: an administrator must sign " \
    "in to business.apple.com and accept them; automatic enrollment is paused until then"

/* Apple's account strings are short; longer ones are cut to this many bytes
 * (on a character boundary) so a damaged value cannot flood a terminal. */
#define ORCHARD_BM_FIELD_MAX 256

/**
 * The description (cfg->bm_token must be set): Fleet's fields
 *   apple_id (the account's admin_id, else facilitator_id; "" before a sync),
 *   org_name, mdm_server_url (server.url + "/mdm/apple/mdm"; "" without
 *   server.url), renew_date (the token's access_token_expiry), default_team
 *   ("" when unset),
 * then orchard's: expires_at, days_left, status ("ok", "expiring",
 * "expired" at `now`), synced (Apple's account was read), account_at,
 * last_sync (null, or {started_at, finished_at, kind, fetched, added,
 * modified, deleted, assigned, error_code, error}), last_success_at,
 * devices, assigned, enrolled, terms_not_signed and, when true,
 * terms_message. Dates are RFC 3339 UTC, null when unknown. `st` NULL: no
 * store to read (nothing synced is known). A new object (json_decref).
 */
json_t *orchard_mdm_apple_bm_json(const orchard_mdm_config *cfg, const char *default_team,
                                  const orchard_dep_overview *st, gint64 now);

/**
 * Read the DEP overview from the open store and mdm.apple_bm_default_team
 * through host->config_get, then describe. Returns 0 and *out (json_decref),
 * or the store's code (ORCHARD_EIO, ...) with *out NULL.
 */
int orchard_mdm_apple_bm_describe(const orchard_host_api *host, const orchard_mdm_config *cfg,
                                  gint64 now, json_t **out);

/**
 * Read a server's description through its admin API: GET
 * <server>/api/latest/fleet/mdm/apple_bm with `token` as the bearer token,
 * as orchard_mdm_apple_fetch does for APNs (config/mdm_apple_remote.c), and
 * with its errors: ORCHARD_EINVAL, ORCHARD_EDENIED, ORCHARD_ENOTFOUND (ABM
 * is not configured there), ORCHARD_EIO; *error (g_free) says what to do.
 */
int orchard_mdm_apple_bm_fetch(orchard_ctx *ctx, const char *server, const char *ca_file,
                               const char *token, json_t **out, char **error);

/** GET /api/{latest,v1}/fleet/mdm/apple_bm (mdm_apple_bm_api.c; server.h declares them too). */
extern const orchard_route orchard_route_mdm_apple_bm_api_latest;
extern const orchard_route orchard_route_mdm_apple_bm_api_v1;

#endif
