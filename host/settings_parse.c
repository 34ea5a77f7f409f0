/* Typed setting values from text (see settings_parse.h). Strict: a value
 * that only half parses ("10 minutes", "5x") is an error, never a guess, so
 * that `config check` can name it before serve starts. */
#include "host/settings_parse.h"

#include <glib.h>
#include <string.h>

int orchard_parse_bool(const char *text, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; text && i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(text, yes[i]) == 0 || g_ascii_strcasecmp(text, no[i]) == 0) {
            *out = g_ascii_strcasecmp(text, yes[i]) == 0;
            return 0;
        }
    }
    return ORCHARD_EINVAL;
}

int orchard_parse_int(const char *text, int64_t *out)
{
    const char *p = text;
    int neg = 0;
    uint64_t v = 0, limit = (uint64_t)INT64_MAX;

    if (!p)
        return ORCHARD_EINVAL;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!g_ascii_isdigit(*p))
        return ORCHARD_EINVAL;
    for (; g_ascii_isdigit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (limit + (uint64_t)neg - d) / 10)
            return ORCHARD_EINVAL;
        v = v * 10 + d;
    }
    if (*p)
        return ORCHARD_EINVAL;
    *out = neg ? (v == limit + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return 0;
}

/* One number: digits, an optional fraction. *whole and the fraction's
 * digits (frac, at most 18 of them counted in *scale) come back; the text
 * after it in *end. 0, or -1 when there is no number or it overflows. */
static int read_number(const char *p, uint64_t *whole, uint64_t *frac, uint64_t *scale,
                       const char **end)
{
    int digits = 0;
    *whole = *frac = 0;
    *scale = 1;
    for (; g_ascii_isdigit(*p); p++, digits++) {
        if (*whole > (UINT64_MAX - 9) / 10)
            return -1;
        *whole = *whole * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        for (p++; g_ascii_isdigit(*p); p++, digits++) {
            if (*scale < G_GUINT64_CONSTANT(1000000000000000000)) {
                *frac = *frac * 10 + (uint64_t)(*p - '0');
                *scale *= 10;
            }
        }
    }
    *end = p;
    return digits ? 0 : -1;
}

/* whole * unit + frac / scale * unit (rounded down), checked against `max`.
 * -1 on overflow. frac < scale, so the fraction's part is below unit. */
static int scaled(uint64_t whole, uint64_t frac, uint64_t scale, uint64_t unit, uint64_t max,
                  uint64_t *out)
{
    if (unit && whole > max / unit)
        return -1;
    uint64_t v = whole * unit;
    uint64_t part = (uint64_t)((unsigned __int128)frac * unit / scale);
    if (part > max - v)
        return -1;
    *out = v + part;
    return 0;
}

static const struct {
    const char *name;
    uint64_t ns;
} duration_units[] = {
    {"ns", 1}, {"us", 1000}, {"\xc2\xb5s", 1000}, {"\xce\xbcs", 1000}, {"ms", 1000000},
    {"s", G_GUINT64_CONSTANT(1000000000)}, {"m", G_GUINT64_CONSTANT(60000000000)},
    {"h", G_GUINT64_CONSTANT(3600000000000)},
};

/* The unit at p (longest name first matters only for "ms" vs "m"). */
static uint64_t duration_unit(const char *p, const char **end)
{
    size_t best_len = 0;
    uint64_t ns = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(duration_units); i++) {
        size_t n = strlen(duration_units[i].name);
        if (n > best_len && strncmp(p, duration_units[i].name, n) == 0) {
            best_len = n;
            ns = duration_units[i].ns;
        }
    }
    *end = p + best_len;
    return ns;
}

int orchard_parse_duration_ms(const char *text, int64_t *out_ms)
{
    const char *p = text;
    uint64_t total = 0, max = (uint64_t)INT64_MAX;
    int neg = 0;

    if (!p || !*p)
        return ORCHARD_EINVAL;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    do {
        uint64_t whole, frac, scale, part;
        const char *after;
        if (read_number(p, &whole, &frac, &scale, &after))
            return ORCHARD_EINVAL;
        uint64_t unit = duration_unit(after, &p);
        if (!unit) {
            /* A bare number is seconds, but only alone: "1h30" is a typo. */
            if (*after || p != after || total)
                return ORCHARD_EINVAL;
            unit = G_GUINT64_CONSTANT(1000000000);
            p = after;
        }
        if (scaled(whole, frac, scale, unit, max, &part) || part > max - total)
            return ORCHARD_EINVAL;
        total += part;
    } while (*p);
    *out_ms = (neg ? -1 : 1) * (int64_t)(total / 1000000);
    return 0;
}

int orchard_parse_bytes(const char *text, uint64_t *out)
{
    static const struct {
        const char *name;
        unsigned shift;
    } units[] = {
        {"", 0}, {"b", 0}, {"k", 10}, {"kb", 10}, {"kib", 10}, {"m", 20}, {"mb", 20},
        {"mib", 20}, {"g", 30}, {"gb", 30}, {"gib", 30}, {"t", 40}, {"tb", 40}, {"tib", 40},
    };
    uint64_t whole, frac, scale;
    const char *p;

    if (!text || read_number(text, &whole, &frac, &scale, &p))
        return ORCHARD_EINVAL;
    while (*p == ' ')
        p++;
    for (size_t i = 0; i < G_N_ELEMENTS(units); i++) {
        if (g_ascii_strcasecmp(p, units[i].name) == 0)
            return scaled(whole, frac, scale, (uint64_t)1 << units[i].shift, UINT64_MAX, out)
                       ? ORCHARD_EINVAL : 0;
    }
    return ORCHARD_EINVAL;
}

const char *orchard_setting_type_noun(orchard_setting_type type)
{
    switch (type) {
    case ORCHARD_SETTING_BOOL: return "a boolean";
    case ORCHARD_SETTING_INT: return "an integer";
    case ORCHARD_SETTING_DURATION: return "a duration";
    case ORCHARD_SETTING_PATH: return "a path";
    case ORCHARD_SETTING_BYTES: return "a size";
    default: return "a value";
    }
}

int orchard_setting_check_value(orchard_setting_type type, const char *text, char **why)
{
    const char *msg = NULL;
    int64_t i;
    uint64_t u;
    int b;

    switch (type) {
    case ORCHARD_SETTING_BOOL:
        if (orchard_parse_bool(text, &b))
            msg = "is not a boolean (true/false, yes/no, on/off, 1/0)";
        break;
    case ORCHARD_SETTING_INT:
        if (orchard_parse_int(text, &i))
            msg = "is not a whole number";
        break;
    case ORCHARD_SETTING_DURATION:
        if (orchard_parse_duration_ms(text, &i))
            msg = "is not a duration such as 90s, 1m, 1h30m or 500ms";
        break;
    case ORCHARD_SETTING_BYTES:
        if (orchard_parse_bytes(text, &u))
            msg = "is not a size such as 512k, 2MiB or 1048576";
        break;
    case ORCHARD_SETTING_PATH:
        if (!text || strpbrk(text, "\r\n"))
            msg = "is not a path (it holds a line break)";
        break;
    default:
        break;
    }
    if (msg && why)
        *why = g_strdup(msg);
    return msg ? ORCHARD_EINVAL : 0;
}
