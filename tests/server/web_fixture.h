/* The admin pages' suites' fixture: users_fixture's served plugin and three
 * users, plus what a browser does that the API's clients do not: a session
 * cookie from the /login form, form posts with or without an Origin, and
 * looking for text in a page. */
#ifndef ORCHARD_TEST_WEB_FIXTURE_H
#define ORCHARD_TEST_WEB_FIXTURE_H

#include "tests/server/users_fixture.h"

/* The users users_fixture makes, by role. */
#define WFX_ADMIN "admin@example.com"
#define WFX_MAINT "maint@example.com"
#define WFX_OBS "obs@example.com"

/* CUnit suite init and cleanup (users_fixture's). */
int wfx_init(void);
int wfx_cleanup(void);

/* Sign in through the /login form: the session cookie's value (g_free), or
 * NULL (said on stderr) when the answer is not a 303 with the cookie. */
char *wfx_signin(const char *email, const char *password);
/* wfx_signin for one of the three users, by role name ("admin", ...). */
char *wfx_signin_as(const char *role);

/* GET base + path with the session cookie (NULL: none); redirects are not followed. */
void wfx_get(const char *path, const char *cookie, http_response *r);

/* POST base + path with `form` (application/x-www-form-urlencoded, already
 * encoded) and the cookie (NULL: none). `origin` is the Origin header:
 * WFX_SAME_ORIGIN for the server's own, NULL for none, or any text. */
#define WFX_SAME_ORIGIN ((const char *)1)
void wfx_post_form(const char *path, const char *cookie, const char *origin, const char *form,
                   http_response *r);

/* A header's value in r (g_free), case-insensitive name; NULL when absent. */
char *wfx_header(const http_response *r, const char *name);

/* 1 when the body holds `text`; else 0, with the body on stderr. */
int wfx_has(const http_response *r, const char *text);

/* Set (NULL: unset) a key of the process configuration the server reads. */
void wfx_config(const char *key, const char *value);

#endif
