/* Job run records in the host's store (job_record.h): table orchard_jobs,
 * one row per job name, written by the process that runs jobs (`orchard
 * serve`, `orchard job run`) and read by any other (`orchard query`).
 * Writing is best effort: the scheduler goes on without a store. The
 * record type's constructor and destructor live here too. */
#include "host/jobs/job_record.h"

#include "host/config.h"
#include "host/log.h"
#include "host/store/store.h"

#include <glib.h>

#define COMPONENT "jobs"
/* The host's own schema owner for this table; versions are this file's. */
#define OWNER "orchard-jobs"

/* Times are Unix seconds. Statements are portable SQL (store.h); the table
 * is spelt per dialect: PostgreSQL's INTEGER is 32 bits. */
static const orchard_migration migrations[] = {
    {ORCHARD_STRUCT_HEADER(orchard_migration),
     .sql = "CREATE TABLE orchard_jobs ("
            " name TEXT NOT NULL PRIMARY KEY,"
            " plugin TEXT NOT NULL,"
            " interval_seconds INTEGER NOT NULL,"
            " last_start INTEGER,"
            " last_duration_ms INTEGER,"
            " last_outcome TEXT,"
            " runs INTEGER NOT NULL DEFAULT 0,"
            " next_run INTEGER)",
     .postgres = "CREATE TABLE orchard_jobs ("
                 " name TEXT NOT NULL PRIMARY KEY,"
                 " plugin TEXT NOT NULL,"
                 " interval_seconds BIGINT NOT NULL,"
                 " last_start BIGINT,"
                 " last_duration_ms BIGINT,"
                 " last_outcome TEXT,"
                 " runs BIGINT NOT NULL DEFAULT 0,"
                 " next_run BIGINT)"},
};

static const char update_run_sql[] =
    "UPDATE orchard_jobs SET plugin = ?, interval_seconds = ?, next_run = ?, last_start = ?,"
    " last_duration_ms = ?, last_outcome = ?, runs = runs + 1 WHERE name = ?";
static const char insert_run_sql[] =
    "INSERT INTO orchard_jobs (plugin, interval_seconds, next_run, last_start,"
    " last_duration_ms, last_outcome, name, runs) VALUES (?, ?, ?, ?, ?, ?, ?, 1)";
static const char update_schedule_sql[] =
    "UPDATE orchard_jobs SET plugin = ?, interval_seconds = ?, next_run = ? WHERE name = ?";
static const char insert_schedule_sql[] =
    "INSERT INTO orchard_jobs (plugin, interval_seconds, next_run, name, runs)"
    " VALUES (?, ?, ?, ?, 0)";
static const char select_sql[] =
    "SELECT name, plugin, interval_seconds, last_start, last_duration_ms, last_outcome, runs,"
    " next_run FROM orchard_jobs ORDER BY name";

/* A write failure was logged and no write has succeeded since. */
static gint failing;

orchard_job_record *orchard_job_record_new(const char *name, const char *plugin)
{
    orchard_job_record *rec = g_new0(orchard_job_record, 1);
    rec->name = g_strdup(name);
    rec->plugin = g_strdup(plugin);
    rec->interval_seconds = rec->last_start = rec->last_duration_ms = rec->next_run = -1;
    return rec;
}

void orchard_job_record_free(orchard_job_record *rec)
{
    if (!rec)
        return;
    g_free(rec->name);
    g_free(rec->plugin);
    g_free(rec->last_outcome);
    g_free(rec);
}

static const char *config_value(const char *key)
{
    const char *v = orchard_config_get(orchard_config_global(), key);
    return v && *v ? v : NULL;
}

/* Is there a store to write to? The store opens itself from config on the
 * first call, so a configured one counts. */
static int store_configured(void)
{
    return orchard_store_is_open() || config_value("store.sqlite") || config_value("store.postgres");
}

static int bind_opt_int(orchard_stmt *st, int i, int64_t v)
{
    return v < 0 ? orchard_stmt_bind_text(st, i, NULL) : orchard_stmt_bind_int(st, i, v);
}

/* Bind rec's fields to the statement's parameters in the order of the
 * *_sql statements above: plugin, interval, next_run, [last_* x3,] name. */
static int bind_record(orchard_stmt *st, const orchard_job_record *rec, int ran)
{
    int i = 1, rc = orchard_stmt_bind_text(st, i++, rec->plugin);
    if (rc == 0)
        rc = orchard_stmt_bind_int(st, i++, MAX(rec->interval_seconds, 0));
    if (rc == 0)
        rc = bind_opt_int(st, i++, rec->next_run);
    if (rc == 0 && ran) {
        if ((rc = bind_opt_int(st, i++, rec->last_start)) == 0 &&
            (rc = bind_opt_int(st, i++, rec->last_duration_ms)) == 0)
            rc = orchard_stmt_bind_text(st, i++, rec->last_outcome);
    }
    if (rc == 0)
        rc = orchard_stmt_bind_text(st, i, rec->name);
    return rc;
}

/* Run one write statement with rec bound; *changes: rows it changed. */
static int exec_record(orchard_store_tx *tx, const char *sql, const orchard_job_record *rec,
                       int ran, int64_t *changes)
{
    orchard_stmt *st = NULL;
    int rc = orchard_stmt_prepare(tx, sql, &st);

    if (rc == 0)
        rc = bind_record(st, rec, ran);
    if (rc == 0 && (rc = orchard_stmt_step(st)) >= 0) {
        rc = 0;
        if (changes)
            *changes = orchard_stmt_changes(st);
    }
    orchard_stmt_finish(st);
    return rc;
}

/* Update the row, or insert it when there is none; one write transaction
 * holds the writer path, so no other process slips a row in between. */
static int write_record(const orchard_job_record *rec, int ran, char **why)
{
    orchard_store_tx *tx = NULL;
    int64_t changed = 0;
    int rc = orchard_store_begin(&tx, 1);

    if (rc != 0)
        return rc;
    rc = exec_record(tx, ran ? update_run_sql : update_schedule_sql, rec, ran, &changed);
    if (rc == 0 && changed == 0)
        rc = exec_record(tx, ran ? insert_run_sql : insert_schedule_sql, rec, ran, NULL);
    if (rc != 0) {
        *why = g_strdup(orchard_store_errmsg(tx));
        orchard_store_rollback(tx);
        return rc;
    }
    return orchard_store_commit(tx);
}

int orchard_job_store_save(const orchard_job_record *rec, int ran)
{
    g_autofree char *why = NULL;
    int rc;

    if (!store_configured())
        return ORCHARD_ENOTCONFIGURED;
    rc = orchard_store_migrate2(OWNER, migrations, G_N_ELEMENTS(migrations));
    if (rc == 0)
        rc = write_record(rec, ran, &why);
    if (rc == 0) {
        if (g_atomic_int_compare_and_exchange(&failing, 1, 0))
            orchard_info(COMPONENT, "job runs are recorded in the store again");
        return 0;
    }
    /* Jobs matter more than their records: say it once, go on without. */
    orchard_log(g_atomic_int_compare_and_exchange(&failing, 0, 1) ? ORCHARD_LOG_WARNING
                                                                 : ORCHARD_LOG_DEBUG,
                COMPONENT, "cannot record job %s in the store (%s%s%s); job runs are kept in "
                "memory only until the store works again", rec->name, orchard_strerror(rc),
                why && *why ? ": " : "", why ? why : "");
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Reading */

static int64_t column_opt_int(orchard_stmt *st, int i)
{
    return orchard_stmt_column_is_null(st, i) ? -1 : orchard_stmt_column_int(st, i);
}

static orchard_job_record *record_of_row(orchard_stmt *st)
{
    orchard_job_record *rec = orchard_job_record_new(orchard_stmt_column_text(st, 0),
                                                     orchard_stmt_column_text(st, 1));
    rec->interval_seconds = column_opt_int(st, 2);
    rec->last_start = column_opt_int(st, 3);
    rec->last_duration_ms = column_opt_int(st, 4);
    rec->last_outcome = g_strdup(orchard_stmt_column_text(st, 5));
    rec->runs = column_opt_int(st, 6);
    rec->next_run = column_opt_int(st, 7);
    return rec;
}

int orchard_job_store_read(GPtrArray **out)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int rc;

    *out = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_job_record_free);
    if (!orchard_store_readable())
        return ORCHARD_ENOTCONFIGURED;
    if ((rc = orchard_store_begin(&tx, 0)) != 0)
        return rc;
    /* No table yet is the common failure here (nothing ran on this store):
     * not worth a log line above debug. */
    if ((rc = orchard_stmt_prepare(tx, select_sql, &st)) == 0)
        while ((rc = orchard_stmt_step(st)) == 1)
            g_ptr_array_add(*out, record_of_row(st));
    if (rc < 0) {
        orchard_debug(COMPONENT, "no job records from the store: %s", orchard_store_errmsg(tx));
        g_ptr_array_set_size(*out, 0);
    }
    orchard_store_rollback(tx);
    return rc < 0 ? rc : 0;
}
