/* The instances' tables (instances_store.h): schema per dialect and the
 * row statements the registry (instances.c), the comparison
 * (instance_settings.c) and the instances table read and write. Portable
 * statements only: `?` placeholders, no clock in SQL (the caller's). */
#include "host/instances/instances_store.h"

#include "host/config.h"
#include "host/instances/fingerprint.h"
#include "host/log.h"
#include "host/store/store.h"

#include <string.h>

#define COMPONENT "instances"
#define OWNER "orchard-instances"

/* Times are BIGINT milliseconds on both dialects; SQLite's INTEGER is
 * 64-bit already, so one text serves both. */
static const orchard_migration steps[] = {
    {ORCHARD_STRUCT_HEADER(orchard_migration),
     .sql = "CREATE TABLE orchard_instances ("
            " id TEXT NOT NULL PRIMARY KEY,"
            " address TEXT NOT NULL,"
            " version TEXT NOT NULL,"
            " started_at BIGINT NOT NULL,"
            " last_heartbeat BIGINT NOT NULL);"
            "CREATE TABLE orchard_leases ("
            " name TEXT NOT NULL PRIMARY KEY,"
            " holder TEXT NOT NULL,"
            " expires_at BIGINT NOT NULL);"
            "CREATE TABLE orchard_instance_settings ("
            " instance_id TEXT NOT NULL,"
            " gate TEXT NOT NULL,"
            " fingerprint TEXT NOT NULL,"
            " updated_at BIGINT NOT NULL,"
            " PRIMARY KEY (instance_id, gate))",
     .postgres = NULL},
};

static const char *config_value(const char *key)
{
    const char *v = orchard_config_get(orchard_config_global(), key);
    return v && *v ? v : NULL;
}

int orchard_instances_store_configured(void)
{
    return orchard_store_is_open() || config_value("store.sqlite") ||
           config_value("store.postgres");
}

int orchard_instances_migrate(void)
{
    if (!orchard_instances_store_configured())
        return ORCHARD_ENOTCONFIGURED;
    return orchard_store_migrate2(OWNER, steps, G_N_ELEMENTS(steps));
}

/* ------------------------------------------------------------------------ */
/* Writes */

typedef struct {
    int is_text;
    const char *text;
    int64_t num;
} arg;

#define T(s) ((arg){.is_text = 1, .text = (s)})
#define I(n) ((arg){.is_text = 0, .num = (n)})

/* One statement with its arguments; *changes (may be NULL) what it changed. */
static int exec_args(orchard_store_tx *tx, const char *sql, const arg *args, int n,
                     int64_t *changes)
{
    orchard_stmt *st = NULL;
    int rc = orchard_stmt_prepare(tx, sql, &st);

    for (int i = 0; rc == 0 && i < n; i++)
        rc = args[i].is_text ? orchard_stmt_bind_text(st, i + 1, args[i].text)
                             : orchard_stmt_bind_int(st, i + 1, args[i].num);
    if (rc == 0 && (rc = orchard_stmt_step(st)) >= 0) {
        rc = 0;
        if (changes)
            *changes = orchard_stmt_changes(st);
    }
    orchard_stmt_finish(st);
    return rc;
}

int orchard_instance_row_put(orchard_store_tx *tx, const char *id, const char *address,
                             const char *version, int64_t started_at, int64_t now_ms)
{
    const arg a[] = {T(id), T(address), T(version), I(started_at), I(now_ms)};
    return exec_args(tx,
                     "INSERT INTO orchard_instances (id, address, version, started_at,"
                     " last_heartbeat) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                     " address = excluded.address, version = excluded.version,"
                     " started_at = excluded.started_at, last_heartbeat = excluded.last_heartbeat",
                     a, 5, NULL);
}

int orchard_instance_row_beat(orchard_store_tx *tx, const char *id, int64_t now_ms)
{
    const arg a[] = {I(now_ms), T(id)};
    int64_t changed = 0;
    int rc = exec_args(tx, "UPDATE orchard_instances SET last_heartbeat = ? WHERE id = ?", a, 2,
                       &changed);
    return rc ? rc : changed > 0;
}

int orchard_instance_row_delete(orchard_store_tx *tx, const char *id)
{
    const arg a[] = {T(id)};
    int rc = exec_args(tx, "DELETE FROM orchard_instance_settings WHERE instance_id = ?", a, 1,
                       NULL);
    return rc ? rc : exec_args(tx, "DELETE FROM orchard_instances WHERE id = ?", a, 1, NULL);
}

/* Fingerprints go with their instance; those of rows already gone too. */
int orchard_instances_reap(orchard_store_tx *tx, int64_t before_ms)
{
    const arg a[] = {I(before_ms)};
    int rc = exec_args(tx, "DELETE FROM orchard_instances WHERE last_heartbeat < ?", a, 1, NULL);
    return rc ? rc
              : exec_args(tx,
                          "DELETE FROM orchard_instance_settings WHERE instance_id NOT IN"
                          " (SELECT id FROM orchard_instances)",
                          NULL, 0, NULL);
}

int orchard_instance_fingerprint_put(orchard_store_tx *tx, const char *id, const char *gate,
                                     const char *json, int64_t now_ms)
{
    const arg a[] = {T(id), T(gate), T(json), I(now_ms)};
    return exec_args(tx,
                     "INSERT INTO orchard_instance_settings (instance_id, gate, fingerprint,"
                     " updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (instance_id, gate) DO UPDATE"
                     " SET fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
                     a, 4, NULL);
}

/* ------------------------------------------------------------------------ */
/* Reads */

void orchard_instance_row_free(orchard_instance_row *row)
{
    if (!row)
        return;
    g_free(row->id);
    g_free(row->address);
    g_free(row->version);
    g_free(row);
}

static char *column_dup(orchard_stmt *st, int i)
{
    const char *s = orchard_stmt_column_text(st, i);
    return g_strdup(s ? s : "");
}

int orchard_instances_read_live(orchard_store_tx *tx, int64_t since_ms, GPtrArray **out)
{
    orchard_stmt *st = NULL;
    GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_instance_row_free);
    int rc = orchard_stmt_prepare(tx,
                                  "SELECT id, address, version, started_at, last_heartbeat"
                                  " FROM orchard_instances WHERE last_heartbeat >= ?"
                                  " ORDER BY started_at, id",
                                  &st);

    *out = NULL;
    if (rc == 0 && (rc = orchard_stmt_bind_int(st, 1, since_ms)) == 0)
        while ((rc = orchard_stmt_step(st)) == 1) {
            orchard_instance_row *r = g_new0(orchard_instance_row, 1);
            r->id = column_dup(st, 0);
            r->address = column_dup(st, 1);
            r->version = column_dup(st, 2);
            r->started_at = orchard_stmt_column_int(st, 3);
            r->last_heartbeat = orchard_stmt_column_int(st, 4);
            g_ptr_array_add(rows, r);
        }
    orchard_stmt_finish(st);
    if (rc < 0) {
        g_ptr_array_unref(rows);
        return rc;
    }
    *out = rows;
    return 0;
}

int orchard_instances_read_fingerprints(orchard_store_tx *tx, const char *gate, int64_t since_ms,
                                        GPtrArray **out)
{
    orchard_stmt *st = NULL;
    GPtrArray *list = g_ptr_array_new_with_free_func(orchard_fingerprint_entry_free);
    int rc = orchard_stmt_prepare(tx,
                                  "SELECT s.instance_id, s.fingerprint"
                                  " FROM orchard_instance_settings s"
                                  " JOIN orchard_instances i ON i.id = s.instance_id"
                                  " WHERE s.gate = ? AND i.last_heartbeat >= ?"
                                  " ORDER BY i.started_at, i.id",
                                  &st);

    *out = NULL;
    if (rc == 0 && (rc = orchard_stmt_bind_text(st, 1, gate)) == 0 &&
        (rc = orchard_stmt_bind_int(st, 2, since_ms)) == 0)
        while ((rc = orchard_stmt_step(st)) == 1) {
            const char *id = orchard_stmt_column_text(st, 0), *why = NULL;
            GHashTable *fp = NULL;
            if (orchard_fingerprint_parse(orchard_stmt_column_text(st, 1), &fp, NULL, &why)) {
                orchard_debug(COMPONENT, "instance %s's fingerprint for %s is unreadable (%s): "
                              "left out", id ? id : "?", gate, why);
                continue;
            }
            g_ptr_array_add(list, orchard_fingerprint_entry_new(id, fp));
        }
    orchard_stmt_finish(st);
    if (rc < 0) {
        g_ptr_array_unref(list);
        return rc;
    }
    *out = list;
    return 0;
}

int orchard_instances_read_gates(orchard_store_tx *tx, int64_t since_ms, GPtrArray **out)
{
    orchard_stmt *st = NULL;
    GPtrArray *list = g_ptr_array_new_with_free_func(g_free);
    int rc = orchard_stmt_prepare(tx,
                                  "SELECT DISTINCT s.gate FROM orchard_instance_settings s"
                                  " JOIN orchard_instances i ON i.id = s.instance_id"
                                  " WHERE i.last_heartbeat >= ? ORDER BY s.gate",
                                  &st);

    *out = NULL;
    if (rc == 0 && (rc = orchard_stmt_bind_int(st, 1, since_ms)) == 0)
        while ((rc = orchard_stmt_step(st)) == 1)
            g_ptr_array_add(list, column_dup(st, 0));
    orchard_stmt_finish(st);
    if (rc < 0) {
        g_ptr_array_unref(list);
        return rc;
    }
    *out = list;
    return 0;
}
