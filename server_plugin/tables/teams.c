/*
 * teams: the teams, from the store, with their host and profile counts and
 * macOS update setting.
 *
 *   select name, host_count, minimum_version, deadline from teams;
 *
 * Runs the plugin's migrations first, so a query on a fresh store answers
 * with no rows rather than "no such table".
 */
#include "teams.gen.h"

#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_teams.h"
#include "server_plugin/tables/table_store.h"

static int add_team(const orchard_host_api *host, orchard_rows *rows, const orchard_team *t)
{
    gint64 profiles = 0;
    int rc = orchard_store_team_profile_count(t->id, &profiles);
    if (rc)
        return rc;
    g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc(t->created_at);
    g_autofree char *created = when ? g_date_time_format(when, "%Y-%m-%dT%H:%M:%SZ") : NULL;
    g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, t->id);
    g_autofree char *hosts = g_strdup_printf("%" G_GINT64_FORMAT, t->host_count);
    g_autofree char *nprof = g_strdup_printf("%" G_GINT64_FORMAT, profiles);
    const char *values[TEAMS_N_COLUMNS] = {
        [TEAMS_COL_ID] = id,
        [TEAMS_COL_NAME] = t->name,
        [TEAMS_COL_DESCRIPTION] = t->description,
        [TEAMS_COL_HOST_COUNT] = hosts,
        [TEAMS_COL_PROFILE_COUNT] = nprof,
        [TEAMS_COL_MINIMUM_VERSION] = t->minimum_version,
        [TEAMS_COL_DEADLINE] = t->deadline,
        [TEAMS_COL_CREATED_AT] = created,
    };
    return host->row_add(rows, values, TEAMS_N_COLUMNS);
}

int teams_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                   void *payload)
{
    const orchard_host_api *host = orchard_server_host;
    g_autoptr(GPtrArray) list = NULL;
    (void)query;
    (void)payload;
    int rc = orchard_server_store_migrate();
    if (rc == 0)
        rc = orchard_store_team_list(&list);
    for (guint i = 0; rc == 0 && i < list->len; i++)
        rc = add_team(host, rows, list->pdata[i]);
    return orchard_table_store_result(ctx, "teams", rc);
}
