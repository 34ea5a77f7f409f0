/*
 * scep_certificates: the certificates the SCEP server issued, from the store.
 *
 *   select serial, subject, not_after, challenge_kind from scep_certificates;
 *
 * Runs the plugin's migrations first, so a query on a fresh store answers
 * with no rows rather than "no such table".
 */
#include "scep_certificates.gen.h"

#include "server_plugin/config/mdm_config.h"
#include "server_plugin/server.h"
#include "server_plugin/tables/table_store.h"
#include "server_plugin/store/server_store.h"

#include <stdio.h>

typedef struct {
    orchard_rows *rows;
    int rc;
} cert_rows;

static int add_row(const char *serial, const char *subject, gint64 not_before,
                   gint64 not_after, int revoked, const char *challenge_kind, void *payload)
{
    cert_rows *cr = payload;
    g_autofree char *nb = orchard_mdm_format_utc(not_before);
    g_autofree char *na = orchard_mdm_format_utc(not_after);
    char rev[2] = {revoked ? '1' : '0', '\0'};
    const char *values[] = {serial, subject, nb, na, rev, challenge_kind};
    cr->rc = orchard_server_host->row_add(cr->rows, values, G_N_ELEMENTS(values));
    return cr->rc != 0;
}

int scep_certificates_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                               void *payload)
{
    cert_rows cr = {rows, 0};
    (void)query;
    (void)payload;
    int rc = orchard_server_store_migrate();
    if (rc == 0)
        rc = orchard_server_store_cert_each(add_row, &cr);
    if (rc == 0)
        rc = cr.rc;
    return orchard_table_store_result(ctx, "scep_certificates", rc);
}
