/* The dep_client suite's fixture (dep_fixture.c): the ABM simulator
 * (tests/support/dep_sim) run as a child for one account, its /_sim/
 * controls, DEP clients of it, and the checks the cases share. */
#ifndef ORCHARD_TEST_DEP_FIXTURE_H
#define ORCHARD_TEST_DEP_FIXTURE_H

#include "server_plugin/dep/abm_token.h"
#include "server_plugin/dep/dep_client.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <jansson.h>

/* Devices the simulator starts with. */
#define SIM_DEVICES 250

/* The simulator's account (any four values do: it is told them). */
extern const char *const DFX_CK, *const DFX_CS, *const DFX_AT, *const DFX_AS;

extern struct dfx {
    orchard_ctx *ctx;
    char *url; /* http://127.0.0.1:PORT */
    GPid pid;
    int out;   /* the simulator's stdout */
    orchard_abm_token token; /* the account's values, expiring in 2099 */
} dfx;

/* CUnit suite init and cleanup: 0, or -1 (said on stderr). */
int dfx_init(void);
int dfx_cleanup(void);

/** A control under /_sim/ (body NULL: GET); its JSON answer (json_decref). */
json_t *dfx_control(const char *name, const char *body);
/** The same, the answer dropped. */
void dfx_say(const char *name, const char *body);
/** How many times the simulator was called at `ep` ("session", "account", ...). */
gint64 dfx_calls(const char *ep);

/** A client of the simulator with `token` (NULL: dfx.token); `retries`
 * 1 ms apart; the simulator's failure rules cleared first. */
orchard_dep_client *dfx_client_with(const orchard_abm_token *token, int retries);
/** dfx_client_with(NULL, 0). */
orchard_dep_client *dfx_client(void);

/** No value of the token, and no session, in msg. */
void dfx_assert_no_secret(const char *msg);
/** A failed call: rc, status and (code not NULL) Apple's code; a message without secrets. */
void dfx_expect_fail(int rc, int want_rc, const orchard_dep_result *r, orchard_dep_status st,
                     const char *code);
/**
 * Every page from *cursor (NULL: from the start) of the full fetch (sync 0)
 * or sync: serial -> op_type into seen, *cursor the last one (g_free).
 * Returns the pages read.
 */
int dfx_fetch_all(orchard_dep_client *c, int sync, char **cursor, int limit, GHashTable *seen);
/** A serial -> string table (both g_free'd). */
GHashTable *dfx_serial_set(void);
/** The first n serials of a full fetch, sorted (g_strfreev). */
char **dfx_some_serials(orchard_dep_client *c, guint n);

#endif
