/* Command reports (any body on /mdm/apple/mdm that is not a check-in): the
 * device says Idle (it polls) or answers a command (Acknowledged, Error,
 * CommandFormatError, NotNow), and gets back its next queued command or an
 * empty 200. Idle starts a new polling session, which is when commands
 * answered NotNow become due again (store_queue.c). */
#include "server_plugin/checkin/checkin.h"
#include "server_plugin/profiles/profiles.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_queue.h"
#include "server_plugin/updates/updates.h"

#include <string.h>

#define PLUGIN "orchard-server"

static const orchard_host_api *host(void) { return orchard_server_host; }

static const char *const statuses[] = {"Idle", ORCHARD_CMD_ACKNOWLEDGED, ORCHARD_CMD_ERROR,
                                       ORCHARD_CMD_FORMAT_ERROR, ORCHARD_CMD_NOT_NOW};

/* The reply: the next command due for udid, or an empty 200. */
static int next_command(const char *udid, orchard_checkin_reply *out)
{
    g_autofree char *uuid = NULL;
    g_autoptr(GBytes) plist = NULL;
    int rc = orchard_store_command_next(udid, &uuid, &plist);

    if (rc == ORCHARD_ENOTFOUND) {
        out->status = 200;
        return 0;
    }
    if (rc)
        return orchard_checkin_refuse(out, 500, "report from %s: the store failed reading its "
                                      "next command (%s)", udid, host()->strerror(rc));
    gsize len = 0;
    const void *data = g_bytes_get_data(plist, &len);
    out->body = g_memdup2(data, len);
    out->len = len;
    out->content_type = "application/xml";
    out->status = 200;
    host()->log(ORCHARD_LOG_DEBUG, PLUGIN, "checkin: command %s sent to %s", uuid, udid);
    return 0;
}

/* 0 when the verified certificate is bound to udid; else refused (logged). */
static int check_bound(const orchard_checkin_request *req, const char *udid,
                       orchard_checkin_reply *out)
{
    g_autofree char *bound = NULL;
    int rc = orchard_checkin_bound_udid(req, &bound);
    if (rc == 0 && strcmp(bound, udid) == 0)
        return 0;
    if (rc == ORCHARD_ENOTFOUND)
        orchard_checkin_refuse(out, 400, "report from %s refused: its certificate is not bound "
                               "to any enrollment", udid);
    else if (rc)
        orchard_checkin_refuse(out, 500, "report from %s: the store failed", udid);
    else
        orchard_checkin_refuse(out, 400, "report from %s refused: its certificate is bound to "
                               "another UDID (%s)", udid, bound);
    return -1;
}

/* A report on a command orchard queued itself goes on to the flow that
 * queued it, told apart by the CommandUUID's prefix so that other reports
 * cost no store read (and an admin's DeviceInformation answer, told by its
 * QueryResponses, refreshes the host's facts too). The queue has the report already: a flow that fails
 * here is logged, and its own job repairs the state later (the reconciler
 * asks for a ProfileList, DeviceInformation is asked again). */
/* 1 for an admin's DeviceInformation answer that carries the OS version
 * (one without it would mark the facts fresh and put off orchard's own
 * question, which asks for it, by a day). */
static int admin_os_version(plist_t root)
{
    plist_t qr = plist_dict_get_item(root, "QueryResponses");
    return qr && plist_get_node_type(qr) == PLIST_DICT && plist_dict_get_item(qr, "OSVersion");
}

static void route_to_flow(const orchard_checkin_env *env, const char *udid, const char *uuid,
                          const char *status, plist_t root, const char *chain, gint64 now)
{
    orchard_ctx *ctx = env ? env->ctx : NULL;
    if (g_str_has_prefix(uuid, ORCHARD_PROFILES_UUID_PREFIX))
        orchard_profiles_report(ctx, udid, uuid, status, root, chain, now);
    else if (g_str_has_prefix(uuid, ORCHARD_UPDATES_UUID_PREFIX))
        orchard_updates_report(ctx, udid, uuid, status, root, now);
    else if (strcmp(status, ORCHARD_CMD_ACKNOWLEDGED) == 0 && admin_os_version(root))
        orchard_updates_save_facts(ctx, udid, root, now);
}

int orchard_checkin_report(const orchard_checkin_env *env, const orchard_checkin_request *req,
                           plist_t root, orchard_checkin_reply *out)
{
    g_autofree char *udid = orchard_checkin_plist_string(root, "UDID");
    g_autofree char *status = orchard_checkin_plist_string(root, "Status");
    g_autofree char *uuid = orchard_checkin_plist_string(root, "CommandUUID");
    g_autofree char *chain = NULL;
    gint64 now = req->now_us / G_USEC_PER_SEC;
    int known = 0, rc;

    if (!orchard_checkin_id_ok(udid))
        return orchard_checkin_refuse(out, 400, "report refused: no valid UDID (user "
                                      "enrollments are not supported)");
    if (!status || !orchard_checkin_id_ok(status))
        return orchard_checkin_refuse(out, 400, "report from %s refused: no Status", udid);
    for (size_t i = 0; i < G_N_ELEMENTS(statuses); i++)
        known |= strcmp(status, statuses[i]) == 0;
    if (!known)
        return orchard_checkin_refuse(out, 400, "report from %s refused: unknown Status", udid);
    int idle = strcmp(status, "Idle") == 0;
    if (!idle && !orchard_checkin_id_ok(uuid))
        return orchard_checkin_refuse(out, 400, "%s report from %s refused: no valid "
                                      "CommandUUID", status, udid);
    if (check_bound(req, udid, out))
        return 0;
    if (plist_dict_get_item(root, "UserID")) {
        host()->log(ORCHARD_LOG_INFO, PLUGIN, "checkin: a report for a user of %s ignored (the "
                    "user channel is not managed)", udid);
        out->status = 200;
        return 0;
    }
    if (idle) {
        if ((rc = orchard_store_device_seen(udid, now, 1, req->now_us)))
            return orchard_checkin_refuse(out, 500, "Idle from %s: the store failed (%s)", udid,
                                          host()->strerror(rc));
        return next_command(udid, out);
    }
    plist_t ec = plist_dict_get_item(root, "ErrorChain");
    if (ec)
        chain = orchard_checkin_plist_json(ec);
    rc = orchard_store_command_report(udid, uuid, status, req->body, req->len, chain, now);
    if (rc == ORCHARD_ENOTFOUND) {
        /* A late answer to a command the queue no longer holds (the device
         * re-enrolled meanwhile): nothing to record, and the device can
         * still be given what is due. */
        host()->log(ORCHARD_LOG_WARNING, PLUGIN, "checkin: %s report from %s for command %s "
                    "that is not queued for it: ignored", status, udid, uuid);
    } else if (rc) {
        return orchard_checkin_refuse(out, 500, "%s report from %s: the store failed (%s)",
                                      status, udid, host()->strerror(rc));
    } else {
        route_to_flow(env, udid, uuid, status, root, chain, now);
        orchard_checkin_event(env, "mdm.command_result", udid, "command_uuid", uuid, "status",
                              status, NULL);
    }
    return next_command(udid, out);
}
