/* The Apple Business Manager server token (.p7m): S/MIME around a CMS
 * EnvelopedData that only the ABM key opens, around a MESSAGE block of JSON
 * OAuth credentials. config/ loads it; the DEP client will use the secrets. */
#ifndef ORCHARD_ABM_TOKEN_H
#define ORCHARD_ABM_TOKEN_H

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Caps: Apple's tokens are a few KiB. */
#define ORCHARD_ABM_TOKEN_MAX_BYTES (256u * 1024u)
#define ORCHARD_ABM_FIELD_MAX_BYTES 4096u

/**
 * The decrypted token. The four OAuth values are secrets: never log or print
 * them. orchard_abm_token_free wipes them.
 */
typedef struct orchard_abm_token {
    char *consumer_key;
    char *consumer_secret;
    char *access_token;
    char *access_secret;
    char *access_token_expiry; /* as Apple wrote it (RFC 3339); not secret */
    gint64 expiry;             /* access_token_expiry as unix seconds */
} orchard_abm_token;

/**
 * Decrypt and parse a token. `data` is the .p7m file's content (`len` bytes,
 * headers and base64 body, LF or CRLF); `cert` and `key` are the ABM key pair
 * the token was encrypted to. `what` and `key_what` name the token and the key
 * in messages (e.g. "mdm.apple_bm_server_token", "mdm.apple_bm_key").
 *
 * Returns 0 and *out (orchard_abm_token_free), or, with *error_msg (g_free):
 *   ORCHARD_ETOOBIG  the token or one of its fields is over the caps;
 *   ORCHARD_EINVAL   not S/MIME, does not decrypt with the key, no MESSAGE
 *                    block, bad JSON, a missing field or a bad expiry.
 * *out is NULL on failure. Expiry is not checked here (config/ decides).
 */
int orchard_abm_token_decrypt(const char *data, size_t len, X509 *cert, EVP_PKEY *key,
                              const char *what, const char *key_what, orchard_abm_token **out,
                              char **error_msg);

/** Wipe the secrets and free. NULL is fine. */
void orchard_abm_token_free(orchard_abm_token *token);

#endif
