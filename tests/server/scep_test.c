/* scep: the SCEP server's PKIOperation (server_plugin/scep/) in process,
 * driven by the tests' own requester (tests/support/scep_client), on a fresh
 * store per test: what gets a certificate, what gets which failure, and that
 * hostile bytes get an error and issue nothing. Over HTTP, the same server
 * is checked by tests/interop/scep_interop_test.py with micromdm's scepclient. */
#include "server_plugin/setup/cert_build.h"
#include "host/plugins/registry.h"
#include "tests/support/scep_client.h"
#include "server_plugin/scep/scep_service.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "host/store/store.h"
#include "tests/suites.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <glib/gstdio.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATIC_CHALLENGE "static-challenge-2f9c"

static struct {
    char *dir;
    X509 *ca;
    EVP_PKEY *ca_key;
    X509 *other_ca; /* a CA that is not ours */
    EVP_PKEY *other_key;
    EVP_PKEY *device_key;
    orchard_scep_service svc;
} fx;

static int suite_init(void)
{
    g_autofree char *err = NULL;
    orchard_cert_spec spec = {
        .subject = {.o = "scep-ca", .ou = "SCEP CA", .cn = NULL, .email = NULL},
        .years = 1,
        .basic_constraints = "critical,CA:TRUE,pathlen:0",
        .key_usage = "critical,keyCertSign,cRLSign,digitalSignature",
        .subject_key_id = 1,
    };
    if (orchard_cert_rsa_key(2048, &fx.ca_key, &err) ||
        orchard_cert_self_signed(fx.ca_key, &spec, &fx.ca, &err) ||
        orchard_cert_rsa_key(2048, &fx.other_key, &err) ||
        orchard_cert_self_signed(fx.other_key, &spec, &fx.other_ca, &err) ||
        orchard_cert_rsa_key(2048, &fx.device_key, &err))
        return -1;
    fx.svc = (orchard_scep_service){
        .ca = fx.ca,
        .ca_key = fx.ca_key,
        .static_challenge = STATIC_CHALLENGE,
        .validity_days = 365,
        .allow_renewal_days = 14,
    };
    orchard_server_host = orchard_host_api_get();
    return 0;
}

static int suite_cleanup(void)
{
    X509_free(fx.ca);
    X509_free(fx.other_ca);
    EVP_PKEY_free(fx.ca_key);
    EVP_PKEY_free(fx.other_key);
    EVP_PKEY_free(fx.device_key);
    return 0;
}

static void open_store(void)
{
    g_autofree char *err = NULL;
    fx.dir = g_dir_make_tmp("orchard-scep-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(fx.dir, "s.db", NULL);
    CU_ASSERT_FATAL(orchard_store_open(orchard_test_store(path), &err) == 0);
    CU_ASSERT_FATAL(orchard_server_store_migrate() == 0);
}

static void close_store(void)
{
    orchard_store_close();
    const char *names[] = {"s.db", "s.db-wal", "s.db-shm"};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *p = g_build_filename(fx.dir, names[i], NULL);
        g_unlink(p);
    }
    g_rmdir(fx.dir);
    g_free(fx.dir);
}

static gint64 now_s(void) { return g_get_real_time() / G_USEC_PER_SEC; }

static int count_issued(void)
{
    int n = 0;
    const orchard_host_api *h = orchard_host_api_get();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    CU_ASSERT_FATAL(h->store_begin(&tx, 0) == 0);
    CU_ASSERT_FATAL(h->stmt_prepare(tx, "SELECT count(*) FROM scep_certificates", &st) == 0);
    if (h->stmt_step(st) == 1)
        n = (int)h->stmt_column_int(st, 0);
    h->stmt_finish(st);
    h->store_rollback(tx);
    return n;
}

static orchard_scepc_request_opts base_opts(const char *challenge)
{
    orchard_scepc_request_opts o = {0};
    o.message_type = ORCHARD_SCEPC_PKCSREQ;
    o.key = fx.device_key;
    o.subject = "/O=orchard test/CN=device-1";
    o.challenge = challenge;
    o.ca = fx.ca;
    return o;
}

/* Build, run through the service, parse the reply: the pkiStatus (or -400
 * for an HTTP 400), the issued certificate in *cert when asked. */
static int run_svc(const orchard_scep_service *svc, const orchard_scepc_request_opts *o,
                   int *fail_info, X509 **cert)
{
    orchard_scepc_request req;
    orchard_scepc_reply rep;
    char *err = NULL;
    orchard_scep_result res;
    int status;
    if (orchard_scepc_request_build(&req, o, &err)) {
        CU_FAIL_FATAL("request_build");
    }
    orchard_scep_pki_operation(svc, req.der, req.der_len, now_s(), &res);
    if (res.reason && g_getenv("ORCHARD_TEST_VERBOSE"))
        fprintf(stderr, "scep: %d %s\n", res.http_status, res.reason);
    if (res.http_status != 200) {
        status = -res.http_status;
    } else {
        CU_ASSERT_FATAL(orchard_scepc_reply_parse(&rep, res.body, res.body_len, fx.ca, &req, 0,
                                                  &err) == 0);
        status = rep.pki_status;
        if (fail_info)
            *fail_info = rep.fail_info;
        if (cert && rep.cert && X509_up_ref(rep.cert))
            *cert = rep.cert;
        CU_ASSERT(status != ORCHARD_SCEPC_SUCCESS || res.issued);
        orchard_scepc_reply_clear(&rep);
    }
    orchard_scep_result_clear(&res);
    orchard_scepc_request_clear(&req);
    free(err);
    return status;
}

static void test_static_challenge_issues(void)
{
    open_store();
    orchard_scepc_request_opts o = base_opts(STATIC_CHALLENGE);
    X509 *cert = NULL;
    char *err = NULL;
    CU_ASSERT_FATAL(run_svc(&fx.svc, &o, NULL, &cert) == ORCHARD_SCEPC_SUCCESS);
    CU_ASSERT_FATAL(cert != NULL);
    CU_ASSERT(orchard_scepc_verify_issued(cert, fx.ca, fx.device_key, &err) == 1);
    /* docs/protocols.md §6: NotBefore now-600 s, NotAfter now + validity days. */
    int day = 0, sec = 0;
    ASN1_TIME *now = ASN1_TIME_set(NULL, (time_t)now_s());
    CU_ASSERT(ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(cert), now) == 1);
    CU_ASSERT(day == 0 && sec >= 595 && sec <= 610);
    CU_ASSERT(ASN1_TIME_diff(&day, &sec, now, X509_get0_notAfter(cert)) == 1);
    CU_ASSERT(day == 365 || (day == 364 && sec > 86390));
    ASN1_TIME_free(now);
    uint32_t ku = X509_get_key_usage(cert);
    CU_ASSERT(ku == KU_DIGITAL_SIGNATURE);
    CU_ASSERT(X509_get_extended_key_usage(cert) == XKU_SSL_CLIENT);
    CU_ASSERT(X509_check_ca(cert) == 0);
    char cn[64] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    CU_ASSERT_STRING_EQUAL(cn, "device-1");
    CU_ASSERT(count_issued() == 1);
    X509_free(cert);
    free(err);
    close_store();
}

static void expect_refusal(const orchard_scepc_request_opts *o, int fail)
{
    int fi = -1;
    int before = count_issued();
    CU_ASSERT(run_svc(&fx.svc, o, &fi, NULL) == ORCHARD_SCEPC_FAILURE);
    CU_ASSERT_EQUAL(fi, fail);
    CU_ASSERT_EQUAL(count_issued(), before);
}

static void test_one_time_challenge(void)
{
    open_store();
    g_autofree char *c = NULL;
    CU_ASSERT_FATAL(orchard_server_store_challenge_create(3600, &c) == 0);
    orchard_scepc_request_opts o = base_opts(c);
    CU_ASSERT(run_svc(&fx.svc, &o, NULL, NULL) == ORCHARD_SCEPC_SUCCESS);
    /* Reused: refused, nothing more issued. */
    expect_refusal(&o, ORCHARD_SCEPC_BAD_REQUEST);
    CU_ASSERT(count_issued() == 1);
    /* Expired. */
    g_autofree char *old = NULL;
    CU_ASSERT_FATAL(orchard_server_store_challenge_create(-1, &old) == 0);
    o.challenge = old;
    expect_refusal(&o, ORCHARD_SCEPC_BAD_REQUEST);
    close_store();
}

static void test_policy_refusals(void)
{
    open_store();
    orchard_scepc_request_opts o = base_opts("wrong");
    expect_refusal(&o, ORCHARD_SCEPC_BAD_REQUEST);
    o = base_opts(STATIC_CHALLENGE "x"); /* a longer secret with ours as prefix */
    expect_refusal(&o, ORCHARD_SCEPC_BAD_REQUEST);
    o = base_opts(NULL);
    expect_refusal(&o, ORCHARD_SCEPC_BAD_REQUEST);
    o = base_opts(STATIC_CHALLENGE);
    o.subject = "";
    expect_refusal(&o, ORCHARD_SCEPC_BAD_REQUEST);
    o = base_opts(STATIC_CHALLENGE);
    o.message_type_text = "20"; /* GetCertInitial: we never answer PENDING */
    expect_refusal(&o, ORCHARD_SCEPC_BAD_REQUEST);
    /* A static challenge when none is configured. */
    orchard_scep_service none = fx.svc;
    none.static_challenge = NULL;
    int fi = -1;
    o = base_opts(STATIC_CHALLENGE);
    CU_ASSERT(run_svc(&none, &o, &fi, NULL) == ORCHARD_SCEPC_FAILURE);
    CU_ASSERT(fi == ORCHARD_SCEPC_BAD_REQUEST);
    CU_ASSERT(count_issued() == 0);
    close_store();
}

static void test_message_check_refusals(void)
{
    open_store();
    orchard_scepc_request_opts o = base_opts(STATIC_CHALLENGE);
    o.forge_key = fx.other_key; /* signature by another key than the cert's */
    expect_refusal(&o, ORCHARD_SCEPC_BAD_MESSAGE_CHECK);
    o = base_opts(STATIC_CHALLENGE);
    o.recipient = fx.other_ca; /* encrypted to another CA */
    expect_refusal(&o, ORCHARD_SCEPC_BAD_MESSAGE_CHECK);
    CU_ASSERT(count_issued() == 0);
    close_store();
}

static void test_ciphers_and_digests(void)
{
    open_store();
    orchard_scepc_request_opts o = base_opts(STATIC_CHALLENGE);
    o.cipher = ORCHARD_SCEPC_DES3_CBC;
    CU_ASSERT(run_svc(&fx.svc, &o, NULL, NULL) == ORCHARD_SCEPC_SUCCESS);
    o.cipher = ORCHARD_SCEPC_AES128_CBC;
    o.digest = EVP_sha1(); /* SHA-1 is in our caps: old clients */
    CU_ASSERT(run_svc(&fx.svc, &o, NULL, NULL) == ORCHARD_SCEPC_SUCCESS);
    CU_ASSERT(count_issued() == 2);
    close_store();
}

/* Requests without the attributes a CertRep needs can only get a 400. */
static void test_unanswerable_is_400(void)
{
    open_store();
    const unsigned omits[] = {ORCHARD_SCEPC_OMIT_MESSAGE_TYPE, ORCHARD_SCEPC_OMIT_TRANSACTION_ID,
                              ORCHARD_SCEPC_OMIT_SENDER_NONCE};
    for (size_t i = 0; i < G_N_ELEMENTS(omits); i++) {
        orchard_scepc_request_opts o = base_opts(STATIC_CHALLENGE);
        o.omit = omits[i];
        CU_ASSERT(run_svc(&fx.svc, &o, NULL, NULL) == -400);
    }
    orchard_scepc_request_opts o = base_opts(STATIC_CHALLENGE);
    o.message_type_text = "nineteen";
    CU_ASSERT(run_svc(&fx.svc, &o, NULL, NULL) == -400);
    CU_ASSERT(count_issued() == 0);
    close_store();
}

/* Garbage, every truncation and bit flips of a good request: an answer, no
 * crash; truncations never issue. */
static void test_hostile_bytes(void)
{
    open_store();
    orchard_scep_result res;
    static const unsigned char garbage[] = "this is not a PKCS#7 message at all";
    orchard_scep_pki_operation(&fx.svc, garbage, sizeof garbage, now_s(), &res);
    CU_ASSERT(res.http_status == 400 && res.reason && !res.issued);
    orchard_scep_result_clear(&res);
    orchard_scep_pki_operation(&fx.svc, garbage, 0, now_s(), &res);
    CU_ASSERT(res.http_status == 400);
    orchard_scep_result_clear(&res);

    orchard_scepc_request_opts o = base_opts(STATIC_CHALLENGE);
    orchard_scepc_request req;
    char *err = NULL;
    CU_ASSERT_FATAL(orchard_scepc_request_build(&req, &o, &err) == 0);
    int issued = 0;
    for (size_t n = 1; n < req.der_len; n += 1 + n / 16) {
        orchard_scep_pki_operation(&fx.svc, req.der, n, now_s(), &res);
        CU_ASSERT(res.http_status == 400 || res.http_status == 200);
        issued += res.issued;
        orchard_scep_result_clear(&res);
    }
    CU_ASSERT(issued == 0);
    unsigned char *copy = g_memdup2(req.der, req.der_len);
    GRand *rnd = g_rand_new_with_seed(20261127);
    for (int i = 0; i < 200; i++) {
        memcpy(copy, req.der, req.der_len);
        size_t at = (size_t)g_rand_int_range(rnd, 0, (gint32)req.der_len);
        copy[at] ^= (unsigned char)(1u << g_rand_int_range(rnd, 0, 8));
        orchard_scep_pki_operation(&fx.svc, copy, req.der_len, now_s(), &res);
        CU_ASSERT(res.http_status == 400 || res.http_status == 200);
        CU_ASSERT(res.issued || res.reason != NULL);
        orchard_scep_result_clear(&res);
    }
    g_rand_free(rnd);
    g_free(copy);
    orchard_scepc_request_clear(&req);
    close_store();
}

static void test_renewal(void)
{
    open_store();
    /* A certificate near its end: issued for 10 days, renewal window 14. */
    orchard_scep_service short_lived = fx.svc;
    short_lived.validity_days = 10;
    orchard_scepc_request_opts o = base_opts(STATIC_CHALLENGE);
    X509 *near_end = NULL, *fresh = NULL, *renewed = NULL;
    CU_ASSERT_FATAL(run_svc(&short_lived, &o, NULL, &near_end) == ORCHARD_SCEPC_SUCCESS);
    CU_ASSERT_FATAL(run_svc(&fx.svc, &o, NULL, &fresh) == ORCHARD_SCEPC_SUCCESS);

    EVP_PKEY *new_key = NULL;
    char *err = NULL;
    CU_ASSERT_FATAL(orchard_scepc_rsa_key(&new_key, 2048, &err) == 0);
    orchard_scepc_request_opts r = base_opts(NULL);
    r.message_type = ORCHARD_SCEPC_RENEWALREQ;
    r.key = new_key;
    r.signer_cert = near_end;
    r.signer_key = fx.device_key;
    CU_ASSERT(run_svc(&fx.svc, &r, NULL, &renewed) == ORCHARD_SCEPC_SUCCESS);
    CU_ASSERT(renewed && orchard_scepc_verify_issued(renewed, fx.ca, new_key, &err) == 1);
    /* Too early: a year left. */
    r.signer_cert = fresh;
    expect_refusal(&r, ORCHARD_SCEPC_BAD_REQUEST);
    /* Signed by a certificate that is not ours. */
    X509 *self = NULL;
    CU_ASSERT_FATAL(orchard_scepc_self_signed(&self, fx.device_key, "/CN=me", &err) == 0);
    r.signer_cert = self;
    expect_refusal(&r, ORCHARD_SCEPC_BAD_REQUEST);
    CU_ASSERT(count_issued() == 3);
    X509_free(self);
    X509_free(near_end);
    X509_free(fresh);
    X509_free(renewed);
    EVP_PKEY_free(new_key);
    free(err);
    close_store();
}

void scep_suite(void)
{
    ORCHARD_ADD_SUITE("scep", suite_init, suite_cleanup,
                      {"static challenge: certificate as docs/protocols.md §6 says", test_static_challenge_issues},
                      {"one-time challenge: once, not after expiry", test_one_time_challenge},
                      {"policy refusals are badRequest", test_policy_refusals},
                      {"signature and envelope refusals are badMessageCheck", test_message_check_refusals},
                      {"DES3, AES-128 and SHA-1 requests", test_ciphers_and_digests},
                      {"requests a CertRep can't answer get 400", test_unanswerable_is_400},
                      {"garbage, truncations, bit flips", test_hostile_bytes},
                      {"renewal only near expiry, only for ours", test_renewal});
}
