/* multipart/form-data (multipart.h): the boundary from the Content-Type,
 * then RFC 2046's framing walked once over the body, with each part's
 * headers read line by line under caps. Parts' data stay slices of the
 * body; only names and header values are copied. */
#include "server_plugin/api/multipart.h"

#include <orchard/plugin.h>

#include <glib.h>
#include <string.h>

/* ---- header parameters: `type; key=value; key="quoted \" value"` */

typedef struct {
    char *type;          /* lower case */
    GHashTable *params;  /* lower-case key -> value */
} header_value;

static void header_value_clear(header_value *h)
{
    g_free(h->type);
    if (h->params)
        g_hash_table_destroy(h->params);
    memset(h, 0, sizeof *h);
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* Header text quoted back in a reason: the reason becomes JSON, which
 * takes UTF-8 only, and a log line, which takes no control characters. */
static const char *shown(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return "(unprintable)";
    return g_utf8_validate(s, -1, NULL) ? s : "(not UTF-8)";
}

/* RFC 2045's tspecials end a token; so does whitespace. */
static int token_char(char c)
{
    return (unsigned char)c > 0x20 && (unsigned char)c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

/* A quoted-string at *p (on its opening quote): the unescaped value
 * (g_free) and *p past the closing quote, or NULL when it never closes. */
static char *quoted(const char **p)
{
    GString *v = g_string_new(NULL);
    const char *s = *p + 1;
    for (; *s && *s != '"'; s++) {
        if (*s == '\\' && s[1])
            s++;
        g_string_append_c(v, *s);
    }
    if (*s != '"') {
        g_string_free(v, TRUE);
        return NULL;
    }
    *p = s + 1;
    return g_string_free(v, FALSE);
}

/* Split a header's value into its type and parameters. `what` names the
 * header in the reason. 0, or EINVAL with *reason. */
static int header_split(const char *value, const char *what, header_value *out, char **reason)
{
    const char *p = value;
    memset(out, 0, sizeof *out);
    while (is_ws(*p))
        p++;
    const char *start = p;
    while (*p && *p != ';')
        p++;
    const char *end = p;
    while (end > start && is_ws(end[-1]))
        end--;
    out->type = g_ascii_strdown(start, end - start);
    out->params = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    while (*p == ';') {
        p++;
        while (is_ws(*p))
            p++;
        if (!*p)
            break; /* a trailing ';' is common and harmless */
        const char *k = p;
        while (token_char(*p))
            p++;
        if (p == k || *p != '=') {
            *reason = g_strdup_printf("the %s header has a parameter without a name or "
                                      "without '='", what);
            goto fail;
        }
        char *key = g_ascii_strdown(k, p - k);
        char *val;
        p++;
        if (*p == '"') {
            val = quoted(&p);
            if (!val) {
                *reason = g_strdup_printf("the %s header's %s parameter opens a quote it never "
                                          "closes", what, shown(key));
                g_free(key);
                goto fail;
            }
        } else {
            const char *v = p;
            while (*p && *p != ';' && !is_ws(*p))
                p++;
            val = g_strndup(v, p - v);
        }
        if (g_hash_table_contains(out->params, key)) {
            *reason = g_strdup_printf("the %s header gives its %s parameter twice", what,
                                      shown(key));
            g_free(key);
            g_free(val);
            goto fail;
        }
        g_hash_table_insert(out->params, key, val);
        while (is_ws(*p))
            p++;
        if (*p && *p != ';') {
            *reason = g_strdup_printf("the %s header has text after a parameter's value "
                                      "(missing ';'?)", what);
            goto fail;
        }
    }
    return 0;
fail:
    header_value_clear(out);
    return ORCHARD_EINVAL;
}

/* ---- the boundary */

/* RFC 2046's bchars: a space only inside. */
static int boundary_ok(const char *b, size_t n)
{
    if (n == 0 || n > ORCHARD_MULTIPART_MAX_BOUNDARY || b[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(b[i]) && !strchr("'()+_,-./:=? ", b[i]))
            return 0;
    return 1;
}

int orchard_multipart_boundary(const char *content_type, char **boundary, char **reason)
{
    header_value h;
    *boundary = NULL;
    *reason = NULL;
    if (!content_type || !*content_type) {
        *reason = g_strdup("the request has no Content-Type: send multipart/form-data");
        return ORCHARD_EINVAL;
    }
    if (header_split(content_type, "Content-Type", &h, reason))
        return ORCHARD_EINVAL;
    int rc = ORCHARD_EINVAL;
    const char *b = g_hash_table_lookup(h.params, "boundary");
    if (strcmp(h.type, "multipart/form-data") != 0)
        *reason = g_strdup_printf("the Content-Type is %s; send multipart/form-data",
                                  shown(h.type));
    else if (!b)
        *reason = g_strdup("the multipart/form-data Content-Type has no boundary parameter");
    else if (!boundary_ok(b, strlen(b)))
        *reason = g_strdup_printf("the multipart boundary must be 1 to %d letters, digits or "
                                  "'()+_,-./:=? (not ending in a space)",
                                  ORCHARD_MULTIPART_MAX_BOUNDARY);
    else {
        *boundary = g_strdup(b);
        rc = 0;
    }
    header_value_clear(&h);
    return rc;
}

/* ---- the body */

typedef struct {
    const unsigned char *p, *end;
    const char *delim; /* "\r\n--" boundary */
    size_t delim_len;
} cursor;

/* After "--boundary": "--" closes the body (anything after is the
 * epilogue), else optional padding and CRLF open a part. 1 closed, 0 a
 * part follows (c->p on it), or EINVAL. */
static int after_boundary(cursor *c, char **reason)
{
    if (c->end - c->p >= 2 && c->p[0] == '-' && c->p[1] == '-')
        return 1;
    while (c->p < c->end && is_ws((char)*c->p))
        c->p++;
    if (c->end - c->p >= 2 && c->p[0] == '\r' && c->p[1] == '\n') {
        c->p += 2;
        return 0;
    }
    *reason = g_strdup(c->p == c->end
                           ? "the body ends right after a boundary: it is truncated (no "
                             "closing boundary)"
                           : "a boundary line goes on after the boundary (lines end in CRLF)");
    return ORCHARD_EINVAL;
}

/* One header line of part `idx` into `part`; *done at the blank line. */
static int read_header(cursor *c, size_t idx, orchard_multipart_part *part, int *seen_cd,
                       int *done, char **reason)
{
    size_t avail = (size_t)(c->end - c->p);
    size_t scan = avail < ORCHARD_MULTIPART_MAX_LINE + 2 ? avail : ORCHARD_MULTIPART_MAX_LINE + 2;
    const unsigned char *eol = memmem(c->p, scan, "\r\n", 2);
    if (!eol) {
        if (scan < avail) {
            *reason = g_strdup_printf("part %zu has a header line over %d bytes", idx + 1,
                                      ORCHARD_MULTIPART_MAX_LINE);
            return ORCHARD_ETOOBIG;
        }
        *reason = g_strdup_printf("part %zu is truncated in its headers (every header line "
                                  "ends in CRLF, then a blank line)", idx + 1);
        return ORCHARD_EINVAL;
    }
    size_t n = (size_t)(eol - c->p);
    const char *line = (const char *)c->p;
    c->p = eol + 2;
    if (n == 0) {
        *done = 1;
        return 0;
    }
    if (n > ORCHARD_MULTIPART_MAX_LINE) {
        *reason = g_strdup_printf("part %zu has a header line over %d bytes", idx + 1,
                                  ORCHARD_MULTIPART_MAX_LINE);
        return ORCHARD_ETOOBIG;
    }
    if (is_ws(line[0])) {
        *reason = g_strdup_printf("part %zu folds a header over two lines, which "
                                  "multipart/form-data does not allow", idx + 1);
        return ORCHARD_EINVAL;
    }
    if (memchr(line, '\0', n)) {
        *reason = g_strdup_printf("part %zu has a NUL byte in a header", idx + 1);
        return ORCHARD_EINVAL;
    }
    const char *colon = memchr(line, ':', n);
    if (!colon || colon == line) {
        *reason = g_strdup_printf("part %zu has a header line without a name and ':'", idx + 1);
        return ORCHARD_EINVAL;
    }
    g_autofree char *hname = g_ascii_strdown(line, colon - line);
    g_autofree char *value = g_strndup(colon + 1, n - (size_t)(colon + 1 - line));
    g_strstrip(value);
    header_value h;
    int rc = 0;
    if (strcmp(hname, "content-disposition") == 0) {
        if (*seen_cd) {
            *reason = g_strdup_printf("part %zu has two Content-Disposition headers", idx + 1);
            return ORCHARD_EINVAL;
        }
        *seen_cd = 1;
        if (header_split(value, "Content-Disposition", &h, reason))
            return ORCHARD_EINVAL;
        const char *name = g_hash_table_lookup(h.params, "name");
        const char *file = g_hash_table_lookup(h.params, "filename");
        if (strcmp(h.type, "form-data") != 0) {
            *reason = g_strdup_printf("part %zu's Content-Disposition is %s, not form-data",
                                      idx + 1, shown(h.type));
            rc = ORCHARD_EINVAL;
        } else if (!name || !*name) {
            *reason = g_strdup_printf("part %zu's Content-Disposition has no name", idx + 1);
            rc = ORCHARD_EINVAL;
        } else if (shown(name) != name) {
            *reason = g_strdup_printf("part %zu's name is not printable UTF-8 text", idx + 1);
            rc = ORCHARD_EINVAL;
        } else {
            part->name = g_strdup(name);
            part->filename = g_strdup(file);
        }
        header_value_clear(&h);
    } else if (strcmp(hname, "content-type") == 0) {
        g_free(part->content_type);
        part->content_type = g_steal_pointer(&value);
    } else if (strcmp(hname, "content-transfer-encoding") == 0) {
        /* RFC 7578 4.7: senders do not encode; decoding base64 or
         * quoted-printable here would hand the caller other bytes than a
         * slice of the body. */
        if (g_ascii_strcasecmp(value, "7bit") && g_ascii_strcasecmp(value, "8bit") &&
            g_ascii_strcasecmp(value, "binary")) {
            *reason = g_strdup_printf("part %zu uses Content-Transfer-Encoding %s; send the "
                                      "file's bytes as they are (binary)", idx + 1, shown(value));
            rc = ORCHARD_EINVAL;
        }
    }
    return rc;
}

/* One part at c->p, up to its closing delimiter; *closed when the body ends. */
static int read_part(cursor *c, orchard_multipart *out, int *closed, char **reason)
{
    size_t idx = out->n;
    if (idx == ORCHARD_MULTIPART_MAX_PARTS) {
        *reason = g_strdup_printf("the body has more than %d parts",
                                  ORCHARD_MULTIPART_MAX_PARTS);
        return ORCHARD_ETOOBIG;
    }
    orchard_multipart_part *part = &out->parts[idx];
    out->n++; /* counted now so that clear frees what the headers fill */
    int seen_cd = 0, done = 0, rc;
    for (int lines = 0; !done; lines++) {
        if (lines > ORCHARD_MULTIPART_MAX_HEADERS) {
            *reason = g_strdup_printf("part %zu has more than %d header lines", idx + 1,
                                      ORCHARD_MULTIPART_MAX_HEADERS);
            return ORCHARD_ETOOBIG;
        }
        if ((rc = read_header(c, idx, part, &seen_cd, &done, reason)))
            return rc;
    }
    if (!part->name) {
        *reason = g_strdup_printf("part %zu has no Content-Disposition: form-data; name=...",
                                  idx + 1);
        return ORCHARD_EINVAL;
    }
    for (size_t i = 0; i < idx; i++)
        if (strcmp(out->parts[i].name, part->name) == 0) {
            *reason = g_strdup_printf("the field \"%s\" is sent twice", part->name);
            return ORCHARD_EINVAL;
        }
    /* The blank line's CRLF was the header block's end; the data runs to
     * the next CRLF "--" boundary, which may follow at once (empty data). */
    const unsigned char *found = memmem(c->p, (size_t)(c->end - c->p), c->delim, c->delim_len);
    if (!found) {
        *reason = g_strdup_printf("part %zu (\"%s\") is truncated: the body ends before its "
                                  "closing boundary", idx + 1, part->name);
        return ORCHARD_EINVAL;
    }
    part->data = c->p;
    part->len = (size_t)(found - c->p);
    c->p = found + c->delim_len;
    rc = after_boundary(c, reason);
    if (rc < 0)
        return rc;
    *closed = rc;
    return 0;
}

int orchard_multipart_parse(const char *content_type, const void *body, size_t len,
                            orchard_multipart *out, char **reason)
{
    g_autofree char *boundary = NULL, *delim = NULL;
    memset(out, 0, sizeof *out);
    *reason = NULL;
    int rc = orchard_multipart_boundary(content_type, &boundary, reason);
    if (rc)
        return rc;
    if (!body || len == 0) {
        *reason = g_strdup("the multipart body is empty");
        return ORCHARD_EINVAL;
    }
    delim = g_strconcat("\r\n--", boundary, NULL);
    cursor c = {.p = body, .end = (const unsigned char *)body + len, .delim = delim,
                .delim_len = strlen(delim)};
    /* The first boundary opens the body or ends a preamble's last line. */
    if (len >= c.delim_len - 2 && memcmp(c.p, delim + 2, c.delim_len - 2) == 0) {
        c.p += c.delim_len - 2;
    } else {
        const unsigned char *found = memmem(c.p, len, delim, c.delim_len);
        if (!found) {
            *reason = g_strdup("the body never opens with the boundary the Content-Type names");
            return ORCHARD_EINVAL;
        }
        c.p = found + c.delim_len;
    }
    int closed = after_boundary(&c, reason);
    if (closed < 0)
        return closed;
    if (closed) {
        *reason = g_strdup("the multipart body holds no part");
        return ORCHARD_EINVAL;
    }
    while (!closed)
        if ((rc = read_part(&c, out, &closed, reason))) {
            orchard_multipart_clear(out);
            return rc;
        }
    return 0;
}

const orchard_multipart_part *orchard_multipart_get(const orchard_multipart *m, const char *name)
{
    for (size_t i = 0; m && i < m->n; i++)
        if (m->parts[i].name && strcmp(m->parts[i].name, name) == 0)
            return &m->parts[i];
    return NULL;
}

void orchard_multipart_clear(orchard_multipart *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        g_free(m->parts[i].name);
        g_free(m->parts[i].filename);
        g_free(m->parts[i].content_type);
    }
    memset(m, 0, sizeof *m);
}
