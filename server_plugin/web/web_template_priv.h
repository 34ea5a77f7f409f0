/* What the template compiler (web_template.c) hands the renderer
 * (web_render.c): a template as a flat list of ops over its own copy of
 * the source. Private to server_plugin/web/. */
#ifndef ORCHARD_SERVER_WEB_TEMPLATE_PRIV_H
#define ORCHARD_SERVER_WEB_TEMPLATE_PRIV_H

#include "server_plugin/web/web_template.h"

typedef enum web_op_kind {
    WEB_OP_TEXT,     /* text: copied as written */
    WEB_OP_VAR,      /* {{a.b}}: escaped value */
    WEB_OP_SECTION,  /* {{#a}} ... {{/a}}: ops up to `end`, per element / once / never */
    WEB_OP_INVERTED, /* {{^a}} ... {{/a}}: ops up to `end` when the section would not render */
    WEB_OP_PARTIAL,  /* {{> name}}: another template of the set, same context */
} web_op_kind;

typedef struct web_op {
    web_op_kind kind;
    unsigned line, col;  /* of the tag, for render-time errors */
    const char *text;    /* TEXT: into web_template.src */
    size_t len;
    char **path;         /* VAR, SECTION, INVERTED: the name's segments; "." is an empty vector */
    char *partial;       /* PARTIAL: the template's name */
    size_t end;          /* SECTION, INVERTED: index of the first op after the section */
} web_op;

typedef struct web_template {
    char *name;
    char *src;   /* the source, owned, NUL-terminated */
    GArray *ops; /* web_op */
} web_template;

struct orchard_web_templates {
    GHashTable *by_name; /* char * -> web_template * */
};

/* The HTML context the compiler tracks over a template's literal text
 * (web_html_context.c), to refuse tags where escaping cannot protect. */
typedef enum web_html_state {
    WEB_HTML_TEXT,         /* between tags */
    WEB_HTML_TAG_NAME,     /* <div| */
    WEB_HTML_IN_TAG,       /* <div | > between attributes */
    WEB_HTML_ATTR_NAME,    /* <div cla|ss */
    WEB_HTML_AFTER_ATTR,   /* <div class |= */
    WEB_HTML_BEFORE_VALUE, /* <div class=| */
    WEB_HTML_VALUE_DQ,     /* <div class="| */
    WEB_HTML_VALUE_SQ,     /* <div class='| */
    WEB_HTML_VALUE_UQ,     /* <div class=a| */
    WEB_HTML_COMMENT,      /* <!-- | */
    WEB_HTML_DECL,         /* <!DOCTYPE | or <? | */
    WEB_HTML_RAWTEXT,      /* inside <script> or <style> */
    WEB_HTML_RCDATA,       /* inside <title> or <textarea>: text, no tags */
} web_html_state;

#define WEB_HTML_NAME_MAX 16

typedef struct web_html {
    web_html_state state;
    char tag[WEB_HTML_NAME_MAX];  /* lower case, truncated; the element being read */
    size_t tag_len;
    int end_tag;                  /* reading </tag> */
    char raw[WEB_HTML_NAME_MAX];  /* RAWTEXT/RCDATA: the element whose end tag ends it */
    char attr[WEB_HTML_NAME_MAX]; /* lower case, truncated; the attribute being read */
    size_t attr_len;
    size_t value_pos;             /* literal bytes of the quoted value so far, spaces not counted */
    int dashes;                   /* COMMENT: '-' just before */
    int bang;                     /* COMMENT: "--!" just before */
} web_html;

/* Advance the state over `n` bytes of literal template text. */
void web_html_feed(web_html *h, const char *s, size_t n);

/* Whether a section's end stands in the context its start stood in. */
int web_html_same_context(const web_html *a, const web_html *b);

/* Where a tag of kind `sigil` ('#', '^', '/', '>', or 0 for a value) may
 * not stand in state h: NULL when it may, else why not (static text). */
const char *web_html_refuse(const web_html *h, char sigil);

#endif
