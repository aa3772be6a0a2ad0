use thiserror::Error;
use tos_loader::LoaderError;
use tos_program_runtime::RuntimeError;
use tos_storage::{Hash, StorageError};
use tos_syscalls::SyscallError;

use crate::payload::DeployError;

/// Why a deploy or an invoke did not succeed.
#[derive(Debug, Error)]
pub enum VmError {
    #[error("invalid executable: {0}")]
    Loader(#[from] LoaderError),
    #[error(transparent)]
    Runtime(RuntimeError),
    #[error(transparent)]
    Syscall(SyscallError),
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error("no contract at address {0}")]
    ContractNotFound(Hash),
    /// A deploy was refused (bad payload, bad code, failed constructor); nothing was stored.
    #[error("deploy refused: {0}")]
    Deploy(#[from] DeployError),
    /// `execute_block_with_hashes` needs exactly one hash per transaction; nothing ran.
    #[error("{hashes} transaction hashes given for {transactions} transactions")]
    TransactionHashCount { transactions: usize, hashes: usize },
}

impl VmError {
    /// The store itself failed (I/O, database, corruption), as opposed to the call: the state
    /// is unknown, so a node must stop executing the block rather than record a failed call.
    pub fn backend_error(&self) -> Option<&StorageError> {
        let storage = match self {
            VmError::Storage(error)
            | VmError::Syscall(SyscallError::Storage(error))
            | VmError::Runtime(RuntimeError::State(error)) => error,
            _ => return None,
        };
        storage.is_backend().then_some(storage)
    }

    /// Splits off a [`backend_error`](Self::backend_error): `Ok` with the store's error, or
    /// `Err` with `self` when the failure was the call's.
    pub fn into_backend_error(self) -> Result<StorageError, VmError> {
        if self.backend_error().is_none() {
            return Err(self);
        }
        match self {
            VmError::Storage(error)
            | VmError::Syscall(SyscallError::Storage(error))
            | VmError::Runtime(RuntimeError::State(error)) => Ok(error),
            other => Err(other),
        }
    }
}

impl From<RuntimeError> for VmError {
    /// Syscall failures travel through the engine as boxed errors; recover their type here.
    fn from(error: RuntimeError) -> Self {
        match error {
            RuntimeError::Syscall(inner) => match inner.downcast::<SyscallError>() {
                Ok(syscall) => match *syscall {
                    SyscallError::Runtime(runtime) => VmError::from(runtime),
                    other => VmError::Syscall(other),
                },
                Err(other) => VmError::Runtime(RuntimeError::Fault(other.to_string())),
            },
            RuntimeError::InvalidExecutable(loader) => VmError::Loader(loader),
            RuntimeError::ContractNotFound(hash) => VmError::ContractNotFound(hash),
            RuntimeError::State(storage) => VmError::Storage(storage),
            other => VmError::Runtime(other),
        }
    }
}

// Every error of the public API can cross threads and async tasks and be kept as a
// `Box<dyn Error + Send + Sync>`: a node's executor needs all three.
const _: () = {
    const fn send_sync<T: std::error::Error + Send + Sync + 'static>() {}
    send_sync::<VmError>();
    send_sync::<RuntimeError>();
    send_sync::<SyscallError>();
    send_sync::<StorageError>();
    send_sync::<LoaderError>();
    send_sync::<tos_loader::toolchain::ToolchainError>();
    send_sync::<DeployError>();
    send_sync::<crate::InvokePayloadError>();
    send_sync::<crate::block::BlockFileError>();
};
