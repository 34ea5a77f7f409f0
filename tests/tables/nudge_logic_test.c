/* Nudge's rules: version order, deadlines in UTC and local time, which
 * requirement applies, phases and refresh windows, dismissal. */
#include "tables/nudge_logic.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib.h>

static int cmp_of(const char *a, const char *b)
{
    int c = 99;
    return nudge_version_compare(a, b, &c) == 0 ? c : 99;
}

static void test_nudge_logic__versions(void)
{
    CU_ASSERT_EQUAL(cmp_of("13.4", "13.4.1"), -1);
    CU_ASSERT_EQUAL(cmp_of("11.6", "11.6.0"), 0);
    CU_ASSERT_EQUAL(cmp_of("14", "14.0"), 0);
    CU_ASSERT_EQUAL(cmp_of("13.10", "13.9"), 1);      /* numeric, not text */
    CU_ASSERT_EQUAL(cmp_of("13.4.1 (a)", "13.4.1"), 0); /* RSR suffix ignored */
    CU_ASSERT_EQUAL(cmp_of("13.4.1 (c)", "13.5"), -1);
    CU_ASSERT_EQUAL(cmp_of("14.1", "13.6.2"), 1);
    static const char *bad[] = {"", "abc", "13..4", ".13", "13.", "13.4x", "1234567.0", NULL};
    for (int i = 0; bad[i]; i++) {
        int c;
        CU_ASSERT_EQUAL(nudge_version_compare(bad[i], "13.0", &c), -1);
    }
    int c;
    CU_ASSERT_EQUAL(nudge_version_compare(NULL, "13.0", &c), -1);
}

static void test_nudge_logic__dates(void)
{
    gint64 t = 0;
    CU_ASSERT_EQUAL(nudge_parse_date("2024-01-15T20:00:00Z", NULL, &t), 0);
    CU_ASSERT_EQUAL(t, 1705348800);
    CU_ASSERT_EQUAL(nudge_parse_date("2024-01-15T22:00:00+02:00", NULL, &t), 0);
    CU_ASSERT_EQUAL(t, 1705348800);
    /* no zone: local time of the zone given */
    g_autoptr(GTimeZone) tz = g_time_zone_new_identifier("America/New_York");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tz);
    CU_ASSERT_EQUAL(nudge_parse_date("2024-01-15T15:00:00", tz, &t), 0);
    CU_ASSERT_EQUAL(t, 1705348800);
    static const char *bad[] = {"2024-01-15", "15/01/2024 20:00", "2024-13-01T00:00:00Z",
                                "2024-01-15 20:00:00Z", "tomorrow", "", NULL};
    for (int i = 0; bad[i]; i++)
        CU_ASSERT_EQUAL(nudge_parse_date(bad[i], NULL, &t), -1);
    CU_ASSERT_EQUAL(nudge_parse_date(NULL, NULL, &t), -1);
}

static void test_nudge_logic__pick_requirement(void)
{
    json_t *reqs = json_loads(
        "[{\"requiredMinimumOSVersion\":\"12.7\"},"
        " {\"requiredMinimumOSVersion\":\"13.6\",\"targetedOSVersionsRule\":\"13\"},"
        " {\"requiredMinimumOSVersion\":\"13.5.2\",\"targetedOSVersionsRule\":\"13.5.1\"},"
        " {\"requiredMinimumOSVersion\":\"14.1\",\"targetedOSVersionsRule\":\"default\"}]",
        0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(reqs);
    const char *want[][2] = {{"13.5.1", "13.5.2"},    /* exact beats major */
                             {"13.5.1 (a)", "13.5.2"},
                             {"13.4", "13.6"},        /* major */
                             {"14.0", "12.7"},        /* first default/absent */
                             {"garbage", "12.7"}};
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        json_t *r = nudge_pick_requirement(reqs, want[i][0]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "requiredMinimumOSVersion")),
                               want[i][1]);
    }
    CU_ASSERT_PTR_NULL(nudge_pick_requirement(NULL, "13.0"));
    json_t *only_targeted = json_loads("[{\"targetedOSVersionsRule\":\"12\"}, 5, \"x\"]", 0, NULL);
    CU_ASSERT_PTR_NULL(nudge_pick_requirement(only_targeted, "13.0"));
    json_decref(only_targeted);
    json_decref(reqs);
}

/* Fleet's configuration (docs/protocols.md §3) with Nudge's default windows:
 * once a day while more than a day is left, every two hours in the last
 * day, and not dismissible past the deadline. */
static void test_nudge_logic__fleet_promise(void)
{
    const gint64 refresh[] = {86400, 86400, 7200, 3600}; /* Fleet's userExperience */
    struct {
        gint64 s;
        nudge_phase phase;
        gint64 refresh;
        int dismissible;
    } cases[] = {
        {10 * 86400, NUDGE_PHASE_INITIAL, 86400, 1},
        {72 * 3600, NUDGE_PHASE_APPROACHING, 86400, 1},
        {24 * 3600 + 1, NUDGE_PHASE_APPROACHING, 86400, 1},
        {24 * 3600, NUDGE_PHASE_IMMINENT, 7200, 1},
        {60, NUDGE_PHASE_IMMINENT, 7200, 1},
        {0, NUDGE_PHASE_ELAPSED, 3600, 0},
        {-86400, NUDGE_PHASE_ELAPSED, 3600, 0},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        nudge_phase p = nudge_phase_for(cases[i].s, NUDGE_DEFAULT_APPROACHING_WINDOW,
                                        NUDGE_DEFAULT_IMMINENT_WINDOW);
        CU_ASSERT_EQUAL(p, cases[i].phase);
        CU_ASSERT_EQUAL(refresh[p], cases[i].refresh);
        CU_ASSERT_EQUAL(nudge_dismissible(cases[i].s, 0, NUDGE_DEFAULT_ALLOWED_DEFERRALS),
                        cases[i].dismissible);
    }
    CU_ASSERT_STRING_EQUAL(nudge_phase_name(NUDGE_PHASE_IMMINENT), "imminent");
    /* too many deferrals: not dismissible even with time left */
    CU_ASSERT_EQUAL(nudge_dismissible(86400, 6, 5), 0);
    CU_ASSERT_EQUAL(nudge_dismissible(86400, 5, 5), 1);
}

static void test_nudge_logic__days_remaining(void)
{
    g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
    /* 23:00 today to 01:00 tomorrow: one calendar day, though two hours */
    gint64 now = 1705359600;      /* 2024-01-15T23:00:00Z */
    CU_ASSERT_EQUAL(nudge_days_remaining(now, now + 7200, utc), 1);
    CU_ASSERT_EQUAL(nudge_days_remaining(now, now + 3000, utc), 0);
    CU_ASSERT_EQUAL(nudge_days_remaining(now, now - 86400, utc), -1);
    CU_ASSERT_EQUAL(nudge_days_remaining(now, now + 30 * 86400, utc), 30);
}

void nudge_logic_suite(void)
{
    ORCHARD_ADD_SUITE("nudge_logic", NULL, NULL,
                      {"versions", test_nudge_logic__versions},
                      {"dates", test_nudge_logic__dates},
                      {"pick_requirement", test_nudge_logic__pick_requirement},
                      {"fleet_promise", test_nudge_logic__fleet_promise},
                      {"days_remaining", test_nudge_logic__days_remaining});
}
