/* nudge_config: Nudge's configuration for a macOS update setting
 * (server_plugin/updates/nudge_config.c): the JSON key by key against
 * Fleet's (docs/macos-updates.md), the .mobileconfig parsed back and its
 * payload compared with the JSON, the same setting giving the same bytes,
 * text that would break XML escaped, and the payload written where macOS
 * puts managed preferences giving the agent `nudge` table's rows the
 * setting implies (`orchard query --root`). */
#include "server_plugin/updates/updates.h"
#include "tables/mac/plist_util.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <plist/plist.h>
#include <string.h>
#include <sys/wait.h>

#define SET_MIN "14.4"
#define DEADLINE "2026-12-20"

/* A string member, or "" (so a missing one fails an assertion, not the run). */
static const char *str_at(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static void test_json_key_by_key(void)
{
    json_t *j = orchard_nudge_config_json(SET_MIN, DEADLINE);
    CU_ASSERT_FATAL(json_is_object(j));
    CU_ASSERT_EQUAL(json_object_size(j), 3);

    json_t *reqs = json_object_get(j, "osVersionRequirements");
    CU_ASSERT_FATAL(json_is_array(reqs) && json_array_size(reqs) == 1);
    json_t *r = json_array_get(reqs, 0);
    CU_ASSERT_EQUAL(json_object_size(r), 3);
    CU_ASSERT_STRING_EQUAL(str_at(r, "requiredInstallationDate"), DEADLINE "T20:00:00Z");
    CU_ASSERT_STRING_EQUAL(str_at(r, "requiredMinimumOSVersion"), SET_MIN);
    json_t *urls = json_object_get(r, "aboutUpdateURLs");
    CU_ASSERT_FATAL(json_is_array(urls) && json_array_size(urls) == 1);
    json_t *u = json_array_get(urls, 0);
    CU_ASSERT_EQUAL(json_object_size(u), 2);
    CU_ASSERT_STRING_EQUAL(str_at(u, "_language"), "en");
    CU_ASSERT_STRING_EQUAL(str_at(u, "aboutUpdateURL"), "https://support.apple.com/en-us/HT201541");

    json_t *ui = json_object_get(j, "userInterface");
    CU_ASSERT_FATAL(json_is_object(ui));
    CU_ASSERT_EQUAL(json_object_size(ui), 3);
    CU_ASSERT_TRUE(json_is_true(json_object_get(ui, "simpleMode")));
    CU_ASSERT_TRUE(json_is_false(json_object_get(ui, "showDeferralCount")));
    json_t *els = json_object_get(ui, "updateElements");
    CU_ASSERT_FATAL(json_is_array(els) && json_array_size(els) == 1);
    json_t *e = json_array_get(els, 0);
    CU_ASSERT_EQUAL(json_object_size(e), 3);
    CU_ASSERT_STRING_EQUAL(str_at(e, "_language"), "en");
    CU_ASSERT_STRING_EQUAL(str_at(e, "actionButtonText"), "Update");
    CU_ASSERT_STRING_EQUAL(str_at(e, "mainHeader"), "Your device requires an update");

    json_t *ux = json_object_get(j, "userExperience");
    CU_ASSERT_FATAL(json_is_object(ux));
    CU_ASSERT_EQUAL(json_object_size(ux), 4);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(ux, "initialRefreshCycle")), 86400);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(ux, "approachingRefreshCycle")), 86400);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(ux, "imminentRefreshCycle")), 7200);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(ux, "elapsedRefreshCycle")), 3600);

    /* The same document as text, written independently. */
    json_t *want = json_loads(
        "{\"osVersionRequirements\": [{\"requiredInstallationDate\": \"2026-12-20T20:00:00Z\","
        " \"requiredMinimumOSVersion\": \"14.4\", \"aboutUpdateURLs\": [{\"_language\": \"en\","
        " \"aboutUpdateURL\": \"https://support.apple.com/en-us/HT201541\"}]}],"
        " \"userInterface\": {\"simpleMode\": true, \"showDeferralCount\": false,"
        " \"updateElements\": [{\"_language\": \"en\", \"actionButtonText\": \"Update\","
        " \"mainHeader\": \"Your device requires an update\"}]},"
        " \"userExperience\": {\"initialRefreshCycle\": 86400, \"approachingRefreshCycle\": 86400,"
        " \"imminentRefreshCycle\": 7200, \"elapsedRefreshCycle\": 3600}}",
        0, NULL);
    CU_ASSERT_TRUE(json_equal(j, want));
    json_decref(want);
    json_decref(j);
}

static void test_json_off(void)
{
    CU_ASSERT_PTR_NULL(orchard_nudge_config_json(NULL, NULL));
    CU_ASSERT_PTR_NULL(orchard_nudge_config_json("", ""));
    CU_ASSERT_PTR_NULL(orchard_nudge_config_json(SET_MIN, NULL));
    CU_ASSERT_PTR_NULL(orchard_nudge_config_json(NULL, DEADLINE));
    GBytes *b = (GBytes *)1;
    char *uuid = (char *)1;
    CU_ASSERT_EQUAL(orchard_nudge_profile(1, NULL, NULL, &b, &uuid), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_PTR_NULL(uuid);
}

/* The profile's top-level dictionary (plist_free), parsed from its bytes. */
static plist_t parse_profile(GBytes *b)
{
    gsize len = 0;
    const char *data = g_bytes_get_data(b, &len);
    plist_t root = NULL;
    CU_ASSERT_TRUE(len > 0 && memcmp(data, "<?xml", 5) == 0);
    plist_from_xml(data, (uint32_t)len, &root);
    CU_ASSERT_FATAL(root != NULL && plist_get_node_type(root) == PLIST_DICT);
    return root;
}

static const char *pstr(plist_t dict, const char *key)
{
    plist_t v = plist_dict_get_item(dict, key);
    return v && plist_get_node_type(v) == PLIST_STRING ? plist_get_string_ptr(v, NULL) : NULL;
}

/* The payload's keys other than Payload*, as JSON (json_decref). */
static json_t *payload_settings(plist_t payload)
{
    json_t *all = orchard_plist_to_json(payload);
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(all, k, v) {
        if (!g_str_has_prefix(k, "Payload"))
            json_object_set(out, k, v);
    }
    json_decref(all);
    return out;
}

static void test_profile_round_trip(void)
{
    GBytes *b = NULL;
    g_autofree char *uuid = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_nudge_profile(3, SET_MIN, DEADLINE, &b, &uuid), 0);
    plist_t root = parse_profile(b);
    CU_ASSERT_STRING_EQUAL(pstr(root, "PayloadType"), "Configuration");
    CU_ASSERT_STRING_EQUAL(pstr(root, "PayloadIdentifier"), ORCHARD_NUDGE_PROFILE_IDENTIFIER);
    CU_ASSERT_STRING_EQUAL(pstr(root, "PayloadDisplayName"), ORCHARD_NUDGE_PROFILE_NAME);
    CU_ASSERT_STRING_EQUAL(pstr(root, "PayloadUUID"), uuid);
    CU_ASSERT_TRUE(g_uuid_string_is_valid(uuid));
    plist_t content = plist_dict_get_item(root, "PayloadContent");
    CU_ASSERT_FATAL(content && plist_get_node_type(content) == PLIST_ARRAY &&
                    plist_array_get_size(content) == 1);
    plist_t payload = plist_array_get_item(content, 0);
    CU_ASSERT_STRING_EQUAL(pstr(payload, "PayloadType"), ORCHARD_NUDGE_DOMAIN);
    CU_ASSERT_TRUE(g_uuid_string_is_valid(pstr(payload, "PayloadUUID")));
    CU_ASSERT_STRING_NOT_EQUAL(pstr(payload, "PayloadUUID"), uuid);
    CU_ASSERT_PTR_NOT_NULL(pstr(payload, "PayloadIdentifier"));
    json_t *got = payload_settings(payload);
    json_t *want = orchard_nudge_config_json(SET_MIN, DEADLINE);
    CU_ASSERT_TRUE(json_equal(got, want));
    json_decref(got);
    json_decref(want);
    plist_free(root);
    g_bytes_unref(b);
}

static void test_profile_deterministic(void)
{
    GBytes *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    g_autofree char *ua = NULL, *ub = NULL, *uc = NULL, *ud = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_nudge_profile(1, SET_MIN, DEADLINE, &a, &ua), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_nudge_profile(1, SET_MIN, DEADLINE, &b, &ub), 0);
    CU_ASSERT_TRUE(g_bytes_equal(a, b));
    CU_ASSERT_STRING_EQUAL(ua, ub);
    /* Another deadline: other bytes and another UUID (so a reinstall). */
    CU_ASSERT_EQUAL_FATAL(orchard_nudge_profile(1, SET_MIN, "2026-12-21", &c, &uc), 0);
    CU_ASSERT_FALSE(g_bytes_equal(a, c));
    CU_ASSERT_STRING_NOT_EQUAL(ua, uc);
    /* Another team: another UUID. */
    CU_ASSERT_EQUAL_FATAL(orchard_nudge_profile(2, SET_MIN, DEADLINE, &d, &ud), 0);
    CU_ASSERT_STRING_NOT_EQUAL(ua, ud);
    g_bytes_unref(a);
    g_bytes_unref(b);
    g_bytes_unref(c);
    g_bytes_unref(d);
}

/* Values reach the XML escaped: markup in them stays text. (The API never
 * lets such a version through; the builder must not depend on that.) */
static void test_profile_escapes(void)
{
    const char *evil = "14</string><key>PayloadType</key><string>com.apple.mdm&amp;\"'";
    GBytes *b = NULL;
    g_autofree char *uuid = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_nudge_profile(1, evil, DEADLINE, &b, &uuid), 0);
    gsize len = 0;
    const char *xml = g_bytes_get_data(b, &len);
    g_autofree char *text = g_strndup(xml, len);
    CU_ASSERT_PTR_NULL(strstr(text, "</string><key>PayloadType</key><string>com.apple.mdm"));
    plist_t root = parse_profile(b);
    plist_t payload = plist_array_get_item(plist_dict_get_item(root, "PayloadContent"), 0);
    CU_ASSERT_STRING_EQUAL(pstr(payload, "PayloadType"), ORCHARD_NUDGE_DOMAIN);
    plist_t reqs = plist_dict_get_item(payload, "osVersionRequirements");
    plist_t r = plist_array_get_item(reqs, 0);
    CU_ASSERT_STRING_EQUAL(pstr(r, "requiredMinimumOSVersion"), evil);
    plist_free(root);
    g_bytes_unref(b);
}

static void write_file(const char *root, const char *rel, const char *data, size_t len)
{
    g_autofree char *path = g_build_filename(root, rel, NULL);
    g_autofree char *dir = g_path_get_dirname(path);
    g_mkdir_with_parents(dir, 0755);
    CU_ASSERT_TRUE(g_file_set_contents(path, data, (gssize)len, NULL));
}

static const char system_version[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>"
    "<key>ProductName</key><string>macOS</string>"
    "<key>ProductVersion</key><string>13.6</string></dict></plist>\n";

/* `orchard query --root R --json SQL`'s one row (json_decref), or NULL. */
static json_t *agent_row(const char *root, const char *sql)
{
    char *argv[] = {ORCHARD_BIN, "query", "--root", (char *)root, "--profiles_bin", "/bin/false",
                    "--json", (char *)sql, NULL};
    g_autofree char *out = NULL, *err = NULL;
    int status = 0;
    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, NULL))
        return NULL;
    json_t *arr = out ? json_loads(out, 0, NULL) : NULL;
    json_t *row = json_is_array(arr) && json_array_size(arr) == 1 ? json_array_get(arr, 0) : NULL;
    if (!row)
        fprintf(stderr, "\n  orchard query: status %d, out %s, err %s\n", status, out, err);
    json_incref(row);
    json_decref(arr);
    return row;
}

static const char *phase_of(gint64 left)
{
    return left > 72 * 3600 ? "initial" : left > 24 * 3600 ? "approaching"
                                      : left > 0             ? "imminent"
                                                             : "elapsed";
}

static json_int_t cycle_of(const char *phase)
{
    return strcmp(phase, "imminent") == 0 ? 7200 : strcmp(phase, "elapsed") == 0 ? 3600 : 86400;
}

/* Within a minute of a phase boundary the query may land on either side. */
static int near_boundary(gint64 left)
{
    static const gint64 b[] = {72 * 3600, 24 * 3600, 0};
    for (size_t i = 0; i < G_N_ELEMENTS(b); i++)
        if (left - b[i] < 60 && b[i] - left < 60)
            return 1;
    return 0;
}

/* The agent's view of what orchard sends: the payload as macOS writes it to
 * managed preferences, on a Mac running 13.6, with deadlines from ten days
 * ahead to a day past: the phases and refresh cycles Fleet's configuration
 * promises (once a day, every 2 hours under a day, every hour past). */
static void test_agent_reads_payload(void)
{
    static const int days[] = {10, 2, 1, 0, -1};
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t i = 0; i < G_N_ELEMENTS(days); i++) {
        g_autofree char *tmp = g_dir_make_tmp("orchard-nudgecfg-XXXXXX", NULL);
        gint64 now = g_get_real_time() / G_USEC_PER_SEC;
        g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(now + days[i] * 86400);
        g_autoptr(GDateTime) day = g_date_time_new_utc(g_date_time_get_year(t),
                                                       g_date_time_get_month(t),
                                                       g_date_time_get_day_of_month(t), 20, 0, 0);
        gint64 left = g_date_time_to_unix(day) - now;
        g_autofree char *deadline = g_date_time_format(day, "%Y-%m-%d");
        GBytes *b = NULL;
        g_autofree char *uuid = NULL;
        CU_ASSERT_EQUAL_FATAL(orchard_nudge_profile(1, SET_MIN, deadline, &b, &uuid), 0);
        plist_t root = parse_profile(b);
        plist_t payload = plist_copy(
            plist_array_get_item(plist_dict_get_item(root, "PayloadContent"), 0));
        char *xml = NULL;
        uint32_t len = 0;
        plist_to_xml(payload, &xml, &len);
        write_file(tmp, "Library/Managed Preferences/com.github.macadmins.Nudge.plist", xml, len);
        write_file(tmp, "System/Library/CoreServices/SystemVersion.plist", system_version,
                   sizeof system_version - 1);
        g_autofree char *users = g_build_filename(tmp, "Users", NULL);
        g_mkdir_with_parents(users, 0755);
        json_t *row = agent_row(tmp, "select required_minimum_os_version, os_version, compliant, "
                                     "phase, refresh_cycle, required_installation_date from nudge");
        CU_ASSERT_PTR_NOT_NULL(row);
        if (row) {
            g_autofree char *date = g_strconcat(deadline, "T20:00:00Z", NULL);
            const char *want = phase_of(left);
            CU_ASSERT_STRING_EQUAL(str_at(row, "required_minimum_os_version"), SET_MIN);
            CU_ASSERT_STRING_EQUAL(str_at(row, "os_version"), "13.6");
            CU_ASSERT_TRUE(json_is_integer(json_object_get(row, "compliant")));
            CU_ASSERT_EQUAL(json_integer_value(json_object_get(row, "compliant")), 0);
            CU_ASSERT_STRING_EQUAL(str_at(row, "required_installation_date"), date);
            if (!near_boundary(left)) {
                CU_ASSERT_STRING_EQUAL(str_at(row, "phase"), want);
                CU_ASSERT_EQUAL(json_integer_value(json_object_get(row, "refresh_cycle")),
                                cycle_of(want));
                g_hash_table_add(seen, (gpointer)want);
            }
            json_decref(row);
        }
        free(xml);
        plist_free(payload);
        plist_free(root);
        g_bytes_unref(b);
        char *rm[] = {"rm", "-rf", tmp, NULL};
        g_spawn_sync(NULL, rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    }
    /* Ten days ahead and a day past are never near a boundary. */
    CU_ASSERT_TRUE(g_hash_table_contains(seen, "initial"));
    CU_ASSERT_TRUE(g_hash_table_contains(seen, "elapsed"));
    g_hash_table_unref(seen);
}

void nudge_config_suite(void)
{
    ORCHARD_ADD_SUITE("nudge_config", NULL, NULL, {"json_key_by_key", test_json_key_by_key},
                      {"json_off", test_json_off}, {"profile_round_trip", test_profile_round_trip},
                      {"profile_deterministic", test_profile_deterministic},
                      {"profile_escapes", test_profile_escapes},
                      {"agent_reads_payload", test_agent_reads_payload});
}
