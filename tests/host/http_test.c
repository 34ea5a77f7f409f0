/* The host's HTTP service end to end: the test plugin's routes
 * (http_fixture.c) served by orchard_http_serve (the real orchard_http.so
 * from the build tree) on 127.0.0.1:0 in a thread, with libcurl as the
 * client: routing, bodies, stopping, TLS, start errors, the access log.
 * Handlers run on the server's threads, so they only record; assertions
 * stay on this thread. What needs no server is in http_routes_test.c. */
#include "tests/suites.h"

#include "host/config.h"
#include "host/http/http_api.h"
#include "tests/host/http_fixture.h"
#include "host/log.h"

#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MODULE_PATH BUILD_DIR "/modules/orchard_http.so"
#define CAP ((size_t)2 * 1024 * 1024)

/* ---- suite state: the fixture's registry, and the server's configuration */

static int suite_init(void)
{
    if (http_fixture_init() != 0)
        return 1;
    http_config("http_module", MODULE_PATH);
    http_config("server.address", "127.0.0.1:0");
    http_config("server.threads", "3");
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : 1;
}

static int suite_cleanup(void)
{
    const char *keys[] = {"http_module", "server.address", "server.threads", "server.tls_cert",
                          "server.tls_key"};
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        http_config(keys[i], NULL);
    http_fixture_cleanup();
    curl_global_cleanup();
    return 0;
}

static void fetch(const http_server *s, const char *method, const char *path, http_response *r,
                  struct curl_slist *headers)
{
    http_fetch_url(s->url, method, path, r, headers);
}

#define SERVE_OR_FAIL(s)                                                    \
    http_server *s = http_server_start();                                  \
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->url);                                  \
    CU_ASSERT_TRUE(g_str_has_prefix(s->url, "http://127.0.0.1:"));         \
    CU_ASSERT_STRING_NOT_EQUAL(s->url, "http://127.0.0.1:0")

#define EXPECT(r, want_status, text)                                        \
    do {                                                                   \
        CU_ASSERT_EQUAL((r).code, CURLE_OK);                               \
        CU_ASSERT_EQUAL((r).status, want_status);                          \
        if (text)                                                          \
            CU_ASSERT_STRING_EQUAL((r).body->str, (const char *)(text));   \
    } while (0)

/* ---- served */

/* One request and what must come back; a NULL body or header is not checked. */
typedef struct {
    const char *method;
    const char *path;
    long status;
    const char *body;
    const char *header; /* a line the response headers must hold; "!X" must not */
} exchange;

static void run_exchanges(const exchange *x, size_t n)
{
    SERVE_OR_FAIL(s);
    for (size_t i = 0; i < n; i++) {
        http_response r;
        fetch(s, x[i].method, x[i].path, &r, NULL);
        int ok = r.code == CURLE_OK && r.status == x[i].status &&
                 (!x[i].body || strcmp(r.body->str, x[i].body) == 0) &&
                 (!x[i].header || (x[i].header[0] == '!' ? !http_has_header(&r, x[i].header + 1)
                                                          : http_has_header(&r, x[i].header)));
        if (!ok)
            fprintf(stderr, "\n%s %s: got %ld '%s'\n", x[i].method, x[i].path, r.status,
                    r.body->str);
        CU_ASSERT_TRUE(ok);
        http_response_clear(&r);
    }
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
}

#define SCEP_ECHO(m, path, op, msg) "scep " m " " path " op=" op " msg=" msg " remote=127.0.0.1"

static void test_http__routing(void)
{
    static const exchange x[] = {
        {"GET", "/mdm/apple/scep", 200, SCEP_ECHO("GET", "/mdm/apple/scep", "(none)", "(none)"),
         "Content-Type: text/plain\r\n"},
        {"GET", "/mdm/apple/scep/pkiclient.exe", 200,
         SCEP_ECHO("GET", "/mdm/apple/scep/pkiclient.exe", "(none)", "(none)"), NULL},
        {"GET", "/mdm/apple/scepX", 200, "apple /mdm/apple/scepX", NULL}, /* '/' boundary */
        {"GET", "/api/v1/x", 200, "api /api/v1/x", NULL},
        {"PATCH", "/any", 200, "PATCH", NULL},
        {"HEAD", "/mdm/apple", 200, "", "Content-Type: text/plain\r\n"},
    };
    run_exchanges(x, G_N_ELEMENTS(x));
}

static void test_http__not_found_and_method_not_allowed(void)
{
    static const exchange x[] = {
        {"GET", "/nothing/here", 404, "not found\n", NULL},
        {"GET", "/mdm/applex", 404, "not found\n", NULL},
        {"DELETE", "/mdm/apple/scep", 405, "method not allowed\n", "Allow: GET, POST\r\n"},
        {"POST", "/mdm/apple", 405, NULL, "Allow: GET\r\n"},
    };
    run_exchanges(x, G_N_ELEMENTS(x));
}

static void test_http__query_and_path_decoded(void)
{
    static const exchange x[] = {
        {"GET", "/mdm/apple/scep/%7Euser?operation=GetCACert&message=a%20b%2Bc+d%26e", 200,
         SCEP_ECHO("GET", "/mdm/apple/scep/~user", "GetCACert", "a b+c d&e"), NULL},
        {"GET", "/mdm/apple/scep?message&operation=", 200,
         SCEP_ECHO("GET", "/mdm/apple/scep", "", ""), NULL},
        /* 2026-12-06: "%00" used to decode to a NUL that cut the path short,
         * so "/mdm/apple/scep%00.png" reached the /mdm/apple/scep route */
        {"GET", "/mdm/apple/scep%00.png", 400, "bad request: a control character in the path\n",
         NULL},
        {"GET", "/mdm/apple/scep/%00", 400, NULL, NULL},
        {"GET", "/mdm/apple/%0a", 400, NULL, NULL},
        {"GET", "/mdm/apple/scep/%25%30%30", 200,
         SCEP_ECHO("GET", "/mdm/apple/scep/%00", "(none)", "(none)"), NULL},
    };
    run_exchanges(x, G_N_ELEMENTS(x));
}

static void test_http__handler_results(void)
{
    static const exchange x[] = {
        {"GET", "/fail", 500, "internal server error\n", "!X-Partial"}, /* headers dropped */
        {"GET", "/fail-after", 418, "teapot", NULL}, /* a status set before failing stands */
        {"GET", "/silent", 204, "", "X-Silent: 1\r\n"},
    };
    run_exchanges(x, G_N_ELEMENTS(x));
}

static void test_http__headers(void)
{
    SERVE_OR_FAIL(s);
    http_response r;
    struct curl_slist *h = curl_slist_append(NULL, "X-Orchard-Test: Some Value");

    fetch(s, "GET", "/headers", &r, h);
    EXPECT(r, 200, NULL);
    g_autofree char *want = g_strdup_printf(
        "lower=Some Value upper=Some Value missing=(none) bad_value=%d bad_lf=%d bad_name=%d",
        ORCHARD_EINVAL, ORCHARD_EINVAL, ORCHARD_EINVAL);
    CU_ASSERT_STRING_EQUAL(r.body->str, want);
    CU_ASSERT_TRUE(http_has_header(&r, "X-Reply: yes\r\n"));
    CU_ASSERT_FALSE(http_has_header(&r, "Injected"));
    CU_ASSERT_FALSE(http_has_header(&r, "X-Bad"));
    http_response_clear(&r);
    curl_slist_free_all(h);
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
}

/* POST `len` bytes of `body`; chunked when asked (no Content-Length). */
typedef struct {
    const unsigned char *data;
    size_t len;
    size_t sent;
} upload;

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    upload *u = ud;
    size_t k = MIN(size * n, u->len - u->sent);
    memcpy(buf, u->data + u->sent, k);
    u->sent += k;
    return k;
}

static void post(const http_server *s, upload *u, int chunked, http_response *r)
{
    g_autofree char *url = g_strconcat(s->url, "/mdm/apple/scep", NULL);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    /* Ask first: a server that refuses on the headers never gets the body. */
    h = curl_slist_append(h, "Expect: 100-continue");
    if (chunked)
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
    CURL *c = http_client(url, r, h);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, u);
    curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 15000L);
    if (!chunked)
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)u->len);
    http_perform(c, r);
    curl_slist_free_all(h);
}

static unsigned char *pattern(size_t len)
{
    unsigned char *b = g_malloc(len);
    for (size_t i = 0; i < len; i++)
        b[i] = (unsigned char)(i % 7 == 0 ? 0 : i * 31);
    return b;
}

static void test_http__body_round_trip(void)
{
    SERVE_OR_FAIL(s);
    http_response r;
    g_autofree unsigned char *small = pattern(5000);
    g_autofree unsigned char *full = pattern(CAP);

    upload u = {small, 5000, 0};
    post(s, &u, 0, &r);
    EXPECT(r, 200, NULL);
    CU_ASSERT_EQUAL(r.body->len, 5000);
    CU_ASSERT_EQUAL(memcmp(r.body->str, small, 5000), 0);
    CU_ASSERT_TRUE(http_has_header(&r, "X-Body-Len: 5000"));
    http_response_clear(&r);

    u = (upload){small, 5000, 0}; /* chunked, under the cap */
    post(s, &u, 1, &r);
    EXPECT(r, 200, NULL);
    CU_ASSERT_EQUAL(r.body->len, 5000);
    CU_ASSERT_EQUAL(memcmp(r.body->str, small, 5000), 0);
    http_response_clear(&r);

    u = (upload){full, CAP, 0}; /* exactly the cap is allowed */
    post(s, &u, 0, &r);
    EXPECT(r, 200, NULL);
    CU_ASSERT_EQUAL(r.body->len, CAP);
    CU_ASSERT_EQUAL(memcmp(r.body->str, full, CAP), 0);
    http_response_clear(&r);

    u = (upload){full, 0, 0}; /* empty */
    post(s, &u, 0, &r);
    EXPECT(r, 200, "");
    CU_ASSERT_TRUE(http_has_header(&r, "X-Body-Len: 0"));
    http_response_clear(&r);
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
}

static void test_http__too_big_content_length(void)
{
    SERVE_OR_FAIL(s);
    http_response r;
    g_autofree unsigned char *big = pattern(CAP + 1);
    upload u = {big, CAP + 1, 0};
    gint64 t0 = g_get_monotonic_time();

    post(s, &u, 0, &r);
    EXPECT(r, 413, "request body too large\n");
    /* Refused on the headers: no "100 Continue", so not one byte was sent,
     * and no waiting out the client's 15 s Expect timeout either. */
    CU_ASSERT_EQUAL(u.sent, 0);
    CU_ASSERT_TRUE(g_get_monotonic_time() - t0 < 5 * G_USEC_PER_SEC);
    http_response_clear(&r);
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
}

static void test_http__too_big_chunked(void)
{
    SERVE_OR_FAIL(s);
    http_response r;
    size_t len = CAP + CAP / 2;
    g_autofree unsigned char *big = pattern(len);
    upload u = {big, len, 0};

    post(s, &u, 1, &r);
    EXPECT(r, 413, "request body too large\n");
    http_response_clear(&r);
    fetch(s, "GET", "/mdm/apple", &r, NULL); /* and the server is fine */
    EXPECT(r, 200, "apple /mdm/apple");
    http_response_clear(&r);
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
}

/* ---- stopping */

typedef struct {
    char *base;
    http_response r;
} slow_call;

static gpointer slow_client(gpointer p)
{
    slow_call *c = p;
    http_fetch_url(c->base, "GET", "/slow", &c->r, NULL);
    return NULL;
}

static int wait_flag(atomic_int *flag, int seconds)
{
    gint64 until = g_get_monotonic_time() + seconds * G_USEC_PER_SEC;
    while (!atomic_load(flag) && g_get_monotonic_time() < until)
        g_usleep(5000);
    return atomic_load(flag);
}

static void test_http__stop_lets_requests_finish(void)
{
    SERVE_OR_FAIL(s);
    slow_call call = {g_strdup(s->url), {0}};
    double seconds = 0;
    http_response r;

    atomic_store(&slow_started, 0);
    GThread *t = g_thread_new("slow-client", slow_client, &call);
    CU_ASSERT_TRUE(wait_flag(&slow_started, 10));
    CU_ASSERT_EQUAL(http_server_finish(s, &seconds), 0);
    /* It waited for the 1.5 s handler, and well within the 5 s budget. */
    CU_ASSERT_TRUE(seconds > 0.5);
    CU_ASSERT_TRUE(seconds < 5.0);
    g_thread_join(t);
    EXPECT(call.r, 200, "slow done");
    http_response_clear(&call.r);
    http_fetch_url(call.base, "GET", "/mdm/apple", &r, NULL); /* no longer listening */
    CU_ASSERT_EQUAL(r.code, CURLE_COULDNT_CONNECT);
    http_response_clear(&r);
    g_free(call.base);
}

static void stop_by_signal(int sig)
{
    struct sigaction before, after;
    sigaction(sig, NULL, &before);
    SERVE_OR_FAIL(s);
    gint64 until = g_get_monotonic_time() + 6 * G_USEC_PER_SEC;

    kill(getpid(), sig);
    g_mutex_lock(&s->lock);
    while (!s->done && g_cond_wait_until(&s->cond, &s->lock, until))
        ;
    int done = s->done;
    g_mutex_unlock(&s->lock);
    CU_ASSERT_TRUE(done);
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
    /* Our handler was only there while serving. */
    sigaction(sig, NULL, &after);
    CU_ASSERT_PTR_EQUAL((void *)after.sa_handler, (void *)before.sa_handler);
}

static void test_http__sigterm_and_sigint_stop(void)
{
    stop_by_signal(SIGTERM);
    stop_by_signal(SIGINT);
}

/* ---- TLS */

static char *make_cert(const char *dir, const char *name, const char *key)
{
    char *cert = g_build_filename(dir, name, NULL);
    g_autofree char *keyp = g_build_filename(dir, key, NULL);
    const char *argv[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyp, "-out",
                          cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                          "subjectAltName=IP:127.0.0.1", NULL};
    if (!http_openssl(argv))
        g_clear_pointer(&cert, g_free);
    return cert;
}

static void test_http__tls(void)
{
    g_autofree char *dir = g_dir_make_tmp("orchard-http-XXXXXX", NULL);
    g_autofree char *cert = dir ? make_cert(dir, "cert.pem", "key.pem") : NULL;
    g_autofree char *key = dir ? g_build_filename(dir, "key.pem", NULL) : NULL;
    http_response r;

    CU_ASSERT_PTR_NOT_NULL(cert);
    if (cert) {
        http_config("server.tls_cert", cert);
        http_config("server.tls_key", key);
        http_server *s = http_server_start();
        CU_ASSERT_PTR_NOT_NULL(s->url);
        if (s->url) {
            CU_ASSERT_TRUE(g_str_has_prefix(s->url, "https://127.0.0.1:"));
            http_ca_file = cert;
            fetch(s, "GET", "/mdm/apple/scep?operation=GetCACaps", &r, NULL);
            http_ca_file = NULL;
            EXPECT(r, 200, "scep GET /mdm/apple/scep op=GetCACaps msg=(none) remote=127.0.0.1");
            http_response_clear(&r);
            fetch(s, "GET", "/mdm/apple", &r, NULL); /* a client that doesn't trust it */
            CU_ASSERT_NOT_EQUAL(r.code, CURLE_OK);
            http_response_clear(&r);
            g_autofree char *plain = g_strconcat("http", s->url + 5, NULL);
            http_fetch_url(plain, "GET", "/mdm/apple", &r, NULL); /* plain HTTP to a TLS port */
            CU_ASSERT_NOT_EQUAL(r.status, 200);
            http_response_clear(&r);
        }
        CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
        http_config("server.tls_cert", NULL);
        http_config("server.tls_key", NULL);
        g_unlink(cert);
        g_unlink(key);
    }
    if (dir)
        g_rmdir(dir);
}

/* ---- failing to start */

/* Serve with `key` set to `value`; returns serve's result (ready must not run). */
static int serve_with(const char *key, const char *value, const char *restore)
{
    http_config(key, value);
    http_server *s = http_server_start();
    int ready = s->ready_calls;
    int rc = http_server_finish(s, NULL);
    http_config(key, restore);
    CU_ASSERT_EQUAL(ready, 0);
    return rc;
}

static void test_http__start_errors(void)
{
    CU_ASSERT_EQUAL(serve_with("http_module", "/nonexistent/orchard_http.so", MODULE_PATH),
                    ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(serve_with("http_module", FAKE_PLUGIN, MODULE_PATH), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(serve_with("server.address", "nonsense", "127.0.0.1:0"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(serve_with("server.address", "127.0.0.1:65536", "127.0.0.1:0"),
                    ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(serve_with("server.address", "::1:80", "127.0.0.1:0"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(serve_with("server.threads", "0", "3"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(serve_with("server.tls_cert", "/nonexistent/cert.pem", NULL),
                    ORCHARD_EINVAL); /* a cert without a key */
}

static void test_http__address_in_use(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    CU_ASSERT_EQUAL(listen(fd, 1), 0);
    CU_ASSERT_EQUAL(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    g_autofree char *addr = g_strdup_printf("127.0.0.1:%u", ntohs(a.sin_port));
    int rc = serve_with("server.address", addr, "127.0.0.1:0");
    CU_ASSERT_TRUE(rc < 0);
    CU_ASSERT_EQUAL(rc, ORCHARD_EIO);
    close(fd);
}

static void test_http__bad_tls_files(void)
{
    g_autofree char *dir = g_dir_make_tmp("orchard-http-XXXXXX", NULL);
    g_autofree char *junk = g_build_filename(dir, "junk.pem", NULL);
    const char *pem = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n";

    CU_ASSERT_TRUE(g_file_set_contents(junk, pem, -1, NULL));
    http_config("server.tls_key", junk);
    CU_ASSERT_EQUAL(serve_with("server.tls_cert", "/nonexistent/cert.pem", NULL),
                    ORCHARD_ENOTFOUND);
    int rc = serve_with("server.tls_cert", junk, NULL); /* PEM-shaped, not a certificate */
    CU_ASSERT_TRUE(rc < 0);
    http_config("server.tls_key", NULL);
    g_unlink(junk);
    g_rmdir(dir);
}

static void test_http__one_server_per_process(void)
{
    SERVE_OR_FAIL(s);
    CU_ASSERT_EQUAL(orchard_http_serve(NULL, NULL), ORCHARD_EEXIST);
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
}

/* ---- the access log and IPv6 */

static void test_http__access_log_without_query(void)
{
    g_autofree char *dir = g_dir_make_tmp("orchard-http-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "stderr.log", NULL);
    g_autofree char *log = NULL;
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    http_response r;

    CU_ASSERT_FATAL(saved >= 0 && fd >= 0);
    fflush(stderr);
    dup2(fd, 2);
    close(fd);
    orchard_log_set_level(ORCHARD_LOG_INFO);
    http_server *s = http_server_start();
    if (s->url) {
        fetch(s, "GET", "/mdm/apple/scep?operation=GetCACert&token=secret-token-1", &r, NULL);
        http_response_clear(&r);
        fetch(s, "GET", "/nothing?token=secret-token-2", &r, NULL);
        http_response_clear(&r);
    }
    int rc = http_server_finish(s, NULL); /* every request is logged once serve returns */
    orchard_log_set_level(ORCHARD_LOG_WARNING);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);

    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_TRUE(g_file_get_contents(path, &log, NULL, NULL));
    if (log) {
        CU_ASSERT_PTR_NOT_NULL(strstr(log, "listening on http://127.0.0.1:"));
        CU_ASSERT_PTR_NOT_NULL(strstr(log, "127.0.0.1 \"GET /mdm/apple/scep\" 200 "));
        CU_ASSERT_TRUE(g_regex_match_simple(
            "127\\.0\\.0\\.1 \"GET /nothing\" 404 10 [0-9]+\\.[0-9]{3}ms\\n", log, 0, 0));
        CU_ASSERT_PTR_NULL(strstr(log, "secret-token"));
        CU_ASSERT_PTR_NULL(strstr(log, "operation="));
    }
    g_unlink(path);
    g_rmdir(dir);
}

static int have_ipv6_loopback(void)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void test_http__ipv6(void)
{
    http_response r;

    if (!have_ipv6_loopback()) {
        CU_PASS("no IPv6 loopback on this machine");
        return;
    }
    http_config("server.address", "[::1]:0");
    http_server *s = http_server_start();
    CU_ASSERT_PTR_NOT_NULL(s->url);
    if (s->url) {
        CU_ASSERT_TRUE(g_str_has_prefix(s->url, "http://[::1]:"));
        fetch(s, "GET", "/mdm/apple/scep", &r, NULL);
        EXPECT(r, 200, "scep GET /mdm/apple/scep op=(none) msg=(none) remote=::1");
        http_response_clear(&r);
    }
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
    http_config("server.address", "127.0.0.1:0");
}

void http_suite(void)
{
    ORCHARD_ADD_SUITE("http", suite_init, suite_cleanup,
                      {"routing", test_http__routing},
                      {"not_found_and_method_not_allowed",
                       test_http__not_found_and_method_not_allowed},
                      {"query_and_path_decoded", test_http__query_and_path_decoded},
                      {"headers", test_http__headers},
                      {"handler_results", test_http__handler_results},
                      {"body_round_trip", test_http__body_round_trip},
                      {"too_big_content_length", test_http__too_big_content_length},
                      {"too_big_chunked", test_http__too_big_chunked},
                      {"stop_lets_requests_finish", test_http__stop_lets_requests_finish},
                      {"sigterm_and_sigint_stop", test_http__sigterm_and_sigint_stop},
                      {"tls", test_http__tls},
                      {"start_errors", test_http__start_errors},
                      {"address_in_use", test_http__address_in_use},
                      {"bad_tls_files", test_http__bad_tls_files},
                      {"one_server_per_process", test_http__one_server_per_process},
                      {"access_log_without_query", test_http__access_log_without_query},
                      {"ipv6", test_http__ipv6});
}
