/* Configuration profiles for the profile suites (profile_validate_test.c,
 * profiles_api_test.c): .mobileconfig XML built from parts, and CMS
 * SignedData around one, signed by a throwaway key made in memory. */
#ifndef ORCHARD_TEST_PROFILE_FIXTURE_H
#define ORCHARD_TEST_PROFILE_FIXTURE_H

#include <glib.h>
#include <stddef.h>

#define PFX_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC " \
    "\"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n" \
    "<plist version=\"1.0\">\n"
#define PFX_TAIL "</plist>\n"
#define PFX_STR(k, v) "<key>" k "</key><string>" v "</string>"
#define PFX_UUID "6F1C4E2B-0000-4000-8000-000000000001"
#define PFX_DEFAULT_ID "com.example.wifi"
/* The top-level keys of a valid profile (literal id; name "Name of <id>"). */
#define PFX_TOP(id)                                                                         \
    PFX_STR("PayloadType", "Configuration") PFX_STR("PayloadIdentifier", id)                \
    PFX_STR("PayloadDisplayName", "Name of " id) PFX_STR("PayloadUUID", PFX_UUID)           \
    "<key>PayloadVersion</key><integer>1</integer>"
/* One payload of `type` (literal) with `extra` keys. */
#define PFX_PAYLOAD(type, extra)                                                            \
    "<dict>" PFX_STR("PayloadType", type) PFX_STR("PayloadIdentifier", "p." type)           \
    PFX_STR("PayloadUUID", "0A0A0A0A-0000-4000-8000-00000000000A")                          \
    "<key>PayloadVersion</key><integer>1</integer>" extra "</dict>"

/* The top-level keys for any identifier, name and PayloadUUID (g_free). */
char *pfx_top(const char *identifier, const char *name, const char *uuid);
/* A whole profile: `top` keys, then PayloadContent holding `payloads`
 * (NULL: no PayloadContent). g_free. */
char *pfx_profile_xml(const char *top, const char *payloads);
/* A valid profile with one Wi-Fi payload: identifier `id`, name "Name of <id>". */
char *pfx_profile(const char *id);
/* The same with a name, a PayloadUUID and a comment `salt` that changes its bytes. */
char *pfx_profile_full(const char *id, const char *name, const char *uuid, const char *salt);

/* A CMS SignedData around `data` (DER, or PEM with pem), the content
 * inside or `detached`. NULL on failure (said on stderr). g_bytes_unref. */
GBytes *pfx_sign(const void *data, size_t len, int detached, int pem);
/* A CMS ContentInfo of type data (not signed) around `data`, DER. */
GBytes *pfx_cms_data(const void *data, size_t len);

#endif
