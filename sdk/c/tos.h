/*
 * tos.h — the TOS smart-contract interface for C contracts.
 *
 * Freestanding: no libc, no system headers; this file is all a C contract needs.
 * Build a contract with tos-vm's build driver:
 *
 *     tos-vm build DIR -o contract.so      (each .c file of DIR is one translation unit)
 *
 * which runs the stock Debian tools (scripts/setup installs them):
 *
 *     clang-19 -target bpf -mcpu=v2 -O2 -nostdlibinc -emit-llvm \
 *              -I sdk/c -c contract.c                       (LLVM bitcode)
 *     opt, tos-vm's IR step, llc -march=bpfel -mcpu=v2       (LLVM 22: BPF object)
 *
 * and links the objects with tos-vm's own linker, which turns the extern
 * `tos_*` functions below into SBPF syscalls by name (and memcpy, memmove,
 * memset, memcmp into tos_memcpy, tos_memmove, tos_memset, tos_memcmp).
 *
 * Entry point: every contract defines
 *
 *     uint64_t entrypoint(const uint8_t *input, uint64_t input_len);
 *
 * `input` points at the call data (a read-only region), `input_len` is its
 * length. The return value is the status: 0 = success, anything else is a
 * contract-defined error code (the call fails, its state changes, transfers
 * and events are dropped). TOS_ENTRYPOINT(fn) below defines it for you.
 *
 * Limits: storage keys are at most TOS_MAX_KEY_LEN bytes, values at most
 * TOS_MAX_VALUE_LEN bytes, log messages at most TOS_MAX_LOG_LEN bytes; a
 * syscall given larger arguments aborts the call. Each call frame has 4096
 * bytes of stack, 64 nested calls at most; the heap (32 KiB at
 * TOS_HEAP_START, zeroed per call) is yours to manage.
 *
 * Costs: every syscall charges compute units (listed with each one, and in
 * docs/syscalls.md); every BPF instruction costs 1 unit.
 *
 * What the build handles for you: signed division and remainder (compiled
 * through unsigned division), copies and fills of any length (struct
 * assignment, memcpy/memset calls and byte loops: short constant-length ones
 * become 8-byte loads and stores, the rest calls of the host's memory
 * syscalls). C is compiled as hosted C without the system's headers: a
 * function named like a C library function must behave like it.
 * What it refuses: writable globals (.data/.bss; keep state on the stack or
 * in storage), floating point, 128-bit division in C.
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
#if !defined(_INT32_T) && !defined(_INT32_T_DECLARED)
typedef __INT32_TYPE__ int32_t;
#define _INT32_T 1
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
/** Largest return data, in bytes. */
#define TOS_MAX_RETURN_DATA_LEN 1024
/** Largest event topic and event data, in bytes. */
#define TOS_MAX_EVENT_TOPIC_LEN 64
#define TOS_MAX_EVENT_DATA_LEN 1024
/** The heap region of every call (zeroed at the start of each call). */
#define TOS_HEAP_START ((uint8_t *)0x300000000ULL)
#define TOS_HEAP_LEN (32 * 1024)

/** tos_invoke statuses at or above this value come from the VM, not the callee. */
#define TOS_INVOKE_ERROR_BASE 0xFFFFFFFF00000000ULL
#define TOS_INVOKE_NOT_FOUND (TOS_INVOKE_ERROR_BASE | 1)         /* no such contract */
#define TOS_INVOKE_REENTRANCY (TOS_INVOKE_ERROR_BASE | 2)        /* callee already on the stack */
#define TOS_INVOKE_DEPTH_EXCEEDED (TOS_INVOKE_ERROR_BASE | 3)    /* 8 contracts deep already */
#define TOS_INVOKE_ABORTED (TOS_INVOKE_ERROR_BASE | 4)           /* callee stopped by the VM */
#define TOS_INVOKE_INSUFFICIENT_VALUE (TOS_INVOKE_ERROR_BASE | 5)/* caller cannot pay value */
#define TOS_INVOKE_CALLEE_RESERVED_STATUS (TOS_INVOKE_ERROR_BASE | 6) /* callee returned a status >= BASE */

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
 * Write the address of the running contract instance into out[0..32] (not its code: see
 * tos_get_code_hash). Returns 0.
 * Cost: 50 units.
 */
uint64_t tos_get_contract_hash(uint8_t out[32]);

/**
 * Write the code hash the running contract runs to out[0..32]: shared by every instance of
 * that code (tos_get_contract_hash is the instance's own address).
 * Cost: 50 units.
 */
uint64_t tos_get_code_hash(uint8_t out[32]);

/**
 * Returns the block's timestamp, in seconds since the Unix epoch (agreed by
 * consensus, never the node's clock).
 * Cost: 50 units.
 */
uint64_t tos_get_block_timestamp(void);

/**
 * Write the caller into out[0..32]: the transaction's sender for a top-level
 * call, the calling contract for a nested one (tos_invoke). Use this, not the
 * sender, to authorise. Returns 0.
 * Cost: 50 units.
 */
uint64_t tos_get_caller(uint8_t out[32]);

/**
 * Returns the call depth: 1 for a top-level call, +1 per nested tos_invoke.
 * Cost: 50 units.
 */
uint64_t tos_get_call_depth(void);

/**
 * Returns the native value sent with this call (already in the contract's
 * balance when it runs).
 * Cost: 50 units.
 */
uint64_t tos_get_call_value(void);

/**
 * Returns the native-asset balance of the account `address` (0 if unknown).
 * Cost: 200 units.
 */
uint64_t tos_get_balance(const uint8_t address[32]);

/**
 * Returns the running contract's own native balance.
 * Cost: 200 units.
 */
uint64_t tos_get_self_balance(void);

/**
 * Move `amount` of the native asset from the running contract to `recipient`.
 * Returns 0. Failure (insufficient balance, amount 0, overflow of the
 * recipient's balance) aborts the invoke; it never returns an error code.
 * Cost: 1000 units.
 */
uint64_t tos_transfer(const uint8_t recipient[32], uint64_t amount);

/**
 * Returns the balance of the account `address` in `asset` (0 if unknown).
 * Cost: 200 units.
 */
uint64_t tos_get_asset_balance(const uint8_t address[32], const uint8_t asset[32]);

/**
 * Move `amount` of `asset` from the running contract to `recipient`. Zero, insufficient and
 * overflowing amounts abort the call.
 * Cost: 1000 units.
 */
uint64_t tos_transfer_asset(const uint8_t recipient[32], const uint8_t asset[32], uint64_t amount);

/**
 * Number of assets deposited with this call (moved from the sender before the contract ran).
 * A nested call (tos_invoke) has its native value as its only deposit.
 * Cost: 50 units.
 */
uint64_t tos_get_deposit_count(void);

/**
 * The index-th deposit of this call, in ascending asset order: writes its asset to
 * asset_out[0..32] and returns its amount. An index past the count aborts the call.
 * Cost: 100 units.
 */
uint64_t tos_get_deposit(uint64_t index, uint8_t asset_out[32]);

/**
 * Amount of `asset` deposited with this call (0 if none).
 * Cost: 100 units.
 */
uint64_t tos_get_deposit_amount(const uint8_t asset[32]);

/* tos_create_contract statuses (the VM's; 0 is success). */
#define TOS_CREATE_ADDRESS_TAKEN 0xFFFFFFFE00000001ULL
#define TOS_CREATE_CODE_NOT_FOUND 0xFFFFFFFE00000002ULL
#define TOS_CREATE_DEPTH_EXCEEDED 0xFFFFFFFE00000003ULL
#define TOS_CREATE_CONSTRUCTOR_FAILED 0xFFFFFFFE00000004ULL

/**
 * Create a new instance of the deployed code `code_hash` at the address
 * blake3("tos-vm/create-address/v1" || this contract's address || salt), run its
 * constructor with input[0..input_len], and write the new address to address_out[0..32].
 * Returns 0, or a TOS_CREATE_* status (nothing created; address_out zeroed).
 * Cost: 2000 + input_len units, plus the constructor's compute.
 */
uint64_t tos_create_contract(const uint8_t code_hash[32], const uint8_t salt[32],
                             const uint8_t *input, uint64_t input_len, uint8_t address_out[32]);

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
 * Copy n bytes from src to dst. The ranges must not overlap (the call aborts
 * with CopyOverlapping; use tos_memmove). Returns dst, like memcpy.
 * Cost: 10 + n / 64 units.
 */
uint8_t *tos_memcpy(uint8_t *dst, const uint8_t *src, uint64_t n);

/** Copy n bytes from src to dst; the ranges may overlap. Returns dst.
 * Cost: 10 + n / 64 units. */
uint8_t *tos_memmove(uint8_t *dst, const uint8_t *src, uint64_t n);

/** Set n bytes at dst to the low 8 bits of `byte`. Returns dst.
 * Cost: 10 + n / 64 units. */
uint8_t *tos_memset(uint8_t *dst, uint64_t byte, uint64_t n);

/**
 * Compare n bytes: returns 0 if equal, else (as int64_t) the difference of the
 * first differing bytes, a[i] - b[i]. Cost: 10 + n / 64 units.
 */
int64_t tos_memcmp(const uint8_t *a, const uint8_t *b, uint64_t n);

/*
 * The C library names, bound by the linker to the syscalls above (memcpy ->
 * tos_memcpy, memmove -> tos_memmove, memset -> tos_memset, memcmp and bcmp ->
 * tos_memcmp). Define TOS_NO_LIBC_DECLS if another header declares them.
 */
#ifndef TOS_NO_LIBC_DECLS
void *memcpy(void *dst, const void *src, __SIZE_TYPE__ n);
void *memmove(void *dst, const void *src, __SIZE_TYPE__ n);
void *memset(void *dst, int byte, __SIZE_TYPE__ n);
int memcmp(const void *a, const void *b, __SIZE_TYPE__ n);
#endif

/* ---- calls between contracts, return data -------------------------------- */

/**
 * Call the contract with code hash `contract` with input[0..input_len],
 * moving `value` native units from this contract to it first.
 * Returns 0 if the callee succeeded, the callee's own non-zero status, or one
 * of the TOS_INVOKE_* statuses. A failed callee's effects are reverted and
 * this contract continues; compute exhaustion in the callee ends the whole
 * call. Reentrancy (calling a contract already on the stack) is refused.
 * Cost: 1000 + input_len units, plus the callee's compute.
 */
uint64_t tos_invoke(const uint8_t contract[32], const uint8_t *input,
                    uint64_t input_len, uint64_t value);

/**
 * Replace this call's return data with data[0..len] (len <=
 * TOS_MAX_RETURN_DATA_LEN). Returns 0.
 * Cost: 100 + len units.
 */
uint64_t tos_set_return_data(const uint8_t *data, uint64_t len);

/**
 * Copy min(out_len, len) bytes of the last return data (after tos_invoke: the
 * callee's) into out and, unless setter is NULL, the 32-byte hash of the
 * contract that set it into setter. Returns the full length (0 if none).
 * Cost: 100 + copied length units.
 */
uint64_t tos_get_return_data(uint8_t *out, uint64_t out_len, uint8_t *setter);

/* ---- events ------------------------------------------------------------------ */

/**
 * Record an event: topic[0..topic_len] (<= 64 bytes), data[0..data_len]
 * (<= 1024 bytes). Kept only if the call succeeds; at most 256 events and
 * 64 KiB per call. Returns 0.
 * Cost: 100 + 2 * (topic_len + data_len) units.
 */
uint64_t tos_emit_event(const uint8_t *topic, uint64_t topic_len,
                        const uint8_t *data, uint64_t data_len);

/* ---- crypto ------------------------------------------------------------------ */

/** One byte range of a hash input. */
typedef struct {
    const uint8_t *addr;
    uint64_t len;
} tos_slice;

/**
 * Hash the concatenation of slices[0..count] (count <= 256, <= 1 MiB in all)
 * into out[0..32]. Returns 0. Cost: 100 + total_len / 2 units each.
 */
uint64_t tos_sha256(const tos_slice *slices, uint64_t count, uint8_t out[32]);
uint64_t tos_keccak256(const tos_slice *slices, uint64_t count, uint8_t out[32]);
uint64_t tos_blake3(const tos_slice *slices, uint64_t count, uint8_t out[32]);

/**
 * Verify the ed25519 signature[0..64] of msg[0..msg_len] (<= 64 KiB) by
 * public_key[0..32], strictly (no malleable signatures, no small-order keys).
 * Returns 0 if valid, 1 if not.
 * Cost: 2000 + msg_len / 2 units.
 */
uint64_t tos_ed25519_verify(const uint8_t public_key[32], const uint8_t *msg,
                            uint64_t msg_len, const uint8_t signature[64]);

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

/** Emit an event whose topic is a string literal. */
#define tos_emit_event_str(lit, data, data_len) \
    tos_emit_event((const uint8_t *)("" lit), sizeof(lit) - 1, (data), (data_len))

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

/* ---- calls by method name (docs/interface.md) -------------------------------

 * A contract with an interface.json beside its sources is called by method:
 * input = selector (u32, little-endian) ++ borsh of the arguments in order.
 * `tos-vm build` generates tos_interface.h from interface.json with
 * TOS_SELECTOR_<METHOD> for every method and TOS_ERROR_<NAME> for every error:
 *
 *     #include "tos.h"
 *     #include "tos_interface.h"
 *
 *     static uint64_t process(const uint8_t *input, uint64_t len) {
 *         uint32_t selector;
 *         tos_args args;
 *         if (!tos_call_begin(input, len, &selector, &args)) return 1;
 *         switch (selector) {
 *         case TOS_SELECTOR_ADD: {
 *             uint64_t by = tos_args_u64(&args);
 *             if (!tos_args_end(&args)) return 1;   (malformed arguments)
 *             ...
 *             return tos_return_u64(total);
 *         }
 *         default: return 1;
 *         }
 *     }
 *
 * The readers never read past the input: a short or malformed argument clears
 * `ok` and yields zeros / NULL, so one tos_args_end check after the last
 * argument covers them all.
 */

/** A cursor over borsh-encoded arguments (inside the read-only input). */
typedef struct {
    const uint8_t *data;
    uint64_t len;
    uint64_t pos;
    int ok;
} tos_args;

/**
 * Split call input into the method selector and a cursor over the arguments.
 * Returns 0 when the input is shorter than a selector.
 */
static inline int tos_call_begin(const uint8_t *input, uint64_t len, uint32_t *selector,
                                 tos_args *args) {
    if (len < 4) {
        *selector = 0;
        args->data = input;
        args->len = 0;
        args->pos = 0;
        args->ok = 0;
        return 0;
    }
    *selector = (uint32_t)input[0] | ((uint32_t)input[1] << 8) | ((uint32_t)input[2] << 16) |
                ((uint32_t)input[3] << 24);
    args->data = input + 4;
    args->len = len - 4;
    args->pos = 0;
    args->ok = 1;
    return 1;
}

/** The next n bytes of the arguments, or NULL (and ok = 0) if fewer are left. */
static inline const uint8_t *tos_args_take(tos_args *a, uint64_t n) {
    if (!a->ok || n > a->len - a->pos) {
        a->ok = 0;
        return (const uint8_t *)0;
    }
    const uint8_t *p = a->data + a->pos;
    a->pos += n;
    return p;
}

/** Little-endian unsigned integer of n <= 8 bytes. */
static inline uint64_t tos_args_uint(tos_args *a, uint64_t n) {
    const uint8_t *p = tos_args_take(a, n);
    uint64_t v = 0;
    if (p) {
        for (uint64_t i = n; i > 0; i--) {
            v = (v << 8) | p[i - 1];
        }
    }
    return v;
}

static inline uint8_t tos_args_u8(tos_args *a) { return (uint8_t)tos_args_uint(a, 1); }
static inline uint32_t tos_args_u32(tos_args *a) { return (uint32_t)tos_args_uint(a, 4); }
static inline uint64_t tos_args_u64(tos_args *a) { return tos_args_uint(a, 8); }

/** A borsh bool: one byte, 0 or 1 (anything else clears ok). */
static inline int tos_args_bool(tos_args *a) {
    uint8_t b = tos_args_u8(a);
    if (b > 1) {
        a->ok = 0;
        return 0;
    }
    return b;
}

/** An `address` or `hash`: 32 bytes, returned in place (NULL if short). */
static inline const uint8_t *tos_args_address(tos_args *a) { return tos_args_take(a, 32); }

/**
 * A `string` or `bytes`: u32 length, then the bytes, returned in place with
 * *out_len set (NULL and *out_len = 0 if malformed). Strings are not checked
 * for UTF-8 here.
 */
static inline const uint8_t *tos_args_bytes(tos_args *a, uint64_t *out_len) {
    uint64_t n = tos_args_uint(a, 4);
    const uint8_t *p = tos_args_take(a, n);
    *out_len = p ? n : 0;
    return p;
}

/** 1 when every argument was well-formed and no byte is left over. */
static inline int tos_args_end(const tos_args *a) { return a->ok && a->pos == a->len; }

/** Set the return data to a borsh u64. Returns 0 (success) for `return tos_return_u64(v);`. */
static inline uint64_t tos_return_u64(uint64_t v) {
    uint8_t buf[8];
    tos_store_u64_le(buf, v);
    tos_set_return_data(buf, 8);
    return 0;
}

/**
 * Set the return data to a borsh `string` / `bytes` (u32 length ++ bytes);
 * len must be at most TOS_MAX_RETURN_DATA_LEN - 4 (else the call aborts).
 * Returns 0 (success).
 */
static inline uint64_t tos_return_bytes(const uint8_t *p, uint64_t len) {
    uint8_t buf[TOS_MAX_RETURN_DATA_LEN];
    if (len > TOS_MAX_RETURN_DATA_LEN - 4) {
        tos_panic_str("return data too long");
    }
    tos_store_u64_le(buf, len); /* the low 4 bytes are the u32 length */
    memcpy(buf + 4, p, len);
    tos_set_return_data(buf, 4 + len);
    return 0;
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
