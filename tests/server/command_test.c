/* command: the admin's MDM command as POST /commands/run takes it
 * (server_plugin/commands/command.c): valid XML and binary plists, every
 * missing or mistyped part with its reason, and hostile shapes (huge, deep,
 * exploding binary references, truncated, not a plist) refused before
 * libplist could be hurt by them. */
#include "server_plugin/commands/command.h"
#include "tests/suites.h"

#include <orchard/plugin.h>

#include <CUnit/CUnit.h>
#include <glib.h>
#include <plist/plist.h>
#include <string.h>

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC " \
             "\"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n" \
             "<plist version=\"1.0\">\n"
#define TAIL "</plist>\n"

/* A command dict's XML with `inner` inside the top-level <dict>. g_free. */
static char *xml_of(const char *inner)
{
    return g_strconcat(HEAD "<dict>", inner, "</dict>" TAIL, NULL);
}

/* Parse text; the code, and the reason (g_free) in *reason when refused. */
static int parse_text(const char *text, orchard_command_parsed *c, char **reason)
{
    return orchard_command_parse(text, strlen(text), c, reason);
}

/* The command `inner` is refused with EINVAL and a reason holding `want`. */
static void refused(const char *inner, const char *want)
{
    g_autofree char *xml = xml_of(inner);
    g_autofree char *reason = NULL;
    orchard_command_parsed c;
    int rc = parse_text(xml, &c, &reason);
    CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(c.uuid);
    CU_ASSERT_PTR_NULL(c.xml);
    CU_ASSERT_PTR_NOT_NULL_FATAL(reason);
    if (!strstr(reason, want))
        fprintf(stderr, "\n  reason \"%s\" lacks \"%s\"\n", reason, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(reason, want));
}

static void test_valid_xml(void)
{
    g_autofree char *xml = xml_of("<key>CommandUUID</key><string>0001_Restart-x.y</string>"
                                  "<key>Command</key><dict><key>RequestType</key>"
                                  "<string>RestartDevice</string><key>NotifyUser</key><true/>"
                                  "</dict>");
    g_autofree char *reason = NULL;
    orchard_command_parsed c;
    CU_ASSERT_EQUAL_FATAL(parse_text(xml, &c, &reason), 0);
    CU_ASSERT_PTR_NULL(reason);
    CU_ASSERT_STRING_EQUAL(c.uuid, "0001_Restart-x.y");
    CU_ASSERT_STRING_EQUAL(c.request_type, "RestartDevice");
    CU_ASSERT_FALSE(c.generated_uuid);
    CU_ASSERT_EQUAL(c.xml_len, strlen(c.xml));
    /* The output is XML a device reads, with every key kept. */
    plist_t back = NULL;
    plist_from_xml(c.xml, (uint32_t)c.xml_len, &back);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    plist_t cmd = plist_dict_get_item(back, "Command");
    CU_ASSERT_EQUAL(plist_get_node_type(plist_dict_get_item(cmd, "NotifyUser")), PLIST_BOOLEAN);
    CU_ASSERT_STRING_EQUAL(plist_get_string_ptr(plist_dict_get_item(back, "CommandUUID"), NULL),
                           "0001_Restart-x.y");
    plist_free(back);
    orchard_command_parsed_clear(&c);
    CU_ASSERT_PTR_NULL(c.xml);
}

static void test_generated_uuid(void)
{
    g_autofree char *xml = xml_of("<key>Command</key><dict><key>RequestType</key>"
                                  "<string>DeviceInformation</string></dict>");
    orchard_command_parsed a, b;
    g_autofree char *ra = NULL, *rb = NULL;
    CU_ASSERT_EQUAL_FATAL(parse_text(xml, &a, &ra), 0);
    CU_ASSERT_EQUAL_FATAL(parse_text(xml, &b, &rb), 0);
    CU_ASSERT_TRUE(a.generated_uuid);
    CU_ASSERT_EQUAL(strlen(a.uuid), 36);
    CU_ASSERT_TRUE(g_uuid_string_is_valid(a.uuid));
    g_autofree char *upper = g_ascii_strup(a.uuid, -1);
    CU_ASSERT_STRING_EQUAL(a.uuid, upper);
    CU_ASSERT_STRING_NOT_EQUAL(a.uuid, b.uuid);
    /* The device receives the UUID it will report against. */
    g_autofree char *key = g_strdup_printf("<string>%s</string>", a.uuid);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.xml, "<key>CommandUUID</key>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.xml, key));
    orchard_command_parsed_clear(&a);
    orchard_command_parsed_clear(&b);
}

static void test_valid_binary(void)
{
    plist_t root = plist_new_dict(), cmd = plist_new_dict();
    plist_dict_set_item(cmd, "RequestType", plist_new_string("ProfileList"));
    plist_dict_set_item(root, "Command", cmd);
    plist_dict_set_item(root, "CommandUUID", plist_new_string("bin-1"));
    char *bin = NULL;
    uint32_t len = 0;
    plist_to_bin(root, &bin, &len);
    plist_free(root);
    CU_ASSERT_FATAL(bin && len > 8 && memcmp(bin, "bplist00", 8) == 0);
    orchard_command_parsed c;
    g_autofree char *reason = NULL;
    CU_ASSERT_EQUAL(orchard_command_parse(bin, len, &c, &reason), 0);
    CU_ASSERT_STRING_EQUAL(c.uuid, "bin-1");
    CU_ASSERT_STRING_EQUAL(c.request_type, "ProfileList");
    CU_ASSERT_TRUE(g_str_has_prefix(c.xml, "<?xml"));
    orchard_command_parsed_clear(&c);
    /* The same file cut short: refused, not read past its end. */
    for (uint32_t cut = 1; cut < len; cut += 7) {
        g_autofree char *r = NULL;
        int rc = orchard_command_parse(bin, len - cut, &c, &r);
        CU_ASSERT_NOT_EQUAL(rc, 0);
        CU_ASSERT_PTR_NOT_NULL(r);
    }
    plist_to_bin_free(bin);
}

static void test_missing_and_wrong_types(void)
{
    const char *cmd = "<key>Command</key><dict><key>RequestType</key><string>X</string></dict>";
    refused("<key>CommandUUID</key><string>a</string>", "Command is missing");
    refused("<key>Command</key><string>RestartDevice</string>", "Command must be a dictionary");
    refused("<key>Command</key><array/>", "Command must be a dictionary");
    refused("<key>Command</key><dict/>", "Command.RequestType is missing");
    refused("<key>Command</key><dict><key>requesttype</key><string>X</string></dict>",
            "Command.RequestType is missing");
    refused("<key>Command</key><dict><key>RequestType</key><integer>7</integer></dict>",
            "Command.RequestType must be a string");
    refused("<key>Command</key><dict><key>RequestType</key><string></string></dict>",
            "Command.RequestType is empty");
    refused("<key>Command</key><dict><key>RequestType</key><string>Restart Device</string>"
            "</dict>", "Command.RequestType must be at most");
    g_autofree char *long_type = g_strnfill(ORCHARD_COMMAND_TYPE_MAX + 1, 'A');
    g_autofree char *lt = g_strdup_printf("<key>Command</key><dict><key>RequestType</key>"
                                          "<string>%s</string></dict>", long_type);
    refused(lt, "Command.RequestType must be at most");

    g_autofree char *u_int = g_strconcat(cmd, "<key>CommandUUID</key><integer>1</integer>", NULL);
    refused(u_int, "CommandUUID must be a string");
    g_autofree char *u_empty = g_strconcat(cmd, "<key>CommandUUID</key><string/>", NULL);
    refused(u_empty, "CommandUUID is empty");
    static const char *const bad_uuids[] = {"a b", "x&lt;y", "semi;colon", "slash/no",
                                            "caf\xc3\xa9", "tab\there", "quote\""};
    for (size_t i = 0; i < G_N_ELEMENTS(bad_uuids); i++) {
        g_autofree char *t = g_strdup_printf("%s<key>CommandUUID</key><string>%s</string>", cmd,
                                             bad_uuids[i]);
        refused(t, "CommandUUID must be at most");
    }
    g_autofree char *long_uuid = g_strnfill(ORCHARD_COMMAND_UUID_MAX + 1, 'u');
    g_autofree char *lu = g_strdup_printf("%s<key>CommandUUID</key><string>%s</string>", cmd,
                                          long_uuid);
    refused(lu, "CommandUUID must be at most");
    /* ... and exactly at the limit is fine. */
    long_uuid[ORCHARD_COMMAND_UUID_MAX] = '\0';
    g_autofree char *ok = g_strdup_printf("%s<key>CommandUUID</key><string>%s</string>", cmd,
                                          long_uuid);
    g_autofree char *xml = xml_of(ok), *reason = NULL;
    orchard_command_parsed c;
    CU_ASSERT_EQUAL(parse_text(xml, &c, &reason), 0);
    orchard_command_parsed_clear(&c);

    /* The root must be a dictionary. */
    g_autofree char *r2 = NULL;
    CU_ASSERT_EQUAL(parse_text(HEAD "<array><string>x</string></array>" TAIL, &c, &r2),
                    ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(r2 && strstr(r2, "dictionary"));
}

static void test_not_a_plist(void)
{
    static const char *const bodies[] = {"hello", "{\"Command\": {}}", "<html><body/></html>",
                                         HEAD "<dict><key>Command</key><dict>" /* truncated */,
                                         "bplist00", "bplist00\x01\x02\x03"};
    for (size_t i = 0; i < G_N_ELEMENTS(bodies); i++) {
        orchard_command_parsed c;
        g_autofree char *reason = NULL;
        int rc = orchard_command_parse(bodies[i], strlen(bodies[i]), &c, &reason);
        CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(reason);
    }
    orchard_command_parsed c;
    g_autofree char *reason = NULL;
    CU_ASSERT_EQUAL(orchard_command_parse("", 0, &c, &reason), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(reason && strstr(reason, "empty"));
    g_free(reason);
    reason = NULL;
    CU_ASSERT_EQUAL(orchard_command_parse(NULL, 0, &c, &reason), ORCHARD_EINVAL);
}

static void test_huge(void)
{
    /* One byte over the cap, refused before anything reads it. */
    size_t n = ORCHARD_COMMAND_MAX_BYTES + 1;
    char *big = g_malloc(n);
    memset(big, ' ', n);
    orchard_command_parsed c;
    g_autofree char *reason = NULL;
    CU_ASSERT_EQUAL(orchard_command_parse(big, n, &c, &reason), ORCHARD_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(reason && strstr(reason, "limit"));
    g_free(big);
}

/* Command.Deep nested `levels` arrays deep (the whole plist: levels + 2). */
static char *deep_xml(int levels, const char *open, const char *close)
{
    GString *s = g_string_new(HEAD "<dict><key>Command</key><dict><key>RequestType</key>"
                                   "<string>X</string><key>Deep</key>");
    for (int i = 0; i < levels; i++)
        g_string_append(s, open);
    for (int i = 0; i < levels; i++)
        g_string_append(s, close);
    g_string_append(s, "</dict></dict>" TAIL);
    return g_string_free(s, FALSE);
}

static void test_deep_xml(void)
{
    orchard_command_parsed c;
    g_autofree char *at_cap = deep_xml(ORCHARD_COMMAND_MAX_DEPTH - 2, "<array>", "</array>");
    g_autofree char *r1 = NULL;
    CU_ASSERT_EQUAL(parse_text(at_cap, &c, &r1), 0);
    orchard_command_parsed_clear(&c);

    g_autofree char *over = deep_xml(ORCHARD_COMMAND_MAX_DEPTH - 1, "<array>", "</array>");
    g_autofree char *r2 = NULL;
    CU_ASSERT_EQUAL(parse_text(over, &c, &r2), ORCHARD_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(r2 && strstr(r2, "deeper"));

    /* Far past any stack libplist would survive, dicts and arrays mixed,
     * and without the closing tags (a truncated hostile body). */
    g_autofree char *dicts = deep_xml(200000, "<dict><key>k</key>", "</dict>");
    g_autofree char *r3 = NULL;
    CU_ASSERT_EQUAL(parse_text(dicts, &c, &r3), ORCHARD_ETOOBIG);
    GString *open_only = g_string_new(HEAD "<dict><key>Command</key>");
    for (int i = 0; i < 100000; i++)
        g_string_append(open_only, "<array >");
    g_autofree char *r4 = NULL;
    CU_ASSERT_EQUAL(orchard_command_parse(open_only->str, open_only->len, &c, &r4),
                    ORCHARD_ETOOBIG);
    g_string_free(open_only, TRUE);

    /* Containers that close themselves, and tags in comments, do not nest. */
    GString *flat = g_string_new(HEAD "<dict><!-- ");
    for (int i = 0; i < 100; i++)
        g_string_append(flat, "<array>");
    g_string_append(flat, " --><key>Command</key><dict><key>RequestType</key><string>X</string>"
                          "<key>E</key><array>");
    for (int i = 0; i < 100; i++)
        g_string_append(flat, "<dict/><array/>");
    g_string_append(flat, "</array></dict></dict>" TAIL);
    g_autofree char *r5 = NULL;
    CU_ASSERT_EQUAL(orchard_command_parse(flat->str, flat->len, &c, &r5), 0);
    orchard_command_parsed_clear(&c);
    g_string_free(flat, TRUE);
}

/* A binary plist of nested arrays by hand: object k (k < n) is an array of
 * `refs` references to object k+1; object n is an empty array. */
static GByteArray *nested_bplist(unsigned n, unsigned refs)
{
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, (const guint8 *)"bplist00", 8);
    GArray *offsets = g_array_new(FALSE, FALSE, sizeof(guint32));
    for (unsigned k = 0; k <= n; k++) {
        guint32 off = b->len;
        g_array_append_val(offsets, off);
        guint8 marker = k < n ? (guint8)(0xA0 | refs) : 0xA0;
        g_byte_array_append(b, &marker, 1);
        for (unsigned r = 0; k < n && r < refs; r++) {
            guint8 ref[2] = {(guint8)((k + 1) >> 8), (guint8)(k + 1)};
            g_byte_array_append(b, ref, 2);
        }
    }
    guint64 table = b->len;
    for (unsigned k = 0; k <= n; k++) {
        guint32 off = g_array_index(offsets, guint32, k);
        guint8 o[4] = {(guint8)(off >> 24), (guint8)(off >> 16), (guint8)(off >> 8), (guint8)off};
        g_byte_array_append(b, o, 4);
    }
    guint8 trailer[32] = {0};
    trailer[6] = 4; /* offset size */
    trailer[7] = 2; /* reference size */
    guint64 vals[3] = {n + 1, 0, table};
    for (int v = 0; v < 3; v++)
        for (int i = 0; i < 8; i++)
            trailer[8 + v * 8 + i] = (guint8)(vals[v] >> (8 * (7 - i)));
    g_byte_array_append(b, trailer, 32);
    g_array_free(offsets, TRUE);
    return b;
}

static void test_hostile_binary(void)
{
    orchard_command_parsed c;
    /* Deep: refused by depth, before libplist's recursion. */
    GByteArray *deep = nested_bplist(5000, 1);
    g_autofree char *r1 = NULL;
    CU_ASSERT_EQUAL(orchard_command_parse(deep->data, deep->len, &c, &r1), ORCHARD_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(r1 && strstr(r1, "deeper"));
    /* A loop (an array holding itself) is just as deep. */
    deep->data[8 + 1] = 0;
    deep->data[8 + 2] = 0;
    g_autofree char *r1b = NULL;
    CU_ASSERT_EQUAL(orchard_command_parse(deep->data, deep->len, &c, &r1b), ORCHARD_ETOOBIG);
    g_byte_array_unref(deep);
    /* Shallow but exploding: each level references the next 14 times. */
    GByteArray *wide = nested_bplist(8, 14);
    g_autofree char *r2 = NULL;
    CU_ASSERT_EQUAL(orchard_command_parse(wide->data, wide->len, &c, &r2), ORCHARD_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(r2 && strstr(r2, "objects"));
    g_byte_array_unref(wide);
    /* A reference past the objects, a trailer pointing outside the file. */
    GByteArray *bad = nested_bplist(3, 1);
    bad->data[8 + 2] = 0x77;
    g_autofree char *r3 = NULL;
    CU_ASSERT_EQUAL(orchard_command_parse(bad->data, bad->len, &c, &r3), ORCHARD_EINVAL);
    bad->data[8 + 2] = 1;
    bad->data[bad->len - 1] = 0xF0; /* the offset table's offset */
    g_autofree char *r4 = NULL;
    CU_ASSERT_EQUAL(orchard_command_parse(bad->data, bad->len, &c, &r4), ORCHARD_EINVAL);
    g_byte_array_unref(bad);
    /* Structurally sound but no dict at the top: libplist reads it, we refuse it. */
    GByteArray *arr = nested_bplist(3, 1);
    g_autofree char *r5 = NULL;
    CU_ASSERT_EQUAL(orchard_command_parse(arr->data, arr->len, &c, &r5), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(r5 && strstr(r5, "dictionary"));
    g_byte_array_unref(arr);
}

/* 2026-12-06, found by the command fuzzer: a string with NUL and control
 * bytes was accepted, and its XML (what the device receives) did not parse. */
static void test_regress_control_characters(void)
{
    /* In a binary plist, as a value and as a key. */
    static const char *const bad[] = {"a\x01" "b", "tab\tok\x7f"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        plist_t root = plist_new_dict(), cmd = plist_new_dict();
        plist_dict_set_item(cmd, "RequestType", plist_new_string("Settings"));
        plist_dict_set_item(cmd, i == 1 ? bad[i] : "Name", plist_new_string(bad[i]));
        plist_dict_set_item(root, "Command", cmd);
        char *bin = NULL;
        uint32_t len = 0;
        plist_to_bin(root, &bin, &len);
        plist_free(root);
        orchard_command_parsed c;
        g_autofree char *reason = NULL;
        CU_ASSERT_EQUAL(orchard_command_parse(bin, len, &c, &reason), ORCHARD_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(reason && strstr(reason, "not UTF-8 text"));
        plist_to_bin_free(bin);
    }
    /* In XML: a raw control byte, bytes that are not UTF-8, and the
     * fuzzer's input (NUL bytes inside a string). */
    static const char *const bad_xml[] = {"<string>a\x02</string>", "<string>\xff\xfe</string>"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad_xml); i++) {
        g_autofree char *inner = g_strconcat("<key>Command</key><dict><key>RequestType</key>"
                                             "<string>X</string><key>N</key>", bad_xml[i],
                                             "</dict>", NULL);
        g_autofree char *xml = xml_of(inner);
        orchard_command_parsed c;
        g_autofree char *reason = NULL;
        CU_ASSERT_EQUAL(parse_text(xml, &c, &reason), ORCHARD_EINVAL);
    }
    g_autofree char *path = g_build_filename(SOURCE_DIR, "tests", "fuzz", "corpus", "command",
                                             "regress_2026-12-06_nul_in_string.xml", NULL);
    g_autofree char *found = NULL;
    gsize found_len = 0;
    CU_ASSERT_FATAL(g_file_get_contents(path, &found, &found_len, NULL));
    orchard_command_parsed fc;
    g_autofree char *freason = NULL;
    if (orchard_command_parse(found, found_len, &fc, &freason) == 0) {
        /* Accepted only if what the device receives reads back. */
        orchard_command_parsed again;
        g_autofree char *r2 = NULL;
        CU_ASSERT_EQUAL(orchard_command_parse(fc.xml, fc.xml_len, &again, &r2), 0);
        orchard_command_parsed_clear(&again);
        orchard_command_parsed_clear(&fc);
    }

    /* Found next: a binary key "Command\0UID" that libplist reads as a
     * second "Command". (A key repeated in XML is merged by libplist's
     * parser, the last value winning, so the device sees it once.) */
    g_autofree char *kpath = g_build_filename(SOURCE_DIR, "tests", "fuzz", "corpus", "command",
                                              "regress_2026-12-06_nul_in_key.bplist", NULL);
    g_autofree char *kdata = NULL;
    gsize klen = 0;
    CU_ASSERT_FATAL(g_file_get_contents(kpath, &kdata, &klen, NULL));
    orchard_command_parsed kc;
    g_autofree char *kreason = NULL;
    CU_ASSERT_EQUAL(orchard_command_parse(kdata, klen, &kc, &kreason), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(kreason && strstr(kreason, "repeats the key \"Command\""));
    g_autofree char *dup = xml_of("<key>Command</key><dict><key>RequestType</key><string>X"
                                  "</string><key>A</key><true/><key>A</key><false/></dict>");
    g_autofree char *dreason = NULL;
    CU_ASSERT_EQUAL_FATAL(parse_text(dup, &kc, &dreason), 0);
    const char *first = strstr(kc.xml, "<key>A</key>");
    CU_ASSERT_TRUE(first && !strstr(first + 1, "<key>A</key>"));
    orchard_command_parsed_clear(&kc);

    /* Tabs, line breaks and any UTF-8 text are fine. */
    g_autofree char *xml = xml_of("<key>Command</key><dict><key>RequestType</key><string>X"
                                  "</string><key>N\xc3\xa4me</key><string>a\tb\r\nc "
                                  "\xe2\x9c\x93</string></dict>");
    orchard_command_parsed c;
    g_autofree char *reason = NULL;
    CU_ASSERT_EQUAL(parse_text(xml, &c, &reason), 0);
    orchard_command_parsed_clear(&c);
}

void command_suite(void)
{
    ORCHARD_ADD_SUITE("command", NULL, NULL,
                      {"valid XML keeps its UUID and keys", test_valid_xml},
                      {"a missing CommandUUID is generated", test_generated_uuid},
                      {"binary plists, whole and truncated", test_valid_binary},
                      {"missing parts and wrong types", test_missing_and_wrong_types},
                      {"not a plist", test_not_a_plist},
                      {"over the size cap", test_huge},
                      {"deep XML", test_deep_xml},
                      {"hostile binary plists", test_hostile_binary},
                      {"2026-12-06: control characters refused",
                       test_regress_control_characters});
}
