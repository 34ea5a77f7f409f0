/* Fuzz target: an admin's MDM command (POST /commands/run's `command` after
 * base64) through orchard_command_parse; what it accepts must come out as
 * XML that parses again to the same CommandUUID and RequestType, since that
 * XML is what devices receive. */
#include "tests/fuzz/fuzz.h"

#include "server_plugin/commands/command.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    orchard_command_parsed c, again;
    char *reason = NULL, *reason2 = NULL;

    if (orchard_command_parse(data, size, &c, &reason) == 0) {
        if (orchard_command_parse(c.xml, c.xml_len, &again, &reason2) != 0 ||
            strcmp(again.uuid, c.uuid) != 0 || strcmp(again.request_type, c.request_type) != 0 ||
            again.generated_uuid)
            abort(); /* the normalized command must read back as itself */
        orchard_command_parsed_clear(&again);
        orchard_command_parsed_clear(&c);
    } else if (!reason) {
        abort(); /* every refusal says why */
    }
    g_free(reason);
    g_free(reason2);
    return 0;
}
