/* The instance registry (instances.h): this process's id and row in the
 * store, the heartbeat thread that keeps the row and its leases fresh and
 * drops dead instances, and the jobs' lease hook. The heartbeat is a thread
 * of its own, not a job, so a slow job can never starve it. */
#include "host/instances/instances.h"

#include "host/config.h"
#include "host/instances/instances_store.h"
#include "host/instances/leases.h"
#include "host/jobs/jobs.h"
#include "host/log.h"
#include "host/settings_parse.h"
#include "host/store/store.h"

#include <glib.h>
#include <string.h>
#include <unistd.h>

#define COMPONENT "instances"
#define LEASE_KEY "server.lease_duration"

const orchard_setting orchard_setting_server_lease_duration = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = LEASE_KEY,
    .type = ORCHARD_SETTING_DURATION,
    .default_value = "15s",
    .description = "How long a job lease lasts without renewal: another instance on the same "
                   "store takes over a dead one's jobs within it (3s..10m)",
    .flags = ORCHARD_SETTING_RESTART,
};

static struct {
    GMutex lock;
    GCond wake;
    char id[64];
    char *address;
    int64_t started_at; /* Unix ms */
    int64_t lease_ms;
    int registered;     /* between start and stop */
    int stopping;
    int in_store;       /* our row is written (else the next heartbeat writes it) */
    int failing;        /* a store failure was logged; say when it works again */
    GThread *thread;
    GHashTable *held;   /* job names whose lease we last took (hook thread only, under lock) */
} R;

int64_t orchard_instances_now_ms(void) { return g_get_real_time() / 1000; }

/* ------------------------------------------------------------------------ */
/* Id and settings */

/* Host names may hold anything a resolver allows; keep an id that reads
 * well in logs and fits the view's 64 bytes: "<host>-<pid>-<4 hex>". */
static void make_id(char *out, size_t size)
{
    char host[41] = "";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        g_strlcpy(host, "orchard", sizeof host);
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.')
            *p = '-';
    g_snprintf(out, size, "%s-%ld-%04x", host, (long)getpid(),
               (unsigned)g_random_int_range(0, 0x10000));
}

const char *orchard_instances_id(void)
{
    g_mutex_lock(&R.lock);
    if (!R.id[0])
        make_id(R.id, sizeof R.id);
    g_mutex_unlock(&R.lock);
    return R.id;
}

int orchard_instances_registered(void)
{
    g_mutex_lock(&R.lock);
    int r = R.registered;
    g_mutex_unlock(&R.lock);
    return r;
}

int64_t orchard_instances_lease_ms(void)
{
    const char *text = orchard_config_get(orchard_config_global(), LEASE_KEY);
    int64_t ms = ORCHARD_LEASE_DEFAULT_MS;

    if (!text || !*text)
        return ms;
    if (orchard_parse_duration_ms(text, &ms) != 0 || ms < ORCHARD_LEASE_MIN_MS ||
        ms > ORCHARD_LEASE_MAX_MS) {
        /* Read on every heartbeat and query: say it once. */
        static gint warned;
        if (g_atomic_int_compare_and_exchange(&warned, 0, 1))
            orchard_warn(COMPONENT, "%s is %s: not a duration from 3s to 10m; using 15s",
                         LEASE_KEY, text);
        return ORCHARD_LEASE_DEFAULT_MS;
    }
    return ms;
}

/* ------------------------------------------------------------------------ */
/* The lease hook */

/* Note when this instance takes or loses a job's lease: an operator reading
 * the logs of several instances sees where each job went. */
static void note_lease(const char *job, int held, const char *lost_why)
{
    g_mutex_lock(&R.lock);
    if (!R.held)
        R.held = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int had = g_hash_table_contains(R.held, job);
    if (held && !had)
        g_hash_table_add(R.held, g_strdup(job));
    else if (!held && had)
        g_hash_table_remove(R.held, job);
    g_mutex_unlock(&R.lock);
    if (held != had)
        orchard_info(COMPONENT, "job %s: %s", job,
                     held ? "this instance holds its lease now" : lost_why);
}

/* The run's deadline (deadline_s) does not size the lease: the lease is
 * sticky, renewed on every heartbeat while this instance lives, so the
 * lease time alone bounds how long a dead holder keeps a job. A store that
 * fails says no: running a job twice is worse than running it late. An
 * instance whose settings differ (a gate held) says no too. */
static int lease_hook(const char *job, unsigned deadline_s, void *ud)
{
    (void)deadline_s;
    (void)ud;
    if (orchard_instance_settings_held()) {
        note_lease(job, 0, "this instance's settings differ from the reference's: it leaves "
                           "the job to the others");
        return 0;
    }
    g_mutex_lock(&R.lock);
    int64_t lease = R.lease_ms;
    g_mutex_unlock(&R.lock);
    int rc = orchard_lease_acquire(job, orchard_instances_id(), orchard_instances_now_ms(), lease);
    if (rc < 0) {
        orchard_warn(COMPONENT, "job %s: cannot take its lease (%s): not run this time", job,
                     orchard_strerror(rc));
        return 0;
    }
    note_lease(job, rc == 1, "its lease is held by another instance now");
    return rc == 1;
}

/* ------------------------------------------------------------------------ */
/* Heartbeats */

static void store_failed(const char *what, int rc, orchard_store_tx *tx)
{
    g_autofree char *why = g_strdup(tx ? orchard_store_errmsg(tx) : NULL);
    g_mutex_lock(&R.lock);
    int first = !R.failing;
    R.failing = 1;
    g_mutex_unlock(&R.lock);
    orchard_log(first ? ORCHARD_LOG_WARNING : ORCHARD_LOG_DEBUG, COMPONENT,
                "%s failed (%s%s%s); trying again on the next heartbeat", what,
                orchard_strerror(rc), why && *why ? ": " : "", why ? why : "");
}

static void store_worked(void)
{
    g_mutex_lock(&R.lock);
    int was = R.failing;
    R.failing = 0;
    g_mutex_unlock(&R.lock);
    if (was)
        orchard_info(COMPONENT, "the heartbeat reaches the store again");
}

/* One write transaction: our row (made again when another instance dropped
 * it after a long silence), our leases, and the dead instances' rows. */
static int beat_tx(const char *id, int64_t now, int64_t lease, int *remade)
{
    orchard_store_tx *tx = NULL;
    int rc = orchard_instances_migrate();

    *remade = 0;
    if (rc == 0)
        rc = orchard_store_begin(&tx, 1);
    if (rc != 0) {
        store_failed("the heartbeat", rc, NULL);
        return rc;
    }
    rc = orchard_instance_row_beat(tx, id, now);
    if (rc == 0) {
        g_mutex_lock(&R.lock);
        g_autofree char *address = g_strdup(R.address);
        int64_t started = R.started_at;
        *remade = R.in_store;
        g_mutex_unlock(&R.lock);
        rc = orchard_instance_row_put(tx, id, address, ORCHARD_VERSION, started, now);
        if (rc == 0)
            rc = orchard_instance_settings_store(tx, id, now);
    }
    /* Held (settings differ): let the leases run out for the others. */
    if (rc >= 0 && !orchard_instance_settings_held())
        rc = orchard_lease_renew_all(tx, id, now, lease);
    if (rc >= 0)
        rc = orchard_instances_reap(tx, now - 2 * lease);
    if (rc < 0) {
        store_failed("the heartbeat", rc, tx);
        orchard_store_rollback(tx);
        return rc;
    }
    if ((rc = orchard_store_commit(tx)) != 0) {
        store_failed("the heartbeat", rc, NULL);
        return rc;
    }
    store_worked();
    return 0;
}

void orchard_instances_heartbeat(void)
{
    int remade = 0;

    g_mutex_lock(&R.lock);
    int registered = R.registered;
    int64_t lease = R.lease_ms;
    g_mutex_unlock(&R.lock);
    if (!registered)
        return;
    if (beat_tx(orchard_instances_id(), orchard_instances_now_ms(), lease, &remade) == 0) {
        g_mutex_lock(&R.lock);
        R.in_store = 1;
        g_mutex_unlock(&R.lock);
        if (remade)
            orchard_warn(COMPONENT, "this instance's row was gone from the store (another "
                         "instance dropped it after %lld ms without a heartbeat: a stalled "
                         "process or clocks out of step?): registered again",
                         (long long)(2 * lease));
    }
    orchard_instance_settings_refresh();
}

static gpointer beat_main(gpointer unused)
{
    (void)unused;
    g_mutex_lock(&R.lock);
    while (!R.stopping) {
        gint64 until = g_get_monotonic_time() + R.lease_ms / 3 * 1000;
        while (!R.stopping && g_cond_wait_until(&R.wake, &R.lock, until))
            ;
        if (R.stopping)
            break;
        g_mutex_unlock(&R.lock);
        orchard_instances_heartbeat();
        g_mutex_lock(&R.lock);
    }
    g_mutex_unlock(&R.lock);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Start and stop */

int orchard_instances_start(const char *address)
{
    const char *id = orchard_instances_id();
    int64_t lease;

    if (!orchard_instances_store_configured())
        return ORCHARD_ENOTCONFIGURED;
    lease = orchard_instances_lease_ms();
    g_mutex_lock(&R.lock);
    if (R.registered) {
        g_mutex_unlock(&R.lock);
        return ORCHARD_EEXIST;
    }
    R.registered = 1;
    R.stopping = 0;
    R.in_store = 0;
    R.lease_ms = lease;
    R.started_at = orchard_instances_now_ms();
    g_free(R.address);
    R.address = g_strdup(address ? address : "");
    g_mutex_unlock(&R.lock);
    /* The first heartbeat writes the row and the fingerprints published
     * before serve listened; the hook goes in before jobs start. */
    orchard_instances_heartbeat();
    orchard_jobs_set_lease(lease_hook, NULL);
    orchard_info(COMPONENT, "instance %s at %s (job leases last %lld ms)", id,
                 address ? address : "?", (long long)lease);
    R.thread = g_thread_new("orchard-heartbeat", beat_main, NULL);
    return 0;
}

static void unregister(const char *id)
{
    orchard_store_tx *tx = NULL;
    int rc = orchard_store_begin(&tx, 1);

    if (rc == 0 && (rc = orchard_lease_release_all(tx, id)) == 0 &&
        (rc = orchard_instance_row_delete(tx, id)) == 0) {
        rc = orchard_store_commit(tx);
        tx = NULL;
    }
    if (tx)
        orchard_store_rollback(tx);
    if (rc)
        orchard_warn(COMPONENT, "cannot remove this instance from the store (%s): the others "
                     "take its jobs when its leases expire", orchard_strerror(rc));
}

void orchard_instances_stop(void)
{
    g_mutex_lock(&R.lock);
    if (!R.registered) {
        g_mutex_unlock(&R.lock);
        return;
    }
    R.stopping = 1;
    g_cond_broadcast(&R.wake);
    GThread *t = g_steal_pointer(&R.thread);
    g_mutex_unlock(&R.lock);
    if (t)
        g_thread_join(t);
    orchard_jobs_set_lease(NULL, NULL);
    unregister(orchard_instances_id());
    orchard_instance_settings_forget();
    g_mutex_lock(&R.lock);
    R.registered = 0;
    R.in_store = 0;
    g_clear_pointer(&R.address, g_free);
    g_clear_pointer(&R.held, g_hash_table_destroy);
    g_mutex_unlock(&R.lock);
    orchard_debug(COMPONENT, "instance %s left the store", orchard_instances_id());
}
