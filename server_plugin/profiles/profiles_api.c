/* The configuration profiles part of the admin API (docs/profiles.md):
 * upload (multipart), batch set per team (JSON of base64 profiles), list,
 * one profile and its content, the per-team summary, delete. Fleet's paths
 * and shapes; the writes go through profiles_batch.c, the reads straight
 * to store_profiles.c. */
#include "server_plugin/profiles/profiles.h"

#include "server_plugin/api/api.h"
#include "server_plugin/api/multipart.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_profiles.h"
#include "server_plugin/teams/teams.h"

#include <stdlib.h>
#include <string.h>

/* What a multipart upload may add to the profile's bytes (boundaries, part
 * headers, the team_id field): the upload's body cap is the profile cap
 * plus this. */
#define UPLOAD_OVERHEAD (64 * 1024)
#define UPLOAD_MAX_BODY (ORCHARD_PROFILE_MAX_BYTES + UPLOAD_OVERHEAD)
/* The batch carries a team's every profile in base64 (4/3 of the bytes). */
#define BATCH_MAX_BODY ((size_t)16 * 1024 * 1024)
#define PREFIX "/mdm/apple/profiles"

/* ---- helpers */

static int store_error(orchard_http_response *resp, int rc, const char *what)
{
    if (rc == ORCHARD_EBUSY)
        return orchard_api_error(resp, 503, NULL, "the store is busy (%s); try again", what);
    return orchard_api_error(resp, 500, NULL, "the store failed (%s): %s", what,
                             orchard_server_host->strerror(rc));
}

/* A non-negative decimal id ("" and NULL are 0, no team). 0 or EINVAL. */
static int parse_id(const char *s, gint64 *out)
{
    guint64 v = 0;
    *out = 0;
    if (!s || !*s)
        return 0;
    if (strlen(s) > 18 || !g_ascii_string_to_unsigned(s, 10, 0, G_MAXINT64, &v, NULL))
        return ORCHARD_EINVAL;
    *out = (gint64)v;
    return 0;
}

/* A team from its text: 0 or answered (400 not a number, 404 no such team). */
static int team_of(orchard_http_response *resp, const char *text, gint64 *team_id)
{
    if (parse_id(text, team_id)) {
        orchard_api_error(resp, 400, "team_id", "team_id must be a team's numeric id (0 or "
                          "absent: hosts with no team)");
        return ORCHARD_EINVAL;
    }
    int rc = orchard_store_profile_team(*team_id, NULL);
    if (rc == ORCHARD_ENOTFOUND)
        orchard_api_error(resp, 404, "team_id", "there is no team with id %" G_GINT64_FORMAT,
                          *team_id);
    else if (rc)
        store_error(resp, rc, "reading the team");
    return rc ? ORCHARD_EINVAL : 0;
}

/* ?team_id=N or ?team_name=X (one of them; neither: no team). */
static int team_of_query(const orchard_http_request *req, orchard_http_response *resp,
                         gint64 *team_id)
{
    const char *id = orchard_server_host->http_query(req, "team_id");
    const char *name = orchard_server_host->http_query(req, "team_name");
    if (id && name) {
        orchard_api_error(resp, 400, "team_id", "give team_id or team_name, not both");
        return ORCHARD_EINVAL;
    }
    if (!name)
        return team_of(resp, id, team_id);
    int rc = orchard_teams_find(name, team_id);
    if (rc == ORCHARD_ENOTFOUND)
        orchard_api_error(resp, 404, "team_name", "there is no team named \"%s\"",
                          g_utf8_validate(name, -1, NULL) ? name : "(not UTF-8)");
    else if (rc)
        store_error(resp, rc, "reading the team");
    return rc ? ORCHARD_EINVAL : 0;
}

/* A validation or store refusal of a write: 400 (404 for a missing team). */
static int refuse(orchard_http_response *resp, int rc, const char *prefix, const char *reason)
{
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_api_error(resp, 404, "team_id", "%s%s", prefix, reason);
    if (rc == ORCHARD_EINVAL || rc == ORCHARD_EEXIST || rc == ORCHARD_ETOOBIG)
        return orchard_api_error(resp, 400, "profile", "%s%s", prefix, reason);
    if (rc == ORCHARD_EBUSY)
        return orchard_api_error(resp, 503, NULL, "%s%s", prefix, reason);
    return orchard_api_error(resp, 500, NULL, "%s%s", prefix, reason ? reason : "");
}

static json_t *profile_json(const orchard_profile *p)
{
    g_autofree char *created = orchard_api_time(p->created_at);
    g_autofree char *updated = orchard_api_time(p->updated_at);
    return json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s}", "profile_id", (json_int_t)p->id,
                     "team_id", (json_int_t)p->team_id, "name", p->name, "identifier",
                     p->identifier, "created_at", created, "updated_at", updated, "checksum",
                     p->checksum);
}

/* ---- POST /mdm/apple/profiles (multipart: profile, team_id) */

static int upload(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp)
{
    const orchard_host_api *h = orchard_server_host;
    size_t len = 0;
    const unsigned char *body = h->http_body(req, &len);
    orchard_multipart form;
    g_autofree char *reason = NULL, *team_text = NULL;
    gint64 team_id = 0, id = 0;

    if (len > UPLOAD_MAX_BODY)
        return orchard_api_error(resp, 413, NULL, "Couldn't upload. The request is %zu bytes; "
                                 "a profile may be at most 1 MiB.", len);
    if (orchard_multipart_parse(h->http_header(req, "Content-Type"), body, len, &form, &reason))
        return orchard_api_error(resp, 400, NULL, "Couldn't upload. The request should be a "
                                 "multipart/form-data upload with the file in the field "
                                 "\"profile\": %s.", reason);
    const orchard_multipart_part *file = orchard_multipart_get(&form, "profile");
    const orchard_multipart_part *team = orchard_multipart_get(&form, "team_id");
    int rc = 0;
    if (!file) {
        orchard_api_error(resp, 400, "profile", "Couldn't upload. The request has no "
                          "\"profile\" field: send the .mobileconfig file in it.");
        goto cleanup;
    }
    if (team) {
        team_text = g_strndup((const char *)team->data, team->len);
        if (strlen(team_text) != team->len)
            team_text[0] = 'x'; /* a NUL inside: not a number */
    } else {
        team_text = g_strdup(h->http_query(req, "team_id"));
    }
    if (team_of(resp, team_text ? g_strstrip(team_text) : NULL, &team_id))
        goto cleanup;
    rc = orchard_profiles_add(ctx, team_id, file->data, file->len, orchard_api_actor(req, NULL),
                              &id, &reason);
    if (rc) {
        refuse(resp, rc, "Couldn't upload. ", reason);
        rc = 0;
        goto cleanup;
    }
    h->ctx_log(ctx, ORCHARD_LOG_INFO, "profile %" G_GINT64_FORMAT " uploaded for team %"
               G_GINT64_FORMAT, id, team_id);
    rc = orchard_api_reply(resp, 200, json_pack("{s:I}", "profile_id", (json_int_t)id));
cleanup:
    orchard_multipart_clear(&form);
    return rc;
}

/* ---- POST /mdm/apple/profiles/batch?team_id=N {"profiles": [base64, ...]} */

static int batch(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp)
{
    const orchard_host_api *h = orchard_server_host;
    size_t len = 0, i;
    const unsigned char *body = h->http_body(req, &len);
    gint64 team_id = 0;
    json_error_t jerr;
    json_t *doc = NULL, *v;
    GPtrArray *list = NULL;
    g_autofree char *reason = NULL;
    int rc = 0;

    if (len > BATCH_MAX_BODY)
        return orchard_api_error(resp, 413, NULL, "the request is %zu bytes; the limit is %zu",
                                 len, BATCH_MAX_BODY);
    if (team_of_query(req, resp, &team_id))
        return 0;
    if (!body || len == 0)
        return orchard_api_error(resp, 400, NULL, "the request needs a JSON body: "
                                 "{\"profiles\": [base64 of each .mobileconfig]}");
    if (!(doc = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr)))
        return orchard_api_error(resp, 400, NULL, "bad JSON at line %d, column %d (byte %d): %s",
                                 jerr.line, jerr.column, jerr.position, jerr.text);
    json_t *profiles = json_object_get(doc, "profiles");
    if (!json_is_object(doc) || !json_is_array(profiles)) {
        orchard_api_error(resp, 400, "profiles", "profiles is required: an array with the "
                          "base64 of each .mobileconfig (empty: remove every profile)");
        goto cleanup;
    }
    list = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    json_array_foreach(profiles, i, v) {
        GBytes *b = json_is_string(v) ? orchard_api_base64(json_string_value(v),
                                                     json_string_length(v)) : NULL;
        if (!b) {
            orchard_api_error(resp, 400, "profiles", "profiles[%zu] is not a base64 string", i);
            goto cleanup;
        }
        g_ptr_array_add(list, b);
    }
    const char *dry = h->http_query(req, "dry_run");
    if (dry && strcmp(dry, "true") != 0 && strcmp(dry, "false") != 0) {
        orchard_api_error(resp, 400, "dry_run", "dry_run must be true or false");
        goto cleanup;
    }
    if (dry && strcmp(dry, "true") == 0)
        rc = orchard_profiles_batch_check(team_id, (GBytes *const *)list->pdata, list->len,
                                          &reason);
    else
        rc = orchard_profiles_batch_set(ctx, team_id, (GBytes *const *)list->pdata, list->len,
                                        orchard_api_actor(req, NULL), &reason);
    if (rc) {
        refuse(resp, rc, "Couldn't apply the profiles. ", reason);
        rc = 0;
        goto cleanup;
    }
    h->ctx_log(ctx, ORCHARD_LOG_INFO, "profiles of team %" G_GINT64_FORMAT " set (%u)", team_id,
               list->len);
    /* Fleet answers 204: returning without a response does. */
cleanup:
    if (list)
        g_ptr_array_unref(list);
    json_decref(doc);
    return rc;
}

static int post_profiles(orchard_ctx *ctx, const orchard_http_request *req,
                         orchard_http_response *resp, void *payload)
{
    const char *sub = orchard_api_subpath(req);
    (void)payload;
    if (sub && strcmp(sub, PREFIX) == 0)
        return upload(ctx, req, resp);
    if (sub && strcmp(sub, PREFIX "/batch") == 0)
        return batch(ctx, req, resp);
    return orchard_api_error(resp, 404, NULL, "no such API path: %s",
                             orchard_server_host->http_path(req));
}

/* ---- GET /mdm/apple/profiles[?team_id], /summary, /{id}[?alt=media] */

static int list_profiles(const orchard_http_request *req, orchard_http_response *resp)
{
    gint64 team_id = 0;
    g_autoptr(GPtrArray) list = NULL;
    if (team_of_query(req, resp, &team_id))
        return 0;
    int rc = orchard_store_profile_list(team_id, &list);
    if (rc)
        return store_error(resp, rc, "listing profiles");
    json_t *arr = json_array();
    for (guint i = 0; i < list->len; i++)
        json_array_append_new(arr, profile_json(list->pdata[i]));
    return orchard_api_reply(resp, 200, json_pack("{s:o}", "profiles", arr));
}

static int summary(const orchard_http_request *req, orchard_http_response *resp)
{
    gint64 team_id = 0;
    orchard_profiles_summary s;
    if (team_of_query(req, resp, &team_id))
        return 0;
    int rc = orchard_store_profiles_summary(team_id, &s);
    if (rc == ORCHARD_ENOTFOUND) /* the team went meanwhile */
        return orchard_api_error(resp, 404, "team_id", "there is no team with id %"
                                 G_GINT64_FORMAT, team_id);
    if (rc)
        return store_error(resp, rc, "summarizing profiles");
    return orchard_api_reply(resp, 200,
                             json_pack("{s:I, s:I, s:I, s:I}", "verified",
                                       (json_int_t)s.verified, "verifying",
                                       (json_int_t)s.verifying, "pending", (json_int_t)s.pending,
                                       "failed", (json_int_t)s.failed));
}

/* The {id} of PREFIX "/{id}": 0 and *id, else answered 404. */
static int id_of_path(const char *sub, const orchard_http_request *req,
                      orchard_http_response *resp, gint64 *id)
{
    const char *s = sub ? sub + strlen(PREFIX) : NULL;
    if (!s || *s != '/' || parse_id(s + 1, id) || *id <= 0) {
        orchard_api_error(resp, 404, NULL, "no such API path: %s",
                          orchard_server_host->http_path(req));
        return ORCHARD_EINVAL;
    }
    return 0;
}

static int one_profile(const char *sub, const orchard_http_request *req,
                       orchard_http_response *resp)
{
    const orchard_host_api *h = orchard_server_host;
    g_autoptr(orchard_profile) p = NULL;
    gint64 id = 0;
    if (id_of_path(sub, req, resp, &id))
        return 0;
    int rc = orchard_store_profile_get(id, &p);
    if (rc == 0 && strcmp(p->kind, ORCHARD_PROFILE_KIND_CUSTOM) != 0)
        rc = ORCHARD_ENOTFOUND; /* orchard's own is not listed, so not shown either */
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_api_error(resp, 404, NULL, "there is no profile with id %" G_GINT64_FORMAT,
                                 id);
    if (rc)
        return store_error(resp, rc, "reading the profile");
    const char *alt = h->http_query(req, "alt");
    if (alt && strcmp(alt, "media") == 0) {
        gsize len = 0;
        const void *data = g_bytes_get_data(p->content, &len);
        g_autofree char *disp = g_strdup_printf("attachment;filename=\"%" G_GINT64_FORMAT
                                                ".mobileconfig\"", id);
        h->http_set_header(resp, "Content-Disposition", disp);
        h->http_respond(resp, 200, "application/x-apple-aspen-config", data, len);
        return 0;
    }
    return orchard_api_reply(resp, 200, profile_json(p));
}

static int get_profiles(orchard_ctx *ctx, const orchard_http_request *req,
                        orchard_http_response *resp, void *payload)
{
    const char *sub = orchard_api_subpath(req);
    (void)ctx;
    (void)payload;
    if (sub && strcmp(sub, PREFIX) == 0)
        return list_profiles(req, resp);
    if (sub && strcmp(sub, PREFIX "/summary") == 0)
        return summary(req, resp);
    return one_profile(sub, req, resp);
}

/* ---- DELETE /mdm/apple/profiles/{id} */

static int delete_profile(orchard_ctx *ctx, const orchard_http_request *req,
                          orchard_http_response *resp, void *payload)
{
    gint64 id = 0;
    g_autofree char *reason = NULL;
    (void)payload;
    if (id_of_path(orchard_api_subpath(req), req, resp, &id))
        return 0;
    int rc = orchard_profiles_delete(ctx, id, orchard_api_actor(req, NULL), &reason);
    if (rc == ORCHARD_ENOTFOUND)
        return orchard_api_error(resp, 404, NULL, "%s", reason);
    if (rc)
        return refuse(resp, rc, "Couldn't delete. ", reason);
    return orchard_api_reply(resp, 200, NULL);
}

/* The upload and the batch have routes of their own so that the host
 * refuses an upload over its cap before reading it; both go to
 * post_profiles, which tells them apart by path. */
ORCHARD_API_ROUTES_MAX(orchard_route_profiles_post, "POST", PREFIX, post_profiles,
                       ORCHARD_GUARD_MAINTAINER, "mdm", UPLOAD_MAX_BODY);
ORCHARD_API_ROUTES_MAX(orchard_route_profiles_batch, "POST", PREFIX "/batch", post_profiles,
                       ORCHARD_GUARD_MAINTAINER, "mdm", BATCH_MAX_BODY);
ORCHARD_API_ROUTES(orchard_route_profiles_get, "GET", PREFIX, get_profiles,
                   ORCHARD_GUARD_OBSERVER, "mdm");
ORCHARD_API_ROUTES(orchard_route_profiles_delete, "DELETE", PREFIX, delete_profile,
                   ORCHARD_GUARD_MAINTAINER, "mdm");
