/* The serve command's configuration, read by route handlers on the HTTP
 * server's threads through the plugin's context. It is written before the
 * server starts and freed after it stops, so handlers read it without a
 * lock. */
#include "server_plugin/serve/serve_state.h"

#include "server_plugin/server.h"

#include <glib.h>
#include <string.h>

typedef struct {
    orchard_mdm_config *cfg;
    char *listen_url;
} serve_state;

static serve_state *state_of(orchard_ctx *ctx)
{
    return ctx ? orchard_server_host->ctx_data(ctx) : NULL;
}

int orchard_serve_state_attach(orchard_ctx *ctx)
{
    orchard_server_host->ctx_set_data(ctx, g_new0(serve_state, 1));
    return 0;
}

void orchard_serve_state_detach(orchard_ctx *ctx)
{
    serve_state *st = state_of(ctx);
    if (!st)
        return;
    orchard_mdm_config_free(st->cfg);
    g_free(st->listen_url);
    g_free(st);
    orchard_server_host->ctx_set_data(ctx, NULL);
}

/* The "mdm" gate's reason while MDM is off: what is missing and what to do. */
static void set_gate(orchard_ctx *ctx, const orchard_mdm_config *cfg)
{
    const orchard_host_api *h = orchard_server_host;
    if (cfg && cfg->mdm_enabled) {
        h->gate_set(ctx, "mdm", 1, NULL);
        return;
    }
    g_autofree char *why = g_strdup_printf(
        "MDM is not configured on this server: %s. Run `orchard generate mdm-apple`, then set "
        "mdm.apple_apns_cert/key, mdm.apple_scep_cert/key and mdm.apple_scep_challenge "
        "(docs/configuration.md).",
        cfg && cfg->mdm_off_reason ? cfg->mdm_off_reason : "the server is not configured");
    h->gate_set(ctx, "mdm", 0, why);
}

void orchard_serve_state_set(orchard_ctx *ctx, orchard_mdm_config *cfg)
{
    serve_state *st = state_of(ctx);
    if (!st) {
        orchard_mdm_config_free(cfg);
        return;
    }
    int was_serving = st->cfg != NULL;
    orchard_mdm_config_free(st->cfg);
    st->cfg = cfg;
    if (!cfg)
        g_clear_pointer(&st->listen_url, g_free);
    if (!cfg && was_serving) /* serve stopped: say so, not "not configured" */
        orchard_server_host->gate_set(ctx, "mdm", 0, "the server is stopping");
    else
        set_gate(ctx, cfg);
}

const orchard_mdm_config *orchard_serve_config(orchard_ctx *ctx)
{
    serve_state *st = state_of(ctx);
    return st ? st->cfg : NULL;
}

void orchard_serve_set_listen_url(orchard_ctx *ctx, const char *url)
{
    serve_state *st = state_of(ctx);
    if (!st)
        return;
    g_free(st->listen_url);
    st->listen_url = g_strdup(url);
}

const char *orchard_serve_base_url(orchard_ctx *ctx)
{
    serve_state *st = state_of(ctx);
    if (st && st->cfg && st->cfg->url)
        return st->cfg->url;
    return st && st->listen_url ? st->listen_url : "";
}
