//! Raw syscall declarations: the exact ABI the TOS host exposes.
//!
//! Each function is an undefined external symbol in the contract's object file; tos-vm's
//! linker resolves it by name to an SBPF syscall. Prefer the safe wrappers in the crate
//! root and in [`crate::storage`]; these are `unsafe` because they take raw pointers,
//! which must point at `len` readable (or, for outputs, writable) bytes of contract memory.
//!
//! Under the `host` feature they stay plain `extern "C"` declarations: the crate compiles
//! natively, but a binary that calls them must provide the symbols (a host mock is future
//! work).

extern "C" {
    /// Appends `len` bytes at `msg` to the invoke's log (at most 10_000 bytes). Returns 0.
    pub fn tos_log(msg: *const u8, len: u64) -> u64;

    /// Aborts the invoke (`ContractPanicked`) after logging the message. Never returns.
    pub fn tos_panic(msg: *const u8, len: u64) -> !;

    /// Writes the current block's hash to `out[0..32]`. Returns 0.
    pub fn tos_get_block_hash(out: *mut u8) -> u64;

    /// Returns the current block's height.
    pub fn tos_get_block_height() -> u64;

    /// Writes the current transaction's hash to `out[0..32]`. Returns 0.
    pub fn tos_get_tx_hash(out: *mut u8) -> u64;

    /// Writes the transaction sender's address to `out[0..32]`. Returns 0.
    pub fn tos_get_tx_sender(out: *mut u8) -> u64;

    /// Writes the running contract's hash to `out[0..32]`. Returns 0.
    pub fn tos_get_contract_hash(out: *mut u8) -> u64;

    /// Returns the native-asset balance of the 32-byte `address`.
    pub fn tos_get_balance(address: *const u8) -> u64;

    /// Transfers `amount` of the native asset from the contract to `recipient`. Returns 0;
    /// failure (insufficient balance, zero amount, overflow) aborts the invoke.
    pub fn tos_transfer(recipient: *const u8, amount: u64) -> u64;

    /// Copies `min(out_len, value length)` bytes of the value under the key into `out`;
    /// returns the value's full length, or [`crate::NOT_FOUND`] if the key is absent.
    pub fn tos_storage_read(key: *const u8, key_len: u64, out: *mut u8, out_len: u64) -> u64;

    /// Stores the value under the key (key ≤ 256 bytes, value ≤ 65_536 bytes). Returns 0.
    pub fn tos_storage_write(key: *const u8, key_len: u64, value: *const u8, value_len: u64)
        -> u64;

    /// Removes the key. Returns 1 if it existed, else 0.
    pub fn tos_storage_delete(key: *const u8, key_len: u64) -> u64;
}
