//! counter-rust: a persistent counter.
//!
//! Each invoke reads the `u64` under the storage key `count` (absent = 0), increments it,
//! stores it back as 8 little-endian bytes and logs `count = N`.

#![no_std]

use tos_sdk::{entrypoint, log_bytes, storage};

/// Storage key of the counter.
const KEY: &[u8] = b"count";

/// Status: the stored value is not 8 bytes long.
const ERR_CORRUPT: u64 = 1;
/// Status: the counter would overflow.
const ERR_OVERFLOW: u64 = 2;

entrypoint!(process);

fn process(_input: &[u8]) -> Result<(), u64> {
    let count = storage::read_u64(KEY)
        .map_err(|_| ERR_CORRUPT)?
        .unwrap_or(0);
    let count = count.checked_add(1).ok_or(ERR_OVERFLOW)?;
    storage::write_u64(KEY, count);

    // "count = " followed by at most 20 decimal digits, formatted by hand (no core::fmt).
    let mut msg = [0u8; 28];
    let len = format_message(count, &mut msg);
    log_bytes(&msg[..len]);
    Ok(())
}

/// Writes `count = <n>` into `out`; returns the number of bytes written.
fn format_message(n: u64, out: &mut [u8; 28]) -> usize {
    const PREFIX: &[u8; 8] = b"count = ";
    out[..8].copy_from_slice(PREFIX); // fixed length: LLVM inlines the copy.

    let mut digits = 1;
    let mut rest = n / 10;
    while rest != 0 {
        digits += 1;
        rest /= 10;
    }
    // A u64 has at most 20 digits; saying so lets the compiler drop the bounds checks
    // (and with them the panic path).
    let digits = digits.min(20);
    // Fill the digits back to front, straight into place (no runtime-length copy).
    let mut value = n;
    for slot in out[8..8 + digits].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
    8 + digits
}
