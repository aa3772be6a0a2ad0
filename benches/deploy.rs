//! Deploy cost and the executable cache.
//!
//! * `deploy/<contract>`: `executor::load_executable` — tos-vm's validation (`tos_loader::
//!   validate_executable`), solana-sbpf's parse (`Executable::load`) and verifier, and for the
//!   JIT the compilation — for contracts from ~1 KiB to ~200 KiB of ELF. `scripts/bench`
//!   divides by the ELF size (recorded in the facts file) for a cost per KiB.
//! * `deploy-phase/large`: the same steps one by one on the largest contract.
//! * `cache/<contract>`: an invoke whose executable is cached (the normal case) against one
//!   whose cache was just emptied (load + verify + JIT on every call).

mod common;

use common::Clock;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use serde_json::json;
use tos_vm::{
    runtime::{
        executor::{self, TosExecutable},
        solana_sbpf::{elf::Executable, verifier::RequisiteVerifier},
    },
    BlockContext, ContractCall, Engine, MemoryStorage, Vm, VmConfig,
};

/// (name, ELF) of every contract the deploy benches load, smallest first.
fn contracts() -> Vec<(String, Vec<u8>)> {
    let mut list = vec![
        ("noop".to_string(), common::contract_elf("noop")),
        ("sha256".to_string(), common::contract_elf("sha256")),
        (
            "counter-rust".to_string(),
            tos_test_harness::fixtures::example_elf("counter-rust"),
        ),
    ];
    if let Some(token) = common::token_elf() {
        list.push(("token".to_string(), token));
    }
    list.push(("large".to_string(), common::contract_elf("large")));
    list.sort_by_key(|(_, elf)| elf.len());
    list
}

fn deploy(c: &mut Criterion<Clock>) {
    let environment = tos_vm::syscalls::runtime_environment();
    let mut group = c.benchmark_group("deploy");
    for (name, elf) in contracts() {
        common::record_fact(&format!("elf_bytes.{name}"), json!(elf.len()));
        for engine in [Engine::Interpreter, Engine::Jit] {
            let label = common::engine_name(engine);
            group.bench_function(format!("{name}/{label}"), |b| {
                b.iter(|| {
                    executor::load_executable(black_box(&elf), environment.clone(), engine)
                        .expect("load")
                })
            });
        }
    }
    group.finish();
}

fn deploy_phases(c: &mut Criterion<Clock>) {
    let environment = tos_vm::syscalls::runtime_environment();
    let names = executor::syscall_names(&environment);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let elf = common::contract_elf("large");
    let mut group = c.benchmark_group("deploy-phase");
    group.bench_function("large/validate", |b| {
        b.iter(|| tos_vm::loader::validate_executable(black_box(&elf), &names).expect("valid"))
    });
    group.bench_function("large/parse", |b| {
        b.iter(|| TosExecutable::load(black_box(&elf), environment.clone()).expect("load"))
    });
    let loaded = Executable::load(&elf, environment.clone()).expect("load");
    group.bench_function("large/verify", |b| {
        b.iter(|| loaded.verify::<RequisiteVerifier>().expect("verify"))
    });
    group.bench_function("large/jit", |b| {
        b.iter_batched(
            || Executable::load(&elf, environment.clone()).expect("load"),
            |executable| {
                executable.jit_compile().expect("jit");
                executable
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
    let executable = executor::load_executable(&elf, environment, Engine::Jit).expect("load");
    common::record_fact("mem_size.large.jit", json!(executable.mem_size()));
}

fn cache(c: &mut Criterion<Clock>) {
    let block = BlockContext::default();
    let mut group = c.benchmark_group("cache");
    let mut cases = vec![(
        "counter-rust",
        tos_test_harness::fixtures::example_elf("counter-rust"),
        Vec::new(),
    )];
    cases.push(("large", common::contract_elf("large"), common::words(&[7])));
    for (name, elf, input) in cases {
        let vm = Vm::new(VmConfig {
            engine: Engine::Jit,
            compute_budget: common::BIG_BUDGET,
        });
        let mut store = MemoryStorage::default();
        let hash = vm
            .deploy(
                &elf,
                tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(&elf)),
                &mut store,
            )
            .map(|deployed| deployed.contract)
            .expect("deploy");
        let call = ContractCall::new(hash, input);
        assert!(vm
            .execute(&call, &block, &store)
            .expect("execute")
            .status
            .is_success());
        group.bench_function(format!("{name}/warm"), |b| {
            b.iter(|| {
                vm.execute(black_box(&call), &block, &store)
                    .expect("execute")
            })
        });
        group.bench_function(format!("{name}/cold"), |b| {
            b.iter(|| {
                vm.cache().clear();
                vm.execute(black_box(&call), &block, &store)
                    .expect("execute")
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = deploy, deploy_phases, cache
}
criterion_main!(benches);
