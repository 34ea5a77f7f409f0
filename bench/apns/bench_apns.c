/* bench_apns: orchard's APNs path under load. It gets the host API the way
 * a plugin does (a built-in plugin in a registry), opens an outbound HTTP/2
 * client (ABI 1.3, TLS client certificate, N connections), and sends
 * APNs-shaped pushes to the stand-in (tests/support/apns_standin) in batches
 * through http_client_run, counting 200s. bench/apns/run.sh drives it and
 * h2load beside it. Prints one line of key=value pairs. */
#include "host/log.h"
#include "host/plugins/registry.h"

#include <orchard/plugin.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <glib.h>

typedef struct options {
    const char *url, *cert, *key, *ca, *topic, *label;
    long pushes, batch, connections, tokens, warmup;
} options;

static const orchard_host_api *host;

static const orchard_plugin bench_plugin = {
    .abi_version = ORCHARD_ABI_VERSION,
    .struct_size = sizeof(orchard_plugin),
    .name = "bench-apns",
    .version = "0",
    .description = "gets bench_apns the host API",
};

static int bench_entry(const orchard_host_api *h, const orchard_plugin **out)
{
    host = h;
    *out = &bench_plugin;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long num(const char *s, const char *what)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno || *end || n < 1) {
        fprintf(stderr, "bench_apns: %s wants a positive number\n", what);
        exit(2);
    }
    return n;
}

static void parse(int argc, char **argv, options *o)
{
    static const struct option longs[] = {
        {"url", required_argument, NULL, 'u'},     {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},     {"ca", required_argument, NULL, 'a'},
        {"topic", required_argument, NULL, 't'},   {"pushes", required_argument, NULL, 'n'},
        {"batch", required_argument, NULL, 'b'},   {"connections", required_argument, NULL, 'C'},
        {"tokens", required_argument, NULL, 'T'},  {"warmup", required_argument, NULL, 'w'},
        {"label", required_argument, NULL, 'l'},   {0},
    };
    *o = (options){.pushes = 100000, .batch = 5000, .connections = 2, .tokens = 1000,
                   .warmup = 1000, .label = "orchard"};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'u': o->url = optarg; break;
        case 'c': o->cert = optarg; break;
        case 'k': o->key = optarg; break;
        case 'a': o->ca = optarg; break;
        case 't': o->topic = optarg; break;
        case 'l': o->label = optarg; break;
        case 'n': o->pushes = num(optarg, "--pushes"); break;
        case 'b': o->batch = num(optarg, "--batch"); break;
        case 'C': o->connections = num(optarg, "--connections"); break;
        case 'T': o->tokens = num(optarg, "--tokens"); break;
        case 'w': o->warmup = num(optarg, "--warmup"); break;
        default: exit(2);
        }
    }
    if (!o->url || !o->cert || !o->key || !o->ca || !o->topic) {
        fprintf(stderr, "usage: bench_apns --url https://HOST:PORT --cert PEM --key PEM --ca PEM "
                        "--topic T [--pushes N] [--batch N] [--connections N] [--tokens N] "
                        "[--warmup N] [--label L]\n");
        exit(2);
    }
}

static char *slurp(const char *path)
{
    char *text = NULL;
    g_autoptr(GError) err = NULL;
    if (!g_file_get_contents(path, &text, NULL, &err)) {
        fprintf(stderr, "bench_apns: %s\n", err->message);
        exit(1);
    }
    return text;
}

typedef struct tally {
    long ok, refused, failed;
    char first_error[300];
} tally;

/* Send `n` pushes in batches; token i % n_urls. Returns 0 or the run's error. */
static int send_pushes(orchard_http_client *client, orchard_http_call *calls, long batch,
                       char **urls, long n_urls, const char *const *headers, size_t n_headers,
                       const char *body, long n, long *next, tally *t)
{
    for (long done = 0; done < n;) {
        long k = n - done < batch ? n - done : batch;
        for (long i = 0; i < k; i++) {
            calls[i] = (orchard_http_call){
                .abi_version = ORCHARD_ABI_VERSION,
                .struct_size = sizeof(orchard_http_call),
                .method = "POST",
                .url = urls[(*next)++ % n_urls],
                .headers = headers,
                .n_headers = n_headers,
                .body = body,
                .body_len = strlen(body),
            };
        }
        int rc = host->http_client_run(client, calls, (size_t)k);
        if (rc != 0)
            return rc;
        for (long i = 0; i < k; i++) {
            char id[64];
            if (calls[i].result == 0 && calls[i].status == 200 &&
                host->http_call_header(&calls[i], "apns-id", id, sizeof id) == 0) {
                t->ok++;
            } else if (calls[i].result == 0) {
                t->refused++;
                if (!t->first_error[0])
                    snprintf(t->first_error, sizeof t->first_error, "status %d %s",
                             calls[i].status,
                             calls[i].response_body ? (char *)calls[i].response_body : "");
            } else {
                t->failed++;
                if (!t->first_error[0])
                    snprintf(t->first_error, sizeof t->first_error, "%s", calls[i].error);
            }
            host->http_call_reset(&calls[i]);
        }
        done += k;
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    parse(argc, argv, &o);
    g_autofree char *cert = slurp(o.cert), *key = slurp(o.key), *ca = slurp(o.ca);
    g_autofree char *err = NULL;
    orchard_registry *reg = orchard_registry_new();
    if (orchard_registry_add_builtin(reg, bench_entry, &err) != 0) {
        fprintf(stderr, "bench_apns: %s\n", err);
        return 1;
    }
    int rc = 1;
    orchard_http_client *client = NULL;
    orchard_http_client_config cfg = {
        .abi_version = ORCHARD_ABI_VERSION,
        .struct_size = sizeof cfg,
        .cert_pem = cert,
        .key_pem = key,
        .ca_pem = ca,
        .connections = (uint32_t)o.connections,
    };
    if (host->http_client_open(NULL, &cfg, &client) != 0) {
        fprintf(stderr, "bench_apns: http_client_open failed (see the log above)\n");
        goto cleanup;
    }
    /* Same shape as the pusher's: topic, push type, expiration a week out. */
    char topic_h[300], exp_h[64];
    snprintf(topic_h, sizeof topic_h, "apns-topic: %s", o.topic);
    snprintf(exp_h, sizeof exp_h, "apns-expiration: %lld", (long long)time(NULL) + 7 * 86400);
    const char *headers[] = {topic_h, "apns-push-type: mdm", exp_h, "apns-priority: 10",
                             "content-type: application/json"};
    const char *body = "{\"mdm\":\"6e1f7c2a-5b3d-4f8e-9a0b-1c2d3e4f5a6b\"}";
    char **urls = g_new0(char *, o.tokens);
    for (long i = 0; i < o.tokens; i++) {
        /* 32-byte tokens: the index, then a fixed filler, in hex */
        urls[i] = g_strdup_printf("%s/3/device/%08lx%056x", o.url, i, 0);
    }
    orchard_http_call *calls = g_new0(orchard_http_call, o.batch);
    long next = 0;
    tally warm = {0}, t = {0};
    /* Warm-up: connections opened and TLS done before the clock starts. */
    rc = send_pushes(client, calls, o.batch, urls, o.tokens, headers, 5, body, o.warmup, &next,
                     &warm);
    if (rc == 0 && warm.ok != o.warmup) {
        fprintf(stderr, "bench_apns: warm-up: %ld of %ld pushes answered 200 (%s)\n", warm.ok,
                o.warmup, warm.first_error);
        rc = 1;
    }
    double t0 = now_s(), c0 = cpu_s();
    if (rc == 0)
        rc = send_pushes(client, calls, o.batch, urls, o.tokens, headers, 5, body, o.pushes,
                         &next, &t);
    double secs = now_s() - t0, cpu = cpu_s() - c0;
    if (rc != 0) {
        fprintf(stderr, "bench_apns: http_client_run failed: %s\n", orchard_strerror(rc));
    } else {
        printf("label=%s pushes=%ld ok=%ld refused=%ld failed=%ld seconds=%.3f rate=%.1f "
               "client_cpu_s=%.3f batch=%ld connections=%ld%s%s\n",
               o.label, o.pushes, t.ok, t.refused, t.failed, secs, (double)t.ok / secs, cpu,
               o.batch, o.connections, t.first_error[0] ? " first_error=" : "",
               t.first_error[0] ? g_strdelimit(t.first_error, " \n", '_') : "");
        rc = t.ok == o.pushes ? 0 : 1;
    }
    for (long i = 0; i < o.tokens; i++)
        g_free(urls[i]);
    g_free(urls);
    g_free(calls);
cleanup:
    host->http_client_close(client);
    orchard_registry_free(reg);
    return rc;
}
