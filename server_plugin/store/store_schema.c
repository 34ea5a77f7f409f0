/* The server plugin's schema: its migrations on the host's store, one
 * version per step, applied once each (host->store_migrate2). The SQLite
 * text of each step carries the comments; the PostgreSQL text below it is
 * the same tables in that dialect. */
#include "server_plugin/store/server_store.h"
#include "server_plugin/store/store_sql.h"

/* One schema step per version, in SQLite's dialect and, where DDL differs,
 * PostgreSQL's (BIGINT for every integer, since unix times in
 * milliseconds or microseconds outgrow PostgreSQL's 32-bit INTEGER; BYTEA
 * for BLOB; an identity column for SQLite's INTEGER PRIMARY KEY row id).
 * Statements elsewhere are written once, in the portable subset. */
/* 1: enrollment (issue 5) */
static const char step1_sqlite[] =
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
    " value TEXT NOT NULL);";
static const char step1_postgres[] =
    "CREATE TABLE scep_certificates ("
    " serial TEXT PRIMARY KEY,"
    " subject TEXT NOT NULL,"
    " not_before BIGINT NOT NULL,"
    " not_after BIGINT NOT NULL,"
    " revoked BIGINT NOT NULL DEFAULT 0,"
    " challenge_kind TEXT NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " der BYTEA NOT NULL,"
    " renewed_serial TEXT,"
    " issued_at BIGINT NOT NULL);"
    "CREATE TABLE scep_challenges ("
    " hash TEXT PRIMARY KEY,"
    " created_at BIGINT NOT NULL,"
    " expires_at BIGINT NOT NULL,"
    " used_at BIGINT);"
    "CREATE TABLE enroll_tokens ("
    " hash TEXT PRIMARY KEY,"
    " name TEXT,"
    " created_at BIGINT NOT NULL);"
    "CREATE TABLE server_state ("
    " key TEXT PRIMARY KEY,"
    " value TEXT NOT NULL);";

/* 2: the expiry job deletes by expires_at (issue 9) */
static const char step2_sqlite[] =
    "CREATE INDEX scep_challenges_expires_at ON scep_challenges (expires_at);";
/* the same text in every dialect */

/* 3: the management loop (issue 10): devices, their command queue,
 * pushes, users and their sessions, activities. Times are unix seconds
 * unless a column says otherwise. INTEGER PRIMARY KEY is SQLite's row
 * id; the PostgreSQL text spells it as an identity column. */
/* enrollments (store_devices.c): one row per device UDID */
static const char step3_sqlite[] =
    "CREATE TABLE mdm_enrollments ("
    " udid TEXT PRIMARY KEY,"
    " serial_number TEXT,"
    " model TEXT,"
    " product_name TEXT,"
    " os_version TEXT,"
    " build_version TEXT,"
    " device_name TEXT,"
    " topic TEXT,"
    " cert_sha256 TEXT NOT NULL,"          /* the identity bound at Authenticate */
    " enabled INTEGER NOT NULL DEFAULT 0,"
    " push_token BLOB,"
    " push_magic TEXT,"
    " unlock_token BLOB,"
    " push_token_valid INTEGER NOT NULL DEFAULT 0,"
    " push_invalid_reason TEXT,"
    " awaiting_configuration INTEGER NOT NULL DEFAULT 0,"
    " token_update_tally INTEGER NOT NULL DEFAULT 0,"
    " bootstrap_token BLOB,"              /* sealed (store_devices.h) */
    " session_started_at INTEGER NOT NULL DEFAULT 0," /* last Idle, microseconds */
    " last_seen_at INTEGER,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX mdm_enrollments_cert ON mdm_enrollments (cert_sha256);"
    "CREATE INDEX mdm_enrollments_serial ON mdm_enrollments (serial_number);"
    /* commands (store_queue.c): the command once, its status per device */
    "CREATE TABLE mdm_commands ("
    " command_uuid TEXT PRIMARY KEY,"
    " request_type TEXT NOT NULL,"
    " command BLOB NOT NULL,"             /* the plist sent to devices, XML */
    " created_by TEXT,"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX mdm_commands_created ON mdm_commands (created_at);"
    "CREATE TABLE mdm_command_queue ("
    " udid TEXT NOT NULL,"
    " command_uuid TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'Pending',"
    " result BLOB,"                       /* the device's whole report plist */
    " error_chain TEXT,"                  /* JSON array of the ErrorChain dicts */
    " notnow_session INTEGER,"            /* NotNow: the session_started_at it was given in */
    " queued_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " PRIMARY KEY (udid, command_uuid));"
    "CREATE INDEX mdm_command_queue_next ON mdm_command_queue (udid, status, queued_at);"
    "CREATE INDEX mdm_command_queue_cmd ON mdm_command_queue (command_uuid);"
    /* pushes (store_pushes.c): devices waiting for a push, and every outcome */
    "CREATE TABLE apns_push_queue ("
    " udid TEXT PRIMARY KEY,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_at INTEGER NOT NULL,"  /* milliseconds */
    " last_reason TEXT,"
    " queued_at INTEGER NOT NULL);"
    "CREATE INDEX apns_push_queue_due ON apns_push_queue (next_attempt_at);"
    "CREATE TABLE apns_pushes ("
    " id INTEGER PRIMARY KEY,"
    " udid TEXT NOT NULL,"
    " apns_id TEXT,"
    " status_code INTEGER NOT NULL,"      /* 0: no answer (connection failed) */
    " reason TEXT,"
    " sent_at INTEGER NOT NULL);"        /* milliseconds */
    "CREATE INDEX apns_pushes_udid ON apns_pushes (udid, sent_at);"
    /* users (store_users.c) */
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY,"            /* Fleet's numeric user id (PostgreSQL: a sequence) */
    " email TEXT NOT NULL UNIQUE,"        /* lower case */
    " name TEXT NOT NULL,"
    " role TEXT NOT NULL,"                /* admin | maintainer | observer */
    " api_only INTEGER NOT NULL DEFAULT 0,"
    " password_hash TEXT,"                /* NULL for API-only users */
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE user_sessions ("
    " token_hash TEXT PRIMARY KEY,"       /* SHA-256 hex of the bearer token */
    " email TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER,"                /* NULL: an API-only user's token */
    " last_used_at INTEGER);"
    "CREATE INDEX user_sessions_email ON user_sessions (email);"
    /* activities (store_activities.c): who changed what; never a secret */
    "CREATE TABLE activities ("
    " id INTEGER PRIMARY KEY,"            /* Fleet's numeric id (PostgreSQL: a sequence) */
    " created_at INTEGER NOT NULL,"
    " actor_email TEXT,"
    " actor_name TEXT,"
    " type TEXT NOT NULL,"
    " details TEXT NOT NULL);"            /* JSON object */
    "CREATE INDEX activities_created ON activities (created_at);";
static const char step3_postgres[] =
    "CREATE TABLE mdm_enrollments ("
    " udid TEXT PRIMARY KEY,"
    " serial_number TEXT,"
    " model TEXT,"
    " product_name TEXT,"
    " os_version TEXT,"
    " build_version TEXT,"
    " device_name TEXT,"
    " topic TEXT,"
    " cert_sha256 TEXT NOT NULL,"
    " enabled BIGINT NOT NULL DEFAULT 0,"
    " push_token BYTEA,"
    " push_magic TEXT,"
    " unlock_token BYTEA,"
    " push_token_valid BIGINT NOT NULL DEFAULT 0,"
    " push_invalid_reason TEXT,"
    " awaiting_configuration BIGINT NOT NULL DEFAULT 0,"
    " token_update_tally BIGINT NOT NULL DEFAULT 0,"
    " bootstrap_token BYTEA,"
    " session_started_at BIGINT NOT NULL DEFAULT 0,"
    " last_seen_at BIGINT,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL);"
    "CREATE UNIQUE INDEX mdm_enrollments_cert ON mdm_enrollments (cert_sha256);"
    "CREATE INDEX mdm_enrollments_serial ON mdm_enrollments (serial_number);"
    "CREATE TABLE mdm_commands ("
    " command_uuid TEXT PRIMARY KEY,"
    " request_type TEXT NOT NULL,"
    " command BYTEA NOT NULL,"
    " created_by TEXT,"
    " created_at BIGINT NOT NULL);"
    "CREATE INDEX mdm_commands_created ON mdm_commands (created_at);"
    "CREATE TABLE mdm_command_queue ("
    " udid TEXT NOT NULL,"
    " command_uuid TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'Pending',"
    " result BYTEA,"
    " error_chain TEXT,"
    " notnow_session BIGINT,"
    " queued_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " PRIMARY KEY (udid, command_uuid));"
    "CREATE INDEX mdm_command_queue_next ON mdm_command_queue (udid, status, queued_at);"
    "CREATE INDEX mdm_command_queue_cmd ON mdm_command_queue (command_uuid);"
    "CREATE TABLE apns_push_queue ("
    " udid TEXT PRIMARY KEY,"
    " attempts BIGINT NOT NULL DEFAULT 0,"
    " next_attempt_at BIGINT NOT NULL,"
    " last_reason TEXT,"
    " queued_at BIGINT NOT NULL);"
    "CREATE INDEX apns_push_queue_due ON apns_push_queue (next_attempt_at);"
    "CREATE TABLE apns_pushes ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " udid TEXT NOT NULL,"
    " apns_id TEXT,"
    " status_code BIGINT NOT NULL,"
    " reason TEXT,"
    " sent_at BIGINT NOT NULL);"
    "CREATE INDEX apns_pushes_udid ON apns_pushes (udid, sent_at);"
    "CREATE TABLE users ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " email TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL,"
    " role TEXT NOT NULL,"
    " api_only BIGINT NOT NULL DEFAULT 0,"
    " password_hash TEXT,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL);"
    "CREATE TABLE user_sessions ("
    " token_hash TEXT PRIMARY KEY,"
    " email TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " expires_at BIGINT,"
    " last_used_at BIGINT);"
    "CREATE INDEX user_sessions_email ON user_sessions (email);"
    "CREATE TABLE activities ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " created_at BIGINT NOT NULL,"
    " actor_email TEXT,"
    " actor_name TEXT,"
    " type TEXT NOT NULL,"
    " details TEXT NOT NULL);"
    "CREATE INDEX activities_created ON activities (created_at);";

/* 4: teams, configuration profiles, macOS updates (issue 12). Team 0 is
 * Fleet's "No team": hosts without a team, and the global settings. */
static const char step4_sqlite[] =
    /* teams (store_teams.c) */
    "CREATE TABLE teams ("
    " id INTEGER PRIMARY KEY,"            /* Fleet's numeric team id, from 1 */
    " name TEXT NOT NULL UNIQUE,"
    " description TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    /* a host's team; 0: no team. Device facts DeviceInformation refreshes */
    "ALTER TABLE mdm_enrollments ADD COLUMN team_id INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE mdm_enrollments ADD COLUMN device_info_at INTEGER;"      /* last answer */
    "ALTER TABLE mdm_enrollments ADD COLUMN device_info_asked_at INTEGER;" /* last queued */
    "ALTER TABLE mdm_enrollments ADD COLUMN profile_list_at INTEGER;"     /* last answer */
    "ALTER TABLE mdm_enrollments ADD COLUMN profile_list_asked_at INTEGER;"
    "ALTER TABLE mdm_enrollments ADD COLUMN nudge_pkg_sha256 TEXT;" /* the Nudge package queued */
    "CREATE INDEX mdm_enrollments_team ON mdm_enrollments (team_id);"
    /* macOS updates per scope (store_updates.c): team_id 0 is the global setting */
    "CREATE TABLE macos_update_settings ("
    " team_id INTEGER PRIMARY KEY,"
    " minimum_version TEXT NOT NULL,"
    " deadline TEXT NOT NULL,"            /* YYYY-MM-DD */
    " updated_at INTEGER NOT NULL);"
    /* profiles (store_profiles.c): what hosts of a team should have. kind
     * 'custom' is an admin's upload; 'nudge' is orchard's own Nudge profile,
     * which applies only to hosts whose os_version is below applies_below */
    "CREATE TABLE mdm_profiles ("
    " id INTEGER PRIMARY KEY,"            /* Fleet's profile_id */
    " team_id INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"                /* custom | nudge */
    " identifier TEXT NOT NULL,"          /* top-level PayloadIdentifier */
    " name TEXT NOT NULL,"                /* top-level PayloadDisplayName */
    " payload_uuid TEXT NOT NULL,"        /* top-level PayloadUUID */
    " content BLOB NOT NULL,"             /* as uploaded (signed or not) */
    " checksum TEXT NOT NULL,"            /* hex SHA-256 of content */
    " applies_below TEXT,"                /* a macOS version, or NULL: every host */
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX mdm_profiles_team_identifier ON mdm_profiles (team_id, identifier);"
    "CREATE UNIQUE INDEX mdm_profiles_team_name ON mdm_profiles (team_id, name);"
    /* what each host was sent (store_profiles.c): one row per host and
     * profile identifier while it is installed or being removed */
    "CREATE TABLE mdm_host_profiles ("
    " udid TEXT NOT NULL,"
    " identifier TEXT NOT NULL,"
    " profile_id INTEGER,"                /* NULL once the profile is deleted */
    " name TEXT NOT NULL,"
    " checksum TEXT NOT NULL,"            /* of the content sent */
    " payload_uuid TEXT NOT NULL,"
    " operation TEXT NOT NULL,"           /* install | remove */
    " status TEXT NOT NULL,"              /* pending | verifying | verified | failed */
    " detail TEXT NOT NULL DEFAULT '',"   /* the ErrorChain text of a failure */
    " command_uuid TEXT,"                 /* the command that carries the operation */
    " retries INTEGER NOT NULL DEFAULT 0,"
    " updated_at INTEGER NOT NULL,"
    " PRIMARY KEY (udid, identifier));"
    "CREATE INDEX mdm_host_profiles_command ON mdm_host_profiles (command_uuid);"
    "CREATE INDEX mdm_host_profiles_profile ON mdm_host_profiles (profile_id, status);";
static const char step4_postgres[] =
    "CREATE TABLE teams ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY (START WITH 1) PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " description TEXT NOT NULL DEFAULT '',"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL);"
    "ALTER TABLE mdm_enrollments ADD COLUMN team_id BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE mdm_enrollments ADD COLUMN device_info_at BIGINT;"
    "ALTER TABLE mdm_enrollments ADD COLUMN device_info_asked_at BIGINT;"
    "ALTER TABLE mdm_enrollments ADD COLUMN profile_list_at BIGINT;"
    "ALTER TABLE mdm_enrollments ADD COLUMN profile_list_asked_at BIGINT;"
    "ALTER TABLE mdm_enrollments ADD COLUMN nudge_pkg_sha256 TEXT;"
    "CREATE INDEX mdm_enrollments_team ON mdm_enrollments (team_id);"
    "CREATE TABLE macos_update_settings ("
    " team_id BIGINT PRIMARY KEY,"
    " minimum_version TEXT NOT NULL,"
    " deadline TEXT NOT NULL,"
    " updated_at BIGINT NOT NULL);"
    "CREATE TABLE mdm_profiles ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " team_id BIGINT NOT NULL,"
    " kind TEXT NOT NULL,"
    " identifier TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " payload_uuid TEXT NOT NULL,"
    " content BYTEA NOT NULL,"
    " checksum TEXT NOT NULL,"
    " applies_below TEXT,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL);"
    "CREATE UNIQUE INDEX mdm_profiles_team_identifier ON mdm_profiles (team_id, identifier);"
    "CREATE UNIQUE INDEX mdm_profiles_team_name ON mdm_profiles (team_id, name);"
    "CREATE TABLE mdm_host_profiles ("
    " udid TEXT NOT NULL,"
    " identifier TEXT NOT NULL,"
    " profile_id BIGINT,"
    " name TEXT NOT NULL,"
    " checksum TEXT NOT NULL,"
    " payload_uuid TEXT NOT NULL,"
    " operation TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '',"
    " command_uuid TEXT,"
    " retries BIGINT NOT NULL DEFAULT 0,"
    " updated_at BIGINT NOT NULL,"
    " PRIMARY KEY (udid, identifier));"
    "CREATE INDEX mdm_host_profiles_command ON mdm_host_profiles (command_uuid);"
    "CREATE INDEX mdm_host_profiles_profile ON mdm_host_profiles (profile_id, status);";

/* 5: automatic enrollment (issue 13): the devices Apple Business Manager
 * assigned to this MDM server, and every sync run. The sync's own state
 * (cursor and its age, fetch or sync, the defined DEP profile, Apple's
 * account) lives in server_state under keys starting with "dep."
 * (store_dep.h). */
static const char step5_sqlite[] =
    "CREATE TABLE dep_devices ("
    " serial_number TEXT PRIMARY KEY,"
    " model TEXT,"
    " description TEXT,"
    " color TEXT,"
    " os TEXT,"
    " device_family TEXT,"
    " profile_status TEXT,"               /* Apple's: empty, assigned, pushed, removed */
    " profile_uuid TEXT,"                 /* the DEP profile Apple says it has */
    " profile_assigned_at INTEGER,"       /* unix seconds of orchard's last successful assign */
    " device_assigned_date TEXT,"         /* as Apple wrote it */
    " op_type TEXT,"                      /* added | modified | deleted: the last applied */
    " op_date TEXT,"                      /* as Apple wrote it (RFC 3339) */
    " op_date_unix INTEGER,"              /* the same, for ordering and dedupe */
    " assign_status TEXT,"                /* the last assign's result (SUCCESS, NOT_ACCESSIBLE, ...) */
    " assign_error TEXT,"                 /* why it failed, when it did */
    " assign_attempts INTEGER NOT NULL DEFAULT 0,"
    " deleted INTEGER NOT NULL DEFAULT 0," /* op_type deleted: kept for history, never assigned */
    " enroll_served_at INTEGER,"          /* unix seconds: the DEP enrollment URL served it */
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX dep_devices_assign ON dep_devices (deleted, assign_status);"
    "CREATE TABLE dep_sync_runs ("
    " id INTEGER PRIMARY KEY,"
    " kind TEXT NOT NULL,"                /* fetch | sync */
    " started_at INTEGER NOT NULL,"       /* milliseconds */
    " finished_at INTEGER,"               /* milliseconds; NULL while running (or killed) */
    " pages INTEGER NOT NULL DEFAULT 0,"
    " fetched INTEGER NOT NULL DEFAULT 0,"
    " added INTEGER NOT NULL DEFAULT 0,"
    " modified INTEGER NOT NULL DEFAULT 0,"
    " deleted INTEGER NOT NULL DEFAULT 0,"
    " assigned INTEGER NOT NULL DEFAULT 0,"
    " cursor_age INTEGER,"                /* seconds since the cursor in use was issued */
    " error_code TEXT,"                   /* Apple's code (T_C_NOT_SIGNED, ...) or orchard's */
    " error TEXT);"                       /* NULL: the run succeeded */
    "CREATE INDEX dep_sync_runs_started ON dep_sync_runs (started_at);"
    /* a host that enrolled through the DEP enrollment URL */
    "ALTER TABLE mdm_enrollments ADD COLUMN dep_enrolled INTEGER NOT NULL DEFAULT 0;";
static const char step5_postgres[] =
    "CREATE TABLE dep_devices ("
    " serial_number TEXT PRIMARY KEY,"
    " model TEXT,"
    " description TEXT,"
    " color TEXT,"
    " os TEXT,"
    " device_family TEXT,"
    " profile_status TEXT,"
    " profile_uuid TEXT,"
    " profile_assigned_at BIGINT,"
    " device_assigned_date TEXT,"
    " op_type TEXT,"
    " op_date TEXT,"
    " op_date_unix BIGINT,"
    " assign_status TEXT,"
    " assign_error TEXT,"
    " assign_attempts BIGINT NOT NULL DEFAULT 0,"
    " deleted BIGINT NOT NULL DEFAULT 0,"
    " enroll_served_at BIGINT,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL);"
    "CREATE INDEX dep_devices_assign ON dep_devices (deleted, assign_status);"
    "CREATE TABLE dep_sync_runs ("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " started_at BIGINT NOT NULL,"
    " finished_at BIGINT,"
    " pages BIGINT NOT NULL DEFAULT 0,"
    " fetched BIGINT NOT NULL DEFAULT 0,"
    " added BIGINT NOT NULL DEFAULT 0,"
    " modified BIGINT NOT NULL DEFAULT 0,"
    " deleted BIGINT NOT NULL DEFAULT 0,"
    " assigned BIGINT NOT NULL DEFAULT 0,"
    " cursor_age BIGINT,"
    " error_code TEXT,"
    " error TEXT);"
    "CREATE INDEX dep_sync_runs_started ON dep_sync_runs (started_at);"
    "ALTER TABLE mdm_enrollments ADD COLUMN dep_enrolled BIGINT NOT NULL DEFAULT 0;";

/* 6: the admin pages (issue 14): a team's enabled Macs are counted on every
 * GET /teams and on the macOS updates page (its picker, and its Macs per OS
 * version); with the index on (team_id) alone each count read every
 * enrolled row. (team_id, enabled, os_version) makes those counts covering,
 * and serves whatever used the old index. */
static const char step6_sqlite[] =
    "CREATE INDEX mdm_enrollments_team_enabled ON mdm_enrollments (team_id, enabled, os_version);"
    "DROP INDEX mdm_enrollments_team;";
/* the same text in every dialect */

static const orchard_migration migrations[] = {
    {ORCHARD_STRUCT_HEADER(orchard_migration), .sql = step1_sqlite, .postgres = step1_postgres},
    {ORCHARD_STRUCT_HEADER(orchard_migration), .sql = step2_sqlite},
    {ORCHARD_STRUCT_HEADER(orchard_migration), .sql = step3_sqlite, .postgres = step3_postgres},
    {ORCHARD_STRUCT_HEADER(orchard_migration), .sql = step4_sqlite, .postgres = step4_postgres},
    {ORCHARD_STRUCT_HEADER(orchard_migration), .sql = step5_sqlite, .postgres = step5_postgres},
    {ORCHARD_STRUCT_HEADER(orchard_migration), .sql = step6_sqlite},
};

int orchard_server_store_migrate(void)
{
    const orchard_host_api *h = orchard_sstore_host();
    if (!h)
        return ORCHARD_EABI;
    return h->store_migrate2(ORCHARD_SERVER_STORE_OWNER, migrations, G_N_ELEMENTS(migrations));
}
