/* Check-ins and command reports on /mdm/apple/mdm (docs/protocols.md §8):
 * the route (checkin_route.c) proves who is speaking (identity.c) and hands
 * the raw body to a transport-free service (checkin_service.c for check-in
 * messages, checkin_report.c for reports), which parses it with caps
 * (checkin_plist.c), writes the store and says what to answer. The bootstrap
 * token is sealed at rest (bootstrap.c). */
#ifndef ORCHARD_SERVER_CHECKIN_H
#define ORCHARD_SERVER_CHECKIN_H

#include <orchard/plugin.h>

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <plist/plist.h>
#include <stddef.h>

#define ORCHARD_CHECKIN_PATH "/mdm/apple/mdm"
/** A Content-Type starting with this is a check-in; anything else a report. */
#define ORCHARD_CHECKIN_CONTENT_TYPE "application/x-apple-aspen-mdm-checkin"
/** Largest check-in message; larger: 413. */
#define ORCHARD_CHECKIN_MAX_CHECKIN ((size_t)1024 * 1024)
/** Largest command report (an InstalledApplicationList runs to megabytes); the route's max_body. */
#define ORCHARD_CHECKIN_MAX_REPORT ((size_t)16 * 1024 * 1024)
/** Deepest <dict>/<array> nesting parsed; Apple's reports stay under ten. */
#define ORCHARD_CHECKIN_MAX_DEPTH 32
/** Most plist elements in one body (each costs libplist a node). */
#define ORCHARD_CHECKIN_MAX_NODES 500000
/** Longest UDID, CommandUUID, MessageType or Status accepted. */
#define ORCHARD_CHECKIN_MAX_ID 128

/**
 * 1 when a device-chosen identifier (UDID, CommandUUID, Status, MessageType,
 * PushMagic) is fit for a log line and a store key: 1 to
 * ORCHARD_CHECKIN_MAX_ID bytes, no control characters.
 */
int orchard_checkin_id_ok(const char *s);

/* ---- the service (checkin_service.c, checkin_report.c) */

typedef struct orchard_checkin_env {
    orchard_ctx *ctx;   /* events go out through it; NULL: none are published */
    EVP_PKEY *scep_key; /* seals bootstrap tokens; NULL: Set/GetBootstrapToken get 500 */
    const char *topic;  /* the APNs topic Authenticate must name; NULL: not checked */
} orchard_checkin_env;

typedef struct orchard_checkin_request {
    const unsigned char *body;
    size_t len;
    const char *content_type; /* NULL: a report */
    const char *cert_sha256;  /* the verified identity (identity.c), lower-case hex */
    gint64 now_us;            /* wall clock, microseconds */
    /* The UDID the certificate is bound to, when the caller read it with the
     * identity (bound_known; bound_udid NULL: bound to none); otherwise the
     * service asks the store. */
    int bound_known;
    const char *bound_udid;
} orchard_checkin_request;

/**
 * The UDID req's certificate is bound to: from the request when the identity
 * check read it, else from the store. 0 and *udid (g_free), ORCHARD_ENOTFOUND
 * (bound to none), or a store error.
 */
int orchard_checkin_bound_udid(const orchard_checkin_request *req, char **udid);

typedef struct orchard_checkin_reply {
    int status;
    const char *content_type; /* static; NULL when body is empty */
    unsigned char *body;      /* g_free; NULL for an empty answer */
    size_t len;
} orchard_checkin_reply;

/**
 * Decide the answer to one message from the device whose certificate is
 * req->cert_sha256: 200 (with the next command's plist or nothing), 400
 * (malformed, unknown MessageType or Status, identity not bound to the
 * message's UDID; nothing stored), 404 (DeclarativeManagement), 410
 * (UserAuthenticate), 413 (over the size caps), 500 (the store failed).
 * Every refusal is logged with its reason and the UDID when there is one.
 * Returns 0 with *out filled (orchard_checkin_reply_clear), or
 * ORCHARD_EINVAL for a NULL argument.
 */
int orchard_checkin_handle(const orchard_checkin_env *env, const orchard_checkin_request *req,
                           orchard_checkin_reply *out);
void orchard_checkin_reply_clear(orchard_checkin_reply *r);

/* Private to the service's two files. */
int orchard_checkin_report(const orchard_checkin_env *env, const orchard_checkin_request *req,
                           plist_t root, orchard_checkin_reply *out);
/** Set *out to a status without a body and log `fmt` as a warning; returns 0. */
int orchard_checkin_refuse(orchard_checkin_reply *out, int status, const char *fmt, ...)
    ORCHARD_PRINTF(3, 4);
/** Publish `name` with {"udid": .., "<k>": v, ...} (pairs, NULL-terminated). */
void orchard_checkin_event(const orchard_checkin_env *env, const char *name, const char *udid,
                           ...) G_GNUC_NULL_TERMINATED;

/* ---- plists (checkin_plist.c) */

/**
 * Parse an XML plist whose root is a dict, after checking before libplist
 * sees it that it is XML (binary plists are refused), nests at most
 * ORCHARD_CHECKIN_MAX_DEPTH, has at most ORCHARD_CHECKIN_MAX_NODES elements,
 * no NUL byte and no DTD entities. Returns 0 and *root (plist_free), or
 * ORCHARD_EINVAL / ORCHARD_ETOOBIG with *why (static).
 */
int orchard_checkin_plist_parse(const unsigned char *body, size_t len, plist_t *root,
                                const char **why);
/** The string at key (g_free), NULL when absent or not a string. */
char *orchard_checkin_plist_string(plist_t dict, const char *key);
/** The data at key (g_free), NULL when absent or not data. */
unsigned char *orchard_checkin_plist_data(plist_t dict, const char *key, size_t *len);
/** A plist value as JSON text (g_free); dates and data as strings. */
char *orchard_checkin_plist_json(plist_t node);

/* ---- identity (identity.c) */

/**
 * Who sent `body`: the signer of the Mdm-Signature header (base64 of a
 * detached CMS SignedData over the body) when the header is there, else the
 * client certificate (DER) the host saw. The certificate must chain to the
 * SCEP CA, carry clientAuth, be valid at `now` and be one this server issued
 * and did not revoke. Returns 0 and *cert_sha256 (g_free, lower-case hex of
 * its DER) and, when bound_udid is not NULL, *bound_udid (g_free; NULL when
 * no enrollment holds the certificate yet), read in the same store read as
 * the revocation; or ORCHARD_EDENIED with *why (g_free) naming the reason.
 */
int orchard_checkin_identity(X509 *scep_ca, const char *signature_b64,
                             const unsigned char *client_der, size_t client_len,
                             const unsigned char *body, size_t len, gint64 now,
                             char **cert_sha256, char **bound_udid, char **why);

/* ---- the bootstrap token (bootstrap.c) */

/**
 * Seal `token` for `udid` with a key derived from the SCEP CA key
 * (HKDF-SHA256, AES-256-GCM, a random nonce, the UDID as associated data).
 * Returns 0 and *sealed (g_free) / *sealed_len, or ORCHARD_EIO.
 */
int orchard_bootstrap_seal(EVP_PKEY *scep_key, const char *udid, const unsigned char *token,
                           size_t len, unsigned char **sealed, size_t *sealed_len);
/** The reverse: 0 and *token (g_free), or ORCHARD_EINVAL (tampered, wrong key or UDID). */
int orchard_bootstrap_open(EVP_PKEY *scep_key, const char *udid, const unsigned char *sealed,
                           size_t sealed_len, unsigned char **token, size_t *len);

#endif
