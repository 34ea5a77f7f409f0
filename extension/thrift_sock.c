/* The socket transport under every Thrift conversation orchard has: with
 * osqueryd's manager (client) and on our extension socket (server). */
#include "thrift_sock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <thrift/c_glib/protocol/thrift_binary_protocol.h>
#include <thrift/c_glib/transport/thrift_buffered_transport.h>
#include <thrift/c_glib/transport/thrift_fd_transport.h>

typedef struct {
    ThriftFDTransport parent;
} OrchardSockTransport;

typedef struct {
    ThriftFDTransportClass parent;
} OrchardSockTransportClass;

GType orchard_sock_transport_get_type(void);
G_DEFINE_TYPE(OrchardSockTransport, orchard_sock_transport, THRIFT_TYPE_FD_TRANSPORT)

static gint32 sock_read(ThriftTransport *t, gpointer buf, guint32 len, GError **error)
{
    int fd = THRIFT_FD_TRANSPORT(t)->fd;
    for (;;) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n > 0)
            return (gint32)n;
        if (n == 0) {
            g_set_error(error, THRIFT_TRANSPORT_ERROR, THRIFT_TRANSPORT_ERROR_CLOSE,
                        "peer closed the connection");
            return -1;
        }
        if (errno == EINTR)
            continue;
        g_set_error(error, THRIFT_TRANSPORT_ERROR, THRIFT_TRANSPORT_ERROR_RECEIVE,
                    "read failed: %s", (errno == EAGAIN || errno == EWOULDBLOCK)
                                           ? "timed out" : strerror(errno));
        return -1;
    }
}

static gboolean sock_write(ThriftTransport *t, const gpointer buf, const guint32 len,
                           GError **error)
{
    int fd = THRIFT_FD_TRANSPORT(t)->fd;
    const char *p = buf;
    guint32 left = len;
    while (left > 0) {
        ssize_t n = send(fd, p, left, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            g_set_error(error, THRIFT_TRANSPORT_ERROR, THRIFT_TRANSPORT_ERROR_SEND,
                        "write failed: %s", (errno == EAGAIN || errno == EWOULDBLOCK)
                                                ? "timed out" : strerror(errno));
            return FALSE;
        }
        p += n;
        left -= (guint32)n;
    }
    return TRUE;
}

static gboolean sock_flush(ThriftTransport *t, GError **error)
{
    (void)t;
    (void)error;
    return TRUE; /* send() already handed the bytes to the kernel */
}

static gboolean sock_close(ThriftTransport *t, GError **error)
{
    (void)t;
    (void)error;
    return TRUE; /* the fd belongs to whoever opened it */
}

static void orchard_sock_transport_init(OrchardSockTransport *self) { (void)self; }

static void orchard_sock_transport_class_init(OrchardSockTransportClass *klass)
{
    ThriftTransportClass *ttc = THRIFT_TRANSPORT_CLASS(klass);
    ttc->read = sock_read;
    ttc->write = sock_write;
    ttc->flush = sock_flush;
    ttc->close = sock_close;
}

orchard_thrift_conn *orchard_thrift_conn_new(int fd)
{
    orchard_thrift_conn *c = g_new0(orchard_thrift_conn, 1);
    c->raw = g_object_new(orchard_sock_transport_get_type(), "fd", fd, NULL);
    c->buf = g_object_new(THRIFT_TYPE_BUFFERED_TRANSPORT, "transport", c->raw, "r_buf_size",
                          4096, "w_buf_size", 16384, NULL);
    c->proto = g_object_new(THRIFT_TYPE_BINARY_PROTOCOL, "transport", c->buf, NULL);
    return c;
}

/* Thrift c_glib's ownership is uneven: a protocol takes over the reference
 * to its transport (and unrefs it when disposed), while a buffered
 * transport never releases the transport it wraps. */
void orchard_thrift_conn_free(orchard_thrift_conn *c)
{
    if (!c)
        return;
    g_object_unref(c->proto); /* also drops buf */
    g_object_unref(c->raw);
    g_free(c);
}
