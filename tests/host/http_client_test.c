/* The http_client suite: the host's outbound HTTP/2 client (ABI 1.3)
 * against the APNs stand-in (tests/support/apns_standin), which requires a
 * client certificate from its CA and counts pushes and connections: a
 * multiplexed batch on two persistent connections, TLS trust and client
 * certificates, caps, refusals, header lookup and the module loader.
 * Hostile and absent peers are http_client_peers_test.c's. */
#include "tests/suites.h"

#include "host/http_client/http_client.h"
#include "host/plugins/plugin_ctx.h"
#include "tests/host/http_client_fixture.h"
#include "tests/host/http_fixture.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define STANDIN BUILD_DIR "/tests/support/apns_standin"
#define TOPIC HCFX_TOPIC
#define TOKEN "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"
#define BATCH 500

static char *push_url;

/* The stand-in: its pid, stdin (control lines) and stdout (answers). */
static GPid standin_pid;
static int standin_in = -1, standin_out = -1;
static int have_standin;

/* One line from fd within timeout_ms; 1 when read (without its newline). */
static int read_line(int fd, char *buf, size_t size, int timeout_ms)
{
    size_t len = 0;
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    while (len + 1 < size) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)((deadline - g_get_monotonic_time()) / 1000);
        char ch;
        if (left <= 0 || poll(&p, 1, left) <= 0 || read(fd, &ch, 1) != 1)
            return 0;
        if (ch == '\n') {
            buf[len] = '\0';
            return 1;
        }
        buf[len++] = ch;
    }
    return 0;
}

static int standin_start(void)
{
    g_autofree char *cert = hcfx_path("server.pem"), *key = hcfx_path("server.key");
    g_autofree char *ca = hcfx_path("ca.pem");
    char *argv[] = {STANDIN, "--cert", cert, "--key", key, "--client-ca", ca,
                    "--topic", TOPIC, "--listen", "127.0.0.1:0", NULL};
    char line[256];
    unsigned port = 0;

    if (!g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                  &standin_pid, &standin_in, &standin_out, NULL, NULL))
        return 0;
    if (!read_line(standin_out, line, sizeof line, 10000) ||
        sscanf(line, "listening https://127.0.0.1:%u", &port) != 1)
        return 0;
    push_url = g_strdup_printf("https://127.0.0.1:%u/3/device/" TOKEN, port);
    return 1;
}

/* Ask the stand-in for its counters. */
static int standin_stats(unsigned long *pushes, unsigned long *connections)
{
    char line[128];
    return write(standin_in, "stats\n", 6) == 6 &&
           read_line(standin_out, line, sizeof line, 10000) &&
           sscanf(line, "pushes %lu connections %lu", pushes, connections) == 2;
}

static int standin_say(const char *text)
{
    return write(standin_in, text, strlen(text)) == (ssize_t)strlen(text);
}

static int suite_init(void)
{
    if (hcfx_init() != 0)
        return 1;
    have_standin = g_file_test(STANDIN, G_FILE_TEST_IS_EXECUTABLE);
    if (have_standin && !standin_start()) {
        fprintf(stderr, "http_client: the APNs stand-in %s did not start\n", STANDIN);
        return 1;
    }
    return 0;
}

static int suite_cleanup(void)
{
    if (standin_pid) {
        kill(standin_pid, SIGTERM);
        waitpid(standin_pid, NULL, 0);
        g_spawn_close_pid(standin_pid);
        standin_pid = 0;
    }
    if (standin_in >= 0)
        close(standin_in);
    if (standin_out >= 0)
        close(standin_out);
    standin_in = standin_out = -1;
    g_clear_pointer(&push_url, g_free);
    hcfx_cleanup();
    return 0;
}

/* ---- helpers */

#define NEED_STANDIN()                                                                \
    do {                                                                              \
        if (!have_standin) {                                                          \
            CU_PASS("skipped: the apns_standin binary (" STANDIN ") was not built"); \
            return;                                                                   \
        }                                                                             \
    } while (0)

static const char *const push_headers[] = {
    "apns-topic: " TOPIC, "apns-push-type: mdm", "apns-expiration: 0", "apns-priority: 10"};
static const char push_body[] = "{\"mdm\":\"8f2a6c1e-1111-2222-3333-444455556666\"}";

static orchard_http_call push_call(const char *url)
{
    return (orchard_http_call){
        ORCHARD_STRUCT_HEADER(orchard_http_call),
        .method = "POST",
        .url = url,
        .headers = push_headers,
        .n_headers = G_N_ELEMENTS(push_headers),
        .body = push_body,
        .body_len = sizeof push_body - 1,
    };
}

static orchard_http_client *push_client(void)
{
    return hcfx_client(hcfx_client_pem, hcfx_client_key_pem, hcfx_server_pem, 10000);
}

/* ---- the module loader (first: the module is loaded once per process) */

static void test_http_client__module_missing(void)
{
    orchard_http_client_config cfg = {ORCHARD_STRUCT_HEADER(orchard_http_client_config),
                                      .connections = 0};
    orchard_http_client *c = (orchard_http_client *)&cfg;

    if (orchard_http_client_module_loaded()) {
        /* An earlier suite in this process loaded it, and it stays. */
        CU_PASS("skipped: the client module is already loaded in this process");
        return;
    }
    http_config("http_client_module", "/nonexistent/orchard_http_client.so");
    CU_ASSERT_EQUAL(orchard_http_client_open(NULL, &cfg, &c), ORCHARD_EIO);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(orchard_ctx_failure());
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_ctx_failure(), "/nonexistent/orchard_http_client.so"));
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_ctx_failure(), "missing"));

    /* A shared object that is not the module: named, not loaded. */
    http_config("http_client_module", FAKE_PLUGIN);
    CU_ASSERT_EQUAL(orchard_http_client_open(NULL, &cfg, &c), ORCHARD_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_ctx_failure(), "not orchard's HTTP client module"));

    http_config("http_client_module", HCFX_MODULE_PATH);
    CU_ASSERT_EQUAL(orchard_http_client_open(NULL, &cfg, &c), 0);
    CU_ASSERT_PTR_NOT_NULL(c);
    orchard_http_client_close(c);
}

/* ---- config refusals */

static void test_http_client__bad_config(void)
{
    orchard_http_client_config cfg = {ORCHARD_STRUCT_HEADER(orchard_http_client_config),
                                      .connections = 0};
    orchard_http_client *c = NULL;

    CU_ASSERT_EQUAL(orchard_http_client_open(NULL, NULL, &c), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_client_open(NULL, &cfg, NULL), ORCHARD_EINVAL);
    cfg.struct_size = 12; /* a struct this host cannot read */
    CU_ASSERT_EQUAL(orchard_http_client_open(NULL, &cfg, &c), ORCHARD_EINVAL);
    cfg.struct_size = sizeof cfg;
    cfg.abi_version = 2;
    CU_ASSERT_EQUAL(orchard_http_client_open(NULL, &cfg, &c), ORCHARD_EINVAL);
    cfg.abi_version = ORCHARD_ABI_VERSION;

    cfg.cert_pem = hcfx_client_pem; /* without its key */
    CU_ASSERT_EQUAL(orchard_http_client_open(NULL, &cfg, &c), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_ctx_failure(), "key"));
    cfg.key_pem = hcfx_server_key_pem; /* another certificate's key */
    CU_ASSERT_EQUAL(orchard_http_client_open(NULL, &cfg, &c), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_ctx_failure(), "not the key"));
    cfg.cert_pem = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
    CU_ASSERT_EQUAL(orchard_http_client_open(NULL, &cfg, &c), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_ctx_failure(), "cert_pem"));
    cfg.cert_pem = hcfx_client_pem;
    cfg.key_pem = "-----BEGIN PRIVATE KEY-----\n"; /* truncated */
    CU_ASSERT_EQUAL(orchard_http_client_open(NULL, &cfg, &c), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_ctx_failure(), "key_pem"));
    cfg.cert_pem = cfg.key_pem = NULL;
    cfg.ca_pem = "";
    CU_ASSERT_EQUAL(orchard_http_client_open(NULL, &cfg, &c), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_ctx_failure(), "ca_pem"));
    cfg.ca_pem = NULL;
    cfg.connections = 65;
    CU_ASSERT_EQUAL(orchard_http_client_open(NULL, &cfg, &c), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(c);
}

/* ---- calls refused before any starts */

static void test_http_client__einval_calls(void)
{
    orchard_http_client *c = hcfx_client(NULL, NULL, NULL, 2000);
    orchard_http_call calls[2];
    const char *const crlf[] = {"X-A: 1\r\nX-B: 2"};
    const char *const nul[] = {NULL};
    const char *const bare[] = {"no colon"};

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    calls[0] = push_call("http://127.0.0.1:1/");
    calls[1] = push_call(NULL);
    CU_ASSERT_EQUAL(orchard_http_client_run(c, calls, 2), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(calls[1].error, "url"));
    CU_ASSERT_EQUAL(calls[0].result, 0); /* nothing started */
    CU_ASSERT_PTR_NULL(calls[0].response_headers);

    calls[1] = push_call("http://127.0.0.1:1/");
    calls[1].method = NULL;
    CU_ASSERT_EQUAL(orchard_http_client_run(c, calls, 2), ORCHARD_EINVAL);
    calls[1].method = "GET\r\nX: y";
    CU_ASSERT_EQUAL(orchard_http_client_run(c, calls, 2), ORCHARD_EINVAL);
    calls[1] = push_call("http://127.0.0.1:1/");
    calls[1].headers = crlf;
    calls[1].n_headers = 1;
    CU_ASSERT_EQUAL(orchard_http_client_run(c, calls, 2), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(calls[1].error, "header"));
    calls[1].headers = nul;
    CU_ASSERT_EQUAL(orchard_http_client_run(c, calls, 2), ORCHARD_EINVAL);
    calls[1].headers = bare;
    CU_ASSERT_EQUAL(orchard_http_client_run(c, calls, 2), ORCHARD_EINVAL);
    calls[1].headers = NULL; /* with n_headers 1 */
    CU_ASSERT_EQUAL(orchard_http_client_run(c, calls, 2), ORCHARD_EINVAL);
    calls[1] = push_call("http://127.0.0.1:1/");
    calls[1].body = NULL; /* with body_len */
    CU_ASSERT_EQUAL(orchard_http_client_run(c, calls, 2), ORCHARD_EINVAL);
    calls[1] = push_call("http://127.0.0.1:1/");
    calls[1].struct_size = 16; /* unlike the first call's */
    CU_ASSERT_EQUAL(orchard_http_client_run(c, calls, 2), ORCHARD_EINVAL);
    calls[0].struct_size = calls[1].struct_size = 16; /* too small for 1.3 */
    CU_ASSERT_EQUAL(orchard_http_client_run(c, calls, 2), ORCHARD_EINVAL);
    calls[0] = push_call("http://127.0.0.1:1/");
    calls[0].response_body = (unsigned char *)"held"; /* an answer not reset */
    CU_ASSERT_EQUAL(orchard_http_client_run(c, calls, 1), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(calls[0].error, "reset"));

    CU_ASSERT_EQUAL(orchard_http_client_run(NULL, calls, 1), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_client_run(c, NULL, 1), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_client_run(c, NULL, 0), 0);
    orchard_http_client_close(c);
    orchard_http_client_close(NULL);
}

/* ---- against the stand-in */

/* 500 pushes at once on two connections, then 500 more: every answer is a
 * 200 with an apns-id, and the second run reuses the first run's
 * connections (APNs takes reconnects for an attack). */
static void test_http_client__multiplexed_batch(void)
{
    NEED_STANDIN();
    orchard_http_client *c = push_client();
    orchard_http_call *calls = g_new0(orchard_http_call, BATCH);
    unsigned long pushes0 = 0, conns0 = 0, pushes = 0, conns = 0, conns_first = 0;
    char id[64];

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_FATAL(standin_stats(&pushes0, &conns0));
    for (int round = 0; round < 2; round++) {
        int ok = 0, ids = 0;
        for (size_t i = 0; i < BATCH; i++) {
            orchard_http_call_reset(&calls[i]);
            calls[i] = push_call(push_url);
        }
        CU_ASSERT_EQUAL(orchard_http_client_run(c, calls, BATCH), 0);
        for (size_t i = 0; i < BATCH; i++) {
            ok += calls[i].result == 0 && calls[i].status == 200;
            ids += orchard_http_call_header(&calls[i], "apns-id", id, sizeof id) == 0 &&
                   strlen(id) == 36;
        }
        CU_ASSERT_EQUAL(ok, BATCH);
        CU_ASSERT_EQUAL(ids, BATCH);
        if (ok != BATCH)
            fprintf(stderr, "first call: result %d status %d error %s\n", calls[0].result,
                    calls[0].status, calls[0].error);
        CU_ASSERT_FATAL(standin_stats(&pushes, &conns));
        CU_ASSERT_EQUAL(pushes - pushes0, (unsigned long)BATCH * (round + 1));
        /* Two at most, and no new ones for the second run. */
        CU_ASSERT(conns - conns0 >= 1 && conns - conns0 <= 2);
        if (round == 0)
            conns_first = conns;
        else
            CU_ASSERT_EQUAL(conns, conns_first);
    }
    for (size_t i = 0; i < BATCH; i++)
        orchard_http_call_reset(&calls[i]);
    g_free(calls);
    orchard_http_client_close(c);
}

/* The stand-in requires a certificate from its client CA. */
static void test_http_client__client_cert_required(void)
{
    NEED_STANDIN();
    orchard_http_client *c = hcfx_client(NULL, NULL, hcfx_server_pem, 5000);
    orchard_http_call call = push_call(push_url);

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(orchard_http_client_run(c, &call, 1), 0);
    CU_ASSERT_EQUAL(call.result, ORCHARD_EIO);
    CU_ASSERT_EQUAL(call.status, 0);
    CU_ASSERT_PTR_NULL(call.response_headers);
    CU_ASSERT(call.error[0] != '\0');
    orchard_http_call_reset(&call);
    orchard_http_client_close(c);

    /* Its own server certificate is no client certificate of that CA. */
    c = hcfx_client(hcfx_server_pem, hcfx_server_key_pem, hcfx_server_pem, 5000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    call = push_call(push_url);
    CU_ASSERT_EQUAL(orchard_http_client_run(c, &call, 1), 0);
    CU_ASSERT_EQUAL(call.result, ORCHARD_EIO);
    orchard_http_call_reset(&call);
    orchard_http_client_close(c);

    c = push_client();
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    call = push_call(push_url);
    CU_ASSERT_EQUAL(orchard_http_client_run(c, &call, 1), 0);
    CU_ASSERT_EQUAL(call.result, 0);
    CU_ASSERT_EQUAL(call.status, 200);
    orchard_http_call_reset(&call);
    orchard_http_client_close(c);
}

/* ca_pem replaces the trust store: a server whose CA is not in it fails. */
static void test_http_client__ca_replaces_trust(void)
{
    NEED_STANDIN();
    orchard_http_client *c = hcfx_client(hcfx_client_pem, hcfx_client_key_pem, hcfx_stranger_pem, 5000);
    orchard_http_call call = push_call(push_url);

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(orchard_http_client_run(c, &call, 1), 0);
    CU_ASSERT_EQUAL(call.result, ORCHARD_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(call.error, "certificate"));
    orchard_http_call_reset(&call);
    orchard_http_client_close(c);

    /* Without ca_pem the system's store is used: no public CA signed it either. */
    c = hcfx_client(hcfx_client_pem, hcfx_client_key_pem, NULL, 5000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    call = push_call(push_url);
    CU_ASSERT_EQUAL(orchard_http_client_run(c, &call, 1), 0);
    CU_ASSERT_EQUAL(call.result, ORCHARD_EIO);
    orchard_http_call_reset(&call);
    orchard_http_client_close(c);
}

/* An error answer is an answer: result 0, its status, its body and headers. */
static void test_http_client__error_status_body(void)
{
    NEED_STANDIN();
    orchard_http_client *c = push_client();
    orchard_http_call call = push_call(push_url);
    const char *const no_topic[] = {"apns-push-type: mdm"};

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_FATAL(standin_say("fail " TOKEN " 410 Unregistered 1\n"));
    g_usleep(100000); /* the control line and the push arrive on different fds */
    CU_ASSERT_EQUAL(orchard_http_client_run(c, &call, 1), 0);
    CU_ASSERT_EQUAL(call.result, 0);
    CU_ASSERT_EQUAL(call.status, 410);
    CU_ASSERT_PTR_NOT_NULL_FATAL(call.response_body);
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)call.response_body, "\"Unregistered\""));
    CU_ASSERT_EQUAL(call.response_len, strlen((char *)call.response_body));

    /* Run again after a reset: the rule was for one push. */
    orchard_http_call_reset(&call);
    CU_ASSERT_PTR_NULL(call.response_headers);
    CU_ASSERT_EQUAL(call.status, 0);
    CU_ASSERT_EQUAL(orchard_http_client_run(c, &call, 1), 0);
    CU_ASSERT_EQUAL(call.status, 200);
    CU_ASSERT_PTR_NULL(call.response_body);
    CU_ASSERT_EQUAL(call.response_len, 0);
    orchard_http_call_reset(&call);

    call.headers = no_topic;
    call.n_headers = 1;
    CU_ASSERT_EQUAL(orchard_http_client_run(c, &call, 1), 0);
    CU_ASSERT_EQUAL(call.status, 400);
    CU_ASSERT_PTR_NOT_NULL(call.response_body &&
                           strstr((char *)call.response_body, "MissingTopic"));
    orchard_http_call_reset(&call);
    orchard_http_client_close(c);
}

/* A body far over a TLS connection's write buffer (64 KiB) goes out whole:
 * the stand-in reads all of it and answers APNs' 413. */
static void test_http_client__large_body(void)
{
    NEED_STANDIN();
    orchard_http_client *c = push_client();
    size_t len = 300 * 1024;
    char *big = g_malloc(len);
    orchard_http_call calls[3];

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    memset(big, 'a', len);
    memcpy(big, "{\"mdm\":\"", 8);
    for (int i = 0; i < 3; i++) {
        calls[i] = push_call(push_url);
        if (i != 1) {
            calls[i].body = big;
            calls[i].body_len = len;
        }
    }
    CU_ASSERT_EQUAL(orchard_http_client_run(c, calls, 3), 0);
    CU_ASSERT_EQUAL(calls[0].status, 413);
    CU_ASSERT_EQUAL(calls[1].status, 200); /* the small one between them */
    CU_ASSERT_EQUAL(calls[2].status, 413);
    CU_ASSERT_PTR_NOT_NULL(calls[0].response_body &&
                           strstr((char *)calls[0].response_body, "PayloadTooLarge"));
    for (int i = 0; i < 3; i++)
        orchard_http_call_reset(&calls[i]);
    g_free(big);
    orchard_http_client_close(c);
}

/* An answer body over max_response: ETOOBIG, the status kept, no body. */
static void test_http_client__over_cap(void)
{
    NEED_STANDIN();
    orchard_http_client *c = push_client();
    orchard_http_call calls[2] = {push_call(push_url), push_call(push_url)};
    const char *const no_topic[] = {"apns-push-type: mdm"};

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    for (int i = 0; i < 2; i++) {
        calls[i].headers = no_topic;
        calls[i].n_headers = 1;
    }
    calls[0].max_response = 8;
    CU_ASSERT_EQUAL(orchard_http_client_run(c, calls, 2), 0);
    CU_ASSERT_EQUAL(calls[0].result, ORCHARD_ETOOBIG);
    CU_ASSERT_EQUAL(calls[0].status, 400);
    CU_ASSERT_PTR_NULL(calls[0].response_body);
    CU_ASSERT_EQUAL(calls[0].response_len, 0);
    CU_ASSERT(calls[0].error[0] != '\0');
    /* The default cap (1 MiB) takes the same answer, on the same run. */
    CU_ASSERT_EQUAL(calls[1].result, 0);
    CU_ASSERT_EQUAL(calls[1].status, 400);
    orchard_http_call_reset(&calls[0]);
    orchard_http_call_reset(&calls[1]);
    orchard_http_client_close(c);
}

/* Lookup by name in any case; a prefix is not a match; truncation says so. */
static void test_http_client__call_header(void)
{
    NEED_STANDIN();
    orchard_http_client *c = push_client();
    orchard_http_call call = push_call(push_url);
    char id[64], small[5];

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(orchard_http_client_run(c, &call, 1), 0);
    CU_ASSERT_EQUAL_FATAL(call.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(call.response_headers, "apns-id: "));
    CU_ASSERT_EQUAL(orchard_http_call_header(&call, "APNS-Id", id, sizeof id), 0);
    CU_ASSERT_EQUAL(strlen(id), 36);
    CU_ASSERT_EQUAL(orchard_http_call_header(&call, "apns", id, sizeof id), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_http_call_header(&call, "x-missing", id, sizeof id),
                    ORCHARD_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(id, "");
    CU_ASSERT_EQUAL(orchard_http_call_header(&call, "apns-id", small, sizeof small),
                    ORCHARD_ETOOBIG);
    CU_ASSERT_EQUAL(strlen(small), 4);
    orchard_http_call_reset(&call);
    CU_ASSERT_EQUAL(orchard_http_call_header(&call, "apns-id", id, sizeof id), ORCHARD_ENOTFOUND);
    orchard_http_client_close(c);
}

void http_client_suite(void)
{
    ORCHARD_ADD_SUITE("http_client", suite_init, suite_cleanup,
                      {"module_missing", test_http_client__module_missing},
                      {"bad_config", test_http_client__bad_config},
                      {"einval_calls", test_http_client__einval_calls},
                      {"multiplexed_batch", test_http_client__multiplexed_batch},
                      {"client_cert_required", test_http_client__client_cert_required},
                      {"ca_replaces_trust", test_http_client__ca_replaces_trust},
                      {"error_status_body", test_http_client__error_status_body},
                      {"over_cap", test_http_client__over_cap},
                      {"large_body", test_http_client__large_body},
                      {"call_header", test_http_client__call_header});
}
