//! Logging: [`log`](crate::log()), [`log_bytes`](crate::log_bytes), the [`LogLine`] builder (no
//! `core::fmt`), and the [`log!`](crate::log!) macro (with `core::fmt`).

use crate::syscalls;

/// Largest log message, in bytes; a longer message aborts the invoke.
pub const MAX_LOG_LEN: usize = tos_abi::limits::MAX_LOG_MESSAGE_LEN;

/// Appends `msg` to the invoke's log (at most [`MAX_LOG_LEN`] bytes). Cost 100 + length.
#[inline]
pub fn log(msg: &str) {
    log_bytes(msg.as_bytes());
}

/// Appends raw bytes to the invoke's log (at most [`MAX_LOG_LEN`] bytes). Cost 100 + length.
#[inline]
pub fn log_bytes(msg: &[u8]) {
    // SAFETY: the slice is valid for reads of its length.
    unsafe {
        syscalls::tos_log(msg.as_ptr(), msg.len() as u64);
    }
}

/// Decimal digits of `n`: (buffer, used length), without `core::fmt`. Written without
/// indexing that could fail, so no bounds-check panic (whose message formatting would pull
/// `core::fmt` in) is linked.
pub fn decimal(mut n: u64) -> ([u8; 20], usize) {
    let mut out = [0u8; 20];
    let mut len = 0;
    // Least significant digit first, then reversed: u64::MAX has 20 digits.
    for slot in out.iter_mut() {
        *slot = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if let Some(digits) = out.get_mut(..len) {
        digits.reverse();
    }
    (out, len)
}

/// A log message assembled on the stack without `core::fmt` (which adds several KB of code
/// and compute to a contract). Text past `N` bytes is dropped.
///
/// ```
/// # tos_sdk::host::TestEnv::new().call(|_| {
/// use tos_sdk::LogLine;
/// LogLine::<64>::new().str("balance = ").u64(1200).log();
/// # Ok(()) });
/// ```
#[derive(Clone)]
pub struct LogLine<const N: usize> {
    /// Not zeroed: only the first `len` bytes, written by `bytes`, are ever read.
    buf: [core::mem::MaybeUninit<u8>; N],
    len: usize,
}

impl<const N: usize> Default for LogLine<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> LogLine<N> {
    /// An empty line.
    pub const fn new() -> Self {
        // Not a struct literal: rustc would make `{ buf: uninit, len: 0 }` one constant, which
        // LLVM copies as a `memset` of zeros.
        let mut line = core::mem::MaybeUninit::<Self>::uninit();
        // SAFETY: `len` is written; `buf` is an array of `MaybeUninit`, which may stay
        // uninitialised.
        unsafe {
            core::ptr::addr_of_mut!((*line.as_mut_ptr()).len).write(0);
            line.assume_init()
        }
    }

    /// Appends bytes (as many as fit).
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        // `get`/`get_mut` instead of indexing: no panic path, so no `core::fmt`.
        let n = bytes.len().min(N.saturating_sub(self.len));
        let end = self.len + n;
        if let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..end), bytes.get(..n)) {
            // SAFETY: `dst` and `src` have the same length; `MaybeUninit<u8>` has the layout
            // of `u8`; a `&mut` never overlaps a `&`.
            unsafe {
                core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<u8>(), n);
            }
            self.len = end;
        }
        self
    }

    /// Appends text.
    pub fn str(&mut self, text: &str) -> &mut Self {
        self.bytes(text.as_bytes())
    }

    /// Appends an unsigned number in decimal.
    pub fn u64(&mut self, n: u64) -> &mut Self {
        let (digits, len) = decimal(n);
        self.bytes(&digits[..len])
    }

    /// Appends a signed number in decimal.
    pub fn i64(&mut self, n: i64) -> &mut Self {
        if n < 0 {
            self.bytes(b"-");
        }
        self.u64(n.unsigned_abs())
    }

    /// Appends bytes as lowercase hex.
    pub fn hex(&mut self, bytes: &[u8]) -> &mut Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for byte in bytes {
            self.bytes(&[HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0x0f)]]);
        }
        self
    }

    /// The message so far.
    pub fn as_bytes(&self) -> &[u8] {
        match self.buf.get(..self.len) {
            // SAFETY: the first `len` bytes were written by `bytes`.
            Some(written) => unsafe {
                core::slice::from_raw_parts(written.as_ptr().cast::<u8>(), written.len())
            },
            None => &[],
        }
    }

    /// Logs the message.
    pub fn log(&self) {
        log_bytes(self.as_bytes());
    }
}

impl<const N: usize> core::fmt::Write for LogLine<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.str(s);
        Ok(())
    }
}

/// Logs a formatted message (`format!` syntax), at most 512 bytes.
///
/// Convenient, but it links `core::fmt` into the contract (several KB and more compute per
/// call than [`LogLine`]).
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {{
        let mut line = $crate::LogLine::<512>::new();
        let _ = ::core::fmt::Write::write_fmt(&mut line, ::core::format_args!($($arg)*));
        line.log();
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_digits() {
        for n in [0u64, 7, 10, 99, 1_000_000, u64::MAX] {
            let (d, len) = decimal(n);
            assert_eq!(core::str::from_utf8(&d[..len]).unwrap(), n.to_string());
        }
    }

    #[test]
    fn log_line_builds_and_truncates() {
        let mut line = LogLine::<16>::new();
        line.str("x=").i64(-42).str(" h=").hex(&[0xAB, 0x01]);
        assert_eq!(line.as_bytes(), b"x=-42 h=ab01");
        line.str("0123456789");
        assert_eq!(line.as_bytes().len(), 16);
        let mut min = LogLine::<32>::new();
        min.i64(i64::MIN);
        assert_eq!(min.as_bytes(), b"-9223372036854775808");
    }
}
