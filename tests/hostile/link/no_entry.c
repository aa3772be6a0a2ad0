/* Defines no `entrypoint`. */
#include "tos.h"

uint64_t not_the_entrypoint(const uint8_t *input, uint64_t input_len) {
    (void)input;
    return input_len;
}
