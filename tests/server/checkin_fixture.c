/* The check-in suites' fixture (checkin_fixture.h). */
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
#include "tests/server/checkin_fixture.h"
#include "tests/server/enroll_fixture.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/suites.h"
#include "tests/support/pg_cluster/pg_test.h"

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

/* ---- the fake host ---------------------------------------------------------- */


static orchard_host_api fake_host;
static const orchard_host_api *saved_host;
orchard_ctx *ckfx_ctx;
GPtrArray *ckfx_log_lines, *ckfx_events;
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
    g_ptr_array_add(ckfx_log_lines, g_strdup_printf("%d %s %s", level, plugin, msg));
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
    g_ptr_array_add(ckfx_events, g_strdup_printf("%s %s", name, json ? json : "{}"));
    return 0;
}
static int f_gate_set(orchard_ctx *ctx, const char *g, int open, const char *reason)
{
    (void)ctx, (void)g, (void)open, (void)reason;
    return 0;
}

/* ---- devices ------------------------------------------------------------------- */


X509 *ckfx_ca;
EVP_PKEY *ckfx_ca_key;

/* A key and a certificate the SCEP CA signs (clientAuth), recorded unless `record` is 0. */
void ckfx_device_make_at(device *d, const char *cn, X509 *ca, EVP_PKEY *ca_key, int record,
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

void ckfx_device_make(device *d, const char *cn, X509 *ca, EVP_PKEY *ca_key, int record)
{
    ckfx_device_make_at(d, cn, ca, ca_key, record, g_get_real_time() / G_USEC_PER_SEC);
}

void ckfx_device_free(device *d)
{
    EVP_PKEY_free(d->key);
    X509_free(d->cert);
    OPENSSL_free(d->der);
}

/* base64 of a detached CMS SignedData over body, as a Mac's Mdm-Signature. g_free. */
char *ckfx_sign(const device *d, const char *body, size_t len)
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

void ckfx_resp_clear(fake_resp *r)
{
    g_clear_pointer(&r->body, g_byte_array_unref);
    g_clear_pointer(&r->content_type, g_free);
}

/* Send body through the route: signed by `signer` (NULL: unsigned), or
 * with the proxy's certificate when `proxy` is set. Returns the status. */
int ckfx_send_full(const char *method, const char *ct, const char *body, size_t len,
                     const device *signer, const device *proxy, fake_resp *r)
{
    g_autofree char *sig = signer ? ckfx_sign(signer, body, len) : NULL;
    fake_req q = {method, ct, sig, (const unsigned char *)body, len,
                  proxy ? proxy->der : NULL, proxy ? (size_t)proxy->der_len : 0};
    r->status = 0;
    r->body = g_byte_array_new();
    r->content_type = NULL;
    int rc = orchard_route_checkin.handle2(ckfx_ctx, (const orchard_http_request *)&q,
                                           (orchard_http_response *)r, NULL);
    CU_ASSERT_EQUAL(rc, 0);
    return r->status;
}

/* Send and forget the body. */
int ckfx_send(const char *ct, const char *body, const device *signer)
{
    fake_resp r;
    int st = ckfx_send_full("PUT", ct, body, strlen(body), signer, NULL, &r);
    ckfx_resp_clear(&r);
    return st;
}

char *ckfx_plist_doc(const char *inner)
{
    return g_strdup_printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC "
                           "\"-//Apple//DTD PLIST 1.0//EN\" "
                           "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                           "<plist version=\"1.0\"><dict>%s</dict></plist>\n", inner);
}

char *ckfx_msg_authenticate(const char *udid, const char *topic)
{
    g_autofree char *in = g_strdup_printf(
        "<key>MessageType</key><string>Authenticate</string><key>UDID</key><string>%s</string>"
        "<key>Topic</key><string>%s</string><key>SerialNumber</key><string>C02TEST%s</string>"
        "<key>Model</key><string>MacBookPro18,1</string><key>OSVersion</key><string>14.5"
        "</string><key>DeviceName</key><string>Test Mac</string>", udid, topic, udid);
    return ckfx_plist_doc(in);
}

char *ckfx_msg_simple(const char *type, const char *udid, const char *extra)
{
    g_autofree char *in = g_strdup_printf("<key>MessageType</key><string>%s</string>"
                                          "<key>UDID</key><string>%s</string>%s", type, udid,
                                          extra ? extra : "");
    return ckfx_plist_doc(in);
}

char *ckfx_msg_token_update(const char *udid)
{
    return ckfx_msg_simple("TokenUpdate", udid,
                      "<key>Token</key><data>3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs=</data>"
                      "<key>PushMagic</key><string>MAGIC-1234</string>"
                      "<key>UnlockToken</key><data>AAECAw==</data>");
}

char *ckfx_report(const char *udid, const char *status, const char *uuid, const char *extra)
{
    g_autofree char *u = uuid ? g_strdup_printf("<key>CommandUUID</key><string>%s</string>", uuid)
                              : g_strdup("");
    g_autofree char *in = g_strdup_printf("<key>UDID</key><string>%s</string><key>Status</key>"
                                          "<string>%s</string>%s%s", udid, status, u,
                                          extra ? extra : "");
    return ckfx_plist_doc(in);
}

const char *ckfx_topic(void) { return orchard_serve_config(ckfx_ctx)->apns_topic; }

/* Authenticate + TokenUpdate: an enabled enrollment. */
void ckfx_enroll(const char *udid, const device *d)
{
    g_autofree char *a = ckfx_msg_authenticate(udid, ckfx_topic());
    g_autofree char *t = ckfx_msg_token_update(udid);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, a, d), 200);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, t, d), 200);
}

void ckfx_queue_cmd(const char *uuid, const char *udid, gint64 at_us)
{
    g_autofree char *inner = g_strdup_printf("<key>CommandUUID</key><string>%s</string>"
                                             "<key>Command</key><dict><key>RequestType</key>"
                                             "<string>ProfileList</string></dict>", uuid);
    g_autofree char *cmd = ckfx_plist_doc(inner);
    const char *udids[] = {udid};
    CU_ASSERT_EQUAL(orchard_store_command_enqueue(uuid, "ProfileList", cmd, strlen(cmd), "t",
                                                  udids, 1, at_us, NULL), 0);
}

/* A report through the service at a chosen time (the NotNow rule needs a
 * clock); returns the status and *uuid_out, the command handed back (or NULL). */
int ckfx_report_at(const device *d, const char *body, gint64 now_us, char **uuid_out)
{
    g_autofree char *sha = orchard_scep_cert_sha256(d->cert);
    const orchard_checkin_env env = {.ctx = ckfx_ctx};
    const orchard_checkin_request in = {
        .body = (const unsigned char *)body, .len = strlen(body), .cert_sha256 = sha,
        .now_us = now_us,
    };
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

int ckfx_logged(const char *needle)
{
    for (guint i = 0; i < ckfx_log_lines->len; i++)
        if (strstr(ckfx_log_lines->pdata[i], needle))
            return 1;
    fprintf(stderr, "\n  no log line with \"%s\"\n", needle);
    return 0;
}

int ckfx_enrollments(void)
{
    g_autoptr(GPtrArray) all = NULL;
    CU_ASSERT_EQUAL(orchard_store_device_list(0, 0, &all), 0);
    return all ? (int)all->len : -1;
}

/* ---- suite ---------------------------------------------------------------------- */

int ckfx_init(void)
{
    g_autofree char *err = NULL;
    orchard_mdm_config *cfg = NULL;
    if (mdmfx_setup() || enroll_fixture_init())
        return -1;
    ckfx_log_lines = g_ptr_array_new_with_free_func(g_free);
    ckfx_events = g_ptr_array_new_with_free_func(g_free);
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
    ckfx_ctx = orchard_ctx_new(NULL);
    orchard_server_init(ckfx_ctx);
    store_path = tmp_path("checkin.db");
    orchard_store_close();
    store_ok = orchard_store_open(orchard_test_store(store_path), &err) == 0 && orchard_server_store_migrate() == 0;
    mdmfx_apply_config(NULL);
    if (orchard_mdm_config_load(&fake_host, &cfg, &err) != 0) {
        fprintf(stderr, "checkin: config: %s\n", err);
        return -1;
    }
    orchard_serve_state_set(ckfx_ctx, cfg);
    ckfx_ca = orchard_serve_config(ckfx_ctx)->scep_cert;
    ckfx_ca_key = orchard_serve_config(ckfx_ctx)->scep_key;
    return store_ok ? 0 : -1;
}

int ckfx_cleanup(void)
{
    orchard_serve_state_set(ckfx_ctx, NULL);
    orchard_server_deinit(ckfx_ctx);
    g_clear_pointer(&ckfx_ctx, orchard_ctx_free);
    orchard_store_close();
    orchard_server_host = saved_host;
    enroll_fixture_cleanup();
    g_clear_pointer(&store_path, g_free);
    g_clear_pointer(&ckfx_log_lines, g_ptr_array_unref);
    g_clear_pointer(&ckfx_events, g_ptr_array_unref);
    return mdmfx_teardown();
}

int ckfx_has_event(const char *prefix)
{
    for (guint i = 0; i < ckfx_events->len; i++)
        if (g_str_has_prefix(ckfx_events->pdata[i], prefix))
            return 1;
    return 0;
}
