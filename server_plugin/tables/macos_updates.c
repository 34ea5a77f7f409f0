/*
 * macos_updates: one row per enabled Mac with its scope's macOS update
 * setting and where Nudge's schedule puts it at the time of the query.
 *
 *   select udid, os_version, minimum_version, deadline, phase
 *     from macos_updates where compliant = 0;
 *
 * The phase comes from tables/nudge_logic.c, the code the agent `nudge`
 * table uses on the Mac, with the refresh cycles orchard's Nudge
 * configuration sets (server_plugin/updates/nudge_config.c).
 */
#include "macos_updates.gen.h"

#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_updates.h"
#include "server_plugin/tables/table_store.h"
#include "server_plugin/updates/updates_priv.h"
#include "tables/nudge_logic.h"

/* orchard's userExperience refresh cycles, by nudge_phase. */
static const gint64 refresh_cycles[] = {
    [NUDGE_PHASE_INITIAL] = 86400,
    [NUDGE_PHASE_APPROACHING] = 86400,
    [NUDGE_PHASE_IMMINENT] = 7200,
    [NUDGE_PHASE_ELAPSED] = 3600,
};

const char *orchard_macos_updates_phase(const char *os_version, const char *minimum_version,
                                        const char *deadline, gint64 now, int *compliant,
                                        gint64 *refresh)
{
    int cmp = 0;
    gint64 due = 0;
    *compliant = -1;
    *refresh = 0;
    if (!minimum_version || !deadline)
        return NULL;
    if (os_version && nudge_version_compare(os_version, minimum_version, &cmp) == 0) {
        *compliant = cmp >= 0;
        if (cmp >= 0)
            return "compliant";
    }
    g_autofree char *when = g_strconcat(deadline, "T20:00:00Z", NULL);
    if (nudge_parse_date(when, NULL, &due) != 0)
        return NULL;
    nudge_phase p = nudge_phase_for(due - now, NUDGE_DEFAULT_APPROACHING_WINDOW,
                                    NUDGE_DEFAULT_IMMINENT_WINDOW);
    *refresh = refresh_cycles[p];
    return nudge_phase_name(p);
}

static int add_host(const orchard_host_api *host, orchard_rows *rows,
                    const orchard_update_host *x, gint64 now)
{
    int compliant;
    gint64 refresh;
    const char *phase = orchard_macos_updates_phase(x->os_version, x->minimum_version,
                                                    x->deadline, now, &compliant, &refresh);
    g_autofree char *team_id = g_strdup_printf("%" G_GINT64_FORMAT, x->team_id);
    g_autofree char *cycle = refresh ? g_strdup_printf("%" G_GINT64_FORMAT, refresh) : NULL;
    const char *values[MACOS_UPDATES_N_COLUMNS] = {
        [MACOS_UPDATES_COL_UDID] = x->udid,
        [MACOS_UPDATES_COL_SERIAL_NUMBER] = x->serial_number,
        [MACOS_UPDATES_COL_TEAM_ID] = team_id,
        [MACOS_UPDATES_COL_TEAM] = x->team_name,
        [MACOS_UPDATES_COL_OS_VERSION] = x->os_version,
        [MACOS_UPDATES_COL_MINIMUM_VERSION] = x->minimum_version,
        [MACOS_UPDATES_COL_DEADLINE] = x->deadline,
        [MACOS_UPDATES_COL_COMPLIANT] = compliant < 0 ? NULL : compliant ? "1" : "0",
        [MACOS_UPDATES_COL_PHASE] = phase,
        [MACOS_UPDATES_COL_REFRESH_CYCLE] = cycle,
        [MACOS_UPDATES_COL_NUDGE_PROFILE_STATUS] = x->nudge_status,
    };
    return host->row_add(rows, values, MACOS_UPDATES_N_COLUMNS);
}

int macos_updates_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                           void *payload)
{
    const orchard_host_api *host = orchard_server_host;
    g_autoptr(GPtrArray) list = NULL;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    (void)query;
    (void)payload;
    int rc = orchard_server_store_migrate();
    if (rc == 0)
        rc = orchard_store_update_hosts(&list);
    for (guint i = 0; rc == 0 && i < list->len; i++)
        rc = add_host(host, rows, list->pdata[i], now);
    return orchard_table_store_result(ctx, "macos_updates", rc);
}
