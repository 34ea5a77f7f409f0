/* signer_cache: the DER walk that takes the certificate out of an
 * Mdm-Signature (good, missing, doubled, truncated, overlong, indefinite,
 * odd-tagged and mutated messages) and the certificate cache itself (its
 * bound and clock, a change of CA, concurrent use). The route-level checks
 * (expiry and revocation of cached certificates) are in checkin_test.c. */
#include "server_plugin/checkin/signer_cache.h"

#include "tests/suites.h"

#include <orchard/plugin.h>

#include <CUnit/CUnit.h>
#include <glib.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <string.h>

static EVP_PKEY *ca_key, *ca2_key, *dev_key;
static X509 *ca, *ca2;

/* A certificate for `key`, `cn`, issued by issuer/issuer_key (self-signed when NULL). */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       long serial)
{
    X509 *c = X509_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(c));
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400);
    X509_set_pubkey(c, key);
    X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256());
    return c;
}

/* DER of a detached CMS over "body" signed by cert/key, with `extra` added
 * (NULL: none) and without any certificate when nocerts. OPENSSL_free. */
static int sign_der(X509 *cert, EVP_PKEY *key, X509 *extra, int nocerts, unsigned char **der)
{
    BIO *in = BIO_new_mem_buf("body", 4);
    unsigned int flags = CMS_DETACHED | CMS_BINARY | (nocerts ? CMS_NOCERTS : 0);
    CMS_ContentInfo *cms = CMS_sign(cert, key, NULL, in, flags);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cms);
    if (extra)
        CU_ASSERT_EQUAL(CMS_add1_cert(cms, extra), 1);
    *der = NULL;
    int n = i2d_CMS_ContentInfo(cms, der);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    CU_ASSERT_FATAL(n > 0);
    return n;
}

static int suite_init(void)
{
    ca_key = EVP_EC_gen("P-256");
    ca2_key = EVP_EC_gen("P-256");
    dev_key = EVP_EC_gen("P-256");
    ca = make_cert("cache CA", ca_key, NULL, NULL, 1);
    ca2 = make_cert("cache CA 2", ca2_key, NULL, NULL, 1);
    orchard_signer_cache_reset(ORCHARD_SIGNER_CACHE_CAPACITY);
    return ca && ca2 && dev_key ? 0 : -1;
}

static int suite_cleanup(void)
{
    orchard_signer_cache_reset(ORCHARD_SIGNER_CACHE_CAPACITY);
    X509_free(ca);
    X509_free(ca2);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(ca2_key);
    EVP_PKEY_free(dev_key);
    return 0;
}

/* The certificate comes out byte for byte, and the rest still verifies
 * with it supplied from outside. */
static void test_signer_cache__strip_good(void)
{
    X509 *dev = make_cert("dev", dev_key, ca, ca_key, 10);
    unsigned char *der = NULL, *cder = NULL, *stripped = NULL;
    const unsigned char *cert = NULL;
    size_t slen = 0, clen = 0;
    int n = sign_der(dev, dev_key, NULL, 0, &der);
    int cn = i2d_X509(dev, &cder);

    CU_ASSERT_EQUAL_FATAL(orchard_cms_strip_certs(der, (size_t)n, &stripped, &slen, &cert, &clen),
                          0);
    CU_ASSERT_EQUAL(clen, (size_t)cn);
    CU_ASSERT(cert > der && cert + clen <= der + n);
    CU_ASSERT(memcmp(cert, cder, (size_t)cn) == 0);
    /* Shorter by the certificate, its field's header and a few length octets. */
    CU_ASSERT(slen < (size_t)n - clen && slen + 12 > (size_t)n - clen);
    const unsigned char *p = stripped;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)slen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cms);
    CU_ASSERT_PTR_EQUAL(p, stripped + slen);
    STACK_OF(X509) *inside = CMS_get1_certs(cms);
    CU_ASSERT(inside == NULL || sk_X509_num(inside) == 0);
    sk_X509_pop_free(inside, X509_free);
    STACK_OF(X509) *certs = sk_X509_new_null();
    sk_X509_push(certs, dev);
    BIO *body = BIO_new_mem_buf("body", 4);
    CU_ASSERT_EQUAL(CMS_verify(cms, certs, NULL, body, NULL,
                               CMS_DETACHED | CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY), 1);
    BIO_free(body);
    /* Over another body it does not. */
    body = BIO_new_mem_buf("bodz", 4);
    CU_ASSERT_EQUAL(CMS_verify(cms, certs, NULL, body, NULL,
                               CMS_DETACHED | CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY), 0);
    BIO_free(body);
    ERR_clear_error();
    sk_X509_free(certs);
    CMS_ContentInfo_free(cms);
    g_free(stripped);
    OPENSSL_free(cder);
    OPENSSL_free(der);
    X509_free(dev);
}

/* Without certificates: ENOTFOUND; with two: EINVAL (the caller parses whole). */
static void test_signer_cache__strip_cert_count(void)
{
    X509 *dev = make_cert("dev", dev_key, ca, ca_key, 11);
    unsigned char *der = NULL, *stripped = NULL;
    const unsigned char *cert = NULL;
    size_t slen = 0, clen = 0;
    int n = sign_der(dev, dev_key, NULL, 1, &der);
    CU_ASSERT_EQUAL(orchard_cms_strip_certs(der, (size_t)n, &stripped, &slen, &cert, &clen),
                    ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NULL(stripped);
    CU_ASSERT_PTR_NULL(cert);
    OPENSSL_free(der);
    n = sign_der(dev, dev_key, ca, 0, &der);
    CU_ASSERT_EQUAL(orchard_cms_strip_certs(der, (size_t)n, &stripped, &slen, &cert, &clen),
                    ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(stripped);
    OPENSSL_free(der);
    X509_free(dev);
}

static int strip(const unsigned char *der, size_t len)
{
    unsigned char *stripped = NULL;
    const unsigned char *cert = NULL;
    size_t slen = 0, clen = 0;
    int rc = orchard_cms_strip_certs(der, len, &stripped, &slen, &cert, &clen);
    if (rc == 0) {
        /* Whatever it accepts, it points inside what it was given. */
        CU_ASSERT(cert >= der && clen <= len && cert + clen <= der + len);
        CU_ASSERT(slen > 0 && slen <= len);
    } else {
        CU_ASSERT_PTR_NULL(stripped);
    }
    g_free(stripped);
    return rc;
}

/* Truncated at every length, lengths claiming more than there is, BER's
 * indefinite lengths, non-minimal lengths, trailing bytes, another
 * certificate choice, another content type, and every byte mutated. */
static void test_signer_cache__strip_hostile(void)
{
    X509 *dev = make_cert("dev", dev_key, ca, ca_key, 12);
    unsigned char *der = NULL;
    int n = sign_der(dev, dev_key, NULL, 0, &der);
    size_t len = (size_t)n;
    CU_ASSERT_FATAL(len > 300 && der[0] == 0x30 && der[1] == 0x82);
    CU_ASSERT_EQUAL(strip(der, len), 0);
    CU_ASSERT_EQUAL(strip(NULL, 0), ORCHARD_EINVAL);

    /* Truncated: every prefix, each in a buffer of its own size (ASan sees a read past it). */
    for (size_t i = 0; i < len; i++) {
        unsigned char *cut = g_memdup2(der, i);
        CU_ASSERT_EQUAL(strip(cut, i), ORCHARD_EINVAL);
        g_free(cut);
    }
    unsigned char *m = g_malloc(len + 8);
    /* The outer length one too long, and far too long. */
    memcpy(m, der, len);
    m[3]++;
    CU_ASSERT_EQUAL(strip(m, len), ORCHARD_EINVAL);
    memcpy(m, der, len);
    m[2] = 0xff;
    CU_ASSERT_EQUAL(strip(m, len), ORCHARD_EINVAL);
    /* Lengths of five octets and of 0xffffffff. */
    static const unsigned char huge5[] = {0x30, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00, 0x06};
    CU_ASSERT_EQUAL(strip(huge5, sizeof huge5), ORCHARD_EINVAL);
    static const unsigned char huge4[] = {0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x06, 0x00};
    CU_ASSERT_EQUAL(strip(huge4, sizeof huge4), ORCHARD_EINVAL);
    /* Indefinite length outside: 30 80 ... 00 00. */
    m[0] = 0x30;
    m[1] = 0x80;
    memcpy(m + 2, der + 4, len - 4);
    m[len - 2] = 0;
    m[len - 1] = 0;
    CU_ASSERT_EQUAL(strip(m, len), ORCHARD_EINVAL);
    /* Non-minimal: a long form holding a short length. */
    static const unsigned char nonmin[] = {0x30, 0x81, 0x05, 0x06, 0x03, 0x2a, 0x86, 0x48};
    CU_ASSERT_EQUAL(strip(nonmin, sizeof nonmin), ORCHARD_EINVAL);
    /* A byte after the message. */
    memcpy(m, der, len);
    m[len] = 0;
    CU_ASSERT_EQUAL(strip(m, len + 1), ORCHARD_EINVAL);
    /* Not SignedData (id-data). */
    memcpy(m, der, len);
    CU_ASSERT_EQUAL_FATAL(m[4], 0x06);
    m[4 + 2 + 8] = 0x01;
    CU_ASSERT_EQUAL(strip(m, len), ORCHARD_EINVAL);
    /* The certificate as another CertificateChoices ([1], a v1 attribute certificate). */
    memcpy(m, der, len);
    unsigned char *stripped = NULL;
    const unsigned char *cert = NULL;
    size_t slen = 0, clen = 0;
    CU_ASSERT_EQUAL_FATAL(orchard_cms_strip_certs(der, len, &stripped, &slen, &cert, &clen), 0);
    g_free(stripped);
    m[cert - der] = 0xa1;
    CU_ASSERT_EQUAL(strip(m, len), ORCHARD_EINVAL);
    /* Every byte flipped in turn: whatever comes back stays in bounds. */
    for (size_t i = 0; i < len; i++) {
        memcpy(m, der, len);
        m[i] ^= 0xff;
        (void)strip(m, len);
        m[i] ^= 0x7e;
        (void)strip(m, len);
    }
    g_free(m);
    OPENSSL_free(der);
    X509_free(dev);
}

static void digest_of(X509 *c, unsigned char d[32])
{
    unsigned char *der = NULL;
    int n = i2d_X509(c, &der);
    SHA256(der, (size_t)n, d);
    OPENSSL_free(der);
}

/* Found by hash with its serial, hash and validity; bounded by the clock,
 * which spares what was used since; emptied for another CA. */
static void test_signer_cache__bound_and_ca(void)
{
    enum { N = 20, CAP = 8 };
    X509 *c[N];
    unsigned char d[N][32];
    orchard_signer s;

    orchard_signer_cache_reset(CAP);
    for (int i = 0; i < N; i++) {
        c[i] = make_cert("dev", dev_key, ca, ca_key, 100 + i);
        digest_of(c[i], d[i]);
    }
    CU_ASSERT_EQUAL(orchard_signer_cache_get(ca, d[0], &s), ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NULL(s.cert);
    for (int i = 0; i < CAP; i++)
        CU_ASSERT_EQUAL(orchard_signer_cache_put(ca, d[i], c[i], NULL), 0);
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), CAP);
    /* Twice is once. */
    CU_ASSERT_EQUAL(orchard_signer_cache_put(ca, d[0], c[0], NULL), 0);
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), CAP);
    CU_ASSERT_EQUAL_FATAL(orchard_signer_cache_get(ca, d[0], &s), 0);
    CU_ASSERT_EQUAL(X509_cmp(s.cert, c[0]), 0);
    CU_ASSERT_STRING_EQUAL(s.serial, "64"); /* 100 */
    CU_ASSERT_EQUAL(strlen(s.sha256), 64);
    CU_ASSERT(s.not_after > s.not_before);
    CU_ASSERT(s.not_after - s.not_before <= 86400 + 3600);
    orchard_signer_clear(&s);
    /* One more: #0 was used since, #1 was not and goes. */
    CU_ASSERT_EQUAL(orchard_signer_cache_put(ca, d[CAP], c[CAP], NULL), 0);
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), CAP);
    CU_ASSERT_EQUAL(orchard_signer_cache_get(ca, d[0], &s), 0);
    orchard_signer_clear(&s);
    CU_ASSERT_EQUAL(orchard_signer_cache_get(ca, d[1], &s), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_signer_cache_get(ca, d[CAP], &s), 0);
    orchard_signer_clear(&s);
    /* Far more than it holds. */
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(orchard_signer_cache_put(ca, d[i], c[i], NULL), 0);
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), CAP);
    int found = 0;
    for (int i = 0; i < N; i++) {
        if (orchard_signer_cache_get(ca, d[i], &s) == 0)
            found++;
        orchard_signer_clear(&s);
    }
    CU_ASSERT_EQUAL(found, CAP);
    /* Asked about another CA: nothing verified against the first counts. */
    CU_ASSERT_EQUAL(orchard_signer_cache_get(ca2, d[N - 1], &s), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), 0);
    CU_ASSERT_EQUAL(orchard_signer_cache_get(ca, d[N - 1], &s), ORCHARD_ENOTFOUND);
    /* A copy of the same CA (a configuration reload) keeps them. */
    CU_ASSERT_EQUAL(orchard_signer_cache_put(ca, d[0], c[0], NULL), 0);
    X509 *same = X509_dup(ca);
    CU_ASSERT_EQUAL(orchard_signer_cache_get(same, d[0], &s), 0);
    orchard_signer_clear(&s);
    X509_free(same);
    CU_ASSERT_EQUAL(orchard_signer_cache_get(NULL, d[0], &s), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_signer_cache_put(NULL, d[0], c[0], &s), ORCHARD_EIO);
    for (int i = 0; i < N; i++)
        X509_free(c[i]);
    orchard_signer_cache_reset(ORCHARD_SIGNER_CACHE_CAPACITY);
}

enum { THREADS = 4, ROUNDS = 3000, CERTS = 24, TCAP = 10 };
static X509 *tc[CERTS];
static unsigned char td[CERTS][32];

static gpointer hammer(gpointer arg)
{
    guint seed = GPOINTER_TO_UINT(arg);
    int bad = 0;
    for (int r = 0; r < ROUNDS; r++) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 8) % CERTS);
        orchard_signer s;
        if (orchard_signer_cache_get(ca, td[i], &s) == 0) {
            /* What comes back is the certificate asked for, whole. */
            bad += X509_cmp(s.cert, tc[i]) != 0 || strlen(s.sha256) != 64;
            orchard_signer_clear(&s);
        } else if (orchard_signer_cache_put(ca, td[i], tc[i], &s) != 0) {
            bad++;
        } else {
            /* Its copy stays whole whatever the others evict meanwhile. */
            bad += X509_cmp(s.cert, tc[i]) != 0 || s.sha256[0] == '\0';
            orchard_signer_clear(&s);
        }
    }
    return GINT_TO_POINTER(bad);
}

/* Several threads looking up and inserting over a cache too small for
 * their certificates (evictions all along). */
static void test_signer_cache__threads(void)
{
    GThread *t[THREADS];
    orchard_signer_cache_reset(TCAP);
    for (int i = 0; i < CERTS; i++) {
        tc[i] = make_cert("dev", dev_key, ca, ca_key, 500 + i);
        digest_of(tc[i], td[i]);
    }
    for (int i = 0; i < THREADS; i++)
        t[i] = g_thread_new("signer-cache", hammer, GUINT_TO_POINTER(i + 1));
    int bad = 0;
    for (int i = 0; i < THREADS; i++)
        bad += GPOINTER_TO_INT(g_thread_join(t[i]));
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(orchard_signer_cache_count(), TCAP);
    for (int i = 0; i < CERTS; i++)
        X509_free(tc[i]);
    orchard_signer_cache_reset(ORCHARD_SIGNER_CACHE_CAPACITY);
}

void signer_cache_suite(void)
{
    ORCHARD_ADD_SUITE("signer_cache", suite_init, suite_cleanup,
                      {"strip_good", test_signer_cache__strip_good},
                      {"strip_cert_count", test_signer_cache__strip_cert_count},
                      {"strip_hostile", test_signer_cache__strip_hostile},
                      {"bound_and_ca", test_signer_cache__bound_and_ca},
                      {"threads", test_signer_cache__threads});
}
