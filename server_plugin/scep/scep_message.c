/* Reading SCEP requests and writing CertRep replies with OpenSSL's CMS
 * (RFC 8894 §3). Everything read here came from the network: each step
 * checks types and sizes before trusting a field, and a failure says which
 * layer was wrong so the log line explains a refused device. */
#include "server_plugin/scep/scep_message.h"

#include "server_plugin/setup/cert_build.h"

#include <orchard/plugin.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* SCEP's authenticated attributes (id-VeriSign pki attributes). */
#define OID_MESSAGE_TYPE "2.16.840.1.113733.1.9.2"
#define OID_PKI_STATUS "2.16.840.1.113733.1.9.3"
#define OID_FAIL_INFO "2.16.840.1.113733.1.9.4"
#define OID_SENDER_NONCE "2.16.840.1.113733.1.9.5"
#define OID_RECIPIENT_NONCE "2.16.840.1.113733.1.9.6"
#define OID_TRANSACTION_ID "2.16.840.1.113733.1.9.7"

/* transactionID is free text in principle; real clients send a hash. */
#define TRANSACTION_ID_MAX 256

const char *orchard_scep_fail_name(orchard_scep_fail_info fail)
{
    switch (fail) {
    case ORCHARD_SCEP_BAD_ALG: return "badAlg";
    case ORCHARD_SCEP_BAD_MESSAGE_CHECK: return "badMessageCheck";
    case ORCHARD_SCEP_BAD_REQUEST: return "badRequest";
    case ORCHARD_SCEP_BAD_TIME: return "badTime";
    case ORCHARD_SCEP_BAD_CERT_ID: return "badCertId";
    }
    return "unknown";
}

static ASN1_OBJECT *oid(const char *dotted)
{
    return OBJ_txt2obj(dotted, 1);
}

/* The one value of a signed attribute, of ASN.1 type `type`; NULL when
 * absent, repeated or of another type. */
static ASN1_STRING *signed_attr(CMS_SignerInfo *si, const char *dotted, int type)
{
    ASN1_OBJECT *o = oid(dotted);
    ASN1_STRING *s = o ? CMS_signed_get0_data_by_OBJ(si, o, -3, type) : NULL;
    ASN1_OBJECT_free(o);
    return s;
}

void orchard_scep_request_free(orchard_scep_request *req)
{
    if (!req)
        return;
    g_free(req->transaction_id);
    g_free(req->signature_error);
    X509_free(req->signer);
    g_free(req->envelope);
    g_free(req);
}

static int parse_message_type(ASN1_STRING *s)
{
    int len = ASN1_STRING_length(s);
    const unsigned char *d = ASN1_STRING_get0_data(s);
    if (len < 1 || len > 3)
        return -1;
    int v = 0;
    for (int i = 0; i < len; i++) {
        if (d[i] < '0' || d[i] > '9')
            return -1;
        v = v * 10 + (d[i] - '0');
    }
    return v;
}

/* The signer's certificate among those the message carries. */
static X509 *find_signer(CMS_ContentInfo *cms, CMS_SignerInfo *si)
{
    STACK_OF(X509) *certs = CMS_get1_certs(cms);
    X509 *found = NULL;
    for (int i = 0; certs && i < sk_X509_num(certs) && !found; i++) {
        X509 *c = sk_X509_value(certs, i);
        if (CMS_SignerInfo_cert_cmp(si, c) == 0 && X509_up_ref(c))
            found = c;
    }
    sk_X509_pop_free(certs, X509_free);
    return found;
}

static int read_attributes(orchard_scep_request *req, CMS_SignerInfo *si, char **reason)
{
    ASN1_STRING *mt = signed_attr(si, OID_MESSAGE_TYPE, V_ASN1_PRINTABLESTRING);
    ASN1_STRING *tid = signed_attr(si, OID_TRANSACTION_ID, V_ASN1_PRINTABLESTRING);
    ASN1_STRING *nonce = signed_attr(si, OID_SENDER_NONCE, V_ASN1_OCTET_STRING);
    if (!mt || (req->message_type = parse_message_type(mt)) < 0) {
        *reason = g_strdup("no valid messageType attribute");
        return ORCHARD_EINVAL;
    }
    int tid_len = tid ? ASN1_STRING_length(tid) : 0;
    if (tid_len < 1 || tid_len > TRANSACTION_ID_MAX) {
        *reason = g_strdup("no valid transactionID attribute");
        return ORCHARD_EINVAL;
    }
    int nonce_len = nonce ? ASN1_STRING_length(nonce) : 0;
    if (nonce_len < 8 || nonce_len > ORCHARD_SCEP_NONCE_MAX) {
        *reason = g_strdup("no valid senderNonce attribute (8 to 64 bytes)");
        return ORCHARD_EINVAL;
    }
    req->transaction_id = g_strndup((const char *)ASN1_STRING_get0_data(tid), (gsize)tid_len);
    memcpy(req->sender_nonce, ASN1_STRING_get0_data(nonce), (size_t)nonce_len);
    req->sender_nonce_len = (size_t)nonce_len;
    return 0;
}

static int copy_content(orchard_scep_request *req, CMS_ContentInfo *cms, char **reason)
{
    ASN1_OCTET_STRING **content = CMS_get0_content(cms);
    if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data || !content || !*content ||
        ASN1_STRING_length(*content) <= 0) {
        *reason = g_strdup("the SignedData carries no data content (the EnvelopedData)");
        return ORCHARD_EINVAL;
    }
    req->envelope_len = (size_t)ASN1_STRING_length(*content);
    req->envelope = g_memdup2(ASN1_STRING_get0_data(*content), req->envelope_len);
    return 0;
}

static void check_signature(orchard_scep_request *req, CMS_ContentInfo *cms)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    if (certs && sk_X509_push(certs, req->signer) &&
        CMS_verify(cms, certs, NULL, NULL, NULL,
                   CMS_NO_SIGNER_CERT_VERIFY | CMS_NOINTERN | CMS_BINARY) == 1) {
        req->signature_ok = 1;
    } else {
        req->signature_error = orchard_ssl_error("signature check failed");
    }
    sk_X509_free(certs);
    ERR_clear_error();
}

int orchard_scep_request_parse(const unsigned char *der, size_t len,
                               orchard_scep_request **out, char **reason)
{
    const unsigned char *p = der;
    orchard_scep_request *req = NULL;
    int rc = ORCHARD_EINVAL;
    *out = NULL;
    if (len == 0 || len > LONG_MAX) {
        *reason = g_strdup("empty message");
        return ORCHARD_EINVAL;
    }
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    if (!cms || p != der + len) {
        *reason = g_strdup(cms ? "trailing bytes after the PKCS#7 message"
                               : "not a PKCS#7 message (DER)");
        goto done;
    }
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
        *reason = g_strdup("not a PKCS#7 SignedData");
        goto done;
    }
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
    if (!sis || sk_CMS_SignerInfo_num(sis) != 1) {
        *reason = g_strdup("a SCEP request has exactly one signer");
        goto done;
    }
    CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
    req = g_new0(orchard_scep_request, 1);
    if ((rc = read_attributes(req, si, reason)) || (rc = copy_content(req, cms, reason)))
        goto done;
    if (!(req->signer = find_signer(cms, si))) {
        *reason = g_strdup("the signer's certificate is not in the message");
        rc = ORCHARD_EINVAL;
        goto done;
    }
    check_signature(req, cms);
    *out = g_steal_pointer(&req);
    rc = 0;
done:
    ERR_clear_error();
    CMS_ContentInfo_free(cms);
    orchard_scep_request_free(req);
    return rc;
}

/*
 * micromdm's scepclient and other field clients still encrypt requests with
 * single DES, which OpenSSL 3 keeps in its legacy provider. Envelopes open
 * in the default library context; only when that fails for want of the
 * cipher is the envelope read again in a private context that also has the
 * legacy provider. Loading legacy into the default context instead made
 * every enrollment 19% slower (more providers behind every fetch and decoder
 * lookup; bench/RESULTS.md). A thread that used the private context drops its
 * per-thread state there when it exits (orchard_scep_message_thread_stop),
 * or OpenSSL 3.0 leaks it.
 */
static GMutex legacy_lock;
static OSSL_LIB_CTX *legacy_libctx;
static OSSL_PROVIDER *legacy_providers[2];
static int legacy_tried;

static OSSL_LIB_CTX *legacy_ctx(void)
{
    if (g_atomic_int_get(&legacy_tried))
        return legacy_libctx;
    g_mutex_lock(&legacy_lock);
    if (!legacy_tried) {
        OSSL_LIB_CTX *c = OSSL_LIB_CTX_new();
        if (c && (!(legacy_providers[0] = OSSL_PROVIDER_load(c, "default")) ||
                  !(legacy_providers[1] = OSSL_PROVIDER_load(c, "legacy")))) {
            for (int i = 0; i < 2; i++)
                if (legacy_providers[i])
                    OSSL_PROVIDER_unload(legacy_providers[i]);
            legacy_providers[0] = legacy_providers[1] = NULL;
            OSSL_LIB_CTX_free(c);
            c = NULL;
        }
        ERR_clear_error();
        legacy_libctx = c;
        g_atomic_int_set(&legacy_tried, 1);
    }
    g_mutex_unlock(&legacy_lock);
    return legacy_libctx;
}

void orchard_scep_message_thread_stop(void)
{
    if (g_atomic_int_get(&legacy_tried) && legacy_libctx)
        OPENSSL_thread_stop_ex(legacy_libctx);
}

void orchard_scep_message_cleanup(void)
{
    g_mutex_lock(&legacy_lock);
    for (int i = 1; i >= 0; i--)
        if (legacy_providers[i])
            OSSL_PROVIDER_unload(legacy_providers[i]);
    legacy_providers[0] = legacy_providers[1] = NULL;
    OSSL_LIB_CTX_free(legacy_libctx);
    legacy_libctx = NULL;
    g_atomic_int_set(&legacy_tried, 0);
    g_mutex_unlock(&legacy_lock);
}

/* The EnvelopedData in `ctx` (NULL: the default context). */
static CMS_ContentInfo *read_envelope(const orchard_scep_request *req, OSSL_LIB_CTX *ctx)
{
    const unsigned char *p = req->envelope;
    CMS_ContentInfo *env = ctx ? CMS_ContentInfo_new_ex(ctx, NULL) : NULL;
    if (ctx && !env)
        return NULL;
    /* On failure d2i frees the object it was given and returns NULL. */
    env = d2i_CMS_ContentInfo(ctx ? &env : NULL, &p, (long)req->envelope_len);
    if (env && (p != req->envelope + req->envelope_len ||
                OBJ_obj2nid(CMS_get0_type(env)) != NID_pkcs7_enveloped)) {
        CMS_ContentInfo_free(env);
        env = NULL;
    }
    return env;
}

/* Decrypt into `plain`; 1 when the failure was a cipher this context lacks. */
static int decrypt_envelope(CMS_ContentInfo *env, X509 *ca, EVP_PKEY *ca_key, BIO *plain,
                            int *missing_cipher)
{
    /* With the CA certificate given, only the recipient issued to it is
     * tried: a message for another CA fails as "no matching recipient". */
    if (CMS_decrypt(env, ca_key, ca, NULL, plain, CMS_BINARY) == 1)
        return 1;
    unsigned long e = ERR_peek_last_error();
    *missing_cipher = ERR_GET_LIB(e) == ERR_LIB_CMS &&
                      ERR_GET_REASON(e) == CMS_R_CIPHER_INITIALISATION_ERROR;
    return 0;
}

int orchard_scep_request_open(const orchard_scep_request *req, X509 *ca, EVP_PKEY *ca_key,
                              X509_REQ **csr, char **reason)
{
    BIO *plain = NULL;
    int rc = ORCHARD_EINVAL;
    *csr = NULL;
    CMS_ContentInfo *env = read_envelope(req, NULL);
    int missing_cipher = 0;
    if (!env) {
        *reason = g_strdup("the signed content is not a PKCS#7 EnvelopedData");
        goto done;
    }
    if (!(plain = BIO_new(BIO_s_mem())))
        goto fail_open;
    if (!decrypt_envelope(env, ca, ca_key, plain, &missing_cipher)) {
        OSSL_LIB_CTX *legacy = missing_cipher ? legacy_ctx() : NULL;
        CMS_ContentInfo_free(env);
        env = legacy ? read_envelope(req, legacy) : NULL;
        (void)BIO_reset(plain);
        ERR_clear_error();
        if (!env || !decrypt_envelope(env, ca, ca_key, plain, &missing_cipher))
            goto fail_open;
    }
    const unsigned char *d = NULL;
    long n = BIO_get_mem_data(plain, (char **)&d);
    const unsigned char *q = d;
    X509_REQ *r = n > 0 ? d2i_X509_REQ(NULL, &q, n) : NULL;
    if (!r || q != d + n) {
        X509_REQ_free(r);
        *reason = g_strdup("the envelope does not hold a PKCS#10 CSR");
        goto done;
    }
    EVP_PKEY *pub = X509_REQ_get0_pubkey(r);
    if (!pub || X509_REQ_verify(r, pub) != 1) {
        X509_REQ_free(r);
        *reason = g_strdup("the CSR's signature does not verify with its own key");
        goto done;
    }
    *csr = r;
    rc = 0;
    goto done;
fail_open:
    *reason = orchard_ssl_error("cannot open the envelope with the CA key (not encrypted "
                                "to this CA, or corrupt)");
done:
    ERR_clear_error();
    BIO_free(plain);
    CMS_ContentInfo_free(env);
    return rc;
}

static int add_attr(CMS_SignerInfo *si, const char *dotted, int type, const void *data, int len)
{
    ASN1_OBJECT *o = oid(dotted);
    int ok = o && CMS_signed_add1_attr_by_OBJ(si, o, type, data, len);
    ASN1_OBJECT_free(o);
    return ok;
}

/* The issued certificate as a certs-only SignedData, enveloped to the
 * requester's certificate: only the holder of the request's key reads it. */
static BIO *enveloped_cert(X509 *issued, X509 *recipient)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    STACK_OF(X509) *to = sk_X509_new_null();
    CMS_ContentInfo *degenerate = NULL, *env = NULL;
    BIO *der = BIO_new(BIO_s_mem()), *out = NULL;
    if (!certs || !to || !der || !sk_X509_push(certs, issued) || !sk_X509_push(to, recipient))
        goto done;
    /* Certs-only: no signer; CMS_PARTIAL, as there is no content to finalise. */
    if (!(degenerate = CMS_sign(NULL, NULL, certs, NULL, CMS_BINARY | CMS_PARTIAL)) ||
        i2d_CMS_bio(der, degenerate) != 1)
        goto done;
    if (!(env = CMS_encrypt(to, der, EVP_aes_256_cbc(), CMS_BINARY)))
        goto done;
    if ((out = BIO_new(BIO_s_mem())) && i2d_CMS_bio(out, env) != 1) {
        BIO_free(out);
        out = NULL;
    }
done:
    CMS_ContentInfo_free(env);
    CMS_ContentInfo_free(degenerate);
    BIO_free(der);
    sk_X509_free(to);
    sk_X509_free(certs);
    return out;
}

int orchard_scep_certrep(const orchard_scep_request *req, X509 *ca, EVP_PKEY *ca_key,
                         X509 *issued, orchard_scep_fail_info fail, unsigned char **out,
                         size_t *out_len)
{
    unsigned char nonce[16];
    char fail_text[4];
    int rc = ORCHARD_EIO;
    BIO *content = issued ? enveloped_cert(issued, req->signer) : BIO_new(BIO_s_mem());
    BIO *der = BIO_new(BIO_s_mem());
    CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
    CMS_SignerInfo *si = cms ? CMS_add1_signer(cms, ca, ca_key, EVP_sha256(),
                                               CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP)
                             : NULL;
    const char *status = issued ? "0" : "2";
    g_snprintf(fail_text, sizeof fail_text, "%d", (int)fail);
    if (!content || !der || !si || RAND_bytes(nonce, sizeof nonce) != 1)
        goto done;
    if (!add_attr(si, OID_MESSAGE_TYPE, V_ASN1_PRINTABLESTRING, "3", 1) ||
        !add_attr(si, OID_PKI_STATUS, V_ASN1_PRINTABLESTRING, status, 1) ||
        !add_attr(si, OID_TRANSACTION_ID, V_ASN1_PRINTABLESTRING, req->transaction_id,
                  (int)strlen(req->transaction_id)) ||
        !add_attr(si, OID_SENDER_NONCE, V_ASN1_OCTET_STRING, nonce, sizeof nonce) ||
        !add_attr(si, OID_RECIPIENT_NONCE, V_ASN1_OCTET_STRING, req->sender_nonce,
                  (int)req->sender_nonce_len) ||
        (!issued && !add_attr(si, OID_FAIL_INFO, V_ASN1_PRINTABLESTRING, fail_text,
                              (int)strlen(fail_text))))
        goto done;
    if (CMS_final(cms, content, NULL, CMS_BINARY) != 1 || i2d_CMS_bio(der, cms) != 1)
        goto done;
    const char *d = NULL;
    long n = BIO_get_mem_data(der, &d);
    if (n <= 0)
        goto done;
    *out = g_memdup2(d, (gsize)n);
    *out_len = (size_t)n;
    rc = 0;
done:
    ERR_clear_error();
    CMS_ContentInfo_free(cms);
    BIO_free(content);
    BIO_free(der);
    return rc;
}
