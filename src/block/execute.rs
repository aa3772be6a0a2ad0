//! Executing a block: transaction by transaction over a [`PendingState`], with segments of
//! calls handed to the parallel scheduler (`schedule.rs`) when threads are allowed.

use std::time::{Duration, Instant};

use tos_program_runtime::{BlockContext, TransactionContext};
use tos_storage::{ChangeSet, Hash, StateGrowth, StorageError, StorageProvider};

use super::{
    hash::transaction_hash,
    pool::in_shares,
    receipt::{BlockExecution, ExecutionStats, TxOutcome, TxStatus},
    schedule::run_parallel,
    types::{CallTarget, Transaction},
};
use crate::{
    error::VmError,
    payload::DeployError,
    pending::PendingState,
    vm::{deploy_address, ContractCall, Vm},
};

/// How to execute a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Worker threads for segments of calls, the calling thread included (at most 64; the
    /// others are kept across blocks); 1 executes everything sequentially.
    pub threads: usize,
    /// Segments with fewer calls run sequentially (threads cost more than they save).
    pub min_parallel_calls: usize,
}

impl ReplayOptions {
    /// Everything in order, on the calling thread.
    pub fn sequential() -> Self {
        ReplayOptions {
            threads: 1,
            ..ReplayOptions::default()
        }
    }

    /// Up to `threads` workers.
    pub fn parallel(threads: usize) -> Self {
        ReplayOptions {
            threads: threads.max(1),
            ..ReplayOptions::default()
        }
    }
}

impl Default for ReplayOptions {
    /// One worker per available core.
    fn default() -> Self {
        ReplayOptions {
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            min_parallel_calls: 8,
        }
    }
}

/// Executes `transactions` in the block `context` against `state` without writing to it.
///
/// Each transaction sees the effects of the ones before it. Failed transactions have no
/// effects and do not stop the block; a failure of the store itself (I/O, corruption) does,
/// with `Err`. With `options.threads > 1`, calls that touch disjoint state (storage keys,
/// balances) run in parallel, within one contract too (see `schedule.rs`); the result is
/// the same as with one thread.
///
/// Transaction hashes are derived with [`transaction_hash`]; a chain with its own hashes calls
/// [`execute_block_with_hashes`].
pub fn execute_block<S: StorageProvider + Sync + ?Sized>(
    vm: &Vm,
    context: &BlockContext,
    transactions: &[Transaction],
    state: &S,
    options: &ReplayOptions,
) -> Result<BlockExecution, StorageError> {
    let mode = Mode::of(options);
    let hashes = transaction_hashes(context, transactions, mode);
    execute_hashed(vm, context, transactions, &hashes, state, mode)
}

/// Each transaction's hash in the block (its identity in receipts and contract addresses).
/// Each hash depends on its transaction alone: when `mode` runs the block in parallel, the
/// workers hash a share each (a blake3 of each encoded transaction, ~7% of a block of token
/// transfers, would otherwise be serial work before any call can run).
fn transaction_hashes(
    context: &BlockContext,
    transactions: &[Transaction],
    mode: Mode<'_>,
) -> Vec<Hash> {
    let workers = if mode.parallel(transactions.len()) {
        mode.threads
    } else {
        1
    };
    let mut hashes = vec![Hash::default(); transactions.len()];
    in_shares(&mut hashes, workers, mode.probe, |first, share| {
        for (offset, hash) in share.iter_mut().enumerate() {
            let index = first + offset;
            *hash = transaction_hash(&context.hash, index, &transactions[index]);
        }
    });
    hashes
}

/// Runs a share of a block's work on a worker (hidden: benchmarks time each worker's CPU with
/// it): each worker's share of a parallel segment's calls, and of the block's transaction
/// hashes. Called on the worker's thread with the worker's number (0: the calling thread) and
/// the share, which it must run exactly once.
#[doc(hidden)]
pub type WorkerProbe<'a> = dyn Fn(usize, &mut dyn FnMut()) + Sync + 'a;

/// [`execute_block`] with every segment of calls on the parallel path (speculative runs
/// validated in block order, `schedule.rs`) on exactly `workers` threads, 1 included, however
/// short the segment, each worker's share run through `probe` if given: for benchmarks that
/// measure the scheduler's own cost against sequential execution. The result is that of
/// sequential execution.
#[doc(hidden)]
pub fn execute_block_speculatively<S: StorageProvider + Sync + ?Sized>(
    vm: &Vm,
    context: &BlockContext,
    transactions: &[Transaction],
    state: &S,
    workers: usize,
    probe: Option<&WorkerProbe<'_>>,
) -> Result<BlockExecution, StorageError> {
    let mode = Mode {
        threads: workers.max(1),
        min_parallel_calls: 1,
        always_parallel: true,
        probe,
    };
    let hashes = transaction_hashes(context, transactions, mode);
    execute_hashed(vm, context, transactions, &hashes, state, mode)
}

/// How [`execute_hashed`] runs segments of calls.
#[derive(Clone, Copy)]
struct Mode<'p> {
    threads: usize,
    min_parallel_calls: usize,
    /// The parallel path even on one thread (benchmarks).
    always_parallel: bool,
    /// What each worker runs its share through (benchmarks).
    probe: Option<&'p WorkerProbe<'p>>,
}

impl Mode<'_> {
    fn of(options: &ReplayOptions) -> Mode<'static> {
        Mode {
            threads: options.threads.max(1),
            min_parallel_calls: options.min_parallel_calls.max(2),
            always_parallel: false,
            probe: None,
        }
    }

    fn parallel(&self, calls: usize) -> bool {
        (self.threads > 1 || self.always_parallel) && calls >= self.min_parallel_calls
    }
}

/// [`execute_block`] with the chain's own transaction hashes (what `tos_get_tx_hash` returns),
/// one per transaction.
///
/// `Err(VmError::TransactionHashCount)` if `hashes` and `transactions` differ in length (nothing
/// runs), `Err(VmError::Storage)` when the store fails.
pub fn execute_block_with_hashes<S: StorageProvider + Sync + ?Sized>(
    vm: &Vm,
    context: &BlockContext,
    transactions: &[Transaction],
    hashes: &[Hash],
    state: &S,
    options: &ReplayOptions,
) -> Result<BlockExecution, VmError> {
    if transactions.len() != hashes.len() {
        return Err(VmError::TransactionHashCount {
            transactions: transactions.len(),
            hashes: hashes.len(),
        });
    }
    Ok(execute_hashed(
        vm,
        context,
        transactions,
        hashes,
        state,
        Mode::of(options),
    )?)
}

/// [`execute_block_with_hashes`] once `hashes` has one hash per transaction.
fn execute_hashed<S: StorageProvider + Sync + ?Sized>(
    vm: &Vm,
    context: &BlockContext,
    transactions: &[Transaction],
    hashes: &[Hash],
    state: &S,
    mode: Mode<'_>,
) -> Result<BlockExecution, StorageError> {
    let targets = resolve_targets(transactions, hashes);
    let batch = Batch {
        context,
        transactions,
        hashes,
        targets: &targets,
    };
    let started = Instant::now();
    let threads = mode.threads;
    let mut pending = PendingState::new(state);
    let mut outcomes = Vec::with_capacity(transactions.len());
    let mut stats = ExecutionStats {
        threads,
        ..ExecutionStats::default()
    };
    let mut start = 0;
    while start < transactions.len() {
        if let Transaction::Deploy { .. } = transactions[start] {
            outcomes.push(run_transaction(vm, batch, start, &mut pending)?);
            start += 1;
            continue;
        }
        let calls = transactions[start..]
            .iter()
            .take_while(|tx| matches!(tx, Transaction::Call { .. }))
            .count();
        let segment = start..start + calls;
        stats.segments += 1;
        if mode.parallel(calls) {
            let run = run_parallel(vm, batch, segment, &pending, threads, mode.probe)?;
            stats.parallel_segments += 1;
            stats.parallel_calls += calls;
            stats.reexecuted += run.reexecuted;
            pending.commit_detached(run.changes);
            if outcomes.is_empty() {
                // A block of calls only: its outcomes are the segment's (no copy of ~400
                // bytes per call).
                outcomes = run.outcomes;
            } else {
                outcomes.extend(run.outcomes);
            }
        } else {
            for index in segment {
                outcomes.push(run_transaction(vm, batch, index, &mut pending)?);
            }
        }
        start += calls;
    }
    let changes = if stats.parallel_segments > 0 {
        // The storage keys sorted a share per worker; `BTreeMap::from_iter` merges the runs.
        pending.into_changes_sorted_by(|entries| {
            in_shares(entries, threads, mode.probe, |_, share| {
                share.sort_unstable_by(|a, b| a.0.cmp(&b.0))
            })
        })
    } else {
        pending.into_changes()
    };
    Ok(BlockExecution {
        context: context.clone(),
        transactions: outcomes,
        changes,
        stats,
        elapsed: started.elapsed(),
    })
}

/// The transactions of a block being executed, with their hashes and contracts.
#[derive(Clone, Copy)]
pub(super) struct Batch<'a> {
    pub(super) context: &'a BlockContext,
    pub(super) transactions: &'a [Transaction],
    pub(super) hashes: &'a [Hash],
    /// Per transaction: the contract a deploy creates or a call calls; `Err` for a call whose
    /// [`CallTarget::DeployedBy`] names no earlier deploy.
    pub(super) targets: &'a [Result<Hash, String>],
}

/// The contract of every transaction: a deploy's new address ([`deploy_address`] of its
/// sender and hash), a call's address or the address of the deploy it names.
fn resolve_targets(transactions: &[Transaction], hashes: &[Hash]) -> Vec<Result<Hash, String>> {
    let deployed = |index: usize| match transactions.get(index) {
        Some(Transaction::Deploy { sender, .. }) => Some(deploy_address(sender, &hashes[index])),
        _ => None,
    };
    transactions
        .iter()
        .enumerate()
        .map(|(index, transaction)| match transaction {
            Transaction::Deploy { .. } => Ok(deploy_address(&transaction.sender(), &hashes[index])),
            Transaction::Call { contract, .. } => match *contract {
                CallTarget::Address(address) => Ok(address),
                CallTarget::DeployedBy(deploy) => usize::try_from(deploy)
                    .ok()
                    .filter(|&deploy| deploy < index)
                    .and_then(deployed)
                    .ok_or_else(|| {
                        format!("`deployed_by` {deploy} is not an earlier deploy of this block")
                    }),
            },
        })
        .collect()
}

/// Executes transaction `index` against `state`, committing its effects there if it succeeds.
pub(super) fn run_transaction(
    vm: &Vm,
    batch: Batch<'_>,
    index: usize,
    state: &mut dyn StorageProvider,
) -> Result<TxOutcome, StorageError> {
    let started = Instant::now();
    let context = batch.context;
    let transaction = &batch.transactions[index];
    let hash = batch.hashes[index];
    let target = batch.targets[index].clone();
    let mut outcome = TxOutcome {
        index,
        hash,
        kind: transaction.kind(),
        sender: transaction.sender(),
        contract: target.clone().unwrap_or_default(),
        deposits: transaction.deposits(),
        status: TxStatus::Success,
        compute_used: 0,
        deploy_units: 0,
        logs: Vec::new(),
        events: Vec::new(),
        return_data: None,
        changes: ChangeSet::default(),
        growth: StateGrowth::default(),
        elapsed: Duration::ZERO,
    };
    match transaction {
        Transaction::Call {
            sender,
            input,
            deposits,
            compute_limit,
            ..
        } => {
            let contract = match target {
                Ok(contract) => contract,
                Err(error) => {
                    outcome.status = TxStatus::Rejected { error };
                    outcome.elapsed = started.elapsed();
                    return Ok(outcome);
                }
            };
            let call = ContractCall {
                contract,
                input: input.clone(),
                sender: *sender,
                tx_hash: hash,
                deposits: deposits.clone(),
                compute_limit: *compute_limit,
                created_bytes_limit: None,
            };
            match vm.invoke(&call, context, state) {
                Ok(invoke) => {
                    outcome.status = TxStatus::from_invoke(invoke.status)?;
                    outcome.compute_used = invoke.compute_used;
                    outcome.logs = invoke.logs;
                    outcome.events = invoke.events;
                    outcome.return_data = invoke.return_data;
                    outcome.changes = invoke.changes;
                    outcome.growth = invoke.growth;
                }
                Err(error) => outcome.status = TxStatus::rejected(error)?,
            }
        }
        Transaction::Deploy { sender, payload } => {
            let transaction = TransactionContext {
                hash,
                sender: *sender,
            };
            let address = deploy_address(sender, &hash);
            match vm.deploy_contract(payload, address, &transaction, context, state) {
                Ok(deploy) => {
                    outcome.compute_used = deploy.compute_used();
                    outcome.deploy_units = deploy.deploy_units;
                    outcome.growth = deploy.growth;
                    if let Some(constructor) = deploy.constructor {
                        outcome.logs = constructor.logs;
                        outcome.events = constructor.events;
                        outcome.return_data = constructor.return_data;
                    }
                    outcome.changes = deploy.changes;
                }
                Err(VmError::Deploy {
                    error: DeployError::ConstructorFailed(constructor),
                    deploy_units,
                }) => {
                    let constructor = *constructor;
                    outcome.deploy_units = deploy_units;
                    outcome.status = TxStatus::from_invoke(constructor.status)?;
                    outcome.compute_used = constructor.compute_used;
                    outcome.logs = constructor.logs;
                    outcome.return_data = constructor.return_data;
                }
                Err(error) => {
                    outcome.deploy_units = error.deploy_units().unwrap_or(0);
                    outcome.status = TxStatus::rejected(error)?;
                }
            }
        }
    }
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}
