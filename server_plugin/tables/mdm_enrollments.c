/*
 * mdm_enrollments: the devices enrolled in the MDM server, from the store.
 *
 *   select udid, device_name, enabled, last_seen_at from mdm_enrollments;
 *
 * Reads through store_devices.h; `where udid = X` reads that one row. Runs
 * the plugin's migrations first, so a fresh store answers with no rows.
 * Never a secret: the columns are chosen from the row, not the row dumped.
 */
#include "mdm_enrollments.gen.h"

#include "server_plugin/config/mdm_config.h"
#include "server_plugin/server.h"
#include "server_plugin/tables/table_store.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_devices.h"

#include <string.h>

static int add_row(orchard_rows *rows, const orchard_device *d)
{
    char enabled[2] = {d->enabled ? '1' : '0', '\0'};
    char valid[2] = {d->push_token_valid ? '1' : '0', '\0'};
    char dep[2] = {d->dep_enrolled ? '1' : '0', '\0'};
    g_autofree char *tally = g_strdup_printf("%" G_GINT64_FORMAT, d->token_update_tally);
    g_autofree char *seen = d->last_seen_at > 0 ? orchard_mdm_format_utc(d->last_seen_at) : NULL;
    g_autofree char *created = orchard_mdm_format_utc(d->created_at);
    const char *v[MDM_ENROLLMENTS_N_COLUMNS];
    v[MDM_ENROLLMENTS_COL_UDID] = d->udid;
    v[MDM_ENROLLMENTS_COL_SERIAL_NUMBER] = d->serial_number;
    v[MDM_ENROLLMENTS_COL_MODEL] = d->model;
    v[MDM_ENROLLMENTS_COL_OS_VERSION] = d->os_version;
    v[MDM_ENROLLMENTS_COL_DEVICE_NAME] = d->device_name;
    v[MDM_ENROLLMENTS_COL_ENABLED] = enabled;
    v[MDM_ENROLLMENTS_COL_PUSH_TOKEN_VALID] = valid;
    v[MDM_ENROLLMENTS_COL_LAST_SEEN_AT] = seen;
    v[MDM_ENROLLMENTS_COL_TOKEN_UPDATE_TALLY] = tally;
    v[MDM_ENROLLMENTS_COL_CREATED_AT] = created;
    v[MDM_ENROLLMENTS_COL_DEP_ENROLLED] = dep;
    return orchard_server_host->row_add(rows, v, MDM_ENROLLMENTS_N_COLUMNS);
}

int mdm_enrollments_generate(orchard_ctx *ctx, const orchard_query_ctx *query,
                             orchard_rows *rows, void *payload)
{
    g_autoptr(GPtrArray) devices = NULL;
    (void)payload;

    int rc = orchard_server_store_migrate();
    const char *udid = rc == 0 ? orchard_table_eq(query, "udid") : NULL;
    if (rc == 0 && udid) {
        orchard_device *d = NULL;
        rc = orchard_store_device_get(udid, &d);
        devices = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_device_free);
        if (rc == 0)
            g_ptr_array_add(devices, d);
        else if (rc == ORCHARD_ENOTFOUND)
            rc = 0; /* no such device: no row */
    } else if (rc == 0) {
        rc = orchard_store_device_list(0, 0, &devices);
    }
    for (guint i = 0; rc == 0 && i < devices->len; i++)
        rc = add_row(rows, devices->pdata[i]);
    return orchard_table_store_result(ctx, "mdm_enrollments", rc);
}
