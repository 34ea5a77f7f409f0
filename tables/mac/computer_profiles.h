/* `profiles -C -o stdout-xml`, parsed once per query for mdm and
 * macos_profiles: the device-wide profiles as a plist array. */
#ifndef ORCHARD_COMPUTER_PROFILES_H
#define ORCHARD_COMPUTER_PROFILES_H

#include "tables/mac/mac_source.h"

/**
 * The `_computerlevel` profiles. Returns 0 with *root (plist_free; NULL when
 * no profile is installed) and *profiles (borrowed from *root: an array, or
 * NULL); or a negative code after logging one warning naming the command.
 */
int agent_computer_profiles(orchard_mac_source *src, plist_t *root, plist_t *profiles);

#endif
