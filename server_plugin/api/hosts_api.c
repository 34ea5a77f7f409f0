/* GET /hosts and GET /hosts/{uuid} of the admin API (docs/api.md): the
 * enrolled Macs from store_devices.h with Fleet's field names. The store row
 * holds secrets (push token, PushMagic, unlock and bootstrap tokens); this
 * file copies out only the fields named below, never those. */
#include "server_plugin/api/api.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_host_profiles.h"

#include <string.h>

/* Fleet's platform and OS name for a device, by its product name. */
static void platform_of(const orchard_device *d, const char **platform, const char **os)
{
    const char *p = d->product_name ? d->product_name : (d->model ? d->model : "");
    if (g_str_has_prefix(p, "iPhone") || g_str_has_prefix(p, "iPod")) {
        *platform = "ios";
        *os = "iOS";
    } else if (g_str_has_prefix(p, "iPad")) {
        *platform = "ipados";
        *os = "iPadOS";
    } else {
        *platform = "darwin";
        *os = "macOS";
    }
}

/* A time, or JSON null for "never". */
static json_t *time_or_null(gint64 t)
{
    if (t <= 0)
        return json_null();
    g_autofree char *s = orchard_api_time(t);
    return json_string(s);
}

/* Text as JSON, "" for NULL; invalid UTF-8 from a device becomes "". */
static json_t *text(const char *s)
{
    json_t *v = json_string(s ? s : "");
    return v ? v : json_string("");
}

static json_t *host_json(const orchard_device *d)
{
    const char *platform, *os;
    platform_of(d, &platform, &os);
    g_autofree char *os_version = d->os_version ? g_strdup_printf("%s %s", os, d->os_version)
                                                : g_strdup("");
    json_t *mdm = json_object();
    /* Fleet's words: automatic is an enrollment through Apple Business Manager. */
    const char *status = !d->enabled ? "Off" : d->dep_enrolled ? "On (automatic)" : "On (manual)";
    json_object_set_new(mdm, "enrollment_status", json_string(status));
    json_object_set_new(mdm, "connected_to_fleet", json_boolean(d->enabled));
    json_object_set_new(mdm, "name", json_string("orchard"));

    json_t *h = json_object();
    json_object_set_new(h, "uuid", text(d->udid));
    json_object_set_new(h, "hardware_serial", text(d->serial_number));
    json_object_set_new(h, "hardware_model", text(d->model));
    json_object_set_new(h, "platform", json_string(platform));
    json_object_set_new(h, "os_version", text(os_version));
    json_object_set_new(h, "build_version", text(d->build_version));
    json_object_set_new(h, "computer_name", text(d->device_name));
    json_object_set_new(h, "display_name", text(d->device_name));
    json_object_set_new(h, "seen_time", time_or_null(d->last_seen_at));
    json_object_set_new(h, "last_mdm_checked_in_at", time_or_null(d->last_seen_at));
    json_object_set_new(h, "last_mdm_enrolled_at", time_or_null(d->created_at));
    json_object_set_new(h, "mdm", mdm);
    /* orchard's own: whether APNs can wake the device, and why not. */
    json_object_set_new(h, "push_token_valid", json_boolean(d->push_token_valid));
    json_object_set_new(h, "push_invalid_reason",
                        d->push_invalid_reason ? text(d->push_invalid_reason) : json_null());
    return h;
}

/* Fleet's team fields: team_id null and team_name null for "No team". */
static void set_team(json_t *h, gint64 team_id, const char *name)
{
    json_object_set_new(h, "team_id", team_id ? json_integer(team_id) : json_null());
    json_object_set_new(h, "team_name", team_id ? text(name) : json_null());
}

/* Fleet's host-detail mdm.profiles: each configuration profile's delivery. */
static json_t *profiles_json(const GPtrArray *list)
{
    json_t *a = json_array();
    for (guint i = 0; i < list->len; i++) {
        const orchard_host_profile *p = list->pdata[i];
        json_t *o = json_object();
        json_object_set_new(o, "profile_id",
                            p->s.profile_id ? json_integer(p->s.profile_id) : json_null());
        json_object_set_new(o, "name", text(p->s.name));
        json_object_set_new(o, "identifier", text(p->s.identifier));
        json_object_set_new(o, "status", text(p->s.status));
        json_object_set_new(o, "operation_type", text(p->s.operation));
        json_object_set_new(o, "detail", text(p->s.detail));
        json_array_append_new(a, o);
    }
    return a;
}

static int store_error(orchard_http_response *resp, int rc)
{
    if (rc == ORCHARD_EBUSY)
        return orchard_api_error(resp, 503, NULL, "the store is busy; try again");
    return orchard_api_error(resp, 500, NULL, "the store failed reading hosts: %s",
                             orchard_server_host->strerror(rc));
}

static int list_hosts(orchard_http_response *resp, const orchard_http_request *req)
{
    gint64 page, per_page;
    if (orchard_api_paging(req, resp, 100, &page, &per_page))
        return 0;
    g_autoptr(GPtrArray) devices = NULL;
    g_autoptr(GHashTable) teams = NULL;
    int rc = orchard_store_device_list(page, per_page, &devices);
    if (rc == 0)
        rc = orchard_store_host_teams(page, per_page, &teams);
    if (rc)
        return store_error(resp, rc);
    json_t *hosts = json_array();
    for (guint i = 0; i < devices->len; i++) {
        const orchard_device *d = devices->pdata[i];
        json_t *h = host_json(d);
        const gint64 *team = g_hash_table_lookup(teams, d->udid);
        json_object_set_new(h, "team_id", team && *team ? json_integer(*team) : json_null());
        json_array_append_new(hosts, h);
    }
    return orchard_api_reply(resp, 200, json_pack("{s:o}", "hosts", hosts));
}

static int get_host(orchard_http_response *resp, const char *uuid)
{
    g_autoptr(orchard_device) d = NULL;
    int rc = orchard_store_device_get(uuid, &d);
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_api_error(resp, 404, NULL, "no host has UUID %s", uuid);
    g_autofree char *team_name = NULL;
    g_autoptr(GPtrArray) profiles = NULL;
    gint64 team_id = 0;
    if (rc == 0)
        rc = orchard_store_host_team(uuid, &team_id, &team_name);
    if (rc == ORCHARD_ENOTFOUND) /* re-enrolled between the two reads: no team yet */
        rc = 0;
    if (rc == 0)
        rc = orchard_store_host_profiles(uuid, &profiles);
    if (rc)
        return store_error(resp, rc);
    json_t *h = host_json(d);
    set_team(h, team_id, team_name);
    json_object_set_new(json_object_get(h, "mdm"), "profiles", profiles_json(profiles));
    return orchard_api_reply(resp, 200, json_pack("{s:o}", "host", h));
}

static int hosts(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp,
                 void *payload)
{
    (void)ctx;
    (void)payload;
    const char *sub = orchard_api_subpath(req);
    if (sub && strcmp(sub, "/hosts") == 0)
        return list_hosts(resp, req);
    const char *uuid = sub && g_str_has_prefix(sub, "/hosts/") ? sub + 7 : NULL;
    if (!uuid || !*uuid || strchr(uuid, '/'))
        return orchard_api_error(resp, 404, NULL, "no such API path: %s",
                                 orchard_server_host->http_path(req));
    return get_host(resp, uuid);
}

ORCHARD_API_ROUTES(orchard_route_hosts, "GET", "/hosts", hosts, ORCHARD_GUARD_OBSERVER, NULL);
