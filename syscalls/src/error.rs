use thiserror::Error;
use tos_program_runtime::RuntimeError;
use tos_storage::StorageError;

/// Why a syscall aborted the call. Every variant leaves state untouched: the invoke's
/// journal is discarded by the caller.
#[derive(Debug, Error)]
pub enum SyscallError {
    /// Compute exhaustion and bad guest pointers (out of bounds, read-only, wrapping, too long).
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("log message of {len} bytes exceeds the limit of {limit} bytes")]
    LogMessageTooLong { len: u64, limit: usize },
    #[error("log budget of {limit} bytes per invoke exhausted")]
    LogLimitExceeded { limit: usize },
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
    /// State errors, including refused transfers (`ZeroAmount`, `InsufficientBalance`,
    /// `BalanceOverflow`).
    #[error(transparent)]
    Storage(#[from] StorageError),
}
