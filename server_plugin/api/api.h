/* What every admin API handler shares (Fleet's conventions, docs/api.md):
 * routes under both /api/latest/fleet/ and /api/v1/fleet/, JSON bodies
 * capped at 1 MiB and parsed with the error's position, JSON answers, Fleet's
 * error shape, and paging. Handlers live beside their flow (commands/,
 * users/, ...); this is the one place their plumbing is written. */
#ifndef ORCHARD_SERVER_API_H
#define ORCHARD_SERVER_API_H

#include <orchard/plugin.h>

#include <glib.h>
#include <jansson.h>

/** The largest JSON request body the API reads (larger: 413). */
#define ORCHARD_API_BODY_MAX (1024 * 1024)

/**
 * Declare the two routes of one API path: `/api/latest/fleet<suffix>` and
 * `/api/v1/fleet<suffix>`, named <name>_latest and <name>_v1, both behind the
 * "mdm" gate when gate is "mdm" (NULL: always served), taking request
 * bodies up to max_body_ bytes (0: the host's default; larger is a 413
 * before the handler runs).
 */
#define ORCHARD_API_ROUTES_MAX(name, method_, suffix, handler, guard_, gate_, max_body_)    \
    const orchard_route name##_latest = {                                                  \
        ORCHARD_STRUCT_HEADER(orchard_route),                                              \
        .method = method_,                                                                 \
        .path_prefix = "/api/latest/fleet" suffix,                                         \
        .handle2 = handler,                                                                \
        .guard = guard_,                                                                   \
        .gate = gate_,                                                                     \
        .max_body = max_body_,                                                             \
    };                                                                                     \
    const orchard_route name##_v1 = {                                                      \
        ORCHARD_STRUCT_HEADER(orchard_route),                                              \
        .method = method_,                                                                 \
        .path_prefix = "/api/v1/fleet" suffix,                                             \
        .handle2 = handler,                                                                \
        .guard = guard_,                                                                   \
        .gate = gate_,                                                                     \
        .max_body = max_body_,                                                             \
    }

/** The same with the host's default body cap. */
#define ORCHARD_API_ROUTES(name, method_, suffix, handler, guard_, gate_)                  \
    ORCHARD_API_ROUTES_MAX(name, method_, suffix, handler, guard_, gate_, 0)

/**
 * The path after "/api/latest/fleet" or "/api/v1/fleet" ("/hosts/ABC"), or
 * NULL for another path. Borrowed from req.
 */
const char *orchard_api_subpath(const orchard_http_request *req);

/**
 * Parse the request's body as one JSON object. On success returns 0 and
 * *out (json_decref). Otherwise answers (413 over ORCHARD_API_BODY_MAX, 400
 * for an empty body, bad JSON with its line, column and byte position, or
 * a value that is not an object) and returns ORCHARD_EINVAL: the handler
 * just returns 0.
 */
int orchard_api_read_json(const orchard_http_request *req, orchard_http_response *resp,
                          json_t **out);

/** Answer `status` with `body` as JSON (stolen; NULL answers "{}"). Returns 0 or ORCHARD_ENOMEM. */
int orchard_api_reply(orchard_http_response *resp, int status, json_t *body);

/** Fleet's error shape (host->http_error): `field` NULL means "base". Returns 0. */
int orchard_api_error(orchard_http_response *resp, int status, const char *field,
                      const char *fmt, ...) ORCHARD_PRINTF(4, 5);

/**
 * Read `page` (0-based, default 0) and `per_page` (default `def`, at most
 * 10000) from the query string. On a bad value answers 400 and returns
 * ORCHARD_EINVAL.
 */
int orchard_api_paging(const orchard_http_request *req, orchard_http_response *resp, gint64 def,
                       gint64 *page, gint64 *per_page);

/**
 * Base64 as Fleet takes it in JSON bodies (a command, a profile): standard
 * alphabet, padded or not, line breaks allowed. GLib's decoder skips bad
 * characters silently, so they are refused here first. The bytes
 * (g_bytes_unref), or NULL for anything else (empty, a bad character, data
 * after padding, an impossible length).
 */
GBytes *orchard_api_base64(const char *text, size_t n);

/** RFC 3339 UTC ("2026-12-06T01:02:03Z") of unix seconds (g_free). */
char *orchard_api_time(gint64 unix_seconds);

/** The signed-in user's email for a role-guarded route (http_principal), or NULL. */
const char *orchard_api_actor(const orchard_http_request *req, int *role);

#endif
