//! # tos-sdk — write TOS smart contracts in Rust
//!
//! A `no_std` crate with the syscall declarations of the TOS VM ([`syscalls`]), safe
//! wrappers around them (this module and [`storage`]), the [`entrypoint!`] macro and a
//! panic handler that aborts the invoke through `tos_panic`.
//!
//! A contract is a `staticlib` crate built for `bpfel-unknown-none` by tos-vm's build
//! driver (`tos_loader::toolchain::build_contract`):
//!
//! ```ignore
//! #![no_std]
//! use tos_sdk::{entrypoint, log, storage};
//!
//! entrypoint!(process);
//!
//! fn process(_input: &[u8]) -> Result<(), u64> {
//!     let count = storage::read_u64(b"count").map_err(|_| 1u64)?.unwrap_or(0);
//!     storage::write_u64(b"count", count.checked_add(1).ok_or(2u64)?);
//!     log("incremented");
//!     Ok(())
//! }
//! ```
//!
//! `Cargo.toml` of the contract: `[lib] crate-type = ["staticlib"]`, `panic = "abort"` in
//! its profiles, and an empty `[workspace]` table so it builds on its own.
//!
//! ## What the stock BPF backend cannot compile (yet)
//! - copies or fills whose length is known only at run time (`copy_from_slice`,
//!   `fill`, `clone_from_slice` on runtime-length slices): LLVM emits a `memcpy`/`memset`
//!   call the BPF backend refuses (the build fails; it never miscompiles). Use fixed-size
//!   arrays (constant-length copies are inlined) or copy in a loop over indices;
//! - signed division and remainder (`i64 / i64`): use unsigned types;
//! - writable statics (`static mut`, atomics, `.data`/`.bss`): keep state in [`storage`];
//!
//! Avoid `core::fmt` (`format_args!`, `{}`): it compiles, but adds several KB of code and
//! compute; format numbers by hand into a stack buffer. Bounds checks and `expect` pull it
//! in through their panic messages too (the handler never formats them).
//!
//! ## Features
//! - `host`: compile natively (for unit tests of contract logic). The syscalls stay
//!   `extern` declarations; a test that calls them must provide them.

#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

pub mod storage;
pub mod syscalls;

/// A 32-byte hash (block, transaction, contract).
pub type Hash = [u8; 32];
/// A 32-byte account address (public key).
pub type Address = [u8; 32];

/// Returned by the raw `tos_storage_read` when the key is absent.
pub const NOT_FOUND: u64 = u64::MAX;
/// Status of a successful invoke.
pub const SUCCESS: u64 = 0;
/// Largest log message, in bytes; longer messages abort the invoke.
pub const MAX_LOG_LEN: usize = 10_000;
/// Status the entrypoint returns for `Err(0)`: an error must never look like success.
pub const ERR_ZERO_STATUS: u64 = 1;

/// Appends `msg` to the invoke's log (at most [`MAX_LOG_LEN`] bytes).
#[inline]
pub fn log(msg: &str) {
    log_bytes(msg.as_bytes());
}

/// Appends raw bytes to the invoke's log (at most [`MAX_LOG_LEN`] bytes).
#[inline]
pub fn log_bytes(msg: &[u8]) {
    // SAFETY: the slice is valid for reads of its length.
    unsafe {
        syscalls::tos_log(msg.as_ptr(), msg.len() as u64);
    }
}

/// Aborts the invoke (`ContractPanicked`) with `msg` in the log. All state changes of the
/// invoke are dropped.
#[inline]
pub fn abort(msg: &str) -> ! {
    // SAFETY: the slice is valid for reads of its length; the syscall never returns.
    unsafe { syscalls::tos_panic(msg.as_ptr(), msg.len() as u64) }
}

/// Aborts the invoke with `msg` unless `cond` holds.
#[inline]
pub fn require(cond: bool, msg: &str) {
    if !cond {
        abort(msg);
    }
}

/// Height of the block being executed.
#[inline]
pub fn block_height() -> u64 {
    // SAFETY: no arguments.
    unsafe { syscalls::tos_get_block_height() }
}

/// Hash of the block being executed.
#[inline]
pub fn block_hash() -> Hash {
    let mut out = [0u8; 32];
    // SAFETY: `out` is 32 writable bytes.
    unsafe {
        syscalls::tos_get_block_hash(out.as_mut_ptr());
    }
    out
}

/// Hash of the transaction being executed.
#[inline]
pub fn tx_hash() -> Hash {
    let mut out = [0u8; 32];
    // SAFETY: `out` is 32 writable bytes.
    unsafe {
        syscalls::tos_get_tx_hash(out.as_mut_ptr());
    }
    out
}

/// Address of the transaction's sender.
#[inline]
pub fn tx_sender() -> Address {
    let mut out = [0u8; 32];
    // SAFETY: `out` is 32 writable bytes.
    unsafe {
        syscalls::tos_get_tx_sender(out.as_mut_ptr());
    }
    out
}

/// Hash (address) of the running contract.
#[inline]
pub fn contract_hash() -> Hash {
    let mut out = [0u8; 32];
    // SAFETY: `out` is 32 writable bytes.
    unsafe {
        syscalls::tos_get_contract_hash(out.as_mut_ptr());
    }
    out
}

/// Native-asset balance of `address`.
#[inline]
pub fn balance(address: &Address) -> u64 {
    // SAFETY: `address` is 32 readable bytes.
    unsafe { syscalls::tos_get_balance(address.as_ptr()) }
}

/// Transfers `amount` of the native asset from the running contract to `recipient`.
///
/// Returns only on success: an insufficient balance, a zero amount or an overflow of the
/// recipient's balance aborts the invoke.
#[inline]
pub fn transfer(recipient: &Address, amount: u64) {
    // SAFETY: `recipient` is 32 readable bytes.
    unsafe {
        syscalls::tos_transfer(recipient.as_ptr(), amount);
    }
}

/// Turns the result of a contract's `process` function into the entrypoint's status:
/// `Ok` → 0, `Err(code)` → `code`, except `Err(0)` → [`ERR_ZERO_STATUS`].
#[inline]
pub fn status_of(result: Result<(), u64>) -> u64 {
    match result {
        Ok(()) => SUCCESS,
        Err(0) => ERR_ZERO_STATUS,
        Err(code) => code,
    }
}

/// Builds the input slice the entrypoint hands to `process`.
///
/// # Safety
/// `input` must point at `len` readable bytes that live for the whole invoke (or `len`
/// must be 0).
#[doc(hidden)]
#[inline]
pub unsafe fn __input_slice<'a>(input: *const u8, len: u64) -> &'a [u8] {
    if input.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller (the VM maps `len` bytes of input at `input`).
        unsafe { core::slice::from_raw_parts(input, len as usize) }
    }
}

/// Defines the contract's entry point.
///
/// `entrypoint!(process)` exports
/// `extern "C" fn entrypoint(input: *const u8, len: u64) -> u64`, which calls
/// `fn process(input: &[u8]) -> Result<(), u64>` with the call data and returns
/// 0 for `Ok(())` and the (nonzero) code for `Err(code)` (`Err(0)` becomes
/// [`ERR_ZERO_STATUS`]).
#[macro_export]
macro_rules! entrypoint {
    ($process:path) => {
        /// Contract entry point called by the TOS VM (r1 = input, r2 = input length).
        #[unsafe(no_mangle)]
        pub extern "C" fn entrypoint(input: *const u8, len: u64) -> u64 {
            // SAFETY: the VM passes the address and length of the mapped call data.
            let input: &[u8] = unsafe { $crate::__input_slice(input, len) };
            let process: fn(&[u8]) -> ::core::result::Result<(), u64> = $process;
            $crate::status_of(process(input))
        }
    };
}

/// Aborts the invoke through `tos_panic`.
///
/// The panic's location is logged first (`panicked at <file>:<line>`), then the invoke is
/// aborted with the panic's literal message (`panic!("literal")`), or `"panicked"` when the
/// message is formatted (`expect`, bounds checks, `panic!("{x}")`). No formatting machinery
/// is used.
#[cfg(all(target_arch = "bpf", not(feature = "host"), not(test)))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    if let Some(location) = info.location() {
        let mut buf = [0u8; 192];
        let len = panic_location(location.file().as_bytes(), location.line(), &mut buf);
        log_bytes(buf.get(..len).unwrap_or(&buf));
    }
    abort(info.message().as_str().unwrap_or("panicked"))
}

/// Writes `panicked at <file>:<line>` into `out` (keeping the end of a long file name);
/// returns the length written. Copies byte by byte with volatile reads so that LLVM cannot
/// turn the loop into a `memcpy` call (which the BPF backend refuses), and without indexing
/// that could panic again.
#[doc(hidden)]
pub fn panic_location(file: &[u8], line: u32, out: &mut [u8; 192]) -> usize {
    const PREFIX: &[u8; 12] = b"panicked at ";
    let mut digits = [0u8; 10];
    let mut n = 0;
    let mut rest = line;
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
        n += 1;
        if rest == 0 {
            break;
        }
    }
    // Room for the file name: prefix, ':' and the digits take at most 23 bytes.
    let room = out.len() - PREFIX.len() - 1 - n;
    let file = if file.len() > room {
        file.get(file.len() - room..).unwrap_or(file)
    } else {
        file
    };
    let line_digits = digits.get(digits.len() - n..).unwrap_or(&digits);
    let colon: &[u8] = b":";
    let mut slots = out.iter_mut();
    let mut written = 0;
    for part in [&PREFIX[..], file, colon, line_digits] {
        for byte in part {
            match slots.next() {
                Some(slot) => {
                    // SAFETY: `byte` is a valid reference.
                    *slot = unsafe { core::ptr::read_volatile(byte) };
                    written += 1;
                }
                None => return written,
            }
        }
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping() {
        assert_eq!(status_of(Ok(())), 0);
        assert_eq!(status_of(Err(7)), 7);
        assert_eq!(status_of(Err(0)), ERR_ZERO_STATUS);
    }

    #[test]
    fn input_slice() {
        let data = [1u8, 2, 3];
        // SAFETY: `data` outlives the slice.
        let s = unsafe { __input_slice(data.as_ptr(), 3) };
        assert_eq!(s, &data);
        // SAFETY: null with length 0 gives the empty slice.
        let e = unsafe { __input_slice(core::ptr::null(), 0) };
        assert!(e.is_empty());
    }

    #[test]
    fn panic_location_text() {
        let mut buf = [0u8; 192];
        let n = panic_location(b"src/lib.rs", 42, &mut buf);
        assert_eq!(&buf[..n], b"panicked at src/lib.rs:42");
        let n = panic_location(b"x", 0, &mut buf);
        assert_eq!(&buf[..n], b"panicked at x:0");
        let n = panic_location(b"f", u32::MAX, &mut buf);
        assert_eq!(&buf[..n], b"panicked at f:4294967295");
        let long = [b'a'; 300];
        let n = panic_location(&long, 7, &mut buf);
        assert_eq!(n, 192);
        assert!(buf[..n].ends_with(b"aaa:7"));
        assert!(buf.starts_with(b"panicked at aaa"));
    }
}
