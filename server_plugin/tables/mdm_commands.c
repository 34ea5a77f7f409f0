/*
 * mdm_commands: every queued command's status on each device, from the store.
 *
 *   select command_uuid, udid, status from mdm_commands where status = 'Pending';
 *
 * Reads through store_queue.h; `where command_uuid = X` reads that command's
 * rows only. Runs the plugin's migrations first, so a fresh store answers
 * with no rows. The plists (command, report) stay out: the API serves them.
 */
#include "mdm_commands.gen.h"

#include "server_plugin/config/mdm_config.h"
#include "server_plugin/server.h"
#include "server_plugin/tables/table_store.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_queue.h"

#include <string.h>

typedef struct {
    orchard_rows *rows;
    int rc;
} command_rows;

static int add_row(const orchard_command_result *r, void *payload)
{
    command_rows *cr = payload;
    g_autofree char *queued = orchard_mdm_format_utc(r->queued_at_us / G_USEC_PER_SEC);
    g_autofree char *updated = orchard_mdm_format_utc(r->updated_at);
    const char *v[MDM_COMMANDS_N_COLUMNS];
    v[MDM_COMMANDS_COL_COMMAND_UUID] = r->command_uuid;
    v[MDM_COMMANDS_COL_REQUEST_TYPE] = r->request_type;
    v[MDM_COMMANDS_COL_UDID] = r->udid;
    v[MDM_COMMANDS_COL_STATUS] = r->status;
    v[MDM_COMMANDS_COL_QUEUED_AT] = queued;
    v[MDM_COMMANDS_COL_UPDATED_AT] = updated;
    cr->rc = orchard_server_host->row_add(cr->rows, v, MDM_COMMANDS_N_COLUMNS);
    return cr->rc != 0;
}

/* One command's rows (an unknown command has none). */
static int one_command(const char *uuid, command_rows *cr)
{
    g_autoptr(GPtrArray) results = NULL;
    int rc = orchard_store_command_results(uuid, &results);
    if (rc == ORCHARD_ENOTFOUND)
        return 0;
    for (guint i = 0; rc == 0 && i < results->len; i++)
        if (add_row(results->pdata[i], cr))
            rc = cr->rc;
    return rc;
}

int mdm_commands_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                          void *payload)
{
    command_rows cr = {rows, 0};
    (void)payload;

    int rc = orchard_server_store_migrate();
    const char *uuid = rc == 0 ? orchard_table_eq(query, "command_uuid") : NULL;
    if (rc == 0 && uuid)
        rc = one_command(uuid, &cr);
    else if (rc == 0)
        rc = orchard_store_command_each(add_row, &cr);
    if (rc == 0)
        rc = cr.rc;
    return orchard_table_store_result(ctx, "mdm_commands", rc);
}
