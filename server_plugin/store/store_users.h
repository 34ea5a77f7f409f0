/* Users, their sessions and the activity log on the store (users,
 * user_sessions, activities), for server_plugin/users/ and the admin API.
 * Implemented in store_users.c and store_activities.c. Returns 0 or a
 * negative orchard_error_code; out-parameters are owned by the caller.
 * No function here sees a password or a token in the clear: callers pass
 * hashes. */
#ifndef ORCHARD_SERVER_STORE_USERS_H
#define ORCHARD_SERVER_STORE_USERS_H

#include <glib.h>
#include <stddef.h>

typedef struct orchard_user {
    gint64 id;            /* assigned by the store at create (Fleet's numeric id) */
    char *email;          /* lower case */
    char *name;
    char *role;           /* "admin" | "maintainer" | "observer" */
    int api_only;
    char *password_hash;  /* the KDF's encoded hash; NULL for API-only users */
    gint64 created_at;
    gint64 updated_at;
} orchard_user;

void orchard_user_free(orchard_user *u);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(orchard_user, orchard_user_free)

/** Insert a user. ORCHARD_EEXIST when the email is taken. */
int orchard_store_user_create(const orchard_user *u);
/** One user by email (any case): 0 and *out, or ORCHARD_ENOTFOUND. */
int orchard_store_user_get(const char *email, orchard_user **out);
/** Every user, by email (free func set). */
int orchard_store_user_list(GPtrArray **out);
/** Delete a user and every session of theirs. ORCHARD_ENOTFOUND when unknown. */
int orchard_store_user_delete(const char *email);

/** A session: the SHA-256 hex of its bearer token, whose it is, when it ends
 * (expires_at 0: never, for API-only users' tokens). */
int orchard_store_session_create(const char *token_hash, const char *email, gint64 now,
                                 gint64 expires_at);
/** The user behind a live session (expired ones are ORCHARD_ENOTFOUND);
 * records last_used_at. */
int orchard_store_session_user(const char *token_hash, gint64 now, orchard_user **out);
/** End one session (logout). ORCHARD_ENOTFOUND when unknown. */
int orchard_store_session_delete(const char *token_hash);
/** Delete sessions that expired before now; *deleted counts them. */
int orchard_store_sessions_expire(gint64 now, gint64 *deleted);

typedef struct orchard_activity {
    gint64 id;
    gint64 created_at;
    char *actor_email;    /* NULL: the server itself, or a CLI run */
    char *actor_name;
    char *type;           /* Fleet-style snake case: "created_user", "ran_mdm_command", ... */
    char *details;        /* a JSON object, never holding a secret */
} orchard_activity;

void orchard_activity_free(orchard_activity *a);

/** Append an activity (id assigned by the store). */
int orchard_store_activity_add(const char *actor_email, const char *actor_name, const char *type,
                               const char *details_json, gint64 now);
/** Activities newest first, paged (per_page 0: all); free func set. */
int orchard_store_activity_list(gint64 page, gint64 per_page, GPtrArray **out);

#endif
