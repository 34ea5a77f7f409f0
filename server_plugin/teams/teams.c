/* Teams (teams.h): the checks and activities around store_teams.c, shared
 * by the API (teams_api.c), `orchard team` (team_cmd.c) and `orchard
 * apply`. After a change that moves what hosts should have, the profile
 * reconciler is asked for a pass at once (the store's marker would start
 * one anyway; asking saves the wait for its next look). */
#include "server_plugin/teams/teams.h"

#include "server_plugin/profiles/profiles.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_teams.h"
#include "server_plugin/users/activity.h"

#include <jansson.h>
#include <string.h>

static gint64 now_s(void) { return g_get_real_time() / G_USEC_PER_SEC; }

static void reconcile_soon(orchard_ctx *ctx)
{
    if (ctx)
        orchard_server_host->job_queue(ctx, ORCHARD_PROFILES_JOB);
}

const char *orchard_team_name_problem(const char *name)
{
    if (!name || !*name)
        return "name may not be empty";
    if (!g_utf8_validate(name, -1, NULL))
        return "name must be UTF-8 text";
    if (g_utf8_strlen(name, -1) > ORCHARD_TEAM_NAME_MAX)
        return "name may not be longer than 255 characters";
    int blank = 1;
    for (const char *p = name; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (g_unichar_iscntrl(c) || c == 0x2028 || c == 0x2029)
            return "name may not contain control characters";
        blank = blank && g_unichar_isspace(c);
    }
    return blank ? "name may not be empty" : NULL;
}

int orchard_teams_create(orchard_ctx *ctx, const char *name, const char *description,
                         const char *actor, gint64 *id, char **reason)
{
    const char *why = orchard_team_name_problem(name);
    *reason = NULL;
    if (!why && description && !g_utf8_validate(description, -1, NULL))
        why = "description must be UTF-8 text";
    if (why) {
        *reason = g_strdup(why);
        return ORCHARD_EINVAL;
    }
    int rc = orchard_store_team_create(name, description, now_s(), id);
    if (rc == ORCHARD_EEXIST)
        *reason = g_strdup_printf("A team with the name \"%s\" already exists", name);
    if (rc)
        return rc;
    orchard_activity_record(ctx, NULL, actor, "created_team",
                            json_pack("{s:I, s:s}", "team_id", (json_int_t)*id, "team_name",
                                      name));
    return 0;
}

int orchard_teams_get(gint64 id, orchard_team **out)
{
    *out = NULL;
    return id > 0 ? orchard_store_team_get(id, out) : ORCHARD_ENOTFOUND;
}

int orchard_teams_find(const char *name, gint64 *id)
{
    return name ? orchard_store_team_find(name, id) : ORCHARD_ENOTFOUND;
}

int orchard_teams_list(GPtrArray **out)
{
    return orchard_store_team_list(out);
}

int orchard_teams_update(orchard_ctx *ctx, gint64 id, const char *name, const char *description,
                         const char *actor, char **reason)
{
    g_autoptr(orchard_team) before = NULL;
    const char *why = name ? orchard_team_name_problem(name) : NULL;
    *reason = NULL;
    if (!why && description && !g_utf8_validate(description, -1, NULL))
        why = "description must be UTF-8 text";
    if (why) {
        *reason = g_strdup(why);
        return ORCHARD_EINVAL;
    }
    int rc = orchard_teams_get(id, &before);
    if (rc == 0 && (name || description))
        rc = orchard_store_team_update(id, name, description, now_s());
    if (rc == ORCHARD_EEXIST)
        *reason = g_strdup_printf("A team with the name \"%s\" already exists", name);
    if (rc)
        return rc;
    int renamed = name && strcmp(name, before->name) != 0;
    int described = description && strcmp(description, before->description) != 0;
    if (!renamed && !described)
        return 0;
    json_t *details = json_pack("{s:I, s:s}", "team_id", (json_int_t)id, "team_name",
                                renamed ? name : before->name);
    if (renamed)
        json_object_set_new(details, "previous_name", json_string(before->name));
    if (described)
        json_object_set_new(details, "description", json_string(description));
    orchard_activity_record(ctx, NULL, actor, "edited_team", details);
    return 0;
}

int orchard_teams_delete(orchard_ctx *ctx, gint64 id, const char *actor)
{
    g_autoptr(orchard_team) t = NULL;
    int rc = orchard_teams_get(id, &t);
    if (rc == 0)
        rc = orchard_store_team_delete(id);
    if (rc)
        return rc;
    orchard_activity_record(ctx, NULL, actor, "deleted_team",
                            json_pack("{s:I, s:s}", "team_id", (json_int_t)id, "team_name",
                                      t->name));
    reconcile_soon(ctx);
    return 0;
}

int orchard_teams_transfer(orchard_ctx *ctx, gint64 team_id, const char *const *udids, size_t n,
                           const char *actor, char **bad_udid)
{
    g_autoptr(orchard_team) t = NULL;
    *bad_udid = NULL;
    if (team_id < 0)
        return ORCHARD_ENOTFOUND;
    int rc = team_id ? orchard_teams_get(team_id, &t) : 0;
    if (rc == 0)
        rc = orchard_store_team_transfer(team_id, udids, n, bad_udid);
    if (rc)
        return rc;
    json_t *hosts = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(hosts, json_string(udids[i]));
    orchard_activity_record(ctx, NULL, actor, "transferred_hosts",
                            json_pack("{s:o, s:s?, s:o}", "team_id",
                                      team_id ? json_integer(team_id) : json_null(),
                                      "team_name", t ? t->name : NULL, "host_udids", hosts));
    reconcile_soon(ctx);
    return 0;
}
