//! [`Journal`]: the journaled overlay of one invoke.
//!
//! The journal holds only a shared reference to the [`StorageProvider`]; it has no way to write
//! to it. Every write, delete, credit and transfer of the running invoke lands in the overlay
//! and in an ordered log of changes. Reads see the overlay first, then the provider (each
//! provider value is read once and cached). When the invoke succeeds, the caller turns the
//! journal into a [`ChangeSet`] with [`Journal::into_change_set`] and commits that; when it
//! fails, the caller drops the journal and the provider never saw anything.
//!
//! Nested call frames use checkpoints: [`Journal::checkpoint`] when a frame starts,
//! [`Journal::commit_checkpoint`] when it returns successfully (its changes now belong to the
//! caller's frame), [`Journal::revert_to`] when it fails (its changes, and only its, are undone).
//!
//! Rules (decided here, relied upon by the runtime):
//! * `transfer` and `credit` refuse an amount of 0 ([`StorageError::ZeroAmount`]).
//! * `transfer` from an account to itself is allowed: it checks the balance like any transfer,
//!   logs a [`JournalEntry::Transfer`] and changes no balance.
//! * A refused operation (insufficient balance, overflow, zero amount, or a provider error)
//!   changes nothing: no overlay value and no log entry.
//! * `delete_storage` of a missing key returns `false` and logs nothing; `write_storage` always
//!   logs, even when the value is unchanged.
//! * Reverted entries are removed from the log: [`Journal::entries`] is the effective history.
//!
//! Why the log is compact: a storage write is the hot path of most contracts. The bytes of
//! every value (and of every key written) are appended to one arena, and the overlay and the
//! log name them by position, so a write allocates nothing once the arena has room (a key's
//! first write copies the key once, for the overlay). The [`JournalEntry`]s, with their owned
//! keys and values, are built only when someone asks ([`Journal::entries`],
//! [`JournalLog::entries`]); a node that commits the [`ChangeSet`] never does.

use crate::changes::ChangeSet;
use crate::error::StorageError;
use crate::growth::StateGrowth;
use crate::types::{ContractInfo, Hash};
use crate::StorageProvider;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// One change made by the running invoke, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalEntry {
    /// `key` of `contract` went from `old` to `new` (`None` = absent / deleted).
    StorageWrite {
        contract: Hash,
        key: Vec<u8>,
        old: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    },
    /// The balance of `account` in `asset` went from `old` to `new`.
    BalanceChange {
        account: Hash,
        asset: Hash,
        old: u64,
        new: u64,
    },
    /// A transfer. Logged *before* the two [`JournalEntry::BalanceChange`]s it causes (sender,
    /// then recipient); a transfer to oneself is logged with no balance change after it.
    Transfer {
        from: Hash,
        to: Hash,
        asset: Hash,
        amount: u64,
    },
    /// A contract instance was created at `address`, running `code_hash` (a factory's
    /// `tos_create_contract`).
    ContractCreated { address: Hash, code_hash: Hash },
}

/// A point in a journal's history to return to ([`Journal::revert_to`]) or to fold into the
/// enclosing frame ([`Journal::commit_checkpoint`]). Valid until one of those two is called on
/// it or on a checkpoint taken before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    journal: u64,
    serial: u64,
    depth: usize,
}

impl Checkpoint {
    /// Nesting depth: 0 for the outermost open checkpoint.
    pub fn depth(&self) -> usize {
        self.depth
    }
}

/// Distinguishes journals so that a checkpoint of one is refused by another.
static NEXT_JOURNAL_ID: AtomicU64 = AtomicU64::new(1);

/// An open checkpoint: its serial number and how long the log, the arena and the table of
/// written keys were when it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Frame {
    serial: u64,
    log_len: usize,
    arena_len: usize,
    keys_len: usize,
}

/// A storage value as the journal names it (`Copy`: naming a value owns nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    /// No value: absent or deleted.
    Absent,
    /// `len` bytes at `start` of [`Values::originals`]: a value read from the provider.
    Original { start: usize, len: usize },
    /// `len` bytes at `start` of [`Values::arena`]: a value the invoke wrote.
    Written { start: usize, len: usize },
}

/// A storage key the invoke wrote: its contract and where its bytes are in the arena.
#[derive(Debug, Clone, Copy)]
struct WrittenKey {
    contract: Hash,
    start: usize,
    len: usize,
}

/// What the journal knows of one storage key: its value before the invoke (read from the
/// provider once) and, once the invoke wrote it, its index in [`Values::keys`] and its value
/// now. One map holds both, so a read finds a key with one search whoever saw it first.
#[derive(Debug, Clone, Copy)]
struct Slot {
    original: Value,
    written: Option<(usize, Value)>,
}

impl Slot {
    /// The value as the invoke sees it.
    fn current(&self) -> Value {
        self.written.map_or(self.original, |(_, value)| value)
    }
}

/// The slots of one contract's keys the invoke read or wrote, by key (a lookup borrows the
/// key). A call touches a handful of keys: a `BTreeMap` that small finds one in a few
/// comparisons, cheaper than hashing the key (measured: a hash map of contract and key made
/// `tos_storage_read` ~2% and `tos_storage_write` ~9% dearer).
type KeySlots = BTreeMap<Vec<u8>, Slot>;

/// Contracts up to which [`Slots`] finds one by comparing addresses in turn; past it, by its
/// index.
const CONTRACTS_SEARCHED_IN_TURN: usize = 8;

/// The slots of every key the invoke read or wrote: one [`KeySlots`] per contract. Nearly
/// every storage access of a call is the running contract's, so the contract found last is
/// tried first (one comparison of addresses, no search); a call touching many contracts finds
/// the others through an index (a search of addresses, as a map by contract would).
#[derive(Debug, Default)]
struct Slots {
    /// Each contract's keys, in the order the contract was first touched.
    contracts: Vec<(Hash, KeySlots)>,
    /// Positions in `contracts` by address, kept once there are more than
    /// [`CONTRACTS_SEARCHED_IN_TURN`].
    index: BTreeMap<Hash, usize>,
    /// The position in `contracts` of the contract found last.
    last: usize,
}

impl Slots {
    /// The position of `contract` in `contracts`, trying the last one found first.
    fn position(&self, contract: &Hash) -> Option<usize> {
        match self.contracts.get(self.last) {
            Some((address, _)) if address == contract => Some(self.last),
            _ if self.contracts.len() <= CONTRACTS_SEARCHED_IN_TURN => self
                .contracts
                .iter()
                .position(|(address, _)| address == contract),
            _ => self.index.get(contract).copied(),
        }
    }

    /// [`position`](Self::position), remembering it for the next search.
    fn find(&mut self, contract: &Hash) -> Option<usize> {
        let found = self.position(contract)?;
        self.last = found;
        Some(found)
    }

    fn get(&self, contract: &Hash, key: &[u8]) -> Option<&Slot> {
        let position = self.position(contract)?;
        self.contracts.get(position)?.1.get(key)
    }

    /// [`get`](Self::get) that remembers the contract.
    fn get_found(&mut self, contract: &Hash, key: &[u8]) -> Option<&Slot> {
        let position = self.find(contract)?;
        self.contracts.get(position)?.1.get(key)
    }

    fn get_mut(&mut self, contract: &Hash, key: &[u8]) -> Option<&mut Slot> {
        let position = self.find(contract)?;
        self.contracts.get_mut(position)?.1.get_mut(key)
    }

    /// The key slots of `contract`, made empty at its first use.
    fn keys_mut(&mut self, contract: &Hash) -> &mut KeySlots {
        let position = match self.find(contract) {
            Some(position) => position,
            None => {
                let position = self.contracts.len();
                self.contracts.push((*contract, KeySlots::new()));
                if self.contracts.len() > CONTRACTS_SEARCHED_IN_TURN {
                    if self.index.is_empty() {
                        for (at, (address, _)) in self.contracts.iter().enumerate() {
                            self.index.insert(*address, at);
                        }
                    } else {
                        self.index.insert(*contract, position);
                    }
                }
                self.last = position;
                position
            }
        };
        &mut self.contracts[position].1
    }
}

/// One logged change. Storage writes name their key and values (see [`Values`]); the others
/// hold no heap data and are kept as they are reported.
#[derive(Debug, Clone, Copy)]
enum Change {
    Storage {
        key: usize,
        old: Value,
        new: Value,
    },
    Balance {
        account: Hash,
        asset: Hash,
        old: u64,
        new: u64,
    },
    Transfer {
        from: Hash,
        to: Hash,
        asset: Hash,
        amount: u64,
    },
    ContractCreated {
        address: Hash,
        code_hash: Hash,
    },
}

/// The bytes the slots and the log point into.
#[derive(Debug, Clone, Default)]
struct Values {
    /// Values written, and the bytes of every key written, back to back. Shrinks back to a
    /// checkpoint's length when that frame is reverted.
    arena: Vec<u8>,
    /// Values as read from the provider, back to back; never shrinks (a reverted frame's
    /// reads stay valid: the provider does not change under the journal).
    originals: Vec<u8>,
    /// Every key written, in the order of its first write.
    keys: Vec<WrittenKey>,
}

/// Room the arena gets at its first use: a few keys and values without a reallocation.
const ARENA_START_CAPACITY: usize = 256;

/// `len` bytes at `start` of `bytes`. Positions come from the journal and an arena only
/// shrinks to a checkpoint's length, below which every position still named lies: the range
/// is always there.
fn range(bytes: &[u8], start: usize, len: usize) -> &[u8] {
    bytes.get(start..start + len).unwrap_or_default()
}

impl Values {
    /// The contract and key bytes of written key `key`.
    fn key(&self, key: usize) -> (Hash, &[u8]) {
        match self.keys.get(key) {
            Some(written) => (
                written.contract,
                range(&self.arena, written.start, written.len),
            ),
            None => (Hash::default(), &[]),
        }
    }

    /// The bytes `value` names (`None`: absent).
    fn resolve(&self, value: Value) -> Option<&[u8]> {
        match value {
            Value::Absent => None,
            Value::Original { start, len } => Some(range(&self.originals, start, len)),
            Value::Written { start, len } => Some(range(&self.arena, start, len)),
        }
    }

    /// The reported form of `change`.
    fn entry(&self, change: &Change) -> JournalEntry {
        match *change {
            Change::Storage { key, old, new } => {
                let (contract, key_bytes) = self.key(key);
                JournalEntry::StorageWrite {
                    contract,
                    key: key_bytes.to_vec(),
                    old: self.resolve(old).map(<[u8]>::to_vec),
                    new: self.resolve(new).map(<[u8]>::to_vec),
                }
            }
            Change::Balance {
                account,
                asset,
                old,
                new,
            } => JournalEntry::BalanceChange {
                account,
                asset,
                old,
                new,
            },
            Change::Transfer {
                from,
                to,
                asset,
                amount,
            } => JournalEntry::Transfer {
                from,
                to,
                asset,
                amount,
            },
            Change::ContractCreated { address, code_hash } => {
                JournalEntry::ContractCreated { address, code_hash }
            }
        }
    }
}

/// Charges `bytes` of memory about to be held against `limit`, refusing (and changing
/// nothing) when that passes it.
fn hold(held: &mut usize, limit: usize, bytes: usize) -> Result<(), StorageError> {
    let total = held.saturating_add(bytes);
    if total > limit {
        return Err(StorageError::JournalMemoryExceeded { held: *held, limit });
    }
    *held = total;
    Ok(())
}

/// Appends `len` bytes that `fill` writes to `arena` and returns where they start; if `fill`
/// fails, the arena is as it was.
fn append_with<E>(
    arena: &mut Vec<u8>,
    len: usize,
    fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
) -> Result<usize, E> {
    if arena.capacity() == 0 {
        arena.reserve(ARENA_START_CAPACITY.max(len));
    }
    let start = arena.len();
    arena.resize(start + len, 0);
    let filled = match arena.get_mut(start..) {
        Some(buffer) => fill(buffer),
        None => Ok(()),
    };
    if let Err(error) = filled {
        arena.truncate(start);
        return Err(error);
    }
    Ok(start)
}

/// Copies `value` into `buffer`, which is as long as the value a caller announced; a shorter
/// `value` leaves the rest of `buffer` zero.
fn copy_value(buffer: &mut [u8], value: &[u8]) {
    let len = buffer.len().min(value.len());
    if let (Some(target), Some(source)) = (buffer.get_mut(..len), value.get(..len)) {
        target.copy_from_slice(source);
    }
}

/// Makes `new` the value of `slot` (of `key` of `contract`) and returns the change to log; a
/// key's first write keeps its bytes in `values` for the log.
fn write_slot(
    slot: &mut Slot,
    values: &mut Values,
    contract: &Hash,
    key: &[u8],
    new: Value,
) -> Change {
    match &mut slot.written {
        Some((id, value)) => Change::Storage {
            key: *id,
            old: std::mem::replace(value, new),
            new,
        },
        None => {
            let id = values.keys.len();
            let start = values.arena.len();
            values.arena.extend_from_slice(key);
            values.keys.push(WrittenKey {
                contract: *contract,
                start,
                len: key.len(),
            });
            slot.written = Some((id, new));
            Change::Storage {
                key: id,
                old: slot.original,
                new,
            }
        }
    }
}

/// The log of a finished invoke ([`Journal::into_parts`]): its changes in order, reported as
/// [`JournalEntry`]s by [`entries`](JournalLog::entries), built only then.
#[derive(Clone, Default)]
pub struct JournalLog {
    values: Values,
    changes: Vec<Change>,
}

impl JournalLog {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// `true` when nothing was logged.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The entries, in order (built now: each holds its own key and values).
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.changes
            .iter()
            .map(|change| self.values.entry(change))
            .collect()
    }
}

/// Formats as the list of its entries.
impl std::fmt::Debug for JournalLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.entries(), f)
    }
}

/// Equal when the entries are.
impl PartialEq for JournalLog {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.entries() == other.entries()
    }
}

impl Eq for JournalLog {}

/// The write overlay of one invoke over a read-only [`StorageProvider`]. See the module docs.
pub struct Journal<'a> {
    provider: &'a dyn StorageProvider,
    id: u64,
    next_serial: u64,
    /// Every storage key this invoke read or wrote: its original and current value.
    slots: Slots,
    /// Current value of every balance this invoke changed.
    balances: BTreeMap<(Hash, Hash), u64>,
    /// The bytes of written values and keys, and of the provider's values as read.
    values: Values,
    balance_cache: BTreeMap<(Hash, Hash), u64>,
    /// Contract instances this invoke created.
    contracts: BTreeMap<Hash, ContractInfo>,
    log: Vec<Change>,
    frames: Vec<Frame>,
    /// Host memory charged to this journal so far (see [`Journal::held_bytes`]) and its limit.
    held: usize,
    memory_limit: usize,
}

/// What one entry of the journal (a slot, a log entry, a balance) is charged beyond its key
/// and value bytes (map node, the entry itself, its hashes): an upper bound of what the
/// allocator holds for it, so [`Journal::held_bytes`] bounds the memory, not only the payload.
pub const JOURNAL_ENTRY_OVERHEAD: usize = 128;

impl std::fmt::Debug for Journal<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("balances", &self.balances)
            .field("log", &self.entries())
            .field("open_checkpoints", &self.frames.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Journal<'a> {
    /// An empty overlay over `provider`.
    pub fn new(provider: &'a dyn StorageProvider) -> Journal<'a> {
        Journal {
            provider,
            id: NEXT_JOURNAL_ID.fetch_add(1, Ordering::Relaxed),
            next_serial: 0,
            slots: Slots::default(),
            balances: BTreeMap::new(),
            values: Values::default(),
            balance_cache: BTreeMap::new(),
            contracts: BTreeMap::new(),
            log: Vec::new(),
            frames: Vec::new(),
            held: 0,
            memory_limit: usize::MAX,
        }
    }

    /// Refuses, with [`StorageError::JournalMemoryExceeded`], every operation that would make
    /// this journal hold more than `limit` bytes ([`held_bytes`](Self::held_bytes)).
    pub fn with_memory_limit(mut self, limit: usize) -> Journal<'a> {
        self.memory_limit = limit;
        self
    }

    /// The host memory this journal was charged for: every value read from the provider and
    /// every value written, with its key, plus [`JOURNAL_ENTRY_OVERHEAD`] per slot, log entry,
    /// balance and created contract. Never goes down (a reverted frame's memory is not
    /// counted back), so it bounds the journal's peak.
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Charges `bytes` of memory about to be held, refusing (and changing nothing) when that
    /// passes the limit.
    fn hold(&mut self, bytes: usize) -> Result<(), StorageError> {
        hold(&mut self.held, self.memory_limit, bytes)
    }

    /// The provider under the overlay (read-only), e.g. to read code.
    pub fn provider(&self) -> &'a dyn StorageProvider {
        self.provider
    }

    /// The value of `key` in `contract`'s storage as this invoke sees it.
    pub fn read_storage(
        &mut self,
        contract: &Hash,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.storage_value(contract, key)?.map(<[u8]>::to_vec))
    }

    /// [`read_storage`](Self::read_storage) without the copy: the value as this invoke sees
    /// it, borrowed from the overlay or from the provider value read once and cached.
    pub fn storage_value(
        &mut self,
        contract: &Hash,
        key: &[u8],
    ) -> Result<Option<&[u8]>, StorageError> {
        let value = match self.slots.get_found(contract, key) {
            Some(slot) => slot.current(),
            None => self.read_original(contract, key)?,
        };
        Ok(self.values.resolve(value))
    }

    /// [`storage_value`](Self::storage_value) for a caller that charges the first access to a
    /// key: `on_cold` runs first when this journal has not touched the key yet (see
    /// [`storage_is_warm`](Self::storage_is_warm)), before the provider is read; if it fails,
    /// nothing changes. One search of the journal finds whether the key is warm and its value.
    pub fn storage_value_charged<E: From<StorageError>>(
        &mut self,
        contract: &Hash,
        key: &[u8],
        on_cold: impl FnOnce() -> Result<(), E>,
    ) -> Result<Option<&[u8]>, E> {
        let value = match self.slots.get_found(contract, key) {
            Some(slot) => slot.current(),
            None => {
                on_cold()?;
                self.read_original(contract, key)?
            }
        };
        Ok(self.values.resolve(value))
    }

    /// Reads `key` of `contract` from the provider into a new slot (the key has none yet).
    fn read_original(&mut self, contract: &Hash, key: &[u8]) -> Result<Value, StorageError> {
        let originals = &mut self.values.originals;
        if originals.capacity() == 0 {
            originals.reserve(ARENA_START_CAPACITY);
        }
        let start = originals.len();
        let original = match self.provider.read_storage_into(contract, key, originals) {
            Ok(Some(len)) => Value::Original { start, len },
            Ok(None) => Value::Absent,
            Err(error) => {
                // Whatever a failing adapter appended is not a value.
                originals.truncate(start);
                return Err(error);
            }
        };
        // The value read, its key and slot: a read past the memory limit keeps nothing.
        let read_len = self.values.originals.len() - start;
        if let Err(error) = self.hold(key.len() + read_len + JOURNAL_ENTRY_OVERHEAD) {
            self.values.originals.truncate(start);
            return Err(error);
        }
        self.slots.keys_mut(contract).insert(
            key.to_vec(),
            Slot {
                original,
                written: None,
            },
        );
        Ok(original)
    }

    /// Whether this journal has already touched `key` of `contract` (read it from the
    /// provider, or written it): a later access needs no provider read. Never reset by a
    /// revert. The runtime charges a transaction's first access to a key as cold (EIP-2929's
    /// rule: it depends only on the transaction, never on a node's caches).
    pub fn storage_is_warm(&self, contract: &Hash, key: &[u8]) -> bool {
        // Every key read or written has a slot, kept by reverts.
        self.slots.get(contract, key).is_some()
    }

    /// Whether this journal has already touched the balance of `account` in `asset` (see
    /// [`storage_is_warm`](Self::storage_is_warm)).
    pub fn balance_is_warm(&self, account: &Hash, asset: &Hash) -> bool {
        let pair = (*account, *asset);
        self.balance_cache.contains_key(&pair) || self.balances.contains_key(&pair)
    }

    /// The balance of `account` in `asset` as this invoke sees it.
    pub fn balance(&mut self, account: &Hash, asset: &Hash) -> Result<u64, StorageError> {
        let pair = (*account, *asset);
        if let Some(&amount) = self.balances.get(&pair) {
            return Ok(amount);
        }
        self.original_balance(pair)
    }

    /// Sets `key` of `contract` to `value`. Always logged, even if the value is unchanged.
    pub fn write_storage(
        &mut self,
        contract: &Hash,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), StorageError> {
        self.write_storage_with(contract, key, value.len(), |buffer| {
            buffer.copy_from_slice(value);
            Ok::<(), StorageError>(())
        })
    }

    /// [`write_storage`](Self::write_storage) of a `len`-byte value that `fill` writes into
    /// the journal's own buffer (a syscall copies it straight from guest memory). `fill` runs
    /// first; if it or the read of the key's original value fails, nothing changes and the
    /// error is returned.
    pub fn write_storage_with<E: From<StorageError>>(
        &mut self,
        contract: &Hash,
        key: &[u8],
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        // The value, the key's bytes (kept at its first write) and the log entry.
        self.hold(len + key.len() + JOURNAL_ENTRY_OVERHEAD)
            .map_err(E::from)?;
        let start = append_with(&mut self.values.arena, len, fill)?;
        let set = self
            .set_storage(contract, key, Value::Written { start, len })
            .map_err(E::from);
        if set.is_err() {
            self.values.arena.truncate(start);
        }
        set
    }

    /// [`write_storage_with`](Self::write_storage_with) for a caller that charges the first
    /// access to a key and holds the value where `value` finds it (a syscall: in guest
    /// memory): `on_cold` runs first when this journal has not touched the key yet (see
    /// [`storage_is_warm`](Self::storage_is_warm)); if it fails, nothing changes. Then `value`
    /// gives the `len` bytes to write, which are appended to the journal's buffer as they are
    /// (a copy, no fill). A key the journal holds already is found with one search.
    pub fn write_storage_charged<'v, E: From<StorageError>>(
        &mut self,
        contract: &Hash,
        key: &[u8],
        len: usize,
        on_cold: impl FnOnce() -> Result<(), E>,
        value: impl FnOnce() -> Result<&'v [u8], E>,
    ) -> Result<(), E> {
        let Journal {
            slots,
            values,
            log,
            held,
            memory_limit,
            ..
        } = self;
        let Some(slot) = slots.get_mut(contract, key) else {
            on_cold()?;
            return self.write_storage_with(contract, key, len, |buffer| {
                copy_value(buffer, value()?);
                Ok(())
            });
        };
        // As `write_storage_with`: the value, the key's bytes and the log entry.
        hold(
            held,
            *memory_limit,
            len + key.len() + JOURNAL_ENTRY_OVERHEAD,
        )
        .map_err(E::from)?;
        let bytes = value()?;
        let bytes = bytes.get(..len).unwrap_or(bytes);
        if values.arena.capacity() == 0 {
            values.arena.reserve(ARENA_START_CAPACITY.max(len));
        }
        let start = values.arena.len();
        values.arena.extend_from_slice(bytes);
        let written = Value::Written {
            start,
            len: bytes.len(),
        };
        let change = write_slot(slot, values, contract, key, written);
        log.push(change);
        Ok(())
    }

    /// Deletes `key` of `contract`. Returns whether it existed; deleting a missing key changes
    /// and logs nothing.
    pub fn delete_storage(&mut self, contract: &Hash, key: &[u8]) -> Result<bool, StorageError> {
        self.delete_storage_charged(contract, key, || Ok(()))
    }

    /// [`delete_storage`](Self::delete_storage) for a caller that charges the first access to
    /// a key: `on_cold` runs first when this journal has not touched the key yet (see
    /// [`storage_is_warm`](Self::storage_is_warm)); if it fails, nothing changes.
    pub fn delete_storage_charged<E: From<StorageError>>(
        &mut self,
        contract: &Hash,
        key: &[u8],
        on_cold: impl FnOnce() -> Result<(), E>,
    ) -> Result<bool, E> {
        if self
            .storage_value_charged(contract, key, on_cold)?
            .is_none()
        {
            return Ok(false);
        }
        // The key's bytes (kept at its first write) and the log entry.
        self.hold(key.len() + JOURNAL_ENTRY_OVERHEAD)?;
        self.set_storage(contract, key, Value::Absent)?;
        Ok(true)
    }

    /// Makes `new` the value of `key` of `contract` and logs the change. Fails, changing
    /// nothing, only when the key's original value cannot be read.
    fn set_storage(&mut self, contract: &Hash, key: &[u8], new: Value) -> Result<(), StorageError> {
        if let Some(slot) = self.slots.get_mut(contract, key) {
            let change = write_slot(slot, &mut self.values, contract, key, new);
            self.log.push(change);
            return Ok(());
        }
        // Never seen: its original value is read (once) for the change set.
        self.read_original(contract, key)?;
        let Some(slot) = self.slots.get_mut(contract, key) else {
            return Err(StorageError::corrupt("journal slot missing after its read"));
        };
        let change = write_slot(slot, &mut self.values, contract, key, new);
        self.log.push(change);
        Ok(())
    }

    /// Adds `amount` of `asset` to `account` (minting: funding, rewards, tests).
    ///
    /// Refuses 0 ([`StorageError::ZeroAmount`]) and a result above `u64::MAX`
    /// ([`StorageError::BalanceOverflow`]); a refused credit changes nothing.
    pub fn credit(
        &mut self,
        account: &Hash,
        asset: &Hash,
        amount: u64,
    ) -> Result<(), StorageError> {
        if amount == 0 {
            return Err(StorageError::ZeroAmount);
        }
        self.hold(JOURNAL_ENTRY_OVERHEAD)?;
        let old = self.balance(account, asset)?;
        let new = old
            .checked_add(amount)
            .ok_or(StorageError::BalanceOverflow {
                account: *account,
                asset: *asset,
            })?;
        self.set_balance(*account, *asset, old, new);
        Ok(())
    }

    /// Moves `amount` of `asset` from `from` to `to`.
    ///
    /// Refused, changing nothing: an amount of 0 ([`StorageError::ZeroAmount`]), a sender
    /// holding less than `amount` ([`StorageError::InsufficientBalance`]), a recipient whose
    /// balance would pass `u64::MAX` ([`StorageError::BalanceOverflow`]). `from == to` is
    /// allowed (balance checked, `Transfer` logged, no balance change).
    pub fn transfer(
        &mut self,
        from: &Hash,
        to: &Hash,
        asset: &Hash,
        amount: u64,
    ) -> Result<(), StorageError> {
        if amount == 0 {
            return Err(StorageError::ZeroAmount);
        }
        // The transfer's log entry and its two balance changes.
        self.hold(3 * JOURNAL_ENTRY_OVERHEAD)?;
        let from_old = self.balance(from, asset)?;
        let from_new = from_old
            .checked_sub(amount)
            .ok_or(StorageError::InsufficientBalance {
                account: *from,
                asset: *asset,
                balance: from_old,
                needed: amount,
            })?;
        let entry = Change::Transfer {
            from: *from,
            to: *to,
            asset: *asset,
            amount,
        };
        if from == to {
            self.log.push(entry);
            return Ok(());
        }
        let to_old = self.balance(to, asset)?;
        let to_new = to_old
            .checked_add(amount)
            .ok_or(StorageError::BalanceOverflow {
                account: *to,
                asset: *asset,
            })?;
        self.log.push(entry);
        self.set_balance(*from, *asset, from_old, from_new);
        self.set_balance(*to, *asset, to_old, to_new);
        Ok(())
    }

    /// The contract instance at `address` as this invoke sees it (created by it, or stored).
    pub fn contract(&self, address: &Hash) -> Result<Option<ContractInfo>, StorageError> {
        if let Some(info) = self.contracts.get(address) {
            return Ok(Some(*info));
        }
        self.provider.read_contract(address)
    }

    /// Creates the instance `address` running `code_hash`. Refused, changing nothing, when an
    /// instance already lives there ([`StorageError::ContractExists`]). The caller checks that
    /// the code is deployed.
    pub fn create_contract(&mut self, address: Hash, code_hash: Hash) -> Result<(), StorageError> {
        if self.contract(&address)?.is_some() {
            return Err(StorageError::ContractExists(address));
        }
        self.hold(2 * JOURNAL_ENTRY_OVERHEAD)?;
        self.contracts.insert(address, ContractInfo { code_hash });
        self.log
            .push(Change::ContractCreated { address, code_hash });
        Ok(())
    }

    /// Opens a checkpoint (one per call frame). Checkpoints nest.
    pub fn checkpoint(&mut self) -> Checkpoint {
        let serial = self.next_serial;
        self.next_serial += 1;
        let depth = self.frames.len();
        self.frames.push(Frame {
            serial,
            log_len: self.log.len(),
            arena_len: self.values.arena.len(),
            keys_len: self.values.keys.len(),
        });
        Checkpoint {
            journal: self.id,
            serial,
            depth,
        }
    }

    /// Undoes every change made since `checkpoint` was taken and closes it, together with any
    /// checkpoint taken after it that is still open (a failure unwinding several frames).
    ///
    /// Errors with [`StorageError::InvalidCheckpoint`] (changing nothing) if `checkpoint` is
    /// not open in this journal.
    pub fn revert_to(&mut self, checkpoint: Checkpoint) -> Result<(), StorageError> {
        let frame = self.open_frame(&checkpoint)?;
        while self.log.len() > frame.log_len {
            match self.log.pop() {
                Some(Change::Storage { key, old, .. }) => {
                    let Some(written) = self.values.keys.get(key) else {
                        continue;
                    };
                    let key_bytes = range(&self.values.arena, written.start, written.len);
                    if let Some((_, value)) = self
                        .slots
                        .get_mut(&written.contract, key_bytes)
                        .and_then(|slot| slot.written.as_mut())
                    {
                        *value = old;
                    }
                }
                Some(Change::Balance {
                    account,
                    asset,
                    old,
                    ..
                }) => {
                    self.balances.insert((account, asset), old);
                }
                Some(Change::ContractCreated { address, .. }) => {
                    self.contracts.remove(&address);
                }
                Some(Change::Transfer { .. }) | None => {}
            }
        }
        // A key first written after the checkpoint holds its original value again: it is
        // unwritten, as if it never was, and the bytes appended since (its key, every value
        // written since) are dropped, so a reverted frame keeps no memory.
        let Values { arena, keys, .. } = &mut self.values;
        for written in keys.drain(frame.keys_len.min(keys.len())..) {
            let key_bytes = range(arena, written.start, written.len);
            if let Some(slot) = self.slots.get_mut(&written.contract, key_bytes) {
                slot.written = None;
            }
        }
        arena.truncate(frame.arena_len);
        self.frames.truncate(checkpoint.depth);
        Ok(())
    }

    /// Closes `checkpoint`, keeping its changes: they now belong to the enclosing frame (and
    /// are undone if that frame is reverted).
    ///
    /// `checkpoint` must be the innermost open checkpoint; otherwise (or if it is not open in
    /// this journal) [`StorageError::InvalidCheckpoint`] is returned and nothing changes.
    pub fn commit_checkpoint(&mut self, checkpoint: Checkpoint) -> Result<(), StorageError> {
        self.open_frame(&checkpoint)?;
        if checkpoint.depth + 1 != self.frames.len() {
            return Err(StorageError::InvalidCheckpoint {
                reason: "a checkpoint taken after it is still open",
            });
        }
        self.frames.pop();
        Ok(())
    }

    /// Number of open checkpoints.
    pub fn depth(&self) -> usize {
        self.frames.len()
    }

    /// Number of changes in effect (reverted ones are gone): the length of
    /// [`entries`](Self::entries), without building them.
    pub fn log_len(&self) -> usize {
        self.log.len()
    }

    /// The ordered log of the changes in effect (reverted ones are gone), built now.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.log
            .iter()
            .map(|change| self.values.entry(change))
            .collect()
    }

    /// The final values of everything this invoke changed. Keys whose final value equals the
    /// provider's (written then reverted, or written back) are left out. Checkpoints still open
    /// are treated as committed.
    pub fn into_change_set(self) -> ChangeSet {
        self.into_parts().0
    }

    /// [`into_change_set`](Self::into_change_set) plus the log of [`entries`](Self::entries).
    pub fn into_parts(self) -> (ChangeSet, JournalLog) {
        let (changes, log, _) = self.into_parts_with_growth();
        (changes, log)
    }

    /// [`into_parts`](Self::into_parts) plus the [`StateGrowth`] of the change set against the
    /// values the journal read (what [`StateGrowth::of_change_set`] gives against the
    /// provider), computed in the same pass: the end of a call pays a few additions per
    /// changed key for it, the hot path nothing.
    pub fn into_parts_with_growth(self) -> (ChangeSet, JournalLog, StateGrowth) {
        let Journal {
            slots,
            balances,
            values,
            balance_cache,
            contracts,
            log,
            ..
        } = self;
        let mut changes = ChangeSet::default();
        let mut growth = StateGrowth::default();
        for (contract, keys) in slots.contracts {
            for (key, slot) in keys {
                let Some((_, value)) = slot.written else {
                    continue;
                };
                let value = values.resolve(value);
                let original = values.resolve(slot.original);
                if value != original {
                    growth.storage_change(&contract, &key, original, value);
                    changes
                        .storage
                        .insert((contract, key), value.map(<[u8]>::to_vec));
                }
            }
        }
        for (pair, amount) in balances {
            let original = balance_cache.get(&pair).copied();
            if original != Some(amount) {
                growth.balance_change(original.unwrap_or(0), amount);
                changes.balances.insert(pair, amount);
            }
        }
        for address in contracts.keys() {
            growth.contract_created(address);
        }
        changes.contracts = contracts;
        (
            changes,
            JournalLog {
                values,
                changes: log,
            },
            growth,
        )
    }

    fn set_balance(&mut self, account: Hash, asset: Hash, old: u64, new: u64) {
        self.balances.insert((account, asset), new);
        self.log.push(Change::Balance {
            account,
            asset,
            old,
            new,
        });
    }

    fn open_frame(&self, checkpoint: &Checkpoint) -> Result<Frame, StorageError> {
        if checkpoint.journal != self.id {
            return Err(StorageError::InvalidCheckpoint {
                reason: "it belongs to another journal",
            });
        }
        match self.frames.get(checkpoint.depth) {
            Some(frame) if frame.serial == checkpoint.serial => Ok(*frame),
            _ => Err(StorageError::InvalidCheckpoint {
                reason: "it is already closed",
            }),
        }
    }

    fn original_balance(&mut self, pair: (Hash, Hash)) -> Result<u64, StorageError> {
        if let Some(&amount) = self.balance_cache.get(&pair) {
            return Ok(amount);
        }
        let amount = self.provider.read_balance(&pair.0, &pair.1)?;
        self.hold(JOURNAL_ENTRY_OVERHEAD)?;
        self.balance_cache.insert(pair, amount);
        Ok(amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryStorage, NATIVE_ASSET};
    use std::cell::Cell;

    const C: Hash = Hash([1; 32]);
    const ALICE: Hash = Hash([2; 32]);
    const BOB: Hash = Hash([3; 32]);
    const TOKEN: Hash = Hash([4; 32]);

    /// Counts provider reads; optionally fails them all.
    #[derive(Default)]
    struct Counting {
        inner: MemoryStorage,
        storage_reads: Cell<usize>,
        balance_reads: Cell<usize>,
        fail: bool,
    }

    impl StorageProvider for Counting {
        fn read_storage(&self, c: &Hash, k: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
            self.storage_reads.set(self.storage_reads.get() + 1);
            if self.fail {
                return Err(StorageError::corrupt("test failure"));
            }
            self.inner.read_storage(c, k)
        }
        fn read_balance(&self, a: &Hash, s: &Hash) -> Result<u64, StorageError> {
            self.balance_reads.set(self.balance_reads.get() + 1);
            if self.fail {
                return Err(StorageError::corrupt("test failure"));
            }
            self.inner.read_balance(a, s)
        }
        fn read_contract(&self, a: &Hash) -> Result<Option<crate::ContractInfo>, StorageError> {
            self.inner.read_contract(a)
        }
        fn read_code(&self, c: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
            self.inner.read_code(c)
        }
        fn has_code(&self, c: &Hash) -> Result<bool, StorageError> {
            self.inner.has_code(c)
        }
        fn commit(&mut self, _: &ChangeSet) -> Result<(), StorageError> {
            unreachable!("a journal never commits")
        }
    }

    fn base() -> MemoryStorage {
        MemoryStorage::new()
            .with_storage(C, b"k", b"v0")
            .with_balance(ALICE, NATIVE_ASSET, 100)
    }

    #[test]
    fn reads_see_overlay_then_provider() {
        let store = base();
        let mut j = Journal::new(&store);
        assert_eq!(j.read_storage(&C, b"k").unwrap(), Some(b"v0".to_vec()));
        assert_eq!(j.read_storage(&C, b"none").unwrap(), None);
        j.write_storage(&C, b"k", b"v1").unwrap();
        assert_eq!(j.read_storage(&C, b"k").unwrap(), Some(b"v1".to_vec()));
        assert!(j.delete_storage(&C, b"k").unwrap());
        assert_eq!(j.read_storage(&C, b"k").unwrap(), None);
        // The provider is untouched.
        assert_eq!(store, base());
    }

    #[test]
    fn provider_values_are_read_once() {
        let p = Counting {
            inner: base(),
            ..Default::default()
        };
        let mut j = Journal::new(&p);
        for _ in 0..3 {
            j.read_storage(&C, b"k").unwrap();
            j.read_storage(&C, b"missing").unwrap();
            j.balance(&ALICE, &NATIVE_ASSET).unwrap();
        }
        j.write_storage(&C, b"k", b"x").unwrap();
        j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 1).unwrap();
        j.balance(&BOB, &NATIVE_ASSET).unwrap();
        assert_eq!(p.storage_reads.get(), 2);
        assert_eq!(p.balance_reads.get(), 2);
    }

    /// The `*_charged` accesses call `on_cold` exactly when the key is untouched, before the
    /// provider is read; a refusal there changes nothing and leaves the key cold.
    #[test]
    fn charged_accesses_run_on_cold_once_per_key_and_a_refusal_changes_nothing() {
        let store = Counting {
            inner: base(),
            ..Counting::default()
        };
        let mut j = Journal::new(&store);
        let colds = Cell::new(0);
        let cold = || {
            colds.set(colds.get() + 1);
            Ok::<(), StorageError>(())
        };
        let refuse = || Err(StorageError::ZeroAmount);

        // A refused cold read reads nothing and leaves the key cold.
        assert!(j.storage_value_charged(&C, b"k", refuse).is_err());
        assert_eq!(store.storage_reads.get(), 0);
        assert!(!j.storage_is_warm(&C, b"k"));
        assert_eq!(
            j.storage_value_charged(&C, b"k", cold).unwrap(),
            Some(&b"v0"[..])
        );
        assert_eq!(
            j.storage_value_charged(&C, b"k", refuse).unwrap(),
            Some(&b"v0"[..])
        );
        assert_eq!((colds.get(), store.storage_reads.get()), (1, 1));

        // Writes: cold once; a refused cold write changes and logs nothing.
        let fill = || Ok::<&[u8], StorageError>(b"v1");
        assert!(j
            .write_storage_charged(&C, b"new", 2, refuse, fill)
            .is_err());
        assert!(!j.storage_is_warm(&C, b"new") && j.log_len() == 0);
        j.write_storage_charged(&C, b"new", 2, cold, fill).unwrap();
        j.write_storage_charged(&C, b"k", 2, refuse, fill).unwrap();
        assert_eq!(colds.get(), 2);
        assert_eq!(j.read_storage(&C, b"new").unwrap(), Some(b"v1".to_vec()));
        assert_eq!(j.read_storage(&C, b"k").unwrap(), Some(b"v1".to_vec()));

        // Deletes likewise; deleting a warm missing key needs no cold charge.
        assert!(j.delete_storage_charged(&C, b"gone", refuse).is_err());
        assert!(!j.delete_storage_charged(&C, b"gone", cold).unwrap());
        assert!(!j.delete_storage_charged(&C, b"gone", refuse).unwrap());
        assert!(j.delete_storage_charged(&C, b"k", refuse).unwrap());
        assert_eq!(colds.get(), 3);
        assert_eq!(j.log_len(), 3);
        let changes = j.into_change_set();
        assert_eq!(changes.storage.get(&(C, b"k".to_vec())), Some(&None));
        assert_eq!(
            changes.storage.get(&(C, b"new".to_vec())),
            Some(&Some(b"v1".to_vec()))
        );
    }

    #[test]
    fn provider_errors_propagate_and_change_nothing() {
        let p = Counting {
            fail: true,
            ..Default::default()
        };
        let mut j = Journal::new(&p);
        assert!(j.write_storage(&C, b"k", b"v").unwrap_err().is_backend());
        assert!(j.delete_storage(&C, b"k").is_err());
        assert!(j.credit(&ALICE, &NATIVE_ASSET, 1).is_err());
        assert!(j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 1).is_err());
        assert!(j.entries().is_empty());
        assert!(j.into_change_set().is_empty());
    }

    #[test]
    fn delete_of_missing_key_is_not_logged() {
        let store = base();
        let mut j = Journal::new(&store);
        assert!(!j.delete_storage(&C, b"nope").unwrap());
        assert!(j.entries().is_empty());
        assert!(j.delete_storage(&C, b"k").unwrap());
        assert!(!j.delete_storage(&C, b"k").unwrap());
        assert_eq!(j.entries().len(), 1);
    }

    #[test]
    fn transfer_logs_and_moves() {
        let store = base();
        let mut j = Journal::new(&store);
        j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 30).unwrap();
        assert_eq!(j.balance(&ALICE, &NATIVE_ASSET).unwrap(), 70);
        assert_eq!(j.balance(&BOB, &NATIVE_ASSET).unwrap(), 30);
        assert_eq!(
            j.entries(),
            &[
                JournalEntry::Transfer {
                    from: ALICE,
                    to: BOB,
                    asset: NATIVE_ASSET,
                    amount: 30
                },
                JournalEntry::BalanceChange {
                    account: ALICE,
                    asset: NATIVE_ASSET,
                    old: 100,
                    new: 70
                },
                JournalEntry::BalanceChange {
                    account: BOB,
                    asset: NATIVE_ASSET,
                    old: 0,
                    new: 30
                },
            ]
        );
        let cs = j.into_change_set();
        assert_eq!(cs.balances.len(), 2);
        assert_eq!(cs.balances[&(ALICE, NATIVE_ASSET)], 70);
        assert_eq!(cs.balances[&(BOB, NATIVE_ASSET)], 30);
    }

    #[test]
    fn refused_transfers_change_nothing() {
        let store = base().with_balance(BOB, NATIVE_ASSET, u64::MAX - 5);
        let mut j = Journal::new(&store);
        assert!(matches!(
            j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 0),
            Err(StorageError::ZeroAmount)
        ));
        match j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 101) {
            Err(StorageError::InsufficientBalance {
                account,
                balance,
                needed,
                ..
            }) => {
                assert_eq!((account, balance, needed), (ALICE, 100, 101));
            }
            other => panic!("unexpected {other:?}"),
        }
        match j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 6) {
            Err(StorageError::BalanceOverflow { account, .. }) => assert_eq!(account, BOB),
            other => panic!("unexpected {other:?}"),
        }
        // Another asset: nobody holds it.
        assert!(matches!(
            j.transfer(&ALICE, &BOB, &TOKEN, 1),
            Err(StorageError::InsufficientBalance { balance: 0, .. })
        ));
        assert!(j.entries().is_empty());
        assert_eq!(j.balance(&ALICE, &NATIVE_ASSET).unwrap(), 100);
        assert!(j.into_change_set().is_empty());
        // Exactly reaching u64::MAX is fine.
        let mut j = Journal::new(&store);
        j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 5).unwrap();
        assert_eq!(j.balance(&BOB, &NATIVE_ASSET).unwrap(), u64::MAX);
    }

    #[test]
    fn self_transfer_is_checked_and_logged_but_moves_nothing() {
        let store = base();
        let mut j = Journal::new(&store);
        assert!(matches!(
            j.transfer(&ALICE, &ALICE, &NATIVE_ASSET, 101),
            Err(StorageError::InsufficientBalance { .. })
        ));
        j.transfer(&ALICE, &ALICE, &NATIVE_ASSET, 100).unwrap();
        assert_eq!(j.balance(&ALICE, &NATIVE_ASSET).unwrap(), 100);
        assert_eq!(j.entries().len(), 1);
        assert!(j.into_change_set().is_empty());
    }

    #[test]
    fn credit_checks_overflow_and_zero() {
        let store = base();
        let mut j = Journal::new(&store);
        j.credit(&BOB, &TOKEN, u64::MAX).unwrap();
        assert!(matches!(
            j.credit(&BOB, &TOKEN, 1),
            Err(StorageError::BalanceOverflow { .. })
        ));
        assert!(matches!(
            j.credit(&BOB, &TOKEN, 0),
            Err(StorageError::ZeroAmount)
        ));
        assert_eq!(j.balance(&BOB, &TOKEN).unwrap(), u64::MAX);
        assert_eq!(j.entries().len(), 1);
    }

    #[test]
    fn nested_checkpoints_revert_only_their_frame() {
        let store = base();
        let mut j = Journal::new(&store);
        j.write_storage(&C, b"top", b"1").unwrap();
        let outer = j.checkpoint();
        j.write_storage(&C, b"k", b"outer").unwrap();
        let inner = j.checkpoint();
        assert_eq!((outer.depth(), inner.depth(), j.depth()), (0, 1, 2));
        j.write_storage(&C, b"k", b"inner").unwrap();
        j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 10).unwrap();
        j.revert_to(inner).unwrap();
        assert_eq!(j.read_storage(&C, b"k").unwrap(), Some(b"outer".to_vec()));
        assert_eq!(j.balance(&ALICE, &NATIVE_ASSET).unwrap(), 100);
        assert_eq!(j.balance(&BOB, &NATIVE_ASSET).unwrap(), 0);
        assert_eq!(j.entries().len(), 2);
        // A second inner frame that succeeds joins the outer frame.
        let inner2 = j.checkpoint();
        j.credit(&BOB, &TOKEN, 7).unwrap();
        j.commit_checkpoint(inner2).unwrap();
        j.commit_checkpoint(outer).unwrap();
        assert_eq!(j.depth(), 0);
        let cs = j.into_change_set();
        let mut expected = ChangeSet::new();
        expected.set_storage(C, b"top".to_vec(), Some(b"1".to_vec()));
        expected.set_storage(C, b"k".to_vec(), Some(b"outer".to_vec()));
        expected.set_balance(BOB, TOKEN, 7);
        assert_eq!(cs, expected);
    }

    #[test]
    fn reverting_an_outer_checkpoint_closes_inner_ones() {
        let store = base();
        let mut j = Journal::new(&store);
        let outer = j.checkpoint();
        j.write_storage(&C, b"a", b"1").unwrap();
        let inner = j.checkpoint();
        j.credit(&ALICE, &TOKEN, 1).unwrap();
        j.revert_to(outer).unwrap();
        assert_eq!(j.depth(), 0);
        assert!(j.entries().is_empty());
        assert!(matches!(
            j.revert_to(inner),
            Err(StorageError::InvalidCheckpoint { .. })
        ));
        assert!(matches!(
            j.commit_checkpoint(outer),
            Err(StorageError::InvalidCheckpoint { .. })
        ));
        assert!(j.into_change_set().is_empty());
    }

    #[test]
    fn checkpoint_misuse_is_refused_without_effect() {
        let store = base();
        let mut j = Journal::new(&store);
        let outer = j.checkpoint();
        let inner = j.checkpoint();
        j.write_storage(&C, b"a", b"1").unwrap();
        // Outer cannot be committed while inner is open.
        assert!(matches!(
            j.commit_checkpoint(outer),
            Err(StorageError::InvalidCheckpoint { .. })
        ));
        assert_eq!(j.depth(), 2);
        // A checkpoint of another journal is refused.
        let mut other = Journal::new(&store);
        let foreign = other.checkpoint();
        assert!(matches!(
            j.revert_to(foreign),
            Err(StorageError::InvalidCheckpoint { .. })
        ));
        assert_eq!(j.entries().len(), 1);
        j.commit_checkpoint(inner).unwrap();
        // Committed once: stale now.
        assert!(j.commit_checkpoint(inner).is_err());
        // A fresh checkpoint at the same depth does not revive the stale one.
        let again = j.checkpoint();
        assert!(j.revert_to(inner).is_err());
        j.commit_checkpoint(again).unwrap();
        j.commit_checkpoint(outer).unwrap();
        assert_eq!(j.entries().len(), 1);
    }

    #[test]
    fn change_set_holds_final_values_only() {
        let store = base();
        let mut j = Journal::new(&store);
        j.write_storage(&C, b"k", b"temp").unwrap();
        j.write_storage(&C, b"k", b"v0").unwrap(); // written back to the original
        j.write_storage(&C, b"n", b"1").unwrap();
        j.write_storage(&C, b"n", b"2").unwrap();
        j.delete_storage(&C, b"n").unwrap();
        j.write_storage(&C, b"m", b"3").unwrap();
        j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 10).unwrap();
        j.transfer(&BOB, &ALICE, &NATIVE_ASSET, 10).unwrap();
        assert_eq!(j.entries().len(), 12);
        let (cs, log) = j.into_parts();
        assert_eq!(log.len(), 12);
        let mut expected = ChangeSet::new();
        expected.set_storage(C, b"m".to_vec(), Some(b"3".to_vec()));
        assert_eq!(cs, expected);
    }

    #[test]
    fn committing_the_change_set_reproduces_the_journal_view() {
        let mut store = base();
        let cs = {
            let mut j = Journal::new(&store);
            j.write_storage(&C, b"x", b"1").unwrap();
            j.delete_storage(&C, b"k").unwrap();
            j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 100).unwrap();
            j.into_change_set()
        };
        store.commit(&cs).unwrap();
        let expected = MemoryStorage::new()
            .with_storage(C, b"x", b"1")
            .with_balance(BOB, NATIVE_ASSET, 100);
        assert_eq!(store, expected);
    }

    #[test]
    fn entries_report_each_write_with_its_old_and_new_value() {
        let store = base();
        let mut j = Journal::new(&store);
        j.write_storage(&C, b"k", b"1").unwrap();
        j.write_storage(&C, b"k", b"22").unwrap();
        let inner = j.checkpoint();
        j.write_storage(&C, b"k", b"333").unwrap();
        j.write_storage(&C, b"fresh", b"x").unwrap();
        j.revert_to(inner).unwrap();
        assert!(j.delete_storage(&C, b"k").unwrap());
        j.write_storage(&C, b"fresh", b"y").unwrap();
        let write =
            |key: &[u8], old: Option<&[u8]>, new: Option<&[u8]>| JournalEntry::StorageWrite {
                contract: C,
                key: key.to_vec(),
                old: old.map(<[u8]>::to_vec),
                new: new.map(<[u8]>::to_vec),
            };
        let expected = vec![
            write(b"k", Some(b"v0"), Some(b"1")),
            write(b"k", Some(b"1"), Some(b"22")),
            write(b"k", Some(b"22"), None),
            write(b"fresh", None, Some(b"y")),
        ];
        assert_eq!(j.entries(), expected);
        assert_eq!(j.log_len(), 4);
        let (changes, log) = j.into_parts();
        assert_eq!(log.entries(), expected);
        assert_eq!(format!("{log:?}"), format!("{expected:?}"));
        let mut set = ChangeSet::new();
        set.set_storage(C, b"k".to_vec(), None);
        set.set_storage(C, b"fresh".to_vec(), Some(b"y".to_vec()));
        assert_eq!(changes, set);
    }

    #[test]
    fn a_reverted_frame_keeps_none_of_its_bytes() {
        let store = base();
        let mut j = Journal::new(&store);
        j.write_storage(&C, b"kept", b"value").unwrap();
        let arena = j.values.arena.len();
        let cp = j.checkpoint();
        j.write_storage(&C, b"kept", &[9; 1000]).unwrap();
        j.write_storage(&C, b"new key", &[8; 1000]).unwrap();
        assert!(j.values.arena.len() > arena + 2000);
        j.revert_to(cp).unwrap();
        assert_eq!(j.values.arena.len(), arena);
        assert_eq!(j.values.keys.len(), 1);
        assert_eq!(
            j.read_storage(&C, b"kept").unwrap(),
            Some(b"value".to_vec())
        );
        assert_eq!(j.read_storage(&C, b"new key").unwrap(), None);
        // Written again after the revert, both keys read and commit their new values.
        j.write_storage(&C, b"new key", b"again").unwrap();
        assert_eq!(
            j.read_storage(&C, b"new key").unwrap(),
            Some(b"again".to_vec())
        );
        let mut set = ChangeSet::new();
        set.set_storage(C, b"kept".to_vec(), Some(b"value".to_vec()));
        set.set_storage(C, b"new key".to_vec(), Some(b"again".to_vec()));
        assert_eq!(j.into_change_set(), set);
    }

    /// Keys of many contracts, touched in turn: the slots find each contract whether it is
    /// the last one used, searched in turn, or found through the index (past eight).
    #[test]
    fn keys_of_many_contracts_interleaved_stay_apart() {
        let store = base();
        let mut j = Journal::new(&store);
        let contract = |i: u8| Hash([0x40 + i; 32]);
        let mut expected = ChangeSet::new();
        for round in 0..3u8 {
            for i in 0..20u8 {
                let value = [i, round];
                j.write_storage(&contract(i), b"k", &value).unwrap();
                j.write_storage(&contract(i), &[i], &value).unwrap();
                assert_eq!(
                    j.read_storage(&contract(i), b"k").unwrap(),
                    Some(value.to_vec())
                );
            }
        }
        let cp = j.checkpoint();
        for i in (0..20u8).rev() {
            j.write_storage(&contract(i), b"k", b"reverted").unwrap();
            assert!(j.delete_storage(&contract(i), &[i]).unwrap());
        }
        j.revert_to(cp).unwrap();
        for i in 0..20u8 {
            assert!(j.storage_is_warm(&contract(i), b"k"));
            assert!(!j.storage_is_warm(&contract(i), b"never"));
            assert_eq!(
                j.read_storage(&contract(i), &[i]).unwrap(),
                Some(vec![i, 2])
            );
            expected.set_storage(contract(i), b"k".to_vec(), Some(vec![i, 2]));
            expected.set_storage(contract(i), vec![i], Some(vec![i, 2]));
        }
        // The base contract's key was never touched here.
        assert!(!j.storage_is_warm(&C, b"k"));
        assert_eq!(j.into_change_set(), expected);
    }

    #[test]
    fn a_failed_fill_changes_nothing() {
        let store = base();
        let mut j = Journal::new(&store);
        j.write_storage(&C, b"k", b"1").unwrap();
        let arena = j.values.arena.len();
        let refused: Result<(), StorageError> = j.write_storage_with(&C, b"k", 4, |_| {
            Err(StorageError::corrupt("the guest range was bad"))
        });
        assert!(refused.is_err());
        let refused: Result<(), StorageError> =
            j.write_storage_with(&C, b"other", 4, |_| Err(StorageError::ZeroAmount));
        assert!(refused.is_err());
        assert_eq!(j.values.arena.len(), arena);
        assert_eq!(j.log_len(), 1);
        assert_eq!(j.read_storage(&C, b"k").unwrap(), Some(b"1".to_vec()));
        assert_eq!(j.read_storage(&C, b"other").unwrap(), None);
        // A store that fails the original's read: refused too, after the fill ran.
        let failing = Counting {
            fail: true,
            ..Default::default()
        };
        let mut j = Journal::new(&failing);
        let mut filled = false;
        let refused = j.write_storage_with(&C, b"k", 2, |buffer| {
            buffer.copy_from_slice(b"ab");
            filled = true;
            Ok::<(), StorageError>(())
        });
        assert!(filled && refused.unwrap_err().is_backend());
        assert_eq!((j.values.arena.len(), j.log_len()), (0, 0));
    }

    #[test]
    fn created_contracts_are_journaled_reverted_and_refused_twice() {
        let base = MemoryStorage::new().with_contract(ALICE, TOKEN);
        let mut j = Journal::new(&base);
        assert!(matches!(
            j.create_contract(ALICE, C),
            Err(StorageError::ContractExists(a)) if a == ALICE
        ));
        assert!(j.entries().is_empty());
        let cp = j.checkpoint();
        j.create_contract(BOB, C).unwrap();
        assert_eq!(
            j.contract(&BOB).unwrap(),
            Some(ContractInfo { code_hash: C })
        );
        assert!(matches!(
            j.create_contract(BOB, TOKEN),
            Err(StorageError::ContractExists(_))
        ));
        j.revert_to(cp).unwrap();
        assert_eq!(j.contract(&BOB).unwrap(), None);
        j.create_contract(BOB, TOKEN).unwrap();
        let (changes, log) = j.into_parts();
        assert_eq!(
            changes.contracts.get(&BOB),
            Some(&ContractInfo { code_hash: TOKEN })
        );
        assert_eq!(
            log.entries(),
            vec![JournalEntry::ContractCreated {
                address: BOB,
                code_hash: TOKEN
            }]
        );
    }

    #[test]
    fn the_memory_limit_refuses_what_would_pass_it_and_changes_nothing() {
        let store = base();
        let mut j = Journal::new(&store).with_memory_limit(1_000);
        j.write_storage(&C, b"a", &[1; 300]).unwrap();
        let held = j.held_bytes();
        assert!(held >= 300 + 1 + JOURNAL_ENTRY_OVERHEAD, "{held}");
        // The next write would pass the limit: refused, nothing logged or changed.
        let log_len = j.log_len();
        let refused = j.write_storage(&C, b"b", &[2; 700]).unwrap_err();
        assert!(matches!(
            refused,
            StorageError::JournalMemoryExceeded { held: h, limit: 1_000 } if h == held
        ));
        assert!(!refused.is_backend());
        assert_eq!(j.log_len(), log_len);
        assert_eq!(j.held_bytes(), held);
        assert_eq!(j.read_storage(&C, b"b").unwrap(), None);
        // Smaller ones still fit; the count never goes down, reverted frames included.
        let checkpoint = j.checkpoint();
        j.write_storage(&C, b"c", &[3; 10]).unwrap();
        let after = j.held_bytes();
        j.revert_to(checkpoint).unwrap();
        assert_eq!(j.held_bytes(), after);
        // Without a limit nothing is refused.
        let mut unlimited = Journal::new(&store);
        unlimited.write_storage(&C, b"b", &[2; 100_000]).unwrap();
    }
}
