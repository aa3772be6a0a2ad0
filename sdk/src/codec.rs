//! Borsh on byte slices, with less code per contract than `borsh::from_slice` and
//! `borsh::to_vec`: the same encoding (docs/abi.md), other failure paths.
//!
//! borsh's reader for `&[u8]` reports a short input as an error carrying a message, which it
//! allocates and copies (`"failed to fill whole buffer"`, then `"Unexpected length of
//! input"`); every decode of every type keeps that code and, through the error's `String`,
//! the allocator's. [`SliceReader`] fails with a bare [`ErrorKind::InvalidData`] instead, which
//! allocates nothing, and the SDK drops decode errors unread (a contract sees `InvalidInput`
//! or `InvalidState`), so the message was never seen. [`SliceWriter`] encodes into a buffer
//! it never grows: it counts what does not fit, so a caller sizes a second buffer exactly
//! instead of linking `Vec`'s growth code.
//!
//! ```
//! use tos_sdk::codec::{decode_all, SliceReader};
//! use tos_sdk::Amount;
//!
//! let bytes = 250u64.to_le_bytes();
//! assert_eq!(decode_all::<Amount>(&bytes), Some(Amount(250)));
//! assert_eq!(decode_all::<Amount>(&bytes[..7]), None); // short
//! assert_eq!(decode_all::<u32>(&bytes), None); // bytes left over
//!
//! let mut reader = SliceReader::new(b"\x03\x00\x00\x00abc!");
//! assert_eq!(reader.string().as_deref(), Some("abc"));
//! assert_eq!(reader.rest(), b"!");
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use borsh::io::{ErrorKind, Read, Result, Write};
use borsh::{BorshDeserialize, BorshSerialize};

/// A borsh reader over a byte slice: reads advance through it; a read past its end fails with
/// [`ErrorKind::InvalidData`] (no message, nothing allocated) and consumes nothing.
#[derive(Clone, Copy, Debug)]
pub struct SliceReader<'a> {
    rest: &'a [u8],
}

impl<'a> SliceReader<'a> {
    /// A reader at the start of `bytes`.
    #[inline(always)]
    pub const fn new(bytes: &'a [u8]) -> Self {
        SliceReader { rest: bytes }
    }

    /// The bytes not read yet.
    #[inline(always)]
    pub const fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Whether every byte was read.
    #[inline(always)]
    pub const fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next `n` bytes, or `None` (nothing consumed) if fewer are left.
    #[inline(always)]
    pub fn next_bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    /// The next `N` bytes as an array, or `None` (nothing consumed) if fewer are left.
    #[inline(always)]
    pub fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = self.next_bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Some(out)
    }

    /// A borsh `u32` (4 bytes, little-endian).
    #[inline(always)]
    pub fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    /// A borsh `u64` (8 bytes, little-endian).
    #[inline(always)]
    pub fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// A borsh byte string (`u32` length, then the bytes), borrowed from the input.
    #[inline]
    pub fn byte_string(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()?;
        self.next_bytes(len as usize)
    }

    /// A borsh `String` (`u32` length, then UTF-8): one length check against the input, one
    /// check of the bytes, one copy. `None` for a short input or invalid UTF-8 (what
    /// `core::str::from_utf8` refuses).
    #[inline]
    pub fn string(&mut self) -> Option<String> {
        let mut probe = *self;
        let bytes = probe.byte_string()?;
        let text = str_from_utf8(bytes)?;
        *self = probe;
        Some(String::from(text))
    }
}

impl Read for SliceReader<'_> {
    #[inline(always)]
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let n = buf.len().min(self.rest.len());
        let (head, tail) = self.rest.split_at(n);
        if let Some(dst) = buf.get_mut(..n) {
            dst.copy_from_slice(head);
        }
        self.rest = tail;
        Ok(n)
    }

    #[inline(always)]
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        match self.next_bytes(buf.len()) {
            Some(bytes) => {
                buf.copy_from_slice(bytes);
                Ok(())
            }
            None => Err(ErrorKind::InvalidData.into()),
        }
    }
}

/// Decodes a whole `T` from `bytes`: `None` if they do not decode or bytes are left over.
/// Accepts exactly what `borsh::from_slice` accepts.
#[inline]
pub fn decode_all<T: BorshDeserialize>(bytes: &[u8]) -> Option<T> {
    let mut reader = SliceReader::new(bytes);
    let value = T::deserialize_reader(&mut reader).ok()?;
    reader.is_empty().then_some(value)
}

/// Decodes the next `T` from `input` and advances it past the bytes read; `None` if they do
/// not decode (then `input` is left where the failed value started or inside it).
#[inline(always)]
pub fn decode_next<T: BorshDeserialize>(input: &mut &[u8]) -> Option<T> {
    let mut reader = SliceReader::new(input);
    let value = T::deserialize_reader(&mut reader).ok();
    *input = reader.rest();
    value
}

/// `bytes` as `&str` if they are UTF-8: accepts exactly what `core::str::from_utf8` accepts
/// (no overlong forms, no surrogates, nothing past U+10FFFF), in a byte loop a few dozen
/// instructions long where core's is unrolled over words (~300 instructions in a contract).
pub fn str_from_utf8(bytes: &[u8]) -> Option<&str> {
    let mut i = 0;
    while let Some(&lead) = bytes.get(i) {
        i += 1;
        if lead < 0x80 {
            continue;
        }
        // The allowed range of the second byte narrows at the edges of the encoding: it rules
        // out overlong forms (E0, F0), surrogates (ED) and code points past U+10FFFF (F4).
        let (continuation, low, high) = match lead {
            0xC2..=0xDF => (1, 0x80, 0xBF),
            0xE0 => (2, 0xA0, 0xBF),
            0xED => (2, 0x80, 0x9F),
            0xE1..=0xEF => (2, 0x80, 0xBF),
            0xF0 => (3, 0x90, 0xBF),
            0xF4 => (3, 0x80, 0x8F),
            0xF1..=0xF3 => (3, 0x80, 0xBF),
            _ => return None,
        };
        match bytes.get(i) {
            Some(&second) if (low..=high).contains(&second) => i += 1,
            _ => return None,
        }
        for _ in 1..continuation {
            match bytes.get(i) {
                Some(&next) if next & 0xC0 == 0x80 => i += 1,
                _ => return None,
            }
        }
    }
    // SAFETY: every byte sequence was checked to be well-formed UTF-8 above.
    Some(unsafe { core::str::from_utf8_unchecked(bytes) })
}

/// A borsh writer into a fixed buffer that never grows and never fails: bytes that do not fit
/// are counted, not written. After encoding, [`len`](Self::len) is the encoding's full length;
/// it was written whole only if [`fits`](Self::fits).
pub struct SliceWriter<'a> {
    buf: &'a mut [core::mem::MaybeUninit<u8>],
    len: usize,
}

impl<'a> SliceWriter<'a> {
    /// A writer at the start of `buf` (which need not be initialised).
    #[inline(always)]
    pub fn new(buf: &'a mut [core::mem::MaybeUninit<u8>]) -> Self {
        SliceWriter { buf, len: 0 }
    }

    /// Bytes encoded so far, written or not.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was encoded.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether everything encoded was written.
    #[inline(always)]
    pub fn fits(&self) -> bool {
        self.len <= self.buf.len()
    }

    /// The bytes written, if everything fit.
    #[inline(always)]
    pub fn written(&self) -> Option<&[u8]> {
        let written = self.buf.get(..self.len)?;
        // SAFETY: the first `len` bytes were written by `write_all` (it writes a chunk only
        // when everything before it was written too).
        Some(unsafe { core::slice::from_raw_parts(written.as_ptr().cast::<u8>(), self.len) })
    }
}

impl Write for SliceWriter<'_> {
    #[inline(always)]
    fn write(&mut self, data: &[u8]) -> Result<usize> {
        self.write_all(data)?;
        Ok(data.len())
    }

    #[inline(always)]
    fn write_all(&mut self, data: &[u8]) -> Result<()> {
        let start = self.len;
        // Lengths are bounded by memory, so this saturates only for a writer fed more than
        // the address space: then it stays "does not fit".
        self.len = start.saturating_add(data.len());
        if let Some(dst) = self.buf.get_mut(start..self.len) {
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
        Ok(())
    }

    #[inline(always)]
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Encodes `value` and hands the bytes to `use_bytes`: through a stack buffer of `N` bytes when
/// the encoding fits, else through a heap buffer of exactly its length (the value is encoded
/// twice then). `None` if the encoding is longer than `max` bytes (nothing is allocated) or
/// the value's encoder failed.
#[inline(always)]
pub fn with_encoded<T: BorshSerialize + ?Sized, R, const N: usize>(
    value: &T,
    max: usize,
    use_bytes: impl FnOnce(&[u8]) -> R,
) -> Option<R> {
    let mut inline = [core::mem::MaybeUninit::<u8>::uninit(); N];
    let mut writer = SliceWriter::new(&mut inline);
    value.serialize(&mut writer).ok()?;
    let len = writer.len();
    if len > max {
        return None;
    }
    if let Some(bytes) = writer.written() {
        return Some(use_bytes(bytes));
    }
    encode_on_heap(value, len).map(|bytes| use_bytes(&bytes))
}

/// The encoding of `value`, `len` bytes long, in a heap buffer of that size. Out of line: it is
/// the rare path of [`with_encoded`].
#[inline(never)]
fn encode_on_heap<T: BorshSerialize + ?Sized>(value: &T, len: usize) -> Option<Vec<u8>> {
    let mut heap: Vec<u8> = Vec::with_capacity(len);
    let mut writer = SliceWriter::new(heap.spare_capacity_mut());
    value.serialize(&mut writer).ok()?;
    // An encoder that gives other bytes on the second run is refused.
    if writer.len() != len || !writer.fits() {
        return None;
    }
    // SAFETY: the writer wrote all `len` bytes into the capacity.
    unsafe { heap.set_len(len) };
    Some(heap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, Amount};
    use alloc::vec;

    #[test]
    fn the_utf8_check_agrees_with_core() {
        // Every 1- and 2-byte string, every 3-byte string with a lead byte of a multi-byte
        // form, and 4-byte strings around each boundary of the encoding.
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for a in 0..=255u8 {
            cases.push(vec![a]);
            for b in 0..=255u8 {
                cases.push(vec![a, b]);
            }
        }
        for a in 0xC0..=0xFFu8 {
            for b in 0x70..=0xC0u8 {
                for c in [0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xFF] {
                    cases.push(vec![a, b, c]);
                    for d in [0x41, 0x80, 0xBF, 0xC0] {
                        cases.push(vec![a, b, c, d]);
                        cases.push(vec![b'x', a, b, c, d, b'y']);
                    }
                }
            }
        }
        for text in [
            "",
            "TOS",
            "ünïcödé ✓",
            "𝄞 music",
            "\u{10FFFF}",
            "\u{D7FF}\u{E000}",
        ] {
            cases.push(text.as_bytes().to_vec());
        }
        for case in &cases {
            assert_eq!(
                str_from_utf8(case),
                core::str::from_utf8(case).ok(),
                "{case:02x?}"
            );
        }
    }

    #[test]
    fn reads_what_borsh_writes() {
        let text = String::from("naïve");
        let address = Address::new([9; 32]);
        let bytes = borsh::to_vec(&(text.clone(), address, Amount(7), 3u8)).unwrap();
        let mut reader = SliceReader::new(&bytes);
        assert_eq!(reader.string(), Some(text));
        assert_eq!(reader.array::<32>(), Some([9; 32]));
        assert_eq!(reader.u64(), Some(7));
        assert_eq!(reader.next_bytes(1), Some(&[3u8][..]));
        assert!(reader.is_empty());
        assert_eq!(reader.next_bytes(1), None);

        // Whole values: what borsh::from_slice accepts, and nothing else.
        type Tuple = (String, Address, Amount, u8);
        for cut in 0..=bytes.len() {
            let ours = decode_all::<Tuple>(&bytes[..cut]);
            let borsh = borsh::from_slice::<Tuple>(&bytes[..cut]).ok();
            assert_eq!(ours, borsh, "{cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode_all::<Tuple>(&longer), None);
    }

    #[test]
    fn a_string_that_fails_consumes_nothing() {
        for bad in [
            &[3u8, 0, 0, 0, b'a', b'b'][..],
            &[2, 0, 0, 0, 0xC3, 0x28],
            &[1, 0],
        ] {
            let mut reader = SliceReader::new(bad);
            assert_eq!(reader.string(), None);
            assert_eq!(reader.rest(), bad);
        }
    }

    #[test]
    fn the_writer_counts_what_does_not_fit() {
        let mut buf = [core::mem::MaybeUninit::uninit(); 8];
        let mut writer = SliceWriter::new(&mut buf);
        writer.write_all(b"abc").unwrap();
        assert_eq!(writer.written(), Some(&b"abc"[..]));
        writer.write_all(b"defghi").unwrap();
        writer.write_all(b"j").unwrap();
        assert_eq!(
            (writer.len(), writer.fits(), writer.written()),
            (10, false, None)
        );

        let short = String::from("short");
        let long = "x".repeat(300);
        for (text, max) in [(&short, 1024), (&long, 1024)] {
            let encoded = with_encoded::<_, _, 16>(text, max, <[u8]>::to_vec);
            assert_eq!(encoded, Some(borsh::to_vec(text).unwrap()));
        }
        assert_eq!(with_encoded::<_, _, 16>(&long, 303, <[u8]>::len), None);
        assert_eq!(with_encoded::<_, _, 16>(&long, 304, <[u8]>::len), Some(304));
    }
}
