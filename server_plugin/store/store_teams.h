/* Teams on the store (teams, and mdm_enrollments.team_id): the rows behind
 * server_plugin/teams/ (API, `orchard team`, `orchard apply`) and the teams
 * table. Every change to a host's team, and a team's deletion, marks the
 * desired state changed in its own transaction (the profile reconciler
 * follows). Implemented in store_teams.c; returns 0 or a negative code. */
#ifndef ORCHARD_SERVER_STORE_TEAMS_H
#define ORCHARD_SERVER_STORE_TEAMS_H

#include "server_plugin/teams/teams.h"

#include <glib.h>
#include <stddef.h>

/**
 * Insert a team. Names are unique without regard to ASCII case. Returns 0
 * and *id, or ORCHARD_EEXIST (the name is taken).
 */
int orchard_store_team_create(const char *name, const char *description, gint64 now,
                              gint64 *id);

/** One team with its host and profile counts and macOS update setting; ORCHARD_ENOTFOUND. */
int orchard_store_team_get(gint64 id, orchard_team **out);

/** A team's id by name (ASCII case ignored): ORCHARD_ENOTFOUND when none. */
int orchard_store_team_find(const char *name, gint64 *id);

/** Every team ordered by name (orchard_team *, free func set). */
int orchard_store_team_list(GPtrArray **out);

/** Custom profiles of a team (the teams table's profile_count). */
int orchard_store_team_profile_count(gint64 id, gint64 *count);

/**
 * Rename and/or describe a team (NULL leaves a field as it is). Returns 0,
 * ORCHARD_ENOTFOUND, or ORCHARD_EEXIST (the new name is another team's).
 */
int orchard_store_team_update(gint64 id, const char *name, const char *description, gint64 now);

/**
 * Delete a team in one write transaction with the desired-state marker: its
 * hosts go to no team, its profiles and its macOS update setting are
 * deleted. ORCHARD_ENOTFOUND when there is no such team.
 */
int orchard_store_team_delete(gint64 id);

/**
 * Move hosts (UDIDs) to team `team_id` (0: no team) in one write transaction
 * with the desired-state marker. ORCHARD_ENOTFOUND when the team does not
 * exist (*bad_udid NULL) or with *bad_udid (g_free) naming the first
 * unknown host; nothing is moved then.
 */
int orchard_store_team_transfer(gint64 team_id, const char *const *udids, size_t n,
                                char **bad_udid);

/** Every team's id and name only (orchard_team *, the other fields empty;
 * free func set), ordered by id: what a host's team name needs (added for
 * GET /hosts and the hosts page). */
int orchard_store_team_names(GPtrArray **out);

#endif
