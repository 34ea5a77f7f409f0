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

#endif
