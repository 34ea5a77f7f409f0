/* bench_checkin's timed phases: signed check-ins from every Mac over C
 * keep-alive connections for S seconds, and command round trips (queued
 * through the admin API, then Idle -> command -> Acknowledged until the
 * server has nothing more). Requests are signed before the clock starts. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <plist/plist.h>

#include "bench/checkin/bench_checkin.h"

/* ---- signing in parallel, before any clock ------------------------------------ */

typedef struct {
    sim_mac *macs;
    int first, step, failed;
    int what; /* 0: TokenUpdate + Idle; 1: the acknowledgements */
    const orchard_macsim_command *cmds;
} sign_job;

static int sign_checkins_of(sim_mac *m)
{
    char *xml = NULL, *err = NULL;
    size_t len = 0;
    if (orchard_macsim_checkin_body(&xml, &len, m->mac, "TokenUpdate", &err) ||
        presign(&m->tu, m->mac, xml, len))
        goto fail;
    xml = NULL;
    if (orchard_macsim_report_body(&xml, &len, m->mac, NULL, 0, &err) ||
        presign(&m->idle, m->mac, xml, len))
        goto fail;
    return 0;
fail:
    if (err)
        fprintf(stderr, "bench_checkin: %s\n", err);
    free(err);
    return -1;
}

static int sign_acks_of(sim_mac *m, const orchard_macsim_command *cmds)
{
    for (int k = 0; k < opt.commands; k++) {
        char *xml = NULL, *err = NULL;
        size_t len = 0;
        if (orchard_macsim_report_body(&xml, &len, m->mac, &cmds[k], ORCHARD_MACSIM_ACK, &err) ||
            presign(&m->acks[k], m->mac, xml, len)) {
            fprintf(stderr, "bench_checkin: %s\n", err ? err : "signing an acknowledgement");
            free(err);
            return -1;
        }
        m->n_acks = k + 1;
    }
    return 0;
}

static void *sign_worker(void *arg)
{
    sign_job *j = arg;
    for (int i = j->first; i < opt.macs; i += j->step)
        j->failed |= j->what ? sign_acks_of(&j->macs[i], j->cmds) : sign_checkins_of(&j->macs[i]);
    return NULL;
}

static int sign_all(sim_mac *macs, int what, const orchard_macsim_command *cmds)
{
    sign_job jobs[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        jobs[i] = (sign_job){.macs = macs, .first = i, .step = 2, .what = what, .cmds = cmds};
        pthread_create(&t[i], NULL, sign_worker, &jobs[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return jobs[0].failed || jobs[1].failed ? -1 : 0;
}

int presign_checkins(sim_mac *macs)
{
    double t0 = now_s();
    int rc = sign_all(macs, 0, NULL);
    fprintf(stderr, "bench_checkin: %d TokenUpdate and Idle requests signed in %.1f s\n",
            2 * opt.macs, now_s() - t0);
    return rc;
}

/* ---- the check-in phase ---------------------------------------------------------- */

typedef struct {
    sim_mac *macs;
    int id;
    const char *mode;
    pthread_barrier_t *start;
    const double *deadline_p; /* set by the main thread before the barrier opens */
    latencies lat;
    long ok, failed, last_bad_status;
    int round_trips_mode;
    long acks, unexpected;
} load_worker;

/* One signed request, timed; 1 when it got 200, else 0 (counted as failed). */
static int send_req(orchard_macsim_http *h, const sim_mac *m, const signed_req *r, const char *ct,
                load_worker *w, orchard_macsim_response *resp)
{
    char *err = NULL;
    double t0 = now_s();
    int rc = orchard_macsim_http_do(h, "PUT", m->mac->server_url, r->body, r->len, ct, r->sig,
                                    resp, &err);
    lat_push(&w->lat, (now_s() - t0) * 1e3);
    if (rc) {
        if (w->failed++ == 0)
            fprintf(stderr, "bench_checkin: %s\n", err);
        free(err);
        return 0;
    }
    if (resp->status != 200) {
        w->failed++;
        w->last_bad_status = resp->status;
        return 0;
    }
    w->ok++;
    return 1;
}

static void *checkin_worker(void *arg)
{
    load_worker *w = arg;
    orchard_macsim_http *h = NULL;
    orchard_macsim_response r = {0};
    char *err = NULL;
    if (orchard_macsim_http_new(&h, NULL, 1, &err)) {
        fprintf(stderr, "bench_checkin: %s\n", err);
        free(err);
        pthread_barrier_wait(w->start);
        return NULL;
    }
    int idle_only = strcmp(w->mode, "idle") == 0, tu_only = strcmp(w->mode, "tokenupdate") == 0;
    /* Connect before the clock: one untimed request. */
    send_req(h, &w->macs[w->id], &w->macs[w->id].idle, ORCHARD_MACSIM_CT_REPORT, w, &r);
    orchard_macsim_response_clear(&r);
    w->ok = w->failed = 0;
    w->lat.n = 0;
    pthread_barrier_wait(w->start);
    double deadline = *w->deadline_p;
    long n = 0;
    for (int i = w->id; now_s() < deadline; n++) {
        const sim_mac *m = &w->macs[i];
        int tu = tu_only || (!idle_only && (n / opt.concurrency) % 2 == 0);
        send_req(h, m, tu ? &m->tu : &m->idle, tu ? ORCHARD_MACSIM_CT_CHECKIN : ORCHARD_MACSIM_CT_REPORT,
             w, &r);
        orchard_macsim_response_clear(&r);
        i += opt.concurrency;
        if (i >= opt.macs)
            i = w->id;
    }
    orchard_macsim_http_free(h);
    return NULL;
}

/* Start the workers, time them, print the phase's line; 0 when nothing failed. */
static int run_phase(sim_mac *macs, const char *phase, const char *mode, double verify_us,
                     void *(*fn)(void *))
{
    int nc = opt.concurrency > opt.macs ? opt.macs : opt.concurrency;
    load_worker *w = calloc((size_t)nc, sizeof *w);
    pthread_t *t = calloc((size_t)nc, sizeof *t);
    pthread_barrier_t start;
    double deadline = 0;
    if (!w || !t) {
        free(w);
        free(t);
        return 1;
    }
    pthread_barrier_init(&start, NULL, (unsigned)nc + 1);
    for (int i = 0; i < nc; i++) {
        w[i] = (load_worker){.macs = macs, .id = i, .mode = mode, .start = &start,
                             .deadline_p = &deadline};
        pthread_create(&t[i], NULL, fn, &w[i]);
    }
    double s0 = servers_cpu_s(), c0 = self_cpu_s(), t0 = now_s();
    deadline = t0 + opt.seconds;
    pthread_barrier_wait(&start);
    for (int i = 0; i < nc; i++)
        pthread_join(t[i], NULL);
    double elapsed = now_s() - t0, s1 = servers_cpu_s(), c1 = self_cpu_s();
    pthread_barrier_destroy(&start);
    latencies all = {0};
    long ok = 0, failed = 0, bad = 0, acks = 0, unexpected = 0;
    for (int i = 0; i < nc; i++) {
        for (size_t k = 0; k < w[i].lat.n; k++)
            lat_push(&all, w[i].lat.v[k]);
        ok += w[i].ok;
        failed += w[i].failed;
        acks += w[i].acks;
        unexpected += w[i].unexpected;
        bad = w[i].last_bad_status ? w[i].last_bad_status : bad;
        free(w[i].lat.v);
    }
    double server_cpu = s0 >= 0 && s1 >= 0 ? s1 - s0 : -1;
    double rate = ok / elapsed, rt_rate = acks / elapsed;
    /* Of the server's CPU time, the part its signature checks would take at
     * the measured rate and the in-process cost per check. */
    double share = server_cpu > 0 && !isnan(verify_us) ? rate * elapsed * verify_us / 1e6 /
                                                             server_cpu
                                                       : NAN;
    double p50 = percentile(all.v, all.n, 50), p90 = percentile(all.v, all.n, 90),
           p99 = percentile(all.v, all.n, 99);
    printf("phase=%s mode=%s macs=%d conns=%d seconds=%.2f ok=%ld failed=%ld bad_status=%ld "
           "rate=%.1f round_trips=%ld round_trip_rate=%.1f unexpected=%ld p50_ms=%.3f "
           "p90_ms=%.3f p99_ms=%.3f server_cpu_s=%.2f client_cpu_s=%.2f verify_us=%.1f "
           "verify_share=%.3f\n",
           phase, mode, opt.macs, nc, elapsed, ok, failed, bad, rate, acks, rt_rate, unexpected,
           p50, p90, p99, server_cpu, c1 - c0, verify_us, share);
    fflush(stdout);
    fprintf(stderr, "bench_checkin: %s/%s: %.0f requests/s (%ld ok, %ld failed), p50 %.2f ms, "
                    "p99 %.2f ms, server CPU %.2f s\n",
            phase, mode, rate, ok, failed, p50, p99, server_cpu);
    free(all.v);
    free(w);
    free(t);
    /* Round trips: every queued command must have come back acknowledged. */
    long want = strcmp(phase, "round_trip") == 0 ? (long)opt.macs * opt.commands : acks;
    if (acks != want)
        fprintf(stderr, "bench_checkin: %ld of %ld round trips completed\n", acks, want);
    return failed || unexpected || acks != want ? 1 : 0;
}

int run_checkins(sim_mac *macs, const char *mode, double verify_us)
{
    return run_phase(macs, "checkin", mode, verify_us, checkin_worker);
}

/* ---- command round trips ----------------------------------------------------------- */

static void *round_trip_worker(void *arg)
{
    load_worker *w = arg;
    orchard_macsim_http *h = NULL;
    orchard_macsim_response r = {0};
    char *err = NULL;
    if (orchard_macsim_http_new(&h, NULL, 1, &err)) {
        fprintf(stderr, "bench_checkin: %s\n", err);
        free(err);
        pthread_barrier_wait(w->start);
        return NULL;
    }
    pthread_barrier_wait(w->start);
    /* Every Mac of this worker drains its queue: Idle, then acknowledge each
     * command handed out until the server answers with an empty 200. */
    for (int i = w->id; i < opt.macs; i += opt.concurrency) {
        const sim_mac *m = &w->macs[i];
        int ok = send_req(h, m, &m->idle, ORCHARD_MACSIM_CT_REPORT, w, &r);
        while (ok && r.len > 0) {
            orchard_macsim_command c = {0};
            int k = -1;
            if (orchard_macsim_command_parse(&c, r.body, r.len, NULL) == 0)
                for (int j = 0; j < m->n_acks && k < 0; j++)
                    if (strcmp(m->ack_uuids[j], c.command_uuid) == 0)
                        k = j;
            orchard_macsim_command_clear(&c);
            orchard_macsim_response_clear(&r);
            if (k < 0) {
                w->unexpected++; /* not a command this run queued */
                break;
            }
            ok = send_req(h, m, &m->acks[k], ORCHARD_MACSIM_CT_REPORT, w, &r);
            w->acks += ok;
        }
        orchard_macsim_response_clear(&r);
    }
    orchard_macsim_http_free(h);
    return NULL;
}

static size_t sink(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

/* POST /commands/run: command `uuid` (DeviceInformation) for every Mac. */
static int queue_command(const char *uuid, sim_mac *macs)
{
    plist_t cmd = plist_new_dict(), inner = plist_new_dict(), q = plist_new_array();
    plist_array_append_item(q, plist_new_string("OSVersion"));
    plist_array_append_item(q, plist_new_string("SerialNumber"));
    plist_dict_set_item(inner, "RequestType", plist_new_string("DeviceInformation"));
    plist_dict_set_item(inner, "Queries", q);
    plist_dict_set_item(cmd, "CommandUUID", plist_new_string(uuid));
    plist_dict_set_item(cmd, "Command", inner);
    char *xml = NULL;
    uint32_t xlen = 0;
    plist_to_xml(cmd, &xml, &xlen);
    plist_free(cmd);
    size_t cap = 4 * ((size_t)xlen + 2) / 3 + 64 + (size_t)opt.macs * 48;
    char *json = malloc(cap), *url = malloc(strlen(opt.api) + 64);
    char *auth = malloc(strlen(opt.api_token) + 32);
    int rc = -1;
    if (!xml || !json || !url || !auth)
        goto out;
    size_t n = (size_t)sprintf(json, "{\"command\": \"");
    n += (size_t)EVP_EncodeBlock((unsigned char *)json + n, (unsigned char *)xml, (int)xlen);
    n += (size_t)sprintf(json + n, "\", \"host_uuids\": [");
    for (int i = 0; i < opt.macs; i++)
        n += (size_t)sprintf(json + n, "%s\"%s\"", i ? ", " : "", macs[i].mac->udid);
    sprintf(json + n, "]}");
    sprintf(url, "%s/api/latest/fleet/commands/run", opt.api);
    sprintf(auth, "Authorization: Bearer %s", opt.api_token);
    CURL *c = curl_easy_init();
    struct curl_slist *hd = curl_slist_append(NULL, auth);
    hd = curl_slist_append(hd, "Content-Type: application/json");
    long status = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(c);
    rc = status == 200 ? 0 : -1;
    if (rc)
        fprintf(stderr, "bench_checkin: queueing %s: HTTP %ld\n", uuid, status);
out:
    if (xml)
        plist_to_xml_free(xml);
    free(json);
    free(url);
    free(auth);
    return rc;
}

/* The commands orchard queues itself for a new Mac (its DeviceInformation:
 * CommandUUIDs starting "ORCHARD-") are answered before the clock starts,
 * with acknowledgements signed on the spot, so that the timed phase hands
 * out only the commands it queued. Returns how many were answered, or -1. */
static long drain_own_commands(sim_mac *macs)
{
    orchard_macsim_http *h = NULL;
    orchard_macsim_response r = {0};
    char *err = NULL;
    long answered = 0;
    if (orchard_macsim_http_new(&h, NULL, 1, &err)) {
        fprintf(stderr, "bench_checkin: %s\n", err);
        free(err);
        return -1;
    }
    for (int i = 0; i < opt.macs && answered >= 0; i++) {
        const sim_mac *m = &macs[i];
        const signed_req *next = &m->idle;
        signed_req ack = {0};
        for (;;) {
            int rc = orchard_macsim_http_do(h, "PUT", m->mac->server_url, next->body, next->len,
                                            ORCHARD_MACSIM_CT_REPORT, next->sig, &r, &err);
            signed_req_clear(&ack);
            if (rc || r.status != 200) {
                fprintf(stderr, "bench_checkin: draining orchard's own commands: %s\n",
                        err ? err : "not a 200");
                answered = -1;
                break;
            }
            if (r.len == 0)
                break;
            orchard_macsim_command c = {0};
            char *xml = NULL;
            size_t len = 0;
            int own = orchard_macsim_command_parse(&c, r.body, r.len, NULL) == 0 &&
                      strncmp(c.command_uuid, "ORCHARD-", 8) == 0;
            if (!own || orchard_macsim_report_body(&xml, &len, m->mac, &c, ORCHARD_MACSIM_ACK,
                                                   NULL) ||
                presign(&ack, m->mac, xml, len)) {
                fprintf(stderr, "bench_checkin: a command not orchard's own before the run: %s\n",
                        c.command_uuid ? c.command_uuid : "(unreadable)");
                orchard_macsim_command_clear(&c);
                answered = -1;
                break;
            }
            orchard_macsim_command_clear(&c);
            orchard_macsim_response_clear(&r);
            answered++;
            next = &ack;
        }
        signed_req_clear(&ack);
        orchard_macsim_response_clear(&r);
    }
    free(err);
    orchard_macsim_http_free(h);
    return answered;
}

int run_round_trips(sim_mac *macs)
{
    orchard_macsim_command *cmds = calloc((size_t)opt.commands, sizeof *cmds);
    int rc = 1;
    if (!cmds)
        return 1;
    for (int k = 0; k < opt.commands; k++) {
        unsigned char b[16];
        RAND_bytes(b, sizeof b);
        cmds[k].command_uuid = malloc(40);
        cmds[k].request_type = strdup("DeviceInformation");
        if (!cmds[k].command_uuid || !cmds[k].request_type)
            goto out;
        sprintf(cmds[k].command_uuid, "BE4C0000-%02X%02X-4%01X%02X-8%01X%02X-%02X%02X%02X%02X%02X%02X",
                b[0], b[1], b[2] & 15, b[3], b[4] & 15, b[5], b[6], b[7], b[8], b[9], b[10], b[11]);
    }
    for (int i = 0; i < opt.macs; i++) {
        macs[i].acks = calloc((size_t)opt.commands, sizeof *macs[i].acks);
        macs[i].ack_uuids = calloc((size_t)opt.commands, sizeof *macs[i].ack_uuids);
        if (!macs[i].acks || !macs[i].ack_uuids)
            goto out;
        for (int k = 0; k < opt.commands; k++)
            if (!(macs[i].ack_uuids[k] = strdup(cmds[k].command_uuid)))
                goto out;
    }
    double t0 = now_s();
    long own = drain_own_commands(macs);
    if (own < 0)
        goto out;
    fprintf(stderr, "bench_checkin: %ld of orchard's own commands answered before the run\n", own);
    t0 = now_s();
    if (sign_all(macs, 1, cmds))
        goto out;
    fprintf(stderr, "bench_checkin: %d acknowledgements signed in %.1f s\n",
            opt.macs * opt.commands, now_s() - t0);
    t0 = now_s();
    for (int k = 0; k < opt.commands; k++)
        if (queue_command(cmds[k].command_uuid, macs))
            goto out;
    fprintf(stderr, "bench_checkin: %d commands queued for %d Macs in %.2f s\n", opt.commands,
            opt.macs, now_s() - t0);
    rc = run_phase(macs, "round_trip", "DeviceInformation", NAN, round_trip_worker);
out:
    for (int k = 0; k < opt.commands; k++)
        orchard_macsim_command_clear(&cmds[k]);
    free(cmds);
    return rc;
}
