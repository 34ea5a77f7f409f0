/* The Thrift c_glib transport under every conversation orchard has on
 * osquery's wire (with osqueryd's manager as a client, on our extension
 * socket as a server): a buffered transport over a socket fd that we opened
 * and configured (timeouts) ourselves, with a binary protocol on top.
 *
 * Why not Thrift's own ThriftFDTransport + ThriftBufferedTransport: the first
 * spins forever at EOF (read returns 0 into read_all's loop) and fails every
 * flush (it calls fsync on the socket); both leak GLib's per-object data on
 * every unref (their finalizers never chain up to GObject's). This one reports
 * EOF as an error, retries EINTR, writes with MSG_NOSIGNAL, caps a message at
 * ORCHARD_THRIFT_MAX_MESSAGE bytes, and is one object instead of two. */
#ifndef ORCHARD_THRIFT_SOCK_H
#define ORCHARD_THRIFT_SOCK_H

#include <thrift/c_glib/protocol/thrift_protocol.h>

/* Cap on one incoming message, as Thrift's default max message size. */
#define ORCHARD_THRIFT_MAX_MESSAGE (100 * 1024 * 1024)
/* Cap on one string or binary value in it, checked before allocating. */
#define ORCHARD_THRIFT_MAX_STRING (16 * 1024 * 1024)

typedef struct orchard_thrift_conn {
    ThriftTransport *transport; /* buffered socket transport */
    ThriftProtocol *proto;      /* binary protocol over it: use this one */
} orchard_thrift_conn;

/** The binary protocol type the conns use (caps strings before allocating). */
GType orchard_thrift_binary_protocol_type(void);

/** Wrap `fd`; the fd stays owned by the caller. Never NULL. */
orchard_thrift_conn *orchard_thrift_conn_new(int fd);

/** Bytes received but not yet consumed (a pipelined request). */
size_t orchard_thrift_conn_buffered(const orchard_thrift_conn *conn);

/** Free the Thrift objects (not the fd). NULL is fine. */
void orchard_thrift_conn_free(orchard_thrift_conn *conn);

#endif
