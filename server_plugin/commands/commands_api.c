/* The commands part of the admin API (docs/api.md): run a command on hosts
 * (queue it, push the hosts, record the activity), read its results, list
 * commands. Fleet's paths and shapes; the queue is store_queue.h's. */
#include "server_plugin/commands/command.h"

#include "server_plugin/api/api.h"
#include "server_plugin/apns/apns.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_queue.h"
#include "server_plugin/users/activity.h"

#include <string.h>

/* A host UUID longer than this is not one (Apple's UDIDs are 25-36). */
#define HOST_UUID_MAX 255

/* ---- helpers */

/* A route's prefix also takes longer paths ("/commands/x"): only the exact
 * path is ours. 1 when it is; else answered 404. */
static int exact_path(const orchard_http_request *req, orchard_http_response *resp,
                      const char *sub)
{
    const char *got = orchard_api_subpath(req);
    if (got && strcmp(got, sub) == 0)
        return 1;
    orchard_api_error(resp, 404, NULL, "no such API path: %s",
                      orchard_server_host->http_path(req));
    return 0;
}

/* Answer a store failure: busy is worth a retry, anything else is ours. */
static int store_error(orchard_http_response *resp, int rc, const char *what)
{
    if (rc == ORCHARD_EBUSY)
        return orchard_api_error(resp, 503, NULL, "the store is busy (%s); try again", what);
    return orchard_api_error(resp, 500, NULL, "the store failed (%s): %s", what,
                             orchard_server_host->strerror(rc));
}

/* host_uuids: a non-empty array of strings, duplicates dropped (the queue
 * holds a command once per host). 0 and *out, or answered 400. */
static int read_host_uuids(json_t *body, orchard_http_response *resp, GPtrArray **out)
{
    json_t *list = json_object_get(body, "host_uuids");
    size_t i;
    json_t *v;
    if (!json_is_array(list))
        return orchard_api_error(resp, 400, "host_uuids",
                                 "host_uuids is required: an array of host UUIDs"), ORCHARD_EINVAL;
    if (json_array_size(list) == 0)
        return orchard_api_error(resp, 400, "host_uuids",
                                 "host_uuids is empty: name at least one host"), ORCHARD_EINVAL;
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) uuids = g_ptr_array_new();
    json_array_foreach(list, i, v) {
        const char *s = json_string_value(v);
        if (!s || !*s || strlen(s) > HOST_UUID_MAX || json_string_length(v) != strlen(s))
            return orchard_api_error(resp, 400, "host_uuids",
                                     "host_uuids[%zu] is not a host UUID", i), ORCHARD_EINVAL;
        if (g_hash_table_add(seen, (gpointer)s))
            g_ptr_array_add(uuids, (gpointer)s);
    }
    *out = g_steal_pointer(&uuids);
    return 0;
}

/* The queue refused `udid`: unknown, or known but not enrolled. */
static int refuse_host(orchard_http_response *resp, const char *udid)
{
    g_autoptr(orchard_device) d = NULL;
    int rc = orchard_store_device_get(udid, &d);
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_api_error(resp, 400, "host_uuids", "host %s is unknown: no Mac with "
                                 "that UUID ever enrolled", udid);
    if (rc)
        return store_error(resp, rc, "reading a host");
    return orchard_api_error(resp, 400, "host_uuids", "host %s is not enrolled in MDM (it "
                             "checked out, or has not finished enrolling)", udid);
}

/* ---- POST /commands/run */

static int run_command(orchard_ctx *ctx, const orchard_http_request *req,
                       orchard_http_response *resp, void *payload)
{
    const orchard_host_api *host = orchard_server_host;
    json_t *body = NULL;
    GPtrArray *uuids = NULL;
    GBytes *plist = NULL;
    orchard_command_parsed cmd = {0};
    g_autofree char *reason = NULL, *bad_udid = NULL;
    int rc = 0;
    (void)payload;

    if (!exact_path(req, resp, "/commands/run") || orchard_api_read_json(req, resp, &body))
        return 0;
    const char *b64 = json_string_value(json_object_get(body, "command"));
    if (!b64) {
        orchard_api_error(resp, 400, "command", "command is required: the MDM command plist, "
                          "base64-encoded");
        goto cleanup;
    }
    if (!(plist = orchard_api_base64(b64, strlen(b64)))) {
        orchard_api_error(resp, 400, "command", "command is not valid base64");
        goto cleanup;
    }
    gsize plen = 0;
    const void *pdata = g_bytes_get_data(plist, &plen);
    if (orchard_command_parse(pdata, plen, &cmd, &reason)) {
        orchard_api_error(resp, 400, "command", "the command is refused: %s", reason);
        goto cleanup;
    }
    if (read_host_uuids(body, resp, &uuids))
        goto cleanup;

    const char *actor = orchard_api_actor(req, NULL);
    rc = orchard_store_command_enqueue(cmd.uuid, cmd.request_type, cmd.xml, cmd.xml_len, actor,
                                       (const char *const *)uuids->pdata, uuids->len,
                                       g_get_real_time(), &bad_udid);
    if (rc == ORCHARD_EEXIST) {
        /* Fleet answers 409 for a conflict with what is stored. */
        orchard_api_error(resp, 409, "command", "a command with CommandUUID %s already exists; "
                          "leave CommandUUID out to have one made", cmd.uuid);
        rc = 0;
        goto cleanup;
    }
    if (rc == ORCHARD_ENOTFOUND && bad_udid) {
        refuse_host(resp, bad_udid);
        rc = 0;
        goto cleanup;
    }
    if (rc) {
        store_error(resp, rc, "queueing the command");
        rc = 0;
        goto cleanup;
    }
    /* Queued: the push and the record are best effort. A host that misses
     * the push still gets the command the next time it checks in. */
    int prc = orchard_apns_push(ctx, (const char *const *)uuids->pdata, uuids->len);
    if (prc)
        host->ctx_log(ctx, ORCHARD_LOG_WARNING, "command %s is queued, but asking for its "
                      "pushes failed (%s): the hosts get it at their next check-in", cmd.uuid,
                      host->strerror(prc));
    json_t *hosts = json_array();
    for (guint i = 0; i < uuids->len; i++)
        json_array_append_new(hosts, json_string(uuids->pdata[i]));
    json_t *details = json_pack("{s:s, s:s, s:o}", "command_uuid", cmd.uuid, "request_type",
                                cmd.request_type, "host_uuids", hosts);
    orchard_activity_record(ctx, req, NULL, "ran_mdm_command", details);
    host->ctx_log(ctx, ORCHARD_LOG_INFO, "command %s (%s) queued for %u host(s) by %s", cmd.uuid,
                  cmd.request_type, uuids->len, actor ? actor : "(unknown)");
    rc = orchard_api_reply(resp, 200, json_pack("{s:s, s:s}", "command_uuid", cmd.uuid,
                                                 "request_type", cmd.request_type));
cleanup:
    orchard_command_parsed_clear(&cmd);
    if (plist)
        g_bytes_unref(plist);
    if (uuids)
        g_ptr_array_unref(uuids);
    json_decref(body);
    return rc;
}

/* ---- GET /commands/results?command_uuid=U */

static json_t *result_json(const orchard_command_result *r)
{
    g_autofree char *updated = orchard_api_time(r->updated_at);
    g_autofree char *b64 = NULL;
    if (r->result) {
        gsize len = 0;
        const guchar *data = g_bytes_get_data(r->result, &len);
        b64 = g_base64_encode(data, len);
    }
    return json_pack("{s:s?, s:s?, s:s?, s:s, s:s?, s:s}", "host_uuid", r->udid, "command_uuid",
                     r->command_uuid, "status", r->status, "updated_at", updated, "request_type",
                     r->request_type, "result", b64 ? b64 : "");
}

static int command_results(orchard_ctx *ctx, const orchard_http_request *req,
                           orchard_http_response *resp, void *payload)
{
    (void)ctx;
    (void)payload;
    if (!exact_path(req, resp, "/commands/results"))
        return 0;
    const char *uuid = orchard_server_host->http_query(req, "command_uuid");
    if (!uuid || !*uuid)
        return orchard_api_error(resp, 400, "command_uuid", "command_uuid is required");
    g_autoptr(GPtrArray) rows = NULL;
    int rc = orchard_store_command_results(uuid, &rows);
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_api_error(resp, 404, "command_uuid", "no command has CommandUUID %s",
                                 uuid);
    if (rc)
        return store_error(resp, rc, "reading results");
    json_t *results = json_array();
    for (guint i = 0; i < rows->len; i++)
        json_array_append_new(results, result_json(rows->pdata[i]));
    return orchard_api_reply(resp, 200, json_pack("{s:o}", "results", results));
}

/* ---- GET /commands */

/* The host's name for a UDID, looked up once per request. */
static const char *host_name(GHashTable *names, const char *udid)
{
    if (!g_hash_table_contains(names, udid)) {
        g_autoptr(orchard_device) d = NULL;
        char *name = NULL;
        if (orchard_store_device_get(udid, &d) == 0 && d->device_name)
            name = g_strdup(d->device_name);
        g_hash_table_insert(names, g_strdup(udid), name);
    }
    const char *name = g_hash_table_lookup(names, udid);
    return name ? name : "";
}

static int list_commands(orchard_ctx *ctx, const orchard_http_request *req,
                         orchard_http_response *resp, void *payload)
{
    gint64 page, per_page;
    (void)ctx;
    (void)payload;
    if (!exact_path(req, resp, "/commands") ||
        orchard_api_paging(req, resp, 100, &page, &per_page))
        return 0;
    g_autoptr(GPtrArray) cmds = NULL;
    int rc = orchard_store_command_list(page, per_page, &cmds);
    if (rc)
        return store_error(resp, rc, "listing commands");
    g_autoptr(GHashTable) names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    json_t *results = json_array();
    for (guint i = 0; i < cmds->len; i++) {
        const orchard_command_info *c = cmds->pdata[i];
        g_autoptr(GPtrArray) rows = NULL;
        if (orchard_store_command_results(c->command_uuid, &rows) != 0)
            continue; /* deleted between the two reads */
        for (guint j = 0; j < rows->len; j++) {
            const orchard_command_result *r = rows->pdata[j];
            g_autofree char *updated = orchard_api_time(r->updated_at);
            json_array_append_new(
                results, json_pack("{s:s?, s:s?, s:s?, s:s, s:s?, s:s}", "host_uuid", r->udid,
                                   "command_uuid", r->command_uuid, "status", r->status,
                                   "updated_at", updated, "request_type", r->request_type,
                                   "hostname", host_name(names, r->udid)));
        }
    }
    return orchard_api_reply(resp, 200, json_pack("{s:o}", "results", results));
}

ORCHARD_API_ROUTES(orchard_route_commands_run, "POST", "/commands/run", run_command,
                   ORCHARD_GUARD_MAINTAINER, "mdm");
ORCHARD_API_ROUTES(orchard_route_commands_results, "GET", "/commands/results", command_results,
                   ORCHARD_GUARD_OBSERVER, "mdm");
ORCHARD_API_ROUTES(orchard_route_commands_list, "GET", "/commands", list_commands,
                   ORCHARD_GUARD_OBSERVER, "mdm");
