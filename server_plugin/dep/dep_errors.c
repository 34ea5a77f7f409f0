/* Reading Apple's DEP answers (dep_client.h): an error body (a bare code or
 * JSON) and its status mapped to orchard_dep_status with a message for the
 * admin, and each success body validated before the sync believes it.
 * Everything here is hostile input. docs/dep.md "Errors". */
#include "server_plugin/dep/dep_client.h"

#include <string.h>

/* A message is a line for the log and the admin. */
#define MESSAGE_MAX 400
/* What of Apple's own words goes into a message. */
#define EXCERPT_MAX 160
/* Session tokens are ~50 characters; a header line must stay sane. */
#define SESSION_MAX 4096
#define CURSOR_MAX 4096
#define SERIAL_MAX 128
#define UUID_MAX 256

void orchard_dep_result_clear(orchard_dep_result *r)
{
    if (!r)
        return;
    g_free(r->apple_code);
    g_free(r->message);
    *r = (orchard_dep_result){0};
}

const char *orchard_dep_status_name(orchard_dep_status s)
{
    switch (s) {
    case ORCHARD_DEP_OK: return "OK";
    case ORCHARD_DEP_EXHAUSTED_CURSOR: return "EXHAUSTED_CURSOR";
    case ORCHARD_DEP_EXPIRED_CURSOR: return "EXPIRED_CURSOR";
    case ORCHARD_DEP_INVALID_CURSOR: return "INVALID_CURSOR";
    case ORCHARD_DEP_T_C_NOT_SIGNED: return "T_C_NOT_SIGNED";
    case ORCHARD_DEP_THROTTLED: return "THROTTLED";
    case ORCHARD_DEP_UNAUTHORIZED: return "UNAUTHORIZED";
    case ORCHARD_DEP_TOKEN_EXPIRED: return "TOKEN_EXPIRED";
    case ORCHARD_DEP_SERVER_ERROR: return "SERVER_ERROR";
    case ORCHARD_DEP_NETWORK: return "NETWORK";
    case ORCHARD_DEP_BAD_REPLY: return "BAD_REPLY";
    case ORCHARD_DEP_REFUSED: return "REFUSED";
    }
    return "UNKNOWN";
}

/* Printable ASCII of s (len bytes), at most max, others as '?', trimmed. */
static char *printable(const char *s, size_t len, size_t max)
{
    while (len && g_ascii_isspace(*s))
        s++, len--;
    while (len && g_ascii_isspace(s[len - 1]))
        len--;
    GString *out = g_string_sized_new(MIN(len, max) + 4);
    for (size_t i = 0; i < len && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        g_string_append_c(out, c >= 0x20 && c < 0x7f ? (char)c : '?');
    }
    if (len > max)
        g_string_append(out, "...");
    return g_string_free(out, FALSE);
}

/* A code is what Apple names errors with: [A-Za-z0-9_], bounded. */
static int code_ok(const char *s, size_t len)
{
    if (len == 0 || len > ORCHARD_DEP_CODE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!g_ascii_isalnum(s[i]) && s[i] != '_')
            return 0;
    return 1;
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The first of keys that is a string in o. */
static const char *first_str(const json_t *o, const char *const *keys)
{
    for (; *keys; keys++)
        if (jstr(o, *keys))
            return jstr(o, *keys);
    return NULL;
}

/* retry_after_seconds: a non-negative integer, or digits in a string; -1 otherwise. */
static gint64 json_seconds(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
    if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 1e12)
        return (gint64)json_real_value(v);
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) > 12 || strspn(s, "0123456789") != strlen(s))
        return -1;
    return g_ascii_strtoll(s, NULL, 10);
}

/* Retry-After: delta-seconds, or an HTTP-date (IMF-fixdate) after now; -1 otherwise. */
static gint64 header_seconds(const char *h, gint64 now)
{
    if (!h)
        return -1;
    while (*h == ' ' || *h == '\t')
        h++;
    size_t n = strlen(h);
    while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    if (n == 0 || n > 64)
        return -1;
    if (strspn(h, "0123456789") >= n)
        return n > 12 ? ORCHARD_DEP_RETRY_AFTER_MAX : g_ascii_strtoll(h, NULL, 10);
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char mon[4] = {0}, gmt[4] = {0};
    int day, year, hh, mm, ss, used = 0;
    if (sscanf(h, "%*3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3[A-Z]%n", &day, mon, &year,
               &hh, &mm, &ss, gmt, &used) != 7 || (size_t)used != n || strcmp(gmt, "GMT"))
        return -1;
    const char *m = strstr(months, mon);
    if (!m || (m - months) % 3)
        return -1;
    GDateTime *t = g_date_time_new_utc(year, (int)(m - months) / 3 + 1, day, hh, mm, ss);
    if (!t)
        return -1;
    gint64 when = g_date_time_to_unix(t);
    g_date_time_unref(t);
    return when > now ? when - now : 0;
}

/* Apple's code and words from an error body, whichever shape it has. */
static void read_body(const char *body, size_t len, char **code, char **words, gint64 *retry)
{
    const char *s = body ? body : "";
    while (len && g_ascii_isspace(*s))
        s++, len--;
    while (len && g_ascii_isspace(s[len - 1]))
        len--;
    if (len == 0)
        return;
    if (s[0] == '{' || s[0] == '"') {
        json_error_t jerr;
        json_t *j = json_loadb(s, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        if (json_is_string(j) && code_ok(json_string_value(j), json_string_length(j))) {
            *code = g_strdup(json_string_value(j));
        } else if (json_is_object(j)) {
            static const char *const code_keys[] = {"code", "error_code", "error", NULL};
            static const char *const word_keys[] = {"message", "error_message", "description",
                                                    NULL};
            const json_t *inner = json_object_get(j, "error");
            const char *c = first_str(j, code_keys);
            const char *w = first_str(j, word_keys);
            if (!c && json_is_object(inner))
                c = first_str(inner, code_keys);
            if (!w && json_is_object(inner))
                w = first_str(inner, word_keys);
            if (c && code_ok(c, strlen(c)))
                *code = g_strdup(c);
            else if (c) /* a code we cannot name is still Apple's word */
                w = w ? w : c;
            if (w)
                *words = printable(w, strlen(w), EXCERPT_MAX);
            *retry = json_seconds(json_object_get(j, "retry_after_seconds"));
        }
        int was_object = json_is_object(j);
        json_decref(j);
        if (*code || *words || was_object)
            return;
    }
    if (code_ok(s, len))
        *code = g_strndup(s, len);
    else
        *words = printable(s, len, EXCERPT_MAX);
}

static orchard_dep_status classify(int status, const char *code)
{
    static const struct {
        const char *code;
        orchard_dep_status st;
    } named[] = {
        {"EXHAUSTED_CURSOR", ORCHARD_DEP_EXHAUSTED_CURSOR},
        {"EXPIRED_CURSOR", ORCHARD_DEP_EXPIRED_CURSOR},
        {"INVALID_CURSOR", ORCHARD_DEP_INVALID_CURSOR},
        {"T_C_NOT_SIGNED", ORCHARD_DEP_T_C_NOT_SIGNED},
        {"THROTTLED", ORCHARD_DEP_THROTTLED},
    };
    if (status >= 400 && status < 500 && code)
        for (size_t i = 0; i < G_N_ELEMENTS(named); i++)
            if (strcmp(code, named[i].code) == 0)
                return named[i].st;
    if (status == 429)
        return ORCHARD_DEP_THROTTLED;
    /* A 403 other than the terms (or an unnamed one) is the token's access. */
    if (status == 401 ||
        (status == 403 && (!code || !strcmp(code, "FORBIDDEN") || !strcmp(code, "ACCESS_DENIED"))))
        return ORCHARD_DEP_UNAUTHORIZED;
    if (status >= 500 && status < 600)
        return ORCHARD_DEP_SERVER_ERROR;
    if (status >= 400 && status < 500)
        return ORCHARD_DEP_REFUSED;
    return ORCHARD_DEP_BAD_REPLY;
}

/* What the admin reads for each status (Apple's own words follow). */
static const char *explain(orchard_dep_status st)
{
    switch (st) {
    case ORCHARD_DEP_EXHAUSTED_CURSOR:
        return "the device fetch is complete: changes come from sync from now on";
    case ORCHARD_DEP_EXPIRED_CURSOR:
        return "the cursor is older than 7 days: the device list is fetched again";
    case ORCHARD_DEP_INVALID_CURSOR:
        return "Apple does not know the cursor: the device list is fetched again";
    case ORCHARD_DEP_T_C_NOT_SIGNED:
        return "Apple Business Manager has new terms and conditions: an administrator must "
               "accept them in ABM before orchard can sync devices";
    case ORCHARD_DEP_THROTTLED:
        return "Apple is throttling this MDM server's requests";
    case ORCHARD_DEP_UNAUTHORIZED:
        return "Apple refused the ABM server token (renew it in ABM if this persists)";
    case ORCHARD_DEP_SERVER_ERROR:
        return "Apple's service failed";
    case ORCHARD_DEP_REFUSED:
        return "Apple refused the request";
    default:
        return "Apple answered with an unexpected status";
    }
}

void orchard_dep_parse_error(int http_status, const void *body, size_t len,
                             const char *retry_after, gint64 now, orchard_dep_result *res)
{
    char *code = NULL, *words = NULL;
    gint64 json_retry = -1;
    orchard_dep_result_clear(res);
    read_body(body, len, &code, &words, &json_retry);
    res->http_status = http_status;
    res->status = classify(http_status, code);
    res->apple_code = code;
    gint64 wait = header_seconds(retry_after, now);
    if (wait < 0)
        wait = json_retry;
    if (wait < 0 && res->status == ORCHARD_DEP_THROTTLED)
        wait = ORCHARD_DEP_THROTTLE_DEFAULT;
    res->retry_after = wait < 0 ? 0 : MIN(wait, ORCHARD_DEP_RETRY_AFTER_MAX);

    GString *m = g_string_new(explain(res->status));
    g_string_append_printf(m, " (HTTP %d%s%s)", http_status, code ? " " : "", code ? code : "");
    if (res->status == ORCHARD_DEP_THROTTLED)
        g_string_append_printf(m, ": retry after %" G_GINT64_FORMAT " s", res->retry_after);
    if (words && *words)
        g_string_append_printf(m, ": Apple says \"%s\"", words);
    res->message = printable(m->str, m->len, MESSAGE_MAX);
    g_string_free(m, TRUE);
    g_free(words);
}

/* ---- success bodies ------------------------------------------------------ */

/* Visible ASCII of 1..max bytes (it may go into a header or a log line). */
static int visible(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

/* NULL when the page is fine, else what is wrong (static). */
static const char *check_page(json_t *o)
{
    const json_t *cur = json_object_get(o, "cursor");
    if (!json_is_string(cur))
        return "a device page without a cursor string";
    if (json_string_length(cur) > CURSOR_MAX || strlen(json_string_value(cur)) !=
                                                    json_string_length(cur))
        return "a device page whose cursor is over 4 KiB or holds NUL";
    if (!json_is_boolean(json_object_get(o, "more_to_follow")))
        return "a device page without a more_to_follow boolean";
    const json_t *fu = json_object_get(o, "fetched_until");
    if (fu && !json_is_string(fu))
        return "a device page whose fetched_until is not a string";
    json_t *devs = json_object_get(o, "devices");
    if (!devs) /* Apple leaves an empty list out */
        return json_object_set_new(o, "devices", json_array()) ? "out of memory" : NULL;
    if (!json_is_array(devs))
        return "a device page whose devices is not an array";
    size_t i;
    json_t *d;
    json_array_foreach(devs, i, d) {
        if (!json_is_object(d))
            return "a device page with a device that is not an object";
        if (!visible(jstr(d, "serial_number"), SERIAL_MAX))
            return "a device page with a device without a serial_number";
        static const char *const strs[] = {"op_type", "op_date", "profile_uuid",
                                           "profile_status", "model", NULL};
        for (const char *const *k = strs; *k; k++) {
            const json_t *v = json_object_get(d, *k);
            if (v && !json_is_string(v) && !json_is_null(v))
                return "a device page with a device field that is not a string";
        }
    }
    return NULL;
}

/* Every member of o is of `want` (JSON_STRING or JSON_OBJECT). */
static int members_are(const json_t *o, json_type want)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        if (json_typeof(v) != want || !*k || strlen(k) > SERIAL_MAX)
            return 0;
    }
    return 1;
}

static const char *check(orchard_dep_reply_kind kind, json_t *o)
{
    const json_t *devs = json_object_get(o, "devices");
    switch (kind) {
    case ORCHARD_DEP_REPLY_SESSION:
        return visible(jstr(o, "auth_session_token"), SESSION_MAX)
                   ? NULL : "a session reply without a usable auth_session_token";
    case ORCHARD_DEP_REPLY_ACCOUNT:
        return NULL;
    case ORCHARD_DEP_REPLY_PAGE:
        return check_page(o);
    case ORCHARD_DEP_REPLY_DEFINE:
        if (!visible(jstr(o, "profile_uuid"), UUID_MAX))
            return "a profile reply without a profile_uuid";
        return !devs || json_is_object(devs) ? NULL
                                             : "a profile reply whose devices is not an object";
    case ORCHARD_DEP_REPLY_ASSIGN:
        return json_is_object(devs) && members_are(devs, JSON_STRING)
                   ? NULL : "an assign reply without a devices object of serial -> result";
    case ORCHARD_DEP_REPLY_DETAILS:
        return json_is_object(devs) && members_are(devs, JSON_OBJECT)
                   ? NULL : "a details reply without a devices object of serial -> device";
    }
    return "an unknown reply kind";
}

int orchard_dep_parse_reply(orchard_dep_reply_kind kind, const void *body, size_t len,
                            json_t **out, orchard_dep_result *res)
{
    *out = NULL;
    orchard_dep_result_clear(res);
    json_error_t jerr;
    json_t *j = body && len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    const char *why = !body || !len       ? "an empty reply"
                      : !j                ? NULL
                      : !json_is_object(j) ? "a reply that is not a JSON object"
                                           : check(kind, j);
    if (!j && body && len) {
        char *text = printable(jerr.text, strlen(jerr.text), EXCERPT_MAX);
        res->message = g_strdup_printf("Apple's reply is not JSON (%s at byte %d)", text,
                                       jerr.position);
        g_free(text);
    } else if (why) {
        res->message = g_strdup_printf("Apple's reply is not what it sends: %s", why);
    } else {
        *out = j;
        return 0;
    }
    res->status = ORCHARD_DEP_BAD_REPLY;
    json_decref(j);
    return ORCHARD_EPROTO;
}
