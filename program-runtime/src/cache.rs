//! Loaded executables, shared across invokes and threads, keyed by code hash and engine.
//!
//! A contract is parsed, validated, verified and (for the JIT) compiled once; every later call
//! gets the same `Arc<TosExecutable>`. The cache is bounded by a memory budget (the sum of
//! [`Executable::mem_size`](solana_sbpf::elf::Executable::mem_size) of its entries, machine code
//! included) and evicts the least recently used entries first. An evicted executable stays
//! alive for the calls still running it (they hold an `Arc`).
//!
//! A hit and a miss give the same executable: loading is a pure function of the ELF bytes and
//! the runtime environment, and the ELF is checked against the code hash before it is loaded,
//! so an entry can never stand for other code than its key says.
//!
//! Concurrency: a thread calling the contract it called last takes it from a per-thread handle
//! (no lock, no search) while the cache has removed nothing since; other lookups take one
//! short lock; a miss loads outside that lock behind a per-key
//! gate, so threads missing on the same contract wait for one load instead of each compiling
//! it, and threads loading different contracts do so in parallel.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Instant,
};

use parking_lot::Mutex;
use tos_storage::Hash;

use crate::{
    error::RuntimeError,
    executor::{self, Engine, RuntimeEnvironment, TosExecutable},
};

/// Memory budget of a cache built with [`ExecutableCache::new`]: 256 MiB.
pub const DEFAULT_CACHE_BUDGET: usize = 256 * 1024 * 1024;

/// The code hash: blake3 of the ELF bytes. It names the code, shared by every instance that
/// runs it; a contract instance has its own address (see [`crate::address`]).
pub fn code_hash(elf: &[u8]) -> Hash {
    Hash(*blake3::hash(elf).as_bytes())
}

type Key = (Hash, Engine);

/// Hashes a [`Key`] by the first eight bytes of its code hash (and the engine). Code hashes are
/// blake3 outputs, already uniform, so SipHash over all 33 bytes buys nothing on the path every
/// call takes; colliding prefixes would need ~2^32 deployed contracts to find and cost only
/// probe steps.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `Hash` hashes its array as a length followed by the 32 bytes; take the first eight
        // bytes of any write of at least eight, fold shorter writes in.
        match bytes.get(..8) {
            Some(prefix) => {
                let mut word = [0u8; 8];
                word.copy_from_slice(prefix);
                self.0 ^= u64::from_le_bytes(word);
            }
            None => {
                for &byte in bytes {
                    self.0 = self.0.rotate_left(8) ^ u64::from(byte);
                }
            }
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = self.0.rotate_left(5) ^ value;
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }
}

type KeyMap<V> = HashMap<Key, V, std::hash::BuildHasherDefault<KeyHasher>>;

struct Entry {
    executable: Arc<TosExecutable>,
    /// Loaded size of the ELF it came from ([`crate::compute::code_load_size`]): what a cold
    /// code load is charged by.
    load_size: usize,
    size: usize,
    /// The clock at the last use: the entry with the smallest is evicted first.
    last_used: u64,
}

/// Entries with their last use. A hit only stamps the entry (one hash lookup); the least
/// recently used is searched for when an insert needs room, which only a miss (a load, far
/// dearer than the search) does.
#[derive(Default)]
struct Lru {
    entries: KeyMap<Entry>,
    clock: u64,
    bytes: usize,
}

impl Lru {
    fn touch(&mut self, key: &Key) -> Option<(Arc<TosExecutable>, usize)> {
        let entry = self.entries.get_mut(key)?;
        self.clock += 1;
        entry.last_used = self.clock;
        Some((entry.executable.clone(), entry.load_size))
    }

    fn remove(&mut self, key: &Key) -> bool {
        match self.entries.remove(key) {
            Some(entry) => {
                self.bytes -= entry.size;
                true
            }
            None => false,
        }
    }

    /// Drops the least recently used entry; `false` when there is none.
    fn evict_oldest(&mut self) -> bool {
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, entry)| entry.last_used)
            .map(|(key, _)| *key);
        match oldest {
            Some(key) => self.remove(&key),
            None => false,
        }
    }
}

/// Distinguishes caches, so a thread's [`RecentHit`] of one is never taken for another's.
static NEXT_CACHE_ID: AtomicU64 = AtomicU64::new(1);

/// Hits a thread takes from its [`RecentHit`] before it goes through the lock again, which
/// refreshes the entry's recency (the handle's hits do not stamp the entry).
const HITS_PER_RECENCY_STAMP: u32 = 64;

/// The executable a thread found last, so that calling the same contract again takes no lock
/// and no map search: valid while its cache has removed nothing since (`generation`).
struct RecentHit {
    cache: u64,
    key: Key,
    executable: Arc<TosExecutable>,
    load_size: usize,
    /// The cache's generation when the handle was taken under its lock.
    generation: u64,
    /// Hits taken from this handle since.
    hits: u32,
}

thread_local! {
    /// This thread's last hit, of whichever cache it used last. It keeps its executable alive
    /// until the thread's next lookup replaces it, even if the cache drops the entry.
    static RECENT_HIT: std::cell::RefCell<Option<RecentHit>> =
        const { std::cell::RefCell::new(None) };
}

/// A snapshot of a cache's counters, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Lookups answered from the cache (including threads that waited for another thread's
    /// load of the same contract).
    pub hits: u64,
    /// Lookups that loaded the executable (parse, verify, compile).
    pub misses: u64,
    /// Loads that failed (invalid code); failures are not cached.
    pub load_failures: u64,
    /// Entries dropped to stay within the budget.
    pub evictions: u64,
    /// Executables too large for the whole budget: loaded, used, never cached.
    pub uncached: u64,
    /// Total time spent loading, in nanoseconds.
    pub load_nanos: u64,
    /// Executables held now.
    pub entries: usize,
    /// Their memory size now, in bytes.
    pub bytes: usize,
    /// The memory budget, in bytes.
    pub budget: usize,
}

impl CacheStats {
    /// `hits / (hits + misses)`; 0 before the first lookup.
    pub fn hit_rate(&self) -> f64 {
        let lookups = self.hits + self.misses;
        if lookups == 0 {
            0.0
        } else {
            self.hits as f64 / lookups as f64
        }
    }

    /// Counters accumulated since `earlier` (entries, bytes and budget are `self`'s).
    pub fn since(&self, earlier: &CacheStats) -> CacheStats {
        CacheStats {
            hits: self.hits - earlier.hits,
            misses: self.misses - earlier.misses,
            load_failures: self.load_failures - earlier.load_failures,
            evictions: self.evictions - earlier.evictions,
            uncached: self.uncached - earlier.uncached,
            load_nanos: self.load_nanos - earlier.load_nanos,
            ..*self
        }
    }
}

/// Parses, verifies and (for the JIT) compiles each contract once. `Send + Sync`: share it
/// (or the `Vm` holding it) between threads by reference or `Arc`.
pub struct ExecutableCache {
    /// Unique among caches (see [`RecentHit`]).
    id: u64,
    /// Bumped under the lock whenever an entry is removed (evicted, replaced, removed,
    /// cleared): a thread's [`RecentHit`] taken before is no longer used.
    generation: AtomicU64,
    environment: RuntimeEnvironment,
    budget: usize,
    lru: Mutex<Lru>,
    /// One gate per key being loaded.
    loading: Mutex<KeyMap<Arc<Mutex<()>>>>,
    hits: AtomicU64,
    misses: AtomicU64,
    load_failures: AtomicU64,
    evictions: AtomicU64,
    uncached: AtomicU64,
    load_nanos: AtomicU64,
}

// The cache hands executables to other threads and is shared between them.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<TosExecutable>();
    send_sync::<Arc<TosExecutable>>();
    send_sync::<ExecutableCache>();
};

impl ExecutableCache {
    /// A cache with the [`DEFAULT_CACHE_BUDGET`].
    pub fn new(environment: RuntimeEnvironment) -> Self {
        Self::with_budget(environment, DEFAULT_CACHE_BUDGET)
    }

    /// A cache holding at most `budget` bytes of executables.
    pub fn with_budget(environment: RuntimeEnvironment, budget: usize) -> Self {
        ExecutableCache {
            id: NEXT_CACHE_ID.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
            environment,
            budget,
            lru: Mutex::new(Lru::default()),
            loading: Mutex::new(KeyMap::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            load_failures: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            uncached: AtomicU64::new(0),
            load_nanos: AtomicU64::new(0),
        }
    }

    pub fn environment(&self) -> &RuntimeEnvironment {
        &self.environment
    }

    /// The memory budget in bytes.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The cached executable of `hash`, if any (counts as a hit when found, nothing otherwise).
    pub fn get(&self, hash: &Hash, engine: Engine) -> Option<Arc<TosExecutable>> {
        self.get_with_load_size(hash, engine)
            .map(|(executable, _)| executable)
    }

    /// [`get`](Self::get) with the loaded size of the ELF the executable was loaded from.
    fn get_with_load_size(
        &self,
        hash: &Hash,
        engine: Engine,
    ) -> Option<(Arc<TosExecutable>, usize)> {
        let key = (*hash, engine);
        let generation = self.generation.load(Ordering::Acquire);
        // `try_with`: a lookup from a thread-local destructor finds no handle, not a panic.
        let recent = RECENT_HIT.try_with(|recent| {
            let mut recent = recent.borrow_mut();
            let handle = recent.as_mut()?;
            if handle.cache != self.id
                || handle.key != key
                || handle.generation != generation
                || handle.hits >= HITS_PER_RECENCY_STAMP
            {
                return None;
            }
            handle.hits += 1;
            Some((handle.executable.clone(), handle.load_size))
        });
        let recent = recent.ok().flatten();
        if recent.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return recent;
        }
        let (found, generation) = {
            let mut lru = self.lru.lock();
            (lru.touch(&key), self.generation.load(Ordering::Acquire))
        };
        if let Some((executable, load_size)) = &found {
            self.hits.fetch_add(1, Ordering::Relaxed);
            let handle = RecentHit {
                cache: self.id,
                key,
                executable: executable.clone(),
                load_size: *load_size,
                generation,
                hits: 0,
            };
            // The handle it replaces is dropped outside the borrow (its executable may be the
            // last reference to a large allocation; nothing re-enters here either way).
            let previous = RECENT_HIT.try_with(|recent| recent.borrow_mut().replace(handle));
            drop(previous);
        }
        found
    }

    /// Marks, under the lock, that an entry was removed: threads stop using handles taken
    /// before.
    fn removed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Whether `hash` is cached for `engine` (no effect on recency or counters).
    pub fn contains(&self, hash: &Hash, engine: Engine) -> bool {
        self.lru.lock().entries.contains_key(&(*hash, engine))
    }

    /// The executable of `elf` (whose code hash is `hash`), loading it on a miss.
    ///
    /// On a miss the ELF must hash to `hash` ([`RuntimeError::CodeHashMismatch`] otherwise);
    /// it is then validated, loaded, verified and, for [`Engine::Jit`], compiled. Failures are
    /// returned and not cached.
    pub fn get_or_load(
        &self,
        hash: Hash,
        elf: &[u8],
        engine: Engine,
    ) -> Result<Arc<TosExecutable>, RuntimeError> {
        self.get_or_load_with(hash, engine, || Ok(elf.to_vec()))
            .map(|(executable, _)| executable)
    }

    /// Like [`get_or_load`](Self::get_or_load), but fetches the ELF only on a miss. Returns the
    /// executable and whether it was loaded by this call (`true` = miss).
    pub fn get_or_load_with(
        &self,
        hash: Hash,
        engine: Engine,
        elf: impl FnOnce() -> Result<Vec<u8>, RuntimeError>,
    ) -> Result<(Arc<TosExecutable>, bool), RuntimeError> {
        self.get_or_load_metered(hash, engine, elf, |_| Ok(()))
    }

    /// The cache lookup and load behind every other getter: `charge` is called exactly once
    /// with the code's loaded size ([`crate::compute::code_load_size`]) before anything is
    /// loaded — on a hit with the size recorded in the entry, on a miss after `elf` fetched the
    /// bytes and before they are validated, verified and compiled — so a charge that fails
    /// stops the expensive part.
    fn get_or_load_metered(
        &self,
        hash: Hash,
        engine: Engine,
        elf: impl FnOnce() -> Result<Vec<u8>, RuntimeError>,
        charge: impl FnOnce(usize) -> Result<(), RuntimeError>,
    ) -> Result<(Arc<TosExecutable>, bool), RuntimeError> {
        let key = (hash, engine);
        if let Some((found, load_size)) = self.get_with_load_size(&hash, engine) {
            charge(load_size)?;
            return Ok((found, false));
        }
        let gate = self.loading.lock().entry(key).or_default().clone();
        let _loading = gate.lock();
        // Another thread may have loaded it while this one waited at the gate.
        if let Some((found, load_size)) = self.get_with_load_size(&hash, engine) {
            charge(load_size)?;
            return Ok((found, false));
        }
        let result = elf()
            .and_then(|bytes| charge(crate::compute::code_load_size(&bytes)).map(|()| bytes))
            .and_then(|bytes| self.load(hash, engine, bytes));
        self.loading.lock().remove(&key);
        result.map(|executable| (executable, true))
    }

    /// The executable of the contract instance at `address` in `storage`, with the code hash
    /// it runs; `Ok(None)` when no instance lives there. See [`load_code`](Self::load_code).
    pub fn load_contract(
        &self,
        storage: &dyn tos_storage::StorageProvider,
        address: &Hash,
        engine: Engine,
    ) -> Result<Option<(Arc<TosExecutable>, Hash)>, RuntimeError> {
        let Some(info) = storage.read_contract(address)? else {
            return Ok(None);
        };
        let executable = self.load_code(storage, address, &info.code_hash, engine)?;
        Ok(Some((executable, info.code_hash)))
    }

    /// The executable of the code `code_hash`, which the instance `address` runs. The ELF is
    /// fetched from `storage` only on a cache miss (the cache is keyed by code hash, so
    /// instances of one code share one executable). Code missing from the store, or stored
    /// under a hash it does not have, is a damaged store
    /// ([`RuntimeError::Backend`] with [`StorageError::Corrupt`](tos_storage::StorageError::Corrupt)),
    /// not a missing contract.
    pub fn load_code(
        &self,
        storage: &dyn tos_storage::StorageProvider,
        address: &Hash,
        code_hash: &Hash,
        engine: Engine,
    ) -> Result<Arc<TosExecutable>, RuntimeError> {
        self.load_code_metered(storage, address, code_hash, engine, |_| Ok(()))
    }

    /// [`load_code`](Self::load_code), calling `charge` with the code's loaded size
    /// ([`crate::compute::code_load_size`]) before it is loaded: on a hit from the cache entry, on a miss after the ELF was read from the
    /// store and before it is validated, verified and compiled. The runtime charges a cold
    /// code load through it (`InvokeContext::charge_code_load`), the same whether or not this
    /// node had the code cached; a failed charge leaves the expensive part undone.
    pub fn load_code_metered(
        &self,
        storage: &dyn tos_storage::StorageProvider,
        address: &Hash,
        code_hash: &Hash,
        engine: Engine,
        charge: impl FnOnce(usize) -> Result<(), RuntimeError>,
    ) -> Result<Arc<TosExecutable>, RuntimeError> {
        let missing = || {
            RuntimeError::Backend(tos_storage::StorageError::Corrupt {
                what: format!("contract {address} runs code {code_hash}, which is not stored"),
            })
        };
        // The code must exist in this state even when its executable is cached.
        if !storage.has_code(code_hash)? {
            return Err(missing());
        }
        let (executable, _) = self
            .get_or_load_metered(
                *code_hash,
                engine,
                || storage.read_code(code_hash)?.ok_or_else(missing),
                charge,
            )
            .map_err(|error| match error {
                // Stored code that does not hash to its key is a damaged store, not the call's
                // doing: the same failure as missing code, in a nested call too.
                RuntimeError::CodeHashMismatch { expected, actual } => {
                    RuntimeError::Backend(tos_storage::StorageError::Corrupt {
                        what: format!(
                            "contract {address} runs code {expected}, whose stored ELF hashes to {actual}"
                        ),
                    })
                }
                other => other,
            })?;
        Ok(executable)
    }

    fn load(
        &self,
        hash: Hash,
        engine: Engine,
        elf: Vec<u8>,
    ) -> Result<Arc<TosExecutable>, RuntimeError> {
        self.misses.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let load_size = crate::compute::code_load_size(&elf);
        let actual = code_hash(&elf);
        let loaded = if actual != hash {
            Err(RuntimeError::CodeHashMismatch {
                expected: hash,
                actual,
            })
        } else {
            executor::load_executable(&elf, self.environment.clone(), engine)
        };
        self.load_nanos.fetch_add(
            u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        let executable = match loaded {
            Ok(executable) => Arc::new(executable),
            Err(error) => {
                self.load_failures.fetch_add(1, Ordering::Relaxed);
                return Err(error);
            }
        };
        self.insert((hash, engine), executable.clone(), load_size);
        Ok(executable)
    }

    fn insert(&self, key: Key, executable: Arc<TosExecutable>, load_size: usize) {
        let size = executable.mem_size();
        if size > self.budget {
            self.uncached.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut lru = self.lru.lock();
        let mut removed = lru.remove(&key);
        let mut evicted = 0;
        while lru.bytes + size > self.budget {
            if !lru.evict_oldest() {
                break;
            }
            evicted += 1;
            removed = true;
        }
        if removed {
            self.removed();
        }
        lru.clock += 1;
        let last_used = lru.clock;
        lru.entries.insert(
            key,
            Entry {
                executable,
                load_size,
                size,
                last_used,
            },
        );
        lru.bytes += size;
        drop(lru);
        self.evictions.fetch_add(evicted, Ordering::Relaxed);
    }

    /// Drops `hash`'s executables (every engine). Returns whether one was cached.
    pub fn remove(&self, hash: &Hash) -> bool {
        let mut lru = self.lru.lock();
        let interpreter = lru.remove(&(*hash, Engine::Interpreter));
        let jit = lru.remove(&(*hash, Engine::Jit));
        if interpreter || jit {
            self.removed();
        }
        interpreter || jit
    }

    /// Drops every executable (counters are kept).
    pub fn clear(&self) {
        let mut lru = self.lru.lock();
        lru.entries.clear();
        lru.bytes = 0;
        self.removed();
    }

    /// The counters and the current size.
    pub fn stats(&self) -> CacheStats {
        let (entries, bytes) = {
            let lru = self.lru.lock();
            (lru.entries.len(), lru.bytes)
        };
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            load_failures: self.load_failures.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            uncached: self.uncached.load(Ordering::Relaxed),
            load_nanos: self.load_nanos.load(Ordering::Relaxed),
            entries,
            bytes,
            budget: self.budget,
        }
    }

    /// Number of cached executables.
    pub fn len(&self) -> usize {
        self.lru.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Memory size of the cached executables, in bytes.
    pub fn size_bytes(&self) -> usize {
        self.lru.lock().bytes
    }
}
