/* The reconciler suites' fixture (reconcile_fixture.h). Statements go
 * through the server plugin's own store plumbing, as the code under test. */
#include "tests/server/reconcile_fixture.h"

#include "host/plugins/plugin_ctx.h"
#include "host/plugins/registry.h"
#include "host/store/store.h"
#include "server_plugin/profiles/profiles.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_sql.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <CUnit/CUnit.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <string.h>

static char *dir;

void rfx_open(void)
{
    g_autofree char *err = NULL;
    dir = g_dir_make_tmp("orchard-reconcile-XXXXXX", NULL);
    CU_ASSERT_FATAL(dir != NULL);
    g_autofree char *path = g_build_filename(dir, "s.db", NULL);
    orchard_server_host = orchard_host_api_get();
    int rc = orchard_store_open(orchard_test_store(path), &err);
    if (rc)
        fprintf(stderr, "\n  store: %s\n", err ? err : "?");
    CU_ASSERT_FATAL(rc == 0);
    CU_ASSERT_FATAL(orchard_server_store_migrate() == 0);
    orchard_profiles_cleanup();
}

void rfx_close(void)
{
    orchard_store_close();
    orchard_profiles_cleanup();
    g_autofree char *path = g_build_filename(dir, "s.db", NULL);
    g_autofree char *wal = g_strconcat(path, "-wal", NULL);
    g_autofree char *shm = g_strconcat(path, "-shm", NULL);
    g_unlink(path);
    g_unlink(wal);
    g_unlink(shm);
    g_rmdir(dir);
    g_clear_pointer(&dir, g_free);
}

/* The text parameters after `sql`, up to NULL (at most 8). */
static size_t collect(va_list ap, orchard_sql_param *p)
{
    size_t n = 0;
    const char *s;
    while (n < 8 && (s = va_arg(ap, const char *)))
        p[n++] = SQL_TEXT(s);
    return n;
}

void rfx_sql(const char *sql, ...)
{
    orchard_sql_param p[8];
    va_list ap;
    va_start(ap, sql);
    size_t n = collect(ap, p);
    va_end(ap);
    gint64 w = orchard_sstore_write("a test statement", sql, p, n);
    if (w < 0)
        fprintf(stderr, "\n  failed: %s\n", sql);
    CU_ASSERT_FATAL(w >= 0);
}

static int text_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    *(char **)out = h->stmt_column_is_null(st, 0) ? NULL : g_strdup(h->stmt_column_text(st, 0));
    return 0;
}

static char *vtext(const char *sql, va_list ap)
{
    orchard_sql_param p[8];
    size_t n = collect(ap, p);
    char *out = NULL;
    int rc = orchard_sstore_read_one("a test read", sql, p, n, text_row, &out);
    CU_ASSERT(rc == 0 || rc == ORCHARD_ENOTFOUND);
    return out;
}

char *rfx_text(const char *sql, ...)
{
    va_list ap;
    va_start(ap, sql);
    char *out = vtext(sql, ap);
    va_end(ap);
    return out;
}

gint64 rfx_int(const char *sql, ...)
{
    va_list ap;
    va_start(ap, sql);
    g_autofree char *out = vtext(sql, ap);
    va_end(ap);
    return out ? g_ascii_strtoll(out, NULL, 10) : -1;
}

void rfx_team(gint64 id, const char *name)
{
    g_autofree char *sql = g_strdup_printf("INSERT INTO teams (id, name, created_at, updated_at) "
                                           "VALUES (%" G_GINT64_FORMAT ", ?, 1, 1)", id);
    rfx_sql(sql, name, NULL);
}

void rfx_host(const char *udid, gint64 team_id, const char *os_version, int enabled)
{
    g_autofree char *cert = g_compute_checksum_for_string(G_CHECKSUM_SHA256, udid, -1);
    gint64 w = orchard_sstore_write(
        "a test host",
        "INSERT INTO mdm_enrollments (udid, cert_sha256, os_version, enabled, team_id, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, 1)",
        SQL_PARAMS(SQL_TEXT(udid), SQL_TEXT(cert), SQL_TEXT(os_version),
                   SQL_INT(enabled ? 1 : 0), SQL_INT(team_id)));
    CU_ASSERT_FATAL(w == 1);
}

char *rfx_mobileconfig(const char *identifier, const char *name, const char *payload_uuid,
                       const char *extra)
{
    return g_strdup_printf(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>"
        "<key>PayloadType</key><string>Configuration</string>"
        "<key>PayloadIdentifier</key><string>%s</string>"
        "<key>PayloadDisplayName</key><string>%s</string>"
        "<key>PayloadUUID</key><string>%s</string>"
        "<key>PayloadVersion</key><integer>1</integer>"
        "<key>PayloadContent</key><array>%s</array></dict></plist>\n",
        identifier, name, payload_uuid, extra ? extra : "");
}

static void put_profile(gint64 id, gint64 team_id, const char *kind, const char *identifier,
                        const char *name, const char *payload_uuid, const char *applies_below)
{
    g_autofree char *content = rfx_mobileconfig(identifier, name, payload_uuid, NULL);
    g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, content, -1);
    gint64 w = orchard_sstore_write(
        "a test profile",
        "INSERT INTO mdm_profiles (id, team_id, kind, identifier, name, payload_uuid, content, "
        "checksum, applies_below, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1) "
        "ON CONFLICT (team_id, identifier) DO UPDATE SET payload_uuid = excluded.payload_uuid, "
        "content = excluded.content, checksum = excluded.checksum",
        SQL_PARAMS(SQL_INT(id), SQL_INT(team_id), SQL_TEXT(kind), SQL_TEXT(identifier),
                   SQL_TEXT(name), SQL_TEXT(payload_uuid), SQL_BLOB(content, strlen(content)),
                   SQL_TEXT(sum), SQL_TEXT(applies_below)));
    CU_ASSERT_FATAL(w == 1);
}

void rfx_profile(gint64 id, gint64 team_id, const char *kind, const char *identifier,
                 const char *name, const char *payload_uuid, const char *applies_below)
{
    put_profile(id, team_id, kind, identifier, name, payload_uuid, applies_below);
}

void rfx_profile_edit(gint64 id, const char *new_payload_uuid)
{
    g_autofree char *sql = g_strdup_printf("SELECT team_id FROM mdm_profiles WHERE id = %"
                                           G_GINT64_FORMAT, id);
    gint64 team = rfx_int(sql, NULL);
    g_free(sql);
    sql = g_strdup_printf("SELECT identifier FROM mdm_profiles WHERE id = %" G_GINT64_FORMAT, id);
    g_autofree char *identifier = rfx_text(sql, NULL);
    g_free(sql);
    sql = g_strdup_printf("SELECT name FROM mdm_profiles WHERE id = %" G_GINT64_FORMAT, id);
    g_autofree char *name = rfx_text(sql, NULL);
    g_free(sql);
    sql = g_strdup_printf("SELECT kind FROM mdm_profiles WHERE id = %" G_GINT64_FORMAT, id);
    g_autofree char *kind = rfx_text(sql, NULL);
    CU_ASSERT_FATAL(identifier && name && kind);
    put_profile(id, team, kind, identifier, name, new_payload_uuid, NULL);
}

orchard_rc_stats rfx_pass(gint64 now)
{
    orchard_rc_stats st = {0};
    int rc = orchard_profiles_reconcile_pass(orchard_ctx_host(), now * G_USEC_PER_SEC, &st, NULL);
    CU_ASSERT_EQUAL(rc, 0);
    return st;
}

char *rfx_row(const char *udid, const char *identifier, const char *field)
{
    g_autofree char *sql = g_strdup_printf("SELECT %s FROM mdm_host_profiles WHERE udid = ? AND "
                                           "identifier = ?", field);
    return rfx_text(sql, udid, identifier, NULL);
}

gint64 rfx_queued(const char *udid, const char *request_type)
{
    return rfx_int("SELECT count(*) FROM mdm_command_queue q JOIN mdm_commands c ON "
                   "c.command_uuid = q.command_uuid WHERE q.udid = ? AND c.request_type = ?",
                   udid, request_type, NULL);
}

gint64 rfx_commands(const char *request_type)
{
    return rfx_int("SELECT count(*) FROM mdm_commands WHERE request_type = ?", request_type,
                   NULL);
}

plist_t rfx_report_plist(const char *udid, const char *uuid, const char *status, plist_t extra)
{
    plist_t root = extra ? extra : plist_new_dict();
    plist_dict_set_item(root, "UDID", plist_new_string(udid));
    plist_dict_set_item(root, "CommandUUID", plist_new_string(uuid));
    plist_dict_set_item(root, "Status", plist_new_string(status));
    return root;
}

int rfx_report(const char *udid, const char *uuid, const char *status, plist_t extra, gint64 now)
{
    plist_t root = rfx_report_plist(udid, uuid, status, extra);
    int rc = orchard_profiles_report(orchard_ctx_host(), udid, uuid, status, root, NULL, now);
    plist_free(root);
    return rc;
}

plist_t rfx_error_chain(gint64 code, const char *domain, const char *description)
{
    plist_t e = plist_new_dict();
    plist_dict_set_item(e, "ErrorCode", plist_new_uint((uint64_t)code));
    plist_dict_set_item(e, "ErrorDomain", plist_new_string(domain));
    plist_dict_set_item(e, "LocalizedDescription", plist_new_string(description));
    plist_t chain = plist_new_array();
    plist_array_append_item(chain, e);
    plist_t d = plist_new_dict();
    plist_dict_set_item(d, "ErrorChain", chain);
    return d;
}

plist_t rfx_profile_list(const char *identifier, ...)
{
    plist_t list = plist_new_array();
    va_list ap;
    va_start(ap, identifier);
    for (const char *id = identifier; id; id = va_arg(ap, const char *)) {
        const char *uuid = va_arg(ap, const char *);
        plist_t e = plist_new_dict();
        plist_dict_set_item(e, "PayloadIdentifier", plist_new_string(id));
        plist_dict_set_item(e, "PayloadUUID", plist_new_string(uuid));
        plist_dict_set_item(e, "IsManaged", plist_new_bool(1));
        plist_array_append_item(list, e);
    }
    va_end(ap);
    plist_t d = plist_new_dict();
    plist_dict_set_item(d, "ProfileList", list);
    return d;
}
