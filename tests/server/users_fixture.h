/* The users suites' fixture (users_test.c, users_cli_test.c): the server
 * plugin in a registry of our own, served with the real orchard_http.so on
 * a store in a temporary directory (http_fixture's server and libcurl
 * client), three users made at start, `orchard` run as the real binary on
 * the same store, and the planted secrets no output may show. */
#ifndef ORCHARD_TEST_USERS_FIXTURE_H
#define ORCHARD_TEST_USERS_FIXTURE_H

#include "host/plugins/registry.h"
#include "tests/host/http_fixture.h"

#include <glib.h>
#include <jansson.h>
#include <stddef.h>

/* The users made at suite start (name "Test User"), by role. */
#define PW_ADMIN "Admin-password-1"
#define PW_MAINT "Maint-password-22"
#define PW_OBS "Observer-pass-333"

extern orchard_registry *ufx_reg; /* holds the server plugin */
extern http_server *ufx_server;   /* ufx_server->url is the base URL */
extern GPtrArray *ufx_secrets;    /* every password and token made (g_free'd strings) */

/* CUnit suite init and cleanup. Init returns 0, or 1 (said on stderr). */
int ufx_init(void);
int ufx_cleanup(void);

/* One request to base + path, with a JSON body of len bytes (NULL: none)
 * and a bearer token (NULL: none). */
void ufx_request(const char *method, const char *path, const char *body, size_t len,
                 const char *token, http_response *r);
void ufx_post(const char *path, const char *body, const char *token, http_response *r);
void ufx_get(const char *path, const char *token, http_response *r);

/* The body as JSON (json_decref), NULL when it is not (said on stderr). */
json_t *ufx_json(const http_response *r);

/* 1 when r is Fleet's error shape, {"message", "errors": [{"name",
 * "reason"}]}, with `want` in the message (NULL: any); else 0, said. */
int ufx_is_fleet_error(const http_response *r, const char *want);

/* POST /login: the token (g_free; planted) on 200, else NULL; *status (may be NULL). */
char *ufx_login(const char *email, const char *password, long *status);

/* A user straight into the store: 0 (or already there), else the code. */
int ufx_make_user(const char *email, const char *role, const char *password, int api_only);

/* `orchard --config <the suite's> args...` with `input` (NULL: nothing) on
 * stdin; the exit status (-1: did not run); *out and *err (g_free). */
int ufx_orchard(const char *input, char **out, char **err, const char *const *args);
#define ORCHARD(in, out, err, ...) ufx_orchard(in, out, err, (const char *const[]){__VA_ARGS__, NULL})

/* The last non-empty line of text (g_free). */
char *ufx_last_line(const char *text);

/* 1 when no planted secret, nor a password hash, is in text; else 0, said. */
int ufx_free_of_secrets(const char *what, const char *text);

#endif
