//! Replaying a block on a versioned store: execute it over the latest (or a past) height and
//! commit it as the next one.

use std::time::{Duration, Instant};

use tos_storage::{ChangeSet, ContractInfo, Hash, StorageError, StorageProvider, VersionedStorage};

use super::{
    execute::{execute_block, ReplayOptions},
    receipt::BlockExecution,
    types::Block,
};
use crate::vm::Vm;

/// A read-only view of a versioned store as of `height` that threads can share.
pub struct StateAtHeight<'a, S: ?Sized> {
    store: &'a S,
    height: u64,
}

impl<'a, S: VersionedStorage> StateAtHeight<'a, S> {
    /// Refused when `height` is not readable (above the tip or pruned).
    pub fn new(store: &'a S, height: u64) -> Result<Self, StorageError> {
        tos_storage::StateAt::new(store, height)?;
        Ok(StateAtHeight { store, height })
    }

    pub fn height(&self) -> u64 {
        self.height
    }
}

impl<S: VersionedStorage + ?Sized> StorageProvider for StateAtHeight<'_, S> {
    fn read_storage(&self, contract: &Hash, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.store.read_storage_at(contract, key, self.height)
    }

    fn read_balance(&self, account: &Hash, asset: &Hash) -> Result<u64, StorageError> {
        self.store.read_balance_at(account, asset, self.height)
    }

    fn read_contract(&self, address: &Hash) -> Result<Option<ContractInfo>, StorageError> {
        self.store.read_contract_at(address, self.height)
    }

    fn read_code(&self, code_hash: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
        self.store.read_code_at(code_hash, self.height)
    }

    fn has_code(&self, code_hash: &Hash) -> Result<bool, StorageError> {
        self.store.has_code_at(code_hash, self.height)
    }

    fn commit(&mut self, _changes: &ChangeSet) -> Result<(), StorageError> {
        Err(StorageError::ReadOnlyView {
            height: self.height,
        })
    }
}

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
