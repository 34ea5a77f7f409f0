/* Socket plumbing shared by extension mode (client of the manager, server of
 * our own socket) and by the test stand-in for osqueryd. */
#include "extension/unix_socket.h"

#include <orchard/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

size_t orchard_unix_path_max(void)
{
    return sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
}

static int fill_addr(struct sockaddr_un *addr, const char *path)
{
    size_t len = strlen(path);
    if (len == 0 || len > orchard_unix_path_max())
        return ORCHARD_EINVAL;
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    memcpy(addr->sun_path, path, len + 1);
    return 0;
}

int orchard_socket_set_timeouts(int fd, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
        return ORCHARD_EIO;
    return 0;
}

int orchard_unix_connect(const char *path, int timeout_ms)
{
    struct sockaddr_un addr;
    int rc = fill_addr(&addr, path);
    if (rc)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ORCHARD_EIO;
    /* Linux applies SO_SNDTIMEO to a blocking connect() on unix sockets too. */
    if (orchard_socket_set_timeouts(fd, timeout_ms) != 0) {
        close(fd);
        return ORCHARD_EIO;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int e = errno;
        close(fd);
        return (e == ENOENT || e == ECONNREFUSED) ? ORCHARD_ENOTFOUND : ORCHARD_EIO;
    }
    return fd;
}

int orchard_unix_listen(const char *path)
{
    struct sockaddr_un addr;
    struct stat st;
    int rc = fill_addr(&addr, path);
    if (rc)
        return rc;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return ORCHARD_EEXIST;
        unlink(path); /* stale socket from an earlier run */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return ORCHARD_EIO;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 128) != 0) {
        close(fd);
        return ORCHARD_EIO;
    }
    return fd;
}
