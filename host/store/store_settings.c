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
    .description = "A PostgreSQL connection URL (postgres://...): not in this build yet",
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
