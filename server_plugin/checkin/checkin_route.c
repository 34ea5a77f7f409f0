/* The route devices check in and report on, /mdm/apple/mdm (the enrollment
 * profile's ServerURL), PUT or POST, behind the "mdm" gate. Unguarded on
 * purpose: a 401 makes a Mac unenroll, so identity is checked here (the
 * Mdm-Signature, else the client certificate) and a refusal is a 400. Bodies
 * up to 16 MiB reach it (max_body): command reports can be that large;
 * check-ins get 413 above 1 MiB. */
#include "server_plugin/checkin/checkin.h"
#include "server_plugin/serve/serve_state.h"
#include "server_plugin/server.h"

#include <string.h>

#define PLUGIN "orchard-server"

static const orchard_host_api *host(void) { return orchard_server_host; }

static int respond_status(orchard_http_response *resp, int status, const char *text)
{
    return host()->http_respond(resp, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* For the refusal's log line only: the UDID the body claims, when it parses. */
static char *claimed_udid(const unsigned char *body, size_t len)
{
    plist_t root = NULL;
    const char *why = NULL;
    if (orchard_checkin_plist_parse(body, len, &root, &why))
        return g_strdup("(unparsable body)");
    char *udid = orchard_checkin_plist_string(root, "UDID");
    plist_free(root);
    if (!udid)
        return g_strdup("(no UDID)");
    /* Keep a device-chosen string to one short log line. */
    if (strlen(udid) > ORCHARD_CHECKIN_MAX_ID)
        udid[ORCHARD_CHECKIN_MAX_ID] = '\0';
    for (char *p = udid; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return udid;
}

static int handle_checkin(orchard_ctx *ctx, const orchard_http_request *req,
                          orchard_http_response *resp, void *payload)
{
    const orchard_host_api *h = host();
    const char *method = h->http_method(req);
    const orchard_mdm_config *cfg = orchard_serve_config(ctx);
    const char *ctype = h->http_header(req, "Content-Type");
    size_t len = 0, cert_len = 0;
    const unsigned char *body = h->http_body(req, &len);
    g_autofree char *sha = NULL, *why = NULL, *bound = NULL;
    orchard_checkin_reply reply = {0};

    (void)payload;
    if (strcmp(method, "PUT") != 0 && strcmp(method, "POST") != 0) {
        h->http_set_header(resp, "Allow", "PUT, POST");
        return respond_status(resp, 405, "method not allowed\n");
    }
    if (!cfg || !cfg->scep_cert)
        return respond_status(resp, 503, "MDM is not configured\n");
    /* The size first: a signature check over an oversized check-in is waste. */
    if (ctype && g_ascii_strncasecmp(ctype, ORCHARD_CHECKIN_CONTENT_TYPE,
                                     strlen(ORCHARD_CHECKIN_CONTENT_TYPE)) == 0 &&
        len > ORCHARD_CHECKIN_MAX_CHECKIN) {
        h->log(ORCHARD_LOG_WARNING, PLUGIN, "checkin: 413: check-in of %zu bytes from %s "
               "refused (at most %zu)", len, h->http_remote_addr(req),
               ORCHARD_CHECKIN_MAX_CHECKIN);
        return respond_status(resp, 413, "check-in too large\n");
    }
    const char *sig = h->http_header(req, "Mdm-Signature");
    const unsigned char *cert = NULL;
    if (!sig && ORCHARD_HAS_FIELD(h, orchard_host_api, http_client_cert) && h->http_client_cert)
        cert = h->http_client_cert(req, &cert_len);
    gint64 now_us = g_get_real_time();
    if (orchard_checkin_identity(cfg->scep_cert, sig, cert, cert_len, body, len,
                                 now_us / G_USEC_PER_SEC, &sha, &bound, &why)) {
        g_autofree char *udid = claimed_udid(body, len);
        h->log(ORCHARD_LOG_WARNING, PLUGIN, "checkin: 400: identity refused for UDID %s from "
               "%s: %s", udid, h->http_remote_addr(req), why);
        return respond_status(resp, 400, "device identity refused\n");
    }
    const orchard_checkin_env env = {
        .ctx = ctx,
        .scep_key = cfg->scep_key,
        .topic = cfg->apns_topic,
    };
    const orchard_checkin_request in = {
        .body = body, .len = len, .content_type = ctype, .cert_sha256 = sha, .now_us = now_us,
        .bound_known = 1, .bound_udid = bound,
    };
    int rc = orchard_checkin_handle(&env, &in, &reply);
    if (rc)
        return rc;
    if (reply.body)
        rc = h->http_respond(resp, reply.status, reply.content_type, reply.body, reply.len);
    else
        rc = h->http_respond(resp, reply.status, NULL, "", 0);
    orchard_checkin_reply_clear(&reply);
    return rc;
}

const orchard_route orchard_route_checkin = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "*",
    .path_prefix = ORCHARD_CHECKIN_PATH,
    .handle2 = handle_checkin,
    .guard = ORCHARD_GUARD_NONE,
    .gate = "mdm",
    .max_body = ORCHARD_CHECKIN_MAX_REPORT,
};
