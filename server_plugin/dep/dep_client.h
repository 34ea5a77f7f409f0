/* The Apple Business Manager (DEP) client: Apple's "Device Assignment" web
 * service for one MDM server, spoken through the host's HTTP client
 * (libcurl, host->http_client_*). A session is taken with OAuth 1.0a
 * HMAC-SHA1 on GET /session (dep_oauth.h) with the ABM token's four
 * values, sent as X-ADM-Auth-Session on every call and replaced when a
 * reply carries a new one; a 401 or 403 FORBIDDEN re-authenticates once.
 * Apple's error codes come back named (orchard_dep_status), so the sync
 * (dep_sync.c) decides what each means. docs/dep.md. */
#ifndef ORCHARD_SERVER_DEP_CLIENT_H
#define ORCHARD_SERVER_DEP_CLIENT_H

#include "server_plugin/dep/abm_token.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <jansson.h>

/** Apple's production service. */
#define ORCHARD_DEP_DEFAULT_URL "https://mdmenrollment.apple.com"
/** X-Server-Protocol-Version sent on every call. */
#define ORCHARD_DEP_PROTOCOL_VERSION "3"
/** Most devices Apple returns per page and takes per assign call. */
#define ORCHARD_DEP_PAGE_MAX 1000
/** The largest reply body read (a page of 1000 devices is ~400 KiB). */
#define ORCHARD_DEP_REPLY_MAX ((size_t)8 * 1024 * 1024)

/** What a call came to, as Apple names it. */
typedef enum orchard_dep_status {
    ORCHARD_DEP_OK = 0,
    ORCHARD_DEP_EXHAUSTED_CURSOR,  /* 400: the fetch is complete; sync from now on */
    ORCHARD_DEP_EXPIRED_CURSOR,    /* 400: the cursor is older than 7 days: fetch again */
    ORCHARD_DEP_INVALID_CURSOR,    /* 400: unknown cursor: fetch again */
    ORCHARD_DEP_T_C_NOT_SIGNED,    /* 403: new terms must be accepted in ABM */
    ORCHARD_DEP_THROTTLED,         /* 429 or THROTTLED: wait retry_after seconds */
    ORCHARD_DEP_UNAUTHORIZED,      /* 401/403 again after a fresh session: the token is refused */
    ORCHARD_DEP_TOKEN_EXPIRED,     /* the token's access_token_expiry passed (no call made) */
    ORCHARD_DEP_SERVER_ERROR,      /* 5xx after the client's retries */
    ORCHARD_DEP_NETWORK,           /* no answer (connect, TLS, timeout) after retries */
    ORCHARD_DEP_BAD_REPLY,         /* an answer that is not what Apple sends (not JSON, ...) */
    ORCHARD_DEP_REFUSED            /* another 4xx: `apple_code` and `message` say which */
} orchard_dep_status;

/** A call's outcome beyond 0/-code: filled by every call (orchard_dep_result_clear). */
typedef struct orchard_dep_result {
    orchard_dep_status status;
    int http_status;       /* 0 without an answer */
    char *apple_code;      /* Apple's error code text ("EXPIRED_CURSOR"), or NULL */
    char *message;         /* for logs and the admin; never a secret */
    gint64 retry_after;    /* seconds, for THROTTLED (Retry-After or retry_after_seconds) */
} orchard_dep_result;

void orchard_dep_result_clear(orchard_dep_result *r);
/** "EXPIRED_CURSOR", "T_C_NOT_SIGNED", ... ("OK" for ORCHARD_DEP_OK). */
const char *orchard_dep_status_name(orchard_dep_status s);

typedef struct orchard_dep_client orchard_dep_client;

typedef struct orchard_dep_client_config {
    const char *base_url;          /* NULL: ORCHARD_DEP_DEFAULT_URL (mdm.apple_dep_url) */
    const orchard_abm_token *token; /* borrowed for the client's life */
    const char *ca_pem;            /* trust for base_url's TLS (tests); NULL: the system's */
    guint32 timeout_ms;            /* per request (0: 60000) */
    int max_retries;               /* 5xx / network retries with backoff (0: 3; -1: none) */
    guint32 backoff_ms;            /* the first retry's wait, doubled per retry up to 4x
                                      (0: 500, so 0.5 s, 1 s, 2 s); tests set it tiny */
} orchard_dep_client_config;

/**
 * A client (no call made yet). ctx is used for host->http_client_open and
 * messages. Returns 0 and *out (orchard_dep_client_free), ORCHARD_EINVAL (a
 * bad base URL or no token), ORCHARD_EIO (the HTTP module cannot load),
 * ORCHARD_ENOTCONFIGURED (a host without the outbound HTTP client), with
 * host->fail's message on ctx. One thread at a time uses a client.
 */
int orchard_dep_client_new(orchard_ctx *ctx, const orchard_dep_client_config *cfg,
                           orchard_dep_client **out);
void orchard_dep_client_free(orchard_dep_client *c);

/*
 * Every call below returns 0 when Apple answered with success (res->status
 * ORCHARD_DEP_OK and the out-parameter set, owned by the caller), or
 * ORCHARD_EPROTO with res saying what Apple answered (status, code,
 * message, retry_after), or ORCHARD_EIO (no answer; res->status NETWORK),
 * ORCHARD_ETOOBIG (a reply over ORCHARD_DEP_REPLY_MAX; res->status
 * BAD_REPLY), ORCHARD_EINVAL (bad arguments: nothing sent; res->status
 * REFUSED, the message says which). A token past its expiry fails every
 * call with TOKEN_EXPIRED (ORCHARD_EPROTO) before anything is sent. On
 * failure the out-parameter is NULL. The client never sleeps for
 * THROTTLED: res->retry_after says how long the caller should wait.
 */

/** GET /account: {server_name, server_uuid, admin_id, facilitator_id, org_name, ...}. */
int orchard_dep_account(orchard_dep_client *c, json_t **account, orchard_dep_result *res);

/**
 * One page of devices: POST /server/devices (sync 0: the full fetch) or
 * POST /devices/sync (sync 1), body {"cursor" (omitted when NULL or ""),
 * "limit"}. *page is Apple's object: {cursor, fetched_until,
 * more_to_follow, devices: [...]}.
 */
int orchard_dep_devices_page(orchard_dep_client *c, int sync, const char *cursor, int limit,
                             json_t **page, orchard_dep_result *res);

/** POST /profile: define `profile` (Apple's profile JSON). *profile_uuid (g_free). */
int orchard_dep_profile_define(orchard_dep_client *c, const json_t *profile,
                               char **profile_uuid, orchard_dep_result *res);

/**
 * PUT /profile/devices: assign `profile_uuid` to at most ORCHARD_DEP_PAGE_MAX
 * serials. *devices is Apple's per-serial result object {"SERIAL":
 * "SUCCESS" | "NOT_ACCESSIBLE" | "FAILED", ...}.
 */
int orchard_dep_profile_assign(orchard_dep_client *c, const char *profile_uuid,
                               const char *const *serials, size_t n, json_t **devices,
                               orchard_dep_result *res);

/** POST /devices: details of at most ORCHARD_DEP_PAGE_MAX serials: {"devices": {serial: {...}}}. */
int orchard_dep_device_details(orchard_dep_client *c, const char *const *serials, size_t n,
                               json_t **devices, orchard_dep_result *res);

/* ------------------------------------------------------------------------ */
/* Apple's answers, read (dep_errors.c). The client calls these; they are
 * public for the tests and the fuzzer (tests/fuzz/fuzz_dep_reply.c). */

/** THROTTLED without a time from Apple: wait this long (seconds). */
#define ORCHARD_DEP_THROTTLE_DEFAULT 60
/** The longest wait believed from Retry-After or retry_after_seconds. */
#define ORCHARD_DEP_RETRY_AFTER_MAX 86400
/** The longest Apple error code kept ("EXPIRED_CURSOR" is 14). */
#define ORCHARD_DEP_CODE_MAX 64

/**
 * What an answer other than 2xx says. `body` (len bytes, any bytes) is
 * Apple's error body: a bare code ("EXPIRED_CURSOR", also quoted as a JSON
 * string), or a JSON object with "code" / "error_code" / "error" (a code,
 * or an object with "code") and "message" / "error_message" /
 * "description", and "retry_after_seconds". `retry_after` is the
 * Retry-After header (delta-seconds or an HTTP-date), or NULL; `now` is
 * unix seconds for an HTTP-date. Clears res, then fills status, http_status,
 * apple_code (only a code of [A-Za-z0-9_], at most ORCHARD_DEP_CODE_MAX),
 * message (printable ASCII, bounded) and retry_after.
 */
void orchard_dep_parse_error(int http_status, const void *body, size_t len,
                             const char *retry_after, gint64 now, orchard_dep_result *res);

/** The success bodies the client reads, each validated as Apple sends it. */
typedef enum orchard_dep_reply_kind {
    ORCHARD_DEP_REPLY_SESSION, /* {auth_session_token: visible ASCII, fit for a header} */
    ORCHARD_DEP_REPLY_ACCOUNT, /* an object */
    ORCHARD_DEP_REPLY_PAGE,    /* cursor string, more_to_follow boolean, devices array of
                                  objects each with a serial_number (absent devices: []) */
    ORCHARD_DEP_REPLY_DEFINE,  /* profile_uuid string; devices, when there, an object */
    ORCHARD_DEP_REPLY_ASSIGN,  /* devices: an object of serial -> result string */
    ORCHARD_DEP_REPLY_DETAILS  /* devices: an object of serial -> object */
} orchard_dep_reply_kind;

/**
 * Parse a 2xx body of `kind`. Returns 0 and *out (json_decref; for SESSION
 * the whole object), or ORCHARD_EPROTO with res->status BAD_REPLY and a
 * message saying what was wrong. res is cleared first (the caller sets
 * http_status).
 */
int orchard_dep_parse_reply(orchard_dep_reply_kind kind, const void *body, size_t len,
                            json_t **out, orchard_dep_result *res);

#endif
