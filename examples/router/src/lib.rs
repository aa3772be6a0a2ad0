//! router: forwards a call to another contract (for example the `token`) and records how it
//! ended. A failing callee does not fail the router: the callee's frame is reverted by the VM,
//! while the router's own bookkeeping is committed.
//!
//! Storage: `calls` → u64 (calls forwarded), `ok` → u64 (how many succeeded),
//! `last_status` → u64 (0, or the callee's / VM's non-zero `tos_invoke` status).

#![cfg_attr(not(test), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use tos_sdk::call;
use tos_sdk::prelude::*;

/// What a call asks for.
#[derive(BorshSerialize, BorshDeserialize, Debug, Clone, PartialEq, Eq)]
pub enum RouterInstruction {
    /// Calls `target` with `input` (sending `value` native units) and records the outcome.
    Forward { target: Address, input: Vec<u8>, value: Amount },
}

const CALLS: Item<u64> = Item::new(b"calls");
const SUCCEEDED: Item<u64> = Item::new(b"ok");
const LAST_STATUS: Item<u64> = Item::new(b"last_status");

entrypoint!(process);

/// Runs one instruction.
pub fn process(_ctx: &Context, input: &[u8]) -> Result<(), ContractError> {
    let RouterInstruction::Forward { target, input, value } = RouterInstruction::try_from_slice(input)?;
    let calls = CALLS.get_or_default()?.checked_add(1).ok_or(ContractError::ArithmeticOverflow)?;
    CALLS.set(&calls)?;
    match call::invoke(&target, &input, value) {
        Ok(()) => {
            let succeeded = SUCCEEDED.get_or_default()?.checked_add(1).ok_or(ContractError::ArithmeticOverflow)?;
            SUCCEEDED.set(&succeeded)?;
            LAST_STATUS.set(&0)?;
            log("router: call succeeded");
        }
        Err(error) => {
            LAST_STATUS.set(&error.status())?;
            log("router: call failed, its effects were reverted");
        }
    }
    Ok(())
}
