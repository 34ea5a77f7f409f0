/* GET and PATCH /config (docs/api.md): the part of Fleet's app config orchard
 * has. GET shows whether MDM runs, the organization name, the server URL and
 * the global macOS update setting; PATCH changes that setting (team 0,
 * through orchard_macos_updates_patch, as the macOS updates page does) and
 * ignores other keys, as Fleet ignores keys it does not know, because the
 * rest of orchard's configuration lives in its file. */
#include "server_plugin/api/api.h"
#include "server_plugin/config/mdm_config.h"
#include "server_plugin/server.h"
#include "server_plugin/updates/updates.h"

#include <string.h>

static int store_error(orchard_http_response *resp, int rc)
{
    if (rc == ORCHARD_EBUSY)
        return orchard_api_error(resp, 503, NULL, "the store is busy; try again");
    return orchard_api_error(resp, 500, NULL, "the store failed: %s",
                             orchard_server_host->strerror(rc));
}

static int reply_config(orchard_http_response *resp)
{
    g_autofree char *min = NULL, *deadline = NULL, *why = NULL;
    orchard_mdm_config *cfg = NULL;
    int rc = orchard_macos_updates_get(0, &min, &deadline);
    if (rc)
        return store_error(resp, rc);
    /* A configuration that does not load means MDM is not running. */
    orchard_mdm_config_load(orchard_server_host, &cfg, &why);
    json_t *body = json_pack("{s:{s:s}, s:{s:s?}, s:{s:b, s:o}}", "org_info", "org_name",
                             cfg && cfg->org_name ? cfg->org_name : "orchard",
                             "server_settings", "server_url", cfg ? cfg->url : NULL, "mdm",
                             "enabled_and_configured", cfg && cfg->mdm_enabled,
                             "macos_updates", orchard_macos_updates_json(min, deadline));
    orchard_mdm_config_free(cfg);
    return orchard_api_reply(resp, 200, body);
}

static int config_get(orchard_ctx *ctx, const orchard_http_request *req,
                      orchard_http_response *resp, void *payload)
{
    (void)ctx, (void)payload;
    const char *sub = orchard_api_subpath(req);
    if (!sub || strcmp(sub, "/config") != 0)
        return orchard_api_error(resp, 404, NULL, "no such API path: %s",
                                 orchard_server_host->http_path(req));
    return reply_config(resp);
}

static int patch_body(orchard_ctx *ctx, const orchard_http_request *req,
                      orchard_http_response *resp, json_t *body)
{
    g_autofree char *reason = NULL;
    const char *field = NULL;
    json_t *mdm = json_object_get(body, "mdm");
    if (mdm && !json_is_null(mdm) && !json_is_object(mdm))
        return orchard_api_error(resp, 400, "mdm", "mdm must be an object");
    json_t *mu = json_object_get(mdm, "macos_updates");
    if (mu && !json_is_null(mu) && !json_is_object(mu))
        return orchard_api_error(resp, 400, "mdm.macos_updates",
                                 "mdm.macos_updates must be an object");
    if (!json_is_object(mu))
        return reply_config(resp);
    int rc = orchard_macos_updates_patch(ctx, 0, mu, orchard_api_actor(req, NULL), &field,
                                         &reason);
    /* Fleet answers 422 for a value it validated and refused. */
    if (rc == ORCHARD_EINVAL)
        return orchard_api_error(resp, 422, field, "%s", reason);
    if (rc == ORCHARD_EEXIST)
        return orchard_api_error(resp, 409, "mdm.macos_updates", "a custom profile without a "
                                 "team uses orchard's Nudge identifier %s; delete it first",
                                 ORCHARD_NUDGE_PROFILE_IDENTIFIER);
    if (rc)
        return store_error(resp, rc);
    return reply_config(resp);
}

static int config_patch(orchard_ctx *ctx, const orchard_http_request *req,
                        orchard_http_response *resp, void *payload)
{
    json_t *body = NULL;
    (void)payload;
    const char *sub = orchard_api_subpath(req);
    if (!sub || strcmp(sub, "/config") != 0)
        return orchard_api_error(resp, 404, NULL, "no such API path: %s",
                                 orchard_server_host->http_path(req));
    if (orchard_api_read_json(req, resp, &body))
        return 0;
    int rc = patch_body(ctx, req, resp, body);
    json_decref(body);
    return rc;
}

ORCHARD_API_ROUTES(orchard_route_config_get, "GET", "/config", config_get,
                   ORCHARD_GUARD_OBSERVER, NULL);
/* Maintainers too: the only thing PATCH changes is the macOS update
 * setting, which maintainers may change (as on the macOS updates page). */
ORCHARD_API_ROUTES(orchard_route_config_patch, "PATCH", "/config", config_patch,
                   ORCHARD_GUARD_MAINTAINER, NULL);
