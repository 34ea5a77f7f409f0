/* What extension mode answers, independent of sockets: the route list sent to
 * registerExtension, and the reply to Extension.call(registry, item, request). */
#ifndef ORCHARD_EXT_CALL_H
#define ORCHARD_EXT_CALL_H

#include "host/plugins/registry.h"

#include <glib.h>
#include <osquery_osquery_types.h>

/**
 * The columns of `table` as osquery's route / "columns" response:
 * [{"id":"column","name":N,"type":T,"op":"<options>"}, ...]. Caller unrefs.
 */
GPtrArray *orchard_ext_columns(const orchard_table *table);

/**
 * The ExtensionRegistry {"table": {name: columns}} for every table of `reg`
 * whose name is not in `exclude` (a set of names; may be NULL). Caller unrefs.
 */
GHashTable *orchard_ext_registry(const orchard_registry *reg, GHashTable *exclude);

/**
 * Answer Extension.call into `resp` (a fresh osqueryExtensionResponse):
 *  - registry "table", action "columns": the column list;
 *  - action "generate": rows for request["context"] (osquery's JSON);
 *  - actions insert/update/delete: [{"status":"readonly"}];
 *  - anything else, an unknown table, or a failing generate: status code 1
 *    with a message saying what.
 */
void orchard_ext_call(const orchard_registry *reg, const char *registry, const char *item,
                      GHashTable *request, osqueryExtensionResponse *resp);

/** Set an ExtensionStatus's code and message (never use g_object_set on
 * Thrift structs: see ext_call.c). */
void orchard_ext_set_status(osqueryExtensionStatus *st, int code, const char *message);

#endif
