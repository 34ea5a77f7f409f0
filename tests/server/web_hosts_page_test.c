/* web_hosts_page: the pages /hosts and /hosts/{uuid} (server_plugin/web/
 * hosts_page.c) over real HTTP with a signed-in browser's cookie
 * (web_fixture.h): who may see them, that they show what the API answers
 * for the same hosts (api/hosts.h builds both), escaped; paging and the
 * hostile page numbers and UUIDs; a pending command until the Mac answers.
 * Hosts enroll through the store calls the check-in flow makes. */
#include "tests/suites.h"

#include "server_plugin/api/hosts.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_queue.h"
#include "tests/server/reconcile_fixture.h"
#include "tests/server/web_fixture.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <jansson.h>
#include <string.h>

#define H1 "WH-HOST-1" /* enrolled, team 1, profiles, commands */
#define H2 "WH-HOST-2" /* Authenticate only: MDM off, no team */
#define H3 "WH-HOST-3" /* enrolled, APNs refused its token */
#define XSS_NAME "<script>alert(1)</script> Mac"
#define XSS_PROFILE "<img src=x onerror=alert(2)>"
#define TEAM "Design <b>&</b> \"Ops\""

static char *obs, *maint, *admin; /* session cookies */
static char *api_token;           /* the observer's API token */
static int seeded;

/* ---- helpers -------------------------------------------------------------------- */

/* A value as the template engine escapes it (docs/ui-templates.md). g_free. */
static char *esc(const char *s)
{
    GString *o = g_string_new(NULL);
    for (; *s; s++) {
        switch (*s) {
        case '&': g_string_append(o, "&amp;"); break;
        case '<': g_string_append(o, "&lt;"); break;
        case '>': g_string_append(o, "&gt;"); break;
        case '"': g_string_append(o, "&quot;"); break;
        case '\'': g_string_append(o, "&#39;"); break;
        case '`': g_string_append(o, "&#96;"); break;
        case '=': g_string_append(o, "&#61;"); break;
        default: g_string_append_c(o, *s);
        }
    }
    return g_string_free(o, FALSE);
}

/* 1 when the page shows `value` escaped. */
static int shows(const http_response *r, const char *value)
{
    g_autofree char *e = esc(value);
    return wfx_has(r, e);
}

static void get(const char *path, const char *cookie, long want, http_response *r)
{
    wfx_get(path, cookie, r);
    if (r->status != want)
        fprintf(stderr, "\n  %s: wanted %ld, got %ld: %.600s\n", path, want, r->status,
                r->body ? r->body->str : "");
    CU_ASSERT_EQUAL(r->status, want);
}

static json_t *api(const char *path)
{
    http_response r = {0};
    ufx_get(path, api_token, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    json_t *j = ufx_json(&r);
    http_response_clear(&r);
    return j;
}

/* Enroll as the check-in flow does: Authenticate, then (enabled) TokenUpdate. */
static void enroll(const char *udid, const char *name, const char *serial, int token_update)
{
    g_autofree char *cert = g_compute_checksum_for_string(G_CHECKSUM_SHA256, udid, -1);
    orchard_device_auth a = {.udid = udid, .cert_sha256 = cert, .serial_number = serial,
                             .model = "MacBookPro18,3", .product_name = "MacBookPro18,3",
                             .os_version = "14.4.1", .build_version = "23E224",
                             .device_name = name, .topic = "com.apple.mgmt.test"};
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_authenticate(&a, now - 3600, NULL), 0);
    if (token_update) {
        const unsigned char tok[32] = {1, 2, 3};
        int rc = orchard_store_device_token_update(udid, tok, sizeof tok, "magic-wh", NULL, 0,
                                                   0, now - 3600);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        CU_ASSERT_EQUAL_FATAL(orchard_store_device_seen(udid, now - 120, 1,
                                                        g_get_real_time()),
                              0);
    }
}

static void seed(void)
{
    if (seeded)
        return;
    seeded = 1;
    enroll(H1, XSS_NAME, "C02WH0001", 1);
    enroll(H2, "", NULL, 0);
    enroll(H3, "Third Mac", "C02WH0003", 1);
    CU_ASSERT_EQUAL(orchard_store_device_push_invalid(H3, "BadDeviceToken",
                                                      g_get_real_time() / G_USEC_PER_SEC), 0);
    rfx_team(1, TEAM);
    rfx_sql("UPDATE mdm_enrollments SET team_id = 1 WHERE udid = ?", H1, NULL);
    rfx_profile(11, 1, "custom", "com.example.xss", XSS_PROFILE, "UUID-WH-X", NULL);
    rfx_profile(12, 1, "custom", "com.example.vpn", "VPN", "UUID-WH-V", NULL);
    rfx_pass(g_get_real_time() / G_USEC_PER_SEC);
    /* The Mac refuses the first, and its retry (a new command): failed,
     * with the ErrorChain in words. */
    for (int i = 0; i < 2; i++) {
        g_autofree char *u = rfx_row(H1, "com.example.xss", "command_uuid");
        CU_ASSERT_FATAL(u != NULL);
        rfx_report(H1, u, "Error",
                   rfx_error_chain(4001, "MCProfileErrorDomain", "Nope <i>really</i>"),
                   g_get_real_time() / G_USEC_PER_SEC);
    }
}

/* The part of a page between two markers ("" when either is missing). g_free. */
static char *between(const http_response *r, const char *from, const char *to)
{
    const char *a = strstr(r->body->str, from);
    const char *b = a ? strstr(a, to) : NULL;
    return a && b ? g_strndup(a, (gsize)(b - a)) : g_strdup("");
}

/* ---- suite ---------------------------------------------------------------------- */

static int suite_init(void)
{
    if (wfx_init())
        return 1;
    obs = wfx_signin_as("observer");
    maint = wfx_signin_as("maintainer");
    admin = wfx_signin_as("admin");
    api_token = ufx_login(WFX_OBS, PW_OBS, NULL);
    return obs && maint && admin && api_token ? 0 : 1;
}

static int suite_cleanup(void)
{
    g_clear_pointer(&obs, g_free);
    g_clear_pointer(&maint, g_free);
    g_clear_pointer(&admin, g_free);
    g_clear_pointer(&api_token, g_free);
    seeded = 0;
    return wfx_cleanup();
}

/* ---- cases ---------------------------------------------------------------------- */

/* Before any Mac enrolls: how to enroll one, with this server's URL. */
static void test_hosts_page__empty(void)
{
    http_response r = {0};
    wfx_config("server.url", "https://mdm.example.com/");
    get("/hosts", obs, 200, &r);
    CU_ASSERT(wfx_has(&r, "id=\"hosts-empty\""));
    CU_ASSERT(wfx_has(&r, "orchard enroll-token create"));
    CU_ASSERT(wfx_has(&r, "https://mdm.example.com/api/mdm/apple/enroll?token=TOKEN"));
    CU_ASSERT(wfx_has(&r, ">0 enrolled<"));
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "<table"));
    wfx_config("server.url", NULL);
    http_response_clear(&r);
}

/* Observers, maintainers and admins see the list and a detail. */
static void test_hosts_page__roles(void)
{
    seed();
    const char *cookies[] = {obs, maint, admin};
    for (size_t i = 0; i < G_N_ELEMENTS(cookies); i++) {
        http_response r = {0};
        get("/hosts", cookies[i], 200, &r);
        CU_ASSERT(wfx_has(&r, "href=\"/hosts/" H1 "\""));
        CU_ASSERT(wfx_has(&r, ">3 enrolled<"));
        CU_ASSERT(wfx_has(&r, "<td data-label=\"Serial\""));
        g_autofree char *type = wfx_header(&r, "Content-Type");
        CU_ASSERT(type && g_str_has_prefix(type, "text/html"));
        http_response_clear(&r);
        get("/hosts/" H1, cookies[i], 200, &r);
        CU_ASSERT(wfx_has(&r, "id=\"profiles\""));
        http_response_clear(&r);
    }
}

/* Nobody signed in, or a forged cookie: to the sign-in page, and back here after. */
static void test_hosts_page__signed_out(void)
{
    const char *paths[] = {"/hosts", "/hosts/" H1};
    const char *cookies[] = {NULL, "not-a-session", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < G_N_ELEMENTS(paths); i++)
        for (size_t j = 0; j < G_N_ELEMENTS(cookies); j++) {
            http_response r = {0};
            get(paths[i], cookies[j], 303, &r);
            g_autofree char *loc = wfx_header(&r, "Location");
            g_autofree char *want = g_strconcat("/login?next=", paths[i], NULL);
            CU_ASSERT_STRING_EQUAL(loc ? loc : "", want);
            CU_ASSERT_PTR_NULL(strstr(r.body->str, "C02WH0001"));
            http_response_clear(&r);
        }
}

/* Each row of the list shows the API's values for that host, escaped. */
static void test_hosts_page__list_matches_api(void)
{
    seed();
    json_t *j = api("/api/latest/fleet/hosts");
    json_t *hosts = json_object_get(j, "hosts");
    CU_ASSERT_EQUAL(json_array_size(hosts), 3);
    http_response r = {0};
    get("/hosts", obs, 200, &r);
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h) {
        const char *uuid = json_string_value(json_object_get(h, "uuid"));
        g_autofree char *open = g_strdup_printf("href=\"/hosts/%s\"", uuid);
        g_autofree char *row = between(&r, open, "</tr>");
        CU_ASSERT_FATAL(*row != '\0');
        const char *fields[] = {"display_name", "hardware_serial", "os_version"};
        for (size_t k = 0; k < G_N_ELEMENTS(fields); k++) {
            const char *v = json_string_value(json_object_get(h, fields[k]));
            g_autofree char *e = esc(v);
            if (*v && !strstr(row, e))
                fprintf(stderr, "\n  %s: no %s '%s' in %s\n", uuid, fields[k], e, row);
            CU_ASSERT(!*v || strstr(row, e) != NULL);
        }
        const char *team = json_string_value(json_object_get(h, "team_name"));
        g_autofree char *team_e = esc(team ? team : "No team");
        CU_ASSERT_PTR_NOT_NULL(strstr(row, team_e));
        const char *status = json_string_value(
            json_object_get(json_object_get(h, "mdm"), "enrollment_status"));
        g_autofree char *status_e = esc(status);
        CU_ASSERT_PTR_NOT_NULL(strstr(row, status_e));
    }
    /* The list's team_name is the API's too (GET /hosts has it, as Fleet's). */
    json_t *first = json_array_get(hosts, 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "uuid")), H1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "team_name")), TEAM);
    CU_ASSERT_TRUE(json_is_null(json_object_get(json_array_get(hosts, 1), "team_name")));
    /* What the API says, in words people read. */
    CU_ASSERT(shows(&r, "On (manual)"));
    CU_ASSERT(shows(&r, "Off"));
    CU_ASSERT(shows(&r, TEAM));
    CU_ASSERT(wfx_has(&r, ">No team<"));
    CU_ASSERT(wfx_has(&r, "2 min ago"));
    json_decref(j);
    http_response_clear(&r);
    /* The API's own count. */
    j = api("/api/latest/fleet/hosts/count");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "count")), 3);
    json_decref(j);
}

/* The detail shows the API's facts and each profile's delivery, escaped. */
static void test_hosts_page__detail_matches_api(void)
{
    seed();
    json_t *j = api("/api/latest/fleet/hosts/" H1);
    json_t *h = json_object_get(j, "host");
    http_response r = {0};
    get("/hosts/" H1, obs, 200, &r);
    const char *fields[] = {"display_name", "hardware_serial", "hardware_model", "os_version",
                            "build_version", "team_name", "uuid"};
    for (size_t k = 0; k < G_N_ELEMENTS(fields); k++)
        CU_ASSERT(shows(&r, json_string_value(json_object_get(h, fields[k]))));
    json_t *mdm = json_object_get(h, "mdm");
    CU_ASSERT(shows(&r, json_string_value(json_object_get(mdm, "enrollment_status"))));
    CU_ASSERT(wfx_has(&r, "can wake it"));
    /* The device's secrets stay in the store: PushMagic, the push token's hex. */
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "magic-wh"));
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "0102030000"));
    json_t *profiles = json_object_get(mdm, "profiles");
    CU_ASSERT_EQUAL(json_array_size(profiles), 2);
    size_t i;
    json_t *p;
    json_array_foreach(profiles, i, p) {
        g_autofree char *name = esc(json_string_value(json_object_get(p, "name")));
        g_autofree char *row = between(&r, name, "</tr>");
        CU_ASSERT_FATAL(*row != '\0');
        const char *status = json_string_value(json_object_get(p, "status"));
        g_autofree char *badge = g_strdup_printf("<span class=\"badge %s\">%s</span>", status,
                                                 status);
        CU_ASSERT_PTR_NOT_NULL(strstr(row, badge));
        const char *op = json_string_value(json_object_get(p, "operation_type"));
        CU_ASSERT_PTR_NOT_NULL(strstr(row, op));
        g_autofree char *detail = esc(json_string_value(json_object_get(p, "detail")));
        CU_ASSERT_PTR_NOT_NULL(strstr(row, detail));
    }
    /* The failure: its ErrorChain in words, under the profile's name. */
    CU_ASSERT(wfx_has(&r, "<span class=\"badge failed\">failed</span>"));
    CU_ASSERT(shows(&r, "Nope <i>really</i> (MCProfileErrorDomain 4001)"));
    json_decref(j);
    http_response_clear(&r);

    /* No team, MDM off, no name: the UUID stands for it; APNs cannot wake it. */
    get("/hosts/" H2, obs, 200, &r);
    CU_ASSERT(wfx_has(&r, "<h1 id=\"host-name\">" H2 "</h1>"));
    CU_ASSERT(wfx_has(&r, ">No team<"));
    CU_ASSERT(wfx_has(&r, "<span class=\"badge off\" id=\"mdm-status\">Off</span>"));
    CU_ASSERT(wfx_has(&r, "id=\"push-warning\""));
    CU_ASSERT(wfx_has(&r, "its enrollment is off"));
    CU_ASSERT(wfx_has(&r, "No configuration profiles"));
    http_response_clear(&r);

    /* APNs refused the token: its reason. */
    get("/hosts/" H3, obs, 200, &r);
    CU_ASSERT(wfx_has(&r, "APNs refused its push token for good (BadDeviceToken)"));
    CU_ASSERT(wfx_has(&r, "<span class=\"badge on\" id=\"mdm-status\">On (manual)</span>"));
    http_response_clear(&r);
}

/* Values from devices and admins show as text, never as markup. */
static void test_hosts_page__escaped(void)
{
    seed();
    const char *paths[] = {"/hosts", "/hosts/" H1};
    for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
        http_response r = {0};
        get(paths[i], admin, 200, &r);
        CU_ASSERT(wfx_has(&r, "&lt;script&gt;alert(1)&lt;/script&gt; Mac"));
        CU_ASSERT_PTR_NULL(strstr(r.body->str, "<script"));
        CU_ASSERT(wfx_has(&r, "Design &lt;b&gt;&amp;&lt;/b&gt; &quot;Ops&quot;"));
        CU_ASSERT_PTR_NULL(strstr(r.body->str, "<b>"));
        if (i == 1) {
            CU_ASSERT(wfx_has(&r, "&lt;img src&#61;x onerror&#61;alert(2)&gt;"));
            CU_ASSERT_PTR_NULL(strstr(r.body->str, "<img"));
            CU_ASSERT_PTR_NULL(strstr(r.body->str, "<i>"));
            /* The title too. */
            CU_ASSERT(wfx_has(&r, "<title>&lt;script&gt;alert(1)&lt;/script&gt; Mac · orchard"));
        }
        /* No script can run: the policy forbids it. */
        g_autofree char *csp = wfx_header(&r, "Content-Security-Policy");
        CU_ASSERT(csp && strstr(csp, "default-src 'none'"));
        http_response_clear(&r);
    }
}

/* Unknown and hostile UUIDs: a clean error page, never a crash or an echo of raw bytes. */
static void test_hosts_page__hostile_uuid(void)
{
    seed();
    http_response r = {0};
    get("/hosts/NO-SUCH-HOST", obs, 404, &r);
    CU_ASSERT(wfx_has(&r, "No host has UUID NO-SUCH-HOST."));
    CU_ASSERT(wfx_has(&r, "Error 404"));
    http_response_clear(&r);

    get("/hosts/%3Cscript%3Ealert(1)%3C%2Fscript%3E", obs, 404, &r);
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "<script"));
    http_response_clear(&r);
    get("/hosts/%3Cb%3E", obs, 404, &r);
    CU_ASSERT(wfx_has(&r, "No host has UUID &lt;b&gt;."));
    http_response_clear(&r);

    g_autofree char *lng = g_strnfill(5000, 'A');
    g_autofree char *path = g_strconcat("/hosts/", lng, NULL);
    get(path, obs, 404, &r);
    CU_ASSERT(wfx_has(&r, "No host has that UUID."));
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    http_response_clear(&r);

    /* Paths on the way out of /hosts/: 404 pages. */
    const char *not_found[] = {"/hosts/" H1 "/more", "/hosts/..%2F..%2Fetc%2Fpasswd",
                               "/hosts/%2E%2E", "/hosts/a%20b", "/hosts/%C3%A9",
                               "/hosts/%FF%FE", "/hosts//" H1};
    for (size_t i = 0; i < G_N_ELEMENTS(not_found); i++) {
        get(not_found[i], obs, 404, &r);
        CU_ASSERT(wfx_has(&r, "</html>"));
        http_response_clear(&r);
    }
    /* Control bytes: the server refuses them before any page (a 400). */
    const char *control[] = {"/hosts/%00", "/hosts/a%0Ab", "/hosts/" H1 "%00.png",
                             "/hosts/%7F"};
    for (size_t i = 0; i < G_N_ELEMENTS(control); i++) {
        wfx_get(control[i], obs, &r);
        CU_ASSERT_EQUAL(r.status, 400);
        CU_ASSERT_PTR_NULL(strstr(r.body->str, "C02WH0001"));
        http_response_clear(&r);
    }
}

/* A command queued for the Mac shows as pending until it answers. */
static void test_hosts_page__pending_command(void)
{
    seed();
    const char *udids[] = {H1};
    const char *plist = "<plist><dict/></plist>";
    CU_ASSERT_EQUAL_FATAL(orchard_store_command_enqueue("CMD-WH-0001", "DeviceInformation", plist,
                                                        strlen(plist), WFX_ADMIN, udids, 1,
                                                        g_get_real_time(), NULL),
                          0);
    http_response r = {0};
    get("/hosts/" H1, obs, 200, &r);
    g_autofree char *pending = between(&r, "<h3>Pending</h3>", "<h3>Recent results</h3>");
    CU_ASSERT_PTR_NOT_NULL(strstr(pending, "CMD-WH-0001"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pending, "DeviceInformation"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pending, "<span class=\"badge pending\">Pending</span>"));
    /* The profiles' InstallProfile commands the reconciler queued are there too. */
    CU_ASSERT_PTR_NOT_NULL(strstr(pending, "InstallProfile"));
    http_response_clear(&r);

    /* NotNow: the Mac runs it later; still pending. */
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    CU_ASSERT_EQUAL(orchard_store_command_report(H1, "CMD-WH-0001", ORCHARD_CMD_NOT_NOW, NULL, 0,
                                                 NULL, now), 0);
    get("/hosts/" H1, obs, 200, &r);
    g_free(pending);
    pending = between(&r, "<h3>Pending</h3>", "<h3>Recent results</h3>");
    CU_ASSERT_PTR_NOT_NULL(strstr(pending, "<span class=\"badge warn\">NotNow</span>"));
    http_response_clear(&r);

    /* Acknowledged: out of the pending list, into the results. */
    CU_ASSERT_EQUAL(orchard_store_command_report(H1, "CMD-WH-0001", ORCHARD_CMD_ACKNOWLEDGED,
                                                 plist, strlen(plist), NULL, now + 1), 0);
    get("/hosts/" H1, obs, 200, &r);
    g_free(pending);
    pending = between(&r, "<h3>Pending</h3>", "<h3>Recent results</h3>");
    CU_ASSERT(*pending != '\0');
    CU_ASSERT_PTR_NULL(strstr(pending, "CMD-WH-0001"));
    g_autofree char *recent = between(&r, "<h3>Recent results</h3>", "</section>");
    CU_ASSERT_PTR_NOT_NULL(strstr(recent, "CMD-WH-0001"));
    CU_ASSERT_PTR_NOT_NULL(strstr(recent, "<span class=\"badge ok\">Acknowledged</span>"));
    http_response_clear(&r);

    /* Another host has none of them. */
    get("/hosts/" H3, obs, 200, &r);
    CU_ASSERT(wfx_has(&r, "id=\"no-pending\""));
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "CMD-WH-0001"));
    http_response_clear(&r);
}

/* The JSON functions refuse what they cannot page. */
static void test_hosts_page__json_refusals(void)
{
    json_t *out = (json_t *)1;
    GPtrArray *rows = (GPtrArray *)1;
    CU_ASSERT_EQUAL(orchard_hosts_list_json(-1, 100, &out), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_EQUAL(orchard_hosts_list_json(0, 0, &out), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_host_commands_json(H1, 0, &out), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_host_commands_json(H1, 1001, &out), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_store_command_for_device(H1, 1, 0, &rows), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(rows);
    CU_ASSERT_EQUAL(orchard_host_detail_json("NO-SUCH", &out), ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NULL(out);
    /* An unknown host has no commands. */
    CU_ASSERT_EQUAL_FATAL(orchard_host_commands_json("NO-SUCH", 5, &out), 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(out, "pending")), 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(out, "recent")), 0);
    json_decref(out);
}

/* Page numbers: 0-based as the API's; anything else is a 400 page. */
static void test_hosts_page__paging(void)
{
    seed();
    const char *bad[] = {"-1", "abc", "99999999999", "1e3", "0x1", "%201", "1%00", "",
                         "%E2%80%8B1", "+1", "1.0", "999999999999999999999999999999"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        http_response r = {0};
        g_autofree char *path = g_strconcat("/hosts?page=", bad[i], NULL);
        get(path, obs, 400, &r);
        CU_ASSERT(wfx_has(&r, "The page number must be a whole number from 0."));
        CU_ASSERT(wfx_has(&r, "</html>"));
        http_response_clear(&r);
    }
    /* 205 more hosts, sorted before WH-HOST-*: three pages. */
    for (int i = 0; i < 205; i++) {
        g_autofree char *udid = g_strdup_printf("PG-HOST-%03d", i);
        rfx_host(udid, 0, "14.1", 1);
    }
    http_response r = {0};
    get("/hosts", obs, 200, &r);
    CU_ASSERT(wfx_has(&r, ">208 enrolled · page 1 of 3<"));
    CU_ASSERT(wfx_has(&r, "Hosts 1–100 of 208"));
    CU_ASSERT(wfx_has(&r, "<a href=\"/hosts?page=1\" rel=\"next\">"));
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "rel=\"prev\""));
    CU_ASSERT(wfx_has(&r, "href=\"/hosts/PG-HOST-099\""));
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "href=\"/hosts/PG-HOST-100\""));
    http_response_clear(&r);

    get("/hosts?page=2", obs, 200, &r);
    CU_ASSERT(wfx_has(&r, "Hosts 201–208 of 208"));
    CU_ASSERT(wfx_has(&r, "<a href=\"/hosts?page=1\" rel=\"prev\">"));
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "rel=\"next\""));
    CU_ASSERT(wfx_has(&r, "href=\"/hosts/" H1 "\""));
    http_response_clear(&r);

    /* Past the end (a stale link): an empty page, a way back, no crash. */
    const char *past[] = {"7", "999999999"};
    for (size_t i = 0; i < G_N_ELEMENTS(past); i++) {
        g_autofree char *path = g_strconcat("/hosts?page=", past[i], NULL);
        get(path, obs, 200, &r);
        CU_ASSERT(wfx_has(&r, "No hosts on this page."));
        CU_ASSERT(wfx_has(&r, "<a href=\"/hosts?page=2\" rel=\"prev\">"));
        http_response_clear(&r);
    }
    /* The API pages the same hosts. */
    json_t *j = api("/api/latest/fleet/hosts?page=2&per_page=100");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "hosts")), 8);
    json_decref(j);
}

void web_hosts_page_suite(void)
{
    ORCHARD_ADD_SUITE("web_hosts_page", suite_init, suite_cleanup,
                      {"no host yet: how to enroll a Mac", test_hosts_page__empty},
                      {"observers, maintainers and admins see the list and a detail",
                       test_hosts_page__roles},
                      {"signed out: to /login?next=...", test_hosts_page__signed_out},
                      {"the list shows what GET /hosts answers", test_hosts_page__list_matches_api},
                      {"the detail shows what GET /hosts/{uuid} answers",
                       test_hosts_page__detail_matches_api},
                      {"device, profile and team names escaped", test_hosts_page__escaped},
                      {"unknown and hostile UUIDs: 404 pages", test_hosts_page__hostile_uuid},
                      {"a pending command until the Mac acknowledges it",
                       test_hosts_page__pending_command},
                      {"the JSON functions' refusals", test_hosts_page__json_refusals},
                      {"paging, and hostile page numbers", test_hosts_page__paging});
}
