/* fib: naive recursive Fibonacci. Input: n (u64 LE). Return data: fib(n) (u64 LE). */
#include "tos.h"

static __attribute__((noinline)) uint64_t fib(uint64_t n) {
    if (n < 2) {
        return n;
    }
    return fib(n - 1) + fib(n - 2);
}

uint64_t entrypoint(const uint8_t *input, uint64_t input_len) {
    if (input_len < 8) {
        return 1;
    }
    uint64_t n = *(const uint64_t *)input;
    if (n > 60) {
        return 2; /* recursion depth stays well under the 64-frame limit */
    }
    uint64_t result = fib(n);
    tos_set_return_data((const uint8_t *)&result, 8);
    return 0;
}
