/* What an APNs answer means for the push and the device (docs/protocols.md,
 * APNs): done, a dead token, try again later, or refused; and when to try
 * again. Pure functions, so every status and reason is tested alone. */
#include "server_plugin/apns/apns.h"

#include <jansson.h>
#include <string.h>

/* Errors that say the token (or the certificate and topic it is pushed
 * with) will never work: pushing again only repeats the refusal, and
 * Apple throttles senders that keep trying dead tokens. */
static const char *const permanent[] = {
    "BadDeviceToken", "DeviceTokenNotForTopic", "BadCertificate", "BadCertificateEnvironment",
    "BadTopic",       "TopicDisallowed",        "Unregistered",
};

orchard_apns_verdict orchard_apns_classify(int result, int status, const char *reason)
{
    if (result != 0 || status == 0)
        return ORCHARD_APNS_RETRY;
    if (status == 200)
        return ORCHARD_APNS_SENT;
    /* 410 is "no longer active for the topic" whatever the reason says. */
    if (status == 410)
        return ORCHARD_APNS_DEAD;
    if (status == 400 || status == 403) {
        for (size_t i = 0; reason && i < G_N_ELEMENTS(permanent); i++)
            if (strcmp(reason, permanent[i]) == 0)
                return ORCHARD_APNS_DEAD;
    }
    if (status == 429 || (status >= 500 && status <= 599))
        return ORCHARD_APNS_RETRY;
    return ORCHARD_APNS_REFUSED;
}

gint64 orchard_apns_backoff_ms(gint64 attempts, double jitter)
{
    gint64 wait = ORCHARD_APNS_BACKOFF_CAP_MS;
    /* 2^10 s is past the cap already; the guard keeps the shift defined. */
    if (attempts >= 0 && attempts < 20)
        wait = MIN((gint64)ORCHARD_APNS_BACKOFF_BASE_MS << attempts, ORCHARD_APNS_BACKOFF_CAP_MS);
    if (!(jitter >= 0.0)) /* NaN too */
        jitter = 0.0;
    if (jitter > 1.0)
        jitter = 1.0;
    return (gint64)((double)wait * (0.8 + 0.4 * jitter));
}

/* Apple's reasons are CamelCase words; anything else is not one, and a
 * reason goes into logs and the apns_pushes table as it is. */
static int reason_ok(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(r[i]))
            return 0;
    return 1;
}

int orchard_apns_reason(const unsigned char *body, size_t len, char *out, size_t out_size)
{
    json_error_t jerr;
    const char *r = NULL;
    int rc = ORCHARD_EINVAL;
    if (out_size)
        out[0] = '\0';
    if (!body || len == 0 || out_size == 0)
        return ORCHARD_EINVAL;
    json_t *doc = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc && json_unpack(doc, "{s:s}", "reason", &r) == 0 && reason_ok(r) &&
        strlen(r) < out_size) {
        memcpy(out, r, strlen(r) + 1);
        rc = 0;
    }
    json_decref(doc);
    return rc;
}
