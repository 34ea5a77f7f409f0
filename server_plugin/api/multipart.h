/* multipart/form-data request bodies (RFC 7578 on RFC 2046's framing), as
 * browsers, curl and Fleet's clients send file uploads (POST
 * .../mdm/apple/profiles). The body is hostile: every malformed shape is
 * refused with a reason an admin can act on, and caps bound the work. */
#ifndef ORCHARD_SERVER_MULTIPART_H
#define ORCHARD_SERVER_MULTIPART_H

#include <stddef.h>

/** The most parts a body may hold. */
#define ORCHARD_MULTIPART_MAX_PARTS 16
/** The longest header line of a part (bytes, without its CRLF). */
#define ORCHARD_MULTIPART_MAX_LINE 1024
/** The most header lines one part may carry. */
#define ORCHARD_MULTIPART_MAX_HEADERS 8
/** RFC 2046: a boundary is 1 to 70 characters. */
#define ORCHARD_MULTIPART_MAX_BOUNDARY 70

/** One part. name/filename/content_type are owned; data is borrowed from the body. */
typedef struct orchard_multipart_part {
    char *name;         /* Content-Disposition name= (never NULL, never empty) */
    char *filename;     /* filename=, NULL when the part has none */
    char *content_type; /* the part's Content-Type, NULL when none */
    const unsigned char *data;
    size_t len;
} orchard_multipart_part;

typedef struct orchard_multipart {
    orchard_multipart_part parts[ORCHARD_MULTIPART_MAX_PARTS];
    size_t n;
} orchard_multipart;

/**
 * The boundary of a request's Content-Type ("multipart/form-data;
 * boundary=X", X quoted or not). Returns 0 and *boundary (g_free), or
 * ORCHARD_EINVAL with *reason (g_free): no header, another media type, no
 * boundary, a boundary that is empty, over 70 characters or holds
 * characters RFC 2046 does not allow.
 */
int orchard_multipart_boundary(const char *content_type, char **boundary, char **reason);

/**
 * Split `body` (`len` bytes) sent with `content_type` into its parts.
 * Returns 0 and fills *out (orchard_multipart_clear; data points into
 * body, which must outlive it), or with *reason (g_free):
 *   ORCHARD_EINVAL  a bad Content-Type (see orchard_multipart_boundary), no
 *                   opening boundary, a truncated part or a missing final
 *                   boundary, a header line without CRLF or colon, a folded
 *                   header, a part without Content-Disposition form-data
 *                   and name, a field name given twice, a transfer encoding
 *                   other than 7bit/8bit/binary, no part at all;
 *   ORCHARD_ETOOBIG over ORCHARD_MULTIPART_MAX_PARTS parts,
 *                   ORCHARD_MULTIPART_MAX_HEADERS headers or a header line
 *                   over ORCHARD_MULTIPART_MAX_LINE bytes.
 * *out is cleared on failure.
 */
int orchard_multipart_parse(const char *content_type, const void *body, size_t len,
                            orchard_multipart *out, char **reason);

/** The part named `name`, or NULL (borrowed from m). */
const orchard_multipart_part *orchard_multipart_get(const orchard_multipart *m,
                                                    const char *name);

/** Free what orchard_multipart_parse filled and zero it. NULL is fine. */
void orchard_multipart_clear(orchard_multipart *m);

#endif
