/* `orchard user create | list | delete`: managing users from the shell, on
 * the store `orchard serve` uses (store.sqlite or store.postgres). A password comes from
 * standard input or is generated; an API-only user gets a token. Either is
 * printed once, alone on the last line, and only its hash is kept. */
#include "server_plugin/server.h"
#include "server_plugin/setup/setup_io.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_open_cmd.h"
#include "server_plugin/users/activity.h"
#include "server_plugin/users/users.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A line longer than this is not a password anyone typed. */
#define PASSWORD_LINE_MAX 4096

#define CREATE_USAGE                                                                           \
    "orchard user create --email E --name N --role R [--api-only] [--generate-password]\n"    \
    "                    [--config F]\n"                                                      \
    "  --role R             admin, maintainer or observer\n"                                 \
    "  --api-only           the user gets an API token instead of a password (printed once)\n" \
    "  --generate-password  generate the password and print it once (also when standard\n"    \
    "                       input is a terminal); otherwise one line of standard input is\n"  \
    "                       the password: 12 to 48 characters with a digit and a symbol\n"   \
    "Exit status: 0 created; 1 the store failed or the email is taken; 2 argument error."
#define LIST_USAGE                                                                             \
    "orchard user list [--json] [--config F]\n"                                                \
    "  Every user: email, name, role, api_only, created_at (--json: a JSON array).\n"         \
    "Exit status: 0 listed; 1 the store failed; 2 argument error."
#define DELETE_USAGE                                                                           \
    "orchard user delete --email E [--config F]\n"                                             \
    "  Deletes the user and ends every session of theirs.\n"                                  \
    "Exit status: 0 deleted; 1 no such user or the store failed; 2 argument error."

static int usage_error(const char *cmd, const char *usage, const char *why)
{
    fprintf(stderr, "orchard %s: %s\nusage: %s\n", cmd, why, usage);
    return 2;
}

/* The store, migrated: 0, or 1 after saying why (store_open_cmd.c). */
static int open_store(const char *cmd)
{
    return orchard_sstore_open_cmd(cmd, "users");
}

/* One line of standard input, without its line ending: 0 and *out
 * (wiped and freed by the caller), or 1 after saying why. */
static int read_password(char **out, size_t *len)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    *out = NULL;
    if (n <= 0) {
        free(line);
        fprintf(stderr, "orchard user create: no password on standard input (or pass "
                "--generate-password)\n");
        return 1;
    }
    if (n > PASSWORD_LINE_MAX) {
        OPENSSL_cleanse(line, (size_t)n);
        free(line);
        fprintf(stderr, "orchard user create: the password line is too long\n");
        return 1;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    *out = line;
    *len = (size_t)n;
    return 0;
}

static void wipe(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

typedef struct {
    const char *email, *name, *role;
    int api_only, generate;
} create_args;

static int create_checks(const create_args *a)
{
    const char *why;
    if (!a->email || !a->name || !a->role)
        return usage_error("user create", CREATE_USAGE, "--email, --name and --role are needed");
    if ((why = orchard_email_problem(a->email)))
        return usage_error("user create", CREATE_USAGE, why);
    if ((why = orchard_user_name_problem(a->name)))
        return usage_error("user create", CREATE_USAGE, why);
    if (orchard_role_parse(a->role) == ORCHARD_ROLE_NONE)
        return usage_error("user create", CREATE_USAGE,
                           "--role must be admin, maintainer or observer");
    if (a->api_only && a->generate)
        return usage_error("user create", CREATE_USAGE,
                           "an API-only user has no password: --api-only and "
                           "--generate-password exclude each other");
    return 0;
}

/* The password to hash: generated (*shown set) or read; 0, or 1/2 after saying why. */
static int password_for(const create_args *a, char **pw, size_t *len, int *shown)
{
    const char *why;
    *shown = a->generate || isatty(STDIN_FILENO);
    if (*shown) {
        char *g = orchard_password_generate();
        *pw = g ? strdup(g) : NULL;
        if (g) {
            OPENSSL_cleanse(g, strlen(g));
            g_free(g);
        }
        if (!*pw) {
            fprintf(stderr, "orchard user create: cannot generate a password\n");
            return 1;
        }
        *len = strlen(*pw);
        return 0;
    }
    if (read_password(pw, len))
        return 1;
    if ((why = orchard_password_weakness(*pw, *len))) {
        wipe(*pw);
        *pw = NULL;
        return usage_error("user create", CREATE_USAGE, why);
    }
    return 0;
}

static int user_create(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    create_args a = {0};
    const orchard_setup_opt opts[] = {
        {"email", &a.email, NULL},       {"name", &a.name, NULL},
        {"role", &a.role, NULL},         {"api-only", NULL, &a.api_only},
        {"generate-password", NULL, &a.generate},
    };
    char *pw = NULL, *token = NULL;
    g_autofree char *hash = NULL, *email = NULL;
    size_t pw_len = 0;
    int shown = 0, rc;
    (void)payload;

    if ((rc = orchard_setup_parse(argc, argv, opts, G_N_ELEMENTS(opts), CREATE_USAGE)))
        return rc < 0 ? 0 : rc;
    if ((rc = create_checks(&a)) || (rc = open_store("user create")))
        return rc;
    email = g_ascii_strdown(a.email, -1);
    if (!a.api_only) {
        if ((rc = password_for(&a, &pw, &pw_len, &shown)))
            return rc;
        if (orchard_password_hash(pw, pw_len, &hash)) {
            fprintf(stderr, "orchard user create: cannot hash the password\n");
            rc = 1;
            goto cleanup;
        }
    }
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    orchard_user u = {.email = email, .name = (char *)a.name, .role = (char *)a.role,
                      .api_only = a.api_only, .password_hash = hash, .created_at = now,
                      .updated_at = now};
    if ((rc = orchard_store_user_create(&u))) {
        fprintf(stderr, "orchard user create: %s\n",
                rc == ORCHARD_EEXIST ? "a user with this email already exists"
                                     : h->strerror(rc));
        rc = 1;
        goto cleanup;
    }
    if (a.api_only && (rc = orchard_session_start(ctx, email, 1, &token))) {
        /* A user without a token is no use: take it back. */
        orchard_store_user_delete(email);
        fprintf(stderr, "orchard user create: cannot make the API token: %s\n",
                h->strerror(rc));
        rc = 1;
        goto cleanup;
    }
    orchard_activity_record(ctx, NULL, NULL, "created_user",
                            json_pack("{s:s, s:s, s:s, s:b}", "user_email", email, "user_name",
                                      a.name, "global_role", a.role, "api_only", a.api_only));
    printf("Created %suser %s (%s).\n", a.api_only ? "API-only " : "", email, a.role);
    if (token)
        printf("Its API token (Authorization: Bearer <token>), shown only this once:\n%s\n",
               token);
    else if (shown)
        printf("The password, shown only this once:\n%s\n", pw);
    fflush(stdout);
    rc = 0;
cleanup:
    wipe(pw);
    if (token) {
        OPENSSL_cleanse(token, strlen(token));
        g_free(token);
    }
    return rc;
}

static int user_list(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    int as_json = 0, rc;
    const orchard_setup_opt opts[] = {{"json", NULL, &as_json}};
    g_autoptr(GPtrArray) users = NULL;
    (void)ctx;
    (void)payload;

    if ((rc = orchard_setup_parse(argc, argv, opts, G_N_ELEMENTS(opts), LIST_USAGE)))
        return rc < 0 ? 0 : rc;
    if ((rc = open_store("user list")))
        return rc;
    if ((rc = orchard_store_user_list(&users))) {
        fprintf(stderr, "orchard user list: %s\n", h->strerror(rc));
        return 1;
    }
    json_t *arr = json_array();
    if (!as_json)
        printf("%-32s %-24s %-10s %-8s %s\n", "EMAIL", "NAME", "ROLE", "API_ONLY", "CREATED_AT");
    for (guint i = 0; i < users->len; i++) {
        const orchard_user *u = users->pdata[i];
        g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(u->created_at);
        g_autofree char *when = t ? g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ") : g_strdup("");
        g_autofree char *name = g_utf8_make_valid(u->name ? u->name : "", -1);
        if (as_json)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:b, s:s}", "email", u->email,
                                                 "name", name, "role", u->role, "api_only",
                                                 u->api_only, "created_at", when));
        else
            printf("%-32s %-24s %-10s %-8s %s\n", u->email, name, u->role,
                   u->api_only ? "yes" : "no", when);
    }
    if (as_json) {
        char *text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", text ? text : "[]");
        free(text);
    }
    json_decref(arr);
    return 0;
}

static int user_delete(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    const orchard_host_api *h = orchard_server_host;
    const char *email = NULL;
    const orchard_setup_opt opts[] = {{"email", &email, NULL}};
    g_autoptr(orchard_user) u = NULL;
    int rc;
    (void)payload;

    if ((rc = orchard_setup_parse(argc, argv, opts, G_N_ELEMENTS(opts), DELETE_USAGE)))
        return rc < 0 ? 0 : rc;
    if (!email)
        return usage_error("user delete", DELETE_USAGE, "--email is needed");
    if ((rc = open_store("user delete")))
        return rc;
    /* Read first, for the activity's details. */
    if ((rc = orchard_store_user_get(email, &u)) == 0)
        rc = orchard_store_user_delete(u->email);
    if (rc) {
        fprintf(stderr, "orchard user delete: %s\n",
                rc == ORCHARD_ENOTFOUND ? "no user has this email" : h->strerror(rc));
        return 1;
    }
    orchard_activity_record(ctx, NULL, NULL, "deleted_user",
                            json_pack("{s:s, s:s, s:s}", "user_email", u->email, "user_name",
                                      u->name, "global_role", u->role));
    printf("Deleted user %s and ended their sessions.\n", u->email);
    return 0;
}

const orchard_command orchard_cmd_user_create = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "user create",
    .summary = "Create a user (admin, maintainer or observer) of the admin API",
    .usage = CREATE_USAGE,
    .run2 = user_create,
};

const orchard_command orchard_cmd_user_list = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "user list",
    .summary = "List the users of the admin API",
    .usage = LIST_USAGE,
    .run2 = user_list,
};

const orchard_command orchard_cmd_user_delete = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "user delete",
    .summary = "Delete a user of the admin API and end their sessions",
    .usage = DELETE_USAGE,
    .run2 = user_delete,
};
