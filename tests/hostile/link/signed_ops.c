/* Built with -mcpu=v4 by the test: clang then emits signed division (sdiv: an ALU instruction
 * with off=1), which SBPF V3 would run as an unsigned division. */
#include "tos.h"

uint64_t entrypoint(const uint8_t *input, uint64_t input_len) {
    (void)input;
    int64_t a = (int64_t)input_len - 100;
    int64_t b = (int64_t)input_len - 7;
    if (b == 0) return 1;
    return (uint64_t)(a / b);
}
