//! Random argument tuples against every syscall, from real BPF code, on stable Rust.
//!
//! The probe contract (`tests/contracts/probe`) runs a script of syscalls given in its input.
//! Scripts of one to eight random syscalls are generated with arguments drawn from pointers
//! into its stack buffer (in and out of bounds), into its input, region boundaries, NULL,
//! unmapped and wrapping addresses, lengths at and around every limit, and huge values;
//! `tos_invoke` calls a second probe with a random script of its own. Each script runs under
//! the interpreter and the JIT from identical stores. Required: no panic; both engines agree
//! on the whole outcome and the final state; a failed call leaves the store unchanged; a
//! successful one writes only its contracts' storage and creates no native value.
//!
//! Bounds: `TOS_FUZZ_SECONDS` (default 10), `TOS_FUZZ_ITERATIONS`, `TOS_FUZZ_SEED`. Corpus:
//! `tests/corpus/syscalls/` (each file is a probe input).

mod common;
#[path = "hostile/support.rs"]
mod support;

use std::sync::{
    atomic::{AtomicU64, Ordering},
    OnceLock,
};

use common::{op, Arg, Data, Scratch, Script, Value};
use support::{block, call, fuzz, memory_snapshot, result_fingerprint, Rng};
use tos_vm::{Engine, Hash, InvokeStatus, MemoryStorage, Vm, NATIVE_ASSET};

const DEFAULT_SECONDS: f64 = 10.0;
const BUDGET: u64 = 300_000;
const RECIPIENT: Hash = Hash([0xAA; 32]);

/// The probe's syscall commands (op code, number of arguments it reads).
const OPS: &[(u8, usize)] = &[
    (op::LOG, 2),
    (op::PANIC, 2),
    (op::BLOCK_HASH, 1),
    (op::BLOCK_HEIGHT, 0),
    (op::TX_HASH, 1),
    (op::TX_SENDER, 1),
    (op::CONTRACT_HASH, 1),
    (op::GET_BALANCE, 1),
    (op::TRANSFER, 2),
    (op::STORAGE_READ, 4),
    (op::STORAGE_WRITE, 4),
    (op::STORAGE_DELETE, 2),
    (op::MEMCPY, 3),
    (op::MEMMOVE, 3),
    (op::MEMSET, 3),
    (op::MEMCMP, 3),
    (op::INVOKE, 4),
    (op::SET_RETURN_DATA, 2),
    (op::GET_RETURN_DATA, 3),
    (op::EMIT_EVENT, 4),
    (op::SHA256, 3),
    (op::KECCAK256, 3),
    (op::BLAKE3, 3),
    (op::ED25519_VERIFY, 4),
    (op::BLOCK_TIMESTAMP, 0),
    (op::CALLER, 1),
    (op::CALL_DEPTH, 0),
    (op::CALL_VALUE, 0),
    (op::SELF_BALANCE, 0),
];

/// How often each syscall was called by a generated script.
static CALLS: [AtomicU64; 30] = [const { AtomicU64::new(0) }; 30];

struct World {
    vm: Vm,
    store: MemoryStorage,
    contracts: [Hash; 2],
}

fn worlds() -> &'static [World; 2] {
    static WORLDS: OnceLock<[World; 2]> = OnceLock::new();
    WORLDS.get_or_init(|| {
        let elfs = [support::probe_variant_elf(1), support::probe_variant_elf(2)];
        [Engine::Interpreter, Engine::Jit].map(|engine| {
            let vm = support::vm(engine, BUDGET);
            let mut store = MemoryStorage::default();
            let contracts = [
                vm.deploy(
                    &elfs[0],
                    tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(&elfs[0])),
                    &mut store,
                )
                .map(|deployed| deployed.contract)
                .unwrap(),
                vm.deploy(
                    &elfs[1],
                    tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(&elfs[1])),
                    &mut store,
                )
                .map(|deployed| deployed.contract)
                .unwrap(),
            ];
            for contract in contracts {
                store.set_balance(contract, NATIVE_ASSET, 1_000_000);
                for key in [&b"k"[..], b"key", &[0u8; 32]] {
                    store.set_storage(contract, key, Some(b"a stored value"));
                }
            }
            store.set_balance(support::SENDER, NATIVE_ASSET, 1_000);
            store.set_balance(RECIPIENT, NATIVE_ASSET, u64::MAX - 10);
            World {
                vm,
                store,
                contracts,
            }
        })
    })
}

/// A random argument: half of the time a plausible one (a pointer into the stack buffer or the
/// input data, a small length), else a hostile one (buffer edges, region boundaries, NULL,
/// unmapped or wrapping addresses, lengths around the limits, huge values).
fn argument(rng: &mut Rng, data_len: usize) -> Arg {
    match rng.below(10) {
        0..=2 => Scratch(rng.below(480) as u16),
        3 if data_len > 0 => Data(rng.index(data_len)),
        3..=4 => Value(rng.below(64)),
        5 => Scratch(if rng.chance(1, 2) {
            512 - rng.below(40) as u16
        } else {
            0xFFF0
        }),
        _ => Value(rng.interesting_u64()),
    }
}

/// A script of 1..=max random syscalls; `callee` is a contract it may call.
fn script(rng: &mut Rng, max: usize, callee: &Hash, depth: usize) -> Vec<u8> {
    let mut script = Script::new();
    // Data the arguments may point at: random bytes, contract and account hashes, a slice
    // table over the data, a nested script.
    let blob_len = rng.index(300);
    let blob = rng.bytes(blob_len);
    let _ = script.data(&blob);
    let callee_at = script.data(&callee.0);
    let _ = script.data(&RECIPIENT.0);
    let nested = if depth < 2 && rng.chance(1, 2) {
        script_bytes(rng, 4, callee, depth + 1)
    } else {
        Vec::new()
    };
    let nested_at = script.data(&nested);
    let data_len = blob_len + 64 + nested.len();
    for _ in 0..1 + rng.index(max) {
        let (code, arity) = *rng.pick(OPS);
        CALLS[code as usize % 30].fetch_add(1, Ordering::Relaxed);
        let mut args: Vec<Arg> = (0..arity).map(|_| argument(rng, data_len)).collect();
        if code == op::INVOKE && rng.chance(3, 4) {
            args[0] = callee_at;
            args[1] = nested_at;
            args[2] = Value(nested.len() as u64);
            args[3] = Value(*rng.pick(&[0, 0, 1, 1_000, u64::MAX]));
        }
        if matches!(code, op::SHA256 | op::KECCAK256 | op::BLAKE3) && rng.chance(1, 2) {
            // A well-formed slice table at scratch[256..]: one or two slices.
            script = script
                .call(op::STORE_ADDRESS, &[Value(256), Value(0x4_0000_0000)])
                .call(op::STORE_ADDRESS, &[Value(264), Value(rng.below(200))]);
            args = vec![Scratch(256), Value(1 + rng.below(2)), Scratch(0)];
        }
        script = script.call(code, &args);
    }
    if rng.chance(1, 200) {
        script = script.call(op::SPIN, &[]);
    }
    script.build(if rng.chance(1, 8) { rng.below(3) } else { 0 })
}

fn script_bytes(rng: &mut Rng, max: usize, callee: &Hash, depth: usize) -> Vec<u8> {
    script(rng, max, callee, depth)
}

fn exec(input: &[u8]) -> Result<String, String> {
    let mut runs = Vec::new();
    let mut class = String::new();
    for world in worlds() {
        let mut store = world.store.clone();
        let supply = store.total_supply(&NATIVE_ASSET);
        let result = world
            .vm
            .invoke(&call(world.contracts[0], input, 0), &block(), &mut store);
        let outcome = result.as_ref().map_err(|e| format!("invoke error {e:?}"))?;
        if outcome.compute_used > BUDGET {
            return Err(format!("compute {} over the budget", outcome.compute_used));
        }
        match &outcome.status {
            InvokeStatus::Success => {
                if store.total_supply(&NATIVE_ASSET) != supply {
                    return Err("the total supply changed".to_string());
                }
                for (owner, _) in outcome.changes.storage.keys() {
                    if !world.contracts.contains(owner) {
                        return Err(format!("wrote the storage of {owner}"));
                    }
                }
                class = format!("success, {} changes", outcome.changes.len().min(3));
            }
            other => {
                if store != world.store {
                    return Err(format!(
                        "a failed call changed the store ({other:?}):\n{}",
                        memory_snapshot(&store)
                    ));
                }
                class = match other {
                    InvokeStatus::Failed { .. } => "failed".to_string(),
                    _ => format!("{other:?}")
                        .split(['(', '{', '"'])
                        .take(3)
                        .collect::<Vec<_>>()
                        .join("("),
                };
            }
        }
        runs.push((result_fingerprint(&result), memory_snapshot(&store)));
    }
    if runs[0] != runs[1] {
        return Err(format!(
            "engines disagree:\n--- interpreter\n{}\n{}\n--- jit\n{}\n{}",
            runs[0].0, runs[0].1, runs[1].0, runs[1].1
        ));
    }
    Ok(class)
}

#[test]
fn fuzz_syscall_arguments() {
    let callee = worlds()[0].contracts[1];
    let mut rng = Rng::new(3);
    let seeds = (0..8).map(|_| script(&mut rng, 8, &callee, 0)).collect();
    let stats = fuzz::run(
        "syscalls",
        DEFAULT_SECONDS,
        seeds,
        |rng, pool| {
            if rng.chance(3, 4) {
                script(rng, 8, &callee, 0)
            } else {
                let base = rng.pick(pool).clone();
                let other = rng.pick(pool).clone();
                fuzz::mutate_bytes(rng, &base, &other)
            }
        },
        exec,
    );
    let per_syscall: Vec<String> = OPS
        .iter()
        .map(|(code, _)| {
            format!(
                "{}:{}",
                code,
                CALLS[*code as usize % 30].load(Ordering::Relaxed)
            )
        })
        .collect();
    eprintln!("calls per probe op: {}", per_syscall.join(" "));
    fuzz::assert_clean(&stats);
}
