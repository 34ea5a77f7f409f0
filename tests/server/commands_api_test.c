/* commands_api: the admin API's commands, hosts and mdm/apple routes
 * (server_plugin/commands/commands_api.c, api/hosts_api.c,
 * api/mdm_apple_api.c) served for real by orchard_http_serve with a store,
 * a test authenticator (fixed bearer tokens for each role) and the "mdm"
 * gate open; plus the mdm_enrollments and mdm_commands tables on the same
 * store. Every refusal of docs/api.md is asked for and checked, and that it
 * left nothing queued. */
#include "host/plugins/registry.h"
#include "host/query/context.h"
#include "host/query/rows.h"
#include "host/store/store.h"
#include "server_plugin/api/mdm_apple.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_pushes.h"
#include "server_plugin/store/store_queue.h"
#include "server_plugin/store/store_users.h"
#include "tests/host/http_fixture.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/suites.h"
#include "tests/support/pg_cluster/pg_test.h"

#include "mdm_commands.gen.h"
#include "mdm_enrollments.gen.h"
#include "tests/server/token_auth_fixture.h"

#include <CUnit/CUnit.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <string.h>

#define MAGIC "PushMagic-SECRET-5150"
#define DEV1 "0000FE00-AAAA-BBBB-CCCC-000000000001"
#define DEV2 "0000FE00-AAAA-BBBB-CCCC-000000000002"
#define DEV_OFF "0000FE00-AAAA-BBBB-CCCC-0000000000FF"
#define TOKEN_OBSERVER "Authorization: Bearer observer-tok"
#define TOKEN_MAINTAINER "Authorization: Bearer maintainer-tok"
#define LATEST "/api/latest/fleet"

static const unsigned char push_token[] = {0xde, 0xad, 0xbe, 0xef, 0x5e, 0xc2, 0xe7, 0x01};
#define PUSH_TOKEN_HEX "deadbeef5ec2e701"

static http_server *server;
static orchard_registry *reg, *saved_reg;
static int store_ok;

/* ---- the test plugin: our routes, an authenticator, the gate open */

static const orchard_route *const test_routes[] = {
    &orchard_route_commands_run_latest,     &orchard_route_commands_run_v1,
    &orchard_route_commands_results_latest, &orchard_route_commands_results_v1,
    &orchard_route_commands_list_latest,    &orchard_route_commands_list_v1,
    &orchard_route_hosts_latest,            &orchard_route_hosts_v1,
    &orchard_route_mdm_apple_api_latest,    &orchard_route_mdm_apple_api_v1,
    &orchard_route_healthz,
};

/* Not orchard_server_init: it registers the users' authenticator, and
 * these tests must not depend on users existing. */
static int plugin_init(orchard_ctx *ctx)
{
    int rc = orchard_server_host->auth_register(ctx, tfx_token_auth, NULL);
    if (!rc)
        rc = orchard_server_host->gate_set(ctx, "mdm", 1, NULL);
    return rc;
}

static void plugin_deinit(orchard_ctx *ctx)
{
    (void)ctx;
    orchard_mdm_config_cache_clear();
}

static const orchard_plugin test_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin),
    .name = "commands-api-test",
    .version = "1.0",
    .description = "the admin API routes under test",
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

/* ---- devices: two enrolled, one that never finished */

static int seed_device(const char *udid, const char *serial, const char *name, int enable)
{
    g_autofree char *cert = g_compute_checksum_for_string(G_CHECKSUM_SHA256, udid, -1);
    orchard_device_auth a = {.udid = udid, .cert_sha256 = cert, .serial_number = serial,
                             .model = "MacBookPro18,3", .product_name = "MacBookPro18,3",
                             .os_version = "14.4.1", .build_version = "23E224",
                             .device_name = name, .topic = "com.apple.mgmt.External.test"};
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    int rc = orchard_store_device_authenticate(&a, now - 100, NULL);
    if (!rc && enable)
        rc = orchard_store_device_token_update(udid, push_token, sizeof push_token, MAGIC,
                                               (const unsigned char *)"unlock", 6, 0, now - 50);
    if (!rc && enable)
        rc = orchard_store_device_seen(udid, now - 10, 1, g_get_real_time());
    return rc;
}

/* ---- suite setup */

static int suite_init(void)
{
    g_autofree char *err = NULL;
    if (mdmfx_setup())
        return -1;
    mdmfx_apply_config(NULL);
    g_autofree char *db = mdmfx_path("commands_api.db");
    http_config(orchard_test_store_key(), orchard_test_store(db));
    orchard_store_close();
    store_ok = orchard_store_open(orchard_test_store(db), &err) == 0;
    saved_reg = orchard_registry_global();
    reg = orchard_registry_new();
    if (orchard_registry_add_builtin(reg, plugin_entry, &err) != 0) {
        fprintf(stderr, "commands_api: %s\n", err);
        return -1;
    }
    orchard_registry_set_global(reg);
    store_ok = store_ok && orchard_server_store_migrate() == 0 &&
               seed_device(DEV1, "C02SERIAL001", "Anna's Mac", 1) == 0 &&
               seed_device(DEV2, "C02SERIAL002", "Bob's Mac", 1) == 0 &&
               seed_device(DEV_OFF, NULL, "Half-enrolled", 0) == 0;
    if (!store_ok)
        fprintf(stderr, "commands_api: the store could not be set up\n");
    http_config("http_module", BUILD_DIR "/modules/orchard_http.so");
    http_config("server.address", "127.0.0.1:0");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    server = http_server_start();
    if (!server->url) {
        fprintf(stderr, "commands_api: the server did not start\n");
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
    return mdmfx_teardown();
}

/* ---- the client */

typedef struct {
    long status;
    char *body;
    json_t *json; /* the body parsed, or NULL */
} answer;

static void answer_clear(answer *a)
{
    g_free(a->body);
    json_decref(a->json);
    memset(a, 0, sizeof *a);
}

/* method path with the header line `auth` (may be NULL) and a body (may be NULL). */
static void call(answer *a, const char *method, const char *path, const char *auth,
                 const void *body, size_t len)
{
    g_autofree char *url = g_strconcat(server->url, path, NULL);
    http_response r = {0};
    struct curl_slist *h = NULL;
    if (auth)
        h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    CURL *c = http_client(url, &r, h);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    http_perform(c, &r);
    curl_slist_free_all(h);
    memset(a, 0, sizeof *a);
    a->status = r.status;
    a->body = g_strdup(r.body->str);
    a->json = json_loads(a->body, 0, NULL);
    http_response_clear(&r);
}

static void get(answer *a, const char *path, const char *auth)
{
    call(a, "GET", path, auth, NULL, 0);
}

/* POST /commands/run with {"command": b64 of plist, "host_uuids": hosts}. */
static void run(answer *a, const char *auth, const char *plist, const char *hosts_json)
{
    g_autofree char *b64 = g_base64_encode((const guchar *)plist, strlen(plist));
    g_autofree char *body = g_strdup_printf("{\"command\": \"%s\", \"host_uuids\": %s}", b64,
                                            hosts_json);
    call(a, "POST", LATEST "/commands/run", auth, body, strlen(body));
}

static char *command_plist(const char *uuid, const char *type)
{
    return g_strdup_printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?><plist version=\"1.0\">"
                           "<dict>%s%s%s<key>Command</key><dict><key>RequestType</key>"
                           "<string>%s</string></dict></dict></plist>",
                           uuid ? "<key>CommandUUID</key><string>" : "", uuid ? uuid : "",
                           uuid ? "</string>" : "", type);
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

/* Nothing was queued under `uuid`. */
static void expect_not_queued(const char *uuid)
{
    g_autoptr(GPtrArray) rows = NULL;
    CU_ASSERT_EQUAL(orchard_store_command_results(uuid, &rows), ORCHARD_ENOTFOUND);
}

/* ---- tests */

static void test_auth_and_roles(void)
{
    CU_ASSERT_FATAL(store_ok);
    g_autofree char *p = command_plist("AUTH-1", "DeviceInformation");
    answer a;
    run(&a, NULL, p, "[\"" DEV1 "\"]");
    CU_ASSERT_EQUAL(a.status, 401);
    CU_ASSERT_PTR_NOT_NULL(json_object_get(a.json, "message"));
    answer_clear(&a);
    run(&a, "Authorization: Bearer wrong", p, "[\"" DEV1 "\"]");
    CU_ASSERT_EQUAL(a.status, 401);
    answer_clear(&a);
    /* An observer reads but does not run commands. */
    run(&a, TOKEN_OBSERVER, p, "[\"" DEV1 "\"]");
    CU_ASSERT_EQUAL(a.status, 403);
    answer_clear(&a);
    expect_not_queued("AUTH-1");
    static const char *const reads[] = {LATEST "/commands", LATEST "/commands/results?command_uuid=x",
                                        LATEST "/hosts", LATEST "/hosts/" DEV1,
                                        LATEST "/mdm/apple"};
    for (size_t i = 0; i < G_N_ELEMENTS(reads); i++) {
        get(&a, reads[i], NULL);
        CU_ASSERT_EQUAL(a.status, 401);
        answer_clear(&a);
    }
}

static void test_run_refusals(void)
{
    CU_ASSERT_FATAL(store_ok);
    answer a;
    const char *m = TOKEN_MAINTAINER;
    g_autofree char *good = command_plist("REFUSE-1", "DeviceInformation");

    /* The body: bad JSON with its position, an empty body, over 1 MiB. */
    call(&a, "POST", LATEST "/commands/run", m, "{\"command\": ", 12);
    expect_error(&a, 400, "line 1");
    answer_clear(&a);
    call(&a, "POST", LATEST "/commands/run", m, "", 0);
    expect_error(&a, 400, "JSON body");
    answer_clear(&a);
    size_t big = (1024 * 1024) + 10;
    char *huge = g_malloc(big);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    call(&a, "POST", LATEST "/commands/run", m, huge, big);
    CU_ASSERT_EQUAL(a.status, 413);
    answer_clear(&a);
    g_free(huge);

    /* The command. */
    const char *b0 = "{\"host_uuids\": [\"" DEV1 "\"]}";
    call(&a, "POST", LATEST "/commands/run", m, b0, strlen(b0));
    expect_error(&a, 400, "command is required");
    answer_clear(&a);
    const char *b = "{\"command\": \"!!notbase64!!\", \"host_uuids\": [\"" DEV1 "\"]}";
    call(&a, "POST", LATEST "/commands/run", m, b, strlen(b));
    expect_error(&a, 400, "base64");
    answer_clear(&a);
    const char *b2 = "{\"command\": \"QUJD=A\", \"host_uuids\": [\"" DEV1 "\"]}";
    call(&a, "POST", LATEST "/commands/run", m, b2, strlen(b2));
    expect_error(&a, 400, "base64");
    answer_clear(&a);
    const char *b3 = "{\"command\": 12, \"host_uuids\": [\"" DEV1 "\"]}";
    call(&a, "POST", LATEST "/commands/run", m, b3, strlen(b3));
    expect_error(&a, 400, "command is required");
    answer_clear(&a);
    run(&a, m, "hello, not a plist", "[\"" DEV1 "\"]");
    expect_error(&a, 400, "not a plist");
    answer_clear(&a);
    run(&a, m, "<plist><dict><key>CommandUUID</key><string>REFUSE-1</string></dict></plist>",
        "[\"" DEV1 "\"]");
    expect_error(&a, 400, "Command is missing");
    answer_clear(&a);
    run(&a, m, "<plist><dict><key>CommandUUID</key><string>REFUSE-1</string><key>Command</key>"
               "<dict/></dict></plist>", "[\"" DEV1 "\"]");
    expect_error(&a, 400, "Command.RequestType is missing");
    answer_clear(&a);

    /* The hosts. */
    run(&a, m, good, "[]");
    expect_error(&a, 400, "host_uuids is empty");
    answer_clear(&a);
    run(&a, m, good, "\"" DEV1 "\"");
    expect_error(&a, 400, "host_uuids is required");
    answer_clear(&a);
    run(&a, m, good, "[\"" DEV1 "\", 7]");
    expect_error(&a, 400, "host_uuids[1]");
    answer_clear(&a);
    run(&a, m, good, "[\"" DEV1 "\", \"\"]");
    expect_error(&a, 400, "host_uuids[1]");
    answer_clear(&a);
    run(&a, m, good, "[\"" DEV1 "\", \"NOPE-NO-SUCH-HOST\"]");
    expect_error(&a, 400, "NOPE-NO-SUCH-HOST is unknown");
    answer_clear(&a);
    run(&a, m, good, "[\"" DEV1 "\", \"" DEV_OFF "\"]");
    expect_error(&a, 400, DEV_OFF " is not enrolled");
    answer_clear(&a);
    expect_not_queued("REFUSE-1");

    /* A CommandUUID already used: 409, the first command untouched. */
    g_autofree char *dup = command_plist("DUP-1", "ProfileList");
    run(&a, m, dup, "[\"" DEV1 "\"]");
    CU_ASSERT_EQUAL(a.status, 200);
    answer_clear(&a);
    g_autofree char *dup2 = command_plist("DUP-1", "RestartDevice");
    run(&a, m, dup2, "[\"" DEV2 "\"]");
    expect_error(&a, 409, "DUP-1 already exists");
    answer_clear(&a);
    g_autoptr(GPtrArray) rows = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_command_results("DUP-1", &rows), 0);
    CU_ASSERT_EQUAL(rows->len, 1);
    CU_ASSERT_STRING_EQUAL(((orchard_command_result *)rows->pdata[0])->request_type,
                           "ProfileList");

    /* A path beside the route's is not the route. */
    call(&a, "POST", LATEST "/commands/run/extra", m, "{}", 2);
    CU_ASSERT_EQUAL(a.status, 404);
    answer_clear(&a);
}

/* The activity log's newest "ran_mdm_command" names `uuid`. */
static int activity_names(const char *uuid, const char *actor)
{
    g_autoptr(GPtrArray) acts = NULL;
    if (orchard_store_activity_list(0, 0, &acts) != 0)
        return 0;
    for (guint i = 0; i < acts->len; i++) {
        const orchard_activity *act = acts->pdata[i];
        if (strcmp(act->type, "ran_mdm_command") == 0 && strstr(act->details, uuid))
            return act->actor_email && strcmp(act->actor_email, actor) == 0 &&
                   strstr(act->details, "\"host_uuids\"") && strstr(act->details, DEV1);
    }
    return 0;
}

/* A push is waiting for `udid`. */
static int push_wanted(const char *udid)
{
    g_autoptr(GPtrArray) due = NULL;
    if (orchard_store_push_due(G_MAXINT64 / 2, 1000, &due) != 0)
        return 0;
    for (guint i = 0; i < due->len; i++)
        if (strcmp(((orchard_push_due *)due->pdata[i])->udid, udid) == 0)
            return 1;
    return 0;
}

static json_t *result_for(json_t *results, const char *udid)
{
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r) if (g_strcmp0(json_string_value(json_object_get(r, "host_uuid")),
                                                   udid) == 0) return r;
    return NULL;
}

static void test_run_and_results(void)
{
    CU_ASSERT_FATAL(store_ok);
    answer a;
    g_autofree char *p = command_plist("RUN-1", "DeviceInformation");
    /* DEV1 twice: queued once. */
    run(&a, TOKEN_MAINTAINER, p, "[\"" DEV1 "\", \"" DEV2 "\", \"" DEV1 "\"]");
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a.json, "command_uuid")), "RUN-1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a.json, "request_type")),
                           "DeviceInformation");
    answer_clear(&a);
    CU_ASSERT_TRUE(activity_names("RUN-1", "maint@example.com"));
    CU_ASSERT_TRUE(push_wanted(DEV1));
    CU_ASSERT_TRUE(push_wanted(DEV2));

    get(&a, LATEST "/commands/results?command_uuid=RUN-1", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    json_t *results = json_object_get(a.json, "results");
    CU_ASSERT_EQUAL(json_array_size(results), 2);
    json_t *r1 = result_for(results, DEV1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r1, "status")), "Pending");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r1, "result")), "");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r1, "command_uuid")), "RUN-1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r1, "request_type")),
                           "DeviceInformation");
    const char *updated = json_string_value(json_object_get(r1, "updated_at"));
    CU_ASSERT_PTR_NOT_NULL(updated && g_str_has_suffix(updated, "Z") && strlen(updated) == 20);
    answer_clear(&a);

    /* The device reports: the whole report comes back, base64. */
    const char *report = "<plist><dict><key>Status</key><string>Acknowledged</string>"
                         "<key>CommandUUID</key><string>RUN-1</string></dict></plist>";
    CU_ASSERT_EQUAL_FATAL(orchard_store_command_report(DEV1, "RUN-1", ORCHARD_CMD_ACKNOWLEDGED,
                                                       report, strlen(report), NULL,
                                                       g_get_real_time() / G_USEC_PER_SEC), 0);
    get(&a, "/api/v1/fleet/commands/results?command_uuid=RUN-1", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    results = json_object_get(a.json, "results");
    r1 = result_for(results, DEV1);
    json_t *r2 = result_for(results, DEV2);
    CU_ASSERT_FATAL(r1 && r2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r1, "status")), "Acknowledged");
    gsize len = 0;
    g_autofree guchar *decoded = g_base64_decode(json_string_value(json_object_get(r1, "result")),
                                                 &len);
    CU_ASSERT_EQUAL(len, strlen(report));
    CU_ASSERT_EQUAL(memcmp(decoded, report, len), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r2, "status")), "Pending");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r2, "result")), "");
    answer_clear(&a);

    /* A command without a CommandUUID gets one. */
    g_autofree char *anon = command_plist(NULL, "SecurityInfo");
    run(&a, TOKEN_MAINTAINER, anon, "[\"" DEV2 "\"]");
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    const char *made = json_string_value(json_object_get(a.json, "command_uuid"));
    CU_ASSERT_TRUE(made && g_uuid_string_is_valid(made));
    g_autoptr(GPtrArray) rows = NULL;
    CU_ASSERT_EQUAL(orchard_store_command_results(made, &rows), 0);
    answer_clear(&a);

    /* The results' refusals. */
    get(&a, LATEST "/commands/results", TOKEN_OBSERVER);
    expect_error(&a, 400, "command_uuid is required");
    answer_clear(&a);
    get(&a, LATEST "/commands/results?command_uuid=NO-SUCH-COMMAND", TOKEN_OBSERVER);
    expect_error(&a, 404, "NO-SUCH-COMMAND");
    answer_clear(&a);
}

static void test_list_commands(void)
{
    CU_ASSERT_FATAL(store_ok);
    answer a;
    const char *uuids[] = {"LIST-A", "LIST-B", "LIST-C"};
    for (size_t i = 0; i < G_N_ELEMENTS(uuids); i++) {
        g_autofree char *p = command_plist(uuids[i], "ProfileList");
        run(&a, TOKEN_MAINTAINER, p, "[\"" DEV1 "\"]");
        CU_ASSERT_EQUAL(a.status, 200);
        answer_clear(&a);
        g_usleep(1100 * 1000); /* created_at has whole seconds */
    }
    /* Newest first, a page at a time. */
    get(&a, LATEST "/commands?per_page=1", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    json_t *res = json_object_get(a.json, "results");
    CU_ASSERT_EQUAL(json_array_size(res), 1);
    json_t *first = json_array_get(res, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "command_uuid")), "LIST-C");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "host_uuid")), DEV1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "hostname")), "Anna's Mac");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "status")), "Pending");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "request_type")),
                           "ProfileList");
    answer_clear(&a);
    get(&a, LATEST "/commands?page=2&per_page=1", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    res = json_object_get(a.json, "results");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_array_get(res, 0), "command_uuid")), "LIST-A");
    answer_clear(&a);
    get(&a, LATEST "/commands?page=1000&per_page=10", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(a.json, "results")), 0);
    answer_clear(&a);
    static const char *const bad[] = {"per_page=0", "per_page=-1", "per_page=10001",
                                      "page=x", "page=1e3"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *path = g_strdup_printf(LATEST "/commands?%s", bad[i]);
        get(&a, path, TOKEN_OBSERVER);
        CU_ASSERT_EQUAL(a.status, 400);
        answer_clear(&a);
    }
    get(&a, LATEST "/commands/nothing-here", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 404);
    answer_clear(&a);
}

static void test_hosts(void)
{
    CU_ASSERT_FATAL(store_ok);
    answer a;
    get(&a, LATEST "/hosts", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    /* No secret: PushMagic, the push token (hex or base64), the unlock token. */
    g_autofree char *token_b64 = g_base64_encode(push_token, sizeof push_token);
    CU_ASSERT_PTR_NULL(strstr(a.body, MAGIC));
    CU_ASSERT_PTR_NULL(strstr(a.body, PUSH_TOKEN_HEX));
    CU_ASSERT_PTR_NULL(strstr(a.body, token_b64));
    CU_ASSERT_PTR_NULL(strstr(a.body, "unlock"));
    json_t *hosts = json_object_get(a.json, "hosts");
    CU_ASSERT_EQUAL(json_array_size(hosts), 3);
    size_t i;
    json_t *h;
    int seen = 0;
    json_array_foreach(hosts, i, h) {
        const char *uuid = json_string_value(json_object_get(h, "uuid"));
        json_t *mdm = json_object_get(h, "mdm");
        const char *status = json_string_value(json_object_get(mdm, "enrollment_status"));
        if (g_strcmp0(uuid, DEV1) == 0) {
            seen |= 1;
            CU_ASSERT_STRING_EQUAL(status, "On (manual)");
            CU_ASSERT_TRUE(json_is_true(json_object_get(h, "push_token_valid")));
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(h, "hardware_serial")),
                                   "C02SERIAL001");
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(h, "hardware_model")),
                                   "MacBookPro18,3");
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(h, "os_version")),
                                   "macOS 14.4.1");
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(h, "computer_name")),
                                   "Anna's Mac");
            CU_ASSERT_TRUE(json_is_string(json_object_get(h, "last_mdm_checked_in_at")));
        } else if (g_strcmp0(uuid, DEV_OFF) == 0) {
            seen |= 2;
            CU_ASSERT_STRING_EQUAL(status, "Off");
            CU_ASSERT_TRUE(json_is_false(json_object_get(h, "push_token_valid")));
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(h, "hardware_serial")), "");
        }
    }
    CU_ASSERT_EQUAL(seen, 3);
    answer_clear(&a);

    get(&a, LATEST "/hosts?page=1&per_page=2", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(a.json, "hosts")), 1);
    answer_clear(&a);
    get(&a, LATEST "/hosts?per_page=zero", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 400);
    answer_clear(&a);

    get(&a, "/api/v1/fleet/hosts/" DEV2, TOKEN_OBSERVER);
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    json_t *host = json_object_get(a.json, "host");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(host, "uuid")), DEV2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(host, "platform")), "darwin");
    CU_ASSERT_PTR_NULL(strstr(a.body, MAGIC));
    CU_ASSERT_PTR_NULL(strstr(a.body, PUSH_TOKEN_HEX));
    answer_clear(&a);
    get(&a, LATEST "/hosts/NO-SUCH-HOST", TOKEN_OBSERVER);
    expect_error(&a, 404, "NO-SUCH-HOST");
    answer_clear(&a);
    get(&a, LATEST "/hosts/" DEV1 "/more", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 404);
    answer_clear(&a);
    get(&a, LATEST "/hosts/", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL(a.status, 404);
    answer_clear(&a);
}

static void test_mdm_apple(void)
{
    answer a;
    get(&a, LATEST "/mdm/apple", TOKEN_OBSERVER);
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a.json, "serial_number")),
                           MDMFX_SERIAL_DEC);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a.json, "issuer")), MDMFX_ISSUER_CN);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a.json, "topic")), mdmfx_state.topic);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a.json, "status")), "ok");
    CU_ASSERT_TRUE(json_is_string(json_object_get(a.json, "common_name")));
    CU_ASSERT_TRUE(json_is_string(json_object_get(a.json, "renew_date")));
    CU_ASSERT_PTR_NULL(strstr(a.body, MDMFX_CHALLENGE));
    CU_ASSERT_PTR_NULL(strstr(a.body, "PRIVATE KEY"));
    answer_clear(&a);

    /* No APNs certificate: Fleet's JSON 404, saying why. */
    const char *kv[] = {"mdm.apple_apns_cert", NULL, "mdm.apple_apns_key", NULL,
                        "mdm.apple_scep_cert", NULL, "mdm.apple_scep_key", NULL,
                        "mdm.apple_scep_challenge", NULL, NULL};
    mdmfx_apply_config(kv);
    orchard_mdm_config_cache_clear();
    get(&a, LATEST "/mdm/apple", TOKEN_OBSERVER);
    expect_error(&a, 404, "no APNs certificate");
    answer_clear(&a);
    mdmfx_apply_config(NULL);
    orchard_mdm_config_cache_clear();
    g_autofree char *db = mdmfx_path("commands_api.db");
    http_config(orchard_test_store_key(), orchard_test_store(db));
}

/* `orchard get mdm-apple ARGS` as the real binary, with ORCHARD_API_TOKEN
 * set to `token` (NULL: unset). Exit status; *out and *err (g_free). */
static int get_cmd(const char *token, char **out, char **err, const char *const *args)
{
    g_autofree char *env_token = token ? g_strconcat("ORCHARD_API_TOKEN=", token, NULL) : NULL;
    const char *env[] = {env_token ? env_token : "ORCHARD_API_TOKEN=", NULL};
    const char *argv[12] = {"get", "mdm-apple"};
    size_t n = 2;
    for (size_t i = 0; args[i] && n < G_N_ELEMENTS(argv) - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return mdmfx_run(argv, env, out, err);
}

#define GET(token, out, err, ...) get_cmd(token, out, err, (const char *const[]){__VA_ARGS__, NULL})

static void test_get_mdm_apple_server(void)
{
    /* The server's store: local and remote both count its instances (one). */
    static const char *const same_store[] = {"store.sqlite", "fx:commands_api.db", NULL};
    g_autofree char *cfg = mdmfx_write_config(same_store);
    g_autofree char *local = NULL, *local_err = NULL, *local_json = NULL, *e0 = NULL;
    CU_ASSERT_EQUAL_FATAL(GET(NULL, &local, &local_err, "--config", cfg), 0);
    CU_ASSERT_EQUAL(GET(NULL, &local_json, &e0, "--config", cfg, "--json"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(local, MDMFX_SERIAL_DEC));

    /* Through the API: the same lines, the same JSON, no local files. */
    g_autofree char *remote = NULL, *remote_err = NULL, *remote_json = NULL, *e1 = NULL;
    int rc = GET("observer-tok", &remote, &remote_err, "--server", server->url);
    if (rc)
        fprintf(stderr, "\n  get mdm-apple --server: %d %s\n", rc, remote_err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(remote, local);
    g_autofree char *slash = g_strconcat(server->url, "/", NULL);
    CU_ASSERT_EQUAL(GET("observer-tok", &remote_json, &e1, "--json", "--server=", slash), 2);
    g_free(remote_json);
    g_free(e1);
    remote_json = e1 = NULL;
    CU_ASSERT_EQUAL(GET("observer-tok", &remote_json, &e1, "--json", "--server", slash), 0);
    json_t *a = json_loads(local_json ? local_json : "", 0, NULL);
    json_t *b = json_loads(remote_json ? remote_json : "", 0, NULL);
    /* days_left and status may tick over between the two runs: compare the rest. */
    CU_ASSERT_TRUE(a && b && json_equal(json_object_get(a, "serial_number"),
                                        json_object_get(b, "serial_number")) &&
                   json_equal(json_object_get(a, "not_after"), json_object_get(b, "not_after")) &&
                   json_equal(json_object_get(a, "topic"), json_object_get(b, "topic")) &&
                   json_object_size(a) == json_object_size(b));
    json_decref(a);
    json_decref(b);

    /* What goes wrong says what to do. */
    static const struct {
        const char *token, *server, *want;
        int status;
    } bad[] = {
        {NULL, NULL, "ORCHARD_API_TOKEN", 1},
        {"not-a-token", NULL, "401", 1},
        {"observer-tok", "ftp://example.com", "https://", 1},
        {"observer-tok", "http://127.0.0.1:PORT", "cannot reach", 1},
    };
    int port = mdmfx_free_port();
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *out = NULL, *err = NULL;
        g_autofree char *url = NULL;
        if (!bad[i].server)
            url = g_strdup(server->url);
        else {
            g_autofree char *p = g_strdup_printf("%d", port);
            g_auto(GStrv) parts = g_strsplit(bad[i].server, "PORT", 2);
            url = g_strjoinv(p, parts);
        }
        int st = GET(bad[i].token, &out, &err, "--server", url);
        if (st != bad[i].status || !err || !strstr(err, bad[i].want))
            fprintf(stderr, "\n  case %zu: %d %s\n", i, st, err);
        CU_ASSERT_EQUAL(st, bad[i].status);
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, bad[i].want));
        CU_ASSERT_PTR_NULL(err && strstr(err, "observer-tok"));
    }
    /* A server without APNs: its 404 message, exit 1. */
    const char *kv[] = {"mdm.apple_apns_cert", NULL, "mdm.apple_apns_key", NULL,
                        "mdm.apple_scep_cert", NULL, "mdm.apple_scep_key", NULL,
                        "mdm.apple_scep_challenge", NULL, NULL};
    mdmfx_apply_config(kv);
    orchard_mdm_config_cache_clear();
    g_autofree char *o4 = NULL, *e4 = NULL;
    CU_ASSERT_EQUAL(GET("observer-tok", &o4, &e4, "--server", server->url), 1);
    CU_ASSERT_PTR_NOT_NULL(e4 && strstr(e4, "no APNs certificate"));
    CU_ASSERT_TRUE(o4 && !*o4);
    mdmfx_apply_config(NULL);
    orchard_mdm_config_cache_clear();
    g_autofree char *db = mdmfx_path("commands_api.db");
    http_config(orchard_test_store_key(), orchard_test_store(db));

    g_autofree char *o2 = NULL, *e2 = NULL;
    CU_ASSERT_EQUAL(GET("observer-tok", &o2, &e2, "--server"), 2);
    g_autofree char *o3 = NULL, *e3 = NULL;
    CU_ASSERT_EQUAL(GET("observer-tok", &o3, &e3, "--ca", "x.pem"), 2);
    CU_ASSERT_EQUAL(mdmfx_leaks(), 0);
}

/* Run a table's generate with `col = value` (NULL: no constraint). */
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

static void test_tables(void)
{
    CU_ASSERT_FATAL(store_ok);
    orchard_rows *rows = table_rows(&orchard_table_mdm_enrollments, NULL, NULL);
    CU_ASSERT_FATAL(rows != NULL);
    CU_ASSERT_EQUAL(orchard_rows_count(rows), 3);
    int found = 0;
    for (size_t i = 0; i < orchard_rows_count(rows); i++) {
        const char *const *v = orchard_rows_get(rows, i);
        for (size_t c = 0; c < MDM_ENROLLMENTS_N_COLUMNS; c++)
            CU_ASSERT_TRUE(!v[c] || (!strstr(v[c], MAGIC) && !strstr(v[c], PUSH_TOKEN_HEX)));
        if (strcmp(v[MDM_ENROLLMENTS_COL_UDID], DEV1) == 0) {
            found = 1;
            CU_ASSERT_STRING_EQUAL(v[MDM_ENROLLMENTS_COL_ENABLED], "1");
            CU_ASSERT_STRING_EQUAL(v[MDM_ENROLLMENTS_COL_PUSH_TOKEN_VALID], "1");
            CU_ASSERT_STRING_EQUAL(v[MDM_ENROLLMENTS_COL_TOKEN_UPDATE_TALLY], "1");
            CU_ASSERT_STRING_EQUAL(v[MDM_ENROLLMENTS_COL_SERIAL_NUMBER], "C02SERIAL001");
            CU_ASSERT_PTR_NOT_NULL(v[MDM_ENROLLMENTS_COL_LAST_SEEN_AT]);
        }
        if (strcmp(v[MDM_ENROLLMENTS_COL_UDID], DEV_OFF) == 0) {
            CU_ASSERT_STRING_EQUAL(v[MDM_ENROLLMENTS_COL_ENABLED], "0");
            CU_ASSERT_PTR_NULL(v[MDM_ENROLLMENTS_COL_SERIAL_NUMBER]);
            CU_ASSERT_STRING_EQUAL(v[MDM_ENROLLMENTS_COL_TOKEN_UPDATE_TALLY], "0");
        }
    }
    CU_ASSERT_TRUE(found);
    orchard_rows_free(rows);
    rows = table_rows(&orchard_table_mdm_enrollments, "udid", DEV2);
    CU_ASSERT_EQUAL(rows ? orchard_rows_count(rows) : 0, 1);
    orchard_rows_free(rows);
    rows = table_rows(&orchard_table_mdm_enrollments, "udid", "nobody");
    CU_ASSERT_EQUAL(rows ? orchard_rows_count(rows) : 9, 0);
    orchard_rows_free(rows);

    /* A command of our own, so the suite's order does not matter. */
    const char *udids[] = {DEV1, DEV2};
    const char *xml = "<plist><dict/></plist>";
    int rc = orchard_store_command_enqueue("TABLE-1", "DeviceLock", xml, strlen(xml), NULL, udids,
                                           2, g_get_real_time(), NULL);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    rows = table_rows(&orchard_table_mdm_commands, "command_uuid", "TABLE-1");
    CU_ASSERT_FATAL(rows != NULL);
    CU_ASSERT_EQUAL(orchard_rows_count(rows), 2);
    const char *const *v = orchard_rows_get(rows, 0);
    CU_ASSERT_STRING_EQUAL(v[MDM_COMMANDS_COL_REQUEST_TYPE], "DeviceLock");
    CU_ASSERT_STRING_EQUAL(v[MDM_COMMANDS_COL_STATUS], "Pending");
    CU_ASSERT_TRUE(g_str_has_suffix(v[MDM_COMMANDS_COL_QUEUED_AT], "Z"));
    orchard_rows_free(rows);
    rows = table_rows(&orchard_table_mdm_commands, NULL, NULL);
    CU_ASSERT_TRUE(rows && orchard_rows_count(rows) >= 2);
    orchard_rows_free(rows);
    rows = table_rows(&orchard_table_mdm_commands, "command_uuid", "NOT-A-COMMAND");
    CU_ASSERT_EQUAL(rows ? orchard_rows_count(rows) : 9, 0);
    orchard_rows_free(rows);
}

/* GET /healthz: 200 while the store reads, 503 when it cannot, and only
 * that exact path. No credentials needed. */
static void test_healthz(void)
{
    answer a;
    get(&a, "/healthz", NULL);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a.json, "status")), "ok");
    answer_clear(&a);
    get(&a, "/healthz/more", NULL);
    CU_ASSERT_EQUAL(a.status, 404);
    answer_clear(&a);

    /* The store goes away (its directory does not exist): 503, then back. */
    g_autofree char *db = mdmfx_path("commands_api.db");
    g_autofree char *err = NULL;
    orchard_store_close();
    http_config(orchard_test_store_key(), orchard_test_store_unreachable());
    get(&a, "/healthz", NULL);
    expect_error(&a, 503, "the store cannot be reached");
    answer_clear(&a);
    orchard_store_close();
    http_config(orchard_test_store_key(), orchard_test_store(db));
    CU_ASSERT_EQUAL_FATAL(orchard_store_open(orchard_test_store(db), &err), 0);
    get(&a, "/healthz", NULL);
    CU_ASSERT_EQUAL(a.status, 200);
    answer_clear(&a);
}

void commands_api_suite(void)
{
    ORCHARD_ADD_SUITE("commands_api", suite_init, suite_cleanup,
                      {"401 without a token, 403 for an observer's run", test_auth_and_roles},
                      {"every refusal of POST /commands/run", test_run_refusals},
                      {"run, push, activity, results before and after a report",
                       test_run_and_results},
                      {"GET /commands: newest first, paged", test_list_commands},
                      {"GET /hosts and /hosts/{uuid}: no secrets", test_hosts},
                      {"GET /mdm/apple, and 404 without APNs", test_mdm_apple},
                      {"get mdm-apple --server reads it through the API",
                       test_get_mdm_apple_server},
                      {"mdm_enrollments and mdm_commands tables", test_tables},
                      {"GET /healthz: the store reads, or 503", test_healthz});
}
