/* Fuzz target: the check-in service (server_plugin/checkin/), what a device
 * sends to /mdm/apple/mdm once its identity is verified: the capped plist
 * reader, every MessageType and report Status, the store writes they lead
 * to, the bootstrap token's sealing, the reply. The identity is fixed: one
 * certificate hash, bound at start to the UDID FUZZ-UDID (which has a
 * command queued), on a throwaway SQLite store in a temporary directory.
 *
 * The first byte picks the Content-Type, the rest is the body:
 *   'C' the check-in type; 'R' none (a report); anything else
 *   "application/x-apple-aspen-mdm-checkin; charset=x" with that byte kept
 *   as part of the body (so raw plists from the corpus read as check-ins).
 * The clock is fixed from the input's length, so replays are reproducible. */
#include "tests/fuzz/fuzz.h"

#include "host/log.h"
#include "host/plugins/registry.h"
#include "host/store/store.h"
#include "server_plugin/checkin/checkin.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_queue.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define UDID "FUZZ-UDID"
#define CERT_SHA "5f7a0c3e9b1d2a4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f"

static char *dir, *db;
static EVP_PKEY *seal_key;

static void cleanup(void)
{
    orchard_store_close();
    if (db) {
        g_autofree char *wal = g_strconcat(db, "-wal", NULL);
        g_autofree char *shm = g_strconcat(db, "-shm", NULL);
        g_unlink(db);
        g_unlink(wal);
        g_unlink(shm);
    }
    if (dir)
        g_rmdir(dir);
    EVP_PKEY_free(seal_key);
}

static void setup(void)
{
    char *err = NULL;
    static const char cmd[] = "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict>"
                              "<key>CommandUUID</key><string>FUZZ-CMD</string><key>Command"
                              "</key><dict><key>RequestType</key><string>ProfileList</string>"
                              "</dict></dict></plist>";
    const char *udids[] = {UDID};
    const orchard_device_auth a = {.udid = UDID, .cert_sha256 = CERT_SHA};
    static const unsigned char token[32] = {1, 2, 3};

    orchard_log_set_level(ORCHARD_LOG_ERROR - 1);
    orchard_server_host = orchard_host_api_get();
    if (!(dir = g_dir_make_tmp("fuzz_checkin_XXXXXX", NULL)))
        abort();
    db = g_build_filename(dir, "store.db", NULL);
    if (orchard_store_open(db, &err) || orchard_server_store_migrate())
        abort();
    if (orchard_store_device_authenticate(&a, 1, NULL) ||
        orchard_store_device_token_update(UDID, token, sizeof token, "MAGIC", NULL, 0, 0, 1) ||
        orchard_store_command_enqueue("FUZZ-CMD", "ProfileList", cmd, sizeof cmd - 1, "fuzz",
                                      udids, 1, 1, NULL))
        abort();
    if (!(seal_key = EVP_EC_gen("P-256")))
        abort();
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    const char *ctype = "application/x-apple-aspen-mdm-checkin; charset=x";
    orchard_checkin_reply out;

    if (!ready) {
        setup();
        ready = 1;
    }
    if (size && data[0] == 'C') {
        ctype = ORCHARD_CHECKIN_CONTENT_TYPE;
        data++, size--;
    } else if (size && data[0] == 'R') {
        ctype = NULL;
        data++, size--;
    }
    const orchard_checkin_env env = {.ctx = NULL, .scep_key = seal_key, .topic = NULL};
    const orchard_checkin_request req = {
        .body = data, .len = size, .content_type = ctype, .cert_sha256 = CERT_SHA,
        .now_us = (gint64)(1700000000 + size) * G_USEC_PER_SEC,
    };
    if (orchard_checkin_handle(&env, &req, &out) != 0)
        abort();
    /* Every answer is a real status, and a body only comes with 200. */
    if (out.status < 200 || out.status > 599 || (out.body && out.status != 200))
        abort();
    orchard_checkin_reply_clear(&out);
    return 0;
}
