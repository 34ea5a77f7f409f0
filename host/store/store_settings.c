/* store.*: which database holds the state and how it is used. All of them
 * are read when the store opens, so a change needs a restart. */
#include "host/store/store_settings.h"

const orchard_setting orchard_setting_store_sqlite = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = "store.sqlite",
    .type = ORCHARD_SETTING_PATH,
    .default_value = NULL,
    .description = "The SQLite database file (its directory must exist; created 0600)",
    .flags = ORCHARD_SETTING_RESTART,
};

/* A connection URL may carry a password. */
const orchard_setting orchard_setting_store_postgres = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = "store.postgres",
    .type = ORCHARD_SETTING_STRING,
    .default_value = NULL,
    .description = "The PostgreSQL database shared by every instance: a libpq connection "
                   "string or URL (postgresql://user@host/db?sslmode=...); also "
                   "ORCHARD_STORE_POSTGRES. Exactly one of store.sqlite and store.postgres",
    .flags = ORCHARD_SETTING_SECRET | ORCHARD_SETTING_RESTART,
};

const orchard_setting orchard_setting_store_busy_timeout_ms = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = "store.busy_timeout_ms",
    .type = ORCHARD_SETTING_INT,
    .default_value = "5000",
    .description = "Longest wait in ms for the single writer before a write gives up "
                   "(0..3600000)",
    .flags = ORCHARD_SETTING_RESTART,
};

const orchard_setting orchard_setting_store_read_connections = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = "store.read_connections",
    .type = ORCHARD_SETTING_INT,
    .default_value = "4",
    .description = "Connections in the reader pool (1..64)",
    .flags = ORCHARD_SETTING_RESTART,
};

const orchard_setting orchard_setting_store_max_connections = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = "store.max_connections",
    .type = ORCHARD_SETTING_INT,
    .default_value = "8",
    .description = "PostgreSQL: connections this instance opens at most, on demand (1..64)",
    .flags = ORCHARD_SETTING_RESTART,
};

const orchard_setting orchard_setting_store_postgres_module = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = "store.postgres_module",
    .type = ORCHARD_SETTING_PATH,
    .description = "The PostgreSQL store module orchard_store_postgres.so (default: modules/ "
                   "beside the binary, else the installed one)",
    .flags = ORCHARD_SETTING_RESTART,
};
