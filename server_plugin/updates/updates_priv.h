/* Private to server_plugin/updates: what the job, the Nudge package and the
 * tests share beyond updates.h (the device-info pass with its own clock,
 * the package's checks and manifest). */
#ifndef ORCHARD_SERVER_UPDATES_PRIV_H
#define ORCHARD_SERVER_UPDATES_PRIV_H

#include <orchard/plugin.h>

#include <glib.h>
#include <plist/plist.h>

/** The manifest's chunk size for sha256s (bytes per chunk). */
#define ORCHARD_NUDGE_PKG_CHUNK (10 * 1024 * 1024)
/** The largest package served (bytes). */
#define ORCHARD_NUDGE_PKG_MAX ((gsize)512 * 1024 * 1024)

/** mdm.apple_device_info_interval in seconds (24 h when unset or unreadable). */
gint64 orchard_updates_device_info_interval(orchard_ctx *ctx);

/**
 * Queue one command for every host in `udids` (UDIDs a host disabled
 * meanwhile are dropped from the array): CommandUUID
 * ORCHARD_UPDATES_UUID_PREFIX + prefix + a random UUID, plist from make(uuid).
 */
int orchard_updates_enqueue(const char *prefix, const char *request_type,
                            GBytes *(*make)(const char *uuid), GPtrArray *udids, gint64 now_us);

/**
 * One pass of DeviceInformation at `now`: queue it to hosts due, record
 * them asked, push them. Returns 0 or a store code.
 */
int orchard_updates_device_info_run(orchard_ctx *ctx, gint64 now);

struct orchard_device_facts;

/**
 * The facts of a DeviceInformation answer (`root`, the report plist): 0
 * with every field of *f borrowed from root (NULL when not answered), or -1
 * with *why (static) for an answer that is not what a Mac sends: no
 * QueryResponses dictionary, a value that is not a string of at most 256
 * bytes of UTF-8 without control characters, nothing answered, or an
 * OSVersion that is no version.
 */
int orchard_updates_device_facts(plist_t root, struct orchard_device_facts *f, const char **why);

/** A Nudge package as orchard serves it (orchard_nudge_pkg_free). */
typedef struct orchard_nudge_pkg {
    GBytes *data;
    char *sha256;          /* hex of the whole file */
    char *version;         /* bundle-version: from the file name, else "1.0" */
    GPtrArray *chunk_sha256s;
} orchard_nudge_pkg;

void orchard_nudge_pkg_free(orchard_nudge_pkg *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(orchard_nudge_pkg, orchard_nudge_pkg_free)

/**
 * Check `data` is a xar archive (an installer package): its magic, header
 * and table-of-contents lengths. Returns 0, or ORCHARD_EINVAL with *why.
 */
int orchard_nudge_pkg_check(const void *data, gsize len, const char **why);

/** Read and check the package at `path`: 0 and *out, or a code with *why (g_free). */
int orchard_nudge_pkg_load(const char *path, orchard_nudge_pkg **out, char **why);

/** The manifest (XML plist) for `p` served under base URL `base` (g_bytes_unref). */
GBytes *orchard_nudge_pkg_manifest(const orchard_nudge_pkg *p, const char *base);

/**
 * Queue InstallEnterpriseApplication (the manifest's URL) to every host
 * below its scope's minimum version that was not sent this package yet,
 * and push them. No package configured: nothing. Returns 0 or a code.
 */
int orchard_nudge_pkg_queue(orchard_ctx *ctx, gint64 now);

/** Forget the cached package and the last pass (deinit, tests). */
void orchard_nudge_pkg_forget(void);

/** A host enrolled: the next orchard_nudge_pkg_queue looks at every host. */
void orchard_nudge_pkg_dirty(void);

/**
 * Where a Mac on `os_version` stands at `now` under a setting (the
 * macos_updates table): "compliant", or Nudge's phase for a deadline at
 * 20:00 UTC with Nudge's default windows (72 h, 24 h), *refresh the
 * refresh cycle orchard's configuration gives that phase (0 when
 * compliant). *compliant: 1, 0, or -1 when the version is unknown. NULL
 * when the setting is off.
 */
const char *orchard_macos_updates_phase(const char *os_version, const char *minimum_version,
                                        const char *deadline, gint64 now, int *compliant,
                                        gint64 *refresh);

#endif
