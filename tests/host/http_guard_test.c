/* Route gates and guards over real HTTP (guard_fixture.c serves the test
 * plugin with the real orchard_http.so; libcurl is the client), plus the
 * parsers behind them called directly: the proxy's certificate header, the
 * DER shape check, the JSON errors. A real certificate is made with the
 * openssl command at suite start. */
#include "tests/suites.h"

#include "host/http/http_guard.h"
#include "host/http/http_internal.h"
#include "host/plugins/plugin_ctx.h"
#include "host/settings.h"
#include "tests/host/guard_fixture.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define CERT_HEADER_KEY "server.client_cert_header"

static char *cert_pem;          /* the test certificate, PEM */
static unsigned char *cert_der; /* and DER, as `openssl x509 -outform DER` wrote it */
static size_t cert_der_len;
static char *cert_sha256;
static orchard_ctx *settings_owner; /* set when this suite declared the key */

/* ---- suite state */

static int run_openssl(const char *const *argv)
{
    int status = -1;
    g_autoptr(GError) err = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                          G_SPAWN_STDERR_TO_DEV_NULL,
                      NULL, NULL, NULL, NULL, &status, &err) ||
        !g_spawn_check_wait_status(status, NULL)) {
        fprintf(stderr, "http_guard: %s failed\n", argv[1]);
        return -1;
    }
    return 0;
}

static int make_cert(void)
{
    g_autofree char *dir = g_dir_make_tmp("orchard-guard-XXXXXX", NULL);
    g_autofree char *pem = g_build_filename(dir, "cert.pem", NULL);
    g_autofree char *der = g_build_filename(dir, "cert.der", NULL);
    g_autofree char *key = g_build_filename(dir, "key.pem", NULL);
    const char *req[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", pem,
                         "-days", "1", "-subj", "/CN=device-C02XYZ", NULL};
    const char *x509[] = {"openssl", "x509", "-in", pem, "-outform", "DER", "-out", der, NULL};
    int rc = run_openssl(req) || run_openssl(x509) ||
             !g_file_get_contents(pem, &cert_pem, NULL, NULL) ||
             !g_file_get_contents(der, (char **)&cert_der, &cert_der_len, NULL);
    g_unlink(pem);
    g_unlink(der);
    g_unlink(key);
    g_rmdir(dir);
    if (!rc)
        cert_sha256 = g_compute_checksum_for_data(G_CHECKSUM_SHA256, cert_der, cert_der_len);
    return rc ? -1 : 0;
}

static void set_cert_header(const char *name)
{
    CU_ASSERT_EQUAL(orchard_settings_override(NULL, CERT_HEADER_KEY, name ? name : ""), 0);
}

static int suite_init(void)
{
    if (make_cert() != 0 || guard_fixture_init() != 0)
        return 1;
    /* The host's core plugin declares the key; with no core plugin here,
     * this suite does, unless someone already has. */
    if (!orchard_settings_find(CERT_HEADER_KEY, NULL)) {
        const orchard_setting *const decl[] = {&orchard_setting_server_client_cert_header};
        g_autofree char *err = NULL;
        settings_owner = orchard_ctx_new(NULL);
        if (orchard_settings_add_owner(settings_owner, decl, 1, &err) != 0) {
            fprintf(stderr, "http_guard: %s\n", err);
            return 1;
        }
    }
    return 0;
}

static int suite_cleanup(void)
{
    orchard_settings_override(NULL, CERT_HEADER_KEY, "");
    if (settings_owner) {
        orchard_settings_forget_owner(settings_owner);
        g_clear_pointer(&settings_owner, g_free);
    }
    guard_fixture_cleanup();
    g_clear_pointer(&cert_pem, g_free);
    g_clear_pointer(&cert_der, g_free);
    g_clear_pointer(&cert_sha256, g_free);
    return 0;
}

/* Every test starts from no gates, no authenticator, no header setting. */
static void fresh(void)
{
    orchard_http_guard_reset();
    set_cert_header(NULL);
    atomic_store(&guard_auth_calls, 0);
}

static int with_auth(void)
{
    return guard_host->auth_register(guard_ctx, guard_authenticate, NULL);
}

/* ---- checking answers */

static int has_header(const guard_response *r, const char *name)
{
    g_autofree char *lower = g_ascii_strdown(r->headers->str, -1);
    g_autofree char *want = g_ascii_strdown(name, -1);
    return strstr(lower, want) != NULL;
}

/* The body is Fleet's error shape, exactly; returns its message (g_free). */
static char *fleet_error(const char *body, const char **field_out, char **reason_out)
{
    json_error_t jerr;
    json_t *doc = json_loads(body, 0, &jerr), *errors, *e;
    const char *message = NULL, *name = NULL, *reason = NULL;
    char *out = NULL;

    if (doc && json_is_object(doc) && json_object_size(doc) == 2 &&
        json_unpack(doc, "{s:s, s:o}", "message", &message, "errors", &errors) == 0 &&
        json_is_array(errors) && json_array_size(errors) == 1 && (e = json_array_get(errors, 0)) &&
        json_object_size(e) == 2 && json_unpack(e, "{s:s, s:s}", "name", &name, "reason", &reason) == 0) {
        out = g_strdup(message);
        if (field_out)
            *field_out = g_intern_string(name);
        if (reason_out)
            *reason_out = g_strdup(reason);
    }
    json_decref(doc);
    return out;
}

/* A guard's refusal: status, JSON content type, Fleet's shape with "base",
 * no challenge header; the message contains `part`. */
#define EXPECT_REFUSAL(r, want_status, part)                                            \
    do {                                                                                \
        const char *field_ = NULL;                                                      \
        g_autofree char *msg_ = fleet_error((r).body->str, &field_, NULL);              \
        CU_ASSERT_EQUAL((r).code, CURLE_OK);                                            \
        CU_ASSERT_EQUAL((r).status, want_status);                                       \
        CU_ASSERT_TRUE(has_header(&(r), "Content-Type: application/json\r\n"));         \
        CU_ASSERT_FALSE(has_header(&(r), "WWW-Authenticate"));                          \
        CU_ASSERT_PTR_NOT_NULL(msg_);                                                   \
        CU_ASSERT_PTR_NOT_NULL(msg_ ? strstr(msg_, part) : NULL);                       \
        CU_ASSERT_STRING_EQUAL(field_ ? field_ : "(none)", "base");                     \
        if (!msg_ || !strstr(msg_, part) || (r).status != want_status)                  \
            fprintf(stderr, "\n  got %ld %s\n", (r).status, (r).body->str);             \
    } while (0)

#define EXPECT_OK(r, text)                                                              \
    do {                                                                                \
        CU_ASSERT_EQUAL((r).code, CURLE_OK);                                            \
        CU_ASSERT_EQUAL((r).status, 200);                                               \
        CU_ASSERT_STRING_EQUAL((r).body->str, text);                                    \
    } while (0)

/* GET `path` with up to two header lines (NULL for none) into r. */
static void get(guard_server *s, const char *path, const char *h1, const char *h2,
                guard_response *r)
{
    const char *headers[] = {h1, h2, NULL};
    guard_get(guard_server_url(s), path, h1 ? headers : NULL, r);
}

#define SERVE(s)                                                                        \
    fresh();                                                                            \
    guard_server *s = guard_server_start();                                             \
    CU_ASSERT_PTR_NOT_NULL_FATAL(s)

/* ---- gates */

static void test_http_guard__gate_closed_open_closed(void)
{
    guard_response r;
    SERVE(s);

    get(s, "/gated", NULL, NULL, &r); /* never set: closed, "not configured" */
    EXPECT_REFUSAL(r, 404, "not configured");
    guard_response_clear(&r);

    CU_ASSERT_EQUAL(guard_host->gate_set(guard_ctx, "mdm", 0, "MDM is off: no APNs certificate"),
                    0);
    get(s, "/gated", NULL, NULL, &r);
    EXPECT_REFUSAL(r, 404, "MDM is off: no APNs certificate");
    guard_response_clear(&r);

    CU_ASSERT_EQUAL(guard_host->gate_set(guard_ctx, "mdm", 1, NULL), 0);
    get(s, "/gated", NULL, NULL, &r);
    EXPECT_OK(r, "gated ok");
    guard_response_clear(&r);

    CU_ASSERT_EQUAL(guard_host->gate_set(guard_ctx, "mdm", 0, "the APNs certificate expired"), 0);
    get(s, "/gated", NULL, NULL, &r);
    EXPECT_REFUSAL(r, 404, "the APNs certificate expired");
    guard_response_clear(&r);

    /* Another gate is another gate. */
    CU_ASSERT_EQUAL(guard_host->gate_set(guard_ctx, "dep", 1, NULL), 0);
    get(s, "/gated", NULL, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 404);
    guard_response_clear(&r);
    CU_ASSERT_EQUAL(guard_server_stop(s), 0);
}

static void test_http_guard__gate_names(void)
{
    static const char *const bad[] = {"", "MDM", "m d m", "mdm/x", "mdm\n"};
    char long_name[66];

    fresh();
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        CU_ASSERT_EQUAL(guard_host->gate_set(guard_ctx, bad[i], 1, NULL), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(guard_host->gate_set(guard_ctx, NULL, 1, NULL), ORCHARD_EINVAL);
    memset(long_name, 'g', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    CU_ASSERT_EQUAL(guard_host->gate_set(guard_ctx, long_name, 1, NULL), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(guard_host->gate_set(guard_ctx, "mdm.apple-v2_x", 1, NULL), 0);
}

static void test_http_guard__gate_before_guard(void)
{
    guard_response r;
    SERVE(s);

    CU_ASSERT_EQUAL(with_auth(), 0);
    get(s, "/gated-admin", "Authorization: Bearer admin:root@example.com", NULL, &r);
    EXPECT_REFUSAL(r, 404, "not configured");
    CU_ASSERT_EQUAL(atomic_load(&guard_auth_calls), 0); /* nobody was asked */
    guard_response_clear(&r);

    guard_host->gate_set(guard_ctx, "mdm", 1, NULL);
    get(s, "/gated-admin", NULL, NULL, &r); /* open, but no credentials */
    EXPECT_REFUSAL(r, 401, "Authentication required");
    guard_response_clear(&r);
    get(s, "/gated-admin", "Authorization: Bearer admin:root@example.com", NULL, &r);
    EXPECT_OK(r, "gated admin ok");
    guard_response_clear(&r);
    CU_ASSERT_EQUAL(guard_server_stop(s), 0);
}

/* ---- device identities */

static char *rfc9440_header(const char *name)
{
    g_autofree char *b64 = g_base64_encode(cert_der, cert_der_len);
    return g_strdup_printf("%s: :%s:", name, b64);
}

static char *nginx_header(const char *name)
{
    g_autofree char *escaped = g_uri_escape_string(cert_pem, NULL, FALSE);
    return g_strdup_printf("%s: %s", name, escaped);
}

static void test_http_guard__device_without_certificate(void)
{
    guard_response r;
    SERVE(s);
    g_autofree char *h = rfc9440_header("Client-Cert");

    get(s, "/device", NULL, NULL, &r);
    EXPECT_REFUSAL(r, 401, "client certificate");
    guard_response_clear(&r);
    /* The setting is off: a client's own header proves nothing. */
    get(s, "/device", h, NULL, &r);
    EXPECT_REFUSAL(r, 401, "client certificate");
    guard_response_clear(&r);
    get(s, "/open", h, NULL, &r);
    EXPECT_OK(r, "principal=(none) role=0 cert=0");
    guard_response_clear(&r);
    CU_ASSERT_EQUAL(guard_server_stop(s), 0);
}

static void test_http_guard__device_proxy_header_rfc9440(void)
{
    guard_response r;
    SERVE(s);
    g_autofree char *h = rfc9440_header("client-cert"); /* names are case-insensitive */
    g_autofree char *want = g_strdup_printf("device %zu %s", cert_der_len, cert_sha256);

    set_cert_header("Client-Cert");
    get(s, "/device", h, NULL, &r);
    EXPECT_OK(r, want);
    guard_response_clear(&r);
    CU_ASSERT_EQUAL(guard_server_stop(s), 0);
    set_cert_header(NULL);
}

static void test_http_guard__device_proxy_header_nginx(void)
{
    guard_response r;
    SERVE(s);
    g_autofree char *h = nginx_header("X-SSL-Client-Cert");
    g_autofree char *want = g_strdup_printf("device %zu %s", cert_der_len, cert_sha256);

    CU_ASSERT_PTR_NOT_NULL(strstr(h, "-----BEGIN%20CERTIFICATE-----%0A"));
    set_cert_header("X-SSL-Client-Cert");
    get(s, "/device", h, NULL, &r);
    EXPECT_OK(r, want);
    guard_response_clear(&r);
    /* The other form in the configured header works too. */
    g_autofree char *h2 = rfc9440_header("X-SSL-Client-Cert");
    get(s, "/device", h2, NULL, &r);
    EXPECT_OK(r, want);
    guard_response_clear(&r);
    /* A header of another name is not read. */
    g_autofree char *h3 = rfc9440_header("Client-Cert");
    get(s, "/device", h3, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    guard_response_clear(&r);
    CU_ASSERT_EQUAL(guard_server_stop(s), 0);
    set_cert_header(NULL);
}

/* Header values that must not pass for a certificate (built from the real one). */
static GPtrArray *hostile_values(void)
{
    GPtrArray *v = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *b64 = g_base64_encode(cert_der, cert_der_len);
    g_autofree char *esc = g_uri_escape_string(cert_pem, NULL, FALSE);
    g_autofree char *hello = g_base64_encode((const guchar *)"hello, world", 12);
    static const unsigned char ints[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02};
    g_autofree char *seq = g_base64_encode(ints, sizeof ints);
    size_t n = strlen(b64), e = strlen(esc);

    g_ptr_array_add(v, g_strdup_printf(":%.*s$%s:", 10, b64, b64 + 11));     /* bad base64 */
    g_ptr_array_add(v, g_strdup_printf(":%.*s:", (int)(n - 8), b64));         /* truncated */
    g_ptr_array_add(v, g_strdup_printf(":%.*s:", (int)(n / 2 / 4 * 4), b64)); /* half */
    g_ptr_array_add(v, g_strdup(b64));                                         /* no colons */
    g_ptr_array_add(v, g_strdup_printf(":%s", b64));                           /* no closing */
    g_ptr_array_add(v, g_strdup_printf("%s:", b64));                           /* no opening */
    g_ptr_array_add(v, g_strdup_printf(":%s=", b64));                          /* '=' for ':' */
    g_ptr_array_add(v, g_strdup_printf(":%s:;v=1", b64));                      /* parameters */
    g_ptr_array_add(v, g_strdup_printf(":%s:", hello));                        /* not DER */
    g_ptr_array_add(v, g_strdup_printf(":%s:", seq));                          /* DER, not a cert */
    g_ptr_array_add(v, g_strdup("::"));
    g_ptr_array_add(v, g_strdup_printf("%.*s", (int)(e - 40), esc));          /* truncated PEM */
    g_ptr_array_add(v, g_strdup_printf("%.*s%%G1%s", 60, esc, esc + 60));     /* bad escape */
    g_ptr_array_add(v, g_strdup_printf("%.*s%%2", (int)e, esc));              /* cut escape */
    g_ptr_array_add(v, g_strdup_printf("%sjunk", esc));                        /* trailing junk */
    g_ptr_array_add(v, g_strdup_printf("%s%s", esc, esc));                     /* two certs */
    g_ptr_array_add(v, g_strdup_printf("-----BEGIN%%20CERTIFICATE-----%%0A%s%%0A"
                                       "-----END%%20CERTIFICATE-----%%0A", hello));
    GString *huge = g_string_new(":"); /* over the cap, otherwise well formed */
    while (huge->len < ORCHARD_CLIENT_CERT_HEADER_MAX)
        g_string_append(huge, "AAAA");
    g_string_append(huge, ":");
    g_ptr_array_add(v, g_string_free(huge, FALSE));
    return v;
}

static void test_http_guard__device_malformed_headers(void)
{
    guard_response r;
    SERVE(s);
    g_autoptr(GPtrArray) values = hostile_values();

    set_cert_header("Client-Cert");
    for (guint i = 0; i < values->len; i++) {
        g_autofree char *h = g_strdup_printf("Client-Cert: %s",
                                             (char *)g_ptr_array_index(values, i));
        get(s, "/device", h, NULL, &r);
        CU_ASSERT_EQUAL(r.status, 401);
        if (r.status != 401)
            fprintf(stderr, "\n  hostile value %u: got %ld\n", i, r.status);
        guard_response_clear(&r);
    }
    /* A good header twice: which one the proxy set is unknown, so neither. */
    g_autofree char *h = rfc9440_header("Client-Cert");
    get(s, "/device", h, h, &r);
    EXPECT_REFUSAL(r, 401, "client certificate");
    guard_response_clear(&r);
    CU_ASSERT_EQUAL(guard_server_stop(s), 0);
    set_cert_header(NULL);
}

/* ---- roles */

static void test_http_guard__roles(void)
{
    guard_response r;
    SERVE(s);
    const char *observer = "Authorization: Bearer observer:olga@example.com";
    const char *maintainer = "Authorization: Bearer maintainer:max@example.com";
    const char *admin = "Authorization: Bearer admin:alice@example.com";

    CU_ASSERT_EQUAL(with_auth(), 0);
    get(s, "/admin", NULL, NULL, &r);
    EXPECT_REFUSAL(r, 401, "Authentication required");
    guard_response_clear(&r);
    get(s, "/admin", "Authorization: Bearer nobody:x", NULL, &r);
    EXPECT_REFUSAL(r, 401, "Authentication required");
    guard_response_clear(&r);
    get(s, "/admin", observer, NULL, &r);
    EXPECT_REFUSAL(r, 403, "forbidden");
    guard_response_clear(&r);
    get(s, "/maintainer", observer, NULL, &r);
    EXPECT_REFUSAL(r, 403, "forbidden");
    guard_response_clear(&r);
    get(s, "/admin", maintainer, NULL, &r);
    EXPECT_REFUSAL(r, 403, "forbidden");
    guard_response_clear(&r);

    get(s, "/observer", observer, NULL, &r);
    EXPECT_OK(r, "who=olga@example.com role=1");
    guard_response_clear(&r);
    get(s, "/maintainer", maintainer, NULL, &r);
    EXPECT_OK(r, "who=max@example.com role=2");
    guard_response_clear(&r);
    get(s, "/observer", admin, NULL, &r); /* a higher role passes a lower guard */
    EXPECT_OK(r, "who=alice@example.com role=3");
    guard_response_clear(&r);
    get(s, "/admin", admin, NULL, &r);
    EXPECT_OK(r, "who=alice@example.com role=3");
    guard_response_clear(&r);
    /* An unguarded route knows no principal, credentials or not. */
    get(s, "/open", admin, NULL, &r);
    EXPECT_OK(r, "principal=(none) role=0 cert=0");
    guard_response_clear(&r);
    CU_ASSERT_EQUAL(guard_server_stop(s), 0);
}

static void test_http_guard__forbidden_names_the_role(void)
{
    guard_response r;
    char *reason = NULL;
    SERVE(s);

    CU_ASSERT_EQUAL(with_auth(), 0);
    get(s, "/admin", "Authorization: Bearer observer:olga@example.com", NULL, &r);
    g_autofree char *msg = fleet_error(r.body->str, NULL, &reason);
    CU_ASSERT_STRING_EQUAL(msg ? msg : "", "forbidden");
    CU_ASSERT_PTR_NOT_NULL(reason ? strstr(reason, "admin") : NULL);
    g_free(reason);
    guard_response_clear(&r);
    CU_ASSERT_EQUAL(guard_server_stop(s), 0);
}

static void test_http_guard__authenticator_failures(void)
{
    guard_response r;
    SERVE(s);

    CU_ASSERT_EQUAL(with_auth(), 0);
    get(s, "/observer", "Authorization: Bearer fail:x", NULL, &r);
    EXPECT_REFUSAL(r, 503, "credentials");
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "unreachable")); /* its message stays in the log */
    guard_response_clear(&r);
    /* A role past admin, or a role with no id: a broken authenticator lets nobody in. */
    get(s, "/observer", "Authorization: Bearer bogus:mallory", NULL, &r);
    EXPECT_REFUSAL(r, 503, "credentials");
    guard_response_clear(&r);
    get(s, "/observer", "Authorization: Bearer anonymous:", NULL, &r);
    EXPECT_REFUSAL(r, 503, "credentials");
    guard_response_clear(&r);
    CU_ASSERT_EQUAL(guard_server_stop(s), 0);
}

static void test_http_guard__no_user_store(void)
{
    guard_response r;
    SERVE(s);

    get(s, "/observer", "Authorization: Bearer admin:alice@example.com", NULL, &r);
    EXPECT_REFUSAL(r, 401, "no user store is configured");
    guard_response_clear(&r);
    CU_ASSERT_EQUAL(guard_server_stop(s), 0);
}

static void test_http_guard__register_once(void)
{
    fresh();
    CU_ASSERT_EQUAL(guard_host->auth_register(guard_ctx, NULL, NULL), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(with_auth(), 0);
    CU_ASSERT_EQUAL(with_auth(), ORCHARD_EEXIST);
    /* Its plugin unloading frees the place; another plugin's unload does not. */
    orchard_http_guard_forget(orchard_ctx_host());
    CU_ASSERT_EQUAL(with_auth(), ORCHARD_EEXIST);
    orchard_http_guard_forget(guard_ctx);
    CU_ASSERT_EQUAL(with_auth(), 0);
}

/* ---- old routes, failing handlers, unknown guards */

static void test_http_guard__old_route_unguarded(void)
{
    guard_response r;
    SERVE(s);

    CU_ASSERT_EQUAL(with_auth(), 0); /* the gate "mdm" is closed */
    get(s, "/old", NULL, NULL, &r);
    EXPECT_OK(r, "old ok principal=(none)");
    guard_response_clear(&r);
    get(s, "/old", "Authorization: Bearer admin:alice@example.com", NULL, &r);
    EXPECT_OK(r, "old ok principal=(none)");
    CU_ASSERT_EQUAL(atomic_load(&guard_auth_calls), 0);
    guard_response_clear(&r);
    CU_ASSERT_EQUAL(guard_server_stop(s), 0);
}

static void test_http_guard__failing_handler_json(void)
{
    guard_response r;
    char *reason = NULL;
    SERVE(s);

    get(s, "/failing", NULL, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 500);
    CU_ASSERT_TRUE(has_header(&r, "Content-Type: application/json\r\n"));
    CU_ASSERT_FALSE(has_header(&r, "X-Partial")); /* a failing handler's headers are dropped */
    const char *field = NULL;
    g_autofree char *msg = fleet_error(r.body->str, &field, &reason);
    /* Its message, with the invalid UTF-8 byte replaced so the JSON is valid. */
    CU_ASSERT_STRING_EQUAL(msg ? msg : "", "the store is gone: \"devices\" \xef\xbf\xbd unreadable");
    CU_ASSERT_STRING_EQUAL(reason ? reason : "", msg ? msg : "-");
    CU_ASSERT_STRING_EQUAL(field ? field : "", "base");
    g_free(reason);
    guard_response_clear(&r);
    CU_ASSERT_EQUAL(guard_server_stop(s), 0);
}

/* The registry refuses a route whose guard it doesn't know (registry
 * suite); should one reach the guard anyway, it answers 500 and the handler
 * never runs. */
static void test_http_guard__unknown_guard_refused(void)
{
    static const orchard_route r = {ORCHARD_STRUCT_HEADER(orchard_route), .method = "GET",
                                    .path_prefix = "/unknown-guard", .guard = 9};
    struct orchard_http_request req = {.method = "GET", .path = "/unknown-guard",
                                       .body = (const unsigned char *)"",
                                       .remote_addr = "127.0.0.1"};
    orchard_http_response *resp = orchard_http_response_new();
    CU_ASSERT_EQUAL(orchard_http_guard_check(&r, &req, resp), 500);
    CU_ASSERT_EQUAL(resp->status, 500);
    CU_ASSERT_PTR_NOT_NULL(
        resp->body && g_strstr_len((const char *)resp->body, (gssize)resp->body_len, "guard"));
    orchard_http_response_free(resp);
}

/* ---- many requests at once: each sees its own principal */

#define CLIENTS 6
#define PER_CLIENT 25

typedef struct {
    const char *base;
    int id;
    int wrong;
} client_job;

static gpointer client_main(gpointer p)
{
    client_job *job = p;
    for (int i = 0; i < PER_CLIENT; i++) {
        guard_response r;
        g_autofree char *auth = g_strdup_printf("Authorization: Bearer admin:u%d-%d@example.com",
                                                job->id, i);
        g_autofree char *want = g_strdup_printf("who=u%d-%d@example.com role=3", job->id, i);
        const char *h[] = {auth, NULL};
        guard_get(job->base, "/admin", h, &r);
        job->wrong += r.status != 200 || strcmp(r.body->str, want) != 0;
        guard_response_clear(&r);
        guard_get(job->base, "/open", NULL, &r); /* nothing left over from the last one */
        job->wrong += r.status != 200 || strcmp(r.body->str, "principal=(none) role=0 cert=0");
        guard_response_clear(&r);
    }
    return NULL;
}

static void test_http_guard__principals_concurrent(void)
{
    GThread *threads[CLIENTS];
    client_job jobs[CLIENTS];
    int wrong = 0;
    SERVE(s);

    CU_ASSERT_EQUAL(with_auth(), 0);
    for (int i = 0; i < CLIENTS; i++) {
        jobs[i] = (client_job){guard_server_url(s), i, 0};
        threads[i] = g_thread_new("guard-client", client_main, &jobs[i]);
    }
    for (int i = 0; i < CLIENTS; i++) {
        g_thread_join(threads[i]);
        wrong += jobs[i].wrong;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(atomic_load(&guard_auth_calls), CLIENTS * PER_CLIENT);
    CU_ASSERT_EQUAL(guard_server_stop(s), 0);
}

/* A gate flipping while requests run: each answer is one of the two, whole. */
typedef struct {
    const char *base;
    atomic_int *stop;
    int bad;
} flip_job;

static gpointer flip_client(gpointer p)
{
    flip_job *job = p;
    while (!atomic_load(job->stop)) {
        guard_response r;
        guard_get(job->base, "/gated", NULL, &r);
        g_autofree char *msg = r.status == 404 ? fleet_error(r.body->str, NULL, NULL) : NULL;
        job->bad += !(r.status == 200 && strcmp(r.body->str, "gated ok") == 0) &&
                    !(msg && strcmp(msg, "flipping") == 0);
        guard_response_clear(&r);
    }
    return NULL;
}

static void test_http_guard__gate_flips_in_flight(void)
{
    atomic_int stop = 0;
    flip_job jobs[3];
    GThread *threads[3];
    int bad = 0;
    SERVE(s);

    guard_host->gate_set(guard_ctx, "mdm", 0, "flipping");
    for (int i = 0; i < 3; i++) {
        jobs[i] = (flip_job){guard_server_url(s), &stop, 0};
        threads[i] = g_thread_new("flip-client", flip_client, &jobs[i]);
    }
    for (int i = 0; i < 400; i++)
        guard_host->gate_set(guard_ctx, "mdm", i % 2 == 0, "flipping");
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) {
        g_thread_join(threads[i]);
        bad += jobs[i].bad;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(guard_server_stop(s), 0);
}

/* ---- without a server: the pieces */

static void test_http_guard__der_shape(void)
{
    g_autofree unsigned char *buf = g_memdup2(cert_der, cert_der_len + 1);
    static const unsigned char indefinite[] = {0x30, 0x80, 0x30, 0x00, 0x30, 0x00, 0x03, 0x00,
                                               0x00, 0x00};
    static const unsigned char minimal[] = {0x30, 0x06, 0x30, 0x00, 0x30, 0x00, 0x03, 0x00};
    static const unsigned char long_short[] = {0x30, 0x81, 0x06, 0x30, 0x00,
                                               0x30, 0x00, 0x03, 0x00}; /* not minimal */
    static const unsigned char two_seqs[] = {0x30, 0x04, 0x30, 0x00, 0x30, 0x00};
    static const unsigned char inner_long[] = {0x30, 0x06, 0x30, 0x05, 0x30, 0x00, 0x03, 0x00};

    CU_ASSERT_TRUE(orchard_der_is_certificate(cert_der, cert_der_len));
    CU_ASSERT_FALSE(orchard_der_is_certificate(cert_der, cert_der_len - 1)); /* truncated */
    CU_ASSERT_FALSE(orchard_der_is_certificate(buf, cert_der_len + 1));      /* one extra */
    CU_ASSERT_FALSE(orchard_der_is_certificate(cert_der, 0));
    CU_ASSERT_FALSE(orchard_der_is_certificate(NULL, 10));
    CU_ASSERT_TRUE(orchard_der_is_certificate(minimal, sizeof minimal));
    CU_ASSERT_FALSE(orchard_der_is_certificate(indefinite, sizeof indefinite));
    CU_ASSERT_FALSE(orchard_der_is_certificate(long_short, sizeof long_short));
    CU_ASSERT_FALSE(orchard_der_is_certificate(two_seqs, sizeof two_seqs));
    CU_ASSERT_FALSE(orchard_der_is_certificate(inner_long, sizeof inner_long));
    buf[0] = 0x31; /* a SET */
    CU_ASSERT_FALSE(orchard_der_is_certificate(buf, cert_der_len));
}

static void test_http_guard__decode_header(void)
{
    g_autoptr(GPtrArray) values = hostile_values();
    g_autofree char *b64 = g_base64_encode(cert_der, cert_der_len);
    g_autofree char *sf = g_strdup_printf(" \t:%s: ", b64); /* OWS around is allowed */
    g_autofree char *esc = g_uri_escape_string(cert_pem, NULL, FALSE);
    unsigned char *der = (unsigned char *)"x";
    const char *why = NULL;
    size_t len = 7;

    CU_ASSERT_EQUAL(orchard_client_cert_decode(sf, &der, &len, &why), 0);
    CU_ASSERT_EQUAL(len, cert_der_len);
    CU_ASSERT_TRUE(der && memcmp(der, cert_der, len) == 0);
    g_free(der);
    CU_ASSERT_EQUAL(orchard_client_cert_decode(esc, &der, &len, &why), 0);
    CU_ASSERT_TRUE(der && len == cert_der_len && memcmp(der, cert_der, len) == 0);
    g_free(der);

    for (guint i = 0; i < values->len; i++) {
        der = (unsigned char *)"x";
        len = 7;
        why = NULL;
        int rc = orchard_client_cert_decode(g_ptr_array_index(values, i), &der, &len, &why);
        CU_ASSERT_TRUE(rc == ORCHARD_EINVAL || rc == ORCHARD_ETOOBIG);
        CU_ASSERT_PTR_NULL(der);
        CU_ASSERT_EQUAL(len, 0);
        CU_ASSERT_PTR_NOT_NULL(why);
    }
    /* The last hostile value is the oversized one. */
    CU_ASSERT_EQUAL(orchard_client_cert_decode(g_ptr_array_index(values, values->len - 1), &der,
                                               &len, &why),
                    ORCHARD_ETOOBIG);
    CU_ASSERT_EQUAL(orchard_client_cert_decode(NULL, &der, &len, &why), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_client_cert_decode("", &der, &len, &why), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_client_cert_decode(":", &der, &len, &why), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_client_cert_decode("-----BEGIN", &der, &len, &why), ORCHARD_EINVAL);
}

/* The TLS handshake's certificate, on a request built here as the module would. */
static void test_http_guard__tls_certificate_source(void)
{
    orchard_http_request req = {.method = "GET", .path = "/device", .body = (const unsigned char *)"",
                                .remote_addr = "127.0.0.1"};
    g_autofree char *h = rfc9440_header("Client-Cert");
    orchard_http_pair header = {"Client-Cert", strchr(h, ':') + 2};
    static const unsigned char other[] = {0x30, 0x06, 0x30, 0x00, 0x30, 0x00, 0x03, 0x00};
    size_t len = 5;

    fresh();
    CU_ASSERT_PTR_NULL(orchard_http_client_cert(&req, &len));
    CU_ASSERT_EQUAL(len, 0);
    orchard_http_guard_end();

    req.client_cert_der = other;
    req.client_cert_len = sizeof other;
    req.headers = &header;
    req.n_headers = 1;
    CU_ASSERT_PTR_EQUAL(orchard_http_client_cert(&req, &len), other);
    CU_ASSERT_EQUAL(len, sizeof other);
    orchard_http_guard_end();

    /* Behind a proxy, the TLS peer is the proxy: only the header counts. */
    set_cert_header("Client-Cert");
    const unsigned char *der = orchard_http_client_cert(&req, &len);
    CU_ASSERT_EQUAL(len, cert_der_len);
    CU_ASSERT_TRUE(der && memcmp(der, cert_der, cert_der_len) == 0);
    orchard_http_guard_end();
    header.value = "::";
    CU_ASSERT_PTR_NULL(orchard_http_client_cert(&req, &len));
    orchard_http_guard_end();
    set_cert_header(NULL);
    CU_ASSERT_PTR_NULL(orchard_http_client_cert(NULL, &len));
}

static void test_http_guard__json_error(void)
{
    orchard_http_response *resp = orchard_http_response_new();
    const char *field = NULL;
    char *reason = NULL;

    CU_ASSERT_EQUAL(orchard_http_error(resp, 422, "Validation Failed", "deadline",
                                       "deadline accepts YYYY-MM-DD format only"), 0);
    CU_ASSERT_EQUAL(resp->status, 422);
    CU_ASSERT_STRING_EQUAL(resp->content_type, "application/json");
    g_autofree char *body = g_strndup((const char *)resp->body, resp->body_len);
    g_autofree char *msg = fleet_error(body, &field, &reason);
    CU_ASSERT_STRING_EQUAL(msg ? msg : "", "Validation Failed");
    CU_ASSERT_STRING_EQUAL(field ? field : "", "deadline");
    CU_ASSERT_STRING_EQUAL(reason ? reason : "", "deadline accepts YYYY-MM-DD format only");
    g_free(reason);

    CU_ASSERT_EQUAL(orchard_http_error(resp, 200, "fine", NULL, NULL), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_error(resp, 600, "x", NULL, NULL), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_error(resp, 400, NULL, NULL, NULL), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_http_error(NULL, 400, "x", NULL, NULL), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(resp->status, 422); /* a refused call changes nothing */
    orchard_http_response_free(resp);
}

void http_guard_suite(void)
{
    ORCHARD_ADD_SUITE(
        "http_guard", suite_init, suite_cleanup,
        {"gate_closed_open_closed", test_http_guard__gate_closed_open_closed},
        {"gate_names", test_http_guard__gate_names},
        {"gate_before_guard", test_http_guard__gate_before_guard},
        {"device_without_certificate", test_http_guard__device_without_certificate},
        {"device_proxy_header_rfc9440", test_http_guard__device_proxy_header_rfc9440},
        {"device_proxy_header_nginx", test_http_guard__device_proxy_header_nginx},
        {"device_malformed_headers", test_http_guard__device_malformed_headers},
        {"roles", test_http_guard__roles},
        {"forbidden_names_the_role", test_http_guard__forbidden_names_the_role},
        {"authenticator_failures", test_http_guard__authenticator_failures},
        {"no_user_store", test_http_guard__no_user_store},
        {"register_once", test_http_guard__register_once},
        {"old_route_unguarded", test_http_guard__old_route_unguarded},
        {"failing_handler_json", test_http_guard__failing_handler_json},
        {"unknown_guard_refused", test_http_guard__unknown_guard_refused},
        {"principals_concurrent", test_http_guard__principals_concurrent},
        {"gate_flips_in_flight", test_http_guard__gate_flips_in_flight},
        {"der_shape", test_http_guard__der_shape},
        {"decode_header", test_http_guard__decode_header},
        {"tls_certificate_source", test_http_guard__tls_certificate_source},
        {"json_error", test_http_guard__json_error});
}
