//! Logging: free-text messages recorded with the invoke's result, and aborting with a message.

use tos_program_runtime::{
    limits::MAX_LOG_MESSAGE_LEN, memory, solana_sbpf::declare_builtin_function, InvokeContext,
    LogLimitExceeded,
};

use crate::{Cost, SyscallError, SyscallSpec};

/// Fixed part of every log call.
pub const LOG_BASE_COST: u64 = 100;
/// Per byte of message.
pub const LOG_BYTE_COST: u64 = 1;

pub const TOS_LOG: SyscallSpec = SyscallSpec {
    name: "tos_log",
    family: "log",
    cost: Cost::per_byte(LOG_BASE_COST, "len", LOG_BYTE_COST),
};
pub const TOS_PANIC: SyscallSpec = SyscallSpec {
    name: "tos_panic",
    family: "log",
    cost: Cost::per_byte(LOG_BASE_COST, "len", LOG_BYTE_COST),
};

fn read_message(
    context: &mut InvokeContext<'static>,
    message_addr: u64,
    len: u64,
) -> Result<String, SyscallError> {
    if len > MAX_LOG_MESSAGE_LEN as u64 {
        return Err(SyscallError::LogMessageTooLong {
            len,
            limit: MAX_LOG_MESSAGE_LEN,
        });
    }
    context.charge(LOG_BASE_COST.saturating_add(len.saturating_mul(LOG_BYTE_COST)))?;
    let bytes = memory::read_bytes(context.memory(), message_addr, len, MAX_LOG_MESSAGE_LEN)?;
    // Logs are for people: invalid UTF-8 is shown with replacement characters, not refused.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

declare_builtin_function!(
    /// `tos_log(msg_ptr, msg_len) -> 0`: appends a message to the invoke's logs.
    SyscallLog,
    fn rust(
        context: &mut InvokeContext<'static>,
        message_addr: u64,
        len: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        let message = read_message(context, message_addr, len)?;
        context.push_log(message).map_err(|e| match e {
            LogLimitExceeded::Bytes { limit } => SyscallError::LogLimitExceeded { limit },
            LogLimitExceeded::Entries { limit } => SyscallError::LogEntriesExceeded { limit },
        })?;
        Ok(0)
    }
);

declare_builtin_function!(
    /// `tos_panic(msg_ptr, msg_len)`: aborts the invoke with `ContractPanicked`; never returns.
    SyscallPanic,
    fn rust(
        context: &mut InvokeContext<'static>,
        message_addr: u64,
        len: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        let message = read_message(context, message_addr, len)?;
        Err(SyscallError::ContractPanicked { message })
    }
);
