/* settings: typed values and their parse errors, one owner per key, aliases,
 * FLEET_/ORCHARD_ precedence, the snapshot swapped on reload (old strings
 * stay valid, a bad file keeps the old one), run-time overrides, the
 * generation and the settings.changed event. In process, with a plugin
 * context of its own; every test leaves the process's settings as it found
 * them (other suites share them). */
#include "host/config.h"
#include "host/events/events.h"
#include "host/plugins/plugin_ctx.h"
#include "host/settings.h"
#include "host/settings_parse.h"
#include "host/suggest.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR ORCHARD_STRUCT_HEADER(orchard_setting)

static const orchard_setting s_name = {HDR, .key = "tst.name", .type = ORCHARD_SETTING_STRING,
                                       .default_value = "anon", .description = "a name"};
static const orchard_setting s_flag = {HDR, .key = "tst.flag", .type = ORCHARD_SETTING_BOOL,
                                       .default_value = "off", .description = "a flag"};
static const orchard_setting s_count = {HDR, .key = "tst.count", .type = ORCHARD_SETTING_INT,
                                        .description = "a count (no default)"};
static const orchard_setting s_every = {HDR, .key = "tst.every",
                                        .type = ORCHARD_SETTING_DURATION, .default_value = "1m",
                                        .description = "a period",
                                        .flags = ORCHARD_SETTING_RESTART};
static const orchard_setting s_file = {HDR, .key = "tst.file", .type = ORCHARD_SETTING_PATH,
                                       .description = "a file", .aliases = "tst.cert|tst.pem"};
static const orchard_setting s_size = {HDR, .key = "tst.size", .type = ORCHARD_SETTING_BYTES,
                                       .default_value = "1MiB", .description = "a size"};
static const orchard_setting s_secret = {HDR, .key = "tst.secret",
                                         .type = ORCHARD_SETTING_STRING,
                                         .description = "a secret",
                                         .flags = ORCHARD_SETTING_SECRET};
static const orchard_setting *const decls[] = {&s_name, &s_flag, &s_count, &s_every,
                                               &s_file, &s_size, &s_secret};

static const orchard_plugin plug_a = {ORCHARD_STRUCT_HEADER(orchard_plugin), .name = "tst-a",
                                      .version = "1"};
static const orchard_plugin plug_b = {ORCHARD_STRUCT_HEADER(orchard_plugin), .name = "tst-b",
                                      .version = "1"};
static orchard_ctx *ctx_a, *ctx_b;
static char *dir;

static char *write_file(const char *name, const char *yaml)
{
    char *path = g_build_filename(dir, name, NULL);
    CU_ASSERT_FATAL(g_file_set_contents(path, yaml, -1, NULL));
    g_chmod(path, 0600);
    return path;
}

/* Replace a file's content (its path is not needed again). */
static void rewrite(const char *name, const char *yaml)
{
    g_free(write_file(name, yaml));
}

static void load(const char *yaml)
{
    g_autofree char *path = write_file("settings.yml", yaml);
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_settings_load(path, &err), 0);
}

static int suite_init(void)
{
    dir = g_dir_make_tmp("orchard-settings-XXXXXX", NULL);
    ctx_a = orchard_ctx_new(&plug_a);
    ctx_b = orchard_ctx_new(&plug_b);
    return dir ? 0 : -1;
}

static int suite_cleanup(void)
{
    g_autofree char *err = NULL;
    orchard_settings_load(NULL, &err);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return -1;
    g_free(dir);
    g_free(ctx_a);
    g_free(ctx_b);
    return 0;
}

/* Each test declares tst.* as plugin a and forgets them at the end. */
static void declare(void)
{
    g_autofree char *err = NULL;
    int rc = orchard_settings_add_owner(ctx_a, decls, G_N_ELEMENTS(decls), &err);
    if (rc)
        fprintf(stderr, "\n  add_owner: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void undeclare(void)
{
    g_autofree char *err = NULL;
    orchard_settings_forget_owner(ctx_a);
    orchard_settings_forget_owner(ctx_b);
    CU_ASSERT_EQUAL(orchard_settings_load(NULL, &err), 0);
}

/* --- values and their text forms */

static void test_settings__parse_bool_int(void)
{
    static const char *const yes[] = {"true", "TRUE", "yes", "On", "1"};
    static const char *const no[] = {"false", "no", "OFF", "0"};
    static const char *const bad[] = {"", "2", "yess", " true", "true ", "enabled", "t"};
    int b = -1;
    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++)
        CU_ASSERT(orchard_parse_bool(yes[i], &b) == 0 && b == 1);
    for (size_t i = 0; i < G_N_ELEMENTS(no); i++)
        CU_ASSERT(orchard_parse_bool(no[i], &b) == 0 && b == 0);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        CU_ASSERT_EQUAL(orchard_parse_bool(bad[i], &b), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_parse_bool(NULL, &b), ORCHARD_EINVAL);

    int64_t v = 0;
    CU_ASSERT(orchard_parse_int("42", &v) == 0 && v == 42);
    CU_ASSERT(orchard_parse_int("-7", &v) == 0 && v == -7);
    CU_ASSERT(orchard_parse_int("+007", &v) == 0 && v == 7);
    CU_ASSERT(orchard_parse_int("9223372036854775807", &v) == 0 && v == INT64_MAX);
    CU_ASSERT(orchard_parse_int("-9223372036854775808", &v) == 0 && v == INT64_MIN);
    static const char *const bad_int[] = {"9223372036854775808", "-9223372036854775809",
                                          "99999999999999999999999", "", "-", "1.0", "1e3",
                                          "0x10", " 1", "1 ", "12abc", "１２"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad_int); i++)
        CU_ASSERT_EQUAL(orchard_parse_int(bad_int[i], &v), ORCHARD_EINVAL);
}

static void test_settings__parse_duration(void)
{
    static const struct {
        const char *text;
        int64_t ms;
    } good[] = {
        {"90s", 90000}, {"1m", 60000}, {"1h30m", 5400000}, {"500ms", 500}, {"90", 90000},
        {"0", 0}, {"0.5", 500}, {"1.5h", 5400000}, {"2h45m0.5s", 9900500}, {"-2m", -120000},
        {"+3s", 3000}, {"1500us", 1}, {"1500\xc2\xb5s", 1}, {"999999ns", 0}, {".5s", 500},
        {"1m30s", 90000}, {"2562047h", G_GINT64_CONSTANT(9223369200000)},
    };
    static const char *const bad[] = {
        "", "s", "1x", "1 h", "1h ", " 1h", "1h30", "1d", "h1", "1..5s", "-", "1hh", "5mss",
        "2562048h",                      /* past int64 nanoseconds */
        "9999999999999999999h",          /* the multiplication overflows */
        "99999999999999999999999s",      /* the number itself overflows */
        "1h\n",
    };
    int64_t ms = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        int rc = orchard_parse_duration_ms(good[i].text, &ms);
        if (rc || ms != good[i].ms)
            fprintf(stderr, "\n  %s: rc %d, %" G_GINT64_FORMAT " ms\n", good[i].text, rc, ms);
        CU_ASSERT(rc == 0 && ms == good[i].ms);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        int rc = orchard_parse_duration_ms(bad[i], &ms);
        if (rc != ORCHARD_EINVAL)
            fprintf(stderr, "\n  '%s' was accepted as %" G_GINT64_FORMAT " ms\n", bad[i], ms);
        CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
    }
}

static void test_settings__parse_bytes(void)
{
    static const struct {
        const char *text;
        uint64_t n;
    } good[] = {
        {"0", 0}, {"4096", 4096}, {"512k", 524288}, {"512K", 524288}, {"2MiB", 2097152},
        {"2 MiB", 2097152}, {"2mb", 2097152}, {"1.5k", 1536}, {"1GiB", 1073741824},
        {"3B", 3}, {"0.5b", 0}, {"16777215TiB", G_GUINT64_CONSTANT(18446742974197923840)},
    };
    static const char *const bad[] = {"", "k", "-1", "1 2", "2MiBs", "2XB", " 2k", "2k ",
                                      "16777216TiB", "18446744073709551616",
                                      "99999999999999999999999k", "1e6", "0x10"};
    uint64_t n = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        int rc = orchard_parse_bytes(good[i].text, &n);
        if (rc || n != good[i].n)
            fprintf(stderr, "\n  %s: rc %d, %" G_GUINT64_FORMAT "\n", good[i].text, rc, n);
        CU_ASSERT(rc == 0 && n == good[i].n);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        CU_ASSERT_EQUAL(orchard_parse_bytes(bad[i], &n), ORCHARD_EINVAL);
    /* The path type refuses only what no file name can hold on a line. */
    CU_ASSERT_EQUAL(orchard_setting_check_value(ORCHARD_SETTING_PATH, "/a b/c", NULL), 0);
    CU_ASSERT_EQUAL(orchard_setting_check_value(ORCHARD_SETTING_PATH, "/a\nb", NULL),
                    ORCHARD_EINVAL);
}

static void test_settings__suggest(void)
{
    static const char *const keys[] = {"mdm.apple_scep_challenge", "mdm.apple_scep_challenge_ttl",
                                       "store.sqlite", "query", NULL};
    CU_ASSERT_STRING_EQUAL(orchard_suggest("mdm.apple_scep_challenge_tll", keys, 4),
                           "mdm.apple_scep_challenge_ttl");
    CU_ASSERT_STRING_EQUAL(orchard_suggest("qeury", keys, 5), "query");
    CU_ASSERT_STRING_EQUAL(orchard_suggest("store.sqlit", keys, 4), "store.sqlite");
    CU_ASSERT_PTR_NULL(orchard_suggest("mysql.address", keys, 4));
    CU_ASSERT_PTR_NULL(orchard_suggest("query", keys, 4)); /* itself is no suggestion */
    CU_ASSERT_EQUAL(orchard_edit_distance("abc", "acb", 5), 1);
    CU_ASSERT_EQUAL(orchard_edit_distance("", "abc", 5), 3);
    CU_ASSERT_EQUAL(orchard_edit_distance("abcdef", "uvwxyz", 2), 3); /* capped */
    GString *huge = g_string_new(NULL);
    for (int i = 0; i < 10000; i++)
        g_string_append_c(huge, 'a');
    CU_ASSERT_PTR_NULL(orchard_suggest(huge->str, keys, 4));
    g_string_free(huge, TRUE);
}

/* --- declarations */

static void test_settings__owners_and_clashes(void)
{
    g_autofree char *err = NULL;
    declare();
    const char *owner = NULL;
    CU_ASSERT_PTR_EQUAL(orchard_settings_find("tst.count", &owner), &s_count);
    CU_ASSERT_STRING_EQUAL(owner, "tst-a");
    CU_ASSERT_PTR_EQUAL(orchard_settings_find("tst.pem", NULL), &s_file); /* an alias */
    CU_ASSERT_PTR_NULL(orchard_settings_find("tst.nope", NULL));

    /* A second owner of a key, or of an alias, is refused with both names. */
    static const orchard_setting dup = {HDR, .key = "tst.count", .type = ORCHARD_SETTING_INT};
    static const orchard_setting fresh = {HDR, .key = "tst.fresh", .type = ORCHARD_SETTING_INT};
    const orchard_setting *const clash[] = {&fresh, &dup};
    CU_ASSERT_EQUAL(orchard_settings_add_owner(ctx_b, clash, 2, &err), ORCHARD_EEXIST);
    CU_ASSERT(err && strstr(err, "tst.count") && strstr(err, "tst-a"));
    CU_ASSERT_PTR_NULL(orchard_settings_find("tst.fresh", NULL)); /* nothing of the batch */
    g_clear_pointer(&err, g_free);
    static const orchard_setting by_alias = {HDR, .key = "tst.other",
                                             .type = ORCHARD_SETTING_PATH, .aliases = "tst.cert"};
    const orchard_setting *const alias_clash[] = {&by_alias};
    CU_ASSERT_EQUAL(orchard_settings_add_owner(ctx_b, alias_clash, 1, &err), ORCHARD_EEXIST);
    CU_ASSERT(err && strstr(err, "tst.cert"));
    g_clear_pointer(&err, g_free);
    /* Twice in one batch. */
    const orchard_setting *const twice[] = {&fresh, &fresh};
    CU_ASSERT_EQUAL(orchard_settings_add_owner(ctx_b, twice, 2, &err), ORCHARD_EEXIST);
    g_clear_pointer(&err, g_free);

    /* Malformed declarations. */
    static const orchard_setting bad_key = {HDR, .key = "Tst.Upper", .type = 0};
    static const orchard_setting no_key = {HDR, .key = NULL, .type = 0};
    static const orchard_setting bad_type = {HDR, .key = "tst.t", .type = 42};
    static const orchard_setting bad_default = {HDR, .key = "tst.d",
                                                .type = ORCHARD_SETTING_DURATION,
                                                .default_value = "soon"};
    static const orchard_setting bad_alias = {HDR, .key = "tst.e", .type = 0,
                                              .aliases = "Not A Key"};
    const orchard_setting *const bad[] = {&bad_key, &no_key, &bad_type, &bad_default,
                                          &bad_alias, NULL};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        const orchard_setting *const one[] = {bad[i]};
        CU_ASSERT_EQUAL(orchard_settings_add_owner(ctx_b, one, 1, &err), ORCHARD_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(err);
        g_clear_pointer(&err, g_free);
    }
    CU_ASSERT_PTR_NULL(orchard_settings_find("tst.d", NULL));
    /* Forgotten keys can be declared by another owner. */
    orchard_settings_forget_owner(ctx_a);
    CU_ASSERT_EQUAL(orchard_settings_add_owner(ctx_b, clash, 2, &err), 0);
    undeclare();
}

/* --- reading */

static void test_settings__typed_getters(void)
{
    declare();
    load("tst:\n  name: orchard\n  flag: yes\n  count: '-12'\n  every: 1h30m\n"
         "  file: /etc/x.pem\n  size: 2MiB\n");
    int b = 0;
    int64_t i = 0;
    uint64_t u = 0;
    CU_ASSERT_STRING_EQUAL(orchard_settings_string(ctx_a, "tst.name"), "orchard");
    CU_ASSERT(orchard_settings_bool(ctx_a, "tst.flag", &b) == 0 && b == 1);
    CU_ASSERT(orchard_settings_int(ctx_a, "tst.count", &i) == 0 && i == -12);
    CU_ASSERT(orchard_settings_duration(ctx_a, "tst.every", &i) == 0 && i == 5400000);
    CU_ASSERT_STRING_EQUAL(orchard_settings_path(ctx_a, "tst.file"), "/etc/x.pem");
    CU_ASSERT(orchard_settings_bytes(ctx_a, "tst.size", &u) == 0 && u == 2097152);
    /* v1's config_get reads the same snapshot. */
    CU_ASSERT_STRING_EQUAL(orchard_config_get(orchard_config_global(), "tst.name"), "orchard");

    /* Defaults, unset, undeclared. */
    load("tst:\n  secret: s\n");
    CU_ASSERT_STRING_EQUAL(orchard_settings_string(ctx_a, "tst.name"), "anon");
    /* v1 said "NULL when unset": old plugins apply their own defaults. */
    CU_ASSERT_PTR_NULL(orchard_config_get(orchard_config_global(), "tst.name"));
    CU_ASSERT(orchard_settings_bool(ctx_a, "tst.flag", &b) == 0 && b == 0);
    CU_ASSERT(orchard_settings_duration(ctx_a, "tst.every", &i) == 0 && i == 60000);
    CU_ASSERT_EQUAL(orchard_settings_int(ctx_a, "tst.count", &i), ORCHARD_ENOTCONFIGURED);
    CU_ASSERT_PTR_NULL(orchard_settings_path(ctx_a, "tst.file"));
    CU_ASSERT_EQUAL(orchard_settings_int(ctx_a, "tst.nope", &i), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_settings_bool(ctx_a, "tst.nope", &b), ORCHARD_ENOTFOUND);
    CU_ASSERT_EQUAL(orchard_settings_duration(ctx_a, NULL, &i), ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NULL(orchard_settings_path(ctx_a, "tst.nope"));

    /* Values that don't read as their type: EINVAL, and named as errors. */
    load("tst:\n  flag: maybe\n  count: 12abc\n  every: 10 minutes\n  size: lots\n");
    CU_ASSERT_EQUAL(orchard_settings_bool(ctx_a, "tst.flag", &b), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_settings_int(ctx_a, "tst.count", &i), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_settings_duration(ctx_a, "tst.every", &i), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_settings_bytes(ctx_a, "tst.size", &u), ORCHARD_EINVAL);
    g_autoptr(GPtrArray) problems = orchard_settings_problems();
    CU_ASSERT_EQUAL(orchard_settings_count(problems, ORCHARD_PROBLEM_ERROR), 4);

    /* A list or a section where a value belongs. */
    load("tst:\n  file: [/a, /b]\n  name:\n    first: x\n");
    CU_ASSERT_PTR_NULL(orchard_settings_path(ctx_a, "tst.file"));
    g_autoptr(GPtrArray) shape = orchard_settings_problems();
    CU_ASSERT_EQUAL(orchard_settings_count(shape, ORCHARD_PROBLEM_ERROR), 2);
    int list_named = 0, section_named = 0;
    for (guint k = 0; k < shape->len; k++) {
        const orchard_settings_problem *p = g_ptr_array_index(shape, k);
        list_named |= strstr(p->message, "tst.file") && strstr(p->message, "a list where a path");
        section_named |= strstr(p->message, "tst.name") && strstr(p->message, "a section");
    }
    CU_ASSERT(list_named && section_named);
    undeclare();
}

static void test_settings__unknown_and_fleet_keys(void)
{
    declare();
    load("tst:\n  evrey: 5m\n  name: x\nmysql:\n  address: db:3306\n  password: p\n"
         "redis:\n  address: r\nserver:\n  tls: true\nweird:\n  thing: 1\n");
    g_autoptr(GPtrArray) problems = orchard_settings_problems();
    int suggested = 0, mysql = 0, redis = 0, tls = 0, weird = 0;
    for (guint i = 0; i < problems->len; i++) {
        const orchard_settings_problem *p = g_ptr_array_index(problems, i);
        suggested += p->level == ORCHARD_PROBLEM_WARNING && strstr(p->message, "tst.evrey") &&
                     strstr(p->message, "did you mean tst.every?");
        mysql += p->level == ORCHARD_PROBLEM_NOTE && strstr(p->message, "mysql") != NULL;
        redis += p->level == ORCHARD_PROBLEM_NOTE && strstr(p->message, "redis") != NULL;
        tls += p->level == ORCHARD_PROBLEM_NOTE && strstr(p->message, "server.tls") != NULL;
        weird += p->level == ORCHARD_PROBLEM_WARNING && strstr(p->message, "weird.thing");
    }
    CU_ASSERT_EQUAL(suggested, 1);
    CU_ASSERT_EQUAL(mysql, 1); /* once per section, not per key */
    CU_ASSERT_EQUAL(redis, 1);
    CU_ASSERT_EQUAL(tls, 1);
    CU_ASSERT_EQUAL(weird, 1);
    CU_ASSERT_EQUAL(orchard_settings_count(problems, ORCHARD_PROBLEM_ERROR), 0);
    /* Undeclared keys still read as text while plugins move to declarations. */
    CU_ASSERT_STRING_EQUAL(orchard_settings_string(ctx_a, "weird.thing"), "1");
    undeclare();
}

static void test_settings__aliases(void)
{
    declare();
    load("tst:\n  cert: /fleet/spelling.pem\n");
    CU_ASSERT_STRING_EQUAL(orchard_settings_path(ctx_a, "tst.file"), "/fleet/spelling.pem");
    CU_ASSERT_STRING_EQUAL(orchard_settings_path(ctx_a, "tst.cert"), "/fleet/spelling.pem");
    /* Both spellings, different values: an error; the same value is fine. */
    load("tst:\n  cert: /a.pem\n  file: /b.pem\n");
    g_autoptr(GPtrArray) problems = orchard_settings_problems();
    CU_ASSERT_EQUAL(orchard_settings_count(problems, ORCHARD_PROBLEM_ERROR), 1);
    load("tst:\n  pem: /a.pem\n  file: /a.pem\n");
    g_autoptr(GPtrArray) none = orchard_settings_problems();
    CU_ASSERT_EQUAL(orchard_settings_count(none, ORCHARD_PROBLEM_ERROR), 0);
    /* The environment under an alias's name: FLEET_TST_CERT. */
    load("tst:\n  name: x\n");
    g_setenv("FLEET_TST_CERT", "/from/fleet.pem", TRUE);
    load("tst:\n  name: x\n");
    CU_ASSERT_STRING_EQUAL(orchard_settings_path(ctx_a, "tst.file"), "/from/fleet.pem");
    g_unsetenv("FLEET_TST_CERT");
    undeclare();
}

static void test_settings__env_precedence(void)
{
    declare();
    g_setenv("FLEET_TST_NAME", "fleet", TRUE);
    load("tst:\n  name: file\n");
    CU_ASSERT_STRING_EQUAL(orchard_settings_string(ctx_a, "tst.name"), "fleet");
    g_setenv("ORCHARD_TST_NAME", "orchard", TRUE);
    load("tst:\n  name: file\n");
    CU_ASSERT_STRING_EQUAL(orchard_settings_string(ctx_a, "tst.name"), "orchard");
    /* The command line over both; removing it shows the environment again. */
    orchard_config_set(orchard_config_global(), "tst.name", "cli");
    CU_ASSERT_STRING_EQUAL(orchard_settings_string(ctx_a, "tst.name"), "cli");
    orchard_config_set(orchard_config_global(), "tst.name", NULL);
    CU_ASSERT_STRING_EQUAL(orchard_settings_string(ctx_a, "tst.name"), "orchard");
    /* An empty ORCHARD_ variable unsets the key: the default, not FLEET_'s. */
    g_setenv("ORCHARD_TST_NAME", "", TRUE);
    load("tst:\n  name: file\n");
    CU_ASSERT_STRING_EQUAL(orchard_settings_string(ctx_a, "tst.name"), "anon");
    /* Dashes and dots become '_' in the variable's name. */
    g_autofree char *var = orchard_config_env_name_with("FLEET_", "mdm.apple-scep.x");
    CU_ASSERT_STRING_EQUAL(var, "FLEET_MDM_APPLE_SCEP_X");
    g_unsetenv("ORCHARD_TST_NAME");
    g_unsetenv("FLEET_TST_NAME");
    /* The environment is typed too. */
    g_setenv("ORCHARD_TST_COUNT", "many", TRUE);
    load("tst:\n  name: file\n");
    int64_t n;
    CU_ASSERT_EQUAL(orchard_settings_int(ctx_a, "tst.count", &n), ORCHARD_EINVAL);
    g_autoptr(GPtrArray) problems = orchard_settings_problems();
    CU_ASSERT(problems->len && strstr(((orchard_settings_problem *)problems->pdata[0])->message,
                                      "ORCHARD_TST_COUNT"));
    g_unsetenv("ORCHARD_TST_COUNT");
    undeclare();
}

/* --- snapshots: reload, override, generation, the event */

typedef struct {
    GMutex lock;
    GPtrArray *payloads;
} seen_events;

static void on_changed(orchard_ctx *ctx, const char *name, const char *json, void *payload)
{
    seen_events *seen = payload;
    (void)ctx;
    g_mutex_lock(&seen->lock);
    g_ptr_array_add(seen->payloads, g_strdup_printf("%s %s", name, json));
    g_mutex_unlock(&seen->lock);
}

static void test_settings__reload_swaps(void)
{
    seen_events seen = {.payloads = g_ptr_array_new_with_free_func(g_free)};
    g_mutex_init(&seen.lock);
    declare();
    CU_ASSERT_EQUAL_FATAL(orchard_events_subscribe(ctx_a, "settings.changed", on_changed, &seen),
                          0);
    g_autofree char *path = write_file("reload.yml", "tst:\n  name: first\n  count: 1\n");
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_settings_load(path, &err), 0);
    const char *old_name = orchard_settings_string(ctx_a, "tst.name");
    uint64_t gen = orchard_settings_generation(ctx_a);

    rewrite("reload.yml", "tst:\n  name: second\n  count: 1\n  every: 2m\n");
    CU_ASSERT_EQUAL(orchard_settings_reload(&err), 0);
    CU_ASSERT_STRING_EQUAL(orchard_settings_string(ctx_a, "tst.name"), "second");
    CU_ASSERT_STRING_EQUAL(old_name, "first"); /* borrowed before the swap: still valid */
    CU_ASSERT(orchard_settings_generation(ctx_a) > gen);
    orchard_events_flush_stop();
    CU_ASSERT_EQUAL(seen.payloads->len, 1);
    if (seen.payloads->len) {
        const char *p = g_ptr_array_index(seen.payloads, 0);
        CU_ASSERT(g_str_has_prefix(p, "settings.changed ["));
        CU_ASSERT(strstr(p, "\"tst.name\"") && strstr(p, "\"tst.every\""));
        CU_ASSERT(!strstr(p, "tst.count")); /* unchanged */
    }

    /* A reload with nothing changed publishes nothing. */
    gen = orchard_settings_generation(ctx_a);
    CU_ASSERT_EQUAL(orchard_settings_reload(&err), 0);
    orchard_events_flush_stop();
    CU_ASSERT_EQUAL(seen.payloads->len, 1);
    CU_ASSERT(orchard_settings_generation(ctx_a) > gen);

    orchard_events_forget(ctx_a);
    g_ptr_array_unref(seen.payloads);
    g_mutex_clear(&seen.lock);
    undeclare();
}

static void test_settings__bad_reload_keeps_old(void)
{
    declare();
    g_autofree char *path = write_file("bad.yml", "tst:\n  name: good\n  every: 5m\n");
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_settings_load(path, &err), 0);
    uint64_t gen = orchard_settings_generation(ctx_a);
    static const char *const bad[] = {
        "tst:\n  name: [unclosed\n",          /* not YAML */
        "- a\n- b\n",                         /* not a mapping */
        "tst:\n  name: x\n  every: soon\n",   /* not a duration */
        "tst:\n  file: [/a, /b]\n",           /* a list where a path belongs */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        rewrite("bad.yml", bad[i]);
        g_clear_pointer(&err, g_free);
        CU_ASSERT(orchard_settings_reload(&err) < 0);
        CU_ASSERT_PTR_NOT_NULL(err);
        CU_ASSERT_STRING_EQUAL(orchard_settings_string(ctx_a, "tst.name"), "good");
        CU_ASSERT_EQUAL(orchard_settings_generation(ctx_a), gen);
    }
    /* The file disappears: the old snapshot stays too. */
    g_unlink(path);
    g_clear_pointer(&err, g_free);
    CU_ASSERT_EQUAL(orchard_settings_reload(&err), ORCHARD_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(orchard_settings_string(ctx_a, "tst.name"), "good");
    undeclare();
}

static void test_settings__override(void)
{
    seen_events seen = {.payloads = g_ptr_array_new_with_free_func(g_free)};
    g_mutex_init(&seen.lock);
    declare();
    CU_ASSERT_EQUAL_FATAL(orchard_events_subscribe(ctx_a, "settings.*", on_changed, &seen), 0);
    g_autofree char *path = write_file("override.yml", "tst:\n  every: 5m\n");
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(orchard_settings_load(path, &err), 0);
    uint64_t gen = orchard_settings_generation(ctx_a);
    int64_t ms = 0;

    CU_ASSERT_EQUAL(orchard_settings_override(ctx_a, "tst.every", "90s"), 0);
    CU_ASSERT(orchard_settings_duration(ctx_a, "tst.every", &ms) == 0 && ms == 90000);
    CU_ASSERT(orchard_settings_generation(ctx_a) > gen);
    gen = orchard_settings_generation(ctx_a);
    /* By an alias too; refused: a bad value, an undeclared key. */
    CU_ASSERT_EQUAL(orchard_settings_override(ctx_a, "tst.cert", "/run/x.pem"), 0);
    CU_ASSERT_STRING_EQUAL(orchard_settings_path(ctx_a, "tst.file"), "/run/x.pem");
    CU_ASSERT_EQUAL(orchard_settings_override(ctx_a, "tst.every", "soon"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_settings_override(ctx_a, "tst.count", "1.5"), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_settings_override(ctx_a, "tst.nope", "1"), ORCHARD_ENOTFOUND);
    CU_ASSERT(orchard_settings_duration(ctx_a, "tst.every", &ms) == 0 && ms == 90000);
    orchard_events_flush_stop();
    CU_ASSERT_EQUAL(seen.payloads->len, 2);
    if (seen.payloads->len)
        CU_ASSERT_STRING_EQUAL(g_ptr_array_index(seen.payloads, 0),
                               "settings.changed [\"tst.every\"]");
    /* The next reload starts from the file again. */
    CU_ASSERT_EQUAL(orchard_settings_reload(&err), 0);
    CU_ASSERT(orchard_settings_duration(ctx_a, "tst.every", &ms) == 0 && ms == 300000);
    orchard_events_forget(ctx_a);
    g_ptr_array_unref(seen.payloads);
    g_mutex_clear(&seen.lock);
    undeclare();
}

static void test_settings__effective(void)
{
    declare();
    load("tst:\n  name: x\n  secret: hush\n");
    g_autoptr(GPtrArray) all = orchard_settings_effective();
    int found_name = 0, found_secret = 0, found_every = 0;
    for (guint i = 0; i < all->len; i++) {
        const orchard_setting_effective *e = g_ptr_array_index(all, i);
        if (e->decl == &s_name)
            found_name = e->value && !strcmp(e->value, "x") && !e->is_default &&
                         strstr(e->origin, "settings.yml") && !strcmp(e->owner, "tst-a");
        if (e->decl == &s_secret)
            found_secret = e->value && !strcmp(e->value, "hush");
        if (e->decl == &s_every)
            found_every = e->value && !strcmp(e->value, "1m") && e->is_default;
    }
    CU_ASSERT(found_name && found_secret && found_every);
    /* A secret in a file everyone can read is named (and its value is not). */
    g_autofree char *path = g_build_filename(dir, "settings.yml", NULL);
    g_chmod(path, 0644);
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(orchard_settings_load(path, &err), 0);
    g_autoptr(GPtrArray) problems = orchard_settings_problems();
    int named = 0;
    for (guint i = 0; i < problems->len; i++) {
        const orchard_settings_problem *p = g_ptr_array_index(problems, i);
        named |= strstr(p->message, "readable by every user") && strstr(p->message, "tst.secret")
                 && !strstr(p->message, "hush");
    }
    CU_ASSERT(named);
    undeclare();
}

void settings_suite(void)
{
    ORCHARD_ADD_SUITE("settings", suite_init, suite_cleanup,
                      {"parse_bool_int", test_settings__parse_bool_int},
                      {"parse_duration", test_settings__parse_duration},
                      {"parse_bytes", test_settings__parse_bytes},
                      {"suggest", test_settings__suggest},
                      {"owners_and_clashes", test_settings__owners_and_clashes},
                      {"typed_getters", test_settings__typed_getters},
                      {"unknown_and_fleet_keys", test_settings__unknown_and_fleet_keys},
                      {"aliases", test_settings__aliases},
                      {"env_precedence", test_settings__env_precedence},
                      {"reload_swaps", test_settings__reload_swaps},
                      {"bad_reload_keeps_old", test_settings__bad_reload_keeps_old},
                      {"override", test_settings__override},
                      {"effective", test_settings__effective});
}
