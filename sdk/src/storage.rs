//! Contract storage: a key-value map private to the running contract.
//!
//! Three levels, from raw to typed:
//! - bytes: [`read`], [`write()`], [`delete`], [`len`], [`contains`] and the `u64`/32-byte
//!   shortcuts;
//! - borsh values under a key: [`get`], [`set`], [`remove`], [`has`];
//! - declared layouts: [`Item`] (one value under a fixed key) and [`Map`] (values keyed by
//!   `prefix ++ borsh(key)`), usable as constants:
//!
//! ```
//! use tos_sdk::storage::{Item, Map};
//! use tos_sdk::{Address, Amount};
//!
//! const OWNER: Item<Address> = Item::new(b"owner");
//! const BALANCES: Map<Address, Amount> = Map::new(b"bal:");
//! ```
//!
//! Keys are at most [`MAX_KEY_LEN`] bytes and values at most [`MAX_VALUE_LEN`] bytes: the
//! typed functions return [`ContractError::KeyTooLong`] / [`ContractError::ValueTooLarge`]
//! instead of letting the syscall abort. Values of up to [`INLINE_VALUE_LEN`] bytes are read
//! and written through the stack; larger ones go through the heap (`alloc`). Writes and deletes
//! are visible to later reads of the same call and are committed only if the call succeeds.

use core::marker::PhantomData;
use core::mem::MaybeUninit;

use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};

use crate::{syscalls, ContractError};

/// Largest key, in bytes.
pub const MAX_KEY_LEN: usize = tos_abi::limits::MAX_STORAGE_KEY_LEN;
/// Largest value, in bytes.
pub const MAX_VALUE_LEN: usize = tos_abi::limits::MAX_STORAGE_VALUE_LEN;
/// Values up to this size are (de)serialised through a stack buffer, without allocating.
pub const INLINE_VALUE_LEN: usize = 256;
/// Returned by the raw `tos_storage_read` when the key is absent.
pub const NOT_FOUND: u64 = u64::MAX;

// ---------------------------------------------------------------------------------------
// Bytes

/// Reads the value under `key` into `buf`: `None` if absent, else `Some(len)` with the value's
/// full length; `min(len, buf.len())` bytes were copied, so `len > buf.len()` means the value
/// was truncated. Cost 200 + key length + value length.
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
    if len == NOT_FOUND {
        None
    } else {
        Some(len as usize)
    }
}

/// The length of the value under `key`, or `None` if absent.
pub fn len(key: &[u8]) -> Option<usize> {
    read(key, &mut [])
}

/// Whether a value is stored under `key`.
pub fn contains(key: &[u8]) -> bool {
    len(key).is_some()
}

/// Stores `value` under `key`, replacing any previous value. A key over [`MAX_KEY_LEN`] or a
/// value over [`MAX_VALUE_LEN`] bytes aborts the call. Cost 1000 + 4 × (key + value length).
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

/// Removes the value under `key`; returns whether it existed. Cost 500 + key length.
pub fn delete(key: &[u8]) -> bool {
    // SAFETY: the key slice is valid for reads of its length.
    unsafe { syscalls::tos_storage_delete(key.as_ptr(), key.len() as u64) == 1 }
}

/// Why a raw fixed-size read failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The stored value has another length than the type expects (holds the length found).
    WrongLength(usize),
}

impl From<ReadError> for ContractError {
    fn from(_: ReadError) -> Self {
        ContractError::InvalidState
    }
}

/// Reads a `u64` stored as 8 little-endian bytes: `Ok(None)` if absent.
pub fn read_u64(key: &[u8]) -> Result<Option<u64>, ReadError> {
    let mut buf = [0u8; 8];
    match read(key, &mut buf) {
        None => Ok(None),
        Some(8) => Ok(Some(u64::from_le_bytes(buf))),
        Some(n) => Err(ReadError::WrongLength(n)),
    }
}

/// Stores a `u64` as 8 little-endian bytes (the same bytes as its borsh encoding).
pub fn write_u64(key: &[u8], value: u64) {
    write(key, &value.to_le_bytes());
}

/// Reads a 32-byte value (hash, address): `Ok(None)` if absent.
pub fn read_hash(key: &[u8]) -> Result<Option<[u8; 32]>, ReadError> {
    let mut buf = [0u8; 32];
    match read(key, &mut buf) {
        None => Ok(None),
        Some(32) => Ok(Some(buf)),
        Some(n) => Err(ReadError::WrongLength(n)),
    }
}

// ---------------------------------------------------------------------------------------
// Borsh values

/// Reads and decodes the borsh value under `key`: `Ok(None)` if absent,
/// [`ContractError::InvalidState`] if the bytes do not decode as a `T` (with nothing left
/// over), [`ContractError::KeyTooLong`] for a key over [`MAX_KEY_LEN`].
pub fn get<T: BorshDeserialize>(key: &[u8]) -> Result<Option<T>, ContractError> {
    if key.len() > MAX_KEY_LEN {
        return Err(ContractError::KeyTooLong);
    }
    // Not zeroed: the host writes the value's first bytes, and only those are read.
    let mut inline = [MaybeUninit::<u8>::uninit(); INLINE_VALUE_LEN];
    // SAFETY: the key is valid for reads of its length, `inline` for writes of its length.
    let len = unsafe {
        syscalls::tos_storage_read(
            key.as_ptr(),
            key.len() as u64,
            inline.as_mut_ptr().cast::<u8>(),
            INLINE_VALUE_LEN as u64,
        )
    };
    if len == NOT_FOUND {
        return Ok(None);
    }
    let heap;
    let bytes: &[u8] = if len <= INLINE_VALUE_LEN as u64 {
        // SAFETY: the host wrote the whole value, `len` bytes, at the start of `inline`.
        unsafe { core::slice::from_raw_parts(inline.as_ptr().cast::<u8>(), len as usize) }
    } else {
        heap = read_to_heap(key, len as usize);
        &heap
    };
    match crate::codec::decode_all(bytes) {
        Some(value) => Ok(Some(value)),
        None => Err(ContractError::InvalidState),
    }
}

/// The value under `key`, `len` bytes long, read again into a heap buffer of that size (the
/// rare path of [`get`], out of line and shared by every type).
#[inline(never)]
fn read_to_heap(key: &[u8], len: usize) -> Vec<u8> {
    let mut heap = alloc::vec![0u8; len];
    read(key, &mut heap);
    heap
}

/// Encodes `value` with borsh and stores it under `key`.
pub fn set<T: BorshSerialize + ?Sized>(key: &[u8], value: &T) -> Result<(), ContractError> {
    if key.len() > MAX_KEY_LEN {
        return Err(ContractError::KeyTooLong);
    }
    // Encoded on the stack, or (over INLINE_VALUE_LEN bytes) into a heap buffer of exactly the
    // encoding's length: no buffer that grows, so no growth code in the contract.
    crate::codec::with_encoded::<T, (), INLINE_VALUE_LEN>(value, MAX_VALUE_LEN, |bytes| {
        write(key, bytes)
    })
    .ok_or(ContractError::ValueTooLarge)
}

/// Removes the value under `key`; returns whether it existed.
pub fn remove(key: &[u8]) -> Result<bool, ContractError> {
    if key.len() > MAX_KEY_LEN {
        return Err(ContractError::KeyTooLong);
    }
    Ok(delete(key))
}

/// Whether a value is stored under `key`.
pub fn has(key: &[u8]) -> Result<bool, ContractError> {
    if key.len() > MAX_KEY_LEN {
        return Err(ContractError::KeyTooLong);
    }
    Ok(contains(key))
}

/// A byte buffer on the stack that moves to the heap when it outgrows `N` bytes. (The SDK
/// itself no longer uses it: its growth code is what [`crate::codec::with_encoded`] avoids.)
pub struct Buffer<const N: usize> {
    inline: [u8; N],
    len: usize,
    heap: Option<Vec<u8>>,
}

impl<const N: usize> Default for Buffer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Buffer<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        Buffer {
            inline: [0; N],
            len: 0,
            heap: None,
        }
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        match &self.heap {
            Some(heap) => heap,
            None => &self.inline[..self.len],
        }
    }
}

impl<const N: usize> borsh::io::Write for Buffer<N> {
    fn write(&mut self, data: &[u8]) -> borsh::io::Result<usize> {
        if let Some(heap) = &mut self.heap {
            heap.extend_from_slice(data);
        } else if self.len + data.len() <= N {
            self.inline[self.len..self.len + data.len()].copy_from_slice(data);
            self.len += data.len();
        } else {
            let mut heap = Vec::with_capacity((self.len + data.len()).max(2 * N));
            heap.extend_from_slice(&self.inline[..self.len]);
            heap.extend_from_slice(data);
            self.heap = Some(heap);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> borsh::io::Result<()> {
        Ok(())
    }
}

/// A byte buffer of at most `N` bytes that never allocates and is never zero-filled: writing
/// past `N` bytes is an error. (The SDK itself encodes return data, events and stored values
/// with [`crate::codec::SliceWriter`], which counts what does not fit instead of failing.)
pub struct FixedBuffer<const N: usize> {
    bytes: core::mem::MaybeUninit<[u8; N]>,
    len: usize,
}

impl<const N: usize> Default for FixedBuffer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FixedBuffer<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        FixedBuffer {
            bytes: core::mem::MaybeUninit::uninit(),
            len: 0,
        }
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the first `len` bytes (len <= N) were written by `write`.
        unsafe { core::slice::from_raw_parts(self.bytes.as_ptr().cast::<u8>(), self.len) }
    }
}

impl<const N: usize> borsh::io::Write for FixedBuffer<N> {
    fn write(&mut self, data: &[u8]) -> borsh::io::Result<usize> {
        match self.len.checked_add(data.len()) {
            Some(end) if end <= N => {
                // SAFETY: `len..end` lies inside the N bytes; `data` is another object.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        data.as_ptr(),
                        self.bytes.as_mut_ptr().cast::<u8>().add(self.len),
                        data.len(),
                    );
                }
                self.len = end;
                Ok(data.len())
            }
            _ => Err(borsh::io::ErrorKind::WriteZero.into()),
        }
    }

    fn flush(&mut self) -> borsh::io::Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Declared layouts

/// One borsh value under a fixed key.
pub struct Item<T> {
    key: &'static [u8],
    _value: PhantomData<fn() -> T>,
}

impl<T> Item<T> {
    /// The item stored under `key`.
    pub const fn new(key: &'static [u8]) -> Self {
        Item {
            key,
            _value: PhantomData,
        }
    }

    /// Its storage key.
    pub const fn key(&self) -> &'static [u8] {
        self.key
    }

    /// Whether it is stored.
    pub fn exists(&self) -> bool {
        contains(self.key)
    }

    /// Removes it; returns whether it existed.
    pub fn remove(&self) -> bool {
        delete(self.key)
    }
}

impl<T: BorshSerialize + BorshDeserialize> Item<T> {
    /// The value, or `None` if not stored.
    pub fn get(&self) -> Result<Option<T>, ContractError> {
        get(self.key)
    }

    /// The value, or [`ContractError::NotInitialized`] if not stored.
    pub fn load(&self) -> Result<T, ContractError> {
        self.get()?.ok_or(ContractError::NotInitialized)
    }

    /// The value, or `T::default()` if not stored.
    pub fn get_or_default(&self) -> Result<T, ContractError>
    where
        T: Default,
    {
        Ok(self.get()?.unwrap_or_default())
    }

    /// Stores the value.
    pub fn set(&self, value: &T) -> Result<(), ContractError> {
        set(self.key, value)
    }
}

/// Borsh values keyed by `prefix ++ borsh(key)`: a map inside the contract's storage.
///
/// Pick prefixes that are not prefixes of each other's keys (e.g. end them with `:`).
pub struct Map<K, V> {
    prefix: &'static [u8],
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Map<K, V> {
    /// The map under `prefix`.
    pub const fn new(prefix: &'static [u8]) -> Self {
        Map {
            prefix,
            _types: PhantomData,
        }
    }

    /// Its key prefix.
    pub const fn prefix(&self) -> &'static [u8] {
        self.prefix
    }
}

impl<K: BorshSerialize, V> Map<K, V> {
    /// The full storage key of `key` (`prefix ++ borsh(key)`), built on the stack.
    pub fn storage_key(&self, key: &K) -> Result<StorageKey, ContractError> {
        let mut out = StorageKey::empty();
        self.build_key(key, &mut out)?;
        Ok(out)
    }

    /// Writes `prefix ++ borsh(key)` into the empty `out`. The methods below build their key
    /// in their own frame with it: a `StorageKey` returned in a `Result` was copied twice
    /// (264 bytes, each a `tos_memcpy`) on its way to the syscall.
    #[inline(always)]
    fn build_key(&self, key: &K, out: &mut StorageKey) -> Result<(), ContractError> {
        out.push(self.prefix)?;
        key.serialize(out).map_err(|_| ContractError::KeyTooLong)
    }

    /// Whether `key` has a value.
    pub fn contains(&self, key: &K) -> Result<bool, ContractError> {
        let mut out = StorageKey::empty();
        self.build_key(key, &mut out)?;
        Ok(contains(out.as_bytes()))
    }

    /// Removes `key`'s value; returns whether it existed.
    pub fn remove(&self, key: &K) -> Result<bool, ContractError> {
        let mut out = StorageKey::empty();
        self.build_key(key, &mut out)?;
        Ok(delete(out.as_bytes()))
    }
}

impl<K: BorshSerialize, V: BorshSerialize + BorshDeserialize> Map<K, V> {
    /// `key`'s value, or `None`.
    // Out of line: inlined at each call site, the token's code grew by 1,000 bytes (3,000
    // units of code load per call) to save ~50 executed instructions per transfer.
    #[inline(never)]
    pub fn get(&self, key: &K) -> Result<Option<V>, ContractError> {
        let mut out = StorageKey::empty();
        self.build_key(key, &mut out)?;
        get(out.as_bytes())
    }

    /// `key`'s value, or `V::default()` if it has none.
    pub fn get_or_default(&self, key: &K) -> Result<V, ContractError>
    where
        V: Default,
    {
        Ok(self.get(key)?.unwrap_or_default())
    }

    /// Stores `value` for `key`.
    #[inline(never)]
    pub fn set(&self, key: &K, value: &V) -> Result<(), ContractError> {
        let mut out = StorageKey::empty();
        self.build_key(key, &mut out)?;
        set(out.as_bytes(), value)
    }
}

/// A storage key of at most [`MAX_KEY_LEN`] bytes, on the stack.
pub struct StorageKey {
    /// Not zeroed: only the first `len` bytes, written by `push`, are ever read.
    bytes: [MaybeUninit<u8>; MAX_KEY_LEN],
    len: usize,
}

impl StorageKey {
    /// An empty key. Not written as a struct literal: rustc makes `{ bytes: uninit, len: 0 }`
    /// one constant, and LLVM copies a constant whose bytes are zero or undefined as a
    /// `memset` of zeros (a `tos_memset` of 256 bytes per key).
    #[inline(always)]
    fn empty() -> Self {
        let mut key = MaybeUninit::<StorageKey>::uninit();
        // SAFETY: `len` is written; `bytes` is an array of `MaybeUninit`, which may stay
        // uninitialised.
        unsafe {
            core::ptr::addr_of_mut!((*key.as_mut_ptr()).len).write(0);
            key.assume_init()
        }
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: `len <= MAX_KEY_LEN` and the first `len` bytes were written by `push`.
        unsafe { core::slice::from_raw_parts(self.bytes.as_ptr().cast::<u8>(), self.len) }
    }

    #[inline(always)]
    fn push(&mut self, data: &[u8]) -> Result<(), ContractError> {
        let start = self.len;
        let end = start
            .checked_add(data.len())
            .filter(|end| *end <= MAX_KEY_LEN)
            .ok_or(ContractError::KeyTooLong)?;
        if let Some(dst) = self.bytes.get_mut(start..end) {
            // SAFETY: `dst` and `data` have the same length; `MaybeUninit<u8>` has the layout
            // of `u8`; a `&mut` never overlaps a `&`.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    data.as_ptr(),
                    dst.as_mut_ptr().cast::<u8>(),
                    data.len(),
                );
            }
        }
        self.len = end;
        Ok(())
    }
}

// Inlined, so that a key type's encoder sees that its writes fail only with a bare
// `WriteZero` (nothing to free when the error is dropped).
impl borsh::io::Write for StorageKey {
    #[inline(always)]
    fn write(&mut self, data: &[u8]) -> borsh::io::Result<usize> {
        self.write_all(data)?;
        Ok(data.len())
    }

    #[inline(always)]
    fn write_all(&mut self, data: &[u8]) -> borsh::io::Result<()> {
        self.push(data)
            .map_err(|_| borsh::io::Error::from(borsh::io::ErrorKind::WriteZero))
    }

    #[inline(always)]
    fn flush(&mut self) -> borsh::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::TestEnv;
    use crate::{Address, Amount};

    #[test]
    fn a_fixed_buffer_holds_exactly_its_capacity() {
        use borsh::io::Write;
        let mut buf = FixedBuffer::<8>::new();
        assert_eq!(buf.as_slice(), b"");
        buf.write_all(b"abc").unwrap();
        buf.write_all(b"defgh").unwrap();
        assert_eq!(buf.as_slice(), b"abcdefgh");
        assert!(buf.write_all(b"i").is_err());
        assert_eq!(buf.as_slice(), b"abcdefgh");
        // The return data limit: 1024 bytes fit, 1025 do not.
        let outcome = TestEnv::new().call(|_| {
            crate::call::set_return_value(&[7u8; 1024])?;
            assert_eq!(
                crate::call::set_return_value(&[7u8; 1025]),
                Err(ContractError::ValueTooLarge)
            );
            Ok(())
        });
        assert!(outcome.is_success(), "{outcome:?}");
        assert_eq!(outcome.return_data.map(|(_, d)| d.len()), Some(1024));
    }
    use alloc::string::String;

    const COUNT: Item<u64> = Item::new(b"count");
    const NAMES: Map<Address, String> = Map::new(b"name:");

    #[test]
    fn typed_values_round_trip() {
        let mut env = TestEnv::new();
        let outcome = env.call(|_| {
            assert_eq!(COUNT.get()?, None);
            assert_eq!(COUNT.get_or_default()?, 0);
            assert_eq!(COUNT.load(), Err(ContractError::NotInitialized));
            COUNT.set(&5)?;
            assert_eq!(COUNT.load()?, 5);
            assert_eq!(read_u64(b"count"), Ok(Some(5)));

            let alice = Address::new([1; 32]);
            NAMES.set(&alice, &String::from("alice"))?;
            assert_eq!(NAMES.get(&alice)?.as_deref(), Some("alice"));
            assert!(NAMES.contains(&alice)?);
            let key = NAMES.storage_key(&alice)?;
            assert_eq!(&key.as_bytes()[..5], b"name:");
            assert_eq!(key.as_bytes().len(), 5 + 32);

            // A value larger than the inline buffer goes through the heap both ways.
            let big: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
            set(b"big", &big)?;
            assert_eq!(len(b"big"), Some(4 + 3000));
            assert_eq!(get::<Vec<u8>>(b"big")?, Some(big));

            // Wrong types are InvalidState, not a panic.
            assert_eq!(get::<Address>(b"count"), Err(ContractError::InvalidState));
            assert!(NAMES.remove(&alice)?);
            assert!(!NAMES.contains(&alice)?);
            Ok(())
        });
        assert!(outcome.is_success(), "{outcome:?}");
        assert_eq!(env.get::<u64>(b"count"), Some(5));
        assert_eq!(env.get::<Amount>(b"count"), Some(Amount(5)));
    }

    #[test]
    fn limits_are_errors() {
        let mut env = TestEnv::new();
        let outcome = env.call(|_| {
            let long = [b'k'; MAX_KEY_LEN + 1];
            assert_eq!(get::<u64>(&long), Err(ContractError::KeyTooLong));
            assert_eq!(set(&long, &1u64), Err(ContractError::KeyTooLong));
            const LONG_PREFIX: Map<[u8; 32], u8> = Map::new(&[b'p'; 250]);
            assert_eq!(
                LONG_PREFIX.set(&[0; 32], &1).unwrap_err(),
                ContractError::KeyTooLong
            );
            let huge = alloc::vec![0u8; MAX_VALUE_LEN];
            assert_eq!(set(b"k", &huge), Err(ContractError::ValueTooLarge));
            Ok(())
        });
        assert!(outcome.is_success(), "{outcome:?}");
    }
}
