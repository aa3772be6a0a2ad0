//! [`ChangeSet`]: the final effect of one (or several) successful invokes, applied atomically
//! by [`StorageProvider::commit`](crate::StorageProvider::commit).

use crate::types::{ContractInfo, Hash};
use borsh::{BorshDeserialize, BorshSerialize};
use std::collections::BTreeMap;

/// Final values to write into a [`StorageProvider`](crate::StorageProvider).
///
/// Every map is a `BTreeMap`, so iteration order, `Debug` output and the borsh encoding are
/// deterministic: two nodes that ran the same invokes produce byte-identical change sets.
///
/// * `storage`: `(contract, key) → Some(value)` writes, `→ None` deletes.
/// * `balances`: `(account, asset) → new absolute balance`. A balance of 0 is the same as no
///   balance: adapters remove the entry.
/// * `code`: `code hash → ELF`, deployed (or replaced) code.
/// * `contracts`: `instance address → ContractInfo`, contract instances created.
#[derive(Debug, Clone, PartialEq, Eq, Default, BorshSerialize, BorshDeserialize)]
pub struct ChangeSet {
    pub storage: BTreeMap<(Hash, Vec<u8>), Option<Vec<u8>>>,
    pub balances: BTreeMap<(Hash, Hash), u64>,
    pub code: BTreeMap<Hash, Vec<u8>>,
    pub contracts: BTreeMap<Hash, ContractInfo>,
}

impl ChangeSet {
    /// An empty change set.
    pub fn new() -> ChangeSet {
        ChangeSet::default()
    }

    /// Sets (`Some`) or deletes (`None`) `key` of `contract`. A later call for the same key wins.
    pub fn set_storage(&mut self, contract: Hash, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.storage.insert((contract, key), value);
    }

    /// Sets the absolute balance of `account` in `asset`. A later call for the same pair wins.
    pub fn set_balance(&mut self, account: Hash, asset: Hash, amount: u64) {
        self.balances.insert((account, asset), amount);
    }

    /// Deploys `elf` under the code hash `hash`.
    pub fn deploy_code(&mut self, hash: Hash, elf: Vec<u8>) {
        self.code.insert(hash, elf);
    }

    /// Creates the instance `address` running the code `code_hash`.
    pub fn create_contract(&mut self, address: Hash, code_hash: Hash) {
        self.contracts.insert(address, ContractInfo { code_hash });
    }

    /// `true` when applying this change set changes nothing.
    pub fn is_empty(&self) -> bool {
        self.storage.is_empty()
            && self.balances.is_empty()
            && self.code.is_empty()
            && self.contracts.is_empty()
    }

    /// Number of individual changes (storage keys + balances + code entries + instances).
    pub fn len(&self) -> usize {
        self.storage.len() + self.balances.len() + self.code.len() + self.contracts.len()
    }

    /// Folds `later` into `self`: for every key both touch, `later`'s value wins. Applying the
    /// result equals applying `self` then `later`.
    pub fn merge(&mut self, later: ChangeSet) {
        // Into an empty map, `later`'s map is the result: moved, not inserted key by key.
        fn fold<K: Ord, V>(into: &mut BTreeMap<K, V>, later: BTreeMap<K, V>) {
            if into.is_empty() {
                *into = later;
            } else {
                into.extend(later);
            }
        }
        fold(&mut self.storage, later.storage);
        fold(&mut self.balances, later.balances);
        fold(&mut self.code, later.code);
        fold(&mut self.contracts, later.contracts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_fill_the_maps_and_later_wins() {
        let c = Hash([1; 32]);
        let mut cs = ChangeSet::new();
        assert!(cs.is_empty());
        cs.set_storage(c, b"k".to_vec(), Some(b"v1".to_vec()));
        cs.set_storage(c, b"k".to_vec(), Some(b"v2".to_vec()));
        cs.set_storage(c, b"gone".to_vec(), None);
        cs.set_balance(c, Hash([0; 32]), 10);
        cs.set_balance(c, Hash([0; 32]), 11);
        cs.deploy_code(Hash([9; 32]), vec![0x7f, b'E', b'L', b'F']);
        assert!(!cs.is_empty());
        assert_eq!(cs.len(), 4);
        assert_eq!(cs.storage[&(c, b"k".to_vec())], Some(b"v2".to_vec()));
        assert_eq!(cs.storage[&(c, b"gone".to_vec())], None);
        assert_eq!(cs.balances[&(c, Hash([0; 32]))], 11);
    }

    #[test]
    fn ordering_is_deterministic() {
        let mut a = ChangeSet::new();
        let mut b = ChangeSet::new();
        for i in 0..20u8 {
            a.set_storage(Hash([i % 3; 32]), vec![i], Some(vec![i]));
        }
        for i in (0..20u8).rev() {
            b.set_storage(Hash([i % 3; 32]), vec![i], Some(vec![i]));
        }
        assert_eq!(a, b);
        assert_eq!(borsh::to_vec(&a).unwrap(), borsh::to_vec(&b).unwrap());
        let keys: Vec<_> = a.storage.keys().cloned().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn borsh_round_trip() {
        let mut cs = ChangeSet::new();
        cs.set_storage(Hash([2; 32]), b"a".to_vec(), Some(vec![1, 2, 3]));
        cs.set_storage(Hash([2; 32]), b"b".to_vec(), None);
        cs.set_balance(Hash([3; 32]), Hash([4; 32]), u64::MAX);
        cs.deploy_code(Hash([5; 32]), vec![1; 100]);
        cs.create_contract(Hash([6; 32]), Hash([5; 32]));
        let bytes = borsh::to_vec(&cs).unwrap();
        let back: ChangeSet = borsh::from_slice(&bytes).unwrap();
        assert_eq!(back, cs);
    }

    #[test]
    fn merge_later_wins() {
        let c = Hash([1; 32]);
        let mut first = ChangeSet::new();
        first.set_storage(c, b"x".to_vec(), Some(b"1".to_vec()));
        first.set_storage(c, b"y".to_vec(), Some(b"1".to_vec()));
        first.set_balance(c, c, 5);
        let mut later = ChangeSet::new();
        later.set_storage(c, b"x".to_vec(), None);
        later.set_balance(c, c, 7);
        first.merge(later);
        assert_eq!(first.storage[&(c, b"x".to_vec())], None);
        assert_eq!(first.storage[&(c, b"y".to_vec())], Some(b"1".to_vec()));
        assert_eq!(first.balances[&(c, c)], 7);
    }
}
