/* Fuzz target: the start of a file named by mdm.macos_updates.nudge_pkg
 * through orchard_nudge_pkg_check (a xar header and its table-of-contents
 * lengths; the package is then served to Macs). What it accepts must be a
 * xar archive whose header and table of contents fit inside the input. */
#include "tests/fuzz/fuzz.h"

#include "server_plugin/updates/updates_priv.h"

#include <stdlib.h>
#include <string.h>

static guint64 be(const uint8_t *p, int n)
{
    guint64 v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    if (orchard_nudge_pkg_check(data, size, &why) != 0) {
        if (!why || !*why)
            abort();
        return 0;
    }
    if (size < 28 || memcmp(data, "xar!", 4) != 0)
        abort();
    guint64 header = be(data + 4, 2), toc = be(data + 8, 8);
    if (header < 28 || header > size || toc == 0 || toc > size - header)
        abort();
    return 0;
}
