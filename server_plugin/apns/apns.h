/* APNs for the server plugin: the pusher that wakes devices (docs/protocols.md,
 * APNs). Callers ask for pushes by UDID; the `apns.push` job sends them
 * through the host's outbound HTTP/2 client (ABI 1.3), records every
 * outcome, marks dead tokens and retries the rest with backoff. */
#ifndef ORCHARD_SERVER_APNS_H
#define ORCHARD_SERVER_APNS_H

#include "server_plugin/config/mdm_config.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <stddef.h>

/**
 * Ask for a push to each device (coalesced per device in the store) and
 * queue the `apns.push` job. Returns 0, or a store error.
 */
int orchard_apns_push(orchard_ctx *ctx, const char *const *udids, size_t n);

/* What the plugin registers (the job, `orchard push`, the push API) and
 * orchard_apns_cleanup are declared in server_plugin/server.h. */

/* ---- outcomes and retries (apns_outcome.c; docs/protocols.md, APNs) ---- */

#define ORCHARD_APNS_BATCH 5000          /* devices per batch of the job */
#define ORCHARD_APNS_MAX_ATTEMPTS 12     /* failed attempts before a push is given up */
#define ORCHARD_APNS_BACKOFF_BASE_MS 1000
#define ORCHARD_APNS_BACKOFF_CAP_MS (10 * 60 * 1000)

/** What one push's answer means. */
typedef enum orchard_apns_verdict {
    ORCHARD_APNS_SENT = 0,   /* 200: APNs took it */
    ORCHARD_APNS_DEAD = 1,   /* a permanent error: the token is invalid until its next TokenUpdate */
    ORCHARD_APNS_RETRY = 2,  /* 429, 5xx, no answer: try again later */
    ORCHARD_APNS_REFUSED = 3 /* any other answer: recorded, not retried */
} orchard_apns_verdict;

/** The verdict for a call's result (0 or the client's failure), status and reason (may be NULL). */
orchard_apns_verdict orchard_apns_classify(int result, int status, const char *reason);

/**
 * The wait before the next attempt after `attempts` failed ones (0 for the
 * first failure): 1 s doubling up to 10 min, times 0.8 + 0.4 * jitter
 * (jitter in [0, 1]).
 */
gint64 orchard_apns_backoff_ms(gint64 attempts, double jitter);

/**
 * The "reason" of an APNs error body ({"reason": "BadDeviceToken"}) into out
 * (NUL-terminated). Returns 0, or ORCHARD_EINVAL (not that JSON shape, or a
 * reason that is not 1-64 letters and digits: out is "").
 */
int orchard_apns_reason(const unsigned char *body, size_t len, char *out, size_t out_size);

/* ---- the pusher (apns_client.c): the HTTP/2 client and its settings ---- */

typedef struct orchard_apns_pusher orchard_apns_pusher;

/**
 * Open a pusher on the host's outbound client with the APNs certificate and
 * key of `cfg` and the mdm.apple_apns_* settings (docs/configuration.md).
 * Returns 0 and *out, or ORCHARD_ENOTCONFIGURED (no APNs certificate, a host
 * without the 1.3 client), ORCHARD_EINVAL (a bad setting or TLS material),
 * ORCHARD_EIO, each with host->fail's message on ctx and, when why is not
 * NULL, in *why (g_free).
 */
int orchard_apns_pusher_open(orchard_ctx *ctx, const orchard_mdm_config *cfg,
                             orchard_apns_pusher **out, char **why);
void orchard_apns_pusher_close(orchard_apns_pusher *p);

/** One device to push (strings borrowed). topic NULL: the certificate's. */
typedef struct orchard_apns_target {
    const char *udid;
    const char *token_hex;
    const char *push_magic;
    const char *topic;
} orchard_apns_target;

/** One push's outcome. */
typedef struct orchard_apns_result {
    orchard_apns_verdict verdict;
    int status;          /* 0: no answer */
    char apns_id[64];    /* "" when none */
    char reason[160];    /* APNs' reason, or why there was no answer; "" on success */
    gint64 sent_ms;
} orchard_apns_result;

/**
 * Push to `n` devices at once (multiplexed on the client's connections) and
 * fill results[i]. Returns 0, or ORCHARD_EINVAL when the host refused the
 * calls before sending any (results say RETRY then).
 */
int orchard_apns_send(orchard_apns_pusher *p, const orchard_apns_target *t, size_t n,
                      orchard_apns_result *results);

/* ---- one run of the job (apns_job.c) ---- */

typedef struct orchard_apns_stats {
    size_t sent, dead, retried, gave_up, refused, dropped;
} orchard_apns_stats;

/**
 * Push to every device due at now_ms, in batches of ORCHARD_APNS_BATCH,
 * record and settle each outcome; `orchard job run apns.push` and tests
 * call it with their own clock. Returns 0, ORCHARD_ETIMEOUT (the job's
 * deadline: the rest go next run) or a store error.
 */
int orchard_apns_run(orchard_ctx *ctx, gint64 now_ms, orchard_apns_stats *stats);

#endif
