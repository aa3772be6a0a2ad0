//! Memory operations done by the host (`tos_memcpy`, `tos_memmove`, `tos_memset`,
//! `tos_memcmp`): 10 + n / 64 units each, where a BPF loop pays one unit per instruction.
//!
//! Ordinary Rust (`copy_from_slice`, `fill`, `==` on slices, `Vec::extend_from_slice`) already
//! reaches these syscalls: tos-vm's build routes the compiler's memory calls to them. These
//! wrappers are for explicit use.

use core::cmp::Ordering;

use crate::syscalls;

/// Copies `src` into `dst`, which must have the same length (else it panics, like
/// `copy_from_slice`).
pub fn copy(dst: &mut [u8], src: &[u8]) {
    assert!(dst.len() == src.len(), "mem::copy: length mismatch");
    if dst.is_empty() {
        return;
    }
    // SAFETY: both ranges are valid for `len` bytes, and a `&mut` never overlaps a `&`.
    unsafe {
        syscalls::tos_memcpy(dst.as_mut_ptr(), src.as_ptr(), dst.len() as u64);
    }
}

/// Copies `len` bytes from `src` to `dst` within one buffer; the ranges may overlap (like
/// `slice::copy_within`). Panics if a range is out of bounds.
pub fn copy_within(buf: &mut [u8], src: usize, dst: usize, len: usize) {
    let src_end = src.checked_add(len).filter(|e| *e <= buf.len());
    let dst_end = dst.checked_add(len).filter(|e| *e <= buf.len());
    assert!(
        src_end.is_some() && dst_end.is_some(),
        "mem::copy_within: out of bounds"
    );
    if len == 0 {
        return;
    }
    let base = buf.as_mut_ptr();
    // SAFETY: both ranges were checked to lie inside `buf`.
    unsafe {
        syscalls::tos_memmove(base.add(dst), base.add(src), len as u64);
    }
}

/// Sets every byte of `dst` to `byte`.
pub fn fill(dst: &mut [u8], byte: u8) {
    if dst.is_empty() {
        return;
    }
    // SAFETY: `dst` is valid for writes of its length.
    unsafe {
        syscalls::tos_memset(dst.as_mut_ptr(), u64::from(byte), dst.len() as u64);
    }
}

/// Compares two byte strings lexicographically (as `Ord` for `[u8]` does).
pub fn compare(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    let prefix = if n == 0 {
        0
    } else {
        // SAFETY: both are valid for reads of `n` bytes.
        unsafe { syscalls::tos_memcmp(a.as_ptr(), b.as_ptr(), n as u64) }
    };
    match prefix.cmp(&0) {
        Ordering::Equal => a.len().cmp(&b.len()),
        other => other,
    }
}

/// Whether two byte strings are equal.
pub fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && compare(a, b) == Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::TestEnv;

    #[test]
    fn operations() {
        let outcome = TestEnv::new().call(|_| {
            let mut buf = [0u8; 8];
            copy(&mut buf[..3], b"abc");
            assert_eq!(&buf[..3], b"abc");
            copy_within(&mut buf, 0, 1, 3);
            assert_eq!(&buf[..4], b"aabc");
            fill(&mut buf[4..], 0xEE);
            assert_eq!(buf[7], 0xEE);
            assert_eq!(compare(b"abc", b"abd"), Ordering::Less);
            assert_eq!(compare(b"abc", b"ab"), Ordering::Greater);
            assert_eq!(compare(b"", b""), Ordering::Equal);
            assert!(equal(b"xy", b"xy"));
            assert!(!equal(b"xy", b"xz"));
            Ok(())
        });
        assert!(outcome.is_success(), "{outcome:?}");
    }
}
