/* The APNs stand-in's judge: one collected request in, APNs's verdict out
 * (status and reason, Apple's names from "Handling notification responses
 * from APNs"). No I/O here; conn.c calls it when a stream's request ends. */
#include "standin.h"

#include <ctype.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>

static const char DEVICE_PREFIX[] = "/3/device/";

void standin_uuid(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        memset(b, 0, sizeof b); /* a zero UUID still reads as one */
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

int standin_is_uuid(const char *s)
{
    static const int group[] = {8, 4, 4, 4, 12};
    for (size_t g = 0; g < 5; g++) {
        for (int i = 0; i < group[g]; i++, s++)
            if (!isxdigit((unsigned char)*s))
                return 0;
        if (*s != (g == 4 ? '\0' : '-'))
            return 0;
        if (g < 4)
            s++;
    }
    return 1;
}

static int all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Unix seconds: 1 to 19 digits (so it fits 64 bits), nothing else. */
static int is_expiration(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 19)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Keep the path's token for the record, whatever it is. */
static void take_token(const char *path, standin_verdict *v)
{
    const char *t = path + sizeof DEVICE_PREFIX - 1;
    size_t n = strlen(t);
    if (n >= sizeof v->token)
        n = sizeof v->token - 1;
    memcpy(v->token, t, n);
    v->token[n] = '\0';
}

/* The payload must be a JSON object whose "mdm" is a string (the PushMagic).
 * Apple names no reason for a body that is not JSON; the stand-in answers
 * "BadPayload" so a client's reason table treats it as an unknown error. */
static const char *check_payload(const standin_request *req, standin_verdict *v)
{
    if (req->body_total > STANDIN_MAX_PAYLOAD)
        return "PayloadTooLarge";
    if (req->body_total == 0)
        return "PayloadEmpty";
    json_error_t err;
    json_t *root = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &err);
    const char *reason = NULL;
    json_t *mdm = root && json_is_object(root) ? json_object_get(root, "mdm") : NULL;
    if (!mdm || !json_is_string(mdm)) {
        reason = "BadPayload";
    } else {
        size_t n = json_string_length(mdm);
        if (n >= sizeof v->mdm || memchr(json_string_value(mdm), '\0', n))
            reason = "BadPayload";
        else
            memcpy(v->mdm, json_string_value(mdm), n + 1);
    }
    json_decref(root);
    return reason;
}

/* Answer an error and stop judging: APNs reports the first problem only. */
#define REFUSE(st, why)   \
    do {                  \
        v->status = (st); \
        v->reason = (why); \
        return;           \
    } while (0)

void standin_check(const standin_request *req, const char *topic, standin_verdict *v)
{
    memset(v, 0, sizeof *v);
    const char *const *h = (const char *const *)req->header;
    /* The answer carries the request's apns-id when it is one, as Apple's does. */
    if (h[STANDIN_H_ID] && standin_is_uuid(h[STANDIN_H_ID]) && req->seen[STANDIN_H_ID] == 1)
        snprintf(v->apns_id, sizeof v->apns_id, "%s", h[STANDIN_H_ID]);
    else
        standin_uuid(v->apns_id);

    const char *method = h[STANDIN_H_METHOD], *path = h[STANDIN_H_PATH];
    if (!method || strcmp(method, "POST") != 0)
        REFUSE(405, "MethodNotAllowed");
    if (!path || strncmp(path, DEVICE_PREFIX, sizeof DEVICE_PREFIX - 1) != 0)
        REFUSE(404, "BadPath");
    take_token(path, v);
    size_t tlen = strlen(path + sizeof DEVICE_PREFIX - 1);
    if (tlen == 0)
        REFUSE(400, "MissingDeviceToken");
    if (tlen != STANDIN_TOKEN_HEX || !all_hex(v->token, tlen))
        REFUSE(400, "BadDeviceToken");
    for (int i = 0; i < STANDIN_H_COUNT; i++)
        if (req->seen[i] > 1)
            REFUSE(400, "DuplicateHeaders");
    if (h[STANDIN_H_ID] && !standin_is_uuid(h[STANDIN_H_ID]))
        REFUSE(400, "BadMessageId");
    if (!h[STANDIN_H_TOPIC] || !*h[STANDIN_H_TOPIC])
        REFUSE(400, "MissingTopic");
    /* The tokens a stand-in serves all belong to --topic, so another topic
     * is Apple's "the device token doesn't match the specified topic". */
    if (topic && strcmp(h[STANDIN_H_TOPIC], topic) != 0)
        REFUSE(400, "DeviceTokenNotForTopic");
    if (!h[STANDIN_H_PUSH_TYPE] || strcmp(h[STANDIN_H_PUSH_TYPE], "mdm") != 0)
        REFUSE(400, "InvalidPushType");
    if (h[STANDIN_H_EXPIRATION] && !is_expiration(h[STANDIN_H_EXPIRATION]))
        REFUSE(400, "BadExpirationDate");
    const char *prio = h[STANDIN_H_PRIORITY];
    if (prio && strcmp(prio, "10") != 0 && strcmp(prio, "5") != 0 && strcmp(prio, "1") != 0)
        REFUSE(400, "BadPriority");
    if (h[STANDIN_H_COLLAPSE_ID] && strlen(h[STANDIN_H_COLLAPSE_ID]) > STANDIN_MAX_COLLAPSE_ID)
        REFUSE(400, "BadCollapseId");
    const char *reason = check_payload(req, v);
    if (reason)
        REFUSE(strcmp(reason, "PayloadTooLarge") == 0 ? 413 : 400, reason);
    v->status = 200;
    v->reason = NULL;
}
