/* Apple's push certificate request: the file an organization uploads to the
 * Apple Push Certificates Portal, made from the APNs CSR and the MDM vendor's
 * certificate and key (docs/protocols.md §4). `generate mdm-apple` writes it
 * when it is given vendor material. */
#ifndef ORCHARD_PUSH_REQUEST_H
#define ORCHARD_PUSH_REQUEST_H

#include <openssl/evp.h>
#include <openssl/x509.h>

/**
 * The request's text: base64 of an XML plist whose three strings are
 * PushCertRequestCSR (`csr_b64`), PushCertCertificateChain (`chain_pem`) and
 * PushCertSignature (`sig_b64`). libplist writes the XML, so any value comes
 * out escaped. Returns 0 and *out (g_free), or ORCHARD_EINVAL (a NULL or
 * non-UTF-8 value) / ORCHARD_ENOMEM with *error_msg (g_free).
 */
int orchard_push_request_encode(const char *csr_b64, const char *chain_pem, const char *sig_b64,
                                char **out, char **error_msg);

/**
 * The whole request for `csr`: its DER in base64, `chain` (the vendor
 * certificate first, then its issuers) as PEM, and the SHA256withRSA
 * signature of the CSR's DER by `vendor_key`. Returns 0 and *out (g_free),
 * or ORCHARD_EINVAL (not an RSA key) / ORCHARD_EIO with *error_msg (g_free).
 */
int orchard_push_request_make(X509_REQ *csr, STACK_OF(X509) *chain, EVP_PKEY *vendor_key,
                              char **out, char **error_msg);

#endif
