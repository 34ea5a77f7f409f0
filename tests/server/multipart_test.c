/* multipart: the multipart/form-data reader of uploads
 * (server_plugin/api/multipart.c): the boundary from Content-Type in every
 * spelling, bodies as curl and browsers write them (preamble, epilogue,
 * padding, binary data that holds CR, LF and "--"), and every malformed or
 * oversized shape refused with its reason. */
#include "server_plugin/api/multipart.h"
#include "tests/suites.h"

#include <orchard/plugin.h>

#include <CUnit/CUnit.h>
#include <glib.h>
#include <string.h>

#define CT "multipart/form-data; boundary=XyZ"

static int parse(const char *ct, const char *body, size_t len, orchard_multipart *m,
                 char **reason)
{
    return orchard_multipart_parse(ct, body, len, m, reason);
}

/* `body` under CT is refused with `code` and a reason holding `want`. */
static void refused_ct(const char *ct, const char *body, int code, const char *want)
{
    orchard_multipart m;
    g_autofree char *reason = NULL;
    int rc = parse(ct, body, strlen(body), &m, &reason);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_EQUAL(m.n, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(reason);
    if (rc != code || !strstr(reason, want))
        fprintf(stderr, "\n  got %d \"%s\", wanted %d \"%s\"\n", rc, reason, code, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(reason, want));
}

static void refused(const char *body, int code, const char *want)
{
    refused_ct(CT, body, code, want);
}

static void test_boundary(void)
{
    static const struct {
        const char *ct, *boundary;
    } good[] = {
        {"multipart/form-data; boundary=abc", "abc"},
        {"Multipart/Form-Data;boundary=\"a b:c\"", "a b:c"},
        {"multipart/form-data; charset=utf-8; boundary=------------------------d74496d66958873e",
         "------------------------d74496d66958873e"},
        {"multipart/form-data; BOUNDARY=x;", "x"},
        {"multipart/form-data; boundary=\"q\\\"\"", NULL}, /* '"' is no bchar */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autofree char *b = NULL, *reason = NULL;
        int rc = orchard_multipart_boundary(good[i].ct, &b, &reason);
        if (good[i].boundary) {
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_STRING_EQUAL(b ? b : "", good[i].boundary);
        } else {
            CU_ASSERT_EQUAL(rc, ORCHARD_EINVAL);
        }
    }
    static const struct {
        const char *ct, *want;
    } bad[] = {
        {NULL, "no Content-Type"},
        {"", "no Content-Type"},
        {"application/json", "send multipart/form-data"},
        {"multipart/mixed; boundary=x", "send multipart/form-data"},
        {"multipart/form-data", "no boundary"},
        {"multipart/form-data; boundary=", "1 to 70"},
        {"multipart/form-data; boundary=\"\"", "1 to 70"},
        {"multipart/form-data; boundary=\"abc ", "never closes"},
        {"multipart/form-data; boundary=a; boundary=b", "twice"},
        {"multipart/form-data; =x", "without a name"},
        {"multipart/form-data; boundary=a b", "missing ';'"},
        {"multipart/form-data; boundary=\"trailing \"", "1 to 70"},
        {"multipart/form-data; boundary=a\x01z", "1 to 70"},
        {"multipart/\xff\xfe; boundary=x", "(not UTF-8)"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *b = NULL, *reason = NULL;
        CU_ASSERT_EQUAL(orchard_multipart_boundary(bad[i].ct, &b, &reason), ORCHARD_EINVAL);
        CU_ASSERT_PTR_NULL(b);
        CU_ASSERT_PTR_NOT_NULL_FATAL(reason);
        if (!strstr(reason, bad[i].want))
            fprintf(stderr, "\n  case %zu: \"%s\" lacks \"%s\"\n", i, reason, bad[i].want);
        CU_ASSERT_PTR_NOT_NULL(strstr(reason, bad[i].want));
        CU_ASSERT_TRUE(g_utf8_validate(reason, -1, NULL));
    }
    /* 70 characters is the most. */
    g_autofree char *b70 = g_strnfill(70, 'b'), *b71 = g_strnfill(71, 'b');
    g_autofree char *ct70 = g_strconcat("multipart/form-data; boundary=", b70, NULL);
    g_autofree char *ct71 = g_strconcat("multipart/form-data; boundary=", b71, NULL);
    g_autofree char *out = NULL, *r1 = NULL, *r2 = NULL, *out2 = NULL;
    CU_ASSERT_EQUAL(orchard_multipart_boundary(ct70, &out, &r1), 0);
    CU_ASSERT_EQUAL(orchard_multipart_boundary(ct71, &out2, &r2), ORCHARD_EINVAL);
}

/* What curl -F profile=@file -F team_id=3 sends, plus preamble and epilogue. */
static void test_curl_body(void)
{
    static const char data[] = "<plist>\r\n--XyQ not the boundary\r\n\r\n--\0binary</plist>";
    g_autoptr(GString) body = g_string_new("This is the preamble.\r\nIt is ignored.\r\n");
    g_string_append(body, "--XyZ\r\n"
                          "Content-Disposition: form-data; name=\"profile\"; "
                          "filename=\"wifi.mobileconfig\"\r\n"
                          "Content-Type: application/octet-stream\r\n\r\n");
    g_string_append_len(body, data, sizeof data - 1);
    g_string_append(body, "\r\n--XyZ \t\r\n"
                          "content-disposition: FORM-DATA; name=team_id\r\n\r\n"
                          "3\r\n--XyZ\r\n"
                          "Content-Disposition: form-data; name=\"empty\"\r\n\r\n"
                          "\r\n--XyZ--\r\nand an epilogue\r\n--XyZ\r\nignored");
    orchard_multipart m;
    g_autofree char *reason = NULL;
    CU_ASSERT_EQUAL_FATAL(parse(CT, body->str, body->len, &m, &reason), 0);
    CU_ASSERT_EQUAL(m.n, 3);
    const orchard_multipart_part *f = orchard_multipart_get(&m, "profile");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_STRING_EQUAL(f->filename, "wifi.mobileconfig");
    CU_ASSERT_STRING_EQUAL(f->content_type, "application/octet-stream");
    CU_ASSERT_EQUAL(f->len, sizeof data - 1);
    CU_ASSERT_EQUAL(memcmp(f->data, data, sizeof data - 1), 0);
    /* Borrowed from the body, not copied. */
    CU_ASSERT_TRUE((const char *)f->data > body->str &&
                   (const char *)f->data < body->str + body->len);
    const orchard_multipart_part *t = orchard_multipart_get(&m, "team_id");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NULL(t->filename);
    CU_ASSERT_EQUAL(t->len, 1);
    CU_ASSERT_EQUAL(t->data[0], '3');
    const orchard_multipart_part *e = orchard_multipart_get(&m, "empty");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->len, 0);
    CU_ASSERT_PTR_NULL(orchard_multipart_get(&m, "missing"));
    orchard_multipart_clear(&m);
    CU_ASSERT_EQUAL(m.n, 0);
    orchard_multipart_clear(NULL);
}

/* A body that opens with the boundary (no preamble), one part; a
 * quoted name with an escaped quote. */
static void test_minimal(void)
{
    const char *body = "--XyZ\r\nContent-Disposition: form-data; name=\"a\\\"b\"\r\n\r\n"
                       "v\r\n--XyZ--";
    orchard_multipart m;
    g_autofree char *reason = NULL;
    CU_ASSERT_EQUAL_FATAL(parse(CT, body, strlen(body), &m, &reason), 0);
    CU_ASSERT_EQUAL(m.n, 1);
    CU_ASSERT_STRING_EQUAL(m.parts[0].name, "a\"b");
    orchard_multipart_clear(&m);
}

static void test_malformed(void)
{
    refused("", ORCHARD_EINVAL, "empty");
    refused("no boundary anywhere", ORCHARD_EINVAL, "never opens with the boundary");
    refused("--XyZ--\r\n", ORCHARD_EINVAL, "holds no part");
    refused("--XyZ", ORCHARD_EINVAL, "truncated");
    refused("--XyZjunk\r\n", ORCHARD_EINVAL, "goes on after the boundary");
    refused("--XyZ\nContent-Disposition: form-data; name=a\n\nv\n--XyZ--", ORCHARD_EINVAL,
            "goes on after the boundary");
    /* Truncated: in the headers, in the data, no final boundary. */
    refused("--XyZ\r\nContent-Disposition: form-data; name=a", ORCHARD_EINVAL,
            "truncated in its headers");
    refused("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nhalf a fi", ORCHARD_EINVAL,
            "truncated");
    refused("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--XyZ",
            ORCHARD_EINVAL, "truncated");
    refused("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--XyZ\r\n",
            ORCHARD_EINVAL, "truncated in its headers");
    /* Headers. */
    refused("--XyZ\r\n\r\nv\r\n--XyZ--", ORCHARD_EINVAL, "no Content-Disposition");
    refused("--XyZ\r\nContent-Type: text/plain\r\n\r\nv\r\n--XyZ--", ORCHARD_EINVAL,
            "no Content-Disposition");
    refused("--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\nv\r\n--XyZ--",
            ORCHARD_EINVAL, "not form-data");
    refused("--XyZ\r\nContent-Disposition: form-data; filename=a\r\n\r\nv\r\n--XyZ--",
            ORCHARD_EINVAL, "has no name");
    refused("--XyZ\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nv\r\n--XyZ--",
            ORCHARD_EINVAL, "has no name");
    refused("--XyZ\r\nContent-Disposition: form-data; name=\"\xff\"\r\n\r\nv\r\n--XyZ--",
            ORCHARD_EINVAL, "not printable");
    refused("--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--XyZ--",
            ORCHARD_EINVAL, "never closes");
    refused("--XyZ\r\nContent-Disposition: form-data; name=a\r\nX-Long: a\r\n b\r\n\r\n"
            "v\r\n--XyZ--", ORCHARD_EINVAL, "folds a header");
    refused("--XyZ\r\nno colon here\r\n\r\nv\r\n--XyZ--", ORCHARD_EINVAL, "without a name");
    refused("--XyZ\r\n: value\r\n\r\nv\r\n--XyZ--", ORCHARD_EINVAL, "without a name");
    refused("--XyZ\r\nContent-Disposition: form-data; name=a\r\n"
            "Content-Disposition: form-data; name=b\r\n\r\nv\r\n--XyZ--",
            ORCHARD_EINVAL, "two Content-Disposition");
    refused("--XyZ\r\nContent-Disposition: form-data; name=a\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\ndg==\r\n--XyZ--",
            ORCHARD_EINVAL, "Content-Transfer-Encoding base64");
    /* The same field twice. */
    refused("--XyZ\r\nContent-Disposition: form-data; name=profile\r\n\r\na\r\n"
            "--XyZ\r\nContent-Disposition: form-data; name=\"profile\"\r\n\r\nb\r\n--XyZ--",
            ORCHARD_EINVAL, "\"profile\" is sent twice");
    /* A NUL in a header line. */
    const char nul[] = "--XyZ\r\nContent-Disposition: form-data; name=a\r\nX-A: b\0c\r\n\r\nv"
                       "\r\n--XyZ--";
    orchard_multipart m;
    g_autofree char *reason = NULL;
    CU_ASSERT_EQUAL(parse(CT, nul, sizeof nul - 1, &m, &reason), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(reason && strstr(reason, "NUL"));
    /* A bad Content-Type is the same refusal as the boundary's. */
    refused_ct("text/plain", "--XyZ\r\n", ORCHARD_EINVAL, "send multipart/form-data");
    /* Transfer encodings that leave the bytes alone are fine. */
    const char *ok = "--XyZ\r\nContent-Disposition: form-data; name=a\r\n"
                     "Content-Transfer-Encoding: Binary\r\n\r\nv\r\n--XyZ--";
    g_autofree char *r2 = NULL;
    CU_ASSERT_EQUAL(parse(CT, ok, strlen(ok), &m, &r2), 0);
    orchard_multipart_clear(&m);
}

static void test_caps(void)
{
    /* Parts: 16 taken, 17 refused. */
    for (int n = ORCHARD_MULTIPART_MAX_PARTS; n <= ORCHARD_MULTIPART_MAX_PARTS + 1; n++) {
        g_autoptr(GString) b = g_string_new(NULL);
        for (int i = 0; i < n; i++)
            g_string_append_printf(b, "--XyZ\r\nContent-Disposition: form-data; name=f%d\r\n\r\n"
                                      "v\r\n", i);
        g_string_append(b, "--XyZ--");
        /* The parts after the first open with the CRLF of the one before. */
        orchard_multipart m;
        g_autofree char *reason = NULL;
        int rc = parse(CT, b->str, b->len, &m, &reason);
        if (n == ORCHARD_MULTIPART_MAX_PARTS) {
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_EQUAL(m.n, (size_t)n);
            orchard_multipart_clear(&m);
        } else {
            CU_ASSERT_EQUAL(rc, ORCHARD_ETOOBIG);
            CU_ASSERT_PTR_NOT_NULL(reason && strstr(reason, "more than 16 parts"));
        }
    }
    /* Header lines: 8 taken, 9 refused. */
    for (int n = ORCHARD_MULTIPART_MAX_HEADERS; n <= ORCHARD_MULTIPART_MAX_HEADERS + 1; n++) {
        g_autoptr(GString) b = g_string_new("--XyZ\r\nContent-Disposition: form-data; name=a\r\n");
        for (int i = 1; i < n; i++)
            g_string_append_printf(b, "X-H%d: v\r\n", i);
        g_string_append(b, "\r\nv\r\n--XyZ--");
        orchard_multipart m;
        g_autofree char *reason = NULL;
        int rc = parse(CT, b->str, b->len, &m, &reason);
        CU_ASSERT_EQUAL(rc, n == ORCHARD_MULTIPART_MAX_HEADERS ? 0 : ORCHARD_ETOOBIG);
        orchard_multipart_clear(&m);
    }
    /* A header line of 1024 bytes is taken, 1025 refused, also when the
     * body ends inside it. */
    for (int extra = 0; extra <= 1; extra++) {
        const char *pre = "Content-Disposition: form-data; name=a; x=";
        g_autofree char *pad = g_strnfill(ORCHARD_MULTIPART_MAX_LINE - strlen(pre) + extra, 'p');
        g_autofree char *b = g_strconcat("--XyZ\r\n", pre, pad, "\r\n\r\nv\r\n--XyZ--", NULL);
        orchard_multipart m;
        g_autofree char *reason = NULL;
        int rc = parse(CT, b, strlen(b), &m, &reason);
        CU_ASSERT_EQUAL(rc, extra ? ORCHARD_ETOOBIG : 0);
        orchard_multipart_clear(&m);
    }
    g_autofree char *longline = g_strnfill(100000, 'h');
    g_autofree char *b = g_strconcat("--XyZ\r\n", longline, NULL);
    refused(b, ORCHARD_ETOOBIG, "over 1024 bytes");
}

/* Every prefix of a valid body is refused, none read past its end (ASan). */
static void test_every_truncation(void)
{
    const char *body = "--XyZ\r\nContent-Disposition: form-data; name=\"profile\"; "
                       "filename=\"p.mobileconfig\"\r\nContent-Type: text/xml\r\n\r\n<plist/>"
                       "\r\n--XyZ\r\nContent-Disposition: form-data; name=team_id\r\n\r\n0"
                       "\r\n--XyZ--";
    size_t len = strlen(body);
    for (size_t n = 0; n < len; n++) {
        char *copy = g_memdup2(body, n ? n : 1); /* exactly n readable bytes */
        orchard_multipart m;
        g_autofree char *reason = NULL;
        int rc = parse(CT, copy, n, &m, &reason);
        CU_ASSERT_NOT_EQUAL(rc, 0);
        CU_ASSERT_PTR_NOT_NULL(reason);
        g_free(copy);
    }
    orchard_multipart m;
    g_autofree char *reason = NULL;
    CU_ASSERT_EQUAL(parse(CT, body, len, &m, &reason), 0);
    orchard_multipart_clear(&m);
}

void multipart_suite(void)
{
    ORCHARD_ADD_SUITE("multipart", NULL, NULL,
                      {"the boundary from Content-Type, and every bad one", test_boundary},
                      {"curl's body with preamble, epilogue and binary data", test_curl_body},
                      {"a body without preamble; escaped quotes", test_minimal},
                      {"every malformed body refused with its reason", test_malformed},
                      {"caps: parts, header lines, header line length", test_caps},
                      {"every truncation of a valid body refused", test_every_truncation});
}
