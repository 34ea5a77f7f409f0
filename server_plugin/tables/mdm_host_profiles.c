/*
 * mdm_host_profiles: each enrolled host's configuration profiles and where
 * their delivery stands, from the store (the reconciler's rows).
 *
 *   select udid, identifier, status, detail from mdm_host_profiles where status = 'failed';
 *
 * Reads through store_host_profiles.h; `where udid = X` reads that host's
 * rows only. Runs the plugin's migrations first, so a fresh store answers
 * with no rows.
 */
#include "mdm_host_profiles.gen.h"

#include "server_plugin/config/mdm_config.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_host_profiles.h"
#include "server_plugin/tables/table_store.h"

#include <string.h>

static int add_row(orchard_rows *rows, const orchard_host_profile *p)
{
    g_autofree char *team_id = g_strdup_printf("%" G_GINT64_FORMAT, p->team_id);
    g_autofree char *updated = orchard_mdm_format_utc(p->s.updated_at);
    const char *v[MDM_HOST_PROFILES_N_COLUMNS];
    v[MDM_HOST_PROFILES_COL_UDID] = p->s.udid;
    v[MDM_HOST_PROFILES_COL_TEAM_ID] = team_id;
    v[MDM_HOST_PROFILES_COL_TEAM] = p->team;
    v[MDM_HOST_PROFILES_COL_IDENTIFIER] = p->s.identifier;
    v[MDM_HOST_PROFILES_COL_NAME] = p->s.name;
    v[MDM_HOST_PROFILES_COL_OPERATION] = p->s.operation;
    v[MDM_HOST_PROFILES_COL_STATUS] = p->s.status;
    v[MDM_HOST_PROFILES_COL_DETAIL] = p->s.detail ? p->s.detail : "";
    v[MDM_HOST_PROFILES_COL_COMMAND_UUID] = p->s.command_uuid ? p->s.command_uuid : "";
    v[MDM_HOST_PROFILES_COL_UPDATED_AT] = updated;
    return orchard_server_host->row_add(rows, v, MDM_HOST_PROFILES_N_COLUMNS);
}

int mdm_host_profiles_generate(orchard_ctx *ctx, const orchard_query_ctx *query,
                               orchard_rows *rows, void *payload)
{
    g_autoptr(GPtrArray) list = NULL;
    (void)payload;

    int rc = orchard_server_store_migrate();
    if (rc == 0)
        rc = orchard_store_host_profiles(orchard_table_eq(query, "udid"), &list);
    for (guint i = 0; rc == 0 && i < list->len; i++)
        rc = add_row(rows, list->pdata[i]);
    return orchard_table_store_result(ctx, "mdm_host_profiles", rc);
}
