/* `orchard push --udid U [--udid U2 ...]`: push to enrolled devices now,
 * from the command line, without a running server: one client, one run,
 * each outcome recorded in apns_pushes and printed. A push APNs could not
 * take yet is left in the queue for `orchard serve` to retry. */
#include "server_plugin/apns/apns.h"

#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_pushes.h"
#include "server_plugin/users/activity.h"

#include <stdio.h>
#include <string.h>

#define CMD "push"
#define USAGE                                                                                 \
    "orchard push --udid U [--udid U2 ...] [--config F]\n"                                    \
    "  --udid U   a device to push to (its UDID); repeat for more devices\n"                   \
    "Sends an MDM push (APNs) to each device now, so it checks in for its queued commands,\n"  \
    "and prints each outcome. A device APNs could not reach yet (429, 5xx, no connection)\n"   \
    "is queued for `orchard serve` to retry.\n"                                               \
    "Exit status: 0 every push was sent; 1 a device was unknown, had no valid push token\n"   \
    "or its push failed, or the configuration or store failed; 2 argument error."

/* --udid values (borrowed from argv, duplicates dropped); 0, -1 after --help, or 2. */
static int parse_args(int argc, char **argv, GPtrArray *udids)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: %s\n", USAGE);
            return -1;
        }
        if (strcmp(a, "--verbose") == 0)
            continue;
        if (strcmp(a, "--udid") == 0 && i + 1 < argc)
            v = argv[++i];
        else if (g_str_has_prefix(a, "--udid="))
            v = a + strlen("--udid=");
        if (!v || !*v) {
            fprintf(stderr, "orchard " CMD ": %s %s\nusage: %s\n",
                    v ? "an empty value for" : "unexpected argument", a, USAGE);
            return 2;
        }
        gboolean dup = FALSE;
        for (guint j = 0; j < udids->len && !dup; j++)
            dup = strcmp(udids->pdata[j], v) == 0;
        if (!dup)
            g_ptr_array_add(udids, (char *)v);
    }
    if (udids->len == 0) {
        fprintf(stderr, "orchard " CMD ": name a device with --udid\nusage: %s\n", USAGE);
        return 2;
    }
    return 0;
}

/* The devices that can be pushed go into targets/devs; the others are said. */
static int gather(GPtrArray *udids, GPtrArray *devs, GArray *targets)
{
    int bad = 0;
    for (guint i = 0; i < udids->len; i++) {
        const char *u = udids->pdata[i];
        orchard_device *d = NULL;
        int rc = orchard_store_device_get(u, &d);
        if (rc) {
            printf("%s: not pushed: %s\n", u, rc == ORCHARD_ENOTFOUND ? "unknown device"
                                                   : orchard_server_host->strerror(rc));
            bad = 1;
            continue;
        }
        if (!d->enabled || !d->push_token_valid || !d->push_token_hex || !d->push_magic) {
            printf("%s: not pushed: no valid push token (%s)\n", u,
                   !d->enabled ? "not enrolled"
                   : d->push_invalid_reason ? d->push_invalid_reason : "no TokenUpdate yet");
            orchard_device_free(d);
            bad = 1;
            continue;
        }
        g_ptr_array_add(devs, d);
        orchard_apns_target t = {d->udid, d->push_token_hex, d->push_magic, d->topic};
        g_array_append_val(targets, t);
    }
    return bad;
}

/* Record, settle and print one outcome; 1 when it is a failure. */
static int report(const orchard_apns_target *t, const orchard_apns_result *r)
{
    orchard_store_push_record(t->udid, r->apns_id[0] ? r->apns_id : NULL, r->status,
                              r->reason[0] ? r->reason : NULL, r->sent_ms);
    switch (r->verdict) {
    case ORCHARD_APNS_SENT:
        printf("%s: sent (apns-id %s)\n", t->udid, r->apns_id[0] ? r->apns_id : "none");
        return 0;
    case ORCHARD_APNS_DEAD:
        orchard_store_device_push_invalid(t->udid, r->reason, r->sent_ms / 1000);
        printf("%s: failed: %d %s; the push token is invalid until the device's next "
               "TokenUpdate\n", t->udid, r->status, r->reason);
        return 1;
    case ORCHARD_APNS_RETRY:
        orchard_store_push_want(&t->udid, 1, r->sent_ms + orchard_apns_backoff_ms(0, 0.5));
        if (r->status)
            printf("%s: failed: %d %s; queued for `orchard serve` to retry\n", t->udid,
                   r->status, r->reason);
        else
            printf("%s: failed: no answer (%s); queued for `orchard serve` to retry\n", t->udid,
                   r->reason);
        return 1;
    case ORCHARD_APNS_REFUSED: break;
    }
    if (r->status)
        printf("%s: failed: %d %s\n", t->udid, r->status, r->reason);
    else
        printf("%s: not pushed: %s\n", t->udid, r->reason);
    return 1;
}

static int push_run(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    g_autoptr(GPtrArray) udids = g_ptr_array_new();
    g_autoptr(GPtrArray) devs = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_device_free);
    g_autoptr(GArray) targets = g_array_new(FALSE, TRUE, sizeof(orchard_apns_target));
    orchard_mdm_config *cfg = NULL;
    orchard_apns_pusher *pusher = NULL;
    orchard_apns_result *results = NULL;
    g_autofree char *err = NULL;
    int rc, failed;
    (void)payload;

    if ((rc = parse_args(argc, argv, udids)))
        return rc < 0 ? 0 : rc;
    if (orchard_mdm_config_load(h, &cfg, &err) != 0) {
        fprintf(stderr, "orchard " CMD ": %s\n", err ? err : "invalid configuration");
        return 1;
    }
    rc = 1;
    if (!cfg->store) {
        fprintf(stderr, "orchard " CMD ": the store is not configured: set store.sqlite or "
                "store.postgres as `orchard serve` has it (devices are enrolled there)\n");
        goto done;
    }
    if (orchard_server_store_migrate() != 0) {
        fprintf(stderr, "orchard " CMD ": the store %s cannot be opened\n", cfg->store);
        goto done;
    }
    failed = gather(udids, devs, targets);
    if (targets->len == 0)
        goto done;
    if (orchard_apns_pusher_open(ctx, cfg, &pusher, NULL) != 0)
        goto done; /* host->fail said why */
    results = g_new0(orchard_apns_result, targets->len);
    const orchard_apns_target *t = (const orchard_apns_target *)(void *)targets->data;
    orchard_apns_send(pusher, t, targets->len, results); /* a refusal is in results */
    json_t *hosts = json_array();
    for (guint i = 0; i < targets->len; i++) {
        failed |= report(&t[i], &results[i]);
        json_array_append_new(hosts, json_string(t[i].udid));
    }
    orchard_activity_record(ctx, NULL, NULL, "sent_mdm_push", json_pack("{s:o}", "host_uuids",
                                                                         hosts));
    fflush(stdout);
    rc = failed ? 1 : 0;
done:
    g_free(results);
    orchard_apns_pusher_close(pusher);
    orchard_mdm_config_free(cfg);
    return rc;
}

const orchard_command orchard_cmd_push = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "push",
    .summary = "Send an MDM push (APNs) to enrolled devices now",
    .usage = USAGE,
    .run2 = push_run,
};
