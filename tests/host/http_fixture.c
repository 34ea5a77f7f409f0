/* The http suites' test plugin (see http_fixture.h): eleven routes and
 * their handlers, a second plugin that clashes with it, the registry the
 * suites run with, and the tools they share (a server in a thread, a
 * libcurl client, openssl). */
#include "tests/host/http_fixture.h"

#include "host/config.h"
#include "host/http/http_api.h"
#include "host/http/http_module.h"
#include "host/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the test plugin */

static const orchard_host_api *H;
atomic_int slow_started;

static int reply(orchard_http_response *resp, int status, const char *text)
{
    return H->http_respond(resp, status, "text/plain", text, strlen(text));
}

static const char *or_none(const char *s) { return s ? s : "(none)"; }

static int h_scep(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)p;
    g_autofree char *t = g_strdup_printf(
        "scep %s %s op=%s msg=%s remote=%s", H->http_method(req), H->http_path(req),
        or_none(H->http_query(req, "operation")), or_none(H->http_query(req, "message")),
        H->http_remote_addr(req));
    return reply(resp, 200, t);
}

static int h_body(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    size_t len = 99;
    const unsigned char *body = H->http_body(req, &len);
    (void)p;
    g_autofree char *n = g_strdup_printf("%zu", len);
    H->http_set_header(resp, "X-Body-Len", n);
    return H->http_respond(resp, 200, "application/octet-stream", body, len);
}

static int h_apple(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)p;
    g_autofree char *t = g_strdup_printf("apple %s", H->http_path(req));
    return reply(resp, 200, t);
}

static int h_api(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)p;
    g_autofree char *t = g_strdup_printf("api %s", H->http_path(req));
    return reply(resp, 200, t);
}

static int h_any(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)p;
    return reply(resp, 200, H->http_method(req));
}

static int h_headers(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)p;
    int bad_value = H->http_set_header(resp, "X-Bad", "a\r\nInjected: 1");
    int bad_lf = H->http_set_header(resp, "X-Bad", "a\nInjected: 1");
    int bad_name = H->http_set_header(resp, "Bad:Name", "v");
    H->http_set_header(resp, "X-Reply", "yes");
    g_autofree char *t = g_strdup_printf(
        "lower=%s upper=%s missing=%s bad_value=%d bad_lf=%d bad_name=%d",
        or_none(H->http_header(req, "x-orchard-test")),
        or_none(H->http_header(req, "X-ORCHARD-TEST")), or_none(H->http_header(req, "X-Nope")),
        bad_value, bad_lf, bad_name);
    return reply(resp, 200, t);
}

static int h_fail(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)req;
    (void)p;
    H->http_set_header(resp, "X-Partial", "1");
    return ORCHARD_EIO;
}

static int h_fail_after(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)req;
    (void)p;
    reply(resp, 418, "teapot");
    return ORCHARD_EIO;
}

static int h_silent(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)req;
    (void)p;
    H->http_set_header(resp, "X-Silent", "1");
    return 0;
}

static int h_slow(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)req;
    (void)p;
    atomic_store(&slow_started, 1);
    g_usleep(1500 * 1000);
    return reply(resp, 200, "slow done");
}

/* The request struct is the module's (http_module.h): read the client
 * certificate there, whatever the host's accessor does with it. */
static int h_cert(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    (void)p;
    g_autofree char *sum = req->client_cert_len
                               ? g_compute_checksum_for_data(G_CHECKSUM_SHA256,
                                                             req->client_cert_der,
                                                             req->client_cert_len)
                               : g_strdup("-");
    g_autofree char *t = g_strdup_printf("cert %zu %s", req->client_cert_len, sum);
    return reply(resp, 200, t);
}

#define ROUTE(m, prefix, fn) \
    {ORCHARD_STRUCT_HEADER(orchard_route), .method = m, .path_prefix = prefix, .handle = fn}
const orchard_route routes[HTTP_FIXTURE_N_ROUTES] = {
    ROUTE("GET", "/mdm/apple/scep", h_scep),   ROUTE("POST", "/mdm/apple/scep", h_body),
    ROUTE("GET", "/mdm/apple", h_apple),       ROUTE("GET", "/api/", h_api),
    ROUTE("*", "/any", h_any),                 ROUTE("GET", "/headers", h_headers),
    ROUTE("GET", "/fail", h_fail),             ROUTE("GET", "/fail-after", h_fail_after),
    ROUTE("GET", "/silent", h_silent),         ROUTE("GET", "/slow", h_slow),
    ROUTE("GET", "/cert", h_cert),
    /* 1.5: "/" alone, not every path under it */
    {ORCHARD_STRUCT_HEADER(orchard_route), .method = "GET", .path_prefix = "/", .handle = h_any,
     .flags = ORCHARD_ROUTE_EXACT},
};
static const orchard_route *const route_ptrs[] = {
    &routes[0], &routes[1], &routes[2], &routes[3], &routes[4], &routes[5],
    &routes[6], &routes[7], &routes[8], &routes[9], &routes[10], &routes[11],
};

static const orchard_plugin http_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin),
    .name = "http-test",
    .version = "1.0",
    .description = "routes for the http suite",
    .routes = route_ptrs,
    .n_routes = G_N_ELEMENTS(route_ptrs),
};

static int http_plugin_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    H = host;
    *out = &http_plugin;
    return 0;
}

/* A second plugin that claims a route the first one has. */
static const orchard_route dup_route = ROUTE("GET", "/mdm/apple/scep", h_apple);
static const orchard_route *const dup_ptrs[] = {&dup_route};
static const orchard_plugin dup_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin),
    .name = "http-dup",
    .version = "1.0",
    .description = "clashing route",
    .routes = dup_ptrs,
    .n_routes = 1,
};
int dup_plugin_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    (void)host;
    *out = &dup_plugin;
    return 0;
}

/* ---- the registry: ours is the global one while a suite runs */

orchard_registry *http_reg;
static orchard_registry *saved_reg;
static int saved_level;

int http_fixture_init(void)
{
    g_autofree char *err = NULL;
    saved_reg = orchard_registry_global();
    http_reg = orchard_registry_new();
    if (orchard_registry_add_builtin(http_reg, http_plugin_entry, &err) != 0) {
        fprintf(stderr, "http: %s\n", err);
        return 1;
    }
    orchard_registry_set_global(http_reg);
    saved_level = orchard_log_get_level();
    orchard_log_set_level(ORCHARD_LOG_WARNING);
    return 0;
}

int http_fixture_cleanup(void)
{
    orchard_registry_free(http_reg);
    http_reg = NULL;
    orchard_registry_set_global(saved_reg);
    orchard_log_set_level(saved_level);
    return 0;
}

/* ---- tools */

void http_config(const char *key, const char *value)
{
    orchard_config_set(orchard_config_global(), key, value);
}

static void on_ready(const char *url, void *ud)
{
    http_server *s = ud;
    g_mutex_lock(&s->lock);
    s->url = g_strdup(url);
    s->ready_calls++;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

static gpointer serve_thread(gpointer p)
{
    http_server *s = p;
    int rc = orchard_http_serve(on_ready, s);
    g_mutex_lock(&s->lock);
    s->rc = rc;
    s->done = 1;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
    return NULL;
}

http_server *http_server_start(void)
{
    http_server *s = g_new0(http_server, 1);
    gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    s->thread = g_thread_new("http-serve", serve_thread, s);
    g_mutex_lock(&s->lock);
    while (!s->url && !s->done && g_cond_wait_until(&s->cond, &s->lock, until))
        ;
    g_mutex_unlock(&s->lock);
    return s;
}

int http_server_finish(http_server *s, double *seconds)
{
    gint64 t0 = g_get_monotonic_time();
    if (s->url)
        orchard_http_stop();
    g_thread_join(s->thread);
    if (seconds)
        *seconds = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
    int rc = s->rc;
    g_free(s->url);
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->cond);
    g_free(s);
    return rc;
}

const char *http_ca_file;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    g_string_append_len(ud, p, (gssize)(size * n));
    return size * n;
}

CURL *http_client(const char *url, http_response *r, struct curl_slist *headers)
{
    CURL *c = curl_easy_init();
    r->body = g_string_new(NULL);
    r->headers = g_string_new(NULL);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (headers)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (http_ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, http_ca_file);
    return c;
}

void http_perform(CURL *c, http_response *r)
{
    r->code = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
}

void http_response_clear(http_response *r)
{
    g_string_free(r->body, TRUE);
    g_string_free(r->headers, TRUE);
}

void http_fetch_url(const char *base, const char *method, const char *path, http_response *r,
                    struct curl_slist *headers)
{
    g_autofree char *url = g_strconcat(base, path, NULL);
    CURL *c = http_client(url, r, headers);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    http_perform(c, r);
}

int http_has_header(const http_response *r, const char *line)
{
    g_autofree char *lower = g_ascii_strdown(r->headers->str, -1);
    g_autofree char *want = g_ascii_strdown(line, -1);
    return strstr(lower, want) != NULL;
}

int http_openssl(const char *const *argv)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL;
    int status = -1;

    if (!g_spawn_sync(NULL, (char **)argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                      &out, &status, &err) ||
        !g_spawn_check_wait_status(status, NULL)) {
        fprintf(stderr, "http: openssl %s failed: %s\n", argv[1],
                err ? err->message : out ? out : "exit status");
        return 0;
    }
    return 1;
}

/* ---- raw sockets */

unsigned url_port(const char *url)
{
    const char *colon = url ? strrchr(url, ':') : NULL;
    return colon ? (unsigned)atoi(colon + 1) : 0;
}

/* A TCP connection to 127.0.0.1:port from address `from` (NULL: any); -1 on failure. */
int raw_connect(const char *from, unsigned port)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct sockaddr_in src = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (fd >= 0 && from && (inet_pton(AF_INET, from, &src.sin_addr) != 1 ||
                            bind(fd, (struct sockaddr *)&src, sizeof src) != 0)) {
        close(fd);
        return -1;
    }
    if (fd >= 0 && connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Send all of s (or n bytes of it); 0 when the peer is gone. */
int raw_send_n(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return 0;
        s += k;
        n -= (size_t)k;
    }
    return 1;
}

int raw_send(int fd, const char *s) { return raw_send_n(fd, s, strlen(s)); }

/* Read for up to `ms` (or until the peer closes, or `until` shows up in
 * what was read). Returns 1 closed, 0 still open; what came is appended. */
int raw_read(int fd, int ms, GString *got, const char *until)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    char buf[4096];

    for (;;) {
        gint64 left = (end - g_get_monotonic_time()) / 1000;
        struct pollfd p = {fd, POLLIN, 0};
        if (until && strstr(got->str, until))
            return 0;
        if (left <= 0)
            return 0;
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return 0;
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k <= 0)
            return 1; /* closed (or reset) */
        g_string_append_len(got, buf, k);
    }
}
