/* The extension's own Thrift server on <manager socket>.<uuid>: accepts
 * osqueryd's short connections and serves each on a worker thread, so a slow
 * generate never delays a ping. */
#ifndef ORCHARD_EXT_SERVER_H
#define ORCHARD_EXT_SERVER_H

#include "host/plugins/registry.h"

typedef struct orchard_ext_server orchard_ext_server;

/** Called (on a worker thread) when osqueryd sends shutdown(). */
typedef void (*orchard_ext_shutdown_fn)(void *payload);

/**
 * Listen on `path` and serve `reg`'s tables. io_timeout_ms bounds each read
 * and write on a connection. Returns 0 and *out, or ORCHARD_EINVAL (path too
 * long), ORCHARD_EEXIST (a non-socket file at path) or ORCHARD_EIO.
 */
int orchard_ext_server_start(const char *path, const orchard_registry *reg, int io_timeout_ms,
                             orchard_ext_shutdown_fn on_shutdown, void *payload,
                             orchard_ext_server **out);

/** The path served. Borrowed. */
const char *orchard_ext_server_path(const orchard_ext_server *srv);

/**
 * Stop accepting, end idle connections, wait for in-flight calls to finish,
 * remove the socket file and free. NULL is fine.
 */
void orchard_ext_server_stop(orchard_ext_server *srv);

#endif
