/*
 * arith32: a random-program interpreter over 32-bit integers, run against its native Rust
 * twin (tests/arith32.rs) to test how 32-bit arithmetic is compiled: wrapping add/sub/mul
 * (whose results SBPF V3 sign-extends where C needs them zero-extended), negative values,
 * shifts, division, comparisons, widening to 64 bits, byte swaps and truncation.
 *
 * Input: 8 registers (u32 LE), then ops of 8 bytes each: code, d, x, y (register numbers,
 * taken mod 8) and imm (i32 LE). Per op: a = r[x], b = r[y]; r[d] = f(code, a, b, imm), and
 * two 64-bit accumulators take in 32-bit results widened with zero- and sign-extension.
 * Return data: the 8 registers (u32 LE), then acc and sacc (u64 LE).
 */
#include "tos.h"

#define REGS 8
#define MIN32 ((int32_t)0x80000000u)

static uint32_t load32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t step(uint32_t code, uint32_t a, uint32_t b, uint32_t imm) {
    int32_t sa = (int32_t)a, sb = (int32_t)b, simm = (int32_t)imm;
    switch (code % 32) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a + imm;
    case 4: return a - imm;
    case 5: return a * imm;
    case 6: return b ? a / b : 0;
    case 7: return b ? a % b : 0;
    case 8:
        if (sb == 0) return 0;
        if (sa == MIN32 && sb == -1) return (uint32_t)MIN32;
        return (uint32_t)(sa / sb);
    case 9:
        if (sb == 0 || (sa == MIN32 && sb == -1)) return 0;
        return (uint32_t)(sa % sb);
    case 10: return a << (b & 31);
    case 11: return a >> (b & 31);
    case 12: return (uint32_t)(sa >> (b & 31));
    case 13: return a << (imm & 31);
    case 14: return a >> (imm & 31);
    case 15: return (uint32_t)(sa >> (imm & 31));
    case 16: return a & b;
    case 17: return a | b;
    case 18: return a ^ b;
    case 19: return 0u - a;
    case 20: return ~a;
    case 21: {
        uint32_t n = b & 31;
        return n ? (a << n) | (a >> (32 - n)) : a;
    }
    case 22: return sa < sb;
    case 23: return a < b;
    case 24: return (uint32_t)(((uint64_t)a * b) >> 32);
    case 25: return (uint32_t)((uint64_t)((int64_t)sa * (int64_t)sb) >> 32);
    case 26: return __builtin_bswap32(a);
    case 27: return sa > simm ? b : a;
    case 28: return (uint32_t)(int32_t)(short)(a + b);
    case 29: return (uint8_t)(a * b);
    case 30: return (a + b) < (b - imm) ? a - imm : b * 3u;
    default: return (int32_t)(a - b) < 0 ? a + b : a * imm;
    }
}

uint64_t entrypoint(const uint8_t *input, uint64_t len) {
    uint32_t r[REGS];
    uint64_t acc = 0, sacc = 0;
    if (len < 4 * REGS) {
        return 1;
    }
    for (int i = 0; i < REGS; i++) {
        r[i] = load32(input + 4 * i);
    }
    for (uint64_t at = 4 * REGS; at + 8 <= len; at += 8) {
        const uint8_t *op = input + at;
        uint32_t a = r[op[2] % REGS], b = r[op[3] % REGS], imm = load32(op + 4);
        uint32_t v = step(op[0], a, b, imm);
        r[op[1] % REGS] = v;
        /* 32-bit results used as 64-bit values: zero-extended, then sign-extended. */
        acc = acc * 31 + (uint64_t)(a + b) + (uint64_t)(v * imm);
        sacc = sacc * 17 + (uint64_t)(int64_t)(int32_t)(v - b);
    }
    uint8_t out[4 * REGS + 16];
    for (int i = 0; i < REGS; i++) {
        store32(out + 4 * i, r[i]);
    }
    tos_store_u64_le(out + 4 * REGS, acc);
    tos_store_u64_le(out + 4 * REGS + 8, sacc);
    tos_set_return_data(out, sizeof out);
    return 0;
}
