/* The spec generator: good specs give the column enum the tables index by;
 * bad specs stop the build with a message naming the file and the fault. */
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

static char *tmpdir;

static int setup(void)
{
    tmpdir = g_dir_make_tmp("orchard-gentables-XXXXXX", NULL);
    return tmpdir ? 0 : 1;
}

static int teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    (void)!system(cmd);
    g_free(tmpdir);
    return 0;
}

/* Write spec text to <tmp>/<name>.table, run the generator, return its exit
 * status and stderr. */
static int run_gen(const char *name, const char *spec, char **err_out)
{
    g_autofree char *path = g_strdup_printf("%s/%s.table", tmpdir, name);
    g_autofree char *out = g_strdup_printf("%s/out", tmpdir);
    g_autofree char *script = g_build_filename(SOURCE_DIR, "scripts", "gentables.py", NULL);
    g_file_set_contents(path, spec, -1, NULL);
    char *argv[] = {PYTHON, script, "code", out, path, NULL};
    int status = -1;
    g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, err_out,
                 &status, NULL);
    return g_spawn_check_wait_status(status, NULL) ? 0 : 1;
}

static void test_gentables__good_spec(void)
{
    char *err = NULL;
    CU_ASSERT_EQUAL(run_gen("good", "table_name(\"good\")\ndescription(\"d\")\n"
                                    "schema([Column(\"a_b\", TEXT, \"x\", index=True),\n"
                                    "        Column(\"n\", UNSIGNED_BIGINT, \"y\", hidden=True)])\n",
                            &err), 0);
    g_autofree char *h = NULL, *c = NULL;
    g_autofree char *hp = g_strdup_printf("%s/out/good.gen.h", tmpdir);
    g_autofree char *cp = g_strdup_printf("%s/out/good.gen.c", tmpdir);
    CU_ASSERT_TRUE(g_file_get_contents(hp, &h, NULL, NULL));
    CU_ASSERT_TRUE(g_file_get_contents(cp, &c, NULL, NULL));
    CU_ASSERT_PTR_NOT_NULL(h && strstr(h, "GOOD_COL_A_B = 0,"));
    CU_ASSERT_PTR_NOT_NULL(h && strstr(h, "GOOD_N_COLUMNS = 2"));
    CU_ASSERT_PTR_NOT_NULL(
        c && strstr(c, ".type = ORCHARD_TYPE_UNSIGNED_BIGINT, .options = ORCHARD_COLUMN_HIDDEN"));
    /* ABI 1.2: the generated table hands generate its plugin's context. */
    CU_ASSERT_PTR_NOT_NULL(c && strstr(c, ".generate2 = good_generate,"));
    CU_ASSERT_PTR_NOT_NULL(h && strstr(h, "int good_generate(orchard_ctx *ctx"));
    g_free(err);
}

static void expect_refused(const char *name, const char *spec, const char *needle)
{
    char *err = NULL;
    CU_ASSERT_EQUAL(run_gen(name, spec, &err), 1);
    if (!err || !strstr(err, needle)) {
        fprintf(stderr, "\n  gentables said '%s', expected '%s'\n", err ? err : "", needle);
        CU_FAIL("gentables message");
    }
    g_free(err);
}

static void test_gentables__bad_specs(void)
{
    expect_refused("nocols", "table_name(\"nocols\")\nschema([])\n", "has no columns");
    expect_refused("noname", "schema([Column(\"a\", TEXT)])\n", "no table_name()");
    expect_refused("dup", "table_name(\"dup\")\nschema([Column(\"a\", TEXT), Column(\"a\", INTEGER)])\n",
                   "column a appears twice");
    expect_refused("badtype", "table_name(\"badtype\")\nschema([Column(\"a\", \"VARCHAR\")])\n",
                   "unknown type");
    expect_refused("badopt", "table_name(\"badopt\")\nschema([Column(\"a\", TEXT, indx=True)])\n",
                   "unknown option");
    expect_refused("mismatch", "table_name(\"other\")\nschema([Column(\"a\", TEXT)])\n",
                   "file name must be other.table");
    expect_refused("Upper", "table_name(\"Upper\")\nschema([Column(\"a\", TEXT)])\n",
                   "lower-case identifier");
    expect_refused("evil", "__import__('os').system('true')\n", "evil.table");
    expect_refused("syntax", "table_name(\"syntax\"\n", "syntax.table");
}

void gentables_suite(void)
{
    ORCHARD_ADD_SUITE("gentables", setup, teardown,
                      {"good_spec", test_gentables__good_spec},
                      {"bad_specs", test_gentables__bad_specs});
}
