/* What the SCEP server reads from a device's CSR and how it turns one into
 * a certificate signed by the SCEP CA (docs/protocols.md §6: subject from the CSR,
 * NotBefore now-600 s, NotAfter now+validity, digitalSignature, clientAuth). */
#ifndef ORCHARD_SCEP_CSR_H
#define ORCHARD_SCEP_CSR_H

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Longest challengePassword accepted (ours are 43 characters). */
#define ORCHARD_SCEP_CHALLENGE_MAX 255

/**
 * The CSR's challengePassword. Returns 0 and *challenge (g_free), or
 * ORCHARD_ENOTFOUND (none), ORCHARD_EINVAL (repeated, not a string, empty,
 * too long or with a NUL).
 */
int orchard_scep_csr_challenge(X509_REQ *csr, char **challenge);

/** 1 when the CSR's subject has at least one entry. */
int orchard_scep_csr_has_subject(X509_REQ *csr);

/**
 * Sign a client certificate for `csr` with the CA, valid `validity_days`.
 * Returns 0 and *out (X509_free), or ORCHARD_EINVAL / ORCHARD_EIO with
 * *error_msg (g_free).
 */
int orchard_scep_sign(X509_REQ *csr, X509 *ca, EVP_PKEY *ca_key, long validity_days,
                      gint64 now, X509 **out, char **error_msg);

/** The serial as upper-case hex ("3A0F..."). g_free. */
char *orchard_scep_serial_hex(X509 *cert);

/** Lower-case hex SHA-256 of the certificate's DER. g_free. */
char *orchard_scep_cert_sha256(X509 *cert);

#endif
