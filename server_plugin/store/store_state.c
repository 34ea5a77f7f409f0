/* Server-wide state on record (server_state): the APNs topic devices
 * enrolled under, which a renewed certificate must keep. */
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_sql.h"

static int text_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    *(char **)out = g_strdup(h->stmt_column_text(st, 0));
    return 0;
}

int orchard_server_store_topic_check(const char *topic, int accept_new, char **recorded)
{
    g_autofree char *old = NULL;
    int rc = orchard_sstore_read_one("reading the APNs topic",
                                     "SELECT value FROM server_state WHERE key = ?",
                                     SQL_PARAMS(SQL_TEXT("apns_topic")), text_row, &old);
    if (rc == 0 && g_strcmp0(old, topic) == 0)
        return 0;
    if (rc == 0 && !accept_new) {
        *recorded = g_steal_pointer(&old);
        return ORCHARD_EEXIST;
    }
    if (rc != 0 && rc != ORCHARD_ENOTFOUND)
        return rc;
    /* First start, or an accepted new topic: record it. Another instance may
     * have recorded one meanwhile; the upsert keeps the last word, which is
     * the same topic every instance is configured with. */
    gint64 n = orchard_sstore_write("recording the APNs topic",
                                    "INSERT INTO server_state (key, value) "
                                    "VALUES ('apns_topic', ?) "
                                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                    SQL_PARAMS(SQL_TEXT(topic)));
    return n < 0 ? (int)n : 0;
}

static int any_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    (void)h, (void)st, (void)out;
    return 0;
}

int orchard_server_store_ping(void)
{
    /* A table of ours, not "SELECT 1": a database without our schema is
     * not a healthy store either. */
    return orchard_sstore_read_one("checking the store", "SELECT count(*) FROM server_state",
                                   NULL, 0, any_row, NULL);
}

/* The desired-state marker: every change to what hosts should have
 * (profiles, teams, host teams, macOS update settings) writes a new value in
 * the same transaction as the change, and the profile reconciler
 * (server_plugin/profiles/) runs a pass when the value differs from the one
 * its last pass saw, on whichever instance holds its lease and whichever
 * process (serve, `orchard apply`) made the change. */
#define DESIRED_KEY "desired_state"

int orchard_sstore_desired_touch(orchard_store_tx *tx)
{
    g_autofree char *v = g_strdup_printf("%" G_GINT64_FORMAT "-%08x", g_get_real_time(),
                                         g_random_int());
    gint64 n = orchard_sstore_exec(tx,
                                   "INSERT INTO server_state (key, value) VALUES (?, ?) "
                                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                   SQL_PARAMS(SQL_TEXT(DESIRED_KEY), SQL_TEXT(v)));
    return n < 0 ? (int)n : 0;
}

int orchard_sstore_desired_version(char **out)
{
    *out = NULL;
    int rc = orchard_sstore_read_one("reading the desired-state marker",
                                     "SELECT value FROM server_state WHERE key = ?",
                                     SQL_PARAMS(SQL_TEXT(DESIRED_KEY)), text_row, out);
    if (rc == ORCHARD_ENOTFOUND) {
        *out = g_strdup("");
        rc = 0;
    }
    return rc;
}
