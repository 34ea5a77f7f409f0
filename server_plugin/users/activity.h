/* The activity log: every change (a user created, a command queued, a push
 * sent by hand, a setting changed) recorded with who, what and when.
 * Details never hold a secret. */
#ifndef ORCHARD_SERVER_ACTIVITY_H
#define ORCHARD_SERVER_ACTIVITY_H

#include <orchard/plugin.h>

#include <jansson.h>

/**
 * Record an activity of `type` (Fleet's snake case, e.g. "ran_mdm_command")
 * with `details` (a JSON object, stolen; NULL for {}). The actor is the
 * signed-in user of `req` (a role-guarded route), or, with req NULL,
 * `actor_email` (may be NULL: the server or a CLI run). A failure to record
 * is logged and returned; the change itself stands.
 */
int orchard_activity_record(orchard_ctx *ctx, const orchard_http_request *req,
                            const char *actor_email, const char *type, json_t *details);

#endif
