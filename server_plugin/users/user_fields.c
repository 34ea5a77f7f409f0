/* What a user is made of, checked the same way by `orchard user create`
 * and the API: role names, email and name shapes, and the user as Fleet's
 * JSON object (without anything secret). */
#include "server_plugin/users/users.h"

#include "server_plugin/api/api.h"

#include <string.h>

static const char *const role_names[] = {
    [ORCHARD_ROLE_OBSERVER] = "observer",
    [ORCHARD_ROLE_MAINTAINER] = "maintainer",
    [ORCHARD_ROLE_ADMIN] = "admin",
};

int orchard_role_parse(const char *name)
{
    for (int r = ORCHARD_ROLE_OBSERVER; name && r <= ORCHARD_ROLE_ADMIN; r++)
        if (strcmp(name, role_names[r]) == 0)
            return r;
    return ORCHARD_ROLE_NONE;
}

const char *orchard_role_name(int role)
{
    return role >= ORCHARD_ROLE_OBSERVER && role <= ORCHARD_ROLE_ADMIN ? role_names[role] : NULL;
}

/* Deliberately plain: one '@', a local part and a domain of printable ASCII
 * without the characters that would need quoting in a header or a log.
 * Internationalised addresses are left out until someone needs them. */
const char *orchard_email_problem(const char *email)
{
    size_t len = email ? strnlen(email, ORCHARD_EMAIL_MAX + 1) : 0;
    if (len == 0)
        return "the email is empty";
    if (len > ORCHARD_EMAIL_MAX)
        return "the email is longer than 254 characters";
    const char *at = strchr(email, '@');
    if (!at || at == email || strchr(at + 1, '@') || at[1] == '\0')
        return "the email must look like name@example.com (one '@', text on both sides)";
    if (at - email > 64)
        return "the part before '@' is longer than 64 characters";
    for (const char *p = email; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),:;<>[\\]", c))
            return "the email holds a space, a control character, a non-ASCII character or "
                   "one of \"(),:;<>[\\]";
    }
    if (at[1] == '.' || email[len - 1] == '.' || strstr(at, ".."))
        return "the email's domain is malformed";
    return NULL;
}

const char *orchard_user_name_problem(const char *name)
{
    if (!name || !*name)
        return "the name is empty";
    if (!g_utf8_validate(name, -1, NULL))
        return "the name is not UTF-8";
    if (g_utf8_strlen(name, -1) > 255)
        return "the name is longer than 255 characters";
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return "the name holds a control character";
    return NULL;
}

json_t *orchard_user_to_json(const orchard_user *u)
{
    g_autofree char *created = orchard_api_time(u->created_at);
    g_autofree char *updated = orchard_api_time(u->updated_at);
    /* Names come from the store; a row written by hand may not be UTF-8. */
    g_autofree char *name = g_utf8_make_valid(u->name ? u->name : "", -1);
    g_autofree char *email = g_utf8_make_valid(u->email ? u->email : "", -1);
    return json_pack("{s:I, s:s, s:s, s:s?, s:b, s:s, s:s, s:b, s:b, s:[]}", "id", (json_int_t)u->id,
                     "name", name, "email", email, "global_role", u->role, "api_only",
                     u->api_only != 0, "created_at", created, "updated_at", updated,
                     "sso_enabled", 0, "force_password_reset", 0, "teams");
}
