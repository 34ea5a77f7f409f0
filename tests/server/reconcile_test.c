/* reconcile: the profile reconciler's passes (server_plugin/profiles/
 * reconcile.c, reconcile_plan.c) on a fresh store per test: two teams and
 * "No team", profiles and hosts inserted directly, passes called
 * in-process, device reports through orchard_profiles_report. Runs on
 * PostgreSQL too (reconcile_postgres). */
#include "host/plugins/plugin_ctx.h"
#include "server_plugin/profiles/profiles.h"
#include "server_plugin/profiles/reconcile.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_sql.h"
#include "server_plugin/updates/updates.h"
#include "tests/server/reconcile_fixture.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#define H1 "RC-HOST-1" /* team 1, macOS 13.6 */
#define H2 "RC-HOST-2" /* team 1, macOS 14.4.1 */
#define H3 "RC-HOST-3" /* team 2 */
#define H4 "RC-HOST-4" /* no team, version unknown */
#define HOFF "RC-HOST-OFF" /* team 1, not enrolled */
#define WIFI "com.example.wifi"
#define VPN "com.example.vpn"
#define DOCK "com.example.dock"
#define GLOBAL "com.example.global"

static void world(void)
{
    rfx_open();
    rfx_team(1, "Engineering");
    rfx_team(2, "Sales");
    rfx_host(H1, 1, "13.6", 1);
    rfx_host(H2, 1, "14.4.1", 1);
    rfx_host(H3, 2, "14.0", 1);
    rfx_host(H4, 0, NULL, 1);
    rfx_host(HOFF, 1, "14.0", 0);
    rfx_profile(11, 1, "custom", WIFI, "Wi-Fi", "UUID-A", NULL);
    rfx_profile(12, 1, "custom", VPN, "VPN", "UUID-B", NULL);
    rfx_profile(21, 2, "custom", DOCK, "Dock", "UUID-C", NULL);
    rfx_profile(1, 0, "custom", GLOBAL, "Global", "UUID-D", NULL);
}

static void expect_str(char *got, const char *want)
{
    if (!got || strcmp(got, want) != 0)
        fprintf(stderr, "\n  wanted \"%s\", got \"%s\"\n", want, got ? got : "(none)");
    CU_ASSERT_PTR_NOT_NULL(got);
    if (got)
        CU_ASSERT_STRING_EQUAL(got, want);
    g_free(got);
}

static void expect_none(char *got)
{
    if (got)
        fprintf(stderr, "\n  wanted no row, got \"%s\"\n", got);
    CU_ASSERT_PTR_NULL(got);
    g_free(got);
}

static int blob_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    size_t len = 0;
    const void *b = h->stmt_column_blob(st, 0, &len);
    *(GBytes **)out = g_bytes_new(b, len);
    return 0;
}

/* The command plist queued under `uuid`, parsed (plist_free). */
static plist_t command_of(const char *uuid)
{
    GBytes *b = NULL;
    int rc = orchard_sstore_read_one("a test read", "SELECT command FROM mdm_commands WHERE "
                                     "command_uuid = ?", SQL_PARAMS(SQL_TEXT(uuid)), blob_row, &b);
    CU_ASSERT_FATAL(rc == 0);
    gsize len = 0;
    const char *xml = g_bytes_get_data(b, &len);
    plist_t root = NULL;
    plist_from_xml(xml, (uint32_t)len, &root);
    g_bytes_unref(b);
    CU_ASSERT_FATAL(root != NULL);
    return root;
}

static const char *cmd_string(plist_t root, const char *key)
{
    plist_t c = plist_dict_get_item(root, "Command");
    plist_t v = c ? plist_dict_get_item(c, key) : NULL;
    return v ? plist_get_string_ptr(v, NULL) : NULL;
}

/* Acknowledge the row's current command. */
static void ack(const char *udid, const char *identifier, gint64 now)
{
    g_autofree char *uuid = rfx_row(udid, identifier, "command_uuid");
    CU_ASSERT_FATAL(uuid != NULL);
    CU_ASSERT_EQUAL(rfx_report(udid, uuid, "Acknowledged", NULL, now), 0);
}

static void test_first_pass(void)
{
    world();
    orchard_rc_stats st = rfx_pass(RFX_T0);
    CU_ASSERT_EQUAL(st.hosts, 4);
    CU_ASSERT_EQUAL(st.installs, 6);
    CU_ASSERT_EQUAL(st.removes, 0);
    CU_ASSERT_EQUAL(st.lists, 0);
    /* One InstallProfile per profile, queued for every host that needs it. */
    CU_ASSERT_EQUAL(rfx_commands("InstallProfile"), 4);
    CU_ASSERT_EQUAL(rfx_queued(H1, "InstallProfile"), 2);
    CU_ASSERT_EQUAL(rfx_queued(H2, "InstallProfile"), 2);
    CU_ASSERT_EQUAL(rfx_queued(H3, "InstallProfile"), 1);
    CU_ASSERT_EQUAL(rfx_queued(H4, "InstallProfile"), 1);
    CU_ASSERT_EQUAL(rfx_queued(HOFF, "InstallProfile"), 0);
    expect_str(rfx_row(H1, WIFI, "status"), "pending");
    expect_str(rfx_row(H1, WIFI, "operation"), "install");
    expect_str(rfx_row(H1, WIFI, "payload_uuid"), "UUID-A");
    expect_str(rfx_row(H1, WIFI, "name"), "Wi-Fi");
    expect_str(rfx_row(H1, WIFI, "profile_id"), "11");
    expect_str(rfx_row(H3, DOCK, "status"), "pending");
    expect_str(rfx_row(H4, GLOBAL, "status"), "pending");
    expect_none(rfx_row(H3, WIFI, "status"));
    expect_none(rfx_row(H1, DOCK, "status"));
    expect_none(rfx_row(HOFF, WIFI, "status"));
    /* Both team-1 hosts share the Wi-Fi command, whose Payload is the upload. */
    g_autofree char *u1 = rfx_row(H1, WIFI, "command_uuid");
    g_autofree char *u2 = rfx_row(H2, WIFI, "command_uuid");
    CU_ASSERT_FATAL(u1 && u2);
    CU_ASSERT_STRING_EQUAL(u1, u2);
    CU_ASSERT_TRUE(g_str_has_prefix(u1, ORCHARD_PROFILES_UUID_PREFIX "I-"));
    plist_t cmd = command_of(u1);
    CU_ASSERT_STRING_EQUAL(cmd_string(cmd, "RequestType"), "InstallProfile");
    CU_ASSERT_STRING_EQUAL(plist_get_string_ptr(plist_dict_get_item(cmd, "CommandUUID"), NULL),
                           u1);
    plist_t payload = plist_dict_get_item(plist_dict_get_item(cmd, "Command"), "Payload");
    CU_ASSERT_FATAL(payload && plist_get_node_type(payload) == PLIST_DATA);
    uint64_t len = 0;
    const char *data = plist_get_data_ptr(payload, &len);
    g_autofree char *want = rfx_mobileconfig(WIFI, "Wi-Fi", "UUID-A", NULL);
    CU_ASSERT_EQUAL(len, strlen(want));
    CU_ASSERT(len == strlen(want) && memcmp(data, want, len) == 0);
    plist_free(cmd);
    /* The hosts given commands are woken. */
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM apns_push_queue", NULL), 4);

    /* Nothing changed: nothing to do. */
    st = rfx_pass(RFX_T0 + 1);
    CU_ASSERT_EQUAL(st.installs + st.removes + st.lists + st.commands, 0);
    CU_ASSERT_EQUAL(rfx_commands("InstallProfile"), 4);
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM mdm_command_queue", NULL), 6);
    rfx_close();
}

static void test_ack_and_verify(void)
{
    world();
    rfx_pass(RFX_T0);
    ack(H1, WIFI, RFX_T0 + 1);
    ack(H1, VPN, RFX_T0 + 1);
    ack(H2, WIFI, RFX_T0 + 1);
    expect_str(rfx_row(H1, WIFI, "status"), "verifying");
    expect_str(rfx_row(H2, VPN, "status"), "pending");
    /* Acknowledged installs are checked with one ProfileList per host. */
    orchard_rc_stats st = rfx_pass(RFX_T0 + 2);
    CU_ASSERT_EQUAL(st.lists, 2);
    CU_ASSERT_EQUAL(rfx_commands("ProfileList"), 1);
    CU_ASSERT_EQUAL(rfx_queued(H1, "ProfileList"), 1);
    CU_ASSERT_EQUAL(rfx_queued(H3, "ProfileList"), 0);
    CU_ASSERT_EQUAL(rfx_int("SELECT profile_list_asked_at FROM mdm_enrollments WHERE udid = ?",
                            H1, NULL), RFX_T0 + 2);
    /* Never a second while one is outstanding, even with a newer ack. */
    ack(H2, VPN, RFX_T0 + 3);
    st = rfx_pass(RFX_T0 + 3);
    CU_ASSERT_EQUAL(st.lists, 0);
    g_autofree char *list = rfx_text("SELECT command_uuid FROM mdm_commands WHERE "
                                     "request_type = 'ProfileList'", NULL);
    CU_ASSERT_FATAL(list != NULL);
    CU_ASSERT_TRUE(g_str_has_prefix(list, ORCHARD_PROFILES_UUID_PREFIX "L-"));
    /* The answer verifies what it lists with the same identifier and PayloadUUID. */
    plist_t answer = rfx_profile_list(WIFI, "UUID-A", VPN, "UUID-B", "com.other", "X", NULL);
    CU_ASSERT_EQUAL(rfx_report(H1, list, "Acknowledged", answer, RFX_T0 + 4), 0);
    expect_str(rfx_row(H1, WIFI, "status"), "verified");
    expect_str(rfx_row(H1, VPN, "status"), "verified");
    CU_ASSERT_EQUAL(rfx_int("SELECT profile_list_at FROM mdm_enrollments WHERE udid = ?", H1,
                            NULL), RFX_T0 + 4);
    /* A Mac runs its commands one at a time: everything acknowledged
     * before its answer ran before the list. H2's VPN is missing: sent again. */
    answer = rfx_profile_list(WIFI, "UUID-A", NULL);
    CU_ASSERT_EQUAL(rfx_report(H2, list, "Acknowledged", answer, RFX_T0 + 4), 0);
    expect_str(rfx_row(H2, WIFI, "status"), "verified");
    expect_str(rfx_row(H2, VPN, "status"), "pending");
    expect_str(rfx_row(H2, VPN, "retries"), "1");
    st = rfx_pass(RFX_T0 + 5);
    CU_ASSERT_EQUAL(st.lists, 0);
    CU_ASSERT_EQUAL(rfx_queued(H2, "ProfileList"), 1);
    CU_ASSERT_EQUAL(rfx_queued(H1, "ProfileList"), 1);
    CU_ASSERT_EQUAL(rfx_pass(RFX_T0 + 6).lists, 0);
    /* Once a day every host with profiles is checked again. */
    st = rfx_pass(RFX_T0 + ORCHARD_PROFILES_LIST_MAX_AGE + 10);
    CU_ASSERT_EQUAL(st.lists, 2);
    CU_ASSERT_EQUAL(rfx_queued(H3, "ProfileList"), 0); /* nothing acknowledged to check */
    rfx_close();
}

/* 2026-12-06 (found by the end-to-end test): an install acknowledged in
 * the same second as the last ProfileList was asked was never asked about
 * again (times are whole seconds), and stayed verifying for a day. */
static void test_ack_in_the_second_of_the_ask(void)
{
    world();
    rfx_pass(RFX_T0);
    ack(H1, WIFI, RFX_T0 + 1);
    CU_ASSERT_EQUAL(rfx_pass(RFX_T0 + 2).lists, 1);
    g_autofree char *list = rfx_text("SELECT command_uuid FROM mdm_commands WHERE "
                                     "request_type = 'ProfileList'", NULL);
    plist_t answer = rfx_profile_list(WIFI, "UUID-A", NULL);
    CU_ASSERT_EQUAL(rfx_report(H1, list, "Acknowledged", answer, RFX_T0 + 2), 0);
    ack(H1, VPN, RFX_T0 + 2); /* the second the list was asked in */
    expect_str(rfx_row(H1, VPN, "status"), "verifying");
    CU_ASSERT_EQUAL(rfx_pass(RFX_T0 + 3).lists, 1);
    CU_ASSERT_EQUAL(rfx_queued(H1, "ProfileList"), 2);
    rfx_close();
}

static void test_verify_missing(void)
{
    world();
    rfx_pass(RFX_T0);
    ack(H1, WIFI, RFX_T0 + 1);
    ack(H1, VPN, RFX_T0 + 1);
    CU_ASSERT_EQUAL(rfx_pass(RFX_T0 + 2).lists, 1);
    g_autofree char *list = rfx_text("SELECT command_uuid FROM mdm_commands WHERE "
                                     "request_type = 'ProfileList'", NULL);
    g_autofree char *first = rfx_row(H1, VPN, "command_uuid");
    /* A wrong PayloadUUID is not the profile sent. */
    plist_t answer = rfx_profile_list(WIFI, "UUID-A", VPN, "UUID-OLD", NULL);
    CU_ASSERT_EQUAL(rfx_report(H1, list, "Acknowledged", answer, RFX_T0 + 3), 0);
    expect_str(rfx_row(H1, WIFI, "status"), "verified");
    expect_str(rfx_row(H1, VPN, "status"), "pending");
    expect_str(rfx_row(H1, VPN, "retries"), "1");
    g_autofree char *second = rfx_row(H1, VPN, "command_uuid");
    CU_ASSERT_STRING_NOT_EQUAL(first, second);
    CU_ASSERT_EQUAL(rfx_queued(H1, "InstallProfile"), 3);
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM mdm_command_queue WHERE command_uuid = ?",
                            second, NULL), 1);
    ack(H1, VPN, RFX_T0 + 4);
    CU_ASSERT_EQUAL(rfx_pass(RFX_T0 + 5).lists, 1);
    g_autofree char *list2 = rfx_text("SELECT q.command_uuid FROM mdm_command_queue q JOIN "
                                      "mdm_commands c ON c.command_uuid = q.command_uuid WHERE "
                                      "c.request_type = 'ProfileList' AND q.status = 'Pending'",
                                      NULL);
    CU_ASSERT_FATAL(list2 != NULL);
    answer = rfx_profile_list(WIFI, "UUID-A", NULL);
    CU_ASSERT_EQUAL(rfx_report(H1, list2, "Acknowledged", answer, RFX_T0 + 6), 0);
    expect_str(rfx_row(H1, VPN, "status"), "failed");
    expect_str(rfx_row(H1, VPN, "detail"), "profile not found on the host");
    expect_str(rfx_row(H1, WIFI, "status"), "verified");
    rfx_close();
}

static void test_error_retry_then_fail(void)
{
    world();
    rfx_pass(RFX_T0);
    g_autofree char *u1 = rfx_row(H1, WIFI, "command_uuid");
    plist_t chain = rfx_error_chain(4001, "MCProfileErrorDomain",
                                    "The profile \xe2\x80\x9cWi-Fi\xe2\x80\x9d could not be installed.");
    CU_ASSERT_EQUAL(rfx_report(H1, u1, "Error", chain, RFX_T0 + 1), 0);
    expect_str(rfx_row(H1, WIFI, "status"), "pending");
    expect_str(rfx_row(H1, WIFI, "retries"), "1");
    g_autofree char *u2 = rfx_row(H1, WIFI, "command_uuid");
    CU_ASSERT_STRING_NOT_EQUAL(u1, u2);
    /* The retry is a command for that host alone, with the same payload. */
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM mdm_command_queue WHERE command_uuid = ?", u2,
                            NULL), 1);
    CU_ASSERT_EQUAL(rfx_queued(H1, "InstallProfile"), 3);
    expect_str(rfx_row(H2, WIFI, "status"), "pending");
    plist_t c1 = command_of(u1), c2 = command_of(u2);
    uint64_t l1 = 0, l2 = 0;
    const char *p1 = plist_get_data_ptr(plist_dict_get_item(plist_dict_get_item(c1, "Command"),
                                                            "Payload"), &l1);
    const char *p2 = plist_get_data_ptr(plist_dict_get_item(plist_dict_get_item(c2, "Command"),
                                                            "Payload"), &l2);
    CU_ASSERT(l1 == l2 && l1 > 0 && memcmp(p1, p2, l1) == 0);
    plist_free(c1);
    plist_free(c2);
    /* A late answer on the superseded command changes nothing. */
    CU_ASSERT_EQUAL(rfx_report(H1, u1, "Acknowledged", NULL, RFX_T0 + 2), 0);
    expect_str(rfx_row(H1, WIFI, "status"), "pending");
    /* The second failure is final, with the ErrorChain's words. */
    chain = rfx_error_chain(4001, "MCProfileErrorDomain",
                            "The profile \xe2\x80\x9cWi-Fi\xe2\x80\x9d could not be installed.");
    CU_ASSERT_EQUAL(rfx_report(H1, u2, "Error", chain, RFX_T0 + 3), 0);
    expect_str(rfx_row(H1, WIFI, "status"), "failed");
    expect_str(rfx_row(H1, WIFI, "detail"),
               "The profile \xe2\x80\x9cWi-Fi\xe2\x80\x9d could not be installed. "
               "(MCProfileErrorDomain 4001)");
    /* A failed install of unchanged content is not retried by the passes. */
    orchard_rc_stats st = rfx_pass(RFX_T0 + 4);
    CU_ASSERT_EQUAL(st.installs, 0);
    expect_str(rfx_row(H1, WIFI, "status"), "failed");
    /* CommandFormatError counts as an error. */
    g_autofree char *h2u = rfx_row(H2, VPN, "command_uuid");
    CU_ASSERT_EQUAL(rfx_report(H2, h2u, "CommandFormatError", NULL, RFX_T0 + 5), 0);
    expect_str(rfx_row(H2, VPN, "retries"), "1");
    expect_str(rfx_row(H2, VPN, "status"), "pending");
    rfx_close();
}

static void test_delete_removes(void)
{
    world();
    rfx_pass(RFX_T0);
    ack(H1, WIFI, RFX_T0 + 1);
    ack(H2, WIFI, RFX_T0 + 1);
    /* H3's Dock fails twice: it never reached the Mac. */
    for (int i = 0; i < 2; i++) {
        g_autofree char *u = rfx_row(H3, DOCK, "command_uuid");
        CU_ASSERT_EQUAL(rfx_report(H3, u, "Error", NULL, RFX_T0 + 1), 0);
    }
    expect_str(rfx_row(H3, DOCK, "status"), "failed");
    rfx_sql("DELETE FROM mdm_profiles WHERE identifier = ? OR identifier = ?", WIFI, DOCK, NULL);
    orchard_rc_stats st = rfx_pass(RFX_T0 + 2);
    CU_ASSERT_EQUAL(st.removes, 2);
    CU_ASSERT_EQUAL(st.installs, 0);
    CU_ASSERT_EQUAL(rfx_commands("RemoveProfile"), 1);
    expect_str(rfx_row(H1, WIFI, "operation"), "remove");
    expect_str(rfx_row(H1, WIFI, "status"), "pending");
    expect_none(rfx_row(H1, WIFI, "profile_id"));
    expect_none(rfx_row(H3, DOCK, "status")); /* deleted without a command */
    CU_ASSERT_EQUAL(rfx_queued(H3, "RemoveProfile"), 0);
    g_autofree char *u = rfx_row(H1, WIFI, "command_uuid");
    CU_ASSERT_TRUE(g_str_has_prefix(u, ORCHARD_PROFILES_UUID_PREFIX "R-"));
    plist_t cmd = command_of(u);
    CU_ASSERT_STRING_EQUAL(cmd_string(cmd, "RequestType"), "RemoveProfile");
    CU_ASSERT_STRING_EQUAL(cmd_string(cmd, "Identifier"), WIFI);
    plist_free(cmd);
    /* The removal is queued once even if the next pass comes first. */
    CU_ASSERT_EQUAL(rfx_pass(RFX_T0 + 3).removes, 0);
    /* Acknowledged: gone. An error: the failed removal stays in view. */
    CU_ASSERT_EQUAL(rfx_report(H1, u, "Acknowledged", NULL, RFX_T0 + 4), 0);
    expect_none(rfx_row(H1, WIFI, "status"));
    plist_t chain = rfx_error_chain(89, "MDMClientError", "Profile not removable");
    CU_ASSERT_EQUAL(rfx_report(H2, u, "Error", chain, RFX_T0 + 4), 0);
    expect_str(rfx_row(H2, WIFI, "status"), "failed");
    expect_str(rfx_row(H2, WIFI, "operation"), "remove");
    expect_str(rfx_row(H2, WIFI, "detail"), "Profile not removable (MDMClientError 89)");
    CU_ASSERT_EQUAL(rfx_pass(RFX_T0 + 5).removes, 0);
    /* Uploaded again, it goes back onto the host whose removal failed. */
    rfx_profile(13, 1, "custom", WIFI, "Wi-Fi", "UUID-A", NULL);
    st = rfx_pass(RFX_T0 + 6);
    CU_ASSERT_EQUAL(st.installs, 2);
    expect_str(rfx_row(H2, WIFI, "operation"), "install");
    expect_str(rfx_row(H2, WIFI, "detail"), "");
    rfx_close();
}

static void test_move_host(void)
{
    world();
    /* One profile both teams have, byte for byte. */
    rfx_profile(15, 1, "custom", "com.example.shared", "Shared", "UUID-S", NULL);
    rfx_profile(25, 2, "custom", "com.example.shared", "Shared", "UUID-S", NULL);
    rfx_pass(RFX_T0);
    ack(H1, WIFI, RFX_T0 + 1);
    ack(H1, VPN, RFX_T0 + 1);
    rfx_sql("UPDATE mdm_enrollments SET team_id = 2 WHERE udid = ?", H1, NULL);
    orchard_rc_stats st = rfx_pass(RFX_T0 + 2);
    CU_ASSERT_EQUAL(st.installs, 1); /* the Dock; the shared profile stays */
    CU_ASSERT_EQUAL(st.removes, 2);
    expect_str(rfx_row(H1, DOCK, "status"), "pending");
    expect_str(rfx_row(H1, WIFI, "operation"), "remove");
    expect_str(rfx_row(H1, VPN, "operation"), "remove");
    expect_str(rfx_row(H1, "com.example.shared", "operation"), "install");
    expect_str(rfx_row(H1, "com.example.shared", "profile_id"), "25");
    CU_ASSERT_EQUAL(rfx_queued(H1, "RemoveProfile"), 2);
    expect_str(rfx_row(H2, WIFI, "operation"), "install");
    st = rfx_pass(RFX_T0 + 3);
    CU_ASSERT_EQUAL(st.installs + st.removes, 0);
    rfx_close();
}

static void test_changed_checksum(void)
{
    world();
    rfx_pass(RFX_T0);
    ack(H1, WIFI, RFX_T0 + 1);
    g_autofree char *u = rfx_row(H2, WIFI, "command_uuid");
    CU_ASSERT_EQUAL(rfx_report(H2, u, "Error", NULL, RFX_T0 + 1), 0);
    expect_str(rfx_row(H2, WIFI, "retries"), "1");
    rfx_profile_edit(11, "UUID-A2");
    orchard_rc_stats st = rfx_pass(RFX_T0 + 2);
    CU_ASSERT_EQUAL(st.installs, 2);
    CU_ASSERT_EQUAL(rfx_commands("InstallProfile"), 6); /* 4, H2's retry, the new Wi-Fi */
    expect_str(rfx_row(H1, WIFI, "status"), "pending");
    expect_str(rfx_row(H1, WIFI, "payload_uuid"), "UUID-A2");
    expect_str(rfx_row(H2, WIFI, "retries"), "0");
    g_autofree char *nu = rfx_row(H1, WIFI, "command_uuid");
    plist_t cmd = command_of(nu);
    uint64_t len = 0;
    const char *data = plist_get_data_ptr(plist_dict_get_item(plist_dict_get_item(cmd, "Command"),
                                                              "Payload"), &len);
    CU_ASSERT_PTR_NOT_NULL(g_strstr_len(data, (gssize)len, "UUID-A2"));
    plist_free(cmd);
    CU_ASSERT_EQUAL(rfx_pass(RFX_T0 + 3).installs, 0);
    rfx_close();
}

static void test_applies(void)
{
    orchard_hp_profile p = {.applies_below = "14.4"};
    CU_ASSERT_TRUE(orchard_rc_applies(&p, "13.6"));
    CU_ASSERT_TRUE(orchard_rc_applies(&p, "14.3.99"));
    CU_ASSERT_FALSE(orchard_rc_applies(&p, "14.4"));
    CU_ASSERT_FALSE(orchard_rc_applies(&p, "14.4.0"));
    CU_ASSERT_FALSE(orchard_rc_applies(&p, "15.0"));
    CU_ASSERT_FALSE(orchard_rc_applies(&p, NULL));
    CU_ASSERT_FALSE(orchard_rc_applies(&p, ""));
    CU_ASSERT_FALSE(orchard_rc_applies(&p, "Sonoma"));
    p.applies_below = NULL;
    CU_ASSERT_TRUE(orchard_rc_applies(&p, NULL));
}

static void test_nudge(void)
{
    world();
    rfx_host("RC-HOST-5", 1, NULL, 1);
    rfx_host("RC-HOST-6", 1, "not a version", 1);
    rfx_profile(31, 1, "nudge", ORCHARD_NUDGE_PROFILE_IDENTIFIER, "Nudge", "UUID-N", "14.4");
    rfx_pass(RFX_T0);
    expect_str(rfx_row(H1, ORCHARD_NUDGE_PROFILE_IDENTIFIER, "status"), "pending"); /* 13.6 */
    expect_none(rfx_row(H2, ORCHARD_NUDGE_PROFILE_IDENTIFIER, "status"));          /* 14.4.1 */
    expect_none(rfx_row("RC-HOST-5", ORCHARD_NUDGE_PROFILE_IDENTIFIER, "status"));
    expect_none(rfx_row("RC-HOST-6", ORCHARD_NUDGE_PROFILE_IDENTIFIER, "status"));
    expect_none(rfx_row(H3, ORCHARD_NUDGE_PROFILE_IDENTIFIER, "status")); /* other team */
    expect_str(rfx_row("RC-HOST-5", WIFI, "status"), "pending");
    ack(H1, ORCHARD_NUDGE_PROFILE_IDENTIFIER, RFX_T0 + 1);
    /* H1 reaches the minimum; H2 is found older than it. */
    rfx_sql("UPDATE mdm_enrollments SET os_version = '14.4' WHERE udid = ?", H1, NULL);
    rfx_sql("UPDATE mdm_enrollments SET os_version = '14.3.1' WHERE udid = ?", H2, NULL);
    orchard_rc_stats st = rfx_pass(RFX_T0 + 2);
    CU_ASSERT_EQUAL(st.removes, 1);
    CU_ASSERT_EQUAL(st.installs, 1);
    expect_str(rfx_row(H1, ORCHARD_NUDGE_PROFILE_IDENTIFIER, "operation"), "remove");
    expect_str(rfx_row(H2, ORCHARD_NUDGE_PROFILE_IDENTIFIER, "operation"), "install");
    rfx_close();
}

static void test_reauthenticate(void)
{
    static const unsigned char tok[] = {1, 2, 3, 4};
    orchard_device_auth a = {.udid = "RC-AUTH", .cert_sha256 = "c0ffee", .os_version = "14.1",
                             .topic = "com.apple.mgmt.External.x"};
    world();
    CU_ASSERT_FATAL(orchard_store_device_authenticate(&a, RFX_T0, NULL) == 0);
    CU_ASSERT_FATAL(orchard_store_device_token_update("RC-AUTH", tok, sizeof tok, "magic", NULL,
                                                      0, 0, RFX_T0) == 0);
    rfx_sql("UPDATE mdm_enrollments SET team_id = 1 WHERE udid = ?", "RC-AUTH", NULL);
    rfx_pass(RFX_T0);
    ack("RC-AUTH", WIFI, RFX_T0 + 1);
    rfx_pass(RFX_T0 + 2);
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM mdm_host_profiles WHERE udid = ?", "RC-AUTH",
                            NULL), 2);
    CU_ASSERT_EQUAL(rfx_int("SELECT profile_list_asked_at FROM mdm_enrollments WHERE udid = ?",
                            "RC-AUTH", NULL), RFX_T0 + 2);
    /* A fresh enrollment: the Mac's profiles went with the old one. */
    CU_ASSERT_FATAL(orchard_store_device_authenticate(&a, RFX_T0 + 3, NULL) == 0);
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM mdm_host_profiles WHERE udid = ?", "RC-AUTH",
                            NULL), 0);
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM mdm_host_profiles", NULL), 6);
    g_autofree char *asked = rfx_text("SELECT profile_list_asked_at FROM mdm_enrollments WHERE "
                                      "udid = ?", "RC-AUTH", NULL);
    CU_ASSERT_PTR_NULL(asked);
    CU_ASSERT_EQUAL(rfx_int("SELECT team_id FROM mdm_enrollments WHERE udid = ?", "RC-AUTH",
                            NULL), 1);
    CU_ASSERT_EQUAL(rfx_pass(RFX_T0 + 4).installs, 0); /* not enrolled until TokenUpdate */
    CU_ASSERT_FATAL(orchard_store_device_token_update("RC-AUTH", tok, sizeof tok, "magic", NULL,
                                                      0, 0, RFX_T0 + 5) == 0);
    CU_ASSERT_EQUAL(rfx_pass(RFX_T0 + 5).installs, 2);
    rfx_close();
}

static void touch_marker(void)
{
    orchard_store_tx *tx = NULL;
    CU_ASSERT_FATAL(orchard_sstore_begin(1, "a test touch", &tx) == 0);
    CU_ASSERT_EQUAL(orchard_sstore_desired_touch(tx), 0);
    CU_ASSERT_EQUAL(orchard_sstore_end(tx, 0, "a test touch", 0), 0);
}

static void test_job(void)
{
    const orchard_job *j = &orchard_job_profiles_reconcile;
    orchard_ctx *ctx = orchard_ctx_host();
    CU_ASSERT_STRING_EQUAL(j->name, ORCHARD_PROFILES_JOB);
    CU_ASSERT(j->flags & ORCHARD_JOB_ONE_INSTANCE);
    CU_ASSERT(j->interval_seconds > 0 && j->interval_seconds <= 5);
    world();
    /* The first run is a full pass. */
    CU_ASSERT_EQUAL(j->run2(ctx, j->payload), 0);
    CU_ASSERT_EQUAL(rfx_commands("InstallProfile"), 4);
    /* A change without the marker waits for the interval... */
    rfx_profile(13, 1, "custom", "com.example.new1", "New 1", "UUID-N1", NULL);
    CU_ASSERT_EQUAL(j->run2(ctx, j->payload), 0);
    CU_ASSERT_EQUAL(rfx_commands("InstallProfile"), 4);
    /* ... the marker starts a pass at once ... */
    touch_marker();
    CU_ASSERT_EQUAL(j->run2(ctx, j->payload), 0);
    CU_ASSERT_EQUAL(rfx_commands("InstallProfile"), 5);
    CU_ASSERT_EQUAL(j->run2(ctx, j->payload), 0);
    CU_ASSERT_EQUAL(rfx_commands("InstallProfile"), 5);
    /* ... and so does a request (an enrollment). */
    rfx_profile(14, 1, "custom", "com.example.new2", "New 2", "UUID-N2", NULL);
    orchard_profiles_request_pass(ctx);
    CU_ASSERT_EQUAL(j->run2(ctx, j->payload), 0);
    CU_ASSERT_EQUAL(rfx_commands("InstallProfile"), 6);
    rfx_close();
}

/* More host rows than one write transaction takes: still one command per
 * profile, every host queued once, and a second pass finds nothing. */
static void test_many_hosts(void)
{
    enum { N = 2300 };
    world();
    orchard_store_tx *tx = NULL;
    CU_ASSERT_FATAL(orchard_sstore_begin(1, "test hosts", &tx) == 0);
    for (int i = 0; i < N; i++) {
        g_autofree char *udid = g_strdup_printf("RC-MANY-%05d", i);
        gint64 w = orchard_sstore_exec(tx, "INSERT INTO mdm_enrollments (udid, cert_sha256, "
                                       "os_version, enabled, team_id, created_at, updated_at) "
                                       "VALUES (?, ?, '14.0', 1, 1, 1, 1)",
                                       SQL_PARAMS(SQL_TEXT(udid), SQL_TEXT(udid)));
        CU_ASSERT_FATAL(w == 1);
    }
    CU_ASSERT_FATAL(orchard_sstore_end(tx, 0, "test hosts", 0) == 0);
    gint64 t0 = g_get_monotonic_time();
    orchard_rc_stats st = rfx_pass(RFX_T0);
    double ms = (double)(g_get_monotonic_time() - t0) / 1000.0;
    CU_ASSERT_EQUAL(st.installs, 2 * N + 6);
    CU_ASSERT_EQUAL(rfx_commands("InstallProfile"), 4);
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM mdm_command_queue", NULL), 2 * N + 6);
    CU_ASSERT_EQUAL(rfx_int("SELECT count(*) FROM mdm_host_profiles WHERE status = 'pending'",
                            NULL), 2 * N + 6);
    CU_ASSERT_EQUAL(rfx_int("SELECT count(DISTINCT udid) FROM apns_push_queue", NULL), N + 4);
    t0 = g_get_monotonic_time();
    st = rfx_pass(RFX_T0 + 1);
    double idle_ms = (double)(g_get_monotonic_time() - t0) / 1000.0;
    CU_ASSERT_EQUAL(st.installs + st.removes + st.lists, 0);
    fprintf(stderr, "\n  %d hosts: first pass %.0f ms, idle pass %.0f ms ", N, ms, idle_ms);
    rfx_close();
}

void reconcile_suite(void)
{
    ORCHARD_ADD_SUITE("reconcile", NULL, NULL,
                      {"first pass queues each host's team profiles, a second nothing",
                       test_first_pass},
                      {"acknowledged installs verify through ProfileList", test_ack_and_verify},
                      {"an install acknowledged in the second of the ask is asked about",
                       test_ack_in_the_second_of_the_ask},
                      {"a profile missing from ProfileList is retried once, then failed",
                       test_verify_missing},
                      {"an Error retries once, then fails with the ErrorChain",
                       test_error_retry_then_fail},
                      {"a deleted profile is removed from its hosts", test_delete_removes},
                      {"moving a host to another team swaps its profiles", test_move_host},
                      {"a changed profile is reinstalled", test_changed_checksum},
                      {"version bounds", test_applies},
                      {"the Nudge profile applies below its version only", test_nudge},
                      {"a new Authenticate clears the host's profiles", test_reauthenticate},
                      {"the job: marker, interval, requests", test_job},
                      {"more hosts than one transaction", test_many_hosts});
}
