/* macOS updates on the store (store_updates.h): a scope's setting and its
 * Nudge profile written together with the desired-state marker, the
 * DeviceInformation bookkeeping on mdm_enrollments, and the reads behind
 * the macos_updates table, GET /os_versions and the Nudge package queue. */
#include "server_plugin/store/store_updates.h"

#include "server_plugin/store/store_sql.h"
#include "server_plugin/updates/updates.h"

static int pair_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    char **v = out;
    v[0] = g_strdup(h->stmt_column_text(st, 0));
    v[1] = g_strdup(h->stmt_column_text(st, 1));
    return 0;
}

int orchard_store_macos_updates_get(gint64 team_id, char **minimum_version, char **deadline)
{
    char *v[2] = {NULL, NULL};
    *minimum_version = *deadline = NULL;
    int rc = orchard_sstore_read_one("reading a macOS update setting",
                                     "SELECT minimum_version, deadline FROM "
                                     "macos_update_settings WHERE team_id = ?",
                                     SQL_PARAMS(SQL_INT(team_id)), pair_row, v);
    if (rc == ORCHARD_ENOTFOUND)
        return 0;
    *minimum_version = v[0];
    *deadline = v[1];
    return rc;
}

/* 1 when `sql` (one ? bound to `a`, one to `b`) has a row in tx, 0 when not, or a code. */
static int has_row(orchard_store_tx *tx, const char *sql, const orchard_sql_param *params,
                   size_t n)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    int rc = orchard_sstore_prepare(tx, sql, params, n, &st);
    if (rc)
        return rc;
    rc = h->stmt_step(st);
    h->stmt_finish(st);
    return rc;
}

static int write_setting(orchard_store_tx *tx, gint64 team_id, const char *min,
                         const char *deadline, gint64 now)
{
    gint64 n;
    if (!min)
        n = orchard_sstore_exec(tx, "DELETE FROM macos_update_settings WHERE team_id = ?",
                                SQL_PARAMS(SQL_INT(team_id)));
    else
        n = orchard_sstore_exec(tx,
                                "INSERT INTO macos_update_settings (team_id, minimum_version, "
                                "deadline, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (team_id) "
                                "DO UPDATE SET minimum_version = excluded.minimum_version, "
                                "deadline = excluded.deadline, updated_at = excluded.updated_at",
                                SQL_PARAMS(SQL_INT(team_id), SQL_TEXT(min), SQL_TEXT(deadline),
                                           SQL_INT(now)));
    return n < 0 ? (int)n : 0;
}

static int write_profile(orchard_store_tx *tx, gint64 team_id, const char *min,
                         const orchard_nudge_row *p, gint64 now, const char *identifier)
{
    gint64 n;
    if (!p) {
        n = orchard_sstore_exec(tx, "DELETE FROM mdm_profiles WHERE team_id = ? AND kind = "
                                    "'nudge'",
                                SQL_PARAMS(SQL_INT(team_id)));
        return n < 0 ? (int)n : 0;
    }
    /* An admin's upload under orchard's identifier is refused by the
     * profile checks; should one be there anyway, it is not overwritten. */
    int rc = has_row(tx, "SELECT 1 FROM mdm_profiles WHERE team_id = ? AND identifier = ? AND "
                         "kind <> 'nudge'",
                     SQL_PARAMS(SQL_INT(team_id), SQL_TEXT(identifier)));
    if (rc)
        return rc == 1 ? ORCHARD_EEXIST : rc;
    n = orchard_sstore_exec(
        tx,
        "INSERT INTO mdm_profiles (team_id, kind, identifier, name, payload_uuid, content, "
        "checksum, applies_below, created_at, updated_at) VALUES (?, 'nudge', ?, ?, ?, ?, ?, ?, "
        "?, ?) ON CONFLICT (team_id, identifier) DO UPDATE SET name = excluded.name, "
        "payload_uuid = excluded.payload_uuid, content = excluded.content, "
        "checksum = excluded.checksum, applies_below = excluded.applies_below, "
        "updated_at = excluded.updated_at",
        SQL_PARAMS(SQL_INT(team_id), SQL_TEXT(p->identifier), SQL_TEXT(p->name),
                   SQL_TEXT(p->payload_uuid), SQL_BLOB(p->content, p->len),
                   SQL_TEXT(p->checksum), SQL_TEXT(min), SQL_INT(now), SQL_INT(now)));
    return n < 0 ? (int)n : 0;
}

int orchard_store_macos_updates_set(gint64 team_id, const char *minimum_version,
                                    const char *deadline, const orchard_nudge_row *nudge,
                                    gint64 now)
{
    const char *what = "setting macOS updates";
    orchard_store_tx *tx = NULL;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    if (team_id != 0) {
        rc = has_row(tx, "SELECT 1 FROM teams WHERE id = ?", SQL_PARAMS(SQL_INT(team_id)));
        rc = rc == 1 ? 0 : rc == 0 ? ORCHARD_ENOTFOUND : rc;
    }
    if (rc == 0)
        rc = write_setting(tx, team_id, minimum_version, deadline, now);
    if (rc == 0)
        rc = write_profile(tx, team_id, minimum_version, nudge, now,
                           nudge ? nudge->identifier : NULL);
    if (rc == 0)
        rc = orchard_sstore_desired_touch(tx);
    return orchard_sstore_end(tx, rc, what, rc == ORCHARD_EEXIST ? rc : ORCHARD_ENOTFOUND);
}

static int text_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    *(char **)out = g_strdup(h->stmt_column_text(st, 0));
    return 0;
}

int orchard_store_team_name(gint64 team_id, char **name)
{
    *name = NULL;
    if (team_id == 0) {
        *name = g_strdup("");
        return 0;
    }
    return orchard_sstore_read_one("reading a team's name", "SELECT name FROM teams WHERE id = ?",
                                   SQL_PARAMS(SQL_INT(team_id)), text_row, name);
}

static void *udid_of_row(const orchard_host_api *h, orchard_stmt *st)
{
    return g_strdup(h->stmt_column_text(st, 0));
}

int orchard_store_device_info_due(gint64 now, gint64 interval, gint64 limit, GPtrArray **out)
{
    return orchard_sstore_read_list(
        "finding hosts due for DeviceInformation",
        "SELECT udid FROM mdm_enrollments WHERE enabled = 1 AND "
        "(device_info_asked_at IS NULL OR device_info_asked_at <= ?) ORDER BY udid LIMIT ?",
        SQL_PARAMS(SQL_INT(now - interval), SQL_INT(limit)), udid_of_row, g_free, out);
}

/* Run `sql` (params: the value, then the UDID) for each host in one write transaction. */
static int each_host(const char *what, const char *sql, const char *const *udids, size_t n,
                     orchard_sql_param value)
{
    orchard_store_tx *tx = NULL;
    int rc = orchard_sstore_begin(1, what, &tx);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        gint64 c = orchard_sstore_exec(tx, sql, SQL_PARAMS(value, SQL_TEXT(udids[i])));
        rc = c < 0 ? (int)c : 0;
    }
    return tx ? orchard_sstore_end(tx, rc, what, 0) : rc;
}

int orchard_store_device_info_asked(const char *const *udids, size_t n, gint64 now)
{
    return each_host("recording DeviceInformation queued",
                     "UPDATE mdm_enrollments SET device_info_asked_at = ? WHERE udid = ?", udids,
                     n, SQL_INT(now));
}

int orchard_store_nudge_pkg_queued(const char *const *udids, size_t n, const char *sha256)
{
    return each_host("recording the Nudge package queued",
                     "UPDATE mdm_enrollments SET nudge_pkg_sha256 = ? WHERE udid = ?", udids, n,
                     SQL_TEXT(sha256));
}

int orchard_store_device_info_save(const char *udid, const orchard_device_facts *f, gint64 now,
                                   int *os_changed)
{
    const char *what = "storing DeviceInformation";
    const orchard_host_api *h = orchard_sstore_host();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    g_autofree char *before = NULL;
    *os_changed = 0;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    rc = orchard_sstore_prepare(tx, "SELECT os_version FROM mdm_enrollments WHERE udid = ?",
                                SQL_PARAMS(SQL_TEXT(udid)), &st);
    if (rc == 0) {
        rc = h->stmt_step(st);
        before = rc == 1 ? g_strdup(h->stmt_column_text(st, 0)) : NULL;
        rc = rc == 1 ? 0 : rc == 0 ? ORCHARD_ENOTFOUND : rc;
        h->stmt_finish(st);
    }
    if (rc == 0) {
        gint64 n = orchard_sstore_exec(
            tx,
            "UPDATE mdm_enrollments SET os_version = COALESCE(?, os_version), "
            "build_version = COALESCE(?, build_version), product_name = COALESCE(?, "
            "product_name), serial_number = COALESCE(?, serial_number), device_name = "
            "COALESCE(?, device_name), model = COALESCE(?, model), device_info_at = ?, "
            "updated_at = ? WHERE udid = ?",
            SQL_PARAMS(SQL_TEXT(f->os_version), SQL_TEXT(f->build_version),
                       SQL_TEXT(f->product_name), SQL_TEXT(f->serial_number),
                       SQL_TEXT(f->device_name), SQL_TEXT(f->model), SQL_INT(now), SQL_INT(now),
                       SQL_TEXT(udid)));
        rc = n < 0 ? (int)n : 0;
    }
    if (rc == 0 && f->os_version && g_strcmp0(before, f->os_version) != 0) {
        *os_changed = 1;
        rc = orchard_sstore_desired_touch(tx);
    }
    return orchard_sstore_end(tx, rc, what, ORCHARD_ENOTFOUND);
}

void orchard_update_host_free(orchard_update_host *x)
{
    if (!x)
        return;
    g_free(x->udid);
    g_free(x->serial_number);
    g_free(x->team_name);
    g_free(x->os_version);
    g_free(x->minimum_version);
    g_free(x->deadline);
    g_free(x->nudge_status);
    g_free(x->nudge_pkg_sha256);
    g_free(x);
}

static void *update_host_of_row(const orchard_host_api *h, orchard_stmt *st)
{
    orchard_update_host *x = g_new0(orchard_update_host, 1);
    x->udid = g_strdup(h->stmt_column_text(st, 0));
    x->serial_number = g_strdup(h->stmt_column_text(st, 1));
    x->team_id = h->stmt_column_int(st, 2);
    x->team_name = g_strdup(h->stmt_column_text(st, 3));
    x->os_version = g_strdup(h->stmt_column_text(st, 4));
    x->minimum_version = g_strdup(h->stmt_column_text(st, 5));
    x->deadline = g_strdup(h->stmt_column_text(st, 6));
    x->nudge_status = g_strdup(h->stmt_column_text(st, 7));
    x->nudge_pkg_sha256 = g_strdup(h->stmt_column_text(st, 8));
    if (!x->team_name)
        x->team_name = g_strdup("");
    return x;
}

int orchard_store_update_hosts(GPtrArray **out)
{
    return orchard_sstore_read_list(
        "reading hosts' macOS update state",
        "SELECT e.udid, e.serial_number, e.team_id, t.name, e.os_version, s.minimum_version, "
        "s.deadline, p.status, e.nudge_pkg_sha256 FROM mdm_enrollments e "
        "LEFT JOIN teams t ON t.id = e.team_id "
        "LEFT JOIN macos_update_settings s ON s.team_id = e.team_id "
        "LEFT JOIN mdm_host_profiles p ON p.udid = e.udid AND p.identifier = ? "
        "AND p.operation = 'install' "
        "WHERE e.enabled = 1 ORDER BY e.udid",
        SQL_PARAMS(SQL_TEXT(ORCHARD_NUDGE_PROFILE_IDENTIFIER)), update_host_of_row,
        (GDestroyNotify)orchard_update_host_free, out);
}

void orchard_os_count_free(orchard_os_count *c)
{
    if (!c)
        return;
    g_free(c->os_version);
    g_free(c);
}

static void *os_count_of_row(const orchard_host_api *h, orchard_stmt *st)
{
    orchard_os_count *c = g_new0(orchard_os_count, 1);
    c->os_version = g_strdup(h->stmt_column_text(st, 0));
    c->hosts = h->stmt_column_int(st, 1);
    return c;
}

int orchard_store_os_versions(gint64 team_id, GPtrArray **out)
{
    return orchard_sstore_read_list(
        "counting hosts per macOS version",
        "SELECT os_version, count(*) FROM mdm_enrollments WHERE enabled = 1 AND os_version IS "
        "NOT NULL AND (? < 0 OR team_id = ?) GROUP BY os_version ORDER BY os_version",
        SQL_PARAMS(SQL_INT(team_id), SQL_INT(team_id)), os_count_of_row,
        (GDestroyNotify)orchard_os_count_free, out);
}

int orchard_store_team_os_counts(gint64 team_id, GPtrArray **out)
{
    return orchard_sstore_read_list(
        "counting a team's hosts per macOS version",
        "SELECT os_version, count(*) FROM mdm_enrollments WHERE team_id = ? AND enabled = 1 "
        "GROUP BY os_version",
        SQL_PARAMS(SQL_INT(team_id)), os_count_of_row, (GDestroyNotify)orchard_os_count_free,
        out);
}
