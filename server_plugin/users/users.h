/* Users, roles and sessions inside the server plugin: password hashing
 * (password.c), the authenticator and session tokens (auth.c), failed-login
 * limits (login_limit.c), the login/logout/me routes (login_routes.c) and
 * the `orchard user` commands (user_cmd.c). docs/users.md tells the story. */
#ifndef ORCHARD_SERVER_USERS_H
#define ORCHARD_SERVER_USERS_H

#include "server_plugin/store/store_users.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <jansson.h>
#include <stddef.h>

/* ---- passwords (password.c): scrypt through OpenSSL 3's EVP_KDF ---- */

/* Fleet's password rule: 12 to 48 characters, a digit and a symbol. */
#define ORCHARD_PASSWORD_MIN_CHARS 12
#define ORCHARD_PASSWORD_MAX_CHARS 48

/**
 * Hash `password` with a fresh 16-byte salt into
 * "$scrypt$ln=15,r=8,p=1$<salt b64>$<hash b64>". Returns 0 and *encoded
 * (g_free), or ORCHARD_EIO (the KDF or the random source failed).
 */
int orchard_password_hash(const char *password, size_t len, char **encoded);

/**
 * Check `password` against an encoded hash, in constant time over the
 * hash. Returns 0 when it matches, ORCHARD_EDENIED when it does not,
 * ORCHARD_EINVAL when `encoded` is malformed or its parameters are out of
 * bounds (the KDF still runs once, on the dummy hash, so the time is the
 * same), ORCHARD_EIO when the KDF fails.
 */
int orchard_password_verify(const char *password, size_t len, const char *encoded);

/** Run the KDF once against a hash nobody's password matches: an unknown
 * email costs what a known one does. Always ORCHARD_EDENIED (or EIO). */
int orchard_password_verify_dummy(const char *password, size_t len);

/** How many times the KDF ran in this process (tests check the dummy path runs it). */
guint64 orchard_password_kdf_runs(void);

/**
 * NULL when `password` meets Fleet's rule, else why not (static text).
 * `len` is its length in bytes; a NUL byte inside is refused.
 */
const char *orchard_password_weakness(const char *password, size_t len);

/** A password that meets the rule: 24 random characters (g_free), or NULL. */
char *orchard_password_generate(void);

/* ---- roles, emails, the user as JSON (user_fields.c) ---- */

/** ORCHARD_ROLE_* of "admin" | "maintainer" | "observer"; ORCHARD_ROLE_NONE otherwise. */
int orchard_role_parse(const char *name);
/** The role's name; NULL for ORCHARD_ROLE_NONE or an unknown value. */
const char *orchard_role_name(int role);

/** Longest email accepted (RFC 5321's path limit). */
#define ORCHARD_EMAIL_MAX 254
/** NULL when `email` is an acceptable address, else why not (static text). */
const char *orchard_email_problem(const char *email);
/** NULL when `name` is an acceptable display name (1-255 characters, no
 * control characters, UTF-8), else why not. */
const char *orchard_user_name_problem(const char *name);

/**
 * Fleet's user object: id (the email: orchard has no numeric user ids),
 * name, email, global_role, api_only, created_at, updated_at and the
 * fields orchard leaves at their defaults (sso_enabled, teams, ...).
 * Never the password hash. New reference.
 */
json_t *orchard_user_to_json(const orchard_user *u);

/* ---- sessions and the authenticator (auth.c) ---- */

#define ORCHARD_SESSION_DURATION_KEY "server.session_duration"
/** server.session_duration (default 5 days): declared by the server plugin. */
extern const orchard_setting orchard_setting_session_duration;

/**
 * Start a session for `email`: a new bearer token (32 random bytes,
 * base64url), stored as its SHA-256, expiring after server.session_duration
 * (never when `no_expiry`, for API-only users). Returns 0 and *token
 * (g_free; the only clear copy), or a store code.
 */
int orchard_session_start(orchard_ctx *ctx, const char *email, int no_expiry, char **token);

/**
 * The bearer token of `req`'s Authorization header, borrowed from req;
 * NULL when there is none or it is not a plausible token (wrong scheme,
 * over 512 bytes, characters outside base64url).
 */
const char *orchard_session_token_of(const orchard_http_request *req);

/**
 * The user and role of a live session token (a bearer token or the pages'
 * cookie): 0 with `who` (the email) and *role, ORCHARD_ENOTFOUND for an
 * unknown or expired token or a user whose role is unknown (logged), or a
 * store code.
 */
int orchard_session_lookup(orchard_ctx *ctx, const char *token, char *who, size_t who_size,
                           int *role);

/** End the session of `token` (logout): 0, ORCHARD_ENOTFOUND, or a store code. */
int orchard_session_end(const char *token);

/** How long a new login session lasts, in seconds (server.session_duration). */
gint64 orchard_session_seconds(orchard_ctx *ctx);

/** The host's orchard_auth_fn for role-guarded routes (auth.c). */
int orchard_users_authenticate(orchard_ctx *ctx, const orchard_http_request *req, char *who,
                               size_t who_size, void *payload);

/**
 * Register the authenticator with the host (the plugin's init). A host
 * that already has one keeps it: logged, not fatal. Returns 0.
 */
int orchard_users_init(orchard_ctx *ctx);
/** Forget what the users' code keeps in memory (the plugin's deinit). */
void orchard_users_cleanup(void);

/* ---- signing in (login.c), shared by POST /login of the API and the
 * /login page ---- */

/**
 * One sign-in with an email and a password: the failed-login limits, the
 * password check (one KDF run whether or not the email is a user who may
 * sign in with a password), a new session and the "user_logged_in"
 * activity. `address` is the peer's (for the limits and the activity).
 * Returns 0 with *token (g_free; cleanse it after use) and *user;
 * ORCHARD_EDENIED for a wrong email or password, an API-only user
 * (counted against the limits); ORCHARD_EBUSY with *retry_after (seconds)
 * while the limits refuse; ORCHARD_EIO or a store code when signing in
 * cannot work now (logged).
 */
int orchard_login_attempt(orchard_ctx *ctx, const char *email, const char *password,
                          size_t password_len, const char *address, char **token,
                          orchard_user **user, int *retry_after);

/* ---- failed-login limits (login_limit.c) ---- */

#define ORCHARD_LOGIN_WINDOW_SECONDS 60
#define ORCHARD_LOGIN_FAILURES_PER_EMAIL 5
#define ORCHARD_LOGIN_FAILURES_PER_ADDRESS 20
/** Keys tracked at most; past it the stalest are forgotten. */
#define ORCHARD_LOGIN_LIMIT_SLOTS 4096

/**
 * 0 when a login for `email` (lower case; may be NULL) from `address` may
 * be tried at `now`; else the seconds until it may (>= 1), for Retry-After.
 */
int orchard_login_limit_check(const char *email, const char *address, gint64 now);
/** Count one failed login against both keys. */
void orchard_login_limit_fail(const char *email, const char *address, gint64 now);
/** A successful login clears the email's count (not the address's). */
void orchard_login_limit_succeed(const char *email);
/** Forget every count (the plugin unloads; tests). */
void orchard_login_limit_reset(void);

#endif
