/* Calls to osqueryd's extension manager (ExtensionManager service on the
 * --socket path). One short connection per call, as osqueryd itself does, so
 * a manager restart never leaves us holding a dead connection. */
#ifndef ORCHARD_EXT_CLIENT_H
#define ORCHARD_EXT_CLIENT_H

#include <glib.h>

/* Every function returns 0, or:
 *   ORCHARD_EINVAL     the socket path is too long;
 *   ORCHARD_ENOTFOUND  no socket at the path, or nobody listening;
 *   ORCHARD_EIO        the connection failed or timed out mid-call;
 *   ORCHARD_EPROTO     the manager answered with a non-zero status
 * and sets *error_msg (g_free) to what happened. */

int orchard_manager_ping(const char *path, int timeout_ms, char **error_msg);

/** registerExtension(info{name, version}, registry); *uuid on success. */
int orchard_manager_register(const char *path, int timeout_ms, const char *name,
                             const char *version, GHashTable *registry, gint64 *uuid,
                             char **error_msg);

int orchard_manager_deregister(const char *path, int timeout_ms, gint64 uuid, char **error_msg);

/** Is `uuid` among the manager's extensions()? *present = 1 or 0. */
int orchard_manager_has_extension(const char *path, int timeout_ms, gint64 uuid, int *present,
                                  char **error_msg);

/** query(sql): *rows is a GPtrArray of GHashTable (string -> string). */
int orchard_manager_query(const char *path, int timeout_ms, const char *sql, GPtrArray **rows,
                          char **error_msg);

#endif
