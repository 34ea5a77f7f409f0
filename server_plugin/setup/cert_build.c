/* Keys, CSRs and self-signed certificates for the generate commands (see
 * cert_build.h). Everything is built in memory; the commands write the files
 * only once all of it exists. */
#include "server_plugin/setup/cert_build.h"

#include "server_plugin/crypto/x509_util.h"

#include <orchard/plugin.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <string.h>

/* OpenSSL's last queued error as text, for messages; clears the queue.
 * Some failures queue nothing: then `what` alone says it. */
char *orchard_ssl_error(const char *what)
{
    char buf[256];
    unsigned long e = ERR_peek_last_error();
    ERR_clear_error();
    if (!e)
        return g_strdup(what);
    ERR_error_string_n(e, buf, sizeof buf);
    return g_strdup_printf("%s: %s", what, buf);
}

int orchard_cert_rsa_key(int bits, EVP_PKEY **out, char **error_msg)
{
    *out = EVP_RSA_gen((unsigned int)bits);
    if (!*out) {
        *error_msg = orchard_ssl_error("RSA key generation failed");
        return ORCHARD_EIO;
    }
    return 0;
}

static int add_entry(X509_NAME *name, int nid, int type, const char *value)
{
    if (!value)
        return 1;
    return X509_NAME_add_entry_by_NID(name, nid, type, (const unsigned char *)value, -1, -1, 0);
}

/* Go's order for pkix.Name (O, OU, CN), the email last as Fleet's ExtraNames. */
static int fill_name(X509_NAME *name, const orchard_cert_name *n)
{
    return add_entry(name, NID_organizationName, MBSTRING_UTF8, n->o) &&
           add_entry(name, NID_organizationalUnitName, MBSTRING_UTF8, n->ou) &&
           add_entry(name, NID_commonName, MBSTRING_UTF8, n->cn) &&
           add_entry(name, NID_pkcs9_emailAddress, MBSTRING_ASC, n->email);
}

int orchard_cert_csr(EVP_PKEY *key, const orchard_cert_name *subject, X509_REQ **out,
                     char **error_msg)
{
    int rc = ORCHARD_EIO;
    X509_REQ *req = X509_REQ_new();
    if (!req || !X509_REQ_set_version(req, X509_REQ_VERSION_1))
        goto fail;
    if (!fill_name(X509_REQ_get_subject_name(req), subject)) {
        rc = ORCHARD_EINVAL;
        goto fail;
    }
    if (!X509_REQ_set_pubkey(req, key) || X509_REQ_sign(req, key, EVP_sha256()) <= 0)
        goto fail;
    *out = req;
    return 0;
fail:
    *error_msg = orchard_ssl_error(rc == ORCHARD_EINVAL ? "invalid CSR subject" : "CSR signing failed");
    X509_REQ_free(req);
    return rc;
}

/* A random serial in [1, 2^128). */
static int set_serial(X509 *cert, long serial)
{
    if (serial > 0)
        return ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
    return orchard_cert_random_serial(cert);
}

int orchard_cert_random_serial(X509 *cert)
{
    int ok = 0;
    BIGNUM *bn = BN_new();
    if (!bn)
        return 0;
    do {
        if (!BN_rand(bn, 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY))
            goto done;
    } while (BN_is_zero(bn));
    ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
done:
    BN_free(bn);
    return ok;
}

/* notBefore now, notAfter now + years + days in calendar terms (as Go's AddDate). */
static int set_validity(X509 *cert, int years, int days)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autoptr(GDateTime) plus_years = g_date_time_add_years(now, years);
    g_autoptr(GDateTime) end = plus_years ? g_date_time_add_days(plus_years, days) : NULL;
    if (!end)
        return 0;
    return ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)g_date_time_to_unix(now)) &&
           ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)g_date_time_to_unix(end));
}

int orchard_cert_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    if (!value)
        return 1;
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = ext && X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static int add_extensions(X509 *cert, const orchard_cert_spec *spec)
{
    return orchard_cert_add_ext(cert, NULL, NID_basic_constraints, spec->basic_constraints) &&
           orchard_cert_add_ext(cert, NULL, NID_key_usage, spec->key_usage) &&
           orchard_cert_add_ext(cert, NULL, NID_subject_key_identifier, spec->subject_key_id ? "hash" : NULL);
}

int orchard_cert_self_signed(EVP_PKEY *key, const orchard_cert_spec *spec, X509 **out,
                             char **error_msg)
{
    int rc = ORCHARD_EIO;
    X509 *cert = X509_new();
    if (!cert || !X509_set_version(cert, X509_VERSION_3) || !set_serial(cert, spec->serial) ||
        !set_validity(cert, spec->years, spec->days))
        goto fail;
    if (!fill_name(X509_get_subject_name(cert), &spec->subject) ||
        !X509_set_issuer_name(cert, X509_get_subject_name(cert))) {
        rc = ORCHARD_EINVAL;
        goto fail;
    }
    if (!X509_set_pubkey(cert, key) || !add_extensions(cert, spec) ||
        X509_sign(cert, key, EVP_sha256()) <= 0)
        goto fail;
    *out = cert;
    return 0;
fail:
    *error_msg = orchard_ssl_error(rc == ORCHARD_EINVAL ? "invalid certificate subject"
                                                : "certificate signing failed");
    X509_free(cert);
    return rc;
}

char *orchard_cert_csr_pem(X509_REQ *req)
{
    char *out = NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio && PEM_write_bio_X509_REQ(bio, req) == 1) {
        char *data = NULL;
        long len = BIO_get_mem_data(bio, &data);
        if (len > 0)
            out = g_strndup(data, (gsize)len);
    }
    BIO_free(bio);
    return out;
}

GBytes *orchard_cert_csr_der(X509_REQ *req)
{
    unsigned char *der = NULL;
    int len = i2d_X509_REQ(req, &der);
    if (len <= 0)
        return NULL;
    GBytes *out = g_bytes_new(der, (gsize)len);
    OPENSSL_free(der);
    return out;
}

int orchard_cert_sign_sha256(EVP_PKEY *key, const void *data, size_t len, GBytes **sig,
                             char **error_msg)
{
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
        *error_msg = g_strdup("the vendor key is not an RSA key (Apple wants SHA256withRSA)");
        return ORCHARD_EINVAL;
    }
    int rc = ORCHARD_EIO;
    size_t siglen = 0;
    unsigned char *buf = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    /* RSA's default padding is PKCS#1 v1.5, which "SHA256withRSA" means. */
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, NULL, &siglen, data, len) != 1)
        goto done;
    buf = g_malloc(siglen);
    if (EVP_DigestSign(md, buf, &siglen, data, len) != 1)
        goto done;
    *sig = g_bytes_new(buf, siglen);
    rc = 0;
done:
    if (rc)
        *error_msg = orchard_ssl_error("signing the CSR with the vendor key failed");
    g_free(buf);
    EVP_MD_CTX_free(md);
    return rc;
}

/* Read every PEM certificate of `pem` into `chain`; returns how many. */
static int read_certs(const char *pem, gsize len, STACK_OF(X509) *chain)
{
    int n = 0;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *cert = NULL;
    while (bio && (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(chain, cert)) {
            X509_free(cert);
            break;
        }
        n++;
    }
    ERR_clear_error(); /* the end of the file reads as "no start line" */
    BIO_free(bio);
    return n;
}

int orchard_cert_load_chain(const char *path, STACK_OF(X509) **out, char **error_msg)
{
    g_autofree char *pem = NULL;
    gsize len = 0;
    g_autoptr(GError) err = NULL;
    if (!g_file_get_contents(path, &pem, &len, &err)) {
        *error_msg = g_strdup_printf("cannot read %s: %s", path, err->message);
        return g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? ORCHARD_ENOTFOUND
                                                                       : ORCHARD_EIO;
    }
    if (len > ORCHARD_PEM_MAX_BYTES) {
        *error_msg = g_strdup_printf("%s is larger than 1 MiB", path);
        return ORCHARD_ETOOBIG;
    }
    STACK_OF(X509) *chain = sk_X509_new_null();
    if (!chain || read_certs(pem, len, chain) == 0) {
        *error_msg = g_strdup_printf("%s holds no PEM certificate", path);
        sk_X509_free(chain);
        return ORCHARD_EINVAL;
    }
    *out = chain;
    return 0;
}
