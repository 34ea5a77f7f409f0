/* checkin: /mdm/apple/mdm through its route on a fake host
 * (tests/server/checkin_fixture.h): every message type, every report status,
 * the queue's order and NotNow rule, the size caps, hostile plists, the
 * sealed bootstrap token and the store's edges. The device's identity has
 * its own suite, checkin_identity. */
#include "host/plugins/plugin_ctx.h"
#include "host/plugins/registry.h"
#include "host/store/store.h"
#include "server_plugin/checkin/checkin.h"
#include "server_plugin/checkin/signer_cache.h"
#include "server_plugin/config/mdm_config.h"
#include "server_plugin/scep/scep_csr.h"
#include "server_plugin/serve/serve_state.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_queue.h"
#include "server_plugin/store/store_sql.h"
#include "tests/server/checkin_fixture.h"
#include "tests/server/enroll_fixture.h"
#include "tests/server/mdm_fixtures.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- tests ---------------------------------------------------------------------- */

/* Authenticate records the device disabled; TokenUpdate enables it (the
 * "enrolled" event once); CheckOut disables it. */
static void test_checkin__enrollment_lifecycle(void)
{
    device d;
    ckfx_device_make(&d, "mac-life", ckfx_ca, ckfx_ca_key, 1);
    g_autofree char *a = ckfx_msg_authenticate("UDID-LIFE", ckfx_topic());
    g_autofree char *t = ckfx_msg_token_update("UDID-LIFE");
    g_autofree char *c = ckfx_msg_simple("CheckOut", "UDID-LIFE", NULL);
    g_autoptr(orchard_device) dev = NULL;

    g_ptr_array_set_size(ckfx_events, 0);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, a, &d), 200);
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get("UDID-LIFE", &dev), 0);
    CU_ASSERT_EQUAL(dev->enabled, 0);
    CU_ASSERT_STRING_EQUAL(dev->serial_number, "C02TESTUDID-LIFE");
    CU_ASSERT_STRING_EQUAL(dev->model, "MacBookPro18,1");
    g_clear_pointer(&dev, orchard_device_free);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, t, &d), 200);
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get("UDID-LIFE", &dev), 0);
    CU_ASSERT_EQUAL(dev->enabled, 1);
    CU_ASSERT_EQUAL(dev->push_token_valid, 1);
    CU_ASSERT_STRING_EQUAL(dev->push_magic, "MAGIC-1234");
    CU_ASSERT_STRING_EQUAL(dev->push_token_hex, "deadbeef000102030405060708090a0b0c0d0e0f10111213"
                                                "1415161718191a1b");
    CU_ASSERT_EQUAL(dev->token_update_tally, 1);
    CU_ASSERT(ckfx_has_event("mdm.enrolled {\"udid\":\"UDID-LIFE\""));
    g_clear_pointer(&dev, orchard_device_free);
    /* A second TokenUpdate is not a new enrollment. */
    g_ptr_array_set_size(ckfx_events, 0);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, t, &d), 200);
    CU_ASSERT(!ckfx_has_event("mdm.enrolled"));
    CU_ASSERT(ckfx_has_event("mdm.checked_in"));
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, c, &d), 200);
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get("UDID-LIFE", &dev), 0);
    CU_ASSERT_EQUAL(dev->enabled, 0);
    ckfx_device_free(&d);
}

/* The queue: oldest first; each status recorded with the whole report and
 * the ErrorChain; NotNow not sent again in the session, sent after the next Idle. */
static void test_checkin__queue_and_reports(void)
{
    device d;
    const char *u = "UDID-Q";
    gint64 t0 = g_get_real_time();
    char *got = NULL;
    ckfx_device_make(&d, "mac-q", ckfx_ca, ckfx_ca_key, 1);
    ckfx_enroll(u, &d);
    g_autofree char *idle = ckfx_report(u, "Idle", NULL, NULL);
    CU_ASSERT_EQUAL(ckfx_report_at(&d, idle, t0, &got), 200);
    CU_ASSERT_PTR_NULL(got); /* nothing queued: an empty 200 */
    ckfx_queue_cmd("CMD-2", u, t0 + 2);
    ckfx_queue_cmd("CMD-1", u, t0 + 1);
    ckfx_queue_cmd("CMD-3", u, t0 + 3);
    CU_ASSERT_EQUAL(ckfx_report_at(&d, idle, t0 + 10, &got), 200);
    CU_ASSERT_STRING_EQUAL(got, "CMD-1");
    g_free(got);
    g_autofree char *ack = ckfx_report(u, "Acknowledged", "CMD-1", NULL);
    CU_ASSERT_EQUAL(ckfx_report_at(&d, ack, t0 + 20, &got), 200);
    CU_ASSERT_STRING_EQUAL(got, "CMD-2");
    g_free(got);
    g_autofree char *notnow = ckfx_report(u, "NotNow", "CMD-2", NULL);
    CU_ASSERT_EQUAL(ckfx_report_at(&d, notnow, t0 + 30, &got), 200);
    CU_ASSERT_STRING_EQUAL(got, "CMD-3"); /* CMD-2 is skipped in this session */
    g_free(got);
    g_autofree char *err = ckfx_report(u, "Error", "CMD-3",
                                  "<key>ErrorChain</key><array><dict><key>ErrorCode</key>"
                                  "<integer>12021</integer><key>ErrorDomain</key><string>"
                                  "MCMDMErrorDomain</string></dict></array>");
    CU_ASSERT_EQUAL(ckfx_report_at(&d, err, t0 + 40, &got), 200);
    CU_ASSERT_PTR_NULL(got); /* only the NotNow one is left, and not this session */
    /* A new session (Idle) two seconds on: CMD-2 again. */
    CU_ASSERT_EQUAL(ckfx_report_at(&d, idle, t0 + 2 * G_USEC_PER_SEC + 50, &got), 200);
    CU_ASSERT_STRING_EQUAL(got, "CMD-2");
    g_free(got);
    g_autofree char *fmt = ckfx_report(u, "CommandFormatError", "CMD-2", NULL);
    CU_ASSERT_EQUAL(ckfx_report_at(&d, fmt, t0 + 3 * G_USEC_PER_SEC, &got), 200);
    CU_ASSERT_PTR_NULL(got);

    const char *want[][2] = {{"CMD-1", "Acknowledged"}, {"CMD-2", "CommandFormatError"},
                             {"CMD-3", "Error"}};
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        g_autoptr(GPtrArray) res = NULL;
        CU_ASSERT_EQUAL_FATAL(orchard_store_command_results(want[i][0], &res), 0);
        CU_ASSERT_EQUAL_FATAL(res->len, 1);
        orchard_command_result *r = res->pdata[0];
        CU_ASSERT_STRING_EQUAL(r->status, want[i][1]);
        CU_ASSERT_PTR_NOT_NULL(r->result);
        if (i == 2) {
            CU_ASSERT_PTR_NOT_NULL_FATAL(r->error_chain);
            CU_ASSERT(strstr(r->error_chain, "\"ErrorCode\":12021") != NULL);
            CU_ASSERT(strstr(r->error_chain, "MCMDMErrorDomain") != NULL);
        }
    }
    ckfx_device_free(&d);
}

/* Authenticate again (re-enrollment) clears the queue and disables. */
static void test_checkin__authenticate_clears_queue(void)
{
    device d;
    char *got = NULL;
    ckfx_device_make(&d, "mac-re", ckfx_ca, ckfx_ca_key, 1);
    ckfx_enroll("UDID-RE", &d);
    ckfx_queue_cmd("CMD-RE", "UDID-RE", g_get_real_time());
    g_autofree char *a = ckfx_msg_authenticate("UDID-RE", ckfx_topic());
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, a, &d), 200);
    g_autofree char *idle = ckfx_report("UDID-RE", "Idle", NULL, NULL);
    CU_ASSERT_EQUAL(ckfx_report_at(&d, idle, g_get_real_time(), &got), 200);
    CU_ASSERT_PTR_NULL(got);
    g_autoptr(orchard_device) dev = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get("UDID-RE", &dev), 0);
    CU_ASSERT_EQUAL(dev->enabled, 0);
    CU_ASSERT_PTR_NULL(dev->push_token_hex);
    ckfx_device_free(&d);
}

/* Message types the service does not manage, and malformed messages. */
static void test_checkin__message_types(void)
{
    device d;
    ckfx_device_make(&d, "mac-types", ckfx_ca, ckfx_ca_key, 1);
    ckfx_enroll("UDID-T", &d);
    g_autofree char *ua = ckfx_msg_simple("UserAuthenticate", "UDID-T",
                                     "<key>UserID</key><string>U1</string>");
    g_autofree char *dm = ckfx_msg_simple("DeclarativeManagement", "UDID-T", NULL);
    g_autofree char *unk = ckfx_msg_simple("Frobnicate", "UDID-T", NULL);
    g_autofree char *none = ckfx_plist_doc("<key>UDID</key><string>UDID-T</string>");
    g_autofree char *badst = ckfx_report("UDID-T", "Maybe", "X", NULL);
    g_autofree char *nouuid = ckfx_report("UDID-T", "Acknowledged", NULL, NULL);
    g_autofree char *noudid = ckfx_plist_doc("<key>MessageType</key><string>TokenUpdate</string>");
    g_autofree char *notok = ckfx_msg_simple("TokenUpdate", "UDID-T",
                                        "<key>PushMagic</key><string>M</string>");
    g_autofree char *wrong_topic = ckfx_msg_authenticate("UDID-T", "com.apple.mgmt.other");

    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, ua, &d), 410);
    g_ptr_array_set_size(ckfx_log_lines, 0);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, dm, &d), 404);
    CU_ASSERT(ckfx_logged("declarative management is not supported"));
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, unk, &d), 400);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, none, &d), 400);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, noudid, &d), 400);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, notok, &d), 400);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, wrong_topic, &d), 400);
    CU_ASSERT_EQUAL(ckfx_send("application/x-plist", badst, &d), 400);
    CU_ASSERT_EQUAL(ckfx_send("application/x-plist", nouuid, &d), 400);
    /* Only PUT and POST. */
    fake_resp r;
    CU_ASSERT_EQUAL(ckfx_send_full("GET", CHECKIN_CT, "", 0, NULL, NULL, &r), 405);
    ckfx_resp_clear(&r);
    ckfx_device_free(&d);
}

/* Hostile bodies: 400 (or 413 over the caps), never a crash. */
static void test_checkin__hostile_bodies(void)
{
    device d;
    ckfx_device_make(&d, "mac-hostile", ckfx_ca, ckfx_ca_key, 1);
    ckfx_enroll("UDID-H", &d);
    g_autofree char *good = ckfx_msg_simple("CheckOut", "UDID-H", NULL);
    GString *deep = g_string_new("<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>k"
                                 "</key>");
    for (int i = 0; i < 5000; i++)
        g_string_append(deep, "<array>");
    g_string_append(deep, "</dict></plist>");
    const char *bad[] = {
        "", "not a plist", "bplist00\x01\x02", "<?xml version=\"1.0\"?><plist><dict>",
        "<?xml version=\"1.0\"?><plist><array><string>x</string></array></plist>",
        "<!DOCTYPE plist [<!ENTITY a \"aaaa\">]><plist><dict><key>MessageType</key>"
        "<string>&a;</string></dict></plist>",
        "<plist><dict><key>MessageType</key><string>Check",
        deep->str,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        int st = ckfx_send(CHECKIN_CT, bad[i], &d);
        if (st != 400)
            fprintf(stderr, "\n  hostile body %zu: %d\n", i, st);
        CU_ASSERT_EQUAL(st, 400);
        CU_ASSERT_EQUAL(ckfx_send("application/x-plist", bad[i], &d), 400);
    }
    /* Truncations of a good message: never 200 except the whole. */
    for (size_t n = 1; n + 20 < strlen(good); n += 7) {
        g_autofree char *cut = g_strndup(good, n);
        CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, cut, &d), 400);
    }
    /* Text that is not UTF-8: a UDID so spelt is no UDID (400); a device
     * name so spelt is left unset, so nothing that PostgreSQL would refuse
     * reaches a TEXT column. */
    g_autofree char *bad_udid = ckfx_msg_simple("CheckOut", "UDID-\xff\xfe", NULL);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, bad_udid, &d), 400);
    device d8;
    ckfx_device_make(&d8, "mac-utf8", ckfx_ca, ckfx_ca_key, 1);
    g_autofree char *auth8 = ckfx_msg_authenticate("UDID-UTF8", ckfx_topic());
    char *name = strstr(auth8, "Test Mac");
    CU_ASSERT_PTR_NOT_NULL_FATAL(name);
    name[4] = (char)0xc3; /* a lead byte followed by ' ', not a continuation */
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, auth8, &d8), 200);
    g_autoptr(orchard_device) dev8 = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get("UDID-UTF8", &dev8), 0);
    CU_ASSERT_PTR_NULL(dev8->device_name);
    CU_ASSERT_STRING_EQUAL(dev8->model, "MacBookPro18,1");
    ckfx_device_free(&d8);
    /* A NUL byte inside. */
    fake_resp r;
    char nul[] = "<plist><dict><key>A</key>\0<string>x</string></dict></plist>";
    CU_ASSERT_EQUAL(ckfx_send_full("PUT", CHECKIN_CT, nul, sizeof nul - 1, &d, NULL, &r), 400);
    ckfx_resp_clear(&r);
    /* Over 1 MiB as a check-in: 413; the same size as a report is read. */
    GString *pad = g_string_sized_new(ORCHARD_CHECKIN_MAX_CHECKIN + 10);
    g_string_append(pad, "<?xml version=\"1.0\"?><plist><dict><key>UDID</key><string>UDID-H"
                         "</string><key>Status</key><string>Idle</string><key>Pad</key>"
                         "<string>");
    while (pad->len < ORCHARD_CHECKIN_MAX_CHECKIN + 10)
        g_string_append_c(pad, 'p');
    g_string_append(pad, "</string></dict></plist>");
    CU_ASSERT_EQUAL(ckfx_send_full("PUT", CHECKIN_CT, pad->str, pad->len, &d, NULL, &r), 413);
    ckfx_resp_clear(&r);
    CU_ASSERT_EQUAL(ckfx_send_full("PUT", "application/x-plist", pad->str, pad->len, &d, NULL, &r),
                    200);
    ckfx_resp_clear(&r);
    /* Over 16 MiB as a report (the host refuses it before us; the service too). */
    g_autofree char *sha = orchard_scep_cert_sha256(d.cert);
    const orchard_checkin_env env = {.ctx = NULL};
    const orchard_checkin_request in = {
        .body = (const unsigned char *)pad->str, .len = ORCHARD_CHECKIN_MAX_REPORT + 1,
        .cert_sha256 = sha, .now_us = 1,
    };
    orchard_checkin_reply out;
    CU_ASSERT_EQUAL(orchard_checkin_handle(&env, &in, &out), 0);
    CU_ASSERT_EQUAL(out.status, 413);
    orchard_checkin_reply_clear(&out);
    CU_ASSERT_EQUAL(orchard_route_checkin.max_body, ORCHARD_CHECKIN_MAX_REPORT);
    g_string_free(pad, TRUE);
    g_string_free(deep, TRUE);
    ckfx_device_free(&d);
}

/* SetBootstrapToken then GetBootstrapToken gives the token back; at rest
 * it is sealed (the bytes are not in the store's row). */
static void test_checkin__bootstrap_token(void)
{
    device d;
    const char *token_b64 = "Qk9PVFNUUkFQLVRPS0VOLVNFQ1JFVC0xMjM0NTY3ODk=";
    fake_resp r;
    ckfx_device_make(&d, "mac-bt", ckfx_ca, ckfx_ca_key, 1);
    ckfx_enroll("UDID-BT", &d);
    g_autofree char *get = ckfx_msg_simple("GetBootstrapToken", "UDID-BT", NULL);
    /* None yet: a dict without BootstrapToken. */
    CU_ASSERT_EQUAL(ckfx_send_full("PUT", CHECKIN_CT, get, strlen(get), &d, NULL, &r), 200);
    plist_t root = parse_xml((const char *)r.body->data, r.body->len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_PTR_NULL(plist_dict_get_item(root, "BootstrapToken"));
    plist_free(root);
    ckfx_resp_clear(&r);
    g_autofree char *set_extra = g_strdup_printf("<key>BootstrapToken</key><data>%s</data>",
                                                 token_b64);
    g_autofree char *set = ckfx_msg_simple("SetBootstrapToken", "UDID-BT", set_extra);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, set, &d), 200);
    CU_ASSERT_EQUAL(ckfx_send_full("PUT", CHECKIN_CT, get, strlen(get), &d, NULL, &r), 200);
    root = parse_xml((const char *)r.body->data, r.body->len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    size_t len = 0;
    g_autofree unsigned char *tok = orchard_checkin_plist_data(root, "BootstrapToken", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
    CU_ASSERT_EQUAL(len, strlen("BOOTSTRAP-TOKEN-SECRET-123456789"));
    CU_ASSERT(memcmp(tok, "BOOTSTRAP-TOKEN-SECRET-123456789", len) == 0);
    plist_free(root);
    ckfx_resp_clear(&r);
    /* At rest: sealed, and the plaintext is nowhere in it. */
    g_autoptr(GBytes) sealed = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_bootstrap_get("UDID-BT", &sealed), 0);
    gsize slen = 0;
    const unsigned char *s = g_bytes_get_data(sealed, &slen);
    CU_ASSERT(slen > len);
    CU_ASSERT_PTR_NULL(memmem(s, slen, "BOOTSTRAP", 9));
    /* It opens only for its own UDID. */
    unsigned char *back = NULL;
    size_t back_len = 0;
    CU_ASSERT_EQUAL(orchard_bootstrap_open(ckfx_ca_key, "UDID-OTHER", s, slen, &back,
                                           &back_len), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_bootstrap_open(ckfx_ca_key, "UDID-BT", s, slen, &back, &back_len),
                    0);
    g_free(back);
    ckfx_device_free(&d);
}

static int count_rows(const orchard_command_result *r, void *payload)
{
    if (strcmp(r->udid, "UDID-ST") == 0)
        (*(int *)payload)++;
    return 0;
}

/* The queue's and devices' other store functions: enqueue refusals (nothing
 * written), listing and paging, every row, a dead push token. */
static void test_checkin__store_edges(void)
{
    device d;
    g_autofree char *bad = NULL;
    const char *cmd = "<plist><dict/></plist>";
    const char *ok[] = {"UDID-ST", "UDID-ST"};
    const char *unknown[] = {"UDID-ST", "UDID-NOPE"};
    ckfx_device_make(&d, "mac-st", ckfx_ca, ckfx_ca_key, 1);
    ckfx_enroll("UDID-ST", &d);

    /* A UDID named twice is queued once. */
    CU_ASSERT_EQUAL(orchard_store_command_enqueue("ST-1", "ProfileList", cmd, strlen(cmd), "a",
                                                  ok, 2, 100, NULL), 0);
    CU_ASSERT_EQUAL(orchard_store_command_enqueue("ST-1", "ProfileList", cmd, strlen(cmd), "a",
                                                  ok, 1, 101, NULL), ORCHARD_EEXIST);
    CU_ASSERT_EQUAL(orchard_store_command_enqueue("ST-2", "ProfileList", cmd, strlen(cmd), "a",
                                                  unknown, 2, 102, &bad), ORCHARD_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(bad, "UDID-NOPE");
    g_autoptr(GPtrArray) res = NULL;
    CU_ASSERT_EQUAL(orchard_store_command_results("ST-2", &res), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_store_command_enqueue("ST-3", "ProfileList", cmd, strlen(cmd), "a",
                                                  ok, 0, 103, NULL), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_store_command_results("ST-1", &res), 0);
    CU_ASSERT_EQUAL(res ? res->len : 0, 1);
    CU_ASSERT_EQUAL(orchard_store_command_report("UDID-ST", "NO-SUCH", "Acknowledged", "x", 1,
                                                 NULL, 1), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_store_command_report("UDID-ST", "ST-1", "Pending", "x", 1, NULL, 1),
                    ORCHARD_EINVAL);
    /* A disabled enrollment takes no command. */
    g_autofree char *co = ckfx_msg_simple("CheckOut", "UDID-ST", NULL);
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, co, &d), 200);
    CU_ASSERT_EQUAL(orchard_store_command_enqueue("ST-4", "ProfileList", cmd, strlen(cmd), "a",
                                                  ok, 1, 104, NULL), ORCHARD_ENOTFOUND);

    /* Listing: newest first, paged; each row once. */
    g_autoptr(GPtrArray) all = NULL, page = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_command_list(0, 0, &all), 0);
    CU_ASSERT_FATAL(all->len >= 1);
    CU_ASSERT_EQUAL_FATAL(orchard_store_command_list(0, 1, &page), 0);
    CU_ASSERT_EQUAL_FATAL(page->len, 1);
    orchard_command_info *first = all->pdata[0];
    CU_ASSERT_STRING_EQUAL(((orchard_command_info *)page->pdata[0])->command_uuid,
                           first->command_uuid);
    for (guint i = 1; i < all->len; i++)
        CU_ASSERT(((orchard_command_info *)all->pdata[i - 1])->created_at >=
                  ((orchard_command_info *)all->pdata[i])->created_at);
    int rows = 0;
    CU_ASSERT_EQUAL(orchard_store_command_each(count_rows, &rows), 0);
    CU_ASSERT_EQUAL(rows, 1);
    g_clear_pointer(&page, g_ptr_array_unref);
    CU_ASSERT_EQUAL(orchard_store_command_list(-1, 1, &page), ORCHARD_EINVAL);

    g_autoptr(GPtrArray) devs = NULL, devpage = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_list(0, 0, &devs), 0);
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_list(1, 1, &devpage), 0);
    CU_ASSERT_EQUAL_FATAL(devpage->len, devs->len > 1 ? 1 : 0);
    if (devs->len > 1)
        CU_ASSERT_STRING_EQUAL(((orchard_device *)devpage->pdata[0])->udid,
                               ((orchard_device *)devs->pdata[1])->udid);

    /* APNs said the token is dead: invalid with the reason until the next TokenUpdate. */
    g_autoptr(orchard_device) dev = NULL;
    CU_ASSERT_EQUAL(orchard_store_device_push_invalid("UDID-ST", "Unregistered", 5), 0);
    CU_ASSERT_EQUAL(orchard_store_device_push_invalid("UDID-NOPE", "Unregistered", 5),
                    ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get("UDID-ST", &dev), 0);
    CU_ASSERT_EQUAL(dev->push_token_valid, 0);
    CU_ASSERT_STRING_EQUAL(dev->push_invalid_reason, "Unregistered");
    g_clear_pointer(&dev, orchard_device_free);
    g_autofree char *t = ckfx_msg_token_update("UDID-ST");
    CU_ASSERT_EQUAL(ckfx_send(CHECKIN_CT, t, &d), 200);
    CU_ASSERT_EQUAL_FATAL(orchard_store_device_get("UDID-ST", &dev), 0);
    CU_ASSERT_EQUAL(dev->push_token_valid, 1);
    CU_ASSERT_PTR_NULL(dev->push_invalid_reason);
    g_clear_pointer(&dev, orchard_device_free);
    CU_ASSERT_EQUAL(orchard_store_device_get("UDID-NOPE", &dev), ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NULL(dev);
    ckfx_device_free(&d);
}

/* ---- the signer-certificate cache (identity.c, signer_cache.c) ------------------ */

void checkin_suite(void)
{
    ORCHARD_ADD_SUITE("checkin", ckfx_init, ckfx_cleanup,
                      {"enrollment_lifecycle", test_checkin__enrollment_lifecycle},
                      {"queue_and_reports", test_checkin__queue_and_reports},
                      {"authenticate_clears_queue", test_checkin__authenticate_clears_queue},
                      {"message_types", test_checkin__message_types},
                      {"hostile_bodies", test_checkin__hostile_bodies},
                      {"bootstrap_token", test_checkin__bootstrap_token},
                      {"store_edges", test_checkin__store_edges});
}
