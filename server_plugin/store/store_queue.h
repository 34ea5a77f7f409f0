/* The command queue on the store: each command once (mdm_commands), and its
 * status per device (mdm_command_queue). The admin API enqueues
 * (server_plugin/commands/), the check-in flow hands commands out and
 * records the devices' reports (server_plugin/checkin/). Implemented in
 * store_queue.c. Returns 0 or a negative orchard_error_code; out-parameters
 * are owned by the caller. */
#ifndef ORCHARD_SERVER_STORE_QUEUE_H
#define ORCHARD_SERVER_STORE_QUEUE_H

#include <glib.h>
#include <stddef.h>

/** A command's status on one device, as Fleet names it. */
#define ORCHARD_CMD_PENDING "Pending"
#define ORCHARD_CMD_ACKNOWLEDGED "Acknowledged"
#define ORCHARD_CMD_ERROR "Error"
#define ORCHARD_CMD_FORMAT_ERROR "CommandFormatError"
#define ORCHARD_CMD_NOT_NOW "NotNow"

/**
 * Queue a command for `n` devices in one write transaction: the command row
 * and one Pending row per UDID, queued_at = now_us. Every UDID must have an
 * enabled enrollment. Returns 0; ORCHARD_EEXIST (command_uuid in use);
 * ORCHARD_ENOTFOUND with *bad_udid (g_free) naming the first unknown or
 * disabled device (nothing written).
 */
int orchard_store_command_enqueue(const char *command_uuid, const char *request_type,
                                  const void *plist, size_t plist_len, const char *created_by,
                                  const char *const *udids, size_t n, gint64 now_us,
                                  char **bad_udid);

/**
 * The device's next command, oldest first: Pending, or NotNow from before
 * the device's current polling session (orchard_store_device_seen with
 * idle). 0 with *command_uuid and *plist (GBytes), or ORCHARD_ENOTFOUND
 * when nothing is due.
 */
int orchard_store_command_next(const char *udid, char **command_uuid, GBytes **plist);

/**
 * Record a device's report on a command queued for it: status (one of the
 * ORCHARD_CMD_* above but Pending), the whole report, and the ErrorChain as
 * JSON (NULL when none). NotNow keeps it queued. ORCHARD_ENOTFOUND when the
 * command was not queued for that device.
 */
int orchard_store_command_report(const char *udid, const char *command_uuid, const char *status,
                                 const void *report, size_t report_len,
                                 const char *error_chain_json, gint64 now);

/** One device's status for a command (results API, mdm_commands table). */
typedef struct orchard_command_result {
    char *udid;
    char *command_uuid;
    char *request_type;
    char *status;
    GBytes *result;       /* the report plist, NULL while Pending */
    char *error_chain;    /* JSON, or NULL */
    gint64 queued_at_us;
    gint64 updated_at;
} orchard_command_result;

void orchard_command_result_free(orchard_command_result *r);

/** Every device's status for `command_uuid` (free func set); an unknown
 * command gives ORCHARD_ENOTFOUND. */
int orchard_store_command_results(const char *command_uuid, GPtrArray **out);

/** A queued command as the list API shows it. */
typedef struct orchard_command_info {
    char *command_uuid;
    char *request_type;
    char *created_by;
    gint64 created_at;
    gint64 devices;       /* how many devices it was queued for */
} orchard_command_info;

void orchard_command_info_free(orchard_command_info *c);

/** Commands newest first, paged (per_page 0: all); free func set. */
int orchard_store_command_list(gint64 page, gint64 per_page, GPtrArray **out);

/** Every (device, command) row, for the mdm_commands table: stop when fn
 * returns non-zero. result is NULL in these rows (the table omits it). */
int orchard_store_command_each(int (*fn)(const orchard_command_result *r, void *payload),
                               void *payload);

/**
 * One device's commands, for its host page (added with web/hosts_page.c):
 * with `unanswered` 1 those it has not answered for good (Pending, NotNow),
 * oldest first; with 0 those it answered (Acknowledged, Error,
 * CommandFormatError), most recently answered first. At most `limit` rows
 * (orchard_command_result, free func set; result NULL). ORCHARD_EINVAL for
 * a limit under 1.
 */
int orchard_store_command_for_device(const char *udid, int unanswered, gint64 limit,
                                     GPtrArray **out);

#endif
