/* The serve command's configuration, read by route handlers on the HTTP
 * server's threads. It is written before the server starts and freed after
 * it stops, so handlers read it without a lock. */
#include "server_plugin/serve/serve_state.h"

#include "server_plugin/server.h"

#include <glib.h>
#include <string.h>

static orchard_mdm_config *state_cfg;
static char *state_listen_url;

void orchard_serve_state_set(orchard_mdm_config *cfg)
{
    orchard_mdm_config_free(state_cfg);
    state_cfg = cfg;
    if (!cfg) {
        g_free(state_listen_url);
        state_listen_url = NULL;
    }
}

const orchard_mdm_config *orchard_serve_config(void) { return state_cfg; }

void orchard_serve_set_listen_url(const char *url)
{
    g_free(state_listen_url);
    state_listen_url = g_strdup(url);
}

const char *orchard_serve_base_url(void)
{
    if (state_cfg && state_cfg->url)
        return state_cfg->url;
    return state_listen_url ? state_listen_url : "";
}

int orchard_serve_mdm_gate(orchard_http_response *resp)
{
    const orchard_mdm_config *cfg = state_cfg;
    if (cfg && cfg->mdm_enabled)
        return 0;
    g_autofree char *body = g_strdup_printf(
        "MDM is not configured on this server: %s. Run `orchard generate mdm-apple`, then set "
        "mdm.apple_apns_cert/key, mdm.apple_scep_cert/key and mdm.apple_scep_challenge "
        "(docs/configuration.md).\n",
        cfg && cfg->mdm_off_reason ? cfg->mdm_off_reason : "the server is not configured");
    orchard_server_host->http_respond(resp, 404, "text/plain; charset=utf-8", body, strlen(body));
    return 1;
}
