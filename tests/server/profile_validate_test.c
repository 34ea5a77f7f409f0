/* profile_validate: an admin's configuration profile as the upload and
 * `orchard apply` take it (server_plugin/profiles/profile_validate.c):
 * XML, binary and CMS-signed (DER and PEM) profiles accepted, and every
 * refusal of docs/profiles.md asked for with its reason: not a plist, the
 * wrong PayloadType, each required field missing, empty or mistyped, the
 * payloads orchard manages itself, Nudge's reserved identifier, size,
 * nesting and hostile shapes. */
#include "server_plugin/profiles/profiles.h"
#include "server_plugin/updates/updates.h"
#include "tests/server/profile_fixture.h"
#include "tests/suites.h"

#include <orchard/plugin.h>

#include <CUnit/CUnit.h>
#include <glib.h>
#include <plist/plist.h>
#include <stdlib.h>
#include <string.h>

/* `data` is refused with `code` and a reason holding `want`. */
static void refused_bytes(const void *data, size_t len, int code, const char *want)
{
    orchard_profile_info info;
    g_autofree char *reason = NULL;
    int rc = orchard_profile_validate(data, len, &info, &reason);
    if (rc != code || !reason || !strstr(reason, want))
        fprintf(stderr, "\n  got %d \"%s\", wanted %d \"%s\"\n", rc,
                reason ? reason : "(none)", code, want);
    orchard_profile_info_clear(&info); /* what an acceptance filled */
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_PTR_NOT_NULL_FATAL(reason);
    CU_ASSERT_PTR_NOT_NULL(strstr(reason, want));
    CU_ASSERT_TRUE(g_utf8_validate(reason, -1, NULL));
}

static void refused(const char *text, const char *want)
{
    refused_bytes(text, strlen(text), ORCHARD_EINVAL, want);
}

/* A profile from top-level keys and payloads, refused for `want`. */
static void refused_profile(const char *top, const char *payloads, const char *want)
{
    g_autofree char *xml = pfx_profile_xml(top, payloads);
    refused(xml, want);
}

static void accepted_named(const void *data, size_t len, const char *identifier,
                           const char *name, int signed_cms)
{
    orchard_profile_info info;
    g_autofree char *reason = NULL;
    int rc = orchard_profile_validate(data, len, &info, &reason);
    if (rc)
        fprintf(stderr, "\n  refused: %s\n", reason);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NULL(reason);
    CU_ASSERT_STRING_EQUAL(info.identifier, identifier);
    CU_ASSERT_STRING_EQUAL(info.name, name);
    CU_ASSERT_STRING_EQUAL(info.payload_uuid, PFX_UUID);
    CU_ASSERT_EQUAL(info.signed_cms, signed_cms);
    orchard_profile_info_clear(&info);
    CU_ASSERT_PTR_NULL(info.identifier);
    orchard_profile_info_clear(NULL);
}

static void accepted(const void *data, size_t len, const char *identifier, int signed_cms)
{
    accepted_named(data, len, identifier, "Name of " PFX_DEFAULT_ID, signed_cms);
}

static void test_xml_and_binary(void)
{
    g_autofree char *xml = pfx_profile(PFX_DEFAULT_ID);
    accepted(xml, strlen(xml), PFX_DEFAULT_ID, 0);
    /* The same as a binary plist. */
    plist_t root = NULL;
    plist_from_xml(xml, (uint32_t)strlen(xml), &root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    char *bin = NULL;
    uint32_t bin_len = 0;
    plist_to_bin(root, &bin, &bin_len);
    plist_free(root);
    accepted(bin, bin_len, PFX_DEFAULT_ID, 0);
    free(bin);
    /* No PayloadContent at all: a profile that installs nothing. */
    g_autofree char *bare = pfx_profile_xml(PFX_TOP(PFX_DEFAULT_ID), NULL);
    accepted(bare, strlen(bare), PFX_DEFAULT_ID, 0);
    /* Custom settings for another domain are the admin's to send. */
    g_autofree char *mcx = pfx_profile_xml(
        PFX_TOP(PFX_DEFAULT_ID),
        PFX_PAYLOAD("com.apple.ManagedClient.preferences",
                    "<key>PayloadContent</key><dict><key>com.example.app</key><dict/></dict>"));
    accepted(mcx, strlen(mcx), PFX_DEFAULT_ID, 0);
}

static void test_signed(void)
{
    g_autofree char *xml = pfx_profile(PFX_DEFAULT_ID);
    GBytes *der = pfx_sign(xml, strlen(xml), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(der);
    gsize len = 0;
    const unsigned char *d = g_bytes_get_data(der, &len);
    CU_ASSERT_EQUAL(d[0], 0x30);
    accepted(d, len, PFX_DEFAULT_ID, 1);
    g_bytes_unref(der);

    GBytes *pem = pfx_sign(xml, strlen(xml), 0, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
    const char *p = g_bytes_get_data(pem, &len);
    CU_ASSERT_EQUAL(strncmp(p, "-----BEGIN", 10), 0);
    accepted(p, len, PFX_DEFAULT_ID, 1);
    g_bytes_unref(pem);

    /* Bytes after the DER structure would reach the Mac unchecked. */
    der = pfx_sign(xml, strlen(xml), 0, 0);
    GByteArray *tail = g_byte_array_new();
    d = g_bytes_get_data(der, &len);
    g_byte_array_append(tail, d, (guint)len);
    g_byte_array_append(tail, (const guint8 *)"<plist/>", 8);
    refused_bytes(tail->data, tail->len, ORCHARD_EINVAL, "has 8 bytes after its end");
    g_byte_array_unref(tail);
    g_bytes_unref(der);

    /* Validated from the content: a signed SCEP payload is still refused. */
    g_autofree char *scep = pfx_profile_xml(PFX_TOP(PFX_DEFAULT_ID),
                                            PFX_PAYLOAD("com.apple.security.scep", ""));
    GBytes *bad = pfx_sign(scep, strlen(scep), 0, 0);
    d = g_bytes_get_data(bad, &len);
    refused_bytes(d, len, ORCHARD_EINVAL, "com.apple.security.scep");
    g_bytes_unref(bad);

    /* Detached: the profile is not inside. */
    GBytes *det = pfx_sign(xml, strlen(xml), 1, 0);
    d = g_bytes_get_data(det, &len);
    refused_bytes(d, len, ORCHARD_EINVAL, "detached");
    g_bytes_unref(det);

    /* A CMS that is not SignedData (plain data content). */
    GBytes *data_only = pfx_cms_data(xml, strlen(xml));
    d = g_bytes_get_data(data_only, &len);
    refused_bytes(d, len, ORCHARD_EINVAL, "not a signed profile");
    g_bytes_unref(data_only);

    /* A signed plist that is not a profile, and DER that is no CMS. */
    GBytes *notp = pfx_sign("hello", 5, 0, 0);
    d = g_bytes_get_data(notp, &len);
    refused_bytes(d, len, ORCHARD_EINVAL, "valid XML");
    g_bytes_unref(notp);
    static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    refused_bytes(junk, sizeof junk, ORCHARD_EINVAL, "looks signed");
    refused_bytes(junk, 2, ORCHARD_EINVAL, "looks signed");
    refused("-----BEGIN PKCS7-----\nnot base64\n-----END PKCS7-----\n", "looks signed");
}

static void test_not_a_plist(void)
{
    refused_bytes("", 0, ORCHARD_EINVAL, "empty");
    refused_bytes(NULL, 0, ORCHARD_EINVAL, "empty");
    refused("hello, world", "The file should include valid XML");
    refused("{\"PayloadType\": \"Configuration\"}", "The file should include valid XML");
    refused("<?xml version=\"1.0\"?><plist><dict><key>a</key>", "valid XML");
    refused("<html><body>not a plist</body></html>", "valid XML");
    refused("bplist00garbage", "valid XML");
    /* An entity declaration is refused before libplist sees it. */
    refused("<?xml version=\"1.0\"?><!DOCTYPE plist [<!ENTITY a \"b\">]><plist><dict/></plist>",
            "valid XML");
    /* Every truncation of a good profile is refused, never read past its end. */
    g_autofree char *xml = pfx_profile(PFX_DEFAULT_ID);
    size_t len = strlen(xml);
    for (size_t n = 1; n < len; n += 7) {
        char *copy = g_memdup2(xml, n);
        orchard_profile_info info;
        g_autofree char *reason = NULL;
        CU_ASSERT_NOT_EQUAL(orchard_profile_validate(copy, n, &info, &reason), 0);
        CU_ASSERT_PTR_NOT_NULL(reason);
        g_free(copy);
    }
}

static void test_top_level(void)
{
    refused(PFX_HEAD "<array><string>a</string></array>" PFX_TAIL, "top level is a dictionary");
    refused(PFX_HEAD "<string>Configuration</string>" PFX_TAIL, "top level is a dictionary");
    /* PayloadType. */
    const char *rest = PFX_STR("PayloadIdentifier", "com.example.x")
        PFX_STR("PayloadDisplayName", "X") PFX_STR("PayloadUUID", PFX_UUID);
    g_autofree char *t1 = g_strconcat(rest, NULL);
    refused_profile(t1, NULL, "PayloadType must be \"Configuration\"");
    g_autofree char *t2 = g_strconcat(PFX_STR("PayloadType", "com.apple.wifi.managed"), rest,
                                      NULL);
    refused_profile(t2, NULL, "PayloadType must be \"Configuration\"");
    g_autofree char *t3 = g_strconcat("<key>PayloadType</key><integer>1</integer>", rest, NULL);
    refused_profile(t3, NULL, "PayloadType must be \"Configuration\"");
    g_autofree char *t4 = g_strconcat(PFX_STR("PayloadType", "configuration"), rest, NULL);
    refused_profile(t4, NULL, "PayloadType must be \"Configuration\"");
    /* The three required strings: missing, empty, mistyped, too long, control characters. */
    static const char *const keys[] = {"PayloadIdentifier", "PayloadDisplayName", "PayloadUUID"};
    for (size_t k = 0; k < G_N_ELEMENTS(keys); k++) {
        const char *vals[3] = {"com.example.x", "X", PFX_UUID};
        g_autoptr(GString) missing = g_string_new(PFX_STR("PayloadType", "Configuration"));
        g_autoptr(GString) empty = g_string_new(missing->str);
        g_autoptr(GString) typed = g_string_new(missing->str);
        g_autoptr(GString) longv = g_string_new(missing->str);
        g_autoptr(GString) ctrl = g_string_new(missing->str);
        g_autofree char *huge = g_strnfill(256, 'a');
        for (size_t j = 0; j < 3; j++) {
            g_autofree char *kv = g_strdup_printf("<key>%s</key><string>%s</string>", keys[j],
                                                  vals[j]);
            if (j != k) {
                g_string_append(missing, kv);
                g_string_append(empty, kv);
                g_string_append(typed, kv);
                g_string_append(longv, kv);
                g_string_append(ctrl, kv);
                continue;
            }
            g_string_append_printf(empty, "<key>%s</key><string></string>", keys[j]);
            g_string_append_printf(typed, "<key>%s</key><array/>", keys[j]);
            g_string_append_printf(longv, "<key>%s</key><string>%s</string>", keys[j], huge);
            g_string_append_printf(ctrl, "<key>%s</key><string>a&#x9;b</string>", keys[j]);
        }
        g_autofree char *w1 = g_strdup_printf("The profile has no %s", keys[k]);
        g_autofree char *w2 = g_strdup_printf("%s is empty", keys[k]);
        g_autofree char *w3 = g_strdup_printf("%s must be a string", keys[k]);
        g_autofree char *w4 = g_strdup_printf("%s must be at most 255", keys[k]);
        refused_profile(missing->str, NULL, w1);
        refused_profile(empty->str, NULL, w2);
        refused_profile(typed->str, NULL, w3);
        refused_profile(longv->str, NULL, w4);
        refused_profile(ctrl->str, NULL, w4);
    }
    /* 255 characters is the most. */
    g_autofree char *id255 = g_strnfill(255, 'i');
    g_autofree char *top255 = pfx_top(id255, "N", PFX_UUID);
    g_autofree char *ok = pfx_profile_xml(top255, NULL);
    accepted_named(ok, strlen(ok), id255, "N", 0);
    /* Nudge's identifier is orchard's. */
    refused_profile(PFX_TOP(ORCHARD_NUDGE_PROFILE_IDENTIFIER), NULL, "reserved");
    /* So is its display name. */
    g_autofree char *top_name = pfx_top("com.example.n", ORCHARD_NUDGE_PROFILE_NAME, PFX_UUID);
    refused_profile(top_name, NULL, "is reserved for orchard's own Nudge profile");
    /* Encrypted payloads can't be checked. */
    g_autofree char *enc = g_strconcat(PFX_TOP(PFX_DEFAULT_ID),
                                       "<key>EncryptedPayloadContent</key><data>AAAA</data>",
                                       NULL);
    refused_profile(enc, NULL, "encrypted");
    /* One key twice in an XML dictionary: the last one counts, for libplist
     * as for macOS, so a payload type hidden behind a repeat is still seen. */
    g_autofree char *dup = g_strconcat(PFX_TOP(PFX_DEFAULT_ID),
                                       PFX_STR("PayloadType", "Configuration"), NULL);
    g_autofree char *dup_xml = pfx_profile_xml(dup, NULL);
    accepted(dup_xml, strlen(dup_xml), PFX_DEFAULT_ID, 0);
    refused_profile(PFX_TOP(PFX_DEFAULT_ID),
                    "<dict>" PFX_STR("PayloadType", "com.apple.dock")
                    PFX_STR("PayloadType", "com.apple.mdm") "</dict>", "com.apple.mdm payload");
    g_autofree char *dup2 = g_strconcat(PFX_TOP(PFX_DEFAULT_ID),
                                        PFX_STR("PayloadType", "Other"), NULL);
    refused_profile(dup2, NULL, "PayloadType must be \"Configuration\"");
}

/* A binary plist whose top dict has `n` string keys (lengths given: they
 * may hold NUL) and string values. g_bytes_unref. */
static GBytes *bplist_dict(const char *const *keys, const size_t *key_len,
                           const char *const *vals, size_t n)
{
    GByteArray *b = g_byte_array_new();
    size_t nobj = 1 + 2 * n;
    guint16 *offs = g_new0(guint16, nobj);
    g_byte_array_append(b, (const guint8 *)"bplist00", 8);
    offs[0] = (guint16)b->len;
    guint8 head = (guint8)(0xD0 | n);
    g_byte_array_append(b, &head, 1);
    for (size_t i = 1; i < nobj; i++) {
        guint8 ref = (guint8)i;
        g_byte_array_append(b, &ref, 1);
    }
    for (size_t i = 0; i < 2 * n; i++) {
        const char *s = i < n ? keys[i] : vals[i - n];
        size_t len = i < n ? key_len[i] : strlen(s);
        offs[1 + i] = (guint16)b->len;
        /* ASCII string: the length in the marker, or past 14 as an int after it */
        guint8 h[3] = {(guint8)(0x50 | (len < 15 ? len : 15)), 0x10, (guint8)len};
        g_byte_array_append(b, h, len < 15 ? 1 : 3);
        g_byte_array_append(b, (const guint8 *)s, (guint)len);
    }
    size_t table = b->len;
    for (size_t i = 0; i < nobj; i++) {
        guint8 be[2] = {(guint8)(offs[i] >> 8), (guint8)offs[i]};
        g_byte_array_append(b, be, 2);
    }
    guint8 trailer[32] = {0};
    trailer[6] = 2; /* offset size */
    trailer[7] = 1; /* reference size */
    trailer[15] = (guint8)nobj;
    trailer[31] = (guint8)table;
    trailer[30] = (guint8)(table >> 8);
    g_byte_array_append(b, trailer, 32);
    g_free(offs);
    return g_byte_array_free_to_bytes(b);
}

/* libplist reads a binary key "PayloadType\0x" as a second "PayloadType"
 * while the Mac reads another key: refused, whichever comes first. */
static void test_binary_nul_key(void)
{
    const char *keys[] = {"PayloadType\0x", "PayloadIdentifier", "PayloadDisplayName",
                          "PayloadUUID", "PayloadType"};
    const size_t lens[] = {13, 17, 18, 11, 11};
    const char *vals[] = {"Configuration", "com.example.nul", "N", PFX_UUID, "Other"};
    GBytes *bin = bplist_dict(keys, lens, vals, 5);
    gsize len = 0;
    const void *d = g_bytes_get_data(bin, &len);
    refused_bytes(d, len, ORCHARD_EINVAL, "repeats the key \"PayloadType\"");
    g_bytes_unref(bin);
    /* The same without the NUL key is a good binary profile. */
    const char *vals_ok[] = {"com.example.nul", "N", PFX_UUID, "Configuration"};
    bin = bplist_dict(keys + 1, lens + 1, vals_ok, 4);
    d = g_bytes_get_data(bin, &len);
    accepted_named(d, len, "com.example.nul", "N", 0);
    g_bytes_unref(bin);
}

static void test_payloads(void)
{
    const char *top = PFX_TOP(PFX_DEFAULT_ID);
    g_autofree char *as_dict = g_strconcat(top, "<key>PayloadContent</key><dict/>", NULL);
    refused_profile(as_dict, NULL, "PayloadContent must be an array");
    g_autofree char *as_string = g_strconcat(top, PFX_STR("PayloadContent", "x"), NULL);
    refused_profile(as_string, NULL, "PayloadContent must be an array");
    refused_profile(top, "<string>not a payload</string>", "item 1 is not a dictionary");
    refused_profile(top, PFX_PAYLOAD("com.apple.dock", "") "<array/>",
                    "item 2 is not a dictionary");
    refused_profile(top, "<dict>" PFX_STR("PayloadIdentifier", "a") "</dict>",
                    "item 1 has no PayloadType");
    refused_profile(top, "<dict><key>PayloadType</key><integer>3</integer></dict>",
                    "item 1 has no PayloadType");
    refused_profile(top, "<dict>" PFX_STR("PayloadType", "") "</dict>",
                    "item 1 has no PayloadType");
    /* The payloads orchard manages itself, in any case. */
    static const char *const managed[] = {"com.apple.security.scep", "com.apple.mdm",
                                          "com.github.macadmins.Nudge", "COM.APPLE.MDM"};
    for (size_t i = 0; i < G_N_ELEMENTS(managed); i++) {
        g_autofree char *payload = g_strdup_printf("<dict>" PFX_STR("PayloadType", "%s")
                                                   "</dict>", managed[i]);
        g_autofree char *with_other = g_strconcat(PFX_PAYLOAD("com.apple.dock", ""), payload,
                                                  NULL);
        refused_profile(top, with_other, "orchard manages it itself");
    }
    refused_profile(top, PFX_PAYLOAD("com.github.macadmins.Nudge", ""), "set macOS updates");
    /* Nudge's domain through custom settings. */
    refused_profile(top,
                    PFX_PAYLOAD("com.apple.ManagedClient.preferences",
                                "<key>PayloadContent</key><dict><key>com.github.macadmins.Nudge"
                                "</key><dict><key>Forced</key><array/></dict></dict>"),
                    "custom settings for com.github.macadmins.Nudge");
    refused_profile(top,
                    PFX_PAYLOAD("com.apple.ManagedClient.preferences",
                                "<key>PayloadContent</key><dict><key>com.example.a</key><dict/>"
                                "<key>COM.GITHUB.MACADMINS.NUDGE</key><dict/></dict>"),
                    "custom settings for com.github.macadmins.Nudge");
}

/* A file whose XML holds `fill` bytes of comment: `total` bytes in all. */
static char *padded_profile(size_t total)
{
    g_autofree char *xml = pfx_profile(PFX_DEFAULT_ID);
    size_t base = strlen(xml) + strlen("<!---->");
    g_assert(total > base);
    g_autofree char *fill = g_strnfill(total - base, 'c');
    return g_strconcat(xml, "<!--", fill, "-->", NULL);
}

static void test_size_and_depth(void)
{
    /* 1 MiB exactly is taken; a byte more is ETOOBIG, even when it is junk:
     * the cap comes before any parsing. */
    g_autofree char *max = padded_profile(ORCHARD_PROFILE_MAX_BYTES);
    CU_ASSERT_EQUAL(strlen(max), ORCHARD_PROFILE_MAX_BYTES);
    accepted(max, strlen(max), PFX_DEFAULT_ID, 0);
    g_autofree char *over = padded_profile(ORCHARD_PROFILE_MAX_BYTES + 1);
    refused_bytes(over, strlen(over), ORCHARD_ETOOBIG, "at most 1 MiB");
    char *junk = g_malloc(ORCHARD_PROFILE_MAX_BYTES + 1);
    memset(junk, 0xff, ORCHARD_PROFILE_MAX_BYTES + 1);
    refused_bytes(junk, ORCHARD_PROFILE_MAX_BYTES + 1, ORCHARD_ETOOBIG, "at most 1 MiB");
    g_free(junk);
    /* Nesting past the cap is refused before libplist recurses. */
    g_autoptr(GString) deep = g_string_new(PFX_HEAD "<dict>" PFX_TOP(PFX_DEFAULT_ID)
                                           "<key>X</key>");
    for (int i = 0; i < 100000; i++)
        g_string_append(deep, "<array>");
    refused_bytes(deep->str, deep->len, ORCHARD_ETOOBIG, "nests too deeply");
    /* A binary plist whose objects refer to one another past the object cap. */
    static const unsigned char loop[] = {
        'b', 'p', 'l', 'i', 's', 't', '0', '0',
        0xA2, 0x00, 0x00, /* object 0: an array holding itself twice */
        0x08,             /* offset table: object 0 at 8 */
        0, 0, 0, 0, 0, 0, 1, 1, /* trailer: offset size 1, ref size 1 */
        0, 0, 0, 0, 0, 0, 0, 1, /* one object */
        0, 0, 0, 0, 0, 0, 0, 0, /* top object 0 */
        0, 0, 0, 0, 0, 0, 0, 11, /* offset table at 11 */
    };
    orchard_profile_info info;
    g_autofree char *reason = NULL;
    CU_ASSERT_NOT_EQUAL(orchard_profile_validate(loop, sizeof loop, &info, &reason), 0);
    CU_ASSERT_PTR_NOT_NULL(reason);
}

void profile_validate_suite(void)
{
    ORCHARD_ADD_SUITE("profile_validate", NULL, NULL,
                      {"XML and binary profiles, with and without payloads", test_xml_and_binary},
                      {"CMS-signed profiles (DER, PEM) validated from their content",
                       test_signed},
                      {"not a plist, hostile XML, every truncation", test_not_a_plist},
                      {"the top level: PayloadType, the three required strings, reserved "
                       "identifier, encryption, repeated keys", test_top_level},
                      {"a binary key with a NUL that reads as a repeat", test_binary_nul_key},
                      {"PayloadContent and the payloads orchard manages itself", test_payloads},
                      {"the 1 MiB cap before parsing, nesting and reference loops",
                       test_size_and_depth});
}
