/* The admin pages' suites' fixture (web_fixture.h). */
#include "tests/server/web_fixture.h"

#include "host/config.h"

#include <stdio.h>
#include <string.h>

int wfx_init(void)
{
    return ufx_init();
}

int wfx_cleanup(void)
{
    return ufx_cleanup();
}

void wfx_config(const char *key, const char *value)
{
    orchard_config_set(orchard_config_global(), key, value);
}

static void request(const char *method, const char *path, const char *cookie,
                    const char *origin, const char *form, http_response *r)
{
    g_autofree char *url = g_strconcat(ufx_server->url, path, NULL);
    g_autofree char *c = cookie ? g_strdup_printf("Cookie: orchard_session=%s", cookie) : NULL;
    g_autofree char *o = NULL;
    if (origin == WFX_SAME_ORIGIN)
        o = g_strdup_printf("Origin: %s", ufx_server->url);
    else if (origin)
        o = g_strdup_printf("Origin: %s", origin);
    struct curl_slist *h = NULL;
    if (c)
        h = curl_slist_append(h, c);
    if (o)
        h = curl_slist_append(h, o);
    if (form)
        h = curl_slist_append(h, "Content-Type: application/x-www-form-urlencoded");
    CURL *easy = http_client(url, r, h);
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    if (form) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, form);
    }
    http_perform(easy, r);
    curl_slist_free_all(h);
}

void wfx_get(const char *path, const char *cookie, http_response *r)
{
    request("GET", path, cookie, NULL, NULL, r);
}

void wfx_post_form(const char *path, const char *cookie, const char *origin, const char *form,
                   http_response *r)
{
    request("POST", path, cookie, origin, form ? form : "", r);
}

char *wfx_header(const http_response *r, const char *name)
{
    g_auto(GStrv) lines = g_strsplit(r->headers->str, "\n", -1);
    size_t n = strlen(name);
    for (char **l = lines; *l; l++)
        if (g_ascii_strncasecmp(*l, name, n) == 0 && (*l)[n] == ':')
            return g_strstrip(g_strdup(*l + n + 1));
    return NULL;
}

int wfx_has(const http_response *r, const char *text)
{
    if (r->body && strstr(r->body->str, text))
        return 1;
    fprintf(stderr, "\n  no '%s' in the page (%ld): %.2000s\n", text, r->status,
            r->body ? r->body->str : "");
    return 0;
}

char *wfx_signin(const char *email, const char *password)
{
    http_response r = {0};
    g_autofree char *e = g_uri_escape_string(email, NULL, FALSE);
    g_autofree char *p = g_uri_escape_string(password, NULL, FALSE);
    g_autofree char *form = g_strdup_printf("email=%s&password=%s", e, p);
    wfx_post_form("/login", NULL, WFX_SAME_ORIGIN, form, &r);
    g_autofree char *cookie = wfx_header(&r, "Set-Cookie");
    char *token = NULL;
    const char *prefix = "orchard_session=";
    if (r.status == 303 && cookie && g_str_has_prefix(cookie, prefix)) {
        const char *v = cookie + strlen(prefix);
        token = g_strndup(v, strcspn(v, ";"));
    } else {
        fprintf(stderr, "\n  sign-in as %s failed (%ld): %s\n", email, r.status,
                r.body ? r.body->str : "");
    }
    http_response_clear(&r);
    return token;
}

char *wfx_signin_as(const char *role)
{
    if (strcmp(role, "admin") == 0)
        return wfx_signin(WFX_ADMIN, PW_ADMIN);
    if (strcmp(role, "maintainer") == 0)
        return wfx_signin(WFX_MAINT, PW_MAINT);
    return wfx_signin(WFX_OBS, PW_OBS);
}
