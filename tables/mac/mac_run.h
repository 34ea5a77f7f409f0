/* Running a command for the Mac data sources: argv without a shell, in its
 * own process group, stdout captured with a cap, a time limit. mac_source
 * runs `profiles` through it; it knows nothing of mac_source. */
#ifndef ORCHARD_MAC_RUN_H
#define ORCHARD_MAC_RUN_H

#include <glib.h>
#include <stddef.h>

/** ORCHARD_ENOTFOUND for ENOENT/ENOTDIR, else ORCHARD_EIO (for errno after a failed call). */
int orchard_mac_errno_code(int e);

/**
 * Run `argv` (argv[0] a path; no shell): stdout captured up to `max_output`
 * bytes, killed with its process group after `timeout_ms`, exit status
 * checked. Returns 0 and *out (g_bytes_unref; NUL-terminated past its
 * length), or ORCHARD_ENOTFOUND (the binary is missing), ORCHARD_ETIMEOUT,
 * ORCHARD_ETOOBIG, ORCHARD_EIO (non-zero exit, killed by a signal, or spawn
 * failure) with *error_msg (g_free) naming the command.
 */
int orchard_mac_run(char *const *argv, int timeout_ms, size_t max_output, GBytes **out,
                    char **error_msg);

#endif
