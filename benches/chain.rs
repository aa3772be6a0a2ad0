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
//! threads spent per block is printed, split into each worker's share (its thread's CPU
//! clock) and the serial rest: the load-independent part of the comparison. The *critical
//! path* (serial part + the busiest worker's share) is the block's wall time on idle cores,
//! so sequential CPU / critical path of 2 workers is the ratio two idle cores would show.
//! At the end both of the ratios (13, item 7: 2 threads vs 1, >= 1.8x across 4
//! tokens, >= 1.6x within one) are printed: criterion's wall-clock one and the critical-path
//! one, and recorded in `target/tos-bench/facts.json` (`chain.transfers_*`).
//!
//! `TOS_CHAIN_PROFILE=TOKENS:MODE:BLOCKS` (MODE `seq`, `par1`, `par2`, ...) runs only that
//! and exits (`scripts/profile-block` counts its instructions under callgrind).
//!
//! `cargo bench --bench chain` (about a minute; `TOS_BENCH_QUICK=1` shortens it). Criterion
//! reports `thrpt` in calls/s.

#[path = "../tests/chain_common/mod.rs"]
mod chain_common;
mod common;

use std::{
    path::PathBuf,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use chain_common::{mixed_calls, mixed_calls_with, Universe};
use common::{record_fact, thread_cpu_time, token};
use criterion::{criterion_group, BatchSize, Criterion, SamplingMode, Throughput};
use tos_vm::{
    execute_block,
    replay::{execute_block_speculatively, Transaction, WorkerProbe},
    replay_block, Block, ChangeSet, DeployContractPayload, Engine, Hash, MemoryStorage,
    ReplayOptions, StorageProvider, Vm, VmConfig,
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
        self.run(mode, None)
    }

    fn execute_probed(&self, mode: Mode, probe: &WorkerProbe<'_>) -> tos_vm::BlockExecution {
        self.run(mode, Some(probe))
    }

    /// The block, sequentially or on `workers` threads (a probe sees only parallel runs).
    fn run(&self, mode: Mode, probe: Option<&WorkerProbe<'_>>) -> tos_vm::BlockExecution {
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
                probe,
            ),
        };
        execution.unwrap()
    }

    /// Runs `blocks` blocks in `mode` (after one outside the count) and measures, per block,
    /// the CPU time of all threads and of each worker's share: facts that depend far less on
    /// other load than wall-clock ratios. Prints them.
    fn measure(&self, tokens: usize, mode: Mode, blocks: usize) -> Measured {
        let workers = match mode {
            Mode::Sequential => 0,
            Mode::Parallel(workers) => workers,
        };
        let busy: Vec<AtomicU64> = (0..workers).map(|_| AtomicU64::new(0)).collect();
        let probe = |worker: usize, share: &mut dyn FnMut()| {
            let started = thread_cpu_time();
            share();
            let spent = thread_cpu_time().saturating_sub(started);
            busy[worker].fetch_add(spent.as_nanos() as u64, Ordering::Relaxed);
        };
        let first = self.execute_probed(mode, &probe);
        assert_eq!(first.successes(), TRANSFERS);
        for cell in &busy {
            cell.store(0, Ordering::Relaxed);
        }
        let blocks = blocks.max(1);
        let (cpu, started) = (process_cpu(), Instant::now());
        let mut reexecuted = 0;
        for _ in 0..blocks {
            reexecuted += self.execute_probed(mode, &probe).stats.reexecuted;
        }
        let per_block = |total: Duration| total / blocks as u32;
        let measured = Measured {
            cpu: per_block(process_cpu() - cpu),
            wall: per_block(started.elapsed()),
            workers: busy
                .iter()
                .map(|cell| per_block(Duration::from_nanos(cell.load(Ordering::Relaxed))))
                .collect(),
            reexecuted: reexecuted / blocks,
        };
        let shares = measured
            .workers
            .iter()
            .map(|busy| format!("{:.1}", ms(*busy)))
            .collect::<Vec<_>>()
            .join(" + ");
        eprintln!(
            "chain/transfers-{tokens}-token/{}: {:.1} ms CPU (all threads){}, critical path \
             {:.1} ms, {:.1} ms wall per block; {} of {} calls re-executed; load average {}",
            mode.name(),
            ms(measured.cpu),
            if shares.is_empty() {
                String::new()
            } else {
                format!(
                    " = {shares} (workers) + {:.1} (serial)",
                    ms(measured.serial())
                )
            },
            ms(measured.critical_path()),
            ms(measured.wall),
            measured.reexecuted,
            TRANSFERS,
            load_average(),
        );
        measured
    }
}

/// What [`TokenBlock::measure`] found, per block.
struct Measured {
    /// CPU time of every thread of the process (user + system).
    cpu: Duration,
    wall: Duration,
    /// CPU time of each worker's share of the parallel segment (its own thread's clock);
    /// empty for sequential execution.
    workers: Vec<Duration>,
    reexecuted: usize,
}

impl Measured {
    /// CPU time outside the workers' shares: hashes, targets, the block's change set, and
    /// any thread that is not running a share.
    fn serial(&self) -> Duration {
        self.cpu.saturating_sub(self.workers.iter().sum())
    }

    /// The block's wall time on idle cores, one per worker: the serial part plus the
    /// busiest worker's share.
    fn critical_path(&self) -> Duration {
        self.serial() + self.workers.iter().copied().max().unwrap_or_default()
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split(' ')
        .next()
        .unwrap_or("?")
        .to_string()
}

/// The fastest sample's time per iteration of criterion's `chain/<name>`, if this process
/// measured it (a filtered run leaves older results in place).
fn criterion_fastest(name: &str, since: std::time::SystemTime) -> Option<f64> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::root().join("target"));
    // criterion keeps `chain/a/b` in `chain/a_b`.
    let dir = target
        .join("criterion")
        .join("chain")
        .join(name.replace('/', "_"))
        .join("new");
    let path = dir.join("sample.json");
    if std::fs::metadata(&path).ok()?.modified().ok()? < since {
        return None;
    }
    let sample: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let iters = sample["iters"].as_array()?;
    let times = sample["times"].as_array()?;
    iters
        .iter()
        .zip(times)
        .filter_map(|(i, t)| Some(t.as_f64()? / i.as_f64()?))
        .filter(|t| t.is_finite() && *t > 0.0)
        .min_by(f64::total_cmp)
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
    let since = std::time::SystemTime::now();
    let mut summary = Vec::new();
    for tokens in [1, 4] {
        let block = TokenBlock::new(tokens);
        let sequential = block.execute(Mode::Sequential);
        let blocks = if quick() { 3 } else { 8 };
        let mut measured = Vec::new();
        for mode in [Mode::Sequential, Mode::Parallel(1), Mode::Parallel(2)] {
            let execution = block.execute(mode);
            assert!(execution.same_as(&sequential), "{mode:?}");
            measured.push(block.measure(tokens, mode, blocks));
        }
        let [seq, par1, par2] = &measured[..] else {
            unreachable!("three modes measured")
        };
        // Two idle cores run the block in its critical path; one runs it in sequential
        // execution's CPU time.
        let critical_ratio = seq.cpu.as_secs_f64() / par2.critical_path().as_secs_f64();
        let extra_cpu = par2.cpu.as_secs_f64() / par1.cpu.as_secs_f64() - 1.0;
        record_fact(
            &format!("chain.transfers_{tokens}_token.critical_path_ratio"),
            serde_json::json!(critical_ratio),
        );
        record_fact(
            &format!("chain.transfers_{tokens}_token.second_worker_extra_cpu"),
            serde_json::json!(extra_cpu),
        );
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
        let wall_ratio = criterion_fastest(&format!("transfers-{tokens}-token/1-thread"), since)
            .zip(criterion_fastest(
                &format!("transfers-{tokens}-token/2-thread"),
                since,
            ))
            .map(|(one, two)| one / two);
        if let Some(ratio) = wall_ratio {
            record_fact(
                &format!("chain.transfers_{tokens}_token.wall_ratio"),
                serde_json::json!(ratio),
            );
        }
        summary.push((tokens, critical_ratio, extra_cpu, wall_ratio));
    }
    group.finish();
    // The two ratios (13, item 7): 2 threads vs 1, >= 1.8x across 4 tokens and
    // >= 1.6x within one.
    for (tokens, critical_ratio, extra_cpu, wall_ratio) in summary {
        let target = if tokens == 1 { 1.6 } else { 1.8 };
        eprintln!(
            "chain/transfers-{tokens}-token, 2 threads vs 1 (target >= {target}x): {} wall \
             (criterion, fastest samples, load average {}); {critical_ratio:.2}x on 2 idle cores \
             (sequential CPU / critical path of 2 workers); the second worker adds {:+.1}% CPU",
            wall_ratio.map_or("not measured".to_string(), |r| format!("{r:.2}x")),
            load_average(),
            extra_cpu * 100.0,
        );
    }
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
    block.measure(tokens, mode, blocks);
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
