/*
 * nudge: Nudge's view of the macOS update requirement, one row per user.
 *
 *   select username, phase, refresh_cycle, dismissible from nudge;
 *   select * from nudge where username = 'alice';   -- reads only alice's file
 *
 * The configuration is merged per key from the managed profile, then the
 * first JSON file that exists, then Nudge's defaults; the rules themselves
 * (versions, deadlines, phases) are in nudge_logic.c.
 */
#include "nudge.gen.h"

#include "tables/agent.h"
#include "tables/mac/mac_source.h"
#include "tables/nudge_logic.h"
#include "tables/mac/plist_util.h"

#include <string.h>

#define PROFILE_PATH "Library/Managed Preferences/com.github.macadmins.Nudge.plist"
#define SYSTEM_VERSION "System/Library/CoreServices/SystemVersion.plist"
#define USER_PREFS "Library/Preferences/com.github.macadmins.Nudge.plist"
#define MAX_SOURCES 2

/* The merged configuration: sources[0] wins over sources[1]. */
typedef struct {
    json_t *sources[MAX_SOURCES];
    char *source_names[MAX_SOURCES]; /* as shown in config_source */
    int n;
    GString *names; /* config_source: the files used, ';'-separated */
} nudge_config;

static void config_add(nudge_config *cfg, json_t *doc, const char *mac_path)
{
    if (!json_is_object(doc)) {
        agent_warn("%s: not a dictionary of Nudge settings; ignored", mac_path);
        json_decref(doc);
        return;
    }
    cfg->source_names[cfg->n] = g_strdup(mac_path);
    cfg->sources[cfg->n++] = doc;
    g_string_append_printf(cfg->names, "%s%s", cfg->names->len ? ";" : "", mac_path);
}

static void load_profile(nudge_config *cfg, orchard_mac_source *src)
{
    plist_t p = NULL;
    g_autofree char *err = NULL;
    int rc = orchard_mac_read_plist(src, PROFILE_PATH, &p, &err);
    if (rc == 0) {
        config_add(cfg, orchard_plist_to_json(p), "/" PROFILE_PATH);
        plist_free(p);
    } else if (rc != ORCHARD_ENOTFOUND) {
        agent_warn("%s", err);
    }
}

/* The first JSON file that exists; a broken one is reported, not skipped over. */
static void load_json(nudge_config *cfg, orchard_mac_source *src)
{
    static const char *const under_root[] = {"Library/Preferences/com.github.macadmins.Nudge.json",
                                             "opt/orbit/nudge-config.json"};
    const char *configured = orchard_mac_source_nudge_json(src);
    for (int i = -1; i < (int)G_N_ELEMENTS(under_root); i++) {
        const char *path = i < 0 ? configured : under_root[i];
        json_t *doc = NULL;
        g_autofree char *err = NULL;
        if (!path)
            continue;
        int rc = orchard_mac_read_json(src, path, i >= 0, &doc, &err);
        if (rc == ORCHARD_ENOTFOUND)
            continue;
        if (rc == 0) {
            g_autofree char *shown = i < 0 ? g_strdup(path) : g_strconcat("/", path, NULL);
            config_add(cfg, doc, shown);
        } else {
            agent_warn("%s", err);
        }
        return;
    }
}

/* cfg[section][key] from the highest source that has it (section NULL: top
 * level); *from (may be NULL) names that source, for warnings. */
static json_t *config_get_from(const nudge_config *cfg, const char *section, const char *key,
                               const char **from)
{
    for (int i = 0; i < cfg->n; i++) {
        json_t *obj = section ? json_object_get(cfg->sources[i], section) : cfg->sources[i];
        json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
        if (v) {
            if (from)
                *from = cfg->source_names[i];
            return v;
        }
    }
    return NULL;
}

static json_t *config_get(const nudge_config *cfg, const char *section, const char *key)
{
    return config_get_from(cfg, section, key, NULL);
}

static gint64 config_int(const nudge_config *cfg, const char *key, gint64 dflt)
{
    json_t *v = config_get(cfg, "userExperience", key);
    return json_is_integer(v) ? (gint64)json_integer_value(v) : dflt;
}

/* ProductVersion [+ " " + ProductVersionExtra], or NULL (warned). g_free. */
static char *os_version(orchard_mac_source *src)
{
    plist_t p = NULL;
    g_autofree char *err = NULL;
    if (orchard_mac_read_plist(src, SYSTEM_VERSION, &p, &err) != 0) {
        agent_warn("%s", err);
        return NULL;
    }
    const char *v = orchard_plist_string(p, "ProductVersion");
    const char *extra = orchard_plist_string(p, "ProductVersionExtra");
    char *out = v ? (extra && *extra ? g_strdup_printf("%s %s", v, extra) : g_strdup(v)) : NULL;
    if (!v)
        agent_warn("/%s: no ProductVersion", SYSTEM_VERSION);
    plist_free(p);
    return out;
}

/* What every row shares: the requirement and the deadline. */
typedef struct {
    char *os;                 /* os_version column */
    const char *required;     /* requiredMinimumOSVersion, borrowed from cfg */
    char *deadline_text;      /* required_installation_date column */
    gint64 deadline;
    int has_deadline;
    int compliant;            /* 1, 0, or -1 when unknown */
    gint64 approaching_h, imminent_h, allowed;
    gint64 refresh[4];        /* per nudge_phase */
} nudge_state;

static void requirement(nudge_state *st, const nudge_config *cfg)
{
    const char *from = "";
    json_t *reqs = config_get_from(cfg, NULL, "osVersionRequirements", &from);
    json_t *req = nudge_pick_requirement(reqs, st->os);
    const char *date = json_string_value(json_object_get(req, "requiredInstallationDate"));
    int cmp;

    st->required = json_string_value(json_object_get(req, "requiredMinimumOSVersion"));
    st->compliant = -1;
    if (st->os && st->required && nudge_version_compare(st->os, st->required, &cmp) == 0)
        st->compliant = cmp >= 0;
    else if (st->required && st->os)
        agent_warn("%s: cannot compare macOS %s with requiredMinimumOSVersion %s", from, st->os,
                   st->required);
    if (date && nudge_parse_date(date, NULL, &st->deadline) == 0) {
        st->has_deadline = 1;
        st->deadline_text = orchard_format_utc(st->deadline);
    } else if (date) {
        agent_warn("%s: requiredInstallationDate \"%s\" is not an ISO 8601 date and time "
                   "(YYYY-MM-DDTHH:MM:SSZ)", from, date);
    }
    st->approaching_h = config_int(cfg, "approachingWindowTime", NUDGE_DEFAULT_APPROACHING_WINDOW);
    st->imminent_h = config_int(cfg, "imminentWindowTime", NUDGE_DEFAULT_IMMINENT_WINDOW);
    st->allowed = config_int(cfg, "allowedDeferrals", NUDGE_DEFAULT_ALLOWED_DEFERRALS);
    st->refresh[NUDGE_PHASE_INITIAL] = config_int(cfg, "initialRefreshCycle", NUDGE_DEFAULT_INITIAL_REFRESH);
    st->refresh[NUDGE_PHASE_APPROACHING] = config_int(cfg, "approachingRefreshCycle", NUDGE_DEFAULT_APPROACHING_REFRESH);
    st->refresh[NUDGE_PHASE_IMMINENT] = config_int(cfg, "imminentRefreshCycle", NUDGE_DEFAULT_IMMINENT_REFRESH);
    st->refresh[NUDGE_PHASE_ELAPSED] = config_int(cfg, "elapsedRefreshCycle", NUDGE_DEFAULT_ELAPSED_REFRESH);
}

/* One user's Nudge state (all zero when `prefs` is NULL). */
typedef struct {
    gint64 deferrals, quit_deferrals, session_deferrals;
    char *defer_until;
} user_state;

static void read_user(user_state *u, plist_t prefs)
{
    gint64 t;
    memset(u, 0, sizeof *u);
    orchard_plist_int(prefs, "userDeferrals", &u->deferrals);
    orchard_plist_int(prefs, "userQuitDeferrals", &u->quit_deferrals);
    orchard_plist_int(prefs, "userSessionDeferrals", &u->session_deferrals);
    if (orchard_plist_date(prefs, "deferRunUntil", &t) == 0)
        u->defer_until = orchard_format_utc(t);
}

#define NUM(buf, v) (g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT, (gint64)(v)), buf)

static int add_row(orchard_rows *rows, const nudge_config *cfg, const nudge_state *st,
                   const char *username, const user_state *u, gint64 now)
{
    char secs[24], hours[24], days[24], refresh[24], defer[24], qdefer[24], sdefer[24];
    char allowed[24], appr[24], imm[24];
    const char *v[NUDGE_N_COLUMNS] = {0};
    gint64 s = st->deadline - now;

    v[NUDGE_COL_USERNAME] = username;
    v[NUDGE_COL_CONFIG_SOURCE] = cfg->names->str;
    v[NUDGE_COL_REQUIRED_MINIMUM_OS_VERSION] = st->required;
    v[NUDGE_COL_REQUIRED_INSTALLATION_DATE] = st->deadline_text;
    v[NUDGE_COL_OS_VERSION] = st->os;
    v[NUDGE_COL_COMPLIANT] = st->compliant < 0 ? NULL : st->compliant ? "1" : "0";
    if (st->has_deadline) {
        v[NUDGE_COL_SECONDS_REMAINING] = NUM(secs, s);
        v[NUDGE_COL_HOURS_REMAINING] = NUM(hours, s / 3600); /* C division truncates */
        v[NUDGE_COL_DAYS_REMAINING] = NUM(days, nudge_days_remaining(now, st->deadline, NULL));
    }
    if (st->compliant == 1) {
        v[NUDGE_COL_PHASE] = "compliant";
    } else if (st->compliant == 0 && st->has_deadline) {
        nudge_phase ph = nudge_phase_for(s, st->approaching_h, st->imminent_h);
        v[NUDGE_COL_PHASE] = nudge_phase_name(ph);
        v[NUDGE_COL_REFRESH_CYCLE] = NUM(refresh, st->refresh[ph]);
        v[NUDGE_COL_DISMISSIBLE] = nudge_dismissible(s, u->deferrals, st->allowed) ? "1" : "0";
    }
    v[NUDGE_COL_USER_DEFERRALS] = NUM(defer, u->deferrals);
    v[NUDGE_COL_USER_QUIT_DEFERRALS] = NUM(qdefer, u->quit_deferrals);
    v[NUDGE_COL_USER_SESSION_DEFERRALS] = NUM(sdefer, u->session_deferrals);
    v[NUDGE_COL_ALLOWED_DEFERRALS] = NUM(allowed, st->allowed);
    v[NUDGE_COL_DEFER_RUN_UNTIL] = u->defer_until;
    v[NUDGE_COL_APPROACHING_WINDOW_TIME] = NUM(appr, st->approaching_h);
    v[NUDGE_COL_IMMINENT_WINDOW_TIME] = NUM(imm, st->imminent_h);
    return orchard_agent_host->row_add(rows, v, NUDGE_N_COLUMNS);
}

/* The users to look at: those named by EQ constraints on username (checked
 * to be plain names), or every home folder. NULL after a logged failure. */
static GPtrArray *wanted_users(const orchard_query_ctx *query, orchard_mac_source *src,
                               int *constrained)
{
    const orchard_host_api *host = orchard_agent_host;
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    *constrained = 0;
    for (size_t i = 0; i < host->ctx_count(query); i++) {
        const char *col, *expr;
        int op;
        host->ctx_get(query, i, &col, &op, &expr);
        if (op != ORCHARD_OP_EQ || strcmp(col, "username") != 0)
            continue;
        if (!expr || !*expr) { /* '' is the no-user row: needs the full scan */
            *constrained = 0;
            g_ptr_array_set_size(names, 0);
            break;
        }
        *constrained = 1;
        if (!strchr(expr, '/') && strcmp(expr, ".") != 0 && strcmp(expr, "..") != 0)
            g_ptr_array_add(names, g_strdup(expr));
    }
    if (*constrained)
        return names;
    g_ptr_array_unref(names);
    g_autofree char *err = NULL;
    if (orchard_mac_list_users(src, &names, &err) != 0) {
        agent_warn("%s", err);
        return g_ptr_array_new_with_free_func(g_free);
    }
    return names;
}

/* Rows for every wanted user with Nudge preferences; *found counts them. */
static int user_rows(orchard_rows *rows, const orchard_query_ctx *query, orchard_mac_source *src,
                     const nudge_config *cfg, const nudge_state *st, gint64 now, int *found,
                     int *constrained)
{
    GPtrArray *users = wanted_users(query, src, constrained);
    int rc = 0;
    *found = 0;
    for (guint i = 0; i < users->len && rc == 0; i++) {
        const char *name = g_ptr_array_index(users, i);
        g_autofree char *rel = g_strdup_printf("Users/%s/" USER_PREFS, name);
        g_autofree char *err = NULL;
        plist_t prefs = NULL;
        int r = orchard_mac_read_plist(src, rel, &prefs, &err);
        if (r == ORCHARD_ENOTFOUND)
            continue;
        if (r != 0) /* unreadable: still a user of Nudge, with unknown counts */
            agent_warn("%s", err);
        user_state u;
        read_user(&u, prefs);
        rc = add_row(rows, cfg, st, name, &u, now);
        g_free(u.defer_until);
        if (prefs)
            plist_free(prefs);
        (*found)++;
    }
    g_ptr_array_unref(users);
    return rc;
}

int nudge_generate(orchard_ctx *ctx, const orchard_query_ctx *query, orchard_rows *rows,
                   void *payload)
{
    (void)ctx;
    (void)payload;
    orchard_mac_source *src = orchard_mac_source_get(orchard_agent_host);
    nudge_config cfg = {.names = g_string_new(NULL)};
    nudge_state st = {0};
    int rc = 0, found = 0, constrained = 0;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;

    load_profile(&cfg, src);
    load_json(&cfg, src);
    if (cfg.n == 0)
        goto out; /* no Nudge configuration: no rows */
    st.os = os_version(src);
    requirement(&st, &cfg);
    rc = user_rows(rows, query, src, &cfg, &st, now, &found, &constrained);
    if (rc == 0 && found == 0 && !constrained) {
        user_state none = {0};
        rc = add_row(rows, &cfg, &st, "", &none, now);
    }
out:
    for (int i = 0; i < cfg.n; i++) {
        json_decref(cfg.sources[i]);
        g_free(cfg.source_names[i]);
    }
    g_string_free(cfg.names, TRUE);
    g_free(st.os);
    g_free(st.deadline_text);
    return rc;
}
