/* Load generator for osquery extensions (run.sh drives it). It plays
 * osqueryd twice over, with the integration tests' osqueryd stand-in
 * (tests/support/fake_osqueryd.h): first its extension manager, which the
 * extension registers with, then its client, timing exec -> registered,
 * reading VmRSS, and counting `generate` round trips per second with one new
 * connection per call, as osqueryd makes them.
 *
 *   bench_extension [--runs N] [--seconds S] [--count N] [--smaps FILE] --label L -- CMD ARG...
 *
 * CMD gets `--socket <dir>/osquery.em --timeout 3 --interval 3` appended.
 * Human-readable progress goes to stderr; one `key=value ...` line to stdout. */
#include "tests/support/fake_osqueryd.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define IO_TIMEOUT_MS 5000
#define REGISTER_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define MAX_RUNS 50
#define MAX_THREADS 2

/* ---- the extension process */

typedef struct {
    pid_t pid;
    gint64 spawned_at;
    char *log_path;
} child;

static int spawn_ext(char **cmd, int ncmd, const char *socket_path, const char *log_path,
                     child *ch)
{
    char **argv = g_new0(char *, ncmd + 7);
    posix_spawn_file_actions_t fa;
    int n = 0;
    for (int i = 0; i < ncmd; i++)
        argv[n++] = cmd[i];
    argv[n++] = "--socket";
    argv[n++] = (char *)socket_path;
    argv[n++] = "--timeout";
    argv[n++] = "3";
    argv[n++] = "--interval";
    argv[n++] = "3";
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    ch->log_path = g_strdup(log_path);
    ch->spawned_at = g_get_monotonic_time();
    int rc = posix_spawn(&ch->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    g_free(argv);
    if (rc != 0)
        fprintf(stderr, "bench: cannot run %s: %s\n", cmd[0], strerror(rc));
    return rc == 0 ? 0 : -1;
}

static void stop_ext(child *ch)
{
    int status;
    kill(ch->pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        if (waitpid(ch->pid, &status, WNOHANG) == ch->pid)
            return;
        g_usleep(10 * 1000);
    }
    kill(ch->pid, SIGKILL);
    waitpid(ch->pid, &status, 0);
}

/* Where the resident memory is, once registered (--smaps FILE): a copy of
 * /proc/PID/smaps to read by mapping. */
static void save_smaps(pid_t pid, const char *dest)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/smaps", (int)pid);
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, NULL) ||
        !g_file_set_contents(dest, text, (gssize)len, NULL))
        fprintf(stderr, "bench: cannot copy %s to %s\n", path, dest);
}

static long vm_rss_kib(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    const char *line = strstr(text, "\nVmRSS:");
    return line ? strtol(line + 7, NULL, 10) : -1;
}

static void dump_log(const child *ch)
{
    g_autofree char *text = NULL;
    if (g_file_get_contents(ch->log_path, &text, NULL, NULL))
        fprintf(stderr, "---- extension output ----\n%s--------------------------\n", text);
}

/* The table the load calls: the small one both extensions serve
 * (orchard_plugins, or the Python peer's copy py_plugins), else the first. */
static const char *load_table(const fake_registration *reg)
{
    static const char *const small[] = {"orchard_plugins", "py_plugins"};
    GHashTableIter it;
    gpointer name = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(small); i++)
        if (g_hash_table_contains(reg->tables, small[i]))
            return small[i];
    g_hash_table_iter_init(&it, reg->tables);
    g_hash_table_iter_next(&it, &name, NULL);
    return name;
}

/* Wait for registration number `after`+1 (the manager stamps its arrival),
 * then for its socket to answer a ping. Fills the registration and the
 * extension socket path; returns ready time in µs or -1. */
static gint64 wait_ready(fake_osqueryd *f, const child *ch, guint after,
                         const fake_registration **reg, char **ext_path, gint64 *reg_us)
{
    gint64 deadline = ch->spawned_at + REGISTER_TIMEOUT_US;
    int left_ms = (int)((deadline - g_get_monotonic_time()) / 1000);
    if (!fake_osqueryd_wait_registrations(f, after + 1, MAX(left_ms, 0)))
        return -1;
    *reg = fake_osqueryd_registration(f, after);
    *reg_us = (*reg)->received_us - ch->spawned_at;
    *ext_path = fake_osqueryd_ext_socket(f, (*reg)->uuid);
    while (g_get_monotonic_time() < deadline) {
        int code = -1;
        if (fake_ext_ping(*ext_path, IO_TIMEOUT_MS, &code, NULL) == 0 && code == 0)
            return g_get_monotonic_time() - ch->spawned_at;
        g_usleep(200);
    }
    return -1;
}

/* ---- load */

typedef struct {
    const char *path;
    const char *table;
    gint64 deadline;
    long limit; /* calls per thread; 0: until deadline */
    long ok;
    long errors;
} load_arg;

/* connect, call("table", table, generate "{}"), close: good if rows came back. */
static gpointer load_thread(gpointer data)
{
    load_arg *a = data;
    while (a->limit ? a->ok + a->errors < a->limit : g_get_monotonic_time() < a->deadline) {
        osqueryExtensionResponse *resp = NULL;
        if (fake_ext_table_call(a->path, IO_TIMEOUT_MS, a->table, "generate", "{}", &resp,
                                NULL) == 0 &&
            resp->status && resp->status->code == 0 && resp->response->len >= 1)
            a->ok++;
        else
            a->errors++;
        if (resp)
            g_object_unref(resp);
    }
    return NULL;
}

/* Calls per second over `threads` clients; adds failed calls to *errors. */
static double run_load(const char *path, const char *table, int threads, double seconds,
                       long count, long *errors)
{
    load_arg args[MAX_THREADS];
    GThread *th[MAX_THREADS];
    gint64 start = g_get_monotonic_time();
    long ok = 0;
    for (int i = 0; i < threads; i++) {
        args[i] = (load_arg){path, table, start + (gint64)(seconds * G_USEC_PER_SEC),
                             count / threads, 0, 0};
        th[i] = g_thread_new("load", load_thread, &args[i]);
    }
    for (int i = 0; i < threads; i++) {
        g_thread_join(th[i]);
        ok += args[i].ok;
        *errors += args[i].errors;
    }
    double elapsed = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    return ok / elapsed;
}

/* ---- driver */

typedef struct {
    int runs;
    double seconds;
    long count;
    const char *label;
    char **cmd;
    int ncmd;
    const char *smaps; /* copy the first start's /proc/PID/smaps here */
} options;

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.runs = 5, .seconds = 5.0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            o->cmd = argv + i + 1;
            o->ncmd = argc - i - 1;
            break;
        } else if (i + 1 < argc && strcmp(argv[i], "--runs") == 0) {
            o->runs = atoi(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--seconds") == 0) {
            o->seconds = atof(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--count") == 0) {
            o->count = atol(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--smaps") == 0) {
            o->smaps = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--label") == 0) {
            o->label = argv[++i];
        } else {
            return -1;
        }
    }
    if (!o->label || o->ncmd < 1 || o->runs < 1 || o->runs > MAX_RUNS || o->seconds <= 0)
        return -1;
    return 0;
}

static int cmp_gint64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return (x > y) - (x < y);
}

/* Sorts v in place. */
static double median(gint64 *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_gint64);
    return n % 2 ? (double)v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

typedef struct {
    gint64 ready_us[MAX_RUNS];
    gint64 reg_us[MAX_RUNS];
    long rss_kib[MAX_RUNS];
    long rss_after_kib;
    double rate[MAX_THREADS + 1];
    long errors;
    char *table;
} results;

/* One start of the extension; the last run also carries the load. */
static int one_run(const options *o, fake_osqueryd *f, int run, results *r)
{
    g_autofree char *log = fake_osqueryd_file(f, "ext.log");
    g_autofree char *ext_path = NULL;
    const fake_registration *reg = NULL;
    child ch = {0};
    guint before = fake_osqueryd_registration_count(f);
    if (spawn_ext(o->cmd, o->ncmd, fake_osqueryd_socket(f), log, &ch) != 0)
        return -1;
    r->ready_us[run] = wait_ready(f, &ch, before, &reg, &ext_path, &r->reg_us[run]);
    if (r->ready_us[run] < 0) {
        fprintf(stderr, "bench: %s did not register and answer ping within %ds\n", o->label,
                (int)(REGISTER_TIMEOUT_US / G_USEC_PER_SEC));
        stop_ext(&ch);
        dump_log(&ch);
        g_free(ch.log_path);
        return -1;
    }
    r->rss_kib[run] = vm_rss_kib(ch.pid);
    if (o->smaps && run == 0)
        save_smaps(ch.pid, o->smaps);
    fprintf(stderr, "  %s run %d: registered %.1f ms, answering %.1f ms, VmRSS %ld KiB\n",
            o->label, run + 1, r->reg_us[run] / 1000.0, r->ready_us[run] / 1000.0,
            r->rss_kib[run]);
    if (run == o->runs - 1) {
        r->table = g_strdup(load_table(reg));
        for (int t = 1; t <= MAX_THREADS; t++) {
            r->rate[t] = run_load(ext_path, r->table, t, o->seconds, o->count, &r->errors);
            fprintf(stderr, "  %s generate, new connection per call, %d thread(s): %.0f/s\n",
                    o->label, t, r->rate[t]);
        }
        r->rss_after_kib = vm_rss_kib(ch.pid);
    }
    stop_ext(&ch);
    /* Extensions that exit without deregistering (the SDK's) would have
     * the next start refused as a duplicate: forget them, as a restart does. */
    fake_osqueryd_forget_all(f);
    g_free(ch.log_path);
    return 0;
}

static void print_results(const options *o, results *r)
{
    GString *runs = g_string_new(NULL);
    for (int i = 0; i < o->runs; i++)
        g_string_append_printf(runs, "%s%.1f", i ? "," : "", r->ready_us[i] / 1000.0);
    gint64 rss[MAX_RUNS];
    for (int i = 0; i < o->runs; i++)
        rss[i] = r->rss_kib[i];
    double reg_ms = median(r->reg_us, o->runs) / 1000.0;
    double rss_med = median(rss, o->runs);
    printf("label=%s table=%s startup_ms=%.1f startup_runs=%s register_ms=%.1f "
           "rss_kib=%.0f rss_after_kib=%ld gen1=%.0f gen2=%.0f errors=%ld\n",
           o->label, r->table, median(r->ready_us, o->runs) / 1000.0, runs->str, reg_ms, rss_med,
           r->rss_after_kib, r->rate[1], r->rate[2], r->errors);
    g_string_free(runs, TRUE);
}

int main(int argc, char **argv)
{
    options o;
    results r = {0};
    int rc = 0;
    if (parse_args(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: bench_extension [--runs N] [--seconds S] [--count N] "
                        "--label L -- CMD [ARG...]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    fake_osqueryd *f = fake_osqueryd_start(NULL);
    if (!f) {
        fprintf(stderr, "bench: cannot serve the manager socket\n");
        return 1;
    }
    for (int run = 0; run < o.runs && rc == 0; run++)
        rc = one_run(&o, f, run, &r);
    if (rc == 0)
        print_results(&o, &r);
    fake_osqueryd_stop(f);
    g_free(r.table);
    return rc == 0 ? 0 : 1;
}
