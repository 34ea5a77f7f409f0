/* Enrollments on the store (store_devices.h): what the check-in flow writes
 * (Authenticate, TokenUpdate, CheckOut, last seen, the sealed bootstrap
 * token) and what the admin API, the pusher and the tables read back. */
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_sql.h"

#include <string.h>

void orchard_device_free(orchard_device *d)
{
    if (!d)
        return;
    g_free(d->udid);
    g_free(d->serial_number);
    g_free(d->model);
    g_free(d->product_name);
    g_free(d->os_version);
    g_free(d->build_version);
    g_free(d->device_name);
    g_free(d->topic);
    g_free(d->cert_sha256);
    g_free(d->push_invalid_reason);
    g_free(d->push_token_hex);
    g_free(d->push_magic);
    g_free(d);
}

static int udid_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    *(char **)out = g_strdup(h->stmt_column_text(st, 0));
    return 0;
}

/* The UDID bound to cert_sha256 inside tx: 0 and *udid, or ENOTFOUND. */
static int bound_udid(orchard_store_tx *tx, const char *cert_sha256, char **udid)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    int rc = orchard_sstore_prepare(tx, "SELECT udid FROM mdm_enrollments WHERE cert_sha256 = ?",
                                    SQL_PARAMS(SQL_TEXT(cert_sha256)), &st);
    if (rc == 0) {
        rc = h->stmt_step(st);
        rc = rc == 1 ? udid_row(h, st, udid) : rc == 0 ? ORCHARD_ENOTFOUND : rc;
    }
    h->stmt_finish(st);
    return rc;
}

/* Authenticate starts the enrollment over: everything the previous one
 * learnt (push token, unlock and bootstrap tokens, tally) goes with it. */
static gint64 replace_enrollment(orchard_store_tx *tx, const orchard_device_auth *a, gint64 now)
{
    gint64 n = orchard_sstore_exec(
        tx,
        "UPDATE mdm_enrollments SET serial_number = ?, model = ?, product_name = ?, "
        "os_version = ?, build_version = ?, device_name = ?, topic = ?, cert_sha256 = ?, "
        "enabled = 0, push_token = NULL, push_magic = NULL, unlock_token = NULL, "
        "push_token_valid = 0, push_invalid_reason = NULL, awaiting_configuration = 0, "
        "token_update_tally = 0, bootstrap_token = NULL, session_started_at = 0, "
        "last_seen_at = ?, updated_at = ? WHERE udid = ?",
        SQL_PARAMS(SQL_TEXT(a->serial_number), SQL_TEXT(a->model), SQL_TEXT(a->product_name),
                   SQL_TEXT(a->os_version), SQL_TEXT(a->build_version),
                   SQL_TEXT(a->device_name), SQL_TEXT(a->topic), SQL_TEXT(a->cert_sha256),
                   SQL_INT(now), SQL_INT(now), SQL_TEXT(a->udid)));
    if (n != 0)
        return n;
    return orchard_sstore_exec(
        tx,
        "INSERT INTO mdm_enrollments (udid, serial_number, model, product_name, os_version, "
        "build_version, device_name, topic, cert_sha256, enabled, last_seen_at, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
        SQL_PARAMS(SQL_TEXT(a->udid), SQL_TEXT(a->serial_number), SQL_TEXT(a->model),
                   SQL_TEXT(a->product_name), SQL_TEXT(a->os_version),
                   SQL_TEXT(a->build_version), SQL_TEXT(a->device_name), SQL_TEXT(a->topic),
                   SQL_TEXT(a->cert_sha256), SQL_INT(now), SQL_INT(now), SQL_INT(now)));
}

int orchard_store_device_authenticate(const orchard_device_auth *a, gint64 now, char **other_udid)
{
    const char *what = "recording an Authenticate";
    orchard_store_tx *tx = NULL;
    g_autofree char *bound = NULL;
    gint64 n;

    if (other_udid)
        *other_udid = NULL;
    if (!a || !a->udid || !a->cert_sha256)
        return ORCHARD_EINVAL;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    rc = bound_udid(tx, a->cert_sha256, &bound);
    if (rc == 0 && strcmp(bound, a->udid) != 0) {
        if (other_udid)
            *other_udid = g_steal_pointer(&bound);
        return orchard_sstore_end(tx, ORCHARD_EEXIST, what, ORCHARD_EEXIST);
    }
    if (rc != 0 && rc != ORCHARD_ENOTFOUND)
        return orchard_sstore_end(tx, rc, what, 0);
    n = orchard_sstore_exec(tx, "DELETE FROM mdm_command_queue WHERE udid = ?",
                            SQL_PARAMS(SQL_TEXT(a->udid)));
    /* The Mac's profiles went with its old enrollment: the reconciler
     * installs its team's profiles again once it enrolls (reconcile.c). */
    if (n >= 0)
        n = orchard_sstore_exec(tx, "DELETE FROM mdm_host_profiles WHERE udid = ?",
                                SQL_PARAMS(SQL_TEXT(a->udid)));
    if (n >= 0)
        n = orchard_sstore_exec(tx, "UPDATE mdm_enrollments SET profile_list_at = NULL, "
                                "profile_list_asked_at = NULL WHERE udid = ?",
                                SQL_PARAMS(SQL_TEXT(a->udid)));
    if (n >= 0)
        n = replace_enrollment(tx, a, now);
    return orchard_sstore_end(tx, n < 0 ? (int)n : 0, what, 0);
}

int orchard_store_device_by_cert(const char *cert_sha256, char **udid)
{
    *udid = NULL;
    return orchard_sstore_read_one("finding a certificate's enrollment",
                                   "SELECT udid FROM mdm_enrollments WHERE cert_sha256 = ?",
                                   SQL_PARAMS(SQL_TEXT(cert_sha256)), udid_row, udid);
}

/* One UPDATE of one enrollment in its own transaction: 0, or ENOTFOUND
 * when no enrollment has that UDID. */
static int update_one(const char *what, const char *sql, const orchard_sql_param *params,
                      size_t n)
{
    gint64 changed = orchard_sstore_write(what, sql, params, n);
    return changed < 0 ? (int)changed : changed == 0 ? ORCHARD_ENOTFOUND : 0;
}

int orchard_store_device_token_update(const char *udid, const unsigned char *token,
                                      size_t token_len, const char *push_magic,
                                      const unsigned char *unlock, size_t unlock_len,
                                      int awaiting_configuration, gint64 now)
{
    /* An UnlockToken comes only in some TokenUpdates: keep the last one.
     * The TokenUpdate that turns an enrollment on (the first, or the first
     * after enrolling again, when macOS may have been reinstalled) forgets
     * when DeviceInformation was last asked, so the Mac is asked at once. In
     * this one write, not in the mdm.enrolled handler: events arrive later on
     * another thread and could undo an ask queued in between. (SET reads the
     * row as it was, so `enabled` there is the old value.) */
    orchard_sql_param unlock_param = unlock && unlock_len ? SQL_BLOB(unlock, unlock_len)
                                                          : SQL_TEXT(NULL);
    return update_one(
        "recording a TokenUpdate",
        "UPDATE mdm_enrollments SET push_token = ?, push_magic = ?, "
        "unlock_token = COALESCE(?, unlock_token), awaiting_configuration = ?, "
        "device_info_asked_at = CASE WHEN enabled = 1 THEN device_info_asked_at END, enabled = 1, "
        "push_token_valid = 1, push_invalid_reason = NULL, "
        "token_update_tally = token_update_tally + 1, last_seen_at = ?, updated_at = ? "
        "WHERE udid = ?",
        SQL_PARAMS(SQL_BLOB(token, token_len), SQL_TEXT(push_magic), unlock_param,
                   SQL_INT(awaiting_configuration ? 1 : 0), SQL_INT(now), SQL_INT(now),
                   SQL_TEXT(udid)));
}

int orchard_store_device_checkout(const char *udid, gint64 now)
{
    return update_one("recording a CheckOut",
                      "UPDATE mdm_enrollments SET enabled = 0, last_seen_at = ?, updated_at = ? "
                      "WHERE udid = ?",
                      SQL_PARAMS(SQL_INT(now), SQL_INT(now), SQL_TEXT(udid)));
}

int orchard_store_device_seen(const char *udid, gint64 now, int idle, gint64 now_us)
{
    if (idle)
        return update_one("recording a poll",
                          "UPDATE mdm_enrollments SET last_seen_at = ?, session_started_at = ? "
                          "WHERE udid = ?",
                          SQL_PARAMS(SQL_INT(now), SQL_INT(now_us), SQL_TEXT(udid)));
    return update_one("recording a device's visit",
                      "UPDATE mdm_enrollments SET last_seen_at = ? WHERE udid = ?",
                      SQL_PARAMS(SQL_INT(now), SQL_TEXT(udid)));
}

int orchard_store_device_bootstrap_set(const char *udid, const void *sealed, size_t len)
{
    /* Nothing to keep (the device removed its token): the column goes NULL. */
    orchard_sql_param p = sealed && len ? SQL_BLOB(sealed, len) : SQL_TEXT(NULL);
    return update_one("storing a bootstrap token",
                      "UPDATE mdm_enrollments SET bootstrap_token = ? WHERE udid = ?",
                      SQL_PARAMS(p, SQL_TEXT(udid)));
}

static int bootstrap_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    size_t len = 0;
    const void *b = h->stmt_column_blob(st, 0, &len);
    if (h->stmt_column_is_null(st, 0) || len == 0)
        return ORCHARD_ENOTFOUND;
    *(GBytes **)out = g_bytes_new(b, len);
    return 0;
}

int orchard_store_device_bootstrap_get(const char *udid, GBytes **sealed)
{
    *sealed = NULL;
    return orchard_sstore_read_one("reading a bootstrap token",
                                   "SELECT bootstrap_token FROM mdm_enrollments WHERE udid = ?",
                                   SQL_PARAMS(SQL_TEXT(udid)), bootstrap_row, sealed);
}

#define DEVICE_COLUMNS                                                                        \
    "udid, serial_number, model, product_name, os_version, build_version, device_name, "     \
    "topic, cert_sha256, enabled, push_token_valid, push_invalid_reason, push_token, "       \
    "push_magic, awaiting_configuration, token_update_tally, last_seen_at, created_at, "     \
    "updated_at, dep_enrolled"

static char *hex_of(const unsigned char *b, size_t len)
{
    char *hex = g_malloc(2 * len + 1);
    for (size_t i = 0; i < len; i++)
        g_snprintf(hex + 2 * i, 3, "%02x", b[i]);
    hex[2 * len] = '\0';
    return hex;
}

static orchard_device *device_of_row(const orchard_host_api *h, orchard_stmt *st)
{
    orchard_device *d = g_new0(orchard_device, 1);
    size_t tok_len = 0;
    const unsigned char *tok = h->stmt_column_blob(st, 12, &tok_len);

    d->udid = g_strdup(h->stmt_column_text(st, 0));
    d->serial_number = g_strdup(h->stmt_column_text(st, 1));
    d->model = g_strdup(h->stmt_column_text(st, 2));
    d->product_name = g_strdup(h->stmt_column_text(st, 3));
    d->os_version = g_strdup(h->stmt_column_text(st, 4));
    d->build_version = g_strdup(h->stmt_column_text(st, 5));
    d->device_name = g_strdup(h->stmt_column_text(st, 6));
    d->topic = g_strdup(h->stmt_column_text(st, 7));
    d->cert_sha256 = g_strdup(h->stmt_column_text(st, 8));
    d->enabled = (int)h->stmt_column_int(st, 9);
    d->push_token_valid = (int)h->stmt_column_int(st, 10);
    d->push_invalid_reason = g_strdup(h->stmt_column_text(st, 11));
    d->push_token_hex = tok && tok_len ? hex_of(tok, tok_len) : NULL;
    d->push_magic = g_strdup(h->stmt_column_text(st, 13));
    d->awaiting_configuration = (int)h->stmt_column_int(st, 14);
    d->token_update_tally = h->stmt_column_int(st, 15);
    d->last_seen_at = h->stmt_column_is_null(st, 16) ? 0 : h->stmt_column_int(st, 16);
    d->created_at = h->stmt_column_int(st, 17);
    d->updated_at = h->stmt_column_int(st, 18);
    d->dep_enrolled = (int)h->stmt_column_int(st, 19);
    return d;
}

static int device_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    *(orchard_device **)out = device_of_row(h, st);
    return 0;
}

int orchard_store_device_get(const char *udid, orchard_device **out)
{
    *out = NULL;
    return orchard_sstore_read_one("reading an enrollment",
                                   "SELECT " DEVICE_COLUMNS " FROM mdm_enrollments WHERE udid = ?",
                                   SQL_PARAMS(SQL_TEXT(udid)), device_row, out);
}

static void *device_list_row(const orchard_host_api *h, orchard_stmt *st)
{
    return device_of_row(h, st);
}

int orchard_store_device_list(gint64 page, gint64 per_page, GPtrArray **out)
{
    gint64 limit, offset;
    *out = NULL;
    if (orchard_sstore_page(page, per_page, &limit, &offset))
        return ORCHARD_EINVAL;
    return orchard_sstore_read_list(
        "listing enrollments",
        "SELECT " DEVICE_COLUMNS " FROM mdm_enrollments ORDER BY udid LIMIT ? OFFSET ?",
        SQL_PARAMS(SQL_INT(limit), SQL_INT(offset)), device_list_row,
        (GDestroyNotify)orchard_device_free, out);
}

int orchard_store_device_push_invalid(const char *udid, const char *reason, gint64 now)
{
    return update_one("marking a push token invalid",
                      "UPDATE mdm_enrollments SET push_token_valid = 0, push_invalid_reason = ?, "
                      "updated_at = ? WHERE udid = ?",
                      SQL_PARAMS(SQL_TEXT(reason), SQL_INT(now), SQL_TEXT(udid)));
}

/* Added for the hosts page (web/hosts_page.c): its count and its paging. */
static int count_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    *(gint64 *)out = h->stmt_column_int(st, 0);
    return 0;
}

int orchard_store_device_count(gint64 *count)
{
    *count = 0;
    return orchard_sstore_read_one("counting enrollments", "SELECT count(*) FROM mdm_enrollments",
                                   NULL, 0, count_row, count);
}
