/* The one entry point every fuzz target defines, declared once so the
 * targets build with -Wmissing-prototypes; libFuzzer (clang, ORCHARD_FUZZ)
 * or replay_main.c (every build, ctest) calls it. */
#ifndef ORCHARD_FUZZ_H
#define ORCHARD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Must not keep `data` past the call; returns 0 (libFuzzer reserves others). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
