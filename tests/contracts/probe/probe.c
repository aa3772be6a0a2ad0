/* Syscall probe: runs a script of syscall calls given in its input, so host tests can call
 * every syscall with any argument tuple (valid, out of bounds, read-only, huge) from real
 * BPF code.
 *
 * Input: a sequence of 41-byte commands: op (1 byte) + five little-endian u64 arguments.
 * An argument 0x5C5C_0000_0000_xxxx is replaced by the address of scratch[xxxx] (a writable
 * stack buffer); 0x1A1A_0000_0000_xxxx by the address of the input's byte xxxx.
 * After each syscall the probe logs "r=<16 hex digits>" with the syscall's return value.
 */
#include "tos.h"

#ifndef PROBE_VARIANT
#define PROBE_VARIANT 1
#endif

#define COMMAND_LEN 41
#define SCRATCH_TAG 0x5C5C000000000000ULL
#define INPUT_TAG 0x1A1A000000000000ULL
#define TAG_MASK 0xFFFF000000000000ULL

static uint64_t read_u64(const uint8_t *p) {
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--) value = (value << 8) | p[i];
    return value;
}

static const char HEX[] = "0123456789abcdef";

static void log_hex(const char *prefix, uint64_t prefix_len, const uint8_t *bytes, uint64_t len) {
    uint8_t line[2 + 2 * 64];
    uint64_t n = 0;
    for (uint64_t i = 0; i < prefix_len; i++) line[n++] = (uint8_t)prefix[i];
    for (uint64_t i = 0; i < len && i < 64; i++) {
        line[n++] = (uint8_t)HEX[bytes[i] >> 4];
        line[n++] = (uint8_t)HEX[bytes[i] & 15];
    }
    tos_log(line, n);
}

static void log_result(uint64_t value) {
    uint8_t be[8];
    for (int i = 0; i < 8; i++) be[i] = (uint8_t)(value >> (56 - 8 * i));
    log_hex("r=", 2, be, 8);
}

uint64_t entrypoint(const uint8_t *input, uint64_t input_len) {
    uint8_t scratch[512];
    for (int i = 0; i < 512; i++) scratch[i] = 0;
    for (uint64_t at = 0; at + COMMAND_LEN <= input_len; at += COMMAND_LEN) {
        const uint8_t *command = input + at;
        uint64_t a[5];
        for (int i = 0; i < 5; i++) {
            uint64_t value = read_u64(command + 1 + 8 * i);
            if ((value & TAG_MASK) == SCRATCH_TAG) value = (uint64_t)(scratch + (value & 0xFFFF));
            else if ((value & TAG_MASK) == INPUT_TAG) value = (uint64_t)(input + (value & 0xFFFF));
            a[i] = value;
        }
        uint64_t r;
        switch (command[0]) {
        case 1: r = tos_log((const uint8_t *)a[0], a[1]); break;
        case 2: tos_panic((const uint8_t *)a[0], a[1]); r = 0; break;
        case 3: r = tos_get_block_hash((uint8_t *)a[0]); break;
        case 4: r = tos_get_block_height(); break;
        case 5: r = tos_get_tx_hash((uint8_t *)a[0]); break;
        case 6: r = tos_get_tx_sender((uint8_t *)a[0]); break;
        case 7: r = tos_get_contract_hash((uint8_t *)a[0]); break;
        case 8: r = tos_get_balance((const uint8_t *)a[0]); break;
        case 9: r = tos_transfer((const uint8_t *)a[0], a[1]); break;
        case 10: r = tos_storage_read((const uint8_t *)a[0], a[1], (uint8_t *)a[2], a[3]); break;
        case 11: r = tos_storage_write((const uint8_t *)a[0], a[1], (const uint8_t *)a[2], a[3]); break;
        case 12: r = tos_storage_delete((const uint8_t *)a[0], a[1]); break;
        case 13: r = (uint64_t)tos_memcpy((uint8_t *)a[0], (const uint8_t *)a[1], a[2]); break;
        case 14: r = (uint64_t)tos_memmove((uint8_t *)a[0], (const uint8_t *)a[1], a[2]); break;
        case 15: r = (uint64_t)tos_memset((uint8_t *)a[0], a[1], a[2]); break;
        case 16: r = tos_memcmp((const uint8_t *)a[0], (const uint8_t *)a[1], a[2]); break;
        case 17: r = tos_invoke((const uint8_t *)a[0], (const uint8_t *)a[1], a[2], a[3]); break;
        case 18: r = tos_set_return_data((const uint8_t *)a[0], a[1]); break;
        case 19: r = tos_get_return_data((uint8_t *)a[0], a[1], (uint8_t *)a[2]); break;
        case 20: r = tos_emit_event((const uint8_t *)a[0], a[1], (const uint8_t *)a[2], a[3]); break;
        case 21: r = tos_sha256((const tos_slice *)a[0], a[1], (uint8_t *)a[2]); break;
        case 22: r = tos_keccak256((const tos_slice *)a[0], a[1], (uint8_t *)a[2]); break;
        case 23: r = tos_blake3((const tos_slice *)a[0], a[1], (uint8_t *)a[2]); break;
        case 24: r = tos_ed25519_verify((const uint8_t *)a[0], (const uint8_t *)a[1], a[2], (const uint8_t *)a[3]); break;
        case 25: r = tos_get_block_timestamp(); break;
        case 26: r = tos_get_caller((uint8_t *)a[0]); break;
        case 27: r = tos_get_call_depth(); break;
        case 28: r = tos_get_call_value(); break;
        case 29: r = tos_get_self_balance(); break;
        case 0x30: r = tos_get_code_hash((uint8_t *)a[0]); break;
        case 0x31: r = tos_get_asset_balance((const uint8_t *)a[0], (const uint8_t *)a[1]); break;
        case 0x32: r = tos_transfer_asset((const uint8_t *)a[0], (const uint8_t *)a[1], a[2]); break;
        case 0x33: r = tos_get_deposit_count(); break;
        case 0x34: r = tos_get_deposit(a[0], (uint8_t *)a[1]); break;
        case 0x35: r = tos_get_deposit_amount((const uint8_t *)a[0]); break;
        case 0x36: r = tos_create_contract((const uint8_t *)a[0], (const uint8_t *)a[1], (const uint8_t *)a[2], a[3], (uint8_t *)a[4]); break;
        case 0x21: r = PROBE_VARIANT; break;
        case 0x22: /* store an address at scratch[a0]: lets a script build a slice table */
            for (int i = 0; i < 8; i++) scratch[(a[0] + i) & 0x1FF] = (uint8_t)(a[1] >> (8 * i));
            continue;
        case 0x20: /* echo scratch[a0 .. a0 + a1] as hex */
            log_hex("s=", 2, scratch + (a[0] & 0x1FF), a[1] > 64 ? 64 : a[1]);
            continue;
        case 0xFE: /* spin until the compute budget runs out */
            for (volatile uint64_t spin = 0;; spin++) {}
        case 0xFF: return a[0];
        default: return 0xBAD;
        }
        log_result(r);
    }
    return 0;
}
