/* mac_source: paths under the root, plist/JSON readers fed malformed,
 * truncated, oversized and hostile input, the users listing, the command
 * runner against small shell scripts, and the `profiles` cache. Every case
 * builds its files in a temporary root made by the suite. */
#include "tests/suites.h"

#include "host/config.h"
#include "tables/mac/mac_source.h"
#include "host/plugins/registry.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp_root; /* the suite's scratch directory */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

static void set_config(const char *key, const char *value)
{
    orchard_config_set(orchard_config_global(), key, value);
}

static int suite_init(void)
{
    tmp_root = g_dir_make_tmp("orchard-mac-source-XXXXXX", NULL);
    return tmp_root ? 0 : 1;
}

static int suite_cleanup(void)
{
    orchard_mac_source_reset();
    set_config("agent.root", NULL); /* NULL unsets: later suites see defaults */
    set_config("agent.profiles_bin", NULL);
    set_config("agent.nudge_json", NULL);
    if (tmp_root)
        nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    g_free(tmp_root);
    tmp_root = NULL;
    return 0;
}

/* A fresh root directory <tmp>/<name> made current in the configuration. */
static char *use_root(const char *name)
{
    char *dir = g_build_filename(tmp_root, name, NULL);
    g_mkdir_with_parents(dir, 0755);
    set_config("agent.root", dir);
    return dir;
}

/* Write `len` bytes to <dir>/<rel>, making parents. */
static void put(const char *dir, const char *rel, const void *data, size_t len)
{
    g_autofree char *path = g_build_filename(dir, rel, NULL);
    g_autofree char *parent = g_path_get_dirname(path);
    g_mkdir_with_parents(parent, 0755);
    CU_ASSERT_FATAL(g_file_set_contents(path, data, (gssize)len, NULL));
}

static void put_str(const char *dir, const char *rel, const char *text)
{
    put(dir, rel, text, strlen(text));
}

/* A shell script <tmp>/bin/<name>, executable; returns its path. */
static char *script(const char *name, const char *body)
{
    g_autofree char *dir = g_build_filename(tmp_root, "bin", NULL);
    g_mkdir_with_parents(dir, 0755);
    char *path = g_build_filename(dir, name, NULL);
    g_autofree char *text = g_strdup_printf("#!/bin/sh\n%s\n", body);
    CU_ASSERT_FATAL(g_file_set_contents(path, text, -1, NULL));
    CU_ASSERT_FATAL(chmod(path, 0755) == 0);
    return path;
}

static orchard_mac_source *source(void) { return orchard_mac_source_get(orchard_host_api_get()); }

static int contains(const char *s, const char *needle) { return s && strstr(s, needle) != NULL; }

/* ------------------------------------------------------------------------ */
/* Paths and sources */

static void test_mac_source__paths(void)
{
    g_autofree char *root = use_root("paths");
    orchard_mac_source *src = source();
    CU_ASSERT_STRING_EQUAL(orchard_mac_source_root(src), root);

    g_autofree char *a = orchard_mac_path(src, "/Library/Preferences/x.plist");
    g_autofree char *b = orchard_mac_path(src, "Library/Preferences/x.plist");
    g_autofree char *want = g_build_filename(root, "Library/Preferences/x.plist", NULL);
    CU_ASSERT_STRING_EQUAL(a, want);
    CU_ASSERT_STRING_EQUAL(b, want);
    g_autofree char *dots = orchard_mac_path(src, "/a/.../..b/b..");
    CU_ASSERT_PTR_NOT_NULL(dots);
    static const char *refused[] = {"..", "/..", "../etc/passwd", "/Users/../../etc",
                                    "a/..", "a//..//b", "/Library/../.."};
    for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
        char *p = orchard_mac_path(src, refused[i]);
        CU_ASSERT_PTR_NULL(p);
        g_free(p);
    }
    CU_ASSERT_PTR_NULL(orchard_mac_path(src, NULL));

    put_str(root, "private/var/db/ConfigurationProfiles/Settings/.cloudConfigRecordFound", "");
    CU_ASSERT_TRUE(orchard_mac_exists(src, "/private/var/db/ConfigurationProfiles/Settings/"
                                           ".cloudConfigRecordFound"));
    CU_ASSERT_FALSE(orchard_mac_exists(src, "/private/var/db/ConfigurationProfiles/Settings/"
                                            ".cloudConfigRecordNotFound"));
    CU_ASSERT_FALSE(orchard_mac_exists(src, "/private/../private"));
}

static void test_mac_source__sources_keyed_by_root_and_bin(void)
{
    g_autofree char *r1 = use_root("keyed1");
    orchard_mac_source *s1 = source();
    CU_ASSERT_PTR_EQUAL(source(), s1);
    g_autofree char *r2 = use_root("keyed2");
    orchard_mac_source *s2 = source();
    CU_ASSERT_PTR_NOT_EQUAL(s1, s2);
    CU_ASSERT_STRING_EQUAL(orchard_mac_source_root(s2), r2);
    set_config("agent.profiles_bin", "/nonexistent/profiles");
    CU_ASSERT_PTR_NOT_EQUAL(source(), s2);
    set_config("agent.profiles_bin", NULL);
    CU_ASSERT_PTR_EQUAL(source(), s2);
    set_config("agent.root", r1);
    CU_ASSERT_PTR_EQUAL(source(), s1);

    CU_ASSERT_PTR_NULL(orchard_mac_source_nudge_json(s1));
    set_config("agent.nudge_json", "/opt/orbit/nudge-config.json");
    CU_ASSERT_STRING_EQUAL(orchard_mac_source_nudge_json(s1), "/opt/orbit/nudge-config.json");
    set_config("agent.nudge_json", NULL);

    set_config("agent.root", NULL);
    CU_ASSERT_STRING_EQUAL(orchard_mac_source_root(source()), "/");
}

/* ------------------------------------------------------------------------ */
/* Plists */

static const char xml_plist[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
    "<plist version=\"1.0\">\n<dict>\n"
    "\t<key>ProductName</key>\n\t<string>macOS</string>\n"
    "\t<key>ProductVersion</key>\n\t<string>13.4.1</string>\n"
    "\t<key>ProductVersionExtra</key>\n\t<string>(a)</string>\n"
    "\t<key>Items</key>\n\t<array><integer>1</integer><true/><dict/><array/></array>\n"
    "</dict>\n</plist>\n";

/* True when dict[key] is the string `want`. */
static int dict_string_is(plist_t dict, const char *key, const char *want)
{
    plist_t node = plist_dict_get_item(dict, key);
    char *value = NULL;
    if (node && plist_get_node_type(node) == PLIST_STRING)
        plist_get_string_val(node, &value);
    int same = value && strcmp(value, want) == 0;
    free(value);
    return same;
}

static void test_mac_source__plist_xml(void)
{
    g_autofree char *root = use_root("plist_xml");
    put_str(root, "System/Library/CoreServices/SystemVersion.plist", xml_plist);
    plist_t pl = NULL;
    char *err = NULL;
    int rc = orchard_mac_read_plist(source(), "/System/Library/CoreServices/SystemVersion.plist",
                                    &pl, &err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    CU_ASSERT_TRUE(dict_string_is(pl, "ProductVersion", "13.4.1"));
    CU_ASSERT_TRUE(dict_string_is(pl, "ProductVersionExtra", "(a)"));
    CU_ASSERT_EQUAL(plist_array_get_size(plist_dict_get_item(pl, "Items")), 4);
    plist_free(pl);
}

static void test_mac_source__plist_missing_and_refused(void)
{
    g_autofree char *root = use_root("plist_missing");
    plist_t pl = NULL;
    char *err = NULL;
    CU_ASSERT_EQUAL(orchard_mac_read_plist(source(), "/Library/Nope.plist", &pl, &err),
                    ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NULL(pl);
    CU_ASSERT_TRUE(contains(err, "Nope.plist"));
    g_free(err);
    err = NULL;
    CU_ASSERT_EQUAL(orchard_mac_read_plist(source(), "/Library/../../etc/passwd", &pl, &err),
                    ORCHARD_EINVAL);
    CU_ASSERT_TRUE(contains(err, ".."));
    g_free(err);
    err = NULL;
    /* a directory is not a plist */
    g_autofree char *d = g_build_filename(root, "Library/Dir.plist", NULL);
    g_mkdir_with_parents(d, 0755);
    CU_ASSERT_EQUAL(orchard_mac_read_plist(source(), "/Library/Dir.plist", &pl, &err),
                    ORCHARD_EINVAL);
    CU_ASSERT_TRUE(contains(err, "Dir.plist"));
    g_free(err);
}

/* A tree with every scalar type, nested a little. */
static plist_t sample_tree(void)
{
    plist_t root = plist_new_dict();
    plist_dict_set_item(root, "ProfileIdentifier", plist_new_string("com.example.mdm"));
    plist_dict_set_item(root, "AccessRights", plist_new_uint(8191));
    plist_dict_set_item(root, "SignMessage", plist_new_bool(1));
    plist_dict_set_item(root, "Ratio", plist_new_real(0.5));
    plist_dict_set_item(root, "Blob", plist_new_data("\x01\x02\x03", 3));
    plist_dict_set_item(root, "When", plist_new_date(700000000, 0));
    plist_t items = plist_new_array();
    for (int i = 0; i < 3; i++) {
        plist_t item = plist_new_dict();
        plist_dict_set_item(item, "PayloadType", plist_new_string("com.apple.mdm"));
        plist_array_append_item(items, item);
    }
    plist_dict_set_item(root, "ProfileItems", items);
    return root;
}

static GBytes *to_bin(plist_t tree)
{
    char *bin = NULL;
    uint32_t len = 0;
    plist_to_bin(tree, &bin, &len);
    GBytes *b = g_bytes_new(bin, len);
    plist_to_bin_free(bin);
    return b;
}

static void test_mac_source__plist_binary(void)
{
    g_autofree char *root = use_root("plist_bin");
    plist_t tree = sample_tree();
    GBytes *bin = to_bin(tree);
    gsize len;
    const char *data = g_bytes_get_data(bin, &len);
    CU_ASSERT_FATAL(len > 40 && memcmp(data, "bplist00", 8) == 0);
    put(root, "Library/Managed Preferences/x.plist", data, len);
    plist_t pl = NULL;
    char *err = NULL;
    CU_ASSERT_EQUAL(orchard_mac_read_plist(source(), "Library/Managed Preferences/x.plist", &pl,
                                           &err), 0);
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    CU_ASSERT_TRUE(dict_string_is(pl, "ProfileIdentifier", "com.example.mdm"));
    CU_ASSERT_EQUAL(plist_array_get_size(plist_dict_get_item(pl, "ProfileItems")), 3);
    CU_ASSERT_TRUE(plist_compare_node_value(plist_dict_get_item(pl, "Blob"),
                                            plist_dict_get_item(tree, "Blob")));
    plist_free(pl);

    /* Every truncation: no crash, always EINVAL, message names the origin. */
    for (size_t cut = 0; cut < len; cut++) {
        pl = NULL;
        err = NULL;
        int rc = orchard_mac_parse_plist(data, cut, "cut.plist", &pl, &err);
        CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
        CU_ASSERT_PTR_NULL(pl);
        CU_ASSERT_TRUE(contains(err, "cut.plist"));
        if (rc != ORCHARD_EINVAL)
            fprintf(stderr, "truncated at %zu: rc %d\n", cut, rc);
        if (pl)
            plist_free(pl);
        g_free(err);
    }
    /* Every byte overwritten with hostile values: no crash, a known code. */
    static const unsigned char values[] = {0x00, 0x0f, 0x7f, 0x80, 0xaf, 0xdf, 0xff};
    char *copy = g_memdup2(data, len);
    for (size_t i = 0; i < len; i++) {
        for (size_t v = 0; v < sizeof values; v++) {
            char saved = copy[i];
            copy[i] = (char)values[v];
            pl = NULL;
            err = NULL;
            int rc = orchard_mac_parse_plist(copy, len, "flip.plist", &pl, &err);
            CU_ASSERT(rc == 0 || rc == ORCHARD_EINVAL || rc == ORCHARD_ETOOBIG);
            CU_ASSERT((rc == 0) == (pl != NULL));
            if (pl)
                plist_free(pl);
            g_free(err);
            copy[i] = saved;
        }
    }
    g_free(copy);
    g_bytes_unref(bin);
    plist_free(tree);
}

/* A binary plist from hand-made objects: offsets 4 bytes, refs `ref_size`. */
static GByteArray *bplist_build(GPtrArray *objects, uint64_t top, unsigned ref_size)
{
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, (const guint8 *)"bplist00", 8);
    GArray *offsets = g_array_new(FALSE, FALSE, sizeof(guint32));
    for (guint i = 0; i < objects->len; i++) {
        GByteArray *o = g_ptr_array_index(objects, i);
        guint32 off = b->len;
        g_array_append_val(offsets, off);
        g_byte_array_append(b, o->data, o->len);
    }
    uint64_t table = b->len;
    for (guint i = 0; i < offsets->len; i++) {
        guint32 off = g_array_index(offsets, guint32, i);
        guint8 be[4] = {(guint8)(off >> 24), (guint8)(off >> 16), (guint8)(off >> 8), (guint8)off};
        g_byte_array_append(b, be, 4);
    }
    guint8 trailer[32] = {0};
    trailer[6] = 4;
    trailer[7] = (guint8)ref_size;
    uint64_t fields[3] = {objects->len, top, table};
    for (int f = 0; f < 3; f++)
        for (int i = 0; i < 8; i++)
            trailer[8 + f * 8 + i] = (guint8)(fields[f] >> (56 - 8 * i));
    g_byte_array_append(b, trailer, 32);
    g_array_unref(offsets);
    return b;
}

static GByteArray *obj(size_t n, const guint8 *bytes)
{
    GByteArray *o = g_byte_array_new();
    g_byte_array_append(o, bytes, (guint)n);
    return o;
}

/* `levels` arrays, each holding `fanout` references to the next (2-byte refs). */
static GByteArray *bplist_chain(unsigned levels, unsigned fanout)
{
    GPtrArray *objs = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
    for (unsigned i = 0; i < levels; i++) {
        GByteArray *o = g_byte_array_new();
        guint8 marker = (guint8)(0xA0 | fanout);
        g_byte_array_append(o, &marker, 1);
        for (unsigned f = 0; f < fanout; f++) {
            guint8 ref[2] = {(guint8)((i + 1) >> 8), (guint8)(i + 1)};
            g_byte_array_append(o, ref, 2);
        }
        g_ptr_array_add(objs, o);
    }
    g_ptr_array_add(objs, obj(2, (const guint8 *)"\x10\x07")); /* int 7 */
    GByteArray *b = bplist_build(objs, 0, 2);
    g_ptr_array_unref(objs);
    return b;
}

static int parse_rc(const void *data, size_t len)
{
    plist_t pl = NULL;
    char *err = NULL;
    int rc = orchard_mac_parse_plist(data, len, "hostile.plist", &pl, &err);
    if (rc == 0) {
        CU_ASSERT_PTR_NOT_NULL(pl);
    } else {
        CU_ASSERT_TRUE(contains(err, "hostile.plist"));
    }
    if (pl)
        plist_free(pl);
    g_free(err);
    return rc;
}

static void test_mac_source__plist_binary_hostile(void)
{
    /* The hand builder makes plists libplist accepts. */
    GByteArray *ok = bplist_chain(3, 1);
    CU_ASSERT_EQUAL(parse_rc(ok->data, ok->len), 0);
    /* 64 containers deep is the cap; 65 and 100 000 are refused before parsing */
    GByteArray *at_cap = bplist_chain(64, 1), *over = bplist_chain(65, 1);
    GByteArray *deep = bplist_chain(100000, 1);
    CU_ASSERT_EQUAL(parse_rc(at_cap->data, at_cap->len), 0);
    CU_ASSERT_EQUAL(parse_rc(over->data, over->len), ORCHARD_ETOOBIG);
    CU_ASSERT_EQUAL(parse_rc(deep->data, deep->len), ORCHARD_ETOOBIG);
    /* Shared references: 40 levels of two refs each would expand to 2^40 nodes */
    GByteArray *laughs = bplist_chain(40, 2);
    CU_ASSERT_EQUAL(parse_rc(laughs->data, laughs->len), ORCHARD_ETOOBIG);
    GByteArray *few = bplist_chain(8, 2); /* 2^8: fine */
    CU_ASSERT_EQUAL(parse_rc(few->data, few->len), 0);

    /* An array holding itself */
    GPtrArray *objs = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
    g_ptr_array_add(objs, obj(3, (const guint8 *)"\xA2\x00\x01"));
    g_ptr_array_add(objs, obj(2, (const guint8 *)"\x10\x01"));
    GByteArray *cycle = bplist_build(objs, 0, 1);
    CU_ASSERT_EQUAL(parse_rc(cycle->data, cycle->len), ORCHARD_EINVAL);

    /* Trailer lies, one field at a time, on a valid plist */
    struct { size_t at, n; uint64_t value; } lies[] = {
        {6, 1, 0}, {6, 1, 9}, {7, 1, 0}, {7, 1, 200},        /* offset/ref sizes */
        {8, 8, 0}, {8, 8, UINT64_MAX}, {8, 8, 1u << 30},     /* object count */
        {16, 8, 5}, {16, 8, UINT64_MAX},                     /* top object */
        {24, 8, 0}, {24, 8, 7}, {24, 8, UINT64_MAX}, {24, 8, 1u << 20}, /* table offset */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(lies); i++) {
        GByteArray *b = bplist_chain(3, 1);
        guint8 *t = b->data + b->len - 32;
        for (size_t k = 0; k < lies[i].n; k++)
            t[lies[i].at + k] = (guint8)(lies[i].value >> (8 * (lies[i].n - 1 - k)));
        CU_ASSERT_EQUAL(parse_rc(b->data, b->len), ORCHARD_EINVAL);
        g_byte_array_unref(b);
    }
    /* A string whose length runs past the end of the file */
    g_ptr_array_set_size(objs, 0);
    g_ptr_array_add(objs, obj(4, (const guint8 *)"\x5F\x13\xFF\xFF"));
    GByteArray *longstr = bplist_build(objs, 0, 1);
    CU_ASSERT_EQUAL(parse_rc(longstr->data, longstr->len), ORCHARD_EINVAL);
    /* A reference past the object count */
    g_ptr_array_set_size(objs, 0);
    g_ptr_array_add(objs, obj(2, (const guint8 *)"\xA1\x09"));
    GByteArray *badref = bplist_build(objs, 0, 1);
    CU_ASSERT_EQUAL(parse_rc(badref->data, badref->len), ORCHARD_EINVAL);

    GByteArray *all[] = {ok, at_cap, over, deep, laughs, few, cycle, longstr, badref};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        g_byte_array_unref(all[i]);
    g_ptr_array_unref(objs);
}

static void test_mac_source__plist_xml_truncated(void)
{
    size_t len = strlen(xml_plist);
    size_t root_end = (size_t)(strstr(xml_plist, "</dict>\n</plist>") - xml_plist);
    for (size_t cut = 0; cut < len; cut++) {
        plist_t pl = NULL;
        char *err = NULL;
        int rc = orchard_mac_parse_plist(xml_plist, cut, "cut.xml", &pl, &err);
        CU_ASSERT((rc == 0) == (pl != NULL));
        /* before the root dict closes, nothing can be a whole plist */
        if (cut <= root_end) {
            CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
            CU_ASSERT_TRUE(contains(err, "cut.xml"));
            if (rc != ORCHARD_EINVAL)
                fprintf(stderr, "xml truncated at %zu: rc %d\n", cut, rc);
        } else {
            CU_ASSERT(rc == 0 || rc == ORCHARD_EINVAL);
        }
        if (pl)
            plist_free(pl);
        g_free(err);
    }
}

static void test_mac_source__plist_garbage(void)
{
    g_autofree char *root = use_root("plist_garbage");
#define BYTES(x) {x, sizeof(x) - 1}
    static const struct { const char *data; size_t len; } bad[] = {
        BYTES(""),
        BYTES("hello world"),
        BYTES("bplist00"),
        BYTES("bplist00\xff\xff\xff\xff"),
        BYTES("{\"json\": true}"),
        BYTES("<plist version=\"1.0\"><dict><key>a</key></plist>"),
        BYTES("<plist><dict><key>a</key><string>b</dict></plist>"),
        BYTES("<plist><array><integer>1</integer>"),
        BYTES("<plist><dict><key>a</key><integer>1</integer>"),
        BYTES("\x00\x01\x02\x03\xfe\xff"),
        BYTES("<!-- never closed <plist><dict/></plist>"),
    };
#undef BYTES
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        plist_t pl = NULL;
        char *err = NULL;
        int rc = orchard_mac_parse_plist(bad[i].data, bad[i].len, "garbage", &pl, &err);
        CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
        if (rc != ORCHARD_EINVAL)
            fprintf(stderr, "garbage %zu: rc %d\n", i, rc);
        CU_ASSERT_PTR_NULL(pl);
        CU_ASSERT_TRUE(contains(err, "garbage"));
        if (pl)
            plist_free(pl);
        g_free(err);
    }
    /* random bytes, many times: no crash */
    GRand *r = g_rand_new_with_seed(20240601);
    char buf[512];
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)g_rand_int_range(r, 0, sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)g_rand_int_range(r, 0, 256);
        if (round % 2 && n >= 8)
            memcpy(buf, "bplist00", 8);
        plist_t pl = NULL;
        char *err = NULL;
        int rc = orchard_mac_parse_plist(buf, n, "random", &pl, &err);
        CU_ASSERT(rc == 0 || rc == ORCHARD_EINVAL || rc == ORCHARD_ETOOBIG);
        if (pl)
            plist_free(pl);
        g_free(err);
    }
    g_rand_free(r);
    /* and through the file reader */
    put_str(root, "g.plist", "not a plist at all");
    plist_t pl = NULL;
    char *err = NULL;
    CU_ASSERT_EQUAL(orchard_mac_read_plist(source(), "g.plist", &pl, &err), ORCHARD_EINVAL);
    CU_ASSERT_TRUE(contains(err, "g.plist"));
    g_free(err);
}

static void test_mac_source__plist_oversized(void)
{
    g_autofree char *root = use_root("plist_big");
    g_autofree char *path = g_build_filename(root, "big.plist", NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(ftruncate(fd, 9 << 20), 0); /* sparse: 9 MiB of nothing */
    close(fd);
    plist_t pl = NULL;
    char *err = NULL;
    CU_ASSERT_EQUAL(orchard_mac_read_plist(source(), "big.plist", &pl, &err), ORCHARD_ETOOBIG);
    CU_ASSERT_TRUE(contains(err, "big.plist"));
    g_free(err);
    err = NULL;
    /* Refused on its size alone: unreadable (for anyone but root) and still ETOOBIG */
    if (geteuid() != 0) {
        chmod(path, 0);
        CU_ASSERT_EQUAL(orchard_mac_read_plist(source(), "big.plist", &pl, &err), ORCHARD_ETOOBIG);
        g_free(err);
        err = NULL;
    }
    /* Exactly at the cap passes the size check (and then fails as garbage) */
    g_autofree char *at = g_build_filename(root, "at.plist", NULL);
    fd = open(at, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(ftruncate(fd, ORCHARD_MAC_MAX_FILE), 0);
    close(fd);
    CU_ASSERT_EQUAL(orchard_mac_read_plist(source(), "at.plist", &pl, &err), ORCHARD_EINVAL);
    g_free(err);
    err = NULL;
    /* In memory, too */
    char *big = g_malloc0(ORCHARD_MAC_MAX_FILE + 1);
    memcpy(big, "bplist00", 8);
    CU_ASSERT_EQUAL(orchard_mac_parse_plist(big, ORCHARD_MAC_MAX_FILE + 1, "mem", &pl, &err),
                    ORCHARD_ETOOBIG);
    CU_ASSERT_TRUE(contains(err, "mem"));
    g_free(err);
    g_free(big);
}

static char *nested_xml(int depth, const char *tag)
{
    GString *s = g_string_new("<?xml version=\"1.0\"?>\n<plist version=\"1.0\">");
    for (int i = 0; i < depth; i++)
        g_string_append_printf(s, "<%s>", tag);
    g_string_append(s, "<string>x</string>");
    for (int i = 0; i < depth; i++)
        g_string_append_printf(s, "</%s>", tag);
    g_string_append(s, "</plist>\n");
    return g_string_free(s, FALSE);
}

static void test_mac_source__plist_xml_deep(void)
{
    g_autofree char *root = use_root("plist_deep");
    g_autofree char *deep = nested_xml(100, "array");
    put_str(root, "deep.plist", deep);
    plist_t pl = NULL;
    char *err = NULL;
    CU_ASSERT_EQUAL(orchard_mac_read_plist(source(), "deep.plist", &pl, &err), ORCHARD_ETOOBIG);
    CU_ASSERT_TRUE(contains(err, "deep.plist"));
    g_free(err);
    err = NULL;
    /* 100 000 deep would overflow a recursive parser: refused by the scan */
    g_autofree char *very = nested_xml(100000, "array");
    CU_ASSERT_EQUAL(orchard_mac_parse_plist(very, strlen(very), "very", &pl, &err),
                    ORCHARD_ETOOBIG);
    g_free(err);
    err = NULL;
    /* dicts count too (a dict's value may be a dict, keys aside) */
    GString *d = g_string_new("<plist>");
    for (int i = 0; i < 65; i++)
        g_string_append(d, "<dict><key>k</key>");
    g_string_append(d, "<true/>");
    for (int i = 0; i < 65; i++)
        g_string_append(d, "</dict>");
    g_string_append(d, "</plist>");
    CU_ASSERT_EQUAL(orchard_mac_parse_plist(d->str, d->len, "dicts", &pl, &err), ORCHARD_ETOOBIG);
    g_free(err);
    err = NULL;
    g_string_free(d, TRUE);
    /* 64 deep is the cap: accepted */
    g_autofree char *at_cap = nested_xml(64, "array");
    CU_ASSERT_EQUAL(orchard_mac_parse_plist(at_cap, strlen(at_cap), "cap", &pl, &err), 0);
    if (pl)
        plist_free(pl);
    pl = NULL;
    g_free(err);
    err = NULL;
    /* nesting inside comments and CDATA is text, not structure */
    GString *c = g_string_new("<plist><dict><!--");
    for (int i = 0; i < 100; i++)
        g_string_append(c, "<array>");
    g_string_append(c, "--><key>a</key><string><![CDATA[");
    for (int i = 0; i < 100; i++)
        g_string_append(c, "<dict>");
    g_string_append(c, "]]></string></dict></plist>");
    int rc = orchard_mac_parse_plist(c->str, c->len, "comments", &pl, &err);
    CU_ASSERT(rc == 0 || rc == ORCHARD_EINVAL); /* libplist may not know CDATA: never ETOOBIG */
    if (pl)
        plist_free(pl);
    g_free(err);
    g_string_free(c, TRUE);
    /* self-closing containers do not nest */
    GString *e = g_string_new("<plist><array>");
    for (int i = 0; i < 200; i++)
        g_string_append(e, "<dict/><array/>");
    g_string_append(e, "</array></plist>");
    pl = NULL;
    err = NULL;
    CU_ASSERT_EQUAL(orchard_mac_parse_plist(e->str, e->len, "flat", &pl, &err), 0);
    CU_ASSERT_EQUAL(plist_array_get_size(pl), 400);
    if (pl)
        plist_free(pl);
    g_free(err);
    g_string_free(e, TRUE);
}

/* ------------------------------------------------------------------------ */
/* JSON */

static const char nudge_json[] =
    "{\"osVersionRequirements\": [{\"requiredInstallationDate\": \"2023-06-01T20:00:00Z\","
    " \"requiredMinimumOSVersion\": \"13.4.1\", \"note\": \"[[[{{{ not structure\"}],"
    " \"userExperience\": {\"initialRefreshCycle\": 86400}}";

static void test_mac_source__json(void)
{
    g_autofree char *root = use_root("json");
    put_str(root, "Library/Preferences/com.github.macadmins.Nudge.json", nudge_json);
    json_t *j = NULL;
    char *err = NULL;
    CU_ASSERT_EQUAL(orchard_mac_read_json(source(), "/Library/Preferences/com.github.macadmins."
                                          "Nudge.json", 1, &j, &err), 0);
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    json_t *req = json_array_get(json_object_get(j, "osVersionRequirements"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(req, "requiredMinimumOSVersion")),
                           "13.4.1");
    json_decref(j);

    /* Taken as is when not under the root (--nudge_json) */
    g_autofree char *abs = g_build_filename(root, "opt/orbit/nudge-config.json", NULL);
    put_str(root, "opt/orbit/nudge-config.json", "{\"a\": 1, \"a\": 2}"); /* duplicates allowed */
    j = NULL;
    CU_ASSERT_EQUAL(orchard_mac_read_json(source(), abs, 0, &j, &err), 0);
    json_decref(j);

    j = NULL;
    CU_ASSERT_EQUAL(orchard_mac_read_json(source(), "/nope.json", 1, &j, &err), ORCHARD_ENOTFOUND);
    CU_ASSERT_TRUE(contains(err, "nope.json"));
    g_free(err);
    err = NULL;
    CU_ASSERT_EQUAL(orchard_mac_read_json(source(), "/a/../../x.json", 1, &j, &err), ORCHARD_EINVAL);
    g_free(err);
    err = NULL;
    CU_ASSERT_EQUAL(orchard_mac_read_json(source(), NULL, 0, &j, &err), ORCHARD_EINVAL);
    g_free(err);
    err = NULL;
}

static void test_mac_source__json_bad_deep_huge(void)
{
    g_autofree char *root = use_root("json_bad");
    json_t *j = NULL;
    char *err = NULL;
    put_str(root, "bad.json", "{\"a\":\n  [1, 2,}");
    CU_ASSERT_EQUAL(orchard_mac_read_json(source(), "bad.json", 1, &j, &err), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(j);
    CU_ASSERT_TRUE(contains(err, "bad.json:2:")); /* file and line */
    g_free(err);
    err = NULL;

    /* every truncation of a good document is refused */
    size_t len = strlen(nudge_json);
    for (size_t cut = 0; cut < len; cut++) {
        put(root, "cut.json", nudge_json, cut);
        int rc = orchard_mac_read_json(source(), "cut.json", 1, &j, &err);
        CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
        CU_ASSERT_TRUE(contains(err, "cut.json"));
        if (j)
            json_decref(j);
        j = NULL;
        g_free(err);
        err = NULL;
    }
    static const char *bad[] = {"", "null", "[1] [2]", "{\"a\": \"\\u0000\"}", "\xff\xfe{}",
                                "{\"a\": \"unterminated}", "[\"\\\"]"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        put_str(root, "b.json", bad[i]);
        CU_ASSERT_EQUAL(orchard_mac_read_json(source(), "b.json", 1, &j, &err), ORCHARD_EINVAL);
        if (j)
            json_decref(j);
        j = NULL;
        g_free(err);
        err = NULL;
    }

    /* 100 deep: over the cap; 100 000 deep: refused before jansson recurses */
    for (int depth = 64; depth <= 100000; depth = depth == 64 ? 65 : depth == 65 ? 100 : depth * 1000) {
        GString *s = g_string_new(NULL);
        for (int i = 0; i < depth; i++)
            g_string_append(s, i % 2 ? "{\"k\":" : "[");
        g_string_append(s, "1");
        for (int i = depth - 1; i >= 0; i--)
            g_string_append(s, i % 2 ? "}" : "]");
        put(root, "deep.json", s->str, s->len);
        int rc = orchard_mac_read_json(source(), "deep.json", 1, &j, &err);
        if (depth == 64) {
            CU_ASSERT_EQUAL(rc, 0);
        } else {
            CU_ASSERT_EQUAL(rc, ORCHARD_ETOOBIG);
            CU_ASSERT_TRUE(contains(err, "deep.json"));
        }
        if (j)
            json_decref(j);
        j = NULL;
        g_free(err);
        err = NULL;
        g_string_free(s, TRUE);
    }

    /* 9 MiB */
    g_autofree char *path = g_build_filename(root, "huge.json", NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(ftruncate(fd, 9 << 20), 0);
    close(fd);
    CU_ASSERT_EQUAL(orchard_mac_read_json(source(), "huge.json", 1, &j, &err), ORCHARD_ETOOBIG);
    CU_ASSERT_TRUE(contains(err, "huge.json"));
    g_free(err);
}

/* ------------------------------------------------------------------------ */
/* Users */

static void test_mac_source__users(void)
{
    g_autofree char *root = use_root("users");
    GPtrArray *users = NULL;
    char *err = NULL;
    /* no /Users at all: empty */
    CU_ASSERT_EQUAL(orchard_mac_list_users(source(), &users, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(users);
    CU_ASSERT_EQUAL(users->len, 0);
    g_ptr_array_unref(users);

    static const char *dirs[] = {"Users/zoe", "Users/alice", "Users/Shared", "Users/.hidden",
                                 "Users/bob/Library/Preferences"};
    for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
        g_autofree char *d = g_build_filename(root, dirs[i], NULL);
        g_mkdir_with_parents(d, 0755);
    }
    put_str(root, "Users/.localized", "");
    put_str(root, "Users/notes.txt", "a file");
    g_autofree char *link = g_build_filename(root, "Users/linked", NULL);
    CU_ASSERT_EQUAL(symlink("alice", link), 0);
    users = NULL;
    CU_ASSERT_EQUAL(orchard_mac_list_users(source(), &users, &err), 0);
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(users);
    CU_ASSERT_EQUAL_FATAL(users->len, 3);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(users, 0), "alice");
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(users, 1), "bob");
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(users, 2), "zoe");
    g_ptr_array_unref(users);
}

/* ------------------------------------------------------------------------ */
/* The command runner */

static int fd_count(void)
{
    int n = 0;
    GDir *d = g_dir_open("/proc/self/fd", 0, NULL);
    if (!d)
        return -1;
    while (g_dir_read_name(d))
        n++;
    g_dir_close(d);
    return n;
}

static int run(const char *path, const char *arg, int timeout_ms, size_t max, GBytes **out,
               char **err)
{
    char *argv[] = {(char *)path, (char *)arg, NULL};
    return orchard_mac_run(argv, timeout_ms, max, out, err);
}

static void test_mac_source__run_ok_and_fail(void)
{
    int fds_before = fd_count();
    g_autofree char *ok = script("ok", "echo \"hello $1\"; cat; echo oops >&2");
    GBytes *out = NULL;
    char *err = NULL;
    CU_ASSERT_EQUAL(run(ok, "world", 5000, 1024, &out, &err), 0); /* cat: stdin is /dev/null */
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    gsize len;
    const char *data = g_bytes_get_data(out, &len);
    CU_ASSERT_EQUAL(len, 12);
    CU_ASSERT_EQUAL(memcmp(data, "hello world\n", 12), 0);
    CU_ASSERT_EQUAL(data[len], '\0');
    g_bytes_unref(out);
    out = NULL;

    g_autofree char *fail = script("fail", "echo partial; echo 'first' >&2; echo 'boom' >&2; exit 3");
    CU_ASSERT_EQUAL(run(fail, NULL, 5000, 1024, &out, &err), ORCHARD_EIO);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_TRUE(contains(err, "fail"));
    CU_ASSERT_TRUE(contains(err, "status 3"));
    CU_ASSERT_TRUE(contains(err, "boom")); /* stderr's last line */
    g_free(err);
    err = NULL;

    g_autofree char *sig = script("sig", "kill -9 $$");
    CU_ASSERT_EQUAL(run(sig, NULL, 5000, 1024, &out, &err), ORCHARD_EIO);
    CU_ASSERT_TRUE(contains(err, "signal 9"));
    g_free(err);
    err = NULL;

    g_autofree char *missing = g_build_filename(tmp_root, "bin/does-not-exist", NULL);
    CU_ASSERT_EQUAL(run(missing, NULL, 5000, 1024, &out, &err), ORCHARD_ENOTFOUND);
    CU_ASSERT_TRUE(contains(err, "does-not-exist"));
    g_free(err);
    err = NULL;
    g_autofree char *noexec = g_build_filename(tmp_root, "bin/noexec", NULL);
    CU_ASSERT_FATAL(g_file_set_contents(noexec, "#!/bin/sh\necho x\n", -1, NULL));
    chmod(noexec, 0644);
    CU_ASSERT_EQUAL(run(noexec, NULL, 5000, 1024, &out, &err), ORCHARD_EIO);
    g_free(err);
    err = NULL;
    char *none[] = {NULL};
    CU_ASSERT_EQUAL(orchard_mac_run(none, 5000, 1024, &out, &err), ORCHARD_EINVAL);
    g_free(err);
    err = NULL;

    /* Empty output is fine */
    g_autofree char *quiet = script("quiet", "exit 0");
    CU_ASSERT_EQUAL(run(quiet, NULL, 5000, 1024, &out, &err), 0);
    CU_ASSERT_EQUAL(g_bytes_get_size(out), 0);
    g_bytes_unref(out);
    out = NULL;
    if (fds_before >= 0)
        CU_ASSERT_EQUAL(fd_count(), fds_before);
}

static void test_mac_source__run_too_much_output(void)
{
    g_autofree char *chatty = script("chatty", "while :; do echo 0123456789abcdef; done");
    GBytes *out = NULL;
    char *err = NULL;
    gint64 t0 = g_get_monotonic_time();
    CU_ASSERT_EQUAL(run(chatty, NULL, 10000, 1000, &out, &err), ORCHARD_ETOOBIG);
    CU_ASSERT(g_get_monotonic_time() - t0 < 5 * G_USEC_PER_SEC);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_TRUE(contains(err, "1000"));
    g_free(err);
    err = NULL;
    /* exactly the cap is allowed */
    g_autofree char *exact = script("exact", "printf '%s' 0123456789");
    CU_ASSERT_EQUAL(run(exact, NULL, 5000, 10, &out, &err), 0);
    CU_ASSERT_EQUAL(out ? g_bytes_get_size(out) : 0, 10);
    if (out)
        g_bytes_unref(out);
    out = NULL;
    CU_ASSERT_EQUAL(run(exact, NULL, 5000, 9, &out, &err), ORCHARD_ETOOBIG);
    g_free(err);
}

static int process_gone(pid_t pid)
{
    if (kill(pid, 0) != 0)
        return errno == ESRCH;
    /* a zombie waiting for an init that does not reap is dead too */
    g_autofree char *stat_path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *stat = NULL;
    if (!g_file_get_contents(stat_path, &stat, NULL, NULL))
        return 1;
    const char *paren = strrchr(stat, ')');
    return paren && paren[1] == ' ' && paren[2] == 'Z';
}

static void test_mac_source__run_timeout_kills_group(void)
{
    g_autofree char *pidfile = g_build_filename(tmp_root, "sleep.pid", NULL);
    g_autofree char *body = g_strdup_printf("echo started; sleep 30 & echo $! > '%s'; wait",
                                            pidfile);
    g_autofree char *hang = script("hang", body);
    GBytes *out = NULL;
    char *err = NULL;
    gint64 t0 = g_get_monotonic_time();
    CU_ASSERT_EQUAL(run(hang, NULL, 300, 1024, &out, &err), ORCHARD_ETIMEOUT);
    gint64 took = g_get_monotonic_time() - t0;
    CU_ASSERT(took >= 250000 && took < 2 * G_USEC_PER_SEC);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_TRUE(contains(err, "hang"));
    g_free(err);
    err = NULL;
    g_autofree char *text = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(pidfile, &text, NULL, NULL));
    pid_t sleeper = (pid_t)atoi(text);
    CU_ASSERT_FATAL(sleeper > 1);
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
        gone = process_gone(sleeper);
        if (!gone)
            g_usleep(20000);
    }
    CU_ASSERT_TRUE(gone);
    if (!gone)
        kill(sleeper, SIGKILL);

    /* A child that closes stdout and lingers is timed out too */
    g_autofree char *linger = script("linger", "exec >&- 2>&-; sleep 30");
    t0 = g_get_monotonic_time();
    CU_ASSERT_EQUAL(run(linger, NULL, 300, 1024, &out, &err), ORCHARD_ETIMEOUT);
    CU_ASSERT(g_get_monotonic_time() - t0 < 2 * G_USEC_PER_SEC);
    g_free(err);
}

static void test_mac_source__run_no_fd_leak_into_child(void)
{
#ifdef __linux__
    int fd = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
    CU_ASSERT_FATAL(fd > 2);
    g_autofree char *arg = g_strdup_printf("%d", fd);
    g_autofree char *probe = script("probe", "if [ -e /proc/$$/fd/$1 ]; then echo leaked; "
                                             "else echo clean; fi");
    GBytes *out = NULL;
    char *err = NULL;
    CU_ASSERT_EQUAL(run(probe, arg, 5000, 1024, &out, &err), 0);
    if (out) {
        CU_ASSERT_STRING_EQUAL(g_bytes_get_data(out, NULL), "clean\n");
        g_bytes_unref(out);
    }
    g_free(err);
    close(fd);
#endif
}

/* ------------------------------------------------------------------------ */
/* profiles, cached */

static int count_lines(const char *path)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    int n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* A fake `profiles` that counts its runs in <script>.count and echoes its args. */
static char *fake_profiles(const char *name, const char *extra)
{
    g_autofree char *body = g_strdup_printf("echo run >> \"$0.count\"\n%s\necho \"args: $*\"",
                                            extra ? extra : "");
    return script(name, body);
}

static char *count_path(const char *bin) { return g_strdup_printf("%s.count", bin); }

static void test_mac_source__profiles_cache(void)
{
    g_autofree char *r1 = use_root("profiles1");
    g_autofree char *bin = fake_profiles("profiles_ok", NULL);
    g_autofree char *count = count_path(bin);
    set_config("agent.profiles_bin", bin);
    orchard_mac_source *src = source();
    GBytes *out = NULL;
    char *err = NULL;
    CU_ASSERT_EQUAL(orchard_mac_profiles(src, ORCHARD_PROFILES_COMPUTER_XML, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_STRING_EQUAL(g_bytes_get_data(out, NULL), "args: -C -o stdout-xml\n");
    GBytes *again = NULL;
    CU_ASSERT_EQUAL(orchard_mac_profiles(src, ORCHARD_PROFILES_COMPUTER_XML, &again, &err), 0);
    CU_ASSERT_PTR_EQUAL(again, out); /* the cached bytes, a new reference */
    CU_ASSERT_EQUAL(count_lines(count), 1);
    g_bytes_unref(out);
    g_bytes_unref(again);

    CU_ASSERT_EQUAL(orchard_mac_profiles(src, ORCHARD_PROFILES_STATUS, &out, &err), 0);
    CU_ASSERT_STRING_EQUAL(g_bytes_get_data(out, NULL), "args: status -type enrollment\n");
    g_bytes_unref(out);
    CU_ASSERT_EQUAL(orchard_mac_profiles(src, ORCHARD_PROFILES_SHOW_ENROLLMENT, &out, &err), 0);
    CU_ASSERT_STRING_EQUAL(g_bytes_get_data(out, NULL), "args: show -type enrollment\n");
    g_bytes_unref(out);
    CU_ASSERT_EQUAL(count_lines(count), 3);

    /* Another root has its own cache: it runs again */
    g_autofree char *r2 = use_root("profiles2");
    orchard_mac_source *src2 = source();
    CU_ASSERT_PTR_NOT_EQUAL(src2, src);
    CU_ASSERT_EQUAL(orchard_mac_profiles(src2, ORCHARD_PROFILES_COMPUTER_XML, &out, &err), 0);
    g_bytes_unref(out);
    CU_ASSERT_EQUAL(count_lines(count), 4);
    /* ...and the first root's cache is still there */
    CU_ASSERT_EQUAL(orchard_mac_profiles(src, ORCHARD_PROFILES_COMPUTER_XML, &out, &err), 0);
    g_bytes_unref(out);
    CU_ASSERT_EQUAL(count_lines(count), 4);

    /* reset drops the caches */
    orchard_mac_source_reset();
    CU_ASSERT_EQUAL(orchard_mac_profiles(source(), ORCHARD_PROFILES_COMPUTER_XML, &out, &err), 0);
    g_bytes_unref(out);
    CU_ASSERT_EQUAL(count_lines(count), 5);
    CU_ASSERT_PTR_NULL(err);
    set_config("agent.profiles_bin", NULL);
}

static void test_mac_source__profiles_failure_cached(void)
{
    g_autofree char *root = use_root("profiles_fail");
    g_autofree char *bin = fake_profiles("profiles_fail", "echo 'Request too soon.' >&2; exit 2");
    g_autofree char *count = count_path(bin);
    set_config("agent.profiles_bin", bin);
    orchard_mac_source *src = source();
    for (int i = 0; i < 3; i++) {
        GBytes *out = NULL;
        char *err = NULL;
        CU_ASSERT_EQUAL(orchard_mac_profiles(src, ORCHARD_PROFILES_SHOW_ENROLLMENT, &out, &err),
                        ORCHARD_EIO);
        CU_ASSERT_PTR_NULL(out);
        CU_ASSERT_TRUE(contains(err, "status 2"));
        CU_ASSERT_TRUE(contains(err, "Request too soon"));
        CU_ASSERT_TRUE(contains(err, "show -type enrollment"));
        g_free(err);
    }
    CU_ASSERT_EQUAL(count_lines(count), 1);

    /* a missing binary: ENOTFOUND, cached the same way */
    g_autofree char *missing = g_build_filename(tmp_root, "bin/no-profiles", NULL);
    set_config("agent.profiles_bin", missing);
    for (int i = 0; i < 2; i++) {
        GBytes *out = NULL;
        char *err = NULL;
        CU_ASSERT_EQUAL(orchard_mac_profiles(source(), ORCHARD_PROFILES_STATUS, &out, &err),
                        ORCHARD_ENOTFOUND);
        CU_ASSERT_TRUE(contains(err, "no-profiles"));
        g_free(err);
    }
    set_config("agent.profiles_bin", NULL);
}

typedef struct {
    orchard_mac_source *src;
    int rc;
    GBytes *out;
} burst_arg;

static gpointer burst_thread(gpointer p)
{
    burst_arg *a = p;
    char *err = NULL;
    a->rc = orchard_mac_profiles(a->src, ORCHARD_PROFILES_COMPUTER_XML, &a->out, &err);
    g_free(err);
    return NULL;
}

static void test_mac_source__profiles_burst_runs_once(void)
{
    g_autofree char *root = use_root("profiles_burst");
    g_autofree char *bin = fake_profiles("profiles_slow", "sleep 0.3");
    g_autofree char *count = count_path(bin);
    set_config("agent.profiles_bin", bin);
    burst_arg args[8];
    GThread *threads[8];
    orchard_mac_source *src = source();
    for (int i = 0; i < 8; i++) {
        args[i] = (burst_arg){src, -999, NULL};
        threads[i] = g_thread_new("burst", burst_thread, &args[i]);
    }
    for (int i = 0; i < 8; i++)
        g_thread_join(threads[i]);
    for (int i = 0; i < 8; i++) {
        CU_ASSERT_EQUAL(args[i].rc, 0);
        CU_ASSERT_PTR_NOT_NULL(args[i].out);
        if (args[i].out) {
            CU_ASSERT_PTR_EQUAL(args[i].out, args[0].out);
            g_bytes_unref(args[i].out);
        }
    }
    CU_ASSERT_EQUAL(count_lines(count), 1);
    set_config("agent.profiles_bin", NULL);
}

void mac_source_suite(void)
{
    ORCHARD_ADD_SUITE("mac_source", suite_init, suite_cleanup,
                      {"paths", test_mac_source__paths},
                      {"sources_keyed_by_root_and_bin", test_mac_source__sources_keyed_by_root_and_bin},
                      {"plist_xml", test_mac_source__plist_xml},
                      {"plist_missing_and_refused", test_mac_source__plist_missing_and_refused},
                      {"plist_binary", test_mac_source__plist_binary},
                      {"plist_binary_hostile", test_mac_source__plist_binary_hostile},
                      {"plist_xml_truncated", test_mac_source__plist_xml_truncated},
                      {"plist_garbage", test_mac_source__plist_garbage},
                      {"plist_oversized", test_mac_source__plist_oversized},
                      {"plist_xml_deep", test_mac_source__plist_xml_deep},
                      {"json", test_mac_source__json},
                      {"json_bad_deep_huge", test_mac_source__json_bad_deep_huge},
                      {"users", test_mac_source__users},
                      {"run_ok_and_fail", test_mac_source__run_ok_and_fail},
                      {"run_too_much_output", test_mac_source__run_too_much_output},
                      {"run_timeout_kills_group", test_mac_source__run_timeout_kills_group},
                      {"run_no_fd_leak_into_child", test_mac_source__run_no_fd_leak_into_child},
                      {"profiles_cache", test_mac_source__profiles_cache},
                      {"profiles_failure_cached", test_mac_source__profiles_failure_cached},
                      {"profiles_burst_runs_once", test_mac_source__profiles_burst_runs_once});
}
