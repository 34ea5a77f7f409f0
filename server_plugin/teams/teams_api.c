/* The teams API (Fleet's shapes, docs/api.md): POST/GET/PATCH/DELETE
 * /teams[/{id}] and POST /hosts/transfer. One route per method, each
 * dispatching on the path after /api/.../fleet; the work is teams.c's and,
 * for a team's macOS update setting, updates/macos_updates.c's. */
#include "server_plugin/api/api.h"
#include "server_plugin/server.h"
#include "server_plugin/teams/teams.h"
#include "server_plugin/updates/updates.h"

#include <string.h>

/* A UDID is at most this long in an answer (a hostile body could name a
 * megabyte-long "host"). */
#define HOST_REF_MAX 128

static int store_error(orchard_http_response *resp, int rc)
{
    if (rc == ORCHARD_EBUSY)
        return orchard_api_error(resp, 503, NULL, "the store is busy; try again");
    return orchard_api_error(resp, 500, NULL, "the store failed: %s",
                             orchard_server_host->strerror(rc));
}

/* Fleet answers a refused field with 422 ("Validation Failed" cases). */
static int invalid(orchard_http_response *resp, const char *field, const char *reason)
{
    return orchard_api_error(resp, 422, field, "%s", reason);
}

static json_t *team_json(const orchard_team *t)
{
    g_autofree char *created = orchard_api_time(t->created_at);
    return json_pack("{s:I, s:s, s:s, s:I, s:s, s:{s:o}}", "id", (json_int_t)t->id, "name",
                     t->name, "description", t->description ? t->description : "",
                     "host_count", (json_int_t)t->host_count, "created_at", created, "mdm",
                     "macos_updates",
                     orchard_macos_updates_json(t->minimum_version, t->deadline));
}

static int reply_team(orchard_http_response *resp, int status, gint64 id)
{
    g_autoptr(orchard_team) t = NULL;
    int rc = orchard_teams_get(id, &t);
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_api_error(resp, 404, NULL, "no team has id %" G_GINT64_FORMAT, id);
    if (rc)
        return store_error(resp, rc);
    return orchard_api_reply(resp, status, json_pack("{s:o}", "team", team_json(t)));
}

/* The id of "/teams/{id}": 0 and *id (> 0), or ORCHARD_ENOTFOUND for
 * "/teams", ORCHARD_EINVAL (answered) for anything else. */
static int team_id_of(const orchard_http_request *req, orchard_http_response *resp, gint64 *id)
{
    const char *sub = orchard_api_subpath(req);
    guint64 v = 0;
    *id = 0;
    if (sub && strcmp(sub, "/teams") == 0)
        return ORCHARD_ENOTFOUND;
    const char *tail = sub && g_str_has_prefix(sub, "/teams/") ? sub + 7 : NULL;
    if (!tail || !*tail || strlen(tail) > 18 || strspn(tail, "0123456789") != strlen(tail) ||
        !g_ascii_string_to_unsigned(tail, 10, 1, G_MAXINT64, &v, NULL)) {
        orchard_api_error(resp, 404, NULL, "no such API path: %s (a team is /teams/{id}, id a "
                          "positive number)", orchard_server_host->http_path(req));
        return ORCHARD_EINVAL;
    }
    *id = (gint64)v;
    return 0;
}

/* An optional string member: 0 and *out (borrowed, NULL when absent or
 * null), or answered 400 and ORCHARD_EINVAL. */
static int opt_string(orchard_http_response *resp, json_t *body, const char *key,
                      const char **out)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        orchard_api_error(resp, 400, key, "%s must be a string", key);
        return ORCHARD_EINVAL;
    }
    *out = json_string_value(v);
    if (strlen(*out) != json_string_length(v)) {
        orchard_api_error(resp, 400, key, "%s may not contain NUL characters", key);
        return ORCHARD_EINVAL;
    }
    return 0;
}

static int teams_get(orchard_ctx *ctx, const orchard_http_request *req,
                     orchard_http_response *resp, void *payload)
{
    gint64 id;
    (void)ctx, (void)payload;
    int rc = team_id_of(req, resp, &id);
    if (rc == 0)
        return reply_team(resp, 200, id);
    if (rc != ORCHARD_ENOTFOUND)
        return 0;
    g_autoptr(GPtrArray) list = NULL;
    if ((rc = orchard_teams_list(&list)))
        return store_error(resp, rc);
    json_t *teams = json_array();
    for (guint i = 0; i < list->len; i++)
        json_array_append_new(teams, team_json(list->pdata[i]));
    return orchard_api_reply(resp, 200, json_pack("{s:o}", "teams", teams));
}

static int create_team(orchard_ctx *ctx, const orchard_http_request *req,
                       orchard_http_response *resp, json_t *body)
{
    g_autofree char *reason = NULL;
    const char *name, *description;
    gint64 id = 0;
    if (opt_string(resp, body, "name", &name) ||
        opt_string(resp, body, "description", &description))
        return 0;
    int rc = orchard_teams_create(ctx, name, description, orchard_api_actor(req, NULL), &id,
                                  &reason);
    if (rc == ORCHARD_EINVAL)
        return invalid(resp, strstr(reason, "description") == reason ? "description" : "name",
                       reason);
    if (rc == ORCHARD_EEXIST)
        return orchard_api_error(resp, 409, "name", "%s", reason);
    if (rc)
        return store_error(resp, rc);
    return reply_team(resp, 200, id);
}

static int teams_post(orchard_ctx *ctx, const orchard_http_request *req,
                      orchard_http_response *resp, void *payload)
{
    json_t *body = NULL;
    (void)payload;
    const char *sub = orchard_api_subpath(req);
    if (!sub || strcmp(sub, "/teams") != 0)
        return orchard_api_error(resp, 404, NULL, "no such API path: %s",
                                 orchard_server_host->http_path(req));
    if (orchard_api_read_json(req, resp, &body))
        return 0;
    int rc = create_team(ctx, req, resp, body);
    json_decref(body);
    return rc;
}

/* The "mdm"."macos_updates" member of a PATCH body: 0 and *out (borrowed,
 * NULL when absent), or answered 400. */
static int macos_updates_member(orchard_http_response *resp, json_t *body, json_t **out)
{
    json_t *mdm = json_object_get(body, "mdm");
    *out = NULL;
    if (!mdm || json_is_null(mdm))
        return 0;
    if (!json_is_object(mdm))
        return orchard_api_error(resp, 400, "mdm", "mdm must be an object"), ORCHARD_EINVAL;
    json_t *mu = json_object_get(mdm, "macos_updates");
    if (mu && !json_is_null(mu) && !json_is_object(mu))
        return orchard_api_error(resp, 400, "mdm.macos_updates",
                                 "mdm.macos_updates must be an object"),
               ORCHARD_EINVAL;
    *out = json_is_object(mu) ? mu : NULL;
    return 0;
}

static int patch_team(orchard_ctx *ctx, const orchard_http_request *req,
                      orchard_http_response *resp, gint64 id, json_t *body)
{
    g_autofree char *reason = NULL, *min = NULL, *deadline = NULL;
    g_autoptr(orchard_team) t = NULL;
    const char *name, *description, *field = NULL;
    int role = ORCHARD_ROLE_NONE;
    const char *actor = orchard_api_actor(req, &role);
    json_t *mu = NULL;
    int rc;
    if (opt_string(resp, body, "name", &name) ||
        opt_string(resp, body, "description", &description) ||
        macos_updates_member(resp, body, &mu))
        return 0;
    /* The route lets maintainers in for the macOS update setting (as the
     * page does); the team itself stays the admins'. */
    if (role < ORCHARD_ROLE_ADMIN && (name || description))
        return orchard_server_host->http_error(resp, 403, "forbidden", name ? "name"
                                               : "description", "a maintainer may change a "
                                               "team's macOS update setting only; its name and "
                                               "description need the admin role"), 0;
    if ((rc = orchard_teams_get(id, &t)) == ORCHARD_ENOTFOUND)
        return orchard_api_error(resp, 404, NULL, "no team has id %" G_GINT64_FORMAT, id);
    if (rc)
        return store_error(resp, rc);
    /* Everything is checked before anything changes: the setting's check
     * is the one orchard_macos_updates_patch repeats when it saves. */
    const char *why = name ? orchard_team_name_problem(name) : NULL;
    if (why)
        return invalid(resp, "name", why);
    if (mu) {
        rc = orchard_macos_updates_from_json(id, mu, &min, &deadline, &field, &reason);
        if (rc == ORCHARD_EINVAL)
            return invalid(resp, field, reason);
        if (rc)
            return store_error(resp, rc);
    }
    g_clear_pointer(&reason, g_free);
    rc = orchard_teams_update(ctx, id, name, description, actor, &reason);
    if (rc == ORCHARD_EEXIST)
        return orchard_api_error(resp, 409, "name", "%s", reason);
    if (rc == ORCHARD_EINVAL)
        return invalid(resp, "description", reason);
    if (rc == 0 && mu) {
        g_clear_pointer(&reason, g_free);
        rc = orchard_macos_updates_patch(ctx, id, mu, actor, &field, &reason);
    }
    if (rc == ORCHARD_EINVAL)
        return invalid(resp, field, reason);
    if (rc == ORCHARD_EEXIST)
        return orchard_api_error(resp, 409, "mdm.macos_updates", "a custom profile of the team "
                                 "uses orchard's Nudge identifier %s; delete it first",
                                 ORCHARD_NUDGE_PROFILE_IDENTIFIER);
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_api_error(resp, 404, NULL, "no team has id %" G_GINT64_FORMAT, id);
    if (rc)
        return store_error(resp, rc);
    return reply_team(resp, 200, id);
}

static int teams_patch(orchard_ctx *ctx, const orchard_http_request *req,
                       orchard_http_response *resp, void *payload)
{
    json_t *body = NULL;
    gint64 id;
    (void)payload;
    int rc = team_id_of(req, resp, &id);
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_api_error(resp, 404, NULL, "PATCH needs a team: /teams/{id}");
    if (rc || orchard_api_read_json(req, resp, &body))
        return 0;
    rc = patch_team(ctx, req, resp, id, body);
    json_decref(body);
    return rc;
}

static int teams_delete(orchard_ctx *ctx, const orchard_http_request *req,
                        orchard_http_response *resp, void *payload)
{
    gint64 id;
    (void)payload;
    int rc = team_id_of(req, resp, &id);
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_api_error(resp, 404, NULL, "DELETE needs a team: /teams/{id}");
    if (rc)
        return 0;
    rc = orchard_teams_delete(ctx, id, orchard_api_actor(req, NULL));
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_api_error(resp, 404, NULL, "no team has id %" G_GINT64_FORMAT, id);
    if (rc)
        return store_error(resp, rc);
    return orchard_api_reply(resp, 200, json_object());
}

/* "hosts": a non-empty array of UDID strings. orchard names hosts by UDID;
 * Fleet's numeric host ids mean nothing here, and saying so beats "not
 * found". 0 and *udids (g_free the array only), or answered 400. */
static int host_list(orchard_http_response *resp, json_t *body, const char ***udids, size_t *n)
{
    json_t *hosts = json_object_get(body, "hosts"), *v;
    size_t i;
    *udids = NULL;
    *n = 0;
    if (!json_is_array(hosts) || json_array_size(hosts) == 0)
        return orchard_api_error(resp, 400, "hosts", "hosts must be a non-empty array of host "
                                 "UDIDs"), ORCHARD_EINVAL;
    json_array_foreach(hosts, i, v) {
        if (json_is_integer(v) || json_is_real(v))
            return orchard_api_error(resp, 400, "hosts", "hosts[%zu] is a number: orchard names "
                                     "hosts by UDID (the hardware UUID), not by a numeric id", i),
                   ORCHARD_EINVAL;
        const char *s = json_string_value(v);
        if (!s || !*s || strlen(s) != json_string_length(v) || strlen(s) > HOST_REF_MAX ||
            !g_str_is_ascii(s) || strpbrk(s, "\r\n\t"))
            return orchard_api_error(resp, 400, "hosts", "hosts[%zu] is not a host UDID (a "
                                     "string of at most %d ASCII characters)", i, HOST_REF_MAX),
                   ORCHARD_EINVAL;
    }
    *n = json_array_size(hosts);
    *udids = g_new0(const char *, *n);
    json_array_foreach(hosts, i, v)(*udids)[i] = json_string_value(v);
    return 0;
}

static int transfer(orchard_ctx *ctx, const orchard_http_request *req,
                    orchard_http_response *resp, json_t *body)
{
    g_autofree const char **udids = NULL;
    g_autofree char *bad = NULL;
    size_t n = 0;
    json_t *tid = json_object_get(body, "team_id");
    if (tid && !json_is_null(tid) && (!json_is_integer(tid) || json_integer_value(tid) < 0))
        return orchard_api_error(resp, 400, "team_id", "team_id must be a team's id, or null "
                                 "(or 0) for no team");
    gint64 team_id = json_is_integer(tid) ? json_integer_value(tid) : 0;
    if (host_list(resp, body, &udids, &n))
        return 0;
    int rc = orchard_teams_transfer(ctx, team_id, udids, n, orchard_api_actor(req, NULL), &bad);
    if (rc == ORCHARD_ENOTFOUND && bad)
        return orchard_api_error(resp, 404, "hosts", "no host has UDID %s; no host was moved",
                                 bad);
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_api_error(resp, 404, "team_id", "no team has id %" G_GINT64_FORMAT,
                                 team_id);
    if (rc)
        return store_error(resp, rc);
    return orchard_api_reply(resp, 200, json_object());
}

static int hosts_transfer(orchard_ctx *ctx, const orchard_http_request *req,
                          orchard_http_response *resp, void *payload)
{
    json_t *body = NULL;
    (void)payload;
    const char *sub = orchard_api_subpath(req);
    if (!sub || strcmp(sub, "/hosts/transfer") != 0)
        return orchard_api_error(resp, 404, NULL, "no such API path: %s",
                                 orchard_server_host->http_path(req));
    if (orchard_api_read_json(req, resp, &body))
        return 0;
    int rc = transfer(ctx, req, resp, body);
    json_decref(body);
    return rc;
}

ORCHARD_API_ROUTES(orchard_route_teams_get, "GET", "/teams", teams_get, ORCHARD_GUARD_OBSERVER,
                   NULL);
ORCHARD_API_ROUTES(orchard_route_teams_post, "POST", "/teams", teams_post, ORCHARD_GUARD_ADMIN,
                   NULL);
/* Maintainers may PATCH a team's macOS update setting; patch_team refuses
 * them anything else. */
ORCHARD_API_ROUTES(orchard_route_teams_patch, "PATCH", "/teams", teams_patch,
                   ORCHARD_GUARD_MAINTAINER, NULL);
ORCHARD_API_ROUTES(orchard_route_teams_delete, "DELETE", "/teams", teams_delete,
                   ORCHARD_GUARD_ADMIN, NULL);
ORCHARD_API_ROUTES(orchard_route_hosts_transfer, "POST", "/hosts/transfer", hosts_transfer,
                   ORCHARD_GUARD_MAINTAINER, NULL);
