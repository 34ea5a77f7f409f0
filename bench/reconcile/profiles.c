/* The reconcile benchmark's configuration profiles: ten .mobileconfig files
 * (five per team) of the kinds admins upload, 2 to 10 KB each, written to a
 * folder for `orchard apply` (or stored directly by seed.c). The content is
 * made here so every run applies the same bytes. */
#include "bench/reconcile/profiles.h"

#include <glib.h>
#include <stdio.h>

/* One list element of a payload: a profile grows by whole elements until
 * it reaches its size, as real ones grow with the apps they name. */
typedef void (*item_fn)(GString *s, int i);

static void firewall_app(GString *s, int i)
{
    g_string_append_printf(s,
                           "\t\t\t\t<dict>\n\t\t\t\t\t<key>BundleID</key>\n"
                           "\t\t\t\t\t<string>com.example.vendor%d.app</string>\n"
                           "\t\t\t\t\t<key>Allowed</key>\n\t\t\t\t\t<%s/>\n\t\t\t\t</dict>\n",
                           i, i % 3 ? "true" : "false");
}

static void pppc_service(GString *s, int i)
{
    g_string_append_printf(
        s,
        "\t\t\t\t<dict>\n\t\t\t\t\t<key>Identifier</key>\n"
        "\t\t\t\t\t<string>com.example.agent%d</string>\n"
        "\t\t\t\t\t<key>IdentifierType</key>\n\t\t\t\t\t<string>bundleID</string>\n"
        "\t\t\t\t\t<key>CodeRequirement</key>\n"
        "\t\t\t\t\t<string>identifier \"com.example.agent%d\" and anchor apple generic and "
        "certificate 1[field.1.2.840.113635.100.6.2.6] /* exists */ and certificate "
        "leaf[field.1.2.840.113635.100.6.1.13] /* exists */ and certificate leaf[subject.OU] = "
        "\"A1B2C3D4E%d\"</string>\n"
        "\t\t\t\t\t<key>Allowed</key>\n\t\t\t\t\t<true/>\n"
        "\t\t\t\t\t<key>Comment</key>\n\t\t\t\t\t<string>Full disk access for agent %d</string>\n"
        "\t\t\t\t</dict>\n",
        i, i, i % 10, i);
}

static void login_item_rule(GString *s, int i)
{
    g_string_append_printf(s,
                           "\t\t\t\t<dict>\n\t\t\t\t\t<key>RuleType</key>\n"
                           "\t\t\t\t\t<string>BundleIdentifierPrefix</string>\n"
                           "\t\t\t\t\t<key>RuleValue</key>\n"
                           "\t\t\t\t\t<string>com.example.helper%d</string>\n"
                           "\t\t\t\t\t<key>Comment</key>\n"
                           "\t\t\t\t\t<string>Managed login item %d</string>\n\t\t\t\t</dict>\n",
                           i, i);
}

static void notification_app(GString *s, int i)
{
    g_string_append_printf(s,
                           "\t\t\t\t<dict>\n\t\t\t\t\t<key>BundleIdentifier</key>\n"
                           "\t\t\t\t\t<string>com.example.notifier%d</string>\n"
                           "\t\t\t\t\t<key>AlertType</key>\n\t\t\t\t\t<integer>%d</integer>\n"
                           "\t\t\t\t\t<key>BadgesEnabled</key>\n\t\t\t\t\t<true/>\n"
                           "\t\t\t\t\t<key>CriticalAlertEnabled</key>\n\t\t\t\t\t<false/>\n"
                           "\t\t\t\t\t<key>NotificationsEnabled</key>\n\t\t\t\t\t<true/>\n"
                           "\t\t\t\t\t<key>ShowInLockScreen</key>\n\t\t\t\t\t<true/>\n"
                           "\t\t\t\t\t<key>SoundsEnabled</key>\n\t\t\t\t\t<true/>\n"
                           "\t\t\t\t</dict>\n",
                           i, 1 + i % 2);
}

static void hidden_user(GString *s, int i)
{
    g_string_append_printf(s, "\t\t\t\t<string>svc_account%d</string>\n", i);
}

static void trusted_server(GString *s, int i)
{
    g_string_append_printf(s, "\t\t\t\t<string>radius%d.corp.example.com</string>\n", i);
}

/* Certificate-shaped base64, 64 characters a line: the size of a real
 * root certificate payload without being one (nothing checks it). */
static void cert_line(GString *s, int i)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    g_string_append(s, "\t\t\t");
    for (int k = 0; k < 64; k++)
        g_string_append_c(s, b64[(i * 131 + k * 7) % 64]);
    g_string_append_c(s, '\n');
}

static void dock_tile(GString *s, int i)
{
    g_string_append_printf(s,
                           "\t\t\t\t<dict>\n\t\t\t\t\t<key>tile-data</key>\n\t\t\t\t\t<dict>\n"
                           "\t\t\t\t\t\t<key>file-label</key>\n"
                           "\t\t\t\t\t\t<string>Application %d</string>\n"
                           "\t\t\t\t\t\t<key>file-type</key>\n\t\t\t\t\t\t<integer>41</integer>\n"
                           "\t\t\t\t\t\t<key>url</key>\n"
                           "\t\t\t\t\t\t<string>file:///Applications/Application%d.app/</string>\n"
                           "\t\t\t\t\t</dict>\n\t\t\t\t\t<key>tile-type</key>\n"
                           "\t\t\t\t\t<string>file-tile</string>\n\t\t\t\t</dict>\n",
                           i, i);
}

static void system_extension(GString *s, int i)
{
    g_string_append_printf(s,
                           "\t\t\t\t<key>TEAM%06d</key>\n\t\t\t\t<array>\n"
                           "\t\t\t\t\t<string>com.example.vendor%d.network-extension</string>\n"
                           "\t\t\t\t\t<string>com.example.vendor%d.endpoint-security</string>\n"
                           "\t\t\t\t</array>\n",
                           i, i, i);
}

static void sso_host(GString *s, int i)
{
    g_string_append_printf(s, "\t\t\t\t<string>https://login%d.corp.example.com</string>\n", i);
}

typedef struct {
    const char *slug;         /* identifier and file name part */
    const char *name;         /* PayloadDisplayName */
    const char *payload_type; /* the inner payload's PayloadType */
    const char *fixed;        /* the payload's own keys before the list */
    const char *list_open;    /* opens the list (a key and <array> or <dict>) */
    const char *list_close;
    item_fn item;
    size_t bytes; /* the size the profile grows to */
} profile_kind;

static const profile_kind kinds[BENCH_PROFILES] = {
    /* team 1: workstations */
    {"firewall", "Firewall", "com.apple.security.firewall",
     "\t\t\t<key>EnableFirewall</key>\n\t\t\t<true/>\n\t\t\t<key>EnableStealthMode</key>\n"
     "\t\t\t<true/>\n\t\t\t<key>BlockAllIncoming</key>\n\t\t\t<false/>\n",
     "\t\t\t<key>Applications</key>\n\t\t\t<array>\n", "\t\t\t</array>\n", firewall_app, 2500},
    {"pppc", "Privacy Preferences Policy Control", "com.apple.TCC.configuration-profile-policy",
     "", "\t\t\t<key>Services</key>\n\t\t\t<dict>\n\t\t\t<key>SystemPolicyAllFiles</key>\n"
     "\t\t\t<array>\n", "\t\t\t</array>\n\t\t\t</dict>\n", pppc_service, 10000},
    {"login-items", "Managed Login Items", "com.apple.servicemanagement", "",
     "\t\t\t<key>Rules</key>\n\t\t\t<array>\n", "\t\t\t</array>\n", login_item_rule, 4000},
    {"notifications", "Notifications", "com.apple.notificationsettings", "",
     "\t\t\t<key>NotificationSettings</key>\n\t\t\t<array>\n", "\t\t\t</array>\n",
     notification_app, 6000},
    {"loginwindow", "Login Window", "com.apple.loginwindow",
     "\t\t\t<key>SHOWFULLNAME</key>\n\t\t\t<true/>\n\t\t\t<key>DisableGuestAccount</key>\n"
     "\t\t\t<true/>\n\t\t\t<key>LoginwindowText</key>\n"
     "\t\t\t<string>Property of Example Corp. Unauthorised use is prohibited.</string>\n",
     "\t\t\t<key>HiddenUsersList</key>\n\t\t\t<array>\n", "\t\t\t</array>\n", hidden_user,
     2000},
    /* team 2: laptops */
    {"wifi", "Corporate Wi-Fi", "com.apple.wifi.managed",
     "\t\t\t<key>SSID_STR</key>\n\t\t\t<string>ExampleCorp</string>\n"
     "\t\t\t<key>EncryptionType</key>\n\t\t\t<string>WPA2</string>\n"
     "\t\t\t<key>AutoJoin</key>\n\t\t\t<true/>\n\t\t\t<key>HIDDEN_NETWORK</key>\n\t\t\t<false/>\n",
     "\t\t\t<key>EAPClientConfiguration</key>\n\t\t\t<dict>\n"
     "\t\t\t<key>TLSTrustedServerNames</key>\n\t\t\t<array>\n",
     "\t\t\t</array>\n\t\t\t</dict>\n", trusted_server, 2000},
    {"root-ca", "Example Corp Root CA", "com.apple.security.root",
     "\t\t\t<key>PayloadCertificateFileName</key>\n\t\t\t<string>example-root.cer</string>\n",
     "\t\t\t<key>PayloadContent</key>\n\t\t\t<data>\n", "\t\t\t</data>\n", cert_line, 3000},
    {"dock", "Dock", "com.apple.dock",
     "\t\t\t<key>orientation</key>\n\t\t\t<string>bottom</string>\n"
     "\t\t\t<key>autohide</key>\n\t\t\t<false/>\n",
     "\t\t\t<key>static-apps</key>\n\t\t\t<array>\n", "\t\t\t</array>\n", dock_tile, 5000},
    {"system-extensions", "System Extensions", "com.apple.system-extension-policy",
     "\t\t\t<key>AllowUserOverrides</key>\n\t\t\t<false/>\n",
     "\t\t\t<key>AllowedSystemExtensions</key>\n\t\t\t<dict>\n", "\t\t\t</dict>\n",
     system_extension, 7000},
    {"sso", "Single Sign-On", "com.apple.extensiblesso",
     "\t\t\t<key>ExtensionIdentifier</key>\n\t\t\t<string>com.example.sso.extension</string>\n"
     "\t\t\t<key>TeamIdentifier</key>\n\t\t\t<string>A1B2C3D4E5</string>\n"
     "\t\t\t<key>Type</key>\n\t\t\t<string>Redirect</string>\n",
     "\t\t\t<key>URLs</key>\n\t\t\t<array>\n", "\t\t\t</array>\n", sso_host, 9000},
};

/* A fixed UUID per profile and payload, so every run uploads the same bytes. */
static void uuid_for(char out[37], int profile, int part)
{
    g_snprintf(out, 37, "B0C0%04X-%04X-4000-8000-%012X", (unsigned)profile, (unsigned)part,
               (unsigned)(profile * 16 + part));
}

void bench_profile_uuid(int i, char out[37]) { uuid_for(out, i, 0); }

const char *bench_profile_slug(int i) { return kinds[i].slug; }
const char *bench_profile_name(int i) { return kinds[i].name; }

char *bench_profile_identifier(int i)
{
    return g_strdup_printf("com.example.bench.%s", kinds[i].slug);
}

GBytes *bench_profile_make(int i)
{
    const profile_kind *k = &kinds[i];
    g_autofree char *ident = bench_profile_identifier(i);
    char outer[37], inner[37];
    GString *s = g_string_new(NULL);
    GString *tail = g_string_new(NULL);

    uuid_for(outer, i, 0);
    uuid_for(inner, i, 1);
    g_string_append_printf(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
        "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
        "<plist version=\"1.0\">\n<dict>\n\t<key>PayloadContent</key>\n\t<array>\n\t\t<dict>\n"
        "\t\t\t<key>PayloadDisplayName</key>\n\t\t\t<string>%s</string>\n"
        "\t\t\t<key>PayloadIdentifier</key>\n\t\t\t<string>%s.payload</string>\n"
        "\t\t\t<key>PayloadType</key>\n\t\t\t<string>%s</string>\n"
        "\t\t\t<key>PayloadUUID</key>\n\t\t\t<string>%s</string>\n"
        "\t\t\t<key>PayloadVersion</key>\n\t\t\t<integer>1</integer>\n%s%s",
        k->name, ident, k->payload_type, inner, k->fixed, k->list_open);
    g_string_append_printf(
        tail,
        "%s\t\t</dict>\n\t</array>\n"
        "\t<key>PayloadDescription</key>\n\t<string>%s for the reconcile benchmark</string>\n"
        "\t<key>PayloadDisplayName</key>\n\t<string>%s</string>\n"
        "\t<key>PayloadIdentifier</key>\n\t<string>%s</string>\n"
        "\t<key>PayloadOrganization</key>\n\t<string>Example Corp</string>\n"
        "\t<key>PayloadRemovalDisallowed</key>\n\t<true/>\n"
        "\t<key>PayloadScope</key>\n\t<string>System</string>\n"
        "\t<key>PayloadType</key>\n\t<string>Configuration</string>\n"
        "\t<key>PayloadUUID</key>\n\t<string>%s</string>\n"
        "\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n</dict>\n</plist>\n",
        k->list_close, k->name, k->name, ident, outer);
    for (int n = 0; s->len + tail->len < k->bytes; n++)
        k->item(s, n);
    g_string_append_len(s, tail->str, (gssize)tail->len);
    g_string_free(tail, TRUE);
    return g_string_free_to_bytes(s);
}
