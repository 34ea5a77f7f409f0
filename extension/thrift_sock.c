/* A buffered socket transport for Thrift c_glib (see thrift_sock.h for why it
 * replaces Thrift's own pair). */
#include "extension/thrift_sock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <thrift/c_glib/protocol/thrift_binary_protocol.h>
#include <thrift/c_glib/transport/thrift_fd_transport.h>

#define RBUF_SIZE 4096
#define WBUF_SIZE 16384

typedef struct {
    ThriftFDTransport parent;
    guint8 rbuf[RBUF_SIZE];
    guint32 rpos, rlen;   /* unread bytes are rbuf[rpos..rlen) */
    GByteArray *wbuf;     /* pending output, sent by flush */
    gsize message_bytes;  /* read since the last read_end */
} OrchardSockTransport;

typedef struct {
    ThriftFDTransportClass parent;
} OrchardSockTransportClass;

GType orchard_sock_transport_get_type(void);
G_DEFINE_TYPE(OrchardSockTransport, orchard_sock_transport, THRIFT_TYPE_FD_TRANSPORT)

#define SOCK(t) ((OrchardSockTransport *)(t))

/* One recv into buf; >0 bytes, or -1 with *error set (EOF included). */
static gssize sock_recv(int fd, void *buf, size_t len, GError **error)
{
    for (;;) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n > 0)
            return n;
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

static gint32 sock_read(ThriftTransport *t, gpointer buf, guint32 len, GError **error)
{
    OrchardSockTransport *s = SOCK(t);
    gssize n;

    if (s->message_bytes + len > ORCHARD_THRIFT_MAX_MESSAGE) {
        g_set_error(error, THRIFT_TRANSPORT_ERROR,
                    THRIFT_TRANSPORT_ERROR_MAX_MESSAGE_SIZE_REACHED,
                    "message larger than %d bytes", ORCHARD_THRIFT_MAX_MESSAGE);
        return -1;
    }
    if (s->rpos == s->rlen) {
        if (len >= RBUF_SIZE) { /* large read: straight into the caller's buffer */
            n = sock_recv(THRIFT_FD_TRANSPORT(t)->fd, buf, len, error);
            if (n > 0)
                s->message_bytes += (gsize)n;
            return (gint32)n;
        }
        n = sock_recv(THRIFT_FD_TRANSPORT(t)->fd, s->rbuf, RBUF_SIZE, error);
        if (n < 0)
            return -1;
        s->rpos = 0;
        s->rlen = (guint32)n;
    }
    guint32 take = MIN(len, s->rlen - s->rpos);
    memcpy(buf, s->rbuf + s->rpos, take);
    s->rpos += take;
    s->message_bytes += take;
    return (gint32)take;
}

static gboolean sock_read_end(ThriftTransport *t, GError **error)
{
    (void)error;
    SOCK(t)->message_bytes = 0;
    return TRUE;
}

static gboolean sock_flush(ThriftTransport *t, GError **error)
{
    OrchardSockTransport *s = SOCK(t);
    int fd = THRIFT_FD_TRANSPORT(t)->fd;
    const guint8 *p = s->wbuf->data;
    gsize left = s->wbuf->len;

    while (left > 0) {
        ssize_t n = send(fd, p, left, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            g_set_error(error, THRIFT_TRANSPORT_ERROR, THRIFT_TRANSPORT_ERROR_SEND,
                        "write failed: %s", (errno == EAGAIN || errno == EWOULDBLOCK)
                                                ? "timed out" : strerror(errno));
            g_byte_array_set_size(s->wbuf, 0);
            return FALSE;
        }
        p += n;
        left -= (gsize)n;
    }
    g_byte_array_set_size(s->wbuf, 0);
    return TRUE;
}

static gboolean sock_write(ThriftTransport *t, const gpointer buf, const guint32 len,
                           GError **error)
{
    OrchardSockTransport *s = SOCK(t);
    g_byte_array_append(s->wbuf, buf, len);
    /* Keep memory bounded for big replies: send once a buffer's worth is ready. */
    return s->wbuf->len >= WBUF_SIZE ? sock_flush(t, error) : TRUE;
}

static gboolean sock_write_end(ThriftTransport *t, GError **error)
{
    (void)t;
    (void)error;
    return TRUE;
}

static gboolean sock_is_open(ThriftTransport *t)
{
    (void)t;
    return TRUE; /* the fd's owner decides */
}

static gboolean sock_open_close(ThriftTransport *t, GError **error)
{
    (void)t;
    (void)error;
    return TRUE; /* the fd belongs to whoever opened it */
}

static void orchard_sock_transport_init(OrchardSockTransport *self)
{
    self->wbuf = g_byte_array_sized_new(WBUF_SIZE);
}

static void sock_finalize(GObject *obj)
{
    g_byte_array_unref(SOCK(obj)->wbuf);
    /* ThriftFDTransport's finalize does nothing and does not chain up; go to
     * GObject's directly so the object's own data is released. */
    G_OBJECT_CLASS(g_type_class_peek(G_TYPE_OBJECT))->finalize(obj);
}

static void orchard_sock_transport_class_init(OrchardSockTransportClass *klass)
{
    ThriftTransportClass *ttc = THRIFT_TRANSPORT_CLASS(klass);
    G_OBJECT_CLASS(klass)->finalize = sock_finalize;
    ttc->is_open = sock_is_open;
    ttc->open = sock_open_close;
    ttc->close = sock_open_close;
    ttc->read = sock_read;
    ttc->read_end = sock_read_end;
    ttc->write = sock_write;
    ttc->write_end = sock_write_end;
    ttc->flush = sock_flush;
}

/* --- the binary protocol, with a cap on strings before they are allocated */

typedef struct {
    ThriftBinaryProtocol parent;
} OrchardBinaryProtocol;

typedef struct {
    ThriftBinaryProtocolClass parent;
} OrchardBinaryProtocolClass;

GType orchard_binary_protocol_get_type(void);
G_DEFINE_TYPE(OrchardBinaryProtocol, orchard_binary_protocol, THRIFT_TYPE_BINARY_PROTOCOL)

/* Thrift's reader allocates (and zeroes) whatever length the peer claims, up
 * to 2 GiB, before reading a byte of it; g_new0 aborts the process when that
 * fails. Check the length first. */
static gint32 proto_read_binary(ThriftProtocol *p, gpointer *buf, guint32 *len, GError **error)
{
    gint32 n = 0, ret = thrift_protocol_read_i32(p, &n, error);
    *buf = NULL;
    *len = 0;
    if (ret < 0)
        return -1;
    if (n < 0 || n > ORCHARD_THRIFT_MAX_STRING) {
        g_set_error(error, THRIFT_PROTOCOL_ERROR, THRIFT_PROTOCOL_ERROR_SIZE_LIMIT,
                    "string of %d bytes: over the %d byte limit", n, ORCHARD_THRIFT_MAX_STRING);
        return -1;
    }
    if (n == 0)
        return ret;
    guint8 *data = g_malloc((gsize)n + 1);
    if (thrift_transport_read_all(p->transport, data, (guint32)n, error) < 0) {
        g_free(data);
        return -1;
    }
    data[n] = '\0'; /* read_string's callers take it as C text */
    *buf = data;
    *len = (guint32)n;
    return ret + n;
}

/* An empty string is "", not NULL as in Thrift's reader: the generated map
 * reader drops an entry whose key is NULL and leaks its value (found by
 * fuzz_thrift_call, 2026-11-27). */
static gint32 proto_read_string(ThriftProtocol *p, gchar **str, GError **error)
{
    gpointer buf = NULL;
    guint32 len = 0;
    gint32 ret = proto_read_binary(p, &buf, &len, error);
    *str = ret >= 0 && !buf ? g_strdup("") : buf;
    return ret;
}

static void orchard_binary_protocol_init(OrchardBinaryProtocol *self) { (void)self; }

static void orchard_binary_protocol_class_init(OrchardBinaryProtocolClass *klass)
{
    ThriftProtocolClass *pc = THRIFT_PROTOCOL_CLASS(klass);
    pc->read_binary = proto_read_binary;
    pc->read_string = proto_read_string;
}

GType orchard_thrift_binary_protocol_type(void) { return orchard_binary_protocol_get_type(); }

orchard_thrift_conn *orchard_thrift_conn_new(int fd)
{
    orchard_thrift_conn *c = g_new0(orchard_thrift_conn, 1);
    c->transport = g_object_new(orchard_sock_transport_get_type(), "fd", fd, NULL);
    c->proto = g_object_new(orchard_binary_protocol_get_type(), "transport", c->transport, NULL);
    return c;
}

size_t orchard_thrift_conn_buffered(const orchard_thrift_conn *c)
{
    const OrchardSockTransport *s = (const OrchardSockTransport *)c->transport;
    return s->rlen - s->rpos;
}

void orchard_thrift_conn_free(orchard_thrift_conn *c)
{
    if (!c)
        return;
    g_object_unref(c->proto);
    g_object_unref(c->transport);
    g_free(c);
}
