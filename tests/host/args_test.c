/* Flag parsing: both spellings osqueryd and people use, and bad values. */
#include "host/args.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>

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

void args_suite(void)
{
    ORCHARD_ADD_SUITE("args", NULL, NULL,
                      {"value_forms", test_args__value_forms},
                      {"missing_value_and_prefix", test_args__missing_value_and_prefix},
                      {"flags_and_numbers", test_args__flags_and_numbers});
}
