/* Flag parsing: both spellings osqueryd and people use, and bad values. */
#include "host/args.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <string.h>

static void test_args__value_forms(void)
{
    char *argv[] = {"x", "--socket", "/tmp/a", "--timeout=5", "-interval", "3", NULL};
    const char *v = NULL;
    int i = 1;
    CU_ASSERT_EQUAL(orchard_arg_value(&i, 6, argv, "socket", &v), 1);
    CU_ASSERT_STRING_EQUAL(v, "/tmp/a");
    CU_ASSERT_EQUAL(i, 3);
    CU_ASSERT_EQUAL(orchard_arg_value(&i, 6, argv, "socket", &v), 0);
    CU_ASSERT_EQUAL(orchard_arg_value(&i, 6, argv, "timeout", &v), 1);
    CU_ASSERT_STRING_EQUAL(v, "5");
    CU_ASSERT_EQUAL(orchard_arg_value(&i, 6, argv, "interval", &v), 1);
    CU_ASSERT_STRING_EQUAL(v, "3");
    CU_ASSERT_EQUAL(i, 6);
}

static void test_args__missing_value_and_prefix(void)
{
    char *argv[] = {"x", "--socketpath", "--socket", NULL};
    const char *v = NULL;
    int i = 1;
    /* --socketpath is another flag, not --socket with a glued value */
    CU_ASSERT_EQUAL(orchard_arg_value(&i, 3, argv, "socket", &v), 0);
    i = 2;
    CU_ASSERT_EQUAL(orchard_arg_value(&i, 3, argv, "socket", &v), -1);
    CU_ASSERT_EQUAL(i, 2);
}

static void test_args__flags_and_numbers(void)
{
    CU_ASSERT_TRUE(orchard_arg_flag("--verbose", "verbose"));
    CU_ASSERT_TRUE(orchard_arg_flag("--verbose=true", "verbose"));
    CU_ASSERT_FALSE(orchard_arg_flag("--verbose=false", "verbose"));
    CU_ASSERT_FALSE(orchard_arg_flag("verbose", "verbose"));
    CU_ASSERT_EQUAL(orchard_arg_uint("42", 100), 42);
    CU_ASSERT_EQUAL(orchard_arg_uint("101", 100), -1);
    CU_ASSERT_EQUAL(orchard_arg_uint("-1", 100), -1);
    CU_ASSERT_EQUAL(orchard_arg_uint("3s", 100), -1);
    CU_ASSERT_EQUAL(orchard_arg_uint("", 100), -1);
    CU_ASSERT_EQUAL(orchard_arg_uint("99999999999999999999", 100), -1);
}

/* The global options come out wherever they are; the rest keeps its order.
 * argv is writable, as main's is: GLib's parser may write into it. */
static void test_args__global_options(void)
{
    const char *const given[] = {"orchard", "query", "--config=/a.yml", "--json", "--plugin",
                                 "/x.so", "-root", "/mnt", "--timeout", "5", "--plugin=/y.so",
                                 "select 1", "--", "--verbose", NULL};
    g_auto(GStrv) copy = g_strdupv((char **)given);
    char *argv[G_N_ELEMENTS(given)];
    memcpy(argv, copy, sizeof argv);
    int argc = 14;
    orchard_global_args g;
    char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_args_parse_global(&argc, argv, &g, &err), 0);
    CU_ASSERT_STRING_EQUAL(g.config, "/a.yml");
    CU_ASSERT_STRING_EQUAL(g.root, "/mnt");
    CU_ASSERT_FATAL(g.plugins && g.plugins[0] && g.plugins[1] && !g.plugins[2]);
    CU_ASSERT_STRING_EQUAL(g.plugins[1], "/y.so");
    CU_ASSERT_FALSE(g.verbose); /* after "--": an argument, not an option */
    const char *rest[] = {"orchard", "query", "--json", "--timeout", "5", "select 1", "--",
                          "--verbose"};
    CU_ASSERT_EQUAL_FATAL(argc, 8);
    for (int i = 0; i < argc; i++)
        CU_ASSERT_STRING_EQUAL(argv[i], rest[i]);
    CU_ASSERT_PTR_NULL(argv[argc]);
    CU_ASSERT_STRING_EQUAL(orchard_args_config_key("nudge_json"), "agent.nudge_json");
    CU_ASSERT_PTR_NULL(orchard_args_config_key("json"));
    orchard_global_args_clear(&g);

    /* A value missing, or a flag given a value, is a usage error. */
    g_auto(GStrv) missing_copy = g_strsplit("orchard version --config", " ", -1);
    char *missing[4];
    memcpy(missing, missing_copy, sizeof missing);
    argc = 3;
    CU_ASSERT_EQUAL(orchard_args_parse_global(&argc, missing, &g, &err), 2);
    CU_ASSERT(err && strstr(err, "--config"));
    g_free(err);
    err = NULL;
    orchard_global_args_clear(&g);
    g_auto(GStrv) help_copy = g_strsplit("orchard --help --verbose -h", " ", -1);
    char *help[5];
    memcpy(help, help_copy, sizeof help);
    argc = 4;
    CU_ASSERT_EQUAL(orchard_args_parse_global(&argc, help, &g, &err), 0);
    CU_ASSERT(g.help && g.verbose && argc == 2 && strcmp(help[1], "-h") == 0);
    orchard_global_args_clear(&g);
}

/* orchard.ext, started by osqueryd: the host's options come out, osqueryd's
 * flags (and --verbose, which extension mode reads too) stay in order. */
static void test_args__ext_options(void)
{
    char *argv[] = {"orchard.ext", "--socket", "/var/osquery/osquery.em", "--plugin", "/p/a.so",
                    "--verbose", "-config=/etc/o.yml", "--timeout", "3", "--plugin=/p/b.so",
                    "--nudge_json", "/n.json", "--interval", "3", NULL};
    int argc = (int)G_N_ELEMENTS(argv) - 1;
    orchard_global_args g;
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_args_take_ext(&argc, argv, &g, &err), 0);
    CU_ASSERT_EQUAL(argc, 8);
    const char *want[] = {"orchard.ext", "--socket", "/var/osquery/osquery.em", "--verbose",
                          "--timeout", "3", "--interval", "3"};
    for (int i = 0; i < 8 && i < argc; i++)
        CU_ASSERT_STRING_EQUAL(argv[i], want[i]);
    CU_ASSERT_PTR_NULL(argv[argc]);
    CU_ASSERT_STRING_EQUAL(g.config, "/etc/o.yml");
    CU_ASSERT_STRING_EQUAL(g.nudge_json, "/n.json");
    CU_ASSERT_EQUAL(g.verbose, 1);
    CU_ASSERT_EQUAL_FATAL(g_strv_length(g.plugins), 2);
    CU_ASSERT_STRING_EQUAL(g.plugins[0], "/p/a.so");
    CU_ASSERT_STRING_EQUAL(g.plugins[1], "/p/b.so");
    orchard_global_args_clear(&g);

    char *bad[] = {"orchard.ext", "--socket", "s", "--config", NULL};
    argc = 4;
    CU_ASSERT_EQUAL(orchard_args_take_ext(&argc, bad, &g, &err), 2);
    CU_ASSERT_STRING_EQUAL(err, "--config needs a value");
}

void args_suite(void)
{
    ORCHARD_ADD_SUITE("args", NULL, NULL,
                      {"value_forms", test_args__value_forms},
                      {"missing_value_and_prefix", test_args__missing_value_and_prefix},
                      {"flags_and_numbers", test_args__flags_and_numbers},
                      {"global_options", test_args__global_options},
                      {"ext_options", test_args__ext_options});
}
