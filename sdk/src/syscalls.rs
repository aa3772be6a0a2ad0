//! Raw syscall declarations: the exact ABI the TOS host exposes (docs/syscalls.md).
//!
//! Each function is an undefined external symbol in the contract's object; tos-vm's link step
//! turns calls to it into SBPF syscalls by name. Prefer the safe, typed wrappers of the crate
//! (`tos_sdk::log`, [`crate::Context`], [`crate::storage`], [`crate::mem`], [`crate::crypto`],
//! [`crate::call`], [`crate::events`]); these are `unsafe` because they take raw pointers, which
//! must point at the stated number of readable (or, for outputs, writable) bytes.
//!
//! Under the `host` feature the same names are Rust functions that act on the in-process
//! chain of `crate::host` (feature `host`), so the wrappers run unchanged in native tests.

/// One entry of the slice list the hash syscalls take: address and length of a byte range.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SliceRef {
    /// Address of the first byte.
    pub addr: u64,
    /// Number of bytes.
    pub len: u64,
}

impl SliceRef {
    /// Describes `bytes` (valid while `bytes` is borrowed).
    pub fn new(bytes: &[u8]) -> Self {
        SliceRef {
            addr: bytes.as_ptr() as u64,
            len: bytes.len() as u64,
        }
    }
}

#[cfg(feature = "host")]
pub use crate::host::syscalls::*;

#[cfg(not(feature = "host"))]
extern "C" {
    // ---- log -------------------------------------------------------------------------
    /// Appends `len` bytes at `msg` to the invoke's log (≤ 10 000 bytes, ≤ 64 KiB per invoke).
    /// Returns 0. Cost 100 + len.
    pub fn tos_log(msg: *const u8, len: u64) -> u64;
    /// Aborts the invoke (`ContractPanicked`) with the message. Never returns. Cost 100 + len.
    pub fn tos_panic(msg: *const u8, len: u64) -> !;

    // ---- chain -----------------------------------------------------------------------
    /// Writes the current block's hash to `out[0..32]`. Returns 0. Cost 50.
    pub fn tos_get_block_hash(out: *mut u8) -> u64;
    /// Returns the current block's height. Cost 50.
    pub fn tos_get_block_height() -> u64;
    /// Returns the block's timestamp (seconds since the Unix epoch). Cost 50.
    pub fn tos_get_block_timestamp() -> u64;
    /// Writes the current transaction's hash to `out[0..32]`. Returns 0. Cost 50.
    pub fn tos_get_tx_hash(out: *mut u8) -> u64;
    /// Writes the transaction sender's address to `out[0..32]`. Returns 0. Cost 50.
    pub fn tos_get_tx_sender(out: *mut u8) -> u64;
    /// Writes the running contract's address (its instance) to `out[0..32]`. Returns 0.
    /// Cost 50.
    pub fn tos_get_contract_hash(out: *mut u8) -> u64;
    /// Writes the code hash the running contract runs (shared by every instance of it) to
    /// `out[0..32]`. Returns 0. Cost 50.
    pub fn tos_get_code_hash(out: *mut u8) -> u64;
    /// Writes the caller (the tx sender at depth 1, else the calling contract) to
    /// `out[0..32]`. Returns 0. Cost 50.
    pub fn tos_get_caller(out: *mut u8) -> u64;
    /// Returns the call depth: 1 for a top-level call, +1 per nested `tos_invoke`. Cost 50.
    pub fn tos_get_call_depth() -> u64;
    /// Returns the native value sent with this call. Cost 50.
    pub fn tos_get_call_value() -> u64;

    // ---- balance ---------------------------------------------------------------------
    /// Returns the native balance of the 32-byte `address`. Cost 200.
    pub fn tos_get_balance(address: *const u8) -> u64;
    /// Returns the running contract's native balance. Cost 200.
    pub fn tos_get_self_balance() -> u64;
    /// Moves `amount` of the native asset from the contract to `recipient`. Returns 0; a zero,
    /// insufficient or overflowing amount aborts the invoke. Cost 1000.
    pub fn tos_transfer(recipient: *const u8, amount: u64) -> u64;
    /// Returns the balance of the 32-byte `address` in the 32-byte `asset`. Cost 200.
    pub fn tos_get_asset_balance(address: *const u8, asset: *const u8) -> u64;
    /// Moves `amount` of `asset` from the contract to `recipient`. Returns 0; refused like
    /// `tos_transfer`. Cost 1000.
    pub fn tos_transfer_asset(recipient: *const u8, asset: *const u8, amount: u64) -> u64;

    // ---- deposits --------------------------------------------------------------------
    /// Returns the number of assets deposited with this call. Cost 50.
    pub fn tos_get_deposit_count() -> u64;
    /// Writes the `index`-th deposit's asset (ascending asset order) to `asset_out[0..32]` and
    /// returns its amount; an index past the count aborts the invoke. Cost 100.
    pub fn tos_get_deposit(index: u64, asset_out: *mut u8) -> u64;
    /// Returns the amount of the 32-byte `asset` deposited with this call (0 if none).
    /// Cost 100.
    pub fn tos_get_deposit_amount(asset: *const u8) -> u64;

    // ---- create ----------------------------------------------------------------------
    /// Creates an instance of the deployed code `code_hash` at
    /// blake3("tos-vm/create-address/v1" || this contract || salt), runs its constructor with
    /// the input and writes the new address to `address_out[0..32]`. Returns 0 or a
    /// `CREATE_*` status (nothing created). Cost 2000 + input_len + the constructor's.
    pub fn tos_create_contract(
        code_hash: *const u8,
        salt: *const u8,
        input: *const u8,
        input_len: u64,
        address_out: *mut u8,
    ) -> u64;

    // ---- storage ---------------------------------------------------------------------
    /// Copies `min(out_len, value length)` bytes of the value under the key into `out`;
    /// returns the value's full length, or `u64::MAX` if absent. Key ≤ 256 bytes.
    /// Cost 200 + key_len + value_len.
    pub fn tos_storage_read(key: *const u8, key_len: u64, out: *mut u8, out_len: u64) -> u64;
    /// Stores the value under the key (key ≤ 256 bytes, value ≤ 65 536 bytes). Returns 0.
    /// Cost 1000 + 4 × (key_len + value_len).
    pub fn tos_storage_write(key: *const u8, key_len: u64, value: *const u8, value_len: u64)
        -> u64;
    /// Removes the key. Returns 1 if it existed, else 0. Cost 500 + key_len.
    pub fn tos_storage_delete(key: *const u8, key_len: u64) -> u64;

    // ---- mem -------------------------------------------------------------------------
    /// Copies `n` bytes; the ranges must not overlap (else `CopyOverlapping`). Returns `dst`.
    /// Cost 10 + n / 64.
    pub fn tos_memcpy(dst: *mut u8, src: *const u8, n: u64) -> *mut u8;
    /// Copies `n` bytes; the ranges may overlap. Returns `dst`. Cost 10 + n / 64.
    pub fn tos_memmove(dst: *mut u8, src: *const u8, n: u64) -> *mut u8;
    /// Sets `n` bytes to `byte` (its low 8 bits). Returns `dst`. Cost 10 + n / 64.
    pub fn tos_memset(dst: *mut u8, byte: u64, n: u64) -> *mut u8;
    /// Compares `n` bytes: 0 if equal, else `a[i] - b[i]` of the first difference.
    /// Cost 10 + n / 64.
    pub fn tos_memcmp(a: *const u8, b: *const u8, n: u64) -> i64;

    // ---- invoke ----------------------------------------------------------------------
    /// Calls another contract with `input` and `value` native units: 0 on success, the
    /// callee's non-zero status, or an `INVOKE_*` status. Cost 1000 + input_len + callee's.
    pub fn tos_invoke(contract: *const u8, input: *const u8, input_len: u64, value: u64) -> u64;
    /// Replaces the invoke's return data (≤ 1024 bytes). Returns 0. Cost 100 + len.
    pub fn tos_set_return_data(data: *const u8, len: u64) -> u64;
    /// Copies `min(out_len, len)` bytes of the last return data into `out` and, unless
    /// `setter` is null, the 32-byte hash of the contract that set it. Returns the full length
    /// (0 if none). Cost 100 + copied length.
    pub fn tos_get_return_data(out: *mut u8, out_len: u64, setter: *mut u8) -> u64;

    // ---- events ----------------------------------------------------------------------
    /// Records an event (topic ≤ 64 bytes, data ≤ 1024 bytes); kept only if the invoke
    /// succeeds. Returns 0. Cost 100 + 2 × (topic_len + data_len).
    pub fn tos_emit_event(topic: *const u8, topic_len: u64, data: *const u8, data_len: u64) -> u64;

    // ---- crypto ----------------------------------------------------------------------
    /// SHA-256 of the concatenation of `count` slices into `out[0..32]`. Returns 0.
    /// Cost 100 + bytes / 2.
    pub fn tos_sha256(slices: *const SliceRef, count: u64, out: *mut u8) -> u64;
    /// Keccak-256 (Ethereum's) of the slices into `out[0..32]`. Returns 0. Cost 100 + bytes / 2.
    pub fn tos_keccak256(slices: *const SliceRef, count: u64, out: *mut u8) -> u64;
    /// BLAKE3 of the slices into `out[0..32]`. Returns 0. Cost 100 + bytes / 2.
    pub fn tos_blake3(slices: *const SliceRef, count: u64, out: *mut u8) -> u64;
    /// Verifies an ed25519 signature (64 bytes) of `msg` by `public_key` (32 bytes), strictly.
    /// Returns 0 if valid, 1 if not. Cost 2000 + msg_len / 2.
    pub fn tos_ed25519_verify(
        public_key: *const u8,
        msg: *const u8,
        msg_len: u64,
        signature: *const u8,
    ) -> u64;
}
