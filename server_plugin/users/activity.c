/* The activity log (activity.h): recording who changed what, and
 * GET /api/latest/fleet/activities, newest first, in Fleet's shape. The
 * store keeps the actor's name as it was, so a deleted user's past
 * changes still say who made them. */
#include "server_plugin/users/activity.h"

#include "server_plugin/api/api.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_users.h"
#include "server_plugin/users/users.h"

#include <stdlib.h>

#define ACTIVITIES_PER_PAGE 100

int orchard_activity_record(orchard_ctx *ctx, const orchard_http_request *req,
                            const char *actor_email, const char *type, json_t *details)
{
    const orchard_host_api *h = orchard_server_host;
    g_autoptr(orchard_user) actor = NULL;
    char *text = NULL;
    int rc;

    if (!details)
        details = json_object();
    if (!type || !*type || !json_is_object(details)) {
        rc = ORCHARD_EINVAL;
        goto cleanup;
    }
    if (req && h->http_principal(req, NULL))
        actor_email = h->http_principal(req, NULL);
    /* Unknown (deleted meanwhile, or a store hiccup): the email alone. */
    if (actor_email)
        orchard_store_user_get(actor_email, &actor);
    if (!(text = json_dumps(details, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
        rc = ORCHARD_ENOMEM;
        goto cleanup;
    }
    rc = orchard_store_activity_add(actor ? actor->email : actor_email, actor ? actor->name : NULL,
                                    type, text, g_get_real_time() / G_USEC_PER_SEC);
cleanup:
    if (rc)
        h->ctx_log(ctx, ORCHARD_LOG_WARNING, "activity %s by %s not recorded: %s",
                   type ? type : "(none)", actor_email ? actor_email : "(server)",
                   h->strerror(rc));
    free(text);
    json_decref(details);
    return rc;
}

/* One row as Fleet shows it; details parsed back into an object. */
static json_t *activity_json(const orchard_activity *a)
{
    g_autofree char *created = orchard_api_time(a->created_at);
    json_t *details = a->details ? json_loads(a->details, 0, NULL) : NULL;
    if (!json_is_object(details)) {
        json_decref(details);
        details = json_object();
    }
    g_autofree char *email = a->actor_email ? g_utf8_make_valid(a->actor_email, -1) : NULL;
    g_autofree char *name = a->actor_name ? g_utf8_make_valid(a->actor_name, -1) : NULL;
    g_autofree char *type = g_utf8_make_valid(a->type ? a->type : "", -1);
    return json_pack("{s:I, s:s, s:s?, s:s?, s:s, s:o}", "id", (json_int_t)a->id, "created_at",
                     created, "actor_full_name", name, "actor_email", email, "type", type,
                     "details", details);
}

static int list_activities(orchard_ctx *ctx, const orchard_http_request *req,
                           orchard_http_response *resp, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    gint64 page = 0, per_page = 0;
    g_autoptr(GPtrArray) list = NULL;
    (void)payload;

    if (orchard_api_paging(req, resp, ACTIVITIES_PER_PAGE, &page, &per_page))
        return 0;
    int rc = orchard_store_activity_list(page, per_page, &list);
    if (rc) {
        h->ctx_log(ctx, ORCHARD_LOG_WARNING, "listing activities failed: %s", h->strerror(rc));
        return orchard_api_error(resp, 503, NULL, "cannot read the activity log now");
    }
    json_t *arr = json_array();
    for (guint i = 0; i < list->len; i++)
        json_array_append_new(arr, activity_json(list->pdata[i]));
    /* Fleet's meta: a next page exists when this one is full (one query
     * too many at worst, rather than a count on every call). */
    json_t *meta = json_pack("{s:b, s:b}", "has_next_results", (gint64)list->len == per_page,
                             "has_previous_results", page > 0);
    return orchard_api_reply(resp, 200, json_pack("{s:o, s:o}", "activities", arr, "meta", meta));
}

ORCHARD_API_ROUTES(orchard_route_activities, "GET", "/activities", list_activities,
                   ORCHARD_GUARD_MAINTAINER, NULL);
