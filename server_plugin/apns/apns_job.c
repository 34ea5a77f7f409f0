/* The `apns.push` job: devices due in the push queue (one row per device, so
 * wants coalesce) are pushed in batches; each outcome is recorded, a dead
 * token is marked invalid, and failures are retried with backoff until
 * ORCHARD_APNS_MAX_ATTEMPTS. orchard_apns_push is how the rest of the
 * server asks for a push. */
#include "server_plugin/apns/apns.h"

#include "server_plugin/serve/serve_state.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_devices.h"
#include "server_plugin/store/store_pushes.h"


#define JOB_NAME "apns.push"

/* The job's pusher, kept for the process so connections stay open (Apple
 * reads rapid reconnects as an attack); reopened when the settings change. */
static struct {
    GMutex lock;
    orchard_apns_pusher *pusher;
    guint64 generation;
    const orchard_mdm_config *cfg; /* what it was opened with (identity only) */
} job_state;

int orchard_apns_push(orchard_ctx *ctx, const char *const *udids, size_t n)
{
    const orchard_host_api *h = orchard_server_host;
    if (n == 0)
        return 0;
    int rc = orchard_store_push_want(udids, n, g_get_real_time() / 1000);
    if (rc)
        return rc;
    /* Without the job (not serving) the wants wait in the store for the
     * next `orchard serve`, which runs the job at start. */
    int q = h->job_queue(ctx, JOB_NAME);
    if (q)
        h->ctx_log(ctx, ORCHARD_LOG_DEBUG, "apns: queued %zu pushes; the job is not running "
                   "here (%s)", n, h->strerror(q));
    return 0;
}

void orchard_apns_cleanup(void)
{
    g_mutex_lock(&job_state.lock);
    g_clear_pointer(&job_state.pusher, orchard_apns_pusher_close);
    job_state.cfg = NULL;
    job_state.generation = 0;
    g_mutex_unlock(&job_state.lock);
}

/* The job's pusher for the settings in force (job_state.lock held); *why
 * (g_free) says why there is none. */
static int job_pusher(orchard_ctx *ctx, orchard_apns_pusher **out, char **why)
{
    const orchard_host_api *h = orchard_server_host;
    guint64 gen = h->settings_generation(ctx);
    const orchard_mdm_config *serving = orchard_serve_config(ctx);
    orchard_mdm_config *loaded = NULL;
    int rc = 0;

    if (job_state.pusher && job_state.generation == gen && job_state.cfg == serving) {
        *out = job_state.pusher;
        return 0;
    }
    g_clear_pointer(&job_state.pusher, orchard_apns_pusher_close);
    if (!serving) { /* `orchard job run apns.push`: read the configuration ourselves */
        g_autofree char *err = NULL;
        if ((rc = orchard_mdm_config_load(h, &loaded, &err))) {
            *why = g_strdup(err ? err : "invalid configuration");
            return rc;
        }
    }
    rc = orchard_apns_pusher_open(ctx, serving ? serving : loaded, &job_state.pusher, why);
    orchard_mdm_config_free(loaded);
    if (rc)
        return rc;
    job_state.generation = gen;
    job_state.cfg = serving;
    *out = job_state.pusher;
    return 0;
}

/* What becomes of one device after result r; also counts it. */
static void settle(const orchard_push_due *d, const orchard_apns_result *r, gint64 now_ms,
                   orchard_push_outcome *o, char *reason_buf, size_t reason_size,
                   orchard_apns_stats *st)
{
    *o = (orchard_push_outcome){
        .udid = d->udid,
        .apns_id = r->apns_id[0] ? r->apns_id : NULL,
        .status = r->status,
        .reason = r->reason[0] ? r->reason : NULL,
        .sent_ms = r->sent_ms,
        .next = ORCHARD_PUSH_DONE,
        .due_ms = d->due_ms,
    };
    switch (r->verdict) {
    case ORCHARD_APNS_SENT: st->sent++; break;
    case ORCHARD_APNS_DEAD:
        st->dead++;
        orchard_store_device_push_invalid(d->udid, r->reason, now_ms / 1000);
        break;
    case ORCHARD_APNS_REFUSED: st->refused++; break;
    case ORCHARD_APNS_RETRY:
        if (d->attempts + 1 >= ORCHARD_APNS_MAX_ATTEMPTS) {
            st->gave_up++;
            g_snprintf(reason_buf, reason_size, "gave up after %d attempts: %s",
                       ORCHARD_APNS_MAX_ATTEMPTS, r->reason);
            o->reason = reason_buf;
            break;
        }
        st->retried++;
        o->next = ORCHARD_PUSH_RETRY;
        o->next_ms = now_ms + orchard_apns_backoff_ms(d->attempts, g_random_double());
        break;
    }
}

/* Push one batch of due rows; the rows without a usable token are dropped. */
static int push_batch(orchard_ctx *ctx, GPtrArray *due, gint64 now_ms, orchard_apns_stats *st)
{
    const orchard_host_api *h = orchard_server_host;
    guint n = due->len;
    orchard_apns_target *t = g_new0(orchard_apns_target, n);
    orchard_apns_result *r = g_new0(orchard_apns_result, n);
    orchard_push_outcome *o = g_new0(orchard_push_outcome, n);
    char (*reasons)[200] = g_malloc0(sizeof *reasons * n);
    orchard_push_due **rows = g_new0(orchard_push_due *, n);
    orchard_apns_pusher *pusher = NULL;
    g_autofree char *why = NULL;
    size_t k = 0, dropped = 0;
    int rc = 0, open_rc = 0;

    /* Rows without a usable token go at the end of o, settled with the rest. */
    for (guint i = 0; i < n; i++) {
        orchard_push_due *d = due->pdata[i];
        if (!d->token_hex) {
            o[n - 1 - dropped++] = (orchard_push_outcome){
                .udid = d->udid, .next = ORCHARD_PUSH_DROP, .due_ms = d->due_ms};
            continue;
        }
        rows[k] = d;
        t[k++] = (orchard_apns_target){d->udid, d->token_hex, d->push_magic, d->topic};
    }
    st->dropped += dropped;
    if (k == 0)
        goto settle;
    g_mutex_lock(&job_state.lock);
    open_rc = job_pusher(ctx, &pusher, &why);
    if (open_rc == 0)
        orchard_apns_send(pusher, t, k, r); /* a refusal is in r as RETRY */
    g_mutex_unlock(&job_state.lock);
    /* No client is the same as no answer: the batch waits and tries again,
     * and gives up in the end, like a connection that fails. */
    if (open_rc) {
        h->ctx_log(ctx, ORCHARD_LOG_WARNING, "apns: no APNs client, %zu pushes wait: %s", k,
                   why ? why : h->strerror(open_rc));
        for (size_t i = 0; i < k; i++) {
            r[i] = (orchard_apns_result){.verdict = ORCHARD_APNS_RETRY, .sent_ms = now_ms};
            g_snprintf(r[i].reason, sizeof r[i].reason, "no APNs client: %s",
                       why ? why : h->strerror(open_rc));
        }
    }
    for (size_t i = 0; i < k; i++)
        settle(rows[i], &r[i], now_ms, &o[i], reasons[i], sizeof reasons[i], st);
settle:
    /* o: the k pushed rows, then the dropped ones (k + dropped == n). */
    rc = orchard_store_push_settle(o, n);
    g_free(rows);
    g_free(reasons);
    g_free(o);
    g_free(r);
    g_free(t);
    return rc;
}

int orchard_apns_run(orchard_ctx *ctx, gint64 now_ms, orchard_apns_stats *stats)
{
    const orchard_host_api *h = orchard_server_host;
    orchard_apns_stats local = {0};
    orchard_apns_stats *st = stats ? stats : &local;
    int rc = 0;
    guint got;

    *st = (orchard_apns_stats){0};
    do {
        if (h->job_expired(ctx)) {
            rc = ORCHARD_ETIMEOUT;
            break;
        }
        GPtrArray *due = NULL;
        if ((rc = orchard_store_push_due(now_ms, ORCHARD_APNS_BATCH, &due)))
            break;
        got = due->len;
        rc = got ? push_batch(ctx, due, now_ms, st) : 0;
        g_ptr_array_unref(due);
    } while (rc == 0 && got == ORCHARD_APNS_BATCH);
    if (st->sent + st->dead + st->retried + st->gave_up + st->refused + st->dropped)
        h->ctx_log(ctx, ORCHARD_LOG_INFO,
                   "apns: %zu pushed, %zu dead tokens, %zu to retry, %zu given up, %zu refused, "
                   "%zu without a valid token", st->sent, st->dead, st->retried, st->gave_up,
                   st->refused, st->dropped);
    return rc;
}

static int push_job_run(orchard_ctx *ctx, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    (void)payload;
    int rc = orchard_apns_run(ctx, g_get_real_time() / 1000, NULL);
    if (rc == ORCHARD_ETIMEOUT)
        return h->fail(ctx, rc, "stopped at the deadline; the rest are pushed next run");
    if (rc)
        return h->fail(ctx, rc, "the push queue failed: %s", h->strerror(rc));
    return 0;
}

const orchard_job orchard_job_apns_push = {
    ORCHARD_STRUCT_HEADER(orchard_job),
    .name = JOB_NAME,
    /* Every second, so retries fall due on time; a run with nothing due
     * reads one indexed row range and returns. */
    .interval_seconds = 1,
    .run2 = push_job_run,
    .deadline_seconds = 120,
    .flags = ORCHARD_JOB_ONE_INSTANCE,
};
