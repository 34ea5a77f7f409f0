/* checkin_identity: who a check-in comes from (server_plugin/checkin/identity.c,
 * signer_cache.c), on the check-in fixture: every refusal of a signature or a
 * certificate (nothing stored), the proxy's client-certificate path, and the
 * signer cache (expiry while cached, revocation at once, a CA change,
 * certificates inside or not, threads). */
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

/* Every identity refusal: 400, a log line with the reason and the UDID,
 * nothing stored. */
static void test_checkin__identity_refusals(void)
{
    device d, other, unrecorded, foreign;
    ckfx_device_make(&d, "mac-id", ckfx_ca, ckfx_ca_key, 1);
    ckfx_device_make(&other, "mac-id2", ckfx_ca, ckfx_ca_key, 1);
    ckfx_device_make(&unrecorded, "mac-unrec", ckfx_ca, ckfx_ca_key, 0);
    /* A CA of its own, with the same name as ours. */
    EVP_PKEY *fkey = EVP_EC_gen("P-256");
    X509 *fca = X509_new();
    X509_set_version(fca, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(fca), 7);
    X509_set_issuer_name(fca, X509_get_subject_name(ckfx_ca));
    X509_set_subject_name(fca, X509_get_subject_name(ckfx_ca));
    X509_gmtime_adj(X509_getm_notBefore(fca), -3600);
    X509_gmtime_adj(X509_getm_notAfter(fca), 86400);
    X509_set_pubkey(fca, fkey);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, fca, fca, NULL, NULL, 0);
    X509_EXTENSION *ski = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier, "hash");
    X509_add_ext(fca, ski, -1);
    X509_EXTENSION_free(ski);
    X509_sign(fca, fkey, EVP_sha256());
    ckfx_device_make(&foreign, "mac-foreign", fca, fkey, 0);

    int before = ckfx_enrollments();
    g_autofree char *a = ckfx_msg_authenticate("UDID-ID", ckfx_topic());
    fake_resp r;

    g_ptr_array_set_size(ckfx_log_lines, 0);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, a, NULL), 400); /* no signature */
    CU_ASSERT(ckfx_logged("UDID-ID") && ckfx_logged("no Mdm-Signature"));
    /* A signature over another body. */
    g_autofree char *sig = ckfx_sign(&d, "other body", 10);
    fake_req q = {"PUT", CHECKIN_CT, sig, (const unsigned char *)a, strlen(a), NULL, 0};
    r.body = g_byte_array_new();
    r.content_type = NULL;
    orchard_route_checkin.handle2(ckfx_ctx, (const orchard_http_request *)&q,
                                  (orchard_http_response *)&r, NULL);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT(ckfx_logged("does not verify"));
    ckfx_resp_clear(&r);
    /* Not base64, not CMS. */
    q.signature = "!!!not base64";
    r.body = g_byte_array_new();
    orchard_route_checkin.handle2(ckfx_ctx, (const orchard_http_request *)&q,
                                  (orchard_http_response *)&r, NULL);
    CU_ASSERT_EQUAL(r.status, 400);
    ckfx_resp_clear(&r);
    q.signature = "AAAA";
    r.body = g_byte_array_new();
    orchard_route_checkin.handle2(ckfx_ctx, (const orchard_http_request *)&q,
                                  (orchard_http_response *)&r, NULL);
    CU_ASSERT_EQUAL(r.status, 400);
    ckfx_resp_clear(&r);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, a, &foreign), 400); /* another CA */
    CU_ASSERT(ckfx_logged("does not chain to the SCEP CA"));
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, a, &unrecorded), 400); /* not on record */
    CU_ASSERT(ckfx_logged("not one this server issued"));
    /* Expired (signed 60 days ago for 30), and revoked. */
    device expired, revoked;
    ckfx_device_make_at(&expired, "mac-expired", ckfx_ca, ckfx_ca_key, 1,
                   g_get_real_time() / G_USEC_PER_SEC - 60 * 86400);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, a, &expired), 400);
    CU_ASSERT(ckfx_logged("certificate has expired"));
    ckfx_device_make(&revoked, "mac-revoked", ckfx_ca, ckfx_ca_key, 1);
    g_autofree char *rserial = orchard_scep_serial_hex(revoked.cert);
    CU_ASSERT_EQUAL(orchard_sstore_write("revoking", "UPDATE scep_certificates SET revoked = 1 "
                                         "WHERE serial = ?", SQL_PARAMS(SQL_TEXT(rserial))), 1);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, a, &revoked), 400);
    CU_ASSERT(ckfx_logged("is revoked"));
    ckfx_device_free(&expired);
    ckfx_device_free(&revoked);
    CU_ASSERT_EQUAL(ckfx_enrollments(), before);

    /* A certificate bound to one UDID cannot Authenticate another, nor speak for it. */
    ckfx_enroll("UDID-ID", &d);
    ckfx_enroll("UDID-ID2", &other);
    g_autofree char *steal = ckfx_msg_authenticate("UDID-ID2", ckfx_topic());
    g_ptr_array_set_size(ckfx_log_lines, 0);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, steal, &d), 400);
    CU_ASSERT(ckfx_logged("UDID-ID2") && ckfx_logged("bound to another UDID (UDID-ID)"));
    g_autofree char *speak = ckfx_msg_simple("CheckOut", "UDID-ID2", NULL);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, speak, &d), 400);
    g_autofree char *rep = ckfx_report("UDID-ID2", "Idle", NULL, NULL);
    CU_ASSERT_EQUAL(ckfx_send("application/x-plist", rep, &d), 400);
    g_autoptr(orchard_device) dev = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get("UDID-ID2", &dev), 0);
    CU_ASSERT_EQUAL(dev->enabled, 1); /* the CheckOut did not happen */
    g_autofree char *sha2 = orchard_scep_cert_sha256(other.cert);
    CU_ASSERT_STRING_EQUAL(dev->cert_sha256, sha2);
    /* A certificate never used to Authenticate cannot TokenUpdate. */
    device fresh;
    ckfx_device_make(&fresh, "mac-fresh", ckfx_ca, ckfx_ca_key, 1);
    g_autofree char *t = ckfx_msg_token_update("UDID-ID");
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, t, &fresh), 400);

    ckfx_device_free(&fresh);
    ckfx_device_free(&d);
    ckfx_device_free(&other);
    ckfx_device_free(&unrecorded);
    ckfx_device_free(&foreign);
    X509_free(fca);
    EVP_PKEY_free(fkey);
}

/* No Mdm-Signature: the client certificate the host passes (TLS or the
 * proxy's header) identifies the device, checked the same way. */
static void test_checkin__proxy_certificate(void)
{
    device d, unrecorded;
    ckfx_device_make(&d, "mac-proxy", ckfx_ca, ckfx_ca_key, 1);
    ckfx_device_make(&unrecorded, "mac-proxy2", ckfx_ca, ckfx_ca_key, 0);
    g_autofree char *a = ckfx_msg_authenticate("UDID-PROXY", ckfx_topic());
    fake_resp r;
    CU_ASSERT_EQUAL(ckfx_send_full("POST", CHECKIN_CT, a, strlen(a), NULL, &unrecorded, &r), 400);
    ckfx_resp_clear(&r);
    CU_ASSERT_EQUAL(ckfx_send_full("POST", CHECKIN_CT, a, strlen(a), NULL, &d, &r), 200);
    ckfx_resp_clear(&r);
    g_autoptr(orchard_device) dev = NULL;
    CU_ASSERT_EQUAL(orchard_store_device_get("UDID-PROXY", &dev), 0);
    ckfx_device_free(&d);
    ckfx_device_free(&unrecorded);
}

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
                                      NULL, &reason);
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
    ckfx_device_make(&d, "mac-cache", ckfx_ca, ckfx_ca_key, 1);
    ckfx_device_make(&other, "mac-cache2", ckfx_ca, ckfx_ca_key, 1);
    dsha = orchard_scep_cert_sha256(d.cert);
    g_autofree char *sig = ckfx_sign(&d, body, strlen(body));
    CU_ASSERT_EQUAL(identify(ckfx_ca, sig, NULL, body, now, &sha, NULL), 0);
    CU_ASSERT_STRING_EQUAL(sha, dsha);
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), 1);
    CU_ASSERT_EQUAL(identify(ckfx_ca, sig, NULL, body, now + 60, &sha2, NULL), 0); /* a hit */
    CU_ASSERT_STRING_EQUAL(sha2, dsha);
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), 1);
    /* The body still matters on a hit. */
    CU_ASSERT(denied_for(ckfx_ca, sig, NULL, "<plist>other</plist>", now, "does not verify"));

    /* Expired since it was cached (30 days), or before its time. */
    CU_ASSERT(denied_for(ckfx_ca, sig, NULL, body, now + 31 * 86400, "certificate has expired"));
    CU_ASSERT(denied_for(ckfx_ca, sig, NULL, body, now - 2 * 86400, "not yet valid"));
    CU_ASSERT(denied_for(ckfx_ca, NULL, &d, body, now + 31 * 86400, "certificate has expired"));

    /* Revoked while cached: refused at once, on both paths; and back. */
    g_autofree char *serial = orchard_scep_serial_hex(d.cert);
    CU_ASSERT_EQUAL(orchard_sstore_write("revoking", "UPDATE scep_certificates SET revoked = 1 "
                                         "WHERE serial = ?", SQL_PARAMS(SQL_TEXT(serial))), 1);
    CU_ASSERT(denied_for(ckfx_ca, sig, NULL, body, now, "is revoked"));
    CU_ASSERT(denied_for(ckfx_ca, NULL, &d, body, now, "is revoked"));
    CU_ASSERT_EQUAL(orchard_sstore_write("unrevoking", "UPDATE scep_certificates SET revoked = 0 "
                                         "WHERE serial = ?", SQL_PARAMS(SQL_TEXT(serial))), 1);
    CU_ASSERT_EQUAL(identify(ckfx_ca, sig, NULL, body, now, NULL, NULL), 0);
    CU_ASSERT_EQUAL(identify(ckfx_ca, NULL, &d, body, now, NULL, NULL), 0);

    /* No certificate inside: refused though the signer is cached (the
     * cache is not a directory of signers). */
    g_autofree char *nocert = sign_with(&d, body, CMS_NOCERTS, NULL);
    CU_ASSERT(denied_for(ckfx_ca, nocert, NULL, body, now, "does not verify"));
    /* Signed by d, carrying only other's (cached) certificate. */
    CU_ASSERT_EQUAL(identify(ckfx_ca, NULL, &other, body, now, NULL, NULL), 0);
    g_autofree char *swapped = sign_with(&d, body, CMS_NOCERTS, other.cert);
    CU_ASSERT(denied_for(ckfx_ca, swapped, NULL, body, now, "does not verify"));
    /* Two certificates: the whole message through OpenSSL, the same answer. */
    g_autofree char *two = sign_with(&d, body, 0, ckfx_ca);
    g_autofree char *sha3 = NULL;
    CU_ASSERT_EQUAL(identify(ckfx_ca, two, NULL, body, now, &sha3, NULL), 0);
    CU_ASSERT_STRING_EQUAL(sha3, dsha);
    CU_ASSERT(denied_for(ckfx_ca, two, NULL, body, now + 31 * 86400, "expired"));

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
    CU_ASSERT(denied_for(ckfx_ca, notder, NULL, body, now, "certificate is not DER"));
    raw[at + 4] = 0x30;
    raw[at + clen - 1] ^= 0x01; /* the last byte of the CA's signature */
    g_autofree char *forged = g_base64_encode(raw, raw_len);
    CU_ASSERT(denied_for(ckfx_ca, forged, NULL, body, now, "does not chain"));

    /* Another CA: nothing cached for ours counts, d does not chain to it. */
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), 2);
    CU_ASSERT(denied_for(other.cert, sig, NULL, body, now, "does not chain"));
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), 0);
    CU_ASSERT_EQUAL(identify(ckfx_ca, sig, NULL, body, now, NULL, NULL), 0);
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), 1);
    ckfx_device_free(&d);
    ckfx_device_free(&other);
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
        int rc = identify(ckfx_ca, id_sig[i], NULL, "<plist>threads</plist>", now, &sha, &why);
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
        ckfx_device_make(&id_dev[i], cn, ckfx_ca, ckfx_ca_key, 1);
        id_sig[i] = ckfx_sign(&id_dev[i], "<plist>threads</plist>", 22);
    }
    for (int i = 0; i < ID_THREADS; i++)
        t[i] = g_thread_new("identity", identify_loop, GINT_TO_POINTER(i));
    int bad = 0;
    for (int i = 0; i < ID_THREADS; i++)
        bad += GPOINTER_TO_INT(g_thread_join(t[i]));
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(orchard_signer_cache_count() <= 2);
    for (int i = 0; i < ID_DEVICES; i++) {
        ckfx_device_free(&id_dev[i]);
        g_clear_pointer(&id_sig[i], g_free);
    }
    orchard_signer_cache_reset(ORCHARD_SIGNER_CACHE_CAPACITY);
}

/* The identity check reads the certificate's binding in the same store read
 * (2026-12-06): none before Authenticate, the UDID after; on the signature
 * path and the client-certificate path alike; and a check-in answered with
 * the binding from the request behaves as one that asked the store. */
static void test_checkin__identity_reads_binding(void)
{
    device d;
    ckfx_device_make(&d, "mac-binding", ckfx_ca, ckfx_ca_key, 1);
    const char *body = "<plist/>";
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    g_autofree char *sig = ckfx_sign(&d, body, strlen(body));
    char *sha = NULL, *bound = NULL, *why = NULL;

    CU_ASSERT_EQUAL(orchard_checkin_identity(ckfx_ca, sig, NULL, 0, (const unsigned char *)body,
                                             strlen(body), now, &sha, &bound, &why), 0);
    CU_ASSERT_PTR_NOT_NULL(sha);
    CU_ASSERT_PTR_NULL(bound); /* no Authenticate yet */
    g_clear_pointer(&sha, g_free);

    ckfx_enroll("UDID-BINDING", &d);
    CU_ASSERT_EQUAL(orchard_checkin_identity(ckfx_ca, sig, NULL, 0, (const unsigned char *)body,
                                             strlen(body), now, &sha, &bound, &why), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bound);
    CU_ASSERT_STRING_EQUAL(bound, "UDID-BINDING");
    g_clear_pointer(&sha, g_free);
    g_clear_pointer(&bound, g_free);
    CU_ASSERT_EQUAL(orchard_checkin_identity(ckfx_ca, NULL, d.der, (size_t)d.der_len,
                                             (const unsigned char *)body, strlen(body), now,
                                             &sha, &bound, &why), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bound);
    CU_ASSERT_STRING_EQUAL(bound, "UDID-BINDING");

    /* The service takes the binding from the request: bound to another
     * UDID there is a refusal without a store read deciding it. */
    g_autofree char *idle = ckfx_report("UDID-BINDING", "Idle", NULL, NULL);
    const orchard_checkin_env env = {.ctx = ckfx_ctx};
    orchard_checkin_request in = {
        .body = (const unsigned char *)idle, .len = strlen(idle), .cert_sha256 = sha,
        .now_us = g_get_real_time(), .bound_known = 1, .bound_udid = "UDID-ELSEWHERE",
    };
    orchard_checkin_reply out;
    CU_ASSERT_EQUAL(orchard_checkin_handle(&env, &in, &out), 0);
    CU_ASSERT_EQUAL(out.status, 400);
    orchard_checkin_reply_clear(&out);
    in.bound_udid = "UDID-BINDING";
    CU_ASSERT_EQUAL(orchard_checkin_handle(&env, &in, &out), 0);
    CU_ASSERT_EQUAL(out.status, 200);
    orchard_checkin_reply_clear(&out);
    g_free(sha);
    g_free(bound);
    g_free(why);
    ckfx_device_free(&d);
}

void checkin_identity_suite(void)
{
    ORCHARD_ADD_SUITE("checkin_identity", ckfx_init, ckfx_cleanup,
                      {"identity_refusals", test_checkin__identity_refusals},
                      {"proxy_certificate", test_checkin__proxy_certificate},
                      {"signer_cache", test_checkin__signer_cache},
                      {"signer_cache_threads", test_checkin__signer_cache_threads},
                      {"identity_reads_binding", test_checkin__identity_reads_binding});
}
