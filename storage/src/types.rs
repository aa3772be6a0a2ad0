use borsh::{BorshDeserialize, BorshSerialize};
use std::fmt;

/// A 32-byte identifier: contract code hash, account address, asset id, block or tx hash.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Hash(pub [u8; 32]);

/// A contract instance: what an address runs. Code is stored once per code hash and shared by
/// every instance created from it; storage, balances and events belong to the instance address.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub struct ContractInfo {
    /// blake3 hash of the ELF the instance runs.
    pub code_hash: Hash,
}

/// The chain's native asset (TOS) is the all-zero asset id.
pub const NATIVE_ASSET: Hash = Hash([0; 32]);

impl Hash {
    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Hash> {
        let bytes = hex::decode(text.trim()).ok()?;
        let array: [u8; 32] = bytes.try_into().ok()?;
        Some(Hash(array))
    }

    pub fn to_hex(&self) -> String {
        // `hex::encode` collects char by char (~40 instructions a digit); a table lookup into
        // a stack buffer is ~10x cheaper, and effects hex-encode every key of a call.
        let mut digits = [0u8; 64];
        match hex::encode_to_slice(self.0, &mut digits) {
            Ok(()) => String::from_utf8_lossy(&digits).into_owned(),
            Err(_) => hex::encode(self.0),
        }
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}
