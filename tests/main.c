/* The one CUnit runner: `orchard_tests [SUITE...]` runs the named suites, or
 * all of them. Exit status is non-zero when any test fails. */
#include "tests/suites.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    void (*add)(void);
} suites[] = {
#define ORCHARD_SUITE(name, ...) {#name, name##_suite},
#include "tests/suites.def"
#undef ORCHARD_SUITE
};

void orchard_add_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
                       const orchard_test_case *cases, size_t n)
{
    CU_pSuite s = CU_add_suite(name, init, cleanup);
    for (size_t i = 0; s && i < n; i++)
        CU_add_test(s, cases[i].name, cases[i].fn);
}

int main(int argc, char **argv)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (size_t i = 0; i < sizeof suites / sizeof *suites; i++) {
        int wanted = argc < 2;
        for (int a = 1; a < argc && !wanted; a++)
            wanted = strcmp(argv[a], suites[i].name) == 0;
        if (wanted)
            suites[i].add();
    }
    if (CU_get_registry()->uiNumberOfSuites == 0) {
        fprintf(stderr, "orchard_tests: no suite named %s\n", argc > 1 ? argv[1] : "");
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
