/* GET /hosts, /hosts/count and /hosts/{uuid} of the admin API (docs/api.md),
 * and the JSON behind them that the /hosts pages show too (hosts.h): the
 * enrolled Macs from store_devices.h with Fleet's field names. The store row
 * holds secrets (push token, PushMagic, unlock and bootstrap tokens); this
 * file copies out only the fields named below, never those. */
#include "server_plugin/api/api.h"
#include "server_plugin/api/hosts.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_host_profiles.h"
#include "server_plugin/store/store_queue.h"
#include "server_plugin/store/store_teams.h"

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

/* ---- the JSON (hosts.h) */

/* Team id -> name of every team: the list's team_name in one read, not one
 * per host (teams are few), of the names only (no host counts). */
static int team_names(GHashTable **out)
{
    g_autoptr(GPtrArray) teams = NULL;
    *out = NULL;
    int rc = orchard_store_team_names(&teams);
    if (rc)
        return rc;
    GHashTable *names = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    for (guint i = 0; i < teams->len; i++) {
        const orchard_team *t = teams->pdata[i];
        g_hash_table_insert(names, g_memdup2(&t->id, sizeof t->id), g_strdup(t->name));
    }
    *out = names;
    return 0;
}

int orchard_hosts_list_json(gint64 page, gint64 per_page, json_t **out)
{
    g_autoptr(GPtrArray) devices = NULL;
    g_autoptr(GHashTable) teams = NULL, names = NULL;
    *out = NULL;
    if (page < 0 || per_page < 1)
        return ORCHARD_EINVAL;
    int rc = orchard_store_device_list(page, per_page, &devices);
    if (rc == 0)
        rc = orchard_store_host_teams(page, per_page, &teams);
    if (rc == 0)
        rc = team_names(&names);
    if (rc)
        return rc;
    json_t *hosts = json_array();
    for (guint i = 0; i < devices->len; i++) {
        const orchard_device *d = devices->pdata[i];
        json_t *h = host_json(d);
        const gint64 *team = g_hash_table_lookup(teams, d->udid);
        gint64 id = team ? *team : 0;
        /* A team deleted between the reads: its hosts are in no team now. */
        const char *name = id ? g_hash_table_lookup(names, &id) : NULL;
        set_team(h, name ? id : 0, name);
        json_array_append_new(hosts, h);
    }
    *out = json_pack("{s:o}", "hosts", hosts);
    return *out ? 0 : ORCHARD_ENOMEM;
}

int orchard_hosts_count(gint64 *count)
{
    return orchard_store_device_count(count);
}

int orchard_host_detail_json(const char *uuid, json_t **out)
{
    g_autoptr(orchard_device) d = NULL;
    g_autofree char *team_name = NULL;
    g_autoptr(GPtrArray) profiles = NULL;
    gint64 team_id = 0;
    *out = NULL;
    int rc = orchard_store_device_get(uuid, &d);
    if (rc == 0)
        rc = orchard_store_host_team(uuid, &team_id, &team_name);
    if (rc == ORCHARD_ENOTFOUND && d) /* re-enrolled between the two reads: no team yet */
        rc = 0;
    if (rc == 0)
        rc = orchard_store_host_profiles(uuid, &profiles);
    if (rc)
        return rc;
    json_t *h = host_json(d);
    set_team(h, team_id, team_name);
    json_object_set_new(json_object_get(h, "mdm"), "profiles", profiles_json(profiles));
    *out = json_pack("{s:o}", "host", h);
    return *out ? 0 : ORCHARD_ENOMEM;
}

static json_t *commands_of(const GPtrArray *rows, guint n)
{
    json_t *a = json_array();
    for (guint i = 0; i < rows->len && i < n; i++) {
        const orchard_command_result *r = rows->pdata[i];
        json_t *o = json_object();
        json_object_set_new(o, "command_uuid", text(r->command_uuid));
        json_object_set_new(o, "request_type", text(r->request_type));
        json_object_set_new(o, "status", text(r->status));
        /* queued_at is in microseconds (the queue's order is exact). */
        json_object_set_new(o, "queued_at", time_or_null(r->queued_at_us / G_USEC_PER_SEC));
        /* A Pending row's updated_at is when it was queued: no answer yet. */
        json_object_set_new(o, "updated_at", strcmp(r->status, ORCHARD_CMD_PENDING) == 0
                                                 ? json_null()
                                                 : time_or_null(r->updated_at));
        json_array_append_new(a, o);
    }
    return a;
}

int orchard_host_commands_json(const char *uuid, gint64 limit, json_t **out)
{
    g_autoptr(GPtrArray) pending = NULL, recent = NULL;
    *out = NULL;
    if (!uuid || limit < 1 || limit > 1000)
        return ORCHARD_EINVAL;
    /* One more than shown says whether there are more. */
    int rc = orchard_store_command_for_device(uuid, 1, limit + 1, &pending);
    if (rc == 0)
        rc = orchard_store_command_for_device(uuid, 0, limit, &recent);
    if (rc)
        return rc;
    *out = json_pack("{s:o, s:b, s:o}", "pending", commands_of(pending, (guint)limit),
                     "pending_more", pending->len > (guint)limit, "recent",
                     commands_of(recent, (guint)limit));
    return *out ? 0 : ORCHARD_ENOMEM;
}

/* ---- the routes */

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
    json_t *body = NULL;
    int rc = orchard_hosts_list_json(page, per_page, &body);
    if (rc)
        return store_error(resp, rc);
    return orchard_api_reply(resp, 200, body);
}

/* Fleet's GET /hosts/count. No UDID is "count" (Apple's are hex and dashes). */
static int count_hosts(orchard_http_response *resp)
{
    gint64 n = 0;
    int rc = orchard_hosts_count(&n);
    if (rc)
        return store_error(resp, rc);
    return orchard_api_reply(resp, 200, json_pack("{s:I}", "count", (json_int_t)n));
}

static int get_host(orchard_http_response *resp, const char *uuid)
{
    json_t *body = NULL;
    int rc = orchard_host_detail_json(uuid, &body);
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_api_error(resp, 404, NULL, "no host has UUID %s", uuid);
    if (rc)
        return store_error(resp, rc);
    return orchard_api_reply(resp, 200, body);
}

static int hosts(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp,
                 void *payload)
{
    (void)ctx;
    (void)payload;
    const char *sub = orchard_api_subpath(req);
    if (sub && strcmp(sub, "/hosts") == 0)
        return list_hosts(resp, req);
    if (sub && strcmp(sub, "/hosts/count") == 0)
        return count_hosts(resp);
    const char *uuid = sub && g_str_has_prefix(sub, "/hosts/") ? sub + 7 : NULL;
    if (!uuid || !*uuid || strchr(uuid, '/'))
        return orchard_api_error(resp, 404, NULL, "no such API path: %s",
                                 orchard_server_host->http_path(req));
    return get_host(resp, uuid);
}

ORCHARD_API_ROUTES(orchard_route_hosts, "GET", "/hosts", hosts, ORCHARD_GUARD_OBSERVER, NULL);
