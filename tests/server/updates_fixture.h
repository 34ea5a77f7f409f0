/* A fresh store for the teams and macOS updates suites (SQLite, or a fresh
 * PostgreSQL database under ORCHARD_TEST_STORE=postgres), with enrolled
 * hosts seeded and small readers of its rows. */
#ifndef ORCHARD_TEST_UPDATES_FIXTURE_H
#define ORCHARD_TEST_UPDATES_FIXTURE_H

#include <glib.h>

/** Open a new store and migrate it; 0, or -1 (a failed assertion too). */
int updfx_open(void);
void updfx_close(void);

/** An enrolled (enabled = 1 unless enable is 0) host on `os_version` (may be NULL):
 * 0, or the store's code (said on stderr; no assertion, so suite inits can seed). */
int updfx_host(const char *udid, const char *os_version, int enable);

/** TokenUpdate for a host seeded disabled. */
int updfx_enable(const char *udid);

/** The first column of the first row of `sql` with one text parameter (may be
 * NULL: none) as text (g_free), or NULL when no row or NULL. */
char *updfx_text(const char *sql, const char *param);

/** TokenUpdate for a host seeded disabled. */
int updfx_enable(const char *udid);

/** The first column of the first row as bytes (a BLOB), or NULL. */
GBytes *updfx_blob(const char *sql, const char *param);

/** count(*)-style integer of `sql` with one optional text parameter; -1 on failure. */
gint64 updfx_int(const char *sql, const char *param);

/** The desired-state marker's value (g_free). */
char *updfx_marker(void);

/** Activities of `type` recorded so far. */
gint64 updfx_activities(const char *type);

/** The details JSON of the newest activity of `type` (g_free), or NULL. */
char *updfx_activity_details(const char *type);

#endif
