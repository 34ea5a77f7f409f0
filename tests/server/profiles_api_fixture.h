/* The profiles API suites (profiles_api_test.c, profiles_batch_test.c):
 * the profiles routes served for real by orchard_http_serve on a fresh
 * store (SQLite, or PostgreSQL under ORCHARD_TEST_STORE=postgres) with
 * teams 1 "Design" and 2 "Sales", hosts HOST-T1-A..E (team 1, enabled),
 * HOST-T1-OFF (team 1, never enabled) and HOST-T0-A (no team); bearer
 * tokens per role; the "mdm" gate open. And the client calls. */
#ifndef ORCHARD_TEST_PROFILES_API_FIXTURE_H
#define ORCHARD_TEST_PROFILES_API_FIXTURE_H

#include "server_plugin/store/store_sql.h"

#include <glib.h>
#include <jansson.h>
#include <stddef.h>

#define TOKEN_OBSERVER "Authorization: Bearer observer-tok"
#define TOKEN_MAINTAINER "Authorization: Bearer maintainer-tok"
#define LATEST "/api/latest/fleet"
#define PROFILES LATEST "/mdm/apple/profiles"

/* 1 once paf_init set the store up. */
extern int paf_store_ok;

/* CUnit suite init and cleanup. */
int paf_init(void);
int paf_cleanup(void);

/* ---- the store */
gint64 paf_now_s(void);
/* One statement in a write transaction of its own: 0 or -1. */
int paf_sql(const char *text, const orchard_sql_param *params, size_t n);
/* A row of mdm_host_profiles. */
int paf_host_profile(const char *udid, const char *identifier, const char *op,
                     const char *status);
/* orchard_sstore_read_one's row reader of one integer column into a gint64. */
int paf_int_row(const orchard_host_api *h, orchard_stmt *st, void *out);
/* The desired-state marker now (g_free). */
char *paf_marker(void);
/* The newest activity's type (g_free) and details (json_decref); NULL when none. */
void paf_newest_activity(char **type, json_t **details);

/* ---- the client */
typedef struct {
    long status;
    char *body;
    json_t *json; /* the body parsed, or NULL */
} paf_answer;

void paf_answer_clear(paf_answer *a);
/* `method` `path` with the header line `auth` (may be NULL), a Content-Type
 * (may be NULL) and a body (NULL: none; "" with len 0: an empty one). */
void paf_call(paf_answer *a, const char *method, const char *path, const char *auth,
              const char *content_type, const void *body, size_t len);
void paf_get(paf_answer *a, const char *path, const char *auth);
/* POST .../profiles as curl -F profile=@file [-F team_id=T] sends it. */
void paf_upload_as(paf_answer *a, const char *auth, const void *data, size_t len,
                   const char *team);
void paf_upload(paf_answer *a, const char *text, const char *team);
/* A Fleet error with `status` whose message holds `want`. */
void paf_expect_error(const paf_answer *a, long status, const char *want);
void paf_upload_refused(const char *text, const char *team, long status, const char *want);
/* Upload and expect 200: the profile_id (0 when refused). */
gint64 paf_upload_ok(const char *text, const char *team);
/* GET the list with `query` ("" or "?team_id=N"): the profiles array (json_decref). */
json_t *paf_list(const char *query);
/* The entry of `arr` with `identifier` (borrowed), or NULL. */
json_t *paf_find(json_t *arr, const char *identifier);

#endif
