//! [`Context`]: what a call knows about its chain, transaction and caller, and the native
//! balance operations.

use crate::{syscalls, Address, Amount, Hash};

/// The environment of the running call, handed to the contract's `process` function.
///
/// Every accessor is one syscall (its cost is listed); nothing is fetched before it is asked
/// for. `Context` has no state: [`Context::new`] may be used anywhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    _private: (),
}

/// Calls a 32-byte getter syscall (`tos_get_tx_sender`, ...) into a fresh array.
macro_rules! get32 {
    ($f:path) => {{
        let mut out = [0u8; 32];
        // SAFETY: `out` is 32 writable bytes, what every 32-byte getter writes.
        unsafe {
            $f(out.as_mut_ptr());
        }
        out
    }};
}

impl Context {
    /// The context of the running call.
    pub const fn new() -> Self {
        Context { _private: () }
    }

    /// The transaction's sender: the account that signed it (cost 50).
    pub fn sender(&self) -> Address {
        Address(get32!(syscalls::tos_get_tx_sender))
    }

    /// Who called this contract: the sender for a top-level call, the calling contract for a
    /// nested one (cost 50). Check this, not [`Context::sender`], for authorisation when other
    /// contracts may call yours.
    pub fn caller(&self) -> Address {
        Address(get32!(syscalls::tos_get_caller))
    }

    /// The running contract's address (its code hash) (cost 50).
    pub fn contract(&self) -> Address {
        Address(get32!(syscalls::tos_get_contract_hash))
    }

    /// The transaction's hash (cost 50).
    pub fn tx_hash(&self) -> Hash {
        Hash(get32!(syscalls::tos_get_tx_hash))
    }

    /// The block's hash (cost 50).
    pub fn block_hash(&self) -> Hash {
        Hash(get32!(syscalls::tos_get_block_hash))
    }

    /// The block's height (cost 50).
    pub fn block_height(&self) -> u64 {
        // SAFETY: no arguments.
        unsafe { syscalls::tos_get_block_height() }
    }

    /// The block's timestamp, seconds since the Unix epoch (cost 50).
    pub fn block_timestamp(&self) -> u64 {
        // SAFETY: no arguments.
        unsafe { syscalls::tos_get_block_timestamp() }
    }

    /// 1 for a top-level call, +1 per nested [`crate::call::invoke`] (cost 50).
    pub fn call_depth(&self) -> u64 {
        // SAFETY: no arguments.
        unsafe { syscalls::tos_get_call_depth() }
    }

    /// Native value the caller sent with this call; it is already in the contract's balance
    /// (cost 50).
    pub fn call_value(&self) -> Amount {
        // SAFETY: no arguments.
        Amount(unsafe { syscalls::tos_get_call_value() })
    }

    /// The running contract's native balance (cost 200).
    pub fn balance(&self) -> Amount {
        // SAFETY: no arguments.
        Amount(unsafe { syscalls::tos_get_self_balance() })
    }

    /// The native balance of any account (cost 200).
    pub fn balance_of(&self, account: &Address) -> Amount {
        // SAFETY: `account` is 32 readable bytes.
        Amount(unsafe { syscalls::tos_get_balance(account.0.as_ptr()) })
    }

    /// Moves `amount` of the native asset from this contract to `recipient` (cost 1000).
    ///
    /// Returns only on success: a zero amount, an amount above the contract's balance or an
    /// overflow of the recipient's balance aborts the call. Check
    /// [`Context::balance`] first to fail with your own error instead.
    pub fn transfer(&self, recipient: &Address, amount: Amount) {
        // SAFETY: `recipient` is 32 readable bytes.
        unsafe {
            syscalls::tos_transfer(recipient.0.as_ptr(), amount.0);
        }
    }
}
