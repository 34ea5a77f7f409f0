/* Check-in load generator on the Mac simulator (tests/support/mac_sim):
 * N simulated Macs enroll, then C connections send signed check-ins for S
 * seconds, then command round trips (Idle -> command -> Acknowledged) are
 * timed; bench/checkin/run.sh runs it against `orchard serve`.
 *
 *   bench_checkin --enroll-url URL --state DIR [--macs 200] [--concurrency 4]
 *                 [--seconds 20] [--mode mixed|idle|tokenupdate]... [--commands 5]
 *                 [--api URL --api-token T] [--server-pid PID]... [--verify-iters 2000]
 *                 [--reuse]   (skip Macs of --state already enrolled on this server)
 *                 [--split-url BASE]  (every second Mac checks in at BASE: another
 *                                      instance on the same store; bench/store)
 *
 * Signing costs the client one RSA-2048 private-key operation per request, as
 * much CPU as the server spends, on the same two cores. So every request is
 * signed before the clock starts: a Mac's TokenUpdate and Idle bodies do not
 * change between sends, and the round trips' acknowledgements are signed for
 * command UUIDs this program chooses when it queues them. On the clock: HTTP
 * only. One key=value line per phase on stdout; a summary on stderr. */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/cms.h>
#include <openssl/rand.h>
#include <openssl/x509_vfy.h>

#include "bench/checkin/bench_checkin.h"

bench_options opt = {
    .macs = 200, .concurrency = 4, .seconds = 20, .commands = 5, .verify_iters = 2000,
};

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* user + system CPU seconds of a process (all threads), -1 when unreadable. */
double proc_cpu_s(int pid)
{
    if (pid <= 0)
        return -1;
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

double servers_cpu_s(void)
{
    double sum = 0;
    for (int i = 0; i < opt.n_server_pids; i++) {
        double s = proc_cpu_s(opt.server_pids[i]);
        if (s < 0)
            return -1;
        sum += s;
    }
    return opt.n_server_pids ? sum : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double percentile(double *v, size_t n, double p)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)ceil(p / 100.0 * (double)n);
    return v[i ? i - 1 : 0];
}

void lat_push(latencies *l, double ms)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 65536;
        double *g = realloc(l->v, cap * sizeof *g);
        if (!g)
            return; /* drop the sample rather than the run */
        l->v = g;
        l->cap = cap;
    }
    l->v[l->n++] = ms;
}

int presign(signed_req *r, const orchard_macsim_mac *mac, char *xml, size_t len)
{
    char *err = NULL;
    r->body = xml;
    r->len = len;
    if (orchard_macsim_sign(&r->sig, xml, len, mac->cert, mac->key, &err)) {
        fprintf(stderr, "bench_checkin: signing: %s\n", err);
        free(err);
        return -1;
    }
    return 0;
}

void signed_req_clear(signed_req *r)
{
    free(r->body);
    free(r->sig);
    memset(r, 0, sizeof *r);
}

/* ---- enrollment: every Mac of the state folder that is not enrolled yet ---- */

typedef struct {
    sim_mac *macs;
    size_t next;
    int failed;
    pthread_mutex_t lock;
} enroll_pool;

static void *enroll_worker(void *arg)
{
    enroll_pool *p = arg;
    orchard_macsim_http *h = NULL;
    char *err = NULL;
    if (orchard_macsim_http_new(&h, NULL, 1, &err)) {
        fprintf(stderr, "bench_checkin: %s\n", err);
        free(err);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->next++;
        pthread_mutex_unlock(&p->lock);
        if (i >= (size_t)opt.macs)
            break;
        orchard_macsim_mac *m = p->macs[i].mac;
        if (opt.reuse && m->cert && m->key && m->server_url && m->topic)
            continue; /* --reuse: enrolled by an earlier run on this server */
        if (orchard_macsim_enroll(m, h, opt.enroll_url, NULL, &err)) {
            fprintf(stderr, "bench_checkin: enrolling %s: %s\n", m->udid, err);
            free(err);
            err = NULL;
            pthread_mutex_lock(&p->lock);
            p->failed++;
            pthread_mutex_unlock(&p->lock);
        }
    }
    orchard_macsim_http_free(h);
    return NULL;
}

/* Load or make the Macs and enroll them all: 2 threads (RSA key generation
 * and SCEP dominate, and there are 2 cores). */
static int enroll_all(sim_mac *macs)
{
    if (mkdir(opt.state, 0700) != 0) {
        struct stat st;
        if (stat(opt.state, &st) != 0)
            return -1;
    }
    for (int i = 0; i < opt.macs; i++) {
        char *dir = orchard_macsim_mac_dir(opt.state, (unsigned)i), *err = NULL;
        int rc = orchard_macsim_mac_load(&macs[i].mac, dir, &err);
        if (rc == ORCHARD_ENOTFOUND) {
            free(err);
            err = NULL;
            rc = orchard_macsim_mac_new(&macs[i].mac, dir, 1, (unsigned)i, &err);
        }
        free(dir);
        if (rc) {
            fprintf(stderr, "bench_checkin: %s\n", err);
            free(err);
            return -1;
        }
    }
    /* New Macs share a few RSA keys: each still gets its own certificate
     * (what the server binds and checks), and the client skips a key
     * generation per Mac, its dearest step. */
    EVP_PKEY *keys[8] = {0};
    for (int i = 0; i < opt.macs; i++) {
        if (macs[i].mac->cert)
            continue;
        EVP_PKEY **k = &keys[i % 8];
        if (!*k && orchard_scepc_rsa_key(k, 2048, NULL))
            return -1;
        EVP_PKEY_free(macs[i].mac->key);
        EVP_PKEY_up_ref(*k);
        macs[i].mac->key = *k;
    }
    for (int i = 0; i < 8; i++)
        EVP_PKEY_free(keys[i]);
    enroll_pool p = {.macs = macs};
    pthread_mutex_init(&p.lock, NULL);
    pthread_t t[2];
    double t0 = now_s();
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, enroll_worker, &p);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_mutex_destroy(&p.lock);
    fprintf(stderr, "bench_checkin: %d Macs enrolled in %.1f s (%d failed)\n", opt.macs,
            now_s() - t0, p.failed);
    return p.failed ? -1 : 0;
}

/* --split-url: the load split across two instances on one store. Every
 * second Mac checks in at the other instance: its profile's server URL with
 * the enrollment URL's scheme, host and port swapped for BASE. In memory
 * only; the state folder keeps the profile's. */
static int split_macs(sim_mac *macs)
{
    const char *api = strstr(opt.enroll_url, "/api/");
    size_t base = api ? (size_t)(api - opt.enroll_url) : 0;
    for (int i = 1; i < opt.macs; i += 2) {
        orchard_macsim_mac *m = macs[i].mac;
        if (!base || !m->server_url || strncmp(m->server_url, opt.enroll_url, base) != 0) {
            fprintf(stderr, "bench_checkin: --split-url: %s checks in at %s, not under %.*s\n",
                    m->udid, m->server_url ? m->server_url : "(nothing)", (int)base,
                    opt.enroll_url);
            return -1;
        }
        size_t n = strlen(opt.split_url) + strlen(m->server_url + base) + 1;
        char *url = malloc(n);
        if (!url)
            return -1;
        snprintf(url, n, "%s%s", opt.split_url, m->server_url + base);
        free(m->server_url);
        m->server_url = url;
    }
    return 0;
}

/* ---- the share of a check-in spent verifying its signature, in process ----- */

/* What orchard's check-in route does for an identity once the signer's
 * certificate is in its cache (server_plugin/checkin/signer_cache.c),
 * minus the store look-up: parse the CMS without the certificate inside
 * (the route strips it and finds it by hash), verify the signature over
 * the body with the cached certificate. The chain check runs once per
 * certificate, not per check-in, so it is not counted. CPU microseconds
 * per check. */
static double verify_cost_us(const sim_mac *m, X509 *ca)
{
    BIO *in = BIO_new_mem_buf(m->tu.body, (int)m->tu.len);
    CMS_ContentInfo *signed_cms =
        in ? CMS_sign(m->mac->cert, m->mac->key, NULL, in,
                      CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP | CMS_NOCERTS)
           : NULL;
    unsigned char *der = NULL;
    int der_len = signed_cms ? i2d_CMS_ContentInfo(signed_cms, &der) : -1;
    CMS_ContentInfo_free(signed_cms);
    BIO_free(in);
    STACK_OF(X509) *certs = sk_X509_new_null();
    (void)ca;
    if (der_len <= 0 || !certs || !sk_X509_push(certs, m->mac->cert)) {
        OPENSSL_free(der);
        sk_X509_free(certs);
        return NAN;
    }
    int ok = 0;
    /* This thread's CPU time, not the wall clock: the cores are shared with
     * the server and whatever else runs, and the estimate divides by the
     * server's CPU time. */
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    for (int i = 0; i < opt.verify_iters; i++) {
        const unsigned char *p = der;
        CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, der_len);
        BIO *content = BIO_new_mem_buf(m->tu.body, (int)m->tu.len);
        if (cms && content &&
            CMS_verify(cms, certs, NULL, content, NULL,
                       CMS_DETACHED | CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) == 1)
            ok++;
        BIO_free(content);
        CMS_ContentInfo_free(cms);
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    double us = ((double)(c1.tv_sec - c0.tv_sec) * 1e6 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e3) /
                opt.verify_iters;
    OPENSSL_free(der);
    sk_X509_free(certs);
    if (ok != opt.verify_iters) {
        fprintf(stderr, "bench_checkin: only %d of %d in-process verifications passed\n", ok,
                opt.verify_iters);
        return NAN;
    }
    return us;
}

/* CPU microseconds to parse a DER CMS message (d2i_CMS_ContentInfo). */
static double parse_cost_us(const unsigned char *der, long len)
{
    struct timespec c0, c1;
    int ok = 0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    for (int i = 0; i < opt.verify_iters; i++) {
        const unsigned char *p = der;
        CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, len);
        ok += cms != NULL;
        CMS_ContentInfo_free(cms);
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    if (ok != opt.verify_iters)
        return NAN;
    return ((double)(c1.tv_sec - c0.tv_sec) * 1e6 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e3) /
           opt.verify_iters;
}

/* What the signer certificate inside every Mdm-Signature costs to parse:
 * the same body signed by the same key with and without the certificate
 * embedded (OpenSSL 3.0 decodes the certificate's public key on every
 * parse). A server that looked the certificate up by its hash instead of
 * decoding it each time would save the difference. One line on stdout. */
static void parse_costs(const sim_mac *m)
{
    double with = NAN, without = NAN;
    for (int nocerts = 0; nocerts < 2; nocerts++) {
        BIO *in = BIO_new_mem_buf(m->tu.body, (int)m->tu.len);
        CMS_ContentInfo *cms =
            in ? CMS_sign(m->mac->cert, m->mac->key, NULL, in,
                          CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP | (nocerts ? CMS_NOCERTS : 0))
               : NULL;
        unsigned char *der = NULL;
        int n = cms ? i2d_CMS_ContentInfo(cms, &der) : -1;
        if (n > 0)
            *(nocerts ? &without : &with) = parse_cost_us(der, n);
        OPENSSL_free(der);
        CMS_ContentInfo_free(cms);
        BIO_free(in);
    }
    printf("phase=parse mode=cms cms_us=%.1f cms_nocerts_us=%.1f\n", with, without);
    fflush(stdout);
}

/* The SCEP CA, from the issuer of a Mac's certificate: GetCACert once. */
static X509 *fetch_ca(void)
{
    orchard_scepc_http *h = NULL;
    X509 *ca = NULL;
    char *err = NULL, *url = NULL;
    const char *q = strstr(opt.enroll_url, "/api/");
    if (q && (url = malloc((size_t)(q - opt.enroll_url) + 32))) {
        sprintf(url, "%.*s/mdm/apple/scep", (int)(q - opt.enroll_url), opt.enroll_url);
        if (orchard_scepc_http_new(&h, url, NULL, 1, &err) == 0)
            orchard_scepc_get_ca_cert(h, &ca, &err);
    }
    if (err)
        fprintf(stderr, "bench_checkin: GetCACert: %s\n", err);
    free(err);
    free(url);
    orchard_scepc_http_free(h);
    return ca;
}

/* ---- arguments and the phases ------------------------------------------------ */

static int parse_args(int argc, char **argv)
{
    static const struct option longs[] = {
        {"enroll-url", required_argument, 0, 'u'}, {"state", required_argument, 0, 's'},
        {"macs", required_argument, 0, 'n'},       {"concurrency", required_argument, 0, 'c'},
        {"seconds", required_argument, 0, 't'},    {"mode", required_argument, 0, 'm'},
        {"commands", required_argument, 0, 'k'},   {"api", required_argument, 0, 'a'},
        {"api-token", required_argument, 0, 'T'},  {"server-pid", required_argument, 0, 'p'},
        {"verify-iters", required_argument, 0, 'v'}, {"reuse", no_argument, 0, 'r'},
        {"split-url", required_argument, 0, 'S'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'u': opt.enroll_url = optarg; break;
        case 's': opt.state = optarg; break;
        case 'n': opt.macs = atoi(optarg); break;
        case 'c': opt.concurrency = atoi(optarg); break;
        case 't': opt.seconds = atof(optarg); break;
        case 'k': opt.commands = atoi(optarg); break;
        case 'a': opt.api = optarg; break;
        case 'T': opt.api_token = optarg; break;
        case 'p':
            if (opt.n_server_pids >= 4)
                return -1;
            opt.server_pids[opt.n_server_pids++] = atoi(optarg);
            break;
        case 'S': opt.split_url = optarg; break;
        case 'v': opt.verify_iters = atoi(optarg); break;
        case 'r': opt.reuse = 1; break;
        case 'm':
            if (opt.n_modes >= 3 || (strcmp(optarg, "mixed") && strcmp(optarg, "idle") &&
                                     strcmp(optarg, "tokenupdate")))
                return -1;
            opt.modes[opt.n_modes++] = optarg;
            break;
        default: return -1;
        }
    }
    if (!opt.enroll_url || !opt.state || opt.macs < 1 || opt.concurrency < 1 ||
        opt.seconds <= 0 || opt.commands < 0 || opt.verify_iters < 1 || optind != argc)
        return -1;
    if (opt.n_modes == 0)
        opt.modes[opt.n_modes++] = "mixed";
    return 0;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv)) {
        fprintf(stderr, "usage: bench_checkin --enroll-url URL --state DIR [--macs N] "
                        "[--concurrency C] [--seconds S] [--mode mixed|idle|tokenupdate]... "
                        "[--commands K --api URL --api-token T] [--server-pid PID]... "
                        "[--verify-iters N] [--reuse] [--split-url BASE]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    FILE *devnull = fopen("/dev/null", "w");
    orchard_macsim_events_to(devnull ? devnull : stderr);
    sim_mac *macs = calloc((size_t)opt.macs, sizeof *macs);
    int rc = 1;
    if (!macs || enroll_all(macs) || (opt.split_url && split_macs(macs)) ||
        presign_checkins(macs))
        goto out;
    X509 *ca = fetch_ca();
    double verify_us = ca ? verify_cost_us(&macs[0], ca) : NAN;
    parse_costs(&macs[0]);
    X509_free(ca);
    rc = 0;
    for (int i = 0; i < opt.n_modes; i++)
        rc |= run_checkins(macs, opt.modes[i], verify_us);
    if (opt.commands > 0 && opt.api && opt.api_token)
        rc |= run_round_trips(macs);
    else if (opt.commands > 0)
        fprintf(stderr, "bench_checkin: no --api/--api-token: command round trips skipped\n");
out:
    for (int i = 0; macs && i < opt.macs; i++) {
        signed_req_clear(&macs[i].tu);
        signed_req_clear(&macs[i].idle);
        for (int k = 0; k < macs[i].n_acks; k++)
            signed_req_clear(&macs[i].acks[k]);
        free(macs[i].acks);
        for (int k = 0; k < macs[i].n_acks; k++)
            free(macs[i].ack_uuids[k]);
        free(macs[i].ack_uuids);
        orchard_macsim_mac_free(macs[i].mac);
    }
    free(macs);
    if (devnull)
        fclose(devnull);
    curl_global_cleanup();
    return rc;
}
