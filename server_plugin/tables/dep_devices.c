/*
 * dep_devices: the devices Apple Business Manager assigned to this MDM
 * server, as the DEP sync stored them, with orchard's profile assignment and
 * whether each enrolled through the DEP enrollment URL.
 *
 *   select serial_number, model, profile_status, enrolled from dep_devices where deleted = 0;
 *
 * `where serial_number = X` reads that one row. Runs the plugin's migrations
 * first, so a fresh store answers with no rows rather than "no such table".
 */
#include "dep_devices.gen.h"

#include "server_plugin/config/mdm_config.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_dep.h"
#include "server_plugin/tables/table_store.h"

static int add_row(orchard_rows *rows, const orchard_dep_device *d)
{
    char deleted[2] = {d->deleted ? '1' : '0', '\0'};
    char enrolled[2] = {d->enrolled ? '1' : '0', '\0'};
    g_autofree char *assigned =
        d->profile_assigned_at > 0 ? orchard_mdm_format_utc(d->profile_assigned_at) : NULL;
    /* The spec promises '' for what is not known, never NULL. */
#define OR_EMPTY(s) ((s) ? (s) : "")
    const char *v[DEP_DEVICES_N_COLUMNS] = {
        [DEP_DEVICES_COL_SERIAL_NUMBER] = d->serial_number,
        [DEP_DEVICES_COL_MODEL] = OR_EMPTY(d->model),
        [DEP_DEVICES_COL_DESCRIPTION] = OR_EMPTY(d->description),
        [DEP_DEVICES_COL_COLOR] = OR_EMPTY(d->color),
        [DEP_DEVICES_COL_OS] = OR_EMPTY(d->os),
        [DEP_DEVICES_COL_DEVICE_FAMILY] = OR_EMPTY(d->device_family),
        [DEP_DEVICES_COL_PROFILE_STATUS] = OR_EMPTY(d->profile_status),
        [DEP_DEVICES_COL_PROFILE_UUID] = OR_EMPTY(d->profile_uuid),
        [DEP_DEVICES_COL_PROFILE_ASSIGNED_AT] = OR_EMPTY(assigned),
        [DEP_DEVICES_COL_ASSIGN_STATUS] = OR_EMPTY(d->assign_status),
        [DEP_DEVICES_COL_ASSIGN_ERROR] = OR_EMPTY(d->assign_error),
        [DEP_DEVICES_COL_OP_TYPE] = OR_EMPTY(d->op_type),
        [DEP_DEVICES_COL_OP_DATE] = OR_EMPTY(d->op_date),
        [DEP_DEVICES_COL_DELETED] = deleted,
        [DEP_DEVICES_COL_ENROLLED] = enrolled,
    };
#undef OR_EMPTY
    return orchard_server_host->row_add(rows, v, DEP_DEVICES_N_COLUMNS);
}

int dep_devices_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                         void *payload)
{
    g_autoptr(GPtrArray) devices = NULL;
    (void)payload;

    int rc = orchard_server_store_migrate();
    /* A key constraint reads one row instead of every device (100,000 is
     * an ordinary account). */
    if (rc == 0)
        rc = orchard_store_dep_device_list(orchard_table_eq(query, "serial_number"), &devices);
    for (guint i = 0; rc == 0 && i < devices->len; i++)
        rc = add_row(rows, devices->pdata[i]);
    return orchard_table_store_result(ctx, "dep_devices", rc);
}
