/* Running a command for the Mac data sources (mac_run.h): argv without a
 * shell, its own process group so a timeout kills grandchildren too, stdout
 * captured with a cap, stderr's last line kept for the message. */
#include "tables/mac/mac_run.h"

#include <orchard/plugin.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int orchard_mac_errno_code(int e)
{
    return e == ENOENT || e == ENOTDIR ? ORCHARD_ENOTFOUND : ORCHARD_EIO;
}

/* The tail of a command's stderr kept for its error message. */
#define STDERR_KEEP 2048

/* ------------------------------------------------------------------------ */
/* Commands */

static char *argv_text(char *const *argv)
{
    GString *s = g_string_new(NULL);
    for (int i = 0; argv[i] && i < 16; i++)
        g_string_append_printf(s, "%s%s", i ? " " : "", argv[i]);
    return g_string_free(s, FALSE);
}

static int make_pipe(int fds[2])
{
#if defined(__linux__)
    return pipe2(fds, O_CLOEXEC | O_NONBLOCK);
#else
    /* macOS has no pipe2; POSIX_SPAWN_CLOEXEC_DEFAULT covers the race there. */
    if (pipe(fds) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
    }
    return 0;
#endif
}

static int spawn(char *const *argv, int out_w, int err_w, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w, 1);
    posix_spawn_file_actions_adddup2(&fa, err_w, 2);
    short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
#if defined(POSIX_SPAWN_CLOEXEC_DEFAULT)
    flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;
#elif defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    posix_spawnattr_setflags(&attr, flags);
    posix_spawnattr_setpgroup(&attr, 0); /* its own group: a timeout kills grandchildren too */
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    int e = posix_spawn(pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return e;
}

typedef struct run_state {
    GByteArray *out;
    GString *err;
    size_t max_output;
} run_state;

/* Drain what is readable from fd; returns 1 at EOF, 0 otherwise, -1 over the cap. */
static int drain(int fd, run_state *rs, int is_stdout)
{
    char buf[16384];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;
        if (r == 0)
            return 1;
        if (is_stdout) {
            if (rs->out->len + (size_t)r > rs->max_output)
                return -1;
            g_byte_array_append(rs->out, (const guint8 *)buf, (guint)r);
        } else {
            g_string_append_len(rs->err, buf, r);
            if (rs->err->len > 2 * STDERR_KEEP)
                g_string_erase(rs->err, 0, (gssize)(rs->err->len - STDERR_KEEP));
        }
    }
}

/* Read both pipes until EOF or the deadline. 0, ETIMEOUT or ETOOBIG. */
static int collect(int out_r, int err_r, gint64 deadline, run_state *rs)
{
    struct pollfd p[2] = {{out_r, POLLIN, 0}, {err_r, POLLIN, 0}};
    while (p[0].fd >= 0 || p[1].fd >= 0) {
        gint64 left = deadline - g_get_monotonic_time();
        if (left <= 0)
            return ORCHARD_ETIMEOUT;
        int n = poll(p, 2, (int)MIN((left + 999) / 1000, (gint64)INT_MAX));
        if (n < 0 && errno != EINTR)
            return ORCHARD_ETIMEOUT; /* cannot wait: treat like a hang */
        for (int i = 0; n > 0 && i < 2; i++) {
            if (p[i].fd < 0 || !p[i].revents)
                continue;
            int r = drain(p[i].fd, rs, i == 0);
            if (r < 0)
                return ORCHARD_ETOOBIG;
            if (r > 0)
                p[i].fd = -1;
        }
    }
    return 0;
}

/* Wait for the child until the deadline (it may close stdout and linger). */
static int reap(pid_t pid, gint64 deadline, int *status)
{
    gulong nap = 1000;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return ORCHARD_EIO;
        if (g_get_monotonic_time() >= deadline)
            return ORCHARD_ETIMEOUT;
        g_usleep(nap);
        nap = MIN(nap * 2, 50000ul);
    }
}

static void kill_group(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* The last non-empty line of stderr, or "". */
static char *last_line(GString *err)
{
    g_autofree char *s = g_strstrip(g_strndup(err->str, err->len));
    const char *nl = strrchr(s, '\n');
    return g_strdup_printf("%s%s", *s ? ": " : "", nl ? nl + 1 : s);
}

int orchard_mac_run(char *const *argv, int timeout_ms, size_t max_output, GBytes **out,
                    char **error_msg)
{
    *out = NULL;
    *error_msg = NULL;
    if (!argv || !argv[0]) {
        *error_msg = g_strdup("no command to run");
        return ORCHARD_EINVAL;
    }
    g_autofree char *cmd = argv_text(argv);
    if (access(argv[0], X_OK) != 0) {
        int e = errno;
        *error_msg = g_strdup_printf("%s: %s", cmd, g_strerror(e));
        return orchard_mac_errno_code(e);
    }
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
    if (make_pipe(out_p) != 0 || make_pipe(err_p) != 0) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (out_p[i] >= 0)
                close(out_p[i]);
        }
        *error_msg = g_strdup_printf("%s: pipe: %s", cmd, g_strerror(e));
        return ORCHARD_EIO;
    }
    pid_t pid = -1;
    int e = spawn(argv, out_p[1], err_p[1], &pid);
    close(out_p[1]);
    close(err_p[1]);
    if (e != 0) {
        close(out_p[0]);
        close(err_p[0]);
        *error_msg = g_strdup_printf("%s: cannot run: %s", cmd, g_strerror(e));
        return orchard_mac_errno_code(e);
    }
    gint64 deadline = g_get_monotonic_time() + (gint64)MAX(timeout_ms, 0) * 1000;
    run_state rs = {g_byte_array_new(), g_string_new(NULL), max_output};
    int status = 0;
    int rc = collect(out_p[0], err_p[0], deadline, &rs);
    close(out_p[0]);
    close(err_p[0]);
    if (rc == 0)
        rc = reap(pid, deadline, &status);
    if (rc == ORCHARD_ETIMEOUT || rc == ORCHARD_ETOOBIG)
        kill_group(pid);
    g_autofree char *tail = last_line(rs.err);
    if (rc == ORCHARD_ETIMEOUT)
        *error_msg = g_strdup_printf("%s: no answer after %d ms; killed", cmd, timeout_ms);
    else if (rc == ORCHARD_ETOOBIG)
        *error_msg = g_strdup_printf("%s: output over %zu bytes; killed", cmd, max_output);
    else if (rc != 0)
        *error_msg = g_strdup_printf("%s: lost track of the child (waitpid failed)", cmd);
    else if (WIFSIGNALED(status)) {
        rc = ORCHARD_EIO;
        *error_msg = g_strdup_printf("%s killed by signal %d%s", cmd, WTERMSIG(status), tail);
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rc = ORCHARD_EIO;
        *error_msg = g_strdup_printf("%s exited with status %d%s", cmd, WEXITSTATUS(status), tail);
    }
    g_string_free(rs.err, TRUE);
    if (rc != 0) {
        g_byte_array_unref(rs.out);
        return rc;
    }
    gsize len = rs.out->len;
    g_byte_array_append(rs.out, (const guint8 *)"", 1); /* NUL past the end */
    *out = g_bytes_new_take(g_byte_array_free(rs.out, FALSE), len);
    return 0;
}

