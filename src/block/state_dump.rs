//! The whole state of a store in a canonical order, and its root: what two nodes compare after
//! a block.

use borsh::BorshSerialize;
#[cfg(feature = "disk")]
use tos_storage::DiskStorage;
use tos_storage::{Hash, MemoryStorage, StorageError, StorageProvider};

use crate::vm::code_hash;

/// The whole state of a store, in a canonical order: what a state root is computed over.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize)]
pub struct StateDump {
    /// `(code hash key, blake3 of the stored ELF)`, by key.
    pub code: Vec<(Hash, Hash)>,
    /// Every contract instance `(address, code hash)`, by address.
    pub contracts: Vec<(Hash, Hash)>,
    /// Every contract instance with storage, and its `(key, value)`s in key order.
    #[allow(clippy::type_complexity)]
    pub storage: Vec<(Hash, Vec<(Vec<u8>, Vec<u8>)>)>,
    /// Every non-zero `(account, asset, amount)`.
    pub balances: Vec<(Hash, Hash, u64)>,
}

impl StateDump {
    /// blake3 of the dump's borsh encoding.
    pub fn root(&self) -> Hash {
        Hash(
            *blake3::hash(&borsh::to_vec(self).expect("encoding into a Vec cannot fail"))
                .as_bytes(),
        )
    }
}

/// Stores whose whole state can be listed.
pub trait StateListing {
    fn state_dump(&self) -> Result<StateDump, StorageError>;

    /// The root of [`state_dump`](Self::state_dump).
    fn state_root(&self) -> Result<Hash, StorageError> {
        Ok(self.state_dump()?.root())
    }
}

fn dump_code(
    store: &dyn StorageProvider,
    hashes: Vec<Hash>,
) -> Result<Vec<(Hash, Hash)>, StorageError> {
    hashes
        .into_iter()
        .map(|hash| {
            let elf = store.read_code(&hash)?.unwrap_or_default();
            Ok((hash, code_hash(&elf)))
        })
        .collect()
}

#[cfg(feature = "disk")]
impl StateListing for DiskStorage {
    fn state_dump(&self) -> Result<StateDump, StorageError> {
        let hashes = self.list_code()?;
        let contracts = self.list_contracts()?;
        let mut storage = Vec::new();
        for (contract, _) in &contracts {
            let entries = self.list_storage(contract)?;
            if !entries.is_empty() {
                storage.push((*contract, entries));
            }
        }
        Ok(StateDump {
            code: dump_code(self, hashes)?,
            contracts: contracts
                .into_iter()
                .map(|(a, i)| (a, i.code_hash))
                .collect(),
            storage,
            balances: self.list_balances()?,
        })
    }
}

impl StateListing for MemoryStorage {
    fn state_dump(&self) -> Result<StateDump, StorageError> {
        let hashes = self.code_hashes();
        let contracts = self.contracts();
        let storage = contracts
            .iter()
            .map(|(contract, _)| (*contract, self.storage_entries(contract)))
            .filter(|(_, entries)| !entries.is_empty())
            .collect();
        Ok(StateDump {
            code: dump_code(self, hashes)?,
            contracts: contracts
                .into_iter()
                .map(|(a, i)| (a, i.code_hash))
                .collect(),
            storage,
            balances: self.balances(),
        })
    }
}
