/* Extension-side Thrift server. ThriftSimpleServer serves one connection at a
 * time and cannot be stopped from another thread, so the serving loop is ours:
 * leader/follower threads block in accept() on the listening socket; the one
 * that gets a connection serves it to the end, and if no other thread is left
 * waiting it first starts one, so a slow generate never delays a ping. One
 * wake-up per connection, no hand-off between threads. */
#include "extension/ext_server.h"

#include "extension/ext_call.h"
#include "host/log.h"
#include "extension/thrift_sock.h"
#include "extension/unix_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <osquery_extension.h>

/* Connections served at once; past this, new ones wait in the backlog. */
#define MAX_WORKERS 64
#define INITIAL_WORKERS 1 /* it starts a second when it takes a connection */

/* --- the Thrift handler: Extension.ping / call / shutdown */

typedef struct {
    osqueryExtensionHandler parent;
    orchard_ext_server *srv;
} OrchardExtHandler;

typedef struct {
    osqueryExtensionHandlerClass parent;
} OrchardExtHandlerClass;

GType orchard_ext_handler_get_type(void);
G_DEFINE_TYPE(OrchardExtHandler, orchard_ext_handler, OSQUERY_TYPE_EXTENSION_HANDLER)

struct orchard_ext_server {
    char *path;
    int listen_fd;
    const orchard_registry *reg;
    int io_timeout_ms;
    orchard_ext_shutdown_fn on_shutdown;
    void *payload;
    OrchardExtHandler *handler;
    ThriftProcessor *processor;
    GMutex lock;          /* guards everything below */
    int stopping;
    int n_idle;           /* threads waiting in accept() */
    GPtrArray *threads;   /* every GThread started, joined at stop */
    GHashTable *open_fds; /* connections being served, to end them on stop */
};

static gboolean handler_ping(osqueryExtensionIf *iface, osqueryExtensionStatus **ret,
                             GError **error)
{
    (void)iface;
    (void)error;
    orchard_ext_set_status(*ret, 0, "OK");
    return TRUE;
}

static gboolean handler_call(osqueryExtensionIf *iface, osqueryExtensionResponse **ret,
                             const gchar *registry, const gchar *item,
                             const osqueryExtensionPluginRequest *request, GError **error)
{
    (void)error;
    OrchardExtHandler *h = (OrchardExtHandler *)iface;
    orchard_ext_call(h->srv->reg, registry, item, (GHashTable *)request, *ret);
    return TRUE;
}

static gboolean handler_shutdown(osqueryExtensionIf *iface, GError **error)
{
    (void)error;
    OrchardExtHandler *h = (OrchardExtHandler *)iface;
    orchard_info("extension", "osqueryd asked us to shut down");
    if (h->srv->on_shutdown)
        h->srv->on_shutdown(h->srv->payload);
    return TRUE;
}

static void orchard_ext_handler_init(OrchardExtHandler *self) { (void)self; }

static void orchard_ext_handler_class_init(OrchardExtHandlerClass *klass)
{
    osqueryExtensionHandlerClass *base = (osqueryExtensionHandlerClass *)klass;
    base->ping = handler_ping;
    base->call = handler_call;
    base->shutdown = handler_shutdown;
}

/* --- connections */

/* Wait for the next request; 0 when the peer hung up or went quiet. osqueryd
 * closes after every call, and Thrift's processor would log each such EOF as
 * a warning, so EOF is caught here first. */
static int next_request_ready(orchard_thrift_conn *conn, int fd)
{
    char byte;
    ssize_t n;
    if (orchard_thrift_conn_buffered(conn) > 0)
        return 1; /* a pipelined request is already buffered */
    do
        n = recv(fd, &byte, 1, MSG_PEEK);
    while (n < 0 && errno == EINTR);
    return n > 0;
}

/* Serve one connection until the peer closes it, a read times out, or a
 * message is malformed (then the connection is dropped, as Thrift does). */
static void serve_connection(orchard_ext_server *srv, int fd)
{
    orchard_thrift_conn *conn = orchard_thrift_conn_new(fd);
    GError *err = NULL;
    int first = 1; /* a peer connects to send a request: no need to peek for it */

    while ((first || next_request_ready(conn, fd)) &&
           thrift_processor_process(srv->processor, conn->proto, conn->proto, &err))
        first = 0;
    if (err)
        orchard_warn("extension", "dropped a connection: %s", err->message);
    g_clear_error(&err);
    orchard_thrift_conn_free(conn);
}

static gpointer serve_loop(gpointer data);

/* Start one more waiting thread. Caller holds srv->lock. */
static void spawn_worker(orchard_ext_server *srv)
{
    srv->n_idle++;
    g_ptr_array_add(srv->threads, g_thread_new("ext-serve", serve_loop, srv));
}

static gpointer serve_loop(gpointer data)
{
    orchard_ext_server *srv = data;
    for (;;) {
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        int err = errno;
        g_mutex_lock(&srv->lock);
        if (srv->stopping) {
            g_mutex_unlock(&srv->lock);
            if (fd >= 0)
                close(fd);
            break;
        }
        if (fd < 0) {
            g_mutex_unlock(&srv->lock);
            if (err != EINTR && err != ECONNABORTED && err != EAGAIN) {
                orchard_warn("extension", "accept on %s: %s", srv->path, strerror(err));
                g_usleep(10 * 1000); /* e.g. out of fds: don't spin */
            }
            continue;
        }
        if (--srv->n_idle == 0 && srv->threads->len < MAX_WORKERS)
            spawn_worker(srv);
        g_hash_table_add(srv->open_fds, GINT_TO_POINTER(fd));
        g_mutex_unlock(&srv->lock);

        orchard_socket_set_timeouts(fd, srv->io_timeout_ms);
        serve_connection(srv, fd);

        g_mutex_lock(&srv->lock);
        g_hash_table_remove(srv->open_fds, GINT_TO_POINTER(fd));
        srv->n_idle++;
        g_mutex_unlock(&srv->lock);
        close(fd);
    }
    return NULL;
}

int orchard_ext_server_start(const char *path, const orchard_registry *reg, int io_timeout_ms,
                             orchard_ext_shutdown_fn on_shutdown, void *payload,
                             orchard_ext_server **out)
{
    int fd = orchard_unix_listen(path);
    if (fd < 0)
        return fd;
    /* Workers block in accept(); stop wakes them with shutdown(). */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    orchard_ext_server *srv = g_new0(orchard_ext_server, 1);
    srv->path = g_strdup(path);
    srv->listen_fd = fd;
    srv->reg = reg;
    srv->io_timeout_ms = io_timeout_ms;
    srv->on_shutdown = on_shutdown;
    srv->payload = payload;
    g_mutex_init(&srv->lock);
    srv->open_fds = g_hash_table_new(NULL, NULL);
    srv->threads = g_ptr_array_new();
    srv->handler = g_object_new(orchard_ext_handler_get_type(), NULL);
    srv->handler->srv = srv;
    srv->processor = g_object_new(OSQUERY_TYPE_EXTENSION_PROCESSOR, "handler", srv->handler, NULL);
    g_mutex_lock(&srv->lock);
    for (int i = 0; i < INITIAL_WORKERS; i++)
        spawn_worker(srv);
    g_mutex_unlock(&srv->lock);
    *out = srv;
    return 0;
}

const char *orchard_ext_server_path(const orchard_ext_server *srv) { return srv->path; }

void orchard_ext_server_stop(orchard_ext_server *srv)
{
    GHashTableIter it;
    gpointer key;

    if (!srv)
        return;
    g_mutex_lock(&srv->lock);
    srv->stopping = 1;
    /* Waiting threads leave accept() with EINVAL; idle connections wake with
     * EOF; one in a generate still sends its reply, then finds EOF. */
    shutdown(srv->listen_fd, SHUT_RDWR);
    g_hash_table_iter_init(&it, srv->open_fds);
    while (g_hash_table_iter_next(&it, &key, NULL))
        shutdown(GPOINTER_TO_INT(key), SHUT_RD);
    g_mutex_unlock(&srv->lock);
    /* No thread is started once stopping is set, so the array is final. */
    for (guint i = 0; i < srv->threads->len; i++)
        g_thread_join(g_ptr_array_index(srv->threads, i));
    g_ptr_array_unref(srv->threads);
    close(srv->listen_fd);
    unlink(srv->path);
    g_object_unref(srv->processor);
    g_object_unref(srv->handler);
    g_hash_table_destroy(srv->open_fds);
    g_mutex_clear(&srv->lock);
    g_free(srv->path);
    g_free(srv);
}
