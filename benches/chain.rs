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
//! contract buys (docs/performance.md, "Parallel blocks"). Before them, each token block is
//! run sequentially, on the parallel path with one worker and with two, and the CPU time all
//! threads spent per block is printed: the load-independent part of the comparison.
//!
//! `TOS_CHAIN_PROFILE=TOKENS:MODE:BLOCKS` (MODE `seq`, `par1`, `par2`, ...) runs only that
//! and exits (`scripts/profile-block` counts its instructions under callgrind).
//!
//! `cargo bench --bench chain` (about a minute; `TOS_BENCH_QUICK=1` shortens it). Criterion
//! reports `thrpt` in calls/s.

#[path = "../tests/chain_common/mod.rs"]
mod chain_common;
#[path = "common/token.rs"]
#[allow(dead_code)]
mod token;

use std::time::Duration;

use chain_common::{mixed_calls, mixed_calls_with, Universe};
use criterion::{criterion_group, BatchSize, Criterion, SamplingMode, Throughput};
use tos_vm::{
    execute_block, replay::execute_block_speculatively, replay::Transaction, replay_block, Block,
    ChangeSet, DeployContractPayload, Engine, Hash, MemoryStorage, ReplayOptions, StorageProvider,
    Vm, VmConfig,
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
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(if quick() { 200 } else { 1000 }))
        .measurement_time(Duration::from_millis(if quick() { 1000 } else { 3000 }))
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

/// How a token block is executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `execute_block` on one thread: every call in order, no scheduler.
    Sequential,
    /// The scheduler's parallel path (speculative runs, validation in block order) on this
    /// many workers, 1 included (`execute_block_speculatively`).
    Parallel(usize),
}

impl Mode {
    fn name(self) -> String {
        match self {
            Mode::Sequential => "seq".to_string(),
            Mode::Parallel(workers) => format!("par{workers}"),
        }
    }

    fn parse(text: &str) -> Option<Mode> {
        match text {
            "seq" => Some(Mode::Sequential),
            _ => text
                .strip_prefix("par")?
                .parse()
                .ok()
                .filter(|&n| n > 0)
                .map(Mode::Parallel),
        }
    }
}

/// A block of [`TRANSFERS`] token transfers between disjoint accounts over `tokens` instances
/// of the token, ready to execute.
struct TokenBlock {
    store: MemoryStorage,
    calls: Vec<Transaction>,
    context: tos_vm::BlockContext,
    vm: Vm,
}

impl TokenBlock {
    fn new(tokens: usize) -> TokenBlock {
        let (store, ids) = token_store(tokens);
        let calls = (0..TRANSFERS)
            .map(|i| Transaction::Call {
                sender: payer(i),
                contract: ids[i % tokens].into(),
                input: token::transfer(&token::recipient(i as u64), 1),
                deposits: Default::default(),
                compute_limit: None,
            })
            .collect();
        let context = Block::default().context(store.block_height() + 1);
        TokenBlock {
            store,
            calls,
            context,
            vm: Vm::new(config()),
        }
    }

    fn execute(&self, mode: Mode) -> tos_vm::BlockExecution {
        let execution = match mode {
            Mode::Sequential => execute_block(
                &self.vm,
                &self.context,
                &self.calls,
                &self.store,
                &ReplayOptions::sequential(),
            ),
            Mode::Parallel(workers) => execute_block_speculatively(
                &self.vm,
                &self.context,
                &self.calls,
                &self.store,
                workers,
            ),
        };
        execution.unwrap()
    }

    /// Runs `blocks` blocks in `mode` (after one outside the count) and prints the CPU time
    /// all threads spent per block, the wall time and how many calls ran twice: facts that
    /// depend less on other load than wall-clock ratios.
    fn report(&self, tokens: usize, mode: Mode, blocks: usize) {
        let first = self.execute(mode);
        assert_eq!(first.successes(), TRANSFERS);
        let (cpu, started) = (process_cpu(), std::time::Instant::now());
        let mut reexecuted = 0;
        for _ in 0..blocks {
            reexecuted += self.execute(mode).stats.reexecuted;
        }
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        eprintln!(
            "chain/transfers-{tokens}-token/{}: {:.1} ms CPU (all threads), {:.1} ms wall per \
             block; {} of {} calls re-executed; load average {}",
            mode.name(),
            (process_cpu() - cpu).as_secs_f64() * 1e3 / blocks as f64,
            started.elapsed().as_secs_f64() * 1e3 / blocks as f64,
            reexecuted / blocks.max(1),
            TRANSFERS,
            load.split(' ').next().unwrap_or("?"),
        );
    }
}

fn quick() -> bool {
    std::env::var_os("TOS_BENCH_QUICK").is_some()
}

fn transfers(c: &mut Criterion) {
    let mut group = c.benchmark_group("chain");
    // Flat sampling: 10 samples of equal iteration counts (linear sampling would run a
    // 4,000-call block at least 55 times).
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(if quick() { 200 } else { 1000 }))
        .measurement_time(Duration::from_millis(if quick() { 1000 } else { 5000 }))
        .throughput(Throughput::Elements(TRANSFERS as u64));
    for tokens in [1, 4] {
        let block = TokenBlock::new(tokens);
        let sequential = block.execute(Mode::Sequential);
        for mode in [Mode::Sequential, Mode::Parallel(1), Mode::Parallel(2)] {
            let execution = block.execute(mode);
            assert!(execution.same_as(&sequential), "{mode:?}");
            block.report(tokens, mode, if quick() { 2 } else { 5 });
        }
        for threads in [1, 2] {
            let options = ReplayOptions {
                threads,
                min_parallel_calls: 8,
            };
            group.bench_function(format!("transfers-{tokens}-token/{threads}-thread"), |b| {
                b.iter(|| {
                    execute_block(
                        &block.vm,
                        &block.context,
                        &block.calls,
                        &block.store,
                        &options,
                    )
                    .unwrap()
                })
            });
        }
    }
    group.finish();
}

/// `TOS_CHAIN_PROFILE=TOKENS:MODE:BLOCKS` (MODE: `seq`, `par1`, `par2`, ...): runs BLOCKS
/// token blocks in MODE and exits, for `scripts/profile-block` (callgrind) and CPU-time
/// comparisons; anything else runs the benches.
fn profile(spec: &str) {
    let parts: Vec<&str> = spec.split(':').collect();
    let parsed = match parts[..] {
        [tokens, mode, blocks] => tokens
            .parse::<usize>()
            .ok()
            .filter(|&t| t > 0)
            .zip(Mode::parse(mode))
            .zip(blocks.parse::<usize>().ok()),
        _ => None,
    };
    let Some(((tokens, mode), blocks)) = parsed else {
        eprintln!("TOS_CHAIN_PROFILE={spec}: expected TOKENS:MODE:BLOCKS, MODE seq or parN");
        std::process::exit(2);
    };
    let block = TokenBlock::new(tokens);
    block.report(tokens, mode, blocks);
}

criterion_group!(benches, chain, transfers);

fn main() {
    if let Ok(spec) = std::env::var("TOS_CHAIN_PROFILE") {
        profile(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
