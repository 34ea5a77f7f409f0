/* GET /assets/NAME: the pages' stylesheet (static/NAME) from the files the
 * build embedded, with its ETag so a browser revalidates for a 304. */
#include "server_plugin/server.h"
#include "server_plugin/web/web_assets.h"
#include "server_plugin/web/web_pages.h"

#include <string.h>

#define PREFIX "/assets/"

static int assets(orchard_ctx *ctx, const orchard_http_request *req, orchard_http_response *resp,
                  void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    (void)ctx, (void)payload;
    const char *path = h->http_path(req);
    const char *name = g_str_has_prefix(path, PREFIX) ? path + strlen(PREFIX) : "";
    /* Only a plain file name: templates are not served, nor anything else. */
    const orchard_web_asset_entry *e = NULL;
    if (*name && strlen(name) < 128 && !strchr(name, '/')) {
        g_autofree char *key = g_strconcat("static/", name, NULL);
        e = orchard_web_asset_find(key);
    }
    if (!e) {
        static const char missing[] = "not found\n";
        return h->http_respond(resp, 404, "text/plain; charset=utf-8", missing,
                               sizeof missing - 1);
    }
    h->http_set_header(resp, "ETag", e->etag);
    h->http_set_header(resp, "Cache-Control", "no-cache");
    h->http_set_header(resp, "X-Content-Type-Options", "nosniff");
    const char *match = h->http_header(req, "If-None-Match");
    if (match && (strcmp(match, e->etag) == 0 || strcmp(match, "*") == 0 ||
                  strstr(match, e->etag)))
        return h->http_respond(resp, 304, NULL, NULL, 0);
    return h->http_respond(resp, 200, e->content_type, e->data, e->len);
}

const orchard_route orchard_route_web_assets = {
    ORCHARD_STRUCT_HEADER(orchard_route),
    .method = "GET",
    .path_prefix = "/assets",
    .handle2 = assets,
    .guard = ORCHARD_GUARD_NONE,
};
