/* Rendering a compiled template (web_template_priv.h's op list) with a
 * jansson context into HTML: names are looked up from the innermost context
 * outward, every value is escaped, and the output and the partials' depth
 * are capped so no data or template can make a page without bound. */
#include "server_plugin/web/web_template_priv.h"

#include <orchard/plugin.h>

#include <string.h>

/* The context stack: a section pushes a frame on the C stack. */
typedef struct frame {
    json_t *v;
    const struct frame *up;
} frame;

typedef struct render {
    const orchard_web_templates *set;
    GString *out;
    size_t start;    /* out->len before the render */
    int partials;    /* partials entered so far, nested */
    size_t steps;    /* ops run: nested sections over arrays multiply them */
    char *reason;
} render;

void orchard_web_escape(GString *out, const char *s, size_t len)
{
    size_t run = 0;

    for (size_t i = 0; i < len; i++) {
        const char *ref = NULL;
        switch (s[i]) {
        case '&': ref = "&amp;"; break;
        case '<': ref = "&lt;"; break;
        case '>': ref = "&gt;"; break;
        case '"': ref = "&quot;"; break;
        case '\'': ref = "&#39;"; break;
        case '`': ref = "&#96;"; break;
        case '=': ref = "&#61;"; break;
        case '\0': ref = "&#65533;"; break; /* as browsers read a NUL: U+FFFD */
        default: continue;
        }
        g_string_append_len(out, s + run, (gssize)(i - run));
        g_string_append(out, ref);
        run = i + 1;
    }
    g_string_append_len(out, s + run, (gssize)(len - run));
}

G_GNUC_PRINTF(5, 6)
static int fail(render *r, int code, const web_template *t, const web_op *op,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!r->reason)
        r->reason = op ? g_strdup_printf("%s:%u:%u: %s", t->name, op->line, op->col, what)
                       : g_strdup_printf("%s: %s", t->name, what);
    return code;
}

/* After each append: the cap counts this render's bytes only. */
static int check_cap(render *r, const web_template *t, const web_op *op)
{
    if (r->out->len - r->start <= ORCHARD_WEB_TEMPLATE_MAX_OUTPUT)
        return 0;
    return fail(r, ORCHARD_ETOOBIG, t, op, "the page is over %u bytes",
                ORCHARD_WEB_TEMPLATE_MAX_OUTPUT);
}

/* Mustache's lookup: the first segment from the innermost frame outward,
 * the rest inside what it found (never outward again). */
static json_t *lookup(const frame *f, char *const *path)
{
    json_t *v = NULL;

    if (!path[0])
        return f->v;
    for (; f && !v; f = f->up)
        v = json_is_object(f->v) ? json_object_get(f->v, path[0]) : NULL;
    for (size_t i = 1; v && path[i]; i++)
        v = json_is_object(v) ? json_object_get(v, path[i]) : NULL;
    return v;
}

static int truthy(const json_t *v)
{
    if (!v) /* missing; json_typeof does not take NULL */
        return 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT: return 1;
    case JSON_ARRAY: return json_array_size(v) > 0;
    case JSON_STRING: return json_string_length(v) > 0;
    case JSON_INTEGER: return json_integer_value(v) != 0;
    case JSON_REAL: return json_real_value(v) != 0.0;
    case JSON_TRUE: return 1;
    default: return 0;
    }
}

/* A value as text: objects and arrays print nothing, as null does. */
static void put_value(GString *out, const json_t *v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    if (json_is_string(v)) {
        orchard_web_escape(out, json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v)) {
        g_string_append_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        /* Locale-free, and short for the values pages show (1.5, not 1.50000000000000000). */
        g_string_append(out, g_ascii_formatd(buf, sizeof buf, "%.15g", json_real_value(v)));
    } else if (json_is_true(v)) {
        g_string_append(out, "true");
    } else if (json_is_false(v)) {
        g_string_append(out, "false");
    }
}

static int render_ops(render *r, const web_template *t, size_t from, size_t to, const frame *f);

/* One op or one array element more. Sections over arrays nest, and may
 * print nothing: without this count, 32 of them over 1,000 elements would
 * loop for ever under the output cap. */
static int step(render *r, const web_template *t, const web_op *op)
{
    if (++r->steps <= ORCHARD_WEB_TEMPLATE_MAX_STEPS)
        return 0;
    return fail(r, ORCHARD_ETOOBIG, t, op, "over %u steps (sections over arrays nested too "
                "deep)", ORCHARD_WEB_TEMPLATE_MAX_STEPS);
}

static int section(render *r, const web_template *t, const web_op *op, size_t i, const frame *f)
{
    json_t *v = lookup(f, op->path);

    if (op->kind == WEB_OP_INVERTED)
        return truthy(v) ? 0 : render_ops(r, t, i + 1, op->end, f);
    if (!truthy(v))
        return 0;
    if (!json_is_array(v)) {
        frame child = {.v = v, .up = f};
        return render_ops(r, t, i + 1, op->end, &child);
    }
    size_t k;
    json_t *el;
    json_array_foreach(v, k, el) {
        frame child = {.v = el, .up = f};
        int rc = step(r, t, op);
        if (rc == 0)
            rc = render_ops(r, t, i + 1, op->end, &child);
        if (rc)
            return rc;
    }
    return 0;
}

static int partial(render *r, const web_template *t, const web_op *op, const frame *f)
{
    const web_template *p = g_hash_table_lookup(r->set->by_name, op->partial);

    if (!p)
        return fail(r, ORCHARD_ENOTFOUND, t, op, "no template '%s' for the partial",
                    op->partial);
    if (r->partials == ORCHARD_WEB_TEMPLATE_MAX_PARTIALS)
        return fail(r, ORCHARD_ETOOBIG, t, op,
                    "partials nested deeper than %d (does '%s' include itself?)",
                    ORCHARD_WEB_TEMPLATE_MAX_PARTIALS, op->partial);
    r->partials++;
    int rc = render_ops(r, p, 0, p->ops->len, f);
    r->partials--;
    return rc;
}

static int render_ops(render *r, const web_template *t, size_t from, size_t to, const frame *f)
{
    for (size_t i = from; i < to; i++) {
        const web_op *op = &g_array_index(t->ops, web_op, i);
        int rc = 0;
        if (step(r, t, op))
            return ORCHARD_ETOOBIG;
        switch (op->kind) {
        case WEB_OP_TEXT:
            g_string_append_len(r->out, op->text, (gssize)op->len);
            break;
        case WEB_OP_VAR:
            put_value(r->out, lookup(f, op->path));
            break;
        case WEB_OP_SECTION:
        case WEB_OP_INVERTED:
            rc = section(r, t, op, i, f);
            i = op->end - 1; /* the loop's i++ lands after the section */
            break;
        case WEB_OP_PARTIAL:
            rc = partial(r, t, op, f);
            break;
        }
        if (rc == 0)
            rc = check_cap(r, t, op);
        if (rc)
            return rc;
    }
    return 0;
}

int orchard_web_templates_render(const orchard_web_templates *set, const char *name, json_t *data,
                                 GString *out, char **reason)
{
    const web_template *t = set && name ? g_hash_table_lookup(set->by_name, name) : NULL;
    json_t *empty = NULL;
    render r = {.set = set, .out = out, .start = out->len};
    int rc;

    *reason = NULL;
    if (!t) {
        *reason = g_strdup_printf("no template '%s'", name ? name : "(null)");
        return ORCHARD_ENOTFOUND;
    }
    if (!data)
        data = empty = json_object();
    frame root = {.v = data};
    rc = render_ops(&r, t, 0, t->ops->len, &root);
    if (rc) {
        g_string_truncate(out, r.start);
        *reason = r.reason;
        r.reason = NULL;
    }
    json_decref(empty);
    g_free(r.reason);
    return rc;
}
