/* PostgreSQL for the C tests (see pg_test.h): finds the cluster ctest's
 * fixture started, makes and drops databases through libpq, and maps the
 * server suites' SQLite paths to databases under ORCHARD_TEST_STORE. Only
 * the test binary links libpq this way; the host loads it in its module. A
 * build without libpq (ORCHARD_TEST_HAVE_LIBPQ unset) makes no database:
 * the tests that need one skip, saying so. */
#include "tests/support/pg_cluster/pg_test.h"

#include <orchard/plugin.h>

#include <glib.h>
#ifdef ORCHARD_TEST_HAVE_LIBPQ
#include <libpq-fe.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DB_PREFIX "orchard_t_"

static char *read_trimmed(const char *path)
{
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    return g_strstrip(text);
}

int orchard_pg_test_server(char **uri, char **reason)
{
    const char *direct = g_getenv("ORCHARD_TEST_PG_URI");
    const char *dir = g_getenv("ORCHARD_TEST_PG_DIR");

    *uri = NULL;
    *reason = NULL;
    if (direct && *direct) {
        *uri = g_strdup(direct);
        return 0;
    }
    if (!dir || !*dir) {
        *reason = g_strdup("ORCHARD_TEST_PG_DIR is not set: run the test through ctest, whose "
                           "fixture pg_cluster_start starts a private cluster");
        return ORCHARD_ENOTFOUND;
    }
    g_autofree char *skip_path = g_build_filename(dir, "skip", NULL);
    g_autofree char *uri_path = g_build_filename(dir, "uri", NULL);
    g_autofree char *skip = read_trimmed(skip_path);
    if (skip) {
        *reason = g_strdup_printf("pg_cluster.sh could not start PostgreSQL: %s", skip);
        return ORCHARD_ENOTFOUND;
    }
    *uri = read_trimmed(uri_path);
    if (!*uri || !**uri) {
        g_clear_pointer(uri, g_free);
        *reason = g_strdup_printf("no cluster in %s (did ctest's pg_cluster_start run?)", dir);
        return ORCHARD_ENOTFOUND;
    }
    return 0;
}

#ifdef ORCHARD_TEST_HAVE_LIBPQ

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "does not exist, skipping" and the like: not news */
}

/* Connect to the server's own database; NULL with *reason on failure. */
static PGconn *admin_connect(char **reason)
{
    g_autofree char *uri = NULL;
    if (orchard_pg_test_server(&uri, reason) != 0)
        return NULL;
    PGconn *c = PQconnectdb(uri);
    if (PQstatus(c) != CONNECTION_OK) {
        *reason = g_strdup_printf("cannot connect to %s: %s", uri, PQerrorMessage(c));
        g_strchomp(*reason);
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

static int run(PGconn *c, const char *sql, char **reason)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok && reason) {
        *reason = g_strdup_printf("%s: %s", sql, PQresultErrorMessage(r));
        g_strchomp(*reason);
    }
    PQclear(r);
    return ok ? 0 : ORCHARD_EIO;
}

/* The server's URI with its database replaced by `db`: every option of the
 * server's URI is kept as a query parameter (host, port, user, ...). */
static char *uri_for_db(const char *server_uri, const char *db)
{
    PQconninfoOption *opts = PQconninfoParse(server_uri, NULL);
    if (!opts)
        return NULL;
    GString *u = g_string_new("postgresql:///");
    g_string_append(u, db);
    char sep = '?';
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || strcmp(o->keyword, "dbname") == 0)
            continue;
        g_autofree char *v = g_uri_escape_string(o->val, NULL, FALSE);
        g_string_append_printf(u, "%c%s=%s", sep, o->keyword, v);
        sep = '&';
    }
    PQconninfoFree(opts);
    return g_string_free(u, FALSE);
}

int orchard_pg_test_create_db(char **uri, char **reason)
{
    static gint counter;
    g_autofree char *server = NULL;
    int rc;

    *uri = NULL;
    *reason = NULL;
    if ((rc = orchard_pg_test_server(&server, reason)) != 0)
        return rc;
    PGconn *c = admin_connect(reason);
    if (!c)
        return ORCHARD_EIO;
    /* template0: nobody is ever connected to it, so databases made at once
     * by suites running side by side do not refuse each other. FILE_COPY:
     * about 20 ms against 170 for the default WAL_LOG on a quiet machine,
     * 250-430 against 680-820 while a build runs beside (fsync off), and
     * nothing here needs its WAL. A schema per case would take 1 ms, but
     * the writers' advisory lock is per database: cases running side by
     * side in one database would wait for each other. */
    g_autofree char *name = g_strdup_printf(DB_PREFIX "%ld_%d_%08x", (long)getpid(),
                                            g_atomic_int_add(&counter, 1), g_random_int());
    g_autofree char *sql = g_strdup_printf("CREATE DATABASE \"%s\" TEMPLATE template0 "
                                           "STRATEGY FILE_COPY", name);
    rc = run(c, sql, reason);
    PQfinish(c);
    if (rc != 0)
        return rc;
    *uri = uri_for_db(server, name);
    return 0;
}

int orchard_pg_test_drop_db(const char *uri)
{
    PQconninfoOption *opts = uri ? PQconninfoParse(uri, NULL) : NULL;
    PGconn *c = NULL;
    char *name = NULL, *sql = NULL, *reason = NULL;
    int rc = ORCHARD_EINVAL;

    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "dbname") == 0 && o->val)
            name = g_strdup(o->val);
    PQconninfoFree(opts);
    /* Only names create_db made, so a stray URI never drops real data. */
    if (!name || !g_str_has_prefix(name, DB_PREFIX) || strchr(name, '"'))
        goto cleanup;
    rc = ORCHARD_EIO;
    if (!(c = admin_connect(&reason)))
        goto cleanup;
    /* FORCE: a child killed with -9 may leave its backend a moment. */
    sql = g_strdup_printf("DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
    rc = run(c, sql, &reason);
cleanup:
    if (rc != 0)
        fprintf(stderr, "pg_test: drop %s: %s\n", name ? name : "(no database)",
                reason ? reason : "not a test database");
    if (c)
        PQfinish(c);
    g_free(sql);
    g_free(reason);
    g_free(name);
    return rc;
}

#else /* no libpq in this build */

int orchard_pg_test_create_db(char **uri, char **reason)
{
    g_autofree char *server = NULL;
    int rc;

    *uri = NULL;
    *reason = NULL;
    if ((rc = orchard_pg_test_server(&server, reason)) != 0)
        return rc;
    *reason = g_strdup("this build has no libpq (libpq-dev, scripts/deps.sh): no database "
                       "can be made");
    return ORCHARD_ENOTFOUND;
}

int orchard_pg_test_drop_db(const char *uri)
{
    (void)uri; /* nothing was made */
    return ORCHARD_EINVAL;
}

#endif

int orchard_pg_test_skip(const char *reason)
{
    static int said;
    int ci = g_strcmp0(g_getenv("CI"), "true") == 0;
    if (ci) {
        printf("\nFAIL (PostgreSQL): %s; CI=true, where PostgreSQL tests must run\n", reason);
        fflush(stdout);
        return 1;
    }
    if (!said)
        printf("\nSKIP (PostgreSQL): %s\n", reason);
    said = 1;
    fflush(stdout);
    return 0;
}

const char *orchard_pg_test_wanted(void)
{
    const char *v = g_getenv("ORCHARD_TEST_STORE");
    return v && *v ? v : NULL;
}

/* --- the server suites' stores */

static GHashTable *stores; /* sqlite path -> database URI */
static pid_t stores_owner; /* only the process that made them drops them */

static void drop_stores(void)
{
    if (!stores || getpid() != stores_owner)
        return;
    GHashTableIter it;
    gpointer uri;
    g_hash_table_iter_init(&it, stores);
    while (g_hash_table_iter_next(&it, NULL, &uri))
        orchard_pg_test_drop_db(uri);
    g_clear_pointer(&stores, g_hash_table_unref);
}

static int postgres_wanted(void) { return g_strcmp0(orchard_pg_test_wanted(), "postgres") == 0; }

const char *orchard_test_store(const char *sqlite_path)
{
    static GMutex lock;
    char *uri = NULL, *reason = NULL;

    if (!postgres_wanted() || !sqlite_path)
        return sqlite_path;
    g_mutex_lock(&lock);
    if (!stores) {
        stores = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        stores_owner = getpid();
        atexit(drop_stores);
    }
    uri = g_hash_table_lookup(stores, sqlite_path);
    if (!uri) {
        if (orchard_pg_test_create_db(&uri, &reason) != 0) {
            /* A run that asked for PostgreSQL has nothing to test without it. */
            int fail = orchard_pg_test_skip(reason);
            fprintf(stderr, "pg_test: %s: %s\n", sqlite_path, reason);
            g_free(reason);
            g_mutex_unlock(&lock);
            exit(fail ? 1 : 0);
        }
        g_hash_table_insert(stores, g_strdup(sqlite_path), uri);
    }
    g_mutex_unlock(&lock);
    return uri;
}

const char *orchard_test_store_key(void)
{
    return postgres_wanted() ? "store.postgres" : "store.sqlite";
}

const char *orchard_test_store_unreachable(void)
{
    return postgres_wanted() ? "postgresql:///orchard?host=/nonexistent-orchard-dir&connect_timeout=2"
                             : "/nonexistent-orchard-dir/x.db";
}
