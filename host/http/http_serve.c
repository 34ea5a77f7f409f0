/* orchard_http_serve: the life of `orchard serve`'s HTTP server. It reads the
 * server.* settings, loads the transport module, listens, and then waits on a
 * self-pipe that SIGTERM, SIGINT and orchard_http_stop() write to (the signal
 * handler does nothing else); SIGHUP writes to it too and reloads the
 * settings without stopping. Stopping is graceful and bounded: stop
 * accepting, give requests in flight a few seconds, stop the workers, close
 * the store, unload the module; the process can exit within 5 s. */
#include "host/http/http_api.h"
#include "host/http/http_internal.h"
#include "host/instances/instances.h"
#include "host/jobs/jobs.h"
#include "host/log.h"
#include "host/settings.h"
#include "host/store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <unistd.h>

/* How long requests in flight get once a stop is asked for. MHD_stop_daemon
 * still waits for a handler that is running, but handlers are short. */
#define GRACE_US (4 * G_USEC_PER_SEC)
#define DRAIN_POLL_US (10 * 1000)

/* The write end of the running server's self-pipe, -1 when none. A signal
 * handler reads it, hence an atomic; `lock` keeps orchard_http_stop() from
 * writing to it while serve closes it. */
static atomic_int wake_fd = -1;
static GMutex lock;

typedef struct {
    struct sigaction term;
    struct sigaction intr;
    struct sigaction hup;
    struct sigaction pipe;
} saved_signals;

static void on_signal(int sig)
{
    int saved = errno;
    int fd = atomic_load(&wake_fd);
    char c = (char)sig;

    if (fd >= 0 && write(fd, &c, 1) < 0) {
        /* A full pipe already holds a wake-up. */
    }
    errno = saved;
}

static void install_signals(saved_signals *saved)
{
    struct sigaction sa = {0}, ign = {0};

    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, &saved->term);
    sigaction(SIGINT, &sa, &saved->intr);
    sigaction(SIGHUP, &sa, &saved->hup);
    /* A client that hangs up mid-response must not kill the server. */
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &saved->pipe);
}

static void restore_signals(const saved_signals *saved)
{
    sigaction(SIGTERM, &saved->term, NULL);
    sigaction(SIGINT, &saved->intr, NULL);
    sigaction(SIGHUP, &saved->hup, NULL);
    sigaction(SIGPIPE, &saved->pipe, NULL);
}

void orchard_http_stop(void)
{
    g_mutex_lock(&lock);
    int fd = atomic_load(&wake_fd);
    char c = 0;
    if (fd >= 0 && write(fd, &c, 1) < 0) {
        /* A full pipe already holds a wake-up. */
    }
    g_mutex_unlock(&lock);
}

/* One server per process: the signals and the self-pipe are process-wide. */
static int claim(int *read_fd, char **error_msg)
{
    int fds[2], rc = 0;

    g_mutex_lock(&lock);
    if (atomic_load(&wake_fd) >= 0) {
        *error_msg = g_strdup("an HTTP server is already running in this process");
        rc = ORCHARD_EEXIST;
    } else if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        *error_msg = g_strdup_printf("cannot make the stop pipe: %s", g_strerror(errno));
        rc = ORCHARD_EIO;
    } else {
        *read_fd = fds[0];
        atomic_store(&wake_fd, fds[1]);
    }
    g_mutex_unlock(&lock);
    return rc;
}

static void unclaim(int read_fd)
{
    g_mutex_lock(&lock);
    int fd = atomic_exchange(&wake_fd, -1);
    g_mutex_unlock(&lock);
    close(fd);
    close(read_fd);
}

/* Block until a wake-up; returns the signal number, 0 for orchard_http_stop. */
static int wait_for_stop(int read_fd)
{
    struct pollfd p = {read_fd, POLLIN, 0};
    char c = 0;

    for (;;) {
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
        if (read(read_fd, &c, 1) != 1)
            c = 0;
        if ((unsigned char)c != SIGHUP)
            return (unsigned char)c;
        /* SIGHUP: re-read the settings and serve on; requests in flight
         * run on the transport's threads meanwhile. The reload logs one
         * line: what changed, or why the settings in force stay. */
        g_autofree char *err = NULL;
        orchard_settings_reload(&err);
    }
}

static void shut_down(const orchard_http_module *api, orchard_http_server *srv, int sig)
{
    gint64 deadline;
    unsigned left;

    orchard_info("http", "stopping (%s): no new connections; waiting up to %d s for "
                 "requests in flight", sig ? g_strsignal(sig) : "asked to",
                 (int)(GRACE_US / G_USEC_PER_SEC));
    api->quiesce(srv);
    deadline = g_get_monotonic_time() + GRACE_US;
    while ((left = api->in_flight(srv)) > 0 && g_get_monotonic_time() < deadline)
        g_usleep(DRAIN_POLL_US);
    if (left)
        orchard_warn("http", "%u request(s) still in flight after %d s: closing their "
                     "connections", left, (int)(GRACE_US / G_USEC_PER_SEC));
    api->stop(srv);
}

/* Every connection is a descriptor: make room for server.max_connections
 * (and a margin for the listener, the workers' wake-up descriptors, the
 * store and the logs) under the soft limit, up to the hard
 * one. Short of it, the system refuses connections before our limit does:
 * say so, and serve anyway. */
#define FD_MARGIN 64u

static void fit_fd_limit(unsigned max_connections)
{
    struct rlimit lim;
    rlim_t need = (rlim_t)max_connections + FD_MARGIN;

    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= need)
        return;
    lim.rlim_cur = lim.rlim_max == RLIM_INFINITY || lim.rlim_max >= need ? need : lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur >= need)
        return;
    getrlimit(RLIMIT_NOFILE, &lim);
    orchard_warn("http", "server.max_connections is %u, but this process may open only %llu "
                 "files (ulimit -n): the system will refuse connections before that limit",
                 max_connections, (unsigned long long)lim.rlim_cur);
}

static void log_listening(const orchard_http_settings *st, const char *url)
{
    char per[32] = "any number";

    if (st->max_per_address)
        g_snprintf(per, sizeof per, "%u", st->max_per_address);
    orchard_info("http", "listening on %s (%u worker threads; at most %u connections, %s per "
                 "address; %zu MiB of request bodies buffered at once)", url, st->threads,
                 st->max_connections, per, st->max_buffered >> 20);
}

static int start(const orchard_http_module *api, const orchard_http_settings *st,
                 const orchard_http_module_config *mc, orchard_http_server **srv,
                 char **url, char **error_msg)
{
    char why[512] = "";
    unsigned port = 0;
    int rc = api->start(mc, srv, &port, why, sizeof why);

    if (rc) {
        *error_msg = g_strdup_printf("cannot listen on %s (server.address%s): %s",
                                     st->address, st->tls_cert_pem ? ", server.tls_cert, "
                                     "server.tls_key" : "", why[0] ? why : orchard_strerror(rc));
        return rc;
    }
    *url = g_strdup_printf("%s://%s:%u", st->tls_cert_pem ? "https" : "http", st->url_host, port);
    return 0;
}

int orchard_http_serve(void (*ready)(const char *base_url, void *ud), void *ud)
{
    orchard_http_settings st = {0};
    orchard_http_module_config mc = {0};
    saved_signals saved;
    GModule *mod = NULL;
    const orchard_http_module *api = NULL;
    orchard_http_server *srv = NULL;
    g_autofree char *url = NULL;
    char *err = NULL;
    int read_fd = -1, rc;

    if ((rc = claim(&read_fd, &err)))
        goto out;
    if ((rc = orchard_http_settings_load(&st, &err)))
        goto out_claim;
    if ((rc = orchard_http_module_open(&mod, &api, &err)))
        goto out_settings;
    mc = (orchard_http_module_config){
        .version = ORCHARD_HTTP_MODULE_VERSION,
        .struct_size = (uint32_t)sizeof mc,
        .addr = (const struct sockaddr *)&st.addr,
        .addr_len = st.addr_len,
        .tls_cert_pem = st.tls_cert_pem,
        .tls_key_pem = st.tls_key_pem,
        .threads = st.threads,
        .timeout_seconds = st.timeout_seconds,
        .body_cap = ORCHARD_HTTP_BODY_CAP,
        .dispatch = orchard_http_dispatch,
        .release = orchard_http_release,
        .access = orchard_http_access_log,
        .log = orchard_http_transport_log,
        .tls_client_ca_pem = st.tls_client_ca_pem,
        .request_timeout_ms = st.request_timeout_ms,
        .max_connections = st.max_connections,
        .max_per_address = st.max_per_address,
        .max_buffered = st.max_buffered,
        .body_cap_for = orchard_http_body_cap,
    };
    fit_fd_limit(st.max_connections);
    /* Before listening, so a signal during start-up is not lost either. */
    install_signals(&saved);
    if ((rc = start(api, &st, &mc, &srv, &url, &err)))
        goto out_signals;
    log_listening(&st, url);
    /* Before the jobs: the lease hook must be in place for their first runs.
     * Without a store it does nothing and jobs run here as before. */
    orchard_instances_start(url);
    int jobs_rc = orchard_jobs_start(); /* fails when running, or its last stop still waits */
    if (jobs_rc)
        orchard_warn("http", "serving without starting the job scheduler: %s",
                     orchard_strerror(jobs_rc));
    if (ready)
        ready(url, ud);
    int sig = wait_for_stop(read_fd);
    orchard_jobs_begin_stop(); /* runs wind down while requests drain */
    shut_down(api, srv, sig);
    orchard_jobs_stop(); /* their last records go to the store: before it closes */
    orchard_instances_stop(); /* leases given back: another instance takes the jobs now */
    orchard_store_close();
    orchard_info("http", "stopped");
out_signals:
    restore_signals(&saved);
    g_module_close(mod);
out_settings:
    orchard_http_settings_clear(&st);
out_claim:
    unclaim(read_fd);
out:
    if (rc)
        orchard_error("http", "cannot serve HTTP: %s", err);
    g_free(err);
    return rc;
}
