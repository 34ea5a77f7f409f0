/* Manager client: connect, call one method through the generated Thrift
 * client, close. */
#include "extension/ext_client.h"

#include "extension/thrift_sock.h"
#include "extension/unix_socket.h"

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

static int check_status(const char *what, osqueryExtensionStatus *st, char **error_msg)
{
    if (st->code == 0)
        return 0;
    *error_msg = g_strdup_printf("%s: %s (code %d)", what, st->message ? st->message : "",
                                 st->code);
    return ORCHARD_EPROTO;
}

/* One method call: returns FALSE with *err set when the transport fails. */
typedef gboolean (*manager_call_fn)(osqueryExtensionManagerIf *client, void *data,
                                    int *rc, char **error_msg, GError **err);

/* Connect, make one call, close: every public function below is this. */
static int with_manager(const char *path, int timeout_ms, const char *what,
                        manager_call_fn call, void *data, char **error_msg)
{
    manager_conn mc = {-1, NULL, NULL};
    GError *err = NULL;
    int rc = manager_open(path, timeout_ms, &mc, error_msg);
    if (rc)
        return rc;
    if (!call(mc.client, data, &rc, error_msg, &err)) {
        *error_msg = g_strdup_printf("%s: %s", what, err ? err->message : "failed");
        rc = ORCHARD_EIO;
    }
    g_clear_error(&err);
    manager_close(&mc);
    return rc;
}

static gboolean call_ping(osqueryExtensionManagerIf *client, void *data, int *rc,
                          char **error_msg, GError **err)
{
    (void)data;
    osqueryExtensionStatus *st = g_object_new(OSQUERY_TYPE_EXTENSION_STATUS, NULL);
    gboolean ok = osquery_extension_if_ping(OSQUERY_EXTENSION_IF(client), &st, err);
    if (ok)
        *rc = check_status("ping", st, error_msg);
    g_object_unref(st);
    return ok;
}

int orchard_manager_ping(const char *path, int timeout_ms, char **error_msg)
{
    return with_manager(path, timeout_ms, "ping", call_ping, NULL, error_msg);
}

typedef struct {
    const char *name, *version;
    GHashTable *registry;
    gint64 uuid;
} register_call;

static gboolean call_register(osqueryExtensionManagerIf *client, void *data, int *rc,
                              char **error_msg, GError **err)
{
    register_call *rq = data;
    osqueryInternalExtensionInfo *info = g_object_new(
        OSQUERY_TYPE_INTERNAL_EXTENSION_INFO, "name", rq->name, "version", rq->version,
        "sdk_version", "", "min_sdk_version", "", NULL);
    osqueryExtensionStatus *st = g_object_new(OSQUERY_TYPE_EXTENSION_STATUS, NULL);
    gboolean ok = osquery_extension_manager_if_register_extension(client, &st, info,
                                                                  rq->registry, err);
    if (ok && (*rc = check_status("registerExtension", st, error_msg)) == 0)
        rq->uuid = st->uuid;
    g_object_unref(st);
    g_object_unref(info);
    return ok;
}

int orchard_manager_register(const char *path, int timeout_ms, const char *name,
                             const char *version, GHashTable *registry, gint64 *uuid,
                             char **error_msg)
{
    register_call rq = {name, version, registry, 0};
    int rc = with_manager(path, timeout_ms, "registerExtension", call_register, &rq, error_msg);
    if (rc == 0)
        *uuid = rq.uuid;
    return rc;
}

static gboolean call_deregister(osqueryExtensionManagerIf *client, void *data, int *rc,
                                char **error_msg, GError **err)
{
    osqueryExtensionStatus *st = g_object_new(OSQUERY_TYPE_EXTENSION_STATUS, NULL);
    gboolean ok = osquery_extension_manager_if_deregister_extension(client, &st,
                                                                    *(gint64 *)data, err);
    if (ok)
        *rc = check_status("deregisterExtension", st, error_msg);
    g_object_unref(st);
    return ok;
}

int orchard_manager_deregister(const char *path, int timeout_ms, gint64 uuid, char **error_msg)
{
    return with_manager(path, timeout_ms, "deregisterExtension", call_deregister, &uuid,
                        error_msg);
}

typedef struct {
    gint64 uuid;
    int present;
} extensions_call;

static gboolean call_extensions(osqueryExtensionManagerIf *client, void *data, int *rc,
                                char **error_msg, GError **err)
{
    (void)rc;
    (void)error_msg;
    extensions_call *ec = data;
    GHashTable *list = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_object_unref);
    gboolean ok = osquery_extension_manager_if_extensions(client, &list, err);
    if (ok)
        ec->present = g_hash_table_contains(list, &ec->uuid) ? 1 : 0;
    g_hash_table_destroy(list);
    return ok;
}

int orchard_manager_has_extension(const char *path, int timeout_ms, gint64 uuid, int *present,
                                  char **error_msg)
{
    extensions_call ec = {uuid, 0};
    int rc = with_manager(path, timeout_ms, "extensions", call_extensions, &ec, error_msg);
    if (rc == 0)
        *present = ec.present;
    return rc;
}

typedef struct {
    const char *sql;
    GPtrArray *rows;
} query_call;

static gboolean call_query(osqueryExtensionManagerIf *client, void *data, int *rc,
                           char **error_msg, GError **err)
{
    query_call *qc = data;
    osqueryExtensionResponse *resp = g_object_new(OSQUERY_TYPE_EXTENSION_RESPONSE, NULL);
    gboolean ok = osquery_extension_manager_if_query(client, &resp, qc->sql, err);
    if (ok && (*rc = check_status("query", resp->status, error_msg)) == 0)
        qc->rows = g_ptr_array_ref(resp->response);
    g_object_unref(resp);
    return ok;
}

int orchard_manager_query(const char *path, int timeout_ms, const char *sql, GPtrArray **rows,
                          char **error_msg)
{
    query_call qc = {sql, NULL};
    int rc = with_manager(path, timeout_ms, "query", call_query, &qc, error_msg);
    if (rc == 0)
        *rows = qc.rows;
    return rc;
}
