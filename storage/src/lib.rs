//! # tos-storage
//!
//! The state layer of tos-vm. A contract's storage (key → value per contract), account
//! balances (per account and asset) and deployed code live behind the [`StorageProvider`]
//! trait. The VM never writes to a provider while a contract runs: every write of an invoke
//! goes into a [`Journal`] overlay and reaches the provider only as one [`ChangeSet`], applied
//! atomically by [`StorageProvider::commit`] after the invoke succeeded.
//!
//! [`StateGrowth`] says how many bytes of state a call (its journal) or a change set creates
//! and frees, per contract and for balances, for the chain to charge a deposit; a journal
//! also counts the host memory it holds and refuses to pass its limit
//! ([`Journal::with_memory_limit`]).
//!
//! Adapters: [`MemoryStorage`] (tests) and `DiskStorage` (an embedded redb database, feature
//! `disk`, on by default; see `docs/storage.md` for why redb). Both keep the state's history
//! by block height ([`VersionedStorage`]): a plain [`StorageProvider::commit`] goes into the
//! *pending* block, `commit_block(height, &changes)` seals it (with `changes`) as the block at
//! `height`, a sealed height never changes again, `read_*_at` and [`StateAt`] read the state as
//! of any unpruned height, `prune_below` forgets old versions.
//!
//! ```
//! use tos_storage::{ChangeSet, Hash, MemoryStorage, StorageProvider, VersionedStorage, NATIVE_ASSET};
//!
//! let mut store = MemoryStorage::default();
//! let contract = Hash([7; 32]);
//! let mut changes = ChangeSet::default();
//! changes.set_storage(contract, b"count".to_vec(), Some(1u64.to_le_bytes().to_vec()));
//! changes.set_balance(contract, NATIVE_ASSET, 500);
//! store.commit(&changes).unwrap(); // the pending block: the latest state sees it
//! assert_eq!(store.read_storage(&contract, b"count").unwrap(), Some(1u64.to_le_bytes().to_vec()));
//! assert_eq!(store.read_balance(&contract, &NATIVE_ASSET).unwrap(), 500);
//! store.commit_block(1, &ChangeSet::default()).unwrap(); // sealed as block 1
//!
//! // Block 2 overwrites the counter; the state as of height 1 is still readable, and a
//! // sealed height cannot be changed.
//! let mut block = ChangeSet::default();
//! block.set_storage(contract, b"count".to_vec(), Some(2u64.to_le_bytes().to_vec()));
//! store.commit_block(2, &block).unwrap();
//! assert_eq!(store.read_storage_at(&contract, b"count", 1).unwrap(), Some(1u64.to_le_bytes().to_vec()));
//! assert_eq!(store.at(2).unwrap().read_storage(&contract, b"count").unwrap(), Some(2u64.to_le_bytes().to_vec()));
//! assert!(store.commit_block(2, &block).is_err()); // StorageError::HeightSealed
//! ```

mod changes;
#[cfg(feature = "disk")]
mod disk;
mod error;
mod growth;
mod journal;
mod memory;
mod types;
mod versioned;

pub use changes::ChangeSet;
#[cfg(feature = "disk")]
pub use disk::{DiskStorage, DEFAULT_LOG_BLOCKS, FORMAT_VERSION};
pub use error::{describe_format, StorageError};
pub use growth::{
    code_entry_bytes, storage_entry_bytes, Growth, StateGrowth, BALANCE_ENTRY_BYTES,
    CONTRACT_ENTRY_BYTES,
};
pub use journal::{Checkpoint, Journal, JournalEntry, JournalLog, JOURNAL_ENTRY_OVERHEAD};
pub use memory::MemoryStorage;
pub use types::{ContractInfo, Hash, NATIVE_ASSET};
pub use versioned::{StateAt, VersionRows, VersionedStorage};

/// Read access to chain state plus one atomic way to change it.
///
/// Object safe: the runtime holds `&dyn StorageProvider`. Reads return owned values because
/// on-disk adapters cannot lend their pages out.
pub trait StorageProvider {
    /// The value stored under `key` by `contract`, if any.
    fn read_storage(&self, contract: &Hash, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
    /// [`read_storage`](Self::read_storage) appending the value to `out` instead of returning
    /// a new vector: its length, `None` (and `out` unchanged) when the key has no value. The
    /// journal keeps every value it reads in one buffer; an adapter that holds its values in
    /// memory overrides this to copy once and allocate nothing.
    fn read_storage_into(
        &self,
        contract: &Hash,
        key: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<usize>, StorageError> {
        Ok(self.read_storage(contract, key)?.map(|value| {
            out.extend_from_slice(&value);
            value.len()
        }))
    }
    /// Balance of `account` in `asset`; an account never seen has balance 0.
    fn read_balance(&self, account: &Hash, asset: &Hash) -> Result<u64, StorageError>;
    /// The contract instance at `address` (which code it runs), if one was created there.
    fn read_contract(&self, address: &Hash) -> Result<Option<ContractInfo>, StorageError>;
    /// A deployed ELF, by its code hash.
    fn read_code(&self, code_hash: &Hash) -> Result<Option<Vec<u8>>, StorageError>;
    /// Whether code with this hash is deployed. The VM asks this on every call whose
    /// executable is already cached, so it must not copy the ELF: required, so that no adapter
    /// silently falls back to `read_code`.
    fn has_code(&self, code_hash: &Hash) -> Result<bool, StorageError>;
    /// Applies every change of `changes` or none of them. The versioned adapters add the
    /// changes to the pending block, which the next `commit_block` seals: a committed height
    /// never changes (see [`VersionedStorage`]).
    fn commit(&mut self, changes: &ChangeSet) -> Result<(), StorageError>;
}
