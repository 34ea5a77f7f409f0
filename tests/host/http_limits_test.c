/* The http_limits suite: what probing `orchard serve` found, each as a
 * regression test (2026-12). Bodies buffered across requests stay under
 * server.max_buffered_bytes (later ones get 503 with Retry-After before their
 * body is read) and the memory goes back after the burst (the RSS of a
 * spawned `orchard serve`); one address cannot hold every connection, and
 * the total is capped; a request that trickles in misses its deadline and is
 * cut off; ambiguous framing (two Content-Lengths, or one with chunked) gets
 * 400 and a closed connection. Clients are raw sockets: these requests are
 * ones a well-behaved client library would not send. Serial: it holds many
 * connections and reads a process's memory. */
#include "tests/suites.h"

#include "host/http/http_settings.h"
#include "tests/host/http_fixture.h"

#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MODULE_PATH BUILD_DIR "/modules/orchard_http.so"
#define MIB ((size_t)1024 * 1024)

static const char *const limit_keys[] = {
    "server.max_connections", "server.max_connections_per_address", "server.request_timeout",
    "server.max_buffered_bytes",
};

static int suite_init(void)
{
    if (http_fixture_init() != 0)
        return 1;
    http_config("http_module", MODULE_PATH);
    http_config("server.address", "127.0.0.1:0");
    http_config("server.threads", "2");
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : 1;
}

static int suite_cleanup(void)
{
    http_config("http_module", NULL);
    http_config("server.address", NULL);
    http_config("server.threads", NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(limit_keys); i++)
        http_config(limit_keys[i], NULL);
    http_fixture_cleanup();
    curl_global_cleanup();
    return 0;
}

/* ---- raw sockets (url_port, raw_connect, raw_send, raw_read: http_fixture.h) */

/* How many status lines (answers) `got` holds. */
static unsigned answers(const GString *got)
{
    unsigned n = 0;
    for (const char *p = got->str; (p = strstr(p, "HTTP/1.1 ")); p++)
        n++;
    return n;
}

/* One complete GET on an open connection, kept alive; 1 when it got 200. */
static int raw_get_ok(int fd, const char *path)
{
    g_autoptr(GString) got = g_string_new(NULL);
    g_autofree char *req = g_strdup_printf("GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    return raw_send(fd, req) && !raw_read(fd, 5000, got, "\r\n\r\n") &&
           g_str_has_prefix(got->str, "HTTP/1.1 200 ");
}

#define SERVE_OR_FAIL(s)                                                    \
    http_server *s = http_server_start();                                  \
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->url)

/* ---- framing */

/* Send `req` on a new connection; what came back before the server closed
 * it (or 5 s passed), and whether it did close. */
static int exchange(unsigned port, const char *req, GString *got)
{
    int fd = raw_connect(NULL, port), closed = 0;
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_TRUE(raw_send(fd, req));
    closed = raw_read(fd, 5000, got, NULL);
    close(fd);
    return closed;
}

#define SMUGGLED "GET /any HTTP/1.1\r\nHost: t\r\n\r\n"

static void test_http_limits__ambiguous_framing_refused(void)
{
    static const char *const refused[] = {
        /* two lengths: the first (0) would end the body and run the smuggled GET */
        "POST /mdm/apple/scep HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
        "Content-Length: 31\r\n\r\n" SMUGGLED,
        /* the same length twice: refused as well (http_settings/docs say why) */
        "POST /mdm/apple/scep HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
        "Content-Length: 5\r\n\r\nhello",
        /* a length beside chunked: libmicrohttpd would go by the chunks */
        "POST /mdm/apple/scep HTTP/1.1\r\nHost: t\r\nContent-Length: 40\r\n"
        "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" SMUGGLED,
        "POST /mdm/apple/scep HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
        "Content-Length: 5\r\n\r\nhello",
        /* an encoding libmicrohttpd can't frame: it would read to the end */
        "POST /mdm/apple/scep HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    };
    SERVE_OR_FAIL(s);
    unsigned port = url_port(s->url);

    for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
        g_autoptr(GString) got = g_string_new(NULL);
        int closed = exchange(port, refused[i], got);
        int ok = g_str_has_prefix(got->str, "HTTP/1.1 400 ") && answers(got) == 1 && closed;
        if (!ok)
            fprintf(stderr, "\nframing case %zu: closed=%d got:\n%s\n", i, closed, got->str);
        CU_ASSERT_TRUE(ok);
        CU_ASSERT_PTR_NULL(strstr(got->str, "PATCH")); /* nothing of /any's answer */
    }
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
}

static void test_http_limits__plain_framing_served(void)
{
    SERVE_OR_FAIL(s);
    g_autoptr(GString) got = g_string_new(NULL);
    int fd = raw_connect(NULL, url_port(s->url));

    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_TRUE(raw_send(fd, "POST /mdm/apple/scep HTTP/1.1\r\nHost: t\r\n"
                                "Content-Length: 5\r\n\r\nhello"));
    CU_ASSERT_FALSE(raw_read(fd, 5000, got, "hello"));
    CU_ASSERT_TRUE(g_str_has_prefix(got->str, "HTTP/1.1 200 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(got->str, "X-Body-Len: 5"));
    g_string_truncate(got, 0);
    CU_ASSERT_TRUE(raw_send(fd, "POST /mdm/apple/scep HTTP/1.1\r\nHost: t\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
    CU_ASSERT_FALSE(raw_read(fd, 5000, got, "hello")); /* the same connection, still open */
    CU_ASSERT_TRUE(g_str_has_prefix(got->str, "HTTP/1.1 200 "));
    close(fd);
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
}

/* ---- connections per address and in total */

/* n connections from `from`, each with one request answered (so the server
 * has surely counted it), then kept open. */
static int hold(const char *from, unsigned port, int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((fds[i] = raw_connect(from, port)) < 0 || !raw_get_ok(fds[i], "/mdm/apple"))
            return 0;
    return 1;
}

static void release(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* A new connection from `from` gets a 200 within `ms` (retrying). */
static int served_within(const char *from, unsigned port, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    do {
        int fd = raw_connect(from, port), ok = fd >= 0 && raw_get_ok(fd, "/mdm/apple");
        if (fd >= 0)
            close(fd);
        if (ok)
            return 1;
        g_usleep(50 * 1000);
    } while (g_get_monotonic_time() < end);
    return 0;
}

static void test_http_limits__per_address_limit(void)
{
    int fds[4] = {-1, -1, -1, -1};

    http_config("server.max_connections_per_address", "4");
    SERVE_OR_FAIL(s);
    unsigned port = url_port(s->url);
    CU_ASSERT_TRUE(hold("127.0.0.1", port, fds, 4));

    /* A fifth from the same address is closed unanswered... */
    g_autoptr(GString) got = g_string_new(NULL);
    int fd = raw_connect("127.0.0.1", port);
    CU_ASSERT_FATAL(fd >= 0);
    raw_send(fd, "GET /mdm/apple HTTP/1.1\r\nHost: t\r\n\r\n");
    CU_ASSERT_TRUE(raw_read(fd, 5000, got, NULL));
    CU_ASSERT_EQUAL(answers(got), 0);
    close(fd);
    /* ...while another address is served, and sees itself as that address. */
    http_response r;
    g_autofree char *url = g_strconcat(s->url, "/mdm/apple/scep", NULL);
    CURL *c = http_client(url, &r, NULL);
    curl_easy_setopt(c, CURLOPT_INTERFACE, "127.0.0.2");
    http_perform(c, &r);
    CU_ASSERT_EQUAL(r.code, CURLE_OK);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body->str, "remote=127.0.0.2"));
    http_response_clear(&r);
    /* Once one of the four goes, the first address gets a slot back. */
    close(fds[0]);
    fds[0] = -1;
    CU_ASSERT_TRUE(served_within("127.0.0.1", port, 5000));
    release(fds, 4);
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
    http_config("server.max_connections_per_address", NULL);
}

static void test_http_limits__total_limit(void)
{
    int fds[4] = {-1, -1, -1, -1};

    http_config("server.max_connections", "4");
    http_config("server.max_connections_per_address", "0");
    SERVE_OR_FAIL(s);
    unsigned port = url_port(s->url);
    CU_ASSERT_TRUE(hold(NULL, port, fds, 4));

    /* The fifth waits in the listen backlog: no answer while four are open. */
    g_autoptr(GString) got = g_string_new(NULL);
    int fd = raw_connect(NULL, port);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_TRUE(raw_send(fd, "GET /mdm/apple HTTP/1.1\r\nHost: t\r\n\r\n"));
    CU_ASSERT_FALSE(raw_read(fd, 1000, got, "\r\n\r\n"));
    CU_ASSERT_EQUAL(answers(got), 0);
    /* One goes: the fifth is taken and answered. */
    close(fds[3]);
    fds[3] = -1;
    CU_ASSERT_FALSE(raw_read(fd, 5000, got, "\r\n\r\n"));
    CU_ASSERT_TRUE(g_str_has_prefix(got->str, "HTTP/1.1 200 "));
    close(fd);
    release(fds, 4);
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
    http_config("server.max_connections", NULL);
    http_config("server.max_connections_per_address", NULL);
}

/* ---- the request deadline */

/* Send `head`, then one byte of `drip` every 200 ms; stop when the server
 * closes the connection. Returns the seconds until it did, or -1 when it
 * never did (the whole drip went out). */
static double trickle(unsigned port, const char *head, const char *drip)
{
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(GString) got = g_string_new(NULL);
    int fd = raw_connect(NULL, port), closed = 0;

    if (fd < 0 || !raw_send(fd, head)) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    for (const char *p = drip; *p && !closed; p++)
        closed = !raw_send_n(fd, p, 1) || raw_read(fd, 200, got, NULL);
    if (!closed)
        closed = raw_read(fd, 200, got, NULL);
    close(fd);
    CU_ASSERT_EQUAL(answers(got), 0); /* cut off, not answered */
    return closed ? (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC : -1;
}

/* 40 bytes at 200 ms: 8 s of trickling, against a 2 s deadline. */
#define DRIP "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void test_http_limits__trickled_request_cut_off(void)
{
    http_config("server.request_timeout", "2s");
    SERVE_OR_FAIL(s);
    unsigned port = url_port(s->url);

    /* Every byte resets libmicrohttpd's idle timeout (30 s): only the
     * deadline ends these. Not before it, and long before the drip ends. */
    double headers = trickle(port, "GET /mdm/apple HTTP/1.1\r\nHost: t\r\nX-Pad: ", DRIP);
    CU_ASSERT_TRUE(headers >= 1.5);
    double body = trickle(port, "POST /mdm/apple/scep HTTP/1.1\r\nHost: t\r\n"
                                "Content-Length: 100\r\n\r\n", DRIP);
    CU_ASSERT_TRUE(body >= 1.5);
    /* Meanwhile and after, other requests are served. */
    CU_ASSERT_TRUE(served_within(NULL, port, 5000));
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
    http_config("server.request_timeout", NULL);
}

static void test_http_limits__deadline_spares_handler_time(void)
{
    http_response r;

    /* /slow takes 1.5 s: once the request is in, the clock stops. */
    http_config("server.request_timeout", "1s");
    SERVE_OR_FAIL(s);
    http_fetch_url(s->url, "GET", "/slow", &r, NULL);
    CU_ASSERT_EQUAL(r.code, CURLE_OK);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body->str, "slow done");
    http_response_clear(&r);
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
    http_config("server.request_timeout", NULL);
}

/* ---- the settings behind the limits */

/* Serve with key = value; serve's result (stopped at once when it started). */
static int serve_with(const char *key, const char *value)
{
    http_config(key, value);
    http_server *s = http_server_start();
    int rc = http_server_finish(s, NULL);
    http_config(key, NULL);
    return rc;
}

static void test_http_limits__settings_declared_and_checked(void)
{
    size_t n = 0;
    const orchard_setting *const *d = orchard_http_settings_decl(&n);
    const char *want[] = {"server.max_connections", "server.max_connections_per_address",
                          "server.request_timeout", "server.max_buffered_bytes",
                          "server.tls_client_ca"};

    for (size_t w = 0; w < G_N_ELEMENTS(want); w++) {
        const orchard_setting *found = NULL;
        for (size_t i = 0; i < n; i++)
            if (strcmp(d[i]->key, want[w]) == 0)
                found = d[i];
        CU_ASSERT_PTR_NOT_NULL(found);
        if (found)
            CU_ASSERT_EQUAL(found->struct_size, sizeof(orchard_setting));
    }
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_TRUE(g_str_has_prefix(d[i]->key, "server."));
        if (strcmp(d[i]->key, "server.tls_cert") == 0)
            CU_ASSERT_STRING_EQUAL(d[i]->aliases, "server.cert");
    }
    /* Units parse; values out of range are refused by key before listening. */
    CU_ASSERT_EQUAL(serve_with("server.max_buffered_bytes", "3MiB"), 0);
    CU_ASSERT_EQUAL(serve_with("server.max_buffered_bytes", "1MiB"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(serve_with("server.max_buffered_bytes", "64 apples"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(serve_with("server.request_timeout", "1m30s"), 0);
    CU_ASSERT_EQUAL(serve_with("server.request_timeout", "10ms"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(serve_with("server.request_timeout", "soon"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(serve_with("server.max_connections", "1"), ORCHARD_EINVAL); /* < threads */
    CU_ASSERT_EQUAL(serve_with("server.max_connections_per_address", "-1"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(serve_with("server.connection_timeout", "45"), 0); /* seconds, as before */
}

/* ---- memory: the buffered-body budget, and memory given back */

/* A spawned `orchard serve` (the real binary, its plugins and module). */
typedef struct {
    GPid pid;
    int out_fd; /* its stdout, open till it exits (it prints there when it stops) */
    char *dir;
    char *url;
    char *log; /* its stderr, kept in dir */
} serve_proc;

/* The URL from "... listening on URL" on the child's stdout; NULL at EOF. */
static char *read_url(int fd)
{
    g_autoptr(GString) out = g_string_new(NULL);
    char buf[512];
    ssize_t k;

    while ((k = read(fd, buf, sizeof buf)) > 0 || (k < 0 && errno == EINTR)) {
        const char *at, *eol;
        if (k > 0)
            g_string_append_len(out, buf, k);
        if ((at = strstr(out->str, "listening on ")) && (eol = strchr(at, '\n'))) {
            at += strlen("listening on ");
            return g_strndup(at, (gsize)(eol - at));
        }
    }
    return NULL;
}

static int serve_spawn(serve_proc *p, const char *settings)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *cfg = NULL, *yml = NULL;
    int log_fd, out_fd = -1, ok;

    if (!(p->dir = g_dir_make_tmp("orchard-http-mem-XXXXXX", NULL)))
        return 0;
    cfg = g_build_filename(p->dir, "orchard.yml", NULL);
    p->log = g_build_filename(p->dir, "serve.log", NULL);
    yml = g_strdup_printf("server:\n  address: 127.0.0.1:0\n  threads: 2\n%s"
                          "store:\n  sqlite: %s/orchard.db\n", settings, p->dir);
    if (!g_file_set_contents(cfg, yml, -1, NULL) ||
        (log_fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return 0;
    const char *argv[] = {ORCHARD_BIN, "serve", "--config", cfg, NULL};
    ok = g_spawn_async_with_pipes_and_fds(p->dir, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                          NULL, -1, -1, log_fd, NULL, NULL, 0, &p->pid, NULL,
                                          &out_fd, NULL, &err);
    close(log_fd);
    if (!ok) {
        fprintf(stderr, "http_limits: cannot run orchard serve: %s\n", err->message);
        p->pid = 0;
        return 0;
    }
    p->out_fd = out_fd;
    p->url = read_url(out_fd); /* the rest of stdout fits the pipe */
    return p->url != NULL;
}

static void serve_end(serve_proc *p)
{
    g_autofree char *db = p->dir ? g_build_filename(p->dir, "orchard.db", NULL) : NULL;
    g_autofree char *cfg = p->dir ? g_build_filename(p->dir, "orchard.yml", NULL) : NULL;
    int status = -1;

    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
            ;
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        g_autofree char *log = NULL;
        if (!ok && g_file_get_contents(p->log, &log, NULL, NULL))
            fprintf(stderr, "\nhttp_limits: orchard serve ended with status %d:\n%s\n", status,
                    log);
        CU_ASSERT_TRUE(ok);
        g_spawn_close_pid(p->pid);
        close(p->out_fd);
    }
    if (p->dir) {
        const char *extra[] = {"-wal", "-shm", ""};
        for (size_t i = 0; i < G_N_ELEMENTS(extra); i++) {
            g_autofree char *f = g_strconcat(db, extra[i], NULL);
            g_unlink(f);
        }
        g_unlink(cfg);
        g_unlink(p->log);
        g_rmdir(p->dir);
    }
    g_free(p->dir);
    g_free(p->url);
    g_free(p->log);
}

/* The process's resident set in KiB, -1 when unknown. */
static long rss_kib(const serve_proc *p)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)p->pid);
    g_autofree char *text = NULL;
    const char *at;

    if (!g_file_get_contents(path, &text, NULL, NULL) || !(at = strstr(text, "VmRSS:")))
        return -1;
    return atol(at + strlen("VmRSS:"));
}

#define BURST 64
#define BODY (2 * MIB)
#define BUDGET (16 * MIB)

/* Declare a BODY-byte body and wait for the verdict on the headers: 1 after
 * "100 Continue" (then send all but its last byte, and stall), 0 after a 503
 * with Retry-After, -1 otherwise. */
static int stall_one(unsigned port, int *fd, const char *filler)
{
    g_autoptr(GString) got = g_string_new(NULL);
    g_autofree char *head = g_strdup_printf("POST /mdm/apple/scep HTTP/1.1\r\nHost: t\r\n"
                                            "Content-Length: %zu\r\nExpect: 100-continue\r\n"
                                            "\r\n", BODY);
    if ((*fd = raw_connect(NULL, port)) < 0 || !raw_send(*fd, head))
        return -1;
    raw_read(*fd, 5000, got, "\r\n\r\n");
    if (g_str_has_prefix(got->str, "HTTP/1.1 100 "))
        return raw_send_n(*fd, filler, BODY - 1) ? 1 : -1;
    if (g_str_has_prefix(got->str, "HTTP/1.1 503 ") && strstr(got->str, "Retry-After: "))
        return 0;
    fprintf(stderr, "\nhttp_limits: unexpected answer: %s\n", got->str);
    return -1;
}

static void test_http_limits__buffered_bodies_bounded(void)
{
    serve_proc p = {.out_fd = -1};
    int fds[BURST], taken = 0, busy = 0;
    g_autofree char *filler = g_malloc(BODY);
    g_autofree char *settings = g_strdup_printf("  max_buffered_bytes: %zuMiB\n"
                                                "  max_connections_per_address: 0\n",
                                                BUDGET / MIB);

    memset(filler, 'x', BODY);
    CU_ASSERT_FATAL(serve_spawn(&p, settings));
    unsigned port = url_port(p.url);
    for (int i = 0; i < 20; i++) { /* warm up: threads, pools, the store */
        int fd = raw_connect(NULL, port);
        raw_get_ok(fd, "/nothing");
        close(fd);
    }
    long base = rss_kib(&p);
    for (int i = 0; i < BURST; i++) {
        int v = stall_one(port, &fds[i], filler);
        taken += v == 1;
        busy += v == 0;
    }
    /* The server reads the stalled bodies on its own time: take the most
     * it holds over a while. */
    long during = 0;
    for (int i = 0; i < 20; i++, g_usleep(100 * 1000))
        during = MAX(during, rss_kib(&p));
    /* Exactly what fits: 16 MiB of 2 MiB bodies; the rest refused unread. */
    CU_ASSERT_EQUAL(taken, (int)(BUDGET / BODY));
    CU_ASSERT_EQUAL(busy, BURST - (int)(BUDGET / BODY));
    /* A client that sends its body without waiting for "100 Continue" has it
     * read and thrown away, and reads its 503 (a close on the unread body
     * would reset the connection first). */
    g_autoptr(GString) got = g_string_new(NULL);
    g_autofree char *head = g_strdup_printf("POST /mdm/apple/scep HTTP/1.1\r\nHost: t\r\n"
                                            "Content-Length: %zu\r\n\r\n", BODY);
    int eager = raw_connect(NULL, port);
    CU_ASSERT(eager >= 0 && raw_send(eager, head) && raw_send_n(eager, filler, BODY / 2));
    g_usleep(300 * 1000);
    CU_ASSERT(raw_send_n(eager, filler, BODY - BODY / 2));
    raw_read(eager, 5000, got, "retry later");
    CU_ASSERT(g_str_has_prefix(got->str, "HTTP/1.1 503 ") && strstr(got->str, "Retry-After: "));
    if (eager >= 0)
        close(eager);
    release(fds, BURST);
    /* The burst is over: within a bounded wait, most of it goes back. */
    long after = during;
    for (int i = 0; i < 100 && after - base > 8 * 1024; i++) {
        g_usleep(100 * 1000);
        after = rss_kib(&p);
    }
    fprintf(stderr, "\n    orchard serve RSS: %ld KiB before, %ld during, %ld after ", base,
            during, after);
#if defined(__SANITIZE_ADDRESS__)
    CU_PASS("RSS bounds not checked under AddressSanitizer (its quarantine keeps freed memory)");
#else
    CU_ASSERT_TRUE(base > 0 && during > 0 && after > 0);
    /* Generous: the budget, plus room for connections and the allocator. */
    CU_ASSERT_TRUE(during - base < (long)((BUDGET + 24 * MIB) / 1024));
    CU_ASSERT_TRUE(after - base < 8 * 1024);
#endif
    serve_end(&p);
}

void http_limits_suite(void)
{
    ORCHARD_ADD_SUITE("http_limits", suite_init, suite_cleanup,
                      {"ambiguous_framing_refused", test_http_limits__ambiguous_framing_refused},
                      {"plain_framing_served", test_http_limits__plain_framing_served},
                      {"per_address_limit", test_http_limits__per_address_limit},
                      {"total_limit", test_http_limits__total_limit},
                      {"trickled_request_cut_off", test_http_limits__trickled_request_cut_off},
                      {"deadline_spares_handler_time",
                       test_http_limits__deadline_spares_handler_time},
                      {"settings_declared_and_checked",
                       test_http_limits__settings_declared_and_checked},
                      {"buffered_bodies_bounded", test_http_limits__buffered_bodies_bounded});
}
