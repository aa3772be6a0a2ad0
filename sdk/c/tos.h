/*
 * tos.h — the TOS smart-contract interface for C contracts.
 *
 * Freestanding: no libc, no system headers. Build a contract with the stock
 * Debian toolchain (tos-vm's build driver does this for you):
 *
 *     clang-19 -target bpf -mcpu=v2 -O2 -ffreestanding -fno-builtin \
 *              -mllvm -bpf-stack-size=4096 -I sdk/c -c contract.c
 *
 * and link the objects with tos-vm's own linker (`tos_loader::link`), which
 * turns the extern `tos_*` functions below into SBPF syscalls by name.
 *
 * Entry point: every contract defines
 *
 *     uint64_t entrypoint(const uint8_t *input, uint64_t input_len);
 *
 * `input` points at the call data (a read-only region), `input_len` is its
 * length. The return value is the status: 0 = success, anything else is a
 * contract-defined error code (the invoke fails, state changes are dropped).
 * TOS_ENTRYPOINT(fn) below defines it for you.
 *
 * Limits: storage keys are at most TOS_MAX_KEY_LEN bytes, values at most
 * TOS_MAX_VALUE_LEN bytes, log messages at most TOS_MAX_LOG_LEN bytes; a
 * syscall given larger arguments aborts the invoke.
 *
 * Costs: every syscall charges compute units (listed with each one, and in
 * docs/syscalls.md); every BPF instruction costs 1 unit.
 *
 * Restrictions of the stock BPF backend (-mcpu=v2): no signed division or
 * modulo on 64-bit values (use unsigned arithmetic), no memcpy/memset of a
 * length known only at run time (copy in a loop), no writable globals
 * (.data/.bss are refused by the linker: keep state on the stack or in
 * storage), stack frame 4096 bytes per call.
 */
#ifndef TOS_H
#define TOS_H

/* ---- fixed-width types without libc ------------------------------------ */
#ifndef TOS_NO_STDINT_TYPEDEFS
#if !defined(__uint8_t_defined) && !defined(_UINT8_T) && !defined(_UINT8_T_DECLARED)
typedef __UINT8_TYPE__ uint8_t;
#define __uint8_t_defined 1
#define _UINT8_T 1
#endif
#if !defined(_UINT32_T) && !defined(_UINT32_T_DECLARED)
typedef __UINT32_TYPE__ uint32_t;
#define _UINT32_T 1
#endif
#if !defined(_UINT64_T) && !defined(_UINT64_T_DECLARED)
typedef __UINT64_TYPE__ uint64_t;
#define _UINT64_T 1
#endif
#if !defined(_INT64_T) && !defined(_INT64_T_DECLARED)
typedef __INT64_TYPE__ int64_t;
#define _INT64_T 1
#endif
#endif /* TOS_NO_STDINT_TYPEDEFS */

#ifndef UINT64_MAX
#define UINT64_MAX __UINT64_MAX__
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants ---------------------------------------------------------- */

/** Returned by tos_storage_read when the key is absent. */
#define TOS_NOT_FOUND ((uint64_t)__UINT64_MAX__)
/** Status of a successful invoke. */
#define TOS_SUCCESS ((uint64_t)0)
/** Largest storage key, in bytes. */
#define TOS_MAX_KEY_LEN 256
/** Largest storage value, in bytes. */
#define TOS_MAX_VALUE_LEN 65536
/** Largest log message, in bytes. */
#define TOS_MAX_LOG_LEN 10000
/** Size of hashes and addresses, in bytes. */
#define TOS_HASH_LEN 32

#define TOS_NORETURN __attribute__((noreturn))

/* ---- syscalls ------------------------------------------------------------
 * Pointers must lie inside the contract's memory (input, rodata, stack);
 * a pointer or length outside it aborts the invoke with a memory error.
 */

/**
 * Append a message to the invoke's log.
 * msg/len: the bytes of the message (not NUL-terminated; len <= TOS_MAX_LOG_LEN).
 * Returns 0. A longer message aborts the invoke.
 * Cost: 100 + len units.
 */
uint64_t tos_log(const uint8_t *msg, uint64_t len);

/**
 * Abort the invoke (error ContractPanicked); msg is logged. Never returns.
 * State changes of the invoke are dropped.
 * Cost: 100 + len units.
 */
TOS_NORETURN void tos_panic(const uint8_t *msg, uint64_t len);

/**
 * Write the hash of the current block into out[0..32]. Returns 0.
 * Cost: 50 units.
 */
uint64_t tos_get_block_hash(uint8_t out[32]);

/**
 * Returns the height (topoheight) of the current block.
 * Cost: 50 units.
 */
uint64_t tos_get_block_height(void);

/**
 * Write the hash of the current transaction into out[0..32]. Returns 0.
 * Cost: 50 units.
 */
uint64_t tos_get_tx_hash(uint8_t out[32]);

/**
 * Write the address (public key) of the transaction's sender into out[0..32].
 * Returns 0.
 * Cost: 50 units.
 */
uint64_t tos_get_tx_sender(uint8_t out[32]);

/**
 * Write the hash (address) of the running contract into out[0..32]. Returns 0.
 * Cost: 50 units.
 */
uint64_t tos_get_contract_hash(uint8_t out[32]);

/**
 * Returns the native-asset balance of the account `address` (0 if unknown).
 * Cost: 200 units.
 */
uint64_t tos_get_balance(const uint8_t address[32]);

/**
 * Move `amount` of the native asset from the running contract to `recipient`.
 * Returns 0. Failure (insufficient balance, amount 0, overflow of the
 * recipient's balance) aborts the invoke; it never returns an error code.
 * Cost: 1000 units.
 */
uint64_t tos_transfer(const uint8_t recipient[32], uint64_t amount);

/**
 * Read the value stored under key[0..key_len] (key_len <= TOS_MAX_KEY_LEN).
 * Copies min(out_len, value length) bytes into out (out may be NULL when
 * out_len is 0, to ask for the length only).
 * Returns the full length of the value, or TOS_NOT_FOUND if the key is absent.
 * Cost: 200 + key_len + value_len units.
 */
uint64_t tos_storage_read(const uint8_t *key, uint64_t key_len,
                          uint8_t *out, uint64_t out_len);

/**
 * Store value[0..value_len] under key[0..key_len] (replacing any old value).
 * key_len <= TOS_MAX_KEY_LEN, value_len <= TOS_MAX_VALUE_LEN; larger
 * arguments abort the invoke. An empty value is a value (use delete to remove).
 * Returns 0.
 * Cost: 1000 + 4 * (key_len + value_len) units.
 */
uint64_t tos_storage_write(const uint8_t *key, uint64_t key_len,
                           const uint8_t *value, uint64_t value_len);

/**
 * Remove the value stored under key[0..key_len].
 * Returns 1 if the key existed, 0 otherwise.
 * Cost: 500 + key_len units.
 */
uint64_t tos_storage_delete(const uint8_t *key, uint64_t key_len);

/**
 * Copy n bytes from src to dst. The ranges must not overlap (the invoke
 * aborts with CopyOverlapping; use tos_memmove). Returns dst, like memcpy.
 * Cost: 10 + n / 64 units.
 */
uint8_t *tos_memcpy(uint8_t *dst, const uint8_t *src, uint64_t n);

/** Copy n bytes from src to dst; the ranges may overlap. Returns dst.
 * Cost: 10 + n / 64 units. */
uint8_t *tos_memmove(uint8_t *dst, const uint8_t *src, uint64_t n);

/** Set n bytes at dst to `byte`. Returns dst. Cost: 10 + n / 64 units. */
uint8_t *tos_memset(uint8_t *dst, uint64_t byte, uint64_t n);

/**
 * Compare n bytes: returns 0 if equal, else (as int64_t) the difference of the
 * first differing bytes, a[i] - b[i]. Cost: 10 + n / 64 units.
 */
uint64_t tos_memcmp(const uint8_t *a, const uint8_t *b, uint64_t n);

/* ---- context ----------------------------------------------------------- */

/** Block time (seconds since the Unix epoch, by consensus). Cost: 50 units. */
uint64_t tos_get_block_timestamp(void);
/** Write the caller into out[0..32]: the transaction sender for a top-level
 * call, the calling contract for a nested one. Returns 0. Cost: 50 units. */
uint64_t tos_get_caller(uint8_t out[32]);
/** 1 for a top-level call, +1 per nested tos_invoke. Cost: 50 units. */
uint64_t tos_get_call_depth(void);
/** Native value the caller sent with this call. Cost: 50 units. */
uint64_t tos_get_call_value(void);
/** Native balance of the running contract. Cost: 200 units. */
uint64_t tos_get_self_balance(void);

/* ---- cross-contract calls ------------------------------------------------ */

/** tos_invoke statuses at or above this value come from the VM. */
#define TOS_INVOKE_ERROR_BASE 0xFFFFFFFF00000000ULL
#define TOS_INVOKE_NOT_FOUND (TOS_INVOKE_ERROR_BASE | 1)
#define TOS_INVOKE_REENTRANCY (TOS_INVOKE_ERROR_BASE | 2)
#define TOS_INVOKE_DEPTH_EXCEEDED (TOS_INVOKE_ERROR_BASE | 3)
#define TOS_INVOKE_ABORTED (TOS_INVOKE_ERROR_BASE | 4)
#define TOS_INVOKE_INSUFFICIENT_VALUE (TOS_INVOKE_ERROR_BASE | 5)

/**
 * Call the contract whose code hash is contract[0..32] with input[0..input_len],
 * moving `value` of the native asset from this contract to it first.
 * Returns 0 if the callee succeeded, the callee's non-zero status, or a
 * TOS_INVOKE_* status; a failed callee's writes, transfers and events are
 * reverted, this contract's are kept. Reentrancy is refused. Compute
 * exhaustion inside the callee aborts the whole invoke.
 * Cost: 1000 + input_len units, plus what the callee uses.
 */
uint64_t tos_invoke(const uint8_t contract[32], const uint8_t *input, uint64_t input_len,
                    uint64_t value);
/** Set the invoke's return data (len <= 1024). Returns 0. Cost: 100 + len. */
uint64_t tos_set_return_data(const uint8_t *data, uint64_t len);
/** Copy min(out_len, len) bytes of the last return data into out and, unless
 * setter is NULL, the contract that set it. Returns len (0 if none).
 * Cost: 100 + copied bytes. */
uint64_t tos_get_return_data(uint8_t *out, uint64_t out_len, uint8_t setter[32]);

/* ---- events -------------------------------------------------------------- */

/** Emit an event: topic (<= 64 bytes) and data (<= 1024 bytes). Dropped if the
 * call fails. Returns 0. Cost: 100 + 2 * (topic_len + data_len). */
uint64_t tos_emit_event(const uint8_t *topic, uint64_t topic_len, const uint8_t *data,
                        uint64_t data_len);

/* ---- crypto -------------------------------------------------------------- */

/** One piece of the data to hash. */
typedef struct {
    const uint8_t *addr;
    uint64_t len;
} tos_slice;

/** Hash the concatenation of `count` slices (<= 256, <= 1 MiB in all) into
 * out[0..32]. Returns 0. Cost: 100 + bytes / 2 units. */
uint64_t tos_sha256(const tos_slice *slices, uint64_t count, uint8_t out[32]);
/** Ethereum's Keccak-256 (not SHA3-256). Cost: 100 + bytes / 2 units. */
uint64_t tos_keccak256(const tos_slice *slices, uint64_t count, uint8_t out[32]);
/** BLAKE3. Cost: 100 + bytes / 2 units. */
uint64_t tos_blake3(const tos_slice *slices, uint64_t count, uint8_t out[32]);
/** Verify an ed25519 signature (strict). Returns 0 if valid, 1 if not.
 * Cost: 2000 + msg_len / 2 units. */
uint64_t tos_ed25519_verify(const uint8_t public_key[32], const uint8_t *msg, uint64_t msg_len,
                            const uint8_t signature[64]);

/* ---- helpers --------------------------------------------------------------- */

/** Length of a NUL-terminated string (no libc strlen). */
static inline uint64_t tos_strlen(const char *s) {
    uint64_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    return n;
}

/** Log a NUL-terminated string. */
static inline uint64_t tos_log_cstr(const char *s) {
    return tos_log((const uint8_t *)s, tos_strlen(s));
}

/** Log a string literal; its length is known at compile time. */
#define tos_log_str(lit) tos_log((const uint8_t *)("" lit), sizeof(lit) - 1)

/** Abort the invoke with a string literal as message. */
#define tos_panic_str(lit) tos_panic((const uint8_t *)("" lit), sizeof(lit) - 1)

/** Abort with a message unless cond holds. */
#define tos_require(cond, lit)   \
    do {                         \
        if (!(cond)) {           \
            tos_panic_str(lit);  \
        }                        \
    } while (0)

/** Read a key given as string literal. */
#define tos_storage_read_str(lit, out, out_len) \
    tos_storage_read((const uint8_t *)("" lit), sizeof(lit) - 1, (out), (out_len))

/** Write a key given as string literal. */
#define tos_storage_write_str(lit, value, value_len) \
    tos_storage_write((const uint8_t *)("" lit), sizeof(lit) - 1, (value), (value_len))

/** Delete a key given as string literal. */
#define tos_storage_delete_str(lit) \
    tos_storage_delete((const uint8_t *)("" lit), sizeof(lit) - 1)

/** Load 8 little-endian bytes as uint64_t (alignment-free). */
static inline uint64_t tos_load_u64_le(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

/** Store v as 8 little-endian bytes (alignment-free). */
static inline void tos_store_u64_le(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/**
 * Read a u64 stored as 8 little-endian bytes under a key.
 * Returns 1 and sets *out when the key holds exactly 8 bytes, 0 if the key is
 * absent (then *out = 0); any other length aborts the invoke.
 */
static inline int tos_storage_read_u64(const uint8_t *key, uint64_t key_len, uint64_t *out) {
    uint8_t buf[8];
    uint64_t n = tos_storage_read(key, key_len, buf, 8);
    if (n == TOS_NOT_FOUND) {
        *out = 0;
        return 0;
    }
    if (n != 8) {
        tos_panic_str("stored value is not a u64");
    }
    *out = tos_load_u64_le(buf);
    return 1;
}

/** Store v as 8 little-endian bytes under a key. Returns 0. */
static inline uint64_t tos_storage_write_u64(const uint8_t *key, uint64_t key_len, uint64_t v) {
    uint8_t buf[8];
    tos_store_u64_le(buf, v);
    return tos_storage_write(key, key_len, buf, 8);
}

/**
 * Define the contract's entry point:
 *
 *     static uint64_t process(const uint8_t *input, uint64_t len) { ... return 0; }
 *     TOS_ENTRYPOINT(process)
 */
#define TOS_ENTRYPOINT(fn)                                                   \
    uint64_t entrypoint(const uint8_t *input, uint64_t input_len) {          \
        return fn(input, input_len);                                         \
    }

/** The entry point every contract defines (directly or via TOS_ENTRYPOINT). */
uint64_t entrypoint(const uint8_t *input, uint64_t input_len);

#ifdef __cplusplus
}
#endif

#endif /* TOS_H */
