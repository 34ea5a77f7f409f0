/* Benchmark of the `nudge` table with 50 users (goal: one generate < 2 ms):
 * times orchard_table_generate through the registry, and as a labelled
 * baseline the same reads done naively with plistutil in a shell loop. */
#include "tables/agent.h"
#include "host/config.h"
#include "host/query/context.h"
#include "host/plugins/registry.h"
#include "host/query/rows.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <plist/plist.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define USERS 50
#define ITERATIONS 2000
#define BASELINE_RUNS 15
#define GOAL_MS 2.0
#define BEGIN_MARK "<!-- nudge:begin -->"
#define END_MARK "<!-- nudge:end -->"

typedef struct {
    double median, p95, min;
    int n;
} stats;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static stats summarize(double *ms, int n)
{
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    stats s = {ms[n / 2], ms[(int)(n * 0.95) < n ? (int)(n * 0.95) : n - 1], ms[0], n};
    return s;
}

static void write_file(const char *path, const char *data, size_t len)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_mkdir_with_parents(dir, 0755);
    if (!g_file_set_contents(path, data, (gssize)len, NULL)) {
        fprintf(stderr, "bench_nudge: cannot write %s\n", path);
        exit(1);
    }
}

/* One user's Nudge preferences, binary as cfprefsd writes them. */
static void write_user(const char *root, int i)
{
    g_autofree char *name = g_strdup_printf("user%02d", i);
    g_autofree char *path = g_build_filename(root, "Users", name, "Library", "Preferences",
                                             "com.github.macadmins.Nudge.plist", NULL);
    plist_t d = plist_new_dict();
    plist_dict_set_item(d, "userDeferrals", plist_new_uint((uint64_t)(i % 7)));
    plist_dict_set_item(d, "userQuitDeferrals", plist_new_uint((uint64_t)(i % 3)));
    plist_dict_set_item(d, "userSessionDeferrals", plist_new_uint((uint64_t)(i % 5)));
    plist_dict_set_item(d, "requiredMinimumOSVersion", plist_new_string("13.6"));
    if (i % 4 == 0)
        plist_dict_set_item(d, "deferRunUntil", plist_new_date(1714554000 - 978307200, 0));
    char *bin = NULL;
    uint32_t len = 0;
    plist_to_bin(d, &bin, &len);
    write_file(path, bin, len);
    plist_to_bin_free(bin);
    plist_free(d);
}

/* A Mac root: macOS 13.4.1, Fleet's Nudge JSON (deadline in 5 days), 50 users. */
static char *make_root(void)
{
    char *root = g_dir_make_tmp("orchard-bench-nudge-XXXXXX", NULL);
    static const char sysver[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>\n"
        "\t<key>ProductName</key>\n\t<string>macOS</string>\n"
        "\t<key>ProductVersion</key>\n\t<string>13.4.1</string>\n</dict>\n</plist>\n";
    g_autofree char *sv = g_build_filename(root, "System/Library/CoreServices/SystemVersion.plist",
                                           NULL);
    write_file(sv, sysver, sizeof sysver - 1);
    GDateTime *now = g_date_time_new_now_utc(), *dl = g_date_time_add_days(now, 5);
    g_autofree char *day = g_date_time_format(dl, "%Y-%m-%d");
    g_date_time_unref(dl);
    g_date_time_unref(now);
    g_autofree char *json = g_strdup_printf(
        "{\"osVersionRequirements\":[{\"requiredInstallationDate\":\"%sT20:00:00Z\","
        "\"requiredMinimumOSVersion\":\"13.6\",\"aboutUpdateURLs\":[{\"_language\":\"en\","
        "\"aboutUpdateURL\":\"https://fleetdm.com/docs/using-fleet/mdm-macos-updates\"}]}],"
        "\"userInterface\":{\"simpleMode\":true,\"showDeferralCount\":false,\"updateElements\":"
        "[{\"_language\":\"en\",\"actionButtonText\":\"Update\",\"mainHeader\":\"Your device "
        "requires an update\"}]},\"userExperience\":{\"initialRefreshCycle\":86400,"
        "\"approachingRefreshCycle\":86400,\"imminentRefreshCycle\":7200,"
        "\"elapsedRefreshCycle\":3600}}\n", day);
    g_autofree char *cfg = g_build_filename(root, "opt/orbit/nudge-config.json", NULL);
    write_file(cfg, json, strlen(json));
    for (int i = 0; i < USERS; i++)
        write_user(root, i);
    return root;
}

/* Time `iterations` generates of the nudge table; returns per-call ms stats. */
static stats time_generate(const orchard_table *nudge, int iterations, size_t *rows_seen)
{
    double *ms = g_new(double, iterations);
    orchard_query_ctx *ctx = orchard_query_ctx_new();
    for (int i = -50; i < iterations; i++) { /* 50 warm-up calls */
        orchard_rows *rows = NULL;
        gint64 t0 = g_get_monotonic_time();
        int rc = orchard_table_generate(nudge, ctx, &rows);
        gint64 t1 = g_get_monotonic_time();
        if (rc != 0) {
            fprintf(stderr, "bench_nudge: generate failed: %s\n",
                    rows ? orchard_rows_error(rows) : "?");
            exit(1);
        }
        *rows_seen = orchard_rows_count(rows);
        orchard_rows_free(rows);
        if (i >= 0)
            ms[i] = (double)(t1 - t0) / 1000.0;
    }
    orchard_query_ctx_free(ctx);
    stats s = summarize(ms, iterations);
    g_free(ms);
    return s;
}

/* The naive way: a shell loop running plistutil on every file, once per run. */
static int time_baseline(const char *root, stats *out)
{
    if (!g_file_test("/usr/bin/plistutil", G_FILE_TEST_IS_EXECUTABLE))
        return -1;
    static const char script[] =
        "cd \"$1\" || exit 1\n"
        "plistutil -i System/Library/CoreServices/SystemVersion.plist -o - -f xml"
        " | grep -A1 ProductVersion >/dev/null\n"
        "cat opt/orbit/nudge-config.json >/dev/null\n"
        "for f in Users/*/Library/Preferences/com.github.macadmins.Nudge.plist; do\n"
        "  plistutil -i \"$f\" -o - -f xml | grep -A1 -E 'userDeferrals|deferRunUntil' >/dev/null\n"
        "done\n";
    double ms[BASELINE_RUNS];
    for (int i = 0; i < BASELINE_RUNS; i++) {
        char *argv[] = {"/bin/sh", "-c", (char *)script, "baseline", (char *)root, NULL};
        int status = 0;
        gint64 t0 = g_get_monotonic_time();
        if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status,
                          NULL) || !g_spawn_check_wait_status(status, NULL))
            return -1;
        ms[i] = (double)(g_get_monotonic_time() - t0) / 1000.0;
    }
    *out = summarize(ms, BASELINE_RUNS);
    return 0;
}

static char *cpu_model(void)
{
    g_autofree char *info = NULL;
    char *model = NULL;
    if (g_file_get_contents("/proc/cpuinfo", &info, NULL, NULL)) {
        const char *p = strstr(info, "model name");
        const char *colon = p ? strchr(p, ':') : NULL;
        if (colon)
            model = g_strstrip(g_strndup(colon + 1, strcspn(colon + 1, "\n")));
    }
    return model ? model : g_strdup("unknown CPU");
}

static char *section_text(const stats *g, size_t rows, const stats *base, const char *build)
{
    g_autofree char *cpu = cpu_model();
    struct utsname u;
    uname(&u);
    GDateTime *now = g_date_time_new_now_utc();
    g_autofree char *when = g_date_time_format(now, "%Y-%m-%d %H:%M UTC");
    g_date_time_unref(now);
    GString *s = g_string_new(BEGIN_MARK " (bench/nudge/bench_nudge rewrites this section)\n");
    g_string_append_printf(s,
        "### nudge table, %d users\n\n"
        "`bench/nudge/bench_nudge` builds a Mac root in a temp dir (macOS 13.4.1, Fleet's\n"
        "Nudge JSON at opt/orbit/nudge-config.json, %d users each with a binary\n"
        "com.github.macadmins.Nudge.plist) and times `orchard_table_generate` of `nudge`\n"
        "through the registry (built-in agent plugin), %d calls after 50 warm-up calls.\n\n"
        "Measured %s on %ld CPU(s), %s (%s %s); build type %s.\n\n"
        "| metric | value | goal | meets it |\n|---|---:|---|---|\n"
        "| generate, median ms | %.3f | < %.0f ms | %s |\n"
        "| generate, p95 ms | %.3f |  |  |\n| generate, min ms | %.3f |  |  |\n"
        "| rows per generate | %zu | %d |  |\n",
        USERS, USERS, g->n, when, sysconf(_SC_NPROCESSORS_ONLN), cpu, u.sysname, u.release,
        build, g->median, GOAL_MS, g->median < GOAL_MS ? "yes" : "no", g->p95, g->min, rows,
        USERS);
    if (base)
        g_string_append_printf(s,
            "\n**Baseline (naive, not orchard):** the same reads as a shell loop, one\n"
            "`plistutil -i F -o - -f xml | grep` per user plist plus SystemVersion.plist, and\n"
            "`cat` of the JSON; %d runs: median %.1f ms, p95 %.1f ms (%.0fx the generate\n"
            "median). It parses but computes nothing, so it is a floor for a script, not a peer.\n",
            base->n, base->median, base->p95, base->median / g->median);
    else
        g_string_append(s, "\nBaseline (plistutil shell loop): skipped, /usr/bin/plistutil "
                           "is not installed (Debian package libplist-utils).\n");
    g_string_append(s, END_MARK "\n");
    return g_string_free(s, FALSE);
}

/* Replace the text between the markers, or append the section. */
static int update_results(const char *path, const char *section)
{
    g_autofree char *old = NULL;
    if (!g_file_get_contents(path, &old, NULL, NULL))
        old = g_strdup("");
    const char *b = strstr(old, BEGIN_MARK), *e = b ? strstr(b, END_MARK) : NULL;
    g_autofree char *text = NULL;
    if (b && e) {
        const char *after = e + strlen(END_MARK);
        after += *after == '\n';
        text = g_strdup_printf("%.*s%s%s", (int)(b - old), old, section, after);
    } else {
        size_t n = strlen(old);
        text = g_strdup_printf("%s%s\n%s", old, n && old[n - 1] != '\n' ? "\n" : "", section);
    }
    return g_file_set_contents(path, text, -1, NULL) ? 0 : -1;
}

static const orchard_table *nudge_table(orchard_registry *reg, const char *root)
{
    char *err = NULL;
    if (orchard_registry_add_builtin(reg, orchard_agent_plugin_entry, &err) != 0) {
        fprintf(stderr, "bench_nudge: %s\n", err ? err : "agent plugin");
        exit(1);
    }
    orchard_config_set(orchard_config_global(), "agent.root", root);
    orchard_config_set(orchard_config_global(), "agent.profiles_bin", "/nonexistent/profiles");
    const orchard_table *t = orchard_registry_find_table(reg, "nudge");
    if (!t) {
        fprintf(stderr, "bench_nudge: no nudge table\n");
        exit(1);
    }
    return t;
}

int main(int argc, char **argv)
{
    const char *results = NULL, *build = "unknown";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--results") == 0)
            results = argv[i + 1];
        else if (strcmp(argv[i], "--build-type") == 0)
            build = argv[i + 1];
    }
    g_autofree char *root = make_root();
    orchard_registry *reg = orchard_registry_new();
    size_t rows = 0;
    stats g = time_generate(nudge_table(reg, root), ITERATIONS, &rows);
    stats base;
    int have_base = time_baseline(root, &base) == 0;
    g_autofree char *section = section_text(&g, rows, have_base ? &base : NULL, build);
    fputs(section, stdout);
    orchard_registry_free(reg);
    char *rm[] = {"rm", "-rf", root, NULL};
    g_spawn_sync(NULL, rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    if (results && update_results(results, section) != 0) {
        fprintf(stderr, "bench_nudge: cannot update %s\n", results);
        return 1;
    }
    return rows == USERS ? 0 : 1;
}
