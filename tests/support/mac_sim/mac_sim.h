/* The Mac simulator (orchard_mac_sim): plays a Mac against an MDM server for
 * the tests, the benchmarks and `make run`. It enrolls through the enrollment
 * profile and SCEP (tests/support/scep_client.h), signs its check-ins with its
 * identity (Mdm-Signature), polls for commands and answers them as told.
 *
 * Functions that can fail return 0 or a negative ORCHARD_E... code and, when
 * error_msg is not NULL, set *error_msg to a message (free()). Strings and
 * buffers handed out are malloc'd (free()). A orchard_macsim_mac belongs to
 * one thread at a time; distinct Macs may run on distinct threads (the event
 * printer is locked). */
#ifndef ORCHARD_MAC_SIM_H
#define ORCHARD_MAC_SIM_H

#include <stddef.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <plist/plist.h>

#include "orchard/plugin.h" /* ORCHARD_E... codes */

#define ORCHARD_MACSIM_UDID_LEN 36  /* 8-4-4-4-12 upper-case hex */
#define ORCHARD_MACSIM_SERIAL_LEN 12
#define ORCHARD_MACSIM_TOKEN_LEN 32 /* APNs device token bytes */

/* Content types of the two kinds of request on the check-in URL. */
#define ORCHARD_MACSIM_CT_CHECKIN "application/x-apple-aspen-mdm-checkin"
#define ORCHARD_MACSIM_CT_REPORT "application/x-apple-aspen-mdm"

/* ---- identities ----------------------------------------------------------- */

/**
 * The simulated Mac number `index` under `seed`, predictable by tests:
 *   UDID   "%08X-4D41-4353-494D-%012X" (seed, index)  ("MACSIM" in the middle)
 *   serial "SIM%03X%06u" (seed & 0xFFF, index % 1000000)
 * udid needs ORCHARD_MACSIM_UDID_LEN + 1 bytes, serial ORCHARD_MACSIM_SERIAL_LEN + 1.
 */
void orchard_macsim_udid(char *udid, unsigned seed, unsigned index);
void orchard_macsim_serial(char *serial, unsigned seed, unsigned index);

/* One simulated Mac and everything it keeps between runs. */
typedef struct orchard_macsim_mac {
    char *dir;       /* its state folder */
    unsigned index, seed;
    char udid[ORCHARD_MACSIM_UDID_LEN + 1];
    char serial[ORCHARD_MACSIM_SERIAL_LEN + 1];
    unsigned char token[ORCHARD_MACSIM_TOKEN_LEN];
    char push_magic[ORCHARD_MACSIM_UDID_LEN + 1];
    unsigned char unlock_token[ORCHARD_MACSIM_TOKEN_LEN];
    char *server_url; /* the MDM payload's ServerURL (NULL before enrollment) */
    char *topic;      /* the MDM payload's Topic */
    EVP_PKEY *key;    /* the identity (NULL before enrollment) */
    X509 *cert;
    /* What the Mac runs and how it misbehaves (files os_version,
     * build_version, fail_profiles, managed_prefs; all optional). */
    char *os_version;      /* NULL: ORCHARD_MACSIM_OS_VERSION */
    char *build_version;   /* NULL: derived from os_version */
    char **fail_profiles;  /* InstallProfile of these identifiers answers Error */
    size_t n_fail_profiles;
    char *managed_prefs;   /* a root folder to write managed preferences under */
    /* Its TokenUpdate says AwaitingConfiguration: a Mac in Setup Assistant
     * whose DEP profile asks it to wait for DeviceConfigured (not kept on disk). */
    int awaiting_configuration;
} orchard_macsim_mac;

/* What a Mac runs unless told otherwise. */
#define ORCHARD_MACSIM_OS_VERSION "14.4.1"

/** The Mac's macOS version and build (never NULL; borrowed from mac or static). */
const char *orchard_macsim_os_version(const orchard_macsim_mac *mac);
const char *orchard_macsim_build_version(const orchard_macsim_mac *mac);

/** 1 when `v` is a macOS version as a Mac reports it (digits, 1 to 3 parts). */
int orchard_macsim_version_ok(const char *v);

/** Add an identifier to mac->fail_profiles (no duplicates). ORCHARD_ENOMEM. */
int orchard_macsim_fail_profile_add(orchard_macsim_mac *mac, const char *identifier);

/**
 * A Mac that does not exist on disk yet: fresh token, unlock token and push
 * magic, no identity. ORCHARD_ENOMEM. Release with orchard_macsim_mac_free.
 */
int orchard_macsim_mac_new(orchard_macsim_mac **out, const char *dir, unsigned seed,
                           unsigned index, char **error_msg);

/**
 * Read a Mac's folder (files udid, serial, index, seed, token, push_magic,
 * unlock_token, and once enrolled server_url, topic, key.pem, cert.pem).
 * ORCHARD_ENOTFOUND (no udid file), ORCHARD_EINVAL (a file is malformed).
 */
int orchard_macsim_mac_load(orchard_macsim_mac **out, const char *dir, char **error_msg);

/** Write every file of the folder (made 0700 when missing). ORCHARD_EIO. */
int orchard_macsim_mac_save(const orchard_macsim_mac *mac, char **error_msg);

void orchard_macsim_mac_free(orchard_macsim_mac *mac);

/**
 * The Macs under `state`: `state` itself when it is a Mac's folder, else its
 * sub-folders that are, sorted by name. *out is a malloc'd array of *n Macs
 * (free each with orchard_macsim_mac_free, then the array). ORCHARD_ENOTFOUND
 * (none), ORCHARD_EINVAL / ORCHARD_EIO as orchard_macsim_mac_load.
 */
int orchard_macsim_load_all(orchard_macsim_mac ***out, size_t *n, const char *state,
                            char **error_msg);

/** "<state>/mac-<index, 5 digits>". free(). */
char *orchard_macsim_mac_dir(const char *state, unsigned index);

/* ---- the enrollment profile ----------------------------------------------- */

/* What a Mac takes from the enrollment profile. Every string malloc'd. */
typedef struct {
    char *scep_url, *challenge, *subject; /* subject as "/O=x/CN=y" */
    int keysize;
    char *server_url, *topic, *identity_uuid, *scep_uuid;
    int sign_message;
    int was_signed; /* the profile came wrapped in CMS SignedData */
} orchard_macsim_profile;

/**
 * Read a profile: XML or binary plist, or a CMS SignedData (DER) around one
 * (the content is taken; the signature is not judged, as a Mac shows an
 * unverified profile to its user and installs it anyway). One SCEP payload
 * with URL and Challenge, one MDM payload with ServerURL and Topic are
 * required; IdentityCertificateUUID must name the SCEP payload.
 * ORCHARD_EINVAL (with the reason), ORCHARD_ENOMEM.
 */
int orchard_macsim_profile_parse(orchard_macsim_profile *out, const unsigned char *data,
                                 size_t len, char **error_msg);
void orchard_macsim_profile_clear(orchard_macsim_profile *p);

/* ---- HTTP ------------------------------------------------------------------ */

typedef struct orchard_macsim_http orchard_macsim_http;

typedef struct {
    long status;
    char *content_type;
    unsigned char *body;
    size_t len;
} orchard_macsim_response;

/** A keep-alive libcurl handle; `insecure` skips TLS checks, `cafile` trusts a PEM. */
int orchard_macsim_http_new(orchard_macsim_http **out, const char *cafile, int insecure,
                            char **error_msg);
void orchard_macsim_http_free(orchard_macsim_http *h);

/**
 * `method` on `url` with `body` (may be NULL/0) as `content_type` and, when
 * `signature` is not NULL, an Mdm-Signature header. Any status is a
 * success. ORCHARD_EIO (connection, 30 s timeout), ORCHARD_ETOOBIG (a reply
 * over 32 MiB).
 */
int orchard_macsim_http_do(orchard_macsim_http *h, const char *method, const char *url,
                           const void *body, size_t len, const char *content_type,
                           const char *signature, orchard_macsim_response *out, char **error_msg);
void orchard_macsim_response_clear(orchard_macsim_response *r);

/* ---- check-ins and reports ------------------------------------------------- */

/* How to sign a request (hostile helpers for tests). */
typedef enum {
    ORCHARD_MACSIM_SIGN_OWN = 0,  /* the Mac's own identity */
    ORCHARD_MACSIM_SIGN_NONE,     /* no Mdm-Signature header */
    ORCHARD_MACSIM_SIGN_BAD,      /* a signature over other bytes */
} orchard_macsim_sign_mode;

typedef struct {
    orchard_macsim_sign_mode mode;
    const orchard_macsim_mac *as; /* sign with this Mac's identity instead (NULL: own) */
} orchard_macsim_signing;

/**
 * The check-in plist (XML) for `message_type` (Authenticate, TokenUpdate,
 * CheckOut, or anything else with only the common keys) from `mac`.
 * ORCHARD_EINVAL (no topic yet), ORCHARD_ENOMEM.
 */
int orchard_macsim_checkin_body(char **xml, size_t *len, const orchard_macsim_mac *mac,
                                const char *message_type, char **error_msg);

/**
 * Base64 of a CMS detached SignedData over `body` by `key`/`cert` (what a
 * Mac puts in Mdm-Signature). ORCHARD_EINVAL, ORCHARD_ENOMEM.
 */
int orchard_macsim_sign(char **b64, const void *body, size_t len, X509 *cert, EVP_PKEY *key,
                        char **error_msg);

/** The Mdm-Signature value for `body` as `signing` says (NULL for SIGN_NONE). */
int orchard_macsim_signature(char **b64, const void *body, size_t len,
                             const orchard_macsim_mac *mac, const orchard_macsim_signing *signing,
                             char **error_msg);

/**
 * Send `body` to the Mac's ServerURL (PUT) as `content_type`, signed as
 * `signing` says (NULL: own). *out gets the reply, any status.
 * ORCHARD_EINVAL (not enrolled), ORCHARD_EIO.
 */
int orchard_macsim_send(orchard_macsim_http *h, const orchard_macsim_mac *mac,
                        const char *content_type, const void *body, size_t len,
                        const orchard_macsim_signing *signing, orchard_macsim_response *out,
                        char **error_msg);

/**
 * Send one check-in of `type` signed as `signing` says (NULL: own) and give
 * its HTTP status in *status, whatever it is (the caller judges it).
 * ORCHARD_EINVAL (not enrolled), ORCHARD_EIO.
 */
int orchard_macsim_checkin(orchard_macsim_mac *mac, orchard_macsim_http *h, const char *type,
                           const orchard_macsim_signing *signing, long *status, char **error_msg);

/* ---- enrollment ------------------------------------------------------------ */

/**
 * Enroll `mac`: GET the profile at `enroll_url`, SCEP (GetCACert, PKCSReq
 * with the profile's challenge and subject, for a fresh key of the profile's
 * Keysize; or for mac->key when the caller set it and mac->cert is NULL, so a
 * benchmark can skip hundreds of RSA key generations), save the identity, then send
 * Authenticate and TokenUpdate. 0 when both got 200. ORCHARD_EPROTO (an
 * HTTP status other than 200, with *status set when status is not NULL, or a
 * SCEP failure), ORCHARD_EINVAL (bad profile), ORCHARD_EIO.
 */
int orchard_macsim_enroll(orchard_macsim_mac *mac, orchard_macsim_http *h, const char *enroll_url,
                          long *status, char **error_msg);

/** What orchard_macsim_enroll does once it has the profile (`profile`, as
 * downloaded): SCEP, keep the identity, Authenticate, TokenUpdate. */
int orchard_macsim_enroll_profile(orchard_macsim_mac *mac, orchard_macsim_http *h,
                                  const unsigned char *profile, size_t len, long *status,
                                  char **error_msg);

/* ---- automatic enrollment (dep.c) ---------------------------------------- */

/* Where the DEP profile's url points on an orchard server. */
#define ORCHARD_MACSIM_DEP_PATH "/api/mdm/apple/dep/enroll"

/**
 * A stand-in for the identity Apple attests a Mac with: a fresh P-256 key
 * and a self-signed certificate (CN "<serial> device identity", valid an
 * hour). *key, *cert (EVP_PKEY_free, X509_free). ORCHARD_ENOMEM.
 */
int orchard_macsim_device_identity(EVP_PKEY **key, X509 **cert, const orchard_macsim_mac *mac,
                                   char **error_msg);

/**
 * The machine info a Mac in Setup Assistant posts: a CMS SignedData (DER,
 * content attached, `cert` included) by `key` over the XML MachineInfo plist
 * (UDID, SERIAL, PRODUCT, VERSION, LANGUAGE, OS_VERSION,
 * SOFTWARE_UPDATE_DEVICE_ID, SUPPLEMENTAL_BUILD_VERSION). *der malloc'd.
 * ORCHARD_EINVAL (OpenSSL refused), ORCHARD_ENOMEM.
 */
int orchard_macsim_machine_info(unsigned char **der, size_t *len, const orchard_macsim_mac *mac,
                                X509 *cert, EVP_PKEY *key, char **error_msg);

/**
 * Enroll through Apple Business Manager: POST the machine info (signed by a
 * fresh device identity) as application/pkcs7-signature to `server_url` +
 * ORCHARD_MACSIM_DEP_PATH, then orchard_macsim_enroll_profile with the
 * answer. ORCHARD_EPROTO with *status on any HTTP status but 200 (403: the
 * serial is not assigned to the server), and as orchard_macsim_enroll.
 */
int orchard_macsim_dep_enroll(orchard_macsim_mac *mac, orchard_macsim_http *h,
                              const char *server_url, long *status, char **error_msg);

/* ---- polling ---------------------------------------------------------------- */

/* An answer to a command. */
typedef enum {
    ORCHARD_MACSIM_ACK = 0,
    ORCHARD_MACSIM_ERROR,
    ORCHARD_MACSIM_NOTNOW,
} orchard_macsim_answer;

/** "ack", "error", "notnow" -> answer; -1 for anything else. */
int orchard_macsim_answer_parse(const char *s);

/* A per-RequestType answer. */
typedef struct {
    char *request_type;
    orchard_macsim_answer answer;
} orchard_macsim_override;

typedef struct {
    orchard_macsim_answer answer; /* default */
    const orchard_macsim_override *overrides;
    size_t n_overrides;
    int max_commands;             /* per session; 0 = 1000 */
    /* For every Mac of the run, on top of what each Mac keeps: */
    const char *const *fail_profiles;
    size_t n_fail_profiles;
    const char *managed_prefs;    /* overrides the Mac's own root (NULL: the Mac's) */
} orchard_macsim_poll_opts;

/* A command the server sent, as far as the simulator reads it. */
typedef struct {
    char *command_uuid, *request_type;
    plist_t command;     /* the Command dictionary (owned; NULL when built by hand) */
    plist_t error_chain; /* set by orchard_macsim_execute when it failed (owned) */
} orchard_macsim_command;

/**
 * Parse a command plist: CommandUUID (string) and Command.RequestType
 * (string) are required; the body passes the plist guard first (depth,
 * size). ORCHARD_EINVAL with the reason.
 */
int orchard_macsim_command_parse(orchard_macsim_command *out, const void *data, size_t len,
                                 char **error_msg);
void orchard_macsim_command_clear(orchard_macsim_command *c);

/**
 * The report plist (XML) answering `cmd` with `answer`: Acknowledged (with
 * QueryResponses (only the Queries asked, all when none) / ProfileList (the
 * enrollment profile and the installed ones) / SecurityInfo for those
 * request types), Error (cmd->error_chain, or a generic ErrorChain) or
 * NotNow. NULL cmd: Idle. ORCHARD_ENOMEM.
 */
int orchard_macsim_report_body(char **xml, size_t *len, const orchard_macsim_mac *mac,
                               const orchard_macsim_command *cmd, orchard_macsim_answer answer,
                               char **error_msg);

/* ---- installed profiles (installed.c) and managed preferences ---------------- */

/** The largest InstallProfile payload the simulator takes (a Mac has no
 * such limit; a test that sends more wants to see it refused). */
#define ORCHARD_MACSIM_PROFILE_MAX ((size_t)8 * 1024 * 1024)

/**
 * Carry out a command that changes the Mac, as macOS does: InstallProfile
 * (Payload: an XML or binary plist, or CMS SignedData around one, with
 * PayloadType Configuration and a PayloadIdentifier) installs or replaces
 * the profile by identifier; RemoveProfile {Identifier} removes one (an
 * unknown identifier is an Error, as on a Mac). After either, the managed
 * preferences under `managed_prefs` (NULL: none) are written again.
 * Other request types do nothing. Returns ORCHARD_MACSIM_ACK, or
 * ORCHARD_MACSIM_ERROR with cmd->error_chain set (a hostile payload, an
 * identifier in `fail` (n_fail) or mac->fail_profiles, a disk error).
 */
orchard_macsim_answer orchard_macsim_execute(const orchard_macsim_mac *mac,
                                             orchard_macsim_command *cmd,
                                             const char *const *fail, size_t n_fail,
                                             const char *managed_prefs);

/**
 * Install `data` (as InstallProfile's Payload) into the Mac's folder
 * (profiles/<identifier, %-escaped>.mobileconfig holds the plist). 0 and
 * *identifier (free(); may be NULL); ORCHARD_EINVAL (not a profile, with the
 * reason), ORCHARD_ETOOBIG, ORCHARD_EIO.
 */
int orchard_macsim_profile_install(const orchard_macsim_mac *mac, const void *data, size_t len,
                                   char **identifier, char **error_msg);

/** Remove an installed profile. ORCHARD_ENOTFOUND, ORCHARD_EIO. */
int orchard_macsim_profile_remove(const orchard_macsim_mac *mac, const char *identifier,
                                  char **error_msg);

/**
 * The ProfileList array a Mac answers with: the enrollment profile, then
 * each installed profile sorted by identifier ({PayloadIdentifier,
 * PayloadUUID, PayloadDisplayName, PayloadVersion, IsManaged, PayloadContent
 * [{PayloadIdentifier, PayloadType, PayloadUUID, PayloadVersion, ...}]}).
 * Never NULL (plist_free).
 */
plist_t orchard_macsim_profile_list(const orchard_macsim_mac *mac);

/** The installed identifiers, sorted, joined by ',' (malloc'd; "" when none). */
char *orchard_macsim_profile_ids(const orchard_macsim_mac *mac);

/**
 * Write what macOS derives from the installed profiles under `root`:
 * Library/Managed Preferences/<PayloadType>.plist for every payload whose
 * type is a preference domain (not com.apple.*): its keys without the
 * Payload* ones, profiles merged by identifier order; files of domains no
 * longer set are removed; System/Library/CoreServices/SystemVersion.plist
 * says the Mac's OS version. ORCHARD_EIO.
 */
int orchard_macsim_managed_prefs_sync(const orchard_macsim_mac *mac, const char *root,
                                      char **error_msg);

/* What one poll session did. */
typedef struct {
    int commands;   /* commands received */
    int acked, errored, notnow;
    long status;    /* the last HTTP status */
} orchard_macsim_poll_result;

/**
 * One session: Idle, then answer each command the server sends until it
 * answers with an empty 200 (or max_commands). Emits command and answered
 * events. ORCHARD_EPROTO on a status other than 200 (res->status says
 * which) or a command that does not parse, ORCHARD_EIO.
 */
int orchard_macsim_poll(orchard_macsim_mac *mac, orchard_macsim_http *h,
                        const orchard_macsim_poll_opts *opts, orchard_macsim_poll_result *res,
                        char **error_msg);

/* ---- events: one JSON object a line ----------------------------------------- */

/**
 * Print {"event": EVENT, "udid": ..., then `fmt`'s pairs} to the event
 * stream (stdout unless orchard_macsim_events_to changed it), under a lock.
 * `fmt` is a list of key/type pairs: "key=s" for a string (escaped), "key=d"
 * for an int, "key=l" for a long, ended by NULL; e.g.
 *   orchard_macsim_event("answered", mac, "command_uuid=s", uuid, "status=s", st, NULL);
 */
void orchard_macsim_event(const char *event, const orchard_macsim_mac *mac, ...);
void orchard_macsim_events_to(FILE *f);

#endif
