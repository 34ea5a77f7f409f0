/* Who is speaking on /mdm/apple/mdm: the signer of the Mdm-Signature
 * header (a detached CMS SignedData over the raw body), or the TLS client
 * certificate the host saw (directly or from a TLS-terminating proxy's
 * header). Either way the certificate must be one the SCEP CA issued for
 * client authentication, current, on record and not revoked; the service
 * then checks it is bound to the message's UDID. A certificate verified
 * once is kept (signer_cache.c): later requests skip its decoding and chain
 * check, never its validity, revocation or the signature. */
#include "server_plugin/checkin/checkin.h"
#include "server_plugin/checkin/signer_cache.h"
#include "server_plugin/scep/scep_csr.h"
#include "server_plugin/store/server_store.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <string.h>

/* A signature header longer than this is not a device's (theirs are ~2-3 KiB). */
#define SIGNATURE_MAX ((size_t)64 * 1024)

static int deny(char **why, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int deny(char **why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ERR_clear_error();
    return ORCHARD_EDENIED;
}

/* Strict base64 (the alphabet, '=' padding only at the end; whitespace
 * tolerated since some proxies fold long headers). NULL when malformed. */
static unsigned char *base64_decode(const char *s, size_t *out_len)
{
    size_t n = strlen(s), k = 0;
    g_autofree char *clean = g_malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (!g_ascii_isalnum(c) && c != '+' && c != '/' && c != '=')
            return NULL;
        if (k && clean[k - 1] == '=' && c != '=')
            return NULL;
        clean[k++] = c;
    }
    clean[k] = '\0';
    if (k == 0 || k % 4 != 0)
        return NULL;
    gsize len = 0;
    guchar *raw = g_base64_decode(clean, &len);
    *out_len = len;
    return raw;
}

/* Verify the CMS signature (DER) over body, the whole message parsed by
 * OpenSSL; 0 and *signer (X509_free) or EDENIED. */
static int signature_signer(const unsigned char *der, size_t der_len, const unsigned char *body,
                            size_t len, X509 **signer, char **why)
{
    const unsigned char *p;
    CMS_ContentInfo *cms = NULL;
    BIO *content = NULL;
    STACK_OF(X509) *signers = NULL;
    int rc = ORCHARD_EDENIED;

    p = der;
    if (!(cms = d2i_CMS_ContentInfo(NULL, &p, (long)der_len)) || p != der + der_len) {
        rc = deny(why, "Mdm-Signature is not a CMS message");
        goto out;
    }
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
        rc = deny(why, "Mdm-Signature is not SignedData");
        goto out;
    }
    if (!CMS_is_detached(cms)) {
        rc = deny(why, "Mdm-Signature carries its own content (it must be detached)");
        goto out;
    }
    content = BIO_new_mem_buf(len ? (const void *)body : (const void *)"", (int)len);
    /* The signature alone here; the chain is checked against the SCEP CA
     * below, for the signature and the client-certificate paths alike. */
    if (!content || CMS_verify(cms, NULL, NULL, content, NULL,
                               CMS_DETACHED | CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
        rc = deny(why, "Mdm-Signature does not verify over the body");
        goto out;
    }
    signers = CMS_get0_signers(cms);
    if (!signers || sk_X509_num(signers) != 1) {
        rc = deny(why, "Mdm-Signature must have exactly one signer");
        goto out;
    }
    *signer = sk_X509_value(signers, 0);
    X509_up_ref(*signer);
    rc = 0;
out:
    sk_X509_free(signers);
    BIO_free(content);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return rc;
}

static int has_client_auth(X509 *cert)
{
    /* X509_PURPOSE_SSL_CLIENT lets a certificate without any EKU pass; ours
     * always name clientAuth, so require it to be there. */
    return (X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) &&
           (X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT);
}

/* The chain to the SCEP CA, the purpose, the validity at now. */
static int check_chain(X509 *ca, X509 *cert, gint64 now, char **why)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = ORCHARD_EDENIED, ok;

    if (!store || !ctx || !X509_STORE_add_cert(store, ca) ||
        !X509_STORE_CTX_init(ctx, store, cert, NULL)) {
        rc = deny(why, "cannot check the certificate (out of memory)");
        goto out;
    }
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)now);
    /* The SCEP CA is the anchor even when it is itself issued by another CA
     * (an operator's intermediate): trust stops at it. */
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
    ok = X509_verify_cert(ctx);
    if (ok != 1) {
        int err = X509_STORE_CTX_get_error(ctx);
        rc = deny(why, "certificate does not chain to the SCEP CA: %s",
                  X509_verify_cert_error_string(err));
        goto out;
    }
    if (!has_client_auth(cert)) {
        rc = deny(why, "certificate is not for client authentication");
        goto out;
    }
    rc = 0;
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return rc;
}

/* On record and not revoked: asked of the store on every request, so a
 * revocation takes effect at once. */
static int check_record(const char *serial, char **bound, char **why)
{
    int revoked = 0;
    gint64 not_after = 0;
    g_autofree char *udid = NULL;
    int lrc = orchard_server_store_cert_identity(serial, &revoked, &not_after, &udid);
    if (lrc == ORCHARD_ENOTFOUND)
        return deny(why, "certificate %s is not one this server issued", serial);
    if (lrc)
        return deny(why, "certificate %s cannot be looked up (store failed)", serial);
    if (revoked)
        return deny(why, "certificate %s is revoked", serial);
    if (bound)
        *bound = g_steal_pointer(&udid);
    return 0;
}

/* The slow path's whole check of a certificate decoded from a request. */
static int check_cert(X509 *ca, X509 *cert, gint64 now, char **bound, char **why)
{
    int rc = check_chain(ca, cert, now, why);
    if (rc == 0) {
        g_autofree char *serial = orchard_scep_serial_hex(cert);
        rc = check_record(serial, bound, why);
    }
    return rc;
}

/* The certificate with this DER (`what` names it for refusals), verified
 * against ca (from the cache, or decoded, checked and cached now), and
 * current at now. 0 or EDENIED. */
static int known_signer(X509 *ca, const char *what, const unsigned char *der, size_t der_len,
                        gint64 now, orchard_signer *out, char **why)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    int rc;

    SHA256(der, der_len, digest);
    if (orchard_signer_cache_get(ca, digest, out) != 0) {
        const unsigned char *p = der;
        X509 *cert = NULL;
        if (der_len > LONG_MAX || !(cert = d2i_X509(NULL, &p, (long)der_len)) ||
            p != der + der_len) {
            X509_free(cert);
            return deny(why, "%s is not DER", what);
        }
        rc = check_chain(ca, cert, now, why);
        /* The copy put hands back: other threads may evict the entry at once. */
        if (rc == 0 && orchard_signer_cache_put(ca, digest, cert, out))
            rc = deny(why, "%s has an unreadable validity", what);
        X509_free(cert);
        if (rc)
            return rc;
    }
    /* Cached at an earlier time: the validity is checked on every request. */
    if (now > out->not_after) {
        orchard_signer_clear(out);
        return deny(why, "certificate does not chain to the SCEP CA: certificate has expired");
    }
    if (now < out->not_before) {
        orchard_signer_clear(out);
        return deny(why, "certificate does not chain to the SCEP CA: certificate is not yet "
                         "valid");
    }
    return 0;
}

/* The signature over body by signer, on the CMS message stripped of its
 * certificate: the cached X509 stands in for it. 0 or EDENIED. */
static int verify_stripped(const unsigned char *der, size_t der_len, X509 *signer,
                           const unsigned char *body, size_t len, char **why)
{
    const unsigned char *p = der;
    CMS_ContentInfo *cms = NULL;
    BIO *content = NULL;
    STACK_OF(X509) *certs = sk_X509_new_null(), *signers = NULL;
    int rc = ORCHARD_EDENIED;

    if (!certs || !sk_X509_push(certs, signer)) {
        rc = deny(why, "cannot check the signature (out of memory)");
        goto out;
    }
    if (!(cms = d2i_CMS_ContentInfo(NULL, &p, (long)der_len)) || p != der + der_len) {
        rc = deny(why, "Mdm-Signature is not a CMS message");
        goto out;
    }
    if (!CMS_is_detached(cms)) {
        rc = deny(why, "Mdm-Signature carries its own content (it must be detached)");
        goto out;
    }
    content = BIO_new_mem_buf(len ? (const void *)body : (const void *)"", (int)len);
    /* The chain was checked when the certificate was cached. */
    if (!content || CMS_verify(cms, certs, NULL, content, NULL,
                               CMS_DETACHED | CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
        rc = deny(why, "Mdm-Signature does not verify over the body");
        goto out;
    }
    signers = CMS_get0_signers(cms);
    if (!signers || sk_X509_num(signers) != 1 || X509_cmp(sk_X509_value(signers, 0), signer)) {
        rc = deny(why, "Mdm-Signature must have exactly one signer");
        goto out;
    }
    rc = 0;
out:
    sk_X509_free(signers);
    sk_X509_free(certs);
    BIO_free(content);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return rc;
}

/* The known-signer path: 0 and *sha, EDENIED, or 1 when the signature's
 * shape is not the one it handles (the caller parses it whole). */
static int fast_signature(X509 *ca, const unsigned char *der, size_t der_len,
                          const unsigned char *body, size_t len, gint64 now, char **sha,
                          char **bound, char **why)
{
    g_autofree unsigned char *stripped = NULL;
    const unsigned char *cert = NULL;
    size_t stripped_len = 0, cert_len = 0;
    orchard_signer s = {0};
    int rc;

    if (orchard_cms_strip_certs(der, der_len, &stripped, &stripped_len, &cert, &cert_len))
        return 1;
    rc = known_signer(ca, "the Mdm-Signature's certificate", cert, cert_len, now, &s, why);
    if (rc == 0 &&
        (rc = verify_stripped(stripped, stripped_len, s.cert, body, len, why)) == 0 &&
        (rc = check_record(s.serial, bound, why)) == 0)
        *sha = g_strdup(s.sha256);
    orchard_signer_clear(&s);
    return rc;
}

int orchard_checkin_identity(X509 *scep_ca, const char *signature_b64,
                             const unsigned char *client_der, size_t client_len,
                             const unsigned char *body, size_t len, gint64 now,
                             char **cert_sha256, char **bound_udid, char **why)
{
    X509 *cert = NULL;
    int rc;

    *cert_sha256 = NULL;
    if (bound_udid)
        *bound_udid = NULL;
    *why = NULL;
    if (!scep_ca)
        return deny(why, "no SCEP CA is configured");
    if (signature_b64 && *signature_b64) {
        g_autofree unsigned char *der = NULL;
        size_t der_len = 0;
        if (strlen(signature_b64) > SIGNATURE_MAX)
            return deny(why, "Mdm-Signature is too long");
        if (!(der = base64_decode(signature_b64, &der_len)) || der_len == 0)
            return deny(why, "Mdm-Signature is not base64");
        rc = fast_signature(scep_ca, der, der_len, body, len, now, cert_sha256, bound_udid, why);
        if (rc <= 0)
            return rc;
        /* Not one certificate in plain DER: the whole message through OpenSSL. */
        if ((rc = signature_signer(der, der_len, body, len, &cert, why)))
            return rc;
    } else if (client_der && client_len) {
        orchard_signer s = {0};
        if ((rc = known_signer(scep_ca, "the client certificate", client_der, client_len, now,
                                &s, why)) == 0 &&
            (rc = check_record(s.serial, bound_udid, why)) == 0)
            *cert_sha256 = g_strdup(s.sha256);
        orchard_signer_clear(&s);
        return rc;
    } else {
        return deny(why, "no Mdm-Signature and no client certificate");
    }
    if ((rc = check_cert(scep_ca, cert, now, bound_udid, why)) == 0)
        *cert_sha256 = orchard_scep_cert_sha256(cert);
    X509_free(cert);
    return rc;
}
