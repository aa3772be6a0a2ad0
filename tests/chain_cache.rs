//! The executable cache: a hit gives what a miss gives; the memory budget holds with LRU
//! eviction; one `Vm` serves many threads and loads each contract once; the cache refuses code
//! stored under a hash that is not its own.

mod chain_common;

use std::sync::Arc;

use chain_common::*;
use tos_test_harness::probe::Script;
use tos_vm::{
    execute_block,
    replay::Transaction,
    runtime::{ExecutableCache, TosExecutable},
    BlockContext, ChangeSet, ContractCall, ContractInfo, Engine, Hash, InvokeOutcome,
    MemoryStorage, ReplayOptions, StorageError, StorageProvider, Vm, VmConfig, VmError,
};

#[test]
fn the_chain_shares_vms_and_executables_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Vm>();
    send_sync::<ExecutableCache>();
    send_sync::<TosExecutable>();
    send_sync::<Arc<TosExecutable>>();
}

fn block() -> BlockContext {
    BlockContext {
        height: 3,
        hash: Hash([0xB3; 32]),
        timestamp: 1_700_000_000,
    }
}

fn vm(engine: Engine, budget: Option<usize>) -> Vm {
    let config = VmConfig {
        engine,
        ..VmConfig::default()
    };
    match budget {
        Some(bytes) => Vm::with_cache_budget(config, bytes),
        None => Vm::new(config),
    }
}

/// Everything a call produced, as text.
fn fingerprint(outcome: &InvokeOutcome) -> String {
    format!(
        "{:?} | {} | {:?} | {:?} | {:?} | {:?} | {:?}",
        outcome.status,
        outcome.compute_used,
        outcome.logs,
        outcome.effects,
        outcome.changes,
        outcome.events,
        outcome.return_data
    )
}

/// A store with every contract deployed and a call for each.
fn setup(universe: &Universe) -> (MemoryStorage, Vec<ContractCall>) {
    let mut store = MemoryStorage::default();
    store.commit(&universe.genesis()).unwrap();
    let mut changes = ChangeSet::default();
    for (address, elf) in universe.instances() {
        changes.deploy_code(tos_vm::code_hash(&elf), elf.clone());
        changes.create_contract(address, tos_vm::code_hash(&elf));
    }
    store.commit(&changes).unwrap();
    let mut calls: Vec<ContractCall> = universe
        .contracts()
        .into_iter()
        .map(|contract| ContractCall::new(contract, Vec::new()))
        .collect();
    for (i, probe) in universe.probe_ids().into_iter().enumerate() {
        let script = emit(
            Script::new().storage_write(b"k", &[i as u8]),
            b"topic",
            b"data",
        );
        calls.push(ContractCall {
            contract: probe,
            input: script.build(0),
            sender: universe.shared_senders()[0],
            tx_hash: Hash([i as u8; 32]),
            deposits: tos_vm::native_deposit(7),
            compute_limit: None,
            created_bytes_limit: None,
        });
    }
    (store, calls)
}

#[test]
fn a_hit_gives_what_a_miss_gives() {
    let universe = Universe::new(2);
    let (store, calls) = setup(&universe);
    for engine in [Engine::Interpreter, Engine::Jit] {
        let warm = vm(engine, None);
        for call in &calls {
            let fresh = vm(engine, None);
            let miss = fresh.execute(call, &block(), &store).unwrap();
            assert_eq!(fresh.cache_stats().misses, 1);
            let hit = fresh.execute(call, &block(), &store).unwrap();
            assert_eq!(fresh.cache_stats().hits, 1);
            assert_eq!(fingerprint(&miss), fingerprint(&hit));
            warm.execute(call, &block(), &store).unwrap();
            let warm_hit = warm.execute(call, &block(), &store).unwrap();
            assert_eq!(fingerprint(&miss), fingerprint(&warm_hit));
        }
        let stats = warm.cache_stats();
        assert_eq!(stats.misses, universe.contracts().len() as u64);
        assert_eq!(stats.entries, universe.contracts().len());
        assert!(stats.hit_rate() > 0.5);
        assert!(stats.bytes > 0 && stats.bytes <= stats.budget);
    }
}

/// The memory size of each contract's executable under `engine`.
fn sizes(universe: &Universe, store: &MemoryStorage, engine: Engine) -> Vec<usize> {
    universe
        .contracts()
        .into_iter()
        .map(|contract| {
            let probe = vm(engine, None);
            probe
                .execute(&ContractCall::new(contract, Vec::new()), &block(), store)
                .unwrap();
            probe.cache_stats().bytes
        })
        .collect()
}

#[test]
fn the_budget_holds_and_the_least_recently_used_goes_first() {
    let universe = Universe::new(3);
    let (store, calls) = setup(&universe);
    let contracts = universe.contracts();
    for engine in [Engine::Interpreter, Engine::Jit] {
        let sizes = sizes(&universe, &store, engine);
        // Never room for three executables.
        let budget = {
            let mut sorted = sizes.clone();
            sorted.sort();
            sorted[..3].iter().sum::<usize>() - 1
        };
        let reference = vm(engine, None);
        let bounded = vm(engine, Some(budget));
        for round in 0..3 {
            for call in &calls {
                let expected = reference.execute(call, &block(), &store).unwrap();
                let got = bounded.execute(call, &block(), &store).unwrap();
                assert_eq!(fingerprint(&expected), fingerprint(&got), "round {round}");
                let stats = bounded.cache_stats();
                assert!(stats.bytes <= budget, "{stats:?}");
                assert!(stats.entries <= 2, "{stats:?}");
            }
        }
        let stats = bounded.cache_stats();
        assert!(stats.evictions > 0, "{stats:?}");
        assert_eq!(stats.misses, stats.evictions + stats.entries as u64);

        // LRU: with room for any two of A, B, C but not all three, touching A after B makes
        // B the one to go when C comes.
        let lru = vm(engine, Some(sizes[0] + sizes[1] + sizes[2] - 1));
        let run = |i: usize| {
            lru.execute(
                &ContractCall::new(contracts[i], Vec::new()),
                &block(),
                &store,
            )
            .unwrap()
        };
        run(0);
        run(1);
        run(0);
        run(2);
        // The cache is keyed by code hash, not by the instance's address.
        let code: Vec<Hash> = universe
            .instances()
            .iter()
            .map(|(_, elf)| tos_vm::code_hash(elf))
            .collect();
        assert!(lru.cache().contains(&code[0], engine));
        assert!(!lru.cache().contains(&code[1], engine));
        assert!(lru.cache().contains(&code[2], engine));
    }
}

#[test]
fn a_zero_budget_caches_nothing_and_changes_nothing() {
    let universe = Universe::new(1);
    let (store, calls) = setup(&universe);
    let uncached = vm(Engine::Jit, Some(0));
    let cached = vm(Engine::Jit, None);
    for call in &calls {
        assert_eq!(
            fingerprint(&uncached.execute(call, &block(), &store).unwrap()),
            fingerprint(&cached.execute(call, &block(), &store).unwrap())
        );
    }
    let stats = uncached.cache_stats();
    assert_eq!(stats.entries, 0);
    assert_eq!(stats.bytes, 0);
    assert_eq!(stats.uncached, calls.len() as u64);
}

#[test]
fn one_vm_serves_many_threads_and_loads_each_contract_once() {
    let universe = Universe::new(2);
    let (store, calls) = setup(&universe);
    let reference: Vec<String> = {
        let vm = vm(Engine::Jit, None);
        calls
            .iter()
            .map(|call| fingerprint(&vm.execute(call, &block(), &store).unwrap()))
            .collect()
    };
    let shared = vm(Engine::Jit, None);
    let threads = 4;
    let rounds = 10;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..rounds {
                    for (call, expected) in calls.iter().zip(&reference) {
                        let outcome = shared.execute(call, &block(), &store).unwrap();
                        assert_eq!(&fingerprint(&outcome), expected);
                    }
                }
            });
        }
    });
    let stats = shared.cache_stats();
    assert_eq!(stats.misses, universe.contracts().len() as u64, "{stats:?}");
    assert_eq!(
        stats.hits + stats.misses,
        (threads * rounds * calls.len()) as u64,
        "{stats:?}"
    );
}

#[test]
fn code_under_a_foreign_hash_is_refused() {
    let universe = Universe::new(1);
    let mut store = MemoryStorage::default();
    let mut changes = ChangeSet::default();
    let wrong = Hash([0x42; 32]);
    let instance = Hash([0x43; 32]);
    changes.deploy_code(wrong, universe.hello.clone());
    changes.create_contract(instance, wrong);
    store.commit(&changes).unwrap();
    let vm = vm(Engine::Jit, None);
    let error = vm
        .execute(&ContractCall::new(instance, Vec::new()), &block(), &store)
        .unwrap_err();
    assert!(
        matches!(
            &error,
            VmError::Backend(StorageError::Corrupt { what }) if what.contains(&wrong.to_hex())
        ),
        "{error:?}"
    );
    assert_eq!(vm.cache_stats().entries, 0);
    assert_eq!(vm.cache_stats().load_failures, 1);
}

/// A store that counts how often an ELF is copied out of it.
struct CountingCode {
    inner: MemoryStorage,
    code_reads: std::sync::atomic::AtomicUsize,
}

impl StorageProvider for CountingCode {
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
        self.code_reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.read_code(c)
    }
    fn has_code(&self, c: &Hash) -> Result<bool, StorageError> {
        self.inner.has_code(c)
    }
    fn commit(&mut self, _: &ChangeSet) -> Result<(), StorageError> {
        unreachable!("execute_block never writes its base")
    }
}

/// Issue 18 item 5: `has_code` of the block's views (`PendingState`, replay's recording
/// store) fell back to `read_code`, so every call of a block copied its contract's whole ELF
/// although the executable was cached. Now a block copies each ELF once: on the cache miss.
#[test]
fn a_block_copies_each_elf_only_on_a_cache_miss() {
    let universe = Universe::new(2);
    let (store, _) = setup(&universe);
    let store = CountingCode {
        inner: store,
        code_reads: Default::default(),
    };
    let contracts = universe.contracts();
    let transactions: Vec<Transaction> = (0..40)
        .map(|i| Transaction::Call {
            sender: Hash([0x5E; 32]),
            contract: contracts[i % contracts.len()].into(),
            input: Vec::new(),
            deposits: tos_vm::native_deposit(0),
            compute_limit: None,
        })
        .collect();
    for threads in [1, 4] {
        let vm = vm(Engine::Jit, None);
        store
            .code_reads
            .store(0, std::sync::atomic::Ordering::Relaxed);
        let options = ReplayOptions {
            threads,
            min_parallel_calls: 2,
        };
        let execution = execute_block(&vm, &block(), &transactions, &store, &options).unwrap();
        assert!(execution
            .transactions
            .iter()
            .all(|tx| !matches!(tx.status, tos_vm::TxStatus::Rejected { .. })));
        assert_eq!(
            store.code_reads.load(std::sync::atomic::Ordering::Relaxed),
            contracts.len(),
            "{threads} threads"
        );
    }
}

/// A thread calling the contract it called last takes the executable without the cache's lock
/// or a search; every such hit still counts, and an entry removed or cleared since is never
/// served that way (the next call loads it again).
#[test]
fn a_repeated_call_hits_until_its_entry_is_removed() {
    let universe = Universe::new(1);
    let (store, calls) = setup(&universe);
    let call = &calls[0];
    let code = store
        .read_contract(&call.contract)
        .unwrap()
        .unwrap()
        .code_hash;
    for engine in [Engine::Interpreter, Engine::Jit] {
        let vm = vm(engine, None);
        let first = fingerprint(&vm.execute(call, &block(), &store).unwrap());
        for _ in 0..150 {
            let again = vm.execute(call, &block(), &store).unwrap();
            assert_eq!(fingerprint(&again), first);
        }
        let counts = |vm: &Vm| (vm.cache_stats().misses, vm.cache_stats().hits);
        assert_eq!(counts(&vm), (1, 150));
        assert!(vm.cache().remove(&code));
        vm.execute(call, &block(), &store).unwrap();
        assert_eq!(
            counts(&vm),
            (2, 150),
            "{engine:?}: a removed entry is loaded again"
        );
        vm.execute(call, &block(), &store).unwrap();
        assert_eq!(counts(&vm), (2, 151));
        vm.cache().clear();
        let reloaded = vm.execute(call, &block(), &store).unwrap();
        assert_eq!(
            counts(&vm),
            (3, 151),
            "{engine:?}: a cleared cache loads again"
        );
        assert_eq!(fingerprint(&reloaded), first);
    }
}
