/* Enrollment as a Mac does it: download the enrollment profile, get an
 * identity from the profile's SCEP payload (with the tests' SCEP requester,
 * tests/support/scep_client.h), keep it, then Authenticate and TokenUpdate on
 * the MDM payload's ServerURL. */
#include "tests/support/mac_sim/mac_sim.h"

#include <stdlib.h>
#include <string.h>

#include "tests/support/mac_sim/mac_sim_priv.h"
#include "tests/support/scep_client.h"

/* SCEP: GetCACert, a fresh key of the profile's size, PKCSReq over POST. */
static int scep_identity(orchard_macsim_mac *mac, orchard_macsim_http *h,
                         const orchard_macsim_profile *prof, char **error_msg)
{
    orchard_scepc_http *sh = NULL;
    X509 *ca = NULL;
    EVP_PKEY *key = NULL;
    orchard_scepc_reply rep = {0};
    int rc = orchard_scepc_http_new(&sh, prof->scep_url, macsim_http_cafile(h),
                                    macsim_http_insecure(h), error_msg);
    if (rc)
        return rc;
    if ((rc = orchard_scepc_get_ca_cert(sh, &ca, error_msg)))
        goto out;
    if (mac->key && !mac->cert) { /* the caller's key (see orchard_macsim_enroll) */
        key = mac->key;
        EVP_PKEY_up_ref(key);
    } else if ((rc = orchard_scepc_rsa_key(&key, prof->keysize, error_msg))) {
        goto out;
    }
    orchard_scepc_request_opts o = {
        .message_type = ORCHARD_SCEPC_PKCSREQ,
        .key = key,
        .subject = prof->subject,
        .challenge = prof->challenge,
        .ca = ca,
    };
    if ((rc = orchard_scepc_enroll(sh, &o, 0, &rep, error_msg)))
        goto out;
    if (rep.pki_status != ORCHARD_SCEPC_SUCCESS || !rep.cert) {
        rc = macsim_fail(error_msg, ORCHARD_EPROTO, "SCEP answered %s (failInfo %s)",
                         orchard_scepc_status_name(rep.pki_status),
                         orchard_scepc_fail_info_name(rep.fail_info));
        goto out;
    }
    EVP_PKEY_free(mac->key);
    X509_free(mac->cert);
    mac->key = key;
    mac->cert = rep.cert;
    key = NULL;
    rep.cert = NULL;
out:
    orchard_scepc_reply_clear(&rep);
    EVP_PKEY_free(key);
    X509_free(ca);
    orchard_scepc_http_free(sh);
    return rc;
}

/* One signed check-in that must get 200; a refusal is an event and EPROTO. */
static int checkin(orchard_macsim_mac *mac, orchard_macsim_http *h, const char *type,
                   long *status, char **error_msg)
{
    long st = 0;
    int rc = orchard_macsim_checkin(mac, h, type, NULL, &st, error_msg);
    if (rc)
        return rc;
    if (status)
        *status = st;
    if (st != 200) {
        orchard_macsim_event("refused", mac, "message=s", type, "status=l", st, NULL);
        return macsim_fail(error_msg, ORCHARD_EPROTO, "%s: %s answered HTTP %ld", mac->udid,
                           type, st);
    }
    return 0;
}

int orchard_macsim_enroll(orchard_macsim_mac *mac, orchard_macsim_http *h, const char *enroll_url,
                          long *status, char **error_msg)
{
    orchard_macsim_response r = {0};
    int rc = orchard_macsim_http_do(h, "GET", enroll_url, NULL, 0, NULL, NULL, &r, error_msg);
    if (rc)
        return rc;
    if (status)
        *status = r.status;
    if (r.status != 200) {
        orchard_macsim_event("refused", mac, "message=s", "profile", "status=l", r.status, NULL);
        rc = macsim_fail(error_msg, ORCHARD_EPROTO, "the enrollment profile: HTTP %ld",
                         r.status);
    } else {
        rc = orchard_macsim_enroll_profile(mac, h, r.body, r.len, status, error_msg);
    }
    orchard_macsim_response_clear(&r);
    return rc;
}

int orchard_macsim_enroll_profile(orchard_macsim_mac *mac, orchard_macsim_http *h,
                                  const unsigned char *profile, size_t len, long *status,
                                  char **error_msg)
{
    orchard_macsim_profile prof = {0};
    int rc;
    if ((rc = orchard_macsim_profile_parse(&prof, profile, len, error_msg)) ||
        (rc = scep_identity(mac, h, &prof, error_msg)))
        goto out;
    free(mac->server_url);
    free(mac->topic);
    mac->server_url = strdup(prof.server_url);
    mac->topic = strdup(prof.topic);
    if (!mac->server_url || !mac->topic) {
        rc = macsim_fail(error_msg, ORCHARD_ENOMEM, "out of memory");
        goto out;
    }
    /* Kept before checking in, so a refused check-in can be replayed by hand. */
    if ((rc = orchard_macsim_mac_save(mac, error_msg)) ||
        (rc = checkin(mac, h, "Authenticate", status, error_msg)) ||
        (rc = checkin(mac, h, "TokenUpdate", status, error_msg)))
        goto out;
out:
    orchard_macsim_profile_clear(&prof);
    return rc;
}

int orchard_macsim_checkin(orchard_macsim_mac *mac, orchard_macsim_http *h, const char *type,
                           const orchard_macsim_signing *signing, long *status, char **error_msg)
{
    char *xml = NULL;
    size_t len = 0;
    orchard_macsim_response r = {0};
    int rc = orchard_macsim_checkin_body(&xml, &len, mac, type, error_msg);
    if (!rc)
        rc = orchard_macsim_send(h, mac, ORCHARD_MACSIM_CT_CHECKIN, xml, len, signing, &r,
                                 error_msg);
    if (!rc)
        *status = r.status;
    orchard_macsim_response_clear(&r);
    free(xml);
    return rc;
}
