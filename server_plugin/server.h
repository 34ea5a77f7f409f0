/* The MDM server plugin (orchard_server.so): what its parts contribute, and
 * the host API it was given. Each flow lives in its own folder:
 * setup/ (generate commands), config/ (the mdm: configuration and its
 * rules, `config check`, `get`), crypto/, dep/ (the ABM token, the DEP client
 * and sync), tables/,
 * store/ (the plugin's schema and queries), scep/ (the SCEP server),
 * serve/ (`orchard serve` and what its routes share), enroll/ (profiles). */
#ifndef ORCHARD_SERVER_H
#define ORCHARD_SERVER_H

#include <orchard/plugin.h>

extern const orchard_host_api *orchard_server_host;

/**
 * The plugin's init and deinit2: its state (serve/serve_state.h) hangs off
 * its context. Tests that call handlers directly make a context and call
 * these too.
 */
int orchard_server_init(orchard_ctx *ctx);
void orchard_server_deinit(orchard_ctx *ctx);

/* setup/ */
extern const orchard_command orchard_cmd_generate_mdm_apple;
extern const orchard_command orchard_cmd_generate_mdm_apple_bm;

/* config/ */
extern const orchard_command orchard_cmd_get_mdm_apple;
extern const orchard_command orchard_cmd_get_mdm_apple_bm;
extern const orchard_command orchard_cmd_config_check;

/* enroll/ */
extern const orchard_route orchard_route_enroll;
extern const orchard_command orchard_cmd_enroll_token_create;
/** Deletes expired one-time SCEP challenges (challenge_expiry.c). */
extern const orchard_job orchard_job_challenges_expire;

/* serve/ */
extern const orchard_command orchard_cmd_serve;
extern const orchard_route orchard_route_mdm_apple;

/* checkin/ */
/** PUT/POST /mdm/apple/mdm: check-ins and command reports (checkin_route.c). */
extern const orchard_route orchard_route_checkin;
/* server_plugin/api/health_api.c: GET /healthz for load balancers */
extern const orchard_route orchard_route_healthz;

/* commands/: the admin API's commands routes (commands_api.c) */
extern const orchard_route orchard_route_commands_run_latest;
extern const orchard_route orchard_route_commands_run_v1;
extern const orchard_route orchard_route_commands_results_latest;
extern const orchard_route orchard_route_commands_results_v1;
extern const orchard_route orchard_route_commands_list_latest;
extern const orchard_route orchard_route_commands_list_v1;

/* api/: GET /hosts and /hosts/{uuid} (hosts_api.c); GET /mdm/apple is in api/mdm_apple.h */
extern const orchard_route orchard_route_hosts_latest;
extern const orchard_route orchard_route_hosts_v1;

/* scep/ */
extern const orchard_route orchard_route_scep;
/** What the SCEP route keeps for the process; the plugin's deinit frees it. */
void orchard_scep_route_cleanup(void);

/* users/ (users.h, activity.h): users, sessions, the activity log */
extern const orchard_command orchard_cmd_user_create;
extern const orchard_command orchard_cmd_user_list;
extern const orchard_command orchard_cmd_user_delete;
/** POST /login, POST /logout, GET /me, GET /activities under /api/{latest,v1}/fleet */
extern const orchard_route orchard_route_login_latest, orchard_route_login_v1;
extern const orchard_route orchard_route_logout_latest, orchard_route_logout_v1;
extern const orchard_route orchard_route_me_latest, orchard_route_me_v1;
extern const orchard_route orchard_route_activities_latest, orchard_route_activities_v1;
/** Register the users' authenticator (the plugin's init); forget login counts (deinit). */
int orchard_users_init(orchard_ctx *ctx);
void orchard_users_cleanup(void);
/** Deletes expired sessions hourly ("users.sessions_expire", auth.c). */
extern const orchard_job orchard_job_sessions_expire;

/* apns/ (apns.h) */
/** Pushes due devices, records outcomes, retries with backoff ("apns.push"). */
extern const orchard_job orchard_job_apns_push;
extern const orchard_command orchard_cmd_push; /* `orchard push --udid U` */
/** POST /api/{latest,v1}/fleet/mdm/apple/push */
extern const orchard_route orchard_route_apns_push_latest;
extern const orchard_route orchard_route_apns_push_v1;
/** Close the job's APNs client (the plugin's deinit). */
void orchard_apns_cleanup(void);

/* profiles/ (profiles.h): configuration profiles and their reconciler */
/** POST /mdm/apple/profiles (multipart upload) and POST /mdm/apple/profiles/batch */
extern const orchard_route orchard_route_profiles_post_latest, orchard_route_profiles_post_v1;
extern const orchard_route orchard_route_profiles_batch_latest, orchard_route_profiles_batch_v1;
/** GET /mdm/apple/profiles, /mdm/apple/profiles/summary */
extern const orchard_route orchard_route_profiles_get_latest, orchard_route_profiles_get_v1;
/** DELETE /mdm/apple/profiles/{id} */
extern const orchard_route orchard_route_profiles_delete_latest, orchard_route_profiles_delete_v1;
/** "profiles.reconcile": queues what each host's profiles need (reconcile.c) */
extern const orchard_job orchard_job_profiles_reconcile;
extern const orchard_table orchard_table_mdm_host_profiles;
/** Subscribe the reconciler to enrollments (the plugin's init); forget its state (deinit). */
int orchard_profiles_init(orchard_ctx *ctx);
void orchard_profiles_cleanup(void);

/* teams/ (teams.h) */
extern const orchard_route orchard_route_teams_get_latest, orchard_route_teams_get_v1;
extern const orchard_route orchard_route_teams_post_latest, orchard_route_teams_post_v1;
extern const orchard_route orchard_route_teams_patch_latest, orchard_route_teams_patch_v1;
extern const orchard_route orchard_route_teams_delete_latest, orchard_route_teams_delete_v1;
/** POST /hosts/transfer */
extern const orchard_route orchard_route_hosts_transfer_latest, orchard_route_hosts_transfer_v1;
extern const orchard_command orchard_cmd_team_create;
extern const orchard_command orchard_cmd_team_list;
extern const orchard_table orchard_table_teams;

/* updates/ (updates.h): macOS updates, DeviceInformation, Nudge */
/** GET and PATCH /config (the mdm.macos_updates part, and what MDM shows) */
extern const orchard_route orchard_route_config_get_latest, orchard_route_config_get_v1;
extern const orchard_route orchard_route_config_patch_latest, orchard_route_config_patch_v1;
/** GET /os_versions */
extern const orchard_route orchard_route_os_versions_latest, orchard_route_os_versions_v1;
/** GET /mdm/apple/nudge/...: the Nudge package and its manifest, for Macs */
extern const orchard_route orchard_route_nudge_pkg;
/** "updates.device_info": queues DeviceInformation to Macs due for it */
extern const orchard_job orchard_job_device_info;
extern const orchard_table orchard_table_macos_updates;
/** Subscribe to enrollments (the plugin's init); forget cached state (deinit). */
int orchard_updates_init(orchard_ctx *ctx);
void orchard_updates_cleanup(void);

/* apply/: `orchard apply -f FILE` (Fleet's spec files: kind config / team) */
extern const orchard_command orchard_cmd_apply;

/* dep/ (dep_sync.h): automatic enrollment through Apple Business Manager */
/** "dep.sync": fetch, then sync, devices and assign the DEP profile (one instance) */
extern const orchard_job orchard_job_dep_sync;
/** `orchard dep sync`: one sync in the foreground, with a progress line */
extern const orchard_command orchard_cmd_dep_sync;
extern const orchard_table orchard_table_dep_devices;
extern const orchard_table orchard_table_dep_sync_runs;
/** The DEP enrollment URL: a Mac in Setup Assistant posts its signed machine
 * info and gets the enrollment profile (enroll/dep_enroll_route.c). */
#define ORCHARD_DEP_ENROLL_PATH "/api/mdm/apple/dep/enroll"
extern const orchard_route orchard_route_dep_enroll;
/** GET /api/{latest,v1}/fleet/mdm/apple_bm (api/mdm_apple_bm_api.c) */
extern const orchard_route orchard_route_mdm_apple_bm_api_latest;
extern const orchard_route orchard_route_mdm_apple_bm_api_v1;

#endif
