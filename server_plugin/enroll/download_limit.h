/* How many enrollment profiles one token may fetch per window. */
#ifndef ORCHARD_ENROLL_DOWNLOAD_LIMIT_H
#define ORCHARD_ENROLL_DOWNLOAD_LIMIT_H

#include <orchard/plugin.h>

#include <glib.h>

#define ORCHARD_ENROLL_WINDOW_SECONDS 60
/** Downloads per token per window when the setting is unset. */
#define ORCHARD_ENROLL_DOWNLOADS_DEFAULT 60

/** The setting mdm.enroll_downloads_per_minute (the server plugin declares it). */
extern const orchard_setting orchard_setting_enroll_downloads;

/**
 * Count one download of `token` at `now` (unix seconds) against `limit` per
 * window. Returns 1 when allowed; 0 when over, with *retry_after the
 * seconds until the window ends. Thread-safe.
 */
int orchard_enroll_download_allowed(const char *token, unsigned limit, gint64 now,
                                    int *retry_after);

/** Forget every count (the plugin unloads; tests). */
void orchard_enroll_download_reset(void);

#endif
