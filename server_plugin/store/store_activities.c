/* The activity log on the store (store_users.h): appended by
 * users/activity.c, read newest first by GET /activities and the
 * activities table. Rows are never updated. */
#include "server_plugin/store/store_users.h"

#include "server_plugin/store/store_sql.h"

void orchard_activity_free(orchard_activity *a)
{
    if (!a)
        return;
    g_free(a->actor_email);
    g_free(a->actor_name);
    g_free(a->type);
    g_free(a->details);
    g_free(a);
}

int orchard_store_activity_add(const char *actor_email, const char *actor_name, const char *type,
                               const char *details_json, gint64 now)
{
    gint64 n = orchard_sstore_write(
        "recording an activity",
        "INSERT INTO activities (created_at, actor_email, actor_name, type, details) "
        "VALUES (?, ?, ?, ?, ?)",
        SQL_PARAMS(SQL_INT(now), SQL_TEXT(actor_email), SQL_TEXT(actor_name), SQL_TEXT(type),
                   SQL_TEXT(details_json ? details_json : "{}")));
    return n < 0 ? (int)n : 0;
}

static void *activity_of_row(const orchard_host_api *h, orchard_stmt *st)
{
    orchard_activity *a = g_new0(orchard_activity, 1);
    a->id = h->stmt_column_int(st, 0);
    a->created_at = h->stmt_column_int(st, 1);
    a->actor_email = g_strdup(h->stmt_column_text(st, 2));
    a->actor_name = g_strdup(h->stmt_column_text(st, 3));
    a->type = g_strdup(h->stmt_column_text(st, 4));
    a->details = g_strdup(h->stmt_column_text(st, 5));
    return a;
}

int orchard_store_activity_list(gint64 page, gint64 per_page, GPtrArray **out)
{
    gint64 limit, offset;
    *out = NULL;
    if (orchard_sstore_page(page, per_page, &limit, &offset))
        return ORCHARD_EINVAL;
    return orchard_sstore_read_list(
        "listing activities",
        "SELECT id, created_at, actor_email, actor_name, type, details "
        "FROM activities ORDER BY id DESC LIMIT ? OFFSET ?",
        SQL_PARAMS(SQL_INT(limit), SQL_INT(offset)), activity_of_row,
        (GDestroyNotify)orchard_activity_free, out);
}
