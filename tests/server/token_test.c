/* server_token: decrypting Apple Business Manager tokens (dep/abm_token.c)
 * made with `openssl smime -encrypt`: CRLF and LF messages, the wrong key,
 * broken contents, caps, and no secret in any message. */
#include "server_plugin/dep/abm_token.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/suites.h"

#include <orchard/plugin.h>

#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

static X509 *bm_cert, *bm2_cert;
static EVP_PKEY *bm_key;

static X509 *read_cert(const char *name)
{
    g_autofree char *pem = mdmfx_read(name);
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return x;
}

static int suite_init(void)
{
    if (mdmfx_setup())
        return -1;
    g_autofree char *pem = mdmfx_read("bm.key");
    BIO *bio = BIO_new_mem_buf(pem, -1);
    bm_key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    bm_cert = read_cert("bm.crt");
    bm2_cert = read_cert("bm2.crt");
    return bm_key && bm_cert && bm2_cert ? 0 : -1;
}

static int suite_cleanup(void)
{
    EVP_PKEY_free(bm_key);
    X509_free(bm_cert);
    X509_free(bm2_cert);
    return mdmfx_teardown();
}

/* Decrypt fixture `name` with the ABM pair (or `cert`); *err g_free. */
static int decrypt_with(const char *name, X509 *cert, orchard_abm_token **out, char **err)
{
    g_autofree char *p = mdmfx_path(name);
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(p, &data, &len, NULL))
        return -999;
    return orchard_abm_token_decrypt(data, len, cert, bm_key, "mdm.apple_bm_server_token",
                                     "mdm.apple_bm_key", out, err);
}

/* The message is there and shows no secret. */
static void assert_message(const char *err, const char *expect)
{
    const char *secrets[] = {MDMFX_CONSUMER_KEY, MDMFX_CONSUMER_SECRET, MDMFX_ACCESS_TOKEN,
                             MDMFX_ACCESS_SECRET};
    if (!err || !strstr(err, expect))
        fprintf(stderr, "\n  expected \"%s\" in \"%s\"\n", expect, err ? err : "(null)");
    CU_ASSERT(err && strstr(err, expect));
    for (size_t i = 0; err && i < G_N_ELEMENTS(secrets); i++)
        CU_ASSERT_PTR_NULL(strstr(err, secrets[i]));
}

static void assert_good(orchard_abm_token *t, gint64 expiry)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->consumer_key, MDMFX_CONSUMER_KEY);
    CU_ASSERT_STRING_EQUAL(t->consumer_secret, MDMFX_CONSUMER_SECRET);
    CU_ASSERT_STRING_EQUAL(t->access_token, MDMFX_ACCESS_TOKEN);
    CU_ASSERT_STRING_EQUAL(t->access_secret, MDMFX_ACCESS_SECRET);
    CU_ASSERT_EQUAL(t->expiry, expiry);
}

static void test_decrypt_crlf_message(void)
{
    orchard_abm_token *t = NULL;
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(decrypt_with("token.p7m", bm_cert, &t, &err), 0);
    assert_good(t, mdmfx_state.token_expiry);
    orchard_abm_token_free(t);
}

static void test_decrypt_lf_message(void)
{
    orchard_abm_token *t = NULL;
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(decrypt_with("token_lf.p7m", bm_cert, &t, &err), 0);
    assert_good(t, mdmfx_state.token_expiry);
    orchard_abm_token_free(t);
}

static void test_decrypt_crlf_file(void)
{
    orchard_abm_token *t = NULL;
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(decrypt_with("token_crlf_file.p7m", bm_cert, &t, &err), 0);
    assert_good(t, mdmfx_state.token_expiry);
    orchard_abm_token_free(t);
}

static void test_expiry_with_offset(void)
{
    orchard_abm_token *t = NULL;
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(decrypt_with("token_offset.p7m", bm_cert, &t, &err), 0);
    /* 2031-03-04T05:06:07+02:00 = 03:06:07Z */
    g_autoptr(GDateTime) dt = g_date_time_new_utc(2031, 3, 4, 3, 6, 7);
    assert_good(t, g_date_time_to_unix(dt));
    CU_ASSERT_STRING_EQUAL(t->access_token_expiry, "2031-03-04T05:06:07+02:00");
    orchard_abm_token_free(t);
}

static void test_expired_token_still_decrypts(void)
{
    /* Expiry is config/'s decision: the token itself is readable. */
    orchard_abm_token *t = NULL;
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(decrypt_with("token_expired.p7m", bm_cert, &t, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT(t->expiry < g_get_real_time() / G_USEC_PER_SEC);
    orchard_abm_token_free(t);
}

static void test_other_key(void)
{
    orchard_abm_token *t = NULL;
    g_autofree char *err = NULL, *err2 = NULL;
    CU_ASSERT_EQUAL(decrypt_with("token_other.p7m", bm_cert, &t, &err), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(t);
    assert_message(err, "mdm.apple_bm_server_token does not decrypt with mdm.apple_bm_key");
    /* Naming the right recipient with the wrong key fails the same way. */
    CU_ASSERT_EQUAL(decrypt_with("token_other.p7m", bm2_cert, &t, &err2), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(t);
    assert_message(err2, "does not decrypt with mdm.apple_bm_key");
}

typedef struct {
    const char *file;
    int code;
    const char *expect;
} bad_token;

static void test_bad_tokens(void)
{
    static const bad_token cases[] = {
        {"not_smime.p7m", ORCHARD_EINVAL, "mdm.apple_bm_server_token: not an S/MIME"},
        {"bm.crt", ORCHARD_EINVAL, "not an S/MIME"},
        {"token.txt", ORCHARD_EINVAL, "not an S/MIME"},
        {"token_no_message.p7m", ORCHARD_EINVAL, "has no -----BEGIN MESSAGE-----"},
        {"token_bad_json.p7m", ORCHARD_EINVAL, "MESSAGE block is not a JSON object"},
        {"token_missing.p7m", ORCHARD_EINVAL, "has no \"access_secret\" string"},
        {"token_bad_expiry.p7m", ORCHARD_EINVAL, "access_token_expiry \"next summer\" is not an "
                                                 "RFC 3339 time"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        orchard_abm_token *t = NULL;
        g_autofree char *err = NULL;
        int rc = decrypt_with(cases[i].file, bm_cert, &t, &err);
        if (rc != cases[i].code)
            fprintf(stderr, "\n  %s: rc %d (%s)\n", cases[i].file, rc, err ? err : "");
        CU_ASSERT_EQUAL(rc, cases[i].code);
        CU_ASSERT_PTR_NULL(t);
        assert_message(err, cases[i].expect);
    }
}

static void test_empty_and_truncated(void)
{
    orchard_abm_token *t = NULL;
    g_autofree char *err = NULL, *err2 = NULL;
    CU_ASSERT_EQUAL(orchard_abm_token_decrypt("", 0, bm_cert, bm_key, "tok", "key", &t, &err),
                    ORCHARD_EINVAL);
    assert_message(err, "tok: not an S/MIME");
    g_autofree char *data = mdmfx_read("token.p7m");
    CU_ASSERT_EQUAL(orchard_abm_token_decrypt(data, strlen(data) / 2, bm_cert, bm_key, "tok",
                                              "key", &t, &err2), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_PTR_NOT_NULL(err2);
}

static void test_size_cap(void)
{
    size_t n = ORCHARD_ABM_TOKEN_MAX_BYTES + 1;
    char *big = g_malloc(n);
    memset(big, 'A', n);
    orchard_abm_token *t = NULL;
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(orchard_abm_token_decrypt(big, n, bm_cert, bm_key, "tok", "key", &t, &err),
                    ORCHARD_ETOOBIG);
    CU_ASSERT_PTR_NULL(t);
    assert_message(err, "tok: larger than");
    g_free(big);
    orchard_abm_token_free(NULL);
}

void server_token_suite(void)
{
    ORCHARD_ADD_SUITE("server_token", suite_init, suite_cleanup,
                      {"decrypt_crlf_message", test_decrypt_crlf_message},
                      {"decrypt_lf_message", test_decrypt_lf_message},
                      {"decrypt_crlf_file", test_decrypt_crlf_file},
                      {"expiry_with_offset", test_expiry_with_offset},
                      {"expired_token_still_decrypts", test_expired_token_still_decrypts},
                      {"other_key", test_other_key},
                      {"bad_tokens", test_bad_tokens},
                      {"empty_and_truncated", test_empty_and_truncated},
                      {"size_cap", test_size_cap});
}
