/* `orchard team create | list`: teams from the shell, on the store `orchard
 * serve` uses (the same calls as the API, teams.c), so a GitOps script or an
 * operator can make a team before any admin user exists. */
#include "server_plugin/server.h"
#include "server_plugin/setup/setup_io.h"
#include "server_plugin/store/store_open_cmd.h"
#include "server_plugin/teams/teams.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#define CREATE_USAGE                                                                           \
    "orchard team create --name N [--description D] [--config F]\n"                           \
    "  Creates a team (names are unique, ignoring ASCII case; 1 to 255 characters).\n"        \
    "  Prints its id.\n"                                                                      \
    "Exit status: 0 created; 1 the name is taken or the store failed; 2 argument error."
#define LIST_USAGE                                                                             \
    "orchard team list [--json] [--config F]\n"                                                \
    "  Every team: id, name, hosts, macOS minimum version and deadline, created_at\n"         \
    "  (--json: a JSON array).\n"                                                             \
    "Exit status: 0 listed; 1 the store failed; 2 argument error."

static int team_create(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    const char *name = NULL, *description = NULL;
    const orchard_setup_opt opts[] = {{"name", &name, NULL}, {"description", &description, NULL}};
    g_autofree char *reason = NULL;
    gint64 id = 0;
    int rc;
    (void)payload;

    if ((rc = orchard_setup_parse(argc, argv, opts, G_N_ELEMENTS(opts), CREATE_USAGE)))
        return rc < 0 ? 0 : rc;
    const char *why = orchard_team_name_problem(name);
    if (!why && description && !g_utf8_validate(description, -1, NULL))
        why = "description must be UTF-8 text";
    if (why) {
        fprintf(stderr, "orchard team create: %s\nusage: %s\n", why, CREATE_USAGE);
        return 2;
    }
    if ((rc = orchard_sstore_open_cmd("team create", "teams")))
        return rc;
    rc = orchard_teams_create(ctx, name, description, NULL, &id, &reason);
    if (rc) {
        fprintf(stderr, "orchard team create: %s\n",
                reason ? reason : orchard_server_host->strerror(rc));
        return 1;
    }
    printf("Created team %s (id %" G_GINT64_FORMAT ").\n", name, id);
    return 0;
}

static json_t *team_row_json(const orchard_team *t, const char *created)
{
    return json_pack("{s:I, s:s, s:s, s:I, s:s?, s:s?, s:s}", "id", (json_int_t)t->id, "name",
                     t->name, "description", t->description ? t->description : "",
                     "host_count", (json_int_t)t->host_count, "minimum_version",
                     t->minimum_version, "deadline", t->deadline, "created_at", created);
}

static int team_list(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    int as_json = 0, rc;
    const orchard_setup_opt opts[] = {{"json", NULL, &as_json}};
    g_autoptr(GPtrArray) teams = NULL;
    (void)ctx;
    (void)payload;

    if ((rc = orchard_setup_parse(argc, argv, opts, G_N_ELEMENTS(opts), LIST_USAGE)))
        return rc < 0 ? 0 : rc;
    if ((rc = orchard_sstore_open_cmd("team list", "teams")))
        return rc;
    if ((rc = orchard_teams_list(&teams))) {
        fprintf(stderr, "orchard team list: %s\n", orchard_server_host->strerror(rc));
        return 1;
    }
    json_t *arr = json_array();
    if (!as_json)
        printf("%-6s %-32s %-6s %-10s %-10s %s\n", "ID", "NAME", "HOSTS", "MIN_MACOS",
               "DEADLINE", "CREATED_AT");
    for (guint i = 0; i < teams->len; i++) {
        const orchard_team *t = teams->pdata[i];
        g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc(t->created_at);
        g_autofree char *created =
            when ? g_date_time_format(when, "%Y-%m-%dT%H:%M:%SZ") : g_strdup("");
        if (as_json)
            json_array_append_new(arr, team_row_json(t, created));
        else
            printf("%-6" G_GINT64_FORMAT " %-32s %-6" G_GINT64_FORMAT " %-10s %-10s %s\n", t->id,
                   t->name, t->host_count, t->minimum_version ? t->minimum_version : "-",
                   t->deadline ? t->deadline : "-", created);
    }
    if (as_json) {
        char *text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", text ? text : "[]");
        free(text);
    }
    json_decref(arr);
    return 0;
}

const orchard_command orchard_cmd_team_create = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "team create",
    .summary = "Create a team (scopes hosts' profiles and macOS update setting)",
    .usage = CREATE_USAGE,
    .run2 = team_create,
};

const orchard_command orchard_cmd_team_list = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "team list",
    .summary = "List the teams with their host counts and macOS update settings",
    .usage = LIST_USAGE,
    .run2 = team_list,
};
