/* Signer certificates verified once, reused on every check-in (see
 * signer_cache.h): OpenSSL 3.0 spends most of a check-in decoding the
 * certificate a Mac puts in each Mdm-Signature, so identity.c takes it out
 * of the DER (orchard_cms_strip_certs) and finds it here by its hash. */
#include "server_plugin/checkin/signer_cache.h"
#include "server_plugin/scep/scep_csr.h"

#include <orchard/plugin.h>

#include <openssl/asn1.h>
#include <string.h>

/* ---- the DER walk -------------------------------------------------------------- */

/* id-signedData, 1.2.840.113549.1.7.2, as its OID content octets. */
static const unsigned char OID_SIGNED_DATA[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                                0x0d, 0x01, 0x07, 0x02};

typedef struct {
    unsigned char tag;
    size_t hdr; /* tag and length octets */
    size_t len; /* content octets */
} tlv;

/* One TLV at p with `avail` bytes left: low tag numbers, definite minimal
 * lengths of at most four octets, content within avail. 0 or -1. */
static int der_tlv(const unsigned char *p, size_t avail, tlv *t)
{
    if (avail < 2 || (p[0] & 0x1f) == 0x1f)
        return -1;
    t->tag = p[0];
    if (p[1] < 0x80) {
        t->hdr = 2;
        t->len = p[1];
    } else {
        size_t k = p[1] & 0x7f;
        /* 0x80 is BER's indefinite length; DER wants the shortest form. */
        if (k == 0 || k > 4 || avail - 2 < k || p[2] == 0)
            return -1;
        t->len = 0;
        for (size_t i = 0; i < k; i++)
            t->len = (t->len << 8) | p[2 + i];
        if (t->len < 0x80)
            return -1;
        t->hdr = 2 + k;
    }
    return t->len <= avail - t->hdr ? 0 : -1;
}

/* The length octets for n (n < 2^32) into out; their count. */
static size_t der_len_encode(size_t n, unsigned char out[5])
{
    if (n < 0x80) {
        out[0] = (unsigned char)n;
        return 1;
    }
    size_t k = n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : 1;
    out[0] = (unsigned char)(0x80 | k);
    for (size_t i = 0; i < k; i++)
        out[1 + i] = (unsigned char)(n >> (8 * (k - 1 - i)));
    return 1 + k;
}

static unsigned char *put_hdr(unsigned char *w, unsigned char tag, size_t len)
{
    unsigned char l[5];
    size_t n = der_len_encode(len, l);
    *w++ = tag;
    memcpy(w, l, n);
    return w + n;
}

static size_t hdr_size(size_t len)
{
    unsigned char l[5];
    return 1 + der_len_encode(len, l);
}

int orchard_cms_strip_certs(const unsigned char *der, size_t len, unsigned char **stripped,
                            size_t *stripped_len, const unsigned char **cert, size_t *cert_len)
{
    tlv ci, oid, expl, sd, f, certs, c;
    const unsigned char *p, *end, *sd_body, *sd_end, *certs_at;

    *stripped = NULL;
    *stripped_len = 0;
    *cert = NULL;
    *cert_len = 0;
    /* ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT SignedData } */
    if (!der || der_tlv(der, len, &ci) || ci.tag != 0x30 || ci.hdr + ci.len != len)
        return ORCHARD_EINVAL;
    p = der + ci.hdr;
    end = der + len;
    if (der_tlv(p, (size_t)(end - p), &oid) || oid.tag != 0x06 ||
        oid.len != sizeof OID_SIGNED_DATA || memcmp(p + oid.hdr, OID_SIGNED_DATA, oid.len) != 0)
        return ORCHARD_EINVAL;
    p += oid.hdr + oid.len;
    if (der_tlv(p, (size_t)(end - p), &expl) || expl.tag != 0xa0 ||
        p + expl.hdr + expl.len != end)
        return ORCHARD_EINVAL;
    p += expl.hdr;
    if (der_tlv(p, (size_t)(end - p), &sd) || sd.tag != 0x30 || p + sd.hdr + sd.len != end)
        return ORCHARD_EINVAL;
    sd_body = p + sd.hdr;
    sd_end = end;
    /* SignedData ::= SEQUENCE { version INTEGER, digestAlgorithms SET,
     * encapContentInfo SEQUENCE, certificates [0] IMPLICIT OPTIONAL, ... } */
    static const unsigned char leading[] = {0x02, 0x31, 0x30};
    p = sd_body;
    for (size_t i = 0; i < sizeof leading; i++) {
        if (der_tlv(p, (size_t)(sd_end - p), &f) || f.tag != leading[i])
            return ORCHARD_EINVAL;
        p += f.hdr + f.len;
    }
    if (p == sd_end)
        return ORCHARD_EINVAL; /* no signerInfos */
    if (der_tlv(p, (size_t)(sd_end - p), &certs))
        return ORCHARD_EINVAL;
    if (certs.tag != 0xa0)
        return ORCHARD_ENOTFOUND;
    certs_at = p;
    p += certs.hdr;
    /* Exactly one plain Certificate (a SEQUENCE) fills the field. */
    if (der_tlv(p, certs.len, &c) || c.tag != 0x30 || c.hdr + c.len != certs.len)
        return ORCHARD_EINVAL;
    const unsigned char *after = certs_at + certs.hdr + certs.len;
    if (after == sd_end)
        return ORCHARD_EINVAL; /* no signerInfos */

    size_t head = (size_t)(certs_at - sd_body), tail = (size_t)(sd_end - after);
    size_t sd_len = head + tail;
    size_t expl_len = hdr_size(sd_len) + sd_len;
    size_t ci_len = oid.hdr + oid.len + hdr_size(expl_len) + expl_len;
    size_t total = hdr_size(ci_len) + ci_len;
    unsigned char *out = g_malloc(total), *w = out;
    w = put_hdr(w, 0x30, ci_len);
    memcpy(w, der + ci.hdr, oid.hdr + oid.len);
    w += oid.hdr + oid.len;
    w = put_hdr(w, 0xa0, expl_len);
    w = put_hdr(w, 0x30, sd_len);
    memcpy(w, sd_body, head);
    w += head;
    memcpy(w, after, tail);
    w += tail;
    g_assert((size_t)(w - out) == total);
    *stripped = out;
    *stripped_len = total;
    *cert = p;
    *cert_len = c.hdr + c.len;
    return 0;
}

/* ---- the cache ------------------------------------------------------------------- */

typedef struct {
    unsigned char digest[32];
    orchard_signer s;
    int referenced; /* the clock's second chance */
} slot;

static GMutex lock;
static slot *slots;          /* capacity of them, `count` in use */
static size_t capacity = ORCHARD_SIGNER_CACHE_CAPACITY, count, hand;
static GHashTable *by_digest; /* digest -> slot */
static X509 *cache_ca;        /* what every entry was verified against */

void orchard_signer_clear(orchard_signer *s)
{
    if (!s)
        return;
    X509_free(s->cert);
    g_free(s->serial);
    memset(s, 0, sizeof *s);
}

static guint digest_hash(gconstpointer k)
{
    guint h;
    memcpy(&h, k, sizeof h); /* a SHA-256 is already uniform */
    return h;
}

static gboolean digest_equal(gconstpointer a, gconstpointer b) { return memcmp(a, b, 32) == 0; }

/* Under the lock. */
static void drop_all(void)
{
    for (size_t i = 0; i < count; i++)
        orchard_signer_clear(&slots[i].s);
    g_clear_pointer(&by_digest, g_hash_table_unref);
    g_clear_pointer(&slots, g_free);
    X509_free(cache_ca);
    cache_ca = NULL;
    count = hand = 0;
}

/* Under the lock: entries verified against another CA are worthless. */
static void adopt_ca(X509 *ca)
{
    if (cache_ca == ca || (cache_ca && X509_cmp(cache_ca, ca) == 0))
        return;
    drop_all();
    X509_up_ref(ca);
    cache_ca = ca;
}

static void copy_out(const orchard_signer *from, orchard_signer *to)
{
    X509_up_ref(from->cert);
    *to = *from;
    to->serial = g_strdup(from->serial);
}

int orchard_signer_cache_get(X509 *ca, const unsigned char digest[32], orchard_signer *out)
{
    int rc = ORCHARD_ENOTFOUND;
    memset(out, 0, sizeof *out);
    if (!ca)
        return rc;
    g_mutex_lock(&lock);
    adopt_ca(ca);
    slot *s = by_digest ? g_hash_table_lookup(by_digest, digest) : NULL;
    if (s) {
        s->referenced = 1;
        copy_out(&s->s, out);
        rc = 0;
    }
    g_mutex_unlock(&lock);
    return rc;
}

/* ASN1_TIME as Unix seconds; 0 or -1. */
static int asn1_unix(const ASN1_TIME *t, gint64 *out)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return -1;
    GDateTime *dt = g_date_time_new_utc(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                        tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (!dt)
        return -1;
    *out = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return 0;
}

int orchard_signer_cache_put(X509 *ca, const unsigned char digest[32], X509 *cert,
                             orchard_signer *out)
{
    gint64 nb, na, ca_nb, ca_na;
    if (out)
        memset(out, 0, sizeof *out);
    if (!ca || !cert || asn1_unix(X509_get0_notBefore(cert), &nb) ||
        asn1_unix(X509_get0_notAfter(cert), &na) || asn1_unix(X509_get0_notBefore(ca), &ca_nb) ||
        asn1_unix(X509_get0_notAfter(ca), &ca_na))
        return ORCHARD_EIO;
    char *serial = orchard_scep_serial_hex(cert);
    if (!serial)
        return ORCHARD_EIO;

    g_mutex_lock(&lock);
    adopt_ca(ca);
    if (!slots) {
        slots = g_new0(slot, capacity);
        by_digest = g_hash_table_new(digest_hash, digest_equal);
    }
    slot *s = g_hash_table_lookup(by_digest, digest);
    if (s) {
        /* Another thread verified it at the same time. */
        if (out)
            copy_out(&s->s, out);
        g_mutex_unlock(&lock);
        g_free(serial);
        return 0;
    }
    if (count < capacity) {
        s = &slots[count++];
    } else {
        /* Clock: pass over the recently used once, evict the first that was not. */
        while (slots[hand].referenced) {
            slots[hand].referenced = 0;
            hand = (hand + 1) % capacity;
        }
        s = &slots[hand];
        hand = (hand + 1) % capacity;
        g_hash_table_remove(by_digest, s->digest);
        orchard_signer_clear(&s->s);
    }
    memcpy(s->digest, digest, 32);
    X509_up_ref(cert);
    s->s.cert = cert;
    s->s.serial = serial;
    for (size_t i = 0; i < 32; i++)
        g_snprintf(s->s.sha256 + 2 * i, 3, "%02x", digest[i]);
    s->s.not_before = MAX(nb, ca_nb);
    s->s.not_after = MIN(na, ca_na);
    s->referenced = 0;
    g_hash_table_insert(by_digest, s->digest, s);
    if (out)
        copy_out(&s->s, out);
    g_mutex_unlock(&lock);
    return 0;
}

void orchard_signer_cache_reset(size_t new_capacity)
{
    g_mutex_lock(&lock);
    drop_all();
    if (new_capacity)
        capacity = new_capacity;
    g_mutex_unlock(&lock);
}

size_t orchard_signer_cache_count(void)
{
    g_mutex_lock(&lock);
    size_t n = count;
    g_mutex_unlock(&lock);
    return n;
}
