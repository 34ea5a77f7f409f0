/* The ABM server token: unwrap S/MIME, decrypt the CMS EnvelopedData with the
 * ABM key, cut out the MESSAGE block and read its JSON (see abm_token.h and
 * docs/protocols.md §10).
 * Secrets are copied once into the struct; every other copy is wiped. */
#include "server_plugin/dep/abm_token.h"

#include <orchard/plugin.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <limits.h>
#include <string.h>

#define BEGIN_MARK "-----BEGIN MESSAGE-----"
#define END_MARK "-----END MESSAGE-----"

/* The CMS EnvelopedData of an S/MIME file, or NULL. OpenSSL's MIME reader
 * takes LF or CRLF, folded headers, and both pkcs7-mime content types, and
 * refuses a file without a MIME header block. */
static CMS_ContentInfo *parse_smime(const char *data, size_t len)
{
    BIO *in = len <= (size_t)INT_MAX ? BIO_new_mem_buf(data, (int)len) : NULL;
    CMS_ContentInfo *cms = in ? SMIME_read_CMS(in, NULL) : NULL;

    if (cms && OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_enveloped) {
        CMS_ContentInfo_free(cms);
        cms = NULL;
    }
    BIO_free(in);
    ERR_clear_error();
    return cms;
}

/* Decrypt into a NUL-terminated buffer (wipe with OPENSSL_cleanse, g_free). */
static int decrypt(CMS_ContentInfo *cms, X509 *cert, EVP_PKEY *key, char **text, size_t *len)
{
    int rc = ORCHARD_EINVAL;
    BIO *out = BIO_new(BIO_s_mem());
    char *mem = NULL;
    long n;

    if (!out)
        return ORCHARD_ENOMEM;
    /* CMS_DEBUG_DECRYPT: fail when no recipient key decrypts. Without it OpenSSL
     * decrypts with a random key (a defence for online decryption oracles, not
     * needed for a local file) and a token for another key pair comes out as
     * garbage, or now and then as "no MESSAGE block" (2026-11-27, seen in CI). */
    if (!CMS_decrypt(cms, key, cert, NULL, out, CMS_DEBUG_DECRYPT))
        goto cleanup;
    n = BIO_get_mem_data(out, &mem);
    if (n <= 0) { /* decrypted, but to nothing */
        *text = g_strdup("");
        *len = 0;
        rc = 0;
        goto cleanup;
    }
    if ((unsigned long)n > ORCHARD_ABM_TOKEN_MAX_BYTES) {
        rc = ORCHARD_ETOOBIG;
        goto cleanup;
    }
    *text = g_malloc((size_t)n + 1);
    memcpy(*text, mem, (size_t)n);
    (*text)[n] = '\0';
    *len = (size_t)n;
    rc = 0;
cleanup:
    n = BIO_get_mem_data(out, &mem);
    if (n > 0)
        OPENSSL_cleanse(mem, (size_t)n);
    BIO_free(out);
    ERR_clear_error();
    return rc;
}

static void wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        g_free(s);
    }
}

void orchard_abm_token_free(orchard_abm_token *token)
{
    if (!token)
        return;
    wipe_free(token->consumer_key);
    wipe_free(token->consumer_secret);
    wipe_free(token->access_token);
    wipe_free(token->access_secret);
    g_free(token->access_token_expiry);
    g_free(token);
}

/* Copy one string field; field names are not secret, values are never shown. */
static int take_field(json_t *doc, const char *name, const char *what, char **dst,
                      char **error_msg)
{
    json_t *v = json_object_get(doc, name);
    if (!json_is_string(v) || json_string_length(v) == 0) {
        *error_msg = g_strdup_printf("%s: the token's JSON has no \"%s\" string", what, name);
        return ORCHARD_EINVAL;
    }
    if (json_string_length(v) > ORCHARD_ABM_FIELD_MAX_BYTES) {
        *error_msg = g_strdup_printf("%s: the token's \"%s\" is longer than %u bytes", what,
                                     name, ORCHARD_ABM_FIELD_MAX_BYTES);
        return ORCHARD_ETOOBIG;
    }
    *dst = g_strndup(json_string_value(v), json_string_length(v));
    return 0;
}

/* jansson frees without wiping: wipe its copies of the secrets first. */
static void wipe_json(json_t *doc)
{
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v) {
        if (json_is_string(v))
            OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
    }
}

static int parse_message(const char *text, size_t len, const char *what,
                         orchard_abm_token **out, char **error_msg)
{
    const char *begin = g_strstr_len(text, (gssize)len, BEGIN_MARK);
    const char *end = begin ? g_strstr_len(begin, (gssize)(text + len - begin), END_MARK) : NULL;
    json_error_t jerr;
    int rc;

    if (!begin || !end) {
        *error_msg = g_strdup_printf("%s: the decrypted token has no %s ... %s block", what,
                                     BEGIN_MARK, END_MARK);
        return ORCHARD_EINVAL;
    }
    begin += strlen(BEGIN_MARK);
    /* JSON counts CR and LF as white space: CRLF needs no special case. */
    json_t *doc = json_loadb(begin, (size_t)(end - begin), JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        /* Not jerr.text: it quotes the input, which holds the secrets. The
         * position is known only when parsing failed (doc is then NULL). */
        if (doc)
            *error_msg = g_strdup_printf("%s: the token's MESSAGE block is JSON but not an "
                                         "object", what);
        else
            *error_msg = g_strdup_printf("%s: the token's MESSAGE block is not a JSON object "
                                         "(line %d, column %d)", what, jerr.line, jerr.column);
        if (doc)
            wipe_json(doc);
        json_decref(doc);
        return ORCHARD_EINVAL;
    }
    orchard_abm_token *t = g_new0(orchard_abm_token, 1);
    if ((rc = take_field(doc, "consumer_key", what, &t->consumer_key, error_msg)) ||
        (rc = take_field(doc, "consumer_secret", what, &t->consumer_secret, error_msg)) ||
        (rc = take_field(doc, "access_token", what, &t->access_token, error_msg)) ||
        (rc = take_field(doc, "access_secret", what, &t->access_secret, error_msg)) ||
        (rc = take_field(doc, "access_token_expiry", what, &t->access_token_expiry, error_msg)))
        goto cleanup;
    /* RFC 3339 always carries an offset: no default time zone. */
    GDateTime *dt = g_date_time_new_from_iso8601(t->access_token_expiry, NULL);
    if (!dt || !strpbrk(t->access_token_expiry, "Tt ")) {
        if (dt)
            g_date_time_unref(dt);
        *error_msg = g_strdup_printf("%s: access_token_expiry \"%.64s\" is not an RFC 3339 "
                                     "time such as 2025-06-30T12:00:00Z", what,
                                     t->access_token_expiry);
        rc = ORCHARD_EINVAL;
        goto cleanup;
    }
    t->expiry = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
cleanup:
    wipe_json(doc);
    json_decref(doc);
    if (rc) {
        orchard_abm_token_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int orchard_abm_token_decrypt(const char *data, size_t len, X509 *cert, EVP_PKEY *key,
                              const char *what, const char *key_what, orchard_abm_token **out,
                              char **error_msg)
{
    CMS_ContentInfo *cms = NULL;
    char *text = NULL;
    size_t text_len = 0;
    int rc;

    *out = NULL;
    if (len > ORCHARD_ABM_TOKEN_MAX_BYTES) {
        *error_msg = g_strdup_printf("%s: larger than %u bytes; is it an ABM token?", what,
                                     ORCHARD_ABM_TOKEN_MAX_BYTES);
        return ORCHARD_ETOOBIG;
    }
    cms = parse_smime(data, len);
    if (!cms) {
        *error_msg = g_strdup_printf("%s: not an S/MIME encrypted token (.p7m) as Apple "
                                     "Business Manager downloads it", what);
        return ORCHARD_EINVAL;
    }
    rc = decrypt(cms, cert, key, &text, &text_len);
    if (rc == ORCHARD_ETOOBIG) {
        *error_msg = g_strdup_printf("%s: the decrypted token is larger than %u bytes", what,
                                     ORCHARD_ABM_TOKEN_MAX_BYTES);
        goto cleanup;
    }
    if (rc) {
        *error_msg = g_strdup_printf("%s does not decrypt with %s: was the token downloaded "
                                     "after uploading this key pair's public key to Apple "
                                     "Business Manager?", what, key_what);
        goto cleanup;
    }
    rc = parse_message(text, text_len, what, out, error_msg);
cleanup:
    if (text) {
        OPENSSL_cleanse(text, text_len);
        g_free(text);
    }
    CMS_ContentInfo_free(cms);
    return rc;
}
