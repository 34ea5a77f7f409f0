/* Serving the enrollment profile: the one answer both enrollment routes give
 * (enroll_route.c for an enrollment token, dep_enroll_route.c for a Mac in
 * Setup Assistant), so the two can never drift apart. */
#ifndef ORCHARD_ENROLL_PROFILE_SEND_H
#define ORCHARD_ENROLL_PROFILE_SEND_H

#include "server_plugin/config/mdm_config.h"

#include <orchard/plugin.h>

/**
 * Store a one-time SCEP challenge (mdm.apple_scep_challenge_ttl), then answer
 * 200 with the profile built for it (application/x-apple-aspen-config,
 * Content-Disposition, Cache-Control: no-store) and log one INFO line naming
 * `who` (e.g. `enrollment token "Sales"`; never a secret). The challenge is
 * stored first: a profile whose challenge the SCEP server doesn't know would
 * fail on the device, long after the download looked fine. Answers 503 when
 * the challenge cannot be stored and 500 when the profile cannot be built,
 * each logged. Returns what host->http_respond returned.
 */
int orchard_enroll_profile_serve(orchard_ctx *ctx, const orchard_http_request *req,
                                 orchard_http_response *resp, const orchard_mdm_config *cfg,
                                 const char *who);

/**
 * The per-minute limit on profile answers for `key` (an enrollment token,
 * or "dep-serial:" and a serial; mdm.enroll_downloads_per_minute,
 * download_limit.c). Returns 1 when this answer may go; else answers 429
 * with Retry-After and `refusal` as the text, logs a warning naming `who`
 * and the client's address, and returns 0.
 */
int orchard_enroll_limit_pass(const orchard_http_request *req, orchard_http_response *resp,
                              const char *key, const char *who, const char *refusal);

#endif
