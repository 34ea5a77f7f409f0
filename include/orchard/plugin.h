/*
 * orchard plugin ABI, version 1: the only header a plugin needs.
 *
 * A plugin contributes tables, commands, HTTP routes and jobs to the `orchard`
 * host. It exports one function, orchard_plugin_entry(), which receives the
 * host's services (orchard_host_api) and returns a description of what the
 * plugin contributes (orchard_plugin). The host never exports symbols to
 * plugins and plugins never link against the host.
 *
 * Versioning rules (docs/abi.md has the full policy):
 *   - every struct starts with `abi_version` and `struct_size`;
 *   - fields are only ever appended; a "since" comment marks each addition;
 *   - abi_version changes only for a breaking change, and the host refuses a
 *     plugin whose abi_version differs from its own;
 *   - struct_size tells the reader which appended fields the writer knew of:
 *     use ORCHARD_HAS_FIELD() before reading a field appended after v1.0.
 *
 * Threading: a table's generate callback may run on several threads at once
 * (osqueryd opens one connection per request and orchard serves them in
 * parallel). Keep generate re-entrant or lock inside the plugin.
 *
 * Ownership: every pointer a plugin hands to the host in orchard_plugin and
 * the structs it points to must stay valid until the plugin's deinit returns.
 * Strings the host hands to a callback are borrowed for that call only.
 */
#ifndef ORCHARD_PLUGIN_H
#define ORCHARD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI version this header describes. */
#define ORCHARD_ABI_VERSION 1u

/** Name of the symbol every plugin exports. */
#define ORCHARD_PLUGIN_ENTRY_SYMBOL "orchard_plugin_entry"

#if defined(__GNUC__)
#define ORCHARD_EXPORT __attribute__((visibility("default")))
#define ORCHARD_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define ORCHARD_EXPORT
#define ORCHARD_PRINTF(fmt, args)
#endif

/**
 * Fill the two header fields every ABI struct starts with.
 * Use as the first initializers: `{ ORCHARD_STRUCT_HEADER(orchard_table), ... }`.
 */
#define ORCHARD_STRUCT_HEADER(type) ORCHARD_ABI_VERSION, (uint32_t)sizeof(type)

/**
 * True when `ptr` (a pointer to an ABI struct of `type`) was written by a
 * party that knew `field`, i.e. its struct_size covers the field.
 */
#define ORCHARD_HAS_FIELD(ptr, type, field)                                  \
    ((ptr) != NULL &&                                                        \
     (ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* ------------------------------------------------------------------------ */
/* Errors: 0 is success, failures are negative. Codes are stable across
 * versions; new ones are appended. orchard_host_api.strerror names them. */

typedef enum orchard_error_code {
    ORCHARD_OK = 0,
    ORCHARD_EINVAL = -1,      /* invalid argument or malformed input */
    ORCHARD_ENOMEM = -2,      /* allocation failed */
    ORCHARD_ENOTFOUND = -3,   /* no such table, command, key or file */
    ORCHARD_EIO = -4,         /* I/O or system call failed */
    ORCHARD_EABI = -5,        /* ABI version or struct size mismatch */
    ORCHARD_ETIMEOUT = -6,    /* a peer or child did not answer in time */
    ORCHARD_EPROTO = -7,      /* a peer broke the protocol */
    ORCHARD_EEXIST = -8,      /* already exists (name collision) */
    ORCHARD_ETOOBIG = -9,     /* input over a size or depth cap */
    ORCHARD_EREADONLY = -10,  /* write action on a read-only table */
    ORCHARD_ECONSTRAINT = -11,/* a required constraint is missing */
    ORCHARD_EBUSY = -12,      /* the store stayed locked past its busy timeout (since 1.1) */
    ORCHARD_EFATAL = -100     /* threshold: codes <= this are fatal */
} orchard_error_code;

/* ------------------------------------------------------------------------ */
/* Tables */

/** Column types, as osquery names them on the wire. */
typedef enum orchard_column_type {
    ORCHARD_TYPE_TEXT = 0,
    ORCHARD_TYPE_INTEGER = 1,
    ORCHARD_TYPE_BIGINT = 2,
    ORCHARD_TYPE_UNSIGNED_BIGINT = 3,
    ORCHARD_TYPE_DOUBLE = 4,
    ORCHARD_TYPE_BLOB = 5
} orchard_column_type;

/** Column option bits; the values are osquery's `op` bits on the wire. */
enum orchard_column_option {
    ORCHARD_COLUMN_DEFAULT = 0,
    ORCHARD_COLUMN_INDEX = 1,      /* receives constraints; cheap to filter */
    ORCHARD_COLUMN_REQUIRED = 2,   /* a query must constrain it */
    ORCHARD_COLUMN_ADDITIONAL = 4, /* receives constraints; changes output */
    ORCHARD_COLUMN_OPTIMIZED = 8,
    ORCHARD_COLUMN_HIDDEN = 16     /* left out of `select *` */
};

/** Constraint operators; the values are SQLite's and osquery's. */
typedef enum orchard_op {
    ORCHARD_OP_EQ = 2,
    ORCHARD_OP_GT = 4,
    ORCHARD_OP_LE = 8,
    ORCHARD_OP_LT = 16,
    ORCHARD_OP_GE = 32,
    ORCHARD_OP_MATCH = 64,
    ORCHARD_OP_LIKE = 65,
    ORCHARD_OP_GLOB = 66,
    ORCHARD_OP_REGEXP = 67,
    ORCHARD_OP_NE = 68,
    ORCHARD_OP_ISNOT = 69,
    ORCHARD_OP_ISNOTNULL = 70,
    ORCHARD_OP_ISNULL = 71,
    ORCHARD_OP_IS = 72
} orchard_op;

/** One column. Tables get these from code generated from specs/tables/. */
typedef struct orchard_column {
    uint32_t abi_version;
    uint32_t struct_size;
    /* v1 */
    const char *name;
    orchard_column_type type;
    uint32_t options;        /* orchard_column_option bits */
    const char *description;
} orchard_column;

/** The constraints of one query (opaque; read it through orchard_host_api). */
typedef struct orchard_query_ctx orchard_query_ctx;

/** Where generate puts its rows (opaque; fill it through orchard_host_api). */
typedef struct orchard_rows orchard_rows;

/**
 * Produce the rows of a table for one query.
 *
 * ctx:     the query's constraints (only on INDEX/REQUIRED/ADDITIONAL columns).
 *          A table may use them to do less work; SQLite re-applies every
 *          WHERE clause to the rows, so a table may also ignore them.
 * rows:    add rows with host->row_add().
 * payload: orchard_table.payload.
 *
 * Returns 0, or a negative orchard_error_code after host->rows_fail() has
 * said why; rows added before a failure are discarded.
 */
typedef int (*orchard_generate_fn)(const orchard_query_ctx *ctx,
                                   orchard_rows *rows, void *payload);

typedef struct orchard_table {
    uint32_t abi_version;
    uint32_t struct_size;
    /* v1 */
    const char *name;
    const char *description;
    const orchard_column *const *columns; /* n_columns pointers */
    size_t n_columns;
    orchard_generate_fn generate;
    void *payload;
} orchard_table;

/* ------------------------------------------------------------------------ */
/* Commands: `orchard <name> [args]`. A name may have several words
 * ("generate mdm-apple"); the longest registered name that matches wins. */

/**
 * Run a command. argv[0] is the command's full name; argv[1..argc-1] are the
 * arguments after it. Returns the process exit status (0 success, 1 failure,
 * 2 usage error); print messages to stdout/stderr directly.
 */
typedef int (*orchard_command_fn)(int argc, char **argv, void *payload);

typedef struct orchard_command {
    uint32_t abi_version;
    uint32_t struct_size;
    /* v1 */
    const char *name;
    const char *summary;     /* one line for `orchard help` */
    const char *usage;       /* options, printed by `orchard help <name>` */
    orchard_command_fn run;
    void *payload;
} orchard_command;

/* ------------------------------------------------------------------------ */
/* HTTP routes, served by `orchard serve`. */

typedef struct orchard_http_request orchard_http_request;   /* opaque */
typedef struct orchard_http_response orchard_http_response; /* opaque */

/**
 * Handle one request whose path starts with the route's prefix. The request
 * and response are read and written through orchard_host_api's http_*
 * functions (since 1.1). The host picks the route whose method matches and
 * whose prefix is the longest one that equals the path or ends where the
 * path continues with '/'.
 * Returns 0, or a negative code: the host then answers 500 unless the
 * handler already set a status.
 */
typedef int (*orchard_route_fn)(const orchard_http_request *req,
                                orchard_http_response *resp, void *payload);

typedef struct orchard_route {
    uint32_t abi_version;
    uint32_t struct_size;
    /* v1 */
    const char *method;      /* "GET", "POST", or "*" for any */
    const char *path_prefix; /* e.g. "/mdm/apple/scep" */
    orchard_route_fn handle;
    void *payload;
} orchard_route;

/* ------------------------------------------------------------------------ */
/* Jobs: periodic tasks run by the host's scheduler. */

/** Run a job once. Returns 0 or a negative orchard_error_code. */
typedef int (*orchard_job_fn)(void *payload);

typedef struct orchard_job {
    uint32_t abi_version;
    uint32_t struct_size;
    /* v1 */
    const char *name;
    uint32_t interval_seconds; /* 0: only when queued */
    orchard_job_fn run;
    void *payload;
} orchard_job;

/* ------------------------------------------------------------------------ */
/* The plugin. */

typedef struct orchard_plugin {
    uint32_t abi_version;
    uint32_t struct_size;
    /* v1 */
    const char *name;        /* unique, e.g. "orchard-server" */
    const char *version;     /* the plugin's own version, e.g. "0.1.0" */
    const char *description;
    const orchard_table *const *tables;
    size_t n_tables;
    const orchard_command *const *commands;
    size_t n_commands;
    const orchard_route *const *routes;
    size_t n_routes;
    const orchard_job *const *jobs;
    size_t n_jobs;
    /** Called once before the host unloads the plugin; may be NULL. */
    void (*deinit)(void);
} orchard_plugin;

/* ------------------------------------------------------------------------ */
/* The host's services. A function the running host lacks is NULL or lies
 * beyond struct_size: test with ORCHARD_HAS_FIELD() before use. */

/** A store transaction and a prepared statement (opaque; since 1.1). */
typedef struct orchard_store_tx orchard_store_tx;
typedef struct orchard_stmt orchard_stmt;

enum orchard_log_level {
    ORCHARD_LOG_ERROR = 0,
    ORCHARD_LOG_WARNING = 1,
    ORCHARD_LOG_INFO = 2,
    ORCHARD_LOG_DEBUG = 3
};

typedef struct orchard_host_api {
    uint32_t abi_version;
    uint32_t struct_size;
    /* v1 */
    const char *host_version;

    /** Log one line, attributed to `plugin`. */
    void (*log)(int level, const char *plugin, const char *fmt, ...)
        ORCHARD_PRINTF(3, 4);

    /** The message for an orchard_error_code (static string). */
    const char *(*strerror)(int code);

    /**
     * The configuration value of `key` ("section.key", e.g.
     * "mdm.apple_scep_challenge"), after environment overrides; NULL when
     * unset. Borrowed: valid until the host exits.
     */
    const char *(*config_get)(const char *key);

    /* Query context. Constraint i of n is (column, op, expr); expr is NULL
     * for ISNULL/ISNOTNULL. Returns 0, or ORCHARD_ENOTFOUND past the end. */
    size_t (*ctx_count)(const orchard_query_ctx *ctx);
    int (*ctx_get)(const orchard_query_ctx *ctx, size_t i,
                   const char **column, int *op, const char **expr);
    /** 1 when the query reads `column` (osquery's colsUsed), else 0. */
    int (*ctx_column_used)(const orchard_query_ctx *ctx, const char *column);

    /**
     * Add one row: values[i] is the text of column i in the table's column
     * order, NULL for SQL NULL. n_values must equal the table's n_columns.
     * The host copies the strings. Returns 0, ORCHARD_EINVAL, ORCHARD_ENOMEM
     * or ORCHARD_ETOOBIG (the result would exceed the response cap).
     */
    int (*row_add)(orchard_rows *rows, const char *const *values,
                   size_t n_values);

    /** Record why generate fails; the caller shows it to the user. */
    void (*rows_fail)(orchard_rows *rows, const char *fmt, ...)
        ORCHARD_PRINTF(2, 3);

    /* ---- since 1.1: HTTP (orchard serve). Request strings are borrowed for
     * the handler's call; the host copies what a handler gives it. ---- */

    /** "GET", "POST", ... */
    const char *(*http_method)(const orchard_http_request *req);
    /** The decoded path, without the query string: "/mdm/apple/scep". */
    const char *(*http_path)(const orchard_http_request *req);
    /** The decoded value of query parameter `key`; NULL when absent. */
    const char *(*http_query)(const orchard_http_request *req, const char *key);
    /** The value of request header `name` (case-insensitive); NULL when absent. */
    const char *(*http_header)(const orchard_http_request *req, const char *name);
    /** The request body (never over the host's cap); *len 0 when empty. */
    const unsigned char *(*http_body)(const orchard_http_request *req, size_t *len);
    /** The peer's address as text ("127.0.0.1"). */
    const char *(*http_remote_addr)(const orchard_http_request *req);
    /** Add a response header. Returns 0, ORCHARD_EINVAL (CR/LF in it) or ORCHARD_ENOMEM. */
    int (*http_set_header)(orchard_http_response *resp, const char *name, const char *value);
    /**
     * Set the status and body (copied; content_type NULL for none). The last
     * call wins. A handler that returns 0 without responding answers 204.
     */
    int (*http_respond)(orchard_http_response *resp, int status, const char *content_type,
                        const void *body, size_t len);
    /**
     * Serve every loaded plugin's routes until SIGTERM or SIGINT (config
     * server.address, default 127.0.0.1:8080; TLS when server.tls_cert and
     * server.tls_key are set). `ready` (may be NULL) is called once with the
     * base URL ("http://127.0.0.1:8080") when the socket listens. On a signal,
     * stops accepting, lets requests in flight finish, closes the store and
     * returns 0; returns a negative code (logged) when it cannot start.
     */
    int (*http_serve)(void (*ready)(const char *base_url, void *ud), void *ud);

    /* ---- since 1.1: the store (config store.sqlite). Every statement runs
     * inside a transaction. Write transactions take the store's single
     * writer path one at a time; read transactions see a snapshot and run in
     * parallel. SQL is the portable subset every backend speaks: `?`
     * placeholders, INTEGER, TEXT and BLOB columns, no SQLite-only syntax. ---- */

    /**
     * Apply the plugin's schema migrations once each, in order, in one write
     * transaction per step: migrations[i] is version i + 1 of `owner` (the
     * plugin's name); versions already applied are skipped. Returns 0, or a
     * negative code with the failing version and SQLite's message logged.
     */
    int (*store_migrate)(const char *owner, const char *const *migrations, size_t n);
    /** Begin a transaction (write: 1 for the writer path). Returns 0 and *tx. */
    int (*store_begin)(orchard_store_tx **tx, int write);
    /** Commit and free the transaction (also on failure: it is rolled back). */
    int (*store_commit)(orchard_store_tx *tx);
    /** Roll back and free the transaction. NULL is fine. */
    void (*store_rollback)(orchard_store_tx *tx);
    /** The message of the last failure in this transaction ("" when none). */
    const char *(*store_errmsg)(const orchard_store_tx *tx);
    /**
     * Prepare (or take from the cache) one SQL statement in `tx`. Returns 0
     * and *stmt, which stays valid until stmt_finish or the end of `tx`.
     */
    int (*stmt_prepare)(orchard_store_tx *tx, const char *sql, orchard_stmt **stmt);
    /** Bind parameter `i` (1-based). Text and blobs are copied. */
    int (*stmt_bind_int)(orchard_stmt *stmt, int i, int64_t value);
    int (*stmt_bind_text)(orchard_stmt *stmt, int i, const char *value); /* NULL binds NULL */
    int (*stmt_bind_blob)(orchard_stmt *stmt, int i, const void *value, size_t len);
    /** Run to the next row: 1 a row is ready, 0 done, negative on failure. */
    int (*stmt_step)(orchard_stmt *stmt);
    /** Columns of the current row (0-based). Borrowed until the next step. */
    int (*stmt_column_is_null)(orchard_stmt *stmt, int i);
    int64_t (*stmt_column_int)(orchard_stmt *stmt, int i);
    const char *(*stmt_column_text)(orchard_stmt *stmt, int i); /* NULL for NULL */
    const void *(*stmt_column_blob)(orchard_stmt *stmt, int i, size_t *len);
    /** Rows changed by the last write statement of `stmt`. */
    int64_t (*stmt_changes)(orchard_stmt *stmt);
    /** Done with the statement (it goes back to the cache). NULL is fine. */
    void (*stmt_finish)(orchard_stmt *stmt);
} orchard_host_api;

/**
 * The entry point every plugin exports under ORCHARD_PLUGIN_ENTRY_SYMBOL.
 * Keep `host` for later calls (it outlives the plugin). Set *out to the
 * plugin description and return 0, or return a negative code to refuse
 * loading (for example when host->abi_version is one the plugin can't use).
 */
typedef int (*orchard_plugin_entry_fn)(const orchard_host_api *host,
                                       const orchard_plugin **out);

ORCHARD_EXPORT int orchard_plugin_entry(const orchard_host_api *host,
                                        const orchard_plugin **out);

#ifdef __cplusplus
}
#endif

#endif /* ORCHARD_PLUGIN_H */
