/* A Thrift c_glib transport over a connected socket fd that we opened and
 * configured (timeouts) ourselves. Thrift's own ThriftFDTransport spins
 * forever at EOF (read returns 0 into read_all's loop) and fails every flush
 * (it calls fsync on the socket); this one reports EOF as an error, retries
 * EINTR, writes with MSG_NOSIGNAL and flushes as a no-op. */
#ifndef ORCHARD_THRIFT_SOCK_H
#define ORCHARD_THRIFT_SOCK_H

#include <thrift/c_glib/protocol/thrift_protocol.h>

/* A buffered binary protocol over one socket (osquery's wire: unframed
 * buffered transport, binary protocol). */
typedef struct orchard_thrift_conn {
    ThriftTransport *raw;   /* the socket transport */
    ThriftTransport *buf;   /* buffered, over raw */
    ThriftProtocol *proto;  /* binary, over buf: use this one */
} orchard_thrift_conn;

/** Wrap `fd`; the fd stays owned by the caller. Never NULL. */
orchard_thrift_conn *orchard_thrift_conn_new(int fd);

/** Free the Thrift objects (not the fd). NULL is fine. */
void orchard_thrift_conn_free(orchard_thrift_conn *conn);

#endif
