/* Where the agent tables read a Mac's state, and nowhere else: files under a
 * root directory (default "/") and the `profiles` command (default
 * /usr/bin/profiles). Tests point both at fixtures. Options come from the
 * configuration, set by `--root`, `--profiles_bin`, `--nudge_json` on any
 * command line, by the config file's `agent:` section, or by ORCHARD_AGENT_*:
 *   agent.root, agent.profiles_bin, agent.nudge_json.
 * Every reader caps sizes and nesting, and never crashes on bad input: it
 * returns an error code and a message naming the file or command, which the
 * caller logs once as a warning. Thread-safe: tables generate concurrently. */
#ifndef ORCHARD_MAC_SOURCE_H
#define ORCHARD_MAC_SOURCE_H

#include "tables/mac/mac_run.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <jansson.h>
#include <plist/plist.h>
#include <stddef.h>

/* Caps on what is read. */
#define ORCHARD_MAC_MAX_FILE (8u << 20)    /* plist or JSON file */
#define ORCHARD_MAC_MAX_DEPTH 64           /* nesting of a plist or JSON document */
#define ORCHARD_MAC_MAX_OUTPUT (8u << 20)  /* stdout of one command */
#define ORCHARD_MAC_COMMAND_TIMEOUT_MS 10000
#define ORCHARD_MAC_MAX_USERS 10000

/* Cache lifetimes of `profiles` output. `profiles show -type enrollment` is
 * rate-limited by macOS 12.3+ ("Request too soon"): a day. */
#define ORCHARD_MAC_CACHE_ENROLLMENT_SHOW_S (24 * 3600)
#define ORCHARD_MAC_CACHE_SHORT_S 10

typedef struct orchard_mac_source orchard_mac_source;

/**
 * The source for the current configuration (agent.root, agent.profiles_bin).
 * Sources, and so their caches, are keyed by (root, profiles_bin): two roots
 * never see each other's output. Borrowed; lives until orchard_mac_source_reset().
 * `host` is the plugin's host API (for config_get and log).
 */
orchard_mac_source *orchard_mac_source_get(const orchard_host_api *host);

/** Drop every source and cache (tests; and the plugin's deinit). Not while a
 * table may still be generating: callers hold borrowed sources. */
void orchard_mac_source_reset(void);

const char *orchard_mac_source_root(const orchard_mac_source *src);

/** The configured agent.nudge_json path, or NULL. Borrowed. It is not under
 * the root; a relative path is taken from the current directory. */
const char *orchard_mac_source_nudge_json(const orchard_mac_source *src);

/**
 * `rel` (a Mac path, with or without a leading '/') under the root. g_free.
 * NULL when rel contains a ".." component.
 */
char *orchard_mac_path(const orchard_mac_source *src, const char *rel);

/**
 * Read a plist (XML or binary) at `rel` under the root. Returns 0 and *out
 * (plist_free), or ORCHARD_ENOTFOUND (no such file: not worth a warning),
 * ORCHARD_ETOOBIG (over ORCHARD_MAC_MAX_FILE or nested deeper than
 * ORCHARD_MAC_MAX_DEPTH), ORCHARD_EINVAL (not a plist, truncated) or
 * ORCHARD_EIO, with *error_msg (g_free) naming the file.
 */
int orchard_mac_read_plist(const orchard_mac_source *src, const char *rel, plist_t *out,
                           char **error_msg);

/** Parse a plist from memory with the same caps (for command output). */
int orchard_mac_parse_plist(const char *data, size_t len, const char *origin, plist_t *out,
                            char **error_msg);

/**
 * Read a JSON document. `path` is under the root when relative to it
 * (`under_root` 1) or taken as is (0, for --nudge_json). Same codes as
 * orchard_mac_read_plist; *out is json_decref'd by the caller.
 */
int orchard_mac_read_json(const orchard_mac_source *src, const char *path, int under_root,
                          json_t **out, char **error_msg);

/**
 * Names of the directories under <root>/Users that look like home folders
 * (not "Shared", not hidden), sorted. Returns 0 and *out (g_ptr_array_unref;
 * may be empty), or ORCHARD_EIO. At most ORCHARD_MAC_MAX_USERS names (past
 * that, which ones is the directory's order: no Mac has that many).
 */
int orchard_mac_list_users(const orchard_mac_source *src, GPtrArray **out, char **error_msg);

/** True when <root>/rel exists (any file type). */
int orchard_mac_exists(const orchard_mac_source *src, const char *rel);

/** The `profiles` invocations the tables use. */
typedef enum orchard_profiles_query {
    ORCHARD_PROFILES_COMPUTER_XML,    /* profiles -C -o stdout-xml */
    ORCHARD_PROFILES_STATUS,          /* profiles status -type enrollment */
    ORCHARD_PROFILES_SHOW_ENROLLMENT  /* profiles show -type enrollment (cached a day) */
} orchard_profiles_query;

/**
 * Run (or take from the cache) one `profiles` query: argv without a shell,
 * stdout captured up to ORCHARD_MAC_MAX_OUTPUT, killed after
 * ORCHARD_MAC_COMMAND_TIMEOUT_MS, exit status checked. Concurrent callers of
 * the same query wait for one run. Returns 0 and *out (g_bytes_unref; stdout,
 * NUL-terminated past its length), or ORCHARD_ENOTFOUND (the binary is
 * missing), ORCHARD_ETIMEOUT, ORCHARD_ETOOBIG, ORCHARD_EIO (non-zero exit,
 * killed by a signal, or spawn failure) with *error_msg naming the command.
 * Failures are cached for the short lifetime too, so a broken `profiles` is
 * not run (and warned about) on every query.
 */
int orchard_mac_profiles(orchard_mac_source *src, orchard_profiles_query q, GBytes **out,
                         char **error_msg);

#endif
