/* The API suites' stand-in authenticator (token_auth_fixture.h). */
#include "tests/server/token_auth_fixture.h"

#include "server_plugin/server.h"

#include <glib.h>
#include <string.h>

int tfx_token_auth(orchard_ctx *ctx, const orchard_http_request *req, char *who,
                   size_t who_size, void *payload)
{
    static const struct {
        const char *token, *who;
        int role;
    } users[] = {{TFX_OBSERVER, "obs@example.com", ORCHARD_ROLE_OBSERVER},
                 {TFX_MAINTAINER, "maint@example.com", ORCHARD_ROLE_MAINTAINER},
                 {TFX_ADMIN, "admin@example.com", ORCHARD_ROLE_ADMIN}};
    const char *auth = orchard_server_host->http_header(req, "Authorization");
    (void)ctx;
    (void)payload;
    for (size_t i = 0; auth && i < G_N_ELEMENTS(users); i++)
        if (strcmp(auth, users[i].token) == 0) {
            g_strlcpy(who, users[i].who, who_size);
            return users[i].role;
        }
    return 0;
}
