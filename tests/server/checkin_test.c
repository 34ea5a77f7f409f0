/* checkin: /mdm/apple/mdm driven through its route handler on a fake host
 * (our request, response, log and events; the real store). Devices get
 * certificates from the fixtures' SCEP CA, recorded as the SCEP server
 * records them, and sign their bodies with detached CMS as Macs do. Every
 * message type, every report status, the queue's order and NotNow rule,
 * each identity refusal (nothing stored), the size caps, hostile plists,
 * the proxy's client-certificate path and the sealed bootstrap token. */
#include "host/plugins/plugin_ctx.h"
#include "host/plugins/registry.h"
#include "host/store/store.h"
#include "server_plugin/checkin/checkin.h"
#include "server_plugin/checkin/signer_cache.h"
#include "server_plugin/config/mdm_config.h"
#include "server_plugin/scep/scep_csr.h"
#include "server_plugin/serve/serve_state.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_queue.h"
#include "server_plugin/store/store_sql.h"
#include "tests/server/enroll_fixture.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CHECKIN_CT "application/x-apple-aspen-mdm-checkin"

/* ---- the fake host ---------------------------------------------------------- */

typedef struct {
    const char *method;
    const char *content_type;
    const char *signature;
    const unsigned char *body;
    size_t len;
    const unsigned char *cert; /* what http_client_cert gives (the proxy path) */
    size_t cert_len;
} fake_req;

typedef struct {
    int status;
    GByteArray *body;
    char *content_type;
} fake_resp;

static orchard_host_api fake_host;
static const orchard_host_api *saved_host;
static orchard_ctx *server_ctx;
static GPtrArray *log_lines, *events;
static char *store_path;
static int store_ok;

static void fake_log(int level, const char *plugin, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (g_getenv("CHECKIN_DEBUG"))
        fprintf(stderr, "log: %s\n", msg);
    g_ptr_array_add(log_lines, g_strdup_printf("%d %s %s", level, plugin, msg));
}

static const char *f_method(const orchard_http_request *r) { return ((const fake_req *)r)->method; }
static const char *f_path(const orchard_http_request *r)
{
    (void)r;
    return ORCHARD_CHECKIN_PATH;
}
static const char *f_header(const orchard_http_request *r, const char *name)
{
    const fake_req *q = (const fake_req *)r;
    if (g_ascii_strcasecmp(name, "Content-Type") == 0)
        return q->content_type;
    if (g_ascii_strcasecmp(name, "Mdm-Signature") == 0)
        return q->signature;
    return NULL;
}
static const unsigned char *f_body(const orchard_http_request *r, size_t *len)
{
    const fake_req *q = (const fake_req *)r;
    *len = q->len;
    return q->body ? q->body : (const unsigned char *)"";
}
static const char *f_remote(const orchard_http_request *r)
{
    (void)r;
    return "192.0.2.9";
}
static const unsigned char *f_cert(const orchard_http_request *r, size_t *len)
{
    const fake_req *q = (const fake_req *)r;
    *len = q->cert_len;
    return q->cert;
}
static int f_set_header(orchard_http_response *resp, const char *n, const char *v)
{
    (void)resp, (void)n, (void)v;
    return 0;
}
static int f_respond(orchard_http_response *resp, int status, const char *ct, const void *body,
                     size_t len)
{
    fake_resp *r = (fake_resp *)resp;
    r->status = status;
    g_free(r->content_type);
    r->content_type = g_strdup(ct);
    g_byte_array_set_size(r->body, 0);
    g_byte_array_append(r->body, body, (guint)len);
    return 0;
}
static int f_publish(orchard_ctx *ctx, const char *name, const char *json)
{
    (void)ctx;
    g_ptr_array_add(events, g_strdup_printf("%s %s", name, json ? json : "{}"));
    return 0;
}
static int f_gate_set(orchard_ctx *ctx, const char *g, int open, const char *reason)
{
    (void)ctx, (void)g, (void)open, (void)reason;
    return 0;
}

/* ---- devices ------------------------------------------------------------------- */

typedef struct {
    EVP_PKEY *key;
    X509 *cert;
    unsigned char *der;
    int der_len;
} device;

static X509 *scep_ca;
static EVP_PKEY *scep_ca_key;

/* A key and a certificate the SCEP CA signs (clientAuth), recorded unless `record` is 0. */
static void device_make_at(device *d, const char *cn, X509 *ca, EVP_PKEY *ca_key, int record,
                           gint64 signed_at)
{
    g_autofree char *err = NULL;
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    memset(d, 0, sizeof *d);
    d->key = EVP_EC_gen("P-256");
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_REQ_set_subject_name(req, name);
    X509_REQ_set_pubkey(req, d->key);
    X509_REQ_sign(req, d->key, EVP_sha256());
    CU_ASSERT_EQUAL_FATAL(orchard_scep_sign(req, ca, ca_key, 30, signed_at, &d->cert, &err), 0);
    X509_NAME_free(name);
    X509_REQ_free(req);
    d->der_len = i2d_X509(d->cert, &d->der);
    /* As a device holds it: decoded from the DER the SCEP server sent (the
     * signer's in-memory X509 keeps no decoded public key). */
    X509_free(d->cert);
    const unsigned char *p = d->der;
    d->cert = d2i_X509(NULL, &p, d->der_len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d->cert);
    if (record) {
        g_autofree char *serial = orchard_scep_serial_hex(d->cert);
        g_autofree char *sha = orchard_scep_cert_sha256(d->cert);
        const orchard_issued_cert ic = {
            .serial = serial, .subject = cn, .not_before = 0, .not_after = G_MAXINT32,
            .challenge_kind = ORCHARD_CHALLENGE_STATIC, .sha256 = sha, .der = d->der,
            .der_len = (size_t)d->der_len,
        };
        CU_ASSERT_EQUAL_FATAL(orchard_server_store_cert_record(&ic, NULL, 1), 0);
    }
}

static void device_make(device *d, const char *cn, X509 *ca, EVP_PKEY *ca_key, int record)
{
    device_make_at(d, cn, ca, ca_key, record, g_get_real_time() / G_USEC_PER_SEC);
}

static void device_free(device *d)
{
    EVP_PKEY_free(d->key);
    X509_free(d->cert);
    OPENSSL_free(d->der);
}

/* base64 of a detached CMS SignedData over body, as a Mac's Mdm-Signature. g_free. */
static char *sign(const device *d, const char *body, size_t len)
{
    BIO *in = BIO_new_mem_buf(body, (int)len);
    CMS_ContentInfo *cms = CMS_sign(d->cert, d->key, NULL, in, CMS_DETACHED | CMS_BINARY);
    unsigned char *der = NULL;
    int n = cms ? i2d_CMS_ContentInfo(cms, &der) : -1;
    if (n <= 0)
        ERR_print_errors_fp(stderr);
    char *b64 = n > 0 ? g_base64_encode(der, (gsize)n) : g_strdup("");
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    return b64;
}

/* ---- requests ------------------------------------------------------------------ */

static void resp_clear(fake_resp *r)
{
    g_clear_pointer(&r->body, g_byte_array_unref);
    g_clear_pointer(&r->content_type, g_free);
}

/* Send body through the route: signed by `signer` (NULL: unsigned), or
 * with the proxy's certificate when `proxy` is set. Returns the status. */
static int send_full(const char *method, const char *ct, const char *body, size_t len,
                     const device *signer, const device *proxy, fake_resp *r)
{
    g_autofree char *sig = signer ? sign(signer, body, len) : NULL;
    fake_req q = {method, ct, sig, (const unsigned char *)body, len,
                  proxy ? proxy->der : NULL, proxy ? (size_t)proxy->der_len : 0};
    r->status = 0;
    r->body = g_byte_array_new();
    r->content_type = NULL;
    int rc = orchard_route_checkin.handle2(server_ctx, (const orchard_http_request *)&q,
                                           (orchard_http_response *)r, NULL);
    CU_ASSERT_EQUAL(rc, 0);
    return r->status;
}

/* Send and forget the body. */
static int send_msg(const char *ct, const char *body, const device *signer)
{
    fake_resp r;
    int st = send_full("PUT", ct, body, strlen(body), signer, NULL, &r);
    resp_clear(&r);
    return st;
}

static char *plist_doc(const char *inner)
{
    return g_strdup_printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC "
                           "\"-//Apple//DTD PLIST 1.0//EN\" "
                           "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                           "<plist version=\"1.0\"><dict>%s</dict></plist>\n", inner);
}

static char *msg_authenticate(const char *udid, const char *topic)
{
    g_autofree char *in = g_strdup_printf(
        "<key>MessageType</key><string>Authenticate</string><key>UDID</key><string>%s</string>"
        "<key>Topic</key><string>%s</string><key>SerialNumber</key><string>C02TEST%s</string>"
        "<key>Model</key><string>MacBookPro18,1</string><key>OSVersion</key><string>14.5"
        "</string><key>DeviceName</key><string>Test Mac</string>", udid, topic, udid);
    return plist_doc(in);
}

static char *msg_simple(const char *type, const char *udid, const char *extra)
{
    g_autofree char *in = g_strdup_printf("<key>MessageType</key><string>%s</string>"
                                          "<key>UDID</key><string>%s</string>%s", type, udid,
                                          extra ? extra : "");
    return plist_doc(in);
}

static char *msg_token_update(const char *udid)
{
    return msg_simple("TokenUpdate", udid,
                      "<key>Token</key><data>3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs=</data>"
                      "<key>PushMagic</key><string>MAGIC-1234</string>"
                      "<key>UnlockToken</key><data>AAECAw==</data>");
}

static char *report(const char *udid, const char *status, const char *uuid, const char *extra)
{
    g_autofree char *u = uuid ? g_strdup_printf("<key>CommandUUID</key><string>%s</string>", uuid)
                              : g_strdup("");
    g_autofree char *in = g_strdup_printf("<key>UDID</key><string>%s</string><key>Status</key>"
                                          "<string>%s</string>%s%s", udid, status, u,
                                          extra ? extra : "");
    return plist_doc(in);
}

static const char *topic(void) { return orchard_serve_config(server_ctx)->apns_topic; }

/* Authenticate + TokenUpdate: an enabled enrollment. */
static void enroll(const char *udid, const device *d)
{
    g_autofree char *a = msg_authenticate(udid, topic());
    g_autofree char *t = msg_token_update(udid);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, a, d), 200);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, t, d), 200);
}

static void queue_cmd(const char *uuid, const char *udid, gint64 at_us)
{
    g_autofree char *inner = g_strdup_printf("<key>CommandUUID</key><string>%s</string>"
                                             "<key>Command</key><dict><key>RequestType</key>"
                                             "<string>ProfileList</string></dict>", uuid);
    g_autofree char *cmd = plist_doc(inner);
    const char *udids[] = {udid};
    CU_ASSERT_EQUAL(orchard_store_command_enqueue(uuid, "ProfileList", cmd, strlen(cmd), "t",
                                                  udids, 1, at_us, NULL), 0);
}

/* A report through the service at a chosen time (the NotNow rule needs a
 * clock); returns the status and *uuid_out, the command handed back (or NULL). */
static int report_at(const device *d, const char *body, gint64 now_us, char **uuid_out)
{
    g_autofree char *sha = orchard_scep_cert_sha256(d->cert);
    const orchard_checkin_env env = {.ctx = server_ctx};
    const orchard_checkin_request in = {(const unsigned char *)body, strlen(body), NULL, sha,
                                        now_us};
    orchard_checkin_reply out;
    CU_ASSERT_EQUAL(orchard_checkin_handle(&env, &in, &out), 0);
    *uuid_out = NULL;
    if (out.body) {
        plist_t root = parse_xml((const char *)out.body, out.len);
        *uuid_out = root ? orchard_checkin_plist_string(root, "CommandUUID") : NULL;
        plist_free(root);
    }
    int st = out.status;
    orchard_checkin_reply_clear(&out);
    return st;
}

static int logged(const char *needle)
{
    for (guint i = 0; i < log_lines->len; i++)
        if (strstr(log_lines->pdata[i], needle))
            return 1;
    fprintf(stderr, "\n  no log line with \"%s\"\n", needle);
    return 0;
}

static int enrollments(void)
{
    g_autoptr(GPtrArray) all = NULL;
    CU_ASSERT_EQUAL(orchard_store_device_list(0, 0, &all), 0);
    return all ? (int)all->len : -1;
}

/* ---- suite ---------------------------------------------------------------------- */

static int suite_init(void)
{
    g_autofree char *err = NULL;
    orchard_mdm_config *cfg = NULL;
    if (mdmfx_setup() || enroll_fixture_init())
        return -1;
    log_lines = g_ptr_array_new_with_free_func(g_free);
    events = g_ptr_array_new_with_free_func(g_free);
    fake_host = *orchard_host_api_get();
    fake_host.log = fake_log;
    fake_host.http_method = f_method;
    fake_host.http_path = f_path;
    fake_host.http_header = f_header;
    fake_host.http_body = f_body;
    fake_host.http_remote_addr = f_remote;
    fake_host.http_client_cert = f_cert;
    fake_host.http_set_header = f_set_header;
    fake_host.http_respond = f_respond;
    fake_host.event_publish = f_publish;
    fake_host.gate_set = f_gate_set;
    saved_host = orchard_server_host;
    orchard_server_host = &fake_host;
    server_ctx = orchard_ctx_new(NULL);
    orchard_server_init(server_ctx);
    store_path = tmp_path("checkin.db");
    orchard_store_close();
    store_ok = orchard_store_open(store_path, &err) == 0 && orchard_server_store_migrate() == 0;
    mdmfx_apply_config(NULL);
    if (orchard_mdm_config_load(&fake_host, &cfg, &err) != 0) {
        fprintf(stderr, "checkin: config: %s\n", err);
        return -1;
    }
    orchard_serve_state_set(server_ctx, cfg);
    scep_ca = orchard_serve_config(server_ctx)->scep_cert;
    scep_ca_key = orchard_serve_config(server_ctx)->scep_key;
    return store_ok ? 0 : -1;
}

static int suite_cleanup(void)
{
    orchard_serve_state_set(server_ctx, NULL);
    orchard_server_deinit(server_ctx);
    g_clear_pointer(&server_ctx, g_free);
    orchard_store_close();
    orchard_server_host = saved_host;
    enroll_fixture_cleanup();
    g_clear_pointer(&store_path, g_free);
    g_clear_pointer(&log_lines, g_ptr_array_unref);
    g_clear_pointer(&events, g_ptr_array_unref);
    return mdmfx_teardown();
}

static int has_event(const char *prefix)
{
    for (guint i = 0; i < events->len; i++)
        if (g_str_has_prefix(events->pdata[i], prefix))
            return 1;
    return 0;
}

/* ---- tests ---------------------------------------------------------------------- */

/* Authenticate records the device disabled; TokenUpdate enables it (the
 * "enrolled" event once); CheckOut disables it. */
static void test_checkin__enrollment_lifecycle(void)
{
    device d;
    device_make(&d, "mac-life", scep_ca, scep_ca_key, 1);
    g_autofree char *a = msg_authenticate("UDID-LIFE", topic());
    g_autofree char *t = msg_token_update("UDID-LIFE");
    g_autofree char *c = msg_simple("CheckOut", "UDID-LIFE", NULL);
    g_autoptr(orchard_device) dev = NULL;

    g_ptr_array_set_size(events, 0);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, a, &d), 200);
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get("UDID-LIFE", &dev), 0);
    CU_ASSERT_EQUAL(dev->enabled, 0);
    CU_ASSERT_STRING_EQUAL(dev->serial_number, "C02TESTUDID-LIFE");
    CU_ASSERT_STRING_EQUAL(dev->model, "MacBookPro18,1");
    g_clear_pointer(&dev, orchard_device_free);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, t, &d), 200);
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get("UDID-LIFE", &dev), 0);
    CU_ASSERT_EQUAL(dev->enabled, 1);
    CU_ASSERT_EQUAL(dev->push_token_valid, 1);
    CU_ASSERT_STRING_EQUAL(dev->push_magic, "MAGIC-1234");
    CU_ASSERT_STRING_EQUAL(dev->push_token_hex, "deadbeef000102030405060708090a0b0c0d0e0f10111213"
                                                "1415161718191a1b");
    CU_ASSERT_EQUAL(dev->token_update_tally, 1);
    CU_ASSERT(has_event("mdm.enrolled {\"udid\":\"UDID-LIFE\""));
    g_clear_pointer(&dev, orchard_device_free);
    /* A second TokenUpdate is not a new enrollment. */
    g_ptr_array_set_size(events, 0);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, t, &d), 200);
    CU_ASSERT(!has_event("mdm.enrolled"));
    CU_ASSERT(has_event("mdm.checked_in"));
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, c, &d), 200);
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get("UDID-LIFE", &dev), 0);
    CU_ASSERT_EQUAL(dev->enabled, 0);
    device_free(&d);
}

/* The queue: oldest first; each status recorded with the whole report and
 * the ErrorChain; NotNow not sent again in the session, sent after the next Idle. */
static void test_checkin__queue_and_reports(void)
{
    device d;
    const char *u = "UDID-Q";
    gint64 t0 = g_get_real_time();
    char *got = NULL;
    device_make(&d, "mac-q", scep_ca, scep_ca_key, 1);
    enroll(u, &d);
    g_autofree char *idle = report(u, "Idle", NULL, NULL);
    CU_ASSERT_EQUAL(report_at(&d, idle, t0, &got), 200);
    CU_ASSERT_PTR_NULL(got); /* nothing queued: an empty 200 */
    queue_cmd("CMD-2", u, t0 + 2);
    queue_cmd("CMD-1", u, t0 + 1);
    queue_cmd("CMD-3", u, t0 + 3);
    CU_ASSERT_EQUAL(report_at(&d, idle, t0 + 10, &got), 200);
    CU_ASSERT_STRING_EQUAL(got, "CMD-1");
    g_free(got);
    g_autofree char *ack = report(u, "Acknowledged", "CMD-1", NULL);
    CU_ASSERT_EQUAL(report_at(&d, ack, t0 + 20, &got), 200);
    CU_ASSERT_STRING_EQUAL(got, "CMD-2");
    g_free(got);
    g_autofree char *notnow = report(u, "NotNow", "CMD-2", NULL);
    CU_ASSERT_EQUAL(report_at(&d, notnow, t0 + 30, &got), 200);
    CU_ASSERT_STRING_EQUAL(got, "CMD-3"); /* CMD-2 is skipped in this session */
    g_free(got);
    g_autofree char *err = report(u, "Error", "CMD-3",
                                  "<key>ErrorChain</key><array><dict><key>ErrorCode</key>"
                                  "<integer>12021</integer><key>ErrorDomain</key><string>"
                                  "MCMDMErrorDomain</string></dict></array>");
    CU_ASSERT_EQUAL(report_at(&d, err, t0 + 40, &got), 200);
    CU_ASSERT_PTR_NULL(got); /* only the NotNow one is left, and not this session */
    /* A new session (Idle) two seconds on: CMD-2 again. */
    CU_ASSERT_EQUAL(report_at(&d, idle, t0 + 2 * G_USEC_PER_SEC + 50, &got), 200);
    CU_ASSERT_STRING_EQUAL(got, "CMD-2");
    g_free(got);
    g_autofree char *fmt = report(u, "CommandFormatError", "CMD-2", NULL);
    CU_ASSERT_EQUAL(report_at(&d, fmt, t0 + 3 * G_USEC_PER_SEC, &got), 200);
    CU_ASSERT_PTR_NULL(got);

    const char *want[][2] = {{"CMD-1", "Acknowledged"}, {"CMD-2", "CommandFormatError"},
                             {"CMD-3", "Error"}};
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        g_autoptr(GPtrArray) res = NULL;
        CU_ASSERT_EQUAL_FATAL(orchard_store_command_results(want[i][0], &res), 0);
        CU_ASSERT_EQUAL_FATAL(res->len, 1);
        orchard_command_result *r = res->pdata[0];
        CU_ASSERT_STRING_EQUAL(r->status, want[i][1]);
        CU_ASSERT_PTR_NOT_NULL(r->result);
        if (i == 2) {
            CU_ASSERT_PTR_NOT_NULL_FATAL(r->error_chain);
            CU_ASSERT(strstr(r->error_chain, "\"ErrorCode\":12021") != NULL);
            CU_ASSERT(strstr(r->error_chain, "MCMDMErrorDomain") != NULL);
        }
    }
    device_free(&d);
}

/* Authenticate again (re-enrollment) clears the queue and disables. */
static void test_checkin__authenticate_clears_queue(void)
{
    device d;
    char *got = NULL;
    device_make(&d, "mac-re", scep_ca, scep_ca_key, 1);
    enroll("UDID-RE", &d);
    queue_cmd("CMD-RE", "UDID-RE", g_get_real_time());
    g_autofree char *a = msg_authenticate("UDID-RE", topic());
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, a, &d), 200);
    g_autofree char *idle = report("UDID-RE", "Idle", NULL, NULL);
    CU_ASSERT_EQUAL(report_at(&d, idle, g_get_real_time(), &got), 200);
    CU_ASSERT_PTR_NULL(got);
    g_autoptr(orchard_device) dev = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get("UDID-RE", &dev), 0);
    CU_ASSERT_EQUAL(dev->enabled, 0);
    CU_ASSERT_PTR_NULL(dev->push_token_hex);
    device_free(&d);
}

/* Every identity refusal: 400, a log line with the reason and the UDID,
 * nothing stored. */
static void test_checkin__identity_refusals(void)
{
    device d, other, unrecorded, foreign;
    device_make(&d, "mac-id", scep_ca, scep_ca_key, 1);
    device_make(&other, "mac-id2", scep_ca, scep_ca_key, 1);
    device_make(&unrecorded, "mac-unrec", scep_ca, scep_ca_key, 0);
    /* A CA of its own, with the same name as ours. */
    EVP_PKEY *fkey = EVP_EC_gen("P-256");
    X509 *fca = X509_new();
    X509_set_version(fca, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(fca), 7);
    X509_set_issuer_name(fca, X509_get_subject_name(scep_ca));
    X509_set_subject_name(fca, X509_get_subject_name(scep_ca));
    X509_gmtime_adj(X509_getm_notBefore(fca), -3600);
    X509_gmtime_adj(X509_getm_notAfter(fca), 86400);
    X509_set_pubkey(fca, fkey);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, fca, fca, NULL, NULL, 0);
    X509_EXTENSION *ski = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier, "hash");
    X509_add_ext(fca, ski, -1);
    X509_EXTENSION_free(ski);
    X509_sign(fca, fkey, EVP_sha256());
    device_make(&foreign, "mac-foreign", fca, fkey, 0);

    int before = enrollments();
    g_autofree char *a = msg_authenticate("UDID-ID", topic());
    fake_resp r;

    g_ptr_array_set_size(log_lines, 0);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, a, NULL), 400); /* no signature */
    CU_ASSERT(logged("UDID-ID") && logged("no Mdm-Signature"));
    /* A signature over another body. */
    g_autofree char *sig = sign(&d, "other body", 10);
    fake_req q = {"PUT", CHECKIN_CT, sig, (const unsigned char *)a, strlen(a), NULL, 0};
    r.body = g_byte_array_new();
    r.content_type = NULL;
    orchard_route_checkin.handle2(server_ctx, (const orchard_http_request *)&q,
                                  (orchard_http_response *)&r, NULL);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT(logged("does not verify"));
    resp_clear(&r);
    /* Not base64, not CMS. */
    q.signature = "!!!not base64";
    r.body = g_byte_array_new();
    orchard_route_checkin.handle2(server_ctx, (const orchard_http_request *)&q,
                                  (orchard_http_response *)&r, NULL);
    CU_ASSERT_EQUAL(r.status, 400);
    resp_clear(&r);
    q.signature = "AAAA";
    r.body = g_byte_array_new();
    orchard_route_checkin.handle2(server_ctx, (const orchard_http_request *)&q,
                                  (orchard_http_response *)&r, NULL);
    CU_ASSERT_EQUAL(r.status, 400);
    resp_clear(&r);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, a, &foreign), 400); /* another CA */
    CU_ASSERT(logged("does not chain to the SCEP CA"));
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, a, &unrecorded), 400); /* not on record */
    CU_ASSERT(logged("not one this server issued"));
    /* Expired (signed 60 days ago for 30), and revoked. */
    device expired, revoked;
    device_make_at(&expired, "mac-expired", scep_ca, scep_ca_key, 1,
                   g_get_real_time() / G_USEC_PER_SEC - 60 * 86400);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, a, &expired), 400);
    CU_ASSERT(logged("certificate has expired"));
    device_make(&revoked, "mac-revoked", scep_ca, scep_ca_key, 1);
    g_autofree char *rserial = orchard_scep_serial_hex(revoked.cert);
    CU_ASSERT_EQUAL(orchard_sstore_write("revoking", "UPDATE scep_certificates SET revoked = 1 "
                                         "WHERE serial = ?", SQL_PARAMS(SQL_TEXT(rserial))), 1);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, a, &revoked), 400);
    CU_ASSERT(logged("is revoked"));
    device_free(&expired);
    device_free(&revoked);
    CU_ASSERT_EQUAL(enrollments(), before);

    /* A certificate bound to one UDID cannot Authenticate another, nor speak for it. */
    enroll("UDID-ID", &d);
    enroll("UDID-ID2", &other);
    g_autofree char *steal = msg_authenticate("UDID-ID2", topic());
    g_ptr_array_set_size(log_lines, 0);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, steal, &d), 400);
    CU_ASSERT(logged("UDID-ID2") && logged("bound to another UDID (UDID-ID)"));
    g_autofree char *speak = msg_simple("CheckOut", "UDID-ID2", NULL);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, speak, &d), 400);
    g_autofree char *rep = report("UDID-ID2", "Idle", NULL, NULL);
    CU_ASSERT_EQUAL(send_msg("application/x-plist", rep, &d), 400);
    g_autoptr(orchard_device) dev = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get("UDID-ID2", &dev), 0);
    CU_ASSERT_EQUAL(dev->enabled, 1); /* the CheckOut did not happen */
    g_autofree char *sha2 = orchard_scep_cert_sha256(other.cert);
    CU_ASSERT_STRING_EQUAL(dev->cert_sha256, sha2);
    /* A certificate never used to Authenticate cannot TokenUpdate. */
    device fresh;
    device_make(&fresh, "mac-fresh", scep_ca, scep_ca_key, 1);
    g_autofree char *t = msg_token_update("UDID-ID");
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, t, &fresh), 400);

    device_free(&fresh);
    device_free(&d);
    device_free(&other);
    device_free(&unrecorded);
    device_free(&foreign);
    X509_free(fca);
    EVP_PKEY_free(fkey);
}

/* No Mdm-Signature: the client certificate the host passes (TLS or the
 * proxy's header) identifies the device, checked the same way. */
static void test_checkin__proxy_certificate(void)
{
    device d, unrecorded;
    device_make(&d, "mac-proxy", scep_ca, scep_ca_key, 1);
    device_make(&unrecorded, "mac-proxy2", scep_ca, scep_ca_key, 0);
    g_autofree char *a = msg_authenticate("UDID-PROXY", topic());
    fake_resp r;
    CU_ASSERT_EQUAL(send_full("POST", CHECKIN_CT, a, strlen(a), NULL, &unrecorded, &r), 400);
    resp_clear(&r);
    CU_ASSERT_EQUAL(send_full("POST", CHECKIN_CT, a, strlen(a), NULL, &d, &r), 200);
    resp_clear(&r);
    g_autoptr(orchard_device) dev = NULL;
    CU_ASSERT_EQUAL(orchard_store_device_get("UDID-PROXY", &dev), 0);
    device_free(&d);
    device_free(&unrecorded);
}

/* Message types the service does not manage, and malformed messages. */
static void test_checkin__message_types(void)
{
    device d;
    device_make(&d, "mac-types", scep_ca, scep_ca_key, 1);
    enroll("UDID-T", &d);
    g_autofree char *ua = msg_simple("UserAuthenticate", "UDID-T",
                                     "<key>UserID</key><string>U1</string>");
    g_autofree char *dm = msg_simple("DeclarativeManagement", "UDID-T", NULL);
    g_autofree char *unk = msg_simple("Frobnicate", "UDID-T", NULL);
    g_autofree char *none = plist_doc("<key>UDID</key><string>UDID-T</string>");
    g_autofree char *badst = report("UDID-T", "Maybe", "X", NULL);
    g_autofree char *nouuid = report("UDID-T", "Acknowledged", NULL, NULL);
    g_autofree char *noudid = plist_doc("<key>MessageType</key><string>TokenUpdate</string>");
    g_autofree char *notok = msg_simple("TokenUpdate", "UDID-T",
                                        "<key>PushMagic</key><string>M</string>");
    g_autofree char *wrong_topic = msg_authenticate("UDID-T", "com.apple.mgmt.other");

    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, ua, &d), 410);
    g_ptr_array_set_size(log_lines, 0);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, dm, &d), 404);
    CU_ASSERT(logged("declarative management is not supported"));
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, unk, &d), 400);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, none, &d), 400);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, noudid, &d), 400);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, notok, &d), 400);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, wrong_topic, &d), 400);
    CU_ASSERT_EQUAL(send_msg("application/x-plist", badst, &d), 400);
    CU_ASSERT_EQUAL(send_msg("application/x-plist", nouuid, &d), 400);
    /* Only PUT and POST. */
    fake_resp r;
    CU_ASSERT_EQUAL(send_full("GET", CHECKIN_CT, "", 0, NULL, NULL, &r), 405);
    resp_clear(&r);
    device_free(&d);
}

/* Hostile bodies: 400 (or 413 over the caps), never a crash. */
static void test_checkin__hostile_bodies(void)
{
    device d;
    device_make(&d, "mac-hostile", scep_ca, scep_ca_key, 1);
    enroll("UDID-H", &d);
    g_autofree char *good = msg_simple("CheckOut", "UDID-H", NULL);
    GString *deep = g_string_new("<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>k"
                                 "</key>");
    for (int i = 0; i < 5000; i++)
        g_string_append(deep, "<array>");
    g_string_append(deep, "</dict></plist>");
    const char *bad[] = {
        "", "not a plist", "bplist00\x01\x02", "<?xml version=\"1.0\"?><plist><dict>",
        "<?xml version=\"1.0\"?><plist><array><string>x</string></array></plist>",
        "<!DOCTYPE plist [<!ENTITY a \"aaaa\">]><plist><dict><key>MessageType</key>"
        "<string>&a;</string></dict></plist>",
        "<plist><dict><key>MessageType</key><string>Check",
        deep->str,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        int st = send_msg(CHECKIN_CT, bad[i], &d);
        if (st != 400)
            fprintf(stderr, "\n  hostile body %zu: %d\n", i, st);
        CU_ASSERT_EQUAL(st, 400);
        CU_ASSERT_EQUAL(send_msg("application/x-plist", bad[i], &d), 400);
    }
    /* Truncations of a good message: never 200 except the whole. */
    for (size_t n = 1; n + 20 < strlen(good); n += 7) {
        g_autofree char *cut = g_strndup(good, n);
        CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, cut, &d), 400);
    }
    /* A NUL byte inside. */
    fake_resp r;
    char nul[] = "<plist><dict><key>A</key>\0<string>x</string></dict></plist>";
    CU_ASSERT_EQUAL(send_full("PUT", CHECKIN_CT, nul, sizeof nul - 1, &d, NULL, &r), 400);
    resp_clear(&r);
    /* Over 1 MiB as a check-in: 413; the same size as a report is read. */
    GString *pad = g_string_sized_new(ORCHARD_CHECKIN_MAX_CHECKIN + 10);
    g_string_append(pad, "<?xml version=\"1.0\"?><plist><dict><key>UDID</key><string>UDID-H"
                         "</string><key>Status</key><string>Idle</string><key>Pad</key>"
                         "<string>");
    while (pad->len < ORCHARD_CHECKIN_MAX_CHECKIN + 10)
        g_string_append_c(pad, 'p');
    g_string_append(pad, "</string></dict></plist>");
    CU_ASSERT_EQUAL(send_full("PUT", CHECKIN_CT, pad->str, pad->len, &d, NULL, &r), 413);
    resp_clear(&r);
    CU_ASSERT_EQUAL(send_full("PUT", "application/x-plist", pad->str, pad->len, &d, NULL, &r),
                    200);
    resp_clear(&r);
    /* Over 16 MiB as a report (the host refuses it before us; the service too). */
    g_autofree char *sha = orchard_scep_cert_sha256(d.cert);
    const orchard_checkin_env env = {.ctx = NULL};
    const orchard_checkin_request in = {(const unsigned char *)pad->str,
                                        ORCHARD_CHECKIN_MAX_REPORT + 1, NULL, sha, 1};
    orchard_checkin_reply out;
    CU_ASSERT_EQUAL(orchard_checkin_handle(&env, &in, &out), 0);
    CU_ASSERT_EQUAL(out.status, 413);
    orchard_checkin_reply_clear(&out);
    CU_ASSERT_EQUAL(orchard_route_checkin.max_body, ORCHARD_CHECKIN_MAX_REPORT);
    g_string_free(pad, TRUE);
    g_string_free(deep, TRUE);
    device_free(&d);
}

/* SetBootstrapToken then GetBootstrapToken gives the token back; at rest
 * it is sealed (the bytes are not in the store's row). */
static void test_checkin__bootstrap_token(void)
{
    device d;
    const char *token_b64 = "Qk9PVFNUUkFQLVRPS0VOLVNFQ1JFVC0xMjM0NTY3ODk=";
    fake_resp r;
    device_make(&d, "mac-bt", scep_ca, scep_ca_key, 1);
    enroll("UDID-BT", &d);
    g_autofree char *get = msg_simple("GetBootstrapToken", "UDID-BT", NULL);
    /* None yet: a dict without BootstrapToken. */
    CU_ASSERT_EQUAL(send_full("PUT", CHECKIN_CT, get, strlen(get), &d, NULL, &r), 200);
    plist_t root = parse_xml((const char *)r.body->data, r.body->len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_PTR_NULL(plist_dict_get_item(root, "BootstrapToken"));
    plist_free(root);
    resp_clear(&r);
    g_autofree char *set_extra = g_strdup_printf("<key>BootstrapToken</key><data>%s</data>",
                                                 token_b64);
    g_autofree char *set = msg_simple("SetBootstrapToken", "UDID-BT", set_extra);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, set, &d), 200);
    CU_ASSERT_EQUAL(send_full("PUT", CHECKIN_CT, get, strlen(get), &d, NULL, &r), 200);
    root = parse_xml((const char *)r.body->data, r.body->len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    size_t len = 0;
    g_autofree unsigned char *tok = orchard_checkin_plist_data(root, "BootstrapToken", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
    CU_ASSERT_EQUAL(len, strlen("BOOTSTRAP-TOKEN-SECRET-123456789"));
    CU_ASSERT(memcmp(tok, "BOOTSTRAP-TOKEN-SECRET-123456789", len) == 0);
    plist_free(root);
    resp_clear(&r);
    /* At rest: sealed, and the plaintext is nowhere in it. */
    g_autoptr(GBytes) sealed = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_bootstrap_get("UDID-BT", &sealed), 0);
    gsize slen = 0;
    const unsigned char *s = g_bytes_get_data(sealed, &slen);
    CU_ASSERT(slen > len);
    CU_ASSERT_PTR_NULL(memmem(s, slen, "BOOTSTRAP", 9));
    /* It opens only for its own UDID. */
    unsigned char *back = NULL;
    size_t back_len = 0;
    CU_ASSERT_EQUAL(orchard_bootstrap_open(scep_ca_key, "UDID-OTHER", s, slen, &back,
                                           &back_len), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_bootstrap_open(scep_ca_key, "UDID-BT", s, slen, &back, &back_len),
                    0);
    g_free(back);
    device_free(&d);
}

static int count_rows(const orchard_command_result *r, void *payload)
{
    if (strcmp(r->udid, "UDID-ST") == 0)
        (*(int *)payload)++;
    return 0;
}

/* The queue's and devices' other store functions: enqueue refusals (nothing
 * written), listing and paging, every row, a dead push token. */
static void test_checkin__store_edges(void)
{
    device d;
    g_autofree char *bad = NULL;
    const char *cmd = "<plist><dict/></plist>";
    const char *ok[] = {"UDID-ST", "UDID-ST"};
    const char *unknown[] = {"UDID-ST", "UDID-NOPE"};
    device_make(&d, "mac-st", scep_ca, scep_ca_key, 1);
    enroll("UDID-ST", &d);

    /* A UDID named twice is queued once. */
    CU_ASSERT_EQUAL(orchard_store_command_enqueue("ST-1", "ProfileList", cmd, strlen(cmd), "a",
                                                  ok, 2, 100, NULL), 0);
    CU_ASSERT_EQUAL(orchard_store_command_enqueue("ST-1", "ProfileList", cmd, strlen(cmd), "a",
                                                  ok, 1, 101, NULL), ORCHARD_EEXIST);
    CU_ASSERT_EQUAL(orchard_store_command_enqueue("ST-2", "ProfileList", cmd, strlen(cmd), "a",
                                                  unknown, 2, 102, &bad), ORCHARD_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(bad, "UDID-NOPE");
    g_autoptr(GPtrArray) res = NULL;
    CU_ASSERT_EQUAL(orchard_store_command_results("ST-2", &res), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_store_command_enqueue("ST-3", "ProfileList", cmd, strlen(cmd), "a",
                                                  ok, 0, 103, NULL), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_store_command_results("ST-1", &res), 0);
    CU_ASSERT_EQUAL(res ? res->len : 0, 1);
    CU_ASSERT_EQUAL(orchard_store_command_report("UDID-ST", "NO-SUCH", "Acknowledged", "x", 1,
                                                 NULL, 1), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_store_command_report("UDID-ST", "ST-1", "Pending", "x", 1, NULL, 1),
                    ORCHARD_EINVAL);
    /* A disabled enrollment takes no command. */
    g_autofree char *co = msg_simple("CheckOut", "UDID-ST", NULL);
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, co, &d), 200);
    CU_ASSERT_EQUAL(orchard_store_command_enqueue("ST-4", "ProfileList", cmd, strlen(cmd), "a",
                                                  ok, 1, 104, NULL), ORCHARD_ENOTFOUND);

    /* Listing: newest first, paged; each row once. */
    g_autoptr(GPtrArray) all = NULL, page = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_command_list(0, 0, &all), 0);
    CU_ASSERT_FATAL(all->len >= 1);
    CU_ASSERT_EQUAL_FATAL(orchard_store_command_list(0, 1, &page), 0);
    CU_ASSERT_EQUAL_FATAL(page->len, 1);
    orchard_command_info *first = all->pdata[0];
    CU_ASSERT_STRING_EQUAL(((orchard_command_info *)page->pdata[0])->command_uuid,
                           first->command_uuid);
    for (guint i = 1; i < all->len; i++)
        CU_ASSERT(((orchard_command_info *)all->pdata[i - 1])->created_at >=
                  ((orchard_command_info *)all->pdata[i])->created_at);
    int rows = 0;
    CU_ASSERT_EQUAL(orchard_store_command_each(count_rows, &rows), 0);
    CU_ASSERT_EQUAL(rows, 1);
    g_clear_pointer(&page, g_ptr_array_unref);
    CU_ASSERT_EQUAL(orchard_store_command_list(-1, 1, &page), ORCHARD_EINVAL);

    g_autoptr(GPtrArray) devs = NULL, devpage = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_list(0, 0, &devs), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_list(1, 1, &devpage), 0);
    CU_ASSERT_EQUAL_FATAL(devpage->len, devs->len > 1 ? 1 : 0);
    if (devs->len > 1)
        CU_ASSERT_STRING_EQUAL(((orchard_device *)devpage->pdata[0])->udid,
                               ((orchard_device *)devs->pdata[1])->udid);

    /* APNs said the token is dead: invalid with the reason until the next TokenUpdate. */
    g_autoptr(orchard_device) dev = NULL;
    CU_ASSERT_EQUAL(orchard_store_device_push_invalid("UDID-ST", "Unregistered", 5), 0);
    CU_ASSERT_EQUAL(orchard_store_device_push_invalid("UDID-NOPE", "Unregistered", 5),
                    ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get("UDID-ST", &dev), 0);
    CU_ASSERT_EQUAL(dev->push_token_valid, 0);
    CU_ASSERT_STRING_EQUAL(dev->push_invalid_reason, "Unregistered");
    g_clear_pointer(&dev, orchard_device_free);
    g_autofree char *t = msg_token_update("UDID-ST");
    CU_ASSERT_EQUAL(send_msg(CHECKIN_CT, t, &d), 200);
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get("UDID-ST", &dev), 0);
    CU_ASSERT_EQUAL(dev->push_token_valid, 1);
    CU_ASSERT_PTR_NULL(dev->push_invalid_reason);
    g_clear_pointer(&dev, orchard_device_free);
    CU_ASSERT_EQUAL(orchard_store_device_get("UDID-NOPE", &dev), ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NULL(dev);
    device_free(&d);
}

/* ---- the signer-certificate cache (identity.c, signer_cache.c) ------------------ */

/* base64 Mdm-Signature by d over body with extra CMS_sign flags and an extra certificate. */
static char *sign_with(const device *d, const char *body, unsigned int flags, X509 *extra)
{
    BIO *in = BIO_new_mem_buf(body, (int)strlen(body));
    CMS_ContentInfo *cms = CMS_sign(d->cert, d->key, NULL, in,
                                    CMS_DETACHED | CMS_BINARY | flags);
    unsigned char *der = NULL;
    if (cms && extra)
        CU_ASSERT_EQUAL(CMS_add1_cert(cms, extra), 1);
    int n = cms ? i2d_CMS_ContentInfo(cms, &der) : -1;
    CU_ASSERT(n > 0);
    char *b64 = n > 0 ? g_base64_encode(der, (gsize)n) : g_strdup("");
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    return b64;
}

/* orchard_checkin_identity on a signature (or a client certificate when
 * sig is NULL); *why kept for the caller when why is not NULL. */
static int identify(X509 *ca, const char *sig, const device *client, const char *body,
                    gint64 now, char **sha_out, char **why)
{
    char *sha = NULL, *reason = NULL;
    int rc = orchard_checkin_identity(ca, sig, client ? client->der : NULL,
                                      client ? (size_t)client->der_len : 0,
                                      (const unsigned char *)body, strlen(body), now, &sha,
                                      &reason);
    if (sha_out)
        *sha_out = sha;
    else
        g_free(sha);
    if (why)
        *why = reason;
    else
        g_free(reason);
    return rc;
}

static int denied_for(X509 *ca, const char *sig, const device *client, const char *body,
                      gint64 now, const char *needle)
{
    g_autofree char *why = NULL;
    int rc = identify(ca, sig, client, body, now, NULL, &why);
    if (rc != ORCHARD_EDENIED || !why || !strstr(why, needle)) {
        fprintf(stderr, "identity: rc %d, why \"%s\", wanted \"%s\"\n", rc,
                why ? why : "(none)", needle);
        return 0;
    }
    return 1;
}

/* A cached certificate is still checked on every request: its validity at
 * that moment, its record and revocation, the signature; a signature with
 * no certificate or another's is refused even when the signer is cached;
 * two certificates take the whole-message path; another CA empties it. */
static void test_checkin__signer_cache(void)
{
    device d, other;
    const char *body = "<plist>cache</plist>";
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    g_autofree char *sha = NULL, *sha2 = NULL, *dsha = NULL;

    orchard_signer_cache_reset(0);
    device_make(&d, "mac-cache", scep_ca, scep_ca_key, 1);
    device_make(&other, "mac-cache2", scep_ca, scep_ca_key, 1);
    dsha = orchard_scep_cert_sha256(d.cert);
    g_autofree char *sig = sign(&d, body, strlen(body));
    CU_ASSERT_EQUAL(identify(scep_ca, sig, NULL, body, now, &sha, NULL), 0);
    CU_ASSERT_STRING_EQUAL(sha, dsha);
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), 1);
    CU_ASSERT_EQUAL(identify(scep_ca, sig, NULL, body, now + 60, &sha2, NULL), 0); /* a hit */
    CU_ASSERT_STRING_EQUAL(sha2, dsha);
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), 1);
    /* The body still matters on a hit. */
    CU_ASSERT(denied_for(scep_ca, sig, NULL, "<plist>other</plist>", now, "does not verify"));

    /* Expired since it was cached (30 days), or before its time. */
    CU_ASSERT(denied_for(scep_ca, sig, NULL, body, now + 31 * 86400, "certificate has expired"));
    CU_ASSERT(denied_for(scep_ca, sig, NULL, body, now - 2 * 86400, "not yet valid"));
    CU_ASSERT(denied_for(scep_ca, NULL, &d, body, now + 31 * 86400, "certificate has expired"));

    /* Revoked while cached: refused at once, on both paths; and back. */
    g_autofree char *serial = orchard_scep_serial_hex(d.cert);
    CU_ASSERT_EQUAL(orchard_sstore_write("revoking", "UPDATE scep_certificates SET revoked = 1 "
                                         "WHERE serial = ?", SQL_PARAMS(SQL_TEXT(serial))), 1);
    CU_ASSERT(denied_for(scep_ca, sig, NULL, body, now, "is revoked"));
    CU_ASSERT(denied_for(scep_ca, NULL, &d, body, now, "is revoked"));
    CU_ASSERT_EQUAL(orchard_sstore_write("unrevoking", "UPDATE scep_certificates SET revoked = 0 "
                                         "WHERE serial = ?", SQL_PARAMS(SQL_TEXT(serial))), 1);
    CU_ASSERT_EQUAL(identify(scep_ca, sig, NULL, body, now, NULL, NULL), 0);
    CU_ASSERT_EQUAL(identify(scep_ca, NULL, &d, body, now, NULL, NULL), 0);

    /* No certificate inside: refused though the signer is cached (the
     * cache is not a directory of signers). */
    g_autofree char *nocert = sign_with(&d, body, CMS_NOCERTS, NULL);
    CU_ASSERT(denied_for(scep_ca, nocert, NULL, body, now, "does not verify"));
    /* Signed by d, carrying only other's (cached) certificate. */
    CU_ASSERT_EQUAL(identify(scep_ca, NULL, &other, body, now, NULL, NULL), 0);
    g_autofree char *swapped = sign_with(&d, body, CMS_NOCERTS, other.cert);
    CU_ASSERT(denied_for(scep_ca, swapped, NULL, body, now, "does not verify"));
    /* Two certificates: the whole message through OpenSSL, the same answer. */
    g_autofree char *two = sign_with(&d, body, 0, scep_ca);
    g_autofree char *sha3 = NULL;
    CU_ASSERT_EQUAL(identify(scep_ca, two, NULL, body, now, &sha3, NULL), 0);
    CU_ASSERT_STRING_EQUAL(sha3, dsha);
    CU_ASSERT(denied_for(scep_ca, two, NULL, body, now + 31 * 86400, "expired"));

    /* The certificate inside tampered with: not a certificate at all, or one
     * whose CA signature no longer holds (a hash the cache never saw). */
    gsize raw_len = 0;
    g_autofree guchar *raw = g_base64_decode(sig, &raw_len);
    unsigned char *stripped = NULL;
    const unsigned char *cert = NULL;
    size_t slen = 0, clen = 0;
    CU_ASSERT_EQUAL_FATAL(orchard_cms_strip_certs(raw, raw_len, &stripped, &slen, &cert, &clen),
                          0);
    g_free(stripped);
    size_t at = (size_t)(cert - raw);
    CU_ASSERT_EQUAL_FATAL(raw[at + 4], 0x30); /* tbsCertificate */
    raw[at + 4] = 0x31;
    g_autofree char *notder = g_base64_encode(raw, raw_len);
    CU_ASSERT(denied_for(scep_ca, notder, NULL, body, now, "certificate is not DER"));
    raw[at + 4] = 0x30;
    raw[at + clen - 1] ^= 0x01; /* the last byte of the CA's signature */
    g_autofree char *forged = g_base64_encode(raw, raw_len);
    CU_ASSERT(denied_for(scep_ca, forged, NULL, body, now, "does not chain"));

    /* Another CA: nothing cached for ours counts, d does not chain to it. */
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), 2);
    CU_ASSERT(denied_for(other.cert, sig, NULL, body, now, "does not chain"));
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), 0);
    CU_ASSERT_EQUAL(identify(scep_ca, sig, NULL, body, now, NULL, NULL), 0);
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), 1);
    device_free(&d);
    device_free(&other);
}

enum { ID_THREADS = 4, ID_ROUNDS = 40, ID_DEVICES = 3 };
static device id_dev[ID_DEVICES];
static char *id_sig[ID_DEVICES];

static gpointer identify_loop(gpointer arg)
{
    int bad = 0, t = GPOINTER_TO_INT(arg);
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    for (int r = 0; r < ID_ROUNDS; r++) {
        int i = (r + t) % ID_DEVICES;
        g_autofree char *sha = NULL, *why = NULL;
        g_autofree char *want = orchard_scep_cert_sha256(id_dev[i].cert);
        int rc = identify(scep_ca, id_sig[i], NULL, "<plist>threads</plist>", now, &sha, &why);
        if (rc != 0 || !sha || strcmp(sha, want) != 0) {
            fprintf(stderr, "identity from a thread: rc %d: %s\n", rc, why ? why : "(no reason)");
            bad++;
        }
        if (r % 10 == 0) /* evictions under the others' feet */
            orchard_signer_cache_reset(0);
    }
    return GINT_TO_POINTER(bad);
}

/* Several threads checking signatures (and emptying the cache) at once. */
static void test_checkin__signer_cache_threads(void)
{
    GThread *t[ID_THREADS];
    orchard_signer_cache_reset(2);
    for (int i = 0; i < ID_DEVICES; i++) {
        g_autofree char *cn = g_strdup_printf("mac-thread-%d", i);
        device_make(&id_dev[i], cn, scep_ca, scep_ca_key, 1);
        id_sig[i] = sign(&id_dev[i], "<plist>threads</plist>", 22);
    }
    for (int i = 0; i < ID_THREADS; i++)
        t[i] = g_thread_new("identity", identify_loop, GINT_TO_POINTER(i));
    int bad = 0;
    for (int i = 0; i < ID_THREADS; i++)
        bad += GPOINTER_TO_INT(g_thread_join(t[i]));
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(orchard_signer_cache_count() <= 2);
    for (int i = 0; i < ID_DEVICES; i++) {
        device_free(&id_dev[i]);
        g_clear_pointer(&id_sig[i], g_free);
    }
    orchard_signer_cache_reset(ORCHARD_SIGNER_CACHE_CAPACITY);
}

void checkin_suite(void)
{
    ORCHARD_ADD_SUITE("checkin", suite_init, suite_cleanup,
                      {"enrollment_lifecycle", test_checkin__enrollment_lifecycle},
                      {"queue_and_reports", test_checkin__queue_and_reports},
                      {"authenticate_clears_queue", test_checkin__authenticate_clears_queue},
                      {"identity_refusals", test_checkin__identity_refusals},
                      {"proxy_certificate", test_checkin__proxy_certificate},
                      {"message_types", test_checkin__message_types},
                      {"hostile_bodies", test_checkin__hostile_bodies},
                      {"bootstrap_token", test_checkin__bootstrap_token},
                      {"store_edges", test_checkin__store_edges},
                      {"signer_cache", test_checkin__signer_cache},
                      {"signer_cache_threads", test_checkin__signer_cache_threads});
}
