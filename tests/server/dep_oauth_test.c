/* dep_oauth: OAuth 1.0a HMAC-SHA1 signing (server_plugin/dep/dep_oauth.c)
 * against OAuth Core 1.0's Appendix A worked example, the percent-encoding's
 * edge cases, base URI normalization, and hostile URLs and sizes. */
#include "server_plugin/dep/dep_oauth.h"
#include "tests/suites.h"

#include <orchard/plugin.h>

#include <string.h>

/* OAuth Core 1.0, Appendix A. */
#define A_URL "http://photos.example.net/photos?file=vacation.jpg&size=original"
#define A_BASE                                                                             \
    "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key" \
    "%3Ddpf43f3p2l4k3l03%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-" \
    "SHA1%26oauth_timestamp%3D1191242096%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version"  \
    "%3D1.0%26size%3Doriginal"
#define A_SIG "tR3+Ty81lMeYAr/Fid0kMTYa/WM="
/* Computed with Python's hmac and base64 (test_key_encoding). */
#define KEY_ENC_SIG "b765sQ5TFlcSJ6RJ2MmZPmAxV2g="
#define EMPTY_KEY_SIG "46oiWS5O0HupeFp7X6QE7iPYwCQ="

static const orchard_oauth_creds a_creds = {
    .consumer_key = "dpf43f3p2l4k3l03",
    .consumer_secret = "kd94hf93k423kf44",
    .token = "nnch734d00sl2jdk",
    .token_secret = "pfkkdhi9sl3r4s00",
};

static void test_appendix_a_base_string(void)
{
    const orchard_oauth_param ps[] = {
        {"oauth_consumer_key", "dpf43f3p2l4k3l03"}, {"oauth_token", "nnch734d00sl2jdk"},
        {"oauth_signature_method", "HMAC-SHA1"},    {"oauth_timestamp", "1191242096"},
        {"oauth_nonce", "kllo9940pd9333jh"},        {"oauth_version", "1.0"},
    };
    g_autofree char *base = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_oauth_base_string("GET", A_URL, ps, G_N_ELEMENTS(ps), &base),
                          0);
    CU_ASSERT_STRING_EQUAL(base, A_BASE);
}

static void test_appendix_a_signature(void)
{
    g_autofree char *sig = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_oauth_signature(A_BASE, a_creds.consumer_secret,
                                                  a_creds.token_secret, &sig), 0);
    CU_ASSERT_STRING_EQUAL(sig, A_SIG);
    /* One byte of the key changed changes it. */
    g_autofree char *other = NULL;
    CU_ASSERT_EQUAL(orchard_oauth_signature(A_BASE, "kd94hf93k423kf45", a_creds.token_secret,
                                            &other), 0);
    CU_ASSERT_STRING_NOT_EQUAL(other, A_SIG);
}

static void test_appendix_a_header(void)
{
    g_autofree char *h = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_oauth_header(&a_creds, "GET", A_URL, 1191242096,
                                               "kllo9940pd9333jh", &h), 0);
    CU_ASSERT_STRING_EQUAL(h, "OAuth realm=\"ADM\", oauth_consumer_key=\"dpf43f3p2l4k3l03\", "
                              "oauth_token=\"nnch734d00sl2jdk\", "
                              "oauth_signature_method=\"HMAC-SHA1\", "
                              "oauth_signature=\"tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3D\", "
                              "oauth_timestamp=\"1191242096\", oauth_nonce=\"kllo9940pd9333jh\", "
                              "oauth_version=\"1.0\"");
}

/* A header made now: a fresh nonce each time, the current time, no secret in it. */
static void test_header_fresh_nonce(void)
{
    g_autofree char *h1 = NULL, *h2 = NULL;
    gint64 before = g_get_real_time() / G_USEC_PER_SEC;
    CU_ASSERT_EQUAL_FATAL(orchard_oauth_header(&a_creds, "GET", "https://x.test/session", 0,
                                               NULL, &h1), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_oauth_header(&a_creds, "GET", "https://x.test/session", 0,
                                               NULL, &h2), 0);
    const char *n1 = strstr(h1, "oauth_nonce=\""), *n2 = strstr(h2, "oauth_nonce=\"");
    CU_ASSERT_FATAL(n1 && n2);
    CU_ASSERT_EQUAL(strcspn(n1 + 13, "\""), 32);
    CU_ASSERT_NOT_EQUAL(strncmp(n1, n2, 13 + 32), 0);
    const char *ts = strstr(h1, "oauth_timestamp=\"");
    CU_ASSERT_FATAL(ts != NULL);
    gint64 t = g_ascii_strtoll(ts + 17, NULL, 10);
    CU_ASSERT(t >= before && t <= before + 5);
    CU_ASSERT_PTR_NULL(strstr(h1, a_creds.consumer_secret));
    CU_ASSERT_PTR_NULL(strstr(h1, a_creds.token_secret));
}

static void test_nonce(void)
{
    char a[33], b[33];
    CU_ASSERT_EQUAL_FATAL(orchard_oauth_nonce(a), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_oauth_nonce(b), 0);
    CU_ASSERT_EQUAL(strlen(a), 32);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    for (size_t i = 0; i < 32; i++)
        CU_ASSERT(g_ascii_isxdigit(a[i]) && !g_ascii_isupper(a[i]));
}

static void expect_enc(const char *in, size_t len, const char *want)
{
    g_autofree char *got = orchard_oauth_encode(in, len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  encode: got %s, want %s\n", got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
}

static void test_encoding(void)
{
    expect_enc("", 0, "");
    expect_enc("abcXYZ019-._~", 13, "abcXYZ019-._~");
    expect_enc("a b", 3, "a%20b"); /* a space is %20, never '+' */
    expect_enc("+", 1, "%2B");
    expect_enc("*", 1, "%2A");
    expect_enc("~", 1, "~");
    expect_enc("%", 1, "%25");
    expect_enc("=&/?:#[]@!$'(),;", 16, "%3D%26%2F%3F%3A%23%5B%5D%40%21%24%27%28%29%2C%3B");
    expect_enc("\xc3\xa9", 2, "%C3%A9");                 /* é: UTF-8 bytes, upper-case hex */
    expect_enc("\xe2\x82\xac", 3, "%E2%82%AC");          /* € */
    expect_enc("\xf0\x9f\x8d\x8e", 4, "%F0%9F%8D%8E");   /* 🍎 */
    expect_enc("a\0b", 3, "a%00b");                      /* length, not NUL, ends it */
    expect_enc("\x7f\x80\xff", 3, "%7F%80%FF");
    CU_ASSERT_PTR_NULL(orchard_oauth_encode("x", ORCHARD_OAUTH_INPUT_MAX + 1));
    CU_ASSERT_PTR_NULL(orchard_oauth_encode(NULL, 1));
}

static void expect_uri(const char *url, const char *want)
{
    g_autofree char *got = NULL;
    int rc = orchard_oauth_base_uri(url, &got);
    if (!want) {
        CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
        CU_ASSERT_PTR_NULL(got);
        return;
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  base uri of %s: got %s, want %s\n", url, got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
}

static void test_base_uri(void)
{
    expect_uri("HTTPS://MDMEnrollment.Apple.COM/session", "https://mdmenrollment.apple.com/session");
    expect_uri("https://example.com:443/session", "https://example.com/session");
    expect_uri("http://example.com:80/r%20v/X?id=123", "http://example.com/r%20v/X");
    expect_uri("http://example.com:8080/a#frag", "http://example.com:8080/a");
    expect_uri("https://example.com:80/", "https://example.com:80/");
    expect_uri("http://127.0.0.1:39001/session", "http://127.0.0.1:39001/session");
    expect_uri("http://example.com", "http://example.com/");
    expect_uri("http://example.com?x=1", "http://example.com/");
    expect_uri("http://[::1]:8443/s", "http://[::1]:8443/s");
    expect_uri("http://[::1]/s", "http://[::1]/s");
    /* Not URLs we sign. */
    expect_uri(NULL, NULL);
    expect_uri("", NULL);
    expect_uri("ftp://example.com/", NULL);
    expect_uri("example.com/session", NULL);
    expect_uri("http:///session", NULL);
    expect_uri("http://user:pw@example.com/", NULL);
    expect_uri("http://example.com:/", NULL);
    expect_uri("http://example.com:0/", NULL);
    expect_uri("http://example.com:65536/", NULL);
    expect_uri("http://example.com:123456/", NULL);
    expect_uri("http://example.com:8x/", NULL);
    expect_uri("http://[::1/", NULL);
    expect_uri("http://[::1]x/", NULL);
    expect_uri("http://exa mple.com/", NULL);
    expect_uri("http://example.com/a b", NULL);
    expect_uri("http://example.com/a\r\nX: y", NULL);
}

/* Query parameters are decoded, then encoded the OAuth way, and sorted by
 * name then value (RFC 5849 §3.4.1.3.2's ordering, duplicates kept). */
static void test_normalization(void)
{
    const orchard_oauth_param ps[] = {{"b", "2 two"}, {"a", NULL}, {"a", "z"}};
    g_autofree char *base = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_oauth_base_string("POST", "https://Ex.com/p?c=%7e+x&a=y&&a=",
                                                    ps, G_N_ELEMENTS(ps), &base), 0);
    /* a= a= a=y a=z b=2%20two c=~%20x, then encoded once more. */
    CU_ASSERT_STRING_EQUAL(base, "POST&https%3A%2F%2Fex.com%2Fp&a%3D%26a%3D%26a%3Dy%26a%3Dz%26"
                                 "b%3D2%2520two%26c%3D~%2520x");
    /* Sorting is by encoded bytes: "A" < "a", "a1" < "a=" is not the question. */
    const orchard_oauth_param qs[] = {{"a", "1"}, {"A", "1"}, {"a1", "1"}};
    g_autofree char *b2 = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_oauth_base_string("GET", "http://h/", qs, 3, &b2), 0);
    CU_ASSERT_STRING_EQUAL(b2, "GET&http%3A%2F%2Fh%2F&A%3D1%26a%3D1%26a1%3D1");
    /* A UTF-8 value and a parameter named with a reserved character. */
    const orchard_oauth_param us[] = {{"n&m", "\xc3\xa9"}};
    g_autofree char *b3 = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_oauth_base_string("GET", "http://h/", us, 1, &b3), 0);
    CU_ASSERT_STRING_EQUAL(b3, "GET&http%3A%2F%2Fh%2F&n%2526m%3D%25C3%25A9");
}

static void test_hostile(void)
{
    g_autofree char *out = NULL;
    const orchard_oauth_param p = {"a", "b"};
    CU_ASSERT_EQUAL(orchard_oauth_base_string("get", "http://h/", &p, 1, &out), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_oauth_base_string("", "http://h/", &p, 1, &out), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_oauth_base_string(NULL, "http://h/", &p, 1, &out), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_oauth_base_string("GET&X", "http://h/", &p, 1, &out),
                    ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_oauth_base_string("GET", "http://h/?a=%", NULL, 0, &out),
                    ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_oauth_base_string("GET", "http://h/?a=%4", NULL, 0, &out),
                    ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_oauth_base_string("GET", "http://h/?a=%G0", NULL, 0, &out),
                    ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_oauth_base_string("GET", "http://h/?%zz=1", NULL, 0, &out),
                    ORCHARD_EINVAL);
    const orchard_oauth_param noname = {NULL, "b"};
    CU_ASSERT_EQUAL(orchard_oauth_base_string("GET", "http://h/", &noname, 1, &out),
                    ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(out);
    /* %00 in the query is a byte like any other. */
    CU_ASSERT_EQUAL(orchard_oauth_base_string("GET", "http://h/?a=%00", NULL, 0, &out), 0);
    CU_ASSERT_STRING_EQUAL(out, "GET&http%3A%2F%2Fh%2F&a%3D%2500");
    g_clear_pointer(&out, g_free);

    /* Over the caps: a long value, a long URL, too many parameters. */
    char *big = g_malloc(ORCHARD_OAUTH_INPUT_MAX + 2);
    memset(big, 'x', ORCHARD_OAUTH_INPUT_MAX + 1);
    big[ORCHARD_OAUTH_INPUT_MAX + 1] = '\0';
    const orchard_oauth_param bp = {"a", big};
    CU_ASSERT_EQUAL(orchard_oauth_base_string("GET", "http://h/", &bp, 1, &out), ORCHARD_EINVAL);
    g_autofree char *bigurl = g_strdup_printf("http://h/%s", big);
    CU_ASSERT_EQUAL(orchard_oauth_base_string("GET", bigurl, NULL, 0, &out), ORCHARD_EINVAL);
    g_free(big);
    GString *many = g_string_new("http://h/?");
    for (int i = 0; i < 300; i++)
        g_string_append_printf(many, "p%d=1&", i);
    CU_ASSERT_EQUAL(orchard_oauth_base_string("GET", many->str, NULL, 0, &out), ORCHARD_EINVAL);
    g_string_free(many, TRUE);
    CU_ASSERT_PTR_NULL(out);

    /* No key or token: no header. */
    orchard_oauth_creds c = a_creds;
    c.token = "";
    CU_ASSERT_EQUAL(orchard_oauth_header(&c, "GET", A_URL, 1, "n", &out), ORCHARD_EINVAL);
    c = a_creds;
    c.consumer_key = NULL;
    CU_ASSERT_EQUAL(orchard_oauth_header(&c, "GET", A_URL, 1, "n", &out), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_oauth_header(&a_creds, "GET", "nope", 1, "n", &out), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_EQUAL(orchard_oauth_signature(NULL, "a", "b", &out), ORCHARD_EINVAL);
}

/* Secrets with reserved characters are encoded into the key: this value
 * was computed with Python's hmac over the same base string and key
 * ("c%26s%2B&t%20s%C3%A9"). */
static void test_key_encoding(void)
{
    g_autofree char *sig = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_oauth_signature("GET&x&y", "c&s+", "t s\xc3\xa9", &sig), 0);
    CU_ASSERT_STRING_EQUAL(sig, KEY_ENC_SIG);
    g_autofree char *empty = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_oauth_signature("GET&x&y", NULL, NULL, &empty), 0);
    CU_ASSERT_STRING_EQUAL(empty, EMPTY_KEY_SIG);
}

void dep_oauth_suite(void)
{
    ORCHARD_ADD_SUITE("dep_oauth", NULL, NULL,
                      {"appendix_a_base_string", test_appendix_a_base_string},
                      {"appendix_a_signature", test_appendix_a_signature},
                      {"appendix_a_header", test_appendix_a_header},
                      {"header_fresh_nonce", test_header_fresh_nonce},
                      {"nonce", test_nonce},
                      {"encoding", test_encoding},
                      {"base_uri", test_base_uri},
                      {"normalization", test_normalization},
                      {"hostile", test_hostile},
                      {"key_encoding", test_key_encoding});
}
