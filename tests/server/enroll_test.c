/* enroll: the enrollment profile as the server hands it out. org_info.org_name
 * in the configuration; the enroll route driven through a fake host (its
 * request, response and log are ours; the store is the real one); `orchard
 * enroll-token create` run as the real binary; and one download end to end
 * from a real `orchard serve` with curl. Profiles served are judged by
 * enroll_fixture.c; the builder alone is enroll_profile_test.c's. */
#include "tests/server/enroll_fixture.h"
#include "server_plugin/config/mdm_config.h"
#include "tests/server/mdm_fixtures.h"
#include "server_plugin/enroll/download_limit.h"
#include "server_plugin/enroll/profile.h"
#include "host/plugins/plugin_ctx.h"
#include "host/plugins/registry.h"
#include "server_plugin/serve/serve_state.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "host/store/store.h"
#include "tests/suites.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <plist/plist.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char *store_path;     /* the store the route tests use */
static int store_ok;         /* orchard_store_open worked */
static const orchard_host_api *saved_host;

/* ---- the fake host: our request, response and log ----------------------- */

typedef struct {
    const char *method, *path, *token;
} fake_req;

typedef struct {
    int status;
    char *content_type;
    GByteArray *body;
    GPtrArray *headers; /* "Name: value" */
    int rc;
} fake_resp;

static orchard_host_api fake_host;
static GPtrArray *log_lines;
static int fail_begin;       /* store_begin fails: 1 every transaction, 2 writes only */

static void fake_log(int level, const char *plugin, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(log_lines, g_strdup_printf("%d %s %s", level, plugin, msg));
}

static const char *fake_method(const orchard_http_request *req)
{
    return ((const fake_req *)req)->method;
}

static const char *fake_path(const orchard_http_request *req)
{
    return ((const fake_req *)req)->path;
}

static const char *fake_query(const orchard_http_request *req, const char *key)
{
    return strcmp(key, "token") == 0 ? ((const fake_req *)req)->token : NULL;
}

static const char *fake_header(const orchard_http_request *req, const char *name)
{
    (void)req;
    (void)name;
    return NULL;
}

static const char *fake_remote(const orchard_http_request *req)
{
    (void)req;
    return "192.0.2.7";
}

static int fake_set_header(orchard_http_response *resp, const char *name, const char *value)
{
    fake_resp *r = (fake_resp *)resp;
    g_ptr_array_add(r->headers, g_strdup_printf("%s: %s", name, value));
    return 0;
}

static int fake_respond(orchard_http_response *resp, int status, const char *content_type,
                        const void *body, size_t len)
{
    fake_resp *r = (fake_resp *)resp;
    r->status = status;
    g_free(r->content_type);
    r->content_type = g_strdup(content_type);
    g_byte_array_set_size(r->body, 0);
    g_byte_array_append(r->body, body, (guint)len);
    return 0;
}

static int fake_store_begin(orchard_store_tx **tx, int write)
{
    if (fail_begin == 1 || (fail_begin == 2 && write))
        return ORCHARD_EBUSY;
    return orchard_host_api_get()->store_begin(tx, write);
}

/* The last gate_set the plugin made. */
static struct {
    char name[16];
    int open;
    char reason[512];
} gate;

static int fake_gate_set(orchard_ctx *ctx, const char *name, int open, const char *reason)
{
    (void)ctx;
    g_strlcpy(gate.name, name, sizeof gate.name);
    gate.open = open;
    g_strlcpy(gate.reason, reason ? reason : "", sizeof gate.reason);
    return 0;
}

static orchard_ctx *server_ctx;

static void fake_host_init(void)
{
    fake_host = *orchard_host_api_get();
    fake_host.gate_set = fake_gate_set;
    fake_host.log = fake_log;
    fake_host.http_method = fake_method;
    fake_host.http_path = fake_path;
    fake_host.http_query = fake_query;
    fake_host.http_header = fake_header;
    fake_host.http_remote_addr = fake_remote;
    fake_host.http_set_header = fake_set_header;
    fake_host.http_respond = fake_respond;
    fake_host.store_begin = fake_store_begin;
}

static void resp_init(fake_resp *r)
{
    memset(r, 0, sizeof *r);
    r->body = g_byte_array_new();
    r->headers = g_ptr_array_new_with_free_func(g_free);
}

static void resp_clear(fake_resp *r)
{
    g_free(r->content_type);
    g_byte_array_unref(r->body);
    g_ptr_array_unref(r->headers);
}

/* GET path?token=token through the route, as the host would call it. */
static void get(const char *path, const char *token, fake_resp *r)
{
    fake_req q = {"GET", path, token};
    resp_init(r);
    g_ptr_array_set_size(log_lines, 0);
    r->rc = orchard_route_enroll.handle2(server_ctx, (const orchard_http_request *)&q,
                                         (orchard_http_response *)r, orchard_route_enroll.payload);
}

/* The body as a string (it is text or a plist). g_free. */
static char *body_text(const fake_resp *r)
{
    return g_strndup((const char *)r->body->data, r->body->len);
}

static const char *header(const fake_resp *r, const char *name)
{
    size_t n = strlen(name);
    for (guint i = 0; i < r->headers->len; i++) {
        const char *h = r->headers->pdata[i];
        if (g_ascii_strncasecmp(h, name, n) == 0 && h[n] == ':')
            return h + n + 2;
    }
    return NULL;
}

/* No log line holds `secret`. */
static int logs_free_of(const char *secret)
{
    for (guint i = 0; i < log_lines->len; i++)
        if (strstr(log_lines->pdata[i], secret)) {
            fprintf(stderr, "\n  log shows a secret: %s\n", (char *)log_lines->pdata[i]);
            return 0;
        }
    return 1;
}

/* Serve with the fixtures' good configuration plus kv. */
static void serve_with(const char *const *kv)
{
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL;
    mdmfx_apply_config(kv);
    int rc = orchard_mdm_config_load(&fake_host, &cfg, &err);
    if (rc)
        fprintf(stderr, "\n  config: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    orchard_serve_state_set(server_ctx, cfg);
    orchard_serve_set_listen_url(server_ctx, "http://127.0.0.1:8080");
}

/* ---- suite setup ------------------------------------------------------------ */

/* (Re)open the process's store on `path`; 0 on success. */
static int reopen_store(const char *path)
{
    g_autofree char *err = NULL;
    orchard_store_close();
    int rc = orchard_store_open(orchard_test_store(path), &err);
    if (rc)
        fprintf(stderr, "\n  store %s: %s\n", path, err ? err : "(no message)");
    return rc;
}

static int suite_init(void)
{
    if (mdmfx_setup() || enroll_fixture_init())
        return -1;
    log_lines = g_ptr_array_new_with_free_func(g_free);
    fake_host_init();
    saved_host = orchard_server_host;
    orchard_server_host = &fake_host;
    server_ctx = orchard_ctx_new(NULL);
    orchard_server_init(server_ctx);
    store_path = tmp_path("enroll.db");
    store_ok = reopen_store(store_path) == 0 && orchard_server_store_migrate() == 0;
    return 0;
}

static int suite_cleanup(void)
{
    orchard_serve_state_set(server_ctx, NULL);
    orchard_server_deinit(server_ctx);
    g_clear_pointer(&server_ctx, orchard_ctx_free);
    orchard_store_close();
    orchard_server_host = saved_host;
    enroll_fixture_cleanup();
    g_clear_pointer(&store_path, g_free);
    g_clear_pointer(&log_lines, g_ptr_array_unref);
    return mdmfx_teardown();
}

/* The tests below that need the host's store say so when it is missing. */
#define NEED_STORE()                                                                          \
    do {                                                                                      \
        if (!store_ok)                                                                        \
            fprintf(stderr, "\n  the host store (host/store) could not be opened\n");   \
        CU_ASSERT_FATAL(store_ok);                                                            \
    } while (0)

/* ---- configuration: org_info.org_name --------------------------------------- */

static int load_org(const char *value, orchard_mdm_config **cfg, char **err)
{
    const char *kv[] = {"org_info.org_name", value, NULL};
    mdmfx_apply_config(kv);
    return orchard_mdm_config_load(&fake_host, cfg, err);
}

static void test_config__org_name(void)
{
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(load_org(NULL, &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg->org_name, "orchard");
    orchard_mdm_config_free(cfg);

    CU_ASSERT_EQUAL_FATAL(load_org(HOSTILE_ORG, &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg->org_name, HOSTILE_ORG);
    orchard_mdm_config_free(cfg);

    /* 55 characters (110 bytes of UTF-8) fit; 56 don't. */
    GString *s = g_string_new(NULL);
    for (int i = 0; i < 55; i++)
        g_string_append(s, "\xc3\xa9");
    CU_ASSERT_EQUAL(load_org(s->str, &cfg, &err), 0);
    orchard_mdm_config_free(cfg);
    g_string_append_c(s, 'x');
    const char *bad[] = {s->str, "Acme\nInc", "Acme\x1b[31m", "Acme\xff", "   "};
    const char *why[] = {"longer than 55", "control character", "control character",
                         "not UTF-8", "blank"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_clear_pointer(&err, g_free);
        cfg = NULL;
        CU_ASSERT_EQUAL(load_org(bad[i], &cfg, &err), ORCHARD_EINVAL);
        CU_ASSERT_PTR_NULL(cfg);
        CU_ASSERT(contains(err, "org_info.org_name"));
        CU_ASSERT(contains(err, why[i]));
    }
    g_string_free(s, TRUE);
    mdmfx_apply_config(NULL);
}

/* `config check` lists the key, with its default or value. */
static void test_config__check_shows_org_name(void)
{
    g_autofree char *path = mdmfx_write_config(NULL);
    g_autofree char *out = NULL, *err = NULL;
    const char *args[] = {"--config", path, "config", "check", NULL};
    CU_ASSERT_EQUAL(mdmfx_run(args, NULL, &out, &err), 0);
    CU_ASSERT(contains(out, "org_info:\n  org_name: orchard  # default"));
    g_free(out);
    g_free(err);
    const char *env[] = {"ORCHARD_ORG_INFO_ORG_NAME=Acme Corp", NULL};
    CU_ASSERT_EQUAL(mdmfx_run(args, env, &out, &err), 0);
    CU_ASSERT(contains(out, "org_name: Acme Corp"));
}

/* ---- the route ------------------------------------------------------------- */

/* MDM off (or not serving): the route sits behind the host's "mdm" gate,
 * which the host answers 404 for, with the reason the serve state gives it
 * (the whole path through the host: http_guard and scep_interop). */
static void test_route__mdm_off(void)
{
    CU_ASSERT_STRING_EQUAL(orchard_route_enroll.gate, "mdm");
    orchard_serve_state_set(server_ctx, NULL);
    CU_ASSERT_EQUAL(gate.open, 0);
    CU_ASSERT(contains(gate.reason, "MDM is not configured"));

    const char *kv[] = {"mdm.apple_apns_cert", NULL, "mdm.apple_apns_key", NULL,
                        "mdm.apple_scep_cert", NULL, "mdm.apple_scep_key", NULL, NULL};
    serve_with(kv);
    CU_ASSERT_EQUAL(gate.open, 0);
    CU_ASSERT(contains(gate.reason, "mdm.apple_apns_cert"));
    serve_with(NULL);
    CU_ASSERT_EQUAL(gate.open, 1);
    CU_ASSERT_STRING_EQUAL(gate.name, "mdm");
    orchard_serve_state_set(server_ctx, NULL);
    CU_ASSERT_EQUAL(gate.open, 0);
}

/* Missing, empty, malformed: one 404 that doesn't say which. */
static void test_route__bad_token(void)
{
    const char *tokens[] = {NULL, "", "has space", "a/b", "<script>", "x;DROP TABLE"};
    serve_with(NULL);
    g_autofree char *long_token = g_strnfill(500, 'A');
    for (size_t i = 0; i <= G_N_ELEMENTS(tokens); i++) {
        fake_resp r;
        get("/api/mdm/apple/enroll", i < G_N_ELEMENTS(tokens) ? tokens[i] : long_token, &r);
        CU_ASSERT_EQUAL(r.status, 404);
        g_autofree char *t = body_text(&r);
        CU_ASSERT_STRING_EQUAL(t, "unknown enrollment token\n");
        resp_clear(&r);
    }
    orchard_serve_state_set(server_ctx, NULL);
}

static void test_route__subpath(void)
{
    fake_resp r;
    serve_with(NULL);
    get("/api/mdm/apple/enroll/x", "whatever", &r);
    CU_ASSERT_EQUAL(r.status, 404);
    resp_clear(&r);
    orchard_serve_state_set(server_ctx, NULL);
}

static void test_route__unknown_token(void)
{
    NEED_STORE();
    serve_with(NULL);
    fake_resp r;
    /* Well formed, never created. */
    get("/api/mdm/apple/enroll", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &r);
    CU_ASSERT_EQUAL(r.status, 404);
    g_autofree char *t = body_text(&r);
    CU_ASSERT_STRING_EQUAL(t, "unknown enrollment token\n");
    resp_clear(&r);
    orchard_serve_state_set(server_ctx, NULL);
}

/* The store failing: 503 and a log line, never a profile. */
static void test_route__store_failure(void)
{
    serve_with(NULL);
    fake_resp r;
    fail_begin = 1; /* the token can't be checked */
    get("/api/mdm/apple/enroll", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &r);
    fail_begin = 0;
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT(g_strcmp0(r.content_type, "application/x-apple-aspen-config") != 0);
    CU_ASSERT(log_lines->len >= 1);
    resp_clear(&r);

    if (store_ok) { /* the token is good but the challenge can't be stored */
        char *token = NULL;
        CU_ASSERT_EQUAL_FATAL(orchard_server_store_token_create("store failure", &token), 0);
        fail_begin = 2;
        get("/api/mdm/apple/enroll", token, &r);
        fail_begin = 0;
        CU_ASSERT_EQUAL(r.status, 503);
        CU_ASSERT(g_strcmp0(r.content_type, "application/x-apple-aspen-config") != 0);
        g_autofree char *t = body_text(&r);
        CU_ASSERT(!strstr(t, "PayloadContent"));
        CU_ASSERT(logs_free_of(token));
        resp_clear(&r);
        g_free(token);
    }
    orchard_serve_state_set(server_ctx, NULL);
}

/* The challenge inside a served profile (SCEP payload). g_free. */
static char *challenge_of(plist_t root)
{
    plist_t scep = plist_array_get_item(plist_dict_get_item(root, "PayloadContent"), 0);
    return g_strdup(str_at(plist_dict_get_item(scep, "PayloadContent"), "Challenge"));
}

static void test_route__serves_profile(void)
{
    NEED_STORE();
    const char *kv[] = {"org_info.org_name", HOSTILE_ORG, NULL};
    serve_with(kv);
    char *token = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_server_store_token_create("Sales laptops", &token), 0);

    fake_resp r;
    get("/api/mdm/apple/enroll", token, &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 200);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(r.content_type, "application/x-apple-aspen-config");
    CU_ASSERT_STRING_EQUAL(header(&r, "Content-Disposition"),
                           "attachment; filename=\"Acme-Sons-Ltd-enrollment.mobileconfig\"");
    CU_ASSERT_STRING_EQUAL(header(&r, "Cache-Control"), "no-store");

    plist_t root = parse_xml((const char *)r.body->data, r.body->len);
    g_autofree char *challenge = challenge_of(root);
    /* server.url, not the listening address; the one-time challenge, which
     * the SCEP server will find in the store, never the static one. */
    expected e = {"https://mdm.example.com", HOSTILE_ORG, mdmfx_state.topic, challenge, {0}};
    check_profile(root, &e);
    plist_free(root);
    CU_ASSERT(strcmp(challenge, MDMFX_CHALLENGE) != 0);
    CU_ASSERT(strlen(challenge) >= 43);
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    CU_ASSERT_EQUAL(orchard_server_store_challenge_check(challenge, now), 0);
    /* ... and it lives mdm.apple_scep_challenge_ttl (1h by default). */
    CU_ASSERT_EQUAL(orchard_server_store_challenge_check(challenge, now + 3500), 0);
    CU_ASSERT_EQUAL(orchard_server_store_challenge_check(challenge, now + 3700),
                    ORCHARD_ENOTFOUND);

    /* One INFO line, without the token or the challenge. */
    int info = 0;
    for (guint i = 0; i < log_lines->len; i++)
        info += g_str_has_prefix(log_lines->pdata[i], "2 ") &&
                strstr(log_lines->pdata[i], "profile served");
    CU_ASSERT_EQUAL(info, 1);
    CU_ASSERT(logs_free_of(token));
    CU_ASSERT(logs_free_of(challenge));
    resp_clear(&r);

    /* Every download gets its own challenge. */
    get("/api/mdm/apple/enroll", token, &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 200);
    root = parse_xml((const char *)r.body->data, r.body->len);
    g_autofree char *challenge2 = challenge_of(root);
    plist_free(root);
    CU_ASSERT(strcmp(challenge, challenge2) != 0);
    resp_clear(&r);
    g_free(token);
    orchard_serve_state_set(server_ctx, NULL);
}

/* 2026-12-05: 3,000 profile downloads with one token took 0.8 s and left
 * 3,000 challenge rows. Downloads per token are limited per minute
 * (mdm.enroll_downloads_per_minute): past it 429 with Retry-After; another
 * token is not affected; 0 turns the limit off. */
static void test_route__download_limit(void)
{
    NEED_STORE();
    const char *kv[] = {"mdm.enroll_downloads_per_minute", "3", NULL};
    serve_with(kv);
    orchard_enroll_download_reset();
    g_autofree char *token = NULL, *other = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_server_store_token_create("limited", &token), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_server_store_token_create("other", &other), 0);

    fake_resp r;
    for (int i = 0; i < 3; i++) {
        get("/api/mdm/apple/enroll", token, &r);
        CU_ASSERT_EQUAL(r.status, 200);
        resp_clear(&r);
    }
    get("/api/mdm/apple/enroll", token, &r);
    CU_ASSERT_EQUAL(r.status, 429);
    const char *retry = header(&r, "Retry-After");
    CU_ASSERT_PTR_NOT_NULL_FATAL(retry);
    CU_ASSERT(atoi(retry) >= 1 && atoi(retry) <= 60);
    CU_ASSERT(logs_free_of(token));
    resp_clear(&r);
    get("/api/mdm/apple/enroll", other, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    resp_clear(&r);

    const char *off[] = {"mdm.enroll_downloads_per_minute", "0", NULL};
    serve_with(off);
    get("/api/mdm/apple/enroll", token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    resp_clear(&r);
    orchard_enroll_download_reset();
    orchard_serve_state_set(server_ctx, NULL);
}

static void test_route__serves_signed_profile(void)
{
    NEED_STORE();
    g_autofree char *cert = tmp_path("sign.crt"), *key = tmp_path("sign.key");
    const char *kv[] = {"server.profile_signing_cert", cert, "server.profile_signing_key", key,
                        NULL};
    serve_with(kv);
    char *token = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_server_store_token_create(NULL, &token), 0);
    fake_resp r;
    get("/api/mdm/apple/enroll", token, &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.content_type, "application/x-apple-aspen-config");
    CU_ASSERT_STRING_EQUAL(header(&r, "Content-Disposition"),
                           "attachment; filename=\"orchard-enrollment.mobileconfig\"");
    gsize len = 0;
    g_autofree char *content = cms_verify(r.body->data, r.body->len, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(content);
    plist_t root = parse_xml(content, len);
    g_autofree char *challenge = challenge_of(root);
    expected e = {"https://mdm.example.com", "orchard", mdmfx_state.topic, challenge, {0}};
    check_profile(root, &e);
    plist_free(root);
    CU_ASSERT(contains(log_lines->len ? log_lines->pdata[log_lines->len - 1] : "",
                       "signed profile served"));
    resp_clear(&r);
    g_free(token);
    orchard_serve_state_set(server_ctx, NULL);
}

/* ---- enroll-token create ------------------------------------------------------ */

/* Run `orchard --config <kv config> enroll-token create args...`. */
static int token_cmd(const char *const *kv, const char *const *args, char **out, char **err)
{
    g_autofree char *path = mdmfx_write_config(kv);
    const char *argv[16] = {"--config", path, "enroll-token", "create"};
    size_t n = 4;
    for (size_t i = 0; args && args[i] && n < G_N_ELEMENTS(argv) - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return mdmfx_run(argv, NULL, out, err);
}

/* The last line of `out`. g_free. */
static char *last_line(const char *out)
{
    g_auto(GStrv) lines = g_strsplit(out ? out : "", "\n", -1);
    guint n = g_strv_length(lines);
    while (n > 0 && !*lines[n - 1])
        n--;
    return g_strdup(n ? lines[n - 1] : "");
}

static void test_token_cmd__create(void)
{
    NEED_STORE();
    g_autofree char *db = tmp_path("tokens.db");
    const char *kv[] = {"store.sqlite", db, NULL};
    const char *args[] = {"--name", "Sales laptops", NULL};
    g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL;

    int rc = token_cmd(kv, args, &out, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  enroll-token create: %s\n", err);
    g_autofree char *token = last_line(out);
    CU_ASSERT_EQUAL(strlen(token), 43);
    CU_ASSERT_EQUAL(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789-_"), strlen(token));
    CU_ASSERT(contains(out, "Sales laptops"));
    g_autofree char *url = g_strdup_printf("https://mdm.example.com/api/mdm/apple/enroll?token=%s",
                                           token);
    CU_ASSERT(contains(out, url));

    CU_ASSERT_EQUAL(token_cmd(kv, NULL, &out2, &err2), 0);
    g_autofree char *token2 = last_line(out2);
    CU_ASSERT(strcmp(token, token2) != 0);

    /* Both are in the store the command was pointed at. */
    CU_ASSERT_EQUAL_FATAL(reopen_store(db), 0);
    CU_ASSERT_EQUAL(orchard_server_store_token_check(token, NULL), 0);
    CU_ASSERT_EQUAL(orchard_server_store_token_check(token2, NULL), 0);
    CU_ASSERT_EQUAL(orchard_server_store_token_check("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL),
                    ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(reopen_store(store_path), 0);
    CU_ASSERT_EQUAL(mdmfx_leaks(), 0);
}

static void test_token_cmd__without_url(void)
{
    NEED_STORE();
    g_autofree char *db = tmp_path("tokens-nourl.db");
    const char *kv[] = {"store.sqlite", db, "server.url", NULL, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(token_cmd(kv, NULL, &out, &err), 0);
    CU_ASSERT(contains(out, "server.url is not set"));
    g_autofree char *token = last_line(out);
    CU_ASSERT_EQUAL(strlen(token), 43);
}

static void test_token_cmd__no_store(void)
{
    const char *kv[] = {"store.sqlite", NULL, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(token_cmd(kv, NULL, &out, &err), 1);
    CU_ASSERT(contains(err, "store.sqlite"));
    CU_ASSERT(contains(err, "not configured"));
}

static void test_token_cmd__bad_args(void)
{
    const char *const cases[][4] = {
        {"--bogus", NULL, NULL},
        {"--name", NULL, NULL},
        {"--name", "", NULL},
        {"--name", "a\nb", NULL},
        {"stray", NULL, NULL},
        {"--name", "a", "--name=b"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(token_cmd(NULL, cases[i], &out, &err), 2);
        CU_ASSERT(contains(err, "usage: orchard enroll-token create"));
    }
    g_autofree char *out = NULL, *err = NULL;
    const char *help[] = {"--help", NULL};
    CU_ASSERT_EQUAL(token_cmd(NULL, help, &out, &err), 0);
    CU_ASSERT(contains(out, "--name N"));
}

/* ---- end to end: `orchard serve` and curl ------------------------------------- */


/* Read the child's stdout until `want` shows up or 15 s pass. */
static int wait_for_output(int fd, const char *want)
{
    GString *seen = g_string_new(NULL);
    gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
    int found = 0;
    while (!found && g_get_monotonic_time() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char buf[512];
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        g_string_append_len(seen, buf, n);
        found = strstr(seen->str, want) != NULL;
    }
    if (!found)
        fprintf(stderr, "\n  serve said:\n%s\n", seen->str);
    g_string_free(seen, TRUE);
    return found;
}

/* curl `url` into tmp_dir/body.bin and hdr.txt; the HTTP status, or -1. */
static int curl_get(const char *curl, const char *url)
{
    g_autofree char *out = NULL;
    if (RUN(&out, NULL, curl, "-sS", "--max-time", "20", "-D", "hdr.txt", "-o", "body.bin",
            "-w", "%{http_code}", url) != 0)
        return -1;
    return atoi(out);
}

static void test_e2e__serve_and_download(void)
{
    NEED_STORE();
    g_autofree char *curl = g_find_program_in_path("curl");
    if (!curl) {
        fprintf(stderr, "\n  curl not found: end-to-end download not tested\n");
        return;
    }
    int port = mdmfx_free_port();
    CU_ASSERT_FATAL(port > 0);
    g_autofree char *db = tmp_path("e2e.db");
    g_autofree char *address = g_strdup_printf("127.0.0.1:%d", port);
    const char *kv[] = {"store.sqlite", db, "server.address", address, NULL};
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(token_cmd(kv, NULL, &out, &err), 0);
    g_autofree char *token = last_line(out);

    g_autofree char *cfg_path = mdmfx_write_config(kv);
    const char *argv[] = {ORCHARD_BIN, "--config", cfg_path, "serve", NULL};
    GPid pid = 0;
    int out_fd = -1;
    CU_ASSERT_FATAL(g_spawn_async_with_pipes(tmp_dir, (char **)argv, NULL,
                                             G_SPAWN_DO_NOT_REAP_CHILD |
                                                 G_SPAWN_STDERR_TO_DEV_NULL,
                                             NULL, NULL, &pid, NULL, &out_fd, NULL, NULL));
    int up = wait_for_output(out_fd, "listening on");
    CU_ASSERT(up);
    if (up) {
        g_autofree char *url = g_strdup_printf(
            "http://%s/api/mdm/apple/enroll?token=%s", address, token);
        CU_ASSERT_EQUAL(curl_get(curl, url), 200);
        g_autofree char *hdr = NULL, *body = NULL;
        gsize len = 0;
        g_autofree char *hp = tmp_path("hdr.txt"), *bp = tmp_path("body.bin");
        CU_ASSERT(g_file_get_contents(hp, &hdr, NULL, NULL));
        CU_ASSERT(g_file_get_contents(bp, &body, &len, NULL));
        g_autofree char *lower = g_ascii_strdown(hdr ? hdr : "", -1);
        CU_ASSERT(contains(lower, "content-type: application/x-apple-aspen-config"));
        CU_ASSERT(contains(lower, "content-disposition: attachment; "
                                  "filename=\"orchard-enrollment.mobileconfig\""));
        CU_ASSERT(contains(lower, "cache-control: no-store"));
        plist_t root = body ? parse_xml(body, len) : NULL;
        CU_ASSERT_PTR_NOT_NULL(root);
        if (root) {
            g_autofree char *challenge = challenge_of(root);
            expected e = {"https://mdm.example.com", "orchard", mdmfx_state.topic, challenge,
                          {0}};
            check_profile(root, &e);
            plist_free(root);
            /* The challenge is in the server's store, one-time and unused. */
            CU_ASSERT_EQUAL_FATAL(reopen_store(db), 0);
            CU_ASSERT_EQUAL(orchard_server_store_challenge_check(
                                challenge, g_get_real_time() / G_USEC_PER_SEC), 0);
            CU_ASSERT_EQUAL(reopen_store(store_path), 0);
        }
        g_autofree char *bad = g_strdup_printf(
            "http://%s/api/mdm/apple/enroll?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            address);
        CU_ASSERT_EQUAL(curl_get(curl, bad), 404);
        g_autofree char *nobody = g_strdup_printf("http://%s/api/mdm/apple/enroll", address);
        CU_ASSERT_EQUAL(curl_get(curl, nobody), 404);
    }
    kill(pid, SIGTERM);
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_spawn_close_pid(pid);
    close(out_fd);
}

void enroll_suite(void)
{
    ORCHARD_ADD_SUITE("enroll", suite_init, suite_cleanup,
                      {"config__org_name", test_config__org_name},
                      {"config__check_shows_org_name", test_config__check_shows_org_name},
                      {"route__mdm_off", test_route__mdm_off},
                      {"route__bad_token", test_route__bad_token},
                      {"route__subpath", test_route__subpath},
                      {"route__unknown_token", test_route__unknown_token},
                      {"route__store_failure", test_route__store_failure},
                      {"route__serves_profile", test_route__serves_profile},
                      {"route__serves_signed_profile", test_route__serves_signed_profile},
                      {"route__download_limit", test_route__download_limit},
                      {"token_cmd__create", test_token_cmd__create},
                      {"token_cmd__without_url", test_token_cmd__without_url},
                      {"token_cmd__no_store", test_token_cmd__no_store},
                      {"token_cmd__bad_args", test_token_cmd__bad_args},
                      {"e2e__serve_and_download", test_e2e__serve_and_download});
}
