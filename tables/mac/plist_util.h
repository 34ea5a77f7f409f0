/* Small readers over libplist trees for the agent tables: typed lookups that
 * return NULL/defaults on a missing key or a wrong type (Mac files are input,
 * never trusted), dates in the formats the tables print, and a plist -> JSON
 * conversion so Nudge's profile and JSON configurations merge as one tree. */
#ifndef ORCHARD_PLIST_UTIL_H
#define ORCHARD_PLIST_UTIL_H

#include <glib.h>
#include <jansson.h>
#include <plist/plist.h>

/* Seconds between 1970-01-01 and 2001-01-01, the epoch of plist dates. */
#define ORCHARD_PLIST_EPOCH 978307200

/** dict[key] as a string, or NULL (missing, not a dict, not a string). Borrowed. */
const char *orchard_plist_string(plist_t dict, const char *key);

/** dict[key] as an integer into *out; 0, or -1 when missing or not an integer. */
int orchard_plist_int(plist_t dict, const char *key, gint64 *out);

/** dict[key] as a boolean: 1, 0, or -1 when missing or not a boolean. */
int orchard_plist_bool(plist_t dict, const char *key);

/** dict[key] as a date (unix seconds); 0, or -1 when missing or not a date. */
int orchard_plist_date(plist_t dict, const char *key, gint64 *out);

/** Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" (UTC). g_free. */
char *orchard_format_utc(gint64 unix_seconds);

/**
 * The tree as JSON: dicts -> objects, arrays -> arrays, strings, integers,
 * reals, booleans as themselves, dates -> "YYYY-MM-DDTHH:MM:SSZ" strings,
 * data and UIDs -> null. json_decref the result. NULL for a NULL node.
 */
json_t *orchard_plist_to_json(plist_t node);

/**
 * SHA-256 (lower-case hex) of `node` written as an XML plist with every
 * dictionary's keys sorted, so the same content always gives the same sum.
 * g_free.
 */
char *orchard_plist_canonical_sha256(plist_t node);

#endif
