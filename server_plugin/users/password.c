/* Password hashes: scrypt (N=2^15, r=8, p=1: ~32 MiB and tens of
 * milliseconds per check, docs/dependencies.md) through OpenSSL 3's EVP_KDF,
 * encoded with its parameters so they can change later without breaking
 * stored hashes. Logins and `orchard user create` are the only callers. */
#include "server_plugin/users/users.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_N 15
#define BLOCK_R 8
#define PARALLEL_P 1
#define SALT_LEN 16
#define HASH_LEN 32
/* Bounds on what a stored hash may ask for: a bad row must not make a
 * login allocate gigabytes. 128 * r * N bytes is scrypt's memory. */
#define MAX_MEM ((uint64_t)256 * 1024 * 1024)
/* Logins running the KDF at once: each takes ~32 MiB, so a burst of them
 * on every server thread must not take the machine's memory. */
#define MAX_CONCURRENT 4

/* Verified against when the email is unknown: random bytes nobody's
 * password derives (made once with openssl rand; not a secret). */
static const char dummy_hash[] = "$scrypt$ln=15,r=8,p=1$IsRBjzxJIuoCrzWyiYw4OA"
                                 "$ouh9EJmtmJ688HslFkiATX06ixT3fkjttNQyM0U+v0U";

static gint kdf_runs;
static GMutex slot_lock;
static GCond slot_cond;
static int slots_busy;

guint64 orchard_password_kdf_runs(void) { return (guint64)g_atomic_int_get(&kdf_runs); }

static void slot_take(void)
{
    g_mutex_lock(&slot_lock);
    while (slots_busy >= MAX_CONCURRENT)
        g_cond_wait(&slot_cond, &slot_lock);
    slots_busy++;
    g_mutex_unlock(&slot_lock);
}

static void slot_give(void)
{
    g_mutex_lock(&slot_lock);
    slots_busy--;
    g_cond_signal(&slot_cond);
    g_mutex_unlock(&slot_lock);
}

static int scrypt(const char *pw, size_t pw_len, const unsigned char *salt, size_t salt_len,
                  unsigned log_n, unsigned r, unsigned p, unsigned char *out, size_t out_len)
{
    uint64_t n = (uint64_t)1 << log_n, maxmem = MAX_MEM + 1024 * 1024;
    uint32_t r32 = r, p32 = p;
    int rc = ORCHARD_EIO;
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *kctx = NULL;
    OSSL_PARAM params[] = {
        /* An empty password is valid input to scrypt; OpenSSL wants a pointer. */
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)(pw ? pw : ""),
                                          pw_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r32),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p32),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };

    if (!(kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL)) || !(kctx = EVP_KDF_CTX_new(kdf)))
        goto cleanup;
    slot_take();
    g_atomic_int_inc(&kdf_runs);
    if (EVP_KDF_derive(kctx, out, out_len, params) == 1)
        rc = 0;
    slot_give();
cleanup:
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rc;
}

/* Standard base64 without padding (passlib's and PHC's habit). g_free. */
static char *b64_encode(const unsigned char *data, size_t len)
{
    char *s = g_base64_encode(data, len);
    char *eq = strchr(s, '=');
    if (eq)
        *eq = '\0';
    return s;
}

/* Decode unpadded base64 of exactly the alphabet into out (out_max bytes).
 * Returns the length, or -1. */
static long b64_decode(const char *s, size_t n, unsigned char *out, size_t out_max)
{
    if (n == 0 || n % 4 == 1 || n > 128)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(s[i]) && s[i] != '+' && s[i] != '/')
            return -1;
    char padded[136];
    memcpy(padded, s, n);
    while (n % 4)
        padded[n++] = '=';
    padded[n] = '\0';
    gsize len = 0;
    g_autofree guchar *raw = g_base64_decode(padded, &len);
    if (!raw || len > out_max)
        return -1;
    memcpy(out, raw, len);
    return (long)len;
}

int orchard_password_hash(const char *password, size_t len, char **encoded)
{
    unsigned char salt[SALT_LEN], hash[HASH_LEN];
    *encoded = NULL;
    if (RAND_bytes(salt, sizeof salt) != 1)
        return ORCHARD_EIO;
    int rc = scrypt(password, len, salt, sizeof salt, LOG_N, BLOCK_R, PARALLEL_P, hash,
                    sizeof hash);
    if (rc == 0) {
        g_autofree char *s = b64_encode(salt, sizeof salt);
        g_autofree char *h = b64_encode(hash, sizeof hash);
        *encoded = g_strdup_printf("$scrypt$ln=%d,r=%d,p=%d$%s$%s", LOG_N, BLOCK_R, PARALLEL_P,
                                   s, h);
    }
    OPENSSL_cleanse(hash, sizeof hash);
    return rc;
}

typedef struct {
    unsigned log_n, r, p;
    unsigned char salt[64], hash[64];
    size_t salt_len, hash_len;
} parsed_hash;

/* "$scrypt$ln=L,r=R,p=P$salt$hash" with every part in bounds. */
static int parse_encoded(const char *enc, parsed_hash *ph)
{
    const char *prefix = "$scrypt$";
    int used = 0;
    if (!enc || strncmp(enc, prefix, strlen(prefix)) != 0)
        return ORCHARD_EINVAL;
    const char *p = enc + strlen(prefix);
    if (sscanf(p, "ln=%2u,r=%2u,p=%2u$%n", &ph->log_n, &ph->r, &ph->p, &used) != 3 || !used)
        return ORCHARD_EINVAL;
    if (ph->log_n < 1 || ph->log_n > 24 || ph->r < 1 || ph->r > 32 || ph->p < 1 || ph->p > 16 ||
        (uint64_t)128 * ph->r * ((uint64_t)1 << ph->log_n) > MAX_MEM)
        return ORCHARD_EINVAL;
    p += used;
    const char *dollar = strchr(p, '$');
    if (!dollar)
        return ORCHARD_EINVAL;
    long s = b64_decode(p, (size_t)(dollar - p), ph->salt, sizeof ph->salt);
    long h = b64_decode(dollar + 1, strlen(dollar + 1), ph->hash, sizeof ph->hash);
    if (s < 8 || h < 16)
        return ORCHARD_EINVAL;
    ph->salt_len = (size_t)s;
    ph->hash_len = (size_t)h;
    return 0;
}

static int verify_parsed(const char *password, size_t len, const parsed_hash *ph)
{
    unsigned char got[64];
    int rc = scrypt(password, len, ph->salt, ph->salt_len, ph->log_n, ph->r, ph->p, got,
                    ph->hash_len);
    if (rc == 0)
        rc = CRYPTO_memcmp(got, ph->hash, ph->hash_len) == 0 ? 0 : ORCHARD_EDENIED;
    OPENSSL_cleanse(got, sizeof got);
    return rc;
}

int orchard_password_verify_dummy(const char *password, size_t len)
{
    parsed_hash ph;
    if (parse_encoded(dummy_hash, &ph) != 0)
        return ORCHARD_EIO; /* a broken constant: the tests catch it */
    int rc = verify_parsed(password, len, &ph);
    return rc == ORCHARD_EIO ? rc : ORCHARD_EDENIED;
}

int orchard_password_verify(const char *password, size_t len, const char *encoded)
{
    parsed_hash ph;
    if (parse_encoded(encoded, &ph) != 0) {
        int rc = orchard_password_verify_dummy(password, len);
        return rc == ORCHARD_EIO ? rc : ORCHARD_EINVAL;
    }
    return verify_parsed(password, len, &ph);
}

const char *orchard_password_weakness(const char *password, size_t len)
{
    int digit = 0, symbol = 0;
    if (!password || memchr(password, '\0', len))
        return "a password cannot hold a NUL byte";
    if (!g_utf8_validate(password, (gssize)len, NULL))
        return "a password must be UTF-8 text";
    glong chars = g_utf8_strlen(password, (gssize)len);
    if (chars < ORCHARD_PASSWORD_MIN_CHARS || chars > ORCHARD_PASSWORD_MAX_CHARS)
        return "a password must be 12 to 48 characters long";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)password[i];
        if (c < 0x20 || c == 0x7f)
            return "a password cannot hold control characters";
        digit |= g_ascii_isdigit(c);
        symbol |= c < 0x80 && !g_ascii_isalnum(c) && c != ' ';
        symbol |= c >= 0x80;
    }
    if (!digit || !symbol)
        return "a password must hold at least one digit and one symbol";
    return NULL;
}

/* One uniform index below n (n <= 256) from the pool, by rejection so no
 * character is likelier than another; -1 when the pool ran dry. */
static int pick(const unsigned char *pool, size_t pool_len, size_t *at, unsigned n)
{
    unsigned limit = 256 - 256 % n;
    while (*at < pool_len) {
        unsigned v = pool[(*at)++];
        if (v < limit)
            return (int)(v % n);
    }
    return -1;
}

char *orchard_password_generate(void)
{
    static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    static const char symbols[] = "-_.!@#%+=";
    enum { LEN = 24 };
    unsigned char pool[256];
    size_t at = 0;
    char *pw = g_malloc0(LEN + 1);
    int ok = RAND_bytes(pool, sizeof pool) == 1;
    /* 24 characters from 57 (~140 bits); then one position holds a digit
     * and another a symbol, so the rule always holds. */
    for (size_t i = 0; ok && i < LEN; i++) {
        int k = pick(pool, sizeof pool, &at, sizeof alphabet - 1);
        ok = k >= 0;
        pw[i] = ok ? alphabet[k] : '\0';
    }
    int d = ok ? pick(pool, sizeof pool, &at, 8) : -1;
    int dpos = ok ? pick(pool, sizeof pool, &at, LEN / 2) : -1;
    int s = ok ? pick(pool, sizeof pool, &at, sizeof symbols - 1) : -1;
    int spos = ok ? pick(pool, sizeof pool, &at, LEN / 2) : -1;
    OPENSSL_cleanse(pool, sizeof pool);
    if (d < 0 || dpos < 0 || s < 0 || spos < 0) {
        OPENSSL_cleanse(pw, LEN);
        g_free(pw);
        return NULL;
    }
    pw[dpos] = (char)('2' + d);
    pw[LEN / 2 + spos] = symbols[s];
    return pw;
}
