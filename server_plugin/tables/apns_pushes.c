/*
 * apns_pushes: every APNs push the server sent and its answer, from the store.
 *
 *   select udid, status_code, reason, sent_at from apns_pushes where status_code != 200;
 *
 * Runs the plugin's migrations first, so a query on a fresh store answers
 * with no rows rather than "no such table".
 */
#include "apns_pushes.gen.h"

#include "server_plugin/server.h"
#include "server_plugin/tables/table_store.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_pushes.h"

#include <glib.h>

/* "2026-12-06T01:02:03.456Z": pushes retried within a second stay in order. */
static char *format_ms(gint64 ms)
{
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(ms / 1000);
    if (!t)
        return g_strdup("");
    g_autofree char *s = g_date_time_format(t, "%Y-%m-%dT%H:%M:%S");
    return g_strdup_printf("%s.%03dZ", s, (int)(ms % 1000));
}

int apns_pushes_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                         void *payload)
{
    const orchard_host_api *host = orchard_server_host;
    GPtrArray *list = NULL;
    (void)query;
    (void)payload;
    int rc = orchard_server_store_migrate();
    if (rc == 0)
        rc = orchard_store_push_list(0, &list);
    for (guint i = 0; rc == 0 && i < list->len; i++) {
        const orchard_push_record *p = list->pdata[i];
        g_autofree char *status = g_strdup_printf("%d", p->status_code);
        g_autofree char *sent = format_ms(p->sent_ms);
        const char *values[APNS_PUSHES_N_COLUMNS] = {
            [APNS_PUSHES_COL_UDID] = p->udid,
            [APNS_PUSHES_COL_APNS_ID] = p->apns_id ? p->apns_id : "",
            [APNS_PUSHES_COL_STATUS_CODE] = status,
            [APNS_PUSHES_COL_REASON] = p->reason ? p->reason : "",
            [APNS_PUSHES_COL_SENT_AT] = sent,
        };
        rc = host->row_add(rows, values, APNS_PUSHES_N_COLUMNS);
    }
    if (list)
        g_ptr_array_unref(list);
    return orchard_table_store_result(ctx, "apns_pushes", rc);
}
