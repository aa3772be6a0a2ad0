//! [`PendingState`]: the state of a block being executed, before it is committed.

use tos_storage::{ChangeSet, Hash, StorageError, StorageProvider};

/// The changes of the transactions executed so far in a block, over the state the block
/// started from.
///
/// Reads see the pending changes first, then `base`; [`StorageProvider::commit`] folds a
/// change set into the pending changes (later wins) and never touches `base`. Run every
/// transaction of a block with `vm.invoke(.., &mut pending)`, then commit
/// [`PendingState::changes`] to the store as the block (`commit_block(height, ..)`), or drop
/// it to abandon the block.
///
/// `Sync` when `S` is: threads may read one pending state while each runs its own journal
/// over it.
pub struct PendingState<'a, S: ?Sized> {
    base: &'a S,
    changes: ChangeSet,
}

impl<'a, S: StorageProvider + ?Sized> PendingState<'a, S> {
    /// No pending changes over `base`.
    pub fn new(base: &'a S) -> Self {
        PendingState {
            base,
            changes: ChangeSet::default(),
        }
    }

    /// The state under the pending changes.
    pub fn base(&self) -> &'a S {
        self.base
    }

    /// Everything committed to this pending state so far, net.
    pub fn changes(&self) -> &ChangeSet {
        &self.changes
    }

    /// The pending changes, ending the view.
    pub fn into_changes(self) -> ChangeSet {
        self.changes
    }
}

impl<S: StorageProvider + ?Sized> StorageProvider for PendingState<'_, S> {
    fn read_storage(&self, contract: &Hash, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        match self.changes.storage.get(&(*contract, key.to_vec())) {
            Some(value) => Ok(value.clone()),
            None => self.base.read_storage(contract, key),
        }
    }

    fn read_balance(&self, account: &Hash, asset: &Hash) -> Result<u64, StorageError> {
        match self.changes.balances.get(&(*account, *asset)) {
            Some(amount) => Ok(*amount),
            None => self.base.read_balance(account, asset),
        }
    }

    fn read_code(&self, contract: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
        match self.changes.code.get(contract) {
            Some(elf) => Ok(Some(elf.clone())),
            None => self.base.read_code(contract),
        }
    }

    /// Folds `changes` into the pending changes; `base` is never written.
    fn commit(&mut self, changes: &ChangeSet) -> Result<(), StorageError> {
        self.changes.merge(changes.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tos_storage::{MemoryStorage, NATIVE_ASSET};

    #[test]
    fn reads_see_pending_changes_first_and_base_is_untouched() {
        let c = Hash([1; 32]);
        let base = MemoryStorage::default()
            .with_storage(c, b"a", b"base")
            .with_storage(c, b"b", b"base")
            .with_balance(c, NATIVE_ASSET, 5);
        let before = base.clone();
        let mut pending = PendingState::new(&base);
        let mut first = ChangeSet::default();
        first.set_storage(c, b"a".to_vec(), Some(b"new".to_vec()));
        first.set_storage(c, b"b".to_vec(), None);
        first.set_balance(c, NATIVE_ASSET, 0);
        first.deploy_code(c, b"elf".to_vec());
        pending.commit(&first).unwrap();
        let mut later = ChangeSet::default();
        later.set_storage(c, b"a".to_vec(), Some(b"newer".to_vec()));
        pending.commit(&later).unwrap();
        assert_eq!(
            pending.read_storage(&c, b"a").unwrap(),
            Some(b"newer".to_vec())
        );
        assert_eq!(pending.read_storage(&c, b"b").unwrap(), None);
        assert_eq!(pending.read_balance(&c, &NATIVE_ASSET).unwrap(), 0);
        assert_eq!(pending.read_code(&c).unwrap(), Some(b"elf".to_vec()));
        assert_eq!(pending.changes().len(), 4);
        drop(pending);
        assert_eq!(base, before);
    }
}
