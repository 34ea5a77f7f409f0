/* teams_api: the teams, hosts/transfer, config and os_versions routes
 * (server_plugin/teams/teams_api.c, updates/config_api.c,
 * updates/os_versions_api.c) served for real with the server plugin, real
 * users of each role (users_fixture.h), and `orchard team create|list` on
 * the same store. Every refusal is asked for, with its status, Fleet's
 * error shape and the field it names, and that it changed nothing. */
#include "tests/suites.h"

#include "server_plugin/server.h"
#include "server_plugin/store/store_sql.h"
#include "server_plugin/updates/updates.h"
#include "tests/server/updates_fixture.h"
#include "tests/server/users_fixture.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <jansson.h>
#include <string.h>

#define API "/api/latest/fleet"
#define H1 "0000EEEE-0000-0000-0000-000000000001"
#define H2 "0000EEEE-0000-0000-0000-000000000002"
#define H3 "0000EEEE-0000-0000-0000-000000000003"

static char *admin, *maint, *obs;

static int suite_init(void)
{
    if (ufx_init())
        return 1;
    admin = ufx_login("admin@example.com", PW_ADMIN, NULL);
    maint = ufx_login("maint@example.com", PW_MAINT, NULL);
    obs = ufx_login("obs@example.com", PW_OBS, NULL);
    if (!admin || !maint || !obs)
        return 1;
    return updfx_host(H1, "13.6", 1) || updfx_host(H2, "13.6", 1) || updfx_host(H3, "14.4", 1);
}

static int suite_cleanup(void)
{
    g_free(admin), g_free(maint), g_free(obs);
    return ufx_cleanup();
}

/* One call; its status, and its body as JSON in *out (json_decref; may be NULL). */
static long call(const char *method, const char *path, const char *body, const char *token,
                 json_t **out)
{
    http_response r;
    ufx_request(method, path, body, body ? strlen(body) : 0, token, &r);
    long status = r.status;
    if (out)
        *out = json_loads(r.body->str, 0, NULL);
    http_response_clear(&r);
    return status;
}

/* A refusal: `status`, Fleet's error shape, `want` in the message, and the
 * first error naming `field` (NULL: not checked). */
static void refused(const char *method, const char *path, const char *body, const char *token,
                    long status, const char *field, const char *want)
{
    http_response r;
    ufx_request(method, path, body, body ? strlen(body) : 0, token, &r);
    if (r.status != status)
        fprintf(stderr, "\n  %s %s %s: wanted %ld, got %ld %s\n", method, path,
                body ? body : "", status, r.status, r.body->str);
    CU_ASSERT_EQUAL(r.status, status);
    CU_ASSERT_TRUE(ufx_is_fleet_error(&r, want));
    if (field) {
        json_t *j = json_loads(r.body->str, 0, NULL);
        const char *name =
            json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0),
                                              "name"));
        if (!name || strcmp(name, field) != 0)
            fprintf(stderr, "\n  %s %s: error names %s, not %s\n", method, path,
                    name ? name : "nothing", field);
        CU_ASSERT_STRING_EQUAL(name ? name : "", field);
        json_decref(j);
    }
    http_response_clear(&r);
}

static gint64 create(const char *name)
{
    json_t *j = NULL;
    g_autofree char *body = g_strdup_printf("{\"name\": \"%s\"}", name);
    CU_ASSERT_EQUAL(call("POST", API "/teams", body, admin, &j), 200);
    gint64 id = json_integer_value(json_object_get(json_object_get(j, "team"), "id"));
    json_decref(j);
    CU_ASSERT_TRUE(id > 0);
    return id;
}

static void test_roles(void)
{
    refused("GET", API "/teams", NULL, NULL, 401, NULL, NULL);
    refused("POST", API "/teams", "{\"name\": \"x\"}", obs, 403, NULL, NULL);
    refused("POST", API "/teams", "{\"name\": \"x\"}", maint, 403, NULL, NULL);
    refused("PATCH", API "/teams/1", "{\"name\": \"x\"}", maint, 403, NULL, NULL);
    refused("DELETE", API "/teams/1", NULL, maint, 403, NULL, NULL);
    refused("PATCH", API "/config", "{}", obs, 403, NULL, NULL);
    /* Maintainers may change the macOS update setting (issue 14), so PATCH
     * /config lets them in; web_updates_page tests what they may do. */
    CU_ASSERT_EQUAL(call("PATCH", API "/config", "{}", maint, NULL), 200);
    refused("POST", API "/hosts/transfer", "{\"team_id\": null, \"hosts\": [\"" H1 "\"]}", obs,
            403, NULL, NULL);
    CU_ASSERT_EQUAL(call("GET", API "/teams", NULL, obs, NULL), 200);
    CU_ASSERT_EQUAL(call("GET", API "/config", NULL, obs, NULL), 200);
    CU_ASSERT_EQUAL(call("GET", API "/os_versions", NULL, obs, NULL), 200);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM teams WHERE name = ?", "x"), 0);
}

static void test_create_and_refusals(void)
{
    json_t *j = NULL;
    CU_ASSERT_EQUAL(call("POST", API "/teams", "{\"name\": \"Engineering\", \"description\": "
                                               "\"builds things\"}", admin, &j), 200);
    json_t *t = json_object_get(j, "team");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t, "name")), "Engineering");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t, "description")), "builds things");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(t, "host_count")), 0);
    CU_ASSERT_TRUE(g_str_has_suffix(json_string_value(json_object_get(t, "created_at")), "Z"));
    json_t *mu = json_object_get(json_object_get(t, "mdm"), "macos_updates");
    CU_ASSERT_TRUE(json_is_null(json_object_get(mu, "minimum_version")));
    CU_ASSERT_TRUE(json_is_null(json_object_get(mu, "deadline")));
    json_decref(j);
    gint64 before = updfx_int("SELECT count(*) FROM teams", NULL);
    refused("POST", API "/teams", "{\"name\": \"ENGINEERING\"}", admin, 409, "name",
            "already exists");
    refused("POST", API "/teams", "{}", admin, 422, "name", "may not be empty");
    refused("POST", API "/teams", "{\"name\": \"\"}", admin, 422, "name", "may not be empty");
    refused("POST", API "/teams", "{\"name\": \"a\\u0007b\"}", admin, 422, "name", "control");
    /* jansson refuses \u0000 in a document: a JSON error before any field. */
    refused("POST", API "/teams", "{\"name\": \"a\\u0000b\"}", admin, 400, NULL, NULL);
    refused("POST", API "/teams", "{\"name\": 42}", admin, 400, "name", "must be a string");
    refused("POST", API "/teams", "{\"name\": \"ok\", \"description\": []}", admin, 400,
            "description", "must be a string");
    refused("POST", API "/teams", "[\"name\"]", admin, 400, NULL, NULL);
    refused("POST", API "/teams", "{\"name\": ", admin, 400, NULL, NULL);
    refused("POST", API "/teams", "", admin, 400, NULL, NULL);
    refused("POST", API "/teams/5", "{\"name\": \"x\"}", admin, 404, NULL, NULL);
    g_autofree char *longname = g_strnfill(256, 'n');
    g_autofree char *body = g_strdup_printf("{\"name\": \"%s\"}", longname);
    refused("POST", API "/teams", body, admin, 422, "name", "255");
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM teams", NULL), before);
    CU_ASSERT_TRUE(updfx_activities("created_team") >= 1);
}

static void test_list_get(void)
{
    gint64 id = create("Listed");
    json_t *j = NULL;
    CU_ASSERT_EQUAL(call("GET", API "/teams", NULL, obs, &j), 200);
    json_t *teams = json_object_get(j, "teams"), *t;
    size_t i;
    int found = 0;
    json_array_foreach(teams, i, t) {
        if (json_integer_value(json_object_get(t, "id")) == id) {
            found = 1;
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t, "name")), "Listed");
            CU_ASSERT_PTR_NOT_NULL(json_object_get(json_object_get(t, "mdm"), "macos_updates"));
        }
    }
    CU_ASSERT_TRUE(found);
    json_decref(j);
    g_autofree char *path = g_strdup_printf(API "/teams/%" G_GINT64_FORMAT, id);
    CU_ASSERT_EQUAL(call("GET", path, NULL, obs, &j), 200);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(j, "team"), "id")), id);
    json_decref(j);
    refused("GET", API "/teams/99999", NULL, obs, 404, NULL, "no team");
    refused("GET", API "/teams/0", NULL, obs, 404, NULL, NULL);
    refused("GET", API "/teams/abc", NULL, obs, 404, NULL, NULL);
    refused("GET", API "/teams/-1", NULL, obs, 404, NULL, NULL);
    refused("GET", API "/teams/1/x", NULL, obs, 404, NULL, NULL);
    refused("GET", API "/teams/99999999999999999999999", NULL, obs, 404, NULL, NULL);
    /* Another path that starts alike is none of ours (the host's 404). */
    CU_ASSERT_EQUAL(call("GET", API "/teamsx", NULL, obs, NULL), 404);
}

static void test_patch(void)
{
    gint64 id = create("Patchable");
    create("Taken");
    g_autofree char *path = g_strdup_printf(API "/teams/%" G_GINT64_FORMAT, id);
    json_t *j = NULL;
    CU_ASSERT_EQUAL(call("PATCH", path, "{\"name\": \"Patched\", \"mdm\": {\"macos_updates\": "
                                        "{\"minimum_version\": \"14.4\", \"deadline\": "
                                        "\"2030-06-01\"}}}", admin, &j), 200);
    json_t *t = json_object_get(j, "team");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t, "name")), "Patched");
    json_t *mu = json_object_get(json_object_get(t, "mdm"), "macos_updates");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(mu, "minimum_version")), "14.4");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(mu, "deadline")), "2030-06-01");
    json_decref(j);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM mdm_profiles WHERE kind = 'nudge' AND "
                              "applies_below = ?", "14.4"), 1);

    /* Each refusal in Fleet's words, naming the field; nothing changes,
     * not even the name asked for beside it. */
    static const struct {
        const char *mu, *field, *msg;
    } bad[] = {
        {"{\"deadline\": null}", "macos_updates.deadline",
         "deadline is required when minimum_version is provided"},
        {"{\"minimum_version\": \"\"}", "macos_updates.minimum_version",
         "minimum_version is required when deadline is provided"},
        {"{\"minimum_version\": \"Ventura 13\"}", "macos_updates.minimum_version",
         "minimum_version accepts version numbers only. (E.g., \"13.0.1.\") NOT \"Ventura 13\" "
         "or \"13.0.1 (22A400)\""},
        {"{\"deadline\": \"2030-02-30\"}", "macos_updates.deadline",
         "deadline accepts YYYY-MM-DD format only (E.g., \"2023-06-01.\")"},
        {"{\"deadline\": 20300601}", "macos_updates.deadline", "must be a string"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *body = g_strdup_printf("{\"name\": \"Renamed\", \"mdm\": "
                                                "{\"macos_updates\": %s}}", bad[i].mu);
        refused("PATCH", path, body, admin, 422, bad[i].field, bad[i].msg);
    }
    refused("PATCH", path, "{\"name\": \"taken\"}", admin, 409, "name", "already exists");
    refused("PATCH", path, "{\"name\": \"\"}", admin, 422, "name", NULL);
    refused("PATCH", path, "{\"mdm\": 5}", admin, 400, "mdm", NULL);
    refused("PATCH", path, "{\"mdm\": {\"macos_updates\": \"14.4\"}}", admin, 400,
            "mdm.macos_updates", NULL);
    refused("PATCH", API "/teams/99999", "{\"name\": \"n\"}", admin, 404, NULL, NULL);
    refused("PATCH", API "/teams", "{\"name\": \"n\"}", admin, 404, NULL, NULL);
    CU_ASSERT_EQUAL(call("GET", path, NULL, obs, &j), 200);
    t = json_object_get(j, "team");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t, "name")), "Patched");
    mu = json_object_get(json_object_get(t, "mdm"), "macos_updates");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(mu, "deadline")), "2030-06-01");
    json_decref(j);
    /* Both cleared: off, and the Nudge profile gone. */
    CU_ASSERT_EQUAL(call("PATCH", path, "{\"mdm\": {\"macos_updates\": {\"minimum_version\": "
                                        "null, \"deadline\": \"\"}}}", admin, NULL), 200);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM mdm_profiles WHERE kind = 'nudge' AND "
                              "applies_below = ?", "14.4"), 0);
    CU_ASSERT_TRUE(updfx_activities("edited_team") >= 1);
}

static void test_transfer_and_delete(void)
{
    gint64 id = create("Movers");
    g_autofree char *ok = g_strdup_printf("{\"team_id\": %" G_GINT64_FORMAT ", \"hosts\": "
                                          "[\"" H1 "\", \"" H2 "\"]}", id);
    CU_ASSERT_EQUAL(call("POST", API "/hosts/transfer", ok, maint, NULL), 200);
    g_autofree char *path = g_strdup_printf(API "/teams/%" G_GINT64_FORMAT, id);
    json_t *j = NULL;
    CU_ASSERT_EQUAL(call("GET", path, NULL, obs, &j), 200);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(j, "team"),
                                                       "host_count")), 2);
    json_decref(j);

    /* Refusals move nobody. */
    g_autofree char *numeric = g_strdup_printf("{\"team_id\": null, \"hosts\": [\"" H1 "\", 7]}");
    refused("POST", API "/hosts/transfer", numeric, maint, 400, "hosts", "UDID");
    refused("POST", API "/hosts/transfer", "{\"team_id\": null, \"hosts\": [\"" H1 "\", "
            "\"NO-SUCH-HOST\"]}", maint, 404, "hosts", "NO-SUCH-HOST");
    refused("POST", API "/hosts/transfer", "{\"team_id\": 99999, \"hosts\": [\"" H1 "\"]}",
            maint, 404, "team_id", "no team");
    refused("POST", API "/hosts/transfer", "{\"team_id\": -1, \"hosts\": [\"" H1 "\"]}", maint,
            400, "team_id", NULL);
    refused("POST", API "/hosts/transfer", "{\"team_id\": \"1\", \"hosts\": [\"" H1 "\"]}",
            maint, 400, "team_id", NULL);
    refused("POST", API "/hosts/transfer", "{\"team_id\": null, \"hosts\": []}", maint, 400,
            "hosts", NULL);
    refused("POST", API "/hosts/transfer", "{\"team_id\": null}", maint, 400, "hosts", NULL);
    refused("POST", API "/hosts/transfer", "{\"team_id\": null, \"hosts\": \"" H1 "\"}", maint,
            400, "hosts", NULL);
    g_autofree char *longhost = g_strnfill(5000, 'H');
    g_autofree char *big = g_strdup_printf("{\"team_id\": null, \"hosts\": [\"%s\"]}", longhost);
    refused("POST", API "/hosts/transfer", big, maint, 400, "hosts", NULL);
    refused("POST", API "/hosts/transfer", "{\"team_id\": null, \"hosts\": [\"a\\nb\"]}", maint,
            400, "hosts", NULL);
    CU_ASSERT_TRUE(call("POST", API "/hosts/transferx", "{}", maint, NULL) >= 400);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM mdm_enrollments WHERE team_id <> 0 AND "
                              "udid <> ?", H3), 2);

    /* Delete: hosts back to no team. */
    CU_ASSERT_EQUAL(call("DELETE", path, NULL, admin, NULL), 200);
    refused("GET", path, NULL, obs, 404, NULL, NULL);
    refused("DELETE", path, NULL, admin, 404, NULL, NULL);
    refused("DELETE", API "/teams", NULL, admin, 404, NULL, NULL);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM mdm_enrollments WHERE team_id <> 0", NULL),
                    0);
    CU_ASSERT_TRUE(updfx_activities("deleted_team") >= 1);
    CU_ASSERT_TRUE(updfx_activities("transferred_hosts") >= 1);
}

static void test_config(void)
{
    json_t *j = NULL;
    CU_ASSERT_EQUAL(call("GET", API "/config", NULL, obs, &j), 200);
    json_t *mdm = json_object_get(j, "mdm");
    CU_ASSERT_TRUE(json_is_false(json_object_get(mdm, "enabled_and_configured")));
    CU_ASSERT_TRUE(json_is_null(json_object_get(json_object_get(mdm, "macos_updates"),
                                                "minimum_version")));
    json_decref(j);
    CU_ASSERT_EQUAL(call("PATCH", API "/config", "{\"mdm\": {\"macos_updates\": "
                                                 "{\"minimum_version\": \"14.4\", \"deadline\": "
                                                 "\"2031-01-15\"}}, \"unknown\": 1}",
                         admin, &j), 200);
    json_t *mu = json_object_get(json_object_get(j, "mdm"), "macos_updates");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(mu, "minimum_version")), "14.4");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(mu, "deadline")), "2031-01-15");
    json_decref(j);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM macos_update_settings WHERE team_id = 0",
                              NULL), 1);
    CU_ASSERT_TRUE(updfx_activities("edited_macos_min_version") >= 1);
    refused("PATCH", API "/config", "{\"mdm\": {\"macos_updates\": {\"deadline\": \"\"}}}", admin,
            422, "macos_updates.deadline", "deadline is required when minimum_version is provided");
    refused("PATCH", API "/config", "{\"mdm\": {\"macos_updates\": {\"minimum_version\": "
            "\"13.0.1 (22A400)\"}}}", admin, 422, "macos_updates.minimum_version",
            "accepts version numbers only");
    refused("PATCH", API "/config", "{\"mdm\": {\"macos_updates\": {\"deadline\": \"1/2/2030\"}}}",
            admin, 422, "macos_updates.deadline", "YYYY-MM-DD");
    refused("PATCH", API "/config", "{\"mdm\": []}", admin, 400, "mdm", NULL);
    refused("PATCH", API "/config", "nope", admin, 400, NULL, NULL);
    /* Unknown keys alone: the config as it is. */
    CU_ASSERT_EQUAL(call("PATCH", API "/config", "{\"org_info\": {\"org_name\": \"x\"}}", admin,
                         &j), 200);
    mu = json_object_get(json_object_get(j, "mdm"), "macos_updates");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(mu, "deadline")), "2031-01-15");
    json_decref(j);
    CU_ASSERT_EQUAL(call("PATCH", API "/config", "{\"mdm\": {\"macos_updates\": "
                                                 "{\"minimum_version\": \"\", \"deadline\": "
                                                 "\"\"}}}", admin, NULL), 200);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM macos_update_settings WHERE team_id = 0",
                              NULL), 0);
    /* An admin's profile holding orchard's Nudge identifier (the upload
     * checks refuse it; a store written otherwise may have one): a 409. */
    CU_ASSERT_TRUE(orchard_sstore_write("test", "INSERT INTO mdm_profiles (team_id, kind, "
                                        "identifier, name, payload_uuid, content, checksum, "
                                        "created_at, updated_at) VALUES (0, 'custom', ?, 'x', "
                                        "'u', ?, 'c', 1, 1)",
                                        SQL_PARAMS(SQL_TEXT(ORCHARD_NUDGE_PROFILE_IDENTIFIER),
                                                   SQL_BLOB("abc", 3))) == 1);
    refused("PATCH", API "/config", "{\"mdm\": {\"macos_updates\": {\"minimum_version\": "
            "\"14.4\", \"deadline\": \"2031-01-15\"}}}", admin, 409, "mdm.macos_updates",
            "Nudge identifier");
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM macos_update_settings WHERE team_id = 0",
                              NULL), 0);
    CU_ASSERT_TRUE(orchard_sstore_write("test", "DELETE FROM mdm_profiles WHERE team_id = 0 "
                                        "AND kind = 'custom'", NULL, 0) == 1);
}

static gint64 hosts_on(json_t *list, const char *version)
{
    json_t *v;
    size_t i;
    json_array_foreach(list, i, v) {
        if (g_strcmp0(json_string_value(json_object_get(v, "version")), version) == 0) {
            g_autofree char *name = g_strconcat("macOS ", version, NULL);
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "name")), name);
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "name_only")), "macOS");
            return json_integer_value(json_object_get(v, "hosts_count"));
        }
    }
    return 0;
}

static void test_os_versions(void)
{
    gint64 id = create("Versions");
    g_autofree char *move = g_strdup_printf("{\"team_id\": %" G_GINT64_FORMAT ", \"hosts\": "
                                            "[\"" H3 "\"]}", id);
    CU_ASSERT_EQUAL(call("POST", API "/hosts/transfer", move, maint, NULL), 200);
    json_t *j = NULL;
    CU_ASSERT_EQUAL(call("GET", API "/os_versions", NULL, obs, &j), 200);
    CU_ASSERT_EQUAL(hosts_on(json_object_get(j, "os_versions"), "13.6"), 2);
    CU_ASSERT_EQUAL(hosts_on(json_object_get(j, "os_versions"), "14.4"), 1);
    CU_ASSERT_TRUE(json_is_string(json_object_get(j, "counts_updated_at")));
    json_decref(j);
    g_autofree char *team = g_strdup_printf(API "/os_versions?team_id=%" G_GINT64_FORMAT, id);
    CU_ASSERT_EQUAL(call("GET", team, NULL, obs, &j), 200);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "os_versions")), 1);
    CU_ASSERT_EQUAL(hosts_on(json_object_get(j, "os_versions"), "14.4"), 1);
    json_decref(j);
    CU_ASSERT_EQUAL(call("GET", API "/os_versions?team_id=0", NULL, obs, &j), 200);
    CU_ASSERT_EQUAL(hosts_on(json_object_get(j, "os_versions"), "13.6"), 2);
    CU_ASSERT_EQUAL(hosts_on(json_object_get(j, "os_versions"), "14.4"), 0);
    json_decref(j);
    refused("GET", API "/os_versions?team_id=abc", NULL, obs, 400, "team_id", NULL);
    refused("GET", API "/os_versions?team_id=-3", NULL, obs, 400, "team_id", NULL);
}

static void reset(char **out, char **err)
{
    g_clear_pointer(out, g_free);
    g_clear_pointer(err, g_free);
}

static void test_cli(void)
{
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(ORCHARD(NULL, &out, &err, "team", "create", "--name", "From CLI",
                            "--description", "made in a shell"), 0);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "Created team From CLI"));
    reset(&out, &err);
    CU_ASSERT_EQUAL(ORCHARD(NULL, &out, &err, "team", "create", "--name", "from cli"), 1);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "already exists"));
    reset(&out, &err);
    CU_ASSERT_EQUAL(ORCHARD(NULL, &out, &err, "team", "create"), 2);
    reset(&out, &err);
    CU_ASSERT_EQUAL(ORCHARD(NULL, &out, &err, "team", "create", "--name", "tab\there"), 2);
    reset(&out, &err);
    CU_ASSERT_EQUAL(ORCHARD(NULL, &out, &err, "team", "list", "--json"), 0);
    json_t *arr = out ? json_loads(out, 0, NULL) : NULL;
    CU_ASSERT_TRUE(json_is_array(arr));
    json_t *t;
    size_t i;
    int found = 0;
    json_array_foreach(arr, i, t) {
        if (g_strcmp0(json_string_value(json_object_get(t, "name")), "From CLI") == 0) {
            found = 1;
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(t, "description")),
                                   "made in a shell");
        }
    }
    CU_ASSERT_TRUE(found);
    json_decref(arr);
    reset(&out, &err);
    CU_ASSERT_EQUAL(ORCHARD(NULL, &out, &err, "team", "list"), 0);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "From CLI"));
    /* The same store the API reads. */
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM teams WHERE name = ?", "From CLI"), 1);
}

void teams_api_suite(void)
{
    ORCHARD_ADD_SUITE("teams_api", suite_init, suite_cleanup, {"roles", test_roles},
                      {"create_and_refusals", test_create_and_refusals},
                      {"list_get", test_list_get}, {"patch", test_patch},
                      {"transfer_and_delete", test_transfer_and_delete},
                      {"config", test_config}, {"os_versions", test_os_versions},
                      {"cli", test_cli});
}
