/*
 * kv-store: a key-value store in C, with storage, return data and events.
 *
 * Input: one operation byte, then its arguments.
 *   'S' klen key value...   store value under key (klen: one byte, 1..=200)
 *   'G' key...              return data = the value            (status 6 if absent)
 *   'D' key...              delete the key                      (status 6 if absent)
 *   'N'                     return data = number of keys, u64 little-endian
 * Keys are stored as "k:" ++ key; the number of keys under "#count".
 * Status 1: malformed input.
 */
#include "tos.h"

#define ERR_INPUT 1
#define ERR_NOT_FOUND 6
#define MAX_KEY 200

static const uint8_t COUNT_KEY[] = "#count";
#define COUNT_KEY_LEN (sizeof(COUNT_KEY) - 1)

/* "k:" ++ key into out; returns the storage key's length. */
static uint64_t storage_key(uint8_t out[2 + MAX_KEY], const uint8_t *key, uint64_t key_len) {
    out[0] = 'k';
    out[1] = ':';
    memcpy(out + 2, key, key_len); /* a runtime-length copy: bound to tos_memcpy */
    return 2 + key_len;
}

static void add_to_count(int64_t delta) {
    uint64_t count;
    tos_storage_read_u64(COUNT_KEY, COUNT_KEY_LEN, &count);
    tos_storage_write_u64(COUNT_KEY, COUNT_KEY_LEN, (uint64_t)((int64_t)count + delta));
}

static uint64_t process(const uint8_t *input, uint64_t len) {
    uint8_t key[2 + MAX_KEY];
    if (len < 1) {
        return ERR_INPUT;
    }
    switch (input[0]) {
    case 'S': {
        if (len < 2) return ERR_INPUT;
        uint64_t key_len = input[1];
        if (key_len == 0 || key_len > MAX_KEY || len < 2 + key_len) return ERR_INPUT;
        uint64_t n = storage_key(key, input + 2, key_len);
        int existed = tos_storage_read(key, n, 0, 0) != TOS_NOT_FOUND;
        const uint8_t *value = input + 2 + key_len;
        uint64_t value_len = len - 2 - key_len;
        tos_storage_write(key, n, value, value_len);
        if (!existed) add_to_count(1);
        tos_emit_event_str("set", input + 2, key_len);
        return 0;
    }
    case 'G': {
        uint64_t key_len = len - 1;
        if (key_len == 0 || key_len > MAX_KEY) return ERR_INPUT;
        uint64_t n = storage_key(key, input + 1, key_len);
        uint8_t value[TOS_MAX_RETURN_DATA_LEN];
        uint64_t value_len = tos_storage_read(key, n, value, sizeof value);
        if (value_len == TOS_NOT_FOUND) return ERR_NOT_FOUND;
        if (value_len > sizeof value) value_len = sizeof value;
        tos_set_return_data(value, value_len);
        return 0;
    }
    case 'D': {
        uint64_t key_len = len - 1;
        if (key_len == 0 || key_len > MAX_KEY) return ERR_INPUT;
        uint64_t n = storage_key(key, input + 1, key_len);
        if (!tos_storage_delete(key, n)) return ERR_NOT_FOUND;
        add_to_count(-1);
        return 0;
    }
    case 'N': {
        uint64_t count;
        uint8_t out[8];
        tos_storage_read_u64(COUNT_KEY, COUNT_KEY_LEN, &count);
        tos_store_u64_le(out, count);
        tos_set_return_data(out, sizeof out);
        return 0;
    }
    default:
        return ERR_INPUT;
    }
}

TOS_ENTRYPOINT(process)
