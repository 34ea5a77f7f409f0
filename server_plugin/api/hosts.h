/* The hosts as JSON, built once for both readers: the admin API (GET /hosts,
 * /hosts/count, /hosts/{uuid} in hosts_api.c, docs/api.md) and the pages
 * /hosts and /hosts/{uuid} (web/hosts_page.c), so a page shows exactly what
 * the API answers. Every function copies out named fields of the store's
 * rows only, never the device's secrets (push token, PushMagic, tokens). */
#ifndef ORCHARD_SERVER_API_HOSTS_H
#define ORCHARD_SERVER_API_HOSTS_H

#include <glib.h>
#include <jansson.h>

/**
 * GET /hosts's body, {"hosts": [...]}: page `page` (0-based) of `per_page`
 * hosts (1 or more) ordered by UUID, each with Fleet's fields and its
 * team_id and team_name (null for "No team"). Returns 0 and *out
 * (json_decref); ORCHARD_EINVAL for a negative page or per_page under 1;
 * ORCHARD_EBUSY or another store code (*out NULL).
 */
int orchard_hosts_list_json(gint64 page, gint64 per_page, json_t **out);

/** How many hosts orchard_hosts_list_json pages through: 0 and *count, or a store code. */
int orchard_hosts_count(gint64 *count);

/**
 * GET /hosts/{uuid}'s body, {"host": {...}}: the host's fields, team and
 * mdm.profiles (each configuration profile's delivery). Returns 0 and *out
 * (json_decref); ORCHARD_ENOTFOUND for an unknown UUID; ORCHARD_EBUSY or
 * another store code (*out NULL).
 */
int orchard_host_detail_json(const char *uuid, json_t **out);

/**
 * A host's commands, {"pending": [...], "recent": [...]}: the commands
 * queued for it and not yet answered for good (Pending, NotNow: it runs
 * them later), oldest first, and the last `limit` it answered, newest
 * first. Each is {"command_uuid", "request_type", "status", "queued_at",
 * "updated_at"}, with Fleet's names for what its command results have.
 * At most `limit` pending ones too; "pending_more" is true when there are
 * more. Returns 0 and *out (json_decref); ORCHARD_EINVAL for limit under 1
 * or over 1000; a store code (*out NULL). An unknown UUID has no commands.
 */
int orchard_host_commands_json(const char *uuid, gint64 limit, json_t **out);

#endif
