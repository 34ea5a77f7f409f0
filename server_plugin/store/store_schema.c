/* The server plugin's schema: its migrations on the host's store, one
 * version per step, applied once each (host->store_migrate). */
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_sql.h"

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
    /* 2: the expiry job deletes by expires_at (issue 9) */
    "CREATE INDEX scep_challenges_expires_at ON scep_challenges (expires_at);",
};

int orchard_server_store_migrate(void)
{
    const orchard_host_api *h = orchard_sstore_host();
    if (!h)
        return ORCHARD_EABI;
    return h->store_migrate(ORCHARD_SERVER_STORE_OWNER, migrations, G_N_ELEMENTS(migrations));
}
