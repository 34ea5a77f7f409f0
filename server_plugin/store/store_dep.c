/* The DEP sync's writes (store_dep.h, "the sync's side"): its runs, its
 * state in server_state ("dep.*"), each page of devices stored with its
 * cursor in one transaction (so kill -9 between pages loses nothing and
 * repeats nothing), and the profile assignment's queue and results. */
#include "server_plugin/store/store_dep.h"

#include "server_plugin/store/store_sql.h"

#include <string.h>

/* Runs older than this are deleted when a run starts. */
#define RUNS_KEEP_MS ((gint64)30 * 24 * 3600 * 1000)
/* Serials per read of a page's rows and per assignment update: a whole
 * page or assign call in one statement (each statement is a round trip on
 * PostgreSQL), 1000 parameters, far below either dialect's limit. */
#define SERIALS_PER_STMT 1000

void orchard_dep_run_clear(orchard_dep_run *r)
{
    if (!r)
        return;
    g_free(r->kind);
    g_free(r->error_code);
    g_free(r->error);
    memset(r, 0, sizeof *r);
}

/* ---- runs -------------------------------------------------------------- */

int orchard_store_dep_runs_prune(gint64 before_ms)
{
    gint64 n = orchard_sstore_write("pruning DEP sync runs",
                                    "DELETE FROM dep_sync_runs WHERE started_at < ?",
                                    SQL_PARAMS(SQL_INT(before_ms)));
    return n < 0 ? (int)n : 0;
}

int orchard_store_dep_run_begin(const char *kind, gint64 started_ms, gint64 cursor_age,
                                gint64 *id)
{
    const char *what = "recording a DEP sync run";
    const orchard_host_api *h = orchard_sstore_host();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    *id = 0;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    /* A month of runs is what anyone reads; pruned here, in the same
     * transaction, so the table never grows with the schedule. */
    gint64 n = orchard_sstore_exec(tx, "DELETE FROM dep_sync_runs WHERE started_at < ?",
                                   SQL_PARAMS(SQL_INT(started_ms - RUNS_KEEP_MS)));
    if (n >= 0)
        n = orchard_sstore_exec(tx,
                                "INSERT INTO dep_sync_runs (kind, started_at, cursor_age) "
                                "VALUES (?, ?, ?)",
                                SQL_PARAMS(SQL_TEXT(kind), SQL_INT(started_ms),
                                           cursor_age < 0 ? SQL_TEXT(NULL) : SQL_INT(cursor_age)));
    rc = n < 0 ? (int)n : 0;
    /* No RETURNING (every backend runs the same text): the newest unfinished
     * run of this kind started at this millisecond is ours. */
    if (rc == 0)
        rc = orchard_sstore_prepare(tx,
                                    "SELECT id FROM dep_sync_runs WHERE kind = ? AND "
                                    "started_at = ? AND finished_at IS NULL ORDER BY id DESC",
                                    SQL_PARAMS(SQL_TEXT(kind), SQL_INT(started_ms)), &st);
    if (rc == 0) {
        rc = h->stmt_step(st);
        if (rc == 1)
            *id = h->stmt_column_int(st, 0);
        rc = rc == 1 ? 0 : rc == 0 ? ORCHARD_EIO : rc;
    }
    h->stmt_finish(st);
    return orchard_sstore_end(tx, rc, what, 0);
}

int orchard_store_dep_run_finish(gint64 id, const orchard_dep_run *r, gint64 finished_ms)
{
    gint64 n = orchard_sstore_write(
        "finishing a DEP sync run",
        "UPDATE dep_sync_runs SET kind = COALESCE(?, kind), finished_at = ?, pages = ?, "
        "fetched = ?, added = ?, modified = ?, deleted = ?, assigned = ?, error_code = ?, "
        "error = ? WHERE id = ?",
        SQL_PARAMS(SQL_TEXT(r->kind), SQL_INT(finished_ms), SQL_INT(r->pages),
                   SQL_INT(r->fetched), SQL_INT(r->added), SQL_INT(r->modified),
                   SQL_INT(r->deleted), SQL_INT(r->assigned), SQL_TEXT(r->error_code),
                   SQL_TEXT(r->error), SQL_INT(id)));
    if (n < 0)
        return (int)n;
    return n == 1 ? 0 : ORCHARD_ENOTFOUND;
}

/* ---- state ------------------------------------------------------------- */

static int text_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    const char *v = h->stmt_column_text(st, 0);
    *(char **)out = g_strdup(v ? v : "");
    return 0;
}

int orchard_store_dep_state_get(const char *key, char **value)
{
    *value = NULL;
    return orchard_sstore_read_one("reading the DEP sync state",
                                   "SELECT value FROM server_state WHERE key = ?",
                                   SQL_PARAMS(SQL_TEXT(key)), text_row, value);
}

static int state_set_tx(orchard_store_tx *tx, const char *key, const char *value)
{
    gint64 n = value ? orchard_sstore_exec(tx,
                                           "INSERT INTO server_state (key, value) VALUES (?, ?) "
                                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                           SQL_PARAMS(SQL_TEXT(key), SQL_TEXT(value)))
                     : orchard_sstore_exec(tx, "DELETE FROM server_state WHERE key = ?",
                                           SQL_PARAMS(SQL_TEXT(key)));
    return n < 0 ? (int)n : 0;
}

int orchard_store_dep_state_set(const char *key, const char *value)
{
    const char *what = "saving the DEP sync state";
    orchard_store_tx *tx = NULL;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    return orchard_sstore_end(tx, state_set_tx(tx, key, value), what, 0);
}

/* ---- one page ---------------------------------------------------------- */

/* What the store holds of a serial, as the page goes (row or pending). */
typedef struct dev_state {
    const char *op_type; /* borrowed from the page, or from `owned` */
    gint64 op_date_unix;
    int exists, deleted;
    char *owned;         /* the stored op_type */
} dev_state;

/* The row one serial ends the page with: later records' values win. */
typedef struct pending {
    const char *serial_number, *model, *description, *color, *os, *device_family;
    const char *profile_status, *profile_uuid, *device_assigned_date, *op_type, *op_date;
    gint64 op_date_unix;
    int deleted;
} pending;

static void dev_state_free(gpointer p)
{
    dev_state *d = p;
    g_free(d->owned);
    g_free(d);
}

/* Read the rows of the page's serials into `states`. */
static int read_existing(orchard_store_tx *tx, const orchard_dep_record *recs, size_t n,
                         GHashTable *states)
{
    const orchard_host_api *h = orchard_sstore_host();
    g_autoptr(GPtrArray) serials = g_ptr_array_new();
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t i = 0; i < n; i++)
        if (g_hash_table_add(seen, (gpointer)recs[i].serial_number))
            g_ptr_array_add(serials, (gpointer)recs[i].serial_number);
    g_autofree orchard_sql_param *params = g_new(orchard_sql_param, SERIALS_PER_STMT);
    int rc = 0;
    for (guint done = 0; rc == 0 && done < serials->len;) {
        guint k = MIN(serials->len - done, (guint)SERIALS_PER_STMT);
        g_autoptr(GString) sql = g_string_new("SELECT serial_number, op_type, op_date_unix, "
                                              "deleted FROM dep_devices WHERE serial_number IN (");
        for (guint i = 0; i < k; i++) {
            g_string_append(sql, i ? ", ?" : "?");
            params[i] = SQL_TEXT(serials->pdata[done + i]);
        }
        g_string_append_c(sql, ')');
        orchard_stmt *st = NULL;
        rc = orchard_sstore_prepare(tx, sql->str, params, k, &st);
        while (rc == 0 && (rc = h->stmt_step(st)) == 1) {
            rc = 0;
            dev_state *d = g_new0(dev_state, 1);
            const char *op = h->stmt_column_text(st, 1);
            d->owned = g_strdup(op ? op : "");
            d->op_type = d->owned;
            d->op_date_unix = h->stmt_column_int(st, 2);
            d->deleted = h->stmt_column_int(st, 3) != 0;
            d->exists = 1;
            g_hash_table_replace(states, g_strdup(h->stmt_column_text(st, 0)), d);
        }
        h->stmt_finish(st);
        done += k;
    }
    return rc;
}

/* Records in op_date order; Apple's order among equal dates. */
static int by_op_date(gconstpointer a, gconstpointer b)
{
    const orchard_dep_record *x = *(const orchard_dep_record *const *)a;
    const orchard_dep_record *y = *(const orchard_dep_record *const *)b;
    return x->op_date_unix < y->op_date_unix ? -1 : x->op_date_unix > y->op_date_unix;
}

static const char *op_of(const orchard_dep_record *r)
{
    return r->op_type && *r->op_type ? r->op_type : "added";
}

/* Fold record r into the serial's pending row; count what it did. */
static void apply_record(const orchard_dep_record *r, dev_state *d, pending *p,
                         orchard_dep_run *run)
{
    const char *op = op_of(r);
    int del = strcmp(op, "deleted") == 0;
    if (del)
        run->deleted++;
    else if (!d->exists || d->deleted)
        run->added++;
    else
        run->modified++;
    p->serial_number = r->serial_number;
    p->op_type = op;
    p->op_date = r->op_date;
    p->op_date_unix = r->op_date_unix;
    p->deleted = del;
    /* A deleted op may carry nothing but the serial: keep what is known. */
    if (r->model)
        p->model = r->model;
    if (r->description)
        p->description = r->description;
    if (r->color)
        p->color = r->color;
    if (r->os)
        p->os = r->os;
    if (r->device_family)
        p->device_family = r->device_family;
    if (r->device_assigned_date)
        p->device_assigned_date = r->device_assigned_date;
    /* profile_status says whether the record speaks of the profile at all;
     * when it does, a missing profile_uuid means none. */
    if (r->profile_status) {
        p->profile_status = r->profile_status;
        p->profile_uuid = r->profile_uuid;
    }
    d->op_type = op;
    d->op_date_unix = r->op_date_unix;
    d->exists = 1;
    d->deleted = del;
}

typedef struct upsert_ud {
    pending *const *rows;
    gint64 now;
} upsert_ud;

static void fill_upsert(const orchard_sql_batch *b, size_t i, orchard_sql_param *o)
{
    const upsert_ud *u = b->ud;
    const pending *p = u->rows[i];
    o[0] = SQL_TEXT(p->serial_number);
    o[1] = SQL_TEXT(p->model);
    o[2] = SQL_TEXT(p->description);
    o[3] = SQL_TEXT(p->color);
    o[4] = SQL_TEXT(p->os);
    o[5] = SQL_TEXT(p->device_family);
    o[6] = SQL_TEXT(p->profile_status);
    o[7] = SQL_TEXT(p->profile_uuid);
    o[8] = SQL_TEXT(p->device_assigned_date);
    o[9] = SQL_TEXT(p->op_type);
    o[10] = SQL_TEXT(p->op_date);
    o[11] = SQL_INT(p->op_date_unix);
    o[12] = SQL_INT(p->deleted);
    o[13] = SQL_INT(u->now);
    o[14] = SQL_INT(u->now);
}

static const orchard_sql_batch upsert_shape = {
    .head = "INSERT INTO dep_devices (serial_number, model, description, color, os, "
            "device_family, profile_status, profile_uuid, device_assigned_date, op_type, "
            "op_date, op_date_unix, deleted, created_at, updated_at) VALUES ",
    .row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    /* Descriptive fields are kept when a record leaves them out; the profile
     * fields follow Apple whenever the record carries profile_status. */
    .tail = " ON CONFLICT (serial_number) DO UPDATE SET "
            "model = COALESCE(excluded.model, dep_devices.model), "
            "description = COALESCE(excluded.description, dep_devices.description), "
            "color = COALESCE(excluded.color, dep_devices.color), "
            "os = COALESCE(excluded.os, dep_devices.os), "
            "device_family = COALESCE(excluded.device_family, dep_devices.device_family), "
            "profile_uuid = CASE WHEN excluded.profile_status IS NULL "
            "THEN dep_devices.profile_uuid ELSE excluded.profile_uuid END, "
            "profile_status = COALESCE(excluded.profile_status, dep_devices.profile_status), "
            "device_assigned_date = COALESCE(excluded.device_assigned_date, "
            "dep_devices.device_assigned_date), "
            "op_type = excluded.op_type, op_date = excluded.op_date, "
            "op_date_unix = excluded.op_date_unix, deleted = excluded.deleted, "
            "updated_at = excluded.updated_at",
    .per_row = 15,
    .fill = fill_upsert,
};

/* Decide every record of the page in memory: rows to write, counts. */
static int plan_page(orchard_store_tx *tx, const orchard_dep_page *p, orchard_dep_run *run,
                     GHashTable *pend, GPtrArray *order, GPtrArray *seen, gint64 *skipped)
{
    g_autoptr(GHashTable) states =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, dev_state_free);
    int rc = read_existing(tx, p->records, p->n, states);
    if (rc)
        return rc;
    g_autoptr(GPtrArray) recs = g_ptr_array_sized_new((guint)p->n);
    for (size_t i = 0; i < p->n; i++)
        g_ptr_array_add(recs, (gpointer)&p->records[i]);
    g_ptr_array_sort(recs, by_op_date); /* stable: a merge sort */
    for (guint i = 0; i < recs->len; i++) {
        const orchard_dep_record *r = recs->pdata[i];
        dev_state *d = g_hash_table_lookup(states, r->serial_number);
        if (!d) {
            d = g_new0(dev_state, 1);
            g_hash_table_insert(states, g_strdup(r->serial_number), d);
        }
        /* Applied already (Apple repeats ops; a resumed run repeats a page),
         * or older than what the row says. */
        if (d->exists && (r->op_date_unix < d->op_date_unix ||
                          (r->op_date_unix == d->op_date_unix &&
                           g_strcmp0(op_of(r), d->op_type) == 0))) {
            (*skipped)++;
            g_ptr_array_add(seen, (gpointer)r->serial_number);
            continue;
        }
        pending *pr = g_hash_table_lookup(pend, r->serial_number);
        if (!pr) {
            pr = g_new0(pending, 1);
            g_hash_table_insert(pend, (gpointer)r->serial_number, pr);
            g_ptr_array_add(order, pr);
        }
        apply_record(r, d, pr, run);
    }
    return 0;
}

/* A full fetch: rows it listed but did not change are marked seen; its
 * last page marks deleted what it did not list (Apple no longer assigns
 * those devices to this server, and no deleted op may ever say so when the
 * cursor was lost). The run counts them as deleted. */
static int fetch_marks(orchard_store_tx *tx, const orchard_dep_page *p, GPtrArray *seen,
                       orchard_dep_run *counts)
{
    g_autofree orchard_sql_param *params = g_new(orchard_sql_param, 1 + SERIALS_PER_STMT);
    params[0] = SQL_INT(p->now);
    for (guint done = 0; p->fetch && done < seen->len;) {
        guint k = MIN(seen->len - done, (guint)SERIALS_PER_STMT);
        g_autoptr(GString) sql =
            g_string_new("UPDATE dep_devices SET updated_at = ? WHERE serial_number IN (");
        for (guint i = 0; i < k; i++) {
            g_string_append(sql, i ? ", ?" : "?");
            params[1 + i] = SQL_TEXT(seen->pdata[done + i]);
        }
        g_string_append_c(sql, ')');
        gint64 w = orchard_sstore_exec(tx, sql->str, params, 1 + k);
        if (w < 0)
            return (int)w;
        done += k;
    }
    if (p->sweep_before > 0) {
        gint64 w = orchard_sstore_exec(tx,
                                       "UPDATE dep_devices SET deleted = 1, op_type = 'deleted', "
                                       "updated_at = ? WHERE deleted = 0 AND updated_at < ?",
                                       SQL_PARAMS(SQL_INT(p->now), SQL_INT(p->sweep_before)));
        if (w < 0)
            return (int)w;
        counts->deleted += w;
    }
    if (p->fetch_first) {
        g_autofree char *at = g_strdup_printf("%" G_GINT64_FORMAT, p->now);
        return state_set_tx(tx, ORCHARD_DEP_KEY_FETCH_AT, at);
    }
    return 0;
}

int orchard_store_dep_page_apply(const orchard_dep_page *p, gint64 run_id, orchard_dep_run *run,
                                 gint64 *skipped)
{
    const char *what = "storing a page of DEP devices";
    orchard_store_tx *tx = NULL;
    gint64 skip = 0;
    if (!p->cursor || !p->phase)
        return ORCHARD_EINVAL;
    for (size_t i = 0; i < p->n; i++)
        if (!p->records[i].serial_number || !*p->records[i].serial_number)
            return ORCHARD_EINVAL;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    /* The counts go to a copy: a page that fails adds nothing. */
    orchard_dep_run counts = *run;
    counts.pages++;
    counts.fetched += (gint64)p->n;
    g_autoptr(GHashTable) pend = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    g_autoptr(GPtrArray) order = g_ptr_array_new();
    g_autoptr(GPtrArray) seen = g_ptr_array_new();
    rc = plan_page(tx, p, &counts, pend, order, seen, &skip);
    if (rc == 0 && order->len) {
        upsert_ud ud = {.rows = (pending *const *)order->pdata, .now = p->now};
        orchard_sql_batch b = upsert_shape;
        b.ud = &ud;
        rc = orchard_sstore_exec_batch(tx, &b, order->len);
    }
    if (rc == 0)
        rc = fetch_marks(tx, p, seen, &counts);
    g_autofree char *at = g_strdup_printf("%" G_GINT64_FORMAT, p->cursor_at);
    if (rc == 0) {
        gint64 n = orchard_sstore_exec(
            tx,
            "INSERT INTO server_state (key, value) VALUES (?, ?), (?, ?), (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            SQL_PARAMS(SQL_TEXT(ORCHARD_DEP_KEY_CURSOR), SQL_TEXT(p->cursor),
                       SQL_TEXT(ORCHARD_DEP_KEY_PHASE), SQL_TEXT(p->phase),
                       SQL_TEXT(ORCHARD_DEP_KEY_CURSOR_AT), SQL_TEXT(at)));
        rc = n < 0 ? (int)n : 0;
    }
    /* The run's row moves with its pages, so a killed run shows how far it got. */
    if (rc == 0 && run_id) {
        gint64 n = orchard_sstore_exec(
            tx,
            "UPDATE dep_sync_runs SET pages = ?, fetched = ?, added = ?, modified = ?, "
            "deleted = ? WHERE id = ?",
            SQL_PARAMS(SQL_INT(counts.pages), SQL_INT(counts.fetched), SQL_INT(counts.added),
                       SQL_INT(counts.modified), SQL_INT(counts.deleted), SQL_INT(run_id)));
        rc = n < 0 ? (int)n : 0;
    }
    rc = orchard_sstore_end(tx, rc, what, 0);
    if (rc == 0) {
        run->pages = counts.pages;
        run->fetched = counts.fetched;
        run->added = counts.added;
        run->modified = counts.modified;
        run->deleted = counts.deleted;
        if (skipped)
            *skipped = skip;
    }
    return rc;
}

/* ---- assignment -------------------------------------------------------- */

static void *serial_row(const orchard_host_api *h, orchard_stmt *st)
{
    return g_strdup(h->stmt_column_text(st, 0));
}

int orchard_store_dep_assign_due(const char *profile_uuid, const char *after, gint64 limit,
                                 char ***out, gint64 *n)
{
    g_autoptr(GPtrArray) list = NULL;
    *out = NULL;
    *n = 0;
    int rc = orchard_sstore_read_list(
        "reading the devices to assign the DEP profile to",
        /* The primary key walks serials in order from `after` and stops at
         * `limit`. "deleted <> 1" (deleted is 0 or 1) keeps SQLite off the
         * (deleted, assign_status) index, which would scan and sort every
         * live row for each batch, and, unlike "+deleted = 0", lets
         * PostgreSQL estimate it from its statistics, so it does not pick a
         * full scan and sort either. */
        "SELECT serial_number FROM dep_devices WHERE serial_number > ? AND deleted <> 1 AND "
        "(profile_uuid IS NULL OR profile_uuid <> ?) ORDER BY serial_number LIMIT ?",
        SQL_PARAMS(SQL_TEXT(after ? after : ""), SQL_TEXT(profile_uuid), SQL_INT(limit)),
        serial_row, g_free, &list);
    if (rc)
        return rc;
    *n = list->len;
    g_ptr_array_add(list, NULL);
    g_ptr_array_set_free_func(list, NULL);
    *out = (char **)g_ptr_array_free(g_steal_pointer(&list), FALSE);
    return 0;
}

/* One (status, error) group's rows: `lead` then the serials res[idx[i]]. */
static int update_group(orchard_store_tx *tx, const orchard_sql_param *lead, size_t n_lead,
                        const orchard_dep_assign_result *res, const guint *idx, guint n)
{
    g_autofree orchard_sql_param *params = g_new(orchard_sql_param, n_lead + SERIALS_PER_STMT);
    memcpy(params, lead, n_lead * sizeof *params);
    for (guint done = 0; done < n;) {
        guint k = MIN(n - done, (guint)SERIALS_PER_STMT);
        g_autoptr(GString) sql = g_string_new(
            "UPDATE dep_devices SET assign_status = ?, assign_error = ?, "
            "assign_attempts = assign_attempts + 1, profile_uuid = COALESCE(?, profile_uuid), "
            "profile_assigned_at = COALESCE(?, profile_assigned_at), updated_at = ? "
            "WHERE serial_number IN (");
        for (guint i = 0; i < k; i++) {
            g_string_append(sql, i ? ", ?" : "?");
            params[n_lead + i] = SQL_TEXT(res[idx[done + i]].serial_number);
        }
        g_string_append_c(sql, ')');
        gint64 w = orchard_sstore_exec(tx, sql->str, params, n_lead + k);
        if (w < 0)
            return (int)w;
        done += k;
    }
    return 0;
}

int orchard_store_dep_assign_record(const char *profile_uuid,
                                    const orchard_dep_assign_result *res, size_t n, gint64 now)
{
    const char *what = "recording DEP profile assignments";
    orchard_store_tx *tx = NULL;
    if (n == 0)
        return 0;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    /* One statement per (status, error) and 128 serials: a call's results
     * are a few such groups, whatever their number. */
    g_autoptr(GHashTable) groups =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_array_unref);
    g_autoptr(GPtrArray) keys = g_ptr_array_new();
    for (size_t i = 0; i < n; i++) {
        char *key = g_strdup_printf("%s%c%s", res[i].status, 1, res[i].error ? res[i].error : "");
        GArray *g = g_hash_table_lookup(groups, key);
        if (!g) {
            g = g_array_new(FALSE, FALSE, sizeof(guint));
            g_hash_table_insert(groups, key, g);
            g_ptr_array_add(keys, key);
        } else {
            g_free(key);
        }
        guint ix = (guint)i;
        g_array_append_val(g, ix);
    }
    for (guint k = 0; rc == 0 && k < keys->len; k++) {
        GArray *g = g_hash_table_lookup(groups, keys->pdata[k]);
        const orchard_dep_assign_result *first = &res[g_array_index(g, guint, 0)];
        int ok = strcmp(first->status, "SUCCESS") == 0;
        orchard_sql_param lead[] = {SQL_TEXT(first->status), SQL_TEXT(ok ? NULL : first->error),
                                    SQL_TEXT(ok ? profile_uuid : NULL),
                                    ok ? SQL_INT(now) : SQL_TEXT(NULL), SQL_INT(now)};
        rc = update_group(tx, lead, G_N_ELEMENTS(lead), res, (const guint *)g->data, g->len);
    }
    return orchard_sstore_end(tx, rc, what, 0);
}
