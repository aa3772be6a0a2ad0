//! The recording store: a worker's view of the state that records every key its
//! transactions read and write, so the scheduler can tell whether two runs touched each other.

use std::{cell::RefCell, collections::BTreeSet};

use tos_storage::{ChangeSet, ContractInfo, Hash, StorageError, StorageProvider};

/// A piece of state a transaction can read or write.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum StateKey {
    Storage(Hash, Vec<u8>),
    Balance(Hash, Hash),
    Code(Hash),
    Contract(Hash),
}

/// A group's view: its own committed changes over the segment's start state, recording every
/// key read and written. Lives on one worker thread.
pub(super) struct RecordingState<'a, S: ?Sized> {
    pub(super) base: &'a S,
    pub(super) local: ChangeSet,
    pub(super) reads: RefCell<BTreeSet<StateKey>>,
    pub(super) writes: BTreeSet<StateKey>,
}

impl<S: StorageProvider + ?Sized> StorageProvider for RecordingState<'_, S> {
    fn read_storage(&self, contract: &Hash, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.reads
            .borrow_mut()
            .insert(StateKey::Storage(*contract, key.to_vec()));
        match self.local.storage.get(&(*contract, key.to_vec())) {
            Some(value) => Ok(value.clone()),
            None => self.base.read_storage(contract, key),
        }
    }

    fn read_balance(&self, account: &Hash, asset: &Hash) -> Result<u64, StorageError> {
        self.reads
            .borrow_mut()
            .insert(StateKey::Balance(*account, *asset));
        match self.local.balances.get(&(*account, *asset)) {
            Some(amount) => Ok(*amount),
            None => self.base.read_balance(account, asset),
        }
    }

    fn read_contract(&self, address: &Hash) -> Result<Option<ContractInfo>, StorageError> {
        self.reads.borrow_mut().insert(StateKey::Contract(*address));
        match self.local.contracts.get(address) {
            Some(info) => Ok(Some(*info)),
            None => self.base.read_contract(address),
        }
    }

    fn read_code(&self, code_hash: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
        self.reads.borrow_mut().insert(StateKey::Code(*code_hash));
        match self.local.code.get(code_hash) {
            Some(elf) => Ok(Some(elf.clone())),
            None => self.base.read_code(code_hash),
        }
    }

    /// Records the same read as `read_code`, without copying the ELF.
    fn has_code(&self, code_hash: &Hash) -> Result<bool, StorageError> {
        self.reads.borrow_mut().insert(StateKey::Code(*code_hash));
        if self.local.code.contains_key(code_hash) {
            return Ok(true);
        }
        self.base.has_code(code_hash)
    }

    fn commit(&mut self, changes: &ChangeSet) -> Result<(), StorageError> {
        let writes = changes
            .storage
            .keys()
            .map(|(contract, key)| StateKey::Storage(*contract, key.clone()))
            .chain(
                changes
                    .balances
                    .keys()
                    .map(|(account, asset)| StateKey::Balance(*account, *asset)),
            )
            .chain(changes.code.keys().map(|hash| StateKey::Code(*hash)))
            .chain(changes.contracts.keys().map(|a| StateKey::Contract(*a)));
        self.writes.extend(writes);
        self.local.merge(changes.clone());
        Ok(())
    }
}
