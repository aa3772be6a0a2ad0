//! # tos-program-runtime
//!
//! Runs one contract call. [`InvokeContext`] is the state a running contract sees through its
//! syscalls (compute meter, memory mapping, journaled storage, logs, block and transaction
//! context); it implements solana-sbpf's `ContextObject`. The [`executor`] lays out the
//! contract's memory (read-only data, stack, heap, input), runs the executable under the
//! interpreter or the JIT and reports the status and the compute used. [`memory`] translates
//! guest pointers with bounds and permission checks for syscalls.
//!
//! Syscalls themselves live in `tos-syscalls`; this crate only knows the
//! `BuiltinProgram<InvokeContext>` they are registered into.
//!
//! ```no_run
//! use std::sync::Arc;
//! use tos_program_runtime::{executor, BlockContext, Engine, InvokeContext, TransactionContext};
//! use tos_program_runtime::solana_sbpf::program::BuiltinProgram;
//! use tos_storage::{Hash, Journal, MemoryStorage};
//!
//! # fn demo(elf: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! // A real host registers the tos_* syscalls (tos_syscalls::runtime_environment()).
//! let environment = Arc::new(BuiltinProgram::new_loader(executor::vm_config()));
//! let executable = executor::load_executable(elf, environment, Engine::Jit)?;
//! let storage = MemoryStorage::default();
//! let block = BlockContext::default();
//! let tx = TransactionContext::default();
//! let mut context = InvokeContext::new(Journal::new(&storage), &block, &tx, Hash([1; 32]), 200_000);
//! let outcome = executor::execute(&executable, b"input", &mut context, Engine::Jit);
//! println!("status {:?}, {} compute units", outcome.result, outcome.compute_used);
//! # Ok(()) }
//! ```

pub mod address;
pub mod cache;
pub mod compute;
pub mod context;
pub mod effects;
pub mod error;
pub mod executor;
pub mod invoke;
pub mod limits;
pub mod memory;

pub use address::{create_address, deploy_address};
pub use cache::{code_hash, CacheStats, ExecutableCache, DEFAULT_CACHE_BUDGET};
pub use compute::ComputeMeter;
pub use context::{
    BlockContext, Event, FinishedInvoke, Frame, InvokeContext, LogEntry, LogLimitExceeded,
    ProgramAccess, ReturnData, TransactionContext,
};
pub use effects::{BalanceChange, CreatedContract, Effects, LazyEffects, StorageChange, Transfer};
pub use error::{RuntimeError, StoreFailure, SyscallFailure};
pub use executor::{Engine, ExecutionOutcome, RuntimeEnvironment, TosExecutable};
pub use invoke::{
    check_deposits, execute_call, execute_call_with_code_paid, execute_query, native_deposit,
    CallConfig, CallOutcome, ContractCall, Deposits,
};
pub use solana_sbpf;
