/* The profile reconciler's snapshot (store_host_profiles.h): every enabled
 * enrollment, every profile and every host row, read in one transaction and
 * shaped for planning without a hash per string: rows come back with their
 * identifier and checksum NULL when they equal their profile's (the usual
 * case), so most rows cost one UDID lookup, and they are grouped by host in
 * memory (a counting sort) rather than by an ORDER BY. A pass with nothing
 * to do is mostly this read, so its cost is the pass's floor. */
#include "server_plugin/store/store_host_profiles.h"
#include "server_plugin/store/store_sql.h"

#include <string.h>

void orchard_hp_snapshot_clear(orchard_hp_snapshot *s)
{
    if (!s)
        return;
    g_free(s->desired_version);
    if (s->hosts)
        g_array_unref(s->hosts);
    if (s->profiles)
        g_array_unref(s->profiles);
    if (s->rows)
        g_array_unref(s->rows);
    if (s->strings)
        g_string_chunk_free(s->strings);
    memset(s, 0, sizeof *s);
}

typedef struct {
    orchard_hp_snapshot *s;
    GHashTable *host_of;    /* udid -> host index + 1 */
    GHashTable *profile_of; /* &id -> orchard_hp_profile * */
    GArray *raw;            /* raw_row, in the store's order */
    GString *prev_udid;     /* consecutive rows of one host skip the lookup */
    guint prev_host;
} reader;

typedef struct {
    guint host; /* index + 1 */
    orchard_hp_row row;
} raw_row;

/* Column i as an interned string, NULL for NULL. */
static const char *col_str(const orchard_host_api *h, orchard_stmt *st, int i, GStringChunk *c)
{
    const char *v = h->stmt_column_is_null(st, i) ? NULL : h->stmt_column_text(st, i);
    return v ? g_string_chunk_insert_const(c, v) : NULL;
}

static gint64 col_time(const orchard_host_api *h, orchard_stmt *st, int i)
{
    return h->stmt_column_is_null(st, i) ? -1 : h->stmt_column_int(st, i);
}

static void host_row(const orchard_host_api *h, orchard_stmt *st, reader *r)
{
    orchard_hp_host v = {
        .udid = col_str(h, st, 0, r->s->strings),
        .team_id = h->stmt_column_int(st, 1),
        .os_version = col_str(h, st, 2, r->s->strings),
        .profile_list_at = col_time(h, st, 3),
        .profile_list_asked_at = col_time(h, st, 4),
    };
    if (!v.udid)
        return;
    g_array_append_val(r->s->hosts, v);
    g_hash_table_insert(r->host_of, (gpointer)v.udid, GUINT_TO_POINTER(r->s->hosts->len));
}

static void profile_row(const orchard_host_api *h, orchard_stmt *st, reader *r)
{
    GStringChunk *c = r->s->strings;
    orchard_hp_profile v = {
        .id = h->stmt_column_int(st, 0),
        .team_id = h->stmt_column_int(st, 1),
        .kind = col_str(h, st, 2, c),
        .identifier = col_str(h, st, 3, c),
        .name = col_str(h, st, 4, c),
        .payload_uuid = col_str(h, st, 5, c),
        .checksum = col_str(h, st, 6, c),
        .applies_below = col_str(h, st, 7, c),
    };
    if (v.identifier && v.checksum)
        g_array_append_val(r->s->profiles, v);
}

static orchard_hp_status status_of(const char *s)
{
    static const char *const names[] = {"pending", "verifying", "verified", "failed"};
    for (int i = 0; s && i < (int)G_N_ELEMENTS(names); i++)
        if (strcmp(s, names[i]) == 0)
            return (orchard_hp_status)i;
    return ORCHARD_HP_OTHER;
}

/* One host row: its host by UDID (the previous row's, most of the time
 * when the store returns a host's rows together), its strings from its
 * profile unless the store said they differ. Rows of hosts not enabled
 * are left out. */
static void hp_row(const orchard_host_api *h, orchard_stmt *st, reader *r)
{
    const char *udid = h->stmt_column_text(st, 0);
    if (!udid)
        return;
    if (!r->prev_udid->len || strcmp(r->prev_udid->str, udid) != 0) {
        r->prev_host = GPOINTER_TO_UINT(g_hash_table_lookup(r->host_of, udid));
        g_string_assign(r->prev_udid, udid);
    }
    if (!r->prev_host)
        return;
    raw_row v = {.host = r->prev_host};
    v.row.profile_id = h->stmt_column_is_null(st, 1) ? 0 : h->stmt_column_int(st, 1);
    const orchard_hp_profile *p =
        v.row.profile_id ? g_hash_table_lookup(r->profile_of, &v.row.profile_id) : NULL;
    v.row.identifier = col_str(h, st, 2, r->s->strings);
    v.row.checksum = col_str(h, st, 3, r->s->strings);
    if (!v.row.identifier)
        v.row.identifier = p ? p->identifier : g_string_chunk_insert_const(r->s->strings, "");
    if (!v.row.checksum)
        v.row.checksum = p ? p->checksum : g_string_chunk_insert_const(r->s->strings, "");
    const char *op = h->stmt_column_text(st, 4);
    v.row.install = op && strcmp(op, "install") == 0;
    v.row.status = status_of(h->stmt_column_text(st, 5));
    v.row.updated_at = h->stmt_column_int(st, 6);
    g_array_append_val(r->raw, v);
}

typedef void (*snap_row_fn)(const orchard_host_api *h, orchard_stmt *st, reader *r);

static int read_all(orchard_store_tx *tx, const char *sql, snap_row_fn fn, reader *r)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    int rc = orchard_sstore_prepare(tx, sql, NULL, 0, &st);
    while (rc == 0 && (rc = h->stmt_step(st)) == 1) {
        rc = 0;
        fn(h, st, r);
    }
    h->stmt_finish(st);
    return rc;
}

/* The raw rows grouped by host into s->rows, in two linear passes. */
static void group_rows(reader *r)
{
    GArray *hosts = r->s->hosts;
    for (guint i = 0; i < r->raw->len; i++)
        g_array_index(hosts, orchard_hp_host, g_array_index(r->raw, raw_row, i).host - 1)
            .rows_count++;
    guint start = 0;
    for (guint i = 0; i < hosts->len; i++) {
        orchard_hp_host *ho = &g_array_index(hosts, orchard_hp_host, i);
        ho->rows_start = start;
        start += ho->rows_count;
        ho->rows_count = 0;
    }
    g_array_set_size(r->s->rows, r->raw->len);
    for (guint i = 0; i < r->raw->len; i++) {
        raw_row *v = &g_array_index(r->raw, raw_row, i);
        orchard_hp_host *ho = &g_array_index(hosts, orchard_hp_host, v->host - 1);
        g_array_index(r->s->rows, orchard_hp_row, ho->rows_start + ho->rows_count++) = v->row;
    }
}

int orchard_store_hp_snapshot(orchard_hp_snapshot *out)
{
    const char *what = "reading the profiles' desired and sent state";
    orchard_store_tx *tx = NULL;
    memset(out, 0, sizeof *out);
    /* The marker first: the snapshot after it is at least as new, so a
     * change between the two costs one more pass, never a missed one. */
    int rc = orchard_sstore_desired_version(&out->desired_version);
    if (rc == 0)
        rc = orchard_sstore_begin(0, what, &tx);
    if (rc) {
        orchard_hp_snapshot_clear(out);
        return rc;
    }
    out->strings = g_string_chunk_new(64 * 1024);
    out->hosts = g_array_new(FALSE, FALSE, sizeof(orchard_hp_host));
    out->profiles = g_array_new(FALSE, FALSE, sizeof(orchard_hp_profile));
    out->rows = g_array_new(FALSE, FALSE, sizeof(orchard_hp_row));
    reader r = {.s = out,
                .host_of = g_hash_table_new(g_str_hash, g_str_equal),
                .profile_of = g_hash_table_new(g_int64_hash, g_int64_equal),
                .raw = g_array_new(FALSE, FALSE, sizeof(raw_row)),
                .prev_udid = g_string_new(NULL)};
    rc = read_all(tx,
                  "SELECT udid, team_id, os_version, profile_list_at, profile_list_asked_at "
                  "FROM mdm_enrollments WHERE enabled = 1",
                  host_row, &r);
    if (rc == 0)
        rc = read_all(tx,
                      "SELECT id, team_id, kind, identifier, name, payload_uuid, checksum, "
                      "applies_below FROM mdm_profiles",
                      profile_row, &r);
    /* The profiles array is complete: its elements no longer move. */
    for (guint i = 0; rc == 0 && i < out->profiles->len; i++) {
        orchard_hp_profile *p = &g_array_index(out->profiles, orchard_hp_profile, i);
        g_hash_table_insert(r.profile_of, &p->id, p);
    }
    if (rc == 0)
        rc = read_all(tx,
                      "SELECT h.udid, h.profile_id, "
                      "CASE WHEN h.identifier = m.identifier THEN NULL ELSE h.identifier END, "
                      "CASE WHEN h.checksum = m.checksum THEN NULL ELSE h.checksum END, "
                      "h.operation, h.status, h.updated_at FROM mdm_host_profiles h "
                      "LEFT JOIN mdm_profiles m ON m.id = h.profile_id",
                      hp_row, &r);
    if (rc)
        orchard_sstore_log_fail(tx, what, rc);
    orchard_sstore_host()->store_rollback(tx);
    if (rc == 0)
        group_rows(&r);
    g_hash_table_unref(r.host_of);
    g_hash_table_unref(r.profile_of);
    g_array_unref(r.raw);
    g_string_free(r.prev_udid, TRUE);
    if (rc)
        orchard_hp_snapshot_clear(out);
    return rc;
}
