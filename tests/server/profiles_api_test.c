/* profiles_api: the configuration profiles API
 * (server_plugin/profiles/profiles_api.c over profiles_batch.c and
 * store/store_profiles.c) served for real by orchard_http_serve with a
 * store, a test authenticator and the "mdm" gate open: multipart uploads
 * through libcurl's own MIME writer, every refusal as a 400 (413, 404)
 * in Fleet's error shape, duplicates per team, signed profiles kept as
 * uploaded, delete, the all-or-nothing batch, the summary over
 * mdm_host_profiles rows, activities and the desired-state marker. */
#include "host/plugins/registry.h"
#include "host/store/store.h"
#include "server_plugin/profiles/profiles.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_profiles.h"
#include "server_plugin/store/store_sql.h"
#include "server_plugin/store/store_users.h"
#include "server_plugin/updates/updates.h"
#include "tests/host/http_fixture.h"
#include "tests/server/profile_fixture.h"
#include "tests/suites.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <CUnit/CUnit.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <string.h>

#define TOKEN_OBSERVER "Authorization: Bearer observer-tok"
#define TOKEN_MAINTAINER "Authorization: Bearer maintainer-tok"
#define LATEST "/api/latest/fleet"
#define PROFILES LATEST "/mdm/apple/profiles"

static http_server *server;
static orchard_registry *reg, *saved_reg;
static char *tmpdir;
static int store_ok;

/* ---- the test plugin: our routes, an authenticator, the gate open */

static int token_auth(orchard_ctx *ctx, const orchard_http_request *req, char *who,
                     size_t who_size, void *payload)
{
    static const struct {
        const char *token, *who;
        int role;
    } users[] = {{"Bearer observer-tok", "obs@example.com", ORCHARD_ROLE_OBSERVER},
                 {"Bearer maintainer-tok", "maint@example.com", ORCHARD_ROLE_MAINTAINER}};
    const char *auth = orchard_server_host->http_header(req, "Authorization");
    (void)ctx;
    (void)payload;
    for (size_t i = 0; auth && i < G_N_ELEMENTS(users); i++)
        if (strcmp(auth, users[i].token) == 0) {
            g_strlcpy(who, users[i].who, who_size);
            return users[i].role;
        }
    return 0;
}

static const orchard_route *const test_routes[] = {
    &orchard_route_profiles_post_latest,   &orchard_route_profiles_post_v1,
    &orchard_route_profiles_get_latest,    &orchard_route_profiles_get_v1,
    &orchard_route_profiles_delete_latest, &orchard_route_profiles_delete_v1,
};

static int plugin_init(orchard_ctx *ctx)
{
    int rc = orchard_server_host->auth_register(ctx, token_auth, NULL);
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

static gint64 now_s(void)
{
    return g_get_real_time() / G_USEC_PER_SEC;
}

static int sql(const char *text, const orchard_sql_param *params, size_t n)
{
    return orchard_sstore_write("profiles_api test", text, params, n) < 0 ? -1 : 0;
}

/* An enrolled host (enabled unless `enable` is 0) in `team`. */
static int seed_host(const char *udid, gint64 team, int enable)
{
    static const unsigned char token[] = {0xde, 0xad, 0xbe, 0xef};
    g_autofree char *cert = g_compute_checksum_for_string(G_CHECKSUM_SHA256, udid, -1);
    orchard_device_auth a = {.udid = udid, .cert_sha256 = cert, .serial_number = "C02X",
                             .model = "Mac14,2", .product_name = "Mac14,2",
                             .os_version = "14.4", .build_version = "23E214",
                             .device_name = udid, .topic = "com.apple.mgmt.External.t"};
    int rc = orchard_store_device_authenticate(&a, now_s() - 100, NULL);
    if (!rc && enable)
        rc = orchard_store_device_token_update(udid, token, sizeof token, "magic",
                                               (const unsigned char *)"u", 1, 0, now_s() - 50);
    if (!rc)
        rc = sql("UPDATE mdm_enrollments SET team_id = ? WHERE udid = ?",
                 SQL_PARAMS(SQL_INT(team), SQL_TEXT(udid)));
    return rc;
}

static int host_profile(const char *udid, const char *identifier, const char *op,
                        const char *status)
{
    return sql("INSERT INTO mdm_host_profiles (udid, identifier, profile_id, name, checksum, "
               "payload_uuid, operation, status, updated_at) VALUES (?, ?, NULL, ?, 'c', 'u', "
               "?, ?, ?)",
               SQL_PARAMS(SQL_TEXT(udid), SQL_TEXT(identifier), SQL_TEXT(identifier),
                          SQL_TEXT(op), SQL_TEXT(status), SQL_INT(now_s())));
}

/* ---- suite setup */

static int suite_init(void)
{
    g_autofree char *err = NULL;
    tmpdir = g_dir_make_tmp("orchard-profiles-api-XXXXXX", NULL);
    if (!tmpdir)
        return -1;
    g_autofree char *db = g_build_filename(tmpdir, "profiles_api.db", NULL);
    http_config(orchard_test_store_key(), orchard_test_store(db));
    orchard_store_close();
    store_ok = orchard_store_open(orchard_test_store(db), &err) == 0;
    saved_reg = orchard_registry_global();
    reg = orchard_registry_new();
    if (orchard_registry_add_builtin(reg, plugin_entry, &err) != 0) {
        fprintf(stderr, "profiles_api: %s\n", err);
        return -1;
    }
    orchard_registry_set_global(reg);
    /* Teams 1 and 2; hosts in each, one not enabled. */
    store_ok = store_ok && orchard_server_store_migrate() == 0 &&
               sql("INSERT INTO teams (id, name, created_at, updated_at) VALUES (1, 'Design', "
                   "0, 0), (2, 'Sales', 0, 0)", NULL, 0) == 0 &&
               seed_host("HOST-T1-A", 1, 1) == 0 && seed_host("HOST-T1-B", 1, 1) == 0 &&
               seed_host("HOST-T1-C", 1, 1) == 0 && seed_host("HOST-T1-D", 1, 1) == 0 &&
               seed_host("HOST-T1-E", 1, 1) == 0 && seed_host("HOST-T1-OFF", 1, 0) == 0 &&
               seed_host("HOST-T0-A", 0, 1) == 0;
    if (!store_ok)
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

static void finish(answer *a, CURL *c, http_response *r, struct curl_slist *h)
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
static void call(answer *a, const char *method, const char *path, const char *auth,
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

static void get(answer *a, const char *path, const char *auth)
{
    call(a, "GET", path, auth, NULL, NULL, 0);
}

/* POST the upload as curl -F profile=@file [-F team_id=T] writes it. */
static void upload_as(answer *a, const char *auth, const void *data, size_t len,
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

static void upload(answer *a, const char *text, const char *team)
{
    upload_as(a, TOKEN_MAINTAINER, text, strlen(text), team);
}

/* A Fleet error with `status` whose message holds `want`. */
static void expect_error(const answer *a, long status, const char *want)
{
    const char *msg = json_string_value(json_object_get(a->json, "message"));
    if (a->status != status || !msg || !strstr(msg, want))
        fprintf(stderr, "\n  wanted %ld \"%s\", got %ld %s\n", status, want, a->status, a->body);
    CU_ASSERT_EQUAL(a->status, status);
    CU_ASSERT_PTR_NOT_NULL(msg && strstr(msg, want));
    CU_ASSERT_TRUE(json_is_array(json_object_get(a->json, "errors")));
}

/* Upload `text` to `team` and expect a 400 naming `want`. */
static void upload_refused(const char *text, const char *team, long status, const char *want)
{
    answer a;
    upload(&a, text, team);
    expect_error(&a, status, want);
    answer_clear(&a);
}

/* Upload `text` to `team`: its profile_id (0 when refused). */
static gint64 upload_ok(const char *text, const char *team)
{
    answer a;
    upload(&a, text, team);
    if (a.status != 200)
        fprintf(stderr, "\n  upload refused: %ld %s\n", a.status, a.body);
    CU_ASSERT_EQUAL(a.status, 200);
    gint64 id = json_integer_value(json_object_get(a.json, "profile_id"));
    CU_ASSERT_TRUE(id > 0);
    answer_clear(&a);
    return id;
}

/* GET the list of `team` ("?team_id=..." or ""): the profiles array (json_decref). */
static json_t *list(const char *query)
{
    answer a;
    g_autofree char *path = g_strconcat(PROFILES, query, NULL);
    get(&a, path, TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 200);
    json_t *arr = json_incref(json_object_get(a.json, "profiles"));
    CU_ASSERT_TRUE(json_is_array(arr));
    answer_clear(&a);
    return arr ? arr : json_array();
}

/* The entry of `arr` with `identifier`, or NULL. */
static json_t *find(json_t *arr, const char *identifier)
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
static void newest_activity(char **type, json_t **details)
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

static int int_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    *(gint64 *)out = h->stmt_column_int(st, 0);
    return 0;
}

static char *marker(void)
{
    char *v = NULL;
    CU_ASSERT_EQUAL(orchard_sstore_desired_version(&v), 0);
    return v;
}

/* ---- tests */

static void test_auth(void)
{
    CU_ASSERT_FATAL(store_ok);
    answer a;
    g_autofree char *p = pfx_profile("com.example.auth");
    upload_as(&a, NULL, p, strlen(p), NULL);
    CU_ASSERT_EQUAL(a.status, 401);
    answer_clear(&a);
    upload_as(&a, TOKEN_OBSERVER, p, strlen(p), NULL);
    CU_ASSERT_EQUAL(a.status, 403);
    answer_clear(&a);
    get(&a, PROFILES, NULL);
    CU_ASSERT_EQUAL(a.status, 401);
    answer_clear(&a);
    call(&a, "DELETE", PROFILES "/1", TOKEN_OBSERVER, NULL, NULL, 0);
    CU_ASSERT_EQUAL(a.status, 403);
    answer_clear(&a);
    call(&a, "POST", PROFILES "/batch", TOKEN_OBSERVER, "application/json",
         "{\"profiles\": []}", 15);
    CU_ASSERT_EQUAL(a.status, 403);
    answer_clear(&a);
    json_t *arr = list("");
    CU_ASSERT_PTR_NULL(find(arr, "com.example.auth"));
    json_decref(arr);
}

static void test_upload_and_list(void)
{
    CU_ASSERT_FATAL(store_ok);
    g_autofree char *m0 = marker();
    g_autofree char *p = pfx_profile("com.example.a");
    gint64 id = upload_ok(p, NULL);
    g_autofree char *m1 = marker();
    CU_ASSERT_STRING_NOT_EQUAL(m0, m1);

    json_t *arr = list("");
    json_t *e = find(arr, "com.example.a");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, p, -1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(e, "profile_id")), id);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(e, "team_id")), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e, "name")), "Name of com.example.a");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e, "checksum")), sum);
    const char *created = json_string_value(json_object_get(e, "created_at"));
    CU_ASSERT_TRUE(created && strlen(created) == 20 && created[19] == 'Z');
    CU_ASSERT_PTR_NOT_NULL(json_object_get(e, "updated_at"));
    json_decref(arr);
    arr = list("?team_id=0");
    CU_ASSERT_PTR_NOT_NULL(find(arr, "com.example.a"));
    json_decref(arr);
    arr = list("?team_id=1");
    CU_ASSERT_PTR_NULL(find(arr, "com.example.a"));
    json_decref(arr);

    g_autofree char *type = NULL;
    json_t *details = NULL;
    newest_activity(&type, &details);
    CU_ASSERT_STRING_EQUAL(type ? type : "", "created_macos_profile");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(details, "profile_identifier")),
                           "com.example.a");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(details, "profile_name")),
                           "Name of com.example.a");
    CU_ASSERT_TRUE(json_is_null(json_object_get(details, "team_id")));
    json_decref(details);

    /* One profile, and its content as uploaded. */
    answer a;
    g_autofree char *one = g_strdup_printf(PROFILES "/%" G_GINT64_FORMAT, id);
    get(&a, one, TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a.json, "identifier")),
                           "com.example.a");
    answer_clear(&a);
    g_autofree char *media = g_strconcat(one, "?alt=media", NULL);
    get(&a, media, TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(a.body, p);
    answer_clear(&a);
    get(&a, PROFILES "/999999", TOKEN_OBSERVER);
    expect_error(&a, 404, "no profile with id 999999");
    answer_clear(&a);
    get(&a, PROFILES "/x1", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 404);
    answer_clear(&a);

    /* To a team, by the form's team_id; the activity names the team. */
    g_autofree char *p1 = pfx_profile("com.example.team1");
    upload_ok(p1, "1");
    newest_activity(&type, &details);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(details, "team_id")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(details, "team_name")), "Design");
    json_decref(details);
    g_free(type);
    type = NULL;
    arr = list("?team_id=1");
    CU_ASSERT_PTR_NOT_NULL(find(arr, "com.example.team1"));
    CU_ASSERT_PTR_NULL(find(arr, "com.example.a"));
    json_decref(arr);
    /* Both path prefixes serve. */
    get(&a, "/api/v1/fleet/mdm/apple/profiles?team_id=1", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 200);
    answer_clear(&a);
}

static void test_duplicates(void)
{
    CU_ASSERT_FATAL(store_ok);
    g_autofree char *p = pfx_profile_full("com.example.dup", "Dup", PFX_UUID, NULL);
    upload_ok(p, NULL);
    g_autofree char *m0 = marker();
    g_autofree char *same_id = pfx_profile_full("com.example.dup", "Other name", PFX_UUID, NULL);
    upload_refused(same_id, NULL, 400, "this identifier (PayloadIdentifier \"com.example.dup\") "
                                       "already exists");
    g_autofree char *same_name = pfx_profile_full("com.example.dup2", "Dup", PFX_UUID, NULL);
    upload_refused(same_name, "0", 400, "this name (PayloadDisplayName \"Dup\") already exists");
    g_autofree char *m1 = marker();
    CU_ASSERT_STRING_EQUAL(m0, m1);
    /* The same profile in another team is that team's. */
    upload_ok(p, "2");
    json_t *arr = list("");
    CU_ASSERT_PTR_NOT_NULL(find(arr, "com.example.dup"));
    CU_ASSERT_PTR_NULL(find(arr, "com.example.dup2"));
    json_decref(arr);
    arr = list("?team_id=2");
    CU_ASSERT_PTR_NOT_NULL(find(arr, "com.example.dup"));
    json_decref(arr);
}

/* padded to `total` bytes with an XML comment */
static char *padded(const char *id, size_t total)
{
    g_autofree char *xml = pfx_profile(id);
    size_t base = strlen(xml) + strlen("<!---->");
    g_autofree char *fill = g_strnfill(total - base, 'c');
    return g_strconcat(xml, "<!--", fill, "-->", NULL);
}

static void test_upload_refusals(void)
{
    CU_ASSERT_FATAL(store_ok);
    g_autofree char *m0 = marker();
    answer a;
    upload_refused("not a plist at all", NULL, 400, "Couldn't upload. The file should include "
                                                    "valid XML");
    upload_refused("", NULL, 400, "The file is empty");
    g_autofree char *wrong_type = g_strconcat(
        PFX_HEAD "<dict>" PFX_STR("PayloadType", "com.apple.dock")
        PFX_STR("PayloadIdentifier", "com.example.r1") PFX_STR("PayloadDisplayName", "R1")
        PFX_STR("PayloadUUID", PFX_UUID) "</dict>" PFX_TAIL, NULL);
    upload_refused(wrong_type, NULL, 400, "PayloadType must be \"Configuration\"");
    g_autofree char *no_id = g_strconcat(
        PFX_HEAD "<dict>" PFX_STR("PayloadType", "Configuration")
        PFX_STR("PayloadDisplayName", "R2") PFX_STR("PayloadUUID", PFX_UUID) "</dict>" PFX_TAIL,
        NULL);
    upload_refused(no_id, NULL, 400, "no PayloadIdentifier");
    g_autofree char *no_name = g_strconcat(
        PFX_HEAD "<dict>" PFX_STR("PayloadType", "Configuration")
        PFX_STR("PayloadIdentifier", "com.example.r3") PFX_STR("PayloadUUID", PFX_UUID)
        "</dict>" PFX_TAIL, NULL);
    upload_refused(no_name, NULL, 400, "no PayloadDisplayName");
    g_autofree char *no_uuid = g_strconcat(
        PFX_HEAD "<dict>" PFX_STR("PayloadType", "Configuration")
        PFX_STR("PayloadIdentifier", "com.example.r4") PFX_STR("PayloadDisplayName", "R4")
        "</dict>" PFX_TAIL, NULL);
    upload_refused(no_uuid, NULL, 400, "no PayloadUUID");
    g_autofree char *scep = pfx_profile_xml(PFX_TOP("com.example.r5"),
                                            PFX_PAYLOAD("com.apple.security.scep", ""));
    upload_refused(scep, NULL, 400, "com.apple.security.scep payload");
    g_autofree char *mdm = pfx_profile_xml(PFX_TOP("com.example.r6"),
                                           PFX_PAYLOAD("com.apple.mdm", ""));
    upload_refused(mdm, NULL, 400, "com.apple.mdm payload");
    g_autofree char *nudge = pfx_profile_xml(PFX_TOP("com.example.r7"),
                                             PFX_PAYLOAD("com.github.macadmins.Nudge", ""));
    upload_refused(nudge, NULL, 400, "com.github.macadmins.Nudge payload");
    g_autofree char *reserved = pfx_profile(ORCHARD_NUDGE_PROFILE_IDENTIFIER);
    upload_refused(reserved, NULL, 400, "reserved");
    /* Over 1 MiB: a 400 while the request is under the body cap, 413 past it. */
    g_autofree char *big = padded("com.example.big", ORCHARD_PROFILE_MAX_BYTES + 1);
    upload_refused(big, NULL, 400, "at most 1 MiB");
    g_autofree char *huge = padded("com.example.huge", 2 * ORCHARD_PROFILE_MAX_BYTES);
    upload_refused(huge, NULL, 413, "at most 1 MiB");
    /* Teams. */
    g_autofree char *good = pfx_profile("com.example.r8");
    upload_refused(good, "abc", 400, "team_id must be a team's numeric id");
    upload_refused(good, "-1", 400, "team_id must be a team's numeric id");
    upload_refused(good, "99999999999999999999", 400, "team_id must be");
    upload_refused(good, "99", 404, "no team with id 99");
    /* The request itself. */
    call(&a, "POST", PROFILES, TOKEN_MAINTAINER, "application/json", "{}", 2);
    expect_error(&a, 400, "multipart/form-data");
    answer_clear(&a);
    const char *no_file = "--b\r\nContent-Disposition: form-data; name=team_id\r\n\r\n0\r\n--b--";
    call(&a, "POST", PROFILES, TOKEN_MAINTAINER, "multipart/form-data; boundary=b", no_file,
         strlen(no_file));
    expect_error(&a, 400, "no \"profile\" field");
    answer_clear(&a);
    const char *cut = "--b\r\nContent-Disposition: form-data; name=profile\r\n\r\n<plist";
    call(&a, "POST", PROFILES, TOKEN_MAINTAINER, "multipart/form-data; boundary=b", cut,
         strlen(cut));
    expect_error(&a, 400, "truncated");
    answer_clear(&a);
    const char *twice = "--b\r\nContent-Disposition: form-data; name=profile\r\n\r\nx\r\n"
                        "--b\r\nContent-Disposition: form-data; name=profile\r\n\r\ny\r\n--b--";
    call(&a, "POST", PROFILES, TOKEN_MAINTAINER, "multipart/form-data; boundary=b", twice,
         strlen(twice));
    expect_error(&a, 400, "sent twice");
    answer_clear(&a);
    call(&a, "POST", PROFILES, TOKEN_MAINTAINER, "multipart/form-data", "x", 1);
    expect_error(&a, 400, "no boundary");
    answer_clear(&a);
    call(&a, "POST", PROFILES "/nope", TOKEN_MAINTAINER, "application/json", "{}", 2);
    CU_ASSERT_EQUAL(a.status, 404);
    answer_clear(&a);
    /* Nothing was stored, and the desired state never moved. */
    g_autofree char *m1 = marker();
    CU_ASSERT_STRING_EQUAL(m0, m1);
    json_t *arr = list("");
    CU_ASSERT_PTR_NULL(find(arr, "com.example.r8"));
    CU_ASSERT_PTR_NULL(find(arr, "com.example.big"));
    json_decref(arr);
}

static void test_signed(void)
{
    CU_ASSERT_FATAL(store_ok);
    g_autofree char *xml = pfx_profile("com.example.signed");
    GBytes *der = pfx_sign(xml, strlen(xml), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(der);
    gsize len = 0;
    const unsigned char *d = g_bytes_get_data(der, &len);
    answer a;
    upload_as(&a, TOKEN_MAINTAINER, d, len, "0");
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    gint64 id = json_integer_value(json_object_get(a.json, "profile_id"));
    answer_clear(&a);
    /* Kept and served as uploaded: the signature reaches the Mac. */
    g_autoptr(orchard_profile) p = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_profile_get(id, &p), 0);
    gsize got = 0;
    const void *content = g_bytes_get_data(p->content, &got);
    CU_ASSERT_EQUAL(got, len);
    CU_ASSERT_EQUAL(memcmp(content, d, len), 0);
    g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, d, len);
    CU_ASSERT_STRING_EQUAL(p->checksum, sum);
    CU_ASSERT_STRING_EQUAL(p->name, "Name of com.example.signed");
    g_bytes_unref(der);
}

static void test_delete(void)
{
    CU_ASSERT_FATAL(store_ok);
    g_autofree char *p = pfx_profile("com.example.del");
    gint64 id = upload_ok(p, "1");
    g_autofree char *m0 = marker();
    answer a;
    g_autofree char *path = g_strdup_printf(PROFILES "/%" G_GINT64_FORMAT, id);
    call(&a, "DELETE", path, TOKEN_MAINTAINER, NULL, NULL, 0);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_TRUE(json_is_object(a.json) && json_object_size(a.json) == 0);
    answer_clear(&a);
    g_autofree char *m1 = marker();
    CU_ASSERT_STRING_NOT_EQUAL(m0, m1);
    json_t *arr = list("?team_id=1");
    CU_ASSERT_PTR_NULL(find(arr, "com.example.del"));
    json_decref(arr);
    g_autofree char *type = NULL;
    json_t *details = NULL;
    newest_activity(&type, &details);
    CU_ASSERT_STRING_EQUAL(type ? type : "", "deleted_macos_profile");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(details, "profile_identifier")),
                           "com.example.del");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(details, "team_name")), "Design");
    json_decref(details);
    /* Again, and paths that name no profile. */
    call(&a, "DELETE", path, TOKEN_MAINTAINER, NULL, NULL, 0);
    expect_error(&a, 404, "no profile with id");
    answer_clear(&a);
    static const char *const bad[] = {PROFILES, PROFILES "/", PROFILES "/abc", PROFILES "/-3",
                                      PROFILES "/0", PROFILES "/1/2"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        call(&a, "DELETE", bad[i], TOKEN_MAINTAINER, NULL, NULL, 0);
        CU_ASSERT_EQUAL(a.status, 404);
        answer_clear(&a);
    }
    /* orchard's own Nudge profile is not the API's to delete, nor to show. */
    CU_ASSERT_EQUAL_FATAL(
        sql("INSERT INTO mdm_profiles (team_id, kind, identifier, name, payload_uuid, content, "
            "checksum, applies_below, created_at, updated_at) VALUES (1, 'nudge', ?, 'Nudge', "
            "'U', ?, 'c', '14.4', 0, 0)",
            SQL_PARAMS(SQL_TEXT(ORCHARD_NUDGE_PROFILE_IDENTIFIER), SQL_BLOB("x", 1))), 0);
    arr = list("?team_id=1");
    CU_ASSERT_PTR_NULL(find(arr, ORCHARD_NUDGE_PROFILE_IDENTIFIER));
    json_decref(arr);
    gint64 nudge_id = 0;
    CU_ASSERT_EQUAL_FATAL(orchard_sstore_read_one("t", "SELECT id FROM mdm_profiles WHERE "
                                                  "kind = 'nudge'", NULL, 0, int_row,
                                                  &nudge_id), 0);
    g_autofree char *npath = g_strdup_printf(PROFILES "/%" G_GINT64_FORMAT, nudge_id);
    call(&a, "DELETE", npath, TOKEN_MAINTAINER, NULL, NULL, 0);
    expect_error(&a, 400, "orchard's own Nudge profile");
    answer_clear(&a);
    get(&a, npath, TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 404);
    answer_clear(&a);
    CU_ASSERT_EQUAL(sql("DELETE FROM mdm_profiles WHERE id = ?", SQL_PARAMS(SQL_INT(nudge_id))),
                    0);
}

/* POST .../batch`query` with {"profiles": [base64 of each text]}. */
static void batch_post(answer *a, const char *query, const char *const *texts, size_t n)
{
    g_autoptr(GString) body = g_string_new("{\"profiles\": [");
    for (size_t i = 0; i < n; i++) {
        g_autofree char *b64 = g_base64_encode((const guchar *)texts[i], strlen(texts[i]));
        g_string_append_printf(body, "%s\"%s\"", i ? ", " : "", b64);
    }
    g_string_append(body, "]}");
    g_autofree char *path = g_strconcat(PROFILES "/batch", query, NULL);
    call(a, "POST", path, TOKEN_MAINTAINER, "application/json", body->str, body->len);
}

static void batch_ok(const char *query, const char *const *texts, size_t n)
{
    answer a;
    batch_post(&a, query, texts, n);
    if (a.status != 204)
        fprintf(stderr, "\n  batch refused: %ld %s\n", a.status, a.body);
    CU_ASSERT_EQUAL(a.status, 204);
    answer_clear(&a);
}

static void batch_refused(const char *query, const char *const *texts, size_t n, long status,
                          const char *want)
{
    answer a;
    batch_post(&a, query, texts, n);
    expect_error(&a, status, want);
    answer_clear(&a);
}

static gint by_text(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

/* The identifiers of team 2's list, sorted and joined by ",". */
static char *team2_ids(void)
{
    json_t *arr = list("?team_id=2");
    g_autoptr(GPtrArray) ids = g_ptr_array_new();
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        g_ptr_array_add(ids, (gpointer)json_string_value(json_object_get(v, "identifier")));
    g_ptr_array_sort(ids, by_text);
    g_ptr_array_add(ids, NULL);
    char *s = g_strjoinv(",", (char **)ids->pdata);
    json_decref(arr);
    return s;
}

static void test_batch(void)
{
    CU_ASSERT_FATAL(store_ok);
    g_autofree char *a1 = pfx_profile_full("com.example.ba", "BA", PFX_UUID, NULL);
    g_autofree char *b1 = pfx_profile_full("com.example.bb", "BB", PFX_UUID, NULL);
    const char *first[] = {a1, b1};
    batch_ok("?team_id=2", first, 2);
    /* Exactly the listed ones: team 2's earlier upload is gone. */
    g_autofree char *ids = team2_ids();
    CU_ASSERT_STRING_EQUAL(ids, "com.example.ba,com.example.bb");
    json_t *arr = list("?team_id=2");
    gint64 a_id = json_integer_value(json_object_get(find(arr, "com.example.ba"), "profile_id"));
    g_autofree char *a_sum = g_strdup(
        json_string_value(json_object_get(find(arr, "com.example.ba"), "checksum")));
    json_decref(arr);

    /* A changed, B dropped, C new: one pass of activities. */
    g_autofree char *a2 = pfx_profile_full("com.example.ba", "BA", PFX_UUID, "v2");
    g_autofree char *c1 = pfx_profile_full("com.example.bc", "BC", PFX_UUID, NULL);
    const char *second[] = {a2, c1};
    g_autofree char *m0 = marker();
    batch_ok("?team_name=Sales", second, 2);
    g_autofree char *m1 = marker();
    CU_ASSERT_STRING_NOT_EQUAL(m0, m1);
    g_free(ids);
    ids = team2_ids();
    CU_ASSERT_STRING_EQUAL(ids, "com.example.ba,com.example.bc");
    arr = list("?team_id=2");
    json_t *a_now = find(arr, "com.example.ba");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(a_now, "profile_id")), a_id);
    CU_ASSERT_STRING_NOT_EQUAL(json_string_value(json_object_get(a_now, "checksum")), a_sum);
    json_decref(arr);
    g_autoptr(GPtrArray) acts = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_activity_list(0, 3, &acts), 0);
    CU_ASSERT_EQUAL_FATAL(acts->len, 3);
    g_autoptr(GHashTable) types = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < acts->len; i++)
        g_hash_table_add(types, ((orchard_activity *)acts->pdata[i])->type);
    CU_ASSERT_TRUE(g_hash_table_contains(types, "created_macos_profile"));
    CU_ASSERT_TRUE(g_hash_table_contains(types, "edited_macos_profile"));
    CU_ASSERT_TRUE(g_hash_table_contains(types, "deleted_macos_profile"));

    /* The same again changes nothing: no marker, no activity. */
    batch_ok("?team_id=2", second, 2);
    g_autofree char *m2 = marker();
    CU_ASSERT_STRING_EQUAL(m1, m2);

    /* All or nothing: one bad profile and nothing moves. */
    const char *bad[] = {b1, "not a plist"};
    batch_refused("?team_id=2", bad, 2, 400, "Profile 2: The file should include valid XML");
    g_autofree char *scep = pfx_profile_xml(PFX_TOP("com.example.bs"),
                                            PFX_PAYLOAD("com.apple.security.scep", ""));
    const char *bad2[] = {scep, b1};
    batch_refused("?team_id=2", bad2, 2, 400, "Profile 1: The profile can't include");
    const char *dup_id[] = {a1, a2};
    batch_refused("?team_id=2", dup_id, 2, 400, "Profiles 1 and 2 have the same "
                                                "PayloadIdentifier");
    g_autofree char *same_name = pfx_profile_full("com.example.bz", "BA", PFX_UUID, NULL);
    const char *dup_name[] = {a1, same_name};
    batch_refused("?team_id=2", dup_name, 2, 400, "same PayloadDisplayName (\"BA\")");
    g_free(ids);
    ids = team2_ids();
    CU_ASSERT_STRING_EQUAL(ids, "com.example.ba,com.example.bc");
    g_autofree char *m3 = marker();
    CU_ASSERT_STRING_EQUAL(m1, m3);

    /* Two profiles swap names in one batch. */
    g_autofree char *a3 = pfx_profile_full("com.example.ba", "BC", PFX_UUID, NULL);
    g_autofree char *c2 = pfx_profile_full("com.example.bc", "BA", PFX_UUID, NULL);
    const char *swapped[] = {a3, c2};
    batch_ok("?team_id=2", swapped, 2);
    arr = list("?team_id=2");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(find(arr, "com.example.ba"), "name")),
                           "BC");
    json_decref(arr);

    /* orchard's own profile's name is not the batch's. */
    CU_ASSERT_EQUAL_FATAL(
        sql("INSERT INTO mdm_profiles (team_id, kind, identifier, name, payload_uuid, content, "
            "checksum, applies_below, created_at, updated_at) VALUES (2, 'nudge', ?, "
            "'Nudge Sales', 'U', ?, 'c', '14.4', 0, 0)",
            SQL_PARAMS(SQL_TEXT(ORCHARD_NUDGE_PROFILE_IDENTIFIER), SQL_BLOB("x", 1))), 0);
    g_autofree char *clash = pfx_profile_full("com.example.bn", "Nudge Sales", PFX_UUID, NULL);
    const char *with_clash[] = {a3, clash};
    batch_refused("?team_id=2", with_clash, 2, 400, "Profile 2 (\"Nudge Sales\")");

    /* The team, and the request. */
    batch_refused("?team_id=99", second, 2, 404, "no team with id 99");
    batch_refused("?team_name=Nope", second, 2, 404, "no team named \"Nope\"");
    batch_refused("?team_id=2&team_name=Sales", second, 2, 400, "not both");
    batch_refused("?team_id=x", second, 2, 400, "team_id must be");
    answer a;
    static const struct {
        const char *body, *want;
    } reqs[] = {
        {"{\"profiles\": [\"!!\"]}", "profiles[0] is not a base64 string"},
        {"{\"profiles\": [\"QUJD=A\"]}", "profiles[0] is not a base64 string"},
        {"{\"profiles\": [3]}", "profiles[0] is not a base64 string"},
        {"{\"profiles\": \"x\"}", "profiles is required"},
        {"{}", "profiles is required"},
        {"[]", "profiles is required"},
        {"{\"profiles\": [", "bad JSON at line 1"},
        {"{\"profiles\": [], \"profiles\": []}", "bad JSON"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(reqs); i++) {
        call(&a, "POST", PROFILES "/batch?team_id=2", TOKEN_MAINTAINER, "application/json",
             reqs[i].body, strlen(reqs[i].body));
        expect_error(&a, 400, reqs[i].want);
        answer_clear(&a);
    }
    call(&a, "POST", PROFILES "/batch?team_id=2", TOKEN_MAINTAINER, "application/json", "", 0);
    expect_error(&a, 400, "needs a JSON body");
    answer_clear(&a);
    g_free(ids);
    ids = team2_ids();
    CU_ASSERT_STRING_EQUAL(ids, "com.example.ba,com.example.bc");

    /* An empty list removes every custom profile, and leaves orchard's own. */
    batch_ok("?team_id=2", NULL, 0);
    g_free(ids);
    ids = team2_ids();
    CU_ASSERT_STRING_EQUAL(ids, "");
    CU_ASSERT_EQUAL(sql("DELETE FROM mdm_profiles WHERE kind = 'nudge' AND team_id = 2", NULL,
                        0), 0);
}

static void test_summary(void)
{
    CU_ASSERT_FATAL(store_ok);
    /* Team 1: A failed (worst of verified, failed), B pending (a removal
     * pending over verifying), C pending, D verified, E verifying; F has
     * no rows; OFF is not enrolled; T0-A is in no team. */
    static const struct {
        const char *udid, *identifier, *op, *status;
    } rows[] = {
        {"HOST-T1-A", "p1", "install", "verified"}, {"HOST-T1-A", "p2", "install", "failed"},
        {"HOST-T1-B", "p1", "install", "verifying"}, {"HOST-T1-B", "p9", "remove", "pending"},
        {"HOST-T1-C", "p1", "install", "pending"},  {"HOST-T1-C", "p2", "install", "verified"},
        {"HOST-T1-D", "p1", "install", "verified"}, {"HOST-T1-D", "p2", "install", "verified"},
        {"HOST-T1-E", "p1", "install", "verifying"},
        {"HOST-T1-OFF", "p1", "install", "failed"}, {"HOST-T0-A", "p1", "install", "pending"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++)
        CU_ASSERT_EQUAL_FATAL(host_profile(rows[i].udid, rows[i].identifier, rows[i].op,
                                           rows[i].status), 0);
    static const struct {
        const char *query;
        json_int_t verified, verifying, pending, failed;
    } want[] = {
        {"?team_id=1", 1, 1, 2, 1},
        {"", 0, 0, 1, 0},
        {"?team_id=0", 0, 0, 1, 0},
        {"?team_name=Sales", 0, 0, 0, 0},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        answer a;
        g_autofree char *path = g_strconcat(PROFILES "/summary", want[i].query, NULL);
        get(&a, path, TOKEN_OBSERVER);
        CU_ASSERT_EQUAL(a.status, 200);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(a.json, "verified")),
                        want[i].verified);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(a.json, "verifying")),
                        want[i].verifying);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(a.json, "pending")), want[i].pending);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(a.json, "failed")), want[i].failed);
        if (a.status != 200 || json_integer_value(json_object_get(a.json, "pending")) !=
                                   want[i].pending)
            fprintf(stderr, "\n  summary%s: %s\n", want[i].query, a.body);
        answer_clear(&a);
    }
    answer a;
    get(&a, PROFILES "/summary?team_id=abc", TOKEN_OBSERVER);
    expect_error(&a, 400, "team_id must be");
    answer_clear(&a);
    get(&a, PROFILES "/summary?team_id=77", TOKEN_OBSERVER);
    expect_error(&a, 404, "no team with id 77");
    answer_clear(&a);
    get(&a, PROFILES "/summary", NULL);
    CU_ASSERT_EQUAL(a.status, 401);
    answer_clear(&a);
    CU_ASSERT_EQUAL(sql("DELETE FROM mdm_host_profiles", NULL, 0), 0);
}

void profiles_api_suite(void)
{
    ORCHARD_ADD_SUITE("profiles_api", suite_init, suite_cleanup,
                      {"401 without a token, 403 for an observer's writes", test_auth},
                      {"upload, list, one profile, its content, activities, the marker",
                       test_upload_and_list},
                      {"duplicates refused in a team, accepted in another", test_duplicates},
                      {"every refusal of the upload: 400, 404, 413, nothing stored",
                       test_upload_refusals},
                      {"a CMS-signed profile kept and served as uploaded", test_signed},
                      {"delete: 200, 404, orchard's own Nudge profile 400", test_delete},
                      {"batch: exact set, replace, all or nothing, swaps, refusals",
                       test_batch},
                      {"summary: hosts by their worst state per team", test_summary});
}
