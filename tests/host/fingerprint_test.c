/* Settings fingerprints (host/instances/fingerprint.c): parsing refuses
 * every hostile shape (not an object, non-string values, duplicate keys,
 * huge texts, deep nesting, bad keys), and the comparison picks the
 * reference, lists the differing keys and leaves the reference serving. */
#include "tests/suites.h"

#include "host/instances/fingerprint.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <string.h>

static int parses(const char *json)
{
    GHashTable *fp = NULL;
    const char *why = NULL;
    int rc = orchard_fingerprint_parse(json, &fp, NULL, &why);
    if (rc == 0) {
        CU_ASSERT_PTR_NOT_NULL(fp);
        g_hash_table_unref(fp);
    } else {
        CU_ASSERT_PTR_NULL(fp);
        CU_ASSERT_PTR_NOT_NULL(why);
    }
    return rc == 0;
}

static GHashTable *fp_of(const char *json)
{
    GHashTable *fp = NULL;
    const char *why = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_fingerprint_parse(json, &fp, NULL, &why), 0);
    return fp;
}

static void test_fingerprint__canonical_form(void)
{
    GHashTable *fp = NULL;
    g_autofree char *canon = NULL;
    const char *why = NULL;

    CU_ASSERT_EQUAL(orchard_fingerprint_parse(" { \"b.x\" : \"2\", \"a\":\"1\" } ", &fp, &canon,
                                              &why), 0);
    CU_ASSERT_STRING_EQUAL(canon, "{\"a\":\"1\",\"b.x\":\"2\"}");
    CU_ASSERT_EQUAL(g_hash_table_size(fp), 2);
    CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(fp, "b.x"), "2");
    g_hash_table_unref(fp);
    CU_ASSERT(parses("{}"));
}

static void test_fingerprint__hostile_shapes_refused(void)
{
    static const char *const bad[] = {
        NULL, "", "null", "[]", "\"x\"", "42", "{", "{\"a\":\"1\"", "{\"a\":\"1\"} trailing",
        "{\"a\":1}", "{\"a\":null}", "{\"a\":true}", "{\"a\":{\"b\":\"c\"}}", "{\"a\":[\"b\"]}",
        "{\"a\":\"1\",\"a\":\"2\"}",   /* duplicate keys */
        "{\"\":\"1\"}",                /* empty key */
        "{\"a b\":\"1\"}",             /* space in a key */
        "{\"a\\u0000b\":\"1\"}",       /* NUL in a key */
        "{\"a\":\"x\\u0000y\"}",       /* NUL in a value */
        "{\"\xff\":\"1\"}",            /* not UTF-8 */
        "{\"k\xc3\xa9\":\"1\"}",       /* UTF-8, but not a key character */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        CU_ASSERT_FALSE(parses(bad[i]));
}

static void test_fingerprint__limits(void)
{
    GString *s = g_string_new("{");
    g_autofree char *k129 = g_strnfill(129, 'k'), *v512 = g_strnfill(512, 'v');
    g_autofree char *v513 = g_strnfill(513, 'v');
    g_autofree char *long_key = NULL, *long_value = NULL, *ok_value = NULL;

    /* 256 keys pass; 257 do not. */
    for (int i = 0; i < 256; i++)
        g_string_append_printf(s, "%s\"k%d\":\"v\"", i ? "," : "", i);
    g_string_append_c(s, '}');
    CU_ASSERT(parses(s->str));
    g_string_truncate(s, s->len - 1);
    g_string_append(s, ",\"k256\":\"v\"}");
    CU_ASSERT_FALSE(parses(s->str));
    /* Key and value lengths. */
    long_key = g_strdup_printf("{\"%s\":\"v\"}", k129);
    CU_ASSERT_FALSE(parses(long_key));
    ok_value = g_strdup_printf("{\"k\":\"%s\"}", v512);
    CU_ASSERT(parses(ok_value));
    long_value = g_strdup_printf("{\"k\":\"%s\"}", v513);
    CU_ASSERT_FALSE(parses(long_value));
    /* A huge text is refused before parsing: valid JSON just over 64 KiB. */
    g_string_assign(s, "{\"k\":\"v\"");
    while (s->len <= ORCHARD_FINGERPRINT_MAX_BYTES)
        g_string_append_c(s, ' ');
    g_string_append_c(s, '}');
    CU_ASSERT_FALSE(parses(s->str));
    /* Deep nesting: refused whether jansson's depth limit or our shape check says so. */
    g_string_assign(s, "{\"k\":");
    for (int i = 0; i < 20000; i++)
        g_string_append_c(s, '[');
    for (int i = 0; i < 20000; i++)
        g_string_append_c(s, ']');
    g_string_append_c(s, '}');
    CU_ASSERT_FALSE(parses(s->str));
    g_string_free(s, TRUE);
}

static void test_fingerprint__diff_and_join(void)
{
    g_autoptr(GHashTable) a = fp_of("{\"x\":\"1\",\"y\":\"2\",\"only_a\":\"3\"}");
    g_autoptr(GHashTable) b = fp_of("{\"x\":\"1\",\"y\":\"9\",\"only_b\":\"3\"}");
    g_autoptr(GHashTable) keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char out[64];

    CU_ASSERT_EQUAL(orchard_fingerprint_diff(a, a, NULL), 0);
    CU_ASSERT_EQUAL(orchard_fingerprint_diff(a, b, keys), 3);
    CU_ASSERT_EQUAL(orchard_fingerprint_diff(b, a, NULL), 3);
    orchard_fingerprint_join(keys, out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "only_a,only_b,y");
    /* Too small: as many keys as fit, then ",...". */
    orchard_fingerprint_join(keys, out, 12);
    CU_ASSERT_STRING_EQUAL(out, "only_a,...");
    orchard_fingerprint_join(keys, out, 5);
    CU_ASSERT_STRING_EQUAL(out, "...");
}

static GPtrArray *entries_of(const char *const *ids, const char *const *jsons, size_t n)
{
    GPtrArray *e = g_ptr_array_new_with_free_func(orchard_fingerprint_entry_free);
    for (size_t i = 0; i < n; i++)
        g_ptr_array_add(e, orchard_fingerprint_entry_new(ids[i], fp_of(jsons[i])));
    return e;
}

static void test_fingerprint__compare_with_reference(void)
{
    static const char *const ids[] = {"old", "mid", "new"};
    static const char *const same[] = {"{\"c\":\"1\",\"t\":\"x\"}", "{\"c\":\"1\",\"t\":\"x\"}",
                                       "{\"c\":\"1\",\"t\":\"x\"}"};
    static const char *const third_differs[] = {"{\"c\":\"1\",\"t\":\"x\"}",
                                                "{\"c\":\"1\",\"t\":\"x\"}",
                                                "{\"c\":\"2\",\"t\":\"x\"}"};
    orchard_instances_view v = {0};
    char ref_keys[64];

    g_autoptr(GPtrArray) ok = entries_of(ids, same, 3);
    orchard_fingerprint_compare(ok, "new", NULL, &v, ref_keys, sizeof ref_keys);
    CU_ASSERT_EQUAL(v.published, 3);
    CU_ASSERT(v.agree);
    CU_ASSERT_STRING_EQUAL(v.reference_id, "old");
    CU_ASSERT_STRING_EQUAL(v.differing_keys, "");
    CU_ASSERT_STRING_EQUAL(ref_keys, "");

    g_autoptr(GPtrArray) bad = entries_of(ids, third_differs, 3);
    /* The one that differs is held to the reference's keys. */
    orchard_fingerprint_compare(bad, "new", NULL, &v, ref_keys, sizeof ref_keys);
    CU_ASSERT_FALSE(v.agree);
    CU_ASSERT_STRING_EQUAL(v.differing_keys, "c");
    CU_ASSERT_STRING_EQUAL(ref_keys, "c");
    /* The reference sees the difference but is never held. */
    orchard_fingerprint_compare(bad, "old", NULL, &v, ref_keys, sizeof ref_keys);
    CU_ASSERT_FALSE(v.agree);
    CU_ASSERT_STRING_EQUAL(v.differing_keys, "c");
    CU_ASSERT_STRING_EQUAL(ref_keys, "");
    /* One that agrees with the reference is not held; it hears which key the other differs in. */
    orchard_fingerprint_compare(bad, "mid", NULL, &v, ref_keys, sizeof ref_keys);
    CU_ASSERT_FALSE(v.agree);
    CU_ASSERT_STRING_EQUAL(v.differing_keys, "c");
    CU_ASSERT_STRING_EQUAL(ref_keys, "");
    /* Outside serve (no self): do the live ones agree among themselves? */
    orchard_fingerprint_compare(bad, NULL, NULL, &v, NULL, 0);
    CU_ASSERT_FALSE(v.agree);
    CU_ASSERT_STRING_EQUAL(v.reference_id, "old");
    /* A given fingerprint (config check) against the reference. */
    g_autoptr(GHashTable) file = fp_of("{\"c\":\"1\",\"t\":\"y\",\"extra\":\"z\"}");
    orchard_fingerprint_compare(ok, NULL, file, &v, ref_keys, sizeof ref_keys);
    CU_ASSERT_FALSE(v.agree);
    CU_ASSERT_STRING_EQUAL(v.differing_keys, "extra,t");
    CU_ASSERT_STRING_EQUAL(ref_keys, "extra,t");
    /* Nobody published: nothing to disagree with. */
    g_autoptr(GPtrArray) none = g_ptr_array_new();
    orchard_fingerprint_compare(none, "x", file, &v, ref_keys, sizeof ref_keys);
    CU_ASSERT(v.agree);
    CU_ASSERT_EQUAL(v.published, 0);
    CU_ASSERT_STRING_EQUAL(v.reference_id, "");
}

void fingerprint_suite(void)
{
    ORCHARD_ADD_SUITE("fingerprint", NULL, NULL,
                      {"test_fingerprint__canonical_form", test_fingerprint__canonical_form},
                      {"test_fingerprint__hostile_shapes_refused",
                       test_fingerprint__hostile_shapes_refused},
                      {"test_fingerprint__limits", test_fingerprint__limits},
                      {"test_fingerprint__diff_and_join", test_fingerprint__diff_and_join},
                      {"test_fingerprint__compare_with_reference",
                       test_fingerprint__compare_with_reference});
}
