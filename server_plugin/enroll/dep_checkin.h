/* The check-in's part in automatic enrollment: at Authenticate, a Mac whose
 * serial the DEP enrollment URL just served is marked DEP-enrolled and joins
 * the default team (mdm.apple_bm_default_team). Called by
 * checkin/checkin_service.c; implemented in enroll/dep_checkin.c. */
#ifndef ORCHARD_ENROLL_DEP_CHECKIN_H
#define ORCHARD_ENROLL_DEP_CHECKIN_H

/**
 * After `udid`'s Authenticate was stored: set its dep_enrolled
 * (orchard_store_dep_mark_enrolled) and, when it is DEP, put it in the team
 * named by mdm.apple_bm_default_team if that team exists and the host is
 * in no team yet (a missing team is logged as a warning once per name).
 * *is_dep (may be NULL) says whether it is DEP. Returns 0 or the store's
 * code from marking it (the default team's failures are logged, not
 * returned: the enrollment itself is sound without it).
 */
int orchard_dep_checkin_authenticated(const char *udid, const char *serial, int *is_dep);

/** CommandUUIDs of the DeviceConfigured commands orchard queues start so. */
#define ORCHARD_DEP_CONFIGURED_UUID_PREFIX "ORCHARD-DEP-CONFIGURED-"

/**
 * After the TokenUpdate that turned `udid`'s enrollment on: a Mac that says
 * AwaitingConfiguration (Setup Assistant waits, as the DEP profile's
 * await_device_configured asks) gets a DeviceConfigured command queued, so
 * it goes on with setup. Nothing when awaiting_configuration is 0. Returns 0
 * or the store's code (logged).
 */
int orchard_dep_checkin_configure(const char *udid, int awaiting_configuration);

/** Forget which missing team names were warned about (tests). */
void orchard_dep_checkin_reset(void);

#endif
