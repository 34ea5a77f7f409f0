/* The check-in service: one message from a device whose certificate is
 * already verified, in, and the status and body to answer, out. Check-in
 * messages (Authenticate, TokenUpdate, CheckOut, bootstrap tokens, ...) are
 * handled here; command reports in checkin_report.c. No transport: the route
 * and the fuzzer call it alike. A refusal stores nothing. */
#include "server_plugin/checkin/checkin.h"
#include "server_plugin/enroll/dep_checkin.h"
#include "server_plugin/server.h"
#include "server_plugin/store/store_devices.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PLUGIN "orchard-server"
/* Push tokens are 32 bytes today; anything far larger is not one. */
#define TOKEN_MAX 256
#define UNLOCK_MAX ((size_t)64 * 1024)
#define BOOTSTRAP_MAX ((size_t)64 * 1024)

static const orchard_host_api *host(void) { return orchard_server_host; }

void orchard_checkin_reply_clear(orchard_checkin_reply *r)
{
    if (!r)
        return;
    g_free(r->body);
    memset(r, 0, sizeof *r);
}

int orchard_checkin_refuse(orchard_checkin_reply *out, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    host()->log(status >= 500 ? ORCHARD_LOG_ERROR : ORCHARD_LOG_WARNING, PLUGIN,
                "checkin: %d: %s", status, msg);
    out->status = status;
    return 0;
}

void orchard_checkin_event(const orchard_checkin_env *env, const char *name, const char *udid,
                           ...)
{
    const orchard_host_api *h = host();
    if (!env->ctx || !ORCHARD_HAS_FIELD(h, orchard_host_api, event_publish) || !h->event_publish)
        return;
    json_t *o = json_object();
    json_object_set_new(o, "udid", json_string(udid));
    va_list ap;
    va_start(ap, udid);
    for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
        const char *v = va_arg(ap, const char *);
        json_object_set_new(o, k, v ? json_string(v) : json_null());
    }
    va_end(ap);
    char *text = json_dumps(o, JSON_COMPACT);
    if (text)
        h->event_publish(env->ctx, name, text);
    free(text);
    json_decref(o);
}

int orchard_checkin_bound_udid(const orchard_checkin_request *req, char **udid)
{
    *udid = NULL;
    if (!req->bound_known)
        return orchard_store_device_by_cert(req->cert_sha256, udid);
    if (!req->bound_udid)
        return ORCHARD_ENOTFOUND;
    *udid = g_strdup(req->bound_udid);
    return 0;
}

int orchard_checkin_id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > ORCHARD_CHECKIN_MAX_ID)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* 0 when cert_sha256 is bound to udid; else the refusal, logged. */
static int bound_to(const orchard_checkin_request *req, const char *what, const char *udid,
                    orchard_checkin_reply *out)
{
    g_autofree char *bound = NULL;
    int rc = orchard_checkin_bound_udid(req, &bound);
    if (rc == ORCHARD_ENOTFOUND) {
        orchard_checkin_refuse(out, 400, "%s from %s refused: its certificate is not bound to "
                               "any enrollment (no Authenticate with it)", what, udid);
        return -1;
    }
    if (rc) {
        orchard_checkin_refuse(out, 500, "%s from %s: the store failed", what, udid);
        return -1;
    }
    if (strcmp(bound, udid) != 0) {
        orchard_checkin_refuse(out, 400, "%s from %s refused: its certificate is bound to "
                               "another UDID (%s)", what, udid, bound);
        return -1;
    }
    return 0;
}

static int store_failed(orchard_checkin_reply *out, const char *what, const char *udid, int rc)
{
    return orchard_checkin_refuse(out, 500, "%s from %s: the store failed (%s)", what, udid,
                                  host()->strerror(rc));
}

static int authenticate(const orchard_checkin_env *env, const orchard_checkin_request *req,
                        plist_t root, const char *udid, orchard_checkin_reply *out)
{
    g_autofree char *topic = orchard_checkin_plist_string(root, "Topic");
    g_autofree char *serial = orchard_checkin_plist_string(root, "SerialNumber");
    g_autofree char *model = orchard_checkin_plist_string(root, "Model");
    g_autofree char *product = orchard_checkin_plist_string(root, "ProductName");
    g_autofree char *os = orchard_checkin_plist_string(root, "OSVersion");
    g_autofree char *build = orchard_checkin_plist_string(root, "BuildVersion");
    g_autofree char *name = orchard_checkin_plist_string(root, "DeviceName");
    g_autofree char *other = NULL;

    if (env->topic && (!topic || strcmp(topic, env->topic) != 0))
        return orchard_checkin_refuse(out, 400, "Authenticate from %s refused: Topic %s is not "
                                      "this server's (%s)", udid, topic ? topic : "(none)",
                                      env->topic);
    const orchard_device_auth a = {
        .udid = udid, .cert_sha256 = req->cert_sha256, .serial_number = serial,
        .model = model, .product_name = product, .os_version = os, .build_version = build,
        .device_name = name, .topic = topic,
    };
    int rc = orchard_store_device_authenticate(&a, req->now_us / G_USEC_PER_SEC, &other);
    if (rc == ORCHARD_EEXIST)
        return orchard_checkin_refuse(out, 400, "Authenticate from %s refused: its certificate "
                                      "is bound to another UDID (%s)", udid, other);
    if (rc)
        return store_failed(out, "Authenticate", udid, rc);
    /* Automatic enrollment: DEP-enrolled when the DEP URL served this serial. */
    if ((rc = orchard_dep_checkin_authenticated(udid, serial, NULL)))
        return store_failed(out, "Authenticate", udid, rc);
    host()->log(ORCHARD_LOG_INFO, PLUGIN, "checkin: Authenticate from %s (serial %s)", udid,
                serial ? serial : "unknown");
    out->status = 200;
    return 0;
}

static int token_update(const orchard_checkin_env *env, const orchard_checkin_request *req,
                        plist_t root, const char *udid, orchard_checkin_reply *out)
{
    size_t tok_len = 0, unlock_len = 0;
    g_autofree unsigned char *tok = orchard_checkin_plist_data(root, "Token", &tok_len);
    g_autofree unsigned char *unlock = orchard_checkin_plist_data(root, "UnlockToken",
                                                                  &unlock_len);
    g_autofree char *magic = orchard_checkin_plist_string(root, "PushMagic");
    g_autoptr(orchard_device) before = NULL;
    plist_t awaiting = plist_dict_get_item(root, "AwaitingConfiguration");
    uint8_t await_val = 0;

    if (!tok || tok_len == 0 || tok_len > TOKEN_MAX)
        return orchard_checkin_refuse(out, 400, "TokenUpdate from %s refused: no valid Token",
                                      udid);
    if (!magic || !orchard_checkin_id_ok(magic))
        return orchard_checkin_refuse(out, 400, "TokenUpdate from %s refused: no valid "
                                      "PushMagic", udid);
    if (unlock_len > UNLOCK_MAX)
        return orchard_checkin_refuse(out, 400, "TokenUpdate from %s refused: UnlockToken too "
                                      "large", udid);
    if (awaiting && plist_get_node_type(awaiting) == PLIST_BOOLEAN)
        plist_get_bool_val(awaiting, &await_val);
    /* "Enrolled" is the TokenUpdate that turns the enrollment on. */
    int rc = orchard_store_device_get(udid, &before);
    if (rc == 0)
        rc = orchard_store_device_token_update(udid, tok, tok_len, magic, unlock, unlock_len,
                                               await_val, req->now_us / G_USEC_PER_SEC);
    if (rc)
        return store_failed(out, "TokenUpdate", udid, rc);
    if (!before->enabled) {
        host()->log(ORCHARD_LOG_INFO, PLUGIN, "checkin: %s enrolled (TokenUpdate)", udid);
        orchard_checkin_event(env, "mdm.enrolled", udid, NULL);
        /* A Mac in Setup Assistant waits for DeviceConfigured (automatic enrollment). */
        orchard_dep_checkin_configure(udid, await_val);
    }
    out->status = 200;
    return 0;
}

static int checkout(const orchard_checkin_request *req, const char *udid,
                    orchard_checkin_reply *out)
{
    int rc = orchard_store_device_checkout(udid, req->now_us / G_USEC_PER_SEC);
    if (rc)
        return store_failed(out, "CheckOut", udid, rc);
    host()->log(ORCHARD_LOG_INFO, PLUGIN, "checkin: %s checked out", udid);
    out->status = 200;
    return 0;
}

static int set_bootstrap(const orchard_checkin_env *env, plist_t root, const char *udid,
                         orchard_checkin_reply *out)
{
    size_t len = 0, sealed_len = 0;
    g_autofree unsigned char *tok = orchard_checkin_plist_data(root, "BootstrapToken", &len);
    g_autofree unsigned char *sealed = NULL;
    int rc;

    if (len > BOOTSTRAP_MAX)
        return orchard_checkin_refuse(out, 400, "SetBootstrapToken from %s refused: token too "
                                      "large", udid);
    /* No token (or an empty one) means the Mac removed it. */
    if (len && (rc = orchard_bootstrap_seal(env->scep_key, udid, tok, len, &sealed,
                                            &sealed_len)))
        return orchard_checkin_refuse(out, 500, "SetBootstrapToken from %s: cannot seal the "
                                      "token (no SCEP CA key?)", udid);
    if (tok)
        OPENSSL_cleanse(tok, len);
    if ((rc = orchard_store_device_bootstrap_set(udid, sealed, sealed_len)))
        return store_failed(out, "SetBootstrapToken", udid, rc);
    out->status = 200;
    return 0;
}

static int get_bootstrap(const orchard_checkin_env *env, const char *udid,
                         orchard_checkin_reply *out)
{
    g_autoptr(GBytes) sealed = NULL;
    g_autofree unsigned char *tok = NULL;
    size_t len = 0;
    int rc = orchard_store_device_bootstrap_get(udid, &sealed);

    if (rc && rc != ORCHARD_ENOTFOUND)
        return store_failed(out, "GetBootstrapToken", udid, rc);
    if (rc == 0) {
        gsize slen = 0;
        const unsigned char *s = g_bytes_get_data(sealed, &slen);
        if (orchard_bootstrap_open(env->scep_key, udid, s, slen, &tok, &len))
            return orchard_checkin_refuse(out, 500, "GetBootstrapToken from %s: the stored "
                                          "token does not open (the SCEP CA key changed?)",
                                          udid);
    }
    /* No token escrowed: a dict without BootstrapToken. */
    plist_t dict = plist_new_dict();
    if (tok)
        plist_dict_set_item(dict, "BootstrapToken", plist_new_data((const char *)tok, len));
    char *xml = NULL;
    uint32_t xml_len = 0;
    plist_to_xml(dict, &xml, &xml_len);
    plist_free(dict);
    if (tok)
        OPENSSL_cleanse(tok, len);
    if (!xml)
        return orchard_checkin_refuse(out, 500, "GetBootstrapToken from %s: out of memory", udid);
    out->body = g_memdup2(xml, xml_len);
    out->len = xml_len;
    OPENSSL_cleanse(xml, xml_len);
    plist_to_xml_free(xml);
    out->content_type = "application/xml";
    out->status = 200;
    return 0;
}

static int checkin(const orchard_checkin_env *env, const orchard_checkin_request *req,
                   plist_t root, orchard_checkin_reply *out)
{
    g_autofree char *type = orchard_checkin_plist_string(root, "MessageType");
    g_autofree char *udid = orchard_checkin_plist_string(root, "UDID");
    static const char *const known[] = {"Authenticate", "TokenUpdate", "CheckOut",
                                        "UserAuthenticate", "SetBootstrapToken",
                                        "GetBootstrapToken", "DeclarativeManagement"};
    int is_known = 0;

    if (!type || !orchard_checkin_id_ok(type))
        return orchard_checkin_refuse(out, 400, "check-in refused: no MessageType");
    for (size_t i = 0; i < G_N_ELEMENTS(known); i++)
        is_known |= strcmp(type, known[i]) == 0;
    if (!is_known)
        return orchard_checkin_refuse(out, 400, "check-in refused: unknown MessageType (%zu "
                                      "bytes)", strlen(type));
    if (strcmp(type, "UserAuthenticate") == 0)
        return orchard_checkin_refuse(out, 410, "UserAuthenticate: the user channel is not "
                                      "managed (410 tells the Mac so)");
    if (!udid || !orchard_checkin_id_ok(udid))
        return orchard_checkin_refuse(out, 400, "%s refused: no valid UDID (user "
                                      "enrollments are not supported)", type);
    if (strcmp(type, "Authenticate") == 0)
        return authenticate(env, req, root, udid, out);
    if (bound_to(req, type, udid, out))
        return 0;
    /* Messages on a user channel (they name a UserID) are not managed yet. */
    if (plist_dict_get_item(root, "UserID")) {
        host()->log(ORCHARD_LOG_INFO, PLUGIN, "checkin: %s for a user of %s ignored (the user "
                    "channel is not managed)", type, udid);
        out->status = 200;
        return 0;
    }
    int rc;
    if (strcmp(type, "TokenUpdate") == 0)
        rc = token_update(env, req, root, udid, out);
    else if (strcmp(type, "CheckOut") == 0)
        rc = checkout(req, udid, out);
    else if (strcmp(type, "SetBootstrapToken") == 0)
        rc = set_bootstrap(env, root, udid, out);
    else if (strcmp(type, "GetBootstrapToken") == 0)
        rc = get_bootstrap(env, udid, out);
    else
        return orchard_checkin_refuse(out, 404, "DeclarativeManagement from %s: declarative "
                                      "management is not supported yet (404)", udid);
    if (rc == 0 && out->status == 200)
        orchard_checkin_event(env, "mdm.checked_in", udid, "message_type", type, NULL);
    return rc;
}

static int is_checkin(const char *content_type)
{
    size_t n = strlen(ORCHARD_CHECKIN_CONTENT_TYPE);
    return content_type && g_ascii_strncasecmp(content_type, ORCHARD_CHECKIN_CONTENT_TYPE, n) == 0;
}

int orchard_checkin_handle(const orchard_checkin_env *env, const orchard_checkin_request *req,
                           orchard_checkin_reply *out)
{
    plist_t root = NULL;
    const char *why = NULL;
    int rc;

    if (!env || !req || !out || !req->cert_sha256)
        return ORCHARD_EINVAL;
    memset(out, 0, sizeof *out);
    int ci = is_checkin(req->content_type);
    size_t cap = ci ? ORCHARD_CHECKIN_MAX_CHECKIN : ORCHARD_CHECKIN_MAX_REPORT;
    if (req->len > cap)
        return orchard_checkin_refuse(out, 413, "%s of %zu bytes refused (at most %zu)",
                                      ci ? "check-in" : "command report", req->len, cap);
    if ((rc = orchard_checkin_plist_parse(req->body, req->len, &root, &why)))
        return orchard_checkin_refuse(out, 400, "%s refused: %s", ci ? "check-in" : "command "
                                      "report", why);
    rc = ci ? checkin(env, req, root, out) : orchard_checkin_report(env, req, root, out);
    plist_free(root);
    return rc;
}
