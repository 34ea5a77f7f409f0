/* The enroll suites' fixture (see enroll_fixture.h): the temporary
 * directory and its signing pair, running commands in it, and the judge of
 * a profile, which both the builder's tests and the route's use. */
#include "tests/server/enroll_fixture.h"
#include "tests/server/mdm_fixtures.h"

#include "server_plugin/enroll/profile.h"

#include <CUnit/CUnit.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

char *tmp_dir;

/* ---- small helpers ------------------------------------------------------- */

char *tmp_path(const char *name) { return g_build_filename(tmp_dir, name, NULL); }

int contains(const char *hay, const char *needle)
{
    if (hay && strstr(hay, needle))
        return 1;
    fprintf(stderr, "\n  expected \"%s\" in:\n%s\n", needle, hay ? hay : "(null)");
    return 0;
}

/* Run argv (PATH searched) in tmp_dir; exit status or -1. */
int run_argv(char **out, char **err, const char *const *argv)
{
    return mdmfx_spawn(tmp_dir, out, err, argv);
}

plist_t parse_xml(const char *xml, size_t len)
{
    plist_t root = NULL;
    plist_from_xml(xml, (uint32_t)len, &root);
    return root;
}

/* ---- judging a profile --------------------------------------------------- */

/* `d` is a dict with exactly the NULL-terminated `keys`. */
static int keys_are(plist_t d, const char *const *keys)
{
    uint32_t n = 0;
    if (!d || plist_get_node_type(d) != PLIST_DICT)
        return 0;
    for (; keys[n]; n++)
        if (!plist_dict_get_item(d, keys[n])) {
            fprintf(stderr, "\n  missing key %s\n", keys[n]);
            return 0;
        }
    if (plist_dict_get_size(d) != n) {
        fprintf(stderr, "\n  %u keys, expected %u\n", plist_dict_get_size(d), n);
        return 0;
    }
    return 1;
}

static int str_is(plist_t d, const char *key, const char *want)
{
    plist_t v = plist_dict_get_item(d, key);
    if (v && plist_get_node_type(v) == PLIST_STRING && plist_string_val_compare(v, want) == 0)
        return 1;
    fprintf(stderr, "\n  %s is not the string \"%s\"\n", key, want);
    return 0;
}

static int uint_is(plist_t d, const char *key, uint64_t want)
{
    plist_t v = plist_dict_get_item(d, key);
    return v && plist_get_node_type(v) == PLIST_UINT && plist_uint_val_compare(v, want) == 0;
}

static int true_at(plist_t d, const char *key)
{
    plist_t v = plist_dict_get_item(d, key);
    return v && plist_get_node_type(v) == PLIST_BOOLEAN && plist_bool_val_is_true(v);
}

const char *str_at(plist_t d, const char *key)
{
    plist_t v = plist_dict_get_item(d, key);
    if (!v || plist_get_node_type(v) != PLIST_STRING)
        return "";
    return plist_get_string_ptr(v, NULL);
}

/* An upper-case RFC 4122 UUID. */
static int uuid_ok(const char *u)
{
    g_autofree char *lower = g_ascii_strdown(u, -1);
    g_autofree char *upper = g_ascii_strup(u, -1);
    return g_uuid_string_is_valid(lower) && strcmp(u, upper) == 0;
}

/* arr is [[oid, value]]: one RDN with one pair. */
static int rdn_is(plist_t arr, const char *oid, const char *value)
{
    plist_t pair = plist_array_get_item(arr, 0);
    return plist_get_node_type(arr) == PLIST_ARRAY && plist_array_get_size(arr) == 1 && pair &&
           plist_get_node_type(pair) == PLIST_ARRAY && plist_array_get_size(pair) == 2 &&
           plist_get_node_type(plist_array_get_item(pair, 0)) == PLIST_STRING &&
           plist_string_val_compare(plist_array_get_item(pair, 0), oid) == 0 &&
           plist_get_node_type(plist_array_get_item(pair, 1)) == PLIST_STRING &&
           plist_string_val_compare(plist_array_get_item(pair, 1), value) == 0;
}

static void check_scep(plist_t scep, expected *e)
{
    static const char *const payload_keys[] = {"PayloadContent", "PayloadIdentifier",
                                               "PayloadType", "PayloadUUID", "PayloadVersion",
                                               NULL};
    static const char *const content_keys[] = {"URL", "Challenge", "Keysize", "Key Type",
                                               "Key Usage", "Subject", NULL};
    g_autofree char *url = g_strconcat(e->base, "/mdm/apple/scep", NULL);
    g_autofree char *cn = g_strconcat(e->org, " Identity", NULL);

    CU_ASSERT_FATAL(keys_are(scep, payload_keys));
    CU_ASSERT(str_is(scep, "PayloadType", "com.apple.security.scep"));
    CU_ASSERT(str_is(scep, "PayloadIdentifier", ORCHARD_ENROLL_PROFILE_ID ".scep"));
    CU_ASSERT(uint_is(scep, "PayloadVersion", 1));
    e->uuids[1] = str_at(scep, "PayloadUUID");
    plist_t c = plist_dict_get_item(scep, "PayloadContent");
    CU_ASSERT_FATAL(keys_are(c, content_keys));
    CU_ASSERT(str_is(c, "URL", url));
    CU_ASSERT(str_is(c, "Challenge", e->challenge));
    CU_ASSERT(uint_is(c, "Keysize", 2048));
    CU_ASSERT(str_is(c, "Key Type", "RSA"));
    CU_ASSERT(uint_is(c, "Key Usage", 5));
    /* [[["O", org]], [["CN", "<org> Identity"]]] */
    plist_t subject = plist_dict_get_item(c, "Subject");
    CU_ASSERT_FATAL(plist_get_node_type(subject) == PLIST_ARRAY);
    CU_ASSERT_FATAL(plist_array_get_size(subject) == 2);
    CU_ASSERT(rdn_is(plist_array_get_item(subject, 0), "O", e->org));
    CU_ASSERT(rdn_is(plist_array_get_item(subject, 1), "CN", cn));
}

static void check_mdm(plist_t mdm, expected *e)
{
    static const char *const keys[] = {"PayloadIdentifier", "PayloadType", "PayloadUUID",
                                       "PayloadVersion", "ServerURL", "Topic", "AccessRights",
                                       "SignMessage", "CheckOutWhenRemoved",
                                       "IdentityCertificateUUID", "ServerCapabilities", NULL};
    g_autofree char *url = g_strconcat(e->base, "/mdm/apple/mdm", NULL);

    CU_ASSERT_FATAL(keys_are(mdm, keys));
    CU_ASSERT(str_is(mdm, "PayloadType", "com.apple.mdm"));
    CU_ASSERT(str_is(mdm, "PayloadIdentifier", ORCHARD_ENROLL_PROFILE_ID ".mdm"));
    CU_ASSERT(uint_is(mdm, "PayloadVersion", 1));
    CU_ASSERT(str_is(mdm, "ServerURL", url));
    CU_ASSERT(str_is(mdm, "Topic", e->topic));
    CU_ASSERT(uint_is(mdm, "AccessRights", 8191));
    CU_ASSERT(true_at(mdm, "SignMessage"));
    CU_ASSERT(true_at(mdm, "CheckOutWhenRemoved"));
    e->uuids[2] = str_at(mdm, "PayloadUUID");
    /* The MDM identity is the certificate the SCEP payload gets. */
    CU_ASSERT_STRING_EQUAL(str_at(mdm, "IdentityCertificateUUID"), e->uuids[1]);
    plist_t caps = plist_dict_get_item(mdm, "ServerCapabilities");
    CU_ASSERT_FATAL(plist_get_node_type(caps) == PLIST_ARRAY);
    CU_ASSERT_FATAL(plist_array_get_size(caps) == 2);
    CU_ASSERT(plist_string_val_compare(plist_array_get_item(caps, 0),
                                       "com.apple.mdm.per-user-connections") == 0);
    CU_ASSERT(plist_string_val_compare(plist_array_get_item(caps, 1),
                                       "com.apple.mdm.bootstraptoken") == 0);
}

/* Every key, value and type of §5; nothing more. */
void check_profile(plist_t root, expected *e)
{
    static const char *const keys[] = {"PayloadContent", "PayloadDisplayName",
                                       "PayloadIdentifier", "PayloadOrganization",
                                       "PayloadScope", "PayloadType", "PayloadUUID",
                                       "PayloadVersion", NULL};
    g_autofree char *display = g_strconcat(e->org, " enrollment", NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_FATAL(keys_are(root, keys));
    CU_ASSERT(str_is(root, "PayloadType", "Configuration"));
    CU_ASSERT(str_is(root, "PayloadScope", "System"));
    CU_ASSERT(str_is(root, "PayloadIdentifier", ORCHARD_ENROLL_PROFILE_ID));
    CU_ASSERT(str_is(root, "PayloadDisplayName", display));
    CU_ASSERT(str_is(root, "PayloadOrganization", e->org));
    CU_ASSERT(uint_is(root, "PayloadVersion", 1));
    e->uuids[0] = str_at(root, "PayloadUUID");

    plist_t payloads = plist_dict_get_item(root, "PayloadContent");
    CU_ASSERT_FATAL(plist_get_node_type(payloads) == PLIST_ARRAY);
    /* Exactly two: anything injected would show up here. */
    CU_ASSERT_FATAL(plist_array_get_size(payloads) == 2);
    check_scep(plist_array_get_item(payloads, 0), e);
    check_mdm(plist_array_get_item(payloads, 1), e);

    for (int i = 0; i < 3; i++) {
        CU_ASSERT(uuid_ok(e->uuids[i]));
        for (int j = 0; j < i; j++)
            CU_ASSERT(strcmp(e->uuids[i], e->uuids[j]) != 0);
    }
}

/* ---- a signed profile ---------------------------------------------------- */

/* openssl cms -verify on `der` (trusting the signing cert); the content. g_free. */
char *cms_verify(const unsigned char *der, size_t len, gsize *content_len)
{
    g_autofree char *in = tmp_path("signed.mobileconfig");
    g_autofree char *out = tmp_path("content.xml");
    g_autofree char *err = NULL;
    char *content = NULL;
    g_unlink(out);
    CU_ASSERT_FATAL(g_file_set_contents(in, (const char *)der, (gssize)len, NULL));
    int rc = RUN(NULL, &err, "openssl", "cms", "-verify", "-inform", "DER", "-in", in,
                 "-CAfile", "sign.crt", "-purpose", "any", "-binary", "-out", out);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc) {
        fprintf(stderr, "\n  openssl cms -verify: %s\n", err ? err : "");
        return NULL;
    }
    CU_ASSERT(contains(err, "Verification successful"));
    CU_ASSERT_FATAL(g_file_get_contents(out, &content, content_len, NULL));
    return content;
}

/* ---- suite setup ------------------------------------------------------------ */

/* A throwaway profile-signing pair, made now and never committed. */
static int make_signing_pair(void)
{
    return RUN(NULL, NULL, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
               "sign.key", "-subj", "/O=orchard tests/CN=Profile Signing", "-days", "2", "-out",
               "sign.crt") == 0 &&
                   RUN(NULL, NULL, "openssl", "genrsa", "-out", "other.key", "2048") == 0
               ? 0
               : -1;
}

int enroll_fixture_init(void)
{
    tmp_dir = g_dir_make_tmp("orchard-enroll-XXXXXX", NULL);
    if (!tmp_dir || make_signing_pair())
        return -1;
    return 0;
}

int enroll_fixture_cleanup(void)
{
    if (tmp_dir) {
        const char *argv[] = {"rm", "-rf", tmp_dir, NULL};
        g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                     NULL, NULL);
    }
    g_clear_pointer(&tmp_dir, g_free);
    return 0;
}
