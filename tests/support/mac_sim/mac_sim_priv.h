/* Shared by the Mac simulator's files (util.c holds them); not for its users:
 * error messages, formatted strings and the few libplist reads they all need. */
#ifndef ORCHARD_MAC_SIM_PRIV_H
#define ORCHARD_MAC_SIM_PRIV_H

#include <stddef.h>

#include <plist/plist.h>

/* Set *error_msg (when not NULL) to the message, with OpenSSL's newest error
 * appended when there is one; clear OpenSSL's queue; return `code`. */
int macsim_fail(char **error_msg, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A malloc'd formatted string; NULL when out of memory. */
char *macsim_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A malloc'd copy of the string at dict[key]; NULL when `dict` is not a
 * dictionary or the value is absent or not a string. */
char *macsim_plist_string(plist_t dict, const char *key);

/* A plist from XML or binary bytes; NULL when it does not parse or is too
 * big for libplist (its lengths are 32-bit). */
plist_t macsim_plist_parse(const void *data, size_t len);

struct orchard_macsim_mac;
struct orchard_macsim_http;

/* SerialNumber, Model, ProductName, OSVersion, BuildVersion, DeviceName of
 * the simulated Mac into dict `d` (Authenticate, DeviceInformation). */
void macsim_device_facts(plist_t d, const struct orchard_macsim_mac *mac);

/* The TLS settings a handle was made with, for the SCEP requester's own handle. */
const char *macsim_http_cafile(const struct orchard_macsim_http *h);
int macsim_http_insecure(const struct orchard_macsim_http *h);

/* XML text of `p`, malloc'd, NUL-terminated. ORCHARD_ENOMEM. */
int macsim_plist_xml(char **xml, size_t *len, plist_t p);

/* A plist that passed the plist guard first (libplist 2.2 recurses without
 * a limit): depth 64, 200,000 nodes, XML or binary. 0 and *out (plist_free);
 * ORCHARD_EINVAL / ORCHARD_ETOOBIG with the reason. */
int macsim_plist_parse_guarded(plist_t *out, const void *data, size_t len, char **error_msg);

/* The content of a DER CMS SignedData, malloc'd; NULL when `data` is none. */
unsigned char *macsim_cms_content(const void *data, size_t len, size_t *out_len);

/* A whole file of at most `max` bytes, malloc'd. ORCHARD_ENOTFOUND,
 * ORCHARD_ETOOBIG, ORCHARD_EIO. */
int macsim_read_file(const char *path, size_t max, unsigned char **out, size_t *len);

/* Every installed profile's plist, sorted by identifier (installed.c). */
plist_t macsim_installed_profiles(const struct orchard_macsim_mac *mac);

/* An ErrorChain of one error, as a Mac reports it. */
plist_t macsim_error_chain(const char *domain, unsigned code, const char *message);

#endif
