/*
 * Signed division and remainder in C, compiled by tos-vm's route (clang-19 → IR step → llc).
 * Input: n pairs of little-endian int64 (a, b) with b != 0 and not (INT64_MIN, -1).
 * Return data: per pair a / b, a % b, (int32)a / (int32)b | 1, a / 7, a % -3 as int64 LE.
 */
#include "tos.h"

static void put(uint8_t *out, uint64_t *at, int64_t v) {
    tos_store_u64_le(out + *at, (uint64_t)v);
    *at += 8;
}

uint64_t entrypoint(const uint8_t *input, uint64_t len) {
    uint8_t out[TOS_MAX_RETURN_DATA_LEN];
    uint64_t at = 0;
    for (uint64_t i = 0; i + 16 <= len && at + 40 <= sizeof out; i += 16) {
        int64_t a = (int64_t)tos_load_u64_le(input + i);
        int64_t b = (int64_t)tos_load_u64_le(input + i + 8);
        int32_t a32 = (int32_t)a, b32 = (int32_t)b | 1;
        put(out, &at, a / b);
        put(out, &at, a % b);
        put(out, &at, (a32 == (int32_t)0x80000000 && b32 == -1) ? 0 : a32 / b32);
        put(out, &at, a / 7);
        put(out, &at, a % -3);
    }
    tos_set_return_data(out, at);
    return 0;
}
