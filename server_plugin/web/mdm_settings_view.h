/* The data of Settings > Integrations > MDM (mdm_settings_page.c renders it
 * with templates/mdm_settings.html): the APNs and ABM descriptions the admin
 * API answers, plus what a person needs around them (dates to read, days
 * left, the exact renewal command, which setting names which file). */
#ifndef ORCHARD_WEB_MDM_SETTINGS_VIEW_H
#define ORCHARD_WEB_MDM_SETTINGS_VIEW_H

#include "server_plugin/config/mdm_config.h"

#include <glib.h>
#include <jansson.h>

/* The largest CSR file read to learn the email and organization. */
#define ORCHARD_MDM_CSR_MAX (64 * 1024)

/** Who asked Apple for the APNs certificate: `generate mdm-apple`'s --email and --org. */
typedef struct orchard_mdm_renewal_who {
    char *email;  /* NULL when it cannot be known */
    char *org;    /* NULL when it cannot be known */
    char *source; /* where they were read (a CSR's path, or the certificate's subject); NULL */
} orchard_mdm_renewal_who;

/**
 * Find the email and organization of the first request: the certificate's
 * own subject (emailAddress, O) when it has them (Apple's have not), else
 * the CSR `generate mdm-apple` wrote beside the APNs key `key_path` (NULL:
 * the key is inline, nothing to look beside): "<key>.csr" for "<key>.key",
 * then fleet-mdm-apple-apns.csr. A CSR counts only when it is PEM, at most
 * ORCHARD_MDM_CSR_MAX bytes, and holds the certificate's public key, so a
 * stale or unrelated file is never shown. Never fails: what is not found
 * stays NULL. Free with orchard_mdm_renewal_who_clear.
 */
void orchard_mdm_renewal_who_find(X509 *apns_cert, const char *key_path,
                                  orchard_mdm_renewal_who *out);
void orchard_mdm_renewal_who_clear(orchard_mdm_renewal_who *who);

/** What the page is made of; everything borrowed. */
typedef struct orchard_mdm_settings_input {
    /* The configuration did not load: why (it names the key, never a
     * value). The rest is then unset, and the page says MDM is off. */
    const char *config_error;
    int mdm_enabled;
    const char *mdm_off_reason;         /* when configured but off (an expired certificate) */
    json_t *apns;                       /* orchard_mdm_apple_json; NULL: no certificate */
    const orchard_mdm_renewal_who *who; /* may be NULL */
    int bm_configured;
    json_t *bm;           /* orchard_mdm_apple_bm_json; NULL with bm_error or unconfigured */
    const char *bm_error; /* the store could not be read */
    json_t *instances;    /* orchard_mdm_instances_json; NULL: the host cannot tell */
    /* The settings' values when they are paths (NULL: unset, or the
     * content is inline in the _bytes twin). */
    const char *apns_cert_path, *apns_key_path, *scep_cert_path, *scep_key_path;
    const char *bm_token_path;
    gint64 now;
} orchard_mdm_settings_input;

/**
 * The page's data: {"config_error"?, "apns": {...}, "abm": {...},
 * "instances"?} as docs/ui-pages-settings.md describes it. A new object
 * (json_decref); NULL only when out of memory.
 */
json_t *orchard_mdm_settings_view(const orchard_mdm_settings_input *in);

/**
 * `word` as one shell word for a command people paste: as it is when it
 * only has characters no shell treats specially, else in single quotes
 * ('\'' for a quote). g_free.
 */
char *orchard_mdm_shell_word(const char *word);

/** "12 days left", "1 day left", "less than a day left", "expired 3 days ago" (g_free). */
char *orchard_mdm_days_text(gint64 not_after, gint64 now);

#endif
