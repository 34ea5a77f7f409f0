/* Nudge's rules (see nudge_logic.h). */
#include "tables/nudge_logic.h"

#include <string.h>

#define MAX_COMPONENTS 8

/* Leading "N(.N)*" of s into parts; returns the count, or -1 if not a version. */
static int version_parts(const char *s, long parts[MAX_COMPONENTS])
{
    int n = 0;
    const char *p = s;
    if (!s)
        return -1;
    while (*p == ' ')
        p++;
    for (;;) {
        int digits = 0;
        long v = 0;
        while (g_ascii_isdigit(*p)) {
            if (++digits > 6)
                return -1;
            v = v * 10 + (*p++ - '0');
        }
        if (digits == 0 || n == MAX_COMPONENTS)
            return -1;
        parts[n++] = v;
        if (*p != '.')
            break;
        p++;
    }
    /* What follows the numbers may only be a suffix such as " (a)". */
    return (*p == '\0' || *p == ' ' || *p == '(') ? n : -1;
}

int nudge_version_compare(const char *a, const char *b, int *cmp)
{
    long pa[MAX_COMPONENTS], pb[MAX_COMPONENTS];
    int na = version_parts(a, pa), nb = version_parts(b, pb);
    if (na < 0 || nb < 0)
        return -1;
    for (int i = 0; i < MAX(na, nb); i++) {
        long x = i < na ? pa[i] : 0, y = i < nb ? pb[i] : 0;
        if (x != y) {
            *cmp = x < y ? -1 : 1;
            return 0;
        }
    }
    *cmp = 0;
    return 0;
}

int nudge_parse_date(const char *s, GTimeZone *local, gint64 *unix_out)
{
    /* YYYY-MM-DDTHH:MM:SS at least: GLib would also take week dates and the like. */
    if (!s || strlen(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':')
        return -1;
    g_autoptr(GTimeZone) tz = local ? g_time_zone_ref(local) : g_time_zone_new_local();
    g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(s, tz);
    if (!dt)
        return -1;
    *unix_out = g_date_time_to_unix(dt);
    return 0;
}

/* The major version ("13" of "13.4.1"), or NULL. g_free. */
static char *major_of(const char *v)
{
    long parts[MAX_COMPONENTS];
    return version_parts(v, parts) > 0 ? g_strdup_printf("%ld", parts[0]) : NULL;
}

json_t *nudge_pick_requirement(json_t *reqs, const char *os_version_full)
{
    /* The rule names a plain version: compare without an RSR suffix. */
    g_autofree char *os_version = os_version_full ? g_strdup(os_version_full) : NULL;
    if (os_version)
        os_version[strcspn(os_version, " (")] = '\0';
    json_t *exact = NULL, *major = NULL, *fallback = NULL, *req;
    g_autofree char *os_major = major_of(os_version);
    size_t i;

    if (!json_is_array(reqs))
        return NULL;
    json_array_foreach(reqs, i, req) {
        if (!json_is_object(req))
            continue;
        const char *rule = json_string_value(json_object_get(req, "targetedOSVersionsRule"));
        if (!rule || !*rule || strcmp(rule, "default") == 0) {
            if (!fallback)
                fallback = req;
            continue;
        }
        if (!exact && os_version && strcmp(rule, os_version) == 0)
            exact = req;
        else if (!major && os_major && strcmp(rule, os_major) == 0)
            major = req;
    }
    return exact ? exact : major ? major : fallback;
}

nudge_phase nudge_phase_for(gint64 s, gint64 approaching_h, gint64 imminent_h)
{
    if (s <= 0)
        return NUDGE_PHASE_ELAPSED;
    if (s <= imminent_h * 3600)
        return NUDGE_PHASE_IMMINENT;
    if (s <= approaching_h * 3600)
        return NUDGE_PHASE_APPROACHING;
    return NUDGE_PHASE_INITIAL;
}

const char *nudge_phase_name(nudge_phase p)
{
    static const char *const names[] = {"initial", "approaching", "imminent", "elapsed"};
    return names[p];
}

gint64 nudge_days_remaining(gint64 now, gint64 deadline, GTimeZone *tz)
{
    g_autoptr(GTimeZone) zone = tz ? g_time_zone_ref(tz) : g_time_zone_new_local();
    g_autoptr(GDateTime) ua = g_date_time_new_from_unix_utc(now);
    g_autoptr(GDateTime) ub = g_date_time_new_from_unix_utc(deadline);
    if (!ua || !ub)
        return 0;
    g_autoptr(GDateTime) la = g_date_time_to_timezone(ua, zone);
    g_autoptr(GDateTime) lb = g_date_time_to_timezone(ub, zone);
    if (!la || !lb)
        return 0;
    /* Whole days between the two calendar dates (GDate counts from year 1). */
    GDate da, db;
    g_date_clear(&da, 1);
    g_date_clear(&db, 1);
    g_date_set_dmy(&da, (GDateDay)g_date_time_get_day_of_month(la),
                   (GDateMonth)g_date_time_get_month(la), (GDateYear)g_date_time_get_year(la));
    g_date_set_dmy(&db, (GDateDay)g_date_time_get_day_of_month(lb),
                   (GDateMonth)g_date_time_get_month(lb), (GDateYear)g_date_time_get_year(lb));
    return (gint64)g_date_days_between(&da, &db);
}

int nudge_dismissible(gint64 seconds_remaining, gint64 user_deferrals, gint64 allowed_deferrals)
{
    return (seconds_remaining <= 0 || user_deferrals > allowed_deferrals) ? 0 : 1;
}
