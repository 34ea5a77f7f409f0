/* An osqueryd stand-in for the integration tests: the ExtensionManager side
 * of the osquery Thrift protocol on a unix socket in a temp dir (records
 * registrations, hands out uuids, answers extensions() and the registry
 * query), plus a client for the extension's own socket, as osqueryd calls it. */
#ifndef ORCHARD_TEST_FAKE_OSQUERYD_H
#define ORCHARD_TEST_FAKE_OSQUERYD_H

#include <glib.h>
#include <osquery_osquery_types.h>

typedef struct fake_osqueryd fake_osqueryd;

/* One registerExtension call as received. */
typedef struct fake_registration {
    gint64 uuid;
    char *name;
    char *version;
    GHashTable *tables; /* table name -> GPtrArray of column maps (GHashTable str->str) */
    gint64 received_us; /* g_get_monotonic_time() when the call arrived */
} fake_registration;

/**
 * Serve the ExtensionManager on <new temp dir>/osquery.em. `existing_tables`
 * (NULL-terminated, may be NULL) are the names osquery_registry lists before
 * any extension registers, to provoke collisions. NULL on failure (printed).
 */
fake_osqueryd *fake_osqueryd_start(const char *const *existing_tables);

/** Stop serving, join every thread, remove the temp dir and its files. NULL is fine. */
void fake_osqueryd_stop(fake_osqueryd *f);

/** The manager socket path. Borrowed. */
const char *fake_osqueryd_socket(const fake_osqueryd *f);
/** A path inside the temp dir (for logs). g_free. */
char *fake_osqueryd_file(const fake_osqueryd *f, const char *name);
/** The extension's socket for `uuid`: <manager socket>.<uuid>. g_free. */
char *fake_osqueryd_ext_socket(const fake_osqueryd *f, gint64 uuid);

/** Number of registerExtension calls accepted so far. */
guint fake_osqueryd_registration_count(fake_osqueryd *f);
/** Wait until at least `n` registrations arrived. TRUE, or FALSE on timeout. */
gboolean fake_osqueryd_wait_registrations(fake_osqueryd *f, guint n, int timeout_ms);
/** Registration i (in arrival order). Borrowed until fake_osqueryd_stop. */
const fake_registration *fake_osqueryd_registration(fake_osqueryd *f, guint i);
/** Wait until deregisterExtension(uuid) arrives. TRUE, or FALSE on timeout. */
gboolean fake_osqueryd_wait_deregistered(fake_osqueryd *f, gint64 uuid, int timeout_ms);

/** Forget every registration and delete the extension sockets, as an osqueryd restart does. */
void fake_osqueryd_forget_all(fake_osqueryd *f);
/** Remove the manager socket file (the server keeps its listening fd). */
void fake_osqueryd_remove_socket(fake_osqueryd *f);

/** Column attribute `key` ("type", "op", ...) of table.column in `r`, or NULL. */
const char *fake_registration_column(const fake_registration *r, const char *table,
                                     const char *column, const char *key);

/* --- client of an extension socket. Each call opens and closes its own
 * connection, as osqueryd does. They return 0, or -1 with *error_msg
 * (g_free; may be NULL) on a transport or protocol failure. */

/** ping(): *code is the status code. */
int fake_ext_ping(const char *path, int timeout_ms, int *code, char **error_msg);

/** call(registry, item, request): *out (g_object_unref) holds status and rows. */
int fake_ext_call(const char *path, int timeout_ms, const char *registry, const char *item,
                  GHashTable *request, osqueryExtensionResponse **out, char **error_msg);

/** call("table", table, {"action": action[, "context": context]}). */
int fake_ext_table_call(const char *path, int timeout_ms, const char *table,
                        const char *action, const char *context,
                        osqueryExtensionResponse **out, char **error_msg);

/** shutdown(). */
int fake_ext_shutdown(const char *path, int timeout_ms, char **error_msg);

#endif
