//! Blocks: a list of deploys and calls executed against the state at a height and committed
//! as the next height — sequentially, or with calls on disjoint contracts in parallel, with
//! the same result.
//!
//! # Parallel execution
//!
//! Deploys are barriers: the calls between two deploys form a *segment*. A segment's calls are
//! grouped by the contract they call (calls with deposits from one sender share a group: they
//! all write its balances); each group runs on a worker thread, in transaction order,
//! over its own [`PendingState`]-like view of the state at the segment's start, which records
//! every key (storage key, balance, code) any of its calls read and every key it wrote.
//! When all groups are done, the groups are checked against each other: two groups conflict
//! when one wrote a key the other read or wrote. Groups that conflict with nobody keep their
//! results; each connected set of conflicting groups is merged into one group (its calls in
//! block order) and run again, and the check repeats. If conflicts remain after
//! `MAX_REGROUPS` rounds, or everything merged into one group, the segment is executed again
//! sequentially. Accepted results are committed transaction by transaction, in block order.
//!
//! ## Why an accepted segment equals sequential execution
//!
//! It holds for any partition of the segment's calls into groups, each run in block order:
//!
//! 1. A call's outcome (status, compute, logs, events, return data, change set) is a
//!    deterministic function of the block and transaction context, its input and the values
//!    it reads from the state. The executable cache gives identical executables on hits and
//!    misses; no clock, randomness or other shared state reaches a contract.
//! 2. Take the calls in block order and assume every call before `t` behaved the same in both
//!    executions (so it wrote the same keys, those recorded for its group). Sequentially, `t`
//!    sees the segment's start state plus the writes of every earlier call; in its group it
//!    sees the start state plus the writes of the earlier calls of its own group. The two
//!    views differ only on keys written by other groups.
//! 3. None of those keys was read by `t`'s group (that is what acceptance checked), so the
//!    first value `t` reads is the same in both, hence the next key it chooses to read, and so
//!    on: `t` reads the same keys, sees the same values and behaves the same.
//! 4. Every call having the same change set, committing them in block order gives the same
//!    state and the same block change set as sequential execution.
//!
//! The `chain_replay` tests check this on random blocks, conflicting ones included.

use std::{
    cell::RefCell,
    collections::{BTreeMap, BTreeSet},
    path::Path,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tos_program_runtime::{
    check_deposits, native_deposit, BlockContext, Deposits, Event, LogEntry, ReturnData,
    TransactionContext,
};
use tos_storage::{
    ChangeSet, ContractInfo, DiskStorage, Hash, MemoryStorage, StorageError, StorageProvider,
    VersionedStorage,
};

use crate::{
    error::VmError,
    payload::{ConstructorPayload, DeployContractPayload, DeployError, NO_COMPUTE_LIMIT},
    pending::PendingState,
    vm::{code_hash, deploy_address, ContractCall, InvokeStatus, Vm},
};

/// Which contract a call of a block calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum CallTarget {
    /// The contract at this address.
    Address(Hash),
    /// The contract created by the deploy at this index of the same block (its address is
    /// only known once the block's hash is: see [`deploy_address`]).
    DeployedBy(u32),
}

impl From<Hash> for CallTarget {
    fn from(address: Hash) -> Self {
        CallTarget::Address(address)
    }
}

/// One transaction of a block.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Transaction {
    /// Deploys a contract (and runs its constructor, if the payload has one) at
    /// [`deploy_address`]`(sender, transaction hash)`.
    Deploy {
        sender: Hash,
        payload: DeployContractPayload,
    },
    /// Calls a contract, moving `deposits` from `sender` to it first (all or none), with the
    /// sender's compute limit (`None`: the node's budget; the node's budget is the ceiling).
    Call {
        sender: Hash,
        contract: CallTarget,
        input: Vec<u8>,
        deposits: Deposits,
        compute_limit: Option<u64>,
    },
}

impl Transaction {
    pub fn sender(&self) -> Hash {
        match self {
            Transaction::Deploy { sender, .. } | Transaction::Call { sender, .. } => *sender,
        }
    }

    pub fn kind(&self) -> TxKind {
        match self {
            Transaction::Deploy { .. } => TxKind::Deploy,
            Transaction::Call { .. } => TxKind::Call,
        }
    }

    /// What the transaction deposits: a call's deposits, a constructor's.
    pub fn deposits(&self) -> Deposits {
        match self {
            Transaction::Deploy { payload, .. } => payload
                .constructor
                .as_ref()
                .map(|c| c.deposits.clone())
                .unwrap_or_default(),
            Transaction::Call { deposits, .. } => deposits.clone(),
        }
    }
}

/// A block to execute: its timestamp and its transactions, in order. Its height and parent
/// come from the store it is replayed on.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Block {
    /// Seconds since the Unix epoch, as agreed by consensus.
    pub timestamp: u64,
    pub transactions: Vec<Transaction>,
}

/// Why a block file could not be read.
#[derive(Debug, Error)]
pub enum BlockFileError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("block JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("block is neither JSON nor a borsh-encoded block: {reason}")]
    Borsh { reason: String },
    #[error("transaction {index}: {what}")]
    Invalid { index: usize, what: String },
    #[error("{path} is larger than {limit} bytes")]
    TooLarge { path: String, limit: usize },
}

/// Largest block file [`Block::from_file`] reads: a block of deploys of the largest code,
/// hex-encoded in JSON.
pub const MAX_BLOCK_FILE_LEN: usize = 256 * 1024 * 1024;

/// Reads `path` if it holds at most `limit` bytes; `Ok(None)` when it holds more. At most
/// `limit + 1` bytes are read, so an endless file (`/dev/zero`) is refused at once instead of
/// filling memory.
pub fn read_file_within(path: &Path, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() <= limit).then_some(bytes))
}

/// [`read_file_within`] with the block file's errors.
fn read_block_input(path: &Path, limit: usize) -> Result<Vec<u8>, BlockFileError> {
    let display = || path.display().to_string();
    read_file_within(path, limit)
        .map_err(|source| BlockFileError::Io {
            path: display(),
            source,
        })?
        .ok_or_else(|| BlockFileError::TooLarge {
            path: display(),
            limit,
        })
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBlock {
    #[serde(default)]
    timestamp: u64,
    transactions: Vec<JsonTransaction>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum JsonTransaction {
    Deploy(JsonDeploy),
    Call(JsonCall),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonDeploy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sender: Option<String>,
    /// The ELF as hex…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    /// …or a path to it, relative to the block file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    constructor_input: Option<String>,
    /// The constructor's compute limit (needs `constructor_input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    constructor_compute_limit: Option<u64>,
    /// The constructor's deposits: asset (64 hex) → amount (needs `constructor_input`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    constructor_deposits: BTreeMap<String, u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sender: Option<String>,
    /// The contract's address as 64 hex digits…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contract: Option<String>,
    /// …or the index of the deploy, earlier in this block, that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deployed_by: Option<u32>,
    #[serde(default)]
    input: String,
    /// Shorthand for a native deposit.
    #[serde(default, skip_serializing_if = "is_zero")]
    value: u64,
    /// Deposits: asset (64 hex) → amount.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    deposits: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    compute_limit: Option<u64>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// The JSON form of deposits (asset hex → amount), plus `value` as a native deposit.
fn parse_deposits(
    value: u64,
    deposits: BTreeMap<String, u64>,
    invalid: &dyn Fn(String) -> BlockFileError,
) -> Result<Deposits, BlockFileError> {
    let mut parsed = native_deposit(value);
    for (asset, amount) in deposits {
        let asset = Hash::from_hex(&asset)
            .ok_or_else(|| invalid(format!("deposit asset `{asset}` must be 64 hex digits")))?;
        if parsed.insert(asset, amount).is_some() {
            return Err(invalid(format!(
                "asset {asset} is deposited twice (`value` is the native asset)"
            )));
        }
    }
    check_deposits(&parsed).map_err(|e| invalid(e.to_string()))?;
    Ok(parsed)
}

/// Deposits as JSON (asset hex → amount).
fn deposits_json(deposits: &Deposits) -> BTreeMap<String, u64> {
    deposits
        .iter()
        .map(|(asset, amount)| (asset.to_hex(), *amount))
        .collect()
}

fn derived_hash(parts: &[&[u8]]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    Hash(*hasher.finalize().as_bytes())
}

impl Block {
    /// The borsh encoding (the binary block file format).
    pub fn to_borsh(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("encoding into a Vec cannot fail")
    }

    /// Decodes a borsh block, refusing any encoding but the block's one exact encoding (a
    /// call's deposits list each asset once, in ascending order).
    pub fn from_borsh(bytes: &[u8]) -> Result<Block, BlockFileError> {
        let block: Block = borsh::from_slice(bytes).map_err(|e| BlockFileError::Borsh {
            reason: e.to_string(),
        })?;
        if block.to_borsh() != bytes {
            return Err(BlockFileError::Borsh {
                reason: "not the block's one exact encoding (deposits must list each asset \
                         once, in ascending order)"
                    .to_string(),
            });
        }
        Ok(block)
    }

    /// Reads a block file: JSON when its first non-blank byte is `{`, else borsh. Relative
    /// `code_file` paths of a JSON block are relative to the file.
    pub fn from_file(path: &Path) -> Result<Block, BlockFileError> {
        let bytes = read_block_input(path, MAX_BLOCK_FILE_LEN)?;
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => {
                let text = String::from_utf8(bytes).map_err(|e| BlockFileError::Borsh {
                    reason: e.to_string(),
                })?;
                Block::from_json(&text, path.parent().unwrap_or(Path::new(".")))
            }
            _ => Block::from_borsh(&bytes),
        }
    }

    /// Parses the JSON block format:
    ///
    /// ```json
    /// { "timestamp": 1700000000,
    ///   "transactions": [
    ///     { "deploy": { "sender": "<64 hex>", "code_file": "counter.so" } },
    ///     { "call": { "sender": "<64 hex>", "deployed_by": 0, "input": "00ff", "value": 5 } },
    ///     { "call": { "sender": "<64 hex>", "contract": "<64 hex>" } }
    /// ] }
    /// ```
    ///
    /// A deploy has `code` (hex) or `code_file`, and optionally `constructor_input` (hex); a
    /// call has `contract` (an address) or `deployed_by` (the index of an earlier deploy of
    /// the block). `sender` defaults to zeros, `input` to empty, `value` to 0.
    pub fn from_json(text: &str, base_dir: &Path) -> Result<Block, BlockFileError> {
        let json: JsonBlock = serde_json::from_str(text)?;
        let mut transactions = Vec::with_capacity(json.transactions.len());
        for (index, tx) in json.transactions.into_iter().enumerate() {
            let invalid = |what: String| BlockFileError::Invalid { index, what };
            let hash = |field: &str, text: Option<String>| -> Result<Hash, BlockFileError> {
                match text {
                    None => Ok(Hash::default()),
                    Some(text) => Hash::from_hex(&text)
                        .ok_or_else(|| invalid(format!("`{field}` must be 64 hex digits"))),
                }
            };
            let bytes = |field: &str, text: &str| -> Result<Vec<u8>, BlockFileError> {
                hex::decode(text.trim_start_matches("0x"))
                    .map_err(|e| invalid(format!("`{field}` is not hex: {e}")))
            };
            let file = |name: &str| -> Result<Vec<u8>, BlockFileError> {
                read_block_input(&base_dir.join(name), crate::MAX_CODE_LEN)
            };
            transactions.push(match tx {
                JsonTransaction::Deploy(deploy) => {
                    let code = match (deploy.code, deploy.code_file) {
                        (Some(code), None) => bytes("code", &code)?,
                        (None, Some(name)) => file(&name)?,
                        _ => return Err(invalid("a deploy needs `code` or `code_file`".into())),
                    };
                    let constructor = match deploy.constructor_input {
                        Some(input) => Some(ConstructorPayload {
                            input: bytes("constructor_input", &input)?,
                            compute_limit: deploy
                                .constructor_compute_limit
                                .unwrap_or(NO_COMPUTE_LIMIT),
                            deposits: parse_deposits(0, deploy.constructor_deposits, &invalid)?,
                        }),
                        None if deploy.constructor_compute_limit.is_some()
                            || !deploy.constructor_deposits.is_empty() =>
                        {
                            return Err(invalid(
                                "constructor fields need `constructor_input`".into(),
                            ))
                        }
                        None => None,
                    };
                    Transaction::Deploy {
                        sender: hash("sender", deploy.sender)?,
                        payload: DeployContractPayload { code, constructor },
                    }
                }
                JsonTransaction::Call(call) => {
                    let contract = match (call.contract, call.deployed_by) {
                        (Some(text), None) => CallTarget::Address(hash("contract", Some(text))?),
                        (None, Some(deploy)) => CallTarget::DeployedBy(deploy),
                        _ => {
                            return Err(invalid("a call needs `contract` or `deployed_by`".into()))
                        }
                    };
                    Transaction::Call {
                        sender: hash("sender", call.sender)?,
                        contract,
                        input: bytes("input", &call.input)?,
                        deposits: parse_deposits(call.value, call.deposits, &invalid)?,
                        compute_limit: call.compute_limit,
                    }
                }
            });
        }
        Ok(Block {
            timestamp: json.timestamp,
            transactions,
        })
    }

    /// The JSON block format, code inline as hex.
    pub fn to_json(&self) -> String {
        let json = JsonBlock {
            timestamp: self.timestamp,
            transactions: self
                .transactions
                .iter()
                .map(|tx| match tx {
                    Transaction::Deploy { sender, payload } => {
                        JsonTransaction::Deploy(JsonDeploy {
                            sender: Some(sender.to_hex()),
                            code: Some(hex::encode(&payload.code)),
                            code_file: None,
                            constructor_input: payload
                                .constructor
                                .as_ref()
                                .map(|c| hex::encode(&c.input)),
                            constructor_compute_limit: payload
                                .constructor
                                .as_ref()
                                .map(|c| c.compute_limit)
                                .filter(|limit| *limit != NO_COMPUTE_LIMIT),
                            constructor_deposits: payload
                                .constructor
                                .as_ref()
                                .map(|c| deposits_json(&c.deposits))
                                .unwrap_or_default(),
                        })
                    }
                    Transaction::Call {
                        sender,
                        contract,
                        input,
                        deposits,
                        compute_limit,
                    } => JsonTransaction::Call(JsonCall {
                        sender: Some(sender.to_hex()),
                        contract: match contract {
                            CallTarget::Address(address) => Some(address.to_hex()),
                            CallTarget::DeployedBy(_) => None,
                        },
                        deployed_by: match contract {
                            CallTarget::Address(_) => None,
                            CallTarget::DeployedBy(index) => Some(*index),
                        },
                        input: hex::encode(input),
                        value: 0,
                        deposits: deposits_json(deposits),
                        compute_limit: *compute_limit,
                    }),
                })
                .collect(),
        };
        serde_json::to_string_pretty(&json).expect("a block always serializes")
    }

    /// The context the block executes in at `height`; its hash commits to the height and the
    /// whole block.
    pub fn context(&self, height: u64) -> BlockContext {
        BlockContext {
            height,
            hash: derived_hash(&[b"tos-vm block", &height.to_le_bytes(), &self.to_borsh()]),
            timestamp: self.timestamp,
        }
    }
}

/// The hash of the `index`-th transaction of the block `block_hash`.
pub fn transaction_hash(block_hash: &Hash, index: usize, transaction: &Transaction) -> Hash {
    let encoded = borsh::to_vec(transaction).expect("encoding into a Vec cannot fail");
    derived_hash(&[
        b"tos-vm tx",
        &block_hash.0,
        &(index as u64).to_le_bytes(),
        &encoded,
    ])
}

/// How to execute a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Worker threads for segments of calls; 1 executes everything sequentially.
    pub threads: usize,
    /// Segments with fewer calls run sequentially (threads cost more than they save).
    pub min_parallel_calls: usize,
}

impl ReplayOptions {
    /// Everything in order, on the calling thread.
    pub fn sequential() -> Self {
        ReplayOptions {
            threads: 1,
            ..ReplayOptions::default()
        }
    }

    /// Up to `threads` workers.
    pub fn parallel(threads: usize) -> Self {
        ReplayOptions {
            threads: threads.max(1),
            ..ReplayOptions::default()
        }
    }
}

impl Default for ReplayOptions {
    /// One worker per available core.
    fn default() -> Self {
        ReplayOptions {
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            min_parallel_calls: 8,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    Deploy,
    Call,
}

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum TxStatus {
    /// Effects committed to the block.
    Success,
    /// The contract (or the constructor) returned a non-zero status; no effects.
    Failed { code: u64 },
    /// The VM stopped the contract (syscall error, fault, compute exhausted, a deposit not
    /// covered); no effects.
    Aborted { error: String },
    /// The transaction could not start (unknown contract, refused deploy); no effects.
    Rejected { error: String },
}

impl TxStatus {
    pub fn is_success(&self) -> bool {
        matches!(self, TxStatus::Success)
    }

    fn from_invoke(status: InvokeStatus) -> Result<TxStatus, StorageError> {
        Ok(match status {
            InvokeStatus::Success => TxStatus::Success,
            InvokeStatus::Failed { code } => TxStatus::Failed { code },
            InvokeStatus::Aborted(error) => TxStatus::Aborted {
                error: transaction_error(error)?,
            },
        })
    }

    fn rejected(error: VmError) -> Result<TxStatus, StorageError> {
        Ok(TxStatus::Rejected {
            error: transaction_error(error)?,
        })
    }
}

/// The message of a transaction's own failure; a failure of the store stops the block.
fn transaction_error(error: VmError) -> Result<String, StorageError> {
    match error.into_backend_error() {
        Ok(backend) => Err(backend),
        Err(error) => Ok(error.to_string()),
    }
}

/// What one transaction of a block did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutcome {
    pub index: usize,
    pub hash: Hash,
    pub kind: TxKind,
    pub sender: Hash,
    pub contract: Hash,
    /// What the transaction deposited (moved only if it succeeded).
    pub deposits: Deposits,
    pub status: TxStatus,
    pub compute_used: u64,
    pub logs: Vec<LogEntry>,
    pub events: Vec<Event>,
    pub return_data: Option<ReturnData>,
    /// Its net changes (empty unless it succeeded).
    pub changes: ChangeSet,
    /// Wall time of its execution (not part of consensus: `same_as` ignores it).
    pub elapsed: Duration,
}

impl TxOutcome {
    /// Everything but the timing is equal: what two executions of a block must agree on.
    pub fn same_as(&self, other: &TxOutcome) -> bool {
        TxOutcome {
            elapsed: Duration::ZERO,
            ..self.clone()
        } == TxOutcome {
            elapsed: Duration::ZERO,
            ..other.clone()
        }
    }
}

/// How a block's segments ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ExecutionStats {
    /// Worker threads allowed.
    pub threads: usize,
    /// Runs of consecutive calls (deploys separate them).
    pub segments: usize,
    /// Segments whose parallel execution was accepted.
    pub parallel_segments: usize,
    /// Groups in the accepted parallel segments (after merging conflicting ones).
    pub parallel_groups: usize,
    /// Rounds of merging conflicting groups and running them again.
    pub regroups: usize,
    /// Segments run in parallel, still conflicting after the regroups, and run again
    /// sequentially.
    pub fallbacks: usize,
}

/// What a block did, not yet committed.
#[derive(Debug)]
pub struct BlockExecution {
    pub context: BlockContext,
    pub transactions: Vec<TxOutcome>,
    /// The block's net change set: commit it as the block.
    pub changes: ChangeSet,
    pub stats: ExecutionStats,
    /// Wall time of the whole execution.
    pub elapsed: Duration,
}

impl BlockExecution {
    pub fn compute_used(&self) -> u64 {
        self.transactions.iter().map(|tx| tx.compute_used).sum()
    }

    pub fn successes(&self) -> usize {
        self.transactions
            .iter()
            .filter(|tx| tx.status.is_success())
            .count()
    }

    /// blake3 of the block's change set (borsh): equal for equal executions.
    pub fn changes_hash(&self) -> Hash {
        let encoded = borsh::to_vec(&self.changes).expect("encoding into a Vec cannot fail");
        Hash(*blake3::hash(&encoded).as_bytes())
    }

    /// Same transactions outcomes (timings aside) and same change set.
    pub fn same_as(&self, other: &BlockExecution) -> bool {
        self.context == other.context
            && self.changes == other.changes
            && self.transactions.len() == other.transactions.len()
            && self
                .transactions
                .iter()
                .zip(&other.transactions)
                .all(|(a, b)| a.same_as(b))
    }
}

/// Executes `transactions` in the block `context` against `state` without writing to it.
///
/// Each transaction sees the effects of the ones before it. Failed transactions have no
/// effects and do not stop the block; a failure of the store itself (I/O, corruption) does,
/// with `Err`. With `options.threads > 1`, calls on disjoint contracts run in parallel (see the
/// module documentation); the result is the same as with one thread.
///
/// Transaction hashes are derived with [`transaction_hash`]; a chain with its own hashes calls
/// [`execute_block_with_hashes`].
pub fn execute_block<S: StorageProvider + Sync + ?Sized>(
    vm: &Vm,
    context: &BlockContext,
    transactions: &[Transaction],
    state: &S,
    options: &ReplayOptions,
) -> Result<BlockExecution, StorageError> {
    let hashes: Vec<Hash> = transactions
        .iter()
        .enumerate()
        .map(|(index, tx)| transaction_hash(&context.hash, index, tx))
        .collect();
    execute_hashed(vm, context, transactions, &hashes, state, options)
}

/// [`execute_block`] with the chain's own transaction hashes (what `tos_get_tx_hash` returns),
/// one per transaction.
///
/// `Err(VmError::TransactionHashCount)` if `hashes` and `transactions` differ in length (nothing
/// runs), `Err(VmError::Storage)` when the store fails.
pub fn execute_block_with_hashes<S: StorageProvider + Sync + ?Sized>(
    vm: &Vm,
    context: &BlockContext,
    transactions: &[Transaction],
    hashes: &[Hash],
    state: &S,
    options: &ReplayOptions,
) -> Result<BlockExecution, VmError> {
    if transactions.len() != hashes.len() {
        return Err(VmError::TransactionHashCount {
            transactions: transactions.len(),
            hashes: hashes.len(),
        });
    }
    Ok(execute_hashed(
        vm,
        context,
        transactions,
        hashes,
        state,
        options,
    )?)
}

/// [`execute_block_with_hashes`] once `hashes` has one hash per transaction.
fn execute_hashed<S: StorageProvider + Sync + ?Sized>(
    vm: &Vm,
    context: &BlockContext,
    transactions: &[Transaction],
    hashes: &[Hash],
    state: &S,
    options: &ReplayOptions,
) -> Result<BlockExecution, StorageError> {
    let targets = resolve_targets(transactions, hashes);
    let batch = Batch {
        context,
        transactions,
        hashes,
        targets: &targets,
    };
    let started = Instant::now();
    let threads = options.threads.max(1);
    let mut pending = PendingState::new(state);
    let mut outcomes = Vec::with_capacity(transactions.len());
    let mut stats = ExecutionStats {
        threads,
        ..ExecutionStats::default()
    };
    let mut start = 0;
    while start < transactions.len() {
        if let Transaction::Deploy { .. } = transactions[start] {
            outcomes.push(run_transaction(vm, batch, start, &mut pending)?);
            start += 1;
            continue;
        }
        let calls = transactions[start..]
            .iter()
            .take_while(|tx| matches!(tx, Transaction::Call { .. }))
            .count();
        let segment = start..start + calls;
        stats.segments += 1;
        let parallel = if threads > 1 && calls >= options.min_parallel_calls.max(2) {
            run_parallel(vm, batch, segment.clone(), &pending, threads)?
        } else {
            Parallel::NotTried
        };
        match parallel {
            Parallel::Accepted {
                outcomes: done,
                groups,
                regroups,
            } => {
                stats.parallel_segments += 1;
                stats.parallel_groups += groups;
                stats.regroups += regroups;
                for outcome in done {
                    pending.commit(&outcome.changes)?;
                    outcomes.push(outcome);
                }
            }
            other => {
                if matches!(other, Parallel::Conflict) {
                    stats.fallbacks += 1;
                }
                for index in segment {
                    outcomes.push(run_transaction(vm, batch, index, &mut pending)?);
                }
            }
        }
        start += calls;
    }
    Ok(BlockExecution {
        context: context.clone(),
        transactions: outcomes,
        changes: pending.into_changes(),
        stats,
        elapsed: started.elapsed(),
    })
}

/// The transactions of a block being executed, with their hashes and contracts.
#[derive(Clone, Copy)]
struct Batch<'a> {
    context: &'a BlockContext,
    transactions: &'a [Transaction],
    hashes: &'a [Hash],
    /// Per transaction: the contract a deploy creates or a call calls; `Err` for a call whose
    /// [`CallTarget::DeployedBy`] names no earlier deploy.
    targets: &'a [Result<Hash, String>],
}

/// The contract of every transaction: a deploy's new address ([`deploy_address`] of its
/// sender and hash), a call's address or the address of the deploy it names.
fn resolve_targets(transactions: &[Transaction], hashes: &[Hash]) -> Vec<Result<Hash, String>> {
    let deployed = |index: usize| match transactions.get(index) {
        Some(Transaction::Deploy { sender, .. }) => Some(deploy_address(sender, &hashes[index])),
        _ => None,
    };
    transactions
        .iter()
        .enumerate()
        .map(|(index, transaction)| match transaction {
            Transaction::Deploy { .. } => Ok(deploy_address(&transaction.sender(), &hashes[index])),
            Transaction::Call { contract, .. } => match *contract {
                CallTarget::Address(address) => Ok(address),
                CallTarget::DeployedBy(deploy) => usize::try_from(deploy)
                    .ok()
                    .filter(|&deploy| deploy < index)
                    .and_then(deployed)
                    .ok_or_else(|| {
                        format!("`deployed_by` {deploy} is not an earlier deploy of this block")
                    }),
            },
        })
        .collect()
}

/// Executes transaction `index` against `state`, committing its effects there if it succeeds.
fn run_transaction(
    vm: &Vm,
    batch: Batch<'_>,
    index: usize,
    state: &mut dyn StorageProvider,
) -> Result<TxOutcome, StorageError> {
    let started = Instant::now();
    let context = batch.context;
    let transaction = &batch.transactions[index];
    let hash = batch.hashes[index];
    let target = batch.targets[index].clone();
    let mut outcome = TxOutcome {
        index,
        hash,
        kind: transaction.kind(),
        sender: transaction.sender(),
        contract: target.clone().unwrap_or_default(),
        deposits: transaction.deposits(),
        status: TxStatus::Success,
        compute_used: 0,
        logs: Vec::new(),
        events: Vec::new(),
        return_data: None,
        changes: ChangeSet::default(),
        elapsed: Duration::ZERO,
    };
    match transaction {
        Transaction::Call {
            sender,
            input,
            deposits,
            compute_limit,
            ..
        } => {
            let contract = match target {
                Ok(contract) => contract,
                Err(error) => {
                    outcome.status = TxStatus::Rejected { error };
                    outcome.elapsed = started.elapsed();
                    return Ok(outcome);
                }
            };
            let call = ContractCall {
                contract,
                input: input.clone(),
                sender: *sender,
                tx_hash: hash,
                deposits: deposits.clone(),
                compute_limit: *compute_limit,
            };
            match vm.invoke(&call, context, state) {
                Ok(invoke) => {
                    outcome.status = TxStatus::from_invoke(invoke.status)?;
                    outcome.compute_used = invoke.compute_used;
                    outcome.logs = invoke.logs;
                    outcome.events = invoke.events;
                    outcome.return_data = invoke.return_data;
                    outcome.changes = invoke.changes;
                }
                Err(error) => outcome.status = TxStatus::rejected(error)?,
            }
        }
        Transaction::Deploy { sender, payload } => {
            let transaction = TransactionContext {
                hash,
                sender: *sender,
            };
            let address = deploy_address(sender, &hash);
            match vm.deploy_contract(payload, address, &transaction, context, state) {
                Ok(deploy) => {
                    outcome.compute_used = deploy.compute_used();
                    if let Some(constructor) = deploy.constructor {
                        outcome.logs = constructor.logs;
                        outcome.events = constructor.events;
                        outcome.return_data = constructor.return_data;
                    }
                    outcome.changes = deploy.changes;
                }
                Err(VmError::Deploy(DeployError::ConstructorFailed(constructor))) => {
                    let constructor = *constructor;
                    outcome.status = TxStatus::from_invoke(constructor.status)?;
                    outcome.compute_used = constructor.compute_used;
                    outcome.logs = constructor.logs;
                    outcome.return_data = constructor.return_data;
                }
                Err(error) => outcome.status = TxStatus::rejected(error)?,
            }
        }
    }
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// A piece of state a transaction can read or write.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum StateKey {
    Storage(Hash, Vec<u8>),
    Balance(Hash, Hash),
    Code(Hash),
    Contract(Hash),
}

/// A group's view: its own committed changes over the segment's start state, recording every
/// key read and written. Lives on one worker thread.
struct RecordingState<'a, S: ?Sized> {
    base: &'a S,
    local: ChangeSet,
    reads: RefCell<BTreeSet<StateKey>>,
    writes: BTreeSet<StateKey>,
}

impl<S: StorageProvider + ?Sized> StorageProvider for RecordingState<'_, S> {
    fn read_storage(&self, contract: &Hash, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.reads
            .borrow_mut()
            .insert(StateKey::Storage(*contract, key.to_vec()));
        match self.local.storage.get(&(*contract, key.to_vec())) {
            Some(value) => Ok(value.clone()),
            None => self.base.read_storage(contract, key),
        }
    }

    fn read_balance(&self, account: &Hash, asset: &Hash) -> Result<u64, StorageError> {
        self.reads
            .borrow_mut()
            .insert(StateKey::Balance(*account, *asset));
        match self.local.balances.get(&(*account, *asset)) {
            Some(amount) => Ok(*amount),
            None => self.base.read_balance(account, asset),
        }
    }

    fn read_contract(&self, address: &Hash) -> Result<Option<ContractInfo>, StorageError> {
        self.reads.borrow_mut().insert(StateKey::Contract(*address));
        match self.local.contracts.get(address) {
            Some(info) => Ok(Some(*info)),
            None => self.base.read_contract(address),
        }
    }

    fn read_code(&self, code_hash: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
        self.reads.borrow_mut().insert(StateKey::Code(*code_hash));
        match self.local.code.get(code_hash) {
            Some(elf) => Ok(Some(elf.clone())),
            None => self.base.read_code(code_hash),
        }
    }

    /// Records the same read as `read_code`, without copying the ELF.
    fn has_code(&self, code_hash: &Hash) -> Result<bool, StorageError> {
        self.reads.borrow_mut().insert(StateKey::Code(*code_hash));
        if self.local.code.contains_key(code_hash) {
            return Ok(true);
        }
        self.base.has_code(code_hash)
    }

    fn commit(&mut self, changes: &ChangeSet) -> Result<(), StorageError> {
        let writes = changes
            .storage
            .keys()
            .map(|(contract, key)| StateKey::Storage(*contract, key.clone()))
            .chain(
                changes
                    .balances
                    .keys()
                    .map(|(account, asset)| StateKey::Balance(*account, *asset)),
            )
            .chain(changes.code.keys().map(|hash| StateKey::Code(*hash)))
            .chain(changes.contracts.keys().map(|a| StateKey::Contract(*a)));
        self.writes.extend(writes);
        self.local.merge(changes.clone());
        Ok(())
    }
}

/// Calls of a segment run in block order by one worker, over the segment's start state.
struct GroupRun {
    outcomes: Vec<TxOutcome>,
    reads: BTreeSet<StateKey>,
    writes: BTreeSet<StateKey>,
}

enum Parallel {
    NotTried,
    Conflict,
    Accepted {
        outcomes: Vec<TxOutcome>,
        groups: usize,
        regroups: usize,
    },
}

/// How many times a segment's conflicting groups are merged and re-run before the segment
/// falls back to sequential execution.
const MAX_REGROUPS: usize = 2;

fn run_group<S: StorageProvider + ?Sized>(
    vm: &Vm,
    batch: Batch<'_>,
    indexes: &[usize],
    base: &S,
) -> Result<GroupRun, StorageError> {
    let mut state = RecordingState {
        base,
        local: ChangeSet::default(),
        reads: RefCell::new(BTreeSet::new()),
        writes: BTreeSet::new(),
    };
    let mut outcomes = Vec::with_capacity(indexes.len());
    for &index in indexes {
        outcomes.push(run_transaction(vm, batch, index, &mut state)?);
    }
    Ok(GroupRun {
        outcomes,
        reads: state.reads.into_inner(),
        writes: state.writes,
    })
}

/// Runs each group on a pool of up to `threads` workers (largest groups first); the runs come
/// back in the order of `groups`.
fn run_groups<S: StorageProvider + Sync + ?Sized>(
    vm: &Vm,
    batch: Batch<'_>,
    groups: &[&[usize]],
    base: &S,
    threads: usize,
) -> Result<Vec<GroupRun>, StorageError> {
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&id| std::cmp::Reverse(groups[id].len()));
    let next = AtomicUsize::new(0);
    let workers = threads.min(groups.len()).max(1);
    let results: Vec<Result<Vec<(usize, GroupRun)>, StorageError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut runs = Vec::new();
                    while let Some(&id) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                        runs.push((id, run_group(vm, batch, groups[id], base)?));
                    }
                    Ok(runs)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut runs: Vec<Option<GroupRun>> = (0..groups.len()).map(|_| None).collect();
    for result in results {
        for (id, run) in result? {
            runs[id] = Some(run);
        }
    }
    Ok(runs
        .into_iter()
        .map(|run| run.expect("every group ran"))
        .collect())
}

/// The root of `id` in a union-find forest (with path halving).
fn find(parent: &mut [usize], mut id: usize) -> usize {
    while parent[id] != id {
        parent[id] = parent[parent[id]];
        id = parent[id];
    }
    id
}

/// The groups that must run together: connected components of "one wrote a key the other
/// read or wrote". All singletons means the runs are independent.
fn conflict_components(runs: &[GroupRun]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..runs.len()).collect();
    let root = find;
    let mut writers: BTreeMap<&StateKey, Vec<usize>> = BTreeMap::new();
    for (id, run) in runs.iter().enumerate() {
        for key in &run.writes {
            writers.entry(key).or_default().push(id);
        }
    }
    for (id, run) in runs.iter().enumerate() {
        for key in run.reads.iter().chain(&run.writes) {
            for &writer in writers.get(key).map(Vec::as_slice).unwrap_or_default() {
                let (a, b) = (root(&mut parent, id), root(&mut parent, writer));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut components: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for id in 0..runs.len() {
        let r = root(&mut parent, id);
        components.entry(r).or_default().push(id);
    }
    components.into_values().collect()
}

/// Runs a segment's calls grouped by contract on worker threads; merges and re-runs the groups
/// that touched each other's keys until the groups are independent (see the module docs), or
/// gives up (`Conflict`) so the caller runs the segment sequentially.
fn run_parallel<S: StorageProvider + Sync + ?Sized>(
    vm: &Vm,
    batch: Batch<'_>,
    segment: std::ops::Range<usize>,
    base: &PendingState<'_, S>,
    threads: usize,
) -> Result<Parallel, StorageError> {
    // One group per called contract, except that calls with deposits from the same sender
    // share a group: they all write that sender's balances, a conflict known in advance.
    let mut group_of_contract: BTreeMap<Hash, usize> = BTreeMap::new();
    let mut group_of_payer: BTreeMap<Hash, usize> = BTreeMap::new();
    let mut parent: Vec<usize> = Vec::new();
    let mut group_of_call = Vec::with_capacity(segment.len());
    for index in segment.clone() {
        let transaction = &batch.transactions[index];
        // An unresolved target rejects the call without touching state: any group will do.
        let contract = batch.targets[index].clone().unwrap_or_default();
        let id = *group_of_contract.entry(contract).or_insert_with(|| {
            parent.push(parent.len());
            parent.len() - 1
        });
        if matches!(transaction, Transaction::Call { deposits, .. } if !deposits.is_empty()) {
            let payer = *group_of_payer.entry(transaction.sender()).or_insert(id);
            let (a, b) = (find(&mut parent, id), find(&mut parent, payer));
            parent[a.max(b)] = a.min(b);
        }
        group_of_call.push(id);
    }
    let mut slot_of_root: BTreeMap<usize, usize> = BTreeMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (index, id) in segment.zip(group_of_call) {
        let root = find(&mut parent, id);
        let slot = *slot_of_root.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[slot].push(index);
    }
    if groups.len() < 2 {
        return Ok(Parallel::NotTried);
    }
    let slices: Vec<&[usize]> = groups.iter().map(Vec::as_slice).collect();
    let mut runs = run_groups(vm, batch, &slices, base, threads)?;
    let mut regroups = 0;
    loop {
        let components = conflict_components(&runs);
        if components.iter().all(|component| component.len() == 1) {
            break;
        }
        if regroups == MAX_REGROUPS || components.len() < 2 {
            return Ok(Parallel::Conflict);
        }
        regroups += 1;
        // Keep the independent runs; merge each conflicting component into one group (its
        // calls in block order) and run those again.
        let mut kept_groups = Vec::new();
        let mut kept_runs = Vec::new();
        let mut merged = Vec::new();
        let mut slots: Vec<Option<GroupRun>> = runs.into_iter().map(Some).collect();
        for component in components {
            if let [single] = component[..] {
                kept_groups.push(std::mem::take(&mut groups[single]));
                kept_runs.push(slots[single].take().expect("each run is kept once"));
            } else {
                let mut indexes: Vec<usize> = component
                    .iter()
                    .flat_map(|&id| std::mem::take(&mut groups[id]))
                    .collect();
                indexes.sort_unstable();
                merged.push(indexes);
            }
        }
        let slices: Vec<&[usize]> = merged.iter().map(Vec::as_slice).collect();
        let merged_runs = run_groups(vm, batch, &slices, base, threads)?;
        groups = kept_groups.into_iter().chain(merged).collect();
        runs = kept_runs.into_iter().chain(merged_runs).collect();
    }
    let group_count = runs.len();
    let mut outcomes: Vec<TxOutcome> = runs.into_iter().flat_map(|run| run.outcomes).collect();
    outcomes.sort_by_key(|outcome| outcome.index);
    Ok(Parallel::Accepted {
        outcomes,
        groups: group_count,
        regroups,
    })
}

/// A read-only view of a versioned store as of `height` that threads can share.
pub struct StateAtHeight<'a, S: ?Sized> {
    store: &'a S,
    height: u64,
}

impl<'a, S: VersionedStorage> StateAtHeight<'a, S> {
    /// Refused when `height` is not readable (above the tip or pruned).
    pub fn new(store: &'a S, height: u64) -> Result<Self, StorageError> {
        tos_storage::StateAt::new(store, height)?;
        Ok(StateAtHeight { store, height })
    }

    pub fn height(&self) -> u64 {
        self.height
    }
}

impl<S: VersionedStorage + ?Sized> StorageProvider for StateAtHeight<'_, S> {
    fn read_storage(&self, contract: &Hash, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.store.read_storage_at(contract, key, self.height)
    }

    fn read_balance(&self, account: &Hash, asset: &Hash) -> Result<u64, StorageError> {
        self.store.read_balance_at(account, asset, self.height)
    }

    fn read_contract(&self, address: &Hash) -> Result<Option<ContractInfo>, StorageError> {
        self.store.read_contract_at(address, self.height)
    }

    fn read_code(&self, code_hash: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
        self.store.read_code_at(code_hash, self.height)
    }

    fn has_code(&self, code_hash: &Hash) -> Result<bool, StorageError> {
        self.store.has_code_at(code_hash, self.height)
    }

    fn commit(&mut self, _changes: &ChangeSet) -> Result<(), StorageError> {
        Err(StorageError::ReadOnlyView {
            height: self.height,
        })
    }
}

/// A replayed and committed block.
#[derive(Debug)]
pub struct ReplayReport {
    /// The height the block was committed at (the parent's + 1).
    pub height: u64,
    pub execution: BlockExecution,
    /// Wall time of the commit.
    pub commit_elapsed: Duration,
}

/// Executes `block` against `store`'s latest state (height `h`) and commits it as block
/// `h + 1`, all of its effects in one atomic step.
pub fn replay_block<S: VersionedStorage + Sync>(
    vm: &Vm,
    block: &Block,
    store: &mut S,
    options: &ReplayOptions,
) -> Result<ReplayReport, StorageError> {
    let height = store.block_height()? + 1;
    let context = block.context(height);
    let execution = execute_block(vm, &context, &block.transactions, &*store, options)?;
    let started = Instant::now();
    store.commit_block(height, &execution.changes)?;
    Ok(ReplayReport {
        height,
        execution,
        commit_elapsed: started.elapsed(),
    })
}

/// The whole state of a store, in a canonical order: what a state root is computed over.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize)]
pub struct StateDump {
    /// `(code hash key, blake3 of the stored ELF)`, by key.
    pub code: Vec<(Hash, Hash)>,
    /// Every contract instance `(address, code hash)`, by address.
    pub contracts: Vec<(Hash, Hash)>,
    /// Every contract instance with storage, and its `(key, value)`s in key order.
    #[allow(clippy::type_complexity)]
    pub storage: Vec<(Hash, Vec<(Vec<u8>, Vec<u8>)>)>,
    /// Every non-zero `(account, asset, amount)`.
    pub balances: Vec<(Hash, Hash, u64)>,
}

impl StateDump {
    /// blake3 of the dump's borsh encoding.
    pub fn root(&self) -> Hash {
        Hash(
            *blake3::hash(&borsh::to_vec(self).expect("encoding into a Vec cannot fail"))
                .as_bytes(),
        )
    }
}

/// Stores whose whole state can be listed.
pub trait StateListing {
    fn state_dump(&self) -> Result<StateDump, StorageError>;

    /// The root of [`state_dump`](Self::state_dump).
    fn state_root(&self) -> Result<Hash, StorageError> {
        Ok(self.state_dump()?.root())
    }
}

fn dump_code(
    store: &dyn StorageProvider,
    hashes: Vec<Hash>,
) -> Result<Vec<(Hash, Hash)>, StorageError> {
    hashes
        .into_iter()
        .map(|hash| {
            let elf = store.read_code(&hash)?.unwrap_or_default();
            Ok((hash, code_hash(&elf)))
        })
        .collect()
}

impl StateListing for DiskStorage {
    fn state_dump(&self) -> Result<StateDump, StorageError> {
        let hashes = self.list_code()?;
        let contracts = self.list_contracts()?;
        let mut storage = Vec::new();
        for (contract, _) in &contracts {
            let entries = self.list_storage(contract)?;
            if !entries.is_empty() {
                storage.push((*contract, entries));
            }
        }
        Ok(StateDump {
            code: dump_code(self, hashes)?,
            contracts: contracts
                .into_iter()
                .map(|(a, i)| (a, i.code_hash))
                .collect(),
            storage,
            balances: self.list_balances()?,
        })
    }
}

impl StateListing for MemoryStorage {
    fn state_dump(&self) -> Result<StateDump, StorageError> {
        let hashes = self.code_hashes();
        let contracts = self.contracts();
        let storage = contracts
            .iter()
            .map(|(contract, _)| (*contract, self.storage_entries(contract)))
            .filter(|(_, entries)| !entries.is_empty())
            .collect();
        Ok(StateDump {
            code: dump_code(self, hashes)?,
            contracts: contracts
                .into_iter()
                .map(|(a, i)| (a, i.code_hash))
                .collect(),
            storage,
            balances: self.balances(),
        })
    }
}
