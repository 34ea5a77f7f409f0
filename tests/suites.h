/* Every CUnit suite of the runner (the list is tests/suites.def). Each
 * <name>_suite() adds one suite named <name> with its tests. */
#ifndef ORCHARD_TEST_SUITES_H
#define ORCHARD_TEST_SUITES_H

#include <CUnit/CUnit.h>

#define ORCHARD_SUITE(name, ...) void name##_suite(void);
#include "tests/suites.def"
#undef ORCHARD_SUITE

/* Add a suite and its tests: ORCHARD_SUITE("x", {"case", fn}, ...). */
typedef struct {
    const char *name;
    CU_TestFunc fn;
} orchard_test_case;

void orchard_add_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
                       const orchard_test_case *cases, size_t n);

#define ORCHARD_ADD_SUITE(name, init, cleanup, ...)                                    \
    do {                                                                               \
        static const orchard_test_case cases_[] = {__VA_ARGS__};                       \
        orchard_add_suite(name, init, cleanup, cases_, sizeof cases_ / sizeof *cases_); \
    } while (0)

#endif
