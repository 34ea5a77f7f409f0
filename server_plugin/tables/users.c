/*
 * users: the admin API's users, from the store.
 *
 *   select email, name, role, api_only, created_at from users;
 *
 * Runs the plugin's migrations first, so a query on a fresh store answers
 * with no rows rather than "no such table". The password hash never
 * leaves orchard_user here.
 */
#include "users.gen.h"

#include "server_plugin/server.h"
#include "server_plugin/tables/table_store.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_users.h"

static int add_user(const orchard_host_api *host, orchard_rows *rows, const orchard_user *u)
{
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(u->created_at);
    g_autofree char *created = t ? g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ") : NULL;
    const char *values[USERS_N_COLUMNS] = {
        [USERS_COL_EMAIL] = u->email,
        [USERS_COL_NAME] = u->name,
        [USERS_COL_ROLE] = u->role,
        [USERS_COL_API_ONLY] = u->api_only ? "1" : "0",
        [USERS_COL_CREATED_AT] = created,
    };
    return host->row_add(rows, values, USERS_N_COLUMNS);
}

int users_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                   void *payload)
{
    const orchard_host_api *host = orchard_server_host;
    g_autoptr(GPtrArray) list = NULL;
    (void)query;
    (void)payload;
    int rc = orchard_server_store_migrate();
    if (rc == 0)
        rc = orchard_store_user_list(&list);
    for (guint i = 0; rc == 0 && i < list->len; i++)
        rc = add_user(host, rows, list->pdata[i]);
    return orchard_table_store_result(ctx, "users", rc);
}
