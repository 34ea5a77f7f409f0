/*
 * activities: the activity log, from the store, newest first.
 *
 *   select created_at, actor_email, type, details from activities;
 *
 * Runs the plugin's migrations first, so a query on a fresh store answers
 * with no rows rather than "no such table".
 */
#include "activities.gen.h"

#include "server_plugin/server.h"
#include "server_plugin/tables/table_store.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_users.h"

static int add_activity(const orchard_host_api *host, orchard_rows *rows,
                        const orchard_activity *a)
{
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(a->created_at);
    g_autofree char *created = t ? g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ") : NULL;
    char id[24];
    g_snprintf(id, sizeof id, "%" G_GINT64_FORMAT, a->id);
    const char *values[ACTIVITIES_N_COLUMNS] = {
        [ACTIVITIES_COL_ID] = id,
        [ACTIVITIES_COL_CREATED_AT] = created,
        [ACTIVITIES_COL_ACTOR_EMAIL] = a->actor_email,
        [ACTIVITIES_COL_ACTOR_NAME] = a->actor_name,
        [ACTIVITIES_COL_TYPE] = a->type,
        [ACTIVITIES_COL_DETAILS] = a->details,
    };
    return host->row_add(rows, values, ACTIVITIES_N_COLUMNS);
}

int activities_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                        void *payload)
{
    const orchard_host_api *host = orchard_server_host;
    g_autoptr(GPtrArray) list = NULL;
    (void)query;
    (void)payload;
    int rc = orchard_server_store_migrate();
    if (rc == 0)
        rc = orchard_store_activity_list(0, 0, &list);
    for (guint i = 0; rc == 0 && i < list->len; i++)
        rc = add_activity(host, rows, list->pdata[i]);
    return orchard_table_store_result(ctx, "activities", rc);
}
