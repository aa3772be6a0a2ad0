//! The chain's value types: [`Hash`], [`Address`] (= [`PublicKey`]) and [`Amount`].
//!
//! All are plain `Copy` values with borsh encodings equal to their bytes (`[u8; 32]`, `u64`
//! little-endian). `Display` of the 32-byte types is lowercase hex; [`Hash::to_hex`] gives the
//! same text without `core::fmt` (which costs several KB of contract code).

use core::fmt;

use borsh::io::{ErrorKind, Read, Result as IoResult, Write};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::ContractError;

const HEX: &[u8; 16] = b"0123456789abcdef";

macro_rules! bytes32 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Equality compares four 8-byte words (a private `eq_bytes32`); so a constant of this type
        /// cannot be a `match` pattern (compare with `==`).
        // `eq` compares the same 32 bytes the derived `Hash` hashes, only word by word, so the
        // two agree (`a == b` implies equal hashes).
        #[allow(clippy::derived_hash_with_manual_eq)]
        #[derive(Clone, Copy, Eq, PartialOrd, Ord, Hash, Default)]
        #[repr(transparent)]
        pub struct $name(pub [u8; 32]);

        impl PartialEq for $name {
            #[inline]
            fn eq(&self, other: &Self) -> bool {
                eq_bytes32(&self.0, &other.0)
            }
        }

        impl $name {
            /// All zero bytes.
            pub const ZERO: $name = $name([0; 32]);

            /// Wraps 32 bytes.
            pub const fn new(bytes: [u8; 32]) -> Self {
                $name(bytes)
            }

            /// The 32 bytes.
            pub const fn to_bytes(self) -> [u8; 32] {
                self.0
            }

            /// The 32 bytes, borrowed.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Parses 64 hex digits (either case). `None` for any other input. Usable in
            /// constants: `const OWNER: Address = match Address::from_hex("..") { .. }`.
            pub const fn from_hex(hex: &str) -> Option<Self> {
                let hex = hex.as_bytes();
                if hex.len() != 64 {
                    return None;
                }
                let mut out = [0u8; 32];
                let mut i = 0;
                while i < 32 {
                    let (hi, lo) = (hex[2 * i], hex[2 * i + 1]);
                    let (Some(hi), Some(lo)) = (hex_digit_const(hi), hex_digit_const(lo)) else {
                        return None;
                    };
                    out[i] = (hi << 4) | lo;
                    i += 1;
                }
                Some($name(out))
            }

            /// Lowercase hex, without `core::fmt`.
            pub fn to_hex(&self) -> [u8; 64] {
                let mut out = [0u8; 64];
                for (i, byte) in self.0.iter().enumerate() {
                    out[2 * i] = HEX[usize::from(byte >> 4)];
                    out[2 * i + 1] = HEX[usize::from(byte & 0x0f)];
                }
                out
            }
        }

        impl From<[u8; 32]> for $name {
            fn from(bytes: [u8; 32]) -> Self {
                $name(bytes)
            }
        }

        impl From<$name> for [u8; 32] {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let hex = self.to_hex();
                // The digits are ASCII.
                f.write_str(core::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl core::str::FromStr for $name {
            type Err = ContractError;
            fn from_str(s: &str) -> Result<Self, ContractError> {
                $name::from_hex(s).ok_or(ContractError::InvalidInput)
            }
        }

        impl BorshSerialize for $name {
            #[inline(always)]
            fn serialize<W: Write>(&self, writer: &mut W) -> IoResult<()> {
                writer.write_all(&self.0)
            }
        }

        impl BorshDeserialize for $name {
            #[inline(always)]
            fn deserialize_reader<R: Read>(reader: &mut R) -> IoResult<Self> {
                // The read's own error is dropped: a bare `InvalidData` allocates nothing
                // (see `crate::codec`).
                let mut bytes = [0u8; 32];
                match reader.read_exact(&mut bytes) {
                    Ok(()) => Ok($name(bytes)),
                    Err(_) => Err(ErrorKind::InvalidData.into()),
                }
            }
        }
    };
}

/// Whether two 32-byte values are equal, as four 8-byte word comparisons folded into one
/// branch. `[u8; 32] == [u8; 32]` becomes a call of a 32-byte `memcmp` in a contract: ~100
/// instructions of code, and ~100 executed when the values are equal.
#[inline(always)]
pub fn eq_bytes32(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let word = |bytes: &[u8; 32], i: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[8 * i..8 * i + 8]);
        u64::from_ne_bytes(word)
    };
    let diff = (word(a, 0) ^ word(b, 0))
        | (word(a, 1) ^ word(b, 1))
        | (word(a, 2) ^ word(b, 2))
        | (word(a, 3) ^ word(b, 3));
    diff == 0
}

const fn hex_digit_const(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

bytes32!(
    /// A 32-byte hash: of a block, a transaction, or a contract's code (which is also the
    /// contract's address).
    Hash
);

bytes32!(
    /// A 32-byte account address: a public key, or a contract's code hash.
    Address
);

/// An account's public key; the same 32 bytes as its [`Address`].
pub type PublicKey = Address;

impl From<Hash> for Address {
    fn from(hash: Hash) -> Self {
        Address(hash.0)
    }
}

impl From<Address> for Hash {
    fn from(address: Address) -> Self {
        Hash(address.0)
    }
}

/// An amount of an asset (the native TOS balance or a token's), in its smallest unit.
///
/// Arithmetic is explicit: `checked_*` give `None` on overflow, `try_*` give a
/// [`ContractError`] (`ArithmeticOverflow`, or `InsufficientFunds` for a subtraction below
/// zero) for use with `?`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
#[repr(transparent)]
pub struct Amount(pub u64);

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);
    /// The largest amount.
    pub const MAX: Amount = Amount(u64::MAX);

    /// Wraps a number of units.
    pub const fn new(units: u64) -> Self {
        Amount(units)
    }

    /// The number of units.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Whether this is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Amount) -> Option<Amount> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Amount(v)),
            None => None,
        }
    }

    /// `self - other`, or `None` below zero.
    pub const fn checked_sub(self, other: Amount) -> Option<Amount> {
        match self.0.checked_sub(other.0) {
            Some(v) => Some(Amount(v)),
            None => None,
        }
    }

    /// `self × factor`, or `None` on overflow.
    pub const fn checked_mul(self, factor: u64) -> Option<Amount> {
        match self.0.checked_mul(factor) {
            Some(v) => Some(Amount(v)),
            None => None,
        }
    }

    /// `self + other`, or [`ContractError::ArithmeticOverflow`].
    pub fn try_add(self, other: Amount) -> Result<Amount, ContractError> {
        self.checked_add(other)
            .ok_or(ContractError::ArithmeticOverflow)
    }

    /// `self - other`, or [`ContractError::InsufficientFunds`] when `other > self`.
    pub fn try_sub(self, other: Amount) -> Result<Amount, ContractError> {
        self.checked_sub(other)
            .ok_or(ContractError::InsufficientFunds)
    }

    /// Decimal digits of the amount, without `core::fmt`: (buffer, used length).
    pub fn to_decimal(self) -> ([u8; 20], usize) {
        crate::log::decimal(self.0)
    }
}

impl From<u64> for Amount {
    fn from(units: u64) -> Self {
        Amount(units)
    }
}

impl From<Amount> for u64 {
    fn from(amount: Amount) -> Self {
        amount.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl BorshSerialize for Amount {
    #[inline(always)]
    fn serialize<W: Write>(&self, writer: &mut W) -> IoResult<()> {
        self.0.serialize(writer)
    }
}

impl BorshDeserialize for Amount {
    #[inline(always)]
    fn deserialize_reader<R: Read>(reader: &mut R) -> IoResult<Self> {
        // Not through u64's decoder, whose short-input error allocates its message.
        let mut bytes = [0u8; 8];
        match reader.read_exact(&mut bytes) {
            Ok(()) => Ok(Amount(u64::from_le_bytes(bytes))),
            Err(_) => Err(ErrorKind::InvalidData.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn hex_round_trip() {
        let a = Address::new([0xAB; 32]);
        let text = a.to_string();
        assert_eq!(text.len(), 64);
        assert!(text.starts_with("abab"));
        assert_eq!(Address::from_hex(&text), Some(a));
        assert_eq!(Address::from_hex(&text.to_uppercase()), Some(a));
        assert_eq!(Address::from_hex("zz"), None);
        assert_eq!(format!("{a:?}"), format!("Address({text})"));
        const H: Option<Hash> =
            Hash::from_hex("00000000000000000000000000000000000000000000000000000000000000ff");
        assert_eq!(H.map(|h| h.0[31]), Some(0xff));
    }

    #[test]
    fn equality_is_bytewise() {
        let a = Address::new([3; 32]);
        assert_eq!(a, Address::new([3; 32]));
        for i in 0..32 {
            let mut other = [3u8; 32];
            other[i] ^= 0x80;
            assert_ne!(a, Address::new(other), "{i}");
            assert_ne!(Hash(a.0), Hash(other));
        }
    }

    #[test]
    fn borsh_is_the_raw_bytes() {
        let a = Address::new([7; 32]);
        let bytes = borsh::to_vec(&a).unwrap();
        assert_eq!(bytes, vec![7u8; 32]);
        assert_eq!(borsh::from_slice::<Address>(&bytes).unwrap(), a);
        let amount = Amount::new(0x0102);
        assert_eq!(
            borsh::to_vec(&amount).unwrap(),
            0x0102u64.to_le_bytes().to_vec()
        );
        assert!(borsh::from_slice::<Address>(&[0u8; 31]).is_err());
    }

    #[test]
    fn amount_arithmetic() {
        assert_eq!(Amount(1).try_add(Amount(2)), Ok(Amount(3)));
        assert_eq!(
            Amount::MAX.try_add(Amount(1)),
            Err(ContractError::ArithmeticOverflow)
        );
        assert_eq!(
            Amount(1).try_sub(Amount(2)),
            Err(ContractError::InsufficientFunds)
        );
        assert_eq!(Amount(5).checked_mul(3), Some(Amount(15)));
        assert_eq!(Amount::MAX.checked_mul(2), None);
        let (digits, n) = Amount(1_234_500).to_decimal();
        assert_eq!(&digits[..n], b"1234500");
        assert_eq!(Amount(42).to_string(), "42");
    }
}
