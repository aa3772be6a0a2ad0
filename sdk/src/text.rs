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
use borsh::BorshDeserialize;

/// Reads a borsh `String` (u32 length, then UTF-8 bytes); invalid UTF-8 is
/// `ErrorKind::InvalidData`.
pub fn read_string<R: Read>(reader: &mut R) -> Result<String> {
    let bytes = Vec::<u8>::deserialize_reader(reader)?;
    String::from_utf8(bytes).map_err(|_| ErrorKind::InvalidData.into())
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
    }
}
