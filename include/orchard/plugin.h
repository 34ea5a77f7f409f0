/*
 * orchard plugin ABI, version 1.3: the only header a plugin needs.
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
 *     use ORCHARD_HAS_FIELD() before reading a field appended after v1.0;
 *   - the host names its minor version (ORCHARD_HOST_MINOR(host)): a plugin
 *     that needs 1.2's services tests `ORCHARD_HOST_MINOR(host) >= 2`.
 *
 * Since 1.2 the host hands each plugin its own context (orchard_ctx) in
 * every callback that has a `2` form (generate2, run2, handle2, init): log
 * lines through it carry the plugin's name, the plugin's state hangs off it
 * (ctx_set_data), and a callback returns its failure message through it
 * (host->fail). The v1 callbacks still work; a struct may set either form.
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
/** The minor version: which appended fields this header knows (1.5). */
#define ORCHARD_ABI_MINOR 5u

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

/**
 * The minor ABI version of a host: its abi_minor (since 1.2), else 1 for a
 * host with the 1.1 store functions, else 0.
 */
#define ORCHARD_HOST_MINOR(host)                                             \
    (ORCHARD_HAS_FIELD(host, orchard_host_api, abi_minor) ? (host)->abi_minor \
     : ORCHARD_HAS_FIELD(host, orchard_host_api, stmt_finish) ? 1u : 0u)

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
    ORCHARD_ENOTCONFIGURED = -13, /* a feature or setting is not configured (since 1.2) */
    ORCHARD_EDENIED = -14,    /* no valid credentials, or not allowed (since 1.2) */
    ORCHARD_EFATAL = -100     /* threshold: codes <= this are fatal */
} orchard_error_code;

/**
 * One loaded plugin's context (opaque; since 1.2). The host makes one per
 * plugin and passes it to every 1.2 callback; it lives until the plugin is
 * unloaded. Read and write it through orchard_host_api (ctx_*, fail, ...).
 */
typedef struct orchard_ctx orchard_ctx;

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

/**
 * generate with the plugin's context (since 1.2). A failure's message goes
 * through host->fail(ctx, ...) (or host->rows_fail).
 */
typedef int (*orchard_generate2_fn)(orchard_ctx *ctx, const orchard_query_ctx *query,
                                    orchard_rows *rows, void *payload);

typedef struct orchard_table {
    uint32_t abi_version;
    uint32_t struct_size;
    /* v1 */
    const char *name;
    const char *description;
    const orchard_column *const *columns; /* n_columns pointers */
    size_t n_columns;
    orchard_generate_fn generate;  /* NULL when generate2 is set */
    void *payload;
    /* since 1.2 */
    orchard_generate2_fn generate2; /* used instead of generate when set */
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

/** run with the plugin's context (since 1.2); a message given to host->fail
 *  is printed as "orchard <command>: <message>" when run returns non-zero. */
typedef int (*orchard_command2_fn)(orchard_ctx *ctx, int argc, char **argv, void *payload);

typedef struct orchard_command {
    uint32_t abi_version;
    uint32_t struct_size;
    /* v1 */
    const char *name;
    const char *summary;     /* one line for `orchard help` */
    const char *usage;       /* options, printed by `orchard help <name>` */
    orchard_command_fn run;  /* NULL when run2 is set */
    void *payload;
    /* since 1.2 */
    orchard_command2_fn run2; /* used instead of run when set */
    const char *aliases;     /* other full names, '|'-separated ("generate mdm_apple"); may be NULL */
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
 * path continues with '/' (an ORCHARD_ROUTE_EXACT route: that equals it).
 * Returns 0, or a negative code: the host then answers 500 unless the
 * handler already set a status.
 */
typedef int (*orchard_route_fn)(const orchard_http_request *req,
                                orchard_http_response *resp, void *payload);

/**
 * handle with the plugin's context (since 1.2). A negative return with a
 * message given to host->fail answers 500 with that message as a JSON error
 * (unless the handler already responded).
 */
typedef int (*orchard_route2_fn)(orchard_ctx *ctx, const orchard_http_request *req,
                                 orchard_http_response *resp, void *payload);

/**
 * What a route requires before its handler runs (since 1.2). The host
 * enforces it: a missing or invalid credential answers 401, a role too low
 * 403, both as JSON errors ({"message": ..., "errors": [...]}).
 */
typedef enum orchard_route_guard {
    ORCHARD_GUARD_NONE = 0,       /* anyone */
    ORCHARD_GUARD_DEVICE = 1,     /* a client certificate (http_client_cert) */
    ORCHARD_GUARD_OBSERVER = 2,   /* a user with at least the observer role */
    ORCHARD_GUARD_MAINTAINER = 3, /* ... maintainer */
    ORCHARD_GUARD_ADMIN = 4       /* ... admin */
} orchard_route_guard;

/** Users' roles, lowest first (Fleet's global roles). */
typedef enum orchard_role {
    ORCHARD_ROLE_NONE = 0,
    ORCHARD_ROLE_OBSERVER = 1,
    ORCHARD_ROLE_MAINTAINER = 2,
    ORCHARD_ROLE_ADMIN = 3
} orchard_role;

typedef struct orchard_route {
    uint32_t abi_version;
    uint32_t struct_size;
    /* v1 */
    const char *method;      /* "GET", "POST", or "*" for any */
    const char *path_prefix; /* e.g. "/mdm/apple/scep" */
    orchard_route_fn handle; /* NULL when handle2 is set */
    void *payload;
    /* since 1.2 */
    orchard_route2_fn handle2; /* used instead of handle when set */
    uint32_t guard;          /* orchard_route_guard; 0 for routes older than 1.2 */
    /**
     * The gate the route serves behind, or NULL: while the gate is closed
     * (host->gate_set), the host answers 404 with the gate's reason as a
     * JSON error and the handler never runs. "mdm" is the MDM-on gate.
     */
    const char *gate;
    /* since 1.3 */
    /**
     * The largest request body the route takes, in bytes (0: the host's
     * default, 2 MiB). A larger one is answered 413 before the handler runs
     * (before it is read when its length is declared). The host's overall
     * budget (server.max_buffered_bytes) still applies.
     */
    uint64_t max_body;
    /* since 1.5 */
    uint32_t flags; /* orchard_route_flag bits; 0 for routes older than 1.5 */
} orchard_route;

/** orchard_route.flags (since 1.5). */
typedef enum orchard_route_flag {
    /**
     * The route takes its path alone, not the paths below it: "/" with this
     * flag answers "/" and leaves "/x" to other routes (or to 404). Among
     * routes that cover a path, the exact one wins like the longest prefix.
     */
    ORCHARD_ROUTE_EXACT = 1u << 0
} orchard_route_flag;

/* ------------------------------------------------------------------------ */
/* Jobs: tasks run by the host's scheduler while `orchard serve` runs, every
 * interval and whenever queued (host->job_queue), one run at a time per job.
 * `orchard job run NAME` runs one in the foreground. */

/** Run a job once. Returns 0 or a negative orchard_error_code. */
typedef int (*orchard_job_fn)(void *payload);

/**
 * run with the plugin's context (since 1.2). A long run should check
 * host->job_expired(ctx) between steps and return ORCHARD_ETIMEOUT when it
 * says so. A message given to host->fail is the run's recorded outcome.
 */
typedef int (*orchard_job2_fn)(orchard_ctx *ctx, void *payload);

/** orchard_job.flags (since 1.2). */
enum orchard_job_flag {
    /**
     * Of several `orchard serve` instances on one store, only the one that
     * holds the job's lease runs it (the host's lease hook decides).
     */
    ORCHARD_JOB_ONE_INSTANCE = 1
};

typedef struct orchard_job {
    uint32_t abi_version;
    uint32_t struct_size;
    /* v1 */
    const char *name;          /* unique in the host: lower case, digits, '_' and '.' */
    uint32_t interval_seconds; /* 0: only when queued */
    orchard_job_fn run;        /* NULL when run2 is set */
    void *payload;
    /* since 1.2 */
    orchard_job2_fn run2;      /* used instead of run when set */
    uint32_t first_run_seconds; /* delay of the first periodic run after start (0: at once) */
    uint32_t jitter_seconds;   /* up to this many seconds added to each wait, at random */
    uint32_t deadline_seconds; /* a run past this is expired (0: 300 s) */
    uint32_t flags;            /* orchard_job_flag bits */
} orchard_job;

/* ------------------------------------------------------------------------ */
/* Settings (since 1.2): every configuration key has one owner, the plugin
 * (or the host) that declares it. The host reads the YAML file, FLEET_* and
 * ORCHARD_* environment variables and the command line into one snapshot,
 * validates each declared key by its type, names unknown keys, and swaps in a
 * new snapshot on reload (SIGHUP under `orchard serve`, or a run-time change),
 * publishing the event "settings.changed". */

typedef enum orchard_setting_type {
    ORCHARD_SETTING_STRING = 0,
    ORCHARD_SETTING_BOOL = 1,     /* true/false, yes/no, on/off, 1/0 */
    ORCHARD_SETTING_INT = 2,      /* a decimal integer */
    ORCHARD_SETTING_DURATION = 3, /* "90s", "1m", "1h30m", "500ms" (Go style); a bare number is seconds */
    ORCHARD_SETTING_PATH = 4,     /* a file path (a scalar, never a list) */
    ORCHARD_SETTING_BYTES = 5     /* a size: "2MiB", "512k", a bare number is bytes */
} orchard_setting_type;

/** orchard_setting.flags */
enum orchard_setting_flag {
    ORCHARD_SETTING_SECRET = 1,   /* `config check` shows it as REDACTED unless --show-secrets */
    ORCHARD_SETTING_RESTART = 2   /* a reload that changes it warns that it needs a restart */
};

typedef struct orchard_setting {
    uint32_t abi_version;
    uint32_t struct_size;
    /* since 1.2 */
    const char *key;           /* "section.key", e.g. "mdm.apple_scep_challenge" */
    orchard_setting_type type;
    const char *default_value; /* as it would be written in YAML; NULL: unset by default */
    const char *description;   /* one line, for `config check` and docs */
    uint32_t flags;            /* orchard_setting_flag bits */
    const char *aliases;       /* other spellings of the key, '|'-separated (Fleet's "server.cert"); may be NULL */
} orchard_setting;

/* ------------------------------------------------------------------------ */
/* Events (since 1.2): publish/subscribe between plugins. Events are
 * delivered on the host's event thread, in publish order, never on the
 * publisher's thread. Names in use: "mdm.enrolled", "mdm.checked_in",
 * "mdm.command_result", "settings.changed". */

/** Called on the event thread; `json` (may be "{}") is borrowed for the call. */
typedef void (*orchard_event_fn)(orchard_ctx *ctx, const char *name, const char *json,
                                 void *payload);

/* ------------------------------------------------------------------------ */
/* Authentication (since 1.2): a plugin that knows users registers one
 * authenticator; the host asks it for every request to a route guarded by a
 * role. */

/**
 * Who sent `req`? Write the user's id (e.g. an email) into who (who_size
 * bytes, 256 today, NUL-terminated; an empty id is refused) and return the
 * user's orchard_role (1..3); return 0
 * when the request carries no valid credentials (the host answers 401), or a
 * negative code when it cannot tell (the host answers 503).
 */
typedef int (*orchard_auth_fn)(orchard_ctx *ctx, const orchard_http_request *req, char *who,
                               size_t who_size, void *payload);

/* ------------------------------------------------------------------------ */
/* Outbound HTTP (since 1.3): a client the host runs on libcurl's multi
 * interface with HTTP/2 multiplexing, in a module the host loads on first
 * use (never in orchard.ext). Each client keeps a small pool of persistent
 * connections per origin and runs many requests at once as streams on them.
 * APNs pushes and the DEP client ride on it. */

typedef struct orchard_http_client orchard_http_client; /* opaque */

typedef struct orchard_http_client_config {
    uint32_t abi_version;
    uint32_t struct_size;
    /* since 1.3 */
    const char *cert_pem;    /* TLS client certificate, PEM text; NULL: none */
    const char *key_pem;     /* its private key, PEM text; NULL when cert_pem is */
    /** PEM bundle that replaces the system trust store for this client only; NULL: the system's. */
    const char *ca_pem;
    uint32_t connections;    /* persistent connections per origin (0: 2) */
    uint32_t timeout_ms;     /* per request, first byte out to last byte in (0: 30000) */
    uint32_t connect_timeout_ms; /* per connection, TCP and TLS (0: 10000) */
} orchard_http_client_config;

/**
 * One request and, after http_client_run, its answer. The caller fills the
 * request part (borrowed for the run) and zeroes the rest; the host fills
 * the answer, which the caller frees with http_call_reset.
 */
typedef struct orchard_http_call {
    uint32_t abi_version;
    uint32_t struct_size;
    /* since 1.3: the request */
    const char *method;          /* "GET", "POST", ... */
    const char *url;             /* absolute https:// (or http:// for tests) URL */
    const char *const *headers;  /* "Name: value" strings */
    size_t n_headers;
    const void *body;            /* may be NULL when body_len is 0 */
    size_t body_len;
    size_t max_response;         /* answer body cap (0: 1 MiB): over it, result ORCHARD_ETOOBIG */
    void *user;                  /* the caller's, untouched */
    /* the answer */
    int result;                  /* 0 (an HTTP answer arrived), or ORCHARD_EIO (connect/TLS/stream
                                    failure), ORCHARD_ETIMEOUT, ORCHARD_ETOOBIG */
    int status;                  /* the HTTP status; 0 without an answer */
    char *response_headers;      /* "name: value\n" lines, names lower case; NULL without an answer */
    unsigned char *response_body; /* NUL-terminated; NULL when empty */
    size_t response_len;
    char error[256];             /* why result != 0, for logs */
} orchard_http_call;

/* ------------------------------------------------------------------------ */
/* Schema steps per SQL dialect (since 1.4). The store speaks SQLite (the
 * embedded default) or PostgreSQL (several instances on one database).
 * Statements run through stmt_* are written once in the portable subset;
 * DDL differs (BLOB is bytea, 64-bit integers are BIGINT, a row id is an
 * identity column), so a step may carry a second text. The host never
 * rewrites DDL. */

typedef struct orchard_migration {
    uint32_t abi_version;
    uint32_t struct_size;
    /* since 1.4 */
    const char *sql;      /* the step in SQLite's dialect; every dialect's when the next is NULL */
    const char *postgres; /* the step in PostgreSQL's dialect; NULL: sql as written */
} orchard_migration;

/* ------------------------------------------------------------------------ */
/* Instances (since 1.4): several `orchard serve` processes on one store act
 * as one server. The host registers each in the store with a heartbeat,
 * holds ORCHARD_JOB_ONE_INSTANCE jobs to one of them with leases, and
 * compares the settings fingerprints that plugins publish per gate: an
 * instance whose fingerprint differs from the reference instance's (the
 * longest-running live one that published one for the gate) has that gate's
 * routes answered 503, naming the keys that differ, unless the plugin
 * published with ORCHARD_INSTANCE_ALLOW_MIXED. */

/** instance_settings flags. */
enum orchard_instance_flag {
    /** Keep serving the gate's routes even when the fingerprints differ (log only). */
    ORCHARD_INSTANCE_ALLOW_MIXED = 1
};

/** What the host knows of the instances on this store, for one gate. */
typedef struct orchard_instances_view {
    uint32_t abi_version;
    uint32_t struct_size;
    /* since 1.4 */
    uint32_t live;         /* live instances on the store (this one included when serving) */
    uint32_t published;    /* of them, those that published a fingerprint for the gate */
    int agree;             /* 1: every one of them has the compared fingerprint */
    int held;              /* 1: this instance answers 503 on the gate's routes */
    char differing_keys[512]; /* "key1,key2": keys that differ from the reference; "" when none */
    char reference_id[64];    /* the reference instance's id; "" when none */
    char instance_id[64];     /* this instance's id; "" outside `orchard serve` */
} orchard_instances_view;

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
    /* since 1.2 */
    /**
     * Called once, after the host accepted the plugin and before any other
     * callback, with the plugin's context; may be NULL. Return 0, or a
     * negative code (with host->fail's message) to refuse loading.
     */
    int (*init)(orchard_ctx *ctx);
    /** Called instead of deinit when set, before the context goes away. */
    void (*deinit2)(orchard_ctx *ctx);
    /** The configuration keys this plugin owns. */
    const orchard_setting *const *settings;
    size_t n_settings;
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

    /* ---- since 1.2 ---- */

    /** ORCHARD_ABI_MINOR of the host (read it with ORCHARD_HOST_MINOR). */
    uint32_t abi_minor;

    /* The plugin's context. */
    /** The plugin's name. */
    const char *(*ctx_name)(const orchard_ctx *ctx);
    /** Hang the plugin's state off its context (the host never frees it). */
    void (*ctx_set_data)(orchard_ctx *ctx, void *data);
    void *(*ctx_data)(const orchard_ctx *ctx);
    /** Log one line attributed to the plugin. */
    void (*ctx_log)(orchard_ctx *ctx, int level, const char *fmt, ...) ORCHARD_PRINTF(3, 4);
    /**
     * Say why the current callback fails and return `code`, so a callback
     * ends with `return host->fail(ctx, ORCHARD_EINVAL, "...", ...)`. The host
     * shows the message where the callback's caller looks (a query's error,
     * a command's stderr line, a route's JSON error, a job's outcome). The
     * message is per thread and per call; the last one wins.
     */
    int (*fail)(orchard_ctx *ctx, int code, const char *fmt, ...) ORCHARD_PRINTF(3, 4);

    /* Settings, read from the current snapshot. A key must be declared (by
     * any plugin or the host); an undeclared key is ORCHARD_ENOTFOUND. The
     * typed getters return 0 and *out, ORCHARD_ENOTCONFIGURED when the key
     * is unset and has no default, or ORCHARD_EINVAL when the value does not
     * parse as the type (config check names such values before serve
     * starts). Strings are borrowed: valid until the host exits. */
    const char *(*setting_string)(orchard_ctx *ctx, const char *key);
    int (*setting_bool)(orchard_ctx *ctx, const char *key, int *out);
    int (*setting_int)(orchard_ctx *ctx, const char *key, int64_t *out);
    int (*setting_duration)(orchard_ctx *ctx, const char *key, int64_t *out_ms);
    const char *(*setting_path)(orchard_ctx *ctx, const char *key);
    int (*setting_bytes)(orchard_ctx *ctx, const char *key, uint64_t *out);
    /**
     * Set a run-time value for a declared key (it wins over the file until
     * the next reload; NULL removes it), swap the snapshot and publish
     * "settings.changed". Returns 0, ORCHARD_ENOTFOUND or ORCHARD_EINVAL
     * (the value's type). The settings functions also take a NULL ctx (the
     * host's own).
     */
    int (*setting_override)(orchard_ctx *ctx, const char *key, const char *value);
    /** Bumped on every snapshot swap: cache what you derive from settings by it. */
    uint64_t (*settings_generation)(orchard_ctx *ctx);

    /* Jobs. */
    /**
     * Ask for a run of job `name` (any plugin's) as soon as possible, from
     * any thread. Coalesced: a job already queued stays queued once; one
     * queued while it runs runs once more after. Returns 0, or
     * ORCHARD_ENOTFOUND (no such job).
     */
    int (*job_queue)(orchard_ctx *ctx, const char *name);
    /**
     * In a job's run, on the run's own thread: 1 once its deadline passed or
     * the host is stopping, else 0. (Several jobs of a plugin share its
     * context, so the host finds the run by thread; on another thread it
     * says 1 only while the host stops.)
     */
    int (*job_expired)(orchard_ctx *ctx);

    /* Events. */
    /**
     * Call `fn` for every event named `name` ("mdm.enrolled"), or every event
     * whose name continues the prefix before a final ".*" with a dot ("mdm.*"
     * takes "mdm.enrolled", not "mdm" or "mdmx.y"). Names are dot-separated
     * segments of a lower-case letter then letters, digits or '_', at most
     * 128 bytes. Returns 0, ORCHARD_EINVAL or ORCHARD_ENOMEM.
     */
    int (*event_subscribe)(orchard_ctx *ctx, const char *name, orchard_event_fn fn,
                           void *payload);
    /**
     * Queue an event for the subscribers; `json` (NULL for "{}") is copied.
     * Returns 0, ORCHARD_EINVAL (a bad name), ORCHARD_ETOOBIG (json over 1 MiB)
     * or ORCHARD_EBUSY (the queue is full: the event is dropped and logged).
     */
    int (*event_publish)(orchard_ctx *ctx, const char *name, const char *json);

    /* HTTP guards and identities. */
    /** Register the authenticator for role-guarded routes (one per host: ORCHARD_EEXIST). */
    int (*auth_register)(orchard_ctx *ctx, orchard_auth_fn fn, void *payload);
    /**
     * Who the authenticator said sent `req` (a role-guarded route only), and
     * *role (may be NULL); NULL for other routes.
     */
    const char *(*http_principal)(const orchard_http_request *req, int *role);
    /**
     * The client certificate of `req` as DER: from the TLS handshake, or from
     * the header named by server.client_cert_header when a TLS-terminating
     * proxy sets it (RFC 9440's :base64: form, or nginx's escaped PEM).
     * NULL when there is none. Borrowed for the handler's call.
     */
    const unsigned char *(*http_client_cert)(const orchard_http_request *req, size_t *len);
    /**
     * Open or close a gate (see orchard_route.gate); `reason` says why it is
     * closed (copied). Gates start closed with the reason "not configured".
     * Names are 1-64 of [a-z0-9_.-]. Returns 0 or ORCHARD_EINVAL.
     */
    int (*gate_set)(orchard_ctx *ctx, const char *gate, int open, const char *reason);
    /**
     * Answer with a JSON error in Fleet's shape: {"message": message,
     * "errors": [{"name": field or "base", "reason": reason or message}]}.
     * Returns 0, or ORCHARD_EINVAL (a status outside 400-599, no message).
     */
    int (*http_error)(orchard_http_response *resp, int status, const char *message,
                      const char *field, const char *reason);

    /* Outbound HTTP (since 1.3). */
    /**
     * Make a client (orchard_http_client_config). The TLS material is
     * checked here. Returns 0 and *out (http_client_close), or
     * ORCHARD_EINVAL (bad config, TLS material libcurl refuses),
     * ORCHARD_EIO (the client module cannot load), with host->fail's message
     * on ctx.
     */
    int (*http_client_open)(orchard_ctx *ctx, const orchard_http_client_config *cfg,
                            orchard_http_client **out);
    /**
     * Run `n` calls at once, multiplexed over the client's connections, and
     * return when every one has finished (its answer or its failure in
     * calls[i]). Calls on one client from several threads take turns.
     * Returns 0, or ORCHARD_EINVAL (a call without method or url, or a
     * struct_size this host cannot read) before any call starts.
     */
    int (*http_client_run)(orchard_http_client *client, orchard_http_call *calls, size_t n);
    /**
     * Copy the value of the answer's header `name` (any case) into out
     * (out_size bytes, NUL-terminated). Returns 0, ORCHARD_ENOTFOUND, or
     * ORCHARD_ETOOBIG (truncated).
     */
    int (*http_call_header)(const orchard_http_call *call, const char *name, char *out,
                            size_t out_size);
    /** Free a call's answer and zero it, so the call can run again. */
    void (*http_call_reset)(orchard_http_call *call);
    /** Close the connections and free the client (NULL is fine). */
    void (*http_client_close)(orchard_http_client *client);

    /* ---- since 1.4: dialects and instances ---- */
    /**
     * store_migrate with a text per dialect: steps[i] is version i + 1 of
     * `owner`. The same versions as store_migrate (a plugin may move from
     * one to the other). Also: a store that has a version of `owner` newer
     * than n is refused with ORCHARD_EINVAL and a log line naming both
     * versions (a newer orchard set it up), before anything is applied.
     */
    int (*store_migrate2)(const char *owner, const orchard_migration *steps, size_t n);
    /** The open store's dialect: "sqlite" or "postgres"; NULL when no store is open. */
    const char *(*store_dialect)(void);
    /**
     * Publish this instance's settings fingerprint for `gate`: a JSON object
     * of key -> a digest of the key's effective value (never a secret
     * itself), e.g. {"mdm.apple_scep_challenge": "<sha256 hex>"}. The host
     * stores it with the instance's row, compares it at once and on every
     * heartbeat, logs the differing keys when the comparison changes, and
     * holds the gate (503) while it differs, unless flags has
     * ORCHARD_INSTANCE_ALLOW_MIXED. Outside `orchard serve` nothing is
     * stored. Returns 0, ORCHARD_EINVAL (not a JSON object of strings), or
     * a store error.
     */
    int (*instance_settings)(orchard_ctx *ctx, const char *gate, const char *fingerprint_json,
                             uint32_t flags);
    /**
     * Fill `out` (the caller sets abi_version and struct_size) with the
     * instances on the store and how `fingerprint_json` compares with the
     * reference for `gate`; NULL compares this instance's published
     * fingerprint. `orchard config check` passes the file's fingerprint
     * to compare it with a live database. Returns 0, ORCHARD_ENOTCONFIGURED
     * (no store), or a store error.
     */
    int (*instances_view)(orchard_ctx *ctx, const char *gate, const char *fingerprint_json,
                          orchard_instances_view *out);

    /* ---- since 1.5 ---- */
    /**
     * The i-th query parameter of the request, in the order the client sent
     * them, decoded (*value is "" for a bare `?flag`). Returns 0, or
     * ORCHARD_ENOTFOUND past the last one (then both are NULL). For a page
     * that has to hand its whole query on, e.g. to come back after sign-in.
     */
    int (*http_query_at)(const orchard_http_request *req, size_t i, const char **name,
                         const char **value);
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
