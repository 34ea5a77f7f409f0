/* GET /mdm/apple_bm of the admin API (docs/api.md): Apple Business Manager
 * as `orchard get mdm-apple-bm` prints it (one description,
 * orchard_mdm_apple_bm_json), and Fleet's JSON 404 while no ABM token is
 * configured. Observers may read it; not behind the "mdm" gate, since
 * saying why automatic enrollment is off is part of its job. */
#include "server_plugin/api/mdm_apple_bm.h"

#include "server_plugin/api/api.h"
#include "server_plugin/server.h"

#include <string.h>

static int mdm_apple_bm(orchard_ctx *ctx, const orchard_http_request *req,
                        orchard_http_response *resp, void *payload)
{
    const orchard_host_api *host = orchard_server_host;
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL;
    json_t *o = NULL;
    int rc;
    (void)payload;

    const char *sub = orchard_api_subpath(req);
    if (!sub || strcmp(sub, "/mdm/apple_bm") != 0)
        return orchard_api_error(resp, 404, NULL, "no such API path: %s", host->http_path(req));
    /* An expired token is described (status "expired"), not a failure. */
    if (orchard_mdm_config_load_ex(host, ORCHARD_MDM_CONFIG_KEEP_EXPIRED_BM_TOKEN, &cfg, &err)) {
        /* The message names the key at fault, never a value. */
        host->ctx_log(ctx, ORCHARD_LOG_ERROR, "GET /mdm/apple_bm: %s",
                      err ? err : "invalid configuration");
        return orchard_api_error(resp, 500, NULL, "the server's MDM configuration is invalid: %s",
                                 err ? err : "see the server's log");
    }
    if (!cfg->bm_token) {
        rc = orchard_api_error(resp, 404, NULL,
                               "Apple Business Manager is not configured: "
                               "mdm.apple_bm_server_token is not set. Run `orchard generate "
                               "mdm-apple-bm` and see docs/configuration.md");
    } else if ((rc = orchard_mdm_apple_bm_describe(host, cfg, g_get_real_time() / G_USEC_PER_SEC,
                                                   &o))) {
        host->ctx_log(ctx, ORCHARD_LOG_ERROR, "GET /mdm/apple_bm: the store: %s",
                      host->strerror(rc));
        rc = orchard_api_error(resp, 500, NULL, "cannot read the DEP sync's state from the "
                               "store (%s)", host->strerror(rc));
    } else {
        rc = orchard_api_reply(resp, 200, o);
    }
    orchard_mdm_config_free(cfg);
    return rc;
}

ORCHARD_API_ROUTES(orchard_route_mdm_apple_bm_api, "GET", "/mdm/apple_bm", mdm_apple_bm,
                   ORCHARD_GUARD_OBSERVER, NULL);
