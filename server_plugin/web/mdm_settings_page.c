/* /settings/integrations/mdm, for admins: the APNs certificate, Apple
 * Business Manager and the instances, read through the very functions GET
 * /api/latest/fleet/mdm/apple and /mdm/apple_bm answer with
 * (orchard_mdm_apple_json, orchard_mdm_apple_bm_describe), then shaped by
 * mdm_settings_view.c and rendered by templates/mdm_settings.html. */
#include "server_plugin/api/mdm_apple.h"
#include "server_plugin/api/mdm_apple_bm.h"
#include "server_plugin/config/mdm_fingerprint.h"
#include "server_plugin/server.h"
#include "server_plugin/web/mdm_settings_view.h"
#include "server_plugin/web/web_pages.h"

#include <string.h>

#define PAGE_PATH "/settings/integrations/mdm"
#define TITLE "Settings › Integrations › MDM"

/* A setting's value when it is set, else NULL. */
static const char *setting(const char *key)
{
    const char *v = orchard_server_host->config_get(key);
    return v && *v ? v : NULL;
}

/* Fill `in` from the configuration and the store; what must be freed
 * afterwards goes into the out-parameters. */
static void gather(orchard_ctx *ctx, orchard_mdm_settings_input *in, orchard_mdm_config **cfg_out,
                   char **err_out, orchard_mdm_renewal_who *who)
{
    const orchard_host_api *h = orchard_server_host;
    orchard_mdm_config *cfg = NULL;
    int rc;

    in->now = g_get_real_time() / G_USEC_PER_SEC;
    in->who = who;
    in->instances = orchard_mdm_instances_json(ctx, NULL);
    /* An expired ABM token is shown (with its banner), not an error: the
     * same load GET /mdm/apple_bm does. */
    if (orchard_mdm_config_load_ex(h, ORCHARD_MDM_CONFIG_KEEP_EXPIRED_BM_TOKEN, &cfg, err_out)) {
        h->ctx_log(ctx, ORCHARD_LOG_ERROR, "pages: " PAGE_PATH ": %s",
                   *err_out ? *err_out : "invalid configuration");
        in->config_error = *err_out ? *err_out : "see the server's log";
        return;
    }
    *cfg_out = cfg;
    in->mdm_enabled = cfg->mdm_enabled;
    in->mdm_off_reason = cfg->mdm_off_reason;
    in->apns_cert_path = setting("mdm.apple_apns_cert");
    in->apns_key_path = setting("mdm.apple_apns_key");
    in->scep_cert_path = setting("mdm.apple_scep_cert");
    in->scep_key_path = setting("mdm.apple_scep_key");
    in->bm_token_path = setting("mdm.apple_bm_server_token");
    if (cfg->apns_cert) {
        in->apns = orchard_mdm_apple_json(cfg, in->now);
        orchard_mdm_renewal_who_find(cfg->apns_cert, in->apns_key_path, who);
    }
    in->bm_configured = cfg->bm_token != NULL;
    if (cfg->bm_token && (rc = orchard_mdm_apple_bm_describe(h, cfg, in->now, &in->bm))) {
        h->ctx_log(ctx, ORCHARD_LOG_ERROR, "pages: " PAGE_PATH ": the store: %s",
                   h->strerror(rc));
        in->bm_error = h->strerror(rc);
    }
}

static int page(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp,
                void *payload)
{
    orchard_web_visit v;
    orchard_mdm_settings_input in = {0};
    orchard_mdm_renewal_who who = {0};
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL;
    (void)payload;

    if (orchard_web_begin(ctx, req, resp, ORCHARD_ROLE_ADMIN, &v))
        return 0;
    /* The route is a prefix: anything under it is not this page. */
    const char *path = orchard_server_host->http_path(req);
    if (strcmp(path, PAGE_PATH) != 0 && strcmp(path, PAGE_PATH "/") != 0)
        return orchard_web_error(ctx, resp, &v, 404, "There is no such page.");

    gather(ctx, &in, &cfg, &err, &who);
    json_t *data = orchard_mdm_settings_view(&in);
    json_decref(in.apns);
    json_decref(in.bm);
    json_decref(in.instances);
    orchard_mdm_renewal_who_clear(&who);
    orchard_mdm_config_free(cfg);
    if (!data)
        return ORCHARD_ENOMEM;
    return orchard_web_respond(ctx, resp, &v, 200, "mdm_settings", TITLE, data);
}

const orchard_route orchard_route_web_mdm_settings = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "GET",
    .path_prefix = PAGE_PATH,
    .handle2 = page,
    .guard = ORCHARD_GUARD_NONE,
};
