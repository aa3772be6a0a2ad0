//! Optimistic parallel scheduling of a segment of calls, and its conflict detection.
//!
//! # Parallel execution
//!
//! Deploys are barriers: the calls between two deploys form a *segment*. A segment's calls are
//! grouped by the contract they call (calls with deposits from one sender share a group: they
//! all write its balances); each group runs on a worker thread, in transaction order,
//! over its own [`PendingState`](crate::PendingState)-like view of the state at the segment's start, which records
//! every key (storage key, balance, code) any of its calls read and every key it wrote.
//! When all groups are done, the groups are checked against each other: two groups conflict
//! when one wrote a key the other read or wrote. Groups that conflict with nobody keep their
//! results; each connected set of conflicting groups is merged into one group (its calls in
//! block order) and run again, and the check repeats. If conflicts remain after
//! `MAX_REGROUPS` rounds, or everything merged into one group, the segment is executed again
//! sequentially. Accepted results are committed transaction by transaction, in block order.
//!
//! ## Why an accepted segment equals sequential execution
//!
//! It holds for any partition of the segment's calls into groups, each run in block order:
//!
//! 1. A call's outcome (status, compute, logs, events, return data, change set) is a
//!    deterministic function of the block and transaction context, its input and the values
//!    it reads from the state. The executable cache gives identical executables on hits and
//!    misses; no clock, randomness or other shared state reaches a contract.
//! 2. Take the calls in block order and assume every call before `t` behaved the same in both
//!    executions (so it wrote the same keys, those recorded for its group). Sequentially, `t`
//!    sees the segment's start state plus the writes of every earlier call; in its group it
//!    sees the start state plus the writes of the earlier calls of its own group. The two
//!    views differ only on keys written by other groups.
//! 3. None of those keys was read by `t`'s group (that is what acceptance checked), so the
//!    first value `t` reads is the same in both, hence the next key it chooses to read, and so
//!    on: `t` reads the same keys, sees the same values and behaves the same.
//! 4. Every call having the same change set, committing them in block order gives the same
//!    state and the same block change set as sequential execution.
//!
//! The `chain_replay` tests check this on random blocks, conflicting ones included.

use std::{
    cell::RefCell,
    collections::{BTreeMap, BTreeSet},
    sync::atomic::{AtomicUsize, Ordering},
};

use tos_storage::{ChangeSet, Hash, StorageError, StorageProvider};

use super::{
    execute::{run_transaction, Batch},
    receipt::TxOutcome,
    recording::{RecordingState, StateKey},
    types::Transaction,
};
use crate::{pending::PendingState, vm::Vm};

/// Calls of a segment run in block order by one worker, over the segment's start state.
struct GroupRun {
    outcomes: Vec<TxOutcome>,
    reads: BTreeSet<StateKey>,
    writes: BTreeSet<StateKey>,
}

pub(super) enum Parallel {
    NotTried,
    Conflict,
    Accepted {
        outcomes: Vec<TxOutcome>,
        groups: usize,
        regroups: usize,
    },
}

/// How many times a segment's conflicting groups are merged and re-run before the segment
/// falls back to sequential execution.
const MAX_REGROUPS: usize = 2;

fn run_group<S: StorageProvider + ?Sized>(
    vm: &Vm,
    batch: Batch<'_>,
    indexes: &[usize],
    base: &S,
) -> Result<GroupRun, StorageError> {
    let mut state = RecordingState {
        base,
        local: ChangeSet::default(),
        reads: RefCell::new(BTreeSet::new()),
        writes: BTreeSet::new(),
    };
    let mut outcomes = Vec::with_capacity(indexes.len());
    for &index in indexes {
        outcomes.push(run_transaction(vm, batch, index, &mut state)?);
    }
    Ok(GroupRun {
        outcomes,
        reads: state.reads.into_inner(),
        writes: state.writes,
    })
}

/// Runs each group on a pool of up to `threads` workers (largest groups first); the runs come
/// back in the order of `groups`.
fn run_groups<S: StorageProvider + Sync + ?Sized>(
    vm: &Vm,
    batch: Batch<'_>,
    groups: &[&[usize]],
    base: &S,
    threads: usize,
) -> Result<Vec<GroupRun>, StorageError> {
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&id| std::cmp::Reverse(groups[id].len()));
    let next = AtomicUsize::new(0);
    let workers = threads.min(groups.len()).max(1);
    let results: Vec<Result<Vec<(usize, GroupRun)>, StorageError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut runs = Vec::new();
                    while let Some(&id) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                        runs.push((id, run_group(vm, batch, groups[id], base)?));
                    }
                    Ok(runs)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut runs: Vec<Option<GroupRun>> = (0..groups.len()).map(|_| None).collect();
    for result in results {
        for (id, run) in result? {
            runs[id] = Some(run);
        }
    }
    Ok(runs
        .into_iter()
        .map(|run| run.expect("every group ran"))
        .collect())
}

/// The root of `id` in a union-find forest (with path halving).
fn find(parent: &mut [usize], mut id: usize) -> usize {
    while parent[id] != id {
        parent[id] = parent[parent[id]];
        id = parent[id];
    }
    id
}

/// The groups that must run together: connected components of "one wrote a key the other
/// read or wrote". All singletons means the runs are independent.
fn conflict_components(runs: &[GroupRun]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..runs.len()).collect();
    let root = find;
    let mut writers: BTreeMap<&StateKey, Vec<usize>> = BTreeMap::new();
    for (id, run) in runs.iter().enumerate() {
        for key in &run.writes {
            writers.entry(key).or_default().push(id);
        }
    }
    for (id, run) in runs.iter().enumerate() {
        for key in run.reads.iter().chain(&run.writes) {
            for &writer in writers.get(key).map(Vec::as_slice).unwrap_or_default() {
                let (a, b) = (root(&mut parent, id), root(&mut parent, writer));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut components: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for id in 0..runs.len() {
        let r = root(&mut parent, id);
        components.entry(r).or_default().push(id);
    }
    components.into_values().collect()
}

/// Runs a segment's calls grouped by contract on worker threads; merges and re-runs the groups
/// that touched each other's keys until the groups are independent (see the module docs), or
/// gives up (`Conflict`) so the caller runs the segment sequentially.
pub(super) fn run_parallel<S: StorageProvider + Sync + ?Sized>(
    vm: &Vm,
    batch: Batch<'_>,
    segment: std::ops::Range<usize>,
    base: &PendingState<'_, S>,
    threads: usize,
) -> Result<Parallel, StorageError> {
    // One group per called contract, except that calls with deposits from the same sender
    // share a group: they all write that sender's balances, a conflict known in advance.
    let mut group_of_contract: BTreeMap<Hash, usize> = BTreeMap::new();
    let mut group_of_payer: BTreeMap<Hash, usize> = BTreeMap::new();
    let mut parent: Vec<usize> = Vec::new();
    let mut group_of_call = Vec::with_capacity(segment.len());
    for index in segment.clone() {
        let transaction = &batch.transactions[index];
        // An unresolved target rejects the call without touching state: any group will do.
        let contract = batch.targets[index].clone().unwrap_or_default();
        let id = *group_of_contract.entry(contract).or_insert_with(|| {
            parent.push(parent.len());
            parent.len() - 1
        });
        if matches!(transaction, Transaction::Call { deposits, .. } if !deposits.is_empty()) {
            let payer = *group_of_payer.entry(transaction.sender()).or_insert(id);
            let (a, b) = (find(&mut parent, id), find(&mut parent, payer));
            parent[a.max(b)] = a.min(b);
        }
        group_of_call.push(id);
    }
    let mut slot_of_root: BTreeMap<usize, usize> = BTreeMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (index, id) in segment.zip(group_of_call) {
        let root = find(&mut parent, id);
        let slot = *slot_of_root.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[slot].push(index);
    }
    if groups.len() < 2 {
        return Ok(Parallel::NotTried);
    }
    let slices: Vec<&[usize]> = groups.iter().map(Vec::as_slice).collect();
    let mut runs = run_groups(vm, batch, &slices, base, threads)?;
    let mut regroups = 0;
    loop {
        let components = conflict_components(&runs);
        if components.iter().all(|component| component.len() == 1) {
            break;
        }
        if regroups == MAX_REGROUPS || components.len() < 2 {
            return Ok(Parallel::Conflict);
        }
        regroups += 1;
        // Keep the independent runs; merge each conflicting component into one group (its
        // calls in block order) and run those again.
        let mut kept_groups = Vec::new();
        let mut kept_runs = Vec::new();
        let mut merged = Vec::new();
        let mut slots: Vec<Option<GroupRun>> = runs.into_iter().map(Some).collect();
        for component in components {
            if let [single] = component[..] {
                kept_groups.push(std::mem::take(&mut groups[single]));
                kept_runs.push(slots[single].take().expect("each run is kept once"));
            } else {
                let mut indexes: Vec<usize> = component
                    .iter()
                    .flat_map(|&id| std::mem::take(&mut groups[id]))
                    .collect();
                indexes.sort_unstable();
                merged.push(indexes);
            }
        }
        let slices: Vec<&[usize]> = merged.iter().map(Vec::as_slice).collect();
        let merged_runs = run_groups(vm, batch, &slices, base, threads)?;
        groups = kept_groups.into_iter().chain(merged).collect();
        runs = kept_runs.into_iter().chain(merged_runs).collect();
    }
    let group_count = runs.len();
    let mut outcomes: Vec<TxOutcome> = runs.into_iter().flat_map(|run| run.outcomes).collect();
    outcomes.sort_by_key(|outcome| outcome.index);
    Ok(Parallel::Accepted {
        outcomes,
        groups: group_count,
        regroups,
    })
}
