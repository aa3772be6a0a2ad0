//! Exercises what the stock BPF backend refuses and tos-vm's build makes work: copies, fills
//! and comparisons of runtime length, borsh-decoded `Vec`s and signed division and remainder.
//! Results go to storage (`out`, borsh) so the test compares them with native Rust.

#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};
use tos_sdk::prelude::*;

#[derive(BorshSerialize, BorshDeserialize)]
pub enum Op {
    /// Echo the rest of the input through a stack buffer and a `Vec`: return data, log, storage.
    Echo(Vec<u8>),
    /// Decode nested borsh data and store a summary.
    Decode {
        blobs: Vec<Vec<u8>>,
        name: String,
    },
    /// Signed division/remainder of every pair, in every flavour, stored as `Vec<i64>`.
    Div64(Vec<(i64, i64)>),
    Div32(Vec<(i32, i32)>),
    Div16(Vec<(i16, i16)>),
    Div8(Vec<(i8, i8)>),
    /// `a / b` and `a % b` with Rust's checks: panics on b = 0 and MIN / -1.
    Checked64 {
        a: i64,
        b: i64,
    },
    Checked32 {
        a: i32,
        b: i32,
    },
    /// Fill, compare and move bytes at runtime lengths.
    Bytes {
        data: Vec<u8>,
        fill: u8,
        split: u32,
    },
    /// Allocate `count` vectors of `size` bytes, keep them all, store the total.
    Alloc {
        count: u32,
        size: u32,
    },
    /// Checked and wide multiplication, 128-bit division.
    Wide {
        a: u64,
        b: u64,
        c: i64,
        d: i64,
        x: u128,
        y: u128,
        s: i128,
        t: i128,
    },
    /// Plain `+`, `-`, `*` (no `checked_`/`wrapping_`): with overflow checks on, as in host
    /// tests, an overflow panics instead of wrapping.
    Plain {
        a: u64,
        b: u64,
        c: i64,
        d: i64,
        e: u32,
        f: u32,
    },
}

entrypoint!(process);

fn process(_ctx: &Context, input: &[u8]) -> Result<(), ContractError> {
    let op = Op::try_from_slice(input)?;
    match op {
        Op::Echo(data) => echo(&data),
        Op::Decode { blobs, name } => {
            let total: usize = blobs.iter().map(Vec::len).sum();
            let mut joined = Vec::new();
            for blob in &blobs {
                joined.extend_from_slice(blob);
            }
            tos_sdk::storage::set(b"out", &(blobs.len() as u32, total as u32, joined, name))
        }
        Op::Div64(pairs) => store(pairs.iter().flat_map(|&(a, b)| div_all(a, b))),
        Op::Div32(pairs) => store(pairs.iter().flat_map(|&(a, b)| {
            let (a, b) = (a, b);
            [
                i64::from(a / b),
                i64::from(a % b),
                i64::from(a.wrapping_div(b)),
                i64::from(a.wrapping_rem(b)),
                i64::from(a.div_euclid(b)),
                i64::from(a.rem_euclid(b)),
                i64::from(a / 7),
                i64::from(a % -3),
                i64::from(a / -8),
                i64::from(a % 16),
            ]
        })),
        Op::Div16(pairs) => store(
            pairs
                .iter()
                .flat_map(|&(a, b)| [i64::from(a / b), i64::from(a % b), i64::from(a / 5)]),
        ),
        Op::Div8(pairs) => store(
            pairs
                .iter()
                .flat_map(|&(a, b)| [i64::from(a / b), i64::from(a % b), i64::from(a % -3)]),
        ),
        Op::Checked64 { a, b } => store([a / b, a % b].into_iter()),
        Op::Checked32 { a, b } => store([i64::from(a / b), i64::from(a % b)].into_iter()),
        Op::Bytes { data, fill, split } => bytes(data, fill, split as usize),
        Op::Alloc { count, size } => {
            let mut kept: Vec<Vec<u8>> = Vec::new();
            for i in 0..count {
                kept.push(alloc::vec![i as u8; size as usize]);
            }
            let total: u64 = kept.iter().map(|v| v.len() as u64).sum();
            tos_sdk::storage::set(b"out", &total)
        }
        Op::Wide {
            a,
            b,
            c,
            d,
            x,
            y,
            s,
            t,
        } => wide(a, b, c, d, x, y, s, t),
        Op::Plain { a, b, c, d, e, f } => store(
            [
                (a + b) as i64,
                (a - b) as i64,
                (a * b) as i64,
                c + d,
                c - d,
                c * d,
                i64::from(e + f),
                i64::from(e * f),
            ]
            .into_iter(),
        ),
    }
}

fn div_all(a: i64, b: i64) -> [i64; 10] {
    [
        a / b,
        a % b,
        a.wrapping_div(b),
        a.wrapping_rem(b),
        a.div_euclid(b),
        a.rem_euclid(b),
        a / 7,
        a % -3,
        a / -8,
        a % 16,
    ]
}

fn store(values: impl Iterator<Item = i64>) -> Result<(), ContractError> {
    let values: Vec<i64> = values.collect();
    tos_sdk::storage::set(b"out", &values)
}

fn echo(data: &[u8]) -> Result<(), ContractError> {
    // A stack copy of a length known only at run time...
    let mut buf = [0u8; 512];
    let n = data.len().min(buf.len());
    buf[..n].copy_from_slice(&data[..n]);
    // ...and a heap one.
    let mut copy = Vec::new();
    copy.extend_from_slice(&buf[..n]);
    copy.extend_from_slice(&data[n..]);
    tos_sdk::call::set_return_data(&copy[..copy.len().min(1024)]);
    tos_sdk::storage::write(b"out", &copy);
    tos_sdk::log_bytes(&buf[..n.min(64)]);
    Ok(())
}

fn bytes(mut data: Vec<u8>, fill: u8, split: usize) -> Result<(), ContractError> {
    let split = split.min(data.len());
    let (head, tail) = data.split_at(split);
    let equal = head == tail;
    let order = head.cmp(tail) as i8;
    let mut filled = alloc::vec![0u8; data.len()];
    filled[split..].fill(fill);
    let end = data.len() - split;
    data.copy_within(..split, end);
    tos_sdk::storage::set(b"out", &(equal, order, filled, data))
}

#[allow(clippy::too_many_arguments)]
fn wide(
    a: u64,
    b: u64,
    c: i64,
    d: i64,
    x: u128,
    y: u128,
    s: i128,
    t: i128,
) -> Result<(), ContractError> {
    let results: (
        Option<u64>,
        Option<i64>,
        u128,
        u128,
        u128,
        Option<u128>,
        i128,
        i128,
        i128,
        u128,
    ) = (
        a.checked_mul(b),
        c.checked_mul(d),
        u128::from(a) * u128::from(b),
        x.wrapping_mul(y),
        x / (y | 1),
        x.checked_mul(y),
        s.wrapping_mul(t),
        s / if t == 0 { 3 } else { t },
        s % if t == 0 { -7 } else { t },
        x % (y | 1),
    );
    tos_sdk::storage::set(b"out", &results)
}
