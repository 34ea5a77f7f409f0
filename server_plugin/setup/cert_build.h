/* Building the setup material on OpenSSL 3: RSA keys, self-signed
 * certificates (SCEP CA, ABM key pair), the APNs CSR, and the vendor
 * signature of a push certificate request. Used by the generate commands;
 * reading and writing PEM lives in crypto/x509_util.h.
 * Functions return 0 or a negative orchard_error_code with *error_msg (g_free). */
#ifndef ORCHARD_CERT_BUILD_H
#define ORCHARD_CERT_BUILD_H

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/** A distinguished name: each entry NULL to leave it out; written O, OU, CN, emailAddress. */
typedef struct orchard_cert_name {
    const char *o;
    const char *ou;
    const char *cn;
    const char *email;
} orchard_cert_name;

/** What a self-signed certificate holds. */
typedef struct orchard_cert_spec {
    orchard_cert_name subject; /* also the issuer */
    int years;                 /* validity: now + years + days (calendar) */
    int days;
    long serial;               /* > 0: this serial; 0: random positive 128-bit */
    /* Extensions as OpenSSL config text, NULL to leave one out. */
    const char *basic_constraints; /* e.g. "critical,CA:TRUE,pathlen:0" */
    const char *key_usage;         /* e.g. "critical,keyCertSign,cRLSign" */
    int subject_key_id;            /* add subjectKeyIdentifier (hash) */
} orchard_cert_spec;

/** A new RSA key of `bits`. ORCHARD_EIO when OpenSSL fails. EVP_PKEY_free. */
int orchard_cert_rsa_key(int bits, EVP_PKEY **out, char **error_msg);

/** A SHA-256 CSR for `key` with `subject`. ORCHARD_EINVAL (bad name), ORCHARD_EIO.
 *  X509_REQ_free. */
int orchard_cert_csr(EVP_PKEY *key, const orchard_cert_name *subject, X509_REQ **out,
                     char **error_msg);

/** A v3 certificate for `key`, self-signed with SHA-256. ORCHARD_EINVAL, ORCHARD_EIO. X509_free. */
int orchard_cert_self_signed(EVP_PKEY *key, const orchard_cert_spec *spec, X509 **out,
                             char **error_msg);

/** A random positive 128-bit serial number. 1 on success, 0 on failure (OpenSSL style). */
int orchard_cert_random_serial(X509 *cert);

/**
 * Add an extension given as OpenSSL config text ("critical,digitalSignature"),
 * with `issuer` (NULL: self-signed) for authorityKeyIdentifier. NULL value:
 * nothing to add. 1 on success, 0 on failure.
 */
int orchard_cert_add_ext(X509 *cert, X509 *issuer, int nid, const char *value);

/** "<what>: <OpenSSL's last queued error>", or `what` when none is queued;
 *  clears the queue. g_free. */
char *orchard_ssl_error(const char *what);

/** PEM text of a CSR ("CERTIFICATE REQUEST"). NULL on failure. g_free. */
char *orchard_cert_csr_pem(X509_REQ *req);

/** DER of a CSR. NULL on failure. g_bytes_unref. */
GBytes *orchard_cert_csr_der(X509_REQ *req);

/** RSA PKCS#1 v1.5 signature of SHA-256(data) by `key`. ORCHARD_EINVAL (not RSA), ORCHARD_EIO. */
int orchard_cert_sign_sha256(EVP_PKEY *key, const void *data, size_t len, GBytes **sig,
                             char **error_msg);

/**
 * Every certificate of the PEM file `path`, in file order (at least one).
 * ORCHARD_ENOTFOUND, ORCHARD_ETOOBIG, ORCHARD_EINVAL. sk_X509_pop_free(*out, X509_free).
 */
int orchard_cert_load_chain(const char *path, STACK_OF(X509) **out, char **error_msg);

#endif
