//! Ordinary Rust that the stock BPF backend refuses, built by tos-vm's route (runtime-length
//! copies and fills → the `tos_mem*` syscalls; signed division → unsigned division) and run
//! under both engines, checked against the same code run natively.
//!
//! The contract is `tests/contracts/sdk-ops`; it stores its results under `out`.

mod common;

use borsh::{BorshDeserialize, BorshSerialize};
use common::*;
use tos_loader::toolchain::TRAP_MESSAGE;
use tos_vm::{syscalls::SyscallError, AbortReason, InvokeStatus, StorageProvider};

/// The message of a call the contract aborted by panicking; `None` for any other ending.
fn panic_message(status: &InvokeStatus) -> Option<&str> {
    match status {
        InvokeStatus::Aborted(AbortReason::Syscall(SyscallError::ContractPanicked { message })) => {
            Some(message)
        }
        _ => None,
    }
}

/// Mirror of the contract's instruction enum (same variants, same order).
#[derive(BorshSerialize, BorshDeserialize)]
enum Op {
    Echo(Vec<u8>),
    Decode {
        blobs: Vec<Vec<u8>>,
        name: String,
    },
    Div64(Vec<(i64, i64)>),
    Div32(Vec<(i32, i32)>),
    Div16(Vec<(i16, i16)>),
    Div8(Vec<(i8, i8)>),
    Checked64 {
        a: i64,
        b: i64,
    },
    Checked32 {
        a: i32,
        b: i32,
    },
    Bytes {
        data: Vec<u8>,
        fill: u8,
        split: u32,
    },
    Alloc {
        count: u32,
        size: u32,
    },
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
    Plain {
        a: u64,
        b: u64,
        c: i64,
        d: i64,
        e: u32,
        f: u32,
    },
}

const BUDGET: u64 = 2_000_000;

fn elf() -> Vec<u8> {
    let dir = tos_test_harness::fixtures::workspace_root().join("tests/contracts/sdk-ops");
    tos_test_harness::fixtures::build_contract_cached(&dir).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `op` under both engines (they must agree) and returns the run.
fn run(elf: &[u8], op: &Op) -> Run {
    run_both(elf, &borsh::to_vec(op).unwrap(), BUDGET, |_, _| {})
}

/// Runs `op`, which must succeed, and decodes `out`.
fn out<T: BorshDeserialize>(elf: &[u8], op: &Op) -> T {
    let run = run(elf, op);
    assert!(
        is_success(&run.outcome.status),
        "{:?} {:?}",
        run.outcome.status,
        run.logs()
    );
    let bytes = run
        .after
        .read_storage(&run.contract, b"out")
        .unwrap()
        .expect("the contract stores `out`");
    borsh::from_slice(&bytes).unwrap()
}

// --- native twins of the contract's code ------------------------------------------------

fn div64(a: i64, b: i64) -> [i64; 10] {
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

fn div32(a: i32, b: i32) -> [i64; 10] {
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
}

/// Deterministic pseudo-random numbers (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Mixed magnitudes: small, medium and full-width values of both signs.
    fn i64(&mut self) -> i64 {
        let raw = self.next() as i64;
        match self.next() % 3 {
            0 => raw % 100,
            1 => raw % 1_000_000_007,
            _ => raw,
        }
    }
}

fn edge_pairs_64() -> Vec<(i64, i64)> {
    let edges = [
        i64::MIN,
        i64::MIN + 1,
        -1_000_000_007,
        -17,
        -8,
        -7,
        -3,
        -2,
        -1,
        0,
        1,
        2,
        3,
        7,
        8,
        17,
        1_000_000_007,
        i64::MAX - 1,
        i64::MAX,
    ];
    let mut pairs = Vec::new();
    for &a in &edges {
        for &b in &edges {
            // `a / b` panics for these (checked separately below).
            if b != 0 && !(a == i64::MIN && b == -1) {
                pairs.push((a, b));
            }
        }
    }
    pairs
}

#[test]
fn signed_division_i64_matches_native_rust() {
    let elf = elf();
    let mut pairs = edge_pairs_64();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    while pairs.len() < 600 {
        let (a, b) = (rng.i64(), rng.i64());
        if b != 0 && !(a == i64::MIN && b == -1) {
            pairs.push((a, b));
        }
    }
    for chunk in pairs.chunks(100) {
        let got: Vec<i64> = out(&elf, &Op::Div64(chunk.to_vec()));
        let want: Vec<i64> = chunk.iter().flat_map(|&(a, b)| div64(a, b)).collect();
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let (a, b) = chunk[i / 10];
            assert_eq!(g, w, "i64 op #{} of ({a}, {b})", i % 10);
        }
    }
}

#[test]
fn signed_division_i32_matches_native_rust() {
    let elf = elf();
    let edges = [
        i32::MIN,
        i32::MIN + 1,
        -65_537,
        -9,
        -8,
        -7,
        -2,
        -1,
        1,
        2,
        7,
        8,
        9,
        65_537,
        i32::MAX,
    ];
    let mut pairs = Vec::new();
    for &a in &edges {
        for &b in &edges {
            if !(a == i32::MIN && b == -1) {
                pairs.push((a, b));
            }
        }
    }
    let mut rng = Rng(7);
    while pairs.len() < 400 {
        let (a, b) = (rng.next() as i32, (rng.next() as i32) >> (rng.next() % 31));
        if b != 0 && !(a == i32::MIN && b == -1) {
            pairs.push((a, b));
        }
    }
    for chunk in pairs.chunks(100) {
        let got: Vec<i64> = out(&elf, &Op::Div32(chunk.to_vec()));
        let want: Vec<i64> = chunk.iter().flat_map(|&(a, b)| div32(a, b)).collect();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let (a, b) = chunk[i / 10];
            assert_eq!(g, w, "i32 op #{} of ({a}, {b})", i % 10);
        }
        assert_eq!(got.len(), want.len());
    }
}

#[test]
fn signed_division_i16_and_i8_match_native_rust() {
    let elf = elf();
    let pairs16: Vec<(i16, i16)> = [i16::MIN, -300, -7, -1, 1, 3, 300, i16::MAX]
        .iter()
        .flat_map(|&a| [i16::MIN, -5, -2, 1, 2, 5, 1000, i16::MAX].map(|b| (a, b)))
        .collect();
    let got: Vec<i64> = out(&elf, &Op::Div16(pairs16.clone()));
    let want: Vec<i64> = pairs16
        .iter()
        .flat_map(|&(a, b)| [i64::from(a / b), i64::from(a % b), i64::from(a / 5)])
        .collect();
    assert_eq!(got, want);

    let pairs8: Vec<(i8, i8)> = [i8::MIN, -100, -3, -1, 0, 1, 5, i8::MAX]
        .iter()
        .flat_map(|&a| [i8::MIN, -7, -2, 1, 3, 7, i8::MAX].map(|b| (a, b)))
        .collect();
    let got: Vec<i64> = out(&elf, &Op::Div8(pairs8.clone()));
    let want: Vec<i64> = pairs8
        .iter()
        .flat_map(|&(a, b)| [i64::from(a / b), i64::from(a % b), i64::from(a % -3)])
        .collect();
    assert_eq!(got, want);
}

#[test]
fn rust_division_panics_are_kept() {
    let elf = elf();
    // Rust panics where LLVM's `sdiv` is undefined: division by zero and MIN / -1.
    for op in [
        Op::Checked64 { a: 5, b: 0 },
        Op::Checked64 { a: i64::MIN, b: -1 },
        Op::Checked32 { a: -5, b: 0 },
        Op::Checked32 { a: i32::MIN, b: -1 },
    ] {
        let run = run(&elf, &op);
        // Contracts are built with panic=immediate-abort: the panic aborts the call at once
        // through `tos_panic`, without a message or location (the host test shows those).
        assert_eq!(
            panic_message(&run.outcome.status),
            Some(TRAP_MESSAGE),
            "{:?} {:?}",
            run.outcome.status,
            run.logs()
        );
        assert!(run.logs().is_empty(), "{:?}", run.logs());
        run.assert_unchanged();
    }
    // The neighbours of the panicking cases work.
    let got: Vec<i64> = out(&elf, &Op::Checked64 { a: i64::MIN, b: 1 });
    assert_eq!(got, vec![i64::MIN, 0]);
    let got: Vec<i64> = out(&elf, &Op::Checked32 { a: i32::MIN, b: -2 });
    assert_eq!(got, vec![1 << 30, 0]);
}

#[test]
fn runtime_length_input_is_echoed() {
    let elf = elf();
    for len in [0usize, 1, 7, 8, 63, 64, 65, 300, 511, 512, 513, 2000] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
        let run = run(&elf, &Op::Echo(data.clone()));
        assert!(
            is_success(&run.outcome.status),
            "len {len}: {:?} {:?}",
            run.outcome.status,
            run.logs()
        );
        let stored = run.after.read_storage(&run.contract, b"out").unwrap();
        assert_eq!(stored.as_deref(), Some(&data[..]), "len {len}");
        let returned = run.outcome.return_data.as_ref().map(|r| r.data.clone());
        assert_eq!(
            returned.as_deref(),
            Some(&data[..len.min(1024)]),
            "len {len}"
        );
        let logged = run.outcome.logs.first().map(|l| l.message.clone());
        let want = String::from_utf8_lossy(&data[..len.min(64)]).into_owned();
        assert_eq!(logged, Some(want), "len {len}");
    }
}

#[test]
fn borsh_vectors_decode() {
    let elf = elf();
    let blobs: Vec<Vec<u8>> = (0..20).map(|i| vec![i as u8; i * 13]).collect();
    let name = "tos contract ✓".to_string();
    let (count, total, joined, got_name): (u32, u32, Vec<u8>, String) = out(
        &elf,
        &Op::Decode {
            blobs: blobs.clone(),
            name: name.clone(),
        },
    );
    assert_eq!(count, 20);
    assert_eq!(total as usize, blobs.iter().map(Vec::len).sum::<usize>());
    assert_eq!(joined, blobs.concat());
    assert_eq!(got_name, name);

    // Truncated input fails with InvalidInput (status 1), never a panic.
    let mut input = borsh::to_vec(&Op::Echo(vec![1, 2, 3])).unwrap();
    input.pop();
    let run = run_both(&elf, &input, BUDGET, |_, _| {});
    assert!(
        matches!(run.outcome.status, InvokeStatus::Failed { code: 1 }),
        "{:?}",
        run.outcome.status
    );
}

#[test]
fn fills_comparisons_and_moves_match_native_rust() {
    let elf = elf();
    for (len, split) in [
        (0usize, 0usize),
        (1, 0),
        (10, 5),
        (64, 32),
        (300, 100),
        (301, 150),
    ] {
        let mut data: Vec<u8> = (0..len).map(|i| (i % 5) as u8).collect();
        let split = split.min(len);
        let got: (bool, i8, Vec<u8>, Vec<u8>) = out(
            &elf,
            &Op::Bytes {
                data: data.clone(),
                fill: 0xA5,
                split: split as u32,
            },
        );
        let (head, tail) = data.split_at(split);
        let equal = head == tail;
        let order = head.cmp(tail) as i8;
        let mut filled = vec![0u8; len];
        filled[split..].fill(0xA5);
        let end = data.len() - split;
        data.copy_within(..split, end);
        assert_eq!(got, (equal, order, filled, data), "len {len} split {split}");
    }
}

type WideResults = (
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
);

#[allow(clippy::too_many_arguments)]
fn wide(a: u64, b: u64, c: i64, d: i64, x: u128, y: u128, s: i128, t: i128) -> WideResults {
    (
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
    )
}

/// One case of the 128-bit test: unsigned and signed operand pairs at 64 and 128 bits.
type WideCase = (u64, u64, i64, i64, u128, u128, i128, i128);

#[test]
fn checked_and_128_bit_arithmetic_match_native_rust() {
    let elf = elf();
    let mut rng = Rng(0xDEAD_BEEF);
    let mut cases: Vec<WideCase> = vec![
        (0, u64::MAX, 0, i64::MIN, 0, u128::MAX, 0, i128::MIN),
        (
            u64::MAX,
            u64::MAX,
            i64::MIN,
            -1,
            u128::MAX,
            u128::MAX,
            i128::MIN,
            1,
        ),
        (
            1 << 32,
            1 << 32,
            -(1 << 32),
            1 << 31,
            1 << 64,
            1 << 63,
            -(1 << 100),
            3,
        ),
        (
            3,
            6_148_914_691_236_517_205,
            i64::MIN,
            1,
            u128::MAX / 3,
            3,
            i128::MAX,
            -1,
        ),
        (
            u64::MAX,
            1,
            -3_037_000_500,
            3_037_000_500,
            12345,
            0,
            -1,
            i128::MIN + 1,
        ),
    ];
    for _ in 0..40 {
        let wide_u = |r: &mut Rng| (u128::from(r.next()) << (r.next() % 65)) ^ u128::from(r.next());
        let (a, b) = (
            rng.next() >> (rng.next() % 64),
            rng.next() >> (rng.next() % 64),
        );
        let (c, d) = (
            rng.i64() >> (rng.next() % 32),
            rng.i64() >> (rng.next() % 32),
        );
        let (x, y) = (wide_u(&mut rng), wide_u(&mut rng) >> (rng.next() % 128));
        let (s, t) = (
            wide_u(&mut rng) as i128,
            (wide_u(&mut rng) as i128) >> (rng.next() % 128),
        );
        cases.push((a, b, c, d, x, y, s, t));
    }
    for (a, b, c, d, x, y, s, t) in cases {
        // `s / t` panics natively (and in the contract) for MIN / -1: skip that pair.
        if s == i128::MIN && t == -1 {
            continue;
        }
        let got: WideResults = out(
            &elf,
            &Op::Wide {
                a,
                b,
                c,
                d,
                x,
                y,
                s,
                t,
            },
        );
        assert_eq!(
            got,
            wide(a, b, c, d, x, y, s, t),
            "({a}, {b}, {c}, {d}, {x}, {y}, {s}, {t})"
        );
    }
}

#[test]
fn the_heap_is_bounded_by_the_region() {
    let elf = elf();
    // 28 KiB in 28 blocks fits the 32 KiB heap.
    let total: u64 = out(
        &elf,
        &Op::Alloc {
            count: 28,
            size: 1024,
        },
    );
    assert_eq!(total, 28 * 1024);
    // 40 KiB does not: the allocator refuses, and the contract panics (no memory fault).
    let run = run(
        &elf,
        &Op::Alloc {
            count: 40,
            size: 1024,
        },
    );
    assert_eq!(
        panic_message(&run.outcome.status),
        Some(TRAP_MESSAGE),
        "{:?} {:?}",
        run.outcome.status,
        run.logs()
    );
    run.assert_unchanged();
}

/// The contract's `Plain` op, natively: panics where the contract must abort.
fn plain(a: u64, b: u64, c: i64, d: i64, e: u32, f: u32) -> Vec<i64> {
    vec![
        (a + b) as i64,
        (a - b) as i64,
        (a * b) as i64,
        c + d,
        c - d,
        c * d,
        i64::from(e + f),
        i64::from(e * f),
    ]
}

/// Contracts are built with overflow checks, as host tests are: `u64::MAX + 2` panics in both
/// instead of giving 1 on the chain.
#[test]
fn plain_arithmetic_overflows_the_same_on_the_host_and_in_the_vm() {
    let elf = elf();
    let fine = (1u64 << 40, 3u64, -(1i64 << 40), 7i64, 60_000u32, 60_000u32);
    let (a, b, c, d, e, f) = fine;
    let got: Vec<i64> = out(&elf, &Op::Plain { a, b, c, d, e, f });
    assert_eq!(got, plain(a, b, c, d, e, f));
    let overflowing = [
        (u64::MAX, 2, 0, 0, 0, 0, "add"),
        (0, 1, 0, 0, 0, 0, "subtract"),
        (1 << 33, 1 << 31, 0, 0, 0, 0, "multiply"),
        (1, 0, i64::MAX, 1, 0, 0, "add"),
        (1, 0, i64::MIN, 1, 0, 0, "subtract"),
        (1, 0, 1 << 40, 1 << 30, 0, 0, "multiply"),
        (1, 0, 0, 0, u32::MAX, 1, "add"),
        (1, 0, 0, 0, 1 << 16, 1 << 16, "multiply"),
    ];
    for (a, b, c, d, e, f, what) in overflowing {
        let native = std::panic::catch_unwind(|| plain(a, b, c, d, e, f));
        assert!(native.is_err(), "host: {what} overflow must panic");
        let run = run(&elf, &Op::Plain { a, b, c, d, e, f });
        assert_eq!(
            panic_message(&run.outcome.status),
            Some(TRAP_MESSAGE),
            "{what}: {:?} {:?}",
            run.outcome.status,
            run.logs()
        );
        run.assert_unchanged();
    }
}
