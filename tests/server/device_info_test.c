/* device_info: DeviceInformation (server_plugin/updates/device_info.c) on a
 * fresh store per case: one command for every enabled host due, never twice
 * while the interval runs, again after it; the answer updating the host's
 * facts and, only when the OS version changed, the desired-state marker;
 * hostile answers logged and never stored. */
#include "server_plugin/server.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_sql.h"
#include "server_plugin/store/store_updates.h"
#include "server_plugin/updates/updates.h"
#include "server_plugin/updates/updates_priv.h"
#include "tests/server/updates_fixture.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <plist/plist.h>
#include <string.h>

#define H1 "0000CCCC-0000-0000-0000-000000000001"
#define H2 "0000CCCC-0000-0000-0000-000000000002"
#define H3 "0000CCCC-0000-0000-0000-000000000003"
#define DAY 86400

static gint64 commands(void)
{
    return updfx_int("SELECT count(*) FROM mdm_commands WHERE request_type = ?",
                     "DeviceInformation");
}

static gint64 queued_for(const char *udid)
{
    return updfx_int("SELECT count(*) FROM mdm_command_queue q JOIN mdm_commands c ON "
                     "c.command_uuid = q.command_uuid WHERE c.request_type = "
                     "'DeviceInformation' AND q.udid = ?",
                     udid);
}

static void test_queue_once_then_after_interval(void)
{
    if (updfx_open())
        return;
    updfx_host(H1, "13.6", 1);
    updfx_host(H2, NULL, 1);
    updfx_host(H3, "13.6", 0); /* no TokenUpdate yet: not asked */
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    CU_ASSERT_EQUAL(orchard_updates_device_info_interval(NULL), DAY);
    CU_ASSERT_EQUAL(orchard_updates_device_info_run(NULL, now), 0);
    CU_ASSERT_EQUAL(commands(), 1); /* one command for both */
    CU_ASSERT_EQUAL(queued_for(H1), 1);
    CU_ASSERT_EQUAL(queued_for(H2), 1);
    CU_ASSERT_EQUAL(queued_for(H3), 0);

    /* The command: orchard's prefix, the six queries. */
    g_autofree char *uuid = updfx_text("SELECT command_uuid FROM mdm_commands WHERE "
                                       "request_type = ?", "DeviceInformation");
    CU_ASSERT_TRUE(g_str_has_prefix(uuid, ORCHARD_UPDATES_UUID_PREFIX));
    GBytes *b = updfx_blob("SELECT command FROM mdm_commands WHERE command_uuid = ?", uuid);
    CU_ASSERT_FATAL(b != NULL);
    gsize len = 0;
    const char *xml = g_bytes_get_data(b, &len);
    plist_t root = NULL;
    plist_from_xml(xml, (uint32_t)len, &root);
    CU_ASSERT_FATAL(root != NULL);
    plist_t cmd = plist_dict_get_item(root, "Command");
    CU_ASSERT_STRING_EQUAL(plist_get_string_ptr(plist_dict_get_item(cmd, "RequestType"), NULL),
                           "DeviceInformation");
    plist_t q = plist_dict_get_item(cmd, "Queries");
    CU_ASSERT_EQUAL(plist_array_get_size(q), 6);
    CU_ASSERT_STRING_EQUAL(plist_get_string_ptr(plist_array_get_item(q, 0), NULL), "OSVersion");
    CU_ASSERT_STRING_EQUAL(plist_get_string_ptr(plist_dict_get_item(root, "CommandUUID"), NULL),
                           uuid);
    plist_free(root);
    g_bytes_unref(b);

    /* Not again while the answer may still come... */
    CU_ASSERT_EQUAL(orchard_updates_device_info_run(NULL, now + 10), 0);
    CU_ASSERT_EQUAL(orchard_updates_device_info_run(NULL, now + DAY - 1), 0);
    CU_ASSERT_EQUAL(commands(), 1);
    /* ...a host enabled meanwhile is asked at once... */
    CU_ASSERT_EQUAL(updfx_enable(H3), 0);
    CU_ASSERT_EQUAL(orchard_updates_device_info_run(NULL, now + 20), 0);
    CU_ASSERT_EQUAL(commands(), 2);
    CU_ASSERT_EQUAL(queued_for(H3), 1);
    CU_ASSERT_EQUAL(queued_for(H1), 1);
    /* ...and everyone again after the interval. */
    CU_ASSERT_EQUAL(orchard_updates_device_info_run(NULL, now + DAY), 0);
    CU_ASSERT_EQUAL(queued_for(H1), 2);
    CU_ASSERT_EQUAL(queued_for(H2), 2);
    CU_ASSERT_EQUAL(queued_for(H3), 1);
    /* A TokenUpdate of an enrolled host (a new token) asks nothing... */
    CU_ASSERT_EQUAL(updfx_enable(H1), 0);
    CU_ASSERT_EQUAL(orchard_updates_device_info_run(NULL, now + DAY + 1), 0);
    CU_ASSERT_EQUAL(queued_for(H1), 2);
    /* ...but the one enrolling again (CheckOut, then TokenUpdate) is asked at once. */
    CU_ASSERT_EQUAL(orchard_store_device_checkout(H3, now + DAY + 1), 0);
    CU_ASSERT_EQUAL(updfx_enable(H3), 0);
    CU_ASSERT_EQUAL(orchard_updates_device_info_run(NULL, now + DAY + 2), 0);
    CU_ASSERT_EQUAL(queued_for(H3), 2);
    CU_ASSERT_EQUAL(queued_for(H1), 2);
    updfx_close();
}

/* A DeviceInformation report plist with QueryResponses built by `fill`. */
static plist_t report(const char *uuid, plist_t qr)
{
    plist_t root = plist_new_dict();
    plist_dict_set_item(root, "CommandUUID", plist_new_string(uuid));
    plist_dict_set_item(root, "Status", plist_new_string("Acknowledged"));
    plist_dict_set_item(root, "UDID", plist_new_string(H1));
    if (qr)
        plist_dict_set_item(root, "QueryResponses", qr);
    return root;
}

static plist_t answers(const char *os)
{
    plist_t qr = plist_new_dict();
    plist_dict_set_item(qr, "OSVersion", plist_new_string(os));
    plist_dict_set_item(qr, "BuildVersion", plist_new_string("23E214"));
    plist_dict_set_item(qr, "ProductName", plist_new_string("macOS"));
    plist_dict_set_item(qr, "SerialNumber", plist_new_string("C02NEWSERIAL"));
    plist_dict_set_item(qr, "DeviceName", plist_new_string("Anna’s MacBook"));
    plist_dict_set_item(qr, "Model", plist_new_string("Mac15,3"));
    return qr;
}

#define UUID ORCHARD_UPDATES_UUID_PREFIX "DEVINFO-test"

static void test_report_updates_facts(void)
{
    if (updfx_open())
        return;
    updfx_host(H1, "13.6", 1);
    gint64 now = 1900000000;
    g_autofree char *m0 = updfx_marker();
    plist_t r = report(UUID, answers("14.4"));
    CU_ASSERT_EQUAL(orchard_updates_report(NULL, H1, UUID, "Acknowledged", r, now), 0);
    plist_free(r);
    g_autofree char *os = updfx_text("SELECT os_version FROM mdm_enrollments WHERE udid = ?", H1);
    CU_ASSERT_STRING_EQUAL(os, "14.4");
    g_autofree char *serial =
        updfx_text("SELECT serial_number FROM mdm_enrollments WHERE udid = ?", H1);
    CU_ASSERT_STRING_EQUAL(serial, "C02NEWSERIAL");
    g_autofree char *name = updfx_text("SELECT device_name FROM mdm_enrollments WHERE udid = ?",
                                       H1);
    CU_ASSERT_STRING_EQUAL(name, "Anna’s MacBook");
    CU_ASSERT_EQUAL(updfx_int("SELECT device_info_at FROM mdm_enrollments WHERE udid = ?", H1),
                    now);
    g_autofree char *m1 = updfx_marker();
    CU_ASSERT_STRING_NOT_EQUAL(m0, m1);

    /* The same version again: facts refreshed, the marker left alone. */
    r = report(UUID, answers("14.4"));
    CU_ASSERT_EQUAL(orchard_updates_report(NULL, H1, UUID, "Acknowledged", r, now + 5), 0);
    plist_free(r);
    g_autofree char *m2 = updfx_marker();
    CU_ASSERT_STRING_EQUAL(m1, m2);
    CU_ASSERT_EQUAL(updfx_int("SELECT device_info_at FROM mdm_enrollments WHERE udid = ?", H1),
                    now + 5);

    /* Only some answers: the others keep their values. */
    plist_t qr = plist_new_dict();
    plist_dict_set_item(qr, "OSVersion", plist_new_string("14.5"));
    r = report(UUID, qr);
    CU_ASSERT_EQUAL(orchard_updates_report(NULL, H1, UUID, "Acknowledged", r, now + 9), 0);
    plist_free(r);
    g_autofree char *os2 = updfx_text("SELECT os_version FROM mdm_enrollments WHERE udid = ?",
                                      H1);
    CU_ASSERT_STRING_EQUAL(os2, "14.5");
    g_autofree char *model = updfx_text("SELECT model FROM mdm_enrollments WHERE udid = ?", H1);
    CU_ASSERT_STRING_EQUAL(model, "Mac15,3");
    g_autofree char *m3 = updfx_marker();
    CU_ASSERT_STRING_NOT_EQUAL(m2, m3);

    /* An unknown host. */
    r = report(UUID, answers("14.4"));
    CU_ASSERT_EQUAL(orchard_updates_report(NULL, "NOBODY", UUID, "Acknowledged", r, now),
                    ORCHARD_ENOTFOUND);
    plist_free(r);
    updfx_close();
}

/* Every hostile answer leaves the host as it was. */
static void test_hostile_reports(void)
{
    if (updfx_open())
        return;
    updfx_host(H1, "13.6", 1);
    g_autofree char *m0 = updfx_marker();
    char *huge = g_strnfill(100000, 'A');
    plist_t cases[12];
    size_t n = 0;
    cases[n++] = report(UUID, NULL);                          /* no QueryResponses */
    cases[n++] = report(UUID, plist_new_string("14.4"));     /* not a dictionary */
    cases[n++] = report(UUID, plist_new_array());
    cases[n++] = report(UUID, plist_new_dict());              /* nothing answered */
    plist_t qr = answers("14.4");
    plist_dict_set_item(qr, "OSVersion", plist_new_uint(14)); /* wrong type */
    cases[n++] = report(UUID, qr);
    qr = answers("14.4");
    plist_dict_set_item(qr, "Model", plist_new_string(huge)); /* absurd length */
    cases[n++] = report(UUID, qr);
    cases[n++] = report(UUID, answers(huge));
    cases[n++] = report(UUID, answers("Sonoma"));            /* not a version */
    cases[n++] = report(UUID, answers("14.4\n<evil>"));      /* control characters */
    qr = answers("14.4");
    plist_dict_set_item(qr, "DeviceName", plist_new_string("a\x01" "b"));
    cases[n++] = report(UUID, qr);
    qr = answers("14.4");
    plist_dict_set_item(qr, "SerialNumber", plist_new_string("\xff\xfe"));  /* not UTF-8 */
    cases[n++] = report(UUID, qr);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(orchard_updates_report(NULL, H1, UUID, "Acknowledged", cases[i], 5), 0);
        plist_free(cases[i]);
    }
    /* Not Acknowledged, or a NULL report: nothing to store either. */
    plist_t ok = report(UUID, answers("14.4"));
    CU_ASSERT_EQUAL(orchard_updates_report(NULL, H1, UUID, "Error", ok, 5), 0);
    CU_ASSERT_EQUAL(orchard_updates_report(NULL, H1, UUID, "NotNow", ok, 5), 0);
    CU_ASSERT_EQUAL(orchard_updates_report(NULL, H1, UUID, "Acknowledged", NULL, 5), 0);
    /* Another of the flow's commands (the Nudge package) is no DeviceInformation. */
    CU_ASSERT_EQUAL(orchard_updates_report(NULL, H1, ORCHARD_UPDATES_UUID_PREFIX "NUDGEPKG-x",
                                           "Acknowledged", ok, 5), 0);
    plist_free(ok);
    g_free(huge);
    g_autofree char *os = updfx_text("SELECT os_version FROM mdm_enrollments WHERE udid = ?", H1);
    CU_ASSERT_STRING_EQUAL(os, "13.6");
    g_autofree char *model = updfx_text("SELECT model FROM mdm_enrollments WHERE udid = ?", H1);
    CU_ASSERT_STRING_EQUAL(model, "Mac14,2");
    CU_ASSERT_EQUAL(updfx_int("SELECT count(*) FROM mdm_enrollments WHERE device_info_at IS NOT "
                              "NULL", NULL), 0);
    g_autofree char *m1 = updfx_marker();
    CU_ASSERT_STRING_EQUAL(m0, m1);
    updfx_close();
}

void device_info_suite(void)
{
    ORCHARD_ADD_SUITE("device_info", NULL, NULL,
                      {"queue_once_then_after_interval", test_queue_once_then_after_interval},
                      {"report_updates_facts", test_report_updates_facts},
                      {"hostile_reports", test_hostile_reports});
}
