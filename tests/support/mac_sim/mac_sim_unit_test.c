/* The Mac simulator's own parts without a server (ctest mac_sim_units): the
 * predictable identities, the state folder, the enrollment-profile and
 * command parsers against malformed, truncated and hostile input, the
 * reports it writes, and its Mdm-Signature, checked with OpenSSL's CMS_verify;
 * the profiles and OS version in mac_sim_profiles_unit_test.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <plist/plist.h>

#include "tests/support/mac_sim/mac_sim.h"
#include "tests/support/scep_client.h"

static EVP_PKEY *key;
static X509 *cert;

/* The installed profiles, OS version and managed preferences
 * (mac_sim_profiles_unit_test.c), in this suite. */
void macsim_profiles_tests(CU_pSuite s, const char *tmp, EVP_PKEY **key, X509 **cert);
/* The machine info for DEP enrollment (mac_sim_dep_unit_test.c). */
void macsim_dep_tests(CU_pSuite s);
static char tmp_dir[] = "/tmp/mac_sim_unit.XXXXXX";

static int suite_init(void)
{
    if (!mkdtemp(tmp_dir) || orchard_scepc_rsa_key(&key, 2048, NULL) ||
        orchard_scepc_self_signed(&cert, key, "/CN=mac_sim unit", NULL))
        return -1;
    return 0;
}

static int suite_cleanup(void)
{
    EVP_PKEY_free(key);
    X509_free(cert);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- identities ------------------------------------------------------------ */

static void test_mac_sim__predictable_identities(void)
{
    char udid[ORCHARD_MACSIM_UDID_LEN + 1], serial[ORCHARD_MACSIM_SERIAL_LEN + 1];
    orchard_macsim_udid(udid, 1, 0);
    CU_ASSERT_STRING_EQUAL(udid, "00000001-4D41-4353-494D-000000000000");
    orchard_macsim_udid(udid, 0xABCDEF12u, 0xFFFFFFFFu);
    CU_ASSERT_STRING_EQUAL(udid, "ABCDEF12-4D41-4353-494D-0000FFFFFFFF");
    orchard_macsim_serial(serial, 1, 42);
    CU_ASSERT_STRING_EQUAL(serial, "SIM001000042");
    orchard_macsim_serial(serial, 0x1FFFu, 1234567u); /* seed and index wrap to fit */
    CU_ASSERT_STRING_EQUAL(serial, "SIMFFF234567");
}

static void test_mac_sim__state_round_trip(void)
{
    char *dir = orchard_macsim_mac_dir(tmp_dir, 3);
    orchard_macsim_mac *m = NULL, *back = NULL;
    CU_ASSERT_FATAL(orchard_macsim_mac_new(&m, dir, 7, 3, NULL) == 0);
    m->key = key;
    m->cert = cert;
    m->server_url = strdup("https://mdm.example/mdm/apple/mdm");
    m->topic = strdup("com.apple.mgmt.x");
    CU_ASSERT_EQUAL(orchard_macsim_mac_save(m, NULL), 0);
    char kp[512];
    struct stat st;
    snprintf(kp, sizeof kp, "%s/key.pem", dir);
    CU_ASSERT(stat(kp, &st) == 0 && (st.st_mode & 0777) == 0600); /* whatever the umask */
    m->key = NULL;
    m->cert = NULL;
    CU_ASSERT_FATAL(orchard_macsim_mac_load(&back, dir, NULL) == 0);
    CU_ASSERT_STRING_EQUAL(back->udid, "00000007-4D41-4353-494D-000000000003");
    CU_ASSERT_STRING_EQUAL(back->serial, "SIM007000003");
    CU_ASSERT_EQUAL(back->index, 3);
    CU_ASSERT_EQUAL(back->seed, 7);
    CU_ASSERT_EQUAL(memcmp(back->token, m->token, sizeof m->token), 0);
    CU_ASSERT_EQUAL(memcmp(back->unlock_token, m->unlock_token, sizeof m->token), 0);
    CU_ASSERT_STRING_EQUAL(back->push_magic, m->push_magic);
    CU_ASSERT_STRING_EQUAL(back->server_url, m->server_url);
    CU_ASSERT_STRING_EQUAL(back->topic, m->topic);
    CU_ASSERT_PTR_NOT_NULL(back->key);
    CU_ASSERT_EQUAL(X509_cmp(back->cert, cert), 0);
    orchard_macsim_mac_free(back);

    /* The folder itself, and the state folder around it, list the same Mac. */
    orchard_macsim_mac **all = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL(orchard_macsim_load_all(&all, &n, dir, NULL), 0);
    CU_ASSERT_EQUAL(n, 1);
    for (size_t i = 0; i < n; i++)
        orchard_macsim_mac_free(all[i]);
    free(all);

    /* A token that is not 32 bytes of hex is refused, not half-read. */
    char path[512];
    snprintf(path, sizeof path, "%s/token", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("abcd\n", f);
    fclose(f);
    char *err = NULL;
    CU_ASSERT_EQUAL(orchard_macsim_mac_load(&back, dir, &err), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(err);
    free(err);
    orchard_macsim_mac_free(m);
    free(dir);
}

static void test_mac_sim__state_missing(void)
{
    orchard_macsim_mac *m = NULL, **all = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL(orchard_macsim_mac_load(&m, "/nonexistent/mac", NULL), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_macsim_load_all(&all, &n, "/nonexistent", NULL), ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NULL(m);
}

/* ---- the enrollment profile -------------------------------------------------- */

/* A profile's plist; `variant` breaks one thing. */
enum { P_GOOD, P_TWO_MDM, P_NO_SCEP, P_NO_CHALLENGE, P_UUID_MISMATCH, P_FLAT_SUBJECT,
       P_TINY_KEY, P_HUGE_KEY, P_NO_TOPIC, P_CONTENT_NOT_ARRAY };

static plist_t subject_rdn(const char *type, const char *value)
{
    plist_t pair = plist_new_array(), rdn = plist_new_array();
    plist_array_append_item(pair, plist_new_string(type));
    plist_array_append_item(pair, plist_new_string(value));
    plist_array_append_item(rdn, pair);
    return rdn;
}

static char *profile_xml(int variant, uint32_t *len)
{
    plist_t scep = plist_new_dict(), sc = plist_new_dict(), subj = plist_new_array();
    plist_dict_set_item(scep, "PayloadType", plist_new_string("com.apple.security.scep"));
    plist_dict_set_item(scep, "PayloadUUID", plist_new_string("AAAA-SCEP"));
    plist_dict_set_item(sc, "URL", plist_new_string("https://mdm.example/mdm/apple/scep"));
    if (variant != P_NO_CHALLENGE)
        plist_dict_set_item(sc, "Challenge", plist_new_string("s3cret"));
    plist_dict_set_item(sc, "Keysize", plist_new_uint(variant == P_TINY_KEY   ? 64
                                                      : variant == P_HUGE_KEY ? 1u << 20
                                                                              : 2048));
    if (variant == P_FLAT_SUBJECT) { /* one level too shallow, seen in the field */
        plist_t pair = plist_new_array();
        plist_array_append_item(pair, plist_new_string("O"));
        plist_array_append_item(pair, plist_new_string("Acme"));
        plist_array_append_item(subj, pair);
    } else {
        plist_array_append_item(subj, subject_rdn("O", "Acme/Sons"));
        plist_array_append_item(subj, subject_rdn("CN", "Acme Identity"));
    }
    plist_dict_set_item(sc, "Subject", subj);
    plist_dict_set_item(scep, "PayloadContent", sc);
    plist_t mdm = plist_new_dict();
    plist_dict_set_item(mdm, "PayloadType", plist_new_string("com.apple.mdm"));
    plist_dict_set_item(mdm, "ServerURL", plist_new_string("https://mdm.example/mdm/apple/mdm"));
    if (variant != P_NO_TOPIC)
        plist_dict_set_item(mdm, "Topic", plist_new_string("com.apple.mgmt.x"));
    plist_dict_set_item(mdm, "SignMessage", plist_new_bool(1));
    plist_dict_set_item(mdm, "IdentityCertificateUUID",
                        plist_new_string(variant == P_UUID_MISMATCH ? "BBBB" : "AAAA-SCEP"));
    plist_t list = plist_new_array();
    if (variant != P_NO_SCEP)
        plist_array_append_item(list, scep);
    else
        plist_free(scep);
    if (variant == P_TWO_MDM)
        plist_array_append_item(list, plist_copy(mdm));
    plist_array_append_item(list, mdm);
    plist_t root = plist_new_dict();
    plist_dict_set_item(root, "PayloadType", plist_new_string("Configuration"));
    if (variant == P_CONTENT_NOT_ARRAY) {
        plist_free(list);
        plist_dict_set_item(root, "PayloadContent", plist_new_string("nope"));
    } else {
        plist_dict_set_item(root, "PayloadContent", list);
    }
    char *xml = NULL;
    plist_to_xml(root, &xml, len);
    plist_free(root);
    return xml;
}

static void test_mac_sim__profile_good(void)
{
    uint32_t len = 0;
    char *xml = profile_xml(P_GOOD, &len);
    orchard_macsim_profile p = {0};
    CU_ASSERT_FATAL(orchard_macsim_profile_parse(&p, (unsigned char *)xml, len, NULL) == 0);
    CU_ASSERT_STRING_EQUAL(p.scep_url, "https://mdm.example/mdm/apple/scep");
    CU_ASSERT_STRING_EQUAL(p.challenge, "s3cret");
    CU_ASSERT_STRING_EQUAL(p.subject, "/O=Acme\\/Sons/CN=Acme Identity");
    CU_ASSERT_EQUAL(p.keysize, 2048);
    CU_ASSERT_STRING_EQUAL(p.server_url, "https://mdm.example/mdm/apple/mdm");
    CU_ASSERT_STRING_EQUAL(p.topic, "com.apple.mgmt.x");
    CU_ASSERT_EQUAL(p.sign_message, 1);
    CU_ASSERT_EQUAL(p.was_signed, 0);
    orchard_macsim_profile_clear(&p);

    /* Signed (content attached), as the server sends it with a signing pair. */
    BIO *in = BIO_new_mem_buf(xml, (int)len);
    CMS_ContentInfo *cms = CMS_sign(cert, key, NULL, in, CMS_BINARY);
    unsigned char *der = NULL;
    int n = i2d_CMS_ContentInfo(cms, &der);
    CU_ASSERT_FATAL(n > 0);
    CU_ASSERT_EQUAL(orchard_macsim_profile_parse(&p, der, (size_t)n, NULL), 0);
    CU_ASSERT_EQUAL(p.was_signed, 1);
    CU_ASSERT_STRING_EQUAL(p.challenge, "s3cret");
    orchard_macsim_profile_clear(&p);
    /* Truncated DER, and a detached signature (nothing inside): refused. */
    CU_ASSERT_EQUAL(orchard_macsim_profile_parse(&p, der, (size_t)n / 2, NULL), ORCHARD_EINVAL);
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    BIO_reset(in);
    cms = CMS_sign(cert, key, NULL, in, CMS_BINARY | CMS_DETACHED);
    der = NULL;
    n = i2d_CMS_ContentInfo(cms, &der);
    CU_ASSERT_EQUAL(orchard_macsim_profile_parse(&p, der, (size_t)n, NULL), ORCHARD_EINVAL);
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    plist_to_xml_free(xml);
}

static void test_mac_sim__profile_hostile(void)
{
    static const int bad[] = {P_TWO_MDM, P_NO_SCEP, P_NO_CHALLENGE, P_UUID_MISMATCH,
                              P_FLAT_SUBJECT, P_TINY_KEY, P_HUGE_KEY, P_NO_TOPIC,
                              P_CONTENT_NOT_ARRAY};
    orchard_macsim_profile p = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t len = 0;
        char *xml = profile_xml(bad[i], &len), *err = NULL;
        int rc = orchard_macsim_profile_parse(&p, (unsigned char *)xml, len, &err);
        if (rc != ORCHARD_EINVAL)
            fprintf(stderr, "variant %d: rc %d\n", bad[i], rc);
        CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(err);
        CU_ASSERT_PTR_NULL(p.scep_url); /* nothing half-read is handed out */
        free(err);
        plist_to_xml_free(xml);
    }
    /* Not a profile at all; truncated; the wrong top-level type. */
    uint32_t len = 0;
    char *xml = profile_xml(P_GOOD, &len);
    CU_ASSERT_EQUAL(orchard_macsim_profile_parse(&p, (unsigned char *)xml, len / 2, NULL),
                    ORCHARD_EINVAL);
    plist_to_xml_free(xml);
    const char *junk[] = {"", "hello", "<plist version=\"1.0\"><array/></plist>",
                          "\x30\x82\xff\xff garbage", "bplist00\xff\xff"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        CU_ASSERT_EQUAL(orchard_macsim_profile_parse(&p, (const unsigned char *)junk[i],
                                                     strlen(junk[i]), NULL),
                        ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_macsim_profile_parse(&p, NULL, 10, NULL), ORCHARD_EINVAL);
}

/* ---- commands and reports ---------------------------------------------------- */

static void test_mac_sim__command_parse(void)
{
    const char *good = "<plist version=\"1.0\"><dict><key>CommandUUID</key><string>C-1</string>"
                       "<key>Command</key><dict><key>RequestType</key>"
                       "<string>ProfileList</string></dict></dict></plist>";
    orchard_macsim_command c = {0};
    CU_ASSERT_FATAL(orchard_macsim_command_parse(&c, good, strlen(good), NULL) == 0);
    CU_ASSERT_STRING_EQUAL(c.command_uuid, "C-1");
    CU_ASSERT_STRING_EQUAL(c.request_type, "ProfileList");
    orchard_macsim_command_clear(&c);
    const char *bad[] = {
        "<plist version=\"1.0\"><dict><key>Command</key><dict><key>RequestType</key>"
        "<string>X</string></dict></dict></plist>", /* no CommandUUID */
        "<plist version=\"1.0\"><dict><key>CommandUUID</key><string>C</string>"
        "<key>Command</key><string>X</string></dict></plist>", /* Command not a dict */
        "<plist version=\"1.0\"><dict><key>CommandUUID</key><string>C</string>"
        "<key>Command</key><dict><key>RequestType</key><integer>3</integer></dict></dict>"
        "</plist>", /* RequestType not a string */
        "<plist version=\"1.0\"><dict><key>CommandUUID</key><string></string>"
        "<key>Command</key><dict><key>RequestType</key><string>X</string></dict></dict>"
        "</plist>", /* empty CommandUUID */
        "<plist version=\"1.0\"><array/></plist>",
        "not a plist",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(orchard_macsim_command_parse(&c, bad[i], strlen(bad[i]), NULL),
                        ORCHARD_EINVAL);
        CU_ASSERT_PTR_NULL(c.command_uuid);
    }
    CU_ASSERT_EQUAL(orchard_macsim_command_parse(&c, good, strlen(good) / 2, NULL),
                    ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_macsim_answer_parse("ack"), ORCHARD_MACSIM_ACK);
    CU_ASSERT_EQUAL(orchard_macsim_answer_parse("notnow"), ORCHARD_MACSIM_NOTNOW);
    CU_ASSERT_EQUAL(orchard_macsim_answer_parse("Ack"), -1);
}

static plist_t report(const orchard_macsim_mac *m, const char *rt, orchard_macsim_answer a)
{
    orchard_macsim_command c = {.command_uuid = "C-9", .request_type = (char *)rt};
    char *xml = NULL;
    size_t len = 0;
    plist_t p = NULL;
    if (orchard_macsim_report_body(&xml, &len, m, rt ? &c : NULL, a, NULL) == 0)
        plist_from_xml(xml, (uint32_t)len, &p);
    free(xml);
    return p;
}

static const char *str(plist_t d, const char *k)
{
    static char buf[256];
    char *s = NULL;
    plist_t v = d ? plist_dict_get_item(d, k) : NULL;
    buf[0] = '\0';
    if (v && plist_get_node_type(v) == PLIST_STRING) {
        plist_get_string_val(v, &s);
        snprintf(buf, sizeof buf, "%s", s);
        free(s);
    }
    return buf;
}

static void test_mac_sim__reports(void)
{
    orchard_macsim_mac *m = NULL;
    CU_ASSERT_FATAL(orchard_macsim_mac_new(&m, "/unused", 1, 5, NULL) == 0);
    plist_t p = report(m, NULL, 0);
    CU_ASSERT_STRING_EQUAL(str(p, "Status"), "Idle");
    CU_ASSERT_STRING_EQUAL(str(p, "UDID"), m->udid);
    CU_ASSERT_PTR_NULL(plist_dict_get_item(p, "CommandUUID"));
    plist_free(p);
    p = report(m, "DeviceInformation", ORCHARD_MACSIM_ACK);
    CU_ASSERT_STRING_EQUAL(str(p, "Status"), "Acknowledged");
    CU_ASSERT_STRING_EQUAL(str(p, "CommandUUID"), "C-9");
    CU_ASSERT_STRING_EQUAL(str(plist_dict_get_item(p, "QueryResponses"), "SerialNumber"),
                           "SIM001000005");
    plist_free(p);
    p = report(m, "ProfileList", ORCHARD_MACSIM_ERROR);
    CU_ASSERT_STRING_EQUAL(str(p, "Status"), "Error");
    plist_t chain = plist_dict_get_item(p, "ErrorChain");
    CU_ASSERT_FATAL(chain && plist_array_get_size(chain) == 1);
    CU_ASSERT_STRING_EQUAL(str(plist_array_get_item(chain, 0), "ErrorDomain"), "MCMDMErrorDomain");
    CU_ASSERT_PTR_NULL(plist_dict_get_item(p, "ProfileList"));
    plist_free(p);
    p = report(m, "SecurityInfo", ORCHARD_MACSIM_NOTNOW);
    CU_ASSERT_STRING_EQUAL(str(p, "Status"), "NotNow");
    CU_ASSERT_PTR_NULL(plist_dict_get_item(p, "SecurityInfo"));
    plist_free(p);
    orchard_macsim_mac_free(m);
}

/* ---- Mdm-Signature ------------------------------------------------------------ */

/* 1 when b64 is a detached CMS SignedData over body by `cert`. */
static int verifies(const char *b64, const char *body)
{
    unsigned char der[8192];
    int n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)strlen(b64));
    const unsigned char *p = der;
    CMS_ContentInfo *cms = n > 0 ? d2i_CMS_ContentInfo(NULL, &p, n) : NULL;
    BIO *in = BIO_new_mem_buf(body, (int)strlen(body));
    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, cert);
    int ok = cms && CMS_is_detached(cms) &&
             CMS_verify(cms, NULL, store, in, NULL, CMS_BINARY | CMS_DETACHED) == 1;
    X509_STORE_free(store);
    BIO_free(in);
    CMS_ContentInfo_free(cms);
    return ok;
}

static void test_mac_sim__signatures(void)
{
    orchard_macsim_mac *m = NULL;
    CU_ASSERT_FATAL(orchard_macsim_mac_new(&m, "/unused", 1, 0, NULL) == 0);
    m->key = key;
    m->cert = cert;
    const char *body = "<plist><dict/></plist>\r\n";
    char *sig = NULL;
    orchard_macsim_signing own = {.mode = ORCHARD_MACSIM_SIGN_OWN};
    CU_ASSERT_EQUAL(orchard_macsim_signature(&sig, body, strlen(body), m, &own, NULL), 0);
    CU_ASSERT(verifies(sig, body));
    CU_ASSERT(!verifies(sig, "<plist><dict/></plist>\n")); /* byte for byte, no MIME */
    free(sig);
    orchard_macsim_signing bad = {.mode = ORCHARD_MACSIM_SIGN_BAD};
    CU_ASSERT_EQUAL(orchard_macsim_signature(&sig, body, strlen(body), m, &bad, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(sig);
    CU_ASSERT(!verifies(sig, body));
    free(sig);
    orchard_macsim_signing none = {.mode = ORCHARD_MACSIM_SIGN_NONE};
    sig = (char *)"x";
    CU_ASSERT_EQUAL(orchard_macsim_signature(&sig, body, strlen(body), m, &none, NULL), 0);
    CU_ASSERT_PTR_NULL(sig);
    /* A Mac without an identity cannot sign, nor be signed for. */
    m->key = NULL;
    m->cert = NULL;
    CU_ASSERT_EQUAL(orchard_macsim_signature(&sig, body, strlen(body), m, &own, NULL),
                    ORCHARD_EINVAL);
    char *xml = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(orchard_macsim_checkin_body(&xml, &len, m, "Authenticate", NULL),
                    ORCHARD_EINVAL); /* not enrolled: no topic */
    orchard_macsim_mac_free(m);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("mac_sim_units", suite_init, suite_cleanup);
    CU_add_test(s, "predictable_identities", test_mac_sim__predictable_identities);
    CU_add_test(s, "state_round_trip", test_mac_sim__state_round_trip);
    CU_add_test(s, "state_missing", test_mac_sim__state_missing);
    CU_add_test(s, "profile_good", test_mac_sim__profile_good);
    CU_add_test(s, "profile_hostile", test_mac_sim__profile_hostile);
    CU_add_test(s, "command_parse", test_mac_sim__command_parse);
    CU_add_test(s, "reports", test_mac_sim__reports);
    CU_add_test(s, "signatures", test_mac_sim__signatures);
    macsim_profiles_tests(s, tmp_dir, &key, &cert);
    macsim_dep_tests(s);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
