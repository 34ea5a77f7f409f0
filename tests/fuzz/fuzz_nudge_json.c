/* Fuzz target: Nudge's JSON configuration (--nudge_json, or a profile turned
 * into JSON) through the pure rules of tables/nudge_logic.h: which
 * osVersionRequirements entry applies, and every string in the document as
 * a date and as a version. */
#include "tests/fuzz/fuzz.h"

#include "tables/nudge_logic.h"

#include <glib.h>

static GTimeZone *utc, *paris;

/* A string as the nudge table may read it: a deadline, or a version. */
static void try_string(const char *s, const char **prev)
{
    gint64 t;
    int cmp;

    if (nudge_parse_date(s, utc, &t) == 0) {
        (void)nudge_phase_for(t - 1700000000, NUDGE_DEFAULT_APPROACHING_WINDOW,
                              NUDGE_DEFAULT_IMMINENT_WINDOW);
        (void)nudge_days_remaining(1700000000, t, utc);
    }
    (void)nudge_parse_date(s, paris, &t);
    (void)nudge_version_compare(s, "13.4.1", &cmp);
    (void)nudge_version_compare("14.0 (a)", s, &cmp);
    if (*prev)
        (void)nudge_version_compare(*prev, s, &cmp);
    *prev = s;
}

/* Depth is bounded by jansson's parser (2048 levels). */
static void walk(json_t *v, const char **prev)
{
    const char *key;
    json_t *child;
    size_t i;

    if (json_is_string(v)) {
        try_string(json_string_value(v), prev);
    } else if (json_is_object(v)) {
        json_object_foreach(v, key, child) {
            try_string(key, prev);
            walk(child, prev);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, child)
            walk(child, prev);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    const char *prev = NULL;

    if (!utc) {
        utc = g_time_zone_new_utc();
        paris = g_time_zone_new_identifier("Europe/Paris");
        if (!paris)
            paris = g_time_zone_new_offset(3600);
    }
    json_t *root = json_loadb((const char *)data, size, 0, &jerr);
    if (!root)
        return 0;
    json_t *reqs = json_object_get(root, "osVersionRequirements");
    json_t *req = nudge_pick_requirement(reqs, "13.4.1");
    (void)nudge_pick_requirement(reqs, "14.2 (a)");
    (void)nudge_pick_requirement(reqs, "");
    if (req) {
        const char *min = json_string_value(json_object_get(req, "requiredMinimumOSVersion"));
        const char *date = json_string_value(json_object_get(req, "requiredInstallationDate"));
        int cmp;
        gint64 t;
        if (min)
            (void)nudge_version_compare("13.4.1", min, &cmp);
        if (date)
            (void)nudge_parse_date(date, NULL, &t);
    }
    walk(root, &prev);
    json_decref(root);
    return 0;
}
