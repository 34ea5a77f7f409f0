/* What is allowed but risky in the server configuration: private keys that
 * other users can read (or write), and a static SCEP challenge shorter than
 * Fleet asks for. `config check` prints these; `serve` prints them and
 * refuses a key anyone can overwrite (whoever does so holds the CA). */
#include "server_plugin/config/mdm_config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

/* The settings that name a private key file. */
static const char *const key_files[] = {
    "mdm.apple_apns_key", "mdm.apple_scep_key", "mdm.apple_bm_key", "server.tls_key",
    "server.profile_signing_key",
};

static const char *value_of(const orchard_host_api *host, const char *key)
{
    const char *v = host->config_get(key);
    return v && *v ? v : NULL;
}

static void check_key_file(const char *key, const char *path, GPtrArray *out, int *refuse)
{
    GStatBuf sb;
    if (g_stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return; /* loading the configuration says what is wrong with it */
    unsigned mode = (unsigned)(sb.st_mode & 07777);
    if (sb.st_mode & S_IWOTH) {
        g_ptr_array_add(out, g_strdup_printf(
            "%s: %s is writable by every user (mode %04o): anyone can replace the key; "
            "chmod 600 %s", key, path, mode, path));
        if (refuse)
            *refuse = 1;
    } else if (sb.st_mode & (S_IRGRP | S_IROTH)) {
        g_ptr_array_add(out, g_strdup_printf(
            "%s: %s is readable by %s (mode %04o): a private key should be readable by its "
            "owner only; chmod 600 %s", key, path,
            (sb.st_mode & S_IROTH) ? "every user" : "its group", mode, path));
    }
}

GPtrArray *orchard_mdm_config_warnings(const orchard_host_api *host, int *refuse)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    if (refuse)
        *refuse = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(key_files); i++) {
        const char *path = value_of(host, key_files[i]);
        if (path)
            check_key_file(key_files[i], path, out, refuse);
    }
    /* Fleet's docs ask for 32 letters and digits; Fleet configs with
     * shorter ones must still load, so this is a warning. */
    const char *challenge = value_of(host, "mdm.apple_scep_challenge");
    if (challenge && g_utf8_strlen(challenge, -1) < ORCHARD_MDM_CHALLENGE_MIN_CHARS)
        g_ptr_array_add(out, g_strdup_printf(
            "mdm.apple_scep_challenge is %ld characters long: anyone who guesses it gets a "
            "device identity; use at least %d letters and digits (openssl rand -hex 16)",
            (long)g_utf8_strlen(challenge, -1), ORCHARD_MDM_CHALLENGE_MIN_CHARS));
    return out;
}
