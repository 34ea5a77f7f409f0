/* One DEP sync run (dep_sync.h): account, profile, pages of devices from
 * the stored cursor (each stored with its cursor in one transaction), then
 * the profile assigned to the devices that need it. Apple's errors decide
 * what the next run does (docs/dep.md, "The sync"). */
#include "server_plugin/dep/dep_sync.h"

#include "server_plugin/server.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A run stops after this many pages (1,000,000 devices at Apple's limit)
 * and goes on from the stored cursor next time. */
#define MAX_PAGES 1000
/* Apple's profile_uuid, as stored, is short; a longer one is no UUID. */
#define UUID_MAX 128

typedef struct run_ctx {
    orchard_ctx *ctx;
    const orchard_dep_sync_opts *o;
    orchard_dep_run *run;
    gint64 id;         /* dep_sync_runs row */
    gint64 now;        /* unix s, the run's clock */
    gint64 t0;         /* monotonic us at start */
    gint64 wait_until; /* THROTTLED: not before */
} run_ctx;

static void say(const run_ctx *c, int level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void say(const run_ctx *c, int level, const char *fmt, ...)
{
    const orchard_host_api *h = orchard_server_host;
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (c->ctx && ORCHARD_HAS_FIELD(h, orchard_host_api, ctx_log) && h->ctx_log)
        h->ctx_log(c->ctx, level, "dep sync: %s", msg);
    else
        h->log(level, "orchard-server", "dep sync: %s", msg);
}

static void set_error(run_ctx *c, const char *code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void set_error(run_ctx *c, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_free(c->run->error);
    c->run->error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_free(c->run->error_code);
    c->run->error_code = g_strdup(code);
}

static void progress(const run_ctx *c, const char *kind)
{
    if (!c->o->progress)
        return;
    const orchard_dep_run *r = c->run;
    orchard_dep_progress p = {.kind = kind, .pages = r->pages, .fetched = r->fetched,
                              .added = r->added, .modified = r->modified,
                              .deleted = r->deleted, .assigned = r->assigned,
                              .elapsed_ms = (g_get_monotonic_time() - c->t0) / 1000};
    c->o->progress(&p, c->o->payload);
}

/* A state value as an integer (0 when absent or not a number). */
static gint64 state_int(const char *key)
{
    g_autofree char *v = NULL;
    if (orchard_store_dep_state_get(key, &v) != 0 || !v)
        return 0;
    return g_ascii_strtoll(v, NULL, 10);
}

static int state_set_int(const char *key, gint64 v)
{
    g_autofree char *s = g_strdup_printf("%" G_GINT64_FORMAT, v);
    return orchard_store_dep_state_set(key, s);
}

/* What Apple's refusal means for the admin and the next run; its return is the run's. */
static int apple_failed(run_ctx *c, int rc, const char *call, const orchard_dep_result *res)
{
    /* Apple's own code where it names the refusal; for 5xx, no answer or a
     * bad reply, orchard's status says more than the body's word. */
    const char *code = res->status == ORCHARD_DEP_REFUSED && res->apple_code
                           ? res->apple_code
                           : orchard_dep_status_name(res->status);
    const char *msg = res->message ? res->message : "";
    switch (res->status) {
    case ORCHARD_DEP_T_C_NOT_SIGNED:
        set_error(c, "T_C_NOT_SIGNED", "Apple Business Manager has new terms and conditions: "
                  "an administrator must sign in to business.apple.com and accept them; "
                  "nothing syncs until then (%s: %s)", call, msg);
        say(c, ORCHARD_LOG_ERROR, "%s", c->run->error);
        break;
    case ORCHARD_DEP_THROTTLED: {
        gint64 wait = res->retry_after > 0 ? res->retry_after : ORCHARD_DEP_THROTTLE_DEFAULT;
        c->wait_until = c->now + wait;
        /* Stored, so no instance and no `orchard dep sync` calls before it. */
        state_set_int(ORCHARD_DEP_KEY_NOT_BEFORE, c->wait_until);
        set_error(c, "THROTTLED", "Apple throttled %s: no call before %" G_GINT64_FORMAT
                  " s from now (%s)", call, wait, msg);
        say(c, ORCHARD_LOG_WARNING, "%s", c->run->error);
        break;
    }
    case ORCHARD_DEP_TOKEN_EXPIRED:
        set_error(c, "TOKEN_EXPIRED", "the ABM server token expired: download a new one from "
                  "Apple Business Manager and set mdm.apple_bm_server_token (%s)", msg);
        say(c, ORCHARD_LOG_ERROR, "%s", c->run->error);
        break;
    case ORCHARD_DEP_UNAUTHORIZED:
        set_error(c, "UNAUTHORIZED", "Apple refused the ABM server token: it was revoked or "
                  "replaced in Apple Business Manager; download the current one (%s: %s)",
                  call, msg);
        say(c, ORCHARD_LOG_ERROR, "%s", c->run->error);
        break;
    default:
        set_error(c, code, "%s: %s", call, msg);
        say(c, ORCHARD_LOG_ERROR, "%s", c->run->error);
        break;
    }
    return rc == ORCHARD_EIO ? ORCHARD_EIO : ORCHARD_EPROTO;
}

static int store_failed(run_ctx *c, int rc, const char *what)
{
    set_error(c, ORCHARD_DEP_ERR_STORE, "the store failed %s: %s", what,
              orchard_server_host->strerror(rc));
    say(c, ORCHARD_LOG_ERROR, "%s", c->run->error);
    return ORCHARD_EIO;
}

/* ---- account and profile ------------------------------------------------ */

static int account(run_ctx *c)
{
    g_autofree char *have = NULL;
    if (orchard_store_dep_state_get(ORCHARD_DEP_KEY_ACCOUNT, &have) == 0 && have && *have &&
        c->now - state_int(ORCHARD_DEP_KEY_ACCOUNT_AT) < ORCHARD_DEP_ACCOUNT_MAX_AGE)
        return 0;
    orchard_dep_result res = {0};
    json_t *acct = NULL;
    int rc = orchard_dep_account(c->o->client, &acct, &res);
    if (rc) {
        rc = apple_failed(c, rc, "GET /account", &res);
        orchard_dep_result_clear(&res);
        return rc;
    }
    char *text = json_dumps(acct, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(acct);
    rc = text ? orchard_store_dep_state_set(ORCHARD_DEP_KEY_ACCOUNT, text) : ORCHARD_ENOMEM;
    free(text);
    if (rc == 0)
        rc = state_set_int(ORCHARD_DEP_KEY_ACCOUNT_AT, c->now);
    orchard_dep_result_clear(&res);
    return rc ? store_failed(c, rc, "saving Apple's account") : 0;
}

/* The profile as it would be defined (no call): *p and *sha, or *bad
 * with the reason a bad file or setting is refused. */
static void profile_build(run_ctx *c, json_t **p, char **sha, char **bad)
{
    int replaced = 0;
    if (orchard_dep_profile_build(c->o->profile_path, c->o->server_url, c->o->org_name, p, sha,
                                  &replaced, bad) == 0 && replaced)
        say(c, ORCHARD_LOG_INFO, "the url in %s was replaced by orchard's DEP enrollment URL %s",
            c->o->profile_path, json_string_value(json_object_get(*p, "url")));
}

/* Define `p` when it changed or none is defined: *uuid (g_free). */
static int profile_define(run_ctx *c, const json_t *p, const char *sha, char **uuid)
{
    g_autofree char *old_sha = NULL, *old_uuid = NULL;
    *uuid = NULL;
    orchard_store_dep_state_get(ORCHARD_DEP_KEY_PROFILE_SHA, &old_sha);
    orchard_store_dep_state_get(ORCHARD_DEP_KEY_PROFILE_UUID, &old_uuid);
    if (old_uuid && *old_uuid && g_strcmp0(old_sha, sha) == 0) {
        *uuid = g_steal_pointer(&old_uuid);
        return 0;
    }
    orchard_dep_result res = {0};
    char *got = NULL;
    int rc = orchard_dep_profile_define(c->o->client, p, &got, &res);
    if (rc) {
        rc = apple_failed(c, rc, "POST /profile", &res);
        orchard_dep_result_clear(&res);
        return rc;
    }
    orchard_dep_result_clear(&res);
    if (!*got || strlen(got) > UUID_MAX) {
        g_free(got);
        set_error(c, orchard_dep_status_name(ORCHARD_DEP_BAD_REPLY),
                  "POST /profile: Apple answered no usable profile_uuid");
        return ORCHARD_EPROTO;
    }
    /* The uuid first: killed before the hash, the next run defines again. */
    rc = orchard_store_dep_state_set(ORCHARD_DEP_KEY_PROFILE_UUID, got);
    if (rc == 0)
        rc = orchard_store_dep_state_set(ORCHARD_DEP_KEY_PROFILE_SHA, sha);
    if (rc) {
        g_free(got);
        return store_failed(c, rc, "saving the DEP profile");
    }
    say(c, ORCHARD_LOG_INFO, "DEP profile defined: %s", got);
    *uuid = got;
    return 0;
}

/* ---- pages -------------------------------------------------------------- */

/* A text field, or NULL when absent, empty, not a string or over the cap. */
static const char *str(const json_t *d, const char *key)
{
    const json_t *j = json_object_get(d, key);
    const char *v = json_string_value(j);
    return v && *v && json_string_length(j) <= ORCHARD_DEP_FIELD_MAX ? v : NULL;
}

static gint64 parse_date(const char *s)
{
    if (!s)
        return 0;
    g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
    g_autoptr(GDateTime) t = g_date_time_new_from_iso8601(s, utc);
    return t ? g_date_time_to_unix(t) : 0;
}

static int known_op(const char *op)
{
    return !strcmp(op, "added") || !strcmp(op, "modified") || !strcmp(op, "deleted");
}

int orchard_dep_page_records(const json_t *page, orchard_dep_record **out, size_t *n,
                             size_t *dropped)
{
    const json_t *devs = json_object_get(page, "devices");
    *out = NULL;
    *n = *dropped = 0;
    if (!json_is_object(page) || (devs && !json_is_array(devs)))
        return ORCHARD_EINVAL;
    size_t len = json_array_size(devs);
    orchard_dep_record *r = g_new0(orchard_dep_record, len ? len : 1);
    for (size_t i = 0; i < len; i++) {
        const json_t *d = json_array_get(devs, i);
        orchard_dep_record x = {
            .serial_number = str(d, "serial_number"), .model = str(d, "model"),
            .description = str(d, "description"), .color = str(d, "color"),
            .os = str(d, "os"), .device_family = str(d, "device_family"),
            .profile_status = str(d, "profile_status"), .profile_uuid = str(d, "profile_uuid"),
            .device_assigned_date = str(d, "device_assigned_date"),
            .op_type = str(d, "op_type"), .op_date = str(d, "op_date"),
        };
        /* Nothing to key it by, or an op orchard does not know how to apply
         * (absent, null or "" is a full fetch's device: added). */
        const json_t *op = json_object_get(d, "op_type");
        const char *ops = json_string_value(op);
        if (!x.serial_number || (op && !json_is_null(op) && !ops) ||
            (ops && *ops && !known_op(ops))) {
            (*dropped)++;
            continue;
        }
        x.op_date_unix = parse_date(x.op_date);
        r[(*n)++] = x;
    }
    *out = r;
    return 0;
}

/* One page from `cursor`: stored with its cursor. *more, *next (g_free). */
static int one_page(run_ctx *c, int sync, const char *cursor, int *more, char **next,
                    orchard_dep_result *res, int *apple_rc)
{
    json_t *page = NULL;
    *apple_rc = 0;
    int limit = c->o->page_limit > 0 ? c->o->page_limit : ORCHARD_DEP_PAGE_MAX;
    int rc = orchard_dep_devices_page(c->o->client, sync, cursor, limit, &page, res);
    if (rc) {
        *apple_rc = rc;
        return rc;
    }
    size_t n = 0, dropped = 0;
    orchard_dep_record *recs = NULL;
    orchard_dep_page_records(page, &recs, &n, &dropped); /* the client checked the shape */
    if (dropped)
        say(c, ORCHARD_LOG_WARNING, "%zu device(s) of a page skipped: no serial_number, or "
            "an op_type other than added, modified, deleted", dropped);
    *more = json_is_true(json_object_get(page, "more_to_follow"));
    const char *cur = json_string_value(json_object_get(page, "cursor"));
    /* The fetch's last page: from now on, sync from its cursor. */
    const char *phase = sync || !*more ? "sync" : "fetch";
    orchard_dep_page p = {.records = recs, .n = n, .cursor = cur, .phase = phase,
                          .cursor_at = c->now, .now = c->now, .fetch = !sync,
                          .fetch_first = !sync && !cursor};
    /* The full fetch's last page: what it did not list is gone from the
     * server (a refetch after a lost cursor learns deletions only so). */
    if (!sync && !*more)
        p.sweep_before = cursor ? state_int(ORCHARD_DEP_KEY_FETCH_AT) : c->now;
    rc = orchard_store_dep_page_apply(&p, c->id, c->run, NULL);
    if (rc == 0)
        *next = g_strdup(cur);
    /* More to follow on an empty page would page forever. */
    if (rc == 0 && *more && n == 0 && dropped == 0)
        *more = 0;
    g_free(recs);
    json_decref(page);
    return rc ? store_failed(c, rc, "storing a page of devices") : 0;
}

static void set_kind(run_ctx *c, const char *kind)
{
    g_free(c->run->kind);
    c->run->kind = g_strdup(kind);
}

/* Page until Apple has nothing more; the cursor errors as docs/dep.md says. */
static int pages(run_ctx *c)
{
    const orchard_host_api *h = orchard_server_host;
    g_autofree char *cursor = NULL, *phase = NULL;
    orchard_store_dep_state_get(ORCHARD_DEP_KEY_CURSOR, &cursor);
    orchard_store_dep_state_get(ORCHARD_DEP_KEY_PHASE, &phase);
    int sync = cursor && *cursor && g_strcmp0(phase, "sync") == 0;
    int restarted = 0, switched = 0, more = 1;
    for (int n = 0; more; n++) {
        if (n >= MAX_PAGES || (c->ctx && h->job_expired && h->job_expired(c->ctx))) {
            set_error(c, ORCHARD_DEP_ERR_STOPPED, "stopped after %d pages (%s); the next run "
                      "goes on from the stored cursor", n,
                      n >= MAX_PAGES ? "a run's page limit" : "the job's deadline");
            say(c, ORCHARD_LOG_WARNING, "%s", c->run->error);
            return ORCHARD_ETIMEOUT;
        }
        orchard_dep_result res = {0};
        char *next = NULL;
        int arc = 0;
        int rc = one_page(c, sync, cursor && *cursor ? cursor : NULL, &more, &next, &res, &arc);
        if (rc == 0) {
            g_free(cursor);
            cursor = next;
            orchard_dep_result_clear(&res);
            progress(c, sync ? "sync" : "fetch");
            continue;
        }
        if (!arc) {
            orchard_dep_result_clear(&res);
            return rc;
        }
        if (res.status == ORCHARD_DEP_EXHAUSTED_CURSOR && !sync && !switched) {
            /* The fetch was complete: sync from the same cursor. */
            switched = 1;
            sync = 1;
            set_kind(c, "sync");
            say(c, ORCHARD_LOG_INFO, "the full fetch is complete (EXHAUSTED_CURSOR): syncing");
            more = 1;
            rc = orchard_store_dep_state_set(ORCHARD_DEP_KEY_PHASE, "sync");
        } else if ((res.status == ORCHARD_DEP_EXPIRED_CURSOR ||
                    res.status == ORCHARD_DEP_INVALID_CURSOR) && !restarted && cursor &&
                   *cursor) {
            /* Apple forgot the cursor: fetch everything again. Rows are upserted,
             * so nothing is lost and nothing is counted twice. */
            restarted = 1;
            sync = 0;
            set_kind(c, "fetch");
            say(c, ORCHARD_LOG_WARNING, "Apple answered %s: starting a full fetch again",
                orchard_dep_status_name(res.status));
            g_clear_pointer(&cursor, g_free);
            more = 1;
            rc = orchard_store_dep_state_set(ORCHARD_DEP_KEY_CURSOR, NULL);
            if (rc == 0)
                rc = orchard_store_dep_state_set(ORCHARD_DEP_KEY_PHASE, "fetch");
        } else {
            rc = apple_failed(c, arc, sync ? "POST /devices/sync" : "POST /server/devices", &res);
            orchard_dep_result_clear(&res);
            return rc;
        }
        orchard_dep_result_clear(&res);
        if (rc)
            return store_failed(c, rc, "saving the cursor");
    }
    return 0;
}

/* ---- assignment ----------------------------------------------------------- */

/* Assign the profile to every device that needs it, ORCHARD_DEP_PAGE_MAX a call. */
static int assign(run_ctx *c, const char *uuid)
{
    g_autofree char *after = NULL;
    for (;;) {
        char **serials = NULL;
        gint64 n = 0;
        int rc = orchard_store_dep_assign_due(uuid, after, ORCHARD_DEP_PAGE_MAX, &serials, &n);
        if (rc)
            return store_failed(c, rc, "reading the devices to assign");
        if (n == 0) {
            g_strfreev(serials);
            return 0;
        }
        g_free(after);
        after = g_strdup(serials[n - 1]);
        orchard_dep_result res = {0};
        json_t *got = NULL;
        rc = orchard_dep_profile_assign(c->o->client, uuid, (const char *const *)serials,
                                        (size_t)n, &got, &res);
        if (rc) {
            if (res.apple_code && strcmp(res.apple_code, "PROFILE_NOT_FOUND") == 0)
                /* Apple lost our profile: the next run defines it again. */
                orchard_store_dep_state_set(ORCHARD_DEP_KEY_PROFILE_UUID, NULL);
            rc = apple_failed(c, rc, "PUT /profile/devices", &res);
            orchard_dep_result_clear(&res);
            g_strfreev(serials);
            return rc;
        }
        orchard_dep_result_clear(&res);
        orchard_dep_assign_result *out = g_new0(orchard_dep_assign_result, (gsize)n);
        gint64 ok = 0;
        for (gint64 i = 0; i < n; i++) {
            const char *st = json_string_value(json_object_get(got, serials[i]));
            out[i].serial_number = serials[i];
            out[i].status = st ? st : "NO_RESULT";
            if (st && strcmp(st, "SUCCESS") == 0)
                ok++;
            else if (st && strcmp(st, "NOT_ACCESSIBLE") == 0)
                out[i].error = "Apple answered NOT_ACCESSIBLE: the device is not assigned to "
                               "this MDM server in Apple Business Manager";
            else if (st && strcmp(st, "FAILED") == 0)
                out[i].error = "Apple answered FAILED: retried on the next run";
            else
                out[i].error = st ? "Apple answered an unknown result: retried on the next run"
                                  : "Apple's answer did not name the device: retried on the "
                                    "next run";
        }
        rc = orchard_store_dep_assign_record(uuid, out, (size_t)n, c->now);
        g_free(out);
        json_decref(got);
        g_strfreev(serials);
        if (rc)
            return store_failed(c, rc, "recording assignments");
        c->run->assigned += ok;
        if (ok < n)
            say(c, ORCHARD_LOG_WARNING, "%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                " assignments failed; retried on the next run", n - ok, n);
        progress(c, "assign");
    }
}

/* ---- one run ---------------------------------------------------------------- */

static int steps(run_ctx *c)
{
    json_t *p = NULL;
    g_autofree char *sha = NULL, *uuid = NULL, *bad = NULL;
    /* The profile is checked before Apple is called: a bad file is said
     * at once; devices still sync, only the assignment waits for a fix. */
    profile_build(c, &p, &sha, &bad);
    if (bad)
        say(c, ORCHARD_LOG_ERROR, "%s; devices sync, the profile is not assigned", bad);
    int rc = account(c);
    if (rc == 0 && p)
        rc = profile_define(c, p, sha, &uuid);
    json_decref(p);
    if (rc == 0)
        rc = pages(c);
    if (rc)
        return rc;
    if (bad) {
        set_error(c, ORCHARD_DEP_ERR_PROFILE, "%s", bad);
        return ORCHARD_EPROTO;
    }
    return assign(c, uuid);
}

int orchard_dep_sync_run(orchard_ctx *ctx, const orchard_dep_sync_opts *opts,
                         orchard_dep_run *run, gint64 *wait_until)
{
    memset(run, 0, sizeof *run);
    if (wait_until)
        *wait_until = 0;
    if (!opts || !opts->client)
        return ORCHARD_EINVAL;
    run_ctx c = {.ctx = ctx, .o = opts, .run = run, .t0 = g_get_monotonic_time(),
                 .now = opts->now ? opts->now : g_get_real_time() / G_USEC_PER_SEC};
    gint64 not_before = state_int(ORCHARD_DEP_KEY_NOT_BEFORE);
    if (not_before > c.now) {
        if (wait_until)
            *wait_until = not_before;
        set_error(&c, "THROTTLED", "Apple throttled the last call: no call before %"
                  G_GINT64_FORMAT " s from now", not_before - c.now);
        return ORCHARD_EBUSY;
    }
    g_autofree char *cursor = NULL, *phase = NULL;
    orchard_store_dep_state_get(ORCHARD_DEP_KEY_CURSOR, &cursor);
    orchard_store_dep_state_get(ORCHARD_DEP_KEY_PHASE, &phase);
    int have = cursor && *cursor;
    run->kind = g_strdup(have && g_strcmp0(phase, "sync") == 0 ? "sync" : "fetch");
    gint64 at = state_int(ORCHARD_DEP_KEY_CURSOR_AT);
    run->cursor_age = have && at > 0 ? MAX(0, c.now - at) : -1;
    gint64 started_ms = opts->now ? opts->now * 1000 : g_get_real_time() / 1000;
    int rc = orchard_store_dep_run_begin(run->kind, started_ms, run->cursor_age, &c.id);
    if (rc == 0 && not_before)
        rc = orchard_store_dep_state_set(ORCHARD_DEP_KEY_NOT_BEFORE, NULL);
    if (rc) {
        store_failed(&c, rc, "recording the run");
        return ORCHARD_EIO;
    }
    rc = steps(&c);
    gint64 finished_ms = opts->now ? opts->now * 1000 + (g_get_monotonic_time() - c.t0) / 1000
                                   : g_get_real_time() / 1000;
    int frc = orchard_store_dep_run_finish(c.id, run, MAX(finished_ms, started_ms));
    if (rc == 0 && frc)
        rc = store_failed(&c, frc, "finishing the run");
    if (wait_until)
        *wait_until = c.wait_until;
    if (rc == 0)
        say(&c, ORCHARD_LOG_INFO, "%s: %" G_GINT64_FORMAT " pages, %" G_GINT64_FORMAT
            " devices (+%" G_GINT64_FORMAT " ~%" G_GINT64_FORMAT " -%" G_GINT64_FORMAT
            "), %" G_GINT64_FORMAT " assigned", run->kind, run->pages, run->fetched,
            run->added, run->modified, run->deleted, run->assigned);
    return rc;
}
