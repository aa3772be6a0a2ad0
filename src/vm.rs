//! Deploy and invoke: the whole path from an ELF in the store to committed effects.

use tos_program_runtime::{
    execute_call, execute_call_with_code_paid, execute_query, limits::DEFAULT_COMPUTE_BUDGET,
    limits::MAX_COMPUTE_BUDGET, BlockContext, CacheStats, CallConfig, Engine, Event,
    ExecutableCache, LogEntry, ReturnData, DEFAULT_CACHE_BUDGET,
};
use tos_storage::{ChangeSet, Hash, StorageProvider};

pub use tos_program_runtime::{code_hash, create_address, deploy_address, ContractCall};

use tos_program_runtime::LazyEffects;

use crate::error::{AbortReason, VmError};

/// How the VM runs contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmConfig {
    pub engine: Engine,
    pub compute_budget: u64,
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig {
            engine: Engine::Jit,
            compute_budget: DEFAULT_COMPUTE_BUDGET,
        }
    }
}

/// How a call ended: the contract's verdict, the same on every node. A failure of the store
/// is never a status (it is `Err(VmError::Backend)`, with no outcome).
#[derive(Debug)]
pub enum InvokeStatus {
    /// The contract returned 0; its effects are valid.
    Success,
    /// The contract returned a non-zero status; its effects were discarded.
    Failed { code: u64 },
    /// The VM stopped the contract (syscall error, fault, compute exhausted); effects discarded.
    Aborted(AbortReason),
}

impl InvokeStatus {
    pub fn is_success(&self) -> bool {
        matches!(self, InvokeStatus::Success)
    }

    /// The status of a finished run; a store failure is no status but the caller's `Err`
    /// (`execute_call` already returns it so; kept out of the statuses here too, by type).
    fn of_run(
        result: Result<u64, tos_program_runtime::RuntimeError>,
    ) -> Result<InvokeStatus, VmError> {
        Ok(match result {
            Ok(0) => InvokeStatus::Success,
            Ok(code) => InvokeStatus::Failed { code },
            Err(error) => match AbortReason::from_runtime(error) {
                Ok(reason) => InvokeStatus::Aborted(reason),
                Err(store) => return Err(VmError::Backend(store)),
            },
        })
    }
}

/// Everything a call produced.
#[derive(Debug)]
pub struct InvokeOutcome {
    pub status: InvokeStatus,
    /// Everything the call was charged: instructions, syscalls and cold code loads.
    pub compute_used: u64,
    /// The part of `compute_used` charged for loading code the transaction ran for the first
    /// time (the same on every node, whatever its executable cache holds; see
    /// docs/compute-units.md).
    pub code_load_units: u64,
    /// Logs are kept whatever the status: they explain failures.
    pub logs: Vec<LogEntry>,
    /// Net effects (hex, for people and APIs); empty unless the call succeeded. Built on first
    /// access: committing `changes` never pays for them.
    pub effects: LazyEffects,
    /// The change set to commit; empty unless the call succeeded.
    pub changes: ChangeSet,
    /// The bytes of state `changes` create and free, per contract, for balances (and code):
    /// what a chain charges a storage deposit from (docs/embedding.md). Empty unless the call
    /// succeeded.
    pub growth: tos_storage::StateGrowth,
    /// Events of a successful call, in emission order.
    pub events: Vec<Event>,
    /// The last return data set during the call, and by which contract.
    pub return_data: Option<ReturnData>,
}

/// What a read-only call ([`Vm::query`]) produced. A query changes nothing, so there are no
/// effects or events to report.
#[derive(Debug)]
pub struct QueryOutcome {
    /// `Success` with the answer in `return_data`, the contract's failure status, or why the
    /// VM stopped it: a write attempt stops it with
    /// [`RuntimeError::WriteInReadOnlyCall`](tos_program_runtime::RuntimeError::WriteInReadOnlyCall).
    pub status: InvokeStatus,
    pub compute_used: u64,
    pub logs: Vec<LogEntry>,
    /// The last return data set during the call, and by which contract.
    pub return_data: Option<ReturnData>,
}

/// Deploys and runs contracts. Executables are loaded (and JIT-compiled) once per code hash
/// and kept in a bounded cache ([`Vm::cache_stats`]).
///
/// `Send + Sync`: a node builds one `Vm` and shares it (by reference or `Arc`) with every
/// thread that executes calls; each call runs on its caller's thread with its own journal.
pub struct Vm {
    config: VmConfig,
    cache: ExecutableCache,
}

// The chain shares one `Vm` between its block-execution threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Vm>();
};

impl Vm {
    /// A VM whose executable cache holds up to [`DEFAULT_CACHE_BUDGET`] bytes.
    pub fn new(config: VmConfig) -> Self {
        Self::with_cache_budget(config, DEFAULT_CACHE_BUDGET)
    }

    /// A VM whose executable cache holds up to `budget` bytes of loaded (and compiled)
    /// executables, evicting the least recently used first.
    pub fn with_cache_budget(config: VmConfig, budget: usize) -> Self {
        Vm {
            config,
            cache: ExecutableCache::with_budget(tos_syscalls::runtime_environment(), budget),
        }
    }

    /// The executable cache (shared by every call of this VM, on every thread).
    pub fn cache(&self) -> &ExecutableCache {
        &self.cache
    }

    /// Hits, misses, evictions, entries and bytes of the executable cache, for metrics.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    pub fn config(&self) -> &VmConfig {
        &self.config
    }

    /// Validates, loads and verifies an ELF (compiling it for the JIT) without storing it.
    pub fn check(&self, elf: &[u8]) -> Result<Hash, VmError> {
        let hash = code_hash(elf);
        self.cache.get_or_load(hash, elf, self.config.engine)?;
        Ok(hash)
    }

    /// Validates `elf` and stores it under its code hash (once: code is shared by every
    /// instance), returning the code hash. Creates no contract instance.
    pub fn deploy_code(
        &self,
        elf: &[u8],
        storage: &mut dyn StorageProvider,
    ) -> Result<Hash, VmError> {
        let hash = self.check(elf)?;
        if !storage.has_code(&hash)? {
            let mut changes = ChangeSet::default();
            changes.deploy_code(hash, elf.to_vec());
            storage.commit(&changes)?;
        }
        Ok(hash)
    }

    /// Validates `elf` and creates a contract instance running it at `address` (storing the
    /// code if it is not stored yet), without constructor, and commits it. The outcome names
    /// the contract and what the deploy cost
    /// ([`deploy_units`](crate::DeployOutcome::deploy_units)). The address comes from the
    /// caller: the chain's rule, or [`deploy_address`] for local blocks. Refused with
    /// [`DeployError::AddressTaken`](crate::DeployError::AddressTaken) when an instance
    /// already lives at `address`; a refusal stores nothing and carries its cost
    /// ([`VmError::deploy_units`]).
    pub fn deploy(
        &self,
        elf: &[u8],
        address: Hash,
        storage: &mut dyn StorageProvider,
    ) -> Result<crate::DeployOutcome, VmError> {
        self.deploy_contract(
            &crate::DeployContractPayload::new(elf.to_vec()),
            address,
            &tos_program_runtime::TransactionContext::default(),
            &BlockContext::default(),
            storage,
        )
    }

    /// Runs a call without committing: the outcome carries the change set.
    ///
    /// `Err(VmError::Backend)` when the store failed at any point of the call (loading the
    /// code, a syscall's read, a nested call's): there is no outcome then, only the store's
    /// error. Every other `Err` means the call could not start (unknown contract, invalid
    /// code); what the contract did is in the outcome's status.
    pub fn execute(
        &self,
        call: &ContractCall,
        block: &BlockContext,
        storage: &dyn StorageProvider,
    ) -> Result<InvokeOutcome, VmError> {
        self.execute_paid(call, block, storage, None)
    }

    /// [`execute`](Self::execute); with `paid_code`, the load of that code is warm (a deploy's
    /// constructor: the deploy's units paid for loading it).
    pub(crate) fn execute_paid(
        &self,
        call: &ContractCall,
        block: &BlockContext,
        storage: &dyn StorageProvider,
        paid_code: Option<Hash>,
    ) -> Result<InvokeOutcome, VmError> {
        let config = CallConfig {
            engine: self.config.engine,
            compute_budget: self.config.compute_budget,
        };
        let outcome = match paid_code {
            None => execute_call(&self.cache, call, block, storage, config)?,
            Some(code) => {
                execute_call_with_code_paid(&self.cache, call, block, storage, config, code)?
            }
        };
        let status = InvokeStatus::of_run(outcome.result)?;
        Ok(InvokeOutcome {
            status,
            compute_used: outcome.compute_used,
            code_load_units: outcome.code_load_units,
            logs: outcome.logs,
            effects: LazyEffects::new(outcome.journal),
            changes: outcome.changes,
            growth: outcome.growth,
            events: outcome.events,
            return_data: outcome.return_data,
        })
    }

    /// Runs a read-only call for an RPC or a tool: `storage` is read at its current state (pass
    /// `store.at(height)?` to read a sealed height of a versioned store), nothing is committed
    /// and no block is made. Every writing syscall — storage write or delete, transfer, event,
    /// contract creation, an invoke carrying value — fails with
    /// [`RuntimeError::WriteInReadOnlyCall`](tos_program_runtime::RuntimeError::WriteInReadOnlyCall)
    /// and changes nothing; a `call` carrying deposits fails the same way before the contract
    /// runs. `compute_budget` (capped at `MAX_COMPUTE_BUDGET`) replaces the VM's own budget,
    /// lowered further by the call's `compute_limit` if it has one.
    pub fn query(
        &self,
        storage: &dyn StorageProvider,
        call: &ContractCall,
        block: &BlockContext,
        compute_budget: u64,
    ) -> Result<QueryOutcome, VmError> {
        let config = CallConfig {
            engine: self.config.engine,
            compute_budget: compute_budget.min(MAX_COMPUTE_BUDGET),
        };
        let outcome = execute_query(&self.cache, call, block, storage, config)?;
        let status = InvokeStatus::of_run(outcome.result)?;
        Ok(QueryOutcome {
            status,
            compute_used: outcome.compute_used,
            logs: outcome.logs,
            return_data: outcome.return_data,
        })
    }

    /// Runs a call and, if it succeeded, commits its effects atomically. A store failure
    /// while running or committing is `Err(VmError::Backend)` and commits nothing.
    pub fn invoke(
        &self,
        call: &ContractCall,
        block: &BlockContext,
        storage: &mut dyn StorageProvider,
    ) -> Result<InvokeOutcome, VmError> {
        let outcome = self.execute(call, block, storage)?;
        if outcome.status.is_success() && !outcome.changes.is_empty() {
            storage.commit(&outcome.changes)?;
        }
        Ok(outcome)
    }
}
