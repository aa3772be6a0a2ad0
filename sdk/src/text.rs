//! Strings in borsh without `core::fmt`.
//!
//! borsh's own `String` decoder reports invalid UTF-8 with a formatted message
//! (`to_string` on the UTF-8 error), which links `core::fmt` (several KB) into any contract that
//! decodes a `String`. [`read_string`] decodes the same bytes and reports the same failure as
//! `ErrorKind::InvalidData` without a message. Use it on `String` fields of stored or returned
//! structs:
//!
//! ```
//! use borsh::{BorshDeserialize, BorshSerialize};
//!
//! #[derive(BorshSerialize, BorshDeserialize)]
//! struct Metadata {
//!     #[borsh(deserialize_with = "tos_sdk::text::read_string")]
//!     name: String,
//!     decimals: u8,
//! }
//!
//! let bytes = borsh::to_vec(&Metadata { name: "Demo".into(), decimals: 2 }).unwrap();
//! assert_eq!(borsh::from_slice::<Metadata>(&bytes).unwrap().name, "Demo");
//! ```
//!
//! `#[contract]` methods decode their `String` arguments this way already.

use alloc::string::String;
use alloc::vec::Vec;
use borsh::io::{ErrorKind, Read, Result};

/// Longest string [`read_string`] reads with one allocation: borsh's own decoder allocates at
/// most this much before reading. In a contract nothing longer than the call's heap can be
/// allocated at all, so a longer length is refused there at once (the allocation would have
/// aborted the call); elsewhere it is read in steps, as borsh does.
const ONE_ALLOCATION_MAX: usize = 1 << 20;

/// Reads a borsh `String` (u32 length, then UTF-8 bytes); invalid UTF-8 and a short input are
/// `ErrorKind::InvalidData`. One allocation of the string's length, one read, one UTF-8 check
/// ([`crate::codec::str_from_utf8`], which accepts what `core::str::from_utf8` accepts).
pub fn read_string<R: Read>(reader: &mut R) -> Result<String> {
    let mut len = [0u8; 4];
    if reader.read_exact(&mut len).is_err() {
        return Err(ErrorKind::InvalidData.into());
    }
    let len = u32::from_le_bytes(len) as usize;
    let bytes = if len <= ONE_ALLOCATION_MAX.min(max_allocation()) {
        let mut bytes = alloc::vec![0u8; len];
        if reader.read_exact(&mut bytes).is_err() {
            return Err(ErrorKind::InvalidData.into());
        }
        bytes
    } else {
        read_long(reader, len)?
    };
    match crate::codec::str_from_utf8(&bytes) {
        // SAFETY: just checked to be UTF-8.
        Some(_) => Ok(unsafe { String::from_utf8_unchecked(bytes) }),
        None => Err(ErrorKind::InvalidData.into()),
    }
}

/// The most a contract can allocate: its heap.
#[cfg(all(target_arch = "bpf", not(feature = "host")))]
const fn max_allocation() -> usize {
    crate::heap::HEAP_LEN
}

/// No limit of the SDK's own off the contract target.
#[cfg(not(all(target_arch = "bpf", not(feature = "host"))))]
const fn max_allocation() -> usize {
    usize::MAX
}

/// A string longer than the heap cannot be allocated in a contract.
#[cfg(all(target_arch = "bpf", not(feature = "host")))]
fn read_long<R: Read>(_reader: &mut R, _len: usize) -> Result<Vec<u8>> {
    Err(ErrorKind::InvalidData.into())
}

/// Off the contract target: a string over [`ONE_ALLOCATION_MAX`] read in steps, so a short
/// input with a huge length fails without a huge allocation (as in borsh).
#[cfg(not(all(target_arch = "bpf", not(feature = "host"))))]
fn read_long<R: Read>(reader: &mut R, len: usize) -> Result<Vec<u8>> {
    let mut bytes = alloc::vec![0u8; ONE_ALLOCATION_MAX];
    let mut filled = 0;
    while filled < len {
        if filled == bytes.len() {
            bytes.resize(bytes.len().saturating_mul(2).min(len), 0);
        }
        match reader.read(&mut bytes[filled..]) {
            Ok(0) | Err(_) => return Err(ErrorKind::InvalidData.into()),
            Ok(n) => filled += n,
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_borsh_writes_and_refuses_bad_utf8() {
        for text in ["", "TOS", "ünïcödé ✓"] {
            let bytes = borsh::to_vec(&String::from(text)).unwrap();
            assert_eq!(read_string(&mut bytes.as_slice()).unwrap(), text);
        }
        let bad = [2u8, 0, 0, 0, 0xC3, 0x28];
        assert_eq!(
            read_string(&mut bad.as_slice()).unwrap_err().kind(),
            ErrorKind::InvalidData
        );
        let short = [5u8, 0, 0, 0, b'a'];
        assert!(read_string(&mut short.as_slice()).is_err());
        // A length past one allocation is read in steps (and fails on a short input).
        let huge = [0xFFu8, 0xFF, 0xFF, 0xFF, b'a'];
        assert!(read_string(&mut huge.as_slice()).is_err());
        let long = "é".repeat(600_000);
        let bytes = borsh::to_vec(&long).unwrap();
        assert_eq!(read_string(&mut bytes.as_slice()).unwrap(), long);
    }
}
