/* Fuzz target: the Apple Business Manager server token (.p7m), a file an
 * admin downloads and hands to `orchard serve`: orchard_abm_token_decrypt
 * with a key pair made once per process (RSA 2048 and a self-signed
 * certificate, from OpenSSL, never from a file).
 *
 * Two modes, so the fuzzer reaches the code behind the decryption too:
 *   - an input is fed as it is (S/MIME headers, base64, CMS, as on disk);
 *   - an input starting with PLAINTEXT_MAGIC is the decrypted content: the
 *     rest is encrypted to the process's key pair and written as S/MIME,
 *     which is what is fed. Random bytes never decrypt, so without this the
 *     MESSAGE block and JSON parsing would be out of the fuzzer's reach. */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_cms.h"

#include "server_plugin/dep/abm_token.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <string.h>

#define PLAINTEXT_MAGIC "ORCHARD-FUZZ-PLAINTEXT\n"

static EVP_PKEY *key;
static X509 *cert;

static void make_key_pair(void)
{
    X509_NAME *name;

    key = EVP_RSA_gen(2048);
    cert = X509_new();
    if (!key || !cert)
        abort();
    name = X509_get_subject_name(cert);
    if (!X509_set_version(cert, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), 0) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 24 * 3600) ||
        !X509_set_pubkey(cert, key) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)"orchard fuzz ABM key", -1, -1, 0) ||
        !X509_set_issuer_name(cert, name) || !X509_sign(cert, key, EVP_sha256()))
        abort();
}

/* `plain` encrypted to the key pair, as an S/MIME file; NULL if OpenSSL refuses. */
static char *wrap(const uint8_t *plain, size_t len, size_t *out_len)
{
    return (char *)fuzz_cms_encrypt(plain, len, cert, EVP_aes_256_cbc(), 1, out_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const size_t magic = strlen(PLAINTEXT_MAGIC);
    orchard_abm_token *token = NULL;
    char *err = NULL, *wrapped = NULL;
    const char *input = (const char *)data;
    size_t len = size;

    if (!key)
        make_key_pair();
    if (size >= magic && memcmp(data, PLAINTEXT_MAGIC, magic) == 0) {
        if (size - magic > ORCHARD_ABM_TOKEN_MAX_BYTES / 2)
            return 0; /* base64 of more would be refused unread */
        wrapped = wrap(data + magic, size - magic, &len);
        if (!wrapped)
            return 0;
        input = wrapped;
    }
    if (orchard_abm_token_decrypt(input, len, cert, key, "fuzz.p7m", "fuzz.key", &token,
                                  &err) == 0) {
        if (!token || !token->consumer_key || !token->access_token_expiry)
            abort(); /* success must fill the documented fields */
    } else if (token || !err) {
        abort(); /* failure: *out NULL and a message */
    }
    orchard_abm_token_free(token);
    g_free(err);
    g_free(wrapped);
    return 0;
}
