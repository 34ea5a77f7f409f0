/* A table double for unit tests: three columns (id INTEGER index, name TEXT
 * required-free, secret TEXT hidden) and a generate that records the context
 * it saw and returns test_table_rows rows. */
#ifndef ORCHARD_TEST_TABLE_H
#define ORCHARD_TEST_TABLE_H

#include <orchard/plugin.h>

extern const orchard_table test_table;          /* id, name, secret */
extern const orchard_table test_required_table; /* key TEXT required, value TEXT */

typedef struct {
    int calls;
    int rows;          /* how many rows generate adds */
    int fail;          /* generate fails with ORCHARD_EIO */
    int ignore_errors; /* generate ignores row_add's result and returns 0 */
    size_t n_constraints;
    char last_constraint[128]; /* "column op expr" of the last constraint */
    int name_used;
} test_table_state;

extern test_table_state test_table_seen;
void test_table_reset(int rows);



/* A built-in plugin carrying test_table and test_required_table. */
int test_plugin_entry(const orchard_host_api *host, const orchard_plugin **out);
#endif
