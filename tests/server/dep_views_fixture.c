/* The dep_views suite's fixture (dep_views_fixture.h): GET /mdm/apple_bm
 * served for real on a store of our own with the stand-in authenticator,
 * mdmfx's configuration on that store, the binary run on it, and the rows
 * the views read, seeded with plain SQL. */
#include "tests/server/dep_views_fixture.h"

#include "host/plugins/registry.h"
#include "host/query/context.h"
#include "host/store/store.h"
#include "server_plugin/api/mdm_apple_bm.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_dep.h"
#include "server_plugin/store/store_devices.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/server/token_auth_fixture.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <CUnit/CUnit.h>
#include <string.h>

http_server *dvfx_server;
static orchard_registry *reg, *saved_reg;
int dvfx_store_ok;
static char *db_path; /* the store's path (a database name on PostgreSQL) */

/* ---- the test plugin: the route, the stand-in authenticator */

/* A server that answers `get mdm-apple-bm --server <url>/evil` with whatever
 * a case sets (written before the command runs, read on a server thread). */
int dvfx_evil_status;
const char *dvfx_evil_body;

static int evil(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp,
                void *payload)
{
    (void)ctx, (void)req, (void)payload;
    return orchard_server_host->http_respond(resp, dvfx_evil_status, "application/json",
                                             dvfx_evil_body, strlen(dvfx_evil_body));
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
void dvfx_configure(const char *const *kv)
{
    const char *all[24];
    with_store(kv, all);
    mdmfx_apply_config(all);
    orchard_mdm_config_cache_clear();
}

/* `orchard --config <good + kv> get mdm-apple-bm ARGS` as the real binary,
 * with ORCHARD_API_TOKEN=`token` (NULL: unset). Exit status; *out, *err. */
int dvfx_get_bm(const char *const *kv, const char *token, char **out, char **err,
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

const char *const DVFX_TEAM[] = {"mdm.apple_bm_default_team", "Workstations", NULL};
const char *const DVFX_SOON[] = {"mdm.apple_bm_server_token", "fx:token_soon.p7m", NULL};
const char *const DVFX_EXPIRED[] = {"mdm.apple_bm_server_token", "fx:token_expired.p7m", NULL};
const char *const DVFX_NO_ABM[] = {
    "mdm.apple_bm_server_token", NULL, "mdm.apple_bm_cert", NULL, "mdm.apple_bm_key", NULL, NULL};

int dvfx_contains(const char *hay, const char *needle)
{
    if (hay && strstr(hay, needle))
        return 1;
    fprintf(stderr, "\n  expected \"%s\" in:\n%s\n", needle, hay ? hay : "(null)");
    return 0;
}

/* No warning or error on stderr (the host's notes on the config file's
 * mode are not ours to judge). */
int dvfx_quiet(const char *err)
{
    if (err && !strstr(err, "WARNING") && !strstr(err, "ERROR"))
        return 1;
    fprintf(stderr, "\n  unexpected on stderr: %s\n", err ? err : "(null)");
    return 0;
}

/* ---- store material */

static gint64 now_s(void)
{
    return g_get_real_time() / G_USEC_PER_SEC;
}

int dvfx_sql(const char *text, const orchard_sql_param *p, size_t n)
{
    gint64 rc = orchard_sstore_write("dep_views test", text, p, n);
    if (rc < 0)
        fprintf(stderr, "\n  dep_views: %s failed (%lld)\n", text, (long long)rc);
    return rc < 0 ? -1 : 0;
}

int dvfx_state(const char *key, const char *value)
{
    return dvfx_sql("INSERT INTO server_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO "
                    "UPDATE SET value = excluded.value",
                    SQL_PARAMS(SQL_TEXT(key), SQL_TEXT(value)));
}

/* Nothing synced: every test starts here. */
void dvfx_reset(void)
{
    CU_ASSERT_FATAL(dvfx_store_ok);
    CU_ASSERT_EQUAL(dvfx_sql("DELETE FROM dep_devices", NULL, 0), 0);
    CU_ASSERT_EQUAL(dvfx_sql("DELETE FROM dep_sync_runs", NULL, 0), 0);
    CU_ASSERT_EQUAL(dvfx_sql("DELETE FROM server_state WHERE key LIKE 'dep.%'", NULL, 0), 0);
    CU_ASSERT_EQUAL(dvfx_sql("UPDATE mdm_enrollments SET dep_enrolled = 0", NULL, 0), 0);
    dvfx_configure(NULL);
}

/* A finished run (finished_ms 0: still running, or killed). */
void dvfx_run(const char *kind, gint64 started_ms, gint64 finished_ms, gint64 fetched,
              const char *code, const char *error)
{
    CU_ASSERT_EQUAL(
        dvfx_sql("INSERT INTO dep_sync_runs (kind, started_at, finished_at, pages, "
                 "fetched, added, modified, deleted, assigned, cursor_age, error_code, "
                 "error) VALUES (?, ?, ?, 1, ?, 2, 1, 0, 2, ?, ?, ?)",
                 SQL_PARAMS(SQL_TEXT(kind), SQL_INT(started_ms),
                            finished_ms ? SQL_INT(finished_ms) : SQL_TEXT(NULL), SQL_INT(fetched),
                            g_str_equal(kind, "fetch") ? SQL_TEXT(NULL) : SQL_INT(60),
                            SQL_TEXT(code), SQL_TEXT(error))),
        0);
}

void dvfx_device(const char *serial, const char *profile, gint64 assigned_at, int deleted)
{
    CU_ASSERT_EQUAL(
        dvfx_sql("INSERT INTO dep_devices (serial_number, model, description, color, os, "
                 "device_family, profile_status, profile_uuid, profile_assigned_at, "
                 "op_type, op_date, op_date_unix, assign_status, assign_error, deleted, "
                 "created_at, updated_at) VALUES (?, 'MacBookPro18,3', 'MBP 14', "
                 "'SPACE GRAY', 'OSX', 'Mac', ?, ?, ?, ?, '2026-12-01T10:00:00Z', 1, ?, "
                 "?, ?, 1, 1)",
                 SQL_PARAMS(SQL_TEXT(serial), SQL_TEXT(profile ? "assigned" : "empty"),
                            SQL_TEXT(profile), assigned_at ? SQL_INT(assigned_at) : SQL_TEXT(NULL),
                            SQL_TEXT(deleted ? "deleted" : "added"),
                            SQL_TEXT(profile ? "SUCCESS" : "FAILED"),
                            SQL_TEXT(profile ? NULL : "NOT_ACCESSIBLE"), SQL_INT(deleted))),
        0);
}

/* A host that enrolled with `serial`, through the DEP URL when dep is 1. */
void dvfx_enrolled(const char *udid, const char *serial, int dep)
{
    g_autofree char *cert = g_compute_checksum_for_string(G_CHECKSUM_SHA256, udid, -1);
    orchard_device_auth a = {.udid = udid,
                             .cert_sha256 = cert,
                             .serial_number = serial,
                             .model = "MacBookPro18,3",
                             .product_name = "MacBookPro18,3",
                             .os_version = "14.4.1",
                             .build_version = "23E224",
                             .device_name = udid,
                             .topic = "com.apple.mgmt.External.test"};
    CU_ASSERT_EQUAL(orchard_store_device_authenticate(&a, now_s() - 100, NULL), 0);
    CU_ASSERT_EQUAL(dvfx_sql("UPDATE mdm_enrollments SET dep_enrolled = ? WHERE udid = ?",
                             SQL_PARAMS(SQL_INT(dep), SQL_TEXT(udid))),
                    0);
}

/* An account that synced: three devices (one deleted, one with an older
 * profile), a DEP enrollment, a failed fetch then a good sync, and a run
 * killed mid-way after them. */
gint64 dvfx_t_ok; /* the good sync's end, ms */
void dvfx_synced(void)
{
    gint64 now = g_get_real_time() / 1000;
    dvfx_t_ok = now - 60000;
    CU_ASSERT_EQUAL(
        dvfx_state(ORCHARD_DEP_KEY_ACCOUNT,
                   "{\"server_name\": \"orchard\", \"admin_id\": \"" ADMIN_ID
                   "\", \"facilitator_id\": \"partner@example.com\", \"org_name\": \"" ORG
                   "\", \"org_email\": \"it@example.com\"}"),
        0);
    g_autofree char *at = g_strdup_printf("%" G_GINT64_FORMAT, now_s() - 90);
    CU_ASSERT_EQUAL(dvfx_state(ORCHARD_DEP_KEY_ACCOUNT_AT, at), 0);
    CU_ASSERT_EQUAL(dvfx_state(ORCHARD_DEP_KEY_PROFILE_UUID, OUR_PROFILE), 0);
    dvfx_device("SIM001000001", OUR_PROFILE, now_s() - 70, 0);
    dvfx_device("SIM001000002", "PROFILE-OLD", now_s() - 7000, 0);
    dvfx_device("SIM001000003", NULL, 0, 1);
    dvfx_enrolled("0000DE00-0000-0000-0000-000000000001", "SIM001000001", 1);
    dvfx_enrolled("0000DE00-0000-0000-0000-000000000002", "SIM001000002", 0);
    dvfx_run("fetch", now - 600000, now - 590000, 0, "THROTTLED", "Apple asked to wait 60 s");
    dvfx_run("sync", dvfx_t_ok - 500, dvfx_t_ok, 3, NULL, NULL);
    dvfx_run("sync", now - 1000, 0, 0, NULL, NULL);
}

/* The description, in process, as the API and the command make it. */
json_t *dvfx_describe(void)
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

const char *dvfx_str(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "(not a string)";
}

gint64 dvfx_num(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* ---- suite setup */

int dvfx_init(void)
{
    g_autofree char *err = NULL;
    if (mdmfx_setup())
        return -1;
    db_path = mdmfx_path("dep_views.db");
    dvfx_configure(NULL);
    orchard_store_close();
    dvfx_store_ok = orchard_store_open(orchard_test_store(db_path), &err) == 0;
    saved_reg = orchard_registry_global();
    reg = orchard_registry_new();
    if (orchard_registry_add_builtin(reg, plugin_entry, &err) != 0) {
        fprintf(stderr, "dep_views: %s\n", err);
        return -1;
    }
    orchard_registry_set_global(reg);
    dvfx_store_ok = dvfx_store_ok && orchard_server_store_migrate() == 0;
    if (!dvfx_store_ok)
        fprintf(stderr, "dep_views: the store could not be set up\n");
    http_config("http_module", BUILD_DIR "/modules/orchard_http.so");
    http_config("server.address", "127.0.0.1:0");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    dvfx_server = http_server_start();
    if (!dvfx_server->url) {
        fprintf(stderr, "dep_views: the server did not start\n");
        return -1;
    }
    return 0;
}

int dvfx_cleanup(void)
{
    if (dvfx_server)
        http_server_finish(dvfx_server, NULL);
    dvfx_server = NULL;
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

void dvfx_answer_clear(dvfx_answer *a)
{
    g_free(a->body);
    json_decref(a->json);
    memset(a, 0, sizeof *a);
}

void dvfx_call(dvfx_answer *a, const char *method, const char *path, const char *auth)
{
    g_autofree char *url = g_strconcat(dvfx_server->url, path, NULL);
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
void dvfx_expect_error(const dvfx_answer *a, long status, const char *want)
{
    if (a->status != status)
        fprintf(stderr, "\n  wanted %ld, got %ld: %s\n", status, a->status, a->body);
    CU_ASSERT_EQUAL(a->status, status);
    const char *msg = json_string_value(json_object_get(a->json, "message"));
    json_t *e0 = json_array_get(json_object_get(a->json, "errors"), 0);
    CU_ASSERT_TRUE(msg && json_is_string(json_object_get(e0, "name")) &&
                   json_is_string(json_object_get(e0, "reason")));
    CU_ASSERT_TRUE(dvfx_contains(msg, want));
}

orchard_rows *dvfx_table_rows(const orchard_table *t, const char *col, const char *value)
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

size_t dvfx_count_rows(const orchard_table *t, const char *col, const char *value)
{
    orchard_rows *rows = dvfx_table_rows(t, col, value);
    size_t n = rows ? orchard_rows_count(rows) : 999;
    orchard_rows_free(rows);
    return n;
}
