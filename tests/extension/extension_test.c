/* Extension mode end to end: the real orchard.ext binary, loaded with the
 * fake plugin, against the fake osqueryd (tests/support/fake_osqueryd.c).
 * Covers registration, the calls osqueryd makes, concurrency, staying
 * registered across an osqueryd restart, and every way the process ends. */
#include "tests/suites.h"

#include "tests/support/fake_osqueryd.h"

#include "host/plugins/registry.h"
#include "extension/unix_socket.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define RPC_TIMEOUT_MS 5000
/* Registration and exits wait on the extension's --interval (1 s) ticks; the
 * bounds leave room for a sanitizer build, and are only reached on failure. */
#define REGISTER_WAIT_MS 10000
#define EXIT_WAIT_MS 8000
#define IDS_CONTEXT(id) \
    "{\"constraints\":[{\"name\":\"id\",\"list\":[{\"op\":2,\"expr\":\"" id "\"}]," \
    "\"affinity\":\"INTEGER\"}]}"

/* What one test started. Kept in a static so that a test a fatal assertion
 * ended early still has its child killed and its files removed: by the next
 * test's fixture_reset() or by the suite cleanup. */
typedef struct {
    fake_osqueryd *osq;
    GPid pid;      /* 0 once reaped */
    int status;    /* wait status, once reaped */
    char *log;     /* the child's stdout and stderr */
    char *tmpdir;  /* for tests without a fake osqueryd */
    unsigned failures_at_start;
} fixture;

static fixture fx;

/* Show the extension's own account when its test failed (or always, with
 * ORCHARD_TEST_SHOW_LOGS set): a bare assertion rarely says why. */
static void show_log(void)
{
    g_autofree char *text = NULL;
    if (!fx.log || (CU_get_number_of_failures() == fx.failures_at_start &&
                    !g_getenv("ORCHARD_TEST_SHOW_LOGS")))
        return;
    if (g_file_get_contents(fx.log, &text, NULL, NULL))
        fprintf(stderr, "\n--- orchard.ext output ---\n%s--- end ---\n", text);
}

static void fixture_reset(void)
{
    if (fx.pid > 0) {
        kill(fx.pid, SIGKILL);
        waitpid(fx.pid, NULL, 0);
    }
    show_log();
    fake_osqueryd_stop(fx.osq);
    if (fx.tmpdir) {
        if (fx.log)
            g_unlink(fx.log);
        g_rmdir(fx.tmpdir);
    }
    g_free(fx.log);
    g_free(fx.tmpdir);
    memset(&fx, 0, sizeof fx);
}

static int suite_cleanup(void)
{
    fixture_reset();
    return 0;
}

/* The child dies with us, so a crashed runner leaves no extension behind. */
static void child_setup(gpointer data)
{
    (void)data;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* Start orchard.ext on `socket`, output to fx.log. Returns TRUE when started. */
static gboolean spawn_ext(const char *socket, const char *timeout_s)
{
    char *argv[] = {ORCHARD_EXT_BIN, "--socket", (char *)socket, "--timeout", (char *)timeout_s,
                    "--interval", "1", "--verbose", "--plugin", FAKE_PLUGIN, NULL};
    GError *err = NULL;
    int fd = open(fx.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return FALSE;
    gboolean ok = g_spawn_async_with_fds(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, child_setup,
                                         NULL, &fx.pid, -1, fd, fd, &err);
    close(fd);
    if (!ok) {
        fprintf(stderr, "spawn %s: %s\n", ORCHARD_EXT_BIN, err->message);
        g_clear_error(&err);
        fx.pid = 0;
    }
    return ok;
}

/* Wait until registration i has arrived and its socket answers ping (the
 * extension registers first and then starts serving, as osquery's SDK does). */
static const fake_registration *wait_serving(guint i)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)REGISTER_WAIT_MS * 1000;
    if (!fake_osqueryd_wait_registrations(fx.osq, i + 1, REGISTER_WAIT_MS))
        return NULL;
    const fake_registration *r = fake_osqueryd_registration(fx.osq, i);
    g_autofree char *path = fake_osqueryd_ext_socket(fx.osq, r->uuid);
    int code = -1;
    while (fake_ext_ping(path, RPC_TIMEOUT_MS, &code, NULL) != 0 || code != 0) {
        if (g_get_monotonic_time() >= deadline)
            return NULL;
        g_usleep(10 * 1000);
    }
    return r;
}

/* A fake osqueryd and an extension registered with it and serving; NULL on failure. */
static const fake_registration *start_registered(const char *const *existing_tables)
{
    fixture_reset();
    fx.failures_at_start = CU_get_number_of_failures();
    fx.osq = fake_osqueryd_start(existing_tables);
    if (!fx.osq)
        return NULL;
    fx.log = fake_osqueryd_file(fx.osq, "ext.log");
    if (!spawn_ext(fake_osqueryd_socket(fx.osq), "3"))
        return NULL;
    return wait_serving(0);
}

/* A temp dir with no osqueryd in it, for the tests of failed starts. */
static gboolean start_bare(void)
{
    fixture_reset();
    fx.failures_at_start = CU_get_number_of_failures();
    fx.tmpdir = g_dir_make_tmp("orchard-ext-XXXXXX", NULL);
    if (!fx.tmpdir)
        return FALSE;
    fx.log = g_build_filename(fx.tmpdir, "ext.log", NULL);
    return TRUE;
}

/* Reap the child if it exits within timeout_ms. TRUE when it did. */
static gboolean wait_exit(int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    while (fx.pid > 0) {
        pid_t r = waitpid(fx.pid, &fx.status, WNOHANG);
        if (r == fx.pid || (r < 0 && errno != EINTR)) {
            fx.pid = 0;
            return r > 0;
        }
        if (g_get_monotonic_time() >= deadline)
            return FALSE;
        g_usleep(20 * 1000);
    }
    return TRUE;
}

static int exit_code(void)
{
    return WIFEXITED(fx.status) ? WEXITSTATUS(fx.status) : -1;
}

static gboolean still_running(void)
{
    return fx.pid > 0 && waitpid(fx.pid, &fx.status, WNOHANG) == 0;
}

/* Does a line of the child's output contain both needles? */
static gboolean log_has_line(const char *a, const char *b)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(fx.log, &text, NULL, NULL))
        return FALSE;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++)
        if (strstr(*l, a) && (!b || strstr(*l, b)))
            return TRUE;
    return FALSE;
}

static char *ext_socket(const fake_registration *r)
{
    return fake_osqueryd_ext_socket(fx.osq, r->uuid);
}

static int ping_code(const char *path)
{
    int code = -1;
    g_autofree char *err = NULL;
    if (fake_ext_ping(path, RPC_TIMEOUT_MS, &code, &err) != 0) {
        fprintf(stderr, "ping %s: %s\n", path, err);
        return -1;
    }
    return code;
}

/* call("table", table, {action, context}); NULL when the call itself failed. */
static osqueryExtensionResponse *table_call(const char *path, const char *table,
                                            const char *action, const char *context)
{
    osqueryExtensionResponse *resp = NULL;
    g_autofree char *err = NULL;
    if (fake_ext_table_call(path, RPC_TIMEOUT_MS, table, action, context, &resp, &err) != 0)
        fprintf(stderr, "call %s %s: %s\n", table, action, err);
    return resp;
}

static GHashTable *resp_row(osqueryExtensionResponse *resp, guint i)
{
    return i < resp->response->len ? g_ptr_array_index(resp->response, i) : NULL;
}

static gboolean str_maps_equal(GHashTable *a, GHashTable *b)
{
    GHashTableIter it;
    gpointer k, v;
    if (g_hash_table_size(a) != g_hash_table_size(b))
        return FALSE;
    g_hash_table_iter_init(&it, a);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const char *other = g_hash_table_lookup(b, k);
        if (!other || strcmp(other, v) != 0)
            return FALSE;
    }
    return TRUE;
}

/* Every table orchard.ext registers here: the built-in plugins' and the fake
 * plugin's, asked of a registry loaded the way main() loads it. */
static GPtrArray *all_table_names(void)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    orchard_registry *reg = orchard_registry_new();
    g_autofree char *err = NULL;
    if (orchard_registry_load_defaults(reg, 0, &err) == 0 &&
        orchard_registry_load(reg, FAKE_PLUGIN, &err) == 0)
        for (size_t i = 0; i < orchard_registry_table_count(reg); i++)
            g_ptr_array_add(names, g_strdup(orchard_registry_table(reg, i)->name));
    orchard_registry_free(reg);
    return names;
}

static guint n_tables(void)
{
    GPtrArray *names = all_table_names();
    guint n = names->len;
    g_ptr_array_unref(names);
    return n;
}

/* --- tests */

static void test_registers_tables(void)
{
    const fake_registration *r = start_registered(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(r->name, "orchard");
    CU_ASSERT_STRING_EQUAL(r->version, ORCHARD_VERSION);
    CU_ASSERT_EQUAL(g_hash_table_size(r->tables), n_tables());
    CU_ASSERT_TRUE(n_tables() > 3); /* the agent tables too */
    CU_ASSERT_TRUE(g_hash_table_contains(r->tables, "orchard_plugins"));
    CU_ASSERT_TRUE(g_hash_table_contains(r->tables, "fake_items"));
    CU_ASSERT_TRUE(g_hash_table_contains(r->tables, "fake_slow"));
    GPtrArray *cols = g_hash_table_lookup(r->tables, "fake_items");
    CU_ASSERT_EQUAL_FATAL(cols ? cols->len : 0, 3);
    /* Column order is the spec's: osquery builds its CREATE TABLE from it. */
    CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(g_ptr_array_index(cols, 0), "name"), "id");
    CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(g_ptr_array_index(cols, 2), "name"), "note");
    CU_ASSERT_STRING_EQUAL(fake_registration_column(r, "fake_items", "id", "id"), "column");
    CU_ASSERT_STRING_EQUAL(fake_registration_column(r, "fake_items", "id", "type"), "INTEGER");
    CU_ASSERT_STRING_EQUAL(fake_registration_column(r, "fake_items", "id", "op"), "1");
    CU_ASSERT_STRING_EQUAL(fake_registration_column(r, "fake_items", "name", "type"), "TEXT");
    CU_ASSERT_STRING_EQUAL(fake_registration_column(r, "fake_items", "note", "op"), "0");
    CU_ASSERT_STRING_EQUAL(fake_registration_column(r, "fake_slow", "delay_ms", "op"), "1");
    CU_ASSERT_STRING_EQUAL(fake_registration_column(r, "orchard_plugins", "path", "type"), "TEXT");
    fixture_reset();
}

static void test_ping_and_columns(void)
{
    const fake_registration *r = start_registered(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    g_autofree char *path = ext_socket(r);
    CU_ASSERT_EQUAL(ping_code(path), 0);
    const char *tables[] = {"fake_items", "fake_slow", "orchard_plugins"};
    for (size_t t = 0; t < G_N_ELEMENTS(tables); t++) {
        osqueryExtensionResponse *resp = table_call(path, tables[t], "columns", NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
        CU_ASSERT_EQUAL(resp->status->code, 0);
        GPtrArray *registered = g_hash_table_lookup(r->tables, tables[t]);
        CU_ASSERT_EQUAL_FATAL(resp->response->len, registered->len);
        for (guint i = 0; i < registered->len; i++)
            CU_ASSERT_TRUE(str_maps_equal(resp_row(resp, i), g_ptr_array_index(registered, i)));
        g_object_unref(resp);
    }
    fixture_reset();
}

static void test_generate_with_context(void)
{
    const fake_registration *r = start_registered(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    g_autofree char *path = ext_socket(r);

    osqueryExtensionResponse *resp = table_call(path, "fake_items", "generate", IDS_CONTEXT("2"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
    CU_ASSERT_EQUAL(resp->status->code, 0);
    CU_ASSERT_EQUAL_FATAL(resp->response->len, 1);
    GHashTable *row = resp_row(resp, 0);
    CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(row, "id"), "2");
    CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(row, "name"), "pear");
    CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(row, "note"), "green");
    g_object_unref(resp);

    /* SQL NULL travels as a missing key. */
    resp = table_call(path, "fake_items", "generate", IDS_CONTEXT("3"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
    CU_ASSERT_EQUAL_FATAL(resp->response->len, 1);
    row = resp_row(resp, 0);
    CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(row, "name"), "plum");
    CU_ASSERT_FALSE(g_hash_table_contains(row, "note"));
    CU_ASSERT_EQUAL(g_hash_table_size(row), 2);
    g_object_unref(resp);

    /* No context and "{}" both mean no constraints. */
    const char *empty[] = {NULL, "{}"};
    for (size_t i = 0; i < G_N_ELEMENTS(empty); i++) {
        resp = table_call(path, "fake_items", "generate", empty[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
        CU_ASSERT_EQUAL(resp->status->code, 0);
        CU_ASSERT_EQUAL(resp->response->len, 3);
        g_object_unref(resp);
    }
    fixture_reset();
}

static void test_readonly_and_errors(void)
{
    const fake_registration *r = start_registered(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    g_autofree char *path = ext_socket(r);

    osqueryExtensionResponse *resp = table_call(path, "fake_items", "insert", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
    CU_ASSERT_EQUAL(resp->status->code, 0);
    CU_ASSERT_EQUAL_FATAL(resp->response->len, 1);
    CU_ASSERT_EQUAL(g_hash_table_size(resp_row(resp, 0)), 1);
    CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(resp_row(resp, 0), "status"), "readonly");
    g_object_unref(resp);

    resp = table_call(path, "no_such_table", "generate", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
    CU_ASSERT_EQUAL(resp->status->code, 1);
    CU_ASSERT_PTR_NOT_NULL(resp->status->message && strstr(resp->status->message, "no_such_table"));
    g_object_unref(resp);

    resp = table_call(path, "fake_items", "frobnicate", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
    CU_ASSERT_EQUAL(resp->status->code, 1);
    g_object_unref(resp);

    resp = table_call(path, "fake_items", "generate", "{\"constraints\":[{\"name\":");
    CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
    CU_ASSERT_EQUAL(resp->status->code, 1);
    CU_ASSERT_EQUAL(resp->response->len, 0);
    g_object_unref(resp);
    CU_ASSERT_EQUAL(ping_code(path), 0);
    CU_ASSERT_TRUE(still_running());
    fixture_reset();
}

/* A peer that sends half a message: one that stays connected must not hold
 * up others, and one that hangs up must not hurt the process. */
static void test_half_message_peer(void)
{
    /* A strict binary CALL header whose method name promises 4 bytes, 2 sent. */
    static const unsigned char half[] = {0x80, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 'p', 'i'};
    const fake_registration *r = start_registered(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    g_autofree char *path = ext_socket(r);

    int stuck = orchard_unix_connect(path, RPC_TIMEOUT_MS);
    CU_ASSERT_FATAL(stuck >= 0);
    CU_ASSERT_EQUAL(write(stuck, half, sizeof half), (ssize_t)sizeof half);
    gint64 t0 = g_get_monotonic_time();
    CU_ASSERT_EQUAL(ping_code(path), 0);
    CU_ASSERT(g_get_monotonic_time() - t0 < G_USEC_PER_SEC);
    close(stuck);

    for (int round = 0; round < 3; round++) {
        int fd = orchard_unix_connect(path, RPC_TIMEOUT_MS);
        CU_ASSERT_FATAL(fd >= 0);
        ssize_t sent = 0, want = 0;
        if (round == 1)
            sent = write(fd, "garbage!", want = 8);
        else if (round == 2)
            sent = write(fd, half, want = sizeof half);
        CU_ASSERT_EQUAL(sent, want);
        close(fd); /* round 0: connect and hang up without a byte */
    }
    CU_ASSERT_EQUAL(ping_code(path), 0);
    CU_ASSERT_TRUE(still_running());
    fixture_reset();
}

typedef struct {
    const char *path;
    osqueryExtensionResponse *resp;
    gint64 started, finished;
    gint done;
} slow_call;

static gpointer run_slow_call(gpointer data)
{
    slow_call *sc = data;
    sc->started = g_get_monotonic_time();
    sc->resp = table_call(sc->path, "fake_slow", "generate",
                          "{\"constraints\":[{\"name\":\"delay_ms\",\"list\":[{\"op\":2,"
                          "\"expr\":\"3000\"}],\"affinity\":\"INTEGER\"}]}");
    sc->finished = g_get_monotonic_time();
    g_atomic_int_set(&sc->done, 1);
    return NULL;
}

static void test_slow_generate_does_not_block_ping(void)
{
    const fake_registration *r = start_registered(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    g_autofree char *path = ext_socket(r);
    slow_call sc = {path, NULL, 0, 0, 0};

    GThread *th = g_thread_new("slow-call", run_slow_call, &sc);
    g_usleep(300 * 1000); /* let the slow call reach generate */
    gint64 t0 = g_get_monotonic_time();
    int code = ping_code(path);
    gint64 ping_us = g_get_monotonic_time() - t0;
    int slow_still_running = !g_atomic_int_get(&sc.done);
    g_thread_join(th);

    CU_ASSERT_EQUAL(code, 0);
    CU_ASSERT(ping_us < G_USEC_PER_SEC);
    CU_ASSERT_TRUE(slow_still_running); /* the ping really overlapped the generate */
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc.resp);
    CU_ASSERT_EQUAL(sc.resp->status->code, 0);
    CU_ASSERT_EQUAL_FATAL(sc.resp->response->len, 1);
    CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(resp_row(sc.resp, 0), "slept"), "3000");
    CU_ASSERT(sc.finished - sc.started >= 2900 * 1000);
    g_object_unref(sc.resp);
    fixture_reset();
}

static void test_reregisters_after_forget(void)
{
    const fake_registration *r = start_registered(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    g_autofree char *old_path = ext_socket(r);
    CU_ASSERT_EQUAL(ping_code(old_path), 0);

    fake_osqueryd_forget_all(fx.osq);
    const fake_registration *r2 = wait_serving(1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r2);
    CU_ASSERT_NOT_EQUAL(r2->uuid, r->uuid);
    CU_ASSERT_STRING_EQUAL(r2->name, "orchard");
    CU_ASSERT_EQUAL(g_hash_table_size(r2->tables), n_tables());
    g_autofree char *new_path = ext_socket(r2);
    CU_ASSERT_EQUAL(ping_code(new_path), 0);
    osqueryExtensionResponse *resp = table_call(new_path, "fake_items", "generate", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
    CU_ASSERT_EQUAL(resp->response->len, 3);
    g_object_unref(resp);
    CU_ASSERT_FALSE(g_file_test(old_path, G_FILE_TEST_EXISTS));
    /* One restart, one new registration: not one per tick. */
    g_usleep(1500 * 1000);
    CU_ASSERT_EQUAL(fake_osqueryd_registration_count(fx.osq), 2);
    fixture_reset();
}

static void test_clashing_table_left_out(void)
{
    const char *const existing[] = {"processes", "fake_items", NULL};
    const fake_registration *r = start_registered(existing);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_FALSE(g_hash_table_contains(r->tables, "fake_items"));
    CU_ASSERT_TRUE(g_hash_table_contains(r->tables, "fake_slow"));
    CU_ASSERT_TRUE(g_hash_table_contains(r->tables, "orchard_plugins"));
    CU_ASSERT_EQUAL(g_hash_table_size(r->tables), n_tables() - 1);
    CU_ASSERT_TRUE(log_has_line(" W ", "fake_items"));
    CU_ASSERT_FALSE(log_has_line(" W ", "processes"));
    fixture_reset();
}

static void test_manager_socket_removed_exits_0(void)
{
    const fake_registration *r = start_registered(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    g_autofree char *path = ext_socket(r);
    fake_osqueryd_remove_socket(fx.osq);
    CU_ASSERT_TRUE_FATAL(wait_exit(EXIT_WAIT_MS));
    CU_ASSERT_EQUAL(exit_code(), 0);
    CU_ASSERT_FALSE(g_file_test(path, G_FILE_TEST_EXISTS));
    fixture_reset();
}

static void test_shutdown_rpc_exits_0(void)
{
    const fake_registration *r = start_registered(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    g_autofree char *path = ext_socket(r);
    g_autofree char *err = NULL;
    CU_ASSERT_EQUAL(fake_ext_shutdown(path, RPC_TIMEOUT_MS, &err), 0);
    CU_ASSERT_TRUE(fake_osqueryd_wait_deregistered(fx.osq, r->uuid, EXIT_WAIT_MS));
    CU_ASSERT_TRUE_FATAL(wait_exit(EXIT_WAIT_MS));
    CU_ASSERT_EQUAL(exit_code(), 0);
    fixture_reset();
}

static void test_sigterm_deregisters(void)
{
    const fake_registration *r = start_registered(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    g_autofree char *path = ext_socket(r);
    CU_ASSERT_EQUAL(kill(fx.pid, SIGTERM), 0);
    CU_ASSERT_TRUE(fake_osqueryd_wait_deregistered(fx.osq, r->uuid, EXIT_WAIT_MS));
    CU_ASSERT_TRUE_FATAL(wait_exit(EXIT_WAIT_MS));
    CU_ASSERT_EQUAL(exit_code(), 0);
    CU_ASSERT_FALSE(g_file_test(path, G_FILE_TEST_EXISTS));
    fixture_reset();
}

static void test_socket_path_too_long(void)
{
    CU_ASSERT_TRUE_FATAL(start_bare());
    g_autofree char *name = g_strnfill(120, 'x');
    g_autofree char *sock = g_strdup_printf("%s/%s.em", fx.tmpdir, name);
    CU_ASSERT_TRUE_FATAL(spawn_ext(sock, "1"));
    CU_ASSERT_TRUE_FATAL(wait_exit(EXIT_WAIT_MS));
    CU_ASSERT_EQUAL(exit_code(), 1);
    CU_ASSERT_TRUE(log_has_line("too long", NULL));
    fixture_reset();
}

static void test_no_manager_times_out(void)
{
    CU_ASSERT_TRUE_FATAL(start_bare());
    g_autofree char *sock = g_build_filename(fx.tmpdir, "osquery.em", NULL);
    gint64 t0 = g_get_monotonic_time();
    CU_ASSERT_TRUE_FATAL(spawn_ext(sock, "2"));
    CU_ASSERT_TRUE_FATAL(wait_exit(EXIT_WAIT_MS));
    gint64 elapsed_ms = (g_get_monotonic_time() - t0) / 1000;
    CU_ASSERT_NOT_EQUAL(exit_code(), 0);
    CU_ASSERT(elapsed_ms >= 1500); /* it did wait for --timeout... */
    CU_ASSERT(elapsed_ms < 6000);  /* ...and not much longer */
    CU_ASSERT_TRUE(log_has_line(sock, NULL));
    fixture_reset();
}

/* Nothing left to register is a clean failure: exit 1 with a message. */
static void test_all_tables_clash_exits_1(void)
{
    GPtrArray *existing = all_table_names();
    g_ptr_array_add(existing, NULL);
    fixture_reset();
    fx.failures_at_start = CU_get_number_of_failures();
    fx.osq = fake_osqueryd_start((const char *const *)existing->pdata);
    g_ptr_array_unref(existing);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx.osq);
    fx.log = fake_osqueryd_file(fx.osq, "ext.log");
    CU_ASSERT_TRUE_FATAL(spawn_ext(fake_osqueryd_socket(fx.osq), "3"));
    CU_ASSERT_TRUE_FATAL(wait_exit(EXIT_WAIT_MS));
    CU_ASSERT_TRUE(WIFEXITED(fx.status));
    CU_ASSERT_EQUAL(exit_code(), 1);
    CU_ASSERT_EQUAL(fake_osqueryd_registration_count(fx.osq), 0);
    CU_ASSERT_TRUE(log_has_line("nothing to register", NULL));
    fixture_reset();
}

/* osqueryd may delete our socket while it still lists us: the extension
 * then has to serve again (on a new registration or the old one), not give
 * up because its own still-registered tables look like a clash. */
static void test_own_socket_removed_serves_again(void)
{
    const fake_registration *r = start_registered(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    g_autofree char *path = ext_socket(r);
    g_unlink(path);
    gint64 deadline = g_get_monotonic_time() + 6 * G_USEC_PER_SEC;
    int served = 0;
    while (!served && g_get_monotonic_time() < deadline) {
        guint n = fake_osqueryd_registration_count(fx.osq);
        const fake_registration *last = fake_osqueryd_registration(fx.osq, n - 1);
        g_autofree char *p = ext_socket(last);
        int code = -1;
        served = fake_ext_ping(p, 1000, &code, NULL) == 0 && code == 0;
        if (!served)
            g_usleep(100 * 1000);
    }
    CU_ASSERT_TRUE(served);
    fixture_reset();
}

void integration_suite(void)
{
    ORCHARD_ADD_SUITE("integration", NULL, suite_cleanup,
                      {"registers_tables", test_registers_tables},
                      {"ping_and_columns", test_ping_and_columns},
                      {"generate_with_context", test_generate_with_context},
                      {"readonly_and_errors", test_readonly_and_errors},
                      {"half_message_peer", test_half_message_peer},
                      {"slow_generate_does_not_block_ping", test_slow_generate_does_not_block_ping},
                      {"reregisters_after_forget", test_reregisters_after_forget},
                      {"clashing_table_left_out", test_clashing_table_left_out},
                      {"manager_socket_removed_exits_0", test_manager_socket_removed_exits_0},
                      {"shutdown_rpc_exits_0", test_shutdown_rpc_exits_0},
                      {"sigterm_deregisters", test_sigterm_deregisters},
                      {"socket_path_too_long", test_socket_path_too_long},
                      {"no_manager_times_out", test_no_manager_times_out},
                      {"all_tables_clash_exits_1", test_all_tables_clash_exits_1},
                      {"own_socket_removed_serves_again", test_own_socket_removed_serves_again});
}
