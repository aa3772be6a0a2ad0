//! The recording store: the view a speculative run of one call gets. It reads the newest
//! value an earlier call of the segment wrote (speculatively or for good) from the
//! [`VersionedWrites`], else the state the segment started from, and records which version of
//! every key it read, so the scheduler can tell whether the run saw exactly what sequential
//! execution would have shown it (`schedule.rs`).
//!
//! # Cost on the speculative path
//!
//! Most reads of a block of independent calls are of keys no earlier call of the segment
//! writes (a transfer reads the two balances it then writes itself; nobody else touches
//! them). Such a read should cost what it costs sequentially, so the multi-version store
//! keeps a summary beside its map: a filter of atomic cells, two per written key, each
//! holding the first position that wrote a key landing there. A read at position `t` whose
//! cells hold no position before `t` records "no writer" and goes straight to the start
//! state: no lock, no map lookup, no keyed hash; validation asks the same question first, so
//! a call's own writes never send its reads to the map. A false "maybe" (other keys in both
//! cells, or a write since retracted) only sends the read on to the map, which answers
//! exactly; a write published after the filter was looked at is caught by validation (the
//! run read a stale version) like any other.
//!
//! The filter's hash is a cheap unkeyed fold: making keys collide in it gains an attacker
//! nothing but map lookups. The map's hash is seeded per segment (foldhash's [`RandomState`],
//! the hash `PendingState` and `MemoryStorage` give the keys contracts choose; SipHash's ~450
//! instructions per key were a third of a publish), so a block cannot be built ahead to
//! collide in it, and a collision only lengthens a chain: the map compares whole keys. A read
//! records its storage key in the run's byte buffer, not in a vector of its own.

use std::{
    cell::RefCell,
    collections::HashMap,
    hash::{BuildHasher, BuildHasherDefault, Hasher},
    sync::{
        atomic::{AtomicU32, Ordering},
        Mutex, MutexGuard,
    },
};

use foldhash::fast::RandomState;
use tos_storage::{ChangeSet, ContractInfo, Hash, StorageError, StorageProvider};

use super::schedule::CachePadded;

/// A piece of state a transaction can read or write, its storage key borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyRef<'k> {
    Storage(&'k Hash, &'k [u8]),
    Balance(&'k Hash, &'k Hash),
    Code(&'k Hash),
    Contract(&'k Hash),
}

/// What a call wrote under a key.
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

/// The key of one read, its storage key a range of the run's key buffer.
#[derive(Debug, Clone, Copy)]
enum ReadKey {
    Storage(Hash, u32, u32),
    Balance(Hash, Hash),
    Code(Hash),
    Contract(Hash),
}

/// One read of a speculative run: the key, its [`filter_hash`], and the version it saw.
#[derive(Debug)]
struct Read {
    hash: u64,
    key: ReadKey,
    version: Version,
}

/// The reads of one speculative run, in the order made (repeats included).
#[derive(Debug, Default)]
pub(super) struct Reads {
    reads: Vec<Read>,
    /// The storage keys read, back to back.
    key_bytes: Vec<u8>,
}

impl Reads {
    fn push(&mut self, hash: u64, key: KeyRef<'_>, version: Version) {
        let key = match key {
            KeyRef::Storage(contract, bytes) => {
                let start = self.key_bytes.len();
                self.key_bytes.extend_from_slice(bytes);
                // Storage keys are a few hundred bytes at most (MAX_STORAGE_KEY_LEN), a run's
                // buffer far below 4 GiB: the journal's memory limit stops a call long before.
                ReadKey::Storage(*contract, start as u32, bytes.len() as u32)
            }
            KeyRef::Balance(account, asset) => ReadKey::Balance(*account, *asset),
            KeyRef::Code(hash) => ReadKey::Code(*hash),
            KeyRef::Contract(address) => ReadKey::Contract(*address),
        };
        self.reads.push(Read { hash, key, version });
    }

    fn key<'a>(&'a self, read: &'a Read) -> KeyRef<'a> {
        match &read.key {
            ReadKey::Storage(contract, start, len) => {
                let (start, len) = (*start as usize, *len as usize);
                KeyRef::Storage(contract, &self.key_bytes[start..start + len])
            }
            ReadKey::Balance(account, asset) => KeyRef::Balance(account, asset),
            ReadKey::Code(hash) => KeyRef::Code(hash),
            ReadKey::Contract(address) => KeyRef::Contract(address),
        }
    }
}

/// Shards of the versioned writes: threads writing different keys rarely wait for each other.
const SHARDS: usize = 16;

/// The filter's hash of a key: a multiply-fold over its 8-byte words, a few instructions per
/// word. Unkeyed on purpose: whoever makes keys collide in it only sends reads on to the map,
/// which is keyed ([`VersionedWrites::map_hash`]) and compares whole keys.
fn filter_hash(key: KeyRef<'_>) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    fn fold(mut h: u64, bytes: &[u8]) -> u64 {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
            h = (h ^ word).wrapping_mul(K).rotate_left(29);
        }
        let mut tail = [0u8; 8];
        tail[..words.remainder().len()].copy_from_slice(words.remainder());
        (h ^ u64::from_le_bytes(tail) ^ bytes.len() as u64)
            .wrapping_mul(K)
            .rotate_left(29)
    }
    let h = match key {
        KeyRef::Storage(contract, key) => fold(fold(1, &contract.0), key),
        KeyRef::Balance(account, asset) => fold(fold(2, &account.0), &asset.0),
        KeyRef::Code(hash) => fold(3, &hash.0),
        KeyRef::Contract(address) => fold(4, &address.0),
    };
    h ^ (h >> 31)
}

/// How the filter marks a write by the call at `position`: the earlier the call, the larger
/// the mark; 0 is "no write". Positions past `u32::MAX - 1` share the smallest mark (the
/// filter then only answers "maybe" more often for them).
fn position_mark(position: usize) -> u32 {
    u32::MAX
        - u32::try_from(position)
            .unwrap_or(u32::MAX - 1)
            .min(u32::MAX - 1)
}

/// A hasher that passes on a hash computed already (the map's keys are keyed hashes).
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is ever called (the key is a u64); fold anything else in anyway.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// A range of a shard's byte arena.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    len: usize,
}

/// A written value as the store keeps it: bytes (a storage value, an ELF, a contract's code
/// hash) in the shard's arena, a balance inline.
#[derive(Debug, Clone, Copy)]
enum Stored {
    /// A deleted storage key.
    Absent,
    Bytes(Span),
    Amount(u64),
}

/// One write of a key: the writer's position, its incarnation, the value.
type Write = (usize, u32, Stored);

/// The writes of one key, sorted by position. Most keys of a block have one writer: that one
/// is kept inline.
#[derive(Debug)]
enum Versions {
    /// None (a new entry, or every write retracted).
    Empty,
    One(Write),
    Many(Vec<Write>),
}

impl Versions {
    /// The write of the last call before `position`.
    fn newest_before(&self, position: usize) -> Option<Write> {
        match self {
            Versions::Empty => None,
            Versions::One(write) => (write.0 < position).then_some(*write),
            Versions::Many(versions) => {
                let before = versions.partition_point(|(writer, _, _)| *writer < position);
                Some(versions[before.checked_sub(1)?])
            }
        }
    }

    /// Sets the write of the call at `write.0` (replacing an earlier incarnation's).
    fn set(&mut self, write: Write) {
        if let Versions::Empty = self {
            *self = Versions::One(write);
            return;
        }
        if let Versions::One(old) = *self {
            if old.0 == write.0 {
                *self = Versions::One(write);
                return;
            }
            *self = Versions::Many(vec![old]);
        }
        if let Versions::Many(versions) = self {
            match versions.binary_search_by_key(&write.0, |(writer, _, _)| *writer) {
                Ok(found) => versions[found] = write,
                Err(at) => versions.insert(at, write),
            }
        }
    }

    /// Forgets the write of the call at `position`.
    fn remove(&mut self, position: usize) {
        match self {
            Versions::One(write) if write.0 == position => *self = Versions::Empty,
            Versions::Empty | Versions::One(_) => {}
            Versions::Many(versions) => {
                if let Ok(found) =
                    versions.binary_search_by_key(&position, |(writer, _, _)| *writer)
                {
                    versions.remove(found);
                }
            }
        }
    }
}

/// No next entry in a collision chain.
const END: u32 = u32::MAX;

/// A written key: its encoding ([`encode_key`]) in the arena, its writes, and the next entry
/// of the same map hash (a 64-bit keyed hash: practically never one).
#[derive(Debug)]
struct Written {
    key: Span,
    versions: Versions,
    next: u32,
}

/// A shard of the multi-version map. Keys and values live in one byte arena and the entries
/// in one vector, so a publish allocates nothing once they have room (a value or key of its
/// own per write was most of the parallel path's extra time: allocator work and cache misses
/// that callgrind's instruction count hides).
#[derive(Debug, Default)]
struct Shard {
    /// Map hash → the first entry of that hash.
    index: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    entries: Vec<Written>,
    bytes: Vec<u8>,
}

impl Shard {
    fn with_capacity(keys: usize) -> Shard {
        Shard {
            index: HashMap::with_capacity_and_hasher(keys, Default::default()),
            entries: Vec::with_capacity(keys),
            // A transfer's keys: 67 bytes encoded, values of 8.
            bytes: Vec::with_capacity(keys * 80),
        }
    }

    fn bytes(&self, span: Span) -> &[u8] {
        &self.bytes[span.start..span.start + span.len]
    }

    fn append(&mut self, parts: &[&[u8]]) -> Span {
        let start = self.bytes.len();
        for part in parts {
            self.bytes.extend_from_slice(part);
        }
        Span {
            start,
            len: self.bytes.len() - start,
        }
    }

    /// The entry of `key` (of this map hash).
    fn find(&self, map_hash: u64, key: KeyRef<'_>) -> Option<&Written> {
        let mut at = *self.index.get(&map_hash)?;
        while at != END {
            let entry = &self.entries[at as usize];
            if key_matches(self.bytes(entry.key), key) {
                return Some(entry);
            }
            at = entry.next;
        }
        None
    }

    /// The entry of `key`, created (without writes) if there is none.
    fn entry(&mut self, map_hash: u64, key: KeyRef<'_>) -> &mut Written {
        let head = self.index.get(&map_hash).copied().unwrap_or(END);
        let mut at = head;
        while at != END {
            let entry = &self.entries[at as usize];
            if key_matches(self.bytes(entry.key), key) {
                return &mut self.entries[at as usize];
            }
            at = entry.next;
        }
        let (tag, first, rest) = key_parts(key);
        let key = self.append(&[&[tag], first, rest]);
        // More entries than u32 can count would need billions of writes in one segment; the
        // journal's memory limit per call and the block size stop far below.
        let new = u32::try_from(self.entries.len()).unwrap_or(END - 1);
        self.entries.push(Written {
            key,
            versions: Versions::Empty,
            next: head,
        });
        self.index.insert(map_hash, new);
        let last = self.entries.len() - 1;
        &mut self.entries[last]
    }

    /// A value as a read returns it (`key` says which kind it is).
    fn value(&self, key: KeyRef<'_>, stored: Stored) -> StateValue {
        let bytes = |stored| match stored {
            Stored::Bytes(span) => self.bytes(span).to_vec(),
            Stored::Absent | Stored::Amount(_) => Vec::new(),
        };
        match key {
            KeyRef::Storage(..) => StateValue::Storage(match stored {
                Stored::Absent => None,
                other => Some(bytes(other)),
            }),
            KeyRef::Balance(..) => StateValue::Balance(match stored {
                Stored::Amount(amount) => amount,
                _ => 0,
            }),
            KeyRef::Code(_) => StateValue::Code(bytes(stored)),
            KeyRef::Contract(_) => {
                let mut code_hash = Hash::default();
                if let Stored::Bytes(span) = stored {
                    if span.len == 32 {
                        code_hash.0.copy_from_slice(self.bytes(span));
                    }
                }
                StateValue::Contract(ContractInfo { code_hash })
            }
        }
    }

    /// Keeps `value` in the arena.
    fn store(&mut self, value: ValueRef<'_>) -> Stored {
        match value {
            ValueRef::Storage(None) => Stored::Absent,
            ValueRef::Storage(Some(bytes)) | ValueRef::Code(bytes) => {
                Stored::Bytes(self.append(&[bytes]))
            }
            ValueRef::Balance(amount) => Stored::Amount(amount),
            ValueRef::Contract(info) => Stored::Bytes(self.append(&[&info.code_hash.0])),
        }
    }
}

/// A key's kind tag, its first 32-byte part and the rest: its encoding in a shard's arena is
/// the three back to back.
fn key_parts<'k>(key: KeyRef<'k>) -> (u8, &'k [u8], &'k [u8]) {
    match key {
        KeyRef::Storage(contract, key) => (0, &contract.0, key),
        KeyRef::Balance(account, asset) => (1, &account.0, &asset.0),
        KeyRef::Code(hash) => (2, &hash.0, &[]),
        KeyRef::Contract(address) => (3, &address.0, &[]),
    }
}

/// Whether `encoded` is the encoding of `key`.
fn key_matches(encoded: &[u8], key: KeyRef<'_>) -> bool {
    let (tag, first, rest) = key_parts(key);
    encoded.len() == 1 + first.len() + rest.len()
        && encoded[0] == tag
        && &encoded[1..1 + first.len()] == first
        && &encoded[1 + first.len()..] == rest
}

/// The writes of the segment's calls, each key with one value per writing call (by position):
/// a multi-version memory as in Block-STM, plus a filter of the keys written (see the module
/// documentation). A call's entries are replaced when it is executed again. Lookups only:
/// nothing iterates it into a result.
pub(super) struct VersionedWrites<H = RandomState> {
    hasher: H,
    /// Each in its own cache lines: two workers publishing to different shards do not take
    /// a line from each other.
    shards: Vec<CachePadded<Mutex<Shard>>>,
    /// Two cells per key ever written, by [`filter_hash`]: each holds the first position
    /// that wrote a key of its cells, as `u32::MAX - position` (0: none; fetch_max keeps
    /// the first). Never lowered when a write is retracted.
    filter: Box<[AtomicU32]>,
}

/// Largest filter kept for the next segment (4 MiB of cells: segments of up to 65,536 calls).
const KEPT_FILTER_CELLS: usize = 1 << 20;

/// The store of the last segment, emptied, for the next one: allocating and freeing ~2 MB
/// per block made the allocator give the top of its heap back to the system and fault it in
/// again on the next block (thousands of page faults per block, ~20% of a block's CPU time).
static SPARE: Mutex<Option<VersionedWrites>> = Mutex::new(None);

impl VersionedWrites {
    /// A store for a segment of `calls` calls (see [`with_hasher`](Self::with_hasher)): the
    /// last segment's, emptied and seeded anew, when its filter has the size this one needs.
    pub(super) fn new(calls: usize) -> Self {
        let spare = SPARE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        match spare {
            Some(mut spare) if spare.filter.len() == filter_cells(calls) => {
                spare.hasher = RandomState::default();
                spare
            }
            _ => Self::with_hasher(calls, RandomState::default()),
        }
    }

    /// Empties the store and keeps it for the next segment (a filter past
    /// [`KEPT_FILTER_CELLS`] is dropped instead).
    pub(super) fn recycle(mut self) {
        if self.filter.len() > KEPT_FILTER_CELLS {
            return;
        }
        for shard in &mut self.shards {
            let shard = shard
                .0
                .get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            shard.index.clear();
            shard.entries.clear();
            shard.bytes.clear();
        }
        for cell in self.filter.iter_mut() {
            *cell.get_mut() = 0;
        }
        *SPARE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(self);
    }
}

/// Cells of the filter of a segment of `calls` calls: 16 per call (two for each of the few
/// keys a call usually writes, with room to spare), at least 1,024.
fn filter_cells(calls: usize) -> usize {
    (calls * 16).clamp(1 << 10, 1 << 24).next_power_of_two()
}

impl<H: BuildHasher> VersionedWrites<H> {
    /// A store for a segment of `calls` calls: the filter has [`filter_cells`], the map room
    /// for two written keys per call.
    fn with_hasher(calls: usize, hasher: H) -> Self {
        let cells = filter_cells(calls);
        let per_shard = calls * 2 / SHARDS + 1;
        VersionedWrites {
            hasher,
            shards: (0..SHARDS)
                .map(|_| CachePadded(Mutex::new(Shard::with_capacity(per_shard))))
                .collect(),
            filter: (0..cells).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    /// The map's hash of a key: seeded per segment ([`RandomState`]), so no block can be made
    /// to collide in it.
    fn map_hash(&self, key: KeyRef<'_>) -> u64 {
        // Few writes of whole parts (a derived `Hash` writes every length and tag on its own,
        // several times the cost). Keys of different kinds may hash the same input (a storage
        // key that ends like a kind tag): a handful at most, told apart by the key comparison.
        let (tag, first, rest) = key_parts(key);
        let mut hasher = self.hasher.build_hasher();
        hasher.write(first);
        hasher.write(rest);
        hasher.write_u8(tag);
        hasher.finish()
    }

    /// The filter's two cells for a [`filter_hash`]: in one 64-byte line (16 cells), so a
    /// lookup costs one cache miss at most.
    fn cells(&self, hash: u64) -> [&AtomicU32; 2] {
        let line = (hash as usize & (self.filter.len() - 1)) & !15;
        [
            &self.filter[line | (hash >> 40) as usize & 15],
            &self.filter[line | (hash >> 50) as usize & 15],
        ]
    }

    /// `false` when no call before `position` has written a key of this filter hash (so
    /// far). A call's own writes do not count: reading a key it then writes stays cheap.
    fn maybe_written_before(&self, filter_hash: u64, position: usize) -> bool {
        let mark = position_mark(position);
        self.cells(filter_hash)
            .iter()
            .all(|cell| cell.load(Ordering::Acquire) > mark)
    }

    fn shard(&self, map_hash: u64) -> MutexGuard<'_, Shard> {
        self.shards[(map_hash >> 59) as usize % SHARDS]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The newest write of `key` (of this filter hash) by a call before `position`, and which
    /// one it is.
    fn read(
        &self,
        filter_hash: u64,
        key: KeyRef<'_>,
        position: usize,
    ) -> Option<(Version, StateValue)> {
        if !self.maybe_written_before(filter_hash, position) {
            return None;
        }
        let map_hash = self.map_hash(key);
        let shard = self.shard(map_hash);
        let (writer, incarnation, stored) = shard
            .find(map_hash, key)?
            .versions
            .newest_before(position)?;
        Some((Some((writer, incarnation)), shard.value(key, stored)))
    }

    /// Which write a read of `key` (of this filter hash) at `position` sees now.
    fn version(&self, filter_hash: u64, key: KeyRef<'_>, position: usize) -> Version {
        if !self.maybe_written_before(filter_hash, position) {
            return None;
        }
        let map_hash = self.map_hash(key);
        let shard = self.shard(map_hash);
        let (writer, incarnation, _) = shard
            .find(map_hash, key)?
            .versions
            .newest_before(position)?;
        Some((writer, incarnation))
    }

    /// Whether every read of `reads`, made by the call at `position`, saw the write that a
    /// read made now sees (when every call before `position` is final: the sequential one).
    pub(super) fn still_valid(&self, reads: &Reads, position: usize) -> bool {
        reads
            .reads
            .iter()
            .all(|read| self.version(read.hash, reads.key(read), position) == read.version)
    }

    /// Records the writes of the call at `position` in its `incarnation`.
    pub(super) fn publish(&self, position: usize, incarnation: u32, changes: &ChangeSet) {
        let mark = position_mark(position);
        for (key, value) in writes(changes) {
            // The filter first: a reader that finds the cells without an earlier writer read
            // before this publish (validation catches it); one that finds this writer looks in
            // the map, under its lock.
            for cell in self.cells(filter_hash(key)) {
                cell.fetch_max(mark, Ordering::Release);
            }
            let map_hash = self.map_hash(key);
            let mut shard = self.shard(map_hash);
            let stored = shard.store(value);
            shard
                .entry(map_hash, key)
                .versions
                .set((position, incarnation, stored));
        }
    }

    /// Forgets the writes `changes` of the call at `position` (its run is being replaced).
    /// The entries and arena bytes stay until the segment ends.
    pub(super) fn retract(&self, position: usize, changes: &ChangeSet) {
        for (key, _) in writes(changes) {
            let map_hash = self.map_hash(key);
            let mut shard = self.shard(map_hash);
            if shard.find(map_hash, key).is_some() {
                shard.entry(map_hash, key).versions.remove(position);
            }
        }
    }
}

/// A value of a change set, borrowed.
#[derive(Clone, Copy)]
enum ValueRef<'a> {
    Storage(&'a Option<Vec<u8>>),
    Balance(u64),
    Code(&'a Vec<u8>),
    Contract(ContractInfo),
}

/// Every key `changes` writes, with its value.
fn writes(changes: &ChangeSet) -> impl Iterator<Item = (KeyRef<'_>, ValueRef<'_>)> {
    let storage = changes
        .storage
        .iter()
        .map(|((contract, key), value)| (KeyRef::Storage(contract, key), ValueRef::Storage(value)));
    let balances = changes.balances.iter().map(|((account, asset), amount)| {
        (KeyRef::Balance(account, asset), ValueRef::Balance(*amount))
    });
    let code = changes
        .code
        .iter()
        .map(|(hash, elf)| (KeyRef::Code(hash), ValueRef::Code(elf)));
    let contracts = changes
        .contracts
        .iter()
        .map(|(address, info)| (KeyRef::Contract(address), ValueRef::Contract(*info)));
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
    reads: RefCell<Reads>,
}

impl<'a, S: StorageProvider + ?Sized> RecordingState<'a, S> {
    pub(super) fn new(base: &'a S, writes: &'a VersionedWrites, position: usize) -> Self {
        RecordingState {
            base,
            writes,
            position,
            reads: RefCell::new(Reads {
                // A token transfer reads four keys, two of them storage keys of 34 bytes.
                reads: Vec::with_capacity(8),
                key_bytes: Vec::with_capacity(128),
            }),
        }
    }

    /// The reads, in the order made (repeats included).
    pub(super) fn into_reads(self) -> Reads {
        self.reads.into_inner()
    }

    /// The newest value of `key` from a call before this one, recording which it was.
    fn look_up(&self, key: KeyRef<'_>) -> Option<StateValue> {
        let hash = filter_hash(key);
        let (version, value) = match self.writes.read(hash, key, self.position) {
            Some((version, value)) => (version, Some(value)),
            None => (None, None),
        };
        self.reads.borrow_mut().push(hash, key, version);
        value
    }
}

impl<S: StorageProvider + ?Sized> StorageProvider for RecordingState<'_, S> {
    fn read_storage(&self, contract: &Hash, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        match self.look_up(KeyRef::Storage(contract, key)) {
            Some(StateValue::Storage(value)) => Ok(value),
            _ => self.base.read_storage(contract, key),
        }
    }

    /// The journal's way to read: a value of the start state goes straight into `out`.
    fn read_storage_into(
        &self,
        contract: &Hash,
        key: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<usize>, StorageError> {
        match self.look_up(KeyRef::Storage(contract, key)) {
            Some(StateValue::Storage(value)) => Ok(value.map(|value| {
                out.extend_from_slice(&value);
                value.len()
            })),
            _ => self.base.read_storage_into(contract, key, out),
        }
    }

    fn read_balance(&self, account: &Hash, asset: &Hash) -> Result<u64, StorageError> {
        match self.look_up(KeyRef::Balance(account, asset)) {
            Some(StateValue::Balance(amount)) => Ok(amount),
            _ => self.base.read_balance(account, asset),
        }
    }

    fn read_contract(&self, address: &Hash) -> Result<Option<ContractInfo>, StorageError> {
        match self.look_up(KeyRef::Contract(address)) {
            Some(StateValue::Contract(info)) => Ok(Some(info)),
            _ => self.base.read_contract(address),
        }
    }

    fn read_code(&self, code_hash: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
        match self.look_up(KeyRef::Code(code_hash)) {
            Some(StateValue::Code(elf)) => Ok(Some(elf)),
            _ => self.base.read_code(code_hash),
        }
    }

    /// Records the same read as `read_code`.
    fn has_code(&self, code_hash: &Hash) -> Result<bool, StorageError> {
        match self.look_up(KeyRef::Code(code_hash)) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use tos_storage::MemoryStorage;

    /// A [`KeyRef`] owned.
    #[derive(Debug)]
    enum StateKey {
        Storage(Hash, Box<[u8]>),
        Balance(Hash, Hash),
        Code(Hash),
        Contract(Hash),
    }

    impl StateKey {
        fn as_ref(&self) -> KeyRef<'_> {
            match self {
                StateKey::Storage(contract, key) => KeyRef::Storage(contract, key),
                StateKey::Balance(account, asset) => KeyRef::Balance(account, asset),
                StateKey::Code(hash) => KeyRef::Code(hash),
                StateKey::Contract(address) => KeyRef::Contract(address),
            }
        }
    }

    const C: Hash = Hash([7; 32]);

    fn storage(entries: &[(&[u8], Option<&[u8]>)]) -> ChangeSet {
        let mut changes = ChangeSet::default();
        for (key, value) in entries {
            changes.set_storage(C, key.to_vec(), value.map(<[u8]>::to_vec));
        }
        changes
    }

    fn read_at<S: StorageProvider>(
        base: &S,
        writes: &VersionedWrites,
        position: usize,
        key: &[u8],
    ) -> (Option<Vec<u8>>, Reads) {
        let state = RecordingState::new(base, writes, position);
        let value = state.read_storage(&C, key).unwrap();
        let mut out = b"x".to_vec();
        let len = state.read_storage_into(&C, key, &mut out).unwrap();
        assert_eq!(len.map(|len| out[1..1 + len].to_vec()), value);
        (value, state.into_reads())
    }

    #[test]
    fn reads_see_the_newest_earlier_write_never_their_own() {
        let base = MemoryStorage::default()
            .with_storage(C, b"a", b"base")
            .with_storage(C, b"b", b"bb");
        let writes = VersionedWrites::new(10);
        writes.publish(3, 0, &storage(&[(b"a", Some(b"three"))]));
        writes.publish(7, 0, &storage(&[(b"a", Some(b"seven")), (b"b", None)]));
        let value = |position, key| read_at(&base, &writes, position, key).0;
        assert_eq!(value(0, b"a"), Some(b"base".to_vec()));
        assert_eq!(value(3, b"a"), Some(b"base".to_vec()));
        assert_eq!(value(4, b"a"), Some(b"three".to_vec()));
        assert_eq!(value(7, b"a"), Some(b"three".to_vec()));
        assert_eq!(value(8, b"a"), Some(b"seven".to_vec()));
        assert_eq!(value(7, b"b"), Some(b"bb".to_vec()));
        assert_eq!(value(8, b"b"), None, "a delete is a write");
        let (_, reads) = read_at(&base, &writes, 8, b"a");
        let versions: Vec<Version> = reads.reads.iter().map(|r| r.version).collect();
        assert_eq!(versions, [Some((7, 0)), Some((7, 0))]);
    }

    #[test]
    fn validation_sees_every_later_publish_and_retraction() {
        let base = MemoryStorage::default().with_storage(C, b"a", b"base");
        let writes = VersionedWrites::new(10);
        writes.publish(3, 0, &storage(&[(b"a", Some(b"three"))]));
        let state = RecordingState::new(&base, &writes, 5);
        state.read_storage(&C, b"a").unwrap();
        state.read_storage(&C, b"never").unwrap();
        state.read_balance(&C, &C).unwrap();
        state.read_contract(&C).unwrap();
        state.has_code(&C).unwrap();
        let reads = state.into_reads();
        assert!(writes.still_valid(&reads, 5));
        // Writes at or after the reader's position do not matter.
        writes.publish(
            5,
            0,
            &storage(&[(b"a", Some(b"own")), (b"never", Some(b"x"))]),
        );
        writes.publish(6, 0, &storage(&[(b"never", Some(b"y"))]));
        assert!(writes.still_valid(&reads, 5));
        // A write between the version read and the reader does.
        let between = storage(&[(b"a", Some(b"four"))]);
        writes.publish(4, 0, &between);
        assert!(!writes.still_valid(&reads, 5));
        writes.retract(4, &between);
        assert!(writes.still_valid(&reads, 5));
        // So does a new incarnation of the write read, and a first write of a key read
        // from the start state, of every kind.
        writes.publish(3, 1, &storage(&[(b"a", Some(b"three"))]));
        assert!(!writes.still_valid(&reads, 5));
        writes.publish(3, 0, &storage(&[(b"a", Some(b"three"))]));
        assert!(writes.still_valid(&reads, 5));
        let mut kinds = vec![storage(&[(b"never", None)])];
        let mut balance = ChangeSet::default();
        balance.set_balance(C, C, 1);
        kinds.push(balance);
        let mut contract = ChangeSet::default();
        contract.create_contract(C, C);
        kinds.push(contract);
        let mut code = ChangeSet::default();
        code.deploy_code(C, b"elf".to_vec());
        kinds.push(code);
        for changes in kinds {
            writes.publish(1, 0, &changes);
            assert!(!writes.still_valid(&reads, 5), "{changes:?}");
            writes.retract(1, &changes);
            assert!(writes.still_valid(&reads, 5), "{changes:?}");
        }
    }

    /// Every key hashes to the same map slot.
    struct Colliding;

    struct Constant;

    impl Hasher for Constant {
        fn finish(&self) -> u64 {
            42
        }

        fn write(&mut self, _: &[u8]) {}
    }

    impl BuildHasher for Colliding {
        type Hasher = Constant;

        fn build_hasher(&self) -> Constant {
            Constant
        }
    }

    /// Publishes and retractions in a pseudo-random order, every key in one collision chain
    /// and the filter as small as it gets: every lookup agrees with a plain model.
    #[test]
    fn colliding_keys_and_a_crowded_filter_answer_exactly() {
        let (a, b) = (Hash([1; 32]), Hash([2; 32]));
        let long = [9u8; 300];
        let keys: Vec<StateKey> = vec![
            StateKey::Storage(a, Box::new([])),
            StateKey::Storage(a, Box::new([1])),
            StateKey::Storage(b, Box::new([1])),
            StateKey::Storage(a, long.into()),
            StateKey::Balance(a, b),
            StateKey::Balance(b, a),
            StateKey::Code(a),
            StateKey::Contract(a),
            StateKey::Contract(b),
        ];
        let change = |key: &StateKey, value: u64| {
            let mut changes = ChangeSet::default();
            match key {
                StateKey::Storage(contract, key) => {
                    changes.set_storage(*contract, key.to_vec(), Some(value.to_le_bytes().to_vec()))
                }
                StateKey::Balance(account, asset) => changes.set_balance(*account, *asset, value),
                StateKey::Code(hash) => changes.deploy_code(*hash, value.to_le_bytes().to_vec()),
                StateKey::Contract(address) => {
                    changes.create_contract(*address, Hash([value as u8; 32]))
                }
            }
            changes
        };
        {
            let writes = VersionedWrites::with_hasher(1, Colliding);
            // model[key][position] = (incarnation, value)
            let mut model: Vec<BTreeMap<usize, (u32, u64)>> = vec![BTreeMap::new(); keys.len()];
            let mut seed = 0x2545_F491_4F6C_DD1Du64;
            for step in 0..3000u64 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let key = (seed % keys.len() as u64) as usize;
                let position = (seed >> 8) as usize % 12;
                let changes = change(&keys[key], step);
                if (seed >> 16).is_multiple_of(3) {
                    writes.retract(position, &changes);
                    model[key].remove(&position);
                } else {
                    let incarnation = (seed >> 20) as u32 % 2;
                    writes.publish(position, incarnation, &changes);
                    model[key].insert(position, (incarnation, step));
                }
                for (index, key) in keys.iter().enumerate() {
                    let key = key.as_ref();
                    for position in 0..13 {
                        let expected = model[index].range(..position).next_back();
                        let found = writes.read(filter_hash(key), key, position);
                        assert_eq!(
                            writes.version(filter_hash(key), key, position),
                            expected.map(|(writer, (incarnation, _))| (*writer, *incarnation))
                        );
                        match (expected, found) {
                            (None, None) => {}
                            (Some((writer, (incarnation, value))), Some((version, found))) => {
                                assert_eq!(version, Some((*writer, *incarnation)));
                                let expected = change(&keys[index], *value);
                                let mut got = ChangeSet::default();
                                match (key, found) {
                                    (KeyRef::Storage(c, k), StateValue::Storage(v)) => {
                                        got.set_storage(*c, k.to_vec(), v)
                                    }
                                    (KeyRef::Balance(x, y), StateValue::Balance(v)) => {
                                        got.set_balance(*x, *y, v)
                                    }
                                    (KeyRef::Code(h), StateValue::Code(v)) => {
                                        got.deploy_code(*h, v)
                                    }
                                    (KeyRef::Contract(h), StateValue::Contract(info)) => {
                                        got.create_contract(*h, info.code_hash)
                                    }
                                    other => panic!("a value of another kind: {other:?}"),
                                }
                                assert_eq!(got, expected);
                            }
                            other => panic!("step {step}: {other:?}"),
                        }
                    }
                }
            }
        }
    }
}
