/* Private to server_plugin/store: the plumbing every concern's file shares
 * (the host's store API, transactions that log their failures, and typed
 * statement parameters), so each query is written once, with its types
 * checked by the compiler instead of spelled in a format string. */
#ifndef ORCHARD_SERVER_STORE_SQL_H
#define ORCHARD_SERVER_STORE_SQL_H

#include <orchard/plugin.h>

#include <glib.h>
#include <stddef.h>

#define ORCHARD_SERVER_STORE_OWNER "orchard-server"

/** One statement parameter: text (NULL binds NULL), integer or blob. */
typedef struct orchard_sql_param {
    enum { ORCHARD_SQL_TEXT, ORCHARD_SQL_INT, ORCHARD_SQL_BLOB } kind;
    const char *text;
    gint64 i;
    const void *blob;
    size_t len;
} orchard_sql_param;

#define SQL_TEXT(s) ((orchard_sql_param){.kind = ORCHARD_SQL_TEXT, .text = (s)})
#define SQL_INT(v) ((orchard_sql_param){.kind = ORCHARD_SQL_INT, .i = (gint64)(v)})
#define SQL_BLOB(p, n) ((orchard_sql_param){.kind = ORCHARD_SQL_BLOB, .blob = (p), .len = (n)})

/* SQL_PARAMS(a, b, ...) -> an array literal and its length. */
#define SQL_PARAMS(...)                                                                   \
    (const orchard_sql_param[]){__VA_ARGS__},                                             \
        sizeof((const orchard_sql_param[]){__VA_ARGS__}) / sizeof(orchard_sql_param)

/** The host API when it has a store (ABI 1.1+), else NULL. */
const orchard_host_api *orchard_sstore_host(void);

/** Log "store: <what> failed: <code>[: <store message>]". */
void orchard_sstore_log_fail(orchard_store_tx *tx, const char *what, int rc);

/** Begin a transaction; a failure is logged as `what` failing. */
int orchard_sstore_begin(int write, const char *what, orchard_store_tx **tx);

/** Prepare `sql` in `tx` and bind `params`. Returns 0 and *stmt (stmt_finish). */
int orchard_sstore_prepare(orchard_store_tx *tx, const char *sql, const orchard_sql_param *params,
                           size_t n, orchard_stmt **stmt);

/** Run one statement to its end in `tx`: rows changed, or a negative code. */
gint64 orchard_sstore_exec(orchard_store_tx *tx, const char *sql, const orchard_sql_param *params,
                           size_t n);

/**
 * One multi-row statement shape: `head`, then `row` once per item joined by
 * ", ", then `tail`. Its parameters are `lead` (bound before the rows), then
 * each row's `per_row` ones, from fill(b, i, out) for item i.
 */
typedef struct orchard_sql_batch {
    const char *head, *row, *tail;
    const orchard_sql_param *lead;
    size_t n_lead, per_row;
    void (*fill)(const struct orchard_sql_batch *b, size_t i, orchard_sql_param *out);
    const void *ud;
} orchard_sql_batch;

/** Rows per statement of orchard_sstore_exec_batch. */
#define ORCHARD_SQL_BATCH_ROWS 128

/**
 * Run `b` for n items in tx, ORCHARD_SQL_BATCH_ROWS rows a statement: each
 * statement is a round trip on PostgreSQL, and full batches share one SQL
 * text, which the store's statement cache keeps. The bound keeps a
 * statement's parameters far below either dialect's limit. Returns 0 or the
 * first statement's failure.
 */
int orchard_sstore_exec_batch(orchard_store_tx *tx, const orchard_sql_batch *b, size_t n);

/** The same in a write transaction of its own, committed; failures logged as `what`. */
gint64 orchard_sstore_write(const char *what, const char *sql, const orchard_sql_param *params,
                            size_t n);

/**
 * Read the first row of `sql` in a read transaction and hand it to `row`
 * (its return is ours). ORCHARD_ENOTFOUND when there is no row; an
 * unconfigured store is ORCHARD_EIO here, never "no such row".
 */
int orchard_sstore_read_one(const char *what, const char *sql, const orchard_sql_param *params,
                            size_t n, int (*row)(const orchard_host_api *, orchard_stmt *, void *),
                            void *out);

/**
 * End a transaction: commit when rc is 0, else roll back. A failure is
 * logged as `what` unless it is `expected` (a code the caller answers
 * itself, such as ORCHARD_EEXIST; 0 for none). Returns rc, or the commit's
 * failure.
 */
int orchard_sstore_end(orchard_store_tx *tx, int rc, const char *what, int expected);

/** Make one list element from the current row (never NULL). */
typedef void *(*orchard_sstore_row_fn)(const orchard_host_api *h, orchard_stmt *st);

/**
 * Read every row of `sql` in a read transaction into *out, a GPtrArray of
 * what `row` makes, with `free_fn` as its free function. Returns 0 and *out,
 * or a negative code (logged as `what`; *out NULL).
 */
int orchard_sstore_read_list(const char *what, const char *sql, const orchard_sql_param *params,
                             size_t n, orchard_sstore_row_fn row, GDestroyNotify free_fn,
                             GPtrArray **out);

/**
 * The LIMIT and OFFSET of page `page` of `per_page` rows (per_page 0: every
 * row; "no limit" is spelt differently per SQL dialect, a huge bound reads
 * the same anywhere). ORCHARD_EINVAL for a negative or overflowing page.
 */
int orchard_sstore_page(gint64 page, gint64 per_page, gint64 *limit, gint64 *offset);

/** Lower-case hex SHA-256 of a string (g_free), or NULL. */
char *orchard_sstore_sha256_hex(const char *s);

/** 32 random bytes as unpadded base64url (g_free): safe in URLs and XML. NULL on failure. */
char *orchard_sstore_random_secret(void);

/**
 * Mark the desired state changed in `tx` (store_state.c): call it in the
 * transaction of every change to profiles, teams, host teams or macOS
 * update settings, so the profile reconciler runs a pass, whichever
 * instance or process made the change. Returns 0 or the store's code.
 */
int orchard_sstore_desired_touch(orchard_store_tx *tx);
/** The marker's current value (g_free; "" before any change). */
int orchard_sstore_desired_version(char **out);

#endif
