//! One contract call from start to end: find the code, load it (cached), run it against a
//! journal over the store, and hand back status, compute, logs and — only on success — the
//! change set. Nothing is written to the store here; the caller commits.

use tos_storage::{ChangeSet, Hash, Journal, JournalEntry, StorageProvider, NATIVE_ASSET};

use crate::{
    cache::ExecutableCache,
    context::{BlockContext, Event, InvokeContext, LogEntry, ReturnData, TransactionContext},
    error::RuntimeError,
    executor::{self, Engine},
};

/// One call of a contract instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractCall {
    /// The instance's address (not its code hash: instances of one code are distinct).
    pub contract: Hash,
    pub input: Vec<u8>,
    pub sender: Hash,
    pub tx_hash: Hash,
    /// Native amount moved from `sender` to `contract` before the contract runs (part of the
    /// call's effects: a failed call does not move it).
    pub value: u64,
}

impl ContractCall {
    pub fn new(contract: Hash, input: Vec<u8>) -> Self {
        ContractCall {
            contract,
            input,
            sender: Hash::default(),
            tx_hash: Hash::default(),
            value: 0,
        }
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
    pub compute_used: u64,
    /// Kept whatever the result: they explain failures.
    pub logs: Vec<LogEntry>,
    /// The journal of a successful call (empty otherwise), in order.
    pub journal: Vec<JournalEntry>,
    /// The net changes of a successful call (empty otherwise).
    pub changes: ChangeSet,
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

/// Runs `call` against `storage` without writing to it. `Err` means the call could not start
/// (unknown contract, invalid code, unreadable store); everything that happens once the
/// contract runs is in [`CallOutcome::result`].
pub fn execute_call(
    cache: &ExecutableCache,
    call: &ContractCall,
    block: &BlockContext,
    storage: &dyn StorageProvider,
    config: CallConfig,
) -> Result<CallOutcome, RuntimeError> {
    let (executable, _code_hash) = cache
        .load_contract(storage, &call.contract, config.engine)?
        .ok_or(RuntimeError::ContractNotFound(call.contract))?;
    let transaction = TransactionContext {
        hash: call.tx_hash,
        sender: call.sender,
    };
    let mut context = InvokeContext::new(
        Journal::new(storage),
        block,
        &transaction,
        call.contract,
        config.compute_budget,
    )
    .with_programs(cache, config.engine)
    .with_call_value(call.value);
    // The value moves before the contract runs, inside the same journal: a failed call
    // does not move it.
    let execution = match call.value {
        0 => executor::execute(&executable, &call.input, &mut context, config.engine),
        value => match context
            .journal
            .transfer(&call.sender, &call.contract, &NATIVE_ASSET, value)
        {
            Ok(()) => executor::execute(&executable, &call.input, &mut context, config.engine),
            Err(error) => executor::ExecutionOutcome {
                result: Err(RuntimeError::State(error)),
                compute_used: 0,
            },
        },
    };
    let finished = context.finish();
    let success = matches!(execution.result, Ok(0));
    let (changes, entries) = if success {
        finished.journal.into_parts()
    } else {
        (ChangeSet::default(), Vec::new())
    };
    Ok(CallOutcome {
        result: execution.result,
        compute_used: execution.compute_used,
        logs: finished.logs,
        journal: entries,
        changes,
        events: if success { finished.events } else { Vec::new() },
        return_data: finished.return_data,
    })
}
