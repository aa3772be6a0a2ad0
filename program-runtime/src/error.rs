use solana_sbpf::{elf::ElfError, error::EbpfError};
use thiserror::Error;

/// Everything that can stop a contract call inside the runtime.
///
/// Syscall failures arrive as [`RuntimeError::Syscall`] carrying the syscall crate's own typed
/// error (boxed, because this crate sits below `tos-syscalls`); the facade downcasts it.
///
/// A failure of the store itself is [`RuntimeError::Backend`], wherever it happened (loading
/// code, moving deposits, a syscall's read or write, a nested call's): it is not something the
/// contract did, so [`execute_call`](crate::execute_call) returns it as its `Err` and never as
/// a call's result. `From<StorageError>` sorts a store error into `Backend` or `State`.
///
/// `Send + Sync + 'static` like every error of the public API: a node moves errors between
/// threads and async tasks (asserted at compile time below).
#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("invalid executable: {0}")]
    InvalidExecutable(#[from] tos_loader::LoaderError),
    #[error("executable rejected by the SBPF loader: {0}")]
    Elf(#[from] ElfError),
    #[error("executable rejected by the SBPF verifier: {0}")]
    Verifier(String),
    #[error("JIT compilation failed: {0}")]
    JitCompile(String),
    #[error("input of {len} bytes exceeds the limit of {limit} bytes")]
    InputTooLarge { len: usize, limit: usize },
    #[error("compute budget of {budget} units exhausted")]
    ComputeBudgetExceeded { budget: u64 },
    #[error("memory access violation: {0}")]
    AccessViolation(String),
    #[error("call depth exceeded (more than {max} nested BPF calls)")]
    CallDepthExceeded { max: usize },
    #[error("division by zero")]
    DivideByZero,
    #[error("division overflow")]
    DivideOverflow,
    #[error("syscall failed: {0}")]
    Syscall(Box<dyn std::error::Error + Send + Sync>),
    #[error("no contract at address {0}")]
    ContractNotFound(tos_storage::Hash),
    #[error("code stored under {expected} hashes to {actual}")]
    CodeHashMismatch {
        expected: tos_storage::Hash,
        actual: tos_storage::Hash,
    },
    #[error("{count} deposits exceed the limit of {limit}")]
    TooManyDeposits { count: usize, limit: usize },
    #[error("a deposit of 0 in asset {0}")]
    ZeroDeposit(tos_storage::Hash),
    /// A state operation the call asked for was refused (a deposit the sender cannot cover,
    /// a balance that would overflow, ...). Never a failure of the store: see `Backend`.
    #[error("state access failed: {0}")]
    State(tos_storage::StorageError),
    /// The store failed (I/O, database, corruption; [`StorageError::is_backend`]): the call
    /// has no outcome, and the node must not record one.
    ///
    /// [`StorageError::is_backend`]: tos_storage::StorageError::is_backend
    #[error("the store failed: {0}")]
    Backend(tos_storage::StorageError),
    #[error("contract fault: {0}")]
    Fault(String),
    /// A write inside a read-only call (a query): storage writes and deletes, transfers,
    /// deposits, events, contract creation and value-carrying invokes are refused there.
    #[error("{operation} refused: the call is read-only (a query changes nothing)")]
    WriteInReadOnlyCall { operation: &'static str },
    /// The call succeeded but created more bytes of state than the sender's limit
    /// ([`ContractCall::created_bytes_limit`](crate::ContractCall::created_bytes_limit)):
    /// nothing is committed.
    #[error("the call created {created} bytes of state, over its limit of {limit}")]
    CreatedBytesLimitExceeded { created: u64, limit: u64 },
}

const _: () = {
    const fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<RuntimeError>();
};

impl From<tos_storage::StorageError> for RuntimeError {
    /// A failure of the store becomes [`RuntimeError::Backend`], a refused operation
    /// [`RuntimeError::State`].
    fn from(error: tos_storage::StorageError) -> Self {
        if error.is_backend() {
            RuntimeError::Backend(error)
        } else {
            RuntimeError::State(error)
        }
    }
}

impl RuntimeError {
    /// Whether the store failed (not the call): [`RuntimeError::Backend`].
    pub fn is_backend(&self) -> bool {
        matches!(self, RuntimeError::Backend(_))
    }
}

/// A failure of the store inside a syscall, on its way through the engine: the engine stops
/// the contract (a syscall error always does) and [`RuntimeError::from_ebpf`] turns it into
/// [`RuntimeError::Backend`], so no layer above can mistake it for the contract's failure.
#[derive(Debug)]
pub struct StoreFailure(pub tos_storage::StorageError);

impl std::fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StoreFailure {}

/// A syscall's typed error on its way through the engine. solana-sbpf carries syscall errors
/// as `Box<dyn Error>` (not `Send`); a syscall wraps its error in this before handing it to
/// the engine, and [`RuntimeError::from_ebpf`] unwraps it, so the typed, `Send + Sync` error
/// comes out on the other side.
#[derive(Debug)]
pub struct SyscallFailure(pub Box<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for SyscallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SyscallFailure {}

impl SyscallFailure {
    /// `error` boxed the way the engine wants it, ready for [`RuntimeError::from_ebpf`].
    pub fn boxed(
        error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Box<dyn std::error::Error> {
        Box::new(SyscallFailure(error.into()))
    }

    /// A failure of the store, boxed the way the engine wants it: it comes out of
    /// [`RuntimeError::from_ebpf`] as [`RuntimeError::Backend`].
    pub fn store(error: tos_storage::StorageError) -> Box<dyn std::error::Error> {
        Box::new(StoreFailure(error))
    }
}

impl RuntimeError {
    /// Maps the engine's error to ours; both engines report the same `EbpfError` kinds.
    pub fn from_ebpf(error: EbpfError, budget: u64, max_call_depth: usize) -> RuntimeError {
        match error {
            EbpfError::SyscallError(inner) => match inner.downcast::<StoreFailure>() {
                Ok(store) => RuntimeError::Backend(store.0),
                Err(inner) => match inner.downcast::<SyscallFailure>() {
                    Ok(failure) => RuntimeError::Syscall(failure.0),
                    // Only a syscall registered outside tos-syscalls (a test's) returns an
                    // unwrapped error; it is not `Send`, so it travels as its message.
                    Err(other) => RuntimeError::Fault(format!("syscall failed: {other}")),
                },
            },
            EbpfError::ExceededMaxInstructions => RuntimeError::ComputeBudgetExceeded { budget },
            EbpfError::CallDepthExceeded => RuntimeError::CallDepthExceeded {
                max: max_call_depth,
            },
            EbpfError::DivideByZero => RuntimeError::DivideByZero,
            EbpfError::DivideOverflow => RuntimeError::DivideOverflow,
            e @ (EbpfError::AccessViolation(..) | EbpfError::StackAccessViolation(..)) => {
                RuntimeError::AccessViolation(e.to_string())
            }
            EbpfError::ElfError(e) => RuntimeError::Elf(e),
            EbpfError::VerifierError(e) => RuntimeError::Verifier(e.to_string()),
            other => RuntimeError::Fault(other.to_string()),
        }
    }
}
