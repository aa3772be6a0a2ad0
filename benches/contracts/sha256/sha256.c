/* sha256: a plain C SHA-256 (FIPS 180-4), run in the VM, against the same algorithm compiled
 * natively (benches/common/native.rs). Input: rounds (u64 LE, >= 1), then the message.
 * Return data: H^rounds(message), where H = SHA-256 (32 bytes): the message is hashed once,
 * then the digest is re-hashed rounds - 1 times.
 * With the top bit of `rounds` set (SYSCALL_FLAG), every hash goes through the tos_sha256
 * syscall instead: what a contract should do, measured against the in-VM code. */
#include "tos.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, uint32_t n) {
    return (x >> n) | (x << (32 - n));
}

static void compress(uint32_t state[8], const uint8_t block[64]) {
    uint32_t w[64];
    uint32_t i;
    for (i = 0; i < 16; i++) {
        w[i] = ((uint32_t)block[4 * i] << 24) | ((uint32_t)block[4 * i + 1] << 16) |
               ((uint32_t)block[4 * i + 2] << 8) | (uint32_t)block[4 * i + 3];
    }
    for (i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (i = 0; i < 64; i++) {
        uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + s1 + ch + K[i] + w[i];
        uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = s0 + maj;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

static void sha256(const uint8_t *msg, uint64_t len, uint8_t out[32]) {
    uint32_t state[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint64_t done = 0;
    while (len - done >= 64) {
        compress(state, msg + done);
        done += 64;
    }
    /* The tail, the 0x80 marker and the bit length: one or two final blocks. */
    uint8_t block[128];
    uint64_t rest = len - done;
    uint64_t i;
    for (i = 0; i < 128; i++) {
        block[i] = 0;
    }
    for (i = 0; i < rest; i++) {
        block[i] = msg[done + i];
    }
    block[rest] = 0x80;
    uint64_t total = rest + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = len * 8;
    for (i = 0; i < 8; i++) {
        block[total - 1 - i] = (uint8_t)(bits >> (8 * i));
    }
    compress(state, block);
    if (total == 128) {
        compress(state, block + 64);
    }
    for (i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(state[i] >> 24);
        out[4 * i + 1] = (uint8_t)(state[i] >> 16);
        out[4 * i + 2] = (uint8_t)(state[i] >> 8);
        out[4 * i + 3] = (uint8_t)state[i];
    }
}

#define SYSCALL_FLAG 0x8000000000000000ULL

static void hash(int use_syscall, const uint8_t *msg, uint64_t len, uint8_t out[32]) {
    if (use_syscall) {
        tos_slice slice = {msg, len};
        tos_sha256(&slice, 1, out);
    } else {
        sha256(msg, len, out);
    }
}

uint64_t entrypoint(const uint8_t *input, uint64_t input_len) {
    if (input_len < 8) {
        return 1;
    }
    uint64_t rounds = *(const uint64_t *)input;
    int use_syscall = (rounds & SYSCALL_FLAG) != 0;
    rounds &= ~SYSCALL_FLAG;
    if (rounds == 0) {
        return 2;
    }
    uint8_t digest[32];
    uint8_t next[32];
    uint64_t r, i;
    hash(use_syscall, input + 8, input_len - 8, digest);
    for (r = 1; r < rounds; r++) {
        hash(use_syscall, digest, 32, next);
        for (i = 0; i < 32; i++) {
            digest[i] = next[i];
        }
    }
    tos_set_return_data(digest, 32);
    return 0;
}
