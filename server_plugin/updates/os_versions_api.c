/* GET /os_versions (Fleet's shape, docs/api.md): how many enrolled Macs run
 * each macOS version, from their last DeviceInformation answer (or their
 * Authenticate check-in), for every host or one team (?team_id=, 0: no team). */
#include "server_plugin/api/api.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_updates.h"

#include <string.h>

static int os_versions(orchard_ctx *ctx, const orchard_http_request *req,
                       orchard_http_response *resp, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    g_autoptr(GPtrArray) rows = NULL;
    guint64 team = 0;
    gint64 team_id = -1;
    (void)ctx, (void)payload;
    const char *sub = orchard_api_subpath(req);
    if (!sub || strcmp(sub, "/os_versions") != 0)
        return orchard_api_error(resp, 404, NULL, "no such API path: %s", h->http_path(req));
    const char *t = h->http_query(req, "team_id");
    if (t && *t) {
        if (strlen(t) > 18 || strspn(t, "0123456789") != strlen(t) ||
            !g_ascii_string_to_unsigned(t, 10, 0, G_MAXINT64, &team, NULL))
            return orchard_api_error(resp, 400, "team_id",
                                     "team_id must be a team's id (0: hosts in no team)");
        team_id = (gint64)team;
    }
    int rc = orchard_store_os_versions(team_id, &rows);
    if (rc)
        return orchard_api_error(resp, rc == ORCHARD_EBUSY ? 503 : 500, NULL,
                                 "the store failed counting macOS versions: %s", h->strerror(rc));
    json_t *list = json_array();
    for (guint i = 0; i < rows->len; i++) {
        const orchard_os_count *c = rows->pdata[i];
        g_autofree char *version = g_utf8_make_valid(c->os_version, -1);
        g_autofree char *name = g_strconcat("macOS ", version, NULL);
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:I}", "name", name,
                                              "name_only", "macOS", "version", version,
                                              "platform", "darwin", "hosts_count",
                                              (json_int_t)c->hosts));
    }
    g_autofree char *now = orchard_api_time(g_get_real_time() / G_USEC_PER_SEC);
    return orchard_api_reply(resp, 200, json_pack("{s:o, s:s}", "os_versions", list,
                                                  "counts_updated_at", now));
}

ORCHARD_API_ROUTES(orchard_route_os_versions, "GET", "/os_versions", os_versions,
                   ORCHARD_GUARD_OBSERVER, NULL);
