/* The template compiler and the set of compiled templates (web_template.h):
 * a page's template is parsed once, at start, into a flat op list that
 * web_render.c walks for every request. Every refusal names the template,
 * the line and the column, as the author must fix the file. */
#include "server_plugin/web/web_template_priv.h"
#include "server_plugin/web/web_assets.h"

#include <orchard/plugin.h>

#include <string.h>

/* One open section while compiling. */
typedef struct open_section {
    size_t op;          /* its op's index */
    const char *name;   /* as written, for the close to match */
    size_t name_len;
    web_html html;      /* the HTML context it opened in */
} open_section;

typedef struct compiler {
    web_template *t;
    const char *src;
    size_t len;
    size_t line_off, line_start; /* line/column cursor: moves forward only */
    unsigned line;
    open_section stack[ORCHARD_WEB_TEMPLATE_MAX_DEPTH];
    size_t depth;
    web_html html;
    char *reason;
} compiler;

static void op_clear(web_op *op)
{
    g_strfreev(op->path);
    g_free(op->partial);
}

static void template_free(web_template *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->ops && i < t->ops->len; i++)
        op_clear(&g_array_index(t->ops, web_op, i));
    if (t->ops)
        g_array_free(t->ops, TRUE);
    g_free(t->src);
    g_free(t->name);
    g_free(t);
}

/* Line and column (1-based, bytes) of `off`, which never goes backwards. */
static void where(compiler *c, size_t off, unsigned *line, unsigned *col)
{
    for (; c->line_off < off; c->line_off++) {
        if (c->src[c->line_off] == '\n') {
            c->line++;
            c->line_start = c->line_off + 1;
        }
    }
    *line = c->line;
    *col = (unsigned)(off - c->line_start + 1);
}

G_GNUC_PRINTF(5, 6)
static int fail(compiler *c, int code, unsigned line, unsigned col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_free(c->reason);
    c->reason = g_strdup_printf("%s:%u:%u: %s", c->t->name, line, col, what);
    return code;
}

static void add_op(compiler *c, web_op op)
{
    g_array_append_val(c->t->ops, op);
}

static void add_text(compiler *c, size_t from, size_t to)
{
    if (to <= from)
        return;
    unsigned line, col;
    where(c, from, &line, &col);
    web_html_feed(&c->html, c->t->src + from, to - from);
    add_op(c, (web_op){.kind = WEB_OP_TEXT, .line = line, .col = col, .text = c->t->src + from,
                       .len = to - from});
}

static int name_char(char ch)
{
    return g_ascii_isalnum(ch) || ch == '_' || ch == '-';
}

/* "a.b.c" into its segments, "." into an empty vector; NULL when it is no name. */
static char **parse_path(const char *s, size_t n)
{
    if (n == 1 && s[0] == '.')
        return g_new0(char *, 1);
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i]) && !(s[i] == '.' && s[i + 1] != '.'))
            return NULL;
    g_autofree char *copy = g_strndup(s, n);
    return g_strsplit(copy, ".", -1);
}

static void trim(const char **s, size_t *n)
{
    while (*n && g_ascii_isspace(**s))
        (*s)++, (*n)--;
    while (*n && g_ascii_isspace((*s)[*n - 1]))
        (*n)--;
}

/* The name after a sigil, checked; 0 or a failure already reported. */
static int tag_name(compiler *c, const char *s, size_t n, unsigned line, unsigned col,
                    char ***path)
{
    trim(&s, &n);
    if (n > ORCHARD_WEB_TEMPLATE_MAX_NAME)
        return fail(c, ORCHARD_ETOOBIG, line, col, "a tag name over %u bytes",
                    ORCHARD_WEB_TEMPLATE_MAX_NAME);
    *path = parse_path(s, n);
    if (!*path)
        return fail(c, ORCHARD_EINVAL, line, col,
                    "unknown tag form '{{%.*s}}': a name is letters, digits, '_' and '-', "
                    "dotted (a.b), or '.'", (int)MIN(n, 40u), s);
    return 0;
}

static int open_tag(compiler *c, web_op_kind kind, const char *s, size_t n, unsigned line,
                    unsigned col)
{
    char **path = NULL;
    int rc = tag_name(c, s, n, line, col, &path);
    if (rc)
        return rc;
    if (c->depth == ORCHARD_WEB_TEMPLATE_MAX_DEPTH) {
        g_strfreev(path);
        return fail(c, ORCHARD_ETOOBIG, line, col, "sections nested deeper than %d",
                    ORCHARD_WEB_TEMPLATE_MAX_DEPTH);
    }
    trim(&s, &n);
    c->stack[c->depth++] = (open_section){
        .op = c->t->ops->len, .name = s, .name_len = n, .html = c->html};
    add_op(c, (web_op){.kind = kind, .line = line, .col = col, .path = path});
    return 0;
}

static int close_tag(compiler *c, const char *s, size_t n, unsigned line, unsigned col)
{
    trim(&s, &n);
    if (c->depth == 0)
        return fail(c, ORCHARD_EINVAL, line, col, "'{{/%.*s}}' closes no open section",
                    (int)MIN(n, 40u), s);
    open_section *o = &c->stack[c->depth - 1];
    web_op *op = &g_array_index(c->t->ops, web_op, o->op);
    if (n != o->name_len || memcmp(s, o->name, n) != 0)
        return fail(c, ORCHARD_EINVAL, line, col,
                    "'{{/%.*s}}' does not match the open section '%.*s' (line %u, column %u)",
                    (int)MIN(n, 40u), s, (int)o->name_len, o->name, op->line, op->col);
    if (!web_html_same_context(&c->html, &o->html))
        return fail(c, ORCHARD_EINVAL, line, col,
                    "section '%.*s' (line %u, column %u) ends in another HTML context than "
                    "it opened in (a tag or quote opened or closed inside it)",
                    (int)o->name_len, o->name, op->line, op->col);
    /* The section may render nothing: what follows may stand where the
     * section began (the start of a URL attribute, say). */
    c->html.value_pos = MIN(c->html.value_pos, o->html.value_pos);
    op->end = c->t->ops->len;
    c->depth--;
    return 0;
}

static int partial_tag(compiler *c, const char *s, size_t n, unsigned line, unsigned col)
{
    trim(&s, &n);
    int ok = n > 0 && n <= ORCHARD_WEB_TEMPLATE_MAX_NAME;
    for (size_t i = 0; ok && i < n; i++)
        ok = name_char(s[i]);
    if (!ok)
        return fail(c, ORCHARD_EINVAL, line, col,
                    "unknown tag form '{{>%.*s}}': a partial is a template's name "
                    "(letters, digits, '_' and '-')", (int)MIN(n, 40u), s);
    add_op(c, (web_op){.kind = WEB_OP_PARTIAL, .line = line, .col = col,
                       .partial = g_strndup(s, n)});
    return 0;
}

/* One tag: `s` is between "{{" and "}}". */
static int tag(compiler *c, const char *s, size_t n, unsigned line, unsigned col)
{
    trim(&s, &n);
    char sigil = n ? s[0] : 0;
    if (sigil == '!')
        return 0;
    if (sigil == '{' || sigil == '&')
        return fail(c, ORCHARD_EINVAL, line, col,
                    "'{{%c' (output without escaping) is not supported: every value is "
                    "escaped (docs/ui-templates.md)", sigil);
    if (sigil == '=')
        return fail(c, ORCHARD_EINVAL, line, col,
                    "'{{=' (changing the delimiters) is not supported");
    int is_value = !(sigil == '#' || sigil == '^' || sigil == '/' || sigil == '>');
    const char *why = web_html_refuse(&c->html, is_value ? 0 : sigil);
    if (why)
        return fail(c, ORCHARD_EINVAL, line, col, "%s", why);
    switch (sigil) {
    case '#':
        return open_tag(c, WEB_OP_SECTION, s + 1, n - 1, line, col);
    case '^':
        return open_tag(c, WEB_OP_INVERTED, s + 1, n - 1, line, col);
    case '/':
        return close_tag(c, s + 1, n - 1, line, col);
    case '>':
        return partial_tag(c, s + 1, n - 1, line, col);
    }
    char **path = NULL;
    int rc = tag_name(c, s, n, line, col, &path);
    if (rc == 0)
        add_op(c, (web_op){.kind = WEB_OP_VAR, .line = line, .col = col, .path = path});
    return rc;
}

/* The whole source: text and tags in order, then no section left open. */
static int compile(compiler *c)
{
    const char *src = c->t->src;
    size_t pos = 0, len = c->len;
    unsigned line, col;
    int rc;

    while (pos < len) {
        const char *open = memmem(src + pos, len - pos, "{{", 2);
        if (!open) {
            add_text(c, pos, len);
            break;
        }
        size_t t = (size_t)(open - src);
        add_text(c, pos, t);
        where(c, t, &line, &col);
        const char *close = memmem(src + t + 2, len - t - 2, "}}", 2);
        if (!close)
            return fail(c, ORCHARD_EINVAL, line, col, "'{{' without a closing '}}'");
        rc = tag(c, src + t + 2, (size_t)(close - src) - t - 2, line, col);
        if (rc)
            return rc;
        pos = (size_t)(close - src) + 2;
    }
    if (c->depth > 0) {
        const open_section *o = &c->stack[c->depth - 1];
        const web_op *op = &g_array_index(c->t->ops, web_op, o->op);
        return fail(c, ORCHARD_EINVAL, op->line, op->col, "section '%.*s' is never closed",
                    (int)o->name_len, o->name);
    }
    /* A partial is checked alone from text on, so it must give text back. */
    if (c->html.state != WEB_HTML_TEXT) {
        where(c, len, &line, &col);
        return fail(c, ORCHARD_EINVAL, line, col,
                    "the template ends inside a tag, a comment, or an element such as "
                    "<script>, <style>, <title> or <textarea>");
    }
    return 0;
}

/* A NUL byte or invalid UTF-8 stops compilation where it stands. */
static int check_bytes(compiler *c)
{
    const char *end = NULL;
    unsigned line, col;
    const char *nul = memchr(c->src, '\0', c->len);

    if (!g_utf8_validate_len(c->src, nul ? (gssize)(nul - c->src) : (gssize)c->len, &end)) {
        where(c, (size_t)(end - c->src), &line, &col);
        return fail(c, ORCHARD_EINVAL, line, col, "not UTF-8");
    }
    if (nul) {
        where(c, (size_t)(nul - c->src), &line, &col);
        return fail(c, ORCHARD_EINVAL, line, col, "a NUL byte");
    }
    return 0;
}

int orchard_web_templates_add(orchard_web_templates *set, const char *name, const char *src,
                              size_t len, char **reason)
{
    web_template *t = g_new0(web_template, 1);
    compiler c = {.t = t, .src = src, .len = len, .line = 1};
    int rc;

    *reason = NULL;
    t->name = g_strdup(name ? name : "(unnamed)");
    t->ops = g_array_new(FALSE, TRUE, sizeof(web_op));
    if (!src && len > 0) {
        rc = fail(&c, ORCHARD_EINVAL, 1, 1, "no source");
        goto cleanup;
    }
    if (len > ORCHARD_WEB_TEMPLATE_MAX_BYTES) {
        rc = fail(&c, ORCHARD_ETOOBIG, 1, 1, "%zu bytes, over the %u-byte cap", len,
                  ORCHARD_WEB_TEMPLATE_MAX_BYTES);
        goto cleanup;
    }
    /* Copied by length: a NUL inside must reach check_bytes. */
    t->src = g_malloc(len + 1);
    if (len)
        memcpy(t->src, src, len);
    t->src[len] = '\0';
    c.src = t->src;
    rc = check_bytes(&c);
    if (rc == 0)
        rc = compile(&c);
    if (rc)
        goto cleanup;
    g_hash_table_replace(set->by_name, t->name, t);
    return 0;

cleanup:
    *reason = c.reason;
    template_free(t);
    return rc;
}

orchard_web_templates *orchard_web_templates_new(void)
{
    orchard_web_templates *set = g_new0(orchard_web_templates, 1);
    /* The key is the template's own name, freed with it. */
    set->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify)template_free);
    return set;
}

void orchard_web_templates_free(orchard_web_templates *set)
{
    if (!set)
        return;
    g_hash_table_destroy(set->by_name);
    g_free(set);
}

int orchard_web_templates_has(const orchard_web_templates *set, const char *name)
{
    return set && name && g_hash_table_contains(set->by_name, name);
}

int orchard_web_templates_add_embedded(orchard_web_templates *set, char **reason)
{
    static const char prefix[] = "templates/", suffix[] = ".html";

    *reason = NULL;
    for (size_t i = 0; i < orchard_web_assets_count; i++) {
        const orchard_web_asset_entry *e = &orchard_web_assets[i];
        size_t n = strlen(e->name);
        if (!g_str_has_prefix(e->name, prefix) || !g_str_has_suffix(e->name, suffix) ||
            strchr(e->name + sizeof prefix - 1, '/'))
            continue;
        g_autofree char *name = g_strndup(e->name + sizeof prefix - 1,
                                          n - (sizeof prefix - 1) - (sizeof suffix - 1));
        int rc = orchard_web_templates_add(set, name, (const char *)e->data, e->len, reason);
        if (rc)
            return rc;
    }
    return 0;
}
