/* cli: what a newcomer types, through the built binary: --help, a command
 * group without (or with a mistyped) subcommand, help for a group and for
 * query's options, Fleet's underscore spellings, unknown options and
 * commands named with the closest match, and a broken configuration that
 * stops commands but not help. */
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char *dir;

static int suite_init(void)
{
    dir = g_dir_make_tmp("orchard-cli-XXXXXX", NULL);
    return dir ? 0 : -1;
}

static int suite_cleanup(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    int rc = system(cmd);
    g_free(dir);
    return rc == 0 ? 0 : -1;
}

/* Run ORCHARD_BIN with argv (NULL-terminated) in the temporary directory.
 * The exit status, or -1; *out and *err (g_free) get the output. */
static int run(char **out, char **err, const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)ORCHARD_BIN);
    for (size_t i = 0; args[i]; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);
    int status = 0, rc = -1;
    *out = *err = NULL;
    if (g_spawn_sync(dir, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err,
                     &status, NULL) &&
        WIFEXITED(status))
        rc = WEXITSTATUS(status);
    g_ptr_array_free(argv, TRUE);
    return rc;
}

#define RUN(out, err, ...) run(out, err, (const char *const[]){__VA_ARGS__, NULL})

static int has(const char *hay, const char *needle)
{
    if (hay && strstr(hay, needle))
        return 1;
    fprintf(stderr, "\n  expected \"%s\" in:\n%s\n", needle, hay ? hay : "(null)");
    return 0;
}

static char *write_config(const char *name, const char *yaml)
{
    char *path = g_build_filename(dir, name, NULL);
    g_file_set_contents(path, yaml, -1, NULL);
    g_chmod(path, 0600);
    return path;
}

static void test_cli__help_flag_is_help(void)
{
    g_autofree char *help = NULL, *e1 = NULL, *flag = NULL, *e2 = NULL, *h = NULL, *e3 = NULL;
    CU_ASSERT_EQUAL(RUN(&help, &e1, "help"), 0);
    CU_ASSERT_EQUAL(RUN(&flag, &e2, "--help"), 0);
    CU_ASSERT_EQUAL(RUN(&h, &e3, "-h"), 0);
    CU_ASSERT(has(help, "generate mdm-apple"));
    CU_ASSERT(has(help, "--config F"));
    CU_ASSERT_STRING_EQUAL(flag, help);
    CU_ASSERT_STRING_EQUAL(h, help);
    CU_ASSERT(e2 && !strstr(e2, "unknown"));
}

static void test_cli__group_without_subcommand(void)
{
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(RUN(&out, &err, "generate"), 2);
    CU_ASSERT(has(err, "orchard generate:"));
    CU_ASSERT(has(err, "subcommand"));
    CU_ASSERT(has(err, "mdm-apple "));
    CU_ASSERT(has(err, "mdm-apple-bm"));
    CU_ASSERT(err && !strstr(err, "unknown command"));
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(RUN(&out, &err, "get"), 2);
    CU_ASSERT(has(err, "mdm-apple-bm"));
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(RUN(&out, &err, "config"), 2);
    CU_ASSERT(has(err, "check"));
}

static void test_cli__mistyped_subcommand(void)
{
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(RUN(&out, &err, "generate", "mdm-aple"), 2);
    CU_ASSERT(has(err, "unknown subcommand 'mdm-aple'"));
    CU_ASSERT(has(err, "did you mean 'generate mdm-apple'?"));
    CU_ASSERT(has(err, "mdm-apple-bm"));
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(RUN(&out, &err, "get", "mdm-appel-bm"), 2);
    CU_ASSERT(has(err, "did you mean 'get mdm-apple-bm'?"));
    g_free(out);
    g_free(err);
    /* Nothing close: the list, no guess. */
    CU_ASSERT_EQUAL(RUN(&out, &err, "generate", "certificates"), 2);
    CU_ASSERT(err && !strstr(err, "did you mean"));
    CU_ASSERT(has(err, "mdm-apple"));
}

static void test_cli__unknown_command_and_option(void)
{
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(RUN(&out, &err, "qeury", "select 1"), 2);
    CU_ASSERT(has(err, "unknown command 'qeury'; did you mean 'query'?"));
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(RUN(&out, &err, "--bogus", "query", "select 1"), 2);
    CU_ASSERT(has(err, "unknown option --bogus"));
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(RUN(&out, &err, "--config"), 2);
    CU_ASSERT(has(err, "--config"));
    g_free(out);
    g_free(err);
    /* A command's own options go to the command, which names what it lacks. */
    CU_ASSERT_EQUAL(RUN(&out, &err, "query", "--bogus", "select 1"), 2);
    CU_ASSERT(has(err, "--bogus"));
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(RUN(&out, &err, "help", "genrate"), 2);
    CU_ASSERT(has(err, "did you mean 'generate'?"));
}

static void test_cli__help_group_and_query(void)
{
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(RUN(&out, &err, "help", "generate"), 0);
    CU_ASSERT(has(out, "mdm-apple "));
    CU_ASSERT(has(out, "mdm-apple-bm"));
    CU_ASSERT(has(out, "Generate the APNs key"));
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(RUN(&out, &err, "help", "query"), 0);
    static const char *const options[] = {"--json", "--config", "--root", "--profiles_bin",
                                          "--nudge_json", "--timeout"};
    for (size_t i = 0; i < G_N_ELEMENTS(options); i++)
        CU_ASSERT(has(out, options[i]));
    g_autofree char *flag = NULL, *e2 = NULL;
    CU_ASSERT_EQUAL(RUN(&flag, &e2, "query", "--help"), 0);
    CU_ASSERT_STRING_EQUAL(flag, out);
}

static void test_cli__fleet_spellings(void)
{
    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *cfg = write_config("empty.yml", "store:\n  busy_timeout_ms: 100\n");
    /* generate mdm_apple is generate mdm-apple: its own argument check. */
    CU_ASSERT_EQUAL(RUN(&out, &err, "generate", "mdm_apple"), 2);
    CU_ASSERT(has(err, "orchard generate mdm-apple: --email is required"));
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(RUN(&out, &err, "help", "generate", "mdm_apple_bm"), 0);
    CU_ASSERT(has(out, "usage: orchard generate mdm-apple-bm"));
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(RUN(&out, &err, "--config", cfg, "get", "mdm_apple"), 1);
    CU_ASSERT(has(err, "orchard get mdm-apple: MDM is not configured"));
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(RUN(&out, &err, "get", "mdm_apple_bm", "--config", cfg), 1);
    CU_ASSERT(has(err, "Apple Business Manager is not configured"));
    g_free(out);
    g_free(err);
    /* gflags' single dash works for global options as it did. */
    CU_ASSERT_EQUAL(RUN(&out, &err, "-config", "/nonexistent/orchard.yml", "version"), 1);
    CU_ASSERT(has(err, "/nonexistent/orchard.yml"));
}

static void test_cli__broken_config(void)
{
    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *bad = write_config("bad.yml", "store:\n  busy_timeout_ms: soon\n");
    CU_ASSERT_EQUAL(RUN(&out, &err, "--config", bad, "query", "select 1"), 1);
    CU_ASSERT(has(err, "store.busy_timeout_ms"));
    CU_ASSERT(has(err, "soon"));
    CU_ASSERT(has(err, "orchard config check"));
    g_free(out);
    g_free(err);
    /* Help still answers: it is how one finds out what to fix. */
    CU_ASSERT_EQUAL(RUN(&out, &err, "--config", bad, "help", "query"), 0);
    g_free(out);
    g_free(err);
    /* An unknown key is a warning with the closest key, not a stop. */
    g_autofree char *typo = write_config("typo.yml", "store:\n  busy_timeout: 100\n");
    CU_ASSERT_EQUAL(RUN(&out, &err, "--config", typo, "query", "select 1"), 0);
    CU_ASSERT(has(err, "unknown key store.busy_timeout"));
    CU_ASSERT(has(err, "did you mean store.busy_timeout_ms?"));
    g_free(out);
    g_free(err);
    /* An unreadable file says why. */
    g_autofree char *not_dir = g_build_filename(bad, "orchard.yml", NULL);
    CU_ASSERT_EQUAL(RUN(&out, &err, "--config", not_dir, "query", "select 1"), 1);
    CU_ASSERT(has(err, "Not a directory"));
}

void cli_suite(void)
{
    ORCHARD_ADD_SUITE("cli", suite_init, suite_cleanup,
                      {"help_flag_is_help", test_cli__help_flag_is_help},
                      {"group_without_subcommand", test_cli__group_without_subcommand},
                      {"mistyped_subcommand", test_cli__mistyped_subcommand},
                      {"unknown_command_and_option", test_cli__unknown_command_and_option},
                      {"help_group_and_query", test_cli__help_group_and_query},
                      {"fleet_spellings", test_cli__fleet_spellings},
                      {"broken_config", test_cli__broken_config});
}
