/* nudge_pkg: the Nudge package (server_plugin/updates/nudge_pkg.c) with
 * small fake xar files: the header checks (wrong magic, truncated, a table
 * of contents that does not fit), the chunked SHA-256s and the manifest
 * Apple's InstallEnterpriseApplication reads, and the command queued once
 * per package checksum to the Macs below their minimum. */
#include "host/config.h"
#include "host/plugins/registry.h"
#include "tests/host/http_fixture.h"
#include "server_plugin/server.h"
#include "server_plugin/updates/updates.h"
#include "server_plugin/updates/updates_priv.h"
#include "tests/server/updates_fixture.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib/gstdio.h>
#include <plist/plist.h>
#include <string.h>

#define BASE "https://mdm.example.com"
#define H1 "0000DDDD-0000-0000-0000-000000000001"
#define H2 "0000DDDD-0000-0000-0000-000000000002"
#define H3 "0000DDDD-0000-0000-0000-000000000003"

/* A fake xar: its 28-byte header (TOC of toc_len bytes) then `body` bytes. */
static GByteArray *fake_xar(guint64 toc_len, gsize body, guint16 version)
{
    GByteArray *a = g_byte_array_new();
    guint8 h[28] = {'x', 'a', 'r', '!', 0, 28, (guint8)(version >> 8), (guint8)version};
    for (int i = 0; i < 8; i++) {
        h[8 + i] = (guint8)(toc_len >> (56 - 8 * i));
        h[16 + i] = (guint8)((toc_len * 4) >> (56 - 8 * i));
    }
    h[27] = 1; /* SHA-1 */
    g_byte_array_append(a, h, sizeof h);
    for (gsize i = 0; i < body; i++) {
        guint8 c = (guint8)(i * 31 + 7);
        g_byte_array_append(a, &c, 1);
    }
    return a;
}

static void test_check(void)
{
    const char *why = NULL;
    GByteArray *good = fake_xar(100, 500, 1);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_check(good->data, good->len, &why), 0);
    /* Truncated anywhere in the header, or before its TOC ends. */
    for (gsize n = 0; n < 28; n++)
        CU_ASSERT_EQUAL(orchard_nudge_pkg_check(good->data, n, &why), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_check(good->data, 28 + 99, &why), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "table of contents"));
    CU_ASSERT_EQUAL(orchard_nudge_pkg_check(good->data, 28 + 100, &why), 0);
    /* Wrong magic: a zip, a flat text file. */
    GByteArray *bad = fake_xar(100, 500, 1);
    memcpy(bad->data, "PK\x03\x04", 4);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_check(bad->data, bad->len, &why), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "xar"));
    g_byte_array_unref(bad);
    /* Another header version, a header size under 28 or past the end. */
    bad = fake_xar(100, 500, 2);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_check(bad->data, bad->len, &why), ORCHARD_EINVAL);
    g_byte_array_unref(bad);
    bad = fake_xar(100, 500, 1);
    bad->data[5] = 10;
    CU_ASSERT_EQUAL(orchard_nudge_pkg_check(bad->data, bad->len, &why), ORCHARD_EINVAL);
    bad->data[4] = 0xff;
    CU_ASSERT_EQUAL(orchard_nudge_pkg_check(bad->data, bad->len, &why), ORCHARD_EINVAL);
    g_byte_array_unref(bad);
    /* A TOC length that would wrap around, and an empty one. */
    bad = fake_xar(G_MAXUINT64 - 10, 500, 1);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_check(bad->data, bad->len, &why), ORCHARD_EINVAL);
    g_byte_array_unref(bad);
    bad = fake_xar(0, 500, 1);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_check(bad->data, bad->len, &why), ORCHARD_EINVAL);
    g_byte_array_unref(bad);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_check(NULL, 0, &why), ORCHARD_EINVAL);
    g_byte_array_unref(good);
}

static char *write_pkg(const char *dir, const char *name, GByteArray *a)
{
    char *path = g_build_filename(dir, name, NULL);
    CU_ASSERT_TRUE(g_file_set_contents(path, (const char *)a->data, a->len, NULL));
    return path;
}

static void test_load_and_manifest(void)
{
    g_autofree char *dir = g_dir_make_tmp("orchard-nudgepkg-XXXXXX", NULL);
    /* Over one chunk: two SHA-256s. */
    GByteArray *a = fake_xar(64, ORCHARD_NUDGE_PKG_CHUNK + 1000, 1);
    g_autofree char *path = write_pkg(dir, "Nudge_Suite-2.0.12.81807.pkg", a);
    g_autoptr(orchard_nudge_pkg) p = NULL;
    g_autofree char *why = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_nudge_pkg_load(path, &p, &why), 0);
    g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, a->data, a->len);
    g_autofree char *c0 = g_compute_checksum_for_data(G_CHECKSUM_SHA256, a->data,
                                                      ORCHARD_NUDGE_PKG_CHUNK);
    g_autofree char *c1 = g_compute_checksum_for_data(
        G_CHECKSUM_SHA256, a->data + ORCHARD_NUDGE_PKG_CHUNK, a->len - ORCHARD_NUDGE_PKG_CHUNK);
    CU_ASSERT_STRING_EQUAL(p->sha256, sum);
    CU_ASSERT_STRING_EQUAL(p->version, "2.0.12.81807");
    CU_ASSERT_EQUAL_FATAL(p->chunk_sha256s->len, 2);
    CU_ASSERT_STRING_EQUAL(p->chunk_sha256s->pdata[0], c0);
    CU_ASSERT_STRING_EQUAL(p->chunk_sha256s->pdata[1], c1);

    GBytes *m = orchard_nudge_pkg_manifest(p, BASE);
    CU_ASSERT_FATAL(m != NULL);
    gsize len = 0;
    const char *xml = g_bytes_get_data(m, &len);
    plist_t root = NULL;
    plist_from_xml(xml, (uint32_t)len, &root);
    CU_ASSERT_FATAL(root != NULL);
    plist_t item = plist_array_get_item(plist_dict_get_item(root, "items"), 0);
    CU_ASSERT_FATAL(item != NULL);
    plist_t asset = plist_array_get_item(plist_dict_get_item(item, "assets"), 0);
    CU_ASSERT_STRING_EQUAL(plist_get_string_ptr(plist_dict_get_item(asset, "kind"), NULL),
                           "software-package");
    CU_ASSERT_STRING_EQUAL(plist_get_string_ptr(plist_dict_get_item(asset, "url"), NULL),
                           BASE "/mdm/apple/nudge/Nudge.pkg");
    uint64_t size = 0;
    plist_get_uint_val(plist_dict_get_item(asset, "sha256-size"), &size);
    CU_ASSERT_EQUAL(size, ORCHARD_NUDGE_PKG_CHUNK);
    plist_t sums = plist_dict_get_item(asset, "sha256s");
    CU_ASSERT_EQUAL_FATAL(plist_array_get_size(sums), 2);
    CU_ASSERT_STRING_EQUAL(plist_get_string_ptr(plist_array_get_item(sums, 1), NULL), c1);
    plist_t meta = plist_dict_get_item(item, "metadata");
    CU_ASSERT_STRING_EQUAL(
        plist_get_string_ptr(plist_dict_get_item(meta, "bundle-identifier"), NULL),
        "com.github.macadmins.Nudge");
    CU_ASSERT_STRING_EQUAL(plist_get_string_ptr(plist_dict_get_item(meta, "bundle-version"), NULL),
                           "2.0.12.81807");
    CU_ASSERT_STRING_EQUAL(plist_get_string_ptr(plist_dict_get_item(meta, "kind"), NULL),
                           "software");
    CU_ASSERT_STRING_EQUAL(plist_get_string_ptr(plist_dict_get_item(meta, "title"), NULL),
                           "Nudge");
    plist_free(root);
    g_bytes_unref(m);

    /* Refusals name the setting and the file. */
    GByteArray *txt = g_byte_array_new();
    g_byte_array_append(txt, (const guint8 *)"#!/bin/sh\necho hi\n", 18);
    g_autofree char *bad = write_pkg(dir, "Nudge.pkg", txt);
    orchard_nudge_pkg *q = NULL;
    g_clear_pointer(&why, g_free);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_load(bad, &q, &why), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(q);
    CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "mdm.macos_updates.nudge_pkg") && strstr(why, bad));
    g_clear_pointer(&why, g_free);
    g_autofree char *missing = g_build_filename(dir, "nope.pkg", NULL);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_load(missing, &q, &why), ORCHARD_ENOTFOUND);
    g_clear_pointer(&why, g_free);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_load(dir, &q, &why), ORCHARD_ENOTFOUND); /* a directory */
    g_unlink(bad);
    g_unlink(path);
    g_rmdir(dir);
    g_byte_array_unref(txt);
    g_byte_array_unref(a);
}

static gint64 installs_for(const char *udid)
{
    return updfx_int("SELECT count(*) FROM mdm_command_queue q JOIN mdm_commands c ON "
                     "c.command_uuid = q.command_uuid WHERE c.request_type = "
                     "'InstallEnterpriseApplication' AND q.udid = ?",
                     udid);
}

static void test_queue_once_per_checksum(void)
{
    if (updfx_open())
        return;
    g_autofree char *dir = g_dir_make_tmp("orchard-nudgepkg-XXXXXX", NULL);
    GByteArray *a = fake_xar(64, 2000, 1);
    g_autofree char *path = write_pkg(dir, "Nudge-2.0.pkg", a);
    orchard_config *cfg = orchard_config_global();
    g_autofree char *reason = NULL;
    const char *field = NULL;
    updfx_host(H1, "13.6", 1);
    updfx_host(H2, "14.5", 1);
    updfx_host(H3, NULL, 1);
    /* No package configured: nothing. */
    orchard_config_set(cfg, "server.url", BASE "/");
    CU_ASSERT_EQUAL(orchard_macos_updates_set(NULL, 0, "14.4", "2030-01-01", NULL, &field,
                                              &reason), 0);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_queue(NULL, 1), 0);
    CU_ASSERT_EQUAL(installs_for(H1), 0);

    orchard_config_set(cfg, "mdm.macos_updates.nudge_pkg", path);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_queue(NULL, 1), 0);
    CU_ASSERT_EQUAL(installs_for(H1), 1);
    CU_ASSERT_EQUAL(installs_for(H2), 0); /* at the minimum already */
    CU_ASSERT_EQUAL(installs_for(H3), 0); /* version unknown */
    g_autofree char *uuid = updfx_text("SELECT command_uuid FROM mdm_commands WHERE request_type "
                                       "= ?", "InstallEnterpriseApplication");
    CU_ASSERT_TRUE(g_str_has_prefix(uuid, ORCHARD_UPDATES_UUID_PREFIX));
    GBytes *b = updfx_blob("SELECT command FROM mdm_commands WHERE command_uuid = ?", uuid);
    CU_ASSERT_FATAL(b != NULL);
    gsize len = 0;
    const char *xml = g_bytes_get_data(b, &len);
    plist_t root = NULL;
    plist_from_xml(xml, (uint32_t)len, &root);
    plist_t cmd = plist_dict_get_item(root, "Command");
    CU_ASSERT_STRING_EQUAL(plist_get_string_ptr(plist_dict_get_item(cmd, "ManifestURL"), NULL),
                           BASE "/mdm/apple/nudge/manifest.plist");
    plist_free(root);
    g_bytes_unref(b);
    g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, a->data, a->len);
    g_autofree char *stored =
        updfx_text("SELECT nudge_pkg_sha256 FROM mdm_enrollments WHERE udid = ?", H1);
    CU_ASSERT_STRING_EQUAL(stored, sum);

    /* Once per checksum... */
    CU_ASSERT_EQUAL(orchard_nudge_pkg_queue(NULL, 2), 0);
    CU_ASSERT_EQUAL(installs_for(H1), 1);
    /* ...and again for a new package. */
    GByteArray *a2 = fake_xar(64, 3000, 1);
    g_autofree char *path2 = write_pkg(dir, "Nudge-2.0.pkg", a2);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_queue(NULL, 3), 0);
    CU_ASSERT_EQUAL(installs_for(H1), 2);
    /* A pass reads every host: without a change of the desired state, an
     * enrollment or ten minutes, none is made. */
    const char *h5 = "0000DDDD-0000-0000-0000-000000000005";
    updfx_host(h5, "13.0", 1);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_queue(NULL, 5), 0);
    CU_ASSERT_EQUAL(installs_for(h5), 0);
    orchard_nudge_pkg_dirty(); /* what the mdm.enrolled event does */
    CU_ASSERT_EQUAL(orchard_nudge_pkg_queue(NULL, 6), 0);
    CU_ASSERT_EQUAL(installs_for(h5), 1);
    const char *h6 = "0000DDDD-0000-0000-0000-000000000006";
    updfx_host(h6, "13.0", 1);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_queue(NULL, 7), 0);
    CU_ASSERT_EQUAL(installs_for(h6), 0);
    CU_ASSERT_EQUAL(orchard_macos_updates_set(NULL, 0, "14.4", "2030-01-02", NULL, &field,
                                              &reason), 0); /* moves the marker */
    CU_ASSERT_EQUAL(orchard_nudge_pkg_queue(NULL, 8), 0);
    CU_ASSERT_EQUAL(installs_for(h6), 1);
    const char *h7 = "0000DDDD-0000-0000-0000-000000000007";
    updfx_host(h7, "13.0", 1);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_queue(NULL, 8 + 601), 0); /* ten minutes on */
    CU_ASSERT_EQUAL(installs_for(h7), 1);
    CU_ASSERT_EQUAL(installs_for(H1), 2); /* still once per package */
    /* A package that is no installer: nothing queued, served or crashed. */
    g_file_set_contents(path, "not a package at all", -1, NULL);
    updfx_host("0000DDDD-0000-0000-0000-000000000004", "12.7", 1);
    CU_ASSERT_EQUAL(orchard_nudge_pkg_queue(NULL, 4), 0);
    CU_ASSERT_EQUAL(installs_for("0000DDDD-0000-0000-0000-000000000004"), 0);

    orchard_config_set(cfg, "mdm.macos_updates.nudge_pkg", NULL);
    orchard_config_set(cfg, "server.url", NULL);
    orchard_nudge_pkg_forget();
    g_unlink(path);
    g_rmdir(dir);
    g_byte_array_unref(a);
    g_byte_array_unref(a2);
    updfx_close();
}

/* ---- the routes, served for real with the MDM gate open */

static int gate_open(orchard_ctx *ctx)
{
    return orchard_server_host->gate_set(ctx, "mdm", 1, NULL);
}

static const orchard_route *const pkg_routes[] = {&orchard_route_nudge_pkg};

static const orchard_plugin pkg_plugin = {
    ORCHARD_STRUCT_HEADER(orchard_plugin),
    .name = "nudge-pkg-test",
    .version = "1.0",
    .description = "the Nudge package routes under test",
    .routes = pkg_routes,
    .n_routes = G_N_ELEMENTS(pkg_routes),
    .init = gate_open,
};

static int pkg_entry(const orchard_host_api *host, const orchard_plugin **out)
{
    orchard_server_host = host;
    *out = &pkg_plugin;
    return 0;
}

static void fetch(http_server *srv, const char *method, const char *path, http_response *r)
{
    http_fetch_url(srv->url, method, path, r, NULL);
}

static void test_routes(void)
{
    g_autofree char *err = NULL;
    g_autofree char *dir = g_dir_make_tmp("orchard-nudgepkg-XXXXXX", NULL);
    GByteArray *a = fake_xar(64, 4000, 1);
    g_autofree char *path = write_pkg(dir, "Nudge-1.1.pkg", a);
    orchard_registry *saved = orchard_registry_global(), *reg = orchard_registry_new();
    CU_ASSERT_FATAL(orchard_registry_add_builtin(reg, pkg_entry, &err) == 0);
    orchard_registry_set_global(reg);
    http_config("http_module", BUILD_DIR "/modules/orchard_http.so");
    http_config("server.address", "127.0.0.1:0");
    http_config("server.url", BASE);
    CU_ASSERT_EQUAL_FATAL(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    http_server *srv = http_server_start();
    CU_ASSERT_FATAL(srv->url != NULL);
    http_response r;

    /* No package configured: 404 for both. */
    orchard_nudge_pkg_forget();
    fetch(srv, "GET", "/mdm/apple/nudge/Nudge.pkg", &r);
    CU_ASSERT_EQUAL(r.status, 404);
    http_response_clear(&r);
    fetch(srv, "GET", "/mdm/apple/nudge/manifest.plist", &r);
    CU_ASSERT_EQUAL(r.status, 404);
    http_response_clear(&r);

    http_config("mdm.macos_updates.nudge_pkg", path);
    fetch(srv, "GET", "/mdm/apple/nudge/Nudge.pkg", &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(r.body->len == a->len && memcmp(r.body->str, a->data, a->len) == 0);
    http_response_clear(&r);
    fetch(srv, "GET", "/mdm/apple/nudge/manifest.plist", &r);
    CU_ASSERT_EQUAL(r.status, 200);
    plist_t root = NULL;
    plist_from_xml(r.body->str, (uint32_t)r.body->len, &root);
    CU_ASSERT_FATAL(root != NULL);
    plist_t asset = plist_array_get_item(
        plist_dict_get_item(plist_array_get_item(plist_dict_get_item(root, "items"), 0),
                            "assets"), 0);
    CU_ASSERT_STRING_EQUAL(plist_get_string_ptr(plist_dict_get_item(asset, "url"), NULL),
                           BASE "/mdm/apple/nudge/Nudge.pkg");
    g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, a->data, a->len);
    CU_ASSERT_STRING_EQUAL(plist_get_string_ptr(plist_array_get_item(
                                                    plist_dict_get_item(asset, "sha256s"), 0),
                                                NULL), sum);
    plist_free(root);
    http_response_clear(&r);
    /* Other paths under the prefix, other methods. */
    static const char *const others[] = {"/mdm/apple/nudge", "/mdm/apple/nudge/",
                                         "/mdm/apple/nudge/Nudge.pkg/x",
                                         "/mdm/apple/nudge/nudge.pkg",
                                         "/mdm/apple/nudge/manifest.plist.bak"};
    for (size_t i = 0; i < G_N_ELEMENTS(others); i++) {
        fetch(srv, "GET", others[i], &r);
        CU_ASSERT_TRUE(r.status == 404 || r.status == 400);
        http_response_clear(&r);
    }
    fetch(srv, "POST", "/mdm/apple/nudge/Nudge.pkg", &r);
    CU_ASSERT_TRUE(r.status == 404 || r.status == 405);
    http_response_clear(&r);
    /* A file that turned into no package: no longer served. */
    g_file_set_contents(path, "<html>not a package</html>", -1, NULL);
    fetch(srv, "GET", "/mdm/apple/nudge/Nudge.pkg", &r);
    CU_ASSERT_EQUAL(r.status, 404);
    http_response_clear(&r);

    http_server_finish(srv, NULL);
    curl_global_cleanup();
    http_config("mdm.macos_updates.nudge_pkg", NULL);
    http_config("server.url", NULL);
    http_config("http_module", NULL);
    http_config("server.address", NULL);
    orchard_registry_set_global(saved);
    orchard_registry_free(reg);
    orchard_nudge_pkg_forget();
    g_unlink(path);
    g_rmdir(dir);
    g_byte_array_unref(a);
}

void nudge_pkg_suite(void)
{
    ORCHARD_ADD_SUITE("nudge_pkg", NULL, NULL, {"check", test_check},
                      {"load_and_manifest", test_load_and_manifest},
                      {"queue_once_per_checksum", test_queue_once_per_checksum},
                      {"routes", test_routes});
}
