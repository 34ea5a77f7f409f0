/* SCEP load generator: N threads each send PKCSReq enrollments (POST,
 * keep-alive, one request in flight per thread) to a SCEP URL for S seconds;
 * bench/scep/run.sh runs it against micromdm's scepserver and orchard serve.
 *
 *   bench_scep --url URL --challenge C [--threads 2] [--seconds 10] [--keys 8]
 *              [--label NAME] [--check-every 8] [--calibrate 1] [--max-pool 100000]
 *              [--get] [--cacert PEM] [--insecure] [--server-pid PID]
 *
 * The client shares the machine with the server, and building a request costs
 * it two RSA private-key operations (CSR and SignedData signatures) plus
 * OpenSSL 3.0's slow key decoding: as much CPU as the server spends. So the
 * clock only runs over the HTTP exchanges. Phases, per thread:
 *   1. connect and enroll once, fully checked (untimed);
 *   2. calibrate: enroll for --calibrate s building requests on the fly, to
 *      learn roughly how fast the server goes;
 *   3. build a pool of requests, each with a fresh CSR (unique CN),
 *      transactionID and senderNonce, from a few RSA-2048 keys made at start:
 *      3x the calibrated rate for S seconds (a thread that runs out builds
 *      more on the clock, and says so);
 *   4. timed: send the pool, keep every reply and the round-trip latency;
 *   5. check every reply (untimed): signature by the CA, messageType,
 *      pkiStatus SUCCESS, recipientNonce, transactionID; every
 *      --check-every'th also decrypted and its certificate verified against
 *      the CA for the requested key.
 * enrollments/s = replies that passed 5 / duration of 4. With --server-pid,
 * the server's CPU time (user + system, all threads) over 4 is reported too.
 * One result line on
 * stdout (key=value), a summary on stderr; exit 1 when any enrollment failed. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "tests/support/scep_client.h"

typedef struct {
    const char *url, *challenge, *label, *cacert;
    int threads, keys, check_every, use_get, insecure, server_pid;
    long max_pool;
    double seconds, calibrate;
} options;

typedef struct {
    EVP_PKEY *key;
    X509 *cert; /* self-signed, signs the requests */
} identity;

/* One enrollment of the timed phase. */
typedef struct {
    orchard_scepc_request req;
    const identity *who;
    orchard_scepc_response resp;
    int sent_ok; /* the HTTP exchange completed */
} job;

typedef struct {
    int id;
    pthread_t thread;
    orchard_scepc_http *http;
    int setup_failed;
    long calib_ok, seq;
    job *jobs;
    size_t n_jobs, cap_jobs, n_sent;
    long built_on_clock;
    double *lat_ms;
    long ok, failed, full_checks;
} worker;

static options opt = {
    .label = "scep", .threads = 2, .keys = 8, .check_every = 8, .seconds = 10,
    .calibrate = 1, .max_pool = 100000,
};
static identity *pool;
static X509 *ca;
static char run_tag[9]; /* in every CN: a depot may refuse a second live certificate for a DN */
static pthread_barrier_t phase;
static double calib_deadline, deadline;
static long pool_per_thread;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
static int errors_printed;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime + stime of a process from /proc/PID/stat, in seconds; -1 unknown. */
static double process_cpu(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut, st;
    if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The first few failures are worth reading; the rest only counted. */
static void report(int id, const char *what, const char *msg)
{
    pthread_mutex_lock(&print_lock);
    if (errors_printed++ < 5)
        fprintf(stderr, "bench_scep: thread %d: %s: %s\n", id, what, msg ? msg : "?");
    pthread_mutex_unlock(&print_lock);
}

/* A fresh PKCSReq from the next identity of the pool. */
static int build(worker *w, job *j)
{
    long n = w->seq++;
    const identity *me = &pool[(size_t)(w->id + n * opt.threads) % (size_t)opt.keys];
    unsigned char rnd[16];
    char txid[33], subject[96], *err = NULL;
    RAND_bytes(rnd, sizeof rnd);
    for (int i = 0; i < 16; i++)
        snprintf(txid + 2 * i, 3, "%02x", rnd[i]);
    snprintf(subject, sizeof subject, "/CN=bench-%s-%d-%ld/O=orchard-bench", run_tag, w->id, n);
    orchard_scepc_request_opts o = {
        .key = me->key, .signer_cert = me->cert, .ca = ca, .subject = subject,
        .challenge = opt.challenge, .transaction_id = txid,
    };
    memset(j, 0, sizeof *j);
    j->who = me;
    if (orchard_scepc_request_build(&j->req, &o, &err) != 0) {
        report(w->id, "build", err);
        free(err);
        return -1;
    }
    return 0;
}

static int send_job(worker *w, job *j)
{
    char *err = NULL;
    if (orchard_scepc_pki_operation(w->http, opt.use_get, j->req.der, j->req.der_len, &j->resp, &err) != 0) {
        report(w->id, "PKIOperation", err);
        free(err);
        return -1;
    }
    j->sent_ok = 1;
    return 0;
}

/* Check a reply; 1 when it is a SUCCESS that passed everything. */
static int check_job(worker *w, job *j, int full)
{
    orchard_scepc_reply rep = {0};
    char *err = NULL, msg[96];
    int good = 0;
    if (!j->sent_ok)
        return 0;
    if (j->resp.status != 200) {
        snprintf(msg, sizeof msg, "HTTP %ld", j->resp.status);
        report(w->id, "PKIOperation", msg);
    } else if (orchard_scepc_reply_parse(&rep, j->resp.body, j->resp.len, ca, &j->req,
                                         full ? 0 : ORCHARD_SCEPC_SKIP_DECRYPT, &err) != 0)
        report(w->id, "CertRep", err);
    else if (rep.pki_status != ORCHARD_SCEPC_SUCCESS) {
        snprintf(msg, sizeof msg, "pkiStatus %s, failInfo %s", orchard_scepc_status_name(rep.pki_status),
                 orchard_scepc_fail_info_name(rep.fail_info));
        report(w->id, "CertRep", msg);
    } else if (full && !orchard_scepc_verify_issued(rep.cert, ca, j->who->key, &err))
        report(w->id, "issued certificate", err);
    else
        good = 1;
    free(err);
    orchard_scepc_reply_clear(&rep);
    return good;
}

static void job_clear(job *j)
{
    orchard_scepc_request_clear(&j->req);
    orchard_scepc_response_clear(&j->resp);
}

/* Build, send and check one enrollment now (warm-up and calibration). */
static int enroll_now(worker *w, int full)
{
    job j;
    int good = build(w, &j) == 0 && send_job(w, &j) == 0 && check_job(w, &j, full);
    job_clear(&j);
    return good;
}

static int grow_jobs(worker *w)
{
    if (w->n_jobs < w->cap_jobs)
        return 0;
    size_t cap = w->cap_jobs ? 2 * w->cap_jobs : 1024;
    job *p = realloc(w->jobs, cap * sizeof *p);
    if (p == NULL)
        return -1;
    w->jobs = p;
    w->cap_jobs = cap;
    return 0;
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    char *err = NULL;
    if (orchard_scepc_http_new(&w->http, opt.url, opt.cacert, opt.insecure, &err) != 0) {
        report(w->id, "curl", err);
        w->setup_failed = 1;
    } else if (!enroll_now(w, 1))
        w->setup_failed = 1;
    free(err);
    pthread_barrier_wait(&phase); /* warmed up */
    pthread_barrier_wait(&phase); /* calibration starts */
    while (!w->setup_failed && now() < calib_deadline)
        w->calib_ok += enroll_now(w, 0);
    pthread_barrier_wait(&phase); /* calibration over */
    pthread_barrier_wait(&phase); /* pool size known */
    for (long i = 0; !w->setup_failed && i < pool_per_thread; i++) {
        if (grow_jobs(w) != 0 || build(w, &w->jobs[w->n_jobs]) != 0) {
            w->setup_failed = 1;
            break;
        }
        w->n_jobs++;
    }
    if (!w->setup_failed && (w->lat_ms = malloc(((size_t)pool_per_thread + 1) * 4 * sizeof *w->lat_ms)) == NULL)
        w->setup_failed = 1;
    size_t lat_cap = ((size_t)pool_per_thread + 1) * 4;
    pthread_barrier_wait(&phase); /* pool built */
    pthread_barrier_wait(&phase); /* go */
    while (!w->setup_failed && now() < deadline && w->n_sent < lat_cap) {
        if (w->n_sent == w->n_jobs) {
            if (grow_jobs(w) != 0 || build(w, &w->jobs[w->n_jobs]) != 0)
                break;
            w->n_jobs++;
            w->built_on_clock++;
        }
        job *j = &w->jobs[w->n_sent];
        double t0 = now();
        send_job(w, j);
        w->lat_ms[w->n_sent++] = (now() - t0) * 1e3;
    }
    pthread_barrier_wait(&phase); /* time is up */
    for (size_t i = 0; i < w->n_sent; i++) {
        int full = opt.check_every > 0 && i % (size_t)opt.check_every == 0;
        if (check_job(w, &w->jobs[i], full)) {
            w->ok++;
            w->full_checks += full;
        } else
            w->failed++;
    }
    for (size_t i = 0; i < w->n_jobs; i++)
        job_clear(&w->jobs[i]);
    free(w->jobs);
    orchard_scepc_http_free(w->http);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_scep --url URL --challenge C [--threads N] [--seconds S] [--keys K]\n"
            "                  [--label NAME] [--check-every N] [--calibrate S] [--max-pool N]\n"
            "                  [--get] [--cacert PEM] [--insecure] [--server-pid PID]\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    static const struct option longs[] = {
        {"url", required_argument, 0, 'u'},         {"challenge", required_argument, 0, 'c'},
        {"threads", required_argument, 0, 't'},     {"seconds", required_argument, 0, 's'},
        {"keys", required_argument, 0, 'k'},        {"label", required_argument, 0, 'l'},
        {"check-every", required_argument, 0, 'e'}, {"calibrate", required_argument, 0, 'C'},
        {"max-pool", required_argument, 0, 'm'},    {"get", no_argument, 0, 'g'},
        {"cacert", required_argument, 0, 'a'},      {"insecure", no_argument, 0, 'i'},
        {"server-pid", required_argument, 0, 'p'},  {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'u': opt.url = optarg; break;
        case 'c': opt.challenge = optarg; break;
        case 't': opt.threads = atoi(optarg); break;
        case 's': opt.seconds = atof(optarg); break;
        case 'k': opt.keys = atoi(optarg); break;
        case 'l': opt.label = optarg; break;
        case 'e': opt.check_every = atoi(optarg); break;
        case 'C': opt.calibrate = atof(optarg); break;
        case 'm': opt.max_pool = atol(optarg); break;
        case 'g': opt.use_get = 1; break;
        case 'a': opt.cacert = optarg; break;
        case 'i': opt.insecure = 1; break;
        case 'p': opt.server_pid = atoi(optarg); break;
        default: usage();
        }
    }
    if (opt.url == NULL || optind != argc || opt.threads < 1 || opt.threads > 256 || opt.keys < 1 ||
        opt.seconds <= 0 || opt.check_every < 0 || opt.calibrate <= 0 || opt.max_pool < opt.threads)
        usage();
}

/* GetCACert and GetCACaps once, then the key pool. */
static int prepare(void)
{
    orchard_scepc_http *h = NULL;
    char *err = NULL, *caps = NULL, name[256];
    int rc = orchard_scepc_http_new(&h, opt.url, opt.cacert, opt.insecure, &err);
    if (rc == 0)
        rc = orchard_scepc_get_ca_cert(h, &ca, &err);
    if (rc == 0)
        rc = orchard_scepc_get_ca_caps(h, &caps, &err);
    orchard_scepc_http_free(h);
    if (rc != 0) {
        fprintf(stderr, "bench_scep: %s: %s\n", opt.url, err ? err : "?");
        free(err);
        return -1;
    }
    for (char *p = caps; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    X509_NAME_oneline(X509_get_subject_name(ca), name, sizeof name);
    fprintf(stderr, "bench_scep: %s: CA \"%s\", caps: %s\n", opt.label, name, caps);
    free(caps);
    if ((pool = calloc((size_t)opt.keys, sizeof *pool)) == NULL)
        return -1;
    for (int i = 0; i < opt.keys; i++) {
        char subject[64];
        snprintf(subject, sizeof subject, "/CN=bench-requester-%d", i);
        if (orchard_scepc_rsa_key(&pool[i].key, 2048, &err) != 0 ||
            orchard_scepc_self_signed(&pool[i].cert, pool[i].key, subject, &err) != 0) {
            fprintf(stderr, "bench_scep: key pool: %s\n", err ? err : "?");
            free(err);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    unsigned char rnd[4];
    RAND_bytes(rnd, sizeof rnd);
    snprintf(run_tag, sizeof run_tag, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
    if (prepare() != 0)
        return 1;
    worker *ws = calloc((size_t)opt.threads, sizeof *ws);
    if (ws == NULL || pthread_barrier_init(&phase, NULL, (unsigned)opt.threads + 1) != 0)
        return 1;
    for (int i = 0; i < opt.threads; i++) {
        ws[i].id = i;
        if ((errno = pthread_create(&ws[i].thread, NULL, run_worker, &ws[i])) != 0) {
            perror("bench_scep: pthread_create");
            return 1;
        }
    }
    /* Each wait below pairs with one in run_worker; what main writes between
     * two waits, the workers read after the second. */
    pthread_barrier_wait(&phase); /* warmed up */
    double c0 = now();
    calib_deadline = c0 + opt.calibrate;
    pthread_barrier_wait(&phase); /* calibration starts */
    pthread_barrier_wait(&phase); /* calibration over */
    long calib_ok = 0;
    for (int i = 0; i < opt.threads; i++)
        calib_ok += ws[i].calib_ok;
    double calib_rate = (double)calib_ok / (now() - c0);
    double want = fmax(3 * calib_rate * opt.seconds, 32.0 * opt.threads);
    pool_per_thread = (long)ceil(fmin(want, (double)opt.max_pool) / opt.threads);
    fprintf(stderr, "bench_scep: %s: calibration %.0f/s; building %ld requests per thread\n",
            opt.label, calib_rate, pool_per_thread);
    pthread_barrier_wait(&phase); /* pool size known */
    pthread_barrier_wait(&phase); /* pool built */
    double srv0 = opt.server_pid > 0 ? process_cpu(opt.server_pid) : -1;
    double cpu0 = cpu_seconds(), t0 = now();
    deadline = t0 + opt.seconds;
    pthread_barrier_wait(&phase); /* go */
    pthread_barrier_wait(&phase); /* time is up */
    double wall = now() - t0, cpu = cpu_seconds() - cpu0;
    double srv1 = opt.server_pid > 0 ? process_cpu(opt.server_pid) : -1;
    double srv = srv0 >= 0 && srv1 >= 0 ? srv1 - srv0 : -1;

    long ok = 0, failed = 0, full = 0, on_clock = 0;
    size_t n = 0;
    int setup_failed = 0;
    for (int i = 0; i < opt.threads; i++) {
        pthread_join(ws[i].thread, NULL);
        ok += ws[i].ok;
        failed += ws[i].failed;
        full += ws[i].full_checks;
        on_clock += ws[i].built_on_clock;
        n += ws[i].n_sent;
        setup_failed |= ws[i].setup_failed;
    }
    double *lat = malloc((n ? n : 1) * sizeof *lat);
    if (lat == NULL)
        return 1;
    n = 0;
    for (int i = 0; i < opt.threads; i++) {
        if (ws[i].n_sent > 0)
            memcpy(lat + n, ws[i].lat_ms, ws[i].n_sent * sizeof *lat);
        n += ws[i].n_sent;
    }
    qsort(lat, n, sizeof *lat, cmp_double);
    double rate = (double)ok / wall, p50 = percentile(lat, n, 0.50), p99 = percentile(lat, n, 0.99);
    fprintf(stderr,
            "bench_scep: %s: %ld enrollments in %.2f s with %d threads = %.1f/s; p50 %.2f ms, "
            "p99 %.2f ms; %ld failed; %ld fully checked; %ld built on the clock; "
            "client CPU while timed %.2f s (%.2f cores); server CPU %.2f s\n",
            opt.label, ok, wall, opt.threads, rate, p50, p99, failed, full, on_clock, cpu, cpu / wall, srv);
    printf("label=%s threads=%d seconds=%.2f ok=%ld failed=%ld rate=%.1f p50_ms=%.2f p99_ms=%.2f "
           "client_cpu_s=%.2f server_cpu_s=%.2f calib_rate=%.0f pool=%ld built_on_clock=%ld "
           "full_checks=%ld setup_failed=%d\n",
           opt.label, opt.threads, wall, ok, failed, rate, p50, p99, cpu, srv, calib_rate,
           pool_per_thread * opt.threads, on_clock, full, setup_failed);
    for (int i = 0; i < opt.threads; i++)
        free(ws[i].lat_ms);
    for (int i = 0; i < opt.keys; i++) {
        EVP_PKEY_free(pool[i].key);
        X509_free(pool[i].cert);
    }
    free(pool);
    free(ws);
    free(lat);
    X509_free(ca);
    pthread_barrier_destroy(&phase);
    return failed > 0 || ok == 0 || setup_failed ? 1 : 0;
}
