//! Hashes over a list of slices and ed25519 signature verification, with the standard crates
//! of the Rust crypto ecosystem (`sha2`, `sha3`, `blake3`, `ed25519-dalek`).
//!
//! The hash syscalls take `slices`: an array of `count` (address: u64, length: u64) pairs, so
//! a contract hashes scattered data without copying it together first (as Agave's
//! `sol_sha256` does).

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::Digest;
use tos_program_runtime::{memory, solana_sbpf::declare_builtin_function, InvokeContext};

use crate::{Cost, SyscallError, SyscallSpec};

/// Fixed part of every hash call.
pub const HASH_BASE_COST: u64 = 100;
/// One unit per this many hashed bytes (SHA-256, BLAKE3).
pub const HASH_BYTES_PER_UNIT: u64 = 2;
/// Units per hashed byte of Keccak-256: about 4× slower per byte than SHA-256 (with the CPU's
/// SHA extensions) and BLAKE3 (docs/compute-units.md, "Calibration": 1 MiB took 3.2 ms).
pub const KECCAK_UNITS_PER_BYTE: u64 = 1;
/// Every slice is charged as this many more bytes: reading a slice (its translation and
/// copy) takes time whatever its length. Without it 256 one-byte slices bought 35-60× the
/// time per unit of plain code (docs/compute-units.md, "Calibration").
pub const HASH_SLICE_BYTES: u64 = 64;
/// Most slices one hash call may take.
pub const MAX_HASH_SLICES: usize = tos_abi::limits::MAX_HASH_SLICES;
/// Most bytes one hash call may hash.
pub const MAX_HASH_BYTES: usize = tos_abi::limits::MAX_HASH_BYTES;
/// An ed25519 verification: decompressing two points and one double-scalar multiplication
/// (about 48 µs, docs/compute-units.md "Calibration"; 2 000 units bought 14× the time per unit
/// of plain code).
pub const ED25519_VERIFY_BASE_COST: u64 = 15_000;
/// Units per message byte: the message is hashed with SHA-512 (about 2 ns a byte).
pub const ED25519_UNITS_PER_BYTE: u64 = 1;
/// Longest message `tos_ed25519_verify` checks.
pub const MAX_SIGNED_MESSAGE_LEN: usize = tos_abi::limits::MAX_SIGNED_MESSAGE_LEN;

pub const TOS_SHA256: SyscallSpec = SyscallSpec {
    name: "tos_sha256",
    family: "crypto",
    cost: Cost::per_unit(HASH_BASE_COST, HASHED, HASH_BYTES_PER_UNIT),
};
pub const TOS_KECCAK256: SyscallSpec = SyscallSpec {
    name: "tos_keccak256",
    family: "crypto",
    cost: Cost::per_byte(HASH_BASE_COST, HASHED, KECCAK_UNITS_PER_BYTE),
};
pub const TOS_BLAKE3: SyscallSpec = SyscallSpec {
    name: "tos_blake3",
    family: "crypto",
    cost: Cost::per_unit(HASH_BASE_COST, HASHED, HASH_BYTES_PER_UNIT),
};
pub const TOS_ED25519_VERIFY: SyscallSpec = SyscallSpec {
    name: "tos_ed25519_verify",
    family: "crypto",
    cost: Cost::per_byte(ED25519_VERIFY_BASE_COST, "msg_len", ED25519_UNITS_PER_BYTE),
};

/// What a hash call's per-byte part counts: the bytes, each slice as [`HASH_SLICE_BYTES`] more.
const HASHED: &str = "bytes + 64 * slices";

/// The count a hash call's per-byte part is charged on (`HASHED`).
pub fn hashed_bytes(bytes: u64, slices: u64) -> u64 {
    bytes.saturating_add(slices.saturating_mul(HASH_SLICE_BYTES))
}

/// Reads the slice list, checks the total against the limit, charges `cost`, then reads the
/// slices.
fn read_slices(
    context: &mut InvokeContext<'static>,
    slices_addr: u64,
    count: u64,
    cost: Cost,
) -> Result<Vec<Vec<u8>>, SyscallError> {
    if count > MAX_HASH_SLICES as u64 {
        return Err(SyscallError::TooManySlices {
            count,
            limit: MAX_HASH_SLICES,
        });
    }
    context.charge(cost.base)?;
    let table = memory::read_bytes(
        context.memory(),
        slices_addr,
        count * 16,
        MAX_HASH_SLICES * 16,
    )?;
    let pairs: Vec<(u64, u64)> = table
        .chunks_exact(16)
        .map(|pair| {
            let mut addr = [0u8; 8];
            let mut len = [0u8; 8];
            addr.copy_from_slice(&pair[..8]);
            len.copy_from_slice(&pair[8..]);
            (u64::from_le_bytes(addr), u64::from_le_bytes(len))
        })
        .collect();
    // The limit holds for the whole call and is checked before any byte is charged or read,
    // so an oversized call fails the same way whatever its slices point at.
    let total = pairs
        .iter()
        .fold(0u64, |total, &(_, len)| total.saturating_add(len));
    if total > MAX_HASH_BYTES as u64 {
        return Err(SyscallError::HashInputTooLong {
            len: total,
            limit: MAX_HASH_BYTES,
        });
    }
    // On the total, as documented (`(bytes + 64 * slices) / 2`): per slice, rounding down
    // each odd slice made many one-byte slices free.
    context.charge(cost.byte_units(hashed_bytes(total, count)))?;
    let mut slices = Vec::with_capacity(pairs.len());
    for (addr, len) in pairs {
        slices.push(memory::read_bytes(
            context.memory(),
            addr,
            len,
            MAX_HASH_BYTES,
        )?);
    }
    Ok(slices)
}

fn hash_into(
    context: &mut InvokeContext<'static>,
    slices_addr: u64,
    count: u64,
    out_addr: u64,
    digest: fn(&[Vec<u8>]) -> [u8; 32],
    cost: Cost,
) -> Result<u64, SyscallError> {
    let slices = read_slices(context, slices_addr, count, cost)?;
    memory::write_bytes(context.memory(), out_addr, &digest(&slices))?;
    Ok(0)
}

fn sha256(slices: &[Vec<u8>]) -> [u8; 32] {
    let mut hasher = sha2::Sha256::new();
    slices.iter().for_each(|slice| hasher.update(slice));
    hasher.finalize().into()
}

fn keccak256(slices: &[Vec<u8>]) -> [u8; 32] {
    let mut hasher = sha3::Keccak256::new();
    slices.iter().for_each(|slice| hasher.update(slice));
    hasher.finalize().into()
}

fn blake3(slices: &[Vec<u8>]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    slices.iter().for_each(|slice| {
        hasher.update(slice);
    });
    *hasher.finalize().as_bytes()
}

macro_rules! hash_syscall {
    ($(#[$doc:meta])* $name:ident, $digest:expr, $spec:expr) => {
        declare_builtin_function!(
            $(#[$doc])*
            $name,
            fn rust(
                context: &mut InvokeContext<'static>,
                slices_addr: u64,
                count: u64,
                out_addr: u64,
                _arg4: u64,
                _arg5: u64,
            ) -> Result<u64, SyscallError> {
                hash_into(context, slices_addr, count, out_addr, $digest, $spec.cost)
            }
        );
    };
}

hash_syscall!(
    /// `tos_sha256(slices, count, out[32]) -> 0`
    SyscallSha256,
    sha256,
    TOS_SHA256
);
hash_syscall!(
    /// `tos_keccak256(slices, count, out[32]) -> 0` (Ethereum's Keccak-256, not SHA3-256)
    SyscallKeccak256,
    keccak256,
    TOS_KECCAK256
);
hash_syscall!(
    /// `tos_blake3(slices, count, out[32]) -> 0`
    SyscallBlake3,
    blake3,
    TOS_BLAKE3
);

declare_builtin_function!(
    /// `tos_ed25519_verify(public_key[32], message, message_len, signature[64])`: 0 when the
    /// signature is valid (strict verification: no malleable signatures, no small-order keys),
    /// 1 otherwise.
    SyscallEd25519Verify,
    fn rust(
        context: &mut InvokeContext<'static>,
        key_addr: u64,
        message_addr: u64,
        message_len: u64,
        signature_addr: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        if message_len > MAX_SIGNED_MESSAGE_LEN as u64 {
            return Err(SyscallError::HashInputTooLong { len: message_len, limit: MAX_SIGNED_MESSAGE_LEN });
        }
        context.charge(TOS_ED25519_VERIFY.cost.units(message_len))?;
        let key = memory::read_array::<32>(context.memory(), key_addr)?;
        let message = memory::read_bytes(context.memory(), message_addr, message_len, MAX_SIGNED_MESSAGE_LEN)?;
        let signature = memory::read_array::<64>(context.memory(), signature_addr)?;
        let valid = VerifyingKey::from_bytes(&key)
            .map(|key| key.verify_strict(&message, &Signature::from_bytes(&signature)).is_ok())
            .unwrap_or(false);
        Ok(u64::from(!valid))
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_slice_charge_is_the_charged_one() {
        assert_eq!(HASHED, format!("bytes + {HASH_SLICE_BYTES} * slices"));
        // 256 one-byte slices cost as 256 + 64 * 256 bytes.
        assert_eq!(
            TOS_SHA256.cost.units(hashed_bytes(256, 256)),
            100 + (256 + 64 * 256) / 2
        );
        assert_eq!(
            TOS_KECCAK256.cost.units(hashed_bytes(256, 256)),
            100 + 256 + 64 * 256
        );
    }
}
