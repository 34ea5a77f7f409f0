/* dep_enroll: the DEP enrollment URL (server_plugin/enroll/dep_enroll_route.c)
 * driven through its handler on a fake host (dep_enroll_fixture.c: our
 * request, response and log; the real store, with dep_devices rows seeded in
 * plain SQL), the host's own 405 and 413 for it, then the check-in's part:
 * an Authenticate of a served serial is DEP-enrolled and joins
 * mdm.apple_bm_default_team, a manual one is not, and GET /hosts/{uuid} says
 * which. Last, one real `orchard serve` answering curl. */
#include "host/plugins/registry.h"
#include "server_plugin/checkin/checkin.h"
#include "server_plugin/enroll/dep_checkin.h"
#include "server_plugin/enroll/download_limit.h"
#include "server_plugin/enroll/machine_info.h"
#include "server_plugin/serve/serve_state.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_host_profiles.h"
#include "server_plugin/store/store_queue.h"
#include "server_plugin/store/store_sql.h"
#include "server_plugin/store/store_teams.h"
#include "tests/server/dep_enroll_fixture.h"
#include "tests/server/enroll_fixture.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <plist/plist.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATH ORCHARD_DEP_ENROLL_PATH
#define NOT_ASSIGNED "this device is not assigned to this MDM server in Apple Business Manager\n"

/* ---- the route ------------------------------------------------------------------ */

/* The challenge inside a served profile. g_free. */
static char *challenge_of(plist_t root)
{
    plist_t scep = plist_array_get_item(plist_dict_get_item(root, "PayloadContent"), 0);
    return g_strdup(str_at(plist_dict_get_item(scep, "PayloadContent"), "Challenge"));
}

/* A serial Apple assigned us: the token URL's profile, enroll_served_at set. */
static void test_route__known_serial(void)
{
    DEFX_NEED_STORE();
    defx_serve_with(NULL);
    defx_seed_device("C02DEPKNOWN1", 0);
    CU_ASSERT_EQUAL(defx_served_at("C02DEPKNOWN1"), -1);
    g_autoptr(GBytes) mi = mifx_machine_info(&defx_dev, "UDID-DEP-1", "C02DEPKNOWN1");
    defx_resp r;
    gint64 before = g_get_real_time() / G_USEC_PER_SEC;
    defx_post(mi, &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.content_type, "application/x-apple-aspen-config");
    CU_ASSERT_STRING_EQUAL(defx_header(&r, "Cache-Control"), "no-store");
    CU_ASSERT_STRING_EQUAL(defx_header(&r, "Content-Disposition"),
                           "attachment; filename=\"orchard-enrollment.mobileconfig\"");
    plist_t root = parse_xml((const char *)r.body->data, r.body->len);
    g_autofree char *challenge = challenge_of(root);
    expected e = {"https://mdm.example.com", "orchard", mdmfx_state.topic, challenge, {0}};
    check_profile(root, &e);
    plist_free(root);
    /* A one-time challenge the SCEP server knows, never the static one. */
    CU_ASSERT(strcmp(challenge, MDMFX_CHALLENGE) != 0);
    CU_ASSERT_EQUAL(orchard_server_store_challenge_check(challenge, before), 0);
    CU_ASSERT(defx_served_at("C02DEPKNOWN1") >= before);
    CU_ASSERT_EQUAL(defx_logged("profile served", "DEP, serial C02DEPKNOWN1", NULL), 1);
    for (guint i = 0; i < defx_log_lines->len; i++)
        CU_ASSERT_PTR_NULL(strstr(defx_log_lines->pdata[i], challenge));
    defx_resp_clear(&r);
    orchard_serve_state_set(defx_ctx, NULL);
}

/* Unknown and deleted serials: 403 with the reason, defx_logged with the serial,
 * no profile. */
static void test_route__not_assigned(void)
{
    DEFX_NEED_STORE();
    defx_serve_with(NULL);
    defx_seed_device("C02DEPGONE01", 1);
    const char *serials[] = {"C02DEPNEVER1", "C02DEPGONE01"};
    for (size_t i = 0; i < G_N_ELEMENTS(serials); i++) {
        g_autoptr(GBytes) mi = mifx_machine_info(&defx_dev, "UDID-DEP-X", serials[i]);
        defx_resp r;
        defx_post(mi, &r);
        CU_ASSERT_EQUAL(r.status, 403);
        g_autofree char *t = defx_body_text(&r);
        CU_ASSERT_STRING_EQUAL(t, NOT_ASSIGNED);
        CU_ASSERT_EQUAL(defx_logged("dep enroll", serials[i], "not a device", NULL), 1);
        defx_resp_clear(&r);
    }
    CU_ASSERT_EQUAL(defx_served_at("C02DEPGONE01"), -1);
    CU_ASSERT_EQUAL(defx_served_at("C02DEPNEVER1"), -2);
    orchard_serve_state_set(defx_ctx, NULL);
}

/* Bodies that are no machine info: 400 with the reason as text, or 413. */
static void test_route__bad_bodies(void)
{
    DEFX_NEED_STORE();
    defx_serve_with(NULL);
    defx_seed_device("C02DEPBAD001", 0);
    g_autofree char *xml = mifx_plist("UDID-B", "C02DEPBAD001");
    GBytes *cases[] = {
        g_bytes_new_static("", 0),
        g_bytes_new_static("garbage", 7),
        g_bytes_new(xml, strlen(xml)), /* the plist, unsigned */
        mifx_sign(&defx_dev, NULL, xml, strlen(xml), MIFX_DETACHED),
        mifx_sign(&defx_dev, NULL, xml, strlen(xml), MIFX_NO_SIGNER),
    };
    const char *why[] = {"empty body", "not a CMS message", "not a CMS message", "detached",
                         "not signed"};
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        defx_resp r;
        defx_post(cases[i], &r);
        CU_ASSERT_EQUAL(r.status, 400);
        g_autofree char *t = defx_body_text(&r);
        CU_ASSERT(contains(t, why[i]));
        CU_ASSERT_EQUAL(defx_logged("refused", why[i], NULL), 1);
        defx_resp_clear(&r);
        g_bytes_unref(cases[i]);
    }
    /* Tampered: the serial changed after signing. */
    g_autoptr(GBytes) good = mifx_machine_info(&defx_dev, "UDID-B", "C02DEPBAD001");
    gsize len = 0;
    const void *good_d = g_bytes_get_data(good, &len);
    g_autofree unsigned char *copy = g_memdup2(good_d, len);
    unsigned char *at = memmem(copy, len, "C02DEPBAD001", 12);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    at[11] = '2';
    defx_resp r;
    defx_call(&orchard_route_dep_enroll, "POST", PATH, copy, len, &r);
    CU_ASSERT_EQUAL(r.status, 400);
    defx_resp_clear(&r);
    /* Over the cap (when a host lets it through): 413. */
    g_autofree unsigned char *big = g_malloc0(ORCHARD_MACHINE_INFO_MAX + 1);
    defx_call(&orchard_route_dep_enroll, "POST", PATH, big, ORCHARD_MACHINE_INFO_MAX + 1, &r);
    CU_ASSERT_EQUAL(r.status, 413);
    defx_resp_clear(&r);
    /* A sub-path is not the URL. */
    defx_call(&orchard_route_dep_enroll, "POST", PATH "/x", NULL, 0, &r);
    CU_ASSERT_EQUAL(r.status, 404);
    defx_resp_clear(&r);
    CU_ASSERT_EQUAL(defx_served_at("C02DEPBAD001"), -1);
    orchard_serve_state_set(defx_ctx, NULL);
}

/* The store failing: 503 and a log line, never a profile. */
static void test_route__store_failure(void)
{
    defx_serve_with(NULL);
    g_autoptr(GBytes) mi = mifx_machine_info(&defx_dev, "UDID-F", "C02DEPFAIL01");
    defx_resp r;
    defx_fail_begin = 1;
    defx_post(mi, &r);
    defx_fail_begin = 0;
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT(g_strcmp0(r.content_type, "application/x-apple-aspen-config") != 0);
    CU_ASSERT_EQUAL(defx_logged("dep enroll", "C02DEPFAIL01", "failed", NULL), 1);
    defx_resp_clear(&r);
    orchard_serve_state_set(defx_ctx, NULL);
}

/* mdm.enroll_downloads_per_minute, per serial: past it 429 with Retry-After. */
static void test_route__rate_limit(void)
{
    DEFX_NEED_STORE();
    const char *kv[] = {"mdm.enroll_downloads_per_minute", "2", NULL};
    defx_serve_with(kv);
    orchard_enroll_download_reset();
    defx_seed_device("C02DEPRATE01", 0);
    defx_seed_device("C02DEPRATE02", 0);
    g_autoptr(GBytes) mi = mifx_machine_info(&defx_dev, "UDID-R", "C02DEPRATE01");
    g_autoptr(GBytes) mi2 = mifx_machine_info(&defx_dev, "UDID-R2", "C02DEPRATE02");
    defx_resp r;
    for (int i = 0; i < 2; i++) {
        defx_post(mi, &r);
        CU_ASSERT_EQUAL(r.status, 200);
        defx_resp_clear(&r);
    }
    defx_post(mi, &r);
    CU_ASSERT_EQUAL(r.status, 429);
    const char *retry = defx_header(&r, "Retry-After");
    CU_ASSERT_PTR_NOT_NULL_FATAL(retry);
    CU_ASSERT(atoi(retry) >= 1 && atoi(retry) <= 60);
    defx_resp_clear(&r);
    defx_post(mi2, &r); /* another Mac is not affected */
    CU_ASSERT_EQUAL(r.status, 200);
    defx_resp_clear(&r);
    orchard_enroll_download_reset();
    mdmfx_apply_config(NULL);
    orchard_serve_state_set(defx_ctx, NULL);
}

/* The host's side: POST only (GET is 405 with Allow: POST), behind the
 * "mdm" gate, bodies over 64 KiB answered 413 before the handler. */
static const orchard_route *const host_routes[] = {&orchard_route_dep_enroll};
static const orchard_plugin host_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin),
    .name = "dep-enroll-test",
    .version = "1.0",
    .description = "the DEP enrollment route",
    .routes = host_routes,
    .n_routes = 1,
};
static int host_plugin_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    (void)host;
    *out = &host_plugin;
    return 0;
}

static void test_route__host_405_413(void)
{
    CU_ASSERT_STRING_EQUAL(orchard_route_dep_enroll.gate, "mdm");
    orchard_registry *reg = orchard_registry_new();
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_registry_add_builtin(reg, host_plugin_entry, &err), 0);
    g_autofree char *allow = NULL;
    CU_ASSERT_PTR_NULL(orchard_registry_find_route(reg, "GET", PATH, &allow));
    CU_ASSERT_STRING_EQUAL(allow ? allow : "", "POST");
    CU_ASSERT_PTR_EQUAL(orchard_registry_find_route(reg, "POST", PATH, NULL),
                        &orchard_route_dep_enroll);
    CU_ASSERT_EQUAL(orchard_route_dep_enroll.max_body, ORCHARD_MACHINE_INFO_MAX);
    orchard_registry_free(reg);
}

/* ---- the check-in: Authenticate ----------------------------------------------------- */

/* One check-in message (`inner` in its dict) from `udid`'s certificate. */
static int checkin(const char *udid, const char *inner)
{
    g_autofree char *xml = g_strdup_printf("<?xml version=\"1.0\"?><plist version=\"1.0\">"
                                           "<dict><key>UDID</key><string>%s</string>%s</dict>"
                                           "</plist>", udid, inner);
    g_autofree char *cert = g_compute_checksum_for_string(G_CHECKSUM_SHA256, udid, -1);
    const orchard_checkin_env env = {.ctx = NULL};
    const orchard_checkin_request in = {
        .body = (const unsigned char *)xml, .len = strlen(xml),
        .content_type = ORCHARD_CHECKIN_CONTENT_TYPE, .cert_sha256 = cert,
        .now_us = g_get_real_time(),
    };
    orchard_checkin_reply out;
    CU_ASSERT_EQUAL_FATAL(orchard_checkin_handle(&env, &in, &out), 0);
    int st = out.status;
    orchard_checkin_reply_clear(&out);
    return st;
}

static int authenticate(const char *udid, const char *serial)
{
    g_autofree char *inner = g_strdup_printf(
        "<key>MessageType</key><string>Authenticate</string><key>SerialNumber</key>"
        "<string>%s</string><key>Model</key><string>MacBookPro18,3</string><key>Topic</key>"
        "<string>t</string>", serial);
    return checkin(udid, inner);
}

static int token_update(const char *udid, int awaiting)
{
    g_autofree char *inner = g_strdup_printf(
        "<key>MessageType</key><string>TokenUpdate</string><key>Token</key><data>AQID</data>"
        "<key>PushMagic</key><string>magic</string><key>Topic</key><string>t</string>"
        "<key>AwaitingConfiguration</key><%s/>", awaiting ? "true" : "false");
    return checkin(udid, inner);
}

static int dep_enrolled(const char *udid)
{
    g_autoptr(orchard_device) d = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get(udid, &d), 0);
    return d->dep_enrolled;
}

static gint64 team_of(const char *udid)
{
    gint64 team = -1;
    g_autofree char *name = NULL;
    CU_ASSERT_EQUAL(orchard_store_host_team(udid, &team, &name), 0);
    return team;
}

/* GET /hosts/{uuid}'s mdm.enrollment_status. g_free. */
static char *enrollment_status(const char *udid)
{
    g_autofree char *path = g_strconcat("/api/latest/fleet/hosts/", udid, NULL);
    defx_resp r;
    defx_call(&orchard_route_hosts_latest, "GET", path, NULL, 0, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    json_t *j = json_loadb((const char *)r.body->data, r.body->len, 0, NULL);
    const char *s = json_string_value(json_object_get(
        json_object_get(json_object_get(j, "host"), "mdm"), "enrollment_status"));
    char *out = g_strdup(s ? s : "(none)");
    json_decref(j);
    defx_resp_clear(&r);
    return out;
}

/* Served by the DEP URL, then Authenticate: DEP-enrolled, in the default
 * team (with the desired-state marker moved); a host already in a team
 * stays there. */
static void test_checkin__dep_enrolled_default_team(void)
{
    DEFX_NEED_STORE();
    gint64 team = 0, other = 0;
    CU_ASSERT_EQUAL_FATAL(orchard_store_team_create("Design", NULL, 1, &team), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_store_team_create("Sales", NULL, 1, &other), 0);
    const char *kv[] = {"mdm.apple_bm_default_team", "design", NULL};
    defx_serve_with(kv);
    defx_seed_device("C02DEPTEAM01", 0);
    g_autoptr(GBytes) mi = mifx_machine_info(&defx_dev, "UDID-T1", "C02DEPTEAM01");
    defx_resp r;
    defx_post(mi, &r);
    CU_ASSERT_EQUAL_FATAL(r.status, 200);
    defx_resp_clear(&r);

    g_autofree char *v0 = NULL, *v1 = NULL;
    CU_ASSERT_EQUAL(orchard_sstore_desired_version(&v0), 0);
    g_ptr_array_set_size(defx_log_lines, 0);
    CU_ASSERT_EQUAL(authenticate("UDID-T1", "C02DEPTEAM01"), 200);
    CU_ASSERT_EQUAL(dep_enrolled("UDID-T1"), 1);
    CU_ASSERT_EQUAL(team_of("UDID-T1"), team);
    CU_ASSERT_EQUAL(orchard_sstore_desired_version(&v1), 0);
    CU_ASSERT(g_strcmp0(v0, v1) != 0);
    CU_ASSERT_EQUAL(defx_logged("joined the default team", "UDID-T1", NULL), 1);
    /* Enabled by its TokenUpdate, the API says automatic. */
    const unsigned char tok[] = {1, 2, 3};
    CU_ASSERT_EQUAL(orchard_store_device_token_update("UDID-T1", tok, 3, "m", NULL, 0, 0, 5), 0);
    g_autofree char *status = enrollment_status("UDID-T1");
    CU_ASSERT_STRING_EQUAL(status, "On (automatic)");

    /* In a team already (moved by an admin): a new Authenticate keeps it. */
    const char *udids[] = {"UDID-T1"};
    g_autofree char *bad = NULL;
    CU_ASSERT_EQUAL(orchard_store_team_transfer(other, udids, 1, &bad), 0);
    defx_post(mi, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    defx_resp_clear(&r);
    CU_ASSERT_EQUAL(authenticate("UDID-T1", "C02DEPTEAM01"), 200);
    CU_ASSERT_EQUAL(dep_enrolled("UDID-T1"), 1);
    CU_ASSERT_EQUAL(team_of("UDID-T1"), other);
    mdmfx_apply_config(NULL);
    orchard_serve_state_set(defx_ctx, NULL);
}

/* A default team that does not exist: no team, one warning per name. */
static void test_checkin__missing_default_team(void)
{
    DEFX_NEED_STORE();
    orchard_dep_checkin_reset();
    const char *kv[] = {"mdm.apple_bm_default_team", "Nowhere", NULL};
    defx_serve_with(kv);
    defx_seed_device("C02DEPMISS01", 0);
    defx_seed_device("C02DEPMISS02", 0);
    const char *serials[] = {"C02DEPMISS01", "C02DEPMISS02"};
    const char *udids[] = {"UDID-M1", "UDID-M2"};
    int warnings = 0;
    for (int i = 0; i < 2; i++) {
        g_autoptr(GBytes) mi = mifx_machine_info(&defx_dev, udids[i], serials[i]);
        defx_resp r;
        defx_post(mi, &r);
        CU_ASSERT_EQUAL(r.status, 200);
        defx_resp_clear(&r);
        CU_ASSERT_EQUAL(authenticate(udids[i], serials[i]), 200);
        CU_ASSERT_EQUAL(dep_enrolled(udids[i]), 1);
        CU_ASSERT_EQUAL(team_of(udids[i]), 0);
        warnings += defx_logged("\"Nowhere\", which is no team", NULL);
    }
    CU_ASSERT_EQUAL(warnings, 1);
    mdmfx_apply_config(NULL);
    orchard_serve_state_set(defx_ctx, NULL);
}

/* In ABM but enrolled by hand (never through the DEP URL), or served long
 * ago: a manual enrollment, in no team, "On (manual)". A DEP host that
 * enrolls again by hand later is manual from then on. */
static void test_checkin__manual_is_not_dep(void)
{
    DEFX_NEED_STORE();
    const char *kv[] = {"mdm.apple_bm_default_team", "Design", NULL};
    defx_serve_with(kv);
    defx_seed_device("C02DEPMAN001", 0);
    CU_ASSERT_EQUAL(authenticate("UDID-MAN1", "C02DEPMAN001"), 200);
    CU_ASSERT_EQUAL(dep_enrolled("UDID-MAN1"), 0);
    CU_ASSERT_EQUAL(team_of("UDID-MAN1"), 0);
    const unsigned char tok[] = {1, 2, 3};
    CU_ASSERT_EQUAL(orchard_store_device_token_update("UDID-MAN1", tok, 3, "m", NULL, 0, 0, 5),
                    0);
    g_autofree char *status = enrollment_status("UDID-MAN1");
    CU_ASSERT_STRING_EQUAL(status, "On (manual)");
    /* A serial that is in no dep_devices row at all. */
    CU_ASSERT_EQUAL(authenticate("UDID-MAN2", "C02NOTINABM1"), 200);
    CU_ASSERT_EQUAL(dep_enrolled("UDID-MAN2"), 0);

    /* DEP once, then served two days ago and enrolled by hand again. */
    defx_seed_device("C02DEPOLD001", 0);
    g_autoptr(GBytes) mi = mifx_machine_info(&defx_dev, "UDID-OLD", "C02DEPOLD001");
    defx_resp r;
    defx_post(mi, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    defx_resp_clear(&r);
    CU_ASSERT_EQUAL(authenticate("UDID-OLD", "C02DEPOLD001"), 200);
    CU_ASSERT_EQUAL(dep_enrolled("UDID-OLD"), 1);
    gint64 old = g_get_real_time() / G_USEC_PER_SEC - 2 * 86400;
    CU_ASSERT_EQUAL(orchard_sstore_write("dep_enroll test", "UPDATE dep_devices SET "
                                         "enroll_served_at = ? WHERE serial_number = ?",
                                         SQL_PARAMS(SQL_INT(old), SQL_TEXT("C02DEPOLD001"))), 1);
    CU_ASSERT_EQUAL(authenticate("UDID-OLD", "C02DEPOLD001"), 200);
    CU_ASSERT_EQUAL(dep_enrolled("UDID-OLD"), 0);
    mdmfx_apply_config(NULL);
    orchard_serve_state_set(defx_ctx, NULL);
}

/* A Mac that waits in Setup Assistant (AwaitingConfiguration, as the DEP
 * profile's await_device_configured asks) gets DeviceConfigured once its
 * enrollment turns on; one that does not wait gets nothing. */
static void test_checkin__device_configured(void)
{
    DEFX_NEED_STORE();
    defx_serve_with(NULL);
    defx_seed_device("C02DEPCONF01", 0);
    g_autoptr(GBytes) mi = mifx_machine_info(&defx_dev, "UDID-CONF", "C02DEPCONF01");
    defx_resp r;
    defx_post(mi, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    defx_resp_clear(&r);
    CU_ASSERT_EQUAL(authenticate("UDID-CONF", "C02DEPCONF01"), 200);
    CU_ASSERT_EQUAL(token_update("UDID-CONF", 1), 200);
    g_autofree char *uuid = NULL;
    g_autoptr(GBytes) plist = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_command_next("UDID-CONF", &uuid, &plist), 0);
    CU_ASSERT(g_str_has_prefix(uuid, ORCHARD_DEP_CONFIGURED_UUID_PREFIX));
    gsize len = 0;
    const char *xml = g_bytes_get_data(plist, &len);
    plist_t root = parse_xml(xml, len);
    CU_ASSERT_STRING_EQUAL(str_at(plist_dict_get_item(root, "Command"), "RequestType"),
                           "DeviceConfigured");
    CU_ASSERT_STRING_EQUAL(str_at(root, "CommandUUID"), uuid);
    plist_free(root);
    /* A second TokenUpdate (the enrollment is on already) queues no other. */
    CU_ASSERT_EQUAL(token_update("UDID-CONF", 1), 200);
    g_autoptr(GPtrArray) results = NULL;
    CU_ASSERT_EQUAL(orchard_store_command_results(uuid, &results), 0);
    CU_ASSERT_EQUAL(results ? results->len : 0, 1);

    CU_ASSERT_EQUAL(authenticate("UDID-NOWAIT", "C02NOTINABM2"), 200);
    CU_ASSERT_EQUAL(token_update("UDID-NOWAIT", 0), 200);
    g_autofree char *none = NULL;
    g_autoptr(GBytes) none_plist = NULL;
    CU_ASSERT_EQUAL(orchard_store_command_next("UDID-NOWAIT", &none, &none_plist),
                    ORCHARD_ENOTFOUND);
    orchard_serve_state_set(defx_ctx, NULL);
}

/* ---- end to end: `orchard serve` and curl ---------------------------------------------- */

static int wait_for_output(int fd, const char *want)
{
    GString *seen = g_string_new(NULL);
    gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
    int found = 0;
    while (!found && g_get_monotonic_time() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char buf[512];
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        g_string_append_len(seen, buf, n);
        found = strstr(seen->str, want) != NULL;
    }
    if (!found)
        fprintf(stderr, "\n  serve said:\n%s\n", seen->str);
    g_string_free(seen, TRUE);
    return found;
}

/* curl `method` url with the file `body` (or none); the HTTP status or -1. */
static int curl_status(const char *curl, const char *method, const char *url, const char *body)
{
    g_autofree char *out = NULL;
    g_autofree char *data = body ? g_strconcat("@", body, NULL) : NULL;
    int rc = body ? RUN(&out, NULL, curl, "-sS", "--max-time", "20", "-X", method, "-H",
                        "Content-Type: application/pkcs7-signature", "--data-binary", data,
                        "-o", "body.bin", "-w", "%{http_code}", url)
                  : RUN(&out, NULL, curl, "-sS", "--max-time", "20", "-X", method, "-o",
                        "body.bin", "-w", "%{http_code}", url);
    return rc == 0 ? atoi(out) : -1;
}

static void write_bytes(const char *name, GBytes *b)
{
    g_autofree char *p = tmp_path(name);
    gsize len = 0;
    const char *d = g_bytes_get_data(b, &len);
    CU_ASSERT_FATAL(g_file_set_contents(p, d, (gssize)len, NULL));
}

static void test_e2e__serve(void)
{
    DEFX_NEED_STORE();
    g_autofree char *curl = g_find_program_in_path("curl");
    if (!curl) {
        fprintf(stderr, "\n  curl not found: end-to-end not tested\n");
        return;
    }
    int port = mdmfx_free_port();
    CU_ASSERT_FATAL(port > 0);
    g_autofree char *db = tmp_path("e2e.db");
    g_autofree char *address = g_strdup_printf("127.0.0.1:%d", port);
    /* The serve's store, seeded before it starts. */
    CU_ASSERT_EQUAL_FATAL(defx_reopen_store(db), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_server_store_migrate(), 0);
    defx_seed_device("C02DEPE2E001", 0);
    CU_ASSERT_EQUAL_FATAL(defx_reopen_store(defx_store_path), 0);
    g_autoptr(GBytes) good = mifx_machine_info(&defx_dev, "UDID-E2E", "C02DEPE2E001");
    g_autoptr(GBytes) unknown = mifx_machine_info(&defx_dev, "UDID-E2E2", "C02DEPE2E002");
    GBytes *big = g_bytes_new_take(g_malloc0(ORCHARD_MACHINE_INFO_MAX + 100),
                                   ORCHARD_MACHINE_INFO_MAX + 100);
    write_bytes("good.der", good);
    write_bytes("unknown.der", unknown);
    write_bytes("big.der", big);
    g_bytes_unref(big);

    const char *kv[] = {"store.sqlite", db, "server.address", address, NULL};
    g_autofree char *cfg_path = mdmfx_write_config(kv);
    const char *argv[] = {ORCHARD_BIN, "--config", cfg_path, "serve", NULL};
    GPid pid = 0;
    int out_fd = -1;
    CU_ASSERT_FATAL(g_spawn_async_with_pipes(tmp_dir, (char **)argv, NULL,
                                             G_SPAWN_DO_NOT_REAP_CHILD |
                                                 G_SPAWN_STDERR_TO_DEV_NULL,
                                             NULL, NULL, &pid, NULL, &out_fd, NULL, NULL));
    int up = wait_for_output(out_fd, "listening on");
    CU_ASSERT(up);
    if (up) {
        g_autofree char *url = g_strdup_printf("http://%s%s", address, PATH);
        g_autofree char *good_p = tmp_path("good.der"), *unknown_p = tmp_path("unknown.der"),
                        *big_p = tmp_path("big.der");
        CU_ASSERT_EQUAL(curl_status(curl, "POST", url, good_p), 200);
        g_autofree char *bp = tmp_path("body.bin");
        g_autofree char *body = NULL;
        gsize len = 0;
        CU_ASSERT(g_file_get_contents(bp, &body, &len, NULL));
        plist_t root = body ? parse_xml(body, len) : NULL;
        CU_ASSERT_PTR_NOT_NULL(root);
        plist_free(root);
        CU_ASSERT_EQUAL(curl_status(curl, "POST", url, unknown_p), 403);
        CU_ASSERT_EQUAL(curl_status(curl, "POST", url, big_p), 413);
        CU_ASSERT_EQUAL(curl_status(curl, "GET", url, NULL), 405);
    }
    kill(pid, SIGTERM);
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    g_spawn_close_pid(pid);
    close(out_fd);
}

void dep_enroll_suite(void)
{
    ORCHARD_ADD_SUITE("dep_enroll", defx_init, defx_cleanup,
                      {"route__known_serial", test_route__known_serial},
                      {"route__not_assigned", test_route__not_assigned},
                      {"route__bad_bodies", test_route__bad_bodies},
                      {"route__store_failure", test_route__store_failure},
                      {"route__rate_limit", test_route__rate_limit},
                      {"route__host_405_413", test_route__host_405_413},
                      {"checkin__dep_enrolled_default_team",
                       test_checkin__dep_enrolled_default_team},
                      {"checkin__missing_default_team", test_checkin__missing_default_team},
                      {"checkin__manual_is_not_dep", test_checkin__manual_is_not_dep},
                      {"checkin__device_configured", test_checkin__device_configured},
                      {"e2e__serve", test_e2e__serve});
}
