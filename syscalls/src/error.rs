use thiserror::Error;
use tos_program_runtime::RuntimeError;
use tos_storage::StorageError;

/// Why a syscall aborted the call. Every variant leaves state untouched: the invoke's
/// journal is discarded by the caller.
///
/// A failure of the store itself (a `Storage` or `Runtime` error for which
/// [`SyscallError::into_store_failure`] is `Ok`) does not leave the engine as a
/// `SyscallError`: the syscall layer hands it to the engine as a
/// [`StoreFailure`](tos_program_runtime::StoreFailure) and it comes out as
/// [`RuntimeError::Backend`], never as the contract's failure.
#[derive(Debug, Error)]
pub enum SyscallError {
    /// Compute exhaustion and bad guest pointers (out of bounds, read-only, wrapping, too long).
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("log message of {len} bytes exceeds the limit of {limit} bytes")]
    LogMessageTooLong { len: u64, limit: usize },
    #[error("log budget of {limit} bytes per invoke exhausted")]
    LogLimitExceeded { limit: usize },
    #[error("log budget of {limit} messages per invoke exhausted")]
    LogEntriesExceeded { limit: usize },
    #[error("a syscall of the host panicked (a tos-vm bug; the invoke is void): {message}")]
    HostPanic { message: String },
    #[error("contract panicked: {message}")]
    ContractPanicked { message: String },
    #[error("storage key of {len} bytes exceeds the limit of {limit} bytes")]
    KeyTooLong { len: u64, limit: usize },
    #[error("storage value of {len} bytes exceeds the limit of {limit} bytes")]
    ValueTooLong { len: u64, limit: usize },
    #[error("memory operation over {len} bytes exceeds the limit of {limit} bytes")]
    MemOpTooLong { len: u64, limit: usize },
    #[error("tos_memcpy ranges overlap (use tos_memmove)")]
    CopyOverlapping,
    #[error("input of {len} bytes exceeds the limit of {limit} bytes")]
    InputTooLong { len: u64, limit: usize },
    #[error("cross-contract calls are not available in this context")]
    InvokeUnavailable,
    #[error("return data of {len} bytes exceeds the limit of {limit} bytes")]
    ReturnDataTooLong { len: u64, limit: usize },
    #[error("event {what} of {len} bytes exceeds the limit of {limit} bytes")]
    EventTooLarge {
        what: &'static str,
        len: u64,
        limit: usize,
    },
    #[error("event budget of the invoke exhausted")]
    EventLimitExceeded,
    #[error("{count} slices exceed the limit of {limit}")]
    TooManySlices { count: u64, limit: usize },
    #[error("{len} bytes to hash exceed the limit of {limit}")]
    HashInputTooLong { len: u64, limit: usize },
    #[error("deposit index {index} is out of range ({count} deposits)")]
    DepositIndexOutOfRange { index: u64, count: u64 },
    /// State errors, including refused transfers (`ZeroAmount`, `InsufficientBalance`,
    /// `BalanceOverflow`).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl SyscallError {
    /// `Ok` with the store's error when the store itself failed (the call has no outcome),
    /// `Err(self)` for everything the contract caused.
    pub fn into_store_failure(self) -> Result<StorageError, SyscallError> {
        match self {
            SyscallError::Storage(error) if error.is_backend() => Ok(error),
            SyscallError::Runtime(RuntimeError::Backend(error)) => Ok(error),
            SyscallError::Runtime(RuntimeError::State(error)) if error.is_backend() => Ok(error),
            other => Err(other),
        }
    }
}
