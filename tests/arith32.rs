//! 32-bit arithmetic as compiled for contracts, against native Rust: random programs of the
//! `tests/contracts/arith32` interpreter (wrapping add/sub/mul, negative values, shifts,
//! division, widening), built both ways tos-vm can compile 32-bit code — `-mcpu=v2` (the
//! default) and the 32-bit ALU route (`Codegen::Alu32`: `+alu32` with a `mov32 dst, dst` after
//! every `add32`/`sub32`/`mul32`) — and run under both engines, which must agree.

mod common;

use common::*;
use proptest::prelude::*;
use tos_loader::toolchain::Codegen;
use tos_vm::InvokeStatus;

const REGS: usize = 8;
const BUDGET: u64 = 1_000_000;

/// One op of the contract's interpreter (see the C source for the layout).
#[derive(Debug, Clone, Copy)]
struct Op {
    code: u8,
    d: u8,
    x: u8,
    y: u8,
    imm: i32,
}

/// The native twin of the contract's `step`.
fn step(code: u8, a: u32, b: u32, imm: u32) -> u32 {
    let (sa, sb, simm) = (a as i32, b as i32, imm as i32);
    match code % 32 {
        0 => a.wrapping_add(b),
        1 => a.wrapping_sub(b),
        2 => a.wrapping_mul(b),
        3 => a.wrapping_add(imm),
        4 => a.wrapping_sub(imm),
        5 => a.wrapping_mul(imm),
        6 => a.checked_div(b).unwrap_or(0),
        7 => a.checked_rem(b).unwrap_or(0),
        8 => {
            if sb == 0 {
                0
            } else {
                sa.wrapping_div(sb) as u32
            }
        }
        9 => {
            if sb == 0 {
                0
            } else {
                sa.wrapping_rem(sb) as u32
            }
        }
        10 => a << (b & 31),
        11 => a >> (b & 31),
        12 => (sa >> (b & 31)) as u32,
        13 => a << (imm & 31),
        14 => a >> (imm & 31),
        15 => (sa >> (imm & 31)) as u32,
        16 => a & b,
        17 => a | b,
        18 => a ^ b,
        19 => a.wrapping_neg(),
        20 => !a,
        21 => a.rotate_left(b & 31),
        22 => u32::from(sa < sb),
        23 => u32::from(a < b),
        24 => ((u64::from(a) * u64::from(b)) >> 32) as u32,
        25 => ((i64::from(sa) * i64::from(sb)) as u64 >> 32) as u32,
        26 => a.swap_bytes(),
        27 => {
            if sa > simm {
                b
            } else {
                a
            }
        }
        28 => a.wrapping_add(b) as i16 as i32 as u32,
        29 => u32::from(a.wrapping_mul(b) as u8),
        30 => {
            if a.wrapping_add(b) < b.wrapping_sub(imm) {
                a.wrapping_sub(imm)
            } else {
                b.wrapping_mul(3)
            }
        }
        _ => {
            if (a.wrapping_sub(b) as i32) < 0 {
                a.wrapping_add(b)
            } else {
                a.wrapping_mul(imm)
            }
        }
    }
}

/// The contract's return data, computed natively.
fn native(regs: &[u32; REGS], ops: &[Op]) -> Vec<u8> {
    let mut r = *regs;
    let (mut acc, mut sacc) = (0u64, 0u64);
    for op in ops {
        let a = r[usize::from(op.x) % REGS];
        let b = r[usize::from(op.y) % REGS];
        let imm = op.imm as u32;
        let v = step(op.code, a, b, imm);
        r[usize::from(op.d) % REGS] = v;
        acc = acc
            .wrapping_mul(31)
            .wrapping_add(u64::from(a.wrapping_add(b)))
            .wrapping_add(u64::from(v.wrapping_mul(imm)));
        sacc = sacc
            .wrapping_mul(17)
            .wrapping_add(v.wrapping_sub(b) as i32 as i64 as u64);
    }
    let mut out: Vec<u8> = r.iter().flat_map(|v| v.to_le_bytes()).collect();
    out.extend_from_slice(&acc.to_le_bytes());
    out.extend_from_slice(&sacc.to_le_bytes());
    out
}

fn input(regs: &[u32; REGS], ops: &[Op]) -> Vec<u8> {
    let mut bytes: Vec<u8> = regs.iter().flat_map(|v| v.to_le_bytes()).collect();
    for op in ops {
        bytes.extend_from_slice(&[op.code, op.d, op.x, op.y]);
        bytes.extend_from_slice(&op.imm.to_le_bytes());
    }
    bytes
}

fn elf(codegen: Codegen) -> Vec<u8> {
    let dir = tos_test_harness::fixtures::workspace_root().join("tests/contracts/arith32");
    tos_test_harness::fixtures::build_contract_cached_with(&dir, codegen)
        .unwrap_or_else(|e| panic!("{codegen:?}: {e}"))
}

/// Runs the program under both engines (they must agree) for every code generation and
/// checks the result against native Rust.
fn check(elfs: &[(Codegen, Vec<u8>)], regs: &[u32; REGS], ops: &[Op]) {
    let want = native(regs, ops);
    for (codegen, elf) in elfs {
        let run = run_both(elf, &input(regs, ops), BUDGET, |_, _| {});
        assert!(
            matches!(run.outcome.status, InvokeStatus::Success),
            "{codegen:?}: {:?}",
            run.outcome.status
        );
        let got = run.outcome.return_data.map(|r| r.data).unwrap_or_default();
        assert_eq!(
            got, want,
            "{codegen:?} differs from native for {regs:x?} {ops:?}"
        );
    }
}

fn both_builds() -> Vec<(Codegen, Vec<u8>)> {
    vec![
        (Codegen::V2, elf(Codegen::V2)),
        (Codegen::Alu32, elf(Codegen::Alu32)),
    ]
}

/// Values where 32-bit arithmetic wraps or changes sign.
const EDGES: [u32; 12] = [
    0,
    1,
    2,
    31,
    32,
    0x7fff_ffff,
    0x8000_0000,
    0x8000_0001,
    0xffff_fffe,
    0xffff_ffff,
    0x0001_0000,
    0xdead_beef,
];

#[test]
fn every_op_on_edge_values_matches_native() {
    let elfs = both_builds();
    // Every op on every pair of registers (edge values), imm from the edges too.
    for code in 0..32u8 {
        let regs: [u32; REGS] =
            std::array::from_fn(|i| EDGES[(i + usize::from(code)) % EDGES.len()]);
        let mut ops = Vec::new();
        for x in 0..REGS as u8 {
            for y in 0..REGS as u8 {
                ops.push(Op {
                    code,
                    d: (x + y) % REGS as u8,
                    x,
                    y,
                    imm: EDGES[usize::from(x + y) % EDGES.len()] as i32,
                });
            }
        }
        check(&elfs, &regs, &ops);
    }
}

#[test]
fn add_sub_mul32_results_used_as_64_bit_values_are_zero_extended() {
    // The case SBPF's sign-extending add32 gets wrong without the mov32: 0x7fffffff + 1 used
    // as a u64 (the accumulators) must be 0x80000000, not 0xffffffff80000000.
    let elfs = both_builds();
    let regs = [
        0x7fff_ffff,
        1,
        0xffff_ffff,
        0x8000_0000,
        3,
        0x4000_0000,
        2,
        0,
    ];
    let ops = [
        Op {
            code: 0,
            d: 7,
            x: 0,
            y: 1,
            imm: 0,
        },
        Op {
            code: 1,
            d: 6,
            x: 3,
            y: 1,
            imm: 0,
        },
        Op {
            code: 2,
            d: 5,
            x: 5,
            y: 6,
            imm: 0,
        },
        Op {
            code: 3,
            d: 4,
            x: 0,
            y: 0,
            imm: 1,
        },
        Op {
            code: 5,
            d: 3,
            x: 5,
            y: 0,
            imm: -2,
        },
        Op {
            code: 30,
            d: 2,
            x: 0,
            y: 1,
            imm: 7,
        },
        Op {
            code: 31,
            d: 1,
            x: 3,
            y: 0,
            imm: 9,
        },
    ];
    check(&elfs, &regs, &ops);
}

fn value() -> impl Strategy<Value = u32> {
    prop_oneof![
        prop::sample::select(EDGES.to_vec()),
        any::<u32>(),
        (-64i32..64).prop_map(|v| v as u32),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    (any::<u8>(), 0u8..8, 0u8..8, 0u8..8, value()).prop_map(|(code, d, x, y, imm)| Op {
        code,
        d,
        x,
        y,
        imm: imm as i32,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
    ))]

    #[test]
    fn random_32_bit_programs_match_native(
        regs in prop::array::uniform8(value()),
        ops in prop::collection::vec(op(), 0..96),
    ) {
        thread_local! {
            static ELFS: Vec<(Codegen, Vec<u8>)> = both_builds();
        }
        ELFS.with(|elfs| check(elfs, &regs, &ops));
    }
}

fn bench_contract(name: &str, codegen: Codegen) -> Vec<u8> {
    let dir = tos_test_harness::fixtures::workspace_root()
        .join("benches/contracts")
        .join(name);
    tos_test_harness::fixtures::build_contract_cached_with(&dir, codegen)
        .unwrap_or_else(|e| panic!("{name} {codegen:?}: {e}"))
}

/// The return data of a successful run under both engines.
fn returned(elf: &[u8], input: &[u8]) -> Vec<u8> {
    let run = run_both(elf, input, 50_000_000, |_, _| {});
    assert!(
        matches!(run.outcome.status, InvokeStatus::Success),
        "{:?}",
        run.outcome.status
    );
    run.outcome.return_data.map(|r| r.data).unwrap_or_default()
}

#[test]
fn compute_contracts_match_native_under_both_codegens() {
    use sha2::Digest;
    for codegen in [Codegen::V2, Codegen::Alu32] {
        // sha256: every padding case (tails of 0..=64 bytes, one or two final blocks).
        let sha = bench_contract("sha256", codegen);
        for len in (0..=130).step_by(5).chain([55, 56, 63, 64, 119, 120]) {
            let message: Vec<u8> = (0..len as u32).map(|i| (i * 131 + 7) as u8).collect();
            let mut want = sha2::Sha256::digest(&message);
            want = sha2::Sha256::digest(want);
            let mut input = 2u64.to_le_bytes().to_vec();
            input.extend_from_slice(&message);
            assert_eq!(
                returned(&sha, &input),
                want.to_vec(),
                "{codegen:?} len {len}"
            );
        }
        // fib: recursion, 64-bit.
        let fib = bench_contract("fib", codegen);
        let mut want = (0u64, 1u64);
        for _ in 0..20 {
            want = (want.1, want.0 + want.1);
        }
        assert_eq!(returned(&fib, &20u64.to_le_bytes()), want.0.to_le_bytes());
        // sort: the contract checks its own order and returns a checksum.
        let sort = bench_contract("sort", codegen);
        let mut input = 300u64.to_le_bytes().to_vec();
        input.extend_from_slice(&0x9E37_79B9_7F4A_7C15u64.to_le_bytes());
        let v2 = returned(&bench_contract("sort", Codegen::V2), &input);
        assert_eq!(returned(&sort, &input), v2, "{codegen:?}");
    }
}
