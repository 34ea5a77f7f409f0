/* The private interface between the host's HTTP service (host/http/)
 * and the transport module it dlopens (orchard_http.so, libmicrohttpd). The
 * module never calls a host symbol: everything it needs arrives in
 * orchard_http_module_config, and the host reaches the module only through
 * the orchard_http_module table it exports. Both sides are built from this
 * header in one tree, yet a stale module may sit at the configured path, so
 * every struct carries a version and a size, as the plugin ABI does. */
#ifndef ORCHARD_HTTP_MODULE_H
#define ORCHARD_HTTP_MODULE_H

#include <orchard/plugin.h>

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** Bumped on any change to the structs below (they are private: no append rule). */
#define ORCHARD_HTTP_MODULE_VERSION 4u

/** The one symbol the module exports. */
#define ORCHARD_HTTP_MODULE_SYMBOL "orchard_http_module_entry"

/** One header or query parameter, as the module received it (value "" when bare). */
typedef struct orchard_http_pair {
    const char *name;
    const char *value;
} orchard_http_pair;

/**
 * One complete request, built by the module and borrowed by the host for the
 * dispatch call. This is the struct plugin.h leaves opaque. Strings are
 * decoded (path and query) and NUL-terminated; body may hold NULs.
 */
struct orchard_http_request {
    const char *method;
    const char *path;
    const orchard_http_pair *query;
    size_t n_query;
    const orchard_http_pair *headers;
    size_t n_headers;
    const unsigned char *body; /* never NULL: "" when empty */
    size_t body_len;
    const char *remote_addr;
    /**
     * The client's TLS certificate (DER), only when the module was given
     * tls_client_ca_pem and the certificate verified against it; else NULL
     * and 0. Owned by the module for the dispatch call.
     */
    const unsigned char *client_cert_der;
    size_t client_cert_len;
};

/**
 * The answer, allocated and filled by the host during dispatch; the module
 * only reads it, then hands it back through release(). status is never 0
 * once dispatch returns. Header names and values are free of CR and LF.
 */
struct orchard_http_response {
    int status;
    char *content_type; /* NULL: no Content-Type header */
    unsigned char *body;
    size_t body_len;
    orchard_http_pair *headers; /* strings owned by the host */
    size_t n_headers;
    size_t cap_headers;
};

/** What the module reports once per finished request, for the access log. */
typedef struct orchard_http_access {
    const char *remote_addr;
    const char *method;
    const char *path;       /* decoded, without the query string */
    unsigned status;        /* 0 when the connection died before an answer */
    uint64_t bytes;         /* response body bytes */
    uint64_t duration_us;   /* request headers in -> response sent */
    int completed;          /* 0: the client went away or the server stopped */
} orchard_http_access;

typedef struct orchard_http_module_config {
    uint32_t version;       /* ORCHARD_HTTP_MODULE_VERSION */
    uint32_t struct_size;   /* sizeof(orchard_http_module_config) */
    const struct sockaddr *addr; /* where to listen (AF_INET or AF_INET6; port may be 0) */
    socklen_t addr_len;
    const char *tls_cert_pem; /* both NULL: plain HTTP; both set: TLS */
    const char *tls_key_pem;
    unsigned threads;         /* worker threads, >= 1 */
    unsigned timeout_seconds; /* idle connection timeout */
    size_t body_cap;          /* larger bodies get 413 without reaching dispatch (default) */
    /** Answer one request; never NULL (allocation failure aside). Any thread. */
    orchard_http_response *(*dispatch)(const orchard_http_request *req, void *ud);
    /** Free a response dispatch returned, once the module has copied it. */
    void (*release)(orchard_http_response *resp, void *ud);
    /** One call per finished request. */
    void (*access)(const orchard_http_access *rec, void *ud);
    /** A diagnostic from the transport (ORCHARD_LOG_* level). */
    void (*log)(int level, const char *msg, void *ud);
    void *ud;
    /**
     * PEM CA certificate(s) clients may present certificates from (needs
     * TLS): the handshake asks for a certificate, and one that verifies
     * reaches dispatch as client_cert_der. NULL: no certificate is asked.
     */
    const char *tls_client_ca_pem;
    /**
     * A request's headers and body must be in within this many ms of the
     * connection being ready for it (accepted, or the previous answer
     * sent), however slowly they trickle; else the connection is closed.
     */
    unsigned request_timeout_ms;
    unsigned max_connections;   /* in total, >= threads */
    unsigned max_per_address;   /* from one client address; 0: no limit */
    /**
     * Request bodies buffered at once, across all requests (>= body_cap): a
     * declared body that does not fit gets 503 with Retry-After before it
     * is read; a chunked one that outgrows it, once it is over.
     */
    size_t max_buffered;
    /**
     * The body cap of one request, asked once its method and decoded path
     * are in and before a byte of its body is read (the matched route's
     * orchard_route.max_body, else body_cap); NULL: body_cap for all. The
     * module never lets a body past max_buffered whatever this says.
     * Any thread.
     */
    size_t (*body_cap_for)(const char *method, const char *path, void *ud);
} orchard_http_module_config;

/** A running server (the module's own state). */
typedef struct orchard_http_server orchard_http_server;

typedef struct orchard_http_module {
    uint32_t version;       /* ORCHARD_HTTP_MODULE_VERSION */
    uint32_t struct_size;   /* sizeof(orchard_http_module) */
    /**
     * Listen and serve on worker threads. Returns 0 with *out and *port (the
     * bound port, useful when the config asked for 0); or ORCHARD_EABI /
     * ORCHARD_EINVAL (a config this module can't use), ORCHARD_EIO
     * (libmicrohttpd would not start: cannot listen, or refused the TLS
     * material) with a message in err. cfg and what it points to must
     * outlive the server.
     */
    int (*start)(const orchard_http_module_config *cfg, orchard_http_server **out,
                 unsigned *port, char *err, size_t err_len);
    /** Stop accepting connections; requests in flight go on. */
    void (*quiesce)(orchard_http_server *srv);
    /** Requests begun and not yet finished. */
    unsigned (*in_flight)(orchard_http_server *srv);
    /** Close every connection, join the workers (waits for running handlers), free. */
    void (*stop)(orchard_http_server *srv);
} orchard_http_module;

/**
 * The module's entry: returns 0 and *out (static), or ORCHARD_EABI when
 * `version` is not the one it was built with.
 */
typedef int (*orchard_http_module_entry_fn)(uint32_t version, const orchard_http_module **out);

#endif
