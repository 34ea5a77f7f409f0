/* machine_info: the machine info a Mac posts to the DEP enrollment URL
 * (server_plugin/enroll/machine_info.c): a good one read field by field,
 * then every refusal the route answers 400 (or 413) for, each with its
 * reason: the CMS shape, the signature, the plist and its fields, and
 * hostile bytes (garbage, truncations, huge declared lengths, plist bombs,
 * control bytes). */
#include "server_plugin/enroll/machine_info.h"
#include "tests/server/machine_info_fixture.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <openssl/cms.h>
#include <plist/plist.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UDID "0000FE00-1A2B3C4D5E6F7081"
#define SERIAL "C02ZX0Y1MD6T"

static mifx_identity dev, other;

static int suite_init(void)
{
    return mifx_identity_make(&dev, "device identity") ||
                   mifx_identity_make(&other, "another device")
               ? -1
               : 0;
}

static int suite_cleanup(void)
{
    mifx_identity_clear(&dev);
    mifx_identity_clear(&other);
    return 0;
}

/* Parse and expect refusal `want` with `reason` in the message. */
static void refused(const void *der, size_t len, int want, const char *reason)
{
    orchard_machine_info *mi = NULL;
    const char *why = NULL;
    int rc = orchard_machine_info_parse(der, len, &mi, &why);
    if (rc != want || !why || !strstr(why, reason))
        fprintf(stderr, "\n  expected %d \"%s\", got %d \"%s\"\n", want, reason, rc,
                why ? why : "(null)");
    CU_ASSERT_EQUAL(rc, want);
    CU_ASSERT_PTR_NULL(mi);
    CU_ASSERT(why && strstr(why, reason));
    orchard_machine_info_free(mi);
}

static void refused_bytes(GBytes *b, const char *reason)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    gsize len = 0;
    const void *d = g_bytes_get_data(b, &len);
    refused(d, len, ORCHARD_EINVAL, reason);
    g_bytes_unref(b);
}

/* A signed plist whose dict holds `inner`. */
static void refused_plist(const char *inner, const char *reason)
{
    g_autofree char *xml = g_strdup_printf("<?xml version=\"1.0\"?><plist version=\"1.0\"><dict>"
                                           "%s</dict></plist>", inner);
    refused_bytes(mifx_sign(&dev, NULL, xml, strlen(xml), 0), reason);
}

static void test_machine_info__valid(void)
{
    g_autoptr(GBytes) b = mifx_machine_info(&dev, UDID, SERIAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    gsize len = 0;
    const unsigned char *d = g_bytes_get_data(b, &len);
    g_autoptr(orchard_machine_info) mi = NULL;
    const char *why = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_machine_info_parse(d, len, &mi, &why), 0);
    CU_ASSERT_STRING_EQUAL(mi->udid, UDID);
    CU_ASSERT_STRING_EQUAL(mi->serial, SERIAL);
    CU_ASSERT_STRING_EQUAL(mi->product, "MacBookPro18,3");
    CU_ASSERT_STRING_EQUAL(mi->version, "23E224");
    CU_ASSERT_STRING_EQUAL(mi->language, "en-US");
    CU_ASSERT_STRING_EQUAL(mi->os_version, "14.4.1");
    CU_ASSERT_STRING_EQUAL(mi->software_update_device_id, "J316sAP");
    CU_ASSERT_STRING_EQUAL(mi->supplemental_build_version, "23E224");
    CU_ASSERT_PTR_NULL(mi->imei);
    CU_ASSERT_PTR_NULL(mi->meid);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mi->signer_sha256);
    CU_ASSERT_EQUAL(strlen(mi->signer_sha256), 64);

    /* Only the two required keys (an older OS sends fewer). */
    const char *min = "<plist><dict><key>UDID</key><string>U-1</string><key>SERIAL</key>"
                      "<string>S1</string><key>IMEI</key><string></string></dict></plist>";
    g_autoptr(GBytes) b2 = mifx_sign(&dev, NULL, min, strlen(min), 0);
    g_autoptr(orchard_machine_info) mi2 = NULL;
    d = g_bytes_get_data(b2, &len);
    CU_ASSERT_EQUAL_FATAL(orchard_machine_info_parse(d, len, &mi2, &why), 0);
    CU_ASSERT_STRING_EQUAL(mi2->serial, "S1");
    CU_ASSERT_STRING_EQUAL(mi2->imei, "");
    CU_ASSERT_PTR_NULL(mi2->product);

    /* The same as a binary plist. */
    plist_t root = NULL;
    plist_from_xml(min, (uint32_t)strlen(min), &root);
    char *bin = NULL;
    uint32_t bin_len = 0;
    plist_to_bin(root, &bin, &bin_len);
    plist_free(root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
    g_autoptr(GBytes) b3 = mifx_sign(&dev, NULL, bin, bin_len, 0);
    free(bin);
    g_autoptr(orchard_machine_info) mi3 = NULL;
    d = g_bytes_get_data(b3, &len);
    CU_ASSERT_EQUAL_FATAL(orchard_machine_info_parse(d, len, &mi3, &why), 0);
    CU_ASSERT_STRING_EQUAL(mi3->udid, "U-1");
    CU_ASSERT_STRING_EQUAL(mi3->serial, "S1");
}

/* The CMS around it: each shape a device never sends. */
static void test_machine_info__refuses_bad_shapes(void)
{
    g_autofree char *xml = mifx_plist(UDID, SERIAL);
    size_t n = strlen(xml);
    refused(NULL, 0, ORCHARD_EINVAL, "empty body");
    refused_bytes(mifx_sign(&dev, NULL, xml, n, MIFX_DETACHED), "detached");
    refused_bytes(mifx_sign(&dev, NULL, xml, n, MIFX_NO_SIGNER), "not signed");
    refused_bytes(mifx_sign(&dev, &other, xml, n, MIFX_TWO_SIGNERS), "several signers");
    refused_bytes(mifx_sign(&dev, NULL, xml, n, MIFX_OTHER_TYPE), "wrong content type");
    refused_bytes(mifx_sign(&dev, NULL, xml, n, MIFX_NO_CERTS), "does not verify");

    /* CMS, but not SignedData: plain data. */
    BIO *in = BIO_new_mem_buf(xml, (int)n);
    CMS_ContentInfo *data = CMS_data_create(in, CMS_BINARY);
    unsigned char *der = NULL;
    int dlen = i2d_CMS_ContentInfo(data, &der);
    CU_ASSERT_FATAL(dlen > 0);
    refused(der, (size_t)dlen, ORCHARD_EINVAL, "not a CMS SignedData");
    OPENSSL_free(der);
    CMS_ContentInfo_free(data);
    BIO_free(in);
}

/* Changed after signing: one byte of the serial, inside the signed content. */
static void test_machine_info__refuses_tampered(void)
{
    g_autoptr(GBytes) b = mifx_machine_info(&dev, UDID, SERIAL);
    gsize len = 0;
    const unsigned char *d = g_bytes_get_data(b, &len);
    g_autofree unsigned char *copy = g_memdup2(d, len);
    unsigned char *at = memmem(copy, len, SERIAL, strlen(SERIAL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    at[3] = 'Q';
    refused(copy, len, ORCHARD_EINVAL, "does not verify");
    /* The signature itself changed (its last byte). */
    memcpy(copy, d, len);
    copy[len - 1] ^= 0x01;
    orchard_machine_info *mi = NULL;
    const char *why = NULL;
    CU_ASSERT_NOT_EQUAL(orchard_machine_info_parse(copy, len, &mi, &why), 0);
    CU_ASSERT_PTR_NULL(mi);
}

/* The plist inside: not one, not a dict, fields missing or unfit. */
static void test_machine_info__refuses_bad_content(void)
{
    refused_bytes(mifx_sign(&dev, NULL, "hello", 5, 0), "not a plist");
    /* A binary plist cut short, and one whose offsets point outside it. */
    refused_bytes(mifx_sign(&dev, NULL, "bplist00\xd0\x08", 10, 0), "not a valid plist");
    refused_bytes(mifx_sign(&dev, NULL, "bplist00\xd0\x08\x00\x00\x00\x00\x00\x00\x00\x00"
                                        "\x00\x00\x00\x00\x00\x00\x01\x01\x00\x00\x00\x00\x00"
                                        "\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                                        "\x00\x00\x00\x00\xff\xff", 42, 0),
                  "not a valid plist");
    const char *arr = "<plist><array><string>x</string></array></plist>";
    refused_bytes(mifx_sign(&dev, NULL, arr, strlen(arr), 0), "not a valid plist dictionary");
    const char *cut = "<plist><dict><key>UDID</key><string>U";
    refused_bytes(mifx_sign(&dev, NULL, cut, strlen(cut), 0), "not a valid");
    const char nul[] = "<plist><dict>\0<key>UDID</key></dict></plist>";
    refused_bytes(mifx_sign(&dev, NULL, nul, sizeof nul - 1, 0), "not a plist");
    refused_plist("<key>SERIAL</key><string>S1</string>", "no UDID");
    refused_plist("<key>UDID</key><string>U1</string>", "no SERIAL");
    refused_plist("<key>UDID</key><string>U1</string><key>SERIAL</key><integer>7</integer>",
                  "SERIAL is not printable");
    refused_plist("<key>UDID</key><string>U1</string><key>SERIAL</key><string></string>",
                  "SERIAL is not printable");
    refused_plist("<key>UDID</key><string>U 1</string><key>SERIAL</key><string>S</string>",
                  "UDID is not printable");
    g_autofree char *long_serial = g_strnfill(ORCHARD_MACHINE_INFO_ID_MAX + 1, 'S');
    g_autofree char *inner = g_strdup_printf("<key>UDID</key><string>U1</string><key>SERIAL"
                                             "</key><string>%s</string>", long_serial);
    refused_plist(inner, "SERIAL is not printable");
    g_autofree char *long_lang = g_strnfill(ORCHARD_MACHINE_INFO_FIELD_MAX + 1, 'e');
    g_autofree char *inner2 = g_strdup_printf("<key>UDID</key><string>U1</string><key>SERIAL"
                                              "</key><string>S1</string><key>LANGUAGE</key>"
                                              "<string>%s</string>", long_lang);
    refused_plist(inner2, "a field of the machine info");
    refused_plist("<key>UDID</key><string>U1</string><key>SERIAL</key><string>S1</string>"
                  "<key>PRODUCT</key><dict/>", "a field of the machine info");
}

/* Bytes an attacker picks. */
static void test_machine_info__hostile(void)
{
    /* Garbage, and a DER header declaring gigabytes. */
    refused((const unsigned char *)"garbage, not DER", 16, ORCHARD_EINVAL, "not a CMS message");
    const unsigned char huge[] = {0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x06, 0x09, 0x2a, 0x86};
    refused(huge, sizeof huge, ORCHARD_EINVAL, "not a CMS message");
    const unsigned char neg[] = {0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    refused(neg, sizeof neg, ORCHARD_EINVAL, "not a CMS message");

    /* Oversized: 413 material, before any parsing. */
    g_autofree unsigned char *big = g_malloc0(ORCHARD_MACHINE_INFO_MAX + 1);
    refused(big, ORCHARD_MACHINE_INFO_MAX + 1, ORCHARD_ETOOBIG, "larger than 64 KiB");

    /* Every truncation of a good one, and bytes after it. */
    g_autoptr(GBytes) b = mifx_machine_info(&dev, UDID, SERIAL);
    gsize len = 0;
    const unsigned char *d = g_bytes_get_data(b, &len);
    int all_refused = 1;
    for (size_t cut = 1; cut < len; cut++) {
        orchard_machine_info *mi = NULL;
        const char *why = NULL;
        if (orchard_machine_info_parse(d, cut, &mi, &why) == 0 || mi) {
            fprintf(stderr, "\n  a cut at %zu of %zu parsed\n", cut, (size_t)len);
            all_refused = 0;
        }
        orchard_machine_info_free(mi);
    }
    CU_ASSERT(all_refused);
    g_autofree unsigned char *longer = g_malloc(len + 4);
    memcpy(longer, d, len);
    memcpy(longer + len, "XXXX", 4);
    refused(longer, len + 4, ORCHARD_EINVAL, "bytes after");

    /* Plist bombs: deep nesting, many elements, an entity. */
    GString *deep = g_string_new("<plist><dict><key>UDID</key><string>U</string><key>SERIAL"
                                 "</key><string>S</string><key>X</key>");
    for (int i = 0; i < 1000; i++)
        g_string_append(deep, "<array>");
    g_string_append(deep, "</dict></plist>");
    refused_bytes(mifx_sign(&dev, NULL, deep->str, deep->len, 0), "nests too deep");
    g_string_free(deep, TRUE);
    GString *wide = g_string_new("<plist><dict><key>UDID</key><string>U</string><key>SERIAL"
                                 "</key><string>S</string><key>X</key><array>");
    for (int i = 0; i < 5000; i++)
        g_string_append(wide, "<true/>");
    g_string_append(wide, "</array></dict></plist>");
    refused_bytes(mifx_sign(&dev, NULL, wide->str, wide->len, 0), "too many elements");
    g_string_free(wide, TRUE);
    const char *entity = "<!DOCTYPE plist [<!ENTITY a \"S1\">]><plist><dict><key>UDID</key>"
                         "<string>U</string><key>SERIAL</key><string>&a;</string></dict></plist>";
    refused_bytes(mifx_sign(&dev, NULL, entity, strlen(entity), 0), "not a valid plist");

    /* Control bytes: in a key (so there is no SERIAL) and in values (libplist
     * refuses some as XML, the field check the rest). */
    refused_plist("<key>UDID</key><string>U1</string><key>SER\x01IAL</key><string>S1</string>",
                  "no SERIAL");
    refused_plist("<key>UDID</key><string>U1</string><key>SERIAL</key><string>S\x1b[31m"
                  "</string>", "SERIAL");
    refused_plist("<key>UDID</key><string>U1</string><key>SERIAL</key><string>S1</string>"
                  "<key>LANGUAGE</key><string>en\nUS</string>", "a field of the machine info");
    refused_plist("<key>UDID</key><string>U1</string><key>SERIAL</key><string>S&#0;1</string>",
                  "not a valid");
    refused_plist("<key>UDID</key><string>U1</string><key>SERIAL</key><string>S1</string>"
                  "<key>PRODUCT</key><string>\xff\xfe</string>", "a field of the machine info");
}

void machine_info_suite(void)
{
    ORCHARD_ADD_SUITE("machine_info", suite_init, suite_cleanup,
                      {"valid", test_machine_info__valid},
                      {"refuses_bad_shapes", test_machine_info__refuses_bad_shapes},
                      {"refuses_tampered", test_machine_info__refuses_tampered},
                      {"refuses_bad_content", test_machine_info__refuses_bad_content},
                      {"hostile", test_machine_info__hostile});
}
