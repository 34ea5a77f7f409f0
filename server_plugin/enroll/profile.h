/* The enrollment profile (docs/protocols.md §7): the .mobileconfig a Mac installs
 * to get a SCEP identity and enroll in MDM. The enroll route builds one per
 * download, each with its own one-time challenge and fresh payload UUIDs,
 * and signs it when server.profile_signing_cert/key are configured. */
#ifndef ORCHARD_ENROLL_PROFILE_H
#define ORCHARD_ENROLL_PROFILE_H

#include "server_plugin/config/mdm_config.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>

/* PayloadIdentifier of the outer profile; the SCEP and MDM payloads append
 * ".scep" and ".mdm". Fixed, so that installing a newer download replaces
 * the installed profile instead of sitting beside it. */
#define ORCHARD_ENROLL_PROFILE_ID "com.orchard.mdm.enroll"

/* What the profile names. Borrowed; every field is required. */
typedef struct orchard_enroll_profile_params {
    const char *base_url;  /* devices' URL of the server, no trailing '/' */
    const char *org_name;  /* org_info.org_name */
    const char *topic;     /* the APNs topic */
    const char *challenge; /* the SCEP challenge devices present */
} orchard_enroll_profile_params;

/**
 * The profile as XML plist text (written by libplist, so values are
 * escaped), with fresh upper-case payload UUIDs.
 * Returns 0 and *xml (g_free; NUL-terminated) with *len, or:
 *   ORCHARD_EINVAL  a value is missing or empty, is not UTF-8, or holds a
 *                   control character other than tab and newline (XML 1.0
 *                   can't carry them); *error_msg (g_free) names the value;
 *   ORCHARD_ENOMEM  libplist could not write the XML.
 * *xml is NULL on failure.
 */
int orchard_enroll_profile_xml(const orchard_enroll_profile_params *params, char **xml,
                               size_t *len, char **error_msg);

/**
 * CMS SignedData over `data` (content attached, `cert` included, SHA-256),
 * DER-encoded. Returns 0 and *der (g_free) with *der_len, or ORCHARD_EINVAL
 * (the key does not match the certificate, or OpenSSL refused) with
 * *error_msg (g_free). *der is NULL on failure.
 */
int orchard_enroll_profile_sign(const void *data, size_t len, X509 *cert, EVP_PKEY *key,
                                unsigned char **der, size_t *der_len, char **error_msg);

/**
 * The profile as served for `cfg` (org name, topic, signing pair): XML,
 * signed when cfg->profile_signing_cert is set. *signed_out (may be NULL)
 * says which. Errors and ownership as orchard_enroll_profile_xml and _sign.
 */
int orchard_enroll_profile_build(const orchard_mdm_config *cfg, const char *base_url,
                                 const char *challenge, unsigned char **out, size_t *len,
                                 int *signed_out, char **error_msg);

/**
 * The download's file name, "<org>-enrollment.mobileconfig", with the org
 * reduced to ASCII letters, digits, '.', '_' and '-' (runs of anything
 * else become one '-') so it is safe in a Content-Disposition header and on
 * any file system; "orchard" when nothing is left. g_free.
 */
char *orchard_enroll_profile_filename(const char *org_name);

#endif
