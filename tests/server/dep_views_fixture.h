/* The dep_views suite's fixture (dep_views_fixture.c): GET /mdm/apple_bm
 * served for real, mdmfx's configuration on the suite's store, `orchard get
 * mdm-apple-bm` run as the binary on it, the DEP rows seeded with SQL, and
 * the readers the cases share. */
#ifndef ORCHARD_TEST_DEP_VIEWS_FIXTURE_H
#define ORCHARD_TEST_DEP_VIEWS_FIXTURE_H

#include "host/query/rows.h"
#include "server_plugin/store/store_sql.h"
#include "tests/host/http_fixture.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <jansson.h>

#define LATEST "/api/latest/fleet"
#define OUR_PROFILE "PROFILE-OURS-0001"
#define ADMIN_ID "abm-admin@example.com"
#define ORG "Example Orchards Inc."

extern http_server *dvfx_server; /* ->url: the base URL */
extern int dvfx_store_ok;

/* CUnit suite init and cleanup: 0, or -1 (said on stderr). */
int dvfx_init(void);
int dvfx_cleanup(void);

/* GET <server>/evil/...: answers dvfx_evil_status with dvfx_evil_body (set
 * them before the request), a server that is not what it should be. */
extern int dvfx_evil_status;
extern const char *dvfx_evil_body;

/* ---- configuration: mdmfx's good one on the suite's store, with kv applied */

extern const char *const DVFX_TEAM[];    /* mdm.apple_bm_default_team: Workstations */
extern const char *const DVFX_SOON[];    /* the token that expires in 10 days */
extern const char *const DVFX_EXPIRED[]; /* the expired token */
extern const char *const DVFX_NO_ABM[];  /* no ABM settings */

/** In process (the API reads it). */
void dvfx_configure(const char *const *kv);

/**
 * `orchard --config <good + kv> get mdm-apple-bm ARGS` as the real binary,
 * with ORCHARD_API_TOKEN=`token` (NULL: unset). Exit status; *out, *err (g_free).
 */
int dvfx_get_bm(const char *const *kv, const char *token, char **out, char **err,
                const char *const *args);
#define GET_BM(kv, token, out, err, ...)                                                  \
    dvfx_get_bm(kv, token, out, err, (const char *const[]){__VA_ARGS__, NULL})
#define NOARGS ((const char *const[]){NULL})

/** needle in hay, else 0 with both on stderr. */
int dvfx_contains(const char *hay, const char *needle);
/** No WARNING or ERROR on stderr, else 0 (said). */
int dvfx_quiet(const char *err);

/* ---- store material (each fails the current case on a store error) */

int dvfx_sql(const char *text, const orchard_sql_param *p, size_t n);
/** A server_state value. */
int dvfx_state(const char *key, const char *value);
/** Nothing synced, the good configuration: every case starts here. */
void dvfx_reset(void);
/** A run (finished_ms 0: still running, or killed); cursor_age 60 for a sync. */
void dvfx_run(const char *kind, gint64 started_ms, gint64 finished_ms, gint64 fetched,
              const char *code, const char *error);
/** A device, with `profile` (NULL: none; assign failed NOT_ACCESSIBLE). */
void dvfx_device(const char *serial, const char *profile, gint64 assigned_at, int deleted);
/** A host that enrolled with `serial`, through the DEP URL when dep is 1. */
void dvfx_enrolled(const char *udid, const char *serial, int dep);
/**
 * An account that synced: three devices (one deleted, one with an older
 * profile), one DEP enrollment, a THROTTLED fetch then a good sync (ending
 * at dvfx_t_ok, ms), and a run killed mid-way after them.
 */
void dvfx_synced(void);
extern gint64 dvfx_t_ok;

/** The description, in process, as the API and the command make it (json_decref). */
json_t *dvfx_describe(void);
/** A string field ("(not a string)" otherwise) and an integer one. */
const char *dvfx_str(json_t *o, const char *key);
gint64 dvfx_num(json_t *o, const char *key);

/* ---- the API client */

typedef struct {
    long status;
    char *body;
    json_t *json; /* the body parsed, or NULL */
} dvfx_answer;

void dvfx_answer_clear(dvfx_answer *a);
/** method path with `auth` ("Bearer ...", NULL: none). */
void dvfx_call(dvfx_answer *a, const char *method, const char *path, const char *auth);
/** Fleet's error shape, `status`, `want` in the message. */
void dvfx_expect_error(const dvfx_answer *a, long status, const char *want);

/* ---- tables */

/** A table's generate with `col = value` (NULL: no constraint); orchard_rows_free. */
orchard_rows *dvfx_table_rows(const orchard_table *t, const char *col, const char *value);
size_t dvfx_count_rows(const orchard_table *t, const char *col, const char *value);

#endif
