/*
 * apns_certificate: the configured APNs certificate, one row or none.
 *
 *   select common_name, topic, not_after, days_left, status from apns_certificate;
 *
 * Read from the configuration on every query (mdm_config), so it shows what
 * `orchard config check` would; a broken configuration fails the query.
 */
#include "apns_certificate.gen.h"

#include "server_plugin/config/mdm_config.h"
#include "server_plugin/server.h"
#include "server_plugin/crypto/x509_util.h"

#include <stdio.h>

int apns_certificate_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                              void *payload)
{
    (void)ctx;
    const orchard_host_api *host = orchard_server_host;
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL;
    gint64 days;
    (void)query;
    (void)payload;

    int rc = orchard_mdm_config_load(host, &cfg, &err);
    if (rc) {
        host->rows_fail(rows, "%s", err ? err : "invalid configuration");
        return rc;
    }
    if (!cfg->apns_cert) {
        orchard_mdm_config_free(cfg);
        return 0;
    }
    gint64 not_after = orchard_x509_not_after(cfg->apns_cert);
    g_autofree char *cn = orchard_x509_name_entry(cfg->apns_cert, 0, NID_commonName);
    g_autofree char *serial = orchard_x509_serial_decimal(cfg->apns_cert);
    g_autofree char *issuer = orchard_x509_name_entry(cfg->apns_cert, 1, NID_commonName);
    g_autofree char *nb = orchard_mdm_format_utc(orchard_x509_not_before(cfg->apns_cert));
    g_autofree char *na = orchard_mdm_format_utc(not_after);
    const char *status = orchard_mdm_expiry_status(
        not_after, g_get_real_time() / G_USEC_PER_SEC, &days);
    char days_text[32];
    snprintf(days_text, sizeof days_text, "%" G_GINT64_FORMAT, days);

    const char *v[APNS_CERTIFICATE_N_COLUMNS];
    v[APNS_CERTIFICATE_COL_COMMON_NAME] = cn;
    v[APNS_CERTIFICATE_COL_SERIAL_NUMBER] = serial;
    v[APNS_CERTIFICATE_COL_ISSUER] = issuer;
    v[APNS_CERTIFICATE_COL_TOPIC] = cfg->apns_topic;
    v[APNS_CERTIFICATE_COL_NOT_BEFORE] = nb;
    v[APNS_CERTIFICATE_COL_NOT_AFTER] = na;
    v[APNS_CERTIFICATE_COL_DAYS_LEFT] = days_text;
    v[APNS_CERTIFICATE_COL_STATUS] = status;
    rc = host->row_add(rows, v, APNS_CERTIFICATE_N_COLUMNS);
    orchard_mdm_config_free(cfg);
    return rc;
}
