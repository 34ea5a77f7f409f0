/* apns_standin: plays Apple's push service (HTTP/2 over TLS) for orchard's
 * tests, bench/apns and `make run`. One thread, one epoll loop over the
 * listening socket, the connections, stdin (control lines) and a signalfd.
 *
 *   apns_standin --cert PEM --key PEM [--client-ca PEM] [--client-cert-optional]
 *                [--topic T] [--listen 127.0.0.1:0] [--record FILE] [--max-streams N]
 *
 * --handshake-timeout S (10): a client that has not finished TLS by then is
 * closed. Prints "listening https://HOST:PORT" when ready; on SIGTERM or SIGINT
 * prints "pushes N connections M" and exits 0. */
#include "standin.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* What an epoll event's data.ptr points at, besides a connection slot. */
static char LISTENER, SIGNALS, CONTROL;

typedef struct slot {
    struct slot *prev, *next; /* every open connection, so exit frees them */
    standin_conn *conn;
    int writing; /* EPOLLOUT is in its mask */
} slot;

static slot *slots;

static void slot_unlink(slot *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        slots = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

typedef struct options {
    standin_tls_options tls;
    standin_server_options server;
    const char *listen;
    const char *record;
    double handshake_timeout; /* seconds a client may take to finish TLS */
} options;

static void usage(FILE *f)
{
    fprintf(f, "usage: apns_standin --cert PEM --key PEM [--client-ca PEM] "
               "[--client-cert-optional]\n"
               "                    [--topic T] [--listen HOST:PORT] [--record FILE] "
               "[--max-streams N]\n"
               "                    [--handshake-timeout SECONDS]\n"
               "stdin: fail <token|*> <status> <reason> [count] | clear | stats\n");
}

static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longs[] = {
        {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"client-ca", required_argument, NULL, 'a'},
        {"client-cert-optional", no_argument, NULL, 'o'},
        {"topic", required_argument, NULL, 't'},
        {"listen", required_argument, NULL, 'l'},
        {"record", required_argument, NULL, 'r'},
        {"max-streams", required_argument, NULL, 'm'},
        {"handshake-timeout", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    *o = (options){.listen = "127.0.0.1:0", .server.max_streams = 1000, .handshake_timeout = 10};
    int ch;
    char *end;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'c': o->tls.cert = optarg; break;
        case 'k': o->tls.key = optarg; break;
        case 'a': o->tls.client_ca = optarg; break;
        case 'o': o->tls.client_cert_optional = 1; break;
        case 't': o->server.topic = optarg; break;
        case 'l': o->listen = optarg; break;
        case 'r': o->record = optarg; break;
        case 'm': {
            errno = 0;
            unsigned long n = strtoul(optarg, &end, 10);
            if (errno || *end || n < 1 || n > 100000) {
                fprintf(stderr, "apns_standin: --max-streams takes 1-100000\n");
                return -1;
            }
            o->server.max_streams = (unsigned)n;
            break;
        }
        case 'H':
            o->handshake_timeout = strtod(optarg, &end);
            if (*end || !(o->handshake_timeout > 0 && o->handshake_timeout <= 3600)) {
                fprintf(stderr, "apns_standin: --handshake-timeout takes 0-3600 seconds\n");
                return -1;
            }
            break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind != argc || !o->tls.cert || !o->tls.key) {
        usage(stderr);
        return -1;
    }
    return 0;
}

/* HOST:PORT or [V6]:PORT -> a listening non-blocking socket; prints where. */
static int listen_on(const char *spec)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    size_t hl = colon ? (size_t)(colon - spec) : 0;
    if (!colon || hl == 0 || hl >= sizeof host) {
        fprintf(stderr, "apns_standin: --listen wants HOST:PORT, got %s\n", spec);
        return -1;
    }
    memcpy(host, spec, hl);
    host[hl] = '\0';
    char *h = host;
    if (h[0] == '[' && h[hl - 1] == ']') {
        h[hl - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(h, colon + 1, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "apns_standin: --listen %s: %s\n", spec, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        fprintf(stderr, "apns_standin: cannot listen on %s: %s\n", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    int port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    printf(strchr(h, ':') ? "listening https://[%s]:%d\n" : "listening https://%s:%d\n", h, port);
    fflush(stdout);
    return fd;
}

static int watch(int ep, int fd, uint32_t events, void *ptr)
{
    struct epoll_event ev = {.events = events, .data.ptr = ptr};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Out of descriptors, the listener stays readable and a level-triggered
 * loop would spin: stop watching it until a connection closes. */
static int listener_paused;

static void accept_all(int ep, int lfd, SSL_CTX *ctx, const standin_server_options *opts)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE) && slots) {
            fprintf(stderr, "apns_standin: out of file descriptors; accepting again when a "
                            "connection closes\n");
            epoll_ctl(ep, EPOLL_CTL_DEL, lfd, NULL);
            listener_paused = 1;
            return;
        }
        if (fd < 0)
            return; /* EAGAIN, or a transient failure the next wakeup retries */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        slot *s = calloc(1, sizeof *s);
        if (!s || !(s->conn = standin_conn_new(fd, ctx, opts))) {
            if (!s)
                close(fd);
            free(s);
            continue;
        }
        if (watch(ep, fd, EPOLLIN, s) != 0) {
            standin_conn_free(s->conn);
            free(s);
            continue;
        }
        s->next = slots;
        if (slots)
            slots->prev = s;
        slots = s;
    }
}

static void free_slot(int ep, int lfd, slot *s)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, standin_conn_fd(s->conn), NULL);
    slot_unlink(s);
    standin_conn_free(s->conn);
    free(s);
    if (listener_paused && watch(ep, lfd, EPOLLIN, &LISTENER) == 0)
        listener_paused = 0;
}

static void serve_conn(int ep, int lfd, slot *s)
{
    int want_write = 0;
    if (!standin_conn_io(s->conn, &want_write)) {
        free_slot(ep, lfd, s);
        return;
    }
    if (want_write != s->writing) {
        struct epoll_event ev = {.events = EPOLLIN | (want_write ? EPOLLOUT : 0), .data.ptr = s};
        epoll_ctl(ep, EPOLL_CTL_MOD, standin_conn_fd(s->conn), &ev);
        s->writing = want_write;
    }
}

/* Control lines from stdin; returns 0 at end of input (stop watching). */
static int read_control(void)
{
    static char buf[1024];
    static size_t len;
    static int overflow; /* inside a line too long to keep: skip to its end */
    ssize_t n = read(STDIN_FILENO, buf + len, sizeof buf - 1 - len);
    if (n <= 0)
        return n < 0 && errno == EINTR;
    len += (size_t)n;
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
        *nl = '\0';
        if (!overflow)
            standin_control(start);
        overflow = 0;
        start = nl + 1;
    }
    len -= (size_t)(start - buf);
    memmove(buf, start, len);
    if (len == sizeof buf - 1) {
        fprintf(stderr, "apns_standin: control line too long, ignored\n");
        overflow = 1;
        len = 0;
    }
    return 1;
}

/* Clients that connect and never finish the handshake hold descriptors. */
static void sweep(int ep, int lfd, double timeout)
{
    double now = standin_now();
    for (slot *s = slots, *next; s; s = next) {
        next = s->next;
        if (standin_conn_stalled(s->conn, now, timeout)) {
            fprintf(stderr, "apns_standin: a client closed: no TLS handshake within %g s\n",
                    timeout);
            free_slot(ep, lfd, s);
        }
    }
}

static int run(int ep, int lfd, int sfd, SSL_CTX *ctx, const options *o)
{
    struct epoll_event evs[64];
    const standin_server_options *opts = &o->server;
    double last_sweep = standin_now();
    for (;;) {
        int n = epoll_wait(ep, evs, 64, 1000);
        if (standin_now() - last_sweep >= 1) {
            sweep(ep, lfd, o->handshake_timeout);
            last_sweep = standin_now();
        }
        if (n < 0 && errno != EINTR) {
            perror("apns_standin: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &LISTENER) {
                accept_all(ep, lfd, ctx, opts);
            } else if (p == &SIGNALS) {
                struct signalfd_siginfo si;
                if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
                    return 0;
            } else if (p == &CONTROL) {
                if (!read_control())
                    epoll_ctl(ep, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
            } else {
                serve_conn(ep, lfd, p);
            }
        }
    }
}

int main(int argc, char **argv)
{
    options o;
    if (parse_args(argc, argv, &o) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    int rc = 1, lfd = -1, ep = -1, sfd = -1;
    SSL_CTX *ctx = standin_tls_ctx(&o.tls);
    if (!ctx)
        goto cleanup;
    if (o.record && !(standin_record_file = fopen(o.record, "w"))) {
        fprintf(stderr, "apns_standin: cannot write --record %s: %s\n", o.record, strerror(errno));
        goto cleanup;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (ep < 0 || sfd < 0 || watch(ep, sfd, EPOLLIN, &SIGNALS) != 0) {
        perror("apns_standin: epoll/signalfd");
        goto cleanup;
    }
    /* stdin may be a file or /dev/null, which epoll refuses: no control then. */
    watch(ep, STDIN_FILENO, EPOLLIN, &CONTROL);
    lfd = listen_on(o.listen);
    if (lfd < 0 || watch(ep, lfd, EPOLLIN, &LISTENER) != 0)
        goto cleanup;
    rc = run(ep, lfd, sfd, ctx, &o);
    printf("pushes %lu connections %lu\n", standin_pushes, standin_connections);
    fflush(stdout);
cleanup:
    while (slots) {
        slot *s = slots;
        slot_unlink(s);
        standin_conn_free(s->conn);
        free(s);
    }
    if (lfd >= 0)
        close(lfd);
    if (sfd >= 0)
        close(sfd);
    if (ep >= 0)
        close(ep);
    if (standin_record_file)
        fclose(standin_record_file);
    standin_rules_free();
    SSL_CTX_free(ctx);
    return rc;
}
