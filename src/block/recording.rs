//! The recording store: the view a speculative run of one call gets. It reads the newest
//! value an earlier call of the segment wrote (speculatively or for good) from the
//! [`VersionedWrites`], else the state the segment started from, and records which version of
//! every key it read, so the scheduler can tell whether the run saw exactly what sequential
//! execution would have shown it (`schedule.rs`).

use std::{cell::RefCell, collections::BTreeMap, sync::Mutex};

use tos_storage::{ChangeSet, ContractInfo, Hash, StorageError, StorageProvider};

/// A piece of state a transaction can read or write.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum StateKey {
    Storage(Hash, Vec<u8>),
    Balance(Hash, Hash),
    Code(Hash),
    Contract(Hash),
}

/// What a call wrote under a [`StateKey`].
#[derive(Debug, Clone)]
enum StateValue {
    Storage(Option<Vec<u8>>),
    Balance(u64),
    Code(Vec<u8>),
    Contract(ContractInfo),
}

/// Which write a read saw: the call at this position of the segment, in its `incarnation`
/// (0: its speculative run, 1: its execution again in order). `None`: no call of the segment
/// had written the key, the read went to the segment's start state.
pub(super) type Version = Option<(usize, u32)>;

/// One read of a speculative run.
pub(super) struct Read {
    pub(super) key: StateKey,
    pub(super) version: Version,
}

/// Shards of the versioned writes: threads writing different keys rarely wait for each other.
const SHARDS: usize = 16;

/// The writes of the segment's calls, each key with one value per writing call (by position):
/// a multi-version memory as in Block-STM. A call's entries are replaced when it is executed
/// again. Lookups only: nothing iterates it into a result.
pub(super) struct VersionedWrites {
    shards: Vec<Mutex<BTreeMap<StateKey, BTreeMap<usize, (u32, StateValue)>>>>,
}

impl VersionedWrites {
    pub(super) fn new() -> Self {
        VersionedWrites {
            shards: (0..SHARDS).map(|_| Mutex::new(BTreeMap::new())).collect(),
        }
    }

    fn shard(
        &self,
        key: &StateKey,
    ) -> std::sync::MutexGuard<'_, BTreeMap<StateKey, BTreeMap<usize, (u32, StateValue)>>> {
        // A cheap, deterministic spread (FNV-1a over a few bytes of the key).
        let bytes: &[u8] = match key {
            StateKey::Storage(contract, key) => {
                if key.is_empty() {
                    &contract.0
                } else {
                    key
                }
            }
            StateKey::Balance(account, _) => &account.0,
            StateKey::Code(hash) | StateKey::Contract(hash) => &hash.0,
        };
        let mut hash: u32 = 0x811c_9dc5;
        for byte in bytes.iter().rev().take(8) {
            hash = (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193);
        }
        self.shards[hash as usize % SHARDS]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The newest write of `key` by a call before `position`, and which one it is.
    fn read(&self, key: &StateKey, position: usize) -> Option<(Version, StateValue)> {
        let shard = self.shard(key);
        let (&writer, (incarnation, value)) = shard.get(key)?.range(..position).next_back()?;
        Some((Some((writer, *incarnation)), value.clone()))
    }

    /// Which write a read of `key` at `position` sees now.
    pub(super) fn version(&self, key: &StateKey, position: usize) -> Version {
        let shard = self.shard(key);
        let (&writer, (incarnation, _)) = shard.get(key)?.range(..position).next_back()?;
        Some((writer, *incarnation))
    }

    /// Records the writes of the call at `position` in its `incarnation`.
    pub(super) fn publish(&self, position: usize, incarnation: u32, changes: &ChangeSet) {
        for (key, value) in writes(changes) {
            self.shard(&key)
                .entry(key)
                .or_default()
                .insert(position, (incarnation, value));
        }
    }

    /// Forgets the writes `changes` of the call at `position` (its run is being replaced).
    pub(super) fn retract(&self, position: usize, changes: &ChangeSet) {
        for (key, _) in writes(changes) {
            if let Some(versions) = self.shard(&key).get_mut(&key) {
                versions.remove(&position);
            }
        }
    }
}

/// Every key `changes` writes, with its value.
fn writes(changes: &ChangeSet) -> impl Iterator<Item = (StateKey, StateValue)> + '_ {
    let storage = changes.storage.iter().map(|((contract, key), value)| {
        (
            StateKey::Storage(*contract, key.clone()),
            StateValue::Storage(value.clone()),
        )
    });
    let balances = changes.balances.iter().map(|((account, asset), amount)| {
        (
            StateKey::Balance(*account, *asset),
            StateValue::Balance(*amount),
        )
    });
    let code = changes
        .code
        .iter()
        .map(|(hash, elf)| (StateKey::Code(*hash), StateValue::Code(elf.clone())));
    let contracts = changes
        .contracts
        .iter()
        .map(|(address, info)| (StateKey::Contract(*address), StateValue::Contract(*info)));
    storage.chain(balances).chain(code).chain(contracts)
}

/// One speculative run's view: the segment's start state under the versioned writes of the
/// calls before `position`, recording the version of every key it reads. The run's commit is
/// not applied: its change set travels in its outcome and is published by the scheduler.
/// Lives on one worker thread, for one run.
pub(super) struct RecordingState<'a, S: ?Sized> {
    base: &'a S,
    writes: &'a VersionedWrites,
    position: usize,
    reads: RefCell<Vec<Read>>,
}

impl<'a, S: StorageProvider + ?Sized> RecordingState<'a, S> {
    pub(super) fn new(base: &'a S, writes: &'a VersionedWrites, position: usize) -> Self {
        RecordingState {
            base,
            writes,
            position,
            reads: RefCell::new(Vec::new()),
        }
    }

    /// The reads, in the order made (repeats included).
    pub(super) fn into_reads(self) -> Vec<Read> {
        self.reads.into_inner()
    }

    /// The newest value of `key` from a call before this one, recording which it was.
    fn look_up(&self, key: StateKey) -> Option<StateValue> {
        let found = self.writes.read(&key, self.position);
        let (version, value) = match found {
            Some((version, value)) => (version, Some(value)),
            None => (None, None),
        };
        self.reads.borrow_mut().push(Read { key, version });
        value
    }
}

impl<S: StorageProvider + ?Sized> StorageProvider for RecordingState<'_, S> {
    fn read_storage(&self, contract: &Hash, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        match self.look_up(StateKey::Storage(*contract, key.to_vec())) {
            Some(StateValue::Storage(value)) => Ok(value),
            _ => self.base.read_storage(contract, key),
        }
    }

    fn read_balance(&self, account: &Hash, asset: &Hash) -> Result<u64, StorageError> {
        match self.look_up(StateKey::Balance(*account, *asset)) {
            Some(StateValue::Balance(amount)) => Ok(amount),
            _ => self.base.read_balance(account, asset),
        }
    }

    fn read_contract(&self, address: &Hash) -> Result<Option<ContractInfo>, StorageError> {
        match self.look_up(StateKey::Contract(*address)) {
            Some(StateValue::Contract(info)) => Ok(Some(info)),
            _ => self.base.read_contract(address),
        }
    }

    fn read_code(&self, code_hash: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
        match self.look_up(StateKey::Code(*code_hash)) {
            Some(StateValue::Code(elf)) => Ok(Some(elf)),
            _ => self.base.read_code(code_hash),
        }
    }

    /// Records the same read as `read_code`.
    fn has_code(&self, code_hash: &Hash) -> Result<bool, StorageError> {
        match self.look_up(StateKey::Code(*code_hash)) {
            Some(StateValue::Code(_)) => Ok(true),
            _ => self.base.has_code(code_hash),
        }
    }

    /// The run's one commit (a successful call): kept in its outcome, published and applied
    /// by the scheduler.
    fn commit(&mut self, _changes: &ChangeSet) -> Result<(), StorageError> {
        Ok(())
    }
}
