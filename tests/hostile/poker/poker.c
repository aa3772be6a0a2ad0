/* Hostile contract for tests/hostile.rs: does one forbidden thing, chosen by its input, after a
 * prelude that changes state (a storage write and, if it can pay, a transfer), so every test
 * also shows that an aborted call keeps none of its effects.
 *
 * Input: mode (1 byte), a (u64 LE), b (u64 LE). Addresses come from the input, so the compiler
 * cannot see (and optimize) the undefined behaviour.
 */
#include "tos.h"

#define HEAP_START 0x300000000ULL

static uint64_t read_u64(const uint8_t *p) {
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--) value = (value << 8) | p[i];
    return value;
}

/* Not a tail call: the addition after the call keeps every frame alive. */
static uint64_t __attribute__((noinline)) recurse(uint64_t n) {
    volatile uint8_t pad[64];
    pad[0] = (uint8_t)n;
    if (n == 0) return pad[0];
    return recurse(n - 1) + pad[0];
}

typedef uint64_t (*function)(void);

uint64_t entrypoint(const uint8_t *input, uint64_t input_len) {
    if (input_len < 17) return 0xBAD;
    uint8_t mode = input[0];
    uint64_t a = read_u64(input + 1);
    uint64_t b = read_u64(input + 9);

    /* Prelude: effects that must vanish when the call fails. */
    tos_storage_write_str("prelude", (const uint8_t *)"written", 7);
    uint8_t friend[32];
    for (int i = 0; i < 32; i++) friend[i] = 0x11;
    if (tos_get_self_balance() > 0) tos_transfer(friend, 1);

    switch (mode) {
    case 1: /* deep recursion */
        return recurse(a);
    case 2: /* store 8 bytes anywhere */
        *(volatile uint64_t *)a = b;
        return 0;
    case 3: /* load 8 bytes from anywhere */
        return *(volatile const uint64_t *)a;
    case 4: /* call anything */
        return ((function)a)();
    case 5: { /* divide by anything */
        volatile uint64_t divisor = b;
        return a / divisor;
    }
    case 6: /* spin forever */
        for (volatile uint64_t spin = 0;; spin++) {
        }
    case 7: { /* a local buffer overrun downwards, past the bottom of the stack */
        volatile uint8_t buffer[256];
        for (uint64_t i = 0; i < a; i++) *(buffer + 255 - i) = (uint8_t)i;
        return buffer[0];
    }
    case 8: { /* fill the heap, and past its end */
        volatile uint8_t *heap = (volatile uint8_t *)HEAP_START;
        for (uint64_t i = 0; i < a; i++) heap[i] = (uint8_t)i;
        return heap[0];
    }
    case 9: /* log forever */
        for (;;) tos_log(input, input_len);
    case 10: /* write storage forever, growing keys */
        for (uint64_t i = 0;; i++) {
            uint8_t key[8];
            for (int j = 0; j < 8; j++) key[j] = (uint8_t)(i >> (8 * j));
            tos_storage_write(key, 8, input, input_len);
        }
    default:
        return 0xBAD;
    }
}
