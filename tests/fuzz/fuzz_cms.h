/* Encrypting a fuzz input to the harness's own key at run time, so a target
 * can reach the code behind decryption without a private key in git
 * (fuzz_abm_token, fuzz_scep_message). */
#ifndef ORCHARD_FUZZ_CMS_H
#define ORCHARD_FUZZ_CMS_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>

/**
 * `plain` as a CMS EnvelopedData to `to` with `cipher`: DER, or an S/MIME
 * file when `smime`. NULL when OpenSSL refuses; else g_free, *out_len set.
 */
unsigned char *fuzz_cms_encrypt(const void *plain, size_t len, X509 *to,
                                const EVP_CIPHER *cipher, int smime, size_t *out_len);

#endif
