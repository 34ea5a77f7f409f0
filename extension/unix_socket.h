/* Unix-domain stream sockets with the limits osquery's wire needs: a path
 * length check (sun_path is ~108 bytes), and send/receive timeouts, which
 * Thrift c_glib does not set itself. */
#ifndef ORCHARD_UNIX_SOCKET_H
#define ORCHARD_UNIX_SOCKET_H

#include <stddef.h>

/** Longest socket path that fits sockaddr_un (without the NUL). */
size_t orchard_unix_path_max(void);

/**
 * Connect to `path`, waiting at most timeout_ms for the connect and then for
 * each read or write. Returns the fd, or ORCHARD_EINVAL (path too long),
 * ORCHARD_ENOTFOUND (no socket there / nobody listening) or ORCHARD_EIO.
 */
int orchard_unix_connect(const char *path, int timeout_ms);

/**
 * Listen on `path`, replacing a stale socket file (never a regular file).
 * Returns the listening fd (non-blocking, close-on-exec) or ORCHARD_EINVAL
 * (path too long), ORCHARD_EEXIST (a non-socket file is there) or ORCHARD_EIO.
 */
int orchard_unix_listen(const char *path);

/** Set SO_RCVTIMEO and SO_SNDTIMEO on fd. Returns 0 or ORCHARD_EIO. */
int orchard_socket_set_timeouts(int fd, int timeout_ms);

#endif
