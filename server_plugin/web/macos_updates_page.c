/* /controls/macos-updates: a scope's macOS update setting (team 0 or a
 * team), saved through orchard_macos_updates_patch like PATCH /config and
 * PATCH /teams/{id}, with Nudge's schedule as a Mac's user will live it
 * (nudge_preview.c) and how many Macs of the scope are below the minimum. */
#include "server_plugin/server.h"
#include "server_plugin/store/store_updates.h"
#include "server_plugin/teams/teams.h"
#include "server_plugin/updates/updates.h"
#include "server_plugin/web/web_pages.h"

#include <string.h>

#define PAGE "macos_updates"
#define TITLE "macOS updates"

/* What a refused save shows again: the user's values and Fleet's words. */
typedef struct attempt {
    const char *minimum_version, *deadline;
    const char *field; /* "minimum_version" or "deadline" */
    const char *reason;
} attempt;

/* ?team= or the form's team: 0 and *id (empty or absent: 0, no team), or
 * ORCHARD_EINVAL for anything but a plain decimal number that fits. */
static int team_of(const char *s, gint64 *id)
{
    *id = 0;
    if (!s || !*s)
        return 0;
    return orchard_web_number(s, 18, id);
}

/* The picker's entries, "No team" first; *name gets the scope's name. */
static int teams_json(gint64 team_id, json_t **out, char **name)
{
    g_autoptr(GPtrArray) list = NULL;
    int rc = orchard_teams_list(&list);
    if (rc)
        return rc;
    json_t *teams = json_array();
    json_array_append_new(teams, json_pack("{s:I, s:s, s:b}", "id", (json_int_t)0, "name",
                                           "No team (the global setting)", "selected",
                                           team_id == 0));
    *name = team_id == 0 ? g_strdup("No team") : NULL;
    for (guint i = 0; i < list->len; i++) {
        const orchard_team *t = list->pdata[i];
        json_array_append_new(teams, json_pack("{s:I, s:s, s:b}", "id", (json_int_t)t->id,
                                               "name", t->name, "selected", t->id == team_id));
        if (t->id == team_id)
            *name = g_strdup(t->name);
    }
    *out = teams;
    return *name ? 0 : ORCHARD_ENOTFOUND;
}

/* The scope's enabled Macs: how many, how many below the minimum by
 * nudge_version_compare (the reconciler's test), how many of unknown OS. */
static int macs_json(gint64 team_id, const char *minimum_version, json_t **out)
{
    g_autoptr(GPtrArray) counts = NULL;
    gint64 total = 0, below = 0, unknown = 0;
    /* One row per OS version the team's Macs run: a few rows, whatever the
     * fleet's size. */
    int rc = orchard_store_team_os_counts(team_id, &counts);
    if (rc)
        return rc;
    for (guint i = 0; i < counts->len; i++) {
        const orchard_os_count *c = counts->pdata[i];
        int cmp = 0;
        total += c->hosts;
        if (!c->os_version || nudge_version_compare(c->os_version, c->os_version, &cmp) != 0)
            unknown += c->hosts;
        else if (minimum_version &&
                 nudge_version_compare(c->os_version, minimum_version, &cmp) == 0 && cmp < 0)
            below += c->hosts;
    }
    *out = json_pack("{s:I, s:I, s:I, s:I}", "total", (json_int_t)total, "below",
                     (json_int_t)below, "unknown", (json_int_t)unknown, "known",
                     (json_int_t)(total - unknown));
    return 0;
}

/* The form's values and messages: the user's on a refused save, else the
 * stored setting. */
static json_t *form_json(const char *min, const char *deadline, const attempt *a)
{
    json_t *form = json_pack("{s:s, s:s}", "minimum_version",
                             a ? a->minimum_version : min ? min : "", "deadline",
                             a ? a->deadline : deadline ? deadline : "");
    if (a && a->field) {
        g_autofree char *key = g_strconcat(a->field, "_error", NULL);
        json_object_set_new(form, key, json_string(a->reason));
    }
    return form;
}

static char *today_utc(void)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    return g_date_time_format(now, "%Y-%m-%d");
}

static int show(orchard_ctx *ctx, orchard_http_response *resp, const orchard_web_visit *v,
                int status, gint64 team_id, const attempt *a, int saved)
{
    g_autofree char *min = NULL, *deadline = NULL, *name = NULL, *today = today_utc();
    json_t *teams = NULL, *macs = NULL;
    int rc = teams_json(team_id, &teams, &name);
    if (rc == ORCHARD_ENOTFOUND) {
        json_decref(teams);
        return orchard_web_error(ctx, resp, v, 404, "There is no team with the number %"
                                 G_GINT64_FORMAT ". Pick one from the list on the macOS updates "
                                 "page.", team_id);
    }
    if (rc == 0)
        rc = orchard_macos_updates_get(team_id, &min, &deadline);
    if (rc == 0)
        rc = macs_json(team_id, min, &macs);
    if (rc) {
        json_decref(teams);
        return orchard_web_error(ctx, resp, v, 503, "The store could not be read (%s); try "
                                 "again in a moment.", orchard_server_host->strerror(rc));
    }
    int can_edit = v->role >= ORCHARD_ROLE_MAINTAINER;
    json_t *data = json_pack("{s:I, s:s, s:b, s:o, s:b, s:b, s:b, s:o, s:b, s:o, s:o}",
                             "team_id", (json_int_t)team_id, "scope", name, "global",
                             team_id == 0, "teams", teams, "can_edit", can_edit, "saved", saved,
                             "invalid", a != NULL, "setting",
                             orchard_macos_updates_json(min, deadline), "on", min != NULL,
                             "form", form_json(min, deadline, a), "macs", macs);
    json_t *preview = min ? orchard_nudge_preview_json(min, deadline, today) : NULL;
    if (preview)
        json_object_set_new(data, "preview", preview);
    return orchard_web_respond(ctx, resp, v, status, PAGE, TITLE, data);
}

static int bad_team(orchard_ctx *ctx, orchard_http_response *resp, const orchard_web_visit *v)
{
    return orchard_web_error(ctx, resp, v, 400, "The team must be a team's number (0 for the "
                             "global setting), as the macOS updates page's list gives it.");
}

static int page_get(orchard_ctx *ctx, const orchard_http_request *req,
                    orchard_http_response *resp, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    orchard_web_visit v;
    gint64 team_id;
    (void)payload;
    if (orchard_web_begin(ctx, req, resp, ORCHARD_ROLE_OBSERVER, &v))
        return 0;
    if (strcmp(h->http_path(req), "/controls/macos-updates") != 0)
        return orchard_web_error(ctx, resp, &v, 404, "There is no such page.");
    if (team_of(h->http_query(req, "team"), &team_id))
        return bad_team(ctx, resp, &v);
    return show(ctx, resp, &v, 200, team_id, NULL, h->http_query(req, "saved") != NULL);
}

/* Save the form through the API's path; answer the redirect, the form
 * again with Fleet's message (422), or the error page. */
static int save(orchard_ctx *ctx, orchard_http_response *resp, const orchard_web_visit *v,
                gint64 team_id, const char *min, const char *deadline)
{
    g_autofree char *reason = NULL;
    const char *field = NULL;
    json_t *mu = json_pack("{s:s, s:s}", "minimum_version", min, "deadline", deadline);
    if (!mu)
        return ORCHARD_ENOMEM;
    int rc = orchard_macos_updates_patch(ctx, team_id, mu, v->email, &field, &reason);
    json_decref(mu);
    if (rc == ORCHARD_EINVAL) {
        /* The API names "macos_updates.deadline"; the form's field is "deadline". */
        const char *dot = field ? strrchr(field, '.') : NULL;
        attempt a = {.minimum_version = min, .deadline = deadline,
                     .field = dot ? dot + 1 : field, .reason = reason};
        return show(ctx, resp, v, 422, team_id, &a, 0);
    }
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_web_error(ctx, resp, v, 404, "There is no team with the number %"
                                 G_GINT64_FORMAT "; it may have been deleted.", team_id);
    if (rc == ORCHARD_EEXIST)
        return orchard_web_error(ctx, resp, v, 409, "A custom profile of this team uses "
                                 "orchard's Nudge identifier %s; delete it first.",
                                 ORCHARD_NUDGE_PROFILE_IDENTIFIER);
    if (rc)
        return orchard_web_error(ctx, resp, v, 503, "The setting could not be saved (%s); "
                                 "nothing changed. Try again in a moment.",
                                 orchard_server_host->strerror(rc));
    g_autofree char *back = g_strdup_printf("/controls/macos-updates?team=%" G_GINT64_FORMAT
                                            "&saved=1", team_id);
    return orchard_web_redirect(resp, back);
}

static int page_post(orchard_ctx *ctx, const orchard_http_request *req,
                     orchard_http_response *resp, void *payload)
{
    g_autoptr(GHashTable) form = NULL;
    orchard_web_visit v;
    const char *why = NULL;
    gint64 team_id;
    (void)payload;
    /* Observers are refused here, with nothing read or saved. */
    if (orchard_web_begin(ctx, req, resp, ORCHARD_ROLE_MAINTAINER, &v))
        return 0;
    if (strcmp(orchard_server_host->http_path(req), "/controls/macos-updates") != 0)
        return orchard_web_error(ctx, resp, &v, 404, "There is no such page.");
    int rc = orchard_web_form(req, &form, &why);
    if (rc)
        return orchard_web_error(ctx, resp, &v, rc == ORCHARD_ETOOBIG ? 413 : 400,
                                 "The form was refused: %s. Nothing was saved.", why);
    const char *team = g_hash_table_lookup(form, "team");
    const char *min = g_hash_table_lookup(form, "minimum_version");
    const char *deadline = g_hash_table_lookup(form, "deadline");
    if (!team || !min || !deadline)
        return orchard_web_error(ctx, resp, &v, 400, "The form needs team, minimum_version "
                                 "and deadline (empty values turn macOS updates off). Nothing "
                                 "was saved.");
    if (team_of(team, &team_id))
        return bad_team(ctx, resp, &v);
    return save(ctx, resp, &v, team_id, min, deadline);
}

const orchard_route orchard_route_web_macos_updates_get = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "GET",
    .path_prefix = "/controls/macos-updates",
    .handle2 = page_get,
    .guard = ORCHARD_GUARD_NONE,
};

const orchard_route orchard_route_web_macos_updates_post = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "POST",
    .path_prefix = "/controls/macos-updates",
    .handle2 = page_post,
    .guard = ORCHARD_GUARD_NONE,
    .max_body = ORCHARD_WEB_FORM_MAX,
};
