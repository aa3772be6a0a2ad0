//! [`Context`]: what a call knows about its chain, transaction and caller, its deposits, and
//! balance operations in any asset (the native asset's have short names).

use crate::{syscalls, Address, Amount, Hash};

/// An asset id: 32 bytes; the native asset (TOS) is all zeros ([`NATIVE_ASSET`]).
pub type Asset = Hash;

/// The chain's native asset.
pub const NATIVE_ASSET: Asset = Hash([0; 32]);

/// Why [`Context::create_contract`] created nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateError {
    /// A contract already lives at the address of this salt.
    AddressTaken,
    /// No code with that hash is deployed.
    CodeNotFound,
    /// Too many contracts on the call stack.
    DepthExceeded,
    /// The constructor returned non-zero or was stopped (the reason is logged).
    ConstructorFailed,
    /// A status this SDK does not know.
    Unknown(u64),
}

// The `tos_create_contract` statuses, the VM's own values. Consts rather than `pub use`:
// rustdoc (1.95) crashes on intra-doc links in the docs of a re-export.
/// `tos_create_contract`: a contract already lives at the address of this salt
/// ([`CreateError::AddressTaken`]).
pub const CREATE_ADDRESS_TAKEN: u64 = tos_abi::create::CREATE_ADDRESS_TAKEN;
/// `tos_create_contract`: no code with that hash is deployed ([`CreateError::CodeNotFound`]).
pub const CREATE_CODE_NOT_FOUND: u64 = tos_abi::create::CREATE_CODE_NOT_FOUND;
/// `tos_create_contract`: the constructor failed ([`CreateError::ConstructorFailed`]).
pub const CREATE_CONSTRUCTOR_FAILED: u64 = tos_abi::create::CREATE_CONSTRUCTOR_FAILED;
/// `tos_create_contract`: too many contracts on the call stack ([`CreateError::DepthExceeded`]).
pub const CREATE_DEPTH_EXCEEDED: u64 = tos_abi::create::CREATE_DEPTH_EXCEEDED;

impl CreateError {
    /// The error of a non-zero `tos_create_contract` status.
    pub fn from_status(status: u64) -> CreateError {
        match status {
            CREATE_ADDRESS_TAKEN => CreateError::AddressTaken,
            CREATE_CODE_NOT_FOUND => CreateError::CodeNotFound,
            CREATE_DEPTH_EXCEEDED => CreateError::DepthExceeded,
            CREATE_CONSTRUCTOR_FAILED => CreateError::ConstructorFailed,
            other => CreateError::Unknown(other),
        }
    }
}

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
        // Not zeroed first: the getter writes all 32 bytes.
        let mut out = core::mem::MaybeUninit::<[u8; 32]>::uninit();
        // SAFETY: `out` is 32 writable bytes, what every 32-byte getter writes; after the call
        // they are initialised.
        unsafe {
            $f(out.as_mut_ptr().cast::<u8>());
            out.assume_init()
        }
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

    /// The running contract's address: its own instance, not its code (cost 50).
    pub fn contract(&self) -> Address {
        Address(get32!(syscalls::tos_get_contract_hash))
    }

    /// The code hash the running contract runs, shared by every instance of it (cost 50).
    pub fn code_hash(&self) -> Hash {
        Hash(get32!(syscalls::tos_get_code_hash))
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

    /// The balance of any account in any asset (cost 200).
    pub fn asset_balance_of(&self, account: &Address, asset: &Asset) -> Amount {
        // SAFETY: both are 32 readable bytes.
        Amount(unsafe { syscalls::tos_get_asset_balance(account.0.as_ptr(), asset.0.as_ptr()) })
    }

    /// Moves `amount` of `asset` from this contract to `recipient` (cost 1000); aborts like
    /// [`Context::transfer`].
    pub fn transfer_asset(&self, recipient: &Address, asset: &Asset, amount: Amount) {
        // SAFETY: both are 32 readable bytes.
        unsafe {
            syscalls::tos_transfer_asset(recipient.0.as_ptr(), asset.0.as_ptr(), amount.0);
        }
    }

    /// Number of assets deposited with this call (cost 50).
    pub fn deposit_count(&self) -> u64 {
        // SAFETY: no arguments.
        unsafe { syscalls::tos_get_deposit_count() }
    }

    /// The `index`-th deposit of this call, in ascending asset order, or `None` past the end
    /// (cost 150: the count, then the deposit).
    pub fn deposit(&self, index: u64) -> Option<(Asset, Amount)> {
        if index >= self.deposit_count() {
            return None;
        }
        let mut asset = [0u8; 32];
        // SAFETY: `asset` is 32 writable bytes; the index is in range.
        let amount = unsafe { syscalls::tos_get_deposit(index, asset.as_mut_ptr()) };
        Some((Hash(asset), Amount(amount)))
    }

    /// Amount of `asset` deposited with this call; already in the contract's balance
    /// (cost 100).
    pub fn deposit_of(&self, asset: &Asset) -> Amount {
        // SAFETY: `asset` is 32 readable bytes.
        Amount(unsafe { syscalls::tos_get_deposit_amount(asset.0.as_ptr()) })
    }

    /// Creates an instance of the deployed code `code_hash` at the address this contract and
    /// `salt` determine, running its constructor with `input`; returns the new address
    /// (cost 2000 + input length + the constructor's compute).
    pub fn create_contract(
        &self,
        code_hash: &Hash,
        salt: &Hash,
        input: &[u8],
    ) -> Result<Address, CreateError> {
        let mut address = [0u8; 32];
        // SAFETY: 32-byte inputs, `input` readable, `address` 32 writable bytes.
        let status = unsafe {
            syscalls::tos_create_contract(
                code_hash.0.as_ptr(),
                salt.0.as_ptr(),
                input.as_ptr(),
                input.len() as u64,
                address.as_mut_ptr(),
            )
        };
        match status {
            0 => Ok(Address(address)),
            other => Err(CreateError::from_status(other)),
        }
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

/// The read-only part of [`Context`], handed to the `#[view]` methods of a
/// [`#[contract]`](crate::contract): who calls, the block, balances and deposits, but no
/// transfer and no contract creation. (Storage and events are written through their own
/// functions; a view's promise not to write is checked by the chain's read-only queries.)
#[derive(Debug, Clone, Copy, Default)]
pub struct View {
    context: Context,
}

impl View {
    /// The view of the running call.
    pub const fn new() -> Self {
        View {
            context: Context::new(),
        }
    }

    /// See [`Context::sender`].
    pub fn sender(&self) -> Address {
        self.context.sender()
    }

    /// See [`Context::caller`].
    pub fn caller(&self) -> Address {
        self.context.caller()
    }

    /// See [`Context::contract`].
    pub fn contract(&self) -> Address {
        self.context.contract()
    }

    /// See [`Context::code_hash`].
    pub fn code_hash(&self) -> Hash {
        self.context.code_hash()
    }

    /// See [`Context::block_height`].
    pub fn block_height(&self) -> u64 {
        self.context.block_height()
    }

    /// See [`Context::block_timestamp`].
    pub fn block_timestamp(&self) -> u64 {
        self.context.block_timestamp()
    }

    /// See [`Context::call_depth`].
    pub fn call_depth(&self) -> u64 {
        self.context.call_depth()
    }

    /// See [`Context::balance`].
    pub fn balance(&self) -> Amount {
        self.context.balance()
    }

    /// See [`Context::balance_of`].
    pub fn balance_of(&self, account: &Address) -> Amount {
        self.context.balance_of(account)
    }

    /// See [`Context::asset_balance_of`].
    pub fn asset_balance_of(&self, account: &Address, asset: &Asset) -> Amount {
        self.context.asset_balance_of(account, asset)
    }
}
