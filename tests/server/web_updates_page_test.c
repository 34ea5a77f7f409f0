/* web_updates_page: /controls/macos-updates served for real (web_fixture.h):
 * admins and maintainers save through the form and the API reads the same
 * values back, with the activity; observers read only; Fleet's messages
 * beside their fields with 422; the cross-site check; hostile team ids and
 * form values; escaping; the preview and the count of Macs below the
 * minimum. Also the API's side of the shared save path: maintainers may
 * PATCH the setting and nothing else of a team. */
#include "tests/suites.h"

#include "tests/server/updates_fixture.h"
#include "tests/server/web_fixture.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <jansson.h>
#include <string.h>

#define API "/api/latest/fleet"
#define PAGE "/controls/macos-updates"
#define H1 "0000F00D-0000-0000-0000-000000000001"
#define H2 "0000F00D-0000-0000-0000-000000000002"
#define H3 "0000F00D-0000-0000-0000-000000000003"

static char *c_admin, *c_maint, *c_obs; /* session cookies */
static char *t_admin, *t_maint, *t_obs; /* API tokens */

static int suite_init(void)
{
    if (wfx_init())
        return 1;
    c_admin = wfx_signin_as("admin");
    c_maint = wfx_signin_as("maintainer");
    c_obs = wfx_signin_as("observer");
    t_admin = ufx_login(WFX_ADMIN, PW_ADMIN, NULL);
    t_maint = ufx_login(WFX_MAINT, PW_MAINT, NULL);
    t_obs = ufx_login(WFX_OBS, PW_OBS, NULL);
    if (!c_admin || !c_maint || !c_obs || !t_admin || !t_maint || !t_obs)
        return 1;
    /* No team: one Mac below 14.0, one at it, one whose version is unknown. */
    return updfx_host(H1, "13.6.1", 1) || updfx_host(H2, "14.4", 1) || updfx_host(H3, NULL, 1);
}

static int suite_cleanup(void)
{
    g_free(c_admin), g_free(c_maint), g_free(c_obs);
    g_free(t_admin), g_free(t_maint), g_free(t_obs);
    return wfx_cleanup();
}

/* A day relative to today, UTC, as YYYY-MM-DD (g_free). */
static char *day(int offset)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autoptr(GDateTime) d = g_date_time_add_days(now, offset);
    return g_date_time_format(d, "%Y-%m-%d");
}

/* A team made through the API: its id. */
static gint64 team(const char *name)
{
    http_response r;
    json_t *body = json_pack("{s:s}", "name", name);
    g_autofree char *text = json_dumps(body, 0);
    json_decref(body);
    ufx_post(API "/teams", text, t_admin, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    json_t *j = ufx_json(&r);
    gint64 id = json_integer_value(json_object_get(json_object_get(j, "team"), "id"));
    json_decref(j);
    http_response_clear(&r);
    CU_ASSERT_TRUE(id > 0);
    return id;
}

/* The setting as the API reads it: team 0 from GET /config, else GET
 * /teams/{id}; *min and *deadline "" when null (g_free). */
static void api_setting(gint64 team_id, char **min, char **deadline)
{
    http_response r;
    g_autofree char *path = team_id ? g_strdup_printf(API "/teams/%" G_GINT64_FORMAT, team_id)
                                    : g_strdup(API "/config");
    ufx_get(path, t_obs, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    json_t *j = ufx_json(&r);
    json_t *mdm = json_object_get(team_id ? json_object_get(j, "team") : j, "mdm");
    json_t *mu = json_object_get(mdm, "macos_updates");
    const char *m = json_string_value(json_object_get(mu, "minimum_version"));
    const char *d = json_string_value(json_object_get(mu, "deadline"));
    *min = g_strdup(m ? m : "");
    *deadline = g_strdup(d ? d : "");
    json_decref(j);
    http_response_clear(&r);
}

static void assert_setting(gint64 team_id, const char *min, const char *deadline)
{
    g_autofree char *m = NULL, *d = NULL;
    api_setting(team_id, &m, &d);
    if (strcmp(m, min) != 0 || strcmp(d, deadline) != 0)
        fprintf(stderr, "\n  team %" G_GINT64_FORMAT ": the API reads %s / %s, wanted %s / %s\n",
                team_id, m, d, min, deadline);
    CU_ASSERT_STRING_EQUAL(m, min);
    CU_ASSERT_STRING_EQUAL(d, deadline);
}

/* POST the form from this server; the status, and the Location in *where. */
static long save(const char *cookie, gint64 team_id, const char *min, const char *deadline,
                 http_response *r)
{
    g_autofree char *m = g_uri_escape_string(min, NULL, FALSE);
    g_autofree char *d = g_uri_escape_string(deadline, NULL, FALSE);
    g_autofree char *form = g_strdup_printf("team=%" G_GINT64_FORMAT
                                            "&minimum_version=%s&deadline=%s", team_id, m, d);
    wfx_post_form(PAGE, cookie, WFX_SAME_ORIGIN, form, r);
    return r->status;
}

/* The newest activity of `type` by `email` from GET /activities (json_decref), or NULL. */
static json_t *activity(const char *type, const char *email)
{
    http_response r;
    json_t *found = NULL, *a;
    size_t i;
    ufx_get(API "/activities?per_page=1000", t_admin, &r);
    json_t *j = ufx_json(&r);
    json_array_foreach(json_object_get(j, "activities"), i, a) {
        if (g_strcmp0(json_string_value(json_object_get(a, "type")), type) == 0 &&
            g_strcmp0(json_string_value(json_object_get(a, "actor_email")), email) == 0 &&
            (!found || json_integer_value(json_object_get(a, "id")) >
                           json_integer_value(json_object_get(found, "id"))))
            found = a;
    }
    json_incref(found);
    json_decref(j);
    http_response_clear(&r);
    return found;
}

static void test_web_updates_page__admin_saves(void)
{
    http_response r;
    g_autofree char *far = day(60);
    CU_ASSERT_EQUAL(save(c_admin, 0, "14.0", far, &r), 303);
    g_autofree char *where = wfx_header(&r, "Location");
    CU_ASSERT_STRING_EQUAL(where ? where : "", PAGE "?team=0&saved=1");
    http_response_clear(&r);
    assert_setting(0, "14.0", far);
    json_t *a = activity("edited_macos_min_version", WFX_ADMIN);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    json_t *details = json_object_get(a, "details");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(details, "minimum_version")), "14.0");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(details, "deadline")), far);
    CU_ASSERT_TRUE(json_is_null(json_object_get(details, "team_id")));
    json_decref(a);
    /* Where the redirect leads: the banner, the values, the preview, the count. */
    wfx_get(PAGE "?team=0&saved=1", c_admin, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(wfx_has(&r, "id=\"saved\""));
    CU_ASSERT_TRUE(wfx_has(&r, "value=\"14.0\""));
    g_autofree char *v = g_strdup_printf("value=\"%s\"", far);
    CU_ASSERT_TRUE(wfx_has(&r, v));
    g_autofree char *today = day(0);
    g_autofree char *words = g_strdup_printf("Today (%s)</strong> the window opens once a day.",
                                             today);
    CU_ASSERT_TRUE(wfx_has(&r, words));
    CU_ASSERT_TRUE(wfx_has(&r, "the window opens once a day, then every 2 hours from 20:00."));
    CU_ASSERT_TRUE(wfx_has(&r, "every 2 hours, then every hour from 20:00 and cannot be "
                               "closed."));
    CU_ASSERT_TRUE(wfx_has(&r, "<div class=\"hour initial opens\""));
    CU_ASSERT_TRUE(wfx_has(&r, "<div class=\"hour imminent opens\""));
    CU_ASSERT_TRUE(wfx_has(&r, "<div class=\"hour elapsed opens\""));
    CU_ASSERT_TRUE(wfx_has(&r, "id=\"macs-total\">3<"));
    CU_ASSERT_TRUE(wfx_has(&r, "id=\"macs-below\">1<"));
    CU_ASSERT_TRUE(wfx_has(&r, "id=\"macs-unknown\">1<"));
    CU_ASSERT_TRUE(wfx_has(&r, "href=\"/hosts\""));
    CU_ASSERT_TRUE(wfx_has(&r, "<h2>Macs in no team</h2>"));
    CU_ASSERT_TRUE(wfx_has(&r, "<button type=\"submit\" class=\"primary\">Save</button>"));
    http_response_clear(&r);
    /* Without ?saved, no banner. */
    wfx_get(PAGE, c_admin, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "id=\"saved\""));
    http_response_clear(&r);
}

static void test_web_updates_page__maintainer_saves_team(void)
{
    http_response r;
    gint64 id = team("Design");
    g_autofree char *soon = day(1);
    CU_ASSERT_EQUAL(save(c_maint, id, "15.1", soon, &r), 303);
    http_response_clear(&r);
    assert_setting(id, "15.1", soon);
    json_t *a = activity("edited_macos_min_version", WFX_MAINT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(a, "details"), "team_id")),
                    id);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(a, "details"),
                                                             "team_name")), "Design");
    json_decref(a);
    /* Tomorrow's deadline: today is the eve. */
    g_autofree char *path = g_strdup_printf(PAGE "?team=%" G_GINT64_FORMAT, id);
    wfx_get(path, c_maint, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(wfx_has(&r, "Today, the day before the deadline"));
    CU_ASSERT_TRUE(wfx_has(&r, "once a day, then every 2 hours from 20:00."));
    CU_ASSERT_TRUE(wfx_has(&r, "The window opens at 00:00, 20:00, 22:00."));
    g_autofree char *sel = g_strdup_printf("<option value=\"%" G_GINT64_FORMAT "\" selected>"
                                           "Design</option>", id);
    CU_ASSERT_TRUE(wfx_has(&r, sel));
    CU_ASSERT_TRUE(wfx_has(&r, "id=\"macs-total\">0<"));
    CU_ASSERT_TRUE(wfx_has(&r, "<h2>Macs of Design</h2>"));
    http_response_clear(&r);
    /* Both empty: off, and the page says Nudge is not sent. */
    CU_ASSERT_EQUAL(save(c_maint, id, "", "", &r), 303);
    http_response_clear(&r);
    assert_setting(id, "", "");
    wfx_get(path, c_maint, &r);
    CU_ASSERT_TRUE(wfx_has(&r, "Nudge is not sent to its Macs"));
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "id=\"preview\""));
    http_response_clear(&r);
    /* A deadline past: the window cannot be closed. */
    g_autofree char *past = day(-3);
    CU_ASSERT_EQUAL(save(c_admin, id, "15.1", past, &r), 303);
    http_response_clear(&r);
    wfx_get(path, c_obs, &r);
    CU_ASSERT_TRUE(wfx_has(&r, "The deadline has passed"));
    CU_ASSERT_TRUE(wfx_has(&r, ", past the deadline: the window opens every hour and cannot be "
                               "closed."));
    http_response_clear(&r);
}

/* The API agrees with the page: maintainers PATCH the setting, not the team. */
static void test_web_updates_page__api_roles(void)
{
    http_response r;
    gint64 id = team("Ops");
    const char *body = "{\"mdm\": {\"macos_updates\": {\"minimum_version\": \"14.2\", "
                       "\"deadline\": \"2031-03-04\"}}}";
    g_autofree char *path = g_strdup_printf(API "/teams/%" G_GINT64_FORMAT, id);
    ufx_request("PATCH", path, body, strlen(body), t_maint, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_response_clear(&r);
    assert_setting(id, "14.2", "2031-03-04");
    static const char *const not_theirs[] = {
        "{\"name\": \"Renamed\"}",
        "{\"description\": \"x\"}",
        "{\"name\": \"Renamed\", \"mdm\": {\"macos_updates\": {\"minimum_version\": \"\", "
        "\"deadline\": \"\"}}}",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(not_theirs); i++) {
        ufx_request("PATCH", path, not_theirs[i], strlen(not_theirs[i]), t_maint, &r);
        CU_ASSERT_EQUAL(r.status, 403);
        CU_ASSERT_TRUE(ufx_is_fleet_error(&r, "forbidden"));
        http_response_clear(&r);
    }
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM teams WHERE name = 'Ops'", NULL), 1);
    assert_setting(id, "14.2", "2031-03-04");
    ufx_request("PATCH", path, body, strlen(body), t_obs, &r);
    CU_ASSERT_EQUAL(r.status, 403);
    http_response_clear(&r);
    /* PATCH /config: maintainers yes, observers no. */
    const char *off = "{\"mdm\": {\"macos_updates\": {\"minimum_version\": \"13.5\", "
                      "\"deadline\": \"2030-01-02\"}}}";
    ufx_request("PATCH", API "/config", off, strlen(off), t_obs, &r);
    CU_ASSERT_EQUAL(r.status, 403);
    http_response_clear(&r);
    ufx_request("PATCH", API "/config", off, strlen(off), t_maint, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_response_clear(&r);
    assert_setting(0, "13.5", "2030-01-02");
    /* An admin still renames. */
    ufx_request("PATCH", path, "{\"name\": \"Ops 2\"}", 17, t_admin, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_response_clear(&r);
}

static void test_web_updates_page__observer_reads(void)
{
    http_response r;
    g_autofree char *m0 = NULL, *d0 = NULL;
    api_setting(0, &m0, &d0);
    gint64 before = updfx_activities("edited_macos_min_version");
    wfx_get(PAGE, c_obs, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(wfx_has(&r, "id=\"read-only\""));
    CU_ASSERT_TRUE(wfx_has(&r, "name=\"minimum_version\" type=\"text\""));
    /* Both inputs disabled, and no save button. */
    const char *p = strstr(r.body->str, "id=\"minimum_version\"");
    CU_ASSERT_TRUE(p && strstr(p, "disabled") && strstr(p, "disabled") < strchr(p, '>'));
    p = strstr(r.body->str, "id=\"deadline\"");
    CU_ASSERT_TRUE(p && strstr(p, "disabled") && strstr(p, "disabled") < strchr(p, '>'));
    CU_ASSERT_PTR_NULL(strstr(r.body->str, ">Save</button>"));
    http_response_clear(&r);
    CU_ASSERT_EQUAL(save(c_obs, 0, "11.0", "2040-01-01", &r), 403);
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "value=\"11.0\""));
    http_response_clear(&r);
    assert_setting(0, m0, d0);
    CU_ASSERT_EQUAL(updfx_activities("edited_macos_min_version"), before);
    /* Nobody signed in: to the sign-in page, nothing saved. */
    wfx_get(PAGE "?team=0", NULL, &r);
    CU_ASSERT_EQUAL(r.status, 303);
    http_response_clear(&r);
    CU_ASSERT_EQUAL(save(NULL, 0, "11.0", "2040-01-01", &r), 303);
    http_response_clear(&r);
    assert_setting(0, m0, d0);
}

/* A refused save: 422, the message under `field`, the values kept, nothing saved. */
static void refused(const char *min, const char *deadline, const char *field,
                    const char *message)
{
    http_response r;
    g_autofree char *m0 = NULL, *d0 = NULL;
    api_setting(0, &m0, &d0);
    CU_ASSERT_EQUAL(save(c_admin, 0, min, deadline, &r), 422);
    g_autofree char *input = g_strdup_printf("aria-invalid=\"true\" aria-describedby=\"%s-error\"",
                                             field);
    g_autofree char *under = g_strdup_printf("<span class=\"field-error\" id=\"%s-error\">",
                                             field);
    CU_ASSERT_TRUE(wfx_has(&r, input));
    CU_ASSERT_TRUE(wfx_has(&r, under));
    CU_ASSERT_TRUE(wfx_has(&r, message));
    /* The message sits with its own input: after it, in the span under it. */
    const char *in = strstr(r.body->str, input), *span = strstr(r.body->str, under);
    const char *msg = span ? strstr(span, message) : NULL;
    const char *end = span ? strstr(span, "</span>") : NULL;
    g_autofree char *id = g_strdup_printf("id=\"%s\"", field);
    const char *own = strstr(r.body->str, id);
    CU_ASSERT_TRUE(in && span && msg && end && own && own < in && in < span && msg < end);
    CU_ASSERT_TRUE(wfx_has(&r, "Not saved"));
    http_response_clear(&r);
    assert_setting(0, m0, d0);
}

static void test_web_updates_page__validation(void)
{
    refused("14.1", "", "deadline", "deadline is required when minimum_version is provided");
    refused("", "2031-01-01", "minimum_version",
            "minimum_version is required when deadline is provided");
    refused("Ventura 13", "2031-01-01", "minimum_version",
            "minimum_version accepts version numbers only. (E.g., &quot;13.0.1.&quot;) NOT "
            "&quot;Ventura 13&quot; or &quot;13.0.1 (22A400)&quot;");
    refused("13.0.1 (22A400)", "2031-01-01", "minimum_version", "accepts version numbers only");
    refused("14.1", "2031-02-30", "deadline",
            "deadline accepts YYYY-MM-DD format only (E.g., &quot;2023-06-01.&quot;)");
    refused("14.1", "01/02/2031", "deadline", "deadline accepts YYYY-MM-DD format only");
    /* The user's values come back, escaped. */
    http_response r;
    CU_ASSERT_EQUAL(save(c_admin, 0, "\"><script>alert(1)</script>", "2031-01-01", &r), 422);
    CU_ASSERT_TRUE(wfx_has(&r, "value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "<script>"));
    http_response_clear(&r);
    /* A long value within the form's limit is Fleet's refusal, not a crash. */
    g_autofree char *longv = g_strnfill(60000, '1');
    CU_ASSERT_EQUAL(save(c_admin, 0, longv, "2031-01-01", &r), 422);
    http_response_clear(&r);
}

static void test_web_updates_page__cross_origin(void)
{
    http_response r;
    g_autofree char *m0 = NULL, *d0 = NULL;
    api_setting(0, &m0, &d0);
    const char *form = "team=0&minimum_version=12.0&deadline=2035-05-05";
    wfx_post_form(PAGE, c_admin, "http://evil.example", form, &r);
    CU_ASSERT_EQUAL(r.status, 403);
    http_response_clear(&r);
    wfx_post_form(PAGE, c_admin, NULL, form, &r);
    CU_ASSERT_EQUAL(r.status, 403);
    http_response_clear(&r);
    assert_setting(0, m0, d0);
}

static void test_web_updates_page__escaping(void)
{
    http_response r;
    gint64 id = team("<script>alert('t')</script>");
    wfx_get(PAGE, c_obs, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(wfx_has(&r, "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;</option>"));
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "<script>"));
    http_response_clear(&r);
    g_autofree char *path = g_strdup_printf(PAGE "?team=%" G_GINT64_FORMAT, id);
    wfx_get(path, c_obs, &r);
    CU_ASSERT_TRUE(wfx_has(&r, "the team <strong>&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;"
                               "</strong>"));
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "<script>"));
    http_response_clear(&r);
}

static void test_web_updates_page__bad_team(void)
{
    static const char *const bad[] = {"abc", "-1", "1e3", "0x10", "+1", "%201", "1.0",
                                      "99999999999999999999", "9223372036854775808",
                                      "%C3%A9", "1%2C2"};
    http_response r;
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *path = g_strconcat(PAGE "?team=", bad[i], NULL);
        wfx_get(path, c_admin, &r);
        if (r.status != 400)
            fprintf(stderr, "\n  ?team=%s: %ld\n", bad[i], r.status);
        CU_ASSERT_EQUAL(r.status, 400);
        CU_ASSERT_TRUE(wfx_has(&r, "The team must be a team&#39;s number"));
        http_response_clear(&r);
    }
    wfx_get(PAGE "?team=99999", c_admin, &r);
    CU_ASSERT_EQUAL(r.status, 404);
    CU_ASSERT_TRUE(wfx_has(&r, "There is no team with the number 99999"));
    http_response_clear(&r);
    wfx_get(PAGE "/other", c_admin, &r);
    CU_ASSERT_EQUAL(r.status, 404);
    http_response_clear(&r);
    /* The same numbers in the form: refused, nothing saved. */
    gint64 before = updfx_activities("edited_macos_min_version");
    wfx_post_form(PAGE, c_admin, WFX_SAME_ORIGIN,
                  "team=abc&minimum_version=14.0&deadline=2031-01-01", &r);
    CU_ASSERT_EQUAL(r.status, 400);
    http_response_clear(&r);
    wfx_post_form(PAGE, c_admin, WFX_SAME_ORIGIN,
                  "team=99999&minimum_version=14.0&deadline=2031-01-01", &r);
    CU_ASSERT_EQUAL(r.status, 404);
    http_response_clear(&r);
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM macos_update_settings WHERE team_id = 99999",
                              NULL), 0);
    CU_ASSERT_EQUAL(updfx_activities("edited_macos_min_version"), before);
}

static void test_web_updates_page__hostile_form(void)
{
    http_response r;
    g_autofree char *m0 = NULL, *d0 = NULL;
    api_setting(0, &m0, &d0);
    gint64 before = updfx_activities("edited_macos_min_version");
    static const struct {
        const char *form;
        long status;
    } cases[] = {
        {"team=0&minimum_version=14%00.1&deadline=2031-01-01", 400}, /* NUL */
        {"team=0&minimum_version=14.1&deadline=2031-01-0%FF", 400},  /* not UTF-8 */
        {"team=0&minimum_version=14.1&deadline=2031-01-01%", 400},   /* bad escape */
        {"team=0&minimum_version=14.1", 400},                        /* a field missing */
        {"minimum_version=14.1&deadline=2031-01-01", 400},
        {"team=0&minimum_version=%E2%80%8B14.1&deadline=2031-01-01", 422}, /* zero width */
        {"team=0&minimum_version=14.1&deadline=%EF%BC%92031-01-01", 422},  /* a wide digit */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        wfx_post_form(PAGE, c_admin, WFX_SAME_ORIGIN, cases[i].form, &r);
        if (r.status != cases[i].status)
            fprintf(stderr, "\n  %s: %ld\n", cases[i].form, r.status);
        CU_ASSERT_EQUAL(r.status, cases[i].status);
        http_response_clear(&r);
    }
    /* Over the form limit. */
    GString *big = g_string_new("team=0&deadline=2031-01-01&minimum_version=");
    while (big->len < 70 * 1024)
        g_string_append_c(big, '1');
    wfx_post_form(PAGE, c_admin, WFX_SAME_ORIGIN, big->str, &r);
    CU_ASSERT_EQUAL(r.status, 413);
    http_response_clear(&r);
    g_string_free(big, TRUE);
    assert_setting(0, m0, d0);
    CU_ASSERT_EQUAL(updfx_activities("edited_macos_min_version"), before);
}

void web_updates_page_suite(void)
{
    ORCHARD_ADD_SUITE("web_updates_page", suite_init, suite_cleanup,
                      {"admin_saves", test_web_updates_page__admin_saves},
                      {"maintainer_saves_team", test_web_updates_page__maintainer_saves_team},
                      {"api_roles", test_web_updates_page__api_roles},
                      {"observer_reads", test_web_updates_page__observer_reads},
                      {"validation", test_web_updates_page__validation},
                      {"cross_origin", test_web_updates_page__cross_origin},
                      {"escaping", test_web_updates_page__escaping},
                      {"bad_team", test_web_updates_page__bad_team},
                      {"hostile_form", test_web_updates_page__hostile_form});
}
