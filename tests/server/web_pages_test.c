/* The admin pages' plumbing (server_plugin/web/web_pages.h) over real HTTP:
 * signing in and out with the session cookie, the Origin check on every
 * form, where a sign-in may send the browser, hostile forms and cookies,
 * the stylesheet's ETag, the security headers, and every embedded template
 * compiling. The pages themselves have suites of their own. */
#include "server_plugin/users/users.h"
#include "server_plugin/web/web_pages.h"
#include "tests/server/web_fixture.h"
#include "tests/suites.h"

#include <CUnit/CUnit.h>
#include <string.h>

static const char *const ADMIN_FORM = "email=admin%40example.com&password=" PW_ADMIN;

static void test_templates__all_compile(void)
{
    g_autofree char *reason = NULL;
    orchard_web_templates *set = orchard_web_templates_new();
    int rc = orchard_web_templates_add_embedded(set, &reason);
    if (rc)
        fprintf(stderr, "\n  %s\n", reason);
    CU_ASSERT_EQUAL(rc, 0);
    const char *pages[] = {"page_head", "page_foot", "error", "login", "mdm_settings",
                           "macos_updates", "hosts"};
    for (size_t i = 0; i < G_N_ELEMENTS(pages); i++)
        CU_ASSERT(orchard_web_templates_has(set, pages[i]));
    orchard_web_templates_free(set);
}

static void test_signin__cookie_and_landing(void)
{
    http_response r;
    orchard_login_limit_reset();
    wfx_post_form("/login", NULL, WFX_SAME_ORIGIN, ADMIN_FORM, &r);
    CU_ASSERT_EQUAL(r.status, 303);
    g_autofree char *cookie = wfx_header(&r, "Set-Cookie");
    g_autofree char *location = wfx_header(&r, "Location");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cookie);
    CU_ASSERT(g_str_has_prefix(cookie, "orchard_session="));
    CU_ASSERT_PTR_NOT_NULL(strstr(cookie, "; HttpOnly"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cookie, "; SameSite=Strict"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cookie, "; Path=/"));
    CU_ASSERT_PTR_NULL(strstr(cookie, "Secure")); /* plain http here */
    CU_ASSERT_STRING_EQUAL(location, "/settings/integrations/mdm");
    http_response_clear(&r);

    /* Behind a TLS proxy the cookie is Secure. */
    struct curl_slist *h = curl_slist_append(NULL, "X-Forwarded-Proto: https");
    h = curl_slist_append(h, "Content-Type: application/x-www-form-urlencoded");
    g_autofree char *origin = g_strdup_printf("Origin: %s", ufx_server->url);
    h = curl_slist_append(h, origin);
    g_autofree char *url = g_strconcat(ufx_server->url, "/login", NULL);
    CURL *c = http_client(url, &r, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, ADMIN_FORM);
    http_perform(c, &r);
    curl_slist_free_all(h);
    g_autofree char *secure = wfx_header(&r, "Set-Cookie");
    CU_ASSERT_EQUAL(r.status, 303);
    CU_ASSERT_PTR_NOT_NULL(secure && strstr(secure, "; Secure"));
    http_response_clear(&r);

    /* Others land on the hosts; a page asked for is where one goes. */
    g_autofree char *obs = wfx_signin_as("observer");
    CU_ASSERT_PTR_NOT_NULL(obs);
    wfx_post_form("/login", NULL, WFX_SAME_ORIGIN,
                  "email=obs%40example.com&password=" PW_OBS "&next=%2Fcontrols%2Fmacos-updates",
                  &r);
    g_autofree char *next = wfx_header(&r, "Location");
    CU_ASSERT_STRING_EQUAL(next, "/controls/macos-updates");
    http_response_clear(&r);
}

static void test_signin__session_is_the_apis(void)
{
    http_response r;
    g_autofree char *cookie = wfx_signin_as("admin");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cookie);
    /* The cookie holds a session token the API takes as a bearer token. */
    ufx_get("/api/latest/fleet/me", cookie, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_response_clear(&r);
    /* But the API never reads the cookie: a page's session cannot be
     * ridden by a cross-site request to a JSON endpoint. */
    wfx_get("/api/latest/fleet/me", cookie, &r);
    CU_ASSERT_EQUAL(r.status, 401);
    http_response_clear(&r);
    /* The sign-in is an activity. */
    g_autofree char *token = ufx_login(WFX_ADMIN, PW_ADMIN, NULL);
    ufx_get("/api/latest/fleet/activities", token, &r);
    CU_ASSERT(wfx_has(&r, "user_logged_in"));
    http_response_clear(&r);
}

static void test_signin__wrong_password_and_limit(void)
{
    http_response r;
    orchard_login_limit_reset();
    wfx_post_form("/login", NULL, WFX_SAME_ORIGIN,
                  "email=maint%40example.com&password=not-the-password-1", &r);
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT(wfx_has(&r, "Wrong email or password"));
    CU_ASSERT(wfx_has(&r, "value=\"maint@example.com\""));
    CU_ASSERT_PTR_NULL(strstr(r.headers->str, "Set-Cookie"));
    http_response_clear(&r);
    for (int i = 1; i < ORCHARD_LOGIN_FAILURES_PER_EMAIL; i++) {
        wfx_post_form("/login", NULL, WFX_SAME_ORIGIN,
                      "email=maint%40example.com&password=not-the-password-1", &r);
        CU_ASSERT_EQUAL(r.status, 401);
        http_response_clear(&r);
    }
    /* Limited: a message on the form (not an error page), even with the
     * right password, and Retry-After. */
    wfx_post_form("/login", NULL, WFX_SAME_ORIGIN,
                  "email=maint%40example.com&password=" PW_MAINT, &r);
    CU_ASSERT_EQUAL(r.status, 429);
    CU_ASSERT(wfx_has(&r, "Too many failed sign-ins. Try again in"));
    CU_ASSERT(wfx_has(&r, "<form method=\"post\" action=\"/login\""));
    g_autofree char *retry = wfx_header(&r, "Retry-After");
    CU_ASSERT(retry && atoi(retry) >= 1 && atoi(retry) <= ORCHARD_LOGIN_WINDOW_SECONDS);
    http_response_clear(&r);
    /* The API's login counts the same failures: one path. */
    long status = 0;
    g_free(ufx_login(WFX_MAINT, PW_MAINT, &status));
    CU_ASSERT_EQUAL(status, 429);
    orchard_login_limit_reset();

    /* Missing fields: the form again with a message. */
    wfx_post_form("/login", NULL, WFX_SAME_ORIGIN, "email=admin%40example.com", &r);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT(wfx_has(&r, "Enter your email and password"));
    http_response_clear(&r);
}

static void test_signin__hostile_values_escaped(void)
{
    http_response r;
    orchard_login_limit_reset();
    wfx_post_form("/login", NULL, WFX_SAME_ORIGIN,
                  "email=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E&password=x"
                  "&next=%22%3E%3Cscript%3Ex%3C%2Fscript%3E",
                  &r);
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT_PTR_NULL(strstr(r.body->str, "<script>"));
    CU_ASSERT(wfx_has(&r, "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    http_response_clear(&r);
    orchard_login_limit_reset();
}

static void test_signin__next_stays_local(void)
{
    const char *hostile[] = {"%2F%2Fevil.example%2F", "https%3A%2F%2Fevil.example",
                             "%2F%5Cevil.example", "evil", "%2Fx%0D%0ASet-Cookie%3A%20a%3Db",
                             "javascript%3Aalert(1)"};
    for (size_t i = 0; i < G_N_ELEMENTS(hostile); i++) {
        http_response r;
        orchard_login_limit_reset();
        g_autofree char *form =
            g_strdup_printf("email=admin%%40example.com&password=%s&next=%s", PW_ADMIN, hostile[i]);
        wfx_post_form("/login", NULL, WFX_SAME_ORIGIN, form, &r);
        g_autofree char *location = wfx_header(&r, "Location");
        CU_ASSERT_EQUAL(r.status, 303);
        CU_ASSERT_STRING_EQUAL(location, "/settings/integrations/mdm");
        http_response_clear(&r);
    }
    CU_ASSERT_FALSE(orchard_web_local_path("//evil"));
    CU_ASSERT_FALSE(orchard_web_local_path("/\\evil"));
    CU_ASSERT_FALSE(orchard_web_local_path("/a\\b"));
    CU_ASSERT_FALSE(orchard_web_local_path("/a\nb"));
    CU_ASSERT_FALSE(orchard_web_local_path(""));
    CU_ASSERT_FALSE(orchard_web_local_path(NULL));
    CU_ASSERT(orchard_web_local_path("/hosts/ABC?x=1"));
    g_autofree char *longest = g_strnfill(3000, 'a');
    longest[0] = '/';
    CU_ASSERT_FALSE(orchard_web_local_path(longest));
}

/* Every form is refused without this server's Origin, and changes nothing. */
static void test_origin__refused(void)
{
    const char *origins[] = {NULL, "null", "http://evil.example", "http://127.0.0.1:1",
                             "https://evil.example", ""};
    orchard_login_limit_reset();
    for (size_t i = 0; i < G_N_ELEMENTS(origins); i++) {
        http_response r;
        wfx_post_form("/login", NULL, origins[i], ADMIN_FORM, &r);
        CU_ASSERT_EQUAL(r.status, 403);
        CU_ASSERT(wfx_has(&r, "This form was refused"));
        CU_ASSERT_PTR_NULL(strstr(r.headers->str, "Set-Cookie"));
        http_response_clear(&r);
    }
    /* A session survives a cross-site sign-out. */
    g_autofree char *cookie = wfx_signin_as("admin");
    http_response r;
    wfx_post_form("/logout", cookie, "http://evil.example", "", &r);
    CU_ASSERT_EQUAL(r.status, 403);
    http_response_clear(&r);
    ufx_get("/api/latest/fleet/me", cookie, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_response_clear(&r);
    /* The configured server.url's origin is ours too (a proxy rewriting Host). */
    wfx_config("server.url", "https://mdm.example.com/");
    wfx_post_form("/login", NULL, "https://mdm.example.com", ADMIN_FORM, &r);
    CU_ASSERT_EQUAL(r.status, 303);
    http_response_clear(&r);
    wfx_post_form("/login", NULL, "https://mdm.example.com:8443", ADMIN_FORM, &r);
    CU_ASSERT_EQUAL(r.status, 403);
    http_response_clear(&r);
    wfx_config("server.url", NULL);
}

static void test_signout(void)
{
    http_response r;
    g_autofree char *cookie = wfx_signin_as("maintainer");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cookie);
    wfx_get("/hosts", cookie, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT(wfx_has(&r, "maint@example.com"));
    http_response_clear(&r);
    wfx_post_form("/logout", cookie, WFX_SAME_ORIGIN, "", &r);
    CU_ASSERT_EQUAL(r.status, 303);
    g_autofree char *cleared = wfx_header(&r, "Set-Cookie");
    g_autofree char *location = wfx_header(&r, "Location");
    CU_ASSERT_PTR_NOT_NULL(cleared && strstr(cleared, "orchard_session=;") &&
                           strstr(cleared, "Max-Age=0"));
    CU_ASSERT_STRING_EQUAL(location, "/login?signed_out=1");
    http_response_clear(&r);
    /* The session is gone from the store, not only from the browser. */
    wfx_get("/hosts", cookie, &r);
    CU_ASSERT_EQUAL(r.status, 303);
    http_response_clear(&r);
    wfx_get("/login?signed_out=1", NULL, &r);
    CU_ASSERT(wfx_has(&r, "You are signed out."));
    http_response_clear(&r);
}

static void test_pages__need_a_session(void)
{
    const char *cookies[] = {NULL, "bogus", "a%20b", "x\"y", ""};
    for (size_t i = 0; i < G_N_ELEMENTS(cookies); i++) {
        http_response r;
        wfx_get("/settings/integrations/mdm", cookies[i], &r);
        CU_ASSERT_EQUAL(r.status, 303);
        g_autofree char *location = wfx_header(&r, "Location");
        CU_ASSERT_STRING_EQUAL(location, "/login?next=/settings/integrations/mdm");
        http_response_clear(&r);
    }
    /* A huge cookie is not one of ours. */
    g_autofree char *huge = g_strnfill(4000, 'A');
    http_response r;
    wfx_get("/hosts", huge, &r);
    CU_ASSERT_EQUAL(r.status, 303);
    http_response_clear(&r);

    /* Signed in, the login page sends one on. */
    g_autofree char *cookie = wfx_signin_as("observer");
    wfx_get("/login", cookie, &r);
    g_autofree char *location = wfx_header(&r, "Location");
    CU_ASSERT_EQUAL(r.status, 303);
    CU_ASSERT_STRING_EQUAL(location, "/hosts");
    http_response_clear(&r);
}

/* The server's bare address sends people on: to sign in, or to their
 * role's landing page; it is no catch-all for other paths. */
static void test_pages__root(void)
{
    static const struct {
        const char *role, *location;
    } cases[] = {{NULL, "/login"}, {"observer", "/hosts"}, {"admin", "/settings/integrations/mdm"}};
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        http_response r;
        g_autofree char *cookie = cases[i].role ? wfx_signin_as(cases[i].role) : NULL;
        wfx_get("/", cookie, &r);
        g_autofree char *location = wfx_header(&r, "Location");
        CU_ASSERT_EQUAL(r.status, 303);
        CU_ASSERT_STRING_EQUAL(location, cases[i].location);
        http_response_clear(&r);
    }
    http_response r;
    g_autofree char *admin = wfx_signin_as("admin");
    wfx_get("/no/such/page", admin, &r);
    CU_ASSERT_EQUAL(r.status, 404);
    /* the host's own answer, not a page: no route took it */
    CU_ASSERT(r.body && strstr(r.body->str, "not found") && !strstr(r.body->str, "<html"));
    http_response_clear(&r);
}

/* A page asked for with a query comes back with it after sign-in, each
 * part escaped again; hostile parameters cannot turn it into another site. */
static void test_pages__next_keeps_the_query(void)
{
    http_response r;
    wfx_get("/hosts?page=2&team=a%20b%26c&flag", NULL, &r);
    g_autofree char *location = wfx_header(&r, "Location");
    CU_ASSERT_EQUAL(r.status, 303);
    CU_ASSERT_STRING_EQUAL(location, "/login?next=/hosts%3Fpage%3D2%26team%3Da%2520b%2526c%26flag");
    http_response_clear(&r);

    /* The form carries it, and signing in goes back to exactly that page. */
    wfx_get(location, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT(wfx_has(&r, "value=\"/hosts?page&#61;2&amp;team&#61;a%20b%26c&amp;flag\""));
    http_response_clear(&r);
    orchard_login_limit_reset();
    wfx_post_form("/login", NULL, WFX_SAME_ORIGIN,
                  "email=obs%40example.com&password=" PW_OBS
                  "&next=%2Fhosts%3Fpage%3D2%26team%3Da%2520b%2526c%26flag",
                  &r);
    g_autofree char *back = wfx_header(&r, "Location");
    CU_ASSERT_EQUAL(r.status, 303);
    CU_ASSERT_STRING_EQUAL(back, "/hosts?page=2&team=a%20b%26c&flag");
    http_response_clear(&r);

    /* A query that would make the address too long is dropped, the page kept. */
    g_autofree char *big = g_strnfill(3000, 'x');
    g_autofree char *path = g_strconcat("/hosts?q=", big, NULL);
    wfx_get(path, NULL, &r);
    g_autofree char *short_loc = wfx_header(&r, "Location");
    CU_ASSERT_EQUAL(r.status, 303);
    CU_ASSERT_STRING_EQUAL(short_loc, "/login?next=/hosts");
    http_response_clear(&r);

    /* Parameters named like another site stay parameters of our path. */
    wfx_get("/hosts?%2F%2Fevil.example=1", NULL, &r);
    g_autofree char *odd = wfx_header(&r, "Location");
    CU_ASSERT_STRING_EQUAL(odd, "/login?next=/hosts%3F%252F%252Fevil.example%3D1");
    http_response_clear(&r);
}

static void test_pages__roles_and_headers(void)
{
    g_autofree char *obs = wfx_signin_as("observer");
    g_autofree char *maint = wfx_signin_as("maintainer");
    g_autofree char *admin = wfx_signin_as("admin");
    struct {
        const char *cookie;
        long status;
    } cases[] = {{obs, 403}, {maint, 403}, {admin, 200}};
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        http_response r;
        wfx_get("/settings/integrations/mdm", cases[i].cookie, &r);
        CU_ASSERT_EQUAL(r.status, cases[i].status);
        if (r.status == 403)
            CU_ASSERT(wfx_has(&r, "You do not have access to this page"));
        /* Only admins see the Settings link. */
        CU_ASSERT_EQUAL(strstr(r.body->str, "href=\"/settings/integrations/mdm\"") != NULL,
                        cases[i].status == 200);
        g_autofree char *csp = wfx_header(&r, "Content-Security-Policy");
        CU_ASSERT_PTR_NOT_NULL(csp && strstr(csp, "default-src 'none'") &&
                               strstr(csp, "frame-ancestors 'none'") && !strstr(csp, "script"));
        CU_ASSERT(http_has_header(&r, "X-Content-Type-Options: nosniff"));
        CU_ASSERT(http_has_header(&r, "Cache-Control: no-store"));
        CU_ASSERT(http_has_header(&r, "Referrer-Policy: same-origin"));
        CU_ASSERT(http_has_header(&r, "Content-Type: text/html; charset=utf-8"));
        http_response_clear(&r);
    }
}

static void test_forms__hostile(void)
{
    g_autofree char *cookie = wfx_signin_as("admin");
    struct {
        const char *form;
        long status;
        const char *says;
    } cases[] = {
        {"email=a%00b&password=x", 400, "NUL byte"},
        {"email=%FF%FE&password=x", 400, "invalid UTF-8"},
        {"email=%E0%80%80&password=x", 400, "invalid UTF-8"},
        {"email=a%0Bb&password=x", 400, "control characters"},
        {"email=%zz&password=x", 400, "encoding is not valid"},
        {"email=%4&password=x", 400, "encoding is not valid"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        http_response r;
        wfx_post_form("/login", NULL, WFX_SAME_ORIGIN, cases[i].form, &r);
        CU_ASSERT_EQUAL(r.status, cases[i].status);
        CU_ASSERT(wfx_has(&r, cases[i].says));
        http_response_clear(&r);
    }
    /* Too many fields, too large. */
    GString *many = g_string_new("email=a");
    for (int i = 0; i < ORCHARD_WEB_FORM_FIELDS; i++)
        g_string_append(many, "&x=1");
    http_response r;
    wfx_post_form("/login", NULL, WFX_SAME_ORIGIN, many->str, &r);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT(wfx_has(&r, "too many fields"));
    http_response_clear(&r);
    g_string_free(many, TRUE);
    g_autofree char *big = g_strnfill(ORCHARD_WEB_FORM_MAX + 1, 'a');
    memcpy(big, "email=", 6);
    wfx_post_form("/login", NULL, WFX_SAME_ORIGIN, big, &r);
    CU_ASSERT_EQUAL(r.status, 413);
    http_response_clear(&r);

    /* Another content type is not a form. */
    g_autofree char *url = g_strconcat(ufx_server->url, "/login", NULL);
    g_autofree char *origin = g_strdup_printf("Origin: %s", ufx_server->url);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, origin);
    CURL *c = http_client(url, &r, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"email\": \"admin@example.com\"}");
    http_perform(c, &r);
    curl_slist_free_all(h);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT(wfx_has(&r, "application/x-www-form-urlencoded"));
    http_response_clear(&r);
    (void)cookie;
}

static void test_forms__parser(void)
{
    GHashTable *f = NULL;
    const char *why = NULL;
    CU_ASSERT_EQUAL(orchard_web_form_parse("a=1&b=x+y%21&a=2&c=", 19, &f, &why), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(f, "b"), "x y!");
    CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(f, "c"), "");
    CU_ASSERT_PTR_NOT_NULL(g_hash_table_lookup(f, "a"));
    g_hash_table_unref(f);
    CU_ASSERT_EQUAL(orchard_web_form_parse("", 0, &f, &why), 0);
    CU_ASSERT_EQUAL(g_hash_table_size(f), 0);
    g_hash_table_unref(f);
    /* A raw NUL inside the length. */
    CU_ASSERT_EQUAL(orchard_web_form_parse("a=1\0b=2", 7, &f, &why), ORCHARD_EINVAL);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT_EQUAL(orchard_web_form_parse("a=%", 3, &f, &why), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_web_form_parse("a=%C3", 5, &f, &why), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_web_form_parse("a=\x7f", 3, &f, &why), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_web_form_parse("a=1", ORCHARD_WEB_FORM_MAX + 1, &f, &why),
                    ORCHARD_ETOOBIG);
    /* A textarea's line breaks and tabs are text. */
    CU_ASSERT_EQUAL(orchard_web_form_parse("t=a%0D%0Ab%09c", 14, &f, &why), 0);
    CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(f, "t"), "a\r\nb\tc");
    g_hash_table_unref(f);
}

static void test_numbers(void)
{
    gint64 n = -1;
    CU_ASSERT_EQUAL(orchard_web_number("0", 9, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(orchard_web_number("123456789", 9, &n), 0);
    CU_ASSERT_EQUAL(n, 123456789);
    CU_ASSERT_EQUAL(orchard_web_number("999999999999999999", 30, &n), 0);
    const char *bad[] = {"", "-1", "+1", " 1", "1 ", "1e3", "0x1", "1234567890", "١"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        n = 7;
        CU_ASSERT_EQUAL(orchard_web_number(bad[i], 9, &n), ORCHARD_EINVAL);
        CU_ASSERT_EQUAL(n, 0);
    }
    CU_ASSERT_EQUAL(orchard_web_number(NULL, 9, &n), ORCHARD_EINVAL);
    CU_ASSERT_EQUAL(orchard_web_number("9999999999999999999", 30, &n), ORCHARD_EINVAL);
}

static void test_cookies__parser(void)
{
    char v[64];
    CU_ASSERT(orchard_web_cookie_value("orchard_session=abc", "orchard_session", v, sizeof v));
    CU_ASSERT_STRING_EQUAL(v, "abc");
    CU_ASSERT(orchard_web_cookie_value("a=1; orchard_session=xyz ; b=2", "orchard_session", v,
                                       sizeof v));
    CU_ASSERT_STRING_EQUAL(v, "xyz");
    CU_ASSERT(orchard_web_cookie_value("a=1;orchard_session=q", "orchard_session", v, sizeof v));
    CU_ASSERT_STRING_EQUAL(v, "q");
    CU_ASSERT_FALSE(orchard_web_cookie_value("xorchard_session=1", "orchard_session", v, sizeof v));
    CU_ASSERT_FALSE(orchard_web_cookie_value("orchard_session2=1", "orchard_session", v, sizeof v));
    CU_ASSERT_FALSE(orchard_web_cookie_value("orchard_session=", "orchard_session", v, sizeof v));
    CU_ASSERT_FALSE(orchard_web_cookie_value("orchard_session", "orchard_session", v, sizeof v));
    CU_ASSERT_FALSE(orchard_web_cookie_value("", "orchard_session", v, sizeof v));
    CU_ASSERT_FALSE(orchard_web_cookie_value(";;;", "orchard_session", v, sizeof v));
    g_autofree char *longer = g_strdup_printf("orchard_session=%0*d", 100, 7);
    CU_ASSERT_FALSE(orchard_web_cookie_value(longer, "orchard_session", v, sizeof v));
}

static void test_assets__etag(void)
{
    http_response r;
    wfx_get("/assets/orchard.css", NULL, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT(http_has_header(&r, "Content-Type: text/css; charset=utf-8"));
    g_autofree char *etag = wfx_header(&r, "ETag");
    CU_ASSERT_PTR_NOT_NULL_FATAL(etag);
    CU_ASSERT(wfx_has(&r, ".timeline"));
    http_response_clear(&r);

    g_autofree char *url = g_strconcat(ufx_server->url, "/assets/orchard.css", NULL);
    g_autofree char *inm = g_strdup_printf("If-None-Match: %s", etag);
    struct curl_slist *h = curl_slist_append(NULL, inm);
    CURL *c = http_client(url, &r, h);
    http_perform(c, &r);
    curl_slist_free_all(h);
    CU_ASSERT_EQUAL(r.status, 304);
    CU_ASSERT_EQUAL(r.body->len, 0);
    http_response_clear(&r);

    /* Templates are not assets; nothing outside static/ is served. */
    const char *missing[] = {"/assets/login.html", "/assets/../templates/login.html",
                             "/assets/", "/assets/%2e%2e%2fweb_pages.h", "/assets/nope.css",
                             "/assets/static%2Forchard.css"};
    for (size_t i = 0; i < G_N_ELEMENTS(missing); i++) {
        wfx_get(missing[i], NULL, &r);
        CU_ASSERT_EQUAL(r.status, 404);
        http_response_clear(&r);
    }
}

void web_pages_suite(void)
{
    ORCHARD_ADD_SUITE("web_pages", wfx_init, wfx_cleanup,
                      {"every embedded template compiles", test_templates__all_compile},
                      {"sign-in sets the cookie and lands", test_signin__cookie_and_landing},
                      {"the cookie is an API session, not API auth",
                       test_signin__session_is_the_apis},
                      {"a wrong password and the limit, as messages",
                       test_signin__wrong_password_and_limit},
                      {"what the login page shows back is escaped",
                       test_signin__hostile_values_escaped},
                      {"after sign-in, only local paths", test_signin__next_stays_local},
                      {"forms from another origin are refused", test_origin__refused},
                      {"sign-out ends the session", test_signout},
                      {"pages need a session", test_pages__need_a_session},
                      {"the bare address sends one on", test_pages__root},
                      {"sign-in comes back with the query", test_pages__next_keeps_the_query},
                      {"roles and security headers", test_pages__roles_and_headers},
                      {"hostile forms", test_forms__hostile},
                      {"the form parser", test_forms__parser},
                      {"the cookie parser", test_cookies__parser},
                      {"numbers in queries and forms", test_numbers},
                      {"the stylesheet and its ETag", test_assets__etag});
}
