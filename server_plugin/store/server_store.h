/* The server plugin's durable state, on the host's store (orchard_host_api
 * store_* / stmt_*, ABI 1.1): its schema migrations and every query the flows
 * make, one file per concern (store_schema.c, store_certs.c,
 * store_secrets.c, store_state.c; shared plumbing in store_sql.h). Flows
 * call these functions, never SQL, so a backend change touches only the
 * host. All functions return 0 or a negative orchard_error_code and log the
 * store's message on failure. */
#ifndef ORCHARD_SERVER_STORE_H
#define ORCHARD_SERVER_STORE_H

#include <glib.h>
#include <stddef.h>

/** Apply the plugin's migrations (idempotent). ORCHARD_EABI: host lacks a store. */
int orchard_server_store_migrate(void);
/** 0 when a read transaction on the server's tables works (GET /healthz), else its code. */
int orchard_server_store_ping(void);

/* ---- SCEP challenges: one-time ones live in the store, hashed ---- */

typedef enum {
    ORCHARD_CHALLENGE_STATIC = 0,  /* mdm.apple_scep_challenge */
    ORCHARD_CHALLENGE_ONE_TIME = 1, /* from an enrollment profile */
    ORCHARD_CHALLENGE_RENEWAL = 2   /* none: a RenewalReq signed by our certificate */
} orchard_challenge_kind;

/** "static" / "one-time" / "renewal", as the scep_certificates table shows them. */
const char *orchard_challenge_kind_name(orchard_challenge_kind kind);

/**
 * Create a one-time challenge valid for `ttl_seconds` from now: 32 random
 * bytes, base64url. Only its SHA-256 is stored. Returns 0 and *challenge
 * (g_free; wipe not needed once embedded in a profile).
 */
int orchard_server_store_challenge_create(gint64 ttl_seconds, char **challenge);

/* ---- issued certificates ---- */

typedef struct orchard_issued_cert {
    const char *serial;   /* hex, upper case, as the certificate carries it */
    const char *subject;  /* one-line RFC 2253 subject */
    gint64 not_before;    /* unix seconds */
    gint64 not_after;
    orchard_challenge_kind challenge_kind;
    const char *sha256;   /* hex of the certificate DER's SHA-256 */
    const unsigned char *der;
    size_t der_len;
    const char *renewed_serial; /* RenewalReq: serial of the signing cert; else NULL */
} orchard_issued_cert;

/**
 * Record an issued certificate in one write transaction, consuming the
 * one-time `challenge` in the same transaction when the kind is ONE_TIME, so
 * a certificate is never recorded without its challenge being spent and a
 * challenge is never spent without its certificate being recorded.
 * Returns 0, or ORCHARD_ENOTFOUND when the one-time challenge is unknown,
 * already used or expired at `now` (nothing is recorded), ORCHARD_EEXIST on a
 * serial clash, ORCHARD_EBUSY / ORCHARD_EIO from the store.
 */
int orchard_server_store_cert_record(const orchard_issued_cert *cert, const char *challenge,
                                     gint64 now);

/**
 * Whether a one-time challenge is currently usable (unknown, used or expired
 * → ORCHARD_ENOTFOUND). A cheap read before the expensive signing; the
 * authoritative check is the one in orchard_server_store_cert_record.
 */
int orchard_server_store_challenge_check(const char *challenge, gint64 now);

/**
 * Delete at most `batch` one-time challenges that expired at or before
 * `now` (used or not). Returns 0 and *deleted; call again while *deleted ==
 * batch.
 */
int orchard_server_store_challenges_expire(gint64 now, gint64 batch, gint64 *deleted);

/**
 * The record of a certificate this server issued, by hex serial: *revoked
 * and *not_after. ORCHARD_ENOTFOUND when the serial is not ours.
 */
int orchard_server_store_cert_lookup(const char *serial, int *revoked, gint64 *not_after);

/**
 * The same in the same read, plus the UDID the certificate is bound to
 * (*bound_udid, g_free; NULL when no enrollment holds it): a check-in's
 * identity and binding in one store read.
 */
int orchard_server_store_cert_identity(const char *serial, int *revoked, gint64 *not_after,
                                       char **bound_udid);

/** Called for each row of scep_certificates; return non-zero to stop. */
typedef int (*orchard_cert_row_fn)(const char *serial, const char *subject, gint64 not_before,
                                   gint64 not_after, int revoked, const char *challenge_kind,
                                   void *payload);
int orchard_server_store_cert_each(orchard_cert_row_fn fn, void *payload);

/* ---- enrollment tokens (stored as SHA-256) ---- */

/** Create a token (32 random bytes, base64url). *token (g_free). */
int orchard_server_store_token_create(const char *name, char **token);
/**
 * 0 when `token` is a known enrollment token, with *name (g_free; NULL when
 * the token has none) when `name` is not NULL; else ORCHARD_ENOTFOUND.
 */
int orchard_server_store_token_check(const char *token, char **name);

/* ---- server state ---- */

/**
 * APNs topic continuity: the first start records `topic`; later starts must
 * present the same one. Returns 0 (recorded or same), or ORCHARD_EEXIST with
 * *recorded (g_free) the topic on record when they differ and `accept_new`
 * is 0; with accept_new the new topic replaces the old one.
 */
int orchard_server_store_topic_check(const char *topic, int accept_new, char **recorded);

#endif
