/* profile_reports: devices' reports on the reconciler's commands
 * (server_plugin/profiles/profile_reports.c) when they are odd or hostile:
 * no ErrorChain, an ErrorChain of the wrong shape, huge or with control
 * characters and broken UTF-8, ProfileList answers that are not arrays,
 * entries that are not dicts, a huge list, unknown kinds, repeated and
 * NotNow reports. A report must never crash, and a malformed one changes
 * nothing it cannot read. Runs on PostgreSQL too (profile_reports_postgres). */
#include "server_plugin/profiles/profiles.h"
#include "server_plugin/profiles/reconcile.h"
#include "tests/server/reconcile_fixture.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <string.h>

#define MAC "PR-HOST-1"
#define MAC2 "PR-HOST-2"
#define WIFI "com.example.wifi"

/* One team-0 profile on two Macs, queued. */
static void world(void)
{
    rfx_open();
    rfx_host(MAC, 0, "14.0", 1);
    rfx_host(MAC2, 0, "14.0", 1);
    rfx_profile(1, 0, "custom", WIFI, "Wi-Fi", "UUID-A", NULL);
    CU_ASSERT_EQUAL(rfx_pass(RFX_T0).installs, 2);
}

static char *row(const char *field)
{
    return rfx_row(MAC, WIFI, field);
}

/* Report Error twice (retry, then final) with `extra` on the second; the
 * detail that stays. g_free. */
static char *final_detail(plist_t extra)
{
    g_autofree char *u1 = row("command_uuid");
    CU_ASSERT_EQUAL(rfx_report(MAC, u1, "Error", NULL, RFX_T0 + 1), 0);
    g_autofree char *u2 = row("command_uuid");
    CU_ASSERT_EQUAL(rfx_report(MAC, u2, "Error", extra, RFX_T0 + 2), 0);
    g_autofree char *status = row("status");
    CU_ASSERT_STRING_EQUAL(status, "failed");
    return row("detail");
}

static void test_no_chain(void)
{
    world();
    g_autofree char *d = final_detail(NULL);
    CU_ASSERT_STRING_EQUAL(d, "the device answered Error without an ErrorChain");
    rfx_close();
}

static void test_chain_wrong_shapes(void)
{
    world();
    plist_t extra = plist_new_dict();
    plist_dict_set_item(extra, "ErrorChain", plist_new_string("not an array"));
    g_autofree char *d = final_detail(extra);
    CU_ASSERT_STRING_EQUAL(d, "the device answered Error without an ErrorChain");
    rfx_close();

    world();
    plist_t chain = plist_new_array();
    plist_array_append_item(chain, plist_new_string("not a dict"));
    plist_array_append_item(chain, plist_new_dict()); /* empty: skipped */
    plist_t e = plist_new_dict();
    plist_dict_set_item(e, "LocalizedDescription", plist_new_uint(7)); /* wrong type */
    plist_dict_set_item(e, "USEnglishDescription", plist_new_string("English words"));
    plist_dict_set_item(e, "ErrorCode", plist_new_string("12")); /* wrong type: left out */
    plist_array_append_item(chain, e);
    e = plist_new_dict();
    plist_dict_set_item(e, "ErrorCode", plist_new_uint(5));
    plist_array_append_item(chain, e);
    extra = plist_new_dict();
    plist_dict_set_item(extra, "ErrorChain", chain);
    g_autofree char *d2 = final_detail(extra);
    CU_ASSERT_STRING_EQUAL(d2, "English words; (no description) (code 5)");
    rfx_close();
}

static void test_chain_hostile_text(void)
{
    world();
    plist_t chain = plist_new_array();
    /* Control characters, broken UTF-8, and far more text than is kept. */
    plist_t e = plist_new_dict();
    plist_dict_set_item(e, "LocalizedDescription", plist_new_string("line1\nline2\t\x1b[31m\xff\xfe end"));
    plist_array_append_item(chain, e);
    g_autofree char *big = g_strnfill(10000, 'x');
    for (int i = 0; i < 2000; i++) {
        e = plist_new_dict();
        plist_dict_set_item(e, "LocalizedDescription", plist_new_string(big));
        plist_dict_set_item(e, "ErrorDomain", plist_new_string("D\xc3\xa9"));
        plist_array_append_item(chain, e);
    }
    plist_t extra = plist_new_dict();
    plist_dict_set_item(extra, "ErrorChain", chain);
    g_autofree char *d = final_detail(extra);
    CU_ASSERT_FATAL(d != NULL);
    CU_ASSERT(strlen(d) <= ORCHARD_PROFILES_DETAIL_MAX);
    CU_ASSERT_TRUE(g_utf8_validate(d, -1, NULL));
    for (const char *p = d; *p; p++)
        CU_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f);
    CU_ASSERT_TRUE(g_str_has_prefix(d, "line1 line2  [31m"));
    rfx_close();
}

/* Acknowledge the install and ask for a ProfileList; its CommandUUID. g_free. */
static char *asked_list(void)
{
    g_autofree char *u = row("command_uuid");
    CU_ASSERT_EQUAL(rfx_report(MAC, u, "Acknowledged", NULL, RFX_T0 + 1), 0);
    CU_ASSERT_EQUAL(rfx_pass(RFX_T0 + 2).lists, 1);
    return rfx_text("SELECT command_uuid FROM mdm_commands WHERE request_type = 'ProfileList'",
                    NULL);
}

static void expect_untouched(void)
{
    g_autofree char *status = row("status");
    CU_ASSERT_STRING_EQUAL(status, "verifying");
    g_autofree char *at = rfx_text("SELECT profile_list_at FROM mdm_enrollments WHERE udid = ?",
                                   MAC, NULL);
    CU_ASSERT_PTR_NULL(at);
    CU_ASSERT_EQUAL(rfx_queued(MAC, "InstallProfile"), 1);
}

static void test_list_malformed(void)
{
    world();
    g_autofree char *list = asked_list();
    CU_ASSERT_FATAL(list != NULL);
    /* No ProfileList at all, a string, a dict: nothing is judged. */
    CU_ASSERT_EQUAL(rfx_report(MAC, list, "Acknowledged", NULL, RFX_T0 + 3), 0);
    expect_untouched();
    plist_t extra = plist_new_dict();
    plist_dict_set_item(extra, "ProfileList", plist_new_string("nope"));
    CU_ASSERT_EQUAL(rfx_report(MAC, list, "Acknowledged", extra, RFX_T0 + 3), 0);
    expect_untouched();
    extra = plist_new_dict();
    plist_dict_set_item(extra, "ProfileList", plist_new_dict());
    CU_ASSERT_EQUAL(rfx_report(MAC, list, "Acknowledged", extra, RFX_T0 + 3), 0);
    expect_untouched();
    /* Error and NotNow on a ProfileList: nothing either. */
    CU_ASSERT_EQUAL(rfx_report(MAC, list, "Error", NULL, RFX_T0 + 3), 0);
    CU_ASSERT_EQUAL(rfx_report(MAC, list, "NotNow", NULL, RFX_T0 + 3), 0);
    expect_untouched();
    rfx_close();
}

static void test_list_odd_entries(void)
{
    world();
    g_autofree char *list = asked_list();
    plist_t arr = plist_new_array();
    plist_array_append_item(arr, plist_new_string("not a dict"));
    plist_array_append_item(arr, plist_new_array());
    plist_t e = plist_new_dict(); /* identifier only */
    plist_dict_set_item(e, "PayloadIdentifier", plist_new_string(WIFI));
    plist_array_append_item(arr, e);
    e = plist_new_dict(); /* the right pair, wrong types */
    plist_dict_set_item(e, "PayloadIdentifier", plist_new_uint(1));
    plist_dict_set_item(e, "PayloadUUID", plist_new_string("UUID-A"));
    plist_array_append_item(arr, e);
    e = plist_new_dict(); /* an identifier whose text swallows the UUID */
    plist_dict_set_item(e, "PayloadIdentifier", plist_new_string(WIFI "UUID-A"));
    plist_dict_set_item(e, "PayloadUUID", plist_new_string(""));
    plist_array_append_item(arr, e);
    plist_t extra = plist_new_dict();
    plist_dict_set_item(extra, "ProfileList", arr);
    CU_ASSERT_EQUAL(rfx_report(MAC, list, "Acknowledged", extra, RFX_T0 + 3), 0);
    /* Not listed in a readable entry: retried. */
    g_autofree char *status = row("status");
    CU_ASSERT_STRING_EQUAL(status, "pending");
    g_autofree char *retries = row("retries");
    CU_ASSERT_STRING_EQUAL(retries, "1");
    rfx_close();
}

static void test_list_huge(void)
{
    world();
    g_autofree char *list = asked_list();
    plist_t arr = plist_new_array();
    for (int i = 0; i < 50000; i++) {
        g_autofree char *id = g_strdup_printf("com.example.p%d", i);
        plist_t e = plist_new_dict();
        plist_dict_set_item(e, "PayloadIdentifier", plist_new_string(id));
        plist_dict_set_item(e, "PayloadUUID", plist_new_string("U"));
        plist_array_append_item(arr, e);
    }
    plist_t e = plist_new_dict();
    plist_dict_set_item(e, "PayloadIdentifier", plist_new_string(WIFI));
    plist_dict_set_item(e, "PayloadUUID", plist_new_string("UUID-A"));
    plist_array_append_item(arr, e);
    plist_t extra = plist_new_dict();
    plist_dict_set_item(extra, "ProfileList", arr);
    CU_ASSERT_EQUAL(rfx_report(MAC, list, "Acknowledged", extra, RFX_T0 + 3), 0);
    g_autofree char *status = row("status");
    CU_ASSERT_STRING_EQUAL(status, "verified");
    rfx_close();
}

static void test_odd_commands(void)
{
    world();
    g_autofree char *u = row("command_uuid");
    /* Not ours, an unknown kind, empty: refused or ignored, nothing changes. */
    CU_ASSERT_EQUAL(rfx_report(MAC, "SOMEONE-ELSE", "Acknowledged", NULL, RFX_T0 + 1),
                    ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(rfx_report(MAC, ORCHARD_PROFILES_UUID_PREFIX "Z-1", "Acknowledged", NULL,
                               RFX_T0 + 1), 0);
    CU_ASSERT_EQUAL(rfx_report(MAC, ORCHARD_PROFILES_UUID_PREFIX, "Error", NULL, RFX_T0 + 1), 0);
    CU_ASSERT_EQUAL(orchard_profiles_report(NULL, NULL, u, "Acknowledged", NULL, NULL, 1),
                    ORCHARD_EINVAL);
    /* Another Mac's command, a Mac with no rows. */
    CU_ASSERT_EQUAL(rfx_report("PR-UNKNOWN", u, "Acknowledged", NULL, RFX_T0 + 1), 0);
    g_autofree char *s0 = row("status");
    CU_ASSERT_STRING_EQUAL(s0, "pending");
    /* NotNow: still pending. A NULL root (no plist) is an Error without a chain. */
    CU_ASSERT_EQUAL(rfx_report(MAC, u, "NotNow", NULL, RFX_T0 + 1), 0);
    g_autofree char *s1 = row("status");
    CU_ASSERT_STRING_EQUAL(s1, "pending");
    CU_ASSERT_EQUAL(orchard_profiles_report(NULL, MAC, u, "Error", NULL, NULL, RFX_T0 + 1), 0);
    g_autofree char *r = row("retries");
    CU_ASSERT_STRING_EQUAL(r, "1");
    /* An acknowledgement repeated counts once. */
    g_autofree char *u2 = rfx_row(MAC2, WIFI, "command_uuid");
    CU_ASSERT_EQUAL(rfx_report(MAC2, u2, "Acknowledged", NULL, RFX_T0 + 2), 0);
    CU_ASSERT_EQUAL(rfx_report(MAC2, u2, "Acknowledged", NULL, RFX_T0 + 5), 0);
    CU_ASSERT_EQUAL(rfx_int("SELECT updated_at FROM mdm_host_profiles WHERE udid = ?", MAC2,
                            NULL), RFX_T0 + 2);
    /* An Error after the acknowledgement is late: ignored. */
    CU_ASSERT_EQUAL(rfx_report(MAC2, u2, "Error", NULL, RFX_T0 + 6), 0);
    g_autofree char *s2 = rfx_row(MAC2, WIFI, "status");
    CU_ASSERT_STRING_EQUAL(s2, "verifying");
    rfx_close();
}

/* The retry needs the profile: deleted meanwhile, the row fails at once. */
static void test_retry_profile_gone(void)
{
    world();
    g_autofree char *u = row("command_uuid");
    rfx_sql("DELETE FROM mdm_profiles WHERE identifier = ?", WIFI, NULL);
    CU_ASSERT_EQUAL(rfx_report(MAC, u, "Error", NULL, RFX_T0 + 1), 0);
    g_autofree char *s = row("status");
    CU_ASSERT_STRING_EQUAL(s, "failed");
    CU_ASSERT_EQUAL(rfx_queued(MAC, "InstallProfile"), 1);
    /* ... and the next pass just deletes the failed row. */
    orchard_rc_stats st = rfx_pass(RFX_T0 + 2);
    CU_ASSERT_EQUAL(st.removes, 1); /* MAC2's pending install is removed */
    g_autofree char *gone = row("status");
    CU_ASSERT_PTR_NULL(gone);
    rfx_close();
}

void profile_reports_suite(void)
{
    ORCHARD_ADD_SUITE("profile_reports", NULL, NULL,
                      {"an Error without an ErrorChain", test_no_chain},
                      {"ErrorChains of the wrong shape", test_chain_wrong_shapes},
                      {"hostile ErrorChain text is capped and cleaned", test_chain_hostile_text},
                      {"malformed ProfileList answers change nothing", test_list_malformed},
                      {"ProfileList entries of the wrong shape are skipped",
                       test_list_odd_entries},
                      {"a huge ProfileList", test_list_huge},
                      {"unknown, foreign, repeated and NotNow reports", test_odd_commands},
                      {"a retry whose profile is gone fails", test_retry_profile_gone});
}
