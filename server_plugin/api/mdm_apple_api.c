/* GET /mdm/apple of the admin API (docs/api.md): the APNs certificate, as
 * `orchard get mdm-apple` prints it (one description, orchard_mdm_apple_json),
 * and Fleet's JSON 404 while no certificate is configured. Not behind the
 * "mdm" gate: saying why MDM is off is its job. */
#include "server_plugin/api/mdm_apple.h"

#include "server_plugin/api/api.h"
#include "server_plugin/config/mdm_fingerprint.h"
#include "server_plugin/crypto/x509_util.h"
#include "server_plugin/server.h"

#include <string.h>

json_t *orchard_mdm_apple_json(const orchard_mdm_config *cfg, gint64 now)
{
    gint64 days;
    g_autofree char *cn = orchard_x509_name_entry(cfg->apns_cert, 0, NID_commonName);
    g_autofree char *issuer = orchard_x509_name_entry(cfg->apns_cert, 1, NID_commonName);
    g_autofree char *serial = orchard_x509_serial_decimal(cfg->apns_cert);
    gint64 not_after = orchard_x509_not_after(cfg->apns_cert);
    g_autofree char *nb = orchard_mdm_format_utc(orchard_x509_not_before(cfg->apns_cert));
    g_autofree char *na = orchard_mdm_format_utc(not_after);
    const char *status = orchard_mdm_expiry_status(not_after, now, &days);

    json_t *o = json_object();
    json_object_set_new(o, "common_name", json_string(cn ? cn : ""));
    json_object_set_new(o, "serial_number", json_string(serial ? serial : ""));
    json_object_set_new(o, "issuer", json_string(issuer ? issuer : ""));
    /* RFC 3339, as every date in orchard's JSON; the text form of `get
     * mdm-apple` keeps Fleet's "January 2, 2006". */
    json_object_set_new(o, "renew_date", json_string(na));
    json_object_set_new(o, "topic", json_string(cfg->apns_topic ? cfg->apns_topic : ""));
    json_object_set_new(o, "not_before", json_string(nb));
    json_object_set_new(o, "not_after", json_string(na));
    json_object_set_new(o, "days_left", json_integer(days));
    json_object_set_new(o, "status", json_string(status));
    return o;
}

static int mdm_apple(orchard_ctx *ctx, const orchard_http_request *req,
                     orchard_http_response *resp, void *payload)
{
    const orchard_host_api *host = orchard_server_host;
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL;
    (void)payload;

    const char *sub = orchard_api_subpath(req);
    if (!sub || strcmp(sub, "/mdm/apple") != 0)
        return orchard_api_error(resp, 404, NULL, "no such API path: %s", host->http_path(req));
    if (orchard_mdm_config_load(host, &cfg, &err) != 0) {
        /* The message names the key at fault, never a value. */
        host->ctx_log(ctx, ORCHARD_LOG_ERROR, "GET /mdm/apple: %s",
                      err ? err : "invalid configuration");
        return orchard_api_error(resp, 500, NULL, "the server's MDM configuration is invalid: %s",
                                 err ? err : "see the server's log");
    }
    int rc;
    if (!cfg->apns_cert)
        rc = orchard_api_error(resp, 404, NULL, "MDM is off: no APNs certificate is configured "
                               "(mdm.apple_apns_cert). Run `orchard generate mdm-apple` and see "
                               "docs/configuration.md");
    else {
        json_t *o = orchard_mdm_apple_json(cfg, g_get_real_time() / G_USEC_PER_SEC);
        /* Several instances on one store: how many, and whether they agree. */
        json_t *instances = orchard_mdm_instances_json(ctx, NULL);
        if (instances)
            json_object_set_new(o, "instances", instances);
        rc = orchard_api_reply(resp, 200, o);
    }
    orchard_mdm_config_free(cfg);
    return rc;
}

ORCHARD_API_ROUTES(orchard_route_mdm_apple_api, "GET", "/mdm/apple", mdm_apple,
                   ORCHARD_GUARD_OBSERVER, NULL);
