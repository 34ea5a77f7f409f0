/* An MDM command as an admin hands it in (POST .../commands/run): a plist,
 * XML or binary, checked and normalized here before it is queued, so the
 * queue only ever holds XML a device can read, with its CommandUUID set.
 * docs/api.md lists the refusals. */
#ifndef ORCHARD_SERVER_COMMAND_H
#define ORCHARD_SERVER_COMMAND_H

#include <glib.h>
#include <plist/plist.h>
#include <stddef.h>

/** The largest command plist taken (bytes). */
#define ORCHARD_COMMAND_MAX_BYTES (1024 * 1024)
/** The deepest nesting of dictionaries and arrays taken (Apple's deepest
 * commands nest well under 10). */
#define ORCHARD_COMMAND_MAX_DEPTH 32
/** The longest CommandUUID taken (Fleet's column is 127 characters). */
#define ORCHARD_COMMAND_UUID_MAX 127
/** The longest RequestType taken. */
#define ORCHARD_COMMAND_TYPE_MAX 128

/** A checked command: everything owned (orchard_command_parsed_clear). */
typedef struct orchard_command_parsed {
    char *uuid;         /* CommandUUID, as given or generated (upper-case UUID) */
    char *request_type; /* Command.RequestType */
    char *xml;          /* the plist the device receives, XML, NUL-terminated */
    size_t xml_len;
    int generated_uuid; /* 1 when the CommandUUID was missing and made here */
} orchard_command_parsed;

/**
 * Check a command plist (`data`, `len` bytes; XML or binary) and normalize
 * it. The size and nesting caps are applied before libplist sees the bytes.
 * Returns 0 and fills *out; or, with *reason (g_free) saying what is wrong in
 * an admin's words ("Command.RequestType is missing"):
 *   ORCHARD_ETOOBIG  over ORCHARD_COMMAND_MAX_BYTES or ORCHARD_COMMAND_MAX_DEPTH;
 *   ORCHARD_EINVAL   not a plist, truncated, or not a valid command.
 * *out is zeroed on failure.
 */
int orchard_command_parse(const void *data, size_t len, orchard_command_parsed *out,
                          char **reason);

/** Free what orchard_command_parse filled and zero it. NULL is fine. */
void orchard_command_parsed_clear(orchard_command_parsed *c);

/**
 * A command orchard makes itself, as the XML plist the queue hands to
 * devices: {CommandUUID: uuid, Command: body + {RequestType: type}}. Takes
 * `body` (a dict). Returns the bytes (g_bytes_unref), or NULL when libplist
 * fails.
 */
GBytes *orchard_command_xml(const char *uuid, const char *type, plist_t body);

#endif
