/* Load generator for osquery extensions (run.sh drives it). It plays
 * osqueryd twice over: first its extension manager (a minimal
 * ExtensionManager server the extension registers with), then its client,
 * timing exec -> registered, reading VmRSS, and counting `generate` round
 * trips per second with one new connection per call, as osqueryd makes them.
 *
 *   bench_extension [--runs N] [--seconds S] [--count N] --label L -- CMD ARG...
 *
 * CMD gets `--socket <dir>/osquery.em --timeout 3 --interval 3` appended.
 * Human-readable progress goes to stderr; one `key=value ...` line to stdout. */
#include "thrift_sock.h"
#include "unix_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <osquery_extension_manager.h>

extern char **environ;

#define IO_TIMEOUT_MS 5000
#define REGISTER_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define MAX_RUNS 50
#define MAX_THREADS 2

/* ---- the manager: what osqueryd answers while the extension registers */

typedef struct {
    GMutex lock;
    GCond changed;
    int registrations;     /* registerExtension calls accepted so far */
    gint64 uuid;           /* of the latest one */
    gint64 registered_at;  /* monotonic µs when it arrived */
    char *table;           /* first table it registered */
    GHashTable *live;      /* uuid -> TRUE, what extensions() lists */
} manager_state;

static manager_state mgr;

typedef struct {
    osqueryExtensionManagerHandler parent;
} BenchManager;

typedef struct {
    osqueryExtensionManagerHandlerClass parent;
} BenchManagerClass;

GType bench_manager_get_type(void);
G_DEFINE_TYPE(BenchManager, bench_manager, OSQUERY_TYPE_EXTENSION_MANAGER_HANDLER)

static gboolean m_ping(osqueryExtensionIf *iface, osqueryExtensionStatus **ret, GError **error)
{
    (void)iface;
    (void)error;
    g_object_set(*ret, "code", 0, "message", "OK", NULL);
    return TRUE;
}

static gboolean m_call(osqueryExtensionIf *iface, osqueryExtensionResponse **ret,
                       const gchar *registry, const gchar *item,
                       const osqueryExtensionPluginRequest *request, GError **error)
{
    (void)iface, (void)registry, (void)item, (void)request, (void)error;
    g_object_set((*ret)->status, "code", 1, "message", "no plugins here", NULL);
    (*ret)->__isset_status = TRUE;
    return TRUE;
}

static gboolean m_shutdown(osqueryExtensionIf *iface, GError **error)
{
    (void)iface;
    (void)error;
    return TRUE;
}

static gboolean m_extensions(osqueryExtensionManagerIf *iface, osqueryInternalExtensionList **ret,
                             GError **error)
{
    GHashTableIter it;
    gpointer key;
    (void)iface;
    (void)error;
    g_mutex_lock(&mgr.lock);
    g_hash_table_iter_init(&it, mgr.live);
    while (g_hash_table_iter_next(&it, &key, NULL))
        g_hash_table_insert(*ret, g_memdup2(key, sizeof(gint64)),
                            g_object_new(OSQUERY_TYPE_INTERNAL_EXTENSION_INFO, NULL));
    g_mutex_unlock(&mgr.lock);
    return TRUE;
}

static gboolean m_options(osqueryExtensionManagerIf *iface, osqueryInternalOptionList **ret,
                          GError **error)
{
    (void)iface, (void)ret, (void)error;
    return TRUE;
}

static const char *first_table(const osqueryExtensionRegistry *registry)
{
    GHashTable *tables = g_hash_table_lookup((GHashTable *)registry, "table");
    GHashTableIter it;
    gpointer name = NULL;
    if (tables) {
        g_hash_table_iter_init(&it, tables);
        g_hash_table_iter_next(&it, &name, NULL);
    }
    return name;
}

static gboolean m_register(osqueryExtensionManagerIf *iface, osqueryExtensionStatus **ret,
                           const osqueryInternalExtensionInfo *info,
                           const osqueryExtensionRegistry *registry, GError **error)
{
    gint64 now = g_get_monotonic_time();
    (void)iface, (void)info, (void)error;
    g_mutex_lock(&mgr.lock);
    gint64 uuid = 1000 + mgr.registrations;
    g_hash_table_insert(mgr.live, g_memdup2(&uuid, sizeof uuid), GINT_TO_POINTER(1));
    g_free(mgr.table);
    mgr.table = g_strdup(first_table(registry));
    mgr.uuid = uuid;
    mgr.registered_at = now;
    mgr.registrations++;
    g_cond_broadcast(&mgr.changed);
    g_mutex_unlock(&mgr.lock);
    g_object_set(*ret, "code", 0, "message", "OK", "uuid", uuid, NULL);
    return TRUE;
}

static gboolean m_deregister(osqueryExtensionManagerIf *iface, osqueryExtensionStatus **ret,
                             const osqueryExtensionRouteUUID uuid, GError **error)
{
    (void)iface;
    (void)error;
    g_mutex_lock(&mgr.lock);
    g_hash_table_remove(mgr.live, &uuid);
    g_mutex_unlock(&mgr.lock);
    g_object_set(*ret, "code", 0, "message", "OK", NULL);
    return TRUE;
}

/* No rows: the extension finds none of its tables already taken. */
static gboolean m_query(osqueryExtensionManagerIf *iface, osqueryExtensionResponse **ret,
                        const gchar *sql, GError **error)
{
    (void)iface, (void)sql, (void)error;
    g_object_set((*ret)->status, "code", 0, "message", "OK", NULL);
    (*ret)->__isset_status = TRUE;
    (*ret)->__isset_response = TRUE;
    return TRUE;
}

static void bench_manager_init(BenchManager *self) { (void)self; }

static void bench_manager_class_init(BenchManagerClass *klass)
{
    osqueryExtensionHandlerClass *ext = (osqueryExtensionHandlerClass *)klass;
    osqueryExtensionManagerHandlerClass *m = (osqueryExtensionManagerHandlerClass *)klass;
    ext->ping = m_ping;
    ext->call = m_call;
    ext->shutdown = m_shutdown;
    m->extensions = m_extensions;
    m->options = m_options;
    m->register_extension = m_register;
    m->deregister_extension = m_deregister;
    m->query = m_query;
    m->get_query_columns = m_query;
}

/* ---- the manager's socket: accept thread + one pool worker per connection */

typedef struct {
    int listen_fd;
    int wake[2];
    GThread *acceptor;
    GThreadPool *pool;
    ThriftProcessor *processor;
} manager_server;

static void serve_manager_conn(gpointer data, gpointer user)
{
    manager_server *srv = user;
    int fd = GPOINTER_TO_INT(data);
    orchard_thrift_conn *conn = orchard_thrift_conn_new(fd);
    GError *err = NULL;
    while (thrift_processor_process(srv->processor, conn->proto, conn->proto, &err)) {
    }
    g_clear_error(&err);
    orchard_thrift_conn_free(conn);
    close(fd);
}

static gpointer manager_accept_loop(gpointer data)
{
    manager_server *srv = data;
    struct pollfd fds[2] = {{srv->listen_fd, POLLIN, 0}, {srv->wake[0], POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            break;
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        orchard_socket_set_timeouts(fd, IO_TIMEOUT_MS);
        g_thread_pool_push(srv->pool, GINT_TO_POINTER(fd), NULL);
    }
    return NULL;
}

static int manager_start(manager_server *srv, const char *path)
{
    srv->listen_fd = orchard_unix_listen(path);
    if (srv->listen_fd < 0 || pipe2(srv->wake, O_CLOEXEC) != 0)
        return -1;
    g_mutex_init(&mgr.lock);
    g_cond_init(&mgr.changed);
    mgr.live = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    GObject *handler = g_object_new(bench_manager_get_type(), NULL);
    srv->processor = g_object_new(OSQUERY_TYPE_EXTENSION_MANAGER_PROCESSOR, "handler", handler,
                                  NULL);
    srv->pool = g_thread_pool_new(serve_manager_conn, srv, 16, FALSE, NULL);
    srv->acceptor = g_thread_new("manager-accept", manager_accept_loop, srv);
    return 0;
}

/* Stop accepting; the process exits right after, which ends the workers. */
static void manager_stop(manager_server *srv, const char *path)
{
    (void)!write(srv->wake[1], "x", 1);
    g_thread_join(srv->acceptor);
    close(srv->listen_fd);
    g_unlink(path);
}

/* ---- osqueryd's client side: one connection per call */

typedef struct {
    int fd;
    orchard_thrift_conn *conn;
    osqueryExtensionIf *client;
} ext_conn;

static int ext_open(const char *path, ext_conn *c)
{
    c->fd = orchard_unix_connect(path, IO_TIMEOUT_MS);
    if (c->fd < 0)
        return -1;
    c->conn = orchard_thrift_conn_new(c->fd);
    c->client = g_object_new(OSQUERY_TYPE_EXTENSION_CLIENT, "input_protocol", c->conn->proto,
                             "output_protocol", c->conn->proto, NULL);
    return 0;
}

static void ext_close(ext_conn *c)
{
    g_object_unref(c->client);
    orchard_thrift_conn_free(c->conn);
    close(c->fd);
}

static int ext_ping(const char *path)
{
    ext_conn c;
    GError *err = NULL;
    if (ext_open(path, &c) != 0)
        return -1;
    osqueryExtensionStatus *st = g_object_new(OSQUERY_TYPE_EXTENSION_STATUS, NULL);
    gboolean ok = osquery_extension_if_ping(c.client, &st, &err) && st->code == 0;
    g_clear_error(&err);
    g_object_unref(st);
    ext_close(&c);
    return ok ? 0 : -1;
}

/* connect, call("table", table, generate "{}"), close. 0 if rows came back. */
static int ext_generate(const char *path, const char *table, GHashTable *request)
{
    ext_conn c;
    GError *err = NULL;
    if (ext_open(path, &c) != 0)
        return -1;
    osqueryExtensionResponse *resp = g_object_new(OSQUERY_TYPE_EXTENSION_RESPONSE, NULL);
    gboolean ok = osquery_extension_if_call(c.client, &resp, "table", table, request, &err) &&
                  resp->status && resp->status->code == 0 && resp->response->len >= 1;
    g_clear_error(&err);
    g_object_unref(resp);
    ext_close(&c);
    return ok ? 0 : -1;
}

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

/* Wait for registration number `after`+1, then for its socket to answer a
 * ping. Fills the extension socket path; returns ready time in µs or -1. */
static gint64 wait_ready(const child *ch, const char *socket_path, int after, char **ext_path,
                         gint64 *reg_us)
{
    gint64 deadline = ch->spawned_at + REGISTER_TIMEOUT_US;
    g_mutex_lock(&mgr.lock);
    while (mgr.registrations <= after && g_get_monotonic_time() < deadline)
        g_cond_wait_until(&mgr.changed, &mgr.lock, deadline);
    int ok = mgr.registrations > after;
    *reg_us = mgr.registered_at - ch->spawned_at;
    *ext_path = g_strdup_printf("%s.%" G_GINT64_FORMAT, socket_path, mgr.uuid);
    g_mutex_unlock(&mgr.lock);
    if (!ok)
        return -1;
    while (g_get_monotonic_time() < deadline) {
        if (ext_ping(*ext_path) == 0)
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

static gpointer load_thread(gpointer data)
{
    load_arg *a = data;
    GHashTable *req = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(req, "action", "generate");
    g_hash_table_insert(req, "context", "{}");
    while (a->limit ? a->ok + a->errors < a->limit : g_get_monotonic_time() < a->deadline) {
        if (ext_generate(a->path, a->table, req) == 0)
            a->ok++;
        else
            a->errors++;
    }
    g_hash_table_destroy(req);
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
} options;

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){5, 5.0, 0, NULL, NULL, 0};
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
static int one_run(const options *o, const char *dir, const char *sock, int run, results *r)
{
    g_autofree char *log = g_build_filename(dir, "ext.log", NULL);
    g_autofree char *ext_path = NULL;
    child ch = {0};
    g_mutex_lock(&mgr.lock);
    int before = mgr.registrations;
    g_mutex_unlock(&mgr.lock);
    if (spawn_ext(o->cmd, o->ncmd, sock, log, &ch) != 0)
        return -1;
    r->ready_us[run] = wait_ready(&ch, sock, before, &ext_path, &r->reg_us[run]);
    if (r->ready_us[run] < 0) {
        fprintf(stderr, "bench: %s did not register and answer ping within %ds\n", o->label,
                (int)(REGISTER_TIMEOUT_US / G_USEC_PER_SEC));
        stop_ext(&ch);
        dump_log(&ch);
        g_free(ch.log_path);
        return -1;
    }
    r->rss_kib[run] = vm_rss_kib(ch.pid);
    fprintf(stderr, "  %s run %d: registered %.1f ms, answering %.1f ms, VmRSS %ld KiB\n",
            o->label, run + 1, r->reg_us[run] / 1000.0, r->ready_us[run] / 1000.0,
            r->rss_kib[run]);
    if (run == o->runs - 1) {
        g_mutex_lock(&mgr.lock);
        r->table = g_strdup(mgr.table);
        g_mutex_unlock(&mgr.lock);
        for (int t = 1; t <= MAX_THREADS; t++) {
            r->rate[t] = run_load(ext_path, r->table, t, o->seconds, o->count, &r->errors);
            fprintf(stderr, "  %s generate, new connection per call, %d thread(s): %.0f/s\n",
                    o->label, t, r->rate[t]);
        }
        r->rss_after_kib = vm_rss_kib(ch.pid);
    }
    stop_ext(&ch);
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

/* Thrift c_glib's processor warns each time a peer hangs up between calls,
 * which is how every osqueryd connection ends: keep that out of the output. */
static void quiet_hangups(const gchar *domain, GLogLevelFlags level, const gchar *message,
                          gpointer user)
{
    if (!strstr(message, "peer closed the connection"))
        g_log_default_handler(domain, level, message, user);
}

static void remove_dir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_unlink(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    options o;
    manager_server srv;
    results r = {0};
    int rc = 0;
    if (parse_args(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: bench_extension [--runs N] [--seconds S] [--count N] "
                        "--label L -- CMD [ARG...]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    g_log_set_handler(NULL, G_LOG_LEVEL_WARNING, quiet_hangups, NULL);
    g_autofree char *dir = g_dir_make_tmp("orchard-bench-XXXXXX", NULL);
    g_autofree char *sock = g_build_filename(dir, "osquery.em", NULL);
    if (!dir || manager_start(&srv, sock) != 0) {
        fprintf(stderr, "bench: cannot serve the manager socket\n");
        return 1;
    }
    for (int run = 0; run < o.runs && rc == 0; run++)
        rc = one_run(&o, dir, sock, run, &r);
    if (rc == 0)
        print_results(&o, &r);
    manager_stop(&srv, sock);
    remove_dir(dir);
    g_free(r.table);
    return rc == 0 ? 0 : 1;
}
