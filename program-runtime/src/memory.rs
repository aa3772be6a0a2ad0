//! Guest memory translation for syscalls.
//!
//! Every pointer a contract hands to a syscall goes through here: the range must lie inside one
//! mapped region, must not wrap around the address space, and must be writable when the host
//! writes to it. Data is copied in and out (never borrowed across a syscall), so no host
//! reference can alias guest memory the contract may change. Lengths are checked against the
//! caller's limit *before* translation, so a huge length costs nothing.

use solana_sbpf::{
    error::StableResult,
    memory_region::{AccessType, MemoryMapping},
};

use tos_storage::Hash;

use crate::error::RuntimeError;

fn translate(
    mapping: &mut MemoryMapping,
    access: AccessType,
    vm_addr: u64,
    len: u64,
) -> Result<solana_sbpf::memory_region::HostBuffer, RuntimeError> {
    if vm_addr.checked_add(len).is_none() {
        return Err(RuntimeError::AccessViolation(format!(
            "{access:?} of {len} bytes at {vm_addr:#x} wraps around the address space"
        )));
    }
    // The same path as the contract's own loads and stores, so a syscall can reach stack and
    // heap pages the contract has not touched yet (they are exposed, zeroed, on first use).
    match mapping.map_with_access_violation_handler(access, vm_addr, len) {
        StableResult::Ok(buffer) => Ok(buffer),
        StableResult::Err(error) => Err(RuntimeError::AccessViolation(error.to_string())),
    }
}

/// Copies `len` guest bytes at `vm_addr` into a new vector. `limit` bounds `len` first.
pub fn read_bytes(
    mapping: &mut MemoryMapping,
    vm_addr: u64,
    len: u64,
    limit: usize,
) -> Result<Vec<u8>, RuntimeError> {
    if len > limit as u64 {
        return Err(RuntimeError::AccessViolation(format!(
            "length {len} exceeds the limit of {limit} bytes"
        )));
    }
    if len == 0 {
        return Ok(Vec::new());
    }
    let buffer = translate(mapping, AccessType::Load, vm_addr, len)?;
    // SAFETY: `map` returned a live host range of exactly `len` bytes inside a region; the
    // guest is suspended while a syscall runs, so nothing writes to it concurrently.
    let bytes = unsafe { &*buffer.ptr() };
    Ok(bytes.to_vec())
}

/// Copies `len` guest bytes at `vm_addr` into the start of `buffer` and returns them: a read
/// without allocation for data with a small fixed bound (storage keys). A `len` past
/// `buffer.len()` is refused as [`read_bytes`] refuses one past its limit.
pub fn read_into<'b>(
    mapping: &mut MemoryMapping,
    vm_addr: u64,
    len: u64,
    buffer: &'b mut [u8],
) -> Result<&'b [u8], RuntimeError> {
    let limit = buffer.len();
    if len > limit as u64 {
        return Err(RuntimeError::AccessViolation(format!(
            "length {len} exceeds the limit of {limit} bytes"
        )));
    }
    let target = &mut buffer[..len as usize];
    if len == 0 {
        return Ok(target);
    }
    let source = translate(mapping, AccessType::Load, vm_addr, len)?;
    // SAFETY: as in `read_bytes`; `target` is host memory, so the two cannot overlap.
    target.copy_from_slice(unsafe { &*source.ptr() });
    Ok(target)
}

/// The `len` guest bytes at `vm_addr` in place, checked as [`read_into`] checks them (`limit`
/// bounds `len` first), without copying them: a storage key or value goes from guest memory
/// straight to the journal.
///
/// The pointer stays valid for the rest of the syscall: exposing further stack or heap pages
/// zeroes only memory past what is mapped, and no region's host memory moves while the guest
/// is suspended. A reference made from it must not be held across a write to guest memory
/// that may overlap it.
pub fn guest_bytes(
    mapping: &mut MemoryMapping,
    vm_addr: u64,
    len: u64,
    limit: usize,
) -> Result<*const [u8], RuntimeError> {
    if len > limit as u64 {
        return Err(RuntimeError::AccessViolation(format!(
            "length {len} exceeds the limit of {limit} bytes"
        )));
    }
    if len == 0 {
        return Ok(&[] as *const [u8]);
    }
    Ok(translate(mapping, AccessType::Load, vm_addr, len)?.ptr())
}

/// Reads a fixed-size array (hashes, addresses).
pub fn read_array<const N: usize>(
    mapping: &mut MemoryMapping,
    vm_addr: u64,
) -> Result<[u8; N], RuntimeError> {
    let mut array = [0u8; N];
    read_into(mapping, vm_addr, N as u64, &mut array)?;
    Ok(array)
}

/// Reads a 32-byte hash (an address, an asset, a code hash).
pub fn read_hash(mapping: &mut MemoryMapping, vm_addr: u64) -> Result<Hash, RuntimeError> {
    read_array::<32>(mapping, vm_addr).map(Hash)
}

/// Copies `data` into guest memory at `vm_addr`; the whole range must be writable.
pub fn write_bytes(
    mapping: &mut MemoryMapping,
    vm_addr: u64,
    data: &[u8],
) -> Result<(), RuntimeError> {
    if data.is_empty() {
        return Ok(());
    }
    let buffer = translate(mapping, AccessType::Store, vm_addr, data.len() as u64)?;
    if !buffer.is_mutable() {
        return Err(RuntimeError::AccessViolation(format!(
            "store of {} bytes at {vm_addr:#x} into read-only memory",
            data.len()
        )));
    }
    // SAFETY: `map` checked the range lies in a writable region of at least `data.len()` bytes.
    let target = unsafe { &mut *buffer.ptr_mut() };
    target.copy_from_slice(data);
    Ok(())
}

/// Sets `len` guest bytes at `vm_addr` to `byte`; the whole range must be writable. Checks as
/// [`write_bytes`] of `len` bytes does.
pub fn fill(
    mapping: &mut MemoryMapping,
    vm_addr: u64,
    byte: u8,
    len: u64,
) -> Result<(), RuntimeError> {
    if len == 0 {
        return Ok(());
    }
    let buffer = writable(mapping, vm_addr, len)?;
    // SAFETY: `writable` checked the range lies in a writable region of `len` bytes.
    unsafe { &mut *buffer.ptr_mut() }.fill(byte);
    Ok(())
}

/// Copies `len` guest bytes from `src` to `dst` (the ranges may overlap, as in `memmove`).
/// Checks, in order, as [`read_bytes`] of `src` then [`write_bytes`] to `dst` do, without the
/// intermediate copy.
pub fn copy_within(
    mapping: &mut MemoryMapping,
    dst: u64,
    src: u64,
    len: u64,
) -> Result<(), RuntimeError> {
    if len == 0 {
        return Ok(());
    }
    let source = translate(mapping, AccessType::Load, src, len)?;
    // Translating `dst` may expose (zero) pages past what `src` covers, never inside it: the
    // source range is exposed already, and its host memory does not move.
    let target = writable(mapping, dst, len)?;
    // SAFETY: both ranges are `len` bytes of live guest memory; `ptr::copy` allows overlap.
    unsafe {
        std::ptr::copy(
            source.ptr() as *const u8,
            target.ptr_mut() as *mut u8,
            len as usize,
        )
    };
    Ok(())
}

/// Compares `len` guest bytes at `a` and `b` like C's `memcmp`: the difference of the first
/// differing bytes, 0 if none. Checks as [`read_bytes`] of `a` then of `b` do.
pub fn compare(mapping: &mut MemoryMapping, a: u64, b: u64, len: u64) -> Result<i64, RuntimeError> {
    if len == 0 {
        return Ok(0);
    }
    let left = translate(mapping, AccessType::Load, a, len)?;
    let right = translate(mapping, AccessType::Load, b, len)?;
    // SAFETY: both are live guest ranges of `len` bytes; only read while the guest is
    // suspended.
    let (left, right) = unsafe { (&*left.ptr(), &*right.ptr()) };
    Ok(left
        .iter()
        .zip(right)
        .find(|(x, y)| x != y)
        .map_or(0, |(x, y)| i64::from(*x) - i64::from(*y)))
}

fn writable(
    mapping: &mut MemoryMapping,
    vm_addr: u64,
    len: u64,
) -> Result<solana_sbpf::memory_region::HostBuffer, RuntimeError> {
    let buffer = translate(mapping, AccessType::Store, vm_addr, len)?;
    if !buffer.is_mutable() {
        return Err(RuntimeError::AccessViolation(format!(
            "store of {len} bytes at {vm_addr:#x} into read-only memory"
        )));
    }
    Ok(buffer)
}

/// Checks that a whole guest range is writable without writing to it, so a syscall can refuse
/// a bad output buffer before it changes any state.
pub fn check_writable(
    mapping: &mut MemoryMapping,
    vm_addr: u64,
    len: u64,
) -> Result<(), RuntimeError> {
    if len == 0 {
        return Ok(());
    }
    let buffer = translate(mapping, AccessType::Store, vm_addr, len)?;
    if !buffer.is_mutable() {
        return Err(RuntimeError::AccessViolation(format!(
            "store of {len} bytes at {vm_addr:#x} into read-only memory"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use solana_sbpf::{memory_region::MemoryRegion, program::SBPFVersion, vm::Config};

    fn with_mapping<R>(f: impl FnOnce(&mut MemoryMapping) -> R) -> R {
        let mut writable = vec![0u8; 16];
        let readonly = vec![7u8; 8];
        let regions = vec![
            MemoryRegion::new(readonly.as_slice() as *const [u8], 0x1000),
            MemoryRegion::new(writable.as_mut_slice() as *mut [u8], 0x2000),
        ];
        let mut mapping =
            unsafe { MemoryMapping::new(regions, &Config::default(), SBPFVersion::V3) }.unwrap();
        f(&mut mapping)
    }

    #[test]
    fn reads_and_writes_inside_regions() {
        with_mapping(|m| {
            assert_eq!(read_bytes(m, 0x1000, 8, 64).unwrap(), vec![7u8; 8]);
            write_bytes(m, 0x2004, &[1, 2, 3]).unwrap();
            assert_eq!(read_bytes(m, 0x2003, 5, 64).unwrap(), vec![0, 1, 2, 3, 0]);
        });
    }

    #[test]
    fn refuses_out_of_bounds_read_only_wrapping_and_oversized() {
        with_mapping(|m| {
            assert!(read_bytes(m, 0x1004, 8, 64).is_err(), "crosses region end");
            assert!(read_bytes(m, 0x3000, 1, 64).is_err(), "unmapped");
            assert!(write_bytes(m, 0x1000, &[1]).is_err(), "read-only");
            assert!(check_writable(m, 0x1000, 1).is_err(), "read-only");
            assert!(read_bytes(m, u64::MAX - 2, 8, 64).is_err(), "wraps");
            assert!(
                read_bytes(m, 0x2000, 1 << 40, 64).is_err(),
                "over the limit"
            );
            assert_eq!(
                read_bytes(m, 0, 0, 64).unwrap(),
                Vec::<u8>::new(),
                "empty is fine"
            );
        });
    }
}
