/* config_check: `orchard config check` as a newcomer meets it (a misspelt
 * key with the closest real one, a list where a path belongs, Fleet's keys
 * orchard ignores, the settings printed as YAML that reads back, a short
 * challenge, file modes, an unreadable file that says why, an expired APNs
 * certificate that `get mdm-apple` agrees on), and `orchard serve` refusing a
 * key anyone can write and reloading its settings on SIGHUP while serving. */
#include "tests/server/mdm_fixtures.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml.h>

static const char *const CHECK[] = {"config", "check", NULL};
static char *scratch; /* a 0755 directory of our own (mdmfx's is 0700) */

static int suite_init(void)
{
    scratch = g_dir_make_tmp("orchard-check-XXXXXX", NULL);
    if (!scratch || g_chmod(scratch, 0755) != 0)
        return -1;
    return mdmfx_setup();
}

static int suite_cleanup(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", scratch);
    int rc = system(cmd);
    g_clear_pointer(&scratch, g_free);
    return mdmfx_teardown() || rc ? -1 : 0;
}

static int contains(const char *hay, const char *needle)
{
    if (hay && strstr(hay, needle))
        return 1;
    fprintf(stderr, "\n  expected \"%s\" in:\n%s\n", needle, hay ? hay : "(null)");
    return 0;
}

/* The good configuration with kv, `extra` YAML appended (after the mdm:
 * section, which the writer puts last), at `mode`. g_free. */
static char *config_with(const char *const *kv, const char *extra, int mode)
{
    char *path = mdmfx_write_config(kv);
    if (extra) {
        g_autofree char *text = NULL;
        g_file_get_contents(path, &text, NULL, NULL);
        g_autofree char *more = g_strconcat(text, extra, NULL);
        g_file_set_contents(path, more, -1, NULL);
    }
    g_chmod(path, mode);
    return path;
}

static int run_cfg(const char *cfg, const char *const *env, const char *const *cmd, char **out,
                   char **err)
{
    const char *args[16] = {"--config", cfg};
    size_t n = 2;
    for (size_t i = 0; cmd[i] && n < G_N_ELEMENTS(args) - 1; i++)
        args[n++] = cmd[i];
    args[n] = NULL;
    return mdmfx_run(args, env, out, err);
}

/* --- keys */

static void test_check__typo_names_closest_key(void)
{
    const char *const kv[] = {"mdm.apple_scep_challenge_tll", "2h", NULL};
    g_autofree char *cfg = config_with(kv, NULL, 0600);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_cfg(cfg, NULL, CHECK, &out, &err), 1);
    CU_ASSERT(contains(err, "unknown key mdm.apple_scep_challenge_tll"));
    CU_ASSERT(contains(err, "did you mean mdm.apple_scep_challenge_ttl?"));
    CU_ASSERT(!strstr(out, "The configuration is valid"));
    /* Other commands go on, with the same warning. */
    const char *const get[] = {"get", "mdm-apple", NULL};
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_cfg(cfg, NULL, get, &out, &err), 0);
    CU_ASSERT(contains(err, "did you mean mdm.apple_scep_challenge_ttl?"));
}

static void test_check__list_or_section_where_value_belongs(void)
{
    const char *const no_cert[] = {"mdm.apple_apns_cert", NULL, NULL};
    g_autofree char *cfg = config_with(no_cert, "  apple_apns_cert: [/a.crt, /b.crt]\n", 0600);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_cfg(cfg, NULL, CHECK, &out, &err), 1);
    CU_ASSERT(contains(err, "mdm.apple_apns_cert"));
    CU_ASSERT(contains(err, "a list where a path belongs"));
    CU_ASSERT(!strstr(out, "The configuration is valid"));
    /* Serve and every other command stop too: the key would read as unset. */
    const char *const get[] = {"get", "mdm-apple", NULL};
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_cfg(cfg, NULL, get, &out, &err), 1);
    CU_ASSERT(contains(err, "a list where a path belongs"));

    g_autofree char *cfg2 = config_with(NULL, "org_info:\n  org_name:\n    first: Acme\n", 0600);
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_cfg(cfg2, NULL, CHECK, &out, &err), 1);
    CU_ASSERT(contains(err, "org_info.org_name"));
    CU_ASSERT(contains(err, "a section where a value belongs"));
}

static void test_check__fleet_keys_ignored(void)
{
    g_autofree char *cfg = config_with(
        NULL, "mysql:\n  address: db:3306\n  password: mysql-pw-9977\nredis:\n  address: r\n"
              "logging:\n  json: true\nosquery:\n  result_log_file: /x\nvulnerabilities:\n"
              "  databases_path: /v\nserver:\n  tls: true\n", 0600);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_cfg(cfg, NULL, CHECK, &out, &err), 0);
    static const char *const sections[] = {"mysql (", "redis (", "logging (", "osquery (",
                                           "vulnerabilities ("};
    for (size_t i = 0; i < G_N_ELEMENTS(sections); i++)
        CU_ASSERT(contains(err, sections[i]));
    CU_ASSERT(contains(err, "a Fleet setting orchard does not use; ignored"));
    CU_ASSERT(!strstr(err, "unknown key"));
    CU_ASSERT(!strstr(out, "mysql-pw-9977") && !strstr(err, "mysql-pw-9977"));
    CU_ASSERT(contains(out, "The configuration is valid."));
}

/* --- the YAML it prints */

static void flatten(yaml_document_t *doc, yaml_node_t *node, const char *prefix,
                    GHashTable *out)
{
    if (node->type == YAML_SCALAR_NODE) {
        g_hash_table_replace(out, g_strdup(prefix),
                             g_strndup((char *)node->data.scalar.value, node->data.scalar.length));
    } else if (node->type == YAML_SEQUENCE_NODE) {
        GString *s = g_string_new(NULL);
        for (yaml_node_item_t *i = node->data.sequence.items.start;
             i < node->data.sequence.items.top; i++)
            g_string_append_printf(s, "%s%s", s->len ? "," : "",
                                   (char *)yaml_document_get_node(doc, *i)->data.scalar.value);
        g_hash_table_replace(out, g_strdup(prefix), g_string_free(s, FALSE));
    } else if (node->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
             p < node->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            g_autofree char *key = prefix ? g_strdup_printf("%s.%s", prefix,
                                                            (char *)k->data.scalar.value)
                                          : g_strdup((char *)k->data.scalar.value);
            flatten(doc, yaml_document_get_node(doc, p->value), key, out);
        }
    }
}

/* stdout of config check, read back with libyaml: key -> value. NULL when it
 * is not one YAML document. */
static GHashTable *read_back(const char *yaml)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    GHashTable *out = NULL;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, strlen(yaml));
    if (yaml_parser_load(&parser, &doc)) {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root && root->type == YAML_MAPPING_NODE) {
            out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
            flatten(&doc, root, NULL, out);
        }
        yaml_document_delete(&doc);
    } else {
        fprintf(stderr, "\n  not YAML (%s):\n%s\n", parser.problem, yaml);
    }
    yaml_parser_delete(&parser);
    return out;
}

static int value_is(GHashTable *m, const char *key, const char *want)
{
    const char *got = m ? g_hash_table_lookup(m, key) : NULL;
    if (got && strcmp(got, want) == 0)
        return 1;
    fprintf(stderr, "\n  %s: expected \"%s\", got \"%s\"\n", key, want, got ? got : "(none)");
    return 0;
}

static void test_check__yaml_reads_back(void)
{
    /* Not a planted secret: this run shows it with --show-secrets. */
    static const char challenge[] = "Reads-Back-Challenge-0123456789abcdef";
    static const char org[] = "Acme: #1 \"Best\" 'Inc' - {x}";
    const char *const kv[] = {"mdm.apple_scep_challenge", challenge,
                              "mdm.apple_scep_signer_validity_days", "30", NULL};
    g_autofree char *org_env = g_strdup_printf("ORCHARD_ORG_INFO_ORG_NAME=%s", org);
    const char *const env[] = {org_env, "FLEET_SERVER_ADDRESS=127.0.0.1:9443", NULL};
    g_autofree char *cfg = config_with(kv, NULL, 0600);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(run_cfg(cfg, env, CHECK, &out, &err), 0);
    GHashTable *m = read_back(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    g_autofree char *apns = mdmfx_path("apns.crt");
    g_autofree char *db = mdmfx_path("orchard.db");
    CU_ASSERT(value_is(m, "mdm.apple_apns_cert", apns));
    CU_ASSERT(value_is(m, "store.sqlite", db));
    CU_ASSERT(value_is(m, "server.url", "https://mdm.example.com"));
    CU_ASSERT(value_is(m, "server.address", "127.0.0.1:9443"));
    CU_ASSERT(value_is(m, "org_info.org_name", org));
    CU_ASSERT(value_is(m, "mdm.apple_scep_signer_validity_days", "30"));
    CU_ASSERT(value_is(m, "mdm.apple_scep_challenge_ttl", "1h"));
    CU_ASSERT(value_is(m, "store.busy_timeout_ms", "5000"));
    CU_ASSERT(value_is(m, "agent.root", "/"));
    CU_ASSERT(value_is(m, "mdm.apple_scep_challenge", "REDACTED"));
    CU_ASSERT(g_hash_table_size(m) >= 25);
    CU_ASSERT(!strstr(out, challenge) && !strstr(err, challenge));
    g_hash_table_destroy(m);

    const char *const show[] = {"config", "check", "--show-secrets", NULL};
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL_FATAL(run_cfg(cfg, env, show, &out, &err), 0);
    m = read_back(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT(value_is(m, "mdm.apple_scep_challenge", challenge));
    CU_ASSERT(value_is(m, "org_info.org_name", org));
    g_hash_table_destroy(m);
}

static void test_check__short_challenge_warns(void)
{
    g_autofree char *cfg = config_with(NULL, NULL, 0600); /* the planted one: 16 characters */
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_cfg(cfg, NULL, CHECK, &out, &err), 0);
    CU_ASSERT(contains(err, "warning: mdm.apple_scep_challenge is 16 characters long"));
    CU_ASSERT(contains(out, "The configuration is valid."));
    const char *const kv[] = {"mdm.apple_scep_challenge", "0123456789abcdef0123456789ABCDEF",
                              NULL};
    g_autofree char *cfg2 = config_with(kv, NULL, 0600);
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_cfg(cfg2, NULL, CHECK, &out, &err), 0);
    CU_ASSERT(!strstr(err, "characters long"));
}

/* server.address has one owner, the host's HTTP service: config check asks
 * its parser, so what config check passes is what serve listens on (the
 * server plugin used to parse it again, with rules of its own). */
static void test_check__server_address_by_its_owner(void)
{
    const char *bad[] = {"localhost", "127.0.0.1:99999", "::1:80"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        const char *const kv[] = {"server.address", bad[i], NULL};
        g_autofree char *cfg = config_with(kv, NULL, 0600);
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(run_cfg(cfg, NULL, CHECK, &out, &err), 1);
        CU_ASSERT(contains(err, "server.address"));
        CU_ASSERT(contains(err, bad[i]));
        CU_ASSERT(contains(err, "the configuration is not valid"));
    }
    const char *const good[] = {"server.address", "[::1]:9443", NULL};
    g_autofree char *cfg = config_with(good, NULL, 0600);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_cfg(cfg, NULL, CHECK, &out, &err), 0);
    CU_ASSERT(contains(out, "address: '[::1]:9443'") || contains(out, "address: \"[::1]:9443\""));
}

static void test_check__expired_apns_agrees_with_get(void)
{
    const char *const kv[] = {"mdm.apple_apns_cert", "fx:apns_expired.crt", NULL};
    g_autofree char *cfg = config_with(kv, NULL, 0600);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_cfg(cfg, NULL, CHECK, &out, &err), 1);
    g_autofree char *all = g_strconcat(out, err, NULL);
    CU_ASSERT(contains(all, "MDM is off"));
    CU_ASSERT(contains(all, "expired on"));
    CU_ASSERT(!strstr(out, "The configuration is valid"));
    const char *const get[] = {"get", "mdm-apple", NULL};
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_cfg(cfg, NULL, get, &out, &err), 1);
    CU_ASSERT(contains(err, "MDM is off"));
}

static void test_check__get_json_renew_date_rfc3339(void)
{
    const char *const get[] = {"get", "mdm-apple", "--json", NULL};
    g_autofree char *cfg = config_with(NULL, NULL, 0600);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(run_cfg(cfg, NULL, get, &out, &err), 0);
    json_t *o = json_loads(out, 0, NULL);
    CU_ASSERT_FATAL(json_is_object(o));
    const char *renew = json_string_value(json_object_get(o, "renew_date"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(renew);
    CU_ASSERT(g_regex_match_simple("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
                                   renew, 0, 0));
    g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(renew, NULL);
    CU_ASSERT_PTR_NOT_NULL(dt);
    CU_ASSERT_STRING_EQUAL(renew, json_string_value(json_object_get(o, "not_after")));
    json_decref(o);
}

/* --- file modes and unreadable files */

/* A copy of a fixture in the scratch directory at `mode`. g_free. */
static char *copy_at(const char *fixture, const char *name, int mode)
{
    g_autofree char *text = mdmfx_read(fixture);
    char *path = g_build_filename(scratch, name, NULL);
    g_file_set_contents(path, text, -1, NULL);
    g_chmod(path, mode);
    return path;
}

static void test_check__key_and_config_modes(void)
{
    static const struct {
        int mode;
        const char *says;
    } cases[] = {
        {0644, "readable by every user (mode 0644)"},
        {0640, "readable by its group (mode 0640)"},
        {0666, "writable by every user (mode 0666)"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = g_strdup_printf("apns-%o.key", cases[i].mode);
        g_autofree char *key = copy_at("apns.key", name, cases[i].mode);
        const char *const kv[] = {"mdm.apple_apns_key", key, NULL};
        g_autofree char *cfg = config_with(kv, NULL, 0600);
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(run_cfg(cfg, NULL, CHECK, &out, &err), 0);
        CU_ASSERT(contains(err, "warning: mdm.apple_apns_key: "));
        CU_ASSERT(contains(err, cases[i].says));
    }
    g_autofree char *key = copy_at("apns.key", "apns-600.key", 0600);
    const char *const kv[] = {"mdm.apple_apns_key", key, NULL};
    g_autofree char *quiet = config_with(kv, NULL, 0600);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_cfg(quiet, NULL, CHECK, &out, &err), 0);
    CU_ASSERT(!strstr(err, "mdm.apple_apns_key: "));
    CU_ASSERT(!strstr(err, "readable by every user"));
    /* The same file, readable by everyone, holds the challenge. */
    g_chmod(quiet, 0644);
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_cfg(quiet, NULL, CHECK, &out, &err), 0);
    CU_ASSERT(contains(err, "readable by every user (mode 0644) and holds the secret "
                            "mdm.apple_scep_challenge"));
}

/* As root nothing is unreadable: the child drops to nobody first. */
static void as_nobody(gpointer unused)
{
    (void)unused;
    if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
        _exit(99);
}

/* Copy `from` to `to` with `mode`; 0 or -1. */
static int copy_file(const char *from, const char *to, int mode)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(from, &data, &len, NULL) ||
        !g_file_set_contents(to, data, (gssize)len, NULL))
        return -1;
    return g_chmod(to, mode);
}

/* The binary and the server plugin, copied where nobody can reach them: the
 * build tree may sit under a folder only root may enter (a clone in
 * `mktemp -d`, or under /root), and nobody must still run the program.
 * NULL when they cannot be copied. g_free. */
static char *nobody_binary(void)
{
    g_autofree char *dir = g_build_filename(scratch, "bin", NULL);
    g_autofree char *plugins = g_build_filename(dir, "plugins", NULL);
    g_autofree char *build = g_path_get_dirname(ORCHARD_BIN);
    g_autofree char *plugin_from = g_build_filename(build, "plugins", "orchard_server.so", NULL);
    g_autofree char *plugin_to = g_build_filename(plugins, "orchard_server.so", NULL);
    char *bin = g_build_filename(dir, "orchard", NULL);
    if (g_file_test(bin, G_FILE_TEST_IS_EXECUTABLE))
        return bin;
    if (g_mkdir_with_parents(plugins, 0755) != 0 || g_chmod(dir, 0755) != 0 ||
        copy_file(ORCHARD_BIN, bin, 0755) != 0 || copy_file(plugin_from, plugin_to, 0644) != 0) {
        g_free(bin);
        return NULL;
    }
    return bin;
}

static int run_unprivileged(const char *cfg, char **out, char **err)
{
    g_autofree char *bin = nobody_binary();
    CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
    const char *argv[] = {bin, "--config", cfg, "config", "check", NULL};
    int status = 0;
    if (!g_spawn_sync(scratch, (char **)argv, NULL, G_SPAWN_DEFAULT, as_nobody, NULL, out, err,
                      &status, NULL))
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_check__unreadable_says_why(void)
{
    /* Everything nobody may read, except one private key; then the config. */
    g_autofree char *apns = copy_at("apns.crt", "r-apns.crt", 0644);
    g_autofree char *apns_key = copy_at("apns.key", "r-apns.key", geteuid() == 0 ? 0600 : 0);
    g_autofree char *scep = copy_at("scep.crt", "r-scep.crt", 0644);
    g_autofree char *scep_key = copy_at("scep.key", "r-scep.key", 0644);
    g_autofree char *yaml = g_strdup_printf(
        "mdm:\n  apple_apns_cert: %s\n  apple_apns_key: %s\n  apple_scep_cert: %s\n"
        "  apple_scep_key: %s\n  apple_scep_challenge: unreadable-test-challenge-0123456789\n",
        apns, apns_key, scep, scep_key);
    g_autofree char *cfg = g_build_filename(scratch, "r.yml", NULL);
    g_file_set_contents(cfg, yaml, -1, NULL);
    g_chmod(cfg, 0644);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_unprivileged(cfg, &out, &err), 1);
    g_autofree char *want = g_strdup_printf("mdm.apple_apns_key: %s: Permission denied",
                                            apns_key);
    CU_ASSERT(contains(err, want));

    g_chmod(cfg, geteuid() == 0 ? 0600 : 0);
    g_free(out);
    g_free(err);
    CU_ASSERT_EQUAL(run_unprivileged(cfg, &out, &err), 1);
    CU_ASSERT(contains(err, cfg));
    CU_ASSERT(contains(err, "Permission denied"));
}

/* --- serve */


typedef struct {
    GPid pid;
    int err_fd;
    GString *log; /* its stderr so far */
} serving;

static int start_serve(const char *cfg, serving *s)
{
    const char *argv[] = {ORCHARD_BIN, "--config", cfg, "serve", NULL};
    s->log = g_string_new(NULL);
    s->pid = 0;
    return g_spawn_async_with_pipes(scratch, (char **)argv, NULL,
                                    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                                    NULL, &s->pid, NULL, NULL, &s->err_fd, NULL);
}

/* Read its stderr until `want` shows up after `from` (1), it exits (0) or
 * 15 s pass (0). */
static int wait_log(serving *s, const char *want, size_t from)
{
    gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
    while (g_get_monotonic_time() < deadline) {
        if (s->log->len > from && strstr(s->log->str + from, want))
            return 1;
        struct pollfd p = {.fd = s->err_fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        char buf[1024];
        ssize_t n = read(s->err_fd, buf, sizeof buf);
        if (n <= 0)
            break;
        g_string_append_len(s->log, buf, n);
    }
    if (s->log->len > from && strstr(s->log->str + from, want))
        return 1;
    fprintf(stderr, "\n  waited for \"%s\"; serve said:\n%s\n", want, s->log->str);
    return 0;
}

/* Read stderr for 50 ms (the server may write without pause). */
static void drain(serving *s)
{
    gint64 until = g_get_monotonic_time() + 50 * 1000;
    struct pollfd p = {.fd = s->err_fd, .events = POLLIN};
    char buf[4096];
    ssize_t n;
    while (g_get_monotonic_time() < until && poll(&p, 1, 10) > 0 &&
           (n = read(s->err_fd, buf, sizeof buf)) > 0)
        g_string_append_len(s->log, buf, n);
}

/* Its exit status within 10 s (killed after), -1 when killed. Its stderr
 * is read meanwhile, so a full pipe never holds it up. */
static int reap(serving *s)
{
    int status = 0;
    for (int i = 0; i < 200; i++) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid)
            goto done;
        drain(s);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
done:
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        fprintf(stderr, "\n  serve ended with status 0x%x:\n%s\n", status,
                s->log->len > 3000 ? s->log->str + s->log->len - 3000 : s->log->str);
    g_spawn_close_pid(s->pid);
    close(s->err_fd);
    g_string_free(s->log, TRUE);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_serve__refuses_world_writable_key(void)
{
    g_autofree char *key = copy_at("apns.key", "ww-apns.key", 0666);
    g_autofree char *db = g_build_filename(scratch, "ww.db", NULL);
    g_autofree char *address = g_strdup_printf("127.0.0.1:%d", mdmfx_free_port());
    const char *const kv[] = {"mdm.apple_apns_key", key, "store.sqlite", db, "server.address",
                              address, NULL};
    g_autofree char *cfg = config_with(kv, NULL, 0600);
    serving s;
    CU_ASSERT_FATAL(start_serve(cfg, &s));
    CU_ASSERT(wait_log(&s, "refusing to start", 0));
    CU_ASSERT(strstr(s.log->str, "writable by every user (mode 0666)") != NULL);
    CU_ASSERT(strstr(s.log->str, "listening") == NULL);
    CU_ASSERT_EQUAL(reap(&s), 1);
}

/* Requests in a loop on another thread, counting the ones not answered. */
typedef struct {
    char *url;
    gint stop;
    gint sent, failed;
} hammer;

static gpointer hammer_run(gpointer p)
{
    hammer *h = p;
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, h->url);
    curl_easy_setopt(curl, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fwrite);
    FILE *sink = fopen("/dev/null", "w");
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, sink);
    while (!g_atomic_int_get(&h->stop)) {
        long code = 0;
        CURLcode rc = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        g_atomic_int_inc(&h->sent);
        if (rc != CURLE_OK || code != 404) {
            g_atomic_int_inc(&h->failed);
            fprintf(stderr, "\n  request %d: %s, HTTP %ld\n", g_atomic_int_get(&h->sent),
                    curl_easy_strerror(rc), code);
        }
    }
    fclose(sink);
    curl_easy_cleanup(curl);
    return NULL;
}

/* One setting serve reads on every download (so a reload applies to it) in
 * the file, a key file that others can read and the 16-character challenge
 * (both warned about). */
static void write_serving_config(const char *path, const char *address, const char *db,
                                 const char *key, int per_minute)
{
    g_autofree char *limit = g_strdup_printf("%d", per_minute);
    const char *const kv[] = {"store.sqlite", db, "server.address", address,
                              "mdm.apple_apns_key", key,
                              "mdm.enroll_downloads_per_minute", limit, NULL};
    g_autofree char *tmp = config_with(kv, NULL, 0600);
    g_autofree char *text = NULL;
    g_file_get_contents(tmp, &text, NULL, NULL);
    g_file_set_contents(path, text, -1, NULL);
    g_chmod(path, 0600);
}

static void test_serve__sighup_reloads_while_serving(void)
{
    g_autofree char *key = copy_at("apns.key", "hup-apns.key", 0644);
    g_autofree char *db = g_build_filename(scratch, "hup.db", NULL);
    int port = mdmfx_free_port();
    g_autofree char *address = g_strdup_printf("127.0.0.1:%d", port);
    g_autofree char *cfg = g_build_filename(scratch, "hup.yml", NULL);
    write_serving_config(cfg, address, db, key, 60);
    serving s;
    CU_ASSERT_FATAL(start_serve(cfg, &s));
    int up = wait_log(&s, "listening on", 0);
    CU_ASSERT(up);
    /* serve warns about what it accepts but doubts. */
    CU_ASSERT(strstr(s.log->str, "warning: mdm.apple_apns_key: ") != NULL);
    CU_ASSERT(strstr(s.log->str, "mdm.apple_scep_challenge is 16 characters long") != NULL);
    if (!up) {
        kill(s.pid, SIGKILL);
        reap(&s);
        return;
    }
    hammer h = {.url = g_strdup_printf("http://%s/no/such/route", address)};
    GThread *t = g_thread_new("hammer", hammer_run, &h);
    for (int i = 1; i <= 5; i++) {
        size_t from = s.log->len;
        write_serving_config(cfg, address, db, key, 60 + i);
        CU_ASSERT_EQUAL(kill(s.pid, SIGHUP), 0);
        g_autofree char *want = g_strdup_printf("changed mdm.enroll_downloads_per_minute");
        CU_ASSERT(wait_log(&s, want, from));
        drain(&s);
    }
    /* A broken file: the reload is refused, the settings in force stay. */
    size_t from = s.log->len;
    g_file_set_contents(cfg, "mdm: [not, a, mapping\n", -1, NULL);
    CU_ASSERT_EQUAL(kill(s.pid, SIGHUP), 0);
    CU_ASSERT(wait_log(&s, "reload refused, the settings in force stay", from));
    /* Requests go on meanwhile; their access log lines are read, or a full
     * pipe would hold the server's workers. */
    for (int i = 0; i < 4; i++)
        drain(&s);
    g_atomic_int_set(&h.stop, 1);
    g_thread_join(t);
    CU_ASSERT(g_atomic_int_get(&h.sent) > 10);
    CU_ASSERT_EQUAL(g_atomic_int_get(&h.failed), 0);
    if (g_atomic_int_get(&h.failed))
        fprintf(stderr, "\n  %d of %d requests unanswered; serve said:\n%s\n",
                g_atomic_int_get(&h.failed), g_atomic_int_get(&h.sent), s.log->str);
    CU_ASSERT_EQUAL(kill(s.pid, 0), 0); /* alive */
    kill(s.pid, SIGTERM);
    CU_ASSERT_EQUAL(reap(&s), 0);
    g_free(h.url);
}

static void test_no_secret_in_any_output(void) { CU_ASSERT_EQUAL(mdmfx_leaks(), 0); }

void config_check_suite(void)
{
    ORCHARD_ADD_SUITE("config_check", suite_init, suite_cleanup,
                      {"typo_names_closest_key", test_check__typo_names_closest_key},
                      {"list_or_section_where_value_belongs",
                       test_check__list_or_section_where_value_belongs},
                      {"fleet_keys_ignored", test_check__fleet_keys_ignored},
                      {"yaml_reads_back", test_check__yaml_reads_back},
                      {"short_challenge_warns", test_check__short_challenge_warns},
                      {"server_address_by_its_owner", test_check__server_address_by_its_owner},
                      {"expired_apns_agrees_with_get", test_check__expired_apns_agrees_with_get},
                      {"get_json_renew_date_rfc3339", test_check__get_json_renew_date_rfc3339},
                      {"key_and_config_modes", test_check__key_and_config_modes},
                      {"unreadable_says_why", test_check__unreadable_says_why},
                      {"serve_refuses_world_writable_key",
                       test_serve__refuses_world_writable_key},
                      {"serve_sighup_reloads_while_serving",
                       test_serve__sighup_reloads_while_serving},
                      {"no_secret_in_any_output", test_no_secret_in_any_output});
}
