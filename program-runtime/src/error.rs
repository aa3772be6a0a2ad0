use solana_sbpf::{elf::ElfError, error::EbpfError};
use thiserror::Error;

/// Everything that can stop a contract call inside the runtime.
///
/// Syscall failures arrive as [`RuntimeError::Syscall`] carrying the syscall crate's own typed
/// error (boxed, because this crate sits below `tos-syscalls`); the facade downcasts it.
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
    #[error("state access failed: {0}")]
    State(#[from] tos_storage::StorageError),
    #[error("contract fault: {0}")]
    Fault(String),
    /// A write inside a read-only call (a query): storage writes and deletes, transfers,
    /// deposits, events, contract creation and value-carrying invokes are refused there.
    #[error("{operation} refused: the call is read-only (a query changes nothing)")]
    WriteInReadOnlyCall { operation: &'static str },
}

const _: () = {
    const fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<RuntimeError>();
};

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
}

impl RuntimeError {
    /// Maps the engine's error to ours; both engines report the same `EbpfError` kinds.
    pub fn from_ebpf(error: EbpfError, budget: u64, max_call_depth: usize) -> RuntimeError {
        match error {
            EbpfError::SyscallError(inner) => match inner.downcast::<SyscallFailure>() {
                Ok(failure) => RuntimeError::Syscall(failure.0),
                // Only a syscall registered outside tos-syscalls (a test's) returns an
                // unwrapped error; it is not `Send`, so it travels as its message.
                Err(other) => RuntimeError::Fault(format!("syscall failed: {other}")),
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
