/* server_store: the server plugin's state on the host's store (one-time SCEP
 * challenges, issued certificates, enrollment tokens, the APNs topic), on a
 * fresh SQLite file per test. */
#include "host/plugins/plugin_ctx.h"
#include "host/plugins/registry.h"
#include "server_plugin/server.h"
#include "server_plugin/store/server_store.h"
#include "host/store/store.h"
#include "tests/suites.h"
#include "tests/support/pg_cluster/pg_test.h"

#include <glib/gstdio.h>
#include <string.h>

static char *dir;

static void open_store(void)
{
    g_autofree char *err = NULL;
    dir = g_dir_make_tmp("orchard-sstore-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "s.db", NULL);
    orchard_server_host = orchard_host_api_get();
    CU_ASSERT_FATAL(orchard_store_open(orchard_test_store(path), &err) == 0);
    CU_ASSERT_FATAL(orchard_server_store_migrate() == 0);
}

static void close_store(void)
{
    orchard_store_close();
    g_autofree char *path = g_build_filename(dir, "s.db", NULL);
    g_autofree char *wal = g_strconcat(path, "-wal", NULL);
    g_autofree char *shm = g_strconcat(path, "-shm", NULL);
    g_unlink(path);
    g_unlink(wal);
    g_unlink(shm);
    g_rmdir(dir);
    g_free(dir);
    dir = NULL;
}

static gint64 now_s(void) { return g_get_real_time() / G_USEC_PER_SEC; }

static orchard_issued_cert cert_rec(const char *serial, orchard_challenge_kind kind)
{
    static const unsigned char der[] = {0x30, 0x00, 0x00, 0x01};
    orchard_issued_cert c = {
        .serial = serial,
        .subject = "CN=dev,O=t",
        .not_before = now_s() - 600,
        .not_after = now_s() + 86400,
        .challenge_kind = kind,
        .sha256 = "ab",
        .der = der,
        .der_len = sizeof der,
    };
    return c;
}

/* Count rows of `sql` (one column) whose text contains `needle`. */
static int count_containing(const char *sql, const char *needle)
{
    const orchard_host_api *h = orchard_host_api_get();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int n = 0;
    CU_ASSERT_FATAL(h->store_begin(&tx, 0) == 0);
    CU_ASSERT_FATAL(h->stmt_prepare(tx, sql, &st) == 0);
    while (h->stmt_step(st) == 1) {
        const char *v = h->stmt_column_text(st, 0);
        n += v && strstr(v, needle) != NULL;
    }
    h->stmt_finish(st);
    h->store_rollback(tx);
    return n;
}

static void test_challenge_once(void)
{
    open_store();
    g_autofree char *c = NULL;
    CU_ASSERT_FATAL(orchard_server_store_challenge_create(3600, &c) == 0);
    CU_ASSERT(strlen(c) == 43);
    CU_ASSERT(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43);
    CU_ASSERT(orchard_server_store_challenge_check(c, now_s()) == 0);
    orchard_issued_cert a = cert_rec("0A", ORCHARD_CHALLENGE_ONE_TIME);
    CU_ASSERT(orchard_server_store_cert_record(&a, c, now_s()) == 0);
    CU_ASSERT(orchard_server_store_challenge_check(c, now_s()) == ORCHARD_ENOTFOUND);
    orchard_issued_cert b = cert_rec("0B", ORCHARD_CHALLENGE_ONE_TIME);
    CU_ASSERT(orchard_server_store_cert_record(&b, c, now_s()) == ORCHARD_ENOTFOUND);
    int revoked = -1;
    gint64 na = 0;
    CU_ASSERT(orchard_server_store_cert_lookup("0A", &revoked, &na) == 0);
    CU_ASSERT(revoked == 0 && na == a.not_after);
    CU_ASSERT(orchard_server_store_cert_lookup("0B", &revoked, &na) == ORCHARD_ENOTFOUND);
    /* Only the hash is kept. */
    CU_ASSERT(count_containing("SELECT hash FROM scep_challenges", c) == 0);
    CU_ASSERT(count_containing("SELECT hash FROM scep_challenges", "") == 1);
    close_store();
}

static void test_challenge_expired_unknown(void)
{
    open_store();
    g_autofree char *c = NULL;
    CU_ASSERT_FATAL(orchard_server_store_challenge_create(60, &c) == 0);
    CU_ASSERT(orchard_server_store_challenge_check(c, now_s() + 61) == ORCHARD_ENOTFOUND);
    orchard_issued_cert a = cert_rec("0C", ORCHARD_CHALLENGE_ONE_TIME);
    CU_ASSERT(orchard_server_store_cert_record(&a, c, now_s() + 61) == ORCHARD_ENOTFOUND);
    CU_ASSERT(orchard_server_store_cert_record(&a, "never-made", now_s()) == ORCHARD_ENOTFOUND);
    CU_ASSERT(orchard_server_store_cert_record(&a, NULL, now_s()) == ORCHARD_ENOTFOUND);
    CU_ASSERT(orchard_server_store_challenge_check("never-made", now_s()) == ORCHARD_ENOTFOUND);
    /* Still usable before its expiry: the refusals above spent nothing. */
    CU_ASSERT(orchard_server_store_cert_record(&a, c, now_s()) == 0);
    close_store();
}

/* A failed insert must not spend the challenge: one transaction for both. */
static void test_record_atomic(void)
{
    open_store();
    g_autofree char *c = NULL;
    orchard_issued_cert s = cert_rec("0D", ORCHARD_CHALLENGE_STATIC);
    CU_ASSERT_FATAL(orchard_server_store_cert_record(&s, NULL, now_s()) == 0);
    CU_ASSERT_FATAL(orchard_server_store_challenge_create(3600, &c) == 0);
    orchard_issued_cert clash = cert_rec("0D", ORCHARD_CHALLENGE_ONE_TIME);
    CU_ASSERT(orchard_server_store_cert_record(&clash, c, now_s()) < 0);
    CU_ASSERT(orchard_server_store_challenge_check(c, now_s()) == 0);
    close_store();
}

typedef struct {
    int n;
    char kinds[64];
} listing;

static int collect(const char *serial, const char *subject, gint64 nb, gint64 na, int revoked,
                   const char *kind, void *payload)
{
    listing *l = payload;
    (void)serial;
    (void)nb;
    (void)na;
    (void)revoked;
    CU_ASSERT(strcmp(subject, "CN=dev,O=t") == 0);
    l->n++;
    g_strlcat(l->kinds, kind, sizeof l->kinds);
    g_strlcat(l->kinds, ";", sizeof l->kinds);
    return 0;
}

static void test_cert_each(void)
{
    open_store();
    orchard_issued_cert a = cert_rec("01", ORCHARD_CHALLENGE_STATIC);
    orchard_issued_cert b = cert_rec("02", ORCHARD_CHALLENGE_RENEWAL);
    b.renewed_serial = "01";
    CU_ASSERT(orchard_server_store_cert_record(&a, NULL, now_s()) == 0);
    CU_ASSERT(orchard_server_store_cert_record(&b, NULL, now_s()) == 0);
    listing l = {0, ""};
    CU_ASSERT(orchard_server_store_cert_each(collect, &l) == 0);
    CU_ASSERT(l.n == 2);
    CU_ASSERT(strcmp(l.kinds, "static;renewal;") == 0);
    /* Migrations are idempotent and keep the data. */
    CU_ASSERT(orchard_server_store_migrate() == 0);
    l.n = 0;
    l.kinds[0] = '\0';
    CU_ASSERT(orchard_server_store_cert_each(collect, &l) == 0 && l.n == 2);
    close_store();
}

static void test_tokens(void)
{
    open_store();
    g_autofree char *t1 = NULL, *t2 = NULL;
    CU_ASSERT_FATAL(orchard_server_store_token_create("laptops", &t1) == 0);
    CU_ASSERT_FATAL(orchard_server_store_token_create(NULL, &t2) == 0);
    CU_ASSERT(strcmp(t1, t2) != 0);
    CU_ASSERT(orchard_server_store_token_check(t1, NULL) == 0);
    CU_ASSERT(orchard_server_store_token_check(t2, NULL) == 0);
    g_autofree char *name = NULL, *none = NULL;
    CU_ASSERT(orchard_server_store_token_check(t1, &name) == 0);
    CU_ASSERT(name && strcmp(name, "laptops") == 0);
    CU_ASSERT(orchard_server_store_token_check(t2, &none) == 0 && none == NULL);
    CU_ASSERT(orchard_server_store_token_check("", NULL) == ORCHARD_ENOTFOUND);
    g_autofree char *almost = g_strdup(t1);
    almost[0] = almost[0] == 'A' ? 'B' : 'A';
    CU_ASSERT(orchard_server_store_token_check(almost, NULL) == ORCHARD_ENOTFOUND);
    CU_ASSERT(count_containing("SELECT hash FROM enroll_tokens", t1) == 0);
    close_store();
}

static void test_topic(void)
{
    open_store();
    char *recorded = NULL;
    CU_ASSERT(orchard_server_store_topic_check("com.apple.mgmt.A", 0, &recorded) == 0);
    CU_ASSERT(orchard_server_store_topic_check("com.apple.mgmt.A", 0, &recorded) == 0);
    CU_ASSERT(recorded == NULL);
    CU_ASSERT(orchard_server_store_topic_check("com.apple.mgmt.B", 0, &recorded) ==
              ORCHARD_EEXIST);
    CU_ASSERT(recorded && strcmp(recorded, "com.apple.mgmt.A") == 0);
    g_free(recorded);
    recorded = NULL;
    CU_ASSERT(orchard_server_store_topic_check("com.apple.mgmt.B", 1, &recorded) == 0);
    CU_ASSERT(orchard_server_store_topic_check("com.apple.mgmt.B", 0, &recorded) == 0);
    CU_ASSERT(orchard_server_store_topic_check("com.apple.mgmt.A", 0, &recorded) ==
              ORCHARD_EEXIST);
    g_free(recorded);
    close_store();
}

static int count_rows(const char *sql)
{
    const orchard_host_api *h = orchard_host_api_get();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int n = -1;
    CU_ASSERT_FATAL(h->store_begin(&tx, 0) == 0);
    CU_ASSERT_FATAL(h->stmt_prepare(tx, sql, &st) == 0);
    if (h->stmt_step(st) == 1)
        n = (int)h->stmt_column_int(st, 0);
    h->stmt_finish(st);
    h->store_rollback(tx);
    return n;
}

/* 2026-12-05: scep_challenges grew by a row per profile download and nothing
 * deleted rows. The expiry deletes expired rows (used or not) in batches and
 * leaves live ones, and a deleted challenge is refused as before. */
static void test_challenges_expire(void)
{
    open_store();
    g_autofree char *live = NULL, *spent = NULL;
    CU_ASSERT_FATAL(orchard_server_store_challenge_create(3600, &live) == 0);
    for (int i = 0; i < 7; i++) {
        g_autofree char *c = NULL;
        CU_ASSERT_FATAL(orchard_server_store_challenge_create(-10, &c) == 0);
    }
    CU_ASSERT_FATAL(orchard_server_store_challenge_create(5, &spent) == 0);
    orchard_issued_cert rec = cert_rec("0A", ORCHARD_CHALLENGE_ONE_TIME);
    CU_ASSERT_FATAL(orchard_server_store_cert_record(&rec, spent, now_s()) == 0);
    CU_ASSERT_EQUAL(count_rows("SELECT count(*) FROM scep_challenges"), 9);

    gint64 deleted = -1, total = 0;
    /* Batches of 3 at "now + 60": the 7 expired and the spent one (its 5 s
     * are over by then) go in three calls, the live one stays. */
    do {
        CU_ASSERT_FATAL(orchard_server_store_challenges_expire(now_s() + 60, 3, &deleted) == 0);
        total += deleted;
    } while (deleted == 3);
    CU_ASSERT_EQUAL(total, 8);
    CU_ASSERT_EQUAL(count_rows("SELECT count(*) FROM scep_challenges"), 1);
    CU_ASSERT_EQUAL(orchard_server_store_challenge_check(live, now_s()), 0);
    CU_ASSERT_EQUAL(orchard_server_store_challenge_check(spent, now_s()), ORCHARD_ENOTFOUND);
    /* The certificate that spent a deleted challenge stays on record. */
    CU_ASSERT_EQUAL(count_rows("SELECT count(*) FROM scep_certificates"), 1);
    close_store();
}

/* The job itself, through the host's foreground runner as `orchard job run`
 * uses it: it reports what it did and leaves live challenges. */
static void test_challenges_expire_job(void)
{
    open_store();
    g_autofree char *live = NULL, *gone = NULL;
    CU_ASSERT_FATAL(orchard_server_store_challenge_create(3600, &live) == 0);
    CU_ASSERT_FATAL(orchard_server_store_challenge_create(-1, &gone) == 0);
    const orchard_job *j = &orchard_job_challenges_expire;
    CU_ASSERT_STRING_EQUAL(j->name, "scep.challenges_expire");
    CU_ASSERT(j->flags & ORCHARD_JOB_ONE_INSTANCE);
    CU_ASSERT_EQUAL(j->run2(orchard_ctx_host(), j->payload), 0);
    CU_ASSERT_EQUAL(count_rows("SELECT count(*) FROM scep_challenges"), 1);
    CU_ASSERT_EQUAL(orchard_server_store_challenge_check(live, now_s()), 0);
    close_store();
}

void server_store_suite(void)
{
    ORCHARD_ADD_SUITE("server_store", NULL, NULL,
                      {"one-time challenge is spent once, stored hashed", test_challenge_once},
                      {"expired and unknown challenges are refused", test_challenge_expired_unknown},
                      {"a failed record spends no challenge", test_record_atomic},
                      {"certificates listed with their kinds", test_cert_each},
                      {"enrollment tokens, stored hashed", test_tokens},
                      {"APNs topic continuity", test_topic},
                      {"expired challenges are deleted in batches", test_challenges_expire},
                      {"the challenge expiry job", test_challenges_expire_job});
}
