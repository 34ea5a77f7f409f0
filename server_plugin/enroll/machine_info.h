/* The machine info a Mac in Setup Assistant posts to the DEP enrollment URL
 * (docs/dep-enrollment.md): a CMS SignedData (DER) with the content attached,
 * an XML plist dict of UDID, SERIAL, PRODUCT, ... signed by the device's
 * identity. Read by enroll/dep_enroll_route.c; hostile until proven otherwise. */
#ifndef ORCHARD_SERVER_MACHINE_INFO_H
#define ORCHARD_SERVER_MACHINE_INFO_H

#include <orchard/plugin.h>

#include <glib.h>
#include <stddef.h>

/** The largest machine info read (a real one is 2-6 KiB with its chain); the route's max_body. */
#define ORCHARD_MACHINE_INFO_MAX ((size_t)64 * 1024)
/** Longest UDID or SERIAL accepted (Apple's are 25-40 and 10-12 characters). */
#define ORCHARD_MACHINE_INFO_ID_MAX 64
/** Longest other field kept; a longer one is refused. */
#define ORCHARD_MACHINE_INFO_FIELD_MAX 256
/** Deepest nesting and most elements in the plist (a real one is flat, ~20 elements). */
#define ORCHARD_MACHINE_INFO_MAX_DEPTH 4
#define ORCHARD_MACHINE_INFO_MAX_NODES 200

/** What the device said. udid and serial are never NULL; the rest may be. g_free each. */
typedef struct orchard_machine_info {
    char *udid;
    char *serial;
    char *product;   /* e.g. MacBookPro18,3 */
    char *version;   /* the OS build, e.g. 23E224 */
    char *imei, *meid;
    char *language;
    char *os_version;                 /* newer OS versions */
    char *software_update_device_id;  /* newer OS versions */
    char *supplemental_build_version; /* newer OS versions */
    char *signer_sha256;              /* lower-case hex of the signing certificate's DER */
} orchard_machine_info;

void orchard_machine_info_free(orchard_machine_info *mi);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(orchard_machine_info, orchard_machine_info_free)

/**
 * Read and check `len` bytes of machine info: one CMS SignedData whose
 * eContentType is data, with the content attached, exactly one signer whose
 * certificate is in the message and whose signature verifies over the
 * content; the content a plist dict (XML as Macs send it, or binary; through
 * the plist guard) with UDID
 * and SERIAL as printable ASCII of at most ORCHARD_MACHINE_INFO_ID_MAX bytes
 * and every other known field, when there, a string without control
 * characters. The signer's chain to Apple's device CA is NOT verified: that
 * CA is not available offline (docs/dep-enrollment.md says what that means).
 *
 * Returns 0 and *out (orchard_machine_info_free); ORCHARD_ETOOBIG (over
 * ORCHARD_MACHINE_INFO_MAX) or ORCHARD_EINVAL, each with *why, a static
 * English sentence fit for a 400 answer. *out is NULL on failure.
 */
int orchard_machine_info_parse(const unsigned char *der, size_t len, orchard_machine_info **out,
                               const char **why);

#endif
