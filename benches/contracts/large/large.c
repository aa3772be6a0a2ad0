/* large: a big executable for the deploy-cost bench (parse, validate, verify, JIT-compile
 * per KiB of ELF). 1024 distinct non-inlined functions of ~25 instructions each, all reachable
 * from the entrypoint so the compiler keeps them. Input: x (u64 LE). Return data: the
 * value threaded through every function (u64 LE). */
#include "tos.h"

#define DEF(i)                                                                    \
    static __attribute__((noinline)) uint64_t f##i(uint64_t x) {                  \
        x ^= x << 13;                                                             \
        x ^= x >> 7;                                                              \
        x ^= x << 17;                                                             \
        x += (uint64_t)(i) * 0x9E3779B97F4A7C15ULL;                               \
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;                              \
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;                              \
        return x ^ (x >> 31) ^ (uint64_t)(i);                                     \
    }
#define DEF4(i) DEF(i##0) DEF(i##1) DEF(i##2) DEF(i##3)
#define DEF16(i) DEF4(i##0) DEF4(i##1) DEF4(i##2) DEF4(i##3)
#define DEF64(i) DEF16(i##0) DEF16(i##1) DEF16(i##2) DEF16(i##3)
#define DEF256(i) DEF64(i##0) DEF64(i##1) DEF64(i##2) DEF64(i##3)
DEF256(10)
DEF256(11)
DEF256(12)
DEF256(13)

#define CALL(i) x = f##i(x);
#define CALL4(i) CALL(i##0) CALL(i##1) CALL(i##2) CALL(i##3)
#define CALL16(i) CALL4(i##0) CALL4(i##1) CALL4(i##2) CALL4(i##3)
#define CALL64(i) CALL16(i##0) CALL16(i##1) CALL16(i##2) CALL16(i##3)
#define CALL256(i) CALL64(i##0) CALL64(i##1) CALL64(i##2) CALL64(i##3)

uint64_t entrypoint(const uint8_t *input, uint64_t input_len) {
    if (input_len < 8) {
        return 1;
    }
    uint64_t x = *(const uint64_t *)input;
    CALL256(10)
    CALL256(11)
    CALL256(12)
    CALL256(13)
    tos_set_return_data((const uint8_t *)&x, 8);
    return 0;
}
