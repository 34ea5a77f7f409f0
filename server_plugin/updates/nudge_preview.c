/* What a Mac's user sees of Nudge on a given day under a macOS update
 * setting (updates.h): the macOS updates page's timeline. Read from the very
 * configuration the Macs get (nudge_config.c) and phased by the agent's own
 * rules (tables/nudge_logic.c), so the preview cannot drift from either. */
#include "server_plugin/updates/updates.h"

#include <stdlib.h>
#include <string.h>

#define DAY_S 86400
#define HOUR_S 3600

/* A positive integer member of userExperience, else Nudge's default. */
static gint64 ux_int(json_t *ux, const char *key, gint64 dflt)
{
    json_t *v = json_object_get(ux, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : dflt;
}

typedef struct schedule {
    gint64 due;
    gint64 approaching_h, imminent_h;
    gint64 cycles[4]; /* by nudge_phase */
} schedule;

static int schedule_of(json_t *config, schedule *s)
{
    json_t *req = json_array_get(json_object_get(config, "osVersionRequirements"), 0);
    const char *when = json_string_value(json_object_get(req, "requiredInstallationDate"));
    /* A date without a zone would be the Mac's local time; orchard writes
     * UTC, and a preview in UTC needs a zone it can name. */
    g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
    if (!when || nudge_parse_date(when, utc, &s->due) != 0)
        return -1;
    json_t *ux = json_object_get(config, "userExperience");
    s->approaching_h = ux_int(ux, "approachingWindowTime", NUDGE_DEFAULT_APPROACHING_WINDOW);
    s->imminent_h = ux_int(ux, "imminentWindowTime", NUDGE_DEFAULT_IMMINENT_WINDOW);
    s->cycles[NUDGE_PHASE_INITIAL] = ux_int(ux, "initialRefreshCycle",
                                            NUDGE_DEFAULT_INITIAL_REFRESH);
    s->cycles[NUDGE_PHASE_APPROACHING] = ux_int(ux, "approachingRefreshCycle",
                                                NUDGE_DEFAULT_APPROACHING_REFRESH);
    s->cycles[NUDGE_PHASE_IMMINENT] = ux_int(ux, "imminentRefreshCycle",
                                             NUDGE_DEFAULT_IMMINENT_REFRESH);
    s->cycles[NUDGE_PHASE_ELAPSED] = ux_int(ux, "elapsedRefreshCycle",
                                            NUDGE_DEFAULT_ELAPSED_REFRESH);
    return 0;
}

static nudge_phase phase_at(const schedule *s, gint64 t)
{
    return nudge_phase_for(s->due - t, s->approaching_h, s->imminent_h);
}

int orchard_nudge_preview_day(json_t *nudge_config, const char *day, orchard_nudge_day *out)
{
    schedule s;
    gint64 start;
    memset(out, 0, sizeof *out);
    if (orchard_macos_updates_day(day, &start) || schedule_of(nudge_config, &s))
        return ORCHARD_EINVAL;
    out->start = start;
    for (int h = 0; h < 24; h++) {
        gint64 t = start + (gint64)h * HOUR_S;
        out->phase[h] = phase_at(&s, t);
        out->cycle[h] = s.cycles[out->phase[h]];
        out->dismissible[h] = nudge_dismissible(s.due - t, 0, NUDGE_DEFAULT_ALLOWED_DEFERRALS);
    }
    /* Nudge's timer looks every so often and shows the window once the
     * time since it last did reaches the cycle of the phase in force then:
     * a minute's step finds every opening of cycles in whole minutes. */
    gint64 last = 0;
    for (int m = 0; m < 24 * 60 && out->n_opens < ORCHARD_NUDGE_PREVIEW_OPENS_MAX; m++) {
        gint64 t = start + (gint64)m * 60;
        if (out->n_opens == 0 || t - last >= s.cycles[phase_at(&s, t)]) {
            out->opens[out->n_opens++] = m;
            last = t;
        }
    }
    return 0;
}

static char *hhmm(int minutes)
{
    return g_strdup_printf("%02d:%02d", minutes / 60, minutes % 60);
}

/* One run of the same refresh cycle, for the sentence under the timeline. */
static json_t *segment_json(int from_minute, gint64 cycle, int locked, int first)
{
    g_autofree char *from = hhmm(from_minute);
    json_t *seg = json_pack("{s:s, s:b, s:b}", "from", from, "first", first, "locked", locked);
    if (cycle >= DAY_S)
        json_object_set_new(seg, "once_a_day", json_true());
    else if (cycle == HOUR_S)
        json_object_set_new(seg, "hourly", json_true());
    else if (cycle % HOUR_S == 0)
        json_object_set_new(seg, "every_hours", json_integer(cycle / HOUR_S));
    else
        json_object_set_new(seg, "every_minutes", json_integer((cycle + 59) / 60));
    return seg;
}

/* The runs of one cycle over the day, found minute by minute so a phase
 * that starts mid-hour is named at its minute. */
static json_t *segments_json(json_t *config, gint64 start)
{
    schedule s;
    json_t *list = json_array();
    if (schedule_of(config, &s))
        return list;
    gint64 cycle = -1;
    int locked = -1;
    for (int m = 0; m < 24 * 60; m++) {
        gint64 t = start + (gint64)m * 60;
        gint64 c = s.cycles[phase_at(&s, t)];
        int l = !nudge_dismissible(s.due - t, 0, NUDGE_DEFAULT_ALLOWED_DEFERRALS);
        if (c != cycle || l != locked)
            json_array_append_new(list, segment_json(m, c, l, json_array_size(list) == 0));
        cycle = c;
        locked = l;
    }
    return list;
}

static json_t *day_json(json_t *config, const orchard_nudge_day *d, const char *date,
                        const char *label, int today)
{
    json_t *hours = json_array();
    int opens_in[24] = {0};
    g_autoptr(GString) opens = g_string_new(NULL);
    for (int i = 0; i < d->n_opens; i++) {
        opens_in[d->opens[i] / 60]++;
        g_autofree char *at = hhmm(d->opens[i]);
        g_string_append_printf(opens, "%s%s", i ? ", " : "", at);
    }
    for (int h = 0; h < 24; h++) {
        g_autofree char *time = hhmm(h * 60);
        json_array_append_new(hours, json_pack("{s:s, s:s, s:b, s:b}", "time", time, "phase",
                                               nudge_phase_name(d->phase[h]), "opens",
                                               opens_in[h] > 0, "locked", !d->dismissible[h]));
    }
    return json_pack("{s:s, s:s, s:b, s:b, s:o, s:s, s:o}", "date", date, "label", label,
                     "today", today, "past", !d->dismissible[0], "hours", hours, "opens",
                     opens->str, "segments", segments_json(config, d->start));
}

/* "YYYY-MM-DD" of `start` + `days` days (g_free). */
static char *date_plus(gint64 start, int days)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(start + (gint64)days * DAY_S);
    return dt ? g_date_time_format(dt, "%Y-%m-%d") : NULL;
}

/* The preview for a configuration whose deadline's day starts at due_start. */
static json_t *preview_of(json_t *config, gint64 now_start, gint64 due_start)
{
    schedule s;
    if (schedule_of(config, &s))
        return NULL;
    g_autoptr(GDateTime) due = g_date_time_new_from_unix_utc(s.due);
    g_autofree char *due_text = due ? g_date_time_format(due, "%Y-%m-%d %H:%M UTC") : NULL;
    if (!due_text)
        return NULL;
    json_t *days = json_array();
    json_t *out = json_pack("{s:s, s:b, s:o}", "deadline_at", due_text, "past",
                            now_start >= s.due, "days", days);
    /* Today, then the eve and the day of the deadline when still ahead. */
    gint64 starts[3] = {now_start, due_start - DAY_S, due_start};
    for (int i = 0; i < 3; i++) {
        if (starts[i] < now_start || (i > 0 && starts[i] == now_start))
            continue;
        g_autofree char *date = date_plus(starts[i], 0);
        orchard_nudge_day d;
        if (!date || orchard_nudge_preview_day(config, date, &d))
            continue;
        const char *what = starts[i] == due_start           ? "the deadline day"
                           : starts[i] == due_start - DAY_S ? "the day before the deadline"
                                                            : NULL;
        g_autofree char *label = starts[i] != now_start ? g_strdup(what)
                                 : what ? g_strconcat("Today, ", what, NULL)
                                        : g_strdup("Today");
        label[0] = g_ascii_toupper(label[0]);
        json_array_append_new(days, day_json(config, &d, date, label, starts[i] == now_start));
    }
    return out;
}

json_t *orchard_nudge_preview_json(const char *minimum_version, const char *deadline,
                                   const char *today)
{
    gint64 now_start, due_start;
    if (orchard_macos_updates_day(today, &now_start) ||
        orchard_macos_updates_day(deadline, &due_start))
        return NULL;
    json_t *config = orchard_nudge_config_json(minimum_version, deadline);
    json_t *out = config ? preview_of(config, now_start, due_start) : NULL;
    json_decref(config);
    return out;
}
