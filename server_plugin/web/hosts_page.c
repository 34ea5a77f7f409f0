/* The pages /hosts (the enrolled Macs, 100 a page) and /hosts/{uuid} (one
 * Mac: its facts, profiles and commands), for observers and up. Their data
 * is the admin API's own JSON (api/hosts.h) with a "view" member beside it:
 * the times in words and the badges' classes, which only a page needs. */
#include "server_plugin/api/hosts.h"
#include "server_plugin/server.h"
#include "server_plugin/web/web_pages.h"

#include <string.h>

#define PER_PAGE 100
/* A page number has at most this many digits: 10^9 pages of 100 hosts is
 * more than any fleet, and the offset stays far from overflowing. */
#define PAGE_DIGITS 9
/* The longest UUID the detail page looks up or repeats back: Apple's UDIDs
 * are 25 or 40 characters. */
#define UUID_MAX 128
/* Commands shown per host: pending ones, and the last answered. */
#define COMMANDS_SHOWN 20

/* ---- times in words */

/* "2026-12-06 01:02 UTC" of an API time; NULL when it is not one. */
static GDateTime *parse_time(const json_t *t)
{
    const char *s = json_string_value(t);
    return s ? g_date_time_new_from_iso8601(s, NULL) : NULL;
}

static char *ago(gint64 seconds)
{
    if (seconds < 60)
        return g_strdup("just now");
    if (seconds < 3600)
        return g_strdup_printf("%" G_GINT64_FORMAT " min ago", seconds / 60);
    if (seconds < 2 * 86400)
        return g_strdup_printf("%" G_GINT64_FORMAT " h ago", seconds / 3600);
    return g_strdup_printf("%" G_GINT64_FORMAT " days ago", seconds / 86400);
}

/* Sets view.<name> to the time as people read it ("never" for null) and
 * view.<name>_ago to how long ago (absent for a time in the future). */
static void set_time(json_t *view, const char *name, const json_t *t, gint64 now)
{
    g_autoptr(GDateTime) dt = parse_time(t);
    if (!dt) {
        json_object_set_new(view, name, json_string("never"));
        return;
    }
    g_autofree char *text = g_date_time_format(dt, "%Y-%m-%d %H:%M UTC");
    json_object_set_new(view, name, json_string(text));
    gint64 age = now - g_date_time_to_unix(dt);
    if (age >= 0) {
        g_autofree char *key = g_strconcat(name, "_ago", NULL);
        g_autofree char *words = ago(age);
        json_object_set_new(view, key, json_string(words));
    }
}

/* The badge class of an MDM enrollment status ("On (manual)" -> on). */
static const char *mdm_class(const json_t *host)
{
    const json_t *mdm = json_object_get(host, "mdm");
    return json_is_true(json_object_get(mdm, "connected_to_fleet")) ? "on" : "off";
}

/* ---- /hosts */

/* ?page=N, 0-based as the API's: digits only. ORCHARD_EINVAL otherwise. */
static int page_param(const orchard_http_request *req, gint64 *page)
{
    const char *p = orchard_server_host->http_query(req, "page");
    *page = 0;
    return p ? orchard_web_number(p, PAGE_DIGITS, page) : 0;
}

static json_t *paging_json(gint64 page, gint64 count, guint shown)
{
    gint64 pages = (count + PER_PAGE - 1) / PER_PAGE;
    json_t *p = json_pack("{s:I, s:I, s:I}", "number", (json_int_t)(page + 1), "pages",
                          (json_int_t)pages, "count", (json_int_t)count);
    if (shown) {
        json_object_set_new(p, "from", json_integer(page * PER_PAGE + 1));
        json_object_set_new(p, "to", json_integer(page * PER_PAGE + shown));
    }
    if (page > 0) {
        /* Past the end (a stale link): "previous" goes to the last page. */
        gint64 prev = page - 1 < pages ? page - 1 : (pages > 0 ? pages - 1 : 0);
        json_object_set_new(p, "prev", json_pack("{s:I}", "page", (json_int_t)prev));
    }
    if (page + 1 < pages)
        json_object_set_new(p, "next", json_pack("{s:I}", "page", (json_int_t)(page + 1)));
    json_object_set_new(p, "several", json_boolean(pages > 1 || page > 0));
    json_object_set_new(p, "shown", json_boolean(shown > 0));
    return p;
}

/* What the empty list says: how a Mac enrolls, with this server's URL. */
static json_t *enroll_json(void)
{
    const char *url = orchard_server_host->config_get("server.url");
    g_autofree char *base = g_strdup(url && *url ? url : "https://<server.url>");
    while (*base && base[strlen(base) - 1] == '/')
        base[strlen(base) - 1] = '\0';
    return json_pack("{s:s}", "base", base);
}

static int store_failed(orchard_ctx *ctx, orchard_http_response *resp,
                        const orchard_web_visit *v, int rc)
{
    if (rc == ORCHARD_EBUSY)
        return orchard_web_error(ctx, resp, v, 503, "The store is busy; reload the page.");
    return orchard_web_error(ctx, resp, v, 500, "The store failed reading hosts: %s.",
                             orchard_server_host->strerror(rc));
}

static int list_page(orchard_ctx *ctx, const orchard_http_request *req,
                     orchard_http_response *resp, const orchard_web_visit *v)
{
    gint64 page, count = 0;
    if (page_param(req, &page))
        return orchard_web_error(ctx, resp, v, 400,
                                 "The page number must be a whole number from 0.");
    json_t *data = NULL;
    int rc = orchard_hosts_count(&count);
    if (rc == 0)
        rc = orchard_hosts_list_json(page, PER_PAGE, &data);
    if (rc)
        return store_failed(ctx, resp, v, rc);
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    json_t *hosts = json_object_get(data, "hosts");
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h) {
        json_t *view = json_pack("{s:s}", "mdm_class", mdm_class(h));
        set_time(view, "seen", json_object_get(h, "seen_time"), now);
        json_object_set_new(h, "view", view);
    }
    json_object_set_new(data, "paging", paging_json(page, count, (guint)json_array_size(hosts)));
    if (count == 0)
        json_object_set_new(data, "enroll", enroll_json());
    return orchard_web_respond(ctx, resp, v, 200, "hosts", "Hosts", data);
}

/* ---- /hosts/{uuid} */

/* Whether APNs can wake the Mac, and if not why, in words. */
static json_t *push_json(const json_t *host)
{
    if (json_is_true(json_object_get(host, "push_token_valid")))
        return json_pack("{s:b}", "ok", 1);
    const char *reason = json_string_value(json_object_get(host, "push_invalid_reason"));
    const char *why;
    if (reason && *reason)
        why = "APNs refused its push token for good";
    else if (!json_is_true(json_object_get(json_object_get(host, "mdm"), "connected_to_fleet")))
        why = "its enrollment is off (checked out, or no TokenUpdate after its last "
              "Authenticate)";
    else
        why = "it has not sent a push token yet";
    return json_pack("{s:b, s:s, s:s?}", "ok", 0, "why", why, "reason",
                     reason && *reason ? reason : NULL);
}

/* Each command's badge (waiting, done, refused) and its times in words. */
static void command_views(json_t *list, gint64 now)
{
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
        const char *s = json_string_value(json_object_get(c, "status"));
        const char *cls = !s                                 ? "pending"
                          : strcmp(s, "Acknowledged") == 0   ? "ok"
                          : strcmp(s, "NotNow") == 0         ? "warn"
                          : strcmp(s, "Pending") == 0        ? "pending"
                                                             : "failed";
        json_object_set_new(c, "badge", json_string(cls));
        set_time(c, "queued_text", json_object_get(c, "queued_at"), now);
        if (!json_is_null(json_object_get(c, "updated_at")))
            set_time(c, "answered_text", json_object_get(c, "updated_at"), now);
    }
}

/* 1 when `uuid` is worth looking up and repeating back: printable ASCII
 * (no space, no '/') and at most UUID_MAX long. */
static int plausible_uuid(const char *uuid)
{
    size_t n = strlen(uuid);
    if (n == 0 || n > UUID_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *)uuid; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || *p == '/')
            return 0;
    return 1;
}

static int detail_page(orchard_ctx *ctx, orchard_http_response *resp,
                       const orchard_web_visit *v, const char *uuid)
{
    if (!plausible_uuid(uuid))
        return orchard_web_error(ctx, resp, v, 404, "No host has that UUID.");
    json_t *data = NULL, *commands = NULL;
    int rc = orchard_host_detail_json(uuid, &data);
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_web_error(ctx, resp, v, 404, "No host has UUID %s.", uuid);
    if (rc == 0)
        rc = orchard_host_commands_json(uuid, COMMANDS_SHOWN, &commands);
    if (rc) {
        json_decref(data);
        return store_failed(ctx, resp, v, rc);
    }
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    json_t *pending = json_object_get(commands, "pending");
    json_t *recent = json_object_get(commands, "recent");
    command_views(pending, now);
    command_views(recent, now);
    json_t *h = json_object_get(data, "host");
    json_t *view = json_pack("{s:s, s:o}", "mdm_class", mdm_class(h), "push", push_json(h));
    set_time(view, "enrolled", json_object_get(h, "last_mdm_enrolled_at"), now);
    set_time(view, "seen", json_object_get(h, "seen_time"), now);
    json_t *profiles = json_object_get(json_object_get(h, "mdm"), "profiles");
    json_object_set_new(view, "has_profiles", json_boolean(json_array_size(profiles) > 0));
    json_object_set_new(view, "has_pending", json_boolean(json_array_size(pending) > 0));
    json_object_set_new(view, "has_recent", json_boolean(json_array_size(recent) > 0));
    json_object_set_new(data, "commands", commands);
    json_object_set_new(data, "view", view);

    /* The title names the Mac; one that did not say its name by its UUID. */
    const char *name = json_string_value(json_object_get(h, "display_name"));
    g_autofree char *title = g_strdup(name && *name ? name : uuid);
    return orchard_web_respond(ctx, resp, v, 200, "host", title, data);
}

static int page(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp,
                void *payload)
{
    orchard_web_visit v;
    (void)payload;
    if (orchard_web_begin(ctx, req, resp, ORCHARD_ROLE_OBSERVER, &v))
        return 0;
    const char *path = orchard_server_host->http_path(req);
    if (strcmp(path, "/hosts") == 0 || strcmp(path, "/hosts/") == 0)
        return list_page(ctx, req, resp, &v);
    const char *uuid = path + strlen("/hosts/");
    if (strchr(uuid, '/'))
        return orchard_web_error(ctx, resp, &v, 404, "There is no such page.");
    return detail_page(ctx, resp, &v, uuid);
}

const orchard_route orchard_route_web_hosts = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "GET",
    .path_prefix = "/hosts",
    .handle2 = page,
    .guard = ORCHARD_GUARD_NONE,
};
