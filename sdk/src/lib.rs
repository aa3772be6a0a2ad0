//! # tos-sdk — write TOS smart contracts in Rust
//!
//! A `no_std` crate (it uses `alloc` only where a value outgrows the stack) with everything a
//! contract needs:
//!
//! - [`entrypoint!`] turns `fn process(ctx: &Context, input: &[u8]) -> Result<(), E>` into the
//!   exported entry point and installs a heap allocator ([`heap`]); a panic aborts the call
//!   (`ContractPanicked`: contracts are built with the `immediate-abort` panic strategy, so it
//!   carries one fixed message; host tests show the panic's own);
//! - [`Context`]: sender, caller, contract address, block, call value, native balances and
//!   transfers;
//! - [`storage`]: raw bytes, borsh values ([`storage::get`], [`storage::set`]) and declared
//!   layouts ([`storage::Item`], [`storage::Map`]);
//! - [`codec`]: borsh on byte slices with little code (what the SDK decodes and encodes with:
//!   no allocated error messages, no growing buffers);
//! - [`ContractError`] with stable status codes; [`Hash`](struct@Hash), [`Address`]/[`PublicKey`] and
//!   [`Amount`] (32 bytes with hex `Display`, borsh-encoded as their bytes);
//! - typed wrappers over every syscall: logging ([`log()`], [`LogLine`], [`log!`]), [`mem`],
//!   [`crypto`], [`call`] (other contracts, return data), [`events`]; the raw declarations are
//!   in [`syscalls`];
//! - `host` (feature `host`): run the same contract natively against an in-memory chain and
//!   unit-test it with `cargo test`.
//!
//! ```ignore
//! #![cfg_attr(not(test), no_std)]
//! use tos_sdk::{entrypoint, storage::Item, Context, ContractError};
//!
//! const COUNT: Item<u64> = Item::new(b"count");
//!
//! entrypoint!(process);
//!
//! fn process(_ctx: &Context, _input: &[u8]) -> Result<(), ContractError> {
//!     let count = COUNT.get_or_default()?.checked_add(1).ok_or(ContractError::ArithmeticOverflow)?;
//!     COUNT.set(&count)?;
//!     Ok(())
//! }
//! ```
//!
//! A contract is a `staticlib` crate built for `bpfel-unknown-none` by tos-vm's build driver
//! (`tos-vm build DIR`); docs/tutorial.md walks through one from an empty directory. Ordinary
//! Rust compiles: the build routes runtime-length copies, fills and comparisons to the host's
//! memory syscalls and compiles signed division through unsigned division (see
//! docs/contracts.md). What remains: no writable statics (keep state in [`storage`]), no
//! floating point or 128-bit division, 4 KiB of stack per call frame and 32 KiB of heap per
//! call. Prefer [`LogLine`] over `core::fmt` (`format!`, `{}`, [`log!`]), which adds several
//! KB of code.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub mod call;
pub mod codec;
mod context;
pub mod crypto;
mod error;
pub mod events;
pub mod heap;
#[cfg(feature = "host")]
pub mod host;
mod log;
pub mod mem;
pub mod storage;
pub mod syscalls;
pub mod text;
mod types;

pub use borsh;
pub use context::{Asset, Context, CreateError, View, NATIVE_ASSET};
pub use error::ContractError;
pub use log::{decimal, log, log_bytes, LogLine, MAX_LOG_LEN};
pub use tos_abi::method_selector;
pub use tos_sdk_macros::{contract, entrypoint};
pub use types::{Address, Amount, Hash, PublicKey};

/// What most contracts import: `use tos_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::storage::{Item, Map};
    pub use crate::{
        abort, contract, entrypoint, log, require, Address, Amount, Context, ContractError, Hash,
        LogLine, PublicKey, View,
    };
    pub use borsh::{BorshDeserialize, BorshSerialize};
}

/// Status of a successful call.
pub const SUCCESS: u64 = 0;

/// Aborts the call (`ContractPanicked`) with `msg` in the log; all its effects are dropped.
/// For expected failures return a [`ContractError`] instead: it has a stable code.
#[inline]
pub fn abort(msg: &str) -> ! {
    // SAFETY: the slice is valid for reads of its length; the syscall never returns.
    unsafe { syscalls::tos_panic(msg.as_ptr(), msg.len() as u64) }
}

/// `Err(error)` unless `condition` holds: `require(owner == sender, ContractError::Unauthorized)?`.
#[inline]
pub fn require(condition: bool, error: impl Into<ContractError>) -> Result<(), ContractError> {
    if condition {
        Ok(())
    } else {
        Err(error.into())
    }
}

/// Support of the code [`entrypoint!`] and [`contract`] generate. Not a stable API.
#[doc(hidden)]
pub mod __private {
    use crate::{Context, ContractError};
    use borsh::{BorshDeserialize, BorshSerialize};

    pub use alloc::vec::Vec;

    /// A call's selector and the rest of its input; `None` for an empty input, `InvalidInput`
    /// for 1 to 3 bytes.
    #[inline(always)]
    pub fn split_selector(input: &[u8]) -> Result<Option<(u32, &[u8])>, ContractError> {
        match input {
            [] => Ok(None),
            [a, b, c, d, rest @ ..] => Ok(Some((u32::from_le_bytes([*a, *b, *c, *d]), rest))),
            _ => Err(ContractError::InvalidInput),
        }
    }

    /// Decodes the next argument (borsh); `InvalidInput` if it does not decode. The error is
    /// dropped unread, so no `core::fmt` code is kept for it.
    #[inline(always)]
    pub fn decode_arg<T: BorshDeserialize>(args: &mut &[u8]) -> Result<T, ContractError> {
        crate::codec::decode_next(args).ok_or(ContractError::InvalidInput)
    }

    /// Decodes a `String` argument with [`crate::text::read_string`] (one length check, one
    /// copy, a compact UTF-8 check): borsh's `String` decoder formats its UTF-8 error
    /// (`to_string`, so `core::fmt`) and grows its buffer in steps.
    #[inline(always)]
    pub fn decode_string(args: &mut &[u8]) -> Result<alloc::string::String, ContractError> {
        let mut reader = crate::codec::SliceReader::new(args);
        let text =
            crate::text::read_string(&mut reader).map_err(|_| ContractError::InvalidInput)?;
        *args = reader.rest();
        Ok(text)
    }

    /// Decodes a `Vec<u8>` argument: its length checked against the input, one copy.
    #[inline(always)]
    pub fn decode_bytes(args: &mut &[u8]) -> Result<Vec<u8>, ContractError> {
        let mut reader = crate::codec::SliceReader::new(args);
        let bytes = reader.byte_string().ok_or(ContractError::InvalidInput)?;
        *args = reader.rest();
        Ok(bytes.to_vec())
    }

    /// Decodes a `Vec<T>` argument (`T` not `u8`) into a vector allocated once with the
    /// length the input states, so no growth code is linked (borsh's decoder starts small
    /// and grows). Accepts what borsh accepts, except that a length over the input's
    /// remaining bytes whose elements would not fit in [`crate::heap::HEAP_LEN`] bytes
    /// is refused at once (it could only decode from elements of zero-byte encodings, and
    /// would run out of heap; borsh would abort the call there or reach the input's end).
    pub fn decode_vec<T: BorshDeserialize>(args: &mut &[u8]) -> Result<Vec<T>, ContractError> {
        let mut reader = crate::codec::SliceReader::new(args);
        let len = reader.u32().ok_or(ContractError::InvalidInput)? as usize;
        // borsh refuses vectors of zero-sized types (`check_zst`), whatever their length.
        let size = core::mem::size_of::<T>();
        if size == 0
            || (len > reader.rest().len() && len.saturating_mul(size) > crate::heap::HEAP_LEN)
        {
            return Err(ContractError::InvalidInput);
        }
        let mut items: Vec<T> = Vec::with_capacity(len);
        for _ in 0..len {
            let item =
                T::deserialize_reader(&mut reader).map_err(|_| ContractError::InvalidInput)?;
            // SAFETY: fewer than `len` items were written, and the capacity is `len`.
            unsafe {
                items.as_mut_ptr().add(items.len()).write(item);
                items.set_len(items.len() + 1);
            }
        }
        *args = reader.rest();
        Ok(items)
    }

    /// `InvalidInput` unless every byte of the input was an argument.
    #[inline(always)]
    pub fn end_of_args(args: &[u8]) -> Result<(), ContractError> {
        if args.is_empty() {
            Ok(())
        } else {
            Err(ContractError::InvalidInput)
        }
    }

    /// Appends the borsh encoding of `value` (writing into a `Vec` cannot fail).
    pub fn encode_arg<T: BorshSerialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
        let _ = value.serialize(out);
    }

    /// The call's input as a slice.
    ///
    /// # Safety
    /// `input` must point at `len` readable bytes that live for the whole call (or `len` must
    /// be 0).
    #[inline(always)]
    pub unsafe fn input_slice<'a>(input: *const u8, len: u64) -> &'a [u8] {
        if input.is_null() || len == 0 {
            &[]
        } else {
            // SAFETY: guaranteed by the caller (the VM maps `len` bytes of input at `input`).
            unsafe { core::slice::from_raw_parts(input, len as usize) }
        }
    }

    /// Runs the contract's `process` function and turns its result into the call's status.
    #[inline(always)]
    pub fn run<E: Into<ContractError>>(
        input: &[u8],
        process: impl FnOnce(&Context, &[u8]) -> Result<(), E>,
    ) -> u64 {
        status(process(&Context::new(), input))
    }

    /// `Ok` → 0, `Err(e)` → `e`'s code (never 0).
    #[inline(always)]
    pub fn status<E: Into<ContractError>>(result: Result<(), E>) -> u64 {
        match result {
            Ok(()) => crate::SUCCESS,
            Err(error) => error.into().code(),
        }
    }
}

/// Logs `panicked at <file>:<line>`, then aborts the call through `tos_panic` with the panic's
/// message when it is a literal (`panic!("literal")`, `expect("literal")` gives the formatted
/// text, so `"panicked"`) — without `core::fmt`, whose machinery would add several KB.
///
/// `tos-vm build` compiles contracts with the `immediate-abort` panic strategy, under which no
/// panic reaches this handler (each aborts at once with `tos_loader::toolchain::TRAP_MESSAGE`):
/// it serves builds of the SDK with an ordinary `panic = "abort"`.
#[cfg(all(target_arch = "bpf", not(feature = "host")))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    if let Some(location) = info.location() {
        let mut line = LogLine::<192>::new();
        line.str("panicked at ")
            .str(location.file())
            .str(":")
            .u64(u64::from(location.line()));
        line.log();
    }
    abort(info.message().as_str().unwrap_or("panicked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping() {
        assert_eq!(__private::status::<ContractError>(Ok(())), 0);
        assert_eq!(__private::status(Err(ContractError::Unauthorized)), 3);
        assert_eq!(__private::status(Err(ContractError::Custom(2))), 1002);
    }

    #[test]
    fn input_slice() {
        let data = [1u8, 2, 3];
        // SAFETY: `data` outlives the slice.
        let s = unsafe { __private::input_slice(data.as_ptr(), 3) };
        assert_eq!(s, &data);
        // SAFETY: null with length 0 gives the empty slice.
        let e = unsafe { __private::input_slice(core::ptr::null(), 0) };
        assert!(e.is_empty());
    }

    #[test]
    fn argument_decoders_accept_what_borsh_accepts() {
        use alloc::string::String;
        use alloc::vec::Vec;
        type Transfers = Vec<(Address, Amount)>;
        let transfers: Transfers = (0..3u8)
            .map(|i| (Address::new([i; 32]), Amount(u64::from(i) * 1000)))
            .collect();
        let cases: [(Vec<u8>, &str); 4] = [
            (borsh::to_vec(&transfers).unwrap(), "vec"),
            (borsh::to_vec(&Transfers::new()).unwrap(), "vec"),
            (borsh::to_vec(&alloc::vec![1u8, 2, 3]).unwrap(), "bytes"),
            (borsh::to_vec(&String::from("ünï")).unwrap(), "string"),
        ];
        for (bytes, kind) in cases {
            for cut in 0..=bytes.len() {
                let mut args = &bytes[..cut];
                let ours = match kind {
                    "vec" => __private::decode_vec::<(Address, Amount)>(&mut args)
                        .map(|v| borsh::to_vec(&v).unwrap()),
                    "bytes" => {
                        __private::decode_bytes(&mut args).map(|v| borsh::to_vec(&v).unwrap())
                    }
                    _ => __private::decode_string(&mut args).map(|v| borsh::to_vec(&v).unwrap()),
                };
                let theirs = match kind {
                    "vec" => borsh::from_slice::<Transfers>(&bytes[..cut])
                        .map(|v| borsh::to_vec(&v).unwrap()),
                    "bytes" => borsh::from_slice::<Vec<u8>>(&bytes[..cut])
                        .map(|v| borsh::to_vec(&v).unwrap()),
                    _ => borsh::from_slice::<String>(&bytes[..cut])
                        .map(|v| borsh::to_vec(&v).unwrap()),
                };
                assert_eq!(ours.ok(), theirs.ok(), "{kind} cut at {cut}");
                if cut == bytes.len() {
                    assert!(args.is_empty(), "{kind}: the decoder consumed its bytes");
                }
            }
        }
        // A length past the input whose elements could not fit in the heap is refused at once,
        // without allocating; vectors of zero-sized types are refused as borsh refuses them.
        let mut huge: &[u8] = &[0xFF, 0xFF, 0xFF, 0x7F, 0];
        assert_eq!(
            __private::decode_vec::<(Address, Amount)>(&mut huge),
            Err(ContractError::InvalidInput)
        );
        let mut units: &[u8] = &[0, 0, 0, 0];
        assert_eq!(
            __private::decode_vec::<()>(&mut units),
            Err(ContractError::InvalidInput)
        );
        assert!(borsh::from_slice::<Vec<()>>(&[0, 0, 0, 0]).is_err());
    }

    #[test]
    fn require_gives_the_error() {
        assert_eq!(require(true, ContractError::Unauthorized), Ok(()));
        assert_eq!(
            require(false, ContractError::Unauthorized),
            Err(ContractError::Unauthorized)
        );
    }
}
