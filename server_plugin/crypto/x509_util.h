/* Certificates and keys for the server plugin, on OpenSSL 3: load PEM from a
 * file or from bytes (Fleet's `_bytes` config keys), check that a key belongs
 * to a certificate, and read the fields admins see (subject CN, the APNs
 * topic in the subject UID, serial in decimal, issuer CN, validity).
 * Functions return 0 or a negative orchard_error_code with *error_msg
 * (g_free) naming the file or key. */
#ifndef ORCHARD_X509_UTIL_H
#define ORCHARD_X509_UTIL_H

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Cap on a PEM file. */
#define ORCHARD_PEM_MAX_BYTES (1u << 20)

/**
 * Load the first certificate of a PEM file (`path`) or of PEM text (`pem`,
 * when path is NULL). `what` names the source in messages, e.g.
 * "mdm.apple_apns_cert". Returns 0 and *out (X509_free), or ORCHARD_ENOTFOUND
 * (no such file), ORCHARD_ETOOBIG, ORCHARD_EINVAL (not a PEM certificate).
 */
int orchard_x509_load_cert(const char *path, const char *pem, const char *what, X509 **out,
                           char **error_msg);

/** The same for a private key (PKCS#1 "RSA PRIVATE KEY" or PKCS#8). EVP_PKEY_free. */
int orchard_x509_load_key(const char *path, const char *pem, const char *what, EVP_PKEY **out,
                          char **error_msg);

/** 1 when `key` is the private key of `cert`'s public key, else 0. */
int orchard_x509_key_matches(X509 *cert, EVP_PKEY *key);

/**
 * The first value of `nid` in `name` as UTF-8 (g_free; NUL-terminated, and
 * *len, when len is not NULL, its length in bytes, which counts any NUL
 * inside it), or NULL when `name` has none or it does not convert.
 */
char *orchard_x509_name_text(X509_NAME *name, int nid, size_t *len);

/** The first value of `nid` in the subject (or issuer when `issuer`), or NULL. g_free. */
char *orchard_x509_name_entry(X509 *cert, int issuer, int nid);

/** The APNs topic: the subject's UID (OID 0.9.2342.19200300.100.1.1), or NULL. g_free. */
char *orchard_x509_topic(X509 *cert);

/** The serial number in decimal, exactly, however long. g_free. */
char *orchard_x509_serial_decimal(X509 *cert);

/** notBefore / notAfter as unix seconds. */
gint64 orchard_x509_not_before(X509 *cert);
gint64 orchard_x509_not_after(X509 *cert);

/** "January 2, 2006" (Fleet's Renew date format), UTC. g_free. */
char *orchard_format_renew_date(gint64 unix_seconds);

/**
 * Write `data` to `path` with mode `mode` (0600 for keys), refusing to replace
 * an existing file unless `force`. Written to a temporary file and renamed, so
 * a crash never leaves half a key. ORCHARD_EEXIST when it exists.
 */
int orchard_write_file(const char *path, const void *data, size_t len, int mode, int force,
                       char **error_msg);

/** PEM text of a certificate / of a private key as PKCS#1 ("RSA PRIVATE KEY"). g_free. */
char *orchard_x509_cert_pem(X509 *cert);
char *orchard_x509_key_pem_pkcs1(EVP_PKEY *key);

#endif
