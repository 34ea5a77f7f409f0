/* The APNs stand-in's shared pieces: a test peer that plays Apple's push
 * service (HTTP/2 over TLS on libnghttp2 and OpenSSL) for the tests, bench/apns
 * and `make run`. main.c runs one epoll loop; conn.c speaks TLS and HTTP/2 per
 * connection; check.c judges each request as APNs does; rules.c holds the
 * errors a test asked for and writes the record file. Single-threaded. */
#ifndef ORCHARD_APNS_STANDIN_H
#define ORCHARD_APNS_STANDIN_H

#include <stddef.h>
#include <stdio.h>

#include <openssl/ssl.h>

/* APNs refuses a payload over 4096 bytes (413 PayloadTooLarge). */
#define STANDIN_MAX_PAYLOAD 4096
/* MDM push tokens are 32 bytes, sent as 64 hex digits. */
#define STANDIN_TOKEN_HEX 64
/* apns-collapse-id may not exceed 64 bytes (400 BadCollapseId). */
#define STANDIN_MAX_COLLAPSE_ID 64

/* ---- one request, as collected from its HEADERS and DATA frames ---------- */

/* The headers APNs judges; each counts how often it came (DuplicateHeaders). */
enum {
    STANDIN_H_METHOD,
    STANDIN_H_PATH,
    STANDIN_H_TOPIC,
    STANDIN_H_PUSH_TYPE,
    STANDIN_H_EXPIRATION,
    STANDIN_H_PRIORITY,
    STANDIN_H_ID,
    STANDIN_H_COLLAPSE_ID,
    STANDIN_H_COUNT
};

typedef struct standin_request {
    char *header[STANDIN_H_COUNT]; /* malloc'd values, NULL when absent */
    unsigned seen[STANDIN_H_COUNT];
    unsigned char body[STANDIN_MAX_PAYLOAD + 1];
    size_t body_len;    /* bytes kept in body (at most STANDIN_MAX_PAYLOAD + 1) */
    size_t body_total;  /* bytes received, kept or not */
} standin_request;

/* The verdict on a request and what the record line says about it. */
typedef struct standin_verdict {
    int status;             /* 200 or the error status */
    const char *reason;     /* NULL on 200 */
    char token[256];        /* the path's token as sent (may be invalid), "" without one */
    char mdm[STANDIN_MAX_PAYLOAD + 1]; /* the payload's "mdm" string, "" without one */
    char apns_id[40];       /* the request's apns-id when valid, else a fresh UUID */
    char rule_reason[64];   /* a rule's reason, copied (reason points here then) */
} standin_verdict;

/**
 * Judge `req` as APNs does: method, path and token, topic (`topic` is the
 * certificate's topic, NULL to accept any), push type, expiration,
 * priority, apns-id, collapse id, payload size and shape. Fills *v (status
 * 200 or the first error found, in the order APNs reports them).
 */
void standin_check(const standin_request *req, const char *topic, standin_verdict *v);

/** A fresh random UUID, lower case, into out (37 bytes). */
void standin_uuid(char out[37]);

/** 1 when s is a canonical UUID (8-4-4-4-12 hex digits, any case). */
int standin_is_uuid(const char *s);

/* ---- rules asked for on stdin, and the record file ----------------------- */

/**
 * Handle one control line: `fail <token|*> <status> <reason> [count]`,
 * `clear`, `stats`. Returns 0, or -1 for a line it cannot read (said on
 * stderr). `stats` prints "pushes N connections M" on stdout.
 */
int standin_control(const char *line);

/**
 * If a rule asks for an error for `token` (its own rules first, then "*"),
 * apply it to *v (status, reason) and count it down. Only a request that
 * would otherwise succeed is changed: APNs judges the request first.
 */
void standin_rules_apply(standin_verdict *v);

/** Drop every rule (at exit, so leak checkers stay quiet). */
void standin_rules_free(void);

/** Append the request's JSON line to the record file (when one is open) and flush it. */
void standin_record(const standin_request *req, const standin_verdict *v, unsigned long conn);

/* The counters `stats` and SIGTERM print, and the record file (NULL: none). */
extern unsigned long standin_pushes;
extern unsigned long standin_connections;
extern FILE *standin_record_file;

/* ---- TLS and connections -------------------------------------------------- */

typedef struct standin_tls_options {
    const char *cert;       /* server certificate PEM (may hold the chain) */
    const char *key;        /* its key PEM */
    const char *client_ca;  /* NULL: no client certificate asked for */
    int client_cert_optional; /* ask for a client certificate but do not require one */
} standin_tls_options;

/** An SSL_CTX for the options, ALPN h2 only. NULL on failure (said on stderr). */
SSL_CTX *standin_tls_ctx(const standin_tls_options *o);

typedef struct standin_conn standin_conn;

typedef struct standin_server_options {
    const char *topic;      /* NULL: any topic */
    unsigned max_streams;   /* SETTINGS_MAX_CONCURRENT_STREAMS */
} standin_server_options;

/**
 * A connection on accepted socket fd (non-blocking); NULL on failure (fd closed).
 * Everything it needs later comes from ctx and *opts, which outlive it.
 */
standin_conn *standin_conn_new(int fd, SSL_CTX *ctx, const standin_server_options *opts);

/**
 * Move bytes both ways after the socket became ready. Returns 1 while the
 * connection lives, 0 when it is finished (then standin_conn_free it).
 * *want_write is set when the socket should be watched for writability.
 */
int standin_conn_io(standin_conn *c, int *want_write);

int standin_conn_fd(const standin_conn *c);

/** 1 when c has not finished its TLS handshake within `seconds` of accept. */
int standin_conn_stalled(const standin_conn *c, double now, double seconds);

/** CLOCK_MONOTONIC in seconds. */
double standin_now(void);
void standin_conn_free(standin_conn *c);

#endif
