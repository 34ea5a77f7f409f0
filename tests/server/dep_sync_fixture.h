/* The dep_sync suite's fixture (dep_sync_fixture.c): a fresh store per
 * case (rfx_open: SQLite, or PostgreSQL under ORCHARD_TEST_STORE=postgres)
 * beside the ABM simulator of dep_fixture, sync runs on a fixed clock, and
 * reads of what they left in dep_devices and server_state. */
#ifndef ORCHARD_TEST_DEP_SYNC_FIXTURE_H
#define ORCHARD_TEST_DEP_SYNC_FIXTURE_H

#include "server_plugin/dep/dep_sync.h"

#include <glib.h>
#include <jansson.h>

#define T0 ((gint64)1800000000)
#define SERVER_URL "https://mdm.example.com"
#define PAGE 100 /* SIM_DEVICES (250) is 3 pages */

/** mdm.apple_dep_profile for the runs (NULL: the default profile). */
extern char *dsfx_profile_path;

/** A fresh migrated store and a reset simulator; the default profile. */
void dsfx_fresh(void);
void dsfx_done(void);

/** What the progress callback saw. */
typedef struct seen_progress {
    int calls;
    gint64 last_fetched;
    int monotonic;
} seen_progress;

/** One run at `now` (PAGE devices a page); sp (may be NULL) sees the progress. */
int dsfx_sync_at(orchard_dep_client *c, gint64 now, orchard_dep_run *run, gint64 *wait,
                 seen_progress *sp);
/** A run that must succeed (CUnit FATAL otherwise). */
void dsfx_sync_ok(orchard_dep_client *c, gint64 now, orchard_dep_run *run);

/** dep_devices rows not deleted. */
gint64 dsfx_live(void);
/** A server_state value (g_free), NULL when absent. */
char *dsfx_state(const char *key);
/** One column of a device's row as text (g_free), NULL when NULL or no row. */
char *dsfx_field(const char *serial, const char *col);
/** The serials of a control's answer under `key` (takes `answer`; g_strfreev). */
char **dsfx_serials_of(json_t *answer, const char *key);
/** The first stored serial in order (g_free). */
char *dsfx_first_serial(void);

/** A page record: serial, op_type and op_date (unix s), model; profile_status "empty". */
orchard_dep_record dsfx_rec(const char *serial, const char *op, gint64 when, const char *model);
/** Store records as one page (cursor "c1", phase sync) without a run row. */
int dsfx_apply(const orchard_dep_record *r, size_t n, orchard_dep_run *run, gint64 *skipped);

/** Write `text` as the profile file (dsfx_profile_path, made when NULL). */
void dsfx_write_profile(const char *text);
/** orchard_dep_profile_build on `text` (NULL: the file as it is): its code;
 * on failure the message must name the file and contain `want`. */
int dsfx_build(const char *text, const char *want);

#endif
