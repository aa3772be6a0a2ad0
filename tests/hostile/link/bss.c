/* Writable global state: SBPF has no writable data segment; the link step must refuse it. */
#include "tos.h"

uint64_t counter;

uint64_t entrypoint(const uint8_t *input, uint64_t input_len) {
    (void)input;
    counter += input_len;
    return counter;
}
