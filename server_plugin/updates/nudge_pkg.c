/* The Nudge app for Macs (updates_priv.h): when mdm.macos_updates.nudge_pkg
 * names an installer package, orchard checks it is a xar archive, serves it
 * and its manifest at /mdm/apple/nudge/ (Apple's InstallEnterpriseApplication
 * manifest: chunked SHA-256s, bundle identifier com.github.macadmins.Nudge),
 * and queues InstallEnterpriseApplication once per package checksum to the
 * Macs below their minimum version. The Mac itself refuses an unsigned or
 * badly signed package (docs/macos-updates.md). */
#include "server_plugin/updates/updates.h"

#include "server_plugin/apns/apns.h"
#include "server_plugin/commands/command.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_sql.h"
#include "server_plugin/store/store_updates.h"
#include "server_plugin/updates/updates_priv.h"
#include "tables/nudge_logic.h"

#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PKG_KEY "mdm.macos_updates.nudge_pkg"
#define ROUTE_PREFIX "/mdm/apple/nudge"
#define PKG_PATH ROUTE_PREFIX "/Nudge.pkg"
#define MANIFEST_PATH ROUTE_PREFIX "/manifest.plist"
#define XAR_HEADER 28
/* No Nudge table of contents is near this (a few KiB). */
#define XAR_TOC_MAX (64 * 1024 * 1024)

/* The package loaded last, by path, size and modification time; shared by
 * HTTP threads and the job. */
static GMutex cache_lock;
static orchard_nudge_pkg *cache;
static char *cache_key;

/* The last full pass: the desired-state marker and package it saw. Every
 * change that can make a Mac need the package (a setting, a team, an OS
 * version) moves the marker; an enrollment sets `dirty`. Without either,
 * a pass is skipped for up to PASS_MAX_AGE (a pass reads every enabled
 * host: ~0.1 s for 10,000). Job thread only, but `dirty`. */
#define PASS_MAX_AGE 600
static char *last_pass_key;
static gint64 last_pass_at;
static gint dirty = 1;

void orchard_nudge_pkg_free(orchard_nudge_pkg *p)
{
    if (!p)
        return;
    if (p->data)
        g_bytes_unref(p->data);
    g_free(p->sha256);
    g_free(p->version);
    if (p->chunk_sha256s)
        g_ptr_array_unref(p->chunk_sha256s);
    g_free(p);
}

static guint64 be(const guint8 *p, int n)
{
    guint64 v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int orchard_nudge_pkg_check(const void *data, gsize len, const char **why)
{
    const guint8 *p = data;
    if (!p || len < XAR_HEADER || memcmp(p, "xar!", 4) != 0)
        return *why = "not an installer package (no xar archive header)", ORCHARD_EINVAL;
    guint64 size = be(p + 4, 2), version = be(p + 6, 2);
    guint64 toc_c = be(p + 8, 8), toc_u = be(p + 16, 8), alg = be(p + 24, 4);
    if (size < XAR_HEADER || size > len || version != 1)
        return *why = "not an installer package (a xar header of another version)",
               ORCHARD_EINVAL;
    if (toc_c == 0 || toc_c > len - size || toc_u == 0 || toc_u > XAR_TOC_MAX)
        return *why = "a truncated or broken installer package (its table of contents does "
                      "not fit)", ORCHARD_EINVAL;
    if (alg > 4)
        return *why = "a broken installer package (unknown checksum algorithm)", ORCHARD_EINVAL;
    return 0;
}

/* "Nudge-2.0.12.pkg" -> "2.0.12"; "1.0" without a dotted number. */
static char *version_of_name(const char *path)
{
    g_autofree char *base = g_path_get_basename(path);
    for (const char *s = base; *s; s++) {
        if (!g_ascii_isdigit(*s))
            continue;
        size_t n = strspn(s, "0123456789.");
        while (n && s[n - 1] == '.')
            n--;
        if (memchr(s, '.', n) && n <= 32)
            return g_strndup(s, n);
        s += n ? n - 1 : 0;
    }
    return g_strdup("1.0");
}

int orchard_nudge_pkg_load(const char *path, orchard_nudge_pkg **out, char **why)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    GError *err = NULL;
    GStatBuf st;
    const char *bad = NULL;
    *out = NULL;
    *why = NULL;
    if (g_stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        *why = g_strdup_printf("%s: %s is not a readable file", PKG_KEY, path);
        return ORCHARD_ENOTFOUND;
    }
    if ((gsize)st.st_size > ORCHARD_NUDGE_PKG_MAX) {
        *why = g_strdup_printf("%s: %s is over 512 MiB", PKG_KEY, path);
        return ORCHARD_ETOOBIG;
    }
    if (!g_file_get_contents(path, &data, &len, &err)) {
        *why = g_strdup_printf("%s: %s", PKG_KEY, err->message);
        g_error_free(err);
        return ORCHARD_EIO;
    }
    if (orchard_nudge_pkg_check(data, len, &bad)) {
        *why = g_strdup_printf("%s: %s is %s", PKG_KEY, path, bad);
        return ORCHARD_EINVAL;
    }
    orchard_nudge_pkg *p = g_new0(orchard_nudge_pkg, 1);
    p->sha256 = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
    p->version = version_of_name(path);
    p->chunk_sha256s = g_ptr_array_new_with_free_func(g_free);
    for (gsize off = 0; off < len; off += ORCHARD_NUDGE_PKG_CHUNK) {
        gsize n = MIN((gsize)ORCHARD_NUDGE_PKG_CHUNK, len - off);
        g_ptr_array_add(p->chunk_sha256s, g_compute_checksum_for_data(
                                              G_CHECKSUM_SHA256, (const guchar *)data + off, n));
    }
    p->data = g_bytes_new_take(g_steal_pointer(&data), len);
    *out = p;
    return 0;
}

GBytes *orchard_nudge_pkg_manifest(const orchard_nudge_pkg *p, const char *base)
{
    g_autofree char *url = g_strconcat(base, PKG_PATH, NULL);
    plist_t sums = plist_new_array();
    for (guint i = 0; i < p->chunk_sha256s->len; i++)
        plist_array_append_item(sums, plist_new_string(p->chunk_sha256s->pdata[i]));
    plist_t asset = plist_new_dict();
    plist_dict_set_item(asset, "kind", plist_new_string("software-package"));
    plist_dict_set_item(asset, "url", plist_new_string(url));
    plist_dict_set_item(asset, "sha256-size", plist_new_uint(ORCHARD_NUDGE_PKG_CHUNK));
    plist_dict_set_item(asset, "sha256s", sums);
    plist_t assets = plist_new_array();
    plist_array_append_item(assets, asset);
    plist_t meta = plist_new_dict();
    plist_dict_set_item(meta, "bundle-identifier", plist_new_string(ORCHARD_NUDGE_DOMAIN));
    plist_dict_set_item(meta, "bundle-version", plist_new_string(p->version));
    plist_dict_set_item(meta, "kind", plist_new_string("software"));
    plist_dict_set_item(meta, "title", plist_new_string("Nudge"));
    plist_t item = plist_new_dict();
    plist_dict_set_item(item, "assets", assets);
    plist_dict_set_item(item, "metadata", meta);
    plist_t items = plist_new_array();
    plist_array_append_item(items, item);
    plist_t root = plist_new_dict();
    plist_dict_set_item(root, "items", items);
    char *xml = NULL;
    uint32_t len = 0;
    plist_to_xml(root, &xml, &len);
    plist_free(root);
    GBytes *b = xml ? g_bytes_new(xml, len) : NULL;
    free(xml);
    return b;
}

/* The configured package, loaded once per file version: 0 and *out (a
 * reference: orchard_nudge_pkg_free does not apply, use release), 
 * ORCHARD_ENOTCONFIGURED, or a load failure (logged once per version). */
static int current(orchard_ctx *ctx, GBytes **data, char **sha256, char **manifest_version,
                   GPtrArray **sums)
{
    const orchard_host_api *h = orchard_server_host;
    const char *path = h->config_get(PKG_KEY);
    GStatBuf st;
    if (!path || !*path)
        return ORCHARD_ENOTCONFIGURED;
    g_autofree char *key = g_stat(path, &st) == 0
                               ? g_strdup_printf("%s\n%lld\n%lld", path, (long long)st.st_size,
                                                 (long long)st.st_mtime)
                               : g_strdup(path);
    int rc = 0;
    g_mutex_lock(&cache_lock);
    if (g_strcmp0(key, cache_key) != 0) {
        g_autofree char *why = NULL;
        orchard_nudge_pkg_free(cache);
        cache = NULL;
        g_free(cache_key);
        cache_key = g_strdup(key);
        rc = orchard_nudge_pkg_load(path, &cache, &why);
        if (rc)
            h->ctx_log(ctx, ORCHARD_LOG_WARNING, "the Nudge package is not served: %s", why);
    }
    if (!cache)
        rc = rc ? rc : ORCHARD_EINVAL;
    if (rc == 0) {
        *data = g_bytes_ref(cache->data);
        *sha256 = g_strdup(cache->sha256);
        *manifest_version = g_strdup(cache->version);
        *sums = g_ptr_array_ref(cache->chunk_sha256s);
    }
    g_mutex_unlock(&cache_lock);
    return rc;
}

void orchard_nudge_pkg_forget(void)
{
    g_mutex_lock(&cache_lock);
    orchard_nudge_pkg_free(cache);
    cache = NULL;
    g_clear_pointer(&cache_key, g_free);
    g_mutex_unlock(&cache_lock);
    g_clear_pointer(&last_pass_key, g_free);
    orchard_nudge_pkg_dirty();
}

/* The package as a struct of references to the cache's parts. */
static int snapshot(orchard_ctx *ctx, orchard_nudge_pkg **out)
{
    orchard_nudge_pkg *p = g_new0(orchard_nudge_pkg, 1);
    int rc = current(ctx, &p->data, &p->sha256, &p->version, &p->chunk_sha256s);
    if (rc) {
        orchard_nudge_pkg_free(p);
        p = NULL;
    }
    *out = p;
    return rc;
}

static char *base_url(void)
{
    const char *u = orchard_server_host->config_get("server.url");
    char *b = g_strdup(u ? u : "");
    while (*b && b[strlen(b) - 1] == '/')
        b[strlen(b) - 1] = '\0';
    return b;
}

static int nudge_route(orchard_ctx *ctx, const orchard_http_request *req,
                       orchard_http_response *resp, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    g_autoptr(orchard_nudge_pkg) p = NULL;
    static const char none[] = "no Nudge package is configured (mdm.macos_updates.nudge_pkg)\n";
    (void)payload;
    const char *path = h->http_path(req);
    int is_pkg = strcmp(path, PKG_PATH) == 0, is_manifest = strcmp(path, MANIFEST_PATH) == 0;
    if (!is_pkg && !is_manifest)
        return h->http_respond(resp, 404, "text/plain", "not found\n", 10);
    if (snapshot(ctx, &p))
        return h->http_respond(resp, 404, "text/plain", none, sizeof none - 1);
    if (is_pkg) {
        gsize len = 0;
        const void *d = g_bytes_get_data(p->data, &len);
        return h->http_respond(resp, 200, "application/octet-stream", d, len);
    }
    g_autofree char *base = base_url();
    g_autoptr(GBytes) m = orchard_nudge_pkg_manifest(p, base);
    gsize len = 0;
    const void *d = m ? g_bytes_get_data(m, &len) : NULL;
    return d ? h->http_respond(resp, 200, "application/xml", d, len) : ORCHARD_ENOMEM;
}

const orchard_route orchard_route_nudge_pkg = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "GET",
    .path_prefix = ROUTE_PREFIX,
    .handle2 = nudge_route,
    .gate = "mdm",
};

static char *manifest_url;

void orchard_nudge_pkg_dirty(void)
{
    g_atomic_int_set(&dirty, 1);
}

static GBytes *install_command(const char *uuid)
{
    plist_t cmd = plist_new_dict();
    plist_dict_set_item(cmd, "ManifestURL", plist_new_string(manifest_url));
    return orchard_command_xml(uuid, "InstallEnterpriseApplication", cmd);
}

/* Below its scope's minimum and not yet sent the package `sha`? */
static int needs_pkg(const orchard_update_host *x, const char *sha)
{
    int cmp = 0;
    return x->minimum_version && x->os_version && g_strcmp0(x->nudge_pkg_sha256, sha) != 0 &&
           nudge_version_compare(x->os_version, x->minimum_version, &cmp) == 0 && cmp < 0;
}

int orchard_nudge_pkg_queue(orchard_ctx *ctx, gint64 now)
{
    g_autoptr(orchard_nudge_pkg) p = NULL;
    g_autoptr(GPtrArray) hosts = NULL;
    g_autofree char *base = base_url();
    if (snapshot(ctx, &p) || !*base)
        return 0; /* nothing to install: no package, or no URL to fetch it from */
    g_autofree char *marker = NULL;
    int rc = orchard_sstore_desired_version(&marker);
    if (rc)
        return rc;
    g_autofree char *key = g_strconcat(marker, "\n", p->sha256, NULL);
    if (!g_atomic_int_get(&dirty) && g_strcmp0(key, last_pass_key) == 0 &&
        now - last_pass_at < PASS_MAX_AGE && now >= last_pass_at)
        return 0;
    g_atomic_int_set(&dirty, 0);
    if ((rc = orchard_store_update_hosts(&hosts))) {
        orchard_nudge_pkg_dirty();
        return rc;
    }
    g_autoptr(GPtrArray) due = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < hosts->len; i++)
        if (needs_pkg(hosts->pdata[i], p->sha256))
            g_ptr_array_add(due, g_strdup(((orchard_update_host *)hosts->pdata[i])->udid));
    if (due->len == 0)
        goto done;
    /* Only the job's thread queues (one run at a time): the URL is
     * handed to the command builder through this static. */
    g_free(manifest_url);
    manifest_url = g_strconcat(base, MANIFEST_PATH, NULL);
    rc = orchard_updates_enqueue("NUDGEPKG-", "InstallEnterpriseApplication", install_command,
                                 due, g_get_real_time());
    if (rc == 0 && due->len)
        rc = orchard_store_nudge_pkg_queued((const char *const *)due->pdata, due->len, p->sha256);
    if (rc == 0 && due->len && ctx)
        orchard_apns_push(ctx, (const char *const *)due->pdata, due->len);
    if (rc) {
        orchard_nudge_pkg_dirty();
        return rc;
    }
done:
    g_free(last_pass_key);
    last_pass_key = g_steal_pointer(&key);
    last_pass_at = now;
    return 0;
}
