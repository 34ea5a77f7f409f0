/* The server plugin's tables and queries on the host's store. Secrets the
 * server hands out (one-time SCEP challenges, enrollment tokens) are kept
 * only as SHA-256, so a copy of the database mints nothing; looking them up
 * by hash also keeps the comparison off the secret itself. */
#include "server_plugin/store/server_store.h"

#include "server_plugin/server.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <string.h>

#define OWNER "orchard-server"

static const char *const migrations[] = {
    /* 1: enrollment (issue 5) */
    "CREATE TABLE scep_certificates ("
    " serial TEXT PRIMARY KEY,"
    " subject TEXT NOT NULL,"
    " not_before INTEGER NOT NULL,"
    " not_after INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0,"
    " challenge_kind TEXT NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " der BLOB NOT NULL,"
    " renewed_serial TEXT,"
    " issued_at INTEGER NOT NULL);"
    "CREATE TABLE scep_challenges ("
    " hash TEXT PRIMARY KEY,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " used_at INTEGER);"
    "CREATE TABLE enroll_tokens ("
    " hash TEXT PRIMARY KEY,"
    " name TEXT,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE server_state ("
    " key TEXT PRIMARY KEY,"
    " value TEXT NOT NULL);",
};

static const orchard_host_api *store_host(void)
{
    const orchard_host_api *h = orchard_server_host;
    return ORCHARD_HAS_FIELD(h, orchard_host_api, stmt_finish) ? h : NULL;
}

int orchard_server_store_migrate(void)
{
    const orchard_host_api *h = store_host();
    if (!h)
        return ORCHARD_EABI;
    return h->store_migrate(OWNER, migrations, G_N_ELEMENTS(migrations));
}

const char *orchard_challenge_kind_name(orchard_challenge_kind kind)
{
    switch (kind) {
    case ORCHARD_CHALLENGE_ONE_TIME: return "one-time";
    case ORCHARD_CHALLENGE_RENEWAL: return "renewal";
    case ORCHARD_CHALLENGE_STATIC: break;
    }
    return "static";
}

/* Lower-case hex SHA-256 of a string. */
static char *sha256_hex(const char *s)
{
    unsigned char md[32];
    unsigned int n = 0;
    if (!EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL))
        return NULL;
    char *hex = g_malloc(2 * n + 1);
    for (unsigned int i = 0; i < n; i++)
        g_snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return hex;
}

/* 32 random bytes as unpadded base64url: safe in a URL and in XML as is. */
static char *random_secret(void)
{
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return NULL;
    char *b64 = g_base64_encode(raw, sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);
    for (char *p = b64; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
        else if (*p == '=')
            *p = '\0';
    }
    return b64;
}

static void log_fail(const orchard_host_api *h, orchard_store_tx *tx, const char *what, int rc)
{
    const char *msg = tx ? h->store_errmsg(tx) : "";
    h->log(ORCHARD_LOG_ERROR, OWNER, "store: %s failed: %s%s%s", what, h->strerror(rc),
           *msg ? ": " : "", msg);
}

/* Begin a transaction; a failure is logged as `what` failing. */
static int begin(const orchard_host_api *h, int write, const char *what, orchard_store_tx **tx)
{
    int rc = h->store_begin(tx, write);
    if (rc)
        log_fail(h, NULL, what, rc);
    return rc;
}

/*
 * Run one statement in `tx` with text/int parameters described by `types`
 * ('t' text, 'i' gint64), stepping it to the end. Returns the number of
 * rows changed, or a negative code.
 */
static gint64 exec_inv(orchard_store_tx *tx, const char *sql, const char *types, va_list ap)
{
    const orchard_host_api *h = store_host();
    orchard_stmt *st = NULL;
    int rc = h->stmt_prepare(tx, sql, &st);
    for (int i = 0; rc == 0 && types[i]; i++)
        rc = types[i] == 'i' ? h->stmt_bind_int(st, i + 1, va_arg(ap, gint64))
                             : h->stmt_bind_text(st, i + 1, va_arg(ap, const char *));
    while (rc == 0 && (rc = h->stmt_step(st)) == 1)
        rc = 0;
    gint64 changes = rc == 0 ? h->stmt_changes(st) : rc;
    h->stmt_finish(st);
    return changes;
}

static gint64 exec_in(orchard_store_tx *tx, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    gint64 n = exec_inv(tx, sql, types, ap);
    va_end(ap);
    return n;
}

/* Run one write statement in its own transaction. */
static gint64 exec_write(const char *what, const char *sql, const char *types, ...)
{
    const orchard_host_api *h = store_host();
    orchard_store_tx *tx = NULL;
    if (!h)
        return ORCHARD_EABI;
    int rc = begin(h, 1, what, &tx);
    if (rc)
        return rc;
    va_list ap;
    va_start(ap, types);
    gint64 n = exec_inv(tx, sql, types, ap);
    va_end(ap);
    if (n < 0) {
        log_fail(h, tx, what, (int)n);
        h->store_rollback(tx);
        return n;
    }
    if ((rc = h->store_commit(tx))) {
        log_fail(h, NULL, what, rc);
        return rc;
    }
    return n;
}

int orchard_server_store_challenge_create(gint64 ttl_seconds, char **challenge)
{
    g_autofree char *secret = random_secret();
    g_autofree char *hash = secret ? sha256_hex(secret) : NULL;
    if (!hash)
        return ORCHARD_ENOMEM;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    gint64 rc = exec_write("creating a SCEP challenge",
                           "INSERT INTO scep_challenges (hash, created_at, expires_at) "
                           "VALUES (?, ?, ?)",
                           "tii", hash, now, now + ttl_seconds);
    if (rc < 0)
        return (int)rc;
    *challenge = g_steal_pointer(&secret);
    return 0;
}

/* Read one row of a single-row query; *found 0 when none. */
static int read_one(const char *what, const char *sql, const char *key,
                    int (*row)(const orchard_host_api *, orchard_stmt *, void *), void *out)
{
    const orchard_host_api *h = store_host();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    if (!h)
        return ORCHARD_EABI;
    int rc = begin(h, 0, what, &tx);
    if (rc) {
        /* An unset store.sqlite is ENOTFOUND too: not "no such row". */
        return rc == ORCHARD_ENOTFOUND ? ORCHARD_EIO : rc;
    }
    if ((rc = h->stmt_prepare(tx, sql, &st)) == 0 && (rc = h->stmt_bind_text(st, 1, key)) == 0) {
        rc = h->stmt_step(st);
        rc = rc == 1 ? row(h, st, out) : rc == 0 ? ORCHARD_ENOTFOUND : rc;
    }
    if (rc && rc != ORCHARD_ENOTFOUND)
        log_fail(h, tx, what, rc);
    h->stmt_finish(st);
    h->store_rollback(tx);
    return rc;
}

static int challenge_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    gint64 now = *(gint64 *)out;
    int used = !h->stmt_column_is_null(st, 1);
    return !used && h->stmt_column_int(st, 0) > now ? 0 : ORCHARD_ENOTFOUND;
}

int orchard_server_store_challenge_check(const char *challenge, gint64 now)
{
    g_autofree char *hash = sha256_hex(challenge);
    if (!hash)
        return ORCHARD_ENOMEM;
    return read_one("checking a SCEP challenge",
                    "SELECT expires_at, used_at FROM scep_challenges WHERE hash = ?", hash,
                    challenge_row, &now);
}

/* Insert the certificate row; its DER is a blob. */
static int insert_cert(const orchard_host_api *h, orchard_store_tx *tx,
                       const orchard_issued_cert *c, gint64 now)
{
    orchard_stmt *st = NULL;
    int rc = h->stmt_prepare(tx,
                             "INSERT INTO scep_certificates (serial, subject, not_before, "
                             "not_after, revoked, challenge_kind, sha256, der, renewed_serial, "
                             "issued_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
                             &st);
    if (rc == 0)
        rc = h->stmt_bind_text(st, 1, c->serial);
    if (rc == 0)
        rc = h->stmt_bind_text(st, 2, c->subject);
    if (rc == 0)
        rc = h->stmt_bind_int(st, 3, c->not_before);
    if (rc == 0)
        rc = h->stmt_bind_int(st, 4, c->not_after);
    if (rc == 0)
        rc = h->stmt_bind_text(st, 5, orchard_challenge_kind_name(c->challenge_kind));
    if (rc == 0)
        rc = h->stmt_bind_text(st, 6, c->sha256);
    if (rc == 0)
        rc = h->stmt_bind_blob(st, 7, c->der, c->der_len);
    if (rc == 0)
        rc = h->stmt_bind_text(st, 8, c->renewed_serial);
    if (rc == 0)
        rc = h->stmt_bind_int(st, 9, now);
    if (rc == 0)
        rc = h->stmt_step(st);
    h->stmt_finish(st);
    return rc == 0 || rc == 1 ? 0 : rc;
}

int orchard_server_store_cert_record(const orchard_issued_cert *cert, const char *challenge,
                                     gint64 now)
{
    const orchard_host_api *h = store_host();
    orchard_store_tx *tx = NULL;
    if (!h)
        return ORCHARD_EABI;
    int rc = begin(h, 1, "recording a certificate", &tx);
    if (rc)
        return rc;
    if (cert->challenge_kind == ORCHARD_CHALLENGE_ONE_TIME) {
        g_autofree char *hash = challenge ? sha256_hex(challenge) : NULL;
        gint64 n = hash ? exec_in(tx,
                                  "UPDATE scep_challenges SET used_at = ? "
                                  "WHERE hash = ? AND used_at IS NULL AND expires_at > ?",
                                  "iti", now, hash, now)
                        : ORCHARD_ENOTFOUND;
        rc = n == 1 ? 0 : n < 0 ? (int)n : ORCHARD_ENOTFOUND;
    }
    if (rc == 0)
        rc = insert_cert(h, tx, cert, now);
    if (rc) {
        if (rc != ORCHARD_ENOTFOUND)
            log_fail(h, tx, "recording a certificate", rc);
        h->store_rollback(tx);
        return rc;
    }
    rc = h->store_commit(tx);
    if (rc)
        log_fail(h, NULL, "recording a certificate", rc);
    return rc;
}

typedef struct {
    int *revoked;
    gint64 *not_after;
} lookup_out;

static int lookup_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    lookup_out *o = out;
    *o->revoked = (int)h->stmt_column_int(st, 0);
    *o->not_after = h->stmt_column_int(st, 1);
    return 0;
}

int orchard_server_store_cert_lookup(const char *serial, int *revoked, gint64 *not_after)
{
    lookup_out o = {revoked, not_after};
    return read_one("looking up a certificate",
                    "SELECT revoked, not_after FROM scep_certificates WHERE serial = ?", serial,
                    lookup_row, &o);
}

int orchard_server_store_cert_each(orchard_cert_row_fn fn, void *payload)
{
    const orchard_host_api *h = store_host();
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    if (!h)
        return ORCHARD_EABI;
    int rc = h->store_begin(&tx, 0);
    if (rc == 0)
        rc = h->stmt_prepare(tx,
                             "SELECT serial, subject, not_before, not_after, revoked, "
                             "challenge_kind FROM scep_certificates ORDER BY issued_at, serial",
                             &st);
    while (rc == 0 && (rc = h->stmt_step(st)) == 1) {
        rc = 0;
        if (fn(h->stmt_column_text(st, 0), h->stmt_column_text(st, 1),
               h->stmt_column_int(st, 2), h->stmt_column_int(st, 3),
               (int)h->stmt_column_int(st, 4), h->stmt_column_text(st, 5), payload))
            break;
    }
    if (rc)
        log_fail(h, tx, "listing certificates", rc);
    h->stmt_finish(st);
    h->store_rollback(tx);
    return rc;
}

int orchard_server_store_token_create(const char *name, char **token)
{
    g_autofree char *secret = random_secret();
    g_autofree char *hash = secret ? sha256_hex(secret) : NULL;
    if (!hash)
        return ORCHARD_ENOMEM;
    gint64 rc = exec_write("creating an enrollment token",
                           "INSERT INTO enroll_tokens (hash, name, created_at) VALUES (?, ?, ?)",
                           "tti", hash, name, g_get_real_time() / G_USEC_PER_SEC);
    if (rc < 0)
        return (int)rc;
    *token = g_steal_pointer(&secret);
    return 0;
}

static int text_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    if (out)
        *(char **)out = g_strdup(h->stmt_column_text(st, 0));
    return 0;
}

int orchard_server_store_token_check(const char *token, char **name)
{
    g_autofree char *hash = sha256_hex(token);
    if (name)
        *name = NULL;
    if (!hash)
        return ORCHARD_ENOMEM;
    return read_one("checking an enrollment token",
                    "SELECT name FROM enroll_tokens WHERE hash = ?", hash, text_row, name);
}

int orchard_server_store_topic_check(const char *topic, int accept_new, char **recorded)
{
    g_autofree char *old = NULL;
    int rc = read_one("reading the APNs topic", "SELECT value FROM server_state WHERE key = ?",
                      "apns_topic", text_row, &old);
    if (rc == 0 && g_strcmp0(old, topic) == 0)
        return 0;
    if (rc == 0 && !accept_new) {
        *recorded = g_steal_pointer(&old);
        return ORCHARD_EEXIST;
    }
    if (rc != 0 && rc != ORCHARD_ENOTFOUND)
        return rc;
    /* First start, or an accepted new topic: record it. Another instance may
     * have recorded one meanwhile; the upsert keeps the last word, which is
     * the same topic every instance is configured with. */
    gint64 n = exec_write("recording the APNs topic",
                          "INSERT INTO server_state (key, value) VALUES ('apns_topic', ?) "
                          "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                          "t", topic);
    return n < 0 ? (int)n : 0;
}
