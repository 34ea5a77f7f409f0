/* dep_sim: Apple's Device Assignment service for one MDM server account,
 * over plain HTTP, for orchard's tests, bench/dep and `make run`; and the
 * maker of the .p7m server token ABM would hand out for that account.
 *
 *   dep_sim serve --credentials FILE.json [--listen 127.0.0.1:0] [--port-file F]
 *                 [--devices N] [--seed S] [--session-ttl 60s] [--cursor-ttl 7d] [--log F]
 *   dep_sim token --cert ABM_CERT.pem --credentials FILE.json --out token.p7m
 *                 [--expiry RFC3339]
 *
 * serve prints "listening http://HOST:PORT" when ready and exits 0 on
 * SIGTERM or SIGINT. README.md describes the service and its controls. */
#include "dep_sim.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"

typedef struct serve_args {
    const char *listen, *port_file, *credentials, *log;
} serve_args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dep_sim serve --credentials FILE.json [--listen HOST:PORT] [--port-file F]\n"
            "                     [--devices N] [--seed S] [--session-ttl 60s] "
            "[--cursor-ttl 7d] [--log F]\n"
            "       dep_sim token --cert ABM_CERT.pem --credentials FILE.json --out token.p7m\n"
            "                     [--expiry RFC3339]\n");
}

/* "90", "90s", "5m", "2h", "7d" -> seconds; -1 when not that. */
static gint64 duration(const char *s)
{
    char *end;
    errno = 0;
    gint64 n = g_ascii_strtoll(s, &end, 10);
    if (errno || end == s || n < 0 || n > 10L * 365 * 86400)
        return -1;
    gint64 unit = 1;
    if (*end == 'm')
        unit = 60;
    else if (*end == 'h')
        unit = 3600;
    else if (*end == 'd')
        unit = 86400;
    else if (*end && *end != 's')
        return -1;
    if (*end && end[1])
        return -1;
    return n * unit;
}

static int number(const char *s, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse_serve(int argc, char **argv, serve_args *a, depsim_options *o)
{
    static const struct option longs[] = {
        {"listen", required_argument, NULL, 'l'},      {"port-file", required_argument, NULL, 'p'},
        {"credentials", required_argument, NULL, 'c'}, {"devices", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},        {"session-ttl", required_argument, NULL, 't'},
        {"cursor-ttl", required_argument, NULL, 'u'},  {"log", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},              {0},
    };
    *a = (serve_args){.listen = "127.0.0.1:0"};
    o->session_ttl = 60;
    o->cursor_ttl = 7 * 86400;
    o->seed = 1;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'l': a->listen = optarg; break;
        case 'p': a->port_file = optarg; break;
        case 'c': a->credentials = optarg; break;
        case 'L': a->log = optarg; break;
        case 'n':
            if (number(optarg, 2000000, &o->devices)) {
                fprintf(stderr, "dep_sim: --devices takes 0-2000000\n");
                return -1;
            }
            break;
        case 's':
            if (number(optarg, 0xFFFFFFFFu, &o->seed)) {
                fprintf(stderr, "dep_sim: --seed takes a number\n");
                return -1;
            }
            break;
        case 't':
        case 'u':
            if ((ch == 't' ? (o->session_ttl = duration(optarg))
                           : (o->cursor_ttl = duration(optarg))) < 0) {
                fprintf(stderr, "dep_sim: %s takes a duration (90, 90s, 5m, 2h, 7d)\n",
                        ch == 't' ? "--session-ttl" : "--cursor-ttl");
                return -1;
            }
            break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind != argc || !a->credentials) {
        usage(stderr);
        return -1;
    }
    return depsim_read_credentials(a->credentials, o);
}

/* HOST:PORT (numeric; [V6]:PORT) -> a socket address. */
static int address(const char *spec, struct sockaddr_storage *ss)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec)
        return -1;
    g_autofree char *host = g_strndup(spec, (gsize)(colon - spec));
    char *h = host;
    size_t hl = strlen(h);
    if (h[0] == '[' && h[hl - 1] == ']') {
        h[hl - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(h, colon + 1, &hints, &ai) != 0)
        return -1;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

/* Written whole then renamed, so a reader never sees half a number. */
static int write_port_file(const char *path, unsigned port)
{
    g_autofree char *tmp = g_strdup_printf("%s.tmp", path);
    g_autofree char *text = g_strdup_printf("%u\n", port);
    if (!g_file_set_contents(tmp, text, -1, NULL) || rename(tmp, path) != 0) {
        fprintf(stderr, "dep_sim: cannot write --port-file %s\n", path);
        return -1;
    }
    return 0;
}

static int serve(int argc, char **argv)
{
    serve_args a;
    sim = g_new0(depsim, 1);
    int rc = 1;
    struct MHD_Daemon *d = NULL;
    char *host = NULL;
    if (parse_serve(argc, argv, &a, &sim->opt) != 0)
        goto cleanup;
    if (a.log && !(sim->log = fopen(a.log, "a"))) {
        fprintf(stderr, "dep_sim: cannot write --log %s: %s\n", a.log, strerror(errno));
        goto cleanup;
    }
    struct sockaddr_storage ss = {0};
    if (address(a.listen, &ss) != 0) {
        fprintf(stderr, "dep_sim: --listen wants a numeric HOST:PORT, got %s\n", a.listen);
        goto cleanup;
    }
    depsim_reset();
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    pthread_sigmask(SIG_BLOCK, &mask, NULL); /* before MHD's thread starts: it inherits it */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    d = MHD_start_daemon(flags, 0, NULL, NULL, depsim_access, NULL, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, depsim_completed,
                         NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_END);
    const union MHD_DaemonInfo *info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!info) {
        fprintf(stderr, "dep_sim: cannot listen on %s\n", a.listen);
        goto cleanup;
    }
    host = g_strndup(a.listen, (gsize)(strrchr(a.listen, ':') - a.listen));
    if (a.port_file && write_port_file(a.port_file, info->port) != 0)
        goto cleanup;
    printf("listening http://%s:%u\n", host, info->port);
    fflush(stdout);
    int sig = 0;
    sigwait(&mask, &sig);
    rc = 0;
cleanup:
    if (d)
        MHD_stop_daemon(d);
    g_free(host);
    depsim_free();
    return rc;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return serve(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "token") == 0)
        return depsim_token_main(argc - 1, argv + 1);
    usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
    return 2;
}
