/* The reconcile benchmark's store work, none of it timed: fill a store
 * (the config's store.sqlite or store.postgres) with enrolled Macs in two
 * teams, write the ten profiles and the `orchard apply` specs that name them
 * (or store them directly when apply is not there), and count what the
 * reconciler queued. bench/reconcile/run.sh drives it around `orchard`.
 *
 *   bench_reconcile_seed --config F hosts [--hosts N] [--below K] [--topic T]
 *   bench_reconcile_seed --config F profiles --out DIR [--direct]
 *   bench_reconcile_seed --config F count
 */
#include "bench/reconcile/profiles.h"
#include "host/config.h"
#include "host/log.h"
#include "host/plugins/registry.h"
#include "host/store/store.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_sql.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEAMS 2
#define ROWS_PER_TX 1000
/* Above every minimum a test sets (the Nudge profile does not apply), and
 * below one (it does): --below K gives the first K Macs the older one. */
#define OS_CURRENT "14.4"
#define OS_CURRENT_BUILD "23E214"
#define OS_OLD "13.6"
#define OS_OLD_BUILD "22G120"

static const char *const team_names[TEAMS] = {"Workstations", "Laptops"};

static int fail(const char *what, int rc)
{
    fprintf(stderr, "bench_reconcile_seed: %s: %s\n", what, orchard_strerror(rc));
    return 1;
}

/* The team's id, made when missing (the store numbers teams). */
static int team_id(const char *name, gint64 now, gint64 *id)
{
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int rc = orchard_sstore_begin(1, "making a team", &tx);
    if (rc != 0)
        return rc;
    gint64 n = orchard_sstore_exec(tx,
                                   "INSERT INTO teams (name, description, created_at, updated_at) "
                                   "VALUES (?, 'reconcile benchmark', ?, ?) "
                                   "ON CONFLICT (name) DO NOTHING",
                                   SQL_PARAMS(SQL_TEXT(name), SQL_INT(now), SQL_INT(now)));
    rc = n < 0 ? (int)n : 0;
    if (rc == 0)
        rc = orchard_sstore_prepare(tx, "SELECT id FROM teams WHERE name = ?",
                                    SQL_PARAMS(SQL_TEXT(name)), &st);
    if (rc == 0) {
        const orchard_host_api *h = orchard_sstore_host();
        rc = h->stmt_step(st) == 1 ? 0 : ORCHARD_ENOTFOUND;
        if (rc == 0)
            *id = h->stmt_column_int(st, 0);
        h->stmt_finish(st);
    }
    return orchard_sstore_end(tx, rc, "making a team", 0);
}

/* One enrolled Mac: push token and magic set and valid, as after its
 * TokenUpdate, so the reconciler can push to it; its DeviceInformation
 * answered just now (a fleet in its steady state), so a running server's
 * device-info job leaves it alone while the reconciler is measured. */
static int add_host(orchard_store_tx *tx, int i, gint64 team, int old, const char *topic,
                    gint64 now)
{
    g_autofree char *udid = g_strdup_printf("0000BE00-0000-4000-8000-%012d", i);
    g_autofree char *serial = g_strdup_printf("C02B%08d", i);
    g_autofree char *name = g_strdup_printf("bench-mac-%05d", i);
    g_autofree char *cert = orchard_sstore_sha256_hex(udid);
    g_autofree char *magic = g_uuid_string_random();
    guint32 token[8];

    for (size_t k = 0; k < G_N_ELEMENTS(token); k++)
        token[k] = g_random_int();
    gint64 n = orchard_sstore_exec(
        tx,
        "INSERT INTO mdm_enrollments (udid, serial_number, model, product_name, os_version, "
        "build_version, device_name, topic, cert_sha256, enabled, push_token, push_magic, "
        "push_token_valid, token_update_tally, last_seen_at, created_at, updated_at, team_id, "
        "device_info_at, device_info_asked_at) "
        "VALUES (?, ?, 'Mac14,2', 'macOS', ?, ?, ?, ?, ?, 1, ?, ?, 1, 1, ?, ?, ?, ?, ?, ?)",
        SQL_PARAMS(SQL_TEXT(udid), SQL_TEXT(serial), SQL_TEXT(old ? OS_OLD : OS_CURRENT),
                   SQL_TEXT(old ? OS_OLD_BUILD : OS_CURRENT_BUILD), SQL_TEXT(name),
                   SQL_TEXT(topic), SQL_TEXT(cert), SQL_BLOB(token, sizeof token),
                   SQL_TEXT(magic), SQL_INT(now), SQL_INT(now), SQL_INT(now), SQL_INT(team),
                   SQL_INT(now), SQL_INT(now)));
    return n < 0 ? (int)n : 0;
}

static int seed_hosts(int hosts, int below, const char *topic)
{
    gint64 now = g_get_real_time() / G_USEC_PER_SEC, teams[TEAMS];
    int rc;

    for (int t = 0; t < TEAMS; t++)
        if ((rc = team_id(team_names[t], now, &teams[t])) != 0)
            return fail("making the teams", rc);
    for (int i = 0; i < hosts; i += ROWS_PER_TX) {
        orchard_store_tx *tx = NULL;
        if ((rc = orchard_sstore_begin(1, "adding hosts", &tx)) != 0)
            return fail("adding hosts", rc);
        for (int k = i; rc == 0 && k < hosts && k < i + ROWS_PER_TX; k++)
            rc = add_host(tx, k, teams[k % TEAMS], k < below, topic, now);
        if ((rc = orchard_sstore_end(tx, rc, "adding hosts", 0)) != 0)
            return fail("adding hosts", rc);
    }
    printf("hosts %d below %d teams %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", hosts, below,
           teams[0], teams[1]);
    return 0;
}

/* Without `orchard apply`: the rows orchard_profiles_batch_set would
 * write, and the desired-state marker, in one transaction. */
static int store_direct(GBytes *const *content, const gint64 *teams)
{
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    orchard_store_tx *tx = NULL;
    int rc = orchard_sstore_begin(1, "storing the profiles", &tx);

    for (int i = 0; rc == 0 && i < BENCH_PROFILES; i++) {
        g_autofree char *ident = bench_profile_identifier(i);
        g_autofree char *sum = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, content[i]);
        char uuid[37];
        gsize len = 0;
        const void *data = g_bytes_get_data(content[i], &len);
        bench_profile_uuid(i, uuid);
        gint64 n = orchard_sstore_exec(
            tx,
            "INSERT INTO mdm_profiles (team_id, kind, identifier, name, payload_uuid, content, "
            "checksum, created_at, updated_at) VALUES (?, 'custom', ?, ?, ?, ?, ?, ?, ?)",
            SQL_PARAMS(SQL_INT(teams[i / BENCH_PROFILES_PER_TEAM]), SQL_TEXT(ident),
                       SQL_TEXT(bench_profile_name(i)), SQL_TEXT(uuid), SQL_BLOB(data, len),
                       SQL_TEXT(sum), SQL_INT(now), SQL_INT(now)));
        rc = n < 0 ? (int)n : 0;
    }
    if (rc == 0)
        rc = orchard_sstore_desired_touch(tx);
    return orchard_sstore_end(tx, rc, "storing the profiles", 0);
}

/* The files, one spec per team and one with both (Fleet's `kind: team`). */
static int write_profiles(const char *out, int direct)
{
    gint64 now = g_get_real_time() / G_USEC_PER_SEC, teams[TEAMS];
    GBytes *content[BENCH_PROFILES];
    GString *all = g_string_new(NULL);
    int rc = 0;

    if (g_mkdir_with_parents(out, 0700) != 0) {
        fprintf(stderr, "bench_reconcile_seed: cannot make %s\n", out);
        return 1;
    }
    for (int i = 0; i < BENCH_PROFILES; i++)
        content[i] = bench_profile_make(i);
    for (int t = 0; rc == 0 && t < TEAMS; t++) {
        GString *spec = g_string_new(NULL);
        g_string_append_printf(spec,
                               "apiVersion: v1\nkind: team\nspec:\n  team:\n    name: %s\n"
                               "    mdm:\n      macos_settings:\n        custom_settings:\n",
                               team_names[t]);
        for (int i = t * BENCH_PROFILES_PER_TEAM; i < (t + 1) * BENCH_PROFILES_PER_TEAM; i++) {
            g_autofree char *file = g_strdup_printf("%s/%s.mobileconfig", out,
                                                    bench_profile_slug(i));
            gsize len = 0;
            const char *data = g_bytes_get_data(content[i], &len);
            if (!g_file_set_contents(file, data, (gssize)len, NULL))
                rc = ORCHARD_EIO;
            g_string_append_printf(spec, "          - %s\n", file);
            printf("profile %s team %d bytes %zu\n", bench_profile_slug(i), t + 1, (size_t)len);
        }
        g_autofree char *path = g_strdup_printf("%s/team-%d.yml", out, t + 1);
        if (!g_file_set_contents(path, spec->str, (gssize)spec->len, NULL))
            rc = ORCHARD_EIO;
        g_string_append_printf(all, "%s%s", t ? "---\n" : "", spec->str);
        g_string_free(spec, TRUE);
    }
    g_autofree char *both = g_strdup_printf("%s/teams.yml", out);
    if (rc == 0 && !g_file_set_contents(both, all->str, (gssize)all->len, NULL))
        rc = ORCHARD_EIO;
    g_string_free(all, TRUE);
    if (rc == 0 && direct) {
        for (int t = 0; rc == 0 && t < TEAMS; t++)
            rc = team_id(team_names[t], now, &teams[t]);
        if (rc == 0)
            rc = store_direct(content, teams);
    }
    for (int i = 0; i < BENCH_PROFILES; i++)
        g_bytes_unref(content[i]);
    return rc == 0 ? 0 : fail("writing the profiles", rc);
}

/* Print "KEY VALUE" for every row of a two-column query (key, count). */
static int print_counts(orchard_store_tx *tx, const char *prefix, const char *sql)
{
    const orchard_host_api *h = orchard_sstore_host();
    orchard_stmt *st = NULL;
    int rc = orchard_sstore_prepare(tx, sql, NULL, 0, &st), step;

    if (rc != 0)
        return rc;
    while ((step = h->stmt_step(st)) == 1)
        printf("%s%s %" G_GINT64_FORMAT "\n", prefix,
               h->stmt_column_is_null(st, 0) ? "none" : h->stmt_column_text(st, 0),
               (gint64)h->stmt_column_int(st, 1));
    h->stmt_finish(st);
    return step < 0 ? step : 0;
}

/* What the reconciler left: queued commands by type, host-profile rows by
 * operation and status, devices waiting for a push. */
static int count(void)
{
    orchard_store_tx *tx = NULL;
    int rc = orchard_sstore_begin(0, "counting", &tx);

    if (rc == 0)
        rc = print_counts(tx, "queued_",
                          "SELECT c.request_type, count(*) FROM mdm_command_queue q "
                          "JOIN mdm_commands c ON c.command_uuid = q.command_uuid "
                          "GROUP BY c.request_type ORDER BY c.request_type");
    if (rc == 0)
        rc = print_counts(tx, "commands_",
                          "SELECT request_type, count(*) FROM mdm_commands "
                          "GROUP BY request_type ORDER BY request_type");
    if (rc == 0)
        rc = print_counts(tx, "host_profiles_",
                          "SELECT operation || '_' || status, count(*) FROM mdm_host_profiles "
                          "GROUP BY operation, status ORDER BY operation, status");
    if (rc == 0)
        rc = print_counts(tx, "", "SELECT 'push_queue', count(*) FROM apns_push_queue");
    if (rc == 0)
        rc = print_counts(tx, "", "SELECT 'profiles', count(*) FROM mdm_profiles");
    if (rc == 0)
        rc = print_counts(tx, "", "SELECT 'hosts', count(*) FROM mdm_enrollments");
    rc = orchard_sstore_end(tx, rc, "counting", 0);
    return rc == 0 ? 0 : fail("counting", rc);
}

static const char *opt(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return dflt;
}

static int has_flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *config = opt(argc, argv, "--config", NULL), *mode = argc > 3 ? argv[3] : "";
    g_autofree char *err = NULL;
    int rc;

    if (!config || strcmp(argv[1], "--config") != 0) {
        fprintf(stderr, "usage: bench_reconcile_seed --config F hosts|profiles|count ...\n");
        return 2;
    }
    if (orchard_config_load_file(orchard_config_global(), config, &err) != 0) {
        fprintf(stderr, "bench_reconcile_seed: %s\n", err);
        return 2;
    }
    orchard_server_host = orchard_host_api_get();
    if ((rc = orchard_server_store_migrate()) != 0)
        return fail("migrating the store", rc);
    if (strcmp(mode, "hosts") == 0)
        rc = seed_hosts(atoi(opt(argc, argv, "--hosts", "10000")),
                        atoi(opt(argc, argv, "--below", "0")),
                        opt(argc, argv, "--topic", "com.apple.mgmt.dev.orchard"));
    else if (strcmp(mode, "profiles") == 0 && opt(argc, argv, "--out", NULL))
        rc = write_profiles(opt(argc, argv, "--out", NULL), has_flag(argc, argv, "--direct"));
    else if (strcmp(mode, "count") == 0)
        rc = count();
    else {
        fprintf(stderr, "bench_reconcile_seed: unknown mode '%s'\n", mode);
        rc = 2;
    }
    orchard_store_close();
    return rc;
}
