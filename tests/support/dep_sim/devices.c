/* POST /server/devices (the full fetch), POST /devices/sync (the changes
 * since a cursor) and POST /devices (details). Cursors are opaque hex to the
 * client: which list, where in it, when issued, under which epoch, sealed
 * with an HMAC so a forged or mangled one is INVALID_CURSOR. */
#include "dep_sim.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define CURSOR_MAX 1000 /* Apple: "can be up to 1000 characters" */
#define MAC_LEN 8

typedef struct cursor {
    char kind;        /* 'f': fetch, 's': sync */
    guint64 pos;      /* fetch: next device index; sync: next op */
    guint64 snap;     /* fetch: ops logged when the fetch began (sync starts there) */
    gint64 issued;
    guint32 epoch;
} cursor;

static void seal(const char *payload, unsigned char mac[MAC_LEN])
{
    unsigned char full[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), sim->cursor_key, sizeof sim->cursor_key, (const unsigned char *)payload,
         strlen(payload), full, &len);
    memcpy(mac, full, MAC_LEN);
}

static char *cursor_encode(const cursor *c)
{
    char payload[128];
    int n = snprintf(payload, sizeof payload, "%c:%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT
                     ":%" G_GINT64_FORMAT ":%" PRIu32, c->kind, c->pos, c->snap, c->issued,
                     c->epoch);
    unsigned char mac[MAC_LEN];
    seal(payload, mac);
    GString *o = g_string_sized_new((gsize)(2 * (n + MAC_LEN)));
    for (int i = 0; i < n; i++)
        g_string_append_printf(o, "%02x", (unsigned char)payload[i]);
    for (int i = 0; i < MAC_LEN; i++)
        g_string_append_printf(o, "%02x", mac[i]);
    return g_string_free(o, FALSE);
}

/* 0, or the Apple code that refuses the cursor. */
static const char *cursor_decode(const char *s, cursor *c)
{
    size_t n = strlen(s);
    if (n > CURSOR_MAX || n % 2 || n < 2 * (MAC_LEN + 9))
        return "INVALID_CURSOR";
    unsigned char raw[CURSOR_MAX / 2 + 1];
    for (size_t i = 0; i < n / 2; i++) {
        if (!g_ascii_isxdigit(s[2 * i]) || !g_ascii_isxdigit(s[2 * i + 1]))
            return "INVALID_CURSOR";
        raw[i] = (unsigned char)(g_ascii_xdigit_value(s[2 * i]) * 16 +
                                 g_ascii_xdigit_value(s[2 * i + 1]));
    }
    size_t plen = n / 2 - MAC_LEN;
    char payload[CURSOR_MAX / 2 + 1];
    memcpy(payload, raw, plen);
    payload[plen] = '\0';
    unsigned char mac[MAC_LEN];
    seal(payload, mac);
    if (strlen(payload) != plen || CRYPTO_memcmp(mac, raw + plen, MAC_LEN) != 0)
        return "INVALID_CURSOR";
    /* Sealed by us, so the fields are ours; still parse strictly. */
    char tail;
    if (sscanf(payload, "%c:%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT ":%" G_GINT64_FORMAT
                        ":%" SCNu32 "%c", &c->kind, &c->pos, &c->snap, &c->issued, &c->epoch,
               &tail) != 5 || (c->kind != 'f' && c->kind != 's'))
        return "INVALID_CURSOR";
    if (c->epoch != sim->cursor_epoch || c->issued + sim->opt.cursor_ttl < depsim_now())
        return "EXPIRED_CURSOR";
    return NULL;
}

/* limit: absent -> 100, over 1000 -> 1000; not a positive integer -> -1. */
static int read_limit(json_t *req)
{
    json_t *l = json_object_get(req, "limit");
    if (!l || json_is_null(l))
        return DEPSIM_PAGE_DEFAULT;
    if (!json_is_integer(l) || json_integer_value(l) < 1)
        return -1;
    return json_integer_value(l) > DEPSIM_PAGE_MAX ? DEPSIM_PAGE_MAX : (int)json_integer_value(l);
}

static void reply_page(depsim_reply *r, json_t *devices, const cursor *next, int more,
                       gint64 until)
{
    char iso[32];
    depsim_iso(until, iso);
    g_autofree char *cur = cursor_encode(next);
    json_t *j = json_object();
    json_object_set_new_nocheck(j, "cursor", json_string(cur));
    json_object_set_new_nocheck(j, "fetched_until", json_string(iso));
    json_object_set_new_nocheck(j, "more_to_follow", json_boolean(more));
    json_object_set_new_nocheck(j, "devices", devices);
    depsim_reply_json(r, 200, j);
}

static void fetch_page(const cursor *in, int limit, depsim_reply *r)
{
    cursor next = {.kind = 'f', .pos = in ? in->pos : 0,
                   .snap = in ? in->snap : sim->ops->len, .issued = depsim_now(),
                   .epoch = sim->cursor_epoch};
    guint len = sim->devices->len;
    while (next.pos < len && ((depsim_device *)g_ptr_array_index(sim->devices, next.pos))->deleted)
        next.pos++;
    if (in && next.pos >= len) {
        depsim_reply_text(r, 400, "EXHAUSTED_CURSOR"); /* the fetch is done: sync now */
        return;
    }
    json_t *devices = json_array();
    gint64 until = 0;
    int n = 0;
    for (; next.pos < len && n < limit; next.pos++) {
        depsim_device *d = g_ptr_array_index(sim->devices, next.pos);
        if (d->deleted)
            continue;
        json_array_append_new(devices, depsim_device_json(d, d->last_op_type, d->last_op_date));
        until = MAX(until, d->last_op_date);
        n++;
    }
    while (next.pos < len && ((depsim_device *)g_ptr_array_index(sim->devices, next.pos))->deleted)
        next.pos++;
    reply_page(r, devices, &next, next.pos < len, until ? until : depsim_now());
}

static void sync_page(const cursor *in, int limit, depsim_reply *r)
{
    cursor next = {.kind = 's', .pos = in->kind == 'f' ? in->snap : in->pos,
                   .issued = depsim_now(), .epoch = sim->cursor_epoch};
    json_t *devices = json_array();
    gint64 until = 0;
    for (int n = 0; next.pos < sim->ops->len && n < limit; next.pos++, n++) {
        const depsim_op *op = &g_array_index(sim->ops, depsim_op, next.pos);
        depsim_device *d = g_ptr_array_index(sim->devices, op->device);
        json_array_append_new(devices, depsim_device_json(d, op->op_type, op->op_date));
        until = op->op_date;
    }
    reply_page(r, devices, &next, next.pos < sim->ops->len, until ? until : depsim_now());
}

/* Remember which cursor a fetch or sync call used, how it was answered
 * and the cursor the answer issued. */
static void log_call(int sync, const char *used, const depsim_reply *r)
{
    if (sim->page_calls->len >= DEPSIM_PAGE_CALLS_MAX)
        g_ptr_array_remove_index(sim->page_calls, 0);
    json_t *devices = NULL, *issued = NULL;
    if (r->status == 200) {
        json_t *page = json_loads(r->body, 0, NULL);
        devices = json_integer((json_int_t)json_array_size(json_object_get(page, "devices")));
        issued = json_incref(json_object_get(page, "cursor"));
        json_decref(page);
    }
    g_ptr_array_add(sim->page_calls,
                    json_pack("{s:s, s:s?, s:i, s:o?, s:o?}", "endpoint", sync ? "sync" : "fetch",
                              "cursor", used, "status", (int)r->status, "devices", devices,
                              "issued", issued));
}

static void page_answer(int sync, json_t *req, depsim_reply *r);

void depsim_devices_page(int sync, json_t *req, depsim_reply *r)
{
    page_answer(sync, req, r);
    json_t *jc = json_object_get(req, "cursor");
    log_call(sync, json_is_string(jc) ? json_string_value(jc) : NULL, r);
}

static void page_answer(int sync, json_t *req, depsim_reply *r)
{
    int limit = read_limit(req);
    json_t *jc = json_object_get(req, "cursor");
    if (limit < 0 || (jc && !json_is_string(jc) && !json_is_null(jc))) {
        depsim_reply_text(r, 400, "MALFORMED_REQUEST_BODY");
        return;
    }
    const char *s = json_string_value(jc);
    cursor in;
    if (s && *s) {
        const char *bad = cursor_decode(s, &in);
        if (bad) {
            depsim_reply_text(r, 400, bad);
            return;
        }
    }
    int have = s && *s;
    if (sync && !have) {
        depsim_reply_text(r, 400, "INVALID_CURSOR"); /* sync starts from a fetch's cursor */
        return;
    }
    if (sync)
        sync_page(&in, limit, r);
    else if (have && in.kind == 's')
        depsim_reply_text(r, 400, "EXHAUSTED_CURSOR");
    else
        fetch_page(have ? &in : NULL, limit, r);
}

/* The serials of a request's "devices" array: 1-1000 strings, else NULL. */
const char **depsim_serials(json_t *req, size_t *n)
{
    json_t *a = json_object_get(req, "devices");
    *n = json_array_size(a);
    if (!json_is_array(a) || *n == 0 || *n > DEPSIM_PAGE_MAX)
        return NULL;
    const char **out = g_new(const char *, *n);
    for (size_t i = 0; i < *n; i++) {
        out[i] = json_string_value(json_array_get(a, i));
        if (!out[i]) {
            g_free(out);
            return NULL;
        }
    }
    return out;
}

void depsim_details(json_t *req, depsim_reply *r)
{
    size_t n;
    g_autofree const char **serials = depsim_serials(req, &n);
    if (!serials) {
        depsim_reply_text(r, 400, "MALFORMED_REQUEST_BODY");
        return;
    }
    json_t *devices = json_object();
    for (size_t i = 0; i < n; i++) {
        depsim_device *d = depsim_find(serials[i]);
        json_t *o;
        if (d && !d->deleted) {
            o = depsim_device_json(d, d->last_op_type, d->last_op_date);
            json_object_set_new_nocheck(o, "response_status", json_string("SUCCESS"));
        } else {
            o = json_pack("{s:s}", "response_status", "NOT_ACCESSIBLE");
        }
        json_object_set_new(devices, serials[i], o);
    }
    depsim_reply_json(r, 200, json_pack("{s:o}", "devices", devices));
}
