/* What admins see of automatic enrollment (store_dep.h, "the views"): the
 * overview behind `get mdm-apple-bm` and GET /mdm/apple_bm, and the rows of
 * the dep_devices and dep_sync_runs tables. Read-only: the sync
 * (store_dep.c) and the DEP enrollment URL (store_dep_enroll.c) write. */
#include "server_plugin/store/store_dep.h"

#include "server_plugin/store/store_sql.h"

#include <string.h>

/* Apple's /account answer is a few hundred bytes; a stored value far past
 * that is not one (and is not parsed). */
#define ACCOUNT_MAX_BYTES (64 * 1024)

void orchard_dep_overview_clear(orchard_dep_overview *s)
{
    if (!s)
        return;
    json_decref(s->account);
    orchard_dep_run_clear(&s->last);
    memset(s, 0, sizeof *s);
}

/* ---- the overview -------------------------------------------------------- */

/* The first row's first column of `sql` in tx: as text (g_free) in *text,
 * NULL without a row, or as an integer in *num, 0 without a row or for
 * NULL. Pass the one wanted. */
static int one_value(orchard_store_tx *tx, const char *sql, const orchard_sql_param *p, size_t n,
                     char **text, gint64 *num)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    if (text)
        *text = NULL;
    if (num)
        *num = 0;
    int rc = orchard_sstore_prepare(tx, sql, p, n, &st);
    if (rc)
        return rc;
    rc = h->stmt_step(st);
    if (rc == 1) {
        if (text)
            *text = g_strdup(h->stmt_column_text(st, 0));
        if (num)
            *num = h->stmt_column_is_null(st, 0) ? 0 : h->stmt_column_int(st, 0);
        rc = 0;
    }
    h->stmt_finish(st);
    return rc;
}

static int one_text(orchard_store_tx *tx, const char *sql, const orchard_sql_param *p, size_t n,
                    char **out)
{
    return one_value(tx, sql, p, n, out, NULL);
}

static int one_int(orchard_store_tx *tx, const char *sql, const orchard_sql_param *p, size_t n,
                   gint64 *out)
{
    return one_value(tx, sql, p, n, NULL, out);
}

/* The latest time a state value may hold (9999-12-31, unix s): a larger
 * one is damage, and would overflow when made milliseconds. */
#define STATE_TIME_MAX G_GINT64_CONSTANT(253402300799)

/* A server_state time (unix s); 0 when absent, not a number, or out of range. */
static int state_int(orchard_store_tx *tx, const char *key, gint64 *out)
{
    g_autofree char *v = NULL;
    int rc = one_text(tx, "SELECT value FROM server_state WHERE key = ?",
                      SQL_PARAMS(SQL_TEXT(key)), &v);
    char *end = NULL;
    *out = 0;
    if (rc == 0 && v && *v) {
        gint64 n = g_ascii_strtoll(v, &end, 10);
        *out = end && *end == '\0' && n > 0 && n <= STATE_TIME_MAX ? n : 0;
    }
    return rc;
}

/* Apple's account as stored: an object, or nothing. Anything else (a
 * damaged or foreign value) reads as "not fetched yet" rather than failing
 * every view. */
static json_t *account_of(const char *text)
{
    if (!text || !*text || strlen(text) > ACCOUNT_MAX_BYTES)
        return NULL;
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

#define RUN_COLUMNS                                                                    \
    "id, kind, started_at, finished_at, pages, fetched, added, modified, deleted, "   \
    "assigned, cursor_age, error_code, error "

static void run_of_row(const orchard_host_api *h, orchard_stmt *st, orchard_dep_run *r)
{
    r->id = h->stmt_column_int(st, 0);
    r->kind = g_strdup(h->stmt_column_text(st, 1));
    r->started_at = h->stmt_column_int(st, 2);
    r->finished_at = h->stmt_column_is_null(st, 3) ? 0 : h->stmt_column_int(st, 3);
    r->pages = h->stmt_column_int(st, 4);
    r->fetched = h->stmt_column_int(st, 5);
    r->added = h->stmt_column_int(st, 6);
    r->modified = h->stmt_column_int(st, 7);
    r->deleted = h->stmt_column_int(st, 8);
    r->assigned = h->stmt_column_int(st, 9);
    r->cursor_age = h->stmt_column_is_null(st, 10) ? -1 : h->stmt_column_int(st, 10);
    /* '' and NULL both mean "no error": the writer may store either. */
    const char *code = h->stmt_column_text(st, 11), *err = h->stmt_column_text(st, 12);
    r->error_code = code && *code ? g_strdup(code) : NULL;
    r->error = err && *err ? g_strdup(err) : NULL;
}

static int last_run(orchard_store_tx *tx, orchard_dep_run *r)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    int rc = orchard_sstore_prepare(tx,
                                    "SELECT " RUN_COLUMNS "FROM dep_sync_runs WHERE finished_at "
                                    "IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT 1",
                                    NULL, 0, &st);
    if (rc)
        return rc;
    rc = h->stmt_step(st);
    if (rc == 1) {
        run_of_row(h, st, r);
        rc = 0;
    }
    h->stmt_finish(st);
    return rc;
}

int orchard_store_dep_overview(orchard_dep_overview *s)
{
    const char *what = "reading the DEP overview";
    orchard_store_tx *tx = NULL;
    g_autofree char *account = NULL, *profile = NULL;
    memset(s, 0, sizeof *s);
    int rc = orchard_sstore_begin(0, what, &tx);
    if (rc)
        return rc;
    /* One read transaction: the counts and the last run agree. */
    rc = one_text(tx, "SELECT value FROM server_state WHERE key = ?",
                  SQL_PARAMS(SQL_TEXT(ORCHARD_DEP_KEY_ACCOUNT)), &account);
    if (rc == 0)
        rc = state_int(tx, ORCHARD_DEP_KEY_ACCOUNT_AT, &s->account_at);
    if (rc == 0)
        rc = one_text(tx, "SELECT value FROM server_state WHERE key = ?",
                      SQL_PARAMS(SQL_TEXT(ORCHARD_DEP_KEY_PROFILE_UUID)), &profile);
    if (rc == 0)
        rc = last_run(tx, &s->last);
    if (rc == 0)
        rc = one_int(tx, "SELECT max(finished_at) FROM dep_sync_runs WHERE finished_at IS NOT "
                         "NULL AND (error_code IS NULL OR error_code = '')",
                     NULL, 0, &s->last_success_at);
    if (rc == 0)
        rc = one_int(tx, "SELECT count(*) FROM dep_devices WHERE deleted = 0", NULL, 0,
                     &s->devices);
    /* "Assigned" is orchard's current profile: a device still holding an
     * older one is due again and does not count. */
    if (rc == 0 && profile && *profile)
        rc = one_int(tx, "SELECT count(*) FROM dep_devices WHERE deleted = 0 AND "
                         "profile_uuid = ?",
                     SQL_PARAMS(SQL_TEXT(profile)), &s->assigned);
    if (rc == 0)
        rc = one_int(tx, "SELECT count(*) FROM mdm_enrollments WHERE dep_enrolled = 1", NULL, 0,
                     &s->enrolled);
    rc = orchard_sstore_end(tx, rc, what, 0);
    if (rc) {
        orchard_dep_overview_clear(s);
        return rc;
    }
    s->account = account_of(account);
    return 0;
}

/* ---- the tables ---------------------------------------------------------- */

static void device_free(gpointer p)
{
    orchard_dep_device *d = p;
    g_free(d->serial_number);
    g_free(d->model);
    g_free(d->description);
    g_free(d->color);
    g_free(d->os);
    g_free(d->device_family);
    g_free(d->profile_status);
    g_free(d->profile_uuid);
    g_free(d->op_type);
    g_free(d->op_date);
    g_free(d->assign_status);
    g_free(d->assign_error);
    g_free(d);
}

static void *device_of_row(const orchard_host_api *h, orchard_stmt *st)
{
    orchard_dep_device *d = g_new0(orchard_dep_device, 1);
    char **text[] = {&d->serial_number, &d->model,        &d->description, &d->color,
                     &d->os,            &d->device_family, &d->profile_status,
                     &d->profile_uuid,  &d->op_type,       &d->op_date,     &d->assign_status,
                     &d->assign_error};
    for (size_t i = 0; i < G_N_ELEMENTS(text); i++)
        *text[i] = g_strdup(h->stmt_column_text(st, (int)i));
    d->profile_assigned_at = h->stmt_column_is_null(st, 12) ? 0 : h->stmt_column_int(st, 12);
    d->deleted = h->stmt_column_int(st, 13) != 0;
    d->enrolled = !h->stmt_column_is_null(st, 14);
    return d;
}

/* Enrolled: a host with the serial came in through the DEP enrollment URL.
 * Joined on a distinct list so a serial enrolled twice is still one row. */
#define DEVICE_SELECT                                                                     \
    "SELECT d.serial_number, d.model, d.description, d.color, d.os, d.device_family, "   \
    "d.profile_status, d.profile_uuid, d.op_type, d.op_date, d.assign_status, "          \
    "d.assign_error, d.profile_assigned_at, d.deleted, e.serial_number "                 \
    "FROM dep_devices d LEFT JOIN (SELECT DISTINCT serial_number FROM mdm_enrollments "  \
    "WHERE dep_enrolled = 1) e ON e.serial_number = d.serial_number "

int orchard_store_dep_device_list(const char *serial, GPtrArray **out)
{
    if (serial)
        return orchard_sstore_read_list("reading a DEP device",
                                        DEVICE_SELECT "WHERE d.serial_number = ?",
                                        SQL_PARAMS(SQL_TEXT(serial)), device_of_row,
                                        device_free, out);
    return orchard_sstore_read_list("listing DEP devices", DEVICE_SELECT
                                    "ORDER BY d.serial_number",
                                    NULL, 0, device_of_row, device_free, out);
}

static void run_free(gpointer p)
{
    orchard_dep_run_clear(p);
    g_free(p);
}

static void *run_row(const orchard_host_api *h, orchard_stmt *st)
{
    orchard_dep_run *r = g_new0(orchard_dep_run, 1);
    run_of_row(h, st, r);
    return r;
}

int orchard_store_dep_run_list(gint64 limit, GPtrArray **out)
{
    gint64 lim = 0, offset = 0;
    /* limit <= 0: every run (orchard_sstore_page spells "no limit" the same
     * way on both dialects). */
    int rc = orchard_sstore_page(0, limit > 0 ? limit : 0, &lim, &offset);
    if (rc)
        return rc;
    return orchard_sstore_read_list("listing DEP sync runs",
                                    "SELECT " RUN_COLUMNS "FROM dep_sync_runs "
                                    "ORDER BY id DESC LIMIT ?",
                                    SQL_PARAMS(SQL_INT(lim)), run_row, run_free, out);
}
