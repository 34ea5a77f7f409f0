/* The reconcile benchmark's profiles (profiles.c): ten .mobileconfig files,
 * 0-4 for the first team and 5-9 for the second, the same bytes every run. */
#ifndef ORCHARD_BENCH_RECONCILE_PROFILES_H
#define ORCHARD_BENCH_RECONCILE_PROFILES_H

#include <glib.h>

#define BENCH_PROFILES 10
#define BENCH_PROFILES_PER_TEAM 5

/** Profile i's XML plist (g_bytes_unref). */
GBytes *bench_profile_make(int i);
/** Its top-level PayloadIdentifier (g_free). */
char *bench_profile_identifier(int i);
/** Its top-level PayloadUUID. */
void bench_profile_uuid(int i, char out[37]);
/** A short name for its file ("firewall"), and its PayloadDisplayName (static). */
const char *bench_profile_slug(int i);
const char *bench_profile_name(int i);

#endif
