//! [`MemoryStorage`]: the in-memory adapter, for tests and tools. It keeps the state's history
//! by block height like [`DiskStorage`](crate::DiskStorage) (see [`VersionedStorage`]).

use crate::changes::ChangeSet;
use crate::error::StorageError;
use crate::types::{ContractInfo, Hash};
use crate::versioned::{check_readable, StateAt, VersionRows, VersionedStorage};
use crate::StorageProvider;
use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::hash::Hash as StdHash;

/// A hash map with foldhash's per-map random seed: a lookup hashes its key once (~tens of
/// instructions for a short key) where a `BTreeMap` of ~1,000 byte-string keys compared
/// ~10 keys with `memcmp` calls (~950 instructions per read). The random seed keeps keys a
/// contract chooses from being crafted to collide. Nothing here iterates these maps where
/// order shows: listings sort (see [`sorted`]).
type HashMap<K, V> = foldhash::HashMap<K, V>;
type HashSet<K> = foldhash::HashSet<K>;

/// The entries of `map` in key order: listings and `Debug` stay deterministic.
fn sorted<K: Ord, V>(map: &HashMap<K, V>) -> Vec<(&K, &V)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    entries
}

/// Whole chain state in hash maps: the latest state plus, per key, its versions by height.
///
/// `Clone + PartialEq` so a test can snapshot a state and compare two states as a whole. Zero
/// balances are never stored (a balance of 0 is the same as no balance), and a version is kept
/// only where a value changes, so two states built by the same blocks compare equal however
/// each block's writes were split between `commit`s and direct setters, and a write undone in
/// the same block leaves no trace.
///
/// `commit` and the setters write into the *pending* block, which `commit_block` seals at its
/// height: a sealed height never changes again (see [`VersionedStorage`]).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct MemoryStorage {
    /// By contract, then key, so a read borrows its key instead of building a `(Hash, Vec)`;
    /// no empty inner map is kept, so equal states compare equal.
    storage: HashMap<Hash, HashMap<Vec<u8>, Vec<u8>>>,
    balances: HashMap<(Hash, Hash), u64>,
    code: HashMap<Hash, Vec<u8>>,
    contracts: HashMap<Hash, ContractInfo>,
    history: History,
}

/// In key order (the maps are hash maps): the same state always prints the same.
impl std::fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let storage: Vec<_> = sorted(&self.storage)
            .into_iter()
            .map(|(contract, keys)| (contract, sorted(keys)))
            .collect();
        f.debug_struct("MemoryStorage")
            .field("storage", &storage)
            .field("balances", &sorted(&self.balances))
            .field("code", &sorted(&self.code))
            .field("contracts", &sorted(&self.contracts))
            .field("history", &self.history)
            .finish()
    }
}

/// Versions of one key by height.
type Versions<V> = BTreeMap<u64, V>;
/// Versions of one storage value (`None`: deleted).
type ValueVersions = Versions<Option<Vec<u8>>>;

/// Versions by height, each only where the value changed (`None` / 0: deleted).
#[derive(Clone, PartialEq, Eq, Default)]
struct History {
    /// By contract, then key, like the latest values (no empty inner map is kept).
    storage: HashMap<Hash, HashMap<Vec<u8>, ValueVersions>>,
    balances: HashMap<(Hash, Hash), Versions<u64>>,
    code: HashMap<Hash, ValueVersions>,
    contracts: HashMap<Hash, Versions<Option<ContractInfo>>>,
    /// Height of the last committed block; `None` before the first block.
    tip: Option<u64>,
    /// Oldest readable height.
    oldest: u64,
    /// The keys whose latest value differs from their newest sealed version: the pending
    /// block, sealed by `commit_block` from the latest state. Its values are not copied into
    /// the history before then (a commit writes each value once, into the latest state).
    pending: PendingKeys,
}

/// In key order, as [`MemoryStorage`]'s `Debug`.
impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let storage: Vec<_> = sorted(&self.storage)
            .into_iter()
            .map(|(contract, keys)| (contract, sorted(keys)))
            .collect();
        f.debug_struct("History")
            .field("storage", &storage)
            .field("balances", &sorted(&self.balances))
            .field("code", &sorted(&self.code))
            .field("contracts", &sorted(&self.contracts))
            .field("tip", &self.tip)
            .field("oldest", &self.oldest)
            .field("pending", &self.pending)
            .finish()
    }
}

/// The keys the pending block changed, per kind: what `commit_block` seals (in any order:
/// each key's seal is independent of the others').
#[derive(Clone, PartialEq, Eq, Default)]
struct PendingKeys {
    /// By contract, then key; no empty inner set is kept.
    storage: HashMap<Hash, HashSet<Vec<u8>>>,
    balances: HashSet<(Hash, Hash)>,
    code: HashSet<Hash>,
    contracts: HashSet<Hash>,
}

/// In key order, as [`MemoryStorage`]'s `Debug`.
impl std::fmt::Debug for PendingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn ordered<K: Ord>(set: &HashSet<K>) -> Vec<&K> {
            let mut keys: Vec<_> = set.iter().collect();
            keys.sort_unstable();
            keys
        }
        let storage: Vec<_> = sorted(&self.storage)
            .into_iter()
            .map(|(contract, keys)| (contract, ordered(keys)))
            .collect();
        f.debug_struct("PendingKeys")
            .field("storage", &storage)
            .field("balances", &ordered(&self.balances))
            .field("code", &ordered(&self.code))
            .field("contracts", &ordered(&self.contracts))
            .finish()
    }
}

/// Records `value` as the version of one key at `height`, dropping it again when it equals the
/// version below: versions stay exactly the points where the value changes. Returns whether
/// the key has a version at `height` now.
fn record<K, Q, V: PartialEq>(
    history: &mut HashMap<K, BTreeMap<u64, V>>,
    key: &Q,
    height: u64,
    value: V,
    absent: impl Fn(&V) -> bool,
) -> bool
where
    K: Eq + StdHash + Borrow<Q>,
    Q: Eq + StdHash + ?Sized + ToOwned<Owned = K>,
{
    let versions = match history.get_mut(key) {
        Some(versions) => versions,
        // The key is copied only when it gets its first version.
        None => history.entry(key.to_owned()).or_default(),
    };
    let unchanged = match versions.range(..height).next_back() {
        Some((_, below)) => *below == value,
        None => absent(&value),
    };
    if unchanged {
        versions.remove(&height);
    } else {
        versions.insert(height, value);
    }
    if versions.is_empty() {
        history.remove(key);
    }
    !unchanged
}

/// Whether a key whose newest sealed version (if any) is `sealed` changes when its latest value
/// becomes one for which `same` says whether it equals a version and `absent` whether it is no
/// value at all.
fn differs_from_sealed<V>(
    sealed: Option<&Versions<V>>,
    same: impl Fn(&V) -> bool,
    absent: bool,
) -> bool {
    match sealed.and_then(|versions| versions.last_key_value()) {
        Some((_, version)) => !same(version),
        None => !absent,
    }
}

/// Puts `key` in the pending block when its latest value `changed` from its newest sealed
/// version, takes it out otherwise.
fn mark_pending<K, Q>(pending: &mut HashSet<K>, key: &Q, changed: bool)
where
    K: Eq + StdHash + Borrow<Q>,
    Q: Eq + StdHash + ?Sized + ToOwned<Owned = K>,
{
    if changed {
        if !pending.contains(key) {
            pending.insert(key.to_owned());
        }
    } else {
        pending.remove(key);
    }
}

/// Records the latest value of every pending key (`latest`) as its version at `height`.
fn seal<K: Eq + StdHash + Clone, V: PartialEq>(
    history: &mut HashMap<K, BTreeMap<u64, V>>,
    pending: &mut HashSet<K>,
    height: u64,
    latest: impl Fn(&K) -> V,
    absent: impl Fn(&V) -> bool,
) {
    for key in std::mem::take(pending) {
        let value = latest(&key);
        record(history, &key, height, value, &absent);
    }
}

/// The version visible at `height`, if any.
fn visible<'h, K: Eq + StdHash + Borrow<Q>, Q: Eq + StdHash + ?Sized, V>(
    history: &'h HashMap<K, BTreeMap<u64, V>>,
    key: &Q,
    height: u64,
) -> Option<&'h V> {
    history
        .get(key)
        .and_then(|versions| versions.range(..=height).next_back())
        .map(|(_, value)| value)
}

/// Keeps, per key, the newest version at or below `height` (unless it is a deletion) and every
/// version above it.
fn prune<K, V>(
    history: &mut HashMap<K, BTreeMap<u64, V>>,
    height: u64,
    absent: impl Fn(&V) -> bool,
) {
    history.retain(|_, versions| {
        if let Some((&kept, value)) = versions.range(..=height).next_back() {
            let drop_kept = absent(value);
            versions.retain(|&h, _| h > kept || (h == kept && !drop_kept));
        }
        !versions.is_empty()
    });
}

impl MemoryStorage {
    /// An empty state.
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }

    /// Builder: `self` with `account` holding `amount` of `asset`.
    pub fn with_balance(mut self, account: Hash, asset: Hash, amount: u64) -> MemoryStorage {
        self.set_balance(account, asset, amount);
        self
    }

    /// Builder: `self` with `key = value` in `contract`'s storage.
    pub fn with_storage(mut self, contract: Hash, key: &[u8], value: &[u8]) -> MemoryStorage {
        self.set_storage(contract, key, Some(value));
        self
    }

    /// Builder: `self` with `elf` deployed under `hash`.
    pub fn with_code(mut self, hash: Hash, elf: Vec<u8>) -> MemoryStorage {
        self.deploy_code(hash, elf);
        self
    }

    /// Builder: `self` with the instance `address` running `code_hash` (see
    /// [`create_contract`](Self::create_contract)).
    pub fn with_contract(mut self, address: Hash, code_hash: Hash) -> MemoryStorage {
        self.create_contract(address, code_hash);
        self
    }

    /// Creates the instance `address` running the code `code_hash` directly (test setup), in
    /// the pending block.
    pub fn create_contract(&mut self, address: Hash, code_hash: Hash) {
        self.write_contract(address, ContractInfo { code_hash });
    }

    /// Sets a balance directly, bypassing any journal (test setup), in the pending block. 0
    /// removes the entry.
    pub fn set_balance(&mut self, account: Hash, asset: Hash, amount: u64) {
        self.write_balance(account, asset, amount);
    }

    /// Sets (`Some`) or deletes (`None`) a storage value directly (test setup), in the pending
    /// block.
    pub fn set_storage(&mut self, contract: Hash, key: &[u8], value: Option<&[u8]>) {
        self.write_storage(contract, key, value);
    }

    /// Deploys code directly (test setup), in the pending block.
    pub fn deploy_code(&mut self, hash: Hash, elf: Vec<u8>) {
        self.write_code(hash, elf);
    }

    fn write_balance(&mut self, account: Hash, asset: Hash, amount: u64) {
        let pair = (account, asset);
        if amount == 0 {
            self.balances.remove(&pair);
        } else {
            self.balances.insert(pair, amount);
        }
        let history = &mut self.history;
        let changed = differs_from_sealed(
            history.balances.get(&pair),
            |sealed| *sealed == amount,
            amount == 0,
        );
        mark_pending(&mut history.pending.balances, &pair, changed);
    }

    fn write_storage(&mut self, contract: Hash, key: &[u8], value: Option<&[u8]>) {
        match value {
            Some(value) => {
                let keys = self.storage.entry(contract).or_default();
                match keys.get_mut(key) {
                    // Overwritten in place: no new key, and the old buffer is reused.
                    Some(current) => {
                        current.clear();
                        current.extend_from_slice(value);
                    }
                    None => {
                        keys.insert(key.to_vec(), value.to_vec());
                    }
                }
            }
            None => {
                if let Some(keys) = self.storage.get_mut(&contract) {
                    keys.remove(key);
                    if keys.is_empty() {
                        self.storage.remove(&contract);
                    }
                }
            }
        }
        let history = &mut self.history;
        let changed = differs_from_sealed(
            history
                .storage
                .get(&contract)
                .and_then(|keys| keys.get(key)),
            |sealed| sealed.as_deref() == value,
            value.is_none(),
        );
        match history.pending.storage.get_mut(&contract) {
            Some(pending) => {
                mark_pending(pending, key, changed);
                if pending.is_empty() {
                    history.pending.storage.remove(&contract);
                }
            }
            None if changed => {
                let mut keys = HashSet::default();
                keys.insert(key.to_vec());
                history.pending.storage.insert(contract, keys);
            }
            None => {}
        }
    }

    fn write_code(&mut self, hash: Hash, elf: Vec<u8>) {
        let history = &mut self.history;
        let changed = differs_from_sealed(
            history.code.get(&hash),
            |sealed| sealed.as_deref() == Some(&elf[..]),
            false,
        );
        mark_pending(&mut history.pending.code, &hash, changed);
        self.code.insert(hash, elf);
    }

    fn write_contract(&mut self, address: Hash, info: ContractInfo) {
        let history = &mut self.history;
        let changed = differs_from_sealed(
            history.contracts.get(&address),
            |sealed| *sealed == Some(info),
            false,
        );
        mark_pending(&mut history.pending.contracts, &address, changed);
        self.contracts.insert(address, info);
    }

    /// Adds `changes` to the pending block: the latest state and the pending versions.
    fn apply(&mut self, changes: &ChangeSet) {
        for ((contract, key), value) in &changes.storage {
            self.write_storage(*contract, key, value.as_deref());
        }
        for (&(account, asset), &amount) in &changes.balances {
            self.write_balance(account, asset, amount);
        }
        for (hash, elf) in &changes.code {
            self.write_code(*hash, elf.clone());
        }
        for (address, info) in &changes.contracts {
            self.write_contract(*address, *info);
        }
    }

    /// Whether writes wait in the pending block (`commit` or the setters since the last
    /// `commit_block`) that the next `commit_block` seals.
    pub fn has_pending_changes(&self) -> bool {
        let pending = &self.history.pending;
        !(pending.storage.is_empty()
            && pending.balances.is_empty()
            && pending.code.is_empty()
            && pending.contracts.is_empty())
    }

    /// Every `(key, value)` of `contract`, in key order.
    pub fn storage_entries(&self, contract: &Hash) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.storage
            .get(contract)
            .map(sorted)
            .into_iter()
            .flatten()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }

    /// Every non-zero balance as `(account, asset, amount)`, ordered by account then asset.
    pub fn balances(&self) -> Vec<(Hash, Hash, u64)> {
        sorted(&self.balances)
            .into_iter()
            .map(|(&(account, asset), &amount)| (account, asset, amount))
            .collect()
    }

    /// Every deployed code hash, in order.
    pub fn code_hashes(&self) -> Vec<Hash> {
        sorted(&self.code)
            .into_iter()
            .map(|(hash, _)| *hash)
            .collect()
    }

    /// Every contract instance as `(address, info)`, in address order.
    pub fn contracts(&self) -> Vec<(Hash, ContractInfo)> {
        sorted(&self.contracts)
            .into_iter()
            .map(|(a, i)| (*a, *i))
            .collect()
    }

    /// Sum of all balances of `asset` (u128: cannot overflow for fewer than 2^64 accounts).
    pub fn total_supply(&self, asset: &Hash) -> u128 {
        self.balances
            .iter()
            .filter(|((_, a), _)| a == asset)
            .map(|(_, &amount)| u128::from(amount))
            .sum()
    }

    /// Height of the last committed block; 0 before the first block.
    pub fn block_height(&self) -> u64 {
        self.history.tip.unwrap_or(0)
    }

    /// The oldest readable height (the last [`prune_below`](Self::prune_below) height).
    pub fn oldest_height(&self) -> u64 {
        self.history.oldest
    }

    /// Seals the pending block with `changes` added as the block at `height` (see
    /// [`VersionedStorage::commit_block`]).
    pub fn commit_block(&mut self, height: u64, changes: &ChangeSet) -> Result<(), StorageError> {
        crate::versioned::check_new_block(height, self.history.tip)?;
        self.apply(changes);
        let history = &mut self.history;
        let pending = &mut history.pending;
        for (contract, mut keys) in std::mem::take(&mut pending.storage) {
            let versions = history.storage.entry(contract).or_default();
            let latest = self.storage.get(&contract);
            seal(
                versions,
                &mut keys,
                height,
                |key| latest.and_then(|values| values.get(key)).cloned(),
                Option::is_none,
            );
            if versions.is_empty() {
                history.storage.remove(&contract);
            }
        }
        let balances = &self.balances;
        seal(
            &mut history.balances,
            &mut pending.balances,
            height,
            |pair| balances.get(pair).copied().unwrap_or(0),
            |a| *a == 0,
        );
        let code = &self.code;
        seal(
            &mut history.code,
            &mut pending.code,
            height,
            |hash| code.get(hash).cloned(),
            Option::is_none,
        );
        let contracts = &self.contracts;
        seal(
            &mut history.contracts,
            &mut pending.contracts,
            height,
            |address| contracts.get(address).copied(),
            Option::is_none,
        );
        history.tip = Some(height);
        Ok(())
    }

    /// Forgets the versions only heights below `height` can see (see
    /// [`VersionedStorage::prune_below`]).
    pub fn prune_below(&mut self, height: u64) -> Result<(), StorageError> {
        let tip = self.block_height();
        if height > tip {
            return Err(StorageError::HeightInFuture { height, tip });
        }
        if height <= self.history.oldest {
            return Ok(());
        }
        self.history.storage.retain(|_, keys| {
            prune(keys, height, Option::is_none);
            !keys.is_empty()
        });
        prune(&mut self.history.balances, height, |a| *a == 0);
        prune(&mut self.history.code, height, Option::is_none);
        prune(&mut self.history.contracts, height, Option::is_none);
        self.history.oldest = height;
        Ok(())
    }

    fn check_readable(&self, height: u64) -> Result<(), StorageError> {
        check_readable(height, self.history.oldest, self.block_height())
    }

    /// The value of `key` in `contract`'s storage as of `height`.
    pub fn read_storage_at(
        &self,
        contract: &Hash,
        key: &[u8],
        height: u64,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        self.check_readable(height)?;
        Ok(self
            .history
            .storage
            .get(contract)
            .and_then(|keys| visible(keys, key, height))
            .cloned()
            .flatten())
    }

    /// The balance of `account` in `asset` as of `height`.
    pub fn read_balance_at(
        &self,
        account: &Hash,
        asset: &Hash,
        height: u64,
    ) -> Result<u64, StorageError> {
        self.check_readable(height)?;
        Ok(visible(&self.history.balances, &(*account, *asset), height)
            .copied()
            .unwrap_or(0))
    }

    /// The code deployed under `hash` as of `height`.
    pub fn read_code_at(&self, hash: &Hash, height: u64) -> Result<Option<Vec<u8>>, StorageError> {
        self.check_readable(height)?;
        Ok(visible(&self.history.code, hash, height).cloned().flatten())
    }

    /// Whether code was deployed under `hash` as of `height` (no ELF copy).
    pub fn has_code_at(&self, hash: &Hash, height: u64) -> Result<bool, StorageError> {
        self.check_readable(height)?;
        Ok(visible(&self.history.code, hash, height).is_some_and(Option::is_some))
    }

    /// The contract instance at `address` as of `height`.
    pub fn read_contract_at(
        &self,
        address: &Hash,
        height: u64,
    ) -> Result<Option<ContractInfo>, StorageError> {
        self.check_readable(height)?;
        Ok(visible(&self.history.contracts, address, height)
            .copied()
            .flatten())
    }

    /// Every live `(key, value)` of `contract` as of `height`, in key order.
    #[allow(clippy::type_complexity)]
    pub fn list_storage_at(
        &self,
        contract: &Hash,
        height: u64,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StorageError> {
        self.check_readable(height)?;
        Ok(self
            .history
            .storage
            .get(contract)
            .map(sorted)
            .into_iter()
            .flatten()
            .filter_map(|(key, versions)| {
                let (_, value) = versions.range(..=height).next_back()?;
                Some((key.clone(), value.clone()?))
            })
            .collect())
    }

    /// A read-only view of the state as of `height`.
    pub fn at(&self, height: u64) -> Result<StateAt<'_>, StorageError> {
        StateAt::new(self, height)
    }

    /// Number of stored versions (storage, balances, code): what pruning shrinks.
    pub fn version_rows(&self) -> VersionRows {
        fn count<K, V>(history: &HashMap<K, BTreeMap<u64, V>>) -> u64 {
            history.values().map(|versions| versions.len() as u64).sum()
        }
        // A pending key counts as the version it will be once sealed.
        let pending = &self.history.pending;
        VersionRows {
            storage: self.history.storage.values().map(count).sum::<u64>()
                + pending
                    .storage
                    .values()
                    .map(|keys| keys.len() as u64)
                    .sum::<u64>(),
            balances: count(&self.history.balances) + pending.balances.len() as u64,
            code: count(&self.history.code) + pending.code.len() as u64,
            contracts: count(&self.history.contracts) + pending.contracts.len() as u64,
        }
    }
}

impl StorageProvider for MemoryStorage {
    fn read_storage(&self, contract: &Hash, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        // A (Hash, Vec<u8>) key needs an owned Vec to look up; keys are short.
        Ok(self
            .storage
            .get(contract)
            .and_then(|keys| keys.get(key))
            .cloned())
    }

    fn read_storage_into(
        &self,
        contract: &Hash,
        key: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<usize>, StorageError> {
        Ok(self
            .storage
            .get(contract)
            .and_then(|keys| keys.get(key))
            .map(|value| {
                out.extend_from_slice(value);
                value.len()
            }))
    }

    fn read_balance(&self, account: &Hash, asset: &Hash) -> Result<u64, StorageError> {
        Ok(self.balances.get(&(*account, *asset)).copied().unwrap_or(0))
    }

    fn read_contract(&self, address: &Hash) -> Result<Option<ContractInfo>, StorageError> {
        Ok(self.contracts.get(address).copied())
    }

    fn read_code(&self, code_hash: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.code.get(code_hash).cloned())
    }

    fn has_code(&self, code_hash: &Hash) -> Result<bool, StorageError> {
        Ok(self.code.contains_key(code_hash))
    }

    /// Adds `changes` to the pending block, never to a sealed height. Cannot fail, so
    /// trivially all-or-nothing.
    fn commit(&mut self, changes: &ChangeSet) -> Result<(), StorageError> {
        self.apply(changes);
        Ok(())
    }
}

impl VersionedStorage for MemoryStorage {
    fn block_height(&self) -> Result<u64, StorageError> {
        Ok(MemoryStorage::block_height(self))
    }

    fn oldest_height(&self) -> Result<u64, StorageError> {
        Ok(MemoryStorage::oldest_height(self))
    }

    fn has_pending_changes(&self) -> Result<bool, StorageError> {
        Ok(MemoryStorage::has_pending_changes(self))
    }

    fn commit_block(&mut self, height: u64, changes: &ChangeSet) -> Result<(), StorageError> {
        MemoryStorage::commit_block(self, height, changes)
    }

    fn prune_below(&mut self, height: u64) -> Result<(), StorageError> {
        MemoryStorage::prune_below(self, height)
    }

    fn read_storage_at(
        &self,
        contract: &Hash,
        key: &[u8],
        height: u64,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        MemoryStorage::read_storage_at(self, contract, key, height)
    }

    fn read_balance_at(
        &self,
        account: &Hash,
        asset: &Hash,
        height: u64,
    ) -> Result<u64, StorageError> {
        MemoryStorage::read_balance_at(self, account, asset, height)
    }

    fn read_code_at(&self, hash: &Hash, height: u64) -> Result<Option<Vec<u8>>, StorageError> {
        MemoryStorage::read_code_at(self, hash, height)
    }

    fn has_code_at(&self, hash: &Hash, height: u64) -> Result<bool, StorageError> {
        MemoryStorage::has_code_at(self, hash, height)
    }

    fn read_contract_at(
        &self,
        address: &Hash,
        height: u64,
    ) -> Result<Option<ContractInfo>, StorageError> {
        MemoryStorage::read_contract_at(self, address, height)
    }

    fn list_storage_at(
        &self,
        contract: &Hash,
        height: u64,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StorageError> {
        MemoryStorage::list_storage_at(self, contract, height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NATIVE_ASSET;

    const A: Hash = Hash([1; 32]);
    const B: Hash = Hash([2; 32]);

    #[test]
    fn unknown_reads_are_empty() {
        let s = MemoryStorage::new();
        assert_eq!(s.read_storage(&A, b"k").unwrap(), None);
        assert_eq!(s.read_balance(&A, &NATIVE_ASSET).unwrap(), 0);
        assert_eq!(s.read_code(&A).unwrap(), None);
    }

    #[test]
    fn builders_and_reads() {
        let s = MemoryStorage::new()
            .with_balance(A, NATIVE_ASSET, 100)
            .with_storage(B, b"k", b"v")
            .with_code(B, vec![1, 2, 3]);
        assert_eq!(s.read_balance(&A, &NATIVE_ASSET).unwrap(), 100);
        assert_eq!(s.read_storage(&B, b"k").unwrap(), Some(b"v".to_vec()));
        assert_eq!(s.read_code(&B).unwrap(), Some(vec![1, 2, 3]));
        assert_eq!(s.code_hashes(), vec![B]);
        assert_eq!(s.balances(), vec![(A, NATIVE_ASSET, 100)]);
        assert_eq!(s.total_supply(&NATIVE_ASSET), 100);
    }

    #[test]
    fn commit_applies_writes_deletes_and_zero_balances() {
        let mut s = MemoryStorage::new()
            .with_storage(A, b"old", b"1")
            .with_balance(A, NATIVE_ASSET, 5);
        let mut cs = ChangeSet::new();
        cs.set_storage(A, b"old".to_vec(), None);
        cs.set_storage(A, b"new".to_vec(), Some(b"2".to_vec()));
        cs.set_balance(A, NATIVE_ASSET, 0);
        cs.set_balance(B, NATIVE_ASSET, 9);
        s.commit(&cs).unwrap();
        assert_eq!(s.read_storage(&A, b"old").unwrap(), None);
        assert_eq!(s.read_storage(&A, b"new").unwrap(), Some(b"2".to_vec()));
        assert_eq!(s.balances(), vec![(B, NATIVE_ASSET, 9)]);
        // A zero balance is not stored: equal to a state that never had it.
        let expected = MemoryStorage::new()
            .with_storage(A, b"new", b"2")
            .with_balance(B, NATIVE_ASSET, 9);
        assert_eq!(s, expected);
    }

    #[test]
    fn versions_by_height() {
        let mut s = MemoryStorage::new();
        let mut cs = ChangeSet::new();
        cs.set_storage(A, b"k".to_vec(), Some(b"1".to_vec()));
        cs.set_balance(A, NATIVE_ASSET, 10);
        s.commit_block(1, &cs).unwrap();
        let mut cs = ChangeSet::new();
        cs.set_storage(A, b"k".to_vec(), None);
        cs.set_balance(A, NATIVE_ASSET, 0);
        cs.deploy_code(B, vec![1]);
        s.commit_block(3, &cs).unwrap();
        assert_eq!(s.block_height(), 3);
        assert_eq!(s.read_storage_at(&A, b"k", 0).unwrap(), None);
        assert_eq!(s.read_storage_at(&A, b"k", 2).unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.read_storage_at(&A, b"k", 3).unwrap(), None);
        assert_eq!(s.read_balance_at(&A, &NATIVE_ASSET, 1).unwrap(), 10);
        assert_eq!(s.read_balance_at(&A, &NATIVE_ASSET, 3).unwrap(), 0);
        assert_eq!(s.read_code_at(&B, 2).unwrap(), None);
        assert_eq!(s.at(3).unwrap().read_code(&B).unwrap(), Some(vec![1]));
        assert!(matches!(
            s.commit_block(3, &ChangeSet::new()),
            Err(StorageError::HeightSealed { height: 3, tip: 3 })
        ));
        assert!(matches!(
            s.read_storage_at(&A, b"k", 4),
            Err(StorageError::HeightInFuture { height: 4, tip: 3 })
        ));
        s.prune_below(2).unwrap();
        assert_eq!(s.oldest_height(), 2);
        assert!(matches!(
            s.read_balance_at(&A, &NATIVE_ASSET, 1),
            Err(StorageError::HeightPruned {
                height: 1,
                oldest: 2
            })
        ));
        assert_eq!(s.read_storage_at(&A, b"k", 2).unwrap(), Some(b"1".to_vec()));
        // Pruning at the tip forgets the deleted key and the zero balance entirely.
        s.prune_below(3).unwrap();
        assert_eq!(
            s.version_rows(),
            VersionRows {
                storage: 0,
                balances: 0,
                code: 1,
                contracts: 0
            }
        );
        assert!(s.storage_entries(&A).is_empty() && s.balances().is_empty());
        assert_eq!(s.read_code_at(&B, 3).unwrap(), Some(vec![1]));
    }

    /// Issue 16 item 6: a plain commit wrote into the sealed tip height.
    #[test]
    fn plain_commits_go_to_the_pending_block_and_leave_no_trace_when_undone() {
        let mut s = MemoryStorage::new();
        s.commit_block(5, &ChangeSet::new()).unwrap();
        let mut cs = ChangeSet::new();
        cs.set_storage(A, b"k".to_vec(), Some(b"1".to_vec()));
        s.commit(&cs).unwrap();
        assert_eq!(s.block_height(), 5);
        assert!(s.has_pending_changes());
        // A pending key counts as the version it becomes when sealed.
        assert_eq!(s.version_rows().storage, 1);
        // The latest state sees it, the sealed height 5 does not.
        assert_eq!(s.read_storage(&A, b"k").unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.read_storage_at(&A, b"k", 5).unwrap(), None);
        s.set_storage(A, b"k", None);
        assert!(!s.has_pending_changes());
        let mut fresh = MemoryStorage::new();
        fresh.commit_block(5, &ChangeSet::new()).unwrap();
        assert_eq!(s, fresh);
        assert_eq!(s.version_rows().total(), 0);
        // Sealed at the next block's height, with that block's own changes.
        s.commit(&cs).unwrap();
        let mut block = ChangeSet::new();
        block.set_balance(A, NATIVE_ASSET, 7);
        s.commit_block(8, &block).unwrap();
        assert!(!s.has_pending_changes());
        assert_eq!(
            (s.version_rows().storage, s.version_rows().balances),
            (1, 1)
        );
        assert_eq!(s.read_storage_at(&A, b"k", 7).unwrap(), None);
        assert_eq!(s.read_storage_at(&A, b"k", 8).unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.read_balance_at(&A, &NATIVE_ASSET, 8).unwrap(), 7);
        assert!(matches!(
            s.commit_block(8, &block),
            Err(StorageError::HeightSealed { height: 8, tip: 8 })
        ));
    }

    #[test]
    fn storage_entries_are_per_contract_and_ordered() {
        let s = MemoryStorage::new()
            .with_storage(B, b"z", b"3")
            .with_storage(A, b"b", b"2")
            .with_storage(A, b"a", b"1")
            .with_storage(A, b"", b"empty key")
            .with_storage(Hash([0; 32]), b"x", b"other");
        assert_eq!(
            s.storage_entries(&A),
            vec![
                (b"".to_vec(), b"empty key".to_vec()),
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"2".to_vec()),
            ]
        );
        assert_eq!(s.storage_entries(&B), vec![(b"z".to_vec(), b"3".to_vec())]);
        assert!(s.storage_entries(&Hash([9; 32])).is_empty());
    }

    /// The maps are hash maps: every listing (and `Debug`) is sorted, whatever the insertion
    /// order and the maps' random seeds.
    #[test]
    fn listings_and_debug_are_in_key_order() {
        let build = |order: &[u8]| {
            let mut s = MemoryStorage::new();
            for &i in order {
                let h = Hash([i; 32]);
                s.set_balance(h, NATIVE_ASSET, u64::from(i));
                s.set_storage(A, &[i], Some(&[i]));
                s.deploy_code(h, vec![i]);
                s.create_contract(h, h);
            }
            s
        };
        let (up, down) = (build(&[1, 2, 3, 4, 5]), build(&[5, 4, 3, 2, 1]));
        assert_eq!(up, down);
        assert_eq!(format!("{up:?}"), format!("{down:?}"));
        let hashes: Vec<Hash> = (1..=5).map(|i| Hash([i; 32])).collect();
        assert_eq!(down.code_hashes(), hashes);
        assert_eq!(
            down.balances(),
            (1..=5u8)
                .map(|i| (Hash([i; 32]), NATIVE_ASSET, u64::from(i)))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            down.contracts().iter().map(|(a, _)| *a).collect::<Vec<_>>(),
            hashes
        );
        assert_eq!(
            down.storage_entries(&A),
            (1..=5u8).map(|i| (vec![i], vec![i])).collect::<Vec<_>>()
        );
    }
}
