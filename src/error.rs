use thiserror::Error;
use tos_loader::LoaderError;
use tos_program_runtime::RuntimeError;
use tos_storage::{Hash, StorageError};
use tos_syscalls::SyscallError;

use crate::payload::DeployError;

/// Why a deploy, an invoke or a block did not produce an outcome.
///
/// Two kinds, and a node treats them differently (see `docs/embedding.md`):
///
/// * [`VmError::Backend`]: **the store failed** (I/O, database, corruption), before or while
///   the contract ran, in a nested call too. The state is unknown and nothing was committed:
///   the node must retry or halt, and must not record the transaction as failed.
///   [`VmError::is_backend`] tells it apart.
/// * everything else: **the transaction is refused** (unknown contract, invalid code, a refused
///   deploy, a sealed height): deterministic, the same on every node.
///
/// What a running contract causes (a non-zero status, a fault, compute exhaustion, a refused
/// syscall) is not an error of the API but an outcome: [`InvokeStatus::Failed`] or
/// [`InvokeStatus::Aborted`] with an [`AbortReason`], which has no store failure in it.
///
/// [`InvokeStatus::Failed`]: crate::InvokeStatus::Failed
/// [`InvokeStatus::Aborted`]: crate::InvokeStatus::Aborted
#[derive(Debug, Error)]
pub enum VmError {
    /// The store failed ([`StorageError::is_backend`]): no outcome, nothing committed.
    #[error("the store failed: {0}")]
    Backend(StorageError),
    #[error("invalid executable: {0}")]
    Loader(#[from] LoaderError),
    #[error(transparent)]
    Runtime(RuntimeError),
    /// A state operation was refused (never a failure of the store: that is `Backend`), e.g.
    /// a commit into a sealed height or a read-only view.
    #[error("storage: {0}")]
    Storage(StorageError),
    #[error("no contract at address {0}")]
    ContractNotFound(Hash),
    /// A deploy was refused (bad payload, bad code, failed constructor); nothing was stored.
    /// `deploy_units` is what the work of refusing it cost, for the chain to charge
    /// ([`DeployContractPayload::deploy_units`](crate::DeployContractPayload::deploy_units));
    /// a failed constructor's compute is in its outcome, on top.
    #[error("deploy refused: {error}")]
    Deploy {
        error: DeployError,
        deploy_units: u64,
    },
    /// `execute_block_with_hashes` needs exactly one hash per transaction; nothing ran.
    #[error("{hashes} transaction hashes given for {transactions} transactions")]
    TransactionHashCount { transactions: usize, hashes: usize },
}

impl VmError {
    /// Whether the store failed ([`VmError::Backend`]): retry or halt the node; the
    /// transaction has no outcome.
    pub fn is_backend(&self) -> bool {
        matches!(self, VmError::Backend(_))
    }

    /// The units a refused deploy is charged ([`VmError::Deploy`]); `None` for every other
    /// error.
    pub fn deploy_units(&self) -> Option<u64> {
        match self {
            VmError::Deploy { deploy_units, .. } => Some(*deploy_units),
            _ => None,
        }
    }

    /// The store's error when the store failed ([`VmError::Backend`]).
    pub fn backend_error(&self) -> Option<&StorageError> {
        match self {
            VmError::Backend(error) => Some(error),
            _ => None,
        }
    }

    /// Splits off a [`VmError::Backend`]: `Ok` with the store's error, or `Err` with `self`
    /// when the transaction was refused.
    pub fn into_backend_error(self) -> Result<StorageError, VmError> {
        match self {
            VmError::Backend(error) => Ok(error),
            other => Err(other),
        }
    }
}

impl From<StorageError> for VmError {
    /// A failure of the store is [`VmError::Backend`], a refused operation
    /// [`VmError::Storage`].
    fn from(error: StorageError) -> Self {
        if error.is_backend() {
            VmError::Backend(error)
        } else {
            VmError::Storage(error)
        }
    }
}

impl From<RuntimeError> for VmError {
    /// Why a call could not start (or the store failed under it).
    fn from(error: RuntimeError) -> Self {
        match AbortReason::from_runtime(error) {
            Err(store) => VmError::Backend(store),
            Ok(AbortReason::Loader(loader)) => VmError::Loader(loader),
            Ok(AbortReason::ContractNotFound(hash)) => VmError::ContractNotFound(hash),
            Ok(AbortReason::Storage(storage)) => VmError::Storage(storage),
            Ok(AbortReason::Runtime(runtime)) => VmError::Runtime(runtime),
            Ok(AbortReason::Syscall(syscall)) => {
                VmError::Runtime(RuntimeError::Syscall(Box::new(syscall)))
            }
        }
    }
}

/// Why the VM stopped a running contract ([`InvokeStatus::Aborted`]): something the call
/// did, the same on every node, under both engines. A failure of the store is never one:
/// it is `Err(VmError::Backend)` of the API, with no outcome at all.
///
/// [`InvokeStatus::Aborted`]: crate::InvokeStatus::Aborted
#[derive(Debug, Error)]
pub enum AbortReason {
    /// The engine stopped the contract: compute exhausted, access violation, division by
    /// zero, call depth, ... (never [`RuntimeError::Backend`]).
    #[error(transparent)]
    Runtime(RuntimeError),
    /// A syscall refused what the contract asked (a key too long, a log budget spent, a
    /// transfer without the funds, ...).
    #[error(transparent)]
    Syscall(SyscallError),
    /// A state operation of the call itself was refused: a deposit the sender cannot cover
    /// (`InsufficientBalance`), a balance that would overflow.
    #[error("storage: {0}")]
    Storage(StorageError),
    /// Code the call reached is not a valid executable.
    #[error("invalid executable: {0}")]
    Loader(LoaderError),
    #[error("no contract at address {0}")]
    ContractNotFound(Hash),
}

impl AbortReason {
    /// Sorts the runtime's error: `Err` with the store's error when the store failed (in a
    /// syscall, a nested call, loading code), `Ok` with the reason otherwise. Syscall errors
    /// travel through the engine boxed; their type is recovered here.
    pub fn from_runtime(error: RuntimeError) -> Result<AbortReason, StorageError> {
        match error {
            RuntimeError::Backend(store) => Err(store),
            RuntimeError::Syscall(inner) => match inner.downcast::<SyscallError>() {
                Ok(syscall) => match syscall.into_store_failure() {
                    Err(SyscallError::Runtime(runtime)) => AbortReason::from_runtime(runtime),
                    Err(other) => Ok(AbortReason::Syscall(other)),
                    Ok(store) => Err(store),
                },
                Err(other) => Ok(AbortReason::Runtime(RuntimeError::Fault(other.to_string()))),
            },
            RuntimeError::InvalidExecutable(loader) => Ok(AbortReason::Loader(loader)),
            RuntimeError::ContractNotFound(hash) => Ok(AbortReason::ContractNotFound(hash)),
            RuntimeError::State(storage) if storage.is_backend() => Err(storage),
            RuntimeError::State(storage) => Ok(AbortReason::Storage(storage)),
            other => Ok(AbortReason::Runtime(other)),
        }
    }
}

// Every error of the public API can cross threads and async tasks and be kept as a
// `Box<dyn Error + Send + Sync>`: a node's executor needs all three.
const _: () = {
    const fn send_sync<T: std::error::Error + Send + Sync + 'static>() {}
    send_sync::<VmError>();
    send_sync::<AbortReason>();
    send_sync::<RuntimeError>();
    send_sync::<SyscallError>();
    send_sync::<StorageError>();
    send_sync::<LoaderError>();
    send_sync::<tos_loader::toolchain::ToolchainError>();
    send_sync::<DeployError>();
    send_sync::<crate::InvokePayloadError>();
    send_sync::<crate::block::BlockFileError>();
};
