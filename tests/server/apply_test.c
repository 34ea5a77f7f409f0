/* apply: `orchard apply -f` (server_plugin/apply/). The spec reader on good
 * and hostile YAML in process (every refusal names its line; aliases, depth,
 * size and NUL bytes refused), the checks on the fixture profiles
 * (tests/fixtures/profiles/), then the real binary on the users fixture's
 * store (read back in process): a good spec applies, a re-run changes nothing, a spec with one bad
 * part applies nothing, an empty list removes a team's profiles and a
 * missing one leaves them, --dry-run writes nothing, usage errors exit 2. */
#include "tests/suites.h"

#include "server_plugin/apply/apply_spec.h"
#include "server_plugin/store/store_sql.h"
#include "server_plugin/teams/teams.h"
#include "server_plugin/updates/updates.h"
#include "tests/server/users_fixture.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#define FIXTURES SOURCE_DIR "/tests/fixtures/profiles"

static char *tmp;

static int apply_init(void)
{
    if (!(tmp = g_dir_make_tmp("apply_test.XXXXXX", NULL)))
        return 1;
    return ufx_init();
}

static int apply_cleanup(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmp);
    int rc = system(cmd);
    g_free(tmp);
    return ufx_cleanup() || rc;
}

/* Parse `yaml`: the rc, and the reason in *reason (g_free) or the docs. */
static int parse(const char *yaml, size_t len, GPtrArray **docs, char **reason)
{
    *docs = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_apply_doc_free);
    return orchard_apply_parse("spec.yml", "/specs", yaml, len, *docs, reason);
}

/* ---- the reader ------------------------------------------------------------------ */

static void test_apply__parse_good(void)
{
    const char *yaml = "apiVersion: v1\n"
                       "kind: config\n"
                       "spec:\n"
                       "  mdm:\n"
                       "    macos_updates: {minimum_version: 14.4, deadline: '2027-01-15'}\n"
                       "    macos_settings:\n"
                       "      custom_settings: [a.mobileconfig, /abs/b.mobileconfig]\n"
                       "---\n"
                       "---\n" /* an empty document is nothing */
                       "kind: team\n"
                       "apiVersion: v1\n"
                       "spec:\n"
                       "  team:\n"
                       "    name: Engineering\n"
                       "    mdm:\n"
                       "      macos_settings:\n"
                       "        custom_settings:\n"
                       "          - path: sub/c.mobileconfig\n"
                       "---\n"
                       "apiVersion: v1\n"
                       "kind: team\n"
                       "spec:\n"
                       "  team:\n"
                       "    name: Sales\n"
                       "    mdm:\n"
                       "      macos_updates: {minimum_version: '', deadline: ~}\n"
                       "      macos_settings: {custom_settings: []}\n";
    GPtrArray *docs = NULL;
    g_autofree char *why = NULL;
    CU_ASSERT_EQUAL_FATAL(parse(yaml, strlen(yaml), &docs, &why), 0);
    CU_ASSERT_EQUAL_FATAL(docs->len, 3);
    orchard_apply_doc *c = g_ptr_array_index(docs, 0), *e = g_ptr_array_index(docs, 1),
                      *s = g_ptr_array_index(docs, 2);
    CU_ASSERT_EQUAL(c->kind, ORCHARD_APPLY_CONFIG);
    CU_ASSERT(c->has_updates && c->has_profiles);
    CU_ASSERT_STRING_EQUAL(c->minimum_version, "14.4"); /* a YAML number keeps its text */
    CU_ASSERT_STRING_EQUAL(c->deadline, "2027-01-15");
    CU_ASSERT_EQUAL_FATAL(c->paths->len, 2);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(c->paths, 0), "/specs/a.mobileconfig");
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(c->paths, 1), "/abs/b.mobileconfig");
    CU_ASSERT_EQUAL(g_array_index(c->path_lines, int, 0), 7);
    CU_ASSERT_EQUAL(e->kind, ORCHARD_APPLY_TEAM);
    CU_ASSERT_STRING_EQUAL(e->team_name, "Engineering");
    CU_ASSERT_FALSE(e->has_updates); /* absent: left alone */
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(e->paths, 0), "/specs/sub/c.mobileconfig");
    CU_ASSERT(s->has_updates);
    CU_ASSERT(s->minimum_version && !*s->minimum_version);
    CU_ASSERT_PTR_NULL(s->deadline);
    CU_ASSERT(s->has_profiles); /* [] is "remove them all" */
    CU_ASSERT_EQUAL(s->paths->len, 0);
    g_ptr_array_unref(docs);
}

static void test_apply__parse_refusals(void)
{
    static const struct {
        const char *yaml, *want;
        int rc;
    } cases[] = {
        {"kind: config\nspec: {}\n", "spec.yml:1: a spec document needs apiVersion", ORCHARD_EINVAL},
        {"apiVersion: v2\nkind: config\nspec: {}\n", "spec.yml:1: apiVersion must be v1",
         ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: label\nspec: {}\n", "spec.yml:2: unknown kind \"label\"",
         ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: config\nspec:\n  org_info: {}\n",
         "spec.yml:4: unknown key \"org_info\" in spec (kind config)", ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: config\nspec:\n  mdm:\n    macos_updates:\n      minimum: 1\n",
         "spec.yml:6: unknown key \"minimum\" in mdm.macos_updates", ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: config\nspec:\n  mdm:\n    macos_settings:\n"
         "      custom_settings: a.mobileconfig\n",
         "spec.yml:6: mdm.macos_settings.custom_settings must be a list", ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: config\nspec:\n  mdm:\n    macos_settings:\n"
         "      custom_settings: [[a]]\n", "spec.yml:6: a custom_settings path must be a string",
         ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: config\nspec:\n  mdm:\n    macos_settings:\n"
         "      custom_settings: ['']\n", "a custom_settings path is empty", ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: config\nspec:\n  mdm:\n    macos_settings:\n"
         "      custom_settings: [{labels: [x]}]\n", "unknown key \"labels\"", ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: config\nspec:\n  mdm:\n    macos_updates: {deadline: [1]}\n",
         "spec.yml:5: deadline must be a string", ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: team\nspec:\n  team:\n    mdm: {}\n",
         "spec.yml:5: spec.team has no name", ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: team\nspec: {}\n", "a team document needs spec.team.name",
         ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: team\nspec:\n  team:\n    name: ''\n", "team.name is empty",
         ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: config\nkind: team\nspec: {}\n", "spec.yml:3: \"kind\" is given twice",
         ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: config\nspec:\n  mdm: {}\n  mdm: {}\n",
         "spec.yml:5: \"mdm\" is given twice", ORCHARD_EINVAL},
        {"- apiVersion: v1\n", "spec.yml:1: a spec document must be a mapping", ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: config\nspec: [\n", "spec.yml:4: not YAML", ORCHARD_EINVAL},
        {"apiVersion: v1\n  kind: config\n", "not YAML", ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: config\nspec: &a {mdm: {}}\nx: *a\n",
         "spec.yml:4: YAML aliases (*name) are not accepted", ORCHARD_EINVAL},
        {"apiVersion: v1\nkind: config\nspec: 7\n", "spec (kind config) must be a mapping",
         ORCHARD_EINVAL},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GPtrArray *docs = NULL;
        g_autofree char *why = NULL;
        int rc = parse(cases[i].yaml, strlen(cases[i].yaml), &docs, &why);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        CU_ASSERT(why && strstr(why, cases[i].want));
        CU_ASSERT_EQUAL(docs->len, 0); /* nothing half-read */
        if (rc != cases[i].rc || !why || !strstr(why, cases[i].want))
            fprintf(stderr, "\n  case %zu: %d %s\n", i, rc, why ? why : "(no reason)");
        g_ptr_array_unref(docs);
    }
}

/* Billion laughs, deep nesting, a huge file, NUL bytes, many documents:
 * each refused before it costs more than reading it. */
static void test_apply__parse_hostile(void)
{
    GPtrArray *docs = NULL;
    g_autofree char *why = NULL;
    GString *lol = g_string_new("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 0; i < 9; i++)
        g_string_append_printf(lol, "%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", 'b' + i,
                               'b' + i, 'a' + i, 'a' + i, 'a' + i, 'a' + i, 'a' + i, 'a' + i,
                               'a' + i, 'a' + i);
    CU_ASSERT_EQUAL(parse(lol->str, lol->len, &docs, &why), ORCHARD_EINVAL);
    CU_ASSERT(why && strstr(why, "aliases"));
    g_string_free(lol, TRUE);
    g_ptr_array_unref(docs);
    g_clear_pointer(&why, g_free);

    GString *deep = g_string_new("apiVersion: v1\nkind: config\nspec: ");
    for (int i = 0; i < 100000; i++)
        g_string_append_c(deep, '[');
    CU_ASSERT_EQUAL(parse(deep->str, deep->len, &docs, &why), ORCHARD_ETOOBIG);
    CU_ASSERT(why && strstr(why, "spec.yml:3: nested deeper than 16"));
    g_string_free(deep, TRUE);
    g_ptr_array_unref(docs);
    g_clear_pointer(&why, g_free);

    GString *many = g_string_new(NULL);
    while (many->len < 3 * 1024 * 1024)
        g_string_append(many, "- x\n");
    CU_ASSERT_EQUAL(parse(many->str, many->len, &docs, &why), ORCHARD_ETOOBIG);
    CU_ASSERT(why && strstr(why, "YAML nodes"));
    g_ptr_array_unref(docs);
    g_clear_pointer(&why, g_free);
    while (many->len <= ORCHARD_APPLY_FILE_MAX)
        g_string_append(many, "# padding padding padding padding padding padding padding\n");
    CU_ASSERT_EQUAL(parse(many->str, many->len, &docs, &why), ORCHARD_ETOOBIG);
    g_string_free(many, TRUE);
    g_ptr_array_unref(docs);
    g_clear_pointer(&why, g_free);

    const char nul[] = "apiVersion: v1\nkind: config\0\nspec: {}\n";
    CU_ASSERT_EQUAL(parse(nul, sizeof nul - 1, &docs, &why), ORCHARD_EINVAL);
    CU_ASSERT(why && strstr(why, "NUL"));
    g_ptr_array_unref(docs);
    g_clear_pointer(&why, g_free);

    GString *docsy = g_string_new(NULL);
    for (int i = 0; i <= ORCHARD_APPLY_DOCS_MAX; i++)
        g_string_append_printf(docsy, "---\napiVersion: v1\nkind: team\nspec: {team: {name: t%d}}\n",
                               i);
    CU_ASSERT_EQUAL(parse(docsy->str, docsy->len, &docs, &why), ORCHARD_EINVAL);
    CU_ASSERT(why && strstr(why, "documents"));
    CU_ASSERT_EQUAL(docs->len, 0);
    g_string_free(docsy, TRUE);
    g_ptr_array_unref(docs);
    g_clear_pointer(&why, g_free);

    /* A file that is not there; a folder instead of a file. */
    docs = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_apply_doc_free);
    CU_ASSERT_EQUAL(orchard_apply_parse_file("/nonexistent/spec.yml", docs, &why),
                    ORCHARD_ENOTFOUND);
    g_clear_pointer(&why, g_free);
    CU_ASSERT_NOT_EQUAL(orchard_apply_parse_file(FIXTURES, docs, &why), 0);
    g_ptr_array_unref(docs);
}

/* ---- the checks (the API's validators, before anything is written) ------------------ */

static int check_text(const char *yaml, GPtrArray **problems)
{
    GPtrArray *docs = g_ptr_array_new_with_free_func((GDestroyNotify)orchard_apply_doc_free);
    g_autofree char *why = NULL;
    *problems = g_ptr_array_new_with_free_func(g_free);
    int rc = orchard_apply_parse("spec.yml", FIXTURES, yaml, strlen(yaml), docs, &why);
    if (rc)
        g_ptr_array_add(*problems, g_steal_pointer(&why));
    else
        rc = orchard_apply_check(docs, *problems);
    g_ptr_array_unref(docs);
    return rc;
}

static int has_problem(GPtrArray *problems, const char *want)
{
    for (guint i = 0; i < problems->len; i++)
        if (strstr(g_ptr_array_index(problems, i), want))
            return 1;
    fprintf(stderr, "\n  no problem says \"%s\":", want);
    for (guint i = 0; i < problems->len; i++)
        fprintf(stderr, "\n    %s", (char *)g_ptr_array_index(problems, i));
    return 0;
}

static void test_apply__check(void)
{
    GPtrArray *p = NULL;
    CU_ASSERT_EQUAL(check_text("apiVersion: v1\nkind: team\nspec:\n  team:\n    name: A\n"
                               "    mdm:\n      macos_settings:\n        custom_settings:\n"
                               "          - passcode.mobileconfig\n"
                               "          - firewall.mobileconfig\n", &p), 0);
    CU_ASSERT_EQUAL(p->len, 0);
    g_ptr_array_unref(p);

    /* Every problem of every document is listed, each with its line. */
    const char *bad =
        "apiVersion: v1\nkind: team\nspec:\n  team:\n    name: A\n    mdm:\n"
        "      macos_updates: {minimum_version: Ventura 13, deadline: '2027-01-15'}\n" /* 7 */
        "      macos_settings:\n        custom_settings:\n"
        "          - passcode.mobileconfig\n"        /* 10 */
        "          - passcode-again.mobileconfig\n"  /* 11: the same identifier */
        "          - missing.mobileconfig\n"         /* 12 */
        "          - not-a-profile.mobileconfig\n"   /* 13 */
        "          - nudge-payload.mobileconfig\n"   /* 14: orchard's own payload */
        "---\napiVersion: v1\nkind: team\nspec: {team: {name: A}}\n"      /* 16: A again */
        "---\napiVersion: v1\nkind: config\nspec:\n  mdm:\n"
        "    macos_updates: {minimum_version: '14.4'}\n"                  /* 24 */
        "---\napiVersion: v1\nkind: config\nspec: {}\n";                  /* 26: a second config */
    CU_ASSERT_EQUAL(check_text(bad, &p), ORCHARD_EINVAL);
    CU_ASSERT(has_problem(p, "spec.yml:7: A: mdm.macos_updates.minimum_version"));
    CU_ASSERT(has_problem(p, "spec.yml:11: profile"));
    CU_ASSERT(has_problem(p, "com.example.orchard.passcode is already used in A"));
    CU_ASSERT(has_problem(p, "spec.yml:12: profile " FIXTURES "/missing.mobileconfig"));
    CU_ASSERT(has_problem(p, "spec.yml:13: profile"));
    CU_ASSERT(has_problem(p, "spec.yml:14: profile"));
    CU_ASSERT(has_problem(p, "spec.yml:16: team A is in a second document"));
    CU_ASSERT(has_problem(p, "spec.yml:24: the config (no team): mdm.macos_updates.deadline"));
    CU_ASSERT(has_problem(p, "spec.yml:26: a second config document"));
    CU_ASSERT_EQUAL(p->len, 8);
    if (p->len != 8)
        has_problem(p, "(every problem)");
    g_ptr_array_unref(p);
}

/* The examples in docs/ stay valid: each parses and passes every check. */
static void test_apply__docs_examples(void)
{
    static const char *const files[] = {SOURCE_DIR "/docs/examples/gitops/default.yml",
                                        SOURCE_DIR "/docs/examples/gitops/teams.yml",
                                        FIXTURES "/team-engineering.yml", FIXTURES "/config.yml"};
    g_autoptr(GPtrArray) docs =
        g_ptr_array_new_with_free_func((GDestroyNotify)orchard_apply_doc_free);
    g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *why = NULL;
        CU_ASSERT_EQUAL(orchard_apply_parse_file(files[i], docs, &why), 0);
        if (why)
            fprintf(stderr, "\n  %s\n", why);
    }
    CU_ASSERT_EQUAL(docs->len, 5);
    /* Two config documents and Engineering twice across the set: each pair
     * alone is fine, so check the docs/ ones and the fixtures apart. */
    g_autoptr(GPtrArray) fixtures = g_ptr_array_new_with_free_func(
        (GDestroyNotify)orchard_apply_doc_free);
    while (docs->len > 3)
        g_ptr_array_add(fixtures, g_ptr_array_steal_index(docs, 3));
    CU_ASSERT_EQUAL(orchard_apply_check(docs, problems), 0);
    CU_ASSERT_EQUAL(orchard_apply_check(fixtures, problems), 0);
    CU_ASSERT_EQUAL(problems->len, 0);
    if (problems->len)
        has_problem(problems, "(none expected)");
}

/* ---- the command, on a store ------------------------------------------------------- */

static char *write_spec(const char *name, const char *text)
{
    char *path = g_build_filename(tmp, name, NULL);
    CU_ASSERT_FATAL(g_file_set_contents(path, text, -1, NULL));
    return path;
}

static void *identifier_row(const orchard_host_api *h, orchard_stmt *st)
{
    return g_strdup(h->stmt_column_text(st, 0));
}

/* A team's custom profiles in the store: their identifiers, sorted, ','-joined. */
static char *team_profiles(gint64 team_id)
{
    g_autoptr(GPtrArray) ids = NULL;
    int rc = orchard_sstore_read_list("apply test", "SELECT identifier FROM mdm_profiles WHERE "
                                      "team_id = ? AND kind = 'custom' ORDER BY identifier",
                                      SQL_PARAMS(SQL_INT(team_id)), identifier_row, g_free, &ids);
    if (rc)
        return g_strdup("(the store failed)");
    GString *out = g_string_new("");
    for (guint k = 0; k < ids->len; k++)
        g_string_append_printf(out, "%s%s", k ? "," : "", (char *)g_ptr_array_index(ids, k));
    return g_string_free(out, FALSE);
}

static gint64 team_id(const char *name)
{
    gint64 id = -1;
    return orchard_teams_find(name, &id) == 0 ? id : -1;
}

static void test_apply__command(void)
{
    g_autofree char *spec = g_strdup_printf(
        "apiVersion: v1\nkind: team\nspec:\n  team:\n    name: Apply Eng\n    mdm:\n"
        "      macos_updates: {minimum_version: '14.4', deadline: '2027-01-15'}\n"
        "      macos_settings:\n        custom_settings:\n"
        "          - %s/passcode.mobileconfig\n          - %s/firewall.mobileconfig\n"
        "---\napiVersion: v1\nkind: config\nspec:\n  mdm:\n    macos_settings:\n"
        "      custom_settings: [%s/app-settings.mobileconfig]\n",
        FIXTURES, FIXTURES, FIXTURES);
    g_autofree char *path = write_spec("good.yml", spec);
    g_autofree char *out = NULL, *err = NULL;

    /* --dry-run: everything checked, nothing written. */
    int rc = ORCHARD(NULL, &out, &err, "apply", "-f", path, "--dry-run");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(out && strstr(out, "[+] would apply team Apply Eng (would be created): 2 profiles, "
                                 "macOS updates 14.4 by 2027-01-15"));
    CU_ASSERT_EQUAL(team_id("Apply Eng"), -1);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    rc = ORCHARD(NULL, &out, &err, "apply", "-f", path);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  %s%s\n", out, err);
    CU_ASSERT(out && strstr(out, "[+] applied team Apply Eng (created): 2 profiles, macOS "
                                 "updates 14.4 by 2027-01-15"));
    CU_ASSERT(out && strstr(out, "[+] applied config: 1 profile (no team), macOS updates "
                                 "unchanged"));
    gint64 id = team_id("Apply Eng");
    CU_ASSERT_FATAL(id > 0);
    g_autofree char *ids = team_profiles(id), *global = team_profiles(0);
    CU_ASSERT_STRING_EQUAL(ids, "com.example.orchard.firewall,com.example.orchard.passcode");
    CU_ASSERT_STRING_EQUAL(global, "com.example.orchard.appsettings");
    g_autofree char *min = NULL, *deadline = NULL;
    CU_ASSERT_EQUAL(orchard_macos_updates_get(id, &min, &deadline), 0);
    CU_ASSERT_STRING_EQUAL(min ? min : "", "14.4");
    CU_ASSERT_STRING_EQUAL(deadline ? deadline : "", "2027-01-15");
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* Again: the same state, the team not created twice. */
    rc = ORCHARD(NULL, &out, &err, "apply", "-f", path);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(out && strstr(out, "[+] applied team Apply Eng: 2 profiles"));
    CU_ASSERT_EQUAL(team_id("Apply Eng"), id);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* No custom_settings: the team's profiles stay; updates cleared. */
    g_autofree char *keep = write_spec("keep.yml",
        "apiVersion: v1\nkind: team\nspec:\n  team:\n    name: Apply Eng\n    mdm:\n"
        "      macos_updates: {minimum_version: '', deadline: ''}\n");
    CU_ASSERT_EQUAL(ORCHARD(NULL, &out, &err, "apply", "-f", keep), 0);
    CU_ASSERT(out && strstr(out, "profiles unchanged, macOS updates off"));
    g_free(ids);
    ids = team_profiles(id);
    CU_ASSERT_STRING_EQUAL(ids, "com.example.orchard.firewall,com.example.orchard.passcode");
    g_clear_pointer(&min, g_free);
    g_clear_pointer(&deadline, g_free);
    CU_ASSERT_EQUAL(orchard_macos_updates_get(id, &min, &deadline), 0);
    CU_ASSERT_PTR_NULL(min);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* An empty list: every profile of the team removed. */
    g_autofree char *empty = write_spec("empty.yml",
        "apiVersion: v1\nkind: team\nspec:\n  team:\n    name: Apply Eng\n    mdm:\n"
        "      macos_settings: {custom_settings: []}\n");
    CU_ASSERT_EQUAL(ORCHARD(NULL, &out, &err, "apply", "-f", empty), 0);
    g_free(ids);
    ids = team_profiles(id);
    CU_ASSERT_STRING_EQUAL(ids, "");
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
}

/* One bad part anywhere (another file, a later document): nothing applied. */
static void test_apply__all_or_nothing(void)
{
    g_autofree char *good = write_spec("aon-good.yml", "apiVersion: v1\nkind: team\nspec:\n"
                                                       "  team: {name: AON One}\n");
    g_autofree char *bad_text = g_strdup_printf(
        "apiVersion: v1\nkind: team\nspec:\n  team: {name: AON Two}\n---\napiVersion: v1\n"
        "kind: team\nspec:\n  team:\n    name: AON Three\n    mdm:\n      macos_settings:\n"
        "        custom_settings: [%s/not-a-profile.mobileconfig]\n", FIXTURES);
    g_autofree char *bad = write_spec("aon-bad.yml", bad_text);
    g_autofree char *out = NULL, *err = NULL;
    int rc = ORCHARD(NULL, &out, &err, "apply", "-f", good, "-f", bad);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT(err && strstr(err, "aon-bad.yml:13: profile"));
    CU_ASSERT(err && strstr(err, "nothing applied (1 problem)"));
    CU_ASSERT_EQUAL(team_id("AON One"), -1);
    CU_ASSERT_EQUAL(team_id("AON Two"), -1);
    CU_ASSERT_EQUAL(team_id("AON Three"), -1);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    g_autofree char *broken = write_spec("aon-broken.yml", "apiVersion: v1\nkind: [\n");
    CU_ASSERT_EQUAL(ORCHARD(NULL, &out, &err, "apply", "-f", good, "-f", broken), 1);
    CU_ASSERT(err && strstr(err, "aon-broken.yml:"));
    CU_ASSERT_EQUAL(team_id("AON One"), -1);
}

static void test_apply__usage(void)
{
    static const char *const cases[][4] = {
        {"apply", NULL},
        {"apply", "-f", NULL},
        {"apply", "--bogus", NULL},
        {"apply", "-f", "", NULL},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = NULL, *err = NULL;
        int rc = ufx_orchard(NULL, &out, &err, cases[i]);
        CU_ASSERT_EQUAL(rc, 2);
        CU_ASSERT(err && strstr(err, "usage:"));
    }
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(ORCHARD(NULL, &out, &err, "apply", "-f", "/nonexistent/x.yml"), 1);
    CU_ASSERT(err && strstr(err, "/nonexistent/x.yml"));
}

void apply_suite(void)
{
    ORCHARD_ADD_SUITE("apply", apply_init, apply_cleanup,
                      {"the reader takes Fleet's shapes", test_apply__parse_good},
                      {"the reader refuses with the line", test_apply__parse_refusals},
                      {"hostile YAML", test_apply__parse_hostile},
                      {"checks before anything is written", test_apply__check},
                      {"the examples in docs/ and the fixtures pass", test_apply__docs_examples},
                      {"apply, again, keep, empty, dry run", test_apply__command},
                      {"all or nothing", test_apply__all_or_nothing},
                      {"usage", test_apply__usage});
}
