/* The private interface between the host's outbound HTTP service
 * (host/http_client/) and the module it dlopens on first use
 * (orchard_http_client.so, libcurl). The module calls no host symbol; the
 * host reaches it only through the table below. A stale module may sit at
 * the configured path, so the table carries a version and a size. */
#ifndef ORCHARD_HTTP_CLIENT_MODULE_H
#define ORCHARD_HTTP_CLIENT_MODULE_H

#include <orchard/plugin.h>

#include <stddef.h>
#include <stdint.h>

/** Bumped on any change below (private: no append rule). */
#define ORCHARD_HTTP_CLIENT_MODULE_VERSION 1u

/** The one symbol the module exports. */
#define ORCHARD_HTTP_CLIENT_MODULE_SYMBOL "orchard_http_client_module_entry"

typedef struct orchard_http_client_module {
    uint32_t version;     /* ORCHARD_HTTP_CLIENT_MODULE_VERSION */
    uint32_t struct_size; /* sizeof(orchard_http_client_module) */
    /**
     * Make a client. cfg is a full 1.3 config with the defaults already
     * applied by the host (connections and timeouts are never 0); the PEM
     * strings are copied. Returns 0 and *out, ORCHARD_EINVAL (TLS material
     * that does not parse, or a key that does not match its certificate)
     * or ORCHARD_ENOMEM / ORCHARD_EIO (libcurl would not start), with a
     * message in err.
     */
    int (*open)(const orchard_http_client_config *cfg, orchard_http_client **out, char *err,
                size_t err_len);
    /**
     * Run n calls, `stride` bytes apart (the calls' struct_size), which the
     * host has checked: method and url set, headers free of CR and LF, no
     * answer held. Each call's answer part is filled. Returns 0.
     */
    int (*run)(orchard_http_client *client, orchard_http_call *calls, size_t n, size_t stride);
    /** Close the connections and free the client. */
    void (*close)(orchard_http_client *client);
} orchard_http_client_module;

/**
 * The module's entry: returns 0 and *out (static), or ORCHARD_EABI when
 * `version` is not the one it was built with.
 */
typedef int (*orchard_http_client_module_entry_fn)(uint32_t version,
                                                   const orchard_http_client_module **out);

#endif
