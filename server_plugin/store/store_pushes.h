/* Pushes on the store: the devices waiting for an APNs push
 * (apns_push_queue, one row per device, so pushes coalesce) and every push's
 * outcome (apns_pushes). Written and read by server_plugin/apns/;
 * implemented in store_pushes.c. Returns 0 or a negative
 * orchard_error_code. Times here are milliseconds. */
#ifndef ORCHARD_SERVER_STORE_PUSHES_H
#define ORCHARD_SERVER_STORE_PUSHES_H

#include <glib.h>
#include <stddef.h>

/** Ask for a push to each device, due at now_ms; a device already waiting
 * stays once (its next attempt moves to now_ms, its attempts reset). */
int orchard_store_push_want(const char *const *udids, size_t n, gint64 now_ms);

/** A device due for a push, with what the push needs. */
typedef struct orchard_push_due {
    char *udid;
    char *token_hex;      /* NULL: no valid token (the pusher drops the row) */
    char *push_magic;
    char *topic;
    gint64 attempts;
    /* (added by the pusher) the row's next_attempt_at when read: a want
     * that arrives while the push is in flight moves it, and settling
     * leaves such a row queued (orchard_store_push_settle) */
    gint64 due_ms;
} orchard_push_due;

void orchard_push_due_free(orchard_push_due *p);

/** At most `limit` devices due at now_ms, oldest first (free func set). */
int orchard_store_push_due(gint64 now_ms, gint64 limit, GPtrArray **out);

/** Done with a device: delete its queue row. */
int orchard_store_push_done(const char *udid);
/** Try again at next_ms (attempts + 1, reason kept). */
int orchard_store_push_retry(const char *udid, gint64 next_ms, const char *reason);

/** Record one push's outcome (status 0: no answer). */
int orchard_store_push_record(const char *udid, const char *apns_id, int status,
                              const char *reason, gint64 sent_ms);

/** What becomes of a device's queue row after one push (orchard_store_push_settle). */
typedef enum orchard_push_next {
    ORCHARD_PUSH_DONE = 0,  /* delete the row */
    ORCHARD_PUSH_RETRY = 1, /* attempts + 1, next attempt at next_ms */
    ORCHARD_PUSH_DROP = 2   /* delete the row without a record: nothing was sent */
} orchard_push_next;

/** One push's outcome, to record and settle. Strings borrowed. */
typedef struct orchard_push_outcome {
    const char *udid;
    const char *apns_id;  /* NULL without an answer */
    int status;           /* 0: no answer */
    const char *reason;   /* APNs' reason, or why there was no answer; may be NULL */
    gint64 sent_ms;
    orchard_push_next next;
    gint64 next_ms;       /* RETRY only */
    gint64 due_ms;        /* the row's next_attempt_at as read (orchard_push_due.due_ms) */
} orchard_push_outcome;

/**
 * Record `n` outcomes (apns_pushes) and settle their queue rows, in one
 * write transaction: a batch costs one commit, not three per device. A row
 * wanted again since it was read (next_attempt_at != due_ms) stays as the
 * new want left it. Returns 0 or a store error (nothing written).
 */
int orchard_store_push_settle(const orchard_push_outcome *o, size_t n);

typedef struct orchard_push_record {
    char *udid;
    char *apns_id;
    int status_code;
    char *reason;
    gint64 sent_ms;
} orchard_push_record;

void orchard_push_record_free(orchard_push_record *p);

/** Every recorded push, newest first, at most `limit` (0: all); free func set. */
int orchard_store_push_list(gint64 limit, GPtrArray **out);

#endif
