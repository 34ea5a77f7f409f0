/* Profile downloads per enrollment token, limited: each download stores a
 * one-time SCEP challenge, so an unlimited token is a way to fill the store
 * (3,000 downloads took 0.8 s). A fixed window per token, in memory: the
 * limit protects this instance's store writes, and each instance of several
 * keeps its own count. */
#include "server_plugin/enroll/download_limit.h"

#include <glib.h>
#include <string.h>

/* Windows that ended are swept once the table holds this many tokens, so a
 * flood of distinct tokens cannot grow it without end either. */
#define SWEEP_AT 4096

typedef struct {
    gint64 window_start; /* unix seconds */
    unsigned count;
} window;

const orchard_setting orchard_setting_enroll_downloads = {
    ORCHARD_STRUCT_HEADER(orchard_setting),
    .key = "mdm.enroll_downloads_per_minute",
    .type = ORCHARD_SETTING_INT,
    .default_value = G_STRINGIFY(ORCHARD_ENROLL_DOWNLOADS_DEFAULT),
    .description = "Enrollment profiles one enrollment token may download per minute "
                   "(each stores a one-time SCEP challenge); more get 429",
};

static GMutex lock;
static GHashTable *windows; /* char* token digest -> window* */

static gboolean ended(gpointer key, gpointer value, gpointer now)
{
    (void)key;
    return ((window *)value)->window_start + ORCHARD_ENROLL_WINDOW_SECONDS <= *(gint64 *)now;
}

int orchard_enroll_download_allowed(const char *token, unsigned limit, gint64 now,
                                    int *retry_after)
{
    g_autofree char *key = g_compute_checksum_for_string(G_CHECKSUM_SHA256, token, -1);
    int allowed;

    g_mutex_lock(&lock);
    if (!windows)
        windows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (g_hash_table_size(windows) >= SWEEP_AT)
        g_hash_table_foreach_remove(windows, ended, &now);
    window *w = g_hash_table_lookup(windows, key);
    if (!w) {
        w = g_new0(window, 1);
        g_hash_table_insert(windows, g_steal_pointer(&key), w);
    }
    if (w->window_start + ORCHARD_ENROLL_WINDOW_SECONDS <= now) {
        w->window_start = now;
        w->count = 0;
    }
    allowed = w->count < limit;
    if (allowed)
        w->count++;
    *retry_after = allowed ? 0 : (int)(w->window_start + ORCHARD_ENROLL_WINDOW_SECONDS - now);
    g_mutex_unlock(&lock);
    return allowed;
}

void orchard_enroll_download_reset(void)
{
    g_mutex_lock(&lock);
    if (windows)
        g_hash_table_destroy(windows);
    windows = NULL;
    g_mutex_unlock(&lock);
}
