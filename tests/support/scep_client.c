/* The message half of the SCEP requester: CSR -> EnvelopedData -> SignedData
 * going out, CertRep -> EnvelopedData -> degenerate SignedData coming back.
 * OpenSSL's PKCS7 API rather than CMS because CMS refuses a signing key that
 * doesn't match the certificate, and the hostile tests need exactly that. */
#include "tests/support/scep_client.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tests/support/scep_client_priv.h"

/* ---- errors -------------------------------------------------------------- */

int orchard_scepc_fail(char **error_msg, int code, const char *fmt, ...)
{
    unsigned long e = ERR_peek_last_error();
    if (error_msg != NULL) {
        char msg[512], ssl[256] = "";
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (e != 0)
            ERR_error_string_n(e, ssl, sizeof ssl);
        size_t n = strlen(msg) + strlen(ssl) + 4;
        *error_msg = malloc(n);
        if (*error_msg != NULL)
            snprintf(*error_msg, n, "%s%s%s", msg, e != 0 ? ": " : "", ssl);
    }
    ERR_clear_error();
    return code;
}

#define FAIL(...) orchard_scepc_fail(error_msg, __VA_ARGS__)

/* ---- the SCEP attribute OIDs --------------------------------------------- */

/* Kept as objects, never registered as NIDs: a test process also holds the
 * server's code, which may register the same OIDs under its own names. */
enum { A_MESSAGE_TYPE, A_PKI_STATUS, A_FAIL_INFO, A_SENDER_NONCE, A_RECIPIENT_NONCE, A_TXID, A_N };
static const char *const attr_oid[A_N] = {
    "2.16.840.1.113733.1.9.2", "2.16.840.1.113733.1.9.3", "2.16.840.1.113733.1.9.4",
    "2.16.840.1.113733.1.9.5", "2.16.840.1.113733.1.9.6", "2.16.840.1.113733.1.9.7",
};
static const char *const attr_name[A_N] = {
    "messageType", "pkiStatus", "failInfo", "senderNonce", "recipientNonce", "transactionID",
};
static ASN1_OBJECT *attr_obj[A_N];
static pthread_once_t attr_once = PTHREAD_ONCE_INIT;

static void attr_init(void)
{
    for (int i = 0; i < A_N; i++)
        attr_obj[i] = OBJ_txt2obj(attr_oid[i], 1);
}

static int attrs_ready(char **error_msg)
{
    pthread_once(&attr_once, attr_init);
    for (int i = 0; i < A_N; i++)
        if (attr_obj[i] == NULL)
            return FAIL(ORCHARD_ENOMEM, "cannot make the SCEP OIDs");
    return 0;
}

/* ---- small helpers ------------------------------------------------------- */

/* DER of `obj` into a malloc'd buffer (free(), not OPENSSL_free). */
static int i2d_malloc(int (*i2d)(const void *, unsigned char **), const void *obj,
                      unsigned char **out, size_t *out_len)
{
    /* One encoding pass: OpenSSL 3.0 re-encodes some public keys on every call. */
    unsigned char *der = NULL;
    int n = i2d(obj, &der);
    if (n <= 0)
        return ORCHARD_EINVAL;
    unsigned char *buf = malloc((size_t)n);
    if (buf != NULL)
        memcpy(buf, der, (size_t)n);
    OPENSSL_free(der);
    if (buf == NULL)
        return ORCHARD_ENOMEM;
    *out = buf;
    *out_len = (size_t)n;
    return 0;
}

static int i2d_pkcs7(const void *p7, unsigned char **out) { return i2d_PKCS7((PKCS7 *)p7, out); }
static int i2d_req(const void *r, unsigned char **out) { return i2d_X509_REQ((X509_REQ *)r, out); }
static int i2d_pubkey(const void *k, unsigned char **out) { return i2d_PUBKEY((EVP_PKEY *)k, out); }

/* The bytes of a memory BIO, copied to a malloc'd buffer. */
static int bio_take(BIO *bio, unsigned char **out, size_t *out_len)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL)
        return ORCHARD_ENOMEM;
    if (n > 0)
        memcpy(buf, data, (size_t)n);
    *out = buf;
    *out_len = n > 0 ? (size_t)n : 0;
    return 0;
}

/* "/CN=a/O=b" (with '\' escaping) to an X509_NAME; NULL or "" is empty. */
static int parse_subject(X509_NAME **out, const char *subject, char **error_msg)
{
    X509_NAME *name = X509_NAME_new();
    char *buf = strdup(subject != NULL ? subject : "");
    int rc = 0;
    if (name == NULL || buf == NULL) {
        rc = FAIL(ORCHARD_ENOMEM, "out of memory");
        goto out;
    }
    if (buf[0] != '\0' && buf[0] != '/') {
        rc = FAIL(ORCHARD_EINVAL, "subject \"%s\" does not start with '/'", subject);
        goto out;
    }
    char *p = buf + (buf[0] == '/');
    while (*p != '\0') {
        char *field = p, *w = p, *value = NULL;
        for (; *p != '\0' && *p != '/'; p++) {
            if (*p == '\\' && p[1] != '\0')
                p++;
            else if (*p == '=' && value == NULL) {
                *w++ = '\0';
                value = w;
                continue;
            }
            *w++ = *p;
        }
        if (*p == '/')
            p++;
        *w = '\0';
        if (value == NULL || *field == '\0' ||
            !X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, (const unsigned char *)value,
                                        -1, -1, 0)) {
            rc = FAIL(ORCHARD_EINVAL, "bad subject \"%s\" at \"%s\"", subject, field);
            goto out;
        }
    }
    *out = name;
    name = NULL;
out:
    X509_NAME_free(name);
    free(buf);
    return rc;
}

static const EVP_MD *md_or_default(const EVP_MD *md) { return md != NULL ? md : EVP_sha256(); }

/* ---- keys and certificates ----------------------------------------------- */

int orchard_scepc_rsa_key(EVP_PKEY **out, int bits, char **error_msg)
{
    if (bits < 512)
        return FAIL(ORCHARD_EINVAL, "RSA key size %d is too small", bits);
    EVP_PKEY *key = EVP_RSA_gen((unsigned)bits);
    if (key == NULL)
        return FAIL(ORCHARD_ENOMEM, "RSA key generation failed");
    *out = key;
    return 0;
}

int orchard_scepc_self_signed(X509 **out, EVP_PKEY *key, const char *subject, char **error_msg)
{
    X509 *x = NULL;
    X509_NAME *name = NULL;
    BIGNUM *bn = NULL;
    int rc;
    if (key == NULL)
        return FAIL(ORCHARD_EINVAL, "no key");
    if ((rc = parse_subject(&name, subject != NULL && *subject != '\0' ? subject
                                                                         : "/CN=orchard-scep-requester",
                            error_msg)) != 0)
        return rc;
    rc = ORCHARD_ENOMEM;
    if ((x = X509_new()) == NULL || (bn = BN_new()) == NULL || !BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
        !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) || !X509_set_version(x, X509_VERSION_3) ||
        !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600) || !X509_set_pubkey(x, key))
        goto out;
    if (!X509_sign(x, key, EVP_sha256())) {
        rc = FAIL(ORCHARD_EINVAL, "cannot sign the requester certificate");
        goto out;
    }
    *out = x;
    x = NULL;
    rc = 0;
out:
    if (rc == ORCHARD_ENOMEM)
        FAIL(rc, "out of memory making the requester certificate");
    X509_free(x);
    X509_NAME_free(name);
    BN_free(bn);
    return rc;
}

int orchard_scepc_verify_issued(X509 *cert, X509 *ca, EVP_PKEY *key, char **error_msg)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok = 0;
    if (cert == NULL || ca == NULL) {
        FAIL(0, "no certificate");
        goto out;
    }
    if (store == NULL || ctx == NULL || !X509_STORE_add_cert(store, ca) ||
        !X509_STORE_CTX_init(ctx, store, cert, NULL) ||
        !X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT)) {
        FAIL(0, "out of memory");
        goto out;
    }
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        FAIL(0, "certificate does not verify against the CA: %s", X509_verify_cert_error_string(e));
        goto out;
    }
    if (key != NULL && EVP_PKEY_eq(X509_get0_pubkey(cert), key) != 1) {
        FAIL(0, "certificate is not for our key");
        goto out;
    }
    ok = 1;
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

/* ---- the layers of a request --------------------------------------------- */

/* PrintableString's alphabet (X.680), else the challenge goes as UTF8String. */
static int printable(const char *s)
{
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(" '()+,-./:=?", *s) != NULL))
            return 0;
    return 1;
}

int orchard_scepc_csr_der(unsigned char **out, size_t *out_len, EVP_PKEY *key,
                          const char *subject, const char *challenge, const EVP_MD *md,
                          char **error_msg)
{
    X509_REQ *req = NULL;
    X509_NAME *name = NULL;
    int rc;
    if (key == NULL)
        return FAIL(ORCHARD_EINVAL, "no key");
    if ((rc = parse_subject(&name, subject, error_msg)) != 0)
        return rc;
    if ((req = X509_REQ_new()) == NULL || !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
        !X509_REQ_set_subject_name(req, name) || !X509_REQ_set_pubkey(req, key)) {
        rc = FAIL(ORCHARD_ENOMEM, "out of memory making the CSR");
        goto out;
    }
    if (challenge != NULL &&
        !X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword,
                                   printable(challenge) ? V_ASN1_PRINTABLESTRING : V_ASN1_UTF8STRING,
                                   (const unsigned char *)challenge, (int)strlen(challenge))) {
        rc = FAIL(ORCHARD_ENOMEM, "cannot add the challengePassword");
        goto out;
    }
    if (!X509_REQ_sign(req, key, md_or_default(md))) {
        rc = FAIL(ORCHARD_EINVAL, "cannot sign the CSR");
        goto out;
    }
    if ((rc = i2d_malloc(i2d_req, req, out, out_len)) != 0)
        FAIL(rc, "cannot encode the CSR");
out:
    X509_REQ_free(req);
    X509_NAME_free(name);
    return rc;
}

static const EVP_CIPHER *cipher_of(orchard_scepc_cipher c)
{
    switch (c) {
    case ORCHARD_SCEPC_AES128_CBC:
        return EVP_aes_128_cbc();
    case ORCHARD_SCEPC_DES3_CBC:
        return EVP_des_ede3_cbc();
    case ORCHARD_SCEPC_AES256_CBC:
        return EVP_aes_256_cbc();
    }
    return NULL;
}

int orchard_scepc_envelope_der(unsigned char **out, size_t *out_len, const unsigned char *content,
                               size_t len, X509 *recipient, orchard_scepc_cipher cipher,
                               char **error_msg)
{
    static const unsigned char empty[1];
    const EVP_CIPHER *c = cipher_of(cipher);
    if (recipient == NULL || c == NULL || len > INT32_MAX)
        return FAIL(ORCHARD_EINVAL, "no recipient, unknown cipher or content too long");
    STACK_OF(X509) *rcpts = sk_X509_new_null();
    BIO *in = BIO_new_mem_buf(len > 0 ? content : empty, (int)len);
    PKCS7 *p7 = NULL;
    int rc;
    if (rcpts == NULL || in == NULL || !sk_X509_push(rcpts, recipient)) {
        rc = FAIL(ORCHARD_ENOMEM, "out of memory");
        goto out;
    }
    if ((p7 = PKCS7_encrypt(rcpts, in, c, PKCS7_BINARY)) == NULL) {
        rc = FAIL(ORCHARD_EINVAL, "cannot encrypt to the recipient");
        goto out;
    }
    if ((rc = i2d_malloc(i2d_pkcs7, p7, out, out_len)) != 0)
        FAIL(rc, "cannot encode the EnvelopedData");
out:
    PKCS7_free(p7);
    BIO_free(in);
    sk_X509_free(rcpts);
    return rc;
}

/* Append an attribute holding one string of ASN.1 type `type`. */
static int add_attr(STACK_OF(X509_ATTRIBUTE) **sk, int which, int type, const void *data, size_t len)
{
    return X509at_add1_attr_by_OBJ(sk, attr_obj[which], type, data, (int)len) != NULL;
}

static int build_attrs(STACK_OF(X509_ATTRIBUTE) **sk, const orchard_scepc_attrs *a)
{
    const char *s;
    if (a == NULL)
        return 1;
    return ((s = a->message_type) == NULL || add_attr(sk, A_MESSAGE_TYPE, V_ASN1_PRINTABLESTRING, s, strlen(s))) &&
           ((s = a->pki_status) == NULL || add_attr(sk, A_PKI_STATUS, V_ASN1_PRINTABLESTRING, s, strlen(s))) &&
           ((s = a->fail_info) == NULL || add_attr(sk, A_FAIL_INFO, V_ASN1_PRINTABLESTRING, s, strlen(s))) &&
           ((s = a->transaction_id) == NULL || add_attr(sk, A_TXID, V_ASN1_PRINTABLESTRING, s, strlen(s))) &&
           (a->sender_nonce == NULL || add_attr(sk, A_SENDER_NONCE, V_ASN1_OCTET_STRING, a->sender_nonce,
                                                a->sender_nonce_len)) &&
           (a->recipient_nonce == NULL || add_attr(sk, A_RECIPIENT_NONCE, V_ASN1_OCTET_STRING,
                                                   a->recipient_nonce, a->recipient_nonce_len));
}

int orchard_scepc_signed_der(unsigned char **out, size_t *out_len, const unsigned char *content,
                             size_t len, X509 *cert, EVP_PKEY *key, const EVP_MD *md,
                             const orchard_scepc_attrs *attrs, char **error_msg)
{
    PKCS7 *p7 = NULL;
    BIO *bio = NULL;
    STACK_OF(X509_ATTRIBUTE) *sk = NULL;
    PKCS7_SIGNER_INFO *si;
    int rc;
    if (cert == NULL || key == NULL || len > INT32_MAX)
        return FAIL(ORCHARD_EINVAL, "no signer certificate or key, or content too long");
    if ((rc = attrs_ready(error_msg)) != 0)
        return rc;
    /* PKCS7_add_signature, unlike PKCS7_sign, does not insist that key is cert's. */
    if ((p7 = PKCS7_new()) == NULL || !PKCS7_set_type(p7, NID_pkcs7_signed) ||
        (si = PKCS7_add_signature(p7, cert, key, md_or_default(md))) == NULL ||
        !PKCS7_add_certificate(p7, cert) || !build_attrs(&sk, attrs) ||
        (sk != NULL && !PKCS7_set_signed_attributes(si, sk)) ||
        !PKCS7_add_attrib_content_type(si, NULL) || !PKCS7_content_new(p7, NID_pkcs7_data) ||
        (bio = PKCS7_dataInit(p7, NULL)) == NULL) {
        rc = FAIL(ORCHARD_EINVAL, "cannot set up the SignedData");
        goto out;
    }
    if ((len > 0 && BIO_write(bio, content, (int)len) != (int)len) || BIO_flush(bio) != 1 ||
        !PKCS7_dataFinal(p7, bio)) {
        rc = FAIL(ORCHARD_EINVAL, "cannot sign the SignedData");
        goto out;
    }
    if ((rc = i2d_malloc(i2d_pkcs7, p7, out, out_len)) != 0)
        FAIL(rc, "cannot encode the SignedData");
out:
    sk_X509_ATTRIBUTE_pop_free(sk, X509_ATTRIBUTE_free);
    BIO_free_all(bio);
    PKCS7_free(p7);
    return rc;
}

/* ---- a whole request ----------------------------------------------------- */

/* Hex SHA-256 of the key's SubjectPublicKeyInfo: the transactionID devices use. */
static int key_txid(char out[ORCHARD_SCEPC_TXID_MAX], EVP_PKEY *key)
{
    unsigned char *der = NULL, md[32];
    size_t len;
    unsigned mdlen = 0;
    int rc = i2d_malloc(i2d_pubkey, key, &der, &len);
    if (rc != 0)
        return rc;
    if (!EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL))
        rc = ORCHARD_ENOMEM;
    for (unsigned i = 0; rc == 0 && i < mdlen; i++)
        snprintf(out + 2 * i, 3, "%02X", md[i]);
    free(der);
    return rc;
}

void orchard_scepc_request_clear(orchard_scepc_request *req)
{
    if (req == NULL)
        return;
    free(req->der);
    X509_free(req->signer_cert);
    EVP_PKEY_free(req->signer_key);
    EVP_PKEY_free(req->key);
    memset(req, 0, sizeof *req);
}

int orchard_scepc_request_build(orchard_scepc_request *out, const orchard_scepc_request_opts *o,
                                char **error_msg)
{
    orchard_scepc_request r = {0};
    unsigned char *csr = NULL, *env = NULL;
    size_t csr_len = 0, env_len = 0;
    char type_text[16];
    int rc;
    if (o == NULL || o->key == NULL || o->ca == NULL)
        return FAIL(ORCHARD_EINVAL, "a request needs a key and the CA certificate");
    if (o->transaction_id != NULL && strlen(o->transaction_id) >= ORCHARD_SCEPC_TXID_MAX)
        return FAIL(ORCHARD_EINVAL, "transactionID longer than %d", ORCHARD_SCEPC_TXID_MAX - 1);
    EVP_PKEY_up_ref(o->key);
    r.key = o->key;
    r.signer_key = o->signer_key != NULL ? o->signer_key : o->key;
    EVP_PKEY_up_ref(r.signer_key);
    if (o->signer_cert != NULL) {
        X509_up_ref(o->signer_cert);
        r.signer_cert = o->signer_cert;
    } else if ((rc = orchard_scepc_self_signed(&r.signer_cert, o->key, o->subject, error_msg)) != 0)
        goto out;
    if (o->transaction_id != NULL)
        snprintf(r.transaction_id, sizeof r.transaction_id, "%s", o->transaction_id);
    else if ((rc = key_txid(r.transaction_id, o->key)) != 0) {
        FAIL(rc, "cannot hash the public key");
        goto out;
    }
    if (RAND_bytes(r.sender_nonce, sizeof r.sender_nonce) != 1) {
        rc = FAIL(ORCHARD_ENOMEM, "no random bytes for the nonce");
        goto out;
    }
    if ((rc = orchard_scepc_csr_der(&csr, &csr_len, o->key, o->subject, o->challenge, o->digest,
                                    error_msg)) != 0 ||
        (rc = orchard_scepc_envelope_der(&env, &env_len, csr, csr_len,
                                         o->recipient != NULL ? o->recipient : o->ca, o->cipher,
                                         error_msg)) != 0)
        goto out;
    snprintf(type_text, sizeof type_text, "%d", o->message_type != 0 ? o->message_type : ORCHARD_SCEPC_PKCSREQ);
    orchard_scepc_attrs a = {
        .message_type = (o->omit & ORCHARD_SCEPC_OMIT_MESSAGE_TYPE) ? NULL
                        : o->message_type_text != NULL ? o->message_type_text : type_text,
        .transaction_id = (o->omit & ORCHARD_SCEPC_OMIT_TRANSACTION_ID) ? NULL : r.transaction_id,
        .sender_nonce = (o->omit & ORCHARD_SCEPC_OMIT_SENDER_NONCE) ? NULL : r.sender_nonce,
        .sender_nonce_len = sizeof r.sender_nonce,
    };
    rc = orchard_scepc_signed_der(&r.der, &r.der_len, env, env_len, r.signer_cert,
                                  o->forge_key != NULL ? o->forge_key : r.signer_key, o->digest, &a,
                                  error_msg);
out:
    free(csr);
    free(env);
    if (rc == 0)
        *out = r;
    else
        orchard_scepc_request_clear(&r);
    return rc;
}

/* ---- the reply ----------------------------------------------------------- */

void orchard_scepc_reply_clear(orchard_scepc_reply *rep)
{
    if (rep == NULL)
        return;
    X509_free(rep->signer);
    X509_free(rep->cert);
    memset(rep, 0, sizeof *rep);
}

const char *orchard_scepc_status_name(int s)
{
    return s == ORCHARD_SCEPC_SUCCESS ? "SUCCESS" : s == ORCHARD_SCEPC_FAILURE ? "FAILURE"
           : s == ORCHARD_SCEPC_PENDING ? "PENDING" : "?";
}

const char *orchard_scepc_fail_info_name(int f)
{
    static const char *const names[] = {"badAlg", "badMessageCheck", "badRequest", "badTime", "badCertId"};
    return f >= 0 && f <= 4 ? names[f] : f == -1 ? "-" : "?";
}

/* The single value of signed attribute `which`, required to be of `type`.
 * Returns 1 found, 0 absent, or a negative code. */
static int get_attr(PKCS7_SIGNER_INFO *si, int which, int type, const ASN1_STRING **out,
                    char **error_msg)
{
    STACK_OF(X509_ATTRIBUTE) *sk = PKCS7_get_signed_attributes(si);
    int i = X509at_get_attr_by_OBJ(sk, attr_obj[which], -1);
    if (i < 0)
        return 0;
    if (X509at_get_attr_by_OBJ(sk, attr_obj[which], i) >= 0)
        return FAIL(ORCHARD_EINVAL, "%s appears twice", attr_name[which]);
    X509_ATTRIBUTE *a = X509at_get_attr(sk, i);
    ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(a, 0);
    if (X509_ATTRIBUTE_count(a) != 1 || t == NULL || ASN1_TYPE_get(t) != type)
        return FAIL(ORCHARD_EINVAL, "%s is not one %s", attr_name[which],
                    type == V_ASN1_OCTET_STRING ? "OCTET STRING" : "PrintableString");
    *out = t->value.asn1_string;
    return 1;
}

/* A PrintableString attribute holding a small decimal number, into *out. */
static int get_number(PKCS7_SIGNER_INFO *si, int which, int required, int *out, char **error_msg)
{
    const ASN1_STRING *s = NULL;
    int rc = get_attr(si, which, V_ASN1_PRINTABLESTRING, &s, error_msg);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return required ? FAIL(ORCHARD_EINVAL, "%s is missing", attr_name[which]) : 0;
    const unsigned char *d = ASN1_STRING_get0_data(s);
    int len = ASN1_STRING_length(s), v = 0;
    if (len < 1 || len > 4)
        return FAIL(ORCHARD_EINVAL, "%s is not a number", attr_name[which]);
    for (int i = 0; i < len; i++) {
        if (d[i] < '0' || d[i] > '9')
            return FAIL(ORCHARD_EINVAL, "%s \"%.*s\" is not a number", attr_name[which], len, d);
        v = v * 10 + (d[i] - '0');
    }
    *out = v;
    return 0;
}

/* Find the signer (the CA or an RA it issued), check the signature, copy the content. */
static int check_signature(PKCS7 *p7, X509 *ca, X509 **signer_out, unsigned char **content,
                           size_t *content_len, char **error_msg)
{
    STACK_OF(X509) *extra = sk_X509_new_null(), *signers = NULL;
    BIO *in = NULL, *out = BIO_new(BIO_s_mem());
    int rc = 0;
    if (extra == NULL || out == NULL || !sk_X509_push(extra, ca)) {
        rc = FAIL(ORCHARD_ENOMEM, "out of memory");
        goto done;
    }
    signers = PKCS7_get0_signers(p7, extra, 0);
    if (signers == NULL || sk_X509_num(signers) != 1) {
        rc = FAIL(ORCHARD_EPROTO, "the CertRep's signer is neither the CA nor in the message");
        goto done;
    }
    X509 *signer = sk_X509_value(signers, 0);
    if (X509_cmp(signer, ca) != 0 &&
        (X509_check_issued(ca, signer) != X509_V_OK || X509_verify(signer, X509_get0_pubkey(ca)) != 1)) {
        rc = FAIL(ORCHARD_EPROTO, "the CertRep is signed by a certificate the CA did not issue");
        goto done;
    }
    /* A FAILURE or PENDING CertRep may carry no content at all. */
    if (PKCS7_get_detached(p7) && (in = BIO_new_mem_buf("", 0)) == NULL) {
        rc = FAIL(ORCHARD_ENOMEM, "out of memory");
        goto done;
    }
    if (PKCS7_verify(p7, signers, NULL, in, out, PKCS7_NOVERIFY | PKCS7_NOINTERN | PKCS7_BINARY) != 1) {
        rc = FAIL(ORCHARD_EPROTO, "the CertRep's signature does not verify");
        goto done;
    }
    if ((rc = bio_take(out, content, content_len)) != 0) {
        FAIL(rc, "out of memory");
        goto done;
    }
    X509_up_ref(signer);
    *signer_out = signer;
done:
    sk_X509_free(signers);
    sk_X509_free(extra);
    BIO_free(in);
    BIO_free(out);
    return rc;
}

/* micromdm's scepserver (Go's pkcs7 default) encrypts CertRep with single
 * DES, which OpenSSL 3 keeps in its legacy provider. Envelopes are opened in
 * a library context of our own that has it, so loading it never changes
 * what the rest of a test process (the server's code) accepts. */
static OSSL_LIB_CTX *open_ctx;
static pthread_once_t open_ctx_once = PTHREAD_ONCE_INIT;

static void open_ctx_init(void)
{
    OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
    if (ctx != NULL && OSSL_PROVIDER_load(ctx, "default") != NULL &&
        OSSL_PROVIDER_load(ctx, "legacy") != NULL)
        open_ctx = ctx;
    else
        OSSL_LIB_CTX_free(ctx); /* without the legacy module: the default context */
    ERR_clear_error();
}

/* Decrypt the CertRep's envelope and find the certificate for req->key. */
static int open_envelope(orchard_scepc_reply *r, const unsigned char *content, size_t len,
                         const orchard_scepc_request *req, char **error_msg)
{
    pthread_once(&open_ctx_once, open_ctx_init);
    const unsigned char *p = content;
    PKCS7 *env = PKCS7_new_ex(open_ctx, NULL), *deg = NULL;
    BIO *out = BIO_new(BIO_s_mem());
    unsigned char *plain = NULL;
    size_t plain_len = 0;
    int rc;
    if (env != NULL && d2i_PKCS7(&env, &p, (long)len) == NULL)
        env = NULL; /* d2i freed it */
    if (env == NULL || p != content + len || !PKCS7_type_is_enveloped(env) ||
        env->d.enveloped->enc_data == NULL) {
        rc = FAIL(ORCHARD_EINVAL, "the CertRep's content is not a DER EnvelopedData");
        goto out;
    }
    r->content_cipher = OBJ_obj2nid(env->d.enveloped->enc_data->algorithm->algorithm);
    if (out == NULL) {
        rc = FAIL(ORCHARD_ENOMEM, "out of memory");
        goto out;
    }
    if (PKCS7_decrypt(env, req->signer_key, req->signer_cert, out, PKCS7_BINARY) != 1) {
        rc = FAIL(ORCHARD_EPROTO, "cannot open the CertRep's envelope with the requester's key");
        goto out;
    }
    if ((rc = bio_take(out, &plain, &plain_len)) != 0) {
        FAIL(rc, "out of memory");
        goto out;
    }
    p = plain;
    deg = d2i_PKCS7(NULL, &p, (long)plain_len);
    if (deg == NULL || p != plain + plain_len || !PKCS7_type_is_signed(deg) ||
        deg->d.sign->cert == NULL) {
        rc = FAIL(ORCHARD_EINVAL, "the envelope does not hold a certs-only SignedData");
        goto out;
    }
    r->n_certs = sk_X509_num(deg->d.sign->cert);
    for (int i = 0; i < r->n_certs && r->cert == NULL; i++) {
        X509 *c = sk_X509_value(deg->d.sign->cert, i);
        if (EVP_PKEY_eq(X509_get0_pubkey(c), req->key) == 1 && X509_up_ref(c))
            r->cert = c;
    }
    rc = r->cert != NULL ? 0 : FAIL(ORCHARD_EPROTO, "no certificate for the requester's key in the CertRep");
out:
    free(plain);
    BIO_free(out);
    PKCS7_free(deg);
    PKCS7_free(env);
    return rc;
}

int orchard_scepc_reply_parse(orchard_scepc_reply *out, const unsigned char *der, size_t len,
                              X509 *ca, const orchard_scepc_request *req, unsigned flags,
                              char **error_msg)
{
    orchard_scepc_reply r = {.message_type = -1, .pki_status = -1, .fail_info = -1};
    unsigned char *content = NULL;
    size_t content_len = 0;
    const ASN1_STRING *s = NULL;
    PKCS7 *p7 = NULL;
    int rc;
    if (der == NULL || ca == NULL || len > INT32_MAX)
        return FAIL(ORCHARD_EINVAL, "no CertRep or no CA");
    if ((rc = attrs_ready(error_msg)) != 0)
        return rc;
    const unsigned char *p = der;
    p7 = d2i_PKCS7(NULL, &p, (long)len);
    if (p7 == NULL || p != der + len || !PKCS7_type_is_signed(p7)) {
        rc = FAIL(ORCHARD_EINVAL, "the CertRep is not a DER PKCS#7 SignedData");
        goto out;
    }
    STACK_OF(PKCS7_SIGNER_INFO) *sis = PKCS7_get_signer_info(p7);
    if (sis == NULL || sk_PKCS7_SIGNER_INFO_num(sis) != 1) {
        rc = FAIL(ORCHARD_EINVAL, "the CertRep has %d SignerInfos, not one",
                  sis != NULL ? sk_PKCS7_SIGNER_INFO_num(sis) : 0);
        goto out;
    }
    PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(sis, 0);
    if ((rc = check_signature(p7, ca, &r.signer, &content, &content_len, error_msg)) != 0 ||
        (rc = get_number(si, A_MESSAGE_TYPE, 1, &r.message_type, error_msg)) != 0 ||
        (rc = get_number(si, A_PKI_STATUS, 1, &r.pki_status, error_msg)) != 0 ||
        (rc = get_number(si, A_FAIL_INFO, 0, &r.fail_info, error_msg)) != 0)
        goto out;
    if ((rc = get_attr(si, A_TXID, V_ASN1_PRINTABLESTRING, &s, error_msg)) <= 0) {
        rc = rc < 0 ? rc : FAIL(ORCHARD_EINVAL, "transactionID is missing");
        goto out;
    }
    snprintf(r.transaction_id, sizeof r.transaction_id, "%.*s", ASN1_STRING_length(s),
             (const char *)ASN1_STRING_get0_data(s));
    if ((rc = get_attr(si, A_RECIPIENT_NONCE, V_ASN1_OCTET_STRING, &s, error_msg)) < 0)
        goto out;
    int have_nonce = rc == 1 && ASN1_STRING_length(s) == ORCHARD_SCEPC_NONCE_LEN;
    if (have_nonce)
        memcpy(r.recipient_nonce, ASN1_STRING_get0_data(s), ORCHARD_SCEPC_NONCE_LEN);
    rc = 0;
    if (r.message_type != ORCHARD_SCEPC_CERTREP)
        rc = FAIL(ORCHARD_EPROTO, "messageType %d, not CertRep (3)", r.message_type);
    else if (r.pki_status != ORCHARD_SCEPC_SUCCESS && r.pki_status != ORCHARD_SCEPC_FAILURE &&
             r.pki_status != ORCHARD_SCEPC_PENDING)
        rc = FAIL(ORCHARD_EPROTO, "pkiStatus %d is not 0, 2 or 3", r.pki_status);
    else if (req != NULL && strcmp(r.transaction_id, req->transaction_id) != 0)
        rc = FAIL(ORCHARD_EPROTO, "transactionID \"%s\" is not ours (\"%s\")", r.transaction_id,
                  req->transaction_id);
    else if (req != NULL && (!have_nonce || memcmp(r.recipient_nonce, req->sender_nonce,
                                                   ORCHARD_SCEPC_NONCE_LEN) != 0))
        rc = FAIL(ORCHARD_EPROTO, "recipientNonce is %s our senderNonce",
                  have_nonce ? "not" : "missing, or not 16 bytes like");
    else if (r.pki_status == ORCHARD_SCEPC_SUCCESS && req != NULL && !(flags & ORCHARD_SCEPC_SKIP_DECRYPT))
        rc = open_envelope(&r, content, content_len, req, error_msg);
out:
    free(content);
    PKCS7_free(p7);
    if (rc == 0)
        *out = r;
    else
        orchard_scepc_reply_clear(&r);
    return rc;
}
