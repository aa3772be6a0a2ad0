//! Replaying a block on a versioned store: execute it over the latest (or a past) height and
//! commit it as the next one.

use std::time::{Duration, Instant};

use tos_storage::{StorageError, VersionedStorage};

use super::{
    execute::{execute_block, ReplayOptions},
    receipt::BlockExecution,
    types::Block,
};
use crate::vm::Vm;

/// A read-only view of a versioned store as of a height that threads can share (the
/// store's own type, not `dyn`, so it is `Sync` when the store is).
pub type StateAtHeight<'a, S> = tos_storage::StateAt<'a, S>;

/// A replayed and committed block.
#[derive(Debug)]
pub struct ReplayReport {
    /// The height the block was committed at (the parent's + 1).
    pub height: u64,
    pub execution: BlockExecution,
    /// Wall time of the commit.
    pub commit_elapsed: Duration,
}

/// Executes `block` against `store`'s latest state (height `h`) and commits it as block
/// `h + 1`, all of its effects in one atomic step.
pub fn replay_block<S: VersionedStorage + Sync>(
    vm: &Vm,
    block: &Block,
    store: &mut S,
    options: &ReplayOptions,
) -> Result<ReplayReport, StorageError> {
    let height = store.block_height()? + 1;
    let context = block.context(height);
    let execution = execute_block(vm, &context, &block.transactions, &*store, options)?;
    let started = Instant::now();
    store.commit_block(height, &execution.changes)?;
    Ok(ReplayReport {
        height,
        execution,
        commit_elapsed: started.elapsed(),
    })
}
