/* Fuzz target: the admin pages' template engine (server_plugin/web/): the
 * input is compiled as a template, then rendered alone and as a partial
 * inside sections, against one fixed JSON whose strings hold every
 * character HTML escaping must change. An input without < > " ' must give
 * output without them: a value that printed one unescaped aborts. */
#include "tests/fuzz/fuzz.h"

#include "server_plugin/web/web_template.h"

#include <stdlib.h>
#include <string.h>

static const char data_json[] =
    "{\"title\":\"<script>alert('x')</script>\",\"n\":3,\"r\":2.5,\"t\":true,\"f\":false,"
    "\"z\":null,\"e\":\"\",\"list\":[{\"name\":\"a\\\"b\"},{\"name\":\"c`d=<\"}],"
    "\"o\":{\"k\":{\"v\":\"&'>\"}},\"nest\":[[1,2],[3,[4]]],\"s\":\"str\"}";

static int has_markup(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '<' || s[i] == '>' || s[i] == '"' || s[i] == '\'')
            return 1;
    return 0;
}

static void render(orchard_web_templates *set, const char *name, json_t *data, int plain)
{
    GString *out = g_string_new(NULL);
    char *reason = NULL;
    int rc = orchard_web_templates_render(set, name, data, out, &reason);

    if (rc == 0 && (reason || out->len > ORCHARD_WEB_TEMPLATE_MAX_OUTPUT))
        abort();
    if (rc != 0 && (!reason || out->len != 0))
        abort();
    if (rc == 0 && plain && has_markup(out->str, out->len))
        abort(); /* a value's < > " or ' got through unescaped */
    g_free(reason);
    g_string_free(out, TRUE);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    static json_t *data;
    orchard_web_templates *set = orchard_web_templates_new();
    char *reason = NULL;

    if (!data)
        data = json_loads(data_json, 0, NULL);
    /* The partial the input may name; it holds no markup either. */
    static const char p[] = "[{{name}}{{#o}}{{k.v}}{{/o}}{{> fuzz}}]";
    static const char host[] = "{{#list}}{{> fuzz}}{{/list}}{{#nest}}{{> fuzz}}{{/nest}}";
    if (orchard_web_templates_add(set, "p", p, strlen(p), &reason) != 0 ||
        orchard_web_templates_add(set, "host", host, strlen(host), &reason) != 0)
        abort();
    int rc = orchard_web_templates_add(set, "fuzz", (const char *)bytes, size, &reason);
    if ((rc == 0) != (reason == NULL))
        abort();
    if (rc == 0) {
        int plain = !has_markup((const char *)bytes, size);
        render(set, "fuzz", data, plain);
        render(set, "host", data, plain);
        render(set, "fuzz", NULL, plain);
    }
    g_free(reason);
    orchard_web_templates_free(set);
    return 0;
}
