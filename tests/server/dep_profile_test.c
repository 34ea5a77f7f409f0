/* dep_profile: the DEP profile (server_plugin/dep/dep_profile.c) and its
 * definition by the sync against the ABM simulator (dep_fixture) on a
 * fresh store per case: the default, a file (orchard's url and defaults),
 * defined once and again only when its canonical form changes, and bad
 * files (not JSON, truncated, not an object, wrong types, oversized, deeply
 * nested, missing) refused with their reason while devices still sync. */
#include "server_plugin/dep/dep_sync.h"
#include "server_plugin/server.h"
#include "tests/server/dep_fixture.h"
#include "tests/server/dep_sync_fixture.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/server/reconcile_fixture.h"
#include "tests/suites.h"

#include <stdio.h>
#include <string.h>

static void test_profile_defined_when_changed(void)
{
    dsfx_fresh();
    orchard_dep_client *c = dfx_client();
    orchard_dep_run run = {0};
    gint64 defines = dfx_calls("profile");
    dsfx_sync_ok(c, T0, &run);
    orchard_dep_run_clear(&run);
    dsfx_sync_ok(c, T0 + 60, &run);
    orchard_dep_run_clear(&run);
    CU_ASSERT_EQUAL(dfx_calls("profile"), defines + 1);
    g_autofree char *uuid1 = dsfx_state(ORCHARD_DEP_KEY_PROFILE_UUID);
    /* The default, as Apple got it. */
    json_t *st = dfx_control("state", NULL);
    json_t *p = json_object_get(json_object_get(st, "profiles"), uuid1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "profile_name")),
                           "Example enrollment");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "url")),
                           SERVER_URL ORCHARD_DEP_ENROLL_PATH);
    CU_ASSERT_TRUE(json_is_false(json_object_get(p, "is_mdm_removable")));
    CU_ASSERT_TRUE(json_is_true(json_object_get(p, "await_device_configured")));
    json_decref(st);

    /* A file: defined again, and every device gets the new profile. */
    dsfx_write_profile("{\"profile_name\": \"Welcome\", \"url\": \"https://elsewhere.example\", "
                  "\"is_mdm_removable\": true, \"department\": \"IT\", "
                  "\"skip_setup_items\": [\"Siri\"], \"x_future_key\": 7}");
    dsfx_sync_ok(c, T0 + 120, &run);
    CU_ASSERT_EQUAL(dfx_calls("profile"), defines + 2);
    CU_ASSERT_EQUAL(run.assigned, SIM_DEVICES);
    g_autofree char *uuid2 = dsfx_state(ORCHARD_DEP_KEY_PROFILE_UUID);
    CU_ASSERT_STRING_NOT_EQUAL(uuid1, uuid2);
    st = dfx_control("state", NULL);
    p = json_object_get(json_object_get(st, "profiles"), uuid2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "profile_name")), "Welcome");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "url")),
                           SERVER_URL ORCHARD_DEP_ENROLL_PATH);
    CU_ASSERT_TRUE(json_is_true(json_object_get(p, "is_mdm_removable")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(p, "x_future_key")), 7);
    json_decref(st);
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM dep_devices WHERE profile_uuid = ? AND "
                            "assign_attempts = 2", uuid2, NULL), SIM_DEVICES);
    orchard_dep_run_clear(&run);
    /* The same file: not defined again (key order and spacing do not matter). */
    dsfx_write_profile("{\"x_future_key\": 7, \"skip_setup_items\": [\"Siri\"], \"department\":"
                  "\"IT\",\"is_mdm_removable\":true,\"url\":\"https://elsewhere.example\","
                  "\"profile_name\":\"Welcome\"}");
    dsfx_sync_ok(c, T0 + 180, &run);
    CU_ASSERT_EQUAL(dfx_calls("profile"), defines + 2);
    CU_ASSERT_EQUAL(run.assigned, 0);
    orchard_dep_run_clear(&run);
    orchard_dep_client_free(c);
    dsfx_done();
}

static void test_bad_profile_refused(void)
{
    dsfx_fresh();
    CU_ASSERT_EQUAL(dsfx_build("{\"profile_name\": \"ok\"}", NULL), 0);
    CU_ASSERT_EQUAL(dsfx_build("not json", "not JSON"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(dsfx_build("{\"profile_name\": \"a\"", "not JSON"), ORCHARD_EINVAL); /* truncated */
    CU_ASSERT_EQUAL(dsfx_build("", "not JSON"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(dsfx_build("[1, 2]", "JSON object"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(dsfx_build("{\"a\": 1, \"a\": 2}", "not JSON"), ORCHARD_EINVAL); /* duplicate */
    CU_ASSERT_EQUAL(dsfx_build("{\"is_mdm_removable\": \"no\"}", "is_mdm_removable"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(dsfx_build("{\"profile_name\": 5}", "profile_name"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(dsfx_build("{\"profile_name\": \"\"}", "empty"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(dsfx_build("{\"skip_setup_items\": [\"a\", 1]}", "skip_setup_items"),
                    ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(dsfx_build("{\"anchor_certs\": \"x\"}", "anchor_certs"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(dsfx_build("{\"devices\": [\"S1\"]}", "devices"), ORCHARD_EINVAL);
    /* Oversized, and hostile nesting. */
    GString *big = g_string_new("{\"profile_name\": \"");
    while (big->len <= ORCHARD_DEP_PROFILE_MAX)
        g_string_append(big, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    g_string_append(big, "\"}");
    CU_ASSERT_EQUAL(dsfx_build(big->str, "KiB"), ORCHARD_ETOOBIG);
    g_string_free(big, TRUE);
    GString *deep = g_string_new("{\"x\": ");
    for (int i = 0; i < 5000; i++)
        g_string_append_c(deep, '[');
    CU_ASSERT_EQUAL(dsfx_build(deep->str, "not JSON"), ORCHARD_EINVAL);
    g_string_free(deep, TRUE);
    /* A file that is not there. */
    g_free(dsfx_profile_path);
    dsfx_profile_path = mdmfx_path("no_such_profile.json");
    CU_ASSERT_EQUAL(dsfx_build(NULL, "cannot read"), ORCHARD_ENOTFOUND);
    /* No server URL: nowhere to send Macs. */
    json_t *p = NULL;
    char *sha = NULL, *err = NULL;
    CU_ASSERT_EQUAL(orchard_dep_profile_build(NULL, "", "x", &p, &sha, NULL, &err),
                    ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "server.url"));
    g_free(err);

    /* A run with a bad file: devices sync, nothing is defined or assigned,
     * and the run says why. */
    dsfx_write_profile("{\"is_supervised\": 1}");
    orchard_dep_client *c = dfx_client();
    orchard_dep_run run = {0};
    gint64 defines = dfx_calls("profile"), assigns = dfx_calls("assign");
    CU_ASSERT_EQUAL(dsfx_sync_at(c, T0, &run, NULL, NULL), ORCHARD_EPROTO);
    CU_ASSERT_STRING_EQUAL(run.error_code, ORCHARD_DEP_ERR_PROFILE);
    CU_ASSERT_PTR_NOT_NULL(strstr(run.error, "is_supervised"));
    CU_ASSERT_EQUAL(dsfx_live(), SIM_DEVICES);
    CU_ASSERT_EQUAL(dfx_calls("profile"), defines);
    CU_ASSERT_EQUAL(dfx_calls("assign"), assigns);
    orchard_dep_run_clear(&run);
    orchard_dep_client_free(c);
    dsfx_done();
}

void dep_profile_suite(void)
{
    ORCHARD_ADD_SUITE("dep_profile", dfx_init, dfx_cleanup,
                      {"defined_when_changed", test_profile_defined_when_changed},
                      {"bad_profile_refused", test_bad_profile_refused});
}
