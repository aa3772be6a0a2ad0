//! State versioned by block height: the [`VersionedStorage`] trait and [`StateAt`], a
//! read-only view of the state as of a past height.

use crate::changes::ChangeSet;
use crate::error::StorageError;
use crate::types::{ContractInfo, Hash};
use crate::StorageProvider;

/// A [`StorageProvider`] that keeps the history of the state, block by block.
///
/// Implemented by [`MemoryStorage`](crate::MemoryStorage) and [`DiskStorage`](crate::DiskStorage),
/// with the same semantics:
///
/// * **Committed heights are sealed.** Nothing changes a height once its block is committed:
///   not a later block, not a plain commit, not a direct setter.
/// * **The pending block.** [`StorageProvider::commit`] (what `Vm::deploy`, `Vm::invoke` and
///   `Vm::deploy_contract` call when given the store itself) adds its changes to the *pending*
///   block, above every sealed height: the latest state sees them, no `read_*_at` does, and the
///   block height stays where it is. They are durable like any commit and wait for the next
///   block.
/// * **Blocks.** [`commit_block(height, changes)`](VersionedStorage::commit_block) seals the
///   pending block with `changes` added as the block at `height`, atomically with the new block
///   height. `height` must be above the block height ([`StorageError::HeightSealed`]
///   otherwise: an attempt to change a sealed height) and below `u64::MAX`
///   ([`StorageError::HeightOutOfRange`]); the first block of a new state may have any height,
///   0 included. Heights may skip (a height without a block reads like the block below it).
/// * **Reads.** [`StorageProvider`]'s reads return the latest state, the pending block
///   included. `read_*_at(.., height)` return the newest sealed version at or below `height`.
///   Readable heights are `oldest_height()..=block_height()`: a height above the tip is
///   [`StorageError::HeightInFuture`], a pruned one [`StorageError::HeightPruned`].
/// * **Pruning.** [`prune_below(height)`](VersionedStorage::prune_below) forgets what only heights
///   below `height` can see: per key it keeps the newest version at or below `height` (dropped too
///   when it is a deletion) and every version above. Reads at heights `>= height` are unchanged;
///   `oldest_height()` becomes `height`.
///
/// Object safe, so a [`StateAt`] can hold `&dyn VersionedStorage`.
///
/// [`block_height`]: VersionedStorage::block_height
pub trait VersionedStorage: StorageProvider {
    /// Height of the last committed block; 0 before the first block.
    fn block_height(&self) -> Result<u64, StorageError>;

    /// The oldest height that can still be read (the last `prune_below` height; 0 if never
    /// pruned).
    fn oldest_height(&self) -> Result<u64, StorageError>;

    /// Whether the pending block holds changes (plain commits since the last block) that the
    /// next [`commit_block`](VersionedStorage::commit_block) seals.
    fn has_pending_changes(&self) -> Result<bool, StorageError>;

    /// Seals the pending block with `changes` added as the block at `height` and makes
    /// `height` the block height, all or nothing. `height` must be above the current block
    /// height (any height below `u64::MAX` for the first block of a new state).
    fn commit_block(&mut self, height: u64, changes: &ChangeSet) -> Result<(), StorageError>;

    /// Removes the versions no reader at a height `>= height` can see. `height` may not be above
    /// the block height; a height at or below `oldest_height()` changes nothing.
    fn prune_below(&mut self, height: u64) -> Result<(), StorageError>;

    /// The value of `key` in `contract`'s storage as of `height`.
    fn read_storage_at(
        &self,
        contract: &Hash,
        key: &[u8],
        height: u64,
    ) -> Result<Option<Vec<u8>>, StorageError>;

    /// The balance of `account` in `asset` as of `height`.
    fn read_balance_at(
        &self,
        account: &Hash,
        asset: &Hash,
        height: u64,
    ) -> Result<u64, StorageError>;

    /// The code deployed under `hash` as of `height`.
    fn read_code_at(&self, hash: &Hash, height: u64) -> Result<Option<Vec<u8>>, StorageError>;

    /// Whether code with this hash was deployed as of `height`, without copying the ELF.
    fn has_code_at(&self, hash: &Hash, height: u64) -> Result<bool, StorageError>;

    /// The contract instance at `address` as of `height`.
    fn read_contract_at(
        &self,
        address: &Hash,
        height: u64,
    ) -> Result<Option<ContractInfo>, StorageError>;

    /// Every live `(key, value)` of `contract` as of `height`, in key order.
    #[allow(clippy::type_complexity)]
    fn list_storage_at(
        &self,
        contract: &Hash,
        height: u64,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StorageError>;
}

/// How many versions a store holds, per kind (see `version_rows` on both adapters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VersionRows {
    /// Storage versions (values and deletions).
    pub storage: u64,
    /// Balance versions.
    pub balances: u64,
    /// Code versions.
    pub code: u64,
    /// Contract instance versions (one per created instance).
    pub contracts: u64,
}

impl VersionRows {
    /// All versions together.
    pub fn total(&self) -> u64 {
        self.storage + self.balances + self.code + self.contracts
    }
}

/// Checks that a new block may be committed at `height` over a state whose last block is at
/// `tip`: sealed heights never change, and `u64::MAX` is the pending block's.
pub(crate) fn check_new_block(height: u64, tip: Option<u64>) -> Result<(), StorageError> {
    if height == u64::MAX {
        return Err(StorageError::HeightOutOfRange { height });
    }
    match tip {
        Some(tip) if height <= tip => Err(StorageError::HeightSealed { height, tip }),
        _ => Ok(()),
    }
}

/// Checks that `height` is readable in a state whose readable heights are `oldest..=tip`.
pub(crate) fn check_readable(height: u64, oldest: u64, tip: u64) -> Result<(), StorageError> {
    if height > tip {
        Err(StorageError::HeightInFuture { height, tip })
    } else if height < oldest {
        Err(StorageError::HeightPruned { height, oldest })
    } else {
        Ok(())
    }
}

/// The state as of one height, read-only: a [`StorageProvider`] whose reads are
/// `read_*_at(.., height)` and whose `commit` is refused with [`StorageError::ReadOnlyView`].
///
/// It borrows the store, so the store cannot be committed to or pruned while the view lives:
/// the view stays valid. A [`Journal`](crate::Journal) can run over it (e.g. to replay a call
/// against an old state); its change set just cannot be committed here.
///
/// `S` is the store's type: the default, `dyn VersionedStorage`, fits any store; a concrete
/// one (`StateAt<'_, DiskStorage>`) is `Sync` when the store is, so threads can share it.
pub struct StateAt<'a, S: ?Sized = dyn VersionedStorage + 'a> {
    store: &'a S,
    height: u64,
}

impl<S: ?Sized> Clone for StateAt<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: ?Sized> Copy for StateAt<'_, S> {}

impl<S: ?Sized> std::fmt::Debug for StateAt<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateAt")
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

impl<'a, S: VersionedStorage + ?Sized> StateAt<'a, S> {
    /// A view of `store` as of `height`; refused when `height` is not readable
    /// ([`StorageError::HeightInFuture`], [`StorageError::HeightPruned`]).
    pub fn new(store: &'a S, height: u64) -> Result<StateAt<'a, S>, StorageError> {
        check_readable(height, store.oldest_height()?, store.block_height()?)?;
        Ok(StateAt { store, height })
    }

    /// The height this view reads at.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Every live `(key, value)` of `contract` at this height, in key order.
    #[allow(clippy::type_complexity)]
    pub fn list_storage(&self, contract: &Hash) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StorageError> {
        self.store.list_storage_at(contract, self.height)
    }
}

impl<S: VersionedStorage + ?Sized> StorageProvider for StateAt<'_, S> {
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

    /// Always refused: a past state is read-only.
    fn commit(&mut self, _changes: &ChangeSet) -> Result<(), StorageError> {
        Err(StorageError::ReadOnlyView {
            height: self.height,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_range() {
        assert!(check_readable(3, 2, 5).is_ok());
        assert!(check_readable(2, 2, 2).is_ok());
        assert!(matches!(
            check_readable(6, 2, 5),
            Err(StorageError::HeightInFuture { height: 6, tip: 5 })
        ));
        assert!(matches!(
            check_readable(1, 2, 5),
            Err(StorageError::HeightPruned {
                height: 1,
                oldest: 2
            })
        ));
    }
}
