/* Built with -mcpu=v4 by the test: a signed byte widened to 64 bits is a sign-extending load
 * (ldxsb, BPF_MEMSX), which does not exist in SBPF V3. */
#include "tos.h"

uint64_t entrypoint(const uint8_t *input, uint64_t input_len) {
    (void)input_len;
    const volatile signed char *signed_input = (const volatile signed char *)input;
    int64_t wide = signed_input[0];
    return (uint64_t)wide;
}
