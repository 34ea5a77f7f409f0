/* The profile reconciler's suites (reconcile_test.c, profile_reports_test.c):
 * a fresh migrated store per test (SQLite, or PostgreSQL under
 * ORCHARD_TEST_STORE=postgres), teams, profiles and hosts inserted
 * directly, passes and device reports called in-process, and reads of
 * what they left in the store. */
#ifndef ORCHARD_TEST_RECONCILE_FIXTURE_H
#define ORCHARD_TEST_RECONCILE_FIXTURE_H

#include "server_plugin/profiles/reconcile.h"

#include <glib.h>
#include <plist/plist.h>

/* A fixed clock for the tests (seconds): passes and reports take it. */
#define RFX_T0 ((gint64)1750000000)

/** Open a fresh store and migrate it (CUnit FATAL on failure). */
void rfx_open(void);
void rfx_close(void);

/** Run one statement (text parameters, NULL-terminated after sql); FATAL on failure. */
void rfx_sql(const char *sql, ...) G_GNUC_NULL_TERMINATED;

/** The first column of the first row as an integer; -1 when no row. Text parameters. */
gint64 rfx_int(const char *sql, ...) G_GNUC_NULL_TERMINATED;
/** ... as text (g_free); NULL when no row or NULL. */
char *rfx_text(const char *sql, ...) G_GNUC_NULL_TERMINATED;

void rfx_team(gint64 id, const char *name);
/** An enrolled (enabled) host, or a disabled one; os_version may be NULL. */
void rfx_host(const char *udid, gint64 team_id, const char *os_version, int enabled);

/** A profile's .mobileconfig text for identifier/name/payload_uuid (+ `extra` in its content). g_free. */
char *rfx_mobileconfig(const char *identifier, const char *name, const char *payload_uuid,
                       const char *extra);
/** Insert a profile with that content (kind "custom" or "nudge"); its checksum is the hex SHA-256. */
void rfx_profile(gint64 id, gint64 team_id, const char *kind, const char *identifier,
                 const char *name, const char *payload_uuid, const char *applies_below);
/** Replace a profile's content (a new PayloadUUID): a new checksum. */
void rfx_profile_edit(gint64 id, const char *new_payload_uuid);

/** A full pass at `now` (seconds); asserts it returned 0. */
orchard_rc_stats rfx_pass(gint64 now);

/** A field of a host's row ("status", "operation", "command_uuid", "detail",
 * "retries" as text...); NULL when there is no row. g_free. */
char *rfx_row(const char *udid, const char *identifier, const char *field);
/** Rows of mdm_command_queue for a host whose command has `request_type`. */
gint64 rfx_queued(const char *udid, const char *request_type);
/** mdm_commands rows of `request_type`. */
gint64 rfx_commands(const char *request_type);

/** A report plist {UDID, CommandUUID, Status} plus `extra` (taken; may be NULL) merged in. */
plist_t rfx_report_plist(const char *udid, const char *uuid, const char *status, plist_t extra);
/** orchard_profiles_report with that plist at `now`; returns its code. */
int rfx_report(const char *udid, const char *uuid, const char *status, plist_t extra, gint64 now);
/** ErrorChain [{ErrorCode, ErrorDomain, LocalizedDescription}] as a dict to merge. */
plist_t rfx_error_chain(gint64 code, const char *domain, const char *description);
/** {ProfileList: [{PayloadIdentifier, PayloadUUID}...]} from pairs, NULL-terminated. */
plist_t rfx_profile_list(const char *identifier, ...) G_GNUC_NULL_TERMINATED;

#endif
