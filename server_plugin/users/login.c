/* Signing in with an email and a password, the one path both POST /login of
 * the API (login_routes.c) and the /login page (web/login_page.c) take: the
 * failed-login limits, a password check that costs the same whoever the
 * email is, the session, and the activity. */
#include "server_plugin/server.h"
#include "server_plugin/users/activity.h"
#include "server_plugin/users/users.h"

#include <string.h>

/* A longer password fails, after one KDF run over its first this many bytes. */
#define PASSWORD_INPUT_MAX 1024

/* The password check, taking the KDF's time whether or not the email is a
 * user who may log in with a password: 0 and *user, or ORCHARD_EDENIED. */
static int check_password(const char *email, const char *password, size_t len,
                          orchard_user **user)
{
    g_autoptr(orchard_user) u = NULL;
    int rc = orchard_email_problem(email) ? ORCHARD_ENOTFOUND : orchard_store_user_get(email, &u);
    *user = NULL;
    if (rc && rc != ORCHARD_ENOTFOUND)
        return rc;
    /* No stored password is that long (48 characters at most), and the KDF
     * hashes what it is given: a megabyte would cost more than a check. */
    if (len > PASSWORD_INPUT_MAX) {
        rc = orchard_password_verify_dummy(password, PASSWORD_INPUT_MAX);
        return rc == ORCHARD_EIO ? rc : ORCHARD_EDENIED;
    }
    if (!u || u->api_only || !u->password_hash) {
        rc = orchard_password_verify_dummy(password, len);
        return rc == ORCHARD_EIO ? rc : ORCHARD_EDENIED;
    }
    rc = orchard_password_verify(password, len, u->password_hash);
    if (rc == ORCHARD_EINVAL)
        rc = ORCHARD_EDENIED; /* a corrupt stored hash matches nothing */
    if (rc == 0)
        *user = g_steal_pointer(&u);
    return rc;
}

int orchard_login_attempt(orchard_ctx *ctx, const char *email_in, const char *password,
                          size_t password_len, const char *address, char **token,
                          orchard_user **user, int *retry_after)
{
    const orchard_host_api *h = orchard_server_host;
    g_autoptr(orchard_user) u = NULL;
    g_autofree char *email = NULL;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    int rc;

    *token = NULL;
    *user = NULL;
    *retry_after = 0;
    /* A made-up email of a megabyte is only counted by its address. */
    if (strnlen(email_in, ORCHARD_EMAIL_MAX + 1) <= ORCHARD_EMAIL_MAX)
        email = g_ascii_strdown(email_in, -1);
    if ((*retry_after = orchard_login_limit_check(email, address, now)) > 0)
        return ORCHARD_EBUSY;
    *retry_after = 0;
    rc = check_password(email ? email : "", password, password_len, &u);
    if (rc == ORCHARD_EDENIED || rc == ORCHARD_ENOTFOUND) {
        orchard_login_limit_fail(email, address, now);
        h->ctx_log(ctx, ORCHARD_LOG_INFO, "failed login from %s", address ? address : "?");
        return ORCHARD_EDENIED;
    }
    if (rc == 0)
        rc = orchard_session_start(ctx, u->email, 0, token);
    if (rc) {
        h->ctx_log(ctx, ORCHARD_LOG_WARNING, "login: %s", h->strerror(rc));
        return rc;
    }
    orchard_login_limit_succeed(email);
    orchard_activity_record(ctx, NULL, u->email, "user_logged_in",
                            json_pack("{s:s}", "public_ip", address ? address : ""));
    *user = g_steal_pointer(&u);
    return 0;
}
