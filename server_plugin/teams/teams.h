/* Teams (Fleet's teams): a host belongs to one team or to none (team 0,
 * "No team"), and its team decides its profiles and its macOS update
 * setting. The API (teams_api.c: /teams, /hosts/transfer), `orchard team
 * create|list` (team_cmd.c) and `orchard apply` share these calls. */
#ifndef ORCHARD_SERVER_TEAMS_H
#define ORCHARD_SERVER_TEAMS_H

#include <orchard/plugin.h>

#include <glib.h>
#include <stddef.h>

/** The longest team name taken (characters). */
#define ORCHARD_TEAM_NAME_MAX 255

typedef struct orchard_team {
    gint64 id;
    char *name;
    char *description;
    char *minimum_version; /* macOS updates; NULL when off */
    char *deadline;
    gint64 host_count;
    gint64 created_at;
} orchard_team;

void orchard_team_free(orchard_team *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(orchard_team, orchard_team_free)

/**
 * Create a team; record the activity ("created_team") as `actor`. Returns
 * 0 and *id; ORCHARD_EINVAL (empty, too long or control characters, with
 * *reason), ORCHARD_EEXIST (the name is taken).
 */
int orchard_teams_create(orchard_ctx *ctx, const char *name, const char *description,
                         const char *actor, gint64 *id, char **reason);

/** A team by id (0 and *out) or ORCHARD_ENOTFOUND. */
int orchard_teams_get(gint64 id, orchard_team **out);
/** A team's id by name: 0 and *id, or ORCHARD_ENOTFOUND. */
int orchard_teams_find(const char *name, gint64 *id);
/** Every team ordered by name (orchard_team *, free func set). */
int orchard_teams_list(GPtrArray **out);

/**
 * Move hosts (by UDID) to `team_id` (0: no team) in one write transaction
 * with the desired-state marker, and record "transferred_hosts". Returns 0;
 * ORCHARD_ENOTFOUND (no such team, or *bad_udid (g_free) names an unknown
 * host; nothing moved).
 */
int orchard_teams_transfer(orchard_ctx *ctx, gint64 team_id, const char *const *udids, size_t n,
                           const char *actor, char **bad_udid);

/**
 * Why `name` cannot be a team's name ("name may not be empty", too long,
 * control characters, not UTF-8), or NULL when it can. Static text.
 */
const char *orchard_team_name_problem(const char *name);

/**
 * Rename a team and/or change its description (NULL: unchanged); a change
 * records "edited_team" (team_id, team_name, previous_name when renamed,
 * description when changed). Returns 0, ORCHARD_EINVAL (*reason), ORCHARD_EEXIST
 * (the name is another team's), ORCHARD_ENOTFOUND.
 */
int orchard_teams_update(orchard_ctx *ctx, gint64 id, const char *name, const char *description,
                         const char *actor, char **reason);

/**
 * Delete a team: its hosts go to no team, its profiles and macOS update
 * setting go with it (one write transaction, desired state marked); records
 * "deleted_team". Returns 0 or ORCHARD_ENOTFOUND.
 */
int orchard_teams_delete(orchard_ctx *ctx, gint64 id, const char *actor);

#endif
