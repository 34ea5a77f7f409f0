/* The profile reconciler: the job "profiles.reconcile" (one instance of
 * several runs it) checks every 2 s whether the desired state changed (the
 * store's marker), a pass was asked for (an enrollment), or the interval
 * passed, and then runs a full pass: one snapshot, a plan in memory
 * (reconcile_plan.c), the plan written in bounded transactions (one
 * InstallProfile per profile and one RemoveProfile per identifier, queued
 * for every host that needs it), and a push to wake those hosts. The
 * devices' answers come back through profile_reports.c. */
#include "server_plugin/profiles/profiles.h"
#include "server_plugin/profiles/reconcile.h"

#include "server_plugin/apns/apns.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_sql.h"

#include <string.h>

#define PLUGIN "orchard-server"
#define INTERVAL_KEY "mdm.apple_profile_reconcile_interval"
#define DEFAULT_INTERVAL_MS (30 * 1000)

/* Host rows written per write transaction: each transaction holds the
 * store's one writer path (across instances on PostgreSQL), so a pass over
 * many hosts lets check-ins in between. */
#define TX_ROWS 4000

/* What the job remembers between runs (this process only: an instance that
 * takes the lease over starts with a full pass). */
static struct {
    GMutex lock;
    char *seen_version; /* the marker the last full pass saw; NULL: none yet */
    gint64 last_full_us;
    gboolean requested;
} S;

/* ---- writing a plan */

typedef struct {
    orchard_ctx *ctx;
    orchard_store_tx *tx;
    size_t in_tx;          /* host rows written in tx */
    gint64 now_us, now;
    size_t commands;
    GHashTable *pending;   /* udids given commands in tx */
    GHashTable *committed; /* ... in committed transactions: the hosts to wake */
} writer;

static const char *const WHAT = "writing the profile reconciler's pass";

static int w_commit(writer *w)
{
    if (!w->tx)
        return 0;
    int rc = orchard_store_hp_end(w->tx, 0, WHAT);
    w->tx = NULL;
    w->in_tx = 0;
    if (rc == 0) {
        GHashTableIter it;
        gpointer k;
        g_hash_table_iter_init(&it, w->pending);
        while (g_hash_table_iter_next(&it, &k, NULL))
            g_hash_table_add(w->committed, k);
    }
    g_hash_table_remove_all(w->pending);
    return rc;
}

/* A transaction with room for at least one more row: the current one, or
 * a new one after committing a full one. */
static int w_room(writer *w)
{
    const orchard_host_api *h = orchard_server_host;
    int rc = 0;
    if (w->tx && w->in_tx >= TX_ROWS && (rc = w_commit(w)))
        return rc;
    if (w->tx)
        return 0;
    if (h->job_expired(w->ctx))
        return ORCHARD_ETIMEOUT;
    return orchard_store_hp_begin(1, WHAT, &w->tx);
}

static void w_abort(writer *w, int rc)
{
    if (w->tx)
        orchard_store_hp_end(w->tx, rc, WHAT);
    w->tx = NULL;
    g_hash_table_remove_all(w->pending);
}

/* What one command does to each slice of its hosts beside queueing it. */
typedef int (*rows_fn)(writer *w, const void *what, const char *const *udids, size_t n,
                       const char *uuid);

static int install_rows(writer *w, const void *what, const char *const *udids, size_t n,
                        const char *uuid)
{
    return orchard_store_hp_set_install(w->tx, what, udids, n, uuid, w->now);
}

static int remove_rows(writer *w, const void *what, const char *const *udids, size_t n,
                       const char *uuid)
{
    return orchard_store_hp_set_remove(w->tx, what, udids, n, uuid, w->now);
}

static int list_rows(writer *w, const void *what, const char *const *udids, size_t n,
                     const char *uuid)
{
    (void)what, (void)uuid;
    return orchard_store_hp_list_asked(w->tx, udids, n, w->now);
}

/* Queue one command for `udids`, in slices that fill the transactions; the
 * command's row goes with its first slice. A failure leaves the committed
 * slices (their hosts have the command and matching rows). */
static int write_command(writer *w, const char *uuid, const char *type, GBytes *plist,
                         GPtrArray *udids, gint64 queued_us, rows_fn rows, const void *what)
{
    const char *const *all = (const char *const *)udids->pdata;
    int rc = 0, first = 1;
    for (size_t done = 0; rc == 0 && done < udids->len;) {
        if ((rc = w_room(w)))
            break;
        size_t k = MIN(udids->len - done, TX_ROWS - w->in_tx);
        gsize len = 0;
        const void *data = first ? g_bytes_get_data(plist, &len) : NULL;
        rc = orchard_store_hp_enqueue(w->tx, uuid, type, data, len, all + done, k, queued_us);
        if (rc == 0)
            rc = rows(w, what, all + done, k, uuid);
        for (size_t i = 0; rc == 0 && i < k; i++)
            g_hash_table_add(w->pending, (gpointer)all[done + i]);
        first = 0;
        w->in_tx += k;
        done += k;
    }
    w->commands += rc == 0;
    return rc;
}

static int write_install(writer *w, const orchard_rc_install *in)
{
    const orchard_hp_profile *p = in->profile;
    g_autoptr(GBytes) content = NULL;
    int rc = w_room(w);
    if (rc)
        return rc;
    /* Read in the writing transaction: what is queued is what the row says. */
    rc = orchard_store_hp_content(w->tx, p->id, p->checksum, &content);
    if (rc == ORCHARD_ENOTFOUND) {
        /* Changed or deleted since the snapshot: that change moved the
         * marker, and the next pass plans with it. */
        orchard_server_host->ctx_log(w->ctx, ORCHARD_LOG_DEBUG, "profiles: profile %" G_GINT64_FORMAT
                                     " changed during the pass; left to the next one", p->id);
        return 0;
    }
    if (rc)
        return rc;
    g_autofree char *uuid = orchard_profiles_command_uuid(ORCHARD_PROFILES_INSTALL_TAG);
    g_autoptr(GBytes) plist = orchard_profiles_install_plist(uuid, content);
    return write_command(w, uuid, "InstallProfile", plist, in->udids, w->now_us, install_rows, p);
}

static int write_remove(writer *w, const orchard_rc_remove *rm)
{
    g_autofree char *uuid = orchard_profiles_command_uuid(ORCHARD_PROFILES_REMOVE_TAG);
    g_autoptr(GBytes) plist = orchard_profiles_remove_plist(uuid, rm->identifier);
    return write_command(w, uuid, "RemoveProfile", plist, rm->udids, w->now_us, remove_rows,
                         rm->identifier);
}

static int write_fix(writer *w, const orchard_rc_fix *f)
{
    int rc = w_room(w);
    if (rc == 0)
        rc = f->profile ? orchard_store_hp_relink(w->tx, f->udid, f->identifier, f->profile->id,
                                                  f->profile->name)
                        : orchard_store_hp_delete(w->tx, f->udid, f->identifier);
    w->in_tx++;
    return rc;
}

static int write_plan(writer *w, const orchard_rc_plan *plan)
{
    int rc = 0;
    for (guint i = 0; rc == 0 && i < plan->installs->len; i++)
        rc = write_install(w, plan->installs->pdata[i]);
    for (guint i = 0; rc == 0 && i < plan->removes->len; i++)
        rc = write_remove(w, plan->removes->pdata[i]);
    for (guint i = 0; rc == 0 && i < plan->fixes->len; i++)
        rc = write_fix(w, &g_array_index(plan->fixes, orchard_rc_fix, i));
    if (rc == 0 && plan->profile_lists->len) {
        g_autofree char *uuid = orchard_profiles_command_uuid(ORCHARD_PROFILES_LIST_TAG);
        g_autoptr(GBytes) plist = orchard_profiles_list_plist(uuid);
        /* Queued a microsecond after this pass's installs, so a host answers
         * it after them (the queue hands out the oldest first). */
        rc = write_command(w, uuid, "ProfileList", plist, plan->profile_lists, w->now_us + 1,
                           list_rows, NULL);
    }
    if (rc == 0)
        rc = w_commit(w);
    else
        w_abort(w, rc);
    return rc;
}

/* ---- a pass */

static double ms_since(gint64 t0)
{
    return (double)(g_get_monotonic_time() - t0) / 1000.0;
}

static void wake(orchard_ctx *ctx, GHashTable *udids)
{
    guint n = 0;
    g_autofree gpointer keys = g_hash_table_get_keys_as_array(udids, &n);
    int rc = orchard_apns_push(ctx, (const char *const *)keys, n);
    if (rc)
        /* The commands are queued: a host gets them at its next check-in. */
        orchard_server_host->ctx_log(ctx, ORCHARD_LOG_WARNING, "profiles: asking for pushes "
                                     "to %u hosts failed (%s); they get their commands when "
                                     "they next check in", n, orchard_server_host->strerror(rc));
}

int orchard_profiles_reconcile_pass(orchard_ctx *ctx, gint64 now_us, orchard_rc_stats *stats,
                                    char **seen_version)
{
    const orchard_host_api *h = orchard_server_host;
    orchard_hp_snapshot snap;
    orchard_rc_plan plan;
    orchard_rc_stats st = {0};
    writer w = {.ctx = ctx, .now_us = now_us, .now = now_us / G_USEC_PER_SEC};

    if (seen_version)
        *seen_version = NULL;
    gint64 t0 = g_get_monotonic_time();
    int rc = orchard_store_hp_snapshot(&snap);
    if (rc)
        return rc;
    st.read_ms = ms_since(t0);
    t0 = g_get_monotonic_time();
    orchard_rc_plan_make(&snap, w.now, &plan);
    st.plan_ms = ms_since(t0);

    t0 = g_get_monotonic_time();
    w.pending = g_hash_table_new(g_direct_hash, g_direct_equal);
    w.committed = g_hash_table_new(g_direct_hash, g_direct_equal);
    rc = write_plan(&w, &plan);
    st.write_ms = ms_since(t0);
    t0 = g_get_monotonic_time();
    if (g_hash_table_size(w.committed))
        wake(ctx, w.committed);
    st.push_ms = ms_since(t0);

    st.hosts = plan.hosts;
    st.installs = plan.n_installs;
    st.removes = plan.n_removes;
    st.lists = plan.profile_lists->len;
    st.commands = w.commands;
    h->ctx_log(ctx, ORCHARD_LOG_INFO,
               "profiles: pass: %zu hosts, %zu installs, %zu removes, %zu profile lists queued; "
               "read %.1f ms, plan %.1f ms, write %.1f ms, push %.1f ms%s",
               st.hosts, st.installs, st.removes, st.lists, st.read_ms, st.plan_ms, st.write_ms,
               st.push_ms, rc ? " (incomplete: the next pass plans the rest)" : "");
    if (stats)
        *stats = st;
    if (rc == 0 && seen_version)
        *seen_version = g_steal_pointer(&snap.desired_version);
    g_hash_table_unref(w.pending);
    g_hash_table_unref(w.committed);
    orchard_rc_plan_clear(&plan);
    orchard_hp_snapshot_clear(&snap);
    return rc;
}

/* ---- the job */

static gint64 interval_us(orchard_ctx *ctx)
{
    const orchard_host_api *h = orchard_server_host;
    int64_t ms = 0;
    if (!ORCHARD_HAS_FIELD(h, orchard_host_api, setting_duration) ||
        h->setting_duration(ctx, INTERVAL_KEY, &ms) != 0 || ms <= 0)
        ms = DEFAULT_INTERVAL_MS;
    return (gint64)ms * 1000;
}

/* A full pass is due: asked for, never run here, the interval passed, or
 * the marker moved since the last one. Else the run costs one small read. */
static int pass_due(orchard_ctx *ctx, gint64 now_us, int *due)
{
    g_autofree char *seen = NULL, *marker = NULL;
    gint64 last;
    g_mutex_lock(&S.lock);
    *due = S.requested || !S.seen_version;
    S.requested = FALSE;
    seen = g_strdup(S.seen_version);
    last = S.last_full_us;
    g_mutex_unlock(&S.lock);
    if (*due || now_us - last >= interval_us(ctx)) {
        *due = 1;
        return 0;
    }
    int rc = orchard_sstore_desired_version(&marker);
    if (rc == 0)
        *due = strcmp(marker, seen) != 0;
    return rc;
}

static int reconcile_run(orchard_ctx *ctx, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    gint64 now_us = g_get_real_time();
    g_autofree char *version = NULL;
    int due = 0;
    (void)payload;

    int rc = pass_due(ctx, now_us, &due);
    if (rc == 0 && due)
        rc = orchard_profiles_reconcile_pass(ctx, now_us, NULL, &version);
    g_mutex_lock(&S.lock);
    if (rc == 0 && due) {
        g_free(S.seen_version);
        S.seen_version = g_steal_pointer(&version);
        S.last_full_us = now_us;
    } else if (rc) {
        /* Tried again at the next run, not after the whole interval. */
        S.requested = TRUE;
    }
    g_mutex_unlock(&S.lock);
    if (rc)
        return h->fail(ctx, rc, "profile reconciler: %s", h->strerror(rc));
    return 0;
}

const orchard_job orchard_job_profiles_reconcile = {
    ORCHARD_STRUCT_HEADER(orchard_job),
    .name = ORCHARD_PROFILES_JOB,
    .interval_seconds = 2,
    .run2 = reconcile_run,
    .deadline_seconds = 240,
    .flags = ORCHARD_JOB_ONE_INSTANCE,
};

void orchard_profiles_request_pass(orchard_ctx *ctx)
{
    g_mutex_lock(&S.lock);
    S.requested = TRUE;
    g_mutex_unlock(&S.lock);
    /* Outside `orchard serve` there is no scheduler: the flag waits. */
    (void)orchard_server_host->job_queue(ctx, ORCHARD_PROFILES_JOB);
}

/* A Mac that just enrolled should get its profiles now, not at the next
 * interval (an enrollment does not move the desired-state marker). */
static void on_enrolled(orchard_ctx *ctx, const char *name, const char *json, void *payload)
{
    (void)name, (void)json, (void)payload;
    orchard_profiles_request_pass(ctx);
}

int orchard_profiles_init(orchard_ctx *ctx)
{
    const orchard_host_api *h = orchard_server_host;
    if (!ORCHARD_HAS_FIELD(h, orchard_host_api, event_subscribe))
        return 0;
    return h->event_subscribe(ctx, "mdm.enrolled", on_enrolled, NULL);
}

void orchard_profiles_cleanup(void)
{
    g_mutex_lock(&S.lock);
    g_clear_pointer(&S.seen_version, g_free);
    S.last_full_us = 0;
    S.requested = FALSE;
    g_mutex_unlock(&S.lock);
}
