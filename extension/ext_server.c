/* Extension-side Thrift server. ThriftSimpleServer serves one connection at a
 * time and cannot be stopped from another thread, so the accept loop is ours:
 * poll() on the listening socket and a wake pipe, each connection handed to a
 * GThreadPool worker that runs the generated processor until the peer hangs up. */
#include "ext_server.h"

#include "ext_call.h"
#include "log.h"
#include "thrift_sock.h"
#include "unix_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <osquery_extension.h>

#define MAX_WORKERS 64

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
    int wake[2]; /* pipe: a byte stops the accept loop */
    const orchard_registry *reg;
    int io_timeout_ms;
    orchard_ext_shutdown_fn on_shutdown;
    void *payload;
    GThread *acceptor;
    GThreadPool *pool;
    OrchardExtHandler *handler;
    ThriftProcessor *processor;
    GMutex lock;
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

/* Serve one connection until the peer closes it, a read times out, or a
 * message is malformed (then the connection is dropped, as Thrift does). */
static void serve_connection(gpointer data, gpointer user)
{
    orchard_ext_server *srv = user;
    int fd = GPOINTER_TO_INT(data);
    orchard_thrift_conn *conn = orchard_thrift_conn_new(fd);
    GError *err = NULL;

    while (thrift_processor_process(srv->processor, conn->proto, conn->proto, &err)) {
    }
    if (err && err->domain != THRIFT_TRANSPORT_ERROR)
        orchard_warn("extension", "dropped a connection: %s", err->message);
    else if (err && err->code != THRIFT_TRANSPORT_ERROR_RECEIVE &&
             err->code != THRIFT_TRANSPORT_ERROR_CLOSE)
        orchard_debug("extension", "connection ended: %s", err->message);
    g_clear_error(&err);
    g_mutex_lock(&srv->lock);
    g_hash_table_remove(srv->open_fds, GINT_TO_POINTER(fd));
    g_mutex_unlock(&srv->lock);
    orchard_thrift_conn_free(conn);
    close(fd);
}

static gpointer accept_loop(gpointer data)
{
    orchard_ext_server *srv = data;
    struct pollfd fds[2] = {{srv->listen_fd, POLLIN, 0}, {srv->wake[0], POLLIN, 0}};

    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            orchard_error("extension", "poll on %s: %s", srv->path, strerror(errno));
            break;
        }
        if (fds[1].revents)
            break;
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                orchard_warn("extension", "accept on %s: %s", srv->path, strerror(errno));
            continue;
        }
        orchard_socket_set_timeouts(fd, srv->io_timeout_ms);
        g_mutex_lock(&srv->lock);
        g_hash_table_add(srv->open_fds, GINT_TO_POINTER(fd));
        g_mutex_unlock(&srv->lock);
        g_thread_pool_push(srv->pool, GINT_TO_POINTER(fd), NULL);
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
    orchard_ext_server *srv = g_new0(orchard_ext_server, 1);
    if (pipe2(srv->wake, O_CLOEXEC) != 0) {
        close(fd);
        g_free(srv);
        return ORCHARD_EIO;
    }
    srv->path = g_strdup(path);
    srv->listen_fd = fd;
    srv->reg = reg;
    srv->io_timeout_ms = io_timeout_ms;
    srv->on_shutdown = on_shutdown;
    srv->payload = payload;
    g_mutex_init(&srv->lock);
    srv->open_fds = g_hash_table_new(NULL, NULL);
    srv->handler = g_object_new(orchard_ext_handler_get_type(), NULL);
    srv->handler->srv = srv;
    srv->processor = g_object_new(OSQUERY_TYPE_EXTENSION_PROCESSOR, "handler", srv->handler, NULL);
    srv->pool = g_thread_pool_new(serve_connection, srv, MAX_WORKERS, FALSE, NULL);
    srv->acceptor = g_thread_new("ext-accept", accept_loop, srv);
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
    (void)!write(srv->wake[1], "x", 1);
    g_thread_join(srv->acceptor);
    close(srv->listen_fd);
    unlink(srv->path);
    /* Idle connections wake with EOF; one in a generate still sends its reply. */
    g_mutex_lock(&srv->lock);
    g_hash_table_iter_init(&it, srv->open_fds);
    while (g_hash_table_iter_next(&it, &key, NULL))
        shutdown(GPOINTER_TO_INT(key), SHUT_RD);
    g_mutex_unlock(&srv->lock);
    g_thread_pool_free(srv->pool, FALSE, TRUE);
    g_object_unref(srv->processor);
    g_object_unref(srv->handler);
    g_hash_table_destroy(srv->open_fds);
    g_mutex_clear(&srv->lock);
    close(srv->wake[0]);
    close(srv->wake[1]);
    g_free(srv->path);
    g_free(srv);
}
