/* The admin pages' template engine: a small, always-escaping Mustache subset
 * over jansson values (docs/ui-templates.md). A page builds a json_t, often
 * the very JSON its API route answers, and renders a template compiled once
 * at start from the embedded files (web_assets.h) into HTML. */
#ifndef ORCHARD_SERVER_WEB_TEMPLATE_H
#define ORCHARD_SERVER_WEB_TEMPLATE_H

#include <glib.h>
#include <jansson.h>
#include <stddef.h>

/** The largest template source (bytes). */
#define ORCHARD_WEB_TEMPLATE_MAX_BYTES (256u * 1024u)
/** The deepest nesting of sections in one template. */
#define ORCHARD_WEB_TEMPLATE_MAX_DEPTH 32
/** The deepest chain of partials ({{> a}} in a template {{> b}} includes ...). */
#define ORCHARD_WEB_TEMPLATE_MAX_PARTIALS 8
/** The longest tag name, dots included (bytes). */
#define ORCHARD_WEB_TEMPLATE_MAX_NAME 128
/** The most ops one render may run (each text, value, section and element). */
#define ORCHARD_WEB_TEMPLATE_MAX_STEPS (8u * 1024u * 1024u)
/** The most output one render may add (bytes). */
#define ORCHARD_WEB_TEMPLATE_MAX_OUTPUT (4u * 1024u * 1024u)

/**
 * A set of compiled templates, by name; partials resolve within the set.
 * Filled before use, then only read: renders on several threads at once
 * are safe once nothing is added any more.
 */
typedef struct orchard_web_templates orchard_web_templates;

/** An empty set (never NULL). Free with orchard_web_templates_free. */
orchard_web_templates *orchard_web_templates_new(void);

/** Free the set and every template in it. NULL is fine. */
void orchard_web_templates_free(orchard_web_templates *set);

/**
 * Compile `src` (`len` bytes, need not end in NUL) as the template `name`
 * and add it to the set, replacing one of the same name. Returns 0, or with
 * *reason (g_free) "NAME:LINE:COLUMN: what" (line and column of the tag,
 * 1-based, column in bytes) and nothing added:
 *   ORCHARD_EINVAL  an unclosed section, a close that does not match, a
 *                   close without a section, `{{` without `}}`, an unknown
 *                   tag form (`{{{x}}}`, `{{&x}}`, `{{=`, a bad name), a
 *                   NUL byte or invalid UTF-8, a tag where escaping cannot
 *                   protect (inside <script>/<style>, an unquoted attribute
 *                   value, an on* or style attribute, the start of a URL
 *                   attribute, a tag's name or attribute name), a section
 *                   that leaves the HTML context it opened in;
 *   ORCHARD_ETOOBIG over ORCHARD_WEB_TEMPLATE_MAX_BYTES, sections nested
 *                   deeper than ORCHARD_WEB_TEMPLATE_MAX_DEPTH, a name
 *                   over ORCHARD_WEB_TEMPLATE_MAX_NAME.
 */
int orchard_web_templates_add(orchard_web_templates *set, const char *name, const char *src,
                              size_t len, char **reason);

/**
 * Compile every embedded templates/NAME.html into the set as NAME (the
 * name partials use: {{> NAME}}). Returns 0, or the first failure of
 * orchard_web_templates_add with its *reason; the set then holds those
 * compiled before it.
 */
int orchard_web_templates_add_embedded(orchard_web_templates *set, char **reason);

/** Whether the set holds a template `name`. */
int orchard_web_templates_has(const orchard_web_templates *set, const char *name);

/**
 * Render the template `name` with `data` as its context (borrowed; NULL is
 * an empty context) and append the HTML to `out`. Every value is
 * HTML-escaped. Returns 0, or with *reason (g_free) and `out` as it was
 * before the call:
 *   ORCHARD_ENOTFOUND no template `name`, or a partial it names is missing;
 *   ORCHARD_ETOOBIG   the output would pass ORCHARD_WEB_TEMPLATE_MAX_OUTPUT,
 *                     the render ORCHARD_WEB_TEMPLATE_MAX_STEPS, or partials nest deeper than
 *                     ORCHARD_WEB_TEMPLATE_MAX_PARTIALS (one includes itself).
 */
int orchard_web_templates_render(const orchard_web_templates *set, const char *name, json_t *data,
                                 GString *out, char **reason);

/**
 * Append `s` (`len` bytes) to `out` escaped for HTML text and quoted
 * attribute values: & < > " ' ` = become character references, and a NUL
 * U+FFFD's (&#65533;). The engine
 * escapes every value with it; pages may use it for a value they write
 * outside a template (a header, say).
 */
void orchard_web_escape(GString *out, const char *s, size_t len);

#endif
