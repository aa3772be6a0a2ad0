//! The state a running contract reaches through its syscalls.

use std::ptr::NonNull;

use solana_sbpf::{
    memory_region::{default_access_violation_handler, MemoryMapping},
    program::SBPFVersion,
    vm::{Config, ContextObject},
};
use tos_storage::{Hash, Journal};

use crate::{compute::ComputeMeter, error::RuntimeError, limits};

/// The block the call executes in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockContext {
    pub height: u64,
    pub hash: Hash,
    /// Seconds since the Unix epoch, as agreed by consensus (never the host clock).
    pub timestamp: u64,
}

/// The transaction that carries the call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionContext {
    pub hash: Hash,
    pub sender: Hash,
}

/// One `tos_log` message of the running contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub contract: Hash,
    pub message: String,
}

/// State of one contract call, handed to every syscall.
///
/// Implements solana-sbpf's [`ContextObject`]: the engine meters instructions through it and
/// finds the active memory mapping in it.
pub struct InvokeContext<'a> {
    pub journal: Journal<'a>,
    pub block: &'a BlockContext,
    pub transaction: &'a TransactionContext,
    /// Code hash of the running contract; its storage namespace and its account.
    pub contract: Hash,
    pub meter: ComputeMeter,
    logs: Vec<LogEntry>,
    log_bytes: usize,
    memory_mapping: MemoryMapping,
}

impl<'a> InvokeContext<'a> {
    pub fn new(
        journal: Journal<'a>,
        block: &'a BlockContext,
        transaction: &'a TransactionContext,
        contract: Hash,
        compute_budget: u64,
    ) -> Self {
        InvokeContext {
            journal,
            block,
            transaction,
            contract,
            meter: ComputeMeter::new(compute_budget),
            logs: Vec::new(),
            log_bytes: 0,
            memory_mapping: empty_mapping(),
        }
    }

    /// Charges a syscall's cost.
    pub fn charge(&mut self, amount: u64) -> Result<(), RuntimeError> {
        self.meter.charge(amount)
    }

    /// The guest memory of the running contract.
    pub fn memory(&self) -> &MemoryMapping {
        &self.memory_mapping
    }

    /// Installs the mapping the executor built; returns the previous one.
    pub(crate) fn swap_memory_mapping(&mut self, mapping: MemoryMapping) -> MemoryMapping {
        std::mem::replace(&mut self.memory_mapping, mapping)
    }

    /// Records a log line; enforces the per-invoke log budget.
    pub fn push_log(&mut self, message: String) -> Result<(), LogLimitExceeded> {
        let total = self.log_bytes.saturating_add(message.len());
        if total > limits::MAX_LOG_BYTES_PER_INVOKE {
            return Err(LogLimitExceeded {
                limit: limits::MAX_LOG_BYTES_PER_INVOKE,
            });
        }
        self.log_bytes = total;
        self.logs.push(LogEntry {
            contract: self.contract,
            message,
        });
        Ok(())
    }

    pub fn logs(&self) -> &[LogEntry] {
        &self.logs
    }

    /// Ends the call: hands back the journal (effects) and the logs.
    pub fn finish(self) -> (Journal<'a>, Vec<LogEntry>) {
        (self.journal, self.logs)
    }
}

/// The invoke already wrote [`limits::MAX_LOG_BYTES_PER_INVOKE`] bytes of logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimitExceeded {
    pub limit: usize,
}

impl ContextObject for InvokeContext<'_> {
    fn consume(&mut self, amount: u64) {
        self.meter.consume(amount)
    }

    fn get_remaining(&self) -> u64 {
        self.meter.remaining()
    }

    fn active_mapping_ptr(&mut self) -> NonNull<MemoryMapping> {
        NonNull::from(&mut self.memory_mapping)
    }
}

/// A mapping with no regions: every access through it faults. Used outside of execution so the
/// context never points at memory that is gone.
fn empty_mapping() -> MemoryMapping {
    let config = Config::default();
    // SAFETY: no regions, so no host memory is referenced. The default handler refuses every
    // access. An empty region list always initializes.
    unsafe {
        let mut mapping = MemoryMapping::new_uninitialized(
            Vec::new(),
            &config,
            SBPFVersion::V3,
            Box::new(default_access_violation_handler),
        );
        let _ = mapping.initialize();
        mapping
    }
}
