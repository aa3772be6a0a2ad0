//! Calls per second of block execution through the chain API, with a cold executable cache
//! (a new `Vm` per block: every contract is verified and compiled on its first call) and a warm
//! one, on one thread and on every core.
//!
//! The block: 1000 calls spread over 8 contracts (hello-world, counter-rust, 6 probe variants:
//! storage writes, reads and deletes, events, value sends, payments, a few failures), each
//! contract's calls disjoint from the others' so a parallel run can use every core; plus, warm
//! only, the same number of calls with shared senders and cross-contract calls, whose
//! conflicts force regrouping or sequential execution (no call spins to its compute limit in
//! either block: such calls would dominate the time).
//!
//! `cargo bench --bench chain` (about half a minute). Criterion reports `thrpt` in calls/s.

#[path = "../tests/chain_common/mod.rs"]
mod chain_common;

use std::time::Duration;

use chain_common::{mixed_calls, mixed_calls_with, Universe};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tos_vm::{
    execute_block, replay_block, Block, Engine, MemoryStorage, ReplayOptions, StorageProvider, Vm,
    VmConfig,
};

const CALLS: usize = 1000;

fn config() -> VmConfig {
    VmConfig {
        engine: Engine::Jit,
        ..VmConfig::default()
    }
}

fn chain(c: &mut Criterion) {
    let universe = Universe::new(6);
    let mut base = MemoryStorage::default();
    base.commit(&universe.genesis()).unwrap();
    replay_block(
        &Vm::new(config()),
        &universe.deploy_block(),
        &mut base,
        &ReplayOptions::sequential(),
    )
    .unwrap();
    let context = Block::default().context(base.block_height() + 1);
    let disjoint = mixed_calls(&universe, CALLS, 1, true);
    let conflicting = mixed_calls_with(&universe, CALLS, 2, false, false);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);

    let mut group = c.benchmark_group("chain");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(CALLS as u64));
    for (threads_name, threads) in [("1-thread", 1), ("all-cores", cores)] {
        let options = ReplayOptions {
            threads,
            min_parallel_calls: 8,
        };
        group.bench_function(format!("cold/{threads_name}"), |b| {
            b.iter_batched(
                || Vm::new(config()),
                |vm| {
                    let execution = execute_block(&vm, &context, &disjoint, &base, &options);
                    (vm, execution.unwrap())
                },
                BatchSize::PerIteration,
            )
        });
        let warm = Vm::new(config());
        execute_block(&warm, &context, &disjoint, &base, &options).unwrap();
        execute_block(&warm, &context, &conflicting, &base, &options).unwrap();
        group.bench_function(format!("warm/{threads_name}"), |b| {
            b.iter(|| execute_block(&warm, &context, &disjoint, &base, &options).unwrap())
        });
        group.bench_function(format!("warm-conflicting/{threads_name}"), |b| {
            b.iter(|| execute_block(&warm, &context, &conflicting, &base, &options).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, chain);
criterion_main!(benches);
