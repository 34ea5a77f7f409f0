/* Extension.call dispatch: osqueryd's requests for one of our tables, turned
 * into generate calls on the registry, and the results into Thrift maps. */
#include "extension/ext_call.h"

#include "host/query/columns.h"
#include "host/query/context.h"
#include "host/log.h"
#include "host/query/rows.h"

#include <string.h>

static GHashTable *str_map(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

GPtrArray *orchard_ext_columns(const orchard_table *table)
{
    GPtrArray *cols = g_ptr_array_new_with_free_func((GDestroyNotify)g_hash_table_unref);
    for (size_t i = 0; i < table->n_columns; i++) {
        const orchard_column *c = table->columns[i];
        GHashTable *m = str_map();
        g_hash_table_insert(m, g_strdup("id"), g_strdup("column"));
        g_hash_table_insert(m, g_strdup("name"), g_strdup(c->name));
        g_hash_table_insert(m, g_strdup("type"), g_strdup(orchard_column_type_name(c->type)));
        g_hash_table_insert(m, g_strdup("op"), g_strdup_printf("%u", c->options));
        g_ptr_array_add(cols, m);
    }
    return cols;
}

GHashTable *orchard_ext_registry(const orchard_registry *reg, GHashTable *exclude)
{
    GHashTable *tables = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                               (GDestroyNotify)g_ptr_array_unref);
    for (size_t i = 0; i < orchard_registry_table_count(reg); i++) {
        const orchard_table *t = orchard_registry_table(reg, i);
        if (exclude && g_hash_table_contains(exclude, t->name))
            continue;
        g_hash_table_insert(tables, g_strdup(t->name), orchard_ext_columns(t));
    }
    GHashTable *registry = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                 (GDestroyNotify)g_hash_table_unref);
    g_hash_table_insert(registry, g_strdup("table"), tables);
    return registry;
}

/* Fields are set directly, not with g_object_set: Thrift's generated
 * finalize never chains up to GObject's, so the notify queue g_object_set
 * leaves in the object's qdata would leak with every reply. */
void orchard_ext_set_status(osqueryExtensionStatus *st, int code, const char *message)
{
    st->code = code;
    st->__isset_code = TRUE;
    g_free(st->message);
    st->message = g_strdup(message);
    st->__isset_message = TRUE;
}

static void set_status(osqueryExtensionResponse *resp, int code, const char *message)
{
    orchard_ext_set_status(resp->status, code, message);
    resp->__isset_status = TRUE;
}

static void add_rows(osqueryExtensionResponse *resp, const orchard_table *t,
                     const orchard_rows *rows)
{
    size_t n = orchard_rows_count(rows);
    for (size_t r = 0; r < n; r++) {
        const char *const *row = orchard_rows_get(rows, r);
        GHashTable *m = str_map();
        for (size_t i = 0; i < t->n_columns; i++)
            if (row[i]) /* osquery reads a missing key as NULL */
                g_hash_table_insert(m, g_strdup(t->columns[i]->name), g_strdup(row[i]));
        g_ptr_array_add(resp->response, m);
    }
    resp->__isset_response = TRUE;
}

static void generate(const orchard_table *t, GHashTable *request, osqueryExtensionResponse *resp)
{
    const char *json = g_hash_table_lookup(request, "context");
    orchard_query_ctx *ctx = NULL;
    orchard_rows *rows = NULL;
    g_autofree char *err = NULL;

    if (orchard_query_ctx_from_json(t, json, json ? strlen(json) : 0, &ctx, &err) != 0) {
        orchard_warn("extension", "%s: refused a malformed query context: %s", t->name, err);
        set_status(resp, 1, err);
        return;
    }
    const char *missing = orchard_query_ctx_missing_required(ctx, t);
    if (missing) {
        g_autofree char *msg = g_strdup_printf("table %s requires an equality constraint on %s",
                                               t->name, missing);
        set_status(resp, 1, msg);
        orchard_query_ctx_free(ctx);
        return;
    }
    if (orchard_table_generate(t, ctx, &rows) != 0) {
        orchard_warn("extension", "%s: generate failed: %s", t->name, orchard_rows_error(rows));
        set_status(resp, 1, orchard_rows_error(rows));
    } else {
        add_rows(resp, t, rows);
        set_status(resp, 0, "OK");
    }
    orchard_rows_free(rows);
    orchard_query_ctx_free(ctx);
}

void orchard_ext_call(const orchard_registry *reg, const char *registry, const char *item,
                      GHashTable *request, osqueryExtensionResponse *resp)
{
    const char *action = request ? g_hash_table_lookup(request, "action") : NULL;
    const orchard_table *t;

    if (!registry || strcmp(registry, "table") != 0) {
        g_autofree char *msg = g_strdup_printf("Unknown registry: %s", registry ? registry : "");
        set_status(resp, 1, msg);
        return;
    }
    t = item ? orchard_registry_find_table(reg, item) : NULL;
    if (!t) {
        g_autofree char *msg = g_strdup_printf("Unknown table: %s", item ? item : "");
        set_status(resp, 1, msg);
        return;
    }
    if (!action) {
        set_status(resp, 1, "Table plugins must include a request action");
        return;
    }
    if (strcmp(action, "generate") == 0) {
        generate(t, request, resp);
    } else if (strcmp(action, "columns") == 0) {
        g_ptr_array_unref(resp->response);
        resp->response = orchard_ext_columns(t);
        resp->__isset_response = TRUE;
        set_status(resp, 0, "OK");
    } else if (strcmp(action, "insert") == 0 || strcmp(action, "update") == 0 ||
               strcmp(action, "delete") == 0) {
        GHashTable *m = str_map();
        g_hash_table_insert(m, g_strdup("status"), g_strdup("readonly"));
        g_ptr_array_add(resp->response, m);
        resp->__isset_response = TRUE;
        set_status(resp, 0, "OK");
    } else {
        g_autofree char *msg = g_strdup_printf("Unknown action: %s", action);
        set_status(resp, 1, msg);
    }
}
