/* The HTML context of a template's tags, found by a simple state scan of
 * its literal text at compile time (web_template.c): escaping protects a
 * value in text and in quoted attribute values, not in a script, a style,
 * an unquoted attribute or an event handler, so a tag there is refused.
 * It is no HTML parser: docs/ui-templates.md says what it does not catch. */
#include "server_plugin/web/web_template_priv.h"

#include <string.h>

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static void name_add(char *name, size_t *len, char c)
{
    /* A long name is kept truncated and marked too long, so it matches none
     * of the short names checked below yet keeps its prefix ("on..."). */
    if (*len < WEB_HTML_NAME_MAX - 1) {
        name[*len] = g_ascii_tolower(c);
        name[++*len] = '\0';
    } else {
        *len = WEB_HTML_NAME_MAX;
    }
}

static int name_is(const char *name, size_t len, const char *want)
{
    return len < WEB_HTML_NAME_MAX && strcmp(name, want) == 0;
}

/* The '>' that ends a tag: the elements whose content is not markup. */
static void tag_end(web_html *h)
{
    h->state = WEB_HTML_TEXT;
    if (h->end_tag)
        return;
    if (name_is(h->tag, h->tag_len, "script") || name_is(h->tag, h->tag_len, "style"))
        h->state = WEB_HTML_RAWTEXT;
    else if (name_is(h->tag, h->tag_len, "title") || name_is(h->tag, h->tag_len, "textarea"))
        h->state = WEB_HTML_RCDATA;
    if (h->state != WEB_HTML_TEXT)
        memcpy(h->raw, h->tag, sizeof h->raw);
}

static void tag_start(web_html *h, int end_tag)
{
    h->state = WEB_HTML_TAG_NAME;
    h->end_tag = end_tag;
    h->tag_len = 0;
    h->tag[0] = '\0';
}

static void attr_start(web_html *h, char c)
{
    h->state = WEB_HTML_ATTR_NAME;
    h->attr_len = 0;
    h->attr[0] = '\0';
    name_add(h->attr, &h->attr_len, c);
}

/* In RAWTEXT/RCDATA: does s[i..n) start the end tag of the element? */
static size_t raw_end_at(const web_html *h, const char *s, size_t i, size_t n)
{
    size_t rl = strlen(h->raw);

    if (n - i < 2 + rl + 1 || s[i] != '<' || s[i + 1] != '/' ||
        g_ascii_strncasecmp(s + i + 2, h->raw, rl) != 0)
        return 0;
    char after = s[i + 2 + rl];
    return is_space(after) || after == '>' || after == '/' ? 2 + rl : 0;
}

/* TEXT: a '<' at s[i]; returns how many bytes it took. */
static size_t text_lt(web_html *h, const char *s, size_t i, size_t n)
{
    if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
        /* "<!-->" and "<!--->" are whole (empty) comments to a browser. */
        if (n - i >= 5 && s[i + 4] == '>')
            return 5;
        if (n - i >= 6 && s[i + 4] == '-' && s[i + 5] == '>')
            return 6;
        h->state = WEB_HTML_COMMENT;
        h->dashes = 0;
        h->bang = 0;
        return 4;
    }
    if (i + 1 < n && g_ascii_isalpha(s[i + 1])) {
        tag_start(h, 0);
        return 1;
    }
    if (i + 2 < n && s[i + 1] == '/' && g_ascii_isalpha(s[i + 2])) {
        tag_start(h, 1);
        return 2;
    }
    if (i + 1 < n && (s[i + 1] == '!' || s[i + 1] == '?')) {
        h->state = WEB_HTML_DECL;
        return 2;
    }
    if (i + 1 == n || (i + 2 == n && s[i + 1] == '/')) {
        /* A tag follows ("<{{name}}>"): what it prints names an element. */
        tag_start(h, i + 1 < n);
        return n - i;
    }
    return 1; /* a '<' that opens nothing is text */
}

void web_html_feed(web_html *h, const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        char c = s[i];
        size_t step = 1;

        switch (h->state) {
        case WEB_HTML_TEXT:
            if (c == '<')
                step = text_lt(h, s, i, n);
            break;
        case WEB_HTML_TAG_NAME:
            if (is_space(c) || c == '/')
                h->state = WEB_HTML_IN_TAG;
            else if (c == '>')
                tag_end(h);
            else
                name_add(h->tag, &h->tag_len, c);
            break;
        case WEB_HTML_IN_TAG:
            if (c == '>')
                tag_end(h);
            else if (!is_space(c) && c != '/')
                attr_start(h, c);
            break;
        case WEB_HTML_ATTR_NAME:
            if (c == '=')
                h->state = WEB_HTML_BEFORE_VALUE;
            else if (is_space(c))
                h->state = WEB_HTML_AFTER_ATTR;
            else if (c == '>')
                tag_end(h);
            else if (c == '/')
                h->state = WEB_HTML_IN_TAG;
            else
                name_add(h->attr, &h->attr_len, c);
            break;
        case WEB_HTML_AFTER_ATTR:
            if (c == '=')
                h->state = WEB_HTML_BEFORE_VALUE;
            else if (c == '>')
                tag_end(h);
            else if (c == '/')
                h->state = WEB_HTML_IN_TAG;
            else if (!is_space(c))
                attr_start(h, c);
            break;
        case WEB_HTML_BEFORE_VALUE:
            h->value_pos = 0;
            if (c == '"')
                h->state = WEB_HTML_VALUE_DQ;
            else if (c == '\'')
                h->state = WEB_HTML_VALUE_SQ;
            else if (c == '>')
                tag_end(h);
            else if (!is_space(c))
                h->state = WEB_HTML_VALUE_UQ;
            break;
        case WEB_HTML_VALUE_DQ:
        case WEB_HTML_VALUE_SQ:
            if (c == (h->state == WEB_HTML_VALUE_DQ ? '"' : '\''))
                h->state = WEB_HTML_IN_TAG;
            else if ((unsigned char)c > ' ')
                h->value_pos++; /* a browser strips a URL's leading spaces and controls */
            break;
        case WEB_HTML_VALUE_UQ:
            if (is_space(c))
                h->state = WEB_HTML_IN_TAG;
            else if (c == '>')
                tag_end(h);
            break;
        case WEB_HTML_COMMENT:
            /* "-->" ends it, and so does "--!>" for a browser. */
            if (c == '>' && (h->dashes >= 2 || h->bang))
                h->state = WEB_HTML_TEXT;
            h->bang = c == '!' && h->dashes >= 2;
            h->dashes = c == '-' ? h->dashes + 1 : 0;
            break;
        case WEB_HTML_DECL:
            if (c == '>')
                h->state = WEB_HTML_TEXT;
            break;
        case WEB_HTML_RAWTEXT:
        case WEB_HTML_RCDATA:
            if (c == '<' && (step = raw_end_at(h, s, i, n)) > 0) {
                tag_start(h, 1);
                memcpy(h->tag, h->raw, sizeof h->tag);
                h->tag_len = strlen(h->tag);
            } else {
                step = 1;
            }
            break;
        }
        i += step;
    }
}

/* Attributes whose value the browser runs or fetches. */
static int attr_is_url(const web_html *h)
{
    static const char *const urls[] = {"href", "src", "action", "formaction", "poster",
                                       "cite", "data", "srcset", "ping", "background",
                                       "manifest", "codebase", "xlink:href"};
    for (size_t i = 0; i < G_N_ELEMENTS(urls); i++)
        if (name_is(h->attr, h->attr_len, urls[i]))
            return 1;
    return 0;
}

const char *web_html_refuse(const web_html *h, char sigil)
{
    int value = sigil == 0;

    switch (h->state) {
    case WEB_HTML_TEXT:
        return NULL;
    case WEB_HTML_COMMENT:
    case WEB_HTML_RCDATA:
        return sigil == '>' ? "a partial must stand in text, outside any tag" : NULL;
    case WEB_HTML_RAWTEXT:
        return "a tag inside <script> or <style>, where escaping does not protect";
    case WEB_HTML_BEFORE_VALUE:
    case WEB_HTML_VALUE_UQ:
        return "a tag in an unquoted attribute value: quote the attribute";
    case WEB_HTML_VALUE_DQ:
    case WEB_HTML_VALUE_SQ:
        if (sigil == '>')
            return "a partial must stand in text, outside any tag";
        if (!value)
            return NULL;
        if (h->attr_len >= 2 && h->attr[0] == 'o' && h->attr[1] == 'n')
            return "a value in an event handler attribute (on...), which runs as script";
        if (name_is(h->attr, h->attr_len, "style"))
            return "a value in a style attribute, which is read as CSS";
        if (name_is(h->attr, h->attr_len, "srcdoc"))
            return "a value in a srcdoc attribute, which is read as a document";
        if (attr_is_url(h) && h->value_pos == 0)
            return "a value at the start of a URL attribute: begin the value with literal "
                   "text (\"/hosts/{{uuid}}\") so the template fixes the scheme";
        return NULL;
    case WEB_HTML_TAG_NAME:
    case WEB_HTML_IN_TAG:
    case WEB_HTML_ATTR_NAME:
    case WEB_HTML_AFTER_ATTR:
    case WEB_HTML_DECL:
        if (sigil == '>')
            return "a partial must stand in text, outside any tag";
        return value ? "a value inside a tag but outside a quoted attribute value" : NULL;
    }
    return NULL;
}

static int between_attributes(web_html_state s)
{
    return s == WEB_HTML_IN_TAG || s == WEB_HTML_ATTR_NAME || s == WEB_HTML_AFTER_ATTR;
}

int web_html_same_context(const web_html *a, const web_html *b)
{
    /* Between attributes, in a name or after it: one context, so a section
     * may switch an attribute on ("<input {{#c}}checked{{/c}}>"). */
    int same = a->state == b->state ||
               (between_attributes(a->state) && between_attributes(b->state));
    if (!same)
        return 0;
    switch (a->state) {
    case WEB_HTML_VALUE_DQ:
    case WEB_HTML_VALUE_SQ:
    case WEB_HTML_VALUE_UQ:
    case WEB_HTML_BEFORE_VALUE:
        /* Another attribute's value: what follows may land in either. */
        if (a->attr_len != b->attr_len || strcmp(a->attr, b->attr) != 0)
            return 0;
        /* fall through */
    case WEB_HTML_TAG_NAME:
    case WEB_HTML_IN_TAG:
    case WEB_HTML_ATTR_NAME:
    case WEB_HTML_AFTER_ATTR:
        return a->tag_len == b->tag_len && strcmp(a->tag, b->tag) == 0;
    case WEB_HTML_RAWTEXT:
    case WEB_HTML_RCDATA:
        return strcmp(a->raw, b->raw) == 0;
    default:
        return 1;
    }
}
