//! [`StateGrowth`]: how many bytes of state a call (or any change set) creates and frees, per
//! contract, for balances and for code, so a chain can charge for state growth (a deposit,
//! rent, a quota).
//!
//! Sizes are those of the entries a store holds, key and value:
//!
//! | entry | bytes |
//! |---|---|
//! | a storage value | 32 (its contract) + key + value |
//! | a balance | 32 (account) + 32 (asset) + 8 (amount) = [`BALANCE_ENTRY_BYTES`] |
//! | a contract instance | 32 (address) + 32 (code hash) = [`CONTRACT_ENTRY_BYTES`] |
//! | code | 32 (code hash) + the ELF |
//!
//! A new entry creates its bytes, a removed one frees them, a changed value creates (or frees)
//! the difference of its sizes. A balance of 0 is no entry (stores remove it), so a balance
//! going from 0 to more creates one and going to 0 frees one. [`Journal::into_parts_with_growth`](crate::Journal::into_parts_with_growth)
//! computes it once, at the end of a call, in the pass that builds the change set, from the journal's final values against the values
//! it read from the store (every value it changed was read first), so the hot path does not
//! pay for it.

use std::collections::BTreeMap;

use crate::StorageProvider;
use crate::{changes::ChangeSet, error::StorageError, types::Hash};

/// The bytes of an address or hash in a key.
const HASH_BYTES: u64 = 32;
/// Bytes of one balance entry: account, asset, amount.
pub const BALANCE_ENTRY_BYTES: u64 = 2 * HASH_BYTES + 8;
/// Bytes of one contract instance: its address and the code hash it runs.
pub const CONTRACT_ENTRY_BYTES: u64 = 2 * HASH_BYTES;

/// Bytes of the storage entry `key` → `value` of a contract.
pub fn storage_entry_bytes(key: &[u8], value: &[u8]) -> u64 {
    HASH_BYTES + key.len() as u64 + value.len() as u64
}

/// Bytes of a stored code: its hash and the ELF.
pub fn code_entry_bytes(elf_len: usize) -> u64 {
    HASH_BYTES + elf_len as u64
}

/// Bytes created and freed in one part of the state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Growth {
    pub created_bytes: u64,
    pub freed_bytes: u64,
}

impl Growth {
    /// Created minus freed (negative when the state shrank).
    pub fn net_bytes(&self) -> i128 {
        i128::from(self.created_bytes) - i128::from(self.freed_bytes)
    }

    pub fn is_empty(&self) -> bool {
        self.created_bytes == 0 && self.freed_bytes == 0
    }

    /// An entry of `before` bytes (0: absent) now holds `after` bytes (0: removed).
    fn resize(&mut self, before: u64, after: u64) {
        if after > before {
            self.created_bytes = self.created_bytes.saturating_add(after - before);
        } else {
            self.freed_bytes = self.freed_bytes.saturating_add(before - after);
        }
    }

    fn add(&mut self, other: &Growth) {
        self.created_bytes = self.created_bytes.saturating_add(other.created_bytes);
        self.freed_bytes = self.freed_bytes.saturating_add(other.freed_bytes);
    }
}

/// The state a call (or a change set) created and freed, by where it lives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateGrowth {
    /// Per contract: its storage entries and its instance record (when it was created). Only
    /// contracts whose entries changed size are listed.
    pub contracts: BTreeMap<Hash, Growth>,
    /// Balance entries, of every account and asset.
    pub balances: Growth,
    /// Stored code (a deploy of code not stored yet).
    pub code: Growth,
}

impl StateGrowth {
    /// Bytes created in all parts: what a per-call limit on created bytes counts.
    pub fn created_bytes(&self) -> u64 {
        self.parts()
            .map(|part| part.created_bytes)
            .fold(0, u64::saturating_add)
    }

    /// Bytes freed in all parts.
    pub fn freed_bytes(&self) -> u64 {
        self.parts()
            .map(|part| part.freed_bytes)
            .fold(0, u64::saturating_add)
    }

    /// Created minus freed, over all parts.
    pub fn net_bytes(&self) -> i128 {
        i128::from(self.created_bytes()) - i128::from(self.freed_bytes())
    }

    /// Nothing created, nothing freed.
    pub fn is_empty(&self) -> bool {
        self.parts().all(|part| part.is_empty())
    }

    fn parts(&self) -> impl Iterator<Item = &Growth> {
        self.contracts.values().chain([&self.balances, &self.code])
    }

    /// Adds `later`'s figures (a deploy's own entries and its constructor's, say).
    pub fn merge(&mut self, later: &StateGrowth) {
        for (contract, growth) in &later.contracts {
            self.contracts.entry(*contract).or_default().add(growth);
        }
        self.balances.add(&later.balances);
        self.code.add(&later.code);
    }

    pub(crate) fn storage_change(
        &mut self,
        contract: &Hash,
        key: &[u8],
        before: Option<&[u8]>,
        after: Option<&[u8]>,
    ) {
        let size = |value: Option<&[u8]>| value.map_or(0, |value| storage_entry_bytes(key, value));
        let (before, after) = (size(before), size(after));
        if before != after {
            self.contracts
                .entry(*contract)
                .or_default()
                .resize(before, after);
        }
    }

    pub(crate) fn balance_change(&mut self, before: u64, after: u64) {
        let size = |amount: u64| if amount == 0 { 0 } else { BALANCE_ENTRY_BYTES };
        self.balances.resize(size(before), size(after));
    }

    pub(crate) fn contract_created(&mut self, address: &Hash) {
        self.contracts
            .entry(*address)
            .or_default()
            .resize(0, CONTRACT_ENTRY_BYTES);
    }

    /// What applying `changes` to `store` creates and frees (the values before are read from
    /// `store`). A change set of one call gives what [`Journal::into_parts_with_growth`](crate::Journal::into_parts_with_growth) gave.
    pub fn of_change_set(
        changes: &ChangeSet,
        store: &dyn StorageProvider,
    ) -> Result<StateGrowth, StorageError> {
        let mut growth = StateGrowth::default();
        for ((contract, key), after) in &changes.storage {
            let before = store.read_storage(contract, key)?;
            growth.storage_change(contract, key, before.as_deref(), after.as_deref());
        }
        for ((account, asset), after) in &changes.balances {
            growth.balance_change(store.read_balance(account, asset)?, *after);
        }
        for (hash, elf) in &changes.code {
            let before = store
                .read_code(hash)?
                .map_or(0, |old| code_entry_bytes(old.len()));
            growth.code.resize(before, code_entry_bytes(elf.len()));
        }
        for address in changes.contracts.keys() {
            if store.read_contract(address)?.is_none() {
                growth.contract_created(address);
            }
        }
        Ok(growth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Journal, MemoryStorage, NATIVE_ASSET};

    const C: Hash = Hash([1; 32]);
    const ALICE: Hash = Hash([2; 32]);
    const BOB: Hash = Hash([3; 32]);

    #[test]
    fn the_journal_and_the_change_set_agree() {
        let store = MemoryStorage::new()
            .with_storage(C, b"grow", b"12")
            .with_storage(C, b"shrink", b"123456")
            .with_storage(C, b"gone", b"xyz")
            .with_balance(ALICE, NATIVE_ASSET, 10);
        let mut journal = Journal::new(&store);
        journal.write_storage(&C, b"new", b"value").unwrap();
        journal.write_storage(&C, b"grow", b"12345").unwrap();
        journal.write_storage(&C, b"shrink", b"1").unwrap();
        assert!(journal.delete_storage(&C, b"gone").unwrap());
        // Written and written back: no growth.
        journal.write_storage(&C, b"same", b"v").unwrap();
        assert!(journal.delete_storage(&C, b"same").unwrap());
        // Alice's whole balance to Bob: one entry freed, one created.
        journal.transfer(&ALICE, &BOB, &NATIVE_ASSET, 10).unwrap();
        journal
            .create_contract(Hash([9; 32]), Hash([8; 32]))
            .unwrap();
        let (changes, _, growth) = journal.into_parts_with_growth();
        let contract = growth.contracts[&C];
        assert_eq!(contract.created_bytes, (32 + 3 + 5) + 3);
        assert_eq!(contract.freed_bytes, 5 + (32 + 4 + 3));
        assert_eq!(growth.balances.created_bytes, BALANCE_ENTRY_BYTES);
        assert_eq!(growth.balances.freed_bytes, BALANCE_ENTRY_BYTES);
        assert_eq!(
            growth.contracts[&Hash([9; 32])].created_bytes,
            CONTRACT_ENTRY_BYTES
        );
        assert_eq!(growth.created_bytes(), 43 + 72 + 64);
        assert_eq!(
            StateGrowth::of_change_set(&changes, &store).unwrap(),
            growth
        );
    }
}
