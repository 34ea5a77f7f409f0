/* dep_views: what admins see of Apple Business Manager. The description
 * (api/mdm_apple_bm.c) over rows seeded with plain SQL: never synced, synced,
 * terms not signed, a token expiring or expired; GET /mdm/apple_bm served for
 * real with each role; `orchard get mdm-apple-bm` as the real binary, local
 * and --server; the dep_devices and dep_sync_runs tables; and hostile
 * values in what Apple (or a damaged store) left behind. */
#include "host/plugins/registry.h"
#include "host/query/context.h"
#include "host/query/rows.h"
#include "host/store/store.h"
#include "server_plugin/api/mdm_apple_bm.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_dep.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_sql.h"
#include "tests/host/http_fixture.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/server/token_auth_fixture.h"
#include "tests/suites.h"
#include "tests/support/pg_cluster/pg_test.h"

#include "dep_devices.gen.h"
#include "dep_sync_runs.gen.h"

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <string.h>

#define LATEST "/api/latest/fleet"
#define OUR_PROFILE "PROFILE-OURS-0001"
#define ADMIN_ID "abm-admin@example.com"
#define ORG "Example Orchards Inc."

static http_server *server;
static orchard_registry *reg, *saved_reg;
static int store_ok;
static char *db_path; /* the store's path (a database name on PostgreSQL) */

/* ---- the test plugin: the route, the stand-in authenticator */

/* A server that answers `get mdm-apple-bm --server <url>/evil` with whatever
 * a case sets (written before the command runs, read on a server thread). */
static int evil_status;
static const char *evil_body;

static int evil(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp,
                void *payload)
{
    (void)ctx, (void)req, (void)payload;
    return orchard_server_host->http_respond(resp, evil_status, "application/json", evil_body,
                                             strlen(evil_body));
}

static const orchard_route evil_route = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "GET",
    .path_prefix = "/evil/",
    .handle2 = evil,
};

static const orchard_route *const test_routes[] = {
    &orchard_route_mdm_apple_bm_api_latest,
    &orchard_route_mdm_apple_bm_api_v1,
    &evil_route,
};

static int plugin_init(orchard_ctx *ctx)
{
    return orchard_server_host->auth_register(ctx, tfx_token_auth, NULL);
}

static void plugin_deinit(orchard_ctx *ctx)
{
    (void)ctx;
    orchard_mdm_config_cache_clear();
}

static const orchard_plugin test_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin),
    .name = "dep-views-test",
    .version = "1.0",
    .description = "GET /mdm/apple_bm under test",
    .routes = test_routes,
    .n_routes = G_N_ELEMENTS(test_routes),
    .init = plugin_init,
    .deinit2 = plugin_deinit,
};

static int plugin_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    orchard_server_host = host;
    *out = &test_plugin;
    return 0;
}

/* ---- configuration: mdmfx's good one on our store, with kv applied */

/* kv with the store prepended (at most 10 pairs). */
static void with_store(const char *const *kv, const char **out)
{
    size_t n = 0;
    out[n++] = "store.sqlite";
    out[n++] = db_path;
    for (size_t i = 0; kv && kv[i] && n < 22; i += 2) {
        out[n++] = kv[i];
        out[n++] = kv[i + 1];
    }
    out[n] = NULL;
}

/* In process (the API reads it): the good configuration with kv. */
static void configure(const char *const *kv)
{
    const char *all[24];
    with_store(kv, all);
    mdmfx_apply_config(all);
    orchard_mdm_config_cache_clear();
}

/* `orchard --config <good + kv> get mdm-apple-bm ARGS` as the real binary,
 * with ORCHARD_API_TOKEN=`token` (NULL: unset). Exit status; *out, *err. */
static int get_bm(const char *const *kv, const char *token, char **out, char **err,
                  const char *const *args)
{
    const char *all[24];
    with_store(kv, all);
    g_autofree char *cfg = mdmfx_write_config(all);
    g_autofree char *env_token = token ? g_strconcat("ORCHARD_API_TOKEN=", token, NULL) : NULL;
    const char *env[] = {env_token ? env_token : "ORCHARD_API_TOKEN=", NULL};
    const char *argv[16] = {"--config", cfg, "get", "mdm-apple-bm"};
    size_t n = 4;
    for (size_t i = 0; args[i] && n < G_N_ELEMENTS(argv) - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return mdmfx_run(argv, env, out, err);
}

#define GET_BM(kv, token, out, err, ...)                                                  \
    get_bm(kv, token, out, err, (const char *const[]){__VA_ARGS__, NULL})

static const char *const TEAM[] = {"mdm.apple_bm_default_team", "Workstations", NULL};
static const char *const SOON[] = {"mdm.apple_bm_server_token", "fx:token_soon.p7m", NULL};
static const char *const EXPIRED[] = {"mdm.apple_bm_server_token", "fx:token_expired.p7m",
                                      NULL};
static const char *const NO_ABM[] = {"mdm.apple_bm_server_token", NULL, "mdm.apple_bm_cert",
                                     NULL, "mdm.apple_bm_key", NULL, NULL};

static int contains(const char *hay, const char *needle)
{
    if (hay && strstr(hay, needle))
        return 1;
    fprintf(stderr, "\n  expected \"%s\" in:\n%s\n", needle, hay ? hay : "(null)");
    return 0;
}

/* No warning or error on stderr (the host's notes on the config file's
 * mode are not ours to judge). */
static int quiet(const char *err)
{
    if (err && !strstr(err, "WARNING") && !strstr(err, "ERROR"))
        return 1;
    fprintf(stderr, "\n  unexpected on stderr: %s\n", err ? err : "(null)");
    return 0;
}

/* ---- store material */

static gint64 now_s(void) { return g_get_real_time() / G_USEC_PER_SEC; }

static int sql(const char *text, const orchard_sql_param *p, size_t n)
{
    gint64 rc = orchard_sstore_write("dep_views test", text, p, n);
    if (rc < 0)
        fprintf(stderr, "\n  dep_views: %s failed (%lld)\n", text, (long long)rc);
    return rc < 0 ? -1 : 0;
}

static int state(const char *key, const char *value)
{
    return sql("INSERT INTO server_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO "
               "UPDATE SET value = excluded.value",
               SQL_PARAMS(SQL_TEXT(key), SQL_TEXT(value)));
}

/* Nothing synced: every test starts here. */
static void reset(void)
{
    CU_ASSERT_FATAL(store_ok);
    CU_ASSERT_EQUAL(sql("DELETE FROM dep_devices", NULL, 0), 0);
    CU_ASSERT_EQUAL(sql("DELETE FROM dep_sync_runs", NULL, 0), 0);
    CU_ASSERT_EQUAL(sql("DELETE FROM server_state WHERE key LIKE 'dep.%'", NULL, 0), 0);
    CU_ASSERT_EQUAL(sql("UPDATE mdm_enrollments SET dep_enrolled = 0", NULL, 0), 0);
    configure(NULL);
}

/* A finished run (finished_ms 0: still running, or killed). */
static void run(const char *kind, gint64 started_ms, gint64 finished_ms, gint64 fetched,
                const char *code, const char *error)
{
    CU_ASSERT_EQUAL(sql("INSERT INTO dep_sync_runs (kind, started_at, finished_at, pages, "
                        "fetched, added, modified, deleted, assigned, cursor_age, error_code, "
                        "error) VALUES (?, ?, ?, 1, ?, 2, 1, 0, 2, ?, ?, ?)",
                        SQL_PARAMS(SQL_TEXT(kind), SQL_INT(started_ms),
                                   finished_ms ? SQL_INT(finished_ms) : SQL_TEXT(NULL),
                                   SQL_INT(fetched),
                                   g_str_equal(kind, "fetch") ? SQL_TEXT(NULL) : SQL_INT(60),
                                   SQL_TEXT(code), SQL_TEXT(error))),
                    0);
}

static void device(const char *serial, const char *profile, gint64 assigned_at, int deleted)
{
    CU_ASSERT_EQUAL(sql("INSERT INTO dep_devices (serial_number, model, description, color, os, "
                        "device_family, profile_status, profile_uuid, profile_assigned_at, "
                        "op_type, op_date, op_date_unix, assign_status, assign_error, deleted, "
                        "created_at, updated_at) VALUES (?, 'MacBookPro18,3', 'MBP 14', "
                        "'SPACE GRAY', 'OSX', 'Mac', ?, ?, ?, ?, '2026-12-01T10:00:00Z', 1, ?, "
                        "?, ?, 1, 1)",
                        SQL_PARAMS(SQL_TEXT(serial), SQL_TEXT(profile ? "assigned" : "empty"),
                                   SQL_TEXT(profile),
                                   assigned_at ? SQL_INT(assigned_at) : SQL_TEXT(NULL),
                                   SQL_TEXT(deleted ? "deleted" : "added"),
                                   SQL_TEXT(profile ? "SUCCESS" : "FAILED"),
                                   SQL_TEXT(profile ? NULL : "NOT_ACCESSIBLE"),
                                   SQL_INT(deleted))),
                    0);
}

/* A host that enrolled with `serial`, through the DEP URL when dep is 1. */
static void enrolled(const char *udid, const char *serial, int dep)
{
    g_autofree char *cert = g_compute_checksum_for_string(G_CHECKSUM_SHA256, udid, -1);
    orchard_device_auth a = {.udid = udid, .cert_sha256 = cert, .serial_number = serial,
                             .model = "MacBookPro18,3", .product_name = "MacBookPro18,3",
                             .os_version = "14.4.1", .build_version = "23E224",
                             .device_name = udid, .topic = "com.apple.mgmt.External.test"};
    CU_ASSERT_EQUAL(orchard_store_device_authenticate(&a, now_s() - 100, NULL), 0);
    CU_ASSERT_EQUAL(sql("UPDATE mdm_enrollments SET dep_enrolled = ? WHERE udid = ?",
                        SQL_PARAMS(SQL_INT(dep), SQL_TEXT(udid))),
                    0);
}

/* An account that synced: three devices (one deleted, one with an older
 * profile), a DEP enrollment, a failed fetch then a good sync, and a run
 * killed mid-way after them. */
static gint64 t_ok; /* the good sync's end, ms */
static void synced(void)
{
    gint64 now = g_get_real_time() / 1000;
    t_ok = now - 60000;
    CU_ASSERT_EQUAL(state(ORCHARD_DEP_KEY_ACCOUNT,
                          "{\"server_name\": \"orchard\", \"admin_id\": \"" ADMIN_ID
                          "\", \"facilitator_id\": \"partner@example.com\", \"org_name\": \"" ORG
                          "\", \"org_email\": \"it@example.com\"}"),
                    0);
    g_autofree char *at = g_strdup_printf("%" G_GINT64_FORMAT, now_s() - 90);
    CU_ASSERT_EQUAL(state(ORCHARD_DEP_KEY_ACCOUNT_AT, at), 0);
    CU_ASSERT_EQUAL(state(ORCHARD_DEP_KEY_PROFILE_UUID, OUR_PROFILE), 0);
    device("SIM001000001", OUR_PROFILE, now_s() - 70, 0);
    device("SIM001000002", "PROFILE-OLD", now_s() - 7000, 0);
    device("SIM001000003", NULL, 0, 1);
    enrolled("0000DE00-0000-0000-0000-000000000001", "SIM001000001", 1);
    enrolled("0000DE00-0000-0000-0000-000000000002", "SIM001000002", 0);
    run("fetch", now - 600000, now - 590000, 0, "THROTTLED", "Apple asked to wait 60 s");
    run("sync", t_ok - 500, t_ok, 3, NULL, NULL);
    run("sync", now - 1000, 0, 0, NULL, NULL);
}

/* The description, in process, as the API and the command make it. */
static json_t *describe(void)
{
    orchard_mdm_config *cfg = NULL;
    g_autofree char *err = NULL;
    json_t *o = NULL;
    int rc = orchard_mdm_config_load_ex(orchard_host_api_get(),
                                        ORCHARD_MDM_CONFIG_KEEP_EXPIRED_BM_TOKEN, &cfg, &err);
    if (rc)
        fprintf(stderr, "\n  config: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(orchard_mdm_apple_bm_describe(orchard_host_api_get(), cfg, now_s(), &o), 0);
    orchard_mdm_config_free(cfg);
    CU_ASSERT_FATAL(json_is_object(o));
    return o;
}

static const char *str(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "(not a string)";
}

static gint64 num(json_t *o, const char *key) { return json_integer_value(json_object_get(o, key)); }

/* ---- suite setup */

static int suite_init(void)
{
    g_autofree char *err = NULL;
    if (mdmfx_setup())
        return -1;
    db_path = mdmfx_path("dep_views.db");
    configure(NULL);
    orchard_store_close();
    store_ok = orchard_store_open(orchard_test_store(db_path), &err) == 0;
    saved_reg = orchard_registry_global();
    reg = orchard_registry_new();
    if (orchard_registry_add_builtin(reg, plugin_entry, &err) != 0) {
        fprintf(stderr, "dep_views: %s\n", err);
        return -1;
    }
    orchard_registry_set_global(reg);
    store_ok = store_ok && orchard_server_store_migrate() == 0;
    if (!store_ok)
        fprintf(stderr, "dep_views: the store could not be set up\n");
    http_config("http_module", BUILD_DIR "/modules/orchard_http.so");
    http_config("server.address", "127.0.0.1:0");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    server = http_server_start();
    if (!server->url) {
        fprintf(stderr, "dep_views: the server did not start\n");
        return -1;
    }
    return 0;
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
    curl_global_cleanup();
    g_clear_pointer(&db_path, g_free);
    return mdmfx_teardown();
}

/* ---- the API client */

typedef struct {
    long status;
    char *body;
    json_t *json;
} answer;

static void answer_clear(answer *a)
{
    g_free(a->body);
    json_decref(a->json);
    memset(a, 0, sizeof *a);
}

static void call(answer *a, const char *method, const char *path, const char *auth)
{
    g_autofree char *url = g_strconcat(server->url, path, NULL);
    g_autofree char *line = auth ? g_strconcat("Authorization: ", auth, NULL) : NULL;
    http_response r = {0};
    struct curl_slist *h = line ? curl_slist_append(NULL, line) : NULL;
    CURL *c = http_client(url, &r, h);
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    http_perform(c, &r);
    curl_slist_free_all(h);
    memset(a, 0, sizeof *a);
    a->status = r.status;
    a->body = g_strdup(r.body->str);
    a->json = json_loads(a->body, 0, NULL);
    http_response_clear(&r);
}

/* Fleet's error shape with `want` in its message. */
static void expect_error(const answer *a, long status, const char *want)
{
    if (a->status != status)
        fprintf(stderr, "\n  wanted %ld, got %ld: %s\n", status, a->status, a->body);
    CU_ASSERT_EQUAL(a->status, status);
    const char *msg = json_string_value(json_object_get(a->json, "message"));
    json_t *e0 = json_array_get(json_object_get(a->json, "errors"), 0);
    CU_ASSERT_TRUE(msg && json_is_string(json_object_get(e0, "name")) &&
                   json_is_string(json_object_get(e0, "reason")));
    CU_ASSERT_TRUE(contains(msg, want));
}

#define NOARGS ((const char *const[]){NULL})

/* ---- the description: never synced, synced, terms, expiring, expired */

static void test_never_synced(void)
{
    reset();
    json_t *o = describe();
    g_autofree char *at = orchard_mdm_format_utc(mdmfx_state.token_expiry);
    CU_ASSERT_STRING_EQUAL(str(o, "apple_id"), "");
    CU_ASSERT_STRING_EQUAL(str(o, "org_name"), "");
    CU_ASSERT_STRING_EQUAL(str(o, "mdm_server_url"), "https://mdm.example.com/mdm/apple/mdm");
    CU_ASSERT_STRING_EQUAL(str(o, "renew_date"), at);
    CU_ASSERT_STRING_EQUAL(str(o, "expires_at"), at);
    CU_ASSERT_STRING_EQUAL(str(o, "default_team"), "");
    CU_ASSERT_STRING_EQUAL(str(o, "status"), "ok");
    CU_ASSERT_TRUE(num(o, "days_left") >= 199); /* mdmfx: 200 days ahead */
    CU_ASSERT_TRUE(json_is_false(json_object_get(o, "synced")));
    CU_ASSERT_TRUE(json_is_null(json_object_get(o, "account_at")));
    CU_ASSERT_TRUE(json_is_null(json_object_get(o, "last_sync")));
    CU_ASSERT_TRUE(json_is_null(json_object_get(o, "last_success_at")));
    CU_ASSERT_EQUAL(num(o, "devices"), 0);
    CU_ASSERT_EQUAL(num(o, "assigned"), 0);
    CU_ASSERT_EQUAL(num(o, "enrolled"), 0);
    CU_ASSERT_TRUE(json_is_false(json_object_get(o, "terms_not_signed")));
    CU_ASSERT_PTR_NULL(json_object_get(o, "terms_message"));
    json_decref(o);

    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *renew = mdmfx_renew_date(mdmfx_state.token_expiry);
    g_autofree char *want = g_strdup_printf(
        "Apple ID: (not synced yet: run `orchard dep sync` or start `orchard serve`)\n"
        "Organization name: (not synced yet: run `orchard dep sync` or start `orchard serve`)\n"
        "MDM server URL: https://mdm.example.com/mdm/apple/mdm\n"
        "Renew date: %s\n"
        "Default team: No team\n"
        "Last sync: never (run `orchard dep sync` or start `orchard serve`)\n"
        "Devices: 0 (0 with the enrollment profile, 0 enrolled)\n", renew);
    CU_ASSERT_EQUAL(get_bm(NULL, NULL, &out, &err, NOARGS), 0);
    CU_ASSERT_STRING_EQUAL(out, want);
    CU_ASSERT_TRUE(quiet(err));
}

static void test_synced(void)
{
    reset();
    synced();
    configure(TEAM);
    json_t *o = describe();
    CU_ASSERT_STRING_EQUAL(str(o, "apple_id"), ADMIN_ID);
    CU_ASSERT_STRING_EQUAL(str(o, "org_name"), ORG);
    CU_ASSERT_STRING_EQUAL(str(o, "default_team"), "Workstations");
    CU_ASSERT_TRUE(json_is_true(json_object_get(o, "synced")));
    CU_ASSERT_TRUE(g_str_has_suffix(str(o, "account_at"), "Z"));
    json_t *last = json_object_get(o, "last_sync");
    g_autofree char *fin = orchard_mdm_format_utc(t_ok / 1000);
    g_autofree char *began = orchard_mdm_format_utc((t_ok - 500) / 1000);
    CU_ASSERT_FATAL(json_is_object(last));
    CU_ASSERT_STRING_EQUAL(str(last, "kind"), "sync");
    CU_ASSERT_STRING_EQUAL(str(last, "finished_at"), fin);
    CU_ASSERT_STRING_EQUAL(str(last, "started_at"), began);
    CU_ASSERT_EQUAL(num(last, "fetched"), 3);
    CU_ASSERT_EQUAL(num(last, "added"), 2);
    CU_ASSERT_EQUAL(num(last, "modified"), 1);
    CU_ASSERT_EQUAL(num(last, "deleted"), 0);
    CU_ASSERT_EQUAL(num(last, "assigned"), 2);
    CU_ASSERT_STRING_EQUAL(str(last, "error_code"), "");
    CU_ASSERT_STRING_EQUAL(str(last, "error"), "");
    CU_ASSERT_STRING_EQUAL(str(o, "last_success_at"), fin);
    /* Not deleted; with our current profile; hosts enrolled through DEP. */
    CU_ASSERT_EQUAL(num(o, "devices"), 2);
    CU_ASSERT_EQUAL(num(o, "assigned"), 1);
    CU_ASSERT_EQUAL(num(o, "enrolled"), 1);
    CU_ASSERT_TRUE(json_is_false(json_object_get(o, "terms_not_signed")));

    /* The command prints the same, Fleet's lines first. */
    g_autofree char *out = NULL, *err = NULL, *jout = NULL, *jerr = NULL;
    CU_ASSERT_EQUAL(get_bm(TEAM, NULL, &out, &err, NOARGS), 0);
    g_autofree char *renew = mdmfx_renew_date(mdmfx_state.token_expiry);
    g_autofree char *head = g_strdup_printf(
        "Apple ID: " ADMIN_ID "\nOrganization name: " ORG
        "\nMDM server URL: https://mdm.example.com/mdm/apple/mdm\nRenew date: %s\n"
        "Default team: Workstations\nLast sync: %s (sync): ok, 3 fetched, 2 added, 1 modified, "
        "0 deleted, 2 assigned\nDevices: 2 (1 with the enrollment profile, 1 enrolled)\n",
        renew, fin);
    CU_ASSERT_STRING_EQUAL(out, head);
    CU_ASSERT_TRUE(quiet(err));
    CU_ASSERT_EQUAL(GET_BM(TEAM, NULL, &jout, &jerr, "--json"), 0);
    json_t *j = json_loads(jout, 0, NULL);
    CU_ASSERT_FATAL(json_is_object(j));
    static const char *const same[] = {"apple_id", "org_name", "mdm_server_url", "renew_date",
                                       "default_team", "last_sync", "last_success_at", "devices",
                                       "assigned", "enrolled", "terms_not_signed", "status"};
    for (size_t i = 0; i < G_N_ELEMENTS(same); i++)
        CU_ASSERT_TRUE(json_equal(json_object_get(j, same[i]), json_object_get(o, same[i])));
    CU_ASSERT_EQUAL(json_object_size(j), json_object_size(o));
    json_decref(j);
    json_decref(o);

    /* No administrator (or not a string): the facilitator, as Fleet shows. */
    static const char *const accounts[] = {
        "{\"facilitator_id\": \"partner@example.com\", \"org_name\": \"P\"}",
        "{\"admin_id\": \"\", \"facilitator_id\": \"partner@example.com\"}",
        "{\"admin_id\": 42, \"facilitator_id\": \"partner@example.com\"}",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(accounts); i++) {
        CU_ASSERT_EQUAL(state(ORCHARD_DEP_KEY_ACCOUNT, accounts[i]), 0);
        o = describe();
        CU_ASSERT_STRING_EQUAL(str(o, "apple_id"), "partner@example.com");
        json_decref(o);
    }
}

#define TERMS_ERROR "Apple Business Manager answered T_C_NOT_SIGNED (403)"

static void test_terms_not_signed(void)
{
    reset();
    synced();
    gint64 now = g_get_real_time() / 1000;
    run("sync", now - 500, now - 400, 0, "T_C_NOT_SIGNED", TERMS_ERROR);
    json_t *o = describe();
    CU_ASSERT_TRUE(json_is_true(json_object_get(o, "terms_not_signed")));
    CU_ASSERT_STRING_EQUAL(str(o, "terms_message"), ORCHARD_BM_TERMS_MESSAGE);
    CU_ASSERT_STRING_EQUAL(str(json_object_get(o, "last_sync"), "error_code"), "T_C_NOT_SIGNED");
    CU_ASSERT_STRING_EQUAL(str(json_object_get(o, "last_sync"), "error"), TERMS_ERROR);
    g_autofree char *ok_at = orchard_mdm_format_utc(t_ok / 1000);
    CU_ASSERT_STRING_EQUAL(str(o, "last_success_at"), ok_at);
    json_decref(o);

    /* A warning on stderr, not a failure: the token itself is fine. */
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(get_bm(NULL, NULL, &out, &err, NOARGS), 0);
    CU_ASSERT_TRUE(contains(err, "WARNING: Apple Business Manager's terms and conditions changed: "
                                 "an administrator must sign in to business.apple.com and "
                                 "accept them; automatic enrollment is paused until then"));
    CU_ASSERT_TRUE(contains(out, "(sync): failed: T_C_NOT_SIGNED: " TERMS_ERROR "; 0 fetched"));
    g_autofree char *line = g_strdup_printf("Last successful sync: %s\n", ok_at);
    CU_ASSERT_TRUE(contains(out, line));
    CU_ASSERT_PTR_NULL(strstr(out, "WARNING"));

    /* Accepted and synced again: the warning goes. */
    run("sync", now - 300, now - 200, 0, NULL, NULL);
    o = describe();
    CU_ASSERT_TRUE(json_is_false(json_object_get(o, "terms_not_signed")));
    CU_ASSERT_PTR_NULL(json_object_get(o, "terms_message"));
    json_decref(o);
    g_free(out), g_free(err);
    out = err = NULL;
    CU_ASSERT_EQUAL(get_bm(NULL, NULL, &out, &err, NOARGS), 0);
    CU_ASSERT_TRUE(quiet(err));
    CU_ASSERT_PTR_NULL(strstr(out, "Last successful sync"));
}

static void test_expiring(void)
{
    reset();
    configure(SOON);
    json_t *o = describe();
    CU_ASSERT_STRING_EQUAL(str(o, "status"), "expiring");
    /* Made 10 days ahead when the suite started: 10 whole days within that
     * second, 9 after it. */
    gint64 days = num(o, "days_left");
    CU_ASSERT_TRUE(days == 9 || days == 10);
    json_decref(o);
    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *renew = mdmfx_renew_date(mdmfx_state.soon_token_expiry);
    g_autofree char *line = g_strdup_printf("Renew date: %s\n", renew);
    CU_ASSERT_EQUAL(get_bm(SOON, NULL, &out, &err, NOARGS), 0);
    CU_ASSERT_TRUE(contains(out, line));
    CU_ASSERT_TRUE(strstr(err, "WARNING: Your Apple Business Manager (ABM) server token "
                               "expires in 9 days") ||
                   contains(err, "WARNING: Your Apple Business Manager (ABM) server token "
                                 "expires in 10 days"));
    CU_ASSERT_TRUE(contains(err, "Download a new token for the same MDM server"));
    configure(NULL);
}

static void test_expired(void)
{
    reset();
    configure(EXPIRED);
    json_t *o = describe();
    CU_ASSERT_STRING_EQUAL(str(o, "status"), "expired");
    CU_ASSERT_TRUE(num(o, "days_left") < 0);
    json_decref(o);
    g_autofree char *out = NULL, *err = NULL, *jout = NULL, *jerr = NULL;
    CU_ASSERT_EQUAL(get_bm(EXPIRED, NULL, &out, &err, NOARGS), 1);
    CU_ASSERT_TRUE(contains(out, "Renew date: "));
    CU_ASSERT_TRUE(contains(err, "ERROR: Your Apple Business Manager (ABM) server token expired "
                                 "on"));
    CU_ASSERT_EQUAL(GET_BM(EXPIRED, NULL, &jout, &jerr, "--json"), 1);
    json_t *j = json_loads(jout, 0, NULL);
    CU_ASSERT_STRING_EQUAL(str(j, "status"), "expired");
    json_decref(j);
    /* The API describes it (200) rather than failing. */
    answer a;
    call(&a, "GET", LATEST "/mdm/apple_bm", TFX_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(str(a.json, "status"), "expired");
    answer_clear(&a);
    configure(NULL);
}

/* ---- GET /mdm/apple_bm */

static void test_api(void)
{
    reset();
    synced();
    configure(TEAM);
    answer a;
    call(&a, "GET", LATEST "/mdm/apple_bm", NULL);
    CU_ASSERT_EQUAL(a.status, 401);
    answer_clear(&a);
    call(&a, "GET", LATEST "/mdm/apple_bm", "Bearer not-a-token");
    CU_ASSERT_EQUAL(a.status, 401);
    answer_clear(&a);

    /* Observers and up, on both prefixes; the description's fields. */
    const char *const roles[] = {TFX_OBSERVER, TFX_MAINTAINER, TFX_ADMIN};
    json_t *o = describe();
    for (size_t i = 0; i < G_N_ELEMENTS(roles); i++) {
        const char *paths[] = {LATEST "/mdm/apple_bm", "/api/v1/fleet/mdm/apple_bm"};
        for (size_t p = 0; p < G_N_ELEMENTS(paths); p++) {
            call(&a, "GET", paths[p], roles[i]);
            CU_ASSERT_EQUAL(a.status, 200);
            CU_ASSERT_STRING_EQUAL(str(a.json, "apple_id"), ADMIN_ID);
            CU_ASSERT_STRING_EQUAL(str(a.json, "org_name"), ORG);
            CU_ASSERT_STRING_EQUAL(str(a.json, "mdm_server_url"),
                                   "https://mdm.example.com/mdm/apple/mdm");
            CU_ASSERT_STRING_EQUAL(str(a.json, "renew_date"), str(o, "renew_date"));
            CU_ASSERT_STRING_EQUAL(str(a.json, "default_team"), "Workstations");
            CU_ASSERT_TRUE(json_equal(json_object_get(a.json, "last_sync"),
                                      json_object_get(o, "last_sync")));
            CU_ASSERT_EQUAL(num(a.json, "devices"), 2);
            CU_ASSERT_EQUAL(json_object_size(a.json), json_object_size(o));
            /* Never a secret of the token's, never a key. */
            CU_ASSERT_PTR_NULL(strstr(a.body, MDMFX_ACCESS_SECRET));
            CU_ASSERT_PTR_NULL(strstr(a.body, MDMFX_CONSUMER_SECRET));
            CU_ASSERT_PTR_NULL(strstr(a.body, MDMFX_ACCESS_TOKEN));
            CU_ASSERT_PTR_NULL(strstr(a.body, "PRIVATE KEY"));
            answer_clear(&a);
        }
    }
    json_decref(o);
    /* Only that path. */
    const char *others[] = {LATEST "/mdm/apple_bmx", LATEST "/mdm/apple_bm/1",
                            LATEST "/mdm/apple_bm%00", LATEST "/mdm/apple_bm%2f"};
    for (size_t i = 0; i < G_N_ELEMENTS(others); i++) {
        call(&a, "GET", others[i], TFX_ADMIN);
        /* the host refuses a NUL in a path before any handler (400) */
        CU_ASSERT_TRUE(a.status == 404 || a.status == 400);
        answer_clear(&a);
    }
    call(&a, "POST", LATEST "/mdm/apple_bm", TFX_ADMIN);
    CU_ASSERT_TRUE(a.status == 404 || a.status == 405);
    answer_clear(&a);

    /* Not configured: Fleet's JSON 404, naming the setting. */
    configure(NO_ABM);
    call(&a, "GET", LATEST "/mdm/apple_bm", TFX_OBSERVER);
    expect_error(&a, 404, "mdm.apple_bm_server_token");
    answer_clear(&a);
    /* A broken configuration: 500 naming the key, never a value. */
    const char *const broken[] = {"mdm.apple_bm_server_token", "fx:token_other.p7m", NULL};
    configure(broken);
    call(&a, "GET", LATEST "/mdm/apple_bm", TFX_OBSERVER);
    expect_error(&a, 500, "does not decrypt with mdm.apple_bm_key");
    answer_clear(&a);
    configure(NULL);
}

/* ---- get mdm-apple-bm --server, and the command's usage */

static void test_command_server(void)
{
    reset();
    synced();
    configure(TEAM);
    g_autofree char *local = NULL, *lerr = NULL, *remote = NULL, *rerr = NULL;
    CU_ASSERT_EQUAL(get_bm(TEAM, NULL, &local, &lerr, NOARGS), 0);
    int rc = GET_BM(NULL, "observer-tok", &remote, &rerr, "--server", server->url);
    if (rc)
        fprintf(stderr, "\n  --server: %d %s\n", rc, rerr);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(remote, local);
    g_autofree char *jl = NULL, *jle = NULL, *jr = NULL, *jre = NULL;
    CU_ASSERT_EQUAL(GET_BM(TEAM, NULL, &jl, &jle, "--json"), 0);
    CU_ASSERT_EQUAL(GET_BM(NULL, "observer-tok", &jr, &jre, "--json", "--server", server->url),
                    0);
    json_t *a = json_loads(jl, 0, NULL), *b = json_loads(jr, 0, NULL);
    CU_ASSERT_TRUE(a && b && json_object_size(a) == json_object_size(b) &&
                   json_equal(json_object_get(a, "apple_id"), json_object_get(b, "apple_id")) &&
                   json_equal(json_object_get(a, "last_sync"), json_object_get(b, "last_sync")) &&
                   json_equal(json_object_get(a, "devices"), json_object_get(b, "devices")));
    json_decref(a);
    json_decref(b);

    /* What goes wrong says what to do; the token is never echoed. */
    static const struct {
        const char *token, *want;
    } bad[] = {{NULL, "ORCHARD_API_TOKEN"}, {"not-a-token", "401"}};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(GET_BM(NULL, bad[i].token, &out, &err, "--server", server->url), 1);
        CU_ASSERT_TRUE(contains(err, bad[i].want));
        CU_ASSERT_STRING_EQUAL(out, "");
    }
    configure(NO_ABM);
    g_autofree char *o4 = NULL, *e4 = NULL;
    CU_ASSERT_EQUAL(GET_BM(NULL, "observer-tok", &o4, &e4, "--server", server->url), 1);
    CU_ASSERT_TRUE(contains(e4, "mdm.apple_bm_server_token is not set"));
    CU_ASSERT_STRING_EQUAL(o4, "");
    configure(NULL);

    /* Locally without ABM: exit 1, how to set it up. */
    g_autofree char *o5 = NULL, *e5 = NULL;
    CU_ASSERT_EQUAL(get_bm(NO_ABM, NULL, &o5, &e5, NOARGS), 1);
    CU_ASSERT_TRUE(contains(e5, "`orchard generate mdm-apple-bm`"));
    /* Without a store: the token's part, and why nothing synced shows. */
    const char *const no_store[] = {"store.sqlite", NULL, NULL};
    g_autofree char *o6 = NULL, *e6 = NULL;
    CU_ASSERT_EQUAL(get_bm(no_store, NULL, &o6, &e6, NOARGS), 0);
    CU_ASSERT_TRUE(contains(e6, "no store is configured"));
    CU_ASSERT_TRUE(contains(o6, "Apple ID: (not synced yet"));
    CU_ASSERT_TRUE(contains(o6, "Renew date: "));

    static const char *const usage[][3] = {
        {"--server", NULL, NULL}, {"--ca", "x.pem", NULL}, {"--bogus", NULL, NULL},
        {"--json", "extra", NULL}};
    for (size_t i = 0; i < G_N_ELEMENTS(usage); i++) {
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(get_bm(NULL, NULL, &out, &err, usage[i]), 2);
        CU_ASSERT_TRUE(contains(err, "usage: orchard get mdm-apple-bm"));
    }
}

/* What a server (or something posing as one) answers is checked and
 * escaped like Apple's words. */
static void test_command_server_hostile(void)
{
    static const char good_fields[] =
        "\"apple_id\": \"x\", \"org_name\": \"o\", \"mdm_server_url\": \"\", "
        "\"renew_date\": \"2030-01-02T00:00:00Z\", \"default_team\": \"\", "
        "\"status\": \"ok\", \"days_left\": 100";
    g_autofree char *evil_ok = g_strdup_printf(
        "{%s, \"synced\": true, \"last_sync\": {\"kind\": \"sync\\u001b[31m\", "
        "\"error_code\": \"X\", \"error\": \"\\u0007bell\", \"fetched\": \"many\"}, "
        "\"devices\": [], \"terms_not_signed\": 1}", good_fields);
    g_autofree char *no_days = g_strdup_printf("{%s}", good_fields);
    *strstr(no_days, "100") = '"'; /* days_left: "00 -> a string that never closes */
    static const struct {
        int status;
        const char *body, *want_err, *want_out;
        int rc;
    } cases[] = {
        {200, "[]", "without Apple Business Manager's fields", NULL, 1},
        {200, "{\"apple_id\": \"x\"", "without Apple Business Manager's fields", NULL, 1},
        {200, "", "without Apple Business Manager's fields", NULL, 1},
        {200, "{\"apple_id\": 5}", "without Apple Business Manager's fields", NULL, 1},
        {404, "{\"message\": \"gone\\u001b[2J\"}", "gone\\x1b[2J", NULL, 1},
        {500, "not json", "answered 500", NULL, 1},
        {403, "{}", "observer role", NULL, 1},
        {200, NULL, NULL, "Last sync: (time unknown) (sync\\x1b[31m): failed: X: \\x07bell; 0 "
                          "fetched", 0},
        {200, NULL, "without Apple Business Manager's fields", NULL, 1},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        evil_status = cases[i].status;
        evil_body = cases[i].body ? cases[i].body : i == 7 ? evil_ok : no_days;
        g_autofree char *base = g_strconcat(server->url, "/evil", NULL);
        g_autofree char *out = NULL, *err = NULL;
        int rc = GET_BM(NULL, "observer-tok", &out, &err, "--server", base);
        if (rc != cases[i].rc)
            fprintf(stderr, "\n  case %zu: exit %d: %s%s\n", i, rc, out, err);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        if (cases[i].want_err)
            CU_ASSERT_TRUE(contains(err, cases[i].want_err));
        if (cases[i].want_out)
            CU_ASSERT_TRUE(contains(out, cases[i].want_out));
        for (const char *p = out; p && *p; p++)
            CU_ASSERT_TRUE((unsigned char)*p >= 0x20 || *p == '\n');
        for (const char *p = err; p && *p; p++)
            CU_ASSERT_TRUE((unsigned char)*p >= 0x20 || *p == '\n');
    }
}

/* ---- the tables */

static orchard_rows *table_rows(const orchard_table *t, const char *col, const char *value)
{
    orchard_query_ctx *q = orchard_query_ctx_new();
    if (col)
        orchard_query_ctx_add(q, col, ORCHARD_OP_EQ, value);
    orchard_rows *rows = NULL;
    int rc = orchard_table_generate(t, q, &rows);
    if (rc)
        fprintf(stderr, "\n  %s: %s\n", t->name, rows ? orchard_rows_error(rows) : "?");
    CU_ASSERT_EQUAL(rc, 0);
    orchard_query_ctx_free(q);
    return rows;
}

static size_t count_rows(const orchard_table *t, const char *col, const char *value)
{
    orchard_rows *rows = table_rows(t, col, value);
    size_t n = rows ? orchard_rows_count(rows) : 999;
    orchard_rows_free(rows);
    return n;
}

static void test_dep_devices_table(void)
{
    reset();
    CU_ASSERT_EQUAL(count_rows(&orchard_table_dep_devices, NULL, NULL), 0);
    synced();
    /* A serial enrolled through DEP twice (a Mac wiped and set up again) is one row. */
    enrolled("0000DE00-0000-0000-0000-000000000003", "SIM001000001", 1);
    orchard_rows *rows = table_rows(&orchard_table_dep_devices, NULL, NULL);
    CU_ASSERT_FATAL(rows && orchard_rows_count(rows) == 3);
    const char *const *v = orchard_rows_get(rows, 0);
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_SERIAL_NUMBER], "SIM001000001");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_MODEL], "MacBookPro18,3");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_DESCRIPTION], "MBP 14");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_COLOR], "SPACE GRAY");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_OS], "OSX");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_DEVICE_FAMILY], "Mac");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_PROFILE_STATUS], "assigned");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_PROFILE_UUID], OUR_PROFILE);
    CU_ASSERT_EQUAL(strlen(v[DEP_DEVICES_COL_PROFILE_ASSIGNED_AT]), 20);
    CU_ASSERT_TRUE(g_str_has_suffix(v[DEP_DEVICES_COL_PROFILE_ASSIGNED_AT], "Z"));
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_ASSIGN_STATUS], "SUCCESS");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_ASSIGN_ERROR], "");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_OP_TYPE], "added");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_OP_DATE], "2026-12-01T10:00:00Z");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_DELETED], "0");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_ENROLLED], "1");
    /* Enrolled, but not through the DEP URL. */
    v = orchard_rows_get(rows, 1);
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_SERIAL_NUMBER], "SIM001000002");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_ENROLLED], "0");
    /* Deleted by Apple, never assigned: '' where nothing is known. */
    v = orchard_rows_get(rows, 2);
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_DELETED], "1");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_PROFILE_UUID], "");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_PROFILE_ASSIGNED_AT], "");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_ASSIGN_ERROR], "NOT_ACCESSIBLE");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_ENROLLED], "0");
    orchard_rows_free(rows);

    /* The key constraint reads one row; a hostile value is only a value. */
    rows = table_rows(&orchard_table_dep_devices, "serial_number", "SIM001000002");
    CU_ASSERT_FATAL(rows && orchard_rows_count(rows) == 1);
    CU_ASSERT_STRING_EQUAL(orchard_rows_get(rows, 0)[DEP_DEVICES_COL_SERIAL_NUMBER],
                           "SIM001000002");
    orchard_rows_free(rows);
    CU_ASSERT_EQUAL(count_rows(&orchard_table_dep_devices, "serial_number", "NOPE"), 0);
    CU_ASSERT_EQUAL(count_rows(&orchard_table_dep_devices, "serial_number", "' OR 1=1 --"), 0);
    CU_ASSERT_EQUAL(count_rows(&orchard_table_dep_devices, "serial_number", ""), 0);
    /* Another column's constraint is SQLite's to apply: every row comes back. */
    CU_ASSERT_EQUAL(count_rows(&orchard_table_dep_devices, "model", "x"), 3);
}

static void test_dep_sync_runs_table(void)
{
    reset();
    CU_ASSERT_EQUAL(count_rows(&orchard_table_dep_sync_runs, NULL, NULL), 0);
    synced();
    orchard_rows *rows = table_rows(&orchard_table_dep_sync_runs, NULL, NULL);
    CU_ASSERT_FATAL(rows && orchard_rows_count(rows) == 3);
    /* Newest first: the killed run, the good sync, the throttled fetch. */
    const char *const *v = orchard_rows_get(rows, 0);
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_KIND], "sync");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_FINISHED_AT], "");
    CU_ASSERT_EQUAL(strlen(v[DEP_SYNC_RUNS_COL_STARTED_AT]), 24); /* ...SS.mmmZ */
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_CURSOR_AGE], "60");
    v = orchard_rows_get(rows, 1);
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_FETCHED], "3");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_ADDED], "2");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_MODIFIED], "1");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_DELETED], "0");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_ASSIGNED], "2");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_PAGES], "1");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_ERROR_CODE], "");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_ERROR], "");
    CU_ASSERT_EQUAL(strlen(v[DEP_SYNC_RUNS_COL_FINISHED_AT]), 24);
    CU_ASSERT_TRUE(strcmp(v[DEP_SYNC_RUNS_COL_STARTED_AT], v[DEP_SYNC_RUNS_COL_FINISHED_AT]) < 0);
    gint64 id1 = g_ascii_strtoll(v[DEP_SYNC_RUNS_COL_ID], NULL, 10);
    v = orchard_rows_get(rows, 2);
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_KIND], "fetch");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_CURSOR_AGE], "-1");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_ERROR_CODE], "THROTTLED");
    CU_ASSERT_STRING_EQUAL(v[DEP_SYNC_RUNS_COL_ERROR], "Apple asked to wait 60 s");
    CU_ASSERT_TRUE(g_ascii_strtoll(v[DEP_SYNC_RUNS_COL_ID], NULL, 10) < id1);
    orchard_rows_free(rows);

    /* The store's list takes a limit, newest first. */
    g_autoptr(GPtrArray) two = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_dep_run_list(2, &two), 0);
    CU_ASSERT_EQUAL_FATAL(two->len, 2);
    CU_ASSERT_EQUAL(((orchard_dep_run *)two->pdata[1])->id, id1);
    CU_ASSERT_EQUAL(((orchard_dep_run *)two->pdata[0])->finished_at, 0);
}

/* ---- hostile: what Apple, or a damaged store, may have left */

static void test_hostile_account(void)
{
    reset();
    /* Not an object, not JSON, truncated, a repeated key, empty: not synced. */
    static const char *const junk[] = {
        "[\"" ADMIN_ID "\"]", "\"" ADMIN_ID "\"", "null", "42", "not json at all",
        "{\"admin_id\": \"" ADMIN_ID "\"", "{\"admin_id\": \"a\", \"admin_id\": \"b\"}", "",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(junk); i++) {
        CU_ASSERT_EQUAL(state(ORCHARD_DEP_KEY_ACCOUNT, junk[i]), 0);
        json_t *o = describe();
        if (json_is_true(json_object_get(o, "synced")))
            fprintf(stderr, "\n  account %s read as synced\n", junk[i]);
        CU_ASSERT_TRUE(json_is_false(json_object_get(o, "synced")));
        CU_ASSERT_STRING_EQUAL(str(o, "apple_id"), "");
        json_decref(o);
    }
    /* An account_at that is not a time (or would overflow as milliseconds). */
    static const char *const not_times[] = {"yesterday", "-5", "0", "12abc",
                                            "99999999999999999", "99999999999999999999999"};
    json_t *o = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(not_times); i++) {
        CU_ASSERT_EQUAL(state(ORCHARD_DEP_KEY_ACCOUNT_AT, not_times[i]), 0);
        o = describe();
        CU_ASSERT_TRUE(json_is_null(json_object_get(o, "account_at")));
        json_decref(o);
    }

    /* Over 64 KiB: not read at all. */
    GString *big = g_string_new("{\"admin_id\": \"" ADMIN_ID "\", \"org_name\": \"");
    for (int i = 0; i < 70000; i++)
        g_string_append_c(big, 'x');
    g_string_append(big, "\"}");
    CU_ASSERT_EQUAL(state(ORCHARD_DEP_KEY_ACCOUNT, big->str), 0);
    o = describe();
    CU_ASSERT_TRUE(json_is_false(json_object_get(o, "synced")));
    json_decref(o);
    /* Long names are cut on a character boundary (2-byte characters here). */
    g_string_assign(big, "{\"admin_id\": \"" ADMIN_ID "\", \"org_name\": \"");
    for (int i = 0; i < 10000; i++)
        g_string_append(big, "\xc3\xa9");
    g_string_append(big, "\"}");
    CU_ASSERT_EQUAL(state(ORCHARD_DEP_KEY_ACCOUNT, big->str), 0);
    g_string_free(big, TRUE);
    o = describe();
    const char *org = str(o, "org_name");
    CU_ASSERT_TRUE(strlen(org) > 0 && strlen(org) <= ORCHARD_BM_FIELD_MAX);
    CU_ASSERT_EQUAL(strlen(org) % 2, 0);
    CU_ASSERT_TRUE(g_utf8_validate(org, -1, NULL));
    json_decref(o);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(get_bm(NULL, NULL, &out, &err, NOARGS), 0);
    CU_ASSERT_TRUE(out && strlen(out) < 2000);
}

static void test_hostile_text(void)
{
    reset();
    /* Escapes that would clear a terminal, ring it, start a C1 CSI, or
     * forge a line of the output. */
    CU_ASSERT_EQUAL(state(ORCHARD_DEP_KEY_ACCOUNT,
                          "{\"admin_id\": \"a\\nRenew date: never@example.com\", "
                          "\"org_name\": \"Evil\\u001b[2J\\u0007Corp\\u009b31m\\u007f\"}"),
                    0);
    gint64 now = g_get_real_time() / 1000;
    GString *huge = g_string_new("Apple said: \x1b]0;owned\x07 ");
    for (int i = 0; i < 10000; i++)
        g_string_append_c(huge, 'e');
    run("sync", now - 200, now - 100, 0, "SERVER_ERROR\r", huge->str);
    g_string_free(huge, TRUE);
    json_t *o = describe();
    /* The JSON keeps Apple's text as sent (jansson escapes it), cut to length. */
    CU_ASSERT_STRING_EQUAL(str(o, "org_name"), "Evil\x1b[2J\x07" "Corp\xc2\x9b" "31m\x7f");
    CU_ASSERT_TRUE(strlen(str(json_object_get(o, "last_sync"), "error")) <=
                   4 * ORCHARD_BM_FIELD_MAX);
    json_decref(o);

    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(get_bm(NULL, NULL, &out, &err, NOARGS), 0);
    CU_ASSERT_TRUE(contains(out, "Apple ID: a\\x0aRenew date: never@example.com\n"));
    CU_ASSERT_TRUE(contains(out, "Organization name: Evil\\x1b[2J\\x07Corp\\u009b31m\\x7f\n"));
    CU_ASSERT_TRUE(contains(out, "failed: SERVER_ERROR\\x0d: Apple said: \\x1b]0;owned\\x07 e"));
    /* Not one raw control byte (but the line ends) reaches the terminal. */
    for (const char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\n') {
            fprintf(stderr, "\n  raw byte 0x%02x in the output\n", (unsigned char)*p);
            CU_FAIL("a control byte was printed");
            break;
        }
    CU_ASSERT_PTR_NULL(strstr(out, "\xc2\x9b"));
    CU_ASSERT_PTR_NULL(strstr(out, "\x7f"));
    /* Exactly one "Renew date:" line starts a line: the forged one is inside another. */
    CU_ASSERT_PTR_NULL(strstr(out, "\nRenew date: never"));
}

/* Times no writer makes (a damaged row): shown as unknown, never a crash
 * or an overflow. */
static void test_hostile_rows(void)
{
    reset();
    CU_ASSERT_EQUAL(sql("INSERT INTO dep_sync_runs (kind, started_at, finished_at, error_code) "
                        "VALUES ('sync', -5, 9223372036854775807, '')",
                        NULL, 0),
                    0);
    CU_ASSERT_EQUAL(sql("INSERT INTO dep_devices (serial_number, profile_assigned_at, deleted, "
                        "created_at, updated_at) VALUES ('ODD1', 9223372036854775807, 7, 0, 0)",
                        NULL, 0),
                    0);
    orchard_rows *rows = table_rows(&orchard_table_dep_sync_runs, NULL, NULL);
    CU_ASSERT_FATAL(rows && orchard_rows_count(rows) == 1);
    CU_ASSERT_STRING_EQUAL(orchard_rows_get(rows, 0)[DEP_SYNC_RUNS_COL_STARTED_AT], "");
    CU_ASSERT_STRING_EQUAL(orchard_rows_get(rows, 0)[DEP_SYNC_RUNS_COL_FINISHED_AT], "");
    orchard_rows_free(rows);
    rows = table_rows(&orchard_table_dep_devices, NULL, NULL);
    CU_ASSERT_FATAL(rows && orchard_rows_count(rows) == 1);
    const char *const *v = orchard_rows_get(rows, 0);
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_PROFILE_ASSIGNED_AT], "");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_MODEL], "");
    CU_ASSERT_STRING_EQUAL(v[DEP_DEVICES_COL_DELETED], "1");
    orchard_rows_free(rows);
    json_t *o = describe();
    json_t *last = json_object_get(o, "last_sync");
    CU_ASSERT_TRUE(json_is_null(json_object_get(last, "started_at")));
    CU_ASSERT_STRING_EQUAL(str(last, "finished_at"), "");
    json_decref(o);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(get_bm(NULL, NULL, &out, &err, NOARGS), 0);
    CU_ASSERT_TRUE(contains(out, "Last sync: (time unknown) (sync): ok"));
}

static void test_no_secret_in_any_output(void) { CU_ASSERT_EQUAL(mdmfx_leaks(), 0); }

void dep_views_suite(void)
{
    ORCHARD_ADD_SUITE("dep_views", suite_init, suite_cleanup,
                      {"never_synced", test_never_synced},
                      {"synced", test_synced},
                      {"terms_not_signed", test_terms_not_signed},
                      {"expiring", test_expiring},
                      {"expired", test_expired},
                      {"api", test_api},
                      {"command_server", test_command_server},
                      {"command_server_hostile", test_command_server_hostile},
                      {"dep_devices_table", test_dep_devices_table},
                      {"dep_sync_runs_table", test_dep_sync_runs_table},
                      {"hostile_account", test_hostile_account},
                      {"hostile_text", test_hostile_text},
                      {"hostile_rows", test_hostile_rows},
                      {"no_secret_in_any_output", test_no_secret_in_any_output});
}
