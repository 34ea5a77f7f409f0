/* `orchard get mdm-apple --server URL` and `get mdm-apple-bm --server URL`:
 * the APNs certificate, or Apple Business Manager, read from a running
 * server's admin API instead of local files, through the host's outbound
 * HTTP client (ABI 1.3), so an admin without the files at hand sees what the
 * server uses. Errors say what to do next. */
#include "server_plugin/api/mdm_apple.h"
#include "server_plugin/api/mdm_apple_bm.h"
#include "server_plugin/server.h"

#include <string.h>

/* One description read from the API: its path, and the check that a 200
 * holds the fields its printer reads. */
typedef struct described {
    const char *path;   /* under the server's base URL */
    int (*shape_ok)(json_t *o);
    const char *fields; /* "the APNs certificate's fields", for messages */
} described;

/* The Fleet error's message ("message"), or the body's start, for messages. */
static char *answer_message(const orchard_http_call *call)
{
    json_t *doc = call->response_body
                      ? json_loadb((const char *)call->response_body, call->response_len, 0, NULL)
                      : NULL;
    const char *m = json_string_value(json_object_get(doc, "message"));
    char *out = m ? g_strdup(m) : g_strdup("(no message)");
    json_decref(doc);
    return out;
}

/* `o` is an object with an integer days_left and a string for each of
 * `strings`: every field the printer reads unguarded. */
static int shape_ok(json_t *o, const char *const *strings, size_t n)
{
    if (!json_is_object(o) || !json_is_integer(json_object_get(o, "days_left")))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!json_is_string(json_object_get(o, strings[i])))
            return 0;
    return 1;
}

/* Every field print_mdm_apple reads. */
static int apns_shape_ok(json_t *o)
{
    static const char *const strings[] = {"common_name", "serial_number", "issuer",
                                          "renew_date",  "topic",         "not_after",
                                          "status"};
    return shape_ok(o, strings, G_N_ELEMENTS(strings));
}

/* Every field print_mdm_apple_bm (mdm_commands.c) needs; the others it
 * reads when present. */
static int bm_shape_ok(json_t *o)
{
    static const char *const strings[] = {"apple_id", "org_name", "mdm_server_url",
                                          "renew_date", "default_team", "status"};
    return shape_ok(o, strings, G_N_ELEMENTS(strings));
}

static const described apns = {"/api/latest/fleet/mdm/apple", apns_shape_ok,
                               "the APNs certificate's fields"};
static const described bm = {"/api/latest/fleet/mdm/apple_bm", bm_shape_ok,
                             "Apple Business Manager's fields"};

static int judge(const orchard_http_call *call, const char *url, const described *d,
                 json_t **out, char **error)
{
    g_autofree char *msg = NULL;
    switch (call->status) {
    case 200:
        break;
    case 401:
        *error = g_strdup_printf("%s refused the API token (401): set ORCHARD_API_TOKEN to a "
                                 "valid token (log in, or `orchard user create --api-only`)",
                                 url);
        return ORCHARD_EDENIED;
    case 403:
        *error = g_strdup_printf("%s refused (403): the token's user needs at least the "
                                 "observer role", url);
        return ORCHARD_EDENIED;
    case 404:
        msg = answer_message(call);
        *error = g_strdup_printf("%s: %s", url, msg);
        return ORCHARD_ENOTFOUND;
    default:
        msg = answer_message(call);
        *error = g_strdup_printf("%s answered %d: %s", url, call->status, msg);
        return ORCHARD_EINVAL;
    }
    json_error_t jerr;
    json_t *o = call->response_body ? json_loadb((const char *)call->response_body,
                                                 call->response_len, 0, &jerr)
                                    : NULL;
    if (!d->shape_ok(o)) {
        json_decref(o);
        *error = g_strdup_printf("%s answered 200 without %s: is it an orchard server?", url,
                                 d->fields);
        return ORCHARD_EINVAL;
    }
    *out = o;
    return 0;
}

static int fetch(orchard_ctx *ctx, const described *d, const char *server, const char *ca_file,
                 const char *token, json_t **out, char **error)
{
    const orchard_host_api *host = orchard_server_host;
    orchard_http_client *client = NULL;
    g_autofree char *ca_pem = NULL, *url = NULL, *auth = NULL;
    GError *gerr = NULL;
    int rc;

    *out = NULL;
    *error = NULL;
    if (!token || !*token) {
        *error = g_strdup("--server needs an API token in ORCHARD_API_TOKEN (log in, or "
                          "`orchard user create --api-only` prints one)");
        return ORCHARD_EINVAL;
    }
    if (!g_str_has_prefix(server, "https://") && !g_str_has_prefix(server, "http://")) {
        *error = g_strdup_printf("--server %s: give the server's base URL, https://host:port",
                                 server);
        return ORCHARD_EINVAL;
    }
    if (strchr(token, '\r') || strchr(token, '\n')) {
        *error = g_strdup("ORCHARD_API_TOKEN holds a line break");
        return ORCHARD_EINVAL;
    }
    if (!ORCHARD_HAS_FIELD(host, orchard_host_api, http_client_close) || !host->http_client_open) {
        *error = g_strdup("this orchard has no outbound HTTP client (ABI 1.3)");
        return ORCHARD_EIO;
    }
    if (ca_file && !g_file_get_contents(ca_file, &ca_pem, NULL, &gerr)) {
        *error = g_strdup_printf("--ca: %s", gerr->message);
        g_error_free(gerr);
        return ORCHARD_EINVAL;
    }
    g_autofree char *base = g_strdup(server);
    while (g_str_has_suffix(base, "/"))
        base[strlen(base) - 1] = '\0';
    url = g_strconcat(base, d->path, NULL);
    auth = g_strconcat("Authorization: Bearer ", token, NULL);

    orchard_http_client_config cfg = {
        ORCHARD_STRUCT_HEADER(orchard_http_client_config),
        .ca_pem = ca_pem,
        .connections = 1,
        .timeout_ms = 15000,
    };
    if ((rc = host->http_client_open(ctx, &cfg, &client))) {
        *error = g_strdup_printf("cannot make an HTTP client (%s)", host->strerror(rc));
        return rc == ORCHARD_EINVAL ? ORCHARD_EINVAL : ORCHARD_EIO;
    }
    const char *headers[] = {auth, "Accept: application/json"};
    orchard_http_call call = {
        ORCHARD_STRUCT_HEADER(orchard_http_call),
        .method = "GET",
        .url = url,
        .headers = headers,
        .n_headers = G_N_ELEMENTS(headers),
    };
    rc = host->http_client_run(client, &call, 1);
    if (rc == 0 && call.result != 0) {
        *error = g_strdup_printf("cannot reach %s: %s", base,
                                 call.error[0] ? call.error : host->strerror(call.result));
        rc = ORCHARD_EIO;
    } else if (rc == 0) {
        rc = judge(&call, base, d, out, error);
    } else {
        *error = g_strdup_printf("the request to %s could not start (%s)", base,
                                 host->strerror(rc));
    }
    host->http_call_reset(&call);
    host->http_client_close(client);
    return rc;
}

int orchard_mdm_apple_fetch(orchard_ctx *ctx, const char *server, const char *ca_file,
                            const char *token, json_t **out, char **error)
{
    return fetch(ctx, &apns, server, ca_file, token, out, error);
}

int orchard_mdm_apple_bm_fetch(orchard_ctx *ctx, const char *server, const char *ca_file,
                               const char *token, json_t **out, char **error)
{
    return fetch(ctx, &bm, server, ca_file, token, out, error);
}
