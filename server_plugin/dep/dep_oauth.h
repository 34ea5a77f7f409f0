/* OAuth 1.0a HMAC-SHA1 request signing, as Apple's DEP GET /session wants
 * it (the client, dep_client.c, is the one caller): RFC 3986 percent-encoding,
 * the signature base string, the signature and the Authorization header.
 * docs/dep.md "The session". */
#ifndef ORCHARD_SERVER_DEP_OAUTH_H
#define ORCHARD_SERVER_DEP_OAUTH_H

#include <glib.h>
#include <stddef.h>

/* A header's or URL's worth: anything longer is not a request we make. */
#define ORCHARD_OAUTH_INPUT_MAX (64u * 1024u)

/** One request parameter, not encoded. */
typedef struct orchard_oauth_param {
    const char *name;
    const char *value; /* NULL is the empty value */
} orchard_oauth_param;

/** The four values of a token (secrets: never logged). */
typedef struct orchard_oauth_creds {
    const char *consumer_key;
    const char *consumer_secret;
    const char *token;
    const char *token_secret;
} orchard_oauth_creds;

/**
 * RFC 3986 percent-encoding as OAuth requires it: A-Z a-z 0-9 - . _ ~ kept,
 * every other byte %XX in upper-case hex (UTF-8 text is encoded byte by
 * byte). Returns the encoded text (g_free), or NULL when len is over
 * ORCHARD_OAUTH_INPUT_MAX.
 */
char *orchard_oauth_encode(const char *s, size_t len);

/**
 * The base string URI: scheme and host lower-cased, the scheme's default
 * port (80 for http, 443 for https) dropped, the path kept ("/" when
 * empty), query and fragment removed. Returns 0 and *out (g_free), or
 * ORCHARD_EINVAL (not an absolute http:// or https:// URL, a user-info part,
 * a bad port).
 */
int orchard_oauth_base_uri(const char *url, char **out);

/**
 * The signature base string: METHOD & enc(base URI) & enc(normalized
 * parameters), where the parameters are `params` plus the URL's query
 * (decoded first, '+' being a space), each name and value encoded and the
 * pairs sorted by encoded name, then encoded value. Returns 0 and *out
 * (g_free), or ORCHARD_EINVAL (as orchard_oauth_base_uri, a method that is
 * not upper-case letters, a bad %XX in the query, input over the caps).
 */
int orchard_oauth_base_string(const char *method, const char *url,
                              const orchard_oauth_param *params, size_t n, char **out);

/**
 * HMAC-SHA1 of `base` keyed enc(consumer_secret)&enc(token_secret) (NULL
 * secrets are empty), base64. Returns 0 and *out (g_free), or ORCHARD_EINVAL
 * (NULL base, over the caps), ORCHARD_EIO (OpenSSL failed).
 */
int orchard_oauth_signature(const char *base, const char *consumer_secret,
                            const char *token_secret, char **out);

/**
 * A nonce from the CSPRNG: 32 lower-case hex digits into out (33 bytes).
 * Returns 0 or ORCHARD_EIO (no randomness).
 */
int orchard_oauth_nonce(char out[33]);

/**
 * The Authorization header's value for `method url` signed with `creds`:
 * `OAuth realm="ADM", oauth_consumer_key="...", oauth_token="...",
 * oauth_signature_method="HMAC-SHA1", oauth_signature="...",
 * oauth_timestamp="...", oauth_nonce="...", oauth_version="1.0"`, values
 * percent-encoded. `timestamp` is unix seconds (0: now); `nonce` NULL takes
 * one from orchard_oauth_nonce. The result holds the consumer key and the
 * token: never log it. Returns 0 and *out (g_free, wiped by the caller if
 * it cares), or ORCHARD_EINVAL (missing key or token, bad URL or method),
 * ORCHARD_EIO.
 */
int orchard_oauth_header(const orchard_oauth_creds *creds, const char *method,
                         const char *url, gint64 timestamp, const char *nonce, char **out);

#endif
