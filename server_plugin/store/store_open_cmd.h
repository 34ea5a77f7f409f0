/* The store as a command run from the shell (`orchard user ...`, `orchard
 * team ...`) opens it: the one `orchard serve` uses (store.sqlite or
 * store.postgres), migrated, with the reason printed when it cannot be. */
#ifndef ORCHARD_SERVER_STORE_OPEN_CMD_H
#define ORCHARD_SERVER_STORE_OPEN_CMD_H

/**
 * Open and migrate the configured store for `orchard <cmd>`; `lives` names
 * what lives there ("users"). Returns 0, or 1 (the command's exit status)
 * after saying why on standard error.
 */
int orchard_sstore_open_cmd(const char *cmd, const char *lives);

#endif
