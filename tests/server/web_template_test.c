/* web_template: the admin pages' template engine (server_plugin/web/):
 * every tag form, escaping in text and attributes, lookups, sections,
 * partials, every compile error with its line and column, the HTML context
 * checks, the caps against hostile templates and data, and the embedded
 * files (web_assets.h) as the build made them. */
#include "server_plugin/web/web_assets.h"
#include "server_plugin/web/web_template.h"
#include "tests/suites.h"

#include <orchard/plugin.h>

#include <CUnit/CUnit.h>
#include <glib.h>
#include <string.h>

/* Compile `tpl` as "t" and render it with the JSON `data`; the output, or
 * NULL after reporting why. */
static char *render_len(const char *tpl, size_t len, const char *data)
{
    orchard_web_templates *set = orchard_web_templates_new();
    g_autofree char *reason = NULL;
    json_t *ctx = data ? json_loads(data, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
    GString *out = g_string_new(NULL);
    char *res = NULL;

    CU_ASSERT_FATAL(!data || ctx);
    int rc = orchard_web_templates_add(set, "t", tpl, len, &reason);
    if (rc == 0)
        rc = orchard_web_templates_render(set, "t", ctx, out, &reason);
    if (rc)
        fprintf(stderr, "\n  %s: %d %s\n", tpl, rc, reason ? reason : "(no reason)");
    else
        res = g_strdup(out->str);
    g_string_free(out, TRUE);
    json_decref(ctx);
    orchard_web_templates_free(set);
    return res;
}

static void expect(const char *tpl, const char *data, const char *want)
{
    g_autofree char *got = render_len(tpl, strlen(tpl), data);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  %s with %s:\n  got  \"%s\"\n  want \"%s\"\n", tpl, data, got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
}

/* `tpl` (len bytes) does not compile: `code`, a reason holding `want`. */
static void refused_len(const char *tpl, size_t len, int code, const char *want)
{
    orchard_web_templates *set = orchard_web_templates_new();
    g_autofree char *reason = NULL;
    int rc = orchard_web_templates_add(set, "t", tpl, len, &reason);

    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_FALSE(orchard_web_templates_has(set, "t"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(reason);
    if (rc != code || !strstr(reason, want))
        fprintf(stderr, "\n  %.60s: got %d \"%s\", wanted %d \"%s\"\n", tpl, rc, reason, code,
                want);
    CU_ASSERT_PTR_NOT_NULL(strstr(reason, want));
    orchard_web_templates_free(set);
}

static void refused(const char *tpl, int code, const char *want)
{
    refused_len(tpl, strlen(tpl), code, want);
}

static void test_values(void)
{
    const char *d = "{\"s\":\"hi\",\"i\":-42,\"r\":1.5,\"t\":true,\"f\":false,\"n\":null,"
                    "\"o\":{\"k\":\"v\"},\"a\":[1,2],\"e\":\"\",\"big\":9007199254740993}";
    expect("{{s}}|{{i}}|{{r}}|{{t}}|{{f}}|{{n}}|{{missing}}|{{e}}", d, "hi|-42|1.5|true|false|||");
    expect("[{{o}}][{{a}}]", d, "[][]"); /* objects and arrays print nothing */
    expect("{{big}}", d, "9007199254740993");
    expect("{{ s }} {{\ts\n}}", d, "hi hi");
    expect("a{{! a comment, with {{ and \"quotes\" }}b", d, "ab");
    expect("no tags at all", NULL, "no tags at all");
    expect("", NULL, "");
    expect("{{.}}", "\"top\"", "top");
    expect("{{o.k}}", d, "v");
    expect("{{s}}", "[1]", ""); /* a context that is no object */
    expect("{{under_score-dash9}}", "{\"under_score-dash9\":1}", "1");
}

static void test_escaping(void)
{
    const char *d = "{\"v\":\"a&b<c>d\\\"e'f`g=h\"}";
    const char *esc = "a&amp;b&lt;c&gt;d&quot;e&#39;f&#96;g&#61;h";
    g_autofree char *text = g_strdup_printf("<p>%s</p>", esc);
    g_autofree char *attr = g_strdup_printf("<p title=\"%s\" class='%s'></p>", esc, esc);

    expect("<p>{{v}}</p>", d, text);
    expect("<p title=\"{{v}}\" class='{{v}}'></p>", d, attr);
    expect("<p>{{v}}</p>", "{\"v\":\"<script>alert(1)</script>\"}",
           "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>");
    /* A value cannot close a quoted attribute and start its own. */
    expect("<a title=\"{{v}}\">", "{\"v\":\"x\\\" onmouseover=\\\"alert(1)\"}",
           "<a title=\"x&quot; onmouseover&#61;&quot;alert(1)\">");
    expect("{{v}}", "{\"v\":\"nul\\u0000byte\"}", "nul&#65533;byte");
    expect("{{v}}", "{\"v\":\"\\u00e9t\\u00e9 \\u2603\"}", "\xc3\xa9t\xc3\xa9 \xe2\x98\x83");
    /* Keys are escaped nowhere as they never print; numbers need no escaping. */
    GString *g = g_string_new("keep:");
    orchard_web_escape(g, "<&>", 3);
    CU_ASSERT_STRING_EQUAL(g->str, "keep:&lt;&amp;&gt;");
    g_string_free(g, TRUE);
}

static void test_lookup(void)
{
    const char *d = "{\"x\":\"outer\",\"a\":{\"y\":\"inner\",\"b\":{}},"
                    "\"b\":{\"c\":\"outer c\"},\"list\":[{\"x\":\"one\"},{\"z\":1}]}";
    expect("{{#a}}{{x}}/{{y}}{{/a}}", d, "outer/inner");
    expect("{{#list}}{{x}},{{/list}}", d, "one,outer,");
    expect("{{b.c}}", d, "outer c");
    /* Once the first segment is found, the rest is read there only. */
    expect("{{#a}}[{{b.c}}]{{/a}}", d, "[]");
    expect("{{a.y}}|{{a.b.c}}|{{x.y}}|{{nope.y}}", d, "inner|||");
    expect("{{#a}}{{#b}}{{y}}{{/b}}{{/a}}", d, "inner");
}

static void test_sections(void)
{
    const char *d = "{\"arr\":[\"a\",\"b\"],\"objs\":[{\"n\":1},{\"n\":2}],\"o\":{\"n\":7},"
                    "\"eo\":{},\"t\":true,\"f\":false,\"z\":null,\"ea\":[],\"s\":\"str\","
                    "\"es\":\"\",\"i\":3,\"zero\":0,\"r\":0.5,\"rz\":0.0}";
    expect("{{#arr}}({{.}}){{/arr}}", d, "(a)(b)");
    expect("{{#objs}}{{n}};{{/objs}}", d, "1;2;");
    expect("{{#o}}{{n}}{{/o}}", d, "7");
    expect("{{#eo}}once{{/eo}}", d, "once");
    expect("{{#t}}T{{/t}}{{#f}}F{{/f}}{{#z}}Z{{/z}}{{#missing}}M{{/missing}}", d, "T");
    expect("{{#ea}}E{{/ea}}{{#es}}S{{/es}}{{#zero}}0{{/zero}}{{#rz}}R{{/rz}}", d, "");
    expect("{{#s}}[{{.}}]{{/s}}{{#i}}[{{.}}]{{/i}}{{#r}}[{{.}}]{{/r}}", d, "[str][3][0.5]");
    expect("{{^f}}1{{/f}}{{^z}}2{{/z}}{{^missing}}3{{/missing}}{{^ea}}4{{/ea}}"
           "{{^es}}5{{/es}}{{^zero}}6{{/zero}}{{^rz}}7{{/rz}}", d, "1234567");
    expect("{{^t}}1{{/t}}{{^arr}}2{{/arr}}{{^o}}3{{/o}}{{^eo}}4{{/eo}}{{^s}}5{{/s}}"
           "{{^i}}6{{/i}}", d, "");
    expect("{{#arr}}{{#objs}}{{n}}{{/objs}}{{/arr}}", d, "1212");
    expect("{{#o}}{{^missing}}{{n}}{{/missing}}{{/o}}", d, "7");
    expect("{{# o }}{{ n }}{{/ o }}", d, "7"); /* spaces around the name */
}

/* Attributes a section switches on, comments, titles: what the HTML scan allows. */
static void test_html_allowed(void)
{
    const char *d = "{\"c\":true,\"v\":\"<b>\",\"id\":\"a b\"}";
    expect("<input type=\"checkbox\" {{#c}}checked{{/c}}>", d, "<input type=\"checkbox\" checked>");
    expect("<a href=\"/hosts/{{id}}\">x</a>", d, "<a href=\"/hosts/a b\">x</a>");
    expect("<a href='?q={{id}}'>", d, "<a href='?q=a b'>");
    expect("<title>{{v}}</title><textarea>{{v}}</textarea>", d,
           "<title>&lt;b&gt;</title><textarea>&lt;b&gt;</textarea>");
    expect("<!-- {{v}} --><p>{{v}}</p>", d, "<!-- &lt;b&gt; --><p>&lt;b&gt;</p>");
    expect("<script src=\"/a.js\"></script><style>p{}</style>{{v}}", d,
           "<script src=\"/a.js\"></script><style>p{}</style>&lt;b&gt;");
    expect("<!DOCTYPE html><p class=\"{{#c}}on{{/c}}\">{{v}}</p>", d,
           "<!DOCTYPE html><p class=\"on\">&lt;b&gt;</p>");
    expect("<p data-x=\"{{id}}\" title=\"{{#c}}{{v}}{{/c}}\">", d,
           "<p data-x=\"a b\" title=\"&lt;b&gt;\">");
    expect("a < b and {{v}}", d, "a < b and &lt;b&gt;");
}

static void test_html_refused(void)
{
    refused("<script>var x = {{v}};</script>", ORCHARD_EINVAL, "t:1:17: a tag inside <script>");
    refused("<SCRIPT type=\"x\">{{#a}}{{/a}}</SCRIPT>", ORCHARD_EINVAL, "t:1:18:");
    refused("<style>\np { color: {{c}} }</style>", ORCHARD_EINVAL, "t:2:12: a tag inside");
    refused("<p class={{c}}>", ORCHARD_EINVAL, "t:1:10: a tag in an unquoted attribute");
    refused("<p class=a{{c}}>", ORCHARD_EINVAL, "t:1:11: a tag in an unquoted");
    refused("<p class= {{#c}}x{{/c}}>", ORCHARD_EINVAL, "unquoted attribute value");
    refused("<b onclick=\"f('{{v}}')\">", ORCHARD_EINVAL, "t:1:16: a value in an event handler");
    refused("<b ONMOUSEOVER='{{v}}'>", ORCHARD_EINVAL, "event handler");
    refused("<b style=\"color: {{v}}\">", ORCHARD_EINVAL, "t:1:18: a value in a style attribute");
    refused("<a href=\"{{url}}\">", ORCHARD_EINVAL, "t:1:10: a value at the start of a URL");
    refused("<img src='{{u}}'>", ORCHARD_EINVAL, "start of a URL attribute");
    refused("<a href=\" \t\n{{u}}\">", ORCHARD_EINVAL, "t:2:1: a value at the start of a URL");
    refused("<form action=\"{{#c}}/x{{/c}}{{u}}\">", ORCHARD_EINVAL, "t:1:29: a value at the start");
    refused("<{{tag}}>", ORCHARD_EINVAL, "t:1:2: a value inside a tag");
    refused("<p {{attr}}=\"x\">", ORCHARD_EINVAL, "t:1:4: a value inside a tag");
    refused("<p class=\"x\" {{attr}}>", ORCHARD_EINVAL, "t:1:14: a value inside a tag");
    refused("<p title=\"{{> part}}\">", ORCHARD_EINVAL, "t:1:11: a partial must stand in text");
    refused("{{#c}}<script>{{/c}}</script>", ORCHARD_EINVAL,
            "t:1:15: a tag inside <script>");
    refused("{{#c}}<p class=\"{{/c}}\">", ORCHARD_EINVAL,
            "t:1:17: section 'c' (line 1, column 1) ends in another HTML context");
    refused("{{#c}}<b {{/c}}>", ORCHARD_EINVAL, "section 'c' (line 1, column 1) ends in another");
    /* Same kind of context, another attribute or element: refused too, or
     * {{v}} would land in onclick when c is false. */
    refused("<a onclick=\"f(){{#c}}\" title=\"{{/c}}{{v}}\">", ORCHARD_EINVAL,
            "t:1:31: section 'c' (line 1, column 16) ends in another HTML context");
    refused("<a {{#c}}><b {{/c}}>", ORCHARD_EINVAL, "ends in another HTML context");
    refused("<p>\n<b class=\"x", ORCHARD_EINVAL, "t:2:12: the template ends inside a tag");
    refused("<script>", ORCHARD_EINVAL, "t:1:9: the template ends inside");
    refused("<!-- open", ORCHARD_EINVAL, "the template ends inside");
    refused("<iframe srcdoc=\"<p>{{v}}\">", ORCHARD_EINVAL, "t:1:20: a value in a srcdoc");
    /* Comments end where a browser ends them, so what follows is checked. */
    refused("<!--><script>{{v}}</script>", ORCHARD_EINVAL, "t:1:14: a tag inside <script>");
    refused("<!---><script>{{v}}</script>", ORCHARD_EINVAL, "t:1:15: a tag inside <script>");
    refused("<!-- a --!><style>{{v}}</style>", ORCHARD_EINVAL, "t:1:19: a tag inside");
    refused("<!-- a -- b --><script>{{v}}</script>", ORCHARD_EINVAL, "t:1:24: a tag inside");
}

static void test_compile_errors(void)
{
    refused("a\n  {{#list}}\nx", ORCHARD_EINVAL, "t:2:3: section 'list' is never closed");
    refused("{{#a}}{{#b}}{{/a}}{{/b}}", ORCHARD_EINVAL,
            "t:1:13: '{{/a}}' does not match the open section 'b' (line 1, column 7)");
    refused("x\n\n {{/a}}", ORCHARD_EINVAL, "t:3:2: '{{/a}}' closes no open section");
    refused("{{{v}}}", ORCHARD_EINVAL, "t:1:1: '{{{' (output without escaping) is not supported");
    refused("ok\n {{& v}}", ORCHARD_EINVAL, "t:2:2: '{{&' (output without escaping)");
    refused("{{=<% %>=}}", ORCHARD_EINVAL, "t:1:1: '{{=' (changing the delimiters)");
    refused("{{a b}}", ORCHARD_EINVAL, "t:1:1: unknown tag form '{{a b}}'");
    refused("{{}}", ORCHARD_EINVAL, "t:1:1: unknown tag form");
    refused("{{  }}", ORCHARD_EINVAL, "unknown tag form");
    refused("{{a..b}}", ORCHARD_EINVAL, "unknown tag form '{{a..b}}'");
    refused("{{.a}}", ORCHARD_EINVAL, "unknown tag form");
    refused("{{a.}}", ORCHARD_EINVAL, "unknown tag form");
    refused("{{a/b}}", ORCHARD_EINVAL, "unknown tag form");
    refused("{{#}}{{/}}", ORCHARD_EINVAL, "t:1:1: unknown tag form");
    refused("{{%x}}", ORCHARD_EINVAL, "unknown tag form");
    refused("{{> }}", ORCHARD_EINVAL, "t:1:1: unknown tag form '{{>}}'");
    refused("{{> a.b}}", ORCHARD_EINVAL, "a partial is a template's name");
    refused("{{#a}}{{/ab}}", ORCHARD_EINVAL, "does not match the open section 'a'");
    /* Every line ending counts once; columns are bytes. */
    refused("\xc3\xa9\xc3\xa9{{/x}}", ORCHARD_EINVAL, "t:1:5:");
    refused("\r\n\r\n{{/x}}", ORCHARD_EINVAL, "t:3:1:");
}

static void test_compile_caps(void)
{
    GString *deep = g_string_new(NULL);
    for (int i = 0; i < ORCHARD_WEB_TEMPLATE_MAX_DEPTH; i++)
        g_string_append(deep, "{{#a}}");
    for (int i = 0; i < ORCHARD_WEB_TEMPLATE_MAX_DEPTH; i++)
        g_string_append(deep, "{{/a}}");
    expect(deep->str, "{\"a\":{}}", ""); /* 32 is allowed */
    g_string_prepend(deep, "x\n{{#a}}");
    g_string_append(deep, "{{/a}}");
    refused(deep->str, ORCHARD_ETOOBIG, "t:2:193: sections nested deeper than 32");
    g_string_free(deep, TRUE);

    size_t big = ORCHARD_WEB_TEMPLATE_MAX_BYTES + 1;
    char *src = g_malloc(big);
    memset(src, 'x', big);
    refused_len(src, big, ORCHARD_ETOOBIG, "t:1:1: 262145 bytes, over the 262144-byte cap");
    g_autofree char *ok = render_len(src, big - 1, NULL);
    CU_ASSERT_EQUAL(ok ? strlen(ok) : 0, big - 1);
    g_free(src);

    g_autofree char *name = g_strnfill(ORCHARD_WEB_TEMPLATE_MAX_NAME + 1, 'n');
    g_autofree char *long_tag = g_strdup_printf("{{%s}}", name);
    refused(long_tag, ORCHARD_ETOOBIG, "t:1:1: a tag name over 128 bytes");
    g_autofree char *fits = g_strdup_printf("{{%.*s}}", ORCHARD_WEB_TEMPLATE_MAX_NAME, name);
    expect(fits, NULL, ""); /* 128 bytes is fine */
}

/* Braces that do not make tags, tags cut short, bytes that are no text. */
static void test_hostile_source(void)
{
    expect("{a}} }} {{a}}} {", "{\"a\":\"A\"}", "{a}} }} A} {");
    expect("{ {a} }", NULL, "{ {a} }");
    refused("text {{", ORCHARD_EINVAL, "t:1:6: '{{' without a closing '}}'");
    refused("{{", ORCHARD_EINVAL, "t:1:1: '{{' without");
    refused("{{a}", ORCHARD_EINVAL, "'{{' without a closing");
    refused("{{a}}\n{{#b", ORCHARD_EINVAL, "t:2:1: '{{' without");
    refused("{{!never closed", ORCHARD_EINVAL, "'{{' without");
    refused_len("ab\n\0cd", 6, ORCHARD_EINVAL, "t:2:1: a NUL byte");
    refused_len("{{a\0}}", 6, ORCHARD_EINVAL, "t:1:4: a NUL byte");
    refused("ok\n\xff\xfe", ORCHARD_EINVAL, "t:2:1: not UTF-8");
    refused("\xc3", ORCHARD_EINVAL, "t:1:1: not UTF-8");
    refused_len(NULL, 3, ORCHARD_EINVAL, "t:1:1: no source");

    /* Every prefix of a template that uses every form compiles or is
     * refused with a reason; none reads past its end (ASan). */
    const char *full = "<p class=\"{{#c}}x{{/c}}\">{{! c }}{{a.b}}{{^l}}{{.}}{{/l}}{{> p}}</p>";
    for (size_t n = 0; n <= strlen(full); n++) {
        char *copy = g_memdup2(full, n ? n : 1);
        orchard_web_templates *set = orchard_web_templates_new();
        g_autofree char *reason = NULL;
        int rc = orchard_web_templates_add(set, "t", copy, n, &reason);
        CU_ASSERT(rc == 0 ? reason == NULL : reason != NULL);
        orchard_web_templates_free(set);
        g_free(copy);
    }
}

/* 10,000 nested sections: refused at the 33rd, where it stands. */
static void test_many_nested_sections(void)
{
    GString *s = g_string_new(NULL);
    for (int i = 0; i < 10000; i++)
        g_string_append(s, "{{#a}}\n");
    for (int i = 0; i < 10000; i++)
        g_string_append(s, "{{/a}}\n");
    refused(s->str, ORCHARD_ETOOBIG, "t:33:1: sections nested deeper than 32");
    g_string_free(s, TRUE);
}

static orchard_web_templates *set_of(const char *const *named, size_t n)
{
    orchard_web_templates *set = orchard_web_templates_new();
    for (size_t i = 0; i + 1 < n; i += 2) {
        g_autofree char *reason = NULL;
        int rc = orchard_web_templates_add(set, named[i], named[i + 1], strlen(named[i + 1]),
                                           &reason);
        if (rc)
            fprintf(stderr, "\n  %s: %s\n", named[i], reason);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
    }
    return set;
}

/* Render `name` of `set`: the return code, the output or reason in *got. */
static int render_in(orchard_web_templates *set, const char *name, const char *data, char **got)
{
    json_t *ctx = json_loads(data, 0, NULL);
    GString *out = g_string_new("before|");
    g_autofree char *reason = NULL;
    int rc = orchard_web_templates_render(set, name, ctx, out, &reason);
    if (rc) {
        CU_ASSERT_STRING_EQUAL(out->str, "before|"); /* left as it was */
        *got = g_steal_pointer(&reason);
    } else {
        CU_ASSERT_PTR_NULL(reason);
        *got = g_strdup(out->str + strlen("before|"));
    }
    g_string_free(out, TRUE);
    json_decref(ctx);
    return rc;
}

static void test_partials(void)
{
    const char *const named[] = {
        "page", "<ul>{{#items}}{{> item}}{{/items}}</ul>",
        "item", "<li>{{name}} of {{owner}}</li>",
        "self", "x{{> self}}",
        "ping", "[{{> pong}}]", "pong", "({{> ping}})",
        "lost", "{{#a}}\n  {{> nowhere}}{{/a}}",
        "c0", "0{{> c1}}", "c1", "1{{> c2}}", "c2", "2{{> c3}}", "c3", "3{{> c4}}",
        "c4", "4{{> c5}}", "c5", "5{{> c6}}", "c6", "6{{> c7}}", "c7", "7{{> c8}}",
        "c8", "8{{> c9}}", "c9", "9",
    };
    orchard_web_templates *set = set_of(named, G_N_ELEMENTS(named));
    g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL, *g = NULL;

    CU_ASSERT_EQUAL(render_in(set, "page", "{\"owner\":\"o\",\"items\":[{\"name\":\"<x>\"},"
                                           "{\"name\":\"y\",\"owner\":\"p\"}]}", &a), 0);
    CU_ASSERT_STRING_EQUAL(a, "<ul><li>&lt;x&gt; of o</li><li>y of p</li></ul>");
    CU_ASSERT_EQUAL(render_in(set, "self", "{}", &b), ORCHARD_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "self:1:2: partials nested deeper than 8"));
    CU_ASSERT_EQUAL(render_in(set, "ping", "{}", &c), ORCHARD_ETOOBIG);
    CU_ASSERT_EQUAL(render_in(set, "lost", "{\"a\":1}", &d), ORCHARD_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "lost:2:3: no template 'nowhere'"));
    /* c1 to c8 are eight partials deep: allowed; from c0, c9 is the ninth. */
    CU_ASSERT_EQUAL(render_in(set, "c1", "{}", &e), 0);
    CU_ASSERT_STRING_EQUAL(e, "123456789");
    CU_ASSERT_EQUAL(render_in(set, "c0", "{}", &f), ORCHARD_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(f, "c8:1:2:"));
    CU_ASSERT_EQUAL(render_in(set, "nope", "{}", &g), ORCHARD_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(g, "no template 'nope'");
    orchard_web_templates_free(set);
}

/* Data no page should send, still bounded: the output cap, the step cap,
 * JSON nested far deeper than any section. */
static void test_hostile_data(void)
{
    const char *const named[] = {
        "rows", "{{#rows}}<tr><td>{{.}}</td></tr>{{/rows}}",
        "silent", "{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}",
        "deep", "{{a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.v}}|{{#a}}{{#a}}"
                "{{v}}{{/a}}{{/a}}",
    };
    orchard_web_templates *set = set_of(named, G_N_ELEMENTS(named));
    g_autofree char *a = NULL, *b = NULL;

    /* 300,000 rows of 22 bytes and more: over 4 MiB. */
    GString *rows = g_string_new("{\"rows\":[");
    for (int i = 0; i < 300000; i++)
        g_string_append(rows, i ? ",\"&&&&&&\"" : "\"&&&&&&\"");
    g_string_append(rows, "]}");
    CU_ASSERT_EQUAL(render_in(set, "rows", rows->str, &a), ORCHARD_ETOOBIG);
    CU_ASSERT_TRUE(g_str_has_prefix(a, "rows:1:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a, ": the page is over 4194304 bytes"));
    g_string_free(rows, TRUE);

    /* Six sections over 100 elements print nothing, 10^12 times: stopped. */
    GString *arr = g_string_new("{\"a\":[");
    for (int i = 0; i < 100; i++)
        g_string_append(arr, i ? ",[]" : "[]");
    g_string_append(arr, "]}");
    CU_ASSERT_EQUAL(render_in(set, "silent", arr->str, &b), ORCHARD_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "over 8388608 steps"));
    g_string_free(arr, TRUE);

    /* 10,000 levels of {"a": ...}: built by hand, as jansson's reader stops at 2048. */
    json_t *root = json_pack("{s:s}", "v", "bottom");
    for (int i = 0; i < 10000; i++)
        root = json_pack("{s:o,s:i}", "a", root, "v", i);
    GString *out = g_string_new(NULL);
    g_autofree char *reason = NULL;
    CU_ASSERT_EQUAL(orchard_web_templates_render(set, "deep", root, out, &reason), 0);
    CU_ASSERT_STRING_EQUAL(out->str, "9967|9997");
    g_string_free(out, TRUE);
    json_decref(root);
    orchard_web_templates_free(set);
}

static void test_replace(void)
{
    const char *const named[] = {"t", "one {{v}}", "t", "two {{v}}"};
    orchard_web_templates *set = set_of(named, G_N_ELEMENTS(named));
    g_autofree char *got = NULL, *reason = NULL;
    CU_ASSERT_EQUAL(render_in(set, "t", "{\"v\":1}", &got), 0);
    CU_ASSERT_STRING_EQUAL(got, "two 1");
    /* A failed compile leaves the template of that name as it was. */
    CU_ASSERT_EQUAL(orchard_web_templates_add(set, "t", "{{", 2, &reason), ORCHARD_EINVAL);
    CU_ASSERT_TRUE(orchard_web_templates_has(set, "t"));
    g_free(got);
    got = NULL;
    CU_ASSERT_EQUAL(render_in(set, "t", "{\"v\":2}", &got), 0);
    CU_ASSERT_STRING_EQUAL(got, "two 2");
    orchard_web_templates_free(set);
}

/* The embedded files are the bytes of server_plugin/web/ as built. */
static void test_embedded(void)
{
    g_autofree char *disk = NULL;
    gsize disk_len = 0;
    size_t len = 0;
    const unsigned char *data = orchard_web_asset("templates/error.html", &len);

    CU_ASSERT_TRUE_FATAL(g_file_get_contents(SOURCE_DIR "/server_plugin/web/templates/error.html",
                                             &disk, &disk_len, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    CU_ASSERT_EQUAL(len, disk_len);
    CU_ASSERT_EQUAL(memcmp(data, disk, len), 0);
    CU_ASSERT_EQUAL(data[len], '\0');

    const orchard_web_asset_entry *e = orchard_web_asset_find("templates/error.html");
    const orchard_web_asset_entry *item = orchard_web_asset_find("templates/page_head.html");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(item);
    CU_ASSERT_STRING_EQUAL(e->content_type, "text/html; charset=utf-8");
    CU_ASSERT_EQUAL(strlen(e->etag), strlen("\"sha256-\"") + 32);
    CU_ASSERT_TRUE(g_str_has_prefix(e->etag, "\"sha256-"));
    CU_ASSERT_STRING_NOT_EQUAL(e->etag, item->etag);
    /* The ETag is the content's: the first 32 hex digits of its SHA-256. */
    g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
    g_autofree char *want = g_strdup_printf("\"sha256-%.32s\"", sum);
    CU_ASSERT_STRING_EQUAL(e->etag, want);

    CU_ASSERT_PTR_NULL(orchard_web_asset("templates/nope.html", &len));
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_PTR_NULL(orchard_web_asset("error.html", NULL));
    CU_ASSERT_PTR_NULL(orchard_web_asset("", NULL));
    CU_ASSERT_PTR_NULL(orchard_web_asset(NULL, NULL));
    CU_ASSERT_PTR_NULL(orchard_web_assets[orchard_web_assets_count].name);
    for (size_t i = 1; i < orchard_web_assets_count; i++)
        CU_ASSERT(strcmp(orchard_web_assets[i - 1].name, orchard_web_assets[i].name) < 0);

    /* Every embedded template compiles; a page renders through its partials. */
    orchard_web_templates *set = orchard_web_templates_new();
    g_autofree char *reason = NULL, *got = NULL, *signed_in = NULL;
    CU_ASSERT_EQUAL(orchard_web_templates_add_embedded(set, &reason), 0);
    CU_ASSERT_TRUE(orchard_web_templates_has(set, "page_head"));
    CU_ASSERT_EQUAL(render_in(set, "error", "{\"layout\":{\"title\":\"T<\"},\"error\":"
                                            "{\"title\":\"Hosts & <teams>\",\"status\":403,"
                                            "\"message\":\"Mac's\"}}", &got), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "<title>T&lt; · orchard</title>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "<h1>Hosts &amp; &lt;teams&gt;</h1>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "<p>Mac&#39;s</p>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "Error 403"));
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "<a href=\"/login\">Sign in</a>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "</html>"));
    CU_ASSERT_EQUAL(render_in(set, "error", "{\"layout\":{\"user\":{\"email\":\"a@b\"}}}",
                              &signed_in), 0);
    CU_ASSERT_PTR_NULL(strstr(signed_in, "<a href=\"/login\">Sign in</a>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(signed_in, "<span class=\"email\">a@b</span>"));
    orchard_web_templates_free(set);
}

void web_template_suite(void)
{
    ORCHARD_ADD_SUITE("web_template", NULL, NULL,
                      {"values: strings, numbers, bools, null, missing, '.', comments", test_values},
                      {"every special character escaped, in text and attributes", test_escaping},
                      {"names looked up outward; dotted names", test_lookup},
                      {"sections and inverted sections over every kind of value", test_sections},
                      {"HTML contexts a tag may stand in", test_html_allowed},
                      {"tags in script, style, unquoted, event and URL attributes refused",
                       test_html_refused},
                      {"every compile error with its line and column", test_compile_errors},
                      {"caps: nesting, source size, name length", test_compile_caps},
                      {"hostile sources: braces, cut tags, NUL, bad UTF-8, every prefix",
                       test_hostile_source},
                      {"10,000 nested sections", test_many_nested_sections},
                      {"partials, missing ones and their depth limit", test_partials},
                      {"hostile data: output cap, step cap, 10,000-deep JSON", test_hostile_data},
                      {"a name compiled again replaces the template", test_replace},
                      {"the embedded files, their ETags, a page through its partials", test_embedded});
}
