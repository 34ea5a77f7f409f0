/* teams: the teams flow (server_plugin/teams/teams.c over store_teams.c) on
 * a fresh store per case: names checked and unique without regard to case,
 * get/find/list with host counts and settings, rename, transfer (an unknown
 * host moves nobody), delete (hosts to no team, the team's profiles and
 * setting gone), the desired-state marker and the activities; the teams
 * table. */
#include "server_plugin/server.h"
#include "server_plugin/store/store_teams.h"
#include "server_plugin/teams/teams.h"
#include "server_plugin/updates/updates.h"
#include "host/query/context.h"
#include "host/query/rows.h"
#include "tests/server/updates_fixture.h"
#include "tests/suites.h"

#include "teams.gen.h"

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <string.h>

#define H1 "0000AAAA-0000-0000-0000-000000000001"
#define H2 "0000AAAA-0000-0000-0000-000000000002"
#define H3 "0000AAAA-0000-0000-0000-000000000003"

static gint64 make_team(const char *name)
{
    gint64 id = 0;
    g_autofree char *reason = NULL;
    CU_ASSERT_EQUAL(orchard_teams_create(NULL, name, NULL, "admin@example.com", &id, &reason), 0);
    CU_ASSERT_TRUE(id > 0);
    return id;
}

static void test_name_rules(void)
{
    CU_ASSERT_PTR_NULL(orchard_team_name_problem("Engineering"));
    CU_ASSERT_PTR_NULL(orchard_team_name_problem("Ingénierie – Café"));
    CU_ASSERT_STRING_EQUAL(orchard_team_name_problem(""), "name may not be empty");
    CU_ASSERT_STRING_EQUAL(orchard_team_name_problem(NULL), "name may not be empty");
    CU_ASSERT_STRING_EQUAL(orchard_team_name_problem("   "), "name may not be empty");
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_team_name_problem("a\nb"), "control"));
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_team_name_problem("a\x7f"), "control"));
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_team_name_problem("a\xe2\x80\xa8" "b"), "control"));
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_team_name_problem("\xff\xfe"), "UTF-8"));
    /* 255 characters (of two bytes each) pass; 256 do not. */
    GString *s = g_string_new(NULL);
    for (int i = 0; i < 255; i++)
        g_string_append(s, "é");
    CU_ASSERT_PTR_NULL(orchard_team_name_problem(s->str));
    g_string_append(s, "x");
    CU_ASSERT_PTR_NOT_NULL(strstr(orchard_team_name_problem(s->str), "255"));
    g_string_free(s, TRUE);
}

static void test_create_get_find_list(void)
{
    if (updfx_open())
        return;
    g_autofree char *reason = NULL;
    gint64 id = 0, found = 0;
    CU_ASSERT_EQUAL(orchard_teams_create(NULL, "Zeta", "the last", "admin@example.com", &id,
                                         &reason), 0);
    gint64 a = make_team("alpha");
    CU_ASSERT_NOT_EQUAL(id, a);
    /* Taken whatever the ASCII case. */
    gint64 dup = 0;
    CU_ASSERT_EQUAL(orchard_teams_create(NULL, "ZETA", NULL, NULL, &dup, &reason),
                    ORCHARD_EEXIST);
    CU_ASSERT_PTR_NOT_NULL(reason && strstr(reason, "already exists"));
    g_clear_pointer(&reason, g_free);
    CU_ASSERT_EQUAL(orchard_teams_create(NULL, "bad\tname", NULL, NULL, &dup, &reason),
                    ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(reason);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM teams", NULL), 2);

    g_autoptr(orchard_team) t = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_teams_get(id, &t), 0);
    CU_ASSERT_STRING_EQUAL(t->name, "Zeta");
    CU_ASSERT_STRING_EQUAL(t->description, "the last");
    CU_ASSERT_EQUAL(t->host_count, 0);
    CU_ASSERT_PTR_NULL(t->minimum_version);
    CU_ASSERT_TRUE(t->created_at > 0);
    orchard_team *none = NULL;
    CU_ASSERT_EQUAL(orchard_teams_get(9999, &none), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_teams_get(0, &none), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_teams_find("zeta", &found), 0);
    CU_ASSERT_EQUAL(found, id);
    CU_ASSERT_EQUAL(orchard_teams_find("nobody", &found), ORCHARD_ENOTFOUND);

    g_autoptr(GPtrArray) list = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_teams_list(&list), 0);
    CU_ASSERT_EQUAL_FATAL(list->len, 2);
    /* By name, bytewise: upper case first. */
    CU_ASSERT_STRING_EQUAL(((orchard_team *)list->pdata[0])->name, "Zeta");
    CU_ASSERT_STRING_EQUAL(((orchard_team *)list->pdata[1])->name, "alpha");
    CU_ASSERT_EQUAL(updfx_activities("created_team"), 2);
    g_autofree char *details = updfx_activity_details("created_team");
    CU_ASSERT_PTR_NOT_NULL(details && strstr(details, "\"team_name\":\"alpha\""));
    (void)a;
    updfx_close();
}

static void test_update(void)
{
    if (updfx_open())
        return;
    gint64 a = make_team("alpha"), b = make_team("beta");
    g_autofree char *reason = NULL;
    CU_ASSERT_EQUAL(orchard_teams_update(NULL, a, "Beta", NULL, NULL, &reason), ORCHARD_EEXIST);
    g_clear_pointer(&reason, g_free);
    CU_ASSERT_EQUAL(orchard_teams_update(NULL, a, "", NULL, NULL, &reason), ORCHARD_EINVAL);
    g_clear_pointer(&reason, g_free);
    CU_ASSERT_EQUAL(orchard_teams_update(NULL, 777, "x", NULL, NULL, &reason), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(updfx_activities("edited_team"), 0);
    /* Its own name in another case is no conflict. */
    CU_ASSERT_EQUAL(orchard_teams_update(NULL, a, "Alpha", "first team", "a@example.com",
                                         &reason), 0);
    g_autoptr(orchard_team) t = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_teams_get(a, &t), 0);
    CU_ASSERT_STRING_EQUAL(t->name, "Alpha");
    CU_ASSERT_STRING_EQUAL(t->description, "first team");
    CU_ASSERT_EQUAL(updfx_activities("edited_team"), 1);
    g_autofree char *d1 = updfx_activity_details("edited_team");
    CU_ASSERT_PTR_NOT_NULL(d1 && strstr(d1, "\"previous_name\":\"alpha\""));
    /* A description alone: recorded, without a previous name. */
    CU_ASSERT_EQUAL(orchard_teams_update(NULL, b, NULL, "second", NULL, &reason), 0);
    CU_ASSERT_EQUAL(updfx_activities("edited_team"), 2);
    g_autofree char *d2 = updfx_activity_details("edited_team");
    CU_ASSERT_PTR_NOT_NULL(d2 && strstr(d2, "\"description\":\"second\""));
    CU_ASSERT_PTR_NULL(d2 ? strstr(d2, "previous_name") : "x");
    /* Nothing changed: nothing recorded. */
    CU_ASSERT_EQUAL(orchard_teams_update(NULL, b, "beta", "second", NULL, &reason), 0);
    CU_ASSERT_EQUAL(updfx_activities("edited_team"), 2);
    updfx_close();
}

static void test_transfer(void)
{
    if (updfx_open())
        return;
    gint64 a = make_team("alpha");
    updfx_host(H1, "14.4", 1);
    updfx_host(H2, "13.6", 1);
    updfx_host(H3, "13.6", 0);
    g_autofree char *m0 = updfx_marker();
    g_autofree char *bad = NULL;
    const char *both[] = {H1, H2};
    const char *with_unknown[] = {H1, "NOPE-NOT-A-HOST"};
    /* An unknown host: named, nobody moved, marker untouched. */
    CU_ASSERT_EQUAL(orchard_teams_transfer(NULL, a, with_unknown, 2, NULL, &bad),
                    ORCHARD_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(bad, "NOPE-NOT-A-HOST");
    CU_ASSERT_EQUAL(updfx_int("SELECT team_id FROM mdm_enrollments WHERE udid = ?", H1), 0);
    g_autofree char *m1 = updfx_marker();
    CU_ASSERT_STRING_EQUAL(m0, m1);
    g_clear_pointer(&bad, g_free);
    /* An unknown team. */
    CU_ASSERT_EQUAL(orchard_teams_transfer(NULL, 4242, both, 2, NULL, &bad), ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NULL(bad);
    CU_ASSERT_EQUAL(orchard_teams_transfer(NULL, -1, both, 2, NULL, &bad), ORCHARD_ENOTFOUND);
    /* Both move; the marker changes; host_count counts enabled hosts. */
    CU_ASSERT_EQUAL(orchard_teams_transfer(NULL, a, both, 2, "m@example.com", &bad), 0);
    g_autofree char *t1 = updfx_text("SELECT team_id FROM mdm_enrollments WHERE udid = ?", H2);
    CU_ASSERT_EQUAL(g_ascii_strtoll(t1, NULL, 10), a);
    g_autofree char *m2 = updfx_marker();
    CU_ASSERT_STRING_NOT_EQUAL(m1, m2);
    g_autoptr(orchard_team) t = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_teams_get(a, &t), 0);
    CU_ASSERT_EQUAL(t->host_count, 2);
    const char *off[] = {H3};
    CU_ASSERT_EQUAL(orchard_teams_transfer(NULL, a, off, 1, NULL, &bad), 0);
    g_clear_pointer(&t, orchard_team_free);
    CU_ASSERT_EQUAL_FATAL(orchard_teams_get(a, &t), 0);
    CU_ASSERT_EQUAL(t->host_count, 2);
    CU_ASSERT_EQUAL(updfx_activities("transferred_hosts"), 2);
    g_autofree char *d = updfx_activity_details("transferred_hosts");
    json_t *j = json_loads(d, 0, NULL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "team_id")), a);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "team_name")), "alpha");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "host_udids")), 1);
    json_decref(j);
    /* Back to no team: team_id null in the activity. */
    CU_ASSERT_EQUAL(orchard_teams_transfer(NULL, 0, both, 2, NULL, &bad), 0);
    CU_ASSERT_EQUAL(updfx_int("SELECT team_id FROM mdm_enrollments WHERE udid = ?", H1), 0);
    g_autofree char *d2 = updfx_activity_details("transferred_hosts");
    CU_ASSERT_PTR_NOT_NULL(d2 && strstr(d2, "\"team_id\":null"));
    updfx_close();
}

static void test_delete(void)
{
    if (updfx_open())
        return;
    gint64 a = make_team("alpha"), b = make_team("beta");
    updfx_host(H1, "13.6", 1);
    updfx_host(H2, "13.6", 1);
    g_autofree char *bad = NULL, *reason = NULL;
    const char *one[] = {H1}, *two[] = {H2};
    const char *field = NULL;
    CU_ASSERT_EQUAL(orchard_teams_transfer(NULL, a, one, 1, NULL, &bad), 0);
    CU_ASSERT_EQUAL(orchard_teams_transfer(NULL, b, two, 1, NULL, &bad), 0);
    CU_ASSERT_EQUAL(orchard_macos_updates_set(NULL, a, "14.4", "2030-01-31", NULL, &field,
                                              &reason), 0);
    CU_ASSERT_EQUAL(orchard_macos_updates_set(NULL, b, "14.4", "2030-01-31", NULL, &field,
                                              &reason), 0);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM mdm_profiles", NULL), 2);
    g_autofree char *m0 = updfx_marker();
    CU_ASSERT_EQUAL(orchard_teams_delete(NULL, a, "admin@example.com"), 0);
    g_autofree char *m1 = updfx_marker();
    CU_ASSERT_STRING_NOT_EQUAL(m0, m1);
    CU_ASSERT_EQUAL(updfx_int("SELECT team_id FROM mdm_enrollments WHERE udid = ?", H1), 0);
    g_autofree char *tb = updfx_text("SELECT team_id FROM mdm_enrollments WHERE udid = ?", H2);
    CU_ASSERT_EQUAL(g_ascii_strtoll(tb, NULL, 10), b);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM mdm_profiles", NULL), 1);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM macos_update_settings", NULL), 1);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM teams", NULL), 1);
    CU_ASSERT_EQUAL(updfx_activities("deleted_team"), 1);
    g_autofree char *d = updfx_activity_details("deleted_team");
    CU_ASSERT_PTR_NOT_NULL(d && strstr(d, "\"team_name\":\"alpha\""));
    CU_ASSERT_EQUAL(orchard_teams_delete(NULL, a, NULL), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_teams_delete(NULL, 0, NULL), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(updfx_activities("deleted_team"), 1);
    updfx_close();
}

static void test_table(void)
{
    if (updfx_open())
        return;
    gint64 a = make_team("alpha");
    make_team("beta");
    updfx_host(H1, "13.6", 1);
    g_autofree char *bad = NULL, *reason = NULL;
    const char *one[] = {H1};
    const char *field = NULL;
    CU_ASSERT_EQUAL(orchard_teams_transfer(NULL, a, one, 1, NULL, &bad), 0);
    CU_ASSERT_EQUAL(orchard_macos_updates_set(NULL, a, "14.4", "2030-01-31", NULL, &field,
                                              &reason), 0);
    orchard_query_ctx *q = orchard_query_ctx_new();
    orchard_rows *rows = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_table_generate(&orchard_table_teams, q, &rows), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_rows_count(rows), 2);
    const char *const *v = orchard_rows_get(rows, 0);
    CU_ASSERT_STRING_EQUAL(v[TEAMS_COL_NAME], "alpha");
    CU_ASSERT_STRING_EQUAL(v[TEAMS_COL_HOST_COUNT], "1");
    CU_ASSERT_STRING_EQUAL(v[TEAMS_COL_PROFILE_COUNT], "0"); /* Nudge's row is not custom */
    CU_ASSERT_STRING_EQUAL(v[TEAMS_COL_MINIMUM_VERSION], "14.4");
    CU_ASSERT_STRING_EQUAL(v[TEAMS_COL_DEADLINE], "2030-01-31");
    CU_ASSERT_TRUE(g_str_has_suffix(v[TEAMS_COL_CREATED_AT], "Z"));
    v = orchard_rows_get(rows, 1);
    CU_ASSERT_STRING_EQUAL(v[TEAMS_COL_NAME], "beta");
    CU_ASSERT_PTR_NULL(v[TEAMS_COL_MINIMUM_VERSION]);
    orchard_rows_free(rows);
    orchard_query_ctx_free(q);
    updfx_close();
}

void teams_suite(void)
{
    ORCHARD_ADD_SUITE("teams", NULL, NULL, {"name_rules", test_name_rules},
                      {"create_get_find_list", test_create_get_find_list},
                      {"update", test_update}, {"transfer", test_transfer},
                      {"delete", test_delete}, {"table", test_table});
}
