/* The DEP enrollment URL's side of the store (store_dep.h, "The DEP
 * enrollment URL"): is a serial a device Apple assigned us, the URL served
 * it, did the enrollment that followed come through it, and the default
 * team such an enrollment joins. */
#include "server_plugin/store/store_dep.h"
#include "server_plugin/store/store_sql.h"

#include <orchard/plugin.h>

int orchard_store_dep_enroll_served(const char *serial, gint64 now)
{
    if (!serial || !*serial)
        return ORCHARD_ENOTFOUND;
    /* A deleted row is a device Apple took back: it gets nothing. */
    gint64 n = orchard_sstore_write(
        "recording a DEP enrollment profile served",
        "UPDATE dep_devices SET enroll_served_at = ?, updated_at = ? "
        "WHERE serial_number = ? AND deleted = 0",
        SQL_PARAMS(SQL_INT(now), SQL_INT(now), SQL_TEXT(serial)));
    return n < 0 ? (int)n : n == 0 ? ORCHARD_ENOTFOUND : 0;
}

static int count_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    *(gint64 *)out = h->stmt_column_int(st, 0);
    return 0;
}

/* 1 when the DEP URL served `serial` at or after `since`, inside tx. */
static int served_since(orchard_store_tx *tx, const char *serial, gint64 since, int *served)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    gint64 n = 0;
    *served = 0;
    if (!serial || !*serial)
        return 0;
    int rc = orchard_sstore_prepare(tx,
                                    "SELECT count(*) FROM dep_devices WHERE serial_number = ? "
                                    "AND enroll_served_at IS NOT NULL AND enroll_served_at >= ?",
                                    SQL_PARAMS(SQL_TEXT(serial), SQL_INT(since)), &st);
    if (rc == 0) {
        rc = h->stmt_step(st);
        rc = rc == 1 ? count_row(h, st, &n) : rc == 0 ? ORCHARD_EIO : rc;
    }
    h->stmt_finish(st);
    *served = n > 0;
    return rc;
}

int orchard_store_dep_mark_enrolled(const char *udid, const char *serial, int *is_dep)
{
    const char *what = "marking an enrollment DEP or not";
    orchard_store_tx *tx = NULL;
    int served = 0;
    if (is_dep)
        *is_dep = 0;
    if (!udid)
        return ORCHARD_EINVAL;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    gint64 since = g_get_real_time() / G_USEC_PER_SEC - ORCHARD_DEP_ENROLL_WINDOW_S;
    rc = served_since(tx, serial, since, &served);
    /* Written either way: a Mac enrolled by hand after an earlier DEP
     * enrollment is a manual enrollment now. */
    if (rc == 0) {
        gint64 n = orchard_sstore_exec(tx, "UPDATE mdm_enrollments SET dep_enrolled = ? "
                                           "WHERE udid = ?",
                                       SQL_PARAMS(SQL_INT(served), SQL_TEXT(udid)));
        rc = n < 0 ? (int)n : n == 0 ? ORCHARD_ENOTFOUND : 0;
    }
    rc = orchard_sstore_end(tx, rc, what, ORCHARD_ENOTFOUND);
    if (rc == 0 && is_dep)
        *is_dep = served;
    return rc;
}

int orchard_store_dep_default_team(const char *udid, gint64 team_id, int *moved)
{
    const char *what = "putting a DEP host in the default team";
    orchard_store_tx *tx = NULL;
    if (moved)
        *moved = 0;
    if (!udid || team_id <= 0)
        return ORCHARD_EINVAL;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    /* Only a host in no team; the team must still exist when we write
     * (it may have been deleted since its name was looked up). */
    gint64 n = orchard_sstore_exec(
        tx,
        "UPDATE mdm_enrollments SET team_id = ? WHERE udid = ? AND team_id = 0 "
        "AND EXISTS (SELECT 1 FROM teams WHERE id = ?)",
        SQL_PARAMS(SQL_INT(team_id), SQL_TEXT(udid), SQL_INT(team_id)));
    rc = n < 0 ? (int)n : 0;
    if (rc == 0 && n > 0)
        rc = orchard_sstore_desired_touch(tx);
    if (rc == 0 && n == 0) {
        /* Nothing moved: say ENOTFOUND only when the host itself is missing. */
        const orchard_host_api *h = orchard_sstore_host();
        orchard_stmt *st = NULL;
        gint64 hosts = 0;
        rc = orchard_sstore_prepare(tx, "SELECT count(*) FROM mdm_enrollments WHERE udid = ?",
                                    SQL_PARAMS(SQL_TEXT(udid)), &st);
        if (rc == 0) {
            rc = h->stmt_step(st);
            rc = rc == 1 ? count_row(h, st, &hosts) : rc == 0 ? ORCHARD_EIO : rc;
        }
        h->stmt_finish(st);
        if (rc == 0 && hosts == 0)
            rc = ORCHARD_ENOTFOUND;
    }
    rc = orchard_sstore_end(tx, rc, what, ORCHARD_ENOTFOUND);
    if (rc == 0 && moved)
        *moved = n > 0;
    return rc;
}
