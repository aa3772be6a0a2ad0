/* hello-world: the smallest TOS contract. Logs a greeting and succeeds. */
#include "tos.h"

uint64_t entrypoint(const uint8_t *input, uint64_t input_len) {
    (void)input;
    (void)input_len;
    tos_log_str("Hello, TOS!");
    return 0;
}
