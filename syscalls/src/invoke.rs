//! Contracts calling contracts (`tos_invoke`) and the return data they hand back.
//!
//! A nested call runs the callee in a new frame: fresh stack, heap and input, the same compute
//! meter (the callee draws from what the caller has left), an optional native value moved from
//! caller to callee, and a journal checkpoint. If the callee fails — non-zero status or an abort
//! — only its frame is reverted and the caller gets a status it can handle. Two things end the
//! whole invoke instead: compute exhaustion (nothing is left to continue with) and errors of
//! the store itself.
//!
//! Reentrancy is refused: a contract already on the call stack cannot be called again until
//! it returns. A contract that is re-entered mid-update sees its own half-written state — the
//! classic reentrancy bug — so TOS rules it out instead of leaving each author to guard
//! against it.

use tos_program_runtime::{
    executor,
    limits::{MAX_CONTRACT_CALL_DEPTH, MAX_INPUT_LEN, MAX_RETURN_DATA_LEN},
    memory,
    solana_sbpf::declare_builtin_function,
    Frame, InvokeContext, RuntimeError,
};
use tos_storage::{Hash, StorageError, NATIVE_ASSET};

use crate::{Cost, SyscallError, SyscallSpec};

/// Fixed part of a nested call (frame setup, looking the callee up).
pub const INVOKE_BASE_COST: u64 = 1_000;
/// The first run of a code in a transaction also pays its cold code load
/// ([`code_load_cost`]: `CODE_LOAD_BASE_COST + CODE_LOAD_UNITS_PER_BYTE * load_size`), whether
/// or not this node has it cached; later runs in the same transaction are warm.
pub use tos_program_runtime::compute::{
    code_load_cost, CODE_LOAD_BASE_COST, CODE_LOAD_UNITS_PER_BYTE,
};
/// Setting or reading return data.
pub const RETURN_DATA_BASE_COST: u64 = 100;

/// `tos_invoke`'s statuses, shared with the SDK.
pub use tos_abi::invoke::{
    callee_failure_status, INVOKE_ABORTED, INVOKE_CALLEE_RESERVED_STATUS, INVOKE_DEPTH_EXCEEDED,
    INVOKE_ERROR_BASE, INVOKE_INSUFFICIENT_VALUE, INVOKE_NOT_FOUND, INVOKE_REENTRANCY,
};

pub const TOS_INVOKE: SyscallSpec = SyscallSpec {
    name: "tos_invoke",
    family: "invoke",
    cost: Cost::per_byte(INVOKE_BASE_COST, "input_len", 1)
        .plus("cold code load + callee's compute"),
};
pub const TOS_SET_RETURN_DATA: SyscallSpec = SyscallSpec {
    name: "tos_set_return_data",
    family: "invoke",
    cost: Cost::per_byte(RETURN_DATA_BASE_COST, "len", 1),
};
pub const TOS_GET_RETURN_DATA: SyscallSpec = SyscallSpec {
    name: "tos_get_return_data",
    family: "invoke",
    cost: Cost::per_byte(RETURN_DATA_BASE_COST, "copied_len", 1),
};

declare_builtin_function!(
    /// `tos_invoke(contract[32], input, input_len, value) -> status`: 0 when the callee
    /// succeeded, the callee's own non-zero status, or one of the `INVOKE_*` statuses.
    SyscallInvoke,
    fn rust(
        context: &mut InvokeContext<'static>,
        contract_addr: u64,
        input_addr: u64,
        input_len: u64,
        value: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        if value > 0 {
            context.require_writable("tos_invoke with value")?;
        }
        if input_len > MAX_INPUT_LEN as u64 {
            return Err(SyscallError::InputTooLong { len: input_len, limit: MAX_INPUT_LEN });
        }
        context.charge(INVOKE_BASE_COST.saturating_add(input_len))?;
        let callee = memory::read_hash(context.memory(), contract_addr)?;
        let input = memory::read_bytes(context.memory(), input_addr, input_len, MAX_INPUT_LEN)?;
        let programs = context.programs().ok_or(SyscallError::InvokeUnavailable)?;
        if context.depth() >= MAX_CONTRACT_CALL_DEPTH {
            return Ok(INVOKE_DEPTH_EXCEEDED);
        }
        if context.is_on_stack(&callee) {
            return Ok(INVOKE_REENTRANCY);
        }
        // Deployed code passed the same checks at deploy time; a failure here is the store's.
        // The ELF is fetched only on a cache miss.
        // The instance may have been created earlier in this invoke (a factory): read it
        // through the journal. Code is never created inside an invoke: the store has it.
        let Some(info) = context.journal.contract(&callee)? else {
            return Ok(INVOKE_NOT_FOUND);
        };
        // The first run of a code in this transaction pays its cold code load, whether or not
        // this node has it cached (docs/compute-units.md).
        let executable = context.load_code(programs, &callee, &info.code_hash)?;

        let checkpoint = context.journal.checkpoint();
        let events_before = context.events().len();
        let caller = context.contract;
        if value > 0 {
            match context.journal.transfer(&caller, &callee, &NATIVE_ASSET, value) {
                Ok(()) => {}
                Err(StorageError::InsufficientBalance { .. }) => {
                    context.journal.revert_to(checkpoint)?;
                    return Ok(INVOKE_INSUFFICIENT_VALUE);
                }
                Err(other) => return Err(other.into()),
            }
        }
        context.clear_return_data();
        context.push_frame(Frame {
            contract: callee,
            code_hash: info.code_hash,
            caller,
            value,
        });
        let outcome = executor::execute(&executable, &input, context, programs.engine);
        context.pop_frame();

        match outcome.result {
            // The store failed under the callee (loading its code, a syscall's read or write,
            // a call it made): the state is unknown, so the whole invoke ends with the store's
            // error instead of letting the caller carry on as if the callee had failed.
            Err(RuntimeError::Backend(error)) => Err(SyscallError::Runtime(RuntimeError::Backend(error))),
            Ok(0) => {
                context.journal.commit_checkpoint(checkpoint)?;
                Ok(0)
            }
            Ok(status) => {
                context.journal.revert_to(checkpoint)?;
                context.truncate_events(events_before);
                // A callee cannot speak for the VM: statuses of the reserved range are the VM's.
                Ok(callee_failure_status(status))
            }
            // The callee used up the shared budget: nothing is left for the caller either.
            Err(error) if context.meter.remaining() == 0 => Err(SyscallError::Runtime(error)),
            Err(RuntimeError::State(error)) => Err(error.into()),
            Err(error) => {
                context.journal.revert_to(checkpoint)?;
                context.truncate_events(events_before);
                // Best effort: a full log budget must not turn a handled failure into an abort.
                let _ = context.push_log(format!("tos_invoke: {callee} aborted: {error}"));
                Ok(INVOKE_ABORTED)
            }
        }
    }
);

declare_builtin_function!(
    /// `tos_set_return_data(data, len) -> 0`: replaces the invoke's return data.
    SyscallSetReturnData,
    fn rust(
        context: &mut InvokeContext<'static>,
        data_addr: u64,
        len: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        if len > MAX_RETURN_DATA_LEN as u64 {
            return Err(SyscallError::ReturnDataTooLong { len, limit: MAX_RETURN_DATA_LEN });
        }
        context.charge(RETURN_DATA_BASE_COST.saturating_add(len))?;
        let data = memory::read_bytes(context.memory(), data_addr, len, MAX_RETURN_DATA_LEN)?;
        context.set_return_data(data);
        Ok(0)
    }
);

declare_builtin_function!(
    /// `tos_get_return_data(out, out_len, setter_out[32] or NULL) -> len`: copies
    /// `min(out_len, len)` bytes of the last return data (after a `tos_invoke`: the callee's)
    /// and, unless `setter_out` is NULL, the hash of the contract that set it. 0 if none.
    SyscallGetReturnData,
    fn rust(
        context: &mut InvokeContext<'static>,
        out_addr: u64,
        out_len: u64,
        setter_addr: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        let (data, setter) = match context.return_data() {
            Some(found) => (found.data.clone(), found.contract),
            None => (Vec::new(), Hash::default()),
        };
        let copy_len = data.len().min(usize::try_from(out_len).unwrap_or(usize::MAX));
        context.charge(RETURN_DATA_BASE_COST.saturating_add(copy_len as u64))?;
        memory::write_bytes(context.memory(), out_addr, &data[..copy_len])?;
        if setter_addr != 0 {
            memory::write_bytes(context.memory(), setter_addr, &setter.0)?;
        }
        Ok(data.len() as u64)
    }
);
