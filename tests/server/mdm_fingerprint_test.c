/* mdm_fingerprint: the MDM settings fingerprint (server_plugin/config/
 * mdm_fingerprint.c) agrees for the same material given by path or by
 * bytes, differs in exactly the key that changed, shows certificates as
 * their SHA-256 DER fingerprints and never a secret; and `orchard config
 * check` compares a file's settings with the live instances in the store. */
#include "tests/server/mdm_fixtures.h"
#include "tests/suites.h"

#include "host/instances/instances.h"
#include "host/instances/instances_store.h"
#include "host/plugins/registry.h"
#include "host/store/store.h"
#include "server_plugin/config/mdm_fingerprint.h"
#include "server_plugin/server.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <jansson.h>
#include <string.h>

static int suite_init(void) { return mdmfx_setup(); }
static int suite_cleanup(void) { return mdmfx_teardown(); }

/* The fingerprint of the good configuration with kv applied, in-process. */
static char *fingerprint_of(const char *const *kv)
{
    const orchard_host_api *host = orchard_host_api_get();
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL;

    mdmfx_apply_config(kv);
    if (orchard_mdm_config_load(host, &cfg, &err) != 0) {
        fprintf(stderr, "\n  config: %s\n", err);
        return NULL;
    }
    char *fp = orchard_mdm_fingerprint(host, cfg);
    orchard_mdm_config_free(cfg);
    return fp;
}

static int sort_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys in which two fingerprints differ, sorted, comma-separated. g_free. */
static char *diff_sorted(const char *a, const char *b)
{
    json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);
    g_autoptr(GPtrArray) keys = g_ptr_array_new();
    const char *k;
    json_t *v;

    json_object_foreach(ja, k, v) {
        json_t *w = json_object_get(jb, k);
        if (!w || !json_equal(v, w))
            g_ptr_array_add(keys, (gpointer)k);
    }
    json_object_foreach(jb, k, v)
        if (!json_object_get(ja, k))
            g_ptr_array_add(keys, (gpointer)k);
    g_ptr_array_sort(keys, sort_str);
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < keys->len; i++)
        g_string_append_printf(s, "%s%s", i ? "," : "", (const char *)keys->pdata[i]);
    json_decref(ja);
    json_decref(jb);
    return g_string_free(s, FALSE);
}

static void test_mdm_fingerprint__path_and_bytes_agree(void)
{
    static const char *const by_bytes[] = {
        "mdm.apple_apns_cert", NULL, "mdm.apple_apns_cert_bytes", "pem:apns.crt",
        "mdm.apple_apns_key", NULL, "mdm.apple_apns_key_bytes", "pem:apns.key",
        "mdm.apple_scep_cert", NULL, "mdm.apple_scep_cert_bytes", "pem:scep.crt",
        "mdm.apple_scep_key", NULL, "mdm.apple_scep_key_bytes", "pem:scep.key",
        "mdm.apple_bm_cert", NULL, "mdm.apple_bm_cert_bytes", "pem:bm.crt",
        "mdm.apple_bm_key", NULL, "mdm.apple_bm_key_bytes", "pem:bm.key",
        NULL};
    /* Equal values written differently: 1h is 60m. */
    static const char *const same_ttl[] = {"mdm.apple_scep_challenge_ttl", "60m", NULL};
    g_autofree char *by_path = fingerprint_of(NULL);
    g_autofree char *bytes = fingerprint_of(by_bytes);
    g_autofree char *ttl = fingerprint_of(same_ttl);

    CU_ASSERT_FATAL(by_path && bytes && ttl);
    CU_ASSERT_STRING_EQUAL(by_path, bytes);
    CU_ASSERT_STRING_EQUAL(by_path, ttl);
    /* Every item of the good configuration is there. */
    static const char *const keys[] = {
        "mdm.apple_apns_cert", "mdm.apple_apns_key", "mdm.apple_apns_topic",
        "mdm.apple_scep_cert", "mdm.apple_scep_key", "mdm.apple_scep_challenge",
        "mdm.apple_bm_cert", "mdm.apple_bm_key", "mdm.apple_bm_server_token", "server.url",
        "org_info.org_name", "mdm.apple_scep_challenge_ttl",
        "mdm.apple_scep_signer_validity_days", "mdm.apple_scep_signer_allow_renewal_days",
        "mdm.apple_dep_sync_periodicity", "mdm.apple_apns_url",
        "mdm.apple_apns_push_expiration"};
    json_t *doc = json_loads(by_path, 0, NULL);
    CU_ASSERT_FATAL(json_is_object(doc));
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        const char *v = json_string_value(json_object_get(doc, keys[i]));
        CU_ASSERT(v && strlen(v) == 64);
        if (!v)
            fprintf(stderr, "\n  missing %s\n", keys[i]);
    }
    json_decref(doc);
}

static void test_mdm_fingerprint__one_change_one_key(void)
{
    static const char *const other_challenge[] = {"mdm.apple_scep_challenge",
                                                  "another-SECRET-9911", NULL};
    static const char *const other_url[] = {"server.url", "https://mdm2.example.com", NULL};
    static const char *const other_validity[] = {"mdm.apple_scep_signer_validity_days", "30",
                                                 NULL};
    static const char *const no_abm[] = {"mdm.apple_bm_server_token", NULL, "mdm.apple_bm_cert",
                                         NULL, "mdm.apple_bm_key", NULL, NULL};
    static const char *const other_bm[] = {"mdm.apple_bm_server_token", "fx:token_other.p7m",
                                           "mdm.apple_bm_cert", "fx:bm2.crt", "mdm.apple_bm_key",
                                           "fx:bm2.key", NULL};
    g_autofree char *base = fingerprint_of(NULL);
    g_autofree char *a = fingerprint_of(other_challenge);
    g_autofree char *b = fingerprint_of(other_url);
    g_autofree char *c = fingerprint_of(other_validity);
    g_autofree char *d = fingerprint_of(no_abm);
    g_autofree char *e = fingerprint_of(other_bm);
    CU_ASSERT_FATAL(base && a && b && c && d && e);
    g_autofree char *da = diff_sorted(base, a);
    g_autofree char *db = diff_sorted(base, b);
    g_autofree char *dc = diff_sorted(base, c);
    g_autofree char *dd = diff_sorted(base, d);
    g_autofree char *de = diff_sorted(base, e);
    CU_ASSERT_STRING_EQUAL(da, "mdm.apple_scep_challenge");
    CU_ASSERT_STRING_EQUAL(db, "server.url");
    CU_ASSERT_STRING_EQUAL(dc, "mdm.apple_scep_signer_validity_days");
    CU_ASSERT_STRING_EQUAL(dd, "mdm.apple_bm_cert,mdm.apple_bm_key,mdm.apple_bm_server_token");
    /* The same credentials encrypted to another key pair: the token's content agrees. */
    CU_ASSERT_STRING_EQUAL(de, "mdm.apple_bm_cert,mdm.apple_bm_key");
}

/* A certificate's value is its SHA-256 DER fingerprint, as openssl prints it. */
static void test_mdm_fingerprint__cert_digest_is_openssl_fingerprint(void)
{
    const char *argv[] = {"openssl", "x509", "-in", "apns.crt", "-noout", "-fingerprint",
                          "-sha256", NULL};
    g_autofree char *out = NULL, *fp = fingerprint_of(NULL);
    CU_ASSERT_FATAL(fp != NULL);
    CU_ASSERT_EQUAL_FATAL(mdmfx_spawn(mdmfx_state.dir, &out, NULL, argv), 0);
    const char *eq = strchr(out, '=');
    CU_ASSERT_FATAL(eq != NULL);
    GString *hex = g_string_new(NULL);
    for (const char *p = eq + 1; *p && *p != '\n'; p++)
        if (*p != ':')
            g_string_append_c(hex, g_ascii_tolower(*p));
    json_t *doc = json_loads(fp, 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "mdm.apple_apns_cert")),
                           hex->str);
    json_decref(doc);
    g_string_free(hex, TRUE);
}

static void test_mdm_fingerprint__no_secret_in_it(void)
{
    static const char *const secrets[] = {MDMFX_CHALLENGE,       MDMFX_CONSUMER_KEY,
                                          MDMFX_CONSUMER_SECRET, MDMFX_ACCESS_TOKEN,
                                          MDMFX_ACCESS_SECRET,   "PRIVATE KEY",
                                          "BEGIN",               "mdm.example.com"};
    g_autofree char *fp = fingerprint_of(NULL);
    g_autofree char *key_pem = mdmfx_read("apns.key");
    CU_ASSERT_FATAL(fp != NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(secrets); i++)
        CU_ASSERT_PTR_NULL(strstr(fp, secrets[i]));
    /* Nor a line of the private key's base64. */
    g_auto(GStrv) lines = g_strsplit(key_pem, "\n", -1);
    CU_ASSERT_PTR_NULL(strstr(fp, lines[1]));
    /* Salted per key: two keys with one value do not show one digest. */
    json_t *doc = json_loads(fp, 0, NULL);
    CU_ASSERT_STRING_NOT_EQUAL(
        json_string_value(json_object_get(doc, "mdm.apple_scep_signer_validity_days")),
        json_string_value(json_object_get(doc, "mdm.apple_scep_challenge")));
    json_decref(doc);
}

/* ---- config check against a store with a live instance */

/* Write a live instance "ref-1" with the fingerprint of kv's configuration
 * into the store the good configuration names. */
static int live_instance(const char *const *kv)
{
    g_autofree char *fp = fingerprint_of(kv);
    orchard_store_tx *tx = NULL;
    int64_t now = orchard_instances_now_ms();

    mdmfx_apply_config(NULL); /* the store of the good configuration */
    int rc = fp ? orchard_instances_migrate() : ORCHARD_ENOMEM;
    if (rc == 0)
        rc = orchard_store_begin(&tx, 1);
    if (rc == 0 && (rc = orchard_instance_row_put(tx, "ref-1", "http://ref:1", "0.1.0",
                                                  now - 1000, now)) == 0 &&
        (rc = orchard_instance_fingerprint_put(tx, "ref-1", "mdm", fp, now)) == 0)
        rc = orchard_store_commit(tx);
    else if (tx)
        orchard_store_rollback(tx);
    orchard_store_close();
    return rc;
}

static int config_check(const char *const *kv, char **out, char **err)
{
    g_autofree char *cfg = mdmfx_write_config(kv);
    const char *args[] = {"--config", cfg, "config", "check", NULL};
    g_free(*out);
    g_free(*err);
    *out = *err = NULL;
    return mdmfx_run(args, NULL, out, err);
}

static void test_mdm_fingerprint__config_check_compares(void)
{
    static const char *const other[] = {"mdm.apple_scep_challenge", "another-SECRET-9911", NULL};
    static const char *const other_mixed[] = {"mdm.apple_scep_challenge", "another-SECRET-9911",
                                              "mdm.allow_mixed_settings", "true", NULL};
    static const char *const no_store[] = {"store.sqlite", "fx:nothing-here.db", NULL};
    g_autofree char *out = NULL, *err = NULL;

    /* No store yet: said, and not a failure. */
    CU_ASSERT_EQUAL(config_check(no_store, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "# Instances: no store to compare"));
    CU_ASSERT_EQUAL(live_instance(NULL), 0);
    /* The same settings agree. */
    CU_ASSERT_EQUAL(config_check(NULL, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "# Instances: 1 live; these MDM settings agree with "
                                       "theirs (reference instance ref-1)."));
    /* Another challenge: exit 1, naming the key and never the value. */
    CU_ASSERT_EQUAL(config_check(other, &out, &err), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "differ from theirs in: mdm.apple_scep_challenge "
                                       "(reference instance ref-1)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "answers 503 on MDM routes"));
    CU_ASSERT_PTR_NULL(strstr(out, "another-SECRET"));
    CU_ASSERT_PTR_NULL(strstr(err, "another-SECRET"));
    /* Allowed mixed: a warning, exit 0. */
    CU_ASSERT_EQUAL(config_check(other_mixed, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "mdm.allow_mixed_settings is true"));
    /* `get mdm-apple` counts the live instances (outside serve: do they agree?). */
    g_autofree char *cfg = mdmfx_write_config(NULL);
    const char *get[] = {"--config", cfg, "get", "mdm-apple", NULL};
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    CU_ASSERT_EQUAL(mdmfx_run(get, NULL, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\nInstances: 1 live, MDM settings agree\n"));
    CU_ASSERT_EQUAL(mdmfx_leaks(), 0);
}

/* The object the API and `get mdm-apple --json` carry, and its line. */
static void test_mdm_fingerprint__instances_json_and_line(void)
{
    json_t *agree = json_pack("{s:I, s:b, s:[], s:s}", "count", (json_int_t)2, "settings_agree", 1,
                              "differing_keys", "reference", "a-1");
    json_t *differ = json_pack("{s:I, s:b, s:[s, s], s:s}", "count", (json_int_t)3,
                               "settings_agree", 0, "differing_keys", "mdm.apple_scep_challenge",
                               "server.url", "reference", "a-1");
    json_t *hostile = json_pack("{s:s, s:i, s:[i]}", "count", "x", "settings_agree", 7,
                                "differing_keys", 5);
    g_autofree char *l1 = orchard_mdm_instances_line(agree);
    g_autofree char *l2 = orchard_mdm_instances_line(differ);
    g_autofree char *l3 = orchard_mdm_instances_line(hostile);
    CU_ASSERT_STRING_EQUAL(l1, "Instances: 2 live, MDM settings agree");
    CU_ASSERT_STRING_EQUAL(l2, "Instances: 3 live, MDM settings differ from a-1 in: "
                               "mdm.apple_scep_challenge, server.url");
    /* A server's answer of the wrong shape still makes a line, never a crash. */
    CU_ASSERT_STRING_EQUAL(l3, "Instances: 0 live, MDM settings differ from the reference "
                               "instance in: ?");
    json_decref(agree);
    json_decref(differ);
    json_decref(hostile);
    /* Through the host: the live instance of the test above. */
    const orchard_host_api *saved = orchard_server_host;
    orchard_server_host = orchard_host_api_get();
    mdmfx_apply_config(NULL);
    json_t *live = orchard_mdm_instances_json(NULL, NULL);
    CU_ASSERT_FATAL(live != NULL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(live, "count")), 1);
    CU_ASSERT(json_is_true(json_object_get(live, "settings_agree")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(live, "differing_keys")), 0);
    json_decref(live);
    orchard_store_close();
    orchard_server_host = saved;
}

void mdm_fingerprint_suite(void)
{
    ORCHARD_ADD_SUITE("mdm_fingerprint", suite_init, suite_cleanup,
                      {"test_mdm_fingerprint__path_and_bytes_agree",
                       test_mdm_fingerprint__path_and_bytes_agree},
                      {"test_mdm_fingerprint__one_change_one_key",
                       test_mdm_fingerprint__one_change_one_key},
                      {"test_mdm_fingerprint__cert_digest_is_openssl_fingerprint",
                       test_mdm_fingerprint__cert_digest_is_openssl_fingerprint},
                      {"test_mdm_fingerprint__no_secret_in_it",
                       test_mdm_fingerprint__no_secret_in_it},
                      {"test_mdm_fingerprint__config_check_compares",
                       test_mdm_fingerprint__config_check_compares},
                      {"test_mdm_fingerprint__instances_json_and_line",
                       test_mdm_fingerprint__instances_json_and_line});
}
