/* Automatic enrollment on the store: the devices Apple Business Manager
 * assigned to this MDM server (dep_devices), the sync runs (dep_sync_runs)
 * and the sync's own state (server_state keys "dep.*"). Written by the sync
 * (store_dep.c), read by the DEP enrollment URL (store_dep_enroll.c) and by
 * the views: `get mdm-apple-bm`, GET /mdm/apple_bm and the tables
 * (store_dep_view.c). Functions return 0 or a negative ORCHARD_E* code and
 * own nothing they are given. */
#ifndef ORCHARD_SERVER_STORE_DEP_H
#define ORCHARD_SERVER_STORE_DEP_H

#include <glib.h>
#include <jansson.h>

/* server_state keys (values are text) */
#define ORCHARD_DEP_KEY_CURSOR "dep.cursor"           /* Apple's cursor; absent: fetch from the start */
#define ORCHARD_DEP_KEY_CURSOR_AT "dep.cursor_at"     /* unix s: when that fetch or sync began */
#define ORCHARD_DEP_KEY_PHASE "dep.phase"             /* "fetch" until EXHAUSTED_CURSOR, then "sync" */
#define ORCHARD_DEP_KEY_PROFILE_UUID "dep.profile_uuid" /* the DEP profile Apple defined for us */
#define ORCHARD_DEP_KEY_PROFILE_SHA "dep.profile_sha256" /* of the JSON defined: changed, define again */
#define ORCHARD_DEP_KEY_ACCOUNT "dep.account"         /* Apple's GET /account object, as JSON text */
#define ORCHARD_DEP_KEY_ACCOUNT_AT "dep.account_at"   /* unix s of that answer */
#define ORCHARD_DEP_KEY_LAST_RUN "dep.last_run_at"    /* unix ms a run last started (any instance) */

/* ------------------------------------------------------------------------ */
/* The sync's side (store_dep.c) */

/** One run's counts, as dep_sync_runs keeps them. */
typedef struct orchard_dep_run {
    gint64 id;
    char *kind;           /* "fetch" | "sync" */
    gint64 started_at;    /* ms */
    gint64 finished_at;   /* ms; 0 while running or when the process died */
    gint64 pages, fetched, added, modified, deleted, assigned;
    gint64 cursor_age;    /* s; -1 when no cursor was in use */
    char *error_code;     /* NULL on success */
    char *error;          /* NULL on success */
} orchard_dep_run;

void orchard_dep_run_clear(orchard_dep_run *r);

/** Record a run's start: *id for orchard_store_dep_run_finish. */
int orchard_store_dep_run_begin(const char *kind, gint64 started_ms, gint64 cursor_age,
                                gint64 *id);
/** Record its end (counts from r; error_code/error NULL on success). */
int orchard_store_dep_run_finish(gint64 id, const orchard_dep_run *r, gint64 finished_ms);

/** A server_state value by key (keys above): 0 and *value (g_free) or ORCHARD_ENOTFOUND. */
int orchard_store_dep_state_get(const char *key, char **value);
/** Set (value NULL: delete) one key, in its own write transaction. */
int orchard_store_dep_state_set(const char *key, const char *value);

/* The page writer, the assignment queries and their results are declared by
 * the sync in the block below; their owner may add to it. */
/* --- sync: pages and assignment --- */
#define ORCHARD_DEP_KEY_NOT_BEFORE "dep.not_before"   /* unix s: THROTTLED, no call to Apple before */
#define ORCHARD_DEP_KEY_FETCH_AT "dep.fetch_started_at" /* unix s: the full fetch's first page */

/** One device of a page, as Apple sent it (strings borrowed; NULL when absent). */
typedef struct orchard_dep_record {
    const char *serial_number, *model, *description, *color, *os, *device_family;
    const char *profile_status, *profile_uuid, *device_assigned_date;
    const char *op_type;  /* added | modified | deleted; NULL (a fetch without one): added */
    const char *op_date;  /* RFC 3339 as Apple wrote it, or NULL */
    gint64 op_date_unix;  /* op_date in unix seconds; 0 when absent */
} orchard_dep_record;

/** One page to store, with where the next page starts. */
typedef struct orchard_dep_page {
    const orchard_dep_record *records; /* in Apple's order; applied in op_date order */
    size_t n;
    const char *cursor;   /* stored as ORCHARD_DEP_KEY_CURSOR */
    const char *phase;    /* stored as ORCHARD_DEP_KEY_PHASE ("fetch" | "sync") */
    gint64 cursor_at;     /* stored as ORCHARD_DEP_KEY_CURSOR_AT (unix s) */
    gint64 now;           /* unix s: created_at / updated_at */
    /* A full fetch lists every device Apple assigns this server: */
    int fetch_first;      /* its first page: store `now` as ORCHARD_DEP_KEY_FETCH_AT */
    int fetch;            /* one of its pages: rows of records already applied get
                           * updated_at = now too (they were seen) */
    gint64 sweep_before;  /* its last page (0: not): live rows not seen since this
                           * unix s (updated_at older) are marked deleted */
} orchard_dep_page;

/**
 * Store one page in ONE write transaction: every record upserted by serial
 * in op_date order (a record already applied -- same op_type and op_date as
 * the row's, or older than the row's op_date -- is skipped), the cursor,
 * phase and cursor_at, and run `run_id`'s counts (run->pages + 1 and the
 * page's fetched / added / modified / deleted added to *run, written to its
 * dep_sync_runs row), and, for a full fetch, what the fields below `now`
 * ask. Nothing of the page is kept when it fails, so a process killed at
 * any point resumes from the last stored cursor. *skipped (may be NULL)
 * gets the records skipped as already applied.
 */
int orchard_store_dep_page_apply(const orchard_dep_page *p, gint64 run_id, orchard_dep_run *run,
                                 gint64 *skipped);

/**
 * Up to `limit` serials that need `profile_uuid` assigned, after `after`
 * (NULL: from the start) in serial order: not deleted, and Apple shows no
 * profile or another one. A serial whose assignment succeeded shows ours;
 * one whose assignment failed comes back on the next run. *out (g_strfreev).
 */
int orchard_store_dep_assign_due(const char *profile_uuid, const char *after, gint64 limit,
                                 char ***out, gint64 *n);

/** One serial's assignment result. */
typedef struct orchard_dep_assign_result {
    const char *serial_number;
    const char *status;  /* Apple's: SUCCESS, NOT_ACCESSIBLE, FAILED, ... */
    const char *error;   /* NULL on SUCCESS */
} orchard_dep_assign_result;

/**
 * Record assignment results in one write transaction: assign_status,
 * assign_error, assign_attempts + 1; on SUCCESS also profile_uuid and
 * profile_assigned_at = now. Serials not in dep_devices are ignored.
 */
int orchard_store_dep_assign_record(const char *profile_uuid,
                                    const orchard_dep_assign_result *res, size_t n, gint64 now);

/** Delete dep_sync_runs rows started before `before_ms`. */
int orchard_store_dep_runs_prune(gint64 before_ms);

/* ------------------------------------------------------------------------ */
/* The DEP enrollment URL (store_dep_enroll.c) */

/**
 * A Mac in Setup Assistant asked for its enrollment profile: 0 when
 * `serial` is a device Apple assigned us (in dep_devices, not deleted), and
 * its enroll_served_at is set to `now`; ORCHARD_ENOTFOUND otherwise.
 */
int orchard_store_dep_enroll_served(const char *serial, gint64 now);

/**
 * A device authenticated (check-in): when its serial was served by the
 * DEP enrollment URL, mark the enrollment dep_enrolled = 1. *is_dep (may be
 * NULL) says whether it did. Called by the check-in with the device's UDID.
 */
int orchard_store_dep_mark_enrolled(const char *udid, const char *serial, int *is_dep);

/** How recent the DEP URL's answer must be for an Authenticate to count as
 * DEP (orchard_store_dep_mark_enrolled): the profile's one-time SCEP
 * challenge lives an hour by default, so a day is generous, and a manual
 * enrollment of the same Mac days later is not taken for DEP. */
#define ORCHARD_DEP_ENROLL_WINDOW_S (24 * 3600)

/**
 * The default team (mdm.apple_bm_default_team) for a DEP-enrolled host: move
 * `udid` to `team_id` only when it is in no team yet, with the desired-state
 * marker in the same transaction. *moved (may be NULL) says whether it was.
 * ORCHARD_ENOTFOUND when no enrollment has that UDID.
 */
int orchard_store_dep_default_team(const char *udid, gint64 team_id, int *moved);

/* ------------------------------------------------------------------------ */
/* The views (store_dep_view.c) */

/** What admins see of the DEP side. */
typedef struct orchard_dep_overview {
    json_t *account;       /* Apple's /account object as last fetched, or NULL */
    gint64 account_at;     /* unix s, 0 when never */
    orchard_dep_run last;  /* the last finished run (id 0: none) */
    gint64 last_success_at; /* ms of the last run without an error, 0 when none */
    gint64 devices;        /* in dep_devices, not deleted */
    gint64 assigned;       /* of those, with orchard's profile assigned */
    gint64 enrolled;       /* hosts enrolled through DEP */
} orchard_dep_overview;

void orchard_dep_overview_clear(orchard_dep_overview *s);
int orchard_store_dep_overview(orchard_dep_overview *s);

/** One dep_devices row, for the dep_devices table. */
typedef struct orchard_dep_device {
    char *serial_number, *model, *description, *color, *os, *device_family;
    char *profile_status, *profile_uuid, *op_type, *op_date;
    char *assign_status, *assign_error;
    gint64 profile_assigned_at; /* unix s, 0 when never */
    int deleted;
    int enrolled;               /* an enrollment with this serial has dep_enrolled */
} orchard_dep_device;

/** Every device (serial NULL) or one: *out of orchard_dep_device* (frees them). */
int orchard_store_dep_device_list(const char *serial, GPtrArray **out);
/** The last `limit` runs, newest first: *out of orchard_dep_run* (frees them). */
int orchard_store_dep_run_list(gint64 limit, GPtrArray **out);

#endif
