/* The DEP sync (dep_sync.c): one run against Apple Business Manager --
 * the account, the DEP profile defined when it changed (dep_profile.c),
 * the devices paged into dep_devices from the stored cursor (a full fetch,
 * then sync), and the profile assigned to the devices that need it -- each
 * run a dep_sync_runs row. The job "dep.sync" and `orchard dep sync`
 * (dep_sync_job.c) call it. docs/dep.md. */
#ifndef ORCHARD_SERVER_DEP_SYNC_H
#define ORCHARD_SERVER_DEP_SYNC_H

#include "server_plugin/dep/dep_client.h"
#include "server_plugin/store/store_dep.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <jansson.h>

/* ------------------------------------------------------------------------ */
/* The DEP profile (dep_profile.c) */

/** The largest mdm.apple_dep_profile file read. */
#define ORCHARD_DEP_PROFILE_MAX ((size_t)64 * 1024)

/**
 * The profile orchard defines: the JSON object in `path` (Apple's profile
 * format; NULL or "": a default named "<org_name> enrollment"), with `url`
 * set to server_url + ORCHARD_DEP_ENROLL_PATH (a different url in the file
 * is replaced: *url_replaced says so, for the log) and is_mdm_removable
 * false / await_device_configured true unless the file sets them.
 * Returns 0, *profile (json_decref) and *sha256 (g_free: lower-case hex of
 * the canonical JSON, sorted keys, compact), or, with *error_msg (g_free)
 * naming the file and the problem:
 *   ORCHARD_ENOTFOUND  the file does not exist;
 *   ORCHARD_EIO        it cannot be read;
 *   ORCHARD_ETOOBIG    it is over ORCHARD_DEP_PROFILE_MAX;
 *   ORCHARD_EINVAL     not JSON, not an object, a known key of the wrong
 *                      type, or no server_url.
 */
int orchard_dep_profile_build(const char *path, const char *server_url, const char *org_name,
                              json_t **profile, char **sha256, int *url_replaced,
                              char **error_msg);

/* ------------------------------------------------------------------------ */
/* One run (dep_sync.c) */

/** Where a run stands, after every page and every assign call. */
typedef struct orchard_dep_progress {
    const char *kind;    /* "fetch" | "sync" | "assign" */
    gint64 pages, fetched, added, modified, deleted, assigned;
    gint64 elapsed_ms;
} orchard_dep_progress;

typedef void (*orchard_dep_progress_fn)(const orchard_dep_progress *p, void *payload);

typedef struct orchard_dep_sync_opts {
    orchard_dep_client *client; /* borrowed: made with the ABM token and mdm.apple_dep_url */
    const char *server_url;     /* the base URL Macs reach orchard at (the profile's url) */
    const char *org_name;       /* org_info.org_name, for the default profile's name */
    const char *profile_path;   /* mdm.apple_dep_profile, NULL: the default profile */
    gint64 now;                 /* unix s (tests); 0: the real clock */
    int page_limit;             /* devices per page (0: ORCHARD_DEP_PAGE_MAX) */
    orchard_dep_progress_fn progress; /* may be NULL */
    void *payload;
} orchard_dep_sync_opts;

/** A device's text field longer than this (bytes) is taken as absent. */
#define ORCHARD_DEP_FIELD_MAX 1024

/**
 * Apple's page (as orchard_dep_devices_page returned it) as records that
 * borrow the page's strings: a field that is not a non-empty string (or is
 * over ORCHARD_DEP_FIELD_MAX) is absent, op_date is read as RFC 3339
 * (op_date_unix 0 when it is not one), and a device without a serial_number
 * or with an op_type other than added / modified / deleted is left out and
 * counted in *dropped. Returns 0 and *out (g_free; the page must outlive
 * it), or ORCHARD_EINVAL when `page` is not an object or its devices not an
 * array.
 */
int orchard_dep_page_records(const json_t *page, orchard_dep_record **out, size_t *n,
                             size_t *dropped);

/** No Apple account fetched again within this (seconds). */
#define ORCHARD_DEP_ACCOUNT_MAX_AGE 3600
/** Error codes orchard records beside Apple's. */
#define ORCHARD_DEP_ERR_PROFILE "PROFILE_INVALID"
#define ORCHARD_DEP_ERR_STORE "STORE"
#define ORCHARD_DEP_ERR_STOPPED "STOPPED"

/**
 * One sync run. *run gets its counts, kind and, on failure, error_code
 * (Apple's code, or a status name such as NETWORK, or PROFILE_INVALID) and
 * error (a message for the admin); the dep_sync_runs row has the same.
 * Returns 0 (the run succeeded), or:
 *   ORCHARD_EBUSY      THROTTLED earlier and not yet over: nothing called,
 *                      no run row; *wait_until (unix s) says when;
 *   ORCHARD_EPROTO     Apple refused (run->error_code says how; THROTTLED
 *                      sets *wait_until) or the profile file is bad;
 *   ORCHARD_EIO        no answer from Apple, or the store failed;
 *   ORCHARD_ETIMEOUT   the job's deadline came between pages (what was
 *                      stored stays: the next run goes on from there).
 * Free *run with orchard_dep_run_clear. wait_until may be NULL.
 */
int orchard_dep_sync_run(orchard_ctx *ctx, const orchard_dep_sync_opts *opts,
                         orchard_dep_run *run, gint64 *wait_until);

#endif
