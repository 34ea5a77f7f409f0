/* The apns suite's fixture (apns_test.c): the APNs stand-in
 * (tests/support/apns_standin) run as a child with a CA and server
 * certificate of its own, the server plugin's context, store and serving
 * configuration, enrolled test devices, what the store says about them, the
 * push API's handler behind a fake request, and an HTTP client for a real
 * `orchard serve`. */
#ifndef ORCHARD_TEST_APNS_FIXTURE_H
#define ORCHARD_TEST_APNS_FIXTURE_H

#include "server_plugin/apns/apns.h"

#include <orchard/plugin.h>

#include <glib.h>

extern struct apnsfx {
    orchard_ctx *ctx;            /* the server plugin's context */
    orchard_ctx *settings_owner; /* set when this suite declared the plugin's keys */
    char *store;
    char *ca;                    /* the stand-in's CA (mdm.apple_apns_ca) */
    char *record;                /* the stand-in's JSON-lines record */
    char *url;                   /* the stand-in's https:// base URL */
    GPid pid;
    int in, out;                 /* the stand-in's stdin and stdout */
    int ready;                   /* the stand-in is up and the plugin serving */
    int serial;                  /* makes UDIDs, tokens and certificate hashes unique */
} apnsfx;

/* CUnit suite init and cleanup: 0, or -1 (said on stderr). */
int apnsfx_init(void);
int apnsfx_cleanup(void);

/* ---- the stand-in */

/** Send a control line (NULL: none), then `stats`, whose answer proves the
 * line was read: the pushes the stand-in has answered so far, or -1. */
long apnsfx_say(const char *line);
/** The record's lines for `token` (json_t *, decref'd by the array). */
GPtrArray *apnsfx_recorded(const char *token);
/** A run-time value for a setting (NULL removes it). */
void apnsfx_set(const char *key, const char *value);
/** Serve with the fixtures' good configuration plus kv (mdmfx pairs). */
void apnsfx_serve_with(const char *const *kv);

/* ---- devices */

typedef struct {
    char udid[64];
    char token_hex[65];
    unsigned char token[32];
    char magic[64]; /* with a quote and a backslash: JSON escaping is tested */
} apnsfx_device;

gint64 apnsfx_now_ms(void);
/** Authenticate + TokenUpdate a fresh device, as the check-in flow does. */
void apnsfx_enroll(apnsfx_device *d);
/** orchard_apns_push for one device. */
void apnsfx_want(const apnsfx_device *d);
/** One run of the job with the clock at at_ms. */
orchard_apns_stats apnsfx_run_at(gint64 at_ms);
/** The enrollment's push_token_valid, and *reason (g_free) its invalid reason. */
int apnsfx_token_valid(const apnsfx_device *d, char **reason);
/** 1 and the queue row's attempts and next_attempt_at, or 0 when not queued. */
int apnsfx_queued(const apnsfx_device *d, gint64 *attempts, gint64 *next);
/** The device's recorded outcomes, oldest first (orchard_push_record *). */
GPtrArray *apnsfx_records_of(const apnsfx_device *d);
/** Rows of the activities table of `type`. */
gint64 apnsfx_activities(const char *type);

/* ---- the push API */

typedef struct {
    int status;
    char *body; /* g_free */
} apnsfx_resp;

/** POST body (len 0: strlen) to the route's handler as a maintainer would. */
void apnsfx_post(const char *path, const char *body, size_t len, apnsfx_resp *r);
/** POST over HTTP with a bearer token (NULL: none): the status; *out the body (g_free). */
long apnsfx_post_http(const char *url, const char *token, const char *body, char **out);
/** An API-only user's token from `orchard user create` (g_free), or NULL. */
char *apnsfx_api_user(const char *cfg, const char *email, const char *role);
/** 1 once something answers at base (10 s at most). */
int apnsfx_wait_listening(const char *base);

#endif
