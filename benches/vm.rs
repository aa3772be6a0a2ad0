//! Engine overhead and raw speed.
//!
//! * `overhead`: one invoke of the `noop` contract through bare solana-sbpf (same ELF, config
//!   and memory layout, no tos-vm around it), through tos-vm's runtime (`executor::execute`
//!   with an `InvokeContext` and a journal), and through the whole `Vm::execute` /
//!   `Vm::invoke` path (code read, cache lookup, context, journal, outcome, commit).
//! * `syscall`: the `syscalls` contract calling one syscall 10 000 times (and 0 times, the
//!   baseline) — bare no-op syscall vs tos-vm's `tos_get_block_height`, `tos_storage_read`,
//!   `tos_storage_write`.
//! * `compute/{fib,sha256,sort}`: compute-heavy contracts under the interpreter and the JIT,
//!   bare and through tos-vm, and their native Rust twins (`common::native`). Outputs are
//!   asserted equal before timing.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use serde_json::json;
use tos_vm::{
    runtime::{executor, InvokeContext, TransactionContext},
    storage::Journal,
    BlockContext, ContractCall, Engine, Hash, InvokeOutcome, MemoryStorage, Vm, VmConfig,
};

use common::{native, words, Bare, Clock, Tuning, BIG_BUDGET};

const ENGINES: [Engine; 2] = [Engine::Interpreter, Engine::Jit];

/// A VM with `elf` deployed into a fresh memory store.
fn deployed(elf: &[u8], engine: Engine) -> (Vm, MemoryStorage, Hash) {
    let vm = Vm::new(VmConfig {
        engine,
        compute_budget: BIG_BUDGET,
    });
    let mut store = MemoryStorage::default();
    let hash = vm
        .deploy(
            elf,
            tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(elf)),
            &mut store,
        )
        .map(|deployed| deployed.contract)
        .expect("deploy");
    (vm, store, hash)
}

fn return_data(outcome: &InvokeOutcome) -> Vec<u8> {
    assert!(outcome.status.is_success(), "{:?}", outcome.status);
    outcome
        .return_data
        .as_ref()
        .map(|r| r.data.clone())
        .unwrap_or_default()
}

fn overhead(c: &mut Criterion<Clock>) {
    let elf = common::contract_elf("noop");
    let block = BlockContext::default();
    let mut group = c.benchmark_group("overhead");
    for engine in ENGINES {
        let name = common::engine_name(engine);
        let bare = Bare::load(&elf, engine);
        assert_eq!(bare.run(b"").result, Ok(0));
        group.bench_function(format!("bare-{name}"), |b| {
            b.iter(|| bare.run(black_box(b"")))
        });
        // The fixes measured before they are made (see common::Tuning, docs/performance.md).
        let tunings: &[(&str, Tuning)] = match engine {
            Engine::Jit => &[
                (
                    "aligned",
                    Tuning {
                        aligned: true,
                        pooled: false,
                    },
                ),
                (
                    "pooled",
                    Tuning {
                        aligned: false,
                        pooled: true,
                    },
                ),
                ("tuned", Tuning::TUNED),
            ],
            Engine::Interpreter => &[("tuned", Tuning::TUNED)],
        };
        for &(label, tuning) in tunings {
            let tuned = Bare::load_tuned(&elf, engine, tuning);
            assert_eq!(tuned.run(b"").result, Ok(0));
            group.bench_function(format!("bare-{name}-{label}"), |b| {
                b.iter(|| tuned.run(black_box(b"")))
            });
        }

        // tos-vm's runtime alone: InvokeContext + journal + executor, no store or cache.
        let environment = tos_vm::syscalls::runtime_environment();
        let executable = executor::load_executable(&elf, environment, engine).expect("load");
        let storage = MemoryStorage::default();
        let transaction = TransactionContext::default();
        group.bench_function(format!("runtime-{name}"), |b| {
            b.iter(|| {
                let mut context = InvokeContext::new(
                    Journal::new(&storage),
                    &block,
                    &transaction,
                    Hash([1; 32]),
                    BIG_BUDGET,
                );
                let outcome = executor::execute(&executable, black_box(b""), &mut context, engine);
                assert!(matches!(outcome.result, Ok(0)));
                context.finish()
            })
        });

        let (vm, mut store, hash) = deployed(&elf, engine);
        let call = ContractCall::new(hash, Vec::new());
        group.bench_function(format!("vm-execute-{name}"), |b| {
            b.iter(|| {
                vm.execute(black_box(&call), &block, &store)
                    .expect("execute")
            })
        });
        group.bench_function(format!("vm-invoke-{name}"), |b| {
            b.iter(|| {
                vm.invoke(black_box(&call), &block, &mut store)
                    .expect("invoke")
            })
        });
    }
    group.finish();
}

/// Syscalls per run in the `syscall` group.
const SYSCALLS_PER_RUN: u64 = 10_000;

fn syscall(c: &mut Criterion<Clock>) {
    let elf = common::contract_elf("syscalls");
    let block = BlockContext {
        height: 7,
        ..BlockContext::default()
    };
    let mut group = c.benchmark_group("syscall");
    let bare = Bare::load(&elf, Engine::Jit);
    let (vm, mut store, hash) = deployed(&elf, Engine::Jit);
    store.set_storage(hash, b"k", Some(&[9u8; 8]));
    for n in [0, SYSCALLS_PER_RUN] {
        let input = words(&[0, n]);
        let run = bare.run(&input);
        assert_eq!(run.result, Ok(0));
        group.bench_function(format!("bare-jit-nop/{n}"), |b| {
            b.iter(|| bare.run(black_box(&input)))
        });
        for (op, name) in [(0u64, "height"), (1, "storage_read"), (2, "storage_write")] {
            let call = ContractCall::new(hash, words(&[op, n]));
            let outcome = vm.execute(&call, &block, &store).expect("execute");
            let sum = u64::from_le_bytes(return_data(&outcome).try_into().unwrap());
            let expected = match op {
                0 => 7 * n,
                1 => 8 * n,
                _ => 0,
            };
            assert_eq!(sum, expected, "{name}");
            group.bench_function(format!("tos-jit-{name}/{n}"), |b| {
                b.iter(|| {
                    vm.execute(black_box(&call), &block, &store)
                        .expect("execute")
                })
            });
        }
    }
    group.finish();
    common::record_fact("syscall.per_run", json!(SYSCALLS_PER_RUN));
}

/// One compute contract: its input and the bytes its run must return.
struct ComputeCase {
    name: &'static str,
    input: Vec<u8>,
    native: Box<dyn Fn() -> Vec<u8>>,
    /// Another input computing the same result through a syscall (`tos-jit-syscall`).
    syscall_input: Option<Vec<u8>>,
}

/// `benches/contracts/sha256`: this bit of `rounds` routes every hash to `tos_sha256`.
const SHA_SYSCALL_FLAG: u64 = 1 << 63;

fn compute_cases() -> Vec<ComputeCase> {
    const FIB_N: u64 = 24;
    const SHA_ROUNDS: u64 = 64;
    const SORT_N: usize = 4096;
    const SORT_SEED: u64 = 0x9E37_79B9_7F4A_7C15;
    let message: Vec<u8> = (0..1024u32).map(|i| (i * 31 + 7) as u8).collect();
    let mut sha_input = words(&[SHA_ROUNDS]);
    sha_input.extend_from_slice(&message);
    let mut sha_syscall_input = words(&[SHA_ROUNDS | SHA_SYSCALL_FLAG]);
    sha_syscall_input.extend_from_slice(&message);
    // The scalar twin agrees with a reference implementation.
    {
        use sha2::Digest;
        assert_eq!(
            native::sha256(&message).as_slice(),
            sha2::Sha256::digest(&message).as_slice()
        );
    }
    vec![
        ComputeCase {
            name: "fib",
            input: words(&[FIB_N]),
            native: Box::new(|| native::fib(black_box(FIB_N)).to_le_bytes().to_vec()),
            syscall_input: None,
        },
        ComputeCase {
            name: "sha256",
            input: sha_input,
            native: Box::new(move || {
                native::sha256_chain(SHA_ROUNDS, black_box(&message)).to_vec()
            }),
            syscall_input: Some(sha_syscall_input),
        },
        ComputeCase {
            name: "sort",
            input: words(&[SORT_N as u64, SORT_SEED]),
            native: Box::new(|| {
                let mut buffer = vec![0u64; SORT_N];
                native::sort(SORT_N, black_box(SORT_SEED), &mut buffer)
                    .expect("sorted")
                    .to_le_bytes()
                    .to_vec()
            }),
            syscall_input: None,
        },
    ]
}

fn compute(c: &mut Criterion<Clock>) {
    let block = BlockContext::default();
    for case in compute_cases() {
        let elf = common::contract_elf(case.name);
        let expected = (case.native)();
        let mut group = c.benchmark_group(format!("compute/{}", case.name));
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function("native", |b| b.iter(&case.native));
        for engine in ENGINES {
            let name = common::engine_name(engine);
            let bare = Bare::load(&elf, engine);
            let run = bare.run(&case.input);
            assert_eq!(run.result, Ok(0), "{} bare {name}", case.name);
            assert_eq!(run.return_data, expected, "{} bare {name}", case.name);
            group.bench_function(format!("bare-{name}"), |b| {
                b.iter(|| bare.run(black_box(&case.input)))
            });
            let tuned = Bare::load_tuned(&elf, engine, Tuning::TUNED);
            for _ in 0..2 {
                // Twice: the second run reuses the pooled memory the first one dirtied.
                let run = tuned.run(&case.input);
                assert_eq!(run.result, Ok(0), "{} tuned {name}", case.name);
                assert_eq!(run.return_data, expected, "{} tuned {name}", case.name);
            }
            group.bench_function(format!("bare-{name}-tuned"), |b| {
                b.iter(|| tuned.run(black_box(&case.input)))
            });

            let (vm, store, hash) = deployed(&elf, engine);
            let call = ContractCall::new(hash, case.input.clone());
            let outcome = vm.execute(&call, &block, &store).expect("execute");
            assert_eq!(return_data(&outcome), expected, "{} tos {name}", case.name);
            common::record_fact(
                &format!("compute.{}.instructions", case.name),
                json!(run.instructions),
            );
            common::record_fact(
                &format!("compute.{}.compute_units", case.name),
                json!(outcome.compute_used),
            );
            group.bench_function(format!("tos-{name}"), |b| {
                b.iter(|| {
                    vm.execute(black_box(&call), &block, &store)
                        .expect("execute")
                })
            });
            if let (Some(input), Engine::Jit) = (&case.syscall_input, engine) {
                let call = ContractCall::new(hash, input.clone());
                let outcome = vm.execute(&call, &block, &store).expect("execute");
                assert_eq!(return_data(&outcome), expected, "{} syscall", case.name);
                common::record_fact(
                    &format!("compute.{}.syscall_compute_units", case.name),
                    json!(outcome.compute_used),
                );
                group.bench_function("tos-jit-syscall", |b| {
                    b.iter(|| {
                        vm.execute(black_box(&call), &block, &store)
                            .expect("execute")
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = overhead, syscall, compute
}
criterion_main!(benches);
