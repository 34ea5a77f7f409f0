/* Failed logins per email and per client address, in memory: a fixed
 * window of ORCHARD_LOGIN_WINDOW_SECONDS per key in a table of bounded
 * size, so password guessing is slowed without a store write per attempt.
 * Process-local: several `orchard serve` instances each count their own. */
#include "server_plugin/users/users.h"

#include <string.h>

typedef struct {
    gint64 window_start;
    int failures;
} slot;

static GMutex lock;
static GHashTable *slots; /* "e:<email>" or "a:<address>" -> slot* */

static int limit_of(const char *key)
{
    return key[0] == 'e' ? ORCHARD_LOGIN_FAILURES_PER_EMAIL : ORCHARD_LOGIN_FAILURES_PER_ADDRESS;
}

/* Make room for one more key: drop the windows that ended, and if that is
 * not enough the one that started first (a flood of made-up emails then
 * only pushes out other made-up emails, mostly). Under lock. */
static void make_room(gint64 now)
{
    GHashTableIter it;
    gpointer k, v;
    const char *oldest = NULL;
    gint64 oldest_start = G_MAXINT64;

    g_hash_table_iter_init(&it, slots);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        slot *s = v;
        if (now - s->window_start >= ORCHARD_LOGIN_WINDOW_SECONDS)
            g_hash_table_iter_remove(&it);
    }
    if (g_hash_table_size(slots) < ORCHARD_LOGIN_LIMIT_SLOTS)
        return;
    g_hash_table_iter_init(&it, slots);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (((slot *)v)->window_start < oldest_start) {
            oldest_start = ((slot *)v)->window_start;
            oldest = k;
        }
    if (oldest)
        g_hash_table_remove(slots, oldest);
}

/* Seconds until `key` may try again; 0 when it may now. Under lock. */
static int wait_of(const char *key, gint64 now)
{
    slot *s = slots ? g_hash_table_lookup(slots, key) : NULL;
    if (!s || now - s->window_start >= ORCHARD_LOGIN_WINDOW_SECONDS)
        return 0;
    if (s->failures < limit_of(key))
        return 0;
    gint64 left = s->window_start + ORCHARD_LOGIN_WINDOW_SECONDS - now;
    return left < 1 ? 1 : (int)left;
}

static void count(const char *key, gint64 now)
{
    slot *s = g_hash_table_lookup(slots, key);
    if (s && now - s->window_start >= ORCHARD_LOGIN_WINDOW_SECONDS) {
        s->window_start = now;
        s->failures = 0;
    }
    if (!s) {
        if (g_hash_table_size(slots) >= ORCHARD_LOGIN_LIMIT_SLOTS)
            make_room(now);
        s = g_new0(slot, 1);
        s->window_start = now;
        g_hash_table_insert(slots, g_strdup(key), s);
    }
    if (s->failures < G_MAXINT)
        s->failures++;
}

static char *key_of(char kind, const char *what)
{
    /* Emails are capped before this; addresses are the host's text. */
    return what ? g_strdup_printf("%c:%.*s", kind, ORCHARD_EMAIL_MAX, what) : NULL;
}

int orchard_login_limit_check(const char *email, const char *address, gint64 now)
{
    g_autofree char *ek = key_of('e', email), *ak = key_of('a', address);
    g_mutex_lock(&lock);
    int e = ek ? wait_of(ek, now) : 0, a = ak ? wait_of(ak, now) : 0;
    g_mutex_unlock(&lock);
    return MAX(e, a);
}

void orchard_login_limit_fail(const char *email, const char *address, gint64 now)
{
    g_autofree char *ek = key_of('e', email), *ak = key_of('a', address);
    g_mutex_lock(&lock);
    if (!slots)
        slots = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (ek)
        count(ek, now);
    if (ak)
        count(ak, now);
    g_mutex_unlock(&lock);
}

void orchard_login_limit_succeed(const char *email)
{
    g_autofree char *ek = key_of('e', email);
    g_mutex_lock(&lock);
    if (slots && ek)
        g_hash_table_remove(slots, ek);
    g_mutex_unlock(&lock);
}

void orchard_login_limit_reset(void)
{
    g_mutex_lock(&lock);
    g_clear_pointer(&slots, g_hash_table_destroy);
    g_mutex_unlock(&lock);
}
