/* Every CUnit suite of the runner. Each <name>_suite() adds one suite named
 * <name> with its tests (tests/<area>/<module>_test.c). */
#ifndef ORCHARD_TEST_SUITES_H
#define ORCHARD_TEST_SUITES_H

#include <CUnit/CUnit.h>

void args_suite(void);
void config_suite(void);
void context_suite(void);
void rows_suite(void);
void vtab_suite(void);
void registry_suite(void);
void ext_call_suite(void);
void thrift_sock_suite(void);
void gentables_suite(void);
void plugin_load_suite(void);
void integration_suite(void);
void mac_source_suite(void);
void nudge_logic_suite(void);
void agent_tables_suite(void);
void server_generate_suite(void);
void server_config_suite(void);
void server_token_suite(void);
void store_suite(void);
void store_process_suite(void);
void http_suite(void);
void http_routes_suite(void);
void scep_suite(void);
void enroll_suite(void);
void enroll_profile_suite(void);
void server_store_suite(void);

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
