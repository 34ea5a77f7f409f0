/* When the DEP sync runs: the job "dep.sync" (one instance of several on a
 * store; a short tick that starts a run once mdm.apple_dep_sync_periodicity
 * passed since the last run of any instance, or a THROTTLED wait ended) and
 * `orchard dep sync` (one run now, in the foreground, with a progress line). */
#include "server_plugin/dep/dep_sync.h"

#include "server_plugin/config/mdm_config.h"
#include "server_plugin/serve/serve_state.h"
#include "server_plugin/server.h"
#include "server_plugin/setup/setup_io.h"
#include "server_plugin/store/store_open_cmd.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_PERIOD_S 60
/* The progress line, when not a terminal: one line this often. */
#define PROGRESS_EVERY_US (5 * G_USEC_PER_SEC)

static gint64 state_int(const char *key)
{
    g_autofree char *v = NULL;
    if (orchard_store_dep_state_get(key, &v) != 0 || !v)
        return 0;
    return g_ascii_strtoll(v, NULL, 10);
}

/* A client for the configured account (mdm.apple_dep_url read on each run). */
static int make_client(orchard_ctx *ctx, const orchard_mdm_config *cfg, orchard_dep_client **c)
{
    const char *url = orchard_server_host->config_get("mdm.apple_dep_url");
    orchard_dep_client_config dc = {.base_url = url && *url ? url : NULL,
                                    .token = cfg->bm_token};
    return orchard_dep_client_new(ctx, &dc, c);
}

static int run_once(orchard_ctx *ctx, const orchard_mdm_config *cfg, const char *server_url,
                    orchard_dep_progress_fn fn, void *payload, orchard_dep_run *run,
                    gint64 *wait_until)
{
    const orchard_host_api *h = orchard_server_host;
    orchard_dep_client *client = NULL;
    int rc = make_client(ctx, cfg, &client);
    if (rc) {
        const char *url = h->config_get("mdm.apple_dep_url");
        run->error_code = g_strdup("CONFIG");
        run->error = g_strdup_printf("no DEP client for mdm.apple_dep_url \"%s\": %s",
                                     url ? url : ORCHARD_DEP_DEFAULT_URL, h->strerror(rc));
        return rc;
    }
    const char *path = h->config_get("mdm.apple_dep_profile");
    orchard_dep_sync_opts o = {.client = client, .server_url = server_url,
                               .org_name = cfg->org_name,
                               .profile_path = path && *path ? path : NULL,
                               .progress = fn, .payload = payload};
    rc = orchard_dep_sync_run(ctx, &o, run, wait_until);
    orchard_dep_client_free(client);
    return rc;
}

/* The base URL `orchard serve` on this configuration gives Macs (g_free):
 * server.url, else its listening address, so the command and `orchard job
 * run` define the very profile serving's job does (its hash decides when
 * Apple is asked again). */
static char *cmd_base_url(const orchard_mdm_config *cfg)
{
    if (cfg->url && *cfg->url)
        return g_strdup(cfg->url);
    const char *addr = orchard_server_host->config_get("server.address");
    return g_strdup_printf("%s://%s", cfg->tls_cert ? "https" : "http",
                           addr && *addr ? addr : "127.0.0.1:8080");
}

/* ---- the job ----------------------------------------------------------------- */

/* Whether a run is due at now_ms: the period passed since any instance's
 * last run, or a THROTTLED wait just ended (and none is pending). */
static int due(gint64 now_ms, gint64 period_s)
{
    gint64 not_before = state_int(ORCHARD_DEP_KEY_NOT_BEFORE);
    if (not_before)
        return not_before * 1000 <= now_ms;
    gint64 last = state_int(ORCHARD_DEP_KEY_LAST_RUN);
    return !last || now_ms - last >= period_s * 1000 || now_ms < last;
}

/* One tick with the configuration in force. */
static int tick(orchard_ctx *ctx, const orchard_mdm_config *cfg)
{
    static gint said_off;
    const orchard_host_api *h = orchard_server_host;
    if (!cfg->bm_token) {
        /* Said once per process: the tick is every few seconds. */
        if (g_atomic_int_compare_and_exchange(&said_off, 0, 1))
            h->ctx_log(ctx, ORCHARD_LOG_INFO, "dep sync: Apple Business Manager is not "
                       "configured (mdm.apple_bm_server_token): nothing to sync");
        return 0;
    }
    g_atomic_int_set(&said_off, 0);
    gint64 period = cfg->dep_sync_periodicity > 0 ? cfg->dep_sync_periodicity : DEFAULT_PERIOD_S;
    gint64 now_ms = g_get_real_time() / 1000;
    if (!due(now_ms, period))
        return 0;
    g_autofree char *stamp = g_strdup_printf("%" G_GINT64_FORMAT, now_ms);
    /* Stored first, so every instance (and a restart) counts the period from here. */
    int rc = orchard_store_dep_state_set(ORCHARD_DEP_KEY_LAST_RUN, stamp);
    if (rc)
        return rc;
    /* Serving: the URL serve tells Macs; `orchard job run`: the same guess
     * as the command's. */
    const char *serving = orchard_serve_base_url(ctx);
    g_autofree char *base = serving && *serving ? g_strdup(serving) : cmd_base_url(cfg);
    orchard_dep_run run = {0};
    rc = run_once(ctx, cfg, base, NULL, NULL, &run, NULL);
    if (rc && run.error)
        rc = h->fail(ctx, rc, "%s", run.error);
    orchard_dep_run_clear(&run);
    return rc;
}

static int dep_sync_job(orchard_ctx *ctx, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    (void)payload;
    const orchard_mdm_config *cfg = orchard_serve_config(ctx);
    if (cfg)
        return tick(ctx, cfg);
    /* `orchard job run dep.sync`: not serving, so load the configuration. */
    g_autofree char *err = NULL;
    orchard_mdm_config *loaded = NULL;
    int rc = orchard_mdm_config_load_ex(h, ORCHARD_MDM_CONFIG_KEEP_EXPIRED_BM_TOKEN, &loaded,
                                        &err);
    if (rc)
        return h->fail(ctx, rc, "%s", err ? err : h->strerror(rc));
    rc = tick(ctx, loaded);
    orchard_mdm_config_free(loaded);
    return rc;
}

const orchard_job orchard_job_dep_sync = {
    ORCHARD_STRUCT_HEADER(orchard_job),
    .name = "dep.sync",
    .interval_seconds = 5,
    .run2 = dep_sync_job,
    /* A first fetch of a large account pages for a while. */
    .deadline_seconds = 1800,
    .flags = ORCHARD_JOB_ONE_INSTANCE,
};

/* ---- `orchard dep sync` ---------------------------------------------------- */

#define USAGE                                                                                  \
    "orchard dep sync [--config F] [--quiet]\n"                                                \
    "  Syncs devices from Apple Business Manager once, now: a full fetch the first time,\n"   \
    "  then the changes since the last run, and assigns the DEP profile to the devices\n"     \
    "  that need it. A progress line goes to standard error (--quiet: none); a summary\n"     \
    "  to standard output. It does not wait out Apple's THROTTLED: it says how long.\n"       \
    "Exit status: 0 synced; 1 the sync failed (the reason is printed); 2 argument error."

/* 1234567 -> "1,234,567" into buf. */
static const char *grouped(gint64 v, char buf[32])
{
    char raw[24];
    int n = g_snprintf(raw, sizeof raw, "%" G_GINT64_FORMAT, v < 0 ? -v : v);
    int o = 0;
    if (v < 0)
        buf[o++] = '-';
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
    return buf;
}

static void describe(GString *s, const orchard_dep_progress *p)
{
    char a[32], b[32], c[32], d[32], e[32], f[32];
    gint64 rate = p->elapsed_ms > 0 ? p->fetched * 1000 / p->elapsed_ms : 0;
    g_string_printf(s, "%s: %s pages, %s devices (+%s ~%s -%s), %s devices/s", p->kind,
                    grouped(p->pages, a), grouped(p->fetched, b), grouped(p->added, c),
                    grouped(p->modified, d), grouped(p->deleted, e), grouped(rate, f));
    if (p->assigned)
        g_string_append_printf(s, ", %s assigned", grouped(p->assigned, a));
}

typedef struct progress_state {
    int tty, quiet, shown;
    gint64 last_us;
} progress_state;

static void on_progress(const orchard_dep_progress *p, void *payload)
{
    progress_state *ps = payload;
    if (ps->quiet)
        return;
    gint64 now = g_get_monotonic_time();
    if (!ps->tty && ps->last_us && now - ps->last_us < PROGRESS_EVERY_US)
        return;
    ps->last_us = now;
    g_autoptr(GString) s = g_string_new(NULL);
    describe(s, p);
    /* On a terminal the line rewrites itself; in a log, one line each time. */
    fprintf(stderr, ps->tty ? "\r%s\033[K" : "%s\n", s->str);
    fflush(stderr);
    ps->shown = 1;
}

/* The run, its progress and its outcome: the exit status. */
static int sync_now(orchard_ctx *ctx, const orchard_mdm_config *cfg, int quiet)
{
    const orchard_host_api *h = orchard_server_host;
    if (!cfg->bm_token) {
        fprintf(stderr, "orchard dep sync: Apple Business Manager is not configured: set "
                "mdm.apple_bm_server_token, mdm.apple_bm_cert and mdm.apple_bm_key "
                "(docs/configuration.md)\n");
        return 1;
    }
    if (orchard_sstore_open_cmd("dep sync", "the synced devices"))
        return 1;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    g_autofree char *stamp = g_strdup_printf("%" G_GINT64_FORMAT, g_get_real_time() / 1000);
    /* The periodicity is ignored, but the run counts as the last one for it. */
    if (state_int(ORCHARD_DEP_KEY_NOT_BEFORE) <= now &&
        orchard_store_dep_state_set(ORCHARD_DEP_KEY_LAST_RUN, stamp)) {
        fprintf(stderr, "orchard dep sync: cannot write to the store\n");
        return 1;
    }
    progress_state ps = {.tty = isatty(STDERR_FILENO), .quiet = quiet};
    orchard_dep_run run = {0};
    gint64 wait_until = 0, t0 = g_get_monotonic_time();
    g_autofree char *base = cmd_base_url(cfg);
    int rc = run_once(ctx, cfg, base, on_progress, &ps, &run, &wait_until);
    if (ps.shown && ps.tty)
        fputc('\n', stderr);
    int status = 1;
    if (rc == ORCHARD_EBUSY) {
        fprintf(stderr, "orchard dep sync: Apple throttled the last call (THROTTLED): try "
                "again in %" G_GINT64_FORMAT " s\n", MAX(1, wait_until - now));
    } else if (rc) {
        fprintf(stderr, "orchard dep sync: %s\n", run.error ? run.error : h->strerror(rc));
    } else {
        orchard_dep_progress p = {.kind = run.kind, .pages = run.pages, .fetched = run.fetched,
                                  .added = run.added, .modified = run.modified,
                                  .deleted = run.deleted, .assigned = run.assigned,
                                  .elapsed_ms = (g_get_monotonic_time() - t0) / 1000};
        g_autoptr(GString) s = g_string_new(NULL);
        describe(s, &p);
        printf("%s; done in %.1f s\n", s->str, (double)p.elapsed_ms / 1000.0);
        status = 0;
    }
    orchard_dep_run_clear(&run);
    return status;
}

static int dep_sync_cmd(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    int quiet = 0, rc;
    const orchard_setup_opt opts[] = {{"quiet", NULL, &quiet}};
    (void)payload;
    if ((rc = orchard_setup_parse(argc, argv, opts, G_N_ELEMENTS(opts), USAGE)))
        return rc < 0 ? 0 : rc;
    g_autofree char *err = NULL;
    orchard_mdm_config *cfg = NULL;
    /* An expired token is loaded, so the run records TOKEN_EXPIRED for the admin. */
    if ((rc = orchard_mdm_config_load_ex(h, ORCHARD_MDM_CONFIG_KEEP_EXPIRED_BM_TOKEN, &cfg,
                                         &err))) {
        fprintf(stderr, "orchard dep sync: %s\n", err ? err : h->strerror(rc));
        return 1;
    }
    int status = sync_now(ctx, cfg, quiet);
    orchard_mdm_config_free(cfg);
    return status;
}

const orchard_command orchard_cmd_dep_sync = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "dep sync",
    .summary = "Sync devices from Apple Business Manager once, in the foreground",
    .usage = USAGE,
    .run2 = dep_sync_cmd,
};
