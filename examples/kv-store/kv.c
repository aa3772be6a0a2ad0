/*
 * kv-store: a key-value store in C, called by method name (interface.json
 * beside this file; `tos-vm build` embeds it and generates tos_interface.h).
 *
 *   set(key: string, value: string)     store value under key, emit `set`
 *   get(key: string) -> string          the value (read-only; its first 1020 bytes)
 *   delete(key: string)                 delete the key
 *   count() -> u64                      number of keys (read-only)
 *
 * Keys are 1..=200 bytes, stored as "k:" ++ key; the number of keys under "#count".
 * Status 1 (InvalidInput): malformed input; 6 (NotFound): no such key.
 */
#include "tos.h"
#include "tos_interface.h"

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

/* Reads the key argument; 0 when malformed or not 1..=MAX_KEY bytes. */
static const uint8_t *read_key(tos_args *args, uint64_t *key_len) {
    const uint8_t *key = tos_args_bytes(args, key_len);
    if (!key || *key_len == 0 || *key_len > MAX_KEY) return 0;
    return key;
}

static uint64_t process(const uint8_t *input, uint64_t len) {
    uint8_t skey[2 + MAX_KEY];
    uint32_t selector;
    tos_args args;
    uint64_t key_len;
    if (!tos_call_begin(input, len, &selector, &args)) return ERR_INPUT;
    switch (selector) {
    case TOS_SELECTOR_SET: {
        const uint8_t *key = read_key(&args, &key_len);
        uint64_t value_len;
        const uint8_t *value = tos_args_bytes(&args, &value_len);
        if (!key || !tos_args_end(&args)) return ERR_INPUT;
        uint64_t n = storage_key(skey, key, key_len);
        int existed = tos_storage_read(skey, n, 0, 0) != TOS_NOT_FOUND;
        tos_storage_write(skey, n, value, value_len);
        if (!existed) add_to_count(1);
        /* Event data = borsh of the fields: the key as a string (u32 length ++ bytes). */
        uint8_t event[4 + MAX_KEY];
        tos_store_u64_le(event, key_len); /* low 4 bytes: the length; the rest is overwritten */
        memcpy(event + 4, key, key_len);
        tos_emit_event_str("set", event, 4 + key_len);
        return 0;
    }
    case TOS_SELECTOR_GET: {
        const uint8_t *key = read_key(&args, &key_len);
        if (!key || !tos_args_end(&args)) return ERR_INPUT;
        uint64_t n = storage_key(skey, key, key_len);
        uint8_t value[TOS_MAX_RETURN_DATA_LEN - 4];
        uint64_t value_len = tos_storage_read(skey, n, value, sizeof value);
        if (value_len == TOS_NOT_FOUND) return ERR_NOT_FOUND;
        if (value_len > sizeof value) value_len = sizeof value;
        return tos_return_bytes(value, value_len);
    }
    case TOS_SELECTOR_DELETE: {
        const uint8_t *key = read_key(&args, &key_len);
        if (!key || !tos_args_end(&args)) return ERR_INPUT;
        uint64_t n = storage_key(skey, key, key_len);
        if (!tos_storage_delete(skey, n)) return ERR_NOT_FOUND;
        add_to_count(-1);
        return 0;
    }
    case TOS_SELECTOR_COUNT: {
        if (!tos_args_end(&args)) return ERR_INPUT;
        uint64_t count;
        tos_storage_read_u64(COUNT_KEY, COUNT_KEY_LEN, &count);
        return tos_return_u64(count);
    }
    default:
        return ERR_INPUT;
    }
}

TOS_ENTRYPOINT(process)
