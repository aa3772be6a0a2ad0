/* sort: heapsort of n pseudo-random u64 (xorshift64*) on the heap.
 * Input: n (u64 LE, at most 4096 = the 32 KiB heap), seed (u64 LE, non-zero).
 * Return data: checksum of the sorted array (u64 LE); status 3 if it is not sorted. */
#include "tos.h"

#define HEAP_START 0x300000000ULL
#define MAX_N 4096

static uint64_t next(uint64_t *state) {
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void sift_down(uint64_t *a, uint64_t start, uint64_t end) {
    uint64_t root = start;
    for (;;) {
        uint64_t child = 2 * root + 1;
        if (child > end) {
            return;
        }
        if (child + 1 <= end && a[child] < a[child + 1]) {
            child += 1;
        }
        if (a[root] < a[child]) {
            uint64_t t = a[root];
            a[root] = a[child];
            a[child] = t;
            root = child;
        } else {
            return;
        }
    }
}

static void heapsort(uint64_t *a, uint64_t n) {
    if (n < 2) {
        return;
    }
    uint64_t start = (n - 2) / 2 + 1;
    while (start > 0) {
        start--;
        sift_down(a, start, n - 1);
    }
    uint64_t end = n - 1;
    while (end > 0) {
        uint64_t t = a[end];
        a[end] = a[0];
        a[0] = t;
        end--;
        sift_down(a, 0, end);
    }
}

uint64_t entrypoint(const uint8_t *input, uint64_t input_len) {
    if (input_len < 16) {
        return 1;
    }
    const uint64_t *words = (const uint64_t *)input;
    uint64_t n = words[0];
    uint64_t state = words[1];
    if (n > MAX_N || state == 0) {
        return 2;
    }
    uint64_t *a = (uint64_t *)HEAP_START;
    uint64_t i;
    for (i = 0; i < n; i++) {
        a[i] = next(&state);
    }
    heapsort(a, n);
    uint64_t checksum = 0;
    for (i = 0; i < n; i++) {
        if (i > 0 && a[i - 1] > a[i]) {
            return 3;
        }
        checksum = (checksum ^ a[i]) * 0x100000001B3ULL;
    }
    tos_set_return_data((const uint8_t *)&checksum, 8);
    return 0;
}
