//! # tos-syscalls
//!
//! The `tos_*` functions a contract calls, one module per family, each syscall with its
//! compute cost beside it:
//!
//! | family | syscalls |
//! |---|---|
//! | [`log`] | `tos_log`, `tos_panic` |
//! | [`chain`] | `tos_get_block_hash`, `tos_get_block_height`, `tos_get_block_timestamp`, `tos_get_tx_hash`, `tos_get_tx_sender`, `tos_get_contract_hash`, `tos_get_code_hash`, `tos_get_caller`, `tos_get_call_depth`, `tos_get_call_value` |
//! | [`balance`] | `tos_get_balance`, `tos_get_self_balance`, `tos_transfer`, `tos_get_asset_balance`, `tos_transfer_asset` |
//! | [`deposits`] | `tos_get_deposit_count`, `tos_get_deposit`, `tos_get_deposit_amount` |
//! | [`create`] | `tos_create_contract` |
//! | [`storage`] | `tos_storage_read`, `tos_storage_write`, `tos_storage_delete` |
//! | [`mem`] | `tos_memcpy`, `tos_memmove`, `tos_memset`, `tos_memcmp` |
//! | [`invoke`] | `tos_invoke`, `tos_set_return_data`, `tos_get_return_data` |
//! | [`events`] | `tos_emit_event` |
//! | [`crypto`] | `tos_sha256`, `tos_keccak256`, `tos_blake3`, `tos_ed25519_verify` |
//!
//! [`runtime_environment`] registers all of them into the loader that executables are loaded
//! with. A failing syscall aborts the call with a typed [`SyscallError`]; the invoke's effects
//! are then discarded by the caller.
//!
//! ```
//! let environment = tos_syscalls::runtime_environment();
//! let names = tos_program_runtime::executor::syscall_names(&environment);
//! assert!(names.iter().any(|name| name == "tos_log"));
//! assert_eq!(names.len(), tos_syscalls::SYSCALLS.len());
//! ```

pub mod balance;
pub mod chain;
pub mod create;
pub mod crypto;
pub mod deposits;
mod error;
pub mod events;
pub mod invoke;
pub mod log;
pub mod mem;
pub mod storage;

use std::sync::Arc;

use tos_program_runtime::{
    executor::{vm_config, RuntimeEnvironment},
    solana_sbpf::program::{BuiltinFunctionDefinition, BuiltinProgram},
    InvokeContext, SyscallFailure,
};

pub use error::SyscallError;

/// A syscall's name and its cost, as documented in `docs/syscalls.md`.
#[derive(Debug, Clone, Copy)]
pub struct SyscallSpec {
    pub name: &'static str,
    pub family: &'static str,
    /// What a call is charged, built from the same constants the syscall charges with: the
    /// docs row is its [`Cost::formula`], and `tests/syscall_costs.rs` runs every syscall and
    /// checks the charge against [`Cost::units`].
    pub cost: Cost,
}

/// A syscall's charge in compute units: `base`, plus a part that grows with the bytes the
/// call handles (`bytes` names them, e.g. `key_len + value_len`), plus a surcharge for each
/// cold state access (`cold`), plus, for calls that run other code, that code's own compute
/// (`plus`, charged by the engine as it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub base: u64,
    /// The byte count the per-byte part is charged on, as the docs name it ("" when none).
    pub bytes: &'static str,
    pub per_byte: PerByte,
    /// Charged for each piece of state the call touches first in its transaction (see
    /// [`ColdAccess`]).
    pub cold: Option<ColdAccess>,
    /// Compute charged on top by other code the call runs, e.g. "callee's compute".
    pub plus: Option<&'static str>,
}

/// The surcharge of a state access that is the transaction's first to that piece of state (a
/// storage key, a balance): it may have to be read from the device. Whether an access is cold
/// depends only on what the transaction touched before, never on a node's caches (EIP-2929's
/// rule), so every node charges the same; later accesses in the transaction are warm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColdAccess {
    pub units: u64,
    /// What is counted, as the docs name it, e.g. "key", "balance".
    pub what: &'static str,
}

/// How the per-byte part of a [`Cost`] grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerByte {
    /// No per-byte part.
    Nothing,
    /// This many units per byte.
    Units(u64),
    /// One unit per this many bytes (rounded down).
    BytesPerUnit(u64),
}

impl Cost {
    /// A fixed charge.
    pub const fn flat(base: u64) -> Cost {
        Cost {
            base,
            bytes: "",
            per_byte: PerByte::Nothing,
            cold: None,
            plus: None,
        }
    }

    /// `base + units * bytes`.
    pub const fn per_byte(base: u64, bytes: &'static str, units: u64) -> Cost {
        Cost {
            base,
            bytes,
            per_byte: PerByte::Units(units),
            cold: None,
            plus: None,
        }
    }

    /// `base + bytes / bytes_per_unit`.
    pub const fn per_unit(base: u64, bytes: &'static str, bytes_per_unit: u64) -> Cost {
        Cost {
            base,
            bytes,
            per_byte: PerByte::BytesPerUnit(bytes_per_unit),
            cold: None,
            plus: None,
        }
    }

    /// The same cost plus `units` for each cold access to a `what` (see [`ColdAccess`]).
    pub const fn cold(self, units: u64, what: &'static str) -> Cost {
        Cost {
            cold: Some(ColdAccess { units, what }),
            ..self
        }
    }

    /// The same cost plus other code's compute, e.g. `"callee's compute"`.
    pub const fn plus(self, what: &'static str) -> Cost {
        Cost {
            plus: Some(what),
            ..self
        }
    }

    /// The per-byte part for `bytes` bytes (saturating: a huge length cannot wrap to cheap).
    pub fn byte_units(&self, bytes: u64) -> u64 {
        match self.per_byte {
            PerByte::Nothing => 0,
            PerByte::Units(units) => bytes.saturating_mul(units),
            PerByte::BytesPerUnit(per) => bytes / per.max(1),
        }
    }

    /// The whole charge of a call handling `bytes` bytes whose state accesses are all warm (not
    /// counting [`Cost::cold`] nor [`Cost::plus`]).
    pub fn units(&self, bytes: u64) -> u64 {
        self.base.saturating_add(self.byte_units(bytes))
    }

    /// The formula as `docs/syscalls.md` shows it, e.g. `1000 + 4 * (key_len + value_len)`.
    pub fn formula(&self) -> String {
        let bytes = if self.bytes.contains(' ') {
            format!("({})", self.bytes)
        } else {
            self.bytes.to_string()
        };
        let mut out = self.base.to_string();
        match self.per_byte {
            PerByte::Nothing => {}
            PerByte::Units(1) => out.push_str(&format!(" + {}", self.bytes)),
            PerByte::Units(units) => out.push_str(&format!(" + {units} * {bytes}")),
            PerByte::BytesPerUnit(per) => out.push_str(&format!(" + {bytes} / {per}")),
        }
        if let Some(cold) = self.cold {
            out.push_str(&format!(" + {} per cold {}", cold.units, cold.what));
        }
        if let Some(plus) = self.plus {
            out.push_str(&format!(" + {plus}"));
        }
        out
    }
}

impl std::fmt::Display for Cost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.formula())
    }
}

/// Every syscall tos-vm offers. `docs/syscalls.md` is checked against this table by a test.
pub const SYSCALLS: &[SyscallSpec] = &[
    log::TOS_LOG,
    log::TOS_PANIC,
    chain::TOS_GET_BLOCK_HASH,
    chain::TOS_GET_BLOCK_HEIGHT,
    chain::TOS_GET_TX_HASH,
    chain::TOS_GET_TX_SENDER,
    chain::TOS_GET_CONTRACT_HASH,
    chain::TOS_GET_BLOCK_TIMESTAMP,
    chain::TOS_GET_CALLER,
    chain::TOS_GET_CALL_DEPTH,
    chain::TOS_GET_CALL_VALUE,
    chain::TOS_GET_CODE_HASH,
    balance::TOS_GET_BALANCE,
    balance::TOS_GET_SELF_BALANCE,
    balance::TOS_TRANSFER,
    balance::TOS_GET_ASSET_BALANCE,
    balance::TOS_TRANSFER_ASSET,
    deposits::TOS_GET_DEPOSIT_COUNT,
    deposits::TOS_GET_DEPOSIT,
    deposits::TOS_GET_DEPOSIT_AMOUNT,
    create::TOS_CREATE_CONTRACT,
    storage::TOS_STORAGE_READ,
    storage::TOS_STORAGE_WRITE,
    storage::TOS_STORAGE_DELETE,
    mem::TOS_MEMCPY,
    mem::TOS_MEMMOVE,
    mem::TOS_MEMSET,
    mem::TOS_MEMCMP,
    invoke::TOS_INVOKE,
    invoke::TOS_SET_RETURN_DATA,
    invoke::TOS_GET_RETURN_DATA,
    events::TOS_EMIT_EVENT,
    crypto::TOS_SHA256,
    crypto::TOS_KECCAK256,
    crypto::TOS_BLAKE3,
    crypto::TOS_ED25519_VERIFY,
];

/// Names of every syscall, for the link step and deploy-time validation.
pub fn syscall_names() -> Vec<&'static str> {
    SYSCALLS.iter().map(|spec| spec.name).collect()
}

type Context = InvokeContext<'static>;

/// Runs syscall `S` with panics caught: a bug in a syscall ends the invoke with
/// [`SyscallError::HostPanic`] under both engines instead of unwinding through the engine
/// (which the JIT's frames cannot do: the process would abort).
pub struct PanicsAsErrors<S>(std::marker::PhantomData<S>);

impl<S: BuiltinFunctionDefinition<Context>> BuiltinFunctionDefinition<Context> for PanicsAsErrors<S>
where
    S::Error: Into<SyscallError>,
{
    type Error = Box<dyn std::error::Error>;

    fn rust(
        context: &mut Context,
        a: u64,
        b: u64,
        c: u64,
        d: u64,
        e: u64,
    ) -> Result<u64, Self::Error> {
        let run = std::panic::AssertUnwindSafe(|| S::rust(context, a, b, c, d, e));
        match std::panic::catch_unwind(run) {
            Ok(result) => result.map_err(|error| to_engine(error.into())),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|text| (*text).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(SyscallFailure::boxed(SyscallError::HostPanic { message }))
            }
        }
    }
}

/// A syscall's error boxed for the engine, so that it unwraps to the typed, `Send` error again
/// on the other side: a failure of the store as a [`StoreFailure`](tos_program_runtime::StoreFailure) (it becomes
/// `RuntimeError::Backend`, never the contract's failure), anything else as a
/// [`SyscallFailure`].
fn to_engine(error: SyscallError) -> Box<dyn std::error::Error> {
    match error.into_store_failure() {
        Ok(store) => SyscallFailure::store(store),
        Err(error) => SyscallFailure::boxed(error),
    }
}

fn register<S: BuiltinFunctionDefinition<Context>>(
    program: &mut BuiltinProgram<Context>,
    spec: &SyscallSpec,
) where
    S::Error: Into<SyscallError>,
{
    // Names are distinct constants of this crate; a clash is a bug caught by the tests.
    if let Err(error) = program.register_definition::<PanicsAsErrors<S>>(spec.name) {
        panic!("registering syscall {}: {error}", spec.name);
    }
}

/// Registers every `tos_*` syscall into `program`.
pub fn register_syscalls(program: &mut BuiltinProgram<Context>) {
    register::<log::SyscallLog>(program, &log::TOS_LOG);
    register::<log::SyscallPanic>(program, &log::TOS_PANIC);
    register::<chain::SyscallGetBlockHash>(program, &chain::TOS_GET_BLOCK_HASH);
    register::<chain::SyscallGetBlockHeight>(program, &chain::TOS_GET_BLOCK_HEIGHT);
    register::<chain::SyscallGetTxHash>(program, &chain::TOS_GET_TX_HASH);
    register::<chain::SyscallGetTxSender>(program, &chain::TOS_GET_TX_SENDER);
    register::<chain::SyscallGetContractHash>(program, &chain::TOS_GET_CONTRACT_HASH);
    register::<balance::SyscallGetBalance>(program, &balance::TOS_GET_BALANCE);
    register::<balance::SyscallTransfer>(program, &balance::TOS_TRANSFER);
    register::<storage::SyscallStorageRead>(program, &storage::TOS_STORAGE_READ);
    register::<storage::SyscallStorageWrite>(program, &storage::TOS_STORAGE_WRITE);
    register::<storage::SyscallStorageDelete>(program, &storage::TOS_STORAGE_DELETE);
    register::<mem::SyscallMemcpy>(program, &mem::TOS_MEMCPY);
    register::<mem::SyscallMemmove>(program, &mem::TOS_MEMMOVE);
    register::<mem::SyscallMemset>(program, &mem::TOS_MEMSET);
    register::<mem::SyscallMemcmp>(program, &mem::TOS_MEMCMP);
    register::<chain::SyscallGetBlockTimestamp>(program, &chain::TOS_GET_BLOCK_TIMESTAMP);
    register::<chain::SyscallGetCaller>(program, &chain::TOS_GET_CALLER);
    register::<chain::SyscallGetCallDepth>(program, &chain::TOS_GET_CALL_DEPTH);
    register::<chain::SyscallGetCallValue>(program, &chain::TOS_GET_CALL_VALUE);
    register::<balance::SyscallGetSelfBalance>(program, &balance::TOS_GET_SELF_BALANCE);
    register::<chain::SyscallGetCodeHash>(program, &chain::TOS_GET_CODE_HASH);
    register::<balance::SyscallGetAssetBalance>(program, &balance::TOS_GET_ASSET_BALANCE);
    register::<balance::SyscallTransferAsset>(program, &balance::TOS_TRANSFER_ASSET);
    register::<deposits::SyscallGetDepositCount>(program, &deposits::TOS_GET_DEPOSIT_COUNT);
    register::<deposits::SyscallGetDeposit>(program, &deposits::TOS_GET_DEPOSIT);
    register::<deposits::SyscallGetDepositAmount>(program, &deposits::TOS_GET_DEPOSIT_AMOUNT);
    register::<create::SyscallCreateContract>(program, &create::TOS_CREATE_CONTRACT);
    register::<invoke::SyscallInvoke>(program, &invoke::TOS_INVOKE);
    register::<invoke::SyscallSetReturnData>(program, &invoke::TOS_SET_RETURN_DATA);
    register::<invoke::SyscallGetReturnData>(program, &invoke::TOS_GET_RETURN_DATA);
    register::<events::SyscallEmitEvent>(program, &events::TOS_EMIT_EVENT);
    register::<crypto::SyscallSha256>(program, &crypto::TOS_SHA256);
    register::<crypto::SyscallKeccak256>(program, &crypto::TOS_KECCAK256);
    register::<crypto::SyscallBlake3>(program, &crypto::TOS_BLAKE3);
    register::<crypto::SyscallEd25519Verify>(program, &crypto::TOS_ED25519_VERIFY);
}

/// The loader every tos-vm executable is loaded with: tos-vm's VM config plus all syscalls.
pub fn runtime_environment() -> RuntimeEnvironment {
    let mut program = BuiltinProgram::new_loader(vm_config());
    register_syscalls(&mut program);
    Arc::new(program)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tos_program_runtime::{
        executor, solana_sbpf::assembler::assemble, solana_sbpf::declare_builtin_function,
        BlockContext, Engine, RuntimeError, TransactionContext,
    };
    use tos_storage::{Hash, Journal, MemoryStorage};

    declare_builtin_function!(
        /// Stands in for a host bug.
        SyscallThatPanics,
        fn rust(
            _context: &mut InvokeContext<'static>,
            _a: u64,
            _b: u64,
            _c: u64,
            _d: u64,
            _e: u64,
        ) -> Result<u64, SyscallError> {
            panic!("bug in a syscall");
        }
    );

    #[test]
    fn a_panicking_syscall_ends_the_invoke_with_a_typed_error_under_both_engines() {
        let mut loader = BuiltinProgram::new_loader(executor::vm_config());
        register::<SyscallThatPanics>(
            &mut loader,
            &SyscallSpec {
                name: "test_panic",
                family: "test",
                cost: Cost::flat(0),
            },
        );
        let executable =
            assemble::<InvokeContext<'static>>("syscall test_panic\nexit", Arc::new(loader))
                .unwrap();
        executor::compile(&executable).unwrap();
        let store = MemoryStorage::default();
        let (block, transaction) = (BlockContext::default(), TransactionContext::default());
        for engine in [Engine::Interpreter, Engine::Jit] {
            let mut context = InvokeContext::new(
                Journal::new(&store),
                &block,
                &transaction,
                Hash([1; 32]),
                100,
            );
            let outcome = executor::execute(&executable, b"", &mut context, engine);
            match outcome.result {
                Err(RuntimeError::Syscall(error)) => assert!(
                    matches!(
                        error.downcast_ref::<SyscallError>(),
                        Some(SyscallError::HostPanic { message }) if message == "bug in a syscall"
                    ),
                    "{engine:?}: {error}"
                ),
                other => panic!("{engine:?}: {other:?}"),
            }
        }
    }
}
