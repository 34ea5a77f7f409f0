/* The store's SQLite backend (store_backend.h): one file in WAL mode, one
 * writer connection that write transactions take in turn (the "one writer
 * path"), and a small pool of reader connections whose transactions are
 * snapshots running beside the writer. Read-only (`orchard query`): the
 * readers alone, and no file is created. Connections and statements:
 * store_sqlite_conn.c. */
#include "host/store/store_sqlite.h"

#include "host/store/store_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <orchard/plugin.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    orchard_store_backend base; /* first: base.self points at this struct */
    char *path;
    orchard_store_options opts;
    GMutex lock;                /* guards what follows, not the connections */
    /* The writer. A flag under `lock` rather than a mutex held across the
     * transaction: waiting must time out (store.busy_timeout_ms), and a
     * transaction may end on another thread than the one that began it,
     * which a pthread mutex forbids. */
    sqlite_conn *writer;
    int writer_taken;
    GCond writer_free;
    /* Readers: opened on demand up to opts.read_connections. */
    GPtrArray *idle_readers;    /* sqlite_conn* */
    unsigned n_readers;         /* open ones, idle or lent */
    GCond reader_free;
} sqlite_store;

/* --- the file */

/* Create the database file 0600 (it holds device secrets: push magic,
 * enrollment tokens, issued certificates), never its directory: a missing
 * directory is a misconfiguration to report, not to paper over. SQLite
 * gives the -wal and -shm files the database file's mode. */
static int create_file(const char *path, char **error_msg)
{
    g_autofree char *dir = g_path_get_dirname(path);
    int fd;

    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        *error_msg = g_strdup_printf("%s: directory %s does not exist (orchard does not "
                                     "create it)", path, dir);
        return ORCHARD_ENOTFOUND;
    }
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return 0; /* an existing file keeps the mode its admin gave it */
        *error_msg = g_strdup_printf("%s: cannot create: %s", path, g_strerror(errno));
        return ORCHARD_EIO;
    }
    /* The umask may only have taken bits away; make it exactly 0600. */
    if (fchmod(fd, 0600) != 0) {
        *error_msg = g_strdup_printf("%s: cannot chmod 0600: %s", path, g_strerror(errno));
        close(fd);
        return ORCHARD_EIO;
    }
    close(fd);
    return 0;
}

/* Read-only: the file must be there already; nothing here creates it. */
static int require_file(const char *path, char **error_msg)
{
    GStatBuf sb;

    if (g_stat(path, &sb) == 0 && sb.st_size > 0)
        return 0;
    if (errno == ENOENT || sb.st_size == 0) {
        *error_msg = g_strdup_printf("there is no store at %s yet (`orchard serve` creates it; "
                                     "a read-only open creates nothing)", path);
        return ORCHARD_ENOTFOUND;
    }
    *error_msg = g_strdup_printf("%s: %s", path, g_strerror(errno));
    return ORCHARD_EIO;
}

/* --- taking and giving back connections */

static gint64 deadline_of(const sqlite_store *s)
{
    return g_get_monotonic_time() + (gint64)s->opts.busy_timeout_ms * G_TIME_SPAN_MILLISECOND;
}

/* Wait for the writer in this process; then SQLite waits for other processes. */
static int take_writer(sqlite_store *s, gint64 deadline, char **error_msg)
{
    g_mutex_lock(&s->lock);
    while (s->writer_taken)
        if (!g_cond_wait_until(&s->writer_free, &s->lock, deadline) && s->writer_taken) {
            g_mutex_unlock(&s->lock);
            *error_msg = g_strdup_printf("another write transaction of this process held "
                                         "the store past store.busy_timeout_ms (%u ms)",
                                         s->opts.busy_timeout_ms);
            return ORCHARD_EBUSY;
        }
    s->writer_taken = 1;
    g_mutex_unlock(&s->lock);
    return 0;
}

static void give_writer(sqlite_store *s)
{
    g_mutex_lock(&s->lock);
    s->writer_taken = 0;
    g_cond_signal(&s->writer_free);
    g_mutex_unlock(&s->lock);
}

static int take_reader(sqlite_store *s, gint64 deadline, sqlite_conn **out, char **error_msg)
{
    int rc;

    g_mutex_lock(&s->lock);
    while (s->idle_readers->len == 0 && s->n_readers >= s->opts.read_connections)
        if (!g_cond_wait_until(&s->reader_free, &s->lock, deadline) &&
            s->idle_readers->len == 0 && s->n_readers >= s->opts.read_connections) {
            g_mutex_unlock(&s->lock);
            *error_msg = g_strdup_printf("all %u read connections stayed in use past "
                                         "store.busy_timeout_ms (%u ms)",
                                         s->opts.read_connections, s->opts.busy_timeout_ms);
            return ORCHARD_EBUSY;
        }
    if (s->idle_readers->len > 0) {
        *out = g_ptr_array_steal_index_fast(s->idle_readers, s->idle_readers->len - 1);
        g_mutex_unlock(&s->lock);
        return 0;
    }
    s->n_readers++;
    g_mutex_unlock(&s->lock);
    if ((rc = sqlite_conn_open(s->path, 0, s->opts.busy_timeout_ms, out, error_msg)) != 0) {
        g_mutex_lock(&s->lock);
        s->n_readers--;
        g_cond_signal(&s->reader_free);
        g_mutex_unlock(&s->lock);
    }
    return rc;
}

static void give_reader(sqlite_store *s, sqlite_conn *c)
{
    g_mutex_lock(&s->lock);
    if (sqlite3_get_autocommit(c->db)) {
        g_ptr_array_add(s->idle_readers, c);
    } else {
        /* Still inside a transaction after ROLLBACK: not fit to lend again. */
        s->n_readers--;
        sqlite_conn_close(c);
    }
    g_cond_signal(&s->reader_free);
    g_mutex_unlock(&s->lock);
}

static void give_back(sqlite_store *s, sqlite_conn *c)
{
    if (c->write)
        give_writer(s);
    else
        give_reader(s, c);
}

/* --- transactions */

/* End whatever transaction c is in; the error text of the caller survives. */
static void end_tx(sqlite_conn *c)
{
    char *keep = c->msg;

    c->msg = NULL;
    if (!sqlite3_get_autocommit(c->db))
        sqlite_conn_run(c, "ROLLBACK");
    g_free(c->msg);
    c->msg = keep;
}

static int begin_write(sqlite_store *s, sqlite_conn **conn, char **error_msg)
{
    gint64 deadline = deadline_of(s);
    sqlite_conn *w = s->writer;
    int rc;

    if ((rc = take_writer(s, deadline, error_msg)) != 0)
        return rc;
    end_tx(w); /* defensive: a ROLLBACK that failed earlier */
    /* What is left of the timeout goes to SQLite's wait for other processes. */
    gint64 left_ms = MAX(0, (deadline - g_get_monotonic_time()) / G_TIME_SPAN_MILLISECOND);
    sqlite3_busy_timeout(w->db, (int)left_ms);
    /* IMMEDIATE takes the write lock now, not at the first write, so two
     * writers can't both read and then fail to upgrade (SQLITE_BUSY_SNAPSHOT). */
    if ((rc = sqlite_conn_run(w, "BEGIN IMMEDIATE")) != 0) {
        *error_msg = rc == ORCHARD_EBUSY
            ? g_strdup_printf("%s: another process held the write lock past "
                              "store.busy_timeout_ms (%u ms)", w->msg, s->opts.busy_timeout_ms)
            : g_strdup(w->msg);
        give_writer(s);
        return rc;
    }
    *conn = w;
    return 0;
}

static int begin_read(sqlite_store *s, sqlite_conn **conn, char **error_msg)
{
    sqlite_conn *r = NULL;
    int rc;

    if ((rc = take_reader(s, deadline_of(s), &r, error_msg)) != 0)
        return rc;
    /* BEGIN alone takes no snapshot: the first read does. Read now, so the
     * snapshot is the database as of begin, whatever the caller does next. */
    rc = sqlite_conn_run(r, "BEGIN");
    if (rc == 0)
        rc = sqlite_conn_run(r, "SELECT count(*) FROM sqlite_master");
    if (rc != 0) {
        *error_msg = g_strdup(r->msg);
        end_tx(r);
        give_reader(s, r);
        return rc;
    }
    *conn = r;
    return 0;
}

static int sq_begin(void *self, int write, void **conn, char **error_msg)
{
    sqlite_store *s = self;
    sqlite_conn *c = NULL;
    int rc;

    if (write && !s->writer) {
        *conn = NULL;
        *error_msg = g_strdup_printf("%s is open read-only here: no write transactions",
                                     s->path);
        return ORCHARD_EINVAL;
    }
    rc = write ? begin_write(s, &c, error_msg) : begin_read(s, &c, error_msg);
    *conn = c;
    return rc;
}

static int sq_commit(void *self, void *conn, char **error_msg)
{
    sqlite_conn *c = conn;
    int rc = sqlite_conn_run(c, "COMMIT");

    if (rc != 0) {
        *error_msg = g_strdup(c->msg);
        end_tx(c);
    }
    give_back(self, c);
    return rc;
}

static void sq_rollback(void *self, void *conn)
{
    end_tx(conn);
    give_back(self, conn);
}

static const char *sq_errmsg(void *self, void *conn)
{
    (void)self;
    const sqlite_conn *c = conn;
    return c && c->msg ? c->msg : "";
}

/* --- statements: straight to SQLite, on the statement's own connection */

static int sq_exec(void *self, void *conn, const char *script)
{
    (void)self;
    return sqlite_conn_exec(conn, script);
}

static int sq_prepare(void *self, void *conn, const char *sql, void **stmt)
{
    (void)self;
    sqlite_stmt *st = NULL;
    int rc = sqlite_conn_prepare(conn, sql, &st);
    *stmt = st;
    return rc;
}

static int bind_result(sqlite_stmt *st, int rc)
{
    return rc == SQLITE_OK ? 0 : sqlite_conn_fail(st->conn, rc);
}

static int sq_bind_int(void *stmt, int i, int64_t value)
{
    sqlite_stmt *st = stmt;
    return bind_result(st, sqlite3_bind_int64(st->s, i, value));
}

static int sq_bind_text(void *stmt, int i, const char *value)
{
    sqlite_stmt *st = stmt;
    return bind_result(st, value ? sqlite3_bind_text(st->s, i, value, -1, SQLITE_TRANSIENT)
                                 : sqlite3_bind_null(st->s, i));
}

static int sq_bind_blob(void *stmt, int i, const void *value, size_t len)
{
    sqlite_stmt *st = stmt;
    /* A non-NULL pointer of length 0 is an empty blob, not NULL. */
    return bind_result(st, value ? sqlite3_bind_blob64(st->s, i, value, len, SQLITE_TRANSIENT)
                                 : sqlite3_bind_null(st->s, i));
}

static int sq_step(void *stmt) { return sqlite_stmt_step(stmt); }

static int sq_column_is_null(void *stmt, int i)
{
    return sqlite3_column_type(((sqlite_stmt *)stmt)->s, i) == SQLITE_NULL;
}

static int64_t sq_column_int(void *stmt, int i)
{
    return sqlite3_column_int64(((sqlite_stmt *)stmt)->s, i);
}

static const char *sq_column_text(void *stmt, int i)
{
    return (const char *)sqlite3_column_text(((sqlite_stmt *)stmt)->s, i);
}

static const void *sq_column_blob(void *stmt, int i, size_t *len)
{
    sqlite3_stmt *s = ((sqlite_stmt *)stmt)->s;
    if (sqlite3_column_type(s, i) == SQLITE_NULL) {
        *len = 0;
        return NULL;
    }
    const void *p = sqlite3_column_blob(s, i); /* before _bytes, as SQLite asks */
    *len = (size_t)sqlite3_column_bytes(s, i);
    return p ? p : ""; /* SQLite gives NULL for an empty blob */
}

static int64_t sq_changes(void *stmt) { return ((sqlite_stmt *)stmt)->changes; }

static void sq_finish(void *self, void *conn, void *stmt)
{
    (void)self;
    sqlite_conn_finish(conn, stmt);
}

/* --- open and close */

static void sq_close(void *self)
{
    sqlite_store *s = self;

    for (guint i = 0; i < s->idle_readers->len; i++)
        sqlite_conn_close(g_ptr_array_index(s->idle_readers, i));
    g_ptr_array_unref(s->idle_readers);
    if (s->writer) {
        /* PASSIVE: copy what no reader of another process still needs, without
         * waiting for them; closing the last connection then removes the WAL
         * when nobody else has the file open. */
        sqlite3_wal_checkpoint_v2(s->writer->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        sqlite_conn_close(s->writer);
    }
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->writer_free);
    g_cond_clear(&s->reader_free);
    g_free(s->path);
    g_free(s);
}

int orchard_store_sqlite_open(const char *target, const orchard_store_options *opts,
                              orchard_store_backend **out, char **error_msg)
{
    static const orchard_store_backend ops = {
        /* version */ ORCHARD_STORE_BACKEND_VERSION,
        /* name */ "sqlite",
        /* self */ NULL,
        /* close */ sq_close,
        /* begin */ sq_begin,
        /* commit */ sq_commit,
        /* rollback */ sq_rollback,
        /* errmsg */ sq_errmsg,
        /* exec */ sq_exec,
        /* prepare */ sq_prepare,
        /* bind_int */ sq_bind_int,
        /* bind_text */ sq_bind_text,
        /* bind_blob */ sq_bind_blob,
        /* step */ sq_step,
        /* column_is_null */ sq_column_is_null,
        /* column_int */ sq_column_int,
        /* column_text */ sq_column_text,
        /* column_blob */ sq_column_blob,
        /* changes */ sq_changes,
        /* finish */ sq_finish,
    };
    sqlite_store *s;
    int rc;

    *out = NULL;
    if (!sqlite3_threadsafe()) {
        /* NOMUTEX connections still need SQLite's own shared state locked. */
        *error_msg = g_strdup("this SQLite library was built without thread support");
        return ORCHARD_EIO;
    }
    rc = opts->read_only ? require_file(target, error_msg) : create_file(target, error_msg);
    if (rc != 0)
        return rc;
    s = g_new0(sqlite_store, 1);
    s->base = ops;
    s->base.self = s;
    s->path = g_strdup(target);
    s->opts = *opts;
    g_mutex_init(&s->lock);
    g_cond_init(&s->writer_free);
    g_cond_init(&s->reader_free);
    s->idle_readers = g_ptr_array_new();
    if (opts->read_only) {
        /* No writer; one reader now, so a file that is no database fails here. */
        sqlite_conn *r = NULL;
        if ((rc = take_reader(s, deadline_of(s), &r, error_msg)) != 0) {
            sq_close(s);
            return rc;
        }
        give_reader(s, r);
    } else if ((rc = sqlite_conn_open(target, 1, opts->busy_timeout_ms, &s->writer,
                                      error_msg)) != 0) {
        sq_close(s);
        return rc;
    }
    *out = &s->base;
    return 0;
}
