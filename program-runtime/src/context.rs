//! The state a running contract reaches through its syscalls.

use std::ptr::NonNull;

use solana_sbpf::{
    memory_region::{default_access_violation_handler, MemoryMapping},
    program::SBPFVersion,
    vm::{Config, ContextObject},
};
use tos_storage::{Hash, Journal};

use crate::{
    cache::ExecutableCache, compute::ComputeMeter, error::RuntimeError, executor::Engine, limits,
};

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

/// One contract on the call stack of an invoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// The running contract's address: its storage namespace and its account.
    pub contract: Hash,
    /// The code the running contract runs (shared by every instance of it).
    pub code_hash: Hash,
    /// Who called it: the transaction sender for the first frame, else the calling contract.
    pub caller: Hash,
    /// Native amount the caller sent with the call (already credited to `contract`).
    pub value: u64,
}

/// A structured event a contract emitted (`tos_emit_event`), kept only if its frame succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub contract: Hash,
    pub topic: Vec<u8>,
    pub data: Vec<u8>,
}

/// The last `tos_set_return_data` of the invoke and the contract that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnData {
    pub contract: Hash,
    pub data: Vec<u8>,
}

/// Where nested calls (`tos_invoke`) find the executables of other contracts.
#[derive(Clone, Copy)]
pub struct ProgramAccess<'a> {
    pub cache: &'a ExecutableCache,
    pub engine: Engine,
}

/// What an invoke leaves behind once it has run.
pub struct FinishedInvoke<'a> {
    pub journal: Journal<'a>,
    pub logs: Vec<LogEntry>,
    pub events: Vec<Event>,
    pub return_data: Option<ReturnData>,
}

/// State of one contract call, handed to every syscall.
///
/// Implements solana-sbpf's [`ContextObject`]: the engine meters instructions through it and
/// finds the active memory mapping in it. Nested calls (`tos_invoke`) reuse the same context:
/// they push a [`Frame`], swap in the callee's memory mapping and share the compute meter.
pub struct InvokeContext<'a> {
    pub journal: Journal<'a>,
    pub block: &'a BlockContext,
    pub transaction: &'a TransactionContext,
    /// Address of the running contract (the innermost frame's): its storage namespace and its
    /// account.
    pub contract: Hash,
    pub meter: ComputeMeter,
    /// The transaction's call: the bottom of the call stack, kept inline (no allocation for
    /// a call that calls nothing).
    first_frame: Frame,
    /// Nested calls above `first_frame`, innermost last.
    frames: Vec<Frame>,
    logs: Vec<LogEntry>,
    log_bytes: usize,
    events: Vec<Event>,
    event_bytes: usize,
    return_data: Option<ReturnData>,
    programs: Option<ProgramAccess<'a>>,
    memory_mapping: MemoryMapping,
    /// The deposits of the transaction's call (the first frame), by asset.
    call_deposits: crate::Deposits,
    /// A query: every writing syscall fails ([`InvokeContext::require_writable`]).
    read_only: bool,
    /// Codes this transaction already paid the cold code load of (see
    /// [`crate::compute`]): later runs of them are warm.
    warm_code: WarmCode,
    /// Units charged for cold code loads so far (part of the compute used).
    code_load_units: u64,
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
            first_frame: Frame {
                contract,
                code_hash: Hash::default(),
                caller: transaction.sender,
                value: 0,
            },
            frames: Vec::new(),
            logs: Vec::new(),
            log_bytes: 0,
            events: Vec::new(),
            event_bytes: 0,
            return_data: None,
            programs: None,
            memory_mapping: empty_mapping(),
            call_deposits: crate::Deposits::new(),
            warm_code: WarmCode::default(),
            code_load_units: 0,
            read_only: false,
        }
    }

    /// Makes the call read-only (a query): every syscall that would write state, move value,
    /// emit an event or create a contract fails with [`RuntimeError::WriteInReadOnlyCall`]
    /// before it does anything, nested calls included (they share this context).
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// [`read_only`](Self::read_only) in place.
    pub(crate) fn set_read_only(&mut self) {
        self.read_only = true;
    }

    /// Whether this is a read-only call.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The check every writing syscall makes first: `Err` in a read-only call.
    pub fn require_writable(&self, operation: &'static str) -> Result<(), RuntimeError> {
        if self.read_only {
            Err(RuntimeError::WriteInReadOnlyCall { operation })
        } else {
            Ok(())
        }
    }

    /// Lets the contract call other contracts, loading them through `cache`.
    pub fn with_programs(mut self, cache: &'a ExecutableCache, engine: Engine) -> Self {
        self.set_programs(cache, engine);
        self
    }

    /// [`with_programs`](Self::with_programs) in place (a context is large: the builders
    /// move all of it).
    pub(crate) fn set_programs(&mut self, cache: &'a ExecutableCache, engine: Engine) {
        self.programs = Some(ProgramAccess { cache, engine });
    }

    /// Records the code hash the first frame runs.
    pub fn with_code_hash(mut self, code_hash: Hash) -> Self {
        self.set_code_hash(code_hash);
        self
    }

    /// [`with_code_hash`](Self::with_code_hash) in place.
    pub(crate) fn set_code_hash(&mut self, code_hash: Hash) {
        self.first_frame.code_hash = code_hash;
    }

    /// Records the deposits the transaction sent to the first frame (its native deposit is
    /// the frame's `value`).
    pub fn with_call_deposits(mut self, deposits: crate::Deposits) -> Self {
        self.set_call_deposits(deposits);
        self
    }

    /// [`with_call_deposits`](Self::with_call_deposits) in place.
    pub(crate) fn set_call_deposits(&mut self, deposits: crate::Deposits) {
        self.first_frame.value = deposits
            .get(&tos_storage::NATIVE_ASSET)
            .copied()
            .unwrap_or(0);
        self.call_deposits = deposits;
    }

    /// The deposits of the running frame, by asset: the transaction's for the first frame; a
    /// nested call carries only the native value its caller sent.
    pub fn deposits(&self) -> std::borrow::Cow<'_, crate::Deposits> {
        if self.frames.is_empty() {
            return std::borrow::Cow::Borrowed(&self.call_deposits);
        }
        std::borrow::Cow::Owned(crate::invoke::native_deposit(self.frame().value))
    }

    pub fn programs(&self) -> Option<ProgramAccess<'a>> {
        self.programs
    }

    /// Charges a syscall's cost.
    pub fn charge(&mut self, amount: u64) -> Result<(), RuntimeError> {
        self.meter.charge(amount)
    }

    /// Charges the cold code load of `code_hash`, of `load_size` loaded bytes, unless this
    /// transaction already ran that code ([`crate::compute::code_load_cost`]; the same on every
    /// node, whatever its executable cache holds). The code is warm afterwards.
    pub fn charge_code_load(
        &mut self,
        code_hash: &Hash,
        load_size: usize,
    ) -> Result<(), RuntimeError> {
        if self.warm_code.contains(code_hash) {
            return Ok(());
        }
        let cost = crate::compute::code_load_cost(load_size);
        self.meter.charge(cost)?;
        self.warm_code.insert(*code_hash);
        self.code_load_units = self.code_load_units.saturating_add(cost);
        Ok(())
    }

    /// Marks `code_hash` warm without charging it: its load was paid otherwise (a deploy's
    /// units cover loading the code its constructor runs).
    pub fn prepay_code_load(&mut self, code_hash: Hash) {
        self.warm_code.insert(code_hash);
    }

    /// Whether this transaction already paid the code load of `code_hash`.
    pub fn is_code_warm(&self, code_hash: &Hash) -> bool {
        self.warm_code.contains(code_hash)
    }

    /// Units charged for cold code loads so far (included in the compute used).
    pub fn code_load_units(&self) -> u64 {
        self.code_load_units
    }

    /// The executable of `code_hash` (run by the instance `address`) through the cache,
    /// charging its cold code load first ([`charge_code_load`](Self::charge_code_load)).
    pub fn load_code(
        &mut self,
        programs: ProgramAccess<'_>,
        address: &Hash,
        code_hash: &Hash,
    ) -> Result<std::sync::Arc<crate::TosExecutable>, RuntimeError> {
        let storage = self.journal.provider();
        programs.cache.load_code_metered(
            storage,
            address,
            code_hash,
            programs.engine,
            |load_size| self.charge_code_load(code_hash, load_size),
        )
    }

    /// The guest memory of the running contract.
    pub fn memory(&mut self) -> &mut MemoryMapping {
        &mut self.memory_mapping
    }

    /// The journal and the guest memory at once, so a syscall can copy a value the journal
    /// holds straight into guest memory.
    pub fn journal_and_memory(&mut self) -> (&mut Journal<'a>, &mut MemoryMapping) {
        (&mut self.journal, &mut self.memory_mapping)
    }

    /// The journal, the guest memory and the compute meter at once: a syscall can charge for
    /// a value the journal holds before copying it into guest memory, with one lookup.
    pub fn journal_memory_and_meter(
        &mut self,
    ) -> (&mut Journal<'a>, &mut MemoryMapping, &mut ComputeMeter) {
        (&mut self.journal, &mut self.memory_mapping, &mut self.meter)
    }

    /// Installs the mapping the executor built; returns the previous one.
    pub(crate) fn swap_memory_mapping(&mut self, mapping: MemoryMapping) -> MemoryMapping {
        std::mem::replace(&mut self.memory_mapping, mapping)
    }

    /// The innermost frame.
    pub fn frame(&self) -> Frame {
        self.frames.last().copied().unwrap_or(self.first_frame)
    }

    /// Number of contracts on the call stack (1 for a top-level call).
    pub fn depth(&self) -> usize {
        1 + self.frames.len()
    }

    /// Whether `contract` is already running somewhere on the call stack.
    pub fn is_on_stack(&self, contract: &Hash) -> bool {
        self.first_frame.contract == *contract
            || self.frames.iter().any(|frame| frame.contract == *contract)
    }

    /// Enters a nested call.
    pub fn push_frame(&mut self, frame: Frame) {
        self.contract = frame.contract;
        self.frames.push(frame);
    }

    /// Leaves a nested call; the first frame is never popped.
    pub fn pop_frame(&mut self) {
        self.frames.pop();
        self.contract = self.frame().contract;
    }

    /// Records a log line; enforces the per-invoke log budget (bytes and entries).
    pub fn push_log(&mut self, message: String) -> Result<(), LogLimitExceeded> {
        let total = self.log_bytes.saturating_add(message.len());
        if total > limits::MAX_LOG_BYTES_PER_INVOKE {
            return Err(LogLimitExceeded::Bytes {
                limit: limits::MAX_LOG_BYTES_PER_INVOKE,
            });
        }
        if self.logs.len() >= limits::MAX_LOG_ENTRIES_PER_INVOKE {
            return Err(LogLimitExceeded::Entries {
                limit: limits::MAX_LOG_ENTRIES_PER_INVOKE,
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

    /// Records an event of the running contract; enforces the per-invoke event budget.
    pub fn push_event(&mut self, topic: Vec<u8>, data: Vec<u8>) -> Result<(), EventLimitExceeded> {
        let total = self
            .event_bytes
            .saturating_add(topic.len())
            .saturating_add(data.len());
        if self.events.len() >= limits::MAX_EVENTS_PER_INVOKE
            || total > limits::MAX_EVENT_BYTES_PER_INVOKE
        {
            return Err(EventLimitExceeded);
        }
        self.event_bytes = total;
        self.events.push(Event {
            contract: self.contract,
            topic,
            data,
        });
        Ok(())
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Drops the events of a reverted frame (those after the first `keep`).
    pub fn truncate_events(&mut self, keep: usize) {
        for event in self.events.drain(keep.min(self.events.len())..) {
            self.event_bytes = self
                .event_bytes
                .saturating_sub(event.topic.len() + event.data.len());
        }
    }

    pub fn set_return_data(&mut self, data: Vec<u8>) {
        self.return_data = Some(ReturnData {
            contract: self.contract,
            data,
        });
    }

    pub fn clear_return_data(&mut self) {
        self.return_data = None;
    }

    pub fn return_data(&self) -> Option<&ReturnData> {
        self.return_data.as_ref()
    }

    /// Ends the invoke: hands back the journal (effects), logs, events and return data.
    pub fn finish(self) -> FinishedInvoke<'a> {
        FinishedInvoke {
            journal: self.journal,
            logs: self.logs,
            events: self.events,
            return_data: self.return_data,
        }
    }
}

/// The codes a transaction already paid the cold load of. Most transactions run one code: it
/// is kept inline, and a set is built only for the second.
#[derive(Debug, Default)]
struct WarmCode {
    first: Option<Hash>,
    others: std::collections::BTreeSet<Hash>,
}

impl WarmCode {
    fn contains(&self, code_hash: &Hash) -> bool {
        self.first.as_ref() == Some(code_hash) || self.others.contains(code_hash)
    }

    fn insert(&mut self, code_hash: Hash) {
        match self.first {
            None => self.first = Some(code_hash),
            Some(first) if first == code_hash => {}
            Some(_) => {
                self.others.insert(code_hash);
            }
        }
    }
}

/// The invoke already emitted [`limits::MAX_EVENTS_PER_INVOKE`] events or
/// [`limits::MAX_EVENT_BYTES_PER_INVOKE`] bytes of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventLimitExceeded;

/// The invoke already wrote [`limits::MAX_LOG_BYTES_PER_INVOKE`] bytes of logs or
/// [`limits::MAX_LOG_ENTRIES_PER_INVOKE`] messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLimitExceeded {
    Bytes { limit: usize },
    Entries { limit: usize },
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
    // The aligned kind: with no regions it is built and initialized without allocating or
    // sorting anything (the unaligned kind's lookup tables cost ~500 instructions per call).
    let config = Config {
        aligned_memory_mapping: true,
        ..Config::default()
    };
    // SAFETY: no regions, so no host memory is referenced. The default handler refuses every
    // access.
    let mut mapping = unsafe {
        MemoryMapping::new_uninitialized(
            Vec::new(),
            &config,
            SBPFVersion::V3,
            Box::new(default_access_violation_handler),
        )
    };
    // An empty region list has nothing to sort or overlap: initializing it cannot fail, and the
    // test below checks that it does not.
    if mapping.initialize().is_err() {
        unreachable!("an empty memory mapping always initializes");
    }
    mapping
}

#[cfg(test)]
mod tests {
    use super::*;
    use solana_sbpf::{ebpf, memory_region::AccessType};

    #[test]
    fn the_empty_mapping_initializes_and_refuses_every_access() {
        let mapping = empty_mapping();
        for address in [
            0,
            ebpf::MM_STACK_START,
            ebpf::MM_HEAP_START,
            ebpf::MM_INPUT_START,
        ] {
            assert!(mapping.map(AccessType::Load, address, 1).is_err());
            assert!(mapping.map(AccessType::Store, address, 1).is_err());
        }
    }
}
