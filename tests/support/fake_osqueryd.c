/* An osqueryd stand-in built from the same IDL as the extension: serves the
 * ExtensionManager service on a unix socket (own accept thread, one thread
 * per connection, as osqueryd serves its short connections) and calls the
 * extension's socket as osqueryd would. It behaves like osqueryd where the
 * extension depends on it: one clashing table rejects a whole registration,
 * a duplicate extension name is refused, a restart forgets everything. */
#include "tests/support/fake_osqueryd.h"

#include "extension/thrift_sock.h"
#include "extension/unix_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <osquery_extension.h>
#include <osquery_extension_manager.h>

#define REGISTRY_QUERY "select name from osquery_registry where registry = 'table'"
#define CONN_IO_TIMEOUT_MS 5000
#define FIRST_UUID 1000 /* far from 0 and from indexes, so mix-ups show */

struct fake_osqueryd {
    char *dir;
    char *socket;
    int listen_fd;
    int wake[2]; /* a byte here ends the accept loop */
    GThread *acceptor;
    ThriftProcessor *processor;
    GObject *handler;
    GMutex lock; /* guards everything below */
    GCond changed;
    GPtrArray *conn_threads; /* GThread*, joined at stop */
    GHashTable *conn_fds;    /* fds of open connections, to end them at stop */
    GPtrArray *history;      /* fake_registration*, every accepted registration */
    GHashTable *current;     /* gint64* uuid -> fake_registration* (in history) */
    GHashTable *deregistered; /* gint64* uuids */
    char **existing;         /* tables osquery_registry lists before any extension */
    gint64 next_uuid;
};

/* --- the handler: osqueryd's half of the protocol */

typedef struct {
    osqueryExtensionManagerHandler parent;
    fake_osqueryd *f;
} FakeManagerHandler;

typedef struct {
    osqueryExtensionManagerHandlerClass parent;
} FakeManagerHandlerClass;

GType fake_manager_handler_get_type(void);
G_DEFINE_TYPE(FakeManagerHandler, fake_manager_handler, OSQUERY_TYPE_EXTENSION_MANAGER_HANDLER)

static fake_osqueryd *handler_owner(void *iface)
{
    return ((FakeManagerHandler *)iface)->f;
}

static void set_status(osqueryExtensionStatus *st, int code, const char *message, gint64 uuid)
{
    g_object_set(st, "code", code, "message", message, "uuid", uuid, NULL);
}

static gboolean h_ping(osqueryExtensionIf *iface, osqueryExtensionStatus **ret, GError **error)
{
    (void)iface;
    (void)error;
    set_status(*ret, 0, "OK", 0);
    return TRUE;
}

static gboolean h_call(osqueryExtensionIf *iface, osqueryExtensionResponse **ret,
                       const gchar *registry, const gchar *item,
                       const osqueryExtensionPluginRequest *request, GError **error)
{
    (void)iface;
    (void)registry;
    (void)item;
    (void)request;
    (void)error;
    set_status((*ret)->status, 1, "the fake osqueryd has no plugins of its own", 0);
    return TRUE;
}

static gboolean h_shutdown(osqueryExtensionIf *iface, GError **error)
{
    (void)iface;
    (void)error;
    return TRUE;
}

static gboolean h_extensions(osqueryExtensionManagerIf *iface, osqueryInternalExtensionList **ret,
                             GError **error)
{
    fake_osqueryd *f = handler_owner(iface);
    GHashTableIter it;
    gpointer value;
    (void)error;

    g_mutex_lock(&f->lock);
    g_hash_table_iter_init(&it, f->current);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        const fake_registration *r = value;
        gint64 *key = g_new(gint64, 1);
        *key = r->uuid;
        g_hash_table_insert(*ret, key,
                            g_object_new(OSQUERY_TYPE_INTERNAL_EXTENSION_INFO, "name", r->name,
                                         "version", r->version, NULL));
    }
    g_mutex_unlock(&f->lock);
    return TRUE;
}

static gboolean h_options(osqueryExtensionManagerIf *iface, osqueryInternalOptionList **ret,
                          GError **error)
{
    (void)iface;
    (void)ret;
    (void)error;
    return TRUE; /* no options: an empty map */
}

/* Is table `name` taken, by osqueryd itself or by a registered extension?
 * Called with f->lock held. */
static gboolean table_taken(fake_osqueryd *f, const char *name)
{
    GHashTableIter it;
    gpointer value;

    for (char **e = f->existing; e && *e; e++)
        if (strcmp(*e, name) == 0)
            return TRUE;
    g_hash_table_iter_init(&it, f->current);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (g_hash_table_contains(((fake_registration *)value)->tables, name))
            return TRUE;
    return FALSE;
}

/* Why osqueryd would refuse this registration, or NULL. f->lock held. */
static char *refusal(fake_osqueryd *f, const char *name, GHashTable *tables)
{
    GHashTableIter it;
    gpointer key, value;

    g_hash_table_iter_init(&it, f->current);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (strcmp(((fake_registration *)value)->name, name) == 0)
            return g_strdup("Duplicate extension registered");
    if (!tables)
        return NULL;
    g_hash_table_iter_init(&it, tables);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        if (table_taken(f, key))
            return g_strdup_printf("Duplicate registry item: table %s", (char *)key);
        if (((GPtrArray *)value)->len == 0)
            return g_strdup("Invalid route info");
    }
    return NULL;
}

static GHashTable *copy_str_map(GHashTable *src)
{
    GHashTable *dst = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, src);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_hash_table_insert(dst, g_strdup(k), g_strdup(v));
    return dst;
}

/* The "table" routes of a registry: name -> copied column maps. */
static GHashTable *copy_tables(GHashTable *tables)
{
    GHashTable *out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify)g_ptr_array_unref);
    GHashTableIter it;
    gpointer k, v;
    if (!tables)
        return out;
    g_hash_table_iter_init(&it, tables);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        GPtrArray *src = v;
        GPtrArray *cols = g_ptr_array_new_with_free_func((GDestroyNotify)g_hash_table_unref);
        for (guint i = 0; i < src->len; i++)
            g_ptr_array_add(cols, copy_str_map(g_ptr_array_index(src, i)));
        g_hash_table_insert(out, g_strdup(k), cols);
    }
    return out;
}

static void registration_free(gpointer p)
{
    fake_registration *r = p;
    g_free(r->name);
    g_free(r->version);
    g_hash_table_unref(r->tables);
    g_free(r);
}

static gboolean h_register(osqueryExtensionManagerIf *iface, osqueryExtensionStatus **ret,
                           const osqueryInternalExtensionInfo *info,
                           const osqueryExtensionRegistry *registry, GError **error)
{
    gint64 received_us = g_get_monotonic_time();
    fake_osqueryd *f = handler_owner(iface);
    GHashTable *tables = g_hash_table_lookup((GHashTable *)registry, "table");
    const char *name = info->name ? info->name : "";
    (void)error;

    g_mutex_lock(&f->lock);
    char *why = refusal(f, name, tables);
    if (why) {
        set_status(*ret, 1, why, 0);
        g_mutex_unlock(&f->lock);
        g_free(why);
        return TRUE;
    }
    fake_registration *r = g_new0(fake_registration, 1);
    r->uuid = f->next_uuid++;
    r->name = g_strdup(name);
    r->version = g_strdup(info->version ? info->version : "");
    r->tables = copy_tables(tables);
    r->received_us = received_us;
    g_ptr_array_add(f->history, r);
    g_hash_table_insert(f->current, &r->uuid, r);
    set_status(*ret, 0, "OK", r->uuid);
    g_cond_broadcast(&f->changed);
    g_mutex_unlock(&f->lock);
    return TRUE;
}

static gboolean h_deregister(osqueryExtensionManagerIf *iface, osqueryExtensionStatus **ret,
                             const osqueryExtensionRouteUUID uuid, GError **error)
{
    fake_osqueryd *f = handler_owner(iface);
    gint64 *key = g_new(gint64, 1);
    (void)error;

    *key = uuid;
    g_mutex_lock(&f->lock);
    gboolean known = g_hash_table_remove(f->current, key);
    g_hash_table_add(f->deregistered, key);
    g_cond_broadcast(&f->changed);
    g_mutex_unlock(&f->lock);
    set_status(*ret, known ? 0 : 1, known ? "OK" : "No extension UUID registered", 0);
    return TRUE;
}

static void add_name_row(GPtrArray *rows, const char *name)
{
    GHashTable *row = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_hash_table_insert(row, g_strdup("name"), g_strdup(name));
    g_ptr_array_add(rows, row);
}

static gboolean h_query(osqueryExtensionManagerIf *iface, osqueryExtensionResponse **ret,
                        const gchar *sql, GError **error)
{
    fake_osqueryd *f = handler_owner(iface);
    osqueryExtensionResponse *resp = *ret;
    GHashTableIter it, tit;
    gpointer value, tname;
    (void)error;

    if (!sql || strcmp(sql, REGISTRY_QUERY) != 0) {
        set_status(resp->status, 1, "the fake osqueryd answers only the registry query", 0);
        return TRUE;
    }
    g_mutex_lock(&f->lock);
    for (char **e = f->existing; e && *e; e++)
        add_name_row(resp->response, *e);
    g_hash_table_iter_init(&it, f->current);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        g_hash_table_iter_init(&tit, ((fake_registration *)value)->tables);
        while (g_hash_table_iter_next(&tit, &tname, NULL))
            add_name_row(resp->response, tname);
    }
    g_mutex_unlock(&f->lock);
    resp->__isset_response = TRUE;
    set_status(resp->status, 0, "OK", 0);
    resp->__isset_status = TRUE;
    return TRUE;
}

static gboolean h_query_columns(osqueryExtensionManagerIf *iface, osqueryExtensionResponse **ret,
                                const gchar *sql, GError **error)
{
    (void)iface;
    (void)sql;
    (void)error;
    set_status((*ret)->status, 1, "not supported by the fake osqueryd", 0);
    return TRUE;
}

static void fake_manager_handler_init(FakeManagerHandler *self) { (void)self; }

static void fake_manager_handler_class_init(FakeManagerHandlerClass *klass)
{
    osqueryExtensionHandlerClass *ext = (osqueryExtensionHandlerClass *)klass;
    osqueryExtensionManagerHandlerClass *mgr = (osqueryExtensionManagerHandlerClass *)klass;
    ext->ping = h_ping;
    ext->call = h_call;
    ext->shutdown = h_shutdown;
    mgr->extensions = h_extensions;
    mgr->options = h_options;
    mgr->register_extension = h_register;
    mgr->deregister_extension = h_deregister;
    mgr->query = h_query;
    mgr->get_query_columns = h_query_columns;
}

/* --- serving */

typedef struct {
    fake_osqueryd *f;
    int fd;
} conn_job;

/* Is a next message on its way? FALSE when the peer hung up or stayed
 * silent: checked before the processor reads, because Thrift's dispatcher
 * g_warning()s about every clean hang-up between messages. */
static gboolean message_pending(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    char c;
    int n;
    while ((n = poll(&p, 1, CONN_IO_TIMEOUT_MS)) < 0 && errno == EINTR) {
    }
    return n > 0 && recv(fd, &c, 1, MSG_PEEK) == 1;
}

static gpointer serve_connection(gpointer data)
{
    conn_job *job = data;
    fake_osqueryd *f = job->f;
    orchard_thrift_conn *conn = orchard_thrift_conn_new(job->fd);
    GError *err = NULL;

    /* Our clients never pipeline, so nothing waits in Thrift's read buffer
     * when the socket itself is empty. */
    while (message_pending(job->fd) &&
           thrift_processor_process(f->processor, conn->proto, conn->proto, &err)) {
    }
    g_clear_error(&err);
    orchard_thrift_conn_free(conn);
    /* Close under the lock so stop() never shuts down a reused fd number. */
    g_mutex_lock(&f->lock);
    g_hash_table_remove(f->conn_fds, GINT_TO_POINTER(job->fd));
    close(job->fd);
    g_mutex_unlock(&f->lock);
    g_free(job);
    return NULL;
}

static gpointer accept_loop(gpointer data)
{
    fake_osqueryd *f = data;
    struct pollfd fds[2] = {{f->listen_fd, POLLIN, 0}, {f->wake[0], POLLIN, 0}};

    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break;
        int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        orchard_socket_set_timeouts(fd, CONN_IO_TIMEOUT_MS);
        conn_job *job = g_new(conn_job, 1);
        job->f = f;
        job->fd = fd;
        g_mutex_lock(&f->lock);
        g_hash_table_add(f->conn_fds, GINT_TO_POINTER(fd));
        g_ptr_array_add(f->conn_threads, g_thread_new("fake-osqd-conn", serve_connection, job));
        g_mutex_unlock(&f->lock);
    }
    return NULL;
}

static void init_state(fake_osqueryd *f, const char *const *existing_tables)
{
    g_mutex_init(&f->lock);
    g_cond_init(&f->changed);
    f->conn_threads = g_ptr_array_new();
    f->conn_fds = g_hash_table_new(NULL, NULL);
    f->history = g_ptr_array_new_with_free_func(registration_free);
    f->current = g_hash_table_new(g_int64_hash, g_int64_equal);
    f->deregistered = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    f->existing = g_strdupv((char **)existing_tables);
    f->next_uuid = FIRST_UUID;
    f->wake[0] = f->wake[1] = -1;
    f->listen_fd = -1;
}

fake_osqueryd *fake_osqueryd_start(const char *const *existing_tables)
{
    GError *err = NULL;
    fake_osqueryd *f = g_new0(fake_osqueryd, 1);

    init_state(f, existing_tables);
    f->dir = g_dir_make_tmp("orchard-osqd-XXXXXX", &err);
    if (!f->dir) {
        fprintf(stderr, "fake osqueryd: temp dir: %s\n", err->message);
        g_clear_error(&err);
        goto fail;
    }
    f->socket = g_build_filename(f->dir, "osquery.em", NULL);
    f->listen_fd = orchard_unix_listen(f->socket);
    if (f->listen_fd < 0 || pipe2(f->wake, O_CLOEXEC) != 0) {
        fprintf(stderr, "fake osqueryd: cannot listen on %s\n", f->socket);
        goto fail;
    }
    f->handler = g_object_new(fake_manager_handler_get_type(), NULL);
    ((FakeManagerHandler *)f->handler)->f = f;
    f->processor = g_object_new(OSQUERY_TYPE_EXTENSION_MANAGER_PROCESSOR, "handler", f->handler,
                                NULL);
    f->acceptor = g_thread_new("fake-osqd-accept", accept_loop, f);
    return f;
fail:
    fake_osqueryd_stop(f);
    return NULL;
}

static void remove_dir(const char *dir)
{
    GDir *d = dir ? g_dir_open(dir, 0, NULL) : NULL;
    const char *name;
    if (!d)
        return;
    while ((name = g_dir_read_name(d)) != NULL) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_unlink(p);
    }
    g_dir_close(d);
    g_rmdir(dir);
}

/* End open connections, then wait for their threads. */
static void stop_connections(fake_osqueryd *f)
{
    GHashTableIter it;
    gpointer key;

    g_mutex_lock(&f->lock);
    g_hash_table_iter_init(&it, f->conn_fds);
    while (g_hash_table_iter_next(&it, &key, NULL))
        shutdown(GPOINTER_TO_INT(key), SHUT_RDWR);
    GPtrArray *threads = f->conn_threads;
    f->conn_threads = g_ptr_array_new();
    g_mutex_unlock(&f->lock);
    for (guint i = 0; i < threads->len; i++)
        g_thread_join(g_ptr_array_index(threads, i));
    g_ptr_array_unref(threads);
}

void fake_osqueryd_stop(fake_osqueryd *f)
{
    if (!f)
        return;
    if (f->acceptor) {
        (void)!write(f->wake[1], "x", 1);
        g_thread_join(f->acceptor);
    }
    if (f->listen_fd >= 0)
        close(f->listen_fd);
    stop_connections(f);
    if (f->processor)
        g_object_unref(f->processor);
    if (f->handler)
        g_object_unref(f->handler);
    for (int i = 0; i < 2; i++)
        if (f->wake[i] >= 0)
            close(f->wake[i]);
    remove_dir(f->dir);
    g_ptr_array_unref(f->conn_threads);
    g_hash_table_destroy(f->conn_fds);
    g_hash_table_destroy(f->current);
    g_hash_table_destroy(f->deregistered);
    g_ptr_array_unref(f->history);
    g_strfreev(f->existing);
    g_mutex_clear(&f->lock);
    g_cond_clear(&f->changed);
    g_free(f->socket);
    g_free(f->dir);
    g_free(f);
}

const char *fake_osqueryd_socket(const fake_osqueryd *f) { return f->socket; }

char *fake_osqueryd_file(const fake_osqueryd *f, const char *name)
{
    return g_build_filename(f->dir, name, NULL);
}

char *fake_osqueryd_ext_socket(const fake_osqueryd *f, gint64 uuid)
{
    return g_strdup_printf("%s.%" G_GINT64_FORMAT, f->socket, uuid);
}

guint fake_osqueryd_registration_count(fake_osqueryd *f)
{
    g_mutex_lock(&f->lock);
    guint n = f->history->len;
    g_mutex_unlock(&f->lock);
    return n;
}

gboolean fake_osqueryd_wait_registrations(fake_osqueryd *f, guint n, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    gboolean ok = TRUE;
    g_mutex_lock(&f->lock);
    while (f->history->len < n && ok)
        ok = g_cond_wait_until(&f->changed, &f->lock, deadline);
    ok = f->history->len >= n;
    g_mutex_unlock(&f->lock);
    return ok;
}

const fake_registration *fake_osqueryd_registration(fake_osqueryd *f, guint i)
{
    g_mutex_lock(&f->lock);
    const fake_registration *r = i < f->history->len ? g_ptr_array_index(f->history, i) : NULL;
    g_mutex_unlock(&f->lock);
    return r;
}

gboolean fake_osqueryd_wait_deregistered(fake_osqueryd *f, gint64 uuid, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    gboolean ok = TRUE;
    g_mutex_lock(&f->lock);
    while (!g_hash_table_contains(f->deregistered, &uuid) && ok)
        ok = g_cond_wait_until(&f->changed, &f->lock, deadline);
    ok = g_hash_table_contains(f->deregistered, &uuid);
    g_mutex_unlock(&f->lock);
    return ok;
}

void fake_osqueryd_forget_all(fake_osqueryd *f)
{
    GHashTableIter it;
    gpointer value;

    g_mutex_lock(&f->lock);
    g_hash_table_iter_init(&it, f->current);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        g_autofree char *path = fake_osqueryd_ext_socket(f, ((fake_registration *)value)->uuid);
        g_unlink(path);
    }
    g_hash_table_remove_all(f->current);
    g_mutex_unlock(&f->lock);
}

void fake_osqueryd_remove_socket(fake_osqueryd *f)
{
    g_unlink(f->socket);
}

const char *fake_registration_column(const fake_registration *r, const char *table,
                                     const char *column, const char *key)
{
    GPtrArray *cols = r ? g_hash_table_lookup(r->tables, table) : NULL;
    for (guint i = 0; cols && i < cols->len; i++) {
        GHashTable *c = g_ptr_array_index(cols, i);
        const char *name = g_hash_table_lookup(c, "name");
        if (name && strcmp(name, column) == 0)
            return g_hash_table_lookup(c, key);
    }
    return NULL;
}

/* --- client of the extension's socket */

typedef struct {
    int fd;
    orchard_thrift_conn *conn;
    osqueryExtensionIf *client;
} ext_conn;

static int ext_open(const char *path, int timeout_ms, ext_conn *c, char **error_msg)
{
    c->fd = orchard_unix_connect(path, timeout_ms);
    c->conn = NULL;
    c->client = NULL;
    if (c->fd < 0) {
        if (error_msg)
            *error_msg = g_strdup_printf("cannot connect to %s (%d)", path, c->fd);
        return -1;
    }
    c->conn = orchard_thrift_conn_new(c->fd);
    c->client = g_object_new(OSQUERY_TYPE_EXTENSION_CLIENT, "input_protocol", c->conn->proto,
                             "output_protocol", c->conn->proto, NULL);
    return 0;
}

static void ext_close(ext_conn *c)
{
    if (c->client)
        g_object_unref(c->client);
    orchard_thrift_conn_free(c->conn);
    if (c->fd >= 0)
        close(c->fd);
}

static int rpc_result(gboolean ok, const char *what, GError *err, char **error_msg)
{
    if (ok)
        return 0;
    if (error_msg)
        *error_msg = g_strdup_printf("%s: %s", what, err ? err->message : "failed");
    g_clear_error(&err);
    return -1;
}

int fake_ext_ping(const char *path, int timeout_ms, int *code, char **error_msg)
{
    ext_conn c;
    GError *err = NULL;
    if (ext_open(path, timeout_ms, &c, error_msg) != 0)
        return -1;
    osqueryExtensionStatus *st = g_object_new(OSQUERY_TYPE_EXTENSION_STATUS, NULL);
    int rc = rpc_result(osquery_extension_if_ping(c.client, &st, &err), "ping", err, error_msg);
    if (rc == 0 && code)
        *code = st->code;
    g_object_unref(st);
    ext_close(&c);
    return rc;
}

int fake_ext_call(const char *path, int timeout_ms, const char *registry, const char *item,
                  GHashTable *request, osqueryExtensionResponse **out, char **error_msg)
{
    ext_conn c;
    GError *err = NULL;
    *out = NULL;
    if (ext_open(path, timeout_ms, &c, error_msg) != 0)
        return -1;
    osqueryExtensionResponse *resp = g_object_new(OSQUERY_TYPE_EXTENSION_RESPONSE, NULL);
    int rc = rpc_result(osquery_extension_if_call(c.client, &resp, registry, item, request, &err),
                        "call", err, error_msg);
    if (rc == 0)
        *out = resp;
    else
        g_object_unref(resp);
    ext_close(&c);
    return rc;
}

int fake_ext_table_call(const char *path, int timeout_ms, const char *table,
                        const char *action, const char *context,
                        osqueryExtensionResponse **out, char **error_msg)
{
    GHashTable *req = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(req, "action", (gpointer)action);
    if (context)
        g_hash_table_insert(req, "context", (gpointer)context);
    int rc = fake_ext_call(path, timeout_ms, "table", table, req, out, error_msg);
    g_hash_table_destroy(req);
    return rc;
}

int fake_ext_shutdown(const char *path, int timeout_ms, char **error_msg)
{
    ext_conn c;
    GError *err = NULL;
    if (ext_open(path, timeout_ms, &c, error_msg) != 0)
        return -1;
    int rc = rpc_result(osquery_extension_if_shutdown(c.client, &err), "shutdown", err,
                        error_msg);
    ext_close(&c);
    return rc;
}
