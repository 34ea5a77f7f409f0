/* YAML configuration: flattening, lists, env overrides, and hostile files. */
#include "host/config.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <orchard/plugin.h>
#include <stdlib.h>
#include <string.h>

static orchard_config *load(const char *yaml, int *rc, char **err)
{
    orchard_config *cfg = orchard_config_new();
    *rc = orchard_config_load_string(cfg, yaml, strlen(yaml), "test.yml", err);
    return cfg;
}

static void test_config__sections_and_lists(void)
{
    char *err = NULL;
    int rc;
    orchard_config *cfg = load("server:\n  address: 127.0.0.1:8080\n"
                               "mdm:\n  apple_scep_challenge: s3cret\n"
                               "plugins: [/a.so, /b.so]\n", &rc, &err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(orchard_config_get(cfg, "server.address"), "127.0.0.1:8080");
    CU_ASSERT_STRING_EQUAL(orchard_config_get(cfg, "mdm.apple_scep_challenge"), "s3cret");
    CU_ASSERT_PTR_NULL(orchard_config_get(cfg, "mdm.nope"));
    const GPtrArray *plugins = orchard_config_get_list(cfg, "plugins");
    CU_ASSERT_EQUAL(plugins->len, 2);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(plugins, 1), "/b.so");
    CU_ASSERT_EQUAL(orchard_config_get_list(cfg, "none")->len, 0);
    orchard_config_free(cfg);
}

static void test_config__env_overrides(void)
{
    char *err = NULL;
    int rc;
    g_autofree char *name = orchard_config_env_name("mdm.apple_apns_cert");
    CU_ASSERT_STRING_EQUAL(name, "ORCHARD_MDM_APPLE_APNS_CERT");
    orchard_config *cfg = load("mdm:\n  apple_apns_cert: /file.crt\n", &rc, &err);
    setenv("ORCHARD_MDM_APPLE_APNS_CERT", "/env.crt", 1);
    setenv("ORCHARD_STORE_SQLITE", "/var/lib/x.db", 1);
    CU_ASSERT_STRING_EQUAL(orchard_config_get(cfg, "mdm.apple_apns_cert"), "/env.crt");
    CU_ASSERT_STRING_EQUAL(orchard_config_get(cfg, "store.sqlite"), "/var/lib/x.db");
    unsetenv("ORCHARD_MDM_APPLE_APNS_CERT");
    unsetenv("ORCHARD_STORE_SQLITE");
    orchard_config_free(cfg);
}

static void test_config__malformed(void)
{
    static const char *bad[] = {
        "server: [unclosed\n",           /* not YAML */
        "- a\n- b\n",                    /* top level is a list */
        "just a scalar\n",               /* top level is a scalar */
        "plugins: [[nested]]\n",         /* list of lists */
        "? [a]\n: b\n",                  /* complex key */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *err = NULL;
        int rc;
        orchard_config *cfg = load(bad[i], &rc, &err);
        CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(err);
        if (err)
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.yml"));
        g_free(err);
        orchard_config_free(cfg);
    }
}

static void test_config__hostile_sizes(void)
{
    char *err = NULL;
    int rc;
    /* 40 nested mappings: over the depth cap, refused rather than recursed */
    GString *deep = g_string_new(NULL);
    for (int i = 0; i < 40; i++)
        g_string_append_printf(deep, "%*sk%d:\n", i * 2, "", i);
    g_string_append_printf(deep, "%*sleaf: 1\n", 80, "");
    orchard_config *cfg = load(deep->str, &rc, &err);
    CU_ASSERT_EQUAL(rc, ORCHARD_ETOOBIG);
    g_free(err);
    err = NULL;
    orchard_config_free(cfg);
    g_string_free(deep, TRUE);

    cfg = orchard_config_new();
    size_t big = (1u << 20) + 1;
    char *huge = g_malloc(big);
    memset(huge, '#', big);
    CU_ASSERT_EQUAL(orchard_config_load_string(cfg, huge, big, "huge", &err), ORCHARD_ETOOBIG);
    g_free(huge);
    g_free(err);
    err = NULL;
    CU_ASSERT_EQUAL(orchard_config_load_file(cfg, "/nonexistent/orchard.yml", &err),
                    ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/orchard.yml"));
    g_free(err);
    orchard_config_free(cfg);
}

static void test_config__failed_load_changes_nothing(void)
{
    char *err = NULL;
    int rc;
    orchard_config *cfg = load("a:\n  b: 1\n", &rc, &err);
    CU_ASSERT_EQUAL(orchard_config_load_string(cfg, "a:\n  b: 2\n  c: [x, [y]]\n", 22, "t", &err),
                    ORCHARD_EINVAL);
    CU_ASSERT_STRING_EQUAL(orchard_config_get(cfg, "a.b"), "1");
    g_free(err);
    orchard_config_free(cfg);
}

void config_suite(void)
{
    ORCHARD_ADD_SUITE("config", NULL, NULL,
                      {"sections_and_lists", test_config__sections_and_lists},
                      {"env_overrides", test_config__env_overrides},
                      {"malformed", test_config__malformed},
                      {"hostile_sizes", test_config__hostile_sizes},
                      {"failed_load_changes_nothing", test_config__failed_load_changes_nothing});
}
