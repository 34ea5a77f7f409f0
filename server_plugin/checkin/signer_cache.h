/* The signer-certificate cache behind identity.c: devices certificates
 * already decoded and verified against the SCEP CA, found by the SHA-256 of
 * their DER, and the DER walk that takes the certificate out of an
 * Mdm-Signature so OpenSSL does not decode it again on every check-in. */
#ifndef ORCHARD_SERVER_SIGNER_CACHE_H
#define ORCHARD_SERVER_SIGNER_CACHE_H

#include <glib.h>
#include <openssl/x509.h>
#include <stddef.h>

/** Certificates kept by default (a clock evicts beyond it). */
#define ORCHARD_SIGNER_CACHE_CAPACITY 4096

/**
 * Split a CMS ContentInfo (DER) carrying SignedData into the one
 * certificate of its `certificates` field and the same message without that
 * field (every enclosing length re-encoded). Definite lengths only, one
 * fixed path, every length checked against what holds it. Returns 0 with
 * *stripped (g_free) / *stripped_len and *cert / *cert_len pointing into
 * `der`; ORCHARD_ENOTFOUND when the message has no certificates field;
 * ORCHARD_EINVAL for anything else (not DER as expected, BER indefinite
 * lengths, not SignedData, not exactly one plain certificate, trailing
 * bytes): the caller then parses the message whole, as before.
 */
int orchard_cms_strip_certs(const unsigned char *der, size_t len, unsigned char **stripped,
                            size_t *stripped_len, const unsigned char **cert, size_t *cert_len);

/** What the cache knows of one verified certificate. */
typedef struct orchard_signer {
    X509 *cert;          /* a reference: X509_free (orchard_signer_clear) */
    char *serial;        /* upper-case hex, as the store records it; g_free */
    char sha256[65];     /* lower-case hex of the DER */
    gint64 not_before;   /* the later of the certificate's and the CA's, Unix seconds */
    gint64 not_after;    /* the earlier of the two */
} orchard_signer;

void orchard_signer_clear(orchard_signer *s);

/**
 * The certificate whose DER has SHA-256 `digest`, when it was verified
 * against `ca` (the cache empties itself when asked about another CA).
 * Returns 0 and *out (orchard_signer_clear), or ORCHARD_ENOTFOUND.
 * Thread-safe. Validity at the time of use is the caller's to check.
 */
int orchard_signer_cache_get(X509 *ca, const unsigned char digest[32], orchard_signer *out);

/**
 * Remember `cert` (DER SHA-256 `digest`), which the caller has just
 * verified against `ca` (chain, purpose, validity). Takes its own
 * reference. Returns 0 and, when `out` is not NULL, what a get would give
 * (other threads may evict it at once: the caller keeps this copy), or
 * ORCHARD_EIO (its validity is unreadable).
 */
int orchard_signer_cache_put(X509 *ca, const unsigned char digest[32], X509 *cert,
                             orchard_signer *out);

/** Forget every certificate; `capacity` 0 keeps the current bound. For tests and reloads. */
void orchard_signer_cache_reset(size_t capacity);

/** Certificates held now. */
size_t orchard_signer_cache_count(void);

#endif
