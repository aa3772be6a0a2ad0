//! One contract call from start to end: find the code, load it (cached), run it against a
//! journal over the store, and hand back status, compute, logs and — only on success — the
//! change set. Nothing is written to the store here; the caller commits.

use std::collections::BTreeMap;

use tos_storage::{
    ChangeSet, Hash, Journal, JournalLog, StateGrowth, StorageProvider, NATIVE_ASSET,
};

use crate::{
    cache::ExecutableCache,
    context::{
        BlockContext, Event, InvokeContext, LogEntry, ProgramAccess, ReturnData, TransactionContext,
    },
    error::RuntimeError,
    executor::{self, Engine},
};

/// Amounts a call moves from its sender to the contract before the contract runs, by asset
/// (ordered, one entry per asset, at most [`MAX_DEPOSITS`](crate::limits::MAX_DEPOSITS),
/// none of 0). Borsh encodes it as a `u32` count and `(asset, amount)` pairs in ascending
/// asset order; decoding refuses any other order, so duplicates cannot be encoded.
pub type Deposits = BTreeMap<Hash, u64>;

/// `amount` of the native asset as deposits (none for 0): what `--value` stands for.
pub fn native_deposit(amount: u64) -> Deposits {
    let mut deposits = Deposits::new();
    if amount > 0 {
        deposits.insert(NATIVE_ASSET, amount);
    }
    deposits
}

/// Checks the limits of a call's deposits: at most
/// [`MAX_DEPOSITS`](crate::limits::MAX_DEPOSITS) and no amount of 0.
pub fn check_deposits(deposits: &Deposits) -> Result<(), RuntimeError> {
    if deposits.len() > crate::limits::MAX_DEPOSITS {
        return Err(RuntimeError::TooManyDeposits {
            count: deposits.len(),
            limit: crate::limits::MAX_DEPOSITS,
        });
    }
    if let Some((asset, _)) = deposits.iter().find(|(_, amount)| **amount == 0) {
        return Err(RuntimeError::ZeroDeposit(*asset));
    }
    Ok(())
}

/// One call of a contract instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractCall {
    /// The instance's address (not its code hash: instances of one code are distinct).
    pub contract: Hash,
    pub input: Vec<u8>,
    pub sender: Hash,
    pub tx_hash: Hash,
    /// Moved from `sender` to `contract` before the contract runs, all or none (part of the
    /// call's effects: a failed call moves none).
    pub deposits: Deposits,
    /// The sender's compute limit for this call; the node's budget is the ceiling (the call
    /// gets the smaller). `None`: the node's budget.
    pub compute_limit: Option<u64>,
    /// The sender's limit on the bytes of state the call may create
    /// ([`StateGrowth::created_bytes`]): a successful call that created more is refused with
    /// [`RuntimeError::CreatedBytesLimitExceeded`] and commits nothing. `None`: no limit.
    pub created_bytes_limit: Option<u64>,
}

impl ContractCall {
    pub fn new(contract: Hash, input: Vec<u8>) -> Self {
        ContractCall {
            contract,
            input,
            sender: Hash::default(),
            tx_hash: Hash::default(),
            deposits: Deposits::new(),
            compute_limit: None,
            created_bytes_limit: None,
        }
    }

    /// The compute budget the call runs with under a node budget of `node_budget`.
    pub fn effective_budget(&self, node_budget: u64) -> u64 {
        self.compute_limit
            .map_or(node_budget, |limit| limit.min(node_budget))
    }
}

/// How to run a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallConfig {
    pub engine: Engine,
    pub compute_budget: u64,
}

/// What a call produced.
#[derive(Debug)]
pub struct CallOutcome {
    /// The contract's status (0 = success) or why the VM stopped it.
    pub result: Result<u64, RuntimeError>,
    /// Everything charged: instructions, syscalls and cold code loads.
    pub compute_used: u64,
    /// The part of `compute_used` charged for cold code loads (the called contract's and
    /// those of nested calls; see [`crate::compute`]).
    pub code_load_units: u64,
    /// Kept whatever the result: they explain failures.
    pub logs: Vec<LogEntry>,
    /// The journal of a successful call (empty otherwise), in order; its entries are built
    /// when asked for ([`JournalLog::entries`]).
    pub journal: JournalLog,
    /// The net changes of a successful call (empty otherwise).
    pub changes: ChangeSet,
    /// The bytes of state `changes` create and free, per contract and for balances (empty
    /// unless the call succeeded).
    pub growth: StateGrowth,
    /// Events of a successful call (empty otherwise), in emission order.
    pub events: Vec<Event>,
    /// The last return data set during the call (kept on failure too: it may explain it).
    pub return_data: Option<ReturnData>,
}

impl CallOutcome {
    pub fn is_success(&self) -> bool {
        matches!(self.result, Ok(0))
    }
}

/// Moves every deposit of `call` from its sender to the contract, in asset order. The first
/// refusal (limits, insufficient balance, overflow) stops; the caller discards the journal.
fn move_deposits(context: &mut InvokeContext<'_>, call: &ContractCall) -> Result<(), RuntimeError> {
    check_deposits(&call.deposits)?;
    if !call.deposits.is_empty() {
        context.require_writable("a deposit")?;
    }
    for (asset, amount) in &call.deposits {
        context
            .journal
            .transfer(&call.sender, &call.contract, asset, *amount)
            .map_err(RuntimeError::from)?;
    }
    Ok(())
}

/// Runs `call` against `storage` without writing to it. `Err` means the call could not start
/// (unknown contract, invalid code) or the store failed at any point, before or while the
/// contract ran, nested calls included ([`RuntimeError::Backend`]: there is no outcome to
/// record). Everything the contract caused once it runs is in [`CallOutcome::result`], which
/// is never `Backend` — a budget too small for the code's cold load included
/// (`ComputeBudgetExceeded`, the whole budget used).
pub fn execute_call(
    cache: &ExecutableCache,
    call: &ContractCall,
    block: &BlockContext,
    storage: &dyn StorageProvider,
    config: CallConfig,
) -> Result<CallOutcome, RuntimeError> {
    run_call(cache, call, block, storage, config, false, None)
}

/// [`execute_call`] of a contract whose code's load the caller already charged (a deploy's
/// constructor: the deploy's units cover loading the new code): the first run of that code in
/// this call is warm.
pub fn execute_call_with_code_paid(
    cache: &ExecutableCache,
    call: &ContractCall,
    block: &BlockContext,
    storage: &dyn StorageProvider,
    config: CallConfig,
    paid_code: Hash,
) -> Result<CallOutcome, RuntimeError> {
    run_call(cache, call, block, storage, config, false, Some(paid_code))
}

/// [`execute_call`] as a read-only call (a query): any storage write or delete, transfer,
/// deposit, event, contract creation or value-carrying invoke fails at its syscall with
/// [`RuntimeError::WriteInReadOnlyCall`], so the outcome never holds a change.
pub fn execute_query(
    cache: &ExecutableCache,
    call: &ContractCall,
    block: &BlockContext,
    storage: &dyn StorageProvider,
    config: CallConfig,
) -> Result<CallOutcome, RuntimeError> {
    run_call(cache, call, block, storage, config, true, None)
}

fn run_call(
    cache: &ExecutableCache,
    call: &ContractCall,
    block: &BlockContext,
    storage: &dyn StorageProvider,
    config: CallConfig,
    read_only: bool,
    paid_code: Option<Hash>,
) -> Result<CallOutcome, RuntimeError> {
    let code_hash = storage
        .read_contract(&call.contract)?
        .ok_or(RuntimeError::ContractNotFound(call.contract))?
        .code_hash;
    let transaction = TransactionContext {
        hash: call.tx_hash,
        sender: call.sender,
    };
    let mut context = InvokeContext::new(
        Journal::new(storage).with_memory_limit(crate::limits::MAX_JOURNAL_BYTES_PER_INVOKE),
        block,
        &transaction,
        call.contract,
        call.effective_budget(config.compute_budget),
    );
    // Set in place: the builders would move the whole context at each step.
    context.set_programs(cache, config.engine);
    context.set_code_hash(code_hash);
    if !call.deposits.is_empty() {
        context.set_call_deposits(call.deposits.clone());
    }
    if read_only {
        context.set_read_only();
    }
    if let Some(code) = paid_code {
        context.prepay_code_load(code);
    }
    let programs = ProgramAccess {
        cache,
        engine: config.engine,
    };
    // The top-level call pays the cold load of its code like any first run in a transaction
    // (crate::compute), before the deposits move: a budget that cannot pay it runs nothing.
    // The deposits move before the contract runs, inside the same journal: a failed call
    // (including a deposit the sender cannot cover) moves none of them.
    let result = match context.load_code(programs, &call.contract, &code_hash) {
        Err(error @ RuntimeError::ComputeBudgetExceeded { .. }) => Err(error),
        Err(other) => return Err(other),
        Ok(executable) => match move_deposits(&mut context, call) {
            Ok(()) => {
                executor::execute(&executable, &call.input, &mut context, config.engine).result
            }
            Err(error) => Err(error),
        },
    };
    // The store failed under the contract: no outcome, no logs, no change set.
    let result = match result {
        Err(RuntimeError::Backend(error)) => return Err(RuntimeError::Backend(error)),
        other => other,
    };
    let compute_used = context.meter.used();
    let code_load_units = context.code_load_units();
    let finished = context.finish();
    // State growth is computed once, here, from the journal's final values (never on the
    // hot path); a call past the sender's limit on created bytes commits nothing.
    let (result, (changes, entries, growth)) = match result {
        Ok(0) => match (
            finished.journal.into_parts_with_growth(),
            call.created_bytes_limit,
        ) {
            ((_, _, growth), Some(limit)) if growth.created_bytes() > limit => (
                Err(RuntimeError::CreatedBytesLimitExceeded {
                    created: growth.created_bytes(),
                    limit,
                }),
                Default::default(),
            ),
            (parts, _) => (Ok(0), parts),
        },
        other => (other, Default::default()),
    };
    let success = matches!(result, Ok(0));
    Ok(CallOutcome {
        result,
        compute_used,
        code_load_units,
        logs: finished.logs,
        journal: entries,
        changes,
        growth,
        events: if success { finished.events } else { Vec::new() },
        return_data: finished.return_data,
    })
}
