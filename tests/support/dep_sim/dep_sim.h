/* dep_sim: plays Apple's Device Assignment service (ABM/DEP) for one MDM
 * server account over plain HTTP, for orchard's tests, bench/dep and `make
 * run`. Shared state of the simulator; one libmicrohttpd thread serves every
 * request, so the state needs no lock. README.md says what it answers. */
#ifndef ORCHARD_DEP_SIM_H
#define ORCHARD_DEP_SIM_H

#include <glib.h>
#include <jansson.h>
#include <stdio.h>

#define DEPSIM_PAGE_MAX 1000     /* Apple's cap on limit and on serials per call */
#define DEPSIM_PAGE_DEFAULT 100  /* limit when the request has none */
#define DEPSIM_BODY_MAX (1u << 20) /* a request body larger than this: 413 */
#define DEPSIM_SERIAL_MAX 64
#define DEPSIM_DELAY_MAX_MS 10000   /* the longest /_sim/delay */
#define DEPSIM_PAGE_CALLS_MAX 10000 /* fetch and sync calls kept for GET /_sim/calls */

/* The endpoints, for call counts and failure rules. */
typedef enum depsim_ep {
    EP_SESSION,
    EP_ACCOUNT,
    EP_FETCH,
    EP_SYNC,
    EP_PROFILE,
    EP_ASSIGN,
    EP_DETAILS,
    EP_OTHER, /* an unknown path (404) */
    EP_COUNT
} depsim_ep;

extern const char *const depsim_ep_names[EP_COUNT];

typedef struct depsim_device {
    char *serial, *model, *description, *color, *os, *device_family;
    char *profile_status; /* "empty", "assigned", "pushed", "removed" */
    char *profile_uuid;   /* NULL: none */
    gint64 profile_assign_time, device_assigned_date; /* unix seconds (0: none) */
    char *device_assigned_by;
    char *last_op_type;
    gint64 last_op_date;
    int deleted;
} depsim_device;

/* One change for /devices/sync, in op_date order (the log only grows). */
typedef struct depsim_op {
    guint device; /* index into devices */
    const char *op_type; /* "added", "modified", "deleted" (static) */
    gint64 op_date;
} depsim_op;

/* A failure injected through /_sim/fail. */
typedef struct depsim_rule {
    int ep;          /* depsim_ep, or -1 for every endpoint */
    char *error;     /* T_C_NOT_SIGNED, THROTTLED, 500, 401, 403, EXPIRED_CURSOR, INVALID_CURSOR */
    int count;       /* answers left */
    int retry_after; /* THROTTLED: seconds */
    int throttle_400; /* THROTTLED as 400 + JSON instead of 429 + Retry-After */
    int shape;       /* other errors' body: 0 bare code, 1 a JSON string, 2 {"code", "message"} */
} depsim_rule;

typedef struct depsim_options {
    char *consumer_key, *consumer_secret, *access_token, *access_secret;
    unsigned devices, seed;
    gint64 session_ttl, cursor_ttl; /* seconds */
} depsim_options;

typedef struct depsim {
    depsim_options opt;
    GRand *rng; /* seeded: tokens, profile UUIDs and cursor keys repeat per seed */
    gint64 clock_offset;
    GPtrArray *devices;      /* depsim_device*, in order added; never shrinks */
    GHashTable *by_serial;   /* serial -> index+1 (GUINT_TO_POINTER) */
    GArray *ops;             /* depsim_op */
    gint64 last_op_date;
    unsigned next_index;     /* the next generated device's mac_sim index */
    GHashTable *sessions;    /* token -> gint64* expiry */
    GHashTable *nonces;      /* nonce -> gint64* timestamp */
    GHashTable *profiles;    /* uuid -> json_t* (as defined) */
    GPtrArray *rules;        /* depsim_rule* */
    GHashTable *assign_fail; /* serials whose next assignments answer FAILED */
    unsigned char cursor_key[32];
    guint32 cursor_epoch;    /* bumped by /_sim/expire_cursors and reset */
    int rotate_left;         /* replies that still hand out a new session */
    guint delay_ms[EP_COUNT]; /* /_sim/delay: each call of the endpoint waits this long */
    GPtrArray *page_calls;   /* json_t* {endpoint, cursor, status, devices}: fetch and sync
                              * calls, oldest first, at most DEPSIM_PAGE_CALLS_MAX */
    guint64 calls[EP_COUNT];
    guint64 sessions_made;
    FILE *log;
} depsim;

extern depsim *sim;

/* ---- state (state.c) ---- */
gint64 depsim_now(void);
void depsim_iso(gint64 t, char out[32]);
void depsim_reset(void);
void depsim_free(void);
/* A generated device (mac_sim's serial for seed and index) or NULL on a
 * duplicate serial; records an "added" op. */
depsim_device *depsim_add(const char *serial, const char *model);
void depsim_op_add(guint device, const char *op_type);
depsim_device *depsim_find(const char *serial); /* NULL: unknown */
json_t *depsim_device_json(const depsim_device *d, const char *op_type, gint64 op_date);
void depsim_random_hex(char *out, size_t bytes);

/* ---- one request (http.c) ---- */
typedef struct depsim_reply {
    unsigned status;
    char *body;          /* malloc'd (free), or NULL for an empty body */
    const char *ctype;
    char *new_session;   /* X-ADM-Auth-Session to send (g_free) */
    int retry_after;     /* >0: a Retry-After header */
} depsim_reply;

void depsim_reply_json(depsim_reply *r, unsigned status, json_t *j);   /* steals j */
void depsim_reply_text(depsim_reply *r, unsigned status, const char *code);

/* ---- OAuth 1.0a on GET /session (oauth.c) ---- */
/* 0 when the Authorization header is a valid signature by our four values
 * for GET `url` with the query parameters `query` (name, value, name, ...,
 * decoded; NULL for none); else -1 with *why (static) for the log. */
int depsim_oauth_check(const char *authorization, const char *url, GPtrArray *query,
                       const char **why);
/* RFC 3986 percent-encoding of OAuth (unreserved kept); g_free. */
char *depsim_oauth_encode(const char *s);

/* ---- the service (service.c) ---- */
/* One call of Apple's API. For EP_SESSION `url` is the URL the client
 * signed, `query` its query parameters (depsim_oauth_check) and `auth` the
 * Authorization header; otherwise `auth` is the
 * X-ADM-Auth-Session header (NULL when absent). */
void depsim_serve(depsim_ep ep, const char *url, const char *auth, GPtrArray *query,
                  const char *body, size_t body_len, depsim_reply *r);

/* ---- devices and cursors (devices.c) ---- */
void depsim_devices_page(int sync, json_t *req, depsim_reply *r);
void depsim_details(json_t *req, depsim_reply *r);
/* The request's "devices": 1-1000 strings (borrowed from req; g_free the
 * array), or NULL when it is anything else. */
const char **depsim_serials(json_t *req, size_t *n);

/* ---- profiles (profiles.c) ---- */
void depsim_profile_define(json_t *req, depsim_reply *r);
void depsim_profile_assign(json_t *req, depsim_reply *r);

/* ---- controls under /_sim/ (control.c) ---- */
void depsim_control(const char *method, const char *path, const char *body, size_t len,
                    depsim_reply *r);

/* ---- `dep_sim token` (token.c) ---- */
int depsim_token_main(int argc, char **argv);
/* Reads {consumer_key, consumer_secret, access_token, access_secret}; 0 or -1. */
int depsim_read_credentials(const char *path, depsim_options *o);

#endif
