/* `orchard extension` / `orchard.ext`: the osquery extension lifecycle.
 *   wait for the manager (ping, up to --timeout s)
 *   -> leave out our tables that osqueryd already has (one clash rejects a
 *      whole registration) -> registerExtension -> serve <socket>.<uuid>
 *   -> every --interval s: is the manager socket still there (else exit 0)?
 *      does extensions() still list our uuid (else register again)?
 *   -> SIGTERM/SIGINT or shutdown(): deregister, stop serving, exit 0. */
#include "host/args.h"
#include "host/commands.h"
#include "extension/ext_call.h"
#include "extension/ext_client.h"
#include "extension/ext_server.h"
#include "host/log.h"
#include "host/plugins/registry.h"
#include "extension/unix_socket.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/var/osquery/osquery.em"
#define EXT_NAME "orchard"
/* Bound on each read/write of a connection osqueryd opened to us. */
#define CONN_IO_TIMEOUT_MS 10000
#define UUID_DIGITS 20 /* "." plus an i64 in decimal fits in 1 + 19 + sign */

typedef struct {
    const char *socket;
    long timeout_s;
    long interval_s;
    const orchard_registry *reg;
    gint64 uuid;
    orchard_ext_server *server;
    int refused; /* consecutive checks that found nobody listening */
} ext_state;

static int parse_flags(int argc, char **argv, ext_state *st)
{
    for (int i = 1; i < argc;) {
        const char *v = NULL;
        const char *flag = argv[i];
        int r;
        if ((r = orchard_arg_value(&i, argc, argv, "socket", &v)) > 0) {
            st->socket = v;
        } else if (r == 0 && (r = orchard_arg_value(&i, argc, argv, "timeout", &v)) > 0) {
            if ((st->timeout_s = orchard_arg_uint(v, 3600)) < 0)
                goto bad_value;
        } else if (r == 0 && (r = orchard_arg_value(&i, argc, argv, "interval", &v)) > 0) {
            if ((st->interval_s = orchard_arg_uint(v, 3600)) <= 0)
                goto bad_value;
        } else if (r < 0) {
            fprintf(stderr, "orchard extension: %s needs a value\n", argv[i]);
            return 2;
        } else if (orchard_arg_flag(argv[i], "verbose")) {
            orchard_log_set_level(ORCHARD_LOG_DEBUG);
            i++;
        } else {
            /* osqueryd may pass flags of newer versions: note them, go on. */
            orchard_warn("extension", "ignoring unknown argument %s", argv[i]);
            i++;
        }
        continue;
    bad_value:
        fprintf(stderr, "orchard extension: invalid value '%s' for %s\n", v, flag);
        return 2;
    }
    return 0;
}

static int timeout_ms(const ext_state *st)
{
    return st->timeout_s > 0 ? (int)(st->timeout_s * 1000) : 1000;
}

/* Ping until the manager answers or --timeout seconds pass. */
static int wait_for_manager(const ext_state *st)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)st->timeout_s * G_USEC_PER_SEC;
    for (;;) {
        g_autofree char *err = NULL;
        int rc = orchard_manager_ping(st->socket, timeout_ms(st), &err);
        if (rc == 0)
            return 0;
        if (rc == ORCHARD_EINVAL || g_get_monotonic_time() >= deadline) {
            orchard_error("extension", "osquery extension manager at %s did not answer within "
                          "%lds: %s", st->socket, st->timeout_s, err);
            return rc;
        }
        g_usleep(50 * 1000);
    }
}

/* Our tables that the manager already has (osquery_registry), so that the
 * rest can still register. Returns a set of names; empty when the manager
 * can't tell us. */
static GHashTable *clashing_tables(const ext_state *st)
{
    GHashTable *clash = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GPtrArray *rows = NULL;
    g_autofree char *err = NULL;

    if (orchard_manager_query(st->socket, timeout_ms(st),
                              "select name from osquery_registry where registry = 'table'", &rows,
                              &err) != 0) {
        orchard_warn("extension", "cannot list osqueryd's tables (%s); registering all of ours",
                     err);
        return clash;
    }
    for (guint i = 0; i < rows->len; i++) {
        const char *name = g_hash_table_lookup(g_ptr_array_index(rows, i), "name");
        if (name && orchard_registry_find_table(st->reg, name))
            g_hash_table_add(clash, g_strdup(name));
    }
    g_ptr_array_unref(rows);
    if (g_hash_table_size(clash) > 0) {
        GString *names = g_string_new(NULL);
        GHashTableIter it;
        gpointer k;
        g_hash_table_iter_init(&it, clash);
        while (g_hash_table_iter_next(&it, &k, NULL))
            g_string_append_printf(names, "%s%s", names->len ? ", " : "", (char *)k);
        orchard_warn("extension", "osqueryd already has table(s) %s (another extension, e.g. "
                     "fleetd, registered them): leaving ours out so the rest registers",
                     names->str);
        g_string_free(names, TRUE);
    }
    return clash;
}

static volatile sig_atomic_t stop_requested;

static void on_shutdown_rpc(void *payload)
{
    (void)payload;
    stop_requested = 1;
    kill(getpid(), SIGUSR1); /* wakes the main thread's sigtimedwait */
}

/* Register, then serve on <socket>.<uuid>. Returns 0 or a negative code. */
static int register_and_serve(ext_state *st)
{
    g_autofree char *err = NULL;
    g_autofree char *path = NULL;
    GHashTable *clash = clashing_tables(st);
    GHashTable *registry = orchard_ext_registry(st->reg, clash);
    GHashTable *tables = g_hash_table_lookup(registry, "table");
    int rc;

    if (g_hash_table_size(tables) == 0) {
        orchard_error("extension", "every orchard table clashes with one osqueryd has: "
                      "nothing to register");
        rc = ORCHARD_EEXIST;
        goto out;
    }
    rc = orchard_manager_register(st->socket, timeout_ms(st), EXT_NAME, ORCHARD_VERSION,
                                  registry, &st->uuid, &err);
    if (rc) {
        orchard_error("extension", "registration refused: %s", err);
        goto out;
    }
    path = g_strdup_printf("%s.%" G_GINT64_FORMAT, st->socket, st->uuid);
    rc = orchard_ext_server_start(path, st->reg, CONN_IO_TIMEOUT_MS,
                                  on_shutdown_rpc, NULL, &st->server);
    if (rc) {
        orchard_error("extension", "cannot serve on %s: %s", path,
                      rc == ORCHARD_EINVAL ? "path too long for a unix socket"
                                           : orchard_strerror(rc));
        g_autofree char *derr = NULL;
        orchard_manager_deregister(st->socket, timeout_ms(st), st->uuid, &derr);
        goto out;
    }
    orchard_info("extension", "registered as uuid %" G_GINT64_FORMAT " with %u table(s), "
                 "serving %s", st->uuid, g_hash_table_size(tables), path);
out:
    g_hash_table_unref(registry);
    g_hash_table_destroy(clash);
    return rc;
}

static int socket_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISSOCK(sb.st_mode);
}

/* One --interval tick. Returns 1 to keep going, 0 to exit (cleanly: osqueryd
 * is gone, so there is nobody to deregister from). */
static int check_registration(ext_state *st)
{
    g_autofree char *err = NULL;
    int present = 0;

    if (!socket_exists(st->socket)) {
        orchard_info("extension", "manager socket %s is gone: exiting", st->socket);
        return 0;
    }
    int rc = orchard_manager_has_extension(st->socket, timeout_ms(st), st->uuid, &present, &err);
    st->refused = rc == ORCHARD_ENOTFOUND ? st->refused + 1 : 0;
    if (st->refused >= 2) {
        /* A killed osqueryd leaves its socket file behind: nobody will come back to it. */
        orchard_info("extension", "nobody listens on %s any more: exiting", st->socket);
        return 0;
    }
    if (rc) {
        orchard_warn("extension", "registration check failed: %s", err);
        return 1;
    }
    if (present && st->server && socket_exists(orchard_ext_server_path(st->server)))
        return 1;
    if (present) {
        /* Still registered but our socket file is gone (or we stopped): serve
         * the same <socket>.<uuid> again rather than register twice. */
        g_autofree char *path = g_strdup_printf("%s.%" G_GINT64_FORMAT, st->socket, st->uuid);
        orchard_warn("extension", "our socket %s disappeared: serving it again", path);
        orchard_ext_server_stop(st->server);
        st->server = NULL;
        rc = orchard_ext_server_start(path, st->reg, CONN_IO_TIMEOUT_MS, on_shutdown_rpc, NULL,
                                      &st->server);
        if (rc)
            orchard_error("extension", "cannot serve on %s: %s", path, orchard_strerror(rc));
        return 1;
    }
    orchard_warn("extension", "osqueryd no longer lists us (it restarted): registering again");
    orchard_ext_server_stop(st->server);
    st->server = NULL;
    rc = register_and_serve(st);
    return rc == 0 ? 1 : (rc == ORCHARD_ENOTFOUND ? 0 : 1);
}

int orchard_cmd_extension(int argc, char **argv, void *payload)
{
    (void)payload;
    /* One malloc arena: each serving thread would otherwise get its own
     * (about 20 KiB of orchard.ext's resident memory, bench/RESULTS.md). */
    mallopt(M_ARENA_MAX, 1);
    ext_state st = {DEFAULT_SOCKET, 3, 3, orchard_registry_global(), 0, NULL, 0};
    sigset_t set;
    int rc = parse_flags(argc, argv, &st);
    if (rc)
        return rc;
    if (strlen(st.socket) + UUID_DIGITS > orchard_unix_path_max()) {
        orchard_error("extension", "socket path %s is too long: with the extension's uuid "
                      "suffix it must stay under %zu bytes", st.socket, orchard_unix_path_max());
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Block the stop signals in every thread; the main loop takes them with
     * sigtimedwait, so no handler runs inside Thrift or GLib code. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if (wait_for_manager(&st) != 0)
        return 1;
    if (register_and_serve(&st) != 0)
        return 1;

    struct timespec tick = {st.interval_s, 0};
    while (!stop_requested) {
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig > 0) {
            if (sig != SIGUSR1)
                orchard_info("extension", "signal %d: deregistering and exiting", sig);
            break;
        }
        if (errno == EINTR)
            continue;
        if (!check_registration(&st)) {
            orchard_ext_server_stop(st.server);
            return 0;
        }
    }
    g_autofree char *err = NULL;
    if (st.server && orchard_manager_deregister(st.socket, timeout_ms(&st), st.uuid, &err) != 0)
        orchard_debug("extension", "deregister: %s", err);
    orchard_ext_server_stop(st.server);
    return 0;
}
