/* The store fixture of the teams and macOS updates suites (updates_fixture.h). */
#include "tests/server/updates_fixture.h"

#include "host/plugins/registry.h"
#include "host/store/store.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_sql.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <CUnit/CUnit.h>
#include <glib/gstdio.h>

static char *dir;

int updfx_open(void)
{
    g_autofree char *err = NULL;
    dir = g_dir_make_tmp("orchard-updfx-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "s.db", NULL);
    orchard_server_host = orchard_host_api_get();
    if (orchard_store_open(orchard_test_store(path), &err) != 0 ||
        orchard_server_store_migrate() != 0) {
        fprintf(stderr, "\n  updates fixture: no store: %s\n", err ? err : "migration failed");
        CU_FAIL("the store did not open");
        return -1;
    }
    return 0;
}

void updfx_close(void)
{
    orchard_store_close();
    if (!dir)
        return;
    char *argv[] = {"rm", "-rf", dir, NULL};
    g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free(dir);
    dir = NULL;
}

int updfx_host(const char *udid, const char *os_version, int enable)
{
    static const unsigned char token[] = {0xde, 0xad, 0xbe, 0xef};
    g_autofree char *cert = g_compute_checksum_for_string(G_CHECKSUM_SHA256, udid, -1);
    g_autofree char *serial = g_strdup_printf("SER-%.8s", udid);
    orchard_device_auth a = {.udid = udid, .cert_sha256 = cert, .serial_number = serial,
                             .model = "Mac14,2", .product_name = "Mac14,2",
                             .os_version = os_version, .build_version = "22G120",
                             .device_name = "a Mac", .topic = "com.apple.mgmt.External.test"};
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    int rc = orchard_store_device_authenticate(&a, now - 100, NULL);
    if (!rc && enable)
        rc = orchard_store_device_token_update(udid, token, sizeof token, "magic",
                                               (const unsigned char *)"u", 1, 0, now - 50);
    /* No assertion here: suite inits seed hosts too, outside any test. */
    if (rc)
        fprintf(stderr, "\n  updates fixture: host %s not seeded: %d\n", udid, rc);
    return rc;
}

int updfx_enable(const char *udid)
{
    static const unsigned char token[] = {0xde, 0xad, 0xbe, 0xef};
    int rc = orchard_store_device_token_update(udid, token, sizeof token, "magic",
                                               (const unsigned char *)"u", 1, 0,
                                               g_get_real_time() / G_USEC_PER_SEC);
    CU_ASSERT_EQUAL(rc, 0);
    return rc;
}

static int text_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    *(char **)out = g_strdup(h->stmt_column_text(st, 0));
    return 0;
}

char *updfx_text(const char *sql, const char *param)
{
    char *out = NULL;
    if (param)
        orchard_sstore_read_one("test", sql, SQL_PARAMS(SQL_TEXT(param)), text_row, &out);
    else
        orchard_sstore_read_one("test", sql, NULL, 0, text_row, &out);
    return out;
}

static int blob_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    size_t len = 0;
    const void *p = h->stmt_column_blob(st, 0, &len);
    *(GBytes **)out = g_bytes_new(p, len);
    return 0;
}

GBytes *updfx_blob(const char *sql, const char *param)
{
    GBytes *out = NULL;
    orchard_sstore_read_one("test", sql, SQL_PARAMS(SQL_TEXT(param)), blob_row, &out);
    return out;
}

gint64 updfx_int(const char *sql, const char *param)
{
    g_autofree char *t = updfx_text(sql, param);
    return t ? g_ascii_strtoll(t, NULL, 10) : -1;
}

char *updfx_marker(void)
{
    char *v = NULL;
    CU_ASSERT_EQUAL(orchard_sstore_desired_version(&v), 0);
    return v;
}

gint64 updfx_activities(const char *type)
{
    return updfx_int("SELECT count(*) FROM activities WHERE type = ?", type);
}

char *updfx_activity_details(const char *type)
{
    return updfx_text("SELECT details FROM activities WHERE type = ? ORDER BY id DESC", type);
}
