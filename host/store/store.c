/* The host's store: the store_* and stmt_* functions of orchard_host_api
 * (since ABI 1.1) on top of whichever backend is open (store_backend.h).
 * Plugins -> these functions -> backend (store_sqlite.c). Here live the
 * rules every backend shares: which backend config names, lazy open, close
 * waiting for transactions, a failed statement dooming its transaction,
 * statement states, and statements left open at commit. */
#include "host/store/store.h"

#include "host/config.h"
#include "host/log.h"
#include "host/store/store_backend.h"

#include <glib.h>
#include <stdarg.h>
#include <string.h>

#define COMPONENT "store"
#define DEFAULT_BUSY_TIMEOUT_MS 5000u
#define MAX_BUSY_TIMEOUT_MS 3600000u
#define DEFAULT_READ_CONNECTIONS 4u
#define MAX_READ_CONNECTIONS 64u
#define DEFAULT_MAX_CONNECTIONS 8u
#define MAX_MAX_CONNECTIONS 64u

/* The backends this host knows, by the config key that selects one. Exactly
 * one key may be set; orchard_store_open() picks by the target's prefix. */
typedef struct {
    const char *config_key;
    const char *const *prefixes;         /* targets it claims; NULL: the rest */
    orchard_store_backend_open_fn open;  /* NULL: not in this build */
} backend_kind;

static const char *const postgres_prefixes[] = {"postgres://", "postgresql://", NULL};

static const backend_kind kinds[] = {
    {"store.sqlite", NULL, orchard_store_sqlite_open},
    /* PostgreSQL: the module orchard_store_postgres.so, loaded on first use
     * (store_pg_loader.c; the backend is host/store/postgres/). */
    {"store.postgres", postgres_prefixes, orchard_store_postgres_open},
};

enum { STMT_READY, STMT_ROW, STMT_DONE, STMT_FAILED };

struct orchard_store_tx {
    orchard_store_backend *be;
    void *conn;
    int write;
    int failed;            /* the first failure's code; 0 while healthy */
    char *errmsg;          /* the last failure's message; NULL: none */
    orchard_stmt *stmts;   /* open statements, finished at the end */
};

struct orchard_stmt {
    orchard_store_tx *tx;
    void *b;               /* the backend's statement */
    int state;
    orchard_stmt *prev, *next;
};

/* One store per process. `lock` guards the fields, not the database: the
 * backend does its own locking, so transactions run without holding it. */
static struct {
    GMutex lock;
    GCond idle;            /* broadcast when open_tx drops to 0 */
    orchard_store_backend *be;
    char *target;          /* what be was opened on, for messages */
    unsigned open_tx;
    int closing;
    int read_only;         /* orchard_store_set_read_only */
} store;

/* --- options and backend choice */

static int option_uint(const char *key, unsigned def, unsigned min, unsigned max,
                       unsigned *out, char **error_msg)
{
    const char *v = orchard_config_get(orchard_config_global(), key);
    guint64 n;

    *out = def;
    if (!v)
        return 0;
    if (!g_ascii_string_to_unsigned(v, 10, min, max, &n, NULL)) {
        *error_msg = g_strdup_printf("%s: \"%s\" is not a number from %u to %u",
                                     key, v, min, max);
        return ORCHARD_EINVAL;
    }
    *out = (unsigned)n;
    return 0;
}

/* Called with store.lock held. */
static int read_options(orchard_store_options *o, char **error_msg)
{
    o->read_only = store.read_only;
    int rc = option_uint("store.busy_timeout_ms", DEFAULT_BUSY_TIMEOUT_MS, 0,
                         MAX_BUSY_TIMEOUT_MS, &o->busy_timeout_ms, error_msg);
    if (rc == 0)
        rc = option_uint("store.read_connections", DEFAULT_READ_CONNECTIONS, 1,
                         MAX_READ_CONNECTIONS, &o->read_connections, error_msg);
    if (rc == 0)
        rc = option_uint("store.max_connections", DEFAULT_MAX_CONNECTIONS, 1,
                         MAX_MAX_CONNECTIONS, &o->max_connections, error_msg);
    return rc;
}

static const backend_kind *kind_for_target(const char *target)
{
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
        for (size_t j = 0; kinds[i].prefixes && kinds[i].prefixes[j]; j++)
            if (g_str_has_prefix(target, kinds[i].prefixes[j]))
                return &kinds[i];
    return &kinds[0];
}

/* Called with store.lock held. */
static int open_locked(const backend_kind *kind, const char *target, char **error_msg)
{
    orchard_store_options opts;
    orchard_store_backend *be = NULL;
    int rc;

    if (!kind->open) {
        *error_msg = g_strdup_printf("%s is set, but this build of orchard has no "
                                     "backend for it", kind->config_key);
        return ORCHARD_ENOTFOUND;
    }
    if ((rc = read_options(&opts, error_msg)) != 0)
        return rc;
    if ((rc = kind->open(target, &opts, &be, error_msg)) != 0)
        return rc;
    if (be->version != ORCHARD_STORE_BACKEND_VERSION) {
        *error_msg = g_strdup_printf("store backend %s has interface version %u, "
                                     "the host needs %u", be->name, be->version,
                                     ORCHARD_STORE_BACKEND_VERSION);
        be->close(be->self);
        return ORCHARD_EABI;
    }
    store.be = be;
    /* For messages: a PostgreSQL target may carry a password. */
    store.target = kind->open == orchard_store_postgres_open
                       ? orchard_store_postgres_redact(target) : g_strdup(target);
    return 0;
}

/* A store call before any orchard_store_open() opens what config names.
 * Called with store.lock held; logs why it fails, as nobody else can. */
static int ensure_open_locked(void)
{
    const backend_kind *chosen = NULL;
    const char *target = NULL;
    g_autofree char *msg = NULL;
    int rc;

    if (store.be)
        return 0;
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        const char *v = orchard_config_get(orchard_config_global(), kinds[i].config_key);
        if (!v || !*v)
            continue;
        if (chosen) {
            orchard_error(COMPONENT, "%s and %s are both set: set only the one "
                          "store to use", chosen->config_key, kinds[i].config_key);
            return ORCHARD_EINVAL;
        }
        chosen = &kinds[i];
        target = v;
    }
    if (!chosen) {
        orchard_error(COMPONENT, "store.sqlite is not set: set it in the config file "
                      "(store: {sqlite: /var/lib/orchard/orchard.db}) or in "
                      "ORCHARD_STORE_SQLITE");
        return ORCHARD_ENOTCONFIGURED;
    }
    if ((rc = open_locked(chosen, target, &msg)) != 0)
        orchard_error(COMPONENT, "cannot open the store: %s", msg);
    return rc;
}

/* --- lifecycle */

int orchard_store_open(const char *target, char **error_msg)
{
    int rc;

    if (!target || !*target) {
        *error_msg = g_strdup("orchard_store_open: no target");
        return ORCHARD_EINVAL;
    }
    g_mutex_lock(&store.lock);
    if (store.be || store.closing) {
        *error_msg = g_strdup("the store is already open");
        rc = ORCHARD_EEXIST;
    } else {
        rc = open_locked(kind_for_target(target), target, error_msg);
    }
    g_mutex_unlock(&store.lock);
    return rc;
}

void orchard_store_close(void)
{
    g_mutex_lock(&store.lock);
    if (!store.be || store.closing) {
        g_mutex_unlock(&store.lock);
        return;
    }
    store.closing = 1;
    while (store.open_tx > 0)
        g_cond_wait(&store.idle, &store.lock);
    store.be->close(store.be->self);
    store.be = NULL;
    g_clear_pointer(&store.target, g_free);
    store.closing = 0;
    g_mutex_unlock(&store.lock);
}

int orchard_store_is_open(void)
{
    g_mutex_lock(&store.lock);
    int open = store.be != NULL && !store.closing;
    g_mutex_unlock(&store.lock);
    return open;
}

void orchard_store_set_read_only(int read_only)
{
    g_mutex_lock(&store.lock);
    store.read_only = read_only ? 1 : 0;
    g_mutex_unlock(&store.lock);
}

int orchard_store_is_read_only(void)
{
    g_mutex_lock(&store.lock);
    int ro = store.read_only;
    g_mutex_unlock(&store.lock);
    return ro;
}

int orchard_store_readable(void)
{
    orchard_config *cfg = orchard_config_global();
    const char *path = orchard_config_get(cfg, "store.sqlite");
    const char *pg = orchard_config_get(cfg, "store.postgres");

    if (orchard_store_is_open() || (pg && *pg))
        return 1;
    return path && *path && g_file_test(path, G_FILE_TEST_EXISTS);
}

const char *orchard_store_dialect(void)
{
    g_mutex_lock(&store.lock);
    const char *d = store.be && !store.closing ? store.be->name : NULL;
    g_mutex_unlock(&store.lock);
    return d;
}

char *orchard_store_target(void)
{
    g_mutex_lock(&store.lock);
    char *t = g_strdup(store.target);
    g_mutex_unlock(&store.lock);
    return t;
}

/* --- transactions */

static void release_slot(void)
{
    g_mutex_lock(&store.lock);
    if (--store.open_tx == 0)
        g_cond_broadcast(&store.idle);
    g_mutex_unlock(&store.lock);
}

/* Record a failure of tx: the first code dooms it, the message is the last. */
static int tx_fail(orchard_store_tx *tx, int code, const char *fmt, ...) ORCHARD_PRINTF(3, 4);
static int tx_fail(orchard_store_tx *tx, int code, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_free(tx->errmsg);
    tx->errmsg = msg;
    if (!tx->failed)
        tx->failed = code;
    return code;
}

static int tx_fail_backend(orchard_store_tx *tx, int code)
{
    return tx_fail(tx, code, "%s", tx->be->errmsg(tx->be->self, tx->conn));
}

/* Refuse work in a doomed transaction, as PostgreSQL does: whatever a plugin
 * does after a failure would be rolled back anyway. */
static int tx_usable(orchard_store_tx *tx)
{
    if (!tx->failed)
        return 0;
    g_autofree char *first = g_strdup(tx->errmsg ? tx->errmsg : "");
    return tx_fail(tx, ORCHARD_EINVAL, "the transaction already failed (%s): roll it back",
                   first);
}

static void finish_all(orchard_store_tx *tx)
{
    while (tx->stmts)
        orchard_stmt_finish(tx->stmts);
}

static void tx_free(orchard_store_tx *tx)
{
    g_free(tx->errmsg);
    g_free(tx);
    release_slot();
}

int orchard_store_begin(orchard_store_tx **tx, int write)
{
    orchard_store_backend *be;
    g_autofree char *msg = NULL;
    void *conn = NULL;
    int rc;

    if (!tx)
        return ORCHARD_EINVAL;
    *tx = NULL;
    g_mutex_lock(&store.lock);
    if (store.closing) {
        g_mutex_unlock(&store.lock);
        orchard_warn(COMPONENT, "begin: the store is closing");
        return ORCHARD_EIO;
    }
    if ((rc = ensure_open_locked()) != 0) {
        g_mutex_unlock(&store.lock);
        return rc;
    }
    store.open_tx++;
    be = store.be;
    g_mutex_unlock(&store.lock);

    if ((rc = be->begin(be->self, write ? 1 : 0, &conn, &msg)) != 0) {
        orchard_warn(COMPONENT, "begin %s transaction: %s", write ? "write" : "read", msg);
        release_slot();
        return rc;
    }
    *tx = g_new0(orchard_store_tx, 1);
    (*tx)->be = be;
    (*tx)->conn = conn;
    (*tx)->write = write ? 1 : 0;
    return 0;
}

int orchard_store_commit(orchard_store_tx *tx)
{
    int rc;

    if (!tx)
        return ORCHARD_EINVAL;
    finish_all(tx);
    if (tx->failed) {
        rc = tx->failed;
        tx->be->rollback(tx->be->self, tx->conn);
    } else {
        g_autofree char *msg = NULL;
        if ((rc = tx->be->commit(tx->be->self, tx->conn, &msg)) != 0)
            /* The caller loses tx, and with it errmsg: say why here. */
            orchard_warn(COMPONENT, "commit failed, rolled back: %s", msg);
    }
    tx_free(tx);
    return rc;
}

void orchard_store_rollback(orchard_store_tx *tx)
{
    if (!tx)
        return;
    finish_all(tx);
    tx->be->rollback(tx->be->self, tx->conn);
    tx_free(tx);
}

const char *orchard_store_errmsg(const orchard_store_tx *tx)
{
    return tx && tx->errmsg ? tx->errmsg : "";
}

int orchard_store_exec(orchard_store_tx *tx, const char *script)
{
    int rc;

    if (!tx)
        return ORCHARD_EINVAL;
    if ((rc = tx_usable(tx)) != 0)
        return rc;
    if (!script)
        return tx_fail(tx, ORCHARD_EINVAL, "exec: no script");
    if (!tx->write)
        return tx_fail(tx, ORCHARD_EINVAL, "exec needs a write transaction");
    if ((rc = tx->be->exec(tx->be->self, tx->conn, script)) != 0)
        return tx_fail_backend(tx, rc);
    return 0;
}

/* --- statements */

int orchard_stmt_prepare(orchard_store_tx *tx, const char *sql, orchard_stmt **stmt)
{
    void *b = NULL;
    int rc;

    if (!stmt)
        return tx ? tx_fail(tx, ORCHARD_EINVAL, "stmt_prepare: stmt is NULL") : ORCHARD_EINVAL;
    *stmt = NULL;
    if (!tx)
        return ORCHARD_EINVAL;
    if ((rc = tx_usable(tx)) != 0)
        return rc;
    if (!sql)
        return tx_fail(tx, ORCHARD_EINVAL, "stmt_prepare: sql is NULL");
    if (orchard_store_sql_is_tx_control(sql))
        return tx_fail(tx, ORCHARD_EINVAL, "transactions belong to the store: use "
                       "store_begin and store_commit, not \"%.40s\"", sql);
    if ((rc = tx->be->prepare(tx->be->self, tx->conn, sql, &b)) != 0)
        return tx_fail_backend(tx, rc);
    orchard_stmt *s = g_new0(orchard_stmt, 1);
    s->tx = tx;
    s->b = b;
    s->next = tx->stmts;
    if (tx->stmts)
        tx->stmts->prev = s;
    tx->stmts = s;
    *stmt = s;
    return 0;
}

/* Shared checks of the bind functions. */
static int bindable(orchard_stmt *stmt)
{
    int rc;

    if (!stmt)
        return ORCHARD_EINVAL;
    if ((rc = tx_usable(stmt->tx)) != 0)
        return rc;
    if (stmt->state != STMT_READY)
        return tx_fail(stmt->tx, ORCHARD_EINVAL,
                       "bind parameters before the first step of a statement");
    return 0;
}

static int bound(orchard_stmt *stmt, int rc)
{
    return rc == 0 ? 0 : tx_fail_backend(stmt->tx, rc);
}

int orchard_stmt_bind_int(orchard_stmt *stmt, int i, int64_t value)
{
    int rc = bindable(stmt);
    return rc ? rc : bound(stmt, stmt->tx->be->bind_int(stmt->b, i, value));
}

int orchard_stmt_bind_text(orchard_stmt *stmt, int i, const char *value)
{
    int rc = bindable(stmt);
    return rc ? rc : bound(stmt, stmt->tx->be->bind_text(stmt->b, i, value));
}

int orchard_stmt_bind_blob(orchard_stmt *stmt, int i, const void *value, size_t len)
{
    int rc = bindable(stmt);
    if (rc == 0 && !value && len > 0)
        return tx_fail(stmt->tx, ORCHARD_EINVAL, "bind_blob: NULL value with length %zu", len);
    return rc ? rc : bound(stmt, stmt->tx->be->bind_blob(stmt->b, i, value, len));
}

int orchard_stmt_step(orchard_stmt *stmt)
{
    int rc;

    if (!stmt)
        return ORCHARD_EINVAL;
    if ((rc = tx_usable(stmt->tx)) != 0)
        return rc;
    if (stmt->state == STMT_DONE)
        /* SQLite would silently run it again (a second INSERT); refuse. */
        return tx_fail(stmt->tx, ORCHARD_EINVAL, "the statement already ran to its "
                       "end: finish it and prepare it again");
    rc = stmt->tx->be->step(stmt->b);
    if (rc < 0) {
        stmt->state = STMT_FAILED;
        return tx_fail_backend(stmt->tx, rc);
    }
    stmt->state = rc > 0 ? STMT_ROW : STMT_DONE;
    return rc > 0 ? 1 : 0;
}

/* Columns exist only while a row is current; elsewhere they read as NULL. */
static int has_row(const orchard_stmt *stmt) { return stmt && stmt->state == STMT_ROW; }

int orchard_stmt_column_is_null(orchard_stmt *stmt, int i)
{
    return has_row(stmt) ? stmt->tx->be->column_is_null(stmt->b, i) : 1;
}

int64_t orchard_stmt_column_int(orchard_stmt *stmt, int i)
{
    return has_row(stmt) ? stmt->tx->be->column_int(stmt->b, i) : 0;
}

const char *orchard_stmt_column_text(orchard_stmt *stmt, int i)
{
    return has_row(stmt) ? stmt->tx->be->column_text(stmt->b, i) : NULL;
}

const void *orchard_stmt_column_blob(orchard_stmt *stmt, int i, size_t *len)
{
    size_t ignored;
    if (!len)
        len = &ignored;
    *len = 0;
    return has_row(stmt) ? stmt->tx->be->column_blob(stmt->b, i, len) : NULL;
}

int64_t orchard_stmt_changes(orchard_stmt *stmt)
{
    return stmt ? stmt->tx->be->changes(stmt->b) : 0;
}

void orchard_stmt_finish(orchard_stmt *stmt)
{
    if (!stmt)
        return;
    orchard_store_tx *tx = stmt->tx;
    if (stmt->prev)
        stmt->prev->next = stmt->next;
    else
        tx->stmts = stmt->next;
    if (stmt->next)
        stmt->next->prev = stmt->prev;
    tx->be->finish(tx->be->self, tx->conn, stmt->b);
    g_free(stmt);
}
