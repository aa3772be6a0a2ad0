//! router: forwards a call to another contract (for example the `token`) and records how it
//! ended. A failing callee does not fail the router: the callee's frame is reverted by the VM,
//! while the router's own bookkeeping is committed.
//!
//! Storage: `calls` → u64 (calls forwarded), `ok` → u64 (how many succeeded),
//! `last_status` → u64 (0, or the callee's / VM's non-zero `tos_invoke` status).

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub use crate::router::*;

/// The contract.
#[tos_sdk::contract]
pub mod router {
    use alloc::vec::Vec;
    use tos_sdk::call;
    use tos_sdk::prelude::*;

    const CALLS: Item<u64> = Item::new(b"calls");
    const SUCCEEDED: Item<u64> = Item::new(b"ok");
    const LAST_STATUS: Item<u64> = Item::new(b"last_status");

    /// Calls `target` with `input` (sending `value` native units) and records the outcome.
    /// The callee's return data stays the call's last return data.
    #[method]
    pub fn forward(target: Address, input: Vec<u8>, value: Amount) -> Result<(), ContractError> {
        let calls = CALLS
            .get_or_default()?
            .checked_add(1)
            .ok_or(ContractError::ArithmeticOverflow)?;
        CALLS.set(&calls)?;
        let status = match call::invoke(&target, &input, value) {
            Ok(()) => {
                let succeeded = SUCCEEDED
                    .get_or_default()?
                    .checked_add(1)
                    .ok_or(ContractError::ArithmeticOverflow)?;
                SUCCEEDED.set(&succeeded)?;
                log("router: call succeeded");
                0
            }
            Err(error) => {
                log("router: call failed, its effects were reverted");
                error.status()
            }
        };
        LAST_STATUS.set(&status)
    }
}
