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
//! `chain/transfers-{1,4}-token/{1,2}-thread`: a block of 4,000 token transfers between
//! disjoint accounts (account i pays recipient i), all within ONE token or spread over 4
//! instances of it, on 1 and 2 worker threads, warm cache: what parallel execution within a
//! contract buys (docs/performance.md, "Parallel blocks").
//!
//! `cargo bench --bench chain` (about a minute). Criterion reports `thrpt` in calls/s.

#[path = "../tests/chain_common/mod.rs"]
mod chain_common;
#[path = "common/token.rs"]
#[allow(dead_code)]
mod token;

use std::time::Duration;

use chain_common::{mixed_calls, mixed_calls_with, Universe};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tos_vm::{
    execute_block, replay::Transaction, replay_block, Block, ChangeSet, DeployContractPayload,
    Engine, Hash, MemoryStorage, ReplayOptions, StorageProvider, Vm, VmConfig,
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

/// Transfers in the token blocks.
const TRANSFERS: usize = 4000;

/// The `i`-th paying account of the token blocks (never a recipient).
fn payer(i: usize) -> Hash {
    let mut address = [0x5Au8; 32];
    address[..8].copy_from_slice(&(i as u64).to_le_bytes());
    Hash(address)
}

/// `tokens` instances of the token, each holding a balance for every payer of the block.
fn token_store(tokens: usize) -> (MemoryStorage, Vec<Hash>) {
    let vm = Vm::new(config());
    let mut store = MemoryStorage::default();
    let elf = tos_test_harness::fixtures::example_elf("token");
    let deploys = Block {
        timestamp: 1_700_000_000,
        transactions: (0..tokens)
            .map(|i| Transaction::Deploy {
                sender: Hash([0xD0 + i as u8; 32]),
                payload: DeployContractPayload::with_constructor(
                    elf.clone(),
                    token::init("Bench", "BNCH", 0, 1),
                ),
            })
            .collect(),
    };
    let report = replay_block(&vm, &deploys, &mut store, &ReplayOptions::sequential()).unwrap();
    let ids: Vec<Hash> = report
        .execution
        .transactions
        .iter()
        .map(|tx| tx.contract)
        .collect();
    assert!(report
        .execution
        .transactions
        .iter()
        .all(|tx| tx.status.is_success()));
    let mut balances = ChangeSet::default();
    for i in 0..TRANSFERS {
        let (key, value) = token::balance_entry(&payer(i).0, 1_000);
        balances.set_storage(ids[i % tokens], key, Some(value));
    }
    let height = store.block_height() + 1;
    store.commit_block(height, &balances).unwrap();
    (store, ids)
}

/// CPU time of the whole process (every thread), user + system.
fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn transfers(c: &mut Criterion) {
    let mut group = c.benchmark_group("chain");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(TRANSFERS as u64));
    for tokens in [1, 4] {
        let (store, ids) = token_store(tokens);
        let calls: Vec<Transaction> = (0..TRANSFERS)
            .map(|i| Transaction::Call {
                sender: payer(i),
                contract: ids[i % tokens].into(),
                input: token::transfer(&token::recipient(i as u64), 1),
                deposits: Default::default(),
                compute_limit: None,
            })
            .collect();
        let context = Block::default().context(store.block_height() + 1);
        let vm = Vm::new(config());
        for threads in [1, 2] {
            let options = ReplayOptions {
                threads,
                min_parallel_calls: 8,
            };
            let execution = execute_block(&vm, &context, &calls, &store, &options).unwrap();
            assert_eq!(execution.successes(), TRANSFERS);
            // Less dependent on other load than the wall time: how many calls ran twice (0 when
            // the accounts are disjoint) and the CPU time all threads spent per block.
            let (cpu, started) = (process_cpu(), std::time::Instant::now());
            for _ in 0..5 {
                execute_block(&vm, &context, &calls, &store, &options).unwrap();
            }
            eprintln!(
                "chain/transfers-{tokens}-token/{threads}-thread: {} of {} calls re-executed; \
                 {:.1} ms CPU, {:.1} ms wall per block",
                execution.stats.reexecuted,
                TRANSFERS,
                (process_cpu() - cpu).as_secs_f64() * 1e3 / 5.0,
                started.elapsed().as_secs_f64() * 1e3 / 5.0
            );
            group.bench_function(format!("transfers-{tokens}-token/{threads}-thread"), |b| {
                b.iter(|| execute_block(&vm, &context, &calls, &store, &options).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, chain, transfers);
criterion_main!(benches);
