/* `mac_sim wake`: Macs that answer their pushes. It follows the APNs
 * stand-in's record (tests/support/apns_standin --record FILE, one JSON line
 * per push) and, for each push the stand-in accepted for one of the Macs'
 * tokens with the Mac's PushMagic, runs that Mac's poll session, as a Mac
 * woken by APNs does. A push with another PushMagic is ignored, as a Mac
 * ignores it. */
#include "tests/support/mac_sim/wake.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static orchard_macsim_mac *by_token(orchard_macsim_mac **macs, size_t n, const char *hex)
{
    char mine[2 * ORCHARD_MACSIM_TOKEN_LEN + 1];
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < ORCHARD_MACSIM_TOKEN_LEN; k++)
            sprintf(mine + 2 * k, "%02x", macs[i]->token[k]);
        if (strcasecmp(mine, hex) == 0)
            return macs[i];
    }
    return NULL;
}

/* One record line: poll the Mac it woke, if any. 0, or 1 when a poll failed. */
static int on_push(const char *line, orchard_macsim_mac **macs, size_t n,
                   orchard_macsim_http *h, const orchard_macsim_poll_opts *poll)
{
    json_t *j = json_loads(line, 0, NULL);
    const char *token = json_string_value(json_object_get(j, "token"));
    const char *magic = json_string_value(json_object_get(j, "mdm"));
    const char *apns_id = json_string_value(json_object_get(j, "apns_id"));
    json_int_t status = json_integer_value(json_object_get(j, "status"));
    orchard_macsim_mac *mac = token ? by_token(macs, n, token) : NULL;
    int failed = 0;
    if (!mac || status != 200) {
        /* Not one of ours, or APNs refused it: nothing reaches a Mac. */
    } else if (!magic || strcmp(magic, mac->push_magic) != 0) {
        orchard_macsim_event("ignored", mac, "reason=s", "the push's PushMagic is not the Mac's",
                             NULL);
    } else {
        orchard_macsim_event("pushed", mac, "apns_id=s", apns_id ? apns_id : "", NULL);
        orchard_macsim_poll_result res;
        char *err = NULL;
        if (orchard_macsim_poll(mac, h, poll, &res, &err)) {
            orchard_macsim_event("error", mac, "during=s", "poll", "message=s", err, NULL);
            free(err);
            failed = 1;
        } else {
            orchard_macsim_event("polled", mac, "commands=d", res.commands, "acknowledged=d",
                                 res.acked, "error=d", res.errored, "notnow=d", res.notnow, NULL);
        }
    }
    json_decref(j);
    return failed;
}

int macsim_wake(orchard_macsim_mac **macs, size_t n, const char *record, double seconds,
                const orchard_macsim_poll_opts *poll, const char *cafile, int insecure)
{
    orchard_macsim_http *h = NULL;
    char *err = NULL;
    if (orchard_macsim_http_new(&h, cafile, insecure, &err)) {
        fprintf(stderr, "mac_sim: %s\n", err);
        free(err);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    double deadline = seconds > 0 ? now_s() + seconds : 0;
    const struct timespec nap = {.tv_nsec = 50 * 1000000L};
    FILE *f = NULL;
    char line[8192];
    size_t used = 0;
    int failed = 0;
    /* From the record's start: a push made before this started still wakes
     * its Mac (a poll with nothing queued costs nothing). */
    while (!stop && (!deadline || now_s() < deadline)) {
        if (!f && !(f = fopen(record, "r"))) {
            nanosleep(&nap, NULL); /* the stand-in has not made it yet */
            continue;
        }
        if (!fgets(line + used, (int)(sizeof line - used), f)) {
            clearerr(f); /* at the end for now: the stand-in appends */
            nanosleep(&nap, NULL);
            continue;
        }
        used += strlen(line + used);
        if (used && line[used - 1] != '\n' && used < sizeof line - 1)
            continue; /* half a line so far */
        failed |= on_push(line, macs, n, h, poll);
        used = 0;
    }
    if (f)
        fclose(f);
    orchard_macsim_http_free(h);
    return failed;
}
