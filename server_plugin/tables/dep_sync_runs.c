/*
 * dep_sync_runs: every sync with Apple Business Manager (a full fetch or an
 * incremental sync), newest first: what it brought and how it ended.
 *
 *   select started_at, kind, fetched, added, error from dep_sync_runs limit 5;
 *
 * Runs the plugin's migrations first, so a fresh store answers with no rows.
 */
#include "dep_sync_runs.gen.h"

#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_dep.h"
#include "server_plugin/tables/table_store.h"

/* "2026-12-06T01:02:03.456Z" (as apns_pushes writes it): a run is often
 * shorter than a second, and its length is worth seeing. "" for 0. */
static char *format_ms(gint64 ms)
{
    g_autoptr(GDateTime) t = ms > 0 ? g_date_time_new_from_unix_utc(ms / 1000) : NULL;
    if (!t)
        return g_strdup("");
    g_autofree char *s = g_date_time_format(t, "%Y-%m-%dT%H:%M:%S");
    return g_strdup_printf("%s.%03dZ", s, (int)(ms % 1000));
}

#define INT_TEXT(v) g_strdup_printf("%" G_GINT64_FORMAT, (gint64)(v))

static int add_row(orchard_rows *rows, const orchard_dep_run *r)
{
    g_autofree char *id = INT_TEXT(r->id), *pages = INT_TEXT(r->pages);
    g_autofree char *fetched = INT_TEXT(r->fetched), *added = INT_TEXT(r->added);
    g_autofree char *modified = INT_TEXT(r->modified), *deleted = INT_TEXT(r->deleted);
    g_autofree char *assigned = INT_TEXT(r->assigned), *age = INT_TEXT(r->cursor_age);
    g_autofree char *started = format_ms(r->started_at), *finished = format_ms(r->finished_at);
    const char *v[DEP_SYNC_RUNS_N_COLUMNS] = {
        [DEP_SYNC_RUNS_COL_ID] = id,
        [DEP_SYNC_RUNS_COL_KIND] = r->kind ? r->kind : "",
        [DEP_SYNC_RUNS_COL_STARTED_AT] = started,
        [DEP_SYNC_RUNS_COL_FINISHED_AT] = finished,
        [DEP_SYNC_RUNS_COL_PAGES] = pages,
        [DEP_SYNC_RUNS_COL_FETCHED] = fetched,
        [DEP_SYNC_RUNS_COL_ADDED] = added,
        [DEP_SYNC_RUNS_COL_MODIFIED] = modified,
        [DEP_SYNC_RUNS_COL_DELETED] = deleted,
        [DEP_SYNC_RUNS_COL_ASSIGNED] = assigned,
        [DEP_SYNC_RUNS_COL_CURSOR_AGE] = age,
        [DEP_SYNC_RUNS_COL_ERROR_CODE] = r->error_code ? r->error_code : "",
        [DEP_SYNC_RUNS_COL_ERROR] = r->error ? r->error : "",
    };
    return orchard_server_host->row_add(rows, v, DEP_SYNC_RUNS_N_COLUMNS);
}

int dep_sync_runs_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                           void *payload)
{
    g_autoptr(GPtrArray) runs = NULL;
    (void)query;
    (void)payload;

    int rc = orchard_server_store_migrate();
    if (rc == 0)
        rc = orchard_store_dep_run_list(0, &runs);
    for (guint i = 0; rc == 0 && i < runs->len; i++)
        rc = add_row(rows, runs->pdata[i]);
    return orchard_table_store_result(ctx, "dep_sync_runs", rc);
}
