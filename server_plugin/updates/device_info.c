/* DeviceInformation (updates.h): the job "updates.device_info" asks enabled
 * Macs for their OS version and model after their first TokenUpdate and
 * every mdm.apple_device_info_interval, in one command for many hosts, and
 * wakes them; orchard_updates_report stores the answers. A changed OS
 * version marks the desired state changed, so the Nudge profile follows. */
#include "server_plugin/updates/updates.h"

#include "server_plugin/apns/apns.h"
#include "server_plugin/commands/command.h"
#include "server_plugin/profiles/profiles.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_queue.h"
#include "server_plugin/store/store_updates.h"
#include "server_plugin/updates/updates_priv.h"
#include "tables/nudge_logic.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JOB_NAME "updates.device_info"
#define DEFAULT_INTERVAL (24 * 3600)
/* Hosts asked per command (and per store transaction). */
#define BATCH 1000
/* A fact longer than this is no Mac's answer. */
#define FACT_MAX 256

static const char *const queries[] = {"OSVersion", "BuildVersion", "ProductName",
                                      "SerialNumber", "DeviceName", "Model"};

gint64 orchard_updates_device_info_interval(orchard_ctx *ctx)
{
    const orchard_host_api *h = orchard_server_host;
    int64_t ms = 0;
    if (!ctx || !ORCHARD_HAS_FIELD(h, orchard_host_api, setting_duration) ||
        h->setting_duration(ctx, "mdm.apple_device_info_interval", &ms) != 0 || ms < 1000)
        return DEFAULT_INTERVAL;
    return ms / 1000;
}

/* The command's plist (XML), CommandUUID `uuid`. */
static GBytes *device_info_command(const char *uuid)
{
    plist_t cmd = plist_new_dict(), q = plist_new_array();
    for (size_t i = 0; i < G_N_ELEMENTS(queries); i++)
        plist_array_append_item(q, plist_new_string(queries[i]));
    plist_dict_set_item(cmd, "Queries", q);
    return orchard_command_xml(uuid, "DeviceInformation", cmd);
}

int orchard_updates_enqueue(const char *prefix, const char *request_type, GBytes *(*make)(const char *),
                            GPtrArray *udids, gint64 now_us)
{
    g_autofree char *rnd = g_uuid_string_random();
    g_autofree char *uuid = g_strconcat(ORCHARD_UPDATES_UUID_PREFIX, prefix, rnd, NULL);
    g_autoptr(GBytes) plist = make(uuid);
    int rc = plist ? 0 : ORCHARD_ENOMEM;
    /* A host disabled since it was read would refuse the whole command:
     * drop it and queue for the rest. */
    while (rc == 0 && udids->len) {
        g_autofree char *bad = NULL;
        gsize len = 0;
        const void *data = g_bytes_get_data(plist, &len);
        rc = orchard_store_command_enqueue(uuid, request_type, data, len, "orchard",
                                           (const char *const *)udids->pdata, udids->len,
                                           now_us, &bad);
        if (rc != ORCHARD_ENOTFOUND || !bad)
            break;
        guint before = udids->len;
        for (guint i = 0; i < udids->len; i++)
            if (strcmp(udids->pdata[i], bad) == 0) {
                g_ptr_array_remove_index(udids, i);
                break;
            }
        /* A refusal naming no host of ours would repeat forever. */
        rc = udids->len < before ? 0 : ORCHARD_ENOTFOUND;
    }
    return rc;
}

int orchard_updates_device_info_run(orchard_ctx *ctx, gint64 now)
{
    const orchard_host_api *h = orchard_server_host;
    gint64 interval = orchard_updates_device_info_interval(ctx);
    int rc = 0;
    for (int round = 0; rc == 0 && round < 100; round++) {
        g_autoptr(GPtrArray) due = NULL;
        if ((rc = orchard_store_device_info_due(now, interval, BATCH, &due)) || due->len == 0)
            break;
        rc = orchard_updates_enqueue("DEVINFO-", "DeviceInformation", device_info_command, due,
                                     g_get_real_time());
        if (rc == 0 && due->len)
            rc = orchard_store_device_info_asked((const char *const *)due->pdata, due->len, now);
        if (rc == 0 && due->len && ctx)
            orchard_apns_push(ctx, (const char *const *)due->pdata, due->len);
        if (rc == 0 && due->len)
            h->ctx_log(ctx, ORCHARD_LOG_INFO, "DeviceInformation queued for %u host(s)",
                       due->len);
        if (due->len < BATCH || (ctx && h->job_expired(ctx)))
            break;
    }
    return rc;
}

static int device_info_job(orchard_ctx *ctx, void *payload)
{
    (void)payload;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    int rc = orchard_updates_device_info_run(ctx, now);
    if (rc == 0)
        rc = orchard_nudge_pkg_queue(ctx, now);
    return rc;
}

/* A host's first TokenUpdate (or its first after enrolling again): the
 * TokenUpdate's write forgot when it was last asked (store_devices.c), so
 * this run asks it at once rather than at the next tick. */
static void on_enrolled(orchard_ctx *ctx, const char *name, const char *json, void *payload)
{
    (void)name, (void)json, (void)payload;
    orchard_nudge_pkg_dirty();
    orchard_server_host->job_queue(ctx, JOB_NAME);
}

int orchard_updates_init(orchard_ctx *ctx)
{
    static int subscribed; /* once per process: events have no unsubscribe */
    const orchard_host_api *h = orchard_server_host;
    if (!subscribed && ctx && ORCHARD_HAS_FIELD(h, orchard_host_api, event_subscribe) &&
        h->event_subscribe(ctx, "mdm.enrolled", on_enrolled, NULL) == 0)
        subscribed = 1;
    return 0;
}

void orchard_updates_cleanup(void)
{
    orchard_nudge_pkg_forget();
}

/* One fact: a string of printable UTF-8 up to FACT_MAX bytes. 0 and *out
 * (borrowed; NULL when absent), or -1 for a hostile value. */
static int fact(plist_t qr, const char *key, const char **out)
{
    plist_t v = plist_dict_get_item(qr, key);
    *out = NULL;
    if (!v)
        return 0;
    if (plist_get_node_type(v) != PLIST_STRING)
        return -1;
    const char *s = plist_get_string_ptr(v, NULL);
    if (!s || strlen(s) > FACT_MAX || !g_utf8_validate(s, -1, NULL))
        return -1;
    for (const char *p = s; *p; p = g_utf8_next_char(p))
        if (g_unichar_iscntrl(g_utf8_get_char(p)))
            return -1;
    *out = s;
    return 0;
}

int orchard_updates_device_facts(plist_t root, orchard_device_facts *f, const char **why)
{
    const char **slots[] = {&f->os_version,    &f->build_version, &f->product_name,
                            &f->serial_number, &f->device_name,   &f->model};
    plist_t qr = root ? plist_dict_get_item(root, "QueryResponses") : NULL;
    int cmp = 0, any = 0;
    memset(f, 0, sizeof *f);
    if (!qr || plist_get_node_type(qr) != PLIST_DICT)
        return *why = "no QueryResponses dictionary", -1;
    for (size_t i = 0; i < G_N_ELEMENTS(queries); i++) {
        if (fact(qr, queries[i], slots[i]))
            return *why = "a query's answer is not a short string", -1;
        any |= *slots[i] != NULL;
    }
    if (!any)
        return *why = "none of the queries was answered", -1;
    if (f->os_version && nudge_version_compare(f->os_version, f->os_version, &cmp) != 0)
        return *why = "OSVersion is not a macOS version", -1;
    return 0;
}

int orchard_updates_save_facts(orchard_ctx *ctx, const char *udid, plist_t root, gint64 now)
{
    const orchard_host_api *h = orchard_server_host;
    orchard_device_facts f;
    const char *why = NULL;
    int changed = 0;
    if (orchard_updates_device_facts(root, &f, &why)) {
        h->ctx_log(ctx, ORCHARD_LOG_WARNING, "DeviceInformation answer of %s ignored: %s", udid,
                   why);
        return 0;
    }
    int rc = orchard_store_device_info_save(udid, &f, now, &changed);
    if (rc)
        h->ctx_log(ctx, ORCHARD_LOG_WARNING, "DeviceInformation answer of %s not stored: %s",
                   udid, h->strerror(rc));
    else if (changed && ctx)
        h->job_queue(ctx, ORCHARD_PROFILES_JOB);
    return rc;
}

int orchard_updates_report(orchard_ctx *ctx, const char *udid, const char *command_uuid,
                           const char *status, plist_t root, gint64 now)
{
    const orchard_host_api *h = orchard_server_host;
    const char *rest = command_uuid + strlen(ORCHARD_UPDATES_UUID_PREFIX);
    if (!g_str_has_prefix(rest, "DEVINFO-")) {
        if (g_strcmp0(status, "Acknowledged") != 0)
            h->ctx_log(ctx, ORCHARD_LOG_WARNING, "%s answered %s to %s", udid, status,
                       command_uuid);
        return 0;
    }
    if (g_strcmp0(status, "Acknowledged") != 0)
        return 0; /* asked again after the interval */
    return orchard_updates_save_facts(ctx, udid, root, now);
}

const orchard_job orchard_job_device_info = {
    ORCHARD_STRUCT_HEADER(orchard_job),
    .name = JOB_NAME,
    .interval_seconds = 10, /* a cheap indexed read when nobody is due */
    .run2 = device_info_job,
    .first_run_seconds = 5,
    .jitter_seconds = 2,
    .flags = ORCHARD_JOB_ONE_INSTANCE,
};
