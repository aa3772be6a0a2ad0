//! [`Harness`]: a chain of one block in memory — accounts, balances, contract storage and
//! deployed code — that invokes contracts under the interpreter **and** the JIT and refuses to
//! go on when the two engines disagree.

use std::{
    collections::BTreeMap,
    fmt,
    sync::{Arc, OnceLock},
};

use tos_program_runtime::{
    code_hash, deploy_address, execute_call, limits::DEFAULT_COMPUTE_BUDGET, native_deposit,
    BlockContext, CallConfig, ContractCall, Deposits, Effects, Engine, Event, ExecutableCache,
    LogEntry, ReturnData, RuntimeError,
};
use tos_storage::{ChangeSet, Hash, JournalEntry, MemoryStorage, StorageProvider, NATIVE_ASSET};

use crate::{abort::Abort, check::Check, report};

/// Sender of every call unless [`Harness::with_sender`] says otherwise.
pub const DEFAULT_SENDER: Hash = Hash([0x5E; 32]);
/// Transaction hash of every call unless [`Harness::with_tx_hash`] says otherwise.
pub const DEFAULT_TX_HASH: Hash = Hash([0x7A; 32]);

/// The block every call runs in unless [`Harness::with_block`] says otherwise.
pub fn default_block() -> BlockContext {
    BlockContext {
        height: 42,
        hash: Hash([0xB1; 32]),
        timestamp: 1_700_000_000,
    }
}

/// Which engines an invoke runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engines {
    /// Interpreter and JIT, compared (the default).
    Both,
    /// One engine only (e.g. to time one, or to debug with the interpreter).
    Only(Engine),
}

impl Engines {
    pub fn list(self) -> Vec<Engine> {
        match self {
            Engines::Both => vec![Engine::Interpreter, Engine::Jit],
            Engines::Only(engine) => vec![engine],
        }
    }
}

/// How a call ended.
#[derive(Debug)]
pub enum Status {
    /// The contract returned 0; its effects were committed.
    Success,
    /// The contract returned a non-zero status; its effects were discarded.
    Failed(u64),
    /// The VM stopped the contract; its effects were discarded.
    Aborted(Abort),
}

impl Status {
    pub(crate) fn from_result(result: Result<u64, RuntimeError>) -> Status {
        match result {
            Ok(0) => Status::Success,
            Ok(code) => Status::Failed(code),
            Err(error) => Status::Aborted(Abort::from_runtime(error)),
        }
    }

    /// Everything about the status the two engines must agree on.
    pub fn fingerprint(&self) -> String {
        match self {
            Status::Success => "success".into(),
            Status::Failed(code) => format!("failed with status {code}"),
            Status::Aborted(abort) => format!("aborted: {}", abort.fingerprint()),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Success => f.write_str("success"),
            Status::Failed(code) => write!(f, "failed with status {code}"),
            Status::Aborted(abort) => write!(f, "aborted: {abort}"),
        }
    }
}

/// Everything one call did, as every engine that ran it agreed.
#[derive(Debug)]
pub struct Invocation {
    /// The contract called.
    pub contract: Hash,
    pub input: Vec<u8>,
    pub status: Status,
    pub compute_used: u64,
    /// Log lines in order, every contract's (nested calls included).
    pub log_entries: Vec<LogEntry>,
    /// The journal of a successful call (empty otherwise).
    pub journal: Vec<JournalEntry>,
    /// The change set committed (empty unless the call succeeded).
    pub changes: ChangeSet,
    /// Net effects, for people (hex keys and values).
    pub effects: Effects,
    /// Events of a successful call.
    pub events: Vec<Event>,
    pub return_data: Option<ReturnData>,
    /// The whole state before and after the call.
    pub before: MemoryStorage,
    pub after: MemoryStorage,
    /// The engines that ran the call and agreed.
    pub engines: Vec<Engine>,
    /// Names given to contracts ([`Harness::deploy_named`]), for reports.
    pub names: BTreeMap<Hash, String>,
}

impl Invocation {
    pub fn is_success(&self) -> bool {
        matches!(self.status, Status::Success)
    }

    /// The log messages, in order.
    pub fn logs(&self) -> Vec<String> {
        self.log_entries.iter().map(|l| l.message.clone()).collect()
    }

    /// Why the VM stopped the call, if it did.
    pub fn abort(&self) -> Option<&Abort> {
        match &self.status {
            Status::Aborted(abort) => Some(abort),
            _ => None,
        }
    }

    /// The contract's status code (0 for success), unless the VM aborted the call.
    pub fn code(&self) -> Option<u64> {
        match self.status {
            Status::Success => Some(0),
            Status::Failed(code) => Some(code),
            Status::Aborted(_) => None,
        }
    }

    /// A value in the called contract's storage after the call.
    pub fn storage(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.after.read_storage(&self.contract, key).ok().flatten()
    }

    /// A native balance after the call.
    pub fn balance(&self, account: &Hash) -> u64 {
        self.after.read_balance(account, &NATIVE_ASSET).unwrap_or(0)
    }

    /// Evaluates `checks`; on any failure the error shows, per check, expected against actual
    /// and then what the call did.
    pub fn check(&self, checks: &[Check]) -> Result<(), report::CheckReport> {
        report::CheckReport::evaluate(self, checks).into_result()
    }

    /// Like [`Invocation::check`] but panics with the report: the usual way to end a test.
    #[track_caller]
    pub fn expect(&self, checks: &[Check]) -> &Self {
        if let Err(report) = self.check(checks) {
            panic!("\n{report}");
        }
        self
    }

    /// A readable name for a contract of this call.
    pub fn name_of(&self, contract: &Hash) -> String {
        report::contract_name(&self.names, contract)
    }
}

/// Why an invoke through the harness did not produce an [`Invocation`].
#[derive(Debug)]
pub enum HarnessError {
    /// The call could not start (unknown contract, unreadable store, invalid code).
    Start { engine: Engine, error: RuntimeError },
    /// The engines ran the call and disagreed: the report says on what.
    Mismatch(report::EngineMismatch),
}

impl fmt::Display for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HarnessError::Start { engine, error } => {
                write!(f, "the call could not start under {engine:?}: {error}")
            }
            HarnessError::Mismatch(mismatch) => mismatch.fmt(f),
        }
    }
}

impl std::error::Error for HarnessError {}

/// What one engine produced.
pub(crate) struct EngineRun {
    pub engine: Engine,
    pub status: Status,
    pub compute_used: u64,
    pub logs: Vec<LogEntry>,
    pub journal: Vec<JournalEntry>,
    pub changes: ChangeSet,
    pub events: Vec<Event>,
    pub return_data: Option<ReturnData>,
    pub after: MemoryStorage,
}

/// The executables of every harness in this process, loaded (and JIT-compiled) once per code
/// hash: tests that share a contract share its compilation.
fn shared_cache() -> Arc<ExecutableCache> {
    static CACHE: OnceLock<Arc<ExecutableCache>> = OnceLock::new();
    CACHE
        .get_or_init(|| Arc::new(ExecutableCache::new(tos_syscalls::runtime_environment())))
        .clone()
}

/// An in-memory chain to deploy and invoke contracts on. See the crate docs for an example.
///
/// Builder methods (`with_*`, [`Harness::deploy`]) take and return the harness; invokes take
/// it by `&mut` and commit each successful call, so a sequence of invokes sees each other's
/// effects like consecutive transactions. `Clone` forks the chain (state and settings; the
/// executable cache is shared).
#[derive(Clone)]
pub struct Harness {
    store: MemoryStorage,
    block: BlockContext,
    sender: Hash,
    tx_hash: Hash,
    deposits: Deposits,
    compute_limit: Option<u64>,
    budget: u64,
    engines: Engines,
    target: Option<Hash>,
    names: BTreeMap<Hash, String>,
    cache: Arc<ExecutableCache>,
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new()
    }
}

impl Harness {
    /// An empty chain: both engines, the default compute budget, block 42.
    pub fn new() -> Self {
        Harness {
            store: MemoryStorage::default(),
            block: default_block(),
            sender: DEFAULT_SENDER,
            tx_hash: DEFAULT_TX_HASH,
            deposits: Deposits::new(),
            compute_limit: None,
            budget: DEFAULT_COMPUTE_BUDGET,
            engines: Engines::Both,
            target: None,
            names: BTreeMap::new(),
            cache: shared_cache(),
        }
    }

    /// A harness whose executables are loaded into a cache of its own, dropped with it (for
    /// throw-away programs, e.g. thousands of random ones).
    pub fn isolated() -> Self {
        Harness {
            cache: Arc::new(ExecutableCache::new(tos_syscalls::runtime_environment())),
            ..Harness::new()
        }
    }

    // ---- setup -----------------------------------------------------------------------------

    /// Compute budget of every following call.
    pub fn with_budget(mut self, budget: u64) -> Self {
        self.budget = budget;
        self
    }

    pub fn with_engines(mut self, engines: Engines) -> Self {
        self.engines = engines;
        self
    }

    /// The block every following call runs in.
    pub fn with_block(mut self, block: BlockContext) -> Self {
        self.set_block(block);
        self
    }

    /// Moves the chain to `block` between calls (a later height, another timestamp): what
    /// time-dependent contracts need to be tested.
    pub fn set_block(&mut self, block: BlockContext) {
        self.block = block;
    }

    pub fn with_sender(mut self, sender: Hash) -> Self {
        self.sender = sender;
        self
    }

    pub fn with_tx_hash(mut self, tx_hash: Hash) -> Self {
        self.tx_hash = tx_hash;
        self
    }

    /// Native amount every following call moves from the sender to the contract.
    pub fn with_value(mut self, value: u64) -> Self {
        self.deposits = native_deposit(value);
        self
    }

    /// Deposits (asset → amount) every following call moves from the sender to the contract
    /// before it runs, all or none.
    pub fn with_deposits(mut self, deposits: &[(Hash, u64)]) -> Self {
        self.deposits = deposits.iter().copied().collect();
        self
    }

    /// The sender's compute limit of every following call (the budget stays the ceiling).
    pub fn with_compute_limit(mut self, limit: Option<u64>) -> Self {
        self.compute_limit = limit;
        self
    }

    /// Sets the balance of `account` in `asset`.
    pub fn set_asset_balance(&mut self, account: Hash, asset: Hash, amount: u64) {
        self.store.set_balance(account, asset, amount);
    }

    /// Sets the native balance of `account`.
    pub fn with_balance(mut self, account: Hash, amount: u64) -> Self {
        self.set_balance(account, amount);
        self
    }

    /// Sets `key` in the storage of the target contract (the last one deployed).
    #[track_caller]
    pub fn with_storage(mut self, key: &[u8], value: &[u8]) -> Self {
        let contract = self.contract();
        self.set_storage(contract, key, Some(value));
        self
    }

    /// Lets `setup` prepare the state directly.
    pub fn with_state(mut self, setup: impl FnOnce(&mut MemoryStorage)) -> Self {
        setup(&mut self.store);
        self
    }

    pub fn set_balance(&mut self, account: Hash, amount: u64) {
        self.store.set_balance(account, NATIVE_ASSET, amount);
    }

    pub fn set_storage(&mut self, contract: Hash, key: &[u8], value: Option<&[u8]>) {
        self.store.set_storage(contract, key, value);
    }

    pub fn set_budget(&mut self, budget: u64) {
        self.budget = budget;
    }

    // ---- code ------------------------------------------------------------------------------

    /// Deploys `elf` (validated, loaded and compiled for every engine) and makes it the target
    /// of [`Harness::invoke`]. Panics with the loader's reason if the code is refused.
    #[track_caller]
    pub fn deploy(mut self, elf: impl AsRef<[u8]>) -> Self {
        self.deploy_contract(elf.as_ref());
        self
    }

    /// [`Harness::deploy`] with a name reports use for the contract.
    #[track_caller]
    pub fn deploy_named(mut self, name: &str, elf: impl AsRef<[u8]>) -> Self {
        let hash = self.deploy_contract(elf.as_ref());
        self.names.insert(hash, name.to_string());
        self
    }

    /// Builds `examples/<name>` from source (cached) and deploys it.
    #[track_caller]
    pub fn deploy_example(self, name: &str) -> Self {
        let elf = crate::fixtures::example_elf(name);
        self.deploy_named(name, elf)
    }

    /// Deploys `elf` as a new contract instance and returns its address; it becomes the
    /// target. Deploying the same code again creates another, independent instance.
    #[track_caller]
    pub fn deploy_contract(&mut self, elf: &[u8]) -> Hash {
        match self.try_deploy(elf) {
            Ok(address) => address,
            Err(error) => panic!("deploy refused: {error}"),
        }
    }

    /// Deploys `elf` as a new contract instance and makes it the target, or says why it was
    /// refused. The address is [`deploy_address`] of the sender and a deploy counter.
    pub fn try_deploy(&mut self, elf: &[u8]) -> Result<Hash, RuntimeError> {
        let hash = code_hash(elf);
        for engine in self.engines.list() {
            self.cache.get_or_load(hash, elf, engine)?;
        }
        if !self.store.has_code(&hash)? {
            self.store.deploy_code(hash, elf.to_vec());
        }
        let nonce = self.store.contracts().len() as u64;
        let deploy_tx = Hash(*blake3::hash(&nonce.to_le_bytes()).as_bytes());
        let address = deploy_address(&self.sender, &deploy_tx);
        self.store.create_contract(address, hash);
        self.target = Some(address);
        Ok(address)
    }

    /// Makes `contract` (already deployed) the target of [`Harness::invoke`].
    pub fn target(mut self, contract: Hash) -> Self {
        self.target = Some(contract);
        self
    }

    /// The target contract.
    #[track_caller]
    pub fn contract(&self) -> Hash {
        self.target
            .expect("no contract deployed yet: call deploy first")
    }

    pub fn name(mut self, contract: Hash, name: &str) -> Self {
        self.names.insert(contract, name.to_string());
        self
    }

    /// The state now.
    pub fn store(&self) -> &MemoryStorage {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut MemoryStorage {
        &mut self.store
    }

    pub fn block(&self) -> &BlockContext {
        &self.block
    }

    pub fn budget(&self) -> u64 {
        self.budget
    }

    // ---- invoke ----------------------------------------------------------------------------

    /// The call [`Harness::invoke`] makes for `input`.
    #[track_caller]
    pub fn call(&self, input: &[u8]) -> ContractCall {
        ContractCall {
            contract: self.contract(),
            input: input.to_vec(),
            sender: self.sender,
            tx_hash: self.tx_hash,
            deposits: self.deposits.clone(),
            compute_limit: self.compute_limit,
            created_bytes_limit: None,
        }
    }

    /// Calls the target contract with `input` under every engine, panics with a diff if they
    /// disagree, commits a successful call's effects and returns what it did.
    #[track_caller]
    pub fn invoke(&mut self, input: &[u8]) -> Invocation {
        let call = self.call(input);
        self.invoke_call(call)
    }

    /// [`Harness::invoke`] of a call built by hand (another contract, sender or value).
    #[track_caller]
    pub fn invoke_call(&mut self, call: ContractCall) -> Invocation {
        match self.try_invoke_call(call) {
            Ok(invocation) => invocation,
            Err(error) => panic!("\n{error}"),
        }
    }

    /// [`Harness::invoke`] that returns engine disagreements instead of panicking.
    pub fn try_invoke(&mut self, input: &[u8]) -> Result<Invocation, HarnessError> {
        let call = self.call(input);
        self.try_invoke_call(call)
    }

    pub fn try_invoke_call(&mut self, call: ContractCall) -> Result<Invocation, HarnessError> {
        let mut runs = Vec::new();
        for engine in self.engines.list() {
            runs.push(self.run(&call, engine)?);
        }
        let first = runs.remove(0);
        for other in &runs {
            if let Some(mismatch) =
                report::EngineMismatch::compare(&call, &first, other, &self.names)
            {
                return Err(HarnessError::Mismatch(mismatch));
            }
        }
        let mut engines = vec![first.engine];
        engines.extend(runs.iter().map(|run| run.engine));
        let before = std::mem::replace(&mut self.store, first.after.clone());
        Ok(Invocation {
            contract: call.contract,
            input: call.input,
            effects: Effects::from_journal(&first.journal),
            status: first.status,
            compute_used: first.compute_used,
            log_entries: first.logs,
            journal: first.journal,
            changes: first.changes,
            events: first.events,
            return_data: first.return_data,
            before,
            after: first.after,
            engines,
            names: self.names.clone(),
        })
    }

    fn run(&self, call: &ContractCall, engine: Engine) -> Result<EngineRun, HarnessError> {
        let config = CallConfig {
            engine,
            compute_budget: self.budget,
        };
        let outcome = execute_call(&self.cache, call, &self.block, &self.store, config)
            .map_err(|error| HarnessError::Start { engine, error })?;
        let mut after = self.store.clone();
        if matches!(outcome.result, Ok(0)) && !outcome.changes.is_empty() {
            after
                .commit(&outcome.changes)
                .map_err(|error| HarnessError::Start {
                    engine,
                    error: error.into(),
                })?;
        }
        Ok(EngineRun {
            engine,
            status: Status::from_result(outcome.result),
            compute_used: outcome.compute_used,
            logs: outcome.logs,
            journal: outcome.journal.entries(),
            changes: outcome.changes,
            events: outcome.events,
            return_data: outcome.return_data,
            after,
        })
    }
}
