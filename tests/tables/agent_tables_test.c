/* The agent tables (mdm, macos_profiles, nudge) against the Mac roots in
 * tests/fixtures/mac/: the real `orchard query --root --profiles_bin` and
 * osquery's generate call (orchard_ext_call) must give the same rows. */
#include "tables/agent.h"
#include "host/config.h"
#include "extension/ext_call.h"
#include "host/plugins/registry.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <plist/plist.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define FIXTURES SOURCE_DIR "/tests/fixtures/mac"
#define DAY ((gint64)86400)
#define HOUR ((gint64)3600)
#define MANAGED_NUDGE "Library/Managed Preferences/com.github.macadmins.Nudge.plist"
#define PREFS_NUDGE_JSON "Library/Preferences/com.github.macadmins.Nudge.json"
#define ORBIT_NUDGE_JSON "opt/orbit/nudge-config.json"
#define SCEP_UUID "B2D4C1E0-6A2F-4B8D-9E3C-5F1A7D2C4E60"

static orchard_registry *reg;

/* ---------------------------------------------------------------- cases */

/* A fixture case copied into a temp dir, its templates filled. */
typedef struct {
    char *tmp;  /* the temp dir (removed by case_close) */
    char *root; /* tmp/root */
    char *bin;  /* the case's fake `profiles` (in the source tree) */
} mac_case;

static int run_argv(char **argv)
{
    int status = 0;
    GSpawnFlags flags = G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL;
    if (!g_spawn_sync(NULL, argv, NULL, flags, NULL, NULL, NULL, NULL, &status, NULL))
        return -1;
    return g_spawn_check_wait_status(status, NULL) ? 0 : -1;
}

static char *file_text(const char *path)
{
    char *text = NULL;
    return g_file_get_contents(path, &text, NULL, NULL) ? text : NULL;
}

static void write_file(const char *path, const char *data, gssize len)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_mkdir_with_parents(dir, 0755);
    CU_ASSERT_TRUE(g_file_set_contents(path, data, len, NULL));
}

/* Every `X.in` under dir becomes X with @DEADLINE@ replaced. */
static void fill_templates(const char *dir, const char *deadline)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
            fill_templates(path, deadline);
        } else if (g_str_has_suffix(path, ".in")) {
            g_autofree char *text = file_text(path);
            g_auto(GStrv) parts = g_strsplit(text ? text : "", "@DEADLINE@", -1);
            g_autofree char *filled = g_strjoinv(deadline, parts);
            g_autofree char *out = g_strndup(path, strlen(path) - 3);
            write_file(out, filled, -1);
            g_unlink(path);
        }
    }
    if (d)
        g_dir_close(d);
}

static mac_case *case_open(const char *name, const char *deadline)
{
    mac_case *c = g_new0(mac_case, 1);
    c->tmp = g_dir_make_tmp("orchard-agent-XXXXXX", NULL);
    c->root = g_build_filename(c->tmp, "root", NULL);
    c->bin = g_build_filename(FIXTURES, name, "profiles", NULL);
    g_autofree char *src = g_build_filename(FIXTURES, name, "root", NULL);
    char *argv[] = {"cp", "-a", src, c->root, NULL};
    CU_ASSERT_EQUAL(run_argv(argv), 0);
    fill_templates(c->root, deadline ? deadline : "2000-01-01T00:00:00Z");
    return c;
}

static void case_close(mac_case *c)
{
    char *argv[] = {"rm", "-rf", c->tmp, NULL};
    run_argv(argv);
    g_free(c->tmp);
    g_free(c->root);
    g_free(c->bin);
    g_free(c);
}

/* Path of `rel` under the case's root. g_free. */
static char *case_path(const mac_case *c, const char *rel)
{
    return g_build_filename(c->root, rel, NULL);
}

static void case_write(const mac_case *c, const char *rel, const char *data, gssize len)
{
    g_autofree char *path = case_path(c, rel);
    write_file(path, data, len);
}

/* A fake `profiles` script `name` in the case's temp dir; sets c->bin. */
static void case_script(mac_case *c, const char *name, const char *body)
{
    g_free(c->bin);
    c->bin = g_build_filename(c->tmp, name, NULL);
    g_autofree char *text = g_strdup_printf("#!/bin/sh\n%s\n", body);
    write_file(c->bin, text, -1);
    g_chmod(c->bin, 0755);
}

/* "YYYY-MM-DDTHH:MM:SSZ" of a Unix time. g_free. */
static char *utc_text(gint64 t)
{
    GDateTime *dt = g_date_time_new_from_unix_utc(t);
    char *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
    g_date_time_unref(dt);
    return s;
}

static gint64 now_s(void) { return g_get_real_time() / G_USEC_PER_SEC; }

/* Fleet's deadline: "<date>T20:00:00Z", `days` UTC days from today. */
static gint64 fleet_deadline(int days)
{
    GDateTime *now = g_date_time_new_now_utc();
    GDateTime *d = g_date_time_new_utc(g_date_time_get_year(now), g_date_time_get_month(now),
                                       g_date_time_get_day_of_month(now), 20, 0, 0);
    gint64 t = g_date_time_to_unix(d) + days * DAY;
    g_date_time_unref(d);
    g_date_time_unref(now);
    return t;
}

/* ------------------------------------------------------------- queries */

typedef GPtrArray rowset; /* of GHashTable: column -> text; NULL is a missing key */

static GHashTable *row_new(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

static rowset *rowset_new(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify)g_hash_table_unref);
}

/* `orchard query --json` rows as strings, as osquery's wire carries them. */
static rowset *rows_from_json(json_t *arr)
{
    rowset *rs = rowset_new();
    size_t i;
    json_t *obj;
    json_array_foreach(arr, i, obj) {
        GHashTable *row = row_new();
        const char *key;
        json_t *v;
        json_object_foreach(obj, key, v) {
            char *text = json_is_string(v)    ? g_strdup(json_string_value(v))
                         : json_is_integer(v) ? g_strdup_printf("%" JSON_INTEGER_FORMAT,
                                                                json_integer_value(v))
                         : json_is_real(v)    ? g_strdup_printf("%g", json_real_value(v))
                                              : NULL;
            if (text)
                g_hash_table_insert(row, g_strdup(key), text);
        }
        g_ptr_array_add(rs, row);
    }
    return rs;
}

typedef struct {
    int status;   /* exit status, -1 when it did not exit */
    rowset *rows; /* NULL when stdout was not a JSON array */
    char *err;    /* stderr */
    double secs;
} query_out;

static void query_out_clear(query_out *q)
{
    if (q->rows)
        g_ptr_array_unref(q->rows);
    g_free(q->err);
    memset(q, 0, sizeof *q);
}

/* Run `orchard query --root --profiles_bin --json SQL` (envp NULL: inherit). */
static query_out run_query_env(const mac_case *c, const char *sql, char **envp)
{
    char *argv[] = {ORCHARD_BIN, "query", "--root", c->root, "--profiles_bin", c->bin,
                    "--json", (char *)sql, NULL};
    query_out q = {.status = -1};
    g_autofree char *out = NULL;
    int status = 0;
    gint64 t0 = g_get_monotonic_time();
    if (g_spawn_sync(NULL, argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &out, &q.err, &status,
                     NULL))
        q.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    q.secs = (double)(g_get_monotonic_time() - t0) / 1e6;
    json_t *arr = out ? json_loads(out, 0, NULL) : NULL;
    if (json_is_array(arr))
        q.rows = rows_from_json(arr);
    json_decref(arr);
    if (q.status != 0 || !q.rows)
        fprintf(stderr, "\n  orchard query \"%s\": status %d, stderr:\n%s\n", sql, q.status,
                q.err ? q.err : "");
    return q;
}

static query_out run_query(const mac_case *c, const char *sql)
{
    return run_query_env(c, sql, NULL);
}

/* osquery's call("table", T, {action: generate, context}) in-process. */
static rowset *generate_rows(const mac_case *c, const char *table, const char *context)
{
    orchard_config_set(orchard_config_global(), "agent.root", c->root);
    orchard_config_set(orchard_config_global(), "agent.profiles_bin", c->bin);
    GHashTable *req = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(req, "action", "generate");
    g_hash_table_insert(req, "context", (gpointer)(context ? context : "{}"));
    osqueryExtensionResponse *resp = g_object_new(OSQUERY_TYPE_EXTENSION_RESPONSE, NULL);
    orchard_ext_call(reg, "table", table, req, resp);
    g_hash_table_destroy(req);
    CU_ASSERT_EQUAL(resp->status->code, 0);
    if (resp->status->code != 0)
        fprintf(stderr, "\n  generate %s: %s\n", table, resp->status->message);
    rowset *rs = rowset_new();
    for (guint i = 0; i < resp->response->len; i++) {
        GHashTable *row = row_new(), *wire = g_ptr_array_index(resp->response, i);
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, wire);
        while (g_hash_table_iter_next(&it, &k, &v))
            g_hash_table_insert(row, g_strdup(k), g_strdup(v));
        g_ptr_array_add(rs, row);
    }
    g_object_unref(resp);
    return rs;
}

/* Values equal; seconds_remaining may differ by the seconds between the two
 * runs, and so hours_remaining (or days_remaining, at midnight) by one when a
 * boundary falls between them (2026-11-27: seen under ASan). */
static int value_match(const char *key, const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    long long d = llabs(g_ascii_strtoll(a, NULL, 10) - g_ascii_strtoll(b, NULL, 10));
    if (strcmp(key, "seconds_remaining") == 0)
        return d <= 10;
    if (strcmp(key, "hours_remaining") == 0 || strcmp(key, "days_remaining") == 0)
        return d <= 1;
    return strcmp(a, b) == 0;
}

static int row_match(GHashTable *a, GHashTable *b, guint index)
{
    int ok = g_hash_table_size(a) == g_hash_table_size(b);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, a);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const char *other = g_hash_table_lookup(b, k);
        if (!value_match(k, v, other)) {
            fprintf(stderr, "\n  row %u %s: binary '%s', generate '%s'\n", index,
                    (char *)k, (char *)v, other ? other : "(NULL)");
            ok = 0;
        }
    }
    return ok;
}

static void assert_same_rows(const rowset *bin, const rowset *gen, const char *what)
{
    int ok = bin->len == gen->len;
    if (!ok)
        fprintf(stderr, "\n  %s: %u rows from the binary, %u from generate\n", what, bin->len,
                gen->len);
    for (guint i = 0; ok && i < bin->len; i++)
        ok = row_match(g_ptr_array_index(bin, i), g_ptr_array_index(gen, i), i);
    CU_ASSERT_TRUE(ok);
}

/* `select * from T` through the binary and through generate: same rows.
 * Returns the binary's output (query_out_clear it). */
static query_out query_both(const mac_case *c, const char *table)
{
    g_autofree char *sql = g_strdup_printf("select * from %s", table);
    query_out q = run_query(c, sql);
    CU_ASSERT_EQUAL(q.status, 0);
    if (!q.rows)
        q.rows = rowset_new();
    rowset *gen = generate_rows(c, table, "{}");
    assert_same_rows(q.rows, gen, table);
    g_ptr_array_unref(gen);
    return q;
}

/* Warning lines of stderr that contain `needle`. */
static int count_warnings(const char *err, const char *needle)
{
    g_auto(GStrv) lines = g_strsplit(err ? err : "", "\n", -1);
    int n = 0;
    for (int i = 0; lines[i]; i++)
        n += strstr(lines[i], " W ") && strstr(lines[i], needle);
    return n;
}

static void expect_warnings(const query_out *q, const char *needle, int n)
{
    int got = count_warnings(q->err, needle);
    if (got != n)
        fprintf(stderr, "\n  %d warning(s) naming '%s' (want %d); stderr:\n%s\n", got, needle,
                n, q->err ? q->err : "");
    CU_ASSERT_EQUAL(got, n);
}

/* ------------------------------------------------------------ expected */

typedef struct {
    const char *key, *value; /* value NULL: SQL NULL */
} kv;

static void expect_row(GHashTable *row, const kv *want, size_t n, const char *what)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    for (size_t i = 0; i < n; i++) {
        const char *got = g_hash_table_lookup(row, want[i].key);
        int ok = want[i].value ? got && strcmp(got, want[i].value) == 0 : got == NULL;
        if (!ok)
            fprintf(stderr, "\n  %s: %s is '%s', want '%s'\n", what, want[i].key,
                    got ? got : "(NULL)", want[i].value ? want[i].value : "(NULL)");
        CU_ASSERT_TRUE(ok);
    }
}

#define EXPECT_ROW(row, what, ...)                                   \
    do {                                                             \
        const kv want_[] = {__VA_ARGS__};                            \
        expect_row(row, want_, G_N_ELEMENTS(want_), what);           \
    } while (0)

static const char *cell(GHashTable *row, const char *key)
{
    return row ? g_hash_table_lookup(row, key) : NULL;
}

static GHashTable *find_row(const rowset *rs, const char *key, const char *value)
{
    for (guint i = 0; rs && i < rs->len; i++) {
        const char *v = cell(g_ptr_array_index(rs, i), key);
        if (v && strcmp(v, value) == 0)
            return g_ptr_array_index(rs, i);
    }
    fprintf(stderr, "\n  no row with %s = '%s'\n", key, value);
    return NULL;
}

static void expect_contains(const char *haystack, const char *needle, int want)
{
    int got = haystack && strstr(haystack, needle);
    if (got != want)
        fprintf(stderr, "\n  '%s' %s '%s'\n", haystack ? haystack : "(NULL)",
                want ? "lacks" : "contains", needle);
    CU_ASSERT_EQUAL(got, want);
}

/* Nudge's timing for a deadline: docs/protocols.md §3 with the given cycles
 * {initial, approaching, imminent, elapsed} and window hours. */
typedef struct {
    gint64 deadline;
    int cycles[4];
    int approaching_h, imminent_h;
    int dismissible; /* what the user's deferrals allow before the deadline */
} nudge_timing;

static const int nudge_defaults[4] = {18000, 6000, 600, 300};
static const int fleet_cycles[4] = {86400, 86400, 7200, 3600};

static int phase_index(gint64 s, const nudge_timing *t)
{
    return s <= 0 ? 3 : s <= t->imminent_h * HOUR ? 2 : s <= t->approaching_h * HOUR ? 1 : 0;
}

static int local_days_until(gint64 deadline)
{
    GDateTime *now = g_date_time_new_now_local();
    GDateTime *dl = g_date_time_new_from_unix_local(deadline);
    GDate *a = g_date_new_dmy((GDateDay)g_date_time_get_day_of_month(now),
                              (GDateMonth)g_date_time_get_month(now),
                              (GDateYear)g_date_time_get_year(now));
    GDate *b = g_date_new_dmy((GDateDay)g_date_time_get_day_of_month(dl),
                              (GDateMonth)g_date_time_get_month(dl),
                              (GDateYear)g_date_time_get_year(dl));
    int days = g_date_days_between(a, b);
    g_date_free(a);
    g_date_free(b);
    g_date_time_unref(now);
    g_date_time_unref(dl);
    return days;
}

static void expect_timing(GHashTable *row, const nudge_timing *t, const char *what)
{
    static const char *phases[] = {"initial", "approaching", "imminent", "elapsed"};
    gint64 s = t->deadline - now_s();
    int p = phase_index(s, t);
    g_autofree char *date = utc_text(t->deadline);
    g_autofree char *hours = g_strdup_printf("%" G_GINT64_FORMAT, s / HOUR);
    g_autofree char *days = g_strdup_printf("%d", local_days_until(t->deadline));
    g_autofree char *cycle = g_strdup_printf("%d", t->cycles[p]);
    g_autofree char *aw = g_strdup_printf("%d", t->approaching_h);
    g_autofree char *iw = g_strdup_printf("%d", t->imminent_h);
    EXPECT_ROW(row, what, {"required_installation_date", date}, {"hours_remaining", hours},
               {"days_remaining", days}, {"phase", phases[p]}, {"refresh_cycle", cycle},
               {"dismissible", p == 3 || !t->dismissible ? "0" : "1"},
               {"approaching_window_time", aw}, {"imminent_window_time", iw});
    const char *sr = cell(row, "seconds_remaining");
    CU_ASSERT_TRUE(sr && llabs(g_ascii_strtoll(sr, NULL, 10) - s) <= 10);
}

/* ----------------------------------------------------------------- mdm */

static GHashTable *only_row(const query_out *q)
{
    CU_ASSERT_EQUAL(q->rows->len, 1);
    return q->rows->len == 1 ? g_ptr_array_index(q->rows, 0) : NULL;
}

static void expect_manual_enrollment(GHashTable *row, const char *what)
{
    EXPECT_ROW(row, what, {"enrolled", "true"},
               {"server_url", "https://fleet.example.com/mdm/apple/mdm"},
               {"checkin_url", "https://fleet.example.com/mdm/apple/mdm"},
               {"access_rights", "8191"}, {"install_date", "2023-03-31 01:14:38 +0000"},
               {"payload_identifier", "com.fleetdm.fleet.mdm.apple"},
               {"topic", "com.apple.mgmt.External.e3b8ceac-1f18-2c8e-8a63-dd17d99435d9"},
               {"sign_message", "true"}, {"identity_certificate_uuid", SCEP_UUID},
               {"has_scep_payload", "true"}, {"installed_from_dep", "false"},
               {"user_approved", "true"}, {"dep_capable", "false"});
}

static void test_mdm__enrolled_manual(void)
{
    mac_case *c = case_open("enrolled_manual", NULL);
    query_out q = query_both(c, "mdm");
    GHashTable *row = only_row(&q);
    CU_ASSERT_EQUAL(row ? g_hash_table_size(row) : 0, 13);
    expect_manual_enrollment(row, "enrolled_manual");
    expect_warnings(&q, "", 0);
    query_out_clear(&q);
    case_close(c);
}

static void test_mdm__enrolled_dep(void)
{
    mac_case *c = case_open("enrolled_dep", NULL);
    query_out q = query_both(c, "mdm");
    EXPECT_ROW(only_row(&q), "enrolled_dep", {"enrolled", "true"},
               {"server_url", "https://dogfood.fleetdm.com/mdm/apple/mdm"},
               {"checkin_url", "https://dogfood.fleetdm.com/mdm/apple/mdm"},
               {"access_rights", "8191"}, {"install_date", "2023-07-12 16:02:11 +0000"},
               {"payload_identifier", "com.fleetdm.fleet.mdm.apple"},
               {"topic", "com.apple.mgmt.External.1b7c3e5a-9f2d-4d6e-8a0b-2c4f6e8a0b1d"},
               {"sign_message", "false"}, {"identity_certificate_uuid", SCEP_UUID},
               {"has_scep_payload", "true"}, {"installed_from_dep", "true"},
               {"user_approved", "true"}, {"dep_capable", "true"});
    query_out_clear(&q);

    /* Without the cloud-config record files, `profiles show -type enrollment`
     * printing a DEP configuration says the same. */
    g_autofree char *found =
        case_path(c, "private/var/db/ConfigurationProfiles/Settings/.cloudConfigRecordFound");
    g_unlink(found);
    q = query_both(c, "mdm");
    EXPECT_ROW(only_row(&q), "enrolled_dep, from profiles show", {"dep_capable", "true"});
    query_out_clear(&q);
    case_close(c);
}

static void test_mdm__not_enrolled(void)
{
    mac_case *c = case_open("not_enrolled", NULL);
    query_out q = query_both(c, "mdm");
    EXPECT_ROW(only_row(&q), "not_enrolled", {"enrolled", "false"}, {"server_url", NULL},
               {"checkin_url", NULL}, {"access_rights", NULL}, {"payload_identifier", NULL},
               {"topic", NULL}, {"identity_certificate_uuid", NULL},
               {"installed_from_dep", "false"}, {"user_approved", "false"},
               {"dep_capable", "false"});
    /* Fleet's detail query */
    query_out_clear(&q);
    q = run_query(c, "select enrolled, server_url, installed_from_dep, payload_identifier "
                     "from mdm");
    CU_ASSERT_EQUAL(q.status, 0);
    if (q.rows)
        EXPECT_ROW(only_row(&q), "fleet detail query", {"enrolled", "false"},
                   {"installed_from_dep", "false"});
    query_out_clear(&q);
    case_close(c);
}

static void test_mdm__no_scep_payload(void)
{
    mac_case *c = case_open("no_scep_payload", NULL);
    query_out q = query_both(c, "mdm");
    GHashTable *row = only_row(&q);
    EXPECT_ROW(row, "no_scep_payload", {"enrolled", "true"},
               {"server_url", "https://mdm.example.org/mdm/apple/mdm"},
               {"access_rights", "4095"}, {"payload_identifier", "org.example.mdm.enroll"},
               {"identity_certificate_uuid", "7E1D2C3B-4A59-4687-9A0B-1C2D3E4F5A6B"},
               {"install_date", "2022-11-08 09:41:00 +0000"}, {"has_scep_payload", "false"},
               {"installed_from_dep", "false"}, {"user_approved", "false"});
    /* no record files, and `profiles show` prints "(null)": not "true" */
    const char *dep = cell(row, "dep_capable");
    CU_ASSERT_TRUE(dep && (strcmp(dep, "false") == 0 || strcmp(dep, "unknown") == 0));
    query_out_clear(&q);
    case_close(c);
}

static void test_mdm__several_profiles(void)
{
    mac_case *c = case_open("several_profiles", NULL);
    query_out q = query_both(c, "mdm");
    expect_manual_enrollment(only_row(&q), "several_profiles");
    query_out_clear(&q);
    case_close(c);
}

/* `profiles -C` runs once for a query that reads both mdm and macos_profiles. */
static void test_mdm__profiles_cached(void)
{
    mac_case *c = case_open("several_profiles", NULL);
    g_autofree char *body = g_strdup_printf(
        "echo \"$*\" >> '%s/calls'\nexec /bin/sh '%s/fake_profiles.sh' '%s/several_profiles/"
        "recorded' \"$@\"", c->tmp, FIXTURES, FIXTURES);
    case_script(c, "counting_profiles", body);
    query_out q = run_query(c, "select (select count(*) from macos_profiles) as n, "
                               "(select enrolled from mdm) as e, "
                               "(select count(*) from macos_profiles) as n2");
    CU_ASSERT_EQUAL(q.status, 0);
    if (q.rows)
        EXPECT_ROW(only_row(&q), "cached", {"n", "4"}, {"e", "true"}, {"n2", "4"});
    g_autofree char *calls_path = g_build_filename(c->tmp, "calls", NULL);
    g_autofree char *calls = file_text(calls_path);
    g_auto(GStrv) lines = g_strsplit(calls ? calls : "", "\n", -1);
    int n = 0;
    for (int i = 0; lines[i]; i++)
        n += strcmp(lines[i], "-C -o stdout-xml") == 0;
    CU_ASSERT_EQUAL(n, 1);
    query_out_clear(&q);
    case_close(c);
}

/* ------------------------------------------------------ macos_profiles */

static int is_hex64(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!g_ascii_isxdigit(s[i]))
            return 0;
    return 1;
}

static void test_profiles__several(void)
{
    mac_case *c = case_open("several_profiles", NULL);
    query_out q = query_both(c, "macos_profiles");
    CU_ASSERT_EQUAL(q.rows->len, 4);
    EXPECT_ROW(find_row(q.rows, "identifier", "com.fleetdm.fleet.mdm.apple"), "enrollment",
               {"install_date", "2023-03-31 01:14:38 +0000"},
               {"display_name", "Example Inc. enrollment"},
               {"description", "Enrolls your Mac with Example Inc.'s MDM server"},
               {"verification_state", "verified"},
               {"uuid", "5FDE1C20-8D8B-4F6A-9A7E-0B1D2C3E4F50"}, {"organization", "Example Inc."},
               {"type", "Configuration"});
    EXPECT_ROW(find_row(q.rows, "identifier", "com.fleetdm.fleet.mdm.filevault"), "filevault",
               {"install_date", "2023-04-10 18:22:47 +0000"}, {"display_name", "Disk encryption"},
               {"description", ""}, {"uuid", "E9D8C7B6-A5F4-4E3D-9C2B-1A0F9E8D7C6B"},
               {"type", "Configuration"});
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < q.rows->len; i++) {
        const char *sum = cell(g_ptr_array_index(q.rows, i), "payload_checksum");
        CU_ASSERT_TRUE(is_hex64(sum));
        if (sum)
            g_hash_table_add(seen, (gpointer)sum);
    }
    CU_ASSERT_EQUAL(g_hash_table_size(seen), 4);
    g_hash_table_destroy(seen);
    query_out_clear(&q);
    case_close(c);
}

static void test_profiles__not_enrolled(void)
{
    mac_case *c = case_open("not_enrolled", NULL);
    query_out q = query_both(c, "macos_profiles");
    EXPECT_ROW(only_row(&q), "not_enrolled", {"identifier", "com.example.munki"},
               {"verification_state", "unsigned"}, {"display_name", "Munki settings"});
    query_out_clear(&q);
    case_close(c);
}

/* Fleet's query: double-quoted "Configuration", as Fleet sends it. */
static void test_profiles__fleet_query(void)
{
    mac_case *c = case_open("several_profiles", NULL);
    query_out q = run_query(c, "SELECT display_name, identifier, install_date FROM "
                               "macos_profiles where type = \"Configuration\";");
    CU_ASSERT_EQUAL(q.status, 0);
    CU_ASSERT_EQUAL(q.rows ? q.rows->len : 0, 4);
    if (q.rows)
        EXPECT_ROW(find_row(q.rows, "identifier", "com.example.firewall"), "firewall",
                   {"display_name", "Firewall"}, {"install_date", "2023-05-01 07:30:00 +0000"});
    query_out_clear(&q);
    case_close(c);
}

/* Checksums of a copy of several_profiles' recording after `edit`. */
static GHashTable *checksums_after(const char *from, const char *to)
{
    mac_case *c = case_open("several_profiles", NULL);
    g_autofree char *src = g_build_filename(FIXTURES, "several_profiles", "recorded",
                                            "computer.xml", NULL);
    g_autofree char *text = file_text(src);
    g_auto(GStrv) parts = g_strsplit(text ? text : "", from, -1);
    CU_ASSERT_EQUAL(g_strv_length(parts), 2);
    g_autofree char *edited = g_strjoinv(to, parts);
    g_autofree char *dst = g_build_filename(c->tmp, "recorded", "computer.xml", NULL);
    write_file(dst, edited, -1);
    g_autofree char *body = g_strdup_printf(
        "exec /bin/sh '%s/fake_profiles.sh' '%s/recorded' \"$@\"", FIXTURES, c->tmp);
    case_script(c, "edited_profiles", body);
    query_out q = query_both(c, "macos_profiles");
    GHashTable *sums = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (guint i = 0; i < q.rows->len; i++) {
        GHashTable *row = g_ptr_array_index(q.rows, i);
        const char *id = cell(row, "identifier"), *sum = cell(row, "payload_checksum");
        if (id && sum)
            g_hash_table_insert(sums, g_strdup(id), g_strdup(sum));
    }
    query_out_clear(&q);
    case_close(c);
    return sums;
}

static int same_sum(GHashTable *a, GHashTable *b, const char *id)
{
    const char *x = g_hash_table_lookup(a, id), *y = g_hash_table_lookup(b, id);
    return x && y && strcmp(x, y) == 0;
}

static void test_profiles__checksum_changes(void)
{
    /* base: an edit that changes nothing */
    GHashTable *base = checksums_after("2023-05-01 07:30:00 +0000", "2023-05-01 07:30:00 +0000");
    GHashTable *payload = checksums_after("<string>On</string>", "<string>Off</string>");
    GHashTable *date = checksums_after("2023-04-10 18:22:47 +0000", "2024-01-02 03:04:05 +0000");
    CU_ASSERT_EQUAL(g_hash_table_size(base), 4);
    /* a payload value changed: that profile's checksum changes, no other */
    CU_ASSERT_FALSE(same_sum(base, payload, "com.fleetdm.fleet.mdm.filevault"));
    CU_ASSERT_TRUE(same_sum(base, payload, "com.fleetdm.fleet.mdm.apple"));
    CU_ASSERT_TRUE(same_sum(base, payload, "com.example.firewall"));
    CU_ASSERT_TRUE(same_sum(base, payload, "com.fleetdm.fleetd.config"));
    /* the install date is not part of ProfileItems */
    CU_ASSERT_TRUE(same_sum(base, date, "com.fleetdm.fleet.mdm.filevault"));
    g_hash_table_destroy(base);
    g_hash_table_destroy(payload);
    g_hash_table_destroy(date);
}

/* --------------------------------------------------------------- nudge */

static mac_case *nudge_case(const char *name, gint64 deadline)
{
    g_autofree char *text = utc_text(deadline);
    return case_open(name, text);
}

static void test_nudge__json_only(void)
{
    gint64 deadline = fleet_deadline(10);
    mac_case *c = nudge_case("nudge_json_only", deadline);
    query_out q = query_both(c, "nudge");
    GHashTable *row = only_row(&q);
    EXPECT_ROW(row, "json_only", {"username", ""}, {"required_minimum_os_version", "13.6"},
               {"os_version", "13.4.1"}, {"compliant", "0"}, {"user_deferrals", "0"},
               {"user_quit_deferrals", "0"}, {"user_session_deferrals", "0"},
               {"allowed_deferrals", "1000000"}, {"defer_run_until", NULL});
    nudge_timing t = {deadline, {0}, 72, 24, 1};
    memcpy(t.cycles, fleet_cycles, sizeof t.cycles);
    expect_timing(row, &t, "json_only");
    expect_contains(cell(row, "config_source"), PREFS_NUDGE_JSON, 1);
    expect_contains(cell(row, "config_source"), ";", 0);
    expect_warnings(&q, "", 0);
    query_out_clear(&q);
    case_close(c);
}

/* Fleet's generated config: the seed's promise for each side of the deadline. */
static void test_nudge__fleet_phases(void)
{
    static const gint64 offsets[] = {10 * DAY + 1800, 2 * DAY + 1800, 12 * HOUR + 1800,
                                     -(DAY + 1800)};
    static const char *phases[] = {"initial", "approaching", "imminent", "elapsed"};
    static const char *cycles[] = {"86400", "86400", "7200", "3600"};
    for (size_t i = 0; i < G_N_ELEMENTS(offsets); i++) {
        gint64 deadline = now_s() + offsets[i];
        mac_case *c = nudge_case("nudge_json_only", deadline);
        query_out q = query_both(c, "nudge");
        GHashTable *row = only_row(&q);
        EXPECT_ROW(row, phases[i], {"phase", phases[i]}, {"refresh_cycle", cycles[i]},
                   {"dismissible", i == 3 ? "0" : "1"});
        nudge_timing t = {deadline, {0}, 72, 24, 1};
        memcpy(t.cycles, fleet_cycles, sizeof t.cycles);
        expect_timing(row, &t, phases[i]);
        query_out_clear(&q);
        case_close(c);
    }
}

static void test_nudge__profile_only(void)
{
    gint64 deadline = now_s() + 2 * DAY + 1800; /* approaching, with Nudge's defaults */
    mac_case *c = nudge_case("nudge_profile_only", deadline);
    query_out q = query_both(c, "nudge");
    CU_ASSERT_EQUAL(q.rows->len, 2);
    nudge_timing t = {deadline, {0}, 72, 24, 0};
    memcpy(t.cycles, nudge_defaults, sizeof t.cycles);
    GHashTable *alice = find_row(q.rows, "username", "alice");
    /* 7 deferrals > allowedDeferrals 5: can't be dismissed */
    EXPECT_ROW(alice, "alice", {"user_deferrals", "7"}, {"user_quit_deferrals", "2"},
               {"user_session_deferrals", "1"}, {"allowed_deferrals", "5"},
               {"required_minimum_os_version", "13.6"}, {"phase", "approaching"},
               {"refresh_cycle", "6000"}, {"dismissible", "0"});
    expect_timing(alice, &t, "alice");
    GHashTable *bob = find_row(q.rows, "username", "bob");
    EXPECT_ROW(bob, "bob", {"user_deferrals", "2"}, {"dismissible", "1"});
    t.dismissible = 1;
    expect_timing(bob, &t, "bob");
    expect_contains(cell(alice, "config_source"), MANAGED_NUDGE, 1);
    expect_contains(cell(alice, "config_source"), ";", 0);
    query_out_clear(&q);
    case_close(c);
}

/* Profile's requirement, the JSON's refresh cycles (merged per key). */
static void test_nudge__both(void)
{
    gint64 deadline = now_s() + 12 * HOUR + 1800;
    mac_case *c = nudge_case("nudge_both", deadline);
    query_out q = query_both(c, "nudge");
    GHashTable *row = only_row(&q);
    EXPECT_ROW(row, "both", {"username", ""}, {"required_minimum_os_version", "13.6.1"},
               {"phase", "imminent"}, {"refresh_cycle", "7200"}, {"dismissible", "1"});
    nudge_timing t = {deadline, {0}, 72, 24, 1};
    memcpy(t.cycles, fleet_cycles, sizeof t.cycles);
    expect_timing(row, &t, "both");
    const char *src = cell(row, "config_source");
    const char *m = src ? strstr(src, MANAGED_NUDGE) : NULL;
    const char *j = src ? strstr(src, PREFS_NUDGE_JSON) : NULL;
    CU_ASSERT_TRUE(m && j && m < j && strchr(m, ';') && strchr(m, ';') < j);
    query_out_clear(&q);
    case_close(c);
}

static void test_nudge__several_users(void)
{
    gint64 deadline = now_s() + 5 * DAY + 1800;
    mac_case *c = nudge_case("several_users", deadline);
    query_out q = query_both(c, "nudge");
    CU_ASSERT_EQUAL(q.rows->len, 3); /* not dave (no Nudge prefs), .hidden, Shared */
    nudge_timing t = {deadline, {0}, 72, 24, 1};
    memcpy(t.cycles, fleet_cycles, sizeof t.cycles);
    GHashTable *alice = find_row(q.rows, "username", "alice");
    EXPECT_ROW(alice, "alice", {"user_deferrals", "3"}, {"user_quit_deferrals", "1"},
               {"user_session_deferrals", "2"}, {"defer_run_until", NULL}, {"phase", "initial"});
    expect_timing(alice, &t, "alice");
    expect_contains(cell(alice, "config_source"), ORBIT_NUDGE_JSON, 1);
    EXPECT_ROW(find_row(q.rows, "username", "bob"), "bob", {"user_deferrals", "0"},
               {"user_quit_deferrals", "0"}, {"user_session_deferrals", "0"},
               {"refresh_cycle", "86400"});
    EXPECT_ROW(find_row(q.rows, "username", "carol"), "carol", {"user_deferrals", "12"},
               {"user_quit_deferrals", "4"}, {"defer_run_until", "2024-05-01T09:00:00Z"},
               {"dismissible", "1"});
    query_out_clear(&q);

    q = run_query(c, "select username, user_deferrals from nudge where username = 'bob'");
    CU_ASSERT_EQUAL(q.status, 0);
    if (q.rows)
        EXPECT_ROW(only_row(&q), "where bob", {"username", "bob"}, {"user_deferrals", "0"});
    query_out_clear(&q);
    rowset *gen = generate_rows(c, "nudge", "{\"constraints\":[{\"name\":\"username\","
                                            "\"list\":[{\"op\":2,\"expr\":\"bob\"}],"
                                            "\"affinity\":\"TEXT\"}]}");
    CU_ASSERT_EQUAL(gen->len, 1);
    if (gen->len == 1)
        CU_ASSERT_STRING_EQUAL(cell(g_ptr_array_index(gen, 0), "username"), "bob");
    g_ptr_array_unref(gen);
    case_close(c);
}

/* `where username = 'alice'` reads only alice's file: carol's broken one is
 * not even opened (no warning), and without the filter it is warned about once. */
static void test_nudge__index_reads_one_user(void)
{
    mac_case *c = nudge_case("several_users", now_s() + 5 * DAY);
    case_write(c, "Users/carol/Library/Preferences/com.github.macadmins.Nudge.plist",
               "<?xml version=\"1.0\"?><plist><dict><key>userDef", -1);
    query_out q = run_query(c, "select username from nudge where username = 'alice'");
    CU_ASSERT_EQUAL(q.status, 0);
    CU_ASSERT_EQUAL(q.rows ? q.rows->len : 0, 1);
    expect_warnings(&q, "carol", 0);
    query_out_clear(&q);
    q = query_both(c, "nudge");
    expect_warnings(&q, "carol", 1);
    CU_ASSERT_PTR_NOT_NULL(find_row(q.rows, "username", "alice"));
    CU_ASSERT_PTR_NOT_NULL(find_row(q.rows, "username", "bob"));
    query_out_clear(&q);
    case_close(c);
}

static void test_nudge__past_deadline(void)
{
    gint64 deadline = now_s() - (2 * DAY + 1800);
    mac_case *c = nudge_case("past_deadline", deadline);
    query_out q = query_both(c, "nudge");
    GHashTable *row = only_row(&q);
    EXPECT_ROW(row, "past", {"username", "alice"}, {"phase", "elapsed"}, {"dismissible", "0"},
               {"refresh_cycle", "3600"}, {"user_deferrals", "40"}, {"compliant", "0"},
               {"hours_remaining", "-48"});
    nudge_timing t = {deadline, {0}, 72, 24, 1};
    memcpy(t.cycles, fleet_cycles, sizeof t.cycles);
    expect_timing(row, &t, "past");
    const char *sr = cell(row, "seconds_remaining");
    CU_ASSERT_TRUE(sr && sr[0] == '-');
    query_out_clear(&q);
    case_close(c);
}

static void test_nudge__compliant(void)
{
    mac_case *c = nudge_case("compliant", now_s() + 3 * DAY);
    query_out q = query_both(c, "nudge");
    GHashTable *row = only_row(&q);
    EXPECT_ROW(row, "compliant", {"username", "alice"}, {"os_version", "14.2.1"},
               {"required_minimum_os_version", "14.1"}, {"compliant", "1"},
               {"phase", "compliant"}, {"refresh_cycle", NULL}, {"dismissible", NULL},
               {"user_deferrals", "1"});
    CU_ASSERT_PTR_NOT_NULL(cell(row, "seconds_remaining"));
    query_out_clear(&q);
    case_close(c);
}

/* Users with Nudge preferences but no configuration anywhere: no rows. */
static void test_nudge__no_config(void)
{
    mac_case *c = nudge_case("several_users", now_s() + 5 * DAY);
    g_autofree char *cfg = case_path(c, ORBIT_NUDGE_JSON);
    g_unlink(cfg);
    query_out q = query_both(c, "nudge");
    CU_ASSERT_EQUAL(q.rows->len, 0);
    expect_warnings(&q, "", 0);
    query_out_clear(&q);
    case_close(c);
}

/* Nudge's pick: exact current version, then current major, then default. */
static void write_requirements(const mac_case *c, gint64 deadline, const char **rules,
                               const char **versions, size_t n)
{
    g_autofree char *date = utc_text(deadline);
    json_t *reqs = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_pack("{s:s, s:s}", "requiredInstallationDate", date,
                              "requiredMinimumOSVersion", versions[i]);
        if (rules[i])
            json_object_set_new(r, "targetedOSVersionsRule", json_string(rules[i]));
        json_array_append_new(reqs, r);
    }
    json_t *doc = json_pack("{s:o}", "osVersionRequirements", reqs);
    char *text = json_dumps(doc, JSON_INDENT(2));
    case_write(c, PREFS_NUDGE_JSON, text, -1);
    free(text);
    json_decref(doc);
}

static void expect_required(const mac_case *c, const char *version)
{
    query_out q = query_both(c, "nudge");
    EXPECT_ROW(only_row(&q), version, {"required_minimum_os_version", version});
    query_out_clear(&q);
}

static void test_nudge__targeted_rule(void)
{
    gint64 deadline = now_s() + 10 * DAY;
    mac_case *c = nudge_case("nudge_json_only", deadline);
    const char *rules[] = {"default", "13", "13.4.1", "12"};
    const char *versions[] = {"15.0", "13.6.2", "13.5", "12.7.1"};
    write_requirements(c, deadline, rules, versions, 4); /* OS is 13.4.1 */
    expect_required(c, "13.5");
    write_requirements(c, deadline, rules, versions, 2);
    expect_required(c, "13.6.2");
    const char *rules2[] = {"12", NULL};
    const char *versions2[] = {"12.7.1", "14.1"};
    write_requirements(c, deadline, rules2, versions2, 2);
    expect_required(c, "14.1");
    case_close(c);
}

/* A date without Z is local time: shown in UTC. */
static void test_nudge__local_date(void)
{
    mac_case *c = nudge_case("nudge_json_only", now_s() + 10 * DAY);
    GDateTime *now = g_date_time_new_now_utc(), *d = g_date_time_add_days(now, 10);
    g_autofree char *day = g_date_time_format(d, "%Y-%m-%d");
    g_date_time_unref(d);
    g_date_time_unref(now);
    g_autofree char *doc = g_strdup_printf(
        "{\"osVersionRequirements\":[{\"requiredInstallationDate\":\"%sT12:00:00\","
        "\"requiredMinimumOSVersion\":\"13.6\"}]}", day);
    case_write(c, PREFS_NUDGE_JSON, doc, -1);
    char **envp = g_environ_setenv(g_get_environ(), "TZ", "JST-9", TRUE);
    query_out q = run_query_env(c, "select required_installation_date from nudge", envp);
    g_strfreev(envp);
    g_autofree char *want = g_strdup_printf("%sT03:00:00Z", day);
    CU_ASSERT_EQUAL(q.status, 0);
    if (q.rows)
        EXPECT_ROW(only_row(&q), "local date", {"required_installation_date", want});
    query_out_clear(&q);
    case_close(c);
}

/* ----------------------------------------------------------- bad input */

static void write_system_version(const mac_case *c, const char *version, const char *extra)
{
    g_autofree char *x = extra ? g_strdup_printf("<key>ProductVersionExtra</key><string>%s"
                                                 "</string>", extra)
                               : g_strdup("");
    g_autofree char *doc = g_strdup_printf(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>"
        "<key>ProductName</key><string>macOS</string><key>ProductVersion</key>"
        "<string>%s</string>%s</dict>\n</plist>\n", version, x);
    case_write(c, "System/Library/CoreServices/SystemVersion.plist", doc, -1);
}

static void expect_compliance(const char *version, const char *extra, const char *required,
                              const char *shown, const char *compliant)
{
    gint64 deadline = now_s() + 10 * DAY;
    mac_case *c = nudge_case("nudge_json_only", deadline);
    write_system_version(c, version, extra);
    const char *rules[] = {NULL};
    write_requirements(c, deadline, rules, &required, 1);
    query_out q = query_both(c, "nudge");
    EXPECT_ROW(only_row(&q), shown, {"os_version", shown}, {"compliant", compliant},
               {"phase", strcmp(compliant, "1") == 0 ? "compliant" : "initial"});
    query_out_clear(&q);
    case_close(c);
}

static void test_bad__versions(void)
{
    expect_compliance("14", NULL, "14.0", "14", "1");
    expect_compliance("14", NULL, "14.0.1", "14", "0");
    expect_compliance("13.4.1", "(a)", "13.4.1", "13.4.1 (a)", "1");
    expect_compliance("13.4.1", "(a)", "13.4.2", "13.4.1 (a)", "0");
    expect_compliance("13.4", NULL, "13.4.1", "13.4", "0");
    expect_compliance("11.6", NULL, "11.6.0", "11.6", "1");
    expect_compliance("13.10", NULL, "13.9", "13.10", "1");
}

static void test_bad__missing_files(void)
{
    mac_case *c = case_open("nudge_json_only", NULL);
    char *argv[] = {"rm", "-rf", c->root, NULL};
    run_argv(argv);
    g_mkdir(c->root, 0755);
    g_free(c->bin);
    c->bin = g_build_filename(c->tmp, "no_such_profiles", NULL);

    query_out q = query_both(c, "nudge");
    CU_ASSERT_EQUAL(q.rows->len, 0);
    expect_warnings(&q, "", 0); /* a missing file is not worth a warning */
    query_out_clear(&q);
    q = query_both(c, "macos_profiles");
    CU_ASSERT_EQUAL(q.rows->len, 0);
    expect_warnings(&q, "-C -o stdout-xml", 1); /* names the command */
    query_out_clear(&q);
    q = query_both(c, "mdm");
    CU_ASSERT_TRUE(q.rows->len <= 1);
    if (q.rows->len == 1)
        CU_ASSERT_FALSE(g_strcmp0(cell(g_ptr_array_index(q.rows, 0), "enrolled"), "true") == 0);
    CU_ASSERT_TRUE(count_warnings(q.err, "no_such_profiles") >= 1);
    query_out_clear(&q);
    case_close(c);
}

/* nudge_both with the managed plist replaced: the JSON still configures. */
static void test_bad__malformed_plist(void)
{
    static const char *bad[] = {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>\n"
        "\t<key>osVersionRequirements</key>\n\t<array>\n\t\t<dict>\n\t\t\t<key>requiredM",
        "<plist version=\"1.0\"><dict><key>a</key></array></plist>",
        "bplist00\xd1\x01\x02",
        "",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        mac_case *c = nudge_case("nudge_both", now_s() + DAY);
        case_write(c, MANAGED_NUDGE, bad[i], -1);
        query_out q = query_both(c, "nudge");
        GHashTable *row = only_row(&q);
        EXPECT_ROW(row, "malformed plist", {"required_minimum_os_version", "13.5"},
                   {"required_installation_date", "2023-06-30T20:00:00Z"},
                   {"phase", "elapsed"});
        expect_contains(cell(row, "config_source"), "Managed Preferences", 0);
        expect_warnings(&q, "com.github.macadmins.Nudge.plist", 1);
        query_out_clear(&q);
        case_close(c);
    }
}

/* nudge_both with the JSON replaced: the profile still configures, defaults fill. */
static void test_bad__malformed_json(void)
{
    static const char *bad[] = {
        "{\"osVersionRequirements\": [{\"requiredInstallationDate\": \"2023-06-30T2",
        "this is not json at all",
        "{\"userExperience\": {\"imminentRefreshCycle\": 7200,}}",
        "\xff\xfe{\x00}\x00",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        mac_case *c = nudge_case("nudge_both", now_s() + 12 * HOUR + 1800);
        case_write(c, PREFS_NUDGE_JSON, bad[i], -1);
        query_out q = query_both(c, "nudge");
        GHashTable *row = only_row(&q);
        EXPECT_ROW(row, "malformed json", {"required_minimum_os_version", "13.6.1"},
                   {"phase", "imminent"}, {"refresh_cycle", "600"});
        expect_contains(cell(row, "config_source"), ".json", 0);
        expect_warnings(&q, "com.github.macadmins.Nudge.json", 1);
        query_out_clear(&q);
        case_close(c);
    }
}

/* Valid JSON of the wrong shapes: no crash, Nudge's defaults where it can. */
static void test_bad__json_wrong_types(void)
{
    mac_case *c = nudge_case("nudge_both", now_s() + 12 * HOUR + 1800);
    case_write(c, PREFS_NUDGE_JSON,
               "{\"osVersionRequirements\": \"13.9\", \"userExperience\": [1, 2],"
               " \"userInterface\": null}", -1);
    query_out q = query_both(c, "nudge");
    EXPECT_ROW(only_row(&q), "wrong types", {"required_minimum_os_version", "13.6.1"},
               {"refresh_cycle", "600"});
    query_out_clear(&q);
    case_write(c, PREFS_NUDGE_JSON, "[]", -1);
    q = query_both(c, "nudge");
    EXPECT_ROW(only_row(&q), "array json", {"required_minimum_os_version", "13.6.1"});
    query_out_clear(&q);
    case_close(c);
}

/* XML -> binary plist (libplist), in place. */
static void to_binary_plist(const mac_case *c, const char *rel)
{
    g_autofree char *path = case_path(c, rel);
    g_autofree char *xml = file_text(path);
    plist_t p = NULL;
    char *bin = NULL;
    uint32_t len = 0;
    plist_from_xml(xml ? xml : "", xml ? (uint32_t)strlen(xml) : 0, &p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    plist_to_bin(p, &bin, &len);
    write_file(path, bin, len);
    plist_to_bin_free(bin);
    plist_free(p);
}

static void test_bad__binary_plist(void)
{
    gint64 deadline = now_s() + 2 * DAY + 1800;
    mac_case *x = nudge_case("nudge_profile_only", deadline);
    mac_case *b = nudge_case("nudge_profile_only", deadline);
    to_binary_plist(b, MANAGED_NUDGE);
    to_binary_plist(b, "System/Library/CoreServices/SystemVersion.plist");
    g_autofree char *p = case_path(b, MANAGED_NUDGE);
    g_autofree char *head = file_text(p);
    CU_ASSERT_TRUE(head && g_str_has_prefix(head, "bplist00"));
    query_out qx = query_both(x, "nudge"), qb = query_both(b, "nudge");
    CU_ASSERT_EQUAL(qb.rows->len, 2);
    for (guint i = 0; i < qb.rows->len && i < qx.rows->len; i++) {
        GHashTable *row = g_ptr_array_index(qb.rows, i);
        /* the roots differ: compare all but where the config came from */
        g_hash_table_remove(row, "config_source");
        g_hash_table_remove(g_ptr_array_index(qx.rows, i), "config_source");
        CU_ASSERT_TRUE(row_match(g_ptr_array_index(qx.rows, i), row, i));
    }
    expect_warnings(&qb, "", 0);
    query_out_clear(&qx);
    query_out_clear(&qb);
    case_close(x);
    case_close(b);
}

static char *repeat(const char *s, size_t n)
{
    GString *g = g_string_sized_new(strlen(s) * n);
    for (size_t i = 0; i < n; i++)
        g_string_append(g, s);
    return g_string_free(g, FALSE);
}

/* 100,000 levels of nesting in the JSON and in the managed plist. */
static void test_bad__deeply_nested(void)
{
    mac_case *c = nudge_case("nudge_json_only", now_s() + 10 * DAY);
    g_autofree char *open = repeat("[", 100000), *close = repeat("]", 100000);
    g_autofree char *json = g_strconcat("{\"osVersionRequirements\":", open, close, "}", NULL);
    case_write(c, PREFS_NUDGE_JSON, json, -1);
    g_autofree char *popen = repeat("<array>", 100000), *pclose = repeat("</array>", 100000);
    g_autofree char *plist = g_strconcat("<?xml version=\"1.0\"?>\n<plist version=\"1.0\">"
                                         "<dict><key>osVersionRequirements</key>", popen,
                                         pclose, "</dict></plist>\n", NULL);
    case_write(c, MANAGED_NUDGE, plist, -1);
    query_out q = query_both(c, "nudge");
    CU_ASSERT_EQUAL(q.rows->len, 0); /* neither source is usable: no configuration */
    expect_warnings(&q, "com.github.macadmins.Nudge.json", 1);
    expect_warnings(&q, "com.github.macadmins.Nudge.plist", 1);
    query_out_clear(&q);

    /* a user's preferences nested deep: that user's row still comes back */
    case_write(c, "Library/Preferences/com.github.macadmins.Nudge.json",
               "{\"osVersionRequirements\":[{\"requiredMinimumOSVersion\":\"13.6\"}]}", -1);
    g_autofree char *mp = case_path(c, MANAGED_NUDGE);
    g_unlink(mp);
    case_write(c, "Users/erin/Library/Preferences/com.github.macadmins.Nudge.plist", plist, -1);
    q = query_both(c, "nudge");
    EXPECT_ROW(only_row(&q), "deep user plist", {"username", "erin"}, {"user_deferrals", "0"});
    expect_warnings(&q, "erin", 1);
    query_out_clear(&q);
    case_close(c);
}

/* Over the 8 MiB caps: a Nudge JSON file, and `profiles` output. */
static void test_bad__huge_files(void)
{
    mac_case *c = nudge_case("nudge_json_only", now_s() + 10 * DAY);
    g_autofree char *pad = repeat("0123456789abcdef", (9u << 20) / 16);
    g_autofree char *json = g_strconcat("{\"osVersionRequirements\":[{\"requiredMinimumOSVersion"
                                        "\":\"13.6\"}],\"padding\":\"", pad, "\"}", NULL);
    case_write(c, PREFS_NUDGE_JSON, json, -1);
    query_out q = query_both(c, "nudge");
    CU_ASSERT_EQUAL(q.rows->len, 0);
    expect_warnings(&q, "com.github.macadmins.Nudge.json", 1);
    CU_ASSERT_TRUE(q.secs < 5.0);
    query_out_clear(&q);

    case_script(c, "huge_profiles",
                "head -c 9437184 /dev/zero | tr '\\0' 'a'");
    q = query_both(c, "macos_profiles");
    CU_ASSERT_EQUAL(q.rows->len, 0);
    expect_warnings(&q, "-C -o stdout-xml", 1); /* names the command */
    query_out_clear(&q);
    case_close(c);
}

/* A `profiles` that never answers: killed at the 10 s timeout. ~10 s. */
static void test_bad__profiles_hangs(void)
{
    mac_case *c = case_open("several_profiles", NULL);
    case_script(c, "hanging_profiles", "exec sleep 60");
    query_out q = run_query(c, "select * from macos_profiles");
    CU_ASSERT_EQUAL(q.status, 0);
    CU_ASSERT_EQUAL(q.rows ? q.rows->len : 99, 0);
    CU_ASSERT_TRUE(q.secs >= 9.0 && q.secs < 20.0);
    expect_warnings(&q, "-C -o stdout-xml", 1); /* names the command */
    query_out_clear(&q);
    case_close(c);
}

static void test_bad__profiles_exits_nonzero(void)
{
    mac_case *c = case_open("several_profiles", NULL);
    case_script(c, "failing_profiles",
                "echo 'profiles: (-208) The operation couldn'\\''t be completed.' >&2\nexit 1");
    query_out q = query_both(c, "macos_profiles");
    CU_ASSERT_EQUAL(q.rows->len, 0);
    expect_warnings(&q, "-C -o stdout-xml", 1); /* names the command */
    query_out_clear(&q);
    q = query_both(c, "mdm");
    CU_ASSERT_TRUE(q.rows->len <= 1);
    if (q.rows->len == 1)
        EXPECT_ROW(g_ptr_array_index(q.rows, 0), "failing profiles", {"user_approved", "unknown"});
    CU_ASSERT_TRUE(count_warnings(q.err, "failing_profiles") >= 1);
    query_out_clear(&q);
    case_close(c);
}

static void test_bad__profiles_garbage(void)
{
    static const char *scripts[] = {
        "printf '\\377\\376garbage\\000<plist><dict>\\n'; head -c 4096 /dev/urandom",
        "printf '<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>_computerlevel</key>"
        "<string>nope</string></dict></plist>\\n'",
        "printf '<?xml version=\"1.0\"?><plist version=\"1.0\"><array><integer>1</integer>"
        "</array></plist>\\n'",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(scripts); i++) {
        mac_case *c = case_open("several_profiles", NULL);
        case_script(c, "garbage_profiles", scripts[i]);
        query_out q = query_both(c, "macos_profiles");
        CU_ASSERT_EQUAL(q.rows->len, 0);
        expect_warnings(&q, "-C -o stdout-xml", 1); /* names the command */
        query_out_clear(&q);
        q = query_both(c, "mdm");
        CU_ASSERT_TRUE(q.rows->len <= 1);
        if (q.rows->len == 1)
            EXPECT_ROW(g_ptr_array_index(q.rows, 0), "garbage", {"user_approved", "unknown"});
        query_out_clear(&q);
        case_close(c);
    }
}

/* A deadline and a deferRunUntil that are not dates: NULLs, one warning each. */
static void test_bad__date_format(void)
{
    mac_case *c = nudge_case("several_users", now_s() + 5 * DAY);
    case_write(c, ORBIT_NUDGE_JSON,
               "{\"osVersionRequirements\":[{\"requiredInstallationDate\":\"31/12/2030 8pm\","
               "\"requiredMinimumOSVersion\":\"13.6\"}]}", -1);
    case_write(c, "Users/carol/Library/Preferences/com.github.macadmins.Nudge.plist",
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>"
               "<key>userDeferrals</key><integer>12</integer><key>deferRunUntil</key>"
               "<string>next tuesday</string></dict></plist>\n", -1);
    query_out q = query_both(c, "nudge");
    CU_ASSERT_EQUAL(q.rows->len, 3);
    GHashTable *carol = find_row(q.rows, "username", "carol");
    EXPECT_ROW(carol, "bad dates", {"required_minimum_os_version", "13.6"},
               {"required_installation_date", NULL}, {"seconds_remaining", NULL},
               {"hours_remaining", NULL}, {"days_remaining", NULL}, {"phase", NULL},
               {"refresh_cycle", NULL}, {"user_deferrals", "12"}, {"defer_run_until", NULL},
               {"compliant", "0"});
    expect_warnings(&q, "nudge-config.json", 1);
    CU_ASSERT_TRUE(count_warnings(q.err, "carol") <= 1);
    query_out_clear(&q);
    case_close(c);
}

/* ---------------------------------------------------------------- suite */

static int setup(void)
{
    char *err = NULL;
    reg = orchard_registry_new();
    if (orchard_registry_add_builtin(reg, orchard_agent_plugin_entry, &err) != 0) {
        fprintf(stderr, "agent plugin: %s\n", err ? err : "?");
        g_free(err);
        return 1;
    }
    return 0;
}

static int teardown(void)
{
    orchard_registry_free(reg);
    reg = NULL;
    return 0;
}

void agent_tables_suite(void)
{
    ORCHARD_ADD_SUITE("agent_tables", setup, teardown,
                      {"mdm_enrolled_manual", test_mdm__enrolled_manual},
                      {"mdm_enrolled_dep", test_mdm__enrolled_dep},
                      {"mdm_not_enrolled", test_mdm__not_enrolled},
                      {"mdm_no_scep_payload", test_mdm__no_scep_payload},
                      {"mdm_several_profiles", test_mdm__several_profiles},
                      {"mdm_profiles_cached", test_mdm__profiles_cached},
                      {"profiles_several", test_profiles__several},
                      {"profiles_not_enrolled", test_profiles__not_enrolled},
                      {"profiles_fleet_query", test_profiles__fleet_query},
                      {"profiles_checksum_changes", test_profiles__checksum_changes},
                      {"nudge_json_only", test_nudge__json_only},
                      {"nudge_fleet_phases", test_nudge__fleet_phases},
                      {"nudge_profile_only", test_nudge__profile_only},
                      {"nudge_both", test_nudge__both},
                      {"nudge_several_users", test_nudge__several_users},
                      {"nudge_index_reads_one_user", test_nudge__index_reads_one_user},
                      {"nudge_past_deadline", test_nudge__past_deadline},
                      {"nudge_compliant", test_nudge__compliant},
                      {"nudge_no_config", test_nudge__no_config},
                      {"nudge_targeted_rule", test_nudge__targeted_rule},
                      {"nudge_local_date", test_nudge__local_date},
                      {"bad_versions", test_bad__versions},
                      {"bad_missing_files", test_bad__missing_files},
                      {"bad_malformed_plist", test_bad__malformed_plist},
                      {"bad_malformed_json", test_bad__malformed_json},
                      {"bad_json_wrong_types", test_bad__json_wrong_types},
                      {"bad_binary_plist", test_bad__binary_plist},
                      {"bad_deeply_nested", test_bad__deeply_nested},
                      {"bad_huge_files", test_bad__huge_files},
                      {"bad_profiles_hangs", test_bad__profiles_hangs},
                      {"bad_profiles_exits_nonzero", test_bad__profiles_exits_nonzero},
                      {"bad_profiles_garbage", test_bad__profiles_garbage},
                      {"bad_date_format", test_bad__date_format});
}
