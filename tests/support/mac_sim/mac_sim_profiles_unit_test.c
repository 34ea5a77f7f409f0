/* The simulated Mac's profiles and OS version (part of ctest mac_sim_units,
 * registered by mac_sim_unit_test.c): InstallProfile / RemoveProfile /
 * ProfileList against its folder, hostile payloads (not a plist, truncated,
 * huge, deep, escaping identifiers), --fail-profile, managed preferences
 * written as macOS does, DeviceInformation answering only what was asked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <openssl/cms.h>
#include <plist/plist.h>

#include "tests/support/mac_sim/mac_sim.h"

void macsim_profiles_tests(CU_pSuite s, const char *tmp, EVP_PKEY **key, X509 **cert);

static const char *tmp_dir;
/* The suite's key and certificate, made by its init after registration. */
static EVP_PKEY **sign_key;
static X509 **sign_cert;

/* A profile with one Nudge payload (and a com.apple one that is no
 * preference domain); `extra` is spliced into the top level. */
static char *nudge_profile(const char *identifier, const char *version, const char *extra)
{
    const char *fmt =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>"
        "<key>PayloadType</key><string>Configuration</string>"
        "<key>PayloadIdentifier</key><string>%s</string>"
        "<key>PayloadUUID</key><string>UUID-%s</string>"
        "<key>PayloadDisplayName</key><string>Nudge %s</string>"
        "<key>PayloadVersion</key><integer>1</integer>%s"
        "<key>PayloadContent</key><array>"
        "<dict><key>PayloadType</key><string>com.github.macadmins.Nudge</string>"
        "<key>PayloadIdentifier</key><string>%s.nudge</string>"
        "<key>PayloadUUID</key><string>P-%s</string><key>PayloadVersion</key><integer>1</integer>"
        "<key>osVersionRequirements</key><array><dict>"
        "<key>requiredMinimumOSVersion</key><string>%s</string>"
        "<key>requiredInstallationDate</key><string>2027-01-15T20:00:00Z</string>"
        "</dict></array></dict>"
        "<dict><key>PayloadType</key><string>com.apple.dock</string>"
        "<key>PayloadIdentifier</key><string>%s.dock</string><key>orientation</key>"
        "<string>left</string></dict>"
        "</array></dict></plist>\n";
    size_t n = strlen(fmt) + 6 * strlen(identifier) + 3 * strlen(version) + strlen(extra) + 1;
    char *s = malloc(n);
    snprintf(s, n, fmt, identifier, version, version, extra, identifier, version, version,
             identifier);
    return s;
}

static orchard_macsim_mac *new_mac(unsigned index)
{
    char *dir = orchard_macsim_mac_dir(tmp_dir, 100 + index);
    orchard_macsim_mac *m = NULL;
    CU_ASSERT_FATAL(orchard_macsim_mac_new(&m, dir, 2, 100 + index, NULL) == 0);
    CU_ASSERT_FATAL(orchard_macsim_mac_save(m, NULL) == 0);
    free(dir);
    return m;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static char *str_of(plist_t d, const char *k)
{
    plist_t v = d ? plist_dict_get_item(d, k) : NULL;
    char *s = NULL;
    if (v && plist_get_node_type(v) == PLIST_STRING)
        plist_get_string_val(v, &s);
    return s ? s : strdup("");
}

/* ---- install, replace, list, remove ----------------------------------------------- */

static void test_mac_sim__profiles_install_list_remove(void)
{
    orchard_macsim_mac *m = new_mac(1);
    char *p1 = nudge_profile("com.example.a", "14.4", ""), *p2 = nudge_profile("com.example.b",
                                                                               "13.0", "");
    char *id = NULL;
    CU_ASSERT_EQUAL(orchard_macsim_profile_install(m, p1, strlen(p1), &id, NULL), 0);
    CU_ASSERT_STRING_EQUAL(id, "com.example.a");
    free(id);
    CU_ASSERT_EQUAL(orchard_macsim_profile_install(m, p2, strlen(p2), NULL, NULL), 0);
    char *ids = orchard_macsim_profile_ids(m);
    CU_ASSERT_STRING_EQUAL(ids, "com.example.a,com.example.b");
    free(ids);

    /* ProfileList: the enrollment profile, then both, with payload summaries. */
    plist_t list = orchard_macsim_profile_list(m);
    CU_ASSERT_FATAL(plist_array_get_size(list) == 3);
    plist_t a = plist_array_get_item(list, 1);
    char *s = str_of(a, "PayloadUUID");
    CU_ASSERT_STRING_EQUAL(s, "UUID-14.4");
    free(s);
    uint8_t managed = 0;
    plist_get_bool_val(plist_dict_get_item(a, "IsManaged"), &managed);
    CU_ASSERT_EQUAL(managed, 1);
    plist_t content = plist_dict_get_item(a, "PayloadContent");
    CU_ASSERT_FATAL(content && plist_array_get_size(content) == 2);
    s = str_of(plist_array_get_item(content, 0), "PayloadType");
    CU_ASSERT_STRING_EQUAL(s, "com.github.macadmins.Nudge");
    free(s);
    /* A summary, not the settings themselves. */
    CU_ASSERT_PTR_NULL(plist_dict_get_item(plist_array_get_item(content, 0),
                                           "osVersionRequirements"));
    plist_free(list);

    /* Same identifier, new content: replaced, not added. */
    char *p1b = nudge_profile("com.example.a", "15.0", "");
    CU_ASSERT_EQUAL(orchard_macsim_profile_install(m, p1b, strlen(p1b), NULL, NULL), 0);
    list = orchard_macsim_profile_list(m);
    CU_ASSERT_EQUAL(plist_array_get_size(list), 3);
    s = str_of(plist_array_get_item(list, 1), "PayloadUUID");
    CU_ASSERT_STRING_EQUAL(s, "UUID-15.0");
    free(s);
    plist_free(list);

    CU_ASSERT_EQUAL(orchard_macsim_profile_remove(m, "com.example.a", NULL), 0);
    CU_ASSERT_EQUAL(orchard_macsim_profile_remove(m, "com.example.a", NULL), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_macsim_profile_remove(m, "", NULL), ORCHARD_ENOTFOUND);
    ids = orchard_macsim_profile_ids(m);
    CU_ASSERT_STRING_EQUAL(ids, "com.example.b");
    free(ids);
    free(p1);
    free(p1b);
    free(p2);
    orchard_macsim_mac_free(m);
}

/* A CMS SignedData around the profile installs its content. */
static void test_mac_sim__profiles_signed(void)
{
    orchard_macsim_mac *m = new_mac(2);
    char *p = nudge_profile("com.example.signed", "14.4", "");
    BIO *in = BIO_new_mem_buf(p, (int)strlen(p));
    CMS_ContentInfo *cms = CMS_sign(*sign_cert, *sign_key, NULL, in, CMS_BINARY | CMS_NOSMIMECAP);
    unsigned char *der = NULL;
    int n = cms ? i2d_CMS_ContentInfo(cms, &der) : 0;
    CU_ASSERT_FATAL(n > 0);
    char *id = NULL;
    CU_ASSERT_EQUAL(orchard_macsim_profile_install(m, der, (size_t)n, &id, NULL), 0);
    CU_ASSERT_STRING_EQUAL(id ? id : "", "com.example.signed");
    free(id);
    /* Truncated DER is neither a plist nor CMS. */
    CU_ASSERT_EQUAL(orchard_macsim_profile_install(m, der, (size_t)n / 2, NULL, NULL),
                    ORCHARD_EINVAL);
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    free(p);
    orchard_macsim_mac_free(m);
}

static void test_mac_sim__profiles_hostile(void)
{
    orchard_macsim_mac *m = new_mac(3);
    char *good = nudge_profile("com.example.h", "14.4", "");
    const char *bad[] = {
        "not a plist at all",
        "<plist version=\"1.0\"><array/></plist>",
        "<plist version=\"1.0\"><dict><key>PayloadType</key><string>Configuration</string>"
        "</dict></plist>", /* no identifier */
        "<plist version=\"1.0\"><dict><key>PayloadType</key><string>com.apple.mdm</string>"
        "<key>PayloadIdentifier</key><string>x</string></dict></plist>", /* not Configuration */
        "<plist version=\"1.0\"><dict><key>PayloadType</key><string>Configuration</string>"
        "<key>PayloadIdentifier</key><string>x</string><key>PayloadContent</key>"
        "<string>x</string></dict></plist>", /* PayloadContent not an array */
        "<plist version=\"1.0\"><dict><key>PayloadType</key><string>Configuration</string>"
        "<key>PayloadIdentifier</key><string>x</string><key>PayloadContent</key>"
        "<array><string>x</string></array></dict></plist>", /* a payload not a dict */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *err = NULL;
        CU_ASSERT_EQUAL(orchard_macsim_profile_install(m, bad[i], strlen(bad[i]), NULL, &err),
                        ORCHARD_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(err);
        free(err);
    }
    CU_ASSERT_EQUAL(orchard_macsim_profile_install(m, good, strlen(good) - 40, NULL, NULL),
                    ORCHARD_EINVAL); /* truncated */
    CU_ASSERT_EQUAL(orchard_macsim_profile_install(m, good, 0, NULL, NULL), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_macsim_profile_install(m, NULL, 10, NULL, NULL), ORCHARD_EINVAL);

    /* Huge: refused before it is parsed. */
    size_t huge_len = ORCHARD_MACSIM_PROFILE_MAX + 1;
    char *huge = malloc(huge_len);
    CU_ASSERT_FATAL(huge != NULL);
    memset(huge, ' ', huge_len);
    memcpy(huge, good, strlen(good));
    CU_ASSERT_EQUAL(orchard_macsim_profile_install(m, huge, huge_len, NULL, NULL),
                    ORCHARD_ETOOBIG);
    free(huge);

    /* Deep nesting would overflow libplist 2.2's recursion: the guard refuses it. */
    size_t depth = 100000;
    char *deep = malloc(depth * 15 + 200);
    char *o = deep + sprintf(deep, "<plist version=\"1.0\">");
    for (size_t i = 0; i < depth; i++)
        o += sprintf(o, "<array>");
    for (size_t i = 0; i < depth; i++)
        o += sprintf(o, "</array>");
    sprintf(o, "</plist>");
    CU_ASSERT_NOT_EQUAL(orchard_macsim_profile_install(m, deep, strlen(deep), NULL, NULL), 0);
    free(deep);

    /* An identifier that looks like a path stays a file in profiles/. */
    char *escape = nudge_profile("../../escaped/x", "14.4", "");
    CU_ASSERT_EQUAL(orchard_macsim_profile_install(m, escape, strlen(escape), NULL, NULL), 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/escaped", tmp_dir);
    CU_ASSERT_FALSE(exists(path));
    char *ids = orchard_macsim_profile_ids(m);
    CU_ASSERT_STRING_EQUAL(ids, "../../escaped/x");
    free(ids);
    CU_ASSERT_EQUAL(orchard_macsim_profile_remove(m, "../../escaped/x", NULL), 0);
    ids = orchard_macsim_profile_ids(m);
    CU_ASSERT_STRING_EQUAL(ids, ""); /* nothing installed from the hostile ones */
    free(ids);
    free(escape);
    free(good);
    orchard_macsim_mac_free(m);
}

/* ---- commands: execute, --fail-profile, reports ------------------------------------ */

static orchard_macsim_command install_cmd(const char *profile, size_t len)
{
    orchard_macsim_command c = {.command_uuid = strdup("C-I"),
                                .request_type = strdup("InstallProfile")};
    c.command = plist_new_dict();
    plist_dict_set_item(c.command, "RequestType", plist_new_string("InstallProfile"));
    if (profile)
        plist_dict_set_item(c.command, "Payload", plist_new_data(profile, len));
    return c;
}

static char *first_error(const orchard_macsim_command *c)
{
    plist_t e = c->error_chain ? plist_array_get_item(c->error_chain, 0) : NULL;
    return str_of(e, "LocalizedDescription");
}

static void test_mac_sim__execute(void)
{
    orchard_macsim_mac *m = new_mac(4);
    char root[512];
    snprintf(root, sizeof root, "%s/root4", tmp_dir);
    char *p = nudge_profile("com.example.n", "14.4", "");
    orchard_macsim_command c = install_cmd(p, strlen(p));
    CU_ASSERT_EQUAL(orchard_macsim_execute(m, &c, NULL, 0, root), ORCHARD_MACSIM_ACK);
    CU_ASSERT_PTR_NULL(c.error_chain);
    orchard_macsim_command_clear(&c);

    /* --fail-profile (the run's or the Mac's own): Error with the identifier named. */
    const char *fail[] = {"com.example.n"};
    c = install_cmd(p, strlen(p));
    CU_ASSERT_EQUAL(orchard_macsim_execute(m, &c, fail, 1, root), ORCHARD_MACSIM_ERROR);
    char *msg = first_error(&c);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "com.example.n"));
    free(msg);
    char *xml = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(orchard_macsim_report_body(&xml, &len, m, &c, ORCHARD_MACSIM_ERROR, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "told to fail installing the profile"));
    free(xml);
    orchard_macsim_command_clear(&c);
    CU_ASSERT_EQUAL(orchard_macsim_fail_profile_add(m, "com.example.n"), 0);
    c = install_cmd(p, strlen(p));
    CU_ASSERT_EQUAL(orchard_macsim_execute(m, &c, NULL, 0, NULL), ORCHARD_MACSIM_ERROR);
    orchard_macsim_command_clear(&c);

    /* No Payload, a Payload that is no profile: Error, nothing installed. */
    c = install_cmd(NULL, 0);
    CU_ASSERT_EQUAL(orchard_macsim_execute(m, &c, NULL, 0, NULL), ORCHARD_MACSIM_ERROR);
    orchard_macsim_command_clear(&c);
    c = install_cmd("garbage", 7);
    CU_ASSERT_EQUAL(orchard_macsim_execute(m, &c, NULL, 0, NULL), ORCHARD_MACSIM_ERROR);
    msg = first_error(&c);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "could not be installed"));
    free(msg);
    orchard_macsim_command_clear(&c);

    /* RemoveProfile: an unknown identifier is an Error, as on a Mac. */
    orchard_macsim_command r = {.command_uuid = strdup("C-R"),
                                .request_type = strdup("RemoveProfile")};
    r.command = plist_new_dict();
    plist_dict_set_item(r.command, "Identifier", plist_new_string("com.example.n"));
    CU_ASSERT_EQUAL(orchard_macsim_execute(m, &r, NULL, 0, root), ORCHARD_MACSIM_ACK);
    CU_ASSERT_EQUAL(orchard_macsim_execute(m, &r, NULL, 0, root), ORCHARD_MACSIM_ERROR);
    msg = first_error(&r);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "com.example.n"));
    free(msg);
    orchard_macsim_command_clear(&r);
    r = (orchard_macsim_command){.command_uuid = strdup("C-R"),
                                 .request_type = strdup("RemoveProfile"),
                                 .command = plist_new_dict()};
    CU_ASSERT_EQUAL(orchard_macsim_execute(m, &r, NULL, 0, NULL), ORCHARD_MACSIM_ERROR);
    orchard_macsim_command_clear(&r);
    free(p);
    orchard_macsim_mac_free(m);
}

/* The command parser keeps the Command dictionary for execute. */
static void test_mac_sim__command_keeps_body(void)
{
    const char *xml = "<plist version=\"1.0\"><dict><key>CommandUUID</key><string>U</string>"
                      "<key>Command</key><dict><key>RequestType</key><string>RemoveProfile"
                      "</string><key>Identifier</key><string>com.x</string></dict></dict>"
                      "</plist>";
    orchard_macsim_command c = {0};
    CU_ASSERT_FATAL(orchard_macsim_command_parse(&c, xml, strlen(xml), NULL) == 0);
    char *id = str_of(c.command, "Identifier");
    CU_ASSERT_STRING_EQUAL(id, "com.x");
    free(id);
    orchard_macsim_command_clear(&c);
    CU_ASSERT_PTR_NULL(c.command);
}

/* ---- managed preferences ----------------------------------------------------------- */

static plist_t read_plist(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    plist_t p = NULL;
    plist_from_memory(buf, (uint32_t)n, &p);
    return p;
}

static void test_mac_sim__managed_prefs(void)
{
    orchard_macsim_mac *m = new_mac(5);
    m->os_version = strdup("13.6");
    char root[512], nudge[700], dock[700], sysver[700];
    snprintf(root, sizeof root, "%s/root5", tmp_dir);
    snprintf(nudge, sizeof nudge,
             "%s/Library/Managed Preferences/com.github.macadmins.Nudge.plist", root);
    snprintf(dock, sizeof dock, "%s/Library/Managed Preferences/com.apple.dock.plist", root);
    snprintf(sysver, sizeof sysver, "%s/System/Library/CoreServices/SystemVersion.plist", root);
    char *p = nudge_profile("com.example.mp", "14.4", "");
    orchard_macsim_command c = install_cmd(p, strlen(p));
    CU_ASSERT_EQUAL(orchard_macsim_execute(m, &c, NULL, 0, root), ORCHARD_MACSIM_ACK);
    orchard_macsim_command_clear(&c);

    plist_t prefs = read_plist(nudge);
    CU_ASSERT_FATAL(prefs != NULL);
    CU_ASSERT_PTR_NOT_NULL(plist_dict_get_item(prefs, "osVersionRequirements"));
    CU_ASSERT_PTR_NULL(plist_dict_get_item(prefs, "PayloadType")); /* Payload* keys dropped */
    CU_ASSERT_PTR_NULL(plist_dict_get_item(prefs, "PayloadUUID"));
    plist_free(prefs);
    CU_ASSERT_FALSE(exists(dock)); /* com.apple.* payloads are no preference domain */
    plist_t v = read_plist(sysver);
    char *ver = str_of(v, "ProductVersion"), *build = str_of(v, "ProductBuildVersion");
    CU_ASSERT_STRING_EQUAL(ver, "13.6");
    CU_ASSERT_STRING_EQUAL(build, "22G120");
    free(ver);
    free(build);
    plist_free(v);

    /* Removing the profile removes the file macOS derived from it. */
    CU_ASSERT_EQUAL(orchard_macsim_profile_remove(m, "com.example.mp", NULL), 0);
    CU_ASSERT_EQUAL(orchard_macsim_managed_prefs_sync(m, root, NULL), 0);
    CU_ASSERT_FALSE(exists(nudge));
    free(p);
    orchard_macsim_mac_free(m);
}

/* The older form: com.apple.ManagedClient.preferences with Forced settings. */
static void test_mac_sim__managed_prefs_mcx(void)
{
    orchard_macsim_mac *m = new_mac(7);
    char root[512], path[700];
    snprintf(root, sizeof root, "%s/root7", tmp_dir);
    snprintf(path, sizeof path, "%s/Library/Managed Preferences/com.example.mcx.plist", root);
    const char *p =
        "<plist version=\"1.0\"><dict><key>PayloadType</key><string>Configuration</string>"
        "<key>PayloadIdentifier</key><string>com.example.mcx</string><key>PayloadContent</key>"
        "<array><dict><key>PayloadType</key><string>com.apple.ManagedClient.preferences</string>"
        "<key>PayloadContent</key><dict><key>com.example.mcx</key><dict><key>Forced</key><array>"
        "<dict><key>mcx_preference_settings</key><dict><key>Answer</key><integer>42</integer>"
        "</dict></dict></array></dict><key>../escape</key><dict><key>Forced</key><array><dict>"
        "<key>mcx_preference_settings</key><dict><key>x</key><true/></dict></dict></array>"
        "</dict></dict></dict></array></dict></plist>";
    CU_ASSERT_EQUAL(orchard_macsim_profile_install(m, p, strlen(p), NULL, NULL), 0);
    CU_ASSERT_EQUAL(orchard_macsim_managed_prefs_sync(m, root, NULL), 0);
    plist_t prefs = read_plist(path);
    uint64_t answer = 0;
    plist_t v = prefs ? plist_dict_get_item(prefs, "Answer") : NULL;
    if (v)
        plist_get_uint_val(v, &answer);
    CU_ASSERT_EQUAL(answer, 42);
    plist_free(prefs);
    char escaped[700];
    snprintf(escaped, sizeof escaped, "%s/Library/escape.plist", root);
    CU_ASSERT_FALSE(exists(escaped)); /* a domain that is a path is no domain */
    CU_ASSERT_EQUAL(orchard_macsim_profile_remove(m, "com.example.mcx", NULL), 0);
    CU_ASSERT_EQUAL(orchard_macsim_managed_prefs_sync(m, root, NULL), 0);
    CU_ASSERT_FALSE(exists(path));
    orchard_macsim_mac_free(m);
}

/* ---- OS version, DeviceInformation ------------------------------------------------- */

static void test_mac_sim__os_version(void)
{
    CU_ASSERT(orchard_macsim_version_ok("13.6"));
    CU_ASSERT(orchard_macsim_version_ok("14"));
    CU_ASSERT(orchard_macsim_version_ok("14.4.1"));
    const char *bad[] = {"", "14.", ".4", "14..4", "14.4.1.2", "Ventura 13", "14.4a", "1 4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_FALSE(orchard_macsim_version_ok(bad[i]));
    CU_ASSERT_FALSE(orchard_macsim_version_ok(NULL));

    orchard_macsim_mac *m = new_mac(6), *back = NULL;
    CU_ASSERT_STRING_EQUAL(orchard_macsim_os_version(m), ORCHARD_MACSIM_OS_VERSION);
    m->os_version = strdup("13.6");
    CU_ASSERT_STRING_EQUAL(orchard_macsim_build_version(m), "22G120");
    CU_ASSERT_EQUAL(orchard_macsim_fail_profile_add(m, "com.x"), 0);
    CU_ASSERT_EQUAL(orchard_macsim_fail_profile_add(m, "com.x"), 0); /* no duplicate */
    CU_ASSERT_EQUAL(m->n_fail_profiles, 1);
    CU_ASSERT_EQUAL(orchard_macsim_mac_save(m, NULL), 0);
    CU_ASSERT_FATAL(orchard_macsim_mac_load(&back, m->dir, NULL) == 0);
    CU_ASSERT_STRING_EQUAL(orchard_macsim_os_version(back), "13.6");
    CU_ASSERT_EQUAL(back->n_fail_profiles, 1);
    orchard_macsim_mac_free(back);

    /* Authenticate carries the version. */
    m->topic = strdup("com.apple.mgmt.x");
    char *xml = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(orchard_macsim_checkin_body(&xml, &len, m, "Authenticate", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<string>13.6</string>"));
    free(xml);

    /* DeviceInformation answers the Queries asked, nothing else. */
    orchard_macsim_command c = {.command_uuid = "C-D", .request_type = "DeviceInformation"};
    c.command = plist_new_dict();
    plist_t q = plist_new_array();
    plist_array_append_item(q, plist_new_string("OSVersion"));
    plist_array_append_item(q, plist_new_string("SerialNumber"));
    plist_array_append_item(q, plist_new_string("NoSuchQuery"));
    plist_array_append_item(q, plist_new_uint(7));
    plist_dict_set_item(c.command, "Queries", q);
    CU_ASSERT_EQUAL(orchard_macsim_report_body(&xml, &len, m, &c, ORCHARD_MACSIM_ACK, NULL), 0);
    plist_t r = NULL;
    plist_from_xml(xml, (uint32_t)len, &r);
    plist_t qr = plist_dict_get_item(r, "QueryResponses");
    CU_ASSERT_FATAL(qr != NULL);
    CU_ASSERT_EQUAL(plist_dict_get_size(qr), 2);
    char *os = str_of(qr, "OSVersion");
    CU_ASSERT_STRING_EQUAL(os, "13.6");
    free(os);
    plist_free(r);
    plist_free(c.command);
    free(xml);

    /* Changing the version later (mac_sim set) changes what is reported. */
    m->os_version[1] = '4'; /* "14.6" */
    CU_ASSERT_EQUAL(orchard_macsim_checkin_body(&xml, &len, m, "Authenticate", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<string>14.6</string>"));
    free(xml);
    orchard_macsim_mac_free(m);
}

void macsim_profiles_tests(CU_pSuite s, const char *tmp, EVP_PKEY **key, X509 **cert)
{
    tmp_dir = tmp;
    sign_key = key;
    sign_cert = cert;
    CU_add_test(s, "profiles_install_list_remove", test_mac_sim__profiles_install_list_remove);
    CU_add_test(s, "profiles_signed", test_mac_sim__profiles_signed);
    CU_add_test(s, "profiles_hostile", test_mac_sim__profiles_hostile);
    CU_add_test(s, "execute", test_mac_sim__execute);
    CU_add_test(s, "command_keeps_body", test_mac_sim__command_keeps_body);
    CU_add_test(s, "managed_prefs", test_mac_sim__managed_prefs);
    CU_add_test(s, "managed_prefs_mcx", test_mac_sim__managed_prefs_mcx);
    CU_add_test(s, "os_version", test_mac_sim__os_version);
}
