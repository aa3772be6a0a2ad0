/* syscalls: calls one syscall n times, to measure what a syscall costs on top of the
 * instructions around it. Input: op (u64 LE), n (u64 LE). Return data: the sum of the
 * results (u64 LE).
 *   op 0: tos_get_block_height()            (the cheapest syscall: no memory, no state)
 *   op 1: tos_storage_read("k", 8-byte out)  (journal + store lookup, guest memory write)
 *   op 2: tos_storage_write("k", 8 bytes)    (journal write)
 */
#include "tos.h"

uint64_t entrypoint(const uint8_t *input, uint64_t input_len) {
    if (input_len < 16) {
        return 1;
    }
    const uint64_t *words = (const uint64_t *)input;
    uint64_t op = words[0];
    uint64_t n = words[1];
    uint64_t sum = 0;
    uint8_t key[1] = {'k'};
    uint8_t value[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint64_t i;
    switch (op) {
    case 0:
        for (i = 0; i < n; i++) {
            sum += tos_get_block_height();
        }
        break;
    case 1:
        for (i = 0; i < n; i++) {
            sum += tos_storage_read(key, 1, value, 8);
        }
        break;
    case 2:
        for (i = 0; i < n; i++) {
            value[0] = (uint8_t)i;
            sum += tos_storage_write(key, 1, value, 8);
        }
        break;
    default:
        return 3;
    }
    tos_set_return_data((const uint8_t *)&sum, 8);
    return 0;
}
