/* `orchard apply -f FILE [-f FILE ...] [--dry-run]`: a GitOps repository's
 * desired state (Fleet's spec files) applied to the store `orchard serve`
 * uses. Every file is read and every document checked first
 * (apply_yaml.c, apply_check.c); only then is each document applied through
 * the teams, macOS updates and profiles calls, which mark the desired state
 * changed so the reconciler of a running server delivers it. */
#include "server_plugin/apply/apply_spec.h"
#include "server_plugin/profiles/profiles.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_open_cmd.h"
#include "server_plugin/teams/teams.h"
#include "server_plugin/updates/updates.h"

#include <stdio.h>
#include <string.h>

/* More -f than this is a mistake in a script, not a repository. */
#define APPLY_FILES_MAX 64

#define APPLY_USAGE                                                                            \
    "orchard apply -f FILE [-f FILE ...] [--dry-run] [--config F]\n"                           \
    "  FILE: YAML documents in fleetctl apply's shapes (docs/apply.md):\n"                    \
    "    apiVersion: v1, kind: config, spec.mdm.{macos_updates, macos_settings}\n"             \
    "    apiVersion: v1, kind: team, spec.team.{name, mdm.{macos_updates, macos_settings}}\n"  \
    "  Profile paths in custom_settings are relative to the YAML file's folder. A team's\n"   \
    "  profiles become exactly the list (an empty list removes them all; no\n"               \
    "  custom_settings leaves them alone). A team named that does not exist is created.\n"   \
    "  --dry-run  check everything and say what would be applied; change nothing\n"         \
    "Exit status: 0 applied; 1 a file or document was refused (nothing applied) or the\n"    \
    "store failed; 2 argument error."

static int usage_error(const char *why)
{
    fprintf(stderr, "orchard apply: %s\nusage: %s\n", why, APPLY_USAGE);
    return 2;
}

typedef struct {
    const char *files[APPLY_FILES_MAX];
    int n_files, dry_run;
} apply_args;

/* -f FILE, -fFILE, --file FILE, --file=FILE, --dry-run. 0, -1 (help), 2. */
static int parse_args(int argc, char **argv, apply_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *file = NULL;
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            printf("usage: %s\n", APPLY_USAGE);
            return -1;
        } else if (!strcmp(s, "--dry-run")) {
            a->dry_run = 1;
            continue;
        } else if (!strcmp(s, "--verbose")) {
            continue; /* the host's global flag */
        } else if (!strcmp(s, "-f") || !strcmp(s, "--file")) {
            if (i + 1 >= argc)
                return usage_error("-f needs a file");
            file = argv[++i];
        } else if (!strncmp(s, "--file=", 7)) {
            file = s + 7;
        } else if (!strncmp(s, "-f", 2)) {
            file = s + 2;
        } else {
            g_autofree char *why = g_strdup_printf("unknown argument %s", s);
            return usage_error(why);
        }
        if (!*file)
            return usage_error("-f needs a file");
        if (a->n_files >= APPLY_FILES_MAX)
            return usage_error("too many -f files");
        a->files[a->n_files++] = file;
    }
    return a->n_files ? 0 : usage_error("at least one -f FILE is needed");
}

static char *updates_text(const orchard_apply_doc *d)
{
    if (!d->has_updates)
        return g_strdup("macOS updates unchanged");
    if (!d->minimum_version || !*d->minimum_version)
        return g_strdup("macOS updates off");
    return g_strdup_printf("macOS updates %s by %s", d->minimum_version, d->deadline);
}

static char *profiles_text(const orchard_apply_doc *d)
{
    if (!d->has_profiles)
        return g_strdup("profiles unchanged");
    return g_strdup_printf("%u profile%s", d->profiles->len, d->profiles->len == 1 ? "" : "s");
}

/* Apply one checked document: 0, or 1 after saying why. */
static int apply_doc(orchard_ctx *ctx, const orchard_apply_doc *d, int dry_run)
{
    const orchard_host_api *h = orchard_server_host;
    gint64 team_id = 0;
    int created = 0, rc = 0;
    g_autofree char *why = NULL, *u = NULL, *p = NULL;
    if (d->kind == ORCHARD_APPLY_TEAM) {
        rc = orchard_teams_find(d->team_name, &team_id);
        if (rc == ORCHARD_ENOTFOUND) {
            created = 1;
            rc = dry_run ? 0
                         : orchard_teams_create(ctx, d->team_name, NULL, NULL, &team_id, &why);
        }
        if (rc)
            goto failed;
    }
    if (!dry_run && d->has_updates) {
        const char *field = NULL;
        rc = orchard_macos_updates_set(ctx, team_id, d->minimum_version, d->deadline, NULL,
                                       &field, &why);
        if (rc)
            goto failed;
    }
    if (dry_run && d->has_profiles && !created) {
        /* What batch_set itself would say, for a scope that exists already. */
        rc = orchard_profiles_batch_check(team_id, (GBytes *const *)d->profiles->pdata,
                                          d->profiles->len, &why);
        if (rc)
            goto failed;
    }
    if (!dry_run && d->has_profiles) {
        rc = orchard_profiles_batch_set(ctx, team_id, (GBytes *const *)d->profiles->pdata,
                                        d->profiles->len, NULL, &why);
        if (rc)
            goto failed;
    }
    u = updates_text(d);
    p = profiles_text(d);
    if (d->kind == ORCHARD_APPLY_TEAM)
        printf("[+] %s team %s%s: %s, %s\n", dry_run ? "would apply" : "applied", d->team_name,
               created ? (dry_run ? " (would be created)" : " (created)") : "", p, u);
    else
        printf("[+] %s config: %s (no team), %s\n", dry_run ? "would apply" : "applied", p, u);
    return 0;
failed:
    fprintf(stderr, "orchard apply: %s:%d: %s %s: %s\n", d->file, d->line,
            d->kind == ORCHARD_APPLY_TEAM ? "team" : "config",
            d->kind == ORCHARD_APPLY_TEAM ? d->team_name : "(no team)",
            why ? why : h->strerror(rc));
    return 1;
}

static int apply_run(orchard_ctx *ctx, int argc, char **argv, void *payload)
{
    apply_args a = {0};
    int rc = parse_args(argc, argv, &a);
    (void)payload;
    if (rc)
        return rc < 0 ? 0 : rc;
    g_autoptr(GPtrArray) docs =
        g_ptr_array_new_with_free_func((GDestroyNotify)orchard_apply_doc_free);
    g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; i < a.n_files; i++) {
        g_autofree char *why = NULL;
        if (orchard_apply_parse_file(a.files[i], docs, &why))
            g_ptr_array_add(problems, g_steal_pointer(&why));
    }
    /* Only documents that read are checked further; a file that did not
     * read already fails the run. */
    orchard_apply_check(docs, problems);
    if (problems->len) {
        for (guint i = 0; i < problems->len; i++)
            fprintf(stderr, "orchard apply: %s\n", (char *)g_ptr_array_index(problems, i));
        fprintf(stderr, "orchard apply: nothing applied (%u problem%s)\n", problems->len,
                problems->len == 1 ? "" : "s");
        return 1;
    }
    if (docs->len == 0) {
        fprintf(stderr, "orchard apply: the files hold no document\n");
        return 1;
    }
    if ((rc = orchard_sstore_open_cmd("apply", "teams and profiles")))
        return rc;
    for (guint i = 0; i < docs->len; i++)
        if (apply_doc(ctx, g_ptr_array_index(docs, i), a.dry_run)) {
            if (i)
                fprintf(stderr, "orchard apply: the %u document%s before this one %s applied; "
                        "run it again once fixed\n", i, i == 1 ? "" : "s",
                        i == 1 ? "was" : "were");
            return 1;
        }
    fflush(stdout);
    return 0;
}

const orchard_command orchard_cmd_apply = {
    ORCHARD_STRUCT_HEADER(orchard_command),
    .name = "apply",
    .summary = "apply spec files (Fleet's kind config / team): teams, profiles, macOS updates",
    .usage = APPLY_USAGE,
    .run2 = apply_run,
};
