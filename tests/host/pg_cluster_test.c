/* The pg_cluster suite: the tests' PostgreSQL helpers themselves
 * (tests/support/pg_cluster/): pg_cluster.sh's skip and usage paths, where
 * pg_test.h finds the cluster and why not, databases made and dropped, a
 * drop that refuses anything it did not make, and the server suites' store
 * mapping. The cases that need the cluster skip with the one line. */
#include "host/store/store.h"
#include "tests/suites.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SCRIPT SOURCE_DIR "/tests/support/pg_cluster/pg_cluster.sh"

/* Set (NULL: unset) an environment variable, handing back the old value
 * (g_free) so the case can put it back with env_restore. */
static char *env_swap(const char *name, const char *value)
{
    char *old = g_strdup(g_getenv(name));
    if (value)
        g_setenv(name, value, TRUE);
    else
        g_unsetenv(name);
    return old;
}

static void env_restore(const char *name, char *old)
{
    if (old)
        g_setenv(name, old, TRUE);
    else
        g_unsetenv(name);
    g_free(old);
}

/* pg_cluster.sh with `envp` added; its exit status (-1: did not run). */
static int script(const char *const *envp, const char *cmd, const char *dir, char **err)
{
    const char *argv[] = {"/bin/sh", SCRIPT, cmd, dir, NULL};
    char **env = g_get_environ();
    for (size_t i = 0; envp && envp[i]; i += 2)
        env = g_environ_setenv(env, envp[i], envp[i + 1], TRUE);
    int status = -1;
    gboolean ran = g_spawn_sync(NULL, (char **)argv, env, 0, NULL, NULL, NULL, err, &status, NULL);
    g_strfreev(env);
    return ran && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* 1 when the cluster ctest started is here; else the case skips (0) or,
 * under CI=true, fails. */
static int have_cluster(void)
{
    g_autofree char *uri = NULL, *reason = NULL;
    if (orchard_pg_test_server(&uri, &reason) == 0)
        return 1;
    if (orchard_pg_test_skip(reason))
        CU_FAIL("PostgreSQL is needed here (CI=true)");
    return 0;
}

/* ------------------------------------------------------------------------ */

static void test_pg_cluster__no_binaries_skips(void)
{
    g_autofree char *tmp = g_dir_make_tmp("orchard-pgc-XXXXXX", NULL);
    g_autofree char *dir = g_build_filename(tmp, "c", NULL);
    g_autofree char *skip_path = g_build_filename(dir, "skip", NULL);
    g_autofree char *skip = NULL, *e1 = NULL, *e2 = NULL, *e3 = NULL;
    const char *none[] = {"ORCHARD_PG_BIN", "/nonexistent-pg-bin", "CI", "", NULL};
    const char *ci[] = {"ORCHARD_PG_BIN", "/nonexistent-pg-bin", "CI", "true", NULL};

    CU_ASSERT_EQUAL(script(none, "start", dir, &e1), 0);
    CU_ASSERT_TRUE(g_file_get_contents(skip_path, &skip, NULL, NULL));
    CU_ASSERT_PTR_NOT_NULL(skip && strstr(skip, "no PostgreSQL server binaries"));
    CU_ASSERT_PTR_NOT_NULL(e1 && strstr(e1, "SKIP (PostgreSQL)"));
    /* CI must run the PostgreSQL tests: no skipping there. */
    CU_ASSERT_EQUAL(script(ci, "start", dir, &e2), 1);
    CU_ASSERT_PTR_NOT_NULL(e2 && strstr(e2, "CI=true"));
    /* stop removes the folder, and stopping nothing is fine. */
    CU_ASSERT_EQUAL(script(NULL, "stop", dir, NULL), 0);
    CU_ASSERT_FALSE(g_file_test(dir, G_FILE_TEST_EXISTS));
    CU_ASSERT_EQUAL(script(NULL, "stop", dir, NULL), 0);
    /* A folder with anything else in it is not ours to remove. */
    g_autofree char *foreign = g_build_filename(tmp, "notes.txt", NULL);
    CU_ASSERT_TRUE(g_file_set_contents(foreign, "keep me", -1, NULL));
    CU_ASSERT_EQUAL(script(NULL, "stop", tmp, NULL), 1);
    CU_ASSERT_EQUAL(script(NULL, "start", tmp, NULL), 1);
    CU_ASSERT_TRUE(g_file_test(foreign, G_FILE_TEST_EXISTS));
    g_unlink(foreign);
    /* Usage errors say so. */
    CU_ASSERT_EQUAL(script(NULL, "restart-everything", dir, &e3), 2);
    CU_ASSERT_PTR_NOT_NULL(e3 && strstr(e3, "usage"));
    CU_ASSERT_EQUAL(g_rmdir(tmp), 0);
}

/* A folder the server cannot use as it is (a space in its name, out of
 * the postgres user's reach under a 0700 folder when root): the cluster
 * lives in a temporary folder instead, the URI still works, and stop
 * removes both. */
static void test_pg_cluster__awkward_folder(void)
{
    g_autofree char *tmp = g_dir_make_tmp("orchard-pgc-XXXXXX", NULL);
    g_autofree char *parent = g_build_filename(tmp, "with space & more", NULL);
    g_autofree char *dir = g_build_filename(parent, "pg", NULL);
    g_autofree char *skip_path = g_build_filename(dir, "skip", NULL);
    g_autofree char *uri_path = g_build_filename(dir, "uri", NULL);
    g_autofree char *sdir_path = g_build_filename(dir, "server_dir", NULL);
    g_autofree char *uri = NULL, *sdir = NULL, *err = NULL, *e1 = NULL;

    CU_ASSERT_EQUAL_FATAL(g_mkdir(parent, 0700), 0);
    CU_ASSERT_EQUAL(script(NULL, "start", dir, &e1), 0);
    if (g_file_test(skip_path, G_FILE_TEST_EXISTS)) {
        g_autofree char *why = NULL;
        g_file_get_contents(skip_path, &why, NULL, NULL);
        if (orchard_pg_test_skip(why ? g_strstrip(why) : "pg_cluster.sh start skipped"))
            CU_FAIL("PostgreSQL is needed here (CI=true)");
    } else {
        CU_ASSERT_TRUE(g_file_get_contents(uri_path, &uri, NULL, NULL));
        CU_ASSERT_TRUE(g_file_get_contents(sdir_path, &sdir, NULL, NULL));
        orchard_store_close();
        CU_ASSERT_EQUAL(orchard_store_open(uri ? g_strstrip(uri) : "", &err), 0);
        orchard_store_close();
    }
    CU_ASSERT_EQUAL(script(NULL, "stop", dir, NULL), 0);
    CU_ASSERT_FALSE(g_file_test(dir, G_FILE_TEST_EXISTS));
    if (sdir)
        CU_ASSERT_FALSE(g_file_test(g_strstrip(sdir), G_FILE_TEST_EXISTS));
    CU_ASSERT_EQUAL(g_rmdir(parent), 0);
    CU_ASSERT_EQUAL(g_rmdir(tmp), 0);
}

static void test_pg_cluster__server_reasons(void)
{
    g_autofree char *tmp = g_dir_make_tmp("orchard-pgc-XXXXXX", NULL);
    g_autofree char *skip_path = g_build_filename(tmp, "skip", NULL);
    char *old_dir = env_swap("ORCHARD_TEST_PG_DIR", NULL);
    char *old_uri = env_swap("ORCHARD_TEST_PG_URI", NULL);
    char *uri = (char *)"x", *reason = NULL;

    CU_ASSERT_EQUAL(orchard_pg_test_server(&uri, &reason), ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NULL(uri);
    CU_ASSERT_PTR_NOT_NULL(reason && strstr(reason, "ORCHARD_TEST_PG_DIR is not set"));
    g_clear_pointer(&reason, g_free);

    /* A folder with nothing in it: start never ran there. */
    g_setenv("ORCHARD_TEST_PG_DIR", tmp, TRUE);
    CU_ASSERT_EQUAL(orchard_pg_test_server(&uri, &reason), ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(reason && strstr(reason, "no cluster in"));
    g_clear_pointer(&reason, g_free);

    /* start's reason travels to the test's line. */
    CU_ASSERT_TRUE(g_file_set_contents(skip_path, "no binaries here\n", -1, NULL));
    CU_ASSERT_EQUAL(orchard_pg_test_create_db(&uri, &reason), ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NULL(uri);
    CU_ASSERT_PTR_NOT_NULL(reason && strstr(reason, "could not start PostgreSQL: no binaries here"));
    g_clear_pointer(&reason, g_free);

    /* Under CI=true a skip is a failure the caller must report (its line
     * kept out of the log, where it would read as a real one). */
    char *old_ci = env_swap("CI", "true");
    fflush(stdout);
    int saved = dup(1), null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    int fails = orchard_pg_test_skip("testing the CI path");
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(null);
    CU_ASSERT_EQUAL(fails, 1);
    env_restore("CI", old_ci);

    /* ORCHARD_TEST_PG_URI wins over the folder. */
    g_setenv("ORCHARD_TEST_PG_URI", "postgresql:///elsewhere", TRUE);
    CU_ASSERT_EQUAL(orchard_pg_test_server(&uri, &reason), 0);
    CU_ASSERT_STRING_EQUAL(uri, "postgresql:///elsewhere");
    g_clear_pointer(&uri, g_free);

    env_restore("ORCHARD_TEST_PG_URI", old_uri);
    env_restore("ORCHARD_TEST_PG_DIR", old_dir);
    g_unlink(skip_path);
    CU_ASSERT_EQUAL(g_rmdir(tmp), 0);
}

/* Only databases create_db made can be dropped through the helper. */
static void test_pg_cluster__drop_refuses_others(void)
{
    static const char *const hostile[] = {
        NULL,
        "",
        "this is = not a URI",
        "postgresql:///postgres?host=/tmp",
        "postgresql:///template1",
        "postgresql:///orchard_t_x%22%3B%20DROP%20DATABASE%20postgres%3B%20--",
        "postgresql:///ORCHARD_T_upper",
        "postgresql://",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(hostile); i++)
        CU_ASSERT_EQUAL(orchard_pg_test_drop_db(hostile[i]), ORCHARD_EINVAL);
    if (!have_cluster())
        return;
    /* The server's own database is still there after all that. */
    g_autofree char *uri = NULL, *reason = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_pg_test_server(&uri, &reason), 0);
    orchard_store_close();
    CU_ASSERT_EQUAL(orchard_store_open(uri, &err), 0);
    orchard_store_close();
}

static void test_pg_cluster__create_use_drop(void)
{
    g_autofree char *a = NULL, *b = NULL, *reason = NULL;
    if (!have_cluster())
        return;
    int rc = orchard_pg_test_create_db(&a, &reason);
    if (rc == ORCHARD_ENOTFOUND) { /* a build without libpq */
        if (orchard_pg_test_skip(reason))
            CU_FAIL("PostgreSQL is needed here (CI=true)");
        return;
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(orchard_pg_test_create_db(&b, &reason), 0);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    CU_ASSERT_TRUE(g_str_has_prefix(a, "postgresql:///orchard_t_"));

    /* The store opens it (the URI keeps host, port and user). */
    char *err = NULL;
    orchard_store_close();
    CU_ASSERT_EQUAL(orchard_store_open(a, &err), 0);
    CU_ASSERT_STRING_EQUAL(orchard_store_dialect(), "postgres");
    orchard_store_close();

    CU_ASSERT_EQUAL(orchard_pg_test_drop_db(a), 0);
    g_clear_pointer(&err, g_free);
    CU_ASSERT_EQUAL(orchard_store_open(a, &err), ORCHARD_ENOTFOUND); /* gone */
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "does not exist"));
    orchard_store_close();
    CU_ASSERT_EQUAL(orchard_pg_test_drop_db(a), 0); /* dropping again is no error */
    CU_ASSERT_EQUAL(orchard_pg_test_drop_db(b), 0);
    g_free(err);
}

/* The server suites' mapping: SQLite paths stay as they are unless
 * ORCHARD_TEST_STORE=postgres; then one database per path. */
static void test_pg_cluster__test_store_mapping(void)
{
    static const char p1[] = "/tmp/some/where/one.db", p2[] = "/tmp/some/where/two.db";
    char *old = env_swap("ORCHARD_TEST_STORE", NULL);

    CU_ASSERT_PTR_EQUAL(orchard_test_store(p1), p1);
    CU_ASSERT_STRING_EQUAL(orchard_test_store_key(), "store.sqlite");
    CU_ASSERT_STRING_EQUAL(orchard_test_store_unreachable(), "/nonexistent-orchard-dir/x.db");
    CU_ASSERT_PTR_NULL(orchard_test_store(NULL));
    if (have_cluster()) {
        g_setenv("ORCHARD_TEST_STORE", "postgres", TRUE);
        const char *u1 = orchard_test_store(p1);
        const char *u2 = orchard_test_store(p2);
        CU_ASSERT_TRUE(g_str_has_prefix(u1, "postgresql:///orchard_t_"));
        CU_ASSERT_STRING_NOT_EQUAL(u1, u2);
        CU_ASSERT_PTR_EQUAL(orchard_test_store(p1), u1); /* the same one again */
        CU_ASSERT_STRING_EQUAL(orchard_test_store_key(), "store.postgres");
        CU_ASSERT_TRUE(g_str_has_prefix(orchard_test_store_unreachable(), "postgresql://"));
        /* Dropped at exit; the unreachable one fails to open, quickly. */
        g_autofree char *err = NULL;
        orchard_store_close();
        CU_ASSERT_NOT_EQUAL(orchard_store_open(orchard_test_store_unreachable(), &err), 0);
        CU_ASSERT_PTR_NOT_NULL(err);
    }
    env_restore("ORCHARD_TEST_STORE", old);
}

void pg_cluster_suite(void)
{
    ORCHARD_ADD_SUITE("pg_cluster", NULL, NULL,
        {"test_pg_cluster__no_binaries_skips", test_pg_cluster__no_binaries_skips},
        {"test_pg_cluster__awkward_folder", test_pg_cluster__awkward_folder},
        {"test_pg_cluster__server_reasons", test_pg_cluster__server_reasons},
        {"test_pg_cluster__drop_refuses_others", test_pg_cluster__drop_refuses_others},
        {"test_pg_cluster__create_use_drop", test_pg_cluster__create_use_drop},
        {"test_pg_cluster__test_store_mapping", test_pg_cluster__test_store_mapping});
}
