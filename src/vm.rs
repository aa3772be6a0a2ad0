//! Deploy and invoke: the whole path from an ELF in the store to committed effects.

use std::{collections::HashMap, sync::Arc};

use parking_lot::Mutex;
use tos_program_runtime::{
    executor::{self, RuntimeEnvironment, TosExecutable},
    limits::DEFAULT_COMPUTE_BUDGET,
    BlockContext, Engine, InvokeContext, LogEntry, TransactionContext,
};
use tos_storage::{ChangeSet, Hash, Journal, StorageProvider};

use crate::{effects::Effects, error::VmError};

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

/// One call of a deployed contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractCall {
    pub contract: Hash,
    pub input: Vec<u8>,
    pub sender: Hash,
    pub tx_hash: Hash,
}

impl ContractCall {
    pub fn new(contract: Hash, input: Vec<u8>) -> Self {
        ContractCall {
            contract,
            input,
            sender: Hash::default(),
            tx_hash: Hash::default(),
        }
    }
}

/// How a call ended.
#[derive(Debug)]
pub enum InvokeStatus {
    /// The contract returned 0; its effects are valid.
    Success,
    /// The contract returned a non-zero status; its effects were discarded.
    Failed { code: u64 },
    /// The VM stopped the contract (syscall error, fault, compute exhausted); effects discarded.
    Aborted(VmError),
}

impl InvokeStatus {
    pub fn is_success(&self) -> bool {
        matches!(self, InvokeStatus::Success)
    }
}

/// Everything a call produced.
#[derive(Debug)]
pub struct InvokeOutcome {
    pub status: InvokeStatus,
    pub compute_used: u64,
    /// Logs are kept whatever the status: they explain failures.
    pub logs: Vec<LogEntry>,
    /// Net effects; empty unless the call succeeded.
    pub effects: Effects,
    /// The change set to commit; empty unless the call succeeded.
    pub changes: ChangeSet,
}

/// The contract id: blake3 of the ELF bytes.
pub fn code_hash(elf: &[u8]) -> Hash {
    Hash(*blake3::hash(elf).as_bytes())
}

/// Deploys and runs contracts. Executables are loaded (and JIT-compiled) once per code hash.
pub struct Vm {
    config: VmConfig,
    environment: RuntimeEnvironment,
    executables: Mutex<HashMap<(Hash, Engine), Arc<TosExecutable>>>,
}

impl Vm {
    pub fn new(config: VmConfig) -> Self {
        Vm {
            config,
            environment: tos_syscalls::runtime_environment(),
            executables: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &VmConfig {
        &self.config
    }

    /// Validates, loads and verifies an ELF (compiling it for the JIT) without storing it.
    pub fn check(&self, elf: &[u8]) -> Result<Hash, VmError> {
        let hash = code_hash(elf);
        self.executable(hash, elf)?;
        Ok(hash)
    }

    /// Validates `elf` and stores it under its code hash, which it returns.
    pub fn deploy(&self, elf: &[u8], storage: &mut dyn StorageProvider) -> Result<Hash, VmError> {
        let hash = self.check(elf)?;
        if storage.read_code(&hash)?.is_none() {
            let mut changes = ChangeSet::default();
            changes.deploy_code(hash, elf.to_vec());
            storage.commit(&changes)?;
        }
        Ok(hash)
    }

    fn executable(&self, hash: Hash, elf: &[u8]) -> Result<Arc<TosExecutable>, VmError> {
        let key = (hash, self.config.engine);
        if let Some(found) = self.executables.lock().get(&key) {
            return Ok(found.clone());
        }
        let loaded = Arc::new(executor::load_executable(
            elf,
            self.environment.clone(),
            self.config.engine,
        )?);
        self.executables.lock().insert(key, loaded.clone());
        Ok(loaded)
    }

    /// Runs a call without committing: the outcome carries the change set.
    pub fn execute(
        &self,
        call: &ContractCall,
        block: &BlockContext,
        storage: &dyn StorageProvider,
    ) -> Result<InvokeOutcome, VmError> {
        let elf = storage
            .read_code(&call.contract)?
            .ok_or(VmError::ContractNotFound(call.contract))?;
        let executable = self.executable(call.contract, &elf)?;
        let transaction = TransactionContext {
            hash: call.tx_hash,
            sender: call.sender,
        };
        let mut context = InvokeContext::new(
            Journal::new(storage),
            block,
            &transaction,
            call.contract,
            self.config.compute_budget,
        );
        let execution =
            executor::execute(&executable, &call.input, &mut context, self.config.engine);
        let (journal, logs) = context.finish();
        let status = match execution.result {
            Ok(0) => InvokeStatus::Success,
            Ok(code) => InvokeStatus::Failed { code },
            Err(error) => InvokeStatus::Aborted(VmError::from(error)),
        };
        let (effects, changes) = if status.is_success() {
            let effects = Effects::from_journal(journal.entries());
            (effects, journal.into_change_set())
        } else {
            (Effects::default(), ChangeSet::default())
        };
        Ok(InvokeOutcome {
            status,
            compute_used: execution.compute_used,
            logs,
            effects,
            changes,
        })
    }

    /// Runs a call and, if it succeeded, commits its effects atomically.
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
