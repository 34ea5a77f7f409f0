/* Inside the profile reconciler (server_plugin/profiles/): the plan a pass
 * makes from the store's snapshot (reconcile_plan.c), the pass that writes
 * it (reconcile.c), and the command plists both the pass and the reports
 * (profile_reports.c) queue (profile_commands.c). docs/profiles.md,
 * "Delivery". */
#ifndef ORCHARD_SERVER_RECONCILE_H
#define ORCHARD_SERVER_RECONCILE_H

#include "server_plugin/store/store_host_profiles.h"

#include <orchard/plugin.h>

#include <glib.h>

/* CommandUUID kinds after ORCHARD_PROFILES_UUID_PREFIX: a report names its
 * command's kind without a store read. */
#define ORCHARD_PROFILES_INSTALL_TAG "I-"
#define ORCHARD_PROFILES_REMOVE_TAG "R-"
#define ORCHARD_PROFILES_LIST_TAG "L-"

/** A ProfileList answer older than this is asked again (seconds), and an
 * unanswered one stops counting as outstanding. */
#define ORCHARD_PROFILES_LIST_MAX_AGE (24 * 3600)

/** The longest failure detail kept (bytes). */
#define ORCHARD_PROFILES_DETAIL_MAX 2048

/* ---- command plists (profile_commands.c) */

/** A fresh CommandUUID: the prefix, `tag`, an upper-case UUID (g_free). */
char *orchard_profiles_command_uuid(const char *tag);
/** The XML plist of InstallProfile carrying `content` as its Payload (g_bytes_unref). */
GBytes *orchard_profiles_install_plist(const char *uuid, GBytes *content);
/** RemoveProfile {Identifier}. */
GBytes *orchard_profiles_remove_plist(const char *uuid, const char *identifier);
/** ProfileList. */
GBytes *orchard_profiles_list_plist(const char *uuid);

/* ---- the plan (reconcile_plan.c) */

/** One InstallProfile command: a profile and the hosts that need it. */
typedef struct orchard_rc_install {
    const orchard_hp_profile *profile;
    GPtrArray *udids; /* const char *, borrowed from the snapshot */
} orchard_rc_install;

/** One RemoveProfile command: an identifier and the hosts to remove it from. */
typedef struct orchard_rc_remove {
    const char *identifier;
    GPtrArray *udids;
} orchard_rc_remove;

/** A host row changed without a command: deleted (profile NULL) or relinked. */
typedef struct orchard_rc_fix {
    const char *udid;
    const char *identifier;
    const orchard_hp_profile *profile;
} orchard_rc_fix;

typedef struct orchard_rc_plan {
    GPtrArray *installs;      /* orchard_rc_install *, in profile order */
    GPtrArray *removes;       /* orchard_rc_remove * */
    GArray *fixes;            /* orchard_rc_fix */
    GPtrArray *profile_lists; /* udids asked for ProfileList */
    GPtrArray *wake;          /* udids given any command, each once */
    size_t hosts;             /* enabled hosts seen */
    size_t n_installs;        /* host-profile installs (not commands) */
    size_t n_removes;
} orchard_rc_plan;

/**
 * Plan a pass: what each enabled host of `s` should have (its team's
 * profiles; one with applies_below only while the host's known OS version is
 * below it) against its rows. `now` (unix seconds) decides ProfileList.
 * Never fails; orchard_rc_plan_clear frees.
 */
void orchard_rc_plan_make(const orchard_hp_snapshot *s, gint64 now, orchard_rc_plan *out);
void orchard_rc_plan_clear(orchard_rc_plan *p);

/** Whether a profile applies to a host on `os_version` (NULL: unknown). */
int orchard_rc_applies(const orchard_hp_profile *p, const char *os_version);

/* ---- a pass (reconcile.c) */

typedef struct orchard_rc_stats {
    size_t hosts, installs, removes, lists, commands;
    double read_ms, plan_ms, write_ms, push_ms;
} orchard_rc_stats;

/**
 * One full pass at `now_us`: snapshot, plan, write (in transactions of a
 * bounded size), push the hosts given commands. *stats (may be NULL) gets
 * the counts and timings; *seen_version (may be NULL, g_free) the marker the
 * snapshot saw. Returns 0 or a store code (what was committed stays; the
 * next pass plans the rest).
 */
int orchard_profiles_reconcile_pass(orchard_ctx *ctx, gint64 now_us, orchard_rc_stats *stats,
                                    char **seen_version);

/** Ask for a full pass on the next run (the job's run; an event). */
void orchard_profiles_request_pass(orchard_ctx *ctx);

#endif
