//! [`PendingState`]: the state of a block being executed, before it is committed.

use std::{collections::BTreeMap, sync::OnceLock};

use tos_storage::{ChangeSet, ContractInfo, Hash, StorageError, StorageProvider};

/// foldhash's per-map random seed, as `MemoryStorage` uses: a lookup hashes its key once where
/// a `BTreeMap` of a block's ~1,000 `(Hash, Vec)` keys compared ~10 of them (two `memcmp`s
/// each), on every read and every commit of the block. Nothing iterates these maps where
/// order shows: [`PendingState::changes`] sorts into a [`ChangeSet`].
type HashMap<K, V> = foldhash::HashMap<K, V>;

/// One contract's pending keys: the block's newest value of each (`None`: deleted).
type ContractKeys = HashMap<Vec<u8>, Option<Vec<u8>>>;

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
    /// By contract, then key: a read borrows its key instead of building a `(Hash, Vec)`.
    storage: HashMap<Hash, ContractKeys>,
    balances: HashMap<(Hash, Hash), u64>,
    code: HashMap<Hash, Vec<u8>>,
    contracts: HashMap<Hash, ContractInfo>,
    /// The pending changes as a [`ChangeSet`], built when [`changes`](Self::changes) asks and
    /// dropped by the next commit.
    built: OnceLock<ChangeSet>,
}

impl<'a, S: StorageProvider + ?Sized> PendingState<'a, S> {
    /// No pending changes over `base`.
    pub fn new(base: &'a S) -> Self {
        PendingState {
            base,
            storage: HashMap::default(),
            balances: HashMap::default(),
            code: HashMap::default(),
            contracts: HashMap::default(),
            built: OnceLock::new(),
        }
    }

    /// The state under the pending changes.
    pub fn base(&self) -> &'a S {
        self.base
    }

    /// Everything committed to this pending state so far, net (built on first call after a
    /// commit; [`into_changes`](Self::into_changes) moves instead of copying).
    pub fn changes(&self) -> &ChangeSet {
        self.built.get_or_init(|| ChangeSet {
            storage: self
                .storage
                .iter()
                .flat_map(|(contract, keys)| {
                    keys.iter()
                        .map(|(key, value)| ((*contract, key.clone()), value.clone()))
                })
                .collect(),
            balances: self.balances.iter().map(|(k, v)| (*k, *v)).collect(),
            code: self.code.iter().map(|(k, v)| (*k, v.clone())).collect(),
            contracts: self.contracts.iter().map(|(k, v)| (*k, *v)).collect(),
        })
    }

    /// The pending changes, ending the view.
    pub fn into_changes(mut self) -> ChangeSet {
        if let Some(built) = self.built.take() {
            return built;
        }
        // `BTreeMap::from_iter` sorts, then builds the tree in one pass.
        ChangeSet {
            storage: self
                .storage
                .into_iter()
                .flat_map(|(contract, keys)| {
                    keys.into_iter()
                        .map(move |(key, value)| ((contract, key), value))
                })
                .collect::<BTreeMap<_, _>>(),
            balances: self.balances.into_iter().collect(),
            code: self.code.into_iter().collect(),
            contracts: self.contracts.into_iter().collect(),
        }
    }

    /// [`into_changes`](Self::into_changes), with the storage entries put in key order by
    /// `sort` first (the block executor sorts shares on its workers: `BTreeMap::from_iter`
    /// then finds a few sorted runs and merges them instead of sorting every key on one
    /// thread). Whatever `sort` does, the change set is the same: a map of the same entries.
    pub(crate) fn into_changes_sorted_by(
        mut self,
        sort: impl FnOnce(&mut [StorageEntry]),
    ) -> ChangeSet {
        if let Some(built) = self.built.take() {
            return built;
        }
        let mut storage: Vec<StorageEntry> = self
            .storage
            .into_iter()
            .flat_map(|(contract, keys)| {
                keys.into_iter()
                    .map(move |(key, value)| ((contract, key), value))
            })
            .collect();
        sort(&mut storage);
        ChangeSet {
            storage: storage.into_iter().collect(),
            balances: self.balances.into_iter().collect(),
            code: self.code.into_iter().collect(),
            contracts: self.contracts.into_iter().collect(),
        }
    }

    /// The pending changes without the base, unsorted: for
    /// [`commit_detached`](Self::commit_detached) into the pending state this one was layered
    /// on (a parallel segment's net changes go to the block so, without a [`ChangeSet`]
    /// sorted in between).
    pub(crate) fn detach(self) -> DetachedChanges {
        DetachedChanges {
            storage: self.storage,
            balances: self.balances,
            code: self.code,
            contracts: self.contracts,
        }
    }

    /// [`StorageProvider::commit`] of the changes of a pending state layered on this one
    /// (later wins); into an empty pending state this moves the maps, nothing is rehashed.
    pub(crate) fn commit_detached(&mut self, changes: DetachedChanges) {
        fn extend<K: Eq + std::hash::Hash, V>(into: &mut HashMap<K, V>, later: HashMap<K, V>) {
            if into.is_empty() {
                *into = later;
            } else {
                into.extend(later);
            }
        }
        self.built.take();
        if self.storage.is_empty() {
            self.storage = changes.storage;
        } else {
            for (contract, keys) in changes.storage {
                extend(self.storage.entry(contract).or_default(), keys);
            }
        }
        extend(&mut self.balances, changes.balances);
        extend(&mut self.code, changes.code);
        extend(&mut self.contracts, changes.contracts);
    }

    /// The pending value of `key`: `Some(None)` a pending deletion, `None` not pending.
    fn pending_storage(&self, contract: &Hash, key: &[u8]) -> Option<&Option<Vec<u8>>> {
        self.storage.get(contract)?.get(key)
    }
}

/// A storage change as a [`ChangeSet`] holds it: (contract, key) and the value (`None`: deleted).
pub(crate) type StorageEntry = ((Hash, Vec<u8>), Option<Vec<u8>>);

/// A pending state's changes, detached from its base ([`PendingState::detach`]).
pub(crate) struct DetachedChanges {
    storage: HashMap<Hash, ContractKeys>,
    balances: HashMap<(Hash, Hash), u64>,
    code: HashMap<Hash, Vec<u8>>,
    contracts: HashMap<Hash, ContractInfo>,
}

impl<S: StorageProvider + ?Sized> StorageProvider for PendingState<'_, S> {
    fn read_storage(&self, contract: &Hash, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        match self.pending_storage(contract, key) {
            Some(value) => Ok(value.clone()),
            None => self.base.read_storage(contract, key),
        }
    }

    /// The pending value copied into `out`, or the base's `read_storage_into`: no vector per
    /// read on either path.
    fn read_storage_into(
        &self,
        contract: &Hash,
        key: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<usize>, StorageError> {
        match self.pending_storage(contract, key) {
            Some(Some(value)) => {
                out.extend_from_slice(value);
                Ok(Some(value.len()))
            }
            Some(None) => Ok(None),
            None => self.base.read_storage_into(contract, key, out),
        }
    }

    fn read_balance(&self, account: &Hash, asset: &Hash) -> Result<u64, StorageError> {
        match self.balances.get(&(*account, *asset)) {
            Some(amount) => Ok(*amount),
            None => self.base.read_balance(account, asset),
        }
    }

    fn read_contract(&self, address: &Hash) -> Result<Option<ContractInfo>, StorageError> {
        match self.contracts.get(address) {
            Some(info) => Ok(Some(*info)),
            None => self.base.read_contract(address),
        }
    }

    fn read_code(&self, code_hash: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
        match self.code.get(code_hash) {
            Some(elf) => Ok(Some(elf.clone())),
            None => self.base.read_code(code_hash),
        }
    }

    /// Never copies an ELF: pending code is a map lookup, the base answers for the rest.
    fn has_code(&self, code_hash: &Hash) -> Result<bool, StorageError> {
        if self.code.contains_key(code_hash) {
            return Ok(true);
        }
        self.base.has_code(code_hash)
    }

    /// Folds `changes` into the pending changes; `base` is never written.
    fn commit(&mut self, changes: &ChangeSet) -> Result<(), StorageError> {
        self.built.take();
        let mut last: Option<(&Hash, &mut ContractKeys)> = None;
        for ((contract, key), value) in &changes.storage {
            // A change set is ordered by contract: one outer lookup per contract.
            let keys = match last {
                Some((c, keys)) if c == contract => keys,
                _ => self.storage.entry(*contract).or_default(),
            };
            // A key the block wrote before (the sender's balance, on every transfer) keeps its
            // allocations: the value is copied into them.
            match keys.get_mut(key.as_slice()) {
                Some(pending) => pending.clone_from(value),
                None => {
                    keys.insert(key.clone(), value.clone());
                }
            }
            last = Some((contract, keys));
        }
        self.balances.extend(&changes.balances);
        for (hash, elf) in &changes.code {
            self.code.insert(*hash, elf.clone());
        }
        self.contracts.extend(&changes.contracts);
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
        first.create_contract(Hash([2; 32]), c);
        pending.commit(&first).unwrap();
        assert_eq!(
            pending.read_contract(&Hash([2; 32])).unwrap(),
            Some(ContractInfo { code_hash: c })
        );
        assert_eq!(pending.read_contract(&c).unwrap(), None);
        assert_eq!(pending.changes().len(), 5);
        drop(pending);
        assert_eq!(base, before);
    }

    /// The pending changes (kept in hash maps) come out as the change sets merged in commit
    /// order would: `changes()` and `into_changes()` alike, whatever the maps' order.
    #[test]
    fn changes_are_the_merged_change_sets() {
        let base = MemoryStorage::default();
        let mut pending = PendingState::new(&base);
        let mut merged = ChangeSet::default();
        for round in 0..20u8 {
            let mut changes = ChangeSet::default();
            for i in 0..5u8 {
                let contract = Hash([round % 3 + i % 2; 32]);
                let key = vec![i, round % 4];
                let value = (round % 5 != 0).then(|| vec![round; i as usize]);
                changes.set_storage(contract, key, value);
                changes.set_balance(contract, Hash([i; 32]), u64::from(round));
            }
            changes.deploy_code(Hash([round % 2; 32]), vec![round]);
            changes.create_contract(Hash([round % 6; 32]), Hash([round % 2; 32]));
            if round % 2 == 0 {
                pending.commit(&changes).unwrap();
            } else {
                let mut layered = PendingState::new(&base);
                layered.commit(&changes).unwrap();
                pending.commit_detached(layered.detach());
            }
            merged.merge(changes);
            assert_eq!(pending.changes(), &merged, "after round {round}");
        }
        assert_eq!(pending.into_changes(), merged);
        let mut fresh = PendingState::new(&base);
        fresh.commit(&merged).unwrap();
        assert_eq!(fresh.into_changes(), merged);
        for sort in [
            |_: &mut [StorageEntry]| {},
            |entries: &mut [StorageEntry]| entries.reverse(),
        ] {
            let mut again = PendingState::new(&base);
            again.commit(&merged).unwrap();
            assert_eq!(again.into_changes_sorted_by(sort), merged);
        }
        let (mut empty, mut layered) = (PendingState::new(&base), PendingState::new(&base));
        layered.commit(&merged).unwrap();
        empty.commit_detached(layered.detach());
        assert_eq!(empty.into_changes(), merged);
    }

    /// `read_storage_into` appends what `read_storage` returns, from the pending changes or
    /// the base, through nested pending states too, and leaves `out` alone for no value.
    #[test]
    fn read_storage_into_agrees_with_read_storage() {
        let c = Hash([1; 32]);
        let base = MemoryStorage::default()
            .with_storage(c, b"base", b"b")
            .with_storage(c, b"gone", b"g")
            .with_storage(c, b"over", b"o");
        let mut pending = PendingState::new(&base);
        let mut first = ChangeSet::default();
        first.set_storage(c, b"gone".to_vec(), None);
        first.set_storage(c, b"over".to_vec(), Some(b"pending".to_vec()));
        first.set_storage(c, b"new".to_vec(), Some(Vec::new()));
        pending.commit(&first).unwrap();
        let mut nested = PendingState::new(&pending);
        let mut later = ChangeSet::default();
        later.set_storage(c, b"base".to_vec(), Some(b"nested".to_vec()));
        nested.commit(&later).unwrap();
        let keys: [&[u8]; 6] = [b"base", b"gone", b"over", b"new", b"none", b""];
        for view in [&pending as &dyn StorageProvider, &nested, &base] {
            for key in keys {
                let mut out = b"xy".to_vec();
                let len = view.read_storage_into(&c, key, &mut out).unwrap();
                let value = view.read_storage(&c, key).unwrap();
                assert_eq!(len, value.as_ref().map(Vec::len));
                let mut expected = b"xy".to_vec();
                expected.extend_from_slice(value.as_deref().unwrap_or_default());
                assert_eq!(out, expected, "{:?}", String::from_utf8_lossy(key));
            }
        }
        assert_eq!(
            nested.read_storage(&c, b"base").unwrap(),
            Some(b"nested".to_vec())
        );
        assert_eq!(
            pending.read_storage(&c, b"base").unwrap(),
            Some(b"b".to_vec())
        );
        assert_eq!(nested.read_storage(&c, b"gone").unwrap(), None);
        assert_eq!(
            nested.read_storage(&c, b"over").unwrap(),
            Some(b"pending".to_vec())
        );
        assert_eq!(nested.read_storage(&c, b"new").unwrap(), Some(Vec::new()));
    }

    /// A base that counts ELF copies.
    struct CountingBase {
        inner: MemoryStorage,
        code_reads: std::cell::Cell<usize>,
    }

    impl StorageProvider for CountingBase {
        fn read_storage(&self, c: &Hash, k: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
            self.inner.read_storage(c, k)
        }
        fn read_balance(&self, a: &Hash, s: &Hash) -> Result<u64, StorageError> {
            self.inner.read_balance(a, s)
        }
        fn read_contract(&self, a: &Hash) -> Result<Option<ContractInfo>, StorageError> {
            self.inner.read_contract(a)
        }
        fn read_code(&self, c: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
            self.code_reads.set(self.code_reads.get() + 1);
            self.inner.read_code(c)
        }
        fn has_code(&self, c: &Hash) -> Result<bool, StorageError> {
            self.inner.has_code(c)
        }
        fn commit(&mut self, _: &ChangeSet) -> Result<(), StorageError> {
            unreachable!("a pending state never writes its base")
        }
    }

    /// Issue 18 item 5: `has_code` through a pending state copied the whole ELF (the trait's
    /// default fell back to `read_code`), on every call of a block.
    #[test]
    fn has_code_never_copies_the_elf() {
        let stored = Hash([3; 32]);
        let base = CountingBase {
            inner: MemoryStorage::default().with_code(stored, vec![0x7f; 4096]),
            code_reads: std::cell::Cell::new(0),
        };
        let mut pending = PendingState::new(&base);
        let mut changes = ChangeSet::default();
        changes.deploy_code(Hash([4; 32]), b"elf".to_vec());
        pending.commit(&changes).unwrap();
        assert!(pending.has_code(&stored).unwrap());
        assert!(pending.has_code(&Hash([4; 32])).unwrap());
        assert!(!pending.has_code(&Hash([5; 32])).unwrap());
        assert_eq!(base.code_reads.get(), 0);
    }
}
