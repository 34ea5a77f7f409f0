/* The store's configuration keys (store.*), declared by the host's core
 * plugin: one owner per key, read by store.c when the store opens. */
#ifndef ORCHARD_STORE_SETTINGS_H
#define ORCHARD_STORE_SETTINGS_H

#include <orchard/plugin.h>

#include <stddef.h>

extern const orchard_setting orchard_setting_store_sqlite;
extern const orchard_setting orchard_setting_store_postgres;
extern const orchard_setting orchard_setting_store_busy_timeout_ms;
extern const orchard_setting orchard_setting_store_read_connections;
extern const orchard_setting orchard_setting_store_max_connections;
extern const orchard_setting orchard_setting_store_postgres_module;

#endif
