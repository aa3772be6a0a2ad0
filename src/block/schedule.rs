//! Optimistic parallel execution of a segment of calls, and its conflict detection by the keys
//! each call actually read and wrote.
//!
//! # Parallel execution
//!
//! Deploys are barriers: the calls between two deploys form a *segment*. Worker threads take
//! the segment's calls in block order and run each one *speculatively* through a
//! [`RecordingState`]: a read of a key (a storage key of a contract, a balance of an account
//! in an asset, a contract instance, a code hash) sees the newest value written by a call
//! before it that has finished a run — its *version*: that call's position and incarnation —
//! or, if there is none, the state the segment started from; the version of every read is
//! recorded. A finished run publishes its writes (its change set) as versions of their keys
//! ([`VersionedWrites`], Block-STM's multi-version memory). Nothing is committed by a worker.
//!
//! Runs are *validated in block order* as they come in (whichever worker finishes the next
//! call in order does it, under one lock; no thread waits for it). When call `t` is
//! validated, every call before it is final, so the version each of its reads would see now
//! is the one sequential execution shows it: the run is valid when every read saw exactly
//! that version. A valid run is accepted as it is. An invalid one is thrown away (its
//! published writes retracted) and the call is executed again, there and then, over the
//! segment's start state plus the changes of every earlier call — exactly as sequential
//! execution runs it — and its writes are published again as its second incarnation.
//! Accepted outcomes are committed in block order as they are accepted, into the state the
//! validator keeps (the segment's start state plus every accepted change set): the segment's
//! net changes when the last call is in, moved into the block's pending state as they are
//! (hash maps, nothing sorted in between). The calling thread is one of the workers; the
//! others are threads kept across blocks (`pool.rs`).
//!
//! This is Block-STM's (Aptos) validation rule with a simpler recovery: a call whose run
//! read a stale version is re-executed in order by the validator, not rescheduled on the
//! workers. Calls that touch disjoint keys — transfers between different accounts of one
//! token included — all run in parallel and never run twice. A call that reads a key an
//! earlier call writes runs twice only when the writer had not finished when it read; a hot
//! key (one account paying in every call, deposits into one contract) can make most calls
//! run twice, in the worst case a sequential execution plus wasted speculation on the other
//! cores. `ExecutionStats::reexecuted` counts them.
//!
//! ## Why a segment executed this way equals sequential execution
//!
//! 1. A call's outcome (status, compute, logs, events, return data, change set) is a
//!    deterministic function of the block and transaction context, its input and the values
//!    it reads from the state. The executable cache gives identical executables on hits and
//!    misses; no clock, randomness or other shared state reaches a contract.
//! 2. Take the calls in block order and assume every call before `t` has its sequential
//!    outcome and has published exactly its sequential change set (induction). Sequentially,
//!    `t` reads, for each key, the value of the last call before it that wrote the key, else
//!    the start state: the version validation looks up. A published version never changes
//!    (a re-execution retracts it and publishes a new incarnation), so a read that saw that
//!    version saw the sequential value.
//! 3. If every read of `t`'s run saw its sequential version, the first value it read is the
//!    sequential one, hence the next key it chose to read, and so on: it behaved as it does
//!    sequentially, so its outcome is the sequential one. Otherwise it is re-executed over
//!    exactly the sequential view, and its outcome is the sequential one by construction.
//!    Either way the versions it publishes are its sequential writes.
//! 4. Every call having its sequential outcome and change set, committing them in block order
//!    gives the same state and the same block change set as sequential execution.
//!
//! The `chain_replay` and `chain_parallel` tests check this on random blocks, conflicting
//! ones included (transfers within one token, deposits, cross-contract calls).

use std::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering},
    Mutex, MutexGuard,
};

use tos_storage::{StorageError, StorageProvider};

use super::{
    execute::{run_transaction, Batch, WorkerProbe},
    pool::{helpers, MAX_HELPERS},
    receipt::TxOutcome,
    recording::{Reads, RecordingState, VersionedWrites},
};
use crate::{
    pending::{DetachedChanges, PendingState},
    vm::Vm,
};

/// A segment executed in parallel.
pub(super) struct SegmentRun {
    /// One outcome per call, in block order.
    pub(super) outcomes: Vec<TxOutcome>,
    /// Calls whose speculative run read a key an earlier call wrote, executed again.
    pub(super) reexecuted: usize,
    /// The net changes of the segment (its calls' change sets, later wins): what committing
    /// every outcome's changes in block order gives, built while validating.
    pub(super) changes: DetachedChanges,
}

/// A call's speculative run: its outcome and the version of every key it read. `None`: the
/// store failed under it (perhaps only because the run saw an inconsistent mix of versions):
/// it is executed again in order, where a failure of the store is real.
struct Speculation {
    outcome: Option<TxOutcome>,
    reads: Reads,
}

/// The validation side: the calls accepted so far, in block order, and what they wrote.
struct Validator<'s, 'b, S: ?Sized> {
    /// Position (in the segment) of the next call to validate.
    next: usize,
    accepted: Vec<TxOutcome>,
    /// The segment's start state plus the changes of every accepted call: where an invalid
    /// run is executed again, and in the end the segment's change set. Each accepted change
    /// set is committed as it is accepted (what sequential execution does after each call),
    /// by whichever worker validates, while the others go on running calls.
    sequential: PendingState<'s, PendingState<'b, S>>,
    reexecuted: usize,
}

/// What the workers share.
struct Shared<'s, 'b, S: ?Sized> {
    vm: &'s Vm,
    batch: Batch<'s>,
    /// Block indexes of the segment's calls.
    first: usize,
    len: usize,
    base: &'s PendingState<'b, S>,
    /// The writes of every finished run, by key and position.
    writes: VersionedWrites,
    /// The next call a worker takes.
    claimed: CachePadded<AtomicUsize>,
    /// A worker failed (the store did): the others stop taking calls.
    failed: CachePadded<AtomicBool>,
    /// Finished speculative runs waiting for validation, by position.
    /// Boxed: most runs never go through their slot, and the slots stay small.
    slots: Vec<Mutex<Option<Box<Speculation>>>>,
    /// Mirror of `validator.next`, read without the lock.
    validated: CachePadded<AtomicUsize>,
    validator: CachePadded<Mutex<Validator<'s, 'b, S>>>,
}

/// Locks `mutex`; a poisoned lock means a worker panicked, which `run_parallel` re-raises, so
/// the data is not looked at again.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<S: StorageProvider + Sync + ?Sized> Shared<'_, '_, S> {
    fn speculate(&self, position: usize) -> Speculation {
        let mut state = RecordingState::new(self.base, &self.writes, position);
        let outcome = run_transaction(self.vm, self.batch, self.first + position, &mut state).ok();
        if let Some(outcome) = &outcome {
            self.writes.publish(position, 0, &outcome.changes);
        }
        Speculation {
            outcome,
            reads: state.into_reads(),
        }
    }

    fn ready(&self, position: usize) -> bool {
        position < self.len && lock(&self.slots[position]).is_some()
    }

    /// Validates every finished run that is next in block order, unless another worker is
    /// doing it. Checks again after letting go of the lock: a run that finished meanwhile
    /// found the lock taken and left its validation to this worker.
    fn validate_ready(&self) -> Result<(), StorageError> {
        loop {
            let Ok(mut validator) = self.validator.try_lock() else {
                return Ok(());
            };
            self.validate_in_order(&mut validator)?;
            drop(validator);
            if !self.ready(self.validated.load(Ordering::Acquire)) {
                return Ok(());
            }
        }
    }

    fn validate_in_order(&self, validator: &mut Validator<'_, '_, S>) -> Result<(), StorageError> {
        while validator.next < self.len {
            let Some(run) = lock(&self.slots[validator.next]).take() else {
                break;
            };
            self.validate_next(validator, *run)?;
        }
        Ok(())
    }

    /// Accepts `run`, the run of the next call in order, or executes that call again.
    fn validate_next(
        &self,
        validator: &mut Validator<'_, '_, S>,
        run: Speculation,
    ) -> Result<(), StorageError> {
        // Every call before this one is final: the run is valid when each of its reads
        // saw the write sequential execution would have shown it.
        let position = validator.next;
        let valid = self.writes.still_valid(&run.reads, position);
        let outcome = match run.outcome {
            Some(outcome) if valid => {
                validator.sequential.commit(&outcome.changes)?;
                outcome
            }
            speculative => {
                if let Some(outcome) = &speculative {
                    self.writes.retract(position, &outcome.changes);
                }
                let outcome = self.execute_again(validator)?;
                self.writes.publish(position, 1, &outcome.changes);
                outcome
            }
        };
        validator.accepted.push(outcome);
        validator.next += 1;
        self.validated.store(validator.next, Ordering::Release);
        Ok(())
    }

    /// Validates the finished `run` of the call at `position` right away when it is the next
    /// in order and no other worker is validating (the common case: no trip through its
    /// slot), else leaves it in its slot; then validates whatever is ready.
    fn hand_over(&self, position: usize, run: Speculation) -> Result<(), StorageError> {
        let mut run = Some(run);
        if self.validated.load(Ordering::Acquire) == position {
            if let Ok(mut validator) = self.validator.try_lock() {
                if validator.next == position {
                    if let Some(run) = run.take() {
                        self.validate_next(&mut validator, run)?;
                    }
                    self.validate_in_order(&mut validator)?;
                }
            }
        }
        if let Some(run) = run {
            *lock(&self.slots[position]) = Some(Box::new(run));
        }
        self.validate_ready()
    }

    /// Executes the next call over the start state plus every accepted change: its
    /// sequential view. `run_transaction` commits its changes there.
    fn execute_again(
        &self,
        validator: &mut Validator<'_, '_, S>,
    ) -> Result<TxOutcome, StorageError> {
        let index = self.first + validator.next;
        let outcome = run_transaction(self.vm, self.batch, index, &mut validator.sequential)?;
        validator.reexecuted += 1;
        Ok(outcome)
    }

    fn work(&self) -> Result<(), StorageError> {
        while !self.failed.load(Ordering::Relaxed) {
            let position = self.claimed.fetch_add(1, Ordering::Relaxed);
            if position >= self.len {
                break;
            }
            let run = self.speculate(position);
            if let Err(error) = self.hand_over(position, run) {
                self.failed.store(true, Ordering::Relaxed);
                return Err(error);
            }
        }
        Ok(())
    }
}

/// Runs the calls `segment` of `batch` on up to `threads` workers over `base` (see the module
/// documentation); the outcomes are those of sequential execution. The calling thread is
/// worker 0; the others are kept threads (`pool.rs`). `probe`, if any, runs each worker's share.
pub(super) fn run_parallel<S: StorageProvider + Sync + ?Sized>(
    vm: &Vm,
    batch: Batch<'_>,
    segment: std::ops::Range<usize>,
    base: &PendingState<'_, S>,
    threads: usize,
    probe: Option<&WorkerProbe<'_>>,
) -> Result<SegmentRun, StorageError> {
    let len = segment.len();
    let shared = Shared {
        vm,
        batch,
        first: segment.start,
        len,
        base,
        writes: VersionedWrites::new(len),
        claimed: CachePadded(AtomicUsize::new(0)),
        failed: CachePadded(AtomicBool::new(false)),
        slots: (0..len).map(|_| Mutex::new(None)).collect(),
        validated: CachePadded(AtomicUsize::new(0)),
        validator: CachePadded(Mutex::new(Validator {
            next: 0,
            accepted: Vec::with_capacity(len),
            sequential: PendingState::new(base),
            reexecuted: 0,
        })),
    };
    let workers = threads.min(len).clamp(1, MAX_HELPERS + 1);
    // The calling thread is one of the workers: its pooled call memory is warm, and one
    // worker needs no other thread at all.
    let pool = if workers > 1 {
        helpers(workers - 1)
    } else {
        None
    };
    let share = |worker: usize| -> Result<(), StorageError> {
        let mut result = Ok(());
        match probe {
            Some(probe) => probe(worker, &mut || result = shared.work()),
            None => result = shared.work(),
        }
        result
    };
    let helper_error = Mutex::new(None);
    // A helper's panic is raised again here once every worker is done (rayon's scope).
    let own = match &pool {
        Some(pool) => pool.in_place_scope(|scope| {
            for worker in 1..workers {
                let (share, helper_error) = (&share, &helper_error);
                scope.spawn(move |_| {
                    if let Err(error) = share(worker) {
                        lock(helper_error).get_or_insert(error);
                    }
                });
            }
            share(0)
        }),
        None => share(0),
    };
    own?;
    if let Some(error) = lock(&helper_error).take() {
        return Err(error);
    }
    // Every run is in: validate what the workers left (a last run whose worker found the
    // lock taken after its holder had looked).
    {
        let mut validator = lock(&shared.validator);
        shared.validate_in_order(&mut validator)?;
    }
    let Shared {
        validator, writes, ..
    } = shared;
    writes.recycle();
    let validator = validator
        .0
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    assert_eq!(validator.accepted.len(), len, "every call validated");
    Ok(SegmentRun {
        outcomes: validator.accepted,
        reexecuted: validator.reexecuted,
        changes: validator.sequential.detach(),
    })
}

/// A value alone in its cache lines (two 64-byte lines: a neighbouring line is prefetched
/// with it on x86, as in crossbeam's `CachePadded`): the counters and locks every worker
/// touches per call would otherwise share lines with each other, and each write by one core
/// would take the line from the other (false sharing).
#[repr(align(128))]
pub(super) struct CachePadded<T>(pub(super) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}
