/* An object with relocations of every kind the link step applies: a call to a syscall, an
 * internal call, a pointer to read-only data. The test damages them. */
#include "tos.h"

static const char MESSAGE[] = "relocated";

static uint64_t __attribute__((noinline)) helper(uint64_t x) { return x * 3 + 1; }

uint64_t entrypoint(const uint8_t *input, uint64_t input_len) {
    (void)input;
    tos_log((const uint8_t *)MESSAGE, sizeof(MESSAGE) - 1);
    return helper(input_len);
}
