/* hosts_profiles_api: GET /hosts and GET /hosts/{uuid} show each host's
 * team and, in the detail, its configuration profiles with their delivery
 * status as Fleet's host detail does (server_plugin/api/hosts_api.c),
 * served for real by orchard_http_serve on a store the reconciler wrote
 * (and the mdm_host_profiles table on the same store). */
#include "host/plugins/registry.h"
#include "host/query/context.h"
#include "host/query/rows.h"
#include "host/store/store.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "tests/host/http_fixture.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/server/reconcile_fixture.h"
#include "tests/suites.h"
#include "tests/support/pg_cluster/pg_test.h"

#include "mdm_host_profiles.gen.h"
#include "tests/server/token_auth_fixture.h"

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <string.h>

#define TOKEN "Authorization: Bearer observer-tok"
#define LATEST "/api/latest/fleet"
#define H1 "HP-HOST-1"
#define H2 "HP-HOST-2"

static http_server *server;
static orchard_registry *reg, *saved_reg;

static const orchard_route *const test_routes[] = {&orchard_route_hosts_latest,
                                                   &orchard_route_hosts_v1};

static int plugin_init(orchard_ctx *ctx)
{
    return orchard_server_host->auth_register(ctx, tfx_token_auth, NULL);
}

static const orchard_plugin test_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin),
    .name = "hosts-profiles-test",
    .version = "1.0",
    .description = "GET /hosts under test",
    .routes = test_routes,
    .n_routes = G_N_ELEMENTS(test_routes),
    .init = plugin_init,
};

static int plugin_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    orchard_server_host = host;
    *out = &test_plugin;
    return 0;
}

/* Two teams, H1 in team 1 with a Wi-Fi profile failed and a VPN
 * verifying, H2 with no team and one pending profile. */
static int suite_init(void)
{
    g_autofree char *err = NULL;
    if (mdmfx_setup())
        return -1;
    mdmfx_apply_config(NULL);
    g_autofree char *db = mdmfx_path("hosts_profiles.db");
    http_config(orchard_test_store_key(), orchard_test_store(db));
    orchard_store_close();
    if (orchard_store_open(orchard_test_store(db), &err) != 0) {
        fprintf(stderr, "hosts_profiles_api: the store: %s\n", err);
        return -1;
    }
    saved_reg = orchard_registry_global();
    reg = orchard_registry_new();
    if (orchard_registry_add_builtin(reg, plugin_entry, &err) != 0) {
        fprintf(stderr, "hosts_profiles_api: %s\n", err);
        return -1;
    }
    orchard_registry_set_global(reg);
    if (orchard_server_store_migrate() != 0)
        return -1;
    http_config("http_module", BUILD_DIR "/modules/orchard_http.so");
    http_config("server.address", "127.0.0.1:0");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    server = http_server_start();
    if (!server->url)
        fprintf(stderr, "hosts_profiles_api: the server did not start\n");
    return server->url ? 0 : -1;
}

static int suite_cleanup(void)
{
    if (server)
        http_server_finish(server, NULL);
    server = NULL;
    orchard_registry_set_global(saved_reg);
    orchard_registry_free(reg);
    orchard_store_close();
    http_config("http_module", NULL);
    http_config("server.address", NULL);
    http_config(orchard_test_store_key(), NULL);
    curl_global_cleanup();
    return mdmfx_teardown();
}

static json_t *get(const char *path, long want)
{
    g_autofree char *url = g_strconcat(server->url, path, NULL);
    http_response r = {0};
    struct curl_slist *h = curl_slist_append(NULL, TOKEN);
    CURL *c = http_client(url, &r, h);
    http_perform(c, &r);
    curl_slist_free_all(h);
    if (r.status != want)
        fprintf(stderr, "\n  %s: wanted %ld, got %ld %s\n", path, want, r.status, r.body->str);
    CU_ASSERT_EQUAL(r.status, want);
    json_t *j = json_loads(r.body->str, 0, NULL);
    http_response_clear(&r);
    return j;
}

static void seed(void)
{
    rfx_team(1, "Engineering <&>");
    rfx_host(H1, 1, "14.0", 1);
    rfx_host(H2, 0, "14.0", 1);
    rfx_profile(11, 1, "custom", "com.example.wifi", "Wi-Fi", "UUID-A", NULL);
    rfx_profile(12, 1, "custom", "com.example.vpn", "VPN", "UUID-B", NULL);
    rfx_profile(1, 0, "custom", "com.example.global", "Global", "UUID-D", NULL);
    rfx_pass(RFX_T0);
    for (int i = 0; i < 2; i++) {
        g_autofree char *u = rfx_row(H1, "com.example.wifi", "command_uuid");
        rfx_report(H1, u, "Error", rfx_error_chain(4001, "MCProfileErrorDomain", "Bad \"quote\""),
                   RFX_T0 + 1);
    }
    g_autofree char *v = rfx_row(H1, "com.example.vpn", "command_uuid");
    rfx_report(H1, v, "Acknowledged", NULL, RFX_T0 + 1);
}

static json_t *find(json_t *profiles, const char *identifier)
{
    size_t i;
    json_t *p;
    json_array_foreach(profiles, i, p) {
        if (strcmp(json_string_value(json_object_get(p, "identifier")), identifier) == 0)
            return p;
    }
    return NULL;
}

static void test_host_detail(void)
{
    seed();
    json_t *j = get(LATEST "/hosts/" H1, 200);
    json_t *h = json_object_get(j, "host");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(h, "team_id")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(h, "team_name")), "Engineering <&>");
    json_t *profiles = json_object_get(json_object_get(h, "mdm"), "profiles");
    CU_ASSERT_FATAL(json_is_array(profiles));
    CU_ASSERT_EQUAL(json_array_size(profiles), 2);
    json_t *wifi = find(profiles, "com.example.wifi");
    CU_ASSERT_FATAL(wifi != NULL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(wifi, "profile_id")), 11);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(wifi, "name")), "Wi-Fi");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(wifi, "status")), "failed");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(wifi, "operation_type")), "install");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(wifi, "detail")),
                           "Bad \"quote\" (MCProfileErrorDomain 4001)");
    json_t *vpn = find(profiles, "com.example.vpn");
    CU_ASSERT_FATAL(vpn != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(vpn, "status")), "verifying");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(vpn, "detail")), "");
    json_decref(j);

    /* No team: null team fields, its own profile. */
    j = get("/api/v1/fleet/hosts/" H2, 200);
    h = json_object_get(j, "host");
    CU_ASSERT_TRUE(json_is_null(json_object_get(h, "team_id")));
    CU_ASSERT_TRUE(json_is_null(json_object_get(h, "team_name")));
    profiles = json_object_get(json_object_get(h, "mdm"), "profiles");
    CU_ASSERT_EQUAL(json_array_size(profiles), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(profiles, 0),
                                                             "status")), "pending");
    json_decref(j);

    /* A removed profile shows as a removal without a profile id. */
    rfx_sql("DELETE FROM mdm_profiles WHERE id = 12", NULL);
    rfx_pass(RFX_T0 + 2);
    j = get(LATEST "/hosts/" H1, 200);
    vpn = find(json_object_get(json_object_get(json_object_get(j, "host"), "mdm"), "profiles"),
               "com.example.vpn");
    CU_ASSERT_FATAL(vpn != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(vpn, "operation_type")), "remove");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(vpn, "status")), "pending");
    CU_ASSERT_TRUE(json_is_null(json_object_get(vpn, "profile_id")));
    json_decref(j);

    /* Unknown hosts stay 404. */
    json_decref(get(LATEST "/hosts/NO-SUCH-HOST", 404));
}

static void test_host_list(void)
{
    json_t *j = get(LATEST "/hosts", 200);
    json_t *hosts = json_object_get(j, "hosts");
    CU_ASSERT_EQUAL(json_array_size(hosts), 2);
    size_t i;
    json_t *h;
    int seen = 0;
    json_array_foreach(hosts, i, h) {
        const char *uuid = json_string_value(json_object_get(h, "uuid"));
        json_t *team = json_object_get(h, "team_id");
        if (strcmp(uuid, H1) == 0) {
            CU_ASSERT_EQUAL(json_integer_value(team), 1);
            seen++;
        } else {
            CU_ASSERT_TRUE(json_is_null(team));
            seen++;
        }
        /* The list is not the detail: no profiles there. */
        CU_ASSERT_PTR_NULL(json_object_get(json_object_get(h, "mdm"), "profiles"));
    }
    CU_ASSERT_EQUAL(seen, 2);
    json_decref(j);
}

/* Run the table with `col = value` (NULL: no constraint). */
static orchard_rows *table_rows(const char *col, const char *value)
{
    orchard_query_ctx *q = orchard_query_ctx_new();
    if (col)
        orchard_query_ctx_add(q, col, ORCHARD_OP_EQ, value);
    orchard_rows *rows = NULL;
    int rc = orchard_table_generate(&orchard_table_mdm_host_profiles, q, &rows);
    if (rc)
        fprintf(stderr, "\n  mdm_host_profiles: %s\n", rows ? orchard_rows_error(rows) : "?");
    CU_ASSERT_EQUAL(rc, 0);
    orchard_query_ctx_free(q);
    return rows;
}

/* The table on the same store, whole and by udid. */
static void test_table(void)
{
    orchard_rows *rows = table_rows(NULL, NULL);
    CU_ASSERT_FATAL(rows != NULL);
    CU_ASSERT_EQUAL(orchard_rows_count(rows), 3);
    orchard_rows_free(rows);
    rows = table_rows("udid", "NO-SUCH-HOST");
    CU_ASSERT_EQUAL(rows ? orchard_rows_count(rows) : 9, 0);
    orchard_rows_free(rows);
    rows = table_rows("udid", H1);
    CU_ASSERT_FATAL(rows != NULL);
    CU_ASSERT_EQUAL(orchard_rows_count(rows), 2);
    const char *const *v = orchard_rows_get(rows, 1); /* ordered by identifier: Wi-Fi second */
    CU_ASSERT_STRING_EQUAL(v[MDM_HOST_PROFILES_COL_IDENTIFIER], "com.example.wifi");
    CU_ASSERT_STRING_EQUAL(v[MDM_HOST_PROFILES_COL_TEAM], "Engineering <&>");
    CU_ASSERT_STRING_EQUAL(v[MDM_HOST_PROFILES_COL_TEAM_ID], "1");
    CU_ASSERT_STRING_EQUAL(v[MDM_HOST_PROFILES_COL_STATUS], "failed");
    CU_ASSERT_STRING_EQUAL(v[MDM_HOST_PROFILES_COL_OPERATION], "install");
    CU_ASSERT_STRING_EQUAL(v[MDM_HOST_PROFILES_COL_UPDATED_AT], "2025-06-15T15:06:41Z");
    CU_ASSERT_TRUE(g_str_has_prefix(v[MDM_HOST_PROFILES_COL_DETAIL], "Bad \"quote\""));
    CU_ASSERT_TRUE(g_str_has_prefix(v[MDM_HOST_PROFILES_COL_COMMAND_UUID], "ORCHARD-PROFILE-I-"));
    orchard_rows_free(rows);
}

void hosts_profiles_api_suite(void)
{
    ORCHARD_ADD_SUITE("hosts_profiles_api", suite_init, suite_cleanup,
                      {"the host detail shows its team and profiles", test_host_detail},
                      {"the host list shows each host's team", test_host_list},
                      {"the mdm_host_profiles table", test_table});
}
