/* POST /api/latest/fleet/mdm/apple/push {"host_uuids": [...]}: a maintainer
 * asks for a push to enrolled hosts now. Every host is checked before any
 * is queued, so a bad list queues nothing; the pushes go through the
 * `apns.push` job like every other. */
#include "server_plugin/apns/apns.h"

#include "server_plugin/api/api.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/users/activity.h"

#include <string.h>

#define UUID_MAX 128

/* A UDID as Apple and Fleet write them: letters, digits, '-' (and '.', '_'
 * for hosts other tools named); anything else is not a host UUID and is
 * never echoed back. */
static int uuid_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > UUID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
            return 0;
    return 1;
}

/* The body's host_uuids, without duplicates, into udids (borrowed from doc);
 * otherwise answers 400 and returns ORCHARD_EINVAL. */
static int read_uuids(json_t *doc, orchard_http_response *resp, GPtrArray *udids)
{
    json_t *list = json_object_get(doc, "host_uuids"), *v;
    size_t i;
    if (!json_is_array(list))
        return orchard_api_error(resp, 400, "host_uuids", "host_uuids must be an array of host "
                                 "UUIDs"), ORCHARD_EINVAL;
    if (json_array_size(list) == 0)
        return orchard_api_error(resp, 400, "host_uuids", "host_uuids must name at least one "
                                 "host"), ORCHARD_EINVAL;
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    json_array_foreach(list, i, v) {
        const char *s = json_string_value(v);
        if (!s || strlen(s) != json_string_length(v) || !uuid_ok(s))
            return orchard_api_error(resp, 400, "host_uuids", "host_uuids[%zu] is not a host "
                                     "UUID", i), ORCHARD_EINVAL;
        if (g_hash_table_add(seen, (char *)s))
            g_ptr_array_add(udids, (char *)s);
    }
    return 0;
}

/* Every host enrolled with a valid push token; otherwise answers and returns nonzero. */
static int check_hosts(orchard_ctx *ctx, orchard_http_response *resp, GPtrArray *udids)
{
    const orchard_host_api *h = orchard_server_host;
    for (guint i = 0; i < udids->len; i++) {
        const char *u = udids->pdata[i];
        orchard_device *d = NULL;
        int rc = orchard_store_device_get(u, &d);
        if (rc == ORCHARD_ENOTFOUND)
            return orchard_api_error(resp, 400, "host_uuids", "host %s is not a known host", u),
                   rc;
        if (rc) {
            h->ctx_log(ctx, ORCHARD_LOG_ERROR, "apns: push API: reading host %s: %s", u,
                       h->strerror(rc));
            return orchard_api_error(resp, 503, NULL, "the store is unavailable; try again"), rc;
        }
        int usable = d->enabled && d->push_token_valid && d->push_token_hex && d->push_magic;
        if (!usable)
            orchard_api_error(resp, 400, "host_uuids",
                              "host %s has no valid push token (%s)", u,
                              !d->enabled ? "it is not enrolled"
                              : d->push_invalid_reason ? d->push_invalid_reason
                                                       : "it has not sent a TokenUpdate");
        orchard_device_free(d);
        if (!usable)
            return ORCHARD_EINVAL;
    }
    return 0;
}

static int push_handle(orchard_ctx *ctx, const orchard_http_request *req,
                       orchard_http_response *resp, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    json_t *doc = NULL;
    int rc;
    (void)payload;

    if (g_strcmp0(orchard_api_subpath(req), "/mdm/apple/push") != 0)
        return orchard_api_error(resp, 404, NULL, "not found");
    if (orchard_api_read_json(req, resp, &doc))
        return 0;
    g_autoptr(GPtrArray) udids = g_ptr_array_new();
    if (read_uuids(doc, resp, udids) || check_hosts(ctx, resp, udids))
        goto done;
    if ((rc = orchard_apns_push(ctx, (const char *const *)udids->pdata, udids->len))) {
        h->ctx_log(ctx, ORCHARD_LOG_ERROR, "apns: push API: queueing %u pushes: %s", udids->len,
                   h->strerror(rc));
        orchard_api_error(resp, 503, NULL, "the store is unavailable; try again");
        goto done;
    }
    json_t *hosts = json_array();
    for (guint i = 0; i < udids->len; i++)
        json_array_append_new(hosts, json_string(udids->pdata[i]));
    orchard_activity_record(ctx, req, NULL, "sent_mdm_push", json_pack("{s:o}", "host_uuids",
                                                                        hosts));
    orchard_api_reply(resp, 200, json_pack("{s:I}", "queued", (json_int_t)udids->len));
done:
    json_decref(doc);
    return 0;
}

ORCHARD_API_ROUTES(orchard_route_apns_push, "POST", "/mdm/apple/push", push_handle,
                   ORCHARD_GUARD_MAINTAINER, "mdm");
