/*
 * abm_token: the configured Apple Business Manager token's expiry, one row or none.
 *
 *   select expires_at, days_left, status from abm_token;
 *
 * The token is decrypted on every query (mdm_config); only its expiry leaves
 * this file, never its secrets. A broken configuration fails the query.
 */
#include "abm_token.gen.h"

#include "server_plugin/config/mdm_config.h"
#include "server_plugin/server.h"

#include <stdio.h>

int abm_token_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                       void *payload)
{
    (void)ctx;
    const orchard_host_api *host = orchard_server_host;
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL;
    gint64 days;
    (void)query;
    (void)payload;

    /* An expired token is a row with status "expired", not a failed query. */
    int rc = orchard_mdm_config_load_ex(host, ORCHARD_MDM_CONFIG_KEEP_EXPIRED_BM_TOKEN, &cfg,
                                        &err);
    if (rc) {
        host->rows_fail(rows, "%s", err ? err : "invalid configuration");
        return rc;
    }
    if (!cfg->bm_token) {
        orchard_mdm_config_free(cfg);
        return 0;
    }
    gint64 expiry = cfg->bm_token->expiry;
    g_autofree char *at = orchard_mdm_format_utc(expiry);
    const char *status = orchard_mdm_expiry_status(expiry, g_get_real_time() / G_USEC_PER_SEC,
                                                   &days);
    char days_text[32];
    snprintf(days_text, sizeof days_text, "%" G_GINT64_FORMAT, days);

    const char *v[ABM_TOKEN_N_COLUMNS];
    v[ABM_TOKEN_COL_EXPIRES_AT] = at;
    v[ABM_TOKEN_COL_DAYS_LEFT] = days_text;
    v[ABM_TOKEN_COL_STATUS] = status;
    rc = host->row_add(rows, v, ABM_TOKEN_N_COLUMNS);
    orchard_mdm_config_free(cfg);
    return rc;
}
