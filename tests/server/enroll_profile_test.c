/* enroll_profile: the enrollment profile builder (enroll/profile.c) on its
 * own. The XML read back with libplist and judged key by key against
 * docs/protocols.md §7 (enroll_fixture.c) and by xmllint; fresh UUIDs each time;
 * hostile values escaped or refused; signing checked by the openssl CLI;
 * the download's file name. The route that serves it is enroll_test.c's. */
#include "tests/server/enroll_fixture.h"
#include "server_plugin/config/mdm_config.h"
#include "server_plugin/enroll/profile.h"
#include "server_plugin/crypto/x509_util.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <openssl/pem.h>
#include <plist/plist.h>
#include <stdio.h>
#include <string.h>

#define BASE "https://mdm.example.com"
#define TOPIC "com.apple.mgmt.External.1d2c3b4a-0000-4000-8000-0123456789ab"
/* A value that would close the string and add a payload if pasted into a
 * template. */
#define INJECTION "</string></dict><dict><key>PayloadType</key><string>com.apple.mdm</string>" \
                  "<key>ServerURL</key><string>https://evil.example"

/* ---- small helpers ------------------------------------------------------- */

static orchard_enroll_profile_params params(const char *org, const char *challenge)
{
    orchard_enroll_profile_params p = {BASE, org, TOPIC, challenge};
    return p;
}

/* Build the XML for p; CU-fails and returns NULL on error. g_free. */
static char *build_xml(const orchard_enroll_profile_params *p, size_t *len)
{
    char *xml = NULL;
    g_autofree char *err = NULL;
    size_t n = 0;
    int rc = orchard_enroll_profile_xml(p, &xml, &n, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  profile: %s\n", err ? err : "(no message)");
    else
        CU_ASSERT_EQUAL(n, strlen(xml));
    if (len)
        *len = n;
    return xml;
}

/* xmllint (libxml2, another parser than libplist's) accepts the text. */
static void check_xmllint(const char *xml, size_t len)
{
    g_autofree char *lint = g_find_program_in_path("xmllint");
    if (!lint)
        return; /* libplist's parse above is the check then */
    g_autofree char *p = tmp_path("lint.xml");
    CU_ASSERT_FATAL(g_file_set_contents(p, xml, (gssize)len, NULL));
    g_autofree char *err = NULL;
    int rc = RUN(NULL, &err, lint, "--noout", "--nonet", p);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  xmllint: %s\n", err ? err : "");
}

/* ---- the profile ------------------------------------------------------------- */

static void test_profile__layout(void)
{
    orchard_enroll_profile_params p = params("Acme", "chal-123");
    size_t len = 0;
    g_autofree char *xml = build_xml(&p, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    plist_t root = parse_xml(xml, len);
    expected e = {BASE, "Acme", TOPIC, "chal-123", {0}};
    check_profile(root, &e);
    plist_free(root);
    check_xmllint(xml, len);
    CU_ASSERT(g_str_has_prefix(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
}

static void test_profile__fresh_uuids(void)
{
    orchard_enroll_profile_params p = params("Acme", "chal-123");
    size_t l1 = 0, l2 = 0;
    g_autofree char *a = build_xml(&p, &l1);
    g_autofree char *b = build_xml(&p, &l2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    plist_t ra = parse_xml(a, l1), rb = parse_xml(b, l2);
    expected ea = {BASE, "Acme", TOPIC, "chal-123", {0}}, eb = ea;
    check_profile(ra, &ea);
    check_profile(rb, &eb);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            CU_ASSERT(strcmp(ea.uuids[i], eb.uuids[j]) != 0);
    plist_free(ra);
    plist_free(rb);
}

/* A hostile org name (docs/protocols.md §12) comes out escaped and round-trips. */
static void test_profile__hostile_org_escaped(void)
{
    const char *orgs[] = {HOSTILE_ORG, INJECTION, "O'Brien &amp; Co", "<![CDATA[x]]>",
                          "Caf\xc3\xa9 \xe2\x80\x94 M\xc3\xbcller", "a\tb\nc"};
    for (size_t i = 0; i < G_N_ELEMENTS(orgs); i++) {
        orchard_enroll_profile_params p = params(orgs[i], "chal-123");
        size_t len = 0;
        g_autofree char *xml = build_xml(&p, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
        CU_ASSERT(!strstr(xml, "<Sons>"));
        CU_ASSERT(!strstr(xml, "</string></dict><dict>"));
        if (i == 0)
            CU_ASSERT(contains(xml, "Acme &amp; &lt;Sons&gt; \"Ltd\" ]]&gt;"));
        plist_t root = parse_xml(xml, len);
        expected e = {BASE, orgs[i], TOPIC, "chal-123", {0}};
        check_profile(root, &e);
        plist_free(root);
        check_xmllint(xml, len);
    }
}

static void test_profile__hostile_challenge_escaped(void)
{
    const char *challenge = "]]><!-- " INJECTION " & &amp; <x/>";
    orchard_enroll_profile_params p = params(HOSTILE_ORG, challenge);
    size_t len = 0;
    g_autofree char *xml = build_xml(&p, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    CU_ASSERT(!strstr(xml, "<x/>"));
    CU_ASSERT(!strstr(xml, "<!--"));
    plist_t root = parse_xml(xml, len);
    expected e = {BASE, HOSTILE_ORG, TOPIC, challenge, {0}};
    check_profile(root, &e);
    plist_free(root);
    check_xmllint(xml, len);
}

/* Control characters and bad UTF-8 can't be written as XML: refused, in
 * every substituted value, with a message naming it. */
static void test_profile__control_chars_refused(void)
{
    const char *bad[] = {"a\x01z", "a\rz", "a\x1bz", "a\x7fz", "a\x1fz", "a\xffz",
                         "a\xc3z", "a\xef\xbf\xbfz", "a\xef\xbf\xbez"};
    const char *names[] = {"server URL", "org_info.org_name", "APNs topic", "SCEP challenge"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        for (size_t field = 0; field < 4; field++) {
            orchard_enroll_profile_params p = params("Acme", "chal");
            const char **slot[] = {&p.base_url, &p.org_name, &p.topic, &p.challenge};
            g_autofree char *val = field == 0 ? g_strconcat(BASE, bad[i], NULL) : g_strdup(bad[i]);
            *slot[field] = val;
            char *xml = (char *)"untouched";
            size_t len = 99;
            g_autofree char *err = NULL;
            CU_ASSERT_EQUAL(orchard_enroll_profile_xml(&p, &xml, &len, &err), ORCHARD_EINVAL);
            CU_ASSERT_PTR_NULL(xml);
            CU_ASSERT_EQUAL(len, 0);
            CU_ASSERT(contains(err, names[field]));
        }
    }
}

static void test_profile__empty_refused(void)
{
    for (size_t field = 0; field < 4; field++) {
        for (int empty = 0; empty < 2; empty++) {
            orchard_enroll_profile_params p = params("Acme", "chal");
            const char **slot[] = {&p.base_url, &p.org_name, &p.topic, &p.challenge};
            *slot[field] = empty ? "" : NULL;
            char *xml = NULL;
            size_t len = 0;
            g_autofree char *err = NULL;
            CU_ASSERT_EQUAL(orchard_enroll_profile_xml(&p, &xml, &len, &err), ORCHARD_EINVAL);
            CU_ASSERT_PTR_NULL(xml);
            CU_ASSERT(contains(err, "is empty"));
        }
    }
}
static int load_pair(const char *cert_name, const char *key_name, X509 **cert, EVP_PKEY **key)
{
    g_autofree char *cp = tmp_path(cert_name), *kp = tmp_path(key_name);
    g_autofree char *err = NULL;
    int rc = orchard_x509_load_cert(cp, NULL, "test", cert, &err);
    if (rc == 0)
        rc = orchard_x509_load_key(kp, NULL, "test", key, &err);
    return rc;
}

/* Signed: CMS SignedData that openssl verifies against the signing cert,
 * the signer's certificate inside, SHA-256, content the XML byte for byte. */
static void test_profile__signed_verifies(void)
{
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    CU_ASSERT_EQUAL_FATAL(load_pair("sign.crt", "sign.key", &cert, &key), 0);
    orchard_enroll_profile_params p = params(HOSTILE_ORG, "chal-123");
    size_t xml_len = 0, der_len = 0;
    g_autofree char *xml = build_xml(&p, &xml_len);
    unsigned char *der = NULL;
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(orchard_enroll_profile_sign(xml, xml_len, cert, key, &der, &der_len, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(der);

    gsize content_len = 0;
    g_autofree char *content = cms_verify(der, der_len, &content_len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(content);
    CU_ASSERT_EQUAL(content_len, xml_len);
    CU_ASSERT(content_len == xml_len && memcmp(content, xml, xml_len) == 0);

    /* Verifies without -certfile, so the signer's certificate is inside;
     * and the digest is SHA-256. */
    g_autofree char *printed = NULL;
    CU_ASSERT_EQUAL(RUN(&printed, NULL, "openssl", "cms", "-cmsout", "-print", "-inform", "DER",
                        "-in", "signed.mobileconfig"), 0);
    CU_ASSERT(contains(printed, "Profile Signing"));
    CU_ASSERT(contains(printed, "sha256"));
    CU_ASSERT(contains(printed, "pkcs7-signedData"));
    g_free(der);
    X509_free(cert);
    EVP_PKEY_free(key);
}

static void test_profile__sign_wrong_key(void)
{
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    CU_ASSERT_EQUAL_FATAL(load_pair("sign.crt", "other.key", &cert, &key), 0);
    unsigned char *der = (unsigned char *)"untouched";
    size_t len = 9;
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(orchard_enroll_profile_sign("<plist/>", 8, cert, key, &der, &len, &err),
                    ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(der);
    CU_ASSERT(contains(err, "does not match"));
    X509_free(cert);
    EVP_PKEY_free(key);
}

/* build(): the plain XML without a signing pair, CMS with one. */
static void test_profile__build_plain_and_signed(void)
{
    orchard_mdm_config *cfg = g_new0(orchard_mdm_config, 1);
    cfg->org_name = g_strdup("Acme");
    cfg->apns_topic = g_strdup(TOPIC);
    unsigned char *out = NULL;
    size_t len = 0;
    int is_signed = -1;
    g_autofree char *err = NULL;

    CU_ASSERT_EQUAL(orchard_enroll_profile_build(cfg, BASE, "chal-9", &out, &len, &is_signed,
                                                 &err), 0);
    CU_ASSERT_EQUAL(is_signed, 0);
    plist_t root = parse_xml((const char *)out, len);
    expected e = {BASE, "Acme", TOPIC, "chal-9", {0}};
    check_profile(root, &e);
    plist_free(root);
    g_free(out);

    CU_ASSERT_EQUAL_FATAL(load_pair("sign.crt", "sign.key", &cfg->profile_signing_cert,
                                    &cfg->profile_signing_key), 0);
    CU_ASSERT_EQUAL(orchard_enroll_profile_build(cfg, BASE, "chal-9", &out, &len, &is_signed,
                                                 &err), 0);
    CU_ASSERT_EQUAL(is_signed, 1);
    CU_ASSERT_FATAL(len > 0 && out[0] == 0x30); /* DER SEQUENCE, not XML */
    gsize content_len = 0;
    g_autofree char *content = cms_verify(out, len, &content_len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(content);
    root = parse_xml(content, content_len);
    expected e2 = {BASE, "Acme", TOPIC, "chal-9", {0}};
    check_profile(root, &e2);
    plist_free(root);
    g_free(out);
    orchard_mdm_config_free(cfg);
}

static void test_profile__filename(void)
{
    const struct {
        const char *org, *want;
    } cases[] = {
        {"Acme", "Acme-enrollment.mobileconfig"},
        {HOSTILE_ORG, "Acme-Sons-Ltd-enrollment.mobileconfig"},
        {"../../etc/passwd", "etc-passwd-enrollment.mobileconfig"},
        {"a\"b\r\nc", "a-b-c-enrollment.mobileconfig"},
        {"Caf\xc3\xa9 M\xc3\xbcller", "Caf-M-ller-enrollment.mobileconfig"},
        {"\xe6\x97\xa5\xe6\x9c\xac", "orchard-enrollment.mobileconfig"},
        {"", "orchard-enrollment.mobileconfig"},
        {NULL, "orchard-enrollment.mobileconfig"},
        {"my_org.v2", "my_org.v2-enrollment.mobileconfig"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *f = orchard_enroll_profile_filename(cases[i].org);
        CU_ASSERT_STRING_EQUAL(f, cases[i].want);
    }
    g_autofree char *long_org = g_strnfill(300, 'x');
    g_autofree char *f = orchard_enroll_profile_filename(long_org);
    CU_ASSERT(strlen(f) <= 64 + strlen("-enrollment.mobileconfig"));
}

void enroll_profile_suite(void)
{
    ORCHARD_ADD_SUITE("enroll_profile", enroll_fixture_init, enroll_fixture_cleanup,
                      {"profile__layout", test_profile__layout},
                      {"profile__fresh_uuids", test_profile__fresh_uuids},
                      {"profile__hostile_org_escaped", test_profile__hostile_org_escaped},
                      {"profile__hostile_challenge_escaped",
                       test_profile__hostile_challenge_escaped},
                      {"profile__control_chars_refused", test_profile__control_chars_refused},
                      {"profile__empty_refused", test_profile__empty_refused},
                      {"profile__signed_verifies", test_profile__signed_verifies},
                      {"profile__sign_wrong_key", test_profile__sign_wrong_key},
                      {"profile__build_plain_and_signed", test_profile__build_plain_and_signed},
                      {"profile__filename", test_profile__filename});
}
