//! Hashes and signatures computed by the host: SHA-256, Keccak-256, BLAKE3 (100 + bytes / 2
//! units) and ed25519 verification (2000 + message length / 2 units).

use crate::syscalls::{self, SliceRef};
use crate::{Hash, PublicKey};

/// Most slices one hash call takes.
pub const MAX_HASH_SLICES: usize = tos_abi::limits::MAX_HASH_SLICES;
/// Slice lists up to this length are built on the stack.
const INLINE_SLICES: usize = 8;

macro_rules! hash_fn {
    ($(#[$doc:meta])* $name:ident, $many:ident, $syscall:ident) => {
        $(#[$doc])*
        pub fn $name(data: &[u8]) -> Hash {
            $many(&[data])
        }

        /// The same hash over the concatenation of `parts`, without copying them together.
        ///
        /// More than [`MAX_HASH_SLICES`] parts abort the call.
        pub fn $many(parts: &[&[u8]]) -> Hash {
            let mut inline = [SliceRef { addr: 0, len: 0 }; INLINE_SLICES];
            let heap: alloc::vec::Vec<SliceRef>;
            let refs: &[SliceRef] = if parts.len() <= INLINE_SLICES {
                for (slot, part) in inline.iter_mut().zip(parts) {
                    *slot = SliceRef::new(part);
                }
                &inline[..parts.len()]
            } else {
                heap = parts.iter().map(|part| SliceRef::new(part)).collect();
                &heap
            };
            let mut out = [0u8; 32];
            // SAFETY: `refs` describe live slices; `out` is 32 writable bytes.
            unsafe {
                syscalls::$syscall(refs.as_ptr(), refs.len() as u64, out.as_mut_ptr());
            }
            Hash(out)
        }
    };
}

hash_fn!(
    /// SHA-256 of `data`.
    sha256,
    sha256_parts,
    tos_sha256
);
hash_fn!(
    /// Keccak-256 (Ethereum's variant) of `data`.
    keccak256,
    keccak256_parts,
    tos_keccak256
);
hash_fn!(
    /// BLAKE3 of `data`.
    blake3,
    blake3_parts,
    tos_blake3
);

/// Whether `signature` is a valid ed25519 signature of `message` by `public_key` (strict
/// verification: malleable signatures and small-order keys are refused).
pub fn ed25519_verify(public_key: &PublicKey, message: &[u8], signature: &[u8; 64]) -> bool {
    // SAFETY: the key is 32 bytes, the signature 64, the message valid for its length.
    unsafe {
        syscalls::tos_ed25519_verify(
            public_key.0.as_ptr(),
            message.as_ptr(),
            message.len() as u64,
            signature.as_ptr(),
        ) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::TestEnv;

    #[test]
    fn known_digests() {
        let outcome = TestEnv::new().call(|_| {
            assert_eq!(
                sha256(b"abc").to_string(),
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            );
            assert_eq!(sha256_parts(&[b"a", b"bc"]), sha256(b"abc"));
            assert_eq!(
                keccak256(b"").to_string(),
                "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
            );
            assert_eq!(
                blake3(b"").to_string(),
                "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
            );
            assert!(!ed25519_verify(&PublicKey::new([0; 32]), b"m", &[0; 64]));
            Ok(())
        });
        assert!(outcome.is_success(), "{outcome:?}");
    }
}
