/* The http_client_peers suite: the host's outbound HTTP client against
 * peers that are not the APNs stand-in: a canned HTTP/1.1 peer that answers
 * garbage, truncated or oversized answers; a port nobody listens on; one
 * that accepts and never answers; and the answer's header block as the
 * module writes it. */
#include "tests/suites.h"

#include "host/http_client/http_client.h"
#include "tests/host/http_client_fixture.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int suite_init(void) { return hcfx_init(); }

static int suite_cleanup(void)
{
    hcfx_cleanup();
    return 0;
}

/* A header block as the module writes it, hostile corners included. */
static void test_http_client_peers__header_block(void)
{
    char block[] = "content-type: application/json\nx-empty: \nx-long: 0123456789\n"
                   "x-last:nospace";
    orchard_http_call call = {ORCHARD_STRUCT_HEADER(orchard_http_call),
                              .response_headers = block};
    char out[8];

    CU_ASSERT_EQUAL(orchard_http_call_header(&call, "X-EMPTY", out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(orchard_http_call_header(&call, "x-last", out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "nospace"); /* fits exactly, without a newline after */
    CU_ASSERT_EQUAL(orchard_http_call_header(&call, "x-long", out, sizeof out), ORCHARD_ETOOBIG);
    CU_ASSERT_STRING_EQUAL(out, "0123456");
    CU_ASSERT_EQUAL(orchard_http_call_header(&call, "content", out, sizeof out), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_http_call_header(&call, "", out, sizeof out), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_http_call_header(&call, "x-long: 0123456789\nx", out, sizeof out),
                    ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_http_call_header(&call, "x-last", out, 1), ORCHARD_ETOOBIG);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(orchard_http_call_header(&call, "x-last", out, 0), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_call_header(&call, NULL, out, sizeof out), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_call_header(NULL, "x-last", out, sizeof out), ORCHARD_EINVAL);
    orchard_http_call_reset(NULL);
}

/* Nothing listens: EIO with libcurl's reason. */
static void test_http_client_peers__connection_refused(void)
{
    orchard_http_client *c = hcfx_client(NULL, NULL, NULL, 5000);
    g_autofree char *url = g_strdup_printf("http://127.0.0.1:%u/", hcfx_port(0, NULL));
    orchard_http_call call = {ORCHARD_STRUCT_HEADER(orchard_http_call), .method = "GET",
                              .url = url};

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(orchard_http_client_run(c, &call, 1), 0);
    CU_ASSERT_EQUAL(call.result, ORCHARD_EIO);
    CU_ASSERT_EQUAL(call.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(call.error, "onnect"));
    orchard_http_call_reset(&call);
    orchard_http_client_close(c);
}

/* A server that accepts and never answers: ETIMEOUT near timeout_ms. */
static void test_http_client_peers__timeout(void)
{
    int fd = -1;
    unsigned port = hcfx_port(1, &fd);
    g_autofree char *url = g_strdup_printf("https://127.0.0.1:%u/", port);
    orchard_http_client *c = hcfx_client(NULL, NULL, hcfx_server_pem, 300);
    orchard_http_call call = {ORCHARD_STRUCT_HEADER(orchard_http_call), .method = "GET",
                              .url = url};
    gint64 t0 = g_get_monotonic_time();

    CU_ASSERT_FATAL(port != 0 && c != NULL);
    CU_ASSERT_EQUAL(orchard_http_client_run(c, &call, 1), 0);
    CU_ASSERT_EQUAL(call.result, ORCHARD_ETIMEOUT);
    CU_ASSERT_PTR_NULL(call.response_headers);
    gint64 ms = (g_get_monotonic_time() - t0) / 1000;
    CU_ASSERT(ms >= 250 && ms < 5000);
    orchard_http_call_reset(&call);
    orchard_http_client_close(c);
    close(fd);
}


/* ---- a hostile HTTP/1.1 peer: answers one connection with canned bytes */

typedef struct {
    int fd;
    const char *answer;
    GThread *thread;
} canned;

static gpointer canned_main(gpointer p)
{
    canned *c = p;
    int conn = accept(c->fd, NULL, NULL);
    char buf[4096];

    if (conn < 0)
        return NULL;
    /* At once, before the request: a TLS client waits for the server to
     * speak, and an HTTP client reads what is there after sending. */
    if (write(conn, c->answer, strlen(c->answer)) < 0)
        perror("canned write");
    shutdown(conn, SHUT_WR);
    while (read(conn, buf, sizeof buf) > 0) /* until the client closes */
        ;
    close(conn);
    return NULL;
}

/* Listen, answer the first connection with `answer`; the URL to ask. */
static char *canned_start(canned *c, const char *answer, const char *scheme)
{
    unsigned port = hcfx_port(1, &c->fd);
    c->answer = answer;
    c->thread = g_thread_new("canned", canned_main, c);
    return g_strdup_printf("%s://127.0.0.1:%u/x", scheme, port);
}

static void canned_finish(canned *c)
{
    shutdown(c->fd, SHUT_RDWR); /* wakes accept if nobody came */
    g_thread_join(c->thread);
    close(c->fd);
}

/* One GET to a canned answer; the call is left for the caller to check. */
static void canned_call(const char *answer, const char *scheme, size_t max_response,
                        orchard_http_call *call)
{
    canned peer;
    orchard_http_client *c = hcfx_client(NULL, NULL, hcfx_server_pem, 3000);
    g_autofree char *url = canned_start(&peer, answer, scheme);

    *call = (orchard_http_call){ORCHARD_STRUCT_HEADER(orchard_http_call), .method = "GET",
                                .url = NULL, .max_response = max_response};
    call->url = url;
    CU_ASSERT_EQUAL(orchard_http_client_run(c, call, 1), 0);
    call->url = NULL; /* url is freed on return */
    orchard_http_client_close(c);
    canned_finish(&peer);
}

static void test_http_client_peers__hostile_answers(void)
{
    orchard_http_call call;

    /* Not TLS at all on an https URL. */
    canned_call("garbage, not a TLS record\r\n\r\n", "https", 0, &call);
    CU_ASSERT_EQUAL(call.result, ORCHARD_EIO);
    CU_ASSERT_EQUAL(call.status, 0);
    CU_ASSERT(call.error[0] != '\0');
    orchard_http_call_reset(&call);

    /* Not HTTP. */
    canned_call("SMTP ready\r\n\r\n", "http", 0, &call);
    CU_ASSERT_EQUAL(call.result, ORCHARD_EIO);
    CU_ASSERT_PTR_NULL(call.response_headers);
    orchard_http_call_reset(&call);

    /* Truncated: the body stops short of its Content-Length. */
    canned_call("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", "http", 0, &call);
    CU_ASSERT_EQUAL(call.result, ORCHARD_EIO);
    CU_ASSERT_PTR_NULL(call.response_body);
    orchard_http_call_reset(&call);

    /* A declared length over the cap: refused before the body is read. */
    canned_call("HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\nabc", "http", 100, &call);
    CU_ASSERT_EQUAL(call.result, ORCHARD_ETOOBIG);
    CU_ASSERT_EQUAL(call.status, 200);
    CU_ASSERT_PTR_NULL(call.response_body);
    orchard_http_call_reset(&call);

    /* No length, streamed past the cap until the peer closes. */
    canned_call("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
                "0123456789012345678901234567890123456789", "http", 16, &call);
    CU_ASSERT_EQUAL(call.result, ORCHARD_ETOOBIG);
    orchard_http_call_reset(&call);

    /* A header line without a colon: libcurl calls the answer broken. */
    canned_call("HTTP/1.1 200 OK\r\nnot a header\r\nContent-Length: 2\r\n\r\nok", "http", 0,
                &call);
    CU_ASSERT_EQUAL(call.result, ORCHARD_EIO);
    CU_ASSERT_PTR_NULL(call.response_headers);
    orchard_http_call_reset(&call);

    /* A 100 Continue first: only the final answer's headers, names lower
     * case, values trimmed. */
    canned_call("HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
                "HTTP/1.1 201 Created\r\nX-UPPER:   Value  \r\n"
                "Content-Length: 2\r\n\r\nok", "http", 0, &call);
    CU_ASSERT_EQUAL(call.result, 0);
    CU_ASSERT_EQUAL(call.status, 201);
    CU_ASSERT_PTR_NOT_NULL_FATAL(call.response_headers);
    CU_ASSERT_PTR_NULL(strstr(call.response_headers, "x-interim"));
    CU_ASSERT_PTR_NOT_NULL(strstr(call.response_headers, "x-upper: Value\n"));
    CU_ASSERT_EQUAL(call.response_len, 2);
    CU_ASSERT_STRING_EQUAL((char *)call.response_body, "ok");
    orchard_http_call_reset(&call);
}

void http_client_peers_suite(void)
{
    ORCHARD_ADD_SUITE("http_client_peers", suite_init, suite_cleanup,
                      {"header_block", test_http_client_peers__header_block},
                      {"connection_refused", test_http_client_peers__connection_refused},
                      {"timeout", test_http_client_peers__timeout},
                      {"hostile_answers", test_http_client_peers__hostile_answers});
}
