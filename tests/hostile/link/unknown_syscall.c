/* Calls a function that is neither defined nor a tos_* syscall (Solana's logger). */
#include "tos.h"

extern void sol_log_(const char *message, uint64_t len);

uint64_t entrypoint(const uint8_t *input, uint64_t input_len) {
    sol_log_((const char *)input, input_len);
    return 0;
}
