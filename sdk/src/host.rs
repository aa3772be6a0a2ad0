//! Host-side testing (feature `host`): the same contract code, compiled natively, runs against
//! an in-memory chain — tos-storage's [`MemoryStorage`] — so contract logic is unit-tested
//! with plain `cargo test`.
//!
//! In the contract's `Cargo.toml`:
//!
//! ```toml
//! [dev-dependencies]
//! tos-sdk = { path = "../tos-vm/sdk", features = ["host"] }
//! ```
//!
//! and in its tests:
//!
//! ```ignore
//! use tos_sdk::host::TestEnv;
//!
//! let mut env = TestEnv::new();
//! let outcome = env.invoke(entrypoint, &input);   // the function entrypoint! generated
//! assert!(outcome.is_success(), "{outcome:?}");
//! assert_eq!(env.get::<u64>(b"count"), Some(1));
//! ```
//!
//! What matches the VM: the syscalls' results and limits (key, value, log, return data and
//! event sizes), transfers (zero, insufficient and overflowing amounts abort), commit only on
//! success (a failed call leaves [`TestEnv::storage`] untouched), status codes, panics
//! (`Status::Panicked`), logs, events, return data, nested calls between contracts registered
//! with [`TestEnv::deploy`] (with reentrancy refused and value moved first). What does not:
//! compute is not metered, memory is not bounded (no 32 KiB heap, no 4 KiB stack frames), and
//! a panic's location is not logged. Run the contract under the VM too (tos-vm's test suite
//! does so for the examples) before trusting numbers.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::string::String;
use std::vec::Vec;

use borsh::BorshDeserialize;
use tos_storage::{Hash as StoreHash, MemoryStorage, StorageProvider, NATIVE_ASSET};

use crate::{Address, Context, ContractError, Hash};

pub use tos_storage;

/// A contract's host entry point: the `entrypoint` function `entrypoint!` generates natively.
pub type EntryFn = fn(&[u8]) -> u64;

/// How a host-side call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The contract returned 0; its effects were committed to the [`TestEnv`].
    Success,
    /// The contract returned a non-zero status (see [`ContractError::from_code`]).
    Failed {
        /// The status.
        code: u64,
    },
    /// The contract panicked (a Rust panic, or [`crate::abort`]).
    Panicked {
        /// The panic message.
        message: String,
    },
    /// A syscall refused its arguments (the VM would abort the call with a syscall error).
    Aborted {
        /// What the VM would report.
        reason: String,
    },
}

/// Everything a host-side call produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// Log messages, kept whatever the status.
    pub logs: Vec<String>,
    /// Events (topic, data) of a successful call.
    pub events: Vec<(Vec<u8>, Vec<u8>)>,
    /// The last return data set, and by which contract.
    pub return_data: Option<(Address, Vec<u8>)>,
}

impl Outcome {
    /// Whether the call succeeded.
    pub fn is_success(&self) -> bool {
        self.status == Status::Success
    }

    /// The status code of a failed call (`None` for success, panics and aborts).
    pub fn code(&self) -> Option<u64> {
        match self.status {
            Status::Failed { code } => Some(code),
            _ => None,
        }
    }

    /// The [`ContractError`] a failed call returned.
    pub fn error(&self) -> Option<ContractError> {
        self.code().and_then(ContractError::from_code)
    }

    /// The return data decoded as a borsh `T`.
    pub fn return_value<T: BorshDeserialize>(&self) -> Option<T> {
        self.return_data
            .as_ref()
            .and_then(|(_, data)| borsh::from_slice(data).ok())
    }
}

/// An in-memory chain to run contract code against.
///
/// Public fields are the context of the next call; [`TestEnv::storage`] is the committed state
/// (storage of every contract and native balances).
pub struct TestEnv {
    /// Committed state.
    pub storage: MemoryStorage,
    /// Address of the contract under test (default `[0xC0; 32]`).
    pub contract: Address,
    /// Sender of the next transaction (default `[0x5E; 32]`).
    pub sender: Address,
    /// Hash of the next transaction.
    pub tx_hash: Hash,
    /// Height of the current block.
    pub block_height: u64,
    /// Hash of the current block.
    pub block_hash: Hash,
    /// Timestamp of the current block, seconds since the Unix epoch.
    pub block_timestamp: u64,
    contracts: BTreeMap<Address, Instance>,
    /// Code registered for factories ([`TestEnv::register_code`]), by code hash.
    code: BTreeMap<Hash, EntryFn>,
}

/// A contract instance of the host chain: its entry point and the code hash it runs.
#[derive(Clone, Copy)]
struct Instance {
    entry: EntryFn,
    code_hash: Hash,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    /// Default test address of the contract under test.
    pub const CONTRACT: Address = Address([0xC0; 32]);
    /// Default sender.
    pub const SENDER: Address = Address([0x5E; 32]);

    /// An empty chain at block 1.
    pub fn new() -> Self {
        TestEnv {
            storage: MemoryStorage::default(),
            contract: Self::CONTRACT,
            sender: Self::SENDER,
            tx_hash: Hash([0x7A; 32]),
            block_height: 1,
            block_hash: Hash([0xB1; 32]),
            block_timestamp: 1_700_000_000,
            contracts: BTreeMap::new(),
            code: BTreeMap::new(),
        }
    }

    /// Sets the sender of the following calls.
    pub fn with_sender(mut self, sender: Address) -> Self {
        self.sender = sender;
        self
    }

    /// Registers `entry` as the contract at `address`, so [`crate::call::invoke`] can reach it.
    /// Its code hash (`Context::code_hash`) is all zeros; use [`TestEnv::register_code`] and
    /// [`TestEnv::deploy_instance`] to give instances a shared code hash.
    pub fn deploy(&mut self, address: Address, entry: EntryFn) {
        self.contracts.insert(
            address,
            Instance {
                entry,
                code_hash: Hash([0; 32]),
            },
        );
    }

    /// Registers `entry` as the code `code_hash`, so [`TestEnv::deploy_instance`] and
    /// factories (`Context::create_contract`) can create instances of it.
    pub fn register_code(&mut self, code_hash: Hash, entry: EntryFn) {
        self.code.insert(code_hash, entry);
    }

    /// Creates an instance of the registered code `code_hash` at `address` (no constructor).
    /// Returns `false`, changing nothing, if the code is unknown or the address taken.
    pub fn deploy_instance(&mut self, address: Address, code_hash: Hash) -> bool {
        match self.code.get(&code_hash) {
            Some(&entry) if !self.contracts.contains_key(&address) => {
                self.contracts
                    .insert(address, Instance { entry, code_hash });
                true
            }
            _ => false,
        }
    }

    /// Sets a native balance.
    pub fn set_balance(&mut self, account: Address, amount: u64) {
        self.storage
            .set_balance(StoreHash(account.0), NATIVE_ASSET, amount);
    }

    /// Sets a balance in `asset`.
    pub fn set_asset_balance(&mut self, account: Address, asset: Hash, amount: u64) {
        self.storage
            .set_balance(StoreHash(account.0), StoreHash(asset.0), amount);
    }

    /// A balance in `asset`.
    pub fn asset_balance(&self, account: &Address, asset: &Hash) -> u64 {
        self.storage
            .read_balance(&StoreHash(account.0), &StoreHash(asset.0))
            .unwrap_or(0)
    }

    /// A native balance.
    pub fn balance(&self, account: &Address) -> u64 {
        self.storage
            .read_balance(&StoreHash(account.0), &NATIVE_ASSET)
            .unwrap_or(0)
    }

    /// The raw value under `key` in the contract's storage.
    pub fn storage_value(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.storage
            .read_storage(&StoreHash(self.contract.0), key)
            .ok()
            .flatten()
    }

    /// The value under `key` in the contract's storage, decoded as a borsh `T`.
    pub fn get<T: BorshDeserialize>(&self, key: &[u8]) -> Option<T> {
        self.storage_value(key)
            .and_then(|bytes| borsh::from_slice(&bytes).ok())
    }

    /// Sets (or with `None` removes) a raw value in the contract's storage.
    pub fn set_storage(&mut self, key: &[u8], value: Option<&[u8]>) {
        self.storage
            .set_storage(StoreHash(self.contract.0), key, value);
    }

    /// Calls the contract's entry point with `input`, as a transaction from
    /// [`TestEnv::sender`] carrying no value.
    pub fn invoke(&mut self, entry: EntryFn, input: &[u8]) -> Outcome {
        self.invoke_with_value(entry, input, 0)
    }

    /// Calls the contract's entry point with `input`, moving `value` native units from the
    /// sender to the contract first (as part of the call: a failed call does not move them).
    pub fn invoke_with_value(&mut self, entry: EntryFn, input: &[u8], value: u64) -> Outcome {
        let deposits: &[(Hash, u64)] = if value > 0 {
            &[(Hash([0; 32]), value)]
        } else {
            &[]
        };
        self.invoke_with_deposits(entry, input, deposits)
    }

    /// Calls the contract's entry point with `input`, moving `deposits` (asset, amount) from
    /// the sender to the contract first, all or none (as the VM: a failed call moves none; at
    /// most 255, one per asset, none of 0).
    pub fn invoke_with_deposits(
        &mut self,
        entry: EntryFn,
        input: &[u8],
        deposits: &[(Hash, u64)],
    ) -> Outcome {
        let input = input.to_vec();
        let mut map = BTreeMap::new();
        let mut duplicate = false;
        for (asset, amount) in deposits {
            duplicate |= map.insert(*asset, *amount).is_some();
        }
        self.run(map, duplicate, move || entry(&input))
    }

    /// Runs `f` as the body of a call to the contract (no input, no value): handy to test
    /// one function of the contract, or SDK calls, directly.
    pub fn call(&mut self, f: impl FnOnce(&Context) -> Result<(), ContractError>) -> Outcome {
        self.run(BTreeMap::new(), false, move || {
            crate::__private::status(f(&Context::new()))
        })
    }

    fn run(
        &mut self,
        deposits: BTreeMap<Hash, u64>,
        duplicate: bool,
        body: impl FnOnce() -> u64,
    ) -> Outcome {
        let value = deposits.get(&Hash([0; 32])).copied().unwrap_or(0);
        let code_hash = self
            .contracts
            .get(&self.contract)
            .map_or(Hash([0; 32]), |instance| instance.code_hash);
        let state = HostState {
            storage: self.storage.clone(),
            sender: self.sender,
            tx_hash: self.tx_hash,
            block_height: self.block_height,
            block_hash: self.block_hash,
            block_timestamp: self.block_timestamp,
            frames: vec![Frame {
                contract: self.contract,
                code_hash,
                caller: self.sender,
                value,
            }],
            deposits: deposits.clone(),
            code: self.code.clone(),
            logs: Vec::new(),
            log_bytes: 0,
            events: Vec::new(),
            event_bytes: 0,
            return_data: None,
            contracts: self.contracts.clone(),
        };
        let installed = STATE.with(|slot| {
            let mut slot = slot.borrow_mut();
            if slot.is_some() {
                return false;
            }
            *slot = Some(state);
            true
        });
        assert!(
            installed,
            "tos-sdk host: TestEnv calls cannot be nested (use call::invoke between contracts)"
        );
        let (sender, contract) = (self.sender, self.contract);
        let moved = if duplicate {
            Err("an asset is deposited twice".to_owned())
        } else if deposits.len() > MAX_DEPOSITS {
            Err(format!("TooManyDeposits: {}", deposits.len()))
        } else if let Some((asset, _)) = deposits.iter().find(|(_, amount)| **amount == 0) {
            Err(format!("ZeroDeposit: {asset}"))
        } else {
            with_state(|s| {
                deposits
                    .iter()
                    .try_for_each(|(asset, amount)| s.move_asset(sender, contract, *asset, *amount))
            })
        };
        let result = match moved {
            Ok(()) => catch_unwind(AssertUnwindSafe(body)),
            Err(reason) => Err(Box::new(HostAbort::Syscall(reason)) as Box<_>),
        };
        let state = STATE
            .with(|slot| slot.borrow_mut().take())
            .expect("host state installed above");
        let status = status_of(result);
        let success = status == Status::Success;
        if success {
            self.storage = state.storage;
            self.contracts = state.contracts;
        }
        Outcome {
            status,
            logs: state.logs,
            events: if success { state.events } else { Vec::new() },
            return_data: state.return_data,
        }
    }
}

fn status_of(result: std::thread::Result<u64>) -> Status {
    match result {
        Ok(0) => Status::Success,
        Ok(code) => Status::Failed { code },
        Err(payload) => match payload.downcast::<HostAbort>() {
            Ok(abort) => match *abort {
                HostAbort::Panicked(message) => Status::Panicked { message },
                HostAbort::Syscall(reason) => Status::Aborted { reason },
            },
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panicked".to_owned());
                Status::Panicked { message }
            }
        },
    }
}

/// Unwinds out of the contract with a VM-style ending (no panic hook output).
enum HostAbort {
    Panicked(String),
    Syscall(String),
}

fn abort_syscall(reason: String) -> ! {
    resume_unwind(Box::new(HostAbort::Syscall(reason)))
}

/// Most deposits one call may carry.
const MAX_DEPOSITS: usize = tos_abi::limits::MAX_DEPOSITS;

struct Frame {
    contract: Address,
    code_hash: Hash,
    caller: Address,
    value: u64,
}

struct HostState {
    storage: MemoryStorage,
    sender: Address,
    tx_hash: Hash,
    block_height: u64,
    block_hash: Hash,
    block_timestamp: u64,
    frames: Vec<Frame>,
    logs: Vec<String>,
    log_bytes: usize,
    events: Vec<(Vec<u8>, Vec<u8>)>,
    event_bytes: usize,
    return_data: Option<(Address, Vec<u8>)>,
    contracts: BTreeMap<Address, Instance>,
    code: BTreeMap<Hash, EntryFn>,
    /// The deposits of the top-level call.
    deposits: BTreeMap<Hash, u64>,
}

impl HostState {
    fn frame(&self) -> &Frame {
        self.frames.last().expect("a call has a frame")
    }

    fn balance(&self, account: Address) -> u64 {
        self.asset_balance(account, Hash([0; 32]))
    }

    fn asset_balance(&self, account: Address, asset: Hash) -> u64 {
        self.storage
            .read_balance(&StoreHash(account.0), &StoreHash(asset.0))
            .unwrap_or(0)
    }

    /// The running frame's deposits: the transaction's at depth 1, else its native value.
    fn frame_deposits(&self) -> BTreeMap<Hash, u64> {
        if self.frames.len() <= 1 {
            return self.deposits.clone();
        }
        let mut deposits = BTreeMap::new();
        if self.frame().value > 0 {
            deposits.insert(Hash([0; 32]), self.frame().value);
        }
        deposits
    }

    fn move_value(&mut self, from: Address, to: Address, amount: u64) -> Result<(), String> {
        self.move_asset(from, to, Hash([0; 32]), amount)
    }

    fn move_asset(
        &mut self,
        from: Address,
        to: Address,
        asset: Hash,
        amount: u64,
    ) -> Result<(), String> {
        if amount == 0 {
            return Err("ZeroAmount: transfer of 0".to_owned());
        }
        let from_old = self.asset_balance(from, asset);
        let from_new = from_old
            .checked_sub(amount)
            .ok_or_else(|| format!("InsufficientBalance: {from} has {from_old}, needs {amount}"))?;
        if from == to {
            return Ok(());
        }
        let to_new = self
            .asset_balance(to, asset)
            .checked_add(amount)
            .ok_or_else(|| format!("BalanceOverflow: {to}"))?;
        self.storage
            .set_balance(StoreHash(from.0), StoreHash(asset.0), from_new);
        self.storage
            .set_balance(StoreHash(to.0), StoreHash(asset.0), to_new);
        Ok(())
    }
}

thread_local! {
    static STATE: RefCell<Option<HostState>> = const { RefCell::new(None) };
}

fn with_state<R>(f: impl FnOnce(&mut HostState) -> R) -> R {
    STATE.with(|slot| {
        let mut slot = slot.borrow_mut();
        let state = slot.as_mut().unwrap_or_else(|| {
            panic!("tos-sdk host: a syscall ran outside TestEnv::invoke / TestEnv::call")
        });
        f(state)
    })
}

/// The syscalls, implemented against the host state, with the signatures and documentation of
/// [`crate::syscalls`] (whose names re-export these under `host`).
#[allow(clippy::missing_safety_doc, missing_docs)]
pub mod syscalls {
    use super::*;
    use crate::syscalls::SliceRef;

    // The VM's own numbers (tos-abi): host mode refuses exactly what the VM refuses.
    use tos_abi::invoke::{
        INVOKE_ABORTED, INVOKE_DEPTH_EXCEEDED, INVOKE_INSUFFICIENT_VALUE, INVOKE_NOT_FOUND,
        INVOKE_REENTRANCY,
    };
    use tos_abi::limits;
    const MAX_LOG_LEN: u64 = limits::MAX_LOG_MESSAGE_LEN as u64;
    const MAX_LOG_BYTES: usize = limits::MAX_LOG_BYTES_PER_INVOKE;
    const MAX_LOG_ENTRIES: usize = limits::MAX_LOG_ENTRIES_PER_INVOKE;
    const MAX_KEY_LEN: u64 = limits::MAX_STORAGE_KEY_LEN as u64;
    const MAX_VALUE_LEN: u64 = limits::MAX_STORAGE_VALUE_LEN as u64;
    const MAX_RETURN_DATA_LEN: u64 = limits::MAX_RETURN_DATA_LEN as u64;
    const MAX_TOPIC_LEN: u64 = limits::MAX_EVENT_TOPIC_LEN as u64;
    const MAX_EVENT_DATA_LEN: u64 = limits::MAX_EVENT_DATA_LEN as u64;
    const MAX_EVENTS: usize = limits::MAX_EVENTS_PER_INVOKE;
    const MAX_EVENT_BYTES: usize = limits::MAX_EVENT_BYTES_PER_INVOKE;
    const MAX_MEM_OP_LEN: u64 = limits::MAX_MEM_OP_LEN as u64;
    const MAX_INPUT_LEN: u64 = limits::MAX_INPUT_LEN as u64;
    const MAX_CALL_DEPTH: usize = limits::MAX_CONTRACT_CALL_DEPTH;
    use crate::context::{
        CREATE_ADDRESS_TAKEN, CREATE_CODE_NOT_FOUND, CREATE_CONSTRUCTOR_FAILED,
        CREATE_DEPTH_EXCEEDED,
    };

    unsafe fn bytes<'a>(ptr: *const u8, len: u64) -> &'a [u8] {
        if len == 0 {
            &[]
        } else {
            // SAFETY: the SDK's wrappers pass pointers valid for `len` bytes.
            unsafe { std::slice::from_raw_parts(ptr, len as usize) }
        }
    }

    unsafe fn write32(out: *mut u8, value: [u8; 32]) -> u64 {
        // SAFETY: callers pass 32 writable bytes.
        unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), out, 32) };
        0
    }

    unsafe fn read32(ptr: *const u8) -> Address {
        let mut out = [0u8; 32];
        // SAFETY: callers pass 32 readable bytes.
        unsafe { std::ptr::copy_nonoverlapping(ptr, out.as_mut_ptr(), 32) };
        Address(out)
    }

    pub unsafe fn tos_log(msg: *const u8, len: u64) -> u64 {
        if len > MAX_LOG_LEN {
            abort_syscall(format!("LogMessageTooLong: {len} bytes"));
        }
        // SAFETY: forwarded.
        let text = String::from_utf8_lossy(unsafe { bytes(msg, len) }).into_owned();
        let over = with_state(|s| {
            s.log_bytes += len as usize;
            if s.log_bytes > MAX_LOG_BYTES || s.logs.len() >= MAX_LOG_ENTRIES {
                return true;
            }
            s.logs.push(text);
            false
        });
        if over {
            abort_syscall("LogLimitExceeded".to_owned());
        }
        0
    }

    pub unsafe fn tos_panic(msg: *const u8, len: u64) -> ! {
        // SAFETY: forwarded.
        let message = String::from_utf8_lossy(unsafe { bytes(msg, len) }).into_owned();
        with_state(|s| s.logs.push(message.clone()));
        resume_unwind(Box::new(HostAbort::Panicked(message)))
    }

    pub unsafe fn tos_get_block_hash(out: *mut u8) -> u64 {
        let value = with_state(|s| s.block_hash.0);
        // SAFETY: forwarded.
        unsafe { write32(out, value) }
    }

    pub unsafe fn tos_get_block_height() -> u64 {
        with_state(|s| s.block_height)
    }

    pub unsafe fn tos_get_block_timestamp() -> u64 {
        with_state(|s| s.block_timestamp)
    }

    pub unsafe fn tos_get_tx_hash(out: *mut u8) -> u64 {
        let value = with_state(|s| s.tx_hash.0);
        // SAFETY: forwarded.
        unsafe { write32(out, value) }
    }

    pub unsafe fn tos_get_tx_sender(out: *mut u8) -> u64 {
        let value = with_state(|s| s.sender.0);
        // SAFETY: forwarded.
        unsafe { write32(out, value) }
    }

    pub unsafe fn tos_get_contract_hash(out: *mut u8) -> u64 {
        let value = with_state(|s| s.frame().contract.0);
        // SAFETY: forwarded.
        unsafe { write32(out, value) }
    }

    pub unsafe fn tos_get_code_hash(out: *mut u8) -> u64 {
        let value = with_state(|s| s.frame().code_hash.0);
        // SAFETY: forwarded.
        unsafe { write32(out, value) }
    }

    pub unsafe fn tos_get_asset_balance(address: *const u8, asset: *const u8) -> u64 {
        // SAFETY: forwarded.
        let (account, asset) = unsafe { (read32(address), read32(asset)) };
        with_state(|s| s.asset_balance(account, Hash(asset.0)))
    }

    pub unsafe fn tos_transfer_asset(recipient: *const u8, asset: *const u8, amount: u64) -> u64 {
        // SAFETY: forwarded.
        let (to, asset) = unsafe { (read32(recipient), read32(asset)) };
        let result = with_state(|s| {
            let from = s.frame().contract;
            s.move_asset(from, to, Hash(asset.0), amount)
        });
        match result {
            Ok(()) => 0,
            Err(reason) => abort_syscall(reason),
        }
    }

    pub unsafe fn tos_get_deposit_count() -> u64 {
        with_state(|s| s.frame_deposits().len() as u64)
    }

    pub unsafe fn tos_get_deposit(index: u64, asset_out: *mut u8) -> u64 {
        let found = with_state(|s| {
            let deposits = s.frame_deposits();
            usize::try_from(index)
                .ok()
                .and_then(|i| deposits.into_iter().nth(i))
        });
        let Some((asset, amount)) = found else {
            abort_syscall(format!("DepositIndexOutOfRange: {index}"));
        };
        // SAFETY: forwarded.
        unsafe { write32(asset_out, asset.0) };
        amount
    }

    pub unsafe fn tos_get_deposit_amount(asset: *const u8) -> u64 {
        // SAFETY: forwarded.
        let asset = Hash(unsafe { read32(asset) }.0);
        with_state(|s| s.frame_deposits().get(&asset).copied().unwrap_or(0))
    }

    pub unsafe fn tos_create_contract(
        code_hash: *const u8,
        salt: *const u8,
        input: *const u8,
        input_len: u64,
        address_out: *mut u8,
    ) -> u64 {
        if input_len > MAX_INPUT_LEN {
            abort_syscall(format!("InputTooLong: {input_len} bytes"));
        }
        // SAFETY: forwarded.
        let (code_hash, salt, input) = unsafe {
            (
                Hash(read32(code_hash).0),
                read32(salt),
                bytes(input, input_len).to_vec(),
            )
        };
        // SAFETY: forwarded.
        unsafe { write32(address_out, [0; 32]) };
        // One value per call, moved out at once: boxing the big variant would buy nothing.
        #[allow(clippy::large_enum_variant)]
        enum Next {
            Status(u64),
            Run(EntryFn, Address, MemoryStorage),
        }
        let next = with_state(|s| {
            if s.frames.len() >= MAX_CALL_DEPTH {
                return Next::Status(CREATE_DEPTH_EXCEEDED);
            }
            let creator = s.frame().contract;
            let mut hasher = blake3::Hasher::new();
            hasher.update(b"tos-vm/create-address/v1");
            hasher.update(&creator.0);
            hasher.update(&salt.0);
            let address = Address(*hasher.finalize().as_bytes());
            let Some(&entry) = s.code.get(&code_hash) else {
                return Next::Status(CREATE_CODE_NOT_FOUND);
            };
            if s.contracts.contains_key(&address) {
                return Next::Status(CREATE_ADDRESS_TAKEN);
            }
            let checkpoint = s.storage.clone();
            s.contracts.insert(address, Instance { entry, code_hash });
            s.return_data = None;
            s.frames.push(Frame {
                contract: address,
                code_hash,
                caller: creator,
                value: 0,
            });
            Next::Run(entry, address, checkpoint)
        });
        let (entry, address, checkpoint) = match next {
            Next::Status(status) => return status,
            Next::Run(entry, address, checkpoint) => (entry, address, checkpoint),
        };
        let result = catch_unwind(AssertUnwindSafe(|| entry(&input)));
        let ok = match status_of(result) {
            Status::Success => true,
            Status::Failed { code } => {
                with_state(|s| {
                    s.logs.push(format!(
                        "tos_create_contract: constructor of {address} returned {code}"
                    ))
                });
                false
            }
            Status::Panicked { message } | Status::Aborted { reason: message } => {
                with_state(|s| {
                    s.logs.push(format!(
                        "tos_create_contract: constructor of {address} aborted: {message}"
                    ))
                });
                false
            }
        };
        with_state(|s| {
            s.frames.pop();
            if !ok {
                s.storage = checkpoint;
                s.contracts.remove(&address);
            }
        });
        if !ok {
            return CREATE_CONSTRUCTOR_FAILED;
        }
        // SAFETY: forwarded.
        unsafe { write32(address_out, address.0) }
    }

    pub unsafe fn tos_get_caller(out: *mut u8) -> u64 {
        let value = with_state(|s| s.frame().caller.0);
        // SAFETY: forwarded.
        unsafe { write32(out, value) }
    }

    pub unsafe fn tos_get_call_depth() -> u64 {
        with_state(|s| s.frames.len() as u64)
    }

    pub unsafe fn tos_get_call_value() -> u64 {
        with_state(|s| s.frame().value)
    }

    pub unsafe fn tos_get_balance(address: *const u8) -> u64 {
        // SAFETY: forwarded.
        let account = unsafe { read32(address) };
        with_state(|s| s.balance(account))
    }

    pub unsafe fn tos_get_self_balance() -> u64 {
        with_state(|s| s.balance(s.frame().contract))
    }

    pub unsafe fn tos_transfer(recipient: *const u8, amount: u64) -> u64 {
        // SAFETY: forwarded.
        let to = unsafe { read32(recipient) };
        let result = with_state(|s| {
            let from = s.frame().contract;
            s.move_value(from, to, amount)
        });
        match result {
            Ok(()) => 0,
            Err(reason) => abort_syscall(reason),
        }
    }

    fn check_key(len: u64) {
        if len > MAX_KEY_LEN {
            abort_syscall(format!("KeyTooLong: {len} bytes"));
        }
    }

    pub unsafe fn tos_storage_read(
        key: *const u8,
        key_len: u64,
        out: *mut u8,
        out_len: u64,
    ) -> u64 {
        check_key(key_len);
        // SAFETY: forwarded.
        let key = unsafe { bytes(key, key_len) };
        let value = with_state(|s| {
            s.storage
                .read_storage(&StoreHash(s.frame().contract.0), key)
                .ok()
                .flatten()
        });
        match value {
            None => u64::MAX,
            Some(value) => {
                let n = value.len().min(out_len as usize);
                if n > 0 {
                    // SAFETY: `out` is valid for `out_len` bytes.
                    unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), out, n) };
                }
                value.len() as u64
            }
        }
    }

    pub unsafe fn tos_storage_write(
        key: *const u8,
        key_len: u64,
        value: *const u8,
        value_len: u64,
    ) -> u64 {
        check_key(key_len);
        if value_len > MAX_VALUE_LEN {
            abort_syscall(format!("ValueTooLong: {value_len} bytes"));
        }
        // SAFETY: forwarded.
        let (key, value) = unsafe { (bytes(key, key_len), bytes(value, value_len)) };
        with_state(|s| {
            let contract = StoreHash(s.frame().contract.0);
            s.storage.set_storage(contract, key, Some(value));
        });
        0
    }

    pub unsafe fn tos_storage_delete(key: *const u8, key_len: u64) -> u64 {
        check_key(key_len);
        // SAFETY: forwarded.
        let key = unsafe { bytes(key, key_len) };
        with_state(|s| {
            let contract = StoreHash(s.frame().contract.0);
            let existed = matches!(s.storage.read_storage(&contract, key), Ok(Some(_)));
            s.storage.set_storage(contract, key, None);
            u64::from(existed)
        })
    }

    fn check_mem(n: u64) {
        if n > MAX_MEM_OP_LEN {
            abort_syscall(format!("MemOpTooLong: {n} bytes"));
        }
    }

    pub unsafe fn tos_memcpy(dst: *mut u8, src: *const u8, n: u64) -> *mut u8 {
        check_mem(n);
        if n != 0 && (dst as u64).abs_diff(src as u64) < n {
            abort_syscall("CopyOverlapping".to_owned());
        }
        if n > 0 {
            // SAFETY: valid, non-overlapping ranges (checked above).
            unsafe { std::ptr::copy_nonoverlapping(src, dst, n as usize) };
        }
        dst
    }

    pub unsafe fn tos_memmove(dst: *mut u8, src: *const u8, n: u64) -> *mut u8 {
        check_mem(n);
        if n > 0 {
            // SAFETY: valid ranges.
            unsafe { std::ptr::copy(src, dst, n as usize) };
        }
        dst
    }

    pub unsafe fn tos_memset(dst: *mut u8, byte: u64, n: u64) -> *mut u8 {
        check_mem(n);
        if n > 0 {
            // SAFETY: valid range.
            unsafe { std::ptr::write_bytes(dst, byte as u8, n as usize) };
        }
        dst
    }

    pub unsafe fn tos_memcmp(a: *const u8, b: *const u8, n: u64) -> i64 {
        check_mem(n);
        // SAFETY: valid ranges.
        let (a, b) = unsafe { (bytes(a, n), bytes(b, n)) };
        a.iter()
            .zip(b)
            .find(|(x, y)| x != y)
            .map_or(0, |(x, y)| i64::from(*x) - i64::from(*y))
    }

    pub unsafe fn tos_invoke(
        contract: *const u8,
        input: *const u8,
        input_len: u64,
        value: u64,
    ) -> u64 {
        if input_len > MAX_INPUT_LEN {
            abort_syscall(format!("InputTooLong: {input_len} bytes"));
        }
        // SAFETY: forwarded.
        let (callee, input) = unsafe { (read32(contract), bytes(input, input_len).to_vec()) };
        // One value per call, moved out at once: boxing the big variant would buy nothing.
        #[allow(clippy::large_enum_variant)]
        enum Next {
            Status(u64),
            Run(EntryFn, (MemoryStorage, BTreeMap<Address, Instance>)),
        }
        let next = with_state(|s| {
            let Some(instance) = s.contracts.get(&callee).copied() else {
                return Next::Status(INVOKE_NOT_FOUND);
            };
            let entry = instance.entry;
            if s.frames.iter().any(|f| f.contract == callee) {
                return Next::Status(INVOKE_REENTRANCY);
            }
            if s.frames.len() >= MAX_CALL_DEPTH {
                return Next::Status(INVOKE_DEPTH_EXCEEDED);
            }
            // Contracts the callee creates are reverted with its storage.
            let checkpoint = (s.storage.clone(), s.contracts.clone());
            let caller = s.frame().contract;
            if value > 0 && s.move_value(caller, callee, value).is_err() {
                return Next::Status(INVOKE_INSUFFICIENT_VALUE);
            }
            s.return_data = None;
            s.frames.push(Frame {
                contract: callee,
                code_hash: instance.code_hash,
                caller,
                value,
            });
            Next::Run(entry, checkpoint)
        });
        let (entry, checkpoint) = match next {
            Next::Status(status) => return status,
            Next::Run(entry, checkpoint) => (entry, checkpoint),
        };
        let result = catch_unwind(AssertUnwindSafe(|| entry(&input)));
        let status = match status_of(result) {
            Status::Success => 0,
            // As the VM does: a callee cannot forge a status of the VM's reserved range.
            Status::Failed { code } => tos_abi::invoke::callee_failure_status(code),
            Status::Panicked { message } | Status::Aborted { reason: message } => {
                with_state(|s| s.logs.push(format!("nested call aborted: {message}")));
                INVOKE_ABORTED
            }
        };
        with_state(|s| {
            s.frames.pop();
            if status != 0 {
                (s.storage, s.contracts) = checkpoint;
            }
        });
        status
    }

    pub unsafe fn tos_set_return_data(data: *const u8, len: u64) -> u64 {
        if len > MAX_RETURN_DATA_LEN {
            abort_syscall(format!("ReturnDataTooLong: {len} bytes"));
        }
        // SAFETY: forwarded.
        let data = unsafe { bytes(data, len) }.to_vec();
        with_state(|s| s.return_data = Some((s.frame().contract, data)));
        0
    }

    pub unsafe fn tos_get_return_data(out: *mut u8, out_len: u64, setter: *mut u8) -> u64 {
        let data = with_state(|s| s.return_data.clone());
        let Some((by, data)) = data else { return 0 };
        let n = data.len().min(out_len as usize);
        // SAFETY: `out` valid for `out_len` bytes, `setter` for 32 when not null.
        unsafe {
            if n > 0 {
                std::ptr::copy_nonoverlapping(data.as_ptr(), out, n);
            }
            if !setter.is_null() {
                write32(setter, by.0);
            }
        }
        data.len() as u64
    }

    pub unsafe fn tos_emit_event(
        topic: *const u8,
        topic_len: u64,
        data: *const u8,
        data_len: u64,
    ) -> u64 {
        if topic_len > MAX_TOPIC_LEN || data_len > MAX_EVENT_DATA_LEN {
            abort_syscall(format!(
                "EventTooLarge: topic {topic_len}, data {data_len} bytes"
            ));
        }
        // SAFETY: forwarded.
        let (topic, data) = unsafe {
            (
                bytes(topic, topic_len).to_vec(),
                bytes(data, data_len).to_vec(),
            )
        };
        let over = with_state(|s| {
            s.event_bytes += topic.len() + data.len();
            if s.events.len() >= MAX_EVENTS || s.event_bytes > MAX_EVENT_BYTES {
                return true;
            }
            s.events.push((topic, data));
            false
        });
        if over {
            abort_syscall("EventLimitExceeded".to_owned());
        }
        0
    }

    unsafe fn slices<'a>(list: *const SliceRef, count: u64) -> Vec<&'a [u8]> {
        if count > 256 {
            abort_syscall(format!("TooManySlices: {count}"));
        }
        // SAFETY: `list` holds `count` entries describing valid slices.
        unsafe {
            bytes(list.cast(), count * 16)
                .chunks_exact(16)
                .map(|pair| {
                    let addr = u64::from_le_bytes(pair[..8].try_into().unwrap_or([0; 8]));
                    let len = u64::from_le_bytes(pair[8..].try_into().unwrap_or([0; 8]));
                    bytes(addr as usize as *const u8, len)
                })
                .collect()
        }
    }

    pub unsafe fn tos_sha256(list: *const SliceRef, count: u64, out: *mut u8) -> u64 {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        // SAFETY: forwarded.
        unsafe { slices(list, count) }
            .iter()
            .for_each(|s| hasher.update(s));
        // SAFETY: forwarded.
        unsafe { write32(out, hasher.finalize().into()) }
    }

    pub unsafe fn tos_keccak256(list: *const SliceRef, count: u64, out: *mut u8) -> u64 {
        use sha3::Digest;
        let mut hasher = sha3::Keccak256::new();
        // SAFETY: forwarded.
        unsafe { slices(list, count) }
            .iter()
            .for_each(|s| hasher.update(s));
        // SAFETY: forwarded.
        unsafe { write32(out, hasher.finalize().into()) }
    }

    pub unsafe fn tos_blake3(list: *const SliceRef, count: u64, out: *mut u8) -> u64 {
        let mut hasher = blake3::Hasher::new();
        // SAFETY: forwarded.
        for s in unsafe { slices(list, count) } {
            hasher.update(s);
        }
        // SAFETY: forwarded.
        unsafe { write32(out, *hasher.finalize().as_bytes()) }
    }

    pub unsafe fn tos_ed25519_verify(
        public_key: *const u8,
        msg: *const u8,
        msg_len: u64,
        signature: *const u8,
    ) -> u64 {
        if msg_len > tos_abi::limits::MAX_SIGNED_MESSAGE_LEN as u64 {
            abort_syscall(format!("HashInputTooLong: {msg_len} bytes"));
        }
        // SAFETY: forwarded.
        let (key, msg, sig) = unsafe {
            (
                read32(public_key),
                bytes(msg, msg_len),
                bytes(signature, 64),
            )
        };
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&key.0) else {
            return 1;
        };
        let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
            return 1;
        };
        u64::from(key.verify_strict(msg, &sig).is_err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Amount, CreateError};

    fn echo_sender(_: &[u8]) -> u64 {
        let ctx = Context::new();
        crate::call::set_return_data(&ctx.caller().0);
        0
    }

    fn fails(_: &[u8]) -> u64 {
        crate::storage::write(b"x", b"y");
        7
    }

    #[test]
    fn failed_calls_leave_no_trace() {
        let mut env = TestEnv::new();
        let outcome = env.call(|_| {
            crate::storage::write(b"k", b"v");
            crate::log("wrote");
            Err(ContractError::Unauthorized)
        });
        assert_eq!(outcome.status, Status::Failed { code: 3 });
        assert_eq!(outcome.error(), Some(ContractError::Unauthorized));
        assert_eq!(outcome.logs, vec!["wrote".to_owned()]);
        assert_eq!(env.storage_value(b"k"), None);

        let outcome = env.call(|_| crate::abort("stop"));
        assert_eq!(
            outcome.status,
            Status::Panicked {
                message: "stop".into()
            }
        );
    }

    #[test]
    fn value_and_transfers() {
        let mut env = TestEnv::new();
        let (sender, contract) = (env.sender, env.contract);
        env.set_balance(sender, 100);
        let outcome = env.invoke_with_value(
            |_| {
                let ctx = Context::new();
                assert_eq!(ctx.call_value(), Amount(40));
                assert_eq!(ctx.balance(), Amount(40));
                ctx.transfer(&Address([9; 32]), Amount(15));
                0
            },
            b"",
            40,
        );
        assert!(outcome.is_success(), "{outcome:?}");
        assert_eq!(env.balance(&sender), 60);
        assert_eq!(env.balance(&contract), 25);
        assert_eq!(env.balance(&Address([9; 32])), 15);

        // Overdraft aborts like the VM, and nothing moves.
        let outcome = env.call(|ctx| {
            ctx.transfer(&Address([9; 32]), Amount(26));
            Ok(())
        });
        assert!(
            matches!(outcome.status, Status::Aborted { .. }),
            "{outcome:?}"
        );
        assert_eq!(env.balance(&contract), 25);
        // So does a value the sender cannot pay.
        let outcome = env.invoke_with_value(|_| 0, b"", 1000);
        assert!(matches!(outcome.status, Status::Aborted { .. }));
    }

    #[test]
    fn nested_calls() {
        let mut env = TestEnv::new();
        let other = Address([0xAA; 32]);
        env.deploy(other, echo_sender);
        env.deploy(Address([0xBB; 32]), fails);
        let outcome = env.call(|ctx| {
            crate::call::invoke(&other, b"", Amount::ZERO)?;
            let mut buf = [0u8; 32];
            let (len, setter) = crate::call::return_data(&mut buf);
            assert_eq!((len, setter), (32, other));
            assert_eq!(Address(buf), ctx.contract());
            let failed = crate::call::invoke(&Address([0xBB; 32]), b"", Amount::ZERO);
            assert_eq!(failed, Err(crate::call::CallError::Failed(7)));
            assert_eq!(crate::storage::len(b"x"), None);
            let missing = crate::call::invoke(&Address([0xCC; 32]), b"", Amount::ZERO);
            assert_eq!(missing, Err(crate::call::CallError::NotFound));
            Ok(())
        });
        assert!(outcome.is_success(), "{outcome:?}");
    }

    /// A constructor that stores its input under `owner`; fails on an empty input.
    fn owned(input: &[u8]) -> u64 {
        if input.is_empty() {
            return 4;
        }
        crate::storage::write(b"owner", input);
        0
    }

    #[test]
    fn host_factories_and_deposits_mirror_the_vm() {
        let code = Hash([0xCD; 32]);
        let mut env = TestEnv::new();
        env.register_code(code, owned);
        assert!(env.deploy_instance(env.contract, code));
        assert!(!env.deploy_instance(env.contract, code), "address taken");
        let gold = Hash([0x60; 32]);
        env.set_asset_balance(env.sender, gold, 10);
        env.set_balance(env.sender, 10);
        let salt = Hash([1; 32]);
        let outcome = env.call(|ctx| {
            assert_eq!(ctx.code_hash(), Hash([0xCD; 32]));
            let child = ctx
                .create_contract(&code, &salt, b"me")
                .map_err(|_| ContractError::NotFound)?;
            let mut expected = blake3::Hasher::new();
            expected.update(b"tos-vm/create-address/v1");
            expected.update(&ctx.contract().0);
            expected.update(&salt.0);
            assert_eq!(child.0, *expected.finalize().as_bytes());
            assert_eq!(
                ctx.create_contract(&code, &salt, b"me"),
                Err(CreateError::AddressTaken)
            );
            assert_eq!(
                ctx.create_contract(&Hash([9; 32]), &Hash([2; 32]), b"x"),
                Err(CreateError::CodeNotFound)
            );
            assert_eq!(
                ctx.create_contract(&code, &Hash([3; 32]), b""),
                Err(CreateError::ConstructorFailed)
            );
            Ok(())
        });
        assert!(outcome.is_success(), "{outcome:?}");
        let outcome = env.invoke_with_deposits(
            |_| {
                let ctx = Context::new();
                let ok = ctx.deposit_count() == 2
                    && ctx.deposit(0) == Some((crate::NATIVE_ASSET, Amount(3)))
                    && ctx.deposit(1) == Some((Hash([0x60; 32]), Amount(4)))
                    && ctx.deposit(2).is_none()
                    && ctx.deposit_of(&Hash([0x60; 32])) == Amount(4)
                    && ctx.call_value() == Amount(3);
                u64::from(!ok)
            },
            b"",
            &[(gold, 4), (crate::NATIVE_ASSET, 3)],
        );
        assert!(outcome.is_success(), "{outcome:?}");
        assert_eq!(env.asset_balance(&env.contract, &gold), 4);
        // Not covered in one asset: nothing moves.
        let refused = env.invoke_with_deposits(|_| 0, b"", &[(gold, 7), (crate::NATIVE_ASSET, 1)]);
        assert!(!refused.is_success());
        assert_eq!(env.asset_balance(&env.sender, &gold), 6);
        assert_eq!(env.balance(&env.sender), 7);
    }
}
