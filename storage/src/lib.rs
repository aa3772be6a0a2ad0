//! # tos-storage
//!
//! The state layer of tos-vm. A contract's storage (key → value per contract), account
//! balances (per account and asset) and deployed code live behind the [`StorageProvider`]
//! trait. The VM never writes to a provider while a contract runs: every write of an invoke
//! goes into a [`Journal`] overlay and reaches the provider only as one [`ChangeSet`], applied
//! atomically by [`StorageProvider::commit`] after the invoke succeeded.
//!
//! Adapters: [`MemoryStorage`] (tests) and `DiskStorage` (an embedded redb database, feature
//! `disk`, on by default; see `docs/storage.md` for why redb). Both keep the state's history by block height
//! ([`VersionedStorage`]): `commit_block(height, &changes)` records a block, `read_*_at` and
//! [`StateAt`] read the state as of any unpruned height, `prune_below` forgets old versions.
//!
//! ```
//! use tos_storage::{ChangeSet, Hash, MemoryStorage, StorageProvider, NATIVE_ASSET};
//!
//! let mut store = MemoryStorage::default();
//! let contract = Hash([7; 32]);
//! let mut changes = ChangeSet::default();
//! changes.set_storage(contract, b"count".to_vec(), Some(1u64.to_le_bytes().to_vec()));
//! changes.set_balance(contract, NATIVE_ASSET, 500);
//! store.commit(&changes).unwrap();
//! assert_eq!(store.read_storage(&contract, b"count").unwrap(), Some(1u64.to_le_bytes().to_vec()));
//! assert_eq!(store.read_balance(&contract, &NATIVE_ASSET).unwrap(), 500);
//!
//! // Block 1 overwrites the counter; the state as of height 0 is still readable.
//! let mut block = ChangeSet::default();
//! block.set_storage(contract, b"count".to_vec(), Some(2u64.to_le_bytes().to_vec()));
//! store.commit_block(1, &block).unwrap();
//! assert_eq!(store.read_storage_at(&contract, b"count", 0).unwrap(), Some(1u64.to_le_bytes().to_vec()));
//! assert_eq!(store.at(1).unwrap().read_storage(&contract, b"count").unwrap(), Some(2u64.to_le_bytes().to_vec()));
//! ```

mod changes;
#[cfg(feature = "disk")]
mod disk;
mod error;
mod journal;
mod memory;
mod types;
mod versioned;

pub use changes::ChangeSet;
#[cfg(feature = "disk")]
pub use disk::{DiskStorage, FORMAT_VERSION};
pub use error::{describe_format, StorageError};
pub use journal::{Checkpoint, Journal, JournalEntry};
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
    /// changes to the block at the current height and leave the height alone (see
    /// [`VersionedStorage`]).
    fn commit(&mut self, changes: &ChangeSet) -> Result<(), StorageError>;
}
