/* The machine info the simulator posts to a DEP enrollment URL (dep.c), in
 * mac_sim_units: checked with OpenSSL as a server checks it (one SignedData
 * of data, content attached, one signer whose certificate is included and
 * whose signature verifies) and read back field by field. */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/objects.h>
#include <plist/plist.h>

#include "tests/support/mac_sim/mac_sim.h"

void macsim_dep_tests(CU_pSuite s);

static const char *string_at(plist_t d, const char *key)
{
    plist_t v = plist_dict_get_item(d, key);
    return v && plist_get_node_type(v) == PLIST_STRING ? plist_get_string_ptr(v, NULL) : "";
}

static void test_mac_sim__machine_info(void)
{
    orchard_macsim_mac *m = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    unsigned char *der = NULL;
    size_t len = 0;
    CU_ASSERT_FATAL(orchard_macsim_mac_new(&m, "/unused", 9, 17, NULL) == 0);
    CU_ASSERT_FATAL(orchard_macsim_device_identity(&key, &cert, m, NULL) == 0);
    CU_ASSERT_FATAL(orchard_macsim_machine_info(&der, &len, m, cert, key, NULL) == 0);

    const unsigned char *p = der;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cms);
    CU_ASSERT(p == der + len);
    CU_ASSERT_EQUAL(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_signed);
    CU_ASSERT_EQUAL(OBJ_obj2nid(CMS_get0_eContentType(cms)), NID_pkcs7_data);
    ASN1_OCTET_STRING **content = CMS_get0_content(cms);
    CU_ASSERT(content && *content); /* attached */
    CU_ASSERT_EQUAL(sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)), 1);
    BIO *out = BIO_new(BIO_s_mem());
    CU_ASSERT_EQUAL_FATAL(CMS_verify(cms, NULL, NULL, NULL, out,
                                     CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY), 1);
    STACK_OF(X509) *signers = CMS_get0_signers(cms);
    CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(signers, 0), cert), 0);
    sk_X509_free(signers);

    char *xml = NULL;
    long xml_len = BIO_get_mem_data(out, &xml);
    plist_t root = NULL;
    plist_from_xml(xml, (uint32_t)xml_len, &root);
    CU_ASSERT_FATAL(root && plist_get_node_type(root) == PLIST_DICT);
    char serial[ORCHARD_MACSIM_SERIAL_LEN + 1];
    orchard_macsim_serial(serial, 9, 17); /* what dep_sim lists for the same seed */
    CU_ASSERT_STRING_EQUAL(string_at(root, "SERIAL"), serial);
    CU_ASSERT_STRING_EQUAL(string_at(root, "UDID"), m->udid);
    CU_ASSERT_STRING_EQUAL(string_at(root, "OS_VERSION"), orchard_macsim_os_version(m));
    CU_ASSERT_STRING_EQUAL(string_at(root, "VERSION"), orchard_macsim_build_version(m));
    CU_ASSERT(strlen(string_at(root, "PRODUCT")) > 0);
    CU_ASSERT_STRING_EQUAL(string_at(root, "LANGUAGE"), "en-US");

    /* Each call makes a fresh identity (a Mac's is its own). */
    EVP_PKEY *key2 = NULL;
    X509 *cert2 = NULL;
    CU_ASSERT_FATAL(orchard_macsim_device_identity(&key2, &cert2, m, NULL) == 0);
    CU_ASSERT(X509_cmp(cert, cert2) != 0);

    plist_free(root);
    BIO_free(out);
    CMS_ContentInfo_free(cms);
    free(der);
    X509_free(cert);
    EVP_PKEY_free(key);
    X509_free(cert2);
    EVP_PKEY_free(key2);
    orchard_macsim_mac_free(m);
}

/* TokenUpdate's AwaitingConfiguration follows the Mac's flag. */
static void test_mac_sim__awaiting_configuration(void)
{
    orchard_macsim_mac *m = NULL;
    CU_ASSERT_FATAL(orchard_macsim_mac_new(&m, "/unused", 9, 18, NULL) == 0);
    m->topic = strdup("com.apple.mgmt.test");
    for (int want = 0; want <= 1; want++) {
        m->awaiting_configuration = want;
        char *xml = NULL;
        size_t len = 0;
        CU_ASSERT_FATAL(orchard_macsim_checkin_body(&xml, &len, m, "TokenUpdate", NULL) == 0);
        plist_t root = NULL;
        plist_from_xml(xml, (uint32_t)len, &root);
        plist_t v = plist_dict_get_item(root, "AwaitingConfiguration");
        uint8_t b = 2;
        CU_ASSERT_FATAL(v && plist_get_node_type(v) == PLIST_BOOLEAN);
        plist_get_bool_val(v, &b);
        CU_ASSERT_EQUAL(b, want);
        plist_free(root);
        free(xml);
    }
    orchard_macsim_mac_free(m);
}

void macsim_dep_tests(CU_pSuite s)
{
    CU_add_test(s, "machine_info", test_mac_sim__machine_info);
    CU_add_test(s, "awaiting_configuration", test_mac_sim__awaiting_configuration);
}
