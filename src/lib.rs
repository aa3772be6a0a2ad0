//! # tos-vm
//!
//! The TOS blockchain's smart-contract VM. This crate is a thin facade: it re-exports the
//! layered crates (`tos-loader`, `tos-storage`, `tos-program-runtime`, `tos-syscalls`) and
//! adds [`Vm`], the one-call way to deploy and invoke a contract against any
//! [`StorageProvider`], plus the `tos-vm` command-line tool.
//!
//! An invoke runs the contract under the interpreter or the JIT with a compute budget. On
//! success (status 0) its effects are committed to the store in one atomic step; on any
//! failure — non-zero status, a syscall error, compute exhaustion, a memory fault — the store
//! is left exactly as it was.
//!
//! A contract is an *instance* with its own address, storage and balances, running code that
//! is stored once per code hash and shared: deploying the same code twice gives two
//! independent contracts. The chain hands the VM a new contract's address; local tools use
//! [`deploy_address`] (deployer and deploy transaction).
//!
//! ```no_run
//! use tos_vm::{deploy_address, BlockContext, ContractCall, Engine, Hash, MemoryStorage, Vm, VmConfig};
//!
//! # fn demo(elf: &[u8]) -> Result<(), tos_vm::VmError> {
//! let vm = Vm::new(VmConfig { engine: Engine::Jit, ..VmConfig::default() });
//! let mut store = MemoryStorage::default();
//! let address = deploy_address(&Hash([0xA1; 32]), &Hash([0x01; 32]));
//! let contract = vm.deploy(elf, address, &mut store)?.contract;
//! let outcome = vm.invoke(&ContractCall::new(contract, b"".to_vec()), &BlockContext::default(), &mut store)?;
//! for log in &outcome.logs {
//!     println!("{}", log.message);
//! }
//! println!("status {:?}, {} compute units", outcome.status, outcome.compute_used);
//! # Ok(()) }
//! ```
//!
//! The chain's side (see `docs/embedding.md`): [`DeployContractPayload`] and
//! [`Vm::deploy_contract`] validate code once at deploy time; [`Vm::invoke`] runs a call
//! inside a block against a [`PendingState`]; [`execute_block`] / [`replay_block`] run a whole
//! block, calls that touch disjoint state in parallel with the result of sequential execution.

pub mod block;
mod error;
mod payload;
mod pending;
mod vm;

/// The block module's former name, kept so existing embedders (`tos_vm::replay::Transaction`)
/// still build.
pub use block as replay;

pub use block::{
    execute_block, execute_block_with_hashes, read_file_within, replay_block, Block,
    BlockExecution, CallTarget, ReplayOptions, StateListing, Transaction, TxOutcome, TxStatus,
    MAX_BLOCK_FILE_LEN,
};
pub use error::{AbortReason, VmError};
pub use payload::{
    deploy_cost, ConstructorPayload, DeployContractPayload, DeployError, DeployOutcome,
    InvokeContractPayload, InvokePayloadError, ValidDeploy, DEPLOY_BASE_COST,
    DEPLOY_UNITS_PER_BYTE, DEPLOY_UNITS_PER_INSTRUCTION, MAX_CODE_LEN, MAX_CONSTRUCTOR_INPUT_LEN,
    MAX_DEPOSITS_LEN, MAX_INVOKE_PAYLOAD_LEN, MAX_PAYLOAD_LEN, NO_COMPUTE_LIMIT,
};
pub use pending::PendingState;
pub use tos_program_runtime::{native_deposit, CacheStats, Deposits, DEFAULT_CACHE_BUDGET};
pub use vm::{
    code_hash, create_address, deploy_address, ContractCall, InvokeOutcome, InvokeStatus,
    QueryOutcome, Vm, VmConfig,
};

pub use tos_loader as loader;
pub use tos_program_runtime as runtime;
pub use tos_storage as storage;
pub use tos_syscalls as syscalls;

pub use tos_program_runtime::{
    BalanceChange, BlockContext, Effects, Engine, Event, LogEntry, ReturnData, StorageChange,
    TransactionContext, Transfer,
};
#[cfg(feature = "disk")]
pub use tos_storage::DiskStorage;
pub use tos_storage::{
    ChangeSet, ContractInfo, Growth, Hash, MemoryStorage, StateGrowth, StorageError,
    StorageProvider, VersionedStorage, NATIVE_ASSET,
};
