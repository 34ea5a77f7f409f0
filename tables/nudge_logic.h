/* Nudge's rules, as pure functions the nudge table and its tests share:
 * version comparison, deadlines, which requirement applies to this Mac,
 * which phase (and so which refresh cycle) is in force, and whether the
 * window can be dismissed. Facts from Nudge's behaviour (docs/protocols.md §3). */
#ifndef ORCHARD_NUDGE_LOGIC_H
#define ORCHARD_NUDGE_LOGIC_H

#include <glib.h>
#include <jansson.h>

/* Nudge's defaults (userExperience). */
#define NUDGE_DEFAULT_INITIAL_REFRESH 18000
#define NUDGE_DEFAULT_APPROACHING_REFRESH 6000
#define NUDGE_DEFAULT_IMMINENT_REFRESH 600
#define NUDGE_DEFAULT_ELAPSED_REFRESH 300
#define NUDGE_DEFAULT_APPROACHING_WINDOW 72 /* hours */
#define NUDGE_DEFAULT_IMMINENT_WINDOW 24    /* hours */
#define NUDGE_DEFAULT_ALLOWED_DEFERRALS 1000000

/**
 * Compare macOS versions numerically per component ("13.4" < "13.4.1",
 * "11.6" == "11.6.0", "14" == "14.0"); anything after the numbers (a Rapid
 * Security Response's " (a)") is ignored. Returns 0 and *cmp (<0, 0, >0), or
 * -1 when either is not a version (empty, no leading number, "13..4",
 * a component over 6 digits).
 */
int nudge_version_compare(const char *a, const char *b, int *cmp);

/**
 * Parse a requiredInstallationDate: ISO 8601 with a zone ("...Z", "+02:00")
 * is absolute; without one it is local time in `local` (NULL: the process's
 * zone), as Nudge reads it. Returns 0 and *unix_out, or -1 for another format.
 */
int nudge_parse_date(const char *s, GTimeZone *local, gint64 *unix_out);

/**
 * The osVersionRequirements entry that applies to a Mac running `os_version`
 * (no RSR suffix needed): an entry whose targetedOSVersionsRule equals the
 * version beats one equal to its major version, which beats "default" or no
 * rule. Returns the entry (borrowed from `reqs`) or NULL.
 */
json_t *nudge_pick_requirement(json_t *reqs, const char *os_version);

typedef enum {
    NUDGE_PHASE_INITIAL,
    NUDGE_PHASE_APPROACHING,
    NUDGE_PHASE_IMMINENT,
    NUDGE_PHASE_ELAPSED
} nudge_phase;

/** The phase for `seconds_remaining` with window times in hours. */
nudge_phase nudge_phase_for(gint64 seconds_remaining, gint64 approaching_h, gint64 imminent_h);

/** "initial", "approaching", "imminent", "elapsed". */
const char *nudge_phase_name(nudge_phase p);

/** Calendar days from the start of `now`'s day to the start of the deadline's day in `tz`. */
gint64 nudge_days_remaining(gint64 now, gint64 deadline, GTimeZone *tz);

/** 0 once the deadline has passed or the user deferred more than allowed, else 1. */
int nudge_dismissible(gint64 seconds_remaining, gint64 user_deferrals, gint64 allowed_deferrals);

#endif
