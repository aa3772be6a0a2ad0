//! Contract storage: a key-value map private to the running contract.
//!
//! Keys are at most [`MAX_KEY_LEN`] bytes and values at most [`MAX_VALUE_LEN`] bytes;
//! larger arguments abort the invoke. Writes and deletes are visible to later reads of the
//! same invoke and are committed only if the invoke succeeds.

use crate::syscalls;

/// Largest key, in bytes.
pub const MAX_KEY_LEN: usize = 256;
/// Largest value, in bytes.
pub const MAX_VALUE_LEN: usize = 65_536;

/// Reads the value stored under `key` into `buf`.
///
/// Returns `None` if the key is absent, else `Some(len)` with the value's full length;
/// `min(len, buf.len())` bytes were copied into `buf`, so `len > buf.len()` means the value
/// was truncated.
pub fn read(key: &[u8], buf: &mut [u8]) -> Option<usize> {
    // SAFETY: both slices are valid for their lengths; the host writes at most buf.len() bytes.
    let len = unsafe {
        syscalls::tos_storage_read(
            key.as_ptr(),
            key.len() as u64,
            buf.as_mut_ptr(),
            buf.len() as u64,
        )
    };
    if len == crate::NOT_FOUND {
        None
    } else {
        Some(len as usize)
    }
}

/// Returns the length of the value under `key` without copying it, or `None` if absent.
pub fn len(key: &[u8]) -> Option<usize> {
    read(key, &mut [])
}

/// Returns whether a value is stored under `key`.
pub fn contains(key: &[u8]) -> bool {
    len(key).is_some()
}

/// Why a typed read failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The stored value has another length than the type expects (holds the length found).
    WrongLength(usize),
}

/// Reads a `u64` stored as 8 little-endian bytes.
///
/// `Ok(None)` if the key is absent; `Err(WrongLength)` if the value is not 8 bytes long.
pub fn read_u64(key: &[u8]) -> Result<Option<u64>, ReadError> {
    let mut buf = [0u8; 8];
    match read(key, &mut buf) {
        None => Ok(None),
        Some(8) => Ok(Some(u64::from_le_bytes(buf))),
        Some(n) => Err(ReadError::WrongLength(n)),
    }
}

/// Reads a 32-byte value (hash, address).
///
/// `Ok(None)` if the key is absent; `Err(WrongLength)` if the value is not 32 bytes long.
pub fn read_hash(key: &[u8]) -> Result<Option<[u8; 32]>, ReadError> {
    let mut buf = [0u8; 32];
    match read(key, &mut buf) {
        None => Ok(None),
        Some(32) => Ok(Some(buf)),
        Some(n) => Err(ReadError::WrongLength(n)),
    }
}

/// Stores `value` under `key`, replacing any previous value.
pub fn write(key: &[u8], value: &[u8]) {
    // SAFETY: both slices are valid for reads of their lengths.
    unsafe {
        syscalls::tos_storage_write(
            key.as_ptr(),
            key.len() as u64,
            value.as_ptr(),
            value.len() as u64,
        );
    }
}

/// Stores a `u64` as 8 little-endian bytes.
pub fn write_u64(key: &[u8], value: u64) {
    write(key, &value.to_le_bytes());
}

/// Removes the value under `key`; returns whether it existed.
pub fn delete(key: &[u8]) -> bool {
    // SAFETY: the key slice is valid for reads of its length.
    unsafe { syscalls::tos_storage_delete(key.as_ptr(), key.len() as u64) == 1 }
}
