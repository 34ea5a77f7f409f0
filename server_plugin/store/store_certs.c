/* Issued SCEP certificates: recorded together with the one-time challenge
 * they spend, looked up for renewal, listed for scep_certificates. */
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_sql.h"

const char *orchard_challenge_kind_name(orchard_challenge_kind kind)
{
    switch (kind) {
    case ORCHARD_CHALLENGE_ONE_TIME: return "one-time";
    case ORCHARD_CHALLENGE_RENEWAL: return "renewal";
    case ORCHARD_CHALLENGE_STATIC: break;
    }
    return "static";
}

static gint64 insert_cert(orchard_store_tx *tx, const orchard_issued_cert *c, gint64 now)
{
    return orchard_sstore_exec(
        tx,
        "INSERT INTO scep_certificates (serial, subject, not_before, not_after, revoked, "
        "challenge_kind, sha256, der, renewed_serial, issued_at) "
        "VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
        SQL_PARAMS(SQL_TEXT(c->serial), SQL_TEXT(c->subject), SQL_INT(c->not_before),
                   SQL_INT(c->not_after), SQL_TEXT(orchard_challenge_kind_name(c->challenge_kind)),
                   SQL_TEXT(c->sha256), SQL_BLOB(c->der, c->der_len),
                   SQL_TEXT(c->renewed_serial), SQL_INT(now)));
}

/* Spend a one-time challenge in `tx`: 0, or ENOTFOUND (unknown, used, expired). */
static int spend_challenge(orchard_store_tx *tx, const char *challenge, gint64 now)
{
    g_autofree char *hash = challenge ? orchard_sstore_sha256_hex(challenge) : NULL;
    if (!hash)
        return ORCHARD_ENOTFOUND;
    gint64 n = orchard_sstore_exec(tx,
                                   "UPDATE scep_challenges SET used_at = ? "
                                   "WHERE hash = ? AND used_at IS NULL AND expires_at > ?",
                                   SQL_PARAMS(SQL_INT(now), SQL_TEXT(hash), SQL_INT(now)));
    return n == 1 ? 0 : n < 0 ? (int)n : ORCHARD_ENOTFOUND;
}

int orchard_server_store_cert_record(const orchard_issued_cert *cert, const char *challenge,
                                     gint64 now)
{
    const char *what = "recording a certificate";
    orchard_store_tx *tx = NULL;
    int rc = orchard_sstore_begin(1, what, &tx);
    if (rc)
        return rc;
    if (cert->challenge_kind == ORCHARD_CHALLENGE_ONE_TIME)
        rc = spend_challenge(tx, challenge, now);
    if (rc == 0) {
        gint64 n = insert_cert(tx, cert, now);
        rc = n < 0 ? (int)n : 0;
    }
    return orchard_sstore_end(tx, rc, what, ORCHARD_ENOTFOUND);
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
    return orchard_sstore_read_one("looking up a certificate",
                                   "SELECT revoked, not_after FROM scep_certificates "
                                   "WHERE serial = ?",
                                   SQL_PARAMS(SQL_TEXT(serial)), lookup_row, &o);
}

typedef struct {
    int *revoked;
    gint64 *not_after;
    char **bound_udid;
} identity_out;

static int identity_row(const orchard_host_api *h, orchard_stmt *st, void *out)
{
    identity_out *o = out;
    *o->revoked = (int)h->stmt_column_int(st, 0);
    *o->not_after = h->stmt_column_int(st, 1);
    *o->bound_udid = g_strdup(h->stmt_column_text(st, 2)); /* NULL when unbound */
    return 0;
}

int orchard_server_store_cert_identity(const char *serial, int *revoked, gint64 *not_after,
                                       char **bound_udid)
{
    identity_out o = {revoked, not_after, bound_udid};
    *bound_udid = NULL;
    return orchard_sstore_read_one("looking up a certificate and its enrollment",
                                   "SELECT c.revoked, c.not_after, e.udid FROM scep_certificates c "
                                   "LEFT JOIN mdm_enrollments e ON e.cert_sha256 = c.sha256 "
                                   "WHERE c.serial = ?",
                                   SQL_PARAMS(SQL_TEXT(serial)), identity_row, &o);
}

int orchard_server_store_cert_each(orchard_cert_row_fn fn, void *payload)
{
    const char *what = "listing certificates";
    orchard_store_tx *tx = NULL;
    orchard_stmt *st = NULL;
    int rc = orchard_sstore_begin(0, what, &tx);
    if (rc)
        return rc;
    const orchard_host_api *h = orchard_sstore_host();
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
        orchard_sstore_log_fail(tx, what, rc);
    h->stmt_finish(st);
    h->store_rollback(tx);
    return rc;
}
