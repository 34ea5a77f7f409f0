/* dep_client_wire: the DEP client (server_plugin/dep/dep_client.c) against
 * a canned HTTP/1.1 server in this file, for what the simulator never
 * sends: the exact headers of each request, success statuses with bodies
 * that are not Apple's (BAD_REPLY), an answer over ORCHARD_DEP_REPLY_MAX,
 * and a rotated session header unfit for a header line. */
#include "server_plugin/dep/dep_client.h"
#include "server_plugin/server.h"
#include "host/plugins/plugin_ctx.h"
#include "host/plugins/registry.h"
#include "tests/suites.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct {
    orchard_ctx *ctx;
    int listener;
    char *url;
    GThread *thread;
    GMutex lock;
    GQueue answers;     /* char *: whole HTTP answers, in order */
    GPtrArray *requests; /* char *: each request's head and body as received */
    GPtrArray *conns;    /* GThread *: joined at cleanup (every client is freed by then) */
    int stop;
} wire;

static const orchard_abm_token token = {
    .consumer_key = "CK_wire", .consumer_secret = "CS_wire_secret", .access_token = "AT_wire",
    .access_secret = "AS_wire_secret", .access_token_expiry = "2099-01-01T00:00:00Z",
    .expiry = 4070908800,
};

/* Read one request (head, then Content-Length bytes); NULL on EOF. */
static char *read_request(int fd)
{
    GString *s = g_string_new(NULL);
    char buf[4096];
    char *end = NULL;
    while (!(end = strstr(s->str, "\r\n\r\n"))) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) {
            g_string_free(s, TRUE);
            return NULL;
        }
        g_string_append_len(s, buf, n);
    }
    size_t head = (size_t)(end - s->str) + 4;
    const char *cl = strcasestr(s->str, "\r\ncontent-length:");
    size_t want = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
    while (s->len < head + want) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        g_string_append_len(s, buf, n);
    }
    return g_string_free(s, FALSE);
}

/* One connection: answer each request with the next queued answer. */
static gpointer serve_conn(gpointer p)
{
    int fd = GPOINTER_TO_INT(p);
    char *req;
    while ((req = read_request(fd))) {
        g_mutex_lock(&wire.lock);
        g_ptr_array_add(wire.requests, req);
        char *ans = g_queue_pop_head(&wire.answers);
        g_mutex_unlock(&wire.lock);
        if (!ans)
            ans = g_strdup("HTTP/1.1 599 Nothing Queued\r\nContent-Length: 0\r\n\r\n");
        size_t len = strlen(ans), off = 0;
        while (off < len) {
            /* The client may hang up mid-answer (the reply cap): no SIGPIPE. */
            ssize_t n = send(fd, ans + off, len - off, MSG_NOSIGNAL);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        g_free(ans);
    }
    close(fd);
    return NULL;
}

/* Each client keeps its connection open: one thread per connection. */
static gpointer serve(gpointer unused)
{
    (void)unused;
    for (;;) {
        int fd = accept(wire.listener, NULL, NULL);
        if (fd < 0 || g_atomic_int_get(&wire.stop)) {
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        GThread *t = g_thread_new("dep-wire-conn", serve_conn, GINT_TO_POINTER(fd));
        g_mutex_lock(&wire.lock);
        g_ptr_array_add(wire.conns, t);
        g_mutex_unlock(&wire.lock);
    }
}

/* Queue an answer: status, extra header lines ("" for none) and body. */
static void answer(int status, const char *headers, const char *body)
{
    char *a = g_strdup_printf("HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                              "Content-Length: %zu\r\n%s\r\n%s", status, strlen(body), headers,
                              body);
    g_mutex_lock(&wire.lock);
    g_queue_push_tail(&wire.answers, a);
    g_mutex_unlock(&wire.lock);
}

static const char *request_at(guint i)
{
    g_mutex_lock(&wire.lock);
    const char *r = i < wire.requests->len ? g_ptr_array_index(wire.requests, i) : "";
    g_mutex_unlock(&wire.lock);
    return r;
}

static void reset(void)
{
    g_mutex_lock(&wire.lock);
    g_queue_clear_full(&wire.answers, g_free);
    g_ptr_array_set_size(wire.requests, 0);
    g_mutex_unlock(&wire.lock);
}

static int suite_init(void)
{
    memset(&wire, 0, sizeof wire);
    g_mutex_init(&wire.lock);
    g_queue_init(&wire.answers);
    wire.requests = g_ptr_array_new_with_free_func(g_free);
    wire.conns = g_ptr_array_new();
    orchard_server_host = orchard_host_api_get();
    wire.ctx = orchard_ctx_new(NULL);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    wire.listener = socket(AF_INET, SOCK_STREAM, 0);
    if (wire.listener < 0 || bind(wire.listener, (struct sockaddr *)&a, sizeof a) ||
        listen(wire.listener, 8) || getsockname(wire.listener, (struct sockaddr *)&a, &al))
        return -1;
    wire.url = g_strdup_printf("http://127.0.0.1:%d", ntohs(a.sin_port));
    wire.thread = g_thread_new("dep-wire", serve, NULL);
    return 0;
}

static int suite_cleanup(void)
{
    g_atomic_int_set(&wire.stop, 1);
    /* Wake accept() with a connection of our own. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    a.sin_port = htons((uint16_t)atoi(strrchr(wire.url, ':') + 1));
    (void)connect(s, (struct sockaddr *)&a, sizeof a);
    close(s);
    g_thread_join(wire.thread);
    for (guint i = 0; i < wire.conns->len; i++)
        g_thread_join(g_ptr_array_index(wire.conns, i));
    g_ptr_array_free(wire.conns, TRUE);
    close(wire.listener);
    reset();
    g_ptr_array_free(wire.requests, TRUE);
    g_mutex_clear(&wire.lock);
    g_clear_pointer(&wire.ctx, orchard_ctx_free);
    g_clear_pointer(&wire.url, g_free);
    return 0;
}

static orchard_dep_client *client(void)
{
    reset();
    orchard_dep_client_config cfg = {.base_url = wire.url, .token = &token, .timeout_ms = 10000,
                                     .max_retries = -1};
    orchard_dep_client *c = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_dep_client_new(wire.ctx, &cfg, &c), 0);
    return c;
}

#define SESSION_OK "{\"auth_session_token\":\"S1\"}"

/* The headers orchard sends, on /session and on a call. */
static void test_request_headers(void)
{
    orchard_dep_client *c = client();
    answer(200, "", SESSION_OK);
    answer(200, "", "{\"cursor\":\"c\",\"more_to_follow\":false,\"devices\":[]}");
    orchard_dep_result r = {0};
    json_t *page = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_dep_devices_page(c, 1, "CUR", 7, &page, &r), 0);
    json_decref(page);
    const char *s = request_at(0), *p = request_at(1);
    CU_ASSERT(g_str_has_prefix(s, "GET /session HTTP/1.1\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\r\nAuthorization: OAuth realm=\"ADM\", "
                                     "oauth_consumer_key=\"CK_wire\", oauth_token=\"AT_wire\", "
                                     "oauth_signature_method=\"HMAC-SHA1\", oauth_signature=\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\", oauth_version=\"1.0\"\r\n"));
    CU_ASSERT_PTR_NULL(strstr(s, "X-ADM-Auth-Session"));
    CU_ASSERT_PTR_NULL(strstr(s, "secret"));
    CU_ASSERT(g_str_has_prefix(p, "POST /devices/sync HTTP/1.1\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(p, "\r\nX-ADM-Auth-Session: S1\r\n"));
    CU_ASSERT_PTR_NULL(strstr(p, "Authorization"));
    for (int i = 0; i < 2; i++) {
        const char *q = i ? p : s;
        CU_ASSERT_PTR_NOT_NULL(strstr(q, "\r\nX-Server-Protocol-Version: 3\r\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(q, "\r\nContent-Type: application/json;charset=UTF8\r\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(q, "\r\nUser-Agent: orchard/"));
    }
    const char *body = strstr(p, "\r\n\r\n");
    CU_ASSERT_FATAL(body != NULL);
    json_t *j = json_loads(body + 4, 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "cursor")), "CUR");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "limit")), 7);
    json_decref(j);
    /* No cursor: none in the body; the session is reused. */
    answer(200, "", "{\"cursor\":\"c\",\"more_to_follow\":false}");
    CU_ASSERT_EQUAL(orchard_dep_devices_page(c, 0, "", 1000, &page, &r), 0);
    json_decref(page);
    CU_ASSERT(g_str_has_prefix(request_at(2), "POST /server/devices "));
    CU_ASSERT_PTR_NULL(strstr(request_at(2), "cursor"));
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
}

/* 200 with a body that is not Apple's: BAD_REPLY naming what is wrong. */
static void test_bad_success_bodies(void)
{
    static const struct {
        const char *body, *says;
    } cases[] = {
        {"<html>maintenance</html>", "not JSON"},
        {"", "empty"},
        {"[]", "not a JSON object"},
        {"{\"cursor\":\"c\",\"more_to_follow\":false,\"devices\":{}}", "not an array"},
        {"{\"cursor\":\"c\",\"more_to_follow\":\"no\"}", "more_to_follow"},
        {"{\"more_to_follow\":false}", "cursor"},
    };
    orchard_dep_client *c = client();
    answer(200, "", SESSION_OK);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        answer(200, "", cases[i].body);
        orchard_dep_result r = {0};
        json_t *page = NULL;
        CU_ASSERT_EQUAL(orchard_dep_devices_page(c, 0, NULL, 10, &page, &r), ORCHARD_EPROTO);
        CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_BAD_REPLY);
        CU_ASSERT_EQUAL(r.http_status, 200);
        CU_ASSERT_PTR_NULL(page);
        if (!r.message || !strstr(r.message, cases[i].says))
            fprintf(stderr, "\n  %s: %s\n", cases[i].body, r.message ? r.message : "");
        CU_ASSERT_PTR_NOT_NULL(r.message && strstr(r.message, cases[i].says));
        orchard_dep_result_clear(&r);
    }
    /* A session answer without a usable token: no session, BAD_REPLY. */
    orchard_dep_client *c2 = client();
    answer(200, "", "{\"auth_session_token\":\"a\\r\\nX-Evil: 1\"}");
    orchard_dep_result r = {0};
    json_t *acct = NULL;
    int rc2 = orchard_dep_account(c2, &acct, &r);
    if (rc2 != ORCHARD_EPROTO)
        fprintf(stderr, "\n  session: %d %s %s\n", rc2, orchard_dep_status_name(r.status), r.message);
    CU_ASSERT_EQUAL(rc2, ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_BAD_REPLY);
    CU_ASSERT_EQUAL(wire.requests->len, 1);
    /* A define reply without profile_uuid; an assign reply without devices. */
    answer(200, "", SESSION_OK);
    answer(200, "", "{\"devices\":{}}");
    json_t *prof = json_pack("{s:s}", "profile_name", "x");
    char *uuid = NULL;
    CU_ASSERT_EQUAL(orchard_dep_profile_define(c2, prof, &uuid, &r), ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_BAD_REPLY);
    CU_ASSERT_PTR_NULL(uuid);
    json_decref(prof);
    answer(200, "", "{\"profile_uuid\":\"P\"}");
    const char *serial[] = {"C02A"};
    json_t *devs = NULL;
    CU_ASSERT_EQUAL(orchard_dep_profile_assign(c2, "P", serial, 1, &devs, &r), ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_BAD_REPLY);
    CU_ASSERT_PTR_NULL(devs);
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
    orchard_dep_client_free(c2);
}

/* An answer over ORCHARD_DEP_REPLY_MAX is refused while it is read. */
static void test_reply_cap(void)
{
    orchard_dep_client *c = client();
    answer(200, "", SESSION_OK);
    size_t n = ORCHARD_DEP_REPLY_MAX + 1024;
    char *big = g_malloc(n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    answer(200, "", big);
    g_free(big);
    orchard_dep_result r = {0};
    json_t *acct = NULL;
    CU_ASSERT_EQUAL(orchard_dep_account(c, &acct, &r), ORCHARD_ETOOBIG);
    CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_BAD_REPLY);
    CU_ASSERT_PTR_NULL(acct);
    CU_ASSERT_PTR_NOT_NULL(r.message && strstr(r.message, "over 8 MiB"));
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
}

/* A rotated session is taken only when it is fit for a header. */
static void test_rotated_session(void)
{
    orchard_dep_client *c = client();
    answer(200, "", SESSION_OK);
    answer(200, "X-ADM-Auth-Session: S2\r\n", "{}");
    answer(200, "X-ADM-Auth-Session: S3 with spaces\r\n", "{}");
    answer(200, "", "{}");
    orchard_dep_result r = {0};
    for (int i = 0; i < 3; i++) {
        json_t *acct = NULL;
        CU_ASSERT_EQUAL(orchard_dep_account(c, &acct, &r), 0);
        json_decref(acct);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(request_at(1), "\r\nX-ADM-Auth-Session: S1\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(request_at(2), "\r\nX-ADM-Auth-Session: S2\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(request_at(3), "\r\nX-ADM-Auth-Session: S2\r\n"));
    /* A 403 that is not FORBIDDEN takes no new session. */
    answer(403, "", "ACCESS_DENIED");
    json_t *acct = NULL;
    CU_ASSERT_EQUAL(orchard_dep_account(c, &acct, &r), ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_UNAUTHORIZED);
    CU_ASSERT_STRING_EQUAL(r.apple_code, "ACCESS_DENIED");
    CU_ASSERT_EQUAL(wire.requests->len, 5);
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
}

/* A host that is stopping (or a job past its deadline) ends the retries:
 * `orchard serve` must not wait out the backoff to shut down. */
static int always_expired(orchard_ctx *ctx)
{
    (void)ctx;
    return 1;
}

static void test_stopping_host_ends_retries(void)
{
    static orchard_host_api stopping_host;
    const orchard_host_api *real = orchard_server_host;
    stopping_host = *real;
    stopping_host.job_expired = always_expired;
    reset();
    orchard_server_host = &stopping_host;
    /* With the real backoff this would be 4 requests over 35 s. */
    orchard_dep_client_config cfg = {.base_url = wire.url, .token = &token, .timeout_ms = 10000,
                                     .max_retries = 3, .backoff_ms = 5000};
    orchard_dep_client *c = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_dep_client_new(wire.ctx, &cfg, &c), 0);
    orchard_server_host = real;
    answer(503, "", "busy");
    orchard_dep_result r = {0};
    json_t *acct = NULL;
    CU_ASSERT_EQUAL(orchard_dep_account(c, &acct, &r), ORCHARD_EPROTO);
    CU_ASSERT_EQUAL(r.status, ORCHARD_DEP_SERVER_ERROR);
    CU_ASSERT_EQUAL(wire.requests->len, 1);
    CU_ASSERT_PTR_NULL(acct);
    orchard_dep_result_clear(&r);
    orchard_dep_client_free(c);
}

void dep_client_wire_suite(void)
{
    ORCHARD_ADD_SUITE("dep_client_wire", suite_init, suite_cleanup,
                      {"request_headers", test_request_headers},
                      {"bad_success_bodies", test_bad_success_bodies},
                      {"reply_cap", test_reply_cap},
                      {"rotated_session", test_rotated_session},
                      {"stopping_host_ends_retries", test_stopping_host_ends_retries});
}
