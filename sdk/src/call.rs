//! Calling other contracts ([`invoke`]) and return data ([`set_return_data`],
//! [`return_data`]).

use crate::{syscalls, Address, Amount, ContractError};

/// Largest return data, in bytes.
pub const MAX_RETURN_DATA_LEN: usize = tos_abi::limits::MAX_RETURN_DATA_LEN;

pub use tos_abi::invoke::{
    INVOKE_ABORTED, INVOKE_CALLEE_RESERVED_STATUS, INVOKE_DEPTH_EXCEEDED, INVOKE_ERROR_BASE,
    INVOKE_INSUFFICIENT_VALUE, INVOKE_NOT_FOUND, INVOKE_REENTRANCY,
};

/// How a call to another contract ended, when it did not succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The callee returned this non-zero status (for an SDK contract, a
    /// [`ContractError::code`]); its effects were reverted.
    Failed(u64),
    /// No contract has that address.
    NotFound,
    /// The callee is already on the call stack (reentrancy is refused).
    Reentrancy,
    /// Too many nested calls.
    DepthExceeded,
    /// The VM stopped the callee (panic, fault, syscall error); its effects were reverted.
    Aborted,
    /// This contract cannot pay the value sent.
    InsufficientValue,
    /// The callee failed with a status of the VM's reserved range (`>= INVOKE_ERROR_BASE`),
    /// which the VM does not pass on; its effects were reverted.
    CalleeReservedStatus,
    /// A VM status this SDK does not know.
    Other(u64),
}

impl CallError {
    /// Decodes a non-zero `tos_invoke` status.
    pub const fn from_status(status: u64) -> CallError {
        match status {
            s if s < INVOKE_ERROR_BASE => CallError::Failed(s),
            INVOKE_NOT_FOUND => CallError::NotFound,
            INVOKE_REENTRANCY => CallError::Reentrancy,
            INVOKE_DEPTH_EXCEEDED => CallError::DepthExceeded,
            INVOKE_ABORTED => CallError::Aborted,
            INVOKE_INSUFFICIENT_VALUE => CallError::InsufficientValue,
            INVOKE_CALLEE_RESERVED_STATUS => CallError::CalleeReservedStatus,
            s => CallError::Other(s),
        }
    }

    /// The `tos_invoke` status this error was decoded from (the inverse of
    /// [`from_status`](Self::from_status)).
    pub const fn status(self) -> u64 {
        match self {
            CallError::Failed(status) | CallError::Other(status) => status,
            CallError::NotFound => INVOKE_NOT_FOUND,
            CallError::Reentrancy => INVOKE_REENTRANCY,
            CallError::DepthExceeded => INVOKE_DEPTH_EXCEEDED,
            CallError::Aborted => INVOKE_ABORTED,
            CallError::InsufficientValue => INVOKE_INSUFFICIENT_VALUE,
            CallError::CalleeReservedStatus => INVOKE_CALLEE_RESERVED_STATUS,
        }
    }

    /// The callee's error, when it was a [`ContractError`] status.
    pub const fn contract_error(self) -> Option<ContractError> {
        match self {
            CallError::Failed(code) => ContractError::from_code(code),
            _ => None,
        }
    }
}

impl From<CallError> for ContractError {
    fn from(_: CallError) -> Self {
        ContractError::CallFailed
    }
}

/// Calls `contract` with `input`, sending it `value` native units from this contract.
///
/// The callee runs in its own frame and shares what is left of the compute budget. On failure
/// its effects are reverted and this contract continues; compute exhaustion in the callee ends
/// the whole call instead. Return data the callee set is read with [`return_data`].
pub fn invoke(contract: &Address, input: &[u8], value: Amount) -> Result<(), CallError> {
    // SAFETY: the address is 32 bytes, the input valid for its length.
    let status = unsafe {
        syscalls::tos_invoke(
            contract.0.as_ptr(),
            input.as_ptr(),
            input.len() as u64,
            value.0,
        )
    };
    if status == 0 {
        Ok(())
    } else {
        Err(CallError::from_status(status))
    }
}

/// Sets this call's return data (at most [`MAX_RETURN_DATA_LEN`] bytes; longer aborts),
/// replacing what was set before. Cost 100 + length.
pub fn set_return_data(data: &[u8]) {
    // SAFETY: valid for reads of its length.
    unsafe {
        syscalls::tos_set_return_data(data.as_ptr(), data.len() as u64);
    }
}

/// Encodes `value` with borsh and sets it as return data.
/// A value over [`MAX_RETURN_DATA_LEN`] bytes is `ValueTooLarge`.
pub fn set_return_value<T: borsh::BorshSerialize + ?Sized>(value: &T) -> Result<(), ContractError> {
    let mut buf = [core::mem::MaybeUninit::uninit(); MAX_RETURN_DATA_LEN];
    let mut writer = crate::codec::SliceWriter::new(&mut buf);
    value
        .serialize(&mut writer)
        .map_err(|_| ContractError::ValueTooLarge)?;
    set_return_data(writer.written().ok_or(ContractError::ValueTooLarge)?);
    Ok(())
}

/// Copies the last return data (after [`invoke`]: the callee's) into `out`; returns its full
/// length (0 if none) and the contract that set it. `min(len, out.len())` bytes were copied.
pub fn return_data(out: &mut [u8]) -> (usize, Address) {
    let mut setter = [0u8; 32];
    // SAFETY: `out` valid for writes of its length, `setter` 32 writable bytes.
    let len = unsafe {
        syscalls::tos_get_return_data(out.as_mut_ptr(), out.len() as u64, setter.as_mut_ptr())
    };
    (len as usize, Address(setter))
}

#[cfg(test)]
mod status_tests {
    use super::*;

    #[test]
    fn status_round_trips_through_from_status() {
        for status in [1, 4, 1004, INVOKE_ERROR_BASE - 1]
            .into_iter()
            .chain((1..=7).map(|n| INVOKE_ERROR_BASE | n))
        {
            assert_eq!(CallError::from_status(status).status(), status);
        }
    }
}
