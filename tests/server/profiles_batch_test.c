/* profiles_batch: POST .../mdm/apple/profiles/batch (a team's whole list,
 * all or nothing: add, replace, delete, name swaps, every refusal with
 * nothing changed) and GET .../profiles/summary (hosts of a team by the
 * worst state of their mdm_host_profiles rows), served for real
 * (profiles_api_fixture.h). */
#include "server_plugin/store/store_users.h"
#include "server_plugin/updates/updates.h"
#include "tests/server/profile_fixture.h"
#include "tests/server/profiles_api_fixture.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <string.h>

/* POST .../batch`query` with {"profiles": [base64 of each text]}. */
static void batch_post(paf_answer *a, const char *query, const char *const *texts, size_t n)
{
    g_autoptr(GString) body = g_string_new("{\"profiles\": [");
    for (size_t i = 0; i < n; i++) {
        g_autofree char *b64 = g_base64_encode((const guchar *)texts[i], strlen(texts[i]));
        g_string_append_printf(body, "%s\"%s\"", i ? ", " : "", b64);
    }
    g_string_append(body, "]}");
    g_autofree char *path = g_strconcat(PROFILES "/batch", query, NULL);
    paf_call(a, "POST", path, TOKEN_MAINTAINER, "application/json", body->str, body->len);
}

static void batch_ok(const char *query, const char *const *texts, size_t n)
{
    paf_answer a;
    batch_post(&a, query, texts, n);
    if (a.status != 204)
        fprintf(stderr, "\n  batch refused: %ld %s\n", a.status, a.body);
    CU_ASSERT_EQUAL(a.status, 204);
    paf_answer_clear(&a);
}

static void batch_refused(const char *query, const char *const *texts, size_t n, long status,
                          const char *want)
{
    paf_answer a;
    batch_post(&a, query, texts, n);
    paf_expect_error(&a, status, want);
    paf_answer_clear(&a);
}

static gint by_text(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

/* The identifiers of team 2's list, sorted and joined by ",". */
static char *team2_ids(void)
{
    json_t *arr = paf_list("?team_id=2");
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
    CU_ASSERT_FATAL(paf_store_ok);
    g_autofree char *a1 = pfx_profile_full("com.example.ba", "BA", PFX_UUID, NULL);
    g_autofree char *b1 = pfx_profile_full("com.example.bb", "BB", PFX_UUID, NULL);
    const char *first[] = {a1, b1};
    batch_ok("?team_id=2", first, 2);
    /* Exactly the listed ones: team 2's earlier upload is gone. */
    g_autofree char *ids = team2_ids();
    CU_ASSERT_STRING_EQUAL(ids, "com.example.ba,com.example.bb");
    json_t *arr = paf_list("?team_id=2");
    gint64 a_id = json_integer_value(json_object_get(paf_find(arr, "com.example.ba"), "profile_id"));
    g_autofree char *a_sum = g_strdup(
        json_string_value(json_object_get(paf_find(arr, "com.example.ba"), "checksum")));
    json_decref(arr);

    /* A changed, B dropped, C new: one pass of activities. */
    g_autofree char *a2 = pfx_profile_full("com.example.ba", "BA", PFX_UUID, "v2");
    g_autofree char *c1 = pfx_profile_full("com.example.bc", "BC", PFX_UUID, NULL);
    const char *second[] = {a2, c1};
    g_autofree char *m0 = paf_marker();
    batch_ok("?team_name=Sales", second, 2);
    g_autofree char *m1 = paf_marker();
    CU_ASSERT_STRING_NOT_EQUAL(m0, m1);
    g_free(ids);
    ids = team2_ids();
    CU_ASSERT_STRING_EQUAL(ids, "com.example.ba,com.example.bc");
    arr = paf_list("?team_id=2");
    json_t *a_now = paf_find(arr, "com.example.ba");
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
    g_autofree char *m2 = paf_marker();
    CU_ASSERT_STRING_EQUAL(m1, m2);

    /* A dry run checks and changes nothing. */
    const char *changed[] = {a1, b1};
    batch_ok("?team_id=2&dry_run=true", changed, 2);
    g_free(ids);
    ids = team2_ids();
    CU_ASSERT_STRING_EQUAL(ids, "com.example.ba,com.example.bc");
    g_autofree char *m_dry = paf_marker();
    CU_ASSERT_STRING_EQUAL(m1, m_dry);
    const char *dry_bad[] = {a1, "not a plist"};
    batch_refused("?team_id=2&dry_run=true", dry_bad, 2, 400, "Profile 2: The file should");
    batch_refused("?team_id=99&dry_run=true", changed, 2, 404, "no team with id 99");
    const char *dry_dup[] = {a1, a1};
    batch_refused("?team_id=2&dry_run=true", dry_dup, 2, 400, "same PayloadIdentifier");
    batch_refused("?team_id=2&dry_run=yes", changed, 2, 400, "dry_run must be true or false");
    batch_ok("?team_id=2&dry_run=false", second, 2);

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
    g_autofree char *m3 = paf_marker();
    CU_ASSERT_STRING_EQUAL(m1, m3);

    /* Two profiles swap names in one batch. */
    g_autofree char *a3 = pfx_profile_full("com.example.ba", "BC", PFX_UUID, NULL);
    g_autofree char *c2 = pfx_profile_full("com.example.bc", "BA", PFX_UUID, NULL);
    const char *swapped[] = {a3, c2};
    batch_ok("?team_id=2", swapped, 2);
    arr = paf_list("?team_id=2");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(paf_find(arr, "com.example.ba"), "name")),
                           "BC");
    json_decref(arr);

    /* orchard's own profile's name is not the batch's. */
    CU_ASSERT_EQUAL_FATAL(
        paf_sql("INSERT INTO mdm_profiles (team_id, kind, identifier, name, payload_uuid, content, "
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
    paf_answer a;
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
        paf_call(&a, "POST", PROFILES "/batch?team_id=2", TOKEN_MAINTAINER, "application/json",
             reqs[i].body, strlen(reqs[i].body));
        paf_expect_error(&a, 400, reqs[i].want);
        paf_answer_clear(&a);
    }
    paf_call(&a, "POST", PROFILES "/batch?team_id=2", TOKEN_MAINTAINER, "application/json", "", 0);
    paf_expect_error(&a, 400, "needs a JSON body");
    paf_answer_clear(&a);
    g_free(ids);
    ids = team2_ids();
    CU_ASSERT_STRING_EQUAL(ids, "com.example.ba,com.example.bc");

    /* An empty list removes every custom profile, and leaves orchard's own. */
    batch_ok("?team_id=2", NULL, 0);
    g_free(ids);
    ids = team2_ids();
    CU_ASSERT_STRING_EQUAL(ids, "");
    CU_ASSERT_EQUAL(paf_sql("DELETE FROM mdm_profiles WHERE kind = 'nudge' AND team_id = 2", NULL,
                        0), 0);
}

static void test_summary(void)
{
    CU_ASSERT_FATAL(paf_store_ok);
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
        CU_ASSERT_EQUAL_FATAL(paf_host_profile(rows[i].udid, rows[i].identifier, rows[i].op,
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
        paf_answer a;
        g_autofree char *path = g_strconcat(PROFILES "/summary", want[i].query, NULL);
        paf_get(&a, path, TOKEN_OBSERVER);
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
        paf_answer_clear(&a);
    }
    paf_answer a;
    paf_get(&a, PROFILES "/summary?team_id=abc", TOKEN_OBSERVER);
    paf_expect_error(&a, 400, "team_id must be");
    paf_answer_clear(&a);
    paf_get(&a, PROFILES "/summary?team_id=77", TOKEN_OBSERVER);
    paf_expect_error(&a, 404, "no team with id 77");
    paf_answer_clear(&a);
    paf_get(&a, PROFILES "/summary", NULL);
    CU_ASSERT_EQUAL(a.status, 401);
    paf_answer_clear(&a);
    CU_ASSERT_EQUAL(paf_sql("DELETE FROM mdm_host_profiles", NULL, 0), 0);
}

void profiles_batch_suite(void)
{
    ORCHARD_ADD_SUITE("profiles_batch", paf_init, paf_cleanup,
                      {"batch: exact set, replace, all or nothing, swaps, refusals",
                       test_batch},
                      {"summary: hosts by their worst state per team", test_summary});
}
