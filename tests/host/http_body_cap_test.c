/* The http_body_cap suite: a route's own request-body cap (ABI 1.3,
 * orchard_route.max_body) through a real `orchard serve` HTTP service. A
 * route declaring 16 MiB takes a 3 MiB body, declared or chunked; a route
 * without one keeps the host's 2 MiB default (413); a body over the route's
 * own cap is refused; and no route's cap goes past server.max_buffered_bytes. */
#include "tests/suites.h"

#include "tests/host/http_fixture.h"

#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MODULE_PATH BUILD_DIR "/modules/orchard_http.so"
#define MIB ((size_t)1024 * 1024)

static const orchard_host_api *H;

/* Answers with the length of the body it was given. */
static int h_len(const orchard_http_request *req, orchard_http_response *resp, void *p)
{
    size_t len = 0;
    (void)p;
    H->http_body(req, &len);
    g_autofree char *t = g_strdup_printf("%zu", len);
    return H->http_respond(resp, 200, "text/plain", t, strlen(t));
}

static const orchard_route big_route = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "POST",
    .path_prefix = "/big",
    .handle = h_len,
    .max_body = 16 * MIB,
};
static const orchard_route *const big_routes[] = {&big_route};
static const orchard_plugin big_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin),
    .name = "body-cap-test",
    .version = "1",
    .routes = big_routes,
    .n_routes = 1,
};

static int big_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    H = host;
    *out = &big_plugin;
    return 0;
}

static int suite_init(void)
{
    g_autofree char *err = NULL;
    if (http_fixture_init() != 0)
        return 1;
    if (orchard_registry_add_builtin(http_reg, big_entry, &err) != 0) {
        fprintf(stderr, "http_body_cap: %s\n", err);
        return 1;
    }
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
    http_config("server.max_buffered_bytes", NULL);
    http_fixture_cleanup();
    curl_global_cleanup();
    return 0;
}

/* How a body goes: declared without waiting (the default), chunked, or
 * declared with "Expect: 100-continue" (the client waits for the verdict). */
enum { DECLARED = 0, CHUNKED = 1, CONTINUE = 2 };

/* POST n bytes of 'x' to base + path, sent `how`. Fills r. */
static void post(const char *base, const char *path, size_t n, int how, http_response *r)
{
    g_autofree char *url = g_strconcat(base, path, NULL);
    char *data = g_malloc(n);
    struct curl_slist *hdrs = NULL;
    memset(data, 'x', n);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
    hdrs = curl_slist_append(hdrs, how == CONTINUE ? "Expect: 100-continue" : "Expect:");
    if (how == CHUNKED)
        hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
    CURL *c = http_client(url, r, hdrs);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    http_perform(c, r);
    curl_slist_free_all(hdrs);
    g_free(data);
}

static void expect(const char *base, const char *path, size_t n, int how, long status)
{
    static const char *const hows[] = {"", ", chunked", ", after 100 Continue"};
    http_response r = {0};
    post(base, path, n, how, &r);
    if (r.status != status)
        fprintf(stderr, "\n  POST %s (%zu bytes%s): %ld (%s), wanted %ld\n", path, n, hows[how],
                r.status, curl_easy_strerror(r.code), status);
    CU_ASSERT_EQUAL(r.status, status);
    if (status == 200 && strcmp(path, "/big") == 0) {
        g_autofree char *want = g_strdup_printf("%zu", n);
        CU_ASSERT_STRING_EQUAL(r.body ? r.body->str : "", want);
    } else if (status == 200) { /* the fixture's echo route: the body itself */
        CU_ASSERT_EQUAL(r.body ? r.body->len : 0, n);
    }
    http_response_clear(&r);
}

static void test_http_body_cap__route_cap_honoured(void)
{
    http_server *s = http_server_start();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->url);
    /* The route that says 16 MiB takes 3 MiB, declared or chunked. */
    expect(s->url, "/big", 3 * MIB, DECLARED, 200);
    expect(s->url, "/big", 3 * MIB, CHUNKED, 200);
    expect(s->url, "/big", 16 * MIB, DECLARED, 200);
    /* One byte past its own cap: 413, declared or chunked. A client that
     * did not wait for "100 Continue" is sending the body already: it is read
     * and thrown away first, so the client reads its 413 rather than a reset
     * connection (answered on the headers, this failed now and then). */
    for (int i = 0; i < 5; i++)
        expect(s->url, "/big", 16 * MIB + 1, DECLARED, 413);
    expect(s->url, "/big", 16 * MIB + 1, CHUNKED, 413);
    /* One that waits is answered on the headers and never sends the body. */
    expect(s->url, "/big", 16 * MIB + 1, CONTINUE, 413);
    expect(s->url, "/big", 3 * MIB, CONTINUE, 200);
    /* A route without max_body keeps the 2 MiB default. */
    expect(s->url, "/mdm/apple/scep", 3 * MIB, DECLARED, 413);
    expect(s->url, "/mdm/apple/scep", 3 * MIB, CHUNKED, 413);
    expect(s->url, "/mdm/apple/scep", 2 * MIB, DECLARED, 200);
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
}

/* The client that sends a too-large body without waiting, slowed down: the
 * first MiB, a pause (an answer given on the headers would be out and the
 * connection closed with the body unread, which resets it), then the rest.
 * The 413 must still be there to read. */
static void test_http_body_cap__slow_sender_reads_its_413(void)
{
    http_server *s = http_server_start();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->url);
    size_t n = 2 * MIB + 1; /* /mdm/apple/scep keeps the 2 MiB default */
    g_autofree char *body = g_malloc(n);
    g_autoptr(GString) got = g_string_new(NULL);
    g_autofree char *head = g_strdup_printf("POST /mdm/apple/scep HTTP/1.1\r\nHost: t\r\n"
                                            "Content-Length: %zu\r\n\r\n", n);
    memset(body, 'x', n);
    int fd = raw_connect(NULL, url_port(s->url));
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(raw_send(fd, head) && raw_send_n(fd, body, MIB));
    g_usleep(300 * 1000);
    CU_ASSERT(raw_send_n(fd, body + MIB, n - MIB));
    raw_read(fd, 5000, got, "too large");
    if (!g_str_has_prefix(got->str, "HTTP/1.1 413 "))
        fprintf(stderr, "\n  slow sender got: %.80s\n", got->str);
    CU_ASSERT(g_str_has_prefix(got->str, "HTTP/1.1 413 "));
    close(fd);
    /* Past the cap by more than the server will drain: cut short, and the
     * server stays well (the next request is served). */
    http_response r = {0};
    post(s->url, "/mdm/apple/scep", 2 * MIB + 9 * MIB, DECLARED, &r);
    CU_ASSERT(r.status == 413 || r.status == 0);
    http_response_clear(&r);
    expect(s->url, "/mdm/apple/scep", 1024, DECLARED, 200);
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
}

/* The overall budget still bounds every route: under a 4 MiB budget the
 * 16 MiB route takes 3 MiB and refuses 5 MiB as too large (it could never
 * fit, so it is not "busy, retry"). */
static void test_http_body_cap__budget_bounds_route(void)
{
    http_config("server.max_buffered_bytes", "4MiB");
    http_server *s = http_server_start();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->url);
    expect(s->url, "/big", 3 * MIB, DECLARED, 200);
    expect(s->url, "/big", 5 * MIB, DECLARED, 413);
    expect(s->url, "/big", 5 * MIB, CHUNKED, 413);
    CU_ASSERT_EQUAL(http_server_finish(s, NULL), 0);
    http_config("server.max_buffered_bytes", NULL);
}

void http_body_cap_suite(void)
{
    ORCHARD_ADD_SUITE("http_body_cap", suite_init, suite_cleanup,
                      {"route_cap_honoured", test_http_body_cap__route_cap_honoured},
                      {"slow_sender_reads_its_413", test_http_body_cap__slow_sender_reads_its_413},
                      {"budget_bounds_route", test_http_body_cap__budget_bounds_route});
}
