/* The bootstrap token a Mac escrows with SetBootstrapToken is a credential
 * (it unlocks FileVault-protected accounts for software updates), so it is
 * sealed before it reaches the store: AES-256-GCM under a key derived with
 * HKDF-SHA256 from the SCEP CA private key's DER (a key the server already
 * keeps secret), a random 96-bit nonce per seal, the UDID as associated data
 * so a sealed token copied to another row does not open. Layout:
 * "OBT1" | nonce (12) | ciphertext | tag (16). */
#include "server_plugin/checkin/checkin.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <string.h>

#define MAGIC "OBT1"
#define MAGIC_LEN 4
#define NONCE_LEN 12
#define TAG_LEN 16
#define KEY_LEN 32
/* Changing it changes every key: sealed tokens would no longer open. */
static const char hkdf_info[] = "orchard bootstrap token v1";

static int derive_key(EVP_PKEY *scep_key, unsigned char key[KEY_LEN])
{
    unsigned char *der = NULL;
    int der_len = scep_key ? i2d_PrivateKey(scep_key, &der) : -1;
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *kctx = NULL;
    int rc = ORCHARD_EIO;

    if (der_len <= 0)
        goto out;
    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    if (!kctx)
        goto out;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, der, (size_t)der_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)hkdf_info,
                                          sizeof hkdf_info - 1),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_KDF_derive(kctx, key, KEY_LEN, params) == 1)
        rc = 0;
out:
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    if (der)
        OPENSSL_clear_free(der, (size_t)der_len);
    return rc;
}

/* One AES-256-GCM pass: encrypt (tag written) or decrypt (tag checked). */
static int gcm(int encrypt, const unsigned char key[KEY_LEN], const unsigned char *nonce,
               const char *aad, const unsigned char *in, size_t len, unsigned char *out,
               unsigned char *tag)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, ok;

    ok = c && len <= INT_MAX &&
         EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
         EVP_CipherInit_ex(c, NULL, NULL, key, nonce, encrypt) == 1 &&
         EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
         (len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)len) == 1) &&
         (encrypt || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1) &&
         EVP_CipherFinal_ex(c, out + (len ? (size_t)n : 0), &n) == 1 &&
         (!encrypt || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

int orchard_bootstrap_seal(EVP_PKEY *scep_key, const char *udid, const unsigned char *token,
                           size_t len, unsigned char **sealed, size_t *sealed_len)
{
    unsigned char key[KEY_LEN];
    size_t total = MAGIC_LEN + NONCE_LEN + len + TAG_LEN;
    unsigned char *buf;
    int rc;

    *sealed = NULL;
    *sealed_len = 0;
    if (!udid || (len && !token) || (rc = derive_key(scep_key, key)))
        return ORCHARD_EIO;
    buf = g_malloc(total);
    memcpy(buf, MAGIC, MAGIC_LEN);
    if (RAND_bytes(buf + MAGIC_LEN, NONCE_LEN) != 1 ||
        gcm(1, key, buf + MAGIC_LEN, udid, token, len, buf + MAGIC_LEN + NONCE_LEN,
            buf + total - TAG_LEN)) {
        g_free(buf);
        rc = ORCHARD_EIO;
    } else {
        *sealed = buf;
        *sealed_len = total;
        rc = 0;
    }
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

int orchard_bootstrap_open(EVP_PKEY *scep_key, const char *udid, const unsigned char *sealed,
                           size_t sealed_len, unsigned char **token, size_t *len)
{
    unsigned char key[KEY_LEN], tag[TAG_LEN];
    size_t n;
    unsigned char *out;
    int rc;

    *token = NULL;
    *len = 0;
    if (!udid || !sealed || sealed_len < MAGIC_LEN + NONCE_LEN + TAG_LEN ||
        memcmp(sealed, MAGIC, MAGIC_LEN) != 0)
        return ORCHARD_EINVAL;
    if ((rc = derive_key(scep_key, key)))
        return rc;
    n = sealed_len - MAGIC_LEN - NONCE_LEN - TAG_LEN;
    memcpy(tag, sealed + sealed_len - TAG_LEN, TAG_LEN);
    out = g_malloc(n + 1);
    if (gcm(0, key, sealed + MAGIC_LEN, udid, sealed + MAGIC_LEN + NONCE_LEN, n, out, tag)) {
        OPENSSL_cleanse(out, n + 1);
        g_free(out);
        rc = ORCHARD_EINVAL;
    } else {
        out[n] = 0;
        *token = out;
        *len = n;
        rc = 0;
    }
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}
