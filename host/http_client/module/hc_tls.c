/* Checking a client's TLS material when it is opened, so a bad APNs
 * certificate shows up as one clear error at start rather than as a
 * handshake failure on every push. libcurl itself reads the PEM only when
 * it connects; OpenSSL (which libcurl already maps) parses it here. */
#include "host/http_client/module/hc_internal.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

/* An encrypted key would otherwise make OpenSSL prompt on the terminal. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static BIO *pem_bio(const char *pem)
{
    return BIO_new_mem_buf(pem, (int)strnlen(pem, (size_t)1 << 30));
}

/* The number of certificates in a PEM bundle (0 when none parse). */
static int count_certs(const char *pem, X509 **first)
{
    BIO *bio = pem_bio(pem);
    X509 *x;
    int n = 0;

    if (!bio)
        return 0;
    while ((x = PEM_read_bio_X509(bio, NULL, no_password, NULL)) != NULL) {
        if (n++ == 0 && first)
            *first = x;
        else
            X509_free(x);
    }
    BIO_free(bio);
    return n;
}

int hc_tls_check(const char *cert_pem, const char *key_pem, const char *ca_pem, char *err,
                 size_t err_len)
{
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    BIO *bio = NULL;
    int rc = ORCHARD_EINVAL;

    if (cert_pem && count_certs(cert_pem, &cert) == 0) {
        snprintf(err, err_len, "cert_pem holds no PEM certificate");
        goto cleanup;
    }
    if (key_pem) {
        if (!(bio = pem_bio(key_pem)) ||
            !(key = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL))) {
            snprintf(err, err_len, "key_pem holds no unencrypted PEM private key");
            goto cleanup;
        }
        if (cert && X509_check_private_key(cert, key) != 1) {
            snprintf(err, err_len, "key_pem is not the key of cert_pem's certificate");
            goto cleanup;
        }
    }
    if (ca_pem && count_certs(ca_pem, NULL) == 0) {
        snprintf(err, err_len, "ca_pem holds no PEM certificate");
        goto cleanup;
    }
    rc = 0;
cleanup:
    /* Leave no stale error on this thread's queue for libcurl to misread. */
    ERR_clear_error();
    EVP_PKEY_free(key);
    BIO_free(bio);
    X509_free(cert);
    return rc;
}
