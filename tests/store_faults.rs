//! Store faults: the store fails under the VM — a read, a code fetch or a commit returns an I/O
//! error, the disk is full, the state directory is read-only, the file at the store path is
//! damaged or someone else's, the process is killed during a commit. Each gives a clear error
//! and loses nothing that was committed; a failed store is never mistaken for a failed
//! contract: it is `Err(VmError::Backend)` of the API, never an outcome.
//!
//! Fault injection at the provider (`FaultyStore`) is exhaustive: every read of a workload is
//! failed in turn, in a nested call and in a parallel block, under both engines. Faults of the
//! real disk store run in child processes (this test binary re-executed with
//! `TOS_STORE_FAULT_CHILD` set) under `prlimit --fsize` (a write past the limit fails with
//! `EFBIG`, as on a full disk), as an unprivileged user (`setpriv`, when the tests run as root;
//! permissions are ignored for root), on a tiny tmpfs when the machine lets us mount one
//! (`ENOSPC`), and under `SIGKILL`.

mod common;
#[path = "hostile/support.rs"]
mod support;

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::{Duration, Instant},
};

use common::{op, Script, Value};
use support::{block, call, disk_snapshot, outcome_fingerprint, probe_variant_elf, vm, Rng};
use tos_vm::{
    execute_block, storage::StorageError, BlockExecution, CallTarget, ChangeSet, Deposits,
    DiskStorage, Engine, Hash, InvokeOutcome, MemoryStorage, ReplayOptions, StorageProvider,
    Transaction, VmError, NATIVE_ASSET,
};

const BUDGET: u64 = 1_400_000;

// ---- fault injection at the provider -------------------------------------------------------

/// A `MemoryStorage` that fails with an I/O error: from its `fail_read_at`-th read on (0-based,
/// counting every read of any kind), on its `fail_code_at`-th code fetch (`read_code` only,
/// the ELF a cold cache loads), and on its `fail_commit_at`-th commit. `Sync`, for parallel
/// blocks.
struct FaultyStore {
    inner: MemoryStorage,
    reads: AtomicU64,
    code_fetches: AtomicU64,
    commits: AtomicU64,
    fail_read_at: Option<u64>,
    fail_code_at: Option<u64>,
    fail_commit_at: Option<u64>,
    /// Whether a fault was injected.
    tripped: AtomicBool,
}

fn injected(what: &str, n: u64) -> StorageError {
    StorageError::Io {
        context: format!("{what} (injected fault #{n})"),
        source: std::io::Error::other("injected I/O error"),
    }
}

impl FaultyStore {
    fn new(inner: MemoryStorage) -> Self {
        FaultyStore {
            inner,
            reads: AtomicU64::new(0),
            code_fetches: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            fail_read_at: None,
            fail_code_at: None,
            fail_commit_at: None,
            tripped: AtomicBool::new(false),
        }
    }

    fn read(&self, what: &str) -> Result<(), StorageError> {
        let n = self.reads.fetch_add(1, Ordering::SeqCst);
        if self.fail_read_at.is_some_and(|at| n >= at) {
            self.tripped.store(true, Ordering::SeqCst);
            return Err(injected(&format!("reading {what}"), n));
        }
        Ok(())
    }

    fn tripped(&self) -> bool {
        self.tripped.load(Ordering::SeqCst)
    }
}

impl StorageProvider for FaultyStore {
    fn read_storage(&self, contract: &Hash, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.read("storage")?;
        self.inner.read_storage(contract, key)
    }
    fn read_balance(&self, account: &Hash, asset: &Hash) -> Result<u64, StorageError> {
        self.read("a balance")?;
        self.inner.read_balance(account, asset)
    }
    fn read_contract(&self, address: &Hash) -> Result<Option<tos_vm::ContractInfo>, StorageError> {
        self.read("a contract")?;
        self.inner.read_contract(address)
    }
    fn read_code(&self, code_hash: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
        self.read("code")?;
        let n = self.code_fetches.fetch_add(1, Ordering::SeqCst);
        if self.fail_code_at == Some(n) {
            self.tripped.store(true, Ordering::SeqCst);
            return Err(injected("fetching code", n));
        }
        self.inner.read_code(code_hash)
    }
    fn has_code(&self, code_hash: &Hash) -> Result<bool, StorageError> {
        self.read("whether code exists")?;
        self.inner.has_code(code_hash)
    }
    fn commit(&mut self, changes: &ChangeSet) -> Result<(), StorageError> {
        let n = self.commits.fetch_add(1, Ordering::SeqCst);
        if self.fail_commit_at == Some(n) {
            self.tripped.store(true, Ordering::SeqCst);
            return Err(injected("committing", n));
        }
        self.inner.commit(changes)
    }
}

/// A workload that reads storage, balances and code at depth 1 and 2 and writes and
/// transfers: probe A writes, reads, transfers, then invokes probe B, which does the same.
struct Workload {
    store: MemoryStorage,
    contracts: Vec<Hash>,
    input: Vec<u8>,
}

const RECIPIENT: Hash = Hash([0xAA; 32]);

fn step(script: Script, tag: &'static [u8]) -> Script {
    script
        .with_data(tag, |s, key| {
            s.with_data(b"value", |s, value| {
                s.call(
                    op::STORAGE_WRITE,
                    &[key, Value(tag.len() as u64), value, Value(5)],
                )
            })
        })
        .with_data(b"seeded", |s, key| {
            s.call(
                op::STORAGE_READ,
                &[key, Value(6), common::Scratch(0), Value(16)],
            )
        })
        .with_data(&RECIPIENT.0, |s, to| {
            s.call(op::GET_BALANCE, &[to])
                .call(op::TRANSFER, &[to, Value(1)])
        })
}

fn workload(engine: Engine) -> Workload {
    let elfs = [probe_variant_elf(1), probe_variant_elf(2)];
    let vm = vm(engine, BUDGET);
    let mut store = MemoryStorage::default();
    let contracts: Vec<Hash> = elfs
        .iter()
        .map(|e| {
            vm.deploy(
                e,
                tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(e)),
                &mut store,
            )
            .map(|deployed| deployed.contract)
            .unwrap()
        })
        .collect();
    for contract in &contracts {
        store.set_balance(*contract, NATIVE_ASSET, 1_000);
        store.set_storage(*contract, b"seeded", Some(b"old value"));
    }
    let inner = step(Script::new(), b"inner").build(0);
    let len = inner.len() as u64;
    let input = step(Script::new(), b"outer")
        .with_data(&contracts[1].0, |s, callee| {
            s.with_data(&inner, |s, input| {
                s.call(op::INVOKE, &[callee, input, Value(len), Value(0)])
            })
        })
        .build(0);
    Workload {
        store,
        contracts,
        input,
    }
}

/// Checks one run against an injected fault: the API returned `Err(VmError::Backend)` (no
/// outcome), the store is unchanged, and the same `Vm` then gives `baseline` on a healthy
/// store, as if nothing had happened.
fn check_faulted_run(
    label: &str,
    result: Result<InvokeOutcome, VmError>,
    store: &FaultyStore,
    work: &Workload,
    vm: &tos_vm::Vm,
    baseline: &str,
    problems: &mut Vec<String>,
) {
    assert!(store.tripped(), "{label}: no fault was injected");
    match &result {
        Err(error) if error.is_backend() => {}
        Err(error) => problems.push(format!("{label}: not a backend error: {error:?}")),
        Ok(outcome) => problems.push(format!(
            "{label}: an outcome instead of the store's error: status {:?}, logs {:?}",
            outcome.status,
            outcome.logs.iter().map(|l| &l.message).collect::<Vec<_>>()
        )),
    }
    if store.inner != work.store {
        problems.push(format!("{label}: the store changed"));
    }
    let mut healthy = work.store.clone();
    match vm.invoke(
        &call(work.contracts[0], &work.input, 0),
        &block(),
        &mut healthy,
    ) {
        Ok(outcome) if outcome_fingerprint(&outcome) == baseline => {}
        Ok(outcome) => problems.push(format!(
            "{label}: the next call on a healthy store differs:\n{}",
            outcome_fingerprint(&outcome)
        )),
        Err(error) => problems.push(format!("{label}: the next call failed: {error:?}")),
    }
}

/// Every read of the nested workload failed in turn (that read and all after it), under both
/// engines: `Vm::invoke` returns `Err(VmError::Backend)` — never an outcome, never a failed
/// call status for the caller of the nested call — nothing is committed, and the next call on
/// a healthy store is exactly the fault-free one.
#[test]
fn every_failed_read_ends_the_invoke_with_a_backend_error() {
    for engine in [Engine::Interpreter, Engine::Jit] {
        let work = workload(engine);
        let vm = vm(engine, BUDGET);
        // Warm the executable cache first: a cold call also fetches each ELF, a warm one only
        // checks that the code exists, and every run below is warm.
        let mut warm_up = FaultyStore::new(work.store.clone());
        vm.invoke(
            &call(work.contracts[0], &work.input, 0),
            &block(),
            &mut warm_up,
        )
        .expect("warm-up run");
        // The fault-free run: count the reads.
        let mut clean = FaultyStore::new(work.store.clone());
        let outcome = vm
            .invoke(
                &call(work.contracts[0], &work.input, 0),
                &block(),
                &mut clean,
            )
            .expect("fault-free run");
        assert!(outcome.status.is_success(), "{:?}", outcome.status);
        let baseline = outcome_fingerprint(&outcome);
        let reads = clean.reads.load(Ordering::SeqCst);
        assert!(
            reads >= 8,
            "the workload reads code, storage and balances ({reads})"
        );
        let mut problems = Vec::new();
        for fail_at in 0..reads {
            let mut store = FaultyStore::new(work.store.clone());
            store.fail_read_at = Some(fail_at);
            let result = vm.invoke(
                &call(work.contracts[0], &work.input, 0),
                &block(),
                &mut store,
            );
            let label = format!("read #{fail_at} failed");
            check_faulted_run(&label, result, &store, &work, &vm, &baseline, &mut problems);
        }
        assert!(
            problems.is_empty(),
            "{engine:?}: {} of {reads} injected read failures were not reported as store failures:\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
}

/// A cold cache fetches the caller's ELF and, inside `tos_invoke`, the callee's: each fetch
/// failed in turn is `Err(VmError::Backend)` under both engines (the callee's too: the caller
/// never sees it as a failed call), nothing is committed, no failed load is cached, and the
/// next call on a healthy store is the fault-free one.
#[test]
fn a_failed_code_fetch_ends_the_invoke_with_a_backend_error() {
    for engine in [Engine::Interpreter, Engine::Jit] {
        let work = workload(engine);
        let mut clean = FaultyStore::new(work.store.clone());
        let outcome = vm(engine, BUDGET)
            .invoke(
                &call(work.contracts[0], &work.input, 0),
                &block(),
                &mut clean,
            )
            .expect("fault-free run");
        assert!(outcome.status.is_success(), "{:?}", outcome.status);
        let baseline = outcome_fingerprint(&outcome);
        let fetches = clean.code_fetches.load(Ordering::SeqCst);
        assert_eq!(
            fetches, 2,
            "a cold run fetches the caller's and the callee's code"
        );
        let mut problems = Vec::new();
        for fail_at in 0..fetches {
            let vm = vm(engine, BUDGET);
            let mut store = FaultyStore::new(work.store.clone());
            store.fail_code_at = Some(fail_at);
            let result = vm.invoke(
                &call(work.contracts[0], &work.input, 0),
                &block(),
                &mut store,
            );
            let label = format!("code fetch #{fail_at} failed");
            check_faulted_run(&label, result, &store, &work, &vm, &baseline, &mut problems);
        }
        assert!(problems.is_empty(), "{engine:?}:\n{}", problems.join("\n"));
    }
}

/// A callee whose stored code does not hash to its code hash (a damaged store) ends the whole
/// invoke with `Err(VmError::Backend(Corrupt))` under both engines: the caller of
/// `tos_invoke` never sees it as a failed call (before, the caller was aborted with
/// `CodeHashMismatch`, an outcome a node would have recorded).
#[test]
fn a_callee_stored_under_a_foreign_hash_is_the_stores_failure() {
    for engine in [Engine::Interpreter, Engine::Jit] {
        let work = workload(engine);
        let mut store = work.store.clone();
        // The callee's instance now runs "code" W, whose stored ELF hashes to something else.
        let wrong = Hash([0x42; 32]);
        let mut damage = ChangeSet::default();
        damage.deploy_code(wrong, probe_variant_elf(2));
        damage.create_contract(work.contracts[1], wrong);
        store.commit(&damage).unwrap();
        let before = store.clone();
        let vm = vm(engine, BUDGET);
        let result = vm.invoke(
            &call(work.contracts[0], &work.input, 0),
            &block(),
            &mut store,
        );
        match &result {
            Err(VmError::Backend(StorageError::Corrupt { what })) => {
                assert!(what.contains(&wrong.to_hex()), "{engine:?}: {what}")
            }
            other => panic!(
                "{engine:?}: {:?}",
                other.as_ref().map(|outcome| &outcome.status)
            ),
        }
        assert_eq!(store, before, "{engine:?}: the store changed");
    }
}

/// A commit that fails is reported as the store's error and applies nothing; the next
/// commit goes through.
#[test]
fn a_failed_commit_is_a_backend_error_and_applies_nothing() {
    for engine in [Engine::Interpreter, Engine::Jit] {
        let work = workload(engine);
        let vm = vm(engine, BUDGET);
        let mut store = FaultyStore::new(work.store.clone());
        store.fail_commit_at = Some(0);
        let result = vm.invoke(
            &call(work.contracts[0], &work.input, 0),
            &block(),
            &mut store,
        );
        match result {
            Err(error) => assert!(error.is_backend(), "{error:?}"),
            Ok(outcome) => panic!("a failed commit returned {:?}", outcome.status),
        }
        assert!(store.tripped());
        assert_eq!(store.inner, work.store);
        // `execute` (no commit) still hands the change set back for the caller to retry.
        let outcome = vm
            .execute(&call(work.contracts[0], &work.input, 0), &block(), &store)
            .unwrap();
        assert!(outcome.status.is_success());
        assert!(!outcome.changes.is_empty());
        // The second commit is not failed: the retry commits exactly the fault-free result.
        let retried = vm
            .invoke(
                &call(work.contracts[0], &work.input, 0),
                &block(),
                &mut store,
            )
            .unwrap();
        let mut healthy = work.store.clone();
        let fault_free = vm
            .invoke(
                &call(work.contracts[0], &work.input, 0),
                &block(),
                &mut healthy,
            )
            .unwrap();
        assert_eq!(
            outcome_fingerprint(&retried),
            outcome_fingerprint(&fault_free)
        );
        assert_eq!(store.inner, healthy);
    }
}

/// A block of calls on both probes (nested calls, value transfers to a shared recipient) run
/// in parallel over a store whose reads fail from the n-th on, for every n: whenever a fault
/// was injected, `execute_block` returns the store's error (no receipts, no change set); when
/// the run did not reach the n-th read, it is exactly the fault-free block. Then the same
/// `Vm` executes the block on a healthy store exactly as without faults.
#[test]
fn a_parallel_block_over_a_failing_store_returns_the_stores_error() {
    for engine in [Engine::Interpreter, Engine::Jit] {
        let work = workload(engine);
        let vm = vm(engine, BUDGET);
        let single = |tag: &'static [u8]| step(Script::new(), tag).build(0);
        let mut transactions = Vec::new();
        for round in 0..3u8 {
            for (index, contract) in work.contracts.iter().enumerate() {
                let input = if index == 0 && round == 1 {
                    work.input.clone()
                } else {
                    single(if index == 0 { b"left" } else { b"right" })
                };
                transactions.push(Transaction::Call {
                    sender: support::SENDER,
                    contract: CallTarget::Address(*contract),
                    input,
                    deposits: Deposits::new(),
                    compute_limit: None,
                });
            }
        }
        let options = ReplayOptions {
            threads: 2,
            min_parallel_calls: 2,
        };
        let run =
            |store: &FaultyStore| execute_block(&vm, &block(), &transactions, store, &options);
        // Everything but the timings.
        let fingerprint = |execution: &BlockExecution| {
            let transactions: Vec<_> = execution
                .transactions
                .iter()
                .map(|tx| {
                    let mut tx = tx.clone();
                    tx.elapsed = Duration::ZERO;
                    tx
                })
                .collect();
            format!("{transactions:?}\n{:?}", execution.changes)
        };
        let clean = FaultyStore::new(work.store.clone());
        let baseline = fingerprint(&run(&clean).expect("fault-free block"));
        assert!(
            baseline.matches("Success").count() == transactions.len(),
            "every call of the block succeeds:\n{baseline}"
        );
        let reads = clean.reads.load(Ordering::SeqCst);
        let mut problems = Vec::new();
        for fail_at in 0..reads {
            let mut store = FaultyStore::new(work.store.clone());
            store.fail_read_at = Some(fail_at);
            let result = run(&store);
            match (store.tripped(), &result) {
                (true, Err(error)) if error.is_backend() => {}
                (true, Err(error)) => {
                    problems.push(format!("read #{fail_at}: not a backend error: {error:?}"))
                }
                (true, Ok(execution)) => problems.push(format!(
                    "read #{fail_at}: a block execution instead of the store's error:\n{}",
                    fingerprint(execution)
                )),
                (false, Ok(execution)) if fingerprint(execution) == baseline => {}
                (false, other) => problems.push(format!(
                    "read #{fail_at} not reached, yet the block differs: {:?}",
                    other.as_ref().map(fingerprint)
                )),
            }
            let healthy = FaultyStore::new(work.store.clone());
            match run(&healthy) {
                Ok(execution) if fingerprint(&execution) == baseline => {}
                other => problems.push(format!(
                    "read #{fail_at}: the next block on a healthy store differs: {:?}",
                    other.as_ref().map(fingerprint)
                )),
            }
        }
        assert!(problems.is_empty(), "{engine:?}:\n{}", problems.join("\n"));
    }
}

// ---- the real disk store, in child processes -----------------------------------------------

const CHILD: &str = "TOS_STORE_FAULT_CHILD";
const CHILD_DIR: &str = "TOS_STORE_FAULT_DIR";
const CHILD_ELF: &str = "TOS_STORE_FAULT_ELF";
const BLOBS: usize = 4;
const BLOB_LEN: usize = 16 * 1024;

/// One invoke of the fill workload: `n` = counter and four new keys `b<counter>-<j>` of
/// 16 KiB each (new keys, so the state file has to grow with every invoke).
fn fill_input(counter: u64) -> Vec<u8> {
    let blob = fill_blob(counter);
    let mut script = Script::new().with_data(b"n", |s, key| {
        s.with_data(&counter.to_le_bytes(), |s, value| {
            s.call(op::STORAGE_WRITE, &[key, Value(1), value, Value(8)])
        })
    });
    let blob_arg = script.data(&blob);
    for j in 0..BLOBS {
        let name = blob_key(counter, j);
        script = script.with_data(&name, |s, key| {
            s.call(
                op::STORAGE_WRITE,
                &[
                    key,
                    Value(name.len() as u64),
                    blob_arg,
                    Value(BLOB_LEN as u64),
                ],
            )
        });
    }
    script.build(0)
}

fn blob_key(counter: u64, j: usize) -> Vec<u8> {
    format!("b{counter}-{j}").into_bytes()
}

fn fill_blob(counter: u64) -> Vec<u8> {
    let mut rng = Rng::new(counter);
    let mut blob = rng.bytes(BLOB_LEN);
    blob[..8].copy_from_slice(&counter.to_le_bytes());
    blob
}

/// Reads the fill state: the counter, after checking that every block up to it is whole and
/// nothing of the next one exists.
fn fill_counter(store: &DiskStorage, contract: &Hash) -> Result<u64, String> {
    let n = match store
        .read_storage(contract, b"n")
        .map_err(|e| e.to_string())?
    {
        None => 0,
        Some(bytes) => u64::from_le_bytes(bytes.try_into().map_err(|_| "n is not 8 bytes")?),
    };
    for counter in 1..=n + 1 {
        for j in 0..BLOBS {
            let blob = store
                .read_storage(contract, &blob_key(counter, j))
                .map_err(|e| e.to_string())?;
            match blob {
                Some(blob) if counter <= n && blob == fill_blob(counter) => {}
                None if counter == n + 1 => {}
                other => {
                    return Err(format!(
                        "counter {n}: key {} is {}: a torn or lost invoke",
                        String::from_utf8_lossy(&blob_key(counter, j)),
                        if other.is_some() {
                            "present or wrong"
                        } else {
                            "missing"
                        }
                    ))
                }
            }
        }
    }
    Ok(n)
}

/// The child side: does what `TOS_STORE_FAULT_CHILD` says and prints its findings on stdout.
/// A no-op in a normal test run.
#[test]
fn child_entry() {
    let Ok(mode) = std::env::var(CHILD) else {
        return;
    };
    let dir = PathBuf::from(std::env::var(CHILD_DIR).expect("state dir"));
    match mode.as_str() {
        "open" => match DiskStorage::open(&dir) {
            Ok(_) => println!("OPENED"),
            Err(error) => println!("ERROR {error:?}"),
        },
        "fill" => child_fill(&dir),
        "counter" => child_counter(&dir),
        other => panic!("unknown child mode {other}"),
    }
}

/// Commits fill blocks until the store refuses one, tries once more, then reopens the state
/// and checks it holds exactly the last block that was reported committed.
fn child_fill(dir: &Path) {
    let elf = std::fs::read(std::env::var(CHILD_ELF).expect("elf path")).unwrap();
    let vm = vm(Engine::Jit, BUDGET);
    let mut store = match DiskStorage::open(dir) {
        Ok(store) => store,
        Err(error) => {
            println!("OPEN-ERROR {error:?}");
            return;
        }
    };
    let contract = match deploy_once(&vm, &elf, &mut store) {
        Ok(hash) => hash,
        Err(error) => {
            println!("DEPLOY-ERROR {error:?}");
            return;
        }
    };
    let mut last_ok = fill_counter(&store, &contract).unwrap();
    let mut failure = None;
    for counter in last_ok + 1..last_ok + 2_000 {
        match vm.invoke(
            &call(contract, &fill_input(counter), 0),
            &block(),
            &mut store,
        ) {
            Ok(outcome) if outcome.status.is_success() => last_ok = counter,
            Ok(outcome) => {
                println!("UNEXPECTED-STATUS {:?}", outcome.status);
                return;
            }
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    let Some(error) = failure else {
        println!("NEVER-FAILED {last_ok}");
        return;
    };
    println!("FAILED-AFTER {last_ok} {error:?}");
    println!("BACKEND {}", error.is_backend());
    // The handle after a failed commit: another commit fails cleanly or succeeds; no panic.
    match vm.invoke(
        &call(contract, &fill_input(last_ok + 1), 0),
        &block(),
        &mut store,
    ) {
        Ok(outcome) if outcome.status.is_success() => {
            last_ok += 1;
            println!("RETRY-OK");
        }
        Ok(outcome) => println!("RETRY-STATUS {:?}", outcome.status),
        Err(error) => println!("RETRY-ERROR {error:?}"),
    }
    drop(store);
    match DiskStorage::open(dir) {
        Ok(store) => match fill_counter(&store, &contract) {
            Ok(n) if n == last_ok => println!("VERIFIED {n}"),
            Ok(n) => println!("LOST: the store holds counter {n}, {last_ok} was committed"),
            Err(problem) => println!("DAMAGED {problem}"),
        },
        Err(error) => println!("REOPEN-ERROR {error:?}"),
    }
}

fn lines_of(output: &std::process::Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn child_command(program: &str, prefix: &[&str], mode: &str, dir: &Path) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut command = Command::new(program);
    command
        .args(prefix)
        .arg(&exe)
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD, mode)
        .env(CHILD_DIR, dir);
    command
}

fn probe_elf_file(dir: &Path) -> PathBuf {
    let path = dir.join("probe.so");
    std::fs::write(&path, probe_variant_elf(1)).unwrap();
    path
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A full disk, simulated with a file size limit (`prlimit --fsize`): writes past it fail with
/// `EFBIG` (SIGXFSZ is ignored, as a server would). The failing commit is a backend error,
/// nothing of it lands, every block reported committed is there and whole after a reopen.
#[test]
fn full_disk_file_size_limit() {
    if !have("prlimit") {
        eprintln!("SKIPPED full_disk_file_size_limit: prlimit (util-linux) is not installed");
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("state");
    let elf = probe_elf_file(temp.path());
    // A state with one block, then a limit of its size + 2 MiB.
    {
        let vm = vm(Engine::Jit, BUDGET);
        let mut store = DiskStorage::open(&dir).unwrap();
        let contract = vm
            .deploy(
                &std::fs::read(&elf).unwrap(),
                tos_vm::deploy_address(
                    &tos_vm::Hash::default(),
                    &tos_vm::code_hash(&std::fs::read(&elf).unwrap()),
                ),
                &mut store,
            )
            .map(|deployed| deployed.contract)
            .unwrap();
        let outcome = vm
            .invoke(&call(contract, &fill_input(1), 0), &block(), &mut store)
            .unwrap();
        assert!(outcome.status.is_success());
    }
    let size = std::fs::metadata(dir.join("state.redb")).unwrap().len();
    let limit = size + 2 * 1024 * 1024;
    // `trap '' XFSZ` survives the exec into prlimit and then into the child.
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; exec prlimit --fsize={limit} \"$0\" --exact child_entry --nocapture --test-threads=1"
        ))
        .arg(&exe)
        .env(CHILD, "fill")
        .env(CHILD_DIR, &dir)
        .env(CHILD_ELF, &elf)
        .output()
        .unwrap();
    let text = lines_of(&output);
    assert!(output.status.success(), "child failed:\n{text}");
    assert!(
        text.contains("FAILED-AFTER"),
        "no commit failed under the limit:\n{text}"
    );
    assert!(
        text.contains("BACKEND true"),
        "the failure is not a backend error:\n{text}"
    );
    assert!(text.contains("VERIFIED"), "{text}");
    println!("{text}");
    // And in this process, without the limit: the state opens and holds the verified block.
    let verified: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("VERIFIED "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    let store = DiskStorage::open(&dir).unwrap();
    let contract = address_of(&std::fs::read(&elf).unwrap());
    assert_eq!(fill_counter(&store, &contract), Ok(verified));
}

/// A real `ENOSPC`: the fill workload on a 4 MiB tmpfs, mounted in a private mount namespace
/// (`unshare --mount`) so nothing outlives the child. Needs root (CAP_SYS_ADMIN); skipped,
/// with a message, where mounting is not allowed.
#[test]
fn full_disk_tiny_tmpfs() {
    if !have("unshare") {
        eprintln!("SKIPPED full_disk_tiny_tmpfs: unshare (util-linux) is not installed");
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let mount_point = temp.path().join("tmpfs");
    std::fs::create_dir_all(&mount_point).unwrap();
    let elf = probe_elf_file(temp.path());
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(
            "mount -t tmpfs -o size=4m tos-vm-enospc \"$1\" || exit 77; \
             exec \"$0\" --exact child_entry --nocapture --test-threads=1",
        )
        .arg(&exe)
        .arg(&mount_point)
        .env(CHILD, "fill")
        .env(CHILD_DIR, mount_point.join("state"))
        .env(CHILD_ELF, &elf)
        .output()
        .unwrap();
    let text = lines_of(&output);
    if output.status.code() == Some(77) || (!output.status.success() && text.contains("unshare:")) {
        eprintln!("SKIPPED full_disk_tiny_tmpfs: cannot mount a tmpfs here:\n{text}");
        return;
    }
    assert!(output.status.success(), "child failed:\n{text}");
    println!("{text}");
    assert!(
        text.contains("FAILED-AFTER")
            || text.contains("OPEN-ERROR")
            || text.contains("DEPLOY-ERROR"),
        "the 4 MiB disk never filled up:\n{text}"
    );
    if text.contains("FAILED-AFTER") {
        assert!(text.contains("BACKEND true"), "{text}");
        assert!(text.contains("VERIFIED"), "{text}");
    }
}

/// The CLI on a full disk: `tos-vm invoke` under `prlimit --fsize` (the state file may not
/// grow) until a commit fails. The store's failure exits with 3 — not 1, a contract's failure,
/// nor 2, a bad command — prints no outcome, and commits nothing: without the limit, the next
/// invoke finds the state of the last invoke that succeeded.
#[test]
fn cli_exits_with_3_when_the_store_fails() {
    if !have("prlimit") {
        eprintln!("SKIPPED cli_exits_with_3_when_the_store_fails: prlimit is not installed");
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let store = temp.path().join("store");
    let elf = probe_elf_file(temp.path());
    let cli = |args: &[&str], limit: Option<u64>| {
        let exe = env!("CARGO_BIN_EXE_tos-vm");
        let mut command = match limit {
            Some(limit) => {
                let mut command = Command::new("sh");
                command
                    .arg("-c")
                    .arg(format!(
                        "trap '' XFSZ; exec prlimit --fsize={limit} \"$0\" \"$@\""
                    ))
                    .arg(exe);
                command
            }
            None => Command::new(exe),
        };
        command
            .arg("--store")
            .arg(&store)
            .args(args)
            .output()
            .unwrap()
    };
    let deployed = cli(&["deploy", elf.to_str().unwrap()], None);
    assert!(deployed.status.success(), "{}", lines_of(&deployed));
    let contract = String::from_utf8_lossy(&deployed.stdout).trim().to_string();
    let contract_hash = Hash::from_hex(&contract).unwrap();
    // A contract's own failure is exit 1 (the probe returns status 7).
    let failing = Script::new().build(7);
    let failed = cli(
        &["invoke", &contract, "--input", &hex::encode(failing)],
        None,
    );
    assert_eq!(failed.status.code(), Some(1), "{}", lines_of(&failed));
    let limit = std::fs::metadata(store.join("state.redb")).unwrap().len();
    let mut last_ok = 0;
    let mut failure = None;
    for counter in 1..200u64 {
        let output = cli(
            &[
                "invoke",
                &contract,
                "--input",
                &hex::encode(fill_input(counter)),
            ],
            Some(limit),
        );
        match output.status.code() {
            Some(0) => last_ok = counter,
            _ => {
                failure = Some(output);
                break;
            }
        }
    }
    let output = failure.expect("the state file never outgrew its size limit");
    let text = lines_of(&output);
    assert_eq!(output.status.code(), Some(3), "{text}");
    assert!(text.contains("error: committing the call"), "{text}");
    assert!(!text.contains("status"), "an outcome was printed:\n{text}");
    // Nothing of the failed invoke was committed; the store works without the limit.
    {
        let disk = DiskStorage::open(&store).unwrap();
        assert_eq!(fill_counter(&disk, &contract_hash).unwrap(), last_ok);
    }
    let next = cli(
        &[
            "invoke",
            &contract,
            "--input",
            &hex::encode(fill_input(last_ok + 1)),
        ],
        None,
    );
    assert!(next.status.success(), "{}", lines_of(&next));
    let disk = DiskStorage::open(&store).unwrap();
    assert_eq!(fill_counter(&disk, &contract_hash).unwrap(), last_ok + 1);
}

/// A state directory the process may not write to: opening it is a clear I/O error
/// (permission denied), and the file is left as it was. Root ignores permissions, so as root
/// the child runs as `nobody` (`setpriv`).
#[test]
fn read_only_state_directory() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("state");
    {
        let vm = vm(Engine::Jit, BUDGET);
        let mut store = DiskStorage::open(&dir).unwrap();
        vm.deploy(
            &probe_variant_elf(1),
            tos_vm::deploy_address(
                &tos_vm::Hash::default(),
                &tos_vm::code_hash(&probe_variant_elf(1)),
            ),
            &mut store,
        )
        .map(|deployed| deployed.contract)
        .unwrap();
    }
    let file = dir.join("state.redb");
    let before = std::fs::read(&file).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let set_mode = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    set_mode(temp.path(), 0o755);
    set_mode(&dir, 0o555);
    set_mode(&file, 0o444);
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let output = if root {
        if !have("setpriv") {
            eprintln!("SKIPPED read_only_state_directory: running as root without setpriv");
            set_mode(&dir, 0o755);
            return;
        }
        child_command(
            "setpriv",
            &["--reuid=65534", "--regid=65534", "--clear-groups"],
            "open",
            &dir,
        )
        .output()
        .unwrap()
    } else {
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
            .env(CHILD, "open")
            .env(CHILD_DIR, &dir)
            .output()
            .unwrap()
    };
    set_mode(&dir, 0o755);
    set_mode(&file, 0o644);
    let text = lines_of(&output);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("ERROR Io") && text.contains("PermissionDenied"),
        "opening a read-only state is not a clear I/O error:\n{text}"
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the state file changed"
    );
    // Readable again: the state is intact.
    let store = DiskStorage::open(&dir).unwrap();
    assert_eq!(store.list_code().unwrap().len(), 1);
}

/// Where the state directory should be there is a file: a clear I/O error, the file untouched.
#[test]
fn a_file_where_the_state_directory_should_be() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("state");
    std::fs::write(&path, b"my notes").unwrap();
    match DiskStorage::open(&path) {
        Err(StorageError::Io { .. }) => {}
        other => panic!("expected an I/O error, got {:?}", other.map(|_| "opened")),
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"my notes");
    // A directory where the state *file* should be.
    let dir = temp.path().join("state2");
    std::fs::create_dir_all(dir.join("state.redb")).unwrap();
    match DiskStorage::open(&dir) {
        Err(error) => assert!(error.is_backend(), "{error:?}"),
        Ok(_) => panic!("a directory opened as a state file"),
    }
    assert!(dir.join("state.redb").is_dir());
}

/// A store with two blocks committed through the VM, for damage tests.
fn committed_state(dir: &Path) -> (Hash, String) {
    let vm = vm(Engine::Jit, BUDGET);
    let mut store = DiskStorage::open(dir).unwrap();
    let contract = vm
        .deploy(
            &probe_variant_elf(1),
            tos_vm::deploy_address(
                &tos_vm::Hash::default(),
                &tos_vm::code_hash(&probe_variant_elf(1)),
            ),
            &mut store,
        )
        .map(|deployed| deployed.contract)
        .unwrap();
    for counter in 1..=2 {
        let outcome = vm
            .invoke(
                &call(contract, &fill_input(counter), 0),
                &block(),
                &mut store,
            )
            .unwrap();
        assert!(outcome.status.is_success());
    }
    (contract, disk_snapshot(&store))
}

/// A foreign file, a truncated state and damaged bytes at the store path: opening is refused
/// with `Foreign` or `Corrupt` and the file is not touched — or, if the damage hit a page the
/// state does not use, the state opens with exactly the committed content. Never a panic,
/// never a silently different state.
#[test]
fn corrupted_or_foreign_file_at_the_store_path() {
    let temp = tempfile::tempdir().unwrap();
    let good_dir = temp.path().join("good");
    let (_contract, snapshot) = committed_state(&good_dir);
    let good = std::fs::read(good_dir.join("state.redb")).unwrap();

    let try_bytes = |name: &str, bytes: &[u8]| -> Result<(), String> {
        let dir = temp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("state.redb"), bytes).unwrap();
        let result =
            std::panic::catch_unwind(|| DiskStorage::open(&dir).map(|s| disk_snapshot(&s)));
        let outcome = match result {
            Err(_) => Err(format!("{name}: opening panicked")),
            Ok(Ok(opened)) if opened == snapshot => Ok(()),
            Ok(Ok(opened)) => Err(format!("{name}: opened with different content:\n{opened}")),
            Ok(Err(error)) if error.is_backend() => {
                if std::fs::read(dir.join("state.redb")).unwrap() != bytes {
                    Err(format!("{name}: the refused file was modified ({error})"))
                } else {
                    Ok(())
                }
            }
            Ok(Err(error)) => Err(format!("{name}: not a backend error: {error:?}")),
        };
        std::fs::remove_dir_all(&dir).unwrap();
        outcome
    };

    // Foreign files are refused as such.
    let dir = temp.path().join("foreign");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("state.redb"), b"SQLite format 3\0 and then some").unwrap();
    assert!(matches!(
        DiskStorage::open(&dir),
        Err(StorageError::Foreign { .. })
    ));
    assert_eq!(
        std::fs::read(dir.join("state.redb")).unwrap(),
        b"SQLite format 3\0 and then some"
    );

    let mut problems = Vec::new();
    for cut in [good.len() / 2, good.len() - 1, 4096, 600, 32] {
        if let Err(problem) = try_bytes(&format!("truncated-{cut}"), &good[..cut]) {
            problems.push(problem);
        }
    }
    let mut rng = Rng::new(0x5eed);
    for round in 0..40 {
        let mut bytes = good.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.index(bytes.len());
            bytes[at] ^= 1 << rng.below(8);
        }
        if let Err(problem) = try_bytes(&format!("flipped-{round}"), &bytes) {
            problems.push(problem);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The CLI on a foreign file: a one-line error naming the problem, a non-zero exit, the file
/// untouched.
#[test]
fn cli_reports_a_foreign_store_clearly() {
    let temp = tempfile::tempdir().unwrap();
    let store = temp.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("state.redb"), b"not a database at all").unwrap();
    let elf = probe_elf_file(temp.path());
    let output = Command::new(env!("CARGO_BIN_EXE_tos-vm"))
        .arg("--store")
        .arg(&store)
        .arg("deploy")
        .arg(&elf)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("is not a tos-vm state database"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        std::fs::read(store.join("state.redb")).unwrap(),
        b"not a database at all"
    );
}

// ---- SIGKILL during commits through the VM -------------------------------------------------

const KEYS: usize = 20;

fn counter_input(counter: u64) -> Vec<u8> {
    let mut script = Script::new();
    let value = script.data(&counter.to_le_bytes());
    for j in 0..KEYS {
        let key = format!("k{j:02}");
        script = script.with_data(key.as_bytes(), |s, k| {
            s.call(op::STORAGE_WRITE, &[k, Value(3), value, Value(8)])
        });
    }
    script
        .with_data(b"n", |s, k| {
            s.call(op::STORAGE_WRITE, &[k, Value(1), value, Value(8)])
        })
        .build(0)
}

/// Reads the counter state, checking that every key holds the same block's value.
fn counter_state(store: &DiskStorage, contract: &Hash) -> Result<u64, String> {
    let read = |key: &[u8]| -> Result<u64, String> {
        match store
            .read_storage(contract, key)
            .map_err(|e| e.to_string())?
        {
            None => Ok(0),
            Some(bytes) => Ok(u64::from_le_bytes(
                bytes.try_into().map_err(|_| "not 8 bytes".to_string())?,
            )),
        }
    };
    let n = read(b"n")?;
    for j in 0..KEYS {
        let k = read(format!("k{j:02}").as_bytes())?;
        if k != n {
            return Err(format!("k{j:02} = {k} but n = {n}: a torn invoke"));
        }
    }
    Ok(n)
}

/// The address these tests deploy `elf` at (children re-open the same store and find it).
fn address_of(elf: &[u8]) -> Hash {
    tos_vm::deploy_address(&Hash::default(), &tos_vm::code_hash(elf))
}

/// Deploys `elf` at [`address_of`] unless a contract is already there (a re-opened store).
fn deploy_once(vm: &tos_vm::Vm, elf: &[u8], store: &mut DiskStorage) -> Result<Hash, VmError> {
    let address = address_of(elf);
    if store.read_contract(&address)?.is_some() {
        return Ok(address);
    }
    vm.deploy(elf, address, store)
        .map(|deployed| deployed.contract)
}

/// Invokes forever, printing `committed N` after each `Vm::invoke` returns.
fn child_counter(dir: &Path) {
    let elf = probe_variant_elf(1);
    let vm = vm(Engine::Jit, BUDGET);
    let mut store = DiskStorage::open(dir).unwrap();
    let contract = deploy_once(&vm, &elf, &mut store).unwrap();
    let mut counter = counter_state(&store, &contract).unwrap();
    loop {
        counter += 1;
        let outcome = vm
            .invoke(
                &call(contract, &counter_input(counter), 0),
                &block(),
                &mut store,
            )
            .unwrap();
        assert!(outcome.status.is_success());
        println!("committed {counter}");
    }
}

/// SIGKILL at random moments while the VM commits invokes: after each kill the state opens,
/// holds at least every invoke reported committed (at most one more), and no invoke is torn.
#[test]
fn sigkill_during_vm_commits_loses_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("state");
    let contract = address_of(&probe_variant_elf(1));
    let seed = std::env::var("TOS_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("kill timing seed {seed}");
    let mut rng = Rng::new(seed);
    let mut previous = 0;
    for kill in 0..5 {
        let mut child = Command::new(std::env::current_exe().unwrap());
        child
            .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
            .env(CHILD, "counter")
            .env(CHILD_DIR, &dir);
        let mut process = child
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = process.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let wanted = 3 + rng.below(20);
        let mut last_printed = previous;
        let mut seen = 0;
        let started = Instant::now();
        while seen < wanted {
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(n) = line.strip_prefix("committed ") {
                last_printed = n.trim().parse().unwrap();
                seen += 1;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "child too slow"
            );
        }
        // Somewhere inside the next invoke's commit cycle.
        std::thread::sleep(Duration::from_micros(rng.below(15_000)));
        process.kill().unwrap();
        process.wait().unwrap();
        // Lines the child printed before it died, still in the pipe.
        for line in lines.map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("committed ") {
                last_printed = n.trim().parse().unwrap();
            }
        }
        let store = DiskStorage::open(&dir).unwrap();
        let n = counter_state(&store, &contract).unwrap_or_else(|e| panic!("kill {kill}: {e}"));
        assert!(
            n == last_printed || n == last_printed + 1,
            "kill {kill}: {last_printed} reported committed, the store holds {n}"
        );
        assert!(n >= previous);
        println!(
            "kill {kill}: {last_printed} reported committed, the store holds {n}{}",
            if n > last_printed {
                " (killed between a commit and its report)"
            } else {
                ""
            }
        );
        previous = n;
    }
}
