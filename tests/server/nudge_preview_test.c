/* nudge_preview: the macOS updates page's day of Nudge (updates/nudge_preview.c)
 * over the configuration orchard sends: the phases and opening times a week
 * before the deadline, the day the approaching window starts, the eve, the
 * deadline day and after; day and year boundaries; bad days and
 * configurations; agreement with the macos_updates table's phases; the
 * page's JSON with its labels and sentences' parts. */
#include "tests/suites.h"

#include "server_plugin/server.h"
#include "server_plugin/updates/updates.h"
#include "server_plugin/updates/updates_priv.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <string.h>

#define DEADLINE "2026-12-20" /* 20:00 UTC */

/* The day under orchard's configuration for DEADLINE; asserts it parses. */
static void day_of(const char *day, orchard_nudge_day *d)
{
    json_t *config = orchard_nudge_config_json("14.4", DEADLINE);
    CU_ASSERT_EQUAL_FATAL(orchard_nudge_preview_day(config, day, d), 0);
    json_decref(config);
}

/* The opening minutes as "HH:MM,HH:MM" (g_free). */
static char *opens_text(const orchard_nudge_day *d)
{
    GString *s = g_string_new(NULL);
    for (int i = 0; i < d->n_opens; i++)
        g_string_append_printf(s, "%s%02d:%02d", i ? "," : "", d->opens[i] / 60,
                               d->opens[i] % 60);
    return g_string_free(s, FALSE);
}

/* Hours [from, to) all in phase p with cycle c. */
static void phases(const orchard_nudge_day *d, int from, int to, nudge_phase p, gint64 c)
{
    for (int h = from; h < to; h++) {
        if (d->phase[h] != p || d->cycle[h] != c)
            fprintf(stderr, "\n  hour %d: phase %s cycle %" G_GINT64_FORMAT ", wanted %s %"
                    G_GINT64_FORMAT "\n", h, nudge_phase_name(d->phase[h]), d->cycle[h],
                    nudge_phase_name(p), c);
        CU_ASSERT_EQUAL(d->phase[h], p);
        CU_ASSERT_EQUAL(d->cycle[h], c);
    }
}

static void test_nudge_preview__week_away(void)
{
    orchard_nudge_day d;
    day_of("2026-12-13", &d);
    phases(&d, 0, 24, NUDGE_PHASE_INITIAL, 86400);
    g_autofree char *o = opens_text(&d);
    CU_ASSERT_STRING_EQUAL(o, "00:00");
    for (int h = 0; h < 24; h++)
        CU_ASSERT_TRUE(d.dismissible[h]);
    /* 72 hours before: the approaching window starts at 20:00, and with
     * the same daily cycle the window still opens once. */
    day_of("2026-12-17", &d);
    phases(&d, 0, 20, NUDGE_PHASE_INITIAL, 86400);
    phases(&d, 20, 24, NUDGE_PHASE_APPROACHING, 86400);
    g_autofree char *o2 = opens_text(&d);
    CU_ASSERT_STRING_EQUAL(o2, "00:00");
}

static void test_nudge_preview__eve(void)
{
    orchard_nudge_day d;
    day_of("2026-12-19", &d);
    phases(&d, 0, 20, NUDGE_PHASE_APPROACHING, 86400);
    phases(&d, 20, 24, NUDGE_PHASE_IMMINENT, 7200);
    /* Once a day, then every 2 hours from the imminent window's start. */
    g_autofree char *o = opens_text(&d);
    CU_ASSERT_STRING_EQUAL(o, "00:00,20:00,22:00");
    for (int h = 0; h < 24; h++)
        CU_ASSERT_TRUE(d.dismissible[h]);
}

static void test_nudge_preview__deadline_day(void)
{
    orchard_nudge_day d;
    day_of(DEADLINE, &d);
    phases(&d, 0, 20, NUDGE_PHASE_IMMINENT, 7200);
    phases(&d, 20, 24, NUDGE_PHASE_ELAPSED, 3600);
    g_autofree char *o = opens_text(&d);
    CU_ASSERT_STRING_EQUAL(o, "00:00,02:00,04:00,06:00,08:00,10:00,12:00,14:00,16:00,18:00,"
                              "20:00,21:00,22:00,23:00");
    CU_ASSERT_TRUE(d.dismissible[19]);
    CU_ASSERT_FALSE(d.dismissible[20]);
    CU_ASSERT_FALSE(d.dismissible[23]);
}

static void test_nudge_preview__after(void)
{
    orchard_nudge_day d;
    day_of("2026-12-21", &d);
    phases(&d, 0, 24, NUDGE_PHASE_ELAPSED, 3600);
    CU_ASSERT_EQUAL(d.n_opens, 24);
    for (int i = 0; i < d.n_opens; i++)
        CU_ASSERT_EQUAL(d.opens[i], i * 60);
    for (int h = 0; h < 24; h++)
        CU_ASSERT_FALSE(d.dismissible[h]);
    /* A year on, the same. */
    day_of("2027-12-21", &d);
    CU_ASSERT_EQUAL(d.n_opens, 24);
}

static void test_nudge_preview__boundaries(void)
{
    orchard_nudge_day d;
    /* A deadline on New Year's Day: its eve is in the year before. */
    json_t *config = orchard_nudge_config_json("15.1", "2027-01-01");
    CU_ASSERT_EQUAL(orchard_nudge_preview_day(config, "2026-12-31", &d), 0);
    phases(&d, 20, 24, NUDGE_PHASE_IMMINENT, 7200);
    g_autofree char *o = opens_text(&d);
    CU_ASSERT_STRING_EQUAL(o, "00:00,20:00,22:00");
    CU_ASSERT_EQUAL(orchard_nudge_preview_day(config, "2027-01-01", &d), 0);
    CU_ASSERT_EQUAL(d.start, 1798761600); /* 2027-01-01T00:00:00Z */
    CU_ASSERT_EQUAL(d.phase[0], NUDGE_PHASE_IMMINENT);
    json_decref(config);
    /* A leap day is a day; 29 February of another year is not. */
    config = orchard_nudge_config_json("15.1", "2028-02-29");
    CU_ASSERT_EQUAL(orchard_nudge_preview_day(config, "2028-02-29", &d), 0);
    CU_ASSERT_EQUAL(d.phase[19], NUDGE_PHASE_IMMINENT);
    CU_ASSERT_EQUAL(d.phase[20], NUDGE_PHASE_ELAPSED);
    CU_ASSERT_EQUAL(orchard_nudge_preview_day(config, "2027-02-29", &d), ORCHARD_EINVAL);
    json_decref(config);
}

static void test_nudge_preview__bad_input(void)
{
    orchard_nudge_day d;
    json_t *config = orchard_nudge_config_json("14.4", DEADLINE);
    static const char *const bad_days[] = {
        "", "2026-12-1", "2026-12-200", "2026/12/20", "2026-13-01", "2026-00-10",
        "2026-12-00", "2026-02-30", "0000-01-01", "20x6-12-20", "+026-12-20", "2026-12-2\n",
        "2026-12-20T00:00:00Z", "２０２６-12-20",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad_days); i++) {
        d.n_opens = 77;
        CU_ASSERT_EQUAL(orchard_nudge_preview_day(config, bad_days[i], &d), ORCHARD_EINVAL);
        CU_ASSERT_EQUAL(d.n_opens, 0); /* cleared, not half filled */
    }
    CU_ASSERT_EQUAL(orchard_nudge_preview_day(config, NULL, &d), ORCHARD_EINVAL);
    json_decref(config);
    /* Configurations with no deadline one can read. */
    static const char *const bad_configs[] = {
        "{}", "[]", "{\"osVersionRequirements\": []}",
        "{\"osVersionRequirements\": [{\"requiredInstallationDate\": 5}]}",
        "{\"osVersionRequirements\": [{\"requiredInstallationDate\": \"soon\"}]}",
        "{\"osVersionRequirements\": [{\"requiredInstallationDate\": \"2026-12-20\"}]}",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad_configs); i++) {
        json_t *c = json_loads(bad_configs[i], 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_EQUAL(orchard_nudge_preview_day(c, "2026-12-19", &d), ORCHARD_EINVAL);
        json_decref(c);
    }
    CU_ASSERT_EQUAL(orchard_nudge_preview_day(NULL, "2026-12-19", &d), ORCHARD_EINVAL);
}

/* Cycles left out of userExperience are Nudge's defaults (initial 5 h),
 * and windows a configuration sets are read. */
static void test_nudge_preview__nudge_defaults(void)
{
    orchard_nudge_day d;
    json_t *c = json_loads("{\"osVersionRequirements\": [{\"requiredInstallationDate\": "
                           "\"2026-12-20T20:00:00Z\"}], \"userExperience\": "
                           "{\"imminentWindowTime\": 48, \"imminentRefreshCycle\": -3}}",
                           0, NULL);
    CU_ASSERT_EQUAL(orchard_nudge_preview_day(c, "2026-12-10", &d), 0);
    g_autofree char *o = opens_text(&d);
    CU_ASSERT_STRING_EQUAL(o, "00:00,05:00,10:00,15:00,20:00");
    /* 48 hours of imminent window: the 18th at 20:00, at Nudge's 600 s
     * (a negative cycle is no cycle). */
    CU_ASSERT_EQUAL(orchard_nudge_preview_day(c, "2026-12-18", &d), 0);
    CU_ASSERT_EQUAL(d.phase[19], NUDGE_PHASE_APPROACHING);
    CU_ASSERT_EQUAL(d.phase[20], NUDGE_PHASE_IMMINENT);
    CU_ASSERT_EQUAL(d.cycle[20], NUDGE_DEFAULT_IMMINENT_REFRESH);
    json_decref(c);
}

/* The preview and the macos_updates table (orchard_macos_updates_phase) put
 * a Mac below the minimum in the same phase with the same cycle, hour by
 * hour, from a week before the deadline to a day after. */
static void test_nudge_preview__agrees_with_table(void)
{
    for (int day = 13; day <= 21; day++) {
        g_autofree char *date = g_strdup_printf("2026-12-%02d", day);
        orchard_nudge_day d;
        day_of(date, &d);
        for (int h = 0; h < 24; h++) {
            int compliant;
            gint64 refresh;
            const char *phase = orchard_macos_updates_phase("13.6", "14.4", DEADLINE,
                                                            d.start + h * 3600, &compliant,
                                                            &refresh);
            CU_ASSERT_STRING_EQUAL(phase ? phase : "(none)", nudge_phase_name(d.phase[h]));
            CU_ASSERT_EQUAL(refresh, d.cycle[h]);
            CU_ASSERT_EQUAL(compliant, 0);
        }
    }
}

/* The n-th day of a preview, and its segment i's member `key`. */
static json_t *day_n(json_t *p, size_t n)
{
    return json_array_get(json_object_get(p, "days"), n);
}

static json_t *seg(json_t *day, size_t i, const char *key)
{
    return json_object_get(json_array_get(json_object_get(day, "segments"), i), key);
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(none)";
}

static void test_nudge_preview__page_json(void)
{
    json_t *p = orchard_nudge_preview_json("14.4", DEADLINE, "2026-12-06");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(str(p, "deadline_at"), "2026-12-20 20:00 UTC");
    CU_ASSERT_TRUE(json_is_false(json_object_get(p, "past")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(p, "days")), 3);
    CU_ASSERT_STRING_EQUAL(str(day_n(p, 0), "label"), "Today");
    CU_ASSERT_STRING_EQUAL(str(day_n(p, 0), "date"), "2026-12-06");
    CU_ASSERT_TRUE(json_is_true(json_object_get(day_n(p, 0), "today")));
    CU_ASSERT_TRUE(json_is_true(seg(day_n(p, 0), 0, "once_a_day")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(day_n(p, 0), "segments")), 1);
    CU_ASSERT_STRING_EQUAL(str(day_n(p, 0), "opens"), "00:00");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(day_n(p, 0), "hours")), 24);
    /* The eve: once a day, then every 2 hours from 20:00. */
    json_t *eve = day_n(p, 1);
    CU_ASSERT_STRING_EQUAL(str(eve, "label"), "The day before the deadline");
    CU_ASSERT_STRING_EQUAL(str(eve, "date"), "2026-12-19");
    CU_ASSERT_STRING_EQUAL(str(eve, "opens"), "00:00, 20:00, 22:00");
    CU_ASSERT_EQUAL(json_integer_value(seg(eve, 1, "every_hours")), 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(seg(eve, 1, "from")), "20:00");
    CU_ASSERT_TRUE(json_is_false(seg(eve, 1, "first")));
    json_t *h20 = json_array_get(json_object_get(eve, "hours"), 20);
    CU_ASSERT_STRING_EQUAL(str(h20, "phase"), "imminent");
    CU_ASSERT_TRUE(json_is_true(json_object_get(h20, "opens")));
    CU_ASSERT_TRUE(json_is_false(json_object_get(
        json_array_get(json_object_get(eve, "hours"), 21), "opens")));
    /* The deadline day: every 2 hours, then every hour and locked at 20:00. */
    json_t *dd = day_n(p, 2);
    CU_ASSERT_STRING_EQUAL(str(dd, "label"), "The deadline day");
    CU_ASSERT_TRUE(json_is_true(seg(dd, 1, "hourly")));
    CU_ASSERT_TRUE(json_is_true(seg(dd, 1, "locked")));
    CU_ASSERT_TRUE(json_is_false(seg(dd, 0, "locked")));
    CU_ASSERT_STRING_EQUAL(json_string_value(seg(dd, 1, "from")), "20:00");
    json_decref(p);

    /* Today is the eve: two days, today's label says so. */
    p = orchard_nudge_preview_json("14.4", DEADLINE, "2026-12-19");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(p, "days")), 2);
    CU_ASSERT_STRING_EQUAL(str(day_n(p, 0), "label"), "Today, the day before the deadline");
    json_decref(p);
    p = orchard_nudge_preview_json("14.4", DEADLINE, DEADLINE);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(p, "days")), 1);
    CU_ASSERT_STRING_EQUAL(str(day_n(p, 0), "label"), "Today, the deadline day");
    CU_ASSERT_TRUE(json_is_false(json_object_get(p, "past")));
    json_decref(p);
    /* Past: today only, locked all day. */
    p = orchard_nudge_preview_json("14.4", DEADLINE, "2027-03-01");
    CU_ASSERT_TRUE(json_is_true(json_object_get(p, "past")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(p, "days")), 1);
    CU_ASSERT_TRUE(json_is_true(json_object_get(day_n(p, 0), "past")));
    CU_ASSERT_TRUE(json_is_true(seg(day_n(p, 0), 0, "locked")));
    CU_ASSERT_TRUE(json_is_true(seg(day_n(p, 0), 0, "hourly")));
    json_decref(p);
    /* The calendar's ends, and nothing to preview. */
    p = orchard_nudge_preview_json("14.4", "0001-01-01", "9999-12-31");
    CU_ASSERT_PTR_NOT_NULL(p);
    CU_ASSERT_TRUE(json_is_true(json_object_get(p, "past")));
    json_decref(p);
    p = orchard_nudge_preview_json("14.4", "9999-12-31", "0001-01-01");
    CU_ASSERT_PTR_NOT_NULL(p);
    json_decref(p);
    CU_ASSERT_PTR_NULL(orchard_nudge_preview_json(NULL, NULL, "2026-12-06"));
    CU_ASSERT_PTR_NULL(orchard_nudge_preview_json("14.4", DEADLINE, "today"));
    CU_ASSERT_PTR_NULL(orchard_nudge_preview_json("14.4", "2026-02-30", "2026-02-01"));
}

void nudge_preview_suite(void)
{
    ORCHARD_ADD_SUITE("nudge_preview", NULL, NULL, {"week_away", test_nudge_preview__week_away},
                      {"eve", test_nudge_preview__eve},
                      {"deadline_day", test_nudge_preview__deadline_day},
                      {"after", test_nudge_preview__after},
                      {"boundaries", test_nudge_preview__boundaries},
                      {"bad_input", test_nudge_preview__bad_input},
                      {"nudge_defaults", test_nudge_preview__nudge_defaults},
                      {"agrees_with_table", test_nudge_preview__agrees_with_table},
                      {"page_json", test_nudge_preview__page_json});
}
