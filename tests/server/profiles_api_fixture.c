/* The profiles API suites' fixture (profiles_api_fixture.h): the routes
 * served for real by orchard_http_serve on a fresh store with teams and
 * hosts, a bearer-token authenticator, the "mdm" gate open, and the
 * client calls the suites make. */
#include "tests/server/profiles_api_fixture.h"

#include "host/plugins/registry.h"
#include "host/store/store.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_users.h"
#include "tests/host/http_fixture.h"
#include "tests/support/pg_cluster/pg_test.h"
#include "tests/server/token_auth_fixture.h"

#include <CUnit/CUnit.h>
#include <glib/gstdio.h>
#include <string.h>

static http_server *server;
static orchard_registry *reg, *saved_reg;
static char *tmpdir;
int paf_store_ok;

/* ---- the test plugin: our routes, an authenticator, the gate open */

static const orchard_route *const test_routes[] = {
    &orchard_route_profiles_post_latest,   &orchard_route_profiles_post_v1,
    &orchard_route_profiles_batch_latest,  &orchard_route_profiles_batch_v1,
    &orchard_route_profiles_get_latest,    &orchard_route_profiles_get_v1,
    &orchard_route_profiles_delete_latest, &orchard_route_profiles_delete_v1,
};

static int plugin_init(orchard_ctx *ctx)
{
    int rc = orchard_server_host->auth_register(ctx, tfx_token_auth, NULL);
    if (!rc)
        rc = orchard_server_host->gate_set(ctx, "mdm", 1, NULL);
    return rc;
}

static const orchard_plugin test_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin),
    .name = "profiles-api-test",
    .version = "1.0",
    .description = "the profiles API routes under test",
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

/* ---- store material */

gint64 paf_now_s(void)
{
    return g_get_real_time() / G_USEC_PER_SEC;
}

int paf_sql(const char *text, const orchard_sql_param *params, size_t n)
{
    return orchard_sstore_write("profiles_api test", text, params, n) < 0 ? -1 : 0;
}

/* An enrolled host (enabled unless `enable` is 0) in `team`. */
static int paf_seed_host(const char *udid, gint64 team, int enable)
{
    static const unsigned char token[] = {0xde, 0xad, 0xbe, 0xef};
    g_autofree char *cert = g_compute_checksum_for_string(G_CHECKSUM_SHA256, udid, -1);
    orchard_device_auth a = {.udid = udid, .cert_sha256 = cert, .serial_number = "C02X",
                             .model = "Mac14,2", .product_name = "Mac14,2",
                             .os_version = "14.4", .build_version = "23E214",
                             .device_name = udid, .topic = "com.apple.mgmt.External.t"};
    int rc = orchard_store_device_authenticate(&a, paf_now_s() - 100, NULL);
    if (!rc && enable)
        rc = orchard_store_device_token_update(udid, token, sizeof token, "magic",
                                               (const unsigned char *)"u", 1, 0,
                                               paf_now_s() - 50);
    if (!rc)
        rc = paf_sql("UPDATE mdm_enrollments SET team_id = ? WHERE udid = ?",
                     SQL_PARAMS(SQL_INT(team), SQL_TEXT(udid)));
    return rc;
}

int paf_host_profile(const char *udid, const char *identifier, const char *op,
                     const char *status)
{
    return paf_sql("INSERT INTO mdm_host_profiles (udid, identifier, profile_id, name, "
                   "checksum, payload_uuid, operation, status, updated_at) VALUES (?, ?, NULL, "
                   "?, 'c', 'u', ?, ?, ?)",
                   SQL_PARAMS(SQL_TEXT(udid), SQL_TEXT(identifier), SQL_TEXT(identifier),
                              SQL_TEXT(op), SQL_TEXT(status), SQL_INT(paf_now_s())));
}

/* ---- suite setup */

int paf_init(void)
{
    g_autofree char *err = NULL;
    tmpdir = g_dir_make_tmp("orchard-profiles-api-XXXXXX", NULL);
    if (!tmpdir)
        return -1;
    g_autofree char *db = g_build_filename(tmpdir, "profiles_api.db", NULL);
    http_config(orchard_test_store_key(), orchard_test_store(db));
    orchard_store_close();
    paf_store_ok = orchard_store_open(orchard_test_store(db), &err) == 0;
    saved_reg = orchard_registry_global();
    reg = orchard_registry_new();
    if (orchard_registry_add_builtin(reg, plugin_entry, &err) != 0) {
        fprintf(stderr, "profiles_api: %s\n", err);
        return -1;
    }
    orchard_registry_set_global(reg);
    /* Teams 1 and 2; hosts in each, one not enabled. */
    paf_store_ok =
        paf_store_ok && orchard_server_store_migrate() == 0 &&
        paf_sql("INSERT INTO teams (id, name, created_at, updated_at) VALUES (1, 'Design', 0, "
                "0), (2, 'Sales', 0, 0)", NULL, 0) == 0 &&
        paf_seed_host("HOST-T1-A", 1, 1) == 0 && paf_seed_host("HOST-T1-B", 1, 1) == 0 &&
        paf_seed_host("HOST-T1-C", 1, 1) == 0 && paf_seed_host("HOST-T1-D", 1, 1) == 0 &&
        paf_seed_host("HOST-T1-E", 1, 1) == 0 && paf_seed_host("HOST-T1-OFF", 1, 0) == 0 &&
        paf_seed_host("HOST-T0-A", 0, 1) == 0;
    if (!paf_store_ok)
        fprintf(stderr, "profiles_api: the store could not be set up\n");
    http_config("http_module", BUILD_DIR "/modules/orchard_http.so");
    http_config("server.address", "127.0.0.1:0");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    server = http_server_start();
    if (!server->url) {
        fprintf(stderr, "profiles_api: the server did not start\n");
        return -1;
    }
    return 0;
}

int paf_cleanup(void)
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
    if (tmpdir) {
        g_autofree char *db = g_build_filename(tmpdir, "profiles_api.db", NULL);
        g_autofree char *wal = g_strconcat(db, "-wal", NULL);
        g_autofree char *shm = g_strconcat(db, "-shm", NULL);
        g_unlink(db);
        g_unlink(wal);
        g_unlink(shm);
        g_rmdir(tmpdir);
    }
    g_free(tmpdir);
    tmpdir = NULL;
    return 0;
}

/* ---- the client */

void paf_answer_clear(paf_answer *a)
{
    g_free(a->body);
    json_decref(a->json);
    memset(a, 0, sizeof *a);
}

static void finish(paf_answer *a, CURL *c, http_response *r, struct curl_slist *h)
{
    http_perform(c, r);
    curl_slist_free_all(h);
    memset(a, 0, sizeof *a);
    a->status = r->status;
    a->body = g_strndup(r->body->str, r->body->len);
    a->json = json_loads(a->body, 0, NULL);
    http_response_clear(r);
}

/* A request with a raw body (may be NULL) and a Content-Type (may be NULL). */
void paf_call(paf_answer *a, const char *method, const char *path, const char *auth,
              const char *content_type, const void *body, size_t len)
{
    g_autofree char *url = g_strconcat(server->url, path, NULL);
    http_response r = {0};
    struct curl_slist *h = NULL;
    if (auth)
        h = curl_slist_append(h, auth);
    if (content_type) {
        g_autofree char *ct = g_strconcat("Content-Type: ", content_type, NULL);
        h = curl_slist_append(h, ct);
    }
    CURL *c = http_client(url, &r, h);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    finish(a, c, &r, h);
}

void paf_get(paf_answer *a, const char *path, const char *auth)
{
    paf_call(a, "GET", path, auth, NULL, NULL, 0);
}

/* POST the upload as curl -F profile=@file [-F team_id=T] writes it. */
void paf_upload_as(paf_answer *a, const char *auth, const void *data, size_t len,
                   const char *team)
{
    g_autofree char *url = g_strconcat(server->url, PROFILES, NULL);
    http_response r = {0};
    struct curl_slist *h = auth ? curl_slist_append(NULL, auth) : NULL;
    CURL *c = http_client(url, &r, h);
    curl_mime *mime = curl_mime_init(c);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "profile");
    curl_mime_filename(part, "test.mobileconfig");
    curl_mime_data(part, data, len);
    if (team) {
        part = curl_mime_addpart(mime);
        curl_mime_name(part, "team_id");
        curl_mime_data(part, team, CURL_ZERO_TERMINATED);
    }
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    finish(a, c, &r, h);
    curl_mime_free(mime);
}

void paf_upload(paf_answer *a, const char *text, const char *team)
{
    paf_upload_as(a, TOKEN_MAINTAINER, text, strlen(text), team);
}

/* A Fleet error with `status` whose message holds `want`. */
void paf_expect_error(const paf_answer *a, long status, const char *want)
{
    const char *msg = json_string_value(json_object_get(a->json, "message"));
    if (a->status != status || !msg || !strstr(msg, want))
        fprintf(stderr, "\n  wanted %ld \"%s\", got %ld %s\n", status, want, a->status, a->body);
    CU_ASSERT_EQUAL(a->status, status);
    CU_ASSERT_PTR_NOT_NULL(msg && strstr(msg, want));
    CU_ASSERT_TRUE(json_is_array(json_object_get(a->json, "errors")));
}

/* Upload `text` to `team` and expect a 400 naming `want`. */
void paf_upload_refused(const char *text, const char *team, long status, const char *want)
{
    paf_answer a;
    paf_upload(&a, text, team);
    paf_expect_error(&a, status, want);
    paf_answer_clear(&a);
}

/* Upload `text` to `team`: its profile_id (0 when refused). */
gint64 paf_upload_ok(const char *text, const char *team)
{
    paf_answer a;
    paf_upload(&a, text, team);
    if (a.status != 200)
        fprintf(stderr, "\n  upload refused: %ld %s\n", a.status, a.body);
    CU_ASSERT_EQUAL(a.status, 200);
    gint64 id = json_integer_value(json_object_get(a.json, "profile_id"));
    CU_ASSERT_TRUE(id > 0);
    paf_answer_clear(&a);
    return id;
}

/* GET the list of `team` ("?team_id=..." or ""): the profiles array (json_decref). */
json_t *paf_list(const char *query)
{
    paf_answer a;
    g_autofree char *path = g_strconcat(PROFILES, query, NULL);
    paf_get(&a, path, TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 200);
    json_t *arr = json_incref(json_object_get(a.json, "profiles"));
    CU_ASSERT_TRUE(json_is_array(arr));
    paf_answer_clear(&a);
    return arr ? arr : json_array();
}

/* The entry of `arr` with `identifier`, or NULL. */
json_t *paf_find(json_t *arr, const char *identifier)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *id = json_string_value(json_object_get(v, "identifier"));
        if (id && strcmp(id, identifier) == 0)
            return v;
    }
    return NULL;
}

/* The newest activity's type and details (g_free / json_decref). */
void paf_newest_activity(char **type, json_t **details)
{
    g_autoptr(GPtrArray) acts = NULL;
    *type = NULL;
    *details = NULL;
    if (orchard_store_activity_list(0, 1, &acts) != 0 || acts->len == 0)
        return;
    const orchard_activity *a = acts->pdata[0];
    *type = g_strdup(a->type);
    *details = json_loads(a->details, 0, NULL);
}

int paf_int_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    *(gint64 *)out = h->stmt_column_int(st, 0);
    return 0;
}

char *paf_marker(void)
{
    char *v = NULL;
    CU_ASSERT_EQUAL(orchard_sstore_desired_version(&v), 0);
    return v;
}

