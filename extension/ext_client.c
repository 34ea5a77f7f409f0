/* Manager client: connect, call one method through the generated Thrift
 * client, close. */
#include "ext_client.h"

#include "thrift_sock.h"
#include "unix_socket.h"

#include <orchard/plugin.h>
#include <osquery_extension_manager.h>
#include <unistd.h>

typedef struct {
    int fd;
    orchard_thrift_conn *conn;
    osqueryExtensionManagerIf *client;
} manager_conn;

static int manager_open(const char *path, int timeout_ms, manager_conn *mc, char **error_msg)
{
    mc->fd = orchard_unix_connect(path, timeout_ms);
    if (mc->fd < 0) {
        int rc = mc->fd;
        *error_msg = rc == ORCHARD_EINVAL
            ? g_strdup_printf("socket path %s is longer than %zu bytes", path,
                              orchard_unix_path_max())
            : g_strdup_printf("cannot connect to %s: %s", path,
                              rc == ORCHARD_ENOTFOUND ? "no manager listening" : "I/O error");
        return rc;
    }
    mc->conn = orchard_thrift_conn_new(mc->fd);
    mc->client = g_object_new(OSQUERY_TYPE_EXTENSION_MANAGER_CLIENT, "input_protocol",
                              mc->conn->proto, "output_protocol", mc->conn->proto, NULL);
    return 0;
}

static void manager_close(manager_conn *mc)
{
    if (mc->client)
        g_object_unref(mc->client);
    orchard_thrift_conn_free(mc->conn);
    if (mc->fd >= 0)
        close(mc->fd);
}

/* Turn a failed call's GError into our code and message. */
static int call_failed(const char *what, GError *err, char **error_msg)
{
    *error_msg = g_strdup_printf("%s: %s", what, err ? err->message : "failed");
    g_clear_error(&err);
    return ORCHARD_EIO;
}

static int check_status(const char *what, osqueryExtensionStatus *st, char **error_msg)
{
    if (st->code == 0)
        return 0;
    *error_msg = g_strdup_printf("%s: %s (code %d)", what, st->message ? st->message : "",
                                 st->code);
    return ORCHARD_EPROTO;
}

int orchard_manager_ping(const char *path, int timeout_ms, char **error_msg)
{
    manager_conn mc = {-1, NULL, NULL};
    GError *err = NULL;
    int rc = manager_open(path, timeout_ms, &mc, error_msg);
    if (rc)
        return rc;
    osqueryExtensionStatus *st = g_object_new(OSQUERY_TYPE_EXTENSION_STATUS, NULL);
    if (!osquery_extension_if_ping(OSQUERY_EXTENSION_IF(mc.client), &st, &err))
        rc = call_failed("ping", err, error_msg);
    else
        rc = check_status("ping", st, error_msg);
    g_object_unref(st);
    manager_close(&mc);
    return rc;
}

int orchard_manager_register(const char *path, int timeout_ms, const char *name,
                             const char *version, GHashTable *registry, gint64 *uuid,
                             char **error_msg)
{
    manager_conn mc = {-1, NULL, NULL};
    GError *err = NULL;
    int rc = manager_open(path, timeout_ms, &mc, error_msg);
    if (rc)
        return rc;
    osqueryInternalExtensionInfo *info = g_object_new(
        OSQUERY_TYPE_INTERNAL_EXTENSION_INFO, "name", name, "version", version, "sdk_version",
        "", "min_sdk_version", "", NULL);
    osqueryExtensionStatus *st = g_object_new(OSQUERY_TYPE_EXTENSION_STATUS, NULL);
    if (!osquery_extension_manager_if_register_extension(mc.client, &st, info, registry, &err))
        rc = call_failed("registerExtension", err, error_msg);
    else if ((rc = check_status("registerExtension", st, error_msg)) == 0)
        *uuid = st->uuid;
    g_object_unref(st);
    g_object_unref(info);
    manager_close(&mc);
    return rc;
}

int orchard_manager_deregister(const char *path, int timeout_ms, gint64 uuid, char **error_msg)
{
    manager_conn mc = {-1, NULL, NULL};
    GError *err = NULL;
    int rc = manager_open(path, timeout_ms, &mc, error_msg);
    if (rc)
        return rc;
    osqueryExtensionStatus *st = g_object_new(OSQUERY_TYPE_EXTENSION_STATUS, NULL);
    if (!osquery_extension_manager_if_deregister_extension(mc.client, &st, uuid, &err))
        rc = call_failed("deregisterExtension", err, error_msg);
    else
        rc = check_status("deregisterExtension", st, error_msg);
    g_object_unref(st);
    manager_close(&mc);
    return rc;
}

int orchard_manager_has_extension(const char *path, int timeout_ms, gint64 uuid, int *present,
                                  char **error_msg)
{
    manager_conn mc = {-1, NULL, NULL};
    GError *err = NULL;
    int rc = manager_open(path, timeout_ms, &mc, error_msg);
    if (rc)
        return rc;
    GHashTable *list = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_object_unref);
    if (!osquery_extension_manager_if_extensions(mc.client, &list, &err))
        rc = call_failed("extensions", err, error_msg);
    else
        *present = g_hash_table_contains(list, &uuid) ? 1 : 0;
    g_hash_table_destroy(list);
    manager_close(&mc);
    return rc;
}

int orchard_manager_query(const char *path, int timeout_ms, const char *sql, GPtrArray **rows,
                          char **error_msg)
{
    manager_conn mc = {-1, NULL, NULL};
    GError *err = NULL;
    int rc = manager_open(path, timeout_ms, &mc, error_msg);
    if (rc)
        return rc;
    osqueryExtensionResponse *resp = g_object_new(OSQUERY_TYPE_EXTENSION_RESPONSE, NULL);
    if (!osquery_extension_manager_if_query(mc.client, &resp, sql, &err))
        rc = call_failed("query", err, error_msg);
    else if ((rc = check_status("query", resp->status, error_msg)) == 0)
        *rows = g_ptr_array_ref(resp->response);
    g_object_unref(resp);
    manager_close(&mc);
    return rc;
}
