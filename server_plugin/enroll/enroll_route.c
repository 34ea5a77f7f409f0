/* GET /api/mdm/apple/enroll?token=T: hands an enrollment profile to whoever
 * holds an enrollment token (`orchard enroll-token create`). Each download
 * gets its own one-time SCEP challenge, stored before the profile leaves,
 * so the static mdm.apple_scep_challenge never travels in a profile. */
#include "server_plugin/enroll/profile_send.h"
#include "server_plugin/serve/serve_state.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"

#include <glib.h>
#include <string.h>

#define ENROLL_PATH "/api/mdm/apple/enroll"
#define TEXT_TYPE "text/plain; charset=utf-8"
/* Tokens are 43 base64url characters; anything far off is no token of ours
 * and is turned away before it costs a store lookup. */
#define TOKEN_MAX_LEN 128

static const orchard_host_api *host(void) { return orchard_server_host; }

static int respond_text(orchard_http_response *resp, int status, const char *text)
{
    return host()->http_respond(resp, status, TEXT_TYPE, text, strlen(text));
}

/* One answer for a missing, malformed and unknown token, so a prober
 * learns nothing about which tokens exist. */
static int not_found(orchard_http_response *resp)
{
    return respond_text(resp, 404, "unknown enrollment token\n");
}

static int unavailable(orchard_http_response *resp, const char *what, int rc)
{
    host()->log(ORCHARD_LOG_ERROR, "orchard-server",
                "enroll: %s failed (%s): no profile served", what, host()->strerror(rc));
    return respond_text(resp, 503, "the enrollment store is unavailable; try again later\n");
}

static int token_well_formed(const char *token)
{
    size_t n = token ? strlen(token) : 0;
    if (n == 0 || n > TOKEN_MAX_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(token[i]) && token[i] != '-' && token[i] != '_')
            return 0;
    return 1;
}

/* The per-token limit (download_limit.c); a refusal answers 429. */
static int download_allowed(const orchard_http_request *req, orchard_http_response *resp,
                            const char *token, const char *token_name)
{
    g_autofree char *who = g_strdup_printf("enrollment token \"%s\"",
                                           token_name ? token_name : "unnamed");
    return orchard_enroll_limit_pass(req, resp, token, who,
                                     "too many enrollment profile downloads with this token; "
                                     "try again later\n");
}

static int handle_enroll(orchard_ctx *ctx, const orchard_http_request *req,
                         orchard_http_response *resp, void *payload)
{
    (void)payload;
    /* The host also routes "/api/mdm/apple/enroll/..." here. */
    if (strcmp(host()->http_path(req), ENROLL_PATH) != 0)
        return respond_text(resp, 404, "not found\n");

    const orchard_mdm_config *cfg = orchard_serve_config(ctx);
    const char *token = host()->http_query(req, "token");
    if (!token_well_formed(token))
        return not_found(resp);
    g_autofree char *token_name = NULL;
    int rc = orchard_server_store_token_check(token, &token_name);
    if (rc == ORCHARD_ENOTFOUND)
        return not_found(resp);
    if (rc)
        return unavailable(resp, "checking the enrollment token", rc);
    if (!download_allowed(req, resp, token, token_name))
        return 0;

    g_autofree char *who = g_strdup_printf("enrollment token \"%s\"",
                                           token_name ? token_name : "unnamed");
    return orchard_enroll_profile_serve(ctx, req, resp, cfg, who);
}

const orchard_route orchard_route_enroll = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "GET",
    .path_prefix = ENROLL_PATH,
    .handle2 = handle_enroll,
    .gate = "mdm",
};
